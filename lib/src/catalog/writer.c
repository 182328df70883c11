/* Rows, transactions, the files already done and the verdict counts of a catalogue. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"

/* The first failure GDAL reports while a statement runs (the server's message; GDAL may
 * follow it with the statement alone). */
typedef struct first_error {
    char msg[400];
} first_error;

static void CPL_STDCALL keep_first(CPLErr e, CPLErrorNum n, const char *msg) {
    (void)n;
    first_error *f = CPLGetErrorHandlerUserData();
    if (e >= CE_Failure && !f->msg[0]) snprintf(f->msg, sizeof f->msg, "%s", msg);
}

/* The server's message is several lines (ERROR, DETAIL, HINT; libpq indents with tabs): one
 * line, each run of white space one blank, for a message that names it on one line. */
static void one_line(char *dst, size_t size, const char *src) {
    size_t k = 0;
    for (const char *p = src; *p && k + 1 < size; p++) {
        int blank = *p == '\n' || *p == '\t' || *p == '\r' || *p == ' ';
        if (!blank)
            dst[k++] = *p;
        else if (k && dst[k - 1] != ' ')
            dst[k++] = ' ';
    }
    while (k && dst[k - 1] == ' ')
        k--;
    dst[k] = '\0';
}

/* Records "statement: cause" as the catalogue's error (the first one stays). */
static void sql_failed(koi_cat *c, const char *q, const char *why) {
    if (c->error[0]) return;
    char line[400];
    one_line(line, sizeof line, why);
    snprintf(c->error, sizeof c->error, "%.200s: %.300s", q, line[0] ? line : "failed");
}

/* Runs q; its result set, if any, is handed to use (which may be NULL). */
static int sql_run(koi_cat *c, const char *q, int64_t *count) {
    first_error fe = {""};
    CPLErrorReset();
    CPLPushErrorHandlerEx(keep_first, &fe);
    OGRLayerH r = GDALDatasetExecuteSQL(c->ds, q, NULL, NULL);
    int64_t v = -1;
    if (r && count) {
        OGRFeatureH f = OGR_L_GetNextFeature(r);
        if (f) v = OGR_F_GetFieldAsInteger64(f, 0);
        if (f) OGR_F_Destroy(f);
    }
    if (r) GDALDatasetReleaseResultSet(c->ds, r);
    CPLPopErrorHandler();
    if (count && v < 0 && !fe.msg[0]) snprintf(fe.msg, sizeof fe.msg, "no count in its result");
    if (count) *count = v;
    if (!fe.msg[0]) return 1;
    sql_failed(c, q, fe.msg);
    return 0;
}

int koi_cat_sql_each(koi_cat *c, const char *q, int (*each)(OGRFeatureH row, void *user),
                     void *user) {
    first_error fe = {""};
    CPLErrorReset();
    CPLPushErrorHandlerEx(keep_first, &fe);
    OGRLayerH r = GDALDatasetExecuteSQL(c->ds, q, NULL, NULL);
    int ok = 1;
    OGRFeatureH f;
    while (ok && r && !fe.msg[0] && (f = OGR_L_GetNextFeature(r))) {
        ok = each(f, user);
        OGR_F_Destroy(f);
    }
    if (r) GDALDatasetReleaseResultSet(c->ds, r);
    CPLPopErrorHandler();
    if (!r && !fe.msg[0]) snprintf(fe.msg, sizeof fe.msg, "no result");
    if (fe.msg[0]) sql_failed(c, q, fe.msg);
    return ok && !fe.msg[0];
}

void koi_cat_retry_pause(int try) {
    long ms = ((long)getpid() % 10 + 1) * (1L << try);
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
    nanosleep(&ts, NULL);
}

int koi_cat_sql_ok(koi_cat *c, const char *q) {
    return sql_run(c, q, NULL);
}

int64_t koi_cat_sql_count(koi_cat *c, const char *q) {
    int64_t v;
    return sql_run(c, q, &v) ? v : -1;
}

/* GDAL gives the server's message, not its SQLSTATE: the messages of 40P01 and 40001, and of
 * 23505 (a unique row another process wrote meanwhile, this file again: the retry deletes
 * it before it writes the file). */
