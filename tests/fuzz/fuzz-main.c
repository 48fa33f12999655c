/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Without libFuzzer: run each file named on the command line (directories:
 * every file in them) through LLVMFuzzerTestOneInput once. The seed corpus
 * and every crash found so far replay this way in the ordinary builds. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0, alloc = 0;

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        for (;;) {
                size_t k;

                if (n == alloc) {
                        char *b = realloc(buf, alloc = alloc ? alloc * 2 : 4096);

                        if (!b) {
                                fclose(f);
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = b;
                }
                k = fread(buf + n, 1, alloc - n, f);
                n += k;
                if (k == 0)
                        break;
        }
        fclose(f);
        (void) LLVMFuzzerTestOneInput((const uint8_t *) buf, n);
        free(buf);
        return 0;
}

static int compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static int run_path(const char *path, unsigned *n_run) {
        struct stat st;
        struct dirent *de;
        char **names = NULL;
        size_t n = 0;
        DIR *d;
        int r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (!S_ISDIR(st.st_mode)) {
                r = run_file(path);
                if (r >= 0)
                        (*n_run)++;
                return r;
        }
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char **nn;

                if (de->d_name[0] == '.')
                        continue;
                nn = realloc(names, (n + 1) * sizeof(char *));
                if (!nn || asprintf(&nn[n], "%s/%s", path, de->d_name) < 0) {
                        r = -ENOMEM;
                        names = nn ?: names;
                        break;
                }
                names = nn;
                n++;
        }
        closedir(d);
        /* a stable order: a failure names the same file every run */
        if (names)
                qsort(names, n, sizeof(char *), compare);
        for (size_t i = 0; i < n; i++) {
                if (r >= 0)
                        r = run_path(names[i], n_run);
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char *argv[]) {
        unsigned n_run = 0;

        for (int i = 1; i < argc; i++)
                if (run_path(argv[i], &n_run) < 0)
                        return EXIT_FAILURE;
        printf("%s: %u inputs replayed\n", argv[0], n_run);
        return n_run > 0 ? EXIT_SUCCESS : 77;
}
