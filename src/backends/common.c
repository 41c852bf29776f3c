// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation helpers that more than one backend uses: arrays of
 * refcounted pages ("pages", "vmalloc-user") and vmalloc() areas
 * ("vmalloc", "vmalloc-fault", "vmalloc-user"): vmalloc() itself, or pages
 * vmap()ed with the buffer's memory type ("vmalloc-user" always,
 * "vmalloc" for a buffer that is not cached).
 */
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "../mmapper.h"

/**
 * mmapper_free_page_array() - free the pages of mmapper_alloc_page_array()
 * @pages: the array; may be NULL or an ERR_PTR()
 * @nr_pages: its length; the pages end at the first NULL entry
 *
 * Each page, or each PMD-sized folio (its entries are its head page and
 * then its tail pages), loses the buffer's reference: what still holds one
 * (a pin of get_user_pages(), a pipe, an importer) frees it later.
 */
void mmapper_free_page_array(struct page **pages, unsigned long nr_pages)
{
	unsigned long i = 0;

	if (IS_ERR_OR_NULL(pages))
		return;
	while (i < nr_pages && pages[i]) {
		/* Read before the free: a freed head is no head any more. */
		unsigned int order = compound_order(pages[i]);

		__free_pages(pages[i], order);
		i += 1UL << order;
	}
	kvfree(pages);
}

/*
 * Pages come from the largest order up to MMAPPER_PAGES_ORDER (1 MiB, the
 * largest the DMA-BUF system heap asks for too) that the allocator gives
 * without effort, split into independent order-0 pages: runs of
 * physically consecutive pages, which caches and TLBs (and an emulated CPU)
 * walk faster than scattered ones, for one allocator call per run.  An
 * order that failed is not asked for again in the same array (as the heap
 * and vmalloc() do), so that under fragmentation, or in a memory cgroup at
 * its limit, no page pays for several failed attempts; the PMD-sized folios
 * are asked for at each 2 MiB all the same.  Every page is charged to the
 * caller's memory cgroup (but on 5.10, see compat.h) and none invokes the
 * OOM killer.
 */
#define MMAPPER_PAGES_ORDER	8
#define MMAPPER_PAGES_GFP_HIGH(gfp)	(((gfp) | __GFP_NORETRY) & \
					 ~(__GFP_RECLAIM | __GFP_RETRY_MAYFAIL))

/*
 * A PMD-sized folio for pages @i on of an array of @nr_pages, if @i is
 * where one can start and the allocator has one free (no reclaim, no
 * compaction): one compound allocation, so that a single reference and
 * a single 2 MiB entry cover it.
 */
static struct page *mmapper_alloc_pmd_folio(unsigned long i, unsigned long nr_pages,
					    gfp_t gfp)
{
	if (!IS_ALIGNED(i, MMAPPER_CHUNK_PAGES) || nr_pages - i < MMAPPER_CHUNK_PAGES)
		return NULL;
	return alloc_pages(MMAPPER_PAGES_GFP_HIGH(gfp) | __GFP_COMP, MMAPPER_CHUNK_ORDER);
}

/**
 * mmapper_alloc_page_array() - zeroed pages, in runs where free
 * @nr_pages: how many
 * @gfp: MMAPPER_GFP, or MMAPPER_GFP_MAPPED for pages user space maps as
 *	struct pages
 * @pmd_folios: make each whole 2 MiB of the array that starts at a
 *	multiple of 2 MiB one PMD-sized folio where the allocator has one
 *	free, for 2 MiB user entries (vmf_insert_folio_pmd())
 *
 * Return: an array of @nr_pages refcounted pages, to be freed with
 * mmapper_free_page_array(): independent order-0 pages, and with
 * @pmd_folios the head and tail pages of PMD-sized folios, each at an
 * index that is a multiple of 512; ERR_PTR(-ENOMEM) without a warning, or
 * ERR_PTR(-EINTR) on a fatal signal.
 */
