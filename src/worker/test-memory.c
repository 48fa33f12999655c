/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"

#include "worker/memory.h"

#define FAIL(...) do { fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)
#define CHECK(x) do { if (!(x)) FAIL("%s", #x); } while (0)

static const char v2_stat[] =
        "anon 52428800\n"
        "file 10485760\n"
        "kernel 1048576\n"
        "anon_thp 0\n"
        "file_mapped 4096\n"
        "inactive_anon 1\n";
static const char v2_events[] =
        "low 0\nhigh 12\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n";

static const char v1_stat[] =
        "cache 999\n"
        "rss 888\n"
        "rss_huge 0\n"
        "mapped_file 0\n"
        "hierarchical_memory_limit 9223372036854771712\n"
        "total_cache 20971520\n"
        "total_rss 104857600\n"
        "total_rss_huge 0\n"
        "total_mapped_file 0\n";
static const char v1_oom[] = "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n";

static const char status[] =
        "Name:\tlean\n"
        "Umask:\t0022\n"
        "State:\tS (sleeping)\n"
        "Pid:\t1234\n"
        "PPid:\t1\n"
        "VmPeak:\t  999999 kB\n"
        "VmRSS:\t   30720 kB\n"
        "RssAnon:\t   20480 kB\n"
        "RssFile:\t    8192 kB\n"
        "RssShmem:\t    2048 kB\n"
        "VmData:\t   1 kB\n";

static void test_keyed(void) {
        uint64_t v;

        CHECK(memory_parse_keyed(v2_stat, "anon", &v) == 0 && v == 52428800);
        CHECK(memory_parse_keyed(v2_stat, "file", &v) == 0 && v == 10485760);
        CHECK(memory_parse_keyed(v2_stat, "anon_thp", &v) == 0 && v == 0);
        CHECK(memory_parse_keyed(v2_stat, "file_mapped", &v) == 0 && v == 4096);
        CHECK(memory_parse_keyed(v2_stat, "shmem", &v) == -ENOENT);
        CHECK(memory_parse_keyed(v2_stat, "ano", &v) == -ENOENT); /* no prefix matches */
        CHECK(memory_parse_keyed(v1_stat, "rss", &v) == 0 && v == 888);
        CHECK(memory_parse_keyed("x abc\n", "x", &v) == -EINVAL);
        CHECK(memory_parse_keyed("", "x", &v) == -ENOENT);
}

static void test_status(void) {
        uint64_t v;
        WorkerMemory m = {};

        CHECK(memory_parse_status_kib(status, "VmRSS", &v) == 0 && v == 30720);
        CHECK(memory_parse_status_kib(status, "RssAnon", &v) == 0 && v == 20480);
        CHECK(memory_parse_status_kib(status, "Vm", &v) == -ENOENT);
        CHECK(memory_parse_status_kib(status, "Name", &v) == -EINVAL);
        CHECK(memory_parse_proc_status_add(status, &m) == 0);
        CHECK(memory_parse_proc_status_add(status, &m) == 0);
        CHECK(m.rss_kib == 2 * 30720 && m.anon_kib == 2 * 20480 && m.file_kib == 2 * (8192 + 2048));
        /* kernel thread: no VmRSS, nothing added */
        CHECK(memory_parse_proc_status_add("Name:\tkthreadd\nPid:\t2\n", &m) == -ENOENT);
        CHECK(m.rss_kib == 2 * 30720);
}

static void test_stat(void) {
        pid_t p;

        CHECK(memory_parse_stat_ppid("1234 (lean) S 77 1234 1234 0 -1 4194560 ...", &p) == 0 && p == 77);
        CHECK(memory_parse_stat_ppid("1234 (a) b) (c) R 5 1 1", &p) == 0 && p == 5);
        CHECK(memory_parse_stat_ppid("1234 (with space) Z 0 0", &p) == 0 && p == 0);
        CHECK(memory_parse_stat_ppid("garbage", &p) == -EINVAL);
        CHECK(memory_parse_stat_ppid("1 (x)", &p) == -EINVAL);
}

