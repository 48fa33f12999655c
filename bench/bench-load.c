/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Load and crowd for lean-host-bench.py.
 *
 *   bench-load ping SOCKET CONNECTIONS SECONDS
 *       CONNECTIONS clients, each initializes (MCP) and then sends a ping,
 *       waits for its answer, sends the next, for SECONDS; prints
 *       "requests N". Against bench-echo the same lines get the same replies.
 *   bench-load crowd N
 *       N processes that only sleep, until stdin is closed; prints "ready"
 *       once they all exist. (Processes on the machine that are none of the
 *       daemon's.) */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char init_line[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
        "\"capabilities\":{},\"clientInfo\":{\"name\":\"bench-load\",\"version\":\"0\"}}}\n";
static const char initialized_line[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
static const char ping_line[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int conn_open(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                perror("connect");
                exit(1);
        }
        return fd;
}

/* Reads until one more newline arrived (blocking). */
static void read_line(int fd) {
        char c;

        for (;;) {
                ssize_t k = read(fd, &c, 1);
                if (k <= 0) {
                        fprintf(stderr, "connection closed\n");
                        exit(1);
                }
                if (c == '\n')
                        return;
        }
}

static int cmd_ping(const char *path, int n, double secs) {
        struct epoll_event evs[512];
        unsigned long long done = 0;
        int ep = epoll_create1(EPOLL_CLOEXEC);
        int *fds = calloc((size_t) n, sizeof(int));
        double end;

        for (int i = 0; i < n; i++) {
                fds[i] = conn_open(path);
                (void) !write(fds[i], init_line, sizeof init_line - 1);
                read_line(fds[i]);
                (void) !write(fds[i], initialized_line, sizeof initialized_line - 1);
                (void) epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &(struct epoll_event) { .events = EPOLLIN, .data.fd = fds[i] });
        }
        printf("connected %d\n", n);
        fflush(stdout);
        end = now_s() + secs;
        for (int i = 0; i < n; i++)
                (void) !write(fds[i], ping_line, sizeof ping_line - 1);
        while (now_s() < end) {
                int m = epoll_wait(ep, evs, 512, 100);

                for (int i = 0; i < m; i++) {
                        char buf[4096];
                        ssize_t k = read(evs[i].data.fd, buf, sizeof buf);

                        if (k <= 0) {
                                fprintf(stderr, "connection closed\n");
                                return 1;
                        }
                        /* one request outstanding per connection: one line back per ping */
                        for (ssize_t j = 0; j < k; j++)
                                if (buf[j] == '\n') {
                                        done++;
                                        (void) !write(evs[i].data.fd, ping_line, sizeof ping_line - 1);
                                }
                }
        }
        printf("requests %llu\n", done);
        return 0;
}

static int cmd_crowd(int n) {
        char c;

        (void) setpgid(0, 0); /* the kill at the end is for the crowd only */
        for (int i = 0; i < n; i++) {
                pid_t p = fork();
                if (p < 0) {
                        perror("fork");
                        break;
                }
                if (p == 0) {
                        for (;;)
                                pause();
                }
        }
        printf("ready\n");
        fflush(stdout);
        while (read(STDIN_FILENO, &c, 1) > 0)
                ;
        signal(SIGTERM, SIG_IGN);
        kill(0, SIGTERM);
        while (wait(NULL) > 0 || errno == EINTR)
                ;
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 5 && strcmp(argv[1], "ping") == 0)
                return cmd_ping(argv[2], atoi(argv[3]), atof(argv[4]));
        if (argc == 3 && strcmp(argv[1], "crowd") == 0)
                return cmd_crowd(atoi(argv[2]));
        fprintf(stderr, "usage: bench-load ping SOCKET CONNECTIONS SECONDS | crowd N\n");
        return 2;
}
