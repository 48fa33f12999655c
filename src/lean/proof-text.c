/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* See proof-text.h for the Lean versions targeted and the exact rules. */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/strv.h"
#include "lean/header.h"
#include "lean/commands.h"
#include "basic/string-table.h"
#include "lean/proof-text.h"

const char * const lean_default_allowed_axioms[] = {
        "propext",
        "Classical.choice",
        "Quot.sound",
        NULL,
};

static const char * const command_keywords[] = {
        "theorem", "lemma", "def", "example", "abbrev", "instance", "axiom", "axioms",
        "structure", "class", "inductive", "coinductive", "namespace", "section", "end",
        "mutual", "opaque", "macro", "macro_rules", "syntax", "elab", "elab_rules",
        "notation", "infix", "infixl", "infixr", "prefix", "postfix", "attribute",
        "variable", "universe", "deriving", "initialize", "builtin_initialize", "import",
        "export", "noncomputable", "private", "protected", "partial", "unsafe",
        "declare_syntax_cat",
        NULL,
};

/* only at the start of a line */
static const char * const line_start_keywords[] = {
        "open", "set_option",
        NULL,
};

static bool declaration_name_is_valid_basic(const char *name) {
        if (!lean_module_name_is_valid(name))
                return false;
        for (const char *p = name; *p; p++)
                if (strchr(" \t\r\n\v\f", *p))
                        return false;
        return !strstr(name, "--") && !strstr(name, "/-");
}

static bool is_word_char(unsigned char c) {
        /* identifier characters; non-ASCII bytes count too (letters, subscripts) */
        return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '\'' || c == '!' || c == '?';
}

