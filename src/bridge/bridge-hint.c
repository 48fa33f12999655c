/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What to tell a user whose daemon does not answer: look at what is true
 * (is there a socket file, does a user manager run) rather than always
 * suggesting to enable a socket that may well be enabled already. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "basic/macro.h"
#include "bridge/bridge.h"

static bool user_manager_runs(void) {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (isempty(rt) || asprintf(&p, "%s/systemd/private", rt) < 0)
                return false;
        return stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

void bridge_print_hint(const char *path, bool explicit_path, int err) {
        bool um = user_manager_runs();

        if (err == ENOENT) {
                fprintf(stderr, "lean-host-mcp: no socket at %s: the daemon is not running.", path);
                if (um && !explicit_path)
                        fprintf(stderr, " Start it with:\n"
                                        "    systemctl --user enable --now lean-hostd.socket\n"
                                        "(if it is enabled already, see why it stopped: systemctl --user status lean-hostd.socket)\n");
                else if (!explicit_path)
                        fprintf(stderr, " No systemd user manager runs here ($XDG_RUNTIME_DIR/systemd/private is missing);\n"
                                        "start the daemon by hand:\n"
                                        "    lean-hostd --listen %s &\n"
                                        "(in a session with a user manager: systemctl --user enable --now lean-hostd.socket)\n",
                                path);
                else
                        fprintf(stderr, " Start it with:\n    lean-hostd --listen %s &\n", path);
        } else if (err == ECONNREFUSED) {
                fprintf(stderr, "lean-host-mcp: %s exists but nothing listens on it: the daemon that made it is gone.\n",
                        path);
                if (um)
                        fprintf(stderr, "If lean-hostd.socket is yours, see why: systemctl --user status lean-hostd.socket lean-hostd\n"
                                        "and journalctl --user -u lean-hostd; then: systemctl --user restart lean-hostd.socket\n"
                                        "Otherwise start it by hand: lean-hostd --listen %s &\n", path);
                else
                        fprintf(stderr, "Start it again: lean-hostd --listen %s &\n", path);
        } else if (err == 0 || err == ECONNRESET) {
                fprintf(stderr, "lean-host-mcp: lean-hostd accepted the connection and closed it without answering: it "
                                "failed to start (a configuration error exits 78 and is not restarted).\n");
                if (um)
                        fprintf(stderr, "See why: systemctl --user status lean-hostd; journalctl --user -u lean-hostd -n 30\n"
                                        "then, after the fix: systemctl --user restart lean-hostd.socket\n");
                else
                        fprintf(stderr, "See the log of the lean-hostd you started (lean-hostd --dump-config checks the configuration).\n");
        } else if (err == EACCES || err == EPERM)
                fprintf(stderr, "lean-host-mcp: no permission to connect to %s: it must belong to you.\n", path);
}
