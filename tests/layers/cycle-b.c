/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The other half of the planted cycle (see cycle-a.c). */

int layers_cycle_a(int n);
int layers_cycle_b(int n);

int layers_cycle_b(int n) {
        return n <= 0 ? 1 : layers_cycle_a(n - 1);
}
