/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The REPL's file mode (leanprover-community/repl, REPL/Main.lean
 * processFile): {"path": P, "allTactics": true} reads P (relative to the
 * REPL's cwd, the project root) and runs it as one command in a fresh
 * session, so the file's own imports are processed. The reply is a command
 * reply (lean/lean-reply.h) whose "tactics" list holds every tactic with
 * its source range, the goals before it and the proof state before it
 * (REPL/JSON.lean Tactic). Recorded: tests/fixtures/lean-repl/file.in,
 * file2.in, file_env.in.
 *
 * Positions are the REPL's: lines 1-based, columns 0-based (codepoints). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "lean/lean-reply.h"

typedef struct LeanTactic {
        LeanPos pos;
        LeanPos end_pos;
        char *tactic;      /* the tactic's source text */
        char *goals;       /* the goals before it, pretty-printed ("" when none) */
        int proof_state;   /* the proof state before it, -1 when absent */
} LeanTactic;

/* {"path": path, "allTactics": true}. NULL on OOM. */
json_object *lean_file_command(const char *path);

/* Parse a reply's "tactics" array (LeanReply.tactics; NULL gives none).
 * Returns 0, -EBADMSG with *ret_error naming the member, -ENOMEM. */
int lean_tactics_parse(json_object *tactics, LeanTactic **ret, size_t *ret_n, char **ret_error);
LeanTactic *lean_tactics_free(LeanTactic *t, size_t n);
json_object *lean_tactic_to_json(const LeanTactic *t);

/* Why a file's reply does not cover the whole file, from what Lean
 * reported: NULL when the REPL answered for the whole file and no message
 * says elaboration stopped early. Otherwise a stable reason:
 *   "repl_error"    the REPL refused or failed the command (no file, an
 *                   exception: REPL/Main.lean processFile's catch)
 *   "lean_timeout"  a "(deterministic) timeout" message: the declaration
 *                   was abandoned at the heartbeat limit
 *   "recursion_limit" a "maximum recursion depth has been reached" message
 * *ret_message (optional): the index of the message that says so, or
 * (size_t) -1. A reply that never came (deadline, worker killed, reply too
 * large) is not a reply: the tool reports those as errors. */
const char *lean_file_unfinished_reason(const LeanReply *r, size_t *ret_message);

/* The innermost tactic containing (line, column): the one starting last,
 * ties broken by the earliest end. Returns its index, or -ENOENT. */
int lean_tactic_at(const LeanTactic *t, size_t n, unsigned line, unsigned column);
/* The sorry containing (line, column) (positions set), or -ENOENT. */
int lean_sorry_at(const LeanReply *r, unsigned line, unsigned column);
