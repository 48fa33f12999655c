/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/argv-util.h"
#include "lh-build-config.h"

int argv_common_option(int c, const char *program, void (*help)(void)) {
        assert(program);
        assert(help);

        switch (c) {
        case 'h':
                help();
                return 1;
        case ARGV_VERSION:
                printf("%s %s\n", program, PACKAGE_VERSION);
                return 1;
        case '?':
                return -EINVAL;
        default:
                abort();
        }
}

int argv_no_positional(const char *program, int argc, char *argv[]) {
        assert(program);

        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s'.\n", program, argv[optind]);
                return -EINVAL;
        }
        return 0;
}
