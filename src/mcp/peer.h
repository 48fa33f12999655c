/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who may talk to the daemon, and how a refused connection is told.
 *
 * The socket's mode is not the only barrier: a peer is accepted when its
 * uid (SO_PEERCRED) is the daemon's own, or root's (root can ptrace the
 * daemon anyway). Everyone else gets one JSON-RPC error line and the
 * connection is closed. A root daemon accepts root only. */

#include <stdbool.h>
#include <sys/types.h>

/* 1: allowed, 0: refused (*ret_uid is the peer's uid), negative errno when
 * the credentials cannot be read (treated as refused by the caller). */
int mcp_peer_allowed(int fd, uid_t self, uid_t *ret_uid);

/* Best effort, never blocks: one line {"jsonrpc":"2.0","id":null,"error":
 * {"code":code,"message":message}} on a fresh connection, then shutdown and
 * close. The fd is closed in every case. */
void mcp_peer_refuse(int fd, int code, const char *message);
