#include "catalog.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cat_shot_free(cat_shot *s) {
    free(s->id), free(s->time), free(s->camera), free(s->reason);
    free(s->site_ids), free(s->categories), free(s->ring);
    for (size_t k = 0; k < s->n_hits; k++)
        free(s->hits[k].name), free(s->hits[k].category);
    free(s->hits);
    memset(s, 0, sizeof *s);
}

void cat_file_free(cat_file *f) {
    for (size_t i = 0; i < f->n_shots; i++)
        cat_shot_free(&f->shots[i]);
    free(f->shots);
    free(f->path);
    free(f->site_names);
    memset(f, 0, sizeof *f);
}

typedef struct field {
    const char *name;
    OGRFieldType type;
} field;

/* Column lists; the enums name their positions, catalog_open() maps them to the layer's own
 * field indices (an older catalogue may order or lack them). */
enum {
    F_PATH,
    F_SHOT_ID,
    F_TIME,
    F_CAMERA,
    F_VERDICT,
    F_REASON,
    F_HIT_COUNT,
    F_SITE_IDS,
    F_CATEGORIES,
    F_LAT,
    F_LON,
    F_HEIGHT,
    F_YAW,
    F_PITCH,
    F_ROLL,
    F_FOCAL_MM,
    F_SENSOR_W_MM,
    F_SENSOR_H_MM,
    F_WIDTH_PX,
    F_HEIGHT_PX,
    F_CX_PX,
    F_CY_PX,
    F_K1,
    F_K2,
    F_K3,
    F_P1,
    F_P2,
    F_ALT_MSL,
    F_ALT_ELLIPSOID,
    F_TAKEOFF_LAT,
    F_TAKEOFF_LON,
    F_CHECKED_AT,
    F_STORE_VERSION,
    F_CHECKED,
    F_COUNT
};
static const field fp_fields[] = {{"path", OFTString},
                                  {"shot_id", OFTString},
                                  {"time", OFTString},
                                  {"camera", OFTString},
                                  {"verdict", OFTString},
                                  {"reason", OFTString},
                                  {"hit_count", OFTInteger},
                                  {"site_ids", OFTString},
                                  {"categories", OFTString},
                                  {"lat", OFTReal},
                                  {"lon", OFTReal},
                                  {"height", OFTReal},
                                  {"yaw", OFTReal},
                                  {"pitch", OFTReal},
                                  {"roll", OFTReal},
                                  {"focal_mm", OFTReal},
                                  {"sensor_w_mm", OFTReal},
                                  {"sensor_h_mm", OFTReal},
                                  {"width_px", OFTInteger},
                                  {"height_px", OFTInteger},
                                  {"cx_px", OFTReal},
                                  {"cy_px", OFTReal},
                                  {"k1", OFTReal},
                                  {"k2", OFTReal},
                                  {"k3", OFTReal},
                                  {"p1", OFTReal},
                                  {"p2", OFTReal},
                                  {"alt_msl", OFTReal},
                                  {"alt_ellipsoid", OFTReal},
                                  {"takeoff_lat", OFTReal},
                                  {"takeoff_lon", OFTReal},
                                  {"checked_at", OFTString},
                                  {"store_version", OFTInteger64},
                                  {"checked", OFTInteger},
                                  {NULL, OFTString}};
enum {
    H_PATH,
    H_SHOT_ID,
    H_SITE_ID,
    H_NAME,
    H_CATEGORY,
    H_DISTANCE_M,
    H_FRACTION,
    H_GSD_M,
    H_COUNT
};
static const field hit_fields[] = {
    {"path", OFTString},           {"shot_id", OFTString},  {"site_id", OFTInteger64},
    {"name", OFTString},           {"category", OFTString}, {"distance_m", OFTReal},
    {"fraction_in_view", OFTReal}, {"gsd_m", OFTReal},      {NULL, OFTString}};
enum {
    L_PATH,
    L_SIZE,
    L_MTIME,
    L_SHA256,
    L_SHOTS,
    L_VERDICT,
    L_CHECKED_AT,
    L_STORE_VERSION,
    L_COUNT
};
static const field file_fields[] = {
    {"path", OFTString},       {"size", OFTInteger64},          {"mtime", OFTInteger64},
    {"sha256", OFTString},     {"shots", OFTInteger},           {"verdict", OFTString},
    {"checked_at", OFTString}, {"store_version", OFTInteger64}, {NULL, OFTString}};

