#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Module parameters: every bad value refuses the load with EINVAL and one
# kernel log line, and leaves nothing behind; good values load.  nr_devices=0
# and max_devices with hot_add.  Then loads and unloads race class-wide
# backend writes, hot_add and hot_remove.  KTAP out.
#
# Usage: test_params.sh [path/to/mmapper.ko]   (as root, module not loaded)

ksft_skip=4
KO=${1:-}

if [ "$(id -u)" -ne 0 ]; then
	echo "$0: must be run as root" >&2
	exit $ksft_skip
fi
if grep -q '^mmapper ' /proc/modules; then
	rmmod mmapper || exit 1
fi

load() {
	if [ -n "$KO" ]; then
		insmod "$KO" "$@"
	else
		modprobe -q mmapper "$@"
	fi
}

# The kernel log is never cleared (the reports of the tests before this
# one must reach the end of the run, where they are judged): each case
# writes a mark into it and looks at what follows.
mark() {
	echo "test_params: $1" > /dev/kmsg
}
since() {
	dmesg | sed -n "/test_params: $1\$/,\$p" | tail -n +2
}

# name|params|expected log text (empty: must load)
CASES='nr_devices=65|nr_devices=65|nr_devices=65 out of range 0..64
nr_devices=5 max_devices=4|nr_devices=5 max_devices=4|nr_devices=5 out of range 0..4
max_devices=0|max_devices=0|max_devices=0 out of range
max_devices=1025|max_devices=1025|max_devices=1025 out of range
max_devices=-1|max_devices=-1|invalid for parameter
nr_devices=-1|nr_devices=-1|invalid for parameter
nr_devices=2^32|nr_devices=4294967296|invalid for parameter
size=0|size=0|size=0 refused
size=-1|size=-1|invalid for parameter
size=2^64|size=18446744073709551616|invalid for parameter
size=16E (overflow)|size=16777216T|invalid for parameter
size=12Q|size=12Q|invalid for parameter
size=1T (more than RAM)|size=1T|more than the machine
size=8M kmalloc|size=8M backend=kmalloc|above the backend
backend=bogus|backend=bogus|backend=bogus unknown
backend empty|backend=|unknown
fault_around=0|fault_around=0|invalid for parameter
fault_around=257|fault_around=257|invalid for parameter
max_size=12Q|max_size=12Q|invalid for parameter
max_size=2^64|max_size=18446744073709551616|invalid for parameter
cache=bogus|cache=bogus|cache=bogus unknown
cache empty|cache=|cache= unknown
cache=write-combine kmalloc 8K (slab pages)|cache=write-combine backend=kmalloc size=8K|cache=write-combine refused
good: defaults||
good: nr_devices=0|nr_devices=0|
good: nr_devices=1 max_devices=1|nr_devices=1 max_devices=1|
good: max_devices=1024|max_devices=1024|
good: nr_devices=64 size=4K backend=huge|nr_devices=64 size=4K backend=huge|
good: size=0x10000 backend=pages|size=0x10000 backend=pages|
good: fault_around=1|fault_around=1|
good: max_size=0|max_size=0|
good: max_size=16G|max_size=16G|
good: cache=cached|cache=cached|'
# The other cache modes need PAT (x86 lists its memory types only then).
if [ -e /sys/kernel/debug/x86/pat_memtype_list ]; then
	CASES="$CASES
good: cache=write-combine backend=kmalloc size=12K|cache=write-combine backend=kmalloc size=12K|
good: cache=uncached backend=huge|cache=uncached backend=huge|
cache=uncached pages (get_user_pages() can pin them)|cache=uncached backend=pages|backend pages is cached only"
else
	CASES="$CASES
cache=write-combine without PAT|cache=write-combine|no PAT on this machine
cache=uncached without PAT|cache=uncached backend=pages|no PAT on this machine"
fi

