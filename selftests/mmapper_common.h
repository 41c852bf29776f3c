/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the mmapper selftests share: the kernel's view of a range
 * (MMAPPER_IOC_FILL, _CHECKSUM), the hash and the byte pattern the tests
 * write and check, running as nobody, and the kernel log.  Included by
 * mmapper_test.c and mmapper_dmabuf_test.c after their system headers.
 */
#ifndef MMAPPER_COMMON_H
#define MMAPPER_COMMON_H

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

/* The same hash as MMAPPER_IOC_CHECKSUM computes in the kernel. */
static uint32_t fnv1a(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *c++) * 16777619u;
	return h;
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

/* Drop to an unprivileged user in a child; run @fn there; its exit status. */
static int as_nobody(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(100);
		_exit(fn());
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Does the kernel log have @what?  (It is never cleared during a run.) */
static int log_contains(const char *what)
{
	int n = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), found;
	char *log;

	if (n <= 0)
		return 0;
	log = calloc(1, n + 1);
	if (!log)
		return 0;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, n);
	found = n > 0 && strstr(log, what);
	free(log);
	return found;
}

#endif /* MMAPPER_COMMON_H */
