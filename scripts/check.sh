#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: everything that proves mmapper works, from a bare machine.
#
#  1. install what is missing (deps.sh) and fetch the kselftest harness;
#     fetch Debian 11's 5.10 kernel (fetch-kernels.sh, cached), and, in the
#     background while the first kernels are tested, sid's 7.2 kernels and
#     the newest linux-source that sid offers
#  2. build the selftests (static), the tools and the documentation's example
#  3. for every kernel of kernels.sh (5.10, 6.1, 6.12, 7.2, 7.2 RT): build
#     the module with W=1, no warning allowed; boot that kernel under QEMU,
#     load the module, run the selftests, the stress test, the parameter
#     and mmapperctl tests and the documentation's example; judge the KTAP
#     and the kernel log.  A kernel line missing from the rig is a FAIL.
#  4. the next kernel: build the module W=1 against sid's newest
#     linux-source (build only), a result line of its own
#  5. sphinx-build -W; lint.sh: checkpatch --strict, sparse C=2 and W=1
#  6. the packages (package-test.sh): build and lint the .deb and the .rpm,
#     install the .debs on this machine, DKMS for every kernel, a kernel
#     upgrade, the installed selftests in a VM, and a clean purge
#  7. the debug kernel (debug-kernel.sh, 7.2, cached): the whole suite, the
#     stress test, trinity and a kmemleak scan, two CPUs
#
# Prints the time of every stage at the end, then "N passed, N failed"
# (skips are reported, never counted as passed).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
RESULTS=$BUILD/results.txt
# shellcheck source=scripts/vm-files.sh
. "$ROOT/scripts/vm-files.sh"
START=$(date +%s)
TIMES=$BUILD/times.txt

mkdir -p "$BUILD"
: > "$RESULTS"
: > "$TIMES"

result() {
	echo "$1 $2" | tee -a "$RESULTS"
}

# Each stage's time goes to $TIMES when the next one begins.
STAGE=
STAGE_START=$START
stage() {
	local now
	now=$(date +%s)
	[[ -z $STAGE ]] || printf '%5ss  %s\n' $((now - STAGE_START)) "$STAGE" >> "$TIMES"
	STAGE=$*
	STAGE_START=$now
	echo
	echo "=== $* ($((now - START))s)"
}

summary() {
	local pass fail skip
	pass=$(grep -c '^PASS ' "$RESULTS")
	fail=$(grep -c '^FAIL ' "$RESULTS")
	skip=$(grep -c '^SKIP ' "$RESULTS")
	stage "end"
	echo "stage times:"
	cat "$TIMES"
	echo
	grep '^FAIL ' "$RESULTS"
	echo "make check: $(( $(date +%s) - START ))s; $skip skipped"
	echo "$pass passed, $fail failed"
	[[ $fail -eq 0 ]]
}

stage "dependencies"
if ! "$ROOT/scripts/deps.sh"; then
	result FAIL "dependencies installed"
	summary
	exit 1
fi
if ! KSFT_DIR=$("$ROOT/scripts/kernel-tools.sh")/tools/testing/selftests; then
	result FAIL "kselftest harness from linux-source"
	summary
	exit 1
fi

stage "kernels: Debian 11's 5.10 (fetch-kernels.sh)"
if "$ROOT/scripts/fetch-kernels.sh" 5.10 > "$BUILD/fetch-5.10.log" 2>&1; then
	result PASS "kernels: Debian 11's 5.10 from bullseye, prepared (see $BUILD/fetch-5.10.log)"
else
	cat "$BUILD/fetch-5.10.log"
	result FAIL "kernels: Debian 11's 5.10 from bullseye, prepared (see $BUILD/fetch-5.10.log)"
