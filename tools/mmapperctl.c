// SPDX-License-Identifier: GPL-2.0
/*
 * mmapperctl - inspect and control mmapper devices, over the UAPI header,
 * sysfs and debugfs.  See mmapperctl(8).
 *
 * Exit status: 0 success, 1 the operation failed (the message says why),
 * 2 usage error, 3 verify found other bytes than expected.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/mmapper.h>

#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_MISMATCH	3

#define CLASS_DIR	"/sys/class/mmapper"
#define DEBUG_DIR	"/sys/kernel/debug/mmapper"

static int json;
static const char *prog = "mmapperctl";

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [--json] COMMAND [ARGS]\n"
		"  list\n"
		"  create [backend=NAME] [size=SIZE]\n"
		"  remove DEV\n"
		"  info DEV\n"
		"  set DEV [backend=NAME] [size=SIZE] [cache=MODE]\n"
		"  stats DEV [--reset]\n"
		"  pages DEV\n"
		"  mappings DEV\n"
		"  dump DEV [--offset N] [--length N]\n"
		"  fill DEV --pattern BYTE [--offset N] [--length N]\n"
		"  verify DEV [--pattern BYTE] [--offset N] [--length N]\n"
		"  hold DEV SECONDS\n"
		"  export DEV [--offset N] [--length N] [--read-only] [--hold SECONDS]\n"
		"  exports DEV\n"
		"DEV: mmapper0, /dev/mmapper0 or 0.  SIZE and N: bytes, K/M/G suffixes.\n",
		prog);
	exit(EXIT_USAGE);
}

static void __attribute__((format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAIL);
}

static void __attribute__((format(printf, 1, 2))) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", prog);
	exit(EXIT_USAGE);
}

/* What an errno means for an mmapper operation, in words. */
static const char *hint(int err)
{
	switch (err) {
	case EBUSY:
		return " (a process maps the buffer, or a DMA-BUF export holds it: unmap, close it first)";
	case EACCES:
		return " (needs root, or membership of group mmapper for the device node)";
	case EPERM:
		return " (above /sys/module/mmapper/parameters/max_size, or a buffer that is not cached: needs CAP_SYS_ADMIN)";
	case E2BIG:
		return " (more than this backend can hold)";
	case ENOMEM:
		return " (not enough memory: the machine's, or the memory cgroup's limit)";
	case ENOENT:
		return " (is the mmapper module loaded?)";
	}
	return "";
}

/* "mmapper0", "/dev/mmapper0" or "0" -> "mmapper0" */
static const char *dev_name(const char *arg)
{
	static char name[64];
	const char *p = strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg;
	char *end;

	if (isdigit((unsigned char)*p)) {
		unsigned long n = strtoul(p, &end, 10);

		if (*end)
			bad_usage("'%s' is not a device", arg);
		snprintf(name, sizeof(name), "mmapper%lu", n);
	} else if (!strncmp(p, "mmapper", 7) && isdigit((unsigned char)p[7])) {
		snprintf(name, sizeof(name), "%s", p);
	} else {
		bad_usage("'%s' is not a device", arg);
	}
	return name;
}

static int open_dev(const char *name, int flags)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, flags);
	if (fd < 0)
		die("%s: %s%s", path, strerror(errno), hint(errno));
	return fd;
}

/* Parse a size: bytes, 0x hex, K/M/G/T suffix; -1 on error. */
static long long parse_size(const char *s)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end || v > (unsigned long long)(INT64_MAX >> shift))
		return -1;
	return (long long)(v << shift);
}

static int read_text(const char *path, char *buf, size_t len)
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
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* The name in brackets of a backend list, or "" when none is. */
static void current_backend(const char *list, char *out, size_t len)
{
	const char *a = strchr(list, '['), *b = a ? strchr(a, ']') : NULL;

	snprintf(out, len, "%.*s", a && b ? (int)(b - a - 1) : 0, a ? a + 1 : "");
}

static struct mmapper_info get_info(int fd, const char *name)
{
	struct mmapper_info info = { .size = sizeof(info) };

	if (ioctl(fd, MMAPPER_IOC_GET_INFO, &info))
		die("%s: MMAPPER_IOC_GET_INFO: %s", name, strerror(errno));
	return info;
}

