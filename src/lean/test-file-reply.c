/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* File mode on the recorded transcripts (tests/fixtures/lean-repl): the
 * command is the recorded one, the "tactics" records of file.expected.out,
 * file2.expected.out and all_tactics.expected.out parse, the tactic at a
 * position is the innermost one, and the unfinished rule. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fileio.h"
#include "basic/path-util.h"
#include "basic/tests.h"
#include "lean/file-reply.h"

/* The n-th JSON value of a recorded file (values separated by blank lines). */
static json_object *recorded(const char *name, unsigned n) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *dir = getenv("LEAN_REPL_FIXTURES");
        char *p;
        size_t size;

        ASSERT_TRUE(dir);
        path = path_join(dir, name);
        ASSERT_TRUE(path);
        ASSERT_OK(read_full_file(path, 0, &text, &size));
        p = text;
        for (unsigned i = 0;; i++) {
                char *end = strstr(p, "\n\n");

                if (end)
                        *end = 0;
                if (i == n) {
                        json_object *v = json_tokener_parse(p);

                        ASSERT_TRUE(v);
                        return v;
                }
                ASSERT_TRUE(end);
                p = end + 2;
        }
}

static void parse_reply(json_object *v, LeanReply *lr) {
        _cleanup_free_ char *error = NULL;

        if (lean_reply_parse(v, lr, &error) < 0) {
                fprintf(stderr, "parse: %s\n", strna(error));
                abort();
        }
}

/* A recorded file-mode reply with its tactics parsed. */
typedef struct RecordedTactics {
        json_object *v;
        LeanReply lr;
        LeanTactic *t;
        size_t n;
} RecordedTactics;

static void recorded_tactics(const char *name, RecordedTactics *ret) {
        *ret = (RecordedTactics) { .v = recorded(name, 0), .lr = LEAN_REPLY_INIT };
        parse_reply(ret->v, &ret->lr);
        ASSERT_OK(lean_tactics_parse(ret->lr.tactics, &ret->t, &ret->n, NULL));
}

static void recorded_tactics_done(RecordedTactics *r) {
        lean_tactics_free(r->t, r->n);
        lean_reply_done(&r->lr);
        json_object_put(r->v);
}

static void test_command(void) {
        json_object *cmd = lean_file_command("test/file.lean"), *rec = recorded("file.in", 0);

        /* the daemon's command is the recorded one */
        ASSERT_TRUE(cmd);
        ASSERT_TRUE(json_object_equal(cmd, rec));
        json_object_put(cmd);
        json_object_put(rec);
}

static void test_file_tactics(void) {
        RecordedTactics r;

        recorded_tactics("file.expected.out", &r);
        ASSERT_EQ(r.n, 1u);
        ASSERT_STREQ(r.t[0].tactic, "exact rfl");
        ASSERT_STREQ(r.t[0].goals, "⊢ f + g = 39");
        ASSERT_EQ(r.t[0].proof_state, 0);
        ASSERT_EQ(r.t[0].pos.line, 5u);
        ASSERT_EQ(r.t[0].pos.column, 29u);
        ASSERT_EQ(r.t[0].end_pos.column, 38u);
        ASSERT_TRUE(lean_file_unfinished_reason(&r.lr, NULL) == NULL);

        /* `theorem h : f + g = 39 := by exact rfl`, line 5 */
        ASSERT_EQ(lean_tactic_at(r.t, r.n, 5, 29), 0);
        ASSERT_EQ(lean_tactic_at(r.t, r.n, 5, 38), 0);   /* just after the tactic */
        ASSERT_EQ(lean_tactic_at(r.t, r.n, 5, 28), -ENOENT);
        ASSERT_EQ(lean_tactic_at(r.t, r.n, 5, 39), -ENOENT);
        ASSERT_EQ(lean_tactic_at(r.t, r.n, 4, 30), -ENOENT);

        json_object *j = lean_tactic_to_json(&r.t[0]);
        ASSERT_TRUE(j);
        ASSERT_STREQ(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                     "{\"tactic\":\"exact rfl\",\"pos\":{\"line\":5,\"column\":29},"
                     "\"end_pos\":{\"line\":5,\"column\":38},\"goals\":\"⊢ f + g = 39\",\"proof_state\":0}");
        json_object_put(j);
        recorded_tactics_done(&r);
}

static void test_all_tactics(void) {
        /* two tactics on one line: `def f : Nat := by have t := 37; exact t` */
        RecordedTactics r;

        recorded_tactics("all_tactics.expected.out", &r);
        ASSERT_EQ(r.n, 2u);
        ASSERT_EQ(lean_tactic_at(r.t, r.n, 1, 20), 0);
        ASSERT_EQ(lean_tactic_at(r.t, r.n, 1, 33), 1);
        ASSERT_STREQ(r.t[1].goals, "t : Nat\n⊢ Nat");
        ASSERT_EQ(lean_tactic_at(r.t, r.n, 1, 31), -ENOENT); /* the `;` between them */
        recorded_tactics_done(&r);
}

