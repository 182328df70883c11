/* keepout tag: batch tagging of survey archives into a catalogue (GeoPackage or PostGIS).
 * Worker threads (one ko_context, store handle and batch index each) check files; the main
 * thread writes them in path order, a batch per transaction, each file's rows together with
 * its `files` row: a killed run loses at most the open batch, which the next run redoes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include "catalog.h"
#include "output.h"
#include "commands.h"
#include "inputs.h"
#include "keepout/keepout.h"
#include "reader_opts.h"

/* A transaction closes after at least this many files and this long: a commit of an opened
 * GeoPackage syncs the disk (~15 fdatasync calls), a kill loses at most the open batch. */
#define BATCH_FILES 256
#define BATCH_SECONDS 0.25

/* Workers run up to WINDOW_FILES files (each) ahead of the writer, holding at most
 * PENDING_SHOTS unwritten shots (~1 kB each; an SRT file has thousands): a short window made
 * them sleep on every commit (10,000 photos, 2 cores: 16 files 0.67-0.69 s, 256 0.58-0.61 s). */
#define WINDOW_FILES 256
#define PENDING_SHOTS 65536

static void help(FILE *fp) {
    fprintf(
        fp,
        "usage: keepout tag --catalog CAT [options] ARCHIVE...\n"
        "       keepout tag --catalog CAT --recheck [--db DB]\n\n"
        "Tags every photo and video frame of the archives (directories, walked recursively;\n"
        "any GDAL /vsi path such as /vsizip/archive.zip) into a catalogue that opens in\n"
        "QGIS as is: layer footprints (one polygon per shot: verdict, sites, pose, camera),\n"
        "table hits (shot -> site) and table files. Re-runs skip unchanged files (path,\n"
        "size, mtime; with --hash also the SHA-256); a killed run resumes where it stopped.\n\n"
        "options:\n"
        "  --catalog CAT     GeoPackage file (created if missing) or PG:\"dbname=...\"\n"
        "  --db FILE         site store (default: $KEEPOUT_SITES, else the bundled sample)\n"
        "  --jobs N          worker threads (default: the number of cores)\n"
        "  --shard K/N       only the K-th of N deterministic shares of the files\n"
        "  --hash            record SHA-256 and treat a file as unchanged only if it matches\n"
        "  --recheck         re-evaluate the stored footprints against the current store\n"
        "                    without reading the images again\n"
        "  --sidecar         write an XMP sidecar (IMAGE.xmp, namespace keepout:) per file;\n"
        "                    an .xmp keepout did not write is never replaced (the file is\n"
        "                    then left out of the catalogue, unknown)\n"
        "  --sidecar-dir DIR put the sidecars there instead, mirroring each file's absolute\n"
        "                    path (needed for /vsizip/ and other archives; originals are\n"
        "                    never modified)\n"
        "  --unknown-is V    exit status treats unknown as 'flagged' (default) or 'clear';\n"
        "                    files keepout could not read are never clear\n"
        "  --max-range M     cut rays at M metres of ground distance (default 2000)\n"
        "  --dem RASTER      terrain (repeat for tiles). Files are tagged one by one, so a\n"
        "                    photo has no flight: without an absolute altitude its camera is\n"
        "                    put at the DEM under it + height (\"dem+height\", in the reason);\n"
        "                    an SRT takes off at its HOME point (else its first fix)\n" READER_HELP
        "  -q, --quiet       no progress on standard error\n"
        "  -h, --help        this text\n\n"
        "Exit status: 0 all clear; 1 something flagged or unknown; 2 usage error, unusable\n"
        "site store or catalogue.\n");
}

typedef struct job {
    char *path;
    const char *refuse;
    int64_t size, mtime;
    int replace; /* the catalogue holds an older version of this file */
} job;

typedef struct shared {
    const char *db;
    const ko_sites *index;  /* the main thread's store, whose loaded index workers share */
    ko_check_options copts; /* copts.footprint is set per thread, to a copy of fopts */
    ko_footprint_options fopts;
    ko_reader_options ropts;
    int hash;
    char **dems;
    size_t n_dems;
    job *jobs;
    size_t n_jobs;
    cat_file *results;
    atomic_int *ready;
    atomic_size_t next;
    atomic_size_t written; /* workers stay within a window ahead of the writer */
    atomic_size_t pending; /* shots checked and not yet written */
    atomic_int failed;
    atomic_int writer_waits, workers_wait; /* who sleeps on cv: the others wake them only then */
    atomic_size_t wake_at;                 /* the writer wants waking when this job is ready */
    mtx_t mu;
    cnd_t cv;
    size_t window;
    char error[512];
} shared;

