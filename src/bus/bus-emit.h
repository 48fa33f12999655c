/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Coalesced PropertiesChanged. Owns: which objects are dirty, the values
 * last signalled per project, the one defer source that emits. Knows
 * nothing of the actor: changes are marked here (as often as they happen)
 * and signalled once per object when the loop has nothing more urgent to
 * do, naming only the properties whose values differ from what was last
 * signalled. Reads facts through the project API only. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "project/project.h"

typedef struct BusEmitter BusEmitter;

typedef enum BusManagerChange {
        BUS_MANAGER_CHANGE_WORKERS = 1 << 0,  /* WorkersActive, EnforcementMode */
        BUS_MANAGER_CHANGE_RESTARTS = 1 << 1, /* RestartsTotal, RestartsByCause */
} BusManagerChange;

int bus_emitter_new(BusEmitter **ret, sd_bus *bus, sd_event *event, LhRegistry *registry);
BusEmitter *bus_emitter_free(BusEmitter *e);

void bus_emitter_project_changed(BusEmitter *e, LhProject *p, ProjectChange what);
void bus_emitter_project_removed(BusEmitter *e, LhProject *p); /* pending changes are dropped */
void bus_emitter_manager_changed(BusEmitter *e, BusManagerChange what);
/* Emit what is pending now (before the connection goes, in tests). */
void bus_emitter_flush(BusEmitter *e);
