/* Site import from real data: OSM XML/PBF, WRI CSV, ED-269/ED-318 zones, bad sources,
 * idempotence and atomicity. */
#include <math.h>

#include "test_util.h"

#include <cpl_vsi.h>
#include "check_runner.h"

/* The WRI Global Power Plant Database's USA table (11,879 rows, 33 without a usable position),
 * shipped gzipped in tests/data/wri: unpacked next to f's store, its path in out. */
static void wri_usa(const fixture *f, char *out, size_t cap) {
    tmp_file(f->db, "database_USA.csv", out, cap);
    VSILFILE *in = VSIFOpenL("/vsigzip/" FIXTURES "/wri/database_USA.csv.gz", "rb");
    FILE *o = fopen(out, "wb");
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(o);
    char buf[65536];
    size_t n;
    while ((n = VSIFReadL(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, o), n);
    VSIFCloseL(in);
    ck_assert_int_eq(fclose(o), 0);
}

static ko_import_options osm_opts(void) {
    ko_import_options o;
    ko_import_options_init(&o);
    o.preset_osm = 1;
    return o;
}

START_TEST(test_import_bremen_osm_counts) {
    fixture f;
    fixture_open(&f);
    ko_import_options o = osm_opts();
    ko_import_report r = import_ok(&f, DATA "/sites/bremen_power.osm", &o);
    ck_assert_uint_eq(r.read, 580);
    ck_assert_uint_eq(r.imported, 580);
    ck_assert_uint_eq(r.rejected, 0);
    ko_import_report_clear(&r);
    fixture_close(&f);
    char sql[256];
#define Q                                                 \
    "SELECT count(*) FROM sites WHERE category='%s' AND " \
    "json_extract(attributes,'$.osm_layer')='%s'"
#define COUNT(cat, layer) (snprintf(sql, sizeof sql, Q, cat, layer), sql_int(f.db, sql))
    ck_assert_int_eq(COUNT("substation", "multipolygons"), 239);
    ck_assert_int_eq(COUNT("substation", "points"), 67);
    ck_assert_int_eq(COUNT("generator", "multipolygons"), 101);
    /* 13 plant polygons plus the 10 type=site relations, which carry power=plant. */
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE category='power_plant' AND "
                             "source_id LIKE 'way/%'"),
                     13);
    ck_assert_int_eq(COUNT("power_plant", "other_relations"), 10);
#undef COUNT
#undef Q
    /* Closed substation ways are polygons, not lines (the osmconf.ini trap). */
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE "
                             "json_extract(attributes,'$.osm_layer')='lines'"),
                     0);
}
END_TEST

START_TEST(test_import_liechtenstein_pbf_old_tags) {
    fixture f;
    fixture_open(&f);
    ko_import_options o = osm_opts();
    ko_import_report r = import_ok(&f, DATA "/sites/liechtenstein-2013-08-03.osm.pbf", &o);
    ck_assert_uint_eq(r.imported, 128);
    ko_import_report_clear(&r);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE category='bridge' AND "
                             "json_extract(attributes,'$.bridge')='yes'"),
                     122);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites WHERE category='dam'"), 1);
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE category='substation' AND "
                             "json_extract(attributes,'$.power')='sub_station'"),
                     1);
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE category='substation' AND "
                             "json_extract(attributes,'$.power')='station'"),
                     1);
    /* Bridges with a width tag are buffered by it, the others by the category default. */
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE category='bridge' AND "
                             "buffer_m <> 30 AND json_extract(attributes,'$.width') "
                             "IS NOT NULL"),
                     sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE category='bridge' AND "
                             "json_extract(attributes,'$.width') IS NOT NULL"));
}
END_TEST

