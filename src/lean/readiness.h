/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Readiness of a Lake project for the default worker (`lake env <repl>`),
 * and the facts the freshness envelope carries (toolchain, manifest hash).
 *
 * Pure where it can be: the classifier reads only the project root, the elan
 * home and the PATH it is given (so tests build fake layouts in a tmp dir),
 * never runs anything, and never fails on a broken project: every problem
 * becomes a state with a message and, where one exists, the exact command
 * that fixes it.
 *
 * States, in the order they are checked:
 *   toolchain_not_installed  elan has no such toolchain: `elan toolchain install <pin>`
 *   unsupported              the pin is older than the oldest Lean the REPL protocol we speak supports
 *   not_installed            no REPL binary for this project: the lake command that builds it
 *   unusable                 the caller's smoke command (first REPL command) failed: its output
 *   stale                    lake-manifest.json or lean-toolchain changed since the worker started
 *   unknown_pin              (usable, with a warning) lean-toolchain is not a release pin
 *   ready
 * With a custom worker command (config worker.command) toolchain resolution
 * is skipped entirely: ready, with the advisory "custom worker command". */

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/fileio.h"
#include "basic/macro.h"

typedef enum LeanReadinessState {
        LEAN_READINESS_READY,
        LEAN_READINESS_UNKNOWN_PIN,
        LEAN_READINESS_UNSUPPORTED,
        LEAN_READINESS_STALE,
        LEAN_READINESS_UNUSABLE,
        LEAN_READINESS_NOT_INSTALLED,
        LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED,
        _LEAN_READINESS_MAX,
        _LEAN_READINESS_INVALID = -EINVAL,
} LeanReadinessState;

const char *lean_readiness_state_to_string(LeanReadinessState s); /* "ready", "unknown_pin", … */
LeanReadinessState lean_readiness_state_from_string(const char *s);
/* ready and unknown_pin may run jobs; the others are tool errors whose code is the state name. */
static inline bool lean_readiness_state_is_usable(LeanReadinessState s) {
        return s == LEAN_READINESS_READY || s == LEAN_READINESS_UNKNOWN_PIN;
}

/* The oldest Lean release the REPL protocol features we use (proofStatus in
 * tactic mode, `sorries` with proof states, `Lean error:` replies) are known
 * for. Older pins are "unsupported". */
#define LEAN_REPL_MIN_MAJOR 4
#define LEAN_REPL_MIN_MINOR 12
#define LEAN_REPL_MIN_STRING "v4.12.0"

/* A parsed lean-toolchain pin: "leanprover/lean4:v4.33.0-rc2", "v4.9.0" (elan's
 * short form), "leanprover/lean4:nightly-2024-05-01", "stable", … */
typedef struct LeanToolchain {
        char *pin;          /* as written (first line, trimmed) */
        char *origin;       /* "leanprover/lean4" (the default when the pin has none) */
        char *version;      /* "v4.33.0-rc2", "nightly-2024-05-01", "stable" */
        bool release;       /* vX.Y.Z or vX.Y.Z-rcN */
        unsigned major, minor, patch, rc; /* valid when release; rc 0 = final */
} LeanToolchain;

void lean_toolchain_done(LeanToolchain *t);
/* -EINVAL for an empty/garbage pin (whitespace inside, no version). */
int lean_toolchain_parse(const char *pin, LeanToolchain *ret);
/* elan's directory name: "leanprover--lean4---v4.33.0-rc2" ('/' → "--", ':' → "---"). */
char *lean_toolchain_elan_dirname(const LeanToolchain *t);
/* Reads <root>/lean-toolchain: 0, -ENOENT when missing, -EINVAL when unparsable. */
int lean_toolchain_read(const char *root, LeanToolchain *ret);

