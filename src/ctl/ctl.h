/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by lean-hostctl's files: the connection, the facts as the bus
 * exports them (ctl-bus.c), the printing helpers (ctl-print.c) and the verbs
 * (ctl-status.c, ctl-control.c). Knows the bus API, nothing of the daemon's
 * insides. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#define SERVICE "org.leanhost.Host1"
#define MANAGER_PATH "/org/leanhost/Host1"
#define MANAGER_IFACE "org.leanhost.Host1.Manager"
#define PROJECT_IFACE "org.leanhost.Host1.Project"

enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_NOT_RUNNING = 3,
};

typedef struct Ctl {
        sd_bus *bus;
        bool system;
        bool json;
        bool color;
} Ctl;

/* colours: only on a tty, and never with NO_COLOR or TERM=dumb */

#define ANSI_NORMAL "\x1b[0m"
#define ANSI_BOLD "\x1b[1m"
#define ANSI_RED "\x1b[0;31m"
#define ANSI_GREEN "\x1b[0;32m"
#define ANSI_YELLOW "\x1b[0;33m"
#define ANSI_GREY "\x1b[0;38;5;245m"
/* ------------------------------------------------------------------------
 * the facts as the bus exports them */

typedef struct CauseCount {
        char *cause;
        uint64_t count;
} CauseCount;

typedef struct ByCause {
        CauseCount *items;
        size_t n;
} ByCause;

/* One worker of the project's pool (Workers). */
typedef struct WorkerInfo {
        uint64_t generation, rss_kib, requests_served;
        uint32_t pid;
        char *state, *scope_unit, *import_profile;
} WorkerInfo;

typedef struct WorkerList {
        WorkerInfo *items;
        size_t n;
} WorkerList;

typedef struct RestartInfo {
        char *cause; /* "" = none */
        char *reason;
        uint64_t generation;
        bool planned;
        uint64_t rss_kib, limit_kib;
} RestartInfo;

typedef struct ProjectInfo {
        char *object;
        char *id, *root, *state, *enforcement, *scope_unit, *import_profile, *toolchain, *readiness;
        uint32_t worker_pid, queue_depth, restarts_in_window;
        uint64_t worker_generation, requests_served, rss_kib, anon_kib, memory_high_kib, memory_max_kib;
        uint64_t profile_switch_count, restarts_total;
        ByCause restarts_by_cause;
        RestartInfo last_restart;
        WorkerList workers;
        uint32_t pool_max_workers;
        uint64_t pool_memory_kib;
        char *pool_memory_source;
        /* kernel facts (cgroup v2): -1 = not available */
        int64_t swap_kib, events_high, events_max, events_oom_kill;
        double psi_some_avg10, psi_full_avg10;
} ProjectInfo;

typedef struct ManagerInfo {
        char *version, *enforcement, *sandbox;
        uint32_t workers_active;
        uint64_t max_workers, restarts_total;
        ByCause restarts_by_cause;
        uint64_t import_switch_kib, post_job_kib, hard_kill_kib, sample_millis;
        uint64_t request_timeout_millis, mailbox_capacity, restart_limit, restart_window_secs;
} ManagerInfo;

typedef enum PropType {
        PROP_STRING,   /* s */
        PROP_U32,      /* u */
        PROP_U64,      /* t */
        PROP_BY_CAUSE, /* a{st} */
        PROP_RESTART,  /* (sstbtt) */
        PROP_I64,      /* x, -1 = not available (JSON null) */
        PROP_DOUBLE,   /* d, < 0 = not available (JSON null) */
        PROP_WORKERS,  /* a(tussstt) */
} PropType;

/* name on the bus → field; json: the MCP runtime-facts name where there is one;
 * nullable: 0 / "" is JSON null, as in the MCP facts. */
typedef struct PropMap {
        const char *name;
        const char *json;
        PropType type;
        size_t offset;
        bool nullable;
} PropMap;

extern const PropMap project_map[];
extern const PropMap manager_map[];

/* A left/right-aligned table with bold headers; colours do not count toward
 * widths. */
typedef struct Table {
        size_t n_columns, n_rows;
        const char *const *headers;
        const bool *right;
        char **cells;        /* n_rows * n_columns, malloc'd */
        const char **colors; /* per cell, NULL = none */
} Table;

#define FORMAT_KIB(kib) format_kib((char[16]) {}, 16, (kib))

/* ctl-bus.c */
void project_info_done(ProjectInfo *p);
void manager_info_done(ManagerInfo *m);
int ctl_call_failed(const Ctl *c, const sd_bus_error *e, int r, const char *what);
int ctl_exit_code(int r);
int get_manager(Ctl *c, ManagerInfo *ret);
int get_project(Ctl *c, const char *object, ProjectInfo *ret);
int resolve_project(Ctl *c, const char *arg, char **ret_object);
int get_project_by_argument(Ctl *c, const char *arg, ProjectInfo *ret);
int list_project_objects(Ctl *c, char ***ret);

/* ctl-print.c */
bool ctl_color_wanted(void);
const char *ctl_on(const Ctl *c, const char *code);
const char *ctl_off(const Ctl *c);
const char *state_color(const char *state);
const char *format_kib(char *buf, size_t size, uint64_t kib);
void format_kernel_facts(const ProjectInfo *p, char ev[static 64], char swap[static 16], char psi[static 16]);
json_object *by_cause_to_json(const ByCause *b);
json_object *restart_to_json(const RestartInfo *r);
int json_add_restart(json_object *o, const char *key, const RestartInfo *r);
json_object *map_to_json(const PropMap *map, const void *base);
json_object *project_to_json(const ProjectInfo *p);
int print_json(json_object *o);
void table_done(Table *t);
int table_add_row(Table *t, ...);
void table_print(const Ctl *c, const Table *t);
const char *ctl_bus_name(const Ctl *c);
void print_by_cause_inline(const ByCause *b);
void print_by_cause_table(const Ctl *c, const ByCause *b);
void print_restart_line(const Ctl *c, const RestartInfo *r);

/* verbs: ctl-status.c, ctl-control.c */
int verb_status(Ctl *c, int argc, char *argv[]);
int verb_restarts(Ctl *c, int argc, char *argv[]);
int verb_facts(Ctl *c, int argc, char *argv[]);
int verb_action(Ctl *c, int argc, char *argv[]);
int verb_monitor(Ctl *c, int argc, char *argv[]);
