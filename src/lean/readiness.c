/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Project readiness and the freshness envelope. See readiness.h for the
 * states and the order they are checked in. Nothing here runs a process:
 * the smoke result comes from the caller. */

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/hash.h"
#include "basic/string-table.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/json-util.h"
#include "lean/lakefile.h"
#include "lean/readiness.h"
#include "lean/toolchain.h"

static const char *const lean_readiness_state_table[_LEAN_READINESS_MAX] = {
        [LEAN_READINESS_READY] = "ready",
        [LEAN_READINESS_UNKNOWN_PIN] = "unknown_pin",
        [LEAN_READINESS_UNSUPPORTED] = "unsupported",
        [LEAN_READINESS_STALE] = "stale",
        [LEAN_READINESS_UNUSABLE] = "unusable",
        [LEAN_READINESS_NOT_INSTALLED] = "not_installed",
        [LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED] = "toolchain_not_installed",
        [LEAN_READINESS_PROVISIONING] = "provisioning",
        [LEAN_READINESS_PROVISION_FAILED] = "provision_failed",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(lean_readiness_state, LeanReadinessState);

LeanReadinessCache *lean_readiness_cache_free(LeanReadinessCache *c) {
        if (!c)
                return NULL;
        free(c->toolchain_text);
        return mfree(c);
}

void lean_readiness_cache_clear(LeanReadinessCache *c) {
        assert(c);
        free(c->toolchain_text);
        *c = (LeanReadinessCache) {};
}

int lean_readiness_cache_copy(LeanReadinessCache *dst, const LeanReadinessCache *src) {
        assert(dst);
        assert(src);
        *dst = *src;
        dst->toolchain_text = NULL;
        if (src->toolchain_text) {
                dst->toolchain_text = strdup(src->toolchain_text);
                if (!dst->toolchain_text) {
                        *dst = (LeanReadinessCache) {};
                        return -ENOMEM;
                }
        }
        return 0;
}

/* The pin file's text, from the cache when its stamp did not change. The
 * stamp is taken before reading: a change during the read shows next time. */
int lean_toolchain_text_read(const char *root, LeanReadinessCache *cache, char **ret) {
        _cleanup_free_ char *path = path_join(root, "lean-toolchain"), *text = NULL;
        FileStamp st;
        int r;

        assert(root);
        assert(ret);

        *ret = NULL;
        if (!path)
                return -ENOMEM;
        if (cache) {
                (void) file_stamp_get(path, &st);
                if (cache->toolchain_cached && file_stamp_equal(&st, &cache->toolchain_stamp)) {
                        if (cache->toolchain_error < 0)
                                return cache->toolchain_error;
                        *ret = strdup(strempty(cache->toolchain_text));
                        return *ret ? 0 : -ENOMEM;
                }
        }
        r = read_full_file(path, 4096, &text, NULL);
        if (r == -ENOMEM)
                return r;
        if (cache) {
                cache->reads++;
                free(cache->toolchain_text);
                cache->toolchain_text = NULL;
                if (r >= 0) {
                        cache->toolchain_text = strdup(text);
                        if (!cache->toolchain_text)
                                return -ENOMEM;
                }
                cache->toolchain_error = r < 0 ? r : 0;
                cache->toolchain_stamp = st;
                cache->toolchain_cached = true;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(text);
        return 0;
}

static int toolchain_read_cached(const char *root, LeanReadinessCache *cache, LeanToolchain *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        *ret = (LeanToolchain) {};
        r = lean_toolchain_text_read(root, cache, &text);
        if (r < 0)
                return r == -EFBIG ? -EINVAL : r;
        return lean_toolchain_parse(text, ret);
}

/* Reads <root>/lean-toolchain: 0, -ENOENT when missing, -EINVAL when unparsable. */
static int lean_toolchain_read(const char *root, LeanToolchain *ret) {
        assert(root);
        assert(ret);

        return toolchain_read_cached(root, NULL, ret);
}

/* ---- stamp --------------------------------------------------------------- */

/* The manifest's hash: bounded, never a FIFO or device (safe reader), from
 * the cache when its stamp did not change; "" when missing or unreadable. */
static int manifest_hash_read(const char *root, LeanReadinessCache *cache, char hash[static 17]) {
        _cleanup_free_ char *manifest = path_join(root, "lake-manifest.json"), *text = NULL;
        FileStamp st;
        size_t n;
        int r;

        hash[0] = 0;
        if (!manifest)
                return -ENOMEM;
        if (cache) {
                (void) file_stamp_get(manifest, &st);
                if (cache->manifest_cached && file_stamp_equal(&st, &cache->manifest_stamp)) {
                        memcpy(hash, cache->manifest_hash, 17);
                        return 0;
                }
        }
        r = read_full_file(manifest, READ_PROJECT_FILE_MAX, &text, &n);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                hash_to_hex16(hash_fnv1a64(text, n), hash);
        if (cache) {
                cache->reads++;
                memcpy(cache->manifest_hash, hash, 17);
                cache->manifest_stamp = st;
                cache->manifest_cached = true;
        }
        return 0;
}

/* The stamp from the manifest's hash and an already read pin (NULL: none). */
static int stamp_fill(const char *root, LeanReadinessCache *cache, const char *pin, LeanProjectStamp *ret) {
        int r;

        *ret = (LeanProjectStamp) {};
        r = manifest_hash_read(root, cache, ret->manifest_hash);
        if (r < 0)
                return r;
        snprintf(ret->toolchain, sizeof ret->toolchain, "%s", strempty(pin));
        return 0;
}

int lean_project_stamp_read(const char *root, LeanProjectStamp *ret) {
        LeanToolchain t;
        int r;

        assert(root);
        assert(ret);

        r = lean_toolchain_read(root, &t);
        if (r == -ENOMEM)
                return r;
        r = stamp_fill(root, NULL, r >= 0 ? t.pin : NULL, ret);
        lean_toolchain_done(&t);
        return r;
}

bool lean_project_stamp_equal(const LeanProjectStamp *a, const LeanProjectStamp *b) {
        assert(a);
        assert(b);

        return streq(a->manifest_hash, b->manifest_hash) && streq(a->toolchain, b->toolchain);
}

/* ---- classification -------------------------------------------------------- */

void lean_readiness_done(LeanReadiness *r) {
        if (!r)
                return;
        free(r->message);
        free(r->fix);
        strv_free(r->advisories);
        lean_toolchain_done(&r->toolchain);
        free(r->elan_toolchain_dir);
        free(r->repl_path);
        free(r->lake_path);
        free(r->repl_cache_dir);
        strv_free(r->default_roots);
        *r = (LeanReadiness) {};
}

static int toolchain_copy(LeanToolchain *dst, const LeanToolchain *src) {
        *dst = *src;
        dst->pin = dst->origin = dst->version = NULL;
        if ((src->pin && !(dst->pin = strdup(src->pin))) || (src->origin && !(dst->origin = strdup(src->origin))) ||
            (src->version && !(dst->version = strdup(src->version))))
                return -ENOMEM;
        return 0;
}

static int strdup_opt(char **dst, const char *src) {
        *dst = NULL;
        return src && !(*dst = strdup(src)) ? -ENOMEM : 0;
}

int lean_readiness_copy(LeanReadiness *dst, const LeanReadiness *src) {
        LeanReadiness c = { .state = src->state, .stamp = src->stamp };

        assert(dst);
        assert(src);

        if (strdup_opt(&c.message, src->message) < 0 || strdup_opt(&c.fix, src->fix) < 0 ||
            !(c.advisories = strv_copy(src->advisories)) || toolchain_copy(&c.toolchain, &src->toolchain) < 0 ||
            strdup_opt(&c.elan_toolchain_dir, src->elan_toolchain_dir) < 0 ||
            strdup_opt(&c.repl_path, src->repl_path) < 0 || strdup_opt(&c.lake_path, src->lake_path) < 0 ||
            strdup_opt(&c.repl_cache_dir, src->repl_cache_dir) < 0 ||
            (src->default_roots && !(c.default_roots = strv_copy(src->default_roots)))) {
                lean_readiness_done(&c);
                return -ENOMEM;
        }
        *dst = c;
        return 0;
}

static bool is_executable(const char *p) {
        struct stat st;

        return p && stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* The pin of a REPL package checkout (its lean-toolchain), NULL when unreadable. */
static char *package_pin(const char *pkg) {
        LeanToolchain t;
        char *pin;

        if (lean_toolchain_read(pkg, &t) < 0)
                return NULL;
        pin = TAKE_PTR(t.pin);
        lean_toolchain_done(&t);
        return pin;
}

/* The REPL as a Lake dependency of the project (when built for the
 * project's toolchain), then lean-host's own build for the pin, then on
 * PATH. A REPL built for another Lean cannot load the project's .olean
 * files: it is skipped with an advisory, never used. */
static int find_repl(const LeanReadinessInput *in, LeanReadiness *r, const char *path) {
        static const char *const pkgs[] = {
                ".lake/packages/REPL",
                ".lake/packages/repl",
                "", /* the REPL repository itself */
        };
        const char *pin = r->toolchain.pin;
        _cleanup_free_ char *root = NULL, *built_for = NULL;
        int k;

        for (size_t i = 0; i < ELEMENTSOF(pkgs); i++) {
                _cleanup_free_ char *pkg = path_join(in->root, pkgs[i]), *bin = NULL, *pkg_pin = NULL;

                if (!pkg)
                        return -ENOMEM;
                bin = path_join(pkg, ".lake/build/bin/repl");
                if (!bin)
                        return -ENOMEM;
                if (!is_executable(bin))
                        continue;
                pkg_pin = isempty(pkgs[i]) ? NULL : package_pin(pkg);
                if (pin && pkg_pin && !lean_toolchain_pin_equal(pin, pkg_pin)) {
                        if (strv_consume(&r->advisories,
                                         strdup_printf("the project's REPL package %s is built for %s, the project "
                                                       "pins %s: not used", pkg, pkg_pin, pin)) < 0)
                                return -ENOMEM;
                        continue;
                }
                r->repl_path = TAKE_PTR(bin);
                return 0;
        }

        root = lean_repl_cache_root(in->repl_cache);
        r->repl_cache_dir = lean_repl_cache_dir(root, &r->toolchain);
        k = lean_repl_cached(r->repl_cache_dir, pin, &r->repl_path, &built_for);
        if (k == -ENOMEM)
                return k;
        if (k == -ESTALE &&
            strv_consume(&r->advisories, strdup_printf("the REPL in %s was built for %s, not %s: not used",
                                                       r->repl_cache_dir, built_for, pin)) < 0)
                return -ENOMEM;
        if (r->repl_path)
                return 0;

        r->repl_path = lean_find_in_path(path, "repl");
        if (r->repl_path &&
            strv_extend(&r->advisories, "using `repl` from PATH: its Lean version is not checked") < 0)
                return -ENOMEM;
        return 0;
}

static int set_state(LeanReadiness *r, LeanReadinessState s, char *fix, const char *format, ...) _printf_(4, 5);
static int set_state(LeanReadiness *r, LeanReadinessState s, char *fix, const char *format, ...) {
        va_list ap;
        int k;

        r->state = s;
        free(r->fix);
        r->fix = fix;
        free(r->message);
        va_start(ap, format);
        k = vasprintf(&r->message, format, ap);
        va_end(ap);
        if (k < 0) {
                r->message = NULL;
                return -ENOMEM;
        }
        return 0;
}

static bool version_supported(const LeanToolchain *t) {
        return t->major > LEAN_REPL_MIN_MAJOR ||
               (t->major == LEAN_REPL_MIN_MAJOR && t->minor >= LEAN_REPL_MIN_MINOR);
}

static int set_lake(LeanReadiness *r, LeanLake *lake) {
        free(r->lake_path);
        r->lake_path = TAKE_PTR(lake->path);
        if (lake->toolchain_dir) {
                free(r->elan_toolchain_dir);
                r->elan_toolchain_dir = TAKE_PTR(lake->toolchain_dir);
        }
        if (lake->origin == LEAN_LAKE_PATH && r->toolchain.pin &&
            strv_extend(&r->advisories, "elan not found: using lake from PATH; the lean-toolchain pin is "
                        "not verified") < 0)
                return -ENOMEM;
        return 0;
}

/* k: what lean_toolchain_read() into r->toolchain returned. Resolves lake. */
static int classify_toolchain(const LeanReadinessInput *in, LeanReadiness *r, int k, const char *path,
                              bool *ret_done) {
        _cleanup_(lean_lake_done) LeanLake lake = {};
        _cleanup_free_ char *elan = NULL;
        LeanToolchain *t = &r->toolchain;
        int q;

        *ret_done = false;
        if (k == -ENOENT) {
                if (strv_extend(&r->advisories, "the project has no lean-toolchain file: elan picks its default "
                                "toolchain, which may not match what the project was built with") < 0)
                        return -ENOMEM;
                r->state = LEAN_READINESS_UNKNOWN_PIN;
        } else if (k < 0) {
                r->state = LEAN_READINESS_UNKNOWN_PIN;
                if (strv_extend(&r->advisories, "lean-toolchain cannot be parsed: expected a pin such as "
                                "leanprover/lean4:v4.9.0") < 0)
                        return -ENOMEM;
        } else if (!t->release) {
                r->state = LEAN_READINESS_UNKNOWN_PIN;
                if (strv_extend(&r->advisories, "lean-toolchain is not a release pin (leanprover/lean4:vX.Y.Z): "
                                "no known REPL compatibility for it") < 0)
                        return -ENOMEM;
        } else if (!version_supported(t)) {
                *ret_done = true;
                return set_state(r, LEAN_READINESS_UNSUPPORTED, NULL,
                                 "lean-toolchain pins %s, older than the oldest Lean the REPL protocol of lean-host "
                                 "supports (%s); pin %s or newer in lean-toolchain",
                                 t->pin, LEAN_REPL_MIN_STRING, LEAN_REPL_MIN_STRING);
        }

        elan = lean_elan_home(in->elan_home);
        q = lean_lake_find(elan, k >= 0 ? t : NULL, path, &lake);
        if (q == -ENOMEM)
                return q;
        if (q >= 0)
                return set_lake(r, &lake);

        *ret_done = true;
        if (q == -ENOENT) {
                r->elan_toolchain_dir = TAKE_PTR(lake.toolchain_dir);
                return set_state(r, LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED,
                                 strdup_printf("elan toolchain install %s", t->pin),
                                 "elan toolchain %s is not installed (expected %s)", t->pin, r->elan_toolchain_dir);
        }
        if (q == -ENOEXEC) {
                r->elan_toolchain_dir = TAKE_PTR(lake.toolchain_dir);
                return set_state(r, LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED,
                                 strdup_printf("elan toolchain uninstall %s && elan toolchain install %s",
                                               t->pin, t->pin),
                                 "elan toolchain %s in %s has no bin/lake: the installation is broken",
                                 t->pin, r->elan_toolchain_dir);
        }
        if (lake.elan)
                /* an elan home without its proxies, and a pin only elan resolves */
                return set_state(r, LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED, strdup("elan self update"),
                                 "elan in %s has no bin/lake proxy to resolve %s", elan,
                                 t->pin ?: "the default toolchain");
        return set_state(r, LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED,
                         strdup_printf("curl https://elan.lean-lang.org/elan-init.sh -sSf | sh -s -- -y "
                                       "--default-toolchain none%s%s", t->pin ? " && elan toolchain install " : "",
                                       strempty(t->pin)),
                         "neither elan (%s) nor lake on PATH: install elan%s%s", strna(elan),
                         t->pin ? ", then toolchain " : "", strempty(t->pin));
}

int lean_readiness_classify(const LeanReadinessInput *in, LeanReadiness *r) {
        const char *path;
        bool done = false;
        int k, tk;

        assert(in);
        assert(r);

        if (!in || !in->root || !r)
                return -EINVAL;
        *r = (LeanReadiness) { .state = LEAN_READINESS_READY };
        r->advisories = strv_copy(NULL);
        if (!r->advisories)
                return -ENOMEM;
        /* read once: the stamp and the classification both use it */
        tk = toolchain_read_cached(in->root, in->cache, &r->toolchain);
        if (tk == -ENOMEM) {
                k = tk;
                goto fail;
        }
        k = stamp_fill(in->root, in->cache, tk >= 0 ? r->toolchain.pin : NULL, &r->stamp);
        if (k < 0)
                goto fail;
        /* read here, off the loop with the other project files; a lakefile
         * that cannot be read only costs the default imports */
        k = lean_lakefile_read_default_roots(in->root, &r->default_roots);
        if (k == -ENOMEM)
                goto fail;
        path = in->path ?: getenv("PATH");

        if (in->custom_worker) {
                /* The operator's command is used as is: nothing to resolve;
                 * the pin is still reported. */
                if (strv_extend(&r->advisories, "custom worker command") < 0)
                        goto oom;
        } else {
                k = classify_toolchain(in, r, tk, path, &done);
                if (k < 0)
                        goto fail;
                if (done)
                        return r->message ? 0 : -ENOMEM;

                k = find_repl(in, r, path);
                if (k < 0)
                        goto fail;
                if (!r->repl_path) {
                        if (r->repl_cache_dir)
                                k = set_state(r, LEAN_READINESS_NOT_INSTALLED, NULL,
                                              "no Lean REPL for %s yet: lean-host builds one in %s on the first "
                                              "call (config repl.source)", r->toolchain.pin, r->repl_cache_dir);
                        else
                                k = set_state(r, LEAN_READINESS_NOT_INSTALLED, NULL,
                                              "no Lean REPL found, and lean-host builds one only for an exact "
                                              "toolchain: pin one in lean-toolchain (e.g. leanprover/lean4:%s)",
                                              LEAN_REPL_MIN_STRING);
                        if (k < 0)
                                goto fail;
                        return 0;
                }
        }

        if (in->smoke_failure) {
                char *fix = NULL;

                /* a bad build of our own is thrown away and rebuilt; a project's is
                 * rebuilt in its package directory (whatever the require named it) */
                if (!in->custom_worker && r->repl_path) {
                        const char *bin = strstr(r->repl_path, "/.lake/build/bin/repl");

                        if (r->repl_cache_dir && strncmp(r->repl_path, r->repl_cache_dir,
                                                         strlen(r->repl_cache_dir)) == 0)
                                fix = strdup_printf("rm -rf %s", r->repl_cache_dir);
                        else if (bin)
                                fix = strdup_printf("cd %.*s && %s build repl", (int) (bin - r->repl_path),
                                                    r->repl_path, r->lake_path ?: "lake");
                }
                k = set_state(r, LEAN_READINESS_UNUSABLE, fix,
                              "the worker failed its smoke command: %s", in->smoke_failure);
                return k < 0 ? k : 0;
        }

        if (in->started && !lean_project_stamp_equal(in->started, &r->stamp)) {
                k = set_state(r, LEAN_READINESS_STALE, NULL,
                              "%s changed since the worker started: the worker must be recycled",
                              streq(in->started->toolchain, r->stamp.toolchain) ? "lake-manifest.json" : "lean-toolchain");
                return k < 0 ? k : 0;
        }

        if (r->state == LEAN_READINESS_UNKNOWN_PIN)
                k = set_state(r, LEAN_READINESS_UNKNOWN_PIN, NULL, "%s",
                              r->advisories[0] ?: "lean-toolchain is not a release pin");
        else
                k = set_state(r, LEAN_READINESS_READY, NULL, "%s",
                              in->custom_worker ? "custom worker command: toolchain resolution skipped"
                                                : "the project's toolchain and REPL are installed");
        return k < 0 ? k : 0;
oom:
        k = -ENOMEM;
fail:
        lean_readiness_done(r);
        return k;
}

/* ---- JSON ------------------------------------------------------------------- */

json_object *lean_readiness_to_json(const LeanReadiness *r) {
        json_object *o = json_object_new_object();

        assert(r);

        if (!o)
                return NULL;
        if (json_add(o, "state", json_object_new_string(lean_readiness_state_to_string(r->state))) < 0 ||
            json_add(o, "message", json_object_new_string(strempty(r->message))) < 0 ||
            (r->fix && json_add(o, "fix", json_object_new_string(r->fix)) < 0) ||
            json_add(o, "advisories", json_strv_new(r->advisories)) < 0 ||
            (r->toolchain.pin ? json_add(o, "toolchain", json_object_new_string(r->toolchain.pin))
                              : json_object_object_add(o, "toolchain", NULL)) < 0 ||
            (r->elan_toolchain_dir && json_add(o, "elan_toolchain_dir", json_object_new_string(r->elan_toolchain_dir)) < 0) ||
            (r->lake_path && json_add(o, "lake", json_object_new_string(r->lake_path)) < 0) ||
            (r->repl_path && json_add(o, "repl", json_object_new_string(r->repl_path)) < 0) ||
            (r->repl_cache_dir && json_add(o, "repl_cache_dir", json_object_new_string(r->repl_cache_dir)) < 0) ||
            json_add(o, "manifest_hash", json_object_new_string(r->stamp.manifest_hash)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int lean_readiness_worker_argv(const LeanReadiness *r, char ***ret) {
        char **l;

        assert(r);
        assert(ret);

        if (!r->repl_path)
                return -ENOENT;
        /* lake by absolute path: the daemon's PATH need not have elan's bin */
        l = strv_copy((char *[]) { r->lake_path ?: (char *) "lake", (char *) "env", r->repl_path, NULL });
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

json_object *lean_freshness_to_json(const char *root, const LeanProjectStamp *stamp, char * const *imports,
                                    uint64_t worker_generation, int env, char * const *advisories) {
        json_object *o = json_object_new_object(), *session;

        if (!o)
                return NULL;
        if (json_add(o, "project_root", json_object_new_string(strempty(root))) < 0 ||
            json_add(o, "manifest_hash", json_object_new_string(stamp ? stamp->manifest_hash : "")) < 0 ||
            json_add(o, "imports", json_strv_new(imports)) < 0)
                goto fail;
        session = json_object_new_object();
        if (json_add(o, "session", session) < 0 ||
            json_add(session, "worker_generation", json_object_new_uint64(worker_generation)) < 0 ||
            (env >= 0 && json_add(session, "env", json_object_new_int(env)) < 0))
                goto fail;
        if ((stamp && !isempty(stamp->toolchain) ? json_add(o, "toolchain", json_object_new_string(stamp->toolchain))
                                                 : json_object_object_add(o, "toolchain", NULL)) < 0 ||
            json_add(o, "advisories", json_strv_new(advisories)) < 0)
                goto fail;
        return o;
fail:
        json_object_put(o);
        return NULL;
}
