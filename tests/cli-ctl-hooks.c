// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runs the controller forms of `mirror plan`, `mirror list` and `dns show`
 * (user/lib/cli_ctl.h) before the mirror and dns dispatchers call them:
 *
 *   cli-ctl-hooks plan|list|show [ARGS...]
 *
 * argv reaches the function as a dispatcher passes it: argv[0] is the
 * subcommand's name. Used by tests/t-cli-ctl.sh; not a test by itself.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_ctl.h"

bool cli_json;
const char *cli_socket;

/* The registered commands of cli_ctl.c are not run from here. */
void cli_register(struct cli_cmd *cmd)
{
	(void)cmd;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "plan"))
		return ctl_cmd_mirror_plan(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return ctl_cmd_mirror_list(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "show"))
		return ctl_cmd_dns_show(argc - 1, argv + 1);
	fprintf(stderr, "usage: cli-ctl-hooks plan|list|show [ARGS...]\n");
	return 2;
}
