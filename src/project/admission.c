/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Admission. Owns: Admission (the worker slots, the heavy permits) and every
 * AdmissionTicket's fields. Must not know: what owns a ticket (a project),
 * jobs, workers, the registry; owners are reached through AdmissionOps. */

#include <assert.h>
#include <stdlib.h>

#include "basic/log.h"
#include "basic/time-util.h"
#include "project/admission.h"

void admission_init(Admission *a, uint64_t max_workers, uint64_t heavy_permits, const AdmissionOps *ops,
                    void *userdata) {
        assert(a);
        assert(ops);

        /* 0 would be "auto", which config resolves at load; be safe anyway */
        *a = (Admission) {
                .ops = ops,
                .userdata = userdata,
                .max_workers = max_workers > 0 ? max_workers : 1,
                .heavy_permits = heavy_permits,
        };
}

void admission_done(Admission *a) {
        a->tickets = mfree(a->tickets);
        a->n_tickets = 0;
}

void admission_shutdown(Admission *a) {
        a->shutting_down = true;
}

int admission_ticket_add(Admission *a, AdmissionTicket *t, void *owner) {
        AdmissionTicket **l;

        l = realloc(a->tickets, (a->n_tickets + 1) * sizeof(AdmissionTicket *));
        if (!l)
                return -ENOMEM;
        a->tickets = l;
        *t = (AdmissionTicket) { .owner = owner };
        a->tickets[a->n_tickets++] = t;
        return 0;
}

void admission_ticket_remove(Admission *a, AdmissionTicket *t) {
        for (size_t i = 0; i < a->n_tickets; i++)
                if (a->tickets[i] == t) {
                        a->tickets[i] = a->tickets[--a->n_tickets];
                        return;
                }
}

void admission_ticket_touch(AdmissionTicket *t, usec_t now) {
        t->last_used = now;
}

void admission_notify_workers(Admission *a) {
        if (a->ops->workers_changed)
                a->ops->workers_changed(a->userdata, a->workers_active);
}

/* pure: index of the least recently used evictable ticket other than
 * requester, or -1 */
static ssize_t admission_pick_lru(const Admission *a, const AdmissionTicket *requester) {
        ssize_t best = -1;

        for (size_t i = 0; i < a->n_tickets; i++) {
                const AdmissionTicket *t = a->tickets[i];

                if (t == requester || !a->ops->is_evictable(t->owner))
                        continue;
                if (best < 0 || t->last_used < a->tickets[best]->last_used)
                        best = (ssize_t) i;
        }
        return best;
}

static void admission_try_evict_for(Admission *a, AdmissionTicket *t) {
        ssize_t i;

        if (t->eviction_requested)
                return;
        i = admission_pick_lru(a, t);
        if (i < 0)
                return;
        log_debug("Worker cap %" PRIu64 " reached: evicting the least recently used idle worker.", a->max_workers);
        t->eviction_requested = true;
        a->ops->evict(a->tickets[i]->owner);
}

bool admission_acquire_slot(Admission *a, AdmissionTicket *t) {
        if (t->holds_slot)
                return true;

        if (a->workers_active < a->max_workers) {
                a->workers_active++;
                t->holds_slot = true;
                t->waiting_slot = false;
                t->eviction_requested = false;
                admission_notify_workers(a);
                return true;
        }

        if (!t->waiting_slot) {
                t->waiting_slot = true;
                t->waiting_since = now_usec(CLOCK_MONOTONIC);
        }
        admission_try_evict_for(a, t);
        return false;
}

/* Hand a free slot to the longest waiting ticket. */
static void admission_grant_slots(Admission *a) {
        while (a->workers_active < a->max_workers) {
                AdmissionTicket *best = NULL;

                for (size_t i = 0; i < a->n_tickets; i++) {
                        AdmissionTicket *t = a->tickets[i];

                        if (t->waiting_slot && (!best || t->waiting_since < best->waiting_since))
                                best = t;
                }
                if (!best)
                        return;
                a->workers_active++;
                best->holds_slot = true;
                best->waiting_slot = false;
                best->eviction_requested = false;
                a->ops->wake(best->owner);
        }
}

void admission_release_slot(Admission *a, AdmissionTicket *t) {
        if (!t->holds_slot)
                return;
        t->holds_slot = false;
        assert(a->workers_active > 0);
        a->workers_active--;
        if (!a->shutting_down)
                admission_grant_slots(a);
        admission_notify_workers(a);
}

void admission_withdraw(AdmissionTicket *t) {
        t->waiting_slot = false;
        t->eviction_requested = false;
        t->waiting_permit = false;
}

void admission_poke(Admission *a) {
        if (a->shutting_down)
                return;
        for (size_t i = 0; i < a->n_tickets; i++)
                if (a->tickets[i]->waiting_slot)
                        admission_try_evict_for(a, a->tickets[i]);
}

bool admission_acquire_heavy(Admission *a, AdmissionTicket *t) {
        /* 0 permits would starve heavy jobs forever: treat as unlimited */
        if (a->heavy_permits == 0 || a->heavy_in_use < a->heavy_permits) {
                a->heavy_in_use++;
                t->waiting_permit = false;
                return true;
        }
        t->waiting_permit = true;
        return false;
}

void admission_release_heavy(Admission *a) {
        assert(a->heavy_in_use > 0);
        a->heavy_in_use--;
        if (a->shutting_down)
                return;
        /* wake every waiter: the first to run takes the permit, the others wait again */
        for (size_t i = 0; i < a->n_tickets; i++)
                if (a->tickets[i]->waiting_permit)
                        a->ops->wake(a->tickets[i]->owner);
}
