/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmapper internals: devices, buffers and the backend ops table.
 */
#ifndef _MMAPPER_H
#define _MMAPPER_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/rcupdate.h>
#include <linux/wait.h>
#include <linux/bits.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

/* Older kernels get the newest API's names here: include it first of ours. */
#include "compat.h"

#include <uapi/linux/mmapper.h>

struct mmapper_buf;
struct mmapper_dev;

/*
 * Buffer memory: zeroed, charged to the memory cgroup of the task that
 * sizes the buffer, and failing with -ENOMEM (no OOM killer, no warning)
 * when the machine or the cgroup has none to give.  MMAPPER_GFP_MAPPED is
 * for pages that user space maps as struct pages (compat.h: 5.10 cannot
 * map accounted pages).
 */
#define MMAPPER_GFP		(GFP_KERNEL_ACCOUNT | __GFP_ZERO | \
				 __GFP_RETRY_MAYFAIL | __GFP_NOWARN)
#define MMAPPER_GFP_MAPPED	(MMAPPER_GFP & ~MMAPPER_GFP_NO_MAPPED)
/*
 * What a buffer needs besides its memory (struct mmapper_buf, page and
 * chunk arrays): charged and failing as the memory does.  Without
 * __GFP_RETRY_MAYFAIL, kvmalloc() falls back to vmalloc() with
 * GFP_KERNEL_ACCOUNT, whose memcg charge invokes the OOM killer.
 */
#define MMAPPER_GFP_META	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | \
				 __GFP_NOWARN)

/* Buffers of the "huge" backend come in chunks of one PMD: 2 MiB on x86-64. */
#define MMAPPER_CHUNK_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define MMAPPER_CHUNK_PAGES	BIT(MMAPPER_CHUNK_ORDER)

/**
 * struct mmapper_backend - one way of allocating a buffer and mapping it
 * @name: stable ABI name, shown in sysfs and accepted by ioctl
 * @max_size: largest buffer the backend can hold, in bytes (0: no limit
 *	beyond the machine's memory)
 * @private_cow: MAP_PRIVATE mappings are supported as copy-on-write that
 *	never reaches the buffer; when false MAP_PRIVATE gets -EINVAL
 * @contiguous: buffers are physically contiguous (sysfs shows phys_addr)
 * @caches: the cache modes it can give a buffer, BIT(MMAPPER_CACHE_*) of
 *	each (cached always); its file says how
 * @shared_max_size: buffers of this many bytes or fewer share their pages
 *	with other kernel objects (kmalloc's slab sizes), so their memory
 *	type cannot change: cached only (0: none do)
 * @alloc: allocate a zeroed buffer of @buf->nr_pages pages; fill in
 *	@buf->vaddr and/or @buf->priv.  Allocates with MMAPPER_GFP (or
 *	MMAPPER_GFP_MAPPED), so it must not warn or invoke the OOM killer on
 *	failure; returns -ENOMEM, or -EINTR when a fatal signal is pending
 *	(checked between the allocations of a long one).  The pages get
 *	the memory type of @buf->cache: the direct map is changed first
 *	(mmapper_cache_apply_*()), then any other kernel mapping the backend
 *	keeps is made with that type (mmapper_cache_pgprot()); on failure it
 *	undoes what it did as @free does.
 * @free: release what @alloc allocated, in reverse: other kernel
 *	mappings, then the direct map back to write-back
 *	(mmapper_cache_restore_*()), then the pages, which are not freed if
 *	that failed
 * @page_at: the page holding page @idx of the buffer (for the copy path)
 * @mmap: set up @vma, which the core has already checked to lie inside the
 *	buffer and marked VM_DONTEXPAND | VM_DONTDUMP; may populate it or
 *	leave it to @fault
 * @fault: optional: resolve a fault on a page that @mmap left unpopulated.
 *	Without it, a fault in a mapping of struct pages (the kernel zapped
 *	it: MADV_DONTNEED) gets the page @page_at gives, and a fault in a
 *	VM_PFNMAP one SIGBUS
 * @huge_fault: optional: map the whole PMD-sized, PMD-aligned range around
 *	the fault with one 2 MiB entry, or return VM_FAULT_FALLBACK.  Set only
 *	where MMAPPER_HAVE_HUGE_FAULT says the kernel can call it
 *
 * The core calls every op with the device lock held, except @fault, which
 * runs under the mmap lock only: the buffer cannot change while a mapping
 * exists, so @fault needs no device lock.
 */
