#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The packaging stage of make check: what a user of "apt install
# mmapper-dkms" or of the RPM gets.
#
#  1. the version strings agree; make deb, lintian; make rpm, rpmlint;
#  2. apt-get install of the .debs on this machine: DKMS must build and
#     install mmapper for every kernel with headers installed (6.1, 6.12),
#     and build it for every other kernel of kernels.sh (5.10, 7.2, 7.2 RT:
#     trees in ~/.cache/mmapper that no package installed) when pointed at
#     the tree (dkms build --kernelsourcedir), as a user of a kernel tree
#     outside /lib/modules would;
#  3. a kernel whose headers arrive after the package: DKMS's header hook
#     must build for it;
#  4. a VM boots the oldest kernel with the DKMS-built module and runs the
#     installed selftests (/usr/libexec/mmapper/selftests) against it;
#  5. apt-get purge: nothing may be left;
#  6. the RPM, installed, upgraded to a new release and erased by rpm on
#     this machine: its scriptlets drive DKMS the same way.
#
# THIS INSTALLS AND PURGES PACKAGES ON THE MACHINE (root only).
#
# Usage: package-test.sh RESULTS BUILD-DIR
# Appends PASS/FAIL lines to RESULTS.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RESULTS=$1
BUILD=$(cd "$2" && pwd)
DIST=$ROOT/dist
LOG=$BUILD/package-test.log
# shellcheck source=scripts/vm-files.sh
. "$ROOT/scripts/vm-files.sh"
V=$(cat "$ROOT/VERSION")
: > "$LOG"

result() {
	echo "$1 package: $2" | tee -a "$RESULTS"
}

# Run a command, its output to the log; PASS/FAIL with the given name.
step() {
	local name=$1
	shift
	echo "### $name: $*" >> "$LOG"
	if "$@" >> "$LOG" 2>&1; then
		result PASS "$name"
	else
		result FAIL "$name (see $LOG)"
		tail -20 "$LOG" | sed 's/^/    /'
		return 1
	fi
}

# RELEASE VMLINUZ BUILD_DIR of every kernel; HOST: those whose headers are
# installed (/lib/modules/REL/build), which the packages' scripts see.
declare -A IMAGE=() KDIR=()
KERNELS=()
HOST=()
while read -r rel image kdir; do
	KERNELS+=("$rel")
	IMAGE[$rel]=$image
	KDIR[$rel]=$kdir
	[[ $kdir == "/lib/modules/$rel/build" ]] && HOST+=("$rel")
done < <("$ROOT/scripts/kernels.sh" 2>/dev/null)

step "version strings agree with VERSION" "$ROOT/scripts/version.sh"
step "make deb" "$ROOT/scripts/package.sh" deb
step "lintian: no error, no warning" \
	lintian --fail-on error,warning --display-level '>=warning' "$DIST/mmapper_${V}_amd64.changes"
step "make rpm" "$ROOT/scripts/package.sh" rpm
rpmlint_clean() {
	local out
	out=$(rpmlint -c "$ROOT/rpm/rpmlint.toml" "$DIST"/mmapper*.rpm "$ROOT/rpm/mmapper.spec" 2>&1)
	echo "$out"
	grep -q ' 0 errors, 0 warnings' <<<"$out"
}
step "rpmlint: no error, no warning" rpmlint_clean

if [[ $(id -u) -ne 0 ]]; then
	result FAIL "install cycle needs root"
	exit 0
fi
[[ -f $DIST/mmapper-dkms_${V}_all.deb ]] || exit 0

# Start from nothing, whatever an earlier run left.
apt-get purge -y -q mmapper-dkms mmapper-tools >> "$LOG" 2>&1

step "apt-get install ./mmapper-dkms_${V}_all.deb ./mmapper-tools_${V}_amd64.deb" \
	env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	"$DIST/mmapper-dkms_${V}_all.deb" "$DIST/mmapper-tools_${V}_amd64.deb"

