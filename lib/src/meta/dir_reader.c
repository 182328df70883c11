/* A directory as a stream of shots: walked recursively in sorted order; JPEG photos and DJI
 * .SRT files are read; imagery keepout cannot read (PNG, TIFF, raw, video without its .SRT)
 * comes back as a shot with a reason, because it must not be released unchecked; other files
 * (notes, sidecars) are skipped and counted. Symbolic-link loops are walked once. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/core.h"
#include "meta/meta.h"

#define MAX_DEPTH 64
/* Photos of one camera less than this apart (DateTimeOriginal) are taken as one flight. */
#define FLIGHT_GAP_S 300.0

/* JPEG's other names (.jfif, .jpe) are JPEGs, read as such. */
static const char *const read_ext[] = {"jpg", "jpeg", "jfif", "jpe", "tif", "tiff", "srt", NULL};
/* Imagery keepout cannot read: other image formats, and cameras' raw formats, survey cameras'
 * among them (adversary adv27: a Phase One iXM .IIQ and a GoPro .GPR frame, TIFF containers with
 * EXIF GPS, were skipped as "neither imagery nor telemetry" and the folder came out clear):
 * Phase One .iiq, GoPro .gpr, Hasselblad .3fr/.fff, Fujifilm .raf, Pentax .pef, Samsung .srw,
 * Sigma .x3f, Leica .rwl, Sony .sr2/.srf, Nikon .nrw, Canon .crw, Minolta .mrw, Kodak
 * .kdc/.dcr, Epson .erf, Mamiya .mef, Leaf .mos, besides the common ones. */
static const char *const refused_ext[] = {
    "png", "dng", "raw", "heic", "heif", "webp", "arw", "cr2", "cr3",  "nef", "orf", "rw2", "insp",
    "iiq", "gpr", "3fr", "fff",  "raf",  "pef",  "srw", "x3f", "rwl",  "sr2", "srf", "nrw", "crw",
    "mrw", "kdc", "dcr", "erf",  "mef",  "mos",  "bmp", "gif", "avif", "jxl", "jp2", "j2k", NULL};
/* 360-degree video, whose frames are no camera frame: GoPro MAX .360 (an MP4 with GPMF, read
 * as a pinhole's otherwise), DJI Osmo 360 .osv. (Insta360's .insv is refused on release.) */
static const char *const spherical_ext[] = {"360", "osv", NULL};
/* Video: judged by its telemetry (a DJI .SRT beside it, a GoPro GPMF track in it), or unknown.
 * DJI's .lrf low-resolution proxies, AVCHD .mts/.m2ts and MXF among them. */
static const char *const video_ext[] = {"mp4", "mov", "avi",  "mkv", "insv", "lrv",
                                        "lrf", "mts", "m2ts", "mxf", NULL};

typedef struct dir_entry {
    char *path;
    const char *refuse;  /* static text, or NULL to read the file */
    int64_t size, mtime; /* as the walk saw them; size -1: not known */
} dir_entry;

typedef struct dir_state {
    dir_entry *e;
    size_t n, cap, next;
    size_t skipped;
    ko_reader *sub;
    char id[256];
    char reason[KOI_ERRMSG_MAX];
    /* the directories being walked, root first: a link back to one of them is a loop */
    unsigned long long dev[MAX_DEPTH + 1], ino[MAX_DEPTH + 1];
    int depth;
    /* The photo flight being read (see photo_flight()) and its take-off stand-in. */
    int in_flight, have_takeoff;
    char make[64], model[64];
    double last_t, takeoff_lat, takeoff_lon;
    char takeoff_from[320];
    koi_strpairs extra; /* the photo's pass-through pairs plus takeoff_from */
} dir_state;

static void dir_close(void *impl) {
    dir_state *s = impl;
    if (!s) return;
    ko_reader_close(s->sub);
    koi_strpairs_free(&s->extra);
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].path);
    free(s->e);
    free(s);
}

static const char *ext_of(const char *path) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static int in_set(const char *ext, const char *const *set) {
    for (size_t i = 0; set[i]; i++)
        if (!strcasecmp(ext, set[i])) return 1;
    return 0;
}

