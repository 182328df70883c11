/* The site store: schema, categories (and their sync with data/categories.csv), meta,
 * metric buffers, info and export. */
#include <cpl_conv.h>
#include <gdal.h>
#include <geos_c.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <proj.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "sites/sites.h"
#include "test_util.h"
#include "check_runner.h"

START_TEST(test_store_create_and_reopen) {
    fixture f;
    fixture_open(&f);
    double g = 0;
    ck_assert_int_eq(ko_sites_gsd_limit(f.s, &g), KO_OK);
    ck_assert_double_eq(g, 5.0); /* nuclear */
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db, "SELECT value FROM meta WHERE key='schema_version'"), 1);
    ck_assert_int_eq(sql_int(f.db, "SELECT value FROM meta WHERE key='store_version'"), 0);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM categories"),
                     (long long)ko_category_default_count());
    ko_context *ctx = NULL;
    ko_sites *s = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    /* empty: open to describe it, not to check against it */
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_READONLY, &s), KO_ERR_DB);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "holds no sites"));
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_READONLY | KO_SITES_ALLOW_EMPTY, &s), KO_OK);
    ko_import_report r = {0};
    ck_assert_int_eq(ko_sites_import(s, DATA "/zones/cis_source_sample_ed269.json", NULL, &r),
                     KO_ERR_ARG); /* read-only */
    ko_sites_close(s);
    ko_sites_close(NULL);
    ko_context_destroy(ctx);
}
END_TEST

START_TEST(test_store_open_errors) {
    ko_context *ctx = NULL;
    ko_sites *s = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    ck_assert_int_eq(ko_sites_open(ctx, "/nonexistent/x.sqlite", KO_SITES_READONLY, &s), KO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "/nonexistent/x.sqlite"));
    ck_assert_int_eq(ko_sites_open(ctx, "x", 7, &s), KO_ERR_ARG);
    char db[256];
    tmp_store(db, sizeof db);
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, "CREATE TABLE other(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    ck_assert_int_eq(ko_sites_open(ctx, db, KO_SITES_CREATE, &s), KO_ERR_DB);
    ck_assert_int_eq(ko_sites_open(ctx, db, KO_SITES_READONLY, &s), KO_ERR_DB);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "not a keepout site store"));
    ko_context_destroy(ctx);
}
END_TEST

/* data/categories.csv and the compiled-in defaults hold the same rows. */
START_TEST(test_store_categories_csv_in_sync) {
    FILE *fp = fopen(DATA "/categories.csv", "r");
    ck_assert_ptr_nonnull(fp);
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_str_eq(line, "name,buffer_m,min_gsd_m,description\n");
    size_t i = 0;
    while (fgets(line, sizeof line, fp)) {
        char name[64], desc[256];
        double b, g;
        ck_assert_int_eq(sscanf(line, "%63[^,],%lf,%lf,\"%255[^\"]\"", name, &b, &g, desc), 4);
        const char *n, *d;
        double cb, cg;
        ck_assert_int_eq(ko_category_default(i, &n, &cb, &cg, &d), KO_OK);
        ck_assert_str_eq(name, n);
        ck_assert_double_eq(b, cb);
        ck_assert_double_eq(g, cg);
        ck_assert_str_eq(desc, d);
        i++;
    }
    fclose(fp);
    ck_assert_uint_eq(i, ko_category_default_count());
    ck_assert_int_eq(ko_category_default(i, NULL, NULL, NULL, NULL), KO_ERR_ARG);
}
END_TEST

START_TEST(test_store_categories_are_editable) {
    fixture f;
    fixture_open(&f);
    ko_sites_close(f.s);
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open(f.db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h,
                                  "UPDATE categories SET min_gsd_m = 10, buffer_m = 1000 WHERE "
                                  "name = 'nuclear'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    ck_assert_int_eq(ko_sites_open(f.ctx, f.db, KO_SITES_CREATE, &f.s), KO_OK);
    double g = 0;
    ck_assert_int_eq(ko_sites_gsd_limit(f.s, &g), KO_OK);
    ck_assert_double_eq(g, 10.0);
    ko_import_report r = import_ok(&f, DATA "/sites/wri_switzerland.csv", NULL);
    ko_import_report_clear(&r);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE category='nuclear' AND "
                             "buffer_m = 1000 AND min_gsd_m = 10"),
                     4);
}
END_TEST