int koi_cat_retryable(const koi_cat *c) {
    return c->pg && (strstr(c->error, "deadlock detected") ||
                     strstr(c->error, "could not serialize access") ||
                     strstr(c->error, "duplicate key value violates unique constraint"));
}

/* The first failure of a commit is the cause (disk full); GDAL's own clean-up after it fails
 * in turn and would bury it. */
static void CPL_STDCALL keep_first_error(CPLErr e, CPLErrorNum n, const char *msg) {
    (void)n;
    koi_cat *c = CPLGetErrorHandlerUserData();
    if (e >= CE_Failure && !c->error[0]) one_line(c->error, sizeof c->error, msg);
}

int koi_cat_begin(koi_cat *c) {
    if (c->in_tx) return 1;
    c->in_tx = GDALDatasetStartTransaction(c->ds, FALSE) == OGRERR_NONE;
    return c->in_tx;
}

int koi_cat_commit(koi_cat *c) {
    if (!c->in_tx) return 1;
    c->in_tx = 0;
    c->error[0] = '\0';
    CPLPushErrorHandlerEx(keep_first_error, c);
    int ok = GDALDatasetCommitTransaction(c->ds) == OGRERR_NONE;
    CPLPopErrorHandler();
    if (ok) return 1;
    /* SQLite rolled the transaction back (disk full, I/O error) but GDAL counted its rows and
     * R-tree entries in memory, and would write them at the close, outside any transaction:
     * a rollback through GDAL makes it forget them. */
    CPLPushErrorHandler(CPLQuietErrorHandler);
    if (GDALDatasetStartTransaction(c->ds, FALSE) == OGRERR_NONE)
        GDALDatasetRollbackTransaction(c->ds);
    CPLPopErrorHandler();
    c->failed = 1;
    return 0;
}

void koi_cat_rollback(koi_cat *c) {
    if (!c->failed) snprintf(c->error, sizeof c->error, "%s", CPLGetLastErrorMsg());
    c->failed = 1;
    if (!c->in_tx) return;
    c->in_tx = 0;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetRollbackTransaction(c->ds);
    CPLPopErrorHandler();
}

int koi_cat_flush(koi_cat *c) {
    c->error[0] = '\0';
    CPLPushErrorHandlerEx(keep_first_error, c);
    int ok = OGR_L_SyncToDisk(c->fp) == OGRERR_NONE && OGR_L_SyncToDisk(c->hits) == OGRERR_NONE &&
             OGR_L_SyncToDisk(c->files) == OGRERR_NONE;
    CPLPopErrorHandler();
    if (!ok) c->failed = 1;
    return ok;
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const koi_cat_done *)a)->path, ((const koi_cat_done *)b)->path);
}

int koi_cat_done_list(koi_cat *c, koi_cat_done **out, size_t *n) {
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    OGR_L_ResetReading(c->files);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(c->files))) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            koi_cat_done *d = koi_realloc_array(*out, cap, sizeof *d);
            if (!d) {
                OGR_F_Destroy(f);
                return 0;
            }
            *out = d;
        }
        koi_cat_done *d = &(*out)[*n];
        d->path = koi_strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "path")));
        d->size = OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "size"));
        d->mtime = OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "mtime"));
        snprintf(d->sha256, sizeof d->sha256, "%s",
                 OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "sha256")));
        OGR_F_Destroy(f);
        if (!d->path) return 0;
        (*n)++;
    }
    if (*n) qsort(*out, *n, sizeof **out, by_path);
    return 1;
}

const koi_cat_done *koi_cat_find(const koi_cat_done *done, size_t n, const char *path) {
    koi_cat_done key = {(char *)path, 0, 0, ""};
    return n ? bsearch(&key, done, n, sizeof key, by_path) : NULL;
}

/* Row features are reused (one per layer): a value absent from this row is unset. */
static void set_num(OGRFeatureH f, int i, double v) {
    if (isfinite(v))
        OGR_F_SetFieldDouble(f, i, v);
    else
        OGR_F_UnsetField(f, i);
}

void koi_cat_set_str(OGRFeatureH f, int i, const char *v) {
    if (v)
        OGR_F_SetFieldString(f, i, v);
    else
        OGR_F_UnsetField(f, i);
}

