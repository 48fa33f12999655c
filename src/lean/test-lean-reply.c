/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Every real REPL transcript in tests/fixtures/lean-repl parses into a
 * LeanReply and back into the tool-facing JSON; a few replies are checked
 * field by field. */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fileio.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "lean/lean-reply.h"
#include "lean/message-index.h"
#include "worker/repl.h"

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* All replies of one .expected.out, decoded with the daemon's own codec. */
static json_object *load_replies(const char *path) {
        _cleanup_(repl_decoder_freep) ReplDecoder *d = NULL;
        _cleanup_free_ char *text = NULL;
        json_object *all = json_object_new_array();
        size_t size, off = 0;

        ASSERT_TRUE(all);
        ASSERT_OK(read_full_file(path, 0, &text, &size));
        ASSERT_OK(repl_decoder_new(&d, REPL_REPLY_MAX_DEFAULT));
        while (off < size) {
                json_object *reply = NULL;
                size_t used = 0;
                int r = repl_decoder_feed(d, text + off, size - off, &used, &reply);

                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", path, repl_decoder_error(d));
                        abort();
                }
                off += used;
                if (r > 0)
                        ASSERT_OK(json_object_array_add(all, reply));
        }
        ASSERT_OK(repl_decoder_finish(d));
        return all;
}

static json_object *fixture(const char *dir, const char *name) {
        _cleanup_free_ char *p = path_join(dir, name);

        ASSERT_TRUE(p);
        return load_replies(p);
}

static void parse_ok(json_object *reply, LeanReply *r) {
        _cleanup_free_ char *error = NULL;
        int k = lean_reply_parse(reply, r, &error);

        if (k < 0) {
                fprintf(stderr, "parse failed (%s): %s\n", strerror(-k), strna(error));
                fprintf(stderr, "%s\n", json_object_to_json_string(reply));
                abort();
        }
}

/* Element idx of the fixture name, parsed (the reply keeps what it needs). */
static void parse_fixture(const char *dir, const char *name, size_t idx, LeanReply *r) {
        json_object *all = fixture(dir, name);

        parse_ok(json_object_array_get_idx(all, idx), r);
        json_object_put(all);
}

/* Structural invariants every parsed reply and its JSON satisfy. */
static void check_reply(json_object *reply, const char *where, size_t *n_messages, size_t *n_sorries) {
        LeanReply r = LEAN_REPLY_INIT;
        json_object *j, *v;

        parse_ok(reply, &r);
        j = lean_reply_to_json(&r);
        ASSERT_TRUE(j);

        if (r.repl_error) {
                ASSERT_EQ(r.n_messages, 0);
                ASSERT_TRUE(lean_reply_has_errors(&r));
        } else
                /* every non-error reply names an env or a proof state */
                ASSERT_TRUE(r.env >= 0 || r.proof_state >= 0);

        for (size_t i = 0; i < r.n_messages; i++) {
                ASSERT_TRUE(r.messages[i].severity >= 0 && r.messages[i].severity < _LEAN_SEVERITY_MAX);
                ASSERT_TRUE(lean_pos_is_set(r.messages[i].pos));
                ASSERT_TRUE(r.messages[i].data);
                if (lean_pos_is_set(r.messages[i].end_pos))
                        ASSERT_TRUE(r.messages[i].end_pos.line >= r.messages[i].pos.line);
        }
        for (size_t i = 0; i < r.n_sorries; i++)
                ASSERT_TRUE(r.sorries[i].goal);

        ASSERT_TRUE(json_object_object_get_ex(j, "messages", &v));
        ASSERT_EQ(json_object_array_length(v), r.n_messages);
        ASSERT_TRUE(json_object_object_get_ex(j, "sorries", &v));
        ASSERT_EQ(json_object_array_length(v), r.n_sorries);
        ASSERT_TRUE(json_object_object_get_ex(j, "has_errors", &v));
        ASSERT_EQ(json_object_get_boolean(v), lean_reply_has_errors(&r));
        ASSERT_EQ(json_object_object_get_ex(j, "env", NULL), r.env >= 0);
        ASSERT_EQ(json_object_object_get_ex(j, "goals", NULL), r.goals != NULL);
        /* nothing known lands in extra for the REPL version of the fixtures */
        if (json_object_object_length(r.extra) != 0) {
                fprintf(stderr, "%s: unknown members: %s\n", where, json_object_to_json_string(r.extra));
                abort();
        }

        *n_messages += r.n_messages;
        *n_sorries += r.n_sorries;
        json_object_put(j);
        lean_reply_done(&r);
}

