// SPDX-License-Identifier: GPL-2.0
/*
 * Device policy for buffer changes: who may change a device's size,
 * backend or cache mode, when (not while mapped), what is logged, counted
 * and traced, and the realloc-like change itself (new buffer built and
 * filled, then published; the old one goes with its last reference).  The
 * buffer operations it builds on are in buffer.c, the memory types in
 * cache.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "mmapper.h"
#include "trace.h"

/*
 * A buffer larger than max_size is for CAP_SYS_ADMIN to allocate, whether
 * the change asks for that size or moves such a buffer to a new backend,
 * whether through sysfs or ioctl.  @size is compared as asked for (the
 * buffer is that rounded up to whole pages).  So is a buffer that is not
 * cached, of any size: building one rewrites the kernel's direct map
 * (huge direct-map pages split for good, every CPU's TLB flushed), a cost
 * the whole machine pays.  Going back to cached is anyone's who may make
 * changes.  capable() only when needed: it leaves a trace in the audit
 * log.
 */
static int mmapper_dev_check_privilege(struct mmapper_dev *mdev, u64 size,
				       unsigned int cache)
{
	u64 max = READ_ONCE(mmapper_max_size);

	if (cache != MMAPPER_CACHE_CACHED && !capable(CAP_SYS_ADMIN)) {
		dev_warn_ratelimited(&mdev->dev,
				     "cache mode %s refused: a buffer that is not cached changes the kernel's direct map, for CAP_SYS_ADMIN, which %s[%d] lacks\n",
				     mmapper_cache_name(cache), current->comm,
				     task_pid_nr(current));
		return -EPERM;
	}
	if (size <= max || capable(CAP_SYS_ADMIN))
		return 0;
	dev_warn_ratelimited(&mdev->dev,
			     "size %llu refused: above max_size %llu for %s[%d], which lacks CAP_SYS_ADMIN\n",
			     size, max, current->comm, task_pid_nr(current));
	return -EPERM;
}

/*
 * A cache mode is the buffer's for its life: a change of mode is a new
 * buffer, and the new backend and size must allow the mode in force.
 */
static int mmapper_dev_check_cache(struct mmapper_dev *mdev,
				   const struct mmapper_backend *backend,
				   u64 size, unsigned int cache)
{
	int ret = mmapper_cache_check(backend, size, cache);

	if (ret == -EOPNOTSUPP) {
		dev_warn_ratelimited(&mdev->dev,
				     "cache mode %s refused: this machine has no PAT (booted with nopat, or a kernel without CONFIG_X86_PAT): cached only\n",
				     mmapper_cache_name(cache));
		return -EINVAL;
	}
	if (ret && !(backend->caches & BIT(cache)))
		dev_warn_ratelimited(&mdev->dev,
				     "cache mode %s refused: backend %s is cached only: %s\n",
				     mmapper_cache_name(cache), backend->name,
				     mmapper_cache_gup_why);
	else if (ret)
		dev_warn_ratelimited(&mdev->dev,
				     "cache mode %s refused: a %s buffer of %llu bytes shares its pages with other kernel objects (above %zu bytes it would not)\n",
				     mmapper_cache_name(cache), backend->name, size,
				     backend->shared_max_size);
	return ret;
}

static int mmapper_dev_check_change(struct mmapper_dev *mdev,
				    const struct mmapper_backend *backend,
				    u64 size, unsigned int cache)
{
	int ret = mmapper_dev_check_privilege(mdev, size, cache);

	if (ret)
		return ret;
	ret = mmapper_size_check(backend, size);

	switch (ret) {
	case 0:
		break;
	case -EINVAL:
		dev_warn_ratelimited(&mdev->dev, "size 0 refused\n");
		return ret;
	case -ENOMEM:
		dev_warn_ratelimited(&mdev->dev,
				     "size %llu refused: more than the machine's %lu MiB of RAM\n",
				     size, totalram_pages() >> (20 - PAGE_SHIFT));
		return ret;
	default:
		dev_warn_ratelimited(&mdev->dev,
				     "size %llu refused: backend %s holds at most %zu bytes\n",
				     size, backend->name, backend->max_size);
		return ret;
	}
	ret = mmapper_dev_check_cache(mdev, backend, size, cache);
	if (ret)
		return ret;

	if (atomic_read(&mdev->nr_mappings)) {
		dev_dbg(&mdev->dev, "change refused: buffer is mapped\n");
		return -EBUSY;
	}
	/* An export holds the buffer as a mapping does (dmabuf.c). */
	if (atomic_read(&mdev->nr_exports)) {
		dev_dbg(&mdev->dev, "change refused: buffer is exported\n");
		return -EBUSY;
	}
	return 0;
}

