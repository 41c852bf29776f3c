/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernel APIs mmapper builds against (Debian
 * 12's 6.1 and 6.12 lines) lives here, so the rest of the code reads like
 * mainline.  Where a stable kernel may have backported an API, the Kbuild
 * file probes the headers for it (MMAPPER_HAVE_*) instead of trusting
 * LINUX_VERSION_CODE.
 */
#ifndef _MMAPPER_COMPAT_H
#define _MMAPPER_COMPAT_H

#include <linux/device/class.h>
#include <linux/mm.h>

/* 6.3 made vma->vm_flags read-only behind wrappers (backported to some stables). */
#ifdef MMAPPER_HAVE_VM_FLAGS_SET
static inline void mmapper_vm_flags_set(struct vm_area_struct *vma,
					vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}

static inline void mmapper_vm_flags_clear(struct vm_area_struct *vma,
					  vm_flags_t flags)
{
	vm_flags_clear(vma, flags);
}
#else
static inline void mmapper_vm_flags_set(struct vm_area_struct *vma,
					vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void mmapper_vm_flags_clear(struct vm_area_struct *vma,
					  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/* 6.4 made the class argument of class attribute methods const. */
#ifdef MMAPPER_HAVE_CONST_CLASS_ATTR
#define MMAPPER_CLASS_ATTR_CONST const
#else
#define MMAPPER_CLASS_ATTR_CONST
#endif

#endif /* _MMAPPER_COMPAT_H */
