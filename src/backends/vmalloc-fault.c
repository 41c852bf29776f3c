// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "vmalloc-fault": a vmalloc() buffer of which mmap() maps nothing;
 * the .fault handler maps pages on first touch.  With fault_around at 1
 * (the classic technique) it hands the core the one page, with a reference
 * taken for the page table entry (the core drops it at unmap).  Above 1 it
 * maps a window of that many pages from the faulting one at once, with one
 * vm_insert_pages() call per 32 pages, so a sequential toucher takes one
 * fault per window instead of one per page.
 *
 * The mapping is made of normal refcounted pages, so get_user_pages() works
 * on it, and MAP_PRIVATE is copy-on-write: the core copies a page on the
 * first write, and the copy never reaches the buffer.
 *
 * Cached only (MMAPPER_CACHES_GUP): what pins the pages with
 * get_user_pages() would map them again write-back.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/vmalloc.h>

#include "../mmapper.h"

/* Pages the vmalloc-fault backend maps per fault: 1 to 256. */
static unsigned int mmapper_fault_around = 64;

static int mmapper_param_fault_around_set(const char *val,
					  const struct kernel_param *kp)
{
	unsigned int n;
	int ret = kstrtouint(val, 0, &n);

	if (ret)
		return ret;
	if (n < 1 || n > 256)
		return -EINVAL;
	WRITE_ONCE(mmapper_fault_around, n);
	return 0;
}

static const struct kernel_param_ops mmapper_param_fault_around_ops = {
	.set = mmapper_param_fault_around_set,
	.get = param_get_uint,
};

module_param_cb(fault_around, &mmapper_param_fault_around_ops,
		&mmapper_fault_around, 0644);
MODULE_PARM_DESC(fault_around,
		 "pages the vmalloc-fault backend maps per fault, 1-256 (default 64; 1: one page per fault)");

static int mmapper_vmalloc_fault_alloc(struct mmapper_buf *buf)
{
	return mmapper_vmalloc_area_alloc(buf, MMAPPER_GFP_MAPPED);
}

static int mmapper_vmalloc_fault_mmap(struct mmapper_buf *buf,
				      struct vm_area_struct *vma)
{
	/*
	 * VM_MIXEDMAP now, under the mmap write lock: vm_insert_pages() in
	 * the fault handler would otherwise have to set it, under a read lock.
	 */
	vm_flags_set(vma, VM_MIXEDMAP);
	return 0;
}

/* vm_insert_pages() takes its page array from the stack: a few at a time. */
#define MMAPPER_AROUND_BATCH	32

/*
 * Map up to mmapper_fault_around pages from the faulting one, stopping at
 * the end of the VMA or of the buffer, or at the first page that is mapped
 * already (vm_insert_pages() refuses it with -EBUSY).
 */
static vm_fault_t mmapper_vmalloc_fault_around(struct mmapper_buf *buf,
					       struct vm_fault *vmf,
					       unsigned long n)
{
	struct vm_area_struct *vma = vmf->vma;
	struct page *pages[MMAPPER_AROUND_BATCH];
	unsigned long addr = vmf->address & PAGE_MASK;
	pgoff_t pgoff = vmf->pgoff;
	bool first = true;

	n = min3(n, (vma->vm_end - addr) >> PAGE_SHIFT, buf->nr_pages - pgoff);
	while (n) {
		unsigned long i, batch = min_t(unsigned long, n, MMAPPER_AROUND_BATCH);
		unsigned long left = batch;
		int ret;

		for (i = 0; i < batch; i++)
			pages[i] = mmapper_vmalloc_page_at(buf, pgoff + i);
		ret = vm_insert_pages(vma, addr, pages, &left);
		if (ret) {
			/* The faulting page itself: raced with another fault. */
			if (first && ret == -EBUSY && left == batch)
				return VM_FAULT_NOPAGE;
			if (first && left == batch)
				return ret == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
			break;		/* the rest is mapped already, or later */
		}
		first = false;
		addr += batch << PAGE_SHIFT;
		pgoff += batch;
		n -= batch;
	}
	return VM_FAULT_NOPAGE;
}

static vm_fault_t mmapper_vmalloc_fault_fault(struct mmapper_buf *buf,
					      struct vm_fault *vmf)
{
	unsigned int around = READ_ONCE(mmapper_fault_around);
	struct page *page;

	/* vmf->pgoff counts from the start of the buffer. */
	if (vmf->pgoff >= buf->nr_pages)
		return VM_FAULT_SIGBUS;

	/*
	 * A write to a private mapping needs the page itself, for the core to
	 * copy: no window there.
	 */
	if (around > 1 && ((vmf->vma->vm_flags & VM_SHARED) ||
			   !(vmf->flags & FAULT_FLAG_WRITE)))
		return mmapper_vmalloc_fault_around(buf, vmf, around);

	page = mmapper_vmalloc_page_at(buf, vmf->pgoff);
	get_page(page);
	vmf->page = page;
	return 0;
}

const struct mmapper_backend mmapper_backend_vmalloc_fault = {
	.name		= "vmalloc-fault",
	.caches		= MMAPPER_CACHES_GUP,
	.private_cow	= true,
	.alloc		= mmapper_vmalloc_fault_alloc,
	.free		= mmapper_vmalloc_free,
	.page_at	= mmapper_vmalloc_page_at,
	.mmap		= mmapper_vmalloc_fault_mmap,
	.fault		= mmapper_vmalloc_fault_fault,
};
