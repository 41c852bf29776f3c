// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper DMA-BUF export: a page-aligned range of a device's buffer as a
 * DMA-BUF file descriptor (MMAPPER_IOC_EXPORT_DMABUF), for other drivers
 * to import without a copy.  The ops are those of mainline's exporters
 * (drivers/dma-buf/udmabuf.c, heaps/system_heap.c): an sg_table of the
 * range's pages for each mapping of an attachment, mapped for the
 * importer's device with dma_map_sgtable(); a kernel mapping (vmap); CPU
 * access brackets that sync every device mapping; mmap() of the DMA-BUF
 * through the device's own mmap path.
 *
 * Lifetime: an export holds a reference to the buffer and one to the
 * device (get_device()), and counts in the device's nr_exports, which
 * refuses size, backend and cache changes (-EBUSY) as nr_mappings does,
 * and hot_remove (mmapper_dev_busy() says "exported").  It begins on an
 * open descriptor of the device, so no removal can be under way then.
 * All of it goes when the DMA-BUF is released, after its last descriptor,
 * mapping and importer.  The DMA-BUF holds the module (exp_info.owner),
 * so rmmod waits for it.
 *
 * Locks, outermost first: the mmap lock; the DMA-BUF's reservation lock
 * (held around ->map_dma_buf and ->vmap since 6.2); the device lock
 * (mmap), the device's exports_lock (export, release, debugfs); an
 * export's own lock.  An export's lock is never held while touching user
 * memory.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <uapi/linux/mmapper.h>

#include "mmapper.h"

MODULE_IMPORT_NS("DMA_BUF");

/**
 * struct mmapper_dmabuf - one DMA-BUF export of a range of a buffer
 * @node: in mmapper_dev.exports, under its exports_lock
 * @mdev: the device, referenced (get_device())
 * @buf: the buffer, referenced; the device's buffer for as long as the
 *	export lives, since changes are refused meanwhile
 * @dmabuf: the DMA-BUF, whose priv is this
 * @ino: its inode number (its file may be gone before ->release is called)
 * @id: unique in the device, increasing: debugfs names exports by it
 * @offset: first byte of the range in the buffer, page aligned
 * @nr_pages: pages of the range
 * @writable: exported O_RDWR; else O_RDONLY
 * @pages: the range's pages, for the sg_tables and vmap()
 * @lock: guards @attachments (and their maps), @vaddr, @vmap_kind,
 *	@vmaps, @cpu_begin, @cpu_end
 * @attachments: struct mmapper_dmabuf_attachment of each importer
 * @vaddr: the kernel mapping ->vmap handed out, or NULL
 * @vmap_kind: what @vaddr is (enum mmapper_vmap_kind)
 * @vmaps: ->vmap calls not yet undone by ->vunmap
 * @cpu_begin: begin_cpu_access calls (DMA_BUF_IOCTL_SYNC start)
 * @cpu_end: end_cpu_access calls (DMA_BUF_IOCTL_SYNC end)
 */
struct mmapper_dmabuf {
	struct list_head node;
	struct mmapper_dev *mdev;
	struct mmapper_buf *buf;
	struct dma_buf *dmabuf;
	unsigned long ino;
	u64 id;
	u64 offset;
	unsigned long nr_pages;
	bool writable;
	struct page **pages;
	/* guards attachments, vaddr, vmap_kind, vmaps, cpu_begin, cpu_end */
	struct mutex lock;
	struct list_head attachments;
	void *vaddr;
	int vmap_kind;
	unsigned int vmaps;
	unsigned long cpu_begin;
	unsigned long cpu_end;
};

/*
 * What ->vmap handed out: the buffer's own kernel mapping (the backends
 * with one: kmalloc, the vmalloc ones), a vmap() of the range's pages
 * (pages, huge) with the buffer's memory type, or, for a read-only
 * export, a private copy: a kernel importer may write through a kernel
 * mapping, and nothing written through a read-only descriptor may reach
 * the buffer.
 */