/* Area of a WGS84 geometry measured in an independent equal-area CRS (LAEA Europe). */
static double laea_area(ko_context *ctx, const GEOSGeometry *g) {
    GEOSContextHandle_t h = GEOS_init_r();
    (void)ctx;
    GEOSWKBWriter *w = GEOSWKBWriter_create_r(h);
    size_t n = 0;
    unsigned char *wkb = GEOSWKBWriter_write_r(h, w, g, &n);
    OGRGeometryH og = NULL;
    ck_assert_int_eq(OGR_G_CreateFromWkb(wkb, NULL, &og, (int)n), OGRERR_NONE);
    OGRSpatialReferenceH a = OSRNewSpatialReference(NULL), b = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(a, 4326);
    OSRImportFromEPSG(b, 3035);
    OSRSetAxisMappingStrategy(a, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(b, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(a, b);
    ck_assert_int_eq(OGR_G_Transform(og, ct), OGRERR_NONE);
    double area = OGR_G_Area(og);
    OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(a);
    OSRDestroySpatialReference(b);
    OGR_G_DestroyGeometry(og);
    GEOSFree_r(h, wkb);
    GEOSWKBWriter_destroy_r(h, w);
    GEOS_finish_r(h);
    return area;
}

START_TEST(test_store_buffer_is_metric) {
    ko_context *ctx = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    const double lats[] = {53.1, 60.0, 70.0};
    for (size_t i = 0; i < 3; i++) {
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ctx->geos, 10.0, lats[i]);
        GEOSGeometry *buf = NULL;
        ck_assert_int_eq(koi_buffer_metric(ctx, pt, 100.0, &buf), KO_OK);
        double a1 = 0;
        ck_assert_int_eq(koi_area_m2(ctx, buf, &a1), KO_OK);
        double a2 = laea_area(ctx, buf);
        /* A 32-gon inscribed in the circle has 0.9936 of its area. */
        double circle = M_PI * 100 * 100;
        ck_assert_double_eq_tol(a1 / circle, 0.9936, 0.002);
        ck_assert_double_eq_tol(a2 / circle, 0.9936, 0.002);
        /* In degrees it is an ellipse: wider in longitude by 1/cos(lat). */
        double minx, maxx, miny, maxy;
        GEOSGeom_getXMin_r(ctx->geos, buf, &minx);
        GEOSGeom_getXMax_r(ctx->geos, buf, &maxx);
        GEOSGeom_getYMin_r(ctx->geos, buf, &miny);
        GEOSGeom_getYMax_r(ctx->geos, buf, &maxy);
        ck_assert_double_eq_tol((maxx - minx) / (maxy - miny) * cos(lats[i] * M_PI / 180), 1.0,
                                0.01);
        GEOSGeom_destroy_r(ctx->geos, pt);
        GEOSGeom_destroy_r(ctx->geos, buf);
    }
    ck_assert_int_eq(koi_buffer_metric(ctx, NULL, -1, NULL), KO_ERR_ARG);
    ko_context_destroy(ctx);
}
END_TEST

/* g moved by PROJ's own aeqd pipeline centred at (lat0, lon0): forward (degrees to metres) or
 * back. The frame keepout used to build with PROJ for every site, written here apart. */
static GEOSGeometry *proj_aeqd(GEOSContextHandle_t h, const GEOSGeometry *g, double lat0,
                               double lon0, PJ_DIRECTION dir) {
    char def[256];
    snprintf(def, sizeof def,
             "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
             "+step +proj=aeqd +lat_0=%.9f +lon_0=%.9f +ellps=WGS84",
             lat0, lon0);
    PJ *pj = proj_create(PJ_DEFAULT_CTX, def);
    ck_assert_ptr_nonnull(pj);
    const GEOSGeometry *ring = GEOSGetExteriorRing_r(h, g);
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, ring);
    unsigned n = 0;
    ck_assert(GEOSCoordSeq_getSize_r(h, cs, &n));
    double *xy = malloc(2 * n * sizeof *xy);
    ck_assert_ptr_nonnull(xy);
    ck_assert(GEOSCoordSeq_copyToBuffer_r(h, cs, xy, 0, 0));
    for (unsigned i = 0; i < n; i++) {
        PJ_COORD c = proj_trans(pj, dir, proj_coord(xy[2 * i], xy[2 * i + 1], 0, 0));
        xy[2 * i] = c.xy.x, xy[2 * i + 1] = c.xy.y;
    }
    proj_destroy(pj);
    GEOSGeometry *out = koi_geos_polygon(h, xy, n);
    free(xy);
    ck_assert_ptr_nonnull(out);
    return out;
}