static int cmd_list(void)
{
	char path[300], val[256], cur[64];
	struct dirent **ents;
	int n, i, first = 1;

	n = scandir(CLASS_DIR, &ents, NULL, versionsort);
	if (n < 0)
		die("%s: %s%s", CLASS_DIR, strerror(errno), hint(errno));
	if (read_text(CLASS_DIR "/backend", val, sizeof(val)))
		die(CLASS_DIR "/backend: %s", strerror(errno));
	current_backend(val, cur, sizeof(cur));
	if (json) {
		printf("{\"backends\": \"%s\", \"common_backend\": ", val);
		if (*cur)
			json_str(cur);
		else
			printf("null");
		printf(", \"devices\": [");
	} else {
		printf("backends: %s\n", val);
		printf("%-12s %-14s %12s %9s\n", "device", "backend", "size", "mappings");
	}
	for (i = 0; i < n; i++) {
		const char *d = ents[i]->d_name;
		char backend[256], size[32], maps[32], be[64];

		if (strncmp(d, "mmapper", 7) || !isdigit((unsigned char)d[7]))
			goto next;
		snprintf(path, sizeof(path), CLASS_DIR "/%s/backend", d);
		read_text(path, backend, sizeof(backend));
		current_backend(backend, be, sizeof(be));
		snprintf(path, sizeof(path), CLASS_DIR "/%s/size", d);
		read_text(path, size, sizeof(size));
		snprintf(path, sizeof(path), CLASS_DIR "/%s/stats/active_mappings", d);
		read_text(path, maps, sizeof(maps));
		if (json) {
			printf("%s{\"name\": \"%s\", \"backend\": \"%s\", \"size\": %s, "
			       "\"active_mappings\": %s}", first ? "" : ", ", d, be, size, maps);
		} else {
			printf("%-12s %-14s %12s %9s\n", d, be, size, maps);
		}
		first = 0;
next:
		free(ents[i]);
	}
	free(ents);
	if (json)
		printf("]}\n");
	return 0;
}

/* The cache modes, by their MMAPPER_CACHE_* value: the sysfs names. */
static const char *const cache_names[] = { "cached", "write-combine", "uncached" };

static const char *cache_name(unsigned int cache)
{
	return cache < sizeof(cache_names) / sizeof(cache_names[0]) ? cache_names[cache] : "?";
}

/* The modes of a caches bit mask, separated by spaces, into @out. */
static void cache_modes(unsigned int caches, char *out, size_t len)
{
	size_t n = 0;
	unsigned int i;

	*out = '\0';
	for (i = 0; i < sizeof(cache_names) / sizeof(cache_names[0]); i++)
		if (caches & (1U << i))
			n += snprintf(out + n, len - n, "%s%s", n ? " " : "", cache_names[i]);
}

static int cmd_info(const char *name)
{
	int fd = open_dev(name, O_RDONLY);
	struct mmapper_info info = get_info(fd, name);
	char path[128], phys[64] = "", modes[64];

	snprintf(path, sizeof(path), CLASS_DIR "/%s/phys_addr", name);
	read_text(path, phys, sizeof(phys));	/* root and contiguous only */
	cache_modes(info.caches, modes, sizeof(modes));
	if (json) {
		printf("{\"device\": \"%s\", \"backend\": \"%s\", \"size\": %llu, "
		       "\"page_size\": %u, \"active_mappings\": %u, \"version\": \"%u.%u\", "
		       "\"huge_pmd\": %s, \"pages_pmd\": %s, \"cache\": \"%s\", "
		       "\"caches\": \"%s\", \"phys_addr\": ", name, info.backend,
		       (unsigned long long)info.buf_size, info.page_size, info.nr_mappings,
		       info.version >> 16, info.version & 0xffff,
		       info.caps & MMAPPER_CAP_HUGE_PMD ? "true" : "false",
		       info.caps & MMAPPER_CAP_PAGES_PMD ? "true" : "false",
		       cache_name(info.cache), modes);
		if (*phys)
			json_str(phys);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("device:          %s\n", name);
		printf("backend:         %s\n", info.backend);
		printf("size:            %llu bytes (%llu pages)\n",
		       (unsigned long long)info.buf_size,
		       (unsigned long long)info.buf_size / info.page_size);
		printf("active mappings: %u\n", info.nr_mappings);
		printf("interface:       %u.%u\n", info.version >> 16, info.version & 0xffff);
		printf("2 MiB entries:   huge %s, pages %s\n",
		       info.caps & MMAPPER_CAP_HUGE_PMD ? "yes" : "no (6.12+)",
		       info.caps & MMAPPER_CAP_PAGES_PMD ? "yes" : "no (6.15+)");
		printf("cache:           %s (this machine offers: %s)\n",
		       cache_name(info.cache), modes);
		if (*phys)
			printf("phys_addr:       %s\n", phys);
	}
	close(fd);
	return 0;
}