static size_t check_dir(const char *dir, size_t *n_messages, size_t *n_sorries) {
        _cleanup_(closedirp) DIR *d = NULL;
        size_t n_files = 0;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                json_object *all;

                if (l < strlen(".expected.out") || !streq(de->d_name + l - strlen(".expected.out"), ".expected.out"))
                        continue;
                all = fixture(dir, de->d_name);
                ASSERT_TRUE(json_object_array_length(all) > 0);
                for (size_t i = 0; i < json_object_array_length(all); i++)
                        check_reply(json_object_array_get_idx(all, i), de->d_name, n_messages, n_sorries);
                json_object_put(all);
                n_files++;
        }
        return n_files;
}

static void test_all_fixtures(const char *dir) {
        _cleanup_free_ char *mathlib = path_join(dir, "Mathlib");
        size_t n_messages = 0, n_sorries = 0, n;

        n = check_dir(dir, &n_messages, &n_sorries);
        ASSERT_TRUE(n >= 50);
        n += check_dir(mathlib, &n_messages, &n_sorries);
        printf("parsed %zu transcripts: %zu messages, %zu sorries\n", n, n_messages, n_sorries);
        ASSERT_TRUE(n_messages > 50);
        ASSERT_TRUE(n_sorries > 30);
}

static void test_readme(const char *dir) {
        json_object *all = fixture(dir, "readme.expected.out"), *j, *v;
        LeanReply r;

        ASSERT_EQ(json_object_array_length(all), 3);

        /* {"cmd": "def f (x : Unit) : Nat := by sorry"} */
        parse_ok(json_object_array_get_idx(all, 0), &r);
        ASSERT_EQ(r.env, 0);
        ASSERT_EQ(r.proof_state, -1);
        ASSERT_EQ(r.n_sorries, 1);
        ASSERT_EQ(r.sorries[0].proof_state, 0);
        ASSERT_EQ(r.sorries[0].pos.line, 1);
        ASSERT_EQ(r.sorries[0].pos.column, 29);
        ASSERT_EQ(r.sorries[0].end_pos.column, 34);
        ASSERT_STREQ(r.sorries[0].goal, "x : Unit\n⊢ Nat");
        ASSERT_EQ(r.n_messages, 1);
        ASSERT_EQ(r.messages[0].severity, LEAN_SEVERITY_WARNING);
        ASSERT_EQ(r.messages[0].pos.line, 1);
        ASSERT_EQ(r.messages[0].pos.column, 4);
        ASSERT_EQ(r.messages[0].end_pos.column, 5);
        ASSERT_STREQ(r.messages[0].data, "declaration uses `sorry`");
        ASSERT_FALSE(lean_reply_has_errors(&r));
        ASSERT_TRUE(lean_reply_has_sorry(&r));
        ASSERT_FALSE(lean_reply_proof_completed(&r));
        ASSERT_TRUE(r.goals == NULL);

        j = lean_reply_to_json(&r);
        ASSERT_TRUE(j);
        ASSERT_STREQ(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                     "{\"env\":0,\"messages\":[{\"severity\":\"warning\",\"pos\":{\"line\":1,\"column\":4},"
                     "\"end_pos\":{\"line\":1,\"column\":5},\"data\":\"declaration uses `sorry`\"}],"
                     "\"sorries\":[{\"pos\":{\"line\":1,\"column\":29},\"end_pos\":{\"line\":1,\"column\":34},"
                     "\"goal\":\"x : Unit\\n⊢ Nat\",\"proof_state\":0}],"
                     "\"has_errors\":false,\"has_sorry\":true}");
        json_object_put(j);
        lean_reply_done(&r);

        /* {"tactic": "apply Int.natAbs", "proofState": 0} */
        parse_ok(json_object_array_get_idx(all, 1), &r);
        ASSERT_EQ(r.env, -1);
        ASSERT_EQ(r.proof_state, 1);
        ASSERT_STREQ(r.proof_status, "Incomplete: open goals remain");
        ASSERT_EQ(strv_length(r.goals), 1);
        ASSERT_STREQ(r.goals[0], "x : Unit\n⊢ Int");
        ASSERT_FALSE(lean_reply_proof_completed(&r));
        j = lean_reply_to_json(&r);
        ASSERT_TRUE(json_object_object_get_ex(j, "proof_state", &v));
        ASSERT_EQ(json_object_get_int(v), 1);
        ASSERT_TRUE(json_object_object_get_ex(j, "goals", &v));
        ASSERT_EQ(json_object_array_length(v), 1);
        ASSERT_FALSE(json_object_object_get_ex(j, "env", NULL));
        json_object_put(j);
        lean_reply_done(&r);

        /* {"tactic": "exact -37", "proofState": 1} */
        parse_ok(json_object_array_get_idx(all, 2), &r);
        ASSERT_EQ(r.proof_state, 2);
        ASSERT_TRUE(r.goals && strv_isempty(r.goals));
        ASSERT_TRUE(lean_reply_proof_completed(&r));
        ASSERT_FALSE(lean_reply_has_errors(&r));
        lean_reply_done(&r);

        json_object_put(all);
}

