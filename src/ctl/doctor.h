/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* `lean-hostctl doctor [PROJECT]`: checks what a real machine needs for
 * lean-host, one line per check with the fix for each failure (or one JSON
 * object with --json). argv[0] is "doctor". Returns 0 when nothing failed
 * (warnings allowed), 1 otherwise, 2 for a usage error. Needs no bus: a
 * missing one is a finding, not an error. */
int doctor_run(int argc, char *argv[], bool json, bool color);
