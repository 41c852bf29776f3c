#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Judge one VM run of vm-run.sh: every KTAP test line of the payload's
# output becomes a result, and so does the kernel log (any BUG:, WARNING:,
# Oops, KASAN, lockdep, kmemleak report or call trace fails it).
#
# Usage: judge.sh OUTDIR LABEL RESULTS
#   Appends "PASS|FAIL|SKIP LABEL: name" lines to RESULTS.
set -uo pipefail
OUT=$1
LABEL=$2
RESULTS=$3

# Kernel log lines that fail a run, whatever the tests said.
# (Not the bare word "lockdep": a debug kernel says "RCU lockdep checking is
# enabled" at boot.  Lockdep's reports all carry one of the phrases below.)
# The x86/PAT lines are the kernel refusing or correcting a mapping that
# asked for a second memory type of a page (Documentation/cache-modes.rst).
BAD='BUG:|WARNING:|Oops|Call Trace|kernel BUG|general protection|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|possible irq lock inversion|bad unlock balance|held lock freed|lock held when returning to user|DEBUG_LOCKS_WARN_ON|unreferenced object|suspected memory leak|Kernel panic|refcount_t:|list_add corruption|list_del corruption|map pfn RAM range req|map pfn expected mapping type|reserve_ram_pages_type failed|freeing invalid memtype|conflicting memory types'

result() {
	echo "$1 $LABEL: $2" | tee -a "$RESULTS"
}

if [[ ! -f $OUT/rc ]]; then
	result FAIL "VM did not finish (see $OUT/console.log)"
	tail -30 "$OUT/console.log" 2>/dev/null | sed 's/^/    /'
	if [[ -s $OUT/output.txt ]]; then
		echo "    the payload's last lines (output.txt):"
		tail -5 "$OUT/output.txt" | sed 's/^/    /'
	fi
	exit 0
fi

# Top-level KTAP lines ("ok N name", "not ok N name # SKIP reason").
n=0
while IFS= read -r line; do
	n=$((n + 1))
	name=$(sed -E 's/^(not )?ok [0-9]+ (- )?//; s/ # .*//' <<<"$line")
	if [[ $line == *"# SKIP"* ]]; then
		result SKIP "${line#ok }"
	elif [[ $line == "not ok"* ]]; then
		result FAIL "$name"
	else
		result PASS "$name"
	fi
done < <(grep -E '^(not )?ok [0-9]+ ' "$OUT/output.txt")

if [[ $n -eq 0 ]]; then
	result FAIL "no test results in the output (see $OUT/output.txt)"
fi
if [[ $(cat "$OUT/rc") -ne 0 ]]; then
	result FAIL "payload exited with status $(cat "$OUT/rc")"
fi

if grep -E "$BAD" "$OUT/console.log" > "$OUT/bad.txt"; then
	result FAIL "kernel log clean (see $OUT/bad.txt)"
	head -20 "$OUT/bad.txt" | sed 's/^/    /'
else
	result PASS "kernel log clean"
fi
