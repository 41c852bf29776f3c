#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb / make rpm: build the packages from a clean copy of the tree
# (the files git knows, or every file outside build/ and dist/ when this is
# not a git checkout) into dist/.
#
# Usage: package.sh deb|rpm
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIST=$ROOT/dist
KIND=${1:?usage: package.sh deb|rpm}
"$ROOT/scripts/version.sh"
V=$(cat "$ROOT/VERSION")

# The tree's files, NUL-separated, relative to ROOT.
tree_files() {
	if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do [[ -e $ROOT/$f ]] && printf '%s\0' "$f"; done
	else
		(cd "$ROOT" && find . -path ./build -prune -o -path ./dist -prune -o \
			-type f -printf '%P\0')
	fi
}

# Copy the tree to $1.
copy_tree() {
	mkdir -p "$1"
	tree_files | (cd "$ROOT" && tar -c --null -T -) | tar -x -C "$1"
}

mkdir -p "$DIST"
case $KIND in
deb)
	work=$ROOT/build/pkg-deb
	rm -rf "$work"
	copy_tree "$work/mmapper-$V"
	(cd "$work/mmapper-$V" && dpkg-buildpackage -us -uc -b)
	rm -f "$DIST"/mmapper*.deb "$DIST"/mmapper*.changes "$DIST"/mmapper*.buildinfo
	cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$DIST/"
	ls -1 "$DIST"/*.deb
	;;
rpm)
	work=$ROOT/build/pkg-rpm
	rm -rf "$work"
	mkdir -p "$work/SOURCES"
	copy_tree "$work/mmapper-$V"
	tar -czf "$work/SOURCES/mmapper-$V.tar.gz" -C "$work" "mmapper-$V"
	# Debian has no systemd-rpm-macros: say what it would define.
	rpmbuild -ba --nodeps --define "_topdir $work" \
		--define "_udevrulesdir /usr/lib/udev/rules.d" \
		--define "packager mmapper developers <mmapper@example.org>" \
		"$ROOT/rpm/mmapper.spec"
	rm -f "$DIST"/mmapper*.rpm
	cp "$work"/RPMS/noarch/*.rpm "$work"/SRPMS/*.rpm "$DIST/"
	ls -1 "$DIST"/*.rpm
	;;
*)
	echo "usage: package.sh deb|rpm" >&2
	exit 2
	;;
esac
