# SPDX-License-Identifier: GPL-2.0
# Included by Kbuild (and by the selftests' importer module, which uses
# compat.h too): the flags compat.h reads.
#
# Feature probes for compat.h: ask the headers, not the version number,
# because stable and distribution kernels backport APIs.  Each probe names
# a header and a string that only the newer API has in it.
mmapper-probe = $(shell grep -qsF '$(2)' $(srctree)/$(1) && echo -D$(3))
mmapper-probe-file = $(shell test -e $(srctree)/$(1) && echo -D$(2))

probe-vm-flags := static inline void vm_flags_set(
probe-class-attr := (*show)(const struct class *class
probe-folio-mapcount := static inline int folio_mapcount(
probe-folio := define page_folio(
probe-kmap-local := kmap_local_page(
probe-vmalloc-huge := vmalloc_huge
probe-copy-splice-read := ssize_t copy_splice_read(
probe-vma-lookup := struct vm_area_struct *vma_lookup(
probe-follow-pfnmap := int follow_pfnmap_start(
probe-follow-pte-vma := int follow_pte(struct vm_area_struct *vma
probe-import-ns-string := MODULE_INFO(import_ns, ns)
probe-sg-segment := int sg_alloc_table_from_pages_segment(
probe-zap-special := void zap_special_vma_range(
probe-folio-pmd := vm_fault_t vmf_insert_folio_pmd(

ccflags-y += $(call mmapper-probe,include/linux/mm.h,$(probe-vm-flags),MMAPPER_HAVE_VM_FLAGS_SET)
ccflags-y += $(call mmapper-probe,include/linux/device/class.h,$(probe-class-attr),MMAPPER_HAVE_CONST_CLASS_ATTR)
ccflags-y += $(call mmapper-probe,include/linux/mm.h,$(probe-folio-mapcount),MMAPPER_HAVE_FOLIO_MAPCOUNT)
ccflags-y += $(call mmapper-probe,include/linux/page-flags.h,$(probe-folio),MMAPPER_HAVE_FOLIO)
ccflags-y += $(call mmapper-probe,include/linux/highmem.h,$(probe-kmap-local),MMAPPER_HAVE_KMAP_LOCAL)
ccflags-y += $(call mmapper-probe,include/linux/vmalloc.h,$(probe-vmalloc-huge),MMAPPER_HAVE_VMALLOC_HUGE)
ccflags-y += $(call mmapper-probe,include/linux/fs.h,$(probe-copy-splice-read),MMAPPER_HAVE_COPY_SPLICE_READ)
ccflags-y += $(call mmapper-probe,include/linux/mm.h,$(probe-vma-lookup),MMAPPER_HAVE_VMA_LOOKUP)
ccflags-y += $(call mmapper-probe,include/linux/mm.h,$(probe-follow-pfnmap),MMAPPER_HAVE_FOLLOW_PFNMAP)
ccflags-y += $(call mmapper-probe,include/linux/mm.h,$(probe-follow-pte-vma),MMAPPER_HAVE_FOLLOW_PTE_VMA)
ccflags-y += $(call mmapper-probe-file,include/linux/pfn_t.h,MMAPPER_HAVE_PFN_T)
ccflags-y += $(call mmapper-probe,include/linux/module.h,$(probe-import-ns-string),MMAPPER_HAVE_IMPORT_NS_STRING)
ccflags-y += $(call mmapper-probe,include/linux/scatterlist.h,$(probe-sg-segment),MMAPPER_HAVE_SG_ALLOC_TABLE_SEGMENT)
ccflags-y += $(call mmapper-probe,include/linux/mm.h,$(probe-zap-special),MMAPPER_HAVE_ZAP_SPECIAL_VMA_RANGE)
ccflags-y += $(call mmapper-probe,include/linux/huge_mm.h,$(probe-folio-pmd),MMAPPER_HAVE_VMF_INSERT_FOLIO_PMD)
ccflags-y += $(call mmapper-probe-file,include/linux/iosys-map.h,MMAPPER_HAVE_IOSYS_MAP)
ccflags-y += $(call mmapper-probe-file,include/linux/dma-buf-map.h,MMAPPER_HAVE_DMA_BUF_MAP)

# The one check by version: a behaviour of mm/huge_memory.c that no header
# shows (5.18: thp_get_unmapped_area() aligns every file, not only DAX).
ccflags-y += $(shell [ $(VERSION) -gt 5 ] || [ $(VERSION) -eq 5 -a $(PATCHLEVEL) -ge 18 ] && \
		echo -DMMAPPER_HAVE_THP_ALIGN_ANY)
