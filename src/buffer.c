// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper buffers as objects: the backend table, allocation, references,
 * copies and walks.  Nothing here knows about devices' policy (who may
 * change what, logging, counting, tracing): that is device.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "mmapper.h"

/* Order is ABI: it is the order sysfs lists them in. */
const struct mmapper_backend *const mmapper_backends[] = {
	&mmapper_backend_kmalloc,
	&mmapper_backend_vmalloc,
	&mmapper_backend_vmalloc_fault,
	&mmapper_backend_vmalloc_user,
	&mmapper_backend_pages,
	&mmapper_backend_huge,
};

const unsigned int mmapper_nr_backends = ARRAY_SIZE(mmapper_backends);

/**
 * mmapper_backend_find() - look a backend up by name
 * @name: name, as written to sysfs (a trailing newline is ignored)
 *
 * Return: the backend, or NULL if no backend has that name.
 */
const struct mmapper_backend *mmapper_backend_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mmapper_backends); i++)
		if (sysfs_streq(name, mmapper_backends[i]->name))
			return mmapper_backends[i];
	return NULL;
}

/**
 * mmapper_backend_list() - list every backend, kernel style
 * @buf: sysfs page to print into
 * @cur: backend to show in brackets, or NULL for none
 *
 * Return: bytes written, as a sysfs show method returns.
 */
ssize_t mmapper_backend_list(char *buf, const struct mmapper_backend *cur)
{
	ssize_t len = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mmapper_backends); i++) {
		const struct mmapper_backend *b = mmapper_backends[i];

		len += sysfs_emit_at(buf, len, b == cur ? "%s[%s]" : "%s%s",
				     i ? " " : "", b->name);
	}
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

/**
 * mmapper_size_check() - can @backend hold a buffer of @size bytes?
 * @backend: the backend
 * @size: requested size in bytes, before rounding up to pages
 *
 * Return: 0 if it can; -EINVAL for 0, -ENOMEM for more than the machine's
 * RAM, -E2BIG for more than the backend's own limit.  Callers log why.
 */
int mmapper_size_check(const struct mmapper_backend *backend, u64 size)
{
	if (!size)
		return -EINVAL;
	/* Also keeps PAGE_ALIGN() below from overflowing. */
	if (size > (u64)totalram_pages() << PAGE_SHIFT)
		return -ENOMEM;
	if (backend->max_size && PAGE_ALIGN(size) > backend->max_size)
		return -E2BIG;
	return 0;
}

/**
 * mmapper_buf_alloc() - allocate a zeroed buffer
 * @backend: backend to allocate it with
 * @size: size in bytes, already checked by mmapper_size_check()
 * @cache: its cache mode, already checked by mmapper_cache_check()
 *
 * Return: the buffer, or an ERR_PTR().
 */
struct mmapper_buf *mmapper_buf_alloc(const struct mmapper_backend *backend,
				      u64 size, unsigned int cache)
{
	struct mmapper_buf *buf;
	int ret;

	buf = kzalloc(sizeof(*buf), MMAPPER_GFP_META);
	if (!buf)
		return ERR_PTR(-ENOMEM);

	kref_init(&buf->ref);
	buf->backend = backend;
	buf->cache = cache;
	buf->size = PAGE_ALIGN(size);
	buf->nr_pages = buf->size >> PAGE_SHIFT;

	ret = backend->alloc(buf);
	if (ret) {
		kfree(buf);
		return ERR_PTR(ret);
	}
	return buf;
}

/**
 * mmapper_buf_free() - free a buffer that no one else has seen
 * @buf: the buffer, or NULL; never published as a device's buffer
 */
void mmapper_buf_free(struct mmapper_buf *buf)
{
	if (!buf)
		return;
	buf->backend->free(buf);
	kfree(buf);
}

static void mmapper_buf_release(struct kref *ref)
{
	struct mmapper_buf *buf = container_of(ref, struct mmapper_buf, ref);

	buf->backend->free(buf);
	/* mmapper_buf_get() may still be looking at @ref. */
	kfree_rcu(buf, rcu);
}

/**
 * mmapper_buf_put() - drop a reference to a buffer
 * @buf: the buffer; freed with the last reference
 *
 * Context: process context: the last put frees the buffer's memory.
 */
void mmapper_buf_put(struct mmapper_buf *buf)
{
	kref_put(&buf->ref, mmapper_buf_release);
}