START_TEST(test_import_wri_usa_rejects_with_reasons) {
    fixture f;
    fixture_open(&f);
    char usa[512];
    wri_usa(&f, usa, sizeof usa);
    ko_import_report r = import_ok(&f, usa, NULL);
    ck_assert_uint_eq(r.read, 11879);
    ck_assert_uint_eq(r.rejected, 33);
    ck_assert_uint_eq(r.imported, 11879 - 33);
    ck_assert_ptr_nonnull(strstr(r.messages, "latitude 425.2461 outside [-90,90]"));
    size_t nogeom = 0;
    for (const char *p = r.messages; (p = strstr(p, "no geometry")); p++)
        nogeom++;
    ck_assert_uint_eq(nogeom, 32);
    ko_import_report_clear(&r);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites WHERE category='nuclear'"),
                     sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE "
                             "json_extract(attributes,'$.primary_fuel')='Nuclear'"));
}
END_TEST

START_TEST(test_import_wri_switzerland_shipped) {
    fixture f;
    fixture_open(&f);
    ko_import_report r = import_ok(&f, DATA "/sites/wri_switzerland.csv", NULL);
    ck_assert_uint_eq(r.read, 647);
    ck_assert_uint_eq(r.imported, 178);
    ck_assert_uint_eq(r.rejected, 469);
    ko_import_report_clear(&r);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites WHERE category='nuclear'"), 4);
}
END_TEST

START_TEST(test_import_ed318_swiss_zones) {
    fixture f;
    fixture_open(&f);
    ko_import_report r = import_ok(&f, DATA "/zones/swiss_ed318_substations_nuclear.json", NULL);
    ck_assert_uint_eq(r.read, 135);
    ck_assert_uint_eq(r.imported, 135);
    ko_import_report_clear(&r);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites WHERE category='substation'"), 130);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites WHERE category='nuclear'"), 5);
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE "
                             "json_extract(attributes,'$.limits.upper')=200 AND "
                             "json_extract(attributes,'$.limits.upperReference')='AGL'"),
                     130);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites WHERE buffer_m <> 0"), 0);
}
END_TEST

START_TEST(test_import_ed269_zones_selection_and_circles) {
    fixture f;
    fixture_open(&f);
    ko_import_report r = import_ok(&f, DATA "/zones/geo-awareness-che-1.json", NULL);
    ck_assert_uint_eq(r.read, 6);
    ck_assert_uint_eq(r.skipped, 6); /* no SENSITIVE/PRIVACY zone */
    ck_assert_ptr_nonnull(strstr(r.messages, "AIR_TRAFFIC"));
    ko_import_report_clear(&r);
    ko_import_options o;
    ko_import_options_init(&o);
    o.all_zones = 1;
    r = import_ok(&f, DATA "/zones/geo-awareness-che-1.json", &o);
    ck_assert_uint_eq(r.imported, 6); /* one duplicate identifier kept under a suffix */
    ck_assert_ptr_nonnull(strstr(r.messages, "duplicate identifier"));
    ko_import_report_clear(&r);
    r = import_ok(&f, DATA "/zones/cis_source_sample_ed269.json", &o);
    ck_assert_uint_eq(r.imported, 1);
    ko_import_report_clear(&r);
    fixture_close(&f);
    /* The Montreux circle: 3000 m radius, schedule kept. */
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE source_id='Montreux "
                             "Concert Area' AND json_extract(attributes,"
                             "'$.applicability[0].schedule[0].day[0]')='SAT'"),
                     1);
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE "
                             "json_extract(attributes,'$.limits[0].upperLimit')=6259"),
                     1);
}
END_TEST

START_TEST(test_import_reimport_is_idempotent) {
    fixture f;
    fixture_open(&f);
    ko_import_options o = osm_opts();
    ko_import_report r = import_ok(&f, DATA "/sites/bremen_power.osm", &o);
    ko_import_report_clear(&r);
    r = import_ok(&f, DATA "/sites/bremen_power.osm", &o);
    ck_assert_uint_eq(r.imported, 0);
    ck_assert_uint_eq(r.updated, 580);
    ck_assert_uint_eq(r.stale, 0);
    ko_import_report_clear(&r);
    /* A filtered re-import reports the sites it did not touch, and keeps them. */
    o.where = "power = 'plant'";
    r = import_ok(&f, DATA "/sites/bremen_power.osm", &o);
    ck_assert_uint_eq(r.updated, 23);
    ck_assert_uint_eq(r.stale, 580 - 23);
    ko_import_report_clear(&r);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites"), 580);
    ck_assert_int_eq(sql_int(f.db, "SELECT value FROM meta WHERE key='store_version'"), 3);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM idx_sites_geom_buffered"), 580);
}
END_TEST

