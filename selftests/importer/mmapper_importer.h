/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The ioctl of mmapper_importer.ko, the selftests' own DMA-BUF importer
 * (not part of mmapper's ABI; built and loaded by the tests only).
 */
#ifndef _MMAPPER_IMPORTER_H
#define _MMAPPER_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The VMA the importer's mmap() hands to dma_buf_mmap(), as drivers do. */
enum mmapper_importer_preset {
	/* As mmap() made it: every in-tree caller since 5.17. */
	MMAPPER_IMPORTER_PLAIN,
	/*
	 * VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP, write-combined:
	 * drm_gem_mmap() of a driver without its own GEM ->mmap, which
	 * 5.10's exynos and etnaviv then pass on for an import.
	 */
	MMAPPER_IMPORTER_PFNMAP,
	/*
	 * VM_MIXEDMAP | VM_DONTEXPAND, write-combined: no in-tree caller of
	 * dma_buf_mmap() does this; it is the other flag the exporter's
	 * insert calls refuse (vmf_insert_pfn() with both is a BUG()).
	 */
	MMAPPER_IMPORTER_MIXEDMAP,
	MMAPPER_IMPORTER_NR_PRESETS,
};

struct mmapper_importer_import {
	__s32 fd;	/* a DMA-BUF descriptor; the importer keeps a reference */
	__u32 preset;	/* enum mmapper_importer_preset */
};

/* Import @fd: what the next mmap() of this descriptor maps. */
#define MMAPPER_IMPORTER_IMPORT	_IOW('m', 0xf0, struct mmapper_importer_import)

#endif /* _MMAPPER_IMPORTER_H */