static void set_failed(shared *sh, const char *msg) {
    mtx_lock(&sh->mu);
    if (!atomic_load(&sh->failed)) snprintf(sh->error, sizeof sh->error, "%s", msg);
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

static cat_shot *new_shot(cat_file *f) {
    if (f->n_shots == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 4;
        cat_shot *s = realloc(f->shots, cap * sizeof *s);
        if (!s) return NULL;
        f->shots = s;
        f->cap = cap;
    }
    return &f->shots[f->n_shots++];
}

/* A file that yields no shot at all (refused imagery, unreadable) is one unknown row. */
static int unknown_file(cat_file *f, const char *why) {
    cat_shot *s = new_shot(f);
    if (!s) return 0;
    memset(s, 0, sizeof *s);
    ko_pose_init(&s->pose);
    ko_camera_init(&s->cam);
    s->verdict = KO_UNKNOWN;
    s->checked = 0;
    s->id = strdup(CPLGetFilename(f->path));
    s->reason = strdup(why);
    f->verdict = KO_UNKNOWN;
    return s->id && s->reason;
}

static int check_file(ko_context *ctx, ko_sites *sites, const ko_check_options *copts, shared *sh,
                      const job *j, cat_file *f) {
    f->path = strdup(j->path);
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
            set_failed(sh, CPLSPrintf("site store %s failed: %s", sh->db, ko_errmsg(ctx)));
            ok = 0;
            break;
        }
        cat_shot *s = new_shot(f);
        ok = s && cat_shot_fill(s, &shot, res);
        if (ok) f->verdict = ko_verdict_worst(f->verdict, s->verdict);
        for (size_t i = 0; ok && i < ko_result_count(res); i++) {
            const ko_finding *fi = ko_result_finding(res, i);
            if (fi->disclosed && fi->site->name &&
                !(f->site_names && strstr(f->site_names, fi->site->name))) {
                size_t a = f->site_names ? strlen(f->site_names) : 0, b = strlen(fi->site->name);
                char *n = realloc(f->site_names, a + b + 2);
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
    if (ko_context_create(ctx) != KO_OK) return 0;
    if (sh->n_dems &&
        ko_dem_open_list(*ctx, (const char *const *)sh->dems, sh->n_dems, dem) != KO_OK) {
        set_failed(sh, CPLSPrintf("--dem: %s", ko_errmsg(*ctx)));
        return 0;
    }
    if (ko_sites_open(*ctx, sh->db, KO_SITES_READONLY, sites) != KO_OK ||
        ko_sites_gsd_limit(*sites, &limit) != KO_OK ||
        (sh->index && ko_sites_share_index(*sites, sh->index) != KO_OK)) {
        set_failed(sh, CPLSPrintf("site store %s: %s", sh->db, ko_errmsg(*ctx)));
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

/* The results a worker made and the writer has not yet written, oldest first: the worker
 * frees them itself once written. A free in the thread that allocated is cheap; in the writer
 * each file's ~15 frees waited on the worker's malloc arena (4 us a file, the writer's tenth). */
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
            size_t *ix = realloc(m->ix, cap * sizeof *ix);
            if (!ix) return; /* then the main thread frees it at the end */
            m->ix = ix, m->cap = cap;
        }
    }
    m->ix[m->n++] = i;
}

static void made_free_written(made *m, shared *sh) {
    size_t written = atomic_load(&sh->written);
    while (m->head < m->n && m->ix[m->head] < written)
        cat_file_free(&sh->results[m->ix[m->head++]]);
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
                set_failed(sh, CPLSPrintf("%s: out of memory or store failure", sh->jobs[i].path));
                break;
            }
            atomic_fetch_add(&sh->pending, sh->results[i].n_shots);
            atomic_store(&sh->ready[i], 1);
            if (i >= atomic_load(&sh->wake_at)) wake_if(sh, &sh->writer_waits);
            made_add(&mine, i);
            made_free_written(&mine, sh);
        }
    }
    free(mine.ix); /* what is not yet written, run_tag frees after the writer */
    ko_sites_close(sites);
    ko_dem_close(dem);
    ko_context_destroy(ctx);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

static char *xml_escape(const char *s) {
    return CPLEscapeString(s ? s : "", -1, CPLES_XML);
}

/* The namespace keepout writes its sidecars in. A sidecar is ours, and may be replaced, only if
 * it is small, carries this namespace and no other vocabulary than the packet's own: a user's
 * XMP (Lightroom, exiftool), even one that copied keepout's properties in, survives. */
#define SIDECAR_NS "xmlns:keepout=\"urn:keepout:xmp:1.0/\""
#define SIDECAR_MAX 8192

static int sidecar_is_ours(const char *text) {
    size_t n_ns = 0;
    for (const char *p = text; (p = strstr(p, "xmlns:")); p += 6)
        n_ns++;
    return strstr(text, SIDECAR_NS) && strstr(text, "keepout:Version=") && n_ns == 3;
}

