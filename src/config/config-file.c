/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "basic/fileio.h"
#include "basic/path-util.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "config/config-internal.h"
#include "lh-build-config.h"

/* ---- file --------------------------------------------------------------- */

static void offset_to_line_col(const char *text, size_t offset, unsigned *line, unsigned *col) {
        *line = 1;
        *col = 1;
        for (size_t i = 0; i < offset && text[i]; i++) {
                if (text[i] == '\n') {
                        (*line)++;
                        *col = 1;
                } else
                        (*col)++;
        }
}

static int config_parse_file_text(LhConfig *c, const char *path, const char *text, size_t size,
                                  char **ret_error) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_tokener *tok;
        enum json_tokener_error jerr;
        size_t end, bad;
        unsigned line, col;
        int r;

        if (!utf8_is_valid_n(text, size, &bad)) {
                offset_to_line_col(text, bad, &line, &col);
                return file_error(ret_error, -EINVAL, path, "not valid UTF-8 (line %u column %u)", line, col);
        }
        if (size > INT32_MAX)
                return file_error(ret_error, -EFBIG, path, "too large");

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, text, (int) size);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (jerr == json_tokener_continue)
                return file_error(ret_error, -EINVAL, path, "unexpected end of input (not a complete JSON object)");
        if (jerr != json_tokener_success) {
                /* Strict mode also fails on text after a complete value: tell that apart. */
                bool complete = false;
                if (end > 0 && end <= size) {
                        tok = json_tokener_new();
                        if (!tok)
                                return -ENOMEM;
                        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
                        json_object *prefix = json_tokener_parse_ex(tok, text, (int) end);
                        complete = prefix && json_tokener_get_error(tok) == json_tokener_success;
                        json_object_put(prefix);
                        json_tokener_free(tok);
                }
                offset_to_line_col(text, end, &line, &col);
                if (complete)
                        return file_error(ret_error, -EINVAL, path, "trailing garbage at line %u column %u", line, col);
                return file_error(ret_error, -EINVAL, path, "JSON syntax error at line %u column %u: %s",
                                  line, col, json_tokener_error_desc(jerr));
        }
        end += strspn(text + end, " \t\r\n");
        if (end < size) {
                offset_to_line_col(text, end, &line, &col);
                return file_error(ret_error, -EINVAL, path, "trailing garbage at line %u column %u", line, col);
        }
        if (!json_object_is_type(root, json_type_object))
                return file_error(ret_error, -EINVAL, path, "top level must be a JSON object, got %s",
                                  json_type_article(json_object_get_type(root)));

        json_object_object_foreach(root, section, sv) {
                bool known = false;

                for (size_t i = 0; i < config_table_n; i++) {
                        const char *k = config_table[i].key;
                        size_t n = strcspn(k, ".");
                        if (strlen(section) == n && strneq(k, section, n))
                                known = true;
                }
                if (!known)
                        return file_error(ret_error, -EINVAL, path,
                                          "unknown section '%s' (expected memory, cache, project, worker or daemon)",
                                          section);
                if (!json_object_is_type(sv, json_type_object))
                        return file_error(ret_error, -EINVAL, path, "section '%s' must be an object, got %s",
                                          section, json_type_article(json_object_get_type(sv)));

                json_object_object_foreach(sv, name, v) {
                        _cleanup_free_ char *dotted = NULL;
                        int idx;

                        if (asprintf(&dotted, "%s.%s", section, name) < 0)
                                return -ENOMEM;
                        idx = -1;
                        for (size_t i = 0; i < config_table_n; i++)
                                if (streq(config_table[i].key, dotted))
                                        idx = (int) i;
                        if (idx < 0)
                                return file_error(ret_error, -EINVAL, path, "unknown key '%s'", dotted);

                        r = config_set_from_json(c, config_table + idx, v, path, ret_error);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int config_load_file(LhConfig *c, const char *path, bool must_exist, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        assert(c);
        assert(path);

        r = read_full_file(path, 4 * 1024 * 1024, &text, &size);
        if (r == -ENOENT && !must_exist)
                return 0;
        if (r < 0)
                return file_error(ret_error, r, path, "cannot read: %s", strerror(-r));

        r = config_parse_file_text(c, path, text, size, ret_error);
        if (r < 0)
                return r;

        free(c->config_file);
        c->config_file = strdup(path);
        if (!c->config_file)
                return -ENOMEM;
        return 1;
}

/* The default file: the first of these that exists. */
int config_default_paths(char **envp, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *xdg = envp_get(envp, "XDG_CONFIG_HOME"), *home = envp_get(envp, "HOME");
        int r;

        assert(ret);

        l = new0(char *, 1);
        if (!l)
                return -ENOMEM;
        /* per the XDG spec, a relative XDG_CONFIG_HOME is ignored */
        if (path_is_absolute(xdg))
                r = strv_consume(&l, path_join(xdg, "lean-host/config.json"));
        else if (path_is_absolute(home))
                r = strv_consume(&l, path_join(home, ".config/lean-host/config.json"));
        else
                r = 0;
        if (r < 0)
                return r;
        r = strv_consume(&l, path_join(SYSCONFDIR, "lean-host/config.json"));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}
