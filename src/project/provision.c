/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The REPL build, per toolchain, as an asynchronous child. See provision.h.
 * Owns: ReplProvisioner. Must not know: projects, the actor. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "lean/toolchain.h"
#include "project/provision.h"

#define TAIL_MAX 2048

typedef enum BuildState {
        BUILD_RUNNING,
        BUILD_FAILED,
} BuildState;

typedef struct Build Build;
struct Build {
        ReplProvisioner *owner;
        Build *next;
        char *dir;        /* the cache directory it fills */
        char *pin;
        char *rev;        /* NULL: the source's HEAD */
        char *lake;
        BuildState state;
        bool timed_out;
        pid_t pid;
        int out_fd;
        sd_event_source *child_source, *out_source, *timer_source;
        usec_t started, failed_at;
        char line[512];   /* partial output line */
        size_t line_len;
        char tail[TAIL_MAX]; /* the last output lines, for the failure message */
        char *failure, *fix;
};

struct ReplProvisioner {
        sd_event *event;
        char *source, *revisions_file, *cache_root, *elan_home;
        LeanReplRevisions revisions;
        char *revisions_error; /* why the table could not be read, or NULL */
        Build *builds;
};

/* Positional: source, revision ("" = HEAD), pin, lake, destination. Exit
 * codes name the step that failed. Built in a temporary sibling and renamed,
 * so a half-built tree is never mistaken for a REPL. */
static const char build_script[] =
        "set -u\n"
        "src=$1 rev=$2 pin=$3 lake=$4 dest=$5\n"
        "tmp=\"$dest.build.$$\"\n"
        "trap 'rm -rf \"$tmp\"' EXIT\n"
        "mkdir -p \"$(dirname \"$dest\")\" || exit 14\n"
        "rm -rf \"$dest\".build.*\n" /* left by a daemon that died mid-build */
        "command -v git >/dev/null || exit 15\n"
        "echo \"fetching $src\"\n"
        "git clone --quiet --no-checkout -- \"$src\" \"$tmp\" || exit 10\n"
        "cd \"$tmp\" || exit 14\n"
        "git -c advice.detachedHead=false checkout --quiet --detach \"${rev:-HEAD}\" || exit 11\n"
        "echo \"at $(git rev-parse HEAD), lean-toolchain set to $pin\"\n"
        "printf '%s\\n' \"$pin\" > lean-toolchain || exit 14\n"
        "echo \"$lake build repl\"\n"
        "\"$lake\" build repl || exit 12\n"
        "test -x .lake/build/bin/repl || exit 13\n"
        "printf '%s\\n' \"$pin\" > " LEAN_REPL_STAMP_FILE " || exit 14\n"
        "cd .. && rm -rf \"$dest\" && mv \"$tmp\" \"$dest\" || exit 14\n"
        "trap - EXIT\n"
        "echo \"REPL for $pin ready in $dest\"\n";

static void build_free(Build *b) {
        if (!b)
                return;
        sd_event_source_disable_unref(b->child_source);
        sd_event_source_disable_unref(b->out_source);
        sd_event_source_disable_unref(b->timer_source);
        if (b->state == BUILD_RUNNING && b->pid > 0)
                (void) kill(-b->pid, SIGKILL);
        safe_close(b->out_fd);
        free(b->dir);
        free(b->pin);
        free(b->rev);
        free(b->lake);
        free(b->failure);
        free(b->fix);
        free(b);
}

ReplProvisioner *repl_provisioner_free(ReplProvisioner *p) {
        if (!p)
                return NULL;
        while (p->builds) {
                Build *b = p->builds;

                p->builds = b->next;
                build_free(b);
        }
        lean_repl_revisions_done(&p->revisions);
        free(p->revisions_error);
        free(p->source);
        free(p->revisions_file);
        free(p->cache_root);
        free(p->elan_home);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}

int repl_provisioner_new(ReplProvisioner **ret, sd_event *event, const LhConfig *config) {
        _cleanup_(repl_provisioner_freep) ReplProvisioner *p = NULL;
        _cleanup_free_ char *text = NULL;
        unsigned line = 0;
        int r;

        assert(ret);
        assert(event);
        assert(config);
        p = new0(ReplProvisioner, 1);
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(event);
        p->source = strdup(strempty(config->repl_source));
        p->revisions_file = strdup(strempty(config->repl_revisions_file));
        p->cache_root = lean_repl_cache_root(config->repl_cache_dir);
        p->elan_home = lean_elan_home(config->elan_home);
        if (!p->source || !p->revisions_file)
                return -ENOMEM;

        /* once, at start: the loop never reads it */
        r = read_full_file(p->revisions_file, 0, &text, NULL);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                r = lean_repl_revisions_parse(text, &p->revisions, &line);
        if (r == -ENOMEM)
                return r;
        if (r == -EBADMSG)
                p->revisions_error = strdup_printf("%s line %u is not \"<lean-toolchain pin> <REPL revision> [tag]\"",
                                                   p->revisions_file, line);
        else if (r < 0)
                p->revisions_error = strdup_printf("cannot read the REPL revision table %s (config "
                                                   "repl.revisions_file): %s", p->revisions_file, strerror(-r));
        if (r < 0) {
                if (!p->revisions_error)
                        return -ENOMEM;
                log_warning("%s", p->revisions_error);
        }
        *ret = TAKE_PTR(p);
        return 0;
}

