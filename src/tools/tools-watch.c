/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The warm path's cache and its inotify watches (tools-watch.h; the rule is
 * in tools-preflight.c). A probe is a path the resolution or the
 * classification looked at, existing or not: each directory on its way
 * from / is watched for its own events (moved, deleted, unmounted,
 * chmod/chown), and where the way ends (a missing name, or a file) the
 * directory there is watched for that name (created, deleted, renamed,
 * chmod/chown; written, for a file that is read). So a file that appears
 * where none was, a pin that is rewritten, an owner that changes, a
 * directory renamed or unmounted anywhere above: each is an event that
 * drops the answers that read it. */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/list.h"
#include "basic/log.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "lean/toolchain.h"
#include "project/trust.h"
#include "tools/tools-watch.h"

/* A directory on the way: its own events (moved, deleted, chmod/chown;
 * IN_ATTRIB also comes for its entries), not its entries coming and going,
 * so a busy /tmp or $HOME above a project costs few wake-ups. The
 * directory holding a probe that is a file or missing: that name coming,
 * going and changing mode; for a file that is read, also written. */
#define WATCH_SELF_MASK (IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_MASK_ADD)
#define WATCH_NAME_MASK (WATCH_SELF_MASK | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define WATCH_CONTENT_MASK (WATCH_NAME_MASK | IN_MODIFY | IN_CLOSE_WRITE)

#define WATCH_ENTRIES_MAX 128
#define WATCH_RING 64

typedef struct WatchEntry WatchEntry;
struct WatchEntry {
        char *path, *root;
        char **trusted_roots;
        char *elan_home, *repl_cache;
        bool custom_worker;
        LeanReadiness rd;
        LeanReadinessCache files;
        ToolsWatchSet set;
        LIST_FIELDS(WatchEntry, entries);
};

/* Shared by the loop and the look-up threads (which may outlive the loop's
 * ToolsWatch): the sets the threads give back, and an eventfd to wake the
 * loop for them. */
struct ToolsWatchInbox {
        pthread_mutex_t lock;
        unsigned n_ref;
        bool closed;            /* the ToolsWatch is gone, and its fd */
        int efd;
        ToolsWatchSet pending;
};

struct ToolsWatch {
        int fd;
        sd_event_source *source;
        ToolsWatchInbox *inbox;
        sd_event_source *inbox_source;
        WatchEntry *entries;
        size_t n_entries;
        uint64_t seq;           /* events seen */
        int ring[WATCH_RING];   /* the last events' wds; -1 = an overflow */
};

void tools_watch_set_done(ToolsWatchSet *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++)
                free(s->refs[i].name);
        free(s->refs);
        *s = (ToolsWatchSet) {};
}

static int set_add(ToolsWatchSet *s, int wd, const char *name, size_t len) {
        ToolsWatchRef *a;
        char *n;

        for (size_t i = 0; i < s->n; i++)
                if (s->refs[i].wd == wd && strlen(s->refs[i].name) == len && strneq(s->refs[i].name, name, len))
                        return 0;
        n = strndup(name, len);
        a = n ? realloc(s->refs, (s->n + 1) * sizeof *a) : NULL;
        if (!a) {
                free(n);
                return -ENOMEM;
        }
        s->refs = a;
        s->refs[s->n++] = (ToolsWatchRef) { .wd = wd, .name = n };
        return 0;
}

static bool set_has_wd(const ToolsWatchSet *s, int wd) {
        for (size_t i = 0; i < s->n; i++)
                if (s->refs[i].wd == wd)
                        return true;
        return false;
}

static bool entries_use_wd(ToolsWatch *w, int wd) {
        LIST_FOREACH(entries, e, w->entries)
                if (set_has_wd(&e->set, wd))
                        return true;
        return false;
}

static void ring_push(ToolsWatch *w, int wd);

/* The watches of set that no cached answer uses are removed: the kernel
 * would keep them (and count them against fs.inotify.max_user_watches, the
 * user's budget for every program) as long as the daemon runs. A thread may
 * have been handed one of them while it runs: the removal is noted as an
 * event on it, so that answer is not cached (seen_since()). */