struct mmapper_backend {
	const char *name;
	size_t max_size;
	bool private_cow;
	bool contiguous;
	unsigned int caches;
	size_t shared_max_size;
	int (*alloc)(struct mmapper_buf *buf);
	void (*free)(struct mmapper_buf *buf);
	struct page *(*page_at)(const struct mmapper_buf *buf, unsigned long idx);
	int (*mmap)(struct mmapper_buf *buf, struct vm_area_struct *vma);
	vm_fault_t (*fault)(struct mmapper_buf *buf, struct vm_fault *vmf);
	vm_fault_t (*huge_fault)(struct mmapper_buf *buf, struct vm_fault *vmf);
};

/*
 * The kernel calls ->huge_fault of a mapping mmapper can fill with 2 MiB
 * entries: PFN maps from 6.12 (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP, "huge"),
 * folios of refcounted pages from 6.15 (compat.h, "pages").
 */
#if defined(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP) || defined(MMAPPER_HAVE_FOLIO_PMD)
#define MMAPPER_HAVE_HUGE_FAULT
#endif

#ifdef MMAPPER_HAVE_HUGE_FAULT
/*
 * The write argument of a 2 MiB insertion in ->huge_fault: true only for
 * a write to an entry that is there (the core's write-protect path,
 * wp_huge_pmd(), which passes the entry in @vmf->orig_pmd).  A first
 * insertion takes the mapping's own protection, which already lets a
 * shared writable mapping write (it needs no write notification; one that
 * does, soft-dirty tracking, comes back through that path).  Asking for
 * write there would make the core warn (insert_pmd()) when another
 * thread's 4 KiB fault got a page table in first, as it can after a THP
 * switch (PR_SET_THP_DISABLE) between the two faults, where without it the
 * core leaves the fault to that page table.
 */
static inline bool mmapper_huge_fault_write(const struct vm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_WRITE) && !pmd_none(vmf->orig_pmd);
}
#endif

/**
 * struct mmapper_buf - one buffer: its backend, size and memory
 * @ref: references: the device's (while it is the device's buffer), and
 *	one for each read() or write() that copies to or from it; the last
 *	put frees the memory (mmapper_buf_put())
 * @rcu: frees the struct itself a grace period after the last put, so
 *	that mmapper_buf_get() may look at @ref under rcu_read_lock()
 * @retiring: set, under the device lock, before a change copies this
 *	buffer into its successor, and left set once the successor is in
 *	place; cleared if the change fails.  A write() that finds it set
 *	after copying into this buffer writes again into the successor
 *	(see mmapper_write_iter()).
 * @backend: the backend that allocated it
 * @cache: its cache mode (MMAPPER_CACHE_*), for its whole life: the
 *	memory type of every mapping of its pages, kernel and user alike
 * @size: size in bytes, a whole number of pages
 * @nr_pages: @size >> PAGE_SHIFT
 * @vaddr: kernel virtual address, for backends with a contiguous one
 * @priv: backend-private data
 */
struct mmapper_buf {
	struct kref ref;
	struct rcu_head rcu;
	bool retiring;
	const struct mmapper_backend *backend;
	unsigned int cache;
	size_t size;
	unsigned long nr_pages;
	void *vaddr;
	void *priv;
};

/*
 * The statistics are the __u64 fields of struct mmapper_stats from @opens
 * on, in the UAPI's order: that struct is their one definition.  Index i
 * is the i-th of them; counters.c names each (sysfs, debugfs and the ioctl
 * are generated from that table) and says which are levels rather than
 * counts.
 */
