// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper selftests: every test runs once per backend (FIXTURE_VARIANT) on
 * /dev/mmapper0, which the fixture switches to that backend and to a small
 * size first.  Run as root with the module loaded (see test_mmapper.sh).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/mmapper.h>

#include "kselftest_harness.h"
#include "mmapper_common.h"

#define DEV		"/dev/mmapper0"
#define SYSDIR		"/sys/class/mmapper/mmapper0"
#define CLASS_BACKEND	"/sys/class/mmapper/backend"
#define FAULT_AROUND	"/sys/module/mmapper/parameters/fault_around"
#define NPAGES		16

/* An address no process maps; volatile keeps the compiler from judging it. */
static void *volatile bad_ptr = (void *)16;

#define NR_BACKENDS	6
static const char *const all_backends[NR_BACKENDS] = {
	"kmalloc", "vmalloc", "vmalloc-fault", "vmalloc-user", "pages", "huge",
};

#define SZ_2M		(2UL << 20)

/* What a backend attribute reads with @cur in brackets (NULL: none). */
static const char *backend_list(const char *cur)
{
	static char buf[256];
	size_t len = 0;
	int i;

	for (i = 0; i < NR_BACKENDS; i++)
		len += snprintf(buf + len, sizeof(buf) - len,
				cur && !strcmp(cur, all_backends[i]) ? "%s[%s]" : "%s%s",
				i ? " " : "", all_backends[i]);
	return buf;
}

static int get_stats(int fd, struct mmapper_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ioctl(fd, MMAPPER_IOC_GET_STATS, st) ? -errno : 0;
}

/* The @key line of /proc/meminfo ("MemTotal", "MemAvailable"), in bytes. */
static unsigned long long meminfo(const char *key)
{
	char line[128], fmt[64];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	snprintf(fmt, sizeof(fmt), "%s: %%llu kB", key);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &kb) == 1)
			break;
	fclose(f);
	return kb << 10;
}

/*
 * Free memory in bytes, counting the pages on the per-CPU free lists,
 * which MemFree does not: since 5.13 they keep freed 2 MiB pages too, and
 * a buffer just freed may sit there (/proc/zoneinfo: each pageset's count).
 */
static unsigned long long free_memory(void)
{
	unsigned long long pcp = 0, n;
	char line[128];
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, " count: %llu", &n) == 1)
				pcp += n;
		fclose(f);
	}
	return meminfo("MemFree") + pcp * sysconf(_SC_PAGESIZE);
}

/* Write @val to sysfs file @path: 0 or -errno. */
static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* Read sysfs file @path into @buf without the trailing newline. */
static int sysfs_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static long long sysfs_read_ll(const char *path)
{
	char buf[64];

	if (sysfs_read(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 0);
}

static int set_size(size_t size)
{
	char val[32];

	snprintf(val, sizeof(val), "%zu", size);
	return sysfs_write(SYSDIR "/size", val);
}

static long check_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return i;
	return -1;
}


FIXTURE(mmapper) {
	int fd;
	size_t page;
	size_t size;
};

FIXTURE_VARIANT(mmapper) {
	const char *backend;
	/* MAP_PRIVATE is copy-on-write (else it is refused with EINVAL) */
	bool private_cow;
	/* get_user_pages() works on the mapping (else it is VM_PFNMAP) */
	bool gup;
	/* pages are mapped at the first touch, not at mmap() */
	bool lazy;
	/* physically contiguous: sysfs has phys_addr */
	bool contiguous;
};

FIXTURE_VARIANT_ADD(mmapper, kmalloc) {
	.backend = "kmalloc",
	.private_cow = false,
	.contiguous = true,
};

FIXTURE_VARIANT_ADD(mmapper, vmalloc) {
	.backend = "vmalloc",
	.private_cow = false,
};

FIXTURE_VARIANT_ADD(mmapper, vmalloc_fault) {
	.backend = "vmalloc-fault",
	.private_cow = true,
	.gup = true,
	.lazy = true,
};

FIXTURE_VARIANT_ADD(mmapper, vmalloc_user) {
	.backend = "vmalloc-user",
	.private_cow = false,
	.gup = true,
};

FIXTURE_VARIANT_ADD(mmapper, pages) {
	.backend = "pages",
	.private_cow = true,
	.gup = true,
};

FIXTURE_VARIANT_ADD(mmapper, huge) {
	.backend = "huge",
	.private_cow = false,
	.gup = false,
	.lazy = true,
};

FIXTURE_SETUP(mmapper)
{
	char cur[256];
	char want[64];

	self->page = sysconf(_SC_PAGESIZE);
	self->size = NPAGES * self->page;

	if (access(DEV, F_OK))
		SKIP(return, DEV " missing: is the mmapper module loaded?");

	/* One page per fault: these tests count faults and mapped pages. */
	ASSERT_EQ(0, sysfs_write(FAULT_AROUND, "1"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/cache", "cached"));
	ASSERT_EQ(0, set_size(self->size));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", variant->backend));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/backend", cur, sizeof(cur)));
	snprintf(want, sizeof(want), "[%s]", variant->backend);
	ASSERT_NE(NULL, strstr(cur, want)) TH_LOG("backend reads '%s'", cur);
	ASSERT_EQ(self->size, sysfs_read_ll(SYSDIR "/size"));

	self->fd = open(DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	/* Start every test from a known, zero buffer. */
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0));
}

FIXTURE_TEARDOWN(mmapper)
{
	if (self->fd >= 0)
		close(self->fd);
}

static unsigned char *map_dev(int fd, size_t len, off_t off, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

/* Bytes written with write() are seen through the mapping, at once. */
TEST_F(mmapper, write_seen_through_mapping)
{
	unsigned char *buf = malloc(self->size);
	unsigned char *map;

	ASSERT_NE(NULL, buf);
	fill_pattern(buf, 0, self->size, 1);
	ASSERT_EQ((ssize_t)self->size, pwrite(self->fd, buf, self->size, 0));

	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(-1, check_pattern(map, 0, self->size, 1));

	/* A write after the mapping exists is seen too. */
	fill_pattern(buf, 0, 100, 2);
	ASSERT_EQ(100, pwrite(self->fd, buf, 100, 3 * self->page + 5));
	EXPECT_EQ(-1, check_pattern(map + 3 * self->page + 5, 0, 100, 2));

	munmap(map, self->size);
	free(buf);
}

/* Stores through the mapping are seen by read() and by the kernel. */
TEST_F(mmapper, mapping_seen_by_read_and_kernel)
{
	unsigned char *buf = malloc(self->size);
	unsigned char *map;

	ASSERT_NE(NULL, buf);
	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	fill_pattern(map, 0, self->size, 3);

	ASSERT_EQ((ssize_t)self->size, pread(self->fd, buf, self->size, 0));
	EXPECT_EQ(-1, check_pattern(buf, 0, self->size, 3));
	EXPECT_EQ(fnv1a(map, self->size), kernel_checksum(self->fd, 0, self->size));
	EXPECT_EQ(fnv1a(map + 5, 3 * self->page),
		  kernel_checksum(self->fd, 5, 3 * self->page));

	munmap(map, self->size);
	free(buf);
}

/* What the kernel writes (MMAPPER_IOC_FILL) shows in a live mapping. */
TEST_F(mmapper, kernel_fill_seen_through_mapping)
{
	unsigned char *map;
	size_t i;

	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	/* Touch it first, so a backend that faults has pages mapped. */
	EXPECT_EQ(-1, check_zero(map, self->size));

	ASSERT_EQ(0, kernel_fill(self->fd, self->page + 1, 2 * self->page, 0xa5));
	for (i = 0; i < self->size; i++) {
		int in = i >= self->page + 1 && i < 3 * self->page + 1;

		if (map[i] != (in ? 0xa5 : 0))
			break;
	}
	EXPECT_EQ(self->size, i);

	/* Ranges past the end are refused. */
	EXPECT_EQ(-EINVAL, kernel_fill(self->fd, self->size, 1, 1));
	EXPECT_EQ(-EINVAL, kernel_fill(self->fd, 1, self->size, 1));
	EXPECT_EQ(-EINVAL, kernel_fill(self->fd, 0, 1, 0x100));
	EXPECT_EQ(-EINVAL, kernel_checksum(self->fd, ~0ULL, 2));

	munmap(map, self->size);
}

/* A mapping at a page offset sees the buffer from that offset. */
TEST_F(mmapper, page_offsets)
{
	unsigned char *buf = malloc(self->size);
	size_t off;

	ASSERT_NE(NULL, buf);
	fill_pattern(buf, 0, self->size, 4);
	ASSERT_EQ((ssize_t)self->size, pwrite(self->fd, buf, self->size, 0));

	for (off = 0; off < self->size; off += 5 * self->page) {
		size_t len = self->size - off;
		unsigned char *map = map_dev(self->fd, len, off, MAP_SHARED);

		ASSERT_NE(NULL, map) TH_LOG("offset %zu: %s", off, strerror(errno));
		EXPECT_EQ(-1, check_pattern(map, off, len, 4)) TH_LOG("offset %zu", off);
		map[len - 1] = 0x5a;
		munmap(map, len);
		ASSERT_EQ(1, pread(self->fd, buf, 1, self->size - 1));
		EXPECT_EQ(0x5a, buf[0]);
		buf[0] = pat(self->size - 1, 4);
		ASSERT_EQ(1, pwrite(self->fd, buf, 1, self->size - 1));
	}
	free(buf);
}

/* Mappings that reach past the end of the buffer are refused. */
TEST_F(mmapper, out_of_range_mmap)
{
	void *p;

	p = mmap(NULL, self->size + self->page, PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, self->page, PROT_READ, MAP_SHARED, self->fd, self->size);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, 2 * self->page, PROT_READ, MAP_SHARED, self->fd,
		 self->size - self->page);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	/* The whole buffer, exactly, is fine. */
	p = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, self->size);
}

/* mremap() cannot grow a mapping past what was mapped. */
TEST_F(mmapper, mremap_growth_refused)
{
	unsigned char *map = map_dev(self->fd, self->page, 0, MAP_SHARED);
	void *p;

	ASSERT_NE(NULL, map);
	p = mremap(map, self->page, 2 * self->page, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, p);
	munmap(map, self->page);
}

/*
 * A mapping moved by mremap(), then cut in three by munmap() of its middle,
 * then inherited by fork(), still shows the buffer at the right offsets;
 * unmapping it all leaves no mapping counted.  7.2 tracks the memory type
 * of remap_pfn_range() mappings per VMA (pfnmap_track(), 6.16): a move or
 * a split that lost the tracking shows as a PAT complaint in the log.
 */
TEST_F(mmapper, mremap_move_split_fork)
{
	size_t len = 8 * self->page, pg = self->page;
	unsigned char *map, *dst, *moved;
	int status;
	pid_t pid;

	map = map_dev(self->fd, len, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	fill_pattern(map, 0, len, 5);

	/* A free place to move to, not next to the mapping. */
	dst = mmap(NULL, 3 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	moved = mremap(map, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst + len);
	ASSERT_EQ(dst + len, moved);
	munmap(dst, len);
	munmap(dst + 2 * len, len);
	EXPECT_EQ(-1, check_pattern(moved, 0, len, 5));

	/* Cut out pages 3 and 4; the two pieces keep their offsets. */
	ASSERT_EQ(0, munmap(moved + 3 * pg, 2 * pg));
	EXPECT_EQ(-1, check_pattern(moved, 0, 3 * pg, 5));
	EXPECT_EQ(-1, check_pattern(moved + 5 * pg, 5 * pg, 3 * pg, 5));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* The child writes through both pieces it inherited. */
		if (check_pattern(moved, 0, 3 * pg, 5) != -1 ||
		    check_pattern(moved + 5 * pg, 5 * pg, 3 * pg, 5) != -1)
			_exit(1);
		moved[0] = 0xa5;
		moved[7 * pg] = 0x5a;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	/* Shared: the parent and the kernel see the child's writes. */
	EXPECT_EQ(0xa5, moved[0]);
	EXPECT_EQ(0x5a, moved[7 * pg]);
	EXPECT_EQ(fnv1a("\xa5", 1), kernel_checksum(self->fd, 0, 1));

	munmap(moved, 3 * pg);
	munmap(moved + 5 * pg, 3 * pg);
	EXPECT_EQ(0, sysfs_read_ll(SYSDIR "/stats/active_mappings"));
}

/* read()/write()/lseek() behave like a file of the buffer's size. */
TEST_F(mmapper, file_semantics)
{
	char c = 1;
	char buf[8];

	EXPECT_EQ((off_t)self->size, lseek(self->fd, 0, SEEK_END));
	EXPECT_EQ(0, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(-1, write(self->fd, &c, 1));
	EXPECT_EQ(ENOSPC, errno);

	/* A write that straddles the end is cut at the end. */
	EXPECT_EQ(4, pwrite(self->fd, "abcdefgh", 8, self->size - 4));
	EXPECT_EQ(4, pread(self->fd, buf, 8, self->size - 4));
	EXPECT_EQ(0, memcmp(buf, "abcd", 4));

	EXPECT_EQ(-1, lseek(self->fd, 1, SEEK_END));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(self->fd, buf, 1, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(self->fd, bad_ptr, 1, 0));
	EXPECT_EQ(EFAULT, errno);
}

/* Resizing keeps the first min(old, new) bytes, like realloc(). */
TEST_F(mmapper, resize_keeps_data)
{
	size_t big = 3 * self->size, small = 5 * self->page;
	unsigned char *buf = malloc(big);

	ASSERT_NE(NULL, buf);
	fill_pattern(buf, 0, self->size, 5);
	ASSERT_EQ((ssize_t)self->size, pwrite(self->fd, buf, self->size, 0));

	ASSERT_EQ(0, set_size(big));
	EXPECT_EQ((long long)big, sysfs_read_ll(SYSDIR "/size"));
	ASSERT_EQ((ssize_t)big, pread(self->fd, buf, big, 0));
	EXPECT_EQ(-1, check_pattern(buf, 0, self->size, 5));
	EXPECT_EQ(-1, check_zero(buf + self->size, big - self->size));

	ASSERT_EQ(0, set_size(small));
	EXPECT_EQ((ssize_t)small, pread(self->fd, buf, big, 0));
	EXPECT_EQ(-1, check_pattern(buf, 0, small, 5));

	/* Growing again: the bytes cut off earlier come back as zeros. */
	ASSERT_EQ(0, set_size(self->size));
	ASSERT_EQ((ssize_t)self->size, pread(self->fd, buf, self->size, 0));
	EXPECT_EQ(-1, check_pattern(buf, 0, small, 5));
	EXPECT_EQ(-1, check_zero(buf + small, self->size - small));

	/* Sizes are rounded up to whole pages; suffixes are accepted. */
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "100"));
	EXPECT_EQ((long long)self->page, sysfs_read_ll(SYSDIR "/size"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	EXPECT_EQ(65536, sysfs_read_ll(SYSDIR "/size"));

	/* The ioctl does the same. */
	{
		struct mmapper_set_size s = { .size = sizeof(s), .buf_size = 2 * self->page };
		struct mmapper_info info = { .size = sizeof(info) };

		/* Left from above: one page of pattern, then zeros. */
		memset(buf + self->page, 0, self->page);
		ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_SET_SIZE, &s));
		ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
		EXPECT_EQ(2 * self->page, info.buf_size);
		EXPECT_EQ(fnv1a(buf, 2 * self->page),
			  kernel_checksum(self->fd, 0, 2 * self->page));
	}
	free(buf);
}

/* Switching backend keeps every byte, through every other backend. */
TEST_F(mmapper, backend_switch_keeps_data)
{
	unsigned char *buf = malloc(self->size);
	unsigned int i;
	int64_t sum;

	ASSERT_NE(NULL, buf);
	fill_pattern(buf, 0, self->size, 6);
	ASSERT_EQ((ssize_t)self->size, pwrite(self->fd, buf, self->size, 0));
	sum = kernel_checksum(self->fd, 0, self->size);
	ASSERT_EQ(fnv1a(buf, self->size), sum);

	for (i = 0; i < NR_BACKENDS; i++) {
		unsigned char *map;

		ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", all_backends[i]));
		EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size))
			TH_LOG("after switching to %s", all_backends[i]);
		map = map_dev(self->fd, self->size, 0, MAP_SHARED);
		ASSERT_NE(NULL, map);
		EXPECT_EQ(-1, check_pattern(map, 0, self->size, 6))
			TH_LOG("mapped with %s", all_backends[i]);
		munmap(map, self->size);
	}

	/* Back through the ioctl. */
	{
		struct mmapper_set_backend b = { .size = sizeof(b) };
		struct mmapper_info info = { .size = sizeof(info) };

		strcpy(b.backend, variant->backend);
		ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_SET_BACKEND, &b));
		ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
		EXPECT_STREQ(variant->backend, info.backend);
		EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));

		strcpy(b.backend, "no-such-backend");
		EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_BACKEND, &b));
		EXPECT_EQ(EINVAL, errno);
		memset(b.backend, 'x', sizeof(b.backend));
		EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_BACKEND, &b));
		EXPECT_EQ(EINVAL, errno);
	}
	free(buf);
}

/* While mapped, size and backend changes are refused and change nothing. */
TEST_F(mmapper, change_refused_while_mapped)
{
	const char *other = strcmp(variant->backend, "vmalloc") ? "vmalloc" : "kmalloc";
	struct mmapper_set_size s = { .size = sizeof(s), .buf_size = 2 * self->size };
	struct mmapper_info info = { .size = sizeof(info) };
	unsigned char *map;
	char cur[256];
	char want[64];

	map = map_dev(self->fd, self->page, 2 * self->page, MAP_SHARED);
	ASSERT_NE(NULL, map);
	fill_pattern(map, 0, self->page, 7);

	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(1, info.nr_mappings);

	EXPECT_EQ(-EBUSY, set_size(2 * self->size));
	EXPECT_EQ(-EBUSY, sysfs_write(SYSDIR "/backend", other));
	EXPECT_EQ(-EBUSY, sysfs_write(CLASS_BACKEND, other));
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_SIZE, &s));
	EXPECT_EQ(EBUSY, errno);
	/* Asking for what is in force is not a change. */
	EXPECT_EQ(0, set_size(self->size));

	EXPECT_EQ((long long)self->size, sysfs_read_ll(SYSDIR "/size"));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/backend", cur, sizeof(cur)));
	snprintf(want, sizeof(want), "[%s]", variant->backend);
	EXPECT_NE(NULL, strstr(cur, want));
	EXPECT_EQ(-1, check_pattern(map, 0, self->page, 7));

	munmap(map, self->page);
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(0, info.nr_mappings);
	/* Unmapped: the same change now goes through and keeps the data. */
	EXPECT_EQ(0, set_size(2 * self->size));
	{
		unsigned char *buf = malloc(self->page);

		ASSERT_NE(NULL, buf);
		ASSERT_EQ((ssize_t)self->page, pread(self->fd, buf, self->page,
						     2 * self->page));
		EXPECT_EQ(-1, check_pattern(buf, 0, self->page, 7));
		free(buf);
	}
}

/* A child's inherited mapping keeps the buffer alive and in use. */
TEST_F(mmapper, fork_keeps_buffer)
{
	unsigned char *map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	int to_child[2], to_parent[2];
	char c;
	pid_t pid;
	int status;

	ASSERT_NE(NULL, map);
	fill_pattern(map, 0, self->size, 8);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(self->fd);
		/* Wait until the parent has unmapped and closed. */
		if (read(to_child[0], &c, 1) != 1)
			_exit(10);
		if (check_pattern(map, 0, self->size, 8) != -1)
			_exit(11);
		memset(map, 0x3c, self->page);
		/* A partial munmap splits the mapping; the rest stays. */
		if (munmap(map + self->page, self->page))
			_exit(12);
		if (write(to_parent[1], "x", 1) != 1)
			_exit(13);
		if (read(to_child[0], &c, 1) != 1)
			_exit(14);
		_exit(map[self->size - 1] == pat(self->size - 1, 8) ? 0 : 15);
	}

	munmap(map, self->size);
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	ASSERT_EQ(1, read(to_parent[0], &c, 1));

	/* The child still maps it (twice, after its split): busy. */
	EXPECT_EQ(-EBUSY, set_size(2 * self->size));

	ASSERT_EQ(1, write(to_child[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* The child's stores are in the buffer; nothing maps it now. */
	self->fd = open(DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(1, pread(self->fd, &c, 1, 0));
	EXPECT_EQ(0x3c, (unsigned char)c);
	EXPECT_EQ(0, set_size(2 * self->size));
}

/* MAP_PRIVATE: copy-on-write that never reaches the buffer, or EINVAL. */
TEST_F(mmapper, map_private)
{
	unsigned char *map;
	unsigned char c;

	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x11));
	map = map_dev(self->fd, self->size, 0, MAP_PRIVATE);
	if (!variant->private_cow) {
		EXPECT_EQ(NULL, map);
		EXPECT_EQ(EINVAL, errno);
		return;
	}
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0x11, map[0]);

	/* Before a write, the private mapping sees the buffer's changes. */
	ASSERT_EQ(0, kernel_fill(self->fd, 2 * self->page, self->page, 0x22));
	EXPECT_EQ(0x22, map[2 * self->page]);

	memset(map, 0x33, self->size);
	ASSERT_EQ(1, pread(self->fd, &c, 1, 0));
	EXPECT_EQ(0x11, c);
	ASSERT_EQ(1, pread(self->fd, &c, 1, 2 * self->page));
	EXPECT_EQ(0x22, c);
	EXPECT_EQ(0x33, map[2 * self->page]);
	munmap(map, self->size);
}

/*
 * MAP_SHARED of a descriptor opened read-only: the kernel clears VM_SHARED
 * (no write can ever go through such a mapping) but keeps VM_MAYSHARE.  It
 * is a shared mapping, and every backend takes it, read-only: it shows the
 * buffer, the kernel's later writes included; writing is refused (EACCES)
 * by the kernel, at mmap() and at mprotect().  debugfs says "r--s", as
 * /proc/PID/maps does.
 */
static int mapping_perms_count(unsigned long start, const char *perms);

TEST_F(mmapper, read_only_fd_shared_mapping)
{
	int rfd = open(DEV, O_RDONLY);
	unsigned char *map;

	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x3c));
	map = mmap(NULL, self->size, PROT_READ, MAP_SHARED, rfd, 0);
	ASSERT_NE(MAP_FAILED, map) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0x3c, map[0]);
	EXPECT_EQ(0x3c, map[self->size - 1]);
	ASSERT_EQ(0, kernel_fill(self->fd, self->page, self->page, 0xc3));
	EXPECT_EQ(0xc3, map[self->page + 7]);
	EXPECT_EQ(1, mapping_perms_count((unsigned long)map, "r--s"));

	EXPECT_EQ(-1, mprotect(map, self->page, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(map, self->size);

	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, rfd, 0));
	EXPECT_EQ(EACCES, errno);
	close(rfd);
}

/* Bad sysfs input gets EINVAL or ENOMEM and changes nothing. */
TEST_F(mmapper, bad_sysfs_input)
{
	static const char *const bad_sizes[] = {
		"0", "\n", "garbage", "12Q", "-1", "0x", "99999999999999999999",
		"20000000T",
	};
	char cur[256], before[256];
	unsigned int i;
	int64_t sum;

	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x77));
	sum = kernel_checksum(self->fd, 0, self->size);
	ASSERT_EQ(0, sysfs_read(SYSDIR "/backend", before, sizeof(before)));

	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/backend", "no-such-backend"));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/backend", "vmalloc-"));
	EXPECT_EQ(-EINVAL, sysfs_write(CLASS_BACKEND, "no-such-backend"));
	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		int ret = sysfs_write(SYSDIR "/size", bad_sizes[i]);

		EXPECT_TRUE(ret == -EINVAL || ret == -ERANGE)
			TH_LOG("size '%s' gave %d", bad_sizes[i], ret);
	}
	EXPECT_EQ(-ENOMEM, sysfs_write(SYSDIR "/size", "4T"));

	ASSERT_EQ(0, sysfs_read(SYSDIR "/backend", cur, sizeof(cur)));
	EXPECT_STREQ(before, cur);
	EXPECT_EQ((long long)self->size, sysfs_read_ll(SYSDIR "/size"));
	EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));
}

/* GET_INFO reports what sysfs says. */
TEST_F(mmapper, info)
{
	struct mmapper_info info;

	memset(&info, 0xff, sizeof(info));
	info.size = sizeof(info);
	info.flags = 0;
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ(self->size, info.buf_size);
	EXPECT_EQ(self->page, info.page_size);
	EXPECT_EQ(0, info.nr_mappings);
	EXPECT_EQ((MMAPPER_VERSION_MAJOR << 16) | MMAPPER_VERSION_MINOR, info.version);
	EXPECT_EQ(0, info.caps & ~(MMAPPER_CAP_HUGE_PMD | MMAPPER_CAP_PAGES_PMD));
	EXPECT_STREQ(variant->backend, info.backend);
	EXPECT_EQ(MMAPPER_CACHE_CACHED, info.cache);
	EXPECT_EQ(1, info.caches & 1);
}

/* Growing the buffer: the new bytes read zero, whatever was there before. */
TEST_F(mmapper, new_bytes_read_zero)
{
	unsigned char *map;

	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0xee));
	ASSERT_EQ(0, set_size(self->page));
	ASSERT_EQ(0, set_size(self->size));

	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0xee, map[self->page - 1]);
	EXPECT_EQ(-1, check_zero(map + self->page, self->size - self->page));
	munmap(map, self->size);
}

/* The ioctl ABI: extensible structs, bad flags, bad pointers, bad commands. */
TEST_F(mmapper, ioctl_abi)
{
	struct {
		struct mmapper_info info;
		unsigned char tail[16];
	} big;
	struct mmapper_range r = { .size = sizeof(r), .length = 1 };
	struct mmapper_info info = { .size = MMAPPER_INFO_SIZE_VER0 - 1 };
	struct {
		struct mmapper_range r;
		unsigned char tail[8];
	} bigr;
	int rfd;

	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);

	info.size = sizeof(info);
	info.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);

	/* A larger struct: the kernel fills what it knows, leaves the tail. */
	memset(&big, 0xab, sizeof(big));
	big.info.size = sizeof(big);
	big.info.flags = 0;
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &big));
	EXPECT_EQ(sizeof(struct mmapper_info), big.info.size);
	EXPECT_EQ(self->size, big.info.buf_size);
	EXPECT_EQ(0xab, big.tail[0]);

	/* Input structs: a zero tail is fine, a non-zero one is E2BIG. */
	memset(&bigr, 0, sizeof(bigr));
	bigr.r.size = sizeof(bigr);
	bigr.r.length = self->size;
	EXPECT_EQ(0, ioctl(self->fd, MMAPPER_IOC_CHECKSUM, &bigr));
	EXPECT_EQ(sizeof(struct mmapper_range), bigr.r.size);
	bigr.r.size = sizeof(bigr);
	bigr.tail[3] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_CHECKSUM, &bigr));
	EXPECT_EQ(E2BIG, errno);

	r.flags = 0x80;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, &r));
	EXPECT_EQ(EINVAL, errno);
	r.flags = 0;
	r.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, &r));
	EXPECT_EQ(EINVAL, errno);
	/* checksum is output only: non-zero on input is refused, for both. */
	r.reserved = 0;
	r.checksum = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_CHECKSUM, &r));
	EXPECT_EQ(EINVAL, errno);
	r.checksum = 0;
	EXPECT_EQ(0, ioctl(self->fd, MMAPPER_IOC_CHECKSUM, &r));
	EXPECT_NE(0, r.checksum);
	r.checksum = 0;

	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_GET_INFO, bad_ptr));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, bad_ptr));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(MMAPPER_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO('x', 0), 0));
	EXPECT_EQ(ENOTTY, errno);

	/* Changing ioctls need a descriptor open for writing. */
	rfd = open(DEV, O_RDONLY);
	ASSERT_LE(0, rfd);
	r.reserved = 0;
	EXPECT_EQ(-1, ioctl(rfd, MMAPPER_IOC_FILL, &r));
	EXPECT_EQ(EBADF, errno);
	info.size = sizeof(info);
	info.flags = 0;
	EXPECT_EQ(0, ioctl(rfd, MMAPPER_IOC_GET_INFO, &info));
	close(rfd);
}

