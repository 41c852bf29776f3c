// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper - kernel buffers that user space maps with mmap()
 *
 * Module parameters, the mmapper class and the /dev/mmapperN devices.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "mmapper.h"

/* The ceiling of max_devices: a range of minor numbers is reserved at load. */
#define MMAPPER_MAX_DEVICES_LIMIT	1024

static unsigned int max_devices = 64;
module_param(max_devices, uint, 0444);
MODULE_PARM_DESC(max_devices,
		 "most devices that may exist at once, made at load or by hot_add, 1-1024 (default 64)");

static unsigned int nr_devices = 4;
module_param(nr_devices, uint, 0444);
MODULE_PARM_DESC(nr_devices, "number of devices made at load, 0 to max_devices (default 4)");

static u64 mmapper_param_size = SZ_1M;

/* A size in bytes, with K/M/G/T suffixes; root may change max_size at run time. */
static int mmapper_param_size_set(const char *val, const struct kernel_param *kp)
{
	u64 size;
	int ret = mmapper_parse_size(val, &size);

	if (ret)
		return ret;
	WRITE_ONCE(*(u64 *)kp->arg, size);
	return 0;
}

static int mmapper_param_size_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%llu\n", READ_ONCE(*(u64 *)kp->arg));
}

static const struct kernel_param_ops mmapper_param_size_ops = {
	.set = mmapper_param_size_set,
	.get = mmapper_param_size_get,
};

module_param_cb(size, &mmapper_param_size_ops, &mmapper_param_size, 0444);
MODULE_PARM_DESC(size, "initial buffer size of each device, bytes, K/M/G/T suffixes (default 1M)");

/*
 * The largest size a caller without CAP_SYS_ADMIN may give a buffer, through
 * sysfs or ioctl (device.c).  64 MiB, as udmabuf's size_limit_mb: a member
 * of the device group gets a useful buffer, not the machine's memory.
 */
u64 mmapper_max_size = SZ_64M;
module_param_cb(max_size, &mmapper_param_size_ops, &mmapper_max_size, 0644);
MODULE_PARM_DESC(max_size,
		 "largest buffer size a caller without CAP_SYS_ADMIN may set, bytes, K/M/G/T suffixes (default 64M; 0: none)");

static char *backend = "vmalloc";
module_param(backend, charp, 0444);
MODULE_PARM_DESC(backend, "initial backend of every device (default vmalloc)");

/* The backend parameter, looked up at load: every new device's. */
static const struct mmapper_backend *mmapper_default_backend;

static char *cache = "cached";
module_param(cache, charp, 0444);
MODULE_PARM_DESC(cache, "initial cache mode of every device: cached (default), write-combine or uncached");

/* The MMAPPER_CACHE_* of the parameter, set once by mmapper_check_params(). */
unsigned int mmapper_default_cache __ro_after_init;

/*
 * The devices that exist, by number, and how many; guarded by
 * mmapper_config_lock.  A device joins only once it is complete and leaves
 * before it is torn down, both under the lock, which every class-wide
 * operation holds from its start to its end: none sees a device half made
 * or half gone.
 */
DEFINE_IDR(mmapper_idr);
unsigned int mmapper_nr_devs;

/*
 * hot_add and hot_remove may change the set: from the end of the load to
 * the start of the unload.  Guarded by mmapper_config_lock.
 */
static bool mmapper_hotplug_open;

/*
 * Guards mmapper_idr, mmapper_nr_devs and mmapper_hotplug_open; taken
 * before every device lock when they are all taken together
 * (mmapper_switch_all()).
 */
DEFINE_MUTEX(mmapper_config_lock);

static dev_t mmapper_devt;

static struct class mmapper_class = {
	.name		= "mmapper",
	.class_groups	= mmapper_class_groups,
	.dev_groups	= mmapper_dev_groups,
};

/**
 * mmapper_dev_busy() - what keeps a device from being removed
 * @mdev: the device, its open_lock held
 *
 * The one place that says what pins a device.  A mapping holds its file
 * open, but is named on its own: the log says why.  A user that pins the
 * device without an open file (a DMA-BUF export) adds its count here; it
 * must begin on an open file, so that no removal can be under way then,
 * and hold a reference to the device (get_device()) while it lives.
 *
 * Return: NULL if nothing does, else what does, in words.
 */
const char *mmapper_dev_busy(struct mmapper_dev *mdev)
{
	lockdep_assert_held(&mdev->open_lock);

	if (atomic_read(&mdev->nr_mappings))
		return "mapped";
	if (atomic_read(&mdev->nr_exports))
		return "exported";
	if (mdev->nr_open)
		return "open";
	return NULL;
}

