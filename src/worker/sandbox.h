/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The opt-in worker sandbox (worker.sandbox = none|bwrap).
 *
 * `#eval` (and tactic code) can run any IO as the user; agents run Lean they
 * did not write. With bwrap the worker argv is wrapped in bubblewrap: the
 * system (/usr and a few /etc files) and the toolchain (elan home, the
 * command's own directory) read-only, the project read-write (its .lake
 * included), an empty private $HOME and /tmp, no network, its own pid, ipc
 * and uts namespaces, no nested user namespaces, a fresh /proc and a minimal
 * /dev, no capabilities, a cleared environment (no tokens or agent sockets),
 * and it dies with its parent. In scope mode bwrap is what runs in the scope.
 *
 * Not protected: anything inside the project (sources, .lake, .git), the
 * read-only files it can see, CPU time and memory beyond the worker's tiers,
 * and kernel bugs reachable from a user namespace. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/macro.h"

typedef enum SandboxMode {
        SANDBOX_NONE,
        SANDBOX_BWRAP,
        _SANDBOX_MAX,
} SandboxMode;

/* Header-only so the config parser can use them without linking the worker. */
static inline const char *sandbox_mode_to_string(SandboxMode m) {
        static const char *const table[_SANDBOX_MAX] = {
                [SANDBOX_NONE] = "none",
                [SANDBOX_BWRAP] = "bwrap",
        };
        return (unsigned) m < _SANDBOX_MAX ? table[m] : NULL;
}

static inline int sandbox_mode_from_string(const char *s) {
        for (int m = 0; s && m < _SANDBOX_MAX; m++)
                if (streq(s, sandbox_mode_to_string((SandboxMode) m)))
                        return m;
        return -EINVAL;
}

/* What the sandbox is built from; NULL fields come from the environment
 * (bwrap: "bwrap" on $PATH; home: $HOME; elan_home: $ELAN_HOME, else
 * $HOME/.elan; path: $PATH, to find a bare argv[0]; envp: environ, of which
 * the worker keeps PATH, HOME, the locale, TERM, USER, LOGNAME and LEAN_*,
 * LAKE_*, ELAN_*, with TMPDIR=/tmp). */
typedef struct SandboxPaths {
        const char *bwrap;
        const char *home;
        const char *elan_home;
        const char *path;
        char *const *envp;
} SandboxPaths;

/* In a forked child of a single-threaded parent: exec argv with envp (NULL:
 * environ), wrapped as sandbox_wrap_argv() does (plain execvpe for
 * SANDBOX_NONE; bwrap keeps only the variables it lets through from envp).
 * Returns only on failure: negative errno, errno set. */
int sandbox_execvpe(SandboxMode mode, char *const *argv, char *const *envp, const char *project_root);

/* Start-up check that mode can work here: for bwrap, run
 * `bwrap --unshare-all --die-with-parent --ro-bind / / true` and wait at most
 * timeout_usec (call it before the event loop runs). On failure returns a
 * negative errno and a malloc'd message naming the cause and the fix. */
int sandbox_probe(SandboxMode mode, const SandboxPaths *paths, uint64_t timeout_usec, char **ret_error);

/* for tests: sandbox_execvpe() runs what this builds; the
 * unit tests check the argv without running bwrap. */
/* The argv to exec for argv run in project_root under mode: a copy of argv
 * for SANDBOX_NONE, else bwrap's argv ending in "--" argv. Never runs
 * anything; paths may be NULL. */
int sandbox_wrap_argv(SandboxMode mode, char *const *argv, const char *project_root, const SandboxPaths *paths,
                      char ***ret);
