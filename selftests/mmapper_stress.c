// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper stress: for a bounded time (MMAPPER_STRESS_SECONDS, default 20),
 * processes and threads map, touch, fork, unmap, read, write, resize,
 * switch backends, call every ioctl and read stats and debugfs, all at
 * once, while another process keeps trying to rmmod the module.
 *
 *  - owners: one process per device mmapper0..2, two threads each.  The
 *    first half of the buffer belongs to a thread that maps it, writes a
 *    pattern, forks a child that checks it, unmaps part and checks the rest;
 *    the second half to a thread that uses write(), read(), FILL and
 *    CHECKSUM.  Each checks that its bytes are exactly what it wrote last:
 *    nothing lost or torn, whatever the switcher did meanwhile.
 *  - resizer: owns mmapper3; resizes it (sysfs and ioctl) and checks that
 *    the bytes both sizes share survive, while a writer rewrites page 0
 *    and reads it back (a write lost to a resize shows) and a reader
 *    reads the whole buffer.
 *  - switcher: switches the backend of every device (class attribute) and
 *    of each device, and the cache mode of the owners' devices (sysfs and
 *    ioctl, among the modes the machine offers); only EBUSY (mapped or
 *    exported), E2BIG and ENOMEM may refuse.
 *  - observer: reads every stats file, the debugfs files, GET_INFO,
 *    GET_STATS, runs the put_user() experiment on its own mappings, and
 *    exports a page of each device read-only, maps and reads it.
 *  - ioctl fuzzer: owns mmapper4; every mmapper ioctl with random sizes in
 *    the command, random struct sizes and bytes, and arguments that are
 *    NULL, unmapped, straddle into an unmapped page, or point into its own
 *    mappings; only the documented errnos may come back.
 *  - rmmod: delete_module() must fail with EWOULDBLOCK every time: this
 *    process holds mmapper0 open throughout.
 *
 * Then stress.hotplug, for as long: devices come and go (hot_add,
 * hot_remove) while other processes open them, map, write and read them,
 * read their debugfs files, write their sysfs attributes and the class's,
 * and try rmmod.  A device open here must refuse its removal (EBUSY); an
 * open that loses the race must fail with ENODEV, ENXIO or ENOENT.
 *
 * Every refused operation must return one of the errnos documented for it.
 * Needs root and the module loaded with at least 5 devices (test_mmapper.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mmapper.h>

#include "kselftest_harness.h"

#define NR_OWNERS	3
#define RESIZE_DEV	3
#define FUZZ_DEV	4
#define NR_DEVS		5
#define BUF_SIZE	(256UL << 10)	/* per device; kmalloc can hold it */
#define HALF		(BUF_SIZE / 2)

/* The module's backends, from its class attribute ("a [b] c"): no copy here. */
#define MAX_BACKENDS	16
static char backend_names[MAX_BACKENDS][32];
static const char *backends[MAX_BACKENDS];
static unsigned int nr_backends;

static int load_backends(void)
{
	char line[512], *tok, *save;
	FILE *f = fopen("/sys/class/mmapper/backend", "r");

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	for (tok = strtok_r(line, " []\n", &save); tok && nr_backends < MAX_BACKENDS;
	     tok = strtok_r(NULL, " []\n", &save)) {
		snprintf(backend_names[nr_backends], sizeof(backend_names[0]), "%s", tok);
		backends[nr_backends] = backend_names[nr_backends];
		nr_backends++;
	}
	return nr_backends ? 0 : -1;
}

/* Shared with every process: a stop flag and a count of operations. */
struct shared {
	volatile int stop;
	unsigned long ops[8];
	unsigned long hp[8];	/* stress.hotplug's */
	char why[256];
};

static struct shared *sh;
static long page;

/* Record the first failure and stop everyone. */
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (!sh->why[0]) {
		va_start(ap, fmt);
		vsnprintf(sh->why, sizeof(sh->why), fmt, ap);
		va_end(ap);
	}
	sh->stop = 1;
}

static void dev_path(char *p, size_t n, int dev, const char *attr)
{
	if (attr)
		snprintf(p, n, "/sys/class/mmapper/mmapper%d/%s", dev, attr);
	else
		snprintf(p, n, "/dev/mmapper%d", dev);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, len)) > 0)
		total += n;
	close(fd);
	return n < 0 ? -errno : total;
}