n=$(echo "$CASES" | wc -l)
echo "TAP version 13"
echo "1..$((n + 4))"
i=0 fail=0
echo "$CASES" | {
while IFS='|' read -r name params want; do
	i=$((i + 1))
	mark "case $i"
	# shellcheck disable=SC2086
	out=$(load $params 2>&1)
	rc=$?
	# Distinct lines: busybox insmod tries finit_module(), then
	# init_module(), so a refused load is refused (and logged) twice.  The
	# kernel's own once-per-boot taint notes are not mmapper's lines.
	log=$(since "case $i" | grep 'mmapper' | grep -v 'taints kernel\|verification failed' |
		sed 's/^\[[^]]*\] //' | sort -u | wc -l)
	ok=1
	if [ -z "$want" ]; then
		# As many nodes as nr_devices says (default 4), and the
		# class's hot_add, even with none.
		nr=$(echo "$params" | sed -n 's/.*nr_devices=\([0-9]*\).*/\1/p')
		nodes=$(ls /dev | grep -c '^mmapper[0-9]')
		[ $rc -eq 0 ] && [ -e /sys/class/mmapper/hot_add ] &&
			[ "$nodes" -eq "${nr:-4}" ] || ok=0
		# fault_around as given, or its documented default.
		fa=$(echo "$params" | sed -n 's/.*fault_around=\([0-9]*\).*/\1/p')
		[ "$(cat /sys/module/mmapper/parameters/fault_around 2>/dev/null)" = "${fa:-64}" ] ||
			ok=0
		rmmod mmapper || ok=0
	else
		# Refused (EINVAL, or ERANGE for a number that does not fit),
		# with one log line saying why, and nothing left.
		[ $rc -ne 0 ] || { ok=0; rmmod mmapper; }
		since "case $i" | grep -q "$want" || ok=0
		[ "$log" -eq 1 ] || ok=0
		[ ! -e /sys/class/mmapper ] || ok=0
	fi
	if [ $ok -eq 1 ]; then
		echo "ok $i params: $name"
	else
		echo "# rc=$rc out='$out' log lines=$log:"
		since "case $i" | sed 's/^/# /'
		echo "not ok $i params: $name"
		fail=1
	fi
done
exit $fail
}
ret=$?

# t N NAME CMD...: one KTAP result.
t() {
	num=$1 name=$2
	shift 2
	if "$@"; then
		echo "ok $num $name"
	else
		echo "not ok $num $name"
		ret=1
	fi
}

# Loaded with no device, the module gives mmapper0 to the first hot_add.
nr0() {
	load nr_devices=0 || return 1
	[ ! -e /dev/mmapper0 ] && [ "$(cat /sys/class/mmapper/hot_add)" = 0 ] &&
		[ -c /dev/mmapper0 ] && echo 0 > /sys/class/mmapper/hot_remove &&
		[ ! -e /dev/mmapper0 ]
	st=$?
	rmmod mmapper || st=1
	return $st
}
t $((n + 1)) "nr_devices=0: no device until hot_add, which gives mmapper0" nr0

# max_devices=2: a third hot_add is ENOSPC, with one line saying why.
limit() {
	load nr_devices=1 max_devices=2 || return 1
	mark limit
	[ "$(cat /sys/class/mmapper/hot_add)" = 1 ] &&
		! cat /sys/class/mmapper/hot_add > /tmp/mmapper-limit.out 2>&1 &&
		grep -q 'No space left on device' /tmp/mmapper-limit.out &&
		since limit | grep -q 'hot_add: 2 devices exist, as many as max_devices allows'
	st=$?
	rmmod mmapper || st=1
	return $st
}
t $((n + 2)) "max_devices=2: a third device is ENOSPC and one log line" limit

