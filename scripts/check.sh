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
#  5. the packages (package-test.sh): build and lint the .deb and the .rpm,
#     install the .debs on this machine, check DKMS, a kernel upgrade, the
#     installed selftests in a VM, and a clean purge
#
# Ends with "N passed, N failed" (skips are reported, never counted as passed).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
RESULTS=$BUILD/results.txt
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

stage "build: the documentation's example program"
if gcc -static -Wall -Wextra -Werror -O2 -I"$ROOT/include/uapi" \
	-o "$BUILD/mmapper-example" "$ROOT/Documentation/examples/mmapper-example.c"; then
	result PASS "build Documentation/examples/mmapper-example.c, no warnings"
else
	result FAIL "build Documentation/examples/mmapper-example.c, no warnings"
fi

# A RAM block device gives the O_DIRECT test something to read from.  The
# example program runs last, on a freshly loaded module, as one KTAP result.
cat > "$BUILD/selftests-payload.sh" <<'EOF2'
[ -f /lib/brd.ko ] && insmod /lib/brd.ko rd_nr=1 rd_size=4096
cd /selftests && ./test_mmapper.sh /lib/mmapper.ko
rc=$?
if insmod /lib/mmapper.ko size=64K backend=vmalloc-fault &&
   ./mmapper-example /dev/mmapper0 && rmmod mmapper; then
	echo "ok 1 documentation example program"
else
	echo "not ok 1 documentation example program"
fi
exit $rc
EOF2

# brd.ko of kernel $1, uncompressed, for the initramfs (busybox insmod
# does not decompress).
brd_module() {
	local ko
	ko=$(find "/lib/modules/$1/kernel/drivers/block" -name 'brd.ko*' | head -1)
	[[ -n $ko ]] || return 1
	case $ko in
	*.xz) xz -dc "$ko" > "$BUILD/$1/brd.ko" ;;
	*.zst) zstd -qdc "$ko" > "$BUILD/$1/brd.ko" ;;
	*) cp "$ko" "$BUILD/$1/brd.ko" ;;
	esac
}

for rel in "${KERNELS[@]}"; do
	ko=$BUILD/$rel/src/mmapper.ko
	[[ -f $ko && -f $BUILD/mmapper_test ]] || continue
	stage "selftests in a VM: $rel"
	extra=()
	brd_module "$rel" && extra=(-f "$BUILD/$rel/brd.ko:/lib/brd.ko")
	# 2 GiB: the 1 GiB buffer tests need room for it and for the kernel.
	"$ROOT/scripts/vm-run.sh" -k "/boot/vmlinuz-$rel" -o "$BUILD/vm-$rel" \
		-m 2048 -p "$BUILD/selftests-payload.sh" "${extra[@]}" \
		-f "$ko:/lib/mmapper.ko" \
		-f "$BUILD/mmapper_test:/selftests/mmapper_test" \
		-f "$BUILD/mmapper-example:/selftests/mmapper-example" \
		-f "$ROOT/selftests/test_mmapper.sh:/selftests/test_mmapper.sh" \
		-f "$ROOT/selftests/settings:/selftests/settings" -s 2
	"$ROOT/scripts/judge.sh" "$BUILD/vm-$rel" "$rel" "$RESULTS" | grep -v '^PASS'
	echo "$(grep -c "^PASS $rel:" "$RESULTS") passed on $rel"
done

stage "packages: make deb, make rpm, lint, install, kernel upgrade, purge"
"$ROOT/scripts/package-test.sh" "$RESULTS" "$BUILD"

summary