static unsigned char pat(size_t i, unsigned int gen)
{
	return (unsigned char)(i * 31 + gen * 7 + (i >> 12));
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* A backend change refused for a documented reason, or done. */
static int change_ok(int err)
{
	return !err || err == -EBUSY || err == -E2BIG || err == -ENOMEM;
}

/*
 * The backends whose mappings get_user_pages() can pin are cached only:
 * a device that is not cached cannot move to one (EINVAL), nor one on
 * such a backend leave cached.
 */
static int cached_only(const char *backend)
{
	return !strcmp(backend, "pages") || !strcmp(backend, "vmalloc-fault") ||
	       !strcmp(backend, "vmalloc-user");
}

/* Owner, first half: the mapping path. */
struct owner {
	int dev;
	int fd;
};

static void *owner_map(void *arg)
{
	struct owner *o = arg;
	unsigned int gen = 0;
	size_t i;

	while (!sh->stop) {
		unsigned char *map;
		pid_t pid;
		int status;

		map = mmap(NULL, HALF, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd, 0);
		if (map == MAP_FAILED) {
			fail("mmapper%d: mmap: %s", o->dev, strerror(errno));
			break;
		}
		/* What was written last time is still there. */
		for (i = 0; gen && i < HALF; i++)
			if (map[i] != pat(i, gen)) {
				fail("mmapper%d: byte %zu of gen %u lost", o->dev, i, gen);
				break;
			}
		gen++;
		for (i = 0; i < HALF; i++)
			map[i] = pat(i, gen);
		pid = fork();
		if (!pid) {
			for (i = 0; i < HALF; i++)
				if (map[i] != pat(i, gen))
					_exit(1);
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || status)
			fail("mmapper%d: the child saw other bytes", o->dev);
		/* Unmap the middle, check the ends, then the rest. */
		munmap(map + page, page);
		if (map[0] != pat(0, gen) || map[2 * page] != pat(2 * page, gen))
			fail("mmapper%d: bytes lost after a partial munmap", o->dev);
		munmap(map, page);
		munmap(map + 2 * page, HALF - 2 * page);
		__atomic_fetch_add(&sh->ops[0], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Owner, second half: the copy path and the kernel-side ioctls. */
static void *owner_copy(void *arg)
{
	struct owner *o = arg;
	unsigned char *buf = malloc(HALF), *back = malloc(HALF);
	unsigned int gen = 0;

	while (!sh->stop && buf && back) {
		struct mmapper_range r = {
			.size = sizeof(r), .offset = HALF, .length = HALF,
		};
		size_t i;

		gen++;
		if (gen % 2) {
			for (i = 0; i < HALF; i++)
				buf[i] = pat(i, gen);
			if (pwrite(o->fd, buf, HALF, HALF) != (ssize_t)HALF) {
				fail("mmapper%d: pwrite: %s", o->dev, strerror(errno));
				break;
			}
		} else {
			r.pattern = gen & 0xff;
			if (ioctl(o->fd, MMAPPER_IOC_FILL, &r)) {
				fail("mmapper%d: FILL: %s", o->dev, strerror(errno));
				break;
			}
			memset(buf, gen & 0xff, HALF);
		}
		if (pread(o->fd, back, HALF, HALF) != (ssize_t)HALF ||
		    memcmp(buf, back, HALF)) {
			fail("mmapper%d: read() gave other bytes than written", o->dev);
			break;
		}
		r.pattern = 0;
		if (ioctl(o->fd, MMAPPER_IOC_CHECKSUM, &r) ||
		    r.checksum != fnv1a(buf, HALF)) {
			fail("mmapper%d: kernel checksum differs", o->dev);
			break;
		}
		__atomic_fetch_add(&sh->ops[1], 1, __ATOMIC_RELAXED);
	}
	free(buf);
	free(back);
	return NULL;
}

static void owner(int dev)
{
	struct owner o = { .dev = dev };
	char path[96];
	pthread_t a, b;

	dev_path(path, sizeof(path), dev, NULL);
	o.fd = open(path, O_RDWR);
	if (o.fd < 0) {
		fail("%s: %s", path, strerror(errno));
		return;
	}
	pthread_create(&a, NULL, owner_map, &o);
	pthread_create(&b, NULL, owner_copy, &o);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	close(o.fd);
}

/*
 * Racing the resizer, without any lock in the module: page 0 of mmapper3
 * (every size keeps it) belongs to a writer that writes a new pattern and
 * reads it back at once, so a write that went into the old buffer after
 * the resize had copied it shows as a lost write; and a reader that reads
 * the whole buffer, whatever its size is at the time.
 */
static void *resize_racer(void *arg)
{
	int fd = *(int *)arg;
	unsigned char *buf = malloc(page), *back = malloc(page);
	unsigned int gen = 0;
	size_t i;

	while (!sh->stop && buf && back) {
		gen++;
		for (i = 0; i < (size_t)page; i++)
			buf[i] = pat(0, gen);	/* one byte value per generation */
		if (pwrite(fd, buf, page, 0) != page) {
			fail("resize racer: pwrite: %s", strerror(errno));
			break;
		}
		if (pread(fd, back, page, 0) != page || memcmp(buf, back, page)) {
			fail("resize racer: a write of page 0 was lost across a resize");
			break;
		}
		__atomic_fetch_add(&sh->ops[2], 1, __ATOMIC_RELAXED);
	}
	free(buf);
	free(back);
	return NULL;
}

static void *resize_reader(void *arg)
{
	int fd = *(int *)arg;
	unsigned char *back = malloc(66 * page);

	/*
	 * Whole-buffer reads across resizes: each must end at the size of
	 * one buffer, old or new, never fail; reading memory a resize freed
	 * is what KASAN on the debug kernel would report.
	 */
	while (!sh->stop && back) {
		ssize_t n = pread(fd, back, 66 * page, 0);

		if (n < 2 * page || n > 65 * page || n % page) {
			fail("resize reader: pread gave %zd: %s", n, strerror(errno));
			break;
		}
	}
	free(back);
	return NULL;
}

/* Resizer: mmapper3, sizes between 2 and 65 pages, data kept. */
static void resizer(void)
{
	char path[96], val[32];
	unsigned char *buf = malloc(64 * page), *back = malloc(64 * page);
	pthread_t racer, reader;
	size_t size = 0, n;
	unsigned int gen = 0;
	int fd;

	dev_path(path, sizeof(path), RESIZE_DEV, NULL);
	fd = open(path, O_RDWR);
	if (fd < 0 || !buf || !back) {
		fail("resizer: %s", strerror(errno));
		return;
	}
	pthread_create(&racer, NULL, resize_racer, &fd);
	pthread_create(&reader, NULL, resize_reader, &fd);
	while (!sh->stop) {
		struct mmapper_info info = { .size = sizeof(info) };
		size_t next = (2 + rand() % 64) * page, keep, i;
		int err;

		if (ioctl(fd, MMAPPER_IOC_GET_INFO, &info)) {
			fail("resizer: GET_INFO: %s", strerror(errno));
			break;
		}
		if (size && info.buf_size != size) {
			fail("resizer: size %llu, expected %zu",
			     (unsigned long long)info.buf_size, size);
			break;
		}
		size = info.buf_size;
		gen++;
		/* Page 0 is the racer's: this one's bytes start at page 1. */
		n = size - page < 64 * (size_t)page ? size - page : 64 * (size_t)page;
		for (i = 0; i < n; i++)
			buf[i] = pat(i, gen);
		if (pwrite(fd, buf, n, page) != (ssize_t)n) {
			fail("resizer: pwrite: %s", strerror(errno));
			break;
		}
		if (gen % 2) {
			struct mmapper_set_size ss = { .size = sizeof(ss), .buf_size = next };

			err = ioctl(fd, MMAPPER_IOC_SET_SIZE, &ss) ? -errno : 0;
		} else {
			snprintf(val, sizeof(val), "%zuK", next >> 10);
			dev_path(path, sizeof(path), RESIZE_DEV, "size");
			err = write_file(path, val);
		}
		if (!change_ok(err)) {
			fail("resizer: resize to %zu: %s", next, strerror(-err));
			break;
		}
		if (!err)
			size = next;
		keep = n < size - (size_t)page ? n : size - (size_t)page;
		if (pread(fd, back, keep, page) != (ssize_t)keep || memcmp(buf, back, keep)) {
			fail("resizer: bytes lost across a resize");
			break;
		}
		__atomic_fetch_add(&sh->ops[2], 1, __ATOMIC_RELAXED);
	}
	sh->stop = 1;
	pthread_join(racer, NULL);
	pthread_join(reader, NULL);
	free(buf);
	free(back);
	close(fd);
}

/*
 * The cache modes the machine offers: all three where PAT is on (x86 lists
 * its memory types in debugfs only then), else cached.
 */
static const char *const caches[] = { "cached", "write-combine", "uncached" };

static int nr_caches(void)
{
	return access("/sys/kernel/debug/x86/pat_memtype_list", F_OK) ? 1 : 3;
}

/* A new cache mode for an owner's device (1 MiB: every backend takes it). */
static int switch_cache(unsigned int cache)
{
	char path[96];
	int dev = rand() % NR_OWNERS, fd, err;
	struct mmapper_set_cache sc = { .size = sizeof(sc), .cache = cache };

	if (rand() % 2) {
		dev_path(path, sizeof(path), dev, "cache");
		return write_file(path, caches[cache]);
	}
	dev_path(path, sizeof(path), dev, NULL);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	err = ioctl(fd, MMAPPER_IOC_SET_CACHE, &sc) ? -errno : 0;
	close(fd);
	return err;
}

/* Switcher: every device at once, one at a time, and cache modes. */
static void switcher(void)
{
	char path[96];
	unsigned int i = 0;
	int n = nr_caches();

	while (!sh->stop) {
		const char *b = backends[rand() % nr_backends];
		int err;

		if (i++ % 4 == 3) {
			unsigned int c = rand() % n;

			err = switch_cache(c);
			if (!change_ok(err) && !(c && err == -EINVAL)) {
				fail("cache mode %s: %s", caches[c], strerror(-err));
				break;
			}
			__atomic_fetch_add(&sh->ops[3], 1, __ATOMIC_RELAXED);
			usleep(1000);
			continue;
		}
		switch (i % 3) {
		case 0:
			err = write_file("/sys/class/mmapper/backend", b);
			break;
		case 1: {
			struct mmapper_set_backend sb = { .size = sizeof(sb) };
			int fd;

			dev_path(path, sizeof(path), rand() % 4, NULL);
			fd = open(path, O_RDWR);
			if (fd < 0) {
				fail("switcher: %s: %s", path, strerror(errno));
				return;
			}
			strcpy(sb.backend, b);
			err = ioctl(fd, MMAPPER_IOC_SET_BACKEND, &sb) ? -errno : 0;
			close(fd);
			break;
		}
		default:
			dev_path(path, sizeof(path), rand() % 4, "backend");
			err = write_file(path, b);
		}
		if (!change_ok(err) && !(cached_only(b) && err == -EINVAL && nr_caches() > 1)) {
			fail("switch to %s: %s", b, strerror(-err));
			break;
		}
		__atomic_fetch_add(&sh->ops[3], 1, __ATOMIC_RELAXED);
		usleep(1000);
	}
}

/* Observer: stats, debugfs, info, and the put_user() experiment. */
static void observer(void)
{
	static const char *const stats[] = {
		"opens", "mmaps", "active_mappings", "faults", "huge_faults",
		"bytes_read", "bytes_written", "resizes", "alloc_failures",
		"exports", "exports_total",
	};
	static const char *const dbg[] = { "pages", "mappings", "summary", "exports" };
	char path[128], *buf = malloc(1 << 20);
	unsigned int i;
	int dev = 0;

	while (!sh->stop && buf) {
		struct mmapper_stats st = { .size = sizeof(st) };
		struct mmapper_put_user pu = { .size = sizeof(pu) };
		struct mmapper_export ex = {
			.size = sizeof(ex), .flags = O_RDONLY | O_CLOEXEC, .length = page,
		};
		unsigned char *map;
		int fd;

		dev = (dev + 1) % 4;
		for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
			snprintf(path, sizeof(path), "/sys/class/mmapper/mmapper%d/stats/%s",
				 dev, stats[i]);
			if (read_file(path, buf, 64) <= 0) {
				fail("%s: unreadable", path);
				return;
			}
		}
		for (i = 0; i < sizeof(dbg) / sizeof(dbg[0]); i++) {
			snprintf(path, sizeof(path), "/sys/kernel/debug/mmapper/mmapper%d/%s",
				 dev, dbg[i]);
			if (read_file(path, buf, 1 << 20) <= 0) {
				fail("%s: unreadable", path);
				return;
			}
		}
		dev_path(path, sizeof(path), dev, NULL);
		fd = open(path, O_RDONLY);
		if (fd < 0 || ioctl(fd, MMAPPER_IOC_GET_STATS, &st)) {
			fail("observer: %s: %s", path, strerror(errno));
			return;
		}
		/* Read-only descriptor, private read-only page: EFAULT, and no harm. */
		map = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
		if (map != MAP_FAILED) {
			pu.addr = (uintptr_t)map;
			pu.value = 1;
			if (ioctl(fd, MMAPPER_IOC_PUT_USER, &pu) || pu.result != -EFAULT)
				fail("observer: put_user into a read-only mapping: %d", pu.result);
			munmap(map, page);
		}
		/*
		 * A read-only DMA-BUF of the first page, mapped and read, racing
		 * the owners, the resizer and the switcher: while it lives, they
		 * get EBUSY, which they take.  The first page is inside every
		 * buffer, so the one EINVAL is a kmalloc buffer of slab size
		 * (8 KiB or less: no export of it), which the resizer and the
		 * switcher make now and then.
		 */
		if (ioctl(fd, MMAPPER_IOC_EXPORT_DMABUF, &ex) == 0) {
			map = mmap(NULL, page, PROT_READ, MAP_SHARED, ex.fd, 0);
			if (map == MAP_FAILED) {
				fail("observer: mmap of an export: %s", strerror(errno));
			} else {
				*(volatile unsigned char *)map;
				munmap(map, page);
			}
			close(ex.fd);
		} else if (errno != EOPNOTSUPP && errno != EINVAL) {
			fail("observer: export: %s", strerror(errno));
		}
		close(fd);
		__atomic_fetch_add(&sh->ops[4], 1, __ATOMIC_RELAXED);
	}
	free(buf);
}

/* The errnos an mmapper ioctl may return, whatever its argument. */
static int ioctl_errno_ok(int err)
{
	switch (err) {
	case EINVAL: case EFAULT: case E2BIG: case ENOTTY: case EBADF:
	case EBUSY: case ENOMEM:
	/* EXPORT_DMABUF: no descriptor left; a kernel without DMA-BUF */
	case EMFILE: case EOPNOTSUPP:
		return 1;
	}
	return 0;
}

/* ioctl fuzzer on mmapper4. */
static void fuzzer(void)
{
	static const unsigned int cmds[] = {
		MMAPPER_IOC_GET_INFO, MMAPPER_IOC_SET_SIZE, MMAPPER_IOC_SET_BACKEND,
		MMAPPER_IOC_FILL, MMAPPER_IOC_CHECKSUM, MMAPPER_IOC_GET_STATS,
		MMAPPER_IOC_PUT_USER, MMAPPER_IOC_SET_CACHE, MMAPPER_IOC_EXPORT_DMABUF,
	};
	unsigned char *arena, *map = NULL;
	char path[96];
	int fd;

	dev_path(path, sizeof(path), FUZZ_DEV, NULL);
	fd = open(path, O_RDWR);
	/* Two pages, the second unmapped: structs that run off the end. */
	arena = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || arena == MAP_FAILED) {
		fail("fuzzer: %s", strerror(errno));
		return;
	}
	munmap(arena + page, page);

	while (!sh->stop) {
		unsigned int cmd = cmds[rand() % (sizeof(cmds) / sizeof(cmds[0]))], i;
		unsigned int len = rand() % 128;
		unsigned char *arg;
		uint32_t size;

		/* Sometimes other size bits, or another number of ours. */
		if (rand() % 4 == 0)
			cmd = (cmd & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
			      ((rand() % 256) << _IOC_SIZESHIFT);
		if (rand() % 16 == 0)
			cmd = _IOC(rand() % 4, MMAPPER_IOC_MAGIC, rand() % 16, rand() % 256);

		/* The struct: random bytes, a plausible or random size. */
		arg = arena + page - len - (rand() % 2 ? 0 : rand() % 64);
		for (i = 0; i < len; i++)
			arg[i] = rand();
		size = rand() % 3 ? (rand() % 96) : (uint32_t)rand();
		if (len >= 4)
			memcpy(arg, &size, 4);
		/* Zero flags most of the time, so the kernel reaches the body. */
		if (len >= 8 && rand() % 2)
			memset(arg + 4, 0, 4);
		/* put_user targets: our own mapping, or anything. */
		if (map && len >= 16 && rand() % 2) {
			uint64_t a = (uintptr_t)map + rand() % (2 * page);

			memcpy(arg + 8, &a, 8);
		}

		switch (rand() % 8) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = arena + page;	/* unmapped */
			break;
		case 2:
			arg = arena + page - 2;	/* straddles */
			break;
		}
		if (ioctl(fd, cmd, arg)) {
			if (!ioctl_errno_ok(errno)) {
				fail("fuzzer: ioctl %#x gave %s", cmd, strerror(errno));
				break;
			}
		} else if (_IOC_NR(cmd) == _IOC_NR(MMAPPER_IOC_EXPORT_DMABUF) &&
			   _IOC_DIR(cmd) == _IOC_DIR(MMAPPER_IOC_EXPORT_DMABUF) && arg) {
			/* Random bytes made an export: drop it, it holds the buffer. */
			close(((struct mmapper_export *)arg)->fd);
		}
		/* A fresh mapping now and then, for put_user() to land in. */
		if (rand() % 64 == 0) {
			if (map)
				munmap(map, 2 * page);
			map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (map == MAP_FAILED)
				map = NULL;
		}
		__atomic_fetch_add(&sh->ops[6], 1, __ATOMIC_RELAXED);
	}
	if (map)
		munmap(map, 2 * page);
	close(fd);
}

/* rmmod: always refused, the module is in use. */
static void remover(void)
{
	while (!sh->stop) {
		if (syscall(__NR_delete_module, "mmapper", O_NONBLOCK) == 0) {
			fail("rmmod succeeded while the devices were in use");
			return;
		}
		if (errno != EWOULDBLOCK) {
			fail("rmmod: %s, not EWOULDBLOCK", strerror(errno));
			return;
		}
		__atomic_fetch_add(&sh->ops[5], 1, __ATOMIC_RELAXED);
		usleep(5000);
	}
}

FIXTURE(stress) {
	int hold;
};

FIXTURE_SETUP(stress)
{
	char path[96];
	int i;

	if (access("/dev/mmapper4", F_OK))
		SKIP(return, "needs the module loaded with 5 devices");
	page = sysconf(_SC_PAGESIZE);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	ASSERT_EQ(0, load_backends());
	ASSERT_EQ(0, write_file("/sys/class/mmapper/backend", "vmalloc"));
	for (i = 0; i < NR_DEVS; i++) {
		snprintf(path, sizeof(path), "%zu", BUF_SIZE);
		dev_path(path + 32, sizeof(path) - 32, i, "size");
		ASSERT_EQ(0, write_file(path + 32, path));
	}
	/* Held open throughout: the module stays in use. */
	self->hold = open("/dev/mmapper0", O_RDONLY);
	ASSERT_LE(0, self->hold);
}

FIXTURE_TEARDOWN(stress)
{
	char path[96];
	int i;

	if (self->hold >= 0)
		close(self->hold);
	for (i = 0; i < NR_OWNERS; i++) {
		dev_path(path, sizeof(path), i, "cache");
		write_file(path, "cached");
	}
}

TEST_F_TIMEOUT(stress, everything_at_once, 900)
{
	const char *env = getenv("MMAPPER_STRESS_SECONDS");
	int seconds = env ? atoi(env) : 20;
	pid_t pids[NR_OWNERS + 5];
	int n = 0, i, status;

	for (i = 0; i < NR_OWNERS + 5; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			srand(getpid());
			if (i < NR_OWNERS)
				owner(i);
			else if (i == NR_OWNERS)
				resizer();
			else if (i == NR_OWNERS + 1)
				switcher();
			else if (i == NR_OWNERS + 2)
				observer();
			else if (i == NR_OWNERS + 3)
				fuzzer();
			else
				remover();
			_exit(0);
		}
		pids[n++] = pid;
	}
	for (i = 0; i < seconds && !sh->stop; i++)
		sleep(1);
	sh->stop = 1;
	for (i = 0; i < n; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, status) TH_LOG("process %d", i);
	}
	EXPECT_STREQ("", sh->why);
	TH_LOG("%d s: %lu map rounds, %lu copy rounds, %lu resizes, %lu switches, %lu observations, %lu refused rmmods, %lu fuzzed ioctls",
	       seconds, sh->ops[0], sh->ops[1], sh->ops[2], sh->ops[3], sh->ops[4], sh->ops[5],
	       sh->ops[6]);
	/* Every actor got work done. */
	for (i = 0; i < 7; i++)
		EXPECT_LT(0, sh->ops[i]) TH_LOG("actor %d did nothing", i);
}