/* st: the walk's stat of the file (its size and mtime are kept), or NULL. */
static ko_status add(ko_reader *r, dir_state *s, const char *path, const char *refuse,
                     const VSIStatBufL *st) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        dir_entry *e = koi_realloc_array(s->e, cap, sizeof *e);
        if (!e) return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
        s->e = e;
        s->cap = cap;
    }
    char *p = koi_strdup(path);
    if (!p) return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    s->e[s->n++] =
        (dir_entry){p, refuse, st ? (int64_t)st->st_size : -1, st ? (int64_t)st->st_mtime : 0};
    return KO_OK;
}

static int matches(const char *const *globs, const char *rel, const char *base) {
    for (size_t i = 0; globs && globs[i]; i++)
        if (!fnmatch(globs[i], rel, 0) || !fnmatch(globs[i], base, FNM_CASEFOLD)) return 1;
    return 0;
}

/* The siblings of path in its directory with the same stem whose extension (any case) is in
 * exts and that are regular files; NULL-terminated, CSLDestroy(); NULL if none. One rule for
 * the walk (a video an SRT covers is not listed on its own) and for the release gate (the
 * videos that go with an SRT): they disagreed on clip.Mp4 and clip.Srt, and a video vanished
 * from both (adversary adv23b). */
static char **same_stem(const char *path, const char *const *exts) {
    char *dir = CPLStrdup(CPLGetPath(path)), *stem = CPLStrdup(CPLGetBasename(path));
    char **names = VSIReadDir(*dir ? dir : "."), **out = NULL;
    size_t sn = strlen(stem);
    for (int i = 0; names && names[i]; i++) {
        const char *n = names[i];
        if (strncmp(n, stem, sn) || n[sn] != '.' || !in_set(n + sn + 1, exts)) continue;
        const char *full = CPLFormFilename(dir, n, NULL);
        VSIStatBufL st;
        if (VSIStatL(full, &st) == 0 && VSI_ISREG(st.st_mode)) out = CSLAddString(out, full);
    }
    CSLDestroy(names);
    CPLFree(dir);
    CPLFree(stem);
    return out;
}

static const char *const srt_ext[] = {"srt", NULL};

char **koi_videos_of_srt(const char *srt) {
    return same_stem(srt, video_ext);
}

/* A video is covered by a DJI .SRT beside it with the same stem. */
static int has_srt_sibling(const char *path) {
    char **srt = same_stem(path, srt_ext);
    int has = srt != NULL;
    CSLDestroy(srt);
    return has;
}

/* A file the selection reads: refused if it is not a regular file. */
static ko_status add_read(ko_reader *r, dir_state *s, const char *path, const VSIStatBufL *st) {
    return add(r, s, path, st ? koi_not_regular((unsigned)st->st_mode) : NULL, st);
}

static ko_status classify(ko_reader *r, dir_state *s, const char *path, const char *rel,
                          const VSIStatBufL *st) {
    const char *base = CPLGetFilename(path), *ext = ext_of(path);
    if (matches(r->opts.exclude, rel, base)) return KO_OK;
    if (r->opts.include)
        return matches(r->opts.include, rel, base) ? add_read(r, s, path, st) : KO_OK;
    if (in_set(ext, read_ext)) return add_read(r, s, path, st);
    /* GoPro GPMF telemetry: a raw stream (named .raw, like raw imagery) or a video's gpmd
     * track where no .SRT covers the video */
    if (!strcasecmp(ext, "raw") && koi_gpmf_probe(path)) return add_read(r, s, path, st);
    if (in_set(ext, refused_ext))
        return add(r, s, path,
                   "imagery format not supported: keepout reads JPEG and TIFF photos and DJI "
                   ".SRT telemetry; check a JPEG export of it",
                   st);
    if (in_set(ext, spherical_ext))
        return add(r, s, path,
                   "not an input keepout reads: a 360-degree video, whose frames are no camera "
                   "frame a footprint describes",
                   st);
    if (in_set(ext, video_ext) && !has_srt_sibling(path) && koi_gpmf_probe(path))
        return add_read(r, s, path, st);
    if (in_set(ext, video_ext) && !has_srt_sibling(path))
        return add(r, s, path,
                   "video without telemetry: no DJI .SRT file beside it (same name) and no "
                   "GoPro GPMF track in it; keepout judges videos by their telemetry",
                   st);
    if (!in_set(ext, video_ext)) s->skipped++;
    return KO_OK;
}

