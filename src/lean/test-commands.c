/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean/commands.h: user text that could become a Lean command is refused,
 * ordinary terms, proofs and tactics pass, names are single identifiers.
 * Also runs the same injection corpus against the checkers the tools call
 * (query-text.h lean_user_term_check, proof-text.h lean_user_text_check),
 * which now include this check: every case must be refused there too. */

#include <stdio.h>
#include <stdlib.h>

#include "basic/tests.h"
#include "lean/commands.h"
#include "lean/proof-text.h"
#include "lean/query-text.h"

static void check_ok(const char *text, LeanCommandsTextKind kind) {
        _cleanup_free_ char *err = NULL;
        int r;

        r = lean_commands_user_text_check(text, kind, &err);
        if (r != 0)
                fprintf(stderr, "refused but should pass: [%s]: %s\n", text, strna(err));
        ASSERT_EQ(r, 0);
        ASSERT_TRUE(!err);
}

static void check_refused(const char *text, const char *want_in_error) {
        _cleanup_free_ char *err = NULL;
        int r;

        r = lean_commands_user_text_check(text, LEAN_COMMANDS_TEXT_TERM, &err);
        if (r != -EINVAL)
                fprintf(stderr, "passed but should be refused: [%s]\n", text);
        ASSERT_ERROR(r, EINVAL);
        ASSERT_TRUE(err);
        if (want_in_error && !strstr(err, want_in_error))
                fprintf(stderr, "error for [%s] is [%s], expected it to mention [%s]\n", text, err, want_in_error);
        ASSERT_TRUE(!want_in_error || strstr(err, want_in_error));
        /* the tactic kind refuses the same */
        ASSERT_ERROR(lean_commands_user_text_check(text, LEAN_COMMANDS_TEXT_TACTIC, NULL), EINVAL);
}

/* Text an agent legitimately sends as a statement, goal, proof or tactic. */
static const char * const ordinary[] = {
        "∀ n : Nat, n + 0 = n",
        "(n : Nat) : n + 0 = n",
        "by\n  intro n\n  simp -- the end of it",
        "by omega",
        "fun x => x.end",                       /* one identifier: `x.end` */
        "Nat.theorem = Nat.theorem",           /* keyword as a later component */
        "«theorem» = «end»",                    /* escaped identifiers */
        "theorem' = def!",                      /* longer identifiers than the keywords */
        "h₁' ▸ hx₀'",                           /* subscripts and primes */
        "α → β → α",
        "'\"' ≠ 'a' ∧ '\\n' ≠ '\\x41' ∧ '\\u03b1' = 'α'",
        "\"theorem\" ++ \"-- not a comment\" = \"x\"",
        "/- theorem evil : False := sorry -/ True",
        "/- nested /- end -/ still comment -/ True",
        "by\n  open Classical in\n  exact em _",
        "by\n  set_option maxHeartbeats 400000 in\n  simp",
        "#[1, 2].size = 2",
        "h.1.2 = h.2.1",
        "0xff + 1e3 + 2.5 = x",
        "⟨_, rfl⟩",
        "calc a = b := by rfl\n    _ = c := by rfl",
        "show (fun (x : Nat) => x) 1 = 1 from rfl",
        "`Nat.add = `Nat.add",
        "by\n  open scoped Classical in\n  exact em _",
        "\"\\\\ \\\" \\' \\n \\r \\t \\x41 \\u03b1\" = s",  /* every escape Lean's quotedCharFn knows */
        "/-/ -/ True",                          /* the '/' after \"/-\" is skipped: no nesting */
        NULL,
};

/* Text that contains a token Lean would start a command at. The first
 * group: every checker must refuse these (asserted for all three). */
static const char * const basic_injection[] = {
        "True\ntheorem evil : False := sorry",
        "True\nimport Mathlib",
        "True\nend",
        "True\n#eval IO.println \"x\"",
        "True\n#exit",
        "True\nnamespace Foo",
        "True\n@[simp] lemma x : True := trivial",
        "True\naxiom evil : False",
        "True\nset_option maxHeartbeats 0",
        "True\ndef f := 1",
        "True /- unterminated",
        "True\nmacro \"x\" : term => `(1)",
        "True\ninstance : Inhabited Empty := sorry",
        NULL,
};