/*
 * stress.hotplug: the devices from NR_DEVS on come and go; mmapper0 (held
 * open by the fixture) keeps the module in use.
 */
#define HP_FIRST	NR_DEVS
#define HP_SPAN		8

static int hp_pick(void)
{
	return HP_FIRST + rand() % HP_SPAN;
}

static int hot_add(void)
{
	char buf[32];
	ssize_t n = read_file("/sys/class/mmapper/hot_add", buf, sizeof(buf) - 1);

	if (n < 0)
		return n;
	buf[n] = '\0';
	return atoi(buf);
}

static int hot_remove(int dev)
{
	char val[16];

	snprintf(val, sizeof(val), "%d", dev);
	return write_file("/sys/class/mmapper/hot_remove", val);
}

/* Add and remove devices; keep the numbers within HP_SPAN of HP_FIRST. */
static void hotplugger(void)
{
	while (!sh->stop) {
		int err;

		if (rand() % 2) {
			err = hot_add();
			if (err >= HP_FIRST + HP_SPAN)
				err = hot_remove(err);
			else if (err >= 0 && err < HP_FIRST)
				fail("hot_add gave mmapper%d, which exists", err);
		} else {
			err = hot_remove(hp_pick());
			if (err == -EBUSY || err == -ENODEV)
				err = 0;
		}
		if (err < 0) {
			fail("hotplug: %s", strerror(-err));
			break;
		}
		__atomic_fetch_add(&sh->hp[0], 1, __ATOMIC_RELAXED);
	}
}

