/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmapper tracepoints: tracefs events/mmapper/, trace-cmd -e mmapper.
 * Documented in Documentation/admin-guide.rst ("Tracing").
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mmapper

#if !defined(_MMAPPER_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MMAPPER_TRACE_H

#include <linux/string.h>
#include <linux/tracepoint.h>

/*
 * Backend names are short: fixed arrays filled with strscpy() read the
 * same on every kernel (__assign_str() lost its source argument in 6.10).
 */
#define MMAPPER_TRACE_NAME_LEN	16

TRACE_EVENT(mmapper_mmap,
	    TP_PROTO(unsigned int dev, const char *backend, unsigned long start,
		     unsigned long end, unsigned long pgoff, bool shared, int ret),
	    TP_ARGS(dev, backend, start, end, pgoff, shared, ret),
	    TP_STRUCT__entry(__field(unsigned int, dev)
			     __array(char, backend, MMAPPER_TRACE_NAME_LEN)
			     __field(unsigned long, start)
			     __field(unsigned long, end)
			     __field(unsigned long, pgoff)
			     __field(bool, shared)
			     __field(int, ret)),
	    TP_fast_assign(__entry->dev = dev;
			   strscpy(__entry->backend, backend, MMAPPER_TRACE_NAME_LEN);
			   __entry->start = start;
			   __entry->end = end;
			   __entry->pgoff = pgoff;
			   __entry->shared = shared;
			   __entry->ret = ret;),
	    TP_printk("mmapper%u backend=%s start=0x%lx end=0x%lx pgoff=%lu %s ret=%d",
		      __entry->dev, __entry->backend, __entry->start,
		      __entry->end, __entry->pgoff,
		      __entry->shared ? "shared" : "private", __entry->ret)
);

TRACE_EVENT(mmapper_fault,
	    TP_PROTO(unsigned int dev, unsigned long address,
		     unsigned long pgoff, unsigned int order, unsigned int ret),
	    TP_ARGS(dev, address, pgoff, order, ret),
	    TP_STRUCT__entry(__field(unsigned int, dev)
			     __field(unsigned long, address)
			     __field(unsigned long, pgoff)
			     __field(unsigned int, order)
			     __field(unsigned int, ret)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->address = address;
			   __entry->pgoff = pgoff;
			   __entry->order = order;
			   __entry->ret = ret;),
	    TP_printk("mmapper%u address=0x%lx pgoff=%lu order=%u ret=0x%x",
		      __entry->dev, __entry->address, __entry->pgoff,
		      __entry->order, __entry->ret)
);

TRACE_EVENT(mmapper_resize,
	    TP_PROTO(unsigned int dev, u64 old_size, u64 new_size, int ret),
	    TP_ARGS(dev, old_size, new_size, ret),
	    TP_STRUCT__entry(__field(unsigned int, dev)
			     __field(u64, old_size)
			     __field(u64, new_size)
			     __field(int, ret)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->old_size = old_size;
			   __entry->new_size = new_size;
			   __entry->ret = ret;),
	    TP_printk("mmapper%u old_size=%llu new_size=%llu ret=%d",
		      __entry->dev, __entry->old_size, __entry->new_size,
		      __entry->ret)
);

TRACE_EVENT(mmapper_switch,
	    TP_PROTO(unsigned int dev, const char *old_backend,
		     const char *new_backend, int ret),
	    TP_ARGS(dev, old_backend, new_backend, ret),
	    TP_STRUCT__entry(__field(unsigned int, dev)
			     __array(char, old_backend, MMAPPER_TRACE_NAME_LEN)
			     __array(char, new_backend, MMAPPER_TRACE_NAME_LEN)
			     __field(int, ret)),
	    TP_fast_assign(__entry->dev = dev;
			   strscpy(__entry->old_backend, old_backend,
				   MMAPPER_TRACE_NAME_LEN);
			   strscpy(__entry->new_backend, new_backend,
				   MMAPPER_TRACE_NAME_LEN);
			   __entry->ret = ret;),
	    TP_printk("mmapper%u old=%s new=%s ret=%d", __entry->dev,
		      __entry->old_backend, __entry->new_backend,
		      __entry->ret)
);

/* A change of cache mode (sysfs cache, MMAPPER_IOC_SET_CACHE), by name. */
TRACE_EVENT(mmapper_cache,
	    TP_PROTO(unsigned int dev, const char *old_cache,
		     const char *new_cache, int ret),
	    TP_ARGS(dev, old_cache, new_cache, ret),
	    TP_STRUCT__entry(__field(unsigned int, dev)
			     __array(char, old_cache, MMAPPER_TRACE_NAME_LEN)
			     __array(char, new_cache, MMAPPER_TRACE_NAME_LEN)
			     __field(int, ret)),
	    TP_fast_assign(__entry->dev = dev;
			   strscpy(__entry->old_cache, old_cache,
				   MMAPPER_TRACE_NAME_LEN);
			   strscpy(__entry->new_cache, new_cache,
				   MMAPPER_TRACE_NAME_LEN);
			   __entry->ret = ret;),
	    TP_printk("mmapper%u old=%s new=%s ret=%d", __entry->dev,
		      __entry->old_cache, __entry->new_cache, __entry->ret)
);

#endif /* _MMAPPER_TRACE_H */

/* An out-of-tree module: the header is found next to this file. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