static char *sidecar_text(const cat_file *f, const char *when, int64_t version) {
    char *sites = xml_escape(f->site_names);
    char *t =
        CPLStrdup(CPLSPrintf(
            "<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
            " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
            "  <rdf:Description rdf:about=\"\" " SIDECAR_NS "\n"
            "   keepout:Verdict=\"%s\"\n"
            "   keepout:Sites=\"%s\"\n"
            "   keepout:Shots=\"%zu\"\n"
            "   keepout:CheckedAt=\"%s\"\n"
            "   keepout:StoreVersion=\"%lld\"\n"
            "   keepout:Version=\"%s\"/>\n"
            " </rdf:RDF>\n"
            "</x:xmpmeta>\n"
            "<?xpacket end=\"w\"?>\n",
            ko_verdict_str(f->verdict), sites, f->n_shots, when, (long long)version, ko_version()));
    CPLFree(sites);
    return t;
}

/* The components of the path a sidecar mirrors under --sidecar-dir: the file's absolute path
 * (a relative one joined to the working directory), "." dropped, ".." resolved lexically.
 * NULL (with why) if a ".." climbs above the root. Free with CSLDestroy. */
static char **mirror_parts(const char *path, char *why, size_t n_why) {
    char cwd[4096] = "";
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) {
        snprintf(why, n_why, "the working directory is unknown: %s", strerror(errno));
        return NULL;
    }
    char **in = CSLTokenizeString2(CPLSPrintf("%s/%s", cwd, path), "/", 0);
    char **out = NULL;
    int n = 0;
    for (char **c = in; c && *c; c++) {
        if (!strcmp(*c, ".")) continue;
        if (!strcmp(*c, "..")) {
            if (n == 0) {
                snprintf(why, n_why, "'..' in %s leads out of the sidecar directory", path);
                CSLDestroy(in), CSLDestroy(out);
                return NULL;
            }
            CPLFree(out[--n]);
            out[n] = NULL;
            continue;
        }
        out = CSLAddString(out, *c);
        n++;
    }
    CSLDestroy(in);
    if (!n) snprintf(why, n_why, "%s names no file", path);
    return n ? out : NULL;
}

/* The sidecar directory the user named, made where missing (its own path may hold links). */
static void mkdir_p(const char *dir) {
    char *d = CPLStrdup(dir);
    for (char *p = d + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(d, 0755);
            *p = '/';
        }
    mkdir(d, 0755);
    CPLFree(d);
}

/* Opens (making it where missing) directory `name` inside dirfd without following a link:
 * a symbolic link planted in the sidecar tree cannot lead the sidecar elsewhere. */
static int open_subdir(int dirfd, const char *name, char *why, size_t n_why) {
    if (mkdirat(dirfd, name, 0755) != 0 && errno != EEXIST) {
        snprintf(why, n_why, "cannot make directory %s: %s", name, strerror(errno));
        return -1;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        snprintf(why, n_why, "%s %s", name,
                 errno == ELOOP || errno == ENOTDIR
                     ? "is a symbolic link or not a directory: not followed"
                     : strerror(errno));
    return fd;
}

/* Whether the sidecar `leaf` in dirfd may be written: absent (*exists = 0) or a regular file
 * that keepout wrote (*exists = 1). Anything else is refused with why. */
static int sidecar_replaceable(int dirfd, const char *leaf, int *exists, char *why, size_t n_why) {
    struct stat st;
    *exists = 0;
    if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return 1;
        snprintf(why, n_why, "%s", strerror(errno));
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        snprintf(why, n_why, "it is a symbolic link (neither followed nor replaced)");
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, n_why, "it exists and is not a regular file");
        return 0;
    }
    char buf[SIDECAR_MAX + 1];
    ssize_t n = -1;
    int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= SIDECAR_MAX)
        n = read(fd, buf, SIDECAR_MAX);
    if (fd >= 0) close(fd);
    if (n < 0 || (buf[n] = '\0', !sidecar_is_ours(buf))) {
        snprintf(why, n_why, "it exists and was not written by keepout (no keepout namespace)");
        return 0;
    }
    *exists = 1;
    return 1;
}

