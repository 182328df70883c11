/* The catalogue and tagging engine (ko_catalog_*) through the C API, on the three real Brighton
 * Beach photos of data/images and the made-up demo site of data/sites (data/README.md: a 12 m
 * square about 15 m north-east of the last photo; a substation, buffered 50 m by default).
 * Expectations come from outside keepout: the photos' EXIF GPS positions as gdalinfo reads
 * them, and the verdicts from the distance between each stored footprint and the site's own
 * polygon measured with GDAL/GEOS (flagged exactly when it is within the 50 m buffer: 0 m for
 * DJI_0023, 16.5 m for DJI_0021, 64 m for DJI_0018). Rows are read back with plain SQLite and
 * OGR, not with keepout's reader. */
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <sys/stat.h>
#include <utime.h>

#include "catalog/catalog.h"
#include "check_runner.h"
#include "test_util.h"

#define IMAGES DATA "/images"
#define DEMO DATA "/sites/brighton_beach_demo.geojson"
#define DEMO_BUFFER_M 50.0 /* the substation category's default buffer */

/* EXIF GPSLatitude/GPSLongitude of the photos as `gdalinfo` prints them (N, W). */
static const struct {
    const char *name;
    double lat, lon;
} photo[] = {
    {"DJI_0018.JPG", 46 + 50 / 60.0 + 33.3855 / 3600, -(91 + 59 / 60.0 + 40.4156 / 3600)},
    {"DJI_0021.JPG", 46 + 50 / 60.0 + 34.3145 / 3600, -(91 + 59 / 60.0 + 39.0359 / 3600)},
    {"DJI_0023.JPG", 46 + 50 / 60.0 + 34.937 / 3600, -(91 + 59 / 60.0 + 38.123 / 3600)},
};

typedef struct env {
    char dir[128];   /* a fresh directory */
    char store[192]; /* a site store in it */
    ko_context *ctx;
    ko_sites *sites;
} env;

/* A store in a fresh directory with the sources given imported, opened read-only. */
static void env_open(env *e, const char *const *sources, size_t n) {
    tmp_store(e->store, sizeof e->store);
    snprintf(e->dir, sizeof e->dir, "%.*s", (int)(strrchr(e->store, '/') - e->store), e->store);
    ck_assert_int_eq(ko_context_create(&e->ctx), KO_OK);
    ko_sites *w = NULL;
    ck_assert_int_eq(ko_sites_open(e->ctx, e->store, KO_SITES_CREATE, &w), KO_OK);
    for (size_t i = 0; i < n; i++) {
        ko_import_report rep = {0};
        ck_assert_msg(ko_sites_import(w, sources[i], NULL, &rep) == KO_OK, "%s", ko_errmsg(e->ctx));
        ko_import_report_clear(&rep);
    }
    ko_sites_close(w);
    ck_assert_int_eq(ko_sites_open(e->ctx, e->store, KO_SITES_READONLY, &e->sites), KO_OK);
}

static void env_close(env *e) {
    ko_sites_close(e->sites);
    ko_context_destroy(e->ctx);
}

/* A site far from the photos (Zurich), so that a store holds something and nothing in view. */
static const char far_site[] =
    "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
    "{\"name\":\"far away\",\"category\":\"substation\"},\"geometry\":{\"type\":\"Polygon\","
    "\"coordinates\":[[[8.54,47.37],[8.541,47.37],[8.541,47.371],[8.54,47.371],[8.54,47.37]]]}}]}";

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, b), n);
    fclose(a);
    ck_assert_int_eq(fclose(b), 0);
}

/* The three photos copied into DIR/name (made here). */
static void photos_in(const char *dir, char *out, size_t cap) {
    snprintf(out, cap, "%s/photos", dir);
    ck_assert_int_eq(mkdir(out, 0755), 0);
    for (size_t i = 0; i < UNIT_COUNT(photo); i++) {
        char from[512], to[512];
        snprintf(from, sizeof from, "%s/%s", IMAGES, photo[i].name);
        snprintf(to, sizeof to, "%s/%s", out, photo[i].name);
        copy_file(from, to);
    }
}

/* Notes the run gave, joined. */
typedef struct notes {
    char text[4096];
    int warnings;
} notes;