#define MMAPPER_STATS_FIRST	offsetof(struct mmapper_stats, opens)
#define MMAPPER_NR_STATS	((sizeof(struct mmapper_stats) - MMAPPER_STATS_FIRST) / \
				 sizeof(__u64))
/*
 * A field before @opens (size, flags) gives an index past the end, which
 * fails the build in mmapper_count() and in the table of counters.c.
 */
#define MMAPPER_STAT_IDX(field)	((offsetof(struct mmapper_stats, field) - \
				  MMAPPER_STATS_FIRST) / sizeof(__u64))

/**
 * struct mmapper_counters - per-device statistics, exact under concurrency
 * @v: one per statistic, by MMAPPER_STAT_IDX(); a level's slot is unused
 */
struct mmapper_counters {
	atomic64_t v[MMAPPER_NR_STATS];
};

/*
 * Add @n to the count named by its field of struct mmapper_stats; a level
 * has no count (its slot stays zero, and counters.c reads the state).
 */
#define mmapper_count(mdev, field, n) \
	mmapper_count_idx(&(mdev)->stats, MMAPPER_STAT_IDX(field), n)

static __always_inline void mmapper_count_idx(struct mmapper_counters *c,
					      size_t idx, s64 n)
{
	BUILD_BUG_ON(idx >= MMAPPER_NR_STATS);
	atomic64_add(n, &c->v[idx]);
}

/**
 * struct mmapper_stat_desc - what counters.c knows of one statistic
 * @name: its name: the UAPI field, the sysfs file in stats/, the debugfs
 *	summary line
 * @level: NULL for a count (kept in struct mmapper_counters, reset by
 *	stats/reset); for a level (a state, not a count), how to read it
 */
struct mmapper_stat_desc {
	const char *name;
	u64 (*level)(const struct mmapper_dev *mdev);
};

/**
 * struct mmapper_mapping - one live user mapping (VMA) of a device
 * @node: in mmapper_dev.mappings
 * @vma: the VMA; valid while on the list (vm_ops->close takes it off
 *	before the VMA is freed); its fields are stable only under the
 *	mmap lock of @vma->vm_mm
 * @mdev: the device
 * @id: unique, increasing: lets debugfs walk the list without holding
 *	the lock across the mmap lock
 *
 * Each VMA's vm_private_data points at its own record (a copy made by a
 * split, fork or mremap gets a new one in vm_ops->open), so vm_ops->close
 * finds it without searching.  A VMA whose record could not be allocated
 * in vm_ops->open, which cannot fail, points at its device's @no_record.
 */
struct mmapper_mapping {
	struct list_head node;
	struct vm_area_struct *vma;
	struct mmapper_dev *mdev;
	u64 id;
};

