// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper file operations: the copy path, mmap() and the ioctls.
 *
 * The device lock is never held while user memory is touched: mmap() runs
 * under the mmap lock and takes the device lock, so a copy_to_user() under
 * the device lock could deadlock against it.  read() and write() hold a
 * reference to the buffer instead, and no lock at all.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/splice.h>
#include <linux/uio.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mmapper.h"
#include "trace.h"

/*
 * The char-device layer holds a reference to the device (through its cdev)
 * from before ->open until the file is released, so @mdev is never freed
 * under an opener; one that comes once a removal has begun gets ENODEV,
 * and a removal that comes once an open has counted itself gets EBUSY
 * (mmapper_dev_busy()).
 */
static int mmapper_open(struct inode *inode, struct file *file)
{
	struct mmapper_dev *mdev = container_of(inode->i_cdev, struct mmapper_dev, cdev);
	bool removed;

	spin_lock(&mdev->open_lock);
	removed = mdev->removed;
	if (!removed)
		mdev->nr_open++;
	spin_unlock(&mdev->open_lock);
	if (removed)
		return -ENODEV;

	file->private_data = mdev;
	/*
	 * Under IOCB_NOWAIT nothing waits: a write() that would wait for a
	 * change in progress says EAGAIN (the last put of a buffer replaced
	 * meanwhile may still free it in the caller's context).
	 */
	file->f_mode |= FMODE_NOWAIT;
	mmapper_count(mdev, opens, 1);
	return 0;
}

static int mmapper_release(struct inode *inode, struct file *file)
{
	struct mmapper_dev *mdev = file->private_data;

	spin_lock(&mdev->open_lock);
	mdev->nr_open--;
	spin_unlock(&mdev->open_lock);
	return 0;
}

static loff_t mmapper_llseek(struct file *file, loff_t offset, int whence)
{
	struct mmapper_dev *mdev = file->private_data;
	loff_t size;

	mutex_lock(&mdev->lock);
	size = mmapper_dev_buf(mdev)->size;
	mutex_unlock(&mdev->lock);

	return fixed_size_llseek(file, offset, whence, size);
}

static void mmapper_copy_from_buf(void *kaddr, size_t n, void *arg)
{
	memcpy(arg, kaddr, n);
}

static void mmapper_copy_to_buf(void *kaddr, size_t n, void *arg)
{
	memcpy(kaddr, arg, n);
}

/* The piece of @buf at @pos that one copy may take: the rest of its page. */
static size_t mmapper_piece(const struct mmapper_buf *buf, loff_t pos,
			    size_t count)
{
	return min3((u64)count, (u64)(PAGE_SIZE - offset_in_page(pos)),
		    (u64)(buf->size - pos));
}

/*
 * read() and write() copy straight between user memory and the buffer's
 * pages, holding a reference to the buffer and no lock: a change (resize,
 * switch) that runs meanwhile publishes a new buffer and the old one goes
 * with the last reference.  A read sees, page by page, the old contents or
 * the new; a write is never lost (mmapper_dev_prepare()).
 */
static ssize_t mmapper_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct mmapper_dev *mdev = iocb->ki_filp->private_data;
	struct mmapper_buf *buf;
	loff_t pos = iocb->ki_pos;
	ssize_t done = 0;
	int ret = 0;

	if (pos < 0)
		return -EINVAL;
	buf = mmapper_buf_get(mdev);
	while (iov_iter_count(to) && pos < buf->size) {
		size_t n = mmapper_piece(buf, pos, iov_iter_count(to));
		struct page *page = buf->backend->page_at(buf, pos >> PAGE_SHIFT);
		void *kaddr = kmap_local_page(page);
		size_t copied;

		copied = copy_to_iter(kaddr + offset_in_page(pos), n, to);
		kunmap_local(kaddr);
		done += copied;
		pos += copied;
		if (copied < n) {
			ret = -EFAULT;
			break;
		}
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	mmapper_buf_put(buf);

	iocb->ki_pos = pos;
	mmapper_count(mdev, bytes_read, done);
	return done ? done : ret;
}