/**
 * mmapper_buf_get() - a reference to a device's buffer, without its lock
 * @mdev: the device
 *
 * The device holds a reference to its buffer until a change has put the
 * successor in its place, so a buffer whose count has dropped to zero is
 * already replaced: look again.
 *
 * Return: the buffer; release it with mmapper_buf_put().
 */
struct mmapper_buf *mmapper_buf_get(struct mmapper_dev *mdev)
{
	struct mmapper_buf *buf;

	rcu_read_lock();
	do {
		buf = rcu_dereference(mdev->buf);
	} while (!kref_get_unless_zero(&buf->ref));
	rcu_read_unlock();
	return buf;
}

/**
 * mmapper_buf_next() - wait for a retiring buffer's change to end
 * @mdev: the device
 * @old: a buffer of @mdev found retiring; the caller's reference is dropped
 *
 * A class-wide switch keeps a device's buffer retiring while it builds the
 * others: the wait can be long, so a fatal signal ends it.
 *
 * Return: a reference to the device's buffer once the change is done (its
 * successor, or @old itself if the change failed), or ERR_PTR(-EINTR).
 */
struct mmapper_buf *mmapper_buf_next(struct mmapper_dev *mdev,
				     struct mmapper_buf *old)
{
	int ret;

	ret = wait_event_killable(mdev->change_wq,
				  rcu_access_pointer(mdev->buf) != old ||
				  !READ_ONCE(old->retiring));
	mmapper_buf_put(old);
	return ret ? ERR_PTR(-EINTR) : mmapper_buf_get(mdev);
}

/**
 * mmapper_buf_copy() - copy the first min(dst, src) bytes of @src to @dst
 * @dst: destination buffer; its bytes past @src's size stay as they are
 * @src: source buffer, which is only read
 *
 * Return: 0, or -EINTR if a fatal signal came first (@dst is then partly
 * copied, for the caller to free).
 */
int mmapper_buf_copy(struct mmapper_buf *dst, const struct mmapper_buf *src)
{
	unsigned long n = min(dst->nr_pages, src->nr_pages);
	unsigned long i;

	for (i = 0; i < n; i++) {
		struct page *from = src->backend->page_at(src, i);
		struct page *to = dst->backend->page_at(dst, i);

		if (fatal_signal_pending(current))
			return -EINTR;
		copy_highpage(to, from);
		cond_resched();
	}
	return 0;
}

/**
 * mmapper_buf_walk() - visit a byte range of a buffer one page at a time
 * @buf: the buffer
 * @pos: first byte
 * @len: bytes; @pos + @len must not pass @buf->size
 * @fn: called with the kernel address and length of each piece
 * @arg: passed to @fn
 */
void mmapper_buf_walk(const struct mmapper_buf *buf, u64 pos, u64 len,
		      void (*fn)(void *kaddr, size_t n, void *arg), void *arg)
{
	while (len) {
		size_t off = offset_in_page(pos);
		size_t n = min_t(u64, len, PAGE_SIZE - off);
		void *kaddr = kmap_local_page(buf->backend->page_at(buf, pos >> PAGE_SHIFT));

		fn(kaddr + off, n, arg);
		kunmap_local(kaddr);
		pos += n;
		len -= n;
		cond_resched();
	}
}

/**
 * mmapper_parse_size() - parse a size with an optional K, M, G or T suffix
 * @s: the text, as written to sysfs or given as a module parameter; one
 *	trailing newline is allowed
 * @size: the size in bytes, on success
 *
 * Unlike memparse(), refuses trailing garbage and values that overflow.
 *
 * Return: 0, -EINVAL for text that is not a size, -ERANGE for one that
 * does not fit in 64 bits.
 */
int mmapper_parse_size(const char *s, u64 *size)
{
	char num[24];
	size_t len = strlen(s);
	unsigned int shift = 0;
	u64 val;
	int ret;

	if (len && s[len - 1] == '\n')
		len--;
	if (!len || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len);
	num[len] = '\0';

	switch (num[len - 1]) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	}
	if (shift)
		num[len - 1] = '\0';

	ret = kstrtoull(num, 0, &val);
	if (ret)
		return ret;
	if (val > (U64_MAX >> shift))
		return -ERANGE;
	*size = val << shift;
	return 0;
}
