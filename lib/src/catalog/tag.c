/* A tagging run: the files of the inputs listed (this shard's, sorted, each once), those the
 * catalogue holds unchanged skipped, the rest checked by worker threads (one ko_context, store
 * handle, DEM and batch index share each) and written by the calling thread in path order, a
 * batch per transaction, each file's rows together with its `files` row: a killed run loses
 * at most the open batch, which the next run redoes. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include "catalog/catalog.h"
#include "sites/sites.h"

/* A transaction closes after at least this many files and this long: a commit of an opened
 * GeoPackage syncs the disk (~15 fdatasync calls), a kill loses at most the open batch. */
#define BATCH_FILES 256
#define BATCH_SECONDS 0.25

/* Workers run up to WINDOW_FILES files (each) ahead of the writer, holding at most
 * PENDING_SHOTS unwritten shots (~1 kB each; an SRT file has thousands): a short window made
 * them sleep on every commit (10,000 photos, 2 cores: 16 files 0.67-0.69 s, 256 0.58-0.61 s). */
#define WINDOW_FILES 256
#define PENDING_SHOTS 65536

typedef struct job {
    char *path;
    const char *refuse;
    int64_t size, mtime;
    int replace; /* the catalogue holds an older version of this file */
    int placed;  /* its rows are in the open batch (its sidecar, if any, is in place) */
} job;

typedef struct shared {
    const char *db;         /* the store's path: each worker opens it */
    const ko_sites *index;  /* the caller's store, whose loaded index workers share */
    ko_check_options copts; /* copts.footprint is set per thread, to a copy of fopts */
    ko_footprint_options fopts;
    ko_reader_options ropts;
    int hash;
    const char *const *dems;
    size_t n_dems;
    job *jobs;
    size_t n_jobs;
    koi_cat_file *results;
    atomic_int *ready;
    atomic_size_t next;
    atomic_size_t written;   /* workers stay within a window ahead of the writer */
    atomic_size_t committed; /* results before this one are in the catalogue: freed */
    atomic_size_t pending;   /* shots checked and not yet written */
    atomic_int failed;
    atomic_int writer_waits, workers_wait; /* who sleeps on cv: the others wake them only then */
    atomic_size_t wake_at;                 /* the writer wants waking when this job is ready */
    mtx_t mu;
    cnd_t cv;
    size_t window;
    ko_status status; /* of the first failure (under mu) */
    char error[512];
} shared;

static void set_failed(shared *sh, ko_status st, const char *msg) {
    mtx_lock(&sh->mu);
    if (!atomic_load(&sh->failed)) {
        snprintf(sh->error, sizeof sh->error, "%s", msg);
        sh->status = st;
    }
    atomic_store(&sh->failed, 1);
    cnd_broadcast(&sh->cv);
    mtx_unlock(&sh->mu);
}

/* Sequentially consistent flag-then-check on both sides (the sleeper raises its counter under
 * the lock before its last check): either the sleeper sees the new state or the waker sees the
 * sleeper, so no wake-up is lost and none is paid for when nobody sleeps. */
static void wake_if(shared *sh, atomic_int *sleepers) {
    if (!atomic_load(sleepers)) return;
    mtx_lock(&sh->mu);
    cnd_broadcast(&sh->cv);
    mtx_unlock(&sh->mu);
}

static koi_cat_shot *new_shot(koi_cat_file *f) {
    if (f->n_shots == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 4;
        koi_cat_shot *s = koi_realloc_array(f->shots, cap, sizeof *s);
        if (!s) return NULL;
        f->shots = s;
        f->cap = cap;
    }
    return &f->shots[f->n_shots++];
}

/* A file that yields no shot at all (refused imagery, unreadable) is one unknown row. */
static int unknown_file(koi_cat_file *f, const char *why) {
    koi_cat_shot *s = new_shot(f);
    if (!s) return 0;
    memset(s, 0, sizeof *s);
    ko_pose_init(&s->pose);
    ko_camera_init(&s->cam);
    s->verdict = KO_UNKNOWN;
    s->checked = 0;
    s->id = koi_strdup(CPLGetFilename(f->path));
    s->reason = koi_strdup(why);
    f->verdict = KO_UNKNOWN;
    return s->id && s->reason;
}

