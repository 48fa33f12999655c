/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The trace's synthetic program: main (mcp) calls down into project three
 * times; each project call makes two calls down to worker and one in its own
 * file; each worker call calls back up into mcp. test-trace.py knows the
 * counts this must give. */
#include "synth.h"

int mcp_callback(int x) {
        return x + 1;
}

int main(void) {
        int sum = 0;

        for (int i = 0; i < 3; i++)
                sum += project_step(i);
        return sum == 0 ? 1 : 0;
}
