/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Spawn/exec of a worker process: see worker-spawn.h. Called by worker.c
 * only; calls nothing above it. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/macro.h"
#include "worker/sandbox.h"
#include "worker/worker-spawn.h"

/* What the child reports on the CLOEXEC status pipe when it cannot exec. */
enum {
        EXEC_STEP_SETUP,
        EXEC_STEP_CHDIR,
        EXEC_STEP_EXEC,
};

/* The gate byte says which mode the child runs in. */
#define GATE_SCOPE_MODE 's'
#define GATE_PROCESS_MODE 'p'

typedef struct ExecStatus {
        int step;
        int error;
} ExecStatus;

static void child_mark_cloexec(void) {
        /* Everything above stdio goes at exec; the gate and status pipes are already O_CLOEXEC. */
        if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) >= 0)
                return;
        for (int fd = 3; fd < 65536; fd++)
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

_noreturn_ static void child_fail(int exec_fd, int step) {
        ExecStatus st = { .step = step, .error = errno };

        (void) !write(exec_fd, &st, sizeof st);
        _exit(127);
}

static void child_reset_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur <= 1024)
                return;
        rl.rlim_cur = 1024;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
}

_noreturn_ static void child_run(const WorkerSpec *spec, char **envp, pid_t parent, int io_fd, int err_fd,
                                 int gate_fd, int exec_fd) {
        sigset_t all;
        ssize_t n;
        char c;

        (void) setpgid(0, 0);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        if (dup2(io_fd, STDIN_FILENO) < 0 || dup2(io_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
                child_fail(exec_fd, EXEC_STEP_SETUP);
        child_mark_cloexec();
        /* The daemon raised its own soft fd limit for its connections;
         * programs expect the conventional 1024 (select()), as systemd
         * hands its services. */
        child_reset_nofile();

        /* Parked until the scope exists (or process mode is settled); EOF
         * without the byte means the parent gave up on us. */
        while ((n = read(gate_fd, &c, 1)) < 0)
                if (errno != EINTR)
                        _exit(127);
        if (n == 0)
                _exit(127);
        /* A plain child must not outlive a daemon that dies: nothing else
         * would ever stop it. A scope is found and stopped by the next
         * daemon's stale clean-up instead. */
        if (c == GATE_PROCESS_MODE && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
                _exit(127);
        if (spec->cwd && chdir(spec->cwd) < 0)
                child_fail(exec_fd, EXEC_STEP_CHDIR);
        (void) sandbox_execvpe(spec->sandbox, spec->argv, envp, spec->cwd); /* in bwrap if configured */
        child_fail(exec_fd, EXEC_STEP_EXEC);
}

int worker_spawn_fork(const WorkerSpec *spec, char **envp, WorkerChild *ret) {
        _cleanup_close_ int io_parent = -EBADF, io_child = -EBADF, err_r = -EBADF, err_w = -EBADF,
                        gate_r = -EBADF, gate_w = -EBADF, exec_r = -EBADF, exec_w = -EBADF;
        int sv[2], p[2];
        pid_t pid, parent;

        assert(spec);
        assert(ret);

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        io_parent = sv[0], io_child = sv[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        err_r = p[0], err_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        gate_r = p[0], gate_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        exec_r = p[0], exec_w = p[1];

        parent = getpid();
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child_run(spec, envp, parent, io_child, err_w, gate_r, exec_w);

        (void) setpgid(pid, pid); /* also here: no race with signals sent before the child ran */
        (void) fcntl(io_parent, F_SETFL, O_NONBLOCK);
        (void) fcntl(err_r, F_SETFL, O_NONBLOCK);
        *ret = (WorkerChild) {
                .pid = pid,
                .stdio_fd = TAKE_FD(io_parent),
                .stderr_fd = TAKE_FD(err_r),
                .gate_fd = TAKE_FD(gate_w),
                .exec_fd = TAKE_FD(exec_r),
        };
        return 0;
}

int worker_spawn_open_gate(int *gate_fd, bool process_mode) {
        char c = process_mode ? GATE_PROCESS_MODE : GATE_SCOPE_MODE;
        ssize_t n;

        assert(gate_fd);
        n = write(*gate_fd, &c, 1);
        *gate_fd = safe_close(*gate_fd);
        return n == 1 ? 0 : -EIO;
}

int worker_spawn_read_status(int exec_fd, const char *argv0, const char *cwd, char *reason, size_t reason_size) {
        ExecStatus st = {};
        ssize_t n;

        assert(reason);
        if (exec_fd < 0)
                return 0;
        n = read(exec_fd, &st, sizeof st);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return -EAGAIN;
        if (n != (ssize_t) sizeof st)
                return 0;

        if (st.step == EXEC_STEP_CHDIR)
                snprintf(reason, reason_size, "cannot change to the project directory %s: %s", strna(cwd),
                         strerror(st.error));
        else if (st.step == EXEC_STEP_EXEC)
                snprintf(reason, reason_size, "cannot execute %s: %s", strna(argv0), strerror(st.error));
        else
                snprintf(reason, reason_size, "cannot set up the worker process for %s: %s", strna(argv0),
                         strerror(st.error));
        return 1; /* the child _exit()s; its SIGCHLD reports it */
}
