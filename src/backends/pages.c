// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "pages": an array of individually allocated pages, mapped whole at
 * mmap() time with batched vm_insert_pages(), or, where the kernel maps a
 * driver's PMD-sized folio (vmf_insert_folio_pmd(), 6.15) and the mapping
 * can take a 2 MiB entry, at the first touch: 2 MiB entries where the
 * memory came in 2 MiB folios, 4 KiB ones elsewhere.
 *
 * The page tables point at normal refcounted pages, so get_user_pages()
 * works on the mapping: O_DIRECT into it, vmsplice() and io_uring fixed
 * buffers from it.  MAP_PRIVATE is copy-on-write: the pages are mapped
 * read-only into a private mapping and the first write to one copies it
 * (the core splits a 2 MiB entry first).
 *
 * A mapping filled at the first touch is not VM_MIXEDMAP, which
 * vm_insert_pages() sets: the core takes a 2 MiB entry of such a VMA
 * for one it cannot reach the folio of, and would neither drop the rmap
 * nor the reference when it splits it.
 *
 * Cached only (MMAPPER_CACHES_GUP): what pins the pages with
 * get_user_pages() would map them again write-back.
 */
#include <linux/err.h>
#include <linux/mm.h>

#include "../mmapper.h"

/* Does the kernel map a driver's PMD-sized folio whole, on this CPU? */
static bool mmapper_pages_pmd_kernel(void)
{
#ifdef MMAPPER_HAVE_FOLIO_PMD
	return has_transparent_hugepage();
#else
	return false;
#endif
}

/**
 * mmapper_pages_pmd_possible() - can the caller's mappings of "pages" get
 *	2 MiB entries?
 *
 * The kernel must map a driver's folios with PMDs (6.15 and later), the
 * CPU must have them, and the calling process must not have switched
 * transparent huge pages off (PR_SET_THP_DISABLE).  Then an aligned
 * mapping gets them where the buffer's memory came in 2 MiB folios, and
 * unless the THP mode in sysfs is "never": refcounted memory obeys it.
 *
 * Return: true if so.
 */
bool mmapper_pages_pmd_possible(void)
{
	return mmapper_pages_pmd_kernel() && current->mm &&
	       !mmapper_thp_disabled(current->mm);
}

static void mmapper_pages_free(struct mmapper_buf *buf)
{
	if (mmapper_cache_restore_array(buf->priv, buf->nr_pages, buf->cache))
		kvfree(buf->priv);	/* the pages are kept: cache.c */
	else
		mmapper_free_page_array(buf->priv, buf->nr_pages);
}

static int mmapper_pages_alloc(struct mmapper_buf *buf)
{
	/* 2 MiB folios only where the kernel can map them whole. */
	struct page **pages = mmapper_alloc_page_array(buf->nr_pages,
						       MMAPPER_GFP_MAPPED,
						       mmapper_pages_pmd_kernel());
	int ret;

	if (IS_ERR(pages))
		return PTR_ERR(pages);
	buf->priv = pages;
	ret = mmapper_cache_apply_array(pages, buf->nr_pages, buf->cache);
	if (ret)
		mmapper_pages_free(buf);
	return ret;
}

static struct page *mmapper_pages_page_at(const struct mmapper_buf *buf,
					  unsigned long idx)
{
	struct page **pages = buf->priv;

	return pages[idx];
}

#ifdef MMAPPER_HAVE_FOLIO_PMD
/* The PMD-sized folio that starts at page @idx of the buffer, or NULL. */
static struct folio *mmapper_pages_pmd_folio(const struct mmapper_buf *buf,
					     unsigned long idx)
{
	struct page **pages = buf->priv;
	struct folio *folio;

	if (idx & (MMAPPER_CHUNK_PAGES - 1) || idx >= buf->nr_pages)
		return NULL;
	folio = page_folio(pages[idx]);
	return folio_order(folio) == PMD_ORDER && &folio->page == pages[idx] ?
	       folio : NULL;
}

