/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rest of mmapper is written against the newest kernel API it builds
 * for (7.2).  This header gives older kernels, down to 5.10, those names,
 * in the style of wireguard-linux-compat: a static inline or a #define
 * named as mainline names it, so the core never says "if this kernel, that
 * call".  Each shim says in which version, and by which change, the API
 * moved.
 *
 * Where a distribution or stable kernel may have backported an API, Kbuild
 * probes the headers for it (MMAPPER_HAVE_*, see src/Kbuild) instead of
 * trusting LINUX_VERSION_CODE.
 *
 * Not here, because the core needs no shim for them:
 *  - nth_page(), removed in 6.18 ("mm: remove nth_page()"): the core only
 *    steps through the pages of one buddy allocation, whose struct pages
 *    are always contiguous, so it uses page + n on every kernel;
 *  - __assign_str() lost its source argument in 6.10: the tracepoints keep
 *    backend names in fixed arrays filled with strscpy();
 *  - ->huge_fault() took an enum page_entry_size until 6.6 ("mm: convert
 *    ->huge_fault to take an order"): mmapper installs ->huge_fault only
 *    where 2 MiB PFNMAP entries exist (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP,
 *    6.12) or folio ones (vmf_insert_folio_pmd(), 6.15), long after that
 *    change.
 */
#ifndef _MMAPPER_COMPAT_H
#define _MMAPPER_COMPAT_H

#include <linux/device/class.h>
#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/vmalloc.h>

/*
 * 6.3, "mm: introduce vma->vm_flags wrapper functions": vma->vm_flags
 * became read-only behind vm_flags_set()/vm_flags_clear() (backported to
 * some stable kernels, hence the probe).
 */
#ifndef MMAPPER_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * 6.4, "driver core: class: make class_attribute callbacks take a const
 * struct class": no mainline name can stand for a qualifier, so the class
 * attribute methods say MMAPPER_CLASS_ATTR_CONST where 6.4 says const.
 */
#ifdef MMAPPER_HAVE_CONST_CLASS_ATTR
#define MMAPPER_CLASS_ATTR_CONST const
#else
#define MMAPPER_CLASS_ATTR_CONST
#endif

/*
 * 6.17, "mm: remove pfn_t" (linux/pfn_t.h is gone): vmf_insert_pfn_pmd()
 * takes the pfn itself.  Before, from 6.12 on (the only kernels where
 * mmapper calls it: 2 MiB entries in VM_PFNMAP mappings came with
 * CONFIG_ARCH_SUPPORTS_PMD_PFNMAP), it took a pfn_t.
 */
#if defined(MMAPPER_HAVE_PFN_T) && defined(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP)
#include <linux/pfn_t.h>

static inline vm_fault_t mmapper_compat_vmf_insert_pfn_pmd(struct vm_fault *vmf,
							   unsigned long pfn,
							   bool write)
{
	return vmf_insert_pfn_pmd(vmf, pfn_to_pfn_t(pfn), write);
}

#define vmf_insert_pfn_pmd mmapper_compat_vmf_insert_pfn_pmd
#endif

/*
 * 6.15, "mm/huge_memory: add vmf_insert_folio_pmd()": a driver's own
 * PMD-sized folio can be mapped with one 2 MiB entry that, unlike a PFN
 * map's, holds a reference and the rmap, so get_user_pages() works on it.
 * Older kernels have no such call: there "pages" maps 4 KiB entries only.
 * The header declares it whatever the config; it exists only with THP.
 */
#if defined(MMAPPER_HAVE_VMF_INSERT_FOLIO_PMD) && defined(CONFIG_TRANSPARENT_HUGEPAGE)
#define MMAPPER_HAVE_FOLIO_PMD	1
#endif

/* 6.6 (with the ->huge_fault order change) named the PMD's order. */
#ifndef PMD_ORDER
#define PMD_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#endif

/*
 * folio_mapcount() is a static inline, usable by modules, by 6.12 (which
 * no longer has page_mapcount()); 6.1 has it out of line and unexported.
 * A page of a non-compound allocation is its own folio, so page_mapcount()
 * of the folio's page is the same count.  5.10 predates folios (5.16,
 * "mm: Introduce struct folio"): there a page is its own unit.
 */
#ifndef MMAPPER_HAVE_FOLIO_MAPCOUNT
#ifdef MMAPPER_HAVE_FOLIO
#define folio_mapcount(folio)	page_mapcount(&(folio)->page)
#else
#define page_folio(page)	(page)
#define folio_mapcount(page)	page_mapcount(page)
#endif
#endif

/*
 * 5.11, "mm/highmem: Provide kmap_local*".  The kernels before it that
 * mmapper builds for are 64-bit, without highmem, where a page's kernel
 * address is always mapped: page_address() is what kmap_local_page() is.
 */
#ifndef MMAPPER_HAVE_KMAP_LOCAL
#ifdef CONFIG_HIGHMEM
#error "mmapper needs kmap_local_page() (5.11) on a kernel with highmem"
#endif
static inline void *kmap_local_page(struct page *page)
{
	return page_address(page);
}

static inline void kunmap_local(const void *addr)
{
}
#endif

/*
 * 5.18, "mm: vmalloc: introduce vmalloc_huge()": the opt-in to 2 MiB
 * runs.  Before, modules' vmalloc() memory comes in single pages.
 */
#ifndef MMAPPER_HAVE_VMALLOC_HUGE
#define vmalloc_huge(size, gfp_mask)	__vmalloc(size, gfp_mask)
#endif

/*
 * 5.18, "mm/readahead: Align file mappings for non-DAX": from then on
 * thp_get_unmapped_area() puts any mapping of 2 MiB or more of any file on
 * a 2 MiB boundary; before, only DAX files.  A behaviour of mm/, not of a
 * header, so Kbuild tells by the version (MMAPPER_HAVE_THP_ALIGN_ANY).
 * Older kernels get the same placement: ask for 2 MiB more and slide the
 * start to the boundary that matches the file offset.
 */
#ifndef MMAPPER_HAVE_THP_ALIGN_ANY
#include <linux/compat.h>
#include <linux/sched.h>

static inline unsigned long
mmapper_compat_thp_get_unmapped_area(struct file *filp, unsigned long addr,
				     unsigned long len, unsigned long pgoff,
				     unsigned long flags)
{
	loff_t off = (loff_t)pgoff << PAGE_SHIFT;
	unsigned long len_pad = len + PMD_SIZE, ret;

	if (len < PMD_SIZE || len_pad < len || off + len_pad < off ||
	    in_compat_syscall())
		goto any;
	ret = current->mm->get_unmapped_area(filp, addr, len_pad, pgoff, flags);
	if (IS_ERR_VALUE(ret))
		goto any;
	if (ret == addr)	/* the caller's hint was free: keep it */
		return addr;
	return ret + ((off - ret) & (PMD_SIZE - 1));
any:
	return current->mm->get_unmapped_area(filp, addr, len, pgoff, flags);
}

#define thp_get_unmapped_area mmapper_compat_thp_get_unmapped_area
#endif

/*
 * 6.5, "splice: Add a func to do a splice from an O_DIRECT file" and the
 * splice rework: copy_splice_read() splices from any ->read_iter.  Before,
 * generic_file_splice_read() did that for files without a page cache.
 */
#ifndef MMAPPER_HAVE_COPY_SPLICE_READ
#define copy_splice_read	generic_file_splice_read
#endif

/*
 * After 6.12 (7.2 has it), zap_vma_ptes() became zap_special_vma_range(),
 * which also takes VM_MIXEDMAP mappings.  mmapper zaps VM_PFNMAP ones
 * only, where the two do the same.
 */
#ifndef MMAPPER_HAVE_ZAP_SPECIAL_VMA_RANGE
static inline void zap_special_vma_range(struct vm_area_struct *vma,
					 unsigned long address, unsigned long size)
{
	zap_vma_ptes(vma, address, size);
}
#endif

/* 5.14, "mm: add a vma_lookup() helper". */
#ifndef MMAPPER_HAVE_VMA_LOOKUP
static inline struct vm_area_struct *vma_lookup(struct mm_struct *mm,
						unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	if (vma && addr < vma->vm_start)
		vma = NULL;
	return vma;
}
#endif

/*
 * 6.12, "mm: new follow_pfnmap API": follow_pfnmap_start()/_end() read a
 * VM_PFNMAP entry (4 KiB, 2 MiB or 1 GiB) under its page-table lock and
 * replaced follow_pte().  Older kernels get them on top of follow_pte(),
 * which reads 4 KiB entries only (the only ones they map there); 6.10
 * ("mm: pass VMA instead of MM to follow_pte()") changed its first
 * argument from the mm to the VMA.
 */
#ifndef MMAPPER_HAVE_FOLLOW_PFNMAP
struct follow_pfnmap_args {
	/* inputs */
	struct vm_area_struct *vma;
	unsigned long address;
	/* outputs */
	unsigned long pfn;
	pgprot_t pgprot;
	bool writable;
	/* private */
	spinlock_t *lock;
	pte_t *ptep;
};

static inline int follow_pfnmap_start(struct follow_pfnmap_args *args)
{
	pte_t pte;
	int ret;

#ifdef MMAPPER_HAVE_FOLLOW_PTE_VMA
	ret = follow_pte(args->vma, args->address, &args->ptep, &args->lock);
#else
	ret = follow_pte(args->vma->vm_mm, args->address, &args->ptep, &args->lock);
#endif
	if (ret)
		return ret;
	pte = ptep_get(args->ptep);
	args->pfn = pte_pfn(pte);
	args->pgprot = pte_pgprot(pte);
	args->writable = pte_write(pte);
	return 0;
}

static inline void follow_pfnmap_end(struct follow_pfnmap_args *args)
{
	__acquire(args->lock);	/* follow_pte() took it: tell sparse */
	pte_unmap_unlock(args->ptep, args->lock);
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

/*
 * A page that user space must not map by its struct page: 5.10's charged
 * pages (above) keep their PageKmemcg type in the mapcount.  Not only
 * mmapper's own mappings: 5.10's vgem maps the pages of an imported
 * DMA-BUF's sg_table by struct page, so such pages stay out of the
 * tables mmapper hands importers (dmabuf.c).  Later kernels have no
 * such page.
 */
static inline bool mmapper_page_unmappable(struct page *page)
{
#ifdef PG_kmemcg
	return PageKmemcg(page);
#else
	return false;
#endif
}

/*
 * 6.13, "module: Convert symbol namespace to string literal":
 * MODULE_IMPORT_NS() takes a string.  Before, it stringified a bare word.
 * (The DMA_BUF namespace itself came in 5.16, "dma-buf: move dma-buf
 * symbols into the DMA_BUF module namespace"; on 5.10 the import is
 * recorded and matches no symbol, which is harmless.)
 */
#ifndef MMAPPER_HAVE_IMPORT_NS_STRING
#undef MODULE_IMPORT_NS
#define MODULE_IMPORT_NS(ns)	MODULE_INFO(import_ns, ns)
#endif

/*
 * 5.18, "dma-buf-map: Rename to iosys-map": struct iosys_map was struct
 * dma_buf_map, which 5.11 introduced ("dma-buf: Add struct dma-buf-map
 * for storing struct dma_buf.vaddr_ptr").  Before 5.11, ->vmap() returned
 * the address and ->vunmap() took it ("dma-buf: Use struct dma_buf_map in
 * dma_buf_vmap() interfaces"): MMAPPER_DMA_BUF_VMAP_OPS() makes
 * ->vmap()/->vunmap() of that form out of the core's, which
 * MMAPPER_DMA_BUF_VMAP() and MMAPPER_DMA_BUF_VUNMAP() name in the ops
 * table (the newest kernels' ops themselves elsewhere).
 */
#if !defined(MMAPPER_HAVE_IOSYS_MAP) && defined(MMAPPER_HAVE_DMA_BUF_MAP)
#include <linux/dma-buf-map.h>
#define iosys_map		dma_buf_map
#define iosys_map_set_vaddr	dma_buf_map_set_vaddr
#endif

#if !defined(MMAPPER_HAVE_IOSYS_MAP) && !defined(MMAPPER_HAVE_DMA_BUF_MAP)
struct iosys_map {
	void *vaddr;
	bool is_iomem;
};

static inline void iosys_map_set_vaddr(struct iosys_map *map, void *vaddr)
{
	map->vaddr = vaddr;
	map->is_iomem = false;
}

#define MMAPPER_DMA_BUF_VMAP_OPS(vmap_fn, vunmap_fn)				\
static void *vmap_fn##_addr(struct dma_buf *dmabuf)				\
{										\
	struct iosys_map map;							\
										\
	return vmap_fn(dmabuf, &map) ? NULL : map.vaddr;			\
}										\
										\
static void vunmap_fn##_addr(struct dma_buf *dmabuf, void *vaddr)		\
{										\
	struct iosys_map map = { .vaddr = vaddr };				\
										\
	vunmap_fn(dmabuf, &map);						\
}

#define MMAPPER_DMA_BUF_VMAP(vmap_fn)		vmap_fn##_addr
#define MMAPPER_DMA_BUF_VUNMAP(vunmap_fn)	vunmap_fn##_addr
#else
#define MMAPPER_DMA_BUF_VMAP_OPS(vmap_fn, vunmap_fn)
#define MMAPPER_DMA_BUF_VMAP(vmap_fn)		vmap_fn
#define MMAPPER_DMA_BUF_VUNMAP(vunmap_fn)	vunmap_fn
#endif

/*
 * 5.15, "lib/scatterlist: Provide a dedicated function to support table
 * append": sg_alloc_table_from_pages_segment() builds a table whose
 * segments stay within a size.  Before, __sg_alloc_table_from_pages() did,
 * returning the last entry.
 */
#ifndef MMAPPER_HAVE_SG_ALLOC_TABLE_SEGMENT
static inline int
sg_alloc_table_from_pages_segment(struct sg_table *sgt, struct page **pages,
				  unsigned int n_pages, unsigned int offset,
				  unsigned long size, unsigned int max_segment,
				  gfp_t gfp_mask)
{
	return PTR_ERR_OR_ZERO(__sg_alloc_table_from_pages(sgt, pages, n_pages,
							   offset, size, max_segment,
							   NULL, 0, gfp_mask));
}
#endif

#endif /* _MMAPPER_COMPAT_H */
