/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "basic/log.h"
#include "basic/path-util.h"
#include "basic/socket-path.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "daemon/manager.h"
#include "lh-build-config.h"
#include "tools/envelope.h"
#include "tools/tools.h"

/* How long SIGTERM waits for workers to go down and answers to be flushed. */
#define MANAGER_STOP_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define MANAGER_DRAIN_POLL_USEC (50 * USEC_PER_MSEC)
/* Descriptors kept free of connections: the daemon's own (event loop, buses,
 * journal, listener, /proc reads) and per worker (pipes, pidfd, scope). */
#define MANAGER_FD_RESERVE_BASE UINT64_C(64)
#define MANAGER_FD_RESERVE_PER_WORKER UINT64_C(8)

static void manager_update_status(Manager *m) {
        unsigned n_conn = m->mcp ? mcp_server_get_n_connections(m->mcp) : 0;
        unsigned n_workers = m->registry ? registry_get_workers_active(m->registry) : 0;
        EnforcementMode mode = m->registry ? registry_get_enforcement(m->registry) : ENFORCEMENT_MODE_PROCESS;

        if (m->stopping)
                return;
        (void) sd_notifyf(false, "STATUS=%u connection%s, %u worker%s, enforcement %s",
                          n_conn, n_conn == 1 ? "" : "s",
                          n_workers, n_workers == 1 ? "" : "s",
                          enforcement_mode_to_string(mode));
}

static int on_idle_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_info("Idle for %" PRIu64 " s with no connections and no workers, exiting.",
                 m->config->idle_exit_secs);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Exiting on idle.");
        m->stopping = true;
        return sd_event_exit(m->event, 0);
}

/* Arm the idle timer when nothing is going on; disarm it otherwise. Socket
 * activation brings the daemon back on the next connection. */
static void manager_check_idle(Manager *m) {
        bool quiet;
        int r;

        if (m->stopping || m->config->idle_exit_secs == 0)
                return;

        quiet = mcp_server_get_n_connections(m->mcp) == 0 && registry_is_quiet(m->registry);
        if (!quiet) {
                if (m->idle_timer)
                        (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_OFF);
                return;
        }

        usec_t when = now_usec(CLOCK_MONOTONIC) + m->config->idle_exit_secs * USEC_PER_SEC;
        if (m->idle_timer) {
                r = sd_event_source_set_time(m->idle_timer, when);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->idle_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(m->event, &m->idle_timer, CLOCK_MONOTONIC, when, USEC_PER_SEC,
                                      on_idle_timer, m);
        if (r < 0)
                log_warning_errno(r, "Failed to arm idle timer, not exiting on idle: %m");
}

/* What STATUS= shows (connections, workers, the mode new workers get)
 * changed: the line again, and the idle timer. A project's state is not on
 * the line: its changes only re-check idleness. */
static void manager_status_changed(Manager *m) {
        manager_update_status(m);
        manager_check_idle(m);
}

/* The registry tells the bus itself (bus_registry_observer, set below);
 * the manager hears what its status line and idle timer need: worker counts
 * always, a project's state only while no client is connected (with one the
 * daemon is not idle, whatever the projects do). */
static void on_project_changed(LhProject *p, ProjectChange what, void *userdata) {
        Manager *m = userdata;

        if (what & PROJECT_CHANGE_STATE)
                manager_check_idle(m);
}

static void on_workers_changed(LhRegistry *r, unsigned n, void *userdata) {
        manager_status_changed(userdata);
}

static const RegistryObserver manager_observer = {
        .workers_changed = on_workers_changed,
};

static const RegistryObserver manager_idle_observer = {
        .project_changed = on_project_changed,
        .workers_changed = on_workers_changed,
};

static void manager_observe(Manager *m) {
        bool watch = m->config->idle_exit_secs > 0 && (!m->mcp || mcp_server_get_n_connections(m->mcp) == 0);

        registry_set_observer(m->registry, watch ? &manager_idle_observer : &manager_observer, m);
}

static void on_connections_changed(McpServer *s, unsigned n, void *userdata) {
        Manager *m = userdata;

        manager_observe(m);
        manager_status_changed(m);
}

static int on_drain_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        bool done = registry_is_quiet(m->registry) && mcp_server_is_drained(m->mcp) &&
                http_server_is_drained(m->http);

        if (done || usec >= m->stop_deadline) {
                if (!done)
                        log_warning("Stop timeout: exiting with work still pending.");
                return sd_event_exit(m->event, m->exit_code);
        }
        return sd_event_source_set_time(s, usec + MANAGER_DRAIN_POLL_USEC) < 0 ?
                sd_event_exit(m->event, m->exit_code) :
                sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* SIGTERM/SIGINT: stop accepting, answer everything queued or running with a
 * shutting_down error, stop every worker and its scope, flush, exit 0. */
static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        int r;

        if (m->stopping) {
                log_notice("Received %s again while stopping, exiting now.", strsignal((int) si->ssi_signo));
                return sd_event_exit(m->event, m->exit_code);
        }

        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping: answering in-flight calls, stopping workers.");
        m->stopping = true;
        if (m->idle_timer)
                (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_OFF);

        http_server_stop_accepting(m->http);
        mcp_server_stop_accepting(m->mcp);
        registry_shutdown(m->registry);

        usec_t now = now_usec(CLOCK_MONOTONIC);
        m->stop_deadline = now + MANAGER_STOP_TIMEOUT_USEC;
        r = sd_event_add_time(m->event, &m->drain_timer, CLOCK_MONOTONIC, now, 0, on_drain_timer, m);
        if (r < 0)
                return sd_event_exit(m->event, m->exit_code);
        return 0;
}

