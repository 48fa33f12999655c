/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The bridge's session.
 *
 * Lines pass unchanged both ways, but whole: a line from the daemon reaches
 * stdout only once complete, so a daemon that dies mid-line never leaves the
 * client half a message. The bridge reads just enough of each line to know
 * the client's initialize (to replay it), the ids of requests it forwarded
 * and the answers to them. When the connection drops (a restart, a crash, or
 * the daemon closing an idle session) every call in flight gets a retryable
 * JSON-RPC error; on the client's next message the bridge reconnects, with
 * backoff for up to BRIDGE_RECONNECT_USEC, replays initialize (under its own
 * id, whose answer it swallows) and notifications/initialized, and forwards
 * the message. Reconnecting only on demand keeps an idle client from holding
 * the daemon up. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "bridge/bridge.h"

#define READ_CHUNK (64 * 1024)
/* Stop reading a side while this much waits for the other (backpressure). */
#define QUEUE_HIGH (1024 * 1024)
/* A line longer than this is not a message any daemon limit allows. */
#define LINE_MAX_BYTES (256 * 1024 * 1024)
#define BACKOFF_MIN_USEC (100ULL * 1000)
#define BACKOFF_MAX_USEC (2ULL * 1000 * 1000)

typedef struct ByteBuf {
        char *data;
        size_t start, end, alloc;
} ByteBuf;

typedef struct Line {
        struct Line *next;
        char *data; /* with the trailing newline */
        size_t len, sent;
        char *id; /* JSON text of a request's id, else NULL */
} Line;

struct Bridge {
        char *path;
        int sock;
        unsigned long long reconnect_usec;

        ByteBuf from_stdin, from_sock, to_stdout;
        Line *queue, *queue_tail; /* complete lines for the daemon */
        size_t queue_bytes;

        char **in_flight; /* ids sent to the daemon, not yet answered */
        size_t n_in_flight, alloc_in_flight;

        char *init_line; /* the client's initialize under BRIDGE_REPLAY_ID */
        char *init_id;
        bool session_ok;        /* the client's initialize got a result */
        bool initialized_seen;  /* the client sent notifications/initialized */
        bool replay_pending;

        bool stdin_eof, shut_wr;
        bool answered_on_conn;  /* the daemon sent a line on this connection */
        bool ever_answered;

        unsigned long long reconnect_deadline, next_attempt;
        unsigned attempt;
        int last_err;
};

static unsigned long long now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000;
}

/* A copy with a NUL after the len bytes, for json-c. */
static char *memdup_nul(const char *p, size_t len) {
        char *d = malloc(len + 1);

        if (!d)
                return NULL;
        memcpy(d, p, len);
        d[len] = 0;
        return d;
}

static size_t bytebuf_len(const ByteBuf *b) {
        return b->end - b->start;
}

static int bytebuf_reserve(ByteBuf *b, size_t extra) {
        if (b->start > 0 && b->alloc - b->end < extra) {
                memmove(b->data, b->data + b->start, bytebuf_len(b));
                b->end -= b->start;
                b->start = 0;
        }
        if (b->alloc - b->end < extra) {
                size_t n = MAX(b->alloc * 2, b->end + extra);
                char *p = realloc(b->data, n);
                if (!p)
                        return -ENOMEM;
                b->data = p;
                b->alloc = n;
        }
        return 0;
}

static int bytebuf_append(ByteBuf *b, const char *p, size_t n) {
        if (bytebuf_reserve(b, n) < 0)
                return -ENOMEM;
        memcpy(b->data + b->end, p, n);
        b->end += n;
        return 0;
}

/* Read into b. Returns bytes read, 0 on EOF, -EAGAIN, or another -errno. */
static ssize_t bytebuf_fill(ByteBuf *b, int fd) {
        ssize_t n;

        if (bytebuf_reserve(b, READ_CHUNK) < 0)
                return -ENOMEM;
        n = read(fd, b->data + b->end, READ_CHUNK);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
        b->end += n;
        return n;
}

static char *id_text(json_object *id) {
        return strdup(json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN));
}

