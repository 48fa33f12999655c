/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/strv.h"
#include "basic/tests.h"
#include "lean/proof-text.h"

static void ok(const char *text, LeanUserTextKind kind) {
        _cleanup_free_ char *err = NULL;
        int r = lean_user_text_check(text, kind, &err);

        if (r != 0)
                fprintf(stderr, "rejected [%s]: %s\n", text, strna(err));
        ASSERT_EQ(r, 0);
        ASSERT_TRUE(!err);
}

static void bad(const char *text, LeanUserTextKind kind, const char *want) {
        _cleanup_free_ char *err = NULL;
        int r = lean_user_text_check(text, kind, &err);

        if (r != -EINVAL)
                fprintf(stderr, "accepted [%s]\n", text);
        ASSERT_EQ(r, -EINVAL);
        ASSERT_TRUE(err);
        ASSERT_CONTAINS(err, want);
}

static void test_names(void) {
        ASSERT_TRUE(lean_declaration_name_is_valid("Nat.add_comm"));
        ASSERT_TRUE(lean_declaration_name_is_valid("foo'"));
        ASSERT_TRUE(lean_declaration_name_is_valid("List.«term_∈_»"));
        ASSERT_TRUE(lean_declaration_name_is_valid("α.β₁"));
        ASSERT_FALSE(lean_declaration_name_is_valid(""));
        ASSERT_FALSE(lean_declaration_name_is_valid(NULL));
        ASSERT_FALSE(lean_declaration_name_is_valid("foo bar"));
        ASSERT_FALSE(lean_declaration_name_is_valid("foo\nbar"));
        ASSERT_FALSE(lean_declaration_name_is_valid("foo\n#eval 1"));
        ASSERT_FALSE(lean_declaration_name_is_valid("foo--x"));
        ASSERT_FALSE(lean_declaration_name_is_valid("«a /- b»"));
        ASSERT_FALSE(lean_declaration_name_is_valid("«a b»"));
        ASSERT_FALSE(lean_declaration_name_is_valid("a..b"));
        ASSERT_FALSE(lean_declaration_name_is_valid("a."));
        ASSERT_FALSE(lean_declaration_name_is_valid("1abc"));
        ASSERT_FALSE(lean_declaration_name_is_valid("a\tb"));
        ASSERT_FALSE(lean_declaration_name_is_valid("a\x01"));
}

static void test_text(void) {
        ok("∀ n : Nat, n + 0 = n", LEAN_USER_TEXT_STATEMENT);
        ok("(2 : Nat) + 2 = 4 -- theorem in a comment is fine", LEAN_USER_TEXT_STATEMENT);
        ok("/- def\n theorem -/ True", LEAN_USER_TEXT_STATEMENT);
        ok("\"theorem\".length = 7", LEAN_USER_TEXT_STATEMENT);
        ok("#[1, 2].size = 2", LEAN_USER_TEXT_STATEMENT);
        ok("Nat.theorem_like = Foo.end", LEAN_USER_TEXT_STATEMENT); /* dotted: not keywords */
        ok("by\n  intro n\n  open Nat in simp\n  set_option maxHeartbeats 400 in omega", LEAN_USER_TEXT_PROOF);
        ok("fun n => rfl", LEAN_USER_TEXT_PROOF);
        ok("rw [h'] at h₁", LEAN_USER_TEXT_TACTIC);
        ok("exact hend", LEAN_USER_TEXT_TACTIC);

        bad("True\ntheorem x : False := sorry", LEAN_USER_TEXT_STATEMENT, "line 2: \"theorem\"");
        bad("True := trivial  def x := 1", LEAN_USER_TEXT_STATEMENT, "\"def\"");
        bad("import Mathlib\nTrue", LEAN_USER_TEXT_STATEMENT, "line 1: an import line");
        bad("True\n   import Foo", LEAN_USER_TEXT_STATEMENT, "line 2: an import line");
        bad("True\n#eval 1", LEAN_USER_TEXT_STATEMENT, "\"#eval\"");
        bad("trivial #print axioms x", LEAN_USER_TEXT_PROOF, "\"#print\"");
        bad("True\nend", LEAN_USER_TEXT_STATEMENT, "\"end\"");
        bad("True\nnamespace Foo", LEAN_USER_TEXT_STATEMENT, "\"namespace\"");
        bad("True\nopen Classical", LEAN_USER_TEXT_STATEMENT, "line 2: \"open\" at the start");
        bad("True\nset_option pp.all true", LEAN_USER_TEXT_STATEMENT, "\"set_option\"");
        bad("True\n@[simp] theorem", LEAN_USER_TEXT_STATEMENT, "attribute");
        bad("True /- unterminated", LEAN_USER_TEXT_STATEMENT, "unterminated block comment");
        bad("True /- /- nested -/", LEAN_USER_TEXT_STATEMENT, "unterminated block comment");
        bad("\"open", LEAN_USER_TEXT_STATEMENT, "unterminated string");
        bad("True\x01", LEAN_USER_TEXT_STATEMENT, "control character");
        bad("by simp\nlemma foo : True := trivial", LEAN_USER_TEXT_PROOF, "\"lemma\"");
        bad("simp\nexample : True := trivial", LEAN_USER_TEXT_TACTIC, "\"example\"");
        bad(NULL, LEAN_USER_TEXT_TACTIC, "missing");
}