static void take_note(ko_note_level level, const char *text, void *user) {
    notes *n = user;
    size_t len = strlen(n->text);
    snprintf(n->text + len, sizeof n->text - len, "%s\n", text);
    n->warnings += level == KO_NOTE_WARNING;
}

static ko_status tag(env *e, const char *cat_path, const ko_catalog_options *o,
                     const char *const *inputs, size_t n, ko_catalog_stats *s) {
    ko_catalog *cat = NULL;
    ko_status st = ko_catalog_open(e->ctx, cat_path, o, &cat);
    ck_assert_msg(st == KO_OK, "%s", ko_errmsg(e->ctx));
    ko_catalog_stats_init(s);
    st = ko_catalog_tag(cat, e->sites, inputs, n, s);
    ko_catalog_close(cat);
    return st;
}

/* The verdict of the footprint row of a photo (by file name), from the GeoPackage with SQLite. */
static char *verdict_of(const char *cat, const char *name) {
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open_v2(cat, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    ck_assert_int_eq(
        sqlite3_prepare_v2(h, "SELECT verdict FROM footprints WHERE path LIKE '%/' || ?", -1, &q,
                           NULL),
        SQLITE_OK);
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    char *v = strdup((const char *)sqlite3_column_text(q, 0));
    ck_assert_int_eq(sqlite3_step(q), SQLITE_DONE); /* one row per shot, never two */
    sqlite3_finalize(q);
    sqlite3_close(h);
    return v;
}

static void expect_verdict(const char *cat, const char *name, const char *want) {
    char *v = verdict_of(cat, name);
    ck_assert_msg(!strcmp(v, want), "%s: %s, expected %s", name, v, want);
    free(v);
}

/* Metres between a stored footprint and the demo site's own polygon (GEOS through OGR, in
 * degrees scaled at the photos' latitude: the scene spans some 100 m). */
static double metres_to_demo(OGRGeometryH fp) {
    GDALDatasetH ds = GDALOpenEx(DEMO, GDAL_OF_VECTOR, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(ds);
    OGRFeatureH f = OGR_L_GetNextFeature(GDALDatasetGetLayer(ds, 0));
    ck_assert_ptr_nonnull(f);
    double k = cos(46.843 * M_PI / 180);
    OGRGeometryH a = OGR_G_Clone(fp), b = OGR_G_Clone(OGR_F_GetGeometryRef(f));
    /* scale longitudes to latitude degrees so that distances are isotropic */
    OGRGeometryH g[2] = {a, b};
    for (int j = 0; j < 2; j++) {
        OGRGeometryH ring = OGR_G_GetGeometryRef(g[j], 0);
        for (int i = 0; i < OGR_G_GetPointCount(ring); i++)
            OGR_G_SetPoint_2D(ring, i, OGR_G_GetX(ring, i) * k, OGR_G_GetY(ring, i));
    }
    double d = OGR_G_Distance(a, b) * 111195.0;
    OGR_G_DestroyGeometry(a), OGR_G_DestroyGeometry(b);
    OGR_F_Destroy(f);
    GDALClose(ds);
    return d;
}

/* Every footprint row checked against the outside expectations: position from EXIF, verdict
 * from the distance to the site; returns the number of rows. */
static int check_rows(const char *cat) {
    GDALDatasetH ds = GDALOpenEx(cat, GDAL_OF_VECTOR, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(ds);
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "footprints");
    ck_assert_ptr_nonnull(l);
    int n = 0;
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(l))) {
        const char *path = OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "path"));
        size_t i = 0;
        while (i < UNIT_COUNT(photo) && !strstr(path, photo[i].name))
            i++;
        ck_assert_msg(i < UNIT_COUNT(photo), "unexpected row %s", path);
        double lat = OGR_F_GetFieldAsDouble(f, OGR_F_GetFieldIndex(f, "lat"));
        double lon = OGR_F_GetFieldAsDouble(f, OGR_F_GetFieldIndex(f, "lon"));
        ck_assert_double_eq_tol(lat, photo[i].lat, 1e-7);
        ck_assert_double_eq_tol(lon, photo[i].lon, 1e-7);
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        ck_assert_ptr_nonnull(g);
        double d = metres_to_demo(g);
        const char *v = OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "verdict"));
        ck_assert_msg(!strcmp(v, d < DEMO_BUFFER_M ? "flagged" : "clear"), "%s at %.1f m: %s",
                      photo[i].name, d, v);
        ck_assert_int_eq(OGR_F_GetFieldAsInteger(f, OGR_F_GetFieldIndex(f, "checked")), 1);
        OGR_F_Destroy(f);
        n++;
    }
    GDALClose(ds);
    return n;
}

