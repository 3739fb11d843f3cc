/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CLI's side of the controller's API (docs/controller.md "API"): HTTP
 * over cmmd's control socket. `status`, `pops`, `links`, `predict`, `events`
 * and `history` register themselves (user/cli_ctl.c); the three below are
 * the controller forms of `presage mirror plan|list` and `presage dns show`,
 * called by those dispatchers when no offline option (--topology, --server)
 * is given.
 *
 * Each takes argv with argv[0] set to its subcommand name ("plan", "list",
 * "show"), honours cli_json, -j, --socket PATH and --help, and returns the
 * process exit status: 0, 1 on any failure (the reason printed on stderr),
 * 2 on a usage error.
 */
#ifndef PRESAGE_CLI_CTL_H
#define PRESAGE_CLI_CTL_H

#define CTL_SOCKET_DEFAULT "/run/presage/cmmd.sock"

/* presage mirror plan [POP]: GET /v1/mirror/plan[?pop=POP] */
int ctl_cmd_mirror_plan(int argc, char **argv);
/* presage mirror list: GET /v1/mirror/jobs */
int ctl_cmd_mirror_list(int argc, char **argv);
/* presage dns show [NAME]: GET /v1/dns (NAME: only that hostname) */
int ctl_cmd_dns_show(int argc, char **argv);

#endif
