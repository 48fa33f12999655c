/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

static void closedirp_local(DIR **d) {
        if (*d)
                closedir(*d);
}

#include "worker/repl.h"

#define FAIL(...) do { fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)
#define CHECK(x) do { if (!(x)) FAIL("%s", #x); } while (0)

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (!f)
                FAIL("open %s: %m", path);
        if (getdelim(&buf, &len, '\0', f) < 0 && !feof(f))
                FAIL("read %s", path);
        /* getdelim stops at NUL: there is none in these text files */
        len = buf ? strlen(buf) : 0;
        fclose(f);
        *ret_len = len;
        return buf ? buf : strdup("");
}

/* Independent count: a block is a run of non-blank lines. */
static size_t count_blocks(const char *s, size_t n) {
        size_t blocks = 0;
        bool in_block = false, line_blank = true;

        for (size_t i = 0; i <= n; i++) {
                if (i == n || s[i] == '\n') {
                        if (!line_blank && !in_block) {
                                blocks++;
                                in_block = true;
                        } else if (line_blank)
                                in_block = false;
                        line_blank = true;
                } else if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        line_blank = false;
        }
        return blocks;
}

/* Feed s in chunks (chunk == 0: random sizes 1..max_random). Returns replies or a negative error. */
static long decode_all(const char *s, size_t n, size_t chunk, size_t max_random, size_t cap, json_object ***ret_objs) {
        _cleanup_(repl_decoder_freep) ReplDecoder *d = NULL;
        size_t off = 0;
        long count = 0;
        int r;

        CHECK(repl_decoder_new(&d, cap) == 0);
        while (off < n) {
                size_t want = chunk ? chunk : 1 + (size_t) rand() % max_random;
                size_t len = MIN(want, n - off), pos = 0;

                while (pos < len) {
                        json_object *o = NULL;
                        size_t used = 0, remaining = len - pos;

                        r = repl_decoder_feed(d, s + off + pos, len - pos, &used, &o);
                        if (r < 0) {
                                CHECK(repl_decoder_error(d));
                                return r;
                        }
                        CHECK(used <= remaining);
                        pos += used;
                        if (r > 0) {
                                CHECK(o && json_object_is_type(o, json_type_object));
                                if (ret_objs) {
                                        *ret_objs = realloc(*ret_objs, sizeof(json_object *) * (count + 1));
                                        (*ret_objs)[count] = o;
                                } else
                                        json_object_put(o);
                                count++;
                        } else
                                CHECK(used == remaining); /* 0 means everything consumed */
                }
                off += len;
        }
        r = repl_decoder_finish(d);
        if (r < 0)
                return r;
        return count;
}

static void free_objs(json_object **objs, long n) {
        for (long i = 0; i < n; i++)
                json_object_put(objs[i]);
        free(objs);
}

static unsigned test_file(const char *path) {
        _cleanup_free_ char *s = NULL;
        json_object **reference = NULL;
        size_t n, blocks;
        long got;

        s = read_file(path, &n);
        blocks = count_blocks(s, n);
        CHECK(blocks > 0);

        got = decode_all(s, n, n, 0, 0, &reference);
        if (got != (long) blocks)
                FAIL("%s: whole: %ld replies, %zu blocks", path, got, blocks);

        /* Every reply must also be what json-c parses from the block alone. */
        for (long i = 0; i < got; i++)
                CHECK(json_object_object_length(reference[i]) > 0);

        got = decode_all(s, n, 1, 0, 0, NULL);
        if (got != (long) blocks)
                FAIL("%s: byte by byte: %ld replies, %zu blocks", path, got, blocks);

        for (int round = 0; round < 20; round++) {
                json_object **objs = NULL;

                got = decode_all(s, n, 0, round < 10 ? 7 : 4096, 0, &objs);
                if (got != (long) blocks)
                        FAIL("%s: random chunks: %ld replies, %zu blocks", path, got, blocks);
                for (long i = 0; i < got; i++)
                        CHECK(json_object_equal(objs[i], reference[i]));
                free_objs(objs, got);
        }

        /* Cut anywhere inside the last reply: finish() must complain. */
        {
                size_t end = n;
                while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == ' '))
                        end--;
                CHECK(end > 0 && s[end - 1] == '}');
                got = decode_all(s, end - 1, 0, 64, 0, NULL);
                CHECK(got == -EPROTO);
        }

        free_objs(reference, (long) blocks);
        return (unsigned) blocks;
}

