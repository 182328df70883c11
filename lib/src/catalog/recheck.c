/* A recheck: every stored footprint checked again against the store, from the pose and camera
 * of its row, without reading the images. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "sites/sites.h"

static double get_num(OGRFeatureH f, const char *name) {
    int i = OGR_F_GetFieldIndex(f, name);
    return i >= 0 && OGR_F_IsFieldSetAndNotNull(f, i) ? OGR_F_GetFieldAsDouble(f, i) : NAN;
}

/* The shot as stored: pose and camera come back from their columns. */
static void stored_shot(OGRFeatureH f, ko_shot *shot, const char *path, const char *id) {
    memset(shot, 0, sizeof *shot);
    ko_pose_init(&shot->pose);
    ko_camera_init(&shot->camera);
    shot->source = path;
    shot->id = id;
    ko_pose *p = &shot->pose;
    ko_camera *k = &shot->camera;
    p->lat = get_num(f, "lat"), p->lon = get_num(f, "lon"), p->height_m = get_num(f, "height");
    p->yaw_deg = get_num(f, "yaw"), p->pitch_deg = get_num(f, "pitch");
    p->roll_deg = get_num(f, "roll");
    p->alt_msl_m = get_num(f, "alt_msl"), p->alt_ellps_m = get_num(f, "alt_ellipsoid");
    p->takeoff_lat = get_num(f, "takeoff_lat"), p->takeoff_lon = get_num(f, "takeoff_lon");
    k->focal_mm = get_num(f, "focal_mm"), k->sensor_w_mm = get_num(f, "sensor_w_mm");
    k->sensor_h_mm = get_num(f, "sensor_h_mm");
    double w = get_num(f, "width_px"), h = get_num(f, "height_px");
    k->width_px = isfinite(w) ? (uint32_t)w : 0, k->height_px = isfinite(h) ? (uint32_t)h : 0;
    k->cx_px = get_num(f, "cx_px"), k->cy_px = get_num(f, "cy_px");
    double *d[5] = {&k->k1, &k->k2, &k->k3, &k->p1, &k->p2};
    const char *dn[5] = {"k1", "k2", "k3", "p1", "p2"};
    for (int i = 0; i < 5; i++)
        *d[i] = isfinite(get_num(f, dn[i])) ? get_num(f, dn[i]) : 0.0;
}

static void set_or_null(OGRFeatureH f, int i, const char *v) {
    if (v)
        OGR_F_SetFieldString(f, i, v);
    else
        OGR_F_SetFieldNull(f, i);
}

/* Records the first cause of a failed recheck; returns 0. */
static int recheck_failed(koi_cat *c, const char *why) {
    if (!c->error[0]) snprintf(c->error, sizeof c->error, "%s", why);
    return 0;
}

/* A row rewritten: its file and what the check found (its hits are written once the batch's
 * rows are). */
typedef struct rewritten {
    char *path;
    koi_cat_shot s;
} rewritten;

/* One batch: the ids of at most KOI_CAT_RECHECK_BATCH rows and the rows rewritten. */
typedef struct batch {
    GIntBig *fids;
    size_t n;
    rewritten *rows;
    size_t n_rows;
} batch;

static void batch_clear(batch *b) {
    for (size_t i = 0; i < b->n_rows; i++) {
        free(b->rows[i].path);
        koi_cat_shot_free(&b->rows[i].s);
    }
    b->n = b->n_rows = 0;
}

static int take_fid(OGRFeatureH f, void *user) {
    batch *b = user;
    b->fids[b->n++] = OGR_F_GetFieldAsInteger64(f, 0);
    return 1;
}

/* Text as an SQL string literal (quotes doubled). */
static void put_literal(koi_text *t, const char *v) {
    koi_text_puts(t, "'");
    for (const char *q; (q = strchr(v, '\'')); v = q + 1) {
        koi_text_put(t, v, (size_t)(q - v + 1));
        koi_text_puts(t, "'");
    }
    koi_text_puts(t, v);
    koi_text_puts(t, "'");
}

/* Checks one stored row again and rewrites its verdict columns as a tag run writes them; what
 * the check found goes into the batch for the hits. A row gone since its id was read
 * (PostgreSQL: its file written again meanwhile by another process, which checked it) is
 * left out. */
