# SPDX-License-Identifier: GPL-2.0
#
# mmapper - top-level targets
#
#   make                 build mmapper.ko for KERNELRELEASE (default: the
#                        running kernel) or KDIR
#   make install         install it into /lib/modules/KERNELRELEASE/updates
#   make deps            install the Debian packages the rest needs (root)
#   make kernels         fetch and prepare Debian's 5.10 and 7.2 (and 7.2 RT)
#                        kernels into ~/.cache/mmapper/kernels
#   make demo            build, boot Debian's kernel in QEMU, show mmapper at work
#   make check           every test, on every kernel of scripts/kernels.sh
#                        (5.10, 6.1, 6.12, 7.2, 7.2 RT; fetches what is missing)
#   make lint            checkpatch --strict, sparse C=2, W=1
#   make bench           mmapper's backends against their peers: dist/bench.json, .png
#   make docs            the Documentation tree as HTML in build/docs (warnings fail)
#   make selftests       build the kselftest binary
#   make deb             dist/mmapper-dkms_VERSION_all.deb, dist/mmapper-tools_*.deb
#   make rpm             dist/mmapper-dkms-VERSION-1.noarch.rpm and the SRPM
#   make clean

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
# KERNELRELEASE means something else to Kbuild: do not pass it down.
MAKEOVERRIDES := $(filter-out KERNELRELEASE=%,$(MAKEOVERRIDES))
unexport KERNELRELEASE

ROOT := $(CURDIR)

all: module

module:
	@test -e $(KDIR)/Makefile || { \
		echo "No kernel headers at $(KDIR)."; \
		echo "Install them (apt-get install linux-headers-$(KERNELRELEASE)) or name a kernel:"; \
		echo "  make KERNELRELEASE=<release>   (releases here: $$(ls /lib/modules 2>/dev/null | tr '\n' ' '))"; \
		exit 1; }
	$(MAKE) -C $(KDIR) M=$(ROOT)/src modules

install: module
	$(MAKE) -C $(KDIR) M=$(ROOT)/src INSTALL_MOD_DIR=updates modules_install
	depmod -a $(KERNELRELEASE)

deps:
	@scripts/deps.sh

kernels:
	@scripts/fetch-kernels.sh

demo:
	@scripts/demo.sh

check:
	@scripts/check.sh

lint:
	@scripts/lint.sh

bench:
	@scripts/bench.sh

docs:
	sphinx-build -W -b html Documentation build/docs

deb:
	@scripts/package.sh deb

rpm:
	@scripts/package.sh rpm

selftests:
	$(MAKE) -C selftests KSFT_DIR=$$(scripts/kernel-tools.sh)/tools/testing/selftests

clean:
	rm -rf build dist
	rm -f src/*.o src/*.ko src/*.mod src/*.mod.c src/.*.cmd src/modules.order \
		src/backends/*.o src/backends/.*.cmd \
		src/Module.symvers src/.module-common.o
	$(MAKE) -C selftests clean
	$(MAKE) -C tools clean

.PHONY: all module install deps kernels demo check lint bench docs deb rpm selftests clean
