#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make lint: the static checks of SPEC section 11, each reporting nothing:
#   checkpatch.pl --strict (from linux-source-6.1) on the module, the UAPI
#   header and the selftests' importer module; sparse (C=2) and W=1 for
#   every kernel of kernels.sh.
#
# Usage: lint.sh [RESULTS]   (appends PASS/FAIL lines to RESULTS if given)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RESULTS=${1:-/dev/null}
BUILD=$ROOT/build/lint
rc=0

result() {
	echo "$1 lint: $2" | tee -a "$RESULTS"
	[[ $1 == PASS ]] || rc=1
}

tools=$("$ROOT/scripts/kernel-tools.sh") || exit 1
cd "$ROOT" || exit 1
out=$(perl "$tools/scripts/checkpatch.pl" --strict --no-tree --terse --show-types -f \
	src/*.c src/*.h src/backends/*.c include/uapi/linux/mmapper.h \
	selftests/importer/*.c selftests/importer/*.h 2>&1 | grep -v ' 0 errors, 0 warnings, 0 checks')
if [[ -z $out ]]; then
	result PASS "checkpatch.pl --strict: nothing to report"
else
	echo "$out"
	result FAIL "checkpatch.pl --strict: nothing to report"
fi

command -v sparse >/dev/null || { result FAIL "sparse installed"; exit 1; }
mapfile -t KERNELS < <("$ROOT/scripts/kernels.sh" 2>/dev/null)
for k in "${KERNELS[@]}"; do
	read -r rel _ kdir <<<"$k"
	dir=$BUILD/$rel
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -a src include VERSION "$dir/"
	# C=2: check every file, built or not; W=1: the extra compiler warnings.
	make -C "$kdir" M="$dir/src" C=2 W=1 modules > "$dir/log" 2>&1
	if grep -E 'warning:|error:|context imbalance' "$dir/log"; then
		result FAIL "sparse C=2 and W=1 on $rel: nothing to report"
	elif [[ ! -f $dir/src/mmapper.ko ]]; then
		cat "$dir/log"
		result FAIL "sparse C=2 and W=1 on $rel: nothing to report"
	else
		result PASS "sparse C=2 and W=1 on $rel: nothing to report"
	fi
done
exit $rc
