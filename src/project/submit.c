/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Owns: nothing; the one call a submitter makes (project_submit_new()): the
 * job as its JobSpec describes it, queued through the mailbox. Above job.c
 * and mailbox.c, so neither needs the other. */

#include <assert.h>

#include "project/job-internal.h"

int project_submit_new(LhProject *p, const JobSpec *spec, LhError *err, LhJob **ret_job) {
        _cleanup_(job_unrefp) LhJob *j = NULL;
        int r;

        assert(spec);
        assert(ret_job);

        r = job_new(&j, spec->imports, spec->flags, spec->ops, spec->userdata);
        if (r < 0) {
                if (spec->ops && spec->ops->free_userdata)
                        spec->ops->free_userdata(spec->userdata);
                return r;
        }
        if (spec->want_generation > 0)
                job_set_want_generation(j, spec->want_generation);
        if (spec->progress)
                job_set_progress(j, spec->progress, spec->progress_userdata);
        r = project_submit(p, j, err);
        if (r < 0)
                return r; /* the job and userdata go with our reference */
        /* the project holds the job until done() returned */
        *ret_job = j;
        return 0;
}