static int recheck_row(koi_cat *c, ko_context *ctx, ko_sites *sites, const ko_check_options *o,
                       const char *when, int64_t version, GIntBig fid, batch *b, size_t *changed) {
    CPLErrorReset();
    OGRFeatureH f = OGR_L_GetFeature(c->fp, fid);
    if (!f)
        return CPLGetLastErrorType() < CE_Failure ||
               recheck_failed(c, CPLSPrintf("footprint row %lld cannot be read back: %s",
                                            (long long)fid, CPLGetLastErrorMsg()));
    rewritten *r = &b->rows[b->n_rows];
    memset(r, 0, sizeof *r);
    char *id = koi_strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "shot_id")));
    char *old = koi_strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "verdict")));
    r->path = koi_strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "path")));
    int ok = (r->path && id && old) || recheck_failed(c, "out of memory");
    ko_shot shot;
    if (ok) stored_shot(f, &shot, r->path, id);
    int unreadable = !OGR_F_GetGeometryRef(f); /* unknown when read: stays so */
    ko_result *res = NULL;
    if (ok && !unreadable && ko_check_shot(ctx, sites, &shot, o, &res) != KO_OK)
        ok = recheck_failed(c, CPLSPrintf("site store: %s", ko_errmsg(ctx)));
    if (ok && res) {
        koi_cat_shot *s = &r->s;
        b->n_rows++; /* the batch frees it from here on */
        ok = koi_cat_shot_fill(s, &shot, res) || recheck_failed(c, "out of memory");
        if (ok) {
            const int *x = c->fp_ix;
            koi_cat_set_str(f, x[KOI_F_VERDICT], ko_verdict_str(s->verdict));
            koi_cat_set_str(f, x[KOI_F_REASON], s->reason);
            OGR_F_SetFieldInteger(f, x[KOI_F_HIT_COUNT], (int)s->n_hits);
            /* none: NULL, as tag writes them (null, not unset: an unset field is not
             * rewritten) */
            set_or_null(f, x[KOI_F_SITE_IDS], s->site_ids);
            set_or_null(f, x[KOI_F_CATEGORIES], s->categories);
            koi_cat_set_time(f, x[KOI_F_CHECKED_AT], when);
            OGR_F_SetFieldInteger64(f, x[KOI_F_STORE_VERSION], version);
            CPLErrorReset();
            ok = OGR_L_SetFeature(c->fp, f) == OGRERR_NONE ||
                 recheck_failed(
                     c, CPLSPrintf("footprint row %lld: %s", (long long)fid, CPLGetLastErrorMsg()));
            *changed += strcmp(old, ko_verdict_str(s->verdict)) != 0;
        }
    } else {
        free(r->path);
    }
    ko_result_destroy(res);
    free(id), free(old);
    OGR_F_Destroy(f);
    return ok;
}

/* Statements over many rows are cut at this length (SQLite's limit is 1,000,000 bytes). */
#define SQL_CUT 200000

/* Runs head + the items of the batch's rewritten rows, joined by ", ", + tail, in statements
 * of at most ~SQL_CUT bytes. item(t, r, prev) appends one row's item, or nothing (prev: the
 * row before, or NULL). */
static int run_over_rows(koi_cat *c, const batch *b, const char *head, const char *tail,
                         int (*item)(koi_text *t, const rewritten *r, const rewritten *prev)) {
    koi_text t = {0};
    int ok = 1, n = 0;
    for (size_t i = 0; ok && i <= b->n_rows; i++) {
        if (i < b->n_rows) {
            size_t len = t.len;
            if (!n)
                koi_text_puts(&t, head);
            else
                koi_text_puts(&t, ", ");
            if (item(&t, &b->rows[i], i ? &b->rows[i - 1] : NULL)) {
                n++;
            } else if (t.s) { /* nothing for this row */
                t.len = len;
                t.s[len] = '\0';
            }
        }
        if (n && (i == b->n_rows || t.len >= SQL_CUT)) {
            koi_text_puts(&t, tail);
            ok = t.failed ? recheck_failed(c, "out of memory") : koi_cat_sql_ok(c, t.s);
            t.len = 0, n = 0;
        }
    }
    free(t.s);
    return ok;
}

