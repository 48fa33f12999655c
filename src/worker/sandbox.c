/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "worker/sandbox.h"

/* The system, read-only: a merged-/usr layout's top-level symlinks are
 * recreated as symlinks, real directories are bound. */
static const char *const system_dirs[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };

/* The parts of /etc that a dynamic linker, Debian's alternatives, libc's
 * user lookup, TLS and git want; not /etc as a whole. */
static const char *const etc_files[] = {
        "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
        "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/localtime", "/etc/hosts",
        "/etc/ssl", "/etc/ca-certificates", "/etc/gitconfig",
};

/* Namespaces (net, pid, ipc, uts, cgroup, user), no nested user namespaces
 * (less kernel to attack), no capabilities (as root bwrap keeps them all
 * otherwise), gone with its parent. The start-up probe uses the same. */
static const char *const bwrap_core[] = {
        "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--cap-drop", "ALL",
};

/* The environment a worker keeps: what Lean, lake, elan and the locale need.
 * Everything else (API tokens, agent sockets, bus addresses) stays out. */
static const char *const env_keep[] = { "PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TERM", "USER", "LOGNAME" };
static const char *const env_keep_prefix[] = { "LC_", "LEAN_", "LAKE_", "ELAN_" };

static bool env_is_kept(const char *kv) {
        size_t n = strcspn(kv, "=");

        if (kv[n] != '=' || n == 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(env_keep); i++)
                if (strlen(env_keep[i]) == n && strneq(kv, env_keep[i], n))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(env_keep_prefix); i++)
                if (strneq(kv, env_keep_prefix[i], strlen(env_keep_prefix[i])))
                        return true;
        return false;
}

static int extend_env(char ***l, char *const *envp) {
        if (strv_extend(l, "--clearenv") < 0)
                return -ENOMEM;
        STRV_FOREACH(kv, (char **) envp) {
                _cleanup_free_ char *name = NULL;

                if (!env_is_kept(*kv) || strneq(*kv, "TMPDIR=", 7))
                        continue;
                name = strndup(*kv, strcspn(*kv, "="));
                if (!name || strv_extend(l, "--setenv") < 0 || strv_extend(l, name) < 0 ||
                    strv_extend(l, *kv + strlen(name) + 1) < 0)
                        return -ENOMEM;
        }
        /* wherever TMPDIR pointed is not in the sandbox; /tmp is, and private */
        if (strv_extend(l, "--setenv") < 0 || strv_extend(l, "TMPDIR") < 0 || strv_extend(l, "/tmp") < 0)
                return -ENOMEM;
        return 0;
}

/* path is prefix or below it (whole components). */
static bool path_is_below(const char *path, const char *prefix) {
        size_t n = strlen(prefix);

        while (n > 1 && prefix[n - 1] == '/')
                n--;
        if (strncmp(path, prefix, n) != 0)
                return false;
        return path[n] == 0 || path[n] == '/' || (n == 1 && prefix[0] == '/');
}