# A load that fails after devices exist: in a memory cgroup of 300 MiB,
# two buffers of 128 MiB fit and the third cannot (ENOMEM, and no OOM
# kill: mmapper's allocations never invoke it).  The devices made are taken
# away again, and one log line says why.  Meanwhile probers try to open the
# first device and the debugfs file, and hold them: while the load is not
# complete neither may open, since a file held on a module whose load then
# fails would be a use after free when it is closed.
loadfail() {
	cg=/sys/fs/cgroup/mmapper-load
	[ -e /sys/fs/cgroup/cgroup.controllers ] ||
		mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
	if ! grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null ||
	   ! echo +memory > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
		echo "ok $1 a load failing at its third device # SKIP no memory cgroup"
		return 0
	fi
	rmdir "$cg" 2>/dev/null
	mkdir "$cg" && echo 300M > "$cg/memory.max" || return 1
	rm -f /tmp/mmapper-probe.*
	for f in /dev/mmapper0 /sys/kernel/debug/mmapper/memtype; do
		(
			while [ ! -e /tmp/mmapper-probe.stop ]; do
				# sleep holds the file open for 2 s.
				# shellcheck disable=SC2217
				if [ -e "$f" ] && sleep 2 2>/dev/null < "$f"; then
					echo "$f" >> /tmp/mmapper-probe.opened
				fi
			done
		) &
	done
	mark loadfail
	(echo 0 > "$cg/cgroup.procs" && load nr_devices=4 size=128M backend=vmalloc)
	rc=$?
	touch /tmp/mmapper-probe.stop
	wait
	st=0
	[ $rc -ne 0 ] || { st=1; rmmod mmapper; }
	[ ! -e /sys/class/mmapper ] || st=1
	since loadfail | grep -q 'mmapper: mmapper2: cannot allocate 134217728 bytes' || st=1
	[ "$(since loadfail | grep mmapper | grep -v 'taints kernel\|verification failed' | sed 's/^\[[^]]*\] //' | sort -u | wc -l)" -eq 1 ] || st=1
	grep -q '^oom_kill 0$' "$cg/memory.events" || st=1
	if [ -e /tmp/mmapper-probe.opened ]; then
		sed 's/^/# opened during the load: /' /tmp/mmapper-probe.opened
		st=1
	fi
	rmdir "$cg"
	if [ $st -eq 0 ]; then
		echo "ok $1 a load failing at its third device: nothing left, nothing opened, no OOM kill"
	else
		since loadfail | sed 's/^/# /' | head -20
		echo "not ok $1 a load failing at its third device: nothing left, nothing opened, no OOM kill"
	fi
	return $st
}
loadfail $((n + 3)) || ret=1

# Kernel log lines that are never right (judge.sh fails a run on them too).
BAD='BUG:|WARNING:|Oops|KASAN|general protection|possible circular locking|possible recursive locking|inconsistent lock state|list_add corruption|list_del corruption|refcount_t:'

# The class attributes exist while insmod is still adding devices and
# while rmmod removes them.  Four writers switch every device in a loop
# (and read the attribute), and two add and remove devices (hot_add,
# hot_remove), while the module is loaded with 64 devices and unloaded,
# again and again: nothing may index past the devices that exist, touch
# one that is gone, or add one to a module on its way out.  On the debug
# kernel KASAN sees what a bare kernel may survive.
race() {
	secs=${MMAPPER_RACE_SECONDS:-30}
	stop=/tmp/mmapper-race.stop
	mark race
	rm -f "$stop"
	# kmalloc is contiguous, the others not: every switch shows or hides
	# phys_addr, so each write also updates 64 devices' attributes.
	for pair in "kmalloc vmalloc" "pages kmalloc" "kmalloc vmalloc-user" \
		    "vmalloc-fault kmalloc"; do
		(
			# shellcheck disable=SC2086
			set -- $pair
			while [ ! -e "$stop" ]; do
				echo "$1" 2>/dev/null > /sys/class/mmapper/backend
				cat /sys/class/mmapper/backend > /dev/null 2>&1
				echo "$2" 2>/dev/null > /sys/class/mmapper/backend
			done
		) &
	done
	for step in 7 13; do
		(
			i=0
			while [ ! -e "$stop" ]; do
				i=$(( (i + step) % 64 ))
				echo $i 2>/dev/null > /sys/class/mmapper/hot_remove
				cat /sys/class/mmapper/hot_add > /dev/null 2>&1
			done
		) &
	done
	loads=0 bad=0
	end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -lt "$end" ]; do
		if load nr_devices=64 size=4K; then
			loads=$((loads + 1))
			rmmod mmapper || bad=1
		else
			bad=1
		fi
	done
	touch "$stop"
	wait
	grep -q '^mmapper ' /proc/modules && { rmmod mmapper || bad=1; }
	if since race | grep -E "$BAD" > /tmp/mmapper-race.log; then
		sed 's/^/# /' /tmp/mmapper-race.log | head -40
		bad=1
	fi
	echo "# $loads loads and unloads in ${secs}s, racing class-wide backend writes, hot_add and hot_remove"
	[ "$loads" -gt 0 ] || bad=1
	if [ $bad -eq 0 ]; then
		echo "ok $1 load/unload racing class-wide backend writes, hot_add and hot_remove"
	else
		echo "not ok $1 load/unload racing class-wide backend writes, hot_add and hot_remove"
	fi
	return $bad
}
race $((n + 4)) || ret=1
exit $ret