static void test_nested(void) {
        /* the innermost of nested ranges wins (a `by` block around a tactic) */
        LeanTactic t[3] = {
                { .pos = { 1, 10, true }, .end_pos = { 4, 2, true }, .proof_state = 0 },
                { .pos = { 2, 2, true }, .end_pos = { 2, 20, true }, .proof_state = 1 },
                { .pos = { 2, 2, true }, .end_pos = { 2, 8, true }, .proof_state = 2 },
        };

        ASSERT_EQ(lean_tactic_at(t, 3, 2, 5), 2);
        ASSERT_EQ(lean_tactic_at(t, 3, 2, 12), 1);
        ASSERT_EQ(lean_tactic_at(t, 3, 3, 0), 0);
        ASSERT_EQ(lean_tactic_at(t, 3, 5, 0), -ENOENT);
}

static void test_sorry_at(void) {
        json_object *v = recorded("dup_sorries.expected.out", 0);
        LeanReply lr = LEAN_REPLY_INIT;

        parse_reply(v, &lr);
        ASSERT_EQ(lean_sorry_at(&lr, 1, 24), 0);
        ASSERT_EQ(lean_sorry_at(&lr, 1, 23), -ENOENT);
        lean_reply_done(&lr);
        json_object_put(v);
}

static void test_unfinished(void) {
        LeanReply lr = LEAN_REPLY_INIT;
        json_object *v = recorded("unknown_environment.expected.out", 0);
        LeanMessage m[2] = {
                { .severity = LEAN_SEVERITY_ERROR, .data = (char *) "unsolved goals\n⊢ Nat" },
                { .severity = LEAN_SEVERITY_ERROR,
                  .data = (char *) "(deterministic) timeout at `whnf`, maximum number of heartbeats (200000) has been reached" },
        };
        LeanReply fake = LEAN_REPLY_INIT;
        size_t idx;

        /* the REPL's refusal */
        parse_reply(v, &lr);
        if (!lr.repl_error) {
                /* first value of unknown_environment.expected.out is a reply; the refusal follows */
                lean_reply_done(&lr);
                json_object_put(v);
                v = recorded("unknown_environment.expected.out", 1);
                parse_reply(v, &lr);
        }
        ASSERT_TRUE(lr.repl_error);
        ASSERT_STREQ(lean_file_unfinished_reason(&lr, NULL), "repl_error");
        lean_reply_done(&lr);
        json_object_put(v);

        /* errors alone (incomplete.expected.out) do not make a file unfinished */
        v = recorded("incomplete.expected.out", 1);
        parse_reply(v, &lr);
        ASSERT_TRUE(lean_file_unfinished_reason(&lr, &idx) == NULL);
        ASSERT_EQ(idx, (size_t) -1);
        lean_reply_done(&lr);
        json_object_put(v);

        fake.messages = m;
        fake.n_messages = 1;
        ASSERT_TRUE(lean_file_unfinished_reason(&fake, NULL) == NULL);
        fake.n_messages = 2;
        ASSERT_STREQ(lean_file_unfinished_reason(&fake, &idx), "lean_timeout");
        ASSERT_EQ(idx, 1u);
        m[1].severity = LEAN_SEVERITY_WARNING;
        ASSERT_TRUE(lean_file_unfinished_reason(&fake, NULL) == NULL);
        /* wrapped by a tactic */
        m[1] = (LeanMessage) { .severity = LEAN_SEVERITY_ERROR,
                               .data = (char *) "tactic 'simp' failed, nested error:\n(deterministic) timeout at "
                                                "`isDefEq`, maximum number of heartbeats (200000) has been reached" };
        ASSERT_STREQ(lean_file_unfinished_reason(&fake, NULL), "lean_timeout");
        m[1].data = (char *) "maximum recursion depth has been reached\nuse `set_option maxRecDepth <num>` to "
                             "increase limit";
        ASSERT_STREQ(lean_file_unfinished_reason(&fake, NULL), "recursion_limit");
}

static void test_bad_shapes(void) {
        _cleanup_free_ char *error = NULL;
        json_object *bad = json_tokener_parse("[{\"tactic\": \"rfl\", \"goals\": \"\", \"pos\": {\"line\": 1}}]");
        LeanTactic *t = NULL;
        size_t n = 7;

        ASSERT_TRUE(bad);
        ASSERT_ERROR(lean_tactics_parse(bad, &t, &n, &error), EBADMSG);
        ASSERT_TRUE(error && strstr(error, "pos"));
        ASSERT_TRUE(!t && n == 0);
        json_object_put(bad);
        ASSERT_OK(lean_tactics_parse(NULL, &t, &n, NULL));
        ASSERT_TRUE(!t && n == 0);
}

int main(void) {
        test_command();
        test_file_tactics();
        test_all_tactics();
        test_nested();
        test_sorry_at();
        test_unfinished();
        test_bad_shapes();
        return 0;
}
