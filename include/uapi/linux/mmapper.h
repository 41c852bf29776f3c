/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mmapper - kernel buffers that user space maps with mmap()
 *
 * The whole user-space ABI of mmapper other than sysfs and debugfs.
 *
 * Every ioctl argument is an extensible struct whose first member, @size,
 * is set by the caller to sizeof() the struct it was compiled with.  The
 * kernel accepts any size from the first published version (the *_SIZE_VER0
 * constants) upward:
 *
 *  - a caller's struct smaller than the kernel's: the missing fields take
 *    their zero defaults on input and are not written on output;
 *  - a caller's struct larger than the kernel's: the unknown trailing bytes
 *    must be zero on input (else -E2BIG) and are left untouched on output.
 *
 * On output the kernel stores in @size the number of bytes it wrote.
 * Unknown bits in @flags and non-zero reserved fields give -EINVAL.
 *
 * The size bits of the ioctl numbers below are those of the first version of
 * each struct; the kernel dispatches on type and number only, so a binary
 * built against a later, larger struct still reaches the same ioctl.
 */
#ifndef _UAPI_LINUX_MMAPPER_H
#define _UAPI_LINUX_MMAPPER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MMAPPER_VERSION_MAJOR		0
#define MMAPPER_VERSION_MINOR		1

/* Longest backend name, including the terminating NUL. */
#define MMAPPER_BACKEND_NAME_LEN	32

/**
 * struct mmapper_info - what MMAPPER_IOC_GET_INFO reports
 * @size: in: sizeof(struct mmapper_info) of the caller; out: bytes written
 * @flags: must be zero
 * @buf_size: buffer size in bytes (always a whole number of pages)
 * @page_size: the kernel's PAGE_SIZE
 * @nr_mappings: live user mappings (VMAs) of this device right now
 * @version: (MMAPPER_VERSION_MAJOR << 16) | MMAPPER_VERSION_MINOR
 * @caps: MMAPPER_CAP_* bits: what this module can do on this kernel
 * @backend: NUL-terminated name of the backend in force
 * @cache: the buffer's cache mode, an MMAPPER_CACHE_* value (since VER1)
 * @caches: the cache modes this machine offers, bit (1 << MMAPPER_CACHE_*)
 *	of each; MMAPPER_CACHE_CACHED is always there (since VER1)
 */
struct mmapper_info {
	__u32 size;
	__u32 flags;
	__u64 buf_size;
	__u32 page_size;
	__u32 nr_mappings;
	__u32 version;
	__u32 caps;
	char backend[MMAPPER_BACKEND_NAME_LEN];
	__u32 cache;
	__u32 caches;
};

#define MMAPPER_INFO_SIZE_VER0		64
#define MMAPPER_INFO_SIZE_VER1		72

/* The "huge" backend maps 2 MiB entries (kernel 6.12+); else 4 KiB only. */
#define MMAPPER_CAP_HUGE_PMD		(1U << 0)
/*
 * The "pages" backend maps 2 MiB entries of refcounted pages (kernel
 * 6.15+) where its memory came in 2 MiB folios; else 4 KiB only.
 */
#define MMAPPER_CAP_PAGES_PMD		(1U << 1)

/**
 * struct mmapper_set_size - argument of MMAPPER_IOC_SET_SIZE
 * @size: sizeof(struct mmapper_set_size) of the caller
 * @flags: must be zero
 * @buf_size: new size in bytes, rounded up to whole pages; the first
 *	min(old, new) bytes are kept, new bytes read zero (like realloc)
 */
struct mmapper_set_size {
	__u32 size;
	__u32 flags;
	__u64 buf_size;
};

#define MMAPPER_SET_SIZE_SIZE_VER0	16

/**
 * struct mmapper_set_backend - argument of MMAPPER_IOC_SET_BACKEND
 * @size: sizeof(struct mmapper_set_backend) of the caller
 * @flags: must be zero
 * @backend: NUL-terminated backend name, as listed in sysfs
 */
