#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) and print the directory of a debug kernel made from Debian's
# linux-source-6.1: KASAN (with KASAN_VMALLOC), PROVE_LOCKING, DEBUG_VM,
# DEBUG_ATOMIC_SLEEP, DEBUG_LIST and DEBUG_KMEMLEAK on a small config that
# boots the busybox VM and runs every selftest.  The tree is cached under
# ~/.cache/mmapper/debug-kernel/KEY, KEY covering the source tarball and
# this script (the config lives here), so a change to either rebuilds.
# The module builds against it with KDIR=<dir>; the image is
# <dir>/arch/x86/boot/bzImage.
set -euo pipefail
CACHE=${MMAPPER_CACHE:-$HOME/.cache/mmapper}
TARBALL=/usr/src/linux-source-6.1.tar.xz
[[ -r $TARBALL ]] || { echo "$0: $TARBALL missing (make deps)" >&2; exit 1; }
KEY=$( (stat -c '%s %Y' "$TARBALL"; cat "$0") | sha256sum | cut -c1-16)
DIR=$CACHE/debug-kernel/$KEY
SRC=$DIR/linux-source-6.1

if [[ -f $DIR/.done ]]; then
	echo "$SRC"
	exit 0
fi

log() { echo "debug-kernel: $*" >&2; }
rm -rf "$CACHE/debug-kernel"	# older keys: one tree at a time
mkdir -p "$DIR"
log "extracting $TARBALL"
tar -xJf "$TARBALL" -C "$DIR"
cd "$SRC"

make -s tinyconfig >&2
# What the busybox VM, the module and its selftests need ...
ON=(64BIT SMP PRINTK PRINTK_TIME TTY SERIAL_8250 SERIAL_8250_CONSOLE
	BLK_DEV_INITRD RD_GZIP DEVTMPFS PROC_FS PROC_SYSCTL SYSFS DEBUG_FS
	MODULES MODULE_UNLOAD BINFMT_ELF BINFMT_SCRIPT MULTIUSER FUTEX EPOLL
	SHMEM TMPFS MEMFD_CREATE TRANSPARENT_HUGEPAGE MAGIC_SYSRQ KALLSYMS
	STACKTRACE SLUB BLOCK BLK_DEV BLK_DEV_RAM CROSS_MEMORY_ATTACH
	FTRACE ENABLE_DEFAULT_TRACERS POSIX_TIMERS
	# ... and the checkers.
	DEBUG_KERNEL KASAN KASAN_GENERIC KASAN_INLINE KASAN_VMALLOC
	PROVE_LOCKING DEBUG_VM DEBUG_ATOMIC_SLEEP DEBUG_LIST DEBUG_KMEMLEAK)
OFF=(SLOB SLUB_TINY DEBUG_KMEMLEAK_DEFAULT_OFF MODULE_SIG)
args=()
for o in "${ON[@]}"; do
	[[ $o == \#* ]] && continue
	args+=(--enable "$o")
done
for o in "${OFF[@]}"; do
	args+=(--disable "$o")
done
scripts/config "${args[@]}" --set-val BLK_DEV_RAM_COUNT 1 --set-val BLK_DEV_RAM_SIZE 4096 \
	--set-val DEBUG_KMEMLEAK_MEM_POOL_SIZE 16000 --set-str LOCALVERSION "-mmapper-debug"
make -s olddefconfig >&2

# A "choice" (such as the slab allocator) can silently win: check each one.
missing=()
for o in "${ON[@]}"; do
	[[ $o == \#* ]] && continue
	grep -qx "CONFIG_$o=y" .config || missing+=("$o")
done
if [[ ${#missing[@]} -ne 0 ]]; then
	echo "$0: not enabled after olddefconfig: ${missing[*]}" >&2
	exit 1
fi

log "building bzImage (about 5 minutes on 2 cores, once)"
make -s -j"$(nproc)" bzImage >&2
make -s modules_prepare >&2
touch "$DIR/.done"
echo "$SRC"
