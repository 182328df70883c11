/* ko_release_run(): the release gate over whole inputs. The walk of the inputs into paths below
 * OUT and HOLD, then each file checked, decided and prepared by ko_release_check() (the one
 * release policy, ko_release_decide()), written by ko_release_item_write() and recorded in the
 * manifest (journal.c) before the next. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>

#include "meta/meta.h"
#include "release/release.h"
#include "sites/sites.h"

void ko_release_run_options_init(ko_release_run_options *opts) {
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->redact = 1;
}

void ko_release_stats_init(ko_release_stats *s) {
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
}

const char *koi_release_store_path(const koi_release *r) {
    return r->sites->path;
}

static ko_status add_entry(koi_release *r, ko_file_list *fl, size_t i, const char *input) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        koi_rel_entry *e = koi_realloc_array(r->e, cap, sizeof *e);
        if (!e) return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory listing %s", input);
        r->e = e;
        r->cap = cap;
    }
    koi_rel_entry *e = &r->e[r->n];
    e->fl = fl;
    e->index = i;
    e->path = ko_file_list_path(fl, i);
    e->key = NULL;
    if (!(e->rel = koi_rel_of(input, e->path)) || !(e->key = koi_manifest_text(e->path))) {
        free(e->rel);
        return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory listing %s", input);
    }
    r->n++;
    return KO_OK;
}

/* A name a file of the run may take below OUT or HOLD, and whose it is. */
typedef struct name {
    char *rel;
    size_t entry;
    int own; /* the file's own path (not its reason or a video of its series) */
} name;

static int by_name(const void *a, const void *b) {
    const name *x = a, *y = b;
    int c = strcmp(x->rel, y->rel);
    return c ? c : (x->entry > y->entry) - (x->entry < y->entry);
}

static int add_name(name **v, size_t *n, size_t *cap, char *rel, size_t entry, int own) {
    if (!rel) return 0;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        name *g = koi_realloc_array(*v, c, sizeof *g);
        if (!g) {
            free(rel);
            return 0;
        }
        *v = g, *cap = c;
    }
    (*v)[(*n)++] = (name){rel, entry, own};
    return 1;
}

/* The names file k takes: its path, its reason file's, and the videos of an .SRT beside it. */
static int names_of(koi_release *r, size_t k, name **v, size_t *n, size_t *cap) {
    const koi_rel_entry *e = &r->e[k];
    if (!add_name(v, n, cap, koi_strdup(e->rel), k, 1) ||
        !add_name(v, n, cap, koi_reason_path(e->rel), k, 0))
        return 0;
    const char *ext = strrchr(e->path, '.');
    if (!ext || strcasecmp(ext, ".srt")) return 1;
    char **videos = koi_videos_of_srt(e->path);
    const char *slash = strrchr(e->rel, '/');
    int dn = slash ? (int)(slash - e->rel + 1) : 0, ok = 1;
    for (size_t i = 0; ok && videos && videos[i]; i++) {
        const char *base = CPLGetFilename(videos[i]);
        char *rel = koi_malloc((size_t)dn + strlen(base) + 1);
        if (rel) sprintf(rel, "%.*s%s", dn, e->rel, base);
        ok = add_name(v, n, cap, rel, k, 0);
    }
    CSLDestroy(videos);
    return ok;
}

static ko_status clash_error(koi_release *r, const name *a, const name *b, size_t more) {
    const char *pa = r->e[a->entry].path, *pb = r->e[b->entry].path;
    if (a->own && b->own)
        return koi_error(r->ctx, KO_ERR_ARG,
                         "%s and %s would both be released as %s: rename one, or release "
                         "them in separate runs (%zu such clash%s)",
                         pa, pb, a->rel, more, more == 1 ? "" : "es");
    return koi_error(r->ctx, KO_ERR_ARG,
                     "%s and %s would both write %s in OUT or HOLD (a file's own name, the "
                     "reason file of a held one, or a video beside its .SRT): rename one, or "
                     "release them in separate runs (%zu such clash%s)",
                     pa, pb, a->rel, more, more == 1 ? "" : "es");
}

/* Two files of the run taking one name below OUT or HOLD: an error naming both, before
 * anything is written (one would replace or remove the other's copy). */