START_TEST(test_catalog_tags_photos_into_a_geopackage) {
    env e;
    const char *src[] = {DEMO};
    env_open(&e, src, 1);
    char cat[256];
    snprintf(cat, sizeof cat, "%s/c.gpkg", e.dir);
    ko_catalog_options o;
    ko_catalog_options_init(&o);
    o.jobs = 2;
    notes nt = {"", 0};
    o.note = take_note, o.note_user = &nt;
    const char *in[] = {IMAGES};
    ko_catalog_stats s;
    ck_assert_msg(tag(&e, cat, &o, in, 1, &s) == KO_OK, "%s", ko_errmsg(e.ctx));
    ck_assert_uint_eq(s.files, 3);
    ck_assert_uint_eq(s.clear, 1);
    ck_assert_uint_eq(s.flagged, 2);
    ck_assert_uint_eq(s.unknown, 0);
    ck_assert_uint_eq(s.ignored, 1); /* LICENSE */
    ck_assert_uint_eq(s.skipped, 0);
    ck_assert_uint_eq(s.catalogue_flagged, 2);
    ck_assert_uint_eq(s.catalogue_clear, 1);
    ck_assert_int_eq(ko_catalog_decide(&s, NULL, NULL), KO_REFUSE);
    ck_assert_ptr_nonnull(strstr(nt.text, "3 files to tag against 1 sites"));
    ck_assert_int_eq(nt.warnings, 0);
    ck_assert_int_eq(check_rows(cat), 3);
    expect_verdict(cat, "DJI_0018.JPG", "clear");
    expect_verdict(cat, "DJI_0021.JPG", "flagged");
    expect_verdict(cat, "DJI_0023.JPG", "flagged");
    /* the hits: the demo site, once per flagged shot; the files: one row per photo */
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM hits WHERE name LIKE 'DEMO substation%'"),
                     2);
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM hits"), 2);
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM files WHERE size > 0 AND shots = 1"), 3);
    int64_t version = 0;
    ck_assert_int_eq(ko_sites_version(e.sites, &version), KO_OK);
    ck_assert_int_eq(s.store_version, version);
    char q[128];
    snprintf(q, sizeof q, "SELECT count(*) FROM footprints WHERE store_version = %lld",
             (long long)version);
    ck_assert_int_eq(sql_int(cat, q), 3);
    /* a new catalogue is private: it says where protected sites were seen */
    struct stat st;
    ck_assert_int_eq(stat(cat, &st), 0);
    ck_assert_int_eq(st.st_mode & 077, 0);
    env_close(&e);
}
END_TEST

/* Stops the run after the first file written. */
static int stop_after_one(double complete, const char *message, void *user) {
    (void)complete;
    int *calls = user;
    size_t done = 0, total = 0;
    ck_assert_int_eq(sscanf(message, "%zu/%zu files", &done, &total), 2);
    ck_assert_uint_eq(total, 3);
    ck_assert_uint_eq(done, (size_t)*calls);
    return (*calls)++ < 1;
}