static int is_ancestor(const dir_state *s, const VSIStatBufL *st) {
    if (!st->st_ino) return 0; /* virtual file systems have no inode numbers */
    for (int i = 0; i < s->depth; i++)
        if (s->dev[i] == (unsigned long long)st->st_dev &&
            s->ino[i] == (unsigned long long)st->st_ino)
            return 1;
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static ko_status walk(ko_reader *r, dir_state *s, const char *dir, const char *rel) {
    VSIStatBufL self;
    if (VSIStatL(dir, &self) != 0) return add(r, s, dir, "directory cannot be read", NULL);
    if (is_ancestor(s, &self)) return KO_OK; /* a symbolic-link loop: already being walked */
    if (s->depth > MAX_DEPTH)
        return add(r, s, dir, "directories nested deeper than 64 levels", NULL);
    s->dev[s->depth] = (unsigned long long)self.st_dev;
    s->ino[s->depth] = (unsigned long long)self.st_ino;
    s->depth++;
    char **names = VSIReadDir(dir); /* an empty directory gives "." and ".." */
    if (!names) {
        s->depth--;
        return add(r, s, dir, "directory cannot be read (no permission, or an I/O error)", NULL);
    }
    int n = CSLCount(names);
    if (n > 1) qsort(names, (size_t)n, sizeof *names, by_name);
    ko_status st = KO_OK;
    for (int i = 0; !st && i < n; i++) {
        if (!strcmp(names[i], ".") || !strcmp(names[i], "..")) continue;
        char *path = CPLStrdup(CPLFormFilename(dir, names[i], NULL));
        char *sub = CPLStrdup(*rel ? CPLFormFilename(rel, names[i], NULL) : names[i]);
        VSIStatBufL fst;
        if (VSIStatL(path, &fst) != 0)
            st = add(r, s, path, "cannot be read (broken link or no permission)", NULL);
        else if (VSI_ISDIR(fst.st_mode))
            st = r->opts.recursive ? walk(r, s, path, sub) : KO_OK;
        else
            st = classify(r, s, path, sub, &fst);
        CPLFree(path);
        CPLFree(sub);
    }
    CSLDestroy(names);
    s->depth--;
    return st;
}

static void refused_shot(dir_state *s, const dir_entry *e, const char *why, ko_shot *shot) {
    memset(shot, 0, sizeof *shot);
    ko_pose_init(&shot->pose);
    ko_camera_init(&shot->camera);
    snprintf(s->id, sizeof s->id, "%s", CPLGetFilename(e->path));
    snprintf(s->reason, sizeof s->reason, "%s: %s", e->path, why);
    shot->source = e->path;
    shot->id = s->id;
    shot->reason = s->reason;
    shot->unreadable = 1;
}

/* A flight, for photos, is a run of consecutive photos (in walk order) of one camera Make and
 * Model whose DateTimeOriginal rises by less than FLIGHT_GAP_S from one to the next. Its take-off
 * stands in as the first of them with a GPS position and a RelativeAltitude: DJI's height is
 * measured from the take-off point, and the first photo is the nearest to it that the files
 * show (photos carry no home point). Other files in between (SRT, refused imagery) neither
 * join nor break a run. */
static ko_status photo_flight(ko_reader *r, dir_state *s, ko_shot *shot) {
    const char *make, *model;
    double t;
    if (!koi_image_flight_key(s->sub, &make, &model, &t)) return KO_OK;
    int same = s->in_flight && isfinite(t) && isfinite(s->last_t) && t >= s->last_t &&
               t - s->last_t < FLIGHT_GAP_S && !strcmp(make, s->make) && !strcmp(model, s->model);
    if (!same) {
        s->in_flight = 1;
        s->have_takeoff = 0;
        snprintf(s->make, sizeof s->make, "%s", make);
        snprintf(s->model, sizeof s->model, "%s", model);
    }
    s->last_t = t;
    const ko_pose *p = &shot->pose;
    if (!s->have_takeoff && fabs(p->lat) <= 90 && fabs(p->lon) <= 180 &&
        !(p->lat == 0 && p->lon == 0) && isfinite(p->height_m)) {
        s->have_takeoff = 1;
        s->takeoff_lat = p->lat, s->takeoff_lon = p->lon;
        snprintf(s->takeoff_from, sizeof s->takeoff_from, "first photo of the flight: %s",
                 shot->id ? shot->id : "?");
    }
    if (!s->have_takeoff) return KO_OK;
    shot->pose.takeoff_lat = s->takeoff_lat;
    shot->pose.takeoff_lon = s->takeoff_lon;
    /* The photo alone could not take a height below its take-off; as part of a flight it can
     * (with a DEM), so that one reason is weighed again. */
    if (shot->reason && r->opts.below_takeoff && strstr(shot->reason, "is not above the ground") &&
        koi_reader_validate(r, &shot->camera, &shot->pose) == KO_OK)
        shot->reason = NULL;
    koi_strpairs_clear(&s->extra);
    for (size_t i = 0; i < shot->n_extra; i++)
        if (koi_strpairs_add(&s->extra, shot->extra_keys[i], shot->extra_values[i]))
            return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    if (koi_strpairs_add(&s->extra, "takeoff_from", s->takeoff_from))
        return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    shot->n_extra = s->extra.n;
    shot->extra_keys = (const char *const *)s->extra.keys;
    shot->extra_values = (const char *const *)s->extra.values;
    return KO_OK;
}

static ko_status dir_next(ko_reader *r, ko_shot *shot) {
    dir_state *s = r->impl;
    for (;;) {
        if (s->sub) {
            ko_status st = ko_reader_next(s->sub, shot);
            if (st == KO_OK) return photo_flight(r, s, shot);
            if (st != KO_DONE) return st;
            ko_reader_close(s->sub);
            s->sub = NULL;
        }
        if (s->next == s->n) return KO_DONE;
        const dir_entry *e = &s->e[s->next++];
        if (e->refuse) {
            refused_shot(s, e, e->refuse, shot);
            return KO_OK;
        }
        ko_status st = koi_reader_open_file(r->ctx, e->path, &r->opts, &s->sub);
        if (st == KO_ERR_NOMEM) return st;
        if (st) {
            char msg[KOI_ERRMSG_MAX];
            snprintf(msg, sizeof msg, "%s", ko_errmsg(r->ctx));
            refused_shot(s, e, "", shot);
            snprintf(s->reason, sizeof s->reason, "%s", msg);
            return KO_OK;
        }
    }
}

ko_status koi_dir_open(ko_reader *r) {
    dir_state *s = koi_calloc(1, sizeof *s);
    if (!s) return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    ko_status st = walk(r, s, r->path, "");
    if (st) {
        dir_close(s);
        return st;
    }
    static const koi_reader_ops ops = {"dir", dir_next, dir_close};
    r->ops = &ops;
    r->impl = s;
    return KO_OK;
}

size_t ko_reader_skipped(const ko_reader *r) {
    if (!r || !r->ops || strcmp(r->ops->kind, "dir") != 0) return 0;
    return ((const dir_state *)r->impl)->skipped;
}

/* ------------------------------------------------------------------------------------------ */
/* The same walk as a list of files, for callers that schedule files themselves (tag). */

struct ko_file_list {
    dir_state *s;
};

ko_status ko_file_list_create(ko_context *ctx, const char *path, const ko_reader_options *opts,
                              ko_file_list **out) {
    if (!ctx || !path || !out) return koi_error(ctx, KO_ERR_ARG, "file list: NULL argument");
    if (opts) {
        ko_status s = KOI_CHECK_OPTIONS(ctx, ko_reader_options, opts);
        if (s) return s;
    }
    ko_reader r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    if (opts)
        r.opts = *opts;
    else
        ko_reader_options_init(&r.opts);
    r.path = (char *)path;
    ko_file_list *l = koi_calloc(1, sizeof *l);
    dir_state *s = koi_calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory", path);
    }
    l->s = s;
    VSIStatBufL st;
    ko_status rc;
    if (ko_path_check(ctx, path) != KO_OK) /* a FIFO beneath /vsizip/ would block the stat */
        rc = add(&r, s, path,
                 "not a regular file, or one beneath it is not (the archive of a /vsi path is a "
                 "FIFO, device or socket): only regular files are read",
                 NULL);
    else if (VSIStatL(path, &st) != 0)
        rc = add(&r, s, path, "no such file or directory", NULL);
    else if (VSI_ISDIR(st.st_mode))
        rc = walk(&r, s, path, "");
    else
        rc = add(&r, s, path, koi_not_regular((unsigned)st.st_mode), &st);
    if (rc) {
        ko_file_list_destroy(l);
        return rc;
    }
    *out = l;
    return KO_OK;
}

