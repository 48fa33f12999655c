/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "basic/tests.h"
#include "lean/query-text.h"

static void test_literal(void) {
        char *s = lean_string_literal("a\"b\\c\nd\x01");

        ASSERT_TRUE(s);
        ASSERT_TRUE(streq(s, "\"a\\\"b\\\\c\\nd\\x01\""));
        free(s);
        s = lean_string_literal("");
        ASSERT_TRUE(streq(s, "\"\""));
        free(s);
}

static void test_names(void) {
        char *t = NULL;

        ASSERT_TRUE(lean_decl_name_is_valid("Nat.add_comm"));
        ASSERT_FALSE(lean_decl_name_is_valid("Nat.add comm"));
        ASSERT_FALSE(lean_decl_name_is_valid("a\"\n#exit"));
        ASSERT_FALSE(lean_decl_name_is_valid(""));
        ASSERT_ERROR(lean_query_module_decls("Foo\"\n#exit", &t), EINVAL);
        ASSERT_TRUE(!t);
        ASSERT_ERROR(lean_query_module_decls("Foo Bar", &t), EINVAL);
        ASSERT_ERROR(lean_query_inspect("x\ny", false, 10, &t), EINVAL);
        ASSERT_OK(lean_query_module_decls("Mathlib.Order.Basic", &t));
        ASSERT_TRUE(strstr(t, "String.toName \"Mathlib.Order.Basic\""));
        ASSERT_TRUE(strstr(t, "#eval show MetaM Unit"));
        free(t);
        ASSERT_OK(lean_query_inspect("Nat.add_comm", true, 77, &t));
        ASSERT_TRUE(strstr(t, "String.toName \"Nat.add_comm\""));
        ASSERT_TRUE(strstr(t, "s.take 77"));
        ASSERT_TRUE(strstr(t, "collectAxioms"));
        free(t);
}

/* The meta programs use only constructs every Lean of the supported range
 * (v4.12 … v4.33) elaborates (query-text.c names each). */
static void test_version_proof(void) {
        char *texts[3] = {};

        ASSERT_OK(lean_query_module_decls("Mathlib.Order.Basic", &texts[0]));
        ASSERT_OK(lean_query_inspect("Nat.add_comm", true, 100, &texts[1]));
        ASSERT_OK(lean_query_search("add", "Nat", 10, &texts[2]));
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                const char *t = texts[i];

                ASSERT_TRUE(strneq(t, "set_option maxHeartbeats 0 in\n", strlen("set_option maxHeartbeats 0 in\n")));
                ASSERT_FALSE(strstr(t, "isInstanceCore"));       /* newer Lean only */
                ASSERT_FALSE(strstr(t, "allowOpaque"));          /* newer Lean only */
                ASSERT_FALSE(strstr(t, "== .reducible"));        /* no BEq ReducibilityStatus in older */
                ASSERT_FALSE(strstr(t, "[idx]!") || strstr(t, "[i]!")); /* no GetElem … ModuleIdx in older */
                ASSERT_TRUE(strstr(t, "Lean.Meta.isInstance n"));
                ASSERT_TRUE(strstr(t, "matches .reducible"));
        }
        ASSERT_TRUE(strstr(texts[0], "moduleData[idx.toNat]!"));
        ASSERT_TRUE(strstr(texts[1], "moduleNames[i.toNat]!"));
        ASSERT_TRUE(strstr(texts[1], "| .opaqueInfo v => some v.value"));
        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                free(texts[i]);
}

static void test_search_text(void) {
        char *t = NULL;

        /* user strings only ever appear escaped inside a literal */
        ASSERT_OK(lean_query_search("add\"\n#exit\n", "a \" + b", 20, &t));
        ASSERT_TRUE(strstr(t, "(\"add\\\"\\n#exit\\n\").toLower"));
        ASSERT_TRUE(strstr(t, "some \"a \\\" + b\""));
        ASSERT_TRUE(!strstr(t, "\n#exit"));
        free(t);
        ASSERT_OK(lean_query_search("comm", NULL, 5, &t));
        ASSERT_TRUE(strstr(t, "(none).map"));
        free(t);
        ASSERT_ERROR(lean_query_search("", NULL, 5, &t), EINVAL);
}

