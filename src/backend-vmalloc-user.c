// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "vmalloc-user": a buffer in a VM_USERMAP vmalloc area, mapped
 * whole at mmap() time by remap_vmalloc_range(), which inserts each page
 * with vm_insert_page().
 *
 * Below 2 MiB the area comes from vmalloc_user(), the allocator meant for
 * memory that user space maps.  From 2 MiB up it is built as the BPF ring
 * buffer builds its own: pages allocated in physically consecutive runs
 * where free (as for "pages"), then vmap()ed with VM_MAP | VM_USERMAP.
 * vmalloc_user() has no variant that asks for runs, and scattered pages
 * are slower to read through (Documentation/performance.rst).  Both kinds
 * of area are what remap_vmalloc_range() accepts.
 *
 * The mapping is made of normal refcounted pages (VM_MIXEDMAP), so
 * get_user_pages() works on it; MAP_PRIVATE is refused, because
 * remap_vmalloc_range() would put the buffer's own pages in it.
 */
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "mmapper.h"

static int mmapper_vmalloc_user_alloc(struct mmapper_buf *buf)
{
	struct page **pages;

	/*
	 * vmalloc_user() takes no gfp flags and warns when it fails; do not
	 * try what cannot succeed.
	 */
	if (buf->nr_pages > si_mem_available())
		return -ENOMEM;

	if (buf->size < PMD_SIZE) {
		buf->vaddr = vmalloc_user(buf->size);
		return buf->vaddr ? 0 : -ENOMEM;
	}

	pages = mmapper_alloc_page_array(buf->nr_pages);
	if (!pages)
		return -ENOMEM;
	buf->vaddr = vmap(pages, buf->nr_pages, VM_MAP | VM_USERMAP, PAGE_KERNEL);
	if (!buf->vaddr) {
		mmapper_free_page_array(pages, buf->nr_pages);
		return -ENOMEM;
	}
	buf->priv = pages;
	return 0;
}

static void mmapper_vmalloc_user_free(struct mmapper_buf *buf)
{
	if (!buf->priv) {
		vfree(buf->vaddr);
		return;
	}
	vunmap(buf->vaddr);
	mmapper_free_page_array(buf->priv, buf->nr_pages);
}

static int mmapper_vmalloc_user_mmap(struct mmapper_buf *buf,
				     struct vm_area_struct *vma)
{
	return remap_vmalloc_range(vma, buf->vaddr, vma->vm_pgoff);
}

const struct mmapper_backend mmapper_backend_vmalloc_user = {
	.name		= "vmalloc-user",
	.alloc		= mmapper_vmalloc_user_alloc,
	.free		= mmapper_vmalloc_user_free,
	.page_at	= mmapper_vmalloc_page_at,
	.mmap		= mmapper_vmalloc_user_mmap,
};
