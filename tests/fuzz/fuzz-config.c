/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The config file parser (src/config/config-file.c): the input is the file's
 * contents. Oracles: a load either fails with a message or gives a
 * configuration that passes its own validation and dumps. */

#include <sys/mman.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "config/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *err = NULL, *err2 = NULL, *path = NULL;
        char *envp[] = { NULL };
        LhConfig c;
        FILE *devnull;
        int fd, r;

        if (size > 64 * 1024)
                return 0;
        log_set_max_level(LOG_CRIT); /* unknown keys are warned about */
        fd = memfd_create("fuzz-config", MFD_CLOEXEC);
        FUZZ_ASSERT(fd >= 0);
        FUZZ_ASSERT(write(fd, data, size) == (ssize_t) size);
        FUZZ_ASSERT(asprintf(&path, "/proc/self/fd/%d", fd) > 0);

        /* config_load sets the defaults itself */
        r = config_load(&c, path, envp, &err);
        if (r < 0)
                FUZZ_ASSERT(err);
        else {
                FUZZ_ASSERT(!err);
                FUZZ_ASSERT(config_validate(&c, &err2) >= 0);
                devnull = fopen("/dev/null", "we");
                FUZZ_ASSERT(devnull);
                config_dump(&c, devnull);
                fclose(devnull);
        }
        config_done(&c);
        close(fd);
        return 0;
}
