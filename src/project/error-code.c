/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The stable error code strings. Owns: the table. Must not know: who
 * answers with a code (check-error-codes.py keeps every code in it). */
#include "basic/string-table.h"
#include "project/error-code.h"

static const char *const lh_error_code_table[_LH_ERROR_CODE_MAX] = {
        [LH_ERROR_INTERNAL_ERROR] = "internal_error",
        [LH_ERROR_INVALID_ARGUMENTS] = "invalid_arguments",
        [LH_ERROR_NOT_IMPLEMENTED] = "not_implemented",
        [LH_ERROR_SHUTTING_DOWN] = "shutting_down",
        [LH_ERROR_CANCELLED] = "cancelled",
        [LH_ERROR_TIMEOUT] = "timeout",
        [LH_ERROR_MAILBOX_FULL] = "mailbox_full",
        [LH_ERROR_WORKER_UNAVAILABLE] = "worker_unavailable",
        [LH_ERROR_WORKER_FAILED] = "worker_failed",
        [LH_ERROR_IMPORT_FAILED] = "import_failed",
        [LH_ERROR_IMPORTS_MISMATCH] = "imports_mismatch",
        [LH_ERROR_POISON_INPUT] = "poison_input",
        [LH_ERROR_REPLY_TOO_LARGE] = "reply_too_large",
        [LH_ERROR_PROOF_STATE_LOST] = "proof_state_lost",
        [LH_ERROR_LEAN_ERROR] = "lean_error",
        [LH_ERROR_LEAN_REPL_ERROR] = "lean_repl_error",
        [LH_ERROR_MODULE_NOT_FOUND] = "module_not_found",
        [LH_ERROR_UNKNOWN_DECLARATION] = "unknown_declaration",
        [LH_ERROR_PROJECT_NOT_FOUND] = "project_not_found",
        [LH_ERROR_PROJECT_NOT_TRUSTED] = "project_not_trusted",
        [LH_ERROR_PROJECT_FILE_UNREADABLE] = "project_file_unreadable",
        [LH_ERROR_PATH_UNRESPONSIVE] = "path_unresponsive",
        [LH_ERROR_UNSUPPORTED] = "unsupported",
        [LH_ERROR_STALE] = "stale",
        [LH_ERROR_UNUSABLE] = "unusable",
        [LH_ERROR_NOT_INSTALLED] = "not_installed",
        [LH_ERROR_TOOLCHAIN_NOT_INSTALLED] = "toolchain_not_installed",
        [LH_ERROR_PROVISIONING] = "provisioning",
        [LH_ERROR_PROVISION_FAILED] = "provision_failed",
        [LH_ERROR_PATH_OUTSIDE_PROJECT] = "path_outside_project",
        [LH_ERROR_FILE_NOT_FOUND] = "file_not_found",
        [LH_ERROR_NODE_UNAVAILABLE] = "node_unavailable",
};

DEFINE_STRING_TABLE_LOOKUP(lh_error_code, LhErrorCode);

bool lh_error_code_retryable(LhErrorCode c) {
        switch (c) {
        case LH_ERROR_SHUTTING_DOWN:
        case LH_ERROR_CANCELLED:
        case LH_ERROR_TIMEOUT:
        case LH_ERROR_MAILBOX_FULL:
        case LH_ERROR_WORKER_UNAVAILABLE:
        case LH_ERROR_WORKER_FAILED:
        case LH_ERROR_PATH_UNRESPONSIVE:
        case LH_ERROR_PROVISIONING:
        case LH_ERROR_NODE_UNAVAILABLE:
                return true;
        default:
                return false;
        }
}
