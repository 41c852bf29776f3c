// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper debugfs: /sys/kernel/debug/mmapper/mmapperN/{pages,mappings,summary,
 * exports} and /sys/kernel/debug/mmapper/memtype.  Documented in
 * Documentation/debugfs.rst.
 *
 * Finding out whether a page is mapped into user space right now:
 *
 *  - for backends that map struct pages (vm_insert_page*(), ->fault
 *    returning a page) the kernel's own rmap count, the page's mapcount,
 *    says it;
 *  - VM_PFNMAP mappings (remap_pfn_range(), vmf_insert_pfn*()) bypass
 *    rmap, so each live mapping's page table is read instead, under the
 *    mmap lock of the process that owns it.
 *
 * The memory types of a page (kernel_type, user_type): the kernel's page
 * table for the direct map and any vmalloc-area mapping the backend keeps
 * (lookup_address()); each live mapping's page table for the user entries,
 * read as above (cache.c).
 *
 * Locks, outermost first, as in the rest of the driver: the owner's mmap
 * lock, the device lock, the mappings spinlock.  A VMA found through a
 * struct mmapper_mapping is used only after checking, under its mmap lock,
 * that it is still in its mm's tree: then neither it nor its page tables
 * can go until the lock is dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "mmapper.h"

static struct dentry *mmapper_debugfs_root;

/*
 * How many user page-table entries map @page through its struct page
 * (VM_PFNMAP entries are not counted there).  A slab page keeps other
 * data where the mapcount would be: kmalloc memory is only ever pfnmapped.
 */
static int mmapper_mapcount(struct page *page)
{
	if (PageSlab(page))
		return 0;
#ifdef PG_kmemcg
	/* 5.10 marks accounted pages with a type kept in the mapcount. */
	if (PageKmemcg(page))
		return 0;
#endif
	return folio_mapcount(page_folio(page));
}

/* What mmapper_visit_mappings() calls for each mapping. */
struct mmapper_mapping_visitor {
	int (*fn)(struct mmapper_dev *mdev, struct vm_area_struct *vma, void *arg);
	void *arg;
};

/*
 * Call @v->fn for each live mapping of @mdev, oldest first, with the owning
 * mm's mmap lock held for read and the VMA known to be in that mm.
 * Return: 0, -EINTR on a fatal signal, or the first error of @v->fn.
 */
static int mmapper_visit_mappings(struct mmapper_dev *mdev,
				  const struct mmapper_mapping_visitor *v)
{
	u64 next = 0;

	for (;;) {
		struct vm_area_struct *vma = NULL;
		struct mm_struct *mm = NULL;
		struct mmapper_mapping *m;
		unsigned long start = 0;
		u64 id = 0;
		int ret = 0;

		/*
		 * The list is in id order; a listed VMA and its mm are alive.
		 * A user reference, not only the mm_struct's: exit_mmap() tears
		 * VMAs and page tables down without the mmap lock before 6.1,
		 * so an exiting mm is skipped (it is unmapping everything).
		 */
		spin_lock(&mdev->mappings_lock);
		list_for_each_entry(m, &mdev->mappings, node) {
			if (m->id >= next) {
				id = m->id;
				mm = m->vma->vm_mm;
				break;
			}
		}
		if (mm && !mmget_not_zero(mm))
			mm = ERR_PTR(-ESRCH);
		spin_unlock(&mdev->mappings_lock);
		if (!mm)
			return 0;
		next = id + 1;
		if (IS_ERR(mm))
			continue;

		if (mmap_read_lock_killable(mm)) {
			mmput(mm);
			return -EINTR;
		}

		/* Still listed: still allocated, so its start can be read. */
		spin_lock(&mdev->mappings_lock);
		list_for_each_entry(m, &mdev->mappings, node) {
			if (m->id == id) {
				vma = m->vma;
				start = vma->vm_start;
				break;
			}
		}
		spin_unlock(&mdev->mappings_lock);

		/*
		 * Not in the tree any more: an munmap() is tearing it down
		 * (with the lock downgraded); it is no longer mapped.
		 */
		if (vma && vma_lookup(mm, start) == vma)
			ret = v->fn(mdev, vma, v->arg);

		mmap_read_unlock(mm);
		mmput(mm);
		if (ret)
			return ret;
		cond_resched();
	}
}

