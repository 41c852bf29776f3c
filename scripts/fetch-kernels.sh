#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch and prepare, once, the Debian kernels that make check boots besides
# the host's own (6.1, 6.12): Debian 11's 5.10 (bullseye) and the 7.2 line
# (sid), amd64 and PREEMPT_RT.  Also, on request, the newest linux-source
# that sid offers today ("the next kernel", built against, never booted).
#
# Everything comes from Debian's archive through a private apt state per
# suite ($CACHE/apt-SUITE): the machine's sources are never changed and no
# package of another suite is installed: apt-get download, then dpkg -x.
#
# Each kernel gets $CACHE/kernels/RELEASE/ (and a link named after its line:
# kernels/5.10, kernels/7.2, kernels/7.2-rt) with
#   vmlinuz   Debian's image, as the package ships it (booted by QEMU)
#   build     a tree usable as KDIR (make -C build M=... modules)
#   modules   the image's /lib/modules/RELEASE (brd.ko etc., compressed as shipped)
#   line      5.10, 7.2 or 7.2-rt;  key: package versions, compiler, RECIPE
#   READY     touched last, once a probe module built there has the
#             vermagic and the struct module size of Debian's own modules
#
#   5.10: image + linux-headers-REL + the -common headers and linux-kbuild-5.10
#         they depend on, extracted into one prefix (root/), absolute links and
#         the Makefile's absolute include rewritten; Debian 11 built with
#         gcc-10, which Debian 12 lacks: the tree's CC becomes gcc (12).
#         Its kbuild tools are linked against an older glibc: they run here.
#   7.2:  Debian's prebuilt 7.2 kbuild tools need glibc 2.38, so the tree is
#         an O= output tree of linux-source-7.2 (extracted once into
#         $CACHE/src, shared by both flavours, the next kernel and the debug
#         kernel) with the image's .config (make olddefconfig with this
#         machine's gcc), Debian's Module.symvers and its BTF-only vmlinux,
#         KERNELRELEASE set to the image's, and make modules_prepare.  What
#         olddefconfig changed is kept in build/config-diff.txt.
#
# A Debian point release changes the package versions, hence the key: the
# kernel is prepared again (in a new directory, swapped in when READY) and
# the old downloads and trees are removed.
#
# Usage: fetch-kernels.sh [LINE...]   LINE: 5.10, 7.2, 7.2-rt (default: all)
#        fetch-kernels.sh next        prepare the next kernel; prints
#                                     "PACKAGE VERSION BUILD_DIR"
#        fetch-kernels.sh source PKG  extract sid's PKG (linux-source-X.Y);
#                                     prints "VERSION SOURCE_DIR"
# Progress goes to stderr.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MMAPPER_CACHE:-$HOME/.cache/mmapper}
KERNELS=$CACHE/kernels
# The apt lists are refreshed when older than this (seconds).
APT_MAX_AGE=${MMAPPER_APT_MAX_AGE:-3600}
# Part of every prepared kernel's key: bump it when what this script puts
# into a kernel's directory changes, so that every cache prepares again.
RECIPE=1
# shellcheck source=scripts/vm-files.sh
. "$ROOT/scripts/vm-files.sh"

