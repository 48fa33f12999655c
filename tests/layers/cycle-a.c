/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A planted call cycle for check-layers' own test: cycle-a.c calls
 * cycle-b.c, which calls back. Never linked into anything. */

int layers_cycle_a(int n);
int layers_cycle_b(int n);

int layers_cycle_a(int n) {
        return n <= 0 ? 0 : layers_cycle_b(n - 1);
}
