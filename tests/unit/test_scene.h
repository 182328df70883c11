/* A scene whose every answer can be worked out by hand, for the check, redaction and remedy
 * tests: a pinhole camera with tan(HFOV/2) = 0.75 and tan(VFOV/2) = 0.5625 (focal 1 mm, sensor
 * 1.5 x 1.125 mm) over flat ground near (SCENE_LAT, SCENE_LON), and square sites given in east
 * and north metres from that point, stored with no buffer. At nadir, yaw 0, height H, it sees
 * the rectangle |east| <= 0.75 H, |north| <= 0.5625 H, the top of the image north. */
#ifndef KEEPOUT_TEST_SCENE_H
#define KEEPOUT_TEST_SCENE_H

#include <math.h>

#include "check_runner.h"
#include "test_lens.h"
#include "test_util.h"

#define SCENE_LAT 47.0
#define SCENE_LON 8.0
#define SCENE_PI 3.14159265358979323846

/* Local east/north metres to lon/lat: WGS84 radii of curvature at SCENE_LAT (a flat-earth step,
 * independent of the library's azimuthal frame; within 2 mm of it over 150 m). */
static inline void scene_ll(double e, double n, double *lon, double *lat) {
    const double a = 6378137.0, e2 = 0.00669437999014;
    double phi = SCENE_LAT * SCENE_PI / 180, w = sqrt(1 - e2 * sin(phi) * sin(phi));
    *lat = SCENE_LAT + n / (a * (1 - e2) / (w * w * w)) * 180 / SCENE_PI;
    *lon = SCENE_LON + e / (a / w * cos(phi)) * 180 / SCENE_PI;
}

/* The pinhole camera (test_lens.h) with an image of w x h pixels (0 x 0: size unknown). */
static inline ko_camera scene_camera(uint32_t w, uint32_t h) {
    ko_camera c = lens_075();
    c.width_px = w;
    c.height_px = h;
    return c;
}

/* A shot of cam from (e, n) metres off the scene's origin, height_m above flat ground. */
static inline ko_shot scene_shot(const ko_camera *cam, double e, double n, double height_m,
                                 double yaw_deg, double pitch_deg) {
    ko_shot s;
    memset(&s, 0, sizeof s);
    s.source = "scene";
    s.id = "shot";
    s.camera = *cam;
    ko_pose_init(&s.pose);
    scene_ll(e, n, &s.pose.lon, &s.pose.lat);
    s.pose.height_m = height_m;
    s.pose.yaw_deg = yaw_deg;
    s.pose.pitch_deg = pitch_deg;
    s.pose.roll_deg = 0;
    return s;
}

/* A square site: east e0..e1, north n0..n1 metres off the scene's origin. */
typedef struct scene_site {
    const char *name, *category;
    double e0, e1, n0, n1;
} scene_site;

/* Imports the sites into f's store (a GeoJSON written next to it, buffer 0: the stored
 * buffered geometry is the square itself). */
static inline void scene_store(fixture *f, const scene_site *sites, size_t n) {
    static int calls; /* a new file each time: a store imports a source once */
    char path[300], feature[600], name[40];
    snprintf(name, sizeof name, "scene%d.geojson", calls++);
    tmp_file(f->db, name, path, sizeof path);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("{\"type\":\"FeatureCollection\",\"features\":[", fp);
    for (size_t i = 0; i < n; i++) {
        const scene_site *s = &sites[i];
        double x[4], y[4];
        scene_ll(s->e0, s->n0, &x[0], &y[0]);
        scene_ll(s->e1, s->n0, &x[1], &y[1]);
        scene_ll(s->e1, s->n1, &x[2], &y[2]);
        scene_ll(s->e0, s->n1, &x[3], &y[3]);
        snprintf(feature, sizeof feature,
                 "%s{\"type\":\"Feature\",\"properties\":{\"name\":\"%s\",\"category\":\"%s\"},"
                 "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[%.12f,%.12f],[%.12f,%.12f],"
                 "[%.12f,%.12f],[%.12f,%.12f],[%.12f,%.12f]]]}}",
                 i ? "," : "", s->name, s->category, x[0], y[0], x[1], y[1], x[2], y[2], x[3], y[3],
                 x[0], y[0]);
        fputs(feature, fp);
    }
    fputs("]}", fp);
    ck_assert_int_eq(fclose(fp), 0);
    ko_import_options o;
    ko_import_options_init(&o);
    o.buffer_m = 0;
    ko_import_report r = import_ok(f, path, &o);
    ck_assert_uint_eq(r.imported, n);
    ko_import_report_clear(&r);
}

/* Check options with the store's GSD limit, as the faces set them. Their footprint options
 * (held by pointer) are scene_footprint's, one per test process. */
static ko_footprint_options scene_footprint;
static inline ko_check_options scene_options(fixture *f) {
    ko_check_options o;
    ko_check_options_init(&o);
    ko_footprint_options_init(&scene_footprint);
    ck_assert_int_eq(ko_sites_gsd_limit(f->s, &scene_footprint.gsd_limit_m), KO_OK);
    o.footprint = &scene_footprint;
    return o;
}

/* The sites of the check and redaction tests. R1, power_plant (2 m/px), projects at nadir
 * from 100 m (u = 50 + e / 1.5, v = 37.5 - n / 1.5 on a 100 x 75 image) to u 66.2..72.9,
 * v 20.3..27.6, clear of pixel centres and edges; R2, bridge (1 m/px), mirrors it across the
 * camera; R3, power_plant, straddles the east edge of that view (75 m); C, nuclear (5 m/px),
 * lies 10 m beyond it. */
static inline void scene_store_sites(fixture *f) {
    static const scene_site sites[] = {
        {"R1 plant", "power_plant", 24.3, 34.35, 14.85, 25.8},
        {"R2 bridge", "bridge", -30, -20, -20, -10},
        {"R3 plant", "power_plant", 70, 80, -4.7, 5.2},
        {"C nuclear", "nuclear", 85, 95, -5, 5},
    };
    scene_store(f, sites, sizeof sites / sizeof *sites);
}

/* The fixture of a scene test file: a fresh store around each test, holding the scene's sites
 * (scene_setup) or none (scene_setup_empty). */
static fixture scene;

static inline void scene_setup(void) {
    fixture_open(&scene);
    scene_store_sites(&scene);
}

static inline void scene_setup_empty(void) {
    fixture_open(&scene);
}

static inline void scene_teardown(void) {
    fixture_close(&scene);
}

/* How a scene test file runs: each test inside the fixture, set up by setup_fn. */
#define SCENE_SUITE(suite_name, setup_fn)                                                        \
    (unit_suite) {                                                                               \
        .name = (suite_name), .timeout_s = 120, .setup = (setup_fn), .teardown = scene_teardown, \
        .global_init = 1                                                                         \
    }

/* The check of shot on the scene's store, which must succeed; opts NULL: scene_options(). */
static inline ko_result *scene_check(const ko_shot *shot, const ko_check_options *opts) {
    ko_check_options o = opts ? *opts : scene_options(&scene);
    ko_result *r = NULL;
    ck_assert_msg(ko_check_shot(scene.ctx, scene.s, shot, &o, &r) == KO_OK, "%s",
                  ko_errmsg(scene.ctx));
    ck_assert_ptr_nonnull(r);
    return r;
}

#endif
