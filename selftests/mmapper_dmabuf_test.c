// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper DMA-BUF export selftests: MMAPPER_IOC_EXPORT_DMABUF on every
 * backend (FIXTURE_VARIANT), its ABI, the mapping rules of the DMA-BUF,
 * the lifetime of what it holds, sysfs and debugfs, the unprivileged
 * user's rules; then two importers no one here wrote: DRM vgem (PRIME
 * import, fences) and V4L2 vivid (V4L2_MEMORY_DMABUF capture into the
 * exported ranges, the frames read through the device's own mapping).
 *
 * Run as root with mmapper loaded, and vgem and vivid loaded as
 * test_dmabuf.sh loads them (vivid: two instances, the first with the
 * vmalloc allocator, the second with dma-contig); without an importer its
 * tests are skipped.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/vgem_drm.h>
#include <linux/dma-buf.h>
#include <linux/mmapper.h>
#include <linux/videodev2.h>

#include "kselftest_harness.h"
#include "mmapper_common.h"
#include "importer/mmapper_importer.h"

#define DEV		"/dev/mmapper0"
#define SYSDIR		"/sys/class/mmapper/mmapper0"
#define STATSDIR	SYSDIR "/stats/"
#define CLASS_BACKEND	"/sys/class/mmapper/backend"
#define DBGDIR		"/sys/kernel/debug/mmapper/mmapper0/"
#define NPAGES		16

/* An address no process maps; volatile keeps the compiler from judging it. */
static void *volatile bad_ptr = (void *)16;

/* sysfs and debugfs */

static int file_write(const char *path, const char *val)
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

static long long file_read_ll(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 0);
}

/* The whole of a (debugfs) file, NUL-terminated, to free(); NULL on error. */
static char *file_slurp(const char *path)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *more = realloc(buf, cap * 2);

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static int set_size(size_t size)
{
	char val[32];

	snprintf(val, sizeof(val), "%zu", size);
	return file_write(SYSDIR "/size", val);
}

static long long live_exports(void)
{
	return file_read_ll(STATSDIR "exports");
}

static long long exports_total(void)
{
	return file_read_ll(STATSDIR "exports_total");
}

/* The device's own ioctls */

/* FNV-1a of @len bytes of the pattern from @off; of @len zero bytes (seed -1). */
static int64_t pattern_hash(size_t off, size_t len, int seed)
{
	unsigned char *p = calloc(1, len);
	uint32_t h;

	if (!p)
		return -ENOMEM;
	if (seed >= 0)
		fill_pattern(p, off, len, seed);
	h = fnv1a(p, len);
	free(p);
	return h;
}

/*
 * MMAPPER_IOC_EXPORT_DMABUF of [@off, @off + @len) with @flags: the
 * DMA-BUF descriptor, or -errno.  @out, if not NULL, gets the struct.
 */
static int export_range(int fd, unsigned int flags, uint64_t off, uint64_t len,
			struct mmapper_export *out)
{
	struct mmapper_export e = {
		.size = sizeof(e), .flags = flags, .offset = off, .length = len,
	};

	if (ioctl(fd, MMAPPER_IOC_EXPORT_DMABUF, &e))
		return -errno;
	if (out)
		*out = e;
	return e.fd;
}

static void *map_fd(int fd, size_t len, off_t off, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static int dmabuf_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

/* Open descriptors of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

static bool kernel_older_than(int major, int minor)
{
	struct utsname u;
	int ma, mi;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma < major || (ma == major && mi < minor);
}

/* debugfs mmapperN/exports */

struct export_row {
	unsigned long long id, offset, length;
	char access[4];
	unsigned long ino, begin, end;
	char vmap[16];
	int nr_importers;
	char importers[4][128];		/* "NAME: what" */
};

/* The exports of mmapper0 into @rows (at most @max): their count, or -1. */
static int debugfs_exports(struct export_row *rows, int max)
{
	char *buf = file_slurp(DBGDIR "exports"), *line, *save;
	int n = 0;

	if (!buf)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct export_row r = {};

		if (!strncmp(line, "mappings:", 9))
			break;
		if (sscanf(line, "export %llu: offset %llu length %llu %3s inode %lu begin %lu end %lu vmap %15s",
			   &r.id, &r.offset, &r.length, r.access, &r.ino, &r.begin,
			   &r.end, r.vmap) == 8) {
			if (n < max)
				rows[n] = r;
			n++;
		} else if (!strncmp(line, "  importer ", 11) && n && n <= max) {
			struct export_row *x = &rows[n - 1];

			if (x->nr_importers < 4)
				snprintf(x->importers[x->nr_importers++], 128, "%s", line + 11);
		} else {
			n = -1;
			break;
		}
	}
	free(buf);
	return n;
}

/* The row of the export whose DMA-BUF has inode @ino, or NULL. */
static struct export_row *find_export(struct export_row *rows, int n, unsigned long ino)
{
	int i;

	for (i = 0; i < n; i++)
		if (rows[i].ino == ino)
			return &rows[i];
	return NULL;
}

/* Mappings of exports listed in debugfs exports with export id @id. */
static int debugfs_export_mappings(unsigned long long id, unsigned long start)
{
	char *buf = file_slurp(DBGDIR "exports"), *p;
	int found = 0;

	if (!buf)
		return -1;
	p = strstr(buf, "mappings:\n");
	if (p) {
		char *line, *save;

		p = strchr(p + 10, '\n');	/* past the header */
		for (line = p ? strtok_r(p + 1, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save)) {
			unsigned long long lid;
			unsigned long s, e, pgoff;
			char comm[32];
			int pid;

			if (sscanf(line, "%llu %d %31s %lx-%lx %lu", &lid, &pid, comm,
				   &s, &e, &pgoff) == 6 && lid == id && (!start || s == start))
				found++;
		}
	}
	free(buf);
	return found;
}

/* pfn of each page of mmapper0 (debugfs pages) into @pfns: the count, or -1. */
static int debugfs_pfns(unsigned long *pfns, int max)
{
	char *buf = file_slurp(DBGDIR "pages"), *line, *save;
	int n = 0;

	if (!buf)
		return -1;
	line = strtok_r(buf, "\n", &save);	/* header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		unsigned long idx, pfn;

		if (sscanf(line, "%lu %lx", &idx, &pfn) != 2) {
			n = -1;
			break;
		}
		if (n < max)
			pfns[n] = pfn;
		n++;
	}
	free(buf);
	return n;
}

/*
 * Does importer line @what ("NAME: DIR, N segments: PFN+N ...") map pages
 * @first.. of the buffer, in order, as debugfs pages lists them?  1 if so,
 * 0 if it maps others, -1 if it is not mapped or cannot be read.
 */
static int importer_maps_pages(const char *what, const unsigned long *pfns,
			       unsigned long first, unsigned long count)
{
	const char *p = strstr(what, "segments:");
	unsigned long idx = first;

	if (!p)
		return -1;
	p += strlen("segments:");
	while (*p == ' ') {
		unsigned long pfn, n, i;
		int used;

		if (sscanf(p, " %lx+%lu%n", &pfn, &n, &used) != 2)
			return -1;
		for (i = 0; i < n; i++, idx++)
			if (idx >= first + count || pfns[idx] != pfn + i)
				return 0;
		p += used;
	}
	return idx == first + count;
}

/* Has this kernel DMA-BUF (CONFIG_DMA_SHARED_BUFFER)?  mmapper says EOPNOTSUPP. */
static bool have_export(int fd)
{
	int x = export_range(fd, O_RDONLY, 0, sysconf(_SC_PAGESIZE), NULL);

	if (x >= 0)
		close(x);
	return x != -EOPNOTSUPP;
}

/* Fixture: every test runs once per backend on /dev/mmapper0. */

FIXTURE(export) {
	int fd;
	size_t page;
	size_t size;
};

FIXTURE_VARIANT(export) {
	const char *backend;
	/* MAP_PRIVATE is copy-on-write (else it is refused with EINVAL) */
	bool private_cow;
	/* physically contiguous (dma-contig importers take it whole) */
	bool contiguous;
	/* get_user_pages() can pin its mappings: cached only (EINVAL) */
	bool cached_only;
	/* mapped by PFN (VM_PFNMAP | VM_IO), not by struct page */
	bool pfnmap;
};

FIXTURE_VARIANT_ADD(export, kmalloc) {
	.backend = "kmalloc",
	.contiguous = true,
	.pfnmap = true,
};

FIXTURE_VARIANT_ADD(export, vmalloc) {
	.backend = "vmalloc",
	.pfnmap = true,
};

FIXTURE_VARIANT_ADD(export, vmalloc_fault) {
	.backend = "vmalloc-fault",
	.private_cow = true,
	.cached_only = true,
};

FIXTURE_VARIANT_ADD(export, vmalloc_user) {
	.backend = "vmalloc-user",
	.cached_only = true,
};

FIXTURE_VARIANT_ADD(export, pages) {
	.backend = "pages",
	.private_cow = true,
	.cached_only = true,
};

/* Within one 2 MiB chunk, the buffer is contiguous. */
FIXTURE_VARIANT_ADD(export, huge) {
	.backend = "huge",
	.contiguous = true,
	.pfnmap = true,
};

FIXTURE_SETUP(export)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->size = NPAGES * self->page;
	self->fd = -1;

	if (access(DEV, F_OK))
		SKIP(return, DEV " missing: is the mmapper module loaded?");
	ASSERT_EQ(0, live_exports()) TH_LOG("an earlier test left an export");
	/* Cached (where there are cache modes), whatever an earlier test left. */
	if (!access(SYSDIR "/cache", F_OK))
		ASSERT_EQ(0, file_write(SYSDIR "/cache", "cached"));
	ASSERT_EQ(0, set_size(self->size));
	ASSERT_EQ(0, file_write(SYSDIR "/backend", variant->backend));
	self->fd = open(DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	if (!have_export(self->fd))
		SKIP(return, "a kernel without DMA-BUF: no export (EOPNOTSUPP)");
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0));
}