/* Page-table state of up to MMAPPER_BATCH pages, taken together. */
#define MMAPPER_BATCH	64

struct mmapper_batch {
	unsigned long first;
	unsigned int n;
	unsigned long gen;
	u32 pfnmapped[MMAPPER_BATCH];
	/* BIT() of each memory type of the user entries mapping the page */
	u8 user_types[MMAPPER_BATCH];
};

/*
 * Count the user PFN-map entries of one mapping that point into the
 * batch, and note the memory types of all its entries that do.
 */
static int mmapper_batch_vma(struct mmapper_dev *mdev,
			     struct vm_area_struct *vma, void *arg)
{
	struct mmapper_batch *b = arg;
	unsigned long idx, first, last;
	struct mmapper_buf *buf;

	first = max(b->first, vma->vm_pgoff);
	last = min(b->first + MMAPPER_BATCH, vma->vm_pgoff + vma_pages(vma));

	mutex_lock(&mdev->lock);
	buf = mmapper_dev_buf(mdev);
	if (mdev->gen != b->gen)
		last = first;	/* the caller sees the change and starts over */
	last = min(last, buf->nr_pages);
	for (idx = first; idx < last; idx++) {
		unsigned long addr = vma->vm_start +
				     ((idx - vma->vm_pgoff) << PAGE_SHIFT);
		struct follow_pfnmap_args args = { .vma = vma, .address = addr };
		unsigned long pfn = page_to_pfn(buf->backend->page_at(buf, idx));
		int type = mmapper_user_memtype(vma->vm_mm, addr, pfn);

		if (type >= 0)
			b->user_types[idx - b->first] |= BIT(type);
		if (!(vma->vm_flags & VM_PFNMAP))
			continue;	/* counted by the pages' mapcount */
		if (follow_pfnmap_start(&args))
			continue;	/* nothing mapped there */
		if (args.pfn == pfn)
			b->pfnmapped[idx - b->first]++;
		follow_pfnmap_end(&args);
	}
	mutex_unlock(&mdev->lock);
	return 0;
}

/*
 * Fill @b for the pages from @first and return with the device lock held,
 * @b->n set to the pages of the batch that exist (0 past the end).
 */
static int mmapper_batch_lock(struct mmapper_dev *mdev, struct mmapper_batch *b,
			      unsigned long first)
{
	const struct mmapper_mapping_visitor visitor = {
		.fn = mmapper_batch_vma,
		.arg = b,
	};
	int ret;

	for (;;) {
		memset(b, 0, sizeof(*b));
		b->first = first;
		mutex_lock(&mdev->lock);
		b->gen = mdev->gen;
		mutex_unlock(&mdev->lock);

		ret = mmapper_visit_mappings(mdev, &visitor);
		if (ret)
			return ret;

		mutex_lock(&mdev->lock);
		/*
		 * A buffer replaced meanwhile: the counts may be of the old
		 * one, count again, as often as it takes (a change takes an
		 * allocation and a copy, far longer than a count), until the
		 * reader is killed.
		 */
		if (mdev->gen == b->gen)
			break;
		mutex_unlock(&mdev->lock);
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}

	if (first < mmapper_dev_buf(mdev)->nr_pages)
		b->n = min_t(unsigned long, MMAPPER_BATCH,
			     mmapper_dev_buf(mdev)->nr_pages - first);
	return 0;
}

/* pages: a header, then one line per page, streamed a batch at a time */

struct mmapper_pages_iter {
	struct mmapper_dev *mdev;
	struct mmapper_batch batch;
	unsigned long idx;
	bool locked;
};

static void *mmapper_pages_start(struct seq_file *m, loff_t *pos)
{
	struct mmapper_pages_iter *it = m->private;

	if (*pos == 0)
		return SEQ_START_TOKEN;

	it->idx = *pos - 1;
	if (mmapper_batch_lock(it->mdev, &it->batch, it->idx))
		return ERR_PTR(-EINTR);
	it->locked = true;
	return it->batch.n ? it : NULL;
}

