// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper-bench: what it costs to hand memory to user space, each mmapper
 * backend against its peers, measured in one boot, interleaved and
 * repeated.  Run by "make bench" in a VM (scripts/bench.sh).
 *
 * Map path, for each subject and size:
 *   touch    mmap() + one write per page, ns per MiB, the best of three
 *            (the object exists already: allocation is not timed, except
 *            for anonymous memory, whose pages come with the first touch)
 *   again    the same writes once more, every entry now in place
 *   populate mmap(MAP_POPULATE) + the same writes, ns per MiB
 *   minflt   minor faults taken by the touch
 *   read     sequential read through the mapping, GB/s, best of three
 *   write    sequential write through the mapping, GB/s, best of three
 * "floor" is the touch loop alone over anonymous memory in 2 MiB pages
 * whose entries were all put in place beforehand (MADV_POPULATE_WRITE):
 * what map + touch would cost if mapping cost nothing.  "read()" copies
 * the same bytes with one read() instead; "vmalloc-fault-1" is
 * vmalloc-fault with fault_around=1, one page per fault, and
 * "vmalloc-fault-16" with fault_around=16 (the default is 64).  The map-path
 * ratios with a target (pages and huge against the system heap, huge
 * against the floor, vmalloc-fault against memfd + udmabuf) are measured
 * in pairs besides: three rounds of each subject, taking turns, the best
 * of each.
 *
 * Copy path, for each backend and call size (4 KiB, 64 KiB, 1 MiB):
 * write() then read() of the whole device (64 MiB; kmalloc 4 MiB, its
 * largest, 16 times over), GB/s, against pwrite() then pread() of a memfd
 * of the same size, filled beforehand (a new one, and a new user buffer,
 * every repetition); the two take turns 1 MiB at a time, and the ratio of
 * a repetition is the median of the turns' ratios.  The backends of the
 * copy path and of the size change take turns from a different one in
 * each repetition.
 *
 * Size change, for each backend: MMAPPER_IOC_SET_SIZE from one page to
 * 64 MiB (kmalloc 4 MiB), which allocates and zeroes, against a DMA-BUF
 * system heap allocation of the same size, which zeroes its pages too;
 * the best of four each.
 *
 * Cache modes, for the "vmalloc" backend at 4 MiB: sequential read and
 * write through a mapping of the buffer in each mode the machine offers
 * (cached, write-combine, uncached), GB/s, the best of three passes, and
 * read() of the whole buffer (through the kernel's direct map, of the same
 * type).  QEMU's TCG does not emulate caches, write-combining buffers or
 * memory types: under it the modes measure the same, and the figures mean
 * something only on a real host.
 *
 * Every figure is the median of REPS repetitions in one boot; the
 * subjects take turns within each repetition, so drifts of the emulated
 * CPU hit all of them alike, and a target's ratio is the median of the
 * ratios taken in each repetition.  Where a figure is the better of
 * several runs, it is because being scheduled out on a shared host only
 * ever adds time.  Output: the tables and the targets, then the JSON
 * between @@BENCH-JSON markers.
 *
 * Usage: mmapper-bench [REPS]   (as root, module loaded, 6.12 for the peers)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-heap.h>
#include <linux/mmapper.h>
#include <linux/udmabuf.h>

#define MiB		(1UL << 20)
#define MAX_REPS	15

enum kind { MMAPPER, ANON, ANON_THP, UDMABUF, DMA_HEAP, FLOOR, READ_COPY };

struct subject {
	const char *name;
	enum kind kind;
	const char *backend;	/* MMAPPER */
	int only_small;		/* kmalloc: 4 MiB at most */
	const char *around;	/* vmalloc-fault: pages per fault */
};

/*
 * The first subject of each backend is also the one measured on the copy
 * path and for the size change.
 */
static const struct subject subjects[] = {
	{ .name = "kmalloc", .kind = MMAPPER, .backend = "kmalloc", .only_small = 1 },
	{ .name = "vmalloc", .kind = MMAPPER, .backend = "vmalloc" },
	{ .name = "vmalloc-fault", .kind = MMAPPER, .backend = "vmalloc-fault",
	  .around = "64" },
	{ .name = "vmalloc-fault-1", .kind = MMAPPER, .backend = "vmalloc-fault",
	  .around = "1" },
	{ .name = "vmalloc-fault-16", .kind = MMAPPER, .backend = "vmalloc-fault",
	  .around = "16" },
	{ .name = "vmalloc-user", .kind = MMAPPER, .backend = "vmalloc-user" },
	{ .name = "pages", .kind = MMAPPER, .backend = "pages" },
	{ .name = "huge", .kind = MMAPPER, .backend = "huge" },
	{ .name = "anon-4k", .kind = ANON },
	{ .name = "anon-thp", .kind = ANON_THP },
	{ .name = "memfd-udmabuf", .kind = UDMABUF },
	{ .name = "dma-heap-system", .kind = DMA_HEAP },
	{ .name = "floor", .kind = FLOOR },
	{ .name = "read()", .kind = READ_COPY },
};

#define NR_SUBJECTS	(sizeof(subjects) / sizeof(subjects[0]))

static const size_t sizes[] = { 4 * MiB, 64 * MiB };
#define NR_SIZES	2

static const size_t calls[] = { 4096, 64 * 1024, MiB };
static const char *const call_names[] = { "4 KiB", "64 KiB", "1 MiB" };
#define NR_CALLS	3

struct sample {
	double touch, again, populate, minflt, read, write;
};

struct copy_sample {
	double read, write, memfd_read, memfd_write;	/* GB/s */
	double read_ratio, write_ratio;	/* the median of the turns' */
};

struct resize_sample {
	double set_size, heap;	/* ms */
	double zero;		/* ms: MMAPPER_IOC_FILL of 0 over the new size */
};

/*
 * Map-path ratios measured in pairs: the two subjects' map + touch rounds
 * alternate, so that both meet the same host.
 */
static const struct pair {
	const char *num, *den;
	size_t size;
} pairs[] = {
	{ "pages", "dma-heap-system", 4 * MiB },
	{ "pages", "dma-heap-system", 64 * MiB },
	{ "huge", "dma-heap-system", 64 * MiB },
	{ "huge", "floor", 64 * MiB },
	{ "vmalloc-fault", "memfd-udmabuf", 64 * MiB },
	{ "vmalloc-fault-16", "memfd-udmabuf", 64 * MiB },
};