# The module DKMS installed for kernel $1, or nothing.
installed_ko() {
	ls /lib/modules/"$1"/updates/dkms/mmapper.ko* 2>/dev/null | head -1
}

# The module DKMS built (in its tree) for kernel $1, or nothing.
built_ko() {
	ls /var/lib/dkms/mmapper/"$V"/"$1"/x86_64/module/mmapper.ko* 2>/dev/null | head -1
}

# A kernel of the cache: DKMS builds for its tree (not installed: the
# machine does not run that kernel, and its /lib/modules is not ours).
dkms_built_tree() {
	local rel=$1 ko
	dkms build -m mmapper -v "$V" -k "$rel" --kernelsourcedir "${KDIR[$rel]}" || return 1
	dkms status -m mmapper -v "$V" -k "$rel" | grep -q ': built' || return 1
	ko=$(built_ko "$rel")
	[[ -n $ko ]] || return 1
	[[ $(modinfo -F version "$ko") == "$V" ]] &&
		modinfo -F vermagic "$ko" | grep -q "^$rel "
}

dkms_built() {
	local rel=$1 ko
	dkms status -m mmapper -v "$V" -k "$rel" | grep -q ': installed' || return 1
	ko=$(installed_ko "$rel")
	[[ -n $ko ]] || return 1
	# The module DKMS built is this version, for this kernel.
	[[ $(modinfo -F version "$ko") == "$V" ]] &&
		modinfo -F vermagic "$ko" | grep -q "^$rel "
}
for rel in "${KERNELS[@]}"; do
	if [[ " ${HOST[*]} " == *" $rel "* ]]; then
		step "DKMS built and installed mmapper $V for $rel" dkms_built "$rel"
	else
		step "DKMS builds mmapper $V for $rel (dkms build --kernelsourcedir ${KDIR[$rel]})" \
			dkms_built_tree "$rel"
	fi
done
step "group mmapper exists" getent group mmapper
step "udev rule installed" test -f /lib/udev/rules.d/60-mmapper.rules

# A kernel upgrade: the newest kernel with installed headers loses its
# build, then its headers "arrive" (the hook that linux-headers-* packages
# run on install).
newest=${HOST[-1]}
upgrade() {
	dkms remove -m mmapper -v "$V" -k "$newest" &&
		[[ -z $(installed_ko "$newest") ]] &&
		/etc/kernel/header_postinst.d/dkms "$newest" &&
		dkms_built "$newest"
}
step "headers of $newest installed after the package: DKMS builds for it" upgrade