/* Whole-driver tests, not per backend. */

TEST(class_backend_switches_every_device)
{
	char cur[256];
	char path[64];
	int i, n = 0;

	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, sysfs_write(CLASS_BACKEND, "vmalloc-user"));
	ASSERT_EQ(0, sysfs_read(CLASS_BACKEND, cur, sizeof(cur)));
	EXPECT_STREQ(backend_list("vmalloc-user"), cur);

	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/sys/class/mmapper/mmapper%d/backend", i);
		if (access(path, F_OK))
			break;
		ASSERT_EQ(0, sysfs_read(path, cur, sizeof(cur)));
		EXPECT_STREQ(backend_list("vmalloc-user"), cur);
		n++;
	}
	EXPECT_LE(1, n);

	/* One device on its own: no backend is in force for all. */
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "kmalloc"));
	ASSERT_EQ(0, sysfs_read(CLASS_BACKEND, cur, sizeof(cur)));
	if (n > 1)
		EXPECT_STREQ(backend_list(NULL), cur);

	ASSERT_EQ(0, sysfs_write(CLASS_BACKEND, "vmalloc"));
	ASSERT_EQ(0, sysfs_read(CLASS_BACKEND, cur, sizeof(cur)));
	EXPECT_STREQ(backend_list("vmalloc"), cur);
}

/* The class switch is all or none: one mapped device stops all. */
TEST(class_backend_all_or_none)
{
	char path[64], cur[256];
	int fd, i;
	void *map;

	ASSERT_EQ(0, sysfs_write(CLASS_BACKEND, "vmalloc"));
	fd = open("/dev/mmapper1", O_RDWR);
	if (fd < 0)
		SKIP(return, "needs a second device (nr_devices >= 2)");
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);

	EXPECT_EQ(-EBUSY, sysfs_write(CLASS_BACKEND, "kmalloc"));
	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/sys/class/mmapper/mmapper%d/backend", i);
		if (access(path, F_OK))
			break;
		ASSERT_EQ(0, sysfs_read(path, cur, sizeof(cur)));
		EXPECT_STREQ(backend_list("vmalloc"), cur)
			TH_LOG("mmapper%d", i);
	}
	munmap(map, 4096);
	close(fd);
	EXPECT_EQ(0, sysfs_write(CLASS_BACKEND, "kmalloc"));
	EXPECT_EQ(0, sysfs_write(CLASS_BACKEND, "vmalloc"));
}

/* kmalloc cannot hold more than KMALLOC_MAX_SIZE: E2BIG, nothing changes. */
TEST(kmalloc_size_limit)
{
	char cur[256];

	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64M"));
	EXPECT_EQ(-E2BIG, sysfs_write(SYSDIR "/backend", "kmalloc"));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/backend", cur, sizeof(cur)));
	EXPECT_STREQ(backend_list("vmalloc"), cur);

	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "1M"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "kmalloc"));
	EXPECT_EQ(-E2BIG, sysfs_write(SYSDIR "/size", "64M"));
	EXPECT_EQ(1 << 20, sysfs_read_ll(SYSDIR "/size"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
}

/* /proc/PID/mem reads and writes every backend's mapping. */
TEST_F(mmapper, proc_self_mem)
{
	unsigned char *map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	unsigned char buf[64];
	int mem;

	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x42));
	mem = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, mem);

	ASSERT_EQ(sizeof(buf), pread(mem, buf, sizeof(buf), (off_t)(map + self->page - 8)));
	EXPECT_EQ(0x42, buf[0]);
	EXPECT_EQ(0x42, buf[sizeof(buf) - 1]);

	memset(buf, 0x24, sizeof(buf));
	ASSERT_EQ(sizeof(buf), pwrite(mem, buf, sizeof(buf), (off_t)(map + 2 * self->page - 8)));
	close(mem);

	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(sizeof(buf), pread(self->fd, buf, sizeof(buf), 2 * self->page - 8));
	EXPECT_EQ(0x24, buf[0]);
	EXPECT_EQ(0x24, buf[sizeof(buf) - 1]);
	EXPECT_EQ(0x24, map[2 * self->page]);
	munmap(map, self->size);
}

/* A tracer can PEEK and POKE a tracee's mapping of every backend. */
TEST_F(mmapper, ptrace_peek_poke)
{
	unsigned char *map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	unsigned long long v = 0;
	long word;
	pid_t pid;
	int status;

	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x5c));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(1);
		raise(SIGSTOP);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));

	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, pid, map + 3 * self->page, NULL);
	EXPECT_EQ(0, errno);
	EXPECT_EQ(0x5c5c5c5c5c5c5c5cLL, (long long)word);
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, pid, map + 5 * self->page,
			    (void *)0x1122334455667788LL));
	EXPECT_EQ(0, ptrace(PTRACE_CONT, pid, NULL, NULL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));

	/* The tracee's POKE went into the shared buffer. */
	ASSERT_EQ(8, pread(self->fd, &v, 8, 5 * self->page));
	EXPECT_EQ(0x1122334455667788ULL, v);
	munmap(map, self->size);
}

/*
 * Signal-safe access to a mapping under test: a SIGBUS or SIGSEGV that the
 * access raises is caught and returned, so that a test can say which call
 * left the mapping unusable instead of dying.
 */
static sigjmp_buf catch_env;
static volatile sig_atomic_t caught_sig;

static void catch_handler(int sig)
{
	caught_sig = sig;
	siglongjmp(catch_env, 1);
}

/*
 * memcpy(@dst, @src, @n) if @cmp is false, else memcmp(): the signal it
 * raised, or else 0 (for memcmp: -1 if the bytes differ).
 */
static int access_catching(void *dst, const void *src, size_t n, bool cmp)
{
	struct sigaction sa = { .sa_handler = catch_handler }, obus, osegv;
	volatile int differ = 0;

	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	caught_sig = 0;
	if (!sigsetjmp(catch_env, 1)) {
		if (cmp)
			differ = memcmp(dst, src, n) ? -1 : 0;
		else
			memcpy(dst, src, n);
	}
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return caught_sig ? caught_sig : differ;
}

/* memcpy(@dst, @src, @n): 0, or the signal it raised. */
static int copy_catching(void *dst, const void *src, size_t n)
{
	return access_catching(dst, src, n, false);
}

/* Are the @n bytes at @map those at @want?  0 if so, -1 if not, or the signal reading raised. */
static int matches_catching(const unsigned char *map, const unsigned char *want, size_t n)
{
	return access_catching((void *)map, want, n, true);
}

/*
 * Does @map show the @len bytes of the buffer at @off, as read() gives
 * them?  0 if so; else the signal the mapping raised, or -1 for other bytes.
 */
static int shows_buffer(int fd, const unsigned char *map, off_t off, size_t len)
{
	unsigned char *want = malloc(len), *got = malloc(len);
	int ret = -1;

	if (want && got && pread(fd, want, len, off) == (ssize_t)len) {
		ret = copy_catching(got, map, len);
		if (!ret && memcmp(want, got, len))
			ret = -1;
	}
	free(want);
	free(got);
	return ret;
}

/*
 * May /proc/self/mem write through a read-only mapping (FOLL_FORCE)?  6.12
 * added CONFIG_PROC_MEM_*: Debian's 7.2 lets only a ptracer force.  Ask
 * the kernel with a private anonymous page of our own.
 */
static bool proc_mem_forces(void)
{
	char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char c = 1;
	int fd = open("/proc/self/mem", O_RDWR);
	bool ok;

	ok = p != MAP_FAILED && fd >= 0 && pwrite(fd, &c, 1, (uintptr_t)p) == 1;
	if (fd >= 0)
		close(fd);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	return ok;
}

static bool thp_configured(void);

static bool ksm_configured(void)
{
	return !access("/sys/kernel/mm/ksm", F_OK);
}

/* Write @len bytes of @byte at @addr through /proc/self/mem: bytes or -errno. */
static ssize_t proc_mem_write(void *addr, unsigned char byte, size_t len)
{
	unsigned char buf[64];
	int mem = open("/proc/self/mem", O_RDWR);
	ssize_t n;

	if (mem < 0 || len > sizeof(buf))
		return -EBADF;
	memset(buf, byte, len);
	n = pwrite(mem, buf, len, (off_t)(unsigned long)addr);
	if (n < 0)
		n = -errno;
	close(mem);
	return n;
}

/*
 * Has this kernel madvise() at all?  A tiny one (CONFIG_ADVISE_SYSCALLS=n,
 * as tinyconfig) answers ENOSYS to every advice.
 */
static bool have_madvise(void)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool have = p != MAP_FAILED && (!madvise(p, 4096, MADV_NORMAL) || errno != ENOSYS);

	if (p != MAP_FAILED)
		munmap(p, 4096);
	return have;
}

/* Microseconds since @t0. */
static long long usecs_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000LL + (t.tv_nsec - t0->tv_nsec) / 1000;
}

/*
 * A child writes @len bytes through /proc/self/mem into its private mapping
 * of @rfd, and is killed @delay_us after it starts (-1: never): the pages
 * after the kill find get_user_pages() giving up (EINTR: a fatal signal is
 * pending), and the core falls back to ->access for them.  Return: how long
 * the child ran, in microseconds, negative if it was killed before it was
 * done; LLONG_MIN on error.
 */
static long long proc_mem_writer(int rfd, size_t len, long long delay_us)
{
	int pfd[2], status, mem;
	unsigned char *map, *src;
	struct timespec t0;
	long long took;
	pid_t pid;
	char c;

	if (pipe(pfd))
		return LLONG_MIN;
	pid = fork();
	if (pid < 0)
		return LLONG_MIN;
	if (!pid) {
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, rfd, 0);
		src = malloc(len);
		mem = open("/proc/self/mem", O_RDWR);
		if (map == MAP_FAILED || !src || mem < 0)
			_exit(1);
		memset(src, 0x99, len);
		if (write(pfd[1], "g", 1) != 1)
			_exit(2);
		_exit(pwrite(mem, src, len, (off_t)(unsigned long)map) == (ssize_t)len ? 0 : 3);
	}
	close(pfd[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (read(pfd[0], &c, 1) == 1) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (delay_us >= 0) {
			usleep(delay_us);
			kill(pid, SIGKILL);
		}
	}
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return LLONG_MIN;
	took = usecs_since(&t0) + 1;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return -took;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? took : LLONG_MIN;
}

/*
 * MADV_DONTNEED, where the kernel has madvise(): 0, or -1 with errno (the
 * VM_PFNMAP mappings refuse it).  Without madvise() there is nothing to
 * zap with, and nothing to do: 0.
 */
static int zap(void *addr, size_t len)
{
	return have_madvise() ? madvise(addr, len, MADV_DONTNEED) : 0;
}

/*
 * Nothing written through a private mapping or a read-only descriptor
 * reaches the buffer, by any path.  /proc/PID/mem (FOLL_FORCE, as ptrace
 * and gdb write) makes a private copy where the backend has copy-on-write,
 * even of a zapped page and of a PROT_READ private mapping, and writes
 * nothing where the mapping cannot be written (EIO).  ->access, the
 * fallback where get_user_pages() fails, serves only VM_PFNMAP mappings
 * and writes only writable shared ones.
 */
TEST_F(mmapper, no_write_through_private_or_ro)
{
	size_t len = self->size;
	unsigned char *map, got[16];
	int rfd = open(DEV, O_RDONLY);
	int64_t sum;
	ssize_t ret;

	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, kernel_fill(self->fd, 0, len, 0x11));
	sum = kernel_checksum(self->fd, 0, len);

	/* A writable private mapping of a read-only descriptor. */
	map = map_dev(rfd, len, 0, MAP_PRIVATE);
	if (!variant->private_cow) {
		EXPECT_EQ(NULL, map);
		EXPECT_EQ(EINVAL, errno);
	} else {
		ASSERT_NE(NULL, map) TH_LOG("mmap: %s", strerror(errno));
		/* Zapped: the write must fault the page in and copy it. */
		ASSERT_EQ(0, zap(map, len));
		EXPECT_EQ(16, proc_mem_write(map + self->page - 8, 0x99, 16));
		EXPECT_EQ(sum, kernel_checksum(self->fd, 0, len));
		EXPECT_EQ(0, copy_catching(got, map + self->page - 8, 16));
		EXPECT_EQ(0x99, got[0]);
		EXPECT_EQ(0x99, got[15]);
		/* A store of its own, into a zapped page. */
		ASSERT_EQ(0, zap(map, len));
		EXPECT_EQ(0, copy_catching(map + 2 * self->page, "x", 1));
		EXPECT_EQ(sum, kernel_checksum(self->fd, 0, len));
		munmap(map, len);

		/*
		 * PROT_READ and private: FOLL_FORCE copies, as for a breakpoint,
		 * where the kernel lets /proc/PID/mem force (Debian's 7.2 has
		 * CONFIG_PROC_MEM_FORCE_PTRACE: only a ptracer may, so EIO here).
		 */
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, self->fd, 0);
		ASSERT_NE(MAP_FAILED, map);
		EXPECT_EQ(0, zap(map, len));
		ret = proc_mem_write(map + 3 * self->page, 0x98, 16);
		if (proc_mem_forces()) {
			EXPECT_EQ(16, ret);
			EXPECT_EQ(0, copy_catching(got, map + 3 * self->page, 1));
			EXPECT_EQ(0x98, got[0]);
		} else {
			EXPECT_EQ(-EIO, ret);
		}
		EXPECT_EQ(sum, kernel_checksum(self->fd, 0, len));
		munmap(map, len);

		/*
		 * Where get_user_pages() fails (here: the writer is killed
		 * part-way through 4 MiB), ->access must not write either.
		 * The kills land at tenths of the time a whole write takes.
		 */
		{
			unsigned int try, killed = 0;
			long long whole, ret;

			ASSERT_EQ(0, set_size(2 * SZ_2M));
			ASSERT_EQ(0, kernel_fill(self->fd, 0, 2 * SZ_2M, 0x11));
			sum = kernel_checksum(self->fd, 0, 2 * SZ_2M);
			whole = proc_mem_writer(rfd, 2 * SZ_2M, -1);
			ASSERT_LT(0, whole);
			EXPECT_EQ(sum, kernel_checksum(self->fd, 0, 2 * SZ_2M));
			for (try = 1; try <= 8; try++) {
				ASSERT_EQ(0, kernel_fill(self->fd, 0, 2 * SZ_2M, 0x11));
				sum = kernel_checksum(self->fd, 0, 2 * SZ_2M);
				ret = proc_mem_writer(rfd, 2 * SZ_2M, whole * try / 10);
				ASSERT_NE(LLONG_MIN, ret);
				killed += ret < 0;
				EXPECT_EQ(sum, kernel_checksum(self->fd, 0, 2 * SZ_2M))
					TH_LOG("writer killed after %lld of %lld us", whole * try / 10,
					       whole);
			}
			TH_LOG("%u of 8 writers killed part-way through %lld us", killed, whole);
			EXPECT_LT(0, killed);
			ASSERT_EQ(0, set_size(len));
			ASSERT_EQ(0, kernel_fill(self->fd, 0, len, 0x11));
			sum = kernel_checksum(self->fd, 0, len);
		}
	}

	/* Shared, read-only descriptor: nothing at all is written. */
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, rfd, 0);
	ASSERT_NE(MAP_FAILED, map);
	zap(map, len);		/* EINVAL on VM_PFNMAP */
	EXPECT_EQ(-EIO, proc_mem_write(map + self->page, 0x97, 16));
	EXPECT_EQ(sum, kernel_checksum(self->fd, 0, len));
	EXPECT_EQ(0, shows_buffer(self->fd, map, 0, len));
	munmap(map, len);

	/* Shared, PROT_READ, writable descriptor: not written either. */
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	zap(map, len);
	EXPECT_EQ(-EIO, proc_mem_write(map + self->page, 0x96, 16));
	EXPECT_EQ(sum, kernel_checksum(self->fd, 0, len));
	munmap(map, len);

	/* Shared and writable: the write is the buffer's, as it must be. */
	map = map_dev(self->fd, len, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	zap(map, len);
	EXPECT_EQ(16, proc_mem_write(map + self->page, 0x95, 16));
	ASSERT_EQ(16, pread(self->fd, got, 16, self->page));
	EXPECT_EQ(0x95, got[0]);
	EXPECT_EQ(0x95, got[15]);
	munmap(map, len);
	close(rfd);
}

#ifndef MADV_COLD
#define MADV_COLD		20
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED	24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif

/* Is page @i of @len bytes at @addr resident, says mincore()?  -1: error. */
static int resident(void *addr, size_t len, size_t page, size_t i)
{
	unsigned char vec[1024];

	if (len / page > sizeof(vec) || mincore(addr, len, vec))
		return -1;
	return vec[i] & 1;
}

/*
 * MADV_DONTNEED on a shared mapping of struct pages zaps the entries; the
 * next touch maps the buffer's page again, with the bytes the buffer holds
 * now, on a part of the mapping or all of it.  VM_PFNMAP mappings refuse it
 * (EINVAL: the kernel's own rule).  Small and 2 MiB-and-over buffers (huge:
 * 2 MiB entries where the kernel has them; vmalloc-user: a vmap()ed area).
 */
TEST_F(mmapper, madv_dontneed_shared)
{
	size_t sizes[2] = { self->size, (variant->contiguous ? 1 : 2) * SZ_2M };
	unsigned int s;

	if (!have_madvise())
		SKIP(return, "no madvise() in this kernel (CONFIG_ADVISE_SYSCALLS=n)");

	for (s = 0; s < 2; s++) {
		size_t len = sizes[s], page = self->page;
		unsigned char *map;
		char c[2];
		int want = variant->gup ? 0 : EINVAL;
		long pmd_kb;

		ASSERT_EQ(0, set_size(len));
		map = map_dev(self->fd, len, 0, MAP_SHARED);
		ASSERT_NE(NULL, map);
		fill_pattern(map, 0, len, 21 + s);
		/*
		 * The kernel zaps part of a 2 MiB entry of pages by dropping
		 * it whole ("pages" on 6.15+): then page 0 goes too.  Known
		 * only when all of the mapping is in 2 MiB entries, or none.
		 */
		pmd_kb = pmd_mapped_kb(map, map + len);

		/* Part of it: pages 1 to 3. */
		EXPECT_EQ(want ? -1 : 0, madvise(map + page, 3 * page, MADV_DONTNEED));
		if (want)
			EXPECT_EQ(want, errno);
		if (variant->gup && len / page <= 1024) {
			if (!pmd_kb || pmd_kb == (long)(len >> 10))
				EXPECT_EQ(!pmd_kb, resident(map, len, page, 0));
			EXPECT_EQ(0, resident(map, len, page, 2));
		}
		EXPECT_EQ(0, shows_buffer(self->fd, map, 0, len)) TH_LOG("%zu bytes", len);
		if (variant->gup && len / page <= 1024)
			EXPECT_EQ(1, resident(map, len, page, 2));

		/* All of it; then the kernel writes, then user space. */
		EXPECT_EQ(want ? -1 : 0, madvise(map, len, MADV_DONTNEED));
		ASSERT_EQ(0, kernel_fill(self->fd, page, page, 0x5e));
		EXPECT_EQ(0, shows_buffer(self->fd, map, 0, len)) TH_LOG("%zu bytes", len);
		EXPECT_EQ(0, copy_catching(c, map + 2 * page - 1, 1));
		EXPECT_EQ(0x5e, c[0]);
		madvise(map, len, MADV_DONTNEED);
		EXPECT_EQ(0, copy_catching(map + len - page, "zz", 2));
		EXPECT_EQ(0, shows_buffer(self->fd, map, 0, len));
		ASSERT_EQ(2, pread(self->fd, c, 2, len - page));
		EXPECT_EQ(0, memcmp(c, "zz", 2));
		munmap(map, len);
	}
}

/*
 * MADV_DONTNEED on a private mapping drops its copies: the zapped pages
 * show the buffer again, the others keep what the process wrote.
 */
TEST_F(mmapper, madv_dontneed_private)
{
	size_t len = self->size, page = self->page;
	unsigned char *map, *shadow;

	if (!have_madvise())
		SKIP(return, "no madvise() in this kernel (CONFIG_ADVISE_SYSCALLS=n)");
	ASSERT_EQ(0, kernel_fill(self->fd, 0, len, 0x31));
	map = map_dev(self->fd, len, 0, MAP_PRIVATE);
	if (!variant->private_cow) {
		EXPECT_EQ(NULL, map);
		EXPECT_EQ(EINVAL, errno);
		return;
	}
	ASSERT_NE(NULL, map);
	shadow = malloc(len);
	ASSERT_NE(NULL, shadow);

	/* A private copy of every page. */
	fill_pattern(map, 0, len, 32);
	ASSERT_EQ(0, kernel_fill(self->fd, 0, len, 0x33));
	EXPECT_EQ(-1, check_pattern(map, 0, len, 32));

	/* Pages 1 and 2 go back to the buffer; the rest stays private. */
	ASSERT_EQ(0, madvise(map + page, 2 * page, MADV_DONTNEED));
	fill_pattern(shadow, 0, len, 32);
	memset(shadow + page, 0x33, 2 * page);
	{
		unsigned char *got = malloc(len);

		ASSERT_NE(NULL, got);
		EXPECT_EQ(0, copy_catching(got, map, len));
		EXPECT_EQ(0, memcmp(got, shadow, len));
		free(got);
	}

	/* All of it: the mapping is the buffer's again, and follows it. */
	ASSERT_EQ(0, madvise(map, len, MADV_DONTNEED));
	EXPECT_EQ(0, shows_buffer(self->fd, map, 0, len));
	ASSERT_EQ(0, kernel_fill(self->fd, 0, len, 0x34));
	EXPECT_EQ(0, shows_buffer(self->fd, map, 0, len));

	/* And a write after that is a private copy again. */
	EXPECT_EQ(0, copy_catching(map, "\x35", 1));
	ASSERT_EQ(1, pread(self->fd, shadow, 1, 0));
	EXPECT_EQ(0x34, shadow[0]);
	free(shadow);
	munmap(map, len);
}

/* The kinds of mapping each mm call is tried on. */
enum map_kind { MAP_KIND_SHARED, MAP_KIND_RO, MAP_KIND_PRIVATE, NR_MAP_KINDS };

static const char *const map_kind_name[NR_MAP_KINDS] = {
	"shared", "shared, read-only descriptor", "private",
};

static int do_madvise(unsigned char *p, size_t len, int advice, int prot)
{
	return madvise(p, len, advice);
}

static int do_mlock(unsigned char *p, size_t len, int advice, int prot)
{
	return mlock(p, len);
}

static int do_mlock_onfault(unsigned char *p, size_t len, int advice, int prot)
{
	return mlock2(p, len, MLOCK_ONFAULT);
}

static int do_munlock(unsigned char *p, size_t len, int advice, int prot)
{
	return munlock(p, len);
}

static int do_msync(unsigned char *p, size_t len, int flags, int prot)
{
	return msync(p, len, flags);
}

/* Down to PROT_READ, then to PROT_NONE, then back to @prot. */
static int do_mprotect(unsigned char *p, size_t len, int advice, int prot)
{
	return mprotect(p, len, PROT_READ) || mprotect(p, len, PROT_NONE) ||
	       mprotect(p, len, prot);
}

static int do_mincore(unsigned char *p, size_t len, int advice, int prot)
{
	unsigned char vec[1024];
	size_t i, n = len / sysconf(_SC_PAGESIZE);

	for (i = 0; i < n; i += 1024)
		if (mincore(p + i * sysconf(_SC_PAGESIZE),
			    (n - i < 1024 ? n - i : 1024) * sysconf(_SC_PAGESIZE), vec))
			return -1;
	return 0;
}

/*
 * One mm call and the errno it gets (0: it works) on a mapping of struct
 * pages and on a VM_PFNMAP mapping, per kind of mapping.  Documented in
 * Documentation/userspace-api.rst.  @since: the advice is newer than some
 * kernel a user may run (a kernel that does not know it says EINVAL).
 */
struct mm_call {
	const char *name;
	int (*call)(unsigned char *p, size_t len, int arg, int prot);
	int arg;
	bool since;
	bool zaps;
	int pages[NR_MAP_KINDS];
	int pfnmap[NR_MAP_KINDS];
};

/* MADV_DOFORK: refused for VM_IO, or for every VM_SPECIAL VMA (7.x) */
#define ZERO_OR_EINVAL	(-1)