static void watch_release_wds(ToolsWatch *w, const ToolsWatchSet *set) {
        for (size_t i = 0; i < set->n; i++) {
                int wd = set->refs[i].wd;
                bool done = false;

                for (size_t k = 0; k < i && !done; k++)
                        done = set->refs[k].wd == wd;
                if (done || entries_use_wd(w, wd))
                        continue;
                (void) inotify_rm_watch(w->fd, wd); /* EINVAL: the kernel dropped it (IN_IGNORED) */
                ring_push(w, wd);
        }
}

static WatchEntry *entry_free(ToolsWatch *w, WatchEntry *e) {
        if (!e)
                return NULL;
        if (w) {
                LIST_REMOVE(entries, w->entries, e);
                w->n_entries--;
                if (w->fd >= 0)
                        watch_release_wds(w, &e->set);
        }
        free(e->path);
        free(e->root);
        strv_free(e->trusted_roots);
        free(e->elan_home);
        free(e->repl_cache);
        lean_readiness_done(&e->rd);
        lean_readiness_cache_clear(&e->files);
        tools_watch_set_done(&e->set);
        return mfree(e);
}

/* Every answer (an overflow, already in the ring, or the end): each watch
 * goes (a second removal of a shared one fails, harmlessly). */
static void watch_drop_all(ToolsWatch *w) {
        while (w->entries) {
                WatchEntry *e = w->entries;

                LIST_REMOVE(entries, w->entries, e);
                w->n_entries--;
                for (size_t i = 0; w->fd >= 0 && i < e->set.n; i++)
                        (void) inotify_rm_watch(w->fd, e->set.refs[i].wd);
                entry_free(NULL, e);
        }
}

void tools_watch_release(ToolsWatch *w, ToolsWatchSet *set) {
        assert(set);
        if (w && w->fd >= 0)
                watch_release_wds(w, set);
        tools_watch_set_done(set);
}

/* ---- the way back from the threads ------------------------------------------ */

static ToolsWatchInbox *inbox_ref(ToolsWatchInbox *b) {
        pthread_mutex_lock(&b->lock);
        b->n_ref++;
        pthread_mutex_unlock(&b->lock);
        return b;
}

static ToolsWatchInbox *inbox_unref(ToolsWatchInbox *b) {
        bool last;

        if (!b)
                return NULL;
        pthread_mutex_lock(&b->lock);
        last = --b->n_ref == 0;
        pthread_mutex_unlock(&b->lock);
        if (!last)
                return NULL;
        if (b->efd >= 0)
                close(b->efd);
        tools_watch_set_done(&b->pending);
        pthread_mutex_destroy(&b->lock);
        return mfree(b);
}

/* Appends set's refs to pending (takes them; on ENOMEM they are lost: only
 * the watches leak, as before). */
static void inbox_post(ToolsWatchInbox *b, ToolsWatchSet *set) {
        ToolsWatchRef *a;

        pthread_mutex_lock(&b->lock);
        if (!b->closed && set->n > 0) {
                a = realloc(b->pending.refs, (b->pending.n + set->n) * sizeof *a);
                if (a) {
                        memcpy(a + b->pending.n, set->refs, set->n * sizeof *a);
                        b->pending.refs = a;
                        b->pending.n += set->n;
                        free(set->refs);
                        *set = (ToolsWatchSet) {};
                        (void) eventfd_write(b->efd, 1);
                }
        }
        pthread_mutex_unlock(&b->lock);
        tools_watch_set_done(set); /* closed: the fd went, and every watch with it */
}

static int on_inbox(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ToolsWatch *w = userdata;
        ToolsWatchSet set;
        eventfd_t v;

        (void) eventfd_read(fd, &v);
        pthread_mutex_lock(&w->inbox->lock);
        set = w->inbox->pending;
        w->inbox->pending = (ToolsWatchSet) {};
        pthread_mutex_unlock(&w->inbox->lock);
        tools_watch_release(w, &set);
        return 0;
}

static int inbox_new(ToolsWatch *w, sd_event *event) {
        ToolsWatchInbox *b;
        int r;

        b = new0(ToolsWatchInbox, 1);
        if (!b)
                return -ENOMEM;
        b->n_ref = 1;
        b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->efd < 0 || pthread_mutex_init(&b->lock, NULL) != 0) {
                r = b->efd < 0 ? -errno : -ENOMEM;
                if (b->efd >= 0)
                        close(b->efd);
                free(b);
                return r;
        }
        w->inbox = b;
        r = sd_event_add_io(event, &w->inbox_source, b->efd, EPOLLIN, on_inbox, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->inbox_source, "project-watch-inbox");
        return 0;
}