/*
 * The settings of set and create: backend=, size= and (where @cache is
 * not NULL) cache=; -1 for "not given".
 */
static void parse_settings(const char *cmd, int argc, char **argv,
			   const char **backend, long long *size, int *cache)
{
	const int nr_caches = sizeof(cache_names) / sizeof(cache_names[0]);
	int i;

	*backend = NULL;
	*size = -1;
	if (cache)
		*cache = -1;
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "backend=", 8)) {
			*backend = argv[i] + 8;
			if (!**backend || strlen(*backend) >= MMAPPER_BACKEND_NAME_LEN)
				bad_usage("%s: '%s' is not a backend name", cmd, *backend);
		} else if (!strncmp(argv[i], "size=", 5)) {
			*size = parse_size(argv[i] + 5);
			if (*size <= 0)
				bad_usage("%s: '%s' is not a size", cmd, argv[i] + 5);
		} else if (cache && !strncmp(argv[i], "cache=", 6)) {
			for (*cache = 0; *cache < nr_caches; ++*cache)
				if (!strcmp(argv[i] + 6, cache_names[*cache]))
					break;
			if (*cache == nr_caches)
				bad_usage("%s: '%s' is not a cache mode: cached, write-combine or uncached",
					  cmd, argv[i] + 6);
		} else {
			bad_usage(cache ? "%s: '%s': expected backend=NAME, size=SIZE or cache=MODE" :
				  "%s: '%s': expected backend=NAME or size=SIZE", cmd, argv[i]);
		}
	}
}

static int cmd_set(const char *name, int argc, char **argv)
{
	const char *backend;
	long long size;
	int fd, cache;

	if (!argc)
		bad_usage("set %s: nothing to set: give backend=NAME, size=SIZE and/or cache=MODE",
			  name);
	parse_settings("set", argc, argv, &backend, &size, &cache);
	fd = open_dev(name, O_RDWR);
	if (backend) {
		struct mmapper_set_backend sb = { .size = sizeof(sb) };

		strcpy(sb.backend, backend);
		if (ioctl(fd, MMAPPER_IOC_SET_BACKEND, &sb))
			die("set %s backend=%s: %s%s", name, backend, strerror(errno),
			    errno == EINVAL ? " (unknown backend; see mmapperctl list)" :
			    hint(errno));
	}
	if (size > 0) {
		struct mmapper_set_size ss = { .size = sizeof(ss), .buf_size = size };

		if (ioctl(fd, MMAPPER_IOC_SET_SIZE, &ss))
			die("set %s size=%lld: %s%s", name, size, strerror(errno), hint(errno));
	}
	if (cache >= 0) {
		struct mmapper_set_cache sc = { .size = sizeof(sc), .cache = cache };

		if (ioctl(fd, MMAPPER_IOC_SET_CACHE, &sc))
			die("set %s cache=%s: %s%s", name, cache_names[cache], strerror(errno),
			    errno == EINVAL ? " (not offered here, or not for this backend "
			    "and size: see the kernel log)" :
			    errno == EPERM ? " (a buffer that is not cached needs CAP_SYS_ADMIN)" :
			    hint(errno));
	}
	close(fd);
	return cmd_info(name);
}

/* Ask the kernel to remove device number @n: 0 or an errno. */
static int hot_remove(unsigned long n)
{
	char val[32];
	int fd, err = 0;

	snprintf(val, sizeof(val), "%lu", n);
	fd = open(CLASS_DIR "/hot_remove", O_WRONLY);
	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		err = errno;
	close(fd);
	return err;
}

