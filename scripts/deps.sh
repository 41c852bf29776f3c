#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages mmapper needs to build, test and demo.
# Idempotent: installs only what is missing.
set -euo pipefail

PKGS=(
	build-essential bc flex bison libelf-dev libssl-dev kmod cpio xz-utils
	file busybox-static qemu-system-x86
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-source-6.1
	dkms dh-dkms debhelper lintian rpm rpmlint adduser udev
	sparse trinity gnuplot-nox python3 python3-sphinx
	# fetch-kernels.sh: the 7.2 trees keep Debian's BTF (struct module
	# has BTF fields: without pahole, olddefconfig drops them and
	# Debian's kernel refuses the module).
	pahole
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "deps: all installed"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing ${missing[*]}; run 'make deps' as root (or sudo make deps)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