fi
# sid's 7.2 kernels, the next kernel and the debug kernel take minutes
# when the cache is cold (the debug kernel about 8 on 2 idle cores): they
# are prepared while the first kernels are tested, one after the other (one
# kernel build at a time, niced under the VMs).  Each step leaves its
# status in a file the stage that needs it waits for.
rm -f "$BUILD"/next-kernel.txt "$BUILD"/fetch-sid.rc "$BUILD"/debug-kernel.{dir,rc}
(
	t=$(date +%s)
	"$ROOT/scripts/fetch-kernels.sh" 7.2 7.2-rt
	rc=$?
	echo "fetch-kernels.sh 7.2 7.2-rt: $(( $(date +%s) - t ))s, status $rc"
	t=$(date +%s)
	"$ROOT/scripts/fetch-kernels.sh" next > "$BUILD/next-kernel.txt"
	nrc=$?
	echo "fetch-kernels.sh next: $(( $(date +%s) - t ))s, status $nrc"
	echo "$rc" > "$BUILD/fetch-sid.rc"
	t=$(date +%s)
	"$ROOT/scripts/debug-kernel.sh" > "$BUILD/debug-kernel.dir" 2> "$BUILD/debug-kernel.log"
	rc=$?
	echo "debug-kernel.sh: $(( $(date +%s) - t ))s, status $rc"
	echo "$rc" > "$BUILD/debug-kernel.rc"
) > "$BUILD/fetch-sid.log" 2>&1 &
FETCH_PID=$!

# Wait until the background job has written file $1 (or ended); print
# that file.
wait_for() {
	while [[ ! -f $1 ]] && kill -0 "$FETCH_PID" 2>/dev/null; do
		sleep 2
	done
	cat "$1" 2>/dev/null
}

stage "build: selftests"
if make -s -C "$ROOT/selftests" KSFT_DIR="$KSFT_DIR" OUTPUT="$BUILD" >"$BUILD/selftests.log" 2>&1 &&
   ! grep -q 'warning:' "$BUILD/selftests.log"; then
	result PASS "build selftests, no warnings"
else
	cat "$BUILD/selftests.log"
	result FAIL "build selftests, no warnings"
fi

stage "build: tools (mmapperctl, demo, bench)"
if make -s -C "$ROOT/tools" OUTPUT="$BUILD" > "$BUILD/tools.log" 2>&1 &&
   ! grep -q 'warning:' "$BUILD/tools.log"; then
	result PASS "build tools, no warnings"
else
	cat "$BUILD/tools.log"
	result FAIL "build tools, no warnings"
fi

stage "build: the documentation's example programs"
for ex in mmapper-example mmapper-vivid; do
	if gcc -static -Wall -Wextra -Werror -O2 -I"$ROOT/include/uapi" \
		-o "$BUILD/$ex" "$ROOT/Documentation/examples/$ex.c"; then
		result PASS "build Documentation/examples/$ex.c, no warnings"
	else
		result FAIL "build Documentation/examples/$ex.c, no warnings"
	fi
done

# The payload of every test VM.  A RAM block device (brd.ko, or built in)
# gives the O_DIRECT test something to read from.  The DMA-BUF export tests
# load their importers, vgem and vivid, from /lib/importers (the kernel's
# own modules and what they need: importer_modules).  The example program runs
# on a freshly loaded module, as one KTAP result.  On the debug kernel
# (/bin/trinity present) trinity then fuzzes the device nodes, and
# kmemleak scans once everything is unloaded.
cat > "$BUILD/selftests-payload.sh" <<'EOF2'
# The timed races (mmapper_stress, test_params.sh's load race) run their
# full time where the checkers or sleeping spinlocks watch them: the debug
# kernel (trinity is there) and PREEMPT_RT.  Elsewhere half of it.
if [ ! -x /bin/trinity ] && ! uname -v | grep -q PREEMPT_RT; then
	export MMAPPER_STRESS_SECONDS=10 MMAPPER_RACE_SECONDS=15
