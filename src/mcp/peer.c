/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/macro.h"
#include "mcp/jsonrpc.h"
#include "mcp/peer.h"

int mcp_peer_allowed(int fd, uid_t self, uid_t *ret_uid) {
        struct ucred cred = {};
        socklen_t l = sizeof cred;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0)
                return -errno;
        if (l != sizeof cred)
                return -EIO;
        *ret_uid = cred.uid;
        return cred.uid == self || cred.uid == 0;
}

void mcp_peer_refuse(int fd, int code, const char *message) {
        json_object *m = jsonrpc_error_new(NULL, code, message);

        if (m) {
                const char *s;
                size_t n;

                s = json_object_to_json_string_length(m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
                /* The socket buffer of a new connection is empty: one short line fits. */
                if (s) {
                        struct iovec iov[2] = { { (void *) s, n }, { (void *) "\n", 1 } };
                        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
                        (void) sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
                }
        }
        json_object_put(m);
        (void) shutdown(fd, SHUT_WR);
        /* Closing with unread input makes the peer's next read fail with
         * ECONNRESET: take what it has sent so far (bounded, never waits). */
        for (unsigned i = 0; i < 16; i++) {
                char scratch[4096];
                if (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) <= 0)
                        break;
        }
        safe_close(fd);
}
