/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The project's own root modules, from its Lake configuration, for the
 * "default import set" of the tools that take imports.
 *
 * Lake's rules (lean4 src/lake: Config/LeanLibConfig.lean, the TOML and DSL
 * front ends): a lean_lib's roots default to #[name]; the default targets
 * are `defaultTargets = [...]` (lakefile.toml) or the libraries tagged
 * `@[default_target]` (lakefile.lean). Read conservatively: only literal
 * names are taken (`roots := #[`A, `B.C]`, roots = ["A"]); a library whose
 * roots are computed contributes nothing rather than a guess. When no
 * default target is a lean_lib (none declared, or only the executable of
 * `lake new`'s template), every lean_lib counts: the package's own modules
 * are what an agent means. lakefile.lean wins over
 * lakefile.toml, as in Lake. */

#include <stdbool.h>

typedef enum LakefileKind {
        LAKEFILE_TOML,
        LAKEFILE_LEAN,
} LakefileKind;

/* Reads <root>/lakefile.lean, else <root>/lakefile.toml (the safe bounded
 * reader; call off the event loop). -ENOENT when neither exists. */
int lean_lakefile_read_default_roots(const char *root, char ***ret);

/* for tests: the parser behind lean_lakefile_read_default_roots(),
 * on text, for the unit tests. */
/* The root modules of the default lean_libs of text, in order, without
 * duplicates. Returns 0 with *ret (possibly empty strv), -ENOMEM. */
int lean_lakefile_default_roots(const char *text, LakefileKind kind, char ***ret);
