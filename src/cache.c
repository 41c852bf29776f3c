// SPDX-License-Identifier: GPL-2.0
/*
 * Cache modes: the memory type of a buffer's pages (cached, write-combine,
 * uncached), and reading memory types back from page tables for debugfs.
 *
 * PAT's rule is that a page never has two memory types at once.  A page
 * that a process maps write-combined or uncached while the kernel's direct
 * map still caches it is the alias that corrupts data: a speculative or
 * cached access through one mapping misses a store through the other.  It
 * is what /dev/mem refuses to make.  So a buffer that is not cached has
 * its type in every mapping of its pages (Documentation/cache-modes.rst):
 *
 *  - the direct map, changed by the backend's alloc before any other
 *    mapping of the pages exists, with set_pages_array_wc()/_uc() (pages
 *    one by one, one TLB flush for all) or set_memory_wc()/_uc() (a
 *    physically contiguous run), and made write-back again by its free
 *    with the _wb() calls before the pages go back to the allocator, as
 *    TTM does.  Both record the type in the page itself
 *    (reserve_ram_pages_type()), where PAT's checks of every later
 *    remap_pfn_range() and vmf_insert_pfn*() of the same RAM find it;
 *  - any other kernel mapping the backend keeps (a vmap() of the pages),
 *    made with mmapper_cache_pgprot(PAGE_KERNEL, ...);
 *  - user mappings, whose vm_page_prot file.c sets with
 *    mmapper_cache_pgprot() before the backend maps anything;
 *  - and no mapping that mmapper does not make: only the VM_PFNMAP
 *    backends (kmalloc, vmalloc, huge) offer the other modes, because
 *    get_user_pages() refuses their mappings.  A mapping of normal pages
 *    can be pinned, and io_uring, RDMA or V4L2 would map the pinned
 *    pages again at write-back (MMAPPER_CACHES_GUP).
 *
 * Those calls, and PAT, are x86's.  Elsewhere, or with PAT off (nopat, a
 * kernel without CONFIG_X86_PAT), a page-table entry cannot select
 * write-combining, and mmapper offers cached only.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sysfs.h>
#ifdef CONFIG_X86
#include <asm/memtype.h>
#include <asm/set_memory.h>
#endif

#include "mmapper.h"

/* Names are ABI (sysfs, the module parameter), in the UAPI's order. */
static const char *const mmapper_cache_names[MMAPPER_NR_CACHES] = {
	[MMAPPER_CACHE_CACHED]		= "cached",
	[MMAPPER_CACHE_WRITE_COMBINE]	= "write-combine",
	[MMAPPER_CACHE_UNCACHED]	= "uncached",
};

/**
 * mmapper_caches() - the cache modes this machine offers
 *
 * Return: BIT(MMAPPER_CACHE_*) of each: cached always, the others where
 * PAT is on.
 */
unsigned int mmapper_caches(void)
{
	BUILD_BUG_ON(MMAPPER_CACHE_UNCACHED + 1 != MMAPPER_NR_CACHES);
#ifdef CONFIG_X86
	if (pat_enabled())
		return BIT(MMAPPER_CACHE_CACHED) | BIT(MMAPPER_CACHE_WRITE_COMBINE) |
		       BIT(MMAPPER_CACHE_UNCACHED);
#endif
	return BIT(MMAPPER_CACHE_CACHED);
}

/**
 * mmapper_cache_name() - the name of a cache mode
 * @cache: an MMAPPER_CACHE_* value
 *
 * Return: its name, as sysfs shows it.
 */
const char *mmapper_cache_name(unsigned int cache)
{
	return cache < MMAPPER_NR_CACHES ? mmapper_cache_names[cache] : "?";
}

/**
 * mmapper_cache_find() - look a cache mode up by name
 * @name: as written to sysfs (a trailing newline is ignored)
 *
 * Return: the MMAPPER_CACHE_* value, or -EINVAL for no such name.
 * Whether this machine offers it is mmapper_cache_check()'s question.
 */
int mmapper_cache_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < MMAPPER_NR_CACHES; i++)
		if (sysfs_streq(name, mmapper_cache_names[i]))
			return i;
	return -EINVAL;
}

/**
 * mmapper_cache_list() - list the cache modes this machine offers, kernel style
 * @buf: sysfs page to print into
 * @cur: the mode to show in brackets
 *
 * Return: bytes written, as a sysfs show method returns.
 */