/* The threads still running give back to nobody: the fd closes after this. */
static void inbox_close(ToolsWatch *w) {
        if (!w->inbox)
                return;
        w->inbox_source = sd_event_source_disable_unref(w->inbox_source);
        pthread_mutex_lock(&w->inbox->lock);
        w->inbox->closed = true;
        pthread_mutex_unlock(&w->inbox->lock);
        w->inbox = inbox_unref(w->inbox);
}

int tools_watch_handle_init(ToolsWatch *w, ToolsWatchHandle *h) {
        assert(h);
        *h = (ToolsWatchHandle) { .fd = -EBADF };
        if (!w || !w->inbox)
                return -EBADF;
        h->fd = tools_watch_fd_dup(w);
        if (h->fd < 0)
                return h->fd;
        h->inbox = inbox_ref(w->inbox);
        return 0;
}

void tools_watch_handle_done(ToolsWatchHandle *h) {
        if (!h)
                return;
        if (h->inbox)
                inbox_post(h->inbox, &h->set);
        tools_watch_set_done(&h->set);
        h->inbox = inbox_unref(h->inbox);
        if (h->fd >= 0)
                close(h->fd);
        h->fd = -EBADF;
}

/* ---- thread side ------------------------------------------------------------ */

typedef struct WatchedDir {
        char *dir;
        int wd;
        uint32_t mask;
} WatchedDir;

typedef struct WatchWalk {
        int fd;
        WatchedDir *dirs;   /* added by this walk: each once per mask */
        size_t n_dirs;
        ToolsWatchSet *set;
} WatchWalk;

/* The wd of dir (added with at least mask), or negative errno. */
static int walk_add_dir(WatchWalk *k, const char *dir, uint32_t mask) {
        WatchedDir *a;
        char *d;
        int wd;

        for (size_t i = 0; i < k->n_dirs; i++)
                if (streq(k->dirs[i].dir, dir) && (k->dirs[i].mask & mask) == mask)
                        return k->dirs[i].wd;
        wd = inotify_add_watch(k->fd, dir, mask);
        if (wd < 0)
                return -errno;
        d = strdup(dir);
        a = d ? realloc(k->dirs, (k->n_dirs + 1) * sizeof *a) : NULL;
        if (!a) {
                free(d);
                return -ENOMEM;
        }
        k->dirs = a;
        k->dirs[k->n_dirs++] = (WatchedDir) { .dir = d, .wd = wd, .mask = mask };
        return wd;
}

/* Not a directory where one was looked for: fine when it is a file (the
 * parent's watch sees it replaced), not when it is a symlink (its target's
 * changes would not be seen). */
