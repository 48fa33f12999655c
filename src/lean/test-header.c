/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <sys/types.h>

#include "basic/strv.h"
#include "lean/header.h"

static void check_split(const char *code, const char *const *want_imports, const char *want_body) {
        LeanHeader h = {};
        _cleanup_free_ char *err = NULL;
        size_t n = 0;
        int r;

        r = lean_header_split(code, &h, &err);
        if (r < 0)
                fprintf(stderr, "split failed: %s\n", strna(err));
        assert(r == 0);
        assert(!err);
        for (; want_imports[n]; n++) {
                assert(h.imports[n]);
                if (!streq(h.imports[n], want_imports[n]))
                        fprintf(stderr, "import %zu: got %s want %s\n", n, h.imports[n], want_imports[n]);
                assert(streq(h.imports[n], want_imports[n]));
        }
        assert(h.imports[n] == NULL);
        if (want_body) {
                if (!streq(h.body, want_body))
                        fprintf(stderr, "body: got [%s] want [%s]\n", h.body, want_body);
                assert(streq(h.body, want_body));
        }
        /* positions are kept: same length, same line breaks */
        assert(strlen(h.body) == strlen(code));
        for (size_t i = 0; code[i]; i++)
                assert((code[i] == '\n') == (h.body[i] == '\n'));
        lean_header_done(&h);
}

static void check_fail(const char *code, const char *want_in_error) {
        LeanHeader h = {};
        _cleanup_free_ char *err = NULL;

        assert(lean_header_split(code, &h, &err) == -EINVAL);
        assert(err);
        if (!strstr(err, want_in_error))
                fprintf(stderr, "error: got [%s] want substring [%s]\n", err, want_in_error);
        assert(strstr(err, want_in_error));
        assert(!h.imports && !h.body);
}

static void test_module_names(void) {
        assert(lean_module_name_is_valid("Mathlib"));
        assert(lean_module_name_is_valid("Mathlib.Tactic.Ring"));
        assert(lean_module_name_is_valid("Init.Data.List.Basic"));
        assert(lean_module_name_is_valid("_private.Foo'"));
        assert(lean_module_name_is_valid("Foo.«bar-baz».Qux"));
        assert(lean_module_name_is_valid("Mathlib.Algebra.Group.ℕ"));
        assert(lean_module_name_is_valid("Foo.Bar2"));

        assert(!lean_module_name_is_valid(""));
        assert(!lean_module_name_is_valid(NULL));
        assert(!lean_module_name_is_valid("Foo..Bar"));
        assert(!lean_module_name_is_valid(".Foo"));
        assert(!lean_module_name_is_valid("Foo."));
        assert(!lean_module_name_is_valid("2Foo"));
        assert(!lean_module_name_is_valid("Foo Bar"));
        assert(!lean_module_name_is_valid("Foo\tBar"));
        assert(!lean_module_name_is_valid("Foo\nBar"));
        assert(!lean_module_name_is_valid("Foo--Bar"));
        assert(!lean_module_name_is_valid("Foo\x01"));
        assert(!lean_module_name_is_valid("Foo;"));
        assert(!lean_module_name_is_valid("Foo\"}"));
        assert(!lean_module_name_is_valid("«»"));
        assert(!lean_module_name_is_valid("«open"));
        assert(!lean_module_name_is_valid("«a\x02»"));
}

