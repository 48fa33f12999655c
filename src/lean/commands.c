/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A small Lean 4 tokenizer that sees every token Lean could see in user text.
 * See commands.h for the versions targeted (not run against a real Lean
 * here) and for the rules. Wherever Lean's behaviour is not modelled
 * exactly, the scanner errs towards seeing MORE tokens (a byte it does not
 * know is a token boundary), so it may refuse odd but harmless text, never
 * let a command keyword through. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lean/commands.h"
#include "lean/header.h"

/* NULL-terminated: the identifier tokens that start (or only modify) a
 * command in core Lean 4, Batteries or Mathlib. */
static const char * const lean_command_keywords[] = {
        /* declarations and their modifiers (core) */
        "def", "theorem", "lemma", "example", "abbrev", "instance", "axiom", "opaque",
        "structure", "class", "inductive", "coinductive", "mutual", "deriving",
        "private", "protected", "noncomputable", "partial", "unsafe", "nonrec",
        /* scopes, header, environment (core) */
        "import", "prelude", "namespace", "section", "end", "export", "variable", "variables",
        "universe", "universes", "omit", "include", "attribute", "add_decl_doc", "init_quot",
        "initialize", "builtin_initialize", "run_cmd", "run_elab", "run_meta", "seal", "unseal",
        "register_option", "register_builtin_option", "register_error_explanation",
        "register_parser_alias", "register_tactic_tag", "register_label_attr", "register_simp_attr",
        "recommended_spelling", "gen_injective_theorems", "declare_config_elab",
        "declare_command_config_elab", "declare_simp_like_tactic", "tactic_extension",
        /* syntax and elaboration extensions (core) */
        "syntax", "macro", "macro_rules", "elab", "elab_rules", "declare_syntax_cat", "notation",
        "infix", "infixl", "infixr", "prefix", "postfix", "binder_predicate", "unif_hint",
        "simproc", "dsimproc", "simproc_decl", "dsimproc_decl", "builtin_simproc",
        "builtin_dsimproc", "builtin_simproc_decl", "builtin_dsimproc_decl", "grind_pattern",
        "init_grind_norm",
        /* more core commands: the rest of the `@[builtin_command_parser]`s and core's
         * `syntax … : command`s (Lean.Parser.Command, Lean.Elab.Tactic.Grind,
         * Lean.Linter.Basic, Lean.Widget.UserWidget, Lean.Compiler's test_extern,
         * Lean.LibrarySuggestions), and the declaration modifiers and attribute
         * kinds that may start one (`public`/`meta` of the module system,
         * `local notation`, `scoped instance`; `open scoped X in` stays a term) */
        "grind_propagator", "builtin_grind_propagator", "register_linter_set",
        "show_panel_widgets", "test_extern", "set_premise_selector", "set_library_suggestions",
        "public", "meta", "local", "scoped",
        /* Batteries, Aesop and Mathlib commands */
        "alias", "irreducible_def", "notation3", "library_note", "assert_not_exists",
        "assert_not_imported", "proof_wanted", "recall", "initialize_simps_projections",
        "mk_iff_of_inductive_prop", "suppress_compilation", "unsuppress_compilation",
        "compile_inductive", "compile_def", "declare_aesop_rule_sets", "add_aesop_rules",
        "erase_aesop_rules", "whatsnew", "extend_docs", "variable?", "register_hint",
        NULL,
};

bool lean_command_keyword_is(const char *word, size_t n) {
        for (size_t i = 0; lean_command_keywords[i]; i++)
                if (strlen(lean_command_keywords[i]) == n && strneq(word, lean_command_keywords[i], n))
                        return true;
        return false;
}

