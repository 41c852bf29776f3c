// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper-demo: what `make demo` runs inside the VM.
 *
 * For each backend: the kernel writes the buffer (MMAPPER_IOC_FILL), user
 * space reads it through mmap() and writes back through the mapping, and
 * the kernel checksums what user space wrote.  Then: a change refused
 * while the buffer is mapped, the data surviving a backend switch, and
 * the control plane: debugfs showing lazy faults, the kernel's put_user()
 * into a fresh mapping, the stats moving; cache modes: a buffer made
 * write-combined in every mapping, the kernel's first, and write-back again
 * after; and, where the V4L2 test driver vivid is loaded, vivid capturing
 * a frame straight into a DMA-BUF export of the buffer, debugfs showing the
 * export and its importer.
 *
 * Usage: mmapper-demo [/dev/mmapperN]
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/mmapper.h>
#include <linux/videodev2.h>

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

static const char *dev = "/dev/mmapper0";
static char sysdir[128];

static int sysfs_write(const char *attr, const char *val)
{
	char path[192];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", sysdir, attr);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void sysfs_show(const char *path)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		printf("  %s: %s\n", path, strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	printf("  $ cat %s\n  %s", path, buf);
}

static uint32_t fnv1a(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *c++) * 16777619u;
	return h;
}

static void hexdump(const unsigned char *p, size_t n)
{
	size_t i;

	printf("    ");
	for (i = 0; i < n; i++)
		printf("%02x ", p[i]);
	printf(" |");
	for (i = 0; i < n; i++)
		putchar(isprint(p[i]) ? p[i] : '.');
	printf("|\n");
}

