/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "project/project.h"

#define STUB_MAX_PROJECTS 8

typedef struct StubProject {
        char root[256];
        char id[32];
        LhFacts facts;
        unsigned restart_calls, stop_calls;
        int action_result; /* returned by project_restart_worker()/project_stop_worker() */
        LeanReadinessCache readiness_cache;
        void *bus_data;
        void (*bus_data_free)(void *data);
} StubProject;

LhRegistry *stub_registry_new(void);
void stub_registry_free(LhRegistry *r);
StubProject *stub_project_add(LhRegistry *r, const char *root, const char *id);
void stub_registry_set(LhRegistry *r, unsigned workers_active, uint64_t restarts_total,
                       const uint64_t by_cause[static _RESTART_CAUSE_MAX]);