fi
[ -f /lib/brd.ko ] && insmod /lib/brd.ko rd_nr=1 rd_size=4096
cd /selftests && ./test_mmapper.sh /lib/mmapper.ko
rc=$?
./test_dmabuf.sh /lib/mmapper.ko /lib/importers || rc=1
./test_params.sh /lib/mmapper.ko || rc=1
./test_mmapperctl.sh /lib/mmapper.ko /selftests/mmapperctl || rc=1
if insmod /lib/mmapper.ko size=1M backend=vmalloc-fault &&
   ./mmapper-example /dev/mmapper0 && rmmod mmapper; then
	echo "ok 1 documentation example program"
else
	echo "not ok 1 documentation example program"
fi
# The documentation's zero-copy capture pipeline: vivid (one capture
# node) writes into DMA-BUF exports of a pages buffer.
for m in $(cat /lib/importers/order 2>/dev/null); do
	case $m in
	vivid.ko) insmod /lib/importers/$m n_devs=1 node_types=0x1 ;;
	*) insmod /lib/importers/$m ;;
	esac
done
if insmod /lib/mmapper.ko size=64K backend=pages &&
   ./mmapper-vivid /dev/mmapper0 && rmmod mmapper; then
	echo "ok 1 documentation example program: the vivid pipeline"
else
	echo "not ok 1 documentation example program: the vivid pipeline"
fi
for m in $(sed '1!G;h;$!d' /lib/importers/order 2>/dev/null); do
	rmmod "${m%.ko}"
done
if [ -x /bin/trinity ]; then
	/selftests/fuzz.sh || rc=1
fi
if [ -w /sys/kernel/debug/kmemleak ]; then
	# Twice: an object must be old enough to be reported.
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
	if [ -z "$leaks" ]; then
		echo "ok 1 kmemleak: no leak once the module is unloaded"
	else
		echo "$leaks"
		echo "not ok 1 kmemleak: no leak once the module is unloaded"
	fi
fi
exit $rc
EOF2

# brd.ko of kernel $1 (image $2), uncompressed, for the initramfs.
brd_module() {
	local ko
	ko=$(find -L "$(kernel_moddir "$1" "$2")/kernel/drivers/block" -name 'brd.ko*' 2>/dev/null | head -1)
	[[ -n $ko ]] || return 1
	ko_unpack "$ko" "$BUILD/$1/brd.ko"
}

# The selftests' own importer (scripts/build-importer.sh) for kernel $1,
# build tree $2: loaded last with the kernel's importers, $BUILD/$1/importers.
own_importer() {
	local ko
	if ko=$("$ROOT/scripts/build-importer.sh" "$1" "$2") &&
	   cp "$ko" "$BUILD/$1/importers/"; then
		echo mmapper_importer.ko >> "$BUILD/$1/importers/order"
		result PASS "build $1: the selftests' importer module, W=1, no warnings"
	else
		result FAIL "build $1: the selftests' importer module, W=1, no warnings"
	fi
}

# Boot kernel image $1 with module $2, label $3, extra vm-run.sh args after.
run_suite() {
	local image=$1 ko=$2 label=$3
	shift 3
	"$ROOT/scripts/vm-run.sh" -k "$image" -o "$BUILD/vm-$label" -s 2 \
		-p "$BUILD/selftests-payload.sh" "$@" \
		-f "$ko:/lib/mmapper.ko" \
		-f "$BUILD/mmapper_test:/selftests/mmapper_test" \
		-f "$BUILD/mmapper_stress:/selftests/mmapper_stress" \
		-f "$BUILD/mmapper_dmabuf_test:/selftests/mmapper_dmabuf_test" \
		-f "$ROOT/selftests/test_dmabuf.sh:/selftests/test_dmabuf.sh" \
		-f "$BUILD/mmapper-example:/selftests/mmapper-example" \
		-f "$BUILD/mmapper-vivid:/selftests/mmapper-vivid" \
		-f "$ROOT/selftests/test_mmapper.sh:/selftests/test_mmapper.sh" \
		-f "$ROOT/selftests/test_params.sh:/selftests/test_params.sh" \
		-f "$ROOT/selftests/test_mmapperctl.sh:/selftests/test_mmapperctl.sh" \
		-f "$BUILD/mmapperctl:/selftests/mmapperctl" \
		-f "$ROOT/selftests/settings:/selftests/settings"
	"$ROOT/scripts/judge.sh" "$BUILD/vm-$label" "$label" "$RESULTS" | grep -v '^PASS'
	echo "$(grep -c "^PASS $label:" "$RESULTS") passed on $label"
}

