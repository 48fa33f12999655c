/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A D-Bus method that names a project by path (GetProject, RestartWorker,
 * StopWorker): the path is resolved on a thread and the method answered
 * from the loop when that is done, so a hung mount never holds the loop. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "project/project.h"

typedef struct BusResolve BusResolve;

/* The method's continuation: p, or k < 0 with err (err->code NULL: no
 * details). Returns what a method handler returns: the reply is sent here,
 * or a negative errno / error is sent as the reply. */
typedef int (*BusResolveDone)(sd_bus_message *m, LhProject *p, int k, const LhError *err, void *userdata,
                              sd_bus_error *error);

/* Starts resolving path for method call m (a reference is kept): 1, and
 * done runs later; or negative errno (nothing started, the method fails). */
int bus_resolve_start(BusResolve **list, LhRegistry *r, sd_event *event, sd_bus_message *m, const char *path,
                      BusResolveDone done, void *userdata);
/* The service goes away: the pending methods are never answered (their bus
 * connection goes too), the look-ups are left to end alone. */
void bus_resolve_cancel_all(BusResolve **list);