static void test_repl_errors(const char *dir) {
        json_object *all;
        LeanReply r;

        parse_fixture(dir, "unknown_environment.expected.out", 0, &r);
        ASSERT_STREQ(r.repl_error, "Unknown environment.");
        ASSERT_TRUE(r.lean_error == NULL);
        ASSERT_TRUE(lean_reply_has_errors(&r));
        ASSERT_EQ(r.env, -1);
        lean_reply_done(&r);

        parse_fixture(dir, "unknown_proof_state.expected.out", 1, &r);
        ASSERT_STREQ(r.repl_error, "Unknown proof state.");
        lean_reply_done(&r);

        /* a tactic that fails in tactic mode: "Lean error:\n…" */
        all = fixture(dir, "unknown_tactic.expected.out");
        for (size_t i = 0; i < json_object_array_length(all); i++) {
                parse_ok(json_object_array_get_idx(all, i), &r);
                if (r.repl_error) {
                        ASSERT_TRUE(r.lean_error);
                        ASSERT_CONTAINS(r.lean_error, "unknown tactic");
                }
                lean_reply_done(&r);
        }
        json_object_put(all);
}

static void test_errors_and_tactic_sorries(const char *dir) {
        LeanReply r;

        /* type mismatch: an error message with positions */
        parse_fixture(dir, "app_type_mismatch.expected.out", 0, &r);
        ASSERT_TRUE(lean_reply_has_errors(&r));
        ASSERT_TRUE(lean_reply_count_severity(&r, LEAN_SEVERITY_ERROR) >= 1);
        lean_reply_done(&r);

        /* tactic-mode sorry: no positions, a proof state, status "contains sorry" */
        parse_fixture(dir, "tactic_mode_sorry.expected.out", 1, &r);
        ASSERT_EQ(r.n_sorries, 1);
        ASSERT_FALSE(lean_pos_is_set(r.sorries[0].pos));
        ASSERT_EQ(r.sorries[0].proof_state, 1);
        ASSERT_STREQ(r.sorries[0].goal, "⊢ Nat");
        ASSERT_EQ(r.proof_state, 2);
        ASSERT_STREQ(r.proof_status, "Incomplete: contains sorry");
        ASSERT_TRUE(lean_reply_has_sorry(&r));
        ASSERT_FALSE(lean_reply_proof_completed(&r));
        lean_reply_done(&r);

        /* tactic mode: a message with no source position comes as line 0 */
        parse_fixture(dir, "invalid_tactic.expected.out", 1, &r);
        ASSERT_EQ(r.n_messages, 1);
        ASSERT_EQ(r.messages[0].severity, LEAN_SEVERITY_ERROR);
        ASSERT_TRUE(lean_pos_is_set(r.messages[0].pos));
        ASSERT_EQ(r.messages[0].pos.line, 0);
        ASSERT_EQ(lean_reply_shift_lines(&r, 3), 0);
        ASSERT_EQ(r.messages[0].pos.line, 0);
        ASSERT_TRUE(lean_reply_has_errors(&r));
        ASSERT_FALSE(lean_reply_proof_completed(&r));
        lean_reply_done(&r);

        /* traces (trace_simp) and allTactics */
        parse_fixture(dir, "trace_simp.expected.out", 5, &r);
        ASSERT_EQ(strv_length(r.traces), 1);
        ASSERT_STREQ(r.traces[0], "37");
        lean_reply_done(&r);

        parse_fixture(dir, "all_tactics.expected.out", 0, &r);
        ASSERT_TRUE(r.tactics);
        ASSERT_EQ(json_object_array_length(r.tactics), 2);
        lean_reply_done(&r);

        /* pickling: the bare {"env": N} */
        parse_fixture(dir, "pickle_proof_state_1.expected.out", 0, &r);
        ASSERT_EQ(r.env, 0);
        ASSERT_EQ(r.n_messages, 0);
        ASSERT_FALSE(lean_reply_has_errors(&r));
        lean_reply_done(&r);
}