static void test_commands(void) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        unsigned line = 0;

        a = lean_attempt_command("∀ n : Nat, n + 0 = n -- c", "by\n  intro n\n  rfl", &line);
        ASSERT_TRUE(a);
        ASSERT_STREQ(a, "theorem _lean_host_attempt :\n∀ n : Nat, n + 0 = n -- c\n  :=\nby\n  intro n\n  rfl");
        ASSERT_EQ(line, 4u);
        b = lean_attempt_command("a\nb", NULL, &line);
        ASSERT_STREQ(b, "theorem _lean_host_attempt :\na\nb\n  :=\nby sorry");
        ASSERT_EQ(line, 5u);
        c = lean_print_axioms_command("Nat.add_comm");
        ASSERT_STREQ(c, "#print axioms Nat.add_comm");
}

/* user text never shares a line with generated text; bare binders make a
 * signature */
static void test_command_layout(void) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        /* a proof starting with a comment cannot comment out generated text */
        a = lean_attempt_command("True", "-- x\ntrivial", NULL);
        ASSERT_STREQ(a, "theorem _lean_host_attempt :\nTrue\n  :=\n-- x\ntrivial");
        b = lean_attempt_command("(a b : Nat) : a + b = b + a", "by omega", NULL);
        ASSERT_STREQ(b, "theorem _lean_host_attempt\n(a b : Nat) : a + b = b + a\n  :=\nby omega");
        c = lean_attempt_command("{α : Type} [inst : Add α] (x : α) : x + x = x + x", NULL, NULL);
        ASSERT_STREQ(c, "theorem _lean_host_attempt\n"
                        "{α : Type} [inst : Add α] (x : α) : x + x = x + x\n"
                        "  :=\n"
                        "by sorry");
}

static void test_tactic_block(void) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        a = lean_tactic_block("simp at h  \n");
        ASSERT_STREQ(a, "simp at h");
        /* the REPL parses one tactic: a script becomes one `( … )` block */
        b = lean_tactic_block("constructor\ntrivial\ntrivial");
        ASSERT_STREQ(b, "(\n  constructor\n  trivial\n  trivial\n)");
        c = lean_tactic_block("induction n with\n| zero => rfl\n| succ n ih => simp -- done\n");
        ASSERT_STREQ(c, "(\n  induction n with\n  | zero => rfl\n  | succ n ih => simp -- done\n)");
}

static void test_binders(void) {
        ASSERT_EQ(lean_signature_binders_end("(a b : Nat) : P"), 12u);
        ASSERT_EQ(lean_signature_binders_end("  (a : Nat)\n  (b : Nat) :\n  P"), 24u);
        ASSERT_EQ(lean_signature_binders_end("⦃x : Nat⦄ {y : Nat} [h : Foo (x, y)] : P"),
                  strlen("⦃x : Nat⦄ {y : Nat} [h : Foo (x, y)] "));
        ASSERT_EQ(lean_signature_binders_end("-- c\n(a : Nat) /- ) : -/ : P"), strlen("-- c\n(a : Nat) /- ) : -/ "));
        ASSERT_EQ(lean_signature_binders_end("(s : String := \")\") : P"), strlen("(s : String := \")\") "));
        /* propositions */
        ASSERT_EQ(lean_signature_binders_end("(h : P) → Q"), 0u);
        ASSERT_EQ(lean_signature_binders_end("(1 : Nat) = 1"), 0u);
        ASSERT_EQ(lean_signature_binders_end("[1, 2].length = 2"), 0u);
        ASSERT_EQ(lean_signature_binders_end("(a : Nat) := 1"), 0u);
        ASSERT_EQ(lean_signature_binders_end("∀ n : Nat, n = n"), 0u);
        ASSERT_EQ(lean_signature_binders_end("(a : Nat"), 0u);
        ASSERT_EQ(lean_signature_binders_end("a) : P"), 0u);
        ASSERT_EQ(lean_signature_binders_end(""), 0u);
}

static void test_axioms(void) {
        _cleanup_strv_free_ char **a = NULL, **b = NULL, **c = NULL;

        ASSERT_EQ(lean_parse_axioms_message("'foo' depends on axioms: [propext, Classical.choice, Quot.sound]", &a), 1);
        ASSERT_EQ(strv_length(a), 3u);
        ASSERT_STREQ(a[0], "propext");
        ASSERT_STREQ(a[1], "Classical.choice");
        ASSERT_STREQ(a[2], "Quot.sound");
        ASSERT_EQ(lean_parse_axioms_message("'Nat.add_comm' does not depend on any axioms\n", &b), 1);
        ASSERT_EQ(strv_length(b), 0u);
        ASSERT_EQ(lean_parse_axioms_message("'x' depends on axioms: [sorryAx]", &c), 1);
        ASSERT_STREQ(c[0], "sorryAx");
        ASSERT_EQ(lean_parse_axioms_message("unknown constant 'x'", &c), 0);
        ASSERT_EQ(lean_parse_axioms_message("'x' depends on axioms: [a", &c), 0);
        ASSERT_TRUE(strv_contains((char **) lean_default_allowed_axioms, "Quot.sound"));
}

static void test_goals(void) {
        _cleanup_strv_free_ char **g = NULL;

        ASSERT_EQ(lean_unsolved_goals_extract("unsolved goals\nx : Nat\n⊢ x = x\n\ncase b\n⊢ True", &g), 2);
        ASSERT_STREQ(g[0], "x : Nat\n⊢ x = x");
        ASSERT_STREQ(g[1], "case b\n⊢ True");
        ASSERT_EQ(lean_unsolved_goals_extract("type mismatch", &g), 0);
        ASSERT_EQ(strv_length(g), 2u);
}

int main(void) {
        test_names();
        test_text();
        test_commands();
        test_command_layout();
        test_binders();
        test_tactic_block();
        test_axioms();
        test_goals();
        return 0;
}
