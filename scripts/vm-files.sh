# SPDX-License-Identifier: GPL-2.0
#
# Sourced by check.sh and package-test.sh: putting things in a test VM.

# Copy kernel module $1 to $2 uncompressed: busybox insmod does not
# decompress, and distributions ship .ko.xz or .ko.zst.
ko_unpack() {
	case $1 in
	*.xz) xz -dc "$1" > "$2" ;;
	*.zst) zstd -qdc "$1" > "$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# Append to the array named $1 the vm-run.sh -f arguments that give the VM
# the shared libraries of the dynamically linked programs $2...
vm_lib_args() {
	local -n _args=$1
	local lib
	shift
	for lib in $(ldd "$@" | grep -o '/[^ ]*' | sort -u); do
		_args+=(-f "$(readlink -f "$lib"):$lib")
	done
}