/* The second group: what a line-based check misses; refused by
 * lean_commands_user_text_check and so by the checkers the tools call. */
static const struct {
        const char *text;
        const char *why;
} subtle_injection[] = {
        { "x = '\"'\ntheorem evil : False := sorry\n-- \"",  "a char literal '\"' taken for a string opening" },
        { "r#\"a\"b\"# = \"\"\ntheorem evil : False := sorry -- \"", "a raw string taken for strings" },
        { "Nat..theorem evil : False := sorry",               "`..` then the keyword" },
        { "x.1.theorem evil : False := sorry",                "a projection then the keyword" },
        { "True ∧theorem evil : False := sorry",              "an operator glued to the keyword" },
        { "1theorem evil : False := sorry",                   "a number glued to the keyword" },
        { "0b1theorem evil : False := sorry",                 "a binary literal glued to the keyword" },
        { "'a'theorem evil : False := sorry",                 "a char literal glued to the keyword" },
        { "'atheorem evil : False := sorry",                  "an unterminated char literal" },
        { "True\nrun_cmd Lean.logInfo \"x\"",                "run_cmd (core)" },
        { "True\nrun_elab pure ()",                           "run_elab (core)" },
        { "True\nunif_hint (n : Nat) where n =?= 0 |- n + 0 =?= 0", "unif_hint (core)" },
        { "True\nseal Nat.add",                               "seal (core)" },
        { "True\nsimproc s (_) := fun _ => pure .continue",   "simproc (core)" },
        { "True\ngrind_pattern foo => bar",                   "grind_pattern (core)" },
        { "True\nbinder_predicate x \" > \" y:term => `($x > $y)", "binder_predicate (core)" },
        { "True\nalias evil := trivial",                      "alias (Batteries)" },
        { "True\nirreducible_def evil : Nat := 0",            "irreducible_def (Mathlib)" },
        { "True\nnotation3 \"x\" => 1",                       "notation3 (Mathlib)" },
        { "True\n/-! a module doc is a command -/",           "module doc comment" },
        { "True\n/-- doc -/",                                 "doc comment" },
        { "s!\"{x\ntheorem evil : False := sorry}\"",         "a term inside an interpolated string" },
        { "True\nopen Nat",                                   "open without in" },
        { "True\n  set_option pp.all true",                   "indented set_option without in" },
        { "True\x01",                                         "control character" },
        { "True \xff\xfe",                                    "invalid UTF-8" },
        { "\"unterminated",                                   "unterminated string" },
        { "«unterminated",                                    "unterminated «»" },
        /* Lean.Parser.Basic `whitespace` skips the character after "/-": "/-/-/" is a whole
         * comment, so the `theorem` line is a command and "-/ -/" no comment at all */
        { "trivial /-/-/\ntheorem injected : False := sorry\n-/ -/", "the character after /- is skipped" },
        { "True /-/-/ ∧ True\naxiom evil : False -/ -/",      "the character after /- is skipped" },
        /* an escape quotedCharFn does not know is a parse error inside the string, and
         * Lean's command loop resumes tokenizing right there */
        { "\"\\q theorem injected : False := sorry \"",     "invalid escape: Lean resumes inside the string" },
        { "\"\\x4 theorem injected : False := sorry \"",    "short \\x escape" },
        { "\"\\\ntheorem injected : False := sorry \"",     "backslash-newline" },
        { "True\nscoped instance : Inhabited Empty := sorry", "scoped (attribute kind)" },
        { "True\nlocal notation \"x\" => 1",                  "local (attribute kind)" },
        { "True\npublic theorem evil : False := sorry",       "public (module system)" },
        { "7r#\"\nopen Real\n»\" = x",                      "a number then a raw string (found by tests/fuzz)" },
        { "0x1r\"a\" = x",                                    "a hex number then a raw string" },
        { "1'\"'\ntheorem evil : False := sorry -- \"",     "a number then a char literal (found by tests/fuzz)" },
        { "1e+theorem evil : False := sorry",                 "an exponent without digits" },
        { "0xtheorem evil : False := sorry",                  "a hex prefix without digits" },
        { "H `open scoped in",                                "a name literal `open, then scoped (found by tests/fuzz)" },
        { "True\nregister_linter_set linter.x := linter.y",   "register_linter_set (core)" },
        { "True\nshow_panel_widgets [w]",                     "show_panel_widgets (core)" },
};

