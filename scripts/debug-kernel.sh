#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) and print the directory of a debug kernel made from Debian's
# linux-source-7.2 (sid, the newest line, with the newest checkers): KASAN
# (generic, inline, with KASAN_VMALLOC), PROVE_LOCKING, DEBUG_VM,
# DEBUG_ATOMIC_SLEEP, DEBUG_LIST and DEBUG_KMEMLEAK on a small config
# (tinyconfig + what the busybox VM, the module and its selftests need,
# with the DMA-BUF importers vgem and vivid as modules, DMA_API_DEBUG and
# FAIL_PAGE_ALLOC).
#
# The source is the extract fetch-kernels.sh keeps in ~/.cache/mmapper/src
# (shared with the 7.2 kernels); the kernel is an O= tree in
# ~/.cache/mmapper/debug-kernel-7.2/KEY/build, KEY covering the source
# package's version, the compiler and this script (the config lives here),
# so a Debian point release or a change here rebuilds it.  Older keys are
# removed; ~/.cache/mmapper/debug-kernel/ (the 6.1 debug kernel of earlier
# versions of this script) is not touched.
# The module builds against it with KDIR=<dir>; the image is
# <dir>/arch/x86/boot/bzImage.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MMAPPER_CACHE:-$HOME/.cache/mmapper}
PKG=linux-source-7.2

log() { echo "debug-kernel: $*" >&2; }
read -r VER SRC < <("$ROOT/scripts/fetch-kernels.sh" source "$PKG") ||
	{ log "no $PKG (scripts/fetch-kernels.sh source $PKG)"; exit 1; }
KEY=$( (echo "$PKG $VER"; gcc --version | head -1; cat "$0") | sha256sum | cut -c1-16)
TOP=$CACHE/debug-kernel-7.2
DIR=$TOP/$KEY
O=$DIR/build

if [[ -f $DIR/.done ]]; then
	echo "$O"
	exit 0
fi

# One build at a time; older keys go.
mkdir -p "$TOP"
exec 9> "$TOP/.lock"
flock 9
if [[ -f $DIR/.done ]]; then
	echo "$O"
	exit 0
fi
for d in "$TOP"/*/; do
	[[ ${d%/} == "$DIR" ]] || rm -rf "$d"
done
rm -rf "$DIR"
mkdir -p "$O"
log "$PKG $VER ($SRC) into $O"

make -s -C "$SRC" O="$O" tinyconfig >&2
# What the busybox VM, the module and its selftests need ...
ON=(64BIT SMP PRINTK PRINTK_TIME TTY SERIAL_8250 SERIAL_8250_CONSOLE
	BLK_DEV_INITRD RD_GZIP DEVTMPFS PROC_FS PROC_SYSCTL SYSFS DEBUG_FS
	MODULES MODULE_UNLOAD BINFMT_ELF BINFMT_SCRIPT MULTIUSER FUTEX EPOLL
	SHMEM TMPFS MEMFD_CREATE TRANSPARENT_HUGEPAGE MAGIC_SYSRQ KALLSYMS
	STACKTRACE SLUB BLOCK BLK_DEV BLK_DEV_RAM CROSS_MEMORY_ATTACH
	FTRACE ENABLE_DEFAULT_TRACERS POSIX_TIMERS
	# madvise(), io_uring and memory cgroups: the mm calls, the copy
	# paths and the memory-charging tests run here too.
	ADVISE_SYSCALLS IO_URING CGROUPS MEMCG
	# KSM's advices and sendfile() to an AF_UNIX socket.
	KSM NET UNIX
	# DMA-BUF, and the menus of the importers the export tests drive
	# (MOD below); DMA_API_DEBUG checks how the exporter maps, syncs
	# and unmaps for them, DMABUF_DEBUG that they keep off its pages.
	DMA_SHARED_BUFFER SYNC_FILE DMABUF_DEBUG DMA_API_DEBUG
	MEDIA_SUPPORT_FILTER MEDIA_CAMERA_SUPPORT MEDIA_TEST_SUPPORT V4L_TEST_DRIVERS
	# PAT (which needs MTRRs): the cache modes write-combine and
	# uncached, and x86's checks of memory types, under the checkers.
	MTRR X86_PAT
	# fail_page_alloc: a machine with no free block above one page,
	# for one task (the test no_free_blocks).
	FAULT_INJECTION FAULT_INJECTION_DEBUG_FS FAIL_PAGE_ALLOC
	# ... and the checkers.
	DEBUG_KERNEL KASAN KASAN_GENERIC KASAN_INLINE KASAN_VMALLOC
	PROVE_LOCKING DEBUG_VM DEBUG_ATOMIC_SLEEP DEBUG_LIST DEBUG_KMEMLEAK)
# Modules: the DMA-BUF importers (DRM vgem, V4L2 vivid) and their cores,
# which check.sh copies into the VM from this tree.
MOD=(DRM DRM_VGEM MEDIA_SUPPORT VIDEO_DEV VIDEO_VIVID)
# SLOB is gone since 6.4 (SLUB is the only allocator); tinyconfig picks
# SLUB_TINY, which KASAN and kmemleak exclude.
OFF=(SLUB_TINY DEBUG_KMEMLEAK_DEFAULT_OFF MODULE_SIG)
args=()
for o in "${ON[@]}"; do
	[[ $o == \#* ]] && continue
	args+=(--enable "$o")
done
for o in "${MOD[@]}"; do
	args+=(--module "$o")
done
for o in "${OFF[@]}"; do
	args+=(--disable "$o")
done
"$SRC/scripts/config" --file "$O/.config" "${args[@]}" \
	--set-val BLK_DEV_RAM_COUNT 1 --set-val BLK_DEV_RAM_SIZE 4096 \
	--set-val DEBUG_KMEMLEAK_MEM_POOL_SIZE 16000 --set-str LOCALVERSION "-mmapper-debug"
make -s -C "$SRC" O="$O" olddefconfig >&2

# A "choice" (such as the slab allocator) or a renamed option can silently
# lose: check each one.
missing=()
for o in "${ON[@]}"; do
	[[ $o == \#* ]] && continue
	grep -qx "CONFIG_$o=y" "$O/.config" || missing+=("$o")
done
for o in "${MOD[@]}"; do
	grep -qx "CONFIG_$o=m" "$O/.config" || missing+=("$o=m")
done
for o in "${OFF[@]}"; do
	grep -q "^CONFIG_$o=" "$O/.config" && missing+=("!$o")
done
if [[ ${#missing[@]} -ne 0 ]]; then
	echo "$0: not as asked after olddefconfig: ${missing[*]}" >&2
	exit 1
fi

log "building bzImage (about 15 minutes on 2 cores, once)"
t=$(date +%s)
nice make -s -C "$SRC" O="$O" -j"$(nproc)" bzImage >&2
# make modules, not only modules_prepare: it writes Module.symvers, without
# which modpost cannot resolve the symbols an external module uses (7.2
# writes only vmlinux.symvers for the image).
nice make -s -C "$SRC" O="$O" -j"$(nproc)" modules >&2
[[ -f $O/Module.symvers ]] || { echo "$0: no Module.symvers in $O" >&2; exit 1; }
log "built in $(( $(date +%s) - t ))s: $(cat "$O/include/config/kernel.release")"
touch "$DIR/.done"
echo "$O"