static void test_proc_cgroup(void) {
        static const char hybrid[] =
                "9:name=systemd:/user.slice/lean-worker-ab-1.scope\n"
                "8:pids:/\n"
                "4:memory:/lean-host.slice/lean-worker-ab-1.scope\n"
                "2:cpu,cpuacct:/x\n"
                "0::/user.slice/lean-worker-ab-1.scope\n";
        char *s = NULL;

        CHECK(memory_parse_proc_cgroup(hybrid, "memory", &s) == 0 && streq(s, "/lean-host.slice/lean-worker-ab-1.scope"));
        free(s);
        CHECK(memory_parse_proc_cgroup(hybrid, "name=systemd", &s) == 0 && streq(s, "/user.slice/lean-worker-ab-1.scope"));
        free(s);
        CHECK(memory_parse_proc_cgroup(hybrid, "cpuacct", &s) == 0 && streq(s, "/x"));
        free(s);
        CHECK(memory_parse_proc_cgroup(hybrid, NULL, &s) == 0 && streq(s, "/user.slice/lean-worker-ab-1.scope"));
        free(s);
        CHECK(memory_parse_proc_cgroup(hybrid, "mem", &s) == -ENOENT);
        CHECK(memory_parse_proc_cgroup("0::/\n", "memory", &s) == -ENOENT);
        CHECK(memory_parse_proc_cgroup("0::/\n", NULL, &s) == 0 && streq(s, "/"));
        free(s);
}

static void test_cgroup_samples(void) {
        WorkerMemory m;

        CHECK(memory_parse_cgroup_v2("73400320\n", v2_stat, v2_events, &m) == 0);
        CHECK(m.valid && streq(m.source, "cgroup-v2"));
        CHECK(m.rss_kib == 71680 && m.anon_kib == 51200 && m.file_kib == 10240 && m.oom_kills == 2);
        CHECK(memory_parse_cgroup_v2("73400320\n", v2_stat, NULL, &m) == 0 && m.oom_kills == 0);
        CHECK(memory_parse_cgroup_v2("", v2_stat, NULL, &m) < 0);
        CHECK(memory_parse_cgroup_v2("1\n", "file 1\n", NULL, &m) == -ENOENT);

        CHECK(memory_parse_cgroup_v1("134217728\n", v1_stat, v1_oom, &m) == 0);
        CHECK(m.valid && streq(m.source, "cgroup-v1"));
        CHECK(m.rss_kib == 131072 && m.anon_kib == 102400 && m.file_kib == 20480 && m.oom_kills == 5);
        /* old kernels without oom_kill in oom_control */
        CHECK(memory_parse_cgroup_v1("4096\n", v1_stat, "oom_kill_disable 0\nunder_oom 0\n", &m) == 0 && m.oom_kills == 0);
        CHECK(memory_parse_cgroup_v1("4096\n", "rss 1\n", NULL, &m) == -ENOENT);
        /* v1: no kernel facts */
        CHECK(memory_parse_cgroup_v1("134217728\n", v1_stat, v1_oom, &m) == 0);
        CHECK(!m.events_valid && !m.swap_valid && !m.pressure_valid);
}

/* Text as a 6.1 kernel writes it (cat memory.pressure / memory.swap.current
 * of a lean-worker scope in the Debian 12 guest). */
static const char v2_pressure[] =
        "some avg10=12.34 avg60=3.00 avg300=0.61 total=1905337\n"
        "full avg10=0.07 avg60=1.50 avg300=0.30 total=1290413\n";

static void test_cgroup_kernel_facts(void) {
        WorkerMemory m = {};
        double d;

        CHECK(memory_parse_pressure_avg10(v2_pressure, "some", &d) == 0 && d > 12.339 && d < 12.341);
        CHECK(memory_parse_pressure_avg10(v2_pressure, "full", &d) == 0 && d > 0.069 && d < 0.071);
        CHECK(memory_parse_pressure_avg10("some avg10=100.00 avg60=0.00 avg300=0.00 total=0\n", "some", &d) == 0 &&
              d > 99.99 && d < 100.01);
        CHECK(memory_parse_pressure_avg10(v2_pressure, "other", &d) == -ENOENT);
        CHECK(memory_parse_pressure_avg10("some avg60=1.00\n", "some", &d) == -EINVAL);
        CHECK(memory_parse_pressure_avg10("some avg10=x\n", "some", &d) == -EINVAL);

        /* v1 and process mode: nothing is filled, everything stays absent */
        memory_parse_cgroup_v2_kernel(NULL, NULL, NULL, &m);
        CHECK(!m.events_valid && !m.swap_valid && !m.pressure_valid);

        memory_parse_cgroup_v2_kernel(v2_events, "249561088\n", v2_pressure, &m);
        CHECK(m.events_valid && m.events_high == 12 && m.events_max == 3 && m.events_oom_kill == 2);
        CHECK(m.swap_valid && m.swap_kib == 243712);
        CHECK(m.pressure_valid && m.pressure_some_avg10 > 12.3 && m.pressure_full_avg10 < 0.1);

        /* the tiers count swap: 50 MiB anon + 238 MiB swapped out */
        m.anon_kib = 51200;
        CHECK(worker_memory_tier_kib(&m) == 51200 + 243712);
        m.swap_valid = false;
        CHECK(worker_memory_tier_kib(&m) == 51200);

        /* swap accounting off (no memory.swap.current): absent, not zero */
        m = (WorkerMemory) {};
        memory_parse_cgroup_v2_kernel("low 0\nhigh 0\n", "", NULL, &m);
        CHECK(!m.events_valid && !m.swap_valid && !m.pressure_valid);
}

