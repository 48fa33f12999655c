/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>

#include "basic/fileio.h"
#include "basic/path-util.h"
#include "basic/log.h"
#include "basic/string-table.h"
#include "basic/strv.h"
#include "config/config-internal.h"

/* *ret_error = prefix + the formatted message; returns error (or -ENOMEM). */
static int error_setv(char **ret_error, int error, const char *prefix, const char *format, va_list ap)
        _printf_(4, 0);
static int error_setv(char **ret_error, int error, const char *prefix, const char *format, va_list ap) {
        _cleanup_free_ char *msg = NULL;
        char *s;

        if (vasprintf(&msg, format, ap) < 0 || asprintf(&s, "%s%s", prefix, msg) < 0)
                return -ENOMEM;
        free(*ret_error);
        *ret_error = s;
        return error;
}

/* "LEAN_HOST_MCP_X (env): msg" / "memory.x (file /p): msg" / "memory.x (default): msg" */
static int config_error(char **ret_error, int error, const ConfigKey *k, ConfigSource source,
                        const char *path, const char *format, ...) _printf_(6, 7);
static int config_error(char **ret_error, int error, const ConfigKey *k, ConfigSource source,
                        const char *path, const char *format, ...) {
        _cleanup_free_ char *prefix = NULL;
        va_list ap;
        int r;

        if (!ret_error)
                return error;
        if (source == CONFIG_SOURCE_ENV)
                r = asprintf(&prefix, "%s (env): ", k->env);
        else if (source == CONFIG_SOURCE_FILE)
                r = asprintf(&prefix, "%s (file %s): ", k->key, strna(path));
        else
                r = asprintf(&prefix, "%s (%s): ", k->key, config_source_to_string(source));
        if (r < 0)
                return -ENOMEM;
        va_start(ap, format);
        r = error_setv(ret_error, error, prefix, format, ap);
        va_end(ap);
        return r;
}

/* Errors about the file as a whole (syntax, encoding). */
int file_error(char **ret_error, int error, const char *path, const char *format, ...) {
        _cleanup_free_ char *prefix = NULL;
        va_list ap;
        int r;

        if (!ret_error)
                return error;
        if (asprintf(&prefix, "file %s: ", path) < 0)
                return -ENOMEM;
        va_start(ap, format);
        r = error_setv(ret_error, error, prefix, format, ap);
        va_end(ap);
        return r;
}

void config_key_free_value(LhConfig *c, const ConfigKey *k) {
        if (k->type == CONFIG_TYPE_STRING) {
                char **p = config_field(c, k);
                *p = mfree(*p);
        } else if (k->type == CONFIG_TYPE_STRV) {
                char ***p = config_field(c, k);
                *p = strv_free(*p);
        }
}

/* ---- value parsing ------------------------------------------------------ */

/* Plain decimal digits only: no sign, no spaces, no hex/octal, no suffix. */
static int parse_u64_text(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (isempty(s))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        *ret = v;
        return 0;
}

static int parse_bool_text(const char *s) {
        static const char *const yes[] = { "1", "yes", "true", "on" }, *const no[] = { "0", "no", "false", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(s, yes[i]))
                        return 1;
                if (streq(s, no[i]))
                        return 0;
        }
        return -EINVAL;
}

static int check_u64_range(const ConfigKey *k, uint64_t v, ConfigSource source, const char *path,
                           char **ret_error) {
        if (v == 0 && !k->zero_ok)
                return config_error(ret_error, -EINVAL, k, source, path, "must be > 0");
        if (k->min > 0 && v < k->min)
                return config_error(ret_error, -ERANGE, k, source, path,
                                    "%" PRIu64 " is too small, must be >= %" PRIu64, v, k->min);
        if (v > k->max)
                return config_error(ret_error, -ERANGE, k, source, path,
                                    "%" PRIu64 " is too large, must be <= %" PRIu64, v, k->max);
        return 0;
}

/* A systemd slice name: "name.slice", unit-name characters only. */
static bool slice_name_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n <= strlen(".slice") || n > 255 || !streq(s + n - strlen(".slice"), ".slice"))
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\", *p))
                        return false;
        return true;
}

/* project.trusted_roots: "*" or absolute paths. */
static int path_list_check(const ConfigKey *k, char **l, ConfigSource source, const char *path,
                           char **ret_error) {
        STRV_FOREACH(s, l)
                if (!streq(*s, "*") && !path_is_absolute(*s))
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "'%s' is neither an absolute path nor *", *s);
        return 0;
}

