// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper-bench: what it costs to hand memory to user space, each mmapper
 * backend against its peers, measured in one boot, interleaved and
 * repeated.  Run by "make bench" in a VM (scripts/bench.sh).
 *
 * For each subject and size:
 *   touch    mmap() + one write per page, ns per MiB (the object exists
 *            already: allocation is not timed, except for anonymous
 *            memory, whose pages come with the first touch)
 *   populate mmap(MAP_POPULATE) + the same writes, ns per MiB
 *   minflt   minor faults taken by the touch
 *   read     sequential read through the mapping, GB/s
 *   write    sequential write through the mapping, GB/s
 * The "read()" subject copies the same bytes with read() instead;
 * "vmalloc-fault-1" is vmalloc-fault with fault_around=1, one page per fault.
 *
 * Every figure is the median of REPS runs; the subjects take turns within
 * each repetition, so drifts of the emulated CPU hit all of them alike.
 * Output: a table, then the JSON between @@BENCH-JSON markers.
 *
 * Usage: mmapper-bench [REPS]   (as root, module loaded, 6.12 for the peers)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <linux/udmabuf.h>

#define MiB		(1UL << 20)
#define MAX_REPS	15

enum kind { MMAPPER, ANON, ANON_THP, UDMABUF, DMA_HEAP, READ_COPY };

struct subject {
	const char *name;
	enum kind kind;
	const char *backend;	/* MMAPPER */
	int only_small;		/* kmalloc: 4 MiB at most */
	const char *around;	/* vmalloc-fault: pages per fault */
};

static const struct subject subjects[] = {
	{ .name = "kmalloc", .kind = MMAPPER, .backend = "kmalloc", .only_small = 1 },
	{ .name = "vmalloc", .kind = MMAPPER, .backend = "vmalloc" },
	{ .name = "vmalloc-fault", .kind = MMAPPER, .backend = "vmalloc-fault",
	  .around = "16" },
	{ .name = "vmalloc-fault-1", .kind = MMAPPER, .backend = "vmalloc-fault",
	  .around = "1" },
	{ .name = "vmalloc-user", .kind = MMAPPER, .backend = "vmalloc-user" },
	{ .name = "pages", .kind = MMAPPER, .backend = "pages" },
	{ .name = "huge", .kind = MMAPPER, .backend = "huge" },
	{ .name = "anon-4k", .kind = ANON },
	{ .name = "anon-thp", .kind = ANON_THP },
	{ .name = "memfd-udmabuf", .kind = UDMABUF },
	{ .name = "dma-heap-system", .kind = DMA_HEAP },
	{ .name = "read()", .kind = READ_COPY },
};

#define NR_SUBJECTS	(sizeof(subjects) / sizeof(subjects[0]))

static const size_t sizes[] = { 4 * MiB, 64 * MiB };
#define NR_SIZES	2

struct sample {
	double touch, populate, minflt, read, write;
};

