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
KERNEL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"])' "$DIST/bench.json")
gnuplot <<EOF2
set terminal pngcairo size 1100,560 font ",10"
set output "$DIST/bench.png"
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
EOF2
# The targets, as ratios taken in this one boot.  A target missed is a
# finding, printed as FAIL, not a failure of the benchmark.
python3 - "$DIST/bench.json" > "$BUILD/bench-targets.txt" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))["subjects"]
def v(name, mib, key):
    return d["%s/%dM" % (name, mib)][key]
rows = []
def target(what, ok, detail):
    rows.append(ok)
    print("%s  %s: %s" % ("PASS" if ok else "FAIL", what, detail))
heap = v("dma-heap-system", 64, "touch_ns_per_mib")
for mib in (4, 64):
    r = v("pages", mib, "touch_ns_per_mib") / v("dma-heap-system", mib, "touch_ns_per_mib")
    target("pages map + touch <= system heap, %d MiB" % mib, r <= 1.0, "ratio %.2f" % r)
r = v("huge", 64, "touch_ns_per_mib") / heap
target("huge map + touch <= 1/4 of system heap, 64 MiB", r <= 0.25, "ratio %.2f" % r)
f = v("huge", 64, "minflt")
target("huge: at most one fault per 2 MiB, 64 MiB", f <= 32, "%d faults" % f)
for mib in (4, 64):
    r = v("vmalloc-fault", mib, "touch_ns_per_mib") / v("vmalloc-fault-1", mib, "touch_ns_per_mib")
    target("vmalloc-fault (fault_around 16) <= 1/2 of one fault per page, %d MiB" % mib,
           r <= 0.5, "ratio %.2f" % r)
for key, what in (("read_gbps", "read"), ("write_gbps", "write")):
    for name in ("kmalloc", "vmalloc", "vmalloc-fault", "vmalloc-user", "pages", "huge"):
        mib = 4 if name == "kmalloc" else 64
        r = v(name, mib, key) / v("anon-4k", mib, key)
        target("%s: sequential %s within 10%% of anonymous memory, %d MiB" % (name, what, mib),
               r >= 0.9, "ratio %.2f" % r)
print("targets: %d of %d hold" % (sum(rows), len(rows)))
EOF2
tee -a "$DIST/bench.txt" < "$BUILD/bench-targets.txt"
echo "bench: wrote $DIST/bench.txt, $DIST/bench.json and $DIST/bench.png"