static ssize_t mmapper_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct mmapper_dev *mdev = iocb->ki_filp->private_data;
	struct mmapper_buf *buf;
	loff_t pos = iocb->ki_pos;
	ssize_t done = 0;
	int ret = 0;

	if (pos < 0)
		return -EINVAL;
	buf = mmapper_buf_get(mdev);
	while (iov_iter_count(from)) {
		size_t n, copied;
		struct page *page;
		void *kaddr;

		if (pos >= buf->size) {
			/* A fixed-size file: no room past the end. */
			ret = -ENOSPC;
			break;
		}
		n = mmapper_piece(buf, pos, iov_iter_count(from));
		page = buf->backend->page_at(buf, pos >> PAGE_SHIFT);
		kaddr = kmap_local_page(page);
		copied = copy_from_iter(kaddr + offset_in_page(pos), n, from);
		kunmap_local(kaddr);

		smp_mb();	/* the bytes, then @retiring: mmapper_dev_prepare() */
		if (unlikely(READ_ONCE(buf->retiring))) {
			/* A change may have copied this page before the bytes came. */
			if (iocb->ki_flags & IOCB_NOWAIT) {
				iov_iter_revert(from, copied);
				ret = -EAGAIN;
				break;
			}
			iov_iter_revert(from, copied);
			buf = mmapper_buf_next(mdev, buf);
			if (IS_ERR(buf)) {
				ret = PTR_ERR(buf);	/* killed: the caller never sees it */
				break;
			}
			continue;
		}
		done += copied;
		pos += copied;
		if (copied < n) {
			ret = -EFAULT;
			break;
		}
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	if (!IS_ERR(buf))
		mmapper_buf_put(buf);

	iocb->ki_pos = pos;
	mmapper_count(mdev, bytes_written, done);
	return done ? done : ret;
}

/*
 * vm_ops: count the VMAs, so that the buffer is never changed under one,
 * and keep a record of each for debugfs, reachable from the VMA itself
 * (vm_private_data), so that ->close searches nothing.  ->open runs for
 * every VMA made from an existing one (fork, split, mremap), which comes
 * with a copy of the old VMA's vm_private_data: it gets a record of its
 * own.  ->close runs for every VMA that goes, always before it is freed.
 */

/* List @m, the record of @vma, or count @vma as untracked if @m is NULL. */
static void mmapper_track(struct mmapper_dev *mdev, struct vm_area_struct *vma,
			  struct mmapper_mapping *m)
{
	spin_lock(&mdev->mappings_lock);
	if (m) {
		m->vma = vma;
		m->mdev = mdev;
		m->id = mdev->next_id++;
		list_add_tail(&m->node, &mdev->mappings);
	} else {
		/* ->open cannot fail: the VMA lives on, unlisted. */
		mdev->untracked++;
		m = &mdev->no_record;
	}
	spin_unlock(&mdev->mappings_lock);
	vma->vm_private_data = m;
}

static void mmapper_untrack(struct vm_area_struct *vma)
{
	struct mmapper_mapping *m = vma->vm_private_data;
	struct mmapper_dev *mdev = m->mdev;

	spin_lock(&mdev->mappings_lock);
	if (m == &mdev->no_record) {
		if (!WARN_ON_ONCE(!mdev->untracked))
			mdev->untracked--;
		m = NULL;
	} else {
		list_del(&m->node);
	}
	spin_unlock(&mdev->mappings_lock);
	kfree(m);
}

static void mmapper_vm_open(struct vm_area_struct *vma)
{
	struct mmapper_dev *mdev = mmapper_vma_dev(vma);

	atomic_inc(&mdev->nr_mappings);
	mmapper_track(mdev, vma, kmalloc(sizeof(struct mmapper_mapping),
					 GFP_KERNEL_ACCOUNT));
}

static void mmapper_vm_close(struct vm_area_struct *vma)
{
	struct mmapper_dev *mdev = mmapper_vma_dev(vma);

	mmapper_untrack(vma);
	atomic_dec(&mdev->nr_mappings);
}

/* The task running MMAPPER_IOC_PUT_USER on @mdev counts its own faults. */
/* A fault answered: for the put_user() experiment, if its task took it. */
static void mmapper_experiment_fault(struct mmapper_dev *mdev)
{
	if (READ_ONCE(mdev->experiment_task) == current)
		mdev->experiment_faults++;
}