static const struct mm_call mm_calls[] = {
	{ .name = "MADV_DONTNEED", .call = do_madvise, .arg = MADV_DONTNEED,
	  .zaps = true, .pages = { 0, 0, 0 }, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_DONTNEED_LOCKED", .call = do_madvise, .arg = MADV_DONTNEED_LOCKED,
	  .since = true, .zaps = true,
	  .pages = { 0, 0, 0 }, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_FREE", .call = do_madvise, .arg = MADV_FREE,
	  .pages = { EINVAL, EINVAL, EINVAL }, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_REMOVE", .call = do_madvise, .arg = MADV_REMOVE,
	  .pages = { ENODEV, EACCES, EACCES }, .pfnmap = { ENODEV, EACCES } },
	{ .name = "MADV_WILLNEED", .call = do_madvise, .arg = MADV_WILLNEED },
	{ .name = "MADV_COLD", .call = do_madvise, .arg = MADV_COLD,
	  .since = true, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_PAGEOUT", .call = do_madvise, .arg = MADV_PAGEOUT,
	  .since = true, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_POPULATE_READ", .call = do_madvise, .arg = MADV_POPULATE_READ,
	  .since = true, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_POPULATE_WRITE", .call = do_madvise, .arg = MADV_POPULATE_WRITE,
	  .since = true,
	  .pages = { 0, EINVAL, 0 }, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_DONTFORK", .call = do_madvise, .arg = MADV_DONTFORK },
	{ .name = "MADV_DOFORK", .call = do_madvise, .arg = MADV_DOFORK,
	  .pages = { ZERO_OR_EINVAL, ZERO_OR_EINVAL, ZERO_OR_EINVAL },
	  .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_WIPEONFORK", .call = do_madvise, .arg = MADV_WIPEONFORK,
	  .pages = { EINVAL, EINVAL, EINVAL }, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_KEEPONFORK", .call = do_madvise, .arg = MADV_KEEPONFORK },
	{ .name = "MADV_DONTDUMP", .call = do_madvise, .arg = MADV_DONTDUMP },
	{ .name = "MADV_DODUMP", .call = do_madvise, .arg = MADV_DODUMP,
	  .pages = { EINVAL, EINVAL, EINVAL }, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_NOHUGEPAGE", .call = do_madvise, .arg = MADV_NOHUGEPAGE },
	{ .name = "MADV_HUGEPAGE", .call = do_madvise, .arg = MADV_HUGEPAGE },
	{ .name = "MADV_COLLAPSE", .call = do_madvise, .arg = MADV_COLLAPSE,
	  .pages = { EINVAL, EINVAL, EINVAL }, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_GUARD_INSTALL", .call = do_madvise, .arg = MADV_GUARD_INSTALL,
	  .pages = { EINVAL, EINVAL, EINVAL }, .pfnmap = { EINVAL, EINVAL } },
	{ .name = "MADV_MERGEABLE", .call = do_madvise, .arg = MADV_MERGEABLE },
	{ .name = "MADV_UNMERGEABLE", .call = do_madvise, .arg = MADV_UNMERGEABLE },
	{ .name = "MADV_SEQUENTIAL", .call = do_madvise, .arg = MADV_SEQUENTIAL },
	{ .name = "MADV_RANDOM", .call = do_madvise, .arg = MADV_RANDOM },
	{ .name = "MADV_NORMAL", .call = do_madvise, .arg = MADV_NORMAL },
	{ .name = "mlock", .call = do_mlock },
	{ .name = "munlock", .call = do_munlock },
	{ .name = "mlock2(MLOCK_ONFAULT)", .call = do_mlock_onfault },
	{ .name = "munlock", .call = do_munlock },
	{ .name = "msync(MS_SYNC)", .call = do_msync, .arg = MS_SYNC },
	{ .name = "msync(MS_ASYNC)", .call = do_msync, .arg = MS_ASYNC },
	{ .name = "msync(MS_INVALIDATE)", .call = do_msync, .arg = MS_INVALIDATE },
	{ .name = "mprotect", .call = do_mprotect },
	{ .name = "mincore", .call = do_mincore },
};

/* Does the running kernel know madvise() @advice?  Asks on anonymous memory. */
static bool advice_known(int advice)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool known = p != MAP_FAILED && (!madvise(p, 4096, advice) || errno != EINVAL);

	if (p != MAP_FAILED)
		munmap(p, 4096);
	return known;
}

/*
 * Every mm call on every kind of mapping: on all of it and on a part (pages
 * 1 to 3, which splits the VMA for the calls that change its flags), on
 * present and on zapped entries.  Each call gets its documented errno, and
 * afterwards the mapping is whole: it shows what it must (the buffer, or
 * for a private mapping its copies and the buffer), without a signal, and a
 * store through a writable mapping lands where it must (the buffer, or the
 * private copy only).
 */
static void mm_calls_on(struct __test_metadata *_metadata, int fd, bool gup,
			bool private_cow, size_t len)
{
	size_t page = sysconf(_SC_PAGESIZE);
	int rfd = open(DEV, O_RDONLY);
	unsigned char *shadow = malloc(len);
	unsigned int kind, i, pass;
	bool madv = have_madvise();

	ASSERT_LE(0, rfd);
	ASSERT_NE(NULL, shadow);
	ASSERT_EQ(0, set_size(len));
	/* Nothing to write back: the stores are in the buffer already. */
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(0, fdatasync(fd));

	for (kind = 0; kind < NR_MAP_KINDS; kind++) {
		int prot = kind == MAP_KIND_RO ? PROT_READ : PROT_READ | PROT_WRITE;
		unsigned char *map;

		if (kind == MAP_KIND_PRIVATE && !private_cow)
			continue;
		/*
		 * @shadow: what the mapping must show.  Shared: the buffer, as our
		 * stores change it.  Private: the buffer never changes, and the
		 * mapping shows the buffer and its own copies.
		 */
		fill_pattern(shadow, 0, len, 40 + kind);
		ASSERT_EQ((ssize_t)len, pwrite(fd, shadow, len, 0));
		/* The shared one populated up front (MAP_POPULATE), the others not. */
		map = mmap(NULL, len, prot, kind == MAP_KIND_PRIVATE ? MAP_PRIVATE :
			   kind == MAP_KIND_RO ? MAP_SHARED : MAP_SHARED | MAP_POPULATE,
			   kind == MAP_KIND_RO ? rfd : fd, 0);
		ASSERT_NE(MAP_FAILED, map) TH_LOG("%s: %s", map_kind_name[kind], strerror(errno));

		for (pass = 0; pass < 4; pass++) {
			/* whole or part; on present or zapped entries */
			size_t off = pass & 1 ? page : 0, n = pass & 1 ? 3 * page : len;
			bool zap = pass & 2;

			for (i = 0; i < ARRAY_SIZE(mm_calls); i++) {
				const struct mm_call *c = &mm_calls[i];
				int want = (gup ? c->pages : c->pfnmap)[kind];
				int ret, err, sig;

				/* A zap drops a private mapping's copies. */
				if (zap && !madvise(map, len, MADV_DONTNEED) &&
				    kind == MAP_KIND_PRIVATE)
					ASSERT_EQ((ssize_t)len, pread(fd, shadow, len, 0));
				if (c->since && !advice_known(c->arg))
					want = EINVAL;
				if (c->call == do_madvise && !madv)
					want = ENOSYS;
				/* Without CONFIG_KSM the kernel knows no such advice. */
				if ((c->arg == MADV_MERGEABLE || c->arg == MADV_UNMERGEABLE) &&
				    c->call == do_madvise && madv && !ksm_configured())
					want = EINVAL;
				/* Without THP (PREEMPT_RT) the kernel knows no such advice. */
				if ((c->arg == MADV_HUGEPAGE || c->arg == MADV_NOHUGEPAGE) &&
				    c->call == do_madvise && madv && !thp_configured())
					want = EINVAL;
				errno = 0;
				ret = c->call(map + off, n, c->arg, prot);
				err = ret ? errno : 0;
				if (want == ZERO_OR_EINVAL && err == EINVAL)
					want = EINVAL;
				else if (want == ZERO_OR_EINVAL)
					want = 0;
				EXPECT_EQ(want, err)
					TH_LOG("%s on %s (%zu of %zu bytes): %s", c->name,
					       map_kind_name[kind], n, len, strerror(err));
				if (c->zaps && !ret && kind == MAP_KIND_PRIVATE)
					ASSERT_EQ((ssize_t)n, pread(fd, shadow + off, n, off));

				/* The mapping shows what it must, without a signal. */
				sig = matches_catching(map, shadow, len);
				EXPECT_EQ(0, sig) TH_LOG("after %s on %s (%zu of %zu bytes): %s",
							 c->name, map_kind_name[kind], n, len,
							 sig < 0 ? "other bytes" : strsignal(sig));
				if (kind == MAP_KIND_RO)
					continue;

				/* A store lands in the buffer, or in the private copy only. */
				{
					size_t at = (i % (len / page)) * page + i;
					unsigned char b = 0xc0 + i, old, now;

					ASSERT_EQ(1, pread(fd, &old, 1, at));
					sig = copy_catching(map + at, &b, 1);
					EXPECT_EQ(0, sig) TH_LOG("store after %s on %s: signal %d",
								 c->name, map_kind_name[kind], sig);
					ASSERT_EQ(1, pread(fd, &now, 1, at));
					shadow[at] = b;
					if (kind == MAP_KIND_PRIVATE) {
						EXPECT_EQ(old, now) TH_LOG("after %s", c->name);
					} else {
						EXPECT_EQ(b, now) TH_LOG("after %s", c->name);
					}
				}
			}
			/*
			 * @shadow is what the buffer holds (shared) or what the
			 * private mapping must show: check it against the buffer
			 * itself, as read() gives it, once a pass.
			 */
			if (kind != MAP_KIND_PRIVATE) {
				EXPECT_EQ(0, shows_buffer(fd, map, 0, len))
					TH_LOG("pass %u on %s", pass, map_kind_name[kind]);
			}
		}
		EXPECT_EQ(0, munmap(map, len));
	}
	free(shadow);
	close(rfd);
}

TEST_F_TIMEOUT(mmapper, mm_calls, 300)
{
	mm_calls_on(_metadata, self->fd, variant->gup, variant->private_cow, self->size);
	mm_calls_on(_metadata, self->fd, variant->gup, variant->private_cow,
		    (variant->contiguous ? 1 : 2) * SZ_2M);
}

/*
 * A child of ours checks its copy of @map, @len bytes of which pages 1 and
 * 2 are MADV_DONTFORK if @dontfork: those must be missing, all the rest
 * must show the buffer.  Return: the child's verdict, 0 if all is well.
 */
static int child_sees(int fd, unsigned char *map, size_t len, size_t page, bool dontfork)
{
	unsigned char vec[4];
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (!pid) {
		/* Page 0 and pages 3 on are inherited; 1 and 2 only without DONTFORK. */
		if (shows_buffer(fd, map, 0, page) ||
		    shows_buffer(fd, map + 3 * page, 3 * page, len - 3 * page))
			_exit(1);
		if (dontfork)
			_exit(mincore(map + page, 2 * page, vec) == -1 && errno == ENOMEM ? 0 : 2);
		_exit(shows_buffer(fd, map + page, page, 2 * page) ? 3 : 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/*
 * MADV_DONTFORK: a child gets no copy of that part; MADV_DOFORK undoes it
 * where the kernel allows (not on VM_IO mappings, EINVAL; newer kernels
 * refuse it on every VM_SPECIAL one).  What a child does get works, also
 * after a zap.
 */
TEST_F(mmapper, madv_dontfork)
{
	size_t len = self->size, page = self->page;
	unsigned char *map = map_dev(self->fd, len, 0, MAP_SHARED);
	struct mmapper_info info = { .size = sizeof(info) };
	int ret;

	ASSERT_NE(NULL, map);
	if (!have_madvise()) {
		munmap(map, len);
		SKIP(return, "no madvise() in this kernel (CONFIG_ADVISE_SYSCALLS=n)");
	}
	fill_pattern(map, 0, len, 50);
	ASSERT_EQ(0, madvise(map + page, 2 * page, MADV_DONTFORK));
	madvise(map, len, MADV_DONTNEED);	/* EINVAL on VM_PFNMAP */
	EXPECT_EQ(0, child_sees(self->fd, map, len, page, true));

	ret = madvise(map + page, 2 * page, MADV_DOFORK);
	if (!variant->gup) {
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(EINVAL, errno);
	} else {
		EXPECT_TRUE(!ret || errno == EINVAL) TH_LOG("MADV_DOFORK: %s", strerror(errno));
	}
	madvise(map, len, MADV_DONTNEED);
	EXPECT_EQ(0, child_sees(self->fd, map, len, page, ret != 0));

	/* The split mapping is three VMAs, and none once unmapped. */
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(3, info.nr_mappings);
	munmap(map, len);
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(0, info.nr_mappings);
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif

/*
 * mremap(): a mapping moved elsewhere shows the buffer there, zapped or
 * not, and counts once; shrunk, it keeps its head.  Growing is refused
 * (mremap_growth_refused), and so is MREMAP_DONTUNMAP (EINVAL: the mapping
 * is VM_DONTEXPAND).
 */
TEST_F(mmapper, mremap_move_and_shrink)
{
	size_t len = self->size, page = self->page;
	unsigned char *map = map_dev(self->fd, len, 0, MAP_SHARED), *to, *moved;
	struct mmapper_info info = { .size = sizeof(info) };
	char c;

	ASSERT_NE(NULL, map);
	fill_pattern(map, 0, len, 60);
	to = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, to);
	moved = mremap(map, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	ASSERT_EQ(to, moved) TH_LOG("mremap: %s", strerror(errno));
	EXPECT_EQ(-1, msync(map, page, MS_ASYNC));	/* nothing left there */
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(0, shows_buffer(self->fd, moved, 0, len));
	zap(moved, len);		/* EINVAL on VM_PFNMAP */
	EXPECT_EQ(0, shows_buffer(self->fd, moved, 0, len));
	EXPECT_EQ(0, copy_catching(moved + page + 1, "m", 1));
	ASSERT_EQ(1, pread(self->fd, &c, 1, page + 1));
	EXPECT_EQ('m', c);
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(1, info.nr_mappings);

	ASSERT_EQ(moved, mremap(moved, len, 4 * page, 0));
	EXPECT_EQ(0, shows_buffer(self->fd, moved, 0, 4 * page));
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(1, info.nr_mappings);

	EXPECT_EQ(MAP_FAILED, mremap(moved, 4 * page, 4 * page,
				     MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, shows_buffer(self->fd, moved, 0, 4 * page));
	munmap(moved, 4 * page);
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(0, info.nr_mappings);
}


/*
 * A core dump never holds the device's buffer: every backend's mapping is
 * VM_DONTDUMP ("dd" in smaps), shared or private, and MADV_DODUMP cannot
 * undo it (EINVAL: the mapping is VM_SPECIAL).
 */
TEST_F(mmapper, never_in_core_dump)
{
	unsigned char *map = map_dev(self->fd, self->size, 0, MAP_SHARED);

	ASSERT_NE(NULL, map);
	EXPECT_EQ(1, vm_flag_set(map, "dd"));
	EXPECT_EQ(-1, madvise(map, self->size, MADV_DODUMP));
	EXPECT_EQ(have_madvise() ? EINVAL : ENOSYS, errno);
	EXPECT_EQ(1, vm_flag_set(map, "dd"));
	munmap(map, self->size);

	map = map_dev(self->fd, self->size, 0, MAP_PRIVATE);
	if (!variant->private_cow) {
		EXPECT_EQ(NULL, map);
		return;
	}
	ASSERT_NE(NULL, map);
	map[0] = 1;		/* a private copy: anonymous memory in the VMA */
	EXPECT_EQ(1, vm_flag_set(map, "dd"));
	munmap(map, self->size);
}

/* get_user_pages() users: they work on struct-page mappings, EFAULT on PFNMAP. */
TEST_F(mmapper, gup_users)
{
	unsigned char *map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	unsigned char *buf = malloc(self->page);
	struct iovec local, remote, iov;
	int pfd[2];
	ssize_t n;

	ASSERT_NE(NULL, map);
	ASSERT_NE(NULL, buf);
	fill_pattern(map, 0, self->size, 9);

	/* process_vm_readv() pins the remote pages. */
	local.iov_base = buf;
	local.iov_len = self->page;
	remote.iov_base = map + self->page;
	remote.iov_len = self->page;
	n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (variant->gup) {
		EXPECT_EQ((ssize_t)self->page, n);
		EXPECT_EQ(-1, check_pattern(buf, self->page, self->page, 9));
	} else {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(EFAULT, errno);
	}

	/* vmsplice() puts the mapping's own pages into a pipe. */
	ASSERT_EQ(0, pipe(pfd));
	iov.iov_base = map + 2 * self->page;
	iov.iov_len = self->page;
	n = vmsplice(pfd[1], &iov, 1, 0);
	if (variant->gup) {
		EXPECT_EQ((ssize_t)self->page, n);
		EXPECT_EQ((ssize_t)self->page, read(pfd[0], buf, self->page));
		EXPECT_EQ(-1, check_pattern(buf, 2 * self->page, self->page, 9));
	} else {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(EFAULT, errno);
	}

	/* A plain write() from the mapping copies and works everywhere. */
	EXPECT_EQ((ssize_t)self->page, write(pfd[1], map + 3 * self->page, self->page));
	EXPECT_EQ((ssize_t)self->page, read(pfd[0], buf, self->page));
	EXPECT_EQ(-1, check_pattern(buf, 3 * self->page, self->page, 9));

	close(pfd[0]);
	close(pfd[1]);
	free(buf);
	munmap(map, self->size);
}

/* O_DIRECT reads from a block device straight into the mapping. */
TEST_F(mmapper, o_direct_into_mapping)
{
	size_t len = 4 * self->page;
	unsigned char *map, *src;
	int bfd;
	ssize_t n;

	bfd = open("/dev/ram0", O_RDWR | O_DIRECT);
	if (bfd < 0)
		SKIP(return, "no /dev/ram0 for O_DIRECT (modprobe brd)");
	ASSERT_EQ(0, posix_memalign((void **)&src, self->page, len));
	fill_pattern(src, 0, len, 10);
	ASSERT_EQ((ssize_t)len, pwrite(bfd, src, len, 0));

	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	n = pread(bfd, map + self->page, len, 0);
	if (variant->gup) {
		EXPECT_EQ((ssize_t)len, n);
		EXPECT_EQ(-1, check_pattern(map + self->page, 0, len, 10));
		EXPECT_EQ(fnv1a(src, len), kernel_checksum(self->fd, self->page, len));
	} else {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(EFAULT, errno);
	}
	munmap(map, self->size);
	free(src);
	close(bfd);
}

/* rmmod is refused while the device is open, or only mapped. */
TEST_F(mmapper, rmmod_refused_while_in_use)
{
	unsigned char *map;

	EXPECT_EQ(-1, syscall(__NR_delete_module, "mmapper", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);

	map = map_dev(self->fd, self->page, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	close(self->fd);
	self->fd = -1;
	map[0] = 0x99;

	EXPECT_EQ(-1, syscall(__NR_delete_module, "mmapper", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(0, access(SYSDIR, F_OK));
	EXPECT_EQ(0x99, map[0]);
	munmap(map, self->page);

	self->fd = open(DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
}

/* The counters move with what happens. */
TEST_F(mmapper, stats_count)
{
	struct mmapper_stats a, b;
	unsigned char *map;
	char buf[100];
	size_t i;
	int fd2;

	ASSERT_EQ(0, get_stats(self->fd, &a));
	fd2 = open(DEV, O_RDWR);
	ASSERT_LE(0, fd2);
	map = map_dev(fd2, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	for (i = 0; i < self->size; i += self->page)
		map[i] = 1;
	EXPECT_EQ(100, pread(fd2, buf, 100, 0));
	EXPECT_EQ(10, pwrite(fd2, buf, 10, 0));
	ASSERT_EQ(0, get_stats(self->fd, &b));

	EXPECT_EQ(sizeof(b), b.size);
	EXPECT_EQ(a.opens + 1, b.opens);
	EXPECT_EQ(a.mmaps + 1, b.mmaps);
	EXPECT_EQ(1, b.active_mappings);
	EXPECT_EQ(a.bytes_read + 100, b.bytes_read);
	EXPECT_EQ(a.bytes_written + 10, b.bytes_written);
	/* Backends that map at mmap() time take no faults; 64K is below 2M. */
	if (variant->lazy) {
		EXPECT_EQ(a.faults + NPAGES, b.faults);
	} else {
		EXPECT_EQ(a.faults, b.faults);
	}
	EXPECT_EQ(a.huge_faults, b.huge_faults);

	munmap(map, self->size);
	close(fd2);
	ASSERT_EQ(0, get_stats(self->fd, &b));
	EXPECT_EQ(0, b.active_mappings);
}

/* Control plane: sysfs stats/ and phys_addr, debugfs, the put_user() experiment. */

#define STATSDIR	SYSDIR "/stats/"
#define DBGDIR		"/sys/kernel/debug/mmapper/mmapper0/"
#define TRACEDIR	"/sys/kernel/tracing/"

/* The stats/ files, in the order of the counters of struct mmapper_stats. */
static const char *const stat_names[] = {
	"opens", "mmaps", "active_mappings", "faults", "huge_faults",
	"bytes_read", "bytes_written", "resizes", "alloc_failures",
	"exports", "exports_total",
};

static int sysfs_stats(struct mmapper_stats *st)
{
	__u64 *field = &st->opens;
	char path[128];
	unsigned int i;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	for (i = 0; i < ARRAY_SIZE(stat_names); i++) {
		long long v;

		snprintf(path, sizeof(path), STATSDIR "%s", stat_names[i]);
		v = sysfs_read_ll(path);
		if (v < 0)
			return -1;
		field[i] = v;
	}
	return 0;
}

/* One line of debugfs pages. */
struct page_row {
	unsigned long idx, pfn;
	int refcount, mapcount;
	unsigned int mapped;
	/* memory types: "write-back", "write-combining", ..., "-" for none */
	char kernel_type[32], user_type[32];
};

/* Rows of mmapper0's debugfs pages into @rows (at most @max): the count, or -1. */
static int debugfs_pages(struct page_row *rows, int max)
{
	FILE *f = fopen(DBGDIR "pages", "r");
	char line[256];
	int n = 0;

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f) || !strstr(line, "index") ||
	    !strstr(line, "mapped kernel_type") || !strstr(line, "user_type")) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct page_row r;

		if (sscanf(line, "%lu %lx %d %d %u %31s %31s", &r.idx, &r.pfn, &r.refcount,
			   &r.mapcount, &r.mapped, r.kernel_type, r.user_type) != 7) {
			n = -1;
			break;
		}
		if (n < max)
			rows[n] = r;
		n++;
	}
	fclose(f);
	return n;
}

/* One line of debugfs mappings. */
struct mapping_row {
	int pid;
	char comm[32];
	unsigned long start, end, pgoff;
	char perms[8];
	char flags[128];
};

static int debugfs_mappings(struct mapping_row *rows, int max)
{
	FILE *f = fopen(DBGDIR "mappings", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f) || !strstr(line, "pid")) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct mapping_row r = {};

		if (sscanf(line, "%d %31s %lx-%lx %lu %7s %127s", &r.pid, r.comm,
			   &r.start, &r.end, &r.pgoff, r.perms, r.flags) < 6) {
			n = -1;
			break;
		}
		if (n < max)
			rows[n] = r;
		n++;
	}
	fclose(f);
	return n;
}

/* How many of mmapper0's mappings start at @start with permissions @perms. */
static int mapping_perms_count(unsigned long start, const char *perms)
{
	struct mapping_row rows[16];
	int n = debugfs_mappings(rows, 16), i, found = 0;

	for (i = 0; i < n && i < 16; i++)
		found += rows[i].start == start && !strcmp(rows[i].perms, perms);
	return found;
}

/* The value of "@key: value" in mmapper0's debugfs summary, or -1. */
static long long debugfs_summary(const char *key, char *str, size_t len)
{
	FILE *f = fopen(DBGDIR "summary", "r");
	size_t klen = strlen(key);
	long long val = -1;
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (str)
			snprintf(str, len, "%s", line + klen + 2);
		val = strtoll(line + klen + 2, NULL, 0);
		break;
	}
	fclose(f);
	return val;
}

/* sysfs stats/ says what the ioctl says; reset zeroes the counters. */
TEST_F(mmapper, sysfs_stats)
{
	struct mmapper_stats io, fs;
	unsigned char *map;
	char buf[64];
	size_t i;
	int fd;

	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	for (i = 0; i < self->size; i += self->page)
		map[i] = 1;
	EXPECT_EQ(64, pread(self->fd, buf, 64, 0));
	EXPECT_EQ(3, pwrite(self->fd, buf, 3, 0));

	ASSERT_EQ(0, get_stats(self->fd, &io));
	ASSERT_EQ(0, sysfs_stats(&fs));
	EXPECT_EQ(0, memcmp(&io, &fs, sizeof(io)));
	EXPECT_EQ(1, fs.active_mappings);

	/* Only "1" (or y, Y, on) resets. */
	EXPECT_EQ(-EINVAL, sysfs_write(STATSDIR "reset", "0"));
	EXPECT_EQ(-EINVAL, sysfs_write(STATSDIR "reset", "x"));
	ASSERT_EQ(0, sysfs_stats(&fs));
	EXPECT_EQ(io.opens, fs.opens);

	ASSERT_EQ(0, sysfs_write(STATSDIR "reset", "1"));
	ASSERT_EQ(0, sysfs_stats(&fs));
	EXPECT_EQ(0, fs.opens);
	EXPECT_EQ(0, fs.mmaps);
	EXPECT_EQ(0, fs.faults);
	EXPECT_EQ(0, fs.bytes_read);
	EXPECT_EQ(0, fs.bytes_written);
	EXPECT_EQ(0, fs.resizes);
	/* A level, not a count: the mapping is still there. */
	EXPECT_EQ(1, fs.active_mappings);
	munmap(map, self->size);

	/* Counting starts again from zero. */
	ASSERT_EQ(0, set_size(2 * self->size));
	ASSERT_EQ(0, set_size(self->size));
	EXPECT_EQ(2, sysfs_read_ll(STATSDIR "resizes"));
	EXPECT_EQ(0, sysfs_read_ll(STATSDIR "active_mappings"));

	/* Counters are read-only, reset is write-only, even for root. */
	EXPECT_EQ(-EACCES, sysfs_write(STATSDIR "opens", "5"));
	fd = open(STATSDIR "reset", O_RDONLY);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EACCES, errno);
}

/* phys_addr: root-only, only for a physically contiguous backend. */
TEST_F(mmapper, phys_addr)
{
	struct page_row row;
	unsigned long long phys;
	struct stat st;
	char buf[64];

	if (!variant->contiguous) {
		EXPECT_EQ(-1, stat(SYSDIR "/phys_addr", &st));
		EXPECT_EQ(ENOENT, errno);
		return;
	}
	ASSERT_EQ(0, stat(SYSDIR "/phys_addr", &st));
	EXPECT_EQ(0400, st.st_mode & 0777);
	ASSERT_EQ(0, sysfs_read(SYSDIR "/phys_addr", buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "0x", 2));
	phys = strtoull(buf, NULL, 16);
	EXPECT_NE(0, phys);
	EXPECT_EQ(0, phys % self->page);
	/* The first page of the buffer, as debugfs lists it. */
	ASSERT_EQ(NPAGES, debugfs_pages(&row, 1));
	EXPECT_EQ(phys / self->page, row.pfn);

	/* It goes and comes back with the backend, whichever way it changes. */
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
	EXPECT_EQ(-1, access(SYSDIR "/phys_addr", F_OK));
	ASSERT_EQ(0, sysfs_write(CLASS_BACKEND, "kmalloc"));
	EXPECT_EQ(0, access(SYSDIR "/phys_addr", F_OK));
	{
		struct mmapper_set_backend sb = { .size = sizeof(sb), .backend = "pages" };

		ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_SET_BACKEND, &sb));
		EXPECT_EQ(-1, access(SYSDIR "/phys_addr", F_OK));
	}
}

/* debugfs pages: every page, and which ones user space maps right now. */
TEST_F(mmapper, debugfs_pages)
{
	struct page_row rows[NPAGES + 1];
	unsigned char *map, *map2;
	int i, j;

	ASSERT_EQ(NPAGES, debugfs_pages(rows, NPAGES + 1));
	for (i = 0; i < NPAGES; i++) {
		EXPECT_EQ((unsigned long)i, rows[i].idx);
		EXPECT_NE(0, rows[i].pfn);
		EXPECT_EQ(0, rows[i].mapped) TH_LOG("page %d", i);
		for (j = 0; j < i; j++)
			EXPECT_NE(rows[j].pfn, rows[i].pfn);
		if (variant->contiguous)
			EXPECT_EQ(rows[0].pfn + i, rows[i].pfn);
	}

	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(NPAGES, debugfs_pages(rows, NPAGES));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(variant->lazy ? 0 : 1, rows[i].mapped) TH_LOG("page %d", i);

	/* Lazy backends: exactly the pages touched are mapped. */
	map[0] = 1;
	map[5 * self->page + 100] = 1;
	ASSERT_EQ(NPAGES, debugfs_pages(rows, NPAGES));
	for (i = 0; i < NPAGES; i++) {
		unsigned int want = !variant->lazy || i == 0 || i == 5;

		EXPECT_EQ(want, rows[i].mapped) TH_LOG("page %d", i);
		/* The kernel's rmap knows page mappings, not PFN maps. */
		EXPECT_EQ(variant->gup ? (int)want : 0, rows[i].mapcount);
	}

	/* A second mapping of pages 4..7 counts twice where touched. */
	map2 = map_dev(self->fd, 4 * self->page, 4 * self->page, MAP_SHARED);
	ASSERT_NE(NULL, map2);
	map2[self->page] = 2;	/* page 5 */
	ASSERT_EQ(NPAGES, debugfs_pages(rows, NPAGES));
	EXPECT_EQ(2, rows[5].mapped);
	EXPECT_EQ(variant->lazy ? 0 : 2, rows[4].mapped);
	EXPECT_EQ(1, rows[0].mapped);

	munmap(map2, 4 * self->page);
	munmap(map, self->size);
	ASSERT_EQ(NPAGES, debugfs_pages(rows, NPAGES));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(0, rows[i].mapped) TH_LOG("page %d", i);
}

/* debugfs mappings: who maps what, through fork and partial munmap. */
TEST_F(mmapper, debugfs_mappings)
{
	struct mapping_row rows[8];
	unsigned char *a, *b;
	int pipefd[2], status, i, n, child_rows = 0;
	char c;
	pid_t pid;

	ASSERT_EQ(0, debugfs_mappings(rows, 8));
	a = map_dev(self->fd, 4 * self->page, 0, MAP_SHARED);
	ASSERT_NE(NULL, a);
	b = mmap(NULL, 2 * self->page, PROT_READ, MAP_SHARED, self->fd, 8 * self->page);
	ASSERT_NE(MAP_FAILED, b);

	ASSERT_EQ(2, debugfs_mappings(rows, 8));
	EXPECT_EQ(getpid(), rows[0].pid);
	EXPECT_STREQ("mmapper_test", rows[0].comm);
	EXPECT_EQ((unsigned long)a, rows[0].start);
	EXPECT_EQ((unsigned long)a + 4 * self->page, rows[0].end);
	EXPECT_EQ(0, rows[0].pgoff);
	EXPECT_STREQ("rw-s", rows[0].perms);
	EXPECT_EQ(!variant->gup, strstr(rows[0].flags, "pfnmap") != NULL)
		TH_LOG("flags '%s'", rows[0].flags);
	EXPECT_EQ((unsigned long)b, rows[1].start);
	EXPECT_EQ(8, rows[1].pgoff);
	EXPECT_STREQ("r--s", rows[1].perms);

	/* A child inherits both mappings. */
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pipefd[1]);
		_exit(read(pipefd[0], &c, 1) == 0 ? 0 : 1);
	}
	close(pipefd[0]);
	n = debugfs_mappings(rows, 8);
	EXPECT_EQ(4, n);
	for (i = 0; i < n && i < 8; i++)
		child_rows += rows[i].pid == pid;
	EXPECT_EQ(2, child_rows);
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(2, debugfs_mappings(rows, 8));

	/* Unmapping a page in the middle splits the first mapping in two. */
	ASSERT_EQ(0, munmap(a + self->page, self->page));
	ASSERT_EQ(3, debugfs_mappings(rows, 8));
	for (i = 0; i < 3; i++) {
		if (rows[i].start == (unsigned long)a) {
			EXPECT_EQ((unsigned long)a + self->page, rows[i].end);
			EXPECT_EQ(0, rows[i].pgoff);
		} else if (rows[i].start == (unsigned long)a + 2 * self->page) {
			EXPECT_EQ((unsigned long)a + 4 * self->page, rows[i].end);
			EXPECT_EQ(2, rows[i].pgoff);
		} else {
			EXPECT_EQ((unsigned long)b, rows[i].start);
		}
	}

	munmap(a, 4 * self->page);
	munmap(b, 2 * self->page);
	EXPECT_EQ(0, debugfs_mappings(rows, 8));
}

/*
 * One table makes every statistic's sysfs file, debugfs line and ioctl
 * field: stats/ has one file per __u64 of struct mmapper_stats (and
 * reset), and each says what the debugfs summary says (sysfs_stats
 * checks the ioctl against the files).
 */
TEST_F(mmapper, stats_one_table)
{
	size_t want = (sizeof(struct mmapper_stats) - 8) / sizeof(__u64);
	unsigned char *map, buf[8] = {};
	struct dirent *e;
	size_t files = 0;
	DIR *d;

	/* Counts that differ from each other and from zero ... */
	ASSERT_EQ(0, sysfs_write(STATSDIR "reset", "1"));
	ASSERT_EQ(3, pread(self->fd, buf, 3, 0));
	ASSERT_EQ(5, pwrite(self->fd, buf, 5, 0));
	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	/* ... then quiet: nothing counts between the reads below. */
	d = opendir(STATSDIR);
	ASSERT_NE(NULL, d);
	while ((e = readdir(d))) {
		char path[PATH_MAX], buf[64];
		long long sys, dbg;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "reset"))
			continue;
		files++;
		snprintf(path, sizeof(path), STATSDIR "%s", e->d_name);
		ASSERT_EQ(0, sysfs_read(path, buf, sizeof(buf)));
		sys = strtoll(buf, NULL, 0);
		dbg = debugfs_summary(e->d_name, NULL, 0);
		EXPECT_EQ(sys, dbg)
			TH_LOG("%s: sysfs %lld, debugfs %lld", e->d_name, sys, dbg);
	}
	closedir(d);
	EXPECT_EQ(want, files);
	EXPECT_EQ(3, debugfs_summary("bytes_read", NULL, 0));
	EXPECT_EQ(5, debugfs_summary("bytes_written", NULL, 0));
	EXPECT_EQ(1, debugfs_summary("active_mappings", NULL, 0));
	munmap(map, self->size);
}

