/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The check every piece of user text passes before the daemon places it into
 * a Lean command it generates (statements, proofs, tactics, goals), and the
 * check for declaration names placed bare (`#print axioms <name>`).
 *
 * Written for: Lean 4 v4.x as run by the leanprover-community REPL (the
 * fixtures record v4.33.0-rc2), plus the commands Batteries and Mathlib add.
 * NOT run against a real Lean here (no toolchain on the machine where it was
 * written); the rules come from how Lean 4's tokenizer and command parser
 * behave:
 *
 *   - After a parse error Lean's command loop resumes at the error position
 *     and skips input one TOKEN at a time until something parses as a
 *     command. So any token that starts a command, anywhere in user text, can
 *     become a command of its own; indentation and surrounding parentheses
 *     do not prevent it. Comments are whitespace to that loop (nothing in
 *     them can become a command); string literals can (interpolated strings
 *     hold terms).
 *   - Tokens are what Lean's tokenizer reads, not what a regex sees:
 *     `∧theorem`, `Nat..theorem`, `x.1.theorem`, `1theorem` and `'x'theorem`
 *     all contain the token `theorem`, while `Nat.theorem`, `theorem'` and
 *     `«theorem»` are identifiers. A char literal `'"'` does not open a
 *     string and `r#"a"b"#` is one raw string. A number ends where Lean's
 *     numberFnAux ends it (`1'"'` is 1 and a char literal). A block comment
 *     skips the character right after its "/-" (lean/header.h).
 *   - tests/fuzz/fuzz-lean-text holds this check against an independent
 *     model of Lean's lexing (tests/fuzz/lean-model.c).
 *
 * What lean_commands_user_text_check() refuses (conservative: when unsure, a
 * byte is a token boundary, so a keyword next to it is still seen):
 *   - invalid UTF-8; control characters other than tab, CR and newline;
 *   - unterminated block comments, strings, «identifiers»; raw strings; a
 *     string escape Lean's quotedCharFn does not know (Lean would resume
 *     tokenizing inside the string);
 *   - doc and module-doc comments (`/--`, `/-!`: they belong to commands);
 *   - `#` directly followed by a letter or `_` (`#eval`, `#exit`, …); `@[`;
 *   - an identifier token equal to a command keyword of lean_command_keywords
 *     (outside comments and string literals; `scoped` right after `open` is
 *     `open scoped X in`);
 *   - `open` or `set_option` unless a later `in` follows on the same line
 *     (`open Classical in`, `set_option maxHeartbeats 400000 in` are terms and
 *     tactics; a bare one is a command).
 * A line comment ends at the newline, so the caller must place a newline
 * after user text before any text of its own on the same line. */

#include <stdbool.h>

#include "basic/macro.h"

typedef enum LeanCommandsTextKind {
        LEAN_COMMANDS_TEXT_TERM,    /* a proposition, goal or proof term (incl. `by …`) */
        LEAN_COMMANDS_TEXT_TACTIC,  /* a tactic or tactic sequence */
} LeanCommandsTextKind;

/* 0 when text may be placed inside a generated command; -EINVAL with
 * *ret_error (malloc'd, optional) naming the problem, its line and column;
 * -ENOMEM. */
int lean_commands_user_text_check(const char *text, LeanCommandsTextKind kind, char **ret_error);

/* A declaration name that may be placed bare into a command: a valid module
 * name (lean/header.h lean_module_name_is_valid(): no whitespace, no "--")
 * that is not itself a command keyword, and whose «» components hold no
 * newline or "-/"/"/-". */
bool lean_commands_decl_name_is_valid(const char *name);

/* for tests: pure, used inside commands.c; the unit tests and
 * fuzz-lean-text call it directly. */
bool lean_command_keyword_is(const char *word, size_t n);