START_TEST(test_catalog_resumes_after_an_interrupted_run) {
    env e;
    const char *src[] = {DEMO};
    env_open(&e, src, 1);
    char cat[256], dir[256];
    snprintf(cat, sizeof cat, "%s/c.gpkg", e.dir);
    photos_in(e.dir, dir, sizeof dir);
    ko_catalog_options o;
    ko_catalog_options_init(&o);
    int calls = 0;
    o.progress = stop_after_one, o.progress_user = &calls;
    const char *in[] = {dir};
    ko_catalog_stats s;
    /* stopped inside its one batch: nothing of it is committed, the catalogue is usable */
    ck_assert_int_eq(tag(&e, cat, &o, in, 1, &s), KO_ERR_CANCELLED);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(e.ctx), cat));
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM files"), 0);
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM footprints"), 0);
    /* a run that got through one file (as a batch committed before a kill leaves it) ... */
    ko_catalog_options_init(&o);
    char one[512];
    snprintf(one, sizeof one, "%s/%s", dir, photo[0].name);
    const char *first[] = {one};
    ck_assert_int_eq(tag(&e, cat, &o, first, 1, &s), KO_OK);
    ck_assert_uint_eq(s.files, 1);
    /* ... is resumed: the file it did is skipped, the others done, none twice */
    ck_assert_int_eq(tag(&e, cat, &o, in, 1, &s), KO_OK);
    ck_assert_uint_eq(s.skipped, 1);
    ck_assert_uint_eq(s.files, 2);
    ck_assert_int_eq(check_rows(cat), 3);
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM files"), 3);
    /* a file that changed since (its mtime) is done again and replaced, not duplicated */
    struct utimbuf t = {1000000000, 1000000000};
    char changed[512];
    snprintf(changed, sizeof changed, "%s/%s", dir, photo[1].name);
    ck_assert_int_eq(utime(changed, &t), 0);
    ck_assert_int_eq(tag(&e, cat, &o, in, 1, &s), KO_OK);
    ck_assert_uint_eq(s.files, 1);
    ck_assert_uint_eq(s.skipped, 2);
    ck_assert_int_eq(check_rows(cat), 3);
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM hits"), 2);
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM files WHERE mtime = 1000000000"), 1);
    env_close(&e);
}
END_TEST

START_TEST(test_catalog_shards_make_one_catalogue) {
    env e;
    const char *src[] = {DEMO};
    env_open(&e, src, 1);
    char cat[256];
    snprintf(cat, sizeof cat, "%s/c.gpkg", e.dir);
    const char *in[] = {IMAGES};
    ko_catalog_options o;
    ko_catalog_options_init(&o);
    o.shard_n = 2;
    size_t files = 0;
    for (o.shard_k = 1; o.shard_k <= 2; o.shard_k++) {
        ko_catalog_stats s;
        ck_assert_int_eq(tag(&e, cat, &o, in, 1, &s), KO_OK);
        files += s.files;
    }
    ck_assert_uint_eq(files, 3);
    ck_assert_int_eq(check_rows(cat), 3);
    env_close(&e);
}
END_TEST

START_TEST(test_catalog_recheck_follows_the_store) {
    env e;
    tmp_store(e.store, sizeof e.store);
    char far[256];
    tmp_file(e.store, "far.geojson", far, sizeof far);
    write_file(far, far_site);
    const char *src[] = {far};
    env_open(&e, src, 1);
    char cat[256], dir[256];
    snprintf(cat, sizeof cat, "%s/c.gpkg", e.dir);
    photos_in(e.dir, dir, sizeof dir);
    const char *in[] = {dir};
    ko_catalog_stats s;
    ck_assert_int_eq(tag(&e, cat, NULL, in, 1, &s), KO_OK);
    ck_assert_uint_eq(s.clear, 3);
    for (size_t i = 0; i < UNIT_COUNT(photo); i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, photo[i].name);
        ck_assert_int_eq(unlink(p), 0);
    }
    ck_assert_int_eq(ko_catalog_decide(&s, NULL, NULL), KO_RELEASE);
    /* the demo site is imported: the store's version moves on */
    ko_sites_close(e.sites);
    ko_sites *w = NULL;
    ck_assert_int_eq(ko_sites_open(e.ctx, e.store, KO_SITES_CREATE, &w), KO_OK);
    ko_import_report rep = {0};
    ck_assert_int_eq(ko_sites_import(w, DEMO, NULL, &rep), KO_OK);
    ko_import_report_clear(&rep);
    ko_sites_close(w);
    ck_assert_int_eq(ko_sites_open(e.ctx, e.store, KO_SITES_READONLY, &e.sites), KO_OK);
    int64_t version = 0;
    ck_assert_int_eq(ko_sites_version(e.sites, &version), KO_OK);
    /* the recheck reads no image: the photos are not where the rows say any more */
    ko_catalog *c = NULL;
    ck_assert_int_eq(ko_catalog_open(e.ctx, cat, NULL, &c), KO_OK);
    ko_catalog_stats_init(&s);
    ck_assert_msg(ko_catalog_recheck(c, e.sites, &s) == KO_OK, "%s", ko_errmsg(e.ctx));
    ko_catalog_close(c);
    ck_assert_uint_eq(s.rechecked, 3);
    ck_assert_uint_eq(s.changed, 2);
    ck_assert_int_eq(s.store_version, version);
    ck_assert_uint_eq(s.catalogue_flagged, 2);
    ck_assert_int_eq(ko_catalog_decide(&s, NULL, NULL), KO_REFUSE);
    ck_assert_int_eq(check_rows(cat), 3);
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM hits WHERE name LIKE 'DEMO substation%'"),
                     2);
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM files WHERE verdict = 'flagged'"), 2);
    char q[128];
    snprintf(q, sizeof q, "SELECT count(*) FROM files WHERE store_version = %lld",
             (long long)version);
    ck_assert_int_eq(sql_int(cat, q), 3);
    env_close(&e);
}
END_TEST