FIXTURE_TEARDOWN(export)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The ioctl's ABI: flags, range, output fields, struct sizes, pointers. */
TEST_F(export, abi)
{
	struct {
		struct mmapper_export e;
		unsigned char tail[8];
	} big;
	struct mmapper_export e;
	size_t page = self->page;
	long long total = exports_total();
	struct stat st;
	int fd, fds = count_fds();

	fd = export_range(self->fd, O_RDWR, 0, self->size, &e);
	ASSERT_LE(0, fd) TH_LOG("export: %s", strerror(-fd));
	EXPECT_EQ(sizeof(e), e.size);
	EXPECT_EQ(fd, e.fd);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(st.st_ino, e.inode);
	EXPECT_EQ(self->size, (size_t)lseek(fd, 0, SEEK_END));
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(1, live_exports());
	EXPECT_EQ(total + 1, exports_total());
	close(fd);
	EXPECT_EQ(0, live_exports());

	fd = export_range(self->fd, O_RDONLY | O_CLOEXEC, page, 2 * page, &e);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(2 * page, (size_t)lseek(fd, 0, SEEK_END));
	close(fd);

	/* Flags: the access mode and O_CLOEXEC, nothing else. */
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_WRONLY, 0, page, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_ACCMODE, 0, page, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR | O_NONBLOCK, 0, page, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR | 0x80000000u, 0, page, NULL));

	/* The range: page aligned, not empty, inside the buffer. */
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR, 1, page, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR, 0, page + 1, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR, self->size, page, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR, page, self->size, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR, 0, self->size + page, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR, -page, 2 * page, NULL));
	EXPECT_EQ(-EINVAL, export_range(self->fd, O_RDWR, 2 * page, -page, NULL));

	/* Output fields are zero on input. */
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.length = page;
	e.fd = 3;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_EXPORT_DMABUF, &e));
	EXPECT_EQ(EINVAL, errno);
	e.fd = 0;
	e.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_EXPORT_DMABUF, &e));
	EXPECT_EQ(EINVAL, errno);
	e.reserved = 0;
	e.inode = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_EXPORT_DMABUF, &e));
	EXPECT_EQ(EINVAL, errno);

	/* Sizes: below the first version, above a page, a larger struct. */
	e.inode = 0;
	e.size = MMAPPER_EXPORT_SIZE_VER0 - 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_EXPORT_DMABUF, &e));
	EXPECT_EQ(EINVAL, errno);
	e.size = 0xffffffff;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_EXPORT_DMABUF, &e));
	EXPECT_EQ(E2BIG, errno);
	memset(&big, 0, sizeof(big));
	big.e.size = sizeof(big);
	big.e.length = page;
	ASSERT_EQ(0, ioctl(self->fd, MMAPPER_IOC_EXPORT_DMABUF, &big));
	EXPECT_EQ(sizeof(struct mmapper_export), big.e.size);
	EXPECT_LE(0, big.e.fd);
	close(big.e.fd);
	memset(&big, 0, sizeof(big));
	big.e.size = sizeof(big);
	big.e.length = page;
	big.tail[5] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_EXPORT_DMABUF, &big));
	EXPECT_EQ(E2BIG, errno);

	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_EXPORT_DMABUF, bad_ptr));
	EXPECT_EQ(EFAULT, errno);

	/* Nothing refused left a descriptor or an export behind. */
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(0, live_exports());
	EXPECT_EQ(total + 3, exports_total());
}

/*
 * The descriptor is installed only once the result is copied out: a
 * struct that can be read but not written back gets EFAULT, and leaves no
 * descriptor (the next one open() gives is the one it had reserved), no
 * export, nothing that holds the buffer.
 */
TEST_F(export, efault_leaks_nothing)
{
	struct mmapper_export *e;
	long long total = exports_total();
	int fds = count_fds(), next, fd;

	e = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, e);
	e->size = sizeof(*e);
	e->flags = O_RDWR;
	e->length = self->page;
	ASSERT_EQ(0, mprotect(e, self->page, PROT_READ));

	next = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, next);
	close(next);

	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_EXPORT_DMABUF, e));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(0, live_exports());
	EXPECT_EQ(total, exports_total());
	fd = open("/dev/null", O_RDONLY);
	EXPECT_EQ(next, fd);
	close(fd);
	/* Nothing holds the buffer: it can change. */
	EXPECT_EQ(0, set_size(2 * self->size));
	munmap(e, self->page);
}

/* A full descriptor table fails first: EMFILE, and no export is made. */
TEST_F(export, emfile_makes_nothing)
{
	long long total = exports_total();
	int status, fds = count_fds();
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { .rlim_cur = fds + 3, .rlim_max = fds + 3 };
		int last = -1, fd, ret;

		/* Room for what is open (and opendir()'s own), none for more. */
		if (setrlimit(RLIMIT_NOFILE, &rl))
			_exit(1);
		while ((fd = open("/dev/null", O_RDONLY)) >= 0)
			last = fd;
		ret = export_range(self->fd, O_RDWR, 0, self->page, NULL);
		close(last);	/* a descriptor to read sysfs with */
		_exit(ret == -EMFILE && live_exports() == 0 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(total, exports_total());
	EXPECT_EQ(0, live_exports());
}

/*
 * A read-only device descriptor exports read-only, never writable
 * (EACCES, as mmap() answers a writable shared mapping of it); a
 * write-only one exports nothing.  A read-only DMA-BUF maps read-only,
 * by every path.
 */
TEST_F(export, read_only)
{
	int rfd = open(DEV, O_RDONLY), wfd = open(DEV, O_WRONLY), fd;
	unsigned char *map, buf[16];
	int64_t sum;
	int mem;

	ASSERT_LE(0, rfd);
	ASSERT_LE(0, wfd);
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x5a));
	sum = kernel_checksum(self->fd, 0, self->size);

	EXPECT_EQ(-EACCES, export_range(rfd, O_RDWR, 0, self->page, NULL));
	EXPECT_EQ(-EACCES, export_range(wfd, O_RDONLY, 0, self->page, NULL));
	EXPECT_EQ(-EACCES, export_range(wfd, O_RDWR, 0, self->page, NULL));
	close(wfd);
	EXPECT_EQ(0, live_exports());

	fd = export_range(rfd, O_RDONLY, 0, self->size, NULL);
	ASSERT_LE(0, fd);
	close(rfd);
	EXPECT_EQ(NULL, map_fd(fd, self->size, 0, PROT_READ | PROT_WRITE, MAP_SHARED));
	EXPECT_EQ(EACCES, errno);
	map = map_fd(fd, self->size, 0, PROT_READ, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0x5a, map[0]);
	EXPECT_EQ(0x5a, map[self->size - 1]);
	EXPECT_EQ(-1, mprotect(map, self->page, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);

	/* Not through /proc/PID/mem either. */
	mem = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, mem);
	memset(buf, 0x11, sizeof(buf));
	EXPECT_EQ(-1, pwrite(mem, buf, sizeof(buf), (off_t)(unsigned long)map));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(sizeof(buf), pread(mem, buf, sizeof(buf), (off_t)(unsigned long)map));
	EXPECT_EQ(0x5a, buf[0]);
	close(mem);
	munmap(map, self->size);

	/* MAP_PRIVATE: copy-on-write that stays private, or EINVAL. */
	map = map_fd(fd, self->size, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	if (variant->private_cow) {
		ASSERT_NE(NULL, map);
		memset(map, 0x66, self->page);
		EXPECT_EQ(0x66, map[0]);
		munmap(map, self->size);
	} else {
		EXPECT_EQ(NULL, map);
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));
	close(fd);
}