# The installed selftests against the DKMS-built module, in a VM.
vm_installed_selftests() {
	local rel=$1 ko out=$BUILD/vm-dkms-$1 files=()
	ko=$(installed_ko "$rel")
	[[ -n $ko ]] || ko=$(built_ko "$rel")
	ko_unpack "$ko" "$BUILD/dkms-$rel.ko"
	# The installed programs are dynamic: give the VM their libraries.
	vm_lib_args files /usr/libexec/mmapper/selftests/mmapper_test \
		/usr/libexec/mmapper/selftests/mmapper_stress /usr/sbin/mmapperctl \
		/usr/bin/udevadm
	[[ -f $BUILD/$rel/brd.ko ]] && files+=(-f "$BUILD/$rel/brd.ko:/lib/brd.ko")
	# The installed udev rule, applied by the machine's own systemd-udevd
	# (a symlink to udevadm), with the group the package created.
	mkdir -p "$BUILD/vm-etc"
	printf 'root:x:0:0::/:/bin/sh\ntester:x:1000:1000::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n' \
		> "$BUILD/vm-etc/passwd"
	printf 'root:x:0:\nmmapper:x:%s:tester\nnogroup:x:65534:\n' \
		"$(getent group mmapper | cut -d: -f3)" > "$BUILD/vm-etc/group"
	files+=(-f /usr/bin/udevadm:/bin/udevadm
		-f /lib/systemd/systemd-udevd:/lib/systemd/systemd-udevd
		-f /lib/udev/rules.d/60-mmapper.rules:/lib/udev/rules.d/60-mmapper.rules
		-f "$BUILD/vm-etc/passwd:/etc/passwd" -f "$BUILD/vm-etc/group:/etc/group")
	cat > "$BUILD/dkms-payload.sh" <<'EOF2'
# The installed programs with the DKMS-built module; the races at length
# are check.sh's (debug kernel, PREEMPT_RT).
export MMAPPER_STRESS_SECONDS=10
[ -f /lib/brd.ko ] && insmod /lib/brd.ko rd_nr=1 rd_size=4096
/usr/libexec/mmapper/selftests/test_mmapper.sh /lib/mmapper.ko
rc=$?
/usr/libexec/mmapper/selftests/test_mmapperctl.sh /lib/mmapper.ko /usr/sbin/mmapperctl || rc=1

# The udev rule, once the selftests (which expect devtmpfs's root 0600)
# are done: a real systemd-udevd gives new nodes group mmapper and mode
# 0660; a member of the group can then use them, anyone else cannot.
udev_result() {
	if [ "$1" = 0 ]; then echo "ok 1 udev: $2"; else echo "not ok 1 udev: $2"; rc=1; fi
}
mkdir -p /run
if /lib/systemd/systemd-udevd --daemon && insmod /lib/mmapper.ko nr_devices=2 &&
   udevadm settle --timeout=60; then
	modes=$(stat -c '%U:%G %a' /dev/mmapper0 /dev/mmapper1 | tr '\n' ' ')
	echo "# /dev/mmapper0 and 1: $modes"
	[ "$modes" = "root:mmapper 660 root:mmapper 660 " ]
	udev_result $? "/dev/mmapper0 and /dev/mmapper1 are root:mmapper 0660"
	su -s /bin/sh tester -c '/usr/sbin/mmapperctl fill 1 --pattern 0x3c &&
		/usr/sbin/mmapperctl verify 1 --pattern 0x3c'
	udev_result $? "a member of group mmapper fills and verifies /dev/mmapper1"
	out=$(su -s /bin/sh nobody -c '/usr/sbin/mmapperctl fill 1 --pattern 0x3c' 2>&1)
	st=$?
	echo "# nobody: exit $st: $out"
	[ $st = 1 ] && echo "$out" | grep -q 'Permission denied'
	udev_result $? "anyone else gets EACCES from /dev/mmapper1"
	# A device added at run time gets the same, from its own uevent.
	n=$(cat /sys/class/mmapper/hot_add) && udevadm settle --timeout=60
	mode=$(stat -c '%U:%G %a' "/dev/mmapper$n")
	echo "# hot_add: mmapper$n, /dev/mmapper$n: $mode"
	[ "$n" = 2 ] && [ "$mode" = "root:mmapper 660" ]
	udev_result $? "/dev/mmapper2 of hot_add is root:mmapper 0660"
	su -s /bin/sh tester -c '/usr/sbin/mmapperctl fill 2 --pattern 0x5c &&
		/usr/sbin/mmapperctl verify 2 --pattern 0x5c'
	udev_result $? "a member of group mmapper fills and verifies the added /dev/mmapper2"
	echo 2 > /sys/class/mmapper/hot_remove && udevadm settle --timeout=60 &&
		[ ! -e /dev/mmapper2 ]
	udev_result $? "hot_remove takes /dev/mmapper2 away"
	rmmod mmapper
	udevadm control --exit
else
	udev_result 1 "systemd-udevd starts and settles after insmod"
fi
exit $rc
EOF2
	"$ROOT/scripts/vm-run.sh" -k "${IMAGE[$rel]}" -o "$out" -m 2048 -s 2 \
		-p "$BUILD/dkms-payload.sh" -f "$BUILD/dkms-$rel.ko:/lib/mmapper.ko" \
		-f /usr/libexec/mmapper/selftests/mmapper_test:/usr/libexec/mmapper/selftests/mmapper_test \
		-f /usr/libexec/mmapper/selftests/mmapper_stress:/usr/libexec/mmapper/selftests/mmapper_stress \
		-f /usr/libexec/mmapper/selftests/test_mmapper.sh:/usr/libexec/mmapper/selftests/test_mmapper.sh \
		-f /usr/libexec/mmapper/selftests/test_mmapperctl.sh:/usr/libexec/mmapper/selftests/test_mmapperctl.sh \
		-f /usr/sbin/mmapperctl:/usr/sbin/mmapperctl \
		"${files[@]}" >> "$LOG" 2>&1
	"$ROOT/scripts/judge.sh" "$out" "dkms $rel" "$RESULTS" > "$out/judge.txt"
	grep -v '^PASS' "$out/judge.txt"
	echo "$(grep -c '^PASS' "$out/judge.txt") passed: installed selftests and mmapperctl, DKMS-built module, $rel"
}
vm_installed_selftests "${KERNELS[0]}"

