/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "basic/macro.h"
#include "basic/socket-path.h"
#include "ctl/ctl-hint.h"

/* 0: something listens; else the connect() errno. Non-blocking: a full
 * backlog reads as listening. */
static int probe_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return errno == EAGAIN ? 0 : errno;
        return 0;
}

void ctl_print_not_running_hint(FILE *f) {
        _cleanup_free_ char *path = NULL;
        int err;

        if (socket_path_default(&path) < 0)
                return;
        err = probe_socket(path);
        if (err == 0)
                fprintf(f, "Its MCP socket %s listens, so the daemon starts on the next connection (it exits\n"
                           "when idle). If it fails to start, see why: systemctl --user status lean-hostd;\n"
                           "journalctl --user -u lean-hostd -n 30\n", path);
        else if (err == ECONNREFUSED)
                fprintf(f, "Its MCP socket %s exists but nothing listens on it; start it with:\n"
                           "    systemctl --user start lean-hostd.socket\n"
                           "(see why it stopped: systemctl --user status lean-hostd.socket lean-hostd)\n", path);
        else
                fprintf(f, "No MCP socket at %s; start it with: systemctl --user start lean-hostd.socket\n"
                           "(enable it for every login: systemctl --user enable --now lean-hostd.socket)\n", path);
}
