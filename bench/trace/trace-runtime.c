/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The runtime of the call-crossing trace (-Dtrace=true): GCC's
 * -finstrument-functions calls __cyg_profile_func_enter/exit around every
 * instrumented function; this counts (caller function, callee function)
 * pairs and event-loop rounds, and writes them as text for
 * bench/trace/lh-trace to resolve to source files (addr2line) and modules.
 *
 * Off unless LH_TRACE_OUT names a file prefix: then the counts go to
 * PREFIX.PID.PHASE at exit, and SIGUSR2 starts a new phase (the next
 * instrumented call writes the counts so far and resets them), so a driver
 * can separate "initialize", "cold call" and "warm call".
 *
 * The caller is the innermost instrumented function on this thread's shadow
 * stack; an entry whose call site lies in a shared library (an sd-event or
 * sd-bus callback, a thread start, main) has caller "-". An event-loop round
 * is an entry called from libsystemd while no other libsystemd callback is
 * on the stack: one dispatch that reached our code.
 *
 * Nothing here is instrumented (no_instrument_function), and it only uses
 * libc. Not for production builds: a mutex per call. */


#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NO_INSTR __attribute__((no_instrument_function))
#define TABLE_SIZE (1u << 16)
#define STACK_MAX 512

typedef struct TracePair {
        uintptr_t caller, callee; /* offsets from the executable's base; caller 0 = from a library */
        uint64_t n;
} TracePair;

typedef struct TraceFrame {
        uintptr_t fn;
        bool from_libsystemd;
} TraceFrame;

typedef struct TraceRange {
        uintptr_t start, end;
} TraceRange;

static struct {
        bool on, ready;
        char prefix[4096];
        pthread_mutex_t lock;
        TracePair table[TABLE_SIZE];
        size_t n_pairs;
        uint64_t rounds, overflow;
        unsigned phase;
        uintptr_t base;
        TraceRange exe[8], systemd[8];
        size_t n_exe, n_systemd;
} trace = { .lock = PTHREAD_MUTEX_INITIALIZER };

static volatile sig_atomic_t trace_rotate;

static __thread TraceFrame trace_stack[STACK_MAX];
static __thread unsigned trace_depth, trace_in_callback;
static __thread bool trace_busy; /* an inline libc wrapper called from the hook itself */

void __cyg_profile_func_enter(void *this_fn, void *call_site);
void __cyg_profile_func_exit(void *this_fn, void *call_site);

NO_INSTR static int trace_collect_ranges(struct dl_phdr_info *info, size_t size, void *userdata) {
        bool is_exe = !info->dlpi_name || info->dlpi_name[0] == 0;
        bool is_systemd = !is_exe && strstr(info->dlpi_name, "libsystemd");

        if (!is_exe && !is_systemd)
                return 0;
        if (is_exe)
                trace.base = info->dlpi_addr;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = info->dlpi_phdr + i;
                TraceRange r;

                if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
                        continue;
                r = (TraceRange) { info->dlpi_addr + ph->p_vaddr, info->dlpi_addr + ph->p_vaddr + ph->p_memsz };
                if (is_exe && trace.n_exe < 8)
                        trace.exe[trace.n_exe++] = r;
                else if (is_systemd && trace.n_systemd < 8)
                        trace.systemd[trace.n_systemd++] = r;
        }
        return 0;
}

NO_INSTR static bool trace_in(const TraceRange *r, size_t n, uintptr_t a) {
        for (size_t i = 0; i < n; i++)
                if (a >= r[i].start && a < r[i].end)
                        return true;
        return false;
}