/* Exactly n digits at s; -1 if not. */
static int digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int koi_cat_time_utc(const char *s, koi_cat_time *t) {
    /* each part is looked at only once the one before it matched: never past the NUL */
    int y, mo, d, h, mi, sec = 0;
    if (!s || (y = digits(s, 4)) < 1 || s[4] != '-' || (mo = digits(s + 5, 2)) < 1 || mo > 12 ||
        s[7] != '-' || (d = digits(s + 8, 2)) < 1)
        return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap)) return 0;
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || (h = digits(s + 11, 2)) < 0 || h > 23 ||
        s[13] != ':' || (mi = digits(s + 14, 2)) < 0 || mi > 59)
        return 0;
    const char *p = s + 16;
    double frac = 0;
    if (*p == ':') {
        if ((sec = digits(p + 1, 2)) < 0 || sec > 60) return 0; /* 60: a leap second */
        p += 3;
        if ((*p == '.' || *p == ',') && p[1] >= '0' && p[1] <= '9')
            for (double scale = 0.1; *++p >= '0' && *p <= '9'; scale /= 10)
                frac += (*p - '0') * scale;
    }
    int off = 0; /* minutes east of UTC */
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = digits(p + 1, 2), om = 0;
        if (oh < 0 || oh > 23) return 0;
        const char *q = p + 3;
        int colon = *q == ':';
        q += colon;
        if (*q || colon) {
            if ((om = digits(q, 2)) < 0 || om > 59) return 0;
            q += 2;
        }
        off = (*p == '-' ? -1 : 1) * (oh * 60 + om);
        p = q;
    }
    if (*p) return 0;
    int64_t at = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off * 60;
    int64_t day = (at >= 0 ? at : at - 86399) / 86400, in_day = at - day * 86400;
    civil_from_days(day, &t->year, &t->month, &t->day);
    t->hour = (int)(in_day / 3600), t->minute = (int)(in_day / 60 % 60);
    t->second = (double)(in_day % 60) + (frac < 0.9995 ? frac : 0.999);
    return t->year >= 1 && t->year <= 9999;
}

void koi_cat_set_time(OGRFeatureH f, int i, const char *text) {
    koi_cat_time t;
    if (OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f, i)) != OFTDateTime)
        koi_cat_set_str(f, i, text); /* the TEXT column of an older GeoPackage: as it was */
    else if (koi_cat_time_utc(text, &t))
        OGR_F_SetFieldDateTimeEx(f, i, t.year, t.month, t.day, t.hour, t.minute, (float)t.second,
                                 100 /* UTC */);
    else
        OGR_F_UnsetField(f, i);
}

static void set_count(OGRFeatureH f, int i, uint32_t v) {
    if (v)
        OGR_F_SetFieldInteger(f, i, (int)v);
    else
        OGR_F_UnsetField(f, i);
}

/* The layer's row feature, made once and reused for every row rather than a feature of ~40
 * fields made and destroyed per row (10-20 ms of 10,000 photos). NULL if out of memory. */
static OGRFeatureH row(OGRFeatureH *cached, OGRLayerH layer) {
    if (!*cached) *cached = OGR_F_Create(OGR_L_GetLayerDefn(layer));
    if (*cached) OGR_F_SetFID(*cached, OGRNullFID);
    return *cached;
}

static OGRGeometryH polygon(const double *ring, size_t n) {
    OGRGeometryH r = OGR_G_CreateGeometry(wkbLinearRing);
    OGR_G_SetPoints(r, (int)n, ring, 2 * sizeof(double), ring + 1, 2 * sizeof(double), NULL, 0);
    OGRGeometryH p = OGR_G_CreateGeometry(wkbPolygon);
    OGR_G_AddGeometryDirectly(p, r);
    return p;
}