static OGRLayerH layer(GDALDatasetH ds, const char *name, OGRwkbGeometryType g, const field *fields,
                       int *ix) {
    OGRLayerH l = GDALDatasetGetLayerByName(ds, name);
    if (!l) {
        OGRSpatialReferenceH srs = NULL;
        if (g != wkbNone) {
            srs = OSRNewSpatialReference(NULL);
            OSRSetWellKnownGeogCS(srs, "WGS84");
            OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
        }
        const char *opts[] = {"FID=fid", NULL};
        l = GDALDatasetCreateLayer(ds, name, srs, g, (char **)opts);
        if (srs) OSRRelease(srs);
    }
    /* Columns a catalogue written by an older keepout lacks are added. */
    for (size_t i = 0; l && fields[i].name; i++) {
        if (OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), fields[i].name) < 0) {
            OGRFieldDefnH fd = OGR_Fld_Create(fields[i].name, fields[i].type);
            OGR_L_CreateField(l, fd, TRUE);
            OGR_Fld_Destroy(fd);
        }
        ix[i] = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), fields[i].name);
        if (ix[i] < 0) return NULL;
    }
    return l;
}

static void sql(catalog *c, const char *q) {
    OGRLayerH r = GDALDatasetExecuteSQL(c->ds, q, NULL, NULL);
    if (r) GDALDatasetReleaseResultSet(c->ds, r);
}

/* The layers (columns an older catalogue lacks are added) and the indexes that keep one row per
 * file and per shot, whatever happens: re-runs replace, never duplicate. */
static int setup(catalog *c) {
    c->fp = layer(c->ds, "footprints", wkbPolygon, fp_fields, c->fp_ix);
    c->hits = c->fp ? layer(c->ds, "hits", wkbNone, hit_fields, c->hit_ix) : NULL;
    c->files = c->hits ? layer(c->ds, "files", wkbNone, file_fields, c->file_ix) : NULL;
    if (!c->fp || !c->hits || !c->files) return 0;
    sql(c, "CREATE UNIQUE INDEX IF NOT EXISTS ko_files_path ON files(path)");
    sql(c, "CREATE UNIQUE INDEX IF NOT EXISTS ko_footprints_shot ON footprints(path, shot_id)");
    sql(c, "CREATE INDEX IF NOT EXISTS ko_hits_path ON hits(path)");
    /* the shots that are not clear, counted for every run's exit status (catalog_counts):
     * ~0.2 ms for 2,000 of 100,000 shots, where counting them all took 72 ms */
    sql(c,
        "CREATE INDEX IF NOT EXISTS ko_footprints_unclear ON footprints(verdict, checked) "
        "WHERE coalesce(verdict, '') <> 'clear'");
    return 1;
}

static void unlink_sqlite(const char *path) {
    const char *suffix[] = {"", "-journal", "-wal", "-shm"};
    for (int i = 0; i < 4; i++)
        VSIUnlink(CPLSPrintf("%s%s", path, suffix[i]));
}

/* A new GeoPackage is made whole as NAME.partial.gpkg and renamed into place: a run killed
 * meanwhile leaves no half-made file that the next run could not open (the next run starts
 * that one afresh). Its layers are made there too, and the file closed, so that GDAL writes
 * their R-trees, R-tree triggers and feature counts before the first row. The writing session
 * then never holds a layer it created itself: for such a layer GDAL builds the R-tree and the
 * counts in memory and writes them only at the close, outside every transaction, so that a
 * run that failed (disk full) or was killed left committed rows out of step with the R-tree
 * and the counts, or an R-tree of rows that were rolled back (issue 17). Mode 0600 (a
 * catalogue says where protected sites were seen) unless the umask is stricter; SQLite gives
 * the journal the database's mode. */
