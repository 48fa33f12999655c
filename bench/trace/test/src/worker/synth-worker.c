/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "synth.h"

int worker_run(int x) {
        return mcp_callback(x);
}