/**
 * struct mmapper_dev - one /dev/mmapperN
 * @lock: guards @buf (pointer and contents' layout), and serialises
 *	changes with mmap(); order: mmap_lock -> @lock. Never held while
 *	touching user memory.
 * @buf: the buffer; replaced only under @lock and only when
 *	@nr_mappings is zero, with rcu_assign_pointer(): read() and write()
 *	take a reference to it without @lock (mmapper_buf_get())
 * @change_wq: woken when a change has replaced @buf, or failed to
 * @nr_mappings: live VMAs of this device; raised under @lock in mmap(),
 *	raised in vm_ops->open (a VMA already exists) and dropped in
 *	vm_ops->close without it
 * @gen: bumped under @lock each time @buf is replaced
 * @mappings_lock: guards @mappings, @next_id and @untracked; innermost lock
 * @mappings: struct mmapper_mapping of each live VMA, oldest first
 * @next_id: id of the next struct mmapper_mapping
 * @untracked: live VMAs without a record (allocation failed in
 *	vm_ops->open, which cannot fail); debugfs says so
 * @no_record: what the vm_private_data of those VMAs points at; never
 *	on @mappings
 * @experiment_lock: one MMAPPER_IOC_PUT_USER at a time; never taken by
 *	the fault handlers
 * @experiment_task: the task inside MMAPPER_IOC_PUT_USER, or NULL
 * @experiment_faults: faults answered for @experiment_task; written only
 *	in that task's own fault handlers
 * @nr_exports: live DMA-BUF exports of the buffer (dmabuf.c); raised
 *	under @lock, dropped when the DMA-BUF is released.  Like
 *	@nr_mappings, it keeps the buffer from being replaced.
 * @exports_lock: guards @exports and @next_export_id; taken before a
 *	struct mmapper_dmabuf's own lock
 * @exports: struct mmapper_dmabuf of each live export, oldest first
 * @next_export_id: id of the next export, for debugfs
 * @stats: counters, atomic: no lock
 * @open_lock: guards @nr_open and @removed, so that an open() and a
 *	removal of the device exclude each other (mmapper_dev_busy())
 * @nr_open: open files of the device
 * @removed: set once the device is being removed, or while the module
 *	that made it at load is still loading: open() says ENODEV
 * @index: N in mmapperN
 * @cdev: character device; its kobject holds a reference to @dev from
 *	cdev_device_add() until cdev_del() and the last open file are gone
 * @dev: the class device, parent of the sysfs attributes; its release
 *	(the last reference) frees the buffer and the struct
 * @debugfs: this device's debugfs directory
 *
 * The struct lives as long as @dev has a reference: a file or an open()
 * in flight holds one through @cdev, so a removal never frees what a late
 * opener looks at.
 */
struct mmapper_dev {
	/* guards buf; see above */
	struct mutex lock;
	struct mmapper_buf __rcu *buf;
	wait_queue_head_t change_wq;
	atomic_t nr_mappings;
	unsigned long gen;
	/* guards mappings, next_id, untracked */
	spinlock_t mappings_lock;
	struct list_head mappings;
	u64 next_id;
	unsigned int untracked;
	struct mmapper_mapping no_record;
	/* serialises the put_user() experiment */
	struct mutex experiment_lock;
	struct task_struct *experiment_task;
	unsigned int experiment_faults;
	atomic_t nr_exports;
	/* guards exports, next_export_id */
	struct mutex exports_lock;
	struct list_head exports;
	u64 next_export_id;
	struct mmapper_counters stats;
	/* guards nr_open, removed */
	spinlock_t open_lock;
	unsigned int nr_open;
	bool removed;
	/*
	 * Under the sysfs update mutex (sysfs.c): its attributes are all
	 * made and not yet taken away; a change came while they were not.
	 */
	bool sysfs_live;
	bool sysfs_stale;
	unsigned int index;
	struct cdev cdev;
	struct device dev;
	struct dentry *debugfs;
};

/* The device of a VMA of one, through its struct mmapper_mapping. */
static inline struct mmapper_dev *mmapper_vma_dev(struct vm_area_struct *vma)
{
	return ((struct mmapper_mapping *)vma->vm_private_data)->mdev;
}

/* The device's buffer, for a holder of @mdev->lock. */
static inline struct mmapper_buf *mmapper_dev_buf(struct mmapper_dev *mdev)
{
	return rcu_dereference_protected(mdev->buf, lockdep_is_held(&mdev->lock));
}

/*
 * The device's buffer, for a VMA of the device: a mapped buffer is never
 * replaced, so it is stable for as long as the VMA lives.
 */
static inline struct mmapper_buf *mmapper_mapped_buf(struct mmapper_dev *mdev)
{
	return rcu_dereference_protected(mdev->buf, atomic_read(&mdev->nr_mappings));
}

/* backends/, one file each: listed in mmapper_backends[] (buffer.c) */
extern const struct mmapper_backend mmapper_backend_kmalloc;
extern const struct mmapper_backend mmapper_backend_vmalloc;
extern const struct mmapper_backend mmapper_backend_vmalloc_fault;
extern const struct mmapper_backend mmapper_backend_vmalloc_user;
extern const struct mmapper_backend mmapper_backend_pages;
extern const struct mmapper_backend mmapper_backend_huge;

