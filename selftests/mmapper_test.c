// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper selftests: every test runs once per backend (FIXTURE_VARIANT) on
 * /dev/mmapper0, which the fixture switches to that backend and to a small
 * size first.  Run as root with the module loaded (see test_mmapper.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/mmapper.h>

#include "kselftest_harness.h"

#define DEV		"/dev/mmapper0"
#define SYSDIR		"/sys/class/mmapper/mmapper0"
#define CLASS_BACKEND	"/sys/class/mmapper/backend"
#define NPAGES		16

/* An address no process maps; volatile keeps the compiler from judging it. */
static void *volatile bad_ptr = (void *)16;

static const char *const all_backends[] = {
	"kmalloc", "vmalloc", "vmalloc-fault", "vmalloc-user",
};

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

/* The same hash as MMAPPER_IOC_CHECKSUM computes in the kernel. */
static uint32_t fnv1a(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *c++) * 16777619u;
	return h;
}

static int kernel_fill(int fd, uint64_t off, uint64_t len, unsigned int byte)
{
	struct mmapper_range r = {
		.size = sizeof(r), .offset = off, .length = len, .pattern = byte,
	};

	return ioctl(fd, MMAPPER_IOC_FILL, &r) ? -errno : 0;
}

static int64_t kernel_checksum(int fd, uint64_t off, uint64_t len)
{
	struct mmapper_range r = { .size = sizeof(r), .offset = off, .length = len };

	return ioctl(fd, MMAPPER_IOC_CHECKSUM, &r) ? -errno : (int64_t)r.checksum;
}

/* A pattern that differs in every byte of a page and from page to page. */
static unsigned char pat(size_t i, unsigned int seed)
{
	return (unsigned char)(i * 7 + (i >> 12) * 13 + seed);
}

static void fill_pattern(unsigned char *p, size_t off, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = pat(off + i, seed);
}

/* Index of the first byte of @p that is not the pattern, or -1. */
static long check_pattern(const unsigned char *p, size_t off, size_t n,
			  unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != pat(off + i, seed))
			return i;
	return -1;
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
};

FIXTURE_VARIANT_ADD(mmapper, kmalloc) {
	.backend = "kmalloc",
	.private_cow = false,
};

FIXTURE_VARIANT_ADD(mmapper, vmalloc) {
	.backend = "vmalloc",
	.private_cow = false,
};

FIXTURE_VARIANT_ADD(mmapper, vmalloc_fault) {
	.backend = "vmalloc-fault",
	.private_cow = true,
};

FIXTURE_VARIANT_ADD(mmapper, vmalloc_user) {
	.backend = "vmalloc-user",
	.private_cow = false,
};

FIXTURE_SETUP(mmapper)
{
	char cur[256];
	char want[64];

	self->page = sysconf(_SC_PAGESIZE);
	self->size = NPAGES * self->page;

	if (access(DEV, F_OK))
		SKIP(return, DEV " missing: is the mmapper module loaded?");

	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", variant->backend));
	ASSERT_EQ(0, set_size(self->size));
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

	for (i = 0; i < sizeof(all_backends) / sizeof(all_backends[0]); i++) {
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
	EXPECT_EQ(0, info.reserved);
	EXPECT_STREQ(variant->backend, info.backend);
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

	ASSERT_EQ(0, sysfs_write(CLASS_BACKEND, "vmalloc-user"));
	ASSERT_EQ(0, sysfs_read(CLASS_BACKEND, cur, sizeof(cur)));
	EXPECT_STREQ("kmalloc vmalloc vmalloc-fault [vmalloc-user]", cur);

	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/sys/class/mmapper/mmapper%d/backend", i);
		if (access(path, F_OK))
			break;
		ASSERT_EQ(0, sysfs_read(path, cur, sizeof(cur)));
		EXPECT_STREQ("kmalloc vmalloc vmalloc-fault [vmalloc-user]", cur);
		n++;
	}
	EXPECT_LE(1, n);

	/* One device on its own: no backend is in force for all. */
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "kmalloc"));
	ASSERT_EQ(0, sysfs_read(CLASS_BACKEND, cur, sizeof(cur)));
	if (n > 1)
		EXPECT_STREQ("kmalloc vmalloc vmalloc-fault vmalloc-user", cur);

	ASSERT_EQ(0, sysfs_write(CLASS_BACKEND, "vmalloc"));
	ASSERT_EQ(0, sysfs_read(CLASS_BACKEND, cur, sizeof(cur)));
	EXPECT_STREQ("kmalloc [vmalloc] vmalloc-fault vmalloc-user", cur);
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
		EXPECT_STREQ("kmalloc [vmalloc] vmalloc-fault vmalloc-user", cur)
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
	EXPECT_STREQ("kmalloc [vmalloc] vmalloc-fault vmalloc-user", cur);

	ASSERT_EQ(0, sysfs_write(SYSDIR "/size", "1M"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "kmalloc"));
	EXPECT_EQ(-E2BIG, sysfs_write(SYSDIR "/size", "64M"));
	EXPECT_EQ(1 << 20, sysfs_read_ll(SYSDIR "/size"));
	ASSERT_EQ(0, sysfs_write(SYSDIR "/backend", "vmalloc"));
}

TEST_HARNESS_MAIN