struct page **mmapper_alloc_page_array(unsigned long nr_pages, gfp_t gfp,
				       bool pmd_folios)
{
	unsigned int max_order = MMAPPER_PAGES_ORDER;
	struct page **pages;
	unsigned long i = 0;

	pages = kvcalloc(nr_pages, sizeof(*pages), MMAPPER_GFP_META);
	if (!pages)
		return ERR_PTR(-ENOMEM);

	while (i < nr_pages) {
		/* With @pmd_folios, no run crosses a multiple of 2 MiB. */
		unsigned long end = pmd_folios ?
			min(nr_pages, round_up(i + 1, MMAPPER_CHUNK_PAGES)) : nr_pages;
		unsigned int order = min_t(unsigned int, max_order, ilog2(end - i));
		struct page *page;
		unsigned long j;

		if (fatal_signal_pending(current)) {
			mmapper_free_page_array(pages, nr_pages);
			return ERR_PTR(-EINTR);
		}
		page = pmd_folios ? mmapper_alloc_pmd_folio(i, nr_pages, gfp) : NULL;
		if (page) {
			for (j = 0; j < MMAPPER_CHUNK_PAGES; j++)
				pages[i++] = page + j;
			cond_resched();
			continue;
		}
		/* High orders only if free: no reclaim, no compaction. */
		for (;;) {
			page = alloc_pages(order ? MMAPPER_PAGES_GFP_HIGH(gfp) :
					   gfp, order);
			if (page || !order)
				break;
			max_order = --order;
		}
		if (!page) {
			mmapper_free_page_array(pages, nr_pages);
			return ERR_PTR(-ENOMEM);
		}
		if (order)
			split_page(page, order);
		for (j = 0; j < (1UL << order); j++)
			pages[i++] = page + j;
		cond_resched();
	}
	return pages;
}

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
 * vmalloc() maps its pages write-back, and cannot be asked otherwise (no
 * exported call takes a page protection): a buffer that is not cached is
 * made by mmapper_vmap_area_alloc() instead, the same pages in a vmalloc
 * area, mapped with its memory type.
 *
 * Return: 0, -ENOMEM, or -EINTR on a fatal signal; no warning in the log.
 */
int mmapper_vmalloc_area_alloc(struct mmapper_buf *buf, gfp_t gfp)
{
	if (buf->cache != MMAPPER_CACHE_CACHED)
		return mmapper_vmap_area_alloc(buf, gfp, 0);
	if (buf->size >= PMD_SIZE)
		buf->vaddr = vmalloc_huge(buf->size, gfp);
	else
		buf->vaddr = __vmalloc(buf->size, gfp);
	if (buf->vaddr)
		return 0;
	return fatal_signal_pending(current) ? -EINTR : -ENOMEM;
}

/**
 * mmapper_vmap_area_alloc() - a buffer of pages vmap()ed with its memory type
 * @buf: buffer whose @size and @cache are set
 * @gfp: as for mmapper_alloc_page_array()
 * @vm_flags: VM_USERMAP for a buffer that remap_vmalloc_range() maps, or 0
 *
 * Pages as mmapper_alloc_page_array() gives them, their direct map
 * changed to @buf->cache's memory type first, then vmap()ed with that
 * type: no kernel mapping of the buffer is ever of another type.  @buf->priv
 * is the page array (mmapper_vmalloc_free() tells the two kinds apart by
 * it).
 *
 * Return: 0, -ENOMEM, or -EINTR on a fatal signal; an error of the
 * direct map's change.
 */
int mmapper_vmap_area_alloc(struct mmapper_buf *buf, gfp_t gfp,
			    unsigned long vm_flags)
{
	struct page **pages;
	int ret;

	pages = mmapper_alloc_page_array(buf->nr_pages, gfp, false);
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	buf->priv = pages;
	ret = mmapper_cache_apply_array(pages, buf->nr_pages, buf->cache);
	if (ret)
		goto err_free;
	buf->vaddr = vmap(pages, buf->nr_pages, VM_MAP | vm_flags,
			  mmapper_cache_pgprot(PAGE_KERNEL, buf->cache));
	if (!buf->vaddr) {
		ret = -ENOMEM;
		goto err_free;
	}
	return 0;

err_free:
	mmapper_vmalloc_free(buf);
	return ret;
}

/**
 * mmapper_vmalloc_free() - free a buffer of mmapper_vmalloc_area_alloc()
 *	or mmapper_vmap_area_alloc()
 * @buf: the buffer
 *
 * A vmap()ed one in reverse order of its making: the vmap, the memory
 * type (the pages are kept if they cannot be made write-back again), the
 * pages.
 */
void mmapper_vmalloc_free(struct mmapper_buf *buf)
{
	struct page **pages = buf->priv;

	if (!pages) {
		vfree(buf->vaddr);
		return;
	}
	if (buf->vaddr)
		vunmap(buf->vaddr);
	if (mmapper_cache_restore_array(pages, buf->nr_pages, buf->cache))
		kvfree(pages);
	else
		mmapper_free_page_array(pages, buf->nr_pages);
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