/* I/O on the live system: our own tree must include a child that touched memory. */
static void test_proc_tree(void) {
        WorkerMemory before, after;
        int p[2];
        pid_t pid;
        char c;

        CHECK(memory_sample_proc_tree(getpid(), &before) == 0);
        CHECK(before.valid && streq(before.source, "proc") && before.rss_kib > 0);

        CHECK(pipe(p) == 0);
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                size_t n = 64 * 1024 * 1024;
                char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (m == MAP_FAILED)
                        _exit(1);
                for (size_t i = 0; i < n; i += 4096)
                        m[i] = 1;
                (void) !write(p[1], "x", 1);
                pause();
                _exit(0);
        }
        close(p[1]);
        CHECK(read(p[0], &c, 1) == 1);
        CHECK(memory_sample_proc_tree(getpid(), &after) == 0);
        printf("proc tree: before anon %" PRIu64 " KiB, after %" PRIu64 " KiB\n", before.anon_kib, after.anon_kib);
        CHECK(after.anon_kib >= before.anon_kib + 60 * 1024);
        kill(pid, SIGKILL);
        CHECK(waitpid(pid, NULL, 0) == pid);
        close(p[0]);

        CHECK(memory_sample_proc_tree(pid, &after) == -ESRCH);
}

/* statm's pure parse: pages to KiB, resident - shared is the anonymous part */
static void test_statm_parse(void) {
        WorkerMemory m = {};

        CHECK(memory_parse_statm_add("4106 2811 1475 691 0 1821 0\n", 4, &m) == 0);
        CHECK(m.rss_kib == 2811 * 4 && m.anon_kib == (2811 - 1475) * 4 && m.file_kib == 1475 * 4);
        CHECK(memory_parse_statm_add("0 0 0 0 0 0 0\n", 4, &m) == 0); /* a zombie */
        CHECK(m.rss_kib == 2811 * 4);
        CHECK(memory_parse_statm_add("1 2\n", 4, &m) == -EINVAL);
        CHECK(memory_parse_statm_add("1 2 x 0 0 0 0\n", 4, &m) == -EINVAL);
        CHECK(memory_parse_statm_add("", 4, &m) == -EINVAL);
        CHECK(memory_parse_statm_add("1 99999999999999999999 3 0 0 0 0\n", 4, &m) == -ERANGE);
        CHECK(memory_parse_statm_add("9 2 3 0 0 0 0\n", 4, &m) == -EINVAL); /* shared > resident */
}

/* statm and status of pid, with status read before and after statm; 1 when
 * the two status reads agreed (nothing moved in between), then both sums. */
static int read_both(pid_t pid, WorkerMemory *ret_status, WorkerMemory *ret_statm) {
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *sm = NULL;
        char path[64];

        *ret_status = *ret_statm = (WorkerMemory) {};
        snprintf(path, sizeof path, "/proc/%i/status", (int) pid);
        CHECK(read_virtual_file(path, 1 << 20, &s1, NULL) >= 0);
        snprintf(path, sizeof path, "/proc/%i/statm", (int) pid);
        CHECK(read_virtual_file(path, 1 << 20, &sm, NULL) >= 0);
        snprintf(path, sizeof path, "/proc/%i/status", (int) pid);
        CHECK(read_virtual_file(path, 1 << 20, &s2, NULL) >= 0);
        CHECK(memory_parse_proc_status_add(s1, ret_status) == 0);
        CHECK(memory_parse_statm_add(sm, (uint64_t) sysconf(_SC_PAGESIZE) / 1024, ret_statm) == 0);
        {
                WorkerMemory again = {};
                CHECK(memory_parse_proc_status_add(s2, &again) == 0);
                return again.rss_kib == ret_status->rss_kib && again.anon_kib == ret_status->anon_kib &&
                       again.file_kib == ret_status->file_kib;
        }
}