ssize_t mmapper_cache_list(char *buf, unsigned int cur)
{
	unsigned int i, caches = mmapper_caches();
	ssize_t len = 0;

	for (i = 0; i < MMAPPER_NR_CACHES; i++) {
		if (!(caches & BIT(i)))
			continue;
		len += sysfs_emit_at(buf, len, i == cur ? "%s[%s]" : "%s%s",
				     len ? " " : "", mmapper_cache_names[i]);
	}
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

/**
 * mmapper_cache_check() - can @backend give a buffer of @size bytes @cache?
 * @backend: the backend
 * @size: the size in bytes, already accepted by mmapper_size_check()
 * @cache: an MMAPPER_CACHE_* value
 *
 * Return: 0 if it can; -EOPNOTSUPP if this machine has no such mode (no
 * PAT); -EINVAL if the backend cannot (its pages would be shared with
 * other kernel objects, or it has no such mode).  Callers log why.
 */
int mmapper_cache_check(const struct mmapper_backend *backend, u64 size,
			unsigned int cache)
{
	if (cache >= MMAPPER_NR_CACHES || !(mmapper_caches() & BIT(cache)))
		return -EOPNOTSUPP;
	if (cache == MMAPPER_CACHE_CACHED)
		return 0;
	if (!(backend->caches & BIT(cache)) || size <= backend->shared_max_size)
		return -EINVAL;
	return 0;
}

/* Why a backend of MMAPPER_CACHES_GUP refuses a mode, for its log line. */
const char mmapper_cache_gup_why[] =
	"get_user_pages() pins its pages, and io_uring or RDMA maps them write-back";

/**
 * mmapper_cache_pgprot() - page protection of a mapping with a cache mode
 * @prot: the protection for a cached mapping (PAGE_KERNEL, vm_page_prot)
 * @cache: an MMAPPER_CACHE_* value
 *
 * Return: @prot with the memory type of @cache.
 */
pgprot_t mmapper_cache_pgprot(pgprot_t prot, unsigned int cache)
{
	switch (cache) {
	case MMAPPER_CACHE_WRITE_COMBINE:
		return pgprot_writecombine(prot);
	case MMAPPER_CACHE_UNCACHED:
		return pgprot_noncached(prot);
	}
	return prot;
}

#ifdef CONFIG_X86
static int mmapper_set_pages_array(struct page **pages, int nr, unsigned int cache)
{
	switch (cache) {
	case MMAPPER_CACHE_WRITE_COMBINE:
		return set_pages_array_wc(pages, nr);
	case MMAPPER_CACHE_UNCACHED:
		return set_pages_array_uc(pages, nr);
	}
	return set_pages_array_wb(pages, nr);
}

static int mmapper_set_memory(struct page *page, int nr, unsigned int cache)
{
	unsigned long addr = (unsigned long)page_address(page);

	switch (cache) {
	case MMAPPER_CACHE_WRITE_COMBINE:
		return set_memory_wc(addr, nr);
	case MMAPPER_CACHE_UNCACHED:
		return set_memory_uc(addr, nr);
	}
	return set_memory_wb(addr, nr);
}
#else
static int mmapper_set_pages_array(struct page **pages, int nr, unsigned int cache)
{
	return cache == MMAPPER_CACHE_CACHED ? 0 : -EOPNOTSUPP;
}

static int mmapper_set_memory(struct page *page, int nr, unsigned int cache)
{
	return cache == MMAPPER_CACHE_CACHED ? 0 : -EOPNOTSUPP;
}
#endif

/*
 * Pages per set_pages_array_*()/set_memory_*() call (16 MiB): each flushes
 * its pages from the CPU caches one by one and all TLBs once, so a large
 * buffer takes many calls, with a chance to reschedule and, while the type
 * is being given (not restored: that must finish), to die between them.
 */
#define MMAPPER_CACHE_BATCH	4096UL

/* A fatal signal ends the giving of a type, never its undoing. */
static bool mmapper_cache_stop(unsigned int cache)
{
	return cache != MMAPPER_CACHE_CACHED && fatal_signal_pending(current);
}

static int mmapper_cache_set_array(struct page **pages, unsigned long nr,
				   unsigned int cache)
{
	unsigned long done, n;
	int ret;

	for (done = 0; done < nr; done += n) {
		n = min(nr - done, MMAPPER_CACHE_BATCH);
		ret = mmapper_set_pages_array(pages + done, n, cache);
		if (ret)
			return ret;
		cond_resched();
		if (done + n < nr && mmapper_cache_stop(cache))
			return -EINTR;
	}
	return 0;
}

/* One physically contiguous run: its struct pages are consecutive too. */
static int mmapper_cache_set_run(struct page *page, unsigned long nr,
				 unsigned int cache)
{
	unsigned long done, n;
	int ret;

	for (done = 0; done < nr; done += n) {
		n = min(nr - done, MMAPPER_CACHE_BATCH);
		ret = mmapper_set_memory(page + done, n, cache);
		if (ret)
			return ret;
		cond_resched();
		if (done + n < nr && mmapper_cache_stop(cache))
			return -EINTR;
	}
	return 0;
}

static int mmapper_cache_restored(unsigned long nr, int ret)
{
	if (ret)
		pr_err_ratelimited("cannot make %lu pages write-back again (%pe): leaking them rather than freeing them with another memory type\n",
				   nr, ERR_PTR(ret));
	return ret;
}

/**
 * mmapper_cache_apply_array() - give pages the memory type of a cache mode
 * @pages: the pages, each mapped write-back in the direct map
 * @nr: how many
 * @cache: an MMAPPER_CACHE_* value; cached changes nothing
 *
 * Changes the direct map (and records the type in each page for PAT),
 * flushing the pages from the CPU caches, with one TLB flush.  On failure
 * some pages may have changed: undo with mmapper_cache_restore_array(),
 * which is harmless on pages that did not.
 *
 * Return: 0, the error of set_pages_array_*(), or -EINTR on a fatal
 * signal.
 */
int mmapper_cache_apply_array(struct page **pages, unsigned long nr,
			      unsigned int cache)
{
	if (cache == MMAPPER_CACHE_CACHED)
		return 0;
	return mmapper_cache_set_array(pages, nr, cache);
}

/**
 * mmapper_cache_restore_array() - make pages write-back again
 * @pages: the pages of mmapper_cache_apply_array()
 * @nr: how many
 * @cache: the mode they were given; cached changes nothing
 *
 * Return: 0, or an error (logged): then the pages must not be freed.
 */
int mmapper_cache_restore_array(struct page **pages, unsigned long nr,
				unsigned int cache)
{
	if (cache == MMAPPER_CACHE_CACHED)
		return 0;
	return mmapper_cache_restored(nr, mmapper_cache_set_array(pages, nr,
								  MMAPPER_CACHE_CACHED));
}

/**
 * mmapper_cache_apply_run() - mmapper_cache_apply_array() for contiguous pages
 * @page: the first page of a physically contiguous run
 * @nr: pages in the run
 * @cache: an MMAPPER_CACHE_* value; cached changes nothing
 *
 * One set_memory_*() call on the run's range of the direct map, which
 * keeps its large pages where the run covers them whole.
 *
 * Return: 0, the error of set_memory_*(), or -EINTR on a fatal signal.
 */
int mmapper_cache_apply_run(struct page *page, unsigned long nr,
			    unsigned int cache)
{
	if (cache == MMAPPER_CACHE_CACHED)
		return 0;
	return mmapper_cache_set_run(page, nr, cache);
}

/**
 * mmapper_cache_restore_run() - mmapper_cache_restore_array() for a run
 * @page: the first page of the run of mmapper_cache_apply_run()
 * @nr: pages in the run
 * @cache: the mode they were given; cached changes nothing
 *
 * Return: 0, or an error (logged): then the pages must not be freed.
 */
int mmapper_cache_restore_run(struct page *page, unsigned long nr,
			      unsigned int cache)
{
	if (cache == MMAPPER_CACHE_CACHED)
		return 0;
	return mmapper_cache_restored(nr, mmapper_cache_set_run(page, nr,
								MMAPPER_CACHE_CACHED));
}

#ifdef CONFIG_X86
/*
 * The memory type that the cache bits of a 4 KiB entry select: the
 * inverse of the kernel's own cachemode2protval().  Tried in an order
 * that finds the type the CPU applies where two types share bits
 * (without PAT, write-combining falls back to uncached-minus).
 */
static int mmapper_memtype_of(pteval_t val)
{
	static const enum page_cache_mode order[] = {
		_PAGE_CACHE_MODE_WB, _PAGE_CACHE_MODE_UC_MINUS, _PAGE_CACHE_MODE_UC,
		_PAGE_CACHE_MODE_WT, _PAGE_CACHE_MODE_WC, _PAGE_CACHE_MODE_WP,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(order); i++)
		if ((val & _PAGE_CACHE_MASK) == cachemode2protval(order[i]))
			return order[i];
	return MMAPPER_MEMTYPE_OTHER;
}

/**
 * mmapper_kernel_memtype() - the memory type of a kernel mapping
 * @addr: a kernel address: of the direct map, or of the vmalloc area
 *
 * Reads the kernel's page table (lookup_address()), at whatever level
 * maps @addr.
 *
 * Return: an enum page_cache_mode, MMAPPER_MEMTYPE_OTHER, or -1 if
 * nothing maps @addr.
 */
int mmapper_kernel_memtype(unsigned long addr)
{
	unsigned int level;
	pte_t *ptep = lookup_address(addr, &level);
	pteval_t val;

	if (!ptep)
		return -1;
	val = pte_val(READ_ONCE(*ptep));
	if (!(val & _PAGE_PRESENT))
		return -1;
	/* A large entry keeps its PAT bit elsewhere. */
	if (level != PG_LEVEL_4K)
		val = protval_large_2_4k(val);
	return mmapper_memtype_of(val);
}

/**
 * mmapper_user_memtype() - the memory type of a user entry, if it maps a pfn
 * @mm: the address space, its mmap lock held by the caller
 * @addr: a user address in a VMA of mmapper
 * @pfn: the page frame the entry must map
 *
 * A look at the entry without its page-table lock: under the mmap lock
 * the upper levels of the table stay, and a page of PTEs is freed after
 * an RCU grace period (where the kernel frees empty ones at all), so the
 * values read are real entries, of now or of a moment ago, which is all
 * debugfs promises.  Entries of 4 KiB, and of 2 MiB (backend huge).
 *
 * Return: an enum page_cache_mode, MMAPPER_MEMTYPE_OTHER, or -1 if
 * nothing maps @pfn at @addr.
 */
int mmapper_user_memtype(struct mm_struct *mm, unsigned long addr,
			 unsigned long pfn)
{
	pgd_t *pgdp = pgd_offset(mm, addr);
	p4d_t *p4dp;
	pud_t pud;
	pmd_t pmd;
	pte_t pte;

	if (pgd_none(READ_ONCE(*pgdp)))
		return -1;
	p4dp = p4d_offset(pgdp, addr);
	if (!p4d_present(READ_ONCE(*p4dp)))
		return -1;
	pud = READ_ONCE(*pud_offset(p4dp, addr));
	if (!pud_present(pud))
		return -1;
	if (pud_leaf(pud))
		return pud_pfn(pud) + ((addr & ~PUD_MASK) >> PAGE_SHIFT) == pfn ?
		       mmapper_memtype_of(protval_large_2_4k(pud_flags(pud))) : -1;
	/*
	 * From the read of the PMD on: a page of PTEs that the PMD pointed at
	 * is freed only after a grace period that began when it was cleared.
	 */
	rcu_read_lock();
	pmd = READ_ONCE(*pmd_offset(&pud, addr));
	if (!pmd_present(pmd)) {
		rcu_read_unlock();
		return -1;
	}
	if (pmd_leaf(pmd)) {
		rcu_read_unlock();
		return pmd_pfn(pmd) + ((addr & ~PMD_MASK) >> PAGE_SHIFT) == pfn ?
		       mmapper_memtype_of(protval_large_2_4k(pmd_flags(pmd))) : -1;
	}
	pte = READ_ONCE(*pte_offset_kernel(&pmd, addr));
	rcu_read_unlock();
	if (!pte_present(pte) || pte_pfn(pte) != pfn)
		return -1;
	return mmapper_memtype_of(pte_flags(pte));
}

/**
 * mmapper_memtype_name() - the kernel's name of a memory type
 * @memtype: a value of mmapper_kernel_memtype() or mmapper_user_memtype()
 *
 * Return: the name x86's PAT code gives it (cattr_name()), "other", or
 * "-" for no entry.
 */
const char *mmapper_memtype_name(int memtype)
{
	static const char *const names[] = {
		[_PAGE_CACHE_MODE_WB]		= "write-back",
		[_PAGE_CACHE_MODE_WC]		= "write-combining",
		[_PAGE_CACHE_MODE_UC_MINUS]	= "uncached-minus",
		[_PAGE_CACHE_MODE_UC]		= "uncached",
		[_PAGE_CACHE_MODE_WT]		= "write-through",
		[_PAGE_CACHE_MODE_WP]		= "write-protected",
	};

	if (memtype < 0)
		return "-";
	if ((unsigned int)memtype < ARRAY_SIZE(names) && names[memtype])
		return names[memtype];
	return "other";
}
#else
int mmapper_kernel_memtype(unsigned long addr)
{
	return -1;
}

int mmapper_user_memtype(struct mm_struct *mm, unsigned long addr,
			 unsigned long pfn)
{
	return -1;
}

const char *mmapper_memtype_name(int memtype)
{
	return "-";
}
#endif