static Build *build_find(ReplProvisioner *p, const char *dir) {
        for (Build *b = p->builds; b; b = b->next)
                if (streq(b->dir, dir))
                        return b;
        return NULL;
}

static void build_remove(Build *b) {
        ReplProvisioner *p = b->owner;

        for (Build **i = &p->builds; *i; i = &(*i)->next)
                if (*i == b) {
                        *i = b->next;
                        break;
                }
        build_free(b);
}

static bool source_is_local(const char *s) {
        return path_is_absolute(s);
}

/* The recipe by hand: what a user runs when lean-host cannot. */
static char *manual_fix(ReplProvisioner *p, const Build *b) {
        return strdup_printf("git clone %s %s && cd %s && git checkout %s && echo %s > lean-toolchain && "
                             "%s build repl && echo %s > " LEAN_REPL_STAMP_FILE,
                             p->source, b->dir, b->dir, b->rev ?: "HEAD", b->pin, b->lake, b->pin);
}

static void build_fail(Build *b, char *failure, char *fix) {
        b->state = BUILD_FAILED;
        b->failed_at = now_usec(CLOCK_MONOTONIC);
        free(b->failure);
        free(b->fix);
        b->failure = failure;
        b->fix = fix;
        b->child_source = sd_event_source_disable_unref(b->child_source);
        b->out_source = sd_event_source_disable_unref(b->out_source);
        b->timer_source = sd_event_source_disable_unref(b->timer_source);
        b->out_fd = safe_close(b->out_fd);
        log_warning("REPL build for %s failed: %s%s%s", b->pin, strna(b->failure), b->fix ? "; fix: " : "",
                    strempty(b->fix));
}

static void tail_add(Build *b, const char *line) {
        size_t n = strlen(line), have = strlen(b->tail);

        if (n + 2 >= TAIL_MAX) {
                line += n - (TAIL_MAX / 2);
                n = TAIL_MAX / 2;
        }
        if (have + n + 2 > TAIL_MAX) {
                /* drop the oldest lines */
                size_t drop = have + n + 2 - TAIL_MAX;
                const char *nl = strchr(b->tail + drop, '\n');

                drop = nl ? (size_t) (nl + 1 - b->tail) : have;
                memmove(b->tail, b->tail + drop, have - drop + 1);
                have -= drop;
        }
        memcpy(b->tail + have, line, n);
        b->tail[have + n] = '\n';
        b->tail[have + n + 1] = 0;
}

static void build_line(Build *b) {
        b->line[b->line_len] = 0;
        log_info("REPL build for %s: %s", b->pin, b->line);
        tail_add(b, b->line);
        b->line_len = 0;
}

/* One read: > 0 data, 0 end of output (closed), -EAGAIN nothing now. */
static int output_read(Build *b) {
        char buf[4096];
        ssize_t n;

        if (b->out_fd < 0)
                return 0;
        n = read(b->out_fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return -EAGAIN;
        if (n <= 0) {
                if (b->line_len > 0)
                        build_line(b);
                b->out_source = sd_event_source_disable_unref(b->out_source);
                b->out_fd = safe_close(b->out_fd);
                return 0;
        }
        for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == '\n' || b->line_len + 1 >= sizeof b->line)
                        build_line(b);
                if (buf[i] != '\n')
                        b->line[b->line_len++] = buf[i];
        }
        return 1;
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) output_read(userdata);
        return 0;
}

static const char *tail_last(const Build *b) {
        size_t n = strlen(b->tail);
        const char *last;

        if (n == 0)
                return "no output";
        /* the last non-empty line */
        while (n > 0 && b->tail[n - 1] == '\n')
                n--;
        last = memrchr(b->tail, '\n', n);
        return last ? last + 1 : b->tail;
}