static int cancel_after(double complete, const char *msg, void *user) {
    (void)complete;
    (void)msg;
    int *calls = user;
    return ++*calls < 3;
}

START_TEST(test_import_cancelled_leaves_store_unchanged) {
    fixture f;
    fixture_open(&f);
    ko_import_report r = import_ok(&f, DATA "/zones/swiss_ed318_substations_nuclear.json", NULL);
    ko_import_report_clear(&r);
    int calls = 0;
    ko_import_options o;
    ko_import_options_init(&o);
    o.progress = cancel_after;
    o.progress_user = &calls;
    char usa[512];
    wri_usa(&f, usa, sizeof usa);
    ck_assert_int_eq(ko_sites_import(f.s, usa, &o, &r), KO_ERR_CANCELLED);
    ck_assert_uint_gt(r.imported, 0); /* work was done, then rolled back */
    ko_import_report_clear(&r);
    /* A failure in the middle of a re-import also rolls back its updates. */
    o.progress = NULL;
    ko_sites_close(f.s);
    f.s = NULL;
    ck_assert_int_eq(ko_sites_open(f.ctx, f.db, KO_SITES_CREATE, &f.s), KO_OK);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites"), 135);
    ck_assert_int_eq(sql_int(f.db, "SELECT value FROM meta WHERE key='store_version'"), 1);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM idx_sites_geom_buffered"), 135);
}
END_TEST

/* A source that gives no site fails (store unchanged) unless allowed: an empty GeoJSON, and
 * a zone file whose every zone is skipped. */
START_TEST(test_import_empty_source_fails) {
    fixture f;
    fixture_open(&f);
    char path[300];
    tmp_file(f.db, "empty.geojson", path, sizeof path);
    write_file(path, "{\"type\": \"FeatureCollection\", \"features\": []}");
    ko_import_report r = {0};
    ck_assert_int_eq(ko_sites_import(f.s, path, NULL, &r), KO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(f.ctx), "no feature read"));
    ko_import_report_clear(&r);
    ck_assert_int_eq(ko_sites_import(f.s, DATA "/zones/geo-awareness-che-1.json", NULL, &r),
                     KO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(f.ctx), "none of the 6 features read"));
    ck_assert_uint_eq(r.skipped, 6);
    ko_import_report_clear(&r);
    int64_t version = 0, n = -1;
    ck_assert_int_eq(ko_sites_version(f.s, &version), KO_OK);
    ck_assert_int_eq(ko_sites_count(f.s, &n), KO_OK);
    ck_assert_int_eq(n, 0);
    ko_import_options o;
    ko_import_options_init(&o);
    o.allow_empty = 1;
    ck_assert_int_eq(ko_sites_import(f.s, path, &o, &r), KO_OK);
    ko_import_report_clear(&r);
    int64_t after = 0;
    ck_assert_int_eq(ko_sites_version(f.s, &after), KO_OK);
    ck_assert_int_eq(after, version + 1);
    fixture_close(&f);
}
END_TEST

START_TEST(test_import_bad_sources) {
    fixture f;
    fixture_open(&f);
    ko_import_report r = {0};
    ck_assert_int_eq(ko_sites_import(f.s, "/nonexistent/sites.geojson", NULL, &r), KO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(f.ctx), "/nonexistent/sites.geojson"));
    char path[300];
    tmp_file(f.db, "notes.xyz", path, sizeof path);
    write_file(path, "this is not GIS data\n");
    ck_assert_int_eq(ko_sites_import(f.s, path, NULL, &r), KO_ERR_UNSUPPORTED);
    ko_import_options o;
    ko_import_options_init(&o);
    o.category = "no_such_category";
    ck_assert_int_eq(ko_sites_import(f.s, DATA "/sites/wri_switzerland.csv", &o, &r),
                     KO_ERR_NOT_FOUND);
    o.category = NULL;
    o.preset_osm = 1;
    ck_assert_int_eq(ko_sites_import(f.s, DATA "/sites/wri_switzerland.csv", &o, &r), KO_ERR_ARG);
    ko_import_report_clear(&r);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites"), 0);
    ck_assert_int_eq(sql_int(f.db, "SELECT value FROM meta WHERE key='store_version'"), 0);
}
END_TEST

