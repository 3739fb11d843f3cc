# SPDX-License-Identifier: GPL-2.0-only
# dns/: RFC 2136 updates with TSIG (library, `presage dns`), its tests,
# libFuzzer targets (make fuzz-dns) and their seed-corpus replay.

DNS_LIB_SRCS := dns/errors.c dns/name.c dns/wire.c dns/rdata.c dns/tsig.c dns/key.c \
	dns/update.c dns/client.c dns/steer.c dns/config.c dns/edns.c
DNS_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(DNS_LIB_SRCS))
DNS_LIBS := -lcrypto -lpthread

$(BUILD)/libpresage-dns.a: $(DNS_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

CLI_OBJS += $(BUILD)/dns/cmd_dns.o
# libpresage.a again after ours: the linker reads archives left to right.
CLI_LIBS += $(BUILD)/libpresage-dns.a $(BUILD)/libpresage.a $(DNS_LIBS)
$(BUILD)/presage: $(BUILD)/libpresage-dns.a

# C tests: wire format and malformed table; client against fake responders.
DNS_TESTS := t-dns-wire t-dns-client t-dns-config
$(addprefix $(BUILD)/tests/,$(DNS_TESTS)): $(BUILD)/tests/%: $(BUILD)/tests/%.o \
		$(BUILD)/libpresage-dns.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DNS_LIBS) $(BPF_LIBS)
TEST_BINS += $(addprefix $(BUILD)/tests/,$(DNS_TESTS))

# The fuzz targets, built with the normal compiler under other entry names,
# replayed over their committed seed corpora by t-dns-fuzz-replay.
$(BUILD)/dns/fuzz/fuzz_parse.o: CFLAGS += -DFUZZ_ENTRY=dns_fuzz_parse
$(BUILD)/dns/fuzz/fuzz_tsig.o: CFLAGS += -DFUZZ_ENTRY=dns_fuzz_tsig
DNS_REPLAY_OBJS := $(BUILD)/tests/t-dns-fuzz-replay.o $(BUILD)/dns/fuzz/fuzz_parse.o \
	$(BUILD)/dns/fuzz/fuzz_tsig.o
$(BUILD)/tests/t-dns-fuzz-replay: $(DNS_REPLAY_OBJS) $(BUILD)/libpresage-dns.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DNS_LIBS) $(BPF_LIBS)
TEST_BINS += $(BUILD)/tests/t-dns-fuzz-replay

# libFuzzer: make fuzz-dns builds build-fuzz/dns-fuzz-{parse,tsig};
# run e.g. build-fuzz/dns-fuzz-parse -max_total_time=60 dns/fuzz/corpus/parse
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Iuser/lib -I. \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
DNS_FUZZ_DEPS := $(DNS_LIB_SRCS) user/lib/fsutil.c user/lib/log.c
$(FUZZ_BUILD)/dns-fuzz-%: dns/fuzz/fuzz_%.c $(DNS_FUZZ_DEPS) $(wildcard dns/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(DNS_FUZZ_DEPS) $(DNS_LIBS) $(BPF_LIBS)

.PHONY: fuzz-dns
fuzz-dns: $(FUZZ_BUILD)/dns-fuzz-parse $(FUZZ_BUILD)/dns-fuzz-tsig

# Benchmark driver for scripts/bench-dns.sh (make bench).
$(BUILD)/dns/dns-bench: $(BUILD)/dns/bench_dns.o $(BUILD)/libpresage-dns.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DNS_LIBS) $(BPF_LIBS)
BENCH_BINS += $(BUILD)/dns/dns-bench

# Test tool: sends deliberately malformed requests (FORMERR, NOTIMP) through
# dns_client__send_wire() for tests/t-dns-{bind,knot}.sh. Built with the
# tests, never installed.
$(BUILD)/dns/dns-raw: $(BUILD)/dns/raw_dns.o $(BUILD)/libpresage-dns.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DNS_LIBS) $(BPF_LIBS)
TEST_BINS += $(BUILD)/dns/dns-raw

# Test tool: N updates through one client, its counters as JSON (TCP
# connection reuse, EDNS fallback) for tests/t-dns-{bind,knot}.sh.
$(BUILD)/dns/dns-seq: $(BUILD)/dns/seq_dns.o $(BUILD)/libpresage-dns.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DNS_LIBS) $(BPF_LIBS)
TEST_BINS += $(BUILD)/dns/dns-seq

# Test tool: a rival writer between dns_steer__set()'s read and its UPDATE
# (the UPDATE is intercepted with --wrap) for tests/t-dns-{bind,knot}.sh.
$(BUILD)/dns/dns-race: $(BUILD)/dns/race_dns.o $(BUILD)/libpresage-dns.a $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -Wl,--wrap=dns_client__send -o $@ $^ $(DNS_LIBS) $(BPF_LIBS)
TEST_BINS += $(BUILD)/dns/dns-race