static void test_split(void) {
        /* no header at all */
        check_split("theorem foo : 1 + 1 = 2 := rfl\n", (const char *[]) { NULL },
                    "theorem foo : 1 + 1 = 2 := rfl\n");
        check_split("", (const char *[]) { NULL }, "");

        /* the common case */
        check_split("import Mathlib.Tactic\n\nexample : 2 + 2 = 4 := by norm_num\n",
                    (const char *[]) { "Mathlib.Tactic", NULL },
                    "                     \n\nexample : 2 + 2 = 4 := by norm_num\n");

        /* comments and blank lines before and between, several names per line, duplicates */
        check_split("-- a test file\n"
                    "/- block\n  /- nested -/ comment -/\n"
                    "import Mathlib.Data.Nat.Basic Mathlib.Tactic.Ring -- trailing\n"
                    "\n"
                    "import Mathlib.Tactic.Ring\r\n"
                    "import Aesop\n"
                    "open Nat\n"
                    "theorem t (n : ℕ) : n + 0 = n := by simp\n",
                    (const char *[]) { "Mathlib.Data.Nat.Basic", "Mathlib.Tactic.Ring", "Aesop", NULL }, NULL);

        /* the header ends at the first non-import token; later imports are body (Lean reports them) */
        check_split("import A\ndef x := 1\nimport B\n", (const char *[]) { "A", NULL },
                    "        \ndef x := 1\nimport B\n");

        /* "importFoo" is not the keyword; a module doc comment ends the header */
        check_split("importFoo\n", (const char *[]) { NULL }, "importFoo\n");
        check_split("import A\n/-! # Docs -/\nimport B\n", (const char *[]) { "A", NULL }, NULL);
        check_split("import A\n/-- doc -/\ndef x := 1\n", (const char *[]) { "A", NULL }, NULL);

        /* an unterminated comment ends the header and stays in the body */
        check_split("import A\n/- oops\nimport B\n", (const char *[]) { "A", NULL }, "        \n/- oops\nimport B\n");

        /* import at end of input without newline */
        check_split("import Std", (const char *[]) { "Std", NULL }, "          ");

        check_fail("import\n", "line 1: import without a module name");
        check_fail("-- hi\nimport -- nothing\n", "line 2: import without a module name");
        check_fail("import Foo..Bar\n", "invalid module name");
        check_fail("import A\nimport B;C\n", "line 2: invalid module name in import: \"B;C\"");
        check_fail("import A--B\n", "\"A--B\"");
}

/* Lean.Parser.Basic: `whitespace` steps over the character after "/-",
 * then `finishCommentBlock 1` counts "/-" and "-/". */
static void check_comment_end(const char *text, ssize_t want) {
        const char *end = lean_block_comment_end(text);

        if ((end ? end - text : -1) != want)
                fprintf(stderr, "comment [%s]: end %zd, want %zd\n", text, end ? end - text : -1, want);
        assert((end ? end - text : -1) == want);
}

static void test_block_comment_end(void) {
        check_comment_end("/- a -/", 7);
        check_comment_end("/- /- -/ -/ x", 11);
        check_comment_end("/-/-/", 5);             /* the '/' after "/-" is skipped: one whole comment */
        check_comment_end("/-/-/-/", 5);
        check_comment_end("/-/- -/", 7);           /* no nesting: "/-" + skipped '/' + "- -/" */
        check_comment_end("/--/", -1);             /* the skipped '-' cannot close it */
        check_comment_end("/-\n-/", 5);
        check_comment_end("/- -/-/", 5);
        check_comment_end("/-α-/", 6);             /* a multi-byte character skipped */
        check_comment_end("/-", -1);
        check_comment_end("/-/", -1);
        check_comment_end("/- /- -/", -1);

        /* the header splitter agrees: the comment ends, the import is read */
        check_split("/-/-/\nimport A\n", (const char *[]) { "A", NULL }, "/-/-/\n        \n");
}

static void test_header_command(void) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *f = NULL;
        char *two[] = { (char *) "Mathlib.Tactic", (char *) "Aesop", NULL };

        a = lean_header_command(two);
        assert(a && streq(a, "import Mathlib.Tactic\nimport Aesop"));
        b = lean_header_command(NULL);
        assert(b && streq(b, ""));
        c = lean_header_command((char *[]) { (char *) "Init", NULL });
        assert(c && streq(c, "import Init"));
        f = lean_imports_fingerprint(two);
        assert(f && streq(f, "Mathlib.Tactic,Aesop"));
}

int main(void) {
        test_module_names();
        test_split();
        test_block_comment_end();
        test_header_command();
        printf("test-header: ok\n");
        return 0;
}
