// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "vmalloc": a vmalloc() buffer, virtually contiguous only, mapped
 * at mmap() time page by page with remap_pfn_range() on the frame that
 * vmalloc_to_pfn() finds for each page.
 *
 * The mapping is VM_PFNMAP: no get_user_pages(), MAP_PRIVATE refused.
 * The allocation helpers are shared with "vmalloc-fault".
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>

#include "mmapper.h"

/**
 * mmapper_vmalloc_area_alloc() - allocate a zeroed vmalloc() buffer
 * @buf: buffer whose @size is set
 * @gfp: MMAPPER_GFP, or MMAPPER_GFP_MAPPED for pages user space maps as
 *	struct pages
 *
 * Buffers of 2 MiB or more ask for huge vmalloc: the memory then comes in
 * physically contiguous 2 MiB runs where the allocator has them (split
 * into order-0 pages, so each page maps on its own), and in single pages
 * where it has not.  Runs of consecutive pages are what caches and TLBs,
 * and an emulated CPU, walk fastest.  The kernel's own mapping of the
 * buffer may then use 2 MiB entries; user mappings stay 4 KiB.
 *
 * vmalloc() passes the flags to the page allocator: the pages are charged
 * to the caller's memory cgroup and never invoke the OOM killer (its page
 * tables and page array are neither).  It stops at a fatal signal on its
 * page-at-a-time path, the one accounted allocations take whenever memory
 * cgroup accounting is on; the bulk allocator it uses otherwise for 4 KiB
 * pages does not look.
 *
 * Return: 0, -ENOMEM, or -EINTR on a fatal signal; no warning in the log.
 */
int mmapper_vmalloc_area_alloc(struct mmapper_buf *buf, gfp_t gfp)
{
	if (buf->size >= PMD_SIZE)
		buf->vaddr = vmalloc_huge(buf->size, gfp);
	else
		buf->vaddr = __vmalloc(buf->size, gfp);
	if (buf->vaddr)
		return 0;
	return fatal_signal_pending(current) ? -EINTR : -ENOMEM;
}

/**
 * mmapper_vmalloc_free() - free a buffer of mmapper_vmalloc_area_alloc()
 * @buf: the buffer
 */
void mmapper_vmalloc_free(struct mmapper_buf *buf)
{
	vfree(buf->vaddr);
}

/**
 * mmapper_vmalloc_page_at() - page @idx of a vmalloc()ed buffer
 * @buf: the buffer
 * @idx: page index, below @buf->nr_pages
 *
 * Return: the page.
 */
struct page *mmapper_vmalloc_page_at(const struct mmapper_buf *buf,
				     unsigned long idx)
{
	return vmalloc_to_page(buf->vaddr + (idx << PAGE_SHIFT));
}

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
	.alloc		= mmapper_vmalloc_alloc,
	.free		= mmapper_vmalloc_free,
	.page_at	= mmapper_vmalloc_page_at,
	.mmap		= mmapper_vmalloc_mmap,
};
