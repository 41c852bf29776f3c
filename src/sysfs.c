// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper sysfs: /sys/class/mmapper/backend and, per device, backend and
 * size.  Documented in Documentation/ABI/testing/sysfs-class-mmapper.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "compat.h"
#include "mmapper.h"

/* Find a backend by the name written to sysfs; log once if there is none. */
static const struct mmapper_backend *
mmapper_backend_parse(struct device *dev, const char *buf)
{
	const struct mmapper_backend *backend = mmapper_backend_find(buf);
	int len = min_t(int, strcspn(buf, "\n"), 32);

	if (!backend && dev)
		dev_warn_ratelimited(dev, "unknown backend '%.*s'\n", len, buf);
	else if (!backend)
		pr_warn_ratelimited("unknown backend '%.*s'\n", len, buf);
	return backend;
}

/* Device attributes */

static ssize_t backend_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct mmapper_dev *mdev = dev_get_drvdata(dev);
	const struct mmapper_backend *cur;

	mutex_lock(&mdev->lock);
	cur = mdev->buf->backend;
	mutex_unlock(&mdev->lock);

	return mmapper_backend_list(buf, cur);
}

static ssize_t backend_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	struct mmapper_dev *mdev = dev_get_drvdata(dev);
	const struct mmapper_backend *backend;
	int ret;

	backend = mmapper_backend_parse(dev, buf);
	if (!backend)
		return -EINVAL;

	mutex_lock(&mdev->lock);
	ret = mmapper_dev_realloc(mdev, backend, mdev->buf->size);
	mutex_unlock(&mdev->lock);

	return ret ?: count;
}
static DEVICE_ATTR_RW(backend);

static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct mmapper_dev *mdev = dev_get_drvdata(dev);
	size_t size;

	mutex_lock(&mdev->lock);
	size = mdev->buf->size;
	mutex_unlock(&mdev->lock);

	return sysfs_emit(buf, "%zu\n", size);
}

static ssize_t size_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	struct mmapper_dev *mdev = dev_get_drvdata(dev);
	u64 size;
	int ret;

	ret = mmapper_parse_size(buf, &size);
	if (ret) {
		dev_warn_ratelimited(dev, "size '%.*s' is not a size\n",
				     min_t(int, strcspn(buf, "\n"), 32), buf);
		return ret;
	}

	mutex_lock(&mdev->lock);
	ret = mmapper_dev_realloc(mdev, mdev->buf->backend, size);
	mutex_unlock(&mdev->lock);

	return ret ?: count;
}
static DEVICE_ATTR_RW(size);

static struct attribute *mmapper_dev_attrs[] = {
	&dev_attr_backend.attr,
	&dev_attr_size.attr,
	NULL
};

static const struct attribute_group mmapper_dev_group = {
	.attrs = mmapper_dev_attrs,
};

const struct attribute_group *mmapper_dev_groups[] = {
	&mmapper_dev_group,
	NULL
};

/* Class attributes */

/*
 * Brackets mark the backend every device uses; when devices differ (one
 * was switched on its own), no backend is bracketed.
 */
static ssize_t mmapper_class_backend_show(MMAPPER_CLASS_ATTR_CONST struct class *class,
					  MMAPPER_CLASS_ATTR_CONST struct class_attribute *attr,
					  char *buf)
{
	const struct mmapper_backend *common = NULL;
	unsigned int i;

	mutex_lock(&mmapper_config_lock);
	for (i = 0; i < mmapper_nr_devs; i++) {
		struct mmapper_dev *mdev = &mmapper_devs[i];
		const struct mmapper_backend *b;

		mutex_lock(&mdev->lock);
		b = mdev->buf->backend;
		mutex_unlock(&mdev->lock);

		if (!i) {
			common = b;
		} else if (b != common) {
			common = NULL;
			break;
		}
	}
	mutex_unlock(&mmapper_config_lock);

	return mmapper_backend_list(buf, common);
}

static ssize_t mmapper_class_backend_store(MMAPPER_CLASS_ATTR_CONST struct class *class,
					   MMAPPER_CLASS_ATTR_CONST struct class_attribute *attr,
					   const char *buf, size_t count)
{
	const struct mmapper_backend *backend;
	int ret;

	backend = mmapper_backend_parse(NULL, buf);
	if (!backend)
		return -EINVAL;

	ret = mmapper_switch_all(backend);
	return ret ?: count;
}

static struct class_attribute mmapper_class_attr_backend =
	__ATTR(backend, 0644, mmapper_class_backend_show, mmapper_class_backend_store);

static struct attribute *mmapper_class_attrs[] = {
	&mmapper_class_attr_backend.attr,
	NULL
};

static const struct attribute_group mmapper_class_group = {
	.attrs = mmapper_class_attrs,
};

const struct attribute_group *mmapper_class_groups[] = {
	&mmapper_class_group,
	NULL
};