/* A socket file nobody answers on is left by a daemon that died: replace it.
 * One that answers belongs to a live daemon: refuse to steal it. */
static int socket_path_check_stale(const char *path, const struct sockaddr_un *sa, socklen_t salen) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISSOCK(st.st_mode))
                return log_error_errno(EEXIST, "%s exists and is not a socket, refusing to replace it.", path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (const struct sockaddr *) sa, salen) >= 0)
                return log_error_errno(EADDRINUSE, "Another lean-hostd is already listening on %s.", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove stale socket %s: %m", path);
        return 0;
}

static int manager_bind_socket(Manager *m, const char *path, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        socklen_t salen;
        mode_t old_umask;
        struct stat st;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(ENAMETOOLONG, "Socket path too long: %s", path);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);

        dir = strdup(path);
        if (!dir)
                return log_oom();
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                r = mkdir_p_mode(dir, 0700);
                if (r < 0)
                        return log_error_errno(r, "Failed to create socket directory %s: %m", dir);
                /* A directory someone else made first (the /tmp/lean-host-UID
                 * fallback) would let them replace our socket. */
                if (stat(dir, &st) < 0)
                        return log_error_errno(errno, "Failed to stat socket directory %s: %m", dir);
                if (st.st_uid != geteuid() && st.st_uid != 0)
                        return log_error_errno(EPERM, "Socket directory %s belongs to uid %u, not to us: refusing to listen there.",
                                               dir, (unsigned) st.st_uid);
        }

        r = socket_path_check_stale(path, &sa, salen);
        if (r < 0)
                return r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create socket: %m");

        /* Never a window where the socket is reachable by others. */
        old_umask = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, salen);
        umask(old_umask);
        if (r < 0)
                return log_error_errno(errno, "Failed to bind %s: %m", path);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Failed to listen on %s: %m", path);
        if (lstat(path, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", path);
        m->listen_dev = st.st_dev;
        m->listen_ino = st.st_ino;

        m->listen_path = strdup(path);
        if (!m->listen_path)
                return log_oom();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* systemd's convention: the soft RLIMIT_NOFILE (1024 for user services) is
 * raised to the hard one at start; select() is not used here. Returns the
 * soft limit in effect. */
static uint64_t manager_raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
                log_warning_errno(errno, "Failed to read RLIMIT_NOFILE: %m");
                return 1024;
        }
        if (rl.rlim_cur < rl.rlim_max) {
                rlim_t old = rl.rlim_cur;

                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
                        log_warning_errno(errno, "Failed to raise RLIMIT_NOFILE from %llu to %llu: %m",
                                          (unsigned long long) old, (unsigned long long) rl.rlim_max);
                        rl.rlim_cur = old;
                } else
                        log_debug("Raised RLIMIT_NOFILE from %llu to %llu.", (unsigned long long) old,
                                  (unsigned long long) rl.rlim_cur);
        }
        return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t) rl.rlim_cur;
}

/* Connections may use what the workers, the buses, the journal and the
 * event loop's own fds leave: max_connections + reserve <= RLIMIT_NOFILE,
 * so tool calls keep working with every connection slot taken. */
static uint64_t manager_effective_max_connections(const LhConfig *c, uint64_t nofile) {
        uint64_t workers = c->max_workers > 0 ? c->max_workers : 8;
        uint64_t reserve = MANAGER_FD_RESERVE_BASE + MANAGER_FD_RESERVE_PER_WORKER * workers;
        uint64_t max = nofile > reserve ? nofile - reserve : 1;

        if (c->max_connections <= max) {
                log_info("Accepting up to %" PRIu64 " connections (RLIMIT_NOFILE %" PRIu64 ", %" PRIu64
                         " descriptors reserved).", c->max_connections, nofile, reserve);
                return c->max_connections;
        }
        log_notice("daemon.max_connections=%" PRIu64 " does not fit RLIMIT_NOFILE=%" PRIu64
                   " with %" PRIu64 " descriptors reserved for workers and the daemon; accepting at most %" PRIu64
                   " connections.", c->max_connections, nofile, reserve, max);
        return max;
}