START_TEST(test_import_bad_features_counted) {
    fixture f;
    fixture_open(&f);
    char path[300];
    tmp_file(f.db, "bad.geojson", path, sizeof path);
    write_file(path,
               "{\"type\":\"FeatureCollection\",\"features\":["
               "{\"type\":\"Feature\",\"properties\":{\"name\":\"ok\"},"
               "\"geometry\":{\"type\":\"Point\",\"coordinates\":[8.8,53.1]}},"
               "{\"type\":\"Feature\",\"properties\":{\"name\":\"null\"},\"geometry\":null},"
               "{\"type\":\"Feature\",\"properties\":{\"name\":\"empty\"},"
               "\"geometry\":{\"type\":\"GeometryCollection\",\"geometries\":[]}},"
               "{\"type\":\"Feature\",\"properties\":{\"name\":\"bowtie\"},"
               "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[8.80,53.10],[8.81,53.11],"
               "[8.81,53.10],[8.80,53.11],[8.80,53.10]]]}},"
               "{\"type\":\"Feature\",\"properties\":{\"name\":\"lat425\"},"
               "\"geometry\":{\"type\":\"Point\",\"coordinates\":[8.8,425.2461]}}]}\n");
    ko_import_report r = import_ok(&f, path, NULL);
    ck_assert_uint_eq(r.read, 5);
    ck_assert_uint_eq(r.imported, 2);
    ck_assert_uint_eq(r.repaired, 1);
    ck_assert_uint_eq(r.rejected, 3);
    ck_assert_ptr_nonnull(strstr(r.messages, "no geometry"));
    ck_assert_ptr_nonnull(strstr(r.messages, "empty geometry"));
    ck_assert_ptr_nonnull(strstr(r.messages, "repaired"));
    ck_assert_ptr_nonnull(strstr(r.messages, "latitude 425.2461 outside [-90,90]"));
    ko_import_report_clear(&r);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites WHERE name='bowtie'"), 1);
}
END_TEST

static int merc_point(const ko_site_record *site, void *user) {
    double *xy = user;
    if (site->name && !strcmp(site->name, "merc"))
        ck_assert_int_eq(sscanf(site->wkt, "POINT(%lf %lf)", &xy[0], &xy[1]), 2);
    return 1;
}

START_TEST(test_import_crs_reprojected_or_rejected) {
    fixture f;
    fixture_open(&f);
    char path[300];
    /* Web Mercator with a CRS: reprojected to WGS84. */
    tmp_file(f.db, "mercator.geojson", path, sizeof path);
    write_file(path,
               "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":"
               "{\"name\":\"urn:ogc:def:crs:EPSG::3857\"}},\"features\":["
               "{\"type\":\"Feature\",\"properties\":{\"name\":\"merc\"},\"geometry\":"
               "{\"type\":\"Point\",\"coordinates\":[979611.519,7001516.677]}}]}\n");
    ko_import_report r = import_ok(&f, path, NULL);
    ck_assert_uint_eq(r.imported, 1);
    ko_import_report_clear(&r);
    /* UTM metres in a CSV without a CRS: rejected, not taken as degrees. */
    tmp_file(f.db, "utm.csv", path, sizeof path);
    write_file(path,
               "id,name,WKT\n1,utm,\"POINT (487000 5883000)\"\n2,fine,\"POINT (8.8 53.1)\"\n");
    r = import_ok(&f, path, NULL);
    ck_assert_uint_eq(r.imported, 1);
    ck_assert_uint_eq(r.rejected, 1);
    ck_assert_ptr_nonnull(strstr(r.messages, "row 1: rejected: latitude 5883000 outside"));
    ko_import_report_clear(&r);
    /* 979611.519, 7001516.677 in EPSG:3857 is 8.8 E, 53.1 N. */
    double xy[2] = {NAN, NAN};
    ck_assert_int_eq(ko_sites_foreach(f.s, NULL, 1, merc_point, xy), KO_OK);
    ck_assert_double_eq_tol(xy[0], 8.8, 1e-6);
    ck_assert_double_eq_tol(xy[1], 53.1, 1e-6);
    fixture_close(&f);
}
END_TEST