static bool is_ascii_id_first(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ascii_id_rest(char c) {
        return is_ascii_id_first(c) || (c >= '0' && c <= '9') || c == '\'' || c == '!' || c == '?';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_hex(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the UTF-8 sequence at p (1…4), 0 when invalid (overlong,
 * surrogate, out of range, truncated). */
static size_t utf8_len(const unsigned char *p, uint32_t *ret_cp) {
        uint32_t cp;
        size_t n;

        if (p[0] < 0x80) {
                n = 1;
                cp = p[0];
        } else if ((p[0] & 0xe0) == 0xc0) {
                n = 2;
                cp = p[0] & 0x1f;
        } else if ((p[0] & 0xf0) == 0xe0) {
                n = 3;
                cp = p[0] & 0x0f;
        } else if ((p[0] & 0xf8) == 0xf0) {
                n = 4;
                cp = p[0] & 0x07;
        } else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        if (ret_cp)
                *ret_cp = cp;
        return n;
}

/* Lean 4's isLetterLike and isSubScriptAlnum (Init/Meta.lean), as of the
 * v4 releases up to 2025. Newer Lean also takes Latin-1 letters (U+00C0…
 * U+017F): the scanner leaves those out (a boundary: safe), names take them. */
static bool is_letter_like(uint32_t cp) {
        return (cp >= 0x3b1 && cp <= 0x3c9 && cp != 0x3bb) ||
               (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a0 && cp != 0x3a3) ||
               (cp >= 0x3ca && cp <= 0x3fb) ||
               (cp >= 0x1f00 && cp <= 0x1ffe) ||
               (cp >= 0x2100 && cp <= 0x214f) ||
               (cp >= 0x1d49c && cp <= 0x1d59f);
}

static bool is_letter_like_newer(uint32_t cp) {
        return is_letter_like(cp) || (cp >= 0xc0 && cp <= 0xff && cp != 0xd7 && cp != 0xf7) ||
               (cp >= 0x100 && cp <= 0x17f);
}

static bool is_subscript_alnum(uint32_t cp) {
        return (cp >= 0x2080 && cp <= 0x2089) || (cp >= 0x2090 && cp <= 0x209c) || (cp >= 0x1d62 && cp <= 0x1d6a);
}

/* Bytes of the identifier character at p (first: may start an identifier),
 * 0 when it is none. Non-ASCII only from the ranges above. */
static size_t id_char_len(const char *p, bool first) {
        uint32_t cp;
        size_t n;

        if ((unsigned char) *p < 0x80)
                return (first ? is_ascii_id_first(*p) : is_ascii_id_rest(*p)) ? 1 : 0;
        n = utf8_len((const unsigned char *) p, &cp);
        if (n == 0)
                return 0;
        return is_letter_like(cp) || (!first && is_subscript_alnum(cp)) ? n : 0;
}

typedef struct Scan {
        const char *text;
        const char *what;
        char **ret_error;
} Scan;

static int scan_fail(const Scan *s, const char *at, const char *format, ...) _printf_(3, 4);
static int scan_fail(const Scan *s, const char *at, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        unsigned line = 1, column = 0;
        va_list ap;
        int r;

        if (!s->ret_error)
                return -EINVAL;
        for (const char *q = s->text; q < at; q++) {
                if (*q == '\n') {
                        line++;
                        column = 0;
                } else if (((unsigned char) *q & 0xc0) != 0x80)
                        column++;
        }
        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(s->ret_error, "%s line %u, column %u: %s", s->what, line, column, msg) < 0) {
                *s->ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

/* Where Lean's numeric literal starting at p (a digit) ends: Lean.Parser.Basic
 * numberFnAux, exactly: "0b"/"0o"/"0x" and their digits, or decimal digits, an
 * optional '.' with optional digits, an optional exponent. Whatever follows
 * (letters, a quote, `r"`) is the next token for Lean, and so for the
 * scanner; where Lean fails inside the literal (`0x` without digits, `1e`
 * without exponent digits) it resumes at that point, which is where this
 * stops too. */
static const char *number_end(const char *p) {
        if (p[0] == '0' && p[1] && strchr("bBoOxX", p[1])) {
                const char *digits = strchr("bB", p[1]) ? "01" : strchr("oO", p[1]) ? "01234567"
                                                                                     : "0123456789abcdefABCDEF";

                return p + 2 + strspn(p + 2, digits);
        }
        p += strspn(p, "0123456789");
        if (*p == '.')
                p += 1 + strspn(p + 1, "0123456789");
        if (*p == 'e' || *p == 'E') {
                const char *q = p + 1;

                if (*q == '+' || *q == '-')
                        q++;
                p = q + strspn(q, "0123456789");
        }
        return p;
}

/* An escape at p (p[0] == '\\') as Lean.Parser.Basic quotedCharFn reads it
 * (isQuotableCharDefault, \xHH, \uHHHH): its length, 0 when it is none. */
static size_t escape_len(const char *p) {
        const char *q = p + 1;

        if (*q && strchr("\\\"'nrt", *q))
                return 2;
        if (*q == 'x' && is_hex(q[1]) && is_hex(q[2]))
                return 4;
        if (*q == 'u' && is_hex(q[1]) && is_hex(q[2]) && is_hex(q[3]) && is_hex(q[4]))
                return 6;
        return 0;
}

/* A char literal at p (p[0] == '\''): its length, 0 when it is not one. */
static size_t char_literal_len(const char *p) {
        const char *q = p + 1;

        if (*q == '\\') {
                q++;
                if (strchr("\\\"'nrt", *q) && *q)
                        q++;
                else if (*q == 'x' && is_hex(q[1]) && is_hex(q[2]))
                        q += 3;
                else if (*q == 'u' && is_hex(q[1]) && is_hex(q[2]) && is_hex(q[3]) && is_hex(q[4]))
                        q += 5;
                else
                        return 0;
        } else if (*q == '\'' || *q == '\n' || *q == 0)
                return 0;
        else {
                size_t n = utf8_len((const unsigned char *) q, NULL);

                if (n == 0)
                        return 0;
                q += n;
        }
        return *q == '\'' ? (size_t) (q + 1 - p) : 0;
}

int lean_commands_user_text_check(const char *text, LeanCommandsTextKind kind, char **ret_error) {
        Scan s = {
                .text = text,
                .what = kind == LEAN_COMMANDS_TEXT_TACTIC ? "tactic" : "term",
                .ret_error = ret_error,
        };
        const char *p, *needs_in = NULL; /* an `open`/`set_option` waiting for its `in` */
        bool prev_ident_is_open = false, after_open; /* the last token was the identifier `open` */

        if (ret_error)
                *ret_error = NULL;
        if (!text)
                return -EINVAL;
        if (!*text)
                return scan_fail(&s, text, "is empty");

        for (p = text; *p; ) {
                size_t n = utf8_len((const unsigned char *) p, NULL);

                if (n == 0)
                        return scan_fail(&s, p, "is not valid UTF-8");
                if (n == 1 && (((unsigned char) *p < 0x20 && !strchr("\t\r\n", *p)) || *p == 0x7f))
                        return scan_fail(&s, p, "control character 0x%02x", (unsigned) (unsigned char) *p);
                p += n;
        }

        for (p = text; *p; ) {
                char c = *p;

                if (c == '\n') {
                        if (needs_in)
                                return scan_fail(&s, needs_in, "`%s` without `in` on the same line would be a command",
                                                 *needs_in == 'o' ? "open" : "set_option");
                        p++;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\r') {
                        p++;
                        continue;
                }
                if (strneq(p, "--", 2)) {
                        p += strcspn(p, "\n");
                        continue;
                }
                if (strneq(p, "/-", 2)) {
                        const char *end;

                        if (p[2] == '-' || p[2] == '!')
                                return scan_fail(&s, p, "a doc comment (`/--`, `/-!`) belongs to a command");
                        end = lean_block_comment_end(p);
                        if (!end)
                                return scan_fail(&s, p, "unterminated block comment");
                        p = end;
                        continue;
                }
                /* a token: only the identifier branch below sets it again */
                after_open = prev_ident_is_open;
                prev_ident_is_open = false;
                if (c == '"') {
                        const char *start = p++;

                        while (*p && *p != '"') {
                                /* `{` would make an interpolated string (s!, m!, f!) hold terms,
                                 * and terms hold tokens: refused rather than parsed */
                                if (*p == '{')
                                        return scan_fail(&s, p, "`{` in a string literal (interpolation) is not allowed");
                                if (*p == '\\') {
                                        /* Lean.Parser.Basic quotedCharFn: an escape it does not know is a
                                         * parse error there, and Lean resumes tokenizing INSIDE the string */
                                        size_t n = escape_len(p);

                                        if (n == 0)
                                                return scan_fail(&s, p, "not an escape sequence Lean knows");
                                        p += n;
                                        continue;
                                }
                                p++;
                        }
                        if (!*p)
                                return scan_fail(&s, start, "unterminated string literal");
                        p++;
                        continue;
                }
                if (c == '\'') {
                        size_t n = char_literal_len(p);

                        if (n == 0)
                                return scan_fail(&s, p, "not a complete character literal");
                        p += n;
                        continue;
                }
                if (c == '#' && (is_ascii_id_first(p[1]) || (unsigned char) p[1] >= 0x80))
                        return scan_fail(&s, p, "`#%.*s` would be a command", (int) strspn(p + 1,
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"), p + 1);
                if (strneq(p, "@[", 2))
                        return scan_fail(&s, p, "an attribute `@[…]` belongs to a command");
                if (is_digit(c)) {
                        /* the identifier, quote or raw string glued to it is read next */
                        p = number_end(p);
                        continue;
                }
                if (id_char_len(p, true) > 0 || strneq(p, "«", strlen("«"))) {
                        const char *start = p;
                        bool escaped = false;

                        for (;;) {
                                if (strneq(p, "«", strlen("«"))) {
                                        const char *end = strstr(p, "»");
                                        const char *nl = strchr(p, '\n');

                                        if (!end || (nl && nl < end))
                                                return scan_fail(&s, p, "unterminated «identifier»");
                                        p = end + strlen("»");
                                        escaped = true;
                                } else {
                                        size_t n;

                                        p += id_char_len(p, true);
                                        while ((n = id_char_len(p, false)) > 0)
                                                p += n;
                                }
                                /* Lean joins `a.b` only when the dot is followed by an identifier start */
                                if (*p == '.' && (id_char_len(p + 1, true) > 0 || strneq(p + 1, "«", strlen("«"))))
                                        p++;
                                else
                                        break;
                        }
                        if (!escaped && p - start == 1 && *start == 'r' && (*p == '"' || *p == '#'))
                                return scan_fail(&s, start, "raw string literals are not allowed");
                        /* `open scoped X in` is a term; `scoped` anywhere else may start a command */
                        if (!escaped && lean_command_keyword_is(start, p - start) &&
                            !(p - start == 6 && strneq(start, "scoped", 6) && after_open))
                                return scan_fail(&s, start, "`%.*s` would start a command", (int) (p - start), start);
                        /* `open after a backtick is a name literal, not the keyword (found by tests/fuzz) */
                        prev_ident_is_open = !escaped && p - start == 4 && strneq(start, "open", 4) &&
                                             !(start > text && start[-1] == '`');
                        if (!escaped && (p - start == 4 && strneq(start, "open", 4)))
                                needs_in = needs_in ?: start;
                        else if (!escaped && p - start == 10 && strneq(start, "set_option", 10))
                                needs_in = needs_in ?: start;
                        else if (p - start == 2 && strneq(start, "in", 2))
                                needs_in = NULL;
                        continue;
                }
                /* anything else (symbols, non-ASCII letters and operators) is a
                 * token boundary: a keyword right after it is still seen */
                p++;
        }
        if (needs_in)
                return scan_fail(&s, needs_in, "`%s` without `in` on the same line would be a command",
                                 *needs_in == 'o' ? "open" : "set_option");
        return 0;
}

bool lean_commands_decl_name_is_valid(const char *name) {
        const char *p = name;

        if (!lean_module_name_is_valid(name))
                return false;
        /* every component one identifier token for Lean as well: non-ASCII
         * only where Lean's identifier rules take it */
        while (*p) {
                const char *start = p;

                if (strneq(p, "«", strlen("«"))) {
                        const char *end = strstr(p, "»");

                        for (const char *q = p; q < end; q++)
                                if (*q == '\n' || strneq(q, "-/", 2) || strneq(q, "/-", 2))
                                        return false;
                        p = end + strlen("»");
                } else {
                        while (*p && *p != '.') {
                                uint32_t cp;
                                size_t n = utf8_len((const unsigned char *) p, &cp);

                                if (n == 0)
                                        return false;
                                if (n == 1 ? !(p == start ? is_ascii_id_first(*p) : is_ascii_id_rest(*p))
                                           : !(is_letter_like_newer(cp) || (p != start && is_subscript_alnum(cp))))
                                        return false;
                                p += n;
                        }
                }
                if (*p == '.')
                        p++;
        }
        return !lean_command_keyword_is(name, strlen(name)) &&
               !streq(name, "open") && !streq(name, "set_option");
}