/*
 * Make every later open() of @mdev fail with ENODEV, unless it is busy;
 * with @force, whatever it is (a device that failed to come up, or the
 * unload, when no file can be open: each holds the module).
 */
static int mmapper_dev_retire(struct mmapper_dev *mdev, bool force)
{
	const char *busy;

	spin_lock(&mdev->open_lock);
	busy = mmapper_dev_busy(mdev);
	if (!busy || force)
		mdev->removed = true;
	spin_unlock(&mdev->open_lock);

	if (busy && force)
		dev_warn(&mdev->dev, "removed while %s\n", busy);
	else if (busy)
		dev_dbg(&mdev->dev, "not removed: %s\n", busy);
	return busy && !force ? -EBUSY : 0;
}

/* The last reference is gone: no file, no opener, no sysfs or debugfs user. */
static void mmapper_dev_release(struct device *dev)
{
	struct mmapper_dev *mdev = container_of(dev, struct mmapper_dev, dev);

	mmapper_buf_put(rcu_dereference_protected(mdev->buf, 1));
	mutex_destroy(&mdev->exports_lock);
	mutex_destroy(&mdev->experiment_lock);
	mutex_destroy(&mdev->lock);
	kfree(mdev);
}

/* A device numbered @index with a buffer of the defaults, not yet visible. */
static struct mmapper_dev *mmapper_dev_alloc(unsigned int index)
{
	const struct mmapper_backend *backend = mmapper_default_backend;
	struct mmapper_dev *mdev;
	struct mmapper_buf *buf;
	int ret;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return ERR_PTR(-ENOMEM);

	buf = mmapper_buf_alloc(backend, mmapper_param_size, mmapper_default_cache);
	if (IS_ERR(buf)) {
		pr_err("mmapper%u: cannot allocate %llu bytes with backend %s (%pe)\n",
		       index, mmapper_param_size, backend->name, buf);
		kfree(mdev);
		return ERR_CAST(buf);
	}
	RCU_INIT_POINTER(mdev->buf, buf);

	mutex_init(&mdev->lock);
	init_waitqueue_head(&mdev->change_wq);
	atomic_set(&mdev->nr_mappings, 0);
	spin_lock_init(&mdev->mappings_lock);
	INIT_LIST_HEAD(&mdev->mappings);
	mdev->no_record.mdev = mdev;
	mutex_init(&mdev->experiment_lock);
	atomic_set(&mdev->nr_exports, 0);
	mutex_init(&mdev->exports_lock);
	INIT_LIST_HEAD(&mdev->exports);
	spin_lock_init(&mdev->open_lock);
	mdev->index = index;

	/* From here on, the last put_device() frees it all. */
	device_initialize(&mdev->dev);
	mdev->dev.class = &mmapper_class;
	mdev->dev.devt = MKDEV(MAJOR(mmapper_devt), index);
	mdev->dev.release = mmapper_dev_release;
	dev_set_drvdata(&mdev->dev, mdev);
	ret = dev_set_name(&mdev->dev, "mmapper%u", index);
	if (ret) {
		put_device(&mdev->dev);
		return ERR_PTR(ret);
	}

	cdev_init(&mdev->cdev, &mmapper_fops);
	mdev->cdev.owner = THIS_MODULE;
	return mdev;
}

/*
 * Add a device under mmapper_config_lock, with the lowest free number.  It
 * is complete before anyone can see it: debugfs first, then the node and
 * the attributes (the class's dev_groups) together, before the uevent.
 * Unless @live, its node refuses open() (ENODEV) and it has no debugfs
 * directory until mmapper_devs_go_live(): the devices made at load, which
 * a later failure of the load must be able to take away with no file
 * open on them (an open file holds the module, which a failed load frees
 * all the same).
 */
static int mmapper_dev_add_locked(bool live)
{
	struct mmapper_dev *mdev;
	int id, ret;

	lockdep_assert_held(&mmapper_config_lock);

	/* Reserve the number; the device takes its place once complete. */
	id = idr_alloc(&mmapper_idr, NULL, 0, max_devices, GFP_KERNEL);
	if (id == -ENOSPC)
		pr_warn_ratelimited("hot_add: %u devices exist, as many as max_devices allows\n",
				    mmapper_nr_devs);
	if (id < 0)
		return id;

	mdev = mmapper_dev_alloc(id);
	if (IS_ERR(mdev)) {
		ret = PTR_ERR(mdev);
		goto err_remove_id;
	}
	mdev->removed = !live;
	if (live)
		mmapper_debugfs_add(mdev);
	ret = cdev_device_add(&mdev->cdev, &mdev->dev);
	if (ret)
		goto err_put;
	mmapper_sysfs_live(mdev, true);

	idr_replace(&mmapper_idr, mdev, id);
	mmapper_nr_devs++;
	return id;

err_put:
	/* An open() of the instant it existed keeps it, unusable, until closed. */
	mmapper_dev_retire(mdev, true);
	mmapper_debugfs_remove(mdev);
	put_device(&mdev->dev);
err_remove_id:
	idr_remove(&mmapper_idr, id);
	return ret;
}

