/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Transient scopes on the user manager, the way systemd-run --scope makes
 * them, but asynchronous: the daemon's event loop never waits on D-Bus.
 *
 * JobRemoved is matched by unit name rather than job path, so the signal
 * cannot be missed even if it were dispatched before the method reply. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/list.h"
#include "basic/log.h"
#include "worker/memory.h"
#include "worker/proc-tree.h"
#include "worker/scope.h"

#define SCOPE_JOB_TIMEOUT_USEC (15 * USEC_PER_SEC)
#define SCOPE_PROBE_TIMEOUT_USEC (2 * USEC_PER_SEC)

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

struct ScopePlacement {
        ScopePlacer *placer;
        LIST_FIELDS(ScopePlacement, placements); /* ScopePlacer.placements */
        char *unit;
        sd_bus_slot *call_slot;
        sd_event_source *timeout;
        bool replied;
        ScopePlacedFunc done;
        void *userdata;
};

struct ScopePlacer {
        sd_event *event;
        sd_bus *bus;
        char *slice;
        /* this daemon in unit names: pid and start time name one process for
         * the whole boot, so names never repeat across daemons and a scope's
         * owner can be told alive or gone */
        pid_t owner_pid;
        uint64_t owner_starttime;
        char *unavailable;
        sd_bus_slot *job_removed_slot;
        ScopePlacement *placements;
};

bool scope_placer_is_available(const ScopePlacer *p) {
        return p && !p->unavailable;
}

const char *scope_placer_unavailable_reason(const ScopePlacer *p) {
        return p ? p->unavailable : "no scope placer";
}

static ScopePlacement *placement_free(ScopePlacement *pl) {
        ScopePlacer *p;

        if (!pl)
                return NULL;
        p = pl->placer;
        if (p)
                LIST_REMOVE(placements, p->placements, pl);
        sd_bus_slot_unref(pl->call_slot);
        sd_event_source_disable_unref(pl->timeout);
        free(pl->unit);
        free(pl);
        return NULL;
}

void scope_placement_cancel(ScopePlacement *pl) {
        placement_free(pl);
}

static void placement_complete(ScopePlacement *pl, int r) {
        ScopePlacedFunc done = pl->done;
        void *userdata = pl->userdata;
        ScopePlacer *p = pl->placer;
        char *unit = TAKE_PTR(pl->unit);

        placement_free(pl);
        if (r < 0)
                log_debug_errno(r, "Scope %s not created: %m", strna(unit));
        else
                log_debug("Scope %s created.", unit);
        if (done)
                done(p, r, unit, NULL, userdata);
        free(unit);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ScopePlacer *p = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        int r;

        (void) ret_error;
        r = sd_bus_message_read(m, "uoss", &id, &path, &unit, &result);
        if (r < 0)
                return 0;
        LIST_FOREACH(placements, pl, p->placements)
                if (pl->unit && streq(pl->unit, unit)) {
                        placement_complete(pl, streq(result, "done") ? 0 : -EIO);
                        break;
                }
        return 0;
}

static int on_start_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ScopePlacement *pl = userdata;
        const sd_bus_error *e;

        (void) ret_error;
        pl->call_slot = sd_bus_slot_unref(pl->call_slot);
        e = sd_bus_message_get_error(m);
        if (e) {
                log_warning("StartTransientUnit(%s) failed: %s", pl->unit, e->message ?: e->name);
                placement_complete(pl, -sd_bus_error_get_errno(e) ?: -EIO);
                return 0;
        }
        pl->replied = true; /* now JobRemoved(unit) completes it */
        return 0;
}

static int on_placement_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        ScopePlacement *pl = userdata;

        (void) s;
        (void) usec;
        log_warning("Scope %s: no JobRemoved within %u s.", pl->unit,
                    (unsigned) (SCOPE_JOB_TIMEOUT_USEC / USEC_PER_SEC));
        placement_complete(pl, -ETIMEDOUT);
        return 0;
}