static int create_gpkg(const char *name) {
    char *tmp = CPLStrdup(CPLSPrintf("%s.partial.gpkg", name));
    unlink_sqlite(tmp);
    GDALDriverH gpkg = GDALGetDriverByName("GPKG");
    /* No creation options to check: validating them makes the GPKG driver read every tiling
     * scheme file in GDAL's data directory first (~4 ms of each tag run, hyperfine). */
    CPLSetThreadLocalConfigOption("GDAL_VALIDATE_CREATION_OPTIONS", "NO");
    GDALDatasetH ds = gpkg ? GDALCreate(gpkg, tmp, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    CPLSetThreadLocalConfigOption("GDAL_VALIDATE_CREATION_OPTIONS", NULL);
    int ok = ds != NULL;
    if (ok) {
        mode_t mask = umask(0);
        umask(mask);
        ok = chmod(tmp, 0600 & ~mask) == 0;
    }
    if (ok) {
        catalog c;
        memset(&c, 0, sizeof c);
        c.ds = ds;
        /* one transaction for the layers, their ~40 columns and the indexes: each would
         * otherwise commit, and sync the disk, on its own */
        int tx = GDALDatasetStartTransaction(ds, FALSE) == OGRERR_NONE;
        ok = setup(&c);
        if (tx) ok = GDALDatasetCommitTransaction(ds) == OGRERR_NONE && ok;
    }
    /* the close writes the R-trees, their triggers and the counts */
    if (ds) {
        CPLErrorReset();
        GDALClose(ds);
        ok = ok && CPLGetLastErrorType() != CE_Failure;
    }
    ok = ok && VSIRename(tmp, name) == 0;
    if (!ok) unlink_sqlite(tmp);
    CPLFree(tmp);
    return ok;
}

int catalog_open(catalog *c, const char *name) {
    memset(c, 0, sizeof *c);
    ko_global_init(); /* GDAL's drivers: GPKG, PostgreSQL */
    int pg = STARTS_WITH_CI(name, "PG:");
    VSIStatBufL st;
    if (!pg && VSIStatL(name, &st) != 0 && !create_gpkg(name)) {
        fprintf(stderr, "keepout tag: cannot create the catalogue %s: %s\n", name,
                CPLGetLastErrorMsg());
        return 0;
    }
    const char *drivers[] = {pg ? "PostgreSQL" : "GPKG", NULL};
    c->ds = GDALOpenEx(name, GDAL_OF_VECTOR | GDAL_OF_UPDATE | GDAL_OF_VERBOSE_ERROR, drivers, NULL,
                       NULL);
    if (!c->ds) {
        fprintf(stderr, "keepout tag: cannot open the catalogue %s: %s\n", name,
                CPLGetLastErrorMsg());
        return 0;
    }
    /* the layers are there (create_gpkg); columns an older catalogue lacks are added in one
     * transaction */
    int tx = GDALDatasetStartTransaction(c->ds, FALSE) == OGRERR_NONE;
    int ok = setup(c);
    if (tx) ok = GDALDatasetCommitTransaction(c->ds) == OGRERR_NONE && ok;
    if (!ok) {
        fprintf(stderr, "keepout tag: %s: cannot create the catalogue layers: %s\n", name,
                CPLGetLastErrorMsg());
        catalog_close(c);
        return 0;
    }
    return 1;
}

void catalog_close(catalog *c) {
    if (c->in_tx) catalog_rollback(c); /* a write failed: what was not committed is dropped */
    if (c->failed) CPLPushErrorHandler(CPLQuietErrorHandler);
    OGRFeatureH rows[] = {c->fp_row, c->hit_row, c->file_row};
    for (int i = 0; i < 3; i++)
        if (rows[i]) OGR_F_Destroy(rows[i]);
    if (c->ds) GDALClose(c->ds);
    if (c->failed) CPLPopErrorHandler();
    memset(c, 0, sizeof *c);
}

/* The first failure of a commit is the cause (disk full); GDAL's own clean-up after it fails
 * in turn and would bury it. */
static void CPL_STDCALL keep_first_error(CPLErr e, CPLErrorNum n, const char *msg) {
    (void)n;
    catalog *c = CPLGetErrorHandlerUserData();
    if (e >= CE_Failure && !c->error[0]) snprintf(c->error, sizeof c->error, "%s", msg);
}

int catalog_begin(catalog *c) {
    if (c->in_tx) return 1;
    c->in_tx = GDALDatasetStartTransaction(c->ds, FALSE) == OGRERR_NONE;
    return c->in_tx;
}

int catalog_commit(catalog *c) {
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

void catalog_rollback(catalog *c) {
    if (!c->failed) snprintf(c->error, sizeof c->error, "%s", CPLGetLastErrorMsg());
    c->failed = 1;
    if (!c->in_tx) return;
    c->in_tx = 0;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetRollbackTransaction(c->ds);
    CPLPopErrorHandler();
}

int catalog_flush(catalog *c) {
    c->error[0] = '\0';
    CPLPushErrorHandlerEx(keep_first_error, c);
    int ok = OGR_L_SyncToDisk(c->fp) == OGRERR_NONE && OGR_L_SyncToDisk(c->hits) == OGRERR_NONE &&
             OGR_L_SyncToDisk(c->files) == OGRERR_NONE;
    CPLPopErrorHandler();
    if (!ok) c->failed = 1;
    return ok;
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const cat_done *)a)->path, ((const cat_done *)b)->path);
}