/* "a:b::c" → ["a", "b", "c"] */
static int path_list_split(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = new0(char *, 1);

        if (!l)
                return -ENOMEM;
        for (const char *p = s; *p;) {
                size_t n = strcspn(p, ":");

                if (n > 0 && strv_consume(&l, strndup(p, n)) < 0)
                        return -ENOMEM;
                p += n;
                p += *p == ':';
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int command_check(const ConfigKey *k, char **argv, ConfigSource source, const char *path,
                         char **ret_error) {
        if (k->path_list)
                return path_list_check(k, argv, source, path, ret_error);
        if (strv_isempty(argv))
                return config_error(ret_error, -EINVAL, k, source, path, "must name a program (got an empty command)");
        if (isempty(argv[0]))
                return config_error(ret_error, -EINVAL, k, source, path, "program name must not be empty");
        return 0;
}

/* JSON array of strings → strv. */
static int command_from_json(const ConfigKey *k, json_object *v, ConfigSource source, const char *path,
                             char ***ret, char **ret_error) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = json_object_array_length(v);

        l = new0(char *, 1);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                const char *s;

                if (!json_object_is_type(e, json_type_string))
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "element %zu must be a string, got %s", i,
                                            json_type_to_name(json_object_get_type(e)));
                s = json_object_get_string(e);
                if ((size_t) json_object_get_string_len(e) != strlen(s))
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "element %zu contains a NUL character", i);
                if (strv_extend(&l, s) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* The enum-valued types: how their text is parsed, and what an error names. */
typedef struct ConfigEnumType {
        int (*from_string)(const char *s);
        const char *noun, *expected;
} ConfigEnumType;

static const ConfigEnumType config_enum_types[] = {
        [CONFIG_TYPE_ENFORCEMENT] = { enforcement_request_from_string, "value", "auto, scope or process" },
        [CONFIG_TYPE_LOG_LEVEL] = { log_level_from_string, "log level", "debug, info, notice, warning or error" },
        [CONFIG_TYPE_SANDBOX] = { sandbox_mode_from_string, "value", "none or bwrap" },
};

/* ... all stored as an int */
_Static_assert(sizeof(EnforcementRequest) == sizeof(int) && sizeof(SandboxMode) == sizeof(int),
               "enum-valued config fields are stored as int");

static int store_string(LhConfig *c, const ConfigKey *k, const char *s, ConfigSource source,
                        const char *path, char **ret_error) {
        char *copy;

        switch (k->type) {
        case CONFIG_TYPE_STRING:
                if (k->check ? !k->check(s) : !slice_name_is_valid(s))
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "'%s' is not %s", s, k->check_what ?: "a valid slice name (want NAME.slice)");
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
                config_key_free_value(c, k);
                *(char **) config_field(c, k) = copy;
                return 0;

        case CONFIG_TYPE_ENFORCEMENT:
        case CONFIG_TYPE_LOG_LEVEL:
        case CONFIG_TYPE_SANDBOX: {
                const ConfigEnumType *e = &config_enum_types[k->type];
                int v = e->from_string(s);

                if (v < 0)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "unknown %s '%s' (expected %s)", e->noun, s, e->expected);
                *(int *) config_field(c, k) = v;
                return 0;
        }

        default:
                abort();
        }
}

/* From an env value (or the command line): text for every type. */
int config_set_from_text(LhConfig *c, const ConfigKey *k, const char *s, ConfigSource source,
                                char **ret_error) {
        size_t bad;
        int r;

        if (!utf8_is_valid_n(s, strlen(s), &bad))
                return config_error(ret_error, -EINVAL, k, source, NULL, "not valid UTF-8 (byte %zu)", bad);

        switch (k->type) {
        case CONFIG_TYPE_U64: {
                uint64_t v;

                r = parse_u64_text(s, &v);
                if (r == -ERANGE)
                        return config_error(ret_error, r, k, source, NULL, "'%s' is out of range", s);
                if (r < 0)
                        return config_error(ret_error, r, k, source, NULL,
                                            "'%s' is not a non-negative decimal integer", s);
                r = check_u64_range(k, v, source, NULL, ret_error);
                if (r < 0)
                        return r;
                *(uint64_t *) config_field(c, k) = v;
                break;
        }

        case CONFIG_TYPE_BOOL:
                r = parse_bool_text(s);
                if (r < 0)
                        return config_error(ret_error, r, k, source, NULL, "'%s' is not a boolean", s);
                *(bool *) config_field(c, k) = r;
                break;

        case CONFIG_TYPE_STRV: {
                _cleanup_strv_free_ char **l = NULL;
                const char *p = s + strspn(s, " \t\n");

                if (*p == '[') {
                        _cleanup_(json_object_putp) json_object *j = NULL;
                        json_tokener *tok = json_tokener_new();

                        if (!tok)
                                return -ENOMEM;
                        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
                        j = json_tokener_parse_ex(tok, p, (int) strlen(p));
                        r = json_tokener_get_error(tok) == json_tokener_success &&
                            json_tokener_get_parse_end(tok) + strspn(p + json_tokener_get_parse_end(tok), " \t\n") == strlen(p);
                        json_tokener_free(tok);
                        if (!r || !json_object_is_type(j, json_type_array))
                                return config_error(ret_error, -EINVAL, k, source, NULL,
                                                    "starts with '[' but is not a JSON array of strings");
                        r = command_from_json(k, j, source, NULL, &l, ret_error);
                } else if (k->path_list)
                        r = path_list_split(s, &l);
                else {
                        r = strv_split_words(s, &l);
                        if (r == -EINVAL)
                                return config_error(ret_error, r, k, source, NULL,
                                                    "unterminated quote or trailing backslash");
                }
                if (r < 0)
                        return r;
                r = command_check(k, l, source, NULL, ret_error);
                if (r < 0)
                        return r;
                config_key_free_value(c, k);
                *(char ***) config_field(c, k) = TAKE_PTR(l);
                break;
        }

        default:
                r = store_string(c, k, s, source, NULL, ret_error);
                if (r < 0)
                        return r;
        }

        c->source[config_key_index_of(k)] = source;
        return 0;
}

