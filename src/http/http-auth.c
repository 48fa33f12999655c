/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Who may talk to the HTTP listener. Against DNS rebinding (MCP 2025-06-18,
 * Transports, "Security Warning"): on a loopback listener the Host header
 * must name the loopback (localhost, 127.0.0.1, [::1], any port) and an
 * Origin, when sent, must be a loopback one too; on other listeners an
 * Origin must be the request's own Host. Then the bearer token, when one is
 * configured: a request without "Authorization: Bearer <token>" gets 401.
 * TLS is left to a proxy in front (README). */

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "http/http-internal.h"

int http_auth_load_token(const char *path, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t n;
        int r;

        r = read_full_file(path, 4096, &s, &n);
        if (r < 0)
                return r;
        /* a trailing newline (echo > file) is not part of the token */
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = 0;
        if (n == 0 || strlen(s) != n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!isgraph((unsigned char) s[i]))
                        return -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

bool http_host_is_loopback_name(const char *host, size_t n) {
        static const char *const names[] = { "localhost", "127.0.0.1", "[::1]" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                size_t l = strlen(names[i]);

                if (n < l || strncasecmp(host, names[i], l) != 0)
                        continue;
                if (n == l)
                        return true;
                /* ":PORT" */
                if (host[l] != ':' || n == l + 1)
                        continue;
                bool digits = true;
                for (size_t j = l + 1; j < n; j++)
                        digits = digits && isdigit((unsigned char) host[j]);
                if (digits)
                        return true;
        }
        return false;
}

/* "scheme://host[:port]" → host[:port] */
static bool origin_host(const char *origin, const char **ret, size_t *ret_n) {
        const char *p = strstr(origin, "://");

        if (!p)
                return false;
        p += 3;
        *ret = p;
        *ret_n = strcspn(p, "/?#");
        return *ret_n > 0;
}

static bool token_equal(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        unsigned char d = la != lb;

        /* the time does not tell how much of the token matched */
        for (size_t i = 0; i < lb; i++)
                d |= (unsigned char) (a[i % (la ?: 1)] ^ b[i]);
        return d == 0 && la > 0;
}

unsigned http_auth_check(HttpServer *s, struct MHD_Connection *c, const char **ret_why) {
        const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        const char *oh;
        size_t on;

        if (s->loopback) {
                if (!host || !http_host_is_loopback_name(host, strlen(host))) {
                        *ret_why = "Forbidden: the Host header must name the loopback (DNS rebinding protection)";
                        return MHD_HTTP_FORBIDDEN;
                }
                if (origin &&
                    (!origin_host(origin, &oh, &on) || !http_host_is_loopback_name(oh, on))) {
                        *ret_why = "Forbidden: Origin not allowed (DNS rebinding protection)";
                        return MHD_HTTP_FORBIDDEN;
                }
        } else if (origin) {
                if (!host || !origin_host(origin, &oh, &on) || on != strlen(host) || strncasecmp(oh, host, on) != 0) {
                        *ret_why = "Forbidden: Origin not allowed (cross-origin request)";
                        return MHD_HTTP_FORBIDDEN;
                }
        }

        if (s->token) {
                const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

                if (!a || strncasecmp(a, "Bearer ", 7) != 0 || !token_equal(s->token, a + 7)) {
                        *ret_why = "Unauthorized: a valid bearer token is required";
                        return MHD_HTTP_UNAUTHORIZED;
                }
        }
        return 0;
}
