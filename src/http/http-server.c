/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The HTTP listener, the top of the HTTP transport: libmicrohttpd (Debian's
 * libmicrohttpd, maintained, HTTP/1.1 with chunked responses,
 * suspend/resume for answers that come later), started in "external
 * polling" mode with epoll and pumped by sd-event (http-loop.c); its
 * callbacks hand each request to http-request.c. The files below it never
 * call up: request -> session -> stream -> loop. Nothing here blocks. */

#include <arpa/inet.h>
#include <assert.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/time-util.h"
#include "http/http-internal.h"

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls) {
        return http_request_handle(cls, c, url, method, upload_data, upload_data_size, con_cls);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        http_request_completed(cls, *con_cls);
        *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) _printf_(2, 0);
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        char buf[512];

        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        buf[strcspn(buf, "\n")] = 0;
        log_debug("libmicrohttpd: %s", buf);
}

/* "127.0.0.1:8080", "[::1]:8080", "localhost:8080", "0.0.0.0:8080" */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len) {
        _cleanup_free_ char *host = NULL;
        const char *colon;
        char *end;
        unsigned long port;

        if (spec[0] == '[') {
                const char *close = strchr(spec, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                host = strndup(spec + 1, (size_t) (close - spec - 1));
                colon = close + 1;
        } else {
                colon = strrchr(spec, ':');
                if (!colon)
                        return -EINVAL;
                host = strndup(spec, (size_t) (colon - spec));
        }
        if (!host)
                return -ENOMEM;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno != 0 || *end || colon[1] == 0 || port > 65535)
                return -EINVAL;

        memset(ss, 0, sizeof *ss);
        if (streq(host, "localhost"))
                strcpy(host, "127.0.0.1");
        struct sockaddr_in *in4 = (struct sockaddr_in *) ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;
        if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons((uint16_t) port);
                *len = sizeof *in4;
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                *len = sizeof *in6;
        } else
                return -EINVAL;
        return 0;
}

static int http_server_bind(HttpServer *s, const char *spec) {
        struct sockaddr_storage ss;
        socklen_t len;
        int fd, r, one = 1;

        r = parse_listen(spec, &ss, &len);
        if (r < 0)
                return log_error_errno(r, "HTTP: invalid listen address '%s' (want ADDRESS:PORT, e.g. 127.0.0.1:8080 or [::1]:8080).",
                                       spec);
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "HTTP: failed to create a socket: %m");
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                safe_close(fd);
                return log_error_errno(r, "HTTP: failed to listen on %s: %m", spec);
        }
        s->listen_fd = fd;
        return 0;
}

/* What the socket is bound to: the loopback (Host/Origin checks) and the address for the log. */
static void http_server_describe(HttpServer *s) {
        struct sockaddr_storage ss = {};
        socklen_t len = sizeof ss;
        char a[INET6_ADDRSTRLEN] = "?";

        if (getsockname(s->listen_fd, (struct sockaddr *) &ss, &len) < 0)
                return;
        if (ss.ss_family == AF_INET) {
                struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
                (void) inet_ntop(AF_INET, &in4->sin_addr, a, sizeof a);
                s->loopback = (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
                snprintf(s->address, sizeof s->address, "%s:%u", a, ntohs(in4->sin_port));
        } else if (ss.ss_family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                (void) inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
                s->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
                snprintf(s->address, sizeof s->address, "[%s]:%u", a, ntohs(in6->sin6_port));
        }
}

int http_server_new(HttpServer **ret, sd_event *event, McpServer *mcp, const HttpServerOptions *opts) {
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        int r;

        assert(ret);
        assert(event);
        assert(mcp);
        assert(opts);

        s = new0(HttpServer, 1);
        if (!s) {
                safe_close(opts->fd);
                return -ENOMEM;
        }
        s->event = sd_event_ref(event);
        s->mcp = mcp;
        s->listen_fd = opts->fd;
        s->max_sessions = opts->max_sessions > 0 ? opts->max_sessions : 256;
        s->max_body_bytes = opts->max_body_bytes > 0 ? opts->max_body_bytes : 8 * 1024 * 1024;
        s->max_input_bytes = MAX(opts->max_input_bytes > 0 ? opts->max_input_bytes : 64 * 1024 * 1024,
                                 s->max_body_bytes); /* one full body always fits */

        if (opts->token_file && opts->token_file[0]) {
                r = http_auth_load_token(opts->token_file, &s->token);
                if (r < 0)
                        return log_error_errno(r, "HTTP: cannot read a bearer token from %s (one line of printable characters): %m",
                                               opts->token_file);
        }
        if (opts->allowed_hosts && opts->allowed_hosts[0]) {
                s->allowed_hosts = strdup(opts->allowed_hosts);
                if (!s->allowed_hosts)
                        return -ENOMEM;
        }
        if (s->listen_fd < 0) {
                if (!opts->listen)
                        return -EINVAL;
                r = http_server_bind(s, opts->listen);
                if (r < 0)
                        return r;
        }
        /* a socket passed by systemd is blocking; accept() must never wait */
        r = fcntl(s->listen_fd, F_GETFL);
        if (r < 0 || fcntl(s->listen_fd, F_SETFL, r | O_NONBLOCK) < 0)
                return log_error_errno(errno, "HTTP: cannot make the listening socket non-blocking: %m");
        http_server_describe(s);

        s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
                                  0, NULL, NULL, on_access, s,
                                  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                                  MHD_OPTION_LISTEN_SOCKET, (MHD_socket) s->listen_fd,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned) 1024,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120,
                                  MHD_OPTION_END);
        if (!s->mhd)
                return log_error_errno(EIO, "HTTP: libmicrohttpd failed to start on %s.", s->address);
        s->listen_fd = -EBADF; /* libmicrohttpd's now */

        r = http_loop_attach(s);
        if (r < 0)
                return r;
        r = http_stream_keepalive_setup(s);
        if (r < 0)
                return log_error_errno(r, "HTTP: failed to arm the SSE keepalive: %m");

        log_info("MCP over HTTP on http://%s/mcp (%s%s).", s->address,
                 s->loopback ? "loopback" : "not loopback: put TLS in front",
                 s->token ? ", bearer token required" : "");
        *ret = TAKE_PTR(s);
        return 0;
}

void http_server_stop_accepting(HttpServer *s) {
        MHD_socket fd;

        if (!s || !s->mhd || s->stopping)
                return;
        s->stopping = true;
        fd = MHD_quiesce_daemon(s->mhd);
        if (fd != MHD_INVALID_SOCKET)
                safe_close(fd);
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;

        /* sessions first: their calls are cancelled, waiting requests get an error */
        while (s->sessions)
                http_session_close(s->sessions, true);
        if (s->mhd) {
                /* libmicrohttpd must not be stopped with suspended connections */
                for (HttpStream *t = s->streams; t; t = t->next)
                        http_stream_finish(t);
                MHD_stop_daemon(s->mhd);
        }
        http_loop_detach(s);
        s->keepalive = sd_event_source_disable_unref(s->keepalive);
        safe_close(s->listen_fd);
        free(s->token);
        free(s->allowed_hosts);
        sd_event_unref(s->event);
        return mfree(s);
}

bool http_server_is_drained(const HttpServer *s) {
        return !s || s->n_exchanges == 0;
}

const char *http_server_get_address(const HttpServer *s) {
        return s->address;
}