/* The DMA-BUF maps the range it was made of; offsets count from its start. */
TEST_F(export, mmap_range)
{
	size_t page = self->page, off = 4 * page, len = 8 * page;
	unsigned char *buf = malloc(self->size), *map, *part;
	int fd;

	ASSERT_NE(NULL, buf);
	fill_pattern(buf, 0, self->size, 3);
	ASSERT_EQ((ssize_t)self->size, pwrite(self->fd, buf, self->size, 0));

	fd = export_range(self->fd, O_RDWR, off, len, NULL);
	ASSERT_LE(0, fd);
	map = map_fd(fd, len, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(-1, check_pattern(map, off, len, 3));
	part = map_fd(fd, 2 * page, 2 * page, PROT_READ, MAP_SHARED);
	ASSERT_NE(NULL, part);
	EXPECT_EQ(-1, check_pattern(part, off + 2 * page, 2 * page, 3));

	/* Not past the export's end, whatever the buffer holds beyond it. */
	EXPECT_EQ(NULL, map_fd(fd, len + page, 0, PROT_READ, MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, map_fd(fd, 2 * page, len - page, PROT_READ, MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);

	/* Stores go both ways, at once. */
	fill_pattern(map, off, len, 9);
	EXPECT_EQ(fnv1a(map, len), kernel_checksum(self->fd, off, len));
	ASSERT_EQ((ssize_t)page, pread(self->fd, buf, page, off + 3 * page));
	EXPECT_EQ(-1, check_pattern(buf, off + 3 * page, page, 9));
	ASSERT_EQ(0, kernel_fill(self->fd, off + page, page, 0xa5));
	EXPECT_EQ(0xa5, map[page]);
	EXPECT_EQ(0xa5, map[2 * page - 1]);
	/* The bytes around the range are not the DMA-BUF's. */
	ASSERT_EQ((ssize_t)self->size, pread(self->fd, buf, self->size, 0));
	EXPECT_EQ(-1, check_pattern(buf, 0, off, 3));
	EXPECT_EQ(-1, check_pattern(buf + off + len, off + len, self->size - off - len, 3));

	/* DMA_BUF_IOCTL_SYNC brackets a CPU access; bad flags are refused. */
	EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	map[0] = 0x42;
	EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-EINVAL, dmabuf_sync(fd, DMA_BUF_SYNC_START));
	EXPECT_EQ(-EINVAL, dmabuf_sync(fd, 0x80 | DMA_BUF_SYNC_READ));
	munmap(part, 2 * page);
	munmap(map, len);
	close(fd);
	free(buf);
}

/* MAP_PRIVATE of the DMA-BUF: what the device does, copy-on-write or EINVAL. */
TEST_F(export, map_private)
{
	unsigned char *map, c;
	int fd;

	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x11));
	fd = export_range(self->fd, O_RDWR, 0, self->size, NULL);
	ASSERT_LE(0, fd);
	map = map_fd(fd, self->size, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	if (!variant->private_cow) {
		EXPECT_EQ(NULL, map);
		EXPECT_EQ(EINVAL, errno);
		close(fd);
		return;
	}
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0x11, map[0]);
	ASSERT_EQ(0, kernel_fill(self->fd, 2 * self->page, self->page, 0x22));
	EXPECT_EQ(0x22, map[2 * self->page]);
	memset(map, 0x33, self->size);
	ASSERT_EQ(1, pread(self->fd, &c, 1, 0));
	EXPECT_EQ(0x11, c);
	ASSERT_EQ(1, pread(self->fd, &c, 1, 2 * self->page));
	EXPECT_EQ(0x22, c);
	munmap(map, self->size);
	close(fd);
}

/*
 * A DMA-BUF mapping under fork(), ptrace and /proc/PID/mem: as a mapping
 * of the device.  The child's inherited mapping keeps the export alive
 * after the parent dropped everything.
 */
TEST_F(export, fork_ptrace_proc_mem)
{
	unsigned char *map, buf[64];
	int to_child[2], to_parent[2], status, fd, mem;
	unsigned long long v = 0;
	long word;
	pid_t pid;
	char c;

	fd = export_range(self->fd, O_RDWR, 0, self->size, NULL);
	ASSERT_LE(0, fd);
	map = map_fd(fd, self->size, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x5c));

	/* /proc/self/mem reads and writes it. */
	mem = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, mem);
	ASSERT_EQ(sizeof(buf), pread(mem, buf, sizeof(buf), (off_t)(unsigned long)(map + self->page - 8)));
	EXPECT_EQ(0x5c, buf[0]);
	memset(buf, 0x24, sizeof(buf));
	ASSERT_EQ(sizeof(buf), pwrite(mem, buf, sizeof(buf), (off_t)(unsigned long)(map + 2 * self->page)));
	close(mem);
	ASSERT_EQ(1, pread(self->fd, &c, 1, 2 * self->page + 63));
	EXPECT_EQ(0x24, c);

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(self->fd);
		close(fd);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(1);
		raise(SIGSTOP);
		/* The parent has unmapped and closed all; the mapping lives. */
		if (read(to_child[0], &c, 1) != 1)
			_exit(2);
		memset(map, 0x3c, self->page);
		if (write(to_parent[1], "x", 1) != 1)
			_exit(3);
		if (read(to_child[0], &c, 1) != 1)
			_exit(4);
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
	ASSERT_EQ(8, pread(self->fd, &v, 8, 5 * self->page));
	EXPECT_EQ(0x1122334455667788ULL, v);
	EXPECT_EQ(0, ptrace(PTRACE_DETACH, pid, NULL, NULL));

	munmap(map, self->size);
	close(fd);
	EXPECT_EQ(1, live_exports());
	EXPECT_EQ(-EBUSY, set_size(2 * self->size));
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	ASSERT_EQ(1, pread(self->fd, &c, 1, self->page - 1));
	EXPECT_EQ(0x3c, (unsigned char)c);
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, live_exports());
	EXPECT_EQ(0, set_size(2 * self->size));
}

/*
 * An export holds the buffer: closing every descriptor of the device
 * frees nothing; size and backend changes, by sysfs or ioctl, for the
 * device or the class, are refused with EBUSY, and rmmod too, until the
 * last holder (descriptor, mapping) of the DMA-BUF is gone.
 */
TEST_F(export, holds_the_buffer)
{
	const char *other = strcmp(variant->backend, "vmalloc") ? "vmalloc" : "pages";
	struct mmapper_set_size s = { .size = sizeof(s), .buf_size = 2 * self->size };
	unsigned char *map, c;
	int fd;

	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x77));
	fd = export_range(self->fd, O_RDWR, self->page, self->page, NULL);
	ASSERT_LE(0, fd);
	close(self->fd);
	self->fd = -1;

	EXPECT_EQ(-EBUSY, set_size(2 * self->size));
	EXPECT_EQ(-EBUSY, file_write(SYSDIR "/backend", other));
	EXPECT_EQ(-EBUSY, file_write(CLASS_BACKEND, other));
	EXPECT_EQ(-1, syscall(__NR_delete_module, "mmapper", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	/* Asking for what is in force is not a change. */
	EXPECT_EQ(0, set_size(self->size));

	map = map_fd(fd, self->page, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0x77, map[0]);
	map[1] = 0x88;
	EXPECT_EQ(1, file_read_ll(STATSDIR "active_mappings"));
	close(fd);
	/* The mapping alone holds it. */
	EXPECT_EQ(1, live_exports());
	self->fd = open(DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_SIZE, &s));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(1, pread(self->fd, &c, 1, self->page + 1));
	EXPECT_EQ(0x88, c);
	munmap(map, self->page);

	EXPECT_EQ(0, live_exports());
	EXPECT_EQ(0, set_size(2 * self->size));
	ASSERT_EQ(1, pread(self->fd, &c, 1, self->page + 1));
	EXPECT_EQ(0x88, c);
}