/* The same for @vma, just being made: its process, and not a PFN map. */
static bool mmapper_pages_vma_pmd_possible(const struct vm_area_struct *vma)
{
	return mmapper_pages_pmd_kernel() && !mmapper_thp_disabled(vma->vm_mm) &&
	       !(vma->vm_flags & (VM_PFNMAP | VM_IO | VM_MIXEDMAP));
}

/*
 * Can @vma take a 2 MiB entry: is one of its 2 MiB-aligned, 2 MiB ranges
 * a PMD-sized folio of the buffer?  Its start and its offset must then be
 * the same distance from a 2 MiB boundary (the device's
 * get_unmapped_area() places mappings so).
 */
static bool mmapper_pages_vma_pmd_mappable(const struct mmapper_buf *buf,
					   const struct vm_area_struct *vma)
{
	unsigned long addr;

	if (!mmapper_pages_vma_pmd_possible(vma) ||
	    ((vma->vm_start >> PAGE_SHIFT) - vma->vm_pgoff) & (MMAPPER_CHUNK_PAGES - 1))
		return false;
	for (addr = ALIGN(vma->vm_start, PMD_SIZE);
	     addr >= vma->vm_start && addr + PMD_SIZE <= vma->vm_end; addr += PMD_SIZE)
		if (mmapper_pages_pmd_folio(buf, vma->vm_pgoff +
					    ((addr - vma->vm_start) >> PAGE_SHIFT)))
			return true;
	return false;
}

/*
 * Map the folio around the fault with one 2 MiB entry, which takes its
 * own reference and rmap.  Not a write fault of a private mapping: that
 * is a copy, which the core makes one 4 KiB page at a time (after
 * splitting a 2 MiB entry that is there).
 */
static vm_fault_t mmapper_pages_pmd_fault(struct mmapper_buf *buf,
					  struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long haddr = vmf->address & PMD_MASK;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	struct folio *folio;

	if (write && !(vma->vm_flags & VM_SHARED))
		return VM_FAULT_FALLBACK;
	/* Filled at mmap() time: its entries are 4 KiB, and must stay so. */
	if (vma->vm_flags & (VM_MIXEDMAP | VM_PFNMAP))
		return VM_FAULT_FALLBACK;
	if (haddr < vma->vm_start || haddr + PMD_SIZE > vma->vm_end)
		return VM_FAULT_FALLBACK;
	folio = mmapper_pages_pmd_folio(buf, vma->vm_pgoff +
					((haddr - vma->vm_start) >> PAGE_SHIFT));
	/*
	 * A folio with a poisoned page is mapped 4 KiB at a time, so that
	 * the core's ->fault path gives SIGBUS for that page alone.
	 */
	if (!folio || folio_test_has_hwpoisoned(folio))
		return VM_FAULT_FALLBACK;
	return vmf_insert_folio_pmd(vmf, folio, mmapper_huge_fault_write(vmf));
}
#else
static bool mmapper_pages_vma_pmd_mappable(const struct mmapper_buf *buf,
					   const struct vm_area_struct *vma)
{
	return false;
}
#endif

static int mmapper_pages_mmap(struct mmapper_buf *buf,
			      struct vm_area_struct *vma)
{
	struct page **pages = buf->priv;
	unsigned long num = vma_pages(vma);

	/*
	 * Filled at the first touch: the core's ->fault gives the 4 KiB
	 * pages.  Ask for 2 MiB entries even when THP is in "madvise" mode.
	 */
	if (mmapper_pages_vma_pmd_mappable(buf, vma)) {
		vm_flags_set(vma, VM_HUGEPAGE);
		return 0;
	}
	/* One call maps them all, taking the page table lock per PMD. */
	return vm_insert_pages(vma, vma->vm_start, pages + vma->vm_pgoff, &num);
}

const struct mmapper_backend mmapper_backend_pages = {
	.name		= "pages",
	.private_cow	= true,
	.caches		= MMAPPER_CACHES_GUP,
	.alloc		= mmapper_pages_alloc,
	.free		= mmapper_pages_free,
	.page_at	= mmapper_pages_page_at,
	.mmap		= mmapper_pages_mmap,
#ifdef MMAPPER_HAVE_FOLIO_PMD
	.huge_fault	= mmapper_pages_pmd_fault,
#endif
};
