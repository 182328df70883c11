/* Imports sites into the store: any OGR vector source, OSM XML/PBF with keepout's preset,
 * ED-269 (UASZoneList) and ED-318 (GeoJSON) UAS geographical zones. One transaction per
 * import; every feature read is counted as imported, updated, rejected or skipped. */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <json-c/json.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "sites/sites.h"

#ifndef KEEPOUT_DATA_DIR
#define KEEPOUT_DATA_DIR "data"
#endif

#define MESSAGES_MAX (1u << 20)
#define ZONE_FILE_MAX ((GIntBig)256 * 1024 * 1024)

typedef struct imp {
    ko_sites *s;
    ko_context *ctx;
    const ko_import_options *o;
    ko_import_report *r;
    const char *source;
    size_t msg_len, msg_cap;
    int msg_full;
    sqlite3_stmt *sel, *ins, *upd;
    GEOSWKBWriter *wkbw;
    long long version;    /* the store version this import creates */
    char where[128];      /* "row 17", "way/123", "zone LSXX": the feature being handled */
    int osm_plain_index;  /* read OSM with GDAL's plain (SQLite) node index: any id order */
    int osm_read_failed;  /* an OSM read failed with GDAL's fast index: retry with the plain */
    int osm;              /* the source was read by GDAL's OSM driver (with the preset filter) */
    koi_osm_table preset; /* the OSM preset: the caller's rows, then the built-in ones */
} imp;

/* The next feature of ds (layer NULL) or of layer; a GDAL error while reading is the
 * import's error, with GDAL's message (a source read in part must not pass for complete). */
static ko_status next_feature(imp *im, const char *path, GDALDatasetH ds, OGRLayerH *layer,
                              double *pct, OGRFeatureH *out) {
    CPLErrorReset();
    *out =
        ds ? GDALDatasetGetNextFeature(ds, layer, pct, NULL, NULL) : OGR_L_GetNextFeature(*layer);
    CPLErr e = CPLGetLastErrorType();
    if (e != CE_Failure && e != CE_Fatal) return KO_OK;
    if (*out) OGR_F_Destroy(*out);
    *out = NULL;
    return koi_error(im->ctx, KO_ERR_FORMAT, "%s: reading %s: %s", path,
                     *layer ? OGR_L_GetName(*layer) : "the source", CPLGetLastErrorMsg());
}

void ko_import_options_init(ko_import_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->buffer_m = NAN;
}

void ko_import_report_clear(ko_import_report *r) {
    if (!r) return;
    free(r->messages);
    memset(r, 0, sizeof *r);
}