static int in_flight_add(Bridge *b, const char *id) {
        if (b->n_in_flight == b->alloc_in_flight) {
                size_t n = MAX(b->alloc_in_flight * 2, 16u);
                char **p = realloc(b->in_flight, n * sizeof(char *));
                if (!p)
                        return -ENOMEM;
                b->in_flight = p;
                b->alloc_in_flight = n;
        }
        b->in_flight[b->n_in_flight] = strdup(id);
        if (!b->in_flight[b->n_in_flight])
                return -ENOMEM;
        b->n_in_flight++;
        return 0;
}

static void in_flight_remove(Bridge *b, const char *id) {
        for (size_t i = 0; i < b->n_in_flight; i++)
                if (streq(b->in_flight[i], id)) {
                        free(b->in_flight[i]);
                        b->in_flight[i] = b->in_flight[--b->n_in_flight];
                        return;
                }
}

/* A JSON-RPC error for id on stdout: what an MCP client shows and may retry. */
static int emit_error(Bridge *b, const char *id, const char *code, bool retryable, const char *message) {
        _cleanup_free_ char *line = NULL;
        json_object *m, *e, *d, *jid;
        int r;

        m = json_object_new_object();
        e = json_object_new_object();
        d = json_object_new_object();
        jid = json_tokener_parse(id); /* NULL for the id null only, else out of memory */
        /* each json_add() takes its value, also on failure */
        if (!m || !e || !d || (!jid && !streq(id, "null")) ||
            json_add(m, "jsonrpc", json_object_new_string("2.0")) < 0 ||
            json_add_nullable(m, "id", TAKE_PTR(jid)) < 0 ||
            json_add(e, "code", json_object_new_int(-32000)) < 0 ||
            json_add(e, "message", json_object_new_string(message)) < 0 ||
            json_add(d, "code", json_object_new_string(code)) < 0 ||
            json_add(d, "retryable", json_object_new_boolean(retryable)) < 0 ||
            json_add(e, "data", TAKE_PTR(d)) < 0 ||
            json_add(m, "error", TAKE_PTR(e)) < 0) {
                json_object_put(m);
                json_object_put(e);
                json_object_put(d);
                json_object_put(jid);
                return -ENOMEM;
        }
        r = asprintf(&line, "%s\n", json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
        json_object_put(m);
        if (r < 0)
                return -ENOMEM;
        return bytebuf_append(&b->to_stdout, line, strlen(line));
}

static int queue_push(Bridge *b, char *data, size_t len, char *id, bool front) {
        Line *l = new0(Line, 1);

        if (!l)
                return -ENOMEM;
        l->data = data;
        l->len = len;
        l->id = id;
        if (front) {
                l->next = b->queue;
                b->queue = l;
                if (!b->queue_tail)
                        b->queue_tail = l;
        } else {
                if (b->queue_tail)
                        b->queue_tail->next = l;
                else
                        b->queue = l;
                b->queue_tail = l;
        }
        b->queue_bytes += len;
        return 0;
}

static void queue_pop(Bridge *b) {
        Line *l = b->queue;

        b->queue = l->next;
        if (!b->queue)
                b->queue_tail = NULL;
        b->queue_bytes -= l->len;
        free(l->data);
        free(l->id);
        free(l);
}

/* The client's initialize, with BRIDGE_REPLAY_ID as its id. */
static int remember_initialize(Bridge *b, json_object *msg, json_object *id) {
        _cleanup_free_ char *copy = NULL;
        json_object *dup = NULL;

        if (json_object_deep_copy(msg, &dup, NULL) < 0)
                return -ENOMEM;
        if (json_add(dup, "id", json_object_new_string(BRIDGE_REPLAY_ID)) < 0) {
                json_object_put(dup);
                return -ENOMEM;
        }
        if (asprintf(&copy, "%s\n", json_object_to_json_string_ext(dup, JSON_C_TO_STRING_PLAIN)) < 0)
                copy = NULL;
        json_object_put(dup);
        if (!copy)
                return -ENOMEM;
        free(b->init_line);
        free(b->init_id);
        b->init_line = TAKE_PTR(copy);
        b->init_id = id_text(id);
        b->session_ok = false;
        return b->init_id ? 0 : -ENOMEM;
}

/* One complete line from the client (newline included). */
static int bridge_take_client_line(Bridge *b, const char *p, size_t len) {
        _cleanup_free_ char *data = NULL, *id = NULL;
        json_object *msg, *method = NULL, *jid = NULL;
        int r = 0;

        data = memdup_nul(p, len);
        if (!data)
                return -ENOMEM;

        msg = json_tokener_parse(data);
        if (msg && json_object_is_type(msg, json_type_object)) {
                bool has_id = json_object_object_get_ex(msg, "id", &jid);
                const char *m = json_object_object_get_ex(msg, "method", &method) &&
                                json_object_is_type(method, json_type_string) ? json_object_get_string(method) : NULL;

                if (m && has_id) {
                        id = id_text(jid);
                        if (!id)
                                r = -ENOMEM;
                        else if (streq(m, "initialize"))
                                r = remember_initialize(b, msg, jid);
                } else if (m && streq(m, "notifications/initialized"))
                        b->initialized_seen = true;
                else if (m && streq(m, "notifications/cancelled")) {
                        /* a cancelled request may go unanswered: stop waiting for it */
                        json_object *params, *rid;
                        if (json_object_object_get_ex(msg, "params", &params) &&
                            json_object_object_get_ex(params, "requestId", &rid)) {
                                _cleanup_free_ char *t = id_text(rid);
                                if (t)
                                        in_flight_remove(b, t);
                        }
                }
        }
        json_object_put(msg);
        if (r < 0)
                return r;

        r = queue_push(b, data, len, id, false);
        if (r < 0)
                return r;
        TAKE_PTR(data);
        TAKE_PTR(id);
        return 0;
}

/* One complete line from the daemon (newline included). */
static int bridge_take_daemon_line(Bridge *b, const char *p, size_t len) {
        _cleanup_free_ char *text = NULL;
        json_object *msg, *jid;
        int r = 0;

        b->answered_on_conn = b->ever_answered = true;
        b->reconnect_deadline = 0;
        b->attempt = 0;

        text = memdup_nul(p, len);
        if (!text)
                return -ENOMEM;
        msg = json_tokener_parse(text);
        if (msg && json_object_is_type(msg, json_type_object) &&
            json_object_object_get_ex(msg, "id", &jid) && !json_object_object_get_ex(msg, "method", NULL)) {
                _cleanup_free_ char *id = id_text(jid);
                bool ok = json_object_object_get_ex(msg, "result", NULL);

                if (!id) {
                        json_object_put(msg);
                        return -ENOMEM;
                }
                if (b->replay_pending && json_object_is_type(jid, json_type_string) &&
                    streq(json_object_get_string(jid), BRIDGE_REPLAY_ID)) {
                        b->replay_pending = false;
                        json_object_put(msg);
                        if (!ok) {
                                fprintf(stderr, "lean-host-mcp: the restarted lean-hostd refused the session's initialize "
                                                "(%.*s); restart the MCP client.\n", (int) MIN(len - 1, 400u), p);
                                return -EPROTO;
                        }
                        return 0; /* the client had its answer long ago */
                }
                in_flight_remove(b, id);
                if (ok && b->init_id && streq(id, b->init_id))
                        b->session_ok = true;
        }
        json_object_put(msg);

        r = bytebuf_append(&b->to_stdout, p, len);
        return r;
}

/* Splits buf into complete lines for take(); keeps a partial tail. The
 * first scanned bytes are known to hold no newline. */
static int bridge_split(Bridge *b, ByteBuf *buf, size_t scanned,
                        int (*take)(Bridge *, const char *, size_t)) {
        int r;

        for (;;) {
                char *s = buf->data + buf->start, *nl;
                nl = memchr(s + scanned, '\n', bytebuf_len(buf) - scanned);
                if (!nl)
                        break;
                r = take(b, s, (size_t) (nl - s) + 1);
                if (r < 0)
                        return r;
                buf->start += (size_t) (nl - s) + 1;
                scanned = 0;
        }
        if (buf->start == buf->end)
                buf->start = buf->end = 0;
        if (bytebuf_len(buf) > LINE_MAX_BYTES) {
                fprintf(stderr, "lean-host-mcp: a message longer than %d MiB; giving up.\n", LINE_MAX_BYTES >> 20);
                return -E2BIG;
        }
        return 0;
}

static int bridge_try_connect(Bridge *b) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        strncpy(sa.sun_path, b->path, sizeof(sa.sun_path) - 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        return TAKE_FD(fd);
}

/* The connection is gone: answer what was in flight, keep what was not
 * sent. Returns how many calls were lost. */
static int bridge_lost(Bridge *b, const char *why) {
        size_t lost = b->n_in_flight;
        int r;

        b->sock = safe_close(b->sock);
        b->shut_wr = false;
        b->replay_pending = false;
        b->answered_on_conn = false;
        if (bytebuf_len(&b->from_sock) > 0)
                fprintf(stderr, "lean-host-mcp: lean-hostd closed the connection in the middle of a message.\n");
        b->from_sock.start = b->from_sock.end = 0;
        if (b->queue && b->queue->sent > 0)
                queue_pop(b); /* cut short: its id is in flight, answered below */

        for (size_t i = 0; i < b->n_in_flight; i++) {
                r = emit_error(b, b->in_flight[i], "daemon_restarted", true,
                               "lean-hostd restarted while this call was in flight; call it again");
                if (r < 0)
                        return r;
                free(b->in_flight[i]);
        }
        b->n_in_flight = 0;

        if (!b->stdin_eof)
                fprintf(stderr, "lean-host-mcp: lean-hostd closed the connection (%s); %zu call(s) in flight "
                                "answered with daemon_restarted; reconnecting on the next message.\n", why, lost);
        return (int) MIN(lost, (size_t) INT_MAX);
}

static int bridge_give_up(Bridge *b) {
        Line *l;

        for (l = b->queue; l; l = l->next)
                if (l->id && !(l == b->queue && l->sent > 0))
                        (void) emit_error(b, l->id, "daemon_unavailable", true,
                                          "lean-hostd is not running and did not come back");
        fprintf(stderr, "lean-host-mcp: lost lean-hostd at %s and could not reconnect for %llu s (%s).\n",
                b->path, b->reconnect_usec / 1000000ULL, strerror(b->last_err));
        bridge_print_hint(b->path, true, b->last_err);
        return BRIDGE_EXIT_LOST;
}

/* Called while lines wait and there is no connection. Returns 1 when
 * connected, 0 to wait until next_attempt, <0 to give up. */
static int bridge_reconnect(Bridge *b) {
        unsigned long long now = now_usec(), backoff;
        int fd;

        if (b->reconnect_deadline == 0)
                b->reconnect_deadline = now + b->reconnect_usec;
        if (now < b->next_attempt)
                return 0;

        fd = bridge_try_connect(b);
        if (fd < 0) {
                b->last_err = -fd;
                if (now >= b->reconnect_deadline)
                        return -ETIMEDOUT;
                backoff = MIN(BACKOFF_MIN_USEC << MIN(b->attempt, 10u), BACKOFF_MAX_USEC);
                b->attempt++;
                b->next_attempt = MIN(now + backoff, b->reconnect_deadline);
                return 0;
        }

        b->sock = fd;
        b->attempt++;
        b->next_attempt = now + MIN(BACKOFF_MIN_USEC << MIN(b->attempt, 10u), BACKOFF_MAX_USEC);
        if (b->session_ok && b->init_line) {
                _cleanup_free_ char *init = strdup(b->init_line), *note = NULL;

                if (b->initialized_seen) {
                        note = strdup("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
                        if (!note || queue_push(b, note, strlen(note), NULL, true) < 0)
                                return -ENOMEM;
                        TAKE_PTR(note);
                }
                if (!init || queue_push(b, init, strlen(init), NULL, true) < 0)
                        return -ENOMEM;
                TAKE_PTR(init);
                b->replay_pending = true;
        }
        return 1;
}

/* Writes what is queued for the daemon; the id of a line goes in flight
 * with its first byte. */
static int bridge_send(Bridge *b) {
        while (b->queue) {
                Line *l = b->queue;
                ssize_t n;

                n = write(b->sock, l->data + l->sent, l->len - l->sent);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                if (l->sent == 0 && l->id && in_flight_add(b, l->id) < 0)
                        return -ENOMEM;
                l->sent += n;
                if (l->sent < l->len)
                        return 0;
                queue_pop(b);
        }
        return 0;
}

/* Blocking write of what is left for stdout, before an exit. */
static void bridge_drain_stdout(Bridge *b) {
        while (bytebuf_len(&b->to_stdout) > 0) {
                struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };
                ssize_t n;

                if (poll(&p, 1, 5000) <= 0)
                        return;
                n = write(STDOUT_FILENO, b->to_stdout.data + b->to_stdout.start,
                          MIN(bytebuf_len(&b->to_stdout), (size_t) PIPE_BUF));
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return;
                if (n > 0)
                        b->to_stdout.start += n;
        }
}

static int bridge_exit(Bridge *b, int status) {
        bridge_drain_stdout(b);
        return status;
}

int bridge_run(Bridge *b) {
        int r;

        for (;;) {
                struct pollfd p[3] = {};
                int timeout = -1;
                size_t scanned;
                ssize_t n;

                if (b->sock < 0 && b->queue) {
                        r = bridge_reconnect(b);
                        if (r == -ETIMEDOUT)
                                return bridge_exit(b, bridge_give_up(b));
                        if (r < 0)
                                return bridge_exit(b, BRIDGE_EXIT_BROKEN);
                        if (r == 0) {
                                unsigned long long now = now_usec();
                                timeout = b->next_attempt > now ? (int) ((b->next_attempt - now + 999) / 1000) : 0;
                        }
                }
                if (b->sock < 0 && !b->queue) {
                        if (b->stdin_eof)
                                return bridge_exit(b, 0);
                        /* a later message gets a fresh reconnect budget */
                        b->reconnect_deadline = 0;
                }

                if (b->sock >= 0 && b->stdin_eof && !b->queue && !b->shut_wr) {
                        /* The daemon answers what it was sent, then closes. */
                        (void) shutdown(b->sock, SHUT_WR);
                        b->shut_wr = true;
                }

                /* after the reconnect above: b->sock may be new */
                p[0].fd = STDIN_FILENO;
                p[1].fd = b->sock;
                p[2].fd = STDOUT_FILENO;
                p[0].events = !b->stdin_eof && b->queue_bytes < QUEUE_HIGH ? POLLIN : 0;
                if (p[0].events == 0)
                        p[0].fd = -1;
                if (b->sock >= 0) {
                        if (b->queue && !b->shut_wr)
                                p[1].events |= POLLOUT;
                        if (bytebuf_len(&b->to_stdout) < QUEUE_HIGH)
                                p[1].events |= POLLIN;
                } else
                        p[1].fd = -1;
                if (bytebuf_len(&b->to_stdout) > 0)
                        p[2].events = POLLOUT;
                else
                        p[2].fd = -1;

                if (poll(p, ELEMENTSOF(p), timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        return bridge_exit(b, BRIDGE_EXIT_BROKEN);
                }

                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        scanned = bytebuf_len(&b->from_stdin);
                        n = bytebuf_fill(&b->from_stdin, STDIN_FILENO);
                        if (n == 0 || (n < 0 && n != -EAGAIN)) {
                                /* Unreadable stdin counts as its end; a last line without newline still goes. */
                                b->stdin_eof = true;
                                if (bytebuf_len(&b->from_stdin) > 0) {
                                        if (bridge_take_client_line(b, b->from_stdin.data + b->from_stdin.start,
                                                                    bytebuf_len(&b->from_stdin)) < 0)
                                                return bridge_exit(b, BRIDGE_EXIT_BROKEN);
                                        b->from_stdin.start = b->from_stdin.end = 0;
                                }
                        } else if (n > 0 && bridge_split(b, &b->from_stdin, scanned, bridge_take_client_line) < 0)
                                return bridge_exit(b, BRIDGE_EXIT_BROKEN);
                }

                if (b->sock >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && (p[1].events & POLLIN)) {
                        scanned = bytebuf_len(&b->from_sock);
                        n = bytebuf_fill(&b->from_sock, b->sock);
                        if (n == 0 || (n < 0 && n != -EAGAIN)) {
                                bool cut = bytebuf_len(&b->from_sock) > 0;
                                bool answered = b->answered_on_conn;
                                bool replayed = b->replay_pending;
                                int lost;

                                lost = bridge_lost(b, n == 0 ? "end of stream" : strerror((int) -n));
                                if (lost < 0)
                                        return bridge_exit(b, BRIDGE_EXIT_BROKEN);
                                if (lost > 0 && !answered && !b->ever_answered) {
                                        /* accepted, then closed without a word: it failed to start */
                                        fprintf(stderr, "lean-host-mcp: lean-hostd at %s closed the connection without "
                                                        "answering.\n", b->path);
                                        bridge_print_hint(b->path, true, 0);
                                        return bridge_exit(b, BRIDGE_EXIT_UNAVAILABLE);
                                }
                                if (b->stdin_eof && !b->queue)
                                        return bridge_exit(b, cut ? BRIDGE_EXIT_BROKEN : 0);
                                if (!answered && replayed)
                                        b->last_err = ECONNRESET; /* retried with backoff, within the deadline */
                                else
                                        b->next_attempt = 0;
                                continue;
                        }
                        if (n > 0) {
                                r = bridge_split(b, &b->from_sock, scanned, bridge_take_daemon_line);
                                if (r < 0)
                                        return bridge_exit(b, r == -EPROTO ? BRIDGE_EXIT_LOST : BRIDGE_EXIT_BROKEN);
                        }
                }

                if (b->sock >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP)) && b->queue) {
                        r = bridge_send(b);
                        if (r == -EPIPE || r == -ECONNRESET) {
                                /* read what the daemon said before it closed; the read side reports the loss */
                                if (b->queue && b->queue->sent > 0)
                                        queue_pop(b);
                                (void) shutdown(b->sock, SHUT_WR);
                                b->shut_wr = true;
                        } else if (r < 0) {
                                fprintf(stderr, "lean-host-mcp: writing to lean-hostd failed: %s\n", strerror(-r));
                                return bridge_exit(b, BRIDGE_EXIT_BROKEN);
                        }
                }

                if (p[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
                        /* stdout may be a blocking pipe we do not own: after POLLOUT, at most PIPE_BUF */
                        n = write(STDOUT_FILENO, b->to_stdout.data + b->to_stdout.start,
                                  MIN(bytebuf_len(&b->to_stdout), (size_t) PIPE_BUF));
                        if (n < 0 && errno != EAGAIN && errno != EINTR) {
                                if (errno != EPIPE)
                                        fprintf(stderr, "lean-host-mcp: writing to stdout failed: %m\n");
                                return BRIDGE_EXIT_BROKEN;
                        }
                        if (n > 0)
                                b->to_stdout.start += n;
                        if (b->to_stdout.start == b->to_stdout.end)
                                b->to_stdout.start = b->to_stdout.end = 0;
                }
        }
}

int bridge_new(Bridge **ret, int sock, const char *path, unsigned long long reconnect_usec) {
        Bridge *b;

        assert(ret);
        assert(sock >= 0);
        assert(path);

        b = new0(Bridge, 1);
        if (!b)
                return -ENOMEM;
        b->path = strdup(path);
        if (!b->path) {
                free(b);
                return -ENOMEM;
        }
        b->sock = sock;
        b->reconnect_usec = reconnect_usec;
        *ret = b;
        return 0;
}

Bridge *bridge_free(Bridge *b) {
        if (!b)
                return NULL;
        while (b->queue)
                queue_pop(b);
        for (size_t i = 0; i < b->n_in_flight; i++)
                free(b->in_flight[i]);
        free(b->in_flight);
        free(b->from_stdin.data);
        free(b->from_sock.data);
        free(b->to_stdout.data);
        free(b->init_line);
        free(b->init_id);
        free(b->path);
        safe_close(b->sock);
        free(b);
        return NULL;
}
