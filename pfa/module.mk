# SPDX-License-Identifier: GPL-2.0-only
# pfa/: predictive failure analysis. libpfa.a is the library the controller
# links (core without I/O, plus CSV reader, synthetic traces, evaluation and
# state files); the replay and synth commands go into the presage CLI.

PFA_LIB_SRCS := pfa/model.c pfa/serialize.c pfa/state.c pfa/csv.c pfa/synth.c \
	pfa/baseline.c pfa/eval.c pfa/config.c
PFA_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(PFA_LIB_SRCS))

$(BUILD)/libpfa.a: $(PFA_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

CLI_OBJS += $(BUILD)/pfa/cmd_replay.o $(BUILD)/pfa/cmd_synth.o $(BUILD)/libpfa.a
CLI_LIBS += -lm

# C tests: each links the library and the shared helpers.
PFA_TESTS := t-pfa-model t-pfa-csv t-pfa-accept t-pfa-state t-pfa-config t-pfa-maint
$(foreach t,$(PFA_TESTS),$(eval $(BUILD)/tests/$(t): $(BUILD)/tests/$(t).o $(BUILD)/libpfa.a $(BUILD)/libpresage.a))
$(addprefix $(BUILD)/tests/,$(PFA_TESTS)):
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS) -lm
TEST_BINS += $(addprefix $(BUILD)/tests/,$(PFA_TESTS))

# The fuzz target's entry point, replayed over the committed seed corpus
# with the normal compiler, so `make test` runs every seed.
$(BUILD)/tests/t-pfa-fuzz-replay: $(BUILD)/pfa/fuzz/fuzz_csv.o $(BUILD)/tests/t-pfa-fuzz-replay.o \
		$(BUILD)/libpfa.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS) -lm
TEST_BINS += $(BUILD)/tests/t-pfa-fuzz-replay
$(BUILD)/tests/t-pfa-fuzz-config-replay: $(BUILD)/pfa/fuzz/fuzz_config.o \
		$(BUILD)/tests/t-pfa-fuzz-config-replay.o $(BUILD)/libpfa.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS) -lm
TEST_BINS += $(BUILD)/tests/t-pfa-fuzz-config-replay

# The benchmark binary, run by scripts/bench-pfa.sh.
$(BUILD)/pfa/bench-pfa: $(BUILD)/pfa/bench.o $(BUILD)/libpfa.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS) -lm
BENCH_BINS += $(BUILD)/pfa/bench-pfa
all: $(BUILD)/libpfa.a

# libFuzzer builds of the CSV reader and the config parser (clang, ASan),
# outside $(BUILD):
#   make fuzz-pfa [FUZZ_SECS=60]   builds build-fuzz/fuzz-pfa-{csv,config}
#                                  and runs each for FUZZ_SECS
FUZZ_BUILD := build-fuzz
FUZZ_SECS ?= 60
PFA_FUZZ_SRCS := pfa/fuzz/fuzz_csv.c $(PFA_LIB_SRCS) user/lib/fsutil.c
$(FUZZ_BUILD)/fuzz-pfa-csv: $(PFA_FUZZ_SRCS) $(wildcard pfa/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -Iuser/lib -I. \
		-fsanitize=fuzzer,address,undefined -o $@ $(PFA_FUZZ_SRCS) -lm

PFA_FUZZ_CFG_SRCS := pfa/fuzz/fuzz_config.c $(PFA_LIB_SRCS) user/lib/fsutil.c
$(FUZZ_BUILD)/fuzz-pfa-config: $(PFA_FUZZ_CFG_SRCS) $(wildcard pfa/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -Iuser/lib -I. \
		-fsanitize=fuzzer,address,undefined -o $@ $(PFA_FUZZ_CFG_SRCS) -lm

.PHONY: fuzz-pfa
fuzz-pfa: $(FUZZ_BUILD)/fuzz-pfa-csv $(FUZZ_BUILD)/fuzz-pfa-config
	$(Q)mkdir -p $(FUZZ_BUILD)/corpus-pfa $(FUZZ_BUILD)/corpus-pfa-config
	$(FUZZ_BUILD)/fuzz-pfa-csv -max_total_time=$(FUZZ_SECS) -max_len=4096 \
		$(FUZZ_BUILD)/corpus-pfa pfa/fuzz/corpus
	$(FUZZ_BUILD)/fuzz-pfa-config -max_total_time=$(FUZZ_SECS) -max_len=2048 \
		$(FUZZ_BUILD)/corpus-pfa-config pfa/fuzz/corpus-config