static void *mmapper_pages_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct mmapper_pages_iter *it = m->private;

	++*pos;
	if (v == SEQ_START_TOKEN)
		return mmapper_pages_start(m, pos);
	/* The end of a batch ends this read(); the next starts a batch. */
	if (++it->idx >= it->batch.first + it->batch.n)
		return NULL;
	return it;
}

static void mmapper_pages_stop(struct seq_file *m, void *v)
{
	struct mmapper_pages_iter *it = m->private;

	if (it->locked) {
		it->locked = false;
		mutex_unlock(&it->mdev->lock);
	}
}

/*
 * BIT() of the memory type of each kernel mapping of page @idx of @buf:
 * the direct map's, and that of the vmalloc area where the backend keeps
 * the buffer in one.
 */
static unsigned int mmapper_kernel_types(const struct mmapper_buf *buf,
					 unsigned long idx, struct page *page)
{
	unsigned int types = 0;
	int type;

	type = mmapper_kernel_memtype((unsigned long)page_address(page));
	if (type >= 0)
		types |= BIT(type);
	if (buf->vaddr && is_vmalloc_addr(buf->vaddr)) {
		type = mmapper_kernel_memtype((unsigned long)buf->vaddr +
					      (idx << PAGE_SHIFT));
		if (type >= 0)
			types |= BIT(type);
	}
	return types;
}

/* Memory types by name, joined by '+' if there are several; '-' for none. */
static void mmapper_show_types(struct seq_file *m, unsigned int types, int width)
{
	char text[64] = "-";
	size_t len = 0;
	int type;

	for (type = 0; types >> type; type++)
		if (types & BIT(type))
			len += scnprintf(text + len, sizeof(text) - len, "%s%s",
					 len ? "+" : "", mmapper_memtype_name(type));
	seq_printf(m, " %-*s", width, text);
}

static int mmapper_pages_show(struct seq_file *m, void *v)
{
	struct mmapper_pages_iter *it = m->private;
	struct mmapper_buf *buf;
	struct page *page;
	int mapcount;

	if (v == SEQ_START_TOKEN) {
		seq_printf(m, "%10s %12s %8s %8s %6s %-15s %s\n", "index", "pfn",
			   "refcount", "mapcount", "mapped", "kernel_type",
			   "user_type");
		return 0;
	}

	/* Past the header, start() returned with the device lock held. */
	buf = mmapper_dev_buf(it->mdev);
	page = buf->backend->page_at(buf, it->idx);
	mapcount = mmapper_mapcount(page);
	seq_printf(m, "%10lu %#12lx %8d %8d %6u", it->idx, page_to_pfn(page),
		   page_ref_count(page), mapcount,
		   it->batch.pfnmapped[it->idx - it->batch.first] +
		   max(mapcount, 0));
	mmapper_show_types(m, mmapper_kernel_types(buf, it->idx, page), 15);
	mmapper_show_types(m, it->batch.user_types[it->idx - it->batch.first], 0);
	seq_putc(m, '\n');
	return 0;
}

static const struct seq_operations mmapper_pages_sops = {
	.start	= mmapper_pages_start,
	.next	= mmapper_pages_next,
	.stop	= mmapper_pages_stop,
	.show	= mmapper_pages_show,
};