enum mmapper_vmap_kind {
	MMAPPER_VMAP_NONE,
	MMAPPER_VMAP_BUFFER,
	MMAPPER_VMAP_PAGES,
	MMAPPER_VMAP_COPY,
};

static const char *const mmapper_vmap_names[] = {
	[MMAPPER_VMAP_NONE]	= "none",
	[MMAPPER_VMAP_BUFFER]	= "buffer",
	[MMAPPER_VMAP_PAGES]	= "pages",
	[MMAPPER_VMAP_COPY]	= "copy",
};

/**
 * struct mmapper_dmabuf_attachment - one importer's attachment
 * @node: in mmapper_dmabuf.attachments
 * @dev: the importer's device (valid until ->detach)
 * @maps: struct mmapper_dmabuf_map of each live mapping of it
 */
struct mmapper_dmabuf_attachment {
	struct list_head node;
	struct device *dev;
	struct list_head maps;
};

/**
 * struct mmapper_dmabuf_map - one sg_table handed to an importer
 * @sgt: the range's pages, mapped for the importer's device
 * @dir: the direction it was mapped with, used again to sync and unmap
 * @node: in mmapper_dmabuf_attachment.maps
 */
struct mmapper_dmabuf_map {
	struct sg_table sgt;
	enum dma_data_direction dir;
	struct list_head node;
};

static size_t mmapper_dmabuf_size(const struct mmapper_dmabuf *x)
{
	return x->nr_pages << PAGE_SHIFT;
}

static int mmapper_dmabuf_attach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach)
{
	struct mmapper_dmabuf *x = dmabuf->priv;
	struct mmapper_dmabuf_attachment *a;

	/* Charged to the importing task, as everything an export costs. */
	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return -ENOMEM;
	a->dev = attach->dev;
	INIT_LIST_HEAD(&a->maps);
	attach->priv = a;

	mutex_lock(&x->lock);
	list_add_tail(&a->node, &x->attachments);
	mutex_unlock(&x->lock);
	return 0;
}

static void mmapper_dmabuf_detach(struct dma_buf *dmabuf,
				  struct dma_buf_attachment *attach)
{
	struct mmapper_dmabuf *x = dmabuf->priv;
	struct mmapper_dmabuf_attachment *a = attach->priv;

	mutex_lock(&x->lock);
	list_del(&a->node);
	mutex_unlock(&x->lock);
	WARN_ON_ONCE(!list_empty(&a->maps));
	kfree(a);
}

/*
 * A device may read a read-only export (DMA_TO_DEVICE), never write it:
 * DMA_FROM_DEVICE and DMA_BIDIRECTIONAL are refused.
 */
static struct sg_table *mmapper_dmabuf_map(struct dma_buf_attachment *attach,
					   enum dma_data_direction dir)
{
	struct mmapper_dmabuf *x = attach->dmabuf->priv;
	struct mmapper_dmabuf_attachment *a = attach->priv;
	struct mmapper_dmabuf_map *map;
	unsigned int max_segment;
	unsigned long i;
	int ret;

	if (!x->writable && dir != DMA_TO_DEVICE) {
		dev_dbg(&x->mdev->dev, "export %llu is read-only: %s may not write it\n",
			x->id, dev_name(attach->dev));
		return ERR_PTR(-EACCES);
	}
	for (i = 0; i < x->nr_pages; i++) {
		cond_resched();
		if (mmapper_page_unmappable(x->pages[i])) {
			dev_warn_ratelimited(&x->mdev->dev,
					     "export %llu: charged pages cannot go to %s on this kernel (it may map them by struct page)\n",
					     x->id, dev_name(attach->dev));
			return ERR_PTR(-EOPNOTSUPP);
		}
	}