/* sysfs stats/exports and exports_total; debugfs exports and its mappings. */
TEST_F(export, sysfs_and_debugfs)
{
	struct export_row rows[8], *r;
	struct mmapper_export e1, e2;
	long long total = exports_total();
	unsigned char *map;
	int fd1, fd2, n;

	fd1 = export_range(self->fd, O_RDWR, 0, 4 * self->page, &e1);
	ASSERT_LE(0, fd1);
	fd2 = export_range(self->fd, O_RDONLY, 8 * self->page, 2 * self->page, &e2);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(2, live_exports());
	EXPECT_EQ(total + 2, exports_total());

	n = debugfs_exports(rows, 8);
	ASSERT_EQ(2, n);
	r = find_export(rows, n, e1.inode);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, r->offset);
	EXPECT_EQ(4 * self->page, r->length);
	EXPECT_STREQ("rw", r->access);
	EXPECT_EQ(0, r->nr_importers);
	EXPECT_STREQ("none", r->vmap);
	r = find_export(rows, n, e2.inode);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(8 * self->page, r->offset);
	EXPECT_EQ(2 * self->page, r->length);
	EXPECT_STREQ("ro", r->access);

	/* CPU access brackets are counted. */
	EXPECT_EQ(0, dmabuf_sync(fd1, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, dmabuf_sync(fd1, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, dmabuf_sync(fd1, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	ASSERT_EQ(2, debugfs_exports(rows, 8));
	r = find_export(rows, 2, e1.inode);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(2, r->begin);
	EXPECT_EQ(1, r->end);

	/* Its mapping is listed, with the export's id. */
	map = map_fd(fd1, 2 * self->page, self->page, PROT_READ, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(1, debugfs_export_mappings(r->id, (unsigned long)map));
	EXPECT_EQ(1, file_read_ll(STATSDIR "active_mappings"));
	munmap(map, 2 * self->page);
	EXPECT_EQ(0, debugfs_export_mappings(r->id, 0));

	close(fd1);
	EXPECT_EQ(1, live_exports());
	ASSERT_EQ(1, debugfs_exports(rows, 8));
	EXPECT_EQ(e2.inode, rows[0].ino);
	close(fd2);
	EXPECT_EQ(0, live_exports());
	EXPECT_EQ(0, debugfs_exports(rows, 8));
	EXPECT_EQ(total + 2, exports_total());
}

/*
 * An export pins its device: hot_remove is refused (EBUSY) while it lives,
 * even with every descriptor of the device closed, and goes through once
 * the DMA-BUF is gone.  On a device of its own (hot_add).
 */
TEST(hot_remove_while_exported)
{
	char path[64], num[16];
	int n, fd, x;

	if (access("/sys/class/mmapper/hot_add", F_OK))
		SKIP(return, "no hot_add");
	n = file_read_ll("/sys/class/mmapper/hot_add");
	ASSERT_LE(0, n);
	snprintf(path, sizeof(path), "/dev/mmapper%d", n);
	snprintf(num, sizeof(num), "%d", n);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	if (!have_export(fd)) {
		close(fd);
		EXPECT_EQ(0, file_write("/sys/class/mmapper/hot_remove", num));
		SKIP(return, "a kernel without DMA-BUF: no export (EOPNOTSUPP)");
	}
	x = export_range(fd, O_RDWR, 0, 4096, NULL);
	ASSERT_LE(0, x);
	close(fd);
	EXPECT_EQ(-EBUSY, file_write("/sys/class/mmapper/hot_remove", num));
	EXPECT_EQ(0, access(path, F_OK));
	close(x);
	EXPECT_EQ(0, file_write("/sys/class/mmapper/hot_remove", num));
	EXPECT_NE(0, access(path, F_OK));
}

/*
 * pages (2 MiB folios on 6.15+): a DMA-BUF mapping filled at mmap() (here
 * placed 4 KiB off a 2 MiB boundary, so VM_MIXEDMAP) and then moved onto
 * one never gets a 2 MiB entry, even after a zap freed the page table of
 * an aligned 2 MiB of it: given the page of a fault there, the kernel
 * would map the whole folio (a DMA-BUF's inode has a size), and the split
 * of a mixed map's 2 MiB entry leaks it.  The bytes stay the buffer's.
 */
TEST(pages_export_mixed_map_stays_4k)
{
	const size_t len = 4 << 20, two = 2 << 20;
	unsigned char *res, *at, *map;
	size_t i;
	int fd, x;

	ASSERT_EQ(0, file_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, file_write(SYSDIR "/backend", "pages"));
	file_write("/proc/sys/vm/compact_memory", "1");
	ASSERT_EQ(0, set_size(2 * len));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	if (!have_export(fd)) {
		close(fd);
		SKIP(return, "a kernel without DMA-BUF: no export (EOPNOTSUPP)");
	}
	ASSERT_EQ(0, kernel_fill(fd, 0, 2 * len, 0x3c));
	x = export_range(fd, O_RDWR, 0, 2 * len, NULL);
	ASSERT_LE(0, x);

	/* Room for the mapping and, past it, for where it moves. */
	res = reserve_2m(2 * len + 3 * two, &at);
	ASSERT_NE(MAP_FAILED, res);
	map = mmap(at + 4096, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, x, 0);
	ASSERT_EQ(at + 4096, map);
	EXPECT_EQ(1, vm_flag_set(map, "mm"));	/* VM_MIXEDMAP */
	at += len + two;
	ASSERT_EQ(at, mremap(map, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, at));
	ASSERT_EQ(0, madvise(at, two, MADV_DONTNEED));
	for (i = 0; i < len; i++)
		if (at[i] != 0x3c)
			break;
	EXPECT_EQ(len, i);
	EXPECT_EQ(0, smaps_field(at, "FilePmdMapped:"));
	/* Split what would be one: nothing may stay behind. */
	ASSERT_EQ(0, munmap(at + 4096, 4096));
	EXPECT_EQ(0x3c, at[0]);
	EXPECT_EQ(0x3c, at[2 * 4096]);
	EXPECT_EQ(0, pmd_mapped_kb(at, at + len));

	munmap(res, 2 * len + 3 * two);
	close(x);
	close(fd);
	ASSERT_EQ(0, file_write(SYSDIR "/size", "64K"));
	ASSERT_EQ(0, file_write(SYSDIR "/backend", "vmalloc"));
}

/* Each returns 0 when the unprivileged user gets what it must. */
static int nobody_read_only(void)
{
	int fd = open(DEV, O_RDONLY), x;
	void *map;

	if (fd < 0)
		return 1;
	if (export_range(fd, O_RDWR, 0, 4096, NULL) != -EACCES)
		return 2;
	x = export_range(fd, O_RDONLY, 0, 4096, NULL);
	if (x < 0)
		return 3;
	if (map_fd(x, 4096, 0, PROT_READ | PROT_WRITE, MAP_SHARED) || errno != EACCES)
		return 4;
	map = map_fd(x, 4096, 0, PROT_READ, MAP_SHARED);
	if (!map || ((unsigned char *)map)[0] != 0x3e)
		return 5;
	/* Its counts are public, its debugfs is root's. */
	if (live_exports() != 1 || open(DBGDIR "exports", O_RDONLY) != -1 || errno != EACCES)
		return 6;
	return 0;
}

static int nobody_read_write(void)
{
	int fd = open(DEV, O_RDWR), x;
	unsigned char *map;

	if (fd < 0)
		return 1;
	x = export_range(fd, O_RDWR, 0, 4096, NULL);
	if (x < 0)
		return 2;
	close(fd);
	map = map_fd(x, 4096, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (!map)
		return 3;
	map[0] = 0x4f;
	/* Holding an export gives no power over the module. */
	if (syscall(__NR_delete_module, "mmapper", O_NONBLOCK) != -1 || errno != EPERM)
		return 4;
	/* The export keeps root from resizing until this process exits. */
	if (set_size(8192) != -EACCES)
		return 5;
	pause();
	return 0;
}

/*
 * The unprivileged user's rules: the device node's mode says which
 * access it may export (never more than its descriptor has); exporting
 * needs no privilege beyond that, and gives none.
 */
TEST(unprivileged_export)
{
	struct stat st;
	pid_t pid;
	int fd, status, i;

	if (getuid())
		SKIP(return, "must run as root to drop to an unprivileged user");
	ASSERT_EQ(0, live_exports());
	ASSERT_EQ(0, file_write(SYSDIR "/backend", "vmalloc"));
	ASSERT_EQ(0, set_size(4 * 4096));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	if (!have_export(fd))
		SKIP(return, "a kernel without DMA-BUF: no export (EOPNOTSUPP)");
	ASSERT_EQ(0, kernel_fill(fd, 0, 4 * 4096, 0x3e));
	ASSERT_EQ(0, stat(DEV, &st));

	ASSERT_EQ(0, chmod(DEV, 0604));
	EXPECT_EQ(0, as_nobody(nobody_read_only));
	EXPECT_EQ(0, live_exports());

	ASSERT_EQ(0, chmod(DEV, 0606));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(100);
		_exit(nobody_read_write());
	}
	for (i = 0; i < 500 && live_exports() != 1; i++)
		usleep(10000);
	EXPECT_EQ(1, live_exports());
	for (i = 0; i < 500; i++) {
		unsigned char c = 0;

		if (pread(fd, &c, 1, 0) == 1 && c == 0x4f)
			break;
		usleep(10000);
	}
	EXPECT_EQ(-EBUSY, set_size(8 * 4096));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("nobody's check %d failed",
						 WEXITSTATUS(status));
	EXPECT_EQ(0, live_exports());
	EXPECT_EQ(0, set_size(8 * 4096));

	ASSERT_EQ(0, chmod(DEV, st.st_mode & 07777));
	close(fd);
}

/* DRM vgem, as the kernel's dmabuf-heaps selftest drives it */

/* A descriptor of the vgem DRM device, or -1. */
static int open_vgem(void)
{
	char path[64], name[16];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v = { .name = name, .name_len = sizeof(name) - 1 };

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

static int prime_import(int drm, int fd, uint32_t *handle)
{
	struct drm_prime_handle p = { .fd = fd };

	if (ioctl(drm, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p))
		return -errno;
	*handle = p.handle;
	return 0;
}

static int gem_close(int drm, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	return ioctl(drm, DRM_IOCTL_GEM_CLOSE, &c) ? -errno : 0;
}

/* Is @fd ready for @events right now? */
static bool poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 && (p.revents & events);
}

/*
 * vgem imports the export (DRM_IOCTL_PRIME_FD_TO_HANDLE: an attachment of
 * vgem's device, and on kernels that map at import, an sg_table whose
 * pages are the device's own, in order, holding what the device's mapping
 * wrote); a fence vgem attaches to the imported object holds back the
 * DMA-BUF's readers (poll) until vgem signals it; the handle gives back
 * the same DMA-BUF; the handle alone keeps the export alive; closing it
 * detaches, and leaves nothing.
 */
TEST_F(export, vgem_import)
{
	size_t off = 2 * self->page, len = 8 * self->page;
	struct drm_vgem_fence_attach attach = {};
	struct drm_vgem_fence_signal signal = {};
	struct drm_prime_handle back = {};
	unsigned long pfns[NPAGES];
	struct export_row rows[4], *r;
	struct mmapper_export e;
	unsigned char *map;
	uint32_t handle = 0;
	struct stat st;
	int drm, fd, ret;
	bool mapped;

	drm = open_vgem();
	if (drm < 0)
		SKIP(return, "no vgem DRM device (modprobe vgem)");

	map = map_fd(self->fd, self->size, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(NULL, map);
	fill_pattern(map, 0, self->size, 5);
	munmap(map, self->size);
	ASSERT_EQ(NPAGES, debugfs_pfns(pfns, NPAGES));

	fd = export_range(self->fd, O_RDWR, off, len, &e);
	ASSERT_LE(0, fd);
	ret = prime_import(drm, fd, &handle);
	ASSERT_EQ(0, ret) TH_LOG("PRIME_FD_TO_HANDLE: %s", strerror(-ret));

	ASSERT_EQ(1, debugfs_exports(rows, 4));
	r = &rows[0];
	ASSERT_EQ(1, r->nr_importers);
	EXPECT_EQ(0, strncmp(r->importers[0], "vgem:", 5)) TH_LOG("%s", r->importers[0]);
	mapped = !strstr(r->importers[0], "attached");
	TH_LOG("vgem's attachment: %s", r->importers[0]);
	/*
	 * 6.12 and older map what vgem imports at once; 7.2 only attaches
	 * (drm_gem_shmem_prime_import_no_map()).
	 */
	if (kernel_older_than(6, 13))
		EXPECT_TRUE(mapped);
	if (mapped) {
		EXPECT_NE(NULL, strstr(r->importers[0], "bidirectional"));
		EXPECT_EQ(1, importer_maps_pages(r->importers[0], pfns, off / self->page,
						 len / self->page));
	}
	/* The table's pages hold what the device's mapping wrote. */
	EXPECT_EQ(pattern_hash(off, len, 5), kernel_checksum(self->fd, off, len));

	/* A write fence of vgem's holds back the DMA-BUF's readers. */
	EXPECT_TRUE(poll_now(fd, POLLIN));
	attach.handle = handle;
	attach.flags = VGEM_FENCE_WRITE;
	ASSERT_EQ(0, ioctl(drm, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach));
	EXPECT_FALSE(poll_now(fd, POLLIN));
	signal.fence = attach.out_fence;
	ASSERT_EQ(0, ioctl(drm, DRM_IOCTL_VGEM_FENCE_SIGNAL, &signal));
	EXPECT_TRUE(poll_now(fd, POLLIN));
	/* DMA_BUF_IOCTL_SYNC waits for fences: none left. */
	EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));

	/* The handle gives back the same DMA-BUF. */
	back.handle = handle;
	back.flags = DRM_CLOEXEC | DRM_RDWR;
	ASSERT_EQ(0, ioctl(drm, DRM_IOCTL_PRIME_HANDLE_TO_FD, &back));
	ASSERT_EQ(0, fstat(back.fd, &st));
	EXPECT_EQ(e.inode, st.st_ino);
	close(back.fd);

	/* The handle alone holds the export. */
	close(fd);
	EXPECT_EQ(1, live_exports());
	EXPECT_EQ(-EBUSY, set_size(2 * self->size));
	EXPECT_EQ(0, gem_close(drm, handle));
	EXPECT_EQ(0, live_exports());
	EXPECT_EQ(0, debugfs_exports(rows, 4));
	close(drm);
}

/*
 * A read-only export: vgem maps what it imports for reading and writing
 * (DMA_BIDIRECTIONAL), which a read-only export refuses (EACCES) on the
 * kernels that map at import; later ones only attach.
 */
TEST_F(export, vgem_read_only)
{
	struct export_row rows[4];
	uint32_t handle = 0;
	int drm, fd, ret;

	drm = open_vgem();
	if (drm < 0)
		SKIP(return, "no vgem DRM device (modprobe vgem)");
	fd = export_range(self->fd, O_RDONLY, 0, self->size, NULL);
	ASSERT_LE(0, fd);
	ret = prime_import(drm, fd, &handle);
	if (kernel_older_than(6, 13)) {
		EXPECT_EQ(-EACCES, ret);
	} else if (!ret) {
		ASSERT_EQ(1, debugfs_exports(rows, 4));
		ASSERT_EQ(1, rows[0].nr_importers);
		EXPECT_NE(NULL, strstr(rows[0].importers[0], "attached"));
		EXPECT_EQ(0, gem_close(drm, handle));
	}
	close(fd);
	EXPECT_EQ(0, live_exports());
	close(drm);
}

#define CGROOT		"/sys/fs/cgroup"
#define CGTEST		CGROOT "/mmapper-dmabuf-test"

/* cgroup v2 with the memory controller for children: NULL, or why not. */
static const char *cgroup_memory_ready(void)
{
	char buf[256] = "";
	int fd;

	if (access(CGROOT "/cgroup.controllers", F_OK) &&
	    mount("none", CGROOT, "cgroup2", 0, NULL))
		return "no cgroup v2 (CONFIG_CGROUPS, CONFIG_MEMCG)";
	fd = open(CGROOT "/cgroup.controllers", O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0 || !strstr(buf, "memory")) {
		if (fd >= 0)
			close(fd);
		return "no memory controller (CONFIG_MEMCG)";
	}
	close(fd);
	if (file_write(CGROOT "/cgroup.subtree_control", "+memory"))
		return "cannot enable the memory controller";
	rmdir(CGTEST);
	if (mkdir(CGTEST, 0755))
		return "cannot make a cgroup";
	return NULL;
}

/*
 * A buffer sized by a task in a memory cgroup is charged to it.  On 5.10
 * its pages are then PageKmemcg, a type kept in the mapcount that 5.10's
 * vgem would corrupt by mapping them by struct page: the export refuses
 * to hand them to an importer (EOPNOTSUPP, logged).  On later kernels the
 * import goes as for any buffer.
 */
TEST(vgem_charged_pages)
{
	const char *why;
	uint32_t handle = 0;
	int drm, fd, x, status, ret;
	pid_t pid;

	drm = open_vgem();
	if (drm < 0)
		SKIP(return, "no vgem DRM device (modprobe vgem)");
	why = cgroup_memory_ready();
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, file_write(SYSDIR "/backend", "vmalloc"));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	if (!have_export(fd))
		SKIP(return, "a kernel without DMA-BUF: no export (EOPNOTSUPP)");
	/* A size of its own, for the child's to be a new buffer. */
	ASSERT_EQ(0, set_size(16 * 4096));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(file_write(CGTEST "/cgroup.procs", "0") || set_size(20 * 4096) ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));

	x = export_range(fd, O_RDWR, 0, 16 * 4096, NULL);
	ASSERT_LE(0, x);
	ret = prime_import(drm, x, &handle);
	if (kernel_older_than(5, 11)) {
		EXPECT_EQ(-EOPNOTSUPP, ret);
	} else {
		EXPECT_EQ(0, ret);
		EXPECT_EQ(0, gem_close(drm, handle));
	}
	close(x);
	EXPECT_EQ(0, live_exports());
	/* Back in the root: the next size is charged to nobody. */
	EXPECT_EQ(0, set_size(16 * 4096));
	close(fd);
	close(drm);
	EXPECT_EQ(0, rmdir(CGTEST));
}

/* V4L2 vivid: capture straight into exported ranges */

/* /dev/videoN of vivid instance @inst's video capture node, opened, or -1. */
static int open_vivid(int inst)
{
	char path[96], name[64], want[32];
	int i, fd, n;

	snprintf(want, sizeof(want), "vivid-%03d-vid-cap", inst);
	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/sys/class/video4linux/video%d/name", i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n <= 0)
			continue;
		name[n] = '\0';
		if (strncmp(name, want, strlen(want)))
			continue;
		snprintf(path, sizeof(path), "/dev/video%d", i);
		return open(path, O_RDWR);
	}
	return -1;
}