START_TEST(test_catalog_leaves_out_a_file_whose_sidecar_it_cannot_place) {
    env e;
    const char *src[] = {DEMO};
    env_open(&e, src, 1);
    char cat[256], dir[256], user_xmp[512];
    snprintf(cat, sizeof cat, "%s/c.gpkg", e.dir);
    photos_in(e.dir, dir, sizeof dir);
    snprintf(user_xmp, sizeof user_xmp, "%s/%s.xmp", dir, photo[0].name);
    write_file(user_xmp, "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">a user's own</x:xmpmeta>\n");
    ko_catalog_options o;
    ko_catalog_options_init(&o);
    o.sidecar = 1;
    notes nt = {"", 0};
    o.note = take_note, o.note_user = &nt;
    const char *in[] = {dir};
    ko_catalog_stats s;
    ck_assert_int_eq(tag(&e, cat, &o, in, 1, &s), KO_OK);
    ck_assert_uint_eq(s.left_out, 1);
    ck_assert_uint_eq(s.files, 2);
    ck_assert_int_eq(nt.warnings, 1);
    ck_assert_ptr_nonnull(strstr(nt.text, "DJI_0018.JPG.xmp"));
    ck_assert_ptr_null(strstr(nt.text, "--")); /* the library names no command-line flag */
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM files WHERE path LIKE '%DJI_0018%'"), 0);
    /* the user's file is untouched; keepout's sidecars carry the verdict */
    FILE *fp = fopen(user_xmp, "r");
    char buf[256] = "";
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, fp));
    fclose(fp);
    ck_assert_ptr_nonnull(strstr(buf, "a user's own"));
    char side[512];
    snprintf(side, sizeof side, "%s/%s.xmp", dir, photo[1].name);
    fp = fopen(side, "r");
    ck_assert_ptr_nonnull(fp);
    char text[2048];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    ck_assert_ptr_nonnull(strstr(text, "keepout:Verdict=\"flagged\""));
    ck_assert_ptr_nonnull(strstr(text, "DEMO substation"));
    /* a file left out was not checked: the catalogue is refused even with unknown as clear */
    ko_release_policy p;
    ko_release_policy_init(&p);
    p.unknown_is = KO_CLEAR;
    s.catalogue_clear = 1, s.catalogue_flagged = 0; /* only the file left out weighs */
    ck_assert_int_eq(ko_catalog_decide(&s, &p, NULL), KO_REFUSE);
    s.left_out = 0;
    ck_assert_int_eq(ko_catalog_decide(&s, &p, NULL), KO_RELEASE);
    env_close(&e);
}
END_TEST

/* Two sites in view of DJI_0021 and DJI_0023, the nearer one's name holding the other's: the
 * demo square as "North substation" and the same square 20 m further north-east as
 * "substation" (both in the 50 m buffer of those footprints). */
