/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The default root modules of Lake configurations shaped like real ones:
 * `lake new` templates (std, math, exe; lean and toml), Mathlib's, a
 * multi-library package, computed roots, comments. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "lean/lakefile.h"

static void check(const char *text, LakefileKind kind, const char *expected) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&joined, &len);

        ASSERT_TRUE(f);
        ASSERT_OK(lean_lakefile_default_roots(text, kind, &l));
        STRV_FOREACH(m, l)
                fprintf(f, "%s%s", m == l ? "" : " ", *m);
        fclose(f);
        if (!streq(joined, expected)) {
                fprintf(stderr, "roots of:\n%s\n-> \"%s\", expected \"%s\"\n", text, joined, expected);
                abort();
        }
}

static void test_toml(void) {
        /* lake new foo .toml: the default target is the exe; its library is the project's */
        check("name = \"foo\"\nversion = \"0.1.0\"\ndefaultTargets = [\"foo\"]\n\n"
              "[[lean_lib]]\nname = \"Foo\"\n\n[[lean_exe]]\nname = \"foo\"\nroot = \"Main\"\n",
              LAKEFILE_TOML, "Foo");
        check("name = \"foo\"\nversion = \"0.1.0\"\ndefaultTargets = [\"Foo\"]\n\n"
              "[[lean_lib]]\nname = \"Foo\"\n\n[[lean_exe]]\nname = \"foo\"\nroot = \"Main\"\n",
              LAKEFILE_TOML, "Foo");
        /* lake new foo math.toml */
        check("name = \"foo\"\nversion = \"0.1.0\"\nkeywords = [\"math\"]\ndefaultTargets = [\"Foo\"]\n\n"
              "[leanOptions]\npp.unicode.fun = true # pretty-prints `fun a ↦ b`\nautoImplicit = false\n\n"
              "[[require]]\nname = \"mathlib\"\nscope = \"leanprover-community\"\n\n"
              "[[lean_lib]]\nname = \"Foo\"\n", LAKEFILE_TOML, "Foo");
        /* no defaultTargets: every library; explicit roots over lines, with comments */
        check("name = \"demo\"\n[[lean_lib]]\nname = \"Demo\"\nroots = [\n  \"Demo.Basic\", # the core\n  'Demo.Extra',\n]\n"
              "[[lean_lib]]\nname = \"Other\"\n", LAKEFILE_TOML, "Demo.Basic Demo.Extra Other");
        /* roots that are not plain strings: nothing rather than a guess */
        check("[[lean_lib]]\nname = \"A\"\nroots = [\"A\\u0042\"]\n[[lean_lib]]\nname = \"B\"\n",
              LAKEFILE_TOML, "B");
        /* a default lib among others */
        check("defaultTargets = [\"app\", \"Lib\"]\n[[lean_lib]]\nname = \"Lib\"\n[[lean_lib]]\nname = \"Tests\"\n"
              "[[lean_exe]]\nname = \"app\"\n", LAKEFILE_TOML, "Lib");
        check("", LAKEFILE_TOML, "");
}

static void test_lean(void) {
        /* lake new foo .lean: the default target is the exe */
        check("import Lake\nopen Lake DSL\n\npackage \"foo\" where\n  version := v!\"0.1.0\"\n\n"
              "lean_lib «Foo» where\n  -- add library configuration options here\n\n"
              "@[default_target]\nlean_exe \"foo\" where\n  root := `Main\n", LAKEFILE_LEAN, "«Foo»");
        check("import Lake\nopen Lake DSL\n\npackage \"foo\" where\n  version := v!\"0.1.0\"\n\n"
              "@[default_target]\nlean_lib «Foo» where\n  -- add library configuration options here\n",
              LAKEFILE_LEAN, "«Foo»");
        /* Mathlib's shape */
        check("import Lake\nopen Lake DSL\n\npackage mathlib where\n  leanOptions := mathlibLeanOptions\n\n"
              "@[default_target]\nlean_lib Mathlib where\n  -- Enforce Mathlib's default linters and style options.\n"
              "  leanOptions := mathlibLeanOptions\n\nlean_lib Cache where\n  moreLeanArgs := #[\"-DautoImplicit=false\"]\n"
              "  roots := #[`Cache]\n\nlean_lib LongestPole where\n  roots := #[`LongestPole]\n\n"
              "lean_lib MathlibTest where\n  globs := #[.submodules `MathlibTest]\n",
              LAKEFILE_LEAN, "Mathlib");
        /* explicit roots; the attribute on the same line; old camelCase attribute */
        check("package demo\n@[default_target] lean_lib Demo where\n  roots := #[`Demo.Basic, `Demo.«Extra»]\n"
              "lean_lib Tests where\n  roots := #[`Tests]\n", LAKEFILE_LEAN, "Demo.Basic Demo.«Extra»");
        check("package demo\n\n@[defaultTarget]\nlean_lib Demo\n\nlean_lib Other\n", LAKEFILE_LEAN, "Demo");
        /* no default target at all: every library; computed roots are skipped */
        check("package demo\nlean_lib A\nlean_lib B where\n  roots := myRoots\nlean_lib C where\n  srcDir := \"src\"\n",
              LAKEFILE_LEAN, "A C");
        /* comments do not count: a commented-out library, a block comment */
        check("package demo\n-- lean_lib Old\n/- @[default_target]\nlean_lib Gone\n-/\nlean_lib Live\n",
              LAKEFILE_LEAN, "Live");
        /* an earlier library's attribute is not the next one's */
        check("@[default_target]\nlean_lib A where\n  roots := #[`A]\nlean_lib B\n", LAKEFILE_LEAN, "A");
        /* a name in text is not a declaration */
        check("package demo where\n  moreLeanArgs := #[\"lean_lib Fake\"]\nlean_lib Real\n", LAKEFILE_LEAN, "Real");
}

static void test_read(void) {
        char dir[] = "/tmp/test-lakefile-XXXXXX";
        _cleanup_free_ char *lean = NULL, *toml = NULL;
        _cleanup_strv_free_ char **l = NULL;
        FILE *f;

        ASSERT_TRUE(mkdtemp(dir));
        ASSERT_ERROR(lean_lakefile_read_default_roots(dir, &l), ENOENT);
        toml = path_join(dir, "lakefile.toml");
        lean = path_join(dir, "lakefile.lean");
        ASSERT_TRUE((f = fopen(toml, "w")));
        fputs("defaultTargets = [\"T\"]\n[[lean_lib]]\nname = \"T\"\n", f);
        fclose(f);
        ASSERT_OK(lean_lakefile_read_default_roots(dir, &l));
        ASSERT_TRUE(strv_length(l) == 1 && streq(l[0], "T"));
        l = strv_free(l);
        /* lakefile.lean wins, as in Lake */
        ASSERT_TRUE((f = fopen(lean, "w")));
        fputs("@[default_target]\nlean_lib L\n", f);
        fclose(f);
        ASSERT_OK(lean_lakefile_read_default_roots(dir, &l));
        ASSERT_TRUE(strv_length(l) == 1 && streq(l[0], "L"));
        unlink(lean);
        unlink(toml);
        rmdir(dir);
}

int main(void) {
        test_toml();
        test_lean();
        test_read();
        return 0;
}