/* debugfs summary: the device at a glance. */
TEST_F(mmapper, debugfs_summary)
{
	unsigned char *map;
	char backend[64];

	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	map[0] = map[3 * self->page] = map[9 * self->page] = 1;

	EXPECT_EQ(0, debugfs_summary("backend", backend, sizeof(backend)));
	EXPECT_STREQ(variant->backend, backend);
	EXPECT_EQ(0, debugfs_summary("cache", backend, sizeof(backend)));
	EXPECT_STREQ("cached", backend);
	EXPECT_EQ((long long)self->size, debugfs_summary("size", NULL, 0));
	EXPECT_EQ(NPAGES, debugfs_summary("pages", NULL, 0));
	EXPECT_EQ(variant->lazy ? 3 : NPAGES, debugfs_summary("pages_mapped", NULL, 0));
	EXPECT_EQ(1, debugfs_summary("active_mappings", NULL, 0));
	EXPECT_EQ(sysfs_read_ll(STATSDIR "opens"), debugfs_summary("opens", NULL, 0));
	munmap(map, self->size);
	EXPECT_EQ(0, debugfs_summary("pages_mapped", NULL, 0));
}

static int put_user_ioctl(int fd, void *addr, uint64_t value,
			  struct mmapper_put_user *pu)
{
	memset(pu, 0, sizeof(*pu));
	pu->size = sizeof(*pu);
	pu->addr = (uintptr_t)addr;
	pu->value = value;
	return ioctl(fd, MMAPPER_IOC_PUT_USER, pu) ? -errno : 0;
}

/*
 * The founding experiment: the kernel put_user()s into the caller's fresh
 * mapping of the device, takes the page fault, and the store lands.
 */
TEST_F(mmapper, put_user_into_fresh_mapping)
{
	const uint64_t v = 0x1122334455667788ull;
	size_t off = 3 * self->page + 8;
	struct mmapper_put_user pu;
	unsigned char *map, *ro;
	uint64_t got = 0;

	map = map_dev(self->fd, self->size, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, put_user_ioctl(self->fd, map + off, v, &pu));
	EXPECT_EQ(sizeof(pu), pu.size);
	EXPECT_EQ(0, pu.result);
	EXPECT_EQ(v, pu.readback);
	/* Lazy backends fault the page in; the others mapped it at mmap(). */
	EXPECT_EQ(variant->lazy ? 1 : 0, pu.faults);
	ASSERT_EQ(8, pread(self->fd, &got, 8, off));
	EXPECT_EQ(v, got);
	memcpy(&got, map + off, 8);
	EXPECT_EQ(v, got);

	/* Once there, the page takes no fault. */
	ASSERT_EQ(0, put_user_ioctl(self->fd, map + off, ~v, &pu));
	EXPECT_EQ(0, pu.faults);
	EXPECT_EQ(~v, pu.readback);

	/* A read-only mapping: put_user() gets EFAULT, the buffer is untouched. */
	ro = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, put_user_ioctl(self->fd, ro + self->page, v, &pu));
	EXPECT_EQ(-EFAULT, pu.result);
	EXPECT_EQ(0, pu.readback);
	ASSERT_EQ(8, pread(self->fd, &got, 8, self->page));
	EXPECT_EQ(0, got);
	munmap(ro, self->size);

	/* Nothing mapped there: EFAULT reported, the ioctl itself succeeds. */
	ASSERT_EQ(0, put_user_ioctl(self->fd, bad_ptr, v, &pu));
	EXPECT_EQ(-EFAULT, pu.result);

	/* A private mapping: the store lands in the process's copy only. */
	if (variant->private_cow) {
		unsigned char *priv = map_dev(self->fd, self->size, 0, MAP_PRIVATE);

		ASSERT_NE(NULL, priv);
		ASSERT_EQ(0, put_user_ioctl(self->fd, priv + 8, v, &pu));
		EXPECT_EQ(0, pu.result);
		EXPECT_EQ(v, pu.readback);
		ASSERT_EQ(8, pread(self->fd, &got, 8, 8));
		EXPECT_EQ(0, got);
		munmap(priv, self->size);
	}

	/* The argument itself: bad pointer, flags, out-fields, short struct. */
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_PUT_USER, bad_ptr));
	EXPECT_EQ(EFAULT, errno);
	memset(&pu, 0, sizeof(pu));
	pu.size = sizeof(pu);
	pu.addr = (uintptr_t)map;
	pu.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_PUT_USER, &pu));
	EXPECT_EQ(EINVAL, errno);
	pu.flags = 0;
	pu.faults = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_PUT_USER, &pu));
	EXPECT_EQ(EINVAL, errno);
	pu.faults = 0;
	pu.size = MMAPPER_PUT_USER_SIZE_VER0 - 8;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_PUT_USER, &pu));
	EXPECT_EQ(EINVAL, errno);
	munmap(map, self->size);
}

/*
 * Several processes open, map, fault, read and unmap at once while another
 * reads stats and debugfs; at the end every counter adds up exactly.
 */
TEST_F_TIMEOUT(mmapper, concurrent_counters_exact, 300)
{
	enum { WORKERS = 4, ITERS = 25, READ = 100 };
	struct mmapper_stats a, b, fs;
	struct mapping_row rows[1];
	pid_t reader, workers[WORKERS];
	volatile int *stop;
	int i, status;

	stop = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, stop);
	*stop = 0;
	ASSERT_EQ(0, get_stats(self->fd, &a));

	reader = fork();
	ASSERT_LE(0, reader);
	if (!reader) {
		struct page_row prow[NPAGES];
		struct mapping_row mrow[WORKERS + 1];
		struct mmapper_stats st;

		while (!*stop) {
			if (sysfs_stats(&st) || debugfs_pages(prow, NPAGES) != NPAGES ||
			    debugfs_mappings(mrow, WORKERS + 1) < 0 ||
			    debugfs_summary("pages_mapped", NULL, 0) < 0)
				_exit(1);
		}
		_exit(0);
	}

	for (i = 0; i < WORKERS; i++) {
		workers[i] = fork();
		ASSERT_LE(0, workers[i]);
		if (!workers[i]) {
			char buf[READ];
			int it;

			for (it = 0; it < ITERS; it++) {
				int fd = open(DEV, O_RDWR);
				unsigned char *map;
				size_t off;

				if (fd < 0)
					_exit(2);
				map = map_dev(fd, self->size, 0, MAP_SHARED);
				if (!map)
					_exit(3);
				for (off = 0; off < self->size; off += self->page)
					map[off] = it;
				if (pread(fd, buf, READ, 0) != READ)
					_exit(4);
				munmap(map, self->size);
				close(fd);
			}
			_exit(0);
		}
	}
	for (i = 0; i < WORKERS; i++) {
		ASSERT_EQ(workers[i], waitpid(workers[i], &status, 0));
		EXPECT_EQ(0, status) TH_LOG("worker %d", i);
	}
	*stop = 1;
	ASSERT_EQ(reader, waitpid(reader, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("reader of stats and debugfs failed");

	ASSERT_EQ(0, get_stats(self->fd, &b));
	EXPECT_EQ(a.opens + WORKERS * ITERS, b.opens);
	EXPECT_EQ(a.mmaps + WORKERS * ITERS, b.mmaps);
	EXPECT_EQ(0, b.active_mappings);
	EXPECT_EQ(a.bytes_read + WORKERS * ITERS * READ, b.bytes_read);
	EXPECT_EQ(a.faults + (variant->lazy ? WORKERS * ITERS * NPAGES : 0), b.faults);
	EXPECT_EQ(a.huge_faults, b.huge_faults);
	ASSERT_EQ(0, sysfs_stats(&fs));
	EXPECT_EQ(0, memcmp(&b, &fs, sizeof(b)));
	EXPECT_EQ(0, debugfs_mappings(rows, 1));
	munmap((void *)stop, self->page);
}

/* Write @val to @path, truncating it first (tracefs "trace" clears so). */
static int file_write_trunc(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static bool have_pat(void);

/* The tracepoints fire for mmap, fault, resize, backend switch and cache mode. */
TEST(tracepoints)
{
	char *trace, want[128];
	unsigned char *map;
	size_t len = 0;
	ssize_t n;
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	if (access(TRACEDIR "events", F_OK))
		SKIP(return, "no tracefs at " TRACEDIR);
	ASSERT_EQ(0, access(TRACEDIR "events/mmapper", F_OK));

	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
	ASSERT_EQ(0, set_size(4 * page));
	ASSERT_EQ(0, file_write_trunc(TRACEDIR "trace", ""));
	ASSERT_EQ(0, sysfs_write(TRACEDIR "events/mmapper/enable", "1"));

	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc-fault"));
	ASSERT_EQ(0, set_size(8 * page));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	map = map_dev(fd, 8 * page, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	map[2 * page] = 1;
	/* A refused resize is traced with its errno. */
	EXPECT_EQ(-EBUSY, set_size(16 * page));
	munmap(map, 8 * page);
	close(fd);
	/* A change of cache mode (vmalloc-fault is cached only), refused where there is no PAT. */
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
	sysfs_write(SYSDIR "/cache", "write-combine");
	sysfs_write(SYSDIR "/cache", "cached");

	ASSERT_EQ(0, sysfs_write(TRACEDIR "events/mmapper/enable", "0"));
	trace = calloc(1, 1 << 20);
	ASSERT_NE(NULL, trace);
	fd = open(TRACEDIR "trace", O_RDONLY);
	ASSERT_LE(0, fd);
	while (len < (1 << 20) - 1 && (n = read(fd, trace + len, (1 << 20) - 1 - len)) > 0)
		len += n;
	close(fd);

	EXPECT_NE(NULL, strstr(trace, "mmapper_switch: mmapper0 old=vmalloc new=vmalloc-fault ret=0"));
	snprintf(want, sizeof(want), "mmapper_resize: mmapper0 old_size=%ld new_size=%ld ret=0",
		 4 * page, 8 * page);
	EXPECT_NE(NULL, strstr(trace, want));
	snprintf(want, sizeof(want), "mmapper_resize: mmapper0 old_size=%ld new_size=%ld ret=-16",
		 8 * page, 16 * page);
	EXPECT_NE(NULL, strstr(trace, want));
	snprintf(want, sizeof(want), "mmapper_mmap: mmapper0 backend=vmalloc-fault start=%p end=%p pgoff=0 shared ret=0",
		 map, map + 8 * page);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("want '%s'", want);
	snprintf(want, sizeof(want), "mmapper_fault: mmapper0 address=%p pgoff=2 order=0",
		 map + 2 * page);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("want '%s'", want);
	snprintf(want, sizeof(want), "mmapper_cache: mmapper0 old=cached new=write-combine ret=%d",
		 have_pat() ? 0 : -EINVAL);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("want '%s'", want);
	if (have_pat())
		EXPECT_NE(NULL, strstr(trace, "mmapper_cache: mmapper0 old=write-combine new=cached ret=0"));
	free(trace);
}

/* Bad ioctl values: huge, negative-as-unsigned and overflowing fields. */
TEST_F(mmapper, bad_ioctl_values)
{
	struct mmapper_set_size ss = { .size = sizeof(ss) };
	struct mmapper_set_backend sb = { .size = sizeof(sb) };
	struct mmapper_range r = { .size = sizeof(r) };
	static const struct {
		uint64_t offset, length;
	} bad_ranges[] = {
		{ 0, NPAGES * 4096ULL + 1 },		/* past the end */
		{ NPAGES * 4096ULL, 1 },		/* starts at the end */
		{ ~0ULL, 2 },				/* offset + length wraps */
		{ 1, ~0ULL },				/* length wraps */
		{ ~0ULL, ~0ULL },
	};
	int64_t sum;
	unsigned int i;

	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x5a));
	sum = kernel_checksum(self->fd, 0, self->size);

	ss.buf_size = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_SIZE, &ss));
	EXPECT_EQ(EINVAL, errno);
	ss.buf_size = ~0ULL;			/* -1 */
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_SIZE, &ss));
	EXPECT_EQ(ENOMEM, errno);
	ss.buf_size = 1ULL << 62;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_SIZE, &ss));
	EXPECT_EQ(ENOMEM, errno);
	ss.buf_size = self->size;
	ss.flags = 0x80000000;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_SIZE, &ss));
	EXPECT_EQ(EINVAL, errno);

	/* A name that fills the array with no NUL, and unknown names. */
	memset(sb.backend, 'k', sizeof(sb.backend));
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_BACKEND, &sb));
	EXPECT_EQ(EINVAL, errno);
	strcpy(sb.backend, "");
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_BACKEND, &sb));
	EXPECT_EQ(EINVAL, errno);
	strcpy(sb.backend, "kmalloc ");
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_BACKEND, &sb));
	EXPECT_EQ(EINVAL, errno);

	for (i = 0; i < ARRAY_SIZE(bad_ranges); i++) {
		r.offset = bad_ranges[i].offset;
		r.length = bad_ranges[i].length;
		/* The test's buffer is NPAGES pages of 4 KiB or more. */
		if (self->page != 4096 && i < 2)
			continue;
		EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, &r)) TH_LOG("range %u", i);
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_CHECKSUM, &r)) TH_LOG("range %u", i);
		EXPECT_EQ(EINVAL, errno);
	}
	r.offset = 0;
	r.length = 1;
	r.pattern = 0x100;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, &r));
	EXPECT_EQ(EINVAL, errno);
	r.pattern = ~0U;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, &r));
	EXPECT_EQ(EINVAL, errno);

	/* The struct's own size: below the first version, above a page, -1. */
	r.pattern = 0;
	r.size = MMAPPER_RANGE_SIZE_VER0 - 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, &r));
	EXPECT_EQ(EINVAL, errno);
	r.size = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, &r));
	EXPECT_EQ(EINVAL, errno);
	r.size = ~0U;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_FILL, &r));
	EXPECT_EQ(E2BIG, errno);

	/* Nothing changed. */
	EXPECT_EQ((long long)self->size, sysfs_read_ll(SYSDIR "/size"));
	EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));
}

/* Each check returns 0 when the unprivileged user is refused as it must be. */
static int nobody_open_dev(void)
{
	return open(DEV, O_RDWR) == -1 && errno == EACCES &&
	       open(DEV, O_RDONLY) == -1 && errno == EACCES ? 0 : 1;
}

static int nobody_write_sysfs(void)
{
	return sysfs_write(SYSDIR "/size", "8K") == -EACCES &&
	       sysfs_write(SYSDIR "/backend", "vmalloc") == -EACCES &&
	       sysfs_write(CLASS_BACKEND, "vmalloc") == -EACCES &&
	       sysfs_write(STATSDIR "reset", "1") == -EACCES ? 0 : 1;
}

static int nobody_read_root_only(void)
{
	char buf[64];

	return sysfs_read(SYSDIR "/phys_addr", buf, sizeof(buf)) == -EACCES &&
	       open(DBGDIR "pages", O_RDONLY) == -1 && errno == EACCES ? 0 : 1;
}

static int nobody_read_public(void)
{
	char buf[256];

	if (sysfs_read(SYSDIR "/size", buf, sizeof(buf)))
		return 1;
	if (sysfs_read(CLASS_BACKEND, buf, sizeof(buf)))
		return 2;
	if (sysfs_read_ll(STATSDIR "opens") < 0)
		return 3;
	return 0;
}

/*
 * Without the udev rule the nodes are 0600 root: an unprivileged user can
 * neither open them, nor change anything in sysfs, nor read phys_addr or
 * debugfs; the read-only attributes stay readable.
 */
TEST(unprivileged_access)
{
	struct stat st;

	if (getuid())
		SKIP(return, "must run as root to drop to an unprivileged user");
	ASSERT_EQ(0, stat(DEV, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
	EXPECT_EQ(0, st.st_uid);
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "kmalloc"));
	ASSERT_EQ(0, set_size(4 * sysconf(_SC_PAGESIZE)));

	EXPECT_EQ(0, as_nobody(nobody_open_dev));
	EXPECT_EQ(0, as_nobody(nobody_write_sysfs));
	EXPECT_EQ(0, as_nobody(nobody_read_root_only));
	EXPECT_EQ(0, as_nobody(nobody_read_public));
	/* And nothing changed. */
	EXPECT_EQ(4 * sysconf(_SC_PAGESIZE), sysfs_read_ll(SYSDIR "/size"));
}

/*
 * The log lines mmapper prints for bad input carry no kernel address:
 * provoke them all, then read the kernel log.
 */
TEST(no_kernel_addresses_in_log)
{
	char *log, *line, *save = NULL;
	int n, fd, found = 0;
	long page = sysconf(_SC_PAGESIZE);

	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/backend", "bogus"));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/size", "12Q"));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/size", "0"));
	EXPECT_EQ(-ENOMEM, sysfs_write(SYSDIR "/size", "4T"));
	ASSERT_EQ(0, set_size(8 << 20));
	EXPECT_EQ(-E2BIG, sysfs_write(SYSDIR "/backend", "kmalloc"));
	ASSERT_EQ(0, set_size(4 * page));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	close(fd);

	n = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	ASSERT_LT(0, n);
	log = calloc(1, n + 1);
	ASSERT_NE(NULL, log);
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, n);
	ASSERT_LT(0, n);
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *p;

		if (!strstr(line, "mmapper"))
			continue;
		found++;
		/* A kernel virtual address on x86-64: ffff followed by 12 hex digits. */
		for (p = line; (p = strstr(p, "ffff")); p++) {
			size_t hex = strspn(p, "0123456789abcdef");

			EXPECT_LT(hex, 16) TH_LOG("kernel address in '%s'", line);
			if (hex >= 16)
				break;
		}
	}
	EXPECT_LT(0, found);
	free(log);
}

/*
 * vmalloc-fault with fault_around: one fault maps a window of pages from
 * the faulting one, cut at the end of the mapping and at the first page
 * mapped already; a private write still takes its own page to copy.
 */
TEST(fault_around_windows)
{
	long page = sysconf(_SC_PAGESIZE);
	struct mmapper_stats a, b;
	struct page_row rows[64];
	unsigned char *map, *priv;
	char was[16];
	int fd, i;

	ASSERT_EQ(0, sysfs_read(FAULT_AROUND, was, sizeof(was)));
	ASSERT_EQ(-EINVAL, sysfs_write(FAULT_AROUND, "0"));
	ASSERT_EQ(-EINVAL, sysfs_write(FAULT_AROUND, "257"));
	ASSERT_EQ(0, sysfs_write(FAULT_AROUND, "16"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc-fault"));
	ASSERT_EQ(0, set_size(64 * page));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	map = map_dev(fd, 64 * page, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, get_stats(fd, &a));

	map[0] = 1;		/* maps 0..15 */
	map[5 * page] = 1;	/* inside the window: no fault */
	map[20 * page] = 1;	/* maps 20..35 */
	map[60 * page] = 1;	/* maps 60..63: the mapping ends there */
	map[18 * page] = 1;	/* maps 18..19: 20 is mapped already */
	ASSERT_EQ(0, get_stats(fd, &b));
	EXPECT_EQ(a.faults + 4, b.faults);
	ASSERT_EQ(64, debugfs_pages(rows, 64));
	for (i = 0; i < 64; i++) {
		int want = i < 16 || (i >= 18 && i < 36) || i >= 60;

		EXPECT_EQ(want, (int)rows[i].mapped) TH_LOG("page %d", i);
	}
	/* The stores are in the buffer. */
	EXPECT_EQ(fnv1a("\1", 1), kernel_checksum(fd, 5 * page, 1));

	/* Private: a read maps a window read-only, a write copies one page. */
	priv = map_dev(fd, 64 * page, 0, MAP_PRIVATE);
	ASSERT_NE(NULL, priv);
	ASSERT_EQ(0, get_stats(fd, &a));
	EXPECT_EQ(1, priv[40 * page + 1] + 1);	/* read: maps 40..55 */
	priv[40 * page] = 9;			/* copy-on-write, not a fault of ours */
	priv[56 * page] = 9;			/* write fault: one page, copied */
	ASSERT_EQ(0, get_stats(fd, &b));
	EXPECT_EQ(a.faults + 2, b.faults);
	EXPECT_EQ(0, kernel_checksum(fd, 40 * page, 1) == fnv1a("\x09", 1));
	EXPECT_EQ(0, kernel_checksum(fd, 56 * page, 1) == fnv1a("\x09", 1));

	munmap(priv, 64 * page);
	munmap(map, 64 * page);
	close(fd);
	ASSERT_EQ(0, set_size(NPAGES * page));
	EXPECT_EQ(0, sysfs_write(FAULT_AROUND, was));
}

/*
 * Is the kernel built with transparent huge pages?  Without them (as
 * PREEMPT_RT kernels are) there are no 2 MiB entries in any mapping.
 */
static bool thp_configured(void)
{
	return !access("/sys/kernel/mm/transparent_hugepage", F_OK);
}

/*
 * Mappings of 2 MiB and more start on a 2 MiB boundary, where 2 MiB
 * entries exist (thp_get_unmapped_area(); compat.h before 5.18).
 */
TEST_F(mmapper, big_mappings_aligned)
{
	unsigned char *map;

	if (!thp_configured())
		SKIP(return, "kernel without CONFIG_TRANSPARENT_HUGEPAGE: no alignment to give");
	ASSERT_EQ(0, set_size(2 * SZ_2M));
	map = map_dev(self->fd, 2 * SZ_2M, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0, (unsigned long)map % SZ_2M);
	munmap(map, 2 * SZ_2M);
	ASSERT_EQ(0, set_size(self->size));
}

/*
 * 2 MiB and 3 pages: big enough that the vmalloc backends build the buffer
 * from physically consecutive runs, with a tail shorter than a run.  What
 * is written through the mapping is what the kernel reads, and the
 * reverse, across the run boundaries; get_user_pages() (O_DIRECT) works
 * across them where the backend allows it at all.
 */
TEST_F(mmapper, big_buffer_data)
{
	/* 4 pages, 2 on each side of the 2 MiB boundary, all in the buffer */
	size_t big = SZ_2M + 3 * self->page, dio = 4 * self->page;
	size_t at = SZ_2M - dio / 2;
	unsigned char *map, *want, *src, *part;
	struct page_row row;
	int bfd;

	ASSERT_EQ(0, set_size(big));
	want = malloc(big);
	ASSERT_NE(NULL, want);
	map = map_dev(self->fd, big, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);

	fill_pattern(map, 0, big, 21);
	fill_pattern(want, 0, big, 21);
	EXPECT_EQ(fnv1a(want, big), kernel_checksum(self->fd, 0, big));

	ASSERT_EQ(0, kernel_fill(self->fd, self->page / 2, big - self->page, 0x5a));
	memset(want + self->page / 2, 0x5a, big - self->page);
	EXPECT_EQ(0, memcmp(map, want, big));

	/* A second mapping, at an offset and across 2 MiB, shows the same bytes. */
	part = mmap(NULL, 2 * self->page, PROT_READ, MAP_SHARED, self->fd,
		    SZ_2M - self->page);
	ASSERT_NE(MAP_FAILED, part);
	EXPECT_EQ(0, memcmp(part, want + SZ_2M - self->page, 2 * self->page));
	munmap(part, 2 * self->page);

	/* Every page is listed in debugfs, and mapped now. */
	EXPECT_EQ((int)(big / self->page), debugfs_pages(&row, 1));
	EXPECT_EQ((long long)(big / self->page),
		  debugfs_summary("pages_mapped", NULL, 0));

	bfd = open("/dev/ram0", O_RDWR | O_DIRECT);
	if (bfd >= 0) {
		ssize_t n;

		ASSERT_EQ(0, posix_memalign((void **)&src, self->page, dio));
		fill_pattern(src, 0, dio, 22);
		ASSERT_EQ((ssize_t)dio, pwrite(bfd, src, dio, 0));
		n = pread(bfd, map + at, dio, 0);
		if (variant->gup) {
			EXPECT_EQ((ssize_t)dio, n);
			EXPECT_EQ(fnv1a(src, dio), kernel_checksum(self->fd, at, dio));
		} else {
			EXPECT_EQ(-1, n);
			EXPECT_EQ(EFAULT, errno);
		}
		free(src);
		close(bfd);
	} else {
		TH_LOG("no /dev/ram0: O_DIRECT part not run");
	}
	munmap(map, big);
	free(want);
	ASSERT_EQ(0, set_size(self->size));
}

/* Is the running kernel older than @major.@minor? */
static bool kernel_older_than(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma < major || (ma == major && mi < minor);
}

/* Free pages in blocks of at least 2^@order pages, from /proc/buddyinfo. */
static unsigned long long free_pages_in_blocks(unsigned int order)
{
	FILE *f = fopen("/proc/buddyinfo", "r");
	unsigned long long sum = 0;
	char line[512];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "zone");
		unsigned long long n;
		unsigned int o = 0;
		int used;

		if (!p)
			continue;
		p += 4;
		while (*p == ' ')
			p++;
		p += strcspn(p, " ");	/* the zone's name */
		while (sscanf(p, "%llu%n", &n, &used) == 1) {
			if (o >= order)
				sum += n << o;
			p += used;
			o++;
		}
	}
	fclose(f);
	return sum;
}