static void test_term_check(void) {
        const char *why = NULL;
        char *t = NULL;

        ASSERT_OK(lean_user_term_check("∀ n : Nat, n + 0 = n", &why));
        ASSERT_OK(lean_user_term_check("Nat.end_x = 1 ∧ List.prefix = 2", &why));
        ASSERT_OK(lean_user_term_check("#[1, 2].size = 2", &why));
        ASSERT_OK(lean_user_term_check("simp /- comment -/ ; omega", &why));
        ASSERT_ERROR(lean_user_term_check("True := trivial\ndef evil := 1", &why), EINVAL);
        ASSERT_TRUE(why);
        ASSERT_ERROR(lean_user_term_check("True\n#exit", &why), EINVAL);
        ASSERT_ERROR(lean_user_term_check("True\nimport Foo", &why), EINVAL);
        ASSERT_ERROR(lean_user_term_check("True\nend", &why), EINVAL);
        ASSERT_ERROR(lean_user_term_check("set_option maxHeartbeats 0 in decide", &why), EINVAL);
        ASSERT_ERROR(lean_user_term_check("True /- open", &why), EINVAL);
        ASSERT_ERROR(lean_user_term_check("a\x01", &why), EINVAL);
        ASSERT_ERROR(lean_user_term_check("", &why), EINVAL);

        ASSERT_OK(lean_query_proof_attempt("2 + 2 = 4", "decide", &t, &why));
        ASSERT_TRUE(streq(t, "theorem _lh_search :\n2 + 2 = 4\n:= by\n  decide"));
        free(t);
        ASSERT_OK(lean_query_proof_attempt("theorem foo (n : Nat) : n + 0 = n", "simp\nrfl", &t, &why));
        ASSERT_TRUE(streq(t, "theorem _lh_search\n(n : Nat) : n + 0 = n\n:= by\n  simp\n  rfl"));
        free(t);
        ASSERT_OK(lean_query_proof_attempt("example : True", "trivial", &t, &why));
        ASSERT_TRUE(streq(t, "theorem _lh_search\n: True\n:= by\n  trivial"));
        free(t);
        /* a goal's trailing comment never reaches the generated ":= by" */
        ASSERT_OK(lean_query_proof_attempt("True := trivial --", "-- x", &t, &why));
        ASSERT_TRUE(streq(t, "theorem _lh_search :\nTrue := trivial --\n:= by\n  -- x"));
        free(t);
        /* bare binders: a signature, not a proposition */
        ASSERT_OK(lean_query_proof_attempt("(a b : Nat) : a + b = b + a", "omega", &t, &why));
        ASSERT_TRUE(streq(t, "theorem _lh_search\n(a b : Nat) : a + b = b + a\n:= by\n  omega"));
        free(t);
        ASSERT_OK(lean_query_proof_attempt("(h : 1 = 1) → True", "intro _\ntrivial", &t, &why));
        ASSERT_TRUE(streq(t, "theorem _lh_search :\n(h : 1 = 1) → True\n:= by\n  intro _\n  trivial"));
        free(t);
        t = NULL;
        ASSERT_ERROR(lean_query_proof_attempt("True := trivial\ntheorem x : False", "sorry", &t, &why), EINVAL);
        ASSERT_ERROR(lean_query_proof_attempt("True", "trivial\n#eval IO.Process.exit 1", &t, &why), EINVAL);
        ASSERT_ERROR(lean_query_proof_attempt("theorem foo", "trivial", &t, &why), EINVAL);
        ASSERT_TRUE(!t);
}

static void test_output_lines(void) {
        json_object *reply = json_tokener_parse(
                "{\"env\": 3, \"messages\": [{\"severity\": \"info\", \"pos\": {\"line\": 2, \"column\": 0},"
                " \"data\": \"@lh:decl {\\\"name\\\": \\\"a\\\"}\\nnoise\\n@lh:decl {\\\"name\\\": \\\"b\\\"}\\n"
                "@lh:decl not json\\n@lh:end {\\\"count\\\": 2}\\n\"},"
                " {\"severity\": \"error\", \"pos\": {\"line\": 1, \"column\": 0}, \"data\": \"@lh:decl {}\"}]}");
        LeanReply lr = LEAN_REPLY_INIT;
        json_object *arr = NULL, *end = NULL;

        ASSERT_TRUE(reply);
        ASSERT_OK(lean_reply_parse(reply, &lr, NULL));
        ASSERT_TRUE(lean_query_output_lines(&lr, LEAN_QUERY_TAG_DECL, &arr) == 2);
        ASSERT_TRUE(json_object_array_length(arr) == 2);
        ASSERT_TRUE(lean_query_output_lines(&lr, LEAN_QUERY_TAG_END, &end) == 1);
        json_object_put(arr);
        json_object_put(end);

        /* all three tags in one read: the same lines, an empty array for none */
        LeanQueryOutput out = {};
        ASSERT_OK(lean_query_output_read(&lr, &out));
        ASSERT_TRUE(json_object_array_length(out.decls) == 2);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(json_object_array_get_idx(out.decls, 1), "name")), "b");
        ASSERT_TRUE(json_object_is_type(out.errors, json_type_array) && json_object_array_length(out.errors) == 0);
        ASSERT_TRUE(json_object_array_length(out.ends) == 1);
        json_object_put(out.decls);
        json_object_put(out.errors);
        json_object_put(out.ends);
        lean_reply_done(&lr);
        json_object_put(reply);
}

int main(void) {
        test_literal();
        test_names();
        test_search_text();
        test_version_proof();
        test_term_check();
        test_output_lines();
        return 0;
}
