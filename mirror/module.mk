# SPDX-License-Identifier: GPL-2.0-only
# mirror/: content store, delta sync between agents, hot content, planner.
#   $(BUILD)/libmirror.a        the library (the controller links it)
#   $(BUILD)/presage-mirrord    per-POP content agent
#   presage mirror ...          CLI command
#   make fuzz-mirror            libFuzzer targets into build-fuzz/

MIRROR_LIB_SRCS := mirror/store.c mirror/proto.c mirror/delta.c mirror/order.c \
	mirror/tls.c mirror/agent.c mirror/plan.c mirror/hot.c mirror/opts.c mirror/ctl.c mirror/run.c
MIRROR_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(MIRROR_LIB_SRCS))
MIRROR_LIBS := -lrsync -lssl -lcrypto -lpthread -lm $(BPF_LIBS)

$(BUILD)/libmirror.a: $(MIRROR_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/presage-mirrord: $(BUILD)/mirror/mirrord.o $(BUILD)/libmirror.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(MIRROR_LIBS)
BINS += $(BUILD)/libmirror.a $(BUILD)/presage-mirrord

CLI_OBJS += $(BUILD)/mirror/cmd.o $(BUILD)/libmirror.a
CLI_LIBS += $(MIRROR_LIBS)

# C tests.
MIRROR_TESTS := t-mirror-store t-mirror-proto t-mirror-hot t-mirror-plan t-mirror-ctl-wire
$(foreach t,$(MIRROR_TESTS),$(eval $(BUILD)/tests/$(t): $(BUILD)/tests/$(t).o $(BUILD)/libmirror.a $(BUILD)/libpresage.a))
$(addprefix $(BUILD)/tests/,$(MIRROR_TESTS)):
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(MIRROR_LIBS)
TEST_BINS += $(addprefix $(BUILD)/tests/,$(MIRROR_TESTS))

# Fuzz targets: the same LLVMFuzzerTestOneInput, linked to libFuzzer with
# clang for `make fuzz-mirror`, and to a replay main for `make test`, which
# feeds every file of the committed seed corpora.
MIRROR_FUZZ := proto delta
$(BUILD)/tests/t-mirror-fuzz-replay: $(BUILD)/mirror/fuzz/replay.o \
		$(foreach f,$(MIRROR_FUZZ),$(BUILD)/mirror/fuzz/fuzz-$(f).o) \
		$(BUILD)/libmirror.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(MIRROR_LIBS)
TEST_BINS += $(BUILD)/tests/t-mirror-fuzz-replay

FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -O1 -g -std=gnu11 -D_GNU_SOURCE -DMIRROR_LIBFUZZER -Iuser/lib -I. \
	-fsanitize=fuzzer,address,undefined
MIRROR_FUZZ_SRCS := $(MIRROR_LIB_SRCS) user/lib/log.c user/lib/fsutil.c

.PHONY: fuzz-mirror
fuzz-mirror: $(foreach f,$(MIRROR_FUZZ),$(FUZZ_BUILD)/fuzz-mirror-$(f))
	@echo "run e.g.: $(FUZZ_BUILD)/fuzz-mirror-proto -max_total_time=60 mirror/fuzz/corpus-proto"

# Replay main: every file of both seed corpora, for `make test`.

$(FUZZ_BUILD)/fuzz-mirror-%: mirror/fuzz/fuzz-%.c $(MIRROR_FUZZ_SRCS) mirror/mirror.h
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(MIRROR_FUZZ_SRCS) $(MIRROR_LIBS)
