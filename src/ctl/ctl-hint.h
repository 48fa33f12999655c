/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

/* What "lean-hostd is not running on the user bus" should be followed by:
 * looks at the MCP socket (listening? a stale file? none?) and says the
 * command that fits, rather than always "start the socket". */
void ctl_print_not_running_hint(FILE *f);