static void die(const char *what)
{
	fprintf(stderr, "mmapper-demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint32_t kernel_checksum_at(int fd, size_t off, size_t len)
{
	struct mmapper_range r = { .size = sizeof(r), .offset = off, .length = len };

	if (ioctl(fd, MMAPPER_IOC_CHECKSUM, &r))
		die("MMAPPER_IOC_CHECKSUM");
	return r.checksum;
}

static uint32_t kernel_checksum(int fd, size_t len)
{
	return kernel_checksum_at(fd, 0, len);
}

static void show_backend(const char *name)
{
	static const char msg[] = "hello from user space";
	struct mmapper_range fill = { .size = sizeof(fill), .length = 64, .pattern = 'K' };
	struct mmapper_info info = { .size = sizeof(info) };
	unsigned char *map;
	char back[sizeof(msg)];
	long page = sysconf(_SC_PAGESIZE);
	int fd, ret;

	ret = sysfs_write("backend", name);
	if (ret) {
		printf("\n[%s] cannot switch: %s\n", name, strerror(-ret));
		return;
	}
	fd = open(dev, O_RDWR);
	if (fd < 0)
		die(dev);
	if (ioctl(fd, MMAPPER_IOC_GET_INFO, &info))
		die("MMAPPER_IOC_GET_INFO");
	printf("\n[%s] %s: %llu bytes, backend %s\n", name, dev,
	       (unsigned long long)info.buf_size, info.backend);
	{
		char path[192];

		snprintf(path, sizeof(path), "%s/backend", sysdir);
		sysfs_show(path);
	}

	if (ioctl(fd, MMAPPER_IOC_FILL, &fill))
		die("MMAPPER_IOC_FILL");
	printf("  kernel: MMAPPER_IOC_FILL wrote 64 x 'K' at offset 0\n");

	map = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	printf("  user:   mmap(4 pages) = %p; the first 16 bytes read through it:\n", map);
	hexdump(map, 16);

	memcpy(map + 64, msg, sizeof(msg));
	printf("  user:   stored \"%s\" at offset 64 through the mapping\n", msg);
	if (pread(fd, back, sizeof(back), 64) != sizeof(back))
		die("pread");
	printf("  kernel: read() at offset 64 returns \"%s\"\n", back);
	printf("  kernel: checksum of the first page %08x, user space computes %08x: %s\n",
	       kernel_checksum(fd, page), fnv1a(map, page),
	       kernel_checksum(fd, page) == fnv1a(map, page) ? "same" : "DIFFERENT");

	munmap(map, 4 * page);
	close(fd);
}

/* huge: which page-table entries did touching 4 MiB take? */
static void show_huge(void)
{
	struct mmapper_info info = { .size = sizeof(info) };
	struct mmapper_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	size_t len = 4 << 20, i;
	unsigned char *map;
	int fd;

	if (sysfs_write("backend", "huge") || sysfs_write("size", "4M"))
		die("switching to huge, 4M");
	fd = open(dev, O_RDWR);
	if (fd < 0)
		die(dev);
	if (ioctl(fd, MMAPPER_IOC_GET_INFO, &info) || ioctl(fd, MMAPPER_IOC_GET_STATS, &a))
		die("MMAPPER_IOC_GET_INFO/STATS");
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	for (i = 0; i < len; i += 4096)
		map[i] = 1;
	if (ioctl(fd, MMAPPER_IOC_GET_STATS, &b))
		die("MMAPPER_IOC_GET_STATS");
	printf("\n[huge: 2 MiB page-table entries] 4 MiB mapped at %p (2 MiB aligned: %s)\n",
	       map, (unsigned long)map % (2 << 20) ? "no" : "yes");
	printf("  touching all 1024 pages took %llu faults mapping 2 MiB and %llu mapping 4 KiB\n",
	       (unsigned long long)(b.huge_faults - a.huge_faults),
	       (unsigned long long)(b.faults - a.faults));
	printf("  (this kernel %s 2 MiB entries in a driver's PFN mapping)\n",
	       info.caps & MMAPPER_CAP_HUGE_PMD ? "allows" : "does not allow (before 6.12)");
	munmap(map, len);
	close(fd);
	if (sysfs_write("size", "1M"))
		die("size 1M");
}

static void show_busy(void)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = open(dev, O_RDWR);
	void *map;
	int ret;

	if (fd < 0)
		die(dev);
	map = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");

	printf("\n[changes while mapped] a process maps %s\n", dev);
	ret = sysfs_write("size", "2M");
	printf("  $ echo 2M > %s/size   -> %s\n", sysdir, ret ? strerror(-ret) : "ok");
	ret = sysfs_write("backend", "kmalloc");
	printf("  $ echo kmalloc > %s/backend   -> %s\n", sysdir, ret ? strerror(-ret) : "ok");
	munmap(map, page);
	printf("  munmap(); now nothing maps it\n");
	ret = sysfs_write("size", "2M");
	printf("  $ echo 2M > %s/size   -> %s\n", sysdir, ret ? strerror(-ret) : "ok");
	close(fd);
}

static void show_switch_keeps_data(void)
{
	unsigned int i;
	uint32_t sum;
	int fd = open(dev, O_RDWR);

	if (fd < 0)
		die(dev);
	sum = kernel_checksum(fd, 4096);
	printf("\n[switching keeps the data] checksum of page 0: %08x\n", sum);
	for (i = 0; i < nr_backends; i++) {
		int ret = sysfs_write("backend", backends[i]);

		printf("  -> %-14s %s, checksum %08x\n", backends[i],
		       ret ? strerror(-ret) : "ok", kernel_checksum(fd, 4096));
	}
	close(fd);
}

static const char *class_switch(const char *name)
{
	int fd = open("/sys/class/mmapper/backend", O_WRONLY);
	const char *ret = "ok";

	if (fd < 0)
		return strerror(errno);
	if (write(fd, name, strlen(name)) < 0)
		ret = strerror(errno);
	close(fd);
	return ret;
}

/* The problem mmapper solves: /dev/mem will not map RAM. */
static void show_devmem(void)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	void *map;

	printf("[/dev/mem] mapping 4 KiB of RAM at physical 16 MiB through /dev/mem: ");
	if (fd < 0) {
		printf("open: %s\n", strerror(errno));
		return;
	}
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 16 << 20);
	if (map == MAP_FAILED)
		printf("%s (CONFIG_STRICT_DEVMEM)\n", strerror(errno));
	else
	{
		printf("allowed (this kernel has no STRICT_DEVMEM)\n");
		munmap(map, 4096);
	}
	close(fd);
}

/* Print a debugfs file of the device, indented. */
static void debugfs_show(const char *file)
{
	char path[192], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/mmapper/%s/%s",
		 strrchr(sysdir, '/') + 1, file);
	f = fopen(path, "r");
	if (!f) {
		printf("  %s: %s\n", path, strerror(errno));
		return;
	}
	printf("  $ cat %s\n", path);
	while (fgets(line, sizeof(line), f))
		printf("  %s", line);
	fclose(f);
}