/*
 * Every backend's buffer is made of physically consecutive runs when the
 * page allocator has free blocks: one block (kmalloc), 2 MiB (huge, and
 * vmalloc and vmalloc-fault from vmalloc_huge()), up to 256 pages (pages
 * and vmalloc-user).  Scattered pages read slower through the mapping
 * (Documentation/performance.rst); this is the property behind that.
 */
TEST_F(mmapper, big_buffer_runs)
{
	size_t big = 2 * SZ_2M, n = big / self->page, i, follow = 0;
	unsigned long long in_2m_blocks = free_pages_in_blocks(9);
	struct page_row *rows;

	if (in_2m_blocks < 4 * n)
		SKIP(return, "too few free 2 MiB blocks (%llu pages in them)",
		     in_2m_blocks);
	/* vmalloc_huge(), the source of the runs, came in 5.18. */
	if (!strncmp(variant->backend, "vmalloc", 7) &&
	    strcmp(variant->backend, "vmalloc-user") && kernel_older_than(5, 18))
		SKIP(return, "%s: no vmalloc_huge() before 5.18: single pages",
		     variant->backend);
	ASSERT_EQ(0, set_size(big));
	rows = calloc(n, sizeof(*rows));
	ASSERT_NE(NULL, rows);
	ASSERT_EQ((int)n, debugfs_pages(rows, n));
	for (i = 1; i < n; i++)
		follow += rows[i].pfn == rows[i - 1].pfn + 1;
	TH_LOG("%zu of %zu pages follow their predecessor physically", follow, n - 1);
	EXPECT_GE(follow, (n - 1) * 3 / 4);
	free(rows);
	ASSERT_EQ(0, set_size(self->size));
}

/* 1 GiB works for every backend but kmalloc. */
TEST_F_TIMEOUT(mmapper, scale_1g, 600)
{
	size_t big = 1UL << 30, i;
	unsigned char *map;
	unsigned char c;

	if (!strcmp(variant->backend, "kmalloc")) {
		/* KMALLOC_MAX_SIZE is the limit: refused, nothing changes. */
		EXPECT_EQ(-E2BIG, set_size(big));
		EXPECT_EQ((long long)self->size, sysfs_read_ll(SYSDIR "/size"));
		return;
	}
	if (meminfo("MemAvailable") < big + (big >> 1))
		SKIP(return, "needs 1.5 GiB available, %llu MiB here",
		     meminfo("MemAvailable") >> 20);

	ASSERT_EQ(0, set_size(big));
	map = map_dev(self->fd, big, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	for (i = 0; i < big; i += self->page)
		map[i + (i >> 12) % self->page] = (unsigned char)(i >> 12);
	for (i = 0; i < big; i += 4099 * self->page) {
		size_t at = i + (i >> 12) % self->page;

		ASSERT_EQ(1, pread(self->fd, &c, 1, at));
		EXPECT_EQ((unsigned char)(i >> 12), c) TH_LOG("page %zu", i >> 12);
	}
	/* debugfs streams all 262144 pages, each one mapped now. */
	{
		struct page_row row;

		EXPECT_EQ((long long)(big / self->page),
			  debugfs_summary("pages_mapped", NULL, 0));
		EXPECT_EQ((int)(big / self->page), debugfs_pages(&row, 0));
	}
	munmap(map, big);
	ASSERT_EQ(0, set_size(self->size));
}

/* Is the mapping at @addr eligible for huge entries, says the kernel? */
static int thp_eligible(void *addr)
{
	return smaps_field(addr, "THPeligible:");
}

struct huge_case {
	const char *what;
	size_t buf_size;
	size_t map_len;
	bool misalign;
	/* when the kernel maps 2 MiB entries in PFN mappings */
	unsigned long pmd_faults, pte_faults;
};

/* huge: 2 MiB entries where address and offset allow, 4 KiB elsewhere. */
TEST(huge_pmd_entries)
{
	static const struct huge_case cases[] = {
		{ "aligned 8M", 8 << 20, 8 << 20, false, 4, 0 },
		{ "3M: one chunk and a half", 3 << 20, 3 << 20, false, 1, 256 },
		{ "misaligned 4M", 8 << 20, 4 << 20, true, 0, 1024 },
	};
	int pmd_expected = !kernel_older_than(6, 12) && thp_configured();
	unsigned int c;

	TH_LOG("2 MiB entries expected on this kernel: %s", pmd_expected ? "yes" : "no");
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct huge_case *hc = &cases[c];
		struct mmapper_info info = { .size = sizeof(info) };
		struct mmapper_stats a, b;
		unsigned char *map, *hint = NULL, *res = NULL;
		size_t i;
		int fd, eligible;

		ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
		ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "huge"));
		ASSERT_EQ(0, set_size(hc->buf_size));
		fd = open(DEV, O_RDWR);
		ASSERT_LE(0, fd);

		if (hc->misalign) {
			/* A 4 KiB-off-2 MiB address: no 2 MiB entry fits. */
			res = reserve_2m(hc->map_len + 2 * SZ_2M, &hint);
			ASSERT_NE(MAP_FAILED, res);
			hint += 4096;
		}
		map = mmap(hint, hc->map_len, PROT_READ | PROT_WRITE,
			   MAP_SHARED | (hint ? MAP_FIXED : 0), fd, 0);
		ASSERT_NE(MAP_FAILED, map);
		eligible = thp_eligible(map);
		ASSERT_LE(0, eligible) TH_LOG("no THPeligible line in smaps");
		/*
		 * What the kernel should give, not what the module says: 2 MiB
		 * entries in PFN mappings came in 6.12 and need THP built in
		 * (not on PREEMPT_RT); the THP mode does not matter for them
		 * (huge_pmd_cap_follows_thp).  There the module must say so, and aligned
		 * mappings must be eligible; before, every entry is 4 KiB.
		 */
		ASSERT_EQ(0, ioctl(fd, MMAPPER_IOC_GET_INFO, &info));
		EXPECT_EQ(pmd_expected, !!(info.caps & MMAPPER_CAP_HUGE_PMD));
		if (!hc->misalign)
			EXPECT_EQ(pmd_expected, eligible) TH_LOG("%s", hc->what);

		ASSERT_EQ(0, get_stats(fd, &a));
		for (i = 0; i < hc->map_len; i += 4096)
			map[i] = (unsigned char)(i >> 12);
		ASSERT_EQ(0, get_stats(fd, &b));

		TH_LOG("%s: THPeligible %d, %llu 2 MiB and %llu 4 KiB faults", hc->what,
		       eligible, b.huge_faults - a.huge_faults, b.faults - a.faults);
		if (eligible) {
			EXPECT_EQ(hc->pmd_faults, b.huge_faults - a.huge_faults) TH_LOG("%s", hc->what);
			EXPECT_EQ(hc->pte_faults, b.faults - a.faults) TH_LOG("%s", hc->what);
		} else {
			EXPECT_EQ(0, b.huge_faults - a.huge_faults) TH_LOG("%s", hc->what);
			EXPECT_EQ(hc->map_len / 4096, b.faults - a.faults) TH_LOG("%s", hc->what);
		}
		EXPECT_EQ(fnv1a(map, hc->map_len), kernel_checksum(fd, 0, hc->map_len));

		munmap(map, hc->map_len);
		if (res)
			munmap(res, hc->map_len + 2 * SZ_2M);
		close(fd);
	}
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
}

/*
 * huge: a size the machine cannot give in 2 MiB chunks fails part-way
 * through the allocation: ENOMEM, and the old buffer is as it was.
 */
TEST(huge_alloc_failure_keeps_buffer)
{
	struct mmapper_stats a, b;
	char val[32];
	int fd;
	int64_t sum;

	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "4M"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "huge"));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kernel_fill(fd, 0, 4 << 20, 0x6d));
	sum = kernel_checksum(fd, 0, 4 << 20);
	ASSERT_EQ(0, get_stats(fd, &a));

	/*
	 * All of MemTotal, in 2 MiB chunks: not above it, so only the
	 * allocation itself can refuse it, and it must, since the kernel uses
	 * some (64 MiB less was seen to fit on a PREEMPT_RT kernel).
	 */
	snprintf(val, sizeof(val), "%llu", meminfo("MemTotal") & ~(SZ_2M - 1));
	EXPECT_EQ(-ENOMEM, sysfs_write(SYSDIR "/size", val));

	ASSERT_EQ(0, get_stats(fd, &b));
	EXPECT_EQ(a.alloc_failures + 1, b.alloc_failures);
	EXPECT_EQ(a.resizes, b.resizes);
	EXPECT_EQ(4 << 20, sysfs_read_ll(SYSDIR "/size"));
	EXPECT_EQ(sum, kernel_checksum(fd, 0, 4 << 20));
	close(fd);
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
}

/*
 * Memory a caller may take: max_size for callers without CAP_SYS_ADMIN,
 * charges to the memory cgroup of the task that sizes a buffer, ENOMEM
 * instead of the OOM killer, and fatal signals that end a long allocation.
 */

#define MAX_SIZE	"/sys/module/mmapper/parameters/max_size"
#define CGROOT		"/sys/fs/cgroup"
#define CGTEST		CGROOT "/mmapper-test"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The state letter of process @pid and the clock ticks it has spent in
 * the kernel (/proc/PID/stat).  Return: the state letter, or 0.
 */
static char proc_state(pid_t pid, unsigned long *stime)
{
	char path[64], line[512], *p, state;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	p = p ? strrchr(line, ')') : NULL;
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %lu",
			 &state, stime) != 2)
		return 0;
	return state;
}

/*
 * MMAPPER_IOC_CHECKSUM and _FILL walk the range in pieces of 1 MiB, each
 * under the device lock, which takes long on a big buffer: a caller killed
 * in its walk does not finish it, and one killed while it waits for
 * another's walk stops waiting (on PREEMPT_RT too, where a waiter spins on
 * a running owner blind to signals).  mmap() waits for one piece, not the
 * walk; a backend switch or a shrink between two pieces ends the walk
 * (EAGAIN).  A range across the pieces has the checksum of the whole.
 *
 * Times are compared with a walk of the same run, so that a loaded host
 * (an emulated CPU shared with other VMs) slows both sides alike.
 */

/* A child walking [0, len) of a device with CHECKSUM; its result on a pipe. */
struct walker {
	pid_t pid;
	int pipe[2];
};

/*
 * Start @w, and return once it has spent two clock ticks in the kernel:
 * in its walk, not before it (a fork()ed child's own kernel time is a
 * few page faults), however loaded the host.  @limit: how long to wait
 * for that, in seconds.  Return: 0, or -1 if it did not get there.
 */
static int walker_start(struct walker *w, int fd, size_t len, double limit)
{
	unsigned long stime = 0;
	double t0;
	char c;

	if (pipe(w->pipe))
		return -1;
	w->pid = fork();
	if (!w->pid) {
		int64_t sum;

		if (write(w->pipe[1], "w", 1) != 1)
			_exit(1);
		sum = kernel_checksum(fd, 0, len);
		_exit(write(w->pipe[1], &sum, sizeof(sum)) == sizeof(sum) ? 0 : 1);
	}
	if (w->pid < 0 || read(w->pipe[0], &c, 1) != 1)
		return -1;
	t0 = now();
	while (proc_state(w->pid, &stime) && stime < 2 && now() - t0 < limit)
		usleep(1000);
	return stime >= 2 ? 0 : -1;
}

/*
 * The result of @w's walk (its checksum, or -errno), once it has ended;
 * INT64_MIN if it gave none.  Reaps the child and closes the pipe.
 */
static int64_t walker_result(struct walker *w)
{
	int64_t sum = INT64_MIN;

	if (read(w->pipe[0], &sum, sizeof(sum)) != sizeof(sum))
		sum = INT64_MIN;
	kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	close(w->pipe[0]);
	close(w->pipe[1]);
	return sum;
}

TEST(range_ioctls_killable)
{
	size_t size = 128 << 20, part = (3 << 20) + 12345;
	double t0, walk, killed, gone, ended;
	unsigned long stime;
	struct walker w;
	int64_t want, sum;
	pid_t waiter;
	int fd, p[2], st;
	unsigned char *buf, *map;
	char c, state;

	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
	ASSERT_EQ(0, set_size(size));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	buf = malloc(part);
	ASSERT_NE(NULL, buf);
	fill_pattern(buf, 0, part, 3);
	ASSERT_EQ((ssize_t)part, pwrite(fd, buf, part, 777));
	EXPECT_EQ(fnv1a(buf, part), kernel_checksum(fd, 777, part));
	free(buf);

	t0 = now();
	ASSERT_LE(0, kernel_checksum(fd, 0, size));
	walk = now() - t0;

	/*
	 * One walks; one waits for the device lock (D state: a killable
	 * sleep is reported so) and is killed, while the walk goes on.  It
	 * must be gone in less than half the time the walk still takes (a
	 * waiter that cannot be killed goes only once the walk is over).
	 */
	t0 = now();
	ASSERT_EQ(0, walker_start(&w, fd, size, walk));
	ASSERT_EQ(0, pipe(p));
	waiter = fork();
	ASSERT_LE(0, waiter);
	if (!waiter) {
		if (write(p[1], "w", 1) != 1)
			_exit(1);
		kernel_fill(fd, 0, size, 0x5a);
		_exit(0);
	}
	ASSERT_EQ(1, read(p[0], &c, 1));
	close(p[0]);
	close(p[1]);
	killed = now();
	while ((state = proc_state(waiter, &stime)) != 'D' && now() - killed < walk / 2)
		usleep(1000);
	if (state != 'D') {
		kill(waiter, SIGKILL);
		waitpid(waiter, NULL, 0);
		walker_result(&w);
	}
	ASSERT_EQ('D', state)
		TH_LOG("the waiter did not sleep on the lock within half a walk (%.3f s)", walk);

	killed = now();
	kill(waiter, SIGKILL);
	ASSERT_EQ(waiter, waitpid(waiter, &st, 0));
	gone = now();
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_LE(0, walker_result(&w));
	ended = now();
	EXPECT_TRUE(gone - killed < (ended - killed) / 2)
		TH_LOG("the killed waiter took %.3f s to go; the walk went on for %.3f s",
		       gone - killed, ended - killed);
	/* This run's walk, under this run's load. */
	walk = ended - t0;

	/*
	 * mmap() during a walk waits for one piece of it; a switch runs
	 * between two and ends the walk (EAGAIN), and keeps the bytes.
	 */
	want = kernel_checksum(fd, 0, size);
	ASSERT_EQ(0, walker_start(&w, fd, size, walk));
	killed = now();
	map = map_dev(fd, sysconf(_SC_PAGESIZE), 0, MAP_SHARED);
	gone = now() - killed;
	EXPECT_NE(NULL, map);
	if (map)
		munmap(map, sysconf(_SC_PAGESIZE));
	EXPECT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc-user"));
	sum = walker_result(&w);
	EXPECT_TRUE(gone < walk / 2)
		TH_LOG("mmap() took %.3f s during a walk of %.3f s", gone, walk);
	EXPECT_EQ(-EAGAIN, sum)
		TH_LOG("a walk across a backend switch gave %lld", (long long)sum);
	EXPECT_EQ(want, kernel_checksum(fd, 0, size));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));

	/*
	 * So does a shrink that the walked range still fits in (the range
	 * is checked at the first piece only: the walk must see the change).
	 * Three quarters of a walk: the change gets the lock within half a
	 * walk (the mmap() above).
	 */
	want = kernel_checksum(fd, 0, size / 4 * 3);
	ASSERT_EQ(0, walker_start(&w, fd, size / 4 * 3, walk));
	EXPECT_EQ(0, set_size(size / 4 * 3));
	sum = walker_result(&w);
	EXPECT_EQ(-EAGAIN, sum)
		TH_LOG("a walk across a shrink gave %lld", (long long)sum);
	EXPECT_EQ(want, kernel_checksum(fd, 0, size / 4 * 3));
	ASSERT_EQ(0, set_size(size));

	/* A walker killed part-way goes within half a walk. */
	ASSERT_EQ(0, walker_start(&w, fd, size, walk));
	killed = now();
	kill(w.pid, SIGKILL);
	ASSERT_EQ(w.pid, waitpid(w.pid, &st, 0));
	gone = now() - killed;
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_TRUE(gone < walk / 2)
		TH_LOG("a walk takes %.3f s; the killed walker took %.3f s to go", walk, gone);
	close(w.pipe[0]);
	close(w.pipe[1]);

	/* The lock is free again, and the device works. */
	EXPECT_EQ(0, kernel_fill(fd, 0, 1, 1));
	EXPECT_EQ(fnv1a("\1", 1), kernel_checksum(fd, 0, 1));
	close(fd);
	ASSERT_EQ(0, set_size(NPAGES * sysconf(_SC_PAGESIZE)));
}

static int ioctl_set_size(int fd, uint64_t size)
{
	struct mmapper_set_size s = { .size = sizeof(s), .buf_size = size };

	return ioctl(fd, MMAPPER_IOC_SET_SIZE, &s) ? -errno : 0;
}

static int ioctl_set_backend(int fd, const char *name)
{
	struct mmapper_set_backend s = { .size = sizeof(s) };

	snprintf(s.backend, sizeof(s.backend), "%s", name);
	return ioctl(fd, MMAPPER_IOC_SET_BACKEND, &s) ? -errno : 0;
}

/* Largest buffer @backend holds that these tests use: kmalloc's is 4 MiB. */
static size_t test_size(const char *backend, size_t want)
{
	return strcmp(backend, "kmalloc") ? want : 4UL << 20;
}

#define FAIL_PAGE_ALLOC	"/sys/kernel/debug/fail_page_alloc/"

/* fail_page_alloc's attribute @name set to @val: 0, or -errno. */
static int fail_page_alloc_set(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), FAIL_PAGE_ALLOC "%s", name);
	return sysfs_write(path, val);
}

#define MAKE_IT_FAIL	"/proc/thread-self/make-it-fail"
/* fail_page_alloc's budget: more failures than a test can take. */
#define FAIL_TIMES	"1000000"

/* Each of fail_page_alloc's attributes in @attrs[][0] set to @attrs[][1]. */
static int fail_page_alloc_set_all(const char *const (*attrs)[2], size_t n)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = fail_page_alloc_set(attrs[i][0], attrs[i][1]);
		if (ret)
			return ret;
	}
	return 0;
}

/* fail_page_alloc as the kernel boots with it: failing nothing. */
static void fail_page_alloc_reset(void)
{
	static const char *const boot[][2] = {
		{ "probability", "0" }, { "times", "1" }, { "task-filter", "N" },
		{ "ignore-gfp-highmem", "Y" }, { "verbose", "2" },
	};

	sysfs_write(MAKE_IT_FAIL, "0");
	fail_page_alloc_set_all(boot, ARRAY_SIZE(boot));
}

/*
 * The size change to @size with every allocation above order 0 that
 * could not have reclaimed (the attempts "only if free") failing, for this
 * thread only: 0 or -errno, and in @failed how many fail_page_alloc failed.
 */
static int set_size_without_free_blocks(size_t size, long long *failed)
{
	static const char *const fail[][2] = {
		{ "verbose", "0" }, { "task-filter", "Y" }, { "ignore-gfp-wait", "Y" },
		{ "ignore-gfp-highmem", "N" }, { "min-order", "1" }, { "interval", "1" },
		{ "space", "0" }, { "times", FAIL_TIMES }, { "probability", "100" },
	};
	int ret = -EIO;

	if (!fail_page_alloc_set_all(fail, ARRAY_SIZE(fail)) && !sysfs_write(MAKE_IT_FAIL, "1")) {
		ret = set_size(size);
		sysfs_write(MAKE_IT_FAIL, "0");
		*failed = atoll(FAIL_TIMES) - sysfs_read_ll(FAIL_PAGE_ALLOC "times");
	}
	fail_page_alloc_reset();
	return ret;
}

/*
 * Where no block above one page is free, every backend still gets its
 * buffer, with the data as in any change.  pages and vmalloc-user take
 * their runs (and pages its 2 MiB folios) only if free, and fall back to
 * single pages; the others take their blocks with reclaim (huge's and
 * kmalloc's, vmalloc_huge()'s 2 MiB ones: only vmalloc()'s attempts above
 * 2 MiB fail here).  The debug kernel's fail_page_alloc plays the
 * fragmented machine, for this thread only, and counts its failures: an
 * order that failed is not asked for again in the same buffer
 * (src/backends/common.c), so pages and vmalloc-user see one failure for
 * each of orders 8 to 1, and pages one more per 2 MiB folio (four), not
 * several per page; the allocations of slab and stack depot that fail
 * besides are a few.
 */
TEST_F(mmapper, no_free_blocks)
{
	size_t big = test_size(variant->backend, 4 * SZ_2M), n = big / self->page;
	bool runs = !strcmp(variant->backend, "pages") ||
		    !strcmp(variant->backend, "vmalloc-user");
	unsigned char *buf, *map;
	struct page_row *rows;
	long long failed = -1;

	if (access(FAIL_PAGE_ALLOC "times", F_OK))
		SKIP(return, "no fail_page_alloc (the debug kernel has it)");
	fail_page_alloc_reset();
	buf = malloc(big);
	rows = calloc(n + 1, sizeof(*rows));
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, rows);
	fill_pattern(buf, 0, self->size, 23);
	ASSERT_EQ((ssize_t)self->size, pwrite(self->fd, buf, self->size, 0));

	ASSERT_EQ(0, set_size_without_free_blocks(big, &failed));
	TH_LOG("%s: %lld allocations failed by fail_page_alloc", variant->backend, failed);
	if (runs) {
		EXPECT_LE(8, failed);
		EXPECT_GE(64, failed);
	}
	ASSERT_EQ((long long)big, sysfs_read_ll(SYSDIR "/size"));
	ASSERT_EQ((int)n, debugfs_pages(rows, n + 1));

	/* The old bytes, then zeros: through read() and a mapping. */
	ASSERT_EQ((ssize_t)big, pread(self->fd, buf, big, 0));
	EXPECT_EQ(-1, check_pattern(buf, 0, self->size, 23));
	EXPECT_EQ(-1, check_zero(buf + self->size, big - self->size));
	map = map_dev(self->fd, big, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0, memcmp(map, buf, big));
	fill_pattern(map, 0, big, 29);
	EXPECT_EQ(fnv1a(map, big), kernel_checksum(self->fd, 0, big));
	munmap(map, big);

	free(rows);
	free(buf);
	ASSERT_EQ(0, set_size(self->size));
}

/*
 * cgroup v2 with the memory controller enabled for children, mounting it
 * where the test VM has not: NULL, or why not.
 */
static const char *cgroup_memory_ready(void)
{
	char buf[256];

	if (access(CGROOT "/cgroup.controllers", F_OK) &&
	    mount("none", CGROOT, "cgroup2", 0, NULL))
		return "no cgroup v2 (CONFIG_CGROUPS, CONFIG_MEMCG)";
	if (sysfs_read(CGROOT "/cgroup.controllers", buf, sizeof(buf)) ||
	    !strstr(buf, "memory"))
		return "no memory controller (CONFIG_MEMCG)";
	if (sysfs_write(CGROOT "/cgroup.subtree_control", "+memory"))
		return "cannot enable the memory controller";
	return NULL;
}

/* A fresh CGTEST with memory.max @max ("max": no limit): 0 or -errno. */
static int cgroup_create(const char *max)
{
	rmdir(CGTEST);
	if (mkdir(CGTEST, 0755))
		return -errno;
	return sysfs_write(CGTEST "/memory.max", max);
}

/* The value of "@key N" in CGTEST/memory.events, or -1. */
static long long cgroup_event(const char *key)
{
	char line[128], name[64];
	long long val = -1, v;
	FILE *f = fopen(CGTEST "/memory.events", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", name, &v) == 2 && !strcmp(name, key))
			val = v;
	fclose(f);
	return val;
}

/* Move the calling process into CGTEST. */
static int cgroup_enter(void)
{
	return sysfs_write(CGTEST "/cgroup.procs", "0");
}

/*
 * In a child inside CGTEST: SET_SIZE @size on @fd.  Return its errno (0 on
 * success), or -1 if it did not exit on its own (killed: OOM).
 */
static int set_size_in_cgroup(int fd, uint64_t size)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		if (cgroup_enter())
			_exit(100);
		_exit(-ioctl_set_size(fd, size));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * 5.10 marks charged pages PageKmemcg, a type kept in the mapcount, and
 * cannot map them as struct pages: there the backends that map struct
 * pages are not charged (compat.h, MMAPPER_GFP_NO_MAPPED).
 */
static const char *memcg_not_charged(const char *backend)
{
	if (kernel_older_than(5, 11) && (!strcmp(backend, "vmalloc-fault") ||
					 !strcmp(backend, "vmalloc-user") ||
					 !strcmp(backend, "pages")))
		return "5.10 cannot map memcg-charged pages: this backend is not charged there";
	return NULL;
}

/*
 * A request above the memory cgroup's limit: ENOMEM for the caller, nobody
 * OOM-killed, the old buffer and its bytes as they were, nothing charged.
 */
TEST_F(mmapper, memcg_limit_enomem)
{
	size_t want = test_size(variant->backend, 32UL << 20);
	const char *why = cgroup_memory_ready();
	char limit[32];
	int64_t sum;
	int err, i;

	if (!why)
		why = memcg_not_charged(variant->backend);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x5a));
	sum = kernel_checksum(self->fd, 0, self->size);
	snprintf(limit, sizeof(limit), "%zu", want / 2);
	ASSERT_EQ(0, cgroup_create(limit));

	err = set_size_in_cgroup(self->fd, want);
	EXPECT_EQ(ENOMEM, err) TH_LOG("%s: SET_SIZE %zu under memory.max %s: %s",
				      variant->backend, want, limit,
				      err < 0 ? "killed" : strerror(err));
	EXPECT_EQ(0, cgroup_event("oom_kill"));
	EXPECT_EQ((long long)self->size, sysfs_read_ll(SYSDIR "/size"));
	EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));
	/* A failed allocation leaves no charge behind (7.2 frees vmalloc's lazily). */
	for (i = 0; i < 40 && sysfs_read_ll(CGTEST "/memory.current") >= 1 << 20; i++)
		usleep(50 * 1000);
	EXPECT_GT(1 << 20, sysfs_read_ll(CGTEST "/memory.current"));
	EXPECT_EQ(0, rmdir(CGTEST));
}

/*
 * The page array of a large buffer is itself large (8 bytes a page): under a
 * memory.max below it, kvmalloc() falls back to vmalloc(), whose charge must
 * fail like the buffer's own (ENOMEM), not call the memcg OOM killer on the
 * caller.
 */
TEST_F(mmapper, memcg_limit_page_array)
{
	size_t want = test_size(variant->backend, 512UL << 20);
	const char *why = cgroup_memory_ready();
	int err;

	if (!why)
		why = memcg_not_charged(variant->backend);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, cgroup_create("393216"));	/* 384 KiB: less than 1 MiB of array */

	err = set_size_in_cgroup(self->fd, want);
	EXPECT_TRUE(err == ENOMEM || err == E2BIG)
		TH_LOG("%s: SET_SIZE %zu under memory.max 384K: %s", variant->backend,
		       want, err < 0 ? "killed" : strerror(err));
	EXPECT_EQ(0, cgroup_event("oom_kill"));
	EXPECT_EQ((long long)self->size, sysfs_read_ll(SYSDIR "/size"));
	EXPECT_EQ(0, rmdir(CGTEST));
}

/* A resize is charged to the resizer's memory cgroup, and uncharged when freed. */
TEST_F(mmapper, memcg_charged)
{
	size_t want = test_size(variant->backend, 32UL << 20);
	const char *why = cgroup_memory_ready();
	long long before, after, freed;

	if (!why)
		why = memcg_not_charged(variant->backend);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, cgroup_create("max"));
	before = sysfs_read_ll(CGTEST "/memory.current");
	ASSERT_EQ(0, set_size_in_cgroup(self->fd, want));
	after = sysfs_read_ll(CGTEST "/memory.current");
	TH_LOG("%s: memory.current %lld -> %lld for %zu bytes", variant->backend,
	       before, after, want);
	EXPECT_LE((long long)(want - want / 16), after - before);
	EXPECT_GE((long long)(want + (2 << 20)), after - before);

	/* Freed by root, from another cgroup: the charge goes with the pages. */
	ASSERT_EQ(0, set_size(self->size));
	freed = sysfs_read_ll(CGTEST "/memory.current");
	EXPECT_GT(before + (1 << 20), freed);
	EXPECT_EQ(0, rmdir(CGTEST));
}