static int walk_not_dir(const char *p) {
        struct stat st;

        if (lstat(p, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return S_ISLNK(st.st_mode) ? -ELOOP : 0;
}

/* The files whose contents the answer depends on (the others: only whether
 * they are there, their type, owner and mode). */
static bool probe_is_read(const char *probe) {
        static const char *const read[] = {
                "lean-toolchain", "lake-manifest.json", "lakefile.lean", "lakefile.toml", LEAN_REPL_STAMP_FILE,
        };
        const char *base = strrchr(probe, '/');

        for (size_t i = 0; i < ELEMENTSOF(read); i++)
                if (base && streq(base + 1, read[i]))
                        return true;
        return false;
}

static int walk_probe(WatchWalk *k, const char *probe) {
        _cleanup_free_ char *dir = NULL;
        const char *c = probe;
        uint32_t last_mask = probe_is_read(probe) ? WATCH_CONTENT_MASK : WATCH_NAME_MASK;
        int wd, r;

        if (!path_is_absolute(probe))
                return -EINVAL;
        dir = strdup("/");
        if (!dir)
                return -ENOMEM;
        wd = walk_add_dir(k, dir, WATCH_SELF_MASK);
        if (wd < 0)
                return wd;
        r = set_add(k->set, wd, "", 0);
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_free_ char *child = NULL;
                bool last;
                size_t len;

                c += strspn(c, "/");
                len = strcspn(c, "/");
                if (len == 0)
                        return 0;
                if ((len == 1 && c[0] == '.') || (len == 2 && strneq(c, "..", 2)))
                        return -EINVAL; /* probes are canonical */
                last = c[len + strspn(c + len, "/")] == 0;
                child = strdup_printf("%s%s%.*s", dir, streq(dir, "/") ? "" : "/", (int) len, c);
                if (!child)
                        return -ENOMEM;
                /* a directory: watched itself */
                wd = walk_add_dir(k, child, WATCH_SELF_MASK);
                if (wd >= 0) {
                        r = set_add(k->set, wd, "", 0);
                        if (r < 0)
                                return r;
                        free(dir);
                        dir = TAKE_PTR(child);
                        c += len;
                        continue;
                }
                if (wd == -ENOTDIR) {
                        r = walk_not_dir(child); /* a symlink: its target would change unseen */
                        if (r < 0)
                                return r;
                } else if (wd != -ENOENT)
                        return wd;
                /* missing, or a file: the name in its directory */
                wd = walk_add_dir(k, dir, last ? last_mask : WATCH_NAME_MASK);
                if (wd < 0)
                        return wd;
                return set_add(k->set, wd, c, len);
        }
}

static bool path_under(const char *p, const char *dir) {
        size_t n = dir ? strlen(dir) : 0;

        return p && n > 0 && strneq(p, dir, n) && p[n] == '/';
}

bool tools_watch_answer_cacheable(const char *path, const char *root, const LeanReadiness *rd,
                                  const char *elan_home) {
        _cleanup_free_ char *canonical = NULL;

        if (!path || !root || !rd || !lean_readiness_state_is_usable(rd->state))
                return false;
        /* lake and the REPL from PATH: PATH's directories are not watched */
        if (rd->lake_path && !path_under(rd->lake_path, elan_home))
                return false;
        if (rd->repl_path && !path_under(rd->repl_path, root) && !path_under(rd->repl_path, rd->repl_cache_dir))
                return false;
        /* a symlink in the path string: its target may change unseen */
        return path_canonicalize(path, &canonical) >= 0 && streq(canonical, path) &&
               (streq(path, root) || path_under(path, root));
}

static int probes_build(const char *path, const char *root, const LeanReadiness *rd, const char *elan,
                        char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *d = strdup(path), *name = NULL;

        if (!d || strv_extend(&l, path) < 0)
                return -ENOMEM;
        /* the walk up to the root: a lakefile appearing below it moves the root */
        for (;;) {
                if (strv_consume(&l, path_join(d, "lakefile.lean")) < 0 ||
                    strv_consume(&l, path_join(d, "lakefile.toml")) < 0)
                        return -ENOMEM;
                if (streq(d, root) || streq(d, "/"))
                        break;
                *strrchr(d, '/') = 0;
                if (isempty(d))
                        strcpy(d, "/");
        }
        /* the trust check's files, which include the REPL binaries */
        for (const char *const *f = project_trust_files; *f; f++)
                if (strv_consume(&l, path_join(root, *f)) < 0)
                        return -ENOMEM;
        if (strv_consume(&l, path_join(root, ".lake/packages/REPL/lean-toolchain")) < 0 ||
            strv_consume(&l, path_join(root, ".lake/packages/repl/lean-toolchain")) < 0)
                return -ENOMEM;
        if (elan) {
                if (strv_extend(&l, elan) < 0 || strv_consume(&l, path_join(elan, "bin", "lake")) < 0)
                        return -ENOMEM;
                name = rd->toolchain.pin ? lean_toolchain_elan_dirname(&rd->toolchain) : NULL;
                if (name && strv_consume(&l, path_join(elan, "toolchains", name, "bin", "lake")) < 0)
                        return -ENOMEM;
                if (rd->toolchain.pin && !strchr(rd->toolchain.pin, '/') &&
                    strv_consume(&l, path_join(elan, "toolchains", rd->toolchain.pin, "bin", "lake")) < 0)
                        return -ENOMEM;
        }
        if (rd->repl_cache_dir &&
            (strv_consume(&l, path_join(rd->repl_cache_dir, LEAN_REPL_STAMP_FILE)) < 0 ||
             strv_consume(&l, path_join(rd->repl_cache_dir, LEAN_REPL_BINARY)) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int tools_watch_add_probes(int fd, const char *path, const char *root, const LeanReadiness *rd,
                           const char *elan_home, ToolsWatchSet *set) {
        _cleanup_strv_free_ char **probes = NULL;
        WatchWalk k = { .fd = fd, .set = set };
        int r;

        assert(path);
        assert(root);
        assert(rd);
        assert(set);

        if (fd < 0)
                return -EBADF;
        r = probes_build(path, root, rd, elan_home, &probes);
        STRV_FOREACH(p, probes) {
                if (r < 0)
                        break;
                r = walk_probe(&k, *p);
        }
        for (size_t i = 0; i < k.n_dirs; i++)
                free(k.dirs[i].dir);
        free(k.dirs);
        return r; /* on failure too, set holds what was added: tools_watch_release() it */
}

/* ---- loop side --------------------------------------------------------------- */

static void ring_push(ToolsWatch *w, int wd) {
        w->ring[w->seq % WATCH_RING] = wd;
        w->seq++;
}

/* An event on one of set's watches (or an overflow) since seq_start. */
static bool seen_since(ToolsWatch *w, uint64_t seq_start, const ToolsWatchSet *set) {
        if (w->seq - seq_start > WATCH_RING)
                return true;
        for (uint64_t s = seq_start; s < w->seq; s++) {
                int wd = w->ring[s % WATCH_RING];

                if (wd < 0 || set_has_wd(set, wd))
                        return true;
        }
        return false;
}

void tools_watch_process(ToolsWatch *w, const void *buf, size_t n) {
        const uint8_t *b = buf;

        assert(w);
        for (size_t off = 0; off + sizeof(struct inotify_event) <= n;) {
                const struct inotify_event *ev = (const struct inotify_event *) (b + off);
                const char *name = ev->len > 0 ? ev->name : "";

                off += sizeof(struct inotify_event) + ev->len;
                if (ev->mask & IN_Q_OVERFLOW) {
                        /* events were lost: nothing cached can be trusted */
                        log_debug("Project watches overflowed: dropping %zu cached look-ups.", w->n_entries);
                        ring_push(w, -1);
                        watch_drop_all(w);
                        continue;
                }
                ring_push(w, ev->wd);
                LIST_FOREACH_SAFE(entries, e, next, w->entries)
                        for (size_t i = 0; i < e->set.n; i++) {
                                const ToolsWatchRef *ref = &e->set.refs[i];

                                /* a nameless event is the directory's own: every ref on it */
                                if (ref->wd == ev->wd && (isempty(name) || streq(ref->name, name))) {
                                        log_debug("Project path %s: %s changed, its look-up is done again.",
                                                  e->path, isempty(name) ? "a directory on the way" : name);
                                        entry_free(w, e);
                                        break;
                                }
                        }
        }
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ToolsWatch *w = userdata;
        /* aligned as struct inotify_event wants it */
        union {
                struct inotify_event ev;
                uint8_t raw[4096];
        } buf;

        /* bounded per dispatch: the source stays ready for the next round */
        for (unsigned i = 0; i < 16; i++) {
                ssize_t n = read(fd, &buf, sizeof buf);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                log_warning_errno(-errno, "Reading the project watches failed: %m");
                        return 0;
                }
                if (n == 0)
                        return 0;
                tools_watch_process(w, &buf, n);
        }
        return 0;
}

int tools_watch_new(ToolsWatch **ret, sd_event *event) {
        ToolsWatch *w;
        int r;

        assert(ret);
        w = new0(ToolsWatch, 1);
        if (!w)
                return -ENOMEM;
        w->fd = -EBADF;
        if (event) {
                w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (w->fd < 0) {
                        r = -errno;
                        free(w);
                        return r;
                }
                r = sd_event_add_io(event, &w->source, w->fd, EPOLLIN, on_inotify, w);
                if (r < 0) {
                        tools_watch_free(w);
                        return r;
                }
                /* before a call that is ready in the same iteration: a change made
                 * before the call was sent is seen by it */
                r = sd_event_source_set_priority(w->source, SD_EVENT_PRIORITY_IMPORTANT);
                if (r < 0) {
                        tools_watch_free(w);
                        return r;
                }
                (void) sd_event_source_set_description(w->source, "project-watch");
                r = inbox_new(w, event);
                if (r < 0) {
                        tools_watch_free(w);
                        return r;
                }
        }
        *ret = w;
        return 0;
}

ToolsWatch *tools_watch_free(ToolsWatch *w) {
        if (!w)
                return NULL;
        watch_drop_all(w);
        inbox_close(w);
        sd_event_source_disable_unref(w->source);
        if (w->fd >= 0)
                close(w->fd);
        return mfree(w);
}

int tools_watch_fd_dup(ToolsWatch *w) {
        int fd;

        if (!w || w->fd < 0)
                return -EBADF;
        fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 3);
        return fd < 0 ? -errno : fd;
}

uint64_t tools_watch_seq(ToolsWatch *w) {
        return w ? w->seq : 0;
}

size_t tools_watch_count(ToolsWatch *w) {
        return w ? w->n_entries : 0;
}

static bool streq_null(const char *a, const char *b) {
        return a == b || (a && b && streq(a, b));
}

static bool entry_key_equal(const WatchEntry *e, const ToolsWatchKey *key) {
        return e->custom_worker == key->custom_worker && strv_equal(e->trusted_roots, key->trusted_roots) &&
               streq_null(e->elan_home, key->elan_home) && streq_null(e->repl_cache, key->repl_cache);
}

static WatchEntry *entry_find(ToolsWatch *w, const char *path) {
        LIST_FOREACH(entries, e, w->entries)
                if (streq(e->path, path))
                        return e;
        return NULL;
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

int tools_watch_put(ToolsWatch *w, uint64_t seq_start, const char *path, const char *root,
                    const ToolsWatchKey *key, const LeanReadiness *rd, const LeanReadinessCache *files,
                    ToolsWatchSet *set) {
        WatchEntry *e, *old;

        assert(path);
        assert(root);
        assert(key);
        assert(rd);
        assert(set);

        if (!w || set->n == 0 || seen_since(w, seq_start, set)) {
                tools_watch_release(w, set);
                return 0;
        }
        e = new0(WatchEntry, 1);
        if (!e) {
                tools_watch_release(w, set);
                return -ENOMEM;
        }
        e->custom_worker = key->custom_worker;
        if (!(e->path = strdup(path)) || !(e->root = strdup(root)) ||
            !(e->trusted_roots = strv_copy(key->trusted_roots)) || strdup_or_null(key->elan_home, &e->elan_home) < 0 ||
            strdup_or_null(key->repl_cache, &e->repl_cache) < 0 || lean_readiness_copy(&e->rd, rd) < 0 ||
            (files && lean_readiness_cache_copy(&e->files, files) < 0)) {
                entry_free(NULL, e);
                tools_watch_release(w, set);
                return -ENOMEM;
        }
        e->set = *set;
        *set = (ToolsWatchSet) {};
        /* in first: what it replaces releases only the watches it does not share */
        old = entry_find(w, path);
        LIST_PREPEND(entries, w->entries, e);
        w->n_entries++;
        entry_free(w, old);
        if (w->n_entries > WATCH_ENTRIES_MAX) {
                WatchEntry *oldest = w->entries;

                while (oldest->entries_next)
                        oldest = oldest->entries_next;
                entry_free(w, oldest);
        }
        return 1;
}

const LeanReadiness *tools_watch_get(ToolsWatch *w, const char *path, const ToolsWatchKey *key,
                                     const char **ret_root) {
        WatchEntry *e;

        assert(path);
        assert(key);
        if (!w)
                return NULL;
        e = entry_find(w, path);
        if (!e || !entry_key_equal(e, key))
                return NULL;
        /* least recently used goes first when the cache is full */
        LIST_REMOVE(entries, w->entries, e);
        LIST_PREPEND(entries, w->entries, e);
        if (ret_root)
                *ret_root = e->root;
        return &e->rd;
}

const LeanReadinessCache *tools_watch_get_files(ToolsWatch *w, const char *path) {
        WatchEntry *e;

        assert(path);
        e = w ? entry_find(w, path) : NULL;
        return e ? &e->files : NULL;
}