static const char two_sites[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"name\":\"North substation\",\"category\":"
    "\"substation\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[-91.9938288,46.843066],"
    "[-91.9936712,46.843066],[-91.9936712,46.843174],[-91.9938288,46.843174],"
    "[-91.9938288,46.843066]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"name\":\"substation\",\"category\":\"substation\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[-91.9936288,46.843196],"
    "[-91.9934712,46.843196],[-91.9934712,46.843304],[-91.9936288,46.843304],"
    "[-91.9936288,46.843196]]]}}]}";

START_TEST(test_catalog_sidecar_names_every_site) {
    env e;
    tmp_store(e.store, sizeof e.store);
    char src_path[256];
    tmp_file(e.store, "two.geojson", src_path, sizeof src_path);
    write_file(src_path, two_sites);
    const char *src[] = {src_path};
    env_open(&e, src, 1);
    char cat[256], dir[256];
    snprintf(cat, sizeof cat, "%s/c.gpkg", e.dir);
    photos_in(e.dir, dir, sizeof dir);
    ko_catalog_options o;
    ko_catalog_options_init(&o);
    o.sidecar = 1;
    const char *in[] = {dir};
    ko_catalog_stats s;
    ck_assert_int_eq(tag(&e, cat, &o, in, 1, &s), KO_OK);
    /* the catalogue's hits: both sites for DJI_0023 */
    ck_assert_int_eq(
        sql_int(cat, "SELECT count(DISTINCT name) FROM hits WHERE path LIKE '%DJI_0023.JPG'"), 2);
    char side[512], text[2048];
    snprintf(side, sizeof side, "%s/DJI_0023.JPG.xmp", dir);
    FILE *fp = fopen(side, "r");
    ck_assert_ptr_nonnull(fp);
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    ck_assert_msg(strstr(text, "keepout:Sites=\"North substation;substation\""), "%s", text);
    env_close(&e);
}
END_TEST

START_TEST(test_catalog_refuses_an_input_with_nothing_to_tag) {
    env e;
    const char *src[] = {DEMO};
    env_open(&e, src, 1);
    char cat[256], empty[256], note[300];
    snprintf(cat, sizeof cat, "%s/c.gpkg", e.dir);
    snprintf(empty, sizeof empty, "%s/notes", e.dir);
    ck_assert_int_eq(mkdir(empty, 0755), 0);
    snprintf(note, sizeof note, "%s/readme.txt", empty);
    write_file(note, "no photos here\n");
    const char *in[] = {IMAGES, empty};
    ko_catalog_stats s;
    ck_assert_int_eq(tag(&e, cat, NULL, in, 2, &s), KO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(e.ctx), empty));
    ck_assert_ptr_nonnull(strstr(ko_errmsg(e.ctx), "nothing to tag"));
    ck_assert_ptr_null(strstr(ko_errmsg(e.ctx), "--"));
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM files"), 0);
    env_close(&e);
}
END_TEST

START_TEST(test_catalog_wants_the_store_of_its_context) {
    env e;
    const char *src[] = {DEMO};
    env_open(&e, src, 1);
    char cat[256];
    snprintf(cat, sizeof cat, "%s/c.gpkg", e.dir);
    ko_context *other = NULL;
    ck_assert_int_eq(ko_context_create(&other), KO_OK);
    ko_catalog *c = NULL;
    ck_assert_int_eq(ko_catalog_open(other, cat, NULL, &c), KO_OK);
    const char *in[] = {IMAGES};
    ko_catalog_stats s;
    ko_catalog_stats_init(&s);
    ck_assert_int_eq(ko_catalog_tag(c, e.sites, in, 1, &s), KO_ERR_ARG);
    ck_assert_int_eq(ko_catalog_recheck(c, e.sites, &s), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(other), "another context"));
    ko_catalog_close(c);
    ko_context_destroy(other);
    ck_assert_int_eq(sql_int(cat, "SELECT count(*) FROM files"), 0);
    env_close(&e);
}
END_TEST

START_TEST(test_catalog_options_are_checked) {
    ko_context *ctx = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    char store[192], cat[256];
    tmp_store(store, sizeof store);
    tmp_file(store, "c.gpkg", cat, sizeof cat);
    ko_catalog_options o;
    ko_catalog_options_init(&o);
    ck_assert_uint_eq(o.shard_k, 1);
    ck_assert_uint_eq(o.shard_n, 1);
    o.shard_k = 3, o.shard_n = 2;
    ko_catalog *c = NULL;
    ck_assert_int_eq(ko_catalog_open(ctx, cat, &o, &c), KO_ERR_ARG);
    ck_assert_ptr_null(c);
    o.size = 0; /* never initialised */
    ck_assert_int_eq(ko_catalog_open(ctx, cat, &o, &c), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "ko_catalog_options"));
    ck_assert_int_ne(access(cat, F_OK), 0); /* nothing created */
    /* a catalogue that cannot be created is named */
    ck_assert_int_eq(ko_catalog_open(ctx, "/nonexistent-dir/c.gpkg", NULL, &c), KO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "/nonexistent-dir/c.gpkg"));
    ko_catalog_close(NULL);
    ko_catalog_stats s;
    memset(&s, 0, sizeof s); /* not from ko_catalog_stats_init(): refused */
    const char *why = NULL;
    ck_assert_int_eq(ko_catalog_decide(&s, NULL, &why), KO_REFUSE);
    ck_assert_ptr_nonnull(why);
    ko_catalog_stats_init(&s); /* an empty catalogue: nothing was checked */
    ck_assert_int_eq(ko_catalog_decide(&s, NULL, NULL), KO_REFUSE);
    ko_context_destroy(ctx);
}
END_TEST