int scope_placer_start(ScopePlacer *p, ScopePlacement **ret, const char *unit, pid_t pid,
                       const char *description, uint64_t memory_high_kib, uint64_t memory_max_kib,
                       ScopePlacedFunc done, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        ScopePlacement *pl;
        int r;

        if (!p || !unit || pid <= 0 || !done)
                return -EINVAL;
        if (!scope_placer_is_available(p))
                return -EOPNOTSUPP;

        r = sd_bus_message_new_method_call(p->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)",
                                  "Description", "s", strempty(description),
                                  "Slice", "s", p->slice,
                                  "PIDs", "au", 1, (uint32_t) pid,
                                  "CollectMode", "s", "inactive-or-failed",
                                  "MemoryAccounting", "b", 1);
        if (r < 0)
                return r;
        /* MemoryHigh throttles the job that crosses it into a timeout, and
         * page cache (.olean maps) counts against it: callers pass 0, the
         * post-job tier is the actor's decision (README, Memory enforcement). */
        if (memory_high_kib > 0) {
                r = sd_bus_message_append(m, "(sv)", "MemoryHigh", "t", memory_high_kib * UINT64_C(1024));
                if (r < 0)
                        return r;
        }
        if (memory_max_kib > 0) {
                /* The hard tier. MemorySwapMax=0: swap would let the worker hold
                 * more than MemoryMax and hide it from the tiers (and on v2
                 * the kernel then swaps instead of OOM-killing). systemd
                 * ignores it on cgroup v1. */
                r = sd_bus_message_append(m, "(sv)(sv)", "MemoryMax", "t", memory_max_kib * UINT64_C(1024),
                                          "MemorySwapMax", "t", UINT64_C(0));
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;

        pl = new0(ScopePlacement, 1);
        if (!pl)
                return -ENOMEM;
        pl->placer = p;
        pl->done = done;
        pl->userdata = userdata;
        pl->unit = strdup(unit);
        if (!pl->unit) {
                free(pl);
                return -ENOMEM;
        }
        LIST_PREPEND(placements, p->placements, pl);

        r = sd_bus_call_async(p->bus, &pl->call_slot, m, on_start_reply, pl, 0);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(p->event, &pl->timeout, CLOCK_MONOTONIC, SCOPE_JOB_TIMEOUT_USEC, 0,
                                       on_placement_timeout, pl);
        if (r < 0)
                goto fail;
        if (ret)
                *ret = pl;
        return 0;
fail:
        placement_free(pl);
        return r;
}

static int on_stop_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        char *unit = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        (void) ret_error;
        if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
                log_debug("StopUnit(%s): %s", unit, e->message ?: e->name);
        return 0;
}

int scope_placer_stop_unit(ScopePlacer *p, const char *unit) {
        sd_bus_slot *slot = NULL;
        char *u;
        int r;

        if (!scope_placer_is_available(p) || !unit)
                return -EOPNOTSUPP;
        u = strdup(unit);
        if (!u)
                return -ENOMEM;
        r = sd_bus_call_method_async(p->bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", on_stop_reply, u,
                                     "ss", unit, "replace");
        if (r < 0) {
                free(u);
                return r;
        }
        /* The bus owns the slot; u goes with it, also when the bus closes first. */
        (void) sd_bus_slot_set_destroy_callback(slot, free);
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
        return 0;
}

int scope_placer_unit_name(const ScopePlacer *p, const char *project_id, uint64_t generation, char **ret) {
        char *u;

        if (!p || !project_id || !ret)
                return -EINVAL;
        if (asprintf(&u, "lean-worker-%s-%i-%" PRIu64 "-%" PRIu64 ".scope", project_id, (int) p->owner_pid,
                     p->owner_starttime, generation) < 0)
                return -ENOMEM;
        *ret = u;
        return 0;
}

int scope_unit_parse_owner(const char *unit, pid_t *ret_pid, uint64_t *ret_starttime) {
        unsigned long long start, gen;
        char id[64], tail[16];
        long pid;

        /* lean-worker-<id>-<owner pid>-<owner start time>-<generation>.scope */
        if (!unit || sscanf(unit, "lean-worker-%63[^-]-%ld-%llu-%llu%15s", id, &pid, &start, &gen, tail) != 5 ||
            !streq(tail, ".scope") || pid <= 0)
                return -EINVAL;
        *ret_pid = (pid_t) pid;
        *ret_starttime = start;
        return 0;
}

/* Is the daemon that made unit still running (this one included)? Units
 * without an owner in their name (older daemons) count as left behind. */
static bool scope_owner_alive(const ScopePlacer *p, const char *unit) {
        ProcTreeEntry owner;

        if (scope_unit_parse_owner(unit, &owner.pid, &owner.starttime) < 0)
                return false;
        if (owner.pid == p->owner_pid && owner.starttime == p->owner_starttime)
                return true;
        return proc_tree_entry_current(&owner, NULL);
}

