#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build mmapper.ko for one kernel release, W=1, in build/REL/ (a copy of the
# sources, so that builds for several kernels do not clobber each other).
#
# Usage: build-module.sh RELEASE [KDIR]
# Fails if the build fails or prints any warning.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REL=$1
KDIR=${2:-/lib/modules/$REL/build}
OUT=$ROOT/build/$REL

[[ -e $KDIR/Makefile ]] || { echo "no kernel headers at $KDIR (apt-get install linux-headers-$REL)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
cp -a "$ROOT/src" "$ROOT/include" "$ROOT/VERSION" "$OUT/"
make -C "$OUT/src" -f "$ROOT/src/Makefile" KDIR="$KDIR" W=1 clean >/dev/null 2>&1 || true
if ! make -C "$KDIR" M="$OUT/src" W=1 modules > "$OUT/build.log" 2>&1; then
	cat "$OUT/build.log" >&2
	echo "build for $REL failed" >&2
	exit 1
fi
if grep -E 'warning:|error:' "$OUT/build.log" >&2; then
	echo "build for $REL has warnings (W=1)" >&2
	exit 1
fi
echo "$OUT/src/mmapper.ko"
