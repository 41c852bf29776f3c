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

"$ROOT/scripts/deps.sh" >/dev/null
# RELEASE VMLINUZ BUILD_DIR; kernels.sh fails when a line is missing,
# which does not matter here.
read -r REL VMLINUZ KDIR < <("$ROOT/scripts/kernels.sh" 2>/dev/null |
	awk '$1 !~ /-rt(-|$)/' | tail -1) || true
[[ -n ${REL:-} ]] || { echo "demo: no Debian kernel with headers installed (make deps)" >&2; exit 1; }

echo "demo: building mmapper.ko for $REL"
KO=$("$ROOT/scripts/build-module.sh" "$REL" "$KDIR")
make -s -C "$ROOT/tools" OUTPUT="$BUILD"

cat > "$BUILD/demo-payload.sh" <<'EOF2'
echo "# uname -r: $(uname -r)"
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
	-p "$BUILD/demo-payload.sh" -f "$KO:/lib/mmapper.ko" \
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