static unsigned test_dir(const char *dir, unsigned *n_files) {
        _cleanup_(closedirp_local) DIR *d = NULL;
        unsigned total = 0;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                FAIL("opendir %s: %m", dir);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                size_t l = strlen(de->d_name);
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                CHECK(asprintf(&p, "%s/%s", dir, de->d_name) >= 0);
                CHECK(stat(p, &st) == 0);
                if (S_ISDIR(st.st_mode)) {
                        total += test_dir(p, n_files);
                        continue;
                }
                if (l < 13 || !streq(de->d_name + l - 13, ".expected.out"))
                        continue;
                total += test_file(p);
                (*n_files)++;
        }
        return total;
}

static void test_garbage(void) {
        static const struct {
                const char *text;
                long expect;
        } cases[] = {
                { "", 0 },
                { "\n\n  \n", 0 },
                { "{\"env\": 0}\n\n{\"env\": 1}\n\n", 2 },
                { "{\"env\": 0}{\"env\": 1}", 2 },            /* no separator needed */
                { "garbage\n", -EPROTO },
                { "{\"env\": 0}\n\nuncaught exception: foo\n", -EPROTO },
                { "[1, 2]\n\n", -EPROTO },                    /* not an object */
                { "42\n\n", -EPROTO },
                { "\"x\"\n\n", -EPROTO },
                { "{\"env\": 0,}\n\n", -EPROTO },
                { "{\"env\" 0}\n\n", -EPROTO },
                { "{\"env\": 0}}\n\n", -EPROTO },
                { "{\"env\": \"\xff\xfe\"}\n\n", -EPROTO },  /* invalid UTF-8 */
                { "{\"env\": \"\xc0\xaf\"}\n\n", -EPROTO },      /* overlong */
                { "{\"env\": \"\xed\xa0\x80\"}\n\n", -EPROTO },  /* surrogate */
                { "{\"env\": \"\xe2\x8a\"}\n\n", -EPROTO },      /* cut sequence */
                { "{\"g\": \"\xe2\x8a\xa2 \xf0\x9f\x98\x80\"}\n\n", 1 }, /* ⊢ and an emoji */
                { "{\"env\": 0", -EPROTO },                  /* truncated */
                { "{\"a\": {\"b\": [", -EPROTO },
                { "\x01", -EPROTO },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n = strlen(cases[i].text);
                long a = decode_all(cases[i].text, n, n ? n : 1, 0, 0, NULL);
                long b = decode_all(cases[i].text, n, 1, 0, 0, NULL);

                if (a != cases[i].expect || b != cases[i].expect)
                        FAIL("garbage case %zu (%s): got %ld/%ld, want %ld", i, cases[i].text, a, b, cases[i].expect);
        }

        /* After an error the decoder stays failed. */
        {
                _cleanup_(repl_decoder_freep) ReplDecoder *d = NULL;
                json_object *o = NULL;
                size_t used;

                CHECK(repl_decoder_new(&d, 0) == 0);
                CHECK(repl_decoder_feed(d, "x", 1, &used, &o) == -EPROTO);
                CHECK(repl_decoder_feed(d, "{}", 2, &used, &o) == -EPROTO);
                CHECK(!o);
                CHECK(strstr(repl_decoder_error(d), "expected a JSON object"));
        }
}

