/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean-hostctl: the operator's view of lean-hostd, over D-Bus only
 * (org.leanhost.Host1). Knows the bus API, nothing of the daemon's insides.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 lean-hostd not running. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "basic/macro.h"
#include "ctl/ctl.h"
#include "ctl/doctor.h"
#include "lh-build-config.h"

/* ------------------------------------------------------------------------
 * command line */

static void help(void) {
        printf("lean-hostctl [OPTIONS...] COMMAND ...\n\n"
               "Show and control lean-hostd, the Lean 4 worker host, through D-Bus.\n\n"
               "Commands:\n"
               "  status                 Show the daemon and one line per project\n"
               "  restarts [PROJECT]     Show worker restarts by cause (all projects, or one)\n"
               "  facts PROJECT          Show every runtime fact of a project\n"
               "  restart PROJECT        Recycle the project's worker (planned, cause \"explicit\")\n"
               "  stop PROJECT           Stop the project's worker (the next call starts one)\n"
               "  monitor                Follow worker restarts live, one line per event\n"
               "  doctor [PROJECT]       Check what lean-host needs on this machine (and for PROJECT)\n\n"
               "PROJECT is a Lake root, any path inside one, or a project id.\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --json              Machine-readable output (one JSON object per line)\n"
               "     --user              Talk to the daemon on the user bus (default)\n"
               "     --system            Talk to a system-wide daemon on the system bus\n\n"
               "Exit status: 0 success, 1 failure, 2 usage error, 3 lean-hostd not running.\n"
               "See lean-hostctl(1).\n");
}

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* including the verb */
        int (*run)(Ctl *c, int argc, char *argv[]);
} Verb;

static const Verb verbs[] = {
        { "status", 1, 1, verb_status },
        { "restarts", 1, 2, verb_restarts },
        { "facts", 2, 2, verb_facts },
        { "restart", 2, 2, verb_action },
        { "stop", 2, 2, verb_action },
        { "monitor", 1, 1, verb_monitor },
        { "doctor", 1, 2, NULL }, /* ctl/doctor.c: needs no bus */
};

/* 0: go on; 1: done (help/version); <0: usage error (printed). */
static int parse_argv(int argc, char *argv[], Ctl *c) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_USER, ARG_SYSTEM };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "user", no_argument, NULL, ARG_USER },
                { "system", no_argument, NULL, ARG_SYSTEM },
                {}
        };
        int o;

        while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (o) {
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        printf("lean-hostctl %s\n", PACKAGE_VERSION);
                        return 1;
                case ARG_JSON:
                        c->json = true;
                        break;
                case ARG_USER:
                        c->system = false;
                        break;
                case ARG_SYSTEM:
                        c->system = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }
        return 0;
}

int main(int argc, char *argv[]) {
        Ctl c = {};
        const Verb *verb = NULL;
        int r, n;

        r = parse_argv(argc, argv, &c);
        if (r != 0)
                return r > 0 ? EXIT_OK : EXIT_USAGE;

        n = argc - optind;
        if (n <= 0) {
                fprintf(stderr, "lean-hostctl: a command is required (status, restarts, facts, restart, stop, monitor, doctor); see --help.\n");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb) {
                fprintf(stderr, "lean-hostctl: unknown command '%s'; see --help.\n", argv[optind]);
                return EXIT_USAGE;
        }
        if (n < verb->min_args || n > verb->max_args) {
                fprintf(stderr, "lean-hostctl: '%s' takes %s; see --help.\n", verb->name,
                        verb->max_args == 1 ? "no argument" :
                        verb->min_args == verb->max_args ? "one PROJECT argument" : "at most one PROJECT argument");
                return EXIT_USAGE;
        }
        c.color = !c.json && ctl_color_wanted();
        if (!verb->run)
                return doctor_run(n, argv + optind, c.json, c.color);

        r = c.system ? sd_bus_open_system_with_description(&c.bus, "lean-hostctl")
                     : sd_bus_open_user_with_description(&c.bus, "lean-hostctl");
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the %s bus: %s\n", ctl_bus_name(&c), strerror(-r));
                if (!c.system)
                        fprintf(stderr, "(is DBUS_SESSION_BUS_ADDRESS or XDG_RUNTIME_DIR set? lean-hostd publishes its "
                                        "facts on the user bus only when there is one)\n");
                return EXIT_FAILED;
        }

        r = verb->run(&c, n, argv + optind);
        sd_bus_flush_close_unref(c.bus);
        return ctl_exit_code(r);
}