#define NR_PAIRS	(sizeof(pairs) / sizeof(pairs[0]))

struct pair_sample {
	double num, den;	/* touch, ns per MiB */
};

static struct sample samples[NR_SUBJECTS][NR_SIZES][MAX_REPS];
static struct pair_sample pair_samples[NR_PAIRS][MAX_REPS];
static int pair_ok[NR_PAIRS];
static int available[NR_SUBJECTS];
static struct copy_sample copies[NR_SUBJECTS][NR_CALLS][MAX_REPS];
static int copy_ok[NR_SUBJECTS];
static struct resize_sample resizes[NR_SUBJECTS][MAX_REPS];

static const char *const cache_names[] = { "cached", "write-combine", "uncached" };
#define NR_CACHES	3
#define CACHE_SIZE	(4 * MiB)

struct cache_sample {
	double read, write, copy;	/* GB/s: mapping, mapping, read() */
};

static struct cache_sample cache_samples[NR_CACHES][MAX_REPS];
static int cache_ok[NR_CACHES];
static int resize_ok[NR_SUBJECTS];
static long floor_thp_kib[NR_SIZES];	/* the least seen; -1: unknown */
static int memfds[NR_SIZES];
static unsigned char *ubuf;		/* the copy path's user buffer */
static long page;
static int reps;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

#define FAULT_AROUND	"/sys/module/mmapper/parameters/fault_around"

/* fault_around as the bench found it, given back at the end. */
static char fault_around_was[16];

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) < 0)
		ret = -1;
	close(fd);
	return ret;
}

/* The device and the parameter as a bench run leaves them. */
static void restore(void)
{
	write_file("/sys/class/mmapper/mmapper0/size", "1M");
	if (fault_around_was[0])
		write_file(FAULT_AROUND, fault_around_was);
}

/* The first line of @path into @buf, without its newline; "" if none. */
static void read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* The size measured for the backend of subject @s. */
static size_t backend_size(unsigned int s)
{
	return subjects[s].only_small ? 4 * MiB : 64 * MiB;
}

/* Is @s the first subject of its backend? */
static int is_backend(unsigned int s)
{
	unsigned int i;

	if (subjects[s].kind != MMAPPER)
		return 0;
	for (i = 0; i < s; i++)
		if (subjects[i].kind == MMAPPER &&
		    !strcmp(subjects[i].backend, subjects[s].backend))
			return 0;
	return 1;
}

static int subject_index(const char *name)
{
	unsigned int s;

	for (s = 0; s < NR_SUBJECTS; s++)
		if (!strcmp(subjects[s].name, name))
			return s;
	return -1;
}

static int size_index(size_t size)
{
	int z;

	for (z = 0; z < NR_SIZES; z++)
		if (sizes[z] == size)
			return z;
	return -1;
}

/*
 * An object of @size for @s that can be mapped: its fd (-1 for anonymous
 * memory), or -2 when the subject is not available here.
 */
static int object_open(const struct subject *s, size_t size)
{
	char val[32];
	int fd, memfd, heap;

	switch (s->kind) {
	case MMAPPER:
	case READ_COPY:
		if (s->around &&
		    write_file(FAULT_AROUND, s->around))
			return -2;
		/* Small first: kmalloc cannot take a 64 MiB buffer over. */
		snprintf(val, sizeof(val), "%zu", size);
		write_file("/sys/class/mmapper/mmapper0/size", "4096");
		if (write_file("/sys/class/mmapper/mmapper0/backend",
			       s->kind == MMAPPER ? s->backend : "vmalloc") ||
		    write_file("/sys/class/mmapper/mmapper0/size", val))
			return -2;
		return open("/dev/mmapper0", O_RDWR);
	case ANON:
	case ANON_THP:
	case FLOOR:
		return -1;
	case UDMABUF: {
		struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC };

		memfd = memfd_create("bench", MFD_ALLOW_SEALING);
		if (memfd < 0 || ftruncate(memfd, size) ||
		    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
			return -2;
		c.memfd = memfd;
		c.size = size;
		fd = open("/dev/udmabuf", O_RDWR);
		if (fd < 0)
			return -2;
		heap = ioctl(fd, UDMABUF_CREATE, &c);
		close(fd);
		close(memfd);
		return heap < 0 ? -2 : heap;
	}
	case DMA_HEAP: {
		struct dma_heap_allocation_data a = {
			.len = size, .fd_flags = O_RDWR | O_CLOEXEC,
		};

		heap = open("/dev/dma_heap/system", O_RDONLY);
		if (heap < 0)
			return -2;
		fd = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a);
		close(heap);
		return fd < 0 ? -2 : (int)a.fd;
	}
	}
	return -2;
}