static int on_exit_status(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Build *b = userdata;
        ReplProvisioner *p = b->owner;
        _cleanup_free_ char *last = NULL;
        int code = si->si_code == CLD_EXITED ? si->si_status : -1;

        /* drain what is left of the output first (bounded), so the failure can quote it */
        for (unsigned i = 0; i < 256 && output_read(b) > 0; i++)
                ;
        b->pid = 0;
        if (code == 0) {
                log_info("REPL for %s built in %s (%" PRIu64 " s).", b->pin, b->dir,
                         (now_usec(CLOCK_MONOTONIC) - b->started) / USEC_PER_SEC);
                build_remove(b);
                return 0;
        }
        last = strndup(tail_last(b), strcspn(tail_last(b), "\n"));
        switch (code) {
        case 10:
                build_fail(b, strdup_printf("cannot fetch the REPL source %s%s: %s", p->source,
                                            source_is_local(p->source) ? "" : " (offline?)", strna(last)),
                           source_is_local(p->source)
                                   ? strdup_printf("make %s a git clone of https://github.com/leanprover-community/repl",
                                                   p->source)
                                   : strdup("git clone https://github.com/leanprover-community/repl ~/src/repl "
                                            "where the network is reachable, then set repl.source to ~/src/repl "
                                            "(its absolute path) in ~/.config/lean-host/config.json"));
                break;
        case 11:
                build_fail(b, strdup_printf("the REPL source %s has no revision %s (for %s): %s", p->source,
                                            strna(b->rev), b->pin, strna(last)),
                           source_is_local(p->source)
                                   ? strdup_printf("git -C %s fetch origin", p->source)
                                   : strdup_printf("correct the line for %s in %s (a REPL commit whose "
                                                   "lean-toolchain is that pin)", b->pin, p->revisions_file));
                break;
        case 15:
                build_fail(b, strdup("git is not installed: lean-host needs it to fetch the REPL source"),
                           strdup("sudo apt-get install git (or your distribution's git package)"));
                break;
        default:
                build_fail(b, b->timed_out ? strdup_printf("the REPL build for %s took longer than %" PRIu64 " min "
                                                           "and was stopped: %s", b->pin,
                                                           PROVISION_TIMEOUT_USEC / USEC_PER_SEC / 60, strna(last))
                              : code >= 0 ? strdup_printf("building the REPL for %s failed (exit %d): %s", b->pin,
                                                          code, strna(last))
                                          : strdup_printf("the REPL build for %s was killed (signal %d)", b->pin,
                                                          si->si_status),
                           manual_fix(p, b));
        }
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Build *b = userdata;

        b->timed_out = true;
        if (b->pid > 0)
                (void) kill(-b->pid, SIGKILL); /* on_exit_status reports it */
        return 0;
}

/* fork + exec /bin/sh with the fixed script; the child gets its own process
 * group so a timeout or our exit kills git and lake too. */
static int build_spawn(ReplProvisioner *p, Build *b) {
        _cleanup_free_ char *path_env = NULL, *elan_env = NULL, *lake_dir = strdup(b->lake);
        _cleanup_close_ int out_r = -EBADF, out_w = -EBADF;
        const char *old_path = getenv("PATH");
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) build_script, (char *) "lean-host-repl-build",
                         p->source, b->rev ?: (char *) "", b->pin, b->lake, b->dir, NULL };
        _cleanup_strv_free_ char **envp = NULL;
        int fds[2], r;
        pid_t pid;

        if (!lake_dir)
                return -ENOMEM;
        *strrchr(lake_dir, '/') = 0;
        /* the toolchain's bin first (lean beside lake); no git prompts on a daemon */
        path_env = strdup_printf("PATH=%s%s%s", lake_dir, old_path ? ":" : "", strempty(old_path));
        if (!path_env)
                return -ENOMEM;
        for (char **e = environ; e && *e; e++)
                if (strncmp(*e, "PATH=", 5) != 0 && strv_extend(&envp, *e) < 0)
                        return -ENOMEM;
        if (strv_extend(&envp, path_env) < 0 || strv_extend(&envp, "GIT_TERMINAL_PROMPT=0") < 0)
                return -ENOMEM;
        if (p->elan_home) {
                elan_env = strdup_printf("ELAN_HOME=%s", p->elan_home);
                if (!elan_env || strv_extend(&envp, elan_env) < 0)
                        return -ENOMEM;
        }

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        out_r = fds[0];
        out_w = fds[1];
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t all;
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

                (void) setpgid(0, 0);
                sigemptyset(&all);
                (void) sigprocmask(SIG_SETMASK, &all, NULL);
                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
                    dup2(out_w, STDERR_FILENO) < 0 || chdir("/") < 0)
                        _exit(127);
                execve(argv[0], argv, envp);
                _exit(127);
        }
        (void) setpgid(pid, pid); /* both sides, so kill(-pid) works at once */
        b->pid = pid;
        out_w = safe_close(out_w);
        (void) fcntl(out_r, F_SETFL, O_NONBLOCK);

        b->out_fd = TAKE_FD(out_r);
        r = sd_event_add_child(p->event, &b->child_source, pid, WEXITED, on_exit_status, b);
        if (r >= 0)
                r = sd_event_add_io(p->event, &b->out_source, b->out_fd, EPOLLIN, on_output, b);
        if (r >= 0)
                r = sd_event_add_time_relative(p->event, &b->timer_source, CLOCK_MONOTONIC, PROVISION_TIMEOUT_USEC,
                                               0, on_timeout, b);
        if (r < 0) {
                /* unwatched: stop it now rather than let it build unseen */
                (void) kill(-pid, SIGKILL);
                (void) waitpid(pid, NULL, 0); /* killed: returns at once */
                b->pid = 0;
                return r;
        }
        log_info("Building the Lean REPL for %s in %s from %s%s%s (pid %d).", b->pin, b->dir, p->source,
                 b->rev ? " at " : "", strempty(b->rev), (int) pid);
        return 0;
}

