/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker sandbox: mode names, the bwrap argv, the start-up probe, and
 * what a wrapped command can and cannot touch (when bwrap works here). */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "basic/time-util.h"
#include "worker/sandbox.h"

static char tmp_dir[] = "/tmp/lh-test-sandbox-XXXXXX";

/* tmp_dir/rel, made a directory when make */
static char *tmp_path(const char *rel, bool make) {
        char *p = path_join(tmp_dir, rel);

        ASSERT_TRUE(p);
        if (make)
                ASSERT_OK(mkdir_p_mode(p, 0755));
        return p;
}

/* The index of the option opt immediately followed by a and b (b may be NULL). */
static int find_opt(char **l, const char *opt, const char *a, const char *b) {
        for (int i = 0; l[i]; i++) {
                if (streq(l[i], "--"))
                        return -1; /* the command starts here */
                if (streq(l[i], opt) && (!a || (l[i + 1] && streq(l[i + 1], a))) &&
                    (!b || (l[i + 1] && l[i + 2] && streq(l[i + 2], b))))
                        return i;
        }
        return -1;
}

static void test_mode_names(void) {
        ASSERT_STREQ(sandbox_mode_to_string(SANDBOX_NONE), "none");
        ASSERT_STREQ(sandbox_mode_to_string(SANDBOX_BWRAP), "bwrap");
        ASSERT_TRUE(sandbox_mode_to_string(_SANDBOX_MAX) == NULL);
        ASSERT_EQ(sandbox_mode_from_string("none"), SANDBOX_NONE);
        ASSERT_EQ(sandbox_mode_from_string("bwrap"), SANDBOX_BWRAP);
        ASSERT_ERROR(sandbox_mode_from_string("firejail"), EINVAL);
        ASSERT_ERROR(sandbox_mode_from_string(NULL), EINVAL);
}

static void test_wrap_none(void) {
        _cleanup_strv_free_ char **l = NULL;
        char *argv[] = { (char *) "lake", (char *) "env", (char *) "repl", NULL };

        ASSERT_OK(sandbox_wrap_argv(SANDBOX_NONE, argv, "/p", NULL, &l));
        ASSERT_TRUE(strv_equal(l, argv));
        ASSERT_ERROR(sandbox_wrap_argv(SANDBOX_NONE, (char *[]) { NULL }, "/p", NULL, &l), EINVAL);
}

