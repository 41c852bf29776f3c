// SPDX-License-Identifier: GPL-2.0
/*
 * Zero-copy capture into an mmapper buffer: the V4L2 test driver vivid
 * writes its frames straight into ranges of /dev/mmapperN, exported as
 * DMA-BUFs, and this program reads each frame through its own mapping of
 * the device, with no copy anywhere.
 *
 *   mmapper-vivid [/dev/mmapperN [/dev/videoM]]
 *
 * The video device defaults to the first vivid capture node.  Build:
 *   gcc -Wall -Wextra -O2 -I include/uapi -o mmapper-vivid mmapper-vivid.c
 */
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

#include <linux/dma-buf.h>
#include <linux/mmapper.h>
#include <linux/videodev2.h>

#define NBUFS	2
#define FRAMES	4

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* The first /dev/videoN whose name starts with "vivid" and ends "vid-cap". */
static const char *find_vivid(void)
{
	static char path[64];
	char name[64];
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
			return path;
		}
		fclose(f);
	}
	fprintf(stderr, "no vivid capture device (modprobe vivid)\n");
	exit(1);
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

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

int main(int argc, char **argv)
{
	const char *mdev = argc > 1 ? argv[1] : "/dev/mmapper0";
	const char *vdev = argc > 2 ? argv[2] : find_vivid();
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_requestbuffers rb = {
		.count = NBUFS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct mmapper_info info = { .size = sizeof(info) };
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, mfd, vfd, i;
	int dmabuf[NBUFS];
	size_t page, slot;
	unsigned char *map;

	mfd = open(mdev, O_RDWR);
	if (mfd < 0)
		die(mdev);
	vfd = open(vdev, O_RDWR);
	if (vfd < 0)
		die(vdev);
	if (ioctl(mfd, MMAPPER_IOC_GET_INFO, &info))
		die("MMAPPER_IOC_GET_INFO");
	page = info.page_size;

	/* 320x180 RGB24, vivid's 100% colour bars. */
	fmt.fmt.pix.width = 320;
	fmt.fmt.pix.height = 180;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	if (ioctl(vfd, VIDIOC_S_FMT, &fmt))
		die("VIDIOC_S_FMT");
	if (set_menu(vfd, "Test Pattern", "100% Colorbar"))
		fprintf(stderr, "no 100%% Colorbar: vivid's default pattern it is\n");

	/* One page-aligned range of the buffer per V4L2 buffer. */
	slot = (fmt.fmt.pix.sizeimage + page - 1) / page * page;
	if (info.buf_size < NBUFS * slot) {
		struct mmapper_set_size s = { .size = sizeof(s), .buf_size = NBUFS * slot };

		if (ioctl(mfd, MMAPPER_IOC_SET_SIZE, &s))
			die("MMAPPER_IOC_SET_SIZE");
	}
	if (ioctl(vfd, VIDIOC_REQBUFS, &rb))
		die("VIDIOC_REQBUFS (V4L2_MEMORY_DMABUF)");
	for (i = 0; i < NBUFS; i++) {
		struct mmapper_export e = {
			.size = sizeof(e), .flags = O_RDWR | O_CLOEXEC,
			.offset = i * slot, .length = slot,
		};
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
			.memory = V4L2_MEMORY_DMABUF, .index = i,
		};

		if (ioctl(mfd, MMAPPER_IOC_EXPORT_DMABUF, &e))
			die("MMAPPER_IOC_EXPORT_DMABUF");
		dmabuf[i] = e.fd;
		b.m.fd = e.fd;
		b.length = slot;
		if (ioctl(vfd, VIDIOC_QBUF, &b))
			die("VIDIOC_QBUF");
		printf("buffer %d: DMA-BUF fd %d (inode %llu) = %s [%zu, %zu)\n", i, e.fd,
		       (unsigned long long)e.inode, mdev, i * slot, (i + 1) * slot);
	}

	/* Our own view of the frames: a mapping of the device itself. */
	map = mmap(NULL, NBUFS * slot, PROT_READ, MAP_SHARED, mfd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	if (ioctl(vfd, VIDIOC_STREAMON, &type))
		die("VIDIOC_STREAMON");

	for (i = 0; i < FRAMES; i++) {
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
		};
		struct pollfd p = { .fd = vfd, .events = POLLIN };
		struct mmapper_range r = { .size = sizeof(r) };
		struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };
		const unsigned char *f;

		if (poll(&p, 1, 10000) != 1)
			die("poll (no frame in 10 s)");
		if (ioctl(vfd, VIDIOC_DQBUF, &b))
			die("VIDIOC_DQBUF");
		/* Bracket the CPU's reads, as for any DMA-BUF. */
		if (ioctl(dmabuf[b.index], DMA_BUF_IOCTL_SYNC, &sync))
			die("DMA_BUF_IOCTL_SYNC");
		f = map + b.index * slot;
		r.offset = b.index * slot;
		r.length = b.bytesused;
		if (ioctl(mfd, MMAPPER_IOC_CHECKSUM, &r))
			die("MMAPPER_IOC_CHECKSUM");
		printf("frame %u in buffer %u: %u bytes; pixel 0: %02x %02x %02x, pixel 60: %02x %02x %02x; FNV-1a %#010x, %s\n",
		       b.sequence, b.index, b.bytesused, f[0], f[1], f[2], f[180], f[181], f[182],
		       fnv1a(f, b.bytesused),
		       fnv1a(f, b.bytesused) == r.checksum ? "the kernel agrees" : "the kernel DISAGREES");
		if (fnv1a(f, b.bytesused) != r.checksum)
			return 1;
		sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
		if (ioctl(dmabuf[b.index], DMA_BUF_IOCTL_SYNC, &sync))
			die("DMA_BUF_IOCTL_SYNC");
		if (ioctl(vfd, VIDIOC_QBUF, &b))
			die("VIDIOC_QBUF");
	}

	if (ioctl(vfd, VIDIOC_STREAMOFF, &type))
		die("VIDIOC_STREAMOFF");
	/* vivid lets go of the DMA-BUFs when its buffers are freed. */
	rb.count = 0;
	if (ioctl(vfd, VIDIOC_REQBUFS, &rb))
		die("VIDIOC_REQBUFS 0");
	for (i = 0; i < NBUFS; i++)
		close(dmabuf[i]);
	munmap(map, NBUFS * slot);
	close(vfd);
	close(mfd);
	return 0;
}
