/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where a project's Lean tools live, without a shell's PATH.
 *
 * A systemd user service has no ~/.elan/bin on PATH (elan adds it in shell
 * rc files), so lean-host resolves `lake` the way elan itself does and runs
 * it by absolute path:
 *   - pin → elan's toolchain name (elan's lookup_toolchain_desc: default
 *     origin leanprover/lean4, "nightly…" releases come from <origin>-nightly,
 *     a bare number gets a "v"), a directory name ('/' → "--", ':' → "---")
 *     under $ELAN_HOME/toolchains, and its bin/lake;
 *   - channels (stable, beta, nightly) and a missing pin: elan's proxy
 *     $ELAN_HOME/bin/lake, which resolves them itself;
 *   - no elan at all: lake from PATH.
 *
 * And where the REPL lean-host builds itself lives: one checkout per
 * toolchain in the cache, stamped with the pin it was built for. */

#include <stdbool.h>

#include "basic/macro.h"
#include "lean/readiness.h"

/* explicit (config lean.elan_home) > $ELAN_HOME > $HOME/.elan; NULL without HOME. */
char *lean_elan_home(const char *explicit);

/* elan's resolved name: "leanprover/lean4:v4.9.0", "leanprover/lean4-nightly:nightly-2024-05-01".
 * NULL (errno EINVAL) for channels, which only elan can resolve (it asks the network). */
char *lean_toolchain_elan_name(const LeanToolchain *t);
/* Same toolchain as elan sees it ("v4.9.0" == "leanprover/lean4:v4.9.0"). */
bool lean_toolchain_pin_equal(const char *a, const char *b);

typedef enum LeanLakeOrigin {
        LEAN_LAKE_TOOLCHAIN,   /* <elan>/toolchains/<dir>/bin/lake */
        LEAN_LAKE_ELAN_PROXY,  /* <elan>/bin/lake: elan picks the toolchain */
        LEAN_LAKE_PATH,        /* no elan: the first lake on PATH */
} LeanLakeOrigin;

typedef struct LeanLake {
        char *path;           /* absolute; NULL when not found */
        char *toolchain_dir;  /* elan's directory for the pin, when one applies */
        LeanLakeOrigin origin;
        bool elan;            /* an elan home exists */
} LeanLake;

void lean_lake_done(LeanLake *l);
/* t NULL (or without pin): the project has no lean-toolchain.
 *   0        found (*ret->path set)
 *   -ENOENT  elan has no directory for the pin (toolchain_dir set)
 *   -ENOEXEC the toolchain directory has no executable bin/lake (a broken install)
 *   -ENOPKG  neither elan (or its proxy) nor lake on PATH */
int lean_lake_find(const char *elan_home, const LeanToolchain *t, const char *path, LeanLake *ret);

/* First executable `name` in a colon-separated search path, or NULL. */
char *lean_find_in_path(const char *path, const char *name);

/* ---- the REPL lean-host builds ---------------------------------------------- */

/* The file in a cached build naming the pin it was built for (first line). */
#define LEAN_REPL_STAMP_FILE "lean-host-toolchain"
#define LEAN_REPL_BINARY ".lake/build/bin/repl"

/* explicit (config repl.cache_dir) > $XDG_CACHE_HOME/lean-host/repl > $HOME/.cache/lean-host/repl. */
char *lean_repl_cache_root(const char *explicit);
/* <root>/<elan directory name of t>; NULL for channels / no pin. */
char *lean_repl_cache_dir(const char *root, const LeanToolchain *t);
/* The built REPL in dir when its stamp names pin: 0 and *ret; -ENOENT none;
 * -ESTALE built for another toolchain (*ret_built_for set when non-NULL). */
int lean_repl_cached(const char *dir, const char *pin, char **ret, char **ret_built_for);

/* ---- REPL revision per toolchain (data/repl-revisions) ----------------------- */

typedef struct LeanReplRevisions {
        char **pins;  /* strv, parallel to revs */
        char **revs;
} LeanReplRevisions;

void lean_repl_revisions_done(LeanReplRevisions *r);
/* "<pin> <rev> [tag]" lines, '#' comments. -EBADMSG with *ret_line on a bad line. */
int lean_repl_revisions_parse(const char *text, LeanReplRevisions *ret, unsigned *ret_line);
/* The revision for t (compared as elan sees it), or NULL. */
const char *lean_repl_revisions_find(const LeanReplRevisions *r, const LeanToolchain *t);