/* What a hot_add or hot_remove errno means, in words. */
static const char *hotplug_hint(int err)
{
	switch (err) {
	case EACCES:
		return " (needs root)";
	case EPERM:
		return " (needs CAP_SYS_ADMIN)";
	case EBUSY:
		return " (a process has it open, mapped or exported: close it first)";
	case ENODEV:
		return " (no such device)";
	case ENOSPC:
		return " (as many devices exist as /sys/module/mmapper/parameters/max_devices allows)";
	case ENOENT:
		return " (is the mmapper module loaded?)";
	}
	return hint(err);
}

/*
 * A new device (hot_add) with the module's defaults, then the backend and
 * size asked for; if they cannot be had, the device goes again.
 */
static int cmd_create(int argc, char **argv)
{
	static const char set_backend[] = "backend=";
	const char *backend, *what;
	long long size;
	char val[32], name[64], path[96], size_arg[40];
	unsigned long n;
	int err, fd, tries;
	char *end;

	parse_settings("create", argc, argv, &backend, &size, NULL);
	err = read_text(CLASS_DIR "/hot_add", val, sizeof(val));
	if (err)
		die("create: " CLASS_DIR "/hot_add: %s%s", strerror(-err), hotplug_hint(-err));
	n = strtoul(val, &end, 10);
	if (!*val || *end)
		die("create: " CLASS_DIR "/hot_add gave '%s', not a number", val);
	snprintf(name, sizeof(name), "mmapper%lu", n);
	if (backend || size > 0) {
		snprintf(path, sizeof(path), "/dev/%s", name);
		/* devtmpfs has the node at once; a udev without it, soon. */
		for (tries = 0; (fd = open(path, O_RDWR)) < 0 && errno == ENOENT &&
		     tries < 50; tries++)
			usleep(100000);
		err = fd < 0 ? errno : 0;
		what = path;
		if (!err && backend) {
			struct mmapper_set_backend sb = { .size = sizeof(sb) };

			what = set_backend;
			strcpy(sb.backend, backend);
			if (ioctl(fd, MMAPPER_IOC_SET_BACKEND, &sb))
				err = errno;
		}
		if (!err && size > 0) {
			struct mmapper_set_size ss = { .size = sizeof(ss), .buf_size = size };

			snprintf(size_arg, sizeof(size_arg), "size=%lld", size);
			what = size_arg;
			if (ioctl(fd, MMAPPER_IOC_SET_SIZE, &ss))
				err = errno;
		}
		if (fd >= 0)
			close(fd);
		if (err) {
			hot_remove(n);
			die("create: %s%s: %s%s; %s removed again", what,
			    what == set_backend ? backend : "", strerror(err),
			    err == EINVAL && what == set_backend ?
			    " (unknown backend; see mmapperctl list)" : hint(err), name);
		}
	}
	return cmd_info(name);
}

static int cmd_remove(const char *name)
{
	int err = hot_remove(strtoul(name + 7, NULL, 10));

	if (err)
		die("remove %s: %s%s", name, strerror(err), hotplug_hint(err));
	if (json)
		printf("{\"device\": \"%s\", \"removed\": true}\n", name);
	else
		printf("%s: removed\n", name);
	return 0;
}

static int cmd_stats(const char *name, int argc, char **argv)
{
	static const char *const keys[] = {
		"opens", "mmaps", "active_mappings", "faults", "huge_faults",
		"bytes_read", "bytes_written", "resizes", "alloc_failures",
		"exports", "exports_total",
	};
	struct mmapper_stats st = { .size = sizeof(st) };
	unsigned int i;
	__u64 *v = &st.opens;
	int fd;

	if (argc == 1 && !strcmp(argv[0], "--reset")) {
		char path[128];

		snprintf(path, sizeof(path), CLASS_DIR "/%s/stats/reset", name);
		fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, "1", 1) != 1)
			die("%s: %s%s", path, strerror(errno), hint(errno));
		close(fd);
	} else if (argc) {
		bad_usage("stats: unexpected '%s'", argv[0]);
	}
	fd = open_dev(name, O_RDONLY);
	if (ioctl(fd, MMAPPER_IOC_GET_STATS, &st))
		die("%s: MMAPPER_IOC_GET_STATS: %s", name, strerror(errno));
	close(fd);
	if (json)
		printf("{\"device\": \"%s\"", name);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (json)
			printf(", \"%s\": %llu", keys[i], (unsigned long long)v[i]);
		else
			printf("%-16s %llu\n", keys[i], (unsigned long long)v[i]);
	}
	if (json)
		printf("}\n");
	return 0;
}