static void show_control_plane(void)
{
	struct mmapper_put_user pu = { .size = sizeof(pu) };
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *map;
	char path[192], around[16];
	ssize_t n;
	int fd;

	printf("\n[control plane: vmalloc-fault, 4 pages, one page per fault; lazy faults made visible]\n");
	if (sysfs_write("backend", "vmalloc-fault") || sysfs_write("size", "16K"))
		die("sysfs");
	/* The classic technique: one page per fault (the default maps 64). */
	fd = open("/sys/module/mmapper/parameters/fault_around", O_RDWR);
	n = fd < 0 ? -1 : read(fd, around, sizeof(around) - 1);
	if (n <= 0 || write(fd, "1", 1) != 1)
		die("fault_around");
	around[n] = '\0';
	close(fd);
	snprintf(path, sizeof(path), "%s/stats/reset", sysdir);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1)
		die(path);
	close(fd);

	fd = open(dev, O_RDWR);
	if (fd < 0)
		die(dev);
	map = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	printf("  mmap() done, nothing touched: no page is mapped yet\n");
	debugfs_show("pages");

	map[1 * page] = 'u';
	printf("  user space wrote page 1: it took one fault\n");
	debugfs_show("pages");

	pu.addr = (uintptr_t)(map + 3 * page);
	pu.value = 0x6b65726e656cULL;
	if (ioctl(fd, MMAPPER_IOC_PUT_USER, &pu))
		die("MMAPPER_IOC_PUT_USER");
	printf("  the kernel put_user() into untouched page 3: result %d, "
	       "read back 0x%llx, %u fault taken in kernel mode\n",
	       pu.result, (unsigned long long)pu.readback, pu.faults);
	debugfs_show("pages");
	debugfs_show("mappings");

	munmap(map, 4 * page);
	close(fd);
	/* Back to what it was, and what it does: one fault maps a window. */
	fd = open("/sys/module/mmapper/parameters/fault_around", O_WRONLY);
	if (fd < 0 || write(fd, around, strlen(around)) != (ssize_t)strlen(around))
		die("fault_around");
	close(fd);
	printf("  after munmap() and close():\n");
	snprintf(path, sizeof(path), "%s/stats/faults", sysdir);
	sysfs_show(path);
	snprintf(path, sizeof(path), "%s/stats/mmaps", sysdir);
	sysfs_show(path);
	snprintf(path, sizeof(path), "%s/stats/active_mappings", sysdir);
	sysfs_show(path);
}

/* Set the menu control named @ctrl to its item named @item: 0 or -1. */
static int set_menu(int vfd, const char *ctrl, const char *item)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (!ioctl(vfd, VIDIOC_QUERYCTRL, &q)) {
		struct v4l2_querymenu m = { .id = q.id };
		struct v4l2_control c = { .id = q.id };

		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
		if (q.type != V4L2_CTRL_TYPE_MENU || strcmp((char *)q.name, ctrl))
			continue;
		for (m.index = q.minimum; m.index <= (__u32)q.maximum; m.index++) {
			if (ioctl(vfd, VIDIOC_QUERYMENU, &m) || strcmp((char *)m.name, item))
				continue;
			c.value = m.index;
			return ioctl(vfd, VIDIOC_S_CTRL, &c);
		}
	}
	return -1;
}

/* The first vivid video capture node, opened, or -1. */
static int open_vivid(void)
{
	char path[64], name[64];
	int i;

	for (i = 0; i < 64; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/class/video4linux/video%d/name", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f) && !strncmp(name, "vivid", 5) &&
		    strstr(name, "vid-cap")) {
			fclose(f);
			snprintf(path, sizeof(path), "/dev/video%d", i);
			return open(path, O_RDWR);
		}
		fclose(f);
	}
	return -1;
}

/*
 * The zero-copy capture path: two ranges of the buffer exported as
 * DMA-BUFs, queued to vivid (V4L2_MEMORY_DMABUF), vivid's frame read
 * through our own mapping of the device.
 */