/* Set the menu control named @ctrl to its item named @item: 0 or -errno. */
static int set_menu_ctrl(int vfd, const char *ctrl, const char *item)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (!ioctl(vfd, VIDIOC_QUERYCTRL, &q)) {
		if (!strcmp((char *)q.name, ctrl)) {
			struct v4l2_querymenu m = { .id = q.id };
			struct v4l2_control c = { .id = q.id };

			for (m.index = q.minimum; m.index <= (unsigned int)q.maximum; m.index++) {
				if (ioctl(vfd, VIDIOC_QUERYMENU, &m) || strcmp((char *)m.name, item))
					continue;
				c.value = m.index;
				return ioctl(vfd, VIDIOC_S_CTRL, &c) ? -errno : 0;
			}
			return -ENOENT;
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return -ENOENT;
}

#define VIVID_W		320
#define VIVID_H		180
#define VIVID_BUFS	2

/* Input 0 (a webcam), 320x180 RGB24, 100% colour bars, no text, no motion. */
static int vivid_setup(int vfd, struct v4l2_format *fmt)
{
	int input = 0, ret;

	if (ioctl(vfd, VIDIOC_S_INPUT, &input))
		return -errno;
	memset(fmt, 0, sizeof(*fmt));
	fmt->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	fmt->fmt.pix.width = VIVID_W;
	fmt->fmt.pix.height = VIVID_H;
	fmt->fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
	fmt->fmt.pix.field = V4L2_FIELD_NONE;
	if (ioctl(vfd, VIDIOC_S_FMT, fmt))
		return -errno;
	if (fmt->fmt.pix.width != VIVID_W || fmt->fmt.pix.height != VIVID_H ||
	    fmt->fmt.pix.pixelformat != V4L2_PIX_FMT_RGB24)
		return -EINVAL;
	ret = set_menu_ctrl(vfd, "Test Pattern", "100% Colorbar");
	if (!ret)
		ret = set_menu_ctrl(vfd, "OSD Text Mode", "None");
	return ret;
}

/* Dequeue one buffer within 10 s: its index, or -errno. */
static int vivid_dqbuf(int vfd, unsigned int memory, struct v4l2_buffer *b)
{
	struct pollfd p = { .fd = vfd, .events = POLLIN };

	if (poll(&p, 1, 10000) != 1)
		return -ETIMEDOUT;
	memset(b, 0, sizeof(*b));
	b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	b->memory = memory;
	if (ioctl(vfd, VIDIOC_DQBUF, b))
		return -errno;
	return b->index;
}

/*
 * 100% colour bars in RGB24: eight bars, white to black.  0 if the frame
 * is that (every pixel of every bar, but a pixel either side of a bar's
 * edge, which the pattern's scaler may blend), else the first bad offset + 1.
 */
static long check_bars(const unsigned char *f, unsigned int width,
		       unsigned int height, unsigned int stride)
{
	static const unsigned char bars[8][3] = {
		{ 255, 255, 255 }, { 255, 255, 0 }, { 0, 255, 255 }, { 0, 255, 0 },
		{ 255, 0, 255 }, { 255, 0, 0 }, { 0, 0, 255 }, { 0, 0, 0 },
	};
	unsigned int x, y, bw = width / 8;

	for (y = 0; y < height; y++) {
		for (x = 0; x < width; x++) {
			const unsigned char *px = f + y * stride + 3 * x;
			unsigned int bar = x / bw;

			if (x % bw == 0 || x % bw == bw - 1)
				continue;
			if (memcmp(px, bars[bar], 3))
				return y * stride + 3 * x + 1;
		}
	}
	return 0;
}

/*
 * The same frame, captured into vivid's own buffers (V4L2_MEMORY_MMAP):
 * what the DMA-BUF capture must equal, byte for byte.  Two buffers, as
 * for the DMA-BUF capture: vivid streams only once two are queued.
 */
static int vivid_reference(int vfd, unsigned char *ref, size_t size)
{
	struct v4l2_requestbuffers rb = {
		.count = VIVID_BUFS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_MMAP,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, ret = 0, i;
	void *p[VIVID_BUFS] = {};
	size_t len[VIVID_BUFS] = {};
	struct v4l2_buffer b;

	if (ioctl(vfd, VIDIOC_REQBUFS, &rb))
		return -errno;
	for (i = 0; !ret && i < VIVID_BUFS; i++) {
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = V4L2_MEMORY_MMAP;
		b.index = i;
		if (ioctl(vfd, VIDIOC_QUERYBUF, &b)) {
			ret = -errno;
			break;
		}
		len[i] = b.length;
		p[i] = mmap(NULL, b.length, PROT_READ, MAP_SHARED, vfd, b.m.offset);
		if (p[i] == MAP_FAILED) {
			p[i] = NULL;
			ret = -errno;
		} else if (ioctl(vfd, VIDIOC_QBUF, &b)) {
			ret = -errno;
		}
	}
	if (!ret && ioctl(vfd, VIDIOC_STREAMON, &type))
		ret = -errno;
	/* The second frame: the first may come before the controls apply. */
	for (i = 0; !ret && i < 2; i++) {
		ret = vivid_dqbuf(vfd, V4L2_MEMORY_MMAP, &b);
		if (ret >= 0 && i == 1)
			memcpy(ref, p[b.index], size);
		if (ret >= 0)
			ret = i ? 0 : (ioctl(vfd, VIDIOC_QBUF, &b) ? -errno : 0);
	}
	ioctl(vfd, VIDIOC_STREAMOFF, &type);
	for (i = 0; i < VIVID_BUFS; i++)
		if (p[i])
			munmap(p[i], len[i]);
	rb.count = 0;
	ioctl(vfd, VIDIOC_REQBUFS, &rb);
	return ret;
}

/*
 * vivid instance @inst captures @frames frames into VIVID_BUFS exports of
 * /dev/mmapper0 (access @flags), one range each, and each frame is read
 * through the test's own mapping of the device: it must be vivid's
 * colour bars, byte for byte the frame vivid captures into its own
 * buffers.  For a read-only export, the frames must not reach the buffer.
 * With @may_refuse, vivid may refuse a range (EFAULT at VIDIOC_QBUF: a
 * dma-contig importer, a range that is not physically contiguous).
 */
static void vivid_capture(struct __test_metadata *_metadata, int devfd, size_t page,
			  int inst, unsigned int flags, int frames,
			  const char *importer, bool may_refuse)
{
	struct v4l2_requestbuffers rb = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
		.count = VIVID_BUFS,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, vfd, i, ret;
	int fds[VIVID_BUFS];
	unsigned char *map, *ref;
	struct export_row rows[VIVID_BUFS + 1];
	struct v4l2_format fmt;
	size_t frame, slot, size;
	struct v4l2_buffer b;

	vfd = open_vivid(inst);
	if (vfd < 0)
		SKIP(return, "no vivid instance %d (see test_dmabuf.sh)", inst);
	ret = vivid_setup(vfd, &fmt);
	ASSERT_EQ(0, ret) TH_LOG("vivid setup: %s", strerror(-ret));
	frame = fmt.fmt.pix.sizeimage;
	ASSERT_LE((size_t)VIVID_W * 3 * VIVID_H, frame);
	slot = (frame + page - 1) / page * page;
	size = VIVID_BUFS * slot + page;	/* and a page that stays untouched */
	ASSERT_EQ(0, set_size(size));
	ASSERT_EQ(0, kernel_fill(devfd, 0, size, 0));

	ref = malloc(frame);
	ASSERT_NE(NULL, ref);
	ret = vivid_reference(vfd, ref, frame);
	ASSERT_EQ(0, ret) TH_LOG("capture into vivid's buffers: %s", strerror(-ret));
	EXPECT_EQ(0, check_bars(ref, VIVID_W, VIVID_H, fmt.fmt.pix.bytesperline));

	ASSERT_EQ(0, ioctl(vfd, VIDIOC_REQBUFS, &rb));
	ASSERT_LE(VIVID_BUFS, rb.count);
	for (i = 0; i < VIVID_BUFS; i++) {
		fds[i] = export_range(devfd, flags, i * slot, slot, NULL);
		ASSERT_LE(0, fds[i]);
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = V4L2_MEMORY_DMABUF;
		b.index = i;
		b.m.fd = fds[i];
		b.length = slot;
		ret = ioctl(vfd, VIDIOC_QBUF, &b);
		if (ret && may_refuse && errno == EFAULT) {
			TH_LOG("vivid refused export %d: not contiguous, as it may", i);
			rb.count = 0;
			EXPECT_EQ(0, ioctl(vfd, VIDIOC_REQBUFS, &rb));
			while (i >= 0)
				close(fds[i--]);
			close(vfd);
			free(ref);
			EXPECT_EQ(0, live_exports());
			return;
		}
		ASSERT_EQ(0, ret) TH_LOG("QBUF of export %d: %s", i, strerror(errno));
	}
	ASSERT_EQ(0, ioctl(vfd, VIDIOC_STREAMON, &type));

	map = mmap(NULL, size, PROT_READ, MAP_SHARED, devfd, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < frames; i++) {
		ret = vivid_dqbuf(vfd, V4L2_MEMORY_DMABUF, &b);
		ASSERT_LE(0, ret) TH_LOG("DQBUF: %s", strerror(-ret));
		EXPECT_EQ(frame, b.bytesused);
		if (flags == O_RDWR) {
			EXPECT_EQ(0, memcmp(ref, map + b.index * slot, frame))
				TH_LOG("frame %d (buffer %u) differs from vivid's own", i, b.index);
			EXPECT_EQ(0, check_bars(map + b.index * slot, VIVID_W, VIVID_H,
						fmt.fmt.pix.bytesperline));
		} else {
			EXPECT_EQ(pattern_hash(0, size, -1), kernel_checksum(devfd, 0, size))
				TH_LOG("a read-only export was written");
		}
		if (i == 0) {
			/* vivid's attachment (dma-contig) or kernel mapping (vmalloc). */
			ASSERT_EQ(VIVID_BUFS, debugfs_exports(rows, VIVID_BUFS + 1));
			if (importer) {
				EXPECT_EQ(1, rows[0].nr_importers);
				EXPECT_EQ(0, strncmp(rows[0].importers[0], importer, strlen(importer)))
					TH_LOG("importer: %s", rows[0].importers[0]);
				EXPECT_NE(NULL, strstr(rows[0].importers[0], "from-device"));
			} else {
				EXPECT_STRNE("none", rows[b.index].vmap);
			}
		}
		ASSERT_EQ(0, ioctl(vfd, VIDIOC_QBUF, &b));
	}
	/* The page past the ranges: never written. */
	EXPECT_EQ(pattern_hash(0, page, -1), kernel_checksum(devfd, VIVID_BUFS * slot, page));

	EXPECT_EQ(0, ioctl(vfd, VIDIOC_STREAMOFF, &type));
	munmap(map, size);
	for (i = 0; i < VIVID_BUFS; i++)
		close(fds[i]);
	/* vivid holds its buffers' DMA-BUFs until they are freed. */
	EXPECT_EQ(VIVID_BUFS, live_exports());
	EXPECT_EQ(-EBUSY, set_size(2 * size));
	rb.count = 0;
	EXPECT_EQ(0, ioctl(vfd, VIDIOC_REQBUFS, &rb));
	close(vfd);
	EXPECT_EQ(0, live_exports());
	free(ref);
}

/* vivid's first instance (vmalloc allocator): vmap of the exports. */
TEST_F_TIMEOUT(export, vivid_vmalloc, 120)
{
	vivid_capture(_metadata, self->fd, self->page, 0, O_RDWR, 6, NULL, false);
}

/* The same into read-only exports: vivid writes a private copy only. */
TEST_F_TIMEOUT(export, vivid_read_only, 120)
{
	vivid_capture(_metadata, self->fd, self->page, 0, O_RDONLY, 3, NULL, false);
}

/*
 * vivid's second instance (dma-contig): an sg_table mapped for vivid's
 * device (DMA_FROM_DEVICE; the platform device vivid.0 of every
 * instance), which must be one contiguous range of DMA addresses: the
 * physically contiguous backends give one; the others may, by chance of
 * their pages, or vivid refuses the range (never a wrong frame).
 */
TEST_F_TIMEOUT(export, vivid_dma_contig, 120)
{
	vivid_capture(_metadata, self->fd, self->page, 1, O_RDWR, 6, "vivid.",
		      !variant->contiguous);
}

/* Cache modes (x86 PAT): the export's mappings have the buffer's type. */

#define PAT_LIST	"/sys/kernel/debug/x86/pat_memtype_list"

/* How many of the first @n pages of mmapper0 are mapped in user space with @type. */
static int user_pages_typed(int n, const char *type)
{
	char *buf = file_slurp(DBGDIR "pages"), *line, *save;
	int found = 0, i = 0;

	if (!buf)
		return -1;
	line = strtok_r(buf, "\n", &save);	/* header */
	while (i < n && (line = strtok_r(NULL, "\n", &save))) {
		char ktype[32], utype[32];
		unsigned long idx, pfn;
		unsigned int mapped;
		int ref, mapcount;

		if (sscanf(line, "%lu %lx %d %d %u %31s %31s", &idx, &pfn, &ref,
			   &mapcount, &mapped, ktype, utype) == 7 && mapped &&
		    !strcmp(utype, type))
			found++;
		i++;
	}
	free(buf);
	return found;
}

/*
 * PAT's complaints in the kernel log, those it logs when it meets a page
 * with two types: how many (-1: no log), and in *@first the first kind.
 */
static int pat_log(const char **first)
{
	static const char *const complaints[] = {
		"map pfn RAM range req", "map pfn expected mapping type",
		"reserve_ram_pages_type failed", "freeing invalid memtype",
		"conflicting memory types",
	};
	int n = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), found = 0;
	unsigned int i;
	char *log, *p;

	*first = NULL;
	if (n <= 0 || !(log = calloc(1, n + 1)))
		return -1;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, n);
	for (i = 0; n > 0 && i < sizeof(complaints) / sizeof(complaints[0]); i++)
		for (p = log; (p = strstr(p, complaints[i])); p++)
			if (!found++)
				*first = complaints[i];
	free(log);
	return found;
}

