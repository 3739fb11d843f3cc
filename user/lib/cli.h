/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The `presage` command line is one binary whose subcommands live with the
 * part they belong to (dns/, pfa/, mirror/, user/). Each part registers its
 * commands from a constructor, so adding a command touches no shared file:
 *
 *   static int cmd_replay(int argc, char **argv) { ... }
 *   CLI_COMMAND(replay, "replay", "replay a health trace through PFA", cmd_replay);
 *
 * A command gets argv with argv[0] set to its own name, and returns the
 * process exit status. Every command handles --help itself.
 */
#ifndef PRESAGE_CLI_H
#define PRESAGE_CLI_H

#include <stdbool.h>

struct cli_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	struct cli_cmd *next;
};

void cli_register(struct cli_cmd *cmd);

/* Set by the global option -j/--json before the command runs. */
extern bool cli_json;
/* Set by the global option --socket PATH: the controller's control socket. */
extern const char *cli_socket;

#define CLI_COMMAND(id, name_, summary_, fn)                                                      \
	static struct cli_cmd cli_cmd_##id = { .name = name_, .summary = summary_, .run = fn };   \
	static void __attribute__((constructor)) cli_register_##id(void)                          \
	{                                                                                          \
		cli_register(&cli_cmd_##id);                                                       \
	}

#endif
