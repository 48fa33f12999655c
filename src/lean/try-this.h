/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The suggestions of a "Try this" info message (exact?, apply?, simp?,
 * rw?, …: Lean.Meta.Tactic.TryThis.addSuggestion/addSuggestions). Lean has
 * printed two layouts over the accepted range:
 *
 *   up to about v4.22 (TryThis: m!"{header}{s}", header "Try this: ";
 *   addSuggestions: header "Try these:" then "\n• " ++ nest 2 per item):
 *       Try this: exact Nat.one_pos
 *       Try these:\n• exact foo\n• exact bar
 *
 *   since about v4.24/25 (recorded: tests/fixtures/lean-repl/Mathlib/
 *   exact.expected.out and root_goals.expected.out, v4.33.0-rc2; the same in
 *   Lean's own tests/lean/run/simp_suggestions.lean, try? tests):
 *       Try this:\n  [apply] exact Nat.one_pos
 *       Try these:\n  [apply] tac1\n  [apply] tac2
 *
 * A suggestion may span several lines; its continuation lines carry the
 * layout's nesting (2 spaces), which is removed. Text after a suggestion
 * that is not part of it (apply?'s "Remaining subgoals:" block, "--"
 * comment lines) is not kept. */

#include <stdbool.h>

#include "lean/lean-reply.h"

/* The first suggestion of the reply's info messages: 1 with *ret (malloc'd),
 * 0 when there is none, -ENOMEM. */
int lean_reply_first_suggestion(const LeanReply *r, char **ret);

/* A proof text for a tactic suggestion: "by <tactic>" for a one-line
 * tactic, "by\n  <line>\n  <line>…" for a multi-line one. NULL on OOM. */
char *lean_suggestion_to_proof(const char *tactic);

/* for tests: the parser behind lean_reply_first_suggestion(), on one
 * message text, for the unit tests. */
/* The suggestions in one message text, in order, appended to *suggestions
 * (a strv). Returns the number appended (0: not a "Try this" message),
 * -ENOMEM. */
int lean_try_this_parse(const char *data, char ***suggestions);
