#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel under QEMU (TCG) into a busybox initramfs, run a payload
# script in it, and save what happened.
#
# Usage: vm-run.sh -k VMLINUZ -p PAYLOAD -o OUTDIR [-f SRC:DEST]... [-m MEM] [-s SMP] [-t SECONDS]
#
#   -k  kernel image to boot
#   -p  shell script run as root inside the VM, after proc, sys, dev and
#       debugfs (and tracefs, where there is one) are mounted; its stdout is the VM's result
#   -f  a file to put in the initramfs (repeatable); DEST is an absolute path
#   -o  where to write console.log (everything QEMU printed), output.txt
#       (the payload's stdout), dmesg.txt (the whole kernel log at the end)
#       and rc (the payload's exit status)
#
# Exit status: 0 if the VM ran the payload to its end (whatever the
# payload's own status), 1 if it never got there (boot failure, panic,
# timeout, or a payload still running a minute before the timeout: then
# output.txt holds what it printed so far and dmesg.txt the blocked tasks
# and every CPU's backtrace).  Judging the kernel log is the caller's job
# (see judge.sh).
set -euo pipefail

MEM=1024
SMP=1
TIMEOUT=600
KERNEL=
PAYLOAD=
OUT=
FILES=()

while getopts "k:p:o:f:m:s:t:" opt; do
	case $opt in
	k) KERNEL=$OPTARG ;;
	p) PAYLOAD=$OPTARG ;;
	o) OUT=$OPTARG ;;
	f) FILES+=("$OPTARG") ;;
	m) MEM=$OPTARG ;;
	s) SMP=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	*) echo "usage: see $0" >&2; exit 2 ;;
	esac
done
[[ -n $KERNEL && -n $PAYLOAD && -n $OUT ]] || { echo "$0: -k, -p and -o are required" >&2; exit 2; }

BUSYBOX=$(command -v busybox || true)
[[ -x /bin/busybox ]] && BUSYBOX=/bin/busybox
[[ -n $BUSYBOX ]] && file -L "$BUSYBOX" | grep -q 'statically linked' ||
	{ echo "$0: needs a static busybox (apt-get install busybox-static)" >&2; exit 2; }

mkdir -p "$OUT"
rm -f "$OUT"/{console.log,output.txt,dmesg.txt,rc}
ROOT=$(mktemp -d)
# mktemp -d makes it 0700: it becomes /, which every user must traverse.
chmod 0755 "$ROOT"
trap 'rm -rf "$ROOT"' EXIT

mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,lib,mnt}
cp "$BUSYBOX" "$ROOT/bin/busybox"
cp "$PAYLOAD" "$ROOT/payload.sh"
for f in "${FILES[@]}"; do
	src=${f%%:*}
	dest=${f#*:}
	mkdir -p "$ROOT$(dirname "$dest")"
	cp -a "$src" "$ROOT$dest"
done

# The payload's output and the kernel log are printed between markers, so
# that kernel messages never interleave with test output.
cat > "$ROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t tmpfs tmpfs /tmp
# Live patches of kernel text race the other vCPU under multi-threaded TCG
# (see the qemu command below). Without record-cmd, enabling a trace event
# does not hook sched_switch (a patch in __schedule()). The first memory
# cgroup turns memcg_kmem_online_key on for good (patches in the page and
# slab allocators): make it now, while nothing else runs.
o=/sys/kernel/tracing/options/record-cmd
[ ! -e $o ] || echo 0 > $o || echo "@@MMAPPER-WARNING: $o stays on"
if mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null &&
   echo +memory > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
	mkdir /sys/fs/cgroup/init && rmdir /sys/fs/cgroup/init
fi
dmesg -n 1
echo "@@MMAPPER-BOOTED $(uname -r)"
report() {
	echo "@@MMAPPER-OUTPUT-BEGIN"
	cat /tmp/output.txt
	echo "@@MMAPPER-OUTPUT-END rc=$1"
	echo "@@MMAPPER-DMESG-BEGIN"
	dmesg
	echo "@@MMAPPER-DMESG-END"
	sync
	reboot -f
}
# A payload still running at the deadline is reported as hung, with the
# blocked tasks (sysrq w) and every CPU's backtrace (sysrq l) in the log.
# (The payload runs in the foreground: a background job would start with
# SIGINT and SIGQUIT ignored.)
(
	sleep "$(cat /deadline)"
	echo "@@MMAPPER-HUNG after $(cat /deadline)s"
	echo 1 > /proc/sys/kernel/sysrq
	echo w > /proc/sysrq-trigger
	echo l > /proc/sysrq-trigger
	sleep 2
	report hung
) &
watchdog=$!
sh /payload.sh > /tmp/output.txt 2>&1
rc=$?
kill "$watchdog"
report "$rc"
EOF
chmod +x "$ROOT/init" "$ROOT/payload.sh"
# The payload's deadline: the VM's time less a minute for boot and report.
echo $((TIMEOUT > 120 ? TIMEOUT - 60 : TIMEOUT / 2)) > "$ROOT/deadline"

(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) > "$ROOT.cpio.gz"
trap 'rm -rf "$ROOT" "$ROOT.cpio.gz"' EXIT

# tsc=unstable: under TCG the TSC is never reliable, and a kernel that first
# trusts it flips the __sched_clock_stable static key at late_initcall time
# ("sched_clock: Marking stable"), or later from the clocksource watchdog.
# That live text patch (int3, then the new bytes) races the other vCPU's
# stale translation in QEMU's multi-threaded TCG, and the guest dies with
# "Oops: int3" at a 2-byte NOP in scheduler code (seen on 7.2 at boot, in no
# mmapper code). Declaring the TSC unstable on the command line keeps that
# key off from the start. cgroup.memory=nosocket,nobpf keeps two more keys
# still, which each memory cgroup the tests make and remove would turn on
# and off (memcg_sockets_enabled_key, and memcg_bpf_enabled_key on 6.3+;
# older kernels ignore the word they do not know). The init script settles
# the rest before the payload starts (Documentation/testing.rst).
set +e
timeout --foreground "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max \
	-smp "$SMP" -m "$MEM" -nographic -no-reboot -monitor none \
	-kernel "$KERNEL" -initrd "$ROOT.cpio.gz" \
	-append "console=ttyS0 panic=-1 tsc=unstable cgroup.memory=nosocket,nobpf" \
	</dev/null > "$OUT/console.log" 2>&1
qrc=$?
set -e
tr -d '\r' < "$OUT/console.log" > "$OUT/console.tmp" && mv "$OUT/console.tmp" "$OUT/console.log"

if [[ $qrc -eq 124 ]]; then
	echo "$0: VM timed out after ${TIMEOUT}s" >&2
fi
sed -n '/^@@MMAPPER-OUTPUT-BEGIN$/,/^@@MMAPPER-OUTPUT-END/p' "$OUT/console.log" |
	sed '1d;$d' > "$OUT/output.txt"
sed -n '/^@@MMAPPER-DMESG-BEGIN$/,/^@@MMAPPER-DMESG-END$/p' "$OUT/console.log" |
	sed '1d;$d' > "$OUT/dmesg.txt"
rc=$(sed -n 's/^@@MMAPPER-OUTPUT-END rc=\([0-9]*\)$/\1/p' "$OUT/console.log")
grep '^@@MMAPPER-WARNING' "$OUT/console.log" | sed "s|^@@MMAPPER-WARNING|$0|" >&2 || true
if grep -q '^@@MMAPPER-HUNG' "$OUT/console.log"; then
	echo "$0: $(grep -m1 '^@@MMAPPER-HUNG' "$OUT/console.log" | sed 's/^@@MMAPPER-HUNG/the payload hung:/'); the blocked tasks and backtraces are in $OUT/dmesg.txt" >&2
	exit 1
fi
if [[ -z $rc ]]; then
	echo "$0: the payload did not finish; see $OUT/console.log" >&2
	exit 1
fi
echo "$rc" > "$OUT/rc"
exit 0