/*
 * A backend that maps struct pages at mmap() time has no ->fault, but the
 * kernel zaps such mappings on request (MADV_DONTNEED, which also drops a
 * private mapping's copies): map the buffer's page again.  Nothing zaps a
 * VM_PFNMAP mapping (MADV_DONTNEED refuses it): a fault there finds no
 * page to give.
 *
 * A mapping filled at mmap() (VM_MIXEDMAP) is filled again the same way,
 * by inserting the page: given the page, the core would map all of its
 * folio with one 2 MiB entry where a PMD-sized one lines up (finish_fault()
 * -> do_set_pmd(), for a DMA-BUF's mapping, whose inode has a size), which
 * a mixed map cannot unmap in part without leaking it.  A write to a
 * private mapping gets the page: the core copies it, 4 KiB.  Elsewhere
 * (a "pages" mapping filled at the first touch) the page goes to the core
 * as a file's page would.
 */
static vm_fault_t mmapper_refault(struct mmapper_buf *buf, struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct page *page;

	if ((vma->vm_flags & VM_PFNMAP) || vmf->pgoff >= buf->nr_pages)
		return VM_FAULT_SIGBUS;
	page = buf->backend->page_at(buf, vmf->pgoff);
	if ((vma->vm_flags & VM_MIXEDMAP) &&
	    !((vmf->flags & FAULT_FLAG_WRITE) && !(vma->vm_flags & VM_SHARED)))
		return vmf_insert_page(vma, vmf->address, page);
	get_page(page);
	vmf->page = page;
	return 0;
}

static vm_fault_t mmapper_vm_fault(struct vm_fault *vmf)
{
	struct mmapper_dev *mdev = mmapper_vma_dev(vmf->vma);
	/* Stable without the lock: a mapped buffer is never replaced. */
	struct mmapper_buf *buf = mmapper_mapped_buf(mdev);
	vm_fault_t ret;

	if (buf->backend->fault)
		ret = buf->backend->fault(buf, vmf);
	else
		ret = mmapper_refault(buf, vmf);
	if (!(ret & VM_FAULT_ERROR)) {
		mmapper_count(mdev, faults, 1);
		mmapper_experiment_fault(mdev);
	}
	trace_mmapper_fault(mdev->index, vmf->address, vmf->pgoff, 0,
			    (__force unsigned int)ret);
	return ret;
}

#ifdef MMAPPER_HAVE_HUGE_FAULT
static vm_fault_t mmapper_vm_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	struct mmapper_dev *mdev = mmapper_vma_dev(vmf->vma);
	struct mmapper_buf *buf = mmapper_mapped_buf(mdev);
	vm_fault_t ret;

	if (order != PMD_ORDER)
		return VM_FAULT_FALLBACK;
	ret = buf->backend->huge_fault(buf, vmf);
	if (ret == VM_FAULT_NOPAGE) {
		mmapper_count(mdev, huge_faults, 1);
		mmapper_experiment_fault(mdev);
	}
	trace_mmapper_fault(mdev->index, vmf->address, vmf->pgoff, order,
			    (__force unsigned int)ret);
	return ret;
}
#endif

/*
 * ptrace, /proc/PID/mem and gdb reach a mapping through get_user_pages(),
 * which refuses VM_PFNMAP mappings; the core then asks ->access, which
 * copies through the kernel's own view of the buffer.  That view is the
 * mapping's only where it has no struct pages: a mapping of struct pages
 * comes here only when get_user_pages() itself failed (a fatal signal
 * pending, no memory for a copy-on-write copy), and its private copies are
 * not in the buffer, so it gets nothing.  A write lands in the buffer, so it must come through
 * a shared mapping that may be written now (VM_SHARED: of a descriptor
 * open for writing; VM_WRITE: PROT_WRITE), as get_user_pages() refuses a
 * forced write to a shared mapping without PROT_WRITE.  (A VM_PFNMAP
 * mapping is never private: mmap() refuses that.)
 */
