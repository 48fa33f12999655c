/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The import header splitter: never crashes, keeps positions (same length,
 * newlines where they were, only import commands blanked), every import a
 * valid module name, the imports in the command it builds, and it skips
 * leading comments exactly as Lean's `whitespace` does (lean-model.c): when
 * Lean's first token is `import` the splitter reads a header, and never
 * when Lean's first token is something else. */

#include <string.h>

#include "basic/macro.h"
#include "basic/strv.h"
#include "fuzz.h"
#include "lean-model.h"
#include "lean/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *code = NULL, *err = NULL, *cmd = NULL, *fp = NULL;
        LeanHeader h = {};
        size_t n, first;
        bool lean_import, unterminated = false;
        int r;

        if (size > 64 * 1024)
                return 0;
        code = strndup((const char *) data, size);
        FUZZ_ASSERT(code);
        n = strlen(code);

        r = lean_header_split(code, &h, &err);
        if (r < 0) {
                FUZZ_ASSERT(r == -EINVAL);
                FUZZ_ASSERT(err);
                FUZZ_ASSERT(!h.imports && !h.body);
        } else {
                FUZZ_ASSERT(h.imports && h.body);
                FUZZ_ASSERT(strlen(h.body) == n);
                FUZZ_ASSERT(h.header_end <= n);
                for (size_t i = 0; i < n; i++) {
                        FUZZ_ASSERT((code[i] == '\n') == (h.body[i] == '\n'));
                        FUZZ_ASSERT(h.body[i] == code[i] || (h.body[i] == ' ' && i < h.header_end));
                }
                FUZZ_ASSERT(strv_isempty(h.imports) == (h.header_end == 0));
                STRV_FOREACH(i, h.imports)
                        FUZZ_ASSERT(lean_module_name_is_valid(*i));
                cmd = lean_header_command(h.imports);
                fp = lean_imports_fingerprint(h.imports);
                FUZZ_ASSERT(cmd && fp);
                STRV_FOREACH(i, h.imports)
                        FUZZ_ASSERT(strstr(cmd, *i) && strstr(fp, *i));
        }

        /* Lean's view of the first token */
        if (model_utf8_valid(code, n)) {
                first = model_whitespace(code, n, 0, &unterminated);
                lean_import = !unterminated && strncmp(code + first, "import", 6) == 0 &&
                              strchr(" \t\r\n", code[first + 6]) && code[first + 6] != 0;
                lean_import = lean_import || (!unterminated && n - first == 6 && strcmp(code + first, "import") == 0);
                if (r == 0 && lean_import != !strv_isempty(h.imports))
                        FUZZ_FAIL("Lean's first token %s `import` (offset %zu) but the splitter read %zu imports",
                                  lean_import ? "is" : "is not", first, strv_length(h.imports));
                if (r < 0 && !lean_import)
                        FUZZ_FAIL("no import for Lean at offset %zu, yet the splitter refused: %s", first, err);
        }
        lean_header_done(&h);
        return 0;
}
