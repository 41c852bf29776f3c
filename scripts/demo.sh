#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: build mmapper for the newest kernel of kernels.sh that is not
# PREEMPT_RT (6.12 on a fresh machine; 7.2 once fetch-kernels.sh or make
# check has fetched it), boot that kernel under QEMU, load the module and
# show it at work.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
# shellcheck source=scripts/vm-files.sh
. "$ROOT/scripts/vm-files.sh"

"$ROOT/scripts/deps.sh" >/dev/null
# RELEASE VMLINUZ BUILD_DIR; kernels.sh fails when a line is missing,
# which does not matter here.
read -r REL VMLINUZ KDIR < <("$ROOT/scripts/kernels.sh" 2>/dev/null |
	awk '$1 !~ /-rt(-|$)/' | tail -1) || true
[[ -n ${REL:-} ]] || { echo "demo: no Debian kernel with headers installed (make deps)" >&2; exit 1; }

echo "demo: building mmapper.ko for $REL"
KO=$("$ROOT/scripts/build-module.sh" "$REL" "$KDIR")
make -s -C "$ROOT/tools" OUTPUT="$BUILD"
# vivid, for the scene where it captures into the buffer (and DRM's vgem,
# which importer_modules gives along).
importers=()
if importer_modules "$(kernel_moddir "$REL" "$VMLINUZ")/kernel" "$BUILD/demo-importers"; then
	importer_args importers "$BUILD/demo-importers"
else
	echo "demo: no vivid in $REL's modules: the capture scene is skipped" >&2
fi

cat > "$BUILD/demo-payload.sh" <<'EOF2'
echo "# uname -r: $(uname -r)"
if [ -f /lib/importers/order ]; then
	# vivid with one video capture node, dma-contig buffers: it attaches
	# to the DMA-BUFs it is given, and maps them for its device.
	for m in $(cat /lib/importers/order); do
		case $m in
		vivid.ko) insmod /lib/importers/$m n_devs=1 node_types=0x1 allocators=1 ;;
		*) insmod /lib/importers/$m ;;
		esac
	done
	echo "# insmod vivid.ko n_devs=1 node_types=0x1 allocators=1 (the V4L2 test driver, and what it needs)"
fi
echo "# insmod mmapper.ko nr_devices=2 size=1M backend=vmalloc"
insmod /lib/mmapper.ko nr_devices=2 size=1M backend=vmalloc || exit 1
echo "# ls -l /dev/mmapper*"
ls -l /dev/mmapper*
echo "# cat /sys/class/mmapper/backend"
cat /sys/class/mmapper/backend
echo
/bin/mmapper-demo /dev/mmapper0
echo
echo "# the kernel log (mmapper lines)"
dmesg | grep mmapper | grep -v 'out-of-tree\|verification failed'
echo "# rmmod mmapper"
rmmod mmapper
EOF2

echo "demo: booting $REL under QEMU (software emulation, ~10 s)"
"$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" -o "$BUILD/vm-demo" \
	-p "$BUILD/demo-payload.sh" -f "$KO:/lib/mmapper.ko" "${importers[@]}" \
	-f "$BUILD/mmapper-demo:/bin/mmapper-demo"
echo
cat "$BUILD/vm-demo/output.txt"
echo
if [[ $(cat "$BUILD/vm-demo/rc") -ne 0 ]]; then
	echo "demo: FAILED (status $(cat "$BUILD/vm-demo/rc")); console in $BUILD/vm-demo/console.log" >&2
	exit 1
fi
if grep -qE 'BUG:|WARNING:|Oops|Call Trace' "$BUILD/vm-demo/console.log"; then
	echo "demo: the kernel complained; see $BUILD/vm-demo/console.log" >&2
	exit 1
fi
echo "demo: done; the kernel log was clean. Full console: $BUILD/vm-demo/console.log"
