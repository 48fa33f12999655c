/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Readiness of a Lake project for the default worker (`<lake> env <repl>`),
 * and the facts the freshness envelope carries (toolchain, manifest hash).
 *
 * Pure where it can be: the classifier reads only the project root, the elan
 * home and the PATH it is given (so tests build fake layouts in a tmp dir),
 * never runs anything, and never fails on a broken project: every problem
 * becomes a state with a message and, where one exists, the exact command
 * that fixes it.
 *
 * `lake` is the pinned toolchain's own (elan's toolchains/<dir>/bin/lake), by
 * absolute path: a service's PATH has no ~/.elan/bin (lean/toolchain.h).
 * The REPL is, in order: the project's own REPL dependency when its
 * lean-toolchain matches the project's, the build lean-host keeps in its
 * cache for the pin (lean/provision.h), `repl` on PATH (unchecked).
 *
 * States, in the order they are checked:
 *   toolchain_not_installed  elan has no such toolchain (or it has no lake): `elan toolchain install <pin>`
 *   unsupported              the pin is older than the oldest Lean the REPL protocol we speak supports
 *   not_installed            no REPL for this toolchain yet: lean-host builds one (provisioning)
 *   provisioning             (set by the provisioner) the REPL for the pin is being built: retry
 *   provision_failed         (set by the provisioner) building it failed: the message says what to do
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
        LEAN_READINESS_PROVISIONING,
        LEAN_READINESS_PROVISION_FAILED,
        _LEAN_READINESS_MAX,
        _LEAN_READINESS_INVALID = -EINVAL,
} LeanReadinessState;

const char *lean_readiness_state_to_string(LeanReadinessState s); /* "ready", "unknown_pin", … */
/* ready and unknown_pin may run jobs; the others are tool errors whose code is the state name. */
static inline bool lean_readiness_state_is_usable(LeanReadinessState s) {
        return s == LEAN_READINESS_READY || s == LEAN_READINESS_UNKNOWN_PIN;
}

/* The oldest Lean release the REPL protocol features we use (`sorries` with
 * proof states, tactic mode, `Lean error:` replies) are known for. Older pins
 * are "unsupported". `proofStatus` in tactic replies is newer: the REPL added
 * it on 2025-04-10 (toolchain v4.19.0-rc2); before that a finished proof is
 * recognised by `goals == []` alone. Note that the REPL has no revision at
 * all for v4.12.0 and v4.13.0 (data/repl-revisions).
 *
 * Supported range: v4.12.0 … v4.33.0-rc2 (the recorded transcripts in
 * tests/fixtures/lean-repl). The generated Lean (lean/query-text.c,
 * lean/proof-text.c) is written to elaborate on both ends (query-text.c
 * names each construct that changed in between), the reply parsing reads
 * both "Try this" layouts (lean/try-this.h). Newer pins are tried as is.
 * proofStatus values seen (recorded): "Completed", "Incomplete: open goals
 * remain", "Incomplete: contains sorry", "Incomplete: contains
 * metavariable(s)". */
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
/* elan's directory name for the toolchain elan resolves the pin to (lean/toolchain.h):
 * "leanprover--lean4---v4.33.0-rc2", "leanprover--lean4-nightly---nightly-2024-05-01";
 * NULL for channels (stable, beta, nightly), which only elan resolves. */
char *lean_toolchain_elan_dirname(const LeanToolchain *t);

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
/* Empties c in place (frees what it holds). */
void lean_readiness_cache_clear(LeanReadinessCache *c);
/* dst := a deep copy of src (a thread's own copy); -ENOMEM leaves dst empty. */
int lean_readiness_cache_copy(LeanReadinessCache *dst, const LeanReadinessCache *src);
DEFINE_TRIVIAL_CLEANUP_FUNC(LeanReadinessCache *, lean_readiness_cache_free);

/* The text of <root>/lean-toolchain as written (safe reader, ≤ 4 KiB), from
 * cache (optional) when the file did not change. -ENOENT when missing. */
int lean_toolchain_text_read(const char *root, LeanReadinessCache *cache, char **ret);

typedef struct LeanReadinessInput {
        const char *root;            /* canonical project root */
        const char *elan_home;       /* NULL: $ELAN_HOME, else $HOME/.elan */
        const char *path;            /* PATH to look for `repl`/`lake` in; NULL: $PATH */
        const char *repl_cache;      /* root of lean-host's REPL builds; NULL: lean_repl_cache_root(NULL) */
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
        char *lake_path;             /* absolute lake to run the REPL under, NULL when none */
        char *repl_cache_dir;        /* where lean-host keeps (or would build) the REPL for the pin */
        LeanProjectStamp stamp;      /* current manifest hash + toolchain */
        char **default_roots;        /* the project's default import set: the roots of its default
                                      * lean_libs (lean/lakefile.h); NULL: no lakefile read */
} LeanReadiness;

void lean_readiness_done(LeanReadiness *r);
/* dst := a deep copy of src (a cached answer handed to a call); -ENOMEM leaves dst empty. */
int lean_readiness_copy(LeanReadiness *dst, const LeanReadiness *src);
/* Fills *ret (always, even for broken projects). Negative errno only for OOM/invalid input. */
int lean_readiness_classify(const LeanReadinessInput *in, LeanReadiness *ret);

/* {"state", "message", "fix"?, "advisories": [...], "toolchain": pin|null,
 *  "elan_toolchain_dir"?, "lake"?, "repl"?, "repl_cache_dir"?, "manifest_hash"} */
json_object *lean_readiness_to_json(const LeanReadiness *r);

/* The worker argv the readiness check found: [<absolute lake>, "env", <repl path>];
 * -ENOENT when no REPL was found. */
int lean_readiness_worker_argv(const LeanReadiness *r, char ***ret);

/* The freshness envelope:
 *   {"project_root", "manifest_hash", "imports": [...],
 *    "session": {"worker_generation", "env"?}, "toolchain": pin|null, "advisories": [...]}
 * env < 0 omits it; advisories NULL = []. NULL on OOM. */
json_object *lean_freshness_to_json(const char *root, const LeanProjectStamp *stamp, char * const *imports,
                                    uint64_t worker_generation, int env, char * const *advisories);
