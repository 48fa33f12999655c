/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every Lean text the proof tools (lean_proof_attempt,
 * lean_declaration_verify[_batch]) generate, in one reviewed place, and the
 * checks user text passes before it is placed into those texts.
 *
 * Targets: the Lean REPL (leanprover-community/repl) on Lean 4 (v4.x), as
 * recorded in tests/fixtures/lean-repl (toolchain leanprover/lean4:v4.33.0-rc2).
 * The `#print axioms` reply shapes parsed here are those Lean 4 prints:
 *     'X' depends on axioms: [propext, Classical.choice, Quot.sound]
 *     'X' does not depend on any axioms
 * (Lean.Elab.Print; no fixture records them: the test double's replies are
 * synthetic and say so). Not checked against a real Lean here.
 *
 * What user text is rejected (lean_user_text_check):
 *   - NUL-free text only (C strings); control characters other than
 *     newline, tab and carriage return;
 *   - an unterminated block comment (it would swallow the daemon's text
 *     after it) or an unterminated string literal;
 *   - outside comments, string literals and «escaped identifiers»:
 *       * any line whose first token is `import`;
 *       * a token (a whole identifier word, not part of a dotted name) that
 *         is a command keyword: theorem lemma def example abbrev instance
 *         axiom axioms structure class inductive coinductive namespace section end
 *         mutual opaque macro macro_rules syntax elab elab_rules notation
 *         infix infixl infixr prefix postfix attribute variable universe
 *         deriving initialize builtin_initialize import export
 *         noncomputable private protected partial unsafe declare_syntax_cat
 *         (anywhere: none of them can occur inside a term or a tactic block
 *         except as the start of a new command);
 *       * `#` directly followed by a letter (`#eval`, `#print`, `#exit`, …;
 *         `#[` array literals stay allowed);
 *       * at the start of a line (column 0, or the very start of the text):
 *         `open`, `set_option`, `@[` (inside a term they are only valid as
 *         `open … in` / `set_option … in`, which people indent).
 *   Keywords inside comments or strings are harmless and allowed.
 *
 * Declaration names (lean_declaration_name_is_valid): identifier components
 * as for module names (lean/header.h), plus no whitespace, "--" or "/-"
 * anywhere (not even inside «»). */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

#define LEAN_PROOF_TEXT_TARGET "Lean 4 REPL (leanprover-community/repl), v4.x; recorded against v4.33.0-rc2"

/* The name the attempt's theorem is declared under. */
#define LEAN_ATTEMPT_DECL_NAME "_lean_host_attempt"

bool lean_declaration_name_is_valid(const char *name);

typedef enum LeanUserTextKind {
        LEAN_USER_TEXT_STATEMENT, /* a proposition */
        LEAN_USER_TEXT_PROOF,     /* a term, or a tactic block starting with `by` */
        LEAN_USER_TEXT_TACTIC,    /* a tactic run in REPL tactic mode */
} LeanUserTextKind;

/* 0 when text may be placed; -EINVAL with *ret_error (optional, malloc'd)
 * naming the problem and its line; -ENOMEM. */
int lean_user_text_check(const char *text, LeanUserTextKind kind, char **ret_error);

/* The attempt command, user text on lines of its own:
 *     theorem _lean_host_attempt :
 *     <statement>
 *       :=
 *     <proof>
 * (the " :" is left out when the statement is a signature with leading
 * binders, "(a b : Nat) : P", see lean_signature_binders_end()). proof NULL:
 * `by sorry` (the sorry's proof state is where to continue). The statement
 * starts on line 2 of the text, the proof at column 0 of the line after the
 * ":=" line (*ret_proof_line, 1-based, optional). The caller must have
 * checked both texts. NULL on OOM. */
char *lean_attempt_command(const char *statement, const char *proof, unsigned *ret_proof_line);

/* A statement or goal written as a signature starts with binder groups,
 * "(a b : Nat) {α : Type} [inst : Add α] : P": the offset of the ':' after
 * them (> 0), 0 when text does not start that way (a proposition: `(h : P)
 * → Q`, `(1 : Nat) = 1` have no ':' after their groups). Comments and
 * strings are skipped; brackets: ( ) { } [ ] ⦃ ⦄. */
size_t lean_signature_binders_end(const char *text);

/* The text of a tactic-mode command ({"tactic": …}). The REPL parses it as
 * ONE `tactic` (REPL/Snapshots.lean runString: runParserCategory `tactic`),
 * so a newline-separated script is a parse error ("<input>:2:0: expected end
 * of input"): a multi-line script is sent as one block,
 *     (
 *       <line 1>
 *       <line 2>
 *     )
 * every line indented by 2 (relative layout kept; `paren` exists in every
 * Lean 4 version). A one-line tactic goes as it is. Trailing blanks are
 * dropped. NULL on OOM. */
char *lean_tactic_block(const char *tactic);

/* `#print axioms <name>` (name must be valid). NULL on OOM. */
char *lean_print_axioms_command(const char *name);

/* Parse the info message of `#print axioms`: returns 1 with *ret_axioms (a
 * strv, maybe empty) when data is one of the two shapes above, 0 when it is
 * not, -ENOMEM. */
int lean_parse_axioms_message(const char *data, char ***ret_axioms);

/* The default allowed axioms (propext, Classical.choice, Quot.sound). */
extern const char * const lean_default_allowed_axioms[];

/* Goals named in an "unsolved goals" error message (Lean prints
 * "unsolved goals\n<goal>\n\n<goal>…"): appends each to *goals. Returns the
 * number appended, 0 for other messages, -ENOMEM. */
int lean_unsolved_goals_extract(const char *data, char ***goals);