	map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);
	if (!map)
		return ERR_PTR(-ENOMEM);
	/*
	 * Physically consecutive pages become one segment, as long as the
	 * importer's device takes (64 KiB unless it says otherwise).
	 */
	max_segment = max_t(unsigned int, PAGE_SIZE,
			    round_down(dma_get_max_seg_size(attach->dev), PAGE_SIZE));
	ret = sg_alloc_table_from_pages_segment(&map->sgt, x->pages, x->nr_pages,
						0, mmapper_dmabuf_size(x),
						max_segment, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free_map;
	ret = dma_map_sgtable(attach->dev, &map->sgt, dir, 0);
	if (ret)
		goto err_free_table;
	map->dir = dir;

	mutex_lock(&x->lock);
	list_add_tail(&map->node, &a->maps);
	mutex_unlock(&x->lock);
	return &map->sgt;

err_free_table:
	sg_free_table(&map->sgt);
err_free_map:
	kfree(map);
	return ERR_PTR(ret);
}

static void mmapper_dmabuf_unmap(struct dma_buf_attachment *attach,
				 struct sg_table *sgt,
				 enum dma_data_direction dir)
{
	struct mmapper_dmabuf *x = attach->dmabuf->priv;
	struct mmapper_dmabuf_map *map = container_of(sgt, struct mmapper_dmabuf_map, sgt);

	mutex_lock(&x->lock);
	list_del(&map->node);
	mutex_unlock(&x->lock);
	WARN_ON_ONCE(dir != map->dir);
	dma_unmap_sgtable(attach->dev, &map->sgt, map->dir, 0);
	sg_free_table(&map->sgt);
	kfree(map);
}

/* Copy the range into a private copy (a read-only export's vmap). */
struct mmapper_dmabuf_copy {
	void *to;
};

static void mmapper_dmabuf_copy_fn(void *kaddr, size_t n, void *arg)
{
	struct mmapper_dmabuf_copy *c = arg;

	memcpy(c->to, kaddr, n);
	c->to += n;
}

static void mmapper_dmabuf_refresh_copy(struct mmapper_dmabuf *x)
{
	struct mmapper_dmabuf_copy c = { .to = x->vaddr };

	mmapper_buf_walk(x->buf, x->offset, mmapper_dmabuf_size(x),
			 mmapper_dmabuf_copy_fn, &c);
}

/*
 * CPU access brackets: every device mapping of every attachment is synced
 * for the CPU (begin) or for its device (end), in the direction it was
 * mapped with, as the DMA API wants; a kernel mapping of our own making is
 * invalidated or flushed (both are no-ops on x86, not everywhere); a
 * read-only export's private copy is refreshed from the buffer.
 */
static int mmapper_dmabuf_begin_cpu_access(struct dma_buf *dmabuf,
					   enum dma_data_direction dir)
{
	struct mmapper_dmabuf *x = dmabuf->priv;
	struct mmapper_dmabuf_attachment *a;
	struct mmapper_dmabuf_map *map;

	mutex_lock(&x->lock);
	list_for_each_entry(a, &x->attachments, node)
		list_for_each_entry(map, &a->maps, node)
			dma_sync_sgtable_for_cpu(a->dev, &map->sgt, map->dir);
	if (x->vmap_kind == MMAPPER_VMAP_COPY)
		mmapper_dmabuf_refresh_copy(x);
	else if (x->vmap_kind == MMAPPER_VMAP_PAGES)
		invalidate_kernel_vmap_range(x->vaddr, mmapper_dmabuf_size(x));
	x->cpu_begin++;
	mutex_unlock(&x->lock);
	return 0;
}

static int mmapper_dmabuf_end_cpu_access(struct dma_buf *dmabuf,
					 enum dma_data_direction dir)
{
	struct mmapper_dmabuf *x = dmabuf->priv;
	struct mmapper_dmabuf_attachment *a;
	struct mmapper_dmabuf_map *map;

	mutex_lock(&x->lock);
	if (x->vmap_kind == MMAPPER_VMAP_PAGES)
		flush_kernel_vmap_range(x->vaddr, mmapper_dmabuf_size(x));
	list_for_each_entry(a, &x->attachments, node)
		list_for_each_entry(map, &a->maps, node)
			dma_sync_sgtable_for_device(a->dev, &map->sgt, map->dir);
	x->cpu_end++;
	mutex_unlock(&x->lock);
	return 0;
}