/* Appends "<where>: <text>\n" to the report, up to MESSAGES_MAX bytes. */
static void note(imp *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(imp *im, const char *fmt, ...) {
    if (im->msg_full) return;
    char line[512];
    int k = snprintf(line, sizeof line, "%s: ", im->where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    const char *more = "... more messages not kept\n";
    if (im->msg_len + n + 2 + strlen(more) > MESSAGES_MAX) {
        line[0] = '\0';
        n = 0;
        im->msg_full = 1;
    }
    size_t need = im->msg_len + n + 2 + (im->msg_full ? strlen(more) : 0);
    if (need > im->msg_cap) {
        size_t cap = im->msg_cap ? im->msg_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *m = koi_realloc_array(im->r->messages, cap, 1);
        if (!m) {
            im->msg_full = 1;
            return;
        }
        im->r->messages = m;
        im->msg_cap = cap;
    }
    memcpy(im->r->messages + im->msg_len, line, n);
    im->msg_len += n;
    if (n) im->r->messages[im->msg_len++] = '\n';
    if (im->msg_full) {
        memcpy(im->r->messages + im->msg_len, more, strlen(more));
        im->msg_len += strlen(more);
    }
    im->r->messages[im->msg_len] = '\0';
}

static ko_status reject(imp *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ko_status reject(imp *im, const char *fmt, ...) {
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    note(im, "rejected: %s", buf);
    im->r->rejected++;
    return KO_OK;
}

/* Checks that every coordinate is a longitude/latitude; writes why not. */
typedef struct bounds_check {
    char why[128];
} bounds_check;

static int check_xy(double *x, double *y, void *user) {
    bounds_check *b = user;
    if (b->why[0]) return 1;
    if (!isfinite(*x) || !isfinite(*y))
        snprintf(b->why, sizeof b->why, "coordinate is not a number");
    else if (*y < -90 || *y > 90)
        snprintf(b->why, sizeof b->why, "latitude %.10g outside [-90,90]", *y);
    else if (*x < -360 || *x > 360) /* past +-180: a site across the antimeridian, or 0..360 */
        snprintf(b->why, sizeof b->why, "longitude %.10g outside [-360,360]", *x);
    return 1;
}

static ko_status db_fail(imp *im, const char *what) {
    return koi_error(im->ctx, KO_ERR_DB, "site store: %s: %s", what, sqlite3_errmsg(im->s->db));
}

/* Stores one site. g is taken over (destroyed here). buffer_m: NaN = category default.
 * Problems with the feature are counted and noted; only store failures are errors. */
static ko_status put_site(imp *im, const char *source_id, const char *name, const char *category,
                          double buffer_m, json_object *attrs, GEOSGeometry *g) {
    ko_context *ctx = im->ctx;
    GEOSContextHandle_t h = ctx->geos;
    GEOSGeometry *buf = NULL;
    unsigned char *wkb = NULL, *wkb_buf = NULL;
    ko_status st = KO_OK;
    if (!g) return reject(im, "no geometry");
    if (GEOSisEmpty_r(h, g) == 1) {
        st = reject(im, "empty geometry");
        goto done;
    }
    bounds_check bc = {{0}};
    GEOSGeometry *tmp = GEOSGeom_transformXY_r(h, g, check_xy, &bc);
    if (tmp) GEOSGeom_destroy_r(h, tmp);
    if (bc.why[0]) {
        st = reject(im, "%s", bc.why);
        goto done;
    }
    /* Across the antimeridian: one shape with continuous longitudes (a ring jumping from
     * +179.9 to -179.9 is not a band round the globe), cut at +-180 once buffered. */
    GEOSGeometry *whole = NULL;
    if ((st = koi_geom_unwrap(ctx, g, &whole))) goto done;
    GEOSGeom_destroy_r(h, g);
    g = whole;
    if (GEOSisValid_r(h, g) != 1) {
        char *reason = GEOSisValidReason_r(h, g);
        GEOSGeometry *fixed = GEOSMakeValid_r(h, g);
        if (!fixed || GEOSisEmpty_r(h, fixed) == 1 || GEOSisValid_r(h, fixed) != 1) {
            if (fixed) GEOSGeom_destroy_r(h, fixed);
            st = reject(im, "invalid geometry that cannot be repaired (%s)", reason ? reason : "?");
            GEOSFree_r(h, reason);
            goto done;
        }
        note(im, "repaired invalid geometry (%s)", reason ? reason : "?");
        GEOSFree_r(h, reason);
        GEOSGeom_destroy_r(h, g);
        g = fixed;
        im->r->repaired++;
    }
    double cat_buffer, min_gsd;
    if ((st = koi_sites_category(im->s, category, &cat_buffer, &min_gsd))) goto done;
    if (!isnan(im->o->buffer_m)) buffer_m = im->o->buffer_m;
    if (isnan(buffer_m)) buffer_m = cat_buffer;
    if ((st = koi_buffer_metric(ctx, g, buffer_m, &buf))) {
        /* A geometry PROJ cannot handle (e.g. spanning half the globe) is this feature's
         * problem, not the import's. */
        st = reject(im, "cannot buffer: %s", ko_errmsg(ctx));
        goto done;
    }
    GEOSGeometry *cut_g = NULL, *cut_buf = NULL;
    if ((st = koi_geom_wrap(ctx, g, &cut_g)) || (st = koi_geom_wrap(ctx, buf, &cut_buf))) {
        if (cut_g) GEOSGeom_destroy_r(h, cut_g);
        st = st == KO_ERR_ARG ? reject(im, "%s", ko_errmsg(ctx)) : st;
        goto done;
    }
    GEOSGeom_destroy_r(h, g);
    GEOSGeom_destroy_r(h, buf);
    g = cut_g, buf = cut_buf;
    size_t nw = 0, nb = 0;
    wkb = GEOSWKBWriter_write_r(h, im->wkbw, g, &nw);
    wkb_buf = GEOSWKBWriter_write_r(h, im->wkbw, buf, &nb);
    if (!wkb || !wkb_buf) {
        st = koi_error(ctx, KO_ERR_GEOS, "GEOS: cannot write WKB (%s)", ctx->geos_msg);
        goto done;
    }
    const char *attr_txt = attrs
                               ? json_object_to_json_string_ext(
                                     attrs, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                               : "{}";
    /* A source_id met twice in one import (duplicate identifiers in the source) gets a
     * suffix: both features are kept, and the note says so. */
    char sid[160];
    snprintf(sid, sizeof sid, "%s", source_id);
    int rc;
    for (int dup = 2;; dup++) {
        sqlite3_reset(im->sel);
        sqlite3_bind_text(im->sel, 1, im->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(im->sel, 2, sid, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(im->sel);
        if (rc != SQLITE_ROW || sqlite3_column_int64(im->sel, 1) != im->version) break;
        snprintf(sid, sizeof sid, "%.100s#%d", source_id, dup);
        if (dup == 2)
            note(im, "duplicate identifier %s in the source: stored as %s", source_id, sid);
    }
    source_id = sid;
    sqlite3_stmt *w;
    if (rc == SQLITE_ROW) {
        w = im->upd;
        sqlite3_reset(w);
        sqlite3_bind_int64(w, 10, sqlite3_column_int64(im->sel, 0));
    } else if (rc == SQLITE_DONE) {
        w = im->ins;
        sqlite3_reset(w);
    } else {
        st = db_fail(im, "looking up a site");
        goto done;
    }
    sqlite3_bind_text(w, 1, im->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(w, 2, source_id, -1, SQLITE_TRANSIENT);
    if (name && *name)
        sqlite3_bind_text(w, 3, name, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(w, 3);
    sqlite3_bind_text(w, 4, category, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(w, 5, buffer_m);
    sqlite3_bind_double(w, 6, min_gsd);
    sqlite3_bind_text(w, 7, attr_txt ? attr_txt : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(w, 8, wkb, (int)nw, SQLITE_STATIC);
    sqlite3_bind_blob(w, 9, wkb_buf, (int)nb, SQLITE_STATIC);
    sqlite3_bind_int64(w, 11, im->version);
    if (sqlite3_step(w) != SQLITE_DONE) {
        st = db_fail(im, "writing a site");
        goto done;
    }
    if (w == im->upd)
        im->r->updated++;
    else
        im->r->imported++;
done:
    if (im->sel) sqlite3_reset(im->sel);
    GEOSFree_r(h, wkb);
    GEOSFree_r(h, wkb_buf);
    if (buf) GEOSGeom_destroy_r(h, buf);
    if (g) GEOSGeom_destroy_r(h, g);
    return st;
}

static int progress(imp *im, double f, const char *msg) {
    if (!im->o->progress) return 1;
    if (f < 0) f = 0;
    if (f > 1) f = 1;
    return im->o->progress(f, msg, im->o->progress_user);
}

/* ---------------------------------------------------------------- OGR sources ------------ */

static int is_osm_layer(const char *name) {
    static const char *const names[] = {"points", "lines", "multipolygons", "multilinestrings",
                                        "other_relations"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i])) return 1;
    return 0;
}

static const char *field_str(OGRFeatureH f, const char *name) {
    int i = OGR_F_GetFieldIndex(f, name);
    if (i < 0 || !OGR_F_IsFieldSetAndNotNull(f, i)) return NULL;
    const char *v = OGR_F_GetFieldAsString(f, i);
    return v && *v ? v : NULL;
}

/* A tag of the OSM feature being classified (koi_osm_tag_fn): its field if the layer has one
 * for the key, else from the other_tags field ("key"=>"value","k2"=>"v2", '"' and '\' escaped
 * with '\'). */
typedef struct osm_tags {
    OGRFeatureH f;
    char *buf; /* the value handed back, unescaped */
    size_t cap;
    int nomem;
} osm_tags;

/* Reads one "..." token of an hstore text at *p into out (unescaped); 0 if malformed. */
static int hstore_token(const char **p, char *out) {
    const char *s = *p;
    if (*s++ != '"') return 0;
    while (*s && *s != '"') {
        if (*s == '\\' && s[1]) s++;
        *out++ = *s++;
    }
    if (*s != '"') return 0;
    *out = '\0';
    *p = s + 1;
    return 1;
}

static const char *osm_tag(void *user, const char *key) {
    osm_tags *t = user;
    if (OGR_F_GetFieldIndex(t->f, key) >= 0) return field_str(t->f, key);
    const char *h = field_str(t->f, "other_tags");
    if (!h) return NULL;
    size_t need = strlen(h) + 1;
    if (need > t->cap) {
        char *nb = koi_realloc_array(t->buf, need, 1);
        if (!nb) {
            t->nomem = 1;
            return NULL;
        }
        t->buf = nb;
        t->cap = need;
    }
    for (const char *p = h; *p;) {
        if (!hstore_token(&p, t->buf)) return NULL;
        int match = !strcmp(t->buf, key);
        if (strncmp(p, "=>", 2) != 0) return NULL;
        p += 2;
        if (!hstore_token(&p, t->buf)) return NULL;
        if (match) return t->buf[0] ? t->buf : NULL;
        if (*p == ',') p++;
    }
    return NULL;
}

/* The OSM object kind of a feature of an OSM layer. */
static unsigned osm_kind(const char *layer, OGRFeatureH f) {
    if (!strcmp(layer, "points")) return KOI_OSM_NODE;
    if (!strcmp(layer, "lines")) return KOI_OSM_WAY;
    if (!strcmp(layer, "multipolygons") && f && field_str(f, "osm_way_id")) return KOI_OSM_WAY;
    if (!strcmp(layer, "multipolygons") && !f) return KOI_OSM_WAY | KOI_OSM_RELATION;
    return KOI_OSM_RELATION;
}

/* The preset table's rows: the caller's file (each row's category must be in the store), then
 * keepout's built-in table. */
static ko_status load_preset(imp *im) {
    if (im->preset.n) return KO_OK;
    ko_status st = KO_OK;
    if (im->o->preset_file) {
        if ((st = koi_osm_table_load(im->ctx, im->o->preset_file, &im->preset))) return st;
        for (size_t i = 0; i < im->preset.n; i++) {
            const koi_osm_rule *r = &im->preset.rules[i];
            double b, g;
            if (r->category && koi_sites_category(im->s, r->category, &b, &g) != KO_OK)
                return koi_error(im->ctx, KO_ERR_FORMAT,
                                 "%s:%d: category '%s' is not in the store's categories table",
                                 r->file, r->line, r->category);
        }
    }
    return koi_osm_table_builtin(im->ctx, &im->preset);
}

static int layer_has_field(void *user, const char *key) {
    return OGR_FD_GetFieldIndex((OGRFeatureDefnH)user, key) >= 0;
}

/* The preset's selection as an OGR filter on each OSM layer, from the fields the layer has (a
 * caller's osmconf.ini may report fewer keys than keepout's, a caller's table other keys). */
static ko_status set_osm_filters(imp *im, GDALDatasetH ds, const char *where) {
    for (int i = 0; i < GDALDatasetGetLayerCount(ds); i++) {
        OGRLayerH l = GDALDatasetGetLayer(ds, i);
        const char *n = OGR_L_GetName(l);
        if (!is_osm_layer(n)) continue;
        OGRFeatureDefnH d = OGR_L_GetLayerDefn(l);
        char *filt = NULL;
        ko_status st =
            koi_osm_table_filter(im->ctx, &im->preset, osm_kind(n, NULL), layer_has_field, d,
                                 OGR_FD_GetFieldIndex(d, "other_tags") >= 0, &filt);
        if (st) return st;
        char *f = where ? CPLStrdup(CPLSPrintf("(%s) AND (%s)", filt, where)) : CPLStrdup(filt);
        free(filt);
        OGRErr e = OGR_L_SetAttributeFilter(l, f);
        CPLFree(f);
        if (e != OGRERR_NONE)
            return koi_error(im->ctx, KO_ERR_ARG, "bad attribute filter on layer %s: %s", n,
                             CPLGetLastErrorMsg());
    }
    return KO_OK;
}

/* GDAL's OSM driver drops the objects it cannot build from the file (a way with fewer than two
 * of its nodes in it, a multipolygon relation with a way missing), and builds a way from the
 * nodes it has, saying so only in debug messages (category OSM, enabled for the read): they
 * become report lines, the dropped objects counted as unbuilt. Installed with
 * CPLPushErrorHandlerEx(osm_debug_handler, im); every other message is left to the last error
 * (quiet). */
static void osm_debug_handler(CPLErr cls, CPLErrorNum num, const char *msg) {
    (void)num;
    imp *im = CPLGetErrorHandlerUserData();
    if (cls != CE_Debug || !im || !msg) return;
    if (!strncmp(msg, "OSM: ", 5)) msg += 5;
    char saved[sizeof im->where];
    memcpy(saved, im->where, sizeof saved);
    long long id;
    int got, want;
    if (sscanf(msg, "Relation %lld", &id) == 1 && strstr(msg, " has missing ways")) {
        snprintf(im->where, sizeof im->where, "relation/%lld", id);
        im->r->unbuilt++;
        note(im,
             "not read: a multipolygon with ways missing from the file, which GDAL cannot "
             "build (if it is a facility, it is not protected)");
    } else if (sscanf(msg, "Way %lld with %d", &id, &got) == 2 &&
               strstr(msg, " nodes that could be found")) {
        snprintf(im->where, sizeof im->where, "way/%lld", id);
        im->r->unbuilt++;
        note(im,
             "not read: %d of its nodes in the file, too few for GDAL to build it (if it is a "
             "facility, it is not protected)",
             got);
    } else if (sscanf(msg, "For way %lld, got only %d nodes instead of %d", &id, &got, &want) ==
               3) {
        snprintf(im->where, sizeof im->where, "way/%lld", id);
        note(im, "built from the %d of its %d nodes that are in the file", got, want);
    }
    memcpy(im->where, saved, sizeof saved);
}

static json_object *feature_attrs(OGRFeatureH f, int skip_geom_like) {
    json_object *a = json_object_new_object();
    if (!a) return NULL;
    OGRFeatureDefnH d = OGR_F_GetDefnRef(f);
    for (int i = 0; i < OGR_FD_GetFieldCount(d); i++) {
        if (!OGR_F_IsFieldSetAndNotNull(f, i)) continue;
        OGRFieldDefnH fd = OGR_FD_GetFieldDefn(d, i);
        const char *n = OGR_Fld_GetNameRef(fd);
        if (skip_geom_like &&
            (!strcasecmp(n, "WKT") || !strcasecmp(n, "latitude") || !strcasecmp(n, "longitude")))
            continue;
        json_object *v;
        switch (OGR_Fld_GetType(fd)) {
            case OFTInteger:
            case OFTInteger64:
                v = json_object_new_int64(OGR_F_GetFieldAsInteger64(f, i));
                break;
            case OFTReal:
                v = json_object_new_double(OGR_F_GetFieldAsDouble(f, i));
                break;
            default:
                v = json_object_new_string(OGR_F_GetFieldAsString(f, i));
        }
        json_object_object_add(a, n, v);
    }
    return a;
}

static const char *feature_name(imp *im, OGRFeatureH f) {
    if (im->o->name_field) return field_str(f, im->o->name_field);
    static const char *const names[] = {"name", "NAME", "Name", "title", "label"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = field_str(f, names[i]);
        if (v) return v;
    }
    return NULL;
}

static const char *data_category(imp *im, OGRFeatureH f) {
    if (im->o->category) return im->o->category;
    const char *c = field_str(f, "category");
    double b, g;
    if (c && koi_sites_category(im->s, c, &b, &g) == KO_OK) return c;
    koi_clear_error(im->ctx);
    /* WRI Global Power Plant Database rows. */
    const char *fuel = field_str(f, "primary_fuel");
    if (!fuel) fuel = field_str(f, "Fuel");
    if (fuel) return strcasecmp(fuel, "nuclear") ? "power_plant" : "nuclear";
    return "user_defined";
}

static GEOSGeometry *ogr_to_geos(imp *im, OGRGeometryH g) {
    size_t n = (size_t)OGR_G_WkbSize(g);
    unsigned char *buf = koi_malloc(n);
    if (!buf) return NULL;
    GEOSGeometry *r = NULL;
    if (OGR_G_ExportToIsoWkb(g, wkbNDR, buf) == OGRERR_NONE)
        r = GEOSGeomFromWKB_buf_r(im->ctx->geos, buf, n);
    free(buf);
    return r;
}

static ko_status import_feature(imp *im, OGRLayerH layer, OGRFeatureH f, int osm, int is_csv,
                                OGRCoordinateTransformationH ct) {
    const char *lname = OGR_L_GetName(layer);
    long long fid = (long long)OGR_F_GetFID(f);
    char sid[96];
    double buffer_m = NAN;
    const char *category;
    if (osm) {
        const char *id = field_str(f, "osm_id");
        const char *wid = field_str(f, "osm_way_id");
        if (!strcmp(lname, "points"))
            snprintf(sid, sizeof sid, "node/%.40s", id ? id : "?");
        else if (!strcmp(lname, "lines") || wid)
            snprintf(sid, sizeof sid, "way/%.40s", wid ? wid : id ? id : "?");
        else
            snprintf(sid, sizeof sid, "relation/%.40s", id ? id : "?");
        snprintf(im->where, sizeof im->where, "%s", sid);
        osm_tags t = {.f = f};
        const koi_osm_rule *rule =
            koi_osm_table_match(&im->preset, osm_kind(lname, f), osm_tag, &t);
        double b = rule && rule->category ? koi_osm_rule_buffer(rule, osm_tag, &t) : NAN;
        free(t.buf);
        if (t.nomem) return koi_error(im->ctx, KO_ERR_NOMEM, "out of memory");
        if (!rule || !rule->category) {
            im->r->skipped++;
            if (rule)
                note(im, "skipped: %s:%d of the OSM preset selects no site", rule->file,
                     rule->line);
            else
                note(im, "skipped: no tag of the OSM preset");
            return KO_OK;
        }
        category = im->o->category ? im->o->category : rule->category;
        buffer_m = b;
    } else {
        if (is_csv) {
            snprintf(sid, sizeof sid, "%lld", fid);
            snprintf(im->where, sizeof im->where, "row %lld", fid);
        } else {
            snprintf(sid, sizeof sid, "%.60s:%lld", lname, fid);
            snprintf(im->where, sizeof im->where, "%.60s feature %lld", lname, fid);
        }
        category = data_category(im, f);
    }
    OGRGeometryH og = OGR_F_GetGeometryRef(f);
    if (!og) return reject(im, is_csv ? "no geometry (coordinates missing)" : "no geometry");
    if (OGR_G_IsEmpty(og)) return reject(im, "empty geometry");
    if (ct) {
        og = OGR_G_Clone(og);
        if (!og) return koi_error(im->ctx, KO_ERR_NOMEM, "out of memory");
        if (OGR_G_Transform(og, ct) != OGRERR_NONE) {
            OGR_G_DestroyGeometry(og);
            return reject(im, "cannot reproject to WGS84");
        }
    }
    GEOSGeometry *g = ogr_to_geos(im, og);
    if (ct) OGR_G_DestroyGeometry(og);
    if (!g) return reject(im, "unreadable geometry (%s)", im->ctx->geos_msg);
    json_object *attrs = feature_attrs(f, is_csv);
    if (!attrs) {
        GEOSGeom_destroy_r(im->ctx->geos, g);
        return koi_error(im->ctx, KO_ERR_NOMEM, "out of memory");
    }
    if (osm) json_object_object_add(attrs, "osm_layer", json_object_new_string(lname));
    ko_status st = put_site(im, sid, feature_name(im, f), category, buffer_m, attrs, g);
    json_object_put(attrs);
    return st;
}

/* The OSM driver configuration: the caller's, $KEEPOUT_OSMCONF, or the copy of
 * data/osmconf_keepout.ini compiled into the library, served from /vsimem/ (*tmp is then
 * the /vsimem/ path to unlink). */
extern const unsigned char koi_osmconf_ini[];
extern const size_t koi_osmconf_ini_len;

static const char *osmconf_path(const ko_import_options *o, char *tmp, size_t cap) {
    tmp[0] = '\0';
    if (o->osmconf) return o->osmconf;
    const char *env = getenv("KEEPOUT_OSMCONF");
    if (env && *env) return env;
    snprintf(tmp, cap, "/vsimem/keepout_%p/osmconf_keepout.ini", (const void *)o);
    VSILFILE *fp = VSIFileFromMemBuffer(tmp, (GByte *)(uintptr_t)koi_osmconf_ini,
                                        (vsi_l_offset)koi_osmconf_ini_len, FALSE);
    if (!fp) {
        tmp[0] = '\0';
        return KEEPOUT_DATA_DIR "/osmconf_keepout.ini";
    }
    VSIFCloseL(fp);
    return tmp;
}

/* A CSV header that names a column twice: GDAL 3.6's CSV driver crashes on some such files
 * (with the X/Y_POSSIBLE_NAMES options), and which column holds the coordinate is ambiguous
 * anyway. The header is split on its most frequent separator, as GDAL guesses it. */
static ko_status csv_header_check(imp *im, const char *path) {
    VSILFILE *fp = VSIFOpenL(path, "rb");
    if (!fp) return KO_OK; /* GDAL says what is wrong */
    char line[65536];
    size_t got = VSIFReadL(line, 1, sizeof line - 1, fp);
    VSIFCloseL(fp);
    line[got] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    const char *seps = ",;\t|";
    char sep = ',';
    size_t best = 0;
    for (const char *c = seps; *c; c++) {
        size_t n = 0;
        for (const char *p = line; *p; p++)
            n += *p == *c;
        if (n > best) best = n, sep = *c;
    }
    char delim[2] = {sep, '\0'};
    char **f = CSLTokenizeString2(
        line, delim,
        CSLT_HONOURSTRINGS | CSLT_ALLOWEMPTYTOKENS | CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
    ko_status st = KO_OK;
    int n = CSLCount(f);
    for (int i = 0; !st && i < n; i++)
        for (int j = i + 1; !st && j < n; j++)
            if (f[i][0] && !strcasecmp(f[i], f[j]))
                st = koi_error(im->ctx, KO_ERR_FORMAT,
                               "%s: header: column name '%.60s' appears twice (columns %d and %d)",
                               path, f[i], i + 1, j + 1);
    CSLDestroy(f);
    return st;
}

/* Every feature of the OSM layers of ds. */
static ko_status read_osm(imp *im, const char *path, GDALDatasetH ds) {
    OGRLayerH layer = NULL;
    double pct = 0;
    for (;;) {
        OGRFeatureH f = NULL;
        ko_status st = next_feature(im, path, ds, &layer, &pct, &f);
        if (st) {
            im->osm_read_failed = !im->osm_plain_index;
            return st;
        }
        if (!f) return KO_OK;
        if (!is_osm_layer(OGR_L_GetName(layer))) {
            OGR_F_Destroy(f);
            continue;
        }
        im->r->read++;
        st = import_feature(im, layer, f, 1, 0, NULL);
        OGR_F_Destroy(f);
        if (st) return st;
        if ((im->r->read & 255) == 0 && !progress(im, pct, path))
            return koi_error(im->ctx, KO_ERR_CANCELLED, "%s: import cancelled", path);
    }
}

/* The OSM source cut down to what the preset could select before OGR reads it (issue 22:
 * import at country or continent scale): osmium tags-filter keeps every object that has the
 * key of one of each site row's conditions (any object a row selects has it), with the nodes
 * and members they reference, so every kept object is built as from the whole file. A superset:
 * the preset then selects exactly as from the whole file. *out: the filtered file (a temporary
 * file, the caller's to unlink), or NULL when no filter can be drawn (a row without a key). */
extern char **environ;
static ko_status osmium_prefilter(imp *im, const char *path, char **out) {
    ko_context *ctx = im->ctx;
    *out = NULL;
    ko_status st = load_preset(im);
    if (st) return st;
    size_t n = im->preset.n;
    char **argv = koi_calloc(n + 10, sizeof *argv), *exprs = koi_calloc(n ? n : 1, 160);
    if (!argv || !exprs) {
        free(argv), free(exprs);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    const char *tmpdir = getenv("TMPDIR");
    char *tmp = koi_malloc(strlen(tmpdir && *tmpdir ? tmpdir : "/tmp") + 40);
    if (!tmp) {
        free(argv), free(exprs);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    /* The cut in the source's own format: a coordinate read from XML text and from PBF's
     * integers can differ in the last bit of the double (bremen_power.osm through a PBF cut:
     * 1 ulp on most nodes). osmium keeps OSM's 7 decimals, so XML out reads as XML in. */
    int pbf = strlen(path) > 4 && !strcasecmp(path + strlen(path) - 4, ".pbf");
    sprintf(tmp, "%s/keepout-osm-XXXXXX.%s", tmpdir && *tmpdir ? tmpdir : "/tmp",
            pbf ? "pbf" : "osm");
    size_t k = 0;
    argv[k++] = "osmium", argv[k++] = "tags-filter", argv[k++] = "--overwrite",
    argv[k++] = "--no-progress", argv[k++] = "-f", argv[k++] = pbf ? "pbf" : "osm",
    argv[k++] = "-o", argv[k++] = tmp, argv[k++] = (char *)path;
    int usable = 1;
    for (size_t i = 0; i < n && usable; i++) {
        const koi_osm_rule *r = &im->preset.rules[i];
        if (!r->category) continue; /* not a site: it only ever excludes */
        if (!r->nconds || strlen(r->conds[0].key) > 120 || strchr(r->conds[0].key, '/') ||
            strchr(r->conds[0].key, '=') || strchr(r->conds[0].key, ',')) {
            usable = 0; /* (a key osmium's expressions cannot say: no filter) */
            break;
        }
        char *e = exprs + 160 * i;
        snprintf(e, 160, "%s%s%s/%s", r->kinds & KOI_OSM_NODE ? "n" : "",
                 r->kinds & KOI_OSM_WAY ? "w" : "", r->kinds & KOI_OSM_RELATION ? "r" : "",
                 r->conds[0].key);
        argv[k++] = e;
    }
    int fd = usable ? mkstemps(tmp, 4) : -1;
    if (!usable || fd < 0) {
        free(argv), free(exprs), free(tmp);
        return usable
                   ? koi_error(ctx, KO_ERR_IO, "cannot make a temporary file: %s", strerror(errno))
                   : KO_OK;
    }
    close(fd);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "osmium", &fa, NULL, argv, environ), status = 0;
    posix_spawn_file_actions_destroy(&fa);
    if (rc == 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    free(argv), free(exprs);
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(tmp);
        free(tmp);
        if (rc == ENOENT || (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127))
            return koi_error(ctx, KO_ERR_UNSUPPORTED,
                             "%s: the prefilter needs osmium-tool (osmium), not found", path);
        return koi_error(ctx, KO_ERR_IO,
                         "%s: osmium tags-filter failed (%s %d): run it by hand to see why", path,
                         rc                  ? "error"
                         : WIFEXITED(status) ? "exit"
                                             : "signal",
                         rc                  ? rc
                         : WIFEXITED(status) ? WEXITSTATUS(status)
                                             : WTERMSIG(status));
    }
    *out = tmp;
    return KO_OK;
}

static ko_status import_ogr(imp *im, const char *path) {
    ko_context *ctx = im->ctx;
    const char *ext = CPLGetExtension(path);
    int is_csv = !strcasecmp(ext, "csv");
    int is_gz = !strcasecmp(ext, "gz");
    char *vpath = NULL;
    if (is_gz && strncmp(path, "/vsi", 4) != 0) vpath = CPLStrdup(CPLSPrintf("/vsigzip/%s", path));
    const char *open_path = vpath ? vpath : path;
    char **oo = NULL;
    if (is_csv) {
        ko_status hs = csv_header_check(im, path);
        if (hs) {
            CPLFree(vpath);
            return hs;
        }
        oo = CSLSetNameValue(oo, "X_POSSIBLE_NAMES", "longitude,lon,lng,long,x");
        oo = CSLSetNameValue(oo, "Y_POSSIBLE_NAMES", "latitude,lat,y");
        oo = CSLSetNameValue(oo, "GEOM_POSSIBLE_NAMES", "WKT,geom,geometry,the_geom,wkt_geom");
        oo = CSLSetNameValue(oo, "KEEP_GEOM_COLUMNS", "NO");
    }
    int preset = im->o->preset_osm || im->o->preset_file;
    int maybe_osm = preset || strstr(path, ".osm") || strstr(path, ".pbf");
    char *filtered = NULL;
    if (im->o->prefilter && preset && strncmp(path, "/vsi", 4) != 0) {
        ko_status ps = osmium_prefilter(im, path, &filtered);
        if (ps) {
            CPLFree(vpath);
            CSLDestroy(oo);
            return ps;
        }
        if (filtered) open_path = filtered;
    }
    char conf_tmp[128];
    const char *conf = maybe_osm ? osmconf_path(im->o, conf_tmp, sizeof conf_tmp) : NULL;
    if (conf) oo = CSLSetNameValue(oo, "CONFIG_FILE", conf);
    /* GDAL's fast node index needs node ids in increasing order, which files from
     * openstreetmap.org's Export and the API are not; the plain index reads any order at some
     * cost, so it is used only when a read with the fast one failed. */
    if (conf && im->osm_plain_index) oo = CSLSetNameValue(oo, "USE_CUSTOM_INDEXING", "NO");
    ko_global_init(); /* GDAL's drivers */
    CPLErrorReset();
    GDALDatasetH ds = GDALOpenEx(open_path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL,
                                 (const char *const *)oo, NULL);
    CSLDestroy(oo);
    ko_status st = KO_OK;
    OGRSpatialReferenceH wgs84 = NULL;
    if (!ds) {
        VSIStatBufL sb;
        if (VSIStatL(open_path, &sb) != 0)
            st = koi_error(ctx, KO_ERR_IO, "%s: no such file", path);
        else
            st = koi_error(ctx, KO_ERR_UNSUPPORTED, "%s: not a vector source OGR can read%s%s",
                           path, CPLGetLastErrorMsg()[0] ? ": " : "", CPLGetLastErrorMsg());
        goto done;
    }
    const char *drv = GDALGetDriverShortName(GDALGetDatasetDriver(ds));
    int osm = !strcmp(drv, "OSM");
    if (osm && (!conf || VSIStatL(conf, &(VSIStatBufL){0}) != 0)) {
        st = koi_error(ctx, KO_ERR_IO, "%s: OSM configuration %s not found (set KEEPOUT_OSMCONF)",
                       path, conf ? conf : "(none)");
        goto done;
    }
    if (preset && !osm) {
        st = koi_error(ctx, KO_ERR_ARG, "%s: the OSM preset needs an OSM XML or PBF source", path);
        goto done;
    }
    is_csv = !strcmp(drv, "CSV");
    wgs84 = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(wgs84, 4326);
    OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
    if (osm) {
        im->osm = 1;
        if ((st = load_preset(im)) || (st = set_osm_filters(im, ds, im->o->where))) goto done;
        /* the driver's debug messages name what it drops (osm_debug_handler) */
        const char *dbg = CPLGetThreadLocalConfigOption("CPL_DEBUG", NULL);
        char *saved_dbg = dbg ? CPLStrdup(dbg) : NULL;
        CPLSetThreadLocalConfigOption("CPL_DEBUG", "OSM");
        CPLPushErrorHandlerEx(osm_debug_handler, im);
        st = read_osm(im, path, ds);
        CPLPopErrorHandler();
        CPLSetThreadLocalConfigOption("CPL_DEBUG", saved_dbg);
        CPLFree(saved_dbg);
        goto done;
    }
    int nl = GDALDatasetGetLayerCount(ds);
    GIntBig total = 0;
    for (int i = 0; i < nl; i++) {
        OGRLayerH l = GDALDatasetGetLayer(ds, i);
        if (im->o->where && OGR_L_SetAttributeFilter(l, im->o->where) != OGRERR_NONE) {
            st = koi_error(ctx, KO_ERR_ARG, "%s: bad attribute filter on layer %s: %s", path,
                           OGR_L_GetName(l), CPLGetLastErrorMsg());
            goto done;
        }
        GIntBig c = OGR_L_GetFeatureCount(l, 0);
        if (c > 0) total += c;
    }
    for (int i = 0; i < nl; i++) {
        OGRLayerH l = GDALDatasetGetLayer(ds, i);
        OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(l);
        OGRCoordinateTransformationH ct = NULL;
        if (srs && !OSRIsSame(srs, wgs84)) {
            ct = OCTNewCoordinateTransformation(srs, wgs84);
            if (!ct) {
                st = koi_error(ctx, KO_ERR_PROJ, "%s: layer %s: no transformation to WGS84", path,
                               OGR_L_GetName(l));
                goto done;
            }
        }
        OGR_L_ResetReading(l);
        OGRFeatureH f;
        while (!(st = next_feature(im, path, NULL, &l, NULL, &f)) && f != NULL) {
            im->r->read++;
            st = import_feature(im, l, f, 0, is_csv, ct);
            OGR_F_Destroy(f);
            if (st) break;
            if ((im->r->read & 255) == 0 &&
                !progress(im, total > 0 ? (double)im->r->read / (double)total : 0, path)) {
                st = koi_error(ctx, KO_ERR_CANCELLED, "%s: import cancelled", path);
                break;
            }
        }
        if (ct) OCTDestroyCoordinateTransformation(ct);
        if (st) goto done;
    }
done:
    if (wgs84) OSRDestroySpatialReference(wgs84);
    if (ds) GDALClose(ds);
    if (conf && conf_tmp[0]) VSIUnlink(conf_tmp);
    if (filtered) unlink(filtered);
    free(filtered);
    CPLFree(vpath);
    return st;
}

/* ---------------------------------------------------------------- UAS zones -------------- */

/* ED-318 texts are arrays of {text, lang}; ED-269 texts are strings. Prefers English. Returns
 * 0 (and writes which part is wrong) if v is neither; absent or null is NULL text. */
static int zone_text(json_object *v, const char *field, const char **out, char *why, size_t cap) {
    *out = NULL;
    if (!v || json_object_is_type(v, json_type_null)) return 1;
    if (json_object_is_type(v, json_type_string)) {
        *out = json_object_get_string(v);
        return 1;
    }
    if (!json_object_is_type(v, json_type_array)) {
        snprintf(why, cap, "%s: not a text or a list of {text, lang}", field);
        return 0;
    }
    const char *first = NULL;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i), *t = NULL, *l = NULL;
        if (!json_object_is_type(e, json_type_object) ||
            !json_object_object_get_ex(e, "text", &t) ||
            !json_object_is_type(t, json_type_string)) {
            snprintf(why, cap, "%s[%zu].text: not a text", field, i);
            return 0;
        }
        if (json_object_object_get_ex(e, "lang", &l) && !json_object_is_type(l, json_type_string)) {
            snprintf(why, cap, "%s[%zu].lang: not a text", field, i);
            return 0;
        }
        if (!first) first = json_object_get_string(t);
        if (l && !strncmp(json_object_get_string(l), "en", 2) && !*out)
            *out = json_object_get_string(t);
    }
    if (!*out) *out = first;
    return 1;
}

/* 1 if the zone is to be imported, 0 if not, -1 (why written) if its reason is not a text or
 * a list of texts. */
static int zone_selected(imp *im, json_object *zone, char *reasons, size_t cap, char *why,
                         size_t why_cap) {
    json_object *r = NULL;
    reasons[0] = '\0';
    int sel = 0;
    if (json_object_object_get_ex(zone, "reason", &r) && r) {
        int list = json_object_is_type(r, json_type_array);
        size_t n = list ? json_object_array_length(r) : 1;
        for (size_t i = 0; i < n; i++) {
            json_object *e = list ? json_object_array_get_idx(r, i) : r;
            if (!json_object_is_type(e, json_type_string)) {
                snprintf(why, why_cap, "reason%s: not a text", list ? "[...]" : "");
                return -1;
            }
            const char *t = json_object_get_string(e);
            if (!strcmp(t, "SENSITIVE") || !strcmp(t, "PRIVACY")) sel = 1;
            size_t k = strlen(reasons);
            snprintf(reasons + k, cap - k, "%s%s", k ? "," : "", t);
        }
    }
    return sel || im->o->all_zones;
}

/* A JSON number (integer or real) that is finite. */
static int json_finite(json_object *v, double *out) {
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return 0;
    *out = json_object_get_double(v);
    return isfinite(*out);
}

static const char *zone_category(imp *im, const char *id, const char *name) {
    if (im->o->category) return im->o->category;
    const char *n = name ? name : "";
    if ((id && !strncmp(id, "ENSI", 4)) || strstr(n, "KKA") || strstr(n, "KKW") ||
        strcasestr(n, "nuclear") || strcasestr(n, "Kernkraft"))
        return "nuclear";
    if (strcasestr(n, "Unterwerk") || strcasestr(n, "substation") || strcasestr(n, "sous-station"))
        return "substation";
    if (strcasestr(n, "Staumauer") || strcasestr(n, " dam")) return "dam";
    return "user_defined";
}

static GEOSGeometry *geojson_geom(imp *im, GEOSGeoJSONReader *rd, json_object *g) {
    const char *txt = json_object_to_json_string_ext(g, JSON_C_TO_STRING_PLAIN);
    return txt ? GEOSGeoJSONReader_readGeometry_r(im->ctx->geos, rd, txt) : NULL;
}

/* ED-269 horizontal projections (Polygon, Circle) of one zone, unioned. Writes why on NULL. */
static GEOSGeometry *ed269_geometry(imp *im, GEOSGeoJSONReader *rd, json_object *geoms,
                                    json_object *limits, char *why, size_t cap) {
    GEOSContextHandle_t h = im->ctx->geos;
    size_t n = json_object_array_length(geoms);
    GEOSGeometry **parts = koi_calloc(n, sizeof *parts);
    size_t np = 0;
    if (!parts) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(geoms, i), *hp, *t;
        json_object *lim = json_object_new_object();
        static const char *const keys[] = {"lowerLimit", "lowerVerticalReference", "upperLimit",
                                           "upperVerticalReference", "uomDimensions"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            json_object *v;
            if (json_object_object_get_ex(e, keys[k], &v))
                json_object_object_add(lim, keys[k], json_object_get(v));
        }
        json_object_array_add(limits, lim);
        if (!json_object_is_type(e, json_type_object)) {
            snprintf(why, cap, "geometry[%zu]: not an object", i);
            goto fail;
        }
        if (!json_object_object_get_ex(e, "horizontalProjection", &hp) ||
            !json_object_is_type(hp, json_type_object)) {
            snprintf(why, cap, "geometry[%zu].horizontalProjection: missing or not an object", i);
            goto fail;
        }
        if (!json_object_object_get_ex(hp, "type", &t) ||
            !json_object_is_type(t, json_type_string)) {
            snprintf(why, cap, "geometry[%zu].horizontalProjection.type: missing or not a text", i);
            goto fail;
        }
        const char *type = json_object_get_string(t);
        GEOSGeometry *g = NULL;
        if (!strcmp(type, "Circle")) {
            json_object *c = NULL, *r = NULL;
            double x = NAN, y = NAN, rad = NAN;
            if (!json_object_object_get_ex(hp, "center", &c) ||
                !json_object_is_type(c, json_type_array) || json_object_array_length(c) < 2 ||
                !json_finite(json_object_array_get_idx(c, 0), &x) ||
                !json_finite(json_object_array_get_idx(c, 1), &y)) {
                snprintf(why, cap,
                         "geometry[%zu].horizontalProjection.center: not a [longitude, latitude] "
                         "list of numbers",
                         i);
                goto fail;
            }
            if (!json_object_object_get_ex(hp, "radius", &r) || !json_finite(r, &rad)) {
                snprintf(why, cap, "geometry[%zu].horizontalProjection.radius: not a number", i);
                goto fail;
            }
            GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, x, y);
            if (!pt || !(rad > 0) || koi_buffer_metric(im->ctx, pt, rad, &g) != KO_OK) {
                if (pt) GEOSGeom_destroy_r(h, pt);
                snprintf(why, cap, "bad circle (radius %g m at %g, %g)", rad, x, y);
                goto fail;
            }
            GEOSGeom_destroy_r(h, pt);
        } else {
            g = geojson_geom(im, rd, hp);
            if (!g) {
                snprintf(why, cap, "unreadable %s projection", type);
                goto fail;
            }
        }
        parts[np++] = g;
    }
    if (np == 0) {
        snprintf(why, cap, "no geometry");
        free(parts);
        return NULL;
    }
    if (np == 1) {
        GEOSGeometry *g = parts[0];
        free(parts);
        return g;
    }
    GEOSGeometry *coll =
        GEOSGeom_createCollection_r(h, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)np);
    free(parts);
    if (!coll) {
        snprintf(why, cap, "cannot combine projections");
        return NULL;
    }
    GEOSGeometry *u = GEOSUnaryUnion_r(h, coll);
    GEOSGeom_destroy_r(h, coll);
    if (!u) snprintf(why, cap, "cannot combine projections");
    return u;
fail:
    for (size_t i = 0; i < np; i++)
        GEOSGeom_destroy_r(h, parts[i]);
    free(parts);
    return NULL;
}

static ko_status import_zone(imp *im, GEOSGeoJSONReader *rd, json_object *zone,
                             json_object *geom318, size_t index) {
    json_object *props = zone, *v = NULL;
    char sid[96];
    snprintf(sid, sizeof sid, "zone#%zu", index + 1);
    snprintf(im->where, sizeof im->where, "%s", sid);
    im->r->read++;
    if (json_object_object_get_ex(props, "identifier", &v) && v) {
        if (!json_object_is_type(v, json_type_string)) return reject(im, "identifier: not a text");
        snprintf(sid, sizeof sid, "%.90s", json_object_get_string(v));
        snprintf(im->where, sizeof im->where, "zone %s", sid);
    }
    const char *id = v ? sid : NULL;
    char why[200] = "no geometry";
    const char *name = NULL;
    if (!zone_text(json_object_object_get_ex(props, "name", &v) ? v : NULL, "name", &name, why,
                   sizeof why))
        return reject(im, "%s", why);
    char reasons[128];
    int sel = zone_selected(im, props, reasons, sizeof reasons, why, sizeof why);
    if (sel < 0) return reject(im, "%s", why);
    if (!sel) {
        im->r->skipped++;
        note(im,
             "skipped: reason %s is not SENSITIVE or PRIVACY (import with all zones to keep it)",
             reasons[0] ? reasons : "(none)");
        return KO_OK;
    }
    json_object *attrs = json_object_new_object();
    if (!attrs) return koi_error(im->ctx, KO_ERR_NOMEM, "out of memory");
    json_object_object_foreach(props, key, val) {
        if (!strcmp(key, "geometry")) continue;
        json_object_object_add(attrs, key, json_object_get(val));
    }
    GEOSGeometry *g = NULL;
    snprintf(why, sizeof why, "no geometry");
    if (geom318) {
        json_object *layer;
        if (!json_object_is_type(geom318, json_type_object)) {
            snprintf(why, sizeof why, "geometry: not an object");
        } else {
            if (json_object_object_get_ex(geom318, "layer", &layer))
                json_object_object_add(attrs, "limits", json_object_get(layer));
            g = geojson_geom(im, rd, geom318);
            if (!g) snprintf(why, sizeof why, "unreadable geometry (%.100s)", im->ctx->geos_msg);
        }
    } else if (json_object_object_get_ex(zone, "geometry", &v) &&
               json_object_is_type(v, json_type_array)) {
        json_object *limits = json_object_new_array();
        json_object_object_add(attrs, "limits", limits);
        g = ed269_geometry(im, rd, v, limits, why, sizeof why);
    } else if (v) {
        snprintf(why, sizeof why, "geometry: not a list of projections");
    }
    ko_status st;
    if (!g)
        st = reject(im, "%s", why);
    else /* The zone is the authority's own perimeter: no extra buffer unless asked. */
        st = put_site(im, sid, name, zone_category(im, id, name), 0.0, attrs, g);
    json_object_put(attrs);
    return st;
}

/* Imports every zone of list: ED-269 zones, or ED-318 GeoJSON features. An element that is
 * not an object makes the file malformed (its zones cannot even be counted). */
static ko_status import_zone_list(imp *im, const char *path, json_object *list, int ed318) {
    GEOSGeoJSONReader *rd = GEOSGeoJSONReader_create_r(im->ctx->geos);
    ko_status st = rd ? KO_OK : koi_error(im->ctx, KO_ERR_NOMEM, "out of memory");
    size_t n = json_object_array_length(list);
    for (size_t i = 0; !st && i < n; i++) {
        json_object *z = json_object_array_get_idx(list, i), *p = z, *g = NULL;
        if (!json_object_is_type(z, json_type_object)) {
            st = koi_error(im->ctx, KO_ERR_FORMAT, "%s: %s[%zu] (zone#%zu): not an object", path,
                           ed318 ? "features" : "UASZoneList", i, i + 1);
            break;
        }
        if (ed318) {
            if (!json_object_object_get_ex(z, "properties", &p)) p = NULL;
            json_object_object_get_ex(z, "geometry", &g);
            if (!p || !json_object_is_type(p, json_type_object)) {
                im->r->read++;
                snprintf(im->where, sizeof im->where, "feature %zu", i + 1);
                st = reject(im, "properties: missing or not an object");
                continue;
            }
            if (!g || json_object_is_type(g, json_type_null)) {
                im->r->read++;
                snprintf(im->where, sizeof im->where, "feature %zu", i + 1);
                st = reject(im, "no geometry");
                continue;
            }
        }
        st = import_zone(im, rd, p, g, i);
        if (!st && (i & 63) == 0 && !progress(im, (double)i / (double)n, path))
            st = koi_error(im->ctx, KO_ERR_CANCELLED, "%s: import cancelled", path);
    }
    if (rd) GEOSGeoJSONReader_destroy_r(im->ctx->geos, rd);
    return st;
}

/* Imports path if it is an ED-269 or ED-318 file (*handled = 1); else does nothing. */
static ko_status import_zones(imp *im, const char *path, int *handled) {
    *handled = 0;
    const char *ext = CPLGetExtension(path);
    if (strcasecmp(ext, "json") != 0 && strcasecmp(ext, "geojson") != 0) return KO_OK;
    GByte *data = NULL;
    vsi_l_offset size = 0;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int ok = VSIIngestFile(NULL, path, &data, &size, ZONE_FILE_MAX);
    CPLPopErrorHandler();
    if (!ok) return KO_OK; /* let OGR say what is wrong */
    json_tokener *tok = json_tokener_new_ex(64);
    json_object *root = tok ? json_tokener_parse_ex(tok, (const char *)data, (int)size) : NULL;
    json_tokener_free(tok);
    VSIFree(data);
    if (!root) return KO_OK;
    json_object *list = NULL, *features = NULL, *first, *zl = NULL;
    int ed318 = 0;
    ko_status st = KO_OK;
    if (json_object_object_get_ex(root, "UASZoneList", &zl)) {
        *handled = 1;
        if (json_object_is_type(zl, json_type_array))
            list = zl;
        else
            st = koi_error(im->ctx, KO_ERR_FORMAT, "%s: UASZoneList: not a list of zones", path);
    } else if (json_object_object_get_ex(root, "features", &features) &&
               json_object_is_type(features, json_type_array) &&
               json_object_array_length(features) > 0) {
        first = json_object_array_get_idx(features, 0);
        json_object *g, *p;
        if (json_object_object_get_ex(first, "geometry", &g) &&
            json_object_is_type(g, json_type_array) &&
            json_object_object_get_ex(first, "identifier", NULL))
            list = features; /* ED-269 zones in a "features" array */
        else if (json_object_object_get_ex(first, "properties", &p) &&
                 json_object_object_get_ex(p, "reason", NULL) &&
                 json_object_object_get_ex(p, "identifier", NULL))
            ed318 = 1, list = features;
        if (list) *handled = 1;
    }
    if (list) st = import_zone_list(im, path, list, ed318);
    json_object_put(root);
    return st;
}

/* ---------------------------------------------------------------- the import ------------- */

ko_status ko_sites_import(ko_sites *s, const char *path, const ko_import_options *opts,
                          ko_import_report *report) {
    if (!s || !path || !report)
        return koi_error(s ? s->ctx : NULL, KO_ERR_ARG, "import: NULL argument");
    ko_context *ctx = s->ctx;
    if (!s->writable) return koi_error(ctx, KO_ERR_ARG, "import: the store is open read-only");
    ko_status guard = opts ? KOI_CHECK_OPTIONS(ctx, ko_import_options, opts) : KO_OK;
    if (guard || (guard = ko_path_check(ctx, path))) return guard; /* OGR blocks on a FIFO */
    ko_import_options defaults;
    if (!opts) {
        ko_import_options_init(&defaults);
        opts = &defaults;
    }
    if (!isnan(opts->buffer_m) && !(opts->buffer_m >= 0 && opts->buffer_m <= 100000))
        return koi_error(ctx, KO_ERR_ARG, "import: buffer %g m out of [0, 100000]", opts->buffer_m);
    double b, g;
    if (opts->category && koi_sites_category(s, opts->category, &b, &g) != KO_OK)
        return KO_ERR_NOT_FOUND;
    ko_import_report_clear(report);
    char *base = NULL;
    imp im = {.s = s, .ctx = ctx, .o = opts, .r = report};
    if (opts->source_label && *opts->source_label) {
        im.source = opts->source_label;
    } else {
        base = koi_strdup(CPLGetFilename(path));
        if (!base) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        im.source = base;
    }
    /* A caller's preset table is read (and its errors reported) before the source. */
    ko_status st = opts->preset_file ? load_preset(&im) : KO_OK;
    if (!st) {
        koi_packed_free(ctx, s->packed);
        s->packed = NULL;
        /* The import's pages stay in SQLite's cache until the commit instead of spilling to
         * the file (and its journal) at SQLite's default 8 MB: the R-trees' and indexes'
         * pages are rewritten by row after row (1 GiB at most; pages only as they are used) */
        sqlite3_exec(s->db, "PRAGMA cache_size = -1048576", NULL, NULL, NULL);
        st = koi_sites_exec(s, "BEGIN IMMEDIATE");
        if (!st && (st = koi_sites_bulk_write(s, 1)))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (st) {
        koi_osm_table_free(&im.preset);
        free(base);
        return st;
    }
    {
        sqlite3_stmt *v = NULL;
        if (sqlite3_prepare_v2(s->db,
                               "SELECT CAST(value AS INTEGER) + 1 FROM meta WHERE key = "
                               "'store_version'",
                               -1, &v, NULL) != SQLITE_OK ||
            sqlite3_step(v) != SQLITE_ROW) {
            sqlite3_finalize(v);
            st = db_fail(&im, "reading the store version");
            goto done;
        }
        im.version = sqlite3_column_int64(v, 0);
        sqlite3_finalize(v);
    }
    im.wkbw = GEOSWKBWriter_create_r(ctx->geos);
    if (!im.wkbw) {
        st = koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (sqlite3_prepare_v2(
            s->db, "SELECT id, store_version FROM sites WHERE source = ?1 AND source_id = ?2", -1,
            &im.sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(
            s->db,
            "INSERT INTO sites(source, source_id, name, category, buffer_m,"
            " min_gsd_m, attributes, geom, geom_buffered, store_version) VALUES(?1, ?2,"
            " ?3, ?4, ?5, ?6, ?7, GeomFromWKB(?8, 4326), GeomFromWKB(?9, 4326), ?11)",
            -1, &im.ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "UPDATE sites SET name = ?3, category = ?4, buffer_m = ?5,"
                           " min_gsd_m = ?6, attributes = ?7, geom = GeomFromWKB(?8, 4326),"
                           " geom_buffered = GeomFromWKB(?9, 4326), store_version = ?11"
                           " WHERE id = ?10 AND source = ?1 AND source_id = ?2",
                           -1, &im.upd, NULL) != SQLITE_OK) {
        st = db_fail(&im, "preparing the import");
        goto done;
    }
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int handled = 0;
    st = import_zones(&im, path, &handled);
    if (!st && !handled) st = koi_sites_exec(s, "SAVEPOINT koi_read");
    if (!st && !handled) {
        st = import_ogr(&im, path);
        if (st && im.osm_read_failed) { /* again from the start, with the plain node index */
            st = koi_sites_exec(s, "ROLLBACK TO koi_read");
            ko_import_report_clear(report);
            im.msg_len = im.msg_cap = 0;
            im.msg_full = 0;
            im.osm_plain_index = 1;
            if (!st) st = import_ogr(&im, path);
        }
        if (!st) st = koi_sites_exec(s, "RELEASE koi_read");
    }
    CPLPopErrorHandler();
    if (!st && !progress(&im, 1.0, path))
        st = koi_error(ctx, KO_ERR_CANCELLED, "%s: import cancelled", path);
    if (!st && report->imported + report->updated == 0 && !opts->allow_empty)
        st = report->read == 0 && im.osm
                 ? koi_error(ctx, KO_ERR_FORMAT,
                             "%s: no OSM object has a tag of the preset (power, bridge, dam, ...): "
                             "nothing to protect",
                             path)
             : report->read == 0 && opts->where
                 ? koi_error(ctx, KO_ERR_FORMAT, "%s: no feature passes the attribute filter", path)
             : report->read == 0
                 ? koi_error(ctx, KO_ERR_FORMAT, "%s: no feature read: the source is empty", path)
                 : koi_error(ctx, KO_ERR_FORMAT,
                             "%s: none of the %zu features read became a site (%zu skipped, %zu "
                             "rejected)",
                             path, report->read, report->skipped, report->rejected);
    if (!st)
        st = koi_sites_exec(s,
                            "UPDATE meta SET value = CAST(value AS INTEGER) + 1"
                            " WHERE key = 'store_version'");
    if (!st) {
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(
                s->db, "SELECT count(*) FROM sites WHERE source = ?1 AND store_version < ?2", -1,
                &q, NULL) != SQLITE_OK ||
            sqlite3_bind_text(q, 1, im.source, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(q, 2, im.version) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW)
            st = db_fail(&im, "counting stale sites");
        else
            report->stale = (size_t)sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
done:
    sqlite3_finalize(im.sel);
    sqlite3_finalize(im.ins);
    sqlite3_finalize(im.upd);
    if (im.wkbw) GEOSWKBWriter_destroy_r(ctx->geos, im.wkbw);
    if (!st) st = koi_sites_bulk_write(s, 0);
    if (!st) st = koi_sites_exec(s, "COMMIT");
    if (st) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(s->db, "PRAGMA cache_size = -2000", NULL, NULL, NULL); /* SQLite's default */
    if (!st && ko_sites_write_index(s) != KO_OK) {
        /* The sites are in: the store answers without its index (slower, never out of date:
         * the old file no longer matches the store's change token) until it is written. */
        snprintf(im.where, sizeof im.where, "site index");
        note(&im,
             "the store's index was not written (the store is queried without it until "
             "it is): %s",
             ko_errmsg(ctx));
    }
    koi_osm_table_free(&im.preset);
    free(base);
    return st;
}