log() { echo "fetch-kernels: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$CACHE" "$KERNELS"
# One fetch at a time (several engineers or runs may share the cache).
exec 9> "$CACHE/.fetch-kernels.lock"
flock 9

# The archive's address, as this machine's own sources name it.
mirror() {
	local m=
	[[ -r /etc/apt/sources.list.d/debian.sources ]] &&
		m=$(awk '/^URIs:/ && !/security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
	[[ -z $m && -r /etc/apt/sources.list ]] &&
		m=$(awk '$1 == "deb" && !/security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
			/etc/apt/sources.list)
	echo "${m:-http://deb.debian.org/debian}"
}

# apt_use SUITE: point APT (the options for apt-get and apt-cache) at the
# private state of SUITE, refreshing its lists when they are old.  No
# status file: what this machine has installed plays no part.
declare -A REFRESHED=()
apt_use() {
	local suite=$1 s=$CACHE/apt-$1 line lists age
	mkdir -p "$s/lists/partial" "$s/cache/archives/partial"
	line="deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(mirror) $suite main"
	[[ -f $s/sources.list && $(cat "$s/sources.list") == "$line" ]] || echo "$line" > "$s/sources.list"
	APT=(-q -o "Dir::Etc::sourcelist=$s/sources.list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$s/lists" -o "Dir::Cache=$s/cache"
		-o Dir::State::status=/dev/null -o APT::Sandbox::User=root
		-o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin)
	[[ -n ${REFRESHED[$suite]:-} ]] && return 0
	REFRESHED[$suite]=1
	lists=$(find "$s/lists" -maxdepth 1 -name "*_Packages*" | head -1)
	age=$APT_MAX_AGE
	[[ -n $lists ]] && age=$(( $(date +%s) - $(stat -c %Y "$s/lists") ))
	[[ $age -lt $APT_MAX_AGE ]] && return 0
	log "apt-get update ($suite, private state $s)"
	if apt-get "${APT[@]}" update > "$s/update.log" 2>&1; then
		touch "$s/lists"
	elif [[ -n $lists ]]; then
		log "apt-get update for $suite failed; using the lists of $(stat -c %y "$s/lists")"
	else
		cat "$s/update.log" >&2
		die "apt-get update for $suite failed (see $s/update.log)"
	fi
}

# The version apt would take of package $1 (empty if none).
candidate() {
	apt-cache "${APT[@]}" policy "$1" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}'
}

# Package names matching the extended regex $1, oldest first.
pkgnames() {
	apt-cache "${APT[@]}" pkgnames 2>/dev/null | grep -E "$1" | sort -V || true
}

# The names in the Depends of package $1 version $2 (alternatives too).
depends() {
	apt-cache "${APT[@]}" show "$1=$2" 2>/dev/null | awk '/^Depends:/ {sub(/^Depends: */, ""); print; exit}' |
		tr ',|' '\n' | sed -E 's/\(.*\)//; s/:any//; s/^ *//; s/ *$//' | grep -v '^$' || true
}

# fetch SUITE PKG VERSION: the .deb, downloaded once into $CACHE/debs/SUITE
# (other versions of PKG removed); prints its path.
fetch() {
	local suite=$1 pkg=$2 ver=$3 dir=$CACHE/debs/$1 file f
	file=$(apt-cache "${APT[@]}" show "$pkg=$ver" | awk '/^Filename:/ {print $2; exit}')
	[[ -n $file ]] || die "$suite has no $pkg $ver"
	file=$dir/$(basename "$file")
	if [[ ! -f $file ]]; then
		mkdir -p "$dir/partial"
		log "downloading $pkg $ver ($suite)"
		rm -f "$dir"/partial/*
		(cd "$dir/partial" && apt-get "${APT[@]}" download "$pkg=$ver" >&2) ||
			die "apt-get download $pkg=$ver failed"
		mv "$dir/partial/$(basename "$file")" "$file"
	fi
	for f in "$dir/${pkg}"_*.deb; do
		[[ $f == "$file" ]] || rm -f "$f"
	done
	echo "$file"
}

# rel_links PREFIX: turn every absolute symlink under PREFIX that points
# into the package's own files into a relative one, so that the tree works
# where it was extracted (lib/modules/REL/build -> /usr/src/linux-headers-REL ...).
rel_links() {
	local prefix=$1 link target
	while IFS= read -r -d '' link; do
		target=$(readlink "$link")
		[[ $target == /* ]] || continue
		ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$prefix$target")" "$link"
	done < <(find "$prefix" -type l -print0)
}

# probe DIR BUILD MODULES: build a trivial module against BUILD with W=1
# and compare it with one of Debian's own modules of that kernel (under
# MODULES): same vermagic, same size of struct module (the kernel refuses a
# module whose .gnu.linkonce.this_module differs).  Fails on any warning.
probe() {
	local dir=$1 build=$2 moddir=$3 p=$1/probe ref want got
	rm -rf "$p"
	mkdir -p "$p"
	cat > "$p/probe.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
static int __init probe_init(void) { return 0; }
static void __exit probe_exit(void) { }
module_init(probe_init);
module_exit(probe_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("fetch-kernels.sh probe");
EOF
	echo 'obj-m := probe.o' > "$p/Kbuild"
	if ! make -C "$build" M="$p" W=1 modules > "$p/build.log" 2>&1 ||
	   grep -E 'warning:|error:' "$p/build.log" >&2; then
		cat "$p/build.log" >&2
		die "a trivial module does not build cleanly against $build"
	fi
	ref=$(find "$moddir/kernel/drivers/block" -name 'brd.ko*' | head -1)
	[[ -n $ref ]] || ref=$(find "$moddir/kernel" -name '*.ko*' | head -1)
	[[ -n $ref ]] || die "no Debian module under $moddir to compare with"
	ko_unpack "$ref" "$p/ref.ko"
	want=$(modinfo -F vermagic "$p/ref.ko")
	got=$(modinfo -F vermagic "$p/probe.ko")
	[[ $want == "$got" ]] || die "vermagic of $build is '$got', Debian's $(basename "$ref") has '$want'"
	want=$(readelf -SW "$p/ref.ko" | awk '$2 == ".gnu.linkonce.this_module" {print $6}')
	got=$(readelf -SW "$p/probe.ko" | awk '$2 == ".gnu.linkonce.this_module" {print $6}')
	[[ -n $want && $want == "$got" ]] ||
		die "struct module is 0x$got bytes in $build, 0x$want in Debian's $(basename "$ref")"
	log "probe module: vermagic '$(modinfo -F vermagic "$p/probe.ko")', struct module 0x$got bytes, as Debian's $(basename "$ref")"
}

# source_tree PKG VERSION: sid's linux-source-X.Y, extracted once into
# $CACHE/src/PKG_VERSION/ (older versions removed); prints the tree.
source_tree() {
	local pkg=$1 ver=$2 dir=$CACHE/src/$1_$2 deb tarball d z
	if [[ ! -f $dir/.done ]]; then
		deb=$(fetch sid "$pkg" "$ver")
		log "extracting $(basename "$deb")"
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp"
		tarball=$(dpkg-deb -c "$deb" | awk '{print $6}' | grep -E '/usr/src/linux-source-.*\.tar\.(xz|zst|bz2|gz)$' | head -1)
		[[ -n $tarball ]] || die "no source tarball in $deb"
		case $tarball in
		*.xz) z=-J ;; *.zst) z=--zstd ;; *.bz2) z=-j ;; *) z=-z ;;
		esac
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "$tarball" | tar -x "$z" -C "$dir.tmp"
		touch "$dir.tmp/.done"
		mv "$dir.tmp" "$dir"
		for d in "$CACHE/src/${pkg}"_*; do
			[[ $d == "$dir" ]] || rm -rf "$d"
		done
	fi
	d=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'linux-source-*' | head -1)
	[[ -f $d/Makefile ]] || die "no kernel tree in $dir"
	echo "$d"
}

# in_place LINE REL KEY FUNCTION ARGS...: prepare kernels/REL with FUNCTION
# (run in a subshell, in that directory), probe it, then mark it READY and
# make kernels/LINE point to it; older kernels of the line go.  The trees
# record their absolute path (the 5.10 Makefile, the O= tree), hence no
# build elsewhere and rename: a kernel of the same release but another key
# is moved aside meanwhile, and back if the preparation fails.
in_place() {
	local line=$1 rel=$2 key=$3 dir=$KERNELS/$2 d rc
	shift 3
	rm -rf "$dir.old"
	[[ -e $dir ]] && mv "$dir" "$dir.old"
	mkdir -p "$dir"
	set +e
	(
		set -e
		cd "$dir"
		"$@"
		probe "$dir" "$dir/build" "$dir/modules"
	)
	rc=$?
	set -e
	if [[ $rc -ne 0 ]]; then
		rm -rf "$dir"
		[[ -e $dir.old ]] && mv "$dir.old" "$dir"
		die "$line: preparing $rel failed"
	fi
	rm -rf "$dir.old"
	echo "$line" > "$dir/line"
	echo "$key" > "$dir/key"
	touch "$dir/READY"
	ln -sfn "$rel" "$KERNELS/$line"
	for d in "$KERNELS"/*/; do
		d=${d%/}
		[[ -L $d || $d == "$dir" ]] && continue
		[[ -f $d/line && $(cat "$d/line") == "$line" ]] && rm -rf "$d"
	done
	log "$line ready: $dir (vmlinuz, build, modules)"
}

# up_to_date REL KEY: kernels/REL is READY with this key.
up_to_date() {
	local dir=$KERNELS/$1
	[[ -f $dir/READY && -f $dir/key && $(cat "$dir/key") == "$2" ]]
}

# The line's kernel is prepared, but the archive no longer offers it:
# keep what the cache has.
keep_cached() {
	local line=$1
	if [[ -f $KERNELS/$line/READY ]]; then
		log "$line: $2; keeping the cached $(readlink "$KERNELS/$line")"
		return 0
	fi
	die "$line: $2"
}

# Debian 11's kernel: the newest linux-image-5.10.0-N-amd64 of bullseye.
prepare_510() {
	local name rel ver hver pkgs=() debs=() key p
	apt_use bullseye
	name=$(pkgnames '^linux-image-5\.10\.0-[0-9]+-amd64$' | tail -1)
	[[ -n $name ]] || { keep_cached 5.10 "bullseye has no linux-image-5.10.0-*-amd64"; return; }
	rel=${name#linux-image-}
	ver=$(candidate "$name")
	hver=$(candidate "linux-headers-$rel")
	[[ -n $hver ]] || die "bullseye has $name but no linux-headers-$rel"
	# The headers, and the common headers and kbuild tools they depend on.
	pkgs=("$name=$ver" "linux-headers-$rel=$hver")
	for p in $(depends "linux-headers-$rel" "$hver" | grep -E '^linux-(headers-.*-common|kbuild-)'); do
		pkgs+=("$p=$(candidate "$p")")
	done
	key="${pkgs[*]} recipe $RECIPE"
	up_to_date "$rel" "$key" && { log "5.10: $rel up to date"; return 0; }
	for p in "${pkgs[@]}"; do
		debs+=("$(fetch bullseye "${p%%=*}" "${p#*=}")")
	done
	in_place 5.10 "$rel" "$key" unpack_510 "$rel" "${debs[@]}"
}

# unpack_510 REL DEB...: in the kernel's directory.
unpack_510() {
	local rel=$1 hdr=root/usr/src/linux-headers-$1 cc deb
	shift
	mkdir root
	for deb in "$@"; do
		dpkg -x "$deb" root
	done
	rel_links "$PWD/root"
	# The flavour's Makefile includes the common one by absolute path.
	sed -i -E "s#^include /usr/src/#include $PWD/root/usr/src/#" "$hdr/Makefile"
	# Debian 11 names its compiler (gcc-10), which Debian 12 does not have.
	cc=$(sed -nE 's/^CC = .*(gcc-[0-9]+)$/\1/p' "$hdr/.kernelvariables")
	if [[ -n $cc ]] && ! command -v "$cc" > /dev/null; then
		sed -i -E 's/^(CC = .*)gcc-[0-9]+$/\1gcc/' "$hdr/.kernelvariables"
		log "5.10: Debian built it with $cc, not in Debian 12: the tree builds with $(gcc --version | head -1)"
	fi
	ln -s "root/boot/vmlinuz-$rel" vmlinuz
	ln -s "root/usr/src/linux-headers-$rel" build
	ln -s "root/lib/modules/$rel" modules
}

# The 7.2 line from sid, flavour $1 (amd64 or rt-amd64).
prepare_72() {
	local flavour=$1 line=7.2 sver name='' rel hver n pkgs=() debs=() key src p
	[[ $flavour == rt-amd64 ]] && line=7.2-rt
	apt_use sid
	sver=$(candidate linux-source-7.2)
	[[ -n $sver ]] || { keep_cached "$line" "sid has no linux-source-7.2"; return; }
	# The image of the same version as the source.
	for n in $(pkgnames "^linux-image-7\.2\.[0-9]+\+deb[0-9]+-$flavour\$"); do
		[[ $(candidate "$n") == "$sver" ]] && name=$n
	done
	[[ -n $name ]] ||
		{ keep_cached "$line" "sid has linux-source-7.2 $sver but no linux-image-7.2.*-$flavour of that version"; return; }
	rel=${name#linux-image-}
	hver=$(candidate "linux-headers-$rel")
	[[ $hver == "$sver" ]] || die "sid's linux-headers-$rel is '$hver', not $sver"
	# The image is a meta package: the kernel, modules and base packages it
	# depends on carry the release in their names.
	pkgs=("$name=$sver")
	for p in $(depends "$name" "$sver" | grep -F -- "-$rel" | grep -vx "$name"); do
		pkgs+=("$p=$(candidate "$p")")
	done
	pkgs+=("linux-headers-$rel=$hver")
	key="linux-source-7.2=$sver ${pkgs[*]} $(gcc --version | head -1) recipe $RECIPE"
	up_to_date "$rel" "$key" && { log "$line: $rel up to date"; return 0; }
	src=$(source_tree linux-source-7.2 "$sver")
	for p in "${pkgs[@]}"; do
		debs+=("$(fetch sid "${p%%=*}" "${p#*=}")")
	done
	in_place "$line" "$rel" "$key" prepare_72_tree "$line" "$rel" "$src" "${debs[@]}"
}

# prepare_72_tree LINE REL SOURCE DEB...: in the kernel's directory, the
# packages in root/ and the O= tree in build/: Debian's config adapted to
# this compiler, Debian's symbol list and its BTF-only vmlinux (module BTF
# is split against it).
prepare_72_tree() {
	local line=$1 rel=$2 src=$3 hdr=root/usr/src/linux-headers-$2 deb p
	shift 3
	mkdir root build
	for deb in "$@"; do
		dpkg -x "$deb" root
	done
	rel_links "$PWD/root"
	p=$(find root -path "*/modules/$rel/vmlinuz" -o -path "*/boot/vmlinuz-$rel" | head -1)
	[[ -n $p ]] || die "no vmlinuz in $*"
	ln -s "$p" vmlinuz
	ln -s "$(find root -maxdepth 4 -type d -path "*/modules/$rel" | head -1)" modules
	cp "$hdr/.config" build/.config
	log "$line: make olddefconfig, modules_prepare in $PWD/build (source $src)"
	nice make -s -C "$src" O="$PWD/build" KERNELRELEASE="$rel" olddefconfig >&2
	config_diff "$hdr/.config" build/.config > build/config-diff.txt
	log "$line: olddefconfig changed $(grep -c '^- ' build/config-diff.txt || true) of Debian's options (build/config-diff.txt)"
	nice make -s -C "$src" O="$PWD/build" KERNELRELEASE="$rel" -j"$(nproc)" modules_prepare >&2
	[[ $(cat build/include/config/kernel.release) == "$rel" ]] ||
		die "kernel.release is $(cat build/include/config/kernel.release), not $rel"
	cp "$hdr/Module.symvers" build/Module.symvers
	[[ ! -f $hdr/vmlinux ]] || cp "$hdr/vmlinux" build/vmlinux
}

# config_diff DEBIAN OURS: the options whose values differ, "-" Debian's,
# "+" ours.
config_diff() {
	diff <(grep -E '^CONFIG_' "$1" | sort) <(grep -E '^CONFIG_' "$2" | sort) |
		sed -n 's/^< /- /p; s/^> /+ /p' | sort -k2,2 -s || true
}

# The newest linux-source-X.Y sid offers today: defconfig + modules_prepare
# in its own O= tree (the extract is shared with the 7.2 line when it is
# the same package).  modules_prepare writes no Module.symvers: when sid has
# Debian's amd64 headers of the same version, their Module.symvers goes in,
# so that modpost checks every symbol the module uses; otherwise there is
# none ("none": build with KBUILD_MODPOST_WARN=1).
# Prints "PACKAGE VERSION BUILD_DIR SYMVERS" (SYMVERS: the headers package
# it came from, or none).
prepare_next() {
	local pkg ver src dir key n hdr='' deb sym
	apt_use sid
	pkg=$(pkgnames '^linux-source-[0-9]+\.[0-9]+$' | tail -1)
	[[ -n $pkg ]] || die "sid offers no linux-source-*"
	ver=$(candidate "$pkg")
	for n in $(pkgnames '^linux-headers-[0-9.]+\+deb[0-9]+-amd64$'); do
		[[ $(candidate "$n") == "$ver" ]] && hdr=$n
	done
	key=$(echo "$pkg=$ver $hdr $(gcc --version | head -1) recipe $RECIPE" | sha256sum | cut -c1-16)
	dir=$CACHE/next-kernel/${pkg}_$ver-$key
	if [[ ! -f $dir/READY ]]; then
		src=$(source_tree "$pkg" "$ver")
		rm -rf "$CACHE/next-kernel"
		mkdir -p "$dir/build"
		log "next kernel: $pkg $ver: make defconfig modules_prepare in $dir/build"
		nice make -s -C "$src" O="$dir/build" defconfig >&2
		nice make -s -C "$src" O="$dir/build" -j"$(nproc)" modules_prepare >&2
		if [[ -n $hdr ]]; then
			deb=$(fetch sid "$hdr" "$ver")
			sym=$(dpkg-deb -c "$deb" | awk '{print $6}' | grep '/Module\.symvers$' | head -1)
			dpkg-deb --fsys-tarfile "$deb" | tar -xO "$sym" > "$dir/build/Module.symvers"
			echo "$hdr" > "$dir/symvers"
		else
			echo none > "$dir/symvers"
		fi
		touch "$dir/READY"
	fi
	echo "$pkg $ver $dir/build $(cat "$dir/symvers")"
}

case ${1:-} in
next)
	prepare_next
	;;
source)
	apt_use sid
	ver=$(candidate "$2")
	[[ -n $ver ]] || die "sid has no $2"
	echo "$ver $(source_tree "$2" "$ver")"
	;;
*)
	lines=("$@")
	[[ ${#lines[@]} -gt 0 ]] || lines=(5.10 7.2 7.2-rt)
	for l in "${lines[@]}"; do
		case $l in
		5.10) prepare_510 ;;
		7.2) prepare_72 amd64 ;;
		7.2-rt) prepare_72 rt-amd64 ;;
		*) die "unknown kernel line $l (5.10, 7.2, 7.2-rt)" ;;
		esac
	done
	;;
esac
