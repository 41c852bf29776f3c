#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Load the DMA-BUF importers (DRM vgem, V4L2 vivid, and the selftests' own,
# mmapper_importer.ko of selftests/importer/) and mmapper, run the
# export selftests, unload them.  In the style of the kernel's
# tools/testing/selftests test_*.sh loaders.
#
# Usage: test_dmabuf.sh [path/to/mmapper.ko [MODULE_DIR]]
#   Without arguments the installed modules are loaded with modprobe.
#   MODULE_DIR holds the importers' modules, uncompressed, and a file
#   "order" naming them, each after what it needs (the test VM's way:
#   scripts/vm-files.sh importer_modules).
#
# vivid gets two instances with one video capture node each: the first
# captures with the vmalloc allocator (it vmaps an imported DMA-BUF), the
# second with dma-contig (it maps an sg_table for its device).

# Kselftest framework requirement - SKIP code is 4.
ksft_skip=4

DIR=$(dirname "$0")
KO=${1:-}
MODDIR=${2:-}
VIVID="n_devs=2 node_types=0x1,0x1 allocators=0,1 num_inputs=1,1 input_types=0,0 no_error_inj=1"

if [ "$(id -u)" -ne 0 ]; then
	echo "$0: must be run as root" >&2
	exit $ksft_skip
fi

# The importers.  Installed ones: a missing one skips its tests, it does
# not fail the run.  Those of MODDIR (the selftests' own importer,
# mmapper_importer.ko, among them) were asked for: one that does not load
# fails the run.
loaded=
failed=0
if [ -n "$MODDIR" ] && [ -f "$MODDIR/order" ]; then
	for m in $(cat "$MODDIR/order"); do
		case $m in
		vivid.ko) insmod "$MODDIR/$m" $VIVID ;;
		*) insmod "$MODDIR/$m" ;;
		esac || { echo "$0: insmod $m failed" >&2; failed=1; }
	done
	if grep -qx mmapper_importer.ko "$MODDIR/order" && [ ! -e /dev/mmapper_importer ]; then
		echo "$0: mmapper_importer.ko loaded, but no /dev/mmapper_importer" >&2
		failed=1
	fi
	loaded=$(tac "$MODDIR/order" 2>/dev/null || sed '1!G;h;$!d' "$MODDIR/order")
else
	modprobe -q vgem || echo "$0: no vgem: its tests are skipped" >&2
	modprobe -q vivid $VIVID || echo "$0: no vivid: its tests are skipped" >&2
	loaded="vivid vgem"
fi

if grep -q '^mmapper ' /proc/modules; then
	rmmod mmapper || exit 1
fi
if [ -n "$KO" ]; then
	insmod "$KO" nr_devices=2 size=1M backend=vmalloc
else
	modprobe -q mmapper nr_devices=2 size=1M backend=vmalloc
fi || {
	echo "$0: cannot load mmapper, skipping" >&2
	exit $ksft_skip
}

"$DIR/mmapper_dmabuf_test"
ret=$?
[ "$failed" -eq 0 ] || ret=1

if ! rmmod mmapper; then
	echo "$0: rmmod mmapper failed" >&2
	ret=1
fi
for m in $loaded; do
	rmmod "${m%.ko}" 2>/dev/null
done
exit $ret