static const char *const json_type_article_table[] = {
        [json_type_null] = "null",
        [json_type_boolean] = "a boolean",
        [json_type_double] = "a fractional number",
        [json_type_int] = "an integer",
        [json_type_object] = "an object",
        [json_type_array] = "an array",
        [json_type_string] = "a string",
};

DEFINE_PRIVATE_STRING_TABLE_LOOKUP_TO_STRING(json_type_article, json_type);

const char *json_type_article(json_type t) {
        return json_type_article_to_string(t) ?: "something else";
}

int config_set_from_json(LhConfig *c, const ConfigKey *k, json_object *v, const char *path,
                                char **ret_error) {
        const ConfigSource source = CONFIG_SOURCE_FILE;
        json_type t = json_object_get_type(v);
        int r;

        switch (k->type) {
        case CONFIG_TYPE_U64: {
                uint64_t u;

                if (t != json_type_int)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "expected a non-negative integer, got %s", json_type_article(t));
                if (json_object_get_int64(v) < 0)
                        return config_error(ret_error, -ERANGE, k, source, path,
                                            "%" PRIi64 " is negative", json_object_get_int64(v));
                /* json-c clamps overflow to UINT64_MAX, which every max rejects */
                u = json_object_get_uint64(v);
                r = check_u64_range(k, u, source, path, ret_error);
                if (r < 0)
                        return r;
                *(uint64_t *) config_field(c, k) = u;
                break;
        }

        case CONFIG_TYPE_BOOL:
                if (t != json_type_boolean)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "expected true or false, got %s", json_type_article(t));
                *(bool *) config_field(c, k) = json_object_get_boolean(v);
                break;

        case CONFIG_TYPE_STRV: {
                _cleanup_strv_free_ char **l = NULL;

                if (t == json_type_null) {
                        /* explicit "resolve per project" */
                        config_key_free_value(c, k);
                        break;
                }
                if (t == json_type_array)
                        r = command_from_json(k, v, source, path, &l, ret_error);
                else if (t == json_type_string && k->path_list) {
                        /* the env's text forms: "/a:/b" or a JSON array as text */
                        _cleanup_(json_object_putp) json_object *j = NULL;
                        const char *text = json_object_get_string(v);

                        if (text[strspn(text, " \t\n")] == '[') {
                                j = json_tokener_parse(text);
                                if (!json_object_is_type(j, json_type_array))
                                        return config_error(ret_error, -EINVAL, k, source, path,
                                                            "starts with '[' but is not a JSON array of strings");
                                r = command_from_json(k, j, source, path, &l, ret_error);
                        } else
                                r = path_list_split(text, &l);
                }
                else if (t == json_type_string) {
                        r = strv_split_words(json_object_get_string(v), &l);
                        if (r == -EINVAL)
                                return config_error(ret_error, r, k, source, path,
                                                    "unterminated quote or trailing backslash");
                } else
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "expected an array of strings or a string, got %s",
                                            json_type_article(t));
                if (r < 0)
                        return r;
                r = command_check(k, l, source, path, ret_error);
                if (r < 0)
                        return r;
                config_key_free_value(c, k);
                *(char ***) config_field(c, k) = TAKE_PTR(l);
                break;
        }

        default: {
                const char *s;

                if (t != json_type_string)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "expected a string, got %s", json_type_article(t));
                s = json_object_get_string(v);
                if ((size_t) json_object_get_string_len(v) != strlen(s))
                        return config_error(ret_error, -EINVAL, k, source, path, "contains a NUL character");
                r = store_string(c, k, s, source, path, ret_error);
                if (r < 0)
                        return r;
        }
        }

        c->source[config_key_index_of(k)] = source;
        return 0;
}

