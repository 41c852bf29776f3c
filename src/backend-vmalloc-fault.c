// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "vmalloc-fault": a vmalloc() buffer of which mmap() maps nothing;
 * the .fault handler hands the core each page on first touch, with a
 * reference taken for the page table entry (the core drops it at unmap).
 *
 * The mapping is made of normal refcounted pages, so get_user_pages() works
 * on it, and MAP_PRIVATE is copy-on-write: the core copies a page on the
 * first write, and the copy never reaches the buffer.
 */
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "mmapper.h"

static int mmapper_vmalloc_fault_mmap(struct mmapper_buf *buf,
				      struct vm_area_struct *vma)
{
	mmapper_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return 0;
}

static vm_fault_t mmapper_vmalloc_fault_fault(struct mmapper_buf *buf,
					      struct vm_fault *vmf)
{
	struct page *page;

	/* vmf->pgoff counts from the start of the buffer. */
	if (vmf->pgoff >= buf->nr_pages)
		return VM_FAULT_SIGBUS;

	page = mmapper_vmalloc_page_at(buf, vmf->pgoff);
	get_page(page);
	vmf->page = page;
	return 0;
}

const struct mmapper_backend mmapper_backend_vmalloc_fault = {
	.name		= "vmalloc-fault",
	.private_cow	= true,
	.alloc		= mmapper_vmalloc_alloc,
	.free		= mmapper_vmalloc_free,
	.page_at	= mmapper_vmalloc_page_at,
	.mmap		= mmapper_vmalloc_fault_mmap,
	.fault		= mmapper_vmalloc_fault_fault,
};