static int mmapper_vm_access(struct vm_area_struct *vma, unsigned long addr,
			     void *data, int len, int write)
{
	struct mmapper_dev *mdev = mmapper_vma_dev(vma);
	struct mmapper_buf *buf = mmapper_mapped_buf(mdev);
	u64 off = ((u64)vma->vm_pgoff << PAGE_SHIFT) + (addr - vma->vm_start);

	if (!(vma->vm_flags & VM_PFNMAP))
		return -EFAULT;
	if (write && (vma->vm_flags & (VM_SHARED | VM_WRITE)) != (VM_SHARED | VM_WRITE))
		return -EFAULT;
	if (len <= 0 || off >= buf->size)
		return 0;
	/* One page at most: the core calls again for the rest. */
	len = min_t(u64, len, min_t(u64, PAGE_SIZE - offset_in_page(off),
				    buf->size - off));
	mmapper_buf_walk(buf, off, len, write ? mmapper_copy_to_buf :
			 mmapper_copy_from_buf, data);
	return len;
}

static const struct vm_operations_struct mmapper_vm_ops = {
	.open	= mmapper_vm_open,
	.close	= mmapper_vm_close,
	.fault	= mmapper_vm_fault,
	.access	= mmapper_vm_access,
};

/*
 * For backends that map 2 MiB at once where the kernel lets them: 6.12
 * (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP) lets ->huge_fault run on VM_PFNMAP
 * VMAs and marks such PMDs special; 6.15 maps a driver's PMD-sized folio
 * (vmf_insert_folio_pmd()).  A backend has ->huge_fault only there.
 */
static const struct vm_operations_struct mmapper_vm_ops_huge = {
	.open		= mmapper_vm_open,
	.close		= mmapper_vm_close,
	.fault		= mmapper_vm_fault,
#ifdef MMAPPER_HAVE_HUGE_FAULT
	.huge_fault	= mmapper_vm_huge_fault,
#endif
	.access		= mmapper_vm_access,
};

/*
 * The mapping gets the buffer's memory type, which its kernel mappings
 * have already (cache.c): the backends map with vma->vm_page_prot, and
 * the core keeps its cache bits through mprotect().
 *
 * Refused, with -EINVAL:
 *  - MAP_PRIVATE of a buffer that is not cached: the copy-on-write copies
 *    are ordinary write-back pages, which the mapping would map with
 *    another type;
 *  - O_SYNC (O_DSYNC), the /dev/mem habit of asking for an uncached
 *    mapping, on a device that is not uncached: honoured only where it
 *    is what the device is, never by giving the pages a second type.
 *    One line in the log says where the mode is set.
 */
