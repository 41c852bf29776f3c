// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "vmalloc-user": vmalloc_user(), the allocator meant for memory
 * that user space maps, mapped whole at mmap() time by
 * remap_vmalloc_range(), which inserts each page with vm_insert_page().
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
	/*
	 * vmalloc_user() takes no gfp flags and warns when it fails; do not
	 * try what cannot succeed.
	 */
	if (buf->nr_pages > si_mem_available())
		return -ENOMEM;
	buf->vaddr = vmalloc_user(buf->size);
	return buf->vaddr ? 0 : -ENOMEM;
}

static int mmapper_vmalloc_user_mmap(struct mmapper_buf *buf,
				     struct vm_area_struct *vma)
{
	return remap_vmalloc_range(vma, buf->vaddr, vma->vm_pgoff);
}

const struct mmapper_backend mmapper_backend_vmalloc_user = {
	.name		= "vmalloc-user",
	.alloc		= mmapper_vmalloc_user_alloc,
	.free		= mmapper_vmalloc_free,
	.page_at	= mmapper_vmalloc_page_at,
	.mmap		= mmapper_vmalloc_user_mmap,
};
