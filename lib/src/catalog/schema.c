/* The catalogue's layers, their columns and indexes; opening and creating a catalogue. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <ogr_srs_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"

/* The column lists, in the order of the KOI_F_, KOI_H_ and KOI_L_ positions. */
typedef struct field {
    const char *name;
    OGRFieldType type;
} field;

static const field fp_fields[] = {{"path", OFTString},
                                  {"shot_id", OFTString},
                                  {"time", OFTDateTime},
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
                                  {"checked_at", OFTDateTime},
                                  {"store_version", OFTInteger64},
                                  {"checked", OFTInteger},
                                  {NULL, OFTString}};
static const field hit_fields[] = {
    {"path", OFTString},           {"shot_id", OFTString},  {"site_id", OFTInteger64},
    {"name", OFTString},           {"category", OFTString}, {"distance_m", OFTReal},
    {"fraction_in_view", OFTReal}, {"gsd_m", OFTReal},      {NULL, OFTString}};
static const field file_fields[] = {
    {"path", OFTString},         {"size", OFTInteger64},          {"mtime", OFTInteger64},
    {"sha256", OFTString},       {"shots", OFTInteger},           {"verdict", OFTString},
    {"checked_at", OFTDateTime}, {"store_version", OFTInteger64}, {NULL, OFTString}};