static ko_status clashes(koi_release *r) {
    name *v = NULL;
    size_t n = 0, cap = 0, bad = 0, first = 0;
    ko_status st = KO_OK;
    for (size_t k = 0; !st && k < r->n; k++)
        if (!names_of(r, k, &v, &n, &cap)) st = koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    if (!st && n) qsort(v, n, sizeof *v, by_name);
    for (size_t i = 1; !st && i < n; i++)
        if (!strcmp(v[i - 1].rel, v[i].rel) && v[i - 1].entry != v[i].entry && !bad++) first = i;
    if (!st && bad) st = clash_error(r, &v[first - 1], &v[first], bad);
    for (size_t i = 0; i < n; i++)
        free(v[i].rel);
    free(v);
    return st;
}

/* Every file of every input, with its path below its input; an input with nothing in it, or
 * two files with one path below OUT, fail. */
static ko_status walk(koi_release *r, const char *const *inputs, size_t n) {
    if (!(r->fls = koi_calloc(n ? n : 1, sizeof *r->fls)))
        return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        ko_status st = ko_file_list_create(r->ctx, inputs[i], &r->ropts, &r->fls[i]);
        if (st) return st;
        r->n_fls = i + 1;
        size_t count = ko_file_list_count(r->fls[i]);
        if (!count)
            return koi_error(r->ctx, KO_ERR_NOT_FOUND,
                             "%s: nothing to release: no photo, .SRT or telemetry file in it "
                             "(choose files by name with an include pattern)",
                             inputs[i]);
        for (size_t k = 0; k < count; k++)
            if ((st = add_entry(r, r->fls[i], k, inputs[i]))) return st;
    }
    if (!(r->lines = koi_calloc(r->n ? r->n : 1, sizeof *r->lines)))
        return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    return clashes(r);
}

static char *reason_text(const koi_rel_entry *e, const ko_release_info *in) {
    koi_text t = {0};
    const char *parts[][2] = {{"keepout release held this file.\nsource: ", e->path},
                              {"\ndecision: ", ko_decision_str(in->decision)},
                              {"\nverdict: ", ko_verdict_str(in->verdict)},
                              {"\nrule: ", in->why},
                              {"\nreason: ", in->reason},
                              {"\nsites: ", in->site_names},
                              {"\nsite ids: ", in->site_ids},
                              {"\n", ""}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        koi_text_puts(&t, parts[i][0]);
        koi_text_puts(&t, parts[i][1] ? parts[i][1] : "");
    }
    if (!in->has_copy) koi_text_puts(&t, "no copy: the file could not be read or copied\n");
    if (t.failed) {
        free(t.s);
        return NULL;
    }
    return t.s;
}

/* Removes the temporary files a killed run may have left for path and its reason file: a
 * resumed run that holds the file would otherwise leave the copy of it in OUT (adversary
 * adv23 A5). */
static void unlink_tmps(koi_release *r, const char *path) {
    char *reason = koi_reason_path(path);
    (void)ko_file_discard_temp(r->ctx, path);
    if (reason) (void)ko_file_discard_temp(r->ctx, reason);
    free(reason);
}

/* Removes what an earlier run wrote for this file on the other side. */
static void unlink_other(koi_release *r, const koi_rel_entry *e, const ko_release_info *in,
                         int to_out) {
    char *p = koi_rel_join(to_out ? r->o->hold : r->o->out, e->rel);
    if (!p) return;
    unlink(p);
    if (to_out) {
        char *q = koi_reason_path(p);
        if (q) unlink(q);
        free(q);
    }
    char *slash = strrchr(p, '/');
    for (size_t i = 0; slash && i < in->n_companions; i++) {
        char *c = koi_malloc(strlen(p) + strlen(in->companions[i]) + 2);
        if (c) {
            sprintf(c, "%.*s/%s", (int)(slash - p), p, CPLGetFilename(in->companions[i]));
            unlink(c);
        }
        free(c);
    }
    free(p);
}

static void count(koi_release *r, ko_decision d) {
    if (d == KO_RELEASE)
        r->st.released++;
    else if (d == KO_REDACT)
        r->st.redacted++;
    else
        r->st.held++;
    if (d > r->st.worst) r->st.worst = d;
}

/* dst and its counterpart on the other side may be written: inside OUT and HOLD, and no file
 * there another source's (claims.c). */
static ko_status may_write(koi_release *r, const koi_rel_entry *e, const ko_release_info *in,
                           const char *dst, const char *other, const char *reason) {
    int to_out = in->decision != KO_REFUSE;
    int in_dst = koi_stays_in(to_out ? r->out_real : r->hold_real, dst),
        in_other = koi_stays_in(to_out ? r->hold_real : r->out_real, other);
    if (in_dst < 0 || in_other < 0) return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    if (!in_dst || !in_other)
        return koi_error(r->ctx, KO_ERR_IO,
                         "%s: a symbolic link inside %s or %s leads out of it: nothing is "
                         "written there",
                         e->rel, r->o->out, r->o->hold);
    return koi_release_claim(r, e, in, reason);
}

