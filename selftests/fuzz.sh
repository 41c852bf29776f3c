#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# trinity against mmapper's device nodes, bounded: MMAPPER_FUZZ_SYSCALLS
# (default 12000) calls from two children, on one device per backend.
# Passes when trinity ran, reached the devices (opens and mmaps counted),
# and the module unloads afterwards; the caller judges the kernel log.
# KTAP out.  Run as root in a throwaway VM: trinity runs with --dangerous.

N=${MMAPPER_FUZZ_SYSCALLS:-12000}
KO=${1:-/lib/mmapper.ko}

echo "TAP version 13"
echo "1..1"
# The backends are the module's own list (its class attribute), not a
# copy: load once to read it, then again with one device per backend.
if ! insmod "$KO" nr_devices=1 size=256K; then
	echo "not ok 1 trinity: cannot load the module"
	exit 1
fi
BACKENDS=$(tr -d '[]' < /sys/class/mmapper/backend)
rmmod mmapper
NR=$(echo $BACKENDS | wc -w)
if [ "$NR" -lt 1 ]; then
	echo "not ok 1 trinity: the module lists no backend"
	exit 1
fi
if ! insmod "$KO" nr_devices="$NR" size=256K; then
	echo "not ok 1 trinity: cannot load the module"
	exit 1
fi
i=0
for b in $BACKENDS; do
	echo "$b" > /sys/class/mmapper/mmapper$i/backend
	i=$((i + 1))
done
DEVS=$(seq 0 $((NR - 1)))
mkdir -p /tmp/victims /tmp/trinity
for d in $DEVS; do
	cp -a /dev/mmapper$d /tmp/victims/
done

cd /tmp/trinity || exit 1
start=$(date +%s)
timeout 1200 /bin/trinity --dangerous -q -l off -C 2 -N "$N" -V /tmp/victims \
	--disable-fds=sockets,pipes,perf,epoll,eventfd,timerfd,testfile,memfd,drm \
	-c ioctl -c mmap -c munmap -c mremap -c read -c write -c pread64 \
	-c pwrite64 -c lseek -c madvise -c mprotect -c msync -c readv -c writev \
	-c mlock -c munlock -c fsync -c close --stats > /tmp/trinity.log 2>&1
rc=$?
end=$(date +%s)
grep -A4 '^ioctl:\|^mmap:' /tmp/trinity.log | sed 's/^/# /'

opens=0 mmaps=0
for d in $DEVS; do
	opens=$((opens + $(cat /sys/class/mmapper/mmapper$d/stats/opens)))
	mmaps=$((mmaps + $(cat /sys/class/mmapper/mmapper$d/stats/mmaps)))
done
echo "# trinity: $N syscalls in $((end - start)) s, exit $rc; the devices saw $opens opens, $mmaps mmaps"
if [ $rc -eq 0 ] && [ $opens -gt 0 ] && [ $mmaps -gt 0 ] && rmmod mmapper; then
	echo "ok 1 trinity: $N syscalls on the device nodes"
else
	tail -20 /tmp/trinity.log | sed 's/^/# /'
	echo "not ok 1 trinity: $N syscalls on the device nodes"
	exit 1
fi