static int mmapper_pages_open(struct inode *inode, struct file *file)
{
	struct mmapper_pages_iter *it;

	it = __seq_open_private(file, &mmapper_pages_sops, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->mdev = inode->i_private;
	return 0;
}

static const struct file_operations mmapper_pages_fops = {
	.owner		= THIS_MODULE,
	.open		= mmapper_pages_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release_private,
};

/* mappings: one line per live mapping */

/* The process that owns @mm: the first thread found using it. */
static pid_t mmapper_mm_owner(struct mm_struct *mm, char *comm, size_t len)
{
	struct task_struct *g, *t;
	pid_t pid = 0;

	strscpy(comm, "?", len);
	rcu_read_lock();
	for_each_process_thread(g, t) {
		if (READ_ONCE(t->mm) == mm) {
			pid = task_tgid_nr(t);
			task_lock(t);
			strscpy(comm, t->comm, len);
			task_unlock(t);
			goto out;
		}
	}
out:
	rcu_read_unlock();
	return pid;
}

static int mmapper_mappings_show_one(struct mmapper_dev *mdev,
				     struct vm_area_struct *vma, void *arg)
{
	static const struct {
		vm_flags_t flag;
		const char *name;
	} names[] = {
		{ VM_PFNMAP, "pfnmap" },
		{ VM_MIXEDMAP, "mixedmap" },
		{ VM_IO, "io" },
		{ VM_DONTEXPAND, "dontexpand" },
		{ VM_DONTDUMP, "dontdump" },
		{ VM_HUGEPAGE, "hugepage" },
		{ VM_LOCKED, "locked" },
	};
	vm_flags_t flags = vma->vm_flags;
	char comm[TASK_COMM_LEN];
	struct seq_file *m = arg;
	const char *sep = " ";
	unsigned int i;
	pid_t pid;

	pid = mmapper_mm_owner(vma->vm_mm, comm, sizeof(comm));
	seq_printf(m, "%7d %-16s %016lx-%016lx %10lu %c%c%c%c", pid, comm,
		   vma->vm_start, vma->vm_end, vma->vm_pgoff,
		   flags & VM_READ ? 'r' : '-', flags & VM_WRITE ? 'w' : '-',
		   flags & VM_EXEC ? 'x' : '-', flags & VM_MAYSHARE ? 's' : 'p');
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (flags & names[i].flag) {
			seq_printf(m, "%s%s", sep, names[i].name);
			sep = ",";
		}
	}
	seq_putc(m, '\n');
	return 0;
}

static int mmapper_mappings_show(struct seq_file *m, void *v)
{
	const struct mmapper_mapping_visitor visitor = {
		.fn = mmapper_mappings_show_one,
		.arg = m,
	};
	struct mmapper_dev *mdev = m->private;
	unsigned int untracked;
	int ret;

	seq_printf(m, "%7s %-16s %-33s %10s %s\n", "pid", "comm", "start-end",
		   "pgoff", "flags");
	ret = mmapper_visit_mappings(mdev, &visitor);

	spin_lock(&mdev->mappings_lock);
	untracked = mdev->untracked;
	spin_unlock(&mdev->mappings_lock);
	if (untracked)
		seq_printf(m, "# %u more, not listed: out of memory when they were made\n",
			   untracked);
	return ret;
}
DEFINE_SHOW_ATTRIBUTE(mmapper_mappings);

/* exports: each live DMA-BUF export (dmabuf.c), then their mappings */

static int mmapper_export_mapping_show_one(struct mmapper_dev *mdev,
					   struct vm_area_struct *vma, void *arg)
{
	u64 id = mmapper_dmabuf_vma_id(vma);

	if (!id)
		return 0;	/* a mapping of the device itself */
	seq_printf(arg, "%5llu ", id);
	return mmapper_mappings_show_one(mdev, vma, arg);
}

static int mmapper_exports_show(struct seq_file *m, void *v)
{
	const struct mmapper_mapping_visitor visitor = {
		.fn = mmapper_export_mapping_show_one,
		.arg = m,
	};
	struct mmapper_dev *mdev = m->private;

	mmapper_dmabuf_show(m, mdev);
	seq_printf(m, "mappings:\n%5s %7s %-16s %-33s %10s %s\n", "id", "pid",
		   "comm", "start-end", "pgoff", "flags");
	return mmapper_visit_mappings(mdev, &visitor);
}
DEFINE_SHOW_ATTRIBUTE(mmapper_exports);

/* summary: the device at a glance */