/* The held file's reason beside it. */
static ko_status write_reason(koi_release *r, const char *why, const char *dst) {
    char *rp = koi_reason_path(dst);
    ko_status st = rp ? ko_file_write_atomic(r->ctx, rp, why, strlen(why))
                      : koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    free(rp);
    return st;
}

/* Whether the source is as it was before it was read: a file changed while it was read is
 * recorded with what no later state matches, so the next run checks it again (adversary
 * B3). */
static int still(const koi_rel_entry *e, const VSIStatBufL *before, const ko_release_info *in) {
    VSIStatBufL after;
    return koi_release_stat(e->path, &after) == 0 && after.st_size == before->st_size &&
           after.st_ino == before->st_ino && after.st_mtim.tv_sec == before->st_mtim.tv_sec &&
           after.st_mtim.tv_nsec == before->st_mtim.tv_nsec &&
           (!in->has_copy || in->source_size == (int64_t)before->st_size);
}

/* Writes item it of entry k where its decision sends it, and records it. */
static ko_status write_one(koi_release *r, size_t k, ko_release_item *it,
                           const VSIStatBufL *before) {
    const koi_rel_entry *e = &r->e[k];
    ko_release_info in;
    in.size = sizeof in;
    ko_release_item_info(it, &in);
    int to_out = in.decision != KO_REFUSE;
    char *dst = koi_rel_join(to_out ? r->o->out : r->o->hold, e->rel);
    char *other = koi_rel_join(to_out ? r->o->hold : r->o->out, e->rel);
    char *why = to_out ? NULL : reason_text(e, &in);
    ko_status st = dst && other && (to_out || why)
                       ? may_write(r, e, &in, dst, other, why)
                       : koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    if (!st) {
        unlink_tmps(r, dst);
        unlink_tmps(r, other);
        unlink_other(r, e, &in, to_out);
        if (!to_out) st = write_reason(r, why, dst);
    }
    free(why);
    int64_t size = -1;
    if (!st && in.has_copy && !(st = ko_release_item_write(it, dst))) {
        struct stat sb;
        size = stat(dst, &sb) == 0 ? (int64_t)sb.st_size : -1;
    }
    if (!st) {
        int same = before && still(e, before, &in);
        r->lines[k] =
            koi_journal_record(r, e, &in, in.has_copy ? dst : NULL, size, same ? before : NULL);
        st = r->lines[k] ? koi_journal_append(r, k)
                         : koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    }
    if (!st) count(r, in.decision);
    free(dst);
    free(other);
    return st;
}

static void say_line(koi_release *r, size_t k) {
    if (r->o->record) r->o->record(KO_NOTE_INFO, r->lines[k], r->o->record_user);
}

/* One file: skipped if released before and unchanged since, else checked and written. */
static ko_status release_one(koi_release *r, size_t k) {
    koi_rel_entry *e = &r->e[k];
    koi_journal_line *old = koi_journal_recorded(r, e->key);
    ko_decision d;
    if (old && koi_journal_unchanged(r, e, old->line, &d)) {
        old->used = 1;
        if (!(r->lines[k] = koi_strdup(old->line)))
            return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
        r->st.skipped++;
        count(r, d);
        say_line(r, k);
        return KO_OK;
    }
    VSIStatBufL before;
    int stat_ok = koi_release_stat(e->path, &before) == 0;
    ko_release_item *it = NULL;
    ko_status st = ko_release_check(r->ctx, r->sites, e->fl, e->index, &r->rel, &it);
    if (st) { /* the store failed: the file named */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", ko_errmsg(r->ctx));
        return koi_error(r->ctx, st, "%s: %s", e->path, msg);
    }
    st = write_one(r, k, it, stat_ok ? &before : NULL);
    ko_release_item_destroy(it);
    if (!st) say_line(r, k);
    return st;
}

static int progress(koi_release *r, size_t done) {
    if (!r->o->progress) return 1;
    char msg[64];
    snprintf(msg, sizeof msg, "%zu/%zu files", done, r->n);
    return r->o->progress(r->n ? (double)done / (double)r->n : 1.0, msg, r->o->progress_user);
}