static bool is_letter(unsigned char c) {
        return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static unsigned line_at(const char *text, const char *p) {
        unsigned n = 1;

        for (const char *q = text; q < p; q++)
                if (*q == '\n')
                        n++;
        return n;
}

#define fail(ret_error, ...) strdup_error_printf(ret_error, -EINVAL, __VA_ARGS__)

static bool word_in(const char *w, size_t n, const char * const *list) {
        for (size_t i = 0; list[i]; i++)
                if (strlen(list[i]) == n && strneq(w, list[i], n))
                        return true;
        return false;
}

static const char *const lean_user_text_kind_table[] = {
        [LEAN_USER_TEXT_STATEMENT] = "statement",
        [LEAN_USER_TEXT_PROOF] = "proof",
        [LEAN_USER_TEXT_TACTIC] = "tactic",
};

DEFINE_PRIVATE_STRING_TABLE_LOOKUP_TO_STRING(lean_user_text_kind, LeanUserTextKind);

static int user_text_check_basic(const char *text, LeanUserTextKind kind, char **ret_error) {
        const char *what = lean_user_text_kind_to_string(kind) ?: "text";
        const char *p = text;
        bool line_start = true;    /* at column 0 */
        bool first_token = true;   /* no token yet on this line (whitespace may precede) */

        if (!text)
                return fail(ret_error, "%s is missing", what);

        while (*p) {
                unsigned char c = *p;

                if (c == '\n') {
                        line_start = first_token = true;
                        p++;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\r') {
                        line_start = false;
                        p++;
                        continue;
                }
                if (c < 0x20 || c == 0x7f)
                        return fail(ret_error, "%s line %u: control character 0x%02x is not allowed", what,
                                    line_at(text, p), c);

                /* line comment: to the end of the line */
                if (strneq(p, "--", 2)) {
                        p += strcspn(p, "\n");
                        continue;
                }
                /* block comment (nested, as Lean's) */
                if (strneq(p, "/-", 2)) {
                        const char *end = lean_block_comment_end(p);

                        if (!end)
                                return fail(ret_error, "%s line %u: unterminated block comment", what,
                                            line_at(text, p));
                        p = end;
                        line_start = first_token = false;
                        continue;
                }
                /* string literal */
                if (c == '"') {
                        const char *start = p++;

                        while (*p && *p != '"') {
                                if (*p == '\\' && p[1])
                                        p++;
                                p++;
                        }
                        if (!*p)
                                return fail(ret_error, "%s line %u: unterminated string literal", what,
                                            line_at(text, start));
                        p++;
                        line_start = first_token = false;
                        continue;
                }
                /* «escaped identifier» */
                if (strneq(p, "«", strlen("«"))) {
                        const char *end = strstr(p, "»");

                        if (!end)
                                return fail(ret_error, "%s line %u: unterminated «identifier»", what,
                                            line_at(text, p));
                        p = end + strlen("»");
                        line_start = first_token = false;
                        continue;
                }
                if (c == '#' && is_letter((unsigned char) p[1])) {
                        size_t n = 1;

                        while (is_word_char((unsigned char) p[n]))
                                n++;
                        return fail(ret_error, "%s line %u: \"%.*s\" would start a new command", what,
                                    line_at(text, p), (int) n, p);
                }
                if (line_start && strneq(p, "@[", 2))
                        return fail(ret_error, "%s line %u: an attribute at the start of a line would start a new "
                                    "declaration", what, line_at(text, p));
                if (is_word_char(c)) {
                        const char *w = p;
                        bool dotted = w > text && w[-1] == '.';
                        size_t n = 0;

                        while (is_word_char((unsigned char) p[n]))
                                n++;
                        p += n;
                        if (!dotted && *p != '.') {
                                if (first_token && n == strlen("import") && strneq(w, "import", n))
                                        return fail(ret_error, "%s line %u: an import line is not allowed", what,
                                                    line_at(text, w));
                                if (word_in(w, n, command_keywords))
                                        return fail(ret_error, "%s line %u: \"%.*s\" would start a new command", what,
                                                    line_at(text, w), (int) n, w);
                                if (line_start && word_in(w, n, line_start_keywords))
                                        return fail(ret_error, "%s line %u: \"%.*s\" at the start of a line would "
                                                    "start a new command (indent `%.*s … in`)", what,
                                                    line_at(text, w), (int) n, w, (int) n, w);
                        }
                        line_start = first_token = false;
                        continue;
                }
                line_start = first_token = false;
                p++;
        }
        return 0;
}

static unsigned count_lines(const char *s) {
        unsigned n = 1;

        for (; *s; s++)
                if (*s == '\n')
                        n++;
        return n;
}

static const char *skip_blanks_and_comments(const char *p) {
        for (;;) {
                p += strspn(p, " \t\r\n");
                if (strneq(p, "--", 2))
                        p += strcspn(p, "\n");
                else if (strneq(p, "/-", 2)) {
                        p = lean_block_comment_end(p);
                        if (!p)
                                return NULL;
                } else
                        return p;
        }
}

/* Length of the bracket at p when it opens (dir 1) or closes (dir -1) a
 * binder group: ( ) { } [ ] ⦃ ⦄; else 0. */
static size_t bracket_at(const char *p, int dir) {
        static const char * const open[] = { "(", "{", "[", "⦃" }, * const close[] = { ")", "}", "]", "⦄" };
        const char * const *l = dir > 0 ? open : close;

        for (size_t i = 0; i < ELEMENTSOF(open); i++)
                if (strneq(p, l[i], strlen(l[i])))
                        return strlen(l[i]);
        return 0;
}

/* p at an opening bracket: past its matching close (brackets nest; strings
 * and comments skipped), NULL when unbalanced. */
static const char *bracket_group_end(const char *p) {
        unsigned depth = 0;

        while (*p) {
                size_t n;

                if (strneq(p, "--", 2)) {
                        p += strcspn(p, "\n");
                        continue;
                }
                if (strneq(p, "/-", 2)) {
                        p = lean_block_comment_end(p);
                        if (!p)
                                return NULL;
                        continue;
                }
                if (*p == '"') {
                        for (p++; *p && *p != '"'; p++)
                                if (*p == '\\' && p[1])
                                        p++;
                        if (!*p)
                                return NULL;
                        p++;
                        continue;
                }
                if ((n = bracket_at(p, 1)) > 0)
                        depth++;
                else if ((n = bracket_at(p, -1)) > 0) {
                        if (depth == 0)
                                return NULL;
                        if (--depth == 0)
                                return p + n;
                } else
                        n = 1;
                p += n;
        }
        return NULL;
}

size_t lean_signature_binders_end(const char *text) {
        const char *p;

        assert(text);

        p = skip_blanks_and_comments(text);
        if (!p || bracket_at(p, 1) == 0)
                return 0;
        for (;;) {
                p = bracket_group_end(p);
                if (!p)
                        return 0;
                p = skip_blanks_and_comments(p);
                if (!p)
                        return 0;
                if (*p == ':' && p[1] != '=')
                        return (size_t) (p - text);
                if (bracket_at(p, 1) == 0)
                        return 0;
        }
}

char *lean_attempt_command(const char *statement, const char *proof, unsigned *ret_proof_line) {
        char *s;

        assert(statement);

        /* Generated text and the user's never share a line: a trailing `--`
         * comment in the statement ends at its newline instead of swallowing
         * ":=", and the proof starts a line of its own. A statement written
         * as a signature, "(a b : Nat) : P", follows the name directly. */
        if (asprintf(&s, "theorem " LEAN_ATTEMPT_DECL_NAME "%s\n%s\n  :=\n%s",
                     lean_signature_binders_end(statement) > 0 ? "" : " :", statement, proof ?: "by sorry") < 0)
                return NULL;
        if (ret_proof_line)
                *ret_proof_line = 3 + count_lines(statement);
        return s;
}

char *lean_tactic_block(const char *tactic) {
        size_t len, n = 0;
        char *out, *o;

        assert(tactic);

        len = strlen(tactic);
        while (len > 0 && strchr(" \t\r\n", tactic[len - 1]))
                len--;
        if (!memchr(tactic, '\n', len))
                return strndup(tactic, len);

        /* "(\n  t1\n  t2\n)": Lean's `paren` tactic, `"(" withoutPosition(tacticSeq) ")"`;
         * the lines at column 2 are one tacticSeq (sepByIndent: checkColEq
         * between them), the ")" at column 0 ends it. */
        for (size_t i = 0; i < len; i++)
                n += tactic[i] == '\n' ? 3 : 1;
        out = malloc(strlen("(\n  ") + n + strlen("\n)") + 1);
        if (!out)
                return NULL;
        o = stpcpy(out, "(\n  ");
        for (size_t i = 0; i < len; i++) {
                *o++ = tactic[i];
                if (tactic[i] == '\n') {
                        *o++ = ' ';
                        *o++ = ' ';
                }
        }
        strcpy(o, "\n)");
        return out;
}

char *lean_print_axioms_command(const char *name) {
        char *s;

        assert(name);

        if (asprintf(&s, "#print axioms %s", name) < 0)
                return NULL;
        return s;
}

int lean_parse_axioms_message(const char *data, char ***ret_axioms) {
        static const char depends[] = "' depends on axioms: [";
        static const char none[] = "' does not depend on any axioms";
        _cleanup_strv_free_ char **axioms = NULL;
        const char *p, *end;
        size_t n;

        assert(data);
        assert(ret_axioms);

        if (!data || data[0] != '\'')
                return 0;
        n = strlen(data);
        while (n > 0 && strchr(" \n", data[n - 1]))
                n--;

        if (n >= strlen(none) && strneq(data + n - strlen(none), none, strlen(none))) {
                axioms = new0(char *, 1);
                if (!axioms)
                        return -ENOMEM;
                *ret_axioms = TAKE_PTR(axioms);
                return 1;
        }

        p = strstr(data, depends);
        if (!p || data[n - 1] != ']')
                return 0;
        p += strlen(depends);
        end = data + n - 1;
        axioms = new0(char *, 1);
        if (!axioms)
                return -ENOMEM;
        while (p < end) {
                const char *q = p;
                char *a;
                int r;

                while (q < end && *q != ',')
                        q++;
                while (p < q && strchr(" \n", *p))
                        p++;
                a = strndup(p, q - p);
                if (!a)
                        return -ENOMEM;
                /* trailing blanks */
                for (size_t l = strlen(a); l > 0 && strchr(" \n", a[l - 1]); l--)
                        a[l - 1] = 0;
                if (isempty(a))
                        free(a);
                else {
                        r = strv_consume(&axioms, a);
                        if (r < 0)
                                return r;
                }
                p = q < end ? q + 1 : q;
        }
        *ret_axioms = TAKE_PTR(axioms);
        return 1;
}

int lean_unsolved_goals_extract(const char *data, char ***goals) {
        static const char prefix[] = "unsolved goals\n";
        const char *p;
        int n = 0;

        assert(data);
        assert(goals);

        if (!data || !strneq(data, prefix, strlen(prefix)))
                return 0;
        p = data + strlen(prefix);
        while (*p) {
                const char *end = strstr(p, "\n\n");
                size_t len = end ? (size_t) (end - p) : strlen(p);
                char *g;
                int r;

                if (len > 0) {
                        g = strndup(p, len);
                        if (!g)
                                return -ENOMEM;
                        r = strv_consume(goals, g);
                        if (r < 0)
                                return r;
                        n++;
                }
                if (!end)
                        break;
                p = end + 2;
        }
        return n;
}

/* Both checks: this module's (what each kind of text may look like) and
 * lean/commands.c's token-level one (nothing Lean could start a command at,
 * following Lean's own tokenizer), which catches what a line-based check
 * misses: keywords glued to symbols, numbers or other tokens. */
bool lean_declaration_name_is_valid(const char *name) {
        return declaration_name_is_valid_basic(name) && lean_commands_decl_name_is_valid(name);
}

int lean_user_text_check(const char *text, LeanUserTextKind kind, char **ret_error) {
        int r;

        r = user_text_check_basic(text, kind, ret_error);
        if (r < 0)
                return r;
        return lean_commands_user_text_check(text, kind == LEAN_USER_TEXT_TACTIC ? LEAN_COMMANDS_TEXT_TACTIC
                                                                                 : LEAN_COMMANDS_TEXT_TERM,
                                             ret_error);
}