static int write_all_fd(int fd, const char *text) {
    size_t n = strlen(text);
    while (n) {
        ssize_t w = write(fd, text, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        text += w, n -= (size_t)w;
    }
    return 1;
}

/* The directory of the last sidecar, kept open: files come in path order, so most sidecars go
 * into the directory of the one before, and the walk below --sidecar-dir (an open and a mkdir
 * per component) is paid once per directory. dirty: a sidecar was renamed into it since its
 * last fsync. */
typedef struct sidecar_dir {
    char *key;
    int fd, dirty;
} sidecar_dir;

/* Makes the renames into the directory durable: before the rows of its sidecars are committed
 * and before another directory takes its place. 0 with why if the fsync failed. */
static int sidecar_dir_sync(sidecar_dir *d, char *why, size_t n_why) {
    if (d->fd < 0 || !d->dirty) return 1;
    if (fsync(d->fd) != 0) {
        snprintf(why, n_why, "syncing the sidecar directory %s failed: %s", d->key ? d->key : "?",
                 strerror(errno));
        return 0;
    }
    d->dirty = 0;
    return 1;
}

static void sidecar_dir_close(sidecar_dir *d) {
    if (d->fd >= 0) close(d->fd);
    CPLFree(d->key);
    d->key = NULL, d->fd = -1, d->dirty = 0;
}

/* IMAGE.xmp beside the image, or under --sidecar-dir mirroring its absolute path. Written to a
 * temporary file in the same directory, fsync'ed and renamed into place, so a sidecar is whole
 * or absent (never a 0-byte file on a full disk or after a power cut); never through a
 * symbolic link, never over a file keepout did not write, never inside an archive, never
 * outside the sidecar directory. Returns 1 if the sidecar is in place (its directory is synced
 * by sidecar_dir_sync() before the file's row is committed), 0 with why if it is not, -1 with
 * why if the directory of earlier sidecars, whose rows are written but not committed, could
 * not be synced (the batch must not be committed). */
static int write_sidecar(const char *dir, const cat_file *f, const char *when, int64_t version,
                         sidecar_dir *cache, char *why, size_t n_why) {
    int dirfd = -1, ok = 0;
    char *leaf = NULL, *tmp = NULL, *text = NULL, *key = NULL;
    if (!dir && STARTS_WITH(f->path, "/vsi")) {
        snprintf(why, n_why,
                 "the file is inside an archive or GDAL virtual file system: sidecars for it "
                 "go only under --sidecar-dir");
        return 0;
    }
    char **parts = NULL;
    int n = 0;
    if (dir) {
        if (!(parts = mirror_parts(f->path, why, n_why))) return 0;
        n = CSLCount(parts);
        key = CPLStrdup("");
        for (int i = 0; i < n - 1; i++) {
            char *k = CPLStrdup(CPLSPrintf("%s/%s", key, parts[i]));
            CPLFree(key);
            key = k;
        }
        leaf = CPLStrdup(CPLSPrintf("%s.xmp", parts[n - 1]));
    } else {
        key = CPLStrdup(CPLGetPath(f->path)[0] ? CPLGetPath(f->path) : ".");
        leaf = CPLStrdup(CPLSPrintf("%s.xmp", CPLGetFilename(f->path)));
    }
    if (cache->key && !strcmp(cache->key, key)) {
        dirfd = cache->fd;
    } else {
        if (!sidecar_dir_sync(cache, why, n_why)) {
            CSLDestroy(parts);
            CPLFree(key), CPLFree(leaf);
            return -1;
        }
        sidecar_dir_close(cache);
        if (dir) {
            mkdir_p(dir);
            dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dirfd < 0) snprintf(why, n_why, "sidecar directory %s: %s", dir, strerror(errno));
            for (int i = 0; dirfd >= 0 && i < n - 1; i++) {
                int sub = open_subdir(dirfd, parts[i], why, n_why);
                close(dirfd);
                dirfd = sub;
            }
        } else {
            dirfd = open(key, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dirfd < 0) snprintf(why, n_why, "%s", strerror(errno));
        }
        if (dirfd >= 0) cache->key = key, cache->fd = dirfd, key = NULL;
    }
    CSLDestroy(parts);
    CPLFree(key);
    int exists = 0;
    if (dirfd < 0 || !sidecar_replaceable(dirfd, leaf, &exists, why, n_why)) goto out;
    tmp = CPLStrdup(CPLSPrintf(".%s.%ld.keepout-tmp", leaf, (long)getpid()));
    text = sidecar_text(f, when, version);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) { /* a leftover of a killed run of the same pid */
        unlinkat(dirfd, tmp, 0);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
        snprintf(why, n_why, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    int written = write_all_fd(fd, text);
    int err = errno;
    if (written && fsync(fd) != 0) written = 0, err = errno; /* whole before it is renamed */
    if (close(fd) != 0 && written) written = 0, err = errno;
    if (!written) {
        snprintf(why, n_why, "writing it failed: %s", strerror(err));
        unlinkat(dirfd, tmp, 0);
        goto out;
    }
    /* absent: a file that appeared meanwhile is not replaced */
    int r = exists ? renameat(dirfd, tmp, dirfd, leaf)
                   : renameat2(dirfd, tmp, dirfd, leaf, RENAME_NOREPLACE);
    if (r != 0 && !exists && (errno == EINVAL || errno == ENOSYS)) { /* no NOREPLACE here */
        r = linkat(dirfd, tmp, dirfd, leaf, 0);
        if (r == 0) unlinkat(dirfd, tmp, 0);
    }
    if (r != 0) {
        snprintf(why, n_why, "%s",
                 errno == EEXIST ? "a file of that name appeared meanwhile" : strerror(errno));
        unlinkat(dirfd, tmp, 0);
        goto out;
    }
    cache->dirty = 1;
    ok = 1;
out:
    if (!ok && leaf) {
        char *w = CPLStrdup(why);
        snprintf(why, n_why, "sidecar %s: %s", leaf, w);
        CPLFree(w);
    }
    CPLFree(leaf), CPLFree(tmp), CPLFree(text);
    return ok;
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

typedef struct options {
    const char *catalog, *sidecar_dir;
    int jobs, shard_k, shard_n, recheck, sidecar, quiet, unknown_is_clear;
} options;

/* Lists every archive's files of this shard, sorted, each once (two overlapping archives may
 * name a file twice). Returns 0 after a message on stderr. */
static int list_files(shared *sh, const options *o, char **archives, int n_archives,
                      size_t *n_other) {
    ko_context *ctx = NULL;
    if (ko_context_create(&ctx) != KO_OK) return 0;
    size_t cap = 0;
    int ok = 1;
    for (int a = 0; ok && a < n_archives; a++) {
        ko_file_list *l = NULL;
        if (ko_file_list_create(ctx, archives[a], &sh->ropts, &l) != KO_OK) {
            tag_say("%s", ko_errmsg(ctx));
            ok = 0;
            break;
        }
        *n_other += ko_file_list_skipped(l);
        if (ko_file_list_count(l) == 0) { /* a mistyped archive must not pass as all clear */
            tag_say("%s: nothing to tag: %s (choose files with --include GLOB)", archives[a],
                    ko_file_list_skipped(l)
                        ? "its files are neither JPEG photos nor .SRT/.csv telemetry"
                        : "no file in it");
            ok = 0;
        }
        for (size_t i = 0; ok && i < ko_file_list_count(l); i++) {
            const char *p = ko_file_list_path(l, i);
            if (o->shard_n > 1 && fnv1a(p) % (uint64_t)o->shard_n != (uint64_t)(o->shard_k - 1))
                continue;
            VSIStatBufL st;
            int64_t size = -1, mtime = 0;
            if (!ko_file_list_stat(l, i, &size, &mtime) && safe_stat(p, &st) == 0)
                size = (int64_t)st.st_size, mtime = (int64_t)st.st_mtime;
            if (sh->n_jobs == cap) {
                cap = cap ? 2 * cap : 1024;
                job *j = realloc(sh->jobs, cap * sizeof *j);
                if (!j) {
                    ok = 0;
                    break;
                }
                sh->jobs = j;
            }
            job *j = &sh->jobs[sh->n_jobs++];
            *j = (job){strdup(p), ko_file_list_refused(l, i), size, mtime, 0};
            ok = j->path != NULL;
        }
        ko_file_list_destroy(l);
    }
    ko_context_destroy(ctx);
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
    return ok;
}

/* Drops the files the catalogue holds as they are (same size and mtime; with --hash the same
 * SHA-256 too); marks those it holds an older version of for replacement. */
static int skip_done(shared *sh, const cat_done *done, size_t n_done, size_t *n_skipped) {
    ko_context *ctx = NULL;
    if (sh->hash && ko_context_create(&ctx) != KO_OK) return 0;
    size_t k = 0;
    for (size_t i = 0; i < sh->n_jobs; i++) {
        job *j = &sh->jobs[i];
        const cat_done *d = catalog_find(done, n_done, j->path);
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
    ko_context_destroy(ctx);
    return 1;
}

static void progress(size_t done, size_t total, double t0, int on) {
    if (!on) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double dt = ts.tv_sec + ts.tv_nsec * 1e-9 - t0, rate = dt > 0 ? done / dt : 0;
    fprintf(stderr, "\rkeepout tag: %zu/%zu files, %.0f files/s, ETA %.0f s   ", done, total, rate,
            rate > 0 ? (total - done) / rate : 0.0);
    if (done == total) fputc('\n', stderr);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void utc_now(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

typedef struct tally {
    size_t clear, flagged, unknown, files;
    size_t refused; /* files left out: their sidecar could not be written */
} tally;

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
static int sidecars_synced(catalog *cat, sidecar_dir *dirs) {
    char why[1024];
    if (sidecar_dir_sync(dirs, why, sizeof why)) return 1;
    tag_say("%s", why);
    snprintf(cat->error, sizeof cat->error, "%.500s", why);
    cat->failed = 1;
    return 0;
}

/* Writes results in job order as workers finish them, a batch of files per transaction.
 * Returns 0 on a write or worker failure (after a message). */
static int write_all(shared *sh, catalog *cat, const options *o, const char *when, int64_t version,
                     tally *t) {
    double t0 = now_s(), batch_t0 = t0;
    size_t in_batch = 0;
    int show = !o->quiet && isatty(STDERR_FILENO);
    sidecar_dir dirs = {NULL, -1, 0};
    int ok = catalog_begin(cat);
    for (size_t i = 0; ok && i < sh->n_jobs; i++) {
        if (!atomic_load(&sh->ready[i])) wait_for(sh, i);
        if (!atomic_load(&sh->ready[i])) {
            ok = 0;
            break;
        }
        cat_file *f = &sh->results[i];
        /* the sidecar first: a file's row is committed only once its sidecar is in place; a
         * file whose sidecar cannot be written stays out of the catalogue (the next run tries
         * again) and counts as unknown */
        char why[1024];
        int placed =
            !o->sidecar || write_sidecar(o->sidecar_dir, f, when, version, &dirs, why, sizeof why);
        if (placed < 0) { /* earlier sidecars may not survive a power cut: commit none */
            tag_say("%s", why);
            snprintf(cat->error, sizeof cat->error, "%.500s", why);
            cat->failed = 1;
            ok = 0;
            break;
        }
        if (!placed) {
            tag_say("%s: %s; the file is not catalogued", f->path, why);
            t->refused++, t->unknown += f->n_shots;
        } else {
            ok = catalog_write(cat, f, sh->jobs[i].replace, when, version);
            if (!ok) tag_say("writing %s: %s", f->path, CPLGetLastErrorMsg());
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
            ok = ok && sidecars_synced(cat, &dirs) && catalog_commit(cat) && catalog_begin(cat);
            in_batch = 0, batch_t0 = now_s();
        }
        progress(i + 1, sh->n_jobs, t0, show);
    }
    ok = ok && sidecars_synced(cat, &dirs);
    sidecar_dir_close(&dirs);
    /* After a failed write nothing more goes in: the open batch is dropped (the next run does
     * it again), and what was committed stays in step with its R-tree and counts. */
    if (ok) ok = catalog_flush(cat) && catalog_commit(cat);
    if (!ok) {
        catalog_rollback(cat);
        tag_say(
            "%s holds the files committed before the failure; run again to "
            "finish%s%s",
            o->catalog, *cat->error ? ": " : "", cat->error);
        set_failed(sh, "");
        if (sh->error[0]) tag_say("%s", sh->error);
    }
    return ok;
}

enum {
    T_CATALOG = 300,
    T_DB,
    T_JOBS,
    T_SHARD,
    T_HASH,
    T_RECHECK,
    T_SIDECAR,
    T_SIDECAR_DIR,
    T_MAX_RANGE,
    T_DEM,
    T_UNKNOWN_IS
};

static int parse_args(int argc, char **argv, options *o, shared *sh) {
    static const struct option longopts[] = {
        {"catalog", required_argument, NULL, T_CATALOG},
        {"db", required_argument, NULL, T_DB},
        {"jobs", required_argument, NULL, T_JOBS},
        {"shard", required_argument, NULL, T_SHARD},
        {"hash", no_argument, NULL, T_HASH},
        {"recheck", no_argument, NULL, T_RECHECK},
        {"sidecar", no_argument, NULL, T_SIDECAR},
        {"sidecar-dir", required_argument, NULL, T_SIDECAR_DIR},
        {"max-range", required_argument, NULL, T_MAX_RANGE},
        {"dem", required_argument, NULL, T_DEM},
        {"unknown-is", required_argument, NULL, T_UNKNOWN_IS},
        READER_LONGOPTS,
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
            case T_CATALOG:
                o->catalog = optarg;
                break;
            case T_DB:
                sh->db = optarg;
                break;
            case T_JOBS:
                o->jobs = (int)strtol(optarg, &end, 10);
                if (*end || o->jobs < 1 || o->jobs > 256) {
                    tag_say("--jobs needs 1..256");
                    return EXIT_USAGE;
                }
                break;
            case T_SHARD:
                if (sscanf(optarg, "%d/%d", &o->shard_k, &o->shard_n) != 2 || o->shard_n < 1 ||
                    o->shard_k < 1 || o->shard_k > o->shard_n) {
                    tag_say("--shard needs K/N with 1 <= K <= N");
                    return EXIT_USAGE;
                }
                break;
            case T_HASH:
                sh->hash = 1;
                break;
            case T_RECHECK:
                o->recheck = 1;
                break;
            case T_SIDECAR:
                o->sidecar = 1;
                break;
            case T_SIDECAR_DIR:
                o->sidecar = 1, o->sidecar_dir = optarg;
                break;
            case T_MAX_RANGE:
                sh->fopts.max_range_m = CPLStrtod(optarg, &end);
                if (*end || !(sh->fopts.max_range_m > 0)) {
                    tag_say("--max-range needs a positive number");
                    return EXIT_USAGE;
                }
                break;
            case T_DEM:
                if (!strlist_add(&sh->dems, &sh->n_dems, optarg)) return EXIT_USAGE;
                break;
            case T_UNKNOWN_IS:
                if (strcmp(optarg, "clear") && strcmp(optarg, "flagged")) {
                    tag_say("--unknown-is must be clear or flagged");
                    return EXIT_USAGE;
                }
                o->unknown_is_clear = !strcmp(optarg, "clear");
                break;
            case 'q':
                o->quiet = 1;
                break;
            case 'h':
                help(stdout);
                return EXIT_CLEAR;
            default: {
                int ro = reader_option(c, optarg, &sh->ropts, "tag");
                if (ro > 0) break;
                if (!ro) help(stderr);
                return EXIT_USAGE;
            }
        }
    }
    if (!o->catalog) {
        tag_say("--catalog is required (a .gpkg file or PG:...)");
        return EXIT_USAGE;
    }
    if (!o->recheck && optind >= argc) {
        tag_say("no archive given (try 'keepout tag --help')");
        return EXIT_USAGE;
    }
    for (int i = optind; o->sidecar && !o->sidecar_dir && i < argc; i++)
        if (STARTS_WITH(argv[i], "/vsi")) {
            tag_say(
                "%s is an archive or GDAL virtual file system: keepout never "
                "writes into it; give --sidecar-dir DIR for its sidecars",
                argv[i]);
            return EXIT_USAGE;
        }
    return -1;
}

static int store_info(shared *sh, ko_context **ctx, ko_sites **sites, int64_t *version) {
    double limit;
    if (ko_context_create(ctx) != KO_OK) return 0;
    VSIStatBufL st;
    if (safe_stat(sh->db, &st) != 0 || ko_sites_open(*ctx, sh->db, KO_SITES_READONLY, sites) ||
        ko_sites_version(*sites, version) || ko_sites_gsd_limit(*sites, &limit)) {
        tag_say("site store %s unusable: %s", sh->db,
                safe_stat(sh->db, &st) ? "no such file (build one with keepout sites import)"
                                       : ko_errmsg(*ctx));
        return 0;
    }
    sh->fopts.gsd_limit_m = limit;
    return 1;
}

/* One index in memory for all workers (each has its own context and store handle) when it pays;
 * otherwise the workers query the store on disk, and an incremental run of a few new files
 * starts at once (ko_sites_prepare()). */
static int load_index(shared *sh, int quiet, ko_context *ctx, ko_sites *sites) {
    double shots = 0;
    for (size_t i = 0; i < sh->n_jobs; i++)
        shots += ko_input_shots_estimate(ctx, sh->jobs[i].path, sh->jobs[i].size, NULL);
    int loaded;
    int64_t n_sites = 0;
    if (ko_sites_prepare(sites, shots, &loaded) != KO_OK || ko_sites_count(sites, &n_sites)) {
        fprintf(stderr, "keepout tag: site store: %s\n", ko_errmsg(ctx));
        return 0;
    }
    if (!quiet)
        tag_say("%zu files to tag against %lld sites (%s)", sh->n_jobs, (long long)n_sites,
                loaded ? "site index in memory" : "site store queried on disk");
    if (loaded) sh->index = sites;
    return 1;
}

/* The exit status covers the whole catalogue (this run's files are in it), decided by the
 * library's policy, strict, with --unknown-is: a shot whose input could not be read was not
 * checked, and neither was a file this run left out (its sidecar could not be placed). */
static int catalogue_status(catalog *cat, const options *o, size_t left_out) {
    cat_counts n;
    if (!catalog_counts(cat, &n)) {
        tag_say("cannot count the verdicts in the catalogue %s: %s", o->catalog,
                CPLGetLastErrorMsg());
        return EXIT_USAGE;
    }
    ko_release_policy pol;
    ko_release_policy_init(&pol);
    pol.unknown_is = o->unknown_is_clear ? KO_CLEAR : KO_UNKNOWN;
    return ko_release_decide_batch(&pol, n.clear, n.flagged, n.unknown, n.not_checked + left_out,
                                   NULL) == KO_RELEASE
               ? EXIT_CLEAR
               : EXIT_FLAGGED;
}

static int run_recheck(shared *sh, catalog *cat, ko_context *ctx, ko_sites *sites, const char *when,
                       int64_t version, const options *o) {
    size_t changed, total;
    ko_check_options copts = sh->copts;
    ko_footprint_options fopts = sh->fopts;
    copts.footprint = &fopts;
    ko_dem *dem = NULL;
    if (sh->n_dems &&
        ko_dem_open_list(ctx, (const char *const *)sh->dems, sh->n_dems, &dem) != KO_OK) {
        tag_say("--dem: %s", ko_errmsg(ctx));
        return EXIT_USAGE;
    }
    fopts.dem = dem; /* the stored poses keep their absolute altitude and take-off */
    if (ko_sites_load_index(sites) != KO_OK) {
        tag_say("site store %s: %s", sh->db, ko_errmsg(ctx));
        ko_dem_close(dem);
        return EXIT_USAGE;
    }
    if (!catalog_recheck(cat, ctx, sites, &copts, when, version, &changed, &total)) {
        tag_say(
            "--recheck of the catalogue %s failed, nothing of it was committed "
            "(the catalogue is as it was): %s",
            o->catalog, cat->error[0] ? cat->error : "unknown cause");
        ko_dem_close(dem);
        return EXIT_USAGE;
    }
    ko_dem_close(dem);
    if (!o->quiet)
        tag_say(
            "rechecked %zu footprints against store version %lld: %zu "
            "changed verdict",
            total, (long long)version, changed);
    return catalogue_status(cat, o, 0);
}

/* The catalogue opened and read in a thread of its own while the archives are walked: each
 * takes some 30-40 ms for 10,000 photos. */
typedef struct opening {
    catalog *cat;
    const char *name;
    cat_done *done;
    size_t n_done;
} opening;

static int open_catalogue(void *arg) {
    opening *op = arg;
    return catalog_open(op->cat, op->name) && catalog_done(op->cat, &op->done, &op->n_done);
}

static int run_tag(shared *sh, catalog *cat, options *o, char **archives, int n_archives,
                   const char *when, int64_t version, ko_context *ctx, ko_sites *sites) {
    opening op = {cat, o->catalog, NULL, 0};
    size_t skipped = 0, other = 0;
    int rc = EXIT_USAGE, opened = 0;
    thrd_t opener;
    int threaded = thrd_create(&opener, open_catalogue, &op) == thrd_success;
    int listed = list_files(sh, o, archives, n_archives, &other);
    if (threaded)
        thrd_join(opener, &opened);
    else
        opened = open_catalogue(&op);
    cat_done *done = op.done;
    size_t n_done = op.n_done;
    if (!opened || !listed || !skip_done(sh, done, n_done, &skipped)) goto out;
    if (!load_index(sh, o->quiet, ctx, sites)) goto out;
    sh->results = calloc(sh->n_jobs ? sh->n_jobs : 1, sizeof *sh->results);
    sh->ready = calloc(sh->n_jobs ? sh->n_jobs : 1, sizeof *sh->ready);
    if (!sh->results || !sh->ready) goto out;
    sh->window = WINDOW_FILES * (size_t)o->jobs;
    thrd_t th[256];
    int started = 0;
    for (; started < o->jobs && (size_t)started < sh->n_jobs; started++)
        if (thrd_create(&th[started], worker, sh) != thrd_success) break;
    tally t = {0, 0, 0, 0, 0};
    int ok = started > 0 || sh->n_jobs == 0 ? write_all(sh, cat, o, when, version, &t) : 0;
    for (int i = 0; i < started; i++)
        thrd_join(th[i], NULL);
    if (!ok) goto out;
    if (!o->quiet)
        tag_say(
            "%zu files tagged (%zu shots: %zu clear, %zu flagged, %zu unknown), "
            "%zu unchanged skipped, %zu non-imagery files ignored%s",
            t.files, t.clear + t.flagged + t.unknown, t.clear, t.flagged, t.unknown, skipped, other,
            t.refused ? CPLSPrintf("; %zu files not catalogued (sidecar not written)", t.refused)
                      : "");
    rc = catalogue_status(cat, o, t.refused);
out:
    for (size_t i = 0; i < n_done; i++)
        free(done[i].path);
    free(done);
    for (size_t i = 0; sh->results && i < sh->n_jobs; i++)
        cat_file_free(&sh->results[i]);
    for (size_t i = 0; i < sh->n_jobs; i++)
        free(sh->jobs[i].path);
    free(sh->jobs), free(sh->results), free((void *)sh->ready);
    return rc;
}

int cmd_tag(int argc, char **argv) {
    shared sh;
    memset(&sh, 0, sizeof sh);
    ko_check_options_init(&sh.copts);
    ko_footprint_options_init(&sh.fopts);
    ko_reader_options_init(&sh.ropts);
    sh.db = ko_sites_default(1);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    options o = {NULL, NULL, cores > 0 ? (int)(cores > 256 ? 256 : cores) : 1, 1, 1, 0, 0, 0, 0};
    int rc = parse_args(argc, argv, &o, &sh);
    if (rc >= 0) return rc;
    sh.ropts.below_takeoff = sh.n_dems > 0;
    if (mtx_init(&sh.mu, mtx_plain) != thrd_success || cnd_init(&sh.cv) != thrd_success)
        return EXIT_USAGE;
    ko_context *ctx = NULL;
    ko_sites *sites = NULL;
    int64_t version = 0;
    catalog cat;
    memset(&cat, 0, sizeof cat);
    char when[32];
    utc_now(when, sizeof when);
    rc = EXIT_USAGE;
    if (store_info(&sh, &ctx, &sites, &version)) {
        if (!o.recheck)
            rc = run_tag(&sh, &cat, &o, argv + optind, argc - optind, when, version, ctx, sites);
        else if (catalog_open(&cat, o.catalog))
            rc = run_recheck(&sh, &cat, ctx, sites, when, version, &o);
    }
    catalog_close(&cat);
    ko_sites_close(sites);
    ko_context_destroy(ctx);
    mtx_destroy(&sh.mu);
    cnd_destroy(&sh.cv);
    strlist_free(sh.dems);
    reader_options_free(&sh.ropts);
    return rc;
}
