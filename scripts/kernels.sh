#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# List the kernel releases mmapper can be built for and booted with here:
# those with both headers (/lib/modules/REL/build) and an image
# (/boot/vmlinuz-REL), oldest first.  Nothing is hard-coded: Debian point
# releases change the names.
set -euo pipefail
for build in /lib/modules/*/build; do
	[[ -e $build/Makefile ]] || continue
	rel=$(basename "$(dirname "$build")")
	[[ -r /boot/vmlinuz-$rel ]] && echo "$rel"
done | sort -V
