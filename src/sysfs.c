// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper sysfs: /sys/class/mmapper/{backend,hot_add,hot_remove} and, per
 * device, backend, size, cache, phys_addr and stats/.  Documented in
 * Documentation/ABI/testing/sysfs-class-mmapper.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/device.h>
#include <linux/io.h>
#include <linux/kstrtox.h>
#include <linux/string.h>
#include <linux/sysfs.h>

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
	cur = mmapper_dev_buf(mdev)->backend;
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

	ret = mmapper_dev_set_backend(mdev, backend);
	return ret ?: count;
}
static DEVICE_ATTR_RW(backend);

static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct mmapper_dev *mdev = dev_get_drvdata(dev);
	size_t size;

	mutex_lock(&mdev->lock);
	size = mmapper_dev_buf(mdev)->size;
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

	ret = mmapper_dev_set_size(mdev, size);
	return ret ?: count;
}
static DEVICE_ATTR_RW(size);

/* cache: the modes this machine offers, the device's in brackets. */
static ssize_t cache_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct mmapper_dev *mdev = dev_get_drvdata(dev);
	unsigned int cur;

	mutex_lock(&mdev->lock);
	cur = mmapper_dev_buf(mdev)->cache;
	mutex_unlock(&mdev->lock);

	return mmapper_cache_list(buf, cur);
}

static ssize_t cache_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct mmapper_dev *mdev = dev_get_drvdata(dev);
	int cache, ret;

	cache = mmapper_cache_find(buf);
	if (cache < 0) {
		dev_warn_ratelimited(dev, "unknown cache mode '%.*s'\n",
				     min_t(int, strcspn(buf, "\n"), 32), buf);
		return cache;
	}

	ret = mmapper_dev_set_cache(mdev, cache);
	return ret ?: count;
}
static DEVICE_ATTR_RW(cache);

static struct attribute *mmapper_dev_attrs[] = {
	&dev_attr_backend.attr,
	&dev_attr_size.attr,
	&dev_attr_cache.attr,
	NULL
};

static const struct attribute_group mmapper_dev_group = {
	.attrs = mmapper_dev_attrs,
};

/*
 * phys_addr: root only, and only while the backend is physically
 * contiguous; a backend change re-evaluates its visibility.
 */
static ssize_t phys_addr_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct mmapper_dev *mdev = dev_get_drvdata(dev);
	const struct mmapper_buf *mbuf;
	phys_addr_t phys = 0;
	bool contiguous;

	mutex_lock(&mdev->lock);
	mbuf = mmapper_dev_buf(mdev);
	contiguous = mbuf->backend->contiguous;
	if (contiguous)
		phys = page_to_phys(mbuf->backend->page_at(mbuf, 0));
	mutex_unlock(&mdev->lock);

	/* Lost a race with a backend change that is hiding the file. */
	if (!contiguous)
		return -ENODATA;
	return sysfs_emit(buf, "%pa\n", &phys);
}
static DEVICE_ATTR_ADMIN_RO(phys_addr);

static umode_t mmapper_phys_visible(struct kobject *kobj, struct attribute *attr,
				    int n)
{
	struct mmapper_dev *mdev = dev_get_drvdata(kobj_to_dev(kobj));
	bool contiguous;

	mutex_lock(&mdev->lock);
	contiguous = mmapper_dev_buf(mdev)->backend->contiguous;
	mutex_unlock(&mdev->lock);

	return contiguous ? attr->mode : 0;
}

static struct attribute *mmapper_phys_attrs[] = {
	&dev_attr_phys_addr.attr,
	NULL
};

static const struct attribute_group mmapper_phys_group = {
	.attrs = mmapper_phys_attrs,
	.is_visible = mmapper_phys_visible,
};

/*
 * Serialises sysfs_update_group() and mmapper_dev.sysfs_live: two updates
 * at once could add a file twice, and so could an update while
 * device_add() still makes the groups (a writer of "backend", whose group
 * is made first, can come in between): the update removes phys_addr,
 * device_add() makes it, the update's add fails with -EEXIST and takes
 * device_add()'s file away with its own.
 */
static DEFINE_MUTEX(mmapper_sysfs_update_lock);

static void mmapper_sysfs_update_locked(struct mmapper_dev *mdev)
{
	int ret;

	lockdep_assert_held(&mmapper_sysfs_update_lock);
	ret = sysfs_update_group(&mdev->dev.kobj, &mmapper_phys_group);
	if (ret)
		dev_warn(&mdev->dev, "cannot update phys_addr (%pe)\n", ERR_PTR(ret));
}

/**
 * mmapper_sysfs_changed() - show or hide phys_addr after a backend change
 * @mdev: the device; its lock must not be held (phys_addr_show() takes it)
 *
 * Before mmapper_sysfs_live() the device's groups are still being made:
 * the change is noted, and going live updates them.
 */
void mmapper_sysfs_changed(struct mmapper_dev *mdev)
{
	mutex_lock(&mmapper_sysfs_update_lock);
	if (mdev->sysfs_live)
		mmapper_sysfs_update_locked(mdev);
	else
		mdev->sysfs_stale = true;
	mutex_unlock(&mmapper_sysfs_update_lock);
}

/**
 * mmapper_sysfs_live() - the device's attributes are all made, or go now
 * @mdev: the device; its lock must not be held
 * @live: true once device_add() has returned; false before device_del()
 *
 * Going live brings phys_addr up to a change made while device_add() was
 * making the groups, and only then: the file is not taken away and made
 * again under a reader woken by the uevent for nothing.
 */