# One kernel of kernels.sh: build the module W=1, then the suite in a VM.
declare -A TESTED=()
test_kernel() {
	local rel=$1 image=$2 kdir=$3 extra=()
	TESTED[$rel]=1
	stage "kernel $rel: build W=1, the suite in a VM"
	if "$ROOT/scripts/build-module.sh" "$rel" "$kdir" >/dev/null; then
		result PASS "build $rel: W=1, no warnings"
	else
		result FAIL "build $rel: W=1, no warnings"
		return
	fi
	[[ -f $BUILD/mmapper_test ]] || return
	brd_module "$rel" "$image" && extra=(-f "$BUILD/$rel/brd.ko:/lib/brd.ko")
	if importer_modules "$(kernel_moddir "$rel" "$image")/kernel" "$BUILD/$rel/importers"; then
		own_importer "$rel" "$kdir"
		importer_args extra "$BUILD/$rel/importers"
	else
		result FAIL "$rel: the DMA-BUF importers vgem and vivid in the kernel's modules"
	fi
	# 2 GiB: the 1 GiB buffer tests need room for it and for the kernel.
	run_suite "$image" "$BUILD/$rel/src/mmapper.ko" "$rel" -m 2048 "${extra[@]}"
}

# The kernels that are ready now (the host's, 5.10) ...
mapfile -t NOW < <("$ROOT/scripts/kernels.sh" 2>/dev/null)
for k in "${NOW[@]}"; do
	# shellcheck disable=SC2086 # RELEASE VMLINUZ BUILD_DIR
	test_kernel $k
done

# ... then sid's, once prepared.
stage "kernels: sid's 7.2 and 7.2 RT (fetch-kernels.sh, in the background meanwhile)"
if [[ $(wait_for "$BUILD/fetch-sid.rc") == 0 ]]; then
	result PASS "kernels: sid's 7.2 and 7.2 RT, prepared (see $BUILD/fetch-sid.log)"
else
	tail -30 "$BUILD/fetch-sid.log"
	result FAIL "kernels: sid's 7.2 and 7.2 RT, prepared (see $BUILD/fetch-sid.log)"
fi
grep -E '^fetch-kernels.sh .*: [0-9]+s' "$BUILD/fetch-sid.log"
mapfile -t NOW < <("$ROOT/scripts/kernels.sh" 2>/dev/null)
for k in "${NOW[@]}"; do
	# shellcheck disable=SC2086
	[[ -n ${TESTED[${k%% *}]:-} ]] || test_kernel $k
done

# Every line the suite expects must have been there.
while read -r line; do
	found=
	for rel in "${!TESTED[@]}"; do
		[[ $("$ROOT/scripts/kernels.sh" --line "$rel") == "$line" ]] && found=$rel
	done
	if [[ -n $found ]]; then
		result PASS "kernel line $line in the rig ($found)"
	else
		result FAIL "kernel line $line in the rig (scripts/kernels.sh, scripts/fetch-kernels.sh)"
	fi
done < <("$ROOT/scripts/kernels.sh" --lines)

