// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "vmalloc": a vmalloc() buffer, virtually contiguous only, mapped
 * at mmap() time page by page with remap_pfn_range() on the frame that
 * vmalloc_to_pfn() finds for each page.
 *
 * The mapping is VM_PFNMAP: no get_user_pages(), MAP_PRIVATE refused.
 *
 * Every cache mode: a buffer that is not cached is the same pages in a
 * vmalloc area mapped with its memory type, their direct map changed
 * first (mmapper_vmap_area_alloc()), because vmalloc() itself maps
 * write-back only.  remap_pfn_range() then finds the type it is asked for
 * recorded in each page, as PAT requires of RAM.
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/vmalloc.h>

#include "../mmapper.h"

/* The mapping is VM_PFNMAP: no struct pages mapped, charged pages are fine. */
static int mmapper_vmalloc_alloc(struct mmapper_buf *buf)
{
	return mmapper_vmalloc_area_alloc(buf, MMAPPER_GFP);
}

static int mmapper_vmalloc_mmap(struct mmapper_buf *buf,
				struct vm_area_struct *vma)
{
	unsigned long addr;
	void *src = buf->vaddr + (vma->vm_pgoff << PAGE_SHIFT);
	int ret;

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		ret = remap_pfn_range(vma, addr, vmalloc_to_pfn(src), PAGE_SIZE,
				      vma->vm_page_prot);
		if (ret)
			return ret;
		src += PAGE_SIZE;
		cond_resched();
	}
	return 0;
}

const struct mmapper_backend mmapper_backend_vmalloc = {
	.name		= "vmalloc",
	.caches		= MMAPPER_CACHES_ALL,
	.alloc		= mmapper_vmalloc_alloc,
	.free		= mmapper_vmalloc_free,
	.page_at	= mmapper_vmalloc_page_at,
	.mmap		= mmapper_vmalloc_mmap,
};
