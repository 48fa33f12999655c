/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Who may talk to the HTTP listener. Against DNS rebinding (MCP 2025-06-18,
 * Transports, "Security Warning"): on a loopback listener the Host header
 * must name the loopback (localhost, 127.0.0.0/8, [::1], any port) and an
 * Origin, when sent, must be a loopback one too or the request's own Host;
 * on other listeners an Origin must be the request's own Host. Names in
 * daemon.http_allowed_hosts are accepted as well (a proxy's name in front of
 * a loopback listener); with that list set, every Host must be on it or be a
 * loopback one. Then the bearer token, when one is
 * configured: a request without "Authorization: Bearer <token>" gets 401.
 * TLS is left to a proxy in front (README). */

#include <arpa/inet.h>
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

/* host[:port] → the name ("[::1]" without brackets) and whether the port is well-formed */
static bool host_split(const char *host, size_t n, char *name, size_t size) {
        const char *end = host + n, *port;
        size_t l;

        if (n > 0 && host[0] == '[') {
                const char *close = memchr(host, ']', n);
                if (!close)
                        return false;
                host++;
                l = (size_t) (close - host);
                port = close + 1;
        } else {
                const char *colon = memchr(host, ':', n);
                l = colon ? (size_t) (colon - host) : n;
                port = host + l;
        }
        if (port < end) {
                if (*port != ':' || port + 1 == end)
                        return false;
                for (const char *p = port + 1; p < end; p++)
                        if (!isdigit((unsigned char) *p))
                                return false;
        }
        if (l == 0 || l >= size)
                return false;
        memcpy(name, host, l);
        name[l] = 0;
        return true;
}

/* localhost, 127.0.0.0/8 or ::1, with or without a port. An IP literal
 * cannot be a DNS rebinding: that needs a name. */
bool http_host_is_loopback_name(const char *host, size_t n) {
        char name[INET6_ADDRSTRLEN + 1];
        struct in_addr a4;
        struct in6_addr a6;

        if (!host_split(host, n, name, sizeof name))
                return false;
        if (strcasecmp(name, "localhost") == 0)
                return true;
        if (inet_pton(AF_INET, name, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (host[0] == '[' && inet_pton(AF_INET6, name, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return false;
}

/* daemon.http_allowed_hosts: "name" matches any port, "name:port" that one */
bool http_host_is_allowed(const char *list, const char *host, size_t n) {
        char name[256];

        if (!list || !host_split(host, n, name, sizeof name))
                return false;
        for (const char *p = list; *p;) {
                size_t l;

                p += strspn(p, ", ");
                l = strcspn(p, ", ");
                if (l == 0)
                        break;
                if ((l == n && strncasecmp(p, host, n) == 0) ||
                    (l == strlen(name) && strncasecmp(p, name, l) == 0) ||
                    (l == strlen(name) + 2 && p[0] == '[' && strncasecmp(p + 1, name, l - 2) == 0))
                        return true;
                p += l;
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
        bool listed = s->allowed_hosts && s->allowed_hosts[0];
        const char *oh;
        size_t on;

        if (s->loopback || listed) {
                if (!host || !(http_host_is_loopback_name(host, strlen(host)) ||
                               http_host_is_allowed(s->allowed_hosts, host, strlen(host)))) {
                        *ret_why = "Forbidden: Host not allowed (DNS rebinding protection; see daemon.http_allowed_hosts)";
                        return MHD_HTTP_FORBIDDEN;
                }
        }
        if (origin) {
                bool ok = origin_host(origin, &oh, &on) &&
                          ((host && on == strlen(host) && strncasecmp(oh, host, on) == 0) ||
                           (s->loopback && http_host_is_loopback_name(oh, on)) ||
                           http_host_is_allowed(s->allowed_hosts, oh, on));
                if (!ok) {
                        *ret_why = "Forbidden: Origin not allowed (DNS rebinding protection; see daemon.http_allowed_hosts)";
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