static struct sample samples[NR_SUBJECTS][NR_SIZES][MAX_REPS];
static int available[NR_SUBJECTS];
static long page;

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
		    write_file("/sys/module/mmapper/parameters/fault_around", s->around))
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
		madvise(p, size, s->kind == ANON_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		if (populate)
			madvise(p, size, MADV_POPULATE_WRITE);
		return p;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | flags, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static double gbps(size_t bytes, double ns)
{
	return ns > 0 ? bytes / ns : 0;
}

/* One measurement of @s at @size into @out; 0, or -1 if unavailable. */
static int measure(const struct subject *s, size_t size, struct sample *out)
{
	static unsigned char *copybuf;
	volatile uint64_t sink = 0;
	double t0, t1;
	unsigned char *p;
	long f0;
	size_t i;
	int fd, pass;

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
		out->populate = out->touch;
		out->minflt = minflt() - f0;
		out->read = gbps(size, t1 - t0);
		t0 = now();
		pwrite(fd, copybuf, size, 0);
		out->write = gbps(size, now() - t0);
		close(fd);
		return 0;
	}

	/* mmap() + one write per page. */
	f0 = minflt();
	t0 = now();
	p = map(s, fd, size, 0);
	if (!p) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (i = 0; i < size; i += page)
		p[i] = (unsigned char)i;
	t1 = now();
	out->touch = (t1 - t0) / (size / MiB);
	out->minflt = minflt() - f0;

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
	 */
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

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(int subj, int sz, int reps, size_t field)
{
	double v[MAX_REPS];
	int i;

	for (i = 0; i < reps; i++)
		v[i] = *(double *)((char *)&samples[subj][sz][i] + field);
	qsort(v, reps, sizeof(v[0]), cmp);
	return reps % 2 ? v[reps / 2] : (v[reps / 2 - 1] + v[reps / 2]) / 2;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 5;
	struct utsname u;
	unsigned int s, z;
	int r, first = 1;

	if (reps < 1 || reps > MAX_REPS)
		reps = 5;
	page = sysconf(_SC_PAGESIZE);
	uname(&u);

	for (s = 0; s < NR_SUBJECTS; s++)
		available[s] = 1;
	for (r = 0; r < reps; r++) {
		for (s = 0; s < NR_SUBJECTS; s++) {
			for (z = 0; z < NR_SIZES; z++) {
				if (subjects[s].only_small && sizes[z] > 4 * MiB)
					continue;
				if (measure(&subjects[s], sizes[z], &samples[s][z][r]))
					available[s] = 0;
			}
		}
		fprintf(stderr, "bench: repetition %d of %d done\n", r + 1, reps);
	}
	write_file("/sys/class/mmapper/mmapper0/size", "1M");
	write_file("/sys/module/mmapper/parameters/fault_around", "16");

	printf("%-16s %5s %12s %12s %8s %8s %8s\n", "subject", "MiB", "touch ns/MiB",
	       "popul ns/MiB", "minflt", "rd GB/s", "wr GB/s");
	for (s = 0; s < NR_SUBJECTS; s++) {
		if (!available[s]) {
			printf("%-16s  not available on this kernel\n", subjects[s].name);
			continue;
		}
		for (z = 0; z < NR_SIZES; z++) {
			if (subjects[s].only_small && sizes[z] > 4 * MiB)
				continue;
			printf("%-16s %5zu %12.0f %12.0f %8.0f %8.2f %8.2f\n", subjects[s].name,
			       sizes[z] / MiB,
			       median(s, z, reps, offsetof(struct sample, touch)),
			       median(s, z, reps, offsetof(struct sample, populate)),
			       median(s, z, reps, offsetof(struct sample, minflt)),
			       median(s, z, reps, offsetof(struct sample, read)),
			       median(s, z, reps, offsetof(struct sample, write)));
		}
	}

	printf("@@BENCH-JSON-BEGIN\n");
	printf("{\"kernel\": \"%s\", \"reps\": %d, \"subjects\": {", u.release, reps);
	for (s = 0; s < NR_SUBJECTS; s++) {
		if (!available[s])
			continue;
		for (z = 0; z < NR_SIZES; z++) {
			if (subjects[s].only_small && sizes[z] > 4 * MiB)
				continue;
			printf("%s\n  \"%s/%zuM\": {\"name\": \"%s\", \"size_mib\": %zu, "
			       "\"touch_ns_per_mib\": %.0f, \"populate_ns_per_mib\": %.0f, "
			       "\"minflt\": %.0f, \"read_gbps\": %.3f, \"write_gbps\": %.3f}",
			       first ? "" : ",", subjects[s].name, sizes[z] / MiB,
			       subjects[s].name, sizes[z] / MiB,
			       median(s, z, reps, offsetof(struct sample, touch)),
			       median(s, z, reps, offsetof(struct sample, populate)),
			       median(s, z, reps, offsetof(struct sample, minflt)),
			       median(s, z, reps, offsetof(struct sample, read)),
			       median(s, z, reps, offsetof(struct sample, write)));
			first = 0;
		}
	}
	printf("\n}}\n@@BENCH-JSON-END\n");
	return 0;
}