static void test_ordinary(void) {
        for (size_t i = 0; ordinary[i]; i++) {
                check_ok(ordinary[i], LEAN_COMMANDS_TEXT_TERM);
                check_ok(ordinary[i], LEAN_COMMANDS_TEXT_TACTIC);
        }
}

static void test_injection(void) {
        for (size_t i = 0; basic_injection[i]; i++) {
                const char *why = NULL;
                char *err = NULL;

                check_refused(basic_injection[i], NULL);
                /* the checkers the tools use today */
                ASSERT_ERROR(lean_user_term_check(basic_injection[i], &why), EINVAL);
                ASSERT_ERROR(lean_user_text_check(basic_injection[i], LEAN_USER_TEXT_STATEMENT, &err), EINVAL);
                free(err);
        }
        for (size_t i = 0; i < ELEMENTSOF(subtle_injection); i++) {
                const char *text = subtle_injection[i].text, *why = NULL;
                char *err = NULL;

                check_refused(text, NULL);
                if (lean_user_term_check(text, &why) == 0)
                        printf("GAP query-text lean_user_term_check accepts (%s): %s\n", subtle_injection[i].why, text);
                ASSERT_TRUE(lean_user_term_check(text, &why) < 0);
                if (lean_user_text_check(text, LEAN_USER_TEXT_STATEMENT, &err) == 0)
                        printf("GAP proof-text lean_user_text_check accepts (%s): %s\n", subtle_injection[i].why, text);
                free(err);
                err = NULL;
                ASSERT_TRUE(lean_user_text_check(text, LEAN_USER_TEXT_STATEMENT, &err) < 0);
                free(err);
        }
}

static void test_error_position(void) {
        _cleanup_free_ char *err = NULL;

        ASSERT_ERROR(lean_commands_user_text_check("a = b\n  ∧ c\nend", LEAN_COMMANDS_TEXT_TERM, &err), EINVAL);
        ASSERT_STREQ(err, "term line 3, column 0: `end` would start a command");
        err = mfree(err);
        ASSERT_ERROR(lean_commands_user_text_check("α ∧theorem", LEAN_COMMANDS_TEXT_TACTIC, &err), EINVAL);
        ASSERT_STREQ(err, "tactic line 1, column 3: `theorem` would start a command");
        err = mfree(err);
        ASSERT_ERROR(lean_commands_user_text_check("", LEAN_COMMANDS_TEXT_TERM, &err), EINVAL);
        ASSERT_TRUE(strstr(err, "empty"));
        ASSERT_ERROR(lean_commands_user_text_check(NULL, LEAN_COMMANDS_TEXT_TERM, NULL), EINVAL);
}

