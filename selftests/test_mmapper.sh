#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Load mmapper, run its selftests and its stress test, unload it.  In the style of the kernel's
# tools/testing/selftests test_*.sh loaders.
#
# Usage: test_mmapper.sh [path/to/mmapper.ko]
#   Without an argument the installed module is loaded with modprobe.

# Kselftest framework requirement - SKIP code is 4.
ksft_skip=4

DIR=$(dirname "$0")
KO=${1:-}
PARAMS="nr_devices=5 size=1M backend=vmalloc"

if [ "$(id -u)" -ne 0 ]; then
	echo "$0: must be run as root" >&2
	exit $ksft_skip
fi

load() {
	if [ -n "$KO" ]; then
		insmod "$KO" $PARAMS
	else
		modprobe -q mmapper $PARAMS
	fi
}

unload() {
	rmmod mmapper
}

if grep -q '^mmapper ' /proc/modules; then
	unload || exit 1
fi

if ! load; then
	echo "$0: cannot load mmapper, skipping" >&2
	exit $ksft_skip
fi

"$DIR/mmapper_test"
ret=$?
# The stress test, bounded by MMAPPER_STRESS_SECONDS (default 20).
if [ -x "$DIR/mmapper_stress" ]; then
	"$DIR/mmapper_stress" || ret=1
fi

if ! unload; then
	echo "$0: rmmod mmapper failed" >&2
	ret=1
fi
exit $ret
