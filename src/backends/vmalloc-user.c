// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "vmalloc-user": a buffer in a VM_USERMAP vmalloc area, mapped
 * whole at mmap() time by remap_vmalloc_range(), which inserts each page
 * with vm_insert_page().
 *
 * The area is built as the BPF ring buffer builds its own, the way
 * vmalloc_user() would if it took gfp flags: pages allocated in physically
 * consecutive runs where free (as for "pages"), charged to the caller's
 * memory cgroup and never invoking the OOM killer, then vmap()ed with
 * VM_MAP | VM_USERMAP, which is what remap_vmalloc_range() accepts.
 * vmalloc_user() itself takes no gfp flags (no memory cgroup charge, the
 * OOM killer on failure) and has no variant that asks for runs, and
 * scattered pages are slower to read through
 * (Documentation/performance.rst).
 *
 * The mapping is made of normal refcounted pages (VM_MIXEDMAP), so
 * get_user_pages() works on it; MAP_PRIVATE is refused, because
 * remap_vmalloc_range() would put the buffer's own pages in it.
 *
 * Cached only, as every backend whose mappings get_user_pages() can pin
 * (MMAPPER_CACHES_GUP).
 */
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "../mmapper.h"

static int mmapper_vmalloc_user_alloc(struct mmapper_buf *buf)
{
	return mmapper_vmap_area_alloc(buf, MMAPPER_GFP_MAPPED, VM_USERMAP);
}

static int mmapper_vmalloc_user_mmap(struct mmapper_buf *buf,
				     struct vm_area_struct *vma)
{
	return remap_vmalloc_range(vma, buf->vaddr, vma->vm_pgoff);
}

const struct mmapper_backend mmapper_backend_vmalloc_user = {
	.name		= "vmalloc-user",
	.caches		= MMAPPER_CACHES_GUP,
	.alloc		= mmapper_vmalloc_user_alloc,
	.free		= mmapper_vmalloc_free,
	.page_at	= mmapper_vmalloc_page_at,
	.mmap		= mmapper_vmalloc_user_mmap,
};
