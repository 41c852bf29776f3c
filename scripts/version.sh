#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VERSION is the one source of the version.  Check that every file that
# must repeat it does: dkms.conf, debian/changelog, rpm/mmapper.spec and
# the UAPI header's MAJOR/MINOR.  With "--set X.Y.Z", rewrite them all.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [[ ${1:-} == --set ]]; then
	new=${2:?usage: version.sh --set X.Y.Z}
	[[ $new =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || { echo "not X.Y.Z: $new" >&2; exit 1; }
	echo "$new" > VERSION
	sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$new\"/" dkms.conf
	sed -i "s/^Version:\( *\).*/Version:\1$new/" rpm/mmapper.spec
	sed -i "s/^#define MMAPPER_VERSION_MAJOR\(\s*\).*/#define MMAPPER_VERSION_MAJOR\1${BASH_REMATCH[1]}/;
		s/^#define MMAPPER_VERSION_MINOR\(\s*\).*/#define MMAPPER_VERSION_MINOR\1${BASH_REMATCH[2]}/" \
		include/uapi/linux/mmapper.h
	echo "Now add a debian/changelog entry: dch -v $new (and a %changelog entry)." >&2
fi

v=$(cat VERSION)
bad=0
check() {
	if [[ $2 != "$3" ]]; then
		echo "version: $1 says '$2', VERSION says '$3'" >&2
		bad=1
	fi
}
check dkms.conf "$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)" "$v"
check debian/changelog "$(sed -n '1s/^mmapper (\([^)]*\)).*/\1/p' debian/changelog)" "$v"
check rpm/mmapper.spec "$(sed -n 's/^Version: *//p' rpm/mmapper.spec)" "$v"
check "rpm/mmapper.spec %changelog" \
	"$(sed -n '/^%changelog/,$s/^\* .* - \([0-9.]*\)-[0-9]*$/\1/p' rpm/mmapper.spec | head -1)" "$v"
check "include/uapi/linux/mmapper.h" \
	"$(sed -n 's/^#define MMAPPER_VERSION_MAJOR\s*//p' include/uapi/linux/mmapper.h).$(sed -n 's/^#define MMAPPER_VERSION_MINOR\s*//p' include/uapi/linux/mmapper.h)" \
	"${v%.*}"
exit $bad
