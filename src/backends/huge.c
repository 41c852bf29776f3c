// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "huge": the buffer is made of physically contiguous, PMD-sized
 * (2 MiB) and PMD-aligned chunks.  mmap() maps nothing; the fault handlers
 * map a whole chunk with one 2 MiB page-table entry where the user address
 * and the buffer offset are both 2 MiB aligned and the chunk lies wholly
 * inside the mapping and the buffer, and single 4 KiB entries elsewhere.
 * The device's get_unmapped_area() places mappings so that they can be.
 *
 * The mapping is VM_PFNMAP: no get_user_pages(), MAP_PRIVATE refused.
 * 2 MiB entries in a VM_PFNMAP mapping need kernel support (6.12's
 * CONFIG_ARCH_SUPPORTS_PMD_PFNMAP); without it every entry is 4 KiB.
 *
 * Every cache mode: each chunk's direct map is changed with one
 * set_memory_*() call (which keeps a 2 MiB page of the direct map whole)
 * as soon as it is allocated, and made write-back again before it is
 * freed.  The fault handlers insert by pfn, and PAT gives the entries the
 * type recorded in the pages, which is the mapping's own.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "../mmapper.h"

static unsigned long mmapper_huge_nr_chunks(const struct mmapper_buf *buf)
{
	return DIV_ROUND_UP(buf->nr_pages, MMAPPER_CHUNK_PAGES);
}

static void mmapper_huge_free(struct mmapper_buf *buf)
{
	struct page **chunks = buf->priv;
	unsigned long i;

	for (i = 0; i < mmapper_huge_nr_chunks(buf) && chunks[i]; i++)
		if (!mmapper_cache_restore_run(chunks[i], MMAPPER_CHUNK_PAGES,
					       buf->cache))
			__free_pages(chunks[i], MMAPPER_CHUNK_ORDER);
	kvfree(chunks);
}

static int mmapper_huge_alloc(struct mmapper_buf *buf)
{
	unsigned long i, n = mmapper_huge_nr_chunks(buf);
	struct page **chunks;
	int ret;

	chunks = kvcalloc(n, sizeof(*chunks), MMAPPER_GFP_META);
	if (!chunks)
		return -ENOMEM;
	buf->priv = chunks;

	for (i = 0; i < n; i++) {
		if (fatal_signal_pending(current)) {
			mmapper_huge_free(buf);
			return -EINTR;
		}
		/*
		 * __GFP_COMP: the mapping is VM_PFNMAP, but an importer of
		 * a DMA-BUF export may take references on the pages of its
		 * sg_table (5.10's vgem maps them by struct page): a tail
		 * page's reference is then its chunk's, never a count of
		 * its own that a put would free it at.  MMAPPER_GFP's
		 * __GFP_RETRY_MAYFAIL: compact if need be, but fail rather
		 * than invoke the OOM killer.
		 */
		chunks[i] = alloc_pages(MMAPPER_GFP | __GFP_COMP, MMAPPER_CHUNK_ORDER);
		if (!chunks[i]) {
			mmapper_huge_free(buf);
			return -ENOMEM;
		}
		ret = mmapper_cache_apply_run(chunks[i], MMAPPER_CHUNK_PAGES,
					      buf->cache);
		if (ret) {
			mmapper_huge_free(buf);
			return ret;
		}
		cond_resched();
	}
	return 0;
}

static struct page *mmapper_huge_page_at(const struct mmapper_buf *buf,
					 unsigned long idx)
{
	struct page **chunks = buf->priv;

	/* One buddy allocation: its struct pages are contiguous. */
	return chunks[idx >> MMAPPER_CHUNK_ORDER] + (idx & (MMAPPER_CHUNK_PAGES - 1));
}

static int mmapper_huge_mmap(struct mmapper_buf *buf, struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_PFNMAP | VM_IO);
	/* Ask for 2 MiB entries even when THP is in "madvise" mode. */
	if (IS_ENABLED(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP))
		vm_flags_set(vma, VM_HUGEPAGE);
	return 0;
}

static vm_fault_t mmapper_huge_fault(struct mmapper_buf *buf,
				     struct vm_fault *vmf)
{
	struct page *page;

	if (vmf->pgoff >= buf->nr_pages)
		return VM_FAULT_SIGBUS;
	page = mmapper_huge_page_at(buf, vmf->pgoff);
	return vmf_insert_pfn(vmf->vma, vmf->address, page_to_pfn(page));
}

#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
static vm_fault_t mmapper_huge_pmd_fault(struct mmapper_buf *buf,
					 struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long haddr = vmf->address & PMD_MASK;
	pgoff_t pgoff;

	if (haddr < vma->vm_start || haddr + PMD_SIZE > vma->vm_end)
		return VM_FAULT_FALLBACK;
	pgoff = vma->vm_pgoff + ((haddr - vma->vm_start) >> PAGE_SHIFT);
	/* The chunk must start there and be wholly inside the buffer. */
	if (pgoff & (MMAPPER_CHUNK_PAGES - 1) ||
	    pgoff + MMAPPER_CHUNK_PAGES > buf->nr_pages)
		return VM_FAULT_FALLBACK;
#ifdef CONFIG_X86
	/*
	 * vmf_insert_pfn_pmd() makes the entry from the 4 KiB protection,
	 * whose PAT bit is a PMD's PSE bit.  The modes of mmapper select
	 * PAT slots without it (WB, WC, UC-); a type that needed it would
	 * be lost in a 2 MiB entry, so such a mapping takes 4 KiB ones.
	 */
	if (pgprot_val(vma->vm_page_prot) & _PAGE_PAT)
		return VM_FAULT_FALLBACK;
#endif

	return vmf_insert_pfn_pmd(vmf, page_to_pfn(mmapper_huge_page_at(buf, pgoff)),
				  mmapper_huge_fault_write(vmf));
}
#endif

/**
 * mmapper_huge_pmd_possible() - can the caller's mappings get 2 MiB entries?
 *
 * The kernel must let ->huge_fault map PFNs with PMDs (6.12 and later),
 * the CPU must have them, and the calling process must not have switched
 * transparent huge pages off (PR_SET_THP_DISABLE): the fault path obeys
 * that even for PFN maps.  The THP mode in sysfs ("never") does not
 * matter: the kernel applies it only to memory it can compact, not to PFN
 * maps with ->huge_fault (measured on 6.12; 7.2's
 * vma_file_bypass_thp_tuneables() says so).  One mapping can still opt out
 * on its own (MADV_NOHUGEPAGE).
 *
 * Return: true if an aligned mapping made by the caller gets 2 MiB entries.
 */
bool mmapper_huge_pmd_possible(void)
{
	return IS_ENABLED(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP) && has_transparent_hugepage() &&
	       current->mm && !mmapper_thp_disabled(current->mm);
}

const struct mmapper_backend mmapper_backend_huge = {
	.name		= "huge",
	.caches		= MMAPPER_CACHES_ALL,
	.alloc		= mmapper_huge_alloc,
	.free		= mmapper_huge_free,
	.page_at	= mmapper_huge_page_at,
	.mmap		= mmapper_huge_mmap,
	.fault		= mmapper_huge_fault,
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	.huge_fault	= mmapper_huge_pmd_fault,
#endif
};