int config_set(LhConfig *c, const char *name, const char *value, ConfigSource source, char **ret_error) {
        int i = config_key_index(name);

        assert(c);
        assert(value);

        if (i < 0) {
                if (ret_error && asprintf(ret_error, "%s: unknown configuration key", strna(name)) < 0)
                        *ret_error = NULL;
                return -ENOENT;
        }
        return config_set_from_text(c, config_table + i, value, source, ret_error);
}

/* ---- validate ----------------------------------------------------------- */

/* Name the values (and where each came from) in the tier-order error. */
static const char *source_label(const LhConfig *c, size_t idx, char *buf, size_t size) {
        const ConfigKey *k = config_table + idx;

        switch (c->source[idx]) {
        case CONFIG_SOURCE_ENV:
                snprintf(buf, size, "env %s", k->env);
                break;
        case CONFIG_SOURCE_FILE:
                snprintf(buf, size, "file %s", strna(c->config_file));
                break;
        default:
                snprintf(buf, size, "%s", config_source_to_string(c->source[idx]) ?: "?");
        }
        return buf;
}

static int tier_order_error(const LhConfig *c, char **ret_error, const char *lo_name, size_t lo,
                            const char *hi_name, size_t hi) {
        uint64_t lo_v = *(const uint64_t *) config_field_const(c, config_table + lo),
                 hi_v = *(const uint64_t *) config_field_const(c, config_table + hi);
        char a[512], b[512];

        if (!ret_error)
                return -EINVAL;
        free(*ret_error);
        if (asprintf(ret_error,
                     "invalid RSS config: %s=%" PRIu64 " KiB exceeds %s=%" PRIu64 " KiB "
                     "(need import_switch <= post_job <= hard_kill); "
                     "%s (%s), %s (%s)",
                     lo_name, lo_v, hi_name, hi_v,
                     config_table[lo].key, source_label(c, lo, a, sizeof a),
                     config_table[hi].key, source_label(c, hi, b, sizeof b)) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

int config_validate(const LhConfig *c, char **ret_error) {
        int r;

        assert(c);

        for (size_t i = 0; i < config_table_n; i++) {
                const ConfigKey *k = config_table + i;
                ConfigSource s = c->source[i];
                const char *path = c->config_file;

                switch (k->type) {
                case CONFIG_TYPE_U64:
                        r = check_u64_range(k, *(const uint64_t *) config_field_const(c, k), s, path, ret_error);
                        if (r < 0)
                                return r;
                        break;
                case CONFIG_TYPE_STRING: {
                        const char *v = *(char *const *) config_field_const(c, k);

                        if (k->check ? !k->check(v) : !slice_name_is_valid(v))
                                return config_error(ret_error, -EINVAL, k, s, path, "not %s",
                                                    k->check_what ?: "a valid slice name");
                        break;
                }
                        break;
                case CONFIG_TYPE_STRV: {
                        char **l = *(char **const *) config_field_const(c, k);
                        if (l) {
                                r = command_check(k, l, s, path, ret_error);
                                if (r < 0)
                                        return r;
                        }
                        break;
                }
                case CONFIG_TYPE_ENFORCEMENT:
                        if (!enforcement_request_to_string(*(const EnforcementRequest *) config_field_const(c, k)))
                                return config_error(ret_error, -EINVAL, k, s, path, "invalid value");
                        break;
                case CONFIG_TYPE_LOG_LEVEL:
                        if (!log_level_to_string(*(const int *) config_field_const(c, k)))
                                return config_error(ret_error, -EINVAL, k, s, path, "invalid log level");
                        break;
                case CONFIG_TYPE_SANDBOX:
                        if (!sandbox_mode_to_string(*(const SandboxMode *) config_field_const(c, k)))
                                return config_error(ret_error, -EINVAL, k, s, path, "invalid value");
                        break;
                case CONFIG_TYPE_BOOL:
                        break;
                }
        }

        /* The tiers escalate: a cheaper planned recycle must be able to fire
         * before the next one (see the Rust reference's validate_rss_ordering). */
        const size_t soft = (size_t) config_key_index("memory.import_switch_rss_soft_kib"),
                     post = (size_t) config_key_index("memory.worker_rss_post_job_restart_kib"),
                     hard = (size_t) config_key_index("memory.worker_rss_hard_kill_kib");
        if (c->import_switch_rss_soft_kib > c->worker_rss_post_job_restart_kib)
                return tier_order_error(c, ret_error, "import_switch", soft, "post_job", post);
        if (c->worker_rss_post_job_restart_kib > c->worker_rss_hard_kill_kib)
                return tier_order_error(c, ret_error, "post_job", post, "hard_kill", hard);

        return 0;
}