/* Times as the catalogue's timestamp columns hold them (issue 19): ISO 8601 read into UTC.
 * The expected instants are worked out by hand from the offsets (and agree with PostgreSQL's
 * own reading of the same text, `SELECT '...'::timestamptz AT TIME ZONE 'UTC'`). */
START_TEST(test_catalog_times_are_read_into_utc) {
    static const struct {
        const char *text, *utc; /* utc NULL: not a time */
    } c[] = {
        /* EXIF DateTimeOriginal as the reader gives it: no zone, the camera's clock as UTC */
        {"2016-06-23T16:31:59", "2016-06-23T16:31:59.000Z"},
        {"2026-12-05T14:00:00Z", "2026-12-05T14:00:00.000Z"},
        /* an SRT frame: fractions kept to the millisecond */
        {"2022-08-07T13:40:40.774", "2022-08-07T13:40:40.774Z"},
        {"2022-08-07 13:40:40,5", "2022-08-07T13:40:40.500Z"},
        /* offsets converted, across a day, a month and a year */
        {"2026-05-27T13:10:00+02:00", "2026-05-27T11:10:00.000Z"},
        {"2026-01-01T00:30:00+01", "2025-12-31T23:30:00.000Z"},
        {"2024-02-28T22:00:00-0230", "2024-02-29T00:30:00.000Z"},
        {"2016-06-23T16:31", "2016-06-23T16:31:00.000Z"},
        {"2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000Z"}, /* a leap second */
        {"2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z"},
        {"2023-02-29T12:00:00", NULL}, /* not a day of 2023 */
        {"2016-04-31T00:00:00", NULL},
        {"2016-06-23", NULL},
        {"2016-06-23T16:31:59junk", NULL},
        {"2016-06-23T16:31:59+01:", NULL},
        {"2016-06-23T24:00:00", NULL},
        {"2016:06:23 16:31:59", NULL}, /* EXIF's own form: the reader converts it first */
        {"20", NULL},
        {"", NULL},
        {"last Tuesday", NULL},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char got[64] = "";
        koi_cat_time t;
        int ok = koi_cat_time_utc(c[i].text, &t);
        if (ok)
            snprintf(got, sizeof got, "%04d-%02d-%02dT%02d:%02d:%06.3fZ", t.year, t.month, t.day,
                     t.hour, t.minute, t.second);
        if (c[i].utc)
            ck_assert_msg(ok && !strcmp(got, c[i].utc), "%s: %s, not %s", c[i].text,
                          ok ? got : "refused", c[i].utc);
        else
            ck_assert_msg(!ok, "%s: read as %s", c[i].text, got);
    }
    ck_assert_int_eq(koi_cat_time_utc(NULL, &(koi_cat_time){0}), 0);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_catalog_tags_photos_into_a_geopackage,
                            test_catalog_resumes_after_an_interrupted_run,
                            test_catalog_shards_make_one_catalogue,
                            test_catalog_recheck_follows_the_store,
                            test_catalog_leaves_out_a_file_whose_sidecar_it_cannot_place,
                            test_catalog_sidecar_names_every_site,
                            test_catalog_refuses_an_input_with_nothing_to_tag,
                            test_catalog_wants_the_store_of_its_context,
                            test_catalog_options_are_checked,
                            test_catalog_times_are_read_into_utc};
    return unit_run(&(unit_suite){.name = "catalog", .timeout_s = 60, .global_init = 1}, tests,
                    UNIT_COUNT(tests));
}
