# SPDX-License-Identifier: GPL-2.0-only
# vmtest/: the BPF tests under another kernel in qemu (vmtest/run.sh).
#   make vmtest                          Debian 12's 6.1 kernel from /boot
#   make vmtest KERNEL=/path/to/vmlinuz  another kernel (its modules in
#                                        /lib/modules/<version>)
#   make vmtest VMTEST_FULL=1            the tests' full variants
#   make vmtest VMTESTS="t-bpf-prog"     some tests only
# The initramfs is built at run time into $(BUILD)/vmtest/.

.PHONY: vmtest
vmtest: all
	$(Q)BUILD=$(BUILD) vmtest/run.sh $(if $(KERNEL),--kernel $(KERNEL)) \
		$(if $(filter 1,$(VMTEST_FULL)),--full) $(VMTESTS)