START_TEST(test_import_options_where_name_category_buffer) {
    fixture f;
    fixture_open(&f);
    ko_import_options o;
    ko_import_options_init(&o);
    o.where = "primary_fuel = 'Nuclear'";
    o.name_field = "gppd_idnr";
    o.category = "power_plant";
    o.buffer_m = 250;
    o.source_label = "wri-nuclear";
    char usa[512];
    wri_usa(&f, usa, sizeof usa);
    ko_import_report r = import_ok(&f, usa, &o);
    ck_assert_uint_gt(r.imported, 10);
    ck_assert_uint_eq(r.rejected, 0);
    ko_import_report_clear(&r);
    fixture_close(&f);
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE source <> 'wri-nuclear' OR "
                             "category <> 'power_plant' OR buffer_m <> 250 OR "
                             "name NOT LIKE 'USA%'"),
                     0);
}
END_TEST

/* Round trip through other OGR formats: GPKG, KML and a Shapefile of points. */
START_TEST(test_import_other_ogr_formats) {
    fixture f;
    fixture_open(&f);
    ko_import_options o = osm_opts();
    ko_import_report r = import_ok(&f, DATA "/sites/bremen_power.osm", &o);
    ko_import_report_clear(&r);
    /* Export first (the imports add substations), then import each file. */
    static const char *const files[] = {"sub.gpkg", "sub.kml", "sub.shp"};
    static const char *const drivers[] = {"GPKG", "KML", "ESRI Shapefile"};
    char paths[3][300];
    for (size_t i = 0; i < 3; i++) {
        tmp_file(f.db, files[i], paths[i], sizeof paths[i]);
        /* A Shapefile holds one geometry type: polygons and points together fail. */
        ck_assert_int_eq(ko_sites_export(f.s, paths[i], drivers[i], "substation", 0),
                         i == 2 ? KO_ERR_IO : KO_OK);
    }
    for (size_t i = 0; i < 2; i++) {
        ko_import_options io;
        ko_import_options_init(&io);
        r = import_ok(&f, paths[i], &io);
        ck_assert_msg(r.read == 306 && r.imported == 306, "%s: read %zu", files[i], r.read);
        ko_import_report_clear(&r);
    }
    fixture_close(&f);
    /* The category came back from the exported field (GPKG keeps fields; the KML writer
     * keeps only name and description, so those sites are user_defined). */
    ck_assert_int_eq(sql_int(f.db,
                             "SELECT count(*) FROM sites WHERE source = 'sub.gpkg' AND "
                             "category = 'substation'"),
                     306);
    ck_assert_int_eq(sql_int(f.db, "SELECT count(*) FROM sites WHERE source = 'sub.kml'"), 306);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_import_bremen_osm_counts,
                            test_import_liechtenstein_pbf_old_tags,
                            test_import_wri_usa_rejects_with_reasons,
                            test_import_wri_switzerland_shipped,
                            test_import_ed318_swiss_zones,
                            test_import_ed269_zones_selection_and_circles,
                            test_import_reimport_is_idempotent,
                            test_import_cancelled_leaves_store_unchanged,
                            test_import_bad_sources,
                            test_import_empty_source_fails,
                            test_import_bad_features_counted,
                            test_import_crs_reprojected_or_rejected,
                            test_import_options_where_name_category_buffer,
                            test_import_other_ogr_formats};
    return unit_run(&(unit_suite){.name = "import", .timeout_s = 120}, tests, UNIT_COUNT(tests));
}
