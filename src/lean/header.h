/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The import header of a Lean snippet: the leading `import X` lines
 * (comments and blank lines allowed before and between them, several names
 * per line allowed: `import X Y`). The header is run once per worker and
 * import profile; the body runs on top of its env. */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

/* A Lean module name: identifier components separated by single dots, each
 * starting with a letter, '_' or a non-ASCII (UTF-8) letter, continuing with
 * letters, digits, '_', '\'', '!', '?', or a «guillemet-escaped» component.
 * No whitespace, control characters or "--". */
bool lean_module_name_is_valid(const char *name);

/* p points at "/-": the end of that block comment, nested ones included as
 * Lean nests them (just past its "-/"), or NULL when it is not terminated.
 * Lean's rule exactly (Lean.Parser.Basic `whitespace`/`finishCommentBlock`):
 * the character right after "/-" is skipped, so "/-/-/" is one comment. */
const char *lean_block_comment_end(const char *p);

typedef struct LeanHeader {
        char **imports;     /* strv of module names in order, duplicates dropped; never NULL */
        char *body;         /* the snippet with the header's import commands blanked out
                             * (replaced by spaces), so line/column positions in messages
                             * about the body match the caller's snippet */
        size_t header_end;  /* byte offset just past the last import command (0 = none) */
} LeanHeader;

void lean_header_done(LeanHeader *h);

/* Split code. Returns 0 on success; -EINVAL for an invalid header (an
 * `import` with no name, or a name that is not a module name) with
 * *ret_error set to a malloc'd message naming the offending text and line
 * (may be NULL if ret_error is NULL); -ENOMEM. An unterminated block comment
 * ends the header (the body then carries it, Lean reports it). */
int lean_header_split(const char *code, LeanHeader *ret, char **ret_error);

/* The REPL command text of an import profile: "import A\nimport B" ("" for none). */
char *lean_header_command(char * const *imports);

/* for tests: job.c and lane.c join the imports themselves
 * (strv_join(imports, ",")); the unit tests and fuzz-header check this one. */
/* Imports joined by "," (the import profile fingerprint; "" for none). */
char *lean_imports_fingerprint(char * const *imports);
