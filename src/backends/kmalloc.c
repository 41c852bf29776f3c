// SPDX-License-Identifier: GPL-2.0
/*
 * Backend "kmalloc": one physically contiguous kmalloc() allocation, mapped
 * with a single remap_pfn_range() of the whole VMA.
 *
 * The mapping is VM_PFNMAP: user space sees raw page frames, not refcounted
 * pages, so get_user_pages() (O_DIRECT, vmsplice) does not work on it.
 * MAP_PRIVATE is refused.  Largest buffer: KMALLOC_MAX_SIZE.
 *
 * Cache modes: a buffer above KMALLOC_MAX_CACHE_SIZE comes straight from
 * the page allocator, whole pages of its own, whose direct map one
 * set_memory_*() call changes.  Smaller ones are slab objects, which
 * share their pages with other kmalloc() users: their memory type cannot
 * change, and the core refuses any mode but cached for them
 * (shared_max_size).
 */
#include <linux/mm.h>
#include <linux/slab.h>

#include "../mmapper.h"

static void mmapper_kmalloc_free(struct mmapper_buf *buf)
{
	if (!mmapper_cache_restore_run(virt_to_page(buf->vaddr), buf->nr_pages,
				       buf->cache))
		kfree(buf->vaddr);
}

static int mmapper_kmalloc_alloc(struct mmapper_buf *buf)
{
	int ret;

	/*
	 * Sizes are whole pages, and a kmalloc() of a power of two is
	 * aligned to it, larger ones come straight from the page
	 * allocator: the buffer always starts on a page boundary.
	 */
	buf->vaddr = kmalloc(buf->size, MMAPPER_GFP);
	if (!buf->vaddr)
		return -ENOMEM;
	if (!PAGE_ALIGNED(buf->vaddr)) {
		kfree(buf->vaddr);
		return -ENOMEM;
	}
	/* Never a slab page of other objects: see shared_max_size. */
	if (buf->cache != MMAPPER_CACHE_CACHED &&
	    WARN_ON_ONCE(PageSlab(virt_to_page(buf->vaddr)))) {
		kfree(buf->vaddr);
		return -EINVAL;
	}
	ret = mmapper_cache_apply_run(virt_to_page(buf->vaddr), buf->nr_pages,
				      buf->cache);
	if (ret)
		mmapper_kmalloc_free(buf);
	return ret;
}

static struct page *mmapper_kmalloc_page_at(const struct mmapper_buf *buf,
					    unsigned long idx)
{
	return virt_to_page(buf->vaddr + (idx << PAGE_SHIFT));
}

static int mmapper_kmalloc_mmap(struct mmapper_buf *buf,
				struct vm_area_struct *vma)
{
	unsigned long pfn = page_to_pfn(virt_to_page(buf->vaddr));

	return remap_pfn_range(vma, vma->vm_start, pfn + vma->vm_pgoff,
			       vma->vm_end - vma->vm_start, vma->vm_page_prot);
}

const struct mmapper_backend mmapper_backend_kmalloc = {
	.name		= "kmalloc",
	.max_size	= KMALLOC_MAX_SIZE,
	.contiguous	= true,
	.caches		= MMAPPER_CACHES_ALL,
	.shared_max_size = KMALLOC_MAX_CACHE_SIZE,
	.alloc		= mmapper_kmalloc_alloc,
	.free		= mmapper_kmalloc_free,
	.page_at	= mmapper_kmalloc_page_at,
	.mmap		= mmapper_kmalloc_mmap,
};