static void show_vivid(void)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_requestbuffers rb = {
		.count = 2, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, vfd, fd, i, x[2];
	long page = sysconf(_SC_PAGESIZE);
	struct pollfd p;
	unsigned char *map;
	size_t slot;
	char path[192];

	vfd = open_vivid();
	if (vfd < 0) {
		printf("\n[vivid is not loaded: no capture into a DMA-BUF export]\n");
		return;
	}
	printf("\n[vivid captures into the buffer: DMA-BUF export, zero copy]\n");
	fmt.fmt.pix.width = 320;
	fmt.fmt.pix.height = 180;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	if (ioctl(vfd, VIDIOC_S_FMT, &fmt))
		die("vivid format");
	if (set_menu(vfd, "Test Pattern", "100% Colorbar") ||
	    set_menu(vfd, "OSD Text Mode", "None"))
		die("vivid controls");
	slot = (fmt.fmt.pix.sizeimage + page - 1) / page * page;
	/* Physically contiguous, for an importer that wants it so (dma-contig). */
	if (sysfs_write("backend", "kmalloc") || sysfs_write("size", "512K"))
		die("sysfs");
	fd = open(dev, O_RDWR);
	if (fd < 0)
		die(dev);
	if (ioctl(vfd, VIDIOC_REQBUFS, &rb))
		die("VIDIOC_REQBUFS");
	for (i = 0; i < 2; i++) {
		struct mmapper_export e = {
			.size = sizeof(e), .flags = O_RDWR | O_CLOEXEC,
			.offset = i * slot, .length = slot,
		};

		if (ioctl(fd, MMAPPER_IOC_EXPORT_DMABUF, &e))
			die("MMAPPER_IOC_EXPORT_DMABUF");
		x[i] = e.fd;
		printf("  MMAPPER_IOC_EXPORT_DMABUF [%zu, %zu) -> DMA-BUF fd %d, queued to vivid\n",
		       i * slot, (i + 1) * slot, e.fd);
		b.index = i;
		b.m.fd = e.fd;
		b.length = slot;
		if (ioctl(vfd, VIDIOC_QBUF, &b))
			die("VIDIOC_QBUF");
	}
	map = mmap(NULL, 2 * slot, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	if (ioctl(vfd, VIDIOC_STREAMON, &type))
		die("VIDIOC_STREAMON");
	p.fd = vfd;
	p.events = POLLIN;
	if (poll(&p, 1, 10000) != 1 || ioctl(vfd, VIDIOC_DQBUF, &b))
		die("VIDIOC_DQBUF");
	printf("  vivid wrote frame %u (%u bytes, 320x180 RGB24 colour bars) into buffer %u;\n"
	       "  user space reads it through its own mapping of %s at offset %zu:\n",
	       b.sequence, b.bytesused, b.index, dev, b.index * slot);
	for (i = 0; i < 8; i++) {
		const unsigned char *px = map + b.index * slot + 3 * (40 * i + 20) + 90 * 960;

		printf("    bar %d: %02x %02x %02x\n", i, px[0], px[1], px[2]);
	}
	printf("  the kernel's checksum of the frame: %#010x, the mapping's: %#010x\n",
	       kernel_checksum_at(fd, b.index * slot, b.bytesused),
	       fnv1a(map + b.index * slot, b.bytesused));
	debugfs_show("exports");
	snprintf(path, sizeof(path), "%s/stats/exports", sysdir);
	sysfs_show(path);
	printf("  $ echo 1M > %s/size   -> %s\n", sysdir,
	       sysfs_write("size", "1M") == -EBUSY ? "EBUSY (exported)" : "?");

	ioctl(vfd, VIDIOC_STREAMOFF, &type);
	rb.count = 0;
	ioctl(vfd, VIDIOC_REQBUFS, &rb);
	close(vfd);
	close(x[0]);
	close(x[1]);
	munmap(map, 2 * slot);
	close(fd);
	printf("  vivid's buffers freed, the DMA-BUFs closed:\n");
	sysfs_show(path);
	i = sysfs_write("size", "1M");
	printf("  $ echo 1M > %s/size   -> %s\n", sysdir, i ? strerror(-i) : "ok");
}

/* Lines of debugfs pages: the header and the first @n pages. */
static void debugfs_pages_head(int n)
{
	char path[192], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/mmapper/%s/pages",
		 strrchr(sysdir, '/') + 1);
	f = fopen(path, "r");
	if (!f) {
		printf("  %s: %s\n", path, strerror(errno));
		return;
	}
	printf("  $ head -%d %s\n", n + 1, path);
	while (n-- >= 0 && fgets(line, sizeof(line), f))
		printf("  %s", line);
	fclose(f);
}

/* The direct-map type of a page frame, from debugfs memtype. */
static void show_memtype(unsigned long pfn)
{
	const char *path = "/sys/kernel/debug/mmapper/memtype";
	char val[32], line[96] = "";
	int fd = open(path, O_RDWR);
	ssize_t n;

	if (fd < 0) {
		printf("  %s: %s\n", path, strerror(errno));
		return;
	}
	snprintf(val, sizeof(val), "%#lx", pfn);
	if (write(fd, val, strlen(val)) < 0 || (n = pread(fd, line, sizeof(line) - 1, 0)) < 0)
		printf("  %s: %s\n", path, strerror(errno));
	else
		printf("  $ echo %s > %s; cat %s\n  %s", val, path, path, line);
	close(fd);
}