/* Does the kernel log say PAT met a page with two types? */
static const char *pat_complaint(void)
{
	const char *first;

	pat_log(&first);
	return first;
}

/*
 * A kmalloc buffer of 8 KiB or less is a slab object, its page shared
 * with other kernel objects: no export of it (EINVAL, logged, nothing
 * left behind); one page more and it has pages of its own.
 */
TEST(kmalloc_slab_refused)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd, x, nfds;

	ASSERT_EQ(0, file_write(SYSDIR "/cache", "cached"));
	ASSERT_EQ(0, set_size(64 << 10));
	ASSERT_EQ(0, file_write(SYSDIR "/backend", "kmalloc"));
	ASSERT_EQ(0, set_size(2 * page));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	if (!have_export(fd)) {
		close(fd);
		SKIP(return, "a kernel without DMA-BUF: no export (EOPNOTSUPP)");
	}
	nfds = count_fds();
	EXPECT_EQ(-EINVAL, export_range(fd, O_RDWR, 0, page, NULL));
	EXPECT_EQ(-EINVAL, export_range(fd, O_RDONLY, 0, 2 * page, NULL));
	EXPECT_TRUE(log_contains("export refused: a kmalloc buffer of 8192 bytes is a slab object"));
	EXPECT_EQ(nfds, count_fds());
	EXPECT_EQ(0, live_exports());

	ASSERT_EQ(0, set_size(3 * page));
	x = export_range(fd, O_RDWR, 0, 3 * page, NULL);
	EXPECT_LE(0, x);
	if (x >= 0)
		close(x);
	close(fd);
	ASSERT_EQ(0, set_size(64 << 10));
	ASSERT_EQ(0, file_write(SYSDIR "/backend", "vmalloc"));
}

