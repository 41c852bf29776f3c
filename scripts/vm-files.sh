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

# The module directory of kernel release $1 whose image is $2: the cache of
# fetch-kernels.sh keeps it next to the image (KERNEL_DIR/modules), the
# host's packages in /lib/modules.
kernel_moddir() {
	local cached
	cached=$(dirname "$2")/modules
	if [[ -d $cached ]]; then
		echo "$cached"
	else
		echo "/lib/modules/$1"
	fi
}
