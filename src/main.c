// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper - kernel buffers that user space maps with mmap()
 *
 * Module parameters, the mmapper class and the /dev/mmapperN devices.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "mmapper.h"

static unsigned int nr_devices = 4;
module_param(nr_devices, uint, 0444);
MODULE_PARM_DESC(nr_devices, "number of /dev/mmapperN devices (1-64, default 4)");

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

/*
 * Set once by mmapper_init(), read-only afterwards; freed only after
 * class_unregister() has waited for the class attributes' last user.
 */
struct mmapper_dev *mmapper_devs;

/*
 * Devices that exist, 0..mmapper_nr_devs - 1; guarded by mmapper_config_lock.
 * A device joins only once it is complete and leaves before it is torn
 * down, both under the lock, which every class-wide operation holds from
 * its start to its end: none sees a device half made or half gone.
 */
unsigned int mmapper_nr_devs;

/*
 * Guards mmapper_nr_devs; taken before every device lock when they are all
 * taken together (mmapper_switch_all()).
 */
DEFINE_MUTEX(mmapper_config_lock);

static dev_t mmapper_devt;

static struct class mmapper_class = {
	.name		= "mmapper",
	.class_groups	= mmapper_class_groups,
};

static int mmapper_dev_create(struct mmapper_dev *mdev, unsigned int index,
			      const struct mmapper_backend *backend)
{
	dev_t devt = MKDEV(MAJOR(mmapper_devt), index);
	struct mmapper_buf *buf;
	int ret;

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
	mdev->index = index;

	buf = mmapper_buf_alloc(backend, mmapper_param_size);
	if (IS_ERR(buf)) {
		ret = PTR_ERR(buf);
		pr_err("mmapper%u: cannot allocate %llu bytes with backend %s (%pe)\n",
		       index, mmapper_param_size, backend->name, buf);
		goto err_mutex;
	}
	RCU_INIT_POINTER(mdev->buf, buf);

	cdev_init(&mdev->cdev, &mmapper_fops);
	mdev->cdev.owner = THIS_MODULE;
	ret = cdev_add(&mdev->cdev, devt, 1);
	if (ret)
		goto err_free_buf;

	mdev->dev = device_create_with_groups(&mmapper_class, NULL, devt, mdev,
					      mmapper_dev_groups, "mmapper%u",
					      index);
	if (IS_ERR(mdev->dev)) {
		ret = PTR_ERR(mdev->dev);
		goto err_cdev_del;
	}
	mmapper_debugfs_add(mdev);
	return 0;

err_cdev_del:
	cdev_del(&mdev->cdev);
err_free_buf:
	mmapper_buf_put(rcu_dereference_protected(mdev->buf, 1));
err_mutex:
	mutex_destroy(&mdev->exports_lock);
	mutex_destroy(&mdev->experiment_lock);
	mutex_destroy(&mdev->lock);
	return ret;
}

static void mmapper_dev_destroy(struct mmapper_dev *mdev)
{
	mmapper_debugfs_remove(mdev);
	device_destroy(&mmapper_class, mdev->dev->devt);
	cdev_del(&mdev->cdev);
	mmapper_buf_put(rcu_dereference_protected(mdev->buf, 1));
	mutex_destroy(&mdev->exports_lock);
	mutex_destroy(&mdev->experiment_lock);
	mutex_destroy(&mdev->lock);
}

/* Destroy every device, last first, with mmapper_config_lock held. */
static void mmapper_devs_destroy(void)
{
	lockdep_assert_held(&mmapper_config_lock);
	while (mmapper_nr_devs)
		mmapper_dev_destroy(&mmapper_devs[--mmapper_nr_devs]);
}

/*
 * Create every device under mmapper_config_lock: a class-wide write during
 * the load waits, then switches them all.  On failure none is left.
 */
static int mmapper_devs_create(const struct mmapper_backend *b)
{
	int ret = 0;

	mutex_lock(&mmapper_config_lock);
	while (mmapper_nr_devs < nr_devices) {
		ret = mmapper_dev_create(&mmapper_devs[mmapper_nr_devs],
					 mmapper_nr_devs, b);
		if (ret) {
			mmapper_devs_destroy();
			break;
		}
		mmapper_nr_devs++;
	}
	mutex_unlock(&mmapper_config_lock);
	return ret;
}

static int mmapper_check_params(const struct mmapper_backend **b)
{
	int ret;

	if (nr_devices < 1 || nr_devices > MMAPPER_MAX_DEVICES) {
		pr_err("nr_devices=%u out of range 1..%d\n", nr_devices,
		       MMAPPER_MAX_DEVICES);
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
	return 0;
}

/*
 * The device array outlives the class: class attributes index it, and
 * class_unregister() is what waits for their last user.
 */
static int __init mmapper_init(void)
{
	const struct mmapper_backend *b;
	int ret;

	ret = mmapper_stats_check();
	if (ret)
		return ret;
	ret = mmapper_check_params(&b);
	if (ret)
		return ret;
	mmapper_sysfs_init();

	ret = alloc_chrdev_region(&mmapper_devt, 0, nr_devices, "mmapper");
	if (ret)
		return ret;

	mmapper_devs = kcalloc(nr_devices, sizeof(*mmapper_devs), GFP_KERNEL);
	if (!mmapper_devs) {
		ret = -ENOMEM;
		goto err_chrdev;
	}

	ret = class_register(&mmapper_class);
	if (ret)
		goto err_free_devs;
	mmapper_debugfs_init();

	ret = mmapper_devs_create(b);
	if (ret)
		goto err_class;

	pr_info("%u devices of %llu bytes, backend %s\n", nr_devices,
		mmapper_param_size, b->name);
	return 0;

err_class:
	mmapper_debugfs_exit();
	class_unregister(&mmapper_class);
err_free_devs:
	kfree(mmapper_devs);
err_chrdev:
	unregister_chrdev_region(mmapper_devt, nr_devices);
	return ret;
}

static void __exit mmapper_exit(void)
{
	mutex_lock(&mmapper_config_lock);
	mmapper_devs_destroy();
	mutex_unlock(&mmapper_config_lock);
	mmapper_debugfs_exit();
	class_unregister(&mmapper_class);
	kfree(mmapper_devs);
	unregister_chrdev_region(mmapper_devt, nr_devices);
}

module_init(mmapper_init);
module_exit(mmapper_exit);

MODULE_DESCRIPTION("Kernel buffers that user space maps with mmap()");
MODULE_LICENSE("GPL");
MODULE_VERSION(MMAPPER_VERSION);
