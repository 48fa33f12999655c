/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The job of lean_declaration_verify and lean_declaration_verify_batch
 * (tool-verify.c): per item, its code, then `#print axioms`; one job, one
 * import set. The tools' files hold their tables and call
 * tool_verify_call(); their ToolOps are tool_verify_start/step/state_free
 * with a VerifyJob state. */

#include "tools/call-base.h"

typedef enum VerifyPhase {
        VERIFY_PHASE_CODE,
        VERIFY_PHASE_AXIOMS,
} VerifyPhase;

typedef struct VerifyItem {
        char *name;
        char *body;             /* the code with its header blanked; NULL: no code */
        char **imports;         /* effective imports of this item */
        char **allowed;
        const char *error_code; /* static; set: not run */
        char *error_message;

        /* outcome (reset on a retry) */
        bool compiled, found, has_sorry, repl_failed;
        int env;
        json_object *messages;
        char **axioms;
} VerifyItem;

typedef struct VerifyJob {
        bool batch;
        VerifyItem *items;
        size_t n_items;
        size_t current;
        VerifyPhase phase;
} VerifyJob;

/* The arguments (the call's, or each of "items" for the batch) → the job,
 * or the answer (an invalid single item, a batch without a runnable item). */
int tool_verify_call(ToolCall *tc, bool batch);
int tool_verify_start(ToolCall *tc, LhJob *job, json_object **ret_command);
int tool_verify_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command);
void tool_verify_state_free(void *state);