/*
 * mmap() of the DMA-BUF, by its own descriptor or an importer's
 * (dma_buf_mmap()): the device's mapping of the same pages, through the
 * device's mmap path, so that every rule of a device mapping holds
 * (MAP_PRIVATE, fork, ptrace, /proc/PID/mem, the count that keeps the
 * buffer in place).  The core has checked the range against the export;
 * the VMA's page offset becomes the buffer's.  A read-only export is also
 * read-only when an importer maps it on its own, writable, descriptor.
 */
static int mmapper_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct mmapper_dmabuf *x = dmabuf->priv;

	/*
	 * An importer's dma_buf_mmap() passes its driver's VMA on as that
	 * driver left it.  On 5.10, drm_gem_mmap() makes it VM_IO | VM_PFNMAP
	 * and write-combined before exynos or etnaviv hand an import over
	 * (since 5.17 every in-tree caller passes it as mmap() made it).  How
	 * the buffer is mapped is the backend's to say: a vm_insert_page()
	 * into a VM_PFNMAP VMA is a BUG(), as is a vmf_insert_pfn() into a
	 * VM_MIXEDMAP one, and the importer's cache bits on the pages of a
	 * vm_insert_page() mapping give them a second memory type.  Start from
	 * the VMA mmap() makes, as drm_gem_dma_mmap() clears what
	 * drm_gem_mmap() set.
	 */
	vm_flags_clear(vma, VM_PFNMAP | VM_MIXEDMAP | VM_IO);
	vma->vm_page_prot = vm_get_page_prot(vma->vm_flags);

	if (!x->writable && (vma->vm_flags & VM_MAYSHARE)) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	vma->vm_pgoff += x->offset >> PAGE_SHIFT;
	return mmapper_mmap_vma(x->mdev, vma);
}

/*
 * The DMA-BUF core hands out one kernel mapping at a time and counts its
 * users; ->vmap may not fail but for lack of memory (the core warns).
 */
static int mmapper_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct mmapper_dmabuf *x = dmabuf->priv;
	int ret = 0;

	mutex_lock(&x->lock);
	if (x->vmaps)
		goto out;
	if (!x->writable) {
		x->vaddr = __vmalloc(mmapper_dmabuf_size(x),
				     GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		x->vmap_kind = MMAPPER_VMAP_COPY;
		if (x->vaddr)
			mmapper_dmabuf_refresh_copy(x);
	} else if (x->buf->vaddr) {
		x->vaddr = x->buf->vaddr + x->offset;
		x->vmap_kind = MMAPPER_VMAP_BUFFER;
	} else {
		/* Of the buffer's memory type, as all its mappings (cache.c). */
		x->vaddr = vmap(x->pages, x->nr_pages, VM_MAP,
				mmapper_cache_pgprot(PAGE_KERNEL, x->buf->cache));
		x->vmap_kind = MMAPPER_VMAP_PAGES;
	}
	if (!x->vaddr) {
		x->vmap_kind = MMAPPER_VMAP_NONE;
		ret = -ENOMEM;
		goto out_unlock;
	}
out:
	x->vmaps++;
	iosys_map_set_vaddr(map, x->vaddr);
out_unlock:
	mutex_unlock(&x->lock);
	return ret;
}

static void mmapper_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct mmapper_dmabuf *x = dmabuf->priv;

	mutex_lock(&x->lock);
	if (WARN_ON_ONCE(!x->vmaps || map->vaddr != x->vaddr))
		goto out_unlock;
	if (--x->vmaps)
		goto out_unlock;
	if (x->vmap_kind == MMAPPER_VMAP_COPY)
		vfree(x->vaddr);
	else if (x->vmap_kind == MMAPPER_VMAP_PAGES)
		vunmap(x->vaddr);
	x->vaddr = NULL;
	x->vmap_kind = MMAPPER_VMAP_NONE;
out_unlock:
	mutex_unlock(&x->lock);
}