stage "the next kernel: sid's newest linux-source, build only (W=1)"
next_pkg=
[[ -s $BUILD/next-kernel.txt ]] && read -r next_pkg next_ver next_kdir next_sym < "$BUILD/next-kernel.txt"
if [[ -z $next_pkg || ! -e $next_kdir/Makefile ]]; then
	tail -20 "$BUILD/fetch-sid.log"
	result FAIL "next kernel: sid's newest linux-source prepared (see $BUILD/fetch-sid.log)"
else
	# Without Debian's Module.symvers of that version (a source sid ships
	# before its images), modpost cannot resolve symbols: it warns, and
	# the result says so.
	next_what="$next_pkg $next_ver (defconfig, symbols of $next_sym)"
	next_env=()
	if [[ $next_sym == none ]]; then
		next_env=(KBUILD_MODPOST_WARN=1)
		next_what="$next_pkg $next_ver (defconfig, symbols unchecked: no Debian headers of that version)"
	fi
	if env "${next_env[@]}" "$ROOT/scripts/build-module.sh" next "$next_kdir" >/dev/null; then
		result PASS "next kernel: build against sid's newest source, $next_what: W=1, no warnings"
	else
		result FAIL "next kernel: build against sid's newest source, $next_what: W=1, no warnings"
	fi
fi

stage "docs: sphinx-build -W"
if sphinx-build -W -q -b html "$ROOT/Documentation" "$BUILD/docs" > "$BUILD/docs.log" 2>&1; then
	result PASS "Documentation builds with sphinx-build -W (no warning)"
else
	cat "$BUILD/docs.log"
	result FAIL "Documentation builds with sphinx-build -W (no warning)"
fi

stage "lint: checkpatch --strict, sparse C=2, W=1"
"$ROOT/scripts/lint.sh" "$RESULTS" > "$BUILD/lint.log" 2>&1
grep -v '^PASS' "$BUILD/lint.log"

# The packages before the debug kernel: on a cold cache its build is still
# running in the background, and the packaging test can go on meanwhile.
stage "packages: make deb, make rpm, lint, install, kernel upgrade, purge"
"$ROOT/scripts/package-test.sh" "$RESULTS" "$BUILD"

stage "debug kernel: KASAN, lockdep, DEBUG_VM, kmemleak (built once, cached, in the background)"
if [[ $(wait_for "$BUILD/debug-kernel.rc") == 0 ]] &&
   DEBUG_KDIR=$(cat "$BUILD/debug-kernel.dir") && [[ -e $DEBUG_KDIR/Makefile ]]; then
	grep -E '^debug-kernel.sh: [0-9]+s' "$BUILD/fetch-sid.log"
	result PASS "debug kernel from linux-source-7.2 (see $BUILD/debug-kernel.log)"
	if "$ROOT/scripts/build-module.sh" debug "$DEBUG_KDIR" >/dev/null; then
		result PASS "build against the debug kernel, no warnings"
		# trinity is dynamically linked: give the VM its libraries.
		fuzz=(-f /usr/bin/trinity:/bin/trinity -f "$ROOT/selftests/fuzz.sh:/selftests/fuzz.sh")
		vm_lib_args fuzz /usr/bin/trinity
		if importer_modules "$DEBUG_KDIR" "$BUILD/debug/importers"; then
			own_importer debug "$DEBUG_KDIR"
			importer_args fuzz "$BUILD/debug/importers"
		else
			result FAIL "debug: the DMA-BUF importers vgem and vivid built with the debug kernel"
		fi
		# KASAN's shadow and kmemleak's pool take memory of their own.
		run_suite "$DEBUG_KDIR/arch/x86/boot/bzImage" "$BUILD/debug/src/mmapper.ko" \
			debug -m 3072 -t 2400 "${fuzz[@]}"
	else
		result FAIL "build against the debug kernel, no warnings"
	fi
else
	tail -30 "$BUILD/debug-kernel.log"
	result FAIL "debug kernel from linux-source-7.2 (see $BUILD/debug-kernel.log)"
fi

summary
