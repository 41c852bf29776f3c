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

# The DMA-BUF importers the export tests drive (DRM vgem, V4L2 vivid), with
# the modules they need, from the modules under directory $1 (a kernel's
# module tree: "$(kernel_moddir REL IMAGE)/kernel", or a kernel build tree)
# into directory $2, uncompressed, and $2/order: their file names, each
# after what it needs, for insmod in that order.  Dependencies are read
# with modinfo (the cache of fetch-kernels.sh has no modules.dep); a module
# built in is not there and needs no file.  Fails if vgem or vivid is
# missing.
importer_modules() {
	local dest=$2 ko name dep
	local -A path=() seen=()
	local order=()
	rm -rf "$dest"
	mkdir -p "$dest"
	while read -r ko; do
		name=$(basename "$ko")
		name=${name%%.ko*}
		path[${name//-/_}]=$ko
	done < <(find -L "$1" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' 2>/dev/null)
	visit() {
		local n=${1//-/_}
		[[ -n ${seen[$n]:-} ]] && return 0
		seen[$n]=1
		[[ -n ${path[$n]:-} ]] || return 0	# built in
		for dep in $(modinfo -F depends "${path[$n]}" | tr ',' ' '); do
			visit "$dep"
		done
		ko_unpack "${path[$n]}" "$dest/$n.ko"
		order+=("$n.ko")
	}
	for name in vgem vivid; do
		[[ -n ${path[$name]:-} ]] || { echo "importer_modules: no $name.ko under $1" >&2; return 1; }
		visit "$name"
	done
	printf '%s\n' "${order[@]}" > "$dest/order"
}

# Append to the array named $1 the vm-run.sh -f arguments that put the
# files of directory $2 (importer_modules) in the VM's /lib/importers.
importer_args() {
	local -n _iargs=$1
	local f
	for f in "$2"/*; do
		_iargs+=(-f "$f:/lib/importers/$(basename "$f")")
	done
}