/* The store, the DEM and the options each file is checked with. */
static ko_status setup(koi_release *r) {
    double limit;
    ko_status st;
    if ((st = ko_sites_gsd_limit(r->sites, &limit)) ||
        (st = ko_sites_version(r->sites, &r->store_version)))
        return st;
    if (r->o->footprint)
        r->fopts = *r->o->footprint;
    else
        ko_footprint_options_init(&r->fopts);
    if (r->o->reader)
        r->ropts = *r->o->reader;
    else
        ko_reader_options_init(&r->ropts);
    r->fopts.gsd_limit_m = limit;
    r->ropts.below_takeoff = r->o->n_dem_paths > 0;
    if (r->o->n_dem_paths &&
        (st = ko_dem_open_list(r->ctx, r->o->dem_paths, r->o->n_dem_paths, &r->dem)))
        return st;
    r->fopts.dem = r->dem;
    ko_check_options_init(&r->copts);
    r->copts.footprint = &r->fopts;
    ko_release_policy_init(&r->policy);
    r->policy.mode = r->redact ? KO_MODE_REDACT : KO_MODE_STRICT;
    ko_release_options_init(&r->rel);
    r->rel.policy = &r->policy;
    r->rel.check = &r->copts;
    r->rel.reader = &r->ropts;
    r->rel.strip_location = r->strip;
    return koi_release_settings(r);
}

static ko_status check_args(ko_context *ctx, ko_sites *sites, const char *const *inputs, size_t n,
                            const ko_release_run_options *o) {
    ko_status st = KOI_CHECK_OPTIONS(ctx, ko_release_run_options, o);
    if (st) return st;
    if (!sites || !o->out || !o->hold || !*o->out || !*o->hold || (n && !inputs))
        return koi_error(ctx, KO_ERR_ARG,
                         "ko_release_run: a site store, OUT and HOLD directories are needed");
    if (!n) return koi_error(ctx, KO_ERR_ARG, "ko_release_run: no input given");
    if ((o->footprint && (st = KOI_CHECK_OPTIONS(ctx, ko_footprint_options, o->footprint))) ||
        (o->reader && (st = KOI_CHECK_OPTIONS(ctx, ko_reader_options, o->reader))))
        return st;
    return KO_OK;
}

static ko_status run(koi_release *r, const char *const *inputs, size_t n) {
    ko_status st;
    if ((st = koi_release_dirs(r, inputs, n))) return st;
    if (!r->o->manifest) {
        if (!(r->manifest_default = koi_rel_join(r->o->hold, KO_RELEASE_MANIFEST_NAME)))
            return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
        r->manifest = r->manifest_default;
    }
    if ((st = setup(r)) || (st = walk(r, inputs, n)) ||
        (st = ko_sites_prepare(r->sites, (double)r->n, NULL)) || (st = koi_journal_load(r)))
        return st;
    if (!progress(r, 0)) return koi_error(r->ctx, KO_ERR_CANCELLED, "release cancelled");
    for (size_t k = 0; k < r->n; k++) {
        if ((st = release_one(r, k))) return st;
        if (!progress(r, k + 1)) return koi_error(r->ctx, KO_ERR_CANCELLED, "release cancelled");
    }
    return koi_journal_compact(r);
}

ko_status ko_release_run(ko_context *ctx, ko_sites *sites, const char *const *inputs, size_t n,
                         const ko_release_run_options *opts, ko_release_stats *stats) {
    ko_release_run_options defaults;
    if (!opts) {
        ko_release_run_options_init(&defaults);
        opts = &defaults;
    }
    ko_status st = check_args(ctx, sites, inputs, n, opts);
    if (!st && stats) st = KOI_CHECK_OPTIONS(ctx, ko_release_stats, stats);
    if (st) return st;
    koi_release r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.sites = sites;
    r.o = opts;
    r.manifest = opts->manifest;
    r.redact = opts->redact != 0;
    r.strip = opts->strip_location != 0;
    r.jfd = r.out_fd = r.hold_fd = -1;
    ko_release_stats_init(&r.st);
    st = run(&r, inputs, n);
    if (!st && stats) *stats = r.st;
    koi_journal_free(&r);
    for (size_t i = 0; i < r.n; i++) {
        free(r.e[i].rel);
        free(r.e[i].key);
        if (r.lines) free(r.lines[i]);
    }
    free(r.e);
    free(r.lines);
    for (size_t i = 0; i < r.n_fls; i++)
        ko_file_list_destroy(r.fls[i]);
    free(r.fls);
    free(r.checked_with);
    free(r.out_real);
    free(r.hold_real);
    if (r.out_fd >= 0) close(r.out_fd); /* (the locks go with them) */
    if (r.hold_fd >= 0) close(r.hold_fd);
    free(r.manifest_default);
    ko_dem_close(r.dem);
    return st;
}