int catalog_done(catalog *c, cat_done **out, size_t *n) {
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    OGR_L_ResetReading(c->files);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(c->files))) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            cat_done *d = realloc(*out, cap * sizeof *d);
            if (!d) {
                OGR_F_Destroy(f);
                return 0;
            }
            *out = d;
        }
        cat_done *d = &(*out)[*n];
        d->path = strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "path")));
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

const cat_done *catalog_find(const cat_done *done, size_t n, const char *path) {
    cat_done key = {(char *)path, 0, 0, ""};
    return n ? bsearch(&key, done, n, sizeof key, by_path) : NULL;
}

/* Row features are reused (one per layer): a value absent from this row is unset. */
static void set_num(OGRFeatureH f, int i, double v) {
    if (isfinite(v))
        OGR_F_SetFieldDouble(f, i, v);
    else
        OGR_F_UnsetField(f, i);
}

static void set_str(OGRFeatureH f, int i, const char *v) {
    if (v)
        OGR_F_SetFieldString(f, i, v);
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
static int write_hits(catalog *c, const char *path, const cat_shot *s) {
    const int *y = c->hit_ix;
    int ok = 1;
    for (size_t i = 0; ok && i < s->n_hits; i++) {
        const cat_hit *h = &s->hits[i];
        OGRFeatureH g = row(&c->hit_row, c->hits);
        if (!g) return 0;
        set_str(g, y[H_PATH], path);
        set_str(g, y[H_SHOT_ID], s->id);
        OGR_F_SetFieldInteger64(g, y[H_SITE_ID], h->site_id);
        set_str(g, y[H_NAME], h->name);
        set_str(g, y[H_CATEGORY], h->category);
        set_num(g, y[H_DISTANCE_M], h->distance_m);
        set_num(g, y[H_FRACTION], h->fraction);
        set_num(g, y[H_GSD_M], h->gsd_m);
        ok = OGR_L_CreateFeature(c->hits, g) == OGRERR_NONE;
    }
    return ok;
}

static int write_shot(catalog *c, const cat_file *file, const cat_shot *s, const char *when,
                      int64_t version) {
    const int *x = c->fp_ix;
    OGRFeatureH f = row(&c->fp_row, c->fp);
    if (!f) return 0;
    set_str(f, x[F_PATH], file->path);
    set_str(f, x[F_SHOT_ID], s->id);
    set_str(f, x[F_TIME], s->time);
    set_str(f, x[F_CAMERA], s->camera);
    set_str(f, x[F_VERDICT], ko_verdict_str(s->verdict));
    set_str(f, x[F_REASON], s->reason);
    OGR_F_SetFieldInteger(f, x[F_HIT_COUNT], (int)s->n_hits);
    set_str(f, x[F_SITE_IDS], s->site_ids);
    set_str(f, x[F_CATEGORIES], s->categories);
    const ko_pose *p = &s->pose;
    const ko_camera *k = &s->cam;
    const double num[][2] = {{F_LAT, p->lat},
                             {F_LON, p->lon},
                             {F_HEIGHT, p->height_m},
                             {F_YAW, p->yaw_deg},
                             {F_PITCH, p->pitch_deg},
                             {F_ROLL, p->roll_deg},
                             {F_FOCAL_MM, k->focal_mm},
                             {F_SENSOR_W_MM, k->sensor_w_mm},
                             {F_SENSOR_H_MM, k->sensor_h_mm},
                             {F_CX_PX, k->cx_px},
                             {F_CY_PX, k->cy_px},
                             {F_K1, k->k1},
                             {F_K2, k->k2},
                             {F_K3, k->k3},
                             {F_P1, k->p1},
                             {F_P2, k->p2},
                             {F_ALT_MSL, p->alt_msl_m},
                             {F_ALT_ELLIPSOID, p->alt_ellps_m},
                             {F_TAKEOFF_LAT, p->takeoff_lat},
                             {F_TAKEOFF_LON, p->takeoff_lon}};
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++)
        set_num(f, x[(int)num[i][0]], num[i][1]);
    set_count(f, x[F_WIDTH_PX], k->width_px);
    set_count(f, x[F_HEIGHT_PX], k->height_px);
    set_str(f, x[F_CHECKED_AT], when);
    OGR_F_SetFieldInteger64(f, x[F_STORE_VERSION], version);
    OGR_F_SetFieldInteger(f, x[F_CHECKED], s->checked ? 1 : 0);
    OGR_F_SetGeometryDirectly(f, s->ring ? polygon(s->ring, s->n_ring) : NULL);
    int ok = OGR_L_CreateFeature(c->fp, f) == OGRERR_NONE;
    return ok && write_hits(c, file->path, s);
}

