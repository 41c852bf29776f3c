#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: everything that proves mmapper works, from a bare machine.
#
#  1. install what is missing (deps.sh) and fetch the kselftest harness
#  2. for every Debian kernel line installed: build the module with W=1,
#     no warning allowed
#  3. build the selftests (static)
#  4. for every kernel line: boot it under QEMU, load the module, run the
#     selftests through test_mmapper.sh, unload; judge the KTAP and the
#     kernel log
#  5. lint.sh: checkpatch --strict, sparse C=2 and W=1, nothing reported
#  6. the debug kernel (debug-kernel.sh, cached): the whole suite, the
#     stress test, trinity and a kmemleak scan, two CPUs
#  7. the packages (package-test.sh): build and lint the .deb and the .rpm,
#     install the .debs on this machine, check DKMS, a kernel upgrade, the
#     installed selftests in a VM, and a clean purge
#
# Ends with "N passed, N failed" (skips are reported, never counted as passed).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
RESULTS=$BUILD/results.txt
# shellcheck source=scripts/vm-files.sh
. "$ROOT/scripts/vm-files.sh"
START=$(date +%s)

mkdir -p "$BUILD"
: > "$RESULTS"

result() {
	echo "$1 $2" | tee -a "$RESULTS"
}

stage() {
	echo
	echo "=== $* ($(( $(date +%s) - START ))s)"
}

summary() {
	local pass fail skip
	pass=$(grep -c '^PASS ' "$RESULTS")
	fail=$(grep -c '^FAIL ' "$RESULTS")
	skip=$(grep -c '^SKIP ' "$RESULTS")
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

mapfile -t KERNELS < <("$ROOT/scripts/kernels.sh")
if [[ ${#KERNELS[@]} -eq 0 ]]; then
	result FAIL "a Debian kernel with headers is installed"
	summary
	exit 1
fi

stage "build: module for ${KERNELS[*]} (W=1)"
for rel in "${KERNELS[@]}"; do
	if "$ROOT/scripts/build-module.sh" "$rel" >/dev/null; then
		result PASS "build $rel: W=1, no warnings"
	else
		result FAIL "build $rel: W=1, no warnings"
	fi
done

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

stage "build: the documentation's example program"
if gcc -static -Wall -Wextra -Werror -O2 -I"$ROOT/include/uapi" \
	-o "$BUILD/mmapper-example" "$ROOT/Documentation/examples/mmapper-example.c"; then
	result PASS "build Documentation/examples/mmapper-example.c, no warnings"
else
	result FAIL "build Documentation/examples/mmapper-example.c, no warnings"
fi

# The payload of every test VM.  A RAM block device (brd.ko, or built in)
# gives the O_DIRECT test something to read from.  The example program runs
# on a freshly loaded module, as one KTAP result.  On the debug kernel
# (/bin/trinity present) trinity then fuzzes the device nodes, and
# kmemleak scans once everything is unloaded.
cat > "$BUILD/selftests-payload.sh" <<'EOF2'
[ -f /lib/brd.ko ] && insmod /lib/brd.ko rd_nr=1 rd_size=4096
cd /selftests && ./test_mmapper.sh /lib/mmapper.ko
rc=$?
./test_params.sh /lib/mmapper.ko || rc=1
./test_mmapperctl.sh /lib/mmapper.ko /selftests/mmapperctl || rc=1
if insmod /lib/mmapper.ko size=64K backend=vmalloc-fault &&
   ./mmapper-example /dev/mmapper0 && rmmod mmapper; then
	echo "ok 1 documentation example program"
else
	echo "not ok 1 documentation example program"
fi
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

# brd.ko of kernel $1, uncompressed, for the initramfs.
brd_module() {
	local ko
	ko=$(find "/lib/modules/$1/kernel/drivers/block" -name 'brd.ko*' | head -1)
	[[ -n $ko ]] || return 1
	ko_unpack "$ko" "$BUILD/$1/brd.ko"
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
		-f "$BUILD/mmapper-example:/selftests/mmapper-example" \
		-f "$ROOT/selftests/test_mmapper.sh:/selftests/test_mmapper.sh" \
		-f "$ROOT/selftests/test_params.sh:/selftests/test_params.sh" \
		-f "$ROOT/selftests/test_mmapperctl.sh:/selftests/test_mmapperctl.sh" \
		-f "$BUILD/mmapperctl:/selftests/mmapperctl" \
		-f "$ROOT/selftests/settings:/selftests/settings"
	"$ROOT/scripts/judge.sh" "$BUILD/vm-$label" "$label" "$RESULTS" | grep -v '^PASS'
	echo "$(grep -c "^PASS $label:" "$RESULTS") passed on $label"
}

for rel in "${KERNELS[@]}"; do
	ko=$BUILD/$rel/src/mmapper.ko
	[[ -f $ko && -f $BUILD/mmapper_test ]] || continue
	stage "selftests in a VM: $rel"
	extra=()
	brd_module "$rel" && extra=(-f "$BUILD/$rel/brd.ko:/lib/brd.ko")
	# 2 GiB: the 1 GiB buffer tests need room for it and for the kernel.
	run_suite "/boot/vmlinuz-$rel" "$ko" "$rel" -m 2048 "${extra[@]}"
done

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

stage "debug kernel: KASAN, lockdep, DEBUG_VM, kmemleak (built once, cached)"
if DEBUG_KDIR=$("$ROOT/scripts/debug-kernel.sh" 2> "$BUILD/debug-kernel.log"); then
	result PASS "debug kernel from linux-source-6.1 (see $BUILD/debug-kernel.log)"
	if "$ROOT/scripts/build-module.sh" debug "$DEBUG_KDIR" >/dev/null; then
		result PASS "build against the debug kernel, no warnings"
		# trinity is dynamically linked: give the VM its libraries.
		fuzz=(-f /usr/bin/trinity:/bin/trinity -f "$ROOT/selftests/fuzz.sh:/selftests/fuzz.sh")
		vm_lib_args fuzz /usr/bin/trinity
		# KASAN's shadow and kmemleak's pool take memory of their own.
		run_suite "$DEBUG_KDIR/arch/x86/boot/bzImage" "$BUILD/debug/src/mmapper.ko" \
			debug -m 3072 -t 2400 "${fuzz[@]}"
	else
		result FAIL "build against the debug kernel, no warnings"
	fi
else
	tail -30 "$BUILD/debug-kernel.log"
	result FAIL "debug kernel from linux-source-6.1 (see $BUILD/debug-kernel.log)"
fi

stage "packages: make deb, make rpm, lint, install, kernel upgrade, purge"
"$ROOT/scripts/package-test.sh" "$RESULTS" "$BUILD"

summary
