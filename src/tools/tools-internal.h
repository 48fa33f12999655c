/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the tools (src/tools/ only): the context every ToolCall has,
 * the readiness gate, the worker stamps and smoke accounting, freshness. */

#include "config/config.h"
#include "lean/cache.h"
#include "lean/readiness.h"
#include "mcp/mcp.h"
#include "project/project.h"
#include "project/provision.h"
#include "tools/envelope.h"
#include "tools/tools.h"
#include "tools/tools-watch.h"

/* What a project's worker generation was started against (for "stale"):
 * one record per project, kept on it (project_get_tools_data()). */
typedef struct ToolsStamp {
        uint64_t worker_generation; /* 0 = the next worker: set when a job reports one */
        LeanProjectStamp stamp;
        /* The smoke check: the first jobs on a project state. Until one job has
         * succeeded with these files, a worker that dies on its own (exits,
         * aborts, breaks the protocol) makes the project "unusable" for a
         * while, with the worker's last words, instead of a crash loop. */
        bool smoke_ok;
        LeanProjectStamp smoke_stamp;
        char smoke_failure[512];
        usec_t smoke_failed_at;     /* CLOCK_MONOTONIC, 0 = none */
} ToolsStamp;

/* How long a smoke failure holds calls off before the next try. */
#define TOOLS_SMOKE_HOLD_USEC (60 * USEC_PER_SEC)

typedef struct ToolsPreflight ToolsPreflight;

/* A registered tool: the handler the dispatcher calls once the look-ups are
 * done (tool_call_handle()). */
typedef struct ToolsEntry {
        ToolsContext *ctx;
        McpToolHandler handler;
} ToolsEntry;

struct ToolsContext {
        LhRegistry *registry;
        sd_event *event; /* the daemon's loop (borrowed): threads, provisioning, releases */
        const LhConfig *config;
        LeanCache *cache; /* lean_module_query results */
        const char *elan_home; /* NULL: config lean.elan_home, $ELAN_HOME, ~/.elan (tests override) */
        ReplProvisioner *provisioner; /* builds the REPL for projects that have none */
        const McpToolDef *const *defs; /* the tools served (tools_list_defs(); tests add their own) */
        size_t n_defs;
        ToolsEntry *entries;
        ToolsPreflight *preflights;   /* calls whose look-ups run on a thread */
        ToolsPreflight *preflight;    /* the call being dispatched, its look-ups done */
        ToolsWatch *watch;            /* the warm path's cached look-ups (NULL: none) */
};

/* tools.c: the McpToolHandler registered for every tool (userdata: its
 * ToolsEntry): the preflight, then the entry's handler. */
int tools_dispatch(McpCall *call, void *userdata);

/* tools-preflight.c: resolve path and classify readiness on a thread, then
 * call handler(call, ctx) from the loop once done (0: under way or answered;
 * negative errno: nothing answered). */
int tools_preflight_start(ToolsContext *ctx, McpCall *call, McpToolHandler handler, const char *path);
void tools_preflight_abort_all(ToolsContext *ctx);
/* The classification done off the loop for p by the call being dispatched
 * (once): 0 with *ret, -ENODATA when there is none, or its negative errno. */
int tools_preflight_take(ToolsContext *ctx, LhProject *p, LeanReadiness *ret);
/* The project the preflight of call resolved (its "project" argument), while
 * call's handler runs; NULL otherwise (the handler resolves it itself). */
LhProject *tools_preflight_project(ToolsContext *ctx, McpCall *call);

/* Readiness gate before a project's job (tools.c). Classifies the project;
 * when the live worker is stale (lake-manifest.json or lean-toolchain
 * changed since it started) asks for a planned recycle and goes on. Returns
 * 0 with *ret filled (usable: ready/unknown_pin/stale-recycled; call
 * lean_readiness_done()), 1 when the call was answered with the readiness
 * error (code = the state name, body carries "readiness": {…, "fix"}),
 * negative errno on OOM (nothing answered). */
int tools_check_readiness(ToolsContext *ctx, McpCall *call, LhProject *p, const LhProjectView *view,
                          LeanReadiness *ret);

/* Remember what the worker generation that served a job was started
 * against: stamp as read by tools_check_readiness() before the job. */
void tools_note_worker_stamp(ToolsContext *ctx, LhProject *p, uint64_t worker_generation,
                             const LeanProjectStamp *stamp);
/* Every tool's JobOps.done: the worker stamp (stale detection) and the
 * smoke accounting. stamp: what readiness found before the job. */
void tools_note_job_end(ToolsContext *ctx, LhProject *p, const LeanProjectStamp *stamp, const LhFacts *facts,
                        const LhError *err);
/* lean_readiness_classify(), plus a recent smoke failure of p (unusable), plus
 * the REPL provisioner's state for a project without a REPL (provisioning,
 * provision_failed; a build starts here unless provision is false: status
 * reports a running or failed REPL build, never starts one). */
int tools_classify_full(ToolsContext *ctx, LhProject *p, LeanReadinessInput *in, bool provision,
                        LeanReadiness *ret);
const LeanProjectStamp *tools_get_worker_stamp(ToolsContext *ctx, LhProject *p, uint64_t worker_generation);

/* The full freshness envelope (lean/readiness.h lean_freshness_to_json())
 * for a job's reply: stamp and advisories from the readiness check (NULL:
 * no freshness; the files are never read on the loop). */
json_object *tools_freshness(const char *root, const LeanReadiness *readiness, char * const *imports,
                             const LhFacts *facts, int env);

/* The tools themselves: tool-lean-*.c, on the call base (call-base.h). */
