// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netns.h"

int netns_enter(const char *name)
{
	char path[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("network namespace '%s': cannot open %s: %s (create it with 'ip netns add %s')",
		       name, path, strerror(errno), name);
		return err;
	}
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		pr_err("cannot enter network namespace '%s': %s", name, strerror(errno));
	}
	close(fd);
	return err;
}