/*
 * A write-combine buffer exported: its DMA-BUF maps write-combining (the
 * mapping's entries have the buffer's type, never a second one), private
 * mappings are refused as for the device, the cache mode cannot change
 * while the export lives, and PAT never complains.
 */
TEST_F(export, write_combine)
{
	struct mmapper_set_cache sc = { .size = sizeof(sc), .cache = MMAPPER_CACHE_CACHED };
	unsigned char *map, c;
	int fd;

	if (access(PAT_LIST, F_OK))
		SKIP(return, "no PAT: cached is the only cache mode");
	if (variant->cached_only) {
		EXPECT_EQ(-EINVAL, file_write(SYSDIR "/cache", "write-combine"));
		return;
	}
	ASSERT_EQ(0, file_write(SYSDIR "/cache", "write-combine"));
	ASSERT_EQ(0, kernel_fill(self->fd, 0, self->size, 0x6c));
	fd = export_range(self->fd, O_RDWR, 2 * self->page, 4 * self->page, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBUSY, file_write(SYSDIR "/cache", "cached"));
	EXPECT_EQ(-1, ioctl(self->fd, MMAPPER_IOC_SET_CACHE, &sc));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(NULL, map_fd(fd, 4 * self->page, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE));
	EXPECT_EQ(EINVAL, errno);

	map = map_fd(fd, 4 * self->page, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0x6c, map[0]);
	map[self->page] = 0x7d;
	ASSERT_EQ(1, pread(self->fd, &c, 1, 3 * self->page));
	EXPECT_EQ(0x7d, c);
	for (c = 0; c < 4; c++)
		(void)*(volatile unsigned char *)(map + c * self->page);
	/* Every page the DMA-BUF maps is mapped write-combining, none otherwise. */
	EXPECT_EQ(4, user_pages_typed(NPAGES, "write-combining"));
	EXPECT_EQ(0, user_pages_typed(NPAGES, "write-back"));
	munmap(map, 4 * self->page);
	close(fd);
	EXPECT_EQ(NULL, pat_complaint());
	EXPECT_EQ(0, file_write(SYSDIR "/cache", "cached"));
}

/*
 * The selftests' own importer (selftests/importer/) maps an export with
 * dma_buf_mmap() from its mmap(), with its VMA set up first as a driver
 * may have set it: as mmap() made it (every in-tree caller since 5.17),
 * VM_IO | VM_PFNMAP write-combined (drm_gem_mmap(), as 5.10's exynos and
 * etnaviv pass an import on), or VM_MIXEDMAP write-combined (no in-tree
 * caller: the other flag the backends' insert calls BUG() on).
 */
#define IMPORTER	"/dev/mmapper_importer"

