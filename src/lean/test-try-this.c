/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "Try this" suggestions: the recorded v4.33 replies (exact? in tactic and
 * command mode), and both layouts as Lean prints them (try-this.h). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fileio.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "lean/try-this.h"

static char **parse(const char *data) {
        char **l = NULL;
        int n = lean_try_this_parse(data, &l);

        ASSERT_OK(n);
        ASSERT_EQ((size_t) n, strv_length(l));
        return l;
}

static void check(const char *data, const char * const *want) {
        _cleanup_strv_free_ char **l = parse(data);
        size_t n = 0;

        for (; want[n]; n++) {
                ASSERT_TRUE(l && l[n]);
                if (!streq(l[n], want[n])) {
                        fprintf(stderr, "suggestion %zu of %s: got \"%s\", want \"%s\"\n", n, data, l[n], want[n]);
                        abort();
                }
        }
        ASSERT_EQ(strv_length(l), n);
}

#define CHECK(data, ...) check(data, (const char * const[]) { __VA_ARGS__, NULL })
#define CHECK_NONE(data) check(data, (const char * const[]) { NULL })

static void test_layouts(void) {
        /* v4.24+ (recorded: Mathlib/exact.expected.out) */
        CHECK("Try this:\n  [apply] exact Nat.one_pos", "exact Nat.one_pos");
        CHECK("Try these:\n  [apply] expensive_meta_tactic\n  [apply] exact CustomGoal.mk✝",
              "expensive_meta_tactic", "exact CustomGoal.mk✝");
        /* a multi-line suggestion: continuation lines lose the nesting only */
        CHECK("Try this:\n  [apply] constructor\n  · simp\n    rfl\n  · trivial",
              "constructor\n· simp\n  rfl\n· trivial");
        /* apply?'s remaining subgoals are comments, not the suggestion */
        CHECK("Try this:\n  [apply] refine Nat.le_trans ?_ h\n  -- Remaining subgoals:\n  -- ⊢ a ≤ b",
              "refine Nat.le_trans ?_ h");
        CHECK("Try these:\n  [apply] refine foo ?_\n  -- Remaining subgoals:\n  -- ⊢ P\n  [apply] exact bar",
              "refine foo ?_", "exact bar");
        /* text after the nested block is not part of it */
        CHECK("Try this:\n  [apply] simp only [Nat.add_comm]\nsomething else", "simp only [Nat.add_comm]");

        /* up to ~v4.22: one line after the header, "•" items */
        CHECK("Try this: exact Nat.add_comm a b", "exact Nat.add_comm a b");
        CHECK("Try this: simp only [foo,\n    bar]", "simp only [foo,\n    bar]");
        /* try? (lean4 PR #6979): the lines after the first keep their layout
         * relative to it */
        CHECK("Try this: · induction as, a using concat.induct\n  · rfl\n  · simp_all",
              "· induction as, a using concat.induct\n  · rfl\n  · simp_all");
        CHECK("Try this: refine Nat.lt.base ?_\n-- Remaining subgoals:\n-- ⊢ P", "refine Nat.lt.base ?_");
        CHECK("Try these:\n• exact foo\n• simp only [a,\n    b]", "exact foo", "simp only [a,\n  b]");

        /* not a suggestion */
        CHECK_NONE("`exact?` could not close the goal. Try `apply?` to see partial suggestions.");
        CHECK_NONE("declaration uses `sorry`");
        CHECK_NONE("Try this:");
        CHECK_NONE("Try this:\n");
        CHECK_NONE("");
        CHECK_NONE("I said Try this: x"); /* the header starts a line */
}

static void test_proof(void) {
        char *p;

        p = lean_suggestion_to_proof("exact Nat.one_pos");
        ASSERT_TRUE(p && streq(p, "by exact Nat.one_pos"));
        free(p);
        p = lean_suggestion_to_proof("constructor\n· simp\n· trivial");
        ASSERT_TRUE(p && streq(p, "by\n  constructor\n  · simp\n  · trivial"));
        free(p);
}

/* Every info message of a recorded transcript that starts with "Try this"
 * yields its suggestion. */
static void test_recorded(const char *dir, const char *name, const char *want) {
        _cleanup_free_ char *path = path_join(dir, name), *text = NULL;
        json_tokener *tok = json_tokener_new();
        size_t size, off = 0;
        bool found = false;

        ASSERT_TRUE(path && tok);
        ASSERT_OK(read_full_file(path, 0, &text, &size));
        while (off < size) {
                _cleanup_(lean_reply_done) LeanReply lr = LEAN_REPLY_INIT;
                _cleanup_free_ char *s = NULL;
                json_object *reply;

                if (strchr(" \n", text[off])) {
                        off++;
                        continue;
                }
                reply = json_tokener_parse_ex(tok, text + off, (int) (size - off));
                ASSERT_TRUE(reply);
                off += json_tokener_get_parse_end(tok);
                json_tokener_reset(tok);
                ASSERT_OK(lean_reply_parse(reply, &lr, NULL));
                if (lean_reply_first_suggestion(&lr, &s) > 0) {
                        ASSERT_TRUE(streq(s, want));
                        found = true;
                }
                json_object_put(reply);
        }
        json_tokener_free(tok);
        ASSERT_TRUE(found);
}

int main(int argc, char **argv) {
        const char *dir = getenv("LEAN_REPL_FIXTURES") ?: (argc > 1 ? argv[1] : NULL);

        test_layouts();
        test_proof();
        if (!dir) {
                fprintf(stderr, "LEAN_REPL_FIXTURES not set: recorded replies not checked\n");
                return EXIT_TEST_SKIP;
        }
        test_recorded(dir, "Mathlib/exact.expected.out", "exact Nat.one_pos");
        test_recorded(dir, "root_goals.expected.out", "exact Nat.zero_eq_one_mod_iff.mp rfl");
        printf("OK\n");
        return 0;
}