NO_INSTR static void trace_dump_locked(void) {
        char path[4200];
        FILE *f;

        snprintf(path, sizeof path, "%s.%d.%u", trace.prefix, (int) getpid(), trace.phase);
        f = fopen(path, "we");
        if (!f)
                return;
        fprintf(f, "# lh-trace 1\nphase %u\nrounds %llu\noverflow %llu\n", trace.phase,
                (unsigned long long) trace.rounds, (unsigned long long) trace.overflow);
        for (size_t i = 0; i < TABLE_SIZE; i++)
                if (trace.table[i].n > 0)
                        fprintf(f, "pair %#llx %#llx %llu\n", (unsigned long long) trace.table[i].caller,
                                (unsigned long long) trace.table[i].callee, (unsigned long long) trace.table[i].n);
        fclose(f);
}

NO_INSTR static void trace_reset_locked(void) {
        memset(trace.table, 0, sizeof trace.table);
        trace.n_pairs = 0;
        trace.rounds = trace.overflow = 0;
}

NO_INSTR static void trace_on_signal(int sig) {
        trace_rotate = 1;
}

NO_INSTR static void trace_at_exit(void) {
        pthread_mutex_lock(&trace.lock);
        if (trace.on)
                trace_dump_locked();
        trace.on = false;
        pthread_mutex_unlock(&trace.lock);
}

__attribute__((constructor)) NO_INSTR static void trace_init(void) {
        const char *p = getenv("LH_TRACE_OUT");

        if (!p || !*p || strlen(p) >= sizeof trace.prefix)
                return;
        strcpy(trace.prefix, p);
        dl_iterate_phdr(trace_collect_ranges, NULL);
        signal(SIGUSR2, trace_on_signal);
        atexit(trace_at_exit);
        trace.on = trace.ready = true;
}

NO_INSTR static void trace_count_locked(uintptr_t caller, uintptr_t callee) {
        size_t h = (size_t) ((caller * 0x9e3779b97f4a7c15ull) ^ (callee * 0xc2b2ae3d27d4eb4full)) >> 7;

        for (size_t i = 0; i < TABLE_SIZE; i++) {
                TracePair *e = trace.table + ((h + i) & (TABLE_SIZE - 1));

                if (e->n > 0 && e->caller == caller && e->callee == callee) {
                        e->n++;
                        return;
                }
                if (e->n == 0) {
                        if (trace.n_pairs + 1 >= TABLE_SIZE)
                                break;
                        *e = (TracePair) { caller, callee, 1 };
                        trace.n_pairs++;
                        return;
                }
        }
        trace.overflow++;
}

NO_INSTR void __cyg_profile_func_enter(void *this_fn, void *call_site) {
        uintptr_t fn = (uintptr_t) this_fn, site = (uintptr_t) call_site, caller = 0;
        bool from_exe, from_systemd;

        if (!trace.ready || trace_busy)
                return;
        trace_busy = true;
        from_exe = trace_in(trace.exe, trace.n_exe, site);
        from_systemd = !from_exe && trace_in(trace.systemd, trace.n_systemd, site);
        if (from_exe && trace_depth > 0 && trace_depth <= STACK_MAX)
                caller = trace_stack[trace_depth - 1].fn - trace.base;

        pthread_mutex_lock(&trace.lock);
        if (trace_rotate) {
                trace_rotate = 0;
                if (trace.on)
                        trace_dump_locked();
                trace_reset_locked();
                trace.phase++;
        }
        if (trace.on) {
                trace_count_locked(caller, fn - trace.base);
                if (from_systemd && trace_in_callback == 0)
                        trace.rounds++;
        }
        pthread_mutex_unlock(&trace.lock);

        if (trace_depth < STACK_MAX)
                trace_stack[trace_depth] = (TraceFrame) { fn, from_systemd };
        trace_depth++;
        trace_in_callback += from_systemd;
        trace_busy = false;
}

NO_INSTR void __cyg_profile_func_exit(void *this_fn, void *call_site) {
        if (!trace.ready || trace_busy || trace_depth == 0)
                return;
        trace_depth--;
        if (trace_depth < STACK_MAX && trace_stack[trace_depth].from_libsystemd)
                trace_in_callback--;
}