/* @len bytes of DMA-BUF @dmabuf from @off, by the importer; NULL, *err = -errno. */
static void *importer_map(int dmabuf, unsigned int preset, size_t len, off_t off,
			  int prot, int flags, int *err)
{
	struct mmapper_importer_import imp = { .fd = dmabuf, .preset = preset };
	void *map = NULL;
	int fd = open(IMPORTER, O_RDWR | O_CLOEXEC);

	*err = 0;
	if (fd < 0 || ioctl(fd, MMAPPER_IMPORTER_IMPORT, &imp) ||
	    !(map = map_fd(fd, len, off, prot, flags)))
		*err = -errno;
	if (fd >= 0)
		close(fd);	/* the mapping holds the DMA-BUF's file */
	return map;
}

/* PAT's complaints in the kernel log so far. */
static int pat_complaints(void)
{
	const char *first;

	return pat_log(&first);
}

/*
 * Whatever the importer set, the export maps the buffer as the device's
 * own mmap() does: the backend's kind of mapping (by struct page, so
 * get_user_pages() works, or by PFN), the buffer's memory type (not the
 * importer's write-combining), the export's bytes at the importer's
 * offset, both ways; a read-only export stays read-only, MAP_PRIVATE is
 * what the backend makes it.  Before, the pfnmap preset was a BUG() in
 * vm_insert_page() (vmalloc-user) and write-combined pages of a write-back
 * buffer (vmalloc-fault), the mixedmap one a BUG() in vmf_insert_pfn()
 * (huge).
 */
TEST_F(export, importer_vma)
{
	static const char *const names[] = { "plain", "pfnmap", "mixedmap" };
	size_t page = self->page, len = 8 * page;
	/* The export is pages 2 to 13; the importer maps its pages 2 to 9. */
	off_t eoff = 2 * page, ioff = 2 * page, boff = eoff + ioff;
	unsigned char *map, *copy = malloc(self->size);
	int fd, err, wc, pat = pat_complaints();
	unsigned int preset;
	int64_t sum;

	ASSERT_NE(NULL, copy);
	if (access(IMPORTER, F_OK))
		SKIP(return, IMPORTER " missing: insmod mmapper_importer.ko (scripts/build-importer.sh builds it)");
	for (wc = 0; wc < 2; wc++) {
		const char *type = wc ? "write-combining" : "write-back";

		/* The buffer write-combined: where there is PAT, and the backend has it. */
		if (wc && (variant->cached_only || access(PAT_LIST, F_OK)))
			break;
		if (wc)
			ASSERT_EQ(0, file_write(SYSDIR "/cache", "write-combine"));
		for (preset = 0; preset < MMAPPER_IMPORTER_NR_PRESETS; preset++) {
			const char *what = names[preset];
			struct iovec local = { copy, len }, remote;

			fill_pattern(copy, 0, self->size, 7 + preset);
			ASSERT_EQ((ssize_t)self->size, pwrite(self->fd, copy, self->size, 0));
			fd = export_range(self->fd, O_RDWR, eoff, 12 * page, NULL);
			ASSERT_LE(0, fd);
			map = importer_map(fd, preset, len, ioff, PROT_READ | PROT_WRITE,
					   MAP_SHARED, &err);
			ASSERT_NE(NULL, map) TH_LOG("%s, %s: %s", what, type, strerror(-err));
			EXPECT_EQ(-1, check_pattern(map, boff, len, 7 + preset)) TH_LOG("%s", what);
			map[3 * page + 5] = 0x99;
			ASSERT_EQ(1, pread(self->fd, copy, 1, boff + 3 * page + 5));
			EXPECT_EQ(0x99, copy[0]);
			ASSERT_EQ(0, kernel_fill(self->fd, boff + page, 1, 0x42));
			EXPECT_EQ(0x42, map[page]);

			/* The backend's own kind of mapping, none of the importer's. */
			EXPECT_EQ(variant->pfnmap, vm_flag_set(map, "pf")) TH_LOG("%s", what);
			EXPECT_EQ(variant->pfnmap, vm_flag_set(map, "io")) TH_LOG("%s", what);
			remote.iov_base = map;
			remote.iov_len = len;
			if (variant->pfnmap) {
				EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
			} else {
				EXPECT_EQ((ssize_t)len, process_vm_readv(getpid(), &local, 1,
									 &remote, 1, 0))
					TH_LOG("%s: get_user_pages(): %s", what, strerror(errno));
				EXPECT_EQ(0x99, copy[3 * page + 5]);
			}
			/* The buffer's memory type on every page it maps, none other. */
			EXPECT_EQ(8, user_pages_typed(NPAGES, type)) TH_LOG("%s", what);
			EXPECT_EQ(0, user_pages_typed(NPAGES, wc ? "write-back" : "write-combining"))
				TH_LOG("%s", what);
			munmap(map, len);

			/* MAP_PRIVATE: copy-on-write that stays private, or EINVAL. */
			sum = kernel_checksum(self->fd, 0, self->size);
			map = importer_map(fd, preset, len, ioff, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE, &err);
			if (variant->private_cow && !wc) {
				ASSERT_NE(NULL, map) TH_LOG("%s: %s", what, strerror(-err));
				EXPECT_EQ(0x42, map[page]);
				memset(map, 0x66, len);
				EXPECT_EQ(0x66, map[0]);
				munmap(map, len);
			} else {
				EXPECT_EQ(NULL, map) TH_LOG("%s: MAP_PRIVATE", what);
				EXPECT_EQ(-EINVAL, err);
			}
			EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));
			close(fd);

			/* A read-only export: no writable mapping, nor one made so. */
			fd = export_range(self->fd, O_RDONLY, eoff, 12 * page, NULL);
			ASSERT_LE(0, fd);
			EXPECT_EQ(NULL, importer_map(fd, preset, len, ioff, PROT_READ | PROT_WRITE,
						     MAP_SHARED, &err));
			EXPECT_EQ(-EACCES, err) TH_LOG("%s: read-only export", what);
			map = importer_map(fd, preset, len, ioff, PROT_READ, MAP_SHARED, &err);
			ASSERT_NE(NULL, map) TH_LOG("%s: %s", what, strerror(-err));
			EXPECT_EQ(0x42, map[page]);
			EXPECT_EQ(-1, mprotect(map, page, PROT_READ | PROT_WRITE));
			EXPECT_EQ(EACCES, errno);
			munmap(map, len);
			close(fd);
			EXPECT_EQ(sum, kernel_checksum(self->fd, 0, self->size));
		}
		if (wc)
			ASSERT_EQ(0, file_write(SYSDIR "/cache", "cached"));
	}
	EXPECT_EQ(0, live_exports());
	/* Nothing PAT had to correct, in this test. */
	EXPECT_EQ(pat, pat_complaints());
	free(copy);
}

/* vivid captures into exports of a write-combine buffer (its vmap has that type). */
TEST_F_TIMEOUT(export, vivid_write_combine, 120)
{
	if (access(PAT_LIST, F_OK))
		SKIP(return, "no PAT: cached is the only cache mode");
	if (variant->cached_only) {
		EXPECT_EQ(-EINVAL, file_write(SYSDIR "/cache", "write-combine"));
		return;
	}
	ASSERT_EQ(0, file_write(SYSDIR "/cache", "write-combine"));
	vivid_capture(_metadata, self->fd, self->page, 0, O_RDWR, 3, NULL, false);
	EXPECT_EQ(NULL, pat_complaint());
	EXPECT_EQ(0, file_write(SYSDIR "/cache", "cached"));
}

/*
 * dma-contig maps for a device that writes (DMA_FROM_DEVICE): a read-only
 * export refuses it, and vivid refuses the buffer (VIDIOC_QBUF fails), on
 * every backend: the access is checked before anything else.
 */
TEST_F(export, vivid_dma_contig_read_only)
{
	struct v4l2_requestbuffers rb = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
		.count = VIVID_BUFS,
	};
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_format fmt;
	size_t slot;
	int vfd, x, ret;

	vfd = open_vivid(1);
	if (vfd < 0)
		SKIP(return, "no vivid instance 1 (see test_dmabuf.sh)");
	ASSERT_EQ(0, vivid_setup(vfd, &fmt));
	slot = (fmt.fmt.pix.sizeimage + self->page - 1) / self->page * self->page;
	ASSERT_EQ(0, set_size(slot));
	ASSERT_EQ(0, ioctl(vfd, VIDIOC_REQBUFS, &rb));
	x = export_range(self->fd, O_RDONLY, 0, slot, NULL);
	ASSERT_LE(0, x);
	b.m.fd = x;
	b.length = slot;
	ret = ioctl(vfd, VIDIOC_QBUF, &b);
	EXPECT_EQ(-1, ret);
	TH_LOG("QBUF of a read-only export: %s", strerror(errno));
	rb.count = 0;
	EXPECT_EQ(0, ioctl(vfd, VIDIOC_REQBUFS, &rb));
	close(x);
	close(vfd);
	EXPECT_EQ(0, live_exports());
}

TEST_HARNESS_MAIN
