#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: boot the newest kernel of kernels.sh that has the DMA-BUF
# system heap and udmabuf to compare with, and is not PREEMPT_RT (6.12 on a
# fresh machine, 7.2 once fetched; BENCH_KERNEL=RELEASE chooses another),
# under QEMU, load mmapper, run tools/mmapper-bench there, and write
# dist/bench.json and dist/bench.png.
#
# Usage: bench.sh [REPS]   (default 5; every figure is a median of REPS)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
DIST=$ROOT/dist
REPS=${1:-5}

"$ROOT/scripts/deps.sh" >/dev/null
REL=
while read -r rel vmlinuz kdir; do
	if [[ -n ${BENCH_KERNEL:-} ]]; then
		[[ $rel == "$BENCH_KERNEL" ]] || continue
	elif [[ $rel =~ -rt(-|$) ]] || ! grep -qx CONFIG_UDMABUF=y "$kdir/.config" ||
	     ! grep -qx CONFIG_DMABUF_HEAPS_SYSTEM=y "$kdir/.config"; then
		continue
	fi
	REL=$rel VMLINUZ=$vmlinuz KDIR=$kdir
done < <("$ROOT/scripts/kernels.sh" 2>/dev/null)
[[ -n $REL ]] || { echo "bench: no kernel with udmabuf and the system heap (make deps)" >&2; exit 1; }
KO=$("$ROOT/scripts/build-module.sh" "$REL" "$KDIR")
make -s -C "$ROOT/tools" OUTPUT="$BUILD"
mkdir -p "$DIST"

cat > "$BUILD/bench-payload.sh" <<EOF2
insmod /lib/mmapper.ko nr_devices=1 size=1M || exit 1
echo madvise > /sys/kernel/mm/transparent_hugepage/enabled
/bin/mmapper-bench $REPS
rmmod mmapper
EOF2

echo "bench: $REL under QEMU, $REPS repetitions (several minutes)"
# One CPU: no second CPU to steal time from the measuring one.
"$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" -o "$BUILD/vm-bench" -m 2048 -s 1 \
	-t 3000 -p "$BUILD/bench-payload.sh" -f "$KO:/lib/mmapper.ko" \
	-f "$BUILD/mmapper-bench:/bin/mmapper-bench"
OUT=$BUILD/vm-bench/output.txt
if [[ $(cat "$BUILD/vm-bench/rc") -ne 0 ]] || ! grep -q '@@BENCH-JSON-END' "$OUT"; then
	cat "$OUT"
	echo "bench: failed; see $BUILD/vm-bench/console.log" >&2
	exit 1
fi
sed -n '/^@@BENCH-JSON-BEGIN$/,/^@@BENCH-JSON-END$/p' "$OUT" | sed '1d;$d' > "$DIST/bench.json"
sed '/^@@BENCH-JSON-BEGIN$/,$d' "$OUT" | tee "$DIST/bench.txt"
python3 -m json.tool "$DIST/bench.json" > /dev/null

# The plot: map + first touch, ns per MiB, per subject, both sizes.
python3 - "$DIST/bench.json" > "$BUILD/bench.dat" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))["subjects"]
names = []
for v in d.values():
    if v["name"] not in names:
        names.append(v["name"])
for n in names:
    row = [d.get("%s/%dM" % (n, m), {}).get("touch_ns_per_mib", "NaN") for m in (4, 64)]
    print('"%s" %s %s' % (n, row[0], row[1]))
EOF2
# The targets: each ratio as a bar (green met, red missed), its target a
# black tick; the bench itself decided them (tools/mmapper-bench.c).
python3 - "$DIST/bench.json" > "$BUILD/bench-targets.dat" <<'EOF2'
import json, sys
t = [x for x in json.load(open(sys.argv[1]))["targets"]
     if x["unit"] == "ratio" and x["value"] is not None]
for i, x in enumerate(t):
    what = "[%s] %s%s" % (x["group"], x["what"], " (#%d)" % x["issue"] if x["issue"] else "")
    print('%d %g %g %d "%s"' % (i, x["value"], x["target"], 0x2ca02c if x["met"] else 0xd62728, what))
EOF2
NT=$(wc -l < "$BUILD/bench-targets.dat")
# Pixels: 560 for the first plot, 18 a target (and 40 for axes) for the second.
H=$((600 + 18 * NT))
read -r TOP XLO XHI < <(awk -v h=$H '{ lo = (NR == 1 || $2 < lo) ? $2 : lo; lo = $3 < lo ? $3 : lo
	hi = (NR == 1 || $2 > hi) ? $2 : hi; hi = $3 > hi ? $3 : hi }
	END { print 560 / h, lo / 1.5, hi * 2 }' "$BUILD/bench-targets.dat")
KERNEL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"])' "$DIST/bench.json")
gnuplot <<EOF2
set terminal pngcairo noenhanced size 1100,$H font ",10"
set output "$DIST/bench.png"
set multiplot
set origin 0,1 - $TOP
set size 1,$TOP
set title "mmap + first write per page, ns per MiB (lower is better), median of $REPS; $KERNEL under QEMU/TCG"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "ns per MiB (log scale)"
set xtics rotate by -30
set key top left
set grid ytics
plot "$BUILD/bench.dat" using 2:xtic(1) title "4 MiB", "" using 3 title "64 MiB"
reset
set origin 0,0
set size 1,1 - $TOP
set title "targets: measured ratio (bar: green met, red missed), target (black tick); median of $REPS"
set logscale x
set xrange [$XLO:$XHI]
set yrange [$NT - 0.5:-0.5]
set xlabel "ratio (log scale)"
set grid xtics
set lmargin 64
set ytics font ",9"
set style fill solid 0.8 border -1
plot "$BUILD/bench-targets.dat" using ($XLO):1:($XLO):2:(\$1-0.35):(\$1+0.35):4:ytic(5) \\
	with boxxyerror lc rgb variable notitle, \\
	"" using 3:(\$1-0.45):(0):(0.9) with vectors nohead lw 3 lc rgb "black" notitle, \\
	"" using 2:1:(sprintf(" %.3f", \$2)) with labels left notitle
unset multiplot
EOF2
echo "bench: wrote $DIST/bench.txt, $DIST/bench.json and $DIST/bench.png"