static void test_bad_shapes(void) {
        static const char *const bad[] = {
                "[]",
                "{\"env\": \"1\"}",
                "{\"env\": -1}",
                "{\"messages\": {}}",
                "{\"messages\": [{\"severity\": \"fatal\", \"pos\": {\"line\": 1, \"column\": 0}, \"data\": \"x\"}]}",
                "{\"messages\": [{\"severity\": \"error\", \"data\": \"x\"}]}",
                "{\"messages\": [{\"severity\": \"error\", \"pos\": {\"line\": 1}, \"data\": \"x\"}]}",
                "{\"messages\": [{\"severity\": \"error\", \"pos\": {\"line\": 1, \"column\": 0}}]}",
                "{\"sorries\": [{\"goal\": 3}]}",
                "{\"goals\": [\"a\", 1]}",
                "{\"message\": 5}",
                "{\"proofState\": 1.5}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_object *j = json_tokener_parse(bad[i]);
                _cleanup_free_ char *error = NULL;
                LeanReply r;

                ASSERT_TRUE(j);
                ASSERT_ERROR(lean_reply_parse(j, &r, &error), EBADMSG);
                ASSERT_TRUE(error);
                lean_reply_done(&r);
                json_object_put(j);
        }

        /* unknown members are kept, endPos null is accepted */
        json_object *j = json_tokener_parse(
                "{\"env\": 3, \"future\": [1], \"messages\": [{\"severity\": \"info\", "
                "\"pos\": {\"line\": 2, \"column\": 1}, \"endPos\": null, \"data\": \"hi\"}]}");
        LeanReply r;

        parse_ok(j, &r);
        ASSERT_TRUE(json_object_object_get_ex(r.extra, "future", NULL));
        ASSERT_FALSE(lean_pos_is_set(r.messages[0].end_pos));
        ASSERT_EQ(r.messages[0].severity, LEAN_SEVERITY_INFO);
        lean_reply_done(&r);
        json_object_put(j);
}

static void test_shift_lines(void) {
        json_object *j = json_tokener_parse(
                "{\"env\": 1, \"messages\": ["
                "{\"severity\": \"error\", \"pos\": {\"line\": 4, \"column\": 2}, \"endPos\": {\"line\": 5, \"column\": 1}, \"data\": \"a\"},"
                "{\"severity\": \"error\", \"pos\": {\"line\": 1, \"column\": 7}, \"data\": \"in the prelude\"}],"
                "\"sorries\": [{\"pos\": {\"line\": 3, \"column\": 9}, \"endPos\": {\"line\": 3, \"column\": 14}, \"goal\": \"⊢ True\", \"proofState\": 0},"
                "{\"goal\": \"⊢ False\"}]}");
        LeanReply r;

        parse_ok(j, &r);
        ASSERT_EQ(lean_reply_shift_lines(&r, 0), 0);
        ASSERT_EQ(lean_reply_shift_lines(&r, 2), 1);
        ASSERT_EQ(r.messages[0].pos.line, 2);
        ASSERT_EQ(r.messages[0].pos.column, 2);
        ASSERT_EQ(r.messages[0].end_pos.line, 3);
        ASSERT_EQ(r.messages[1].pos.line, 1);
        ASSERT_EQ(r.messages[1].pos.column, 0);
        ASSERT_FALSE(lean_pos_is_set(r.messages[1].end_pos));
        ASSERT_EQ(r.sorries[0].pos.line, 1);
        ASSERT_EQ(r.sorries[0].pos.column, 9);
        ASSERT_FALSE(lean_pos_is_set(r.sorries[1].pos));
        lean_reply_done(&r);
        json_object_put(j);
}

