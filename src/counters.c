// SPDX-License-Identifier: GPL-2.0
/*
 * The statistics of a device, one table: each __u64 field of struct
 * mmapper_stats (the UAPI) has its line here, and sysfs stats/, the
 * debugfs summary and MMAPPER_IOC_GET_STATS are all generated from it.
 * A new statistic is its field at the end of struct mmapper_stats (with
 * its MMAPPER_STATS_SIZE_VER<n>) and its line below.
 */
#include <linux/build_bug.h>
#include <linux/bug.h>
#include <linux/init.h>

#include "mmapper.h"

static u64 mmapper_active_mappings(const struct mmapper_dev *mdev)
{
	return atomic_read(&mdev->nr_mappings);
}

static u64 mmapper_exports(const struct mmapper_dev *mdev)
{
	return atomic_read(&mdev->nr_exports);
}

/* A count: kept in struct mmapper_counters, zeroed by stats/reset. */
#define MMAPPER_COUNT(field) \
	[MMAPPER_STAT_IDX(field)] = { .name = #field }
/* A level: read from the device's state. */
#define MMAPPER_LEVEL(field, fn) \
	[MMAPPER_STAT_IDX(field)] = { .name = #field, .level = fn }

const struct mmapper_stat_desc mmapper_stat_descs[] = {
	MMAPPER_COUNT(opens),
	MMAPPER_COUNT(mmaps),
	MMAPPER_LEVEL(active_mappings, mmapper_active_mappings),
	MMAPPER_COUNT(faults),
	MMAPPER_COUNT(huge_faults),
	MMAPPER_COUNT(bytes_read),
	MMAPPER_COUNT(bytes_written),
	MMAPPER_COUNT(resizes),
	MMAPPER_COUNT(alloc_failures),
	MMAPPER_LEVEL(exports, mmapper_exports),
	MMAPPER_COUNT(exports_total),
};

/* A field added at the end of struct mmapper_stats without its line. */
static_assert(ARRAY_SIZE(mmapper_stat_descs) == MMAPPER_NR_STATS);

/**
 * mmapper_stats_check() - is every statistic of the UAPI in the table?
 *
 * The build fails when the table has fewer slots than the struct has
 * statistics (a new last field without its line); a field without its
 * line in the middle leaves a slot without a name, which this finds at
 * load.
 *
 * Return: 0, or -EINVAL (with a warning: a bug in this file).
 */
int __init mmapper_stats_check(void)
{
	unsigned int i;

	/* Every statistic is a __u64 from @opens to the end of the struct. */
	BUILD_BUG_ON((sizeof(struct mmapper_stats) - MMAPPER_STATS_FIRST) %
		     sizeof(__u64));
	for (i = 0; i < MMAPPER_NR_STATS; i++)
		if (WARN(!mmapper_stat_descs[i].name,
			 "statistic %u of struct mmapper_stats has no line in counters.c\n", i))
			return -EINVAL;
	return 0;
}

/**
 * mmapper_stat_read() - the value of one statistic of a device
 * @mdev: the device
 * @idx: the statistic, below MMAPPER_NR_STATS
 *
 * Return: the value, read without a lock.
 */
u64 mmapper_stat_read(const struct mmapper_dev *mdev, unsigned int idx)
{
	const struct mmapper_stat_desc *d = &mmapper_stat_descs[idx];

	return d->level ? d->level(mdev) : atomic64_read(&mdev->stats.v[idx]);
}

/**
 * mmapper_stats_reset() - zero every count of a device; levels stay
 * @mdev: the device
 */
void mmapper_stats_reset(struct mmapper_dev *mdev)
{
	unsigned int i;

	for (i = 0; i < MMAPPER_NR_STATS; i++)
		if (!mmapper_stat_descs[i].level)
			atomic64_set(&mdev->stats.v[i], 0);
}
