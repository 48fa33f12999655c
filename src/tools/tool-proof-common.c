/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "basic/json-util.h"
#include "basic/strv.h"
#include "lean/header.h"
#include "tools/tool-proof-common.h"

int tool_parse_imports(McpCall *call, LhProject *p, json_object *obj, const char *what, char ***ret) {
        _cleanup_strv_free_ char **imports = NULL;
        json_object *a;
        size_t n;
        int r;

        *ret = NULL;
        if (!json_object_object_get_ex(obj, "imports", &a) || json_object_is_type(a, json_type_null))
                return 0;
        if (!json_object_is_type(a, json_type_array)) {
                tool_reply_errorf(call, p, "invalid_arguments", false, "%s must be an array of module names", what);
                return 1;
        }
        n = json_object_array_length(a);
        imports = new0(char *, 1);
        if (!imports)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(a, i);
                const char *name = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

                if (!name || !lean_module_name_is_valid(name)) {
                        tool_reply_errorf(call, p, "invalid_arguments", false, "%s[%zu] is not a module name", what,
                                          i);
                        return 1;
                }
                if (strv_contains(imports, name))
                        continue;
                r = strv_extend(&imports, name);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(imports);
        return 0;
}

json_object *tool_json_strv(char * const *l) {
        return json_strv_new(l);
}
