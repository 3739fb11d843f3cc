# SPDX-License-Identifier: GPL-2.0-only
# tests/: C tests of the shared library. Each $(BUILD)/tests/t-* binary is
# run by tests/run.sh.

$(BUILD)/tests/t-fsutil: $(BUILD)/tests/t-fsutil.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS)
TEST_BINS += $(BUILD)/tests/t-fsutil

$(BUILD)/tests/t-numparse: $(BUILD)/tests/t-numparse.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lm
TEST_BINS += $(BUILD)/tests/t-numparse

# BPF_PROG_TEST_RUN table of crafted packets.
$(BUILD)/tests/t-bpf-prog: $(BUILD)/tests/t-bpf-prog.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS)
TEST_BINS += $(BUILD)/tests/t-bpf-prog

# Data-plane benchmark (make bench).
$(BUILD)/bench/bench-bpf: $(BUILD)/tests/bench/bench-bpf.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS)
BENCH_BINS += $(BUILD)/bench/bench-bpf

# Forwarding benchmark through a router namespace (make bench, scripts/bench-fwd.sh).
$(BUILD)/bench/bench-fwd: $(BUILD)/tests/bench/bench-fwd.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS)
BENCH_BINS += $(BUILD)/bench/bench-fwd

# Flow-table sweep benchmark: batch vs per element (make bench, scripts/bench-flowmap.sh).
$(BUILD)/bench/bench-flowmap: $(BUILD)/tests/bench/bench-flowmap.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS)
BENCH_BINS += $(BUILD)/bench/bench-flowmap

# nlmon's route table and its accounting, fed crafted rtnetlink messages.
$(BUILD)/tests/t-nlmon-table: $(BUILD)/tests/t-nlmon-table.o $(BUILD)/user/nlmon.o \
		$(BUILD)/user/nltab.o $(BUILD)/user/config.o $(BUILD)/user/health.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS) -lmnl -lpthread -lm
TEST_BINS += $(BUILD)/tests/t-nlmon-table

# The health API's store and metrics formatting (no network).
$(BUILD)/tests/t-api-store: $(BUILD)/tests/t-api-store.o $(BUILD)/user/store.o \
		$(BUILD)/user/metrics.o $(BUILD)/user/config.o $(BUILD)/user/health.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS) -lpthread -lm
TEST_BINS += $(BUILD)/tests/t-api-store