/* debugfs pages, mappings, exports: the text as it is, or JSON rows (lines, for exports). */
static int cmd_debugfs(const char *name, const char *file)
{
	char path[128], line[512];
	int first = 1, header = 1;
	FILE *f;

	snprintf(path, sizeof(path), DEBUG_DIR "/%s/%s", name, file);
	f = fopen(path, "r");
	if (!f)
		die("%s: %s%s", path, strerror(errno),
		    errno == ENOENT ? " (is debugfs mounted, and the module loaded?)" :
		    hint(errno));
	if (json)
		printf("{\"device\": \"%s\", \"%s\": [", name, file);
	while (fgets(line, sizeof(line), f)) {
		if (!json) {
			fputs(line, stdout);
			continue;
		}
		if (header && strcmp(file, "exports")) {
			header = 0;
			continue;
		}
		if (!strcmp(file, "exports")) {
			line[strcspn(line, "\n")] = '\0';
			printf("%s", first ? "" : ", ");
			json_str(line);
		} else if (!strcmp(file, "pages")) {
			char ktype[64] = "-", utype[64] = "-";
			unsigned long idx, pfn;
			int ref, mapcount;
			unsigned int mapped;

			if (sscanf(line, "%lu %lx %d %d %u %63s %63s", &idx, &pfn, &ref,
				   &mapcount, &mapped, ktype, utype) < 5)
				continue;
			printf("%s{\"index\": %lu, \"pfn\": %lu, \"refcount\": %d, "
			       "\"mapcount\": %d, \"mapped\": %u, \"kernel_type\": \"%s\", "
			       "\"user_type\": ", first ? "" : ", ",
			       idx, pfn, ref, mapcount, mapped, ktype);
			if (strcmp(utype, "-"))
				json_str(utype);
			else
				printf("null");
			printf("}");
		} else {
			char comm[64], perms[8], flags[256] = "";
			unsigned long start, end, pgoff;
			int pid;

			if (sscanf(line, "%d %63s %lx-%lx %lu %7s %255s", &pid, comm, &start,
				   &end, &pgoff, perms, flags) < 6)
				continue;
			printf("%s{\"pid\": %d, \"comm\": ", first ? "" : ", ", pid);
			json_str(comm);
			printf(", \"start\": %lu, \"end\": %lu, \"pgoff\": %lu, \"perms\": \"%s\", "
			       "\"flags\": ", start, end, pgoff, perms);
			json_str(flags);
			printf("}");
		}
		first = 0;
	}
	fclose(f);
	if (json)
		printf("]}\n");
	return 0;
}

struct range {
	long long offset, length;
	int pattern;
};

static void parse_range(const char *cmd, int argc, char **argv, struct range *r,
			long long def_len)
{
	int i;

	r->offset = 0;
	r->length = def_len;
	r->pattern = -1;
	for (i = 0; i < argc; i++) {
		long long *dst = NULL;

		if (!strcmp(argv[i], "--offset"))
			dst = &r->offset;
		else if (!strcmp(argv[i], "--length"))
			dst = &r->length;
		else if (strcmp(argv[i], "--pattern"))
			bad_usage("%s: unexpected '%s'", cmd, argv[i]);
		if (i + 1 >= argc)
			bad_usage("%s: %s needs a value", cmd, argv[i]);
		if (dst) {
			*dst = parse_size(argv[++i]);
			if (*dst < 0)
				bad_usage("%s: '%s' is not a number", cmd, argv[i]);
		} else {
			long long p = parse_size(argv[++i]);

			if (p < 0 || p > 0xff)
				bad_usage("%s: pattern '%s' is not a byte (0-255)", cmd, argv[i]);
			r->pattern = (int)p;
		}
	}
}