/* The pfn of page 0 of the buffer, from debugfs pages. */
static unsigned long first_pfn(void)
{
	char path[192], line[256];
	unsigned long idx, pfn = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/mmapper/%s/pages",
		 strrchr(sysdir, '/') + 1);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f) && fgets(line, sizeof(line), f))
		sscanf(line, "%lu %lx", &idx, &pfn);
	if (f)
		fclose(f);
	return pfn;
}

/*
 * Cache modes: write-combine in every mapping of the pages, the kernel's
 * direct map first; refused while mapped; write-back again after; O_SYNC.
 */
static void show_cache_modes(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char path[192], buf[8];
	unsigned char *map;
	unsigned long pfn;
	int fd, sfd, err;

	printf("\n[cache modes: one memory type in every mapping of a page, the kernel's first]\n");
	if (sysfs_write("backend", "pages") || sysfs_write("size", "16K"))
		die("sysfs");
	snprintf(path, sizeof(path), "%s/cache", sysdir);
	sysfs_show(path);
	if (access("/sys/kernel/debug/x86/pat_memtype_list", F_OK)) {
		printf("  this machine has no PAT: cached is the only mode\n");
		return;
	}
	err = sysfs_write("cache", "write-combine");
	printf("  backend pages: $ echo write-combine > %s   -> %s\n"
	       "  (get_user_pages() can pin its pages, and io_uring or RDMA would map them\n"
	       "  again write-back: cached only; kmalloc, vmalloc and huge take every mode)\n",
	       path, err ? strerror(-err) : "ok (it should have been refused)");
	if (sysfs_write("backend", "vmalloc"))
		die("sysfs");
	printf("  $ echo vmalloc > %s/backend\n", sysdir);
	fd = open(dev, O_RDWR);
	if (fd < 0)
		die(dev);
	map = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	memset(map, 'c', 4 * page);
	printf("  cached, mapped: write-back in the kernel's direct map and in the process\n");
	debugfs_pages_head(2);
	err = sysfs_write("cache", "write-combine");
	printf("  $ echo write-combine > %s   -> %s\n", path,
	       err ? strerror(-err) : "ok (it should have been refused)");
	munmap(map, 4 * page);
	err = sysfs_write("cache", "write-combine");
	printf("  after munmap(): $ echo write-combine > %s   -> %s\n", path,
	       err ? strerror(-err) : "ok");
	sysfs_show(path);

	map = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	memcpy(map + page, "wc!", 3);
	if (pread(fd, buf, 4, page) != 4)
		die("pread");
	printf("  the data was kept (page 0 still reads '%c'), a store through the mapping is\n"
	       "  seen by read() ('%.3s'), and every mapping of every page is write-combining:\n",
	       map[0], buf);
	debugfs_pages_head(2);
	pfn = first_pfn();

	sfd = open(dev, O_RDWR | O_SYNC);
	if (sfd >= 0) {
		void *m = mmap(NULL, page, PROT_READ, MAP_SHARED, sfd, 0);

		printf("  O_SYNC (the /dev/mem way to ask for uncached) on a write-combine device: mmap() %s\n",
		       m == MAP_FAILED ? strerror(errno) : "worked (it should not have)");
		if (m != MAP_FAILED)
			munmap(m, page);
		close(sfd);
	}
	munmap(map, 4 * page);
	err = sysfs_write("cache", "cached");
	printf("  $ echo cached > %s   -> %s\n", path, err ? strerror(-err) : "ok");
	printf("  the pages the write-combine buffer gave back are write-back again:\n");
	show_memtype(pfn);
	debugfs_pages_head(1);
	close(fd);
}

int main(int argc, char **argv)
{
	unsigned int i;

	if (argc > 1)
		dev = argv[1];
	snprintf(sysdir, sizeof(sysdir), "/sys/class/mmapper/%s",
		 strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev);

	if (load_backends())
		die("/sys/class/mmapper/backend");
	show_devmem();
	for (i = 0; i < nr_backends; i++)
		show_backend(backends[i]);
	show_huge();
	show_busy();
	show_switch_keeps_data();
	show_control_plane();
	show_cache_modes();
	show_vivid();

	printf("\n[one write switches every device]\n");
	printf("  $ echo vmalloc-user > /sys/class/mmapper/backend   -> %s\n",
	       class_switch("vmalloc-user"));
	sysfs_show("/sys/class/mmapper/backend");
	printf("  $ echo vmalloc > /sys/class/mmapper/backend   -> %s\n",
	       class_switch("vmalloc"));
	sysfs_show("/sys/class/mmapper/backend");
	return 0;
}