/* What a worker was started against; compared later to detect "stale". */
typedef struct LeanProjectStamp {
        char manifest_hash[17];  /* 16 hex (FNV-1a 64 of lake-manifest.json), "" = no manifest */
        char toolchain[128];     /* lean-toolchain pin, "" = none */
} LeanProjectStamp;

/* Never fails on a missing file (empty fields); negative errno only for OOM. */
int lean_project_stamp_read(const char *root, LeanProjectStamp *ret);
bool lean_project_stamp_equal(const LeanProjectStamp *a, const LeanProjectStamp *b);

/* Per project: what the last reads of lean-toolchain and lake-manifest.json
 * found, keyed by the files' stat stamps (inode, size, mtime, ctime), so a
 * repeated classification (D-Bus getters) re-reads nothing that did not
 * change. Owned by the caller; zero-initialised is empty. */
typedef struct LeanReadinessCache {
        bool toolchain_cached, manifest_cached;
        FileStamp toolchain_stamp, manifest_stamp;
        int toolchain_error;        /* what reading it returned */
        char *toolchain_text;
        char manifest_hash[17];     /* "" = none or unreadable */
        uint64_t reads;             /* files actually read (tests) */
        usec_t unresponsive_until;  /* the files did not answer (hung mount): not tried before this */
} LeanReadinessCache;

LeanReadinessCache *lean_readiness_cache_free(LeanReadinessCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(LeanReadinessCache *, lean_readiness_cache_free);

/* The text of <root>/lean-toolchain as written (safe reader, ≤ 4 KiB), from
 * cache (optional) when the file did not change. -ENOENT when missing. */
int lean_toolchain_text_read(const char *root, LeanReadinessCache *cache, char **ret);

typedef struct LeanReadinessInput {
        const char *root;            /* canonical project root */
        const char *elan_home;       /* NULL: $ELAN_HOME, else $HOME/.elan */
        const char *path;            /* PATH to look for `repl`/`lake` in; NULL: $PATH */
        bool custom_worker;          /* config worker.command set: skip resolution */
        const LeanProjectStamp *started; /* stamp the live worker was started with; NULL = no worker */
        const char *smoke_failure;   /* output of a failed smoke command; NULL = none/not run */
        LeanReadinessCache *cache;   /* NULL: read the files every time */
} LeanReadinessInput;

typedef struct LeanReadiness {
        LeanReadinessState state;
        char *message;               /* one line, actionable; never NULL */
        char *fix;                   /* exact command to run in the project root, or NULL */
        char **advisories;           /* strv, never NULL (may be empty) */
        LeanToolchain toolchain;     /* pin NULL when there is no lean-toolchain */
        char *elan_toolchain_dir;    /* where elan keeps the pin, NULL when not resolved */
        char *repl_path;             /* the REPL binary found, NULL when none */
        LeanProjectStamp stamp;      /* current manifest hash + toolchain */
} LeanReadiness;

void lean_readiness_done(LeanReadiness *r);
/* Fills *ret (always, even for broken projects). Negative errno only for OOM/invalid input. */
int lean_readiness_classify(const LeanReadinessInput *in, LeanReadiness *ret);

/* {"state", "message", "fix"?, "advisories": [...], "toolchain": pin|null,
 *  "elan_toolchain_dir"?, "repl"?, "manifest_hash"} */
json_object *lean_readiness_to_json(const LeanReadiness *r);

/* The worker argv the readiness check found: ["lake", "env", <repl path>];
 * -ENOENT when no REPL was found. */
int lean_readiness_worker_argv(const LeanReadiness *r, char ***ret);

/* The freshness envelope:
 *   {"project_root", "manifest_hash", "imports": [...],
 *    "session": {"worker_generation", "env"?}, "toolchain": pin|null, "advisories": [...]}
 * env < 0 omits it; advisories NULL = []. NULL on OOM. */
json_object *lean_freshness_to_json(const char *root, const LeanProjectStamp *stamp, char * const *imports,
                                    uint64_t worker_generation, int env, char * const *advisories);
