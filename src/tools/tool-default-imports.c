/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "tools/tool-default-imports.h"

int tool_default_imports_apply(json_object *arguments, const LeanReadiness *rd, char ***imports) {
        json_object *v;
        bool added = false;

        if (json_object_object_get_ex(arguments, "imports", &v) && !json_object_is_type(v, json_type_null))
                return 0;
        if (!rd)
                return 0;
        STRV_FOREACH(m, rd->default_roots) {
                if (strv_contains(*imports, *m))
                        continue;
                if (strv_extend(imports, *m) < 0)
                        return -ENOMEM;
                added = true;
        }
        return added;
}

void tool_default_imports_note(LhError *err, char * const *imports, bool defaulted) {
        _cleanup_free_ char *joined = NULL;
        json_object *d, *l;
        size_t len;

        if (!err || !err->code)
                return;
        joined = strv_join((char **) imports, ", ");
        len = strlen(err->message);
        snprintf(err->message + len, sizeof err->message - len, " (imports used: %s; %s)", strna(joined),
                 defaulted ? "the project's default import set, the root modules of its default lean_libs: "
                             "pass \"imports\" to choose others" :
                             "pass \"imports\" to look in other modules");
        /* the details there stay (import_failed: Lean's messages); err gets its own copy */
        d = NULL;
        if (json_object_is_type(err->details, json_type_object) && json_object_deep_copy(err->details, &d, NULL) < 0)
                d = NULL;
        if (!d)
                d = json_object_new_object();
        err->details = NULL;
        l = json_object_new_array();
        if (!d || !l) {
                json_object_put(d);
                json_object_put(l);
                return;
        }
        STRV_FOREACH(m, (char **) imports)
                (void) json_append(l, json_object_new_string(*m));
        if (json_add(d, "imports", l) < 0 ||
            json_add(d, "imports_source", json_object_new_string(defaulted ? "default" : "given")) < 0) {
                json_object_put(d);
                return;
        }
        err->details = d;
}