static void check_same(pid_t pid, const char *what) {
        WorkerMemory a, b;
        unsigned i;

        /* the counters of a process that allocates meanwhile may move between
         * two reads: compare when status read the same before and after */
        for (i = 0; i < 100 && !read_both(pid, &a, &b); i++)
                ;
        CHECK(i < 100);
        printf("%s: status VmRSS %" PRIu64 " RssAnon %" PRIu64 " RssFile+RssShmem %" PRIu64
               " KiB; statm %" PRIu64 " / %" PRIu64 " / %" PRIu64 " KiB\n",
               what, a.rss_kib, a.anon_kib, a.file_kib, b.rss_kib, b.anon_kib, b.file_kib);
        CHECK(a.rss_kib == b.rss_kib);
        CHECK(a.anon_kib == b.anon_kib);
        CHECK(a.file_kib == b.file_kib);
}

/* The sampler reads statm instead of status only because it gives the same
 * numbers: on ourselves, and on a child with anonymous, file-backed and
 * shared (shmem) memory resident. */
static void test_statm_is_status(void) {
        size_t n = 16 * 1024 * 1024;
        int p[2], fd;
        pid_t pid;
        char c;

        check_same(getpid(), "self");

        CHECK(pipe(p) == 0);
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                char tmpl[] = "/tmp/test-memory-statm.XXXXXX";
                char *anon, *file, *shm;
                volatile char sum = 0;

                anon = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                fd = mkstemp(tmpl);
                if (anon == MAP_FAILED || fd < 0 || ftruncate(fd, (off_t) n) < 0)
                        _exit(1);
                (void) unlink(tmpl);
                file = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
                shm = mmap(NULL, n / 2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                if (file == MAP_FAILED || shm == MAP_FAILED)
                        _exit(1);
                for (size_t i = 0; i < n; i += 4096) {
                        anon[i] = 1;
                        sum += file[i];
                        if (i < n / 2)
                                shm[i] = 1;
                }
                (void) sum;
                (void) !write(p[1], "x", 1);
                pause();
                _exit(0);
        }
        close(p[1]);
        CHECK(read(p[0], &c, 1) == 1);
        check_same(pid, "child with anon + file + shmem");
        {
                WorkerMemory a, b;
                CHECK(read_both(pid, &a, &b) >= 0);
                /* and the split is the one the tiers need: the file and shmem
                 * pages are not anonymous */
                CHECK(b.anon_kib >= n / 1024 && b.file_kib >= n / 1024 + n / 2048);
        }
        kill(pid, SIGKILL);
        CHECK(waitpid(pid, NULL, 0) == pid);
        close(p[0]);
}

static void test_cgroup_live(void) {
        _cleanup_free_ char *dir = NULL;
        const char *reason = NULL;
        WorkerMemory m;
        bool v2;
        int r;

        if (!memory_controller_available(&reason)) {
                printf("no memory controller: %s\n", reason);
                CHECK(reason);
                return;
        }
        r = memory_cgroup_locate(getpid(), &dir, &v2);
        if (r < 0) {
                printf("cannot locate own memory cgroup: %s\n", strerror(-r));
                return;
        }
        r = memory_sample_cgroup(dir, v2, &m);
        printf("own memory cgroup %s (%s): %s\n", dir, v2 ? "v2" : "v1", r < 0 ? strerror(-r) : "readable");
        if (r >= 0)
                CHECK(m.valid && m.rss_kib > 0);
        /* kernel facts only on v2 (memory.events always exists there) */
        if (r >= 0)
                CHECK(v2 ? m.events_valid : !m.events_valid && !m.swap_valid && !m.pressure_valid);
}

int main(void) {
        test_keyed();
        test_status();
        test_stat();
        test_proc_cgroup();
        test_cgroup_samples();
        test_cgroup_kernel_facts();
        test_proc_tree();
        test_statm_parse();
        test_statm_is_status();
        test_cgroup_live();
        return 0;
}