static int shot_key(koi_text *t, const rewritten *r, const rewritten *prev) {
    (void)prev;
    koi_text_puts(t, "(");
    put_literal(t, r->path);
    koi_text_puts(t, ", ");
    put_literal(t, r->s.id);
    koi_text_puts(t, ")");
    return 1;
}

/* Each file once where its rows are next to each other (a file's rows mostly are). */
static int file_path(koi_text *t, const rewritten *r, const rewritten *prev) {
    if (prev && !strcmp(prev->path, r->path)) return 0;
    put_literal(t, r->path);
    return 1;
}

/* The rows after key `after` (by fid): their ids read; each row checked and rewritten; then,
 * in a few statements, their old hits deleted, their new hits written and the verdicts of
 * their files made again. (GDAL's GeoPackage driver rewrites a layer's feature-count
 * triggers around every SQL statement between two rows it writes: statements go between
 * the rows, not after each.) */
static int recheck_batch(koi_cat *c, ko_context *ctx, ko_sites *sites, const ko_check_options *o,
                         const char *when, int64_t version, GIntBig after, batch *b,
                         size_t *changed) {
    batch_clear(b);
    /* fid + 0: an expression, which neither driver takes for the result's own FID */
    int ok = koi_cat_sql_each(c,
                              CPLSPrintf("SELECT fid + 0 AS ko_fid FROM footprints WHERE fid > "
                                         "%lld ORDER BY fid LIMIT %d",
                                         (long long)after, KOI_CAT_RECHECK_BATCH),
                              take_fid, b);
    for (size_t i = 0; ok && i < b->n; i++)
        ok = recheck_row(c, ctx, sites, o, when, version, b->fids[i], b, changed);
    ok = ok &&
         run_over_rows(c, b, "DELETE FROM hits WHERE (path, shot_id) IN (VALUES ", ")", shot_key);
    for (size_t i = 0; ok && i < b->n_rows; i++) {
        CPLErrorReset();
        ok = koi_cat_write_hits(c, b->rows[i].path, &b->rows[i].s) ||
             recheck_failed(
                 c, CPLSPrintf("the hits of %s: %s", b->rows[i].path, CPLGetLastErrorMsg()));
    }
    /* files.verdict: the worst of each file's shots again (a file whose rows span two batches
     * is done again with the second). sum(CASE ...): PostgreSQL has no sum(boolean). */
    char *head = koi_strdup(CPLSPrintf(
        "UPDATE files SET verdict = (SELECT CASE WHEN sum(CASE WHEN verdict = 'unknown' THEN 1 "
        "ELSE 0 END) > 0 THEN 'unknown' WHEN sum(CASE WHEN verdict = 'flagged' THEN 1 ELSE 0 "
        "END) > 0 THEN 'flagged' ELSE 'clear' END FROM footprints WHERE footprints.path = "
        "files.path), store_version = %lld WHERE path IN (",
        (long long)version));
    ok = ok && (head || recheck_failed(c, "out of memory")) &&
         run_over_rows(c, b, head, ")", file_path);
    free(head);
    return ok;
}