/* The hits rows of one shot. */
int koi_cat_write_hits(koi_cat *c, const char *path, const koi_cat_shot *s) {
    const int *y = c->hit_ix;
    int ok = 1;
    for (size_t i = 0; ok && i < s->n_hits; i++) {
        const koi_cat_hit *h = &s->hits[i];
        OGRFeatureH g = row(&c->hit_row, c->hits);
        if (!g) return 0;
        koi_cat_set_str(g, y[KOI_H_PATH], path);
        koi_cat_set_str(g, y[KOI_H_SHOT_ID], s->id);
        OGR_F_SetFieldInteger64(g, y[KOI_H_SITE_ID], h->site_id);
        koi_cat_set_str(g, y[KOI_H_NAME], h->name);
        koi_cat_set_str(g, y[KOI_H_CATEGORY], h->category);
        set_num(g, y[KOI_H_DISTANCE_M], h->distance_m);
        set_num(g, y[KOI_H_FRACTION], h->fraction);
        set_num(g, y[KOI_H_GSD_M], h->gsd_m);
        ok = OGR_L_CreateFeature(c->hits, g) == OGRERR_NONE;
    }
    return ok;
}

static int write_shot(koi_cat *c, const koi_cat_file *file, const koi_cat_shot *s, const char *when,
                      int64_t version) {
    const int *x = c->fp_ix;
    OGRFeatureH f = row(&c->fp_row, c->fp);
    if (!f) return 0;
    koi_cat_set_str(f, x[KOI_F_PATH], file->path);
    koi_cat_set_str(f, x[KOI_F_SHOT_ID], s->id);
    koi_cat_set_time(f, x[KOI_F_TIME], s->time);
    koi_cat_set_str(f, x[KOI_F_CAMERA], s->camera);
    koi_cat_set_str(f, x[KOI_F_VERDICT], ko_verdict_str(s->verdict));
    koi_cat_set_str(f, x[KOI_F_REASON], s->reason);
    OGR_F_SetFieldInteger(f, x[KOI_F_HIT_COUNT], (int)s->n_hits);
    koi_cat_set_str(f, x[KOI_F_SITE_IDS], s->site_ids);
    koi_cat_set_str(f, x[KOI_F_CATEGORIES], s->categories);
    const ko_pose *p = &s->pose;
    const ko_camera *k = &s->cam;
    const double num[][2] = {{KOI_F_LAT, p->lat},
                             {KOI_F_LON, p->lon},
                             {KOI_F_HEIGHT, p->height_m},
                             {KOI_F_YAW, p->yaw_deg},
                             {KOI_F_PITCH, p->pitch_deg},
                             {KOI_F_ROLL, p->roll_deg},
                             {KOI_F_FOCAL_MM, k->focal_mm},
                             {KOI_F_SENSOR_W_MM, k->sensor_w_mm},
                             {KOI_F_SENSOR_H_MM, k->sensor_h_mm},
                             {KOI_F_CX_PX, k->cx_px},
                             {KOI_F_CY_PX, k->cy_px},
                             {KOI_F_K1, k->k1},
                             {KOI_F_K2, k->k2},
                             {KOI_F_K3, k->k3},
                             {KOI_F_P1, k->p1},
                             {KOI_F_P2, k->p2},
                             {KOI_F_ALT_MSL, p->alt_msl_m},
                             {KOI_F_ALT_ELLIPSOID, p->alt_ellps_m},
                             {KOI_F_TAKEOFF_LAT, p->takeoff_lat},
                             {KOI_F_TAKEOFF_LON, p->takeoff_lon}};
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++)
        set_num(f, x[(int)num[i][0]], num[i][1]);
    set_count(f, x[KOI_F_WIDTH_PX], k->width_px);
    set_count(f, x[KOI_F_HEIGHT_PX], k->height_px);
    koi_cat_set_time(f, x[KOI_F_CHECKED_AT], when);
    OGR_F_SetFieldInteger64(f, x[KOI_F_STORE_VERSION], version);
    OGR_F_SetFieldInteger(f, x[KOI_F_CHECKED], s->checked ? 1 : 0);
    OGR_F_SetGeometryDirectly(f, s->ring ? polygon(s->ring, s->n_ring) : NULL);
    int ok = OGR_L_CreateFeature(c->fp, f) == OGRERR_NONE;
    return ok && koi_cat_write_hits(c, file->path, s);
}

static int write_file_row(koi_cat *c, const koi_cat_file *file, const char *when, int64_t version);