static void test_cap(void) {
        _cleanup_free_ char *big = NULL;
        size_t n = 10000;

        big = malloc(n + 1);
        CHECK(big);
        memset(big, 'a', n);
        memcpy(big, "{\"s\": \"", 7);
        memcpy(big + n - 4, "\"}\n\n", 4);
        big[n] = 0;

        CHECK(decode_all(big, n, n, 0, 0, NULL) == 1);
        CHECK(decode_all(big, n, 0, 100, n - 2, NULL) == 1);       /* exactly at the cap */
        CHECK(decode_all(big, n, n, 0, n - 3, NULL) == -EMSGSIZE); /* one byte over */
        CHECK(decode_all(big, n, 0, 100, 1000, NULL) == -EMSGSIZE);
}

static void test_encode(void) {
        _cleanup_free_ char *s = NULL;
        json_object *cmd = json_object_new_object();
        size_t len;

        json_object_object_add(cmd, "cmd", json_object_new_string("theorem x : 1 = 1 := by\n  rfl\n/- a/b -/"));
        json_object_object_add(cmd, "env", json_object_new_int(3));
        CHECK(repl_encode_command(cmd, &s, &len) == 0);
        CHECK(len == strlen(s));
        CHECK(len > 2 && s[len - 1] == '\n' && s[len - 2] == '\n');
        CHECK(!memchr(s, '\n', len - 2));
        CHECK(strstr(s, "a/b"));
        {
                /* Round trip through the decoder. */
                json_object **objs = NULL;
                CHECK(decode_all(s, len, 0, 5, 0, &objs) == 1);
                CHECK(json_object_equal(objs[0], cmd));
                free_objs(objs, 1);
        }
        json_object_put(cmd);

        cmd = json_object_new_array();
        CHECK(repl_encode_command(cmd, &s, &len) == -EINVAL);
        json_object_put(cmd);
}

static void on_array_freed(json_object *o, void *userdata) {
        *(bool *) userdata = true;
}

/* A dropped reply is released on the loop it is given (the daemon's loop is
 * private, sd_event_new()), in slices: never on the thread's default loop. */
static void test_release_private_loop(void) {
        sd_event *e = NULL, *def = NULL;
        json_object *a = json_object_new_array();
        bool freed = false;
        unsigned iterations = 0;

        CHECK(a);
        for (int i = 0; i < 2000; i++)
                CHECK(json_object_array_add(a, json_object_new_int(i)) == 0);
        json_object_set_userdata(a, &freed, on_array_freed);
        CHECK(sd_event_new(&e) >= 0);
        repl_release_in_slices(e, a);
        CHECK(!freed); /* in slices, not at once */

        CHECK(sd_event_default(&def) >= 0);
        CHECK(sd_event_run(def, 0) == 0); /* nothing of it on the default loop */
        CHECK(!freed);

        while (!freed && iterations < 100) {
                CHECK(sd_event_run(e, 0) >= 0);
                iterations++;
        }
        CHECK(freed);
        CHECK(iterations >= 4); /* 2000 elements, 500 a slice */
        sd_event_unref(def);
        sd_event_unref(e);
}

int main(int argc, char **argv) {
        const char *dir = getenv("LEAN_REPL_FIXTURES");
        unsigned seed = (unsigned) time(NULL), files = 0, replies;

        if (getenv("TEST_SEED"))
                seed = (unsigned) strtoul(getenv("TEST_SEED"), NULL, 10);
        printf("seed %u (set TEST_SEED to repeat)\n", seed);
        srand(seed);

        test_encode();
        test_garbage();
        test_cap();
        test_release_private_loop();

        if (!dir)
                dir = argc > 1 ? argv[1] : NULL;
        if (!dir) {
                fprintf(stderr, "LEAN_REPL_FIXTURES not set\n");
                return 1;
        }
        replies = test_dir(dir, &files);
        printf("%u fixture files, %u replies\n", files, replies);
        CHECK(files >= 50);
        return 0;
}