static int manager_get_listen_fd(Manager *m, const char *listen_path, int *ret_fd) {
        _cleanup_free_ char *def = NULL;
        int n, r;

        _cleanup_strv_free_ char **names = NULL;
        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to read passed file descriptors: %m");
        /* lean-hostd-http.socket's (FileDescriptorName=http) is the HTTP
         * listener's; the Unix socket's, if any, stays at SD_LISTEN_FDS_START */
        for (int i = 0; i < n; i++)
                if (names && names[i] && streq(names[i], "http")) {
                        m->http_fd = fcntl(SD_LISTEN_FDS_START + i, F_DUPFD_CLOEXEC, SD_LISTEN_FDS_START + n);
                        if (m->http_fd < 0)
                                return log_error_errno(errno, "Failed to take the passed HTTP socket: %m");
                        if (i == 0 && n > 1 && dup3(SD_LISTEN_FDS_START + 1, SD_LISTEN_FDS_START, O_CLOEXEC) < 0)
                                return log_error_errno(errno, "Failed to arrange the passed sockets: %m");
                        (void) close(SD_LISTEN_FDS_START + n - 1);
                        n--;
                        break;
                }
        if (n > 1)
                return log_error_errno(EINVAL, "Expected at most one socket from systemd, got %d.", n);
        if (n == 1 && !listen_path) {
                r = sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0);
                if (r < 0)
                        return log_error_errno(r, "Failed to check passed socket: %m");
                if (r == 0)
                        return log_error_errno(EINVAL, "Passed fd is not a listening AF_UNIX stream socket.");
                m->socket_activated = true;
                log_debug("Using socket passed by systemd.");
                *ret_fd = SD_LISTEN_FDS_START;
                return 0;
        }
        if (n == 1)
                (void) safe_close(SD_LISTEN_FDS_START); /* --listen wins; don't leak the passed one */

        if (!listen_path) {
                r = socket_path_default(&def);
                if (r < 0)
                        return log_oom();
                listen_path = def;
        }
        return manager_bind_socket(m, listen_path, ret_fd);
}

int manager_new(Manager **ret, const LhConfig *config) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        assert(ret);
        assert(config);

        m = new0(Manager, 1);
        if (!m)
                return log_oom();
        m->config = config;

        r = sd_event_new(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");
        /* with WatchdogSec= (the unit), a loop stuck for that long is restarted */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the service watchdog: %m");
        else if (r > 0)
                log_debug("Service watchdog enabled.");

        *ret = TAKE_PTR(m);
        return 0;
}

static int manager_start_http(Manager *m) {
        const char *listen = m->http_listen;
        HttpServerOptions opts = {
                .listen = listen ?: m->config->http_listen,
                .fd = m->http_fd > 0 ? TAKE_FD(m->http_fd) : -EBADF,
                .token_file = m->config->http_token_file,
                .allowed_hosts = m->config->http_allowed_hosts,
                .max_sessions = m->config->http_max_sessions,
                .max_body_bytes = m->config->max_line_bytes,
                .max_input_bytes = m->config->max_input_bytes,
        };
        int r;

        if (opts.fd >= 0 && listen) {
                opts.fd = safe_close(opts.fd); /* --listen-http wins */
        }
        if (opts.fd < 0 && (!opts.listen || !opts.listen[0]))
                return 0; /* not asked for */
        r = http_server_new(&m->http, m->event, m->mcp, &opts);
        if (r < 0)
                return log_error_errno(r, "Failed to start MCP over HTTP: %m");
        return 0;
}