/* A file's rows go: it is written again. */
static int delete_path(koi_cat *c, const char *path) {
    char *q = CPLEscapeString(path, -1, CPLES_SQL);
    const char *tables[] = {"hits", "footprints", "files"};
    int ok = 1;
    for (int i = 0; ok && i < 3; i++)
        ok = koi_cat_sql_ok(c, CPLSPrintf("DELETE FROM %s WHERE path = '%s'", tables[i], q));
    CPLFree(q);
    return ok;
}

int koi_cat_write(koi_cat *c, const koi_cat_file *file, int replace, const char *when,
                  int64_t version) {
    /* PostgreSQL: another process may have written the file since this run read the files
     * table (the same shard run twice, a requeued task): its rows are replaced, never
     * doubled (the unique indexes would refuse them, failing the run) */
    if ((replace || c->pg) && !delete_path(c, file->path)) return 0;
    first_error fe = {""};
    CPLPushErrorHandlerEx(keep_first, &fe);
    int ok = 1;
    for (size_t i = 0; ok && i < file->n_shots; i++)
        ok = write_shot(c, file, &file->shots[i], when, version);
    ok = ok && write_file_row(c, file, when, version);
    CPLPopErrorHandler();
    if (!ok) sql_failed(c, CPLSPrintf("writing the rows of %s", file->path), fe.msg);
    return ok;
}

static int write_file_row(koi_cat *c, const koi_cat_file *file, const char *when, int64_t version) {
    OGRFeatureH f = row(&c->file_row, c->files);
    if (!f) return 0;
    const int *x = c->file_ix;
    koi_cat_set_str(f, x[KOI_L_PATH], file->path);
    OGR_F_SetFieldInteger64(f, x[KOI_L_SIZE], file->size);
    OGR_F_SetFieldInteger64(f, x[KOI_L_MTIME], file->mtime);
    koi_cat_set_str(f, x[KOI_L_SHA256], file->sha256[0] ? file->sha256 : NULL);
    OGR_F_SetFieldInteger(f, x[KOI_L_SHOTS], (int)file->n_shots);
    koi_cat_set_str(f, x[KOI_L_VERDICT], ko_verdict_str(file->verdict));
    koi_cat_set_time(f, x[KOI_L_CHECKED_AT], when);
    OGR_F_SetFieldInteger64(f, x[KOI_L_STORE_VERSION], version);
    return OGR_L_CreateFeature(c->files, f) == OGRERR_NONE;
}

int koi_cat_counts_read(koi_cat *c, koi_cat_counts *n) {
    memset(n, 0, sizeof *n);
    CPLErrorReset();
    /* clear shots are only looked for (the policy needs to know the batch is not empty), the
     * others counted through their partial index */
    int64_t any_clear =
        koi_cat_sql_count(c,
                          "SELECT count(*) FROM (SELECT 1 FROM footprints WHERE verdict = 'clear' "
                          "LIMIT 1) AS x");
    if (any_clear < 0) return 0;
    n->clear = (size_t)any_clear;
    OGRLayerH r = GDALDatasetExecuteSQL(c->ds,
                                        "SELECT verdict, checked, count(*) AS n FROM footprints "
                                        "WHERE coalesce(verdict, '') <> 'clear' GROUP BY "
                                        "verdict, checked",
                                        NULL, NULL);
    if (!r) return 0;
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(r))) {
        const char *v = OGR_F_IsFieldSetAndNotNull(f, 0) ? OGR_F_GetFieldAsString(f, 0) : "";
        int checked = OGR_F_IsFieldSetAndNotNull(f, 1) && OGR_F_GetFieldAsInteger(f, 1) == 1;
        GIntBig k = OGR_F_GetFieldAsInteger64(f, 2);
        size_t m = k > 0 ? (size_t)k : 0;
        if (!strcmp(v, "clear") || !strcmp(v, "flagged"))
            *(v[0] == 'c' ? &n->clear : &n->flagged) += m;
        else if (!strcmp(v, "unknown") && checked)
            n->unknown += m;
        else
            n->not_checked += m;
        OGR_F_Destroy(f);
    }
    GDALDatasetReleaseResultSet(c->ds, r);
    return CPLGetLastErrorType() < CE_Failure;
}