/* Whether name is one of the ';'-joined names of list (NULL: none); a name that is part of
 * another is a name of its own. */
static int has_name(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !memcmp(p, name, n)) return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static int check_file(ko_context *ctx, ko_sites *sites, const ko_check_options *copts, shared *sh,
                      const job *j, koi_cat_file *f) {
    f->path = koi_strdup(j->path);
    f->size = j->size;
    f->mtime = j->mtime;
    f->verdict = KO_CLEAR;
    if (!f->path) return 0;
    if (sh->hash && ko_file_sha256(ctx, j->path, f->sha256) != KO_OK) f->sha256[0] = '\0';
    if (j->refuse) return unknown_file(f, CPLSPrintf("%s: %s", j->path, j->refuse));
    ko_reader *r = NULL;
    if (ko_reader_open_regular(ctx, j->path, &sh->ropts, &r) != KO_OK)
        return unknown_file(f, ko_errmsg(ctx));
    ko_shot shot;
    ko_status st;
    int ok = 1;
    while (ok && (st = ko_reader_next(r, &shot)) == KO_OK) {
        ko_result *res = NULL;
        if (ko_check_shot(ctx, sites, &shot, copts, &res) != KO_OK) {
            set_failed(sh, KO_ERR_DB,
                       CPLSPrintf("site store %s failed: %s", sh->db, ko_errmsg(ctx)));
            ok = 0;
            break;
        }
        koi_cat_shot *s = new_shot(f);
        ok = s && koi_cat_shot_fill(s, &shot, res);
        if (ok) f->verdict = ko_verdict_worst(f->verdict, s->verdict);
        for (size_t i = 0; ok && i < ko_result_count(res); i++) {
            const ko_finding *fi = ko_result_finding(res, i);
            if (fi->disclosed && fi->site->name && !has_name(f->site_names, fi->site->name)) {
                size_t a = f->site_names ? strlen(f->site_names) : 0, b = strlen(fi->site->name);
                char *n = koi_realloc_array(f->site_names, a + b + 2, 1);
                if (!n) break;
                if (a) n[a++] = ';';
                memcpy(n + a, fi->site->name, b + 1);
                f->site_names = n;
            }
        }
        ko_result_destroy(res);
    }
    if (ok && st != KO_DONE) ok = unknown_file(f, ko_errmsg(ctx));
    if (ok && f->n_shots == 0)
        ok = unknown_file(f, CPLSPrintf("%s: no shots in the file", j->path));
    ko_reader_close(r);
    return ok;
}

static int open_worker(shared *sh, ko_context **ctx, ko_sites **sites, ko_dem **dem) {
    double limit;
    if (ko_context_create(ctx) != KO_OK) {
        set_failed(sh, KO_ERR_NOMEM, "out of memory");
        return 0;
    }
    if (sh->n_dems && ko_dem_open_list(*ctx, sh->dems, sh->n_dems, dem) != KO_OK) {
        set_failed(sh, KO_ERR_IO, CPLSPrintf("terrain: %s", ko_errmsg(*ctx)));
        return 0;
    }
    if (ko_sites_open(*ctx, sh->db, KO_SITES_READONLY, sites) != KO_OK ||
        ko_sites_gsd_limit(*sites, &limit) != KO_OK ||
        (sh->index && ko_sites_share_index(*sites, sh->index) != KO_OK)) {
        set_failed(sh, KO_ERR_DB, CPLSPrintf("site store %s: %s", sh->db, ko_errmsg(*ctx)));
        return 0;
    }
    return 1;
}

/* Whether job i must wait for the writer: too far ahead, or too many shots unwritten. The job
 * the writer needs next never waits, so the writer always gets on. */
static int too_far(shared *sh, size_t i) {
    size_t w = atomic_load(&sh->written);
    return i >= w + sh->window || (i > w && atomic_load(&sh->pending) >= PENDING_SHOTS);
}

/* The results a worker made and the writer has not yet committed (a batch is written again
 * after a deadlock), oldest first: the worker frees them itself once committed. A free in the
 * thread that allocated is cheap; in the writer each file's ~15 frees waited on the worker's malloc
 * arena (4 us a file, the writer's tenth). */
