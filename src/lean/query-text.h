/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every Lean text the query tools (lean_module_query, lean_declaration_inspect,
 * lean_declaration_search, lean_proof_search) generate, in one reviewed place.
 *
 * Targeted: the supported range of lean/readiness.h, Lean v4.12.0 (the
 * oldest the REPL protocol features are known for) to v4.33.0-rc2 (the
 * recorded fixtures), with the leanprover-community REPL. The texts are
 * version-proof, not keyed on the toolchain: they use only the Lean 4 meta
 * API (Lean.Environment, Lean.Meta.ppExpr, isInstance, getReducibilityStatus,
 * findDocString?, findDeclarationRanges?, collectAxioms, Lean.Json) in forms
 * that exist at both ends of the range; query-text.c names each construct
 * that changed and what was checked. NOT run against a real Lean here: the
 * tests answer these commands with a synthetic worker
 * (tests/double/lean-repl-meta).
 *
 * Output protocol of the meta programs: every #eval prints lines
 * "@lh:<tag> <one-line JSON>" (the REPL reports the printed text as info
 * messages); lean_query_output_lines() collects them.
 *
 * Safety: module and declaration names are validated and reach Lean only
 * inside escaped string literals; goal and tactic texts (which are Lean
 * syntax by nature) are checked by lean_user_term_check(), which refuses
 * anything that could start a new command or import header. */

#include <json-c/json.h>
#include <stdbool.h>

#include "basic/macro.h"
#include "lean/lean-reply.h"

#define LEAN_QUERY_TAG_DECL "@lh:decl "
#define LEAN_QUERY_TAG_ERROR "@lh:error "
#define LEAN_QUERY_TAG_END "@lh:end "

/* The meta program listing a module's declarations: one "@lh:decl"
 * {"name","kind","type","doc"?,"line"?,"column"?} per non-internal constant,
 * "@lh:error" {"code":"module_not_imported"} when the module is not in the
 * env, "@lh:end" {"count"}. -EINVAL for an invalid module name. */
int lean_query_module_decls(const char *module, char **ret);

/* A self-contained command: `import Lean` and `import <module>` in front of
 * program (for a command sent without "env", which the REPL runs as a fresh
 * file). module must be valid (lean_module_name_is_valid). NULL on OOM. */
char *lean_query_with_header(const char *module, const char *program);

/* Inspect one declaration: "@lh:decl" {"name","kind","type","doc"?,
 * "module"?,"line"?,"column"?,"value"?,"axioms":[…]} or "@lh:error"
 * {"code":"unknown_declaration"}. value only when include_value, cut to
 * max_chars in Lean already. */
int lean_query_inspect(const char *name, bool include_value, unsigned max_chars, char **ret);
/* (-EINVAL when name fails lean_decl_name_is_valid(): the caller's check.) */

/* Search names containing fragment (case-insensitive) and, when
 * type_fragment is set, whose pretty-printed type contains it: at most
 * limit "@lh:decl" {"name","kind","type"} lines (exact and prefix matches
 * of the name or its last component are kept first), "@lh:end"
 * {"count","capped"}. */
int lean_query_search(const char *fragment, const char *type_fragment, unsigned limit, char **ret);

/* One proof-search attempt, the user's text never on a generated line:
 *     theorem _lh_search :
 *     <goal>
 *     := by
 *       <tactic, every line indented by 2>
 * goal: a proposition, or "theorem|lemma NAME <binders> : <prop>", or
 * "example <binders> : <prop>", or "<binders> : <prop>" (for the last
 * three the " :" after the name is left out and the binders follow it).
 * -EINVAL with *ret_reason when goal or tactic fails lean_user_term_check(). */
int lean_query_proof_attempt(const char *goal, const char *tactic, char **ret, const char **ret_reason);

/* What a generated command printed, by tag: every array set (empty when
 * nothing), the caller puts them. */
typedef struct LeanQueryOutput {
        json_object *decls;  /* LEAN_QUERY_TAG_DECL */
        json_object *errors; /* LEAN_QUERY_TAG_ERROR */
        json_object *ends;   /* LEAN_QUERY_TAG_END */
} LeanQueryOutput;
/* All three tags of a reply at once (a query step reads them together).
 * 0, or -ENOMEM with what was collected left in *out. */
int lean_query_output_read(const LeanReply *reply, LeanQueryOutput *out);

/* for tests: the checks and the output reader the query texts
 * use inside query-text.c; pure, so the unit tests and fuzz-lean-text call
 * them directly. */
/* A fully qualified declaration name (same lexical rule as module names). */
bool lean_decl_name_is_valid(const char *name);
/* s as a Lean string literal "…" (quotes included): \\ \" \n \t \r escaped,
 * other control characters as \x..; NULL on OOM. */
char *lean_string_literal(const char *s);
/* 0 when text may be placed as a term/tactic inside a generated command;
 * -EINVAL with *ret_reason (static string) when it contains a command
 * keyword (def, theorem, import, set_option, …) as a word, a `#command`, a
 * NUL/control character, or an unterminated block comment. Conservative:
 * the words are refused even inside comments and strings. */
int lean_user_term_check(const char *text, const char **ret_reason);
/* The "@lh:…" lines of a reply's info messages: parsed JSON objects of the
 * given tag (e.g. LEAN_QUERY_TAG_DECL), in order, appended to *array
 * (created if NULL). Returns the number found, -ENOMEM. Lines that are not
 * JSON objects are skipped. */
int lean_query_output_lines(const LeanReply *reply, const char *tag, json_object **array);
