#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mmapperctl: every command, with and without --json, and every error path
# with its exit status (0 ok, 1 failed, 2 usage, 3 verify mismatch).  KTAP.
#
# Usage: test_mmapperctl.sh [path/to/mmapper.ko] [path/to/mmapperctl]

ksft_skip=4
KO=${1:-}
CTL=${2:-$(dirname "$0")/mmapperctl}
[ -x "$CTL" ] || CTL=$(command -v mmapperctl) || exit $ksft_skip

if [ "$(id -u)" -ne 0 ]; then
	echo "$0: must be run as root" >&2
	exit $ksft_skip
fi
if grep -q '^mmapper ' /proc/modules; then
	rmmod mmapper || exit 1
fi
if [ -n "$KO" ]; then
	insmod "$KO" nr_devices=2 size=64K backend=vmalloc || exit $ksft_skip
else
	modprobe mmapper nr_devices=2 size=64K backend=vmalloc || exit $ksft_skip
fi

n=0 fail=0
echo "TAP version 13"

# Run a command as user nobody (the busybox test VM has no passwd file).
su_nobody() {
	if [ ! -e /etc/passwd ]; then
		mkdir -p /etc
		echo 'root:x:0:0:root:/:/bin/sh' > /etc/passwd
		echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> /etc/passwd
		echo 'nogroup:x:65534:' > /etc/group
	fi
	su -s /bin/sh nobody -c "$*"
}

# t NAME RC PATTERN CMD...: CMD exits RC and its stdout+stderr match PATTERN.
t() {
	name=$1 want=$2 pat=$3
	shift 3
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq "$want" ] && echo "$out" | grep -q -- "$pat"; then
		echo "ok $n mmapperctl: $name"
	else
		echo "$out" | sed 's/^/# /'
		echo "# exit $rc, wanted $want; output did not match '$pat'"
		echo "not ok $n mmapperctl: $name"
		fail=1
	fi
}

t "list" 0 "mmapper1 *vmalloc *65536" $CTL list
t "list --json" 0 '"common_backend": "vmalloc", "devices": \[{"name": "mmapper0"' $CTL --json list
# Devices at run time: create (hot_add, then backend and size), remove.
t "create" 0 "device: *mmapper2" $CTL create
t "create backend= size= --json" 0 '"device": "mmapper3", "backend": "pages", "size": 131072' \
	$CTL --json create backend=pages size=128K
t "list shows the created devices" 0 "mmapper3 *pages *131072" $CTL list
t "create, unknown backend: removed again (exit 1)" 1 \
	"unknown backend; see mmapperctl list); mmapper4 removed again" $CTL create backend=bogus
t "a failed create leaves no device" 0 "" sh -c '! test -e /sys/class/mmapper/mmapper4'
t "create, bad size (exit 2)" 2 "create: '0' is not a size" $CTL create size=0
t "remove" 0 "mmapper2: removed" $CTL remove 2
t "remove --json" 0 '{"device": "mmapper3", "removed": true}' $CTL --json remove /dev/mmapper3
t "remove, no such device (exit 1)" 1 "No such device (no such device)" $CTL remove mmapper3
t "remove, no device given (exit 2)" 2 "remove: which device?" $CTL remove
t "create as nobody: needs root (exit 1)" 1 "Permission denied (needs root)" su_nobody $CTL create
t "info" 0 "size: *65536 bytes (16 pages)" $CTL info mmapper0
t "info /dev path, --json last" 0 '"backend": "vmalloc", "size": 65536' $CTL info /dev/mmapper0 --json
t "set backend and size" 0 "backend: *vmalloc-fault" $CTL set 0 backend=vmalloc-fault size=128K
t "set took effect" 0 '"size": 131072' $CTL --json info 0
t "fill" 0 "filled \[0, 131072) with 0x5a" $CTL fill 0 --pattern 0x5a
t "verify with pattern" 0 "0x5a in every byte: OK" $CTL verify 0 --pattern 90
t "verify --json" 0 '"ok": true' $CTL --json verify 0 --offset 4096 --length 4096
t "fill a range" 0 "filled \[4096, 4104)" $CTL fill 0 --pattern 65 --offset 4K --length 8
t "dump" 0 "00001000  41 41 41 41 41 41 41 41  5a 5a" $CTL dump 0 --offset 4096 --length 16
t "dump --json" 0 '"bytes": "41415a"' $CTL --json dump 0 --offset 4102 --length 3
t "verify finds other bytes (exit 3)" 3 "byte 4096 is 0x41, not 0x5a: MISMATCH" $CTL verify 0 --pattern 0x5a
# verify and dump map the device read-only (MAP_SHARED of an O_RDONLY
# descriptor), which every backend must take.
BACKENDS=$(tr -d '[]' < /sys/class/mmapper/backend)
t "the module lists its backends" 0 "" test -n "$BACKENDS"
for b in $BACKENDS; do
	$CTL set 1 backend=$b > /dev/null && $CTL fill 1 --pattern 0x6b > /dev/null
	t "verify and dump on $b" 0 "00000ff8  6b 6b" sh -c \
		"$CTL verify 1 --pattern 0x6b && $CTL dump 1 --offset 4088 --length 8"
done
$CTL set 1 backend=vmalloc > /dev/null