/* The metric buffer (its local frame by the geodesic solver directly) matches the buffer made
 * through PROJ's aeqd pipeline, vertex for vertex, for sites all over the globe: near the
 * poles, at the antimeridian, at 0,0, small and kilometres wide. */
START_TEST(test_store_buffer_matches_proj_aeqd) {
    ko_context *ctx = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    GEOSContextHandle_t h = ctx->geos;
    const double lats[] = {-89.5, -60, -12.3, 0, 0.01, 33.3, 53.1, 71, 89.5};
    const double lons[] = {-179.95, -120, 0, 7.42, 100, 179.95};
    const double sizes[] = {0, 0.0003, 0.02}, buffers[] = {15, 120, 2500};
    size_t compared = 0;
    for (size_t i = 0; i < 9; i++)
        for (size_t j = 0; j < 6; j++)
            for (size_t k = 0; k < 3; k++) {
                double la = lats[i], lo = lons[j], d = sizes[k], b = buffers[k];
                GEOSGeometry *site;
                if (d == 0) {
                    site = GEOSGeom_createPointFromXY_r(h, lo, la);
                } else {
                    double xy[] = {lo, la, lo + d, la, lo + d, la + 0.5 * d, lo, la + d, lo, la};
                    site = koi_geos_polygon(h, xy, 5);
                }
                ck_assert_ptr_nonnull(site);
                GEOSGeometry *ours = NULL;
                ck_assert_int_eq(koi_buffer_metric(ctx, site, b, &ours), KO_OK);
                double minx, miny, maxx, maxy;
                GEOSGeom_getXMin_r(h, site, &minx), GEOSGeom_getXMax_r(h, site, &maxx);
                GEOSGeom_getYMin_r(h, site, &miny), GEOSGeom_getYMax_r(h, site, &maxy);
                double la0 = (miny + maxy) / 2, lo0 = (minx + maxx) / 2;
                GEOSGeometry *local;
                if (d == 0) {
                    local = GEOSGeom_createPointFromXY_r(h, 0, 0); /* the centre itself */
                } else {
                    local = proj_aeqd(h, site, la0, lo0, PJ_FWD);
                }
                GEOSGeometry *lb = GEOSBuffer_r(h, local, b, 8);
                ck_assert_ptr_nonnull(lb);
                GEOSGeometry *want = proj_aeqd(h, lb, la0, lo0, PJ_INV);
                const GEOSCoordSequence *a =
                    GEOSGeom_getCoordSeq_r(h, GEOSGetExteriorRing_r(h, ours));
                const GEOSCoordSequence *w =
                    GEOSGeom_getCoordSeq_r(h, GEOSGetExteriorRing_r(h, want));
                unsigned na = 0, nw = 0;
                ck_assert(GEOSCoordSeq_getSize_r(h, a, &na) && GEOSCoordSeq_getSize_r(h, w, &nw));
                ck_assert_uint_eq(na, nw);
                for (unsigned v = 0; v < na; v++) {
                    double ax, ay, wx, wy;
                    GEOSCoordSeq_getXY_r(h, a, v, &ax, &ay);
                    GEOSCoordSeq_getXY_r(h, w, v, &wx, &wy);
                    /* 1e-9 degrees: 0.1 mm north, less east */
                    ck_assert_msg(
                        fabs(ay - wy) < 1e-9 && fabs(remainder(ax - wx, 360)) < 1e-9,
                        "lat %g lon %g size %g: vertex %u %.12f %.12f vs PROJ %.12f %.12f", la, lo,
                        d, v, ax, ay, wx, wy);
                    compared++;
                }
                GEOSGeom_destroy_r(h, site), GEOSGeom_destroy_r(h, ours);
                GEOSGeom_destroy_r(h, local), GEOSGeom_destroy_r(h, lb);
                GEOSGeom_destroy_r(h, want);
            }
    ck_assert_uint_gt(compared, 9 * 6 * 3 * 30);
    ko_context_destroy(ctx);
}
END_TEST

