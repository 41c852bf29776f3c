#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the selftests' DMA-BUF importer, selftests/importer/ (a test module,
# never shipped), for one kernel release, W=1, in build/REL/importer/.  It
# includes src/compat.h with src/probes.mk's probes.
#
# Usage: build-importer.sh RELEASE [KDIR]
# Prints the module's path; fails if the build fails or prints any warning.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REL=$1
KDIR=${2:-/lib/modules/$REL/build}
OUT=$ROOT/build/$REL/importer

[[ -e $KDIR/Makefile ]] || { echo "no kernel headers at $KDIR" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
cp -a "$ROOT/selftests/importer/." "$OUT/"
if ! make -C "$KDIR" M="$OUT" MMAPPER_SRC="$ROOT/src" W=1 modules > "$OUT/build.log" 2>&1; then
	cat "$OUT/build.log" >&2
	echo "build of the selftests' importer for $REL failed" >&2
	exit 1
fi
if grep -E 'warning:|error:' "$OUT/build.log" >&2; then
	echo "build of the selftests' importer for $REL has warnings (W=1)" >&2
	exit 1
fi
echo "$OUT/mmapper_importer.ko"