size_t ko_file_list_count(const ko_file_list *l) {
    return l ? l->s->n : 0;
}

const char *ko_file_list_path(const ko_file_list *l, size_t i) {
    return l && i < l->s->n ? l->s->e[i].path : NULL;
}

const char *ko_file_list_refused(const ko_file_list *l, size_t i) {
    return l && i < l->s->n ? l->s->e[i].refuse : NULL;
}

int ko_file_list_stat(const ko_file_list *l, size_t i, int64_t *size, int64_t *mtime) {
    if (!l || i >= l->s->n || l->s->e[i].size < 0) return 0;
    *size = l->s->e[i].size;
    *mtime = l->s->e[i].mtime;
    return 1;
}

size_t ko_file_list_skipped(const ko_file_list *l) {
    return l ? l->s->skipped : 0;
}

void ko_file_list_destroy(ko_file_list *l) {
    if (!l) return;
    dir_close(l->s);
    free(l);
}

/* Shots a file holds, roughly, from its name and size (see ko_input_shots_estimate()). */
static double file_shots(const char *path, int64_t size) {
    size_t n = strlen(path);
    int srt = n > 4 && !strcasecmp(path + n - 4, ".srt");
    int table = n > 4 && (!strcasecmp(path + n - 4, ".csv") || !strcasecmp(path + n - 4, ".txt"));
    /* a GoPro video: a few position samples a second, ~7 MB of video a second */
    int video = n > 4 && (!strcasecmp(path + n - 4, ".mp4") || !strcasecmp(path + n - 4, ".mov"));
    if (!srt && !table && !video) return 1;
    if (size < 0) {
        VSIStatBufL st;
        size = ko_path_check(NULL, path) == KO_OK && VSIStatL(path, &st) == 0 ? st.st_size : 0;
    }
    return 1 + (double)size / (srt ? 200.0 : video ? 500e3 : 80.0);
}

double ko_input_shots_estimate(ko_context *ctx, const char *path, int64_t size,
                               const ko_reader_options *opts) {
    VSIStatBufL st;
    if (!path) return 1;
    if (ko_path_check(NULL, path) != KO_OK || VSIStatL(path, &st) != 0)
        return file_shots(path, size < 0 ? 0 : size); /* (its reader reports it) */
    if (!VSI_ISDIR(st.st_mode)) return file_shots(path, size < 0 ? (int64_t)st.st_size : size);
    ko_file_list *fl = NULL;
    if (ko_file_list_create(ctx, path, opts, &fl) != KO_OK) return 1; /* its reader says why */
    double shots = 0;
    for (size_t k = 0; k < ko_file_list_count(fl); k++) {
        int64_t bytes = -1, mtime;
        if (!ko_file_list_stat(fl, k, &bytes, &mtime)) bytes = -1;
        shots += file_shots(ko_file_list_path(fl, k), bytes);
    }
    ko_file_list_destroy(fl);
    return shots;
}
