// SPDX-License-Identifier: GPL-2.0-only
#include "cli.h"
static int cmd_mirror(int argc, char **argv) { return 0; }
CLI_COMMAND(mirror, "mirror", "content mirroring between POPs", cmd_mirror);