static bool mmapper_dev_unchanged(struct mmapper_dev *mdev,
				  const struct mmapper_backend *backend,
				  u64 size, unsigned int cache)
{
	/* size <= buf->size keeps PAGE_ALIGN() from wrapping; 0 never matches. */
	return backend == mmapper_dev_buf(mdev)->backend && size <= mmapper_dev_buf(mdev)->size &&
	       PAGE_ALIGN(size) == mmapper_dev_buf(mdev)->size &&
	       cache == mmapper_dev_buf(mdev)->cache;
}

/* A change that copied the device's buffer failed: it stays in place. */
static void mmapper_dev_unretire(struct mmapper_dev *mdev)
{
	WRITE_ONCE(mmapper_dev_buf(mdev)->retiring, false);
	wake_up_all(&mdev->change_wq);
}

/*
 * The new buffer of a change, with the old one's bytes copied in; the old
 * one is only read.  A fatal signal ends it with -EINTR, unlogged: the
 * caller is dying, and nothing failed.
 */
static struct mmapper_buf *mmapper_dev_prepare(struct mmapper_dev *mdev,
					       const struct mmapper_backend *backend,
					       u64 size, unsigned int cache)
{
	struct mmapper_buf *buf = mmapper_buf_alloc(backend, size, cache);
	int ret;

	if (IS_ERR(buf)) {
		if (PTR_ERR(buf) == -EINTR)
			return buf;
		mmapper_count(mdev, alloc_failures, 1);
		dev_warn_ratelimited(&mdev->dev,
				     "cannot allocate %llu bytes with backend %s, %s (%pe); buffer unchanged\n",
				     size, backend->name, mmapper_cache_name(cache), buf);
		return buf;
	}
	/*
	 * A write() may be copying into the old buffer without the device
	 * lock: it stores its bytes, then (after a full barrier) reads
	 * @retiring; here @retiring is stored before (a full barrier) the
	 * copy reads the bytes.  So either the copy sees the write's bytes,
	 * or the write sees @retiring and writes them again into the new
	 * buffer once it is installed (mmapper_write_iter()).
	 */
	WRITE_ONCE(mmapper_dev_buf(mdev)->retiring, true);
	smp_mb();	/* pairs with the one in mmapper_write_iter() */
	ret = mmapper_buf_copy(buf, mmapper_dev_buf(mdev));
	if (ret) {
		mmapper_dev_unretire(mdev);
		mmapper_buf_free(buf);
		return ERR_PTR(ret);
	}
	return buf;
}

/*
 * Put @buf, prepared by mmapper_dev_prepare(), in the place of the
 * device's buffer; the old one goes with its last reference.
 */
static void mmapper_dev_install(struct mmapper_dev *mdev,
				struct mmapper_buf *buf)
{
	struct mmapper_buf *old = mmapper_dev_buf(mdev);

	rcu_assign_pointer(mdev->buf, buf);
	mdev->gen++;
	mmapper_count(mdev, resizes, 1);
	wake_up_all(&mdev->change_wq);
	mmapper_buf_put(old);
}

