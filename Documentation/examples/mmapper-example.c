// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper-example: the user-space API in one small program.  Built and run
 * by "make check"; Documentation/userspace-api.rst includes it.
 *
 *   cc -I<mmapper>/include/uapi -o mmapper-example mmapper-example.c
 *   ./mmapper-example /dev/mmapper0
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/mmapper.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/mmapper0";
	struct mmapper_info info = { .size = sizeof(info) };
	struct mmapper_range fill = {
		.size = sizeof(fill), .offset = 0, .length = 16, .pattern = 'K',
	};
	struct mmapper_range sum = { .size = sizeof(sum), .length = 16 };
	struct mmapper_put_user pu = { .size = sizeof(pu) };
	struct mmapper_stats st = { .size = sizeof(st) };
	char *p;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0 || ioctl(fd, MMAPPER_IOC_GET_INFO, &info)) {
		perror(path);
		return 1;
	}
	printf("%s: %llu bytes, backend %s, page size %u\n", path,
	       (unsigned long long)info.buf_size, info.backend, info.page_size);

	p = mmap(NULL, info.buf_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	/* The kernel writes, the mapping sees it at once. */
	if (ioctl(fd, MMAPPER_IOC_FILL, &fill)) {
		perror("MMAPPER_IOC_FILL");
		return 1;
	}
	printf("after FILL the mapping reads: %.16s\n", p);

	/* User space writes, the kernel checksums what it sees. */
	memcpy(p, "hello, kernel!!!", 16);
	if (ioctl(fd, MMAPPER_IOC_CHECKSUM, &sum)) {
		perror("MMAPPER_IOC_CHECKSUM");
		return 1;
	}
	printf("kernel's FNV-1a of the first 16 bytes: 0x%08llx\n",
	       (unsigned long long)sum.checksum);

	/* The kernel stores into a page of our mapping we never touched. */
	pu.addr = (uintptr_t)(p + info.buf_size - info.page_size);
	pu.value = 0x1234567890abcdefULL;
	if (ioctl(fd, MMAPPER_IOC_PUT_USER, &pu) || pu.result) {
		fprintf(stderr, "put_user experiment failed: %d\n", pu.result);
		return 1;
	}
	printf("put_user() stored 0x%llx, took %u fault(s) in mmapper\n",
	       (unsigned long long)pu.readback, pu.faults);

	if (ioctl(fd, MMAPPER_IOC_GET_STATS, &st)) {
		perror("MMAPPER_IOC_GET_STATS");
		return 1;
	}
	printf("stats: opens %llu, mmaps %llu, active mappings %llu, faults %llu\n",
	       (unsigned long long)st.opens, (unsigned long long)st.mmaps,
	       (unsigned long long)st.active_mappings,
	       (unsigned long long)st.faults);

	munmap(p, info.buf_size);
	close(fd);
	return 0;
}
