/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "synth.h"

static int project_local(int x) {
        return x * 2;
}

int project_step(int x) {
        return worker_run(x) + worker_run(x + 1) + project_local(x);
}
