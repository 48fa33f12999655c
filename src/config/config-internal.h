/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the config module's files: the key table (config-table.c),
 * value parsing and validation (config-parse.c), the file (config-file.c) and
 * the environment (config-env.c). Not for use outside src/config. */

#include <assert.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "config/config.h"

/* A row of the key table (config-table.c). */

typedef enum ConfigType {
        CONFIG_TYPE_U64,
        CONFIG_TYPE_BOOL,
        CONFIG_TYPE_STRING,
        CONFIG_TYPE_STRV,
        CONFIG_TYPE_ENFORCEMENT,
        CONFIG_TYPE_LOG_LEVEL,
        CONFIG_TYPE_SANDBOX,
} ConfigType;

typedef struct ConfigKey {
        const char *key;      /* "section.name" in the file */
        const char *env;      /* LEAN_HOST_MCP_* */
        ConfigType type;
        size_t offset;        /* into LhConfig */
        uint64_t def;         /* u64/bool/enum/log level default */
        const char *def_str;  /* string default (NULL: none) */
        bool zero_ok;         /* 0 means "never"/"auto" rather than breaking things */
        uint64_t min;         /* beyond the zero rule; 0 = none */
        uint64_t max;         /* inclusive; always < UINT64_MAX so clamped JSON overflows fail */
        bool (*check)(const char *s); /* string keys other than the slice: validity */
        const char *check_what;       /* … and what it wants, for the error */
        bool path_list;       /* STRV of absolute paths or "*", ':'-separated as text; may be empty */
} ConfigKey;

extern const ConfigKey config_table[];
extern const size_t config_table_n;

static inline size_t config_key_index_of(const ConfigKey *k) {
        return (size_t) (k - config_table);
}

static inline void *config_field(LhConfig *c, const ConfigKey *k) {
        return (uint8_t *) c + k->offset;
}

static inline const void *config_field_const(const LhConfig *c, const ConfigKey *k) {
        return (const uint8_t *) c + k->offset;
}

/* config-parse.c */
int file_error(char **ret_error, int error, const char *path, const char *format, ...) _printf_(4, 5);
void config_key_free_value(LhConfig *c, const ConfigKey *k);
const char *json_type_article(json_type t);
int config_set_from_text(LhConfig *c, const ConfigKey *k, const char *s, ConfigSource source, char **ret_error);
int config_set_from_json(LhConfig *c, const ConfigKey *k, json_object *v, const char *path, char **ret_error);

/* config-file.c */
int config_load_file(LhConfig *c, const char *path, bool must_exist, char **ret_error);
int config_default_paths(char **envp, char ***ret);

/* config-env.c */
const char *envp_get(char **envp, const char *name);
int config_load_env(LhConfig *c, char **envp, char **ret_error);