MMAPPER_DMA_BUF_VMAP_OPS(mmapper_dmabuf_vmap, mmapper_dmabuf_vunmap)

/* The last reference to the DMA-BUF is gone: so is the export. */
static void mmapper_dmabuf_release(struct dma_buf *dmabuf)
{
	struct mmapper_dmabuf *x = dmabuf->priv;
	struct mmapper_dev *mdev = x->mdev;

	mutex_lock(&mdev->exports_lock);
	list_del(&x->node);
	mutex_unlock(&mdev->exports_lock);

	WARN_ON_ONCE(x->vmaps || !list_empty(&x->attachments));
	mmapper_buf_put(x->buf);
	atomic_dec(&mdev->nr_exports);
	kvfree(x->pages);
	mutex_destroy(&x->lock);
	kfree(x);
	/* The last reference may free the device (hot_remove'd meanwhile). */
	put_device(&mdev->dev);
}

static const struct dma_buf_ops mmapper_dmabuf_ops = {
	.attach			= mmapper_dmabuf_attach,
	.detach			= mmapper_dmabuf_detach,
	.map_dma_buf		= mmapper_dmabuf_map,
	.unmap_dma_buf		= mmapper_dmabuf_unmap,
	.release		= mmapper_dmabuf_release,
	.begin_cpu_access	= mmapper_dmabuf_begin_cpu_access,
	.end_cpu_access		= mmapper_dmabuf_end_cpu_access,
	.mmap			= mmapper_dmabuf_mmap,
	.vmap			= MMAPPER_DMA_BUF_VMAP(mmapper_dmabuf_vmap),
	.vunmap			= MMAPPER_DMA_BUF_VUNMAP(mmapper_dmabuf_vunmap),
};

/*
 * Take the range [@offset, @offset + @length) of the device's buffer, and
 * hold it: a reference to the buffer, and one more export in the count
 * that refuses changes and removal.
 */
static int mmapper_dmabuf_hold(struct mmapper_dmabuf *x, u64 offset, u64 length)
{
	struct mmapper_dev *mdev = x->mdev;
	struct mmapper_buf *buf;
	int ret;

	/* A resize may hold the lock long, killably: so does the wait. */
	ret = mutex_lock_killable(&mdev->lock);
	if (ret)
		return ret;
	buf = mmapper_dev_buf(mdev);
	if (!length || !PAGE_ALIGNED(offset) || !PAGE_ALIGNED(length) ||
	    offset > buf->size || length > buf->size - offset) {
		ret = -EINVAL;
	} else if (buf->size <= buf->backend->shared_max_size) {
		/*
		 * A slab object (kmalloc's small buffers): its page is the
		 * slab allocator's, shared with other objects, and no
		 * importer may have it (7.2 refuses references to it).
		 */
		dev_warn_ratelimited(&mdev->dev,
				     "export refused: a %s buffer of %zu bytes is a slab object, whose page other kernel objects share (above %zu bytes it would not be)\n",
				     buf->backend->name, buf->size,
				     buf->backend->shared_max_size);
		ret = -EINVAL;
	} else {
		kref_get(&buf->ref);
		atomic_inc(&mdev->nr_exports);
		x->buf = buf;
		x->offset = offset;
		x->nr_pages = length >> PAGE_SHIFT;
	}
	mutex_unlock(&mdev->lock);
	return ret;
}

static void mmapper_dmabuf_unhold(struct mmapper_dmabuf *x)
{
	atomic_dec(&x->mdev->nr_exports);
	mmapper_buf_put(x->buf);
}

/*
 * A DMA-BUF of a range of the device's buffer, not yet in any descriptor
 * table: the caller installs it, or drops it with dma_buf_put().
 */
