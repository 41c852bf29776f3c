// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "pages": an array of individually allocated pages, mapped whole at
 * mmap() time with batched vm_insert_pages().
 *
 * The page tables point at normal refcounted pages, so get_user_pages()
 * works on the mapping: O_DIRECT into it, vmsplice() and io_uring fixed
 * buffers from it.  MAP_PRIVATE is copy-on-write: the pages are inserted
 * read-only into a private mapping and the first write to one copies it.
 * The page array allocator is shared with "vmalloc-user".
 */
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "compat.h"
#include "mmapper.h"

/**
 * mmapper_free_page_array() - free the pages of mmapper_alloc_page_array()
 * @pages: the array; may be NULL or an ERR_PTR()
 * @nr_pages: its length; the pages end at the first NULL entry
 */
void mmapper_free_page_array(struct page **pages, unsigned long nr_pages)
{
	unsigned long i;

	if (IS_ERR_OR_NULL(pages))
		return;
	for (i = 0; i < nr_pages && pages[i]; i++)
		__free_page(pages[i]);
	kvfree(pages);
}

/*
 * Pages come from the largest order up to MMAPPER_PAGES_ORDER that the
 * allocator gives without effort, split into independent order-0 pages, as
 * the DMA-BUF system heap does: runs of physically consecutive pages, which
 * caches and TLBs (and an emulated CPU) walk faster than scattered ones.
 * Every page is charged to the caller's memory cgroup (but on 5.10, see
 * compat.h) and none invokes the OOM killer.
 */
#define MMAPPER_PAGES_ORDER	4
#define MMAPPER_PAGES_GFP_HIGH	((MMAPPER_GFP_MAPPED | __GFP_NORETRY) & \
				 ~(__GFP_RECLAIM | __GFP_RETRY_MAYFAIL))

/**
 * mmapper_alloc_page_array() - zeroed order-0 pages, in runs where free
 * @nr_pages: how many
 *
 * Return: an array of @nr_pages independent, refcounted order-0 pages, to
 * be freed with mmapper_free_page_array(); ERR_PTR(-ENOMEM) without a
 * warning, or ERR_PTR(-EINTR) on a fatal signal.
 */
struct page **mmapper_alloc_page_array(unsigned long nr_pages)
{
	struct page **pages;
	unsigned long i = 0;

	pages = kvcalloc(nr_pages, sizeof(*pages), MMAPPER_GFP_META);
	if (!pages)
		return ERR_PTR(-ENOMEM);

	while (i < nr_pages) {
		unsigned int order = min_t(unsigned int, MMAPPER_PAGES_ORDER,
					   ilog2(nr_pages - i));
		struct page *page;
		unsigned long j;

		if (fatal_signal_pending(current)) {
			mmapper_free_page_array(pages, nr_pages);
			return ERR_PTR(-EINTR);
		}
		/* High orders only if free: no reclaim, no compaction. */
		for (;;) {
			page = alloc_pages(order ? MMAPPER_PAGES_GFP_HIGH :
					   MMAPPER_GFP_MAPPED, order);
			if (page || !order)
				break;
			order--;
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

static int mmapper_pages_alloc(struct mmapper_buf *buf)
{
	struct page **pages = mmapper_alloc_page_array(buf->nr_pages);

	if (IS_ERR(pages))
		return PTR_ERR(pages);
	buf->priv = pages;
	return 0;
}

static void mmapper_pages_free(struct mmapper_buf *buf)
{
	mmapper_free_page_array(buf->priv, buf->nr_pages);
}

static struct page *mmapper_pages_page_at(const struct mmapper_buf *buf,
					  unsigned long idx)
{
	struct page **pages = buf->priv;

	return pages[idx];
}

static int mmapper_pages_mmap(struct mmapper_buf *buf,
			      struct vm_area_struct *vma)
{
	struct page **pages = buf->priv;
	unsigned long num = vma_pages(vma);

	/* One call maps them all, taking the page table lock per PMD. */
	return vm_insert_pages(vma, vma->vm_start, pages + vma->vm_pgoff, &num);
}

const struct mmapper_backend mmapper_backend_pages = {
	.name		= "pages",
	.private_cow	= true,
	.alloc		= mmapper_pages_alloc,
	.free		= mmapper_pages_free,
	.page_at	= mmapper_pages_page_at,
	.mmap		= mmapper_pages_mmap,
};