START_TEST(test_store_info_and_export) {
    fixture f;
    fixture_open_bremen(&f);
    char *js = NULL;
    ck_assert_int_eq(ko_sites_info_json(f.s, &js), KO_OK);
    ck_assert_ptr_nonnull(strstr(js, "\"substation\": 306"));
    ck_assert_ptr_nonnull(strstr(js, "\"bremen_power.osm\": 580"));
    ck_assert_ptr_nonnull(strstr(js, "\"store_version\": 1"));
    ck_assert_ptr_nonnull(strstr(js, "\"extent\""));
    ko_free(js);
    char out[300];
    tmp_file(f.db, "out.gpkg", out, sizeof out);
    ck_assert_int_eq(ko_sites_export(f.s, out, "GPKG", "substation", 0), KO_OK);
    ck_assert_int_eq(ko_sites_export(f.s, out, "NoSuchDriver", NULL, 0), KO_ERR_UNSUPPORTED);
    fixture_close(&f);
    GDALDatasetH ds = GDALOpenEx(out, GDAL_OF_VECTOR, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq((int)OGR_L_GetFeatureCount(GDALDatasetGetLayer(ds, 0), 1), 306);
    GDALClose(ds);
}
END_TEST

/* A store holding the real Swiss power plants (WRI), closed; its path in f->db. */
static long long wri_store(fixture *f) {
    fixture_open(f);
    ko_import_report r = import_ok(f, DATA "/sites/wri_switzerland.csv", NULL);
    ko_import_report_clear(&r);
    fixture_close(f);
    return sql_int(f->db, "SELECT count(*) FROM sites");
}

static void sql_exec(const char *db, const char *sql) {
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) ck_abort_msg("%s: %s", sql, err);
    sqlite3_close(h);
}

/* An index that lost rows fails the read-only open with a message naming the store and the
 * counts; a writable open rebuilds the index, after which the lost site is found again. */