/* Trace an attempted change: a switch, a resize or both, and its result. */
static void mmapper_trace_change(struct mmapper_dev *mdev,
				 const struct mmapper_backend *old_backend,
				 u64 old_size,
				 const struct mmapper_backend *backend,
				 u64 size, int ret)
{
	if (backend != old_backend)
		trace_mmapper_switch(mdev->index, old_backend->name,
				     backend->name, ret);
	if (size != old_size)
		trace_mmapper_resize(mdev->index, old_size, size, ret);
}

static void mmapper_trace_cache(struct mmapper_dev *mdev, unsigned int old_cache,
				unsigned int cache, int ret)
{
	if (cache != old_cache)
		trace_mmapper_cache(mdev->index, mmapper_cache_name(old_cache),
				    mmapper_cache_name(cache), ret);
}

/**
 * mmapper_dev_realloc() - change a device's backend, size and/or cache mode
 * @mdev: the device, its lock held
 * @backend: new backend
 * @size: new size in bytes
 * @cache: new cache mode
 *
 * Like realloc(): the first min(old, new) bytes are kept, new bytes are
 * zero.  Asking for what is already in force succeeds and changes nothing,
 * even while mapped.  On failure the old buffer is untouched.  The new
 * buffer is charged to the caller's memory cgroup.
 *
 * Return: 0; -EPERM above max_size, or for a mode that is not cached,
 * without CAP_SYS_ADMIN; -EBUSY if the device is mapped or exported; an
 * error of mmapper_size_check(); -EINVAL for a cache mode that the machine
 * or the backend cannot give; -ENOMEM; or -EINTR on a fatal signal.
 */
static int mmapper_dev_realloc(struct mmapper_dev *mdev,
			       const struct mmapper_backend *backend, u64 size,
			       unsigned int cache)
{
	const struct mmapper_backend *old_backend = mmapper_dev_buf(mdev)->backend;
	unsigned int old_cache = mmapper_dev_buf(mdev)->cache;
	u64 old_size = mmapper_dev_buf(mdev)->size;
	struct mmapper_buf *buf;
	int ret;

	lockdep_assert_held(&mdev->lock);

	if (mmapper_dev_unchanged(mdev, backend, size, cache))
		return 0;

	ret = mmapper_dev_check_change(mdev, backend, size, cache);
	if (!ret) {
		buf = mmapper_dev_prepare(mdev, backend, size, cache);
		if (IS_ERR(buf))
			ret = PTR_ERR(buf);
		else
			mmapper_dev_install(mdev, buf);
	}

	mmapper_trace_change(mdev, old_backend, old_size, backend, size, ret);
	mmapper_trace_cache(mdev, old_cache, cache, ret);
	return ret;
}

static void mmapper_unlock_devs(struct mmapper_dev **devs, unsigned int n)
{
	while (n--)
		mutex_unlock(&devs[n]->lock);
}

/*
 * Change a device's buffer to @backend, @size and @cache (each NULL: keep
 * it), then tell sysfs, whose phys_addr depends on the backend.
 */
static int mmapper_dev_change(struct mmapper_dev *mdev,
			      const struct mmapper_backend *backend,
			      const u64 *size, const unsigned int *cache)
{
	const struct mmapper_buf *cur;
	bool switched;
	int ret;

	ret = mutex_lock_killable(&mdev->lock);
	if (ret)
		return ret;
	cur = mmapper_dev_buf(mdev);
	switched = backend && backend != cur->backend;
	ret = mmapper_dev_realloc(mdev, backend ?: cur->backend,
				  size ? *size : cur->size,
				  cache ? *cache : cur->cache);
	mutex_unlock(&mdev->lock);
	if (!ret && switched)
		mmapper_sysfs_changed(mdev);
	return ret;
}

/**
 * mmapper_dev_set_size() - resize a device's buffer, keeping its data
 * @mdev: the device, its lock not held
 * @size: new size in bytes, as asked for
 *
 * Return: as mmapper_dev_realloc(), or -EINTR if a fatal signal came while
 * waiting for the device.
 */
int mmapper_dev_set_size(struct mmapper_dev *mdev, u64 size)
{
	return mmapper_dev_change(mdev, NULL, &size, NULL);
}