static OGRLayerH layer(GDALDatasetH ds, int pg, const char *name, OGRwkbGeometryType g,
                       const field *fields, int *ix) {
    OGRLayerH l = GDALDatasetGetLayerByName(ds, name);
    if (!l) {
        OGRSpatialReferenceH srs = NULL;
        if (g != wkbNone) {
            srs = OSRNewSpatialReference(NULL);
            OSRSetWellKnownGeogCS(srs, "WGS84");
            OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
        }
        /* the same names on both backends: GDAL's PostgreSQL driver would call the geometry
         * column wkb_geometry */
        const char *opts[] = {"FID=fid", "GEOMETRY_NAME=geom", NULL};
        l = GDALDatasetCreateLayer(ds, name, srs, g, (char **)opts);
        if (srs) OSRRelease(srs);
        /* and the same order: the PostgreSQL driver defers its CREATE TABLE to the first row
         * and puts the geometry column last; made now (fid, geom), the columns follow it, as
         * in a GeoPackage */
        if (l && g != wkbNone && pg) OGR_L_ResetReading(l);
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

/* Whether the catalogue has the index: 1 yes, 0 no, -1 (the cause in c->error) if it cannot
 * be told. */
static int has_index(koi_cat *c, const char *name) {
    const char *q = c->pg
                        ? CPLSPrintf(
                              "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() "
                              "AND indexname = '%s'",
                              name)
                        : CPLSPrintf(
                              "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = "
                              "'%s'",
                              name);
    int64_t n = koi_cat_sql_count(c, q);
    return n < 0 ? -1 : n > 0;
}

/* The indexes that keep one row per file and per shot, whatever happens: re-runs replace,
 * never duplicate. Each is made only if it is missing: CREATE INDEX, even IF NOT EXISTS, locks
 * its table against the inserts of every other shard writing into it (PostgreSQL: a SHARE
 * lock, which deadlocked with a shard inserting, issue 19). */
static const struct {
    const char *name, *create;
} indexes[] = {
    {"ko_files_path", "CREATE UNIQUE INDEX ko_files_path ON files(path)"},
    {"ko_footprints_shot", "CREATE UNIQUE INDEX ko_footprints_shot ON footprints(path, shot_id)"},
    {"ko_hits_path", "CREATE INDEX ko_hits_path ON hits(path)"},
    /* the shots that are not clear, counted for every run's exit status (koi_cat_counts_read):
     * ~0.2 ms for 2,000 of 100,000 shots, where counting them all took 72 ms */
    {"ko_footprints_unclear",
     "CREATE INDEX ko_footprints_unclear ON footprints(verdict, checked) "
     "WHERE coalesce(verdict, '') <> 'clear'"},
};

/* The layers (columns an older catalogue lacks are added) and the indexes. 0 (the cause in
 * c->error) on failure. */
static int setup(koi_cat *c) {
    CPLErrorReset();
    c->fp = layer(c->ds, c->pg, "footprints", wkbPolygon, fp_fields, c->fp_ix);
    c->hits = c->fp ? layer(c->ds, c->pg, "hits", wkbNone, hit_fields, c->hit_ix) : NULL;
    c->files = c->hits ? layer(c->ds, c->pg, "files", wkbNone, file_fields, c->file_ix) : NULL;
    if (!c->fp || !c->hits || !c->files || CPLGetLastErrorType() >= CE_Failure) {
        if (!c->error[0])
            snprintf(c->error, sizeof c->error, "cannot create the catalogue layers: %s",
                     CPLGetLastErrorMsg());
        return 0;
    }
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
        int has = has_index(c, indexes[i].name);
        if (has < 0 || (!has && !koi_cat_sql_ok(c, indexes[i].create))) return 0;
    }
    return koi_cat_style(c); /* QGIS opens footprints coloured by verdict */
}

/* A PostgreSQL catalogue written before issue 19 (geometry column wkb_geometry, times as
 * character varying) is brought to the schema of today once, under the advisory lock, in the
 * transaction that sets up the catalogue: the column renamed, the times converted to
 * timestamp with time zone as the writer now makes them (an offset converted to UTC, none
 * taken as UTC, text that is not a time NULL). ALTER TABLE rewrites the table once; every
 * later run finds nothing to do (one catalogue query). The columns keep their places: a
 * migrated catalogue's geom stays the last column of footprints (PostgreSQL cannot move
 * one). 0 (the cause in c->error) on failure. */
static const char old_columns[] =
    "SELECT count(*) FROM pg_attribute WHERE attnum > 0 AND NOT attisdropped AND ("
    "(attrelid = to_regclass('footprints') AND (attname = 'wkb_geometry' OR (attname IN "
    "('time', 'checked_at') AND atttypid <> 'timestamptz'::regtype))) OR (attrelid = "
    "to_regclass('files') AND attname = 'checked_at' AND atttypid <> "
    "'timestamptz'::regtype))";

static int migrate_pg(koi_cat *c) {
    int64_t n = koi_cat_sql_count(c, old_columns);
    if (n <= 0) return n == 0;
    static const char *const steps[] = {
        /* only where there is no geom column yet */
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
        "to_regclass('footprints') AND attname = 'wkb_geometry' AND NOT attisdropped) AND NOT "
        "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('footprints') AND "
        "attname = 'geom' AND NOT attisdropped) THEN ALTER TABLE footprints RENAME COLUMN "
        "wkb_geometry TO geom; IF to_regclass('footprints_wkb_geometry_geom_idx') IS NOT NULL "
        "AND to_regclass('footprints_geom_geom_idx') IS NULL THEN ALTER INDEX "
        "footprints_wkb_geometry_geom_idx RENAME TO footprints_geom_geom_idx; END IF; END IF; "
        "END $$",
        /* ISO 8601 text to UTC; this session's own function, gone with it */
        "CREATE OR REPLACE FUNCTION pg_temp.ko_utc(t text) RETURNS timestamptz LANGUAGE "
        "plpgsql AS $$ BEGIN RETURN CASE WHEN t ~ '[0-9]:[0-9][0-9](:[0-9][0-9]([.,][0-9]+)?)? "
        "?([Zz]|[+-][0-9][0-9](:?[0-9][0-9])?)$' THEN t::timestamptz ELSE t::timestamp AT TIME "
        "ZONE 'UTC' END; EXCEPTION WHEN others THEN RETURN NULL; END $$",
        "DO $$ DECLARE r record; BEGIN FOR r IN SELECT c.relname, a.attname FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid WHERE a.attnum > 0 AND NOT a.attisdropped AND "
        "a.atttypid <> 'timestamptz'::regtype AND ((a.attrelid = to_regclass('footprints') AND "
        "a.attname IN ('time', 'checked_at')) OR (a.attrelid = to_regclass('files') AND "
        "a.attname = 'checked_at')) LOOP EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE "
        "timestamptz USING pg_temp.ko_utc(%I::text)', r.relname, r.attname, r.attname); END "
        "LOOP; END $$"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (!koi_cat_sql_ok(c, steps[i])) return 0;
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
    char why[512] = "";
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
        koi_cat c;
        memset(&c, 0, sizeof c);
        c.ds = ds;
        /* one transaction for the layers, their ~40 columns and the indexes: each would
         * otherwise commit, and sync the disk, on its own */
        int tx = GDALDatasetStartTransaction(ds, FALSE) == OGRERR_NONE;
        ok = setup(&c);
        if (tx) ok = GDALDatasetCommitTransaction(ds) == OGRERR_NONE && ok;
        if (!ok) snprintf(why, sizeof why, "%s", c.error[0] ? c.error : CPLGetLastErrorMsg());
    }
    /* the close writes the R-trees, their triggers and the counts */
    if (ds) {
        CPLErrorReset();
        GDALClose(ds);
        ok = ok && CPLGetLastErrorType() != CE_Failure;
    }
    ok = ok && VSIRename(tmp, name) == 0;
    if (!ok) unlink_sqlite(tmp);
    if (!ok && why[0]) CPLError(CE_Failure, CPLE_AppDefined, "%s", why);
    CPLFree(tmp);
    return ok;
}

ko_status koi_cat_open(ko_context *ctx, koi_cat *c, const char *name) {
    memset(c, 0, sizeof *c);
    ko_global_init(); /* GDAL's drivers: GPKG, PostgreSQL */
    int pg = STARTS_WITH_CI(name, "PG:");
    VSIStatBufL st;
    if (!pg && VSIStatL(name, &st) != 0 && !create_gpkg(name))
        return koi_error(ctx, KO_ERR_IO, "cannot create the catalogue %s: %s", name,
                         CPLGetLastErrorMsg());
    const char *drivers[] = {pg ? "PostgreSQL" : "GPKG", NULL};
    c->ds = GDALOpenEx(name, GDAL_OF_VECTOR | GDAL_OF_UPDATE | GDAL_OF_VERBOSE_ERROR, drivers, NULL,
                       NULL);
    if (!c->ds)
        return koi_error(ctx, KO_ERR_IO, "cannot open the catalogue %s: %s", name,
                         CPLGetLastErrorMsg());
    c->pg = pg;
    /* the layers are there (create_gpkg); columns an older catalogue lacks are added in one
     * transaction. PostgreSQL: shards that start together into a new catalogue all come here;
     * the first to take the advisory lock makes the tables and indexes, the others wait for
     * its commit and then find them (the lock is the transaction's: a process that dies
     * holding it releases it). */
    int ok = GDALDatasetStartTransaction(c->ds, FALSE) == OGRERR_NONE;
    if (!ok)
        snprintf(c->error, sizeof c->error, "cannot start a transaction: %s", CPLGetLastErrorMsg());
    ok = ok && (!pg || koi_cat_sql_count(
                           c, "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(" KOI_CAT_LOCK
                              ")) AS l") >= 0);
    ok = ok && (!pg || migrate_pg(c)) && setup(c);
    if (ok && GDALDatasetCommitTransaction(c->ds) != OGRERR_NONE) {
        snprintf(c->error, sizeof c->error, "COMMIT: %s", CPLGetLastErrorMsg());
        ok = 0;
    }
    if (!ok) {
        ko_status e =
            koi_error(ctx, KO_ERR_IO, "%s: cannot set up the catalogue: %s", name, c->error);
        CPLPushErrorHandler(CPLQuietErrorHandler);
        GDALDatasetRollbackTransaction(c->ds);
        CPLPopErrorHandler();
        koi_cat_close(c);
        return e;
    }
    return KO_OK;
}

void koi_cat_close(koi_cat *c) {
    if (c->in_tx) koi_cat_rollback(c); /* a write failed: what was not committed is dropped */
    if (c->failed) CPLPushErrorHandler(CPLQuietErrorHandler);
    OGRFeatureH rows[] = {c->fp_row, c->hit_row, c->file_row};
    for (int i = 0; i < 3; i++)
        if (rows[i]) OGR_F_Destroy(rows[i]);
    if (c->ds) GDALClose(c->ds);
    if (c->failed) CPLPopErrorHandler();
    memset(c, 0, sizeof *c);
}