/* An open of a device that may be going: it is there and works, or gone. */
static void *hp_opener(void *arg)
{
	long k = (long)arg;	/* page k of a mapping is this thread's */

	while (!sh->stop) {
		struct mmapper_info info = { .size = sizeof(info) };
		unsigned char *map, *back = NULL;
		int dev = hp_pick(), fd, err;
		char path[64];
		long i;

		dev_path(path, sizeof(path), dev, NULL);
		fd = open(path, O_RDWR);
		if (fd < 0) {
			if (errno != ENOENT && errno != ENODEV && errno != ENXIO)
				fail("%s: open: %s", path, strerror(errno));
			continue;
		}
		if (ioctl(fd, MMAPPER_IOC_GET_INFO, &info))
			fail("%s: GET_INFO: %s", path, strerror(errno));
		map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			fail("%s: mmap: %s", path, strerror(errno));
			close(fd);
			break;
		}
		back = malloc(page);
		for (i = 0; i < page; i++)
			map[k * page + i] = pat(i, dev + k);
		if (!back || pread(fd, back, page, k * page) != page ||
		    memcmp(back, map + k * page, page))
			fail("%s: read() differs from the mapping", path);
		err = hot_remove(dev);
		if (err != -EBUSY)
			fail("%s: hot_remove while mapped here: %s", path, strerror(-err));
		munmap(map, 2 * page);
		err = hot_remove(dev);
		if (err != -EBUSY)
			fail("%s: hot_remove while open here: %s", path, strerror(-err));
		free(back);
		close(fd);
		__atomic_fetch_add(&sh->hp[1], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void hp_openers(void)
{
	pthread_t t[2];
	long k;

	for (k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, hp_opener, (void *)k);
	for (k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
}

/* debugfs of devices that may be going: there, or ENOENT (EIO once open). */
static void hp_debugfs(void)
{
	static const char *const dbg[] = { "pages", "mappings", "summary" };
	char path[128], *buf = malloc(1 << 20);

	while (!sh->stop && buf) {
		int dev = rand() % (HP_FIRST + HP_SPAN);
		ssize_t n;

		snprintf(path, sizeof(path), "/sys/kernel/debug/mmapper/mmapper%d/%s",
			 dev, dbg[rand() % 3]);
		n = read_file(path, buf, 1 << 20);
		if (n <= 0 && n != -ENOENT && n != -EIO) {
			fail("%s: %s", path, n ? strerror(-n) : "empty");
			break;
		}
		__atomic_fetch_add(&sh->hp[2], 1, __ATOMIC_RELAXED);
	}
	free(buf);
}

/* sysfs of devices that may be going, and the class's backend. */
static void hp_sysfs(void)
{
	static const char *const sizes[] = { "8K", "16K", "64K", "1M" };
	char path[96], buf[64];

	while (!sh->stop) {
		int dev = hp_pick(), err;
		ssize_t n;

		switch (rand() % 4) {
		case 0:
			dev_path(path, sizeof(path), dev, "size");
			err = write_file(path, sizes[rand() % 4]);
			break;
		case 1:
			dev_path(path, sizeof(path), dev, "backend");
			err = write_file(path, backends[rand() % nr_backends]);
			break;
		case 2:
			dev_path(path, sizeof(path), dev, "stats/opens");
			n = read_file(path, buf, sizeof(buf));
			err = n > 0 ? 0 : n ? n : -ENODATA;
			break;
		default:
			strcpy(path, "/sys/class/mmapper/backend");
			err = write_file(path, backends[rand() % nr_backends]);
			usleep(2000);
		}
		if (!change_ok(err) && err != -ENOENT && err != -ENODEV) {
			fail("%s: %s", path, strerror(-err));
			break;
		}
		__atomic_fetch_add(&sh->hp[3], 1, __ATOMIC_RELAXED);
	}
}

TEST_F_TIMEOUT(stress, hotplug, 900)
{
	const char *env = getenv("MMAPPER_STRESS_SECONDS");
	int seconds = env ? atoi(env) : 20;
	pid_t pids[6];
	int n = 0, i, status, err;

	if (access("/sys/class/mmapper/hot_add", F_OK))
		SKIP(return, "no hot_add");
	for (i = 0; i < 6; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			srand(getpid());
			if (i < 2)
				hotplugger();
			else if (i == 2)
				hp_openers();
			else if (i == 3)
				hp_debugfs();
			else if (i == 4)
				hp_sysfs();
			else
				remover();
			_exit(0);
		}
		pids[n++] = pid;
	}
	for (i = 0; i < seconds && !sh->stop; i++)
		sleep(1);
	sh->stop = 1;
	for (i = 0; i < n; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, status) TH_LOG("process %d", i);
	}
	EXPECT_STREQ("", sh->why);
	/*
	 * Every device left has phys_addr exactly when its backend is
	 * kmalloc: an update racing the making of a new device's groups
	 * once took the file away.
	 */
	for (i = 0; i < HP_FIRST + HP_SPAN; i++) {
		char path[96], buf[256];
		ssize_t len;
		int kmalloc, has_phys;

		dev_path(path, sizeof(path), i, "backend");
		len = read_file(path, buf, sizeof(buf) - 1);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		kmalloc = !!strstr(buf, "[kmalloc]");
		dev_path(path, sizeof(path), i, "phys_addr");
		has_phys = !access(path, F_OK);
		EXPECT_EQ(kmalloc, has_phys)
			TH_LOG("mmapper%d: backend %.64s, phys_addr %s", i, buf,
			       has_phys ? "present" : "missing");
	}
	/* Nothing is open now: every device added goes. */
	for (i = HP_FIRST; i < HP_FIRST + HP_SPAN; i++) {
		err = hot_remove(i);
		EXPECT_TRUE(!err || err == -ENODEV) TH_LOG("mmapper%d: %s", i, strerror(-err));
	}
	EXPECT_EQ(-1, access("/dev/mmapper" "5", F_OK));
	TH_LOG("%d s: %lu adds and removes, %lu opens of a device, %lu debugfs reads, %lu sysfs accesses, %lu refused rmmods",
	       seconds, sh->hp[0], sh->hp[1], sh->hp[2], sh->hp[3], sh->ops[5]);
	for (i = 0; i < 4; i++)
		EXPECT_LT(0, sh->hp[i]) TH_LOG("actor %d did nothing", i);
	EXPECT_LT(0, sh->ops[5]);
}

/*
 * stress.pmd_faults: where a backend maps 2 MiB entries ("huge" on 6.12+,
 * "pages" on 6.15+), two threads write and read back their own pages of
 * the first 2 MiB of a shared mapping while a third keeps splitting its
 * 2 MiB entry (mprotect() of page 1, and back) and a fourth switches THP
 * off and on for the process (PR_SET_THP_DISABLE): a 2 MiB fault and a
 * 4 KiB one race for the same empty slot.  No write may be lost, and the
 * kernel log must stay clean (a write insertion losing that race warned).
 */
#define PMD_DEV		1
#define PMD_LEN		(4UL << 20)

struct pmd_racer {
	unsigned char *map;
	int id;
	unsigned long rounds;
};

static void *pmd_writer(void *arg)
{
	struct pmd_racer *r = arg;
	unsigned char gen = 1;
	size_t i;

	while (!sh->stop) {
		/* Pages 2 on of the first 2 MiB: page 1 is mprotect()ed. */
		for (i = 2 + r->id; i < (2UL << 20) / page && !sh->stop; i += 64) {
			r->map[i * page + 7] = gen;
			if (r->map[i * page + 7] != gen) {
				fail("pmd_faults: a write to page %zu was lost", i);
				return NULL;
			}
		}
		gen++;
		r->rounds++;
	}
	return NULL;
}

static void *pmd_splitter(void *arg)
{
	struct pmd_racer *r = arg;

	while (!sh->stop) {
		if (mprotect(r->map + page, page, PROT_READ) ||
		    mprotect(r->map + page, page, PROT_READ | PROT_WRITE)) {
			fail("pmd_faults: mprotect: %s", strerror(errno));
			break;
		}
		r->rounds++;
	}
	return NULL;
}

static void *pmd_thp_switch(void *arg)
{
	struct pmd_racer *r = arg;

	while (!sh->stop) {
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		sched_yield();
		prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
		sched_yield();
		r->rounds++;
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, pmd_faults, 900)
{
	static const struct { const char *backend; unsigned int cap; } which[] = {
		{ "huge", MMAPPER_CAP_HUGE_PMD }, { "pages", MMAPPER_CAP_PAGES_PMD },
	};
	const char *env = getenv("MMAPPER_STRESS_SECONDS");
	int seconds = (env ? atoi(env) : 20) / 2, ran = 0;
	char path[96], size[32];
	unsigned int w, k;

	for (w = 0; w < sizeof(which) / sizeof(which[0]); w++) {
		struct mmapper_info info = { .size = sizeof(info) };
		struct pmd_racer r[4];
		pthread_t t[4];
		int fd, i;

		dev_path(path, sizeof(path), PMD_DEV, "backend");
		ASSERT_EQ(0, write_file(path, which[w].backend));
		snprintf(size, sizeof(size), "%lu", PMD_LEN);
		dev_path(path, sizeof(path), PMD_DEV, "size");
		ASSERT_EQ(0, write_file(path, size));
		dev_path(path, sizeof(path), PMD_DEV, NULL);
		fd = open(path, O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ioctl(fd, MMAPPER_IOC_GET_INFO, &info));
		if (!(info.caps & which[w].cap)) {
			TH_LOG("%s: no 2 MiB entries on this kernel", which[w].backend);
			close(fd);
			continue;
		}
		ran++;
		sh->stop = 0;
		/* 2 MiB aligned: the device's get_unmapped_area(). */
		r[0].map = mmap(NULL, PMD_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, r[0].map);
		for (k = 0; k < 4; k++) {
			r[k].map = r[0].map;
			r[k].id = k;
			r[k].rounds = 0;
		}
		pthread_create(&t[0], NULL, pmd_writer, &r[0]);
		pthread_create(&t[1], NULL, pmd_writer, &r[1]);
		pthread_create(&t[2], NULL, pmd_splitter, &r[2]);
		pthread_create(&t[3], NULL, pmd_thp_switch, &r[3]);
		for (i = 0; i < seconds && !sh->stop; i++)
			sleep(1);
		sh->stop = 1;
		for (k = 0; k < 4; k++)
			pthread_join(t[k], NULL);
		prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
		TH_LOG("%s, %d s: %lu and %lu write rounds, %lu splits, %lu THP switches",
		       which[w].backend, seconds, r[0].rounds, r[1].rounds, r[2].rounds,
		       r[3].rounds);
		EXPECT_STREQ("", sh->why);
		for (k = 0; k < 4; k++)
			EXPECT_LT(0, r[k].rounds) TH_LOG("racer %u did nothing", k);
		munmap(r[0].map, PMD_LEN);
		close(fd);
	}
	dev_path(path, sizeof(path), PMD_DEV, "backend");
	EXPECT_EQ(0, write_file(path, "vmalloc"));
	snprintf(size, sizeof(size), "%zu", BUF_SIZE);
	dev_path(path, sizeof(path), PMD_DEV, "size");
	EXPECT_EQ(0, write_file(path, size));
	if (!ran)
		SKIP(return, "no backend maps 2 MiB entries on this kernel");
}

TEST_HARNESS_MAIN