struct mmapper_set_backend {
	__u32 size;
	__u32 flags;
	char backend[MMAPPER_BACKEND_NAME_LEN];
};

#define MMAPPER_SET_BACKEND_SIZE_VER0	40

/**
 * struct mmapper_range - a byte range of the buffer, for FILL and CHECKSUM
 * @size: sizeof(struct mmapper_range) of the caller; out: bytes written
 * @flags: must be zero
 * @offset: first byte of the range
 * @length: bytes in the range; offset + length must not pass the buffer end
 * @pattern: FILL: the byte (low 8 bits, the rest must be zero) to store
 * @reserved: zero
 * @checksum: CHECKSUM, out: 32-bit FNV-1a hash of the range's bytes;
 *	in: zero (for FILL too), else EINVAL
 */
struct mmapper_range {
	__u32 size;
	__u32 flags;
	__u64 offset;
	__u64 length;
	__u32 pattern;
	__u32 reserved;
	__u64 checksum;
};

#define MMAPPER_RANGE_SIZE_VER0		40

/**
 * struct mmapper_stats - what MMAPPER_IOC_GET_STATS reports
 * @size: in: sizeof(struct mmapper_stats) of the caller; out: bytes written
 * @flags: must be zero
 * @opens: open() calls on the device
 * @mmaps: successful mmap() calls
 * @active_mappings: live mappings (VMAs) right now
 * @faults: page faults the driver answered with a 4 KiB entry
 * @huge_faults: page faults the driver answered with a 2 MiB entry
 * @bytes_read: bytes returned by read()
 * @bytes_written: bytes stored by write()
 * @resizes: successful changes of size, backend or cache mode
 * @alloc_failures: changes refused because memory could not be allocated
 * @exports: DMA-BUF exports of the buffer that live right now (a level,
 *	like @active_mappings; since MMAPPER_STATS_SIZE_VER1)
 * @exports_total: DMA-BUF exports made (MMAPPER_IOC_EXPORT_DMABUF calls
 *	that succeeded; since MMAPPER_STATS_SIZE_VER1)
 *
 * Counters count since load (or since the last reset through sysfs).
 */
struct mmapper_stats {
	__u32 size;
	__u32 flags;
	__u64 opens;
	__u64 mmaps;
	__u64 active_mappings;
	__u64 faults;
	__u64 huge_faults;
	__u64 bytes_read;
	__u64 bytes_written;
	__u64 resizes;
	__u64 alloc_failures;
	__u64 exports;
	__u64 exports_total;
};

#define MMAPPER_STATS_SIZE_VER0		80
#define MMAPPER_STATS_SIZE_VER1		96

/**
 * struct mmapper_put_user - argument of MMAPPER_IOC_PUT_USER
 * @size: in: sizeof(struct mmapper_put_user) of the caller; out: bytes written
 * @flags: must be zero
 * @addr: in: a user address of the caller, typically inside its own,
 *	not yet touched, mapping of the device
 * @value: in: the 64-bit value the kernel stores there with put_user()
 * @result: out: 0, or the put_user()/get_user() error (-EFAULT); in: zero
 * @faults: out: page faults this device's handlers answered for the caller
 *	while the kernel stored (4 KiB and 2 MiB); in: zero
 * @readback: out: what get_user() read back from @addr; in: zero
 *
 * The ioctl itself succeeds whatever put_user() met; it fails with
 * -EFAULT only when the argument struct cannot be read or written.
 */
struct mmapper_put_user {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 value;
	__s32 result;
	__u32 faults;
	__u64 readback;
};

#define MMAPPER_PUT_USER_SIZE_VER0	40