static int mmapper_mmap_cache(struct mmapper_dev *mdev, struct mmapper_buf *buf,
			      struct vm_area_struct *vma)
{
	if (buf->cache != MMAPPER_CACHE_CACHED && !(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if ((vma->vm_file->f_flags & O_DSYNC) && buf->cache != MMAPPER_CACHE_UNCACHED) {
		dev_warn_ratelimited(&mdev->dev,
				     "O_SYNC mapping refused: the buffer is %s; for an uncached mapping write uncached to /sys/class/mmapper/%s/cache while it is not mapped\n",
				     mmapper_cache_name(buf->cache), dev_name(&mdev->dev));
		return -EINVAL;
	}
	vma->vm_page_prot = mmapper_cache_pgprot(vma->vm_page_prot, buf->cache);
	return 0;
}

/**
 * mmapper_mmap_vma() - map a device's buffer into a new VMA
 * @mdev: the device
 * @vma: the VMA; @vma->vm_pgoff counts pages from the start of the buffer
 *	(an export's mmap() has already added the export's offset)
 *
 * Every mapping of the buffer comes here, of the device and of its
 * DMA-BUF exports alike: one set of checks, one set of vm_ops (fork,
 * ptrace, /proc/PID/mem, MAP_PRIVATE), one count that keeps the buffer
 * from being replaced.
 *
 * Context: the mmap lock held; takes the device lock.
 * Return: 0, -EINVAL outside the buffer or for a MAP_PRIVATE mapping the
 * backend refuses, -ENOMEM, or the backend's error.
 */
int mmapper_mmap_vma(struct mmapper_dev *mdev, struct vm_area_struct *vma)
{
	struct mmapper_mapping *m;
	struct mmapper_buf *buf;
	int ret;

	/* Unlike ->open, mmap() can fail: no VMA without its record. */
	m = kmalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	m->mdev = mdev;

	mutex_lock(&mdev->lock);
	buf = mmapper_dev_buf(mdev);

	ret = -EINVAL;
	if (vma->vm_pgoff >= buf->nr_pages ||
	    vma_pages(vma) > buf->nr_pages - vma->vm_pgoff)
		goto out_unlock;
	if (!(vma->vm_flags & VM_MAYSHARE) && !buf->backend->private_cow)
		goto out_unlock;
	ret = mmapper_mmap_cache(mdev, buf, vma);
	if (ret)
		goto out_unlock;

	/*
	 * The buffer has a fixed size: mremap() must not grow a mapping.  It
	 * is the driver's memory, not the process's: never in a core dump.
	 */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = buf->backend->huge_fault ? &mmapper_vm_ops_huge : &mmapper_vm_ops;
	vma->vm_private_data = m;

	ret = buf->backend->mmap(buf, vma);
	if (!ret) {
		atomic_inc(&mdev->nr_mappings);
		mmapper_count(mdev, mmaps, 1);
		mmapper_track(mdev, vma, m);
		m = NULL;
	} else {
		/*
		 * A backend that failed part-way (vmalloc's remap_pfn_range() of
		 * a later page, out of page tables) leaves the pages before it
		 * mapped until the core unmaps the region, after the device lock
		 * is dropped.  Nothing counts this mapping, so a change could
		 * free the buffer in between while another thread of the process
		 * still reaches it through those entries: take them down first.
		 * (Entries of struct pages hold their pages; this does nothing
		 * to them.)
		 */
		if (vma->vm_flags & VM_PFNMAP)
			zap_special_vma_range(vma, vma->vm_start, vma->vm_end - vma->vm_start);
	}

out_unlock:
	trace_mmapper_mmap(mdev->index, buf->backend->name, vma->vm_start,
			   vma->vm_end, vma->vm_pgoff,
			   vma->vm_flags & VM_MAYSHARE, ret);
	mutex_unlock(&mdev->lock);
	kfree(m);
	return ret;
}

static int mmapper_mmap(struct file *file, struct vm_area_struct *vma)
{
	return mmapper_mmap_vma(file->private_data, vma);
}

/* ioctls */

/* The largest struct size accepted from user space. */
#define MMAPPER_IOC_MAX_USIZE	PAGE_SIZE

/**
 * mmapper_copy_struct_in() - copy an ioctl's extensible struct in
 * @kst: the kernel's struct
 * @ksize: its size
 * @ver0: the first published size (*_SIZE_VER0)
 * @uarg: the caller's struct, whose first u32 is its size
 * @usize: that size, on success
 *
 * Check @size against the first published size, then let
 * copy_struct_from_user() zero-fill a short struct and refuse a long one
 * whose tail is not zero.
 *
 * Return: 0, -EFAULT, -EINVAL below @ver0, -E2BIG above a page or for a
 * non-zero tail.
 */
int mmapper_copy_struct_in(void *kst, size_t ksize, size_t ver0,
			   void __user *uarg, u32 *usize)
{
	u32 size;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < ver0)
		return -EINVAL;
	if (size > MMAPPER_IOC_MAX_USIZE)
		return -E2BIG;
	*usize = size;
	return copy_struct_from_user(kst, ksize, uarg, size);
}

/**
 * mmapper_copy_struct_out() - copy an ioctl's extensible struct out
 * @uarg: the caller's struct
 * @kst: the kernel's struct, whose first u32 is set to the bytes copied
 * @ksize: its size
 * @usize: the caller's size, from mmapper_copy_struct_in()
 *
 * As much of it as both sides know.
 *
 * Return: 0 or -EFAULT.
 */
int mmapper_copy_struct_out(void __user *uarg, void *kst, size_t ksize,
			    u32 usize)
{
	u32 n = min_t(u32, usize, ksize);

	*(u32 *)kst = n;
	return copy_to_user(uarg, kst, n) ? -EFAULT : 0;
}

static long mmapper_ioctl_get_info(struct mmapper_dev *mdev, void __user *uarg)
{
	struct mmapper_info info = {};
	u32 usize, flags;

	/* Only the header is input: the rest is for the kernel to fill in. */
	if (get_user(usize, (u32 __user *)uarg) ||
	    get_user(flags, (u32 __user *)uarg + 1))
		return -EFAULT;
	if (usize < MMAPPER_INFO_SIZE_VER0 || flags)
		return -EINVAL;

	mutex_lock(&mdev->lock);
	info.buf_size = mmapper_dev_buf(mdev)->size;
	strscpy(info.backend, mmapper_dev_buf(mdev)->backend->name, sizeof(info.backend));
	info.cache = mmapper_dev_buf(mdev)->cache;
	mutex_unlock(&mdev->lock);
	info.caches = mmapper_caches();

	info.page_size = PAGE_SIZE;
	info.nr_mappings = atomic_read(&mdev->nr_mappings);
	info.version = (MMAPPER_VERSION_MAJOR << 16) | MMAPPER_VERSION_MINOR;
	if (mmapper_huge_pmd_possible())
		info.caps |= MMAPPER_CAP_HUGE_PMD;
	if (mmapper_pages_pmd_possible())
		info.caps |= MMAPPER_CAP_PAGES_PMD;

	return mmapper_copy_struct_out(uarg, &info, sizeof(info), usize);
}

static long mmapper_ioctl_set_size(struct mmapper_dev *mdev, void __user *uarg)
{
	struct mmapper_set_size arg;
	u32 usize;
	int ret;

	ret = mmapper_copy_struct_in(&arg, sizeof(arg), MMAPPER_SET_SIZE_SIZE_VER0,
				     uarg, &usize);
	if (ret)
		return ret;
	if (arg.flags)
		return -EINVAL;

	return mmapper_dev_set_size(mdev, arg.buf_size);
}

static long mmapper_ioctl_set_backend(struct mmapper_dev *mdev, void __user *uarg)
{
	const struct mmapper_backend *backend;
	struct mmapper_set_backend arg;
	u32 usize;
	int ret;

	ret = mmapper_copy_struct_in(&arg, sizeof(arg),
				     MMAPPER_SET_BACKEND_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (arg.flags || !memchr(arg.backend, '\0', sizeof(arg.backend)))
		return -EINVAL;

	backend = mmapper_backend_find(arg.backend);
	if (!backend)
		return -EINVAL;

	return mmapper_dev_set_backend(mdev, backend);
}

static long mmapper_ioctl_set_cache(struct mmapper_dev *mdev, void __user *uarg)
{
	struct mmapper_set_cache arg;
	u32 usize;
	int ret;

	ret = mmapper_copy_struct_in(&arg, sizeof(arg), MMAPPER_SET_CACHE_SIZE_VER0,
				     uarg, &usize);
	if (ret)
		return ret;
	if (arg.flags || arg.reserved || arg.cache >= MMAPPER_NR_CACHES)
		return -EINVAL;

	return mmapper_dev_set_cache(mdev, arg.cache);
}

static void mmapper_fill_fn(void *kaddr, size_t n, void *arg)
{
	memset(kaddr, *(u8 *)arg, n);
}

/* 32-bit FNV-1a, continued over each piece of the range */
static void mmapper_fnv1a_fn(void *kaddr, size_t n, void *arg)
{
	const u8 *p = kaddr;
	u32 *hash = arg;
	size_t i;

	for (i = 0; i < n; i++)
		*hash = (*hash ^ p[i]) * 16777619u;
}

/*
 * FILL and CHECKSUM take the device lock for one piece this long at a time,
 * and look for a fatal signal before each.
 */
#define MMAPPER_RANGE_CHUNK	SZ_1M

static long mmapper_ioctl_range(struct mmapper_dev *mdev, void __user *uarg,
				bool fill)
{
	void (*fn)(void *kaddr, size_t n, void *arg);
	struct mmapper_range arg;
	u32 usize, hash = 2166136261u;
	unsigned long gen = 0;
	u64 pos, left;
	void *fn_arg;
	u8 pattern;
	int ret;

	ret = mmapper_copy_struct_in(&arg, sizeof(arg), MMAPPER_RANGE_SIZE_VER0,
				     uarg, &usize);
	if (ret)
		return ret;
	/* checksum is output only: zero on input, so that it can grow a use. */
	if (arg.flags || arg.reserved || arg.checksum || arg.pattern > 0xff)
		return -EINVAL;
	pattern = arg.pattern;
	fn = fill ? mmapper_fill_fn : mmapper_fnv1a_fn;
	fn_arg = fill ? (void *)&pattern : (void *)&hash;

	/*
	 * One piece at a time under the device lock, so that whoever waits
	 * for it waits for one piece, not the walk: a change, mmap(), and a
	 * killed caller, which stops (-EINTR; a fill then has stored part of
	 * the range, which only the dying caller asked for).  A killed waiter
	 * needs that on PREEMPT_RT: there an rt_mutex waiter spins, blind to
	 * signals, while the owner runs (rtmutex_spin_on_owner()).  A change
	 * that comes between two pieces ends the walk (-EAGAIN): the walk
	 * never goes on in another buffer than the one it started in.
	 */
	pos = arg.offset;
	left = arg.length;
	do {
		const struct mmapper_buf *buf;
		u64 n = min_t(u64, left, MMAPPER_RANGE_CHUNK);

		if (mutex_lock_killable(&mdev->lock))
			return -EINTR;
		buf = mmapper_dev_buf(mdev);
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
		} else if (pos == arg.offset) {
			gen = mdev->gen;
			if (arg.offset > buf->size ||
			    arg.length > buf->size - arg.offset)
				ret = -EINVAL;
		} else if (mdev->gen != gen) {
			ret = -EAGAIN;
		}
		if (!ret) {
			mmapper_buf_walk(buf, pos, n, fn, fn_arg);
			pos += n;
			left -= n;
		}
		mutex_unlock(&mdev->lock);
		cond_resched();
	} while (!ret && left);

	if (ret || fill)
		return ret;
	arg.checksum = hash;
	return mmapper_copy_struct_out(uarg, &arg, sizeof(arg), usize);
}

static long mmapper_ioctl_get_stats(struct mmapper_dev *mdev, void __user *uarg)
{
	struct mmapper_stats st = {};
	__u64 v[MMAPPER_NR_STATS];
	u32 usize, flags;
	unsigned int i;

	if (get_user(usize, (u32 __user *)uarg) ||
	    get_user(flags, (u32 __user *)uarg + 1))
		return -EFAULT;
	if (usize < MMAPPER_STATS_SIZE_VER0 || flags)
		return -EINVAL;

	for (i = 0; i < MMAPPER_NR_STATS; i++)
		v[i] = mmapper_stat_read(mdev, i);
	BUILD_BUG_ON(MMAPPER_STATS_FIRST + sizeof(v) != sizeof(st));
	memcpy((void *)&st + MMAPPER_STATS_FIRST, v, sizeof(v));

	return mmapper_copy_struct_out(uarg, &st, sizeof(st), usize);
}

/*
 * The founding experiment: the kernel stores to a user address of the
 * caller, typically inside the caller's fresh mapping of this very device,
 * where nothing is mapped yet.  put_user() takes the page fault, the core
 * calls our ->fault (or ->huge_fault) in this task's context, and the
 * store completes.  Report what happened, and which faults this device's
 * handlers answered for this task meanwhile.
 */
static long mmapper_ioctl_put_user(struct mmapper_dev *mdev, void __user *uarg)
{
	struct mmapper_put_user arg;
	u64 __user *target;
	u32 usize;
	int ret;

	ret = mmapper_copy_struct_in(&arg, sizeof(arg),
				     MMAPPER_PUT_USER_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (arg.flags || arg.result || arg.faults || arg.readback)
		return -EINVAL;
	target = u64_to_user_ptr(arg.addr);

	/* One experiment per device at a time: the fault count is exact. */
	ret = mutex_lock_killable(&mdev->experiment_lock);
	if (ret)
		return ret;
	mdev->experiment_faults = 0;
	WRITE_ONCE(mdev->experiment_task, current);

	/* No lock held: the fault handlers must be free to run. */
	arg.result = put_user(arg.value, target);
	if (!arg.result)
		arg.result = get_user(arg.readback, target);

	WRITE_ONCE(mdev->experiment_task, NULL);
	arg.faults = mdev->experiment_faults;
	mutex_unlock(&mdev->experiment_lock);

	return mmapper_copy_struct_out(uarg, &arg, sizeof(arg), usize);
}

/* Dispatch on type, number and direction: the size bits may vary. */
#define MMAPPER_IOC_BASE(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

static long mmapper_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mmapper_dev *mdev = file->private_data;
	void __user *uarg = (void __user *)arg;
	bool writer = file->f_mode & FMODE_WRITE;

	switch (MMAPPER_IOC_BASE(cmd)) {
	case MMAPPER_IOC_BASE(MMAPPER_IOC_GET_INFO):
		return mmapper_ioctl_get_info(mdev, uarg);
	case MMAPPER_IOC_BASE(MMAPPER_IOC_CHECKSUM):
		return mmapper_ioctl_range(mdev, uarg, false);
	case MMAPPER_IOC_BASE(MMAPPER_IOC_GET_STATS):
		return mmapper_ioctl_get_stats(mdev, uarg);
	case MMAPPER_IOC_BASE(MMAPPER_IOC_PUT_USER):
		return mmapper_ioctl_put_user(mdev, uarg);
	case MMAPPER_IOC_BASE(MMAPPER_IOC_EXPORT_DMABUF):
		/* The access it asks for decides what the descriptor needs. */
		return mmapper_ioctl_export_dmabuf(mdev, file, uarg);
	case MMAPPER_IOC_BASE(MMAPPER_IOC_SET_SIZE):
		return writer ? mmapper_ioctl_set_size(mdev, uarg) : -EBADF;
	case MMAPPER_IOC_BASE(MMAPPER_IOC_SET_BACKEND):
		return writer ? mmapper_ioctl_set_backend(mdev, uarg) : -EBADF;
	case MMAPPER_IOC_BASE(MMAPPER_IOC_FILL):
		return writer ? mmapper_ioctl_range(mdev, uarg, true) : -EBADF;
	case MMAPPER_IOC_BASE(MMAPPER_IOC_SET_CACHE):
		return writer ? mmapper_ioctl_set_cache(mdev, uarg) : -EBADF;
	}
	return -ENOTTY;
}

/*
 * Each published size is the size of its struct at that version: a field
 * added to a struct without its VER1 (and the UAPI note) fails the build.
 */
static void __maybe_unused mmapper_uapi_sizes(void)
{
	BUILD_BUG_ON(sizeof(struct mmapper_info) != MMAPPER_INFO_SIZE_VER1);
	BUILD_BUG_ON(offsetof(struct mmapper_info, cache) != MMAPPER_INFO_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct mmapper_set_size) != MMAPPER_SET_SIZE_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct mmapper_set_backend) != MMAPPER_SET_BACKEND_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct mmapper_range) != MMAPPER_RANGE_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct mmapper_stats) != MMAPPER_STATS_SIZE_VER1);
	BUILD_BUG_ON(sizeof(struct mmapper_put_user) != MMAPPER_PUT_USER_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct mmapper_set_cache) != MMAPPER_SET_CACHE_SIZE_VER0);
}

const struct file_operations mmapper_fops = {
	.owner		= THIS_MODULE,
	.open		= mmapper_open,
	.release	= mmapper_release,
	.llseek		= mmapper_llseek,
	.read_iter	= mmapper_read_iter,
	.write_iter	= mmapper_write_iter,
	.splice_read	= copy_splice_read,
	.splice_write	= iter_file_splice_write,
	.mmap		= mmapper_mmap,
	/* Stores are in the buffer at once: fsync() and msync() have no work. */
	.fsync		= noop_fsync,
	/* Mappings of 2 MiB or more start 2 MiB aligned (relative to offset). */
	.get_unmapped_area = thp_get_unmapped_area,
	.unlocked_ioctl	= mmapper_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};
