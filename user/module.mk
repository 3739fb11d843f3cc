# SPDX-License-Identifier: GPL-2.0-only
# user/: shared library code, the IHM agent (ihmd) and the presage CLI.

LIB_OBJS := $(BUILD)/user/lib/log.o $(BUILD)/user/lib/fsutil.o
$(BUILD)/libpresage.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

# Parts add their command objects to CLI_OBJS (and link flags to CLI_LIBS).
CLI_OBJS += $(BUILD)/user/cli.o
$(BUILD)/presage: $(CLI_OBJS) $(BUILD)/libpresage.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libpresage.a $(CLI_LIBS) $(BPF_LIBS) -lm

BINS += $(BUILD)/presage
