/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the mmapper selftests share: the kernel's view of a range
 * (MMAPPER_IOC_FILL, _CHECKSUM), the hash and the byte pattern the tests
 * write and check, running as nobody, the kernel log, and what smaps says
 * of a mapping.  Included by
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

/*
 * The number in the smaps line @field ("THPeligible:", "FilePmdMapped:",
 * in kB for a size) of the mapping that starts at @addr; -1: no such line.
 */
static long smaps_field(void *addr, const char *field)
{
	char line[256], want[32];
	size_t n = strlen(field);
	int found = 0;
	long val = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			found = 1;
		else if (found && !strncmp(line, field, n) &&
			 sscanf(line + n, " %ld", &val) == 1)
			break;
	}
	fclose(f);
	return val;
}

/* FilePmdMapped, in kB, of all the mappings that start in [@lo, @hi). */
static long pmd_mapped_kb(void *lo, void *hi)
{
	unsigned long start, end;
	char line[256];
	long sum = 0, kb;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start >= (unsigned long)lo && start < (unsigned long)hi;
		else if (in && sscanf(line, "FilePmdMapped: %ld", &kb) == 1)
			sum += kb;
	}
	fclose(f);
	return sum;
}

/* Does the smaps entry of the mapping at @addr list VmFlags @flag?  -1: none. */
static int vm_flag_set(void *addr, const char *flag)
{
	char line[512], want[32];
	int found = 0, ret = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want))) {
			found = 1;
		} else if (found && !strncmp(line, "VmFlags:", 8)) {
			char *tok;

			ret = 0;
			for (tok = strtok(line + 8, " \n"); tok; tok = strtok(NULL, " \n"))
				if (!strcmp(tok, flag))
					ret = 1;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * Reserve @len bytes of address space (PROT_NONE, to munmap() when done):
 * the reservation, or MAP_FAILED; *@at gets its first 2 MiB boundary, for
 * a MAP_FIXED mapping placed relative to one.
 */
static unsigned char *reserve_2m(size_t len, unsigned char **at)
{
	void *res = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*at = (unsigned char *)(((unsigned long)res + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	return res;
}

#endif /* MMAPPER_COMMON_H */
