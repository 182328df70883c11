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

/* Records the first cause of a failed recheck; returns 0. */
static int recheck_failed(koi_cat *c, const char *why) {
    if (!c->error[0]) snprintf(c->error, sizeof c->error, "%s", why);
    return 0;
}

int koi_cat_recheck(koi_cat *c, ko_context *ctx, ko_sites *sites, const ko_check_options *o,
                    const char *when, int64_t version, size_t *n_changed, size_t *n_total) {
    *n_changed = *n_total = 0;
    c->error[0] = '\0';
    /* Collect first: rows are rewritten below, and iterating a layer while writing it is not
     * portable across OGR drivers. */
    GIntBig *fids = NULL;
    size_t n = 0, cap = 0;
    OGR_L_ResetReading(c->fp);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(c->fp))) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            GIntBig *g = koi_realloc_array(fids, cap, sizeof *g);
            if (!g) {
                OGR_F_Destroy(f);
                free(fids);
                return recheck_failed(c, "out of memory");
            }
            fids = g;
        }
        fids[n++] = OGR_F_GetFID(f);
        OGR_F_Destroy(f);
    }
    /* One transaction, all of it or nothing: a failure anywhere (a row that cannot be read or
     * rewritten, the store, memory, the disk) rolls it all back, so a catalogue is never left
     * half rechecked (verdicts of two store versions, or flagged rows whose hits were
     * deleted). */
    int ok = koi_cat_begin(c) ? koi_cat_sql_ok(c, "DELETE FROM hits")
                              : recheck_failed(c, CPLGetLastErrorMsg());
    for (size_t i = 0; ok && i < n; i++) {
        CPLErrorReset();
        f = OGR_L_GetFeature(c->fp, fids[i]);
        if (!f) {
            ok = recheck_failed(c, CPLSPrintf("footprint row %lld cannot be read back: %s",
                                              (long long)fids[i], CPLGetLastErrorMsg()));
            break;
        }
        char *path = koi_strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "path")));
        char *id = koi_strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "shot_id")));
        char *old = koi_strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "verdict")));
        if (!path || !id || !old) ok = recheck_failed(c, "out of memory");
        (*n_total)++;
        ko_shot shot;
        if (ok) stored_shot(f, &shot, path, id);
        int unreadable = !OGR_F_GetGeometryRef(f); /* unknown when read: stays so */
        ko_result *res = NULL;
        if (ok && !unreadable && ko_check_shot(ctx, sites, &shot, o, &res) != KO_OK)
            ok = recheck_failed(c, CPLSPrintf("site store: %s", ko_errmsg(ctx)));
        if (ok && res) {
            koi_cat_shot s;
            ok = koi_cat_shot_fill(&s, &shot, res) || recheck_failed(c, "out of memory");
            if (ok) {
                const int *x = c->fp_ix;
                koi_cat_set_str(f, x[KOI_F_VERDICT], ko_verdict_str(s.verdict));
                koi_cat_set_str(f, x[KOI_F_REASON], s.reason);
                OGR_F_SetFieldInteger(f, x[KOI_F_HIT_COUNT], (int)s.n_hits);
                OGR_F_SetFieldString(f, x[KOI_F_SITE_IDS], s.site_ids ? s.site_ids : "");
                OGR_F_SetFieldString(f, x[KOI_F_CATEGORIES], s.categories ? s.categories : "");
                koi_cat_set_str(f, x[KOI_F_CHECKED_AT], when);
                OGR_F_SetFieldInteger64(f, x[KOI_F_STORE_VERSION], version);
                CPLErrorReset();
                ok = (OGR_L_SetFeature(c->fp, f) == OGRERR_NONE &&
                      koi_cat_write_hits(c, path, &s)) ||
                     recheck_failed(c, CPLGetLastErrorMsg());
                *n_changed += strcmp(old, ko_verdict_str(s.verdict)) != 0;
            }
            koi_cat_shot_free(&s);
        }
        ko_result_destroy(res);
        free(path), free(id), free(old);
        OGR_F_Destroy(f);
    }
    free(fids);
    /* files.verdict: the worst verdict of each file's shots again */
    ok = ok &&
         koi_cat_sql_ok(
             c,
             /* sum(CASE ...): PostgreSQL has no sum(boolean) */
             "UPDATE files SET verdict = (SELECT CASE WHEN sum(CASE WHEN verdict = 'unknown' "
             "THEN 1 ELSE 0 END) > 0 THEN 'unknown' WHEN sum(CASE WHEN verdict = 'flagged' "
             "THEN 1 ELSE 0 END) > 0 THEN 'flagged' ELSE 'clear' END FROM footprints WHERE "
             "footprints.path = files.path)") &&
         koi_cat_sql_ok(c, CPLSPrintf("UPDATE files SET store_version = %lld", (long long)version));
    if (!ok) {
        char why[sizeof c->error];
        snprintf(why, sizeof why, "%s", c->error);
        koi_cat_rollback(c);
        snprintf(c->error, sizeof c->error, "%s", why);
        return 0;
    }
    return koi_cat_commit(c);
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
    if (!ok)
        return koi_error(ctx, KO_ERR_IO,
                         "recheck of the catalogue %s failed, nothing of it was committed (the "
                         "catalogue is as it was): %s",
                         cat->name, cat->w.error[0] ? cat->w.error : "unknown cause");
    if (!koi_cat_stats_counts(cat, &t)) return KO_ERR_IO;
    if (stats) *stats = t;
    return KO_OK;
}