static void test_wrap_bwrap(void) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *bin = NULL, *exe = NULL, *root = NULL, *home = NULL;
        const char *dbl = getenv("LEAN_REPL_DOUBLE");
        char *argv[] = { (char *) "repl", (char *) "--flag", NULL };
        int dash, n = 0;

        root = tmp_path("home/src/proj", true);
        home = tmp_path("home", false);
        bin = tmp_path("bin", true);
        exe = tmp_path("bin/repl", false);
        {
                int fd = open(exe, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
                ASSERT_TRUE(fd >= 0);
                close(fd);
        }

        char *envp[] = { (char *) "PATH=/x:/y", (char *) "GITHUB_TOKEN=s3cret", (char *) "LEAN_PATH=/l",
                         (char *) "TMPDIR=/var/tmp/elsewhere", (char *) "LC_ALL=C.UTF-8", (char *) "HOMEX=1",
                         (char *) "SSH_AUTH_SOCK=/run/user/1/ssh", (char *) "EMPTY=", NULL };
        SandboxPaths paths = { .bwrap = "/usr/bin/bwrap", .home = home, .elan_home = "/opt/elan", .path = bin,
                               .envp = envp };
        ASSERT_OK(sandbox_wrap_argv(SANDBOX_BWRAP, argv, root, &paths, &l));

        ASSERT_STREQ(l[0], "/usr/bin/bwrap");
        ASSERT_TRUE(find_opt(l, "--unshare-all", NULL, NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--die-with-parent", NULL, NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--new-session", NULL, NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--cap-drop", "ALL", NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--unshare-user", NULL, NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--disable-userns", NULL, NULL) > 0);
        /* a cleared environment: the toolchain's and the locale's variables stay, secrets do not */
        ASSERT_TRUE(find_opt(l, "--clearenv", NULL, NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--clearenv", NULL, NULL) < find_opt(l, "--setenv", "PATH", "/x:/y"));
        ASSERT_TRUE(find_opt(l, "--setenv", "LEAN_PATH", "/l") > 0);
        ASSERT_TRUE(find_opt(l, "--setenv", "LC_ALL", "C.UTF-8") > 0);
        ASSERT_TRUE(find_opt(l, "--setenv", "TMPDIR", "/tmp") > 0);
        ASSERT_TRUE(find_opt(l, "--setenv", "TMPDIR", "/var/tmp/elsewhere") < 0);
        ASSERT_TRUE(find_opt(l, "--setenv", "GITHUB_TOKEN", NULL) < 0);
        ASSERT_TRUE(find_opt(l, "--setenv", "HOMEX", NULL) < 0);
        ASSERT_TRUE(find_opt(l, "--setenv", "SSH_AUTH_SOCK", NULL) < 0);
        ASSERT_TRUE(find_opt(l, "--setenv", "EMPTY", NULL) < 0);
        ASSERT_TRUE(find_opt(l, "--share-net", NULL, NULL) < 0);
        ASSERT_TRUE(find_opt(l, "--proc", "/proc", NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--dev", "/dev", NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--tmpfs", "/tmp", NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--ro-bind", "/usr", "/usr") > 0);
        /* the toolchain and the command's directory read-only, the empty home before the project */
        ASSERT_TRUE(find_opt(l, "--ro-bind-try", "/opt/elan", "/opt/elan") > 0);
        ASSERT_TRUE(find_opt(l, "--ro-bind", bin, bin) > 0);
        ASSERT_TRUE(find_opt(l, "--tmpfs", home, NULL) > 0);
        ASSERT_TRUE(find_opt(l, "--tmpfs", home, NULL) < find_opt(l, "--bind", root, root));
        ASSERT_TRUE(find_opt(l, "--tmpfs", "/tmp", NULL) < find_opt(l, "--bind", root, root));
        ASSERT_TRUE(find_opt(l, "--chdir", root, NULL) > 0);
        /* the project is the only read-write bind */
        for (int i = 0; l[i] && !streq(l[i], "--"); i++)
                if (streq(l[i], "--bind") || streq(l[i], "--bind-try") || streq(l[i], "--dev-bind"))
                        n++;
        ASSERT_EQ(n, 1);
        /* the command, unchanged, after "--" */
        dash = -1;
        for (int i = 0; l[i]; i++)
                if (streq(l[i], "--")) {
                        dash = i;
                        break;
                }
        ASSERT_TRUE(dash > 0);
        ASSERT_TRUE(strv_equal(l + dash + 1, argv));

        /* no /etc as a whole, no $HOME bound */
        ASSERT_TRUE(find_opt(l, "--ro-bind", "/etc", "/etc") < 0);
        ASSERT_TRUE(find_opt(l, "--bind", home, home) < 0);
        ASSERT_TRUE(find_opt(l, "--ro-bind", home, home) < 0);

        /* a relative or root project is refused: nothing to confine to */
        l = strv_free(l);
        ASSERT_ERROR(sandbox_wrap_argv(SANDBOX_BWRAP, argv, "proj", &paths, &l), EINVAL);
        ASSERT_ERROR(sandbox_wrap_argv(SANDBOX_BWRAP, argv, "/", &paths, &l), EINVAL);
        ASSERT_ERROR(sandbox_wrap_argv(_SANDBOX_MAX, argv, root, &paths, &l), EINVAL);

        /* home inside the project: not hidden under a tmpfs */
        paths.home = root;
        ASSERT_OK(sandbox_wrap_argv(SANDBOX_BWRAP, argv, home, &paths, &l));
        ASSERT_TRUE(find_opt(l, "--tmpfs", root, NULL) < 0);
        l = strv_free(l);

        /* a command under /usr needs no bind of its own */
        if (dbl) {
                char *argv2[] = { (char *) "/usr/bin/python3", (char *) dbl, NULL };
                ASSERT_OK(sandbox_wrap_argv(SANDBOX_BWRAP, argv2, root, &paths, &l));
                ASSERT_TRUE(find_opt(l, "--ro-bind", "/usr/bin", "/usr/bin") < 0);
        }
}

static void test_probe_errors(void) {
        _cleanup_free_ char *err = NULL, *err2 = NULL;

        ASSERT_OK(sandbox_probe(SANDBOX_NONE, NULL, USEC_PER_SEC, &err));
        ASSERT_TRUE(err == NULL);

        SandboxPaths missing = { .bwrap = "/nonexistent/bwrap" };
        ASSERT_TRUE(sandbox_probe(SANDBOX_BWRAP, &missing, USEC_PER_SEC, &err) < 0);
        ASSERT_TRUE(err && strstr(err, "not found") && strstr(err, "worker.sandbox"));
        fprintf(stderr, "missing bwrap: %s\n", err);

        /* a bwrap that runs but fails (as without user namespaces) */
        SandboxPaths failing = { .bwrap = "/bin/false" };
        ASSERT_ERROR(sandbox_probe(SANDBOX_BWRAP, &failing, 5 * USEC_PER_SEC, &err2), EPERM);
        ASSERT_TRUE(err2 && strstr(err2, "cannot create a sandbox"));
        fprintf(stderr, "failing bwrap: %s\n", err2);
}

static void test_probe_timeout(void) {
        _cleanup_free_ char *err = NULL, *script = NULL;
        usec_t t0;
        FILE *f;

        /* a bwrap that hangs: the probe gives up at its deadline */
        script = path_join(tmp_dir, "hang-bwrap");
        ASSERT_TRUE(script);
        f = fopen(script, "we");
        ASSERT_TRUE(f);
        fputs("#!/bin/sh\nexec sleep 60\n", f);
        fclose(f);
        ASSERT_TRUE(chmod(script, 0755) == 0);

        SandboxPaths hang = { .bwrap = script };
        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_ERROR(sandbox_probe(SANDBOX_BWRAP, &hang, 300 * USEC_PER_MSEC, &err), ETIMEDOUT);
        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - t0 < 10 * USEC_PER_SEC);
        ASSERT_TRUE(err && strstr(err, "did not finish"));
}

/* Run sh -c script under mode in root; the exit status. */
static int run_in(SandboxMode mode, const char *root, const char *script) {
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) script, NULL };
        int status;
        pid_t pid;

        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (chdir(root) < 0)
                        _exit(126);
                (void) sandbox_execvpe(mode, argv, NULL, root);
                _exit(127);
        }
        ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_confinement(void) {
        _cleanup_free_ char *root = NULL, *outside = NULL, *inside = NULL, *lake = NULL, *script = NULL,
                            *err = NULL;
        struct stat st;

        if (sandbox_probe(SANDBOX_BWRAP, NULL, 10 * USEC_PER_SEC, &err) < 0) {
                fprintf(stderr, "bwrap unusable here, confinement not tested: %s\n", strna(err));
                return;
        }
        root = tmp_path("proj", true);
        outside = tmp_path("outside", false);
        inside = tmp_path("proj/inside", false);
        lake = tmp_path("proj/.lake/build/out", true);

        /* none: the check can fail — the same script writes outside */
        ASSERT_TRUE(asprintf(&script, "echo x > %s && echo y > %s", outside, inside) > 0);
        ASSERT_EQ(run_in(SANDBOX_NONE, root, script), 0);
        ASSERT_TRUE(stat(outside, &st) == 0);
        ASSERT_TRUE(unlink(outside) == 0);
        ASSERT_TRUE(unlink(inside) == 0);

        /* bwrap: the project (and its .lake) is writable ... */
        script = mfree(script);
        ASSERT_TRUE(asprintf(&script, "echo y > %s && echo z > %s/f && test \"$(pwd)\" = %s", inside, lake,
                             root) > 0);
        ASSERT_EQ(run_in(SANDBOX_BWRAP, root, script), 0);
        ASSERT_TRUE(stat(inside, &st) == 0);

        /* ... nothing outside it reaches the real file system ... */
        script = mfree(script);
        ASSERT_TRUE(asprintf(&script, "echo x > %s; echo x > /usr/lh-sandbox-test; true", outside) > 0);
        ASSERT_EQ(run_in(SANDBOX_BWRAP, root, script), 0);
        ASSERT_TRUE(stat(outside, &st) < 0 && errno == ENOENT);
        ASSERT_TRUE(stat("/usr/lh-sandbox-test", &st) < 0 && errno == ENOENT);

        /* ... it cannot make user namespaces of its own ... */
        ASSERT_EQ(run_in(SANDBOX_NONE, root, "unshare -U true"), 0);
        ASSERT_TRUE(run_in(SANDBOX_BWRAP, root, "unshare -U true 2>/dev/null") != 0);

        /* ... it does not see the daemon's secrets in its environment ... */
        ASSERT_TRUE(setenv("LH_TEST_SECRET_TOKEN", "s3cret", 1) == 0);
        ASSERT_EQ(run_in(SANDBOX_NONE, root, "test \"$LH_TEST_SECRET_TOKEN\" = s3cret"), 0);
        ASSERT_EQ(run_in(SANDBOX_BWRAP, root, "test -z \"$LH_TEST_SECRET_TOKEN\" && test -n \"$PATH\""), 0);
        ASSERT_TRUE(unsetenv("LH_TEST_SECRET_TOKEN") == 0);

        /* ... and its network namespace has nothing but loopback (/proc/net/dev:
         * two header lines, then one line per interface) */
        ASSERT_EQ(run_in(SANDBOX_BWRAP, root, "test \"$(tail -n +3 /proc/net/dev | grep -vc '^ *lo:')\" = 0"), 0);
        if (run_in(SANDBOX_NONE, root, "test \"$(tail -n +3 /proc/net/dev | grep -vc '^ *lo:')\" = 0") == 0)
                fprintf(stderr, "the host itself has only loopback: the network check proves little here\n");
}

int main(void) {
        ASSERT_TRUE(mkdtemp(tmp_dir));

        test_mode_names();
        test_wrap_none();
        test_wrap_bwrap();
        test_probe_errors();
        test_probe_timeout();
        test_confinement();

        {
                char *cmd = NULL;
                ASSERT_TRUE(asprintf(&cmd, "rm -rf %s", tmp_dir) > 0);
                (void) !system(cmd);
                free(cmd);
        }
        return 0;
}
