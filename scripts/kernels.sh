#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The one list of the kernels mmapper is built for and booted with (by
# check.sh, demo.sh, bench.sh, lint.sh and package-test.sh), one line per
# kernel, oldest first:
#
#   RELEASE VMLINUZ BUILD_DIR
#
# Two places, both discovered, never named (Debian point releases change
# the names):
#  - this machine's Debian packages: /lib/modules/REL/build with
#    /boot/vmlinuz-REL (Debian 12's 6.1 and 6.12, from make deps);
#  - the cache of fetch-kernels.sh: ~/.cache/mmapper/kernels/REL/ with
#    vmlinuz, build and READY (Debian 11's 5.10, sid's 7.2 and 7.2 RT).
#
# The suite expects one kernel of each line in LINES.  A line that is
# missing is named on stderr and makes the exit status 1 (the kernels that
# are there are still listed): check.sh turns it into a FAIL.
#
# Usage: kernels.sh            the list
#        kernels.sh --lines    the lines expected, one per line
#        kernels.sh --line REL the line of release REL (6.12, 7.2-rt, ...)
set -euo pipefail
CACHE=${MMAPPER_CACHE:-$HOME/.cache/mmapper}
LINES=(5.10 6.1 6.12 7.2 7.2-rt)

# 6.1.0-57-amd64 -> 6.1; 7.2.13+deb14-rt-amd64 -> 7.2-rt
line_of() {
	local l
	l=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$1")
	[[ $1 == *-rt-* || $1 == *-rt ]] && l+=-rt
	echo "$l"
}

case ${1:-} in
--lines) printf '%s\n' "${LINES[@]}"; exit 0 ;;
--line) line_of "$2"; exit 0 ;;
esac

list=$(
	for build in /lib/modules/*/build; do
		[[ -e $build/Makefile ]] || continue
		rel=$(basename "$(dirname "$build")")
		[[ -r /boot/vmlinuz-$rel ]] && echo "$rel /boot/vmlinuz-$rel /lib/modules/$rel/build"
	done
	for dir in "$CACHE"/kernels/*/; do
		dir=${dir%/}
		# kernels/7.2 and friends are links to the releases' directories.
		[[ -L $dir || ! -f $dir/READY ]] && continue
		[[ -r $dir/vmlinuz && -e $dir/build/Makefile ]] || continue
		echo "$(basename "$dir") $dir/vmlinuz $dir/build"
	done
)
list=$(sort -V -k1,1 <<<"$list" | sed '/^$/d')
[[ -z $list ]] || echo "$list"

rc=0
for l in "${LINES[@]}"; do
	found=
	while read -r rel _; do
		[[ -n $rel && $(line_of "$rel") == "$l" ]] && found=1
	done <<<"$list"
	if [[ -z $found ]]; then
		echo "kernels.sh: no kernel of the $l line here (make deps; scripts/fetch-kernels.sh)" >&2
		rc=1
	fi
done
exit $rc
