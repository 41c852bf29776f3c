/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernel APIs mmapper builds against (Debian
 * 12's 6.1 and 6.12 lines) lives here, so the rest of the code reads like
 * mainline.  Where a stable kernel may have backported an API, the Kbuild
 * file probes the headers for it (MMAPPER_HAVE_*) instead of trusting
 * LINUX_VERSION_CODE.
 */
#ifndef _MMAPPER_COMPAT_H
#define _MMAPPER_COMPAT_H

#include <linux/device/class.h>
#include <linux/mm.h>

/* 6.3 made vma->vm_flags read-only behind wrappers (backported to some stables). */
#ifdef MMAPPER_HAVE_VM_FLAGS_SET
static inline void mmapper_vm_flags_set(struct vm_area_struct *vma,
					vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}

static inline void mmapper_vm_flags_clear(struct vm_area_struct *vma,
					  vm_flags_t flags)
{
	vm_flags_clear(vma, flags);
}
#else
static inline void mmapper_vm_flags_set(struct vm_area_struct *vma,
					vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void mmapper_vm_flags_clear(struct vm_area_struct *vma,
					  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/* 6.4 made the class argument of class attribute methods const. */
#ifdef MMAPPER_HAVE_CONST_CLASS_ATTR
#define MMAPPER_CLASS_ATTR_CONST const
#else
#define MMAPPER_CLASS_ATTR_CONST
#endif

/*
 * 2 MiB entries in a VM_PFNMAP mapping: 6.12 lets ->huge_fault run on
 * such VMAs and marks the PMDs special; 6.1 never calls ->huge_fault for
 * them (hugepage_vma_check() refuses VM_SPECIAL VMAs).
 */
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
#include <linux/pfn_t.h>
#define MMAPPER_HAVE_PMD_PFNMAP	1

static inline vm_fault_t mmapper_vmf_insert_pfn_pmd(struct vm_fault *vmf,
						    unsigned long pfn, bool write)
{
	return vmf_insert_pfn_pmd(vmf, pfn_to_pfn_t(pfn), write);
}
#else
#define MMAPPER_HAVE_PMD_PFNMAP	0

static inline vm_fault_t mmapper_vmf_insert_pfn_pmd(struct vm_fault *vmf,
						    unsigned long pfn, bool write)
{
	return VM_FAULT_FALLBACK;
}
#endif

/*
 * vm_ops->huge_fault: 6.1 passes an enum page_entry_size, later kernels
 * (6.6) the order of the entry.  MMAPPER_HUGE_FAULT_SIZE is that argument's
 * type; mmapper_huge_fault_is_pmd() tells whether it asks for a PMD.
 */
#ifdef MMAPPER_HAVE_PE_SIZE
#define MMAPPER_HUGE_FAULT_SIZE	enum page_entry_size

static inline bool mmapper_huge_fault_is_pmd(enum page_entry_size pe_size)
{
	return pe_size == PE_SIZE_PMD;
}
#else
#define MMAPPER_HUGE_FAULT_SIZE	unsigned int

static inline bool mmapper_huge_fault_is_pmd(unsigned int order)
{
	return order == PMD_SHIFT - PAGE_SHIFT;
}
#endif

/* 6.10 dropped the source argument of __assign_str() in TRACE_EVENT(). */
#ifdef MMAPPER_HAVE_ASSIGN_STR_1
#define mmapper_assign_str(dst, src)	__assign_str(dst)
#else
#define mmapper_assign_str(dst, src)	__assign_str(dst, src)
#endif

/*
 * Mapcount of an order-0 page, or of a page of a high-order allocation
 * that is not a compound page: 6.12 removed page_mapcount().
 */
static inline int mmapper_page_mapcount(struct page *page)
{
	if (PageSlab(page))
		return 0;
#ifdef MMAPPER_HAVE_PAGE_MAPCOUNT
	return page_mapcount(page);
#else
	return folio_mapcount(page_folio(page));
#endif
}

/*
 * The pfn a user page-table entry of a VM_PFNMAP @vma maps at @addr, with
 * the mmap lock held: 6.10 replaced follow_pte() by follow_pfnmap_start(),
 * which also reads 2 MiB entries.  Return: false if nothing is mapped.
 */
#ifdef MMAPPER_HAVE_FOLLOW_PFNMAP
static inline bool mmapper_user_pfn(struct vm_area_struct *vma,
				    unsigned long addr, unsigned long *pfn)
{
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };

	if (follow_pfnmap_start(&args))
		return false;
	*pfn = args.pfn;
	follow_pfnmap_end(&args);
	return true;
}
#else
static inline bool mmapper_user_pfn(struct vm_area_struct *vma,
				    unsigned long addr, unsigned long *pfn)
{
	spinlock_t *ptl;	/* the page-table lock follow_pte() took */
	pte_t *ptep;

	if (follow_pte(vma->vm_mm, addr, &ptep, &ptl))
		return false;
	__acquire(ptl);		/* follow_pte() took it: tell sparse */
	*pfn = pte_pfn(*ptep);
	pte_unmap_unlock(ptep, ptl);
	return true;
}
#endif

/*
 * Has the process switched transparent huge pages off for all its VMAs
 * (PR_SET_THP_DISABLE)?  7.2 has MMF_DISABLE_THP split into _COMPLETELY
 * and _EXCEPT_ADVISED (mmap() marks "huge" mappings advised), in mm_flags.
 */
static inline bool mmapper_thp_disabled(struct mm_struct *mm)
{
#ifdef MMF_DISABLE_THP_COMPLETELY
	return mm_flags_test(MMF_DISABLE_THP_COMPLETELY, mm);
#else
	return test_bit(MMF_DISABLE_THP, &mm->flags);
#endif
}

/*
 * 5.10 marks the pages it charges to a memory cgroup PageKmemcg, a page
 * type kept in the mapcount: user space cannot map them as struct pages
 * (vm_insert_page() refuses them, a ->fault that returns one corrupts its
 * mapcount).  There such pages are not charged; 5.11 moved the flag out.
 */
#ifdef PG_kmemcg
#define MMAPPER_GFP_NO_MAPPED	__GFP_ACCOUNT
#else
#define MMAPPER_GFP_NO_MAPPED	((__force gfp_t)0)
#endif

#endif /* _MMAPPER_COMPAT_H */
