// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "pages": an array of individually allocated pages, mapped whole at
 * mmap() time with batched vm_insert_pages().
 *
 * The page tables point at normal refcounted pages, so get_user_pages()
 * works on the mapping: O_DIRECT into it, vmsplice() and io_uring fixed
 * buffers from it.  MAP_PRIVATE is copy-on-write: the pages are inserted
 * read-only into a private mapping and the first write to one copies it.
 *
 * Cached only (MMAPPER_CACHES_GUP): what pins the pages with
 * get_user_pages() would map them again write-back.
 */
#include <linux/err.h>
#include <linux/mm.h>

#include "../mmapper.h"

static void mmapper_pages_free(struct mmapper_buf *buf)
{
	if (mmapper_cache_restore_array(buf->priv, buf->nr_pages, buf->cache))
		kvfree(buf->priv);	/* the pages are kept: cache.c */
	else
		mmapper_free_page_array(buf->priv, buf->nr_pages);
}

static int mmapper_pages_alloc(struct mmapper_buf *buf)
{
	struct page **pages = mmapper_alloc_page_array(buf->nr_pages,
						       MMAPPER_GFP_MAPPED);
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
	.caches		= MMAPPER_CACHES_GUP,
	.alloc		= mmapper_pages_alloc,
	.free		= mmapper_pages_free,
	.page_at	= mmapper_pages_page_at,
	.mmap		= mmapper_pages_mmap,
};