/* The first message of severity sev in a fixture's replies (a ref). */
static json_object *fixture_message(const char *dir, const char *name, const char *sev, const char *data_part) {
        json_object *all = fixture(dir, name), *found = NULL;

        for (size_t i = 0; i < json_object_array_length(all) && !found; i++) {
                json_object *msgs;
                if (!json_object_object_get_ex(json_object_array_get_idx(all, i), "messages", &msgs))
                        continue;
                for (size_t j = 0; j < json_object_array_length(msgs) && !found; j++) {
                        json_object *m = json_object_array_get_idx(msgs, j), *v;
                        if (json_object_object_get_ex(m, "severity", &v) && streq(json_object_get_string(v), sev) &&
                            json_object_object_get_ex(m, "data", &v) && strstr(json_object_get_string(v), data_part))
                                found = json_object_get(m);
                }
        }
        json_object_put(all);
        ASSERT_TRUE(found);
        return found;
}

/* A flood of messages (shapes from real transcripts) is cut to the budget,
 * keeping what decides has_errors/has_sorry. */
static void test_message_budget(const char *dir) {
        json_object *info = fixture_message(dir, "def_eval.expected.out", "info", "rfl");
        json_object *sorry = fixture_message(dir, "have_by_sorry.expected.out", "warning", "declaration uses");
        json_object *error = fixture_message(dir, "app_type_mismatch.expected.out", "error", "");
        json_object *reply = json_object_new_object(), *msgs = json_object_new_array();
        LeanMessageBudget b = LEAN_MESSAGE_BUDGET_INIT(5, 4096);
        LeanReply r;

        for (unsigned i = 0; i < 1000; i++)
                ASSERT_OK(json_object_array_add(msgs, json_object_get(info)));
        ASSERT_OK(json_object_array_add(msgs, json_object_get(sorry)));
        ASSERT_OK(json_object_array_add(msgs, json_object_get(error)));
        ASSERT_OK(json_object_object_add(reply, "messages", msgs));
        ASSERT_OK(json_object_object_add(reply, "env", json_object_new_int(1)));

        json_object *old = NULL;
        ASSERT_OK(lean_reply_bound_messages(reply, &b, &old));
        ASSERT_TRUE(old); /* the original array, for the caller to release */
        ASSERT_EQ(json_object_array_length(old), 1002);
        json_object_put(old);
        ASSERT_TRUE(b.truncated);
        ASSERT_EQ(b.messages_total, 1002);
        ASSERT_EQ(b.messages_returned, 5);
        parse_ok(reply, &r);
        ASSERT_EQ(r.n_messages, 5);
        ASSERT_TRUE(lean_reply_has_errors(&r));
        ASSERT_TRUE(lean_reply_has_sorry(&r));
        /* the original order stays: three infos, the sorry warning, the error */
        ASSERT_EQ(r.messages[0].severity, LEAN_SEVERITY_INFO);
        ASSERT_EQ(r.messages[3].severity, LEAN_SEVERITY_WARNING);
        ASSERT_EQ(r.messages[4].severity, LEAN_SEVERITY_ERROR);
        lean_reply_done(&r);

        /* a second reply of the same job finds the budget spent */
        json_object *again = json_object_new_object(), *m2 = json_object_new_array();
        ASSERT_OK(json_object_array_add(m2, json_object_get(info)));
        ASSERT_OK(json_object_object_add(again, "messages", m2));
        ASSERT_OK(lean_reply_bound_messages(again, &b, NULL));
        ASSERT_EQ(json_object_array_length(json_object_object_get(again, "messages")), 0);
        ASSERT_EQ(b.messages_total, 1003);
        json_object_put(again);
        json_object_put(reply);

        /* the text budget: a long error is cut on a character boundary, with a marker */
        char *big = malloc(10000);
        ASSERT_TRUE(big);
        for (size_t i = 0; i + 2 < 10000; i += 2)
                memcpy(big + i, "\xc3\xa9", 2);
        big[9998] = 0;
        json_object *long_error = json_object_get(error);
        ASSERT_OK(json_object_object_add(long_error, "data", json_object_new_string(big)));
        reply = json_object_new_object();
        msgs = json_object_new_array();
        ASSERT_OK(json_object_array_add(msgs, json_object_get(long_error)));
        ASSERT_OK(json_object_array_add(msgs, json_object_get(info)));
        ASSERT_OK(json_object_object_add(reply, "messages", msgs));
        b = LEAN_MESSAGE_BUDGET_INIT(100, 1001);
        ASSERT_OK(lean_reply_bound_messages(reply, &b, NULL));
        parse_ok(reply, &r);
        ASSERT_EQ(r.n_messages, 1); /* the info found no bytes left */
        ASSERT_TRUE(strlen(r.messages[0].data) < 1100);
        ASSERT_CONTAINS(r.messages[0].data, "[cut: ");
        ASSERT_TRUE(utf8_is_valid_n(r.messages[0].data, strlen(r.messages[0].data), NULL));
        ASSERT_EQ(b.texts_cut, 1);
        ASSERT_EQ(b.messages_total, 2);
        lean_reply_done(&r);
        json_object_put(reply);
        json_object_put(long_error);
        free(big);

        /* within budget: nothing changes */
        reply = json_object_new_object();
        msgs = json_object_new_array();
        ASSERT_OK(json_object_array_add(msgs, json_object_get(info)));
        ASSERT_OK(json_object_object_add(reply, "messages", msgs));
        b = LEAN_MESSAGE_BUDGET_INIT(100, 4096);
        ASSERT_OK(lean_reply_bound_messages(reply, &b, &old));
        ASSERT_FALSE(b.truncated);
        ASSERT_TRUE(old == NULL);
        ASSERT_TRUE(json_object_object_get(reply, "messages") == msgs);
        json_object_put(reply);

        json_object_put(info);
        json_object_put(sorry);
        json_object_put(error);
}