/**
 * struct mmapper_export - argument of MMAPPER_IOC_EXPORT_DMABUF
 * @size: in: sizeof(struct mmapper_export) of the caller; out: bytes written
 * @flags: in: the access mode, O_RDONLY or O_RDWR, optionally or-ed with
 *	O_CLOEXEC (the values of <fcntl.h>); any other bit gives EINVAL.
 *	O_RDWR needs a device descriptor open for reading and writing,
 *	O_RDONLY one open for reading (else EACCES).
 * @offset: in: first byte of the range, a multiple of the page size
 * @length: in: bytes in the range, a non-zero multiple of the page size;
 *	offset + length must not pass the end of the buffer (else EINVAL)
 * @fd: out: the DMA-BUF file descriptor; in: zero
 * @reserved: zero
 * @inode: out: the DMA-BUF's inode number, as fstat() gives it
 *	(st_ino) and debugfs shows it (mmapper's exports, the DMA-BUF
 *	core's bufinfo); in: zero
 *
 * The DMA-BUF holds the buffer: until its last user (descriptor, mapping,
 * importer) is gone the buffer lives, even after every descriptor of the
 * device is closed, and its size, backend and cache mode cannot change
 * (EBUSY), as while it is mapped.
 */
struct mmapper_export {
	__u32 size;
	__u32 flags;
	__u64 offset;
	__u64 length;
	__s32 fd;
	__u32 reserved;
	__u64 inode;
};

#define MMAPPER_EXPORT_SIZE_VER0	40
/*
 * Cache modes: the memory type of every mapping of the buffer's pages, the
 * kernel's and user space's alike (sysfs names them cached, write-combine,
 * uncached).  CACHED is write-back, the kernel's own type for RAM;
 * WRITE_COMBINE is write-combining; UNCACHED is uncached-minus (x86 PAT's
 * UC-, which the MTRRs of RAM make uncached).
 */
#define MMAPPER_CACHE_CACHED		0
#define MMAPPER_CACHE_WRITE_COMBINE	1
#define MMAPPER_CACHE_UNCACHED		2

/**
 * struct mmapper_set_cache - argument of MMAPPER_IOC_SET_CACHE
 * @size: sizeof(struct mmapper_set_cache) of the caller
 * @flags: must be zero
 * @cache: the new cache mode, an MMAPPER_CACHE_* value; the data is kept
 * @reserved: zero
 */
struct mmapper_set_cache {
	__u32 size;
	__u32 flags;
	__u32 cache;
	__u32 reserved;
};

#define MMAPPER_SET_CACHE_SIZE_VER0	16

#define MMAPPER_IOC_MAGIC		0xb7

#define MMAPPER_IOC_GET_INFO	_IOWR(MMAPPER_IOC_MAGIC, 0x00, struct mmapper_info)
#define MMAPPER_IOC_SET_SIZE	_IOW(MMAPPER_IOC_MAGIC, 0x01, struct mmapper_set_size)
#define MMAPPER_IOC_SET_BACKEND	_IOW(MMAPPER_IOC_MAGIC, 0x02, struct mmapper_set_backend)
#define MMAPPER_IOC_FILL	_IOW(MMAPPER_IOC_MAGIC, 0x03, struct mmapper_range)
#define MMAPPER_IOC_CHECKSUM	_IOWR(MMAPPER_IOC_MAGIC, 0x04, struct mmapper_range)
#define MMAPPER_IOC_GET_STATS	_IOWR(MMAPPER_IOC_MAGIC, 0x05, struct mmapper_stats)
#define MMAPPER_IOC_PUT_USER	_IOWR(MMAPPER_IOC_MAGIC, 0x06, struct mmapper_put_user)
#define MMAPPER_IOC_EXPORT_DMABUF _IOWR(MMAPPER_IOC_MAGIC, 0x07, struct mmapper_export)
#define MMAPPER_IOC_SET_CACHE	_IOW(MMAPPER_IOC_MAGIC, 0x08, struct mmapper_set_cache)

#endif /* _UAPI_LINUX_MMAPPER_H */