/* Map [off, off + len) of the device read-only; *base is what to munmap. */
static unsigned char *map_range(int fd, const char *name, const struct range *r,
				const struct mmapper_info *info, void **base, size_t *maplen)
{
	long long start = r->offset & ~((long long)info->page_size - 1);
	unsigned char *p;

	*maplen = r->offset + r->length - start;
	p = mmap(NULL, *maplen, PROT_READ, MAP_SHARED, fd, start);
	if (p == MAP_FAILED)
		die("%s: mmap of [%lld, %lld): %s", name, r->offset, r->offset + r->length,
		    strerror(errno));
	*base = p;
	return p + (r->offset - start);
}

static void check_range(const char *cmd, const char *name, const struct range *r,
			const struct mmapper_info *info)
{
	if (r->offset > (long long)info->buf_size ||
	    r->length > (long long)info->buf_size - r->offset)
		die("%s %s: [%lld, %lld) is outside the buffer of %llu bytes", cmd, name,
		    r->offset, r->offset + r->length, (unsigned long long)info->buf_size);
}

static int cmd_dump(const char *name, int argc, char **argv)
{
	int fd = open_dev(name, O_RDONLY);
	struct mmapper_info info = get_info(fd, name);
	unsigned char *p;
	struct range r;
	size_t maplen;
	long long i;
	void *base;

	parse_range("dump", argc, argv, &r, -1);
	if (r.length < 0)	/* 256 bytes, or what is left of the buffer */
		r.length = r.offset >= (long long)info.buf_size ? 0 :
			   (long long)info.buf_size - r.offset < 256 ?
			   (long long)info.buf_size - r.offset : 256;
	check_range("dump", name, &r, &info);
	/* Nothing to map for an empty range: p is then never read. */
	p = r.length ? map_range(fd, name, &r, &info, &base, &maplen) : NULL;
	if (json) {
		printf("{\"device\": \"%s\", \"offset\": %lld, \"length\": %lld, \"bytes\": \"",
		       name, r.offset, r.length);
		for (i = 0; i < r.length; i++)
			printf("%02x", p[i]);
		printf("\"}\n");
	} else {
		for (i = 0; i < r.length; i += 16) {
			long long j, n = r.length - i < 16 ? r.length - i : 16;

			printf("%08llx  ", r.offset + i);
			for (j = 0; j < 16; j++) {
				if (j < n)
					printf("%02x ", p[i + j]);
				else
					printf("   ");
				if (j == 7)
					putchar(' ');
			}
			printf(" |");
			for (j = 0; j < n; j++)
				putchar(isprint(p[i + j]) ? p[i + j] : '.');
			printf("|\n");
		}
	}
	if (p)
		munmap(base, maplen);
	close(fd);
	return 0;
}

/*
 * A FILL or CHECKSUM that failed: EAGAIN means the buffer changed under
 * the walk (mmapper(4)), which a person reads better than strerror's
 * "Resource temporarily unavailable".
 */
static void range_failed(const char *what, const char *name)
{
	if (errno == EAGAIN)
		die("%s %s: the buffer changed during the walk (a resize, backend switch or cache mode change)%s; run again",
		    what, name, strcmp(what, "fill") ? "" : ": part of the range is filled");
	die("%s %s: %s", what, name, strerror(errno));
}