/*
 * SIGKILL during a 1 GiB allocation: the process ends within a second, the
 * old buffer keeps its size and bytes, and the memory comes back.  The
 * child runs in a memory cgroup when there is one, as every process of a
 * systemd machine does: vmalloc() looks at fatal signals on its page-at-a-time
 * path, which accounted allocations take while memcg kmem accounting is on.
 */
TEST_F_TIMEOUT(mmapper, sigkill_ends_allocation, 120)
{
	size_t big = 1UL << 30;
	unsigned long long free_before, free_after;
	int ready[2], status;
	double t0, t1;
	bool in_cg;
	int64_t sum;
	pid_t pid;
	char c;

	if (!strcmp(variant->backend, "kmalloc"))
		SKIP(return, "kmalloc holds at most 4 MiB");
	if (meminfo("MemAvailable") < big + (big >> 1))
		SKIP(return, "needs 1.5 GiB available, %llu MiB here",
		     meminfo("MemAvailable") >> 20);
	in_cg = !cgroup_memory_ready() && !cgroup_create("max");
	/* The kernel's vmalloc(), not mmapper's loops: backends/vmalloc.rst. */
	if (!in_cg && (!strcmp(variant->backend, "vmalloc") ||
		       !strcmp(variant->backend, "vmalloc-fault")))
		SKIP(return, "no memory cgroup: vmalloc() then takes 4 KiB pages in bulk without looking at signals");
	if ((kernel_older_than(5, 11) || !kernel_older_than(7, 0)) &&
	    (!strcmp(variant->backend, "vmalloc") || !strcmp(variant->backend, "vmalloc-fault")))
		SKIP(return, "this kernel's vmalloc() does not stop at a fatal signal (measured: 5.10, 7.2)");
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0xc3));
	sum = kernel_checksum(self->fd, 0, self->size);
	free_before = free_memory();
	ASSERT_EQ(0, pipe(ready));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (in_cg && cgroup_enter())
			_exit(100);
		if (write(ready[1], "x", 1) != 1)
			_exit(101);
		_exit(-ioctl_set_size(self->fd, big));
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	usleep(50 * 1000);
	/* Still inside the allocation. */
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	t0 = now();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	t1 = now();
	TH_LOG("%s: gone %.3f s after SIGKILL%s", variant->backend, t1 - t0,
	       in_cg ? ", in a memory cgroup" : "");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_GT(1.0, t1 - t0);

	EXPECT_EQ((long long)self->size, sysfs_read_ll(SYSDIR "/size"));
	EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));
	free_after = free_memory();
	EXPECT_GT(free_after + (32ULL << 20), free_before)
		TH_LOG("free memory (MemFree and the per-CPU lists) %llu MiB before, %llu MiB after", free_before >> 20,
		       free_after >> 20);
	if (in_cg)
		EXPECT_EQ(0, rmdir(CGTEST));
}

static int nobody_max_size(void)
{
	int fd = open(DEV, O_RDWR);

	if (fd < 0)
		return 1;
	if (ioctl_set_size(fd, 2 << 20) != -EPERM)
		return 2;
	if (ioctl_set_size(fd, 1 << 20))
		return 3;
	/* 1 MiB is not above max_size: a switch may allocate it anew. */
	if (ioctl_set_backend(fd, "pages"))
		return 4;
	if (ioctl_set_size(fd, 512 << 10))
		return 5;
	close(fd);
	return 0;
}

static int nobody_switch_big(void)
{
	int fd = open(DEV, O_RDWR);

	if (fd < 0)
		return 1;
	/* Root made it 2 MiB: switching would allocate 2 MiB. */
	if (ioctl_set_backend(fd, "vmalloc") != -EPERM)
		return 2;
	/* Shrinking below max_size is allowed. */
	if (ioctl_set_size(fd, 1 << 20))
		return 3;
	close(fd);
	return 0;
}

/* uid 0 without CAP_SYS_ADMIN: the same rule, through sysfs and ioctl. */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~(1U << CAP_SYS_ADMIN);
	d[0].permitted &= ~(1U << CAP_SYS_ADMIN);
	d[0].inheritable &= ~(1U << CAP_SYS_ADMIN);
	return syscall(SYS_capset, &h, d);
}

static int root_without_sys_admin(void)
{
	int fd;

	if (drop_sys_admin())
		return 1;
	if (sysfs_write(SYSDIR "/size", "2M") != -EPERM)
		return 2;
	if (sysfs_write(SYSDIR "/size", "1M"))
		return 3;
	fd = open(DEV, O_RDWR);
	if (fd < 0)
		return 4;
	if (ioctl_set_size(fd, 2 << 20) != -EPERM)
		return 5;
	close(fd);
	/* max_size itself stays root's (the file is 0644 root). */
	return 0;
}

static int as_root_without_sys_admin(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn());
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* max_size=0: a caller without CAP_SYS_ADMIN allocates nothing, but uses the buffer. */
static int nobody_no_alloc(void)
{
	int fd = open(DEV, O_RDWR);
	char c;

	if (fd < 0)
		return 1;
	if (ioctl_set_size(fd, 4096) != -EPERM)
		return 2;
	if (ioctl_set_backend(fd, "kmalloc") != -EPERM)
		return 3;
	if (pread(fd, &c, 1, 0) != 1)
		return 4;
	close(fd);
	return 0;
}

FIXTURE(max_size) {
	char saved[32];
};

FIXTURE_SETUP(max_size)
{
	if (getuid())
		SKIP(return, "must run as root to drop privileges");
	ASSERT_EQ(0, sysfs_read(MAX_SIZE, self->saved, sizeof(self->saved)))
		TH_LOG("no %s", MAX_SIZE);
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	/* A descriptor that uid nobody may open, as the udev rule gives a group. */
	ASSERT_EQ(0, chmod(DEV, 0666));
}

FIXTURE_TEARDOWN(max_size)
{
	chmod(DEV, 0600);
	if (self->saved[0])
		sysfs_write(MAX_SIZE, self->saved);
	sysfs_write(SYSDIR "/backend", "vmalloc");
	sysfs_write(SYSDIR "/size", "64K");
}

/*
 * max_size bounds what a caller without CAP_SYS_ADMIN may set, through
 * ioctl and sysfs alike: EPERM above it, with a log line; root may change
 * it at run time, with K/M/G suffixes.
 */
TEST_F(max_size, unprivileged_callers)
{
	char cur[64];

	ASSERT_EQ(0, sysfs_write(MAX_SIZE, "1M"));
	ASSERT_EQ(0, sysfs_read(MAX_SIZE, cur, sizeof(cur)));
	EXPECT_STREQ("1048576", cur);
	EXPECT_EQ(-EINVAL, sysfs_write(MAX_SIZE, "12Q"));
	EXPECT_EQ(-ERANGE, sysfs_write(MAX_SIZE, "16777216T"));
	ASSERT_EQ(0, sysfs_read(MAX_SIZE, cur, sizeof(cur)));
	EXPECT_STREQ("1048576", cur);

	EXPECT_EQ(0, as_nobody(nobody_max_size));
	EXPECT_EQ(512 << 10, sysfs_read_ll(SYSDIR "/size"));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/backend", cur, sizeof(cur)));
	EXPECT_NE(NULL, strstr(cur, "[pages]"));

	/* Root may go above max_size. */
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "2M"));
	EXPECT_EQ(0, as_nobody(nobody_switch_big));
	EXPECT_EQ(1 << 20, sysfs_read_ll(SYSDIR "/size"));

	EXPECT_EQ(0, as_root_without_sys_admin(root_without_sys_admin));
	EXPECT_EQ(1 << 20, sysfs_read_ll(SYSDIR "/size"));
	EXPECT_TRUE(log_contains("above max_size"));

	ASSERT_EQ(0, sysfs_write(MAX_SIZE, "0"));
	EXPECT_EQ(0, as_nobody(nobody_no_alloc));
	EXPECT_EQ(1 << 20, sysfs_read_ll(SYSDIR "/size"));
}

/*
 * Cache modes (Documentation/cache-modes.rst): a buffer's pages have one
 * memory type in every mapping, the kernel's direct map included, and go
 * back to write-back before they are freed.  Without PAT (the debug
 * kernel has none) only cached is offered.
 */

#define PAT_LIST	"/sys/kernel/debug/x86/pat_memtype_list"
#define MEMTYPE		"/sys/kernel/debug/mmapper/memtype"

static const char *const cache_names[] = { "cached", "write-combine", "uncached" };
/* The memory type each mode gives every mapping, as debugfs names it. */
static const char *const cache_types[] = {
	"write-back", "write-combining", "uncached-minus",
};

/* PAT is on: x86 lists its memory types in debugfs only then. */
static bool have_pat(void)
{
	return !access(PAT_LIST, F_OK);
}

/* The modes this machine offers are the first nr_caches() of cache_names[]. */
static int nr_caches(void)
{
	return have_pat() ? 3 : 1;
}

/*
 * The modes a backend offers are the first backend_caches() of
 * cache_names[]: cached only where get_user_pages() can pin its pages
 * (io_uring, KVM and the like would map them again write-back).
 */
#define backend_caches(variant)	((variant)->gup ? 1 : nr_caches())

/* What a cache attribute reads with mode @cur in brackets. */
static const char *cache_list(int cur)
{
	static char buf[128];
	size_t len = 0;
	int i;

	for (i = 0; i < nr_caches(); i++)
		len += snprintf(buf + len, sizeof(buf) - len, i == cur ? "%s[%s]" : "%s%s",
				i ? " " : "", cache_names[i]);
	return buf;
}

static int set_cache(int cache)
{
	return sysfs_write(SYSDIR "/cache", cache_names[cache]);
}

static int ioctl_set_cache(int fd, unsigned int cache)
{
	struct mmapper_set_cache sc = { .size = sizeof(sc), .cache = cache };

	return ioctl(fd, MMAPPER_IOC_SET_CACHE, &sc) ? -errno : 0;
}

/* The memory type of page frame @pfn in the direct map (debugfs memtype). */
static int pfn_memtype(unsigned long pfn, char *type, size_t len)
{
	char val[32], line[96], name[32];
	unsigned long got;

	snprintf(val, sizeof(val), "%#lx", pfn);
	if (sysfs_write(MEMTYPE, val) || sysfs_read(MEMTYPE, line, sizeof(line)))
		return -1;
	if (sscanf(line, "%lx %31s", &got, name) != 2 || got != pfn)
		return -1;
	snprintf(type, len, "%s", name);
	return 0;
}

/* What the kernel's PAT code logs when a mapping asks for a second type. */
static const char *pat_complaint(void)
{
	static const char *const complaints[] = {
		"map pfn RAM range req", "map pfn expected mapping type",
		"reserve_ram_pages_type failed", "freeing invalid memtype",
		"conflicting memory types", "ioremap_change_attr failed",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(complaints); i++)
		if (log_contains(complaints[i]))
			return complaints[i];
	return NULL;
}

/* Every page of mmapper0 mapped (or not) with the types given ("-": none). */
static int pages_typed(struct __test_metadata *_metadata, struct page_row *rows,
		       const char *kernel_type, const char *user_type)
{
	int i, n = debugfs_pages(rows, NPAGES);

	EXPECT_EQ(NPAGES, n);
	for (i = 0; i < n && i < NPAGES; i++) {
		EXPECT_STREQ(kernel_type, rows[i].kernel_type) TH_LOG("page %d", i);
		EXPECT_STREQ(user_type, rows[i].user_type) TH_LOG("page %d", i);
		EXPECT_EQ(strcmp(user_type, "-") ? 1 : 0, !!rows[i].mapped) TH_LOG("page %d", i);
	}
	return n;
}

/*
 * sysfs cache: the kernel's bracket format, the same through the ioctl and
 * GET_INFO; a change keeps the data; refused while mapped, the mode in
 * force accepted then; kept through backend switches and resizes.
 */
TEST_F(mmapper, cache_attribute)
{
	struct mmapper_info info = { .size = sizeof(info) };
	/* A backend that offers every mode the machine has. */
	const char *other = strcmp(variant->backend, "vmalloc") ? "vmalloc" : "huge";
	int n = backend_caches(variant);
	unsigned char *map;
	char cur[128];
	int64_t sum;
	int c, next;

	ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
	EXPECT_STREQ(cache_list(0), cur);
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(MMAPPER_INFO_SIZE_VER1, info.size);
	EXPECT_EQ(MMAPPER_CACHE_CACHED, info.cache);
	EXPECT_EQ((1U << nr_caches()) - 1, info.caches);

	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x3c));
	ASSERT_EQ(0, kernel_fill(self->fd, 5 * self->page + 7, 100, 0xc3));
	sum = kernel_checksum(self->fd, 0, self->size);
	for (c = 0; c < n; c++) {
		next = (c + 1) % n;
		/* Through sysfs, then again through the ioctl. */
		EXPECT_EQ(0, set_cache(c)) TH_LOG("%s", cache_names[c]);
		EXPECT_EQ(0, ioctl_set_cache(self->fd, c));
		ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
		EXPECT_STREQ(cache_list(c), cur);
		ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
		EXPECT_EQ(c, info.cache);
		EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size)) TH_LOG("%s", cache_names[c]);

		/* Mapped: the mode in force is fine, another is EBUSY, nothing lost. */
		map = map_dev(self->fd, self->size, 0, MAP_SHARED);
		ASSERT_NE(NULL, map) TH_LOG("%s: %s", cache_names[c], strerror(errno));
		EXPECT_EQ(0, set_cache(c));
		if (next != c) {
			EXPECT_EQ(-EBUSY, set_cache(next));
			EXPECT_EQ(-EBUSY, ioctl_set_cache(self->fd, next));
		}
		EXPECT_EQ(0xc3, map[5 * self->page + 7]);
		munmap(map, self->size);
		ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
		EXPECT_STREQ(cache_list(c), cur);

		/* A backend switch and a resize keep the mode and the data. */
		ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", other));
		ASSERT_EQ(0, set_size(2 * self->size));
		ASSERT_EQ(0, set_size(self->size));
		ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", variant->backend));
		ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
		EXPECT_STREQ(cache_list(c), cur);
		EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));
	}

	/* Names are exact (a trailing newline aside); unknown ones are EINVAL. */
	EXPECT_EQ(0, sysfs_write(SYSDIR "/cache", "cached\n"));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/cache", "bogus"));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/cache", "write-combined"));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/cache", "Cached"));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/cache", "\n"));
	if (!have_pat()) {
		/* The modes this machine lacks: not listed, and refused. */
		EXPECT_EQ(-EINVAL, set_cache(MMAPPER_CACHE_WRITE_COMBINE));
		EXPECT_EQ(-EINVAL, ioctl_set_cache(self->fd, MMAPPER_CACHE_UNCACHED));
		EXPECT_TRUE(log_contains("this machine has no PAT"));
	} else if (n == 1) {
		/* get_user_pages() can pin this backend's pages: cached only. */
		EXPECT_EQ(-EINVAL, set_cache(MMAPPER_CACHE_WRITE_COMBINE));
		EXPECT_EQ(-EINVAL, ioctl_set_cache(self->fd, MMAPPER_CACHE_UNCACHED));
		EXPECT_TRUE(log_contains("is cached only: get_user_pages() pins its pages"));
		/* Nor may a buffer of another mode move to it, nothing lost. */
		ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", other));
		ASSERT_EQ(0, set_cache(MMAPPER_CACHE_WRITE_COMBINE));
		EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/backend", variant->backend));
		EXPECT_EQ(-EINVAL, sysfs_write(CLASS_BACKEND, variant->backend));
		ASSERT_EQ(0, set_cache(MMAPPER_CACHE_CACHED));
		ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", variant->backend));
	}
	ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
	EXPECT_STREQ(cache_list(0), cur);
	EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));
}

/* MMAPPER_IOC_SET_CACHE and GET_INFO's new fields: the extensible ABI. */
TEST_F(mmapper, cache_ioctl_abi)
{
	struct mmapper_set_cache sc = { .size = sizeof(sc), .cache = MMAPPER_CACHE_CACHED };
	struct {
		struct mmapper_set_cache sc;
		unsigned char tail[8];
	} big;
	struct mmapper_info info;
	char cur[128];
	int rfd;

	EXPECT_EQ(0, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, &sc));
	sc.cache = MMAPPER_CACHE_UNCACHED + 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, &sc));
	EXPECT_EQ(EINVAL, errno);
	sc.cache = ~0U;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, &sc));
	EXPECT_EQ(EINVAL, errno);
	sc.cache = MMAPPER_CACHE_CACHED;
	sc.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, &sc));
	EXPECT_EQ(EINVAL, errno);
	sc.flags = 0;
	sc.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, &sc));
	EXPECT_EQ(EINVAL, errno);
	sc.reserved = 0;
	sc.size = MMAPPER_SET_CACHE_SIZE_VER0 - 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, &sc));
	EXPECT_EQ(EINVAL, errno);

	/* A larger struct: a zero tail is fine, a non-zero one is E2BIG. */
	memset(&big, 0, sizeof(big));
	big.sc.size = sizeof(big);
	EXPECT_EQ(0, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, &big));
	big.tail[5] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, &big));
	EXPECT_EQ(E2BIG, errno);

	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, bad_ptr));
	EXPECT_EQ(EFAULT, errno);
	rfd = open(DEV, O_RDONLY);
	ASSERT_LE(0, rfd);
	sc.size = sizeof(sc);
	EXPECT_EQ(-1, ioctl(rfd, MMAPPER_IOC_SET_CACHE, &sc));
	EXPECT_EQ(EBADF, errno);
	close(rfd);

	/* A binary of the first version: nothing written past its struct. */
	memset(&info, 0xab, sizeof(info));
	info.size = MMAPPER_INFO_SIZE_VER0;
	info.flags = 0;
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ(MMAPPER_INFO_SIZE_VER0, info.size);
	EXPECT_EQ(0xababababU, info.cache);
	EXPECT_EQ(self->size, info.buf_size);

	ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
	EXPECT_STREQ(cache_list(0), cur);
}

/*
 * Each mode on each backend: data written through the mapping is what
 * read() and the kernel's checksum see; while mapped, every page has the
 * mode's memory type in the kernel's mappings and in the user entries;
 * back to cached (and so the old pages freed), every page of the new
 * buffer and every page given back is write-back in the direct map.
 */
TEST_F(mmapper, cache_modes_types)
{
	struct page_row rows[NPAGES];
	unsigned long pfns[NPAGES];
	unsigned char *buf = malloc(self->size), *map;
	const char *complaint;
	char type[32];
	int c, i;
	void *p;

	ASSERT_NE(NULL, buf);
	for (c = 0; c < backend_caches(variant); c++) {
		ASSERT_EQ(0, set_cache(c)) TH_LOG("%s", cache_names[c]);
		pages_typed(_metadata, rows, cache_types[c], "-");

		/* write() before the mapping; the mapping sees it. */
		fill_pattern(buf, 0, self->size, c + 10);
		ASSERT_EQ((ssize_t)self->size, pwrite(self->fd, buf, self->size, 0));
		map = map_dev(self->fd, self->size, 0, MAP_SHARED);
		ASSERT_NE(NULL, map) TH_LOG("%s: %s", cache_names[c], strerror(errno));
		EXPECT_EQ(-1, check_pattern(map, 0, self->size, c + 10)) TH_LOG("%s", cache_names[c]);

		/* Stores through the mapping: read() and the kernel see them. */
		fill_pattern(map, 0, self->size, c + 20);
		ASSERT_EQ((ssize_t)self->size, pread(self->fd, buf, self->size, 0));
		EXPECT_EQ(-1, check_pattern(buf, 0, self->size, c + 20)) TH_LOG("%s", cache_names[c]);
		EXPECT_EQ(fnv1a(map, self->size), kernel_checksum(self->fd, 0, self->size));

		/* One memory type for every alias of every page. */
		pages_typed(_metadata, rows, cache_types[c], cache_types[c]);
		for (i = 0; i < NPAGES; i++) {
			pfns[i] = rows[i].pfn;
			ASSERT_EQ(0, pfn_memtype(pfns[i], type, sizeof(type)));
			EXPECT_STREQ(cache_types[c], type) TH_LOG("pfn %#lx", pfns[i]);
		}
		munmap(map, self->size);
		pages_typed(_metadata, rows, cache_types[c], "-");

		/* A private mapping: only of a cached buffer, where copy-on-write. */
		p = mmap(NULL, self->size, PROT_READ, MAP_PRIVATE, self->fd, 0);
		if (!c && variant->private_cow) {
			EXPECT_NE(MAP_FAILED, p);
		} else {
			EXPECT_EQ(MAP_FAILED, p) TH_LOG("%s", cache_names[c]);
			EXPECT_EQ(EINVAL, errno);
		}
		if (p != MAP_FAILED)
			munmap(p, self->size);

		/* Back to cached: data kept, new pages and old ones write-back. */
		ASSERT_EQ(0, set_cache(MMAPPER_CACHE_CACHED));
		ASSERT_EQ((ssize_t)self->size, pread(self->fd, buf, self->size, 0));
		EXPECT_EQ(-1, check_pattern(buf, 0, self->size, c + 20)) TH_LOG("%s", cache_names[c]);
		pages_typed(_metadata, rows, "write-back", "-");
		for (i = 0; i < NPAGES; i++) {
			ASSERT_EQ(0, pfn_memtype(pfns[i], type, sizeof(type)));
			EXPECT_STREQ("write-back", type)
				TH_LOG("pfn %#lx, given back by %s", pfns[i], cache_names[c]);
		}
	}
	complaint = pat_complaint();
	EXPECT_EQ(NULL, complaint) TH_LOG("the kernel log says '%s'", complaint);
	free(buf);
}

/*
 * O_SYNC, the /dev/mem habit of asking for an uncached mapping: honoured
 * where the device is uncached, refused elsewhere with a log line that
 * names the cache attribute; never a second memory type.
 */
TEST_F(mmapper, cache_o_sync)
{
	struct page_row rows[NPAGES];
	unsigned char *map;
	int sfd, c;
	char b = 7;

	sfd = open(DEV, O_RDWR | O_SYNC);
	ASSERT_LE(0, sfd);
	/* The copy path does not care. */
	EXPECT_EQ(1, pwrite(sfd, &b, 1, 3));
	b = 0;
	EXPECT_EQ(1, pread(sfd, &b, 1, 3));
	EXPECT_EQ(7, b);

	for (c = 0; c < backend_caches(variant); c++) {
		ASSERT_EQ(0, set_cache(c));
		map = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
		if (c != MMAPPER_CACHE_UNCACHED) {
			EXPECT_EQ(MAP_FAILED, (void *)map) TH_LOG("%s", cache_names[c]);
			EXPECT_EQ(EINVAL, errno);
			EXPECT_TRUE(log_contains("O_SYNC mapping refused"));
			EXPECT_TRUE(log_contains("/sys/class/mmapper/mmapper0/cache"));
			if (map != MAP_FAILED)
				munmap(map, self->size);
			continue;
		}
		ASSERT_NE(MAP_FAILED, (void *)map) TH_LOG("%s", strerror(errno));
		memset(map, 0x77, self->size);
		EXPECT_EQ(fnv1a(map, self->size), kernel_checksum(self->fd, 0, self->size));
		pages_typed(_metadata, rows, "uncached-minus", "uncached-minus");
		munmap(map, self->size);
	}
	ASSERT_EQ(0, set_cache(MMAPPER_CACHE_CACHED));
	close(sfd);
}

/*
 * kmalloc: a buffer of slab size shares its pages with other objects, so
 * it stays cached (EINVAL and a log line); a larger one has pages of its
 * own.  A resize or switch that would make a buffer of the current mode
 * such a one is refused the same way, and changes nothing.
 */
TEST(cache_kmalloc_slab_sizes)
{
	long page = sysconf(_SC_PAGESIZE);
	char cur[128];

	if (!have_pat())
		SKIP(return, "no PAT: cached only");
	ASSERT_EQ(0, sysfs_write(SYSDIR "/cache", "cached"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "kmalloc"));
	ASSERT_EQ(0, set_size(2 * page));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/cache", "write-combine"));
	EXPECT_TRUE(log_contains("shares its pages with other kernel objects"));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
	EXPECT_STREQ(cache_list(0), cur);

	ASSERT_EQ(0, set_size(3 * page));
	EXPECT_EQ(0, sysfs_write(SYSDIR "/cache", "uncached"));
	EXPECT_EQ(-EINVAL, set_size(2 * page));
	EXPECT_EQ(3 * page, sysfs_read_ll(SYSDIR "/size"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
	ASSERT_EQ(0, set_size(2 * page));
	EXPECT_EQ(-EINVAL, sysfs_write(SYSDIR "/backend", "kmalloc"));
	EXPECT_EQ(-EINVAL, sysfs_write(CLASS_BACKEND, "kmalloc"));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/backend", cur, sizeof(cur)));
	EXPECT_NE(NULL, strstr(cur, "[vmalloc]"));

	ASSERT_EQ(0, sysfs_write(SYSDIR "/cache", "cached"));
	ASSERT_EQ(0, set_size(64 << 10));
}

/*
 * huge with 2 MiB entries (6.12+): PAT checks the 512 pages of an entry
 * together, and debugfs reads the type of the entry itself.
 */
TEST(cache_huge_pmd)
{
	int pmd_expected = !kernel_older_than(6, 12) && thp_configured();
	struct mmapper_stats a, b;
	unsigned char *map;
	const size_t len = 4 << 20;
	size_t i;
	int c, fd;

	if (!have_pat())
		SKIP(return, "no PAT: cached only");
	ASSERT_EQ(0, sysfs_write(SYSDIR "/cache", "cached"));
	ASSERT_EQ(0, set_size(64 << 10));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "huge"));
	ASSERT_EQ(0, set_size(len));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	for (c = 0; c < nr_caches(); c++) {
		FILE *f;
		char line[256], kt[32], ut[32];
		unsigned long idx, pfn, n = 0;
		int ref, mc;
		unsigned int mapped;

		ASSERT_EQ(0, set_cache(c));
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, (void *)map);
		ASSERT_EQ(0, get_stats(fd, &a));
		for (i = 0; i < len; i += 4096)
			map[i] = (unsigned char)(i >> 12);
		ASSERT_EQ(0, get_stats(fd, &b));
		if (pmd_expected && thp_eligible(map) == 1)
			EXPECT_EQ(2, b.huge_faults - a.huge_faults) TH_LOG("%s", cache_names[c]);
		EXPECT_EQ(fnv1a(map, len), kernel_checksum(fd, 0, len));

		f = fopen(DBGDIR "pages", "r");
		ASSERT_NE(NULL, f);
		ASSERT_NE(NULL, fgets(line, sizeof(line), f));
		while (fgets(line, sizeof(line), f)) {
			ASSERT_EQ(7, sscanf(line, "%lu %lx %d %d %u %31s %31s", &idx, &pfn,
					    &ref, &mc, &mapped, kt, ut));
			if (strcmp(kt, cache_types[c]) || strcmp(ut, cache_types[c]))
				break;
			n++;
		}
		fclose(f);
		EXPECT_EQ(len / 4096, n) TH_LOG("%s: page %lu is %s in the kernel, %s in user space",
						cache_names[c], n, kt, ut);
		munmap(map, len);
	}
	close(fd);
	ASSERT_EQ(0, sysfs_write(SYSDIR "/cache", "cached"));
	ASSERT_EQ(0, set_size(64 << 10));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
}

/* What a nobody who may open the device may do with the cache mode. */
static int nobody_cache(void)
{
	char buf[128];
	int fd = open(DEV, O_RDWR);

	if (fd < 0)
		return 1;
	/* The attribute is root's to write, everyone's to read. */
	if (sysfs_write(SYSDIR "/cache", "cached") != -EACCES)
		return 2;
	if (sysfs_read(SYSDIR "/cache", buf, sizeof(buf)))
		return 3;
	/* A buffer that is not cached rewrites the direct map: CAP_SYS_ADMIN's. */
	if (ioctl_set_cache(fd, MMAPPER_CACHE_WRITE_COMBINE) != -EPERM)
		return 4;
	if (ioctl_set_cache(fd, MMAPPER_CACHE_UNCACHED) != -EPERM)
		return 5;
	/* The mode in force: nothing to build, nothing to refuse. */
	if (ioctl_set_cache(fd, MMAPPER_CACHE_CACHED))
		return 6;
	close(fd);
	return 0;
}

