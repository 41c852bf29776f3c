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

static int mmapper_param_size_set(const char *val, const struct kernel_param *kp)
{
	return mmapper_parse_size(val, kp->arg);
}

static int mmapper_param_size_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%llu\n", *(u64 *)kp->arg);
}

static const struct kernel_param_ops mmapper_param_size_ops = {
	.set = mmapper_param_size_set,
	.get = mmapper_param_size_get,
};

module_param_cb(size, &mmapper_param_size_ops, &mmapper_param_size, 0444);
MODULE_PARM_DESC(size, "initial buffer size of each device, bytes, K/M/G/T suffixes (default 1M)");

/* Pages the vmalloc-fault backend maps per fault: 1 to 256. */
unsigned int mmapper_fault_around = 16;

static int mmapper_param_fault_around_set(const char *val,
					  const struct kernel_param *kp)
{
	unsigned int n;
	int ret = kstrtouint(val, 0, &n);

	if (ret)
		return ret;
	if (n < 1 || n > 256)
		return -EINVAL;
	WRITE_ONCE(mmapper_fault_around, n);
	return 0;
}

static const struct kernel_param_ops mmapper_param_fault_around_ops = {
	.set = mmapper_param_fault_around_set,
	.get = param_get_uint,
};

module_param_cb(fault_around, &mmapper_param_fault_around_ops,
		&mmapper_fault_around, 0644);
MODULE_PARM_DESC(fault_around,
		 "pages the vmalloc-fault backend maps per fault, 1-256 (default 16; 1: one page per fault)");

static char *backend = "vmalloc";
module_param(backend, charp, 0444);
MODULE_PARM_DESC(backend, "initial backend of every device (default vmalloc)");

/* Set once by mmapper_init(), read-only afterwards. */
struct mmapper_dev *mmapper_devs;

/* Devices that exist, 0..mmapper_nr_devs - 1; guarded by mmapper_config_lock. */
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
	int ret;

	mutex_init(&mdev->lock);
	init_waitqueue_head(&mdev->change_wq);
	atomic_set(&mdev->nr_mappings, 0);
	spin_lock_init(&mdev->mappings_lock);
	INIT_LIST_HEAD(&mdev->mappings);
	mutex_init(&mdev->experiment_lock);
	mdev->index = index;

	mdev->buf = mmapper_buf_alloc(backend, mmapper_param_size);
	if (IS_ERR(mdev->buf)) {
		ret = PTR_ERR(mdev->buf);
		pr_err("mmapper%u: cannot allocate %llu bytes with backend %s (%pe)\n",
		       index, mmapper_param_size, backend->name, mdev->buf);
		goto err_mutex;
	}

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
	mmapper_buf_put(mdev->buf);
err_mutex:
	mutex_destroy(&mdev->experiment_lock);
	mutex_destroy(&mdev->lock);
	return ret;
}

static void mmapper_dev_destroy(struct mmapper_dev *mdev)
{
	mmapper_debugfs_remove(mdev);
	device_destroy(&mmapper_class, mdev->dev->devt);
	cdev_del(&mdev->cdev);
	mmapper_buf_put(mdev->buf);
	mutex_destroy(&mdev->experiment_lock);
	mutex_destroy(&mdev->lock);
}

/* Destroy every device, last first, each out of sight before it goes. */
static void mmapper_devs_destroy(void)
{
	while (mmapper_nr_devs) {
		unsigned int last;

		mutex_lock(&mmapper_config_lock);
		last = --mmapper_nr_devs;
		mutex_unlock(&mmapper_config_lock);
		mmapper_dev_destroy(&mmapper_devs[last]);
	}
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

static int __init mmapper_init(void)
{
	const struct mmapper_backend *b;
	unsigned int i;
	int ret;

	ret = mmapper_check_params(&b);
	if (ret)
		return ret;

	ret = alloc_chrdev_region(&mmapper_devt, 0, nr_devices, "mmapper");
	if (ret)
		return ret;

	ret = class_register(&mmapper_class);
	if (ret)
		goto err_chrdev;

	mmapper_devs = kcalloc(nr_devices, sizeof(*mmapper_devs), GFP_KERNEL);
	if (!mmapper_devs) {
		ret = -ENOMEM;
		goto err_class;
	}
	mmapper_debugfs_init();

	for (i = 0; i < nr_devices; i++) {
		ret = mmapper_dev_create(&mmapper_devs[i], i, b);
		if (ret)
			goto err_devs;
		mutex_lock(&mmapper_config_lock);
		mmapper_nr_devs = i + 1;
		mutex_unlock(&mmapper_config_lock);
	}

	pr_info("%u devices of %llu bytes, backend %s\n", nr_devices,
		mmapper_param_size, b->name);
	return 0;

err_devs:
	mmapper_devs_destroy();
	mmapper_debugfs_exit();
	kfree(mmapper_devs);
err_class:
	class_unregister(&mmapper_class);
err_chrdev:
	unregister_chrdev_region(mmapper_devt, nr_devices);
	return ret;
}

static void __exit mmapper_exit(void)
{
	mmapper_devs_destroy();
	mmapper_debugfs_exit();
	kfree(mmapper_devs);
	class_unregister(&mmapper_class);
	unregister_chrdev_region(mmapper_devt, nr_devices);
}

module_init(mmapper_init);
module_exit(mmapper_exit);

MODULE_DESCRIPTION("Kernel buffers that user space maps with mmap()");
MODULE_LICENSE("GPL");
MODULE_VERSION(MMAPPER_VERSION);
