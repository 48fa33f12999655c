/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every code a tool error can carry ("code" in the error body of a tool
 * result), once, with its default "retryable". Agents branch on these: they
 * are API, spelled the same everywhere (docs: man/lean-host.7). A code
 * string not in this table is a bug (test-error-code scans src/ for them).
 * Only basic/ below it, so every layer may use it, the MCP server too. */

#include <errno.h>
#include <stdbool.h>

typedef enum LhErrorCode {
        LH_ERROR_INTERNAL_ERROR,
        LH_ERROR_INVALID_ARGUMENTS,
        LH_ERROR_NOT_IMPLEMENTED,
        LH_ERROR_SHUTTING_DOWN,
        LH_ERROR_CANCELLED,
        LH_ERROR_TIMEOUT,
        LH_ERROR_MAILBOX_FULL,
        LH_ERROR_WORKER_UNAVAILABLE,
        LH_ERROR_WORKER_FAILED,
        LH_ERROR_IMPORT_FAILED,
        LH_ERROR_IMPORTS_MISMATCH,
        LH_ERROR_POISON_INPUT,
        LH_ERROR_REPLY_TOO_LARGE,
        LH_ERROR_PROOF_STATE_LOST,
        LH_ERROR_LEAN_ERROR,
        LH_ERROR_LEAN_REPL_ERROR,
        LH_ERROR_MODULE_NOT_FOUND,
        LH_ERROR_UNKNOWN_DECLARATION,
        LH_ERROR_PROJECT_NOT_FOUND,
        LH_ERROR_PROJECT_NOT_TRUSTED,
        LH_ERROR_PROJECT_FILE_UNREADABLE,
        LH_ERROR_PATH_UNRESPONSIVE,
        /* a project whose Lean cannot run: the readiness states that are
         * not usable (lean/readiness.h), under the same names */
        LH_ERROR_UNSUPPORTED,
        LH_ERROR_STALE,
        LH_ERROR_UNUSABLE,
        LH_ERROR_NOT_INSTALLED,
        LH_ERROR_TOOLCHAIN_NOT_INSTALLED,
        LH_ERROR_PROVISIONING,
        LH_ERROR_PROVISION_FAILED,
        /* file-level tools: a path that is not a file of the project, a
         * file the REPL found missing */
        LH_ERROR_PATH_OUTSIDE_PROJECT,
        LH_ERROR_FILE_NOT_FOUND,
        LH_ERROR_NODE_UNAVAILABLE, /* sent by the HAProxy front (deploy/haproxy/errors), not by lean-hostd */
        _LH_ERROR_CODE_MAX,
        _LH_ERROR_CODE_INVALID = -EINVAL,
} LhErrorCode;

const char *lh_error_code_to_string(LhErrorCode c);
LhErrorCode lh_error_code_from_string(const char *s);
/* The default: whether the same call may succeed later unchanged. Call sites
 * may know better (an internal_error from ENOMEM is worth a retry). */
bool lh_error_code_retryable(LhErrorCode c);
