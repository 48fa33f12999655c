/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Lean text checkers against Lean's own lexing (lean-model.c):
 *   - lean_block_comment_end() ends every block comment where Lean's
 *     `whitespace`/`finishCommentBlock` ends it;
 *   - text a checker accepts (lean_commands_user_text_check, and the
 *     checkers the tools call: lean_user_text_check, lean_user_term_check)
 *     holds nothing Lean's command loop could start a command at, even
 *     resuming after a lexical error;
 *   - a name accepted for `#print axioms <name>` is one identifier to Lean;
 *   - lean_string_literal() gives one string literal to Lean, whatever the text;
 *   - the attempt command built from an accepted statement and proof has no
 *     command token but its own `theorem`.
 * Input: statement text, optionally a NUL byte and proof text. */

#include <string.h>

#include "basic/macro.h"
#include "fuzz.h"
#include "lean-model.h"
#include "lean/commands.h"
#include "lean/header.h"
#include "lean/proof-text.h"
#include "lean/query-text.h"

static void check_comments(const char *s, size_t n) {
        for (size_t i = 0; i + 1 < n; i++) {
                const char *end;
                ssize_t want;

                if (s[i] != '/' || s[i + 1] != '-')
                        continue;
                end = lean_block_comment_end(s + i);
                want = model_block_comment_end(s, n, i);
                if ((end ? end - s : -1) != want)
                        FUZZ_FAIL("block comment at %zu: lean_block_comment_end says %zd, Lean ends it at %zd",
                                  i, end ? end - s : (ssize_t) -1, want);
        }
}

static void check_accepted(const char *checker, const char *s, size_t n) {
        ModelFinding f;
        size_t at = 0;

        if (!model_utf8_valid(s, n))
                FUZZ_FAIL("%s accepted invalid UTF-8", checker);
        f = model_scan(s, n, lean_command_keyword_is, &at);
        if (f != MODEL_OK)
                FUZZ_FAIL("%s accepted text in which Lean sees %s at offset %zu: [%.*s]",
                          checker, model_finding_to_string(f), at, (int) MIN(n - at, (size_t) 40), s + at);
}

static void check_text(const char *s, size_t n) {
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
        const char *why = NULL;

        if (lean_commands_user_text_check(s, LEAN_COMMANDS_TEXT_TERM, &e1) == 0)
                check_accepted("lean_commands_user_text_check(term)", s, n);
        if (lean_commands_user_text_check(s, LEAN_COMMANDS_TEXT_TACTIC, &e2) == 0)
                check_accepted("lean_commands_user_text_check(tactic)", s, n);
        if (lean_user_text_check(s, LEAN_USER_TEXT_STATEMENT, &e3) == 0)
                check_accepted("lean_user_text_check(statement)", s, n);
        if (lean_user_text_check(s, LEAN_USER_TEXT_TACTIC, &e4) == 0)
                check_accepted("lean_user_text_check(tactic)", s, n);
        if (lean_user_term_check(s, &why) == 0)
                check_accepted("lean_user_term_check", s, n);
}

static void check_name(const char *s, size_t n) {
        bool one = model_is_one_identifier(s, n, lean_command_keyword_is);

        if (lean_commands_decl_name_is_valid(s) && !one)
                FUZZ_FAIL("lean_commands_decl_name_is_valid accepted [%s], not one identifier to Lean", s);
        if (lean_declaration_name_is_valid(s) && !one)
                FUZZ_FAIL("lean_declaration_name_is_valid accepted [%s], not one identifier to Lean", s);
        if (lean_decl_name_is_valid(s) && !one)
                FUZZ_FAIL("lean_decl_name_is_valid accepted [%s], not one identifier to Lean", s);
}

/* query-text's string literal: one string token for Lean, whatever it holds */
static void check_string_literal(const char *s, size_t n) {
        _cleanup_free_ char *lit = NULL;

        if (!model_utf8_valid(s, n))
                return;
        lit = lean_string_literal(s);
        FUZZ_ASSERT(lit);
        if (!model_is_one_string_literal(lit, strlen(lit)))
                FUZZ_FAIL("lean_string_literal(%s) = %s is not one string literal to Lean", s, lit);
}

static void check_attempt(const char *statement, const char *proof) {
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *cmd = NULL;
        ModelFinding f;
        unsigned line;
        size_t at = 0, n;

        if (lean_user_text_check(statement, LEAN_USER_TEXT_STATEMENT, &e1) < 0 ||
            lean_user_text_check(proof, LEAN_USER_TEXT_PROOF, &e2) < 0)
                return;
        cmd = lean_attempt_command(statement, proof, &line);
        FUZZ_ASSERT(cmd);
        FUZZ_ASSERT(strncmp(cmd, "theorem ", 8) == 0);
        n = strlen(cmd);
        f = model_scan(cmd + 7, n - 7, lean_command_keyword_is, &at);
        if (f != MODEL_OK)
                FUZZ_FAIL("the attempt command holds %s at offset %zu: [%s]", model_finding_to_string(f), at + 7, cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *buf = NULL;
        const char *second = NULL;
        size_t n;

        if (size > 16 * 1024)
                return 0;
        buf = malloc(size + 1);
        FUZZ_ASSERT(buf);
        memcpy(buf, data, size);
        buf[size] = 0;
        n = strlen(buf);
        if (n < size)
                second = buf + n + 1;

        if (model_utf8_valid(buf, n))
                check_comments(buf, n);
        check_text(buf, n);
        check_name(buf, n);
        check_string_literal(buf, n);
        if (second) {
                size_t m = strlen(second);

                if (model_utf8_valid(second, m))
                        check_comments(second, m);
                check_text(second, m);
                check_attempt(buf, second);
        }
        return 0;
}
