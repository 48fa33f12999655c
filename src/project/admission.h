/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Admission: the global cap on live workers (a slot per worker, LRU
 * eviction of idle workers for a waiting project) and the heavy-job permit
 * pool. Owns Admission and AdmissionTicket (one per project). Must not know
 * projects, jobs or workers: it reaches a ticket's owner only through
 * AdmissionOps, and never calls up otherwise. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/macro.h"

typedef struct AdmissionOps {
        bool (*is_evictable)(void *owner); /* an idle live worker that may go */
        void (*evict)(void *owner);        /* ask it to go: its slot comes back by admission_release_slot() */
        void (*wake)(void *owner);         /* a slot or permit was handed to it: try again */
        void (*workers_changed)(void *userdata, unsigned workers_active);
} AdmissionOps;

typedef struct AdmissionTicket {
        void *owner;
        bool holds_slot;           /* counts in workers_active */
        bool waiting_slot;
        usec_t waiting_since;
        bool eviction_requested;
        bool waiting_permit;
        usec_t last_used;          /* for LRU eviction */
} AdmissionTicket;

typedef struct Admission {
        const AdmissionOps *ops;
        void *userdata;
        uint64_t max_workers;      /* ≥ 1 */
        uint64_t heavy_permits;    /* 0: unlimited */
        unsigned workers_active;
        unsigned heavy_in_use;
        bool shutting_down;
        AdmissionTicket **tickets;
        size_t n_tickets;
} Admission;

void admission_init(Admission *a, uint64_t max_workers, uint64_t heavy_permits, const AdmissionOps *ops,
                    void *userdata);
void admission_done(Admission *a);
void admission_shutdown(Admission *a); /* nothing is handed out any more */

int admission_ticket_add(Admission *a, AdmissionTicket *t, void *owner);
void admission_ticket_remove(Admission *a, AdmissionTicket *t);
void admission_ticket_touch(AdmissionTicket *t, usec_t now); /* used now (LRU) */

/* true when granted; otherwise the ticket waits and its owner is woken
 * (ops->wake) once a slot/permit is handed to it. */
bool admission_acquire_slot(Admission *a, AdmissionTicket *t);
void admission_release_slot(Admission *a, AdmissionTicket *t);
bool admission_acquire_heavy(Admission *a, AdmissionTicket *t);
void admission_release_heavy(Admission *a);
void admission_withdraw(AdmissionTicket *t); /* no longer waiting for slot/permit */
/* An owner went idle: a slot waiter may now evict it. */
void admission_poke(Admission *a);
void admission_notify_workers(Admission *a);