START_TEST(test_store_index_lost_rows) {
    fixture f;
    long long n = wri_store(&f);
    ck_assert_int_gt(n, 10);
    /* (a store with a current index file never reads its R-tree: this is one without) */
    char idx[300];
    snprintf(idx, sizeof idx, "%s.koidx", f.db);
    ck_assert_int_eq(unlink(idx), 0);
    sql_exec(f.db, "CREATE TABLE saved AS SELECT * FROM idx_sites_geom_buffered");
    sql_exec(f.db,
             "DELETE FROM idx_sites_geom_buffered WHERE pkid IN (SELECT id FROM sites"
             " ORDER BY id LIMIT 3)");
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM idx_sites_geom_buffered"), n - 3);
    ko_context *ctx = NULL;
    ko_sites *s = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    for (int flags = 0; flags <= KO_SITES_ALLOW_EMPTY; flags += KO_SITES_ALLOW_EMPTY) {
        ck_assert_int_eq(ko_sites_open(ctx, f.db, flags, &s), KO_ERR_DB);
        ck_assert_ptr_null(s);
        char want[64];
        snprintf(want, sizeof want, "holds %lld entries for %lld sites", n - 3, n);
        ck_assert_msg(strstr(ko_errmsg(ctx), f.db) && strstr(ko_errmsg(ctx), want) &&
                          strstr(ko_errmsg(ctx), "rebuild"),
                      "%s", ko_errmsg(ctx));
    }
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_CREATE, &s), KO_OK);
    ko_sites_close(s);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM idx_sites_geom_buffered"), n);
    /* the rebuilt boxes are the ones SpatiaLite's own triggers wrote at import */
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM saved s JOIN idx_sites_geom_buffered r"
                             " USING (pkid) WHERE r.xmin = s.xmin AND r.xmax = s.xmax"
                             " AND r.ymin = s.ymin AND r.ymax = s.ymax"),
                     n);
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_READONLY, &s), KO_OK);
    ko_sites_close(s);
    /* more entries than sites is damage too */
    sql_exec(f.db, "INSERT INTO idx_sites_geom_buffered VALUES(999999, 0, 1, 0, 1)");
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_READONLY, &s), KO_ERR_DB);
    ko_context_destroy(ctx);
}
END_TEST

/* No sites: every image would be clear. Refused for checking, allowed for listing. */
START_TEST(test_store_without_sites) {
    fixture f;
    wri_store(&f);
    sql_exec(f.db, "DELETE FROM sites");
    ko_context *ctx = NULL;
    ko_sites *s = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_READONLY, &s), KO_ERR_DB);
    ck_assert_msg(strstr(ko_errmsg(ctx), f.db) && strstr(ko_errmsg(ctx), "holds no sites"), "%s",
                  ko_errmsg(ctx));
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_READONLY | KO_SITES_ALLOW_EMPTY, &s), KO_OK);
    int64_t count = -1;
    ck_assert_int_eq(ko_sites_count(s, &count), KO_OK);
    ck_assert_int_eq(count, 0);
    ko_sites_close(s);
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_CREATE, &s), KO_OK); /* to import into */
    ko_sites_close(s);
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_CREATE | KO_SITES_ALLOW_EMPTY, &s), KO_OK);
    ko_sites_close(s);
    ck_assert_int_eq(ko_sites_open(ctx, f.db, 4, &s), KO_ERR_ARG);
    ko_context_destroy(ctx);
}
END_TEST

/* A writer killed inside a transaction (pages already spilled into the file) leaves a hot
 * journal: a read-only open rolls it back when it may, and sees the store as it was. */
START_TEST(test_store_hot_journal_rolled_back) {
    fixture f;
    long long n = wri_store(&f);
    char journal[300];
    snprintf(journal, sizeof journal, "%s-journal", f.db);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sqlite3 *h = NULL;
        if (sqlite3_open(f.db, &h) != SQLITE_OK) _exit(3);
        sqlite3_exec(h,
                     "PRAGMA cache_size=2; BEGIN; DELETE FROM sites;"
                     " UPDATE meta SET value='x' WHERE key='schema_version'",
                     NULL, NULL, NULL);
        raise(SIGKILL);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    struct stat st;
    ck_assert_int_eq(stat(journal, &st), 0);
    ck_assert_int_gt(st.st_size, 0);
    ko_context *ctx = NULL;
    ko_sites *s = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    if (ko_sites_open(ctx, f.db, KO_SITES_READONLY, &s) != KO_OK)
        ck_abort_msg("%s", ko_errmsg(ctx));
    int64_t count = 0;
    ck_assert_int_eq(ko_sites_count(s, &count), KO_OK);
    ck_assert_int_eq(count, n);
    ko_sites_close(s);
    ko_context_destroy(ctx);
}
END_TEST