static int mmapper_summary_show(struct seq_file *m, void *v)
{
	struct mmapper_dev *mdev = m->private;
	unsigned long first = 0, mapped = 0;
	const char *backend = "?", *cache = "?";
	struct mmapper_batch *b;
	size_t size = 0;
	unsigned int i;
	int ret = 0;

	b = kmalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;

	/* Page by page, a batch at a time: no memory in proportion to size. */
	do {
		ret = mmapper_batch_lock(mdev, b, first);
		if (ret)
			break;
		for (i = 0; i < b->n; i++) {
			const struct mmapper_buf *buf = mmapper_dev_buf(mdev);
			struct page *page = buf->backend->page_at(buf, first + i);

			if (b->pfnmapped[i] || mmapper_mapcount(page) > 0)
				mapped++;
		}
		backend = mmapper_dev_buf(mdev)->backend->name;
		cache = mmapper_cache_name(mmapper_dev_buf(mdev)->cache);
		size = mmapper_dev_buf(mdev)->size;
		mutex_unlock(&mdev->lock);
		first += b->n;
		cond_resched();
	} while (b->n);
	kfree(b);
	if (ret)
		return ret;

	seq_printf(m, "backend: %s\n", backend);
	seq_printf(m, "cache: %s\n", cache);
	seq_printf(m, "size: %zu\n", size);
	seq_printf(m, "pages: %zu\n", size >> PAGE_SHIFT);
	seq_printf(m, "pages_mapped: %lu\n", mapped);
	for (i = 0; i < MMAPPER_NR_STATS; i++)
		seq_printf(m, "%s: %llu\n", mmapper_stat_descs[i].name,
			   mmapper_stat_read(mdev, i));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mmapper_summary);

/*
 * memtype: the memory type of any RAM page in the direct map, by pfn.
 * PAT does not list RAM (pat_memtype_list is for the rest): this shows
 * that a page a buffer gave back is write-back again.  Write a pfn, read
 * "pfn type" (echo PFN > memtype; cat memtype): one pfn for all who use
 * the file, as befits a debugging aid for root.
 */
static atomic_long_t mmapper_memtype_pfn;	/* pfn + 1; 0: none yet */

static ssize_t mmapper_memtype_write(struct file *file, const char __user *ubuf,
				     size_t count, loff_t *ppos)
{
	unsigned long pfn;
	int ret;

	ret = kstrtoul_from_user(ubuf, count, 0, &pfn);
	if (ret)
		return ret;
	if (!pfn_valid(pfn) || pfn + 1 == 0)
		return -EINVAL;
	atomic_long_set(&mmapper_memtype_pfn, pfn + 1);
	return count;
}

static ssize_t mmapper_memtype_read(struct file *file, char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	unsigned long pfn = atomic_long_read(&mmapper_memtype_pfn);
	char text[64];
	int len;

	if (!pfn--)
		return -ENODATA;
	len = scnprintf(text, sizeof(text), "%#lx %s\n", pfn,
			mmapper_memtype_name(mmapper_kernel_memtype((unsigned long)
				page_address(pfn_to_page(pfn)))));
	return simple_read_from_buffer(ubuf, count, ppos, text, len);
}

static const struct file_operations mmapper_memtype_fops = {
	.owner		= THIS_MODULE,
	.open		= simple_open,
	.read		= mmapper_memtype_read,
	.write		= mmapper_memtype_write,
	.llseek		= default_llseek,
};

void mmapper_debugfs_init(void)
{
	mmapper_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("memtype", 0600, mmapper_debugfs_root, NULL,
			    &mmapper_memtype_fops);
}

void mmapper_debugfs_exit(void)
{
	debugfs_remove(mmapper_debugfs_root);
}

/*
 * The files reach the device through their inode's i_private.  A removal
 * calls mmapper_debugfs_remove() first, which waits for every read in
 * progress; a file left open after it reads nothing (EIO), and the device
 * is freed only later, with its last reference.
 */
void mmapper_debugfs_add(struct mmapper_dev *mdev)
{
	struct dentry *dir;

	dir = debugfs_create_dir(dev_name(&mdev->dev), mmapper_debugfs_root);
	debugfs_create_file("pages", 0400, dir, mdev, &mmapper_pages_fops);
	debugfs_create_file("mappings", 0400, dir, mdev, &mmapper_mappings_fops);
	debugfs_create_file("summary", 0400, dir, mdev, &mmapper_summary_fops);
	debugfs_create_file("exports", 0400, dir, mdev, &mmapper_exports_fops);
	mdev->debugfs = dir;
}

void mmapper_debugfs_remove(struct mmapper_dev *mdev)
{
	debugfs_remove(mdev->debugfs);
}