static struct dma_buf *mmapper_dmabuf_export(struct mmapper_dev *mdev,
					     u64 offset, u64 length,
					     bool writable)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct mmapper_dmabuf *x;
	struct dma_buf *dmabuf;
	unsigned long i;
	int ret;

	x = kzalloc(sizeof(*x), MMAPPER_GFP_META);
	if (!x)
		return ERR_PTR(-ENOMEM);
	x->mdev = mdev;
	x->writable = writable;
	mutex_init(&x->lock);
	INIT_LIST_HEAD(&x->attachments);

	ret = mmapper_dmabuf_hold(x, offset, length);
	if (ret)
		goto err_free;
	get_device(&mdev->dev);

	x->pages = kvmalloc_array(x->nr_pages, sizeof(*x->pages), MMAPPER_GFP_META);
	if (!x->pages) {
		ret = -ENOMEM;
		goto err_unhold;
	}
	for (i = 0; i < x->nr_pages; i++) {
		x->pages[i] = x->buf->backend->page_at(x->buf, (offset >> PAGE_SHIFT) + i);
		cond_resched();
	}

	exp_info.ops = &mmapper_dmabuf_ops;
	exp_info.size = length;
	exp_info.flags = writable ? O_RDWR : O_RDONLY;
	exp_info.priv = x;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_free_pages;
	}
	x->dmabuf = dmabuf;
	x->ino = file_inode(dmabuf->file)->i_ino;

	mutex_lock(&mdev->exports_lock);
	x->id = ++mdev->next_export_id;
	list_add_tail(&x->node, &mdev->exports);
	mutex_unlock(&mdev->exports_lock);
	return dmabuf;

err_free_pages:
	kvfree(x->pages);
err_unhold:
	put_device(&mdev->dev);
	mmapper_dmabuf_unhold(x);
err_free:
	mutex_destroy(&x->lock);
	kfree(x);
	return ERR_PTR(ret);
}

#define MMAPPER_EXPORT_FLAGS	(O_CLOEXEC | O_ACCMODE)

/**
 * mmapper_ioctl_export_dmabuf() - MMAPPER_IOC_EXPORT_DMABUF
 * @mdev: the device
 * @file: the caller's descriptor of it, whose access mode bounds the export's
 * @uarg: struct mmapper_export
 *
 * The descriptor is reserved first (a full table fails before anything is
 * made) and installed only once the result is copied out: a caller whose
 * struct cannot be written gets -EFAULT, and no descriptor, no export.
 *
 * Return: 0; -EINVAL for unknown flags, a bad access mode, non-zero output
 * fields or a range that is not page aligned, empty, or not inside the
 * buffer; -EACCES when @file may not read, or may not write and O_RDWR
 * is asked; -EFAULT; -EMFILE; -ENOMEM.
 */
long mmapper_ioctl_export_dmabuf(struct mmapper_dev *mdev, struct file *file,
				 void __user *uarg)
{
	struct mmapper_export arg;
	struct dma_buf *dmabuf;
	bool writable;
	u32 usize;
	int fd, ret;

	ret = mmapper_copy_struct_in(&arg, sizeof(arg), MMAPPER_EXPORT_SIZE_VER0,
				     uarg, &usize);
	if (ret)
		return ret;
	if ((arg.flags & ~MMAPPER_EXPORT_FLAGS) || arg.fd || arg.reserved || arg.inode)
		return -EINVAL;
	switch (arg.flags & O_ACCMODE) {
	case O_RDONLY:
		writable = false;
		break;
	case O_RDWR:
		writable = true;
		break;
	default:
		return -EINVAL;
	}
	if (!(file->f_mode & FMODE_READ) || (writable && !(file->f_mode & FMODE_WRITE)))
		return -EACCES;

	fd = get_unused_fd_flags(arg.flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	dmabuf = mmapper_dmabuf_export(mdev, arg.offset, arg.length, writable);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_put_fd;
	}

	arg.fd = fd;
	arg.inode = ((struct mmapper_dmabuf *)dmabuf->priv)->ino;
	ret = mmapper_copy_struct_out(uarg, &arg, sizeof(arg), usize);
	if (ret)
		goto err_put_dmabuf;
	fd_install(fd, dmabuf->file);
	mmapper_count(mdev, exports_total, 1);
	return 0;

err_put_dmabuf:
	dma_buf_put(dmabuf);
err_put_fd:
	put_unused_fd(fd);
	return ret;
}