static int on_list_units(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ScopePlacer *p = userdata;
        const char *name, *desc, *load, *active, *sub, *following, *job_type;
        const char *path, *job_path;
        uint32_t job_id;
        int r;

        (void) ret_error;
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                log_debug("ListUnitsByPatterns failed: %s", e && e->message ? e->message : "unknown error");
                return 0;
        }
        r = sd_bus_message_enter_container(m, 'a', "(ssssssouso)");
        if (r < 0)
                return 0;
        while ((r = sd_bus_message_read(m, "(ssssssouso)", &name, &desc, &load, &active, &sub, &following, &path,
                                        &job_id, &job_type, &job_path)) > 0) {
                if (streq(active, "inactive"))
                        continue;
                if (scope_owner_alive(p, name)) {
                        log_debug("Leaving %s alone: the lean-hostd that made it is running.", name);
                        continue;
                }
                log_info("Stopping %s left behind by a lean-hostd that is gone.", name);
                (void) scope_placer_stop_unit(p, name);
        }
        return 0;
}

int scope_placer_stop_stale(ScopePlacer *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!scope_placer_is_available(p))
                return -EOPNOTSUPP;
        r = sd_bus_message_new_method_call(p->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "ListUnitsByPatterns");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "as", 0);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "as", 1, "lean-worker-*.scope");
        if (r < 0)
                return r;
        return sd_bus_call_async(p->bus, NULL, m, on_list_units, p, 0);
}

static int placer_set_unavailable(ScopePlacer *p, const char *what, const char *detail) {
        if (asprintf(&p->unavailable, "%s: %s", what, detail) < 0) {
                p->unavailable = NULL;
                return -ENOMEM;
        }
        return 0;
}

int scope_placer_new(ScopePlacer **ret, sd_event *event, const char *slice) {
        _cleanup_(scope_placer_freep) ScopePlacer *p = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL;
        const char *why = NULL;
        ProcStat st;
        int r;

        if (!ret || !event)
                return -EINVAL;
        p = new0(ScopePlacer, 1);
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(event);
        p->slice = strdup(slice ?: "lean-host.slice");
        if (!p->slice)
                return -ENOMEM;
        p->owner_pid = getpid();
        if (proc_stat_read(p->owner_pid, &st) >= 0)
                p->owner_starttime = st.starttime; /* else 0: names stay unique per pid */

        if (!memory_controller_available(&why)) {
                r = placer_set_unavailable(p, "no memory controller", strna(why));
                goto done;
        }

        r = sd_bus_open_user(&p->bus);
        if (r < 0) {
                r = placer_set_unavailable(p, "no systemd user manager: cannot connect to the user bus",
                                           strerror(-r));
                goto done;
        }
        (void) sd_bus_set_method_call_timeout(p->bus, SCOPE_PROBE_TIMEOUT_USEC);

        /* Once, at start, before the loop runs: does a user manager answer? */
        r = sd_bus_get_property_string(p->bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", &error, &version);
        if (r < 0) {
                r = placer_set_unavailable(p, "no systemd user manager: none answers on the user bus",
                                           error.message ?: strerror(-r));
                p->bus = sd_bus_flush_close_unref(p->bus);
                goto done;
        }
        (void) sd_bus_set_method_call_timeout(p->bus, 25 * USEC_PER_SEC);

        r = sd_bus_attach_event(p->bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = sd_bus_match_signal_async(p->bus, &p->job_removed_slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                      on_job_removed, NULL, p);
        if (r < 0)
                return r;
        /* JobRemoved is only broadcast to subscribers. */
        r = sd_bus_call_method_async(p->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, "");
        if (r < 0)
                return r;
        log_debug("Scope placer ready: systemd %s, slice %s.", version, p->slice);
        r = 0;
done:
        if (r < 0)
                return r;
        if (p->unavailable)
                log_info("Transient scopes unavailable (%s).", p->unavailable);
        *ret = TAKE_PTR(p);
        return 0;
}

ScopePlacer *scope_placer_free(ScopePlacer *p) {
        if (!p)
                return NULL;
        while (p->placements)
                placement_free(p->placements);
        sd_bus_slot_unref(p->job_removed_slot);
        sd_bus_flush_close_unref(p->bus);
        sd_event_unref(p->event);
        free(p->slice);
        free(p->unavailable);
        return mfree(p);
}