static void *map(const struct subject *s, int fd, size_t size, int populate)
{
	int flags = populate ? MAP_POPULATE : 0;
	unsigned char *p;

	if (fd == -1) {
		/* Anonymous: 2 MiB aligned, THP asked for or refused. */
		unsigned char *base = mmap(NULL, size + 2 * MiB, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (base == MAP_FAILED)
			return NULL;
		p = (unsigned char *)(((uintptr_t)base + 2 * MiB - 1) & ~(2 * MiB - 1));
		if (p > base)
			munmap(base, p - base);
		munmap(p + size, base + size + 2 * MiB - (p + size));
		madvise(p, size, s->kind == ANON ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
		if (populate)
			madvise(p, size, MADV_POPULATE_WRITE);
		return p;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | flags, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* KiB of the anonymous mapping at @p that are in 2 MiB pages; -1: unknown. */
static long thp_kib(const void *p)
{
	unsigned long start, end;
	char line[256], perms[8];
	long kib = -1;
	int in = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3)
			in = start <= (uintptr_t)p && (uintptr_t)p < end;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

static double gbps(size_t bytes, double ns)
{
	return ns > 0 ? bytes / ns : 0;
}

static double min(double a, double b)
{
	return a < b ? a : b;
}

/* One write per page of @p, ns per MiB. */
static double touch(unsigned char *p, size_t size, unsigned char v)
{
	double t0 = now();
	size_t i;

	for (i = 0; i < size; i += page)
		p[i] = v;
	return (now() - t0) / (size / MiB);
}

/*
 * mmap() @fd + one write per page: the mapping, its cost in ns per MiB in
 * @ns and the minor faults it took in @faults.  For the floor, the
 * entries are all put in place before the clock starts.
 */
static unsigned char *map_touch(const struct subject *s, int fd, size_t size,
				double *ns, double *faults)
{
	unsigned char *p = NULL;
	double t0;
	long f0;
	size_t i;

	if (s->kind == FLOOR)
		p = map(s, fd, size, 1);
	f0 = minflt();
	t0 = now();
	if (s->kind != FLOOR)
		p = map(s, fd, size, 0);
	if (!p)
		return NULL;
	for (i = 0; i < size; i += page)
		p[i] = (unsigned char)i;
	*ns = (now() - t0) / (size / MiB);
	*faults = minflt() - f0;
	return p;
}

/* One measurement of @s at @size into @out; 0, or -1 if unavailable. */
static int measure(const struct subject *s, size_t size, struct sample *out)
{
	static unsigned char *copybuf;
	volatile uint64_t sink = 0;
	double t0, t1;
	unsigned char *p = NULL;
	long f0;
	size_t i;
	int fd, pass, round;

	fd = object_open(s, size);
	if (fd == -2)
		return -1;

	if (s->kind == READ_COPY) {
		/* The same bytes through read(), into a buffer faulted in before. */
		if (!copybuf) {
			copybuf = malloc(64 * MiB);
			memset(copybuf, 1, 64 * MiB);
		}
		f0 = minflt();
		t0 = now();
		for (i = 0; i < size; ) {
			ssize_t n = pread(fd, copybuf + i, size - i, i);

			if (n <= 0)
				break;
			i += n;
		}
		t1 = now();
		out->touch = (t1 - t0) / (size / MiB);
		out->again = out->touch;
		out->populate = out->touch;
		out->minflt = minflt() - f0;
		out->read = gbps(size, t1 - t0);
		t0 = now();
		pwrite(fd, copybuf, size, 0);
		out->write = gbps(size, now() - t0);
		close(fd);
		return 0;
	}

	/*
	 * mmap() + one write per page, three times: the best counts, as being
	 * scheduled out on a shared host only ever adds time.
	 */
	p = map_touch(s, fd, size, &out->touch, &out->minflt);
	for (round = 1; p && round < 3; round++) {
		double t, f;

		munmap(p, size);
		p = map_touch(s, fd, size, &t, &f);
		out->touch = min(t, out->touch);
	}
	if (!p) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	out->again = touch(p, size, 1);
	if (s->kind == FLOOR) {
		long kib = thp_kib(p);
		int z = size_index(size);

		if (kib < floor_thp_kib[z])
			floor_thp_kib[z] = kib;
	}

	/*
	 * Sequential read and write through the mapping, now populated: the
	 * best of three passes, the steady state once the emulated TLB is warm.
	 */
	out->read = out->write = 0;
	for (pass = 0; pass < 3; pass++) {
		double r, w;

		t0 = now();
		for (i = 0; i < size; i += sizeof(uint64_t))
			sink += *(uint64_t *)(p + i);
		r = gbps(size, now() - t0);
		t0 = now();
		memset(p, 0x5a + pass, size);
		w = gbps(size, now() - t0);
		out->read = r > out->read ? r : out->read;
		out->write = w > out->write ? w : out->write;
	}
	munmap(p, size);

	/*
	 * mmap(MAP_POPULATE) and the same first writes: populating goes
	 * through get_user_pages(), which VM_PFNMAP mappings refuse (silently:
	 * MAP_POPULATE ignores errors), so they still fault on the writes.
	 * The floor has nothing left to populate: its column is the touch.
	 */
	if (s->kind == FLOOR) {
		out->populate = out->touch;
		(void)sink;
		return 0;
	}
	t0 = now();
	p = map(s, fd, size, 1);
	if (p)
		for (i = 0; i < size; i += page)
			p[i] = (unsigned char)i;
	t1 = now();
	out->populate = p ? (t1 - t0) / (size / MiB) : 0;
	if (p)
		munmap(p, size);
	if (fd >= 0)
		close(fd);
	(void)sink;
	return 0;
}

/*
 * Pair @p, repetition @r: three map + touch rounds of each subject, taking
 * turns (ABABAB, BABABA every other repetition), the best of each.
 */
static void measure_pair(unsigned int p, int r)
{
	const struct subject *s[2] = {
		&subjects[subject_index(pairs[p].num)],
		&subjects[subject_index(pairs[p].den)],
	};
	double best[2] = { 0, 0 }, t, f;
	size_t size = pairs[p].size;
	unsigned char *m;
	int fd[2], k, i;

	fd[0] = object_open(s[0], size);
	fd[1] = object_open(s[1], size);
	for (i = 0; i < 6 && fd[0] != -2 && fd[1] != -2; i++) {
		k = (i + r) % 2;
		m = map_touch(s[k], fd[k], size, &t, &f);
		if (!m)
			break;
		munmap(m, size);
		best[k] = i < 2 ? t : min(t, best[k]);
	}
	for (k = 0; k < 2; k++)
		if (fd[k] >= 0)
			close(fd[k]);
	if (i < 6)
		pair_ok[p] = 0;
	pair_samples[p][r].num = best[0];
	pair_samples[p][r].den = best[1];
}

/* The copy path's device and memfd take turns a segment at a time. */
#define SEGMENT		MiB
#define COPY_BYTES	(64 * MiB)

/*
 * @bytes at @off of @fd, @call bytes per call: write() or read() at the
 * file position for the device, pwrite() or pread() at @off for the
 * memfd.  The ns it took, or -1 if a call moved less than @call.
 */
static double copy_segment(int fd, int device, size_t off, size_t bytes,
			   size_t call, int to_file)
{
	size_t end = off + bytes;
	double t0 = now();
	ssize_t n;

	for (; off < end; off += call) {
		if (device)
			n = to_file ? write(fd, ubuf, call) : read(fd, ubuf, call);
		else
			n = to_file ? pwrite(fd, ubuf, call, off) : pread(fd, ubuf, call, off);
		if (n != (ssize_t)call)
			return -1;
	}
	return now() - t0;
}

static double median_n(double *v, int n);

/*
 * 64 MiB through the device @fd and through @memfd, both @size bytes
 * (passes over them from the start, as many as it takes), @call bytes per
 * call, written or read, taking turns a segment at a time so that both
 * meet the same host: GB/s of each, and in @ratio the median over the
 * turns of device / memfd throughput, which a turn disturbed by the host
 * barely moves; all 0 on error.
 */
static void copy_passes(int fd, int memfd, size_t size, size_t call, int to_file,
			int device_first, double *device_gbps, double *memfd_gbps,
			double *ratio)
{
	size_t seg = call > SEGMENT ? call : SEGMENT, done, off;
	double ns[2] = { 0, 0 }, turn[2], ratios[COPY_BYTES / SEGMENT];
	int k, device, n = 0;

	*device_gbps = *memfd_gbps = *ratio = 0;
	for (done = 0; done < COPY_BYTES; done += seg) {
		off = done % size;
		if (!off && lseek(fd, 0, SEEK_SET))
			return;
		for (k = 0; k < 2; k++) {
			device = (k == 0) == device_first;
			turn[device] = copy_segment(device ? fd : memfd, device, off, seg,
						    call, to_file);
			if (turn[device] < 0)
				return;
			ns[device] += turn[device];
		}
		ratios[n++] = turn[0] / turn[1];
	}
	*device_gbps = gbps(COPY_BYTES, ns[1]);
	*memfd_gbps = gbps(COPY_BYTES, ns[0]);
	*ratio = median_n(ratios, n);
}

/* The copy path of the backend of subject @s, repetition @r. */
static void measure_copy(unsigned int s, int r)
{
	size_t size = backend_size(s);
	int memfd = memfds[size_index(size)];
	unsigned int c;
	int fd;

	fd = object_open(&subjects[s], size);
	if (fd < 0) {
		copy_ok[s] = 0;
		return;
	}
	for (c = 0; c < NR_CALLS; c++) {
		struct copy_sample *x = &copies[s][c][r];
		/* Each goes first in every other pass. */
		int device_first = (r + c) % 2 == 0;

		copy_passes(fd, memfd, size, calls[c], 1, device_first,
			    &x->write, &x->memfd_write, &x->write_ratio);
		copy_passes(fd, memfd, size, calls[c], 0, device_first,
			    &x->read, &x->memfd_read, &x->read_ratio);
		if (!x->read_ratio || !x->write_ratio)
			copy_ok[s] = 0;
	}
	close(fd);
}

/*
 * Cache mode @c, repetition @r: the "vmalloc" backend at 4 MiB given that
 * mode (unmapped, as a change needs), then read and write through a
 * mapping and read() of the whole buffer, the best of three each.
 */
static void measure_cache(unsigned int c, int r)
{
	struct cache_sample *out = &cache_samples[c][r];
	volatile uint64_t sink = 0;
	static unsigned char *copybuf;
	unsigned char *p;
	size_t i;
	int fd, pass;

	if (!copybuf) {
		copybuf = malloc(CACHE_SIZE);
		if (!copybuf)
			goto fail;
		memset(copybuf, 1, CACHE_SIZE);
	}
	fd = object_open(&subjects[subject_index("vmalloc")], CACHE_SIZE);
	if (fd < 0)
		goto fail;
	if (write_file("/sys/class/mmapper/mmapper0/cache", cache_names[c])) {
		close(fd);
		goto fail;
	}
	p = mmap(NULL, CACHE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		goto fail;
	}
	memset(out, 0, sizeof(*out));
	for (pass = 0; pass < 3; pass++) {
		double t0 = now(), v;

		for (i = 0; i < CACHE_SIZE; i += sizeof(uint64_t))
			sink += *(uint64_t *)(p + i);
		v = gbps(CACHE_SIZE, now() - t0);
		out->read = v > out->read ? v : out->read;
		t0 = now();
		memset(p, 0x5a + pass, CACHE_SIZE);
		v = gbps(CACHE_SIZE, now() - t0);
		out->write = v > out->write ? v : out->write;
		t0 = now();
		if (pread(fd, copybuf, CACHE_SIZE, 0) != (ssize_t)CACHE_SIZE) {
			munmap(p, CACHE_SIZE);
			close(fd);
			goto fail;
		}
		v = gbps(CACHE_SIZE, now() - t0);
		out->copy = v > out->copy ? v : out->copy;
	}
	munmap(p, CACHE_SIZE);
	close(fd);
	write_file("/sys/class/mmapper/mmapper0/cache", "cached");
	(void)sink;
	return;
fail:
	cache_ok[c] = 0;
}

static double field(const void *x, size_t off);

static double cache_median(int c, size_t off)
{
	double v[MAX_REPS];
	int r;

	for (r = 0; r < reps; r++)
		v[r] = field(&cache_samples[c][r], off);
	return median_n(v, reps);
}

static double ms_since(double t0)
{
	return (now() - t0) / 1e6;
}

/* A system heap allocation of @size, ms (freeing it not timed); 0: none. */
static double heap_alloc_ms(size_t size)
{
	struct dma_heap_allocation_data a = {
		.len = size, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	double t0, ms = 0;
	int heap;

	heap = open("/dev/dma_heap/system", O_RDONLY);
	if (heap < 0)
		return 0;
	t0 = now();
	if (!ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a)) {
		ms = ms_since(t0);
		close(a.fd);
	}
	close(heap);
	return ms;
}

/* ioctl @req of @fd with @arg, ms; 0 if refused. */
static double ioctl_ms(int fd, unsigned long req, void *arg)
{
	double t0 = now();

	if (ioctl(fd, req, arg))
		return 0;
	return ms_since(t0);
}

/* MMAPPER_IOC_SET_SIZE to @size, ms; 0 if refused. */
static double set_size_ms(int fd, size_t size)
{
	struct mmapper_set_size arg = { .size = sizeof(arg), .buf_size = size };

	return ioctl_ms(fd, MMAPPER_IOC_SET_SIZE, &arg);
}

/*
 * MMAPPER_IOC_FILL of zeroes over the first @size bytes, ms; 0 if refused:
 * memset() of the bytes that both sides of the size change zero (Debian's
 * kernels zero every page they hand out, with clear_pages()).
 */
static double zero_ms(int fd, size_t size)
{
	struct mmapper_range r = { .size = sizeof(r), .length = size };

	return ioctl_ms(fd, MMAPPER_IOC_FILL, &r);
}

/* Tries of each side of a size change per repetition. */
#define RESIZE_TRIES	4

/*
 * The size change of the backend of subject @s, repetition @r: the best
 * of RESIZE_TRIES each, in the order ABBAABBA (BAABBAAB every other
 * repetition), as being scheduled out on a shared host only ever adds
 * time.
 */
static void measure_resize(unsigned int s, int r)
{
	struct resize_sample *x = &resizes[s][r];
	size_t size = backend_size(s);
	double heap[RESIZE_TRIES], set_size[RESIZE_TRIES], zero[RESIZE_TRIES];
	int fd, k;

	fd = object_open(&subjects[s], page);
	if (fd < 0) {
		resize_ok[s] = 0;
		return;
	}
	for (k = 0; k < RESIZE_TRIES; k++) {
		if ((k + r) % 2)
			heap[k] = heap_alloc_ms(size);
		set_size[k] = set_size_ms(fd, size);
		zero[k] = zero_ms(fd, size);
		set_size_ms(fd, page);
		if (!((k + r) % 2))
			heap[k] = heap_alloc_ms(size);
	}
	close(fd);
	x->heap = heap[0];
	x->set_size = set_size[0];
	x->zero = zero[0];
	for (k = 1; k < RESIZE_TRIES; k++) {
		x->heap = min(x->heap, heap[k]);
		x->set_size = min(x->set_size, set_size[k]);
		x->zero = min(x->zero, zero[k]);
	}
	/* A refused one is 0, and so is the least. */
	if (!x->set_size || !x->heap || !x->zero)
		resize_ok[s] = 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @v[0..n-1], which it sorts. */
static double median_n(double *v, int n)
{
	qsort(v, n, sizeof(v[0]), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double median_of(double *v)
{
	return median_n(v, reps);
}

static double field(const void *x, size_t off)
{
	return *(const double *)((const char *)x + off);
}

static double median(int subj, int sz, size_t off)
{
	double v[MAX_REPS];
	int r;

	for (r = 0; r < reps; r++)
		v[r] = field(&samples[subj][sz][r], off);
	return median_of(v);
}

static double copy_median(int s, int c, size_t off)
{
	double v[MAX_REPS];
	int r;

	for (r = 0; r < reps; r++)
		v[r] = field(&copies[s][c][r], off);
	return median_of(v);
}

static double resize_median(int s, size_t off)
{
	double v[MAX_REPS];
	int r;

	for (r = 0; r < reps; r++)
		v[r] = field(&resizes[s][r], off);
	return median_of(v);
}

static double resize_ratio(int s)
{
	double v[MAX_REPS];
	int r;

	for (r = 0; r < reps; r++)
		v[r] = resizes[s][r].set_size / resizes[s][r].heap;
	return median_of(v);
}

static double pair_median(int p, size_t off)
{
	double v[MAX_REPS];
	int r;

	for (r = 0; r < reps; r++)
		v[r] = field(&pair_samples[p][r], off);
	return median_of(v);
}

static double pair_ratio(int p)
{
	double v[MAX_REPS];
	int r;

	for (r = 0; r < reps; r++)
		v[r] = pair_samples[p][r].num / pair_samples[p][r].den;
	return median_of(v);
}

/* Targets: each a median over the repetitions, held against a limit. */
struct target {
	char what[96];
	const char *group;	/* "map", "copy", "size" */
	int issue;		/* the issue that set it; 0: the first bench */
	int at_most;		/* value <= limit, else value >= limit */
	double limit;
	const char *unit;	/* "ratio", "faults" */
	int available;
	double value;		/* the median of per_rep */
	double per_rep[MAX_REPS];
};

#define MAX_TARGETS	96
static struct target targets[MAX_TARGETS];
static int nr_targets;

static struct target *target_add(const char *group, int issue, int at_most,
				 double limit, const char *fmt, ...)
{
	struct target *t = &targets[nr_targets++];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->what, sizeof(t->what), fmt, ap);
	va_end(ap);
	t->group = group;
	t->issue = issue;
	t->at_most = at_most;
	t->limit = limit;
	t->unit = "ratio";
	return t;
}

/* @t's figure of each repetition in @v, and its value, their median. */
static void target_set(struct target *t, const double *v)
{
	double sorted[MAX_REPS];

	memcpy(t->per_rep, v, reps * sizeof(v[0]));
	memcpy(sorted, v, reps * sizeof(v[0]));
	t->value = median_of(sorted);
}

/* The pair that measures @num against @den at @size, or -1. */
static int pair_index(const char *num, const char *den, size_t size)
{
	unsigned int p;

	for (p = 0; p < NR_PAIRS; p++)
		if (!strcmp(pairs[p].num, num) && !strcmp(pairs[p].den, den) &&
		    pairs[p].size == size)
			return p;
	return -1;
}

/*
 * A map-path target: @num / @den of field @off at @mib, per repetition;
 * from their pair's rounds where they have one.
 */
static void map_target(int issue, const char *num, const char *den, int mib,
		       size_t off, int at_most, double limit, const char *what)
{
	int a = subject_index(num), b = subject_index(den);
	int z = size_index(mib * MiB), r, p = -1;
	struct target *t;
	double v[MAX_REPS];

	if (off == offsetof(struct sample, touch))
		p = pair_index(num, den, mib * MiB);
	t = target_add("map", issue, at_most, limit, "%s: %s, %d MiB", num, what, mib);
	t->available = a >= 0 && b >= 0 && available[a] && available[b] &&
		       (p < 0 || pair_ok[p]);
	if (!t->available)
		return;
	for (r = 0; r < reps; r++)
		v[r] = p >= 0 ? pair_samples[p][r].num / pair_samples[p][r].den :
		       field(&samples[a][z][r], off) / field(&samples[b][z][r], off);
	target_set(t, v);
}

static void targets_evaluate(void)
{
	static const char *const seq[] = { "read()", "write()" };
	const size_t touch_off = offsetof(struct sample, touch);
	int huge = subject_index("huge"), mib, c, k, r;
	double v[MAX_REPS];
	unsigned int s;
	struct target *t;

	/* The first bench's: the map path against its peers. */
	for (mib = 4; mib <= 64; mib *= 16)
		map_target(0, "pages", "dma-heap-system", mib, touch_off, 1, 1.0,
			   "map + touch / system heap");
	map_target(0, "huge", "dma-heap-system", 64, touch_off, 1, 0.25,
		   "map + touch / system heap");
	t = target_add("map", 0, 1, 32, "huge: faults, 64 MiB (one per 2 MiB)");
	t->unit = "faults";
	t->available = available[huge];
	if (t->available) {
		for (r = 0; r < reps; r++)
			v[r] = samples[huge][size_index(64 * MiB)][r].minflt;
		target_set(t, v);
	}
	for (mib = 4; mib <= 64; mib *= 16)
		map_target(0, "vmalloc-fault", "vmalloc-fault-1", mib, touch_off, 1, 0.5,
			   "map + touch / fault_around=1");
	for (k = 0; k < 2; k++)
		for (s = 0; s < NR_SUBJECTS; s++)
			if (is_backend(s))
				map_target(0, subjects[s].name, "anon-4k", backend_size(s) / MiB,
					   k ? offsetof(struct sample, write) :
					   offsetof(struct sample, read), 0, 0.9,
					   k ? "sequential write / anonymous memory" :
					   "sequential read / anonymous memory");

	/* Issue 18: the map path toward its floor. */
	map_target(18, "huge", "floor", 64, touch_off, 1, 2.0, "map + touch / floor");
	map_target(18, "huge", "dma-heap-system", 64, touch_off, 1, 0.1,
		   "map + touch / system heap");
	map_target(18, "pages", "dma-heap-system", 64, touch_off, 1, 0.3,
		   "map + touch / system heap");
	map_target(18, "vmalloc-fault", "memfd-udmabuf", 64, touch_off, 1, 0.15,
		   "map + touch / memfd + udmabuf");

	/* Issue 18: the copy path against a memfd. */
	for (k = 0; k < 2; k++)
		for (c = 0; c < NR_CALLS; c++)
			for (s = 0; s < NR_SUBJECTS; s++) {
				if (!is_backend(s))
					continue;
				t = target_add("copy", 18, 0, 0.9,
					       "%s: %s / memfd %s, %s calls, %zu MiB",
					       subjects[s].name, seq[k], k ? "pwrite()" : "pread()",
					       call_names[c], backend_size(s) / MiB);
				t->available = copy_ok[s];
				if (!t->available)
					continue;
				for (r = 0; r < reps; r++)
					v[r] = k ? copies[s][c][r].write_ratio :
						   copies[s][c][r].read_ratio;
				target_set(t, v);
			}

	/* Issue 18: a size change against the system heap. */
	for (s = 0; s < NR_SUBJECTS; s++) {
		if (!is_backend(s))
			continue;
		t = target_add("size", 18, 1, 1.0,
			       "%s: size change to %zu MiB / system heap allocation",
			       subjects[s].name, backend_size(s) / MiB);
		t->available = resize_ok[s];
		if (!t->available)
			continue;
		for (r = 0; r < reps; r++)
			v[r] = resizes[s][r].set_size / resizes[s][r].heap;
		target_set(t, v);
	}
}

static int target_met(const struct target *t)
{
	return t->at_most ? t->value <= t->limit : t->value >= t->limit;
}

static void targets_print(void)
{
	int i, held = 0, counted = 0, held18 = 0, counted18 = 0;

	printf("\ntargets: the median over %d repetitions of the ratio in each\n", reps);
	for (i = 0; i < nr_targets; i++) {
		const struct target *t = &targets[i];
		char issue[16] = "";

		if (t->issue)
			snprintf(issue, sizeof(issue), ", issue %d", t->issue);
		if (!t->available) {
			printf("n/a   %-62s  not available on this kernel\n", t->what);
			continue;
		}
		counted++;
		held += target_met(t);
		if (t->issue == 18) {
			counted18++;
			held18 += target_met(t);
		}
		if (!strcmp(t->unit, "faults"))
			printf("%s  %-62s %7.0f  (target %s %.0f%s)\n",
			       target_met(t) ? "PASS" : "FAIL", t->what, t->value,
			       t->at_most ? "<=" : ">=", t->limit, issue);
		else
			printf("%s  %-62s %7.3f  (target %s %.2f%s)\n",
			       target_met(t) ? "PASS" : "FAIL", t->what, t->value,
			       t->at_most ? "<=" : ">=", t->limit, issue);
	}
	printf("targets: %d of %d hold (issue 18: %d of %d)\n", held, counted, held18, counted18);
}

static void tables_print(void)
{
	unsigned int s, z, c, p;

	printf("%-16s %5s %12s %12s %12s %8s %8s %8s\n", "subject", "MiB", "touch ns/MiB",
	       "again ns/MiB", "popul ns/MiB", "minflt", "rd GB/s", "wr GB/s");
	for (s = 0; s < NR_SUBJECTS; s++) {
		if (!available[s]) {
			printf("%-16s  not available on this kernel\n", subjects[s].name);
			continue;
		}
		for (z = 0; z < NR_SIZES; z++) {
			if (subjects[s].only_small && sizes[z] > 4 * MiB)
				continue;
			printf("%-16s %5zu %12.0f %12.0f %12.0f %8.0f %8.2f %8.2f\n",
			       subjects[s].name, sizes[z] / MiB,
			       median(s, z, offsetof(struct sample, touch)),
			       median(s, z, offsetof(struct sample, again)),
			       median(s, z, offsetof(struct sample, populate)),
			       median(s, z, offsetof(struct sample, minflt)),
			       median(s, z, offsetof(struct sample, read)),
			       median(s, z, offsetof(struct sample, write)));
		}
	}
	for (z = 0; z < NR_SIZES; z++)
		if (available[subject_index("floor")] && floor_thp_kib[z] * 1024L < (long)sizes[z])
			printf("floor, %zu MiB: %ld KiB in 2 MiB pages in one repetition (-1: unknown)\n",
			       sizes[z] / MiB, floor_thp_kib[z]);

	printf("\nmap + touch in pairs, taking turns, ns per MiB; ratio: the median of each repetition's\n");
	printf("%-16s %-16s %5s %12s %12s %6s\n", "subject", "against", "MiB", "subject", "against",
	       "ratio");
	for (p = 0; p < NR_PAIRS; p++) {
		if (!pair_ok[p]) {
			printf("%-16s %-16s  not available on this kernel\n", pairs[p].num,
			       pairs[p].den);
			continue;
		}
		printf("%-16s %-16s %5zu %12.0f %12.0f %6.3f\n", pairs[p].num, pairs[p].den,
		       pairs[p].size / MiB, pair_median(p, offsetof(struct pair_sample, num)),
		       pair_median(p, offsetof(struct pair_sample, den)), pair_ratio(p));
	}

	printf("\ncopy path: GB/s, 64 MiB through the buffer and through a memfd of the same size,\n"
	       "taking turns 1 MiB at a time; ratio: the median of the turns' device / memfd\n");
	printf("%-16s %6s %8s %8s %6s %8s %8s %6s\n", "backend", "call", "read()", "pread()",
	       "ratio", "write()", "pwrite()", "ratio");
	for (s = 0; s < NR_SUBJECTS; s++) {
		if (!is_backend(s))
			continue;
		if (!copy_ok[s]) {
			printf("%-16s  not available on this kernel\n", subjects[s].name);
			continue;
		}
		for (c = 0; c < NR_CALLS; c++)
			printf("%-16s %6s %8.3f %8.3f %6.2f %8.3f %8.3f %6.2f\n",
			       subjects[s].name, call_names[c],
			       copy_median(s, c, offsetof(struct copy_sample, read)),
			       copy_median(s, c, offsetof(struct copy_sample, memfd_read)),
			       copy_median(s, c, offsetof(struct copy_sample, read_ratio)),
			       copy_median(s, c, offsetof(struct copy_sample, write)),
			       copy_median(s, c, offsetof(struct copy_sample, memfd_write)),
			       copy_median(s, c, offsetof(struct copy_sample, write_ratio)));
	}

	printf("\ncache modes: backend vmalloc, %lu MiB, through the mapping and read(), GB/s\n"
	       "(QEMU's TCG emulates no caches and no memory types: under it the differences\n"
	       "are noise; see Documentation/performance.rst)\n", CACHE_SIZE / MiB);
	printf("%-16s %8s %8s %8s %8s %8s\n", "mode", "rd GB/s", "/cached", "wr GB/s", "/cached",
	       "read()");
	for (c = 0; c < NR_CACHES; c++) {
		if (!cache_ok[c]) {
			printf("%-16s  not offered here\n", cache_names[c]);
			continue;
		}
		printf("%-16s %8.3f %8.3f %8.3f %8.3f %8.3f\n", cache_names[c],
		       cache_median(c, offsetof(struct cache_sample, read)),
		       cache_median(c, offsetof(struct cache_sample, read)) /
		       cache_median(0, offsetof(struct cache_sample, read)),
		       cache_median(c, offsetof(struct cache_sample, write)),
		       cache_median(c, offsetof(struct cache_sample, write)) /
		       cache_median(0, offsetof(struct cache_sample, write)),
		       cache_median(c, offsetof(struct cache_sample, copy)));
	}

	printf("\nsize change from one page (allocate + zero), ms; system heap allocation next to it;\n"
	       "zero: MMAPPER_IOC_FILL of zeroes over the same bytes (memset()), and its share of\n"
	       "the size change: the allocators zero with clear_pages(), \"rep stosb\" where the CPU\n"
	       "has ERMS, which an emulated CPU may run far slower than memset()'s stores\n");
	printf("%-16s %5s %9s %9s %6s %9s %6s\n", "backend", "MiB", "set size", "heap", "ratio",
	       "zero", "share");
	for (s = 0; s < NR_SUBJECTS; s++) {
		if (!is_backend(s))
			continue;
		if (!resize_ok[s]) {
			printf("%-16s  not available on this kernel\n", subjects[s].name);
			continue;
		}
		printf("%-16s %5zu %9.2f %9.2f %6.2f %9.2f %6.2f\n", subjects[s].name,
		       backend_size(s) / MiB,
		       resize_median(s, offsetof(struct resize_sample, set_size)),
		       resize_median(s, offsetof(struct resize_sample, heap)),
		       resize_ratio(s),
		       resize_median(s, offsetof(struct resize_sample, zero)),
		       resize_median(s, offsetof(struct resize_sample, zero)) /
		       resize_median(s, offsetof(struct resize_sample, set_size)));
	}
}

static void json_print(const char *release)
{
	const char *sep = "";
	unsigned int s, z, c, p;
	int i, r;

	printf("@@BENCH-JSON-BEGIN\n");
	printf("{\"kernel\": \"%s\", \"reps\": %d, \"subjects\": {", release, reps);
	for (s = 0; s < NR_SUBJECTS; s++) {
		if (!available[s])
			continue;
		for (z = 0; z < NR_SIZES; z++) {
			if (subjects[s].only_small && sizes[z] > 4 * MiB)
				continue;
			printf("%s\n  \"%s/%zuM\": {\"name\": \"%s\", \"size_mib\": %zu, "
			       "\"touch_ns_per_mib\": %.0f, \"again_ns_per_mib\": %.0f, "
			       "\"populate_ns_per_mib\": %.0f, "
			       "\"minflt\": %.0f, \"read_gbps\": %.3f, \"write_gbps\": %.3f",
			       sep, subjects[s].name, sizes[z] / MiB,
			       subjects[s].name, sizes[z] / MiB,
			       median(s, z, offsetof(struct sample, touch)),
			       median(s, z, offsetof(struct sample, again)),
			       median(s, z, offsetof(struct sample, populate)),
			       median(s, z, offsetof(struct sample, minflt)),
			       median(s, z, offsetof(struct sample, read)),
			       median(s, z, offsetof(struct sample, write)));
			if (subjects[s].kind == FLOOR)
				printf(", \"thp_kib_least\": %ld", floor_thp_kib[z]);
			printf("}");
			sep = ",";
		}
	}

	printf("\n}, \"pairs\": {");
	sep = "";
	for (p = 0; p < NR_PAIRS; p++) {
		if (!pair_ok[p])
			continue;
		printf("%s\n  \"%s/%s/%zuM\": {\"subject\": \"%s\", \"against\": \"%s\", "
		       "\"size_mib\": %zu, \"touch_ns_per_mib\": %.0f, "
		       "\"against_touch_ns_per_mib\": %.0f, \"ratio\": %.3f}",
		       sep, pairs[p].num, pairs[p].den, pairs[p].size / MiB, pairs[p].num,
		       pairs[p].den, pairs[p].size / MiB,
		       pair_median(p, offsetof(struct pair_sample, num)),
		       pair_median(p, offsetof(struct pair_sample, den)), pair_ratio(p));
		sep = ",";
	}

	printf("\n}, \"copy\": {");
	sep = "";
	for (s = 0; s < NR_SUBJECTS; s++) {
		if (!is_backend(s) || !copy_ok[s])
			continue;
		for (c = 0; c < NR_CALLS; c++) {
			printf("%s\n  \"%s/%zuK\": {\"backend\": \"%s\", \"size_mib\": %zu, "
			       "\"call_kib\": %zu, \"read_gbps\": %.3f, \"memfd_read_gbps\": %.3f, "
			       "\"read_ratio\": %.3f, \"write_gbps\": %.3f, "
			       "\"memfd_write_gbps\": %.3f, \"write_ratio\": %.3f}",
			       sep, subjects[s].name, calls[c] / 1024, subjects[s].name,
			       backend_size(s) / MiB, calls[c] / 1024,
			       copy_median(s, c, offsetof(struct copy_sample, read)),
			       copy_median(s, c, offsetof(struct copy_sample, memfd_read)),
			       copy_median(s, c, offsetof(struct copy_sample, read_ratio)),
			       copy_median(s, c, offsetof(struct copy_sample, write)),
			       copy_median(s, c, offsetof(struct copy_sample, memfd_write)),
			       copy_median(s, c, offsetof(struct copy_sample, write_ratio)));
			sep = ",";
		}
	}

	printf("\n}, \"size_change\": {");
	sep = "";
	for (s = 0; s < NR_SUBJECTS; s++) {
		if (!is_backend(s) || !resize_ok[s])
			continue;
		printf("%s\n  \"%s\": {\"size_mib\": %zu, \"set_size_ms\": %.3f, "
		       "\"heap_ms\": %.3f, \"ratio\": %.3f, \"zero_ms\": %.3f}",
		       sep, subjects[s].name, backend_size(s) / MiB,
		       resize_median(s, offsetof(struct resize_sample, set_size)),
		       resize_median(s, offsetof(struct resize_sample, heap)),
		       resize_ratio(s),
		       resize_median(s, offsetof(struct resize_sample, zero)));
		sep = ",";
	}

	printf("\n}, \"targets\": [");
	for (i = 0; i < nr_targets; i++) {
		const struct target *t = &targets[i];

		printf("%s\n  {\"what\": \"%s\", \"group\": \"%s\", \"issue\": ", i ? "," : "",
		       t->what, t->group);
		if (t->issue)
			printf("%d", t->issue);
		else
			printf("null");
		printf(", \"unit\": \"%s\", \"op\": \"%s\", \"target\": %.2f, ", t->unit,
		       t->at_most ? "<=" : ">=", t->limit);
		if (!t->available) {
			printf("\"value\": null, \"met\": null}");
			continue;
		}
		printf("\"value\": %.3f, \"met\": %s, \"per_rep\": [", t->value,
		       target_met(t) ? "true" : "false");
		for (r = 0; r < reps; r++)
			printf("%s%.3f", r ? ", " : "", t->per_rep[r]);
		printf("]}");
	}
	printf("\n], \"cache_modes\": {");
	sep = "";
	for (c = 0; c < NR_CACHES; c++) {
		if (!cache_ok[c])
			continue;
		printf("%s\n  \"%s\": {\"backend\": \"pages\", \"size_mib\": %lu, "
		       "\"read_gbps\": %.3f, \"write_gbps\": %.3f, \"read_call_gbps\": %.3f}",
		       sep, cache_names[c], CACHE_SIZE / MiB,
		       cache_median(c, offsetof(struct cache_sample, read)),
		       cache_median(c, offsetof(struct cache_sample, write)),
		       cache_median(c, offsetof(struct cache_sample, copy)));
		sep = ",";
	}
	printf("\n}}\n@@BENCH-JSON-END\n");
}

/*
 * The copy path's user buffer and the memfds it is held against, one per
 * size, filled: new ones for every repetition, so that no one placement
 * of their pages in guest memory decides every repetition.
 */
static int copy_setup(void)
{
	size_t off;
	int z;

	if (ubuf) {
		munmap(ubuf, MiB);
		for (z = 0; z < NR_SIZES; z++)
			close(memfds[z]);
	}
	ubuf = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ubuf == MAP_FAILED)
		return -1;
	memset(ubuf, 0xa5, MiB);
	for (z = 0; z < NR_SIZES; z++) {
		memfds[z] = memfd_create("bench-copy", MFD_CLOEXEC);
		if (memfds[z] < 0 || ftruncate(memfds[z], sizes[z]))
			return -1;
		for (off = 0; off < sizes[z]; off += MiB)
			if (pwrite(memfds[z], ubuf, MiB, off) != (ssize_t)MiB)
				return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int backends[NR_SUBJECTS], nb = 0, i, s, z, p;
	struct utsname u;
	int r;

	reps = argc > 1 ? atoi(argv[1]) : 5;
	if (reps < 1 || reps > MAX_REPS)
		reps = 5;
	page = sysconf(_SC_PAGESIZE);
	uname(&u);
	read_line(FAULT_AROUND, fault_around_was, sizeof(fault_around_was));

	for (s = 0; s < NR_SUBJECTS; s++) {
		available[s] = copy_ok[s] = resize_ok[s] = 1;
		if (is_backend(s))
			backends[nb++] = s;
	}
	for (p = 0; p < NR_PAIRS; p++)
		pair_ok[p] = 1;
	for (i = 0; i < NR_CACHES; i++)
		cache_ok[i] = 1;
	for (z = 0; z < NR_SIZES; z++)
		floor_thp_kib[z] = sizes[z] / 1024;

	for (r = 0; r < reps; r++) {
		for (s = 0; s < NR_SUBJECTS; s++) {
			for (z = 0; z < NR_SIZES; z++) {
				if (subjects[s].only_small && sizes[z] > 4 * MiB)
					continue;
				if (measure(&subjects[s], sizes[z], &samples[s][z][r]))
					available[s] = 0;
			}
		}
		for (p = 0; p < NR_PAIRS; p++)
			measure_pair(p, r);
		if (copy_setup()) {
			perror("mmapper-bench: copy path");
			restore();
			return 1;
		}
		/* The backends take turns, from a different one each time. */
		for (i = 0; i < nb; i++)
			measure_copy(backends[(i + r) % nb], r);
		for (i = 0; i < nb; i++)
			measure_resize(backends[(i + r) % nb], r);
		for (i = 0; i < NR_CACHES; i++)
			measure_cache((i + r) % NR_CACHES, r);
		fprintf(stderr, "bench: repetition %d of %d done\n", r + 1, reps);
	}
	restore();

	targets_evaluate();
	tables_print();
	targets_print();
	json_print(u.release);
	return 0;
}