static const char *mmapper_dir_name(enum dma_data_direction dir)
{
	switch (dir) {
	case DMA_BIDIRECTIONAL:
		return "bidirectional";
	case DMA_TO_DEVICE:
		return "to-device";
	case DMA_FROM_DEVICE:
		return "from-device";
	default:
		return "none";
	}
}

/* At most this many segments of a table are listed, then "...". */
#define MMAPPER_SHOW_SEGMENTS	64

/*
 * The pfns come from the export's page array, by each segment's length:
 * with CONFIG_DMABUF_DEBUG the core scrambles the page links of a table
 * while an importer holds it.
 */
static void mmapper_dmabuf_show_map(struct seq_file *m,
				    const struct mmapper_dmabuf *x,
				    const struct mmapper_dmabuf_map *map)
{
	struct scatterlist *sg;
	unsigned long idx = 0;
	unsigned int i;

	seq_printf(m, " %s, %u segments:", mmapper_dir_name(map->dir),
		   map->sgt.orig_nents);
	for_each_sgtable_sg(&map->sgt, sg, i) {
		if (i == MMAPPER_SHOW_SEGMENTS) {
			seq_puts(m, " ...");
			break;
		}
		if (idx >= x->nr_pages)
			break;
		seq_printf(m, " %#lx+%u", page_to_pfn(x->pages[idx]),
			   sg->length >> PAGE_SHIFT);
		idx += sg->length >> PAGE_SHIFT;
	}
}

/**
 * mmapper_dmabuf_show() - the exports part of debugfs mmapperN/exports
 * @m: the seq_file
 * @mdev: the device
 *
 * One line per export (id, range, access, DMA-BUF inode, CPU access
 * brackets, kernel mapping), then one per importer's attachment: its
 * device's name and each sg_table mapped for it (direction, segments
 * as first pfn + pages).
 */
void mmapper_dmabuf_show(struct seq_file *m, struct mmapper_dev *mdev)
{
	struct mmapper_dmabuf_attachment *a;
	struct mmapper_dmabuf_map *map;
	struct mmapper_dmabuf *x;

	mutex_lock(&mdev->exports_lock);
	list_for_each_entry(x, &mdev->exports, node) {
		mutex_lock(&x->lock);
		seq_printf(m, "export %llu: offset %llu length %zu %s inode %lu begin %lu end %lu vmap %s\n",
			   x->id, x->offset, mmapper_dmabuf_size(x),
			   x->writable ? "rw" : "ro", x->ino, x->cpu_begin,
			   x->cpu_end, mmapper_vmap_names[x->vmap_kind]);
		list_for_each_entry(a, &x->attachments, node) {
			seq_printf(m, "  importer %s:", dev_name(a->dev));
			if (list_empty(&a->maps))
				seq_puts(m, " attached");
			list_for_each_entry(map, &a->maps, node)
				mmapper_dmabuf_show_map(m, x, map);
			seq_putc(m, '\n');
		}
		mutex_unlock(&x->lock);
	}
	mutex_unlock(&mdev->exports_lock);
}

/**
 * mmapper_dmabuf_vma_id() - the export a mapping of the buffer is of
 * @vma: a VMA with mmapper's vm_ops, its mmap lock held
 *
 * Return: the export's id, or 0 for a mapping of the device itself.
 */
u64 mmapper_dmabuf_vma_id(struct vm_area_struct *vma)
{
	struct dma_buf *dmabuf;

	/* mmapper's vm_ops map either a device or one of its exports. */
	if (!vma->vm_file || vma->vm_file->f_op == &mmapper_fops)
		return 0;
	dmabuf = vma->vm_file->private_data;
	return ((struct mmapper_dmabuf *)dmabuf->priv)->id;
}

/* Each published size is the size of its struct at that version. */
static void __maybe_unused mmapper_export_size(void)
{
	BUILD_BUG_ON(sizeof(struct mmapper_export) != MMAPPER_EXPORT_SIZE_VER0);
}
