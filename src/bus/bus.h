/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.leanhost.Host1 on the user bus: the Manager object, one Project object
 * per known project, ObjectManager, WorkerRestarted. Reads facts through the
 * project API only; never computes them. The manager forwards registry
 * events here (registry → manager → bus), so this module is never called
 * from below. */

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "config/config.h"
#include "project/project.h"

typedef struct BusService BusService;

/* Connects to the user bus (or the bus named by use_system), registers the
 * objects and requests the name asynchronously. *ret is NULL (and 0 is
 * returned) when there is no bus: the daemon runs without D-Bus then. */
int bus_service_new(BusService **ret, sd_event *event, LhRegistry *registry, const LhConfig *config, bool use_system);
BusService *bus_service_free(BusService *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusService *, bus_service_free);

void bus_service_project_added(BusService *b, LhProject *p);
void bus_service_project_changed(BusService *b, LhProject *p, ProjectChange what);
void bus_service_worker_restarted(BusService *b, LhProject *p, const RestartEvent *ev);
void bus_service_workers_changed(BusService *b);
