/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An independent reference model of how Lean 4 lexes text, written for the
 * fuzz harnesses as the oracle the daemon's checkers are held against. It
 * follows Lean's sources function by function (Lean.Parser.Basic
 * `whitespace`, `finishCommentBlock`, `tokenFnAux`, `strLitFnAux`,
 * `charLitFnAux`, `quotedCharCoreFn`, `numberFnAux`, `identFnAux`,
 * `isIdFirst`/`isIdRest`/`isLetterLike`/`isSubScriptAlnum`; and
 * Lean.Parser.Module `parseCommand`, which after a parse error resumes at the
 * error position, or one token later when that made no progress). It shares
 * no code with src/lean: a bug copied into both would hide itself.
 *
 * Positions are byte offsets; text is valid UTF-8 (callers check). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Lean's `whitespace` at a "/-" that is not "/--" or "/-!": the offset just
 * past the comment, or -1 when it is not terminated. */
ssize_t model_block_comment_end(const char *s, size_t n, size_t at);

/* Lean's `whitespace` from pos: where the next token starts (n at the end).
 * *ret_unterminated is set when a block comment runs to the end. */
size_t model_whitespace(const char *s, size_t n, size_t pos, bool *ret_unterminated);

typedef enum ModelFinding {
        MODEL_OK,
        MODEL_COMMAND_KEYWORD,  /* an identifier token that is a command keyword */
        MODEL_HASH_COMMAND,     /* `#` then an identifier: #eval, #exit, … */
        MODEL_ATTRIBUTE,        /* `@[` */
        MODEL_DOC_COMMENT,      /* `/--` or `/-!` in token position */
        MODEL_UNTERMINATED,     /* a comment, string, char literal or «» cut off */
} ModelFinding;

const char *model_finding_to_string(ModelFinding f);

/* Everything Lean's command loop could see as the start of a command in s,
 * tokenizing as Lean does and resuming after every lexical error where Lean
 * would. is_keyword decides which identifier tokens are command keywords
 * (the list is not what this model checks; the lexing is). Returns the first
 * finding and its offset. */
ModelFinding model_scan(const char *s, size_t n, bool (*is_keyword)(const char *w, size_t len), size_t *ret_at);

/* s is exactly one identifier token for Lean (no keyword by is_keyword, no
 * lexical error, nothing before or after). */
bool model_is_one_identifier(const char *s, size_t n, bool (*is_keyword)(const char *w, size_t len));

/* s is exactly one plain string literal for Lean (not after s!, m!, f!). */
bool model_is_one_string_literal(const char *s, size_t n);

/* s is valid UTF-8 without NUL bytes. */
bool model_utf8_valid(const char *s, size_t n);