static int find_executable(const char *name, const char *search, char **ret) {
        const char *p = search;

        if (strchr(name, '/'))
                return path_canonicalize(name, ret);
        /* $PATH is colon-separated; an empty entry means the cwd, which is
         * not a place to find a worker: skip it. */
        while (p && *p) {
                size_t n = strcspn(p, ":");
                if (n > 0) {
                        _cleanup_free_ char *dir = strndup(p, n), *full = NULL;
                        if (!dir)
                                return -ENOMEM;
                        full = path_join(dir, name);
                        if (!full)
                                return -ENOMEM;
                        if (access(full, X_OK) == 0)
                                return path_canonicalize(full, ret);
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

static int extend_many(char ***l, const char *a, const char *b, const char *c) {
        if (strv_extend(l, a) < 0 || (b && strv_extend(l, b) < 0) || (c && strv_extend(l, c) < 0))
                return -ENOMEM;
        return 0;
}

/* The command's own directory (a build tree, /opt/…), read-only, when the
 * system or toolchain binds do not already show it. */
static int bind_command_dir(char ***l, const char *argv0, const char *search, const char *root,
                            const char *elan_home) {
        _cleanup_free_ char *exe = NULL;
        char *slash;

        if (find_executable(argv0, search, &exe) < 0)
                return 0; /* bwrap reports a command it cannot find */
        slash = strrchr(exe, '/');
        if (!slash || slash == exe)
                return 0;
        *slash = 0;
        for (size_t i = 0; i < ELEMENTSOF(system_dirs); i++)
                if (path_is_below(exe, system_dirs[i]))
                        return 0;
        if (path_is_below(exe, root) || (elan_home && path_is_below(exe, elan_home)))
                return 0;
        return extend_many(l, "--ro-bind", exe, exe);
}

int sandbox_wrap_argv(SandboxMode mode, char *const *argv, const char *project_root, const SandboxPaths *paths,
                      char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *elan_default = NULL;
        const SandboxPaths none = {};
        const char *home, *elan_home;
        int r;

        assert(ret);
        if (strv_isempty(argv) || (unsigned) mode >= _SANDBOX_MAX)
                return -EINVAL;
        if (mode == SANDBOX_NONE) {
                l = strv_copy(argv);
                if (!l)
                        return -ENOMEM;
                *ret = TAKE_PTR(l);
                return 0;
        }
        /* The project is the one writable place; without one there is nothing to confine to. */
        if (!path_is_absolute(project_root) || streq(project_root, "/"))
                return -EINVAL;

        paths = paths ?: &none;
        home = paths->home ?: getenv("HOME");
        elan_home = paths->elan_home ?: getenv("ELAN_HOME");
        if (!path_is_absolute(elan_home) && path_is_absolute(home)) {
                elan_default = path_join(home, ".elan");
                if (!elan_default)
                        return -ENOMEM;
                elan_home = elan_default;
        }

        if (extend_many(&l, paths->bwrap ?: "bwrap", NULL, NULL) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(bwrap_core); i++)
                if (strv_extend(&l, bwrap_core[i]) < 0)
                        return -ENOMEM;
        /* a new session: no TIOCSTI into a terminal the daemon may have */
        if (strv_extend(&l, "--new-session") < 0)
                return -ENOMEM;
        r = extend_env(&l, paths->envp ?: environ);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(system_dirs); i++) {
                char target[256];
                struct stat st;
                ssize_t n;

                if (lstat(system_dirs[i], &st) < 0)
                        continue;
                if (S_ISLNK(st.st_mode)) {
                        n = readlink(system_dirs[i], target, sizeof target - 1);
                        if (n <= 0 || (size_t) n >= sizeof target - 1)
                                continue;
                        target[n] = 0;
                        r = extend_many(&l, "--symlink", target, system_dirs[i]);
                } else if (S_ISDIR(st.st_mode))
                        r = extend_many(&l, "--ro-bind", system_dirs[i], system_dirs[i]);
                else
                        continue;
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(etc_files); i++)
                if (extend_many(&l, "--ro-bind-try", etc_files[i], etc_files[i]) < 0)
                        return -ENOMEM;

        if (extend_many(&l, "--proc", "/proc", NULL) < 0 || extend_many(&l, "--dev", "/dev", NULL) < 0 ||
            extend_many(&l, "--tmpfs", "/tmp", NULL) < 0)
                return -ENOMEM;
        /* An empty, throw-away home: tools that want one work, ~/.ssh and
         * friends are not there. Binds below are made on top of it. */
        if (path_is_absolute(home) && !streq(home, "/") && !path_is_below(home, project_root) &&
            extend_many(&l, "--tmpfs", home, NULL) < 0)
                return -ENOMEM;
        if (path_is_absolute(elan_home) && extend_many(&l, "--ro-bind-try", elan_home, elan_home) < 0)
                return -ENOMEM;
        r = bind_command_dir(&l, argv[0], paths->path ?: getenv("PATH"), project_root, elan_home);
        if (r < 0)
                return r;
        if (extend_many(&l, "--bind", project_root, project_root) < 0 ||
            extend_many(&l, "--chdir", project_root, NULL) < 0 || extend_many(&l, "--", NULL, NULL) < 0)
                return -ENOMEM;
        STRV_FOREACH(a, (char **) argv)
                if (strv_extend(&l, *a) < 0)
                        return -ENOMEM;

        *ret = TAKE_PTR(l);
        return 0;
}

int sandbox_execvpe(SandboxMode mode, char *const *argv, char *const *envp, const char *project_root) {
        _cleanup_strv_free_ char **l = NULL;
        const SandboxPaths paths = { .envp = envp };
        int r;

        envp = envp ?: environ;
        if (mode == SANDBOX_NONE) {
                execvpe(argv[0], argv, envp);
                return -errno;
        }
        r = sandbox_wrap_argv(mode, argv, project_root, &paths, &l);
        if (r < 0) {
                errno = -r;
                return r;
        }
        execvpe(l[0], l, envp);
        return -errno;
}

int sandbox_probe(SandboxMode mode, const SandboxPaths *paths, uint64_t timeout_usec, char **ret_error) {
        _cleanup_close_ int err_r = -EBADF, err_w = -EBADF;
        _cleanup_free_ char *bwrap = NULL;
        _cleanup_strv_free_ char **args = NULL;
        const SandboxPaths none = {};
        char out[512] = "";
        size_t n_out = 0;
        usec_t deadline;
        int p[2], status, r;
        bool timed_out = false;
        pid_t pid;

        assert(ret_error);
        if (mode == SANDBOX_NONE)
                return 0;
        if ((unsigned) mode >= _SANDBOX_MAX)
                return -EINVAL;
        paths = paths ?: &none;

        r = find_executable(paths->bwrap ?: "bwrap", paths->path ?: getenv("PATH"), &bwrap);
        if (r < 0) {
                *ret_error = strdup_printf("worker.sandbox=bwrap: %s not found (%s); install bubblewrap, or set "
                                           "worker.sandbox=none", paths->bwrap ?: "bwrap on $PATH", strerror(-r));
                return r;
        }

        if (strv_extend(&args, bwrap) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(bwrap_core); i++)
                if (strv_extend(&args, bwrap_core[i]) < 0)
                        return -ENOMEM;
        if (extend_many(&args, "--ro-bind", "/", "/") < 0 || strv_extend(&args, "true") < 0)
                return -ENOMEM;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        err_r = p[0], err_w = p[1];

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
                    dup2(err_w, STDERR_FILENO) < 0)
                        _exit(126);
                execv(bwrap, args);
                fprintf(stderr, "cannot execute %s: %s", bwrap, strerror(errno));
                _exit(127);
        }
        err_w = safe_close(err_w);

        /* Bounded: a bwrap that hangs must not hold up the start for long. */
        deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;
        for (;;) {
                struct pollfd pfd = { .fd = err_r, .events = POLLIN };
                usec_t now = now_usec(CLOCK_MONOTONIC);
                char buf[256];
                ssize_t k;

                if (now >= deadline) {
                        timed_out = true;
                        break;
                }
                r = poll(&pfd, 1, (int) MIN((deadline - now) / USEC_PER_MSEC + 1, (usec_t) 1000));
                if (r < 0 && errno != EINTR)
                        break;
                if (r <= 0)
                        continue;
                k = read(err_r, buf, sizeof buf);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break; /* EOF: bwrap and its children are gone or closed stderr */
                if (n_out < sizeof out - 1) {
                        size_t m = MIN((size_t) k, sizeof out - 1 - n_out);
                        memcpy(out + n_out, buf, m);
                        n_out += m;
                        out[n_out] = 0;
                }
        }
        if (timed_out)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;

        if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        while (n_out > 0 && (out[n_out - 1] == '\n' || out[n_out - 1] == ' '))
                out[--n_out] = 0;
        if (timed_out)
                *ret_error = strdup_printf("worker.sandbox=bwrap: %s did not finish a trial run within %" PRIu64
                                           " ms; set worker.sandbox=none or fix bubblewrap",
                                           bwrap, timeout_usec / USEC_PER_MSEC);
        else
                *ret_error = strdup_printf("worker.sandbox=bwrap: %s cannot create a sandbox here (%s %d%s%s); it "
                                           "needs unprivileged user namespaces (or a setuid bwrap): set "
                                           "worker.sandbox=none or enable them",
                                           bwrap, WIFEXITED(status) ? "exit status" : "signal",
                                           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                                           n_out > 0 ? ": " : "", n_out > 0 ? out : "");
        return timed_out ? -ETIMEDOUT : -EPERM;
}
