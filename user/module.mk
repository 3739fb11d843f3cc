# SPDX-License-Identifier: GPL-2.0-only
# user/: shared library code, the IHM agent (ihmd) and the presage CLI.

LIB_OBJS := $(BUILD)/user/lib/log.o $(BUILD)/user/lib/fsutil.o $(BUILD)/user/lib/json.o \
	$(BUILD)/user/lib/netns.o $(BUILD)/user/lib/capbuf.o $(BUILD)/user/lib/jsonread.o \
	$(BUILD)/user/lib/numparse.o
$(BUILD)/libpresage.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

# Parts add their command objects to CLI_OBJS (and link flags to CLI_LIBS).
CLI_OBJS += $(BUILD)/user/cli.o
# The controller's CLI (status, pops, links, predict, events, history) and
# the controller forms of mirror plan|list and dns show (user/lib/cli_ctl.h).
CTL_CLI_OBJS := $(BUILD)/user/cli_ctl.o $(BUILD)/user/ctl_client.o $(BUILD)/user/table.o
CLI_OBJS += $(CTL_CLI_OBJS)
CLI_LIBS += -lcurl -ljson-c
$(BUILD)/presage: $(CLI_OBJS) $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libpresage.a $(CLI_LIBS) $(BPF_LIBS) -lm

BINS += $(BUILD)/presage

# tests/t-cli-ctl.sh runs the controller forms of mirror plan|list and dns
# show through this driver until the mirror and dns dispatchers call them.
$(BUILD)/tests/cli-ctl-hooks: $(BUILD)/tests/cli-ctl-hooks.o $(CTL_CLI_OBJS) $(BUILD)/user/lib/capbuf.o $(BUILD)/user/lib/jsonread.o \
	$(BUILD)/user/lib/numparse.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcurl -ljson-c -lm
TEST_BINS += $(BUILD)/tests/cli-ctl-hooks

# The IHM agent's health API (store, HTTP server, Prometheus metrics).
API_OBJS := $(BUILD)/user/store.o $(BUILD)/user/api.o $(BUILD)/user/metrics.o
API_LIBS := -lmicrohttpd -lgnutls -lpthread
PRESAGE_VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/user/api.o: CFLAGS += -DPRESAGE_VERSION='"$(PRESAGE_VERSION)"'

# The IHM agent.
IHMD_OBJS := $(BUILD)/user/ihmd.o $(BUILD)/user/config.o $(BUILD)/user/dataplane.o \
	$(BUILD)/user/health.o $(BUILD)/user/nlmon.o $(BUILD)/user/nltab.o $(BUILD)/user/probe.o \
	$(API_OBJS)
$(BUILD)/ihmd: $(IHMD_OBJS) $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(IHMD_OBJS) $(BUILD)/libpresage.a $(API_LIBS) $(BPF_LIBS) -lmnl -lpthread -lm
BINS += $(BUILD)/ihmd

# Loss injection for tests and the lab.
$(BUILD)/presage-dropper: $(BUILD)/user/dropper.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS) -lm
BINS += $(BUILD)/presage-dropper

# Unit test of the probe module's pure parts (RTT summary, echo codec).
$(BUILD)/tests/t-probe-stats: $(BUILD)/tests/t-probe-stats.o $(BUILD)/user/probe.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS) -lm -lpthread
TEST_BINS += $(BUILD)/tests/t-probe-stats

# The controller (docs/controller.md): polls agents, PFA, state machine,
# journal in SQLite, DNS and mirror actions, read-only API.
CMMD_CORE_OBJS := $(BUILD)/user/cmm_config.o $(BUILD)/user/cmm_engine.o $(BUILD)/user/cmm_db.o \
	$(BUILD)/user/cmm_journal.o \
	$(BUILD)/user/config.o
CMMD_OBJS := $(BUILD)/user/cmmd.o $(BUILD)/user/cmm_poll.o $(BUILD)/user/cmm_act.o \
	$(BUILD)/user/cmm_api.o $(CMMD_CORE_OBJS)
CMMD_LIBS := -lcurl -ljson-c -lsqlite3 -lmicrohttpd -lrsync -lssl -lcrypto -lpthread -lm $(BPF_LIBS)
$(BUILD)/user/cmm_api.o: CFLAGS += -DPRESAGE_VERSION='"$(PRESAGE_VERSION)"'
$(BUILD)/cmmd: $(CMMD_OBJS) $(BUILD)/libpfa.a $(BUILD)/libmirror.a $(BUILD)/libpresage-dns.a \
		$(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CMMD_OBJS) $(BUILD)/libpfa.a $(BUILD)/libmirror.a \
		$(BUILD)/libpresage-dns.a $(BUILD)/libpresage.a $(CMMD_LIBS)
BINS += $(BUILD)/cmmd

# The state machine and its journal on a real SQLite file, with a fake clock.
$(BUILD)/tests/t-cmm-engine: $(BUILD)/tests/t-cmm-engine.o $(CMMD_CORE_OBJS) $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lsqlite3 -lm $(BPF_LIBS)
TEST_BINS += $(BUILD)/tests/t-cmm-engine

# The readers of the agent's health and events documents.
$(BUILD)/tests/t-cmm-wire: $(BUILD)/tests/t-cmm-wire.o $(BUILD)/user/cmm_poll.o $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcurl -ljson-c -lpthread -lm $(BPF_LIBS)
TEST_BINS += $(BUILD)/tests/t-cmm-wire