step "apt-get purge mmapper-dkms mmapper-tools" \
	env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q mmapper-dkms mmapper-tools
# What a package installed, if any of it is still there.  $@: paths that
# only one of the packages has.
no_files_left() {
	local left
	left=$(ls -d /usr/src/mmapper-* /var/lib/dkms/mmapper \
		/lib/modules/*/updates/dkms/mmapper.ko* "$@" 2>/dev/null)
	[[ -z $left ]] || { echo "left behind: $left"; return 1; }
}
nothing_left() {
	no_files_left /lib/udev/rules.d/60-mmapper.rules /usr/libexec/mmapper || return 1
	if getent group mmapper; then
		echo "group mmapper left behind"
		return 1
	fi
	! dpkg-query -W -f='${Status}\n' mmapper-dkms mmapper-tools 2>/dev/null | grep -q installed
}
step "purge leaves nothing (sources, DKMS tree, modules, udev rule, group)" nothing_left

# The RPM's scriptlets, run by rpm itself on this machine (--nodeps: the
# dependencies are Fedora package names).  An upgrade to a new release of
# the same version, built here with a higher release, must keep the builds.
RPM=$DIST/mmapper-dkms-$V-1.noarch.rpm
RPM_UP=$BUILD/pkg-rpm/RPMS/noarch/mmapper-dkms-$V-1.1.noarch.rpm
all_built() {
	local rel
	for rel in "${HOST[@]}"; do
		dkms_built "$rel" || { echo "not built for $rel"; return 1; }
	done
}
rpm_upgrade() {
	rpmbuild -bb --nodeps --define "_topdir $BUILD/pkg-rpm" \
		--define "_udevrulesdir /usr/lib/udev/rules.d" --define "dist .1" \
		--define "packager mmapper developers <mmapper@example.org>" \
		"$ROOT/rpm/mmapper.spec" &&
		rpm -Uvh --nodeps "$RPM_UP" && [[ $(rpm -q mmapper-dkms) == mmapper-dkms-$V-1.1.noarch ]] &&
		all_built
}
rpm -e --nodeps mmapper-dkms >> "$LOG" 2>&1
step "rpm -i mmapper-dkms-$V-1.noarch.rpm: DKMS builds for every kernel with headers" \
	bash -c 'rpm -ivh --nodeps "$0" && getent group mmapper && test -f /usr/lib/udev/rules.d/60-mmapper.rules' "$RPM" &&
	step "DKMS built mmapper $V for every kernel with headers (RPM): ${HOST[*]}" all_built
step "rpm -U to a new release: %preun keeps the new release's builds" rpm_upgrade
step "rpm -e mmapper-dkms" rpm -e --nodeps mmapper-dkms
step "rpm -e leaves nothing (sources, DKMS tree, modules, udev rule)" \
	no_files_left /usr/lib/udev/rules.d/60-mmapper.rules
# The group stays with RPM (Fedora's rule); this machine gets it back clean.
getent group mmapper >/dev/null && groupdel mmapper