int manager_startup(Manager *m, const char *listen_path) {
        int fd = -EBADF, r;

        assert(m);

        /* Signals: SIGCHLD for worker child watches, SIGTERM/SIGINT to stop. */
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_stop_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_stop_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to install signal handlers: %m");

        r = manager_get_listen_fd(m, listen_path, &fd);
        if (r < 0)
                return r;

        if (m->config->enforcement != ENFORCEMENT_PROCESS) {
                r = scope_placer_new(&m->placer, m->event, m->config->slice);
                if (r < 0)
                        log_warning_errno(r, "Failed to set up scope placement, workers run as plain children: %m");
                else
                        (void) scope_placer_stop_stale(m->placer);
        }

        r = registry_new(&m->registry, m->event, m->config, m->placer);
        if (r < 0)
                return log_error_errno(r, "Failed to create project registry: %m");
        manager_observe(m);

        uint64_t nofile = manager_raise_nofile();
        McpServerOptions opts = {
                .max_line_bytes = m->config->max_line_bytes,
                .max_connections = manager_effective_max_connections(m->config, nofile),
                .max_input_bytes = m->config->max_input_bytes,
                .line_timeout_usec = m->config->line_timeout_secs * USEC_PER_SEC,
                .handshake_timeout_usec = m->config->handshake_timeout_secs * USEC_PER_SEC,
                .idle_timeout_usec = m->config->connection_idle_secs * USEC_PER_SEC,
                .progress_interval_usec = m->config->progress_interval_secs * USEC_PER_SEC,
                .server_name = "lean-host",
                .server_version = PACKAGE_VERSION,
                .instructions = "lean-host runs Lean 4 for Lake projects in supervised, memory-capped workers. "
                                "Every project-scoped tool takes `project`: the Lake project root or any file in it. "
                                "Errors carry a stable `code` and `retryable`; results carry runtime facts.",
        };
        opts.tools = tools_list_defs(&opts.n_tools);
        r = mcp_server_new(&m->mcp, m->event, &opts);
        if (r < 0)
                return log_error_errno(r, "Failed to create MCP server: %m");
        mcp_server_set_connections_changed(m->mcp, on_connections_changed, m);
        r = mcp_log_forward_new(&m->log_forward, m->event, m->mcp);
        if (r < 0)
                log_warning_errno(r, "Failed to pass log lines on to MCP clients, continuing without: %m");

        r = tools_register(m->mcp, m->event, m->registry, m->config, &m->tools);
        if (r < 0)
                return log_error_errno(r, "Failed to register tools: %m");

        r = mcp_server_add_listener(m->mcp, fd);
        if (r < 0)
                return log_error_errno(r, "Failed to listen for MCP connections: %m");

        r = bus_service_new(&m->bus, m->event, m->registry, m->config, m->system_bus);
        if (r < 0)
                log_warning_errno(r, "Failed to publish org.leanhost.Host1 on the bus, continuing without D-Bus: %m");
        if (m->bus)
                registry_set_observer(m->registry, &bus_registry_observer, m->bus);

        if (m->config->enforcement == ENFORCEMENT_PROCESS)
                log_info("Enforcement: process mode (configured): workers are plain children, memory tiers enforced by the daemon.");
        else if (!m->placer)
                log_info("Enforcement: process mode: no scope placement available.");
        else
                log_info("Enforcement: %s requested; workers get transient scopes in %s when the user manager answers, "
                         "else run as plain children with daemon-side enforcement.",
                         enforcement_request_to_string(m->config->enforcement), m->config->slice);

        r = manager_start_http(m);
        if (r < 0)
                return r;

        log_info("lean-hostd %s ready on %s.", PACKAGE_VERSION,
                 m->socket_activated ? "the socket passed by systemd" : m->listen_path);
        (void) sd_notify(false, "READY=1");
        manager_status_changed(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        assert(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

/* Remove the socket file only while it still is the one we bound: a daemon
 * started after ours may have replaced it (ours was stale to it, or removed
 * by hand), and its clients must keep finding it. */
static void manager_unlink_socket(Manager *m) {
        struct stat st;

        if (lstat(m->listen_path, &st) < 0)
                return;
        if (!S_ISSOCK(st.st_mode) || st.st_dev != m->listen_dev || st.st_ino != m->listen_ino) {
                log_info("%s is no longer our socket (replaced by another daemon?), leaving it.", m->listen_path);
                return;
        }
        if (unlink(m->listen_path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove %s: %m", m->listen_path);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* Workers (and their scopes) go before the bus and the placer they use. */
        if (m->registry && m->bus)
                registry_set_observer(m->registry, NULL, m->bus);
        m->bus = bus_service_free(m->bus);
        m->log_forward = mcp_log_forward_free(m->log_forward);
        m->http = http_server_free(m->http); /* its sessions are the MCP server's connections */
        m->mcp = mcp_server_free(m->mcp);
        m->tools = tools_context_free(m->tools);
        m->registry = registry_free(m->registry);
        m->placer = scope_placer_free(m->placer);
        m->idle_timer = sd_event_source_disable_unref(m->idle_timer);
        m->drain_timer = sd_event_source_disable_unref(m->drain_timer);
        if (m->listen_path) {
                manager_unlink_socket(m);
                free(m->listen_path);
        }
        if (m->http_fd > 0) /* 0: none (a passed socket is never fd 0) */
                safe_close(m->http_fd);
        sd_event_unref(m->event);
        return mfree(m);
}