/*
 * Take a retired device out of sight, under mmapper_config_lock: debugfs
 * (which waits for its readers), then the attributes (device_del() waits
 * for their users), the node and the char device.  The struct and the
 * buffer go with the last reference, which an open() in flight may hold.
 */
static void mmapper_dev_destroy(struct mmapper_dev *mdev)
{
	lockdep_assert_held(&mmapper_config_lock);

	idr_remove(&mmapper_idr, mdev->index);
	mmapper_nr_devs--;
	mmapper_debugfs_remove(mdev);
	mmapper_sysfs_live(mdev, false);
	cdev_device_del(&mdev->cdev, &mdev->dev);
	put_device(&mdev->dev);
}

/**
 * mmapper_dev_add() - add a device with the module's default size and backend
 *
 * Context: takes mmapper_config_lock.
 * Return: the new device's number, or -ENODEV while the module is loading
 * or unloading, -ENOSPC when max_devices devices exist, -ENOMEM, -EINTR.
 */
int mmapper_dev_add(void)
{
	int ret = -ENODEV;

	mutex_lock(&mmapper_config_lock);
	if (mmapper_hotplug_open)
		ret = mmapper_dev_add_locked(true);
	mutex_unlock(&mmapper_config_lock);
	return ret;
}

/**
 * mmapper_dev_remove() - remove device @index if nothing uses it
 * @index: N of mmapperN
 *
 * Context: takes mmapper_config_lock.
 * Return: 0, -ENODEV if there is no such device (or the module is loading
 * or unloading), -EBUSY if it is open, mapped or exported.
 */
int mmapper_dev_remove(unsigned int index)
{
	struct mmapper_dev *mdev = NULL;
	int ret = -ENODEV;

	mutex_lock(&mmapper_config_lock);
	if (mmapper_hotplug_open)
		mdev = idr_find(&mmapper_idr, index);
	if (mdev)
		ret = mmapper_dev_retire(mdev, false);
	if (mdev && !ret)
		mmapper_dev_destroy(mdev);
	mutex_unlock(&mmapper_config_lock);
	return ret;
}

/*
 * The load cannot fail any more: debugfs, and the devices made at load
 * may be opened.
 */
static void mmapper_devs_go_live(void)
{
	struct mmapper_dev *mdev;
	int id;

	lockdep_assert_held(&mmapper_config_lock);
	mmapper_debugfs_init();
	idr_for_each_entry(&mmapper_idr, mdev, id) {
		mmapper_debugfs_add(mdev);
		spin_lock(&mdev->open_lock);
		mdev->removed = false;
		spin_unlock(&mdev->open_lock);
	}
}

/* Remove every device, with mmapper_config_lock held. */
static void mmapper_devs_destroy(void)
{
	struct mmapper_dev *mdev;
	int id;

	lockdep_assert_held(&mmapper_config_lock);
	mmapper_for_each_dev(mdev, id) {
		mmapper_dev_retire(mdev, true);
		mmapper_dev_destroy(mdev);
	}
}

static int mmapper_check_params(const struct mmapper_backend **b)
{
	int ret;

	if (max_devices < 1 || max_devices > MMAPPER_MAX_DEVICES_LIMIT) {
		pr_err("max_devices=%u out of range 1..%d\n", max_devices,
		       MMAPPER_MAX_DEVICES_LIMIT);
		return -EINVAL;
	}
	if (nr_devices > max_devices) {
		pr_err("nr_devices=%u out of range 0..%u (max_devices)\n",
		       nr_devices, max_devices);
		return -EINVAL;
	}

	*b = mmapper_backend_find(backend ? backend : "");
	if (!*b) {
		pr_err("backend=%.32s unknown (see /sys/class/mmapper/backend once loaded)\n",
		       backend ? backend : "");
		return -EINVAL;
	}

	ret = mmapper_size_check(*b, mmapper_param_size);
	if (ret) {
		pr_err("size=%llu refused by backend %s: %s\n", mmapper_param_size,
		       (*b)->name, ret == -E2BIG ? "above the backend's limit" :
		       ret == -ENOMEM ? "more than the machine's RAM" : "zero");
		return -EINVAL;
	}

	ret = mmapper_cache_find(cache ? cache : "");
	if (ret < 0) {
		pr_err("cache=%.32s unknown: cached, write-combine or uncached\n",
		       cache ? cache : "");
		return -EINVAL;
	}
	mmapper_default_cache = ret;
	ret = mmapper_cache_check(*b, mmapper_param_size, mmapper_default_cache);
	if (ret == -EINVAL && !((*b)->caches & BIT(mmapper_default_cache))) {
		pr_err("cache=%s refused: backend %s is cached only: %s\n",
		       mmapper_cache_name(mmapper_default_cache), (*b)->name,
		       mmapper_cache_gup_why);
		return -EINVAL;
	}
	if (ret) {
		pr_err("cache=%s refused: %s\n", mmapper_cache_name(mmapper_default_cache),
		       ret == -EOPNOTSUPP ? "no PAT on this machine (nopat, or no CONFIG_X86_PAT)" :
		       "buffers of this backend and size share pages with other objects");
		return -EINVAL;
	}
	return 0;
}