static int build_start(ReplProvisioner *p, const LeanReadiness *rd, Build **ret) {
        const char *rev;
        Build *b;
        int r;

        b = new0(Build, 1);
        if (!b)
                return -ENOMEM;
        b->owner = p;
        b->out_fd = -EBADF;
        b->state = BUILD_RUNNING;
        b->started = now_usec(CLOCK_MONOTONIC);
        b->dir = strdup(rd->repl_cache_dir);
        b->pin = strdup(rd->toolchain.pin);
        b->lake = strdup(rd->lake_path);
        b->next = p->builds;
        p->builds = b;
        *ret = b;
        if (!b->dir || !b->pin || !b->lake)
                return -ENOMEM;

        rev = lean_repl_revisions_find(&p->revisions, &rd->toolchain);
        if (!rev && p->revisions_error) {
                build_fail(b, strdup(p->revisions_error),
                           strdup_printf("restore %s (data/repl-revisions of lean-host) or set "
                                         "repl.revisions_file", p->revisions_file));
                return 0;
        }
        if (!rev && !source_is_local(p->source)) {
                build_fail(b, strdup_printf("no REPL revision is known for %s (%s lists none: the REPL has no "
                                            "commit for this Lean version)", b->pin, p->revisions_file),
                           strdup_printf("add a line \"%s <commit>\" to a copy of %s and set repl.revisions_file "
                                         "to it, or set repl.source to a local REPL checkout that builds with %s",
                                         b->pin, p->revisions_file, b->pin));
                return 0;
        }
        if (rev) {
                b->rev = strdup(rev);
                if (!b->rev)
                        return -ENOMEM;
        }
        r = build_spawn(p, b);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                build_fail(b, strdup_printf("cannot start the REPL build: %s", strerror(-r)), manual_fix(p, b));
        }
        return 0;
}

static int set_state(LeanReadiness *rd, LeanReadinessState s, const char *fix, char *message) {
        if (!message)
                return -ENOMEM;
        rd->state = s;
        free(rd->message);
        rd->message = message;
        free(rd->fix);
        rd->fix = fix ? strdup(fix) : NULL;
        return fix && !rd->fix ? -ENOMEM : 0;
}

int repl_provisioner_apply(ReplProvisioner *p, LeanReadiness *rd, bool start, uint64_t *ret_retry_after_ms) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        Build *b;
        int r;

        if (ret_retry_after_ms)
                *ret_retry_after_ms = 0;
        if (!p || !rd || rd->state != LEAN_READINESS_NOT_INSTALLED || !rd->repl_cache_dir || !rd->lake_path ||
            !rd->toolchain.pin)
                return 0;

        b = build_find(p, rd->repl_cache_dir);
        if (b && b->state == BUILD_FAILED && now - b->failed_at >= PROVISION_FAILURE_HOLD_USEC) {
                build_remove(b); /* time to try again */
                b = NULL;
        }
        if (!b && !start)
                return 0; /* not_installed: the message says the first call builds it */
        if (!b) {
                r = build_start(p, rd, &b);
                if (r < 0) {
                        if (b)
                                build_remove(b);
                        return r;
                }
        }
        if (b->state == BUILD_FAILED)
                return set_state(rd, LEAN_READINESS_PROVISION_FAILED, b->fix,
                                 strdup_printf("lean-host could not build the Lean REPL for %s: %s", b->pin,
                                               strna(b->failure)));
        if (ret_retry_after_ms)
                *ret_retry_after_ms = PROVISION_RETRY_AFTER_MS;
        return set_state(rd, LEAN_READINESS_PROVISIONING, NULL,
                         strdup_printf("lean-host is building the Lean REPL for %s in %s (running for %" PRIu64
                                       " s; this takes minutes once per toolchain): retry later",
                                       b->pin, b->dir, (now - b->started) / USEC_PER_SEC));
}