/* On a device root made write-combine: no new such buffer, but back to cached. */
static int nobody_cache_wc(void)
{
	int fd = open(DEV, O_RDWR);

	if (fd < 0)
		return 1;
	/* A resize would build a new write-combine buffer. */
	if (ioctl_set_size(fd, 128 << 10) != -EPERM)
		return 2;
	if (ioctl_set_cache(fd, MMAPPER_CACHE_UNCACHED) != -EPERM)
		return 3;
	if (ioctl_set_cache(fd, MMAPPER_CACHE_CACHED))
		return 4;
	close(fd);
	return 0;
}

/* Back to cached is a new buffer too: within max_size. */
static int nobody_cache_big(void)
{
	int fd = open(DEV, O_RDWR);

	if (fd < 0)
		return 1;
	if (ioctl_set_cache(fd, MMAPPER_CACHE_CACHED) != -EPERM)
		return 2;
	close(fd);
	return 0;
}

/*
 * A buffer that is not cached is CAP_SYS_ADMIN's to make, at any size and
 * through any path (a change of mode, a resize of such a buffer): it
 * splits the kernel's direct map and flushes every CPU's TLB.  Going back
 * to cached follows the rule of every change (max_size); sysfs is root's.
 */
TEST_F(max_size, cache_unprivileged)
{
	char cur[128];

	EXPECT_EQ(0, as_nobody(nobody_cache));
	EXPECT_TRUE(log_contains("changes the kernel's direct map, for CAP_SYS_ADMIN"));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
	EXPECT_STREQ(cache_list(MMAPPER_CACHE_CACHED), cur);
	if (!have_pat())
		return;

	ASSERT_EQ(0, sysfs_write(SYSDIR "/cache", "write-combine"));
	EXPECT_EQ(0, as_nobody(nobody_cache_wc));
	EXPECT_EQ(64 << 10, sysfs_read_ll(SYSDIR "/size"));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
	EXPECT_STREQ(cache_list(MMAPPER_CACHE_CACHED), cur);

	ASSERT_EQ(0, sysfs_write(SYSDIR "/cache", "write-combine"));
	ASSERT_EQ(0, sysfs_write(MAX_SIZE, "32K"));
	EXPECT_EQ(0, as_nobody(nobody_cache_big));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/cache", cur, sizeof(cur)));
	EXPECT_STREQ(cache_list(MMAPPER_CACHE_WRITE_COMBINE), cur);
	ASSERT_EQ(0, sysfs_write(SYSDIR "/cache", "cached"));
}

#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

/* The THP mode in force: "always", "madvise" or "never" into @mode. */
static int thp_mode(char *mode, size_t len)
{
	char buf[128], *open, *close;

	if (sysfs_read(THP_ENABLED, buf, sizeof(buf)))
		return -1;
	open = strchr(buf, '[');
	close = open ? strchr(open, ']') : NULL;
	if (!close)
		return -1;
	*close = '\0';
	snprintf(mode, len, "%s", open + 1);
	return 0;
}

/*
 * GET_INFO on mmapper0 (backend "huge", 4 MiB), then an aligned mapping
 * touched whole: 0 if the cap and the 2 MiB faults agree, 1 if they do not,
 * 2 and up on error.  @cap and @faults get what was seen.
 */
static int huge_cap_and_faults(int *cap, unsigned long long *faults)
{
	struct mmapper_info info = { .size = sizeof(info) };
	struct mmapper_stats a, b;
	unsigned char *map;
	size_t i;
	int fd = open(DEV, O_RDWR);

	if (fd < 0)
		return 2;
	if (ioctl(fd, MMAPPER_IOC_GET_INFO, &info))
		return 3;
	/* 4 MiB: the device's get_unmapped_area() aligns it to 2 MiB. */
	map = map_dev(fd, 4 << 20, 0, MAP_SHARED);
	if (!map || get_stats(fd, &a))
		return 4;
	for (i = 0; i < (4 << 20); i += 4096)
		map[i] = 1;
	if (get_stats(fd, &b))
		return 5;
	munmap(map, 4 << 20);
	close(fd);
	*cap = !!(info.caps & MMAPPER_CAP_HUGE_PMD);
	*faults = b.huge_faults - a.huge_faults;
	return *cap == (*faults > 0) ? 0 : 1;
}

/* The same in a process that switched THP off for itself. */
static int huge_cap_thp_disabled(void)
{
	unsigned long long faults;
	int cap, ret;

	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		return 10;
	ret = huge_cap_and_faults(&cap, &faults);
	if (ret)
		return ret;
	/* No 2 MiB entries for this process, whatever the kernel can. */
	return cap || faults ? 6 : 0;
}

/*
 * GET_INFO's MMAPPER_CAP_HUGE_PMD says whether an aligned mapping of
 * "huge" gets 2 MiB entries, for the caller: in every THP mode the cap and
 * what the mapping gets agree (PFN maps with ->huge_fault get 2 MiB entries
 * whatever the mode on 6.12 and later: the policy is for memory the kernel
 * can compact), and a process that turned THP off gets neither.
 */
TEST(huge_pmd_cap_follows_thp)
{
	static const char *const modes[] = { "always", "never", "madvise" };
	unsigned long long faults;
	char saved[16], now_mode[16];
	unsigned int m;
	int cap, status;
	pid_t pid;

	if (thp_mode(saved, sizeof(saved)))
		SKIP(return, "no %s", THP_ENABLED);
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "huge"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "4M"));

	for (m = 0; m < ARRAY_SIZE(modes); m++) {
		ASSERT_EQ(0, sysfs_write(THP_ENABLED, modes[m]));
		ASSERT_EQ(0, thp_mode(now_mode, sizeof(now_mode)));
		ASSERT_STREQ(modes[m], now_mode);
		EXPECT_EQ(0, huge_cap_and_faults(&cap, &faults)) TH_LOG("THP %s", modes[m]);
		TH_LOG("THP %s: cap %s, %llu 2 MiB faults", modes[m],
		       cap ? "set" : "clear", faults);
	}

	ASSERT_EQ(0, sysfs_write(THP_ENABLED, "always"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(huge_cap_thp_disabled());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("after PR_SET_THP_DISABLE");

	EXPECT_EQ(0, sysfs_write(THP_ENABLED, saved));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
}

/*
 * Should an aligned mapping of "pages" get 2 MiB entries here?  6.15 maps
 * a driver's own folios with PMDs (vmf_insert_folio_pmd()); the kernel
 * must have THP, and refcounted memory obeys the THP mode: not "never".
 */
static bool pages_pmd_kernel(void)
{
	return !kernel_older_than(6, 15) && thp_configured();
}

static bool pages_pmd_expected(void)
{
	char mode[16];

	return pages_pmd_kernel() && !thp_mode(mode, sizeof(mode)) &&
	       strcmp(mode, "never");
}

/*
 * mmapper0 as "pages" of @size, allocated after a compaction, so that the
 * allocator has the free 2 MiB blocks the buffer takes without effort.
 */
static int pages_device(size_t size)
{
	if (sysfs_write(SYSDIR "/size", "64K") || sysfs_write(SYSDIR "/backend", "pages"))
		return -1;
	sysfs_write("/proc/sys/vm/compact_memory", "1");
	return set_size(size);
}

/*
 * How many 2 MiB folios mmapper0's buffer of @nr_pages has, from debugfs:
 * the first page of one carries the count, its other 511 read 0.  -1 on
 * error.
 */
static int buffer_pmd_folios(unsigned long nr_pages)
{
	struct page_row *rows = calloc(nr_pages, sizeof(*rows));
	int n = rows ? debugfs_pages(rows, nr_pages) : -1, folios = 0;
	unsigned long i, j;

	for (i = 0; n == (int)nr_pages && i + 512 <= nr_pages; i += 512) {
		for (j = 1; j < 512 && !rows[i + j].refcount; j++)
			;
		folios += rows[i].refcount > 0 && j == 512;
	}
	free(rows);
	return n == (int)nr_pages ? folios : -1;
}

/* Touch every page of @map (a store: @write), and the faults it took. */
static int touch_counting(int fd, unsigned char *map, size_t len, bool write,
			  unsigned long long *pmd, unsigned long long *pte)
{
	struct mmapper_stats a, b;
	volatile unsigned char sink = 0;
	size_t i;

	if (get_stats(fd, &a))
		return -1;
	for (i = 0; i < len; i += 4096) {
		if (write)
			map[i] = (unsigned char)(i >> 12);
		else
			sink += map[i];
	}
	if (get_stats(fd, &b))
		return -1;
	(void)sink;
	*pmd = b.huge_faults - a.huge_faults;
	*pte = b.faults - a.faults;
	return 0;
}

struct pages_pmd_case {
	const char *what;
	size_t buf_size, map_len, off;
	bool misalign;
	/* where the kernel maps 2 MiB entries of refcounted pages */
	unsigned long pmd_faults, pte_faults;
};

/*
 * pages: where the kernel can (6.15+), a mapping that can take a 2 MiB
 * entry is filled at the first touch, with 2 MiB entries where address,
 * offset and a 2 MiB folio of the buffer line up and 4 KiB ones elsewhere;
 * every other mapping, and every mapping on older kernels, at mmap().
 * smaps shows the 2 MiB entries, and the bytes are the buffer's.
 */
TEST(pages_pmd_entries)
{
	static const struct pages_pmd_case cases[] = {
		{ "aligned 8M", 8 << 20, 8 << 20, 0, false, 4, 0 },
		{ "3M: one folio and a half", 3 << 20, 3 << 20, 0, false, 1, 256 },
		{ "4M at offset 2M", 8 << 20, 4 << 20, 2 << 20, false, 2, 0 },
		{ "4M at offset 1M: one 2 MiB entry fits", 8 << 20, 4 << 20, 1 << 20, false, 1, 512 },
		{ "misaligned 4M", 8 << 20, 4 << 20, 0, true, 0, 0 },
		{ "1M: no folio", 1 << 20, 1 << 20, 0, false, 0, 0 },
	};
	bool lazy = pages_pmd_kernel(), pmd = pages_pmd_expected();
	unsigned int c;

	TH_LOG("2 MiB entries of refcounted pages expected here: %s", pmd ? "yes" :
	       lazy ? "no (THP never): 4 KiB at the first touch" : "no");
	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		const struct pages_pmd_case *pc = &cases[c];
		struct mmapper_info info = { .size = sizeof(info) };
		unsigned char *map, *hint = NULL, *res = NULL;
		unsigned long long pmds, ptes;
		int fd;

		ASSERT_EQ(0, pages_device(pc->buf_size));
		/* A folio for each whole 2 MiB where the kernel maps them. */
		ASSERT_EQ(lazy ? (int)(pc->buf_size / SZ_2M) : 0,
			  buffer_pmd_folios(pc->buf_size / 4096))
			TH_LOG("%s: fewer 2 MiB folios than whole 2 MiB (memory fragmented?)",
			       pc->what);
		fd = open(DEV, O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ioctl(fd, MMAPPER_IOC_GET_INFO, &info));
		EXPECT_EQ(pages_pmd_kernel(), !!(info.caps & MMAPPER_CAP_PAGES_PMD));

		if (pc->misalign) {
			/* A 4 KiB-off-2 MiB address for offset 0. */
			res = reserve_2m(pc->map_len + 2 * SZ_2M, &hint);
			ASSERT_NE(MAP_FAILED, res);
			hint += 4096;
		}
		map = mmap(hint, pc->map_len, PROT_READ | PROT_WRITE,
			   MAP_SHARED | (hint ? MAP_FIXED : 0), fd, pc->off);
		ASSERT_NE(MAP_FAILED, map);

		ASSERT_EQ(0, touch_counting(fd, map, pc->map_len, true, &pmds, &ptes));
		TH_LOG("%s: %llu 2 MiB and %llu 4 KiB faults", pc->what, pmds, ptes);
		/* Filled at the first touch where a 2 MiB entry fits, else at mmap(). */
		if (!lazy || !pc->pmd_faults) {
			EXPECT_EQ(0, pmds + ptes) TH_LOG("%s", pc->what);
		} else if (pmd) {
			EXPECT_EQ(pc->pmd_faults, pmds) TH_LOG("%s", pc->what);
			EXPECT_EQ(pc->pte_faults, ptes) TH_LOG("%s", pc->what);
		} else {
			EXPECT_EQ(0, pmds) TH_LOG("%s", pc->what);
			EXPECT_EQ(pc->map_len / 4096, ptes) TH_LOG("%s", pc->what);
		}
		EXPECT_EQ((long)(pmd ? pc->pmd_faults * 2048 : 0),
			  pmd_mapped_kb(map, map + pc->map_len)) TH_LOG("%s", pc->what);
		/* The same again: every entry is there now. */
		ASSERT_EQ(0, touch_counting(fd, map, pc->map_len, false, &pmds, &ptes));
		EXPECT_EQ(0, pmds + ptes) TH_LOG("%s", pc->what);
		EXPECT_EQ(fnv1a(map, pc->map_len), kernel_checksum(fd, pc->off, pc->map_len))
			TH_LOG("%s", pc->what);

		munmap(map, pc->map_len);
		if (res)
			munmap(res, pc->map_len + 2 * SZ_2M);
		close(fd);
	}
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
}

/*
 * pages, 2 MiB entries: who may turn them off.  A process that switched
 * THP off (PR_SET_THP_DISABLE) gets the mapping filled at mmap(), as on
 * older kernels; MADV_NOHUGEPAGE and the THP mode "never" leave a mapping
 * filled at the first touch with 4 KiB entries only.  Run in a child: the
 * prctl() is for good.
 */
static int pages_pmd_thp_disabled(void)
{
	struct mmapper_info info = { .size = sizeof(info) };
	unsigned long long pmds, ptes;
	unsigned char *map;
	int fd;

	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		return 10;
	fd = open(DEV, O_RDWR);
	if (fd < 0 || ioctl(fd, MMAPPER_IOC_GET_INFO, &info))
		return 11;
	if (info.caps & MMAPPER_CAP_PAGES_PMD)
		return 12;
	map = map_dev(fd, 8 << 20, 0, MAP_SHARED);
	if (!map || touch_counting(fd, map, 8 << 20, true, &pmds, &ptes))
		return 13;
	return pmds || ptes ? 14 : 0;
}

TEST(pages_pmd_policy)
{
	unsigned long long pmds, ptes;
	unsigned char *map, *want;
	char saved[16];
	int fd, status;
	size_t i;
	pid_t pid;

	if (!pages_pmd_expected())
		SKIP(return, "no 2 MiB entries of refcounted pages on this kernel");
	ASSERT_EQ(0, thp_mode(saved, sizeof(saved)));
	ASSERT_EQ(0, pages_device(8 << 20));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kernel_fill(fd, 0, 8 << 20, 0));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(pages_pmd_thp_disabled());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("after PR_SET_THP_DISABLE");

	map = map_dev(fd, 8 << 20, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, madvise(map, 8 << 20, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, touch_counting(fd, map, 8 << 20, true, &pmds, &ptes));
	EXPECT_EQ(0, pmds) TH_LOG("MADV_NOHUGEPAGE");
	EXPECT_EQ(2048, ptes) TH_LOG("MADV_NOHUGEPAGE");
	munmap(map, 8 << 20);

	/* No ASSERT until the mode is back: a later test would find "never". */
	ASSERT_EQ(0, sysfs_write(THP_ENABLED, "never"));
	map = map_dev(fd, 8 << 20, 0, MAP_SHARED);
	EXPECT_NE(NULL, map);
	if (map) {
		EXPECT_EQ(0, touch_counting(fd, map, 8 << 20, true, &pmds, &ptes));
		EXPECT_EQ(0, pmds) TH_LOG("THP never");
		EXPECT_EQ(2048, ptes) TH_LOG("THP never");
		munmap(map, 8 << 20);
	}
	ASSERT_EQ(0, sysfs_write(THP_ENABLED, saved));
	/* What touch_counting() stored, at the start of each page. */
	want = calloc(1, 8 << 20);
	ASSERT_NE(NULL, want);
	for (i = 0; i < (8 << 20); i += 4096)
		want[i] = (unsigned char)(i >> 12);
	EXPECT_EQ(fnv1a(want, 8 << 20), kernel_checksum(fd, 0, 8 << 20));
	free(want);

	close(fd);
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
}

/*
 * pages, 2 MiB entries of refcounted pages, through what the kernel does
 * to a mapping: get_user_pages() (process_vm_readv(), vmsplice()), stores
 * both ways, a private mapping's copy-on-write (which splits the entry
 * and copies one 4 KiB page), partial munmap() and mprotect() (which
 * split it), MADV_DONTNEED, fork, mremap(), and the reclaim advice.  After
 * each, the bytes are the buffer's and smaps shows the entries expected.
 */
TEST(pages_pmd_mm_calls)
{
	static const int advice[] = { MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED,
				      MADV_POPULATE_READ, MADV_POPULATE_WRITE,
				      MADV_COLLAPSE, MADV_FREE };
	const size_t len = 8 << 20, pg = 4096;
	unsigned long long pmds, ptes;
	unsigned char *buf, *map, *priv, *moved, *res, *to, got[65536], c;
	struct iovec local, remote;
	unsigned int i;
	int fd, p[2], status;
	pid_t pid;

	if (!pages_pmd_expected())
		SKIP(return, "no 2 MiB entries of refcounted pages on this kernel");
	ASSERT_EQ(0, pages_device(len));
	ASSERT_EQ(4, buffer_pmd_folios(len / pg)) TH_LOG("memory fragmented?");
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	fill_pattern(buf, 0, len, 9);
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));

	/* Shared: four 2 MiB entries, and get_user_pages() reaches them. */
	map = map_dev(fd, len, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, touch_counting(fd, map, len, false, &pmds, &ptes));
	EXPECT_EQ(4, pmds);
	EXPECT_EQ(0, ptes);
	EXPECT_EQ(8192, pmd_mapped_kb(map, map + len));
	EXPECT_EQ(-1, check_pattern(map, 0, len, 9));
	memset(buf, 0, len);
	local = (struct iovec){ .iov_base = buf, .iov_len = len };
	remote = (struct iovec){ .iov_base = map, .iov_len = len };
	EXPECT_EQ((ssize_t)len, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(-1, check_pattern(buf, 0, len, 9));
	ASSERT_EQ(0, pipe(p));
	remote = (struct iovec){ .iov_base = map + SZ_2M - 32768, .iov_len = sizeof(got) };
	EXPECT_EQ((ssize_t)sizeof(got), vmsplice(p[1], &remote, 1, 0));
	EXPECT_EQ((ssize_t)sizeof(got), read(p[0], got, sizeof(got)));
	EXPECT_EQ(-1, check_pattern(got, SZ_2M - 32768, sizeof(got), 9));
	close(p[0]);
	close(p[1]);

	/* A store through a 2 MiB entry is in the buffer; a write() is in the entry. */
	map[3 * SZ_2M + 5] = 0x5a;
	ASSERT_EQ(1, pread(fd, &c, 1, 3 * SZ_2M + 5));
	EXPECT_EQ(0x5a, c);
	c = pat(3 * SZ_2M + 5, 9);
	ASSERT_EQ(1, pwrite(fd, &c, 1, 3 * SZ_2M + 5));
	EXPECT_EQ(c, map[3 * SZ_2M + 5]);

	/* mprotect() of one page splits its entry; the other three stay. */
	ASSERT_EQ(0, mprotect(map + SZ_2M + 3 * pg, pg, PROT_READ));
	EXPECT_EQ(-1, check_pattern(map, 0, len, 9));
	ASSERT_EQ(0, mprotect(map + SZ_2M + 3 * pg, pg, PROT_READ | PROT_WRITE));
	EXPECT_EQ(6144, pmd_mapped_kb(map, map + len));

	/* A child refaults its own entries; its store reaches the buffer. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (check_pattern(map, 0, len, 9) != -1)
			_exit(1);
		map[4 * SZ_2M - 1] = 0x42;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(0x42, map[4 * SZ_2M - 1]);
	map[4 * SZ_2M - 1] = pat(4 * SZ_2M - 1, 9);

	/* munmap() of one page in the third 2 MiB: the rest is whole. */
	ASSERT_EQ(0, munmap(map + 2 * SZ_2M + 7 * pg, pg));
	EXPECT_EQ(-1, check_pattern(map, 0, 2 * SZ_2M + 7 * pg, 9));
	EXPECT_EQ(-1, check_pattern(map + 2 * SZ_2M + 8 * pg, 2 * SZ_2M + 8 * pg,
				    len - 2 * SZ_2M - 8 * pg, 9));
	EXPECT_EQ(4096, pmd_mapped_kb(map, map + len));
	ASSERT_EQ(0, munmap(map, len));

	/* Moved by mremap() to another 2 MiB boundary: the entries go along. */
	map = map_dev(fd, len, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(-1, check_pattern(map, 0, len, 9));
	res = reserve_2m(len + SZ_2M, &to);
	ASSERT_NE(MAP_FAILED, res);
	moved = mremap(map, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	ASSERT_EQ(to, moved);
	EXPECT_EQ(8192, pmd_mapped_kb(moved, moved + len));
	EXPECT_EQ(-1, check_pattern(moved, 0, len, 9));

	/* Reclaim and population advice, on all and on a part: nothing lost. */
	for (i = 0; i < ARRAY_SIZE(advice); i++) {
		madvise(moved, len, advice[i]);
		madvise(moved + SZ_2M / 2, SZ_2M, advice[i]);
		EXPECT_EQ(-1, check_pattern(moved, 0, len, 9)) TH_LOG("advice %d", advice[i]);
	}
	ASSERT_EQ(0, madvise(moved, len, MADV_DONTNEED));
	ASSERT_EQ(0, touch_counting(fd, moved, len, false, &pmds, &ptes));
	EXPECT_EQ(4, pmds) TH_LOG("after MADV_DONTNEED");
	EXPECT_EQ(0, ptes) TH_LOG("after MADV_DONTNEED");
	ASSERT_EQ(0, munmap(moved, len));
	munmap(res, len + SZ_2M);

	/*
	 * Private: read, it maps the buffer's 2 MiB entries read-only; the
	 * first store copies one 4 KiB page, which the buffer never sees.
	 */
	priv = map_dev(fd, len, 0, MAP_PRIVATE);
	ASSERT_NE(NULL, priv);
	ASSERT_EQ(0, touch_counting(fd, priv, len, false, &pmds, &ptes));
	EXPECT_EQ(4, pmds);
	EXPECT_EQ(0, ptes);
	priv[5 * pg + 1] = 0xee;
	ASSERT_EQ(1, pread(fd, &c, 1, 5 * pg + 1));
	EXPECT_EQ(pat(5 * pg + 1, 9), c);
	EXPECT_EQ(6144, pmd_mapped_kb(priv, priv + len));
	/* The pages it did not write show the buffer, and its changes. */
	c = 0x77;
	ASSERT_EQ(1, pwrite(fd, &c, 1, 9 * pg));
	ASSERT_EQ(1, pwrite(fd, &c, 1, 3 * SZ_2M + 3));
	EXPECT_EQ(0x77, priv[9 * pg]);
	EXPECT_EQ(0x77, priv[3 * SZ_2M + 3]);
	EXPECT_EQ(0xee, priv[5 * pg + 1]);
	/* MADV_DONTNEED drops the copy: the buffer's byte again. */
	ASSERT_EQ(0, madvise(priv, len, MADV_DONTNEED));
	EXPECT_EQ(pat(5 * pg + 1, 9), priv[5 * pg + 1]);
	ASSERT_EQ(0, munmap(priv, len));
	c = pat(9 * pg, 9);
	ASSERT_EQ(1, pwrite(fd, &c, 1, 9 * pg));
	c = pat(3 * SZ_2M + 3, 9);
	ASSERT_EQ(1, pwrite(fd, &c, 1, 3 * SZ_2M + 3));

	/* Unmapped: each folio is back to the buffer's one reference, unmapped. */
	{
		struct page_row *rows = calloc(len / pg, sizeof(*rows));

		ASSERT_NE(NULL, rows);
		ASSERT_EQ((int)(len / pg), debugfs_pages(rows, len / pg));
		for (i = 0; i < len / pg; i += 512) {
			EXPECT_EQ(1, rows[i].refcount) TH_LOG("folio at page %u", i);
			EXPECT_EQ(0, rows[i].mapcount) TH_LOG("folio at page %u", i);
		}
		free(rows);
	}

	/*
	 * A pipe holds pages of a folio past the buffer's free: a resize
	 * drops the buffer's reference, the pipe still reads the old bytes,
	 * and its close frees the folio (KASAN on the debug kernel).
	 */
	map = map_dev(fd, len, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, pipe(p));
	remote = (struct iovec){ .iov_base = map + SZ_2M, .iov_len = sizeof(got) };
	EXPECT_EQ((ssize_t)sizeof(got), vmsplice(p[1], &remote, 1, 0));
	ASSERT_EQ(0, munmap(map, len));
	ASSERT_EQ(0, set_size(len + SZ_2M));
	ASSERT_EQ(0, kernel_fill(fd, 0, len + SZ_2M, 0));
	EXPECT_EQ((ssize_t)sizeof(got), read(p[0], got, sizeof(got)));
	EXPECT_EQ(-1, check_pattern(got, SZ_2M, sizeof(got), 9));
	close(p[0]);
	close(p[1]);
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));

	/* Resized while nothing maps it: the old folios go, the new buffer is zero. */
	ASSERT_EQ(0, set_size(2 * len));
	map = map_dev(fd, 2 * len, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(-1, check_pattern(map, 0, len, 9));
	EXPECT_EQ(-1, check_zero(map + len, len));
	munmap(map, 2 * len);

	free(buf);
	close(fd);
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
}

/* mmapper0's debugfs mappings that start in [@lo, @hi), or -1. */
static int mappings_between(unsigned long lo, unsigned long hi)
{
	struct mapping_row rows[64];
	int n = debugfs_mappings(rows, 64), i, found = 0;

	if (n < 0 || n > 64)
		return -1;
	for (i = 0; i < n; i++)
		found += rows[i].start >= lo && rows[i].start < hi;
	return found;
}

/*
 * Every VMA has its own record, through splits, fork, mremap and partial
 * unmaps: debugfs lists each one where it is, active_mappings counts them,
 * and the data stays reachable.
 */
TEST_F(mmapper, vma_records_follow_the_vma)
{
	size_t len = self->size, i;
	unsigned long lo, hi;
	unsigned char *map, *moved, *spot;
	struct mmapper_stats st;
	int status;
	pid_t pid;

	map = map_dev(self->fd, len, 0, MAP_SHARED);
	ASSERT_NE(NULL, map);
	lo = (unsigned long)map;
	hi = lo + len;
	fill_pattern(map, 0, len, 21);

	/* Split into NPAGES VMAs: every other page read-only. */
	for (i = 0; i < NPAGES; i += 2)
		ASSERT_EQ(0, mprotect(map + i * self->page, self->page, PROT_READ));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	EXPECT_EQ(NPAGES, st.active_mappings);
	EXPECT_EQ(NPAGES, mappings_between(lo, hi));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct mmapper_stats cs;

		if (get_stats(self->fd, &cs) || cs.active_mappings != 2 * NPAGES)
			_exit(1);
		if (check_pattern(map, 0, len, 21) != -1)
			_exit(2);
		/* The child unmaps one of its VMAs: that record goes, no other. */
		if (munmap(map + self->page, self->page))
			_exit(3);
		if (get_stats(self->fd, &cs) || cs.active_mappings != 2 * NPAGES - 1)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child status %#x", status);
	ASSERT_EQ(0, get_stats(self->fd, &st));
	EXPECT_EQ(NPAGES, st.active_mappings);
	EXPECT_EQ(NPAGES, mappings_between(lo, hi));

	/* Move one page away: its record goes with it. */
	spot = mmap(NULL, self->page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, spot);
	moved = mremap(map + 3 * self->page, self->page, self->page,
		       MREMAP_MAYMOVE | MREMAP_FIXED, spot);
	ASSERT_EQ(spot, moved);
	EXPECT_EQ(NPAGES - 1, mappings_between(lo, hi));
	EXPECT_EQ(1, mappings_between((unsigned long)moved,
				      (unsigned long)moved + self->page));
	EXPECT_EQ(-1, check_pattern(moved, 3 * self->page, self->page, 21));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	EXPECT_EQ(NPAGES, st.active_mappings);

	munmap(moved, self->page);
	munmap(map, len);
	ASSERT_EQ(0, get_stats(self->fd, &st));
	EXPECT_EQ(0, st.active_mappings);
	EXPECT_EQ(0, mappings_between(0, ~0UL));
	EXPECT_EQ(-1, debugfs_summary("untracked", NULL, 0));
}

/* Seconds for fork() and exit of a child that inherits every VMA. */
static double fork_exit_time(void)
{
	int status;
	double t0 = now();
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(0);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return now() - t0;
}

/*
 * Seconds per mmap() and munmap() of one more page of @fd: the best of 40
 * short batches, so that a busy host (the VM's CPUs are emulated) shows
 * in none of them.
 */
/* The time of one mmap()+munmap() of a page of @fd: 25 in a row. */
static double map_unmap_batch(int fd, size_t page)
{
	double t0 = now();
	int i;

	for (i = 0; i < 25; i++) {
		void *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED || munmap(p, page))
			return -1;
	}
	return (now() - t0) / 25;
}