static int cmd_fill(const char *name, int argc, char **argv)
{
	int fd = open_dev(name, O_RDWR);
	struct mmapper_info info = get_info(fd, name);
	struct mmapper_range mr = { .size = sizeof(mr) };
	struct range r;

	parse_range("fill", argc, argv, &r, -1);
	if (r.pattern < 0)
		bad_usage("fill: --pattern BYTE is required");
	if (r.length < 0)
		r.length = r.offset <= (long long)info.buf_size ? info.buf_size - r.offset : 0;
	check_range("fill", name, &r, &info);
	mr.offset = r.offset;
	mr.length = r.length;
	mr.pattern = r.pattern;
	if (ioctl(fd, MMAPPER_IOC_FILL, &mr))
		range_failed("fill", name);
	if (json)
		printf("{\"device\": \"%s\", \"offset\": %lld, \"length\": %lld, \"pattern\": %d}\n",
		       name, r.offset, r.length, r.pattern);
	else
		printf("%s: filled [%lld, %lld) with 0x%02x\n", name, r.offset,
		       r.offset + r.length, r.pattern);
	close(fd);
	return 0;
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/*
 * The kernel's checksum of the range against the one of the bytes seen
 * through a mapping, and, with --pattern, every byte against it.
 */
static int cmd_verify(const char *name, int argc, char **argv)
{
	int fd = open_dev(name, O_RDONLY);
	struct mmapper_info info = get_info(fd, name);
	struct mmapper_range mr = { .size = sizeof(mr) };
	long long i, bad = -1;
	uint32_t user = 2166136261u;
	unsigned char *p = NULL;
	void *base = NULL;
	size_t maplen = 0;
	struct range r;
	int ok;

	parse_range("verify", argc, argv, &r, -1);
	if (r.length < 0)
		r.length = r.offset <= (long long)info.buf_size ? info.buf_size - r.offset : 0;
	check_range("verify", name, &r, &info);
	mr.offset = r.offset;
	mr.length = r.length;
	if (ioctl(fd, MMAPPER_IOC_CHECKSUM, &mr))
		range_failed("verify", name);
	if (r.length) {
		p = map_range(fd, name, &r, &info, &base, &maplen);
		user = fnv1a(p, r.length);
		for (i = 0; r.pattern >= 0 && i < r.length && bad < 0; i++)
			if (p[i] != r.pattern)
				bad = r.offset + i;
	}
	ok = user == mr.checksum && bad < 0;
	if (json) {
		printf("{\"device\": \"%s\", \"offset\": %lld, \"length\": %lld, "
		       "\"kernel_fnv1a\": %llu, \"mapping_fnv1a\": %u, \"first_mismatch\": %lld, "
		       "\"ok\": %s}\n", name, r.offset, r.length,
		       (unsigned long long)mr.checksum, user, bad, ok ? "true" : "false");
	} else {
		printf("%s [%lld, %lld): kernel FNV-1a %08llx, through the mapping %08x",
		       name, r.offset, r.offset + r.length,
		       (unsigned long long)mr.checksum, user);
		if (r.pattern >= 0 && bad < 0)
			printf(", 0x%02x in every byte", r.pattern);
		if (bad >= 0)
			printf(", byte %lld is 0x%02x, not 0x%02x", bad, p[bad - r.offset],
			       r.pattern);
		printf(": %s\n", ok ? "OK" : "MISMATCH");
	}
	if (base)
		munmap(base, maplen);
	close(fd);
	return ok ? 0 : EXIT_MISMATCH;
}

/* Map the whole buffer and hold it: see EBUSY, debugfs mappings, rmmod. */
static int cmd_hold(const char *name, int argc, char **argv)
{
	int fd = open_dev(name, O_RDONLY);
	struct mmapper_info info = get_info(fd, name);
	long long secs;
	void *p;

	if (argc != 1 || (secs = parse_size(argv[0])) < 0)
		bad_usage("hold %s SECONDS", name);
	p = mmap(NULL, info.buf_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("%s: mmap: %s", name, strerror(errno));
	if (!json)
		printf("%s: %llu bytes mapped at %p for %lld s\n", name,
		       (unsigned long long)info.buf_size, p, secs);
	fflush(stdout);
	sleep(secs);
	munmap(p, info.buf_size);
	close(fd);
	return 0;
}

/* The value of "KEY:\tVALUE" in /proc/self/fdinfo/FD, or "?". */
static const char *fdinfo(int fd, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t n = strlen(key);
	FILE *f;

	snprintf(out, len, "?");
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return out;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ':') {
			char *v = line + n + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
			break;
		}
	}
	fclose(f);
	return out;
}

/*
 * Export a range as a DMA-BUF and print what it is; with --hold, keep it
 * (and so the buffer) that many seconds, for debugfs exports, EBUSY, rmmod.
 */