int koi_cat_recheck(koi_cat *c, ko_context *ctx, ko_sites *sites, const ko_check_options *o,
                    const char *when, int64_t version, size_t *n_changed, size_t *n_total) {
    *n_changed = *n_total = 0;
    c->error[0] = '\0';
    /* Keyset pagination by fid: the ids of a batch of rows are read, the rows checked,
     * rewritten and committed, then the next batch, so that memory holds one batch however
     * many rows (shards) the catalogue has. Each batch is one transaction (its rows, their
     * hits and their files' verdicts in step); a failure rolls back that batch alone, the
     * ones before it stay committed. */
    batch b = {koi_calloc(KOI_CAT_RECHECK_BATCH, sizeof(GIntBig)), 0,
               koi_calloc(KOI_CAT_RECHECK_BATCH, sizeof(rewritten)), 0};
    GIntBig after = -1;
    int ok = (b.fids && b.rows) || recheck_failed(c, "out of memory"), tries = 0;
    while (ok) {
        size_t changed = 0;
        ok = koi_cat_begin(c) || recheck_failed(c, CPLGetLastErrorMsg());
        ok = ok && recheck_batch(c, ctx, sites, o, when, version, after, &b, &changed);
        if (ok && koi_cat_commit(c)) {
            if (!b.n) break; /* the end */
            *n_changed += changed;
            *n_total += b.n;
            after = b.fids[b.n - 1];
            tries = 0;
            continue;
        }
        /* a deadlock or serialization failure (another process writing the same rows): the
         * batch again, after the other transaction */
        ok = 0;
        char why[sizeof c->error];
        snprintf(why, sizeof why, "%s", c->error);
        koi_cat_rollback(c);
        snprintf(c->error, sizeof c->error, "%s", why);
        if (koi_cat_retryable(c) && tries < KOI_CAT_RETRIES) {
            c->failed = 0, c->error[0] = '\0';
            koi_cat_retry_pause(++tries);
            ok = 1;
        }
    }
    batch_clear(&b);
    free(b.fids);
    free(b.rows);
    return ok;
}

ko_status ko_catalog_recheck(ko_catalog *cat, ko_sites *sites, ko_catalog_stats *stats) {
    if (!cat) return KO_ERR_ARG;
    ko_context *ctx = cat->ctx;
    if (!sites) return koi_error(ctx, KO_ERR_ARG, "ko_catalog_recheck: NULL argument");
    if (sites->ctx != ctx)
        return koi_error(ctx, KO_ERR_ARG,
                         "ko_catalog_recheck: the site store belongs to another context");
    ko_status st;
    if (stats && (st = KOI_CHECK_OPTIONS(ctx, ko_catalog_stats, stats))) return st;
    const ko_catalog_options *o = &cat->opts;
    char why[KOI_ERRMSG_MAX];
    int64_t version = 0;
    double limit;
    if ((st = ko_sites_version(sites, &version)) || (st = ko_sites_gsd_limit(sites, &limit)) ||
        (st = ko_sites_load_index(sites))) {
        snprintf(why, sizeof why, "%s", ko_errmsg(ctx));
        return koi_error(ctx, st, "site store: %s", why);
    }
    ko_footprint_options fopts;
    if (o->footprint)
        fopts = *o->footprint;
    else
        ko_footprint_options_init(&fopts);
    fopts.gsd_limit_m = limit;
    fopts.dem = NULL; /* the stored poses keep their absolute altitude and take-off */
    if (o->n_dem_paths &&
        (st = ko_dem_open_list(ctx, o->dem_paths, o->n_dem_paths, &fopts.dem)) != KO_OK) {
        snprintf(why, sizeof why, "%s", ko_errmsg(ctx));
        return koi_error(ctx, st, "terrain: %s", why);
    }
    ko_check_options copts;
    ko_check_options_init(&copts);
    copts.footprint = &fopts;
    char when[32];
    koi_cat_utc_now(when, sizeof when);
    ko_catalog_stats t;
    ko_catalog_stats_init(&t);
    t.store_version = version;
    int ok = koi_cat_recheck(&cat->w, ctx, sites, &copts, when, version, &t.changed, &t.rechecked);
    ko_dem_close(fopts.dem);
    const char *cause = cat->w.error[0] ? cat->w.error : "unknown cause";
    if (!ok && !t.rechecked)
        return koi_error(ctx, KO_ERR_IO,
                         "recheck of the catalogue %s failed, nothing of it was committed (the "
                         "catalogue is as it was): %s",
                         cat->name, cause);
    if (!ok)
        return koi_error(ctx, KO_ERR_IO,
                         "recheck of the catalogue %s failed after %zu rows (%zu changed "
                         "verdict), committed in batches of %d with their hits and their files' "
                         "verdicts; the rows after them are as they were (their store_version "
                         "says so), a new recheck does them all again: %s",
                         cat->name, t.rechecked, t.changed, KOI_CAT_RECHECK_BATCH, cause);
    if (!koi_cat_stats_counts(cat, &t)) return KO_ERR_IO;
    if (stats) *stats = t;
    return KO_OK;
}