# A verify of 128 MiB (the kernel's CHECKSUM walk, a second or more under
# QEMU) that a backend switch cuts short: exit 1, and the advice to run
# again.  The switch comes once mmapperctl has spent two clock ticks in
# the kernel (/proc/PID/stat): then it is in its walk.
verify_cut_short() {
	$CTL set 1 size=128M > /dev/null || return 9
	$CTL verify 1 > /tmp/verify-cut.out 2>&1 &
	pid=$!
	end=$(($(date +%s) + 30))
	while [ "$(date +%s)" -lt "$end" ]; do
		# shellcheck disable=SC2046 # the fields of /proc/PID/stat
		set -- $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null)
		[ "${1:-Z}" = Z ] || [ "${13:-0}" -ge 2 ] && break
		sleep 0.01
	done
	echo vmalloc-user > /sys/class/mmapper/mmapper1/backend
	wait $pid
	rc=$?
	cat /tmp/verify-cut.out
	$CTL set 1 backend=vmalloc size=64K > /dev/null
	return $rc
}
t "verify cut short by a backend switch: run again (exit 1)" 1 \
	"verify mmapper1: the buffer changed during the walk (a resize, backend switch or cache mode change); run again" \
	verify_cut_short
t "stats" 0 "mmaps  *[1-9]" $CTL stats 0
t "stats --reset --json" 0 '"opens": 1, "mmaps": 0' $CTL --json stats 0 --reset
t "pages" 0 "index *pfn *refcount" $CTL pages 0
t "pages --json" 0 '"pages": \[{"index": 0, "pfn": ' $CTL --json pages 0
t "mappings, none" 0 "pid *comm" $CTL mappings 0
$CTL hold 0 30 > /dev/null &
holder=$!
sleep 2
t "mappings --json of a holder" 0 '"comm": "mmapperctl"' $CTL --json mappings 0
t "set while mapped: EBUSY (exit 1)" 1 "Device or resource busy (a process maps the buffer" $CTL set 0 size=4K
t "remove while mapped: EBUSY (exit 1)" 1 "Device or resource busy (a process has it open, mapped or exported: close it first)" $CTL remove 0
kill $holder
wait $holder 2>/dev/null
t "export" 0 "mmapper0: DMA-BUF fd [0-9]*, inode [0-9]*: offset 4096, length 8192, read-write, exporter mmapper, size 8192" \
	$CTL export 0 --offset 4K --length 8K
t "export --json --read-only" 0 '"offset": 0, "length": 4096, "access": "ro", "size": 4096, "exp_name": "mmapper"' \
	$CTL --json export 0 --read-only --length 4K
t "export not page aligned (exit 1)" 1 "multiples of the page size" $CTL export 0 --offset 1 --length 4K
t "export outside the buffer (exit 1)" 1 "is outside the buffer" $CTL export 0 --offset 1G
t "exports, none" 0 "^mappings:" $CTL exports 0
$CTL export 0 --length 4K --hold 30 > /dev/null &
holder=$!
sleep 2
t "exports of a holder" 0 "export [0-9]*: offset 0 length 4096 rw" $CTL exports 0
t "exports --json" 0 '"exports": \["export [0-9]*: offset 0 length 4096 rw' $CTL --json exports 0
t "set while exported: EBUSY (exit 1)" 1 "a DMA-BUF export holds it" $CTL set 0 size=4K
t "remove while exported: EBUSY (exit 1)" 1 "open, mapped or exported" $CTL remove 0
kill $holder
wait $holder 2>/dev/null
t "set unknown backend (exit 1)" 1 "unknown backend; see mmapperctl list" $CTL set 0 backend=bogus
t "set bad size (exit 2)" 2 "'12Q' is not a size" $CTL set 0 size=12Q
t "set nothing (exit 2)" 2 "nothing to set" $CTL set 0
t "set unknown key (exit 2)" 2 "expected backend=NAME, size=SIZE or cache=MODE" $CTL set 0 colour=red
t "info shows the cache mode" 0 "cache: *cached (this machine offers: cached" $CTL info 0
t "info --json cache" 0 '"cache": "cached", "caches": "cached' $CTL --json info 0
t "set unknown cache mode (exit 2)" 2 "'wc' is not a cache mode" $CTL set 0 cache=wc
if [ -e /sys/kernel/debug/x86/pat_memtype_list ]; then
	t "set cache on a cached-only backend (exit 1)" 1 "not for this backend" \
		$CTL set 0 cache=write-combine
	$CTL set 0 backend=vmalloc > /dev/null
	t "set cache" 0 "cache: *write-combine" $CTL set 0 cache=write-combine
	t "pages --json: memory types" 0 '"kernel_type": "write-combining", "user_type": null' \
		$CTL --json pages 0
	t "set cache back" 0 "cache: *cached" $CTL set 0 cache=cached
else
	t "set cache without PAT (exit 1)" 1 "not offered here" $CTL set 0 cache=write-combine
fi
t "no such device (exit 1)" 1 "/dev/mmapper7: No such file or directory" $CTL info 7
t "not a device (exit 2)" 2 "'sda' is not a device" $CTL info sda
t "no device given (exit 2)" 2 "info: which device?" $CTL info
t "unknown command (exit 2)" 2 "unknown command" $CTL frobnicate 0
t "unknown option (exit 2)" 2 "unknown option '--colour'" $CTL --colour list
t "no command: usage (exit 2)" 2 "usage: mmapperctl" $CTL
t "fill without pattern (exit 2)" 2 "--pattern BYTE is required" $CTL fill 0
t "fill pattern not a byte (exit 2)" 2 "is not a byte" $CTL fill 0 --pattern 256
t "range outside the buffer (exit 1)" 1 "is outside the buffer" $CTL dump 0 --offset 8M
t "option without value (exit 2)" 2 "--length needs a value" $CTL dump 0 --length
t "not root: EACCES explained (exit 1)" 1 "needs root, or membership of group mmapper" \
	su_nobody $CTL info 0
t "set too big for kmalloc (exit 1)" 1 "more than this backend can hold" $CTL set 0 backend=kmalloc size=8M
t "info shows phys_addr for kmalloc" 0 "phys_addr: *0x" $CTL info 0

echo "1..$n"
rmmod mmapper || fail=1
exit $fail