static void delete_path(catalog *c, const char *path) {
    char *q = CPLEscapeString(path, -1, CPLES_SQL);
    const char *tables[] = {"hits", "footprints", "files"};
    for (int i = 0; i < 3; i++)
        sql(c, CPLSPrintf("DELETE FROM %s WHERE path = '%s'", tables[i], q));
    CPLFree(q);
}

int catalog_write(catalog *c, const cat_file *file, int replace, const char *when,
                  int64_t version) {
    if (replace) delete_path(c, file->path);
    for (size_t i = 0; i < file->n_shots; i++)
        if (!write_shot(c, file, &file->shots[i], when, version)) return 0;
    OGRFeatureH f = row(&c->file_row, c->files);
    if (!f) return 0;
    const int *x = c->file_ix;
    set_str(f, x[L_PATH], file->path);
    OGR_F_SetFieldInteger64(f, x[L_SIZE], file->size);
    OGR_F_SetFieldInteger64(f, x[L_MTIME], file->mtime);
    set_str(f, x[L_SHA256], file->sha256[0] ? file->sha256 : NULL);
    OGR_F_SetFieldInteger(f, x[L_SHOTS], (int)file->n_shots);
    set_str(f, x[L_VERDICT], ko_verdict_str(file->verdict));
    set_str(f, x[L_CHECKED_AT], when);
    OGR_F_SetFieldInteger64(f, x[L_STORE_VERSION], version);
    return OGR_L_CreateFeature(c->files, f) == OGRERR_NONE;
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

int cat_shot_fill(cat_shot *s, const ko_shot *shot, const ko_result *res) {
    memset(s, 0, sizeof *s);
    s->id = dup_or_null(shot->id);
    s->time = dup_or_null(shot->time);
    for (size_t i = 0; i < shot->n_extra; i++)
        if (!strcmp(shot->extra_keys[i], "camera")) s->camera = dup_or_null(shot->extra_values[i]);
    s->verdict = ko_result_verdict(res);
    s->checked = ko_result_checked(res);
    s->reason = dup_or_null(ko_result_reason(res));
    s->pose = shot->pose;
    s->cam = shot->camera;
    const ko_footprint *fp = ko_result_footprint(res);
    if (fp) {
        const double *r = ko_footprint_ring(fp, &s->n_ring);
        if ((s->ring = malloc(s->n_ring * 2 * sizeof(double))))
            memcpy(s->ring, r, s->n_ring * 2 * sizeof(double));
    }
    /* the flat columns from the library's summary, as every face has them */
    ko_result_summary sum;
    ko_result_summary_init(&sum);
    if (ko_result_summarize(NULL, res, &sum) != KO_OK) return 0;
    s->site_ids = sum.hit_count ? strdup(sum.site_ids) : NULL; /* none: the column unset */
    s->categories = sum.hit_count ? strdup(sum.categories) : NULL;
    size_t disclosed = sum.hit_count;
    ko_result_summary_clear(&sum);
    size_t n = ko_result_count(res);
    s->hits = calloc(n ? n : 1, sizeof *s->hits);
    if (!s->id || !s->reason || (fp && !s->ring) || !s->hits) return 0;
    if (disclosed && (!s->site_ids || !s->categories)) return 0;
    for (size_t i = 0; i < n; i++) {
        const ko_finding *f = ko_result_finding(res, i);
        if (!f->disclosed) continue;
        cat_hit *h = &s->hits[s->n_hits++];
        h->site_id = f->site->site_id;
        h->name = strdup(f->site->name ? f->site->name : "");
        h->category = strdup(f->site->category);
        h->distance_m = f->site->distance_m;
        h->fraction = f->site->overlap;
        h->gsd_m = f->gsd_m;
        if (!h->name || !h->category) return 0;
    }
    return 1;
}

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

/* A statement whose failure matters: 0 (the cause kept in c->error) if it failed. */
static int sql_ok(catalog *c, const char *q) {
    CPLErrorReset();
    sql(c, q);
    if (CPLGetLastErrorType() < CE_Failure) return 1;
    if (!c->error[0]) snprintf(c->error, sizeof c->error, "%s", CPLGetLastErrorMsg());
    return 0;
}

/* Records the first cause of a failed recheck; returns 0. */
static int recheck_failed(catalog *c, const char *why) {
    if (!c->error[0]) snprintf(c->error, sizeof c->error, "%s", why);
    return 0;
}

int catalog_recheck(catalog *c, ko_context *ctx, ko_sites *sites, const ko_check_options *o,
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
            GIntBig *g = realloc(fids, cap * sizeof *g);
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
    int ok =
        catalog_begin(c) ? sql_ok(c, "DELETE FROM hits") : recheck_failed(c, CPLGetLastErrorMsg());
    for (size_t i = 0; ok && i < n; i++) {
        CPLErrorReset();
        f = OGR_L_GetFeature(c->fp, fids[i]);
        if (!f) {
            ok = recheck_failed(c, CPLSPrintf("footprint row %lld cannot be read back: %s",
                                              (long long)fids[i], CPLGetLastErrorMsg()));
            break;
        }
        char *path = strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "path")));
        char *id = strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "shot_id")));
        char *old = strdup(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "verdict")));
        if (!path || !id || !old) ok = recheck_failed(c, "out of memory");
        (*n_total)++;
        ko_shot shot;
        if (ok) stored_shot(f, &shot, path, id);
        int unreadable = !OGR_F_GetGeometryRef(f); /* unknown when read: stays so */
        ko_result *res = NULL;
        if (ok && !unreadable && ko_check_shot(ctx, sites, &shot, o, &res) != KO_OK)
            ok = recheck_failed(c, CPLSPrintf("site store: %s", ko_errmsg(ctx)));
        if (ok && res) {
            cat_shot s;
            ok = cat_shot_fill(&s, &shot, res) || recheck_failed(c, "out of memory");
            if (ok) {
                const int *x = c->fp_ix;
                set_str(f, x[F_VERDICT], ko_verdict_str(s.verdict));
                set_str(f, x[F_REASON], s.reason);
                OGR_F_SetFieldInteger(f, x[F_HIT_COUNT], (int)s.n_hits);
                OGR_F_SetFieldString(f, x[F_SITE_IDS], s.site_ids ? s.site_ids : "");
                OGR_F_SetFieldString(f, x[F_CATEGORIES], s.categories ? s.categories : "");
                set_str(f, x[F_CHECKED_AT], when);
                OGR_F_SetFieldInteger64(f, x[F_STORE_VERSION], version);
                CPLErrorReset();
                ok = (OGR_L_SetFeature(c->fp, f) == OGRERR_NONE && write_hits(c, path, &s)) ||
                     recheck_failed(c, CPLGetLastErrorMsg());
                *n_changed += strcmp(old, ko_verdict_str(s.verdict)) != 0;
            }
            cat_shot_free(&s);
        }
        ko_result_destroy(res);
        free(path), free(id), free(old);
        OGR_F_Destroy(f);
    }
    free(fids);
    /* files.verdict: the worst verdict of each file's shots again */
    ok = ok &&
         sql_ok(c,
                "UPDATE files SET verdict = (SELECT CASE WHEN sum(verdict = 'unknown') > 0 "
                "THEN 'unknown' WHEN sum(verdict = 'flagged') > 0 THEN 'flagged' ELSE 'clear' "
                "END FROM footprints WHERE footprints.path = files.path)") &&
         sql_ok(c, CPLSPrintf("UPDATE files SET store_version = %lld", (long long)version));
    if (!ok) {
        char why[sizeof c->error];
        snprintf(why, sizeof why, "%s", c->error);
        catalog_rollback(c);
        snprintf(c->error, sizeof c->error, "%s", why);
        return 0;
    }
    return catalog_commit(c);
}

/* The single integer a query gives, or -1. */
static int64_t sql_count(catalog *c, const char *q) {
    OGRLayerH r = GDALDatasetExecuteSQL(c->ds, q, NULL, NULL);
    if (!r) return -1;
    OGRFeatureH f = OGR_L_GetNextFeature(r);
    int64_t v = f ? OGR_F_GetFieldAsInteger64(f, 0) : -1;
    if (f) OGR_F_Destroy(f);
    GDALDatasetReleaseResultSet(c->ds, r);
    return v;
}

int catalog_counts(catalog *c, cat_counts *n) {
    memset(n, 0, sizeof *n);
    CPLErrorReset();
    /* clear shots are only looked for (the policy needs to know the batch is not empty), the
     * others counted through their partial index */
    int64_t any_clear =
        sql_count(c,
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
