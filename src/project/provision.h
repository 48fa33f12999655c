/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* REPL provisioning: lean-host builds the Lean REPL itself, once per
 * toolchain, so a project needs no `require REPL` of its own.
 *
 * For a project classified not_installed (no REPL for its pin anywhere),
 * the build runs as an asynchronous child (sd-event child source, never on
 * the loop): a clone of config repl.source at the revision data/repl-
 * revisions (config repl.revisions_file) gives for the pin, its
 * lean-toolchain set to the pin, `<the toolchain's lake> build repl`, a
 * stamp naming the pin, then an atomic rename to
 * <repl.cache_dir>/<elan dir of the pin>/. Its output goes to the log.
 * Meanwhile calls get `provisioning` (retryable, retry_after_ms); a failure
 * becomes `provision_failed` with the exact instruction, for
 * PROVISION_FAILURE_HOLD_USEC, then the next call tries again. The worker
 * then runs `<lake> env <cache>/.lake/build/bin/repl` in the project. */

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "config/config.h"
#include "lean/readiness.h"

typedef struct ReplProvisioner ReplProvisioner;

#define PROVISION_RETRY_AFTER_MS 5000
#define PROVISION_FAILURE_HOLD_USEC (120 * USEC_PER_SEC)
#define PROVISION_TIMEOUT_USEC (60 * 60 * USEC_PER_SEC)

/* event: the daemon's loop (never NULL). The revision table is
 * read here, once; an unreadable one is reported on every build attempt. */
int repl_provisioner_new(ReplProvisioner **ret, sd_event *event, const LhConfig *config);
ReplProvisioner *repl_provisioner_free(ReplProvisioner *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReplProvisioner *, repl_provisioner_free);

/* For rd in state not_installed with a pin and a lake: starts the build if
 * none runs or recently failed (only when start), and turns rd into
 * provisioning (with *ret_retry_after_ms) or provision_failed. Any other
 * state is left alone. Negative errno only for OOM. */
int repl_provisioner_apply(ReplProvisioner *p, LeanReadiness *rd, bool start, uint64_t *ret_retry_after_ms);

/* Builds currently running (for tests and status). */