/* backends/common.c: allocation helpers shared by several backends */
struct page **mmapper_alloc_page_array(unsigned long nr_pages, gfp_t gfp,
				       bool pmd_folios);
void mmapper_free_page_array(struct page **pages, unsigned long nr_pages);
int mmapper_vmalloc_area_alloc(struct mmapper_buf *buf, gfp_t gfp);
int mmapper_vmap_area_alloc(struct mmapper_buf *buf, gfp_t gfp,
			    unsigned long vm_flags);
void mmapper_vmalloc_free(struct mmapper_buf *buf);
struct page *mmapper_vmalloc_page_at(const struct mmapper_buf *buf,
				     unsigned long idx);

/* buffer.c */
extern const struct mmapper_backend *const mmapper_backends[];
extern const unsigned int mmapper_nr_backends;

const struct mmapper_backend *mmapper_backend_find(const char *name);
int mmapper_size_check(const struct mmapper_backend *backend, u64 size);
struct mmapper_buf *mmapper_buf_alloc(const struct mmapper_backend *backend,
				      u64 size, unsigned int cache);
void mmapper_buf_free(struct mmapper_buf *buf);
struct mmapper_buf *mmapper_buf_get(struct mmapper_dev *mdev);
void mmapper_buf_put(struct mmapper_buf *buf);
struct mmapper_buf *mmapper_buf_next(struct mmapper_dev *mdev,
				     struct mmapper_buf *old);
void mmapper_buf_walk(const struct mmapper_buf *buf, u64 pos, u64 len,
		      void (*fn)(void *kaddr, size_t n, void *arg), void *arg);
int mmapper_buf_copy(struct mmapper_buf *dst, const struct mmapper_buf *src);
ssize_t mmapper_backend_list(char *buf, const struct mmapper_backend *cur);

int mmapper_parse_size(const char *s, u64 *size);

/* counters.c */
extern const struct mmapper_stat_desc mmapper_stat_descs[];
int __init mmapper_stats_check(void);
u64 mmapper_stat_read(const struct mmapper_dev *mdev, unsigned int idx);
void mmapper_stats_reset(struct mmapper_dev *mdev);

/* cache.c: cache modes, and the memory types of pages in page tables */
#define MMAPPER_NR_CACHES	3
#define MMAPPER_CACHES_ALL	(BIT(MMAPPER_CACHE_CACHED) | \
				 BIT(MMAPPER_CACHE_WRITE_COMBINE) | \
				 BIT(MMAPPER_CACHE_UNCACHED))
/*
 * A backend whose mappings hold normal pages (vm_insert_page(), a .fault
 * that returns the page) lets get_user_pages() pin them, and what pins
 * them (io_uring's rings and fixed buffers, vhost, RDMA,
 * V4L2 user pointers, AF_XDP) maps them again with vmap() or kmap() at
 * write-back, whatever the buffer's type: the alias PAT forbids.  Such a
 * backend offers cached only; the VM_PFNMAP ones (kmalloc, vmalloc, huge),
 * which get_user_pages() refuses, offer every mode.
 */
#define MMAPPER_CACHES_GUP	BIT(MMAPPER_CACHE_CACHED)
extern const char mmapper_cache_gup_why[];

unsigned int mmapper_caches(void);
const char *mmapper_cache_name(unsigned int cache);
int mmapper_cache_find(const char *name);
ssize_t mmapper_cache_list(char *buf, unsigned int cur);
int mmapper_cache_check(const struct mmapper_backend *backend, u64 size,
			unsigned int cache);
pgprot_t mmapper_cache_pgprot(pgprot_t prot, unsigned int cache);
int mmapper_cache_apply_array(struct page **pages, unsigned long nr,
			      unsigned int cache);
int mmapper_cache_restore_array(struct page **pages, unsigned long nr,
				unsigned int cache);