/* A writer holding the lock: the open says the store is locked, not that it is no store. */
START_TEST(test_store_locked_by_writer) {
    fixture f;
    wri_store(&f);
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open(f.db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    ko_context *ctx = NULL;
    ko_sites *s = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_READONLY, &s), KO_ERR_DB);
    ck_assert_msg(strstr(ko_errmsg(ctx), f.db) && strstr(ko_errmsg(ctx), "locked"), "%s",
                  ko_errmsg(ctx));
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h);
    ck_assert_int_eq(ko_sites_open(ctx, f.db, KO_SITES_READONLY, &s), KO_OK);
    ko_sites_close(s);
    ko_context_destroy(ctx);
}
END_TEST

/* A new store is private to its owner: 0600 under umask 022, and a stricter umask is kept. */
START_TEST(test_store_created_private) {
    const mode_t masks[] = {022, 077, 0277};
    const mode_t want[] = {0600, 0600, 0400};
    for (int i = 0; i < 3; i++) {
        mode_t old = umask(masks[i]);
        fixture f;
        fixture_open(&f);
        fixture_close(&f);
        umask(old);
        struct stat st;
        ck_assert_int_eq(stat(f.db, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, want[i]);
    }
}
END_TEST

/* A FIFO is not a store (SQLite would block opening it); neither is a directory. */
START_TEST(test_store_not_a_regular_file) {
    char db[256];
    tmp_store(db, sizeof db);
    ck_assert_int_eq(mkfifo(db, 0600), 0);
    ko_context *ctx = NULL;
    ko_sites *s = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    ck_assert_int_eq(ko_sites_open(ctx, db, KO_SITES_READONLY, &s), KO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "not a regular file"));
    ck_assert_int_eq(ko_sites_open(ctx, db, KO_SITES_CREATE, &s), KO_ERR_IO);
    char dir[256];
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(db, '/') - db), db);
    ck_assert_int_eq(ko_sites_open(ctx, dir, KO_SITES_READONLY, &s), KO_ERR_IO);
    ko_context_destroy(ctx);
}
END_TEST

/* Every face resolves the store it opens unasked in ko_sites_default(): KEEPOUT_SITES, as a
 * GDAL configuration option or from the environment, wins when not empty; else the sample
 * store for the command line (sample = 1) and nothing for the GDAL driver (sample = 0). */
START_TEST(test_store_default_is_resolved_once) {
    CPLSetConfigOption("KEEPOUT_SITES", NULL);
    unsetenv("KEEPOUT_SITES");
    ck_assert_ptr_null(ko_sites_default(0));
    const char *sample = ko_sites_default(1);
    ck_assert_ptr_nonnull(sample);
    size_t n = strlen(sample);
    ck_assert(n >= 12 && !strcmp(sample + n - 12, "sites.sqlite"));
    setenv("KEEPOUT_SITES", "/data/national.sqlite", 1);
    ck_assert_str_eq(ko_sites_default(0), "/data/national.sqlite");
    ck_assert_str_eq(ko_sites_default(1), "/data/national.sqlite");
    CPLSetConfigOption("KEEPOUT_SITES", "/data/option.sqlite"); /* as --config does */
    ck_assert_str_eq(ko_sites_default(0), "/data/option.sqlite");
    CPLSetConfigOption("KEEPOUT_SITES", NULL);
    setenv("KEEPOUT_SITES", "", 1); /* empty: not set */
    ck_assert_ptr_null(ko_sites_default(0));
    ck_assert_str_eq(ko_sites_default(1), sample);
    unsetenv("KEEPOUT_SITES");
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_store_default_is_resolved_once,
                            test_store_create_and_reopen,
                            test_store_open_errors,
                            test_store_categories_csv_in_sync,
                            test_store_categories_are_editable,
                            test_store_buffer_is_metric,
                            test_store_buffer_matches_proj_aeqd,
                            test_store_info_and_export,
                            test_store_index_lost_rows,
                            test_store_without_sites,
                            test_store_hot_journal_rolled_back,
                            test_store_locked_by_writer,
                            test_store_created_private,
                            test_store_not_a_regular_file};
    return unit_run(&(unit_suite){.name = "store", .timeout_s = 60, .global_init = 1}, tests,
                    UNIT_COUNT(tests));
}
