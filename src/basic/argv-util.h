/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>

/* What every program's parse_argv() shares: -h/--help, --version, getopt's
 * own errors, and no positional arguments. The program's own options are
 * numbered from ARGV_FIRST_OPTION:
 *
 *   enum { ARG_FOO = ARGV_FIRST_OPTION, ... };
 *   static const struct option options[] = { ARGV_COMMON_OPTIONS, { "foo", ... }, {} };
 *   while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
 *           switch (c) {
 *           case ARG_FOO: ...
 *           default:
 *                   return argv_common_option(c, "prog", help);
 *           }
 *   return argv_no_positional("prog", argc, argv); */

#define ARGV_VERSION 0x100
#define ARGV_FIRST_OPTION 0x101

#define ARGV_COMMON_OPTIONS                                   \
        { "help", no_argument, NULL, 'h' },                   \
        { "version", no_argument, NULL, ARGV_VERSION }

/* 1 after --help or --version (printed: exit 0), -EINVAL for getopt's '?'
 * (it printed why); aborts on anything else (an option not handled). */
int argv_common_option(int c, const char *program, void (*help)(void));

/* 0, or -EINVAL (printed) when positional arguments are left. */
int argv_no_positional(const char *program, int argc, char *argv[]);