int mmapper_cache_apply_run(struct page *page, unsigned long nr,
			    unsigned int cache);
int mmapper_cache_restore_run(struct page *page, unsigned long nr,
			      unsigned int cache);
/*
 * A memory type as a page-table entry gives it: on x86 an enum
 * page_cache_mode (0..5), or MMAPPER_MEMTYPE_OTHER for cache bits that
 * the kernel never sets; negative for no entry.  Fits a bit of a u8.
 */
#define MMAPPER_MEMTYPE_OTHER	7
int mmapper_kernel_memtype(unsigned long addr);
int mmapper_user_memtype(struct mm_struct *mm, unsigned long addr,
			 unsigned long pfn);
const char *mmapper_memtype_name(int memtype);

/* device.c */
int mmapper_dev_set_size(struct mmapper_dev *mdev, u64 size);
int mmapper_dev_set_backend(struct mmapper_dev *mdev,
			    const struct mmapper_backend *backend);
int mmapper_dev_set_cache(struct mmapper_dev *mdev, unsigned int cache);
int mmapper_switch_all(const struct mmapper_backend *backend);

/* backends/huge.c */
bool mmapper_huge_pmd_possible(void);

/* backends/pages.c */
bool mmapper_pages_pmd_possible(void);

/* main.c */
extern u64 mmapper_max_size;
extern struct idr mmapper_idr;
extern unsigned int mmapper_default_cache;
extern unsigned int mmapper_nr_devs;
extern struct mutex mmapper_config_lock;

/*
 * Every device that exists, in number order, for a holder of
 * mmapper_config_lock; @id is an int.
 */
#define mmapper_for_each_dev(mdev, id) \
	idr_for_each_entry(&mmapper_idr, mdev, id)

const char *mmapper_dev_busy(struct mmapper_dev *mdev);
int mmapper_dev_add(void);
int mmapper_dev_remove(unsigned int index);

/* file.c */
extern const struct file_operations mmapper_fops;
int mmapper_mmap_vma(struct mmapper_dev *mdev, struct vm_area_struct *vma);
int mmapper_copy_struct_in(void *kst, size_t ksize, size_t ver0,
			   void __user *uarg, u32 *usize);
int mmapper_copy_struct_out(void __user *uarg, void *kst, size_t ksize,
			    u32 usize);

/* dmabuf.c: DMA-BUF export; a kernel without DMA-BUF has none */
struct seq_file;
#ifdef CONFIG_DMA_SHARED_BUFFER
long mmapper_ioctl_export_dmabuf(struct mmapper_dev *mdev, struct file *file,
				 void __user *uarg);
void mmapper_dmabuf_show(struct seq_file *m, struct mmapper_dev *mdev);
u64 mmapper_dmabuf_vma_id(struct vm_area_struct *vma);
#else
static inline long mmapper_ioctl_export_dmabuf(struct mmapper_dev *mdev,
					       struct file *file,
					       void __user *uarg)
{
	return -EOPNOTSUPP;
}

static inline void mmapper_dmabuf_show(struct seq_file *m,
				       struct mmapper_dev *mdev)
{
}

static inline u64 mmapper_dmabuf_vma_id(struct vm_area_struct *vma)
{
	return 0;
}
#endif

/* sysfs.c */
void __init mmapper_sysfs_init(void);
extern const struct attribute_group *mmapper_class_groups[];
extern const struct attribute_group *mmapper_dev_groups[];
void mmapper_sysfs_changed(struct mmapper_dev *mdev);
void mmapper_sysfs_live(struct mmapper_dev *mdev, bool live);
void mmapper_sysfs_changed_all(void);

/* debugfs.c */
void mmapper_debugfs_init(void);
void mmapper_debugfs_exit(void);
void mmapper_debugfs_add(struct mmapper_dev *mdev);
void mmapper_debugfs_remove(struct mmapper_dev *mdev);

#endif /* _MMAPPER_H */
