// SPDX-License-Identifier: GPL-2.0-only
/*
 * presage: the operator's command line. Subcommands are registered by the
 * parts they belong to (see user/lib/cli.h); this file only dispatches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

bool cli_json;
const char *cli_socket;
static struct cli_cmd *cmds;

void cli_register(struct cli_cmd *cmd)
{
	struct cli_cmd **pp = &cmds;

	/* Keep the list sorted so --help is stable. */
	while (*pp && strcmp((*pp)->name, cmd->name) < 0)
		pp = &(*pp)->next;
	cmd->next = *pp;
	*pp = cmd;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: presage [-j|--json] [-v|--verbose] [--socket PATH] COMMAND [ARGS...]\n"
		   "       presage COMMAND --help\n\n"
		   "Commands:\n");
	for (struct cli_cmd *c = cmds; c; c = c->next)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\nGlobal options:\n"
		   "  -j, --json     machine-readable JSON output\n"
		   "  -v, --verbose  more log output (repeat for debug)\n"
		   "  --socket PATH  the controller's control socket (default $PRESAGE_SOCKET,\n"
		   "                 else /run/presage/cmmd.sock)\n"
		   "  -h, --help     this help\n");
}

int main(int argc, char **argv)
{
	int i, verbose = 0;

	log_set_ident("presage");
	log_hook_libbpf();
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			cli_json = true;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose++;
		} else if (!strcmp(argv[i], "--socket")) {
			if (++i >= argc) {
				fprintf(stderr, "presage: --socket needs a path\n");
				return 2;
			}
			cli_socket = argv[i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			cli_socket = argv[i] + 9;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "presage: unknown option '%s' (see presage --help)\n", argv[i]);
			return 2;
		}
	}
	if (verbose)
		log_set_level(verbose > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	else
		log_set_level(LOG_LVL_WARN);
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (struct cli_cmd *c = cmds; c; c = c->next) {
		if (!strcmp(c->name, argv[i])) {
			/* Commands also accept -j after their name. */
			return c->run(argc - i, argv + i);
		}
	}
	fprintf(stderr, "presage: unknown command '%s' (see presage --help)\n", argv[i]);
	return 2;
}