static int cmd_export(const char *name, int argc, char **argv)
{
	struct mmapper_export e = { .size = sizeof(e), .flags = O_RDWR | O_CLOEXEC };
	char size[32], exp_name[64];
	long long hold = 0;
	struct mmapper_info info;
	struct range r;
	int fd, i, j = 0;
	char **rest;

	rest = calloc(argc + 1, sizeof(*rest));
	if (!rest)
		die("out of memory");
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--read-only")) {
			e.flags = O_RDONLY | O_CLOEXEC;
		} else if (!strcmp(argv[i], "--hold")) {
			if (i + 1 >= argc || (hold = parse_size(argv[++i])) < 0)
				bad_usage("export: --hold needs a number of seconds");
		} else {
			rest[j++] = argv[i];
		}
	}
	fd = open_dev(name, (e.flags & O_ACCMODE) == O_RDWR ? O_RDWR : O_RDONLY);
	info = get_info(fd, name);
	parse_range("export", j, rest, &r, -1);
	free(rest);
	if (r.pattern >= 0)
		bad_usage("export: unexpected --pattern");
	if (r.length < 0)
		r.length = info.buf_size - r.offset;
	check_range("export", name, &r, &info);
	e.offset = r.offset;
	e.length = r.length;
	if (ioctl(fd, MMAPPER_IOC_EXPORT_DMABUF, &e))
		die("%s: export of [%lld, %lld): %s%s", name, r.offset, r.offset + r.length,
		    strerror(errno), errno == EINVAL ?
		    " (offset and length must be multiples of the page size, the length not 0)" :
		    hint(errno));
	close(fd);
	fdinfo(e.fd, "size", size, sizeof(size));
	fdinfo(e.fd, "exp_name", exp_name, sizeof(exp_name));
	if (json) {
		printf("{\"device\": \"%s\", \"fd\": %d, \"inode\": %llu, \"offset\": %llu, "
		       "\"length\": %llu, \"access\": \"%s\", \"size\": %s, \"exp_name\": ",
		       name, e.fd, (unsigned long long)e.inode, (unsigned long long)e.offset,
		       (unsigned long long)e.length,
		       (e.flags & O_ACCMODE) == O_RDWR ? "rw" : "ro",
		       strcmp(size, "?") ? size : "null");
		json_str(exp_name);
		printf(", \"hold\": %lld}\n", hold);
	} else {
		printf("%s: DMA-BUF fd %d, inode %llu: offset %llu, length %llu, %s, exporter %s, size %s\n",
		       name, e.fd, (unsigned long long)e.inode, (unsigned long long)e.offset,
		       (unsigned long long)e.length,
		       (e.flags & O_ACCMODE) == O_RDWR ? "read-write" : "read-only",
		       exp_name, size);
		if (hold)
			printf("%s: holding it for %lld s\n", name, hold);
	}
	fflush(stdout);
	sleep(hold);
	close(e.fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd, *name;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			usage();
		else
			bad_usage("unknown option '%s'", argv[i]);
	}
	if (i >= argc)
		usage();
	cmd = argv[i++];
	/* --json may also come last. */
	if (argc > i && !strcmp(argv[argc - 1], "--json")) {
		json = 1;
		argc--;
	}
	if (!strcmp(cmd, "list")) {
		if (i < argc)
			bad_usage("list takes no arguments");
		return cmd_list();
	}
	if (!strcmp(cmd, "create"))
		return cmd_create(argc - i, argv + i);
	if (i >= argc)
		bad_usage("%s: which device?", cmd);
	name = dev_name(argv[i++]);
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "info") && !argc)
		return cmd_info(name);
	if (!strcmp(cmd, "remove") && !argc)
		return cmd_remove(name);
	if (!strcmp(cmd, "set"))
		return cmd_set(name, argc, argv);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(name, argc, argv);
	if (!strcmp(cmd, "pages") && !argc)
		return cmd_debugfs(name, "pages");
	if (!strcmp(cmd, "mappings") && !argc)
		return cmd_debugfs(name, "mappings");
	if (!strcmp(cmd, "dump"))
		return cmd_dump(name, argc, argv);
	if (!strcmp(cmd, "fill"))
		return cmd_fill(name, argc, argv);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(name, argc, argv);
	if (!strcmp(cmd, "hold"))
		return cmd_hold(name, argc, argv);
	if (!strcmp(cmd, "export"))
		return cmd_export(name, argc, argv);
	if (!strcmp(cmd, "exports") && !argc)
		return cmd_debugfs(name, "exports");
	bad_usage("unknown command or arguments: '%s'", cmd);
	return EXIT_USAGE;
}