static void test_keywords(void) {
        ASSERT_TRUE(lean_command_keyword_is("end", 3));
        ASSERT_TRUE(lean_command_keyword_is("run_cmd", 7));
        ASSERT_FALSE(lean_command_keyword_is("ends", 4));
        ASSERT_FALSE(lean_command_keyword_is("by", 2));
        ASSERT_FALSE(lean_command_keyword_is("in", 2));
        /* everything the tools' own lists refuse is in the shared list too */
        static const char * const from_tools[] = {
                "import", "prelude", "def", "theorem", "lemma", "example", "abbrev", "instance", "axiom",
                "structure", "class", "inductive", "coinductive", "opaque", "namespace", "section", "end",
                "export", "variable", "universe", "attribute", "macro", "macro_rules", "syntax", "elab",
                "elab_rules", "notation", "infix", "infixl", "infixr", "prefix", "postfix",
                "declare_syntax_cat", "initialize", "builtin_initialize", "run_cmd", "run_elab", "run_meta",
                "mutual", "deriving", "private", "protected", "noncomputable", "partial", "unsafe", "omit",
                "include", "add_decl_doc", "register_option", "nonrec",
        };
        /* commands of core Lean (`@[builtin_command_parser]` and core's `syntax … : command`),
         * Batteries and Mathlib that an earlier list missed */
        static const char * const added[] = {
                "show_panel_widgets", "register_linter_set", "set_premise_selector", "set_library_suggestions",
                "test_extern", "register_hint", "grind_propagator", "builtin_grind_propagator", "public",
                "meta", "local", "scoped",
        };
        for (size_t i = 0; i < ELEMENTSOF(added); i++) {
                _cleanup_free_ char *text = NULL;

                ASSERT_TRUE(lean_command_keyword_is(added[i], strlen(added[i])));
                ASSERT_TRUE(asprintf(&text, "True\n%s x", added[i]) > 0);
                check_refused(text, added[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(from_tools); i++)
                ASSERT_TRUE(lean_command_keyword_is(from_tools[i], strlen(from_tools[i])));
}

static void test_names(void) {
        static const char * const good[] = {
                "Nat.add_comm", "Foo.«bar baz»", "h₁", "Real.π_pos", "List.get?", "Nat.end", "α", "théorème",
                NULL,
        };
        static const char * const bad[] = {
                "", "Nat.add\nimport X", "foo--bar", "a b", "end", "theorem", "open", "set_option",
                "x∧theorem", "Nat..add", ".Nat", "Nat.", "1abc", "a/-b", "«a\nb»", "«a -/ b»", "x#eval",
                "Foo.«x /- y»", "a'b\"", "x:y",
                NULL,
        };

        for (size_t i = 0; good[i]; i++) {
                if (!lean_commands_decl_name_is_valid(good[i]))
                        fprintf(stderr, "name refused: %s\n", good[i]);
                ASSERT_TRUE(lean_commands_decl_name_is_valid(good[i]));
        }
        for (size_t i = 0; bad[i]; i++) {
                if (lean_commands_decl_name_is_valid(bad[i]))
                        fprintf(stderr, "name accepted: %s\n", bad[i]);
                ASSERT_FALSE(lean_commands_decl_name_is_valid(bad[i]));
        }
        /* the name checks of the tools in use: the basic cases */
        ASSERT_FALSE(lean_decl_name_is_valid("Nat.add\nimport X"));
        ASSERT_FALSE(lean_declaration_name_is_valid("Nat.add\nimport X"));
        ASSERT_FALSE(lean_declaration_name_is_valid("foo--bar"));
        ASSERT_FALSE(lean_declaration_name_is_valid("a b"));
        /* Lean reads `x`, `∧`, `theorem` */
        ASSERT_FALSE(lean_declaration_name_is_valid("x∧theorem"));
}

/* query-text's string literal: decoding it the way Lean does gives back
 * the input, and nothing in it ends the literal early. */
static void test_string_literal(void) {
        static const char * const inputs[] = {
                "plain", "quote \" and backslash \\", "new\nline\tand\rcr", "\x01\x1f\x7f",
                "\" ++ (IO.println \"x\") ++ \"", "\\\"", "α∧β",
                NULL,
        };

        for (size_t i = 0; inputs[i]; i++) {
                _cleanup_free_ char *lit = lean_string_literal(inputs[i]), *back = NULL;
                size_t n;
                char *o;

                ASSERT_TRUE(lit);
                n = strlen(lit);
                ASSERT_TRUE(n >= 2 && lit[0] == '"' && lit[n - 1] == '"');
                ASSERT_TRUE(!strchr(lit, '\n'));
                back = malloc(n);
                ASSERT_TRUE(back);
                o = back;
                for (size_t j = 1; j < n - 1; j++) {
                        if (lit[j] == '"')
                                ASSERT_TRUE(false); /* an unescaped quote would end the literal */
                        if (lit[j] != '\\') {
                                *o++ = lit[j];
                                continue;
                        }
                        j++;
                        switch (lit[j]) {
                        case 'n': *o++ = '\n'; break;
                        case 't': *o++ = '\t'; break;
                        case 'r': *o++ = '\r'; break;
                        case '\\': *o++ = '\\'; break;
                        case '"': *o++ = '"'; break;
                        case 'x': {
                                char hex[3] = { lit[j + 1], lit[j + 2], 0 };

                                *o++ = (char) strtol(hex, NULL, 16);
                                j += 2;
                                break;
                        }
                        default:
                                ASSERT_TRUE(false);
                        }
                }
                *o = 0;
                ASSERT_STREQ(back, inputs[i]);
        }
}

int main(void) {
        test_ordinary();
        test_injection();
        test_error_position();
        test_keywords();
        test_names();
        test_string_literal();
        return 0;
}
