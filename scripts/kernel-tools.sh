#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Extract what mmapper borrows from the kernel's own source, at build time,
# from Debian's linux-source-6.1 package: the kselftest harness headers,
# checkpatch, and the DRM UAPI headers the DMA-BUF tests drive vgem with
# (not in /usr/include without libdrm-dev).  Nothing of it is committed.  Idempotent; prints the directory.
set -euo pipefail
CACHE=${MMAPPER_CACHE:-$HOME/.cache/mmapper}
TARBALL=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
[[ -n $TARBALL ]] || { echo "$0: /usr/src/linux-source-6.1.tar.xz missing (make deps)" >&2; exit 1; }
DEST=$CACHE/linux-source-6.1
STAMP=$DEST/.mmapper-stamp
KEY=$(stat -c '%s %Y' "$TARBALL")

if [[ ! -f $STAMP || $(cat "$STAMP") != "$KEY" ]]; then
	rm -rf "$DEST"
	mkdir -p "$CACHE"
	tar -xJf "$TARBALL" -C "$CACHE" --wildcards \
		'linux-source-6.1/tools/testing/selftests/kselftest*' \
		'linux-source-6.1/tools/testing/selftests/lib.mk' \
		'linux-source-6.1/scripts/checkpatch.pl' \
		'linux-source-6.1/scripts/spelling.txt' \
		'linux-source-6.1/scripts/const_structs.checkpatch'
	echo "$KEY" > "$STAMP"
fi
# Added to an extract of the list above without extracting it again.
if [[ ! -f $DEST/include/uapi/drm/vgem_drm.h ]]; then
	tar -xJf "$TARBALL" -C "$CACHE" \
		linux-source-6.1/include/uapi/drm/drm.h \
		linux-source-6.1/include/uapi/drm/drm_mode.h \
		linux-source-6.1/include/uapi/drm/vgem_drm.h
fi
echo "$DEST"