/*
 * The best of 40 batches of @fd and of @fd1, taken in turns, so that a
 * load on the machine (another VM, a build) falls on both alike.
 */
static int map_unmap_times(int fd, int fd1, size_t page, double *t, double *t1)
{
	int r;

	*t = *t1 = 1e9;
	for (r = 0; r < 40; r++) {
		double a = map_unmap_batch(fd, page), b = map_unmap_batch(fd1, page);

		if (a < 0 || b < 0)
			return -1;
		*t = a < *t ? a : *t;
		*t1 = b < *t1 ? b : *t1;
	}
	return 0;
}

FIXTURE(vmas) {
	int fd, fd1;
};

/* The records are the same for every backend: vmalloc, 64 KiB, cached, both devices. */
FIXTURE_SETUP(vmas)
{
	self->fd = self->fd1 = -1;
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "64K"));
	self->fd = open(DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->fd1 = open("/dev/mmapper1", O_RDWR);
	if (self->fd1 < 0)
		SKIP(return, "needs a second device (nr_devices >= 2)");
	ASSERT_EQ(0, sysfs_write(SYSDIR "/cache", "cached"));
	ASSERT_EQ(0, sysfs_write("/sys/class/mmapper/mmapper1/backend", "vmalloc"));
	ASSERT_EQ(0, sysfs_write("/sys/class/mmapper/mmapper1/size", "64K"));
	ASSERT_EQ(0, sysfs_write("/sys/class/mmapper/mmapper1/cache", "cached"));
}

FIXTURE_TEARDOWN(vmas)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->fd1 >= 0)
		close(self->fd1);
}

/* Map one page of @fd @n times into @maps: separate VMAs (same page: no merging). */
static int map_many(int fd, long page, void **maps, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		maps[i] = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
		if (maps[i] == MAP_FAILED)
			return -errno;
	}
	return 0;
}

/* Unmap what map_many() mapped, newest first. */
static int unmap_many(long page, void **maps, int n)
{
	while (n--)
		if (munmap(maps[n], page))
			return -errno;
	return 0;
}

/*
 * 10,000 VMAs of one device: the record of a VMA hangs off the VMA, so
 * closing one costs the same with 10,000 others of the device as with
 * none, where a search of the device's list of mappings (newest last)
 * would cost 10,000 steps under a spinlock.  With 10,000 VMAs of mmapper0
 * in the process, one more VMA of mmapper0 (its list crowded) and one of
 * mmapper1 (its list empty), both vmalloc, are mapped and unmapped in
 * turns: the same process, the same moment, only the device's list
 * differs.  A child that inherits them all forks and exits, and every VMA
 * is counted and every record freed.
 */
TEST_F_TIMEOUT(vmas, ten_thousand, 300)
{
	enum { MANY = 10000 };
	static void *maps[MANY];
	long page = sysconf(_SC_PAGESIZE);
	double alone, crowded, t;
	struct mmapper_stats st;
	int fd = self->fd;

	if (self->fd1 < 0)
		return;
	ASSERT_EQ(0, map_many(fd, page, maps, MANY));
	ASSERT_EQ(0, get_stats(fd, &st));
	EXPECT_EQ(MANY, st.active_mappings);
	ASSERT_EQ(0, map_unmap_times(fd, self->fd1, page, &crowded, &alone))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, get_stats(self->fd1, &st));
	EXPECT_EQ(0, st.active_mappings);

	t = fork_exit_time();
	ASSERT_LT(0, t);
	TH_LOG("fork and exit of a child with %d VMAs of the device: %.3f s", MANY, t);
	ASSERT_EQ(0, get_stats(fd, &st));
	EXPECT_EQ(MANY, st.active_mappings);

	/* Newest first (unmap_many() goes backwards). */
	ASSERT_EQ(0, unmap_many(page, maps, MANY));
	ASSERT_EQ(0, get_stats(fd, &st));
	EXPECT_EQ(0, st.active_mappings);
	TH_LOG("mmap+munmap among %d VMAs of mmapper0: of mmapper1 (none of its own) %.1f us, of mmapper0 %.1f us: ratio %.2f",
	       MANY, alone * 1e6, crowded * 1e6, crowded / alone);
	EXPECT_GT(2.0, crowded / alone);
}

/*
 * The device is a file to the kernel's other copy paths too (read_iter,
 * write_iter): splice() both ways through a pipe, sendfile() to a file and
 * to a socket, preadv2()/pwritev2() with flags, io_uring.  Data checked.
 */
TEST_F(mmapper, splice_both_ways)
{
	size_t len = 3 * self->page + 100;
	unsigned char *buf = malloc(len), *back = malloc(len);
	int p[2];
	loff_t off;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	fill_pattern(buf, 0, len, 21);
	ASSERT_EQ(0, pipe(p));

	/* pipe -> device, at an unaligned offset */
	ASSERT_EQ((ssize_t)len, write(p[1], buf, len));
	off = 7;
	EXPECT_EQ((ssize_t)len, splice(p[0], NULL, self->fd, &off, len, 0));
	EXPECT_EQ(7 + (loff_t)len, off);
	EXPECT_EQ(fnv1a(buf, len), kernel_checksum(self->fd, 7, len));

	/* device -> pipe */
	off = 7;
	EXPECT_EQ((ssize_t)len, splice(self->fd, &off, p[1], NULL, len, 0));
	EXPECT_EQ((ssize_t)len, read(p[0], back, len));
	EXPECT_EQ(0, memcmp(buf, back, len));

	/* At the end: 0 from the device, ENOSPC into it. */
	off = self->size;
	EXPECT_EQ(0, splice(self->fd, &off, p[1], NULL, len, 0));
	ASSERT_EQ(10, write(p[1], buf, 10));
	off = self->size;
	EXPECT_EQ(-1, splice(p[0], NULL, self->fd, &off, 10, 0));
	EXPECT_EQ(ENOSPC, errno);
	close(p[0]);
	close(p[1]);
	free(buf);
	free(back);
}

TEST_F(mmapper, sendfile_to_file_and_socket)
{
	size_t len = 5 * self->page;
	unsigned char *buf = malloc(len), *back = malloc(len);
	char tmpl[] = "/tmp/mmapper-sendfile-XXXXXX";
	int out, sv[2];
	off_t off = 0;
	size_t got;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	fill_pattern(buf, 0, len, 22);
	ASSERT_EQ((ssize_t)len, pwrite(self->fd, buf, len, 0));

	out = mkstemp(tmpl);
	ASSERT_LE(0, out);
	unlink(tmpl);
	/*
	 * 5.10's sendfile() refuses to read a character device (measured;
	 * splice() works there); 6.1 and later take it.
	 */
	if (kernel_older_than(5, 11)) {
		EXPECT_EQ(-1, sendfile(out, self->fd, &off, len));
		TH_LOG("5.10: sendfile() from the device: %s", strerror(errno));
		close(out);
		free(buf);
		free(back);
		SKIP(return, "sendfile() from a device: refused by 5.10 (checked)");
	}
	ASSERT_EQ((ssize_t)len, sendfile(out, self->fd, &off, len));
	EXPECT_EQ((off_t)len, off);
	EXPECT_EQ((ssize_t)len, pread(out, back, len, 0));
	EXPECT_EQ(0, memcmp(buf, back, len));
	close(out);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	off = self->page;
	ASSERT_EQ((ssize_t)self->page, sendfile(sv[0], self->fd, &off, self->page));
	for (got = 0; got < (size_t)self->page; ) {
		ssize_t n = read(sv[1], back + got, self->page - got);

		ASSERT_LT(0, n);
		got += n;
	}
	EXPECT_EQ(0, memcmp(buf + self->page, back, self->page));
	close(sv[0]);
	close(sv[1]);
	free(buf);
	free(back);
}

/* copy_file_range() is for regular files: the kernel refuses a device. */
TEST_F(mmapper, copy_file_range_refused)
{
	char tmpl[] = "/tmp/mmapper-cfr-XXXXXX";
	loff_t in = 0, out = 0;
	int fd = mkstemp(tmpl);

	ASSERT_LE(0, fd);
	unlink(tmpl);
	ASSERT_EQ(0, ftruncate(fd, self->page));
	EXPECT_EQ(-1, syscall(__NR_copy_file_range, self->fd, &in, fd, &out,
			      (size_t)self->page, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, syscall(__NR_copy_file_range, fd, &in, self->fd, &out,
			      (size_t)self->page, 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(mmapper, preadv2_pwritev2_flags)
{
	unsigned char a[100], b[200], ra[100], rb[200];
	struct iovec w[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec r[2] = { { ra, sizeof(ra) }, { rb, sizeof(rb) } };

	fill_pattern(a, 0, sizeof(a), 23);
	fill_pattern(b, 0, sizeof(b), 24);
	/* RWF_NOWAIT: the copy path never blocks (FMODE_NOWAIT). */
	EXPECT_EQ(300, pwritev2(self->fd, w, 2, self->page - 150, RWF_NOWAIT));
	EXPECT_EQ(300, preadv2(self->fd, r, 2, self->page - 150, RWF_NOWAIT));
	EXPECT_EQ(0, memcmp(a, ra, sizeof(a)));
	EXPECT_EQ(0, memcmp(b, rb, sizeof(b)));
	memset(ra, 0, sizeof(ra));
	EXPECT_EQ(300, preadv2(self->fd, r, 2, self->page - 150, RWF_HIPRI));
	EXPECT_EQ(0, memcmp(a, ra, sizeof(a)));
	/* Offset -1: the file position, which moves. */
	ASSERT_EQ(self->page - 150, lseek(self->fd, self->page - 150, SEEK_SET));
	EXPECT_EQ(300, preadv2(self->fd, r, 2, -1, 0));
	EXPECT_EQ(self->page + 150, lseek(self->fd, 0, SEEK_CUR));
	/* Past the end: 0 and ENOSPC, as read() and write(). */
	EXPECT_EQ(0, preadv2(self->fd, r, 2, self->size, 0));
	EXPECT_EQ(-1, pwritev2(self->fd, w, 2, self->size, 0));
	EXPECT_EQ(ENOSPC, errno);
}

/* A minimal io_uring, by system calls: one submission at a time. */
struct uring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int uring_init(struct uring *u)
{
	struct io_uring_params p;
	unsigned char *sq, *cq;

	memset(&p, 0, sizeof(p));
	u->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (u->fd < 0)
		return -errno;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned int),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		  IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		  IORING_OFF_CQ_RING);
	u->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		       IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || u->sqes == MAP_FAILED)
		return -ENOMEM;
	u->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	u->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	u->sq_array = (unsigned int *)(sq + p.sq_off.array);
	u->cq_head = (unsigned int *)(cq + p.cq_off.head);
	u->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	u->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit one read or write and wait for it: its result. */
static int uring_rw(struct uring *u, int op, int fd, void *buf, unsigned int len,
		    uint64_t off, int buf_index)
{
	unsigned int tail = *u->sq_tail, idx = tail & *u->sq_mask, head;
	struct io_uring_sqe *sqe = &u->sqes[idx];
	int res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)buf;
	sqe->len = len;
	sqe->off = off;
	sqe->buf_index = buf_index;
	u->sq_array[idx] = idx;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, u->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	head = *u->cq_head;
	if (head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	res = u->cqes[head & *u->cq_mask].res;
	__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

TEST_F(mmapper, io_uring_read_write)
{
	size_t len = 2 * self->page;
	unsigned char *buf = malloc(len), *back = malloc(len), *fixed;
	struct iovec iov;
	struct uring u;
	int ret;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	ret = uring_init(&u);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "io_uring not available here (%s)", strerror(-ret));
	ASSERT_EQ(0, ret);

	fill_pattern(buf, 0, len, 25);
	EXPECT_EQ((int)len, uring_rw(&u, IORING_OP_WRITE, self->fd, buf, len, 100, 0));
	EXPECT_EQ(fnv1a(buf, len), kernel_checksum(self->fd, 100, len));
	EXPECT_EQ((int)len, uring_rw(&u, IORING_OP_READ, self->fd, back, len, 100, 0));
	EXPECT_EQ(0, memcmp(buf, back, len));

	/* READ_FIXED into a registered buffer. */
	fixed = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, fixed);
	iov.iov_base = fixed;
	iov.iov_len = len;
	ASSERT_EQ(0, syscall(__NR_io_uring_register, u.fd, IORING_REGISTER_BUFFERS, &iov, 1));
	EXPECT_EQ((int)len, uring_rw(&u, IORING_OP_READ_FIXED, self->fd, fixed, len, 100, 0));
	EXPECT_EQ(0, memcmp(buf, fixed, len));

	/* At the end: 0 and ENOSPC. */
	EXPECT_EQ(0, uring_rw(&u, IORING_OP_READ, self->fd, back, len, self->size, 0));
	EXPECT_EQ(-ENOSPC, uring_rw(&u, IORING_OP_WRITE, self->fd, buf, len, self->size, 0));
	munmap(fixed, len);
	close(u.fd);
	free(buf);
	free(back);
}

/*
 * Devices at run time: hot_add and hot_remove.  Each test removes what it
 * added; the devices of the load (mmapper0..) are never touched.
 */
#define HOT_ADD		"/sys/class/mmapper/hot_add"
#define HOT_REMOVE	"/sys/class/mmapper/hot_remove"
#define PARAMS		"/sys/module/mmapper/parameters/"

/* Read hot_add: the new device's number, or -errno. */
static int hot_add(void)
{
	char buf[32], *end;
	long n;
	int ret = sysfs_read(HOT_ADD, buf, sizeof(buf));

	if (ret)
		return ret;
	n = strtol(buf, &end, 10);
	return *buf && !*end && n >= 0 ? (int)n : -EPROTO;
}

static int hot_remove(int n)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", n);
	return sysfs_write(HOT_REMOVE, buf);
}

static void dev_file(char *path, size_t len, const char *dir, int n,
		     const char *file)
{
	snprintf(path, len, "%s/mmapper%d%s%s", dir, n, file ? "/" : "",
		 file ? file : "");
}

/* How many mmapperN directories /sys/class/mmapper has. */
static int count_devices(void)
{
	char path[64];
	int i, n = 0;

	for (i = 0; i < 1024; i++) {
		dev_file(path, sizeof(path), "/sys/class/mmapper", i, NULL);
		n += !access(path, F_OK);
	}
	return n;
}

/* The devices there were before the test: the teardown removes the others. */
FIXTURE(hotplug) {
	bool existed[1024];
};

FIXTURE_SETUP(hotplug)
{
	char path[64];
	int i;

	if (access(HOT_ADD, F_OK))
		SKIP(return, "no %s", HOT_ADD);
	for (i = 0; i < 1024; i++) {
		dev_file(path, sizeof(path), "/sys/class/mmapper", i, NULL);
		self->existed[i] = !access(path, F_OK);
	}
}

FIXTURE_TEARDOWN(hotplug)
{
	char path[64];
	int i;

	for (i = 0; i < 1024; i++) {
		dev_file(path, sizeof(path), "/sys/class/mmapper", i, NULL);
		if (!self->existed[i] && !access(path, F_OK))
			hot_remove(i);
	}
}

/*
 * A new device is complete when hot_add returns: its node (the class's
 * major, minor N), its attributes and its debugfs files, with the module's
 * default size and backend and a zeroed buffer.  Removal is refused while
 * it is open or mapped, then takes all of it away; a second removal finds
 * nothing.
 */
TEST_F(hotplug, hot_add_and_remove)
{
	char path[128], want[256], cur[256], backend[64];
	static const char *const files[] = {
		"backend", "size", "stats/opens", "stats/active_mappings",
		"stats/reset",
	};
	static const char *const dbg[] = { "pages", "mappings", "summary" };
	long page = sysconf(_SC_PAGESIZE);
	struct mmapper_info info = { .size = sizeof(info) };
	struct stat st, st0;
	unsigned char *buf;
	long long size;
	unsigned int i;
	void *map;
	int n, fd;

	n = hot_add();
	ASSERT_LE(0, n) TH_LOG("hot_add: %s", strerror(-n));

	dev_file(path, sizeof(path), "/dev", n, NULL);
	ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %s", path, strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	if (!stat(DEV, &st0))
		EXPECT_EQ(major(st0.st_rdev), major(st.st_rdev));
	EXPECT_EQ(n, (int)minor(st.st_rdev));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		dev_file(path, sizeof(path), "/sys/class/mmapper", n, files[i]);
		EXPECT_EQ(0, access(path, F_OK)) TH_LOG("%s", path);
	}
	for (i = 0; i < sizeof(dbg) / sizeof(dbg[0]); i++) {
		dev_file(path, sizeof(path), "/sys/kernel/debug/mmapper", n, dbg[i]);
		EXPECT_EQ(0, access(path, R_OK)) TH_LOG("%s", path);
	}

	/* The module's defaults, whatever the other devices use now. */
	size = sysfs_read_ll(PARAMS "size");
	ASSERT_LT(0, size);
	size = (size + page - 1) / page * page;
	dev_file(path, sizeof(path), "/sys/class/mmapper", n, "size");
	EXPECT_EQ(size, sysfs_read_ll(path));
	ASSERT_EQ(0, sysfs_read(PARAMS "backend", backend, sizeof(backend)));
	snprintf(want, sizeof(want), "%s", backend_list(backend));
	dev_file(path, sizeof(path), "/sys/class/mmapper", n, "backend");
	ASSERT_EQ(0, sysfs_read(path, cur, sizeof(cur)));
	EXPECT_STREQ(want, cur);

	dev_file(path, sizeof(path), "/dev", n, NULL);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, MMAPPER_IOC_GET_INFO, &info));
	EXPECT_EQ((uint64_t)size, info.buf_size);
	buf = malloc(size);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(size, pread(fd, buf, size, 0));
	EXPECT_EQ(-1, check_zero(buf, size));
	free(buf);

	EXPECT_EQ(-EBUSY, hot_remove(n));
	map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	close(fd);
	/* The mapping holds it: still busy. */
	EXPECT_EQ(-EBUSY, hot_remove(n));
	munmap(map, page);

	ASSERT_EQ(0, hot_remove(n));
	dev_file(path, sizeof(path), "/dev", n, NULL);
	EXPECT_EQ(-1, access(path, F_OK));
	dev_file(path, sizeof(path), "/sys/class/mmapper", n, NULL);
	EXPECT_EQ(-1, access(path, F_OK));
	dev_file(path, sizeof(path), "/sys/kernel/debug/mmapper", n, NULL);
	EXPECT_EQ(-1, access(path, F_OK));
	EXPECT_EQ(-ENODEV, hot_remove(n));
}

/* Numbers are given lowest first: a removed one is the next given. */
TEST_F(hotplug, hot_add_numbers_lowest_first)
{
	int a, b, c;

	a = hot_add();
	ASSERT_LE(0, a);
	b = hot_add();
	ASSERT_LE(0, b);
	EXPECT_LT(a, b);
	ASSERT_EQ(0, hot_remove(a));
	c = hot_add();
	EXPECT_EQ(a, c);
	EXPECT_EQ(0, hot_remove(b));
	if (c >= 0)
		EXPECT_EQ(0, hot_remove(c));
}

static int nobody_hotplug(void)
{
	char buf[32];

	return sysfs_read(HOT_ADD, buf, sizeof(buf)) == -EACCES &&
	       sysfs_write(HOT_REMOVE, "0") == -EACCES ? 0 : 1;
}

static int root_without_sys_admin_hotplug(void)
{
	char buf[32];

	if (drop_sys_admin())
		return 1;
	if (sysfs_read(HOT_ADD, buf, sizeof(buf)) != -EPERM)
		return 2;
	if (sysfs_write(HOT_REMOVE, "0") != -EPERM)
		return 3;
	return 0;
}

/*
 * Root only: the modes (0400, 0200) keep other users out, and root
 * without CAP_SYS_ADMIN gets EPERM.  A number that is not one is EINVAL,
 * a device that does not exist ENODEV; nothing is added or removed.
 */
TEST_F(hotplug, hot_remove_bad_input)
{
	static const char *const bad[] = {
		"abc", "-1", "1x", "0x", "4294967296", " 1", "1 2",
	};
	struct stat st;
	unsigned int i;
	int before = count_devices();

	if (getuid())
		SKIP(return, "must run as root");
	ASSERT_EQ(0, stat(HOT_ADD, &st));
	EXPECT_EQ(0400, st.st_mode & 0777);
	ASSERT_EQ(0, stat(HOT_REMOVE, &st));
	EXPECT_EQ(0200, st.st_mode & 0777);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, sysfs_write(HOT_REMOVE, bad[i]))
			TH_LOG("bad input %u", i);
	EXPECT_EQ(-ENODEV, sysfs_write(HOT_REMOVE, "1023"));
	EXPECT_EQ(-ENODEV, sysfs_write(HOT_REMOVE, "4294967295"));
	EXPECT_EQ(0, as_nobody(nobody_hotplug));
	EXPECT_EQ(0, as_root_without_sys_admin(root_without_sys_admin_hotplug));
	EXPECT_EQ(before, count_devices());
}

/*
 * max_devices bounds the devices: hot_add gives ENOSPC, with a line in the
 * log, once that many exist.
 */
TEST_F_TIMEOUT(hotplug, hot_add_limit, 300)
{
	int added[1024], n = 0, max, ret, i;

	max = sysfs_read_ll(PARAMS "max_devices");
	ASSERT_LT(0, max);
	ASSERT_GE(1024, max);
	for (;;) {
		ret = hot_add();
		if (ret < 0 || n == max)
			break;
		added[n++] = ret;
	}
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ(max, count_devices());
	EXPECT_TRUE(log_contains("as many as max_devices allows"));
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, hot_remove(added[i])) TH_LOG("mmapper%d", added[i]);
}

/*
 * The class-wide backend covers every device there is, the hot-added
 * ones too, all or none.
 */
TEST_F(hotplug, class_backend_covers_hot_added)
{
	char path[64], cur[256];
	void *map;
	int n, fd;

	ASSERT_EQ(0, sysfs_write(CLASS_BACKEND, "vmalloc"));
	n = hot_add();
	ASSERT_LE(0, n);
	dev_file(path, sizeof(path), "/sys/class/mmapper", n, "backend");

	EXPECT_EQ(0, sysfs_write(CLASS_BACKEND, "pages"));
	ASSERT_EQ(0, sysfs_read(path, cur, sizeof(cur)));
	EXPECT_STREQ(backend_list("pages"), cur);
	ASSERT_EQ(0, sysfs_read(CLASS_BACKEND, cur, sizeof(cur)));
	EXPECT_STREQ(backend_list("pages"), cur);

	/* Mapping only the new device stops the switch of all. */
	dev_file(path, sizeof(path), "/dev", n, NULL);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-EBUSY, sysfs_write(CLASS_BACKEND, "vmalloc"));
	ASSERT_EQ(0, sysfs_read(SYSDIR "/backend", cur, sizeof(cur)));
	EXPECT_STREQ(backend_list("pages"), cur);
	munmap(map, 4096);
	close(fd);

	EXPECT_EQ(0, sysfs_write(CLASS_BACKEND, "vmalloc"));
	EXPECT_EQ(0, hot_remove(n));
}

/*
 * Files of a device left open across its removal: a sysfs write says
 * ENODEV, a debugfs read EIO; neither reaches the device, which is gone
 * (on the debug kernel KASAN would see a use after free).
 */
TEST_F(hotplug, files_open_across_remove)
{
	char path[128], buf[4096];
	int n, sfd, dfd;

	n = hot_add();
	ASSERT_LE(0, n);
	dev_file(path, sizeof(path), "/sys/class/mmapper", n, "size");
	sfd = open(path, O_RDWR);
	ASSERT_LE(0, sfd);
	dev_file(path, sizeof(path), "/sys/kernel/debug/mmapper", n, "pages");
	dfd = open(path, O_RDONLY);
	ASSERT_LE(0, dfd);
	ASSERT_LT(0, read(dfd, buf, 64));

	ASSERT_EQ(0, hot_remove(n));
	EXPECT_EQ(-1, write(sfd, "8K", 2));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, read(dfd, buf, sizeof(buf)));
	EXPECT_EQ(EIO, errno);
	close(sfd);
	close(dfd);
}

/* Shared by the opener and the remover of open_racing_remove. */
struct race {
	volatile int stop;
	int failed;
	char why[128];
	unsigned long opened, enodev, enoent, enxio, busy;
};

/*
 * Open the device in a loop until told to stop.  Each open gets the
 * device, which then works and cannot be removed (EBUSY, even for this
 * very process), or finds it gone: ENODEV from mmapper, ENXIO from the
 * char-device layer once the number is released, ENOENT once the node is.
 */
static void race_opener(struct race *r, int n)
{
	struct mmapper_info info = { .size = sizeof(info) };
	char path[64];
	int fd, ret;

	dev_file(path, sizeof(path), "/dev", n, NULL);
	while (!r->stop && !r->failed) {
		fd = open(path, O_RDWR);
		if (fd < 0) {
			if (errno == ENODEV)
				r->enodev++;
			else if (errno == ENOENT)
				r->enoent++;
			else if (errno == ENXIO)
				r->enxio++;
			else
				snprintf(r->why, sizeof(r->why), "open: %s", strerror(errno)),
				r->failed = 1;
			continue;
		}
		r->opened++;
		if (ioctl(fd, MMAPPER_IOC_GET_INFO, &info)) {
			snprintf(r->why, sizeof(r->why), "GET_INFO on an open device: %s",
				 strerror(errno));
			r->failed = 1;
		}
		ret = hot_remove(n);
		if (ret != -EBUSY) {
			snprintf(r->why, sizeof(r->why),
				 "hot_remove of a device open here: %s", strerror(-ret));
			r->failed = 1;
		}
		close(fd);
	}
}

/*
 * An open() racing a removal either gets the device, and the removal
 * EBUSY, or does not get it: never a device half removed.
 */
TEST_F_TIMEOUT(hotplug, open_racing_remove, 300)
{
	struct race *r;
	int round, n, ret, status;
	pid_t pid;

	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	memset(r, 0, sizeof(*r));

	for (round = 0; round < 100 && !r->failed; round++) {
		n = hot_add();
		ASSERT_LE(0, n);
		r->stop = 0;
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			race_opener(r, n);
			_exit(0);
		}
		/* Let the opener start, then remove as soon as it allows. */
		usleep(round % 10 * 100);
		while ((ret = hot_remove(n)) == -EBUSY)
			r->busy++;
		r->stop = 1;
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_EQ(0, status);
		ASSERT_EQ(0, ret) TH_LOG("hot_remove: %s", strerror(-ret));
	}
	EXPECT_STREQ("", r->why);
	TH_LOG("%d rounds: %lu opens got the device, %lu removals refused; ENODEV %lu, ENXIO %lu, ENOENT %lu",
	       round, r->opened, r->busy, r->enodev, r->enxio, r->enoent);
	munmap(r, sizeof(*r));
}

TEST_HARNESS_MAIN