/**
 * mmapper_dev_set_backend() - move a device's buffer to another backend
 * @mdev: the device, its lock not held
 * @backend: the new backend
 *
 * Return: as mmapper_dev_set_size().
 */
int mmapper_dev_set_backend(struct mmapper_dev *mdev,
			    const struct mmapper_backend *backend)
{
	return mmapper_dev_change(mdev, backend, NULL, NULL);
}

/**
 * mmapper_dev_set_cache() - give a device's buffer another cache mode
 * @mdev: the device, its lock not held
 * @cache: the new mode, an MMAPPER_CACHE_* value
 *
 * A new buffer of the same backend and size, its pages of the new memory
 * type in every mapping, with the data copied in; the old one's pages are
 * made write-back again before they are freed.
 *
 * Return: as mmapper_dev_set_size().
 */
int mmapper_dev_set_cache(struct mmapper_dev *mdev, unsigned int cache)
{
	return mmapper_dev_change(mdev, NULL, NULL, &cache);
}

/**
 * mmapper_switch_all() - switch every device to @backend, all or none
 * @backend: the new backend
 *
 * Each device keeps its cache mode, which @backend must allow for its
 * size (else -EINVAL, and none switches).
 *
 * Every device is locked, checked and given its new buffer, with the data
 * copied in, before any old buffer is freed, so either all devices switch
 * or none does.  The set of devices is the one under mmapper_config_lock,
 * held throughout: devices being added (at load or by hot_add) or removed
 * (by hot_remove or at unload) are not part of it.
 *
 * Return: 0, -EBUSY if any device that would change is mapped or
 * exported, or the
 * first error of a device's check, allocation or copy.
 */
int mmapper_switch_all(const struct mmapper_backend *backend)
{
	struct mmapper_dev **devs, *mdev;
	struct mmapper_buf **bufs;
	unsigned int i, n = 0;
	int id, ret = 0;

	mutex_lock(&mmapper_config_lock);
	devs = kcalloc(mmapper_nr_devs, sizeof(*devs), GFP_KERNEL);
	bufs = kcalloc(mmapper_nr_devs, sizeof(*bufs), GFP_KERNEL);
	if (!devs || !bufs) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	mmapper_for_each_dev(mdev, id) {
		mutex_lock_nest_lock(&mdev->lock, &mmapper_config_lock);
		devs[n++] = mdev;
	}

	for (i = 0; i < n && !ret; i++) {
		mdev = devs[i];
		if (mmapper_dev_buf(mdev)->backend != backend)
			ret = mmapper_dev_check_change(mdev, backend,
						       mmapper_dev_buf(mdev)->size,
						       mmapper_dev_buf(mdev)->cache);
	}

	for (i = 0; i < n && !ret; i++) {
		mdev = devs[i];
		if (mmapper_dev_buf(mdev)->backend == backend)
			continue;
		bufs[i] = mmapper_dev_prepare(mdev, backend, mmapper_dev_buf(mdev)->size,
					      mmapper_dev_buf(mdev)->cache);
		if (IS_ERR(bufs[i])) {
			ret = PTR_ERR(bufs[i]);
			bufs[i] = NULL;
		}
	}

	for (i = 0; i < n; i++) {
		const struct mmapper_buf *cur;

		mdev = devs[i];
		cur = mmapper_dev_buf(mdev);
		if (cur->backend == backend)
			continue;
		mmapper_trace_change(mdev, cur->backend, cur->size, backend,
				     cur->size, ret);
		if (!bufs[i])
			continue;
		if (ret) {
			mmapper_dev_unretire(mdev);
			mmapper_buf_free(bufs[i]);
		} else {
			mmapper_dev_install(mdev, bufs[i]);
		}
	}

	mmapper_unlock_devs(devs, n);
out_unlock:
	mutex_unlock(&mmapper_config_lock);
	kfree(bufs);
	kfree(devs);
	return ret;
}