/* A flood as the REPL sends it (pretty-printed, message shapes from real
 * transcripts): the decoder indexes the messages while it parses them, in
 * chunks, and bounding with that index gives exactly what bounding without
 * it gives; the dropped messages share no object with the result. */
static void test_decoder_index(const char *dir) {
        json_object *shapes[4] = {
                fixture_message(dir, "app_type_mismatch.expected.out", "error", ""),
                fixture_message(dir, "have_by_sorry.expected.out", "warning", "declaration uses"),
                fixture_message(dir, "def_eval.expected.out", "info", "rfl"),
                NULL,
        };
        json_object *src = json_object_new_object(), *msgs = json_object_new_array();
        size_t n = 3001;
        char long_text[3000];

        memset(long_text, 'x', sizeof long_text - 1);
        long_text[sizeof long_text - 1] = 0;

        /* an ordinary warning: the sorry one with other text */
        shapes[3] = json_object_new_object();
        json_object_object_foreach(shapes[1], wk, wv)
                ASSERT_OK(json_object_object_add(shapes[3], wk, streq(wk, "data") ?
                                                 json_object_new_string("unused variable `h`") :
                                                 json_object_get(wv)));
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_new_object();
                json_object_object_foreach(shapes[(i * 7) % 4], fk, fv)
                        ASSERT_OK(json_object_object_add(m, fk, json_object_get(fv)));
                if (i % 100 == 5) /* some long texts, for the byte budget */
                        ASSERT_OK(json_object_object_add(m, "data", json_object_new_string(long_text)));
                ASSERT_OK(json_object_array_add(msgs, m));
        }
        ASSERT_OK(json_object_object_add(src, "messages", msgs));
        ASSERT_OK(json_object_object_add(src, "env", json_object_new_int(4)));

        const char *text = json_object_to_json_string_ext(src, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
        size_t len = strlen(text);
        _cleanup_(repl_decoder_freep) ReplDecoder *d = NULL;
        json_object *reply = NULL, *plain = json_tokener_parse(text), *old = NULL, *plain_old = NULL;
        size_t off = 0;

        ASSERT_TRUE(plain);
        ASSERT_OK(repl_decoder_new(&d, 0));
        while (off < len && !reply) {
                size_t used, chunk = MIN(len - off, (size_t) 1 + (off * 31) % 4096);
                ASSERT_TRUE(repl_decoder_feed(d, text + off, chunk, &used, &reply) >= 0);
                off += used;
        }
        ASSERT_TRUE(reply);
        ASSERT_TRUE(json_object_equal(reply, plain));

        json_object *a = json_object_object_get(reply, "messages");
        LeanMessageIndex *idx = lean_message_index_get(a);
        ASSERT_TRUE(idx);           /* indexed while parsed */
        ASSERT_EQ(idx->n, n);
        for (size_t i = 0; i < n; i++) {
                size_t l;
                ASSERT_EQ(idx->class[i], lean_message_class(json_object_array_get_idx(a, i), &l));
                ASSERT_EQ(idx->len[i], l);
        }
        ASSERT_TRUE(lean_message_index_get(json_object_object_get(plain, "messages")) == NULL);

        for (unsigned t = 0; t < 3; t++) {
                size_t budgets[3][2] = { { 200, 256 * 1024 }, { 50, 2000 }, { 5000, 100000 } };
                LeanMessageBudget b1 = LEAN_MESSAGE_BUDGET_INIT(budgets[t][0], budgets[t][1]), b2 = b1;
                json_object *r1 = json_object_get(reply), *r2 = json_object_get(plain);

                if (t > 0) { /* fresh trees: the first pass changed them */
                        json_object_put(r1);
                        json_object_put(r2);
                        r1 = NULL;
                        d = repl_decoder_free(d);
                        ASSERT_OK(repl_decoder_new(&d, 0));
                        off = 0;
                        while (off < len && !r1) {
                                size_t used;
                                ASSERT_TRUE(repl_decoder_feed(d, text + off, MIN(len - off, (size_t) 65536), &used, &r1) >= 0);
                                off += used;
                        }
                        ASSERT_TRUE(lean_message_index_get(json_object_object_get(r1, "messages")));
                        r2 = json_tokener_parse(text);
                }
                ASSERT_OK(lean_reply_bound_messages(r1, &b1, &old));
                ASSERT_OK(lean_reply_bound_messages(r2, &b2, &plain_old));
                ASSERT_TRUE(json_object_equal(r1, r2));
                ASSERT_EQ(b1.messages_returned, b2.messages_returned);
                ASSERT_EQ(b1.bytes_used, b2.bytes_used);
                ASSERT_EQ(b1.texts_cut, b2.texts_cut);
                ASSERT_TRUE(b1.truncated == b2.truncated);
                if (old) {
                        /* nothing kept is still in the dropped array, nor any part of a cut copy */
                        json_object *kept = json_object_object_get(r1, "messages");
                        for (size_t i = 0; i < json_object_array_length(old); i++) {
                                json_object *m = json_object_array_get_idx(old, i);
                                if (!m)
                                        continue;
                                for (size_t j = 0; j < json_object_array_length(kept); j++) {
                                        json_object *km = json_object_array_get_idx(kept, j);
                                        ASSERT_TRUE(km != m);
                                        json_object_object_foreach(km, key, val)
                                                ASSERT_TRUE(json_object_object_get(m, key) != val);
                                }
                        }
                }
                json_object_put(old);
                json_object_put(plain_old);
                old = plain_old = NULL;
                json_object_put(r1);
                json_object_put(r2);
        }

        json_object_put(reply);
        json_object_put(plain);
        json_object_put(src);
        for (size_t i = 0; i < ELEMENTSOF(shapes); i++)
                json_object_put(shapes[i]);
}

int main(int argc, char **argv) {
        const char *dir = getenv("LEAN_REPL_FIXTURES") ?: (argc > 1 ? argv[1] : NULL);

        if (!dir) {
                fprintf(stderr, "LEAN_REPL_FIXTURES not set\n");
                return EXIT_TEST_SKIP;
        }
        test_all_fixtures(dir);
        test_decoder_index(dir);
        test_readme(dir);
        test_repl_errors(dir);
        test_errors_and_tactic_sorries(dir);
        test_bad_shapes();
        test_shift_lines();
        test_message_budget(dir);
        printf("OK\n");
        return 0;
}