void mmapper_sysfs_live(struct mmapper_dev *mdev, bool live)
{
	mutex_lock(&mmapper_sysfs_update_lock);
	mdev->sysfs_live = live;
	if (live && mdev->sysfs_stale)
		mmapper_sysfs_update_locked(mdev);
	mdev->sysfs_stale = false;
	mutex_unlock(&mmapper_sysfs_update_lock);
}

/*
 * mmapper_sysfs_changed() for every device, under mmapper_config_lock: a
 * device leaves the set under that lock before it is destroyed, so none
 * goes while its attributes are updated here.
 */
void mmapper_sysfs_changed_all(void)
{
	struct mmapper_dev *mdev;
	int id;

	mutex_lock(&mmapper_config_lock);
	mmapper_for_each_dev(mdev, id)
		mmapper_sysfs_changed(mdev);
	mutex_unlock(&mmapper_config_lock);
}

/*
 * stats/: one read-only file per statistic, made from the table of
 * counters.c by mmapper_sysfs_init(), and reset.
 */

struct mmapper_stat_attr {
	struct device_attribute attr;
	unsigned int idx;
};

static ssize_t mmapper_stat_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct mmapper_stat_attr *sa = container_of(attr, struct mmapper_stat_attr, attr);

	return sysfs_emit(buf, "%llu\n", mmapper_stat_read(dev_get_drvdata(dev), sa->idx));
}

/* Writing 1 zeroes every count; a level (active_mappings) is a state. */
static ssize_t reset_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	bool reset;

	if (kstrtobool(buf, &reset) || !reset)
		return -EINVAL;
	mmapper_stats_reset(dev_get_drvdata(dev));
	return count;
}
static DEVICE_ATTR_WO(reset);

static struct mmapper_stat_attr mmapper_stat_attrs[MMAPPER_NR_STATS] __ro_after_init;
/* Each statistic, reset, and the terminating NULL. */
static struct attribute *mmapper_stats_attrs[MMAPPER_NR_STATS + 2] __ro_after_init;

/**
 * mmapper_sysfs_init() - make stats/ from the statistics table
 *
 * Context: at load, before the first device is created.
 */
void __init mmapper_sysfs_init(void)
{
	unsigned int i;

	for (i = 0; i < MMAPPER_NR_STATS; i++) {
		struct mmapper_stat_attr *sa = &mmapper_stat_attrs[i];

		sa->attr.attr.name = mmapper_stat_descs[i].name;
		sa->attr.attr.mode = 0444;
		sa->attr.show = mmapper_stat_show;
		sa->idx = i;
		mmapper_stats_attrs[i] = &sa->attr.attr;
	}
	mmapper_stats_attrs[i] = &dev_attr_reset.attr;
}

static const struct attribute_group mmapper_stats_group = {
	.name = "stats",
	.attrs = mmapper_stats_attrs,
};

const struct attribute_group *mmapper_dev_groups[] = {
	&mmapper_dev_group,
	&mmapper_phys_group,
	&mmapper_stats_group,
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
	struct mmapper_dev *mdev;
	bool first = true;
	int id;

	mutex_lock(&mmapper_config_lock);
	mmapper_for_each_dev(mdev, id) {
		const struct mmapper_backend *b;

		mutex_lock(&mdev->lock);
		b = mmapper_dev_buf(mdev)->backend;
		mutex_unlock(&mdev->lock);

		if (first) {
			common = b;
			first = false;
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
	if (!ret)
		mmapper_sysfs_changed_all();
	return ret ?: count;
}

static struct class_attribute mmapper_class_attr_backend =
	__ATTR(backend, 0644, mmapper_class_backend_show, mmapper_class_backend_store);

/*
 * hot_add and hot_remove: root only.  The modes keep other users out; the
 * capability check keeps out a root without CAP_SYS_ADMIN (a container's,
 * or one that dropped it), as for the other knobs that take memory or
 * take a device away.
 */
static ssize_t mmapper_class_hot_add_show(MMAPPER_CLASS_ATTR_CONST struct class *class,
					  MMAPPER_CLASS_ATTR_CONST struct class_attribute *attr,
					  char *buf)
{
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = mmapper_dev_add();
	if (ret < 0)
		return ret;
	return sysfs_emit(buf, "%d\n", ret);
}

static ssize_t mmapper_class_hot_remove_store(MMAPPER_CLASS_ATTR_CONST struct class *class,
					      MMAPPER_CLASS_ATTR_CONST struct class_attribute *attr,
					      const char *buf, size_t count)
{
	unsigned int index;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = kstrtouint(buf, 10, &index);
	if (ret)
		return -EINVAL;
	ret = mmapper_dev_remove(index);
	return ret ?: count;
}

static struct class_attribute mmapper_class_attr_hot_add =
	__ATTR(hot_add, 0400, mmapper_class_hot_add_show, NULL);
static struct class_attribute mmapper_class_attr_hot_remove =
	__ATTR(hot_remove, 0200, NULL, mmapper_class_hot_remove_store);

static struct attribute *mmapper_class_attrs[] = {
	&mmapper_class_attr_backend.attr,
	&mmapper_class_attr_hot_add.attr,
	&mmapper_class_attr_hot_remove.attr,
	NULL
};

static const struct attribute_group mmapper_class_group = {
	.attrs = mmapper_class_attrs,
};

const struct attribute_group *mmapper_class_groups[] = {
	&mmapper_class_group,
	NULL
};
