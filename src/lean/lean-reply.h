/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parsed form of one Lean REPL reply (leanprover-community/repl; real
 * transcripts in tests/fixtures/lean-repl/). One struct covers every reply
 * shape the REPL sends:
 *
 *   command mode:  {"env", "messages"?, "sorries"?, "tactics"?, "infotree"?}
 *   tactic mode:   {"proofState", "goals", "proofStatus"?, "messages"?, "sorries"?, "traces"?}
 *   pickling:      {"env"} or {"proofState", ...}
 *   REPL error:    {"message": "Unknown environment."}
 *                  {"message": "Lean error:\n<tactic failure text>"}
 *
 * lean_reply_parse() validates the shapes it knows (wrong types are an
 * error, unknown members are kept in `extra`) so tool code can read fields
 * without re-checking JSON types. */

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

typedef enum LeanSeverity {
        LEAN_SEVERITY_INFO,
        LEAN_SEVERITY_WARNING,
        LEAN_SEVERITY_ERROR,
        _LEAN_SEVERITY_MAX,
        _LEAN_SEVERITY_INVALID = -EINVAL,
} LeanSeverity;


/* 1-based line, 0-based column (UTF-8 codepoints), as Lean reports them.
 * set is false when the REPL sent none (or null). In tactic mode the REPL
 * reports messages without a source position as line 0, column 0: those are
 * set, with line 0. */
typedef struct LeanPos {
        unsigned line;
        unsigned column;
        bool set;
} LeanPos;

static inline bool lean_pos_is_set(LeanPos p) {
        return p.set;
}

typedef struct LeanMessage {
        LeanSeverity severity;
        LeanPos pos;
        LeanPos end_pos;    /* unset when the REPL gives none (or null) */
        char *data;         /* the message text; never NULL after parse */
} LeanMessage;

typedef struct LeanSorry {
        LeanPos pos;        /* unset for sorries reported in tactic mode */
        LeanPos end_pos;
        char *goal;         /* never NULL after parse ("" if absent) */
        int proof_state;    /* -1 when absent */
} LeanSorry;

typedef struct LeanReply {
        /* {"message": ...}: the REPL refused or failed the command. When
         * set, nothing else is (besides extra). lean_error points into
         * repl_error past the "Lean error:\n" prefix the REPL uses for a Lean
         * exception (a failing tactic in tactic mode), else NULL. */
        char *repl_error;
        const char *lean_error;

        int env;            /* -1 when absent */
        int proof_state;    /* -1 when absent (command mode) */
        char *proof_status; /* "Completed", "Incomplete: open goals remain", …; NULL when absent */

        LeanMessage *messages;
        size_t n_messages;
        LeanSorry *sorries;
        size_t n_sorries;

        char **goals;       /* strv; NULL when absent (command mode), empty strv for "goals": [] */
        char **traces;      /* strv; NULL when absent */

        json_object *tactics;  /* "tactics" array as sent (allTactics), ref or NULL */
        json_object *infotree; /* "infotree" as sent, ref or NULL */
        json_object *extra;    /* object of members this parser does not know, ref (never NULL after parse) */
} LeanReply;

#define LEAN_REPLY_INIT { .env = -1, .proof_state = -1 }

/* Parse reply (borrowed) into *ret (initialised here; call lean_reply_done()
 * even after a failure is harmless). Returns 0, -EBADMSG for a shape error
 * with *ret_error (optional) set to a malloc'd description naming the
 * member, -ENOMEM. */
int lean_reply_parse(json_object *reply, LeanReply *ret, char **ret_error);
void lean_reply_done(LeanReply *r);

/* For the parsers of REPL replies: sets *ret_error (when not NULL) to the
 * formatted text and returns -EBADMSG. */
int lean_shape_error(char **ret_error, const char *format, ...) _printf_(2, 3);
/* {"line": N, "column": N} (each 0..INT32_MAX) into *ret; NULL or null:
 * unset. -EBADMSG naming what. */
int lean_pos_parse(json_object *v, const char *what, LeanPos *ret, char **ret_error);

/* Any message with severity error, or a REPL error. */
bool lean_reply_has_errors(const LeanReply *r);
/* Any sorry reported, or a "declaration uses 'sorry'" warning, or a proof
 * status "Incomplete: contains sorry". */
bool lean_reply_has_sorry(const LeanReply *r);
/* Tactic mode: proofStatus "Completed" (or, for REPLs that do not send a
 * proofStatus, goals == []). */
bool lean_reply_proof_completed(const LeanReply *r);
size_t lean_reply_count_severity(const LeanReply *r, LeanSeverity s);

/* JSON of a position: {"line", "column"}. */
json_object *lean_pos_to_json(LeanPos p);
json_object *lean_message_to_json(const LeanMessage *m);
json_object *lean_sorry_to_json(const LeanSorry *s);

/* The tool-facing form:
 *   {"env"?, "messages": [{"severity","pos","end_pos"?,"data"}],
 *    "sorries": [{"pos"?,"end_pos"?,"goal","proof_state"?}],
 *    "goals"?, "proof_state"?, "proof_status"?, "traces"?, "tactics"?, "infotree"?,
 *    "has_errors", "has_sorry", "repl_error"?}
 * Members marked ? are omitted when absent in the reply; members of extra
 * pass through under their own names (never replacing the above). NULL on OOM. */
json_object *lean_reply_to_json(const LeanReply *r);

/* A result's budget for Lean messages: at most max_messages messages and
 * max_bytes of message text over every reply of one tool call. Kept first:
 * errors, then "declaration uses 'sorry'" warnings, other warnings, infos
 * (so has_errors/has_sorry stay true), each class in order; a text longer
 * than what is left is cut with a marker. The counts say what was dropped. */
typedef struct LeanMessageBudget {
        size_t max_messages;
        size_t max_bytes;
        size_t messages_total;    /* seen in the replies */
        size_t messages_returned; /* kept */
        size_t bytes_used;
        size_t texts_cut;
        bool truncated;
} LeanMessageBudget;

#define LEAN_MESSAGE_BUDGET_INIT(n, b) ((LeanMessageBudget) { .max_messages = (n), .max_bytes = (b) })

/* Applies the budget to the "messages" array of a raw REPL reply, in place
 * (before lean_reply_parse(), so dropped messages cost nothing more). When
 * the array was replaced, *ret_old (optional) gets the original one to
 * release, holding only the dropped messages (kept ones are taken out), so
 * it shares no object with reply: the caller may free it on another thread
 * (freeing 100k messages takes long); without ret_old it is released here.
 * A "messages" array indexed by the REPL decoder (lean/message-index.h) is
 * bounded without looking at the dropped messages. Returns 0, -ENOMEM. */
int lean_reply_bound_messages(json_object *reply, LeanMessageBudget *b, json_object **ret_old);

/* for tests: no caller in the daemon (the import header runs as
 * a command of its own, so positions are the caller's already); kept with its
 * tests and fuzz-lean-reply, a candidate for removal. */
/* Shift every message/sorry position by -lines (the lines the daemon
 * prepended before the caller's text). Positions that land before the
 * caller's text (line <= lines) are clamped to line 1, column 0; returns the
 * number of items that were clamped. Line-0 positions (no source position)
 * are left alone. lines == 0 is a no-op. */
size_t lean_reply_shift_lines(LeanReply *r, unsigned lines);