/*
 * A load that fails frees the module whatever its reference count says.
 * Its nodes refused every open(), but an open() that found a node before
 * it went still holds, until it returns, the char device (whose last put
 * may free our device, with our code) and a reference to the module (its
 * put writes into the module): wait for those to go.  Each takes only as
 * long as open() takes to refuse; the char devices are unlisted, so only
 * an inode that still points to one can start another, until its last
 * put.  Anything else holding the module in this window (a perf event on
 * our tracepoints, say) is waited for too, with one line in the log:
 * freeing the module under it would be worse.
 *
 * Without CONFIG_MODULE_UNLOAD there is no count to wait for, and such an
 * open() racing a failed load remains a use after free, as for any driver
 * whose load fails after its nodes existed; no Debian kernel is built so.
 */
static void mmapper_wait_openers(void)
{
#ifdef CONFIG_MODULE_UNLOAD
	unsigned long start = jiffies;
	bool warned = false;

	/* The module loader holds one reference during mmapper_init(). */
	while (module_refcount(THIS_MODULE) > 1) {
		if (!warned && time_after(jiffies, start + 5 * HZ)) {
			pr_warn("failed load: waiting for %d references to the module to go\n",
				module_refcount(THIS_MODULE) - 1);
			warned = true;
		}
		usleep_range(1000, 2000);
	}
#endif
}

/*
 * The initial devices are made with mmapper_config_lock held from before
 * the class (and its attributes) exist: a class-wide write during the load
 * waits, then sees them all; hot_add and hot_remove work once they exist.
 */
static int __init mmapper_init(void)
{
	int ret;

	ret = mmapper_stats_check();
	if (ret)
		return ret;
	ret = mmapper_check_params(&mmapper_default_backend);
	if (ret)
		return ret;
	mmapper_sysfs_init();

	ret = alloc_chrdev_region(&mmapper_devt, 0, max_devices, "mmapper");
	if (ret)
		return ret;

	mutex_lock(&mmapper_config_lock);
	ret = class_register(&mmapper_class);
	if (ret) {
		mutex_unlock(&mmapper_config_lock);
		goto err_chrdev;
	}
	while (mmapper_nr_devs < nr_devices) {
		ret = mmapper_dev_add_locked(false);
		if (ret < 0)
			break;
	}
	if (ret < 0) {
		mmapper_devs_destroy();
	} else {
		mmapper_devs_go_live();
		mmapper_hotplug_open = true;
	}
	/* Before class_unregister(): it waits for class attribute users. */
	mutex_unlock(&mmapper_config_lock);
	if (ret < 0) {
		mmapper_wait_openers();
		goto err_class;
	}

	pr_info("%u devices of %llu bytes, backend %s, %s (at most %u devices)\n",
		nr_devices, mmapper_param_size, mmapper_default_backend->name,
		mmapper_cache_name(mmapper_default_cache), max_devices);
	return 0;

err_class:
	mmapper_debugfs_exit();
	class_unregister(&mmapper_class);
	idr_destroy(&mmapper_idr);
err_chrdev:
	unregister_chrdev_region(mmapper_devt, max_devices);
	return ret;
}

/*
 * No file is open (each holds the module), but a class attribute may be
 * in use until class_unregister(): hot_add and hot_remove are closed first.
 */
static void __exit mmapper_exit(void)
{
	mutex_lock(&mmapper_config_lock);
	mmapper_hotplug_open = false;
	mmapper_devs_destroy();
	mutex_unlock(&mmapper_config_lock);
	mmapper_debugfs_exit();
	class_unregister(&mmapper_class);
	idr_destroy(&mmapper_idr);
	unregister_chrdev_region(mmapper_devt, max_devices);
}

module_init(mmapper_init);
module_exit(mmapper_exit);

MODULE_DESCRIPTION("Kernel buffers that user space maps with mmap()");
MODULE_LICENSE("GPL");
MODULE_VERSION(MMAPPER_VERSION);
