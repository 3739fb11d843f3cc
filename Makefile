# SPDX-License-Identifier: GPL-2.0-only
#
# presage: one Makefile for the whole tree. Each part (user/, pfa/, dns/,
# mirror/, tests/) describes its own objects and binaries in a module.mk
# that is included below, so adding a part touches no shared file.
#
#   make            build everything (BPF objects, skeletons, binaries)
#   make test       run every test, ends with "N passed, N failed, N skipped"
#   make bench      benchmarks (ratios against a baseline in the same run)
#   make demo       the whole mission on the three-POP lab, with an HTML report
#   make demo-agent the one-POP lab with the agent's live health table
#   make vmtest     the BPF tests on Debian 12's 6.1 kernel in qemu
#   make SAN=1 ...  user space with ASan and UBSan (into build-san/)
#   make V=1 ...    show full commands

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
.SUFFIXES:

V ?= 0
SAN ?= 0
PREFIX ?= /usr/local
DESTDIR ?=

ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-7s %s\n' "$(1)" "$(2)";
MAKEFLAGS += --no-print-directory
endif

CC := gcc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')

# User space: warnings are errors, as in the BPF build.
CFLAGS := -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-Wno-unused-parameter -Wno-missing-field-initializers -Wshadow -Wformat=2 -fno-strict-aliasing \
	-I$(BUILD) -Ibpf -Iuser/lib -I. $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)
BPF_LIBS := -lxdp -lbpf -lelf -lz

# BPF: CO-RE objects built against the running kernel's BTF.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Wno-unused-function -I$(BUILD) -Ibpf

# Filled in by the module.mk files.
BINS :=
TEST_BINS :=
BENCH_BINS :=
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# Dependencies are installed by one script, once per change of the script.
DEPS_STAMP := $(BUILD)/.deps-ok
$(DEPS_STAMP): scripts/deps.sh
	$(call msg,DEPS,scripts/deps.sh)
	$(Q)mkdir -p $(@D) && scripts/deps.sh && touch $@

$(BUILD)/vmlinux.h: | $(DEPS_STAMP)
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)if [ ! -r /sys/kernel/btf/vmlinux ]; then \
		echo "error: /sys/kernel/btf/vmlinux is missing: this kernel was built without BTF (CONFIG_DEBUG_INFO_BTF=y is needed)" >&2; exit 1; fi
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.h bpf/lib/*.h)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# Every user-space object may include a skeleton; build those first.
$(BUILD)/%.o: %.c | $(DEPS_STAMP) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

include $(sort $(wildcard */module.mk))


.PHONY: all test bench demo demo-agent install clean help deps fmt
all: $(BPF_OBJS) $(SKELS) $(BINS) $(TEST_BINS)

deps:
	$(Q)scripts/deps.sh

test: all
	$(Q)BUILD=$(BUILD) tests/run.sh $(T)

bench: all $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) scripts/bench.sh

demo: all
	$(Q)BUILD=$(BUILD) scripts/scenario.sh --report $(BUILD)/demo-report.html

demo-agent: all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

install: all
	$(Q)BUILD=$(BUILD) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) UNITDIR=$(UNITDIR) CONFDIR=$(CONFDIR) scripts/install.sh

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf build build-san build-fuzz

fmt:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

help:
	@echo 'targets:'
	@echo '  all      build BPF objects, skeletons, binaries (default)'
	@echo '  test     run every test (T=pattern selects some)'
	@echo '  bench    benchmarks; ratios against baselines measured in the same run'
	@echo '  demo     bring up the lab and show live interconnect health'
	@echo '  install  install binaries, example config, systemd unit (PREFIX, DESTDIR)'
	@echo '  vmtest   the BPF tests on Debian 12'"'"'s 6.1 kernel in qemu (KERNEL=/path/to/vmlinuz for another)'
	@echo '  fuzz-dns fuzz-pfa fuzz-mirror  libFuzzer targets (into build-fuzz/)'
	@echo '  clean    remove build trees'
	@echo 'variables: V=1 (show commands), SAN=1 (ASan+UBSan build in build-san/)'

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