typedef struct made {
    size_t *ix, head, n, cap;
} made;

static void made_add(made *m, size_t i) {
    if (m->n == m->cap) {
        if (m->head) { /* compact rather than grow */
            memmove(m->ix, m->ix + m->head, (m->n - m->head) * sizeof *m->ix);
            m->n -= m->head, m->head = 0;
        }
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 64;
            size_t *ix = koi_realloc_array(m->ix, cap, sizeof *ix);
            if (!ix) return; /* then the main thread frees it at the end */
            m->ix = ix, m->cap = cap;
        }
    }
    m->ix[m->n++] = i;
}

static void made_free_written(made *m, shared *sh) {
    size_t committed = atomic_load(&sh->committed);
    while (m->head < m->n && m->ix[m->head] < committed)
        koi_cat_file_free(&sh->results[m->ix[m->head++]]);
}

static int worker(void *arg) {
    shared *sh = arg;
    made mine = {NULL, 0, 0, 0};
    ko_context *ctx = NULL;
    ko_sites *sites = NULL;
    ko_dem *dem = NULL;
    ko_check_options copts = sh->copts; /* the DEM handle belongs to this thread's context */
    ko_footprint_options fopts = sh->fopts;
    copts.footprint = &fopts;
    if (open_worker(sh, &ctx, &sites, &dem)) {
        fopts.dem = dem;
        for (;;) {
            size_t i = atomic_fetch_add(&sh->next, 1);
            if (i >= sh->n_jobs || atomic_load(&sh->failed)) break;
            if (too_far(sh, i)) {
                /* the writer may be waiting for a file further on than this one */
                wake_if(sh, &sh->writer_waits);
                mtx_lock(&sh->mu);
                atomic_fetch_add(&sh->workers_wait, 1);
                while (too_far(sh, i) && !atomic_load(&sh->failed))
                    cnd_wait(&sh->cv, &sh->mu);
                atomic_fetch_sub(&sh->workers_wait, 1);
                mtx_unlock(&sh->mu);
            }
            if (!check_file(ctx, sites, &copts, sh, &sh->jobs[i], &sh->results[i])) {
                set_failed(sh, KO_ERR_NOMEM,
                           CPLSPrintf("%s: out of memory or store failure", sh->jobs[i].path));
                break;
            }
            atomic_fetch_add(&sh->pending, sh->results[i].n_shots);
            atomic_store(&sh->ready[i], 1);
            if (i >= atomic_load(&sh->wake_at)) wake_if(sh, &sh->writer_waits);
            made_add(&mine, i);
            made_free_written(&mine, sh);
        }
    }
    free(mine.ix); /* what is not yet written, ko_catalog_tag frees after the writer */
    ko_sites_close(sites);
    ko_dem_close(dem);
    ko_context_destroy(ctx);
    return 0;
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int by_job_path(const void *a, const void *b) {
    return strcmp(((const job *)a)->path, ((const job *)b)->path);
}

/* Lists every input's files of this shard, sorted, each once (two overlapping inputs may name
 * a file twice). On failure the message is in ctx: KO_ERR_NOT_FOUND for an input with nothing
 * to tag in it. */
static ko_status list_files(shared *sh, ko_context *ctx, const ko_catalog_options *o,
                            const char *const *inputs, size_t n_inputs, size_t *n_other) {
    size_t cap = 0;
    ko_status st = KO_OK;
    for (size_t a = 0; !st && a < n_inputs; a++) {
        ko_file_list *l = NULL;
        if ((st = ko_file_list_create(ctx, inputs[a], &sh->ropts, &l))) break;
        *n_other += ko_file_list_skipped(l);
        if (ko_file_list_count(l) == 0) /* a mistyped archive must not pass as all clear */
            st = koi_error(ctx, KO_ERR_NOT_FOUND, "%s: nothing to tag: %s", inputs[a],
                           ko_file_list_skipped(l)
                               ? "its files are neither JPEG photos nor .SRT/.csv telemetry"
                               : "no file in it");
        for (size_t i = 0; !st && i < ko_file_list_count(l); i++) {
            const char *p = ko_file_list_path(l, i);
            if (o->shard_n > 1 && fnv1a(p) % (uint64_t)o->shard_n != (uint64_t)(o->shard_k - 1))
                continue;
            int64_t size = -1, mtime = 0;
            VSIStatBufL vs;
            if (!ko_file_list_stat(l, i, &size, &mtime) && ko_path_check(NULL, p) == KO_OK &&
                VSIStatL(p, &vs) == 0)
                size = (int64_t)vs.st_size, mtime = (int64_t)vs.st_mtime;
            if (sh->n_jobs == cap) {
                cap = cap ? 2 * cap : 1024;
                job *j = koi_realloc_array(sh->jobs, cap, sizeof *j);
                if (!j) {
                    st = koi_error(ctx, KO_ERR_NOMEM, "out of memory");
                    break;
                }
                sh->jobs = j;
            }
            job *j = &sh->jobs[sh->n_jobs++];
            *j = (job){koi_strdup(p), ko_file_list_refused(l, i), size, mtime, 0, 0};
            if (!j->path) st = koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        }
        ko_file_list_destroy(l);
    }
    if (st) return st; /* the caller frees the jobs */
    if (sh->n_jobs) qsort(sh->jobs, sh->n_jobs, sizeof *sh->jobs, by_job_path);
    size_t k = 0;
    for (size_t i = 0; i < sh->n_jobs; i++) {
        if (k && !strcmp(sh->jobs[k - 1].path, sh->jobs[i].path)) {
            free(sh->jobs[i].path);
            continue;
        }
        sh->jobs[k++] = sh->jobs[i];
    }
    sh->n_jobs = k;
    return st;
}

/* Drops the files the catalogue holds as they are (same size and mtime; with hash the same
 * SHA-256 too); marks those it holds an older version of for replacement. */
static void skip_done(shared *sh, ko_context *ctx, const koi_cat_done *done, size_t n_done,
                      size_t *n_skipped) {
    size_t k = 0;
    for (size_t i = 0; i < sh->n_jobs; i++) {
        job *j = &sh->jobs[i];
        const koi_cat_done *d = koi_cat_find(done, n_done, j->path);
        char hex[65];
        if (d && d->size == j->size && d->mtime == j->mtime &&
            (!sh->hash ||
             (ko_file_sha256(ctx, j->path, hex) == KO_OK && !strcmp(hex, d->sha256)))) {
            (*n_skipped)++;
            free(j->path);
            continue;
        }
        j->replace = d != NULL;
        sh->jobs[k++] = *j;
    }
    sh->n_jobs = k;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sleeps until job i is ready (or a failure), asking first to be woken only when the job
 * WAKE_BATCH - 1 further on is done: one wake-up per batch of files, not per file. Each side
 * publishes before it checks the other (see wake_if), so the wake-up for wake_at is not lost. */
#define WAKE_BATCH 64
static void wait_for(shared *sh, size_t i) {
    size_t last = i + WAKE_BATCH - 1 < sh->n_jobs ? i + WAKE_BATCH - 1 : sh->n_jobs - 1;
    mtx_lock(&sh->mu);
    atomic_fetch_add(&sh->writer_waits, 1);
    while (!atomic_load(&sh->failed)) {
        /* with the shots capped, the batch's last may be held back: wait for i alone then */
        int capped = atomic_load(&sh->pending) >= PENDING_SHOTS;
        size_t w = atomic_load(&sh->ready[last]) || capped ? i : last;
        atomic_store(&sh->wake_at, w);
        if (atomic_load(&sh->ready[w])) {
            if (w == i) break;
            continue; /* the batch's last is in: now wait for i itself */
        }
        cnd_wait(&sh->cv, &sh->mu);
    }
    atomic_fetch_sub(&sh->writer_waits, 1);
    mtx_unlock(&sh->mu);
}

/* The open directory's sidecars made durable before the batch that holds their rows commits;
 * 0 (the catalogue marked failed, with the cause) if they cannot be. */
static int sidecars_synced(const ko_catalog *cat, koi_cat *w, koi_sidecar_dir *dirs) {
    char why[1024];
    if (koi_sidecar_dir_sync(dirs, why, sizeof why)) return 1;
    koi_cat_note(cat, KO_NOTE_WARNING, "%s", why);
    snprintf(w->error, sizeof w->error, "%.500s", why);
    w->failed = 1;
    return 0;
}

/* Rolls the failed batch back and writes its files from..to (those placed) again in a new
 * transaction, if the failure was a deadlock or serialization failure and retries are left.
 * 1 if the batch is written again (not yet committed). */
static int retry_batch(shared *sh, const ko_catalog *cat, koi_cat *w, size_t from, size_t to,
                       const char *when, int64_t version, int *tries) {
    while (koi_cat_retryable(w) && *tries < KOI_CAT_RETRIES) {
        ++*tries;
        koi_cat_note(cat, KO_NOTE_INFO, "%s; the batch of %zu files is written again (try %d)",
                     w->error, to - from, *tries + 1);
        koi_cat_rollback(w);
        w->failed = 0, w->error[0] = '\0';
        koi_cat_retry_pause(*tries);
        int ok = koi_cat_begin(w);
        for (size_t k = from; ok && k < to; k++)
            if (sh->jobs[k].placed)
                ok = koi_cat_write(w, &sh->results[k], sh->jobs[k].replace, when, version);
        if (ok) return 1;
    }
    return 0;
}

/* Commits the open batch (files from..to; the last one flushed first), writing it again after
 * a deadlock. */
static int commit_batch(shared *sh, const ko_catalog *cat, koi_cat *w, size_t from, size_t to,
                        const char *when, int64_t version, int last) {
    int tries = 0;
    for (;;) {
        if ((!last || koi_cat_flush(w)) && koi_cat_commit(w)) break;
        if (!retry_batch(sh, cat, w, from, to, when, version, &tries)) return 0;
    }
    atomic_store(&sh->committed, to);
    return 1;
}

/* Writes results in job order as workers finish them, a batch of files per transaction.
 * Returns 0 on a write or worker failure or when the progress callback stops the run
 * (*cancelled). */
static int write_all(shared *sh, ko_catalog *cat, const char *when, int64_t version,
                     ko_catalog_stats *t, int *cancelled) {
    const ko_catalog_options *o = &cat->opts;
    koi_cat *w = &cat->w;
    double batch_t0 = now_s();
    size_t in_batch = 0, batch_start = 0;
    koi_sidecar_dir dirs = {NULL, -1, 0};
    if (o->progress && !o->progress(0.0, CPLSPrintf("0/%zu files", sh->n_jobs), o->progress_user))
        *cancelled = 1;
    int ok = !*cancelled && koi_cat_begin(w);
    for (size_t i = 0; ok && i < sh->n_jobs; i++) {
        if (!atomic_load(&sh->ready[i])) wait_for(sh, i);
        if (!atomic_load(&sh->ready[i])) {
            ok = 0;
            break;
        }
        koi_cat_file *f = &sh->results[i];
        /* the sidecar first: a file's row is committed only once its sidecar is in place; a
         * file whose sidecar cannot be written stays out of the catalogue (the next run tries
         * again) and counts as unknown */
        char why[1024];
        int placed = !o->sidecar ||
                     koi_sidecar_write(o->sidecar_dir, f, when, version, &dirs, why, sizeof why);
        if (placed < 0) { /* earlier sidecars may not survive a power cut: commit none */
            koi_cat_note(cat, KO_NOTE_WARNING, "%s", why);
            snprintf(w->error, sizeof w->error, "%.500s", why);
            w->failed = 1;
            ok = 0;
            break;
        }
        if (!placed) {
            koi_cat_note(cat, KO_NOTE_WARNING, "%s: %s; the file is not catalogued", f->path, why);
            t->left_out++, t->unknown += f->n_shots;
        } else {
            sh->jobs[i].placed = 1;
            ok = koi_cat_write(w, f, sh->jobs[i].replace, when, version);
            if (!ok) {
                int tries = 0;
                ok = retry_batch(sh, cat, w, batch_start, i + 1, when, version, &tries);
            }
            if (!ok) koi_cat_note(cat, KO_NOTE_WARNING, "writing %s: %s", f->path, w->error);
            for (size_t k = 0; k < f->n_shots; k++) {
                ko_verdict v = f->shots[k].verdict;
                v == KO_CLEAR ? t->clear++ : v == KO_FLAGGED ? t->flagged++ : t->unknown++;
            }
            t->files++;
        }
        /* f is the worker's to free from here (made_free_written) */
        atomic_fetch_sub(&sh->pending, f->n_shots);
        atomic_store(&sh->written, i + 1);
        wake_if(sh, &sh->workers_wait);
        if (++in_batch >= BATCH_FILES && now_s() - batch_t0 >= BATCH_SECONDS) {
            ok = ok && sidecars_synced(cat, w, &dirs) &&
                 commit_batch(sh, cat, w, batch_start, i + 1, when, version, 0) && koi_cat_begin(w);
            in_batch = 0, batch_t0 = now_s(), batch_start = i + 1;
        }
        if (ok && o->progress &&
            !o->progress((double)(i + 1) / (double)sh->n_jobs,
                         CPLSPrintf("%zu/%zu files", i + 1, sh->n_jobs), o->progress_user))
            *cancelled = 1, ok = 0;
    }
    ok = ok && sidecars_synced(cat, w, &dirs);
    koi_sidecar_dir_close(&dirs);
    /* After a failed write nothing more goes in: the open batch is dropped (the next run does
     * it again), and what was committed stays in step with its R-tree and counts. */
    if (ok) ok = commit_batch(sh, cat, w, batch_start, sh->n_jobs, when, version, 1);
    if (!ok) {
        if (*cancelled && !w->error[0]) snprintf(w->error, sizeof w->error, "cancelled");
        koi_cat_rollback(w);
        set_failed(sh, *cancelled ? KO_ERR_CANCELLED : KO_ERR_IO, "");
    }
    return ok;
}

/* One index for all workers (each has its own context and store handle): the store's index
 * file mapped, written again first if it is not current, else built in memory
 * (ko_sites_prepare()). */
static ko_status load_index(shared *sh, ko_catalog *cat, ko_sites *sites) {
    int loaded;
    int64_t n_sites = 0;
    ko_status st;
    if ((st = ko_sites_prepare(sites, 0, &loaded)) || (st = ko_sites_count(sites, &n_sites))) {
        char why[KOI_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", ko_errmsg(cat->ctx));
        return koi_error(cat->ctx, st, "site store: %s", why);
    }
    koi_cat_note(cat, KO_NOTE_INFO, "%zu files to tag against %lld sites (%s)", sh->n_jobs,
                 (long long)n_sites,
                 !loaded                          ? "site store queried on disk"
                 : koi_packed_file(sites->packed) ? "site index file mapped"
                                                  : "site index built in memory");
    if (loaded) sh->index = sites;
    return KO_OK;
}

/* The files table read in a thread of its own while the inputs are walked: each takes some
 * 30-40 ms for 10,000 photos. */
typedef struct reading {
    koi_cat *w;
    koi_cat_done *done;
    size_t n_done;
} reading;

static int read_done(void *arg) {
    reading *r = arg;
    return koi_cat_done_list(r->w, &r->done, &r->n_done);
}

ko_status ko_catalog_tag(ko_catalog *cat, ko_sites *sites, const char *const *inputs, size_t n,
                         ko_catalog_stats *stats) {
    if (!cat) return KO_ERR_ARG;
    ko_context *ctx = cat->ctx;
    if (!sites || (n && !inputs))
        return koi_error(ctx, KO_ERR_ARG, "ko_catalog_tag: NULL argument");
    if (sites->ctx != ctx) /* its messages would go to another thread's context */
        return koi_error(ctx, KO_ERR_ARG,
                         "ko_catalog_tag: the site store belongs to another context");
    ko_status st;
    if (stats && (st = KOI_CHECK_OPTIONS(ctx, ko_catalog_stats, stats))) return st;
    const ko_catalog_options *o = &cat->opts;
    int64_t version = 0;
    double limit;
    if ((st = ko_sites_version(sites, &version)) || (st = ko_sites_gsd_limit(sites, &limit))) {
        char why[KOI_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", ko_errmsg(ctx));
        return koi_error(ctx, st, "site store %s: %s", sites->path, why);
    }
    char when[32];
    koi_cat_utc_now(when, sizeof when);

    shared *sh = koi_calloc(1, sizeof *sh);
    if (!sh) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    if (mtx_init(&sh->mu, mtx_plain) != thrd_success) {
        free(sh);
        return koi_error(ctx, KO_ERR_NOMEM, "cannot make a mutex");
    }
    if (cnd_init(&sh->cv) != thrd_success) {
        mtx_destroy(&sh->mu);
        free(sh);
        return koi_error(ctx, KO_ERR_NOMEM, "cannot make a condition variable");
    }
    sh->db = sites->path;
    sh->hash = o->hash;
    sh->dems = o->dem_paths;
    sh->n_dems = o->n_dem_paths;
    if (o->reader)
        sh->ropts = *o->reader;
    else
        ko_reader_options_init(&sh->ropts);
    sh->ropts.below_takeoff = sh->n_dems > 0;
    if (o->footprint)
        sh->fopts = *o->footprint;
    else
        ko_footprint_options_init(&sh->fopts);
    sh->fopts.dem = NULL;
    sh->fopts.gsd_limit_m = limit;
    ko_check_options_init(&sh->copts);

    ko_catalog_stats t;
    ko_catalog_stats_init(&t);
    t.store_version = version;
    reading rd = {&cat->w, NULL, 0};
    int cancelled = 0, read_ok = 0;
    thrd_t reader;
    int threaded = thrd_create(&reader, read_done, &rd) == thrd_success;
    st = list_files(sh, ctx, o, inputs, n, &t.ignored);
    if (threaded)
        thrd_join(reader, &read_ok);
    else
        read_ok = read_done(&rd);
    if (!st && !read_ok)
        st = koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory reading its files table", cat->name);
    if (!st) skip_done(sh, ctx, rd.done, rd.n_done, &t.skipped);
    if (!st) st = load_index(sh, cat, sites);
    if (!st) {
        sh->results = koi_calloc(sh->n_jobs ? sh->n_jobs : 1, sizeof *sh->results);
        sh->ready = koi_calloc(sh->n_jobs ? sh->n_jobs : 1, sizeof *sh->ready);
        if (!sh->results || !sh->ready) st = koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned jobs = o->jobs ? o->jobs : cores > 0 ? (unsigned)cores : 1;
        if (jobs > 256) jobs = 256;
        sh->window = WINDOW_FILES * (size_t)jobs;
        thrd_t th[256];
        unsigned started = 0;
        for (; started < jobs && started < sh->n_jobs; started++)
            if (thrd_create(&th[started], worker, sh) != thrd_success) break;
        int ok =
            started > 0 || sh->n_jobs == 0 ? write_all(sh, cat, when, version, &t, &cancelled) : 0;
        if (!ok && !started) set_failed(sh, KO_ERR_NOMEM, "cannot start a worker thread");
        for (unsigned i = 0; i < started; i++)
            thrd_join(th[i], NULL);
        if (!ok) {
            /* the catalogue's cause first; the workers' (the root cause) is returned */
            const char *line = CPLSPrintf(
                "%s holds the files committed before the failure; run again to finish%s%s",
                cat->name, *cat->w.error ? ": " : "", cat->w.error);
            if (sh->error[0]) {
                koi_cat_note(cat, KO_NOTE_WARNING, "%s", line);
                st = koi_error(ctx, sh->status ? sh->status : KO_ERR_IO, "%s", sh->error);
            } else {
                st = koi_error(ctx, cancelled ? KO_ERR_CANCELLED : KO_ERR_IO, "%s", line);
            }
        }
    }
    if (!st && !koi_cat_stats_counts(cat, &t)) st = KO_ERR_IO;
    if (!st && stats) *stats = t;

    for (size_t i = 0; i < rd.n_done; i++)
        free(rd.done[i].path);
    free(rd.done);
    for (size_t i = 0; sh->results && i < sh->n_jobs; i++)
        koi_cat_file_free(&sh->results[i]);
    for (size_t i = 0; i < sh->n_jobs; i++)
        free(sh->jobs[i].path);
    free(sh->jobs), free(sh->results), free((void *)sh->ready);
    mtx_destroy(&sh->mu);
    cnd_destroy(&sh->cv);
    free(sh);
    return st;
}
