/* Terrain footprints against closed forms on DEMs the tests write themselves (/vsimem/ GeoTIFFs
 * in EPSG:4326 and UTM), the EGM96 conversion against the grid's own value, and real SRTM. */
#include <gdal.h>
#include <gdal_utils.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"
#include "check_runner.h"
#include "test_lens.h"
#include "test_raster.h"

#define LAT0 LENS_LAT
#define LON0 LENS_LON

static ko_context *ctx;

static void setup(void) {
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
}

static void teardown(void) {
    ko_context_destroy(ctx);
}

/* Metres per degree of latitude and longitude at lat (WGS84 radii of curvature). */
static double m_per_deg_lat(double lat) {
    const double a = 6378137.0, e2 = 0.00669437999014;
    double s = sin(lat * M_PI / 180.0), w = sqrt(1 - e2 * s * s);
    return a * (1 - e2) / (w * w * w) * M_PI / 180.0;
}

static void make_dem(const char *path, int epsg, const double gt[6], int w, int h, zfun f,
                     const double *arg, int nodata) {
    char def[32];
    snprintf(def, sizeof def, "EPSG:%d", epsg);
    make_dem_srs(path, def, gt, w, h, f, arg, nodata);
}

/* A geographic DEM of +-half_deg around (LAT0, LON0) with pixels of px_deg. */
static void make_dem_4326(const char *path, double half_deg, double px_deg, zfun f,
                          const double *arg, int nodata) {
    int n = (int)lround(2 * half_deg / px_deg);
    double gt[6] = {LON0 - half_deg, px_deg, 0, LAT0 + half_deg, 0, -px_deg};
    make_dem(path, 4326, gt, n, n, f, arg, nodata);
}

static double z_const(double x, double y, const double *arg) {
    (void)x, (void)y;
    return arg[0];
}

static ko_dem *open_dem(const char *path) {
    ko_dem *dem = NULL;
    ko_status st = ko_dem_open(ctx, path, &dem);
    ck_assert_msg(st == KO_OK, "dem_open: %s", ko_errmsg(ctx));
    return dem;
}

static ko_footprint_options opts_range(double range, ko_dem *dem) {
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.max_range_m = range;
    o.gsd_limit_m = NAN;
    o.dem = dem;
    return o;
}

static ko_footprint *compute(const ko_camera *c, const ko_pose *p, const ko_footprint_options *o) {
    ko_footprint *fp = NULL;
    ko_status st = ko_footprint_compute(ctx, c, p, o, &fp);
    ck_assert_msg(st == KO_OK, "footprint failed: %s", ko_errmsg(ctx));
    return fp;
}

static double max_north(const ko_footprint *fp) {
    size_t n;
    const double *xy = ko_footprint_ring_local(fp, &n);
    double m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, xy[2 * i + 1]);
    return m;
}

static double min_north(const ko_footprint *fp) {
    size_t n;
    const double *xy = ko_footprint_ring_local(fp, &n);
    double m = INFINITY;
    for (size_t i = 0; i < n; i++)
        m = fmin(m, xy[2 * i + 1]);
    return m;
}

/* Same ring, point by point, within 1e-6 of the ring's size. */
static void assert_same_ring(const ko_footprint *a, const ko_footprint *b) {
    size_t na, nb;
    const double *xa = ko_footprint_ring_local(a, &na);
    const double *xb = ko_footprint_ring_local(b, &nb);
    ck_assert_uint_eq(na, nb);
    double scale = 0;
    for (size_t i = 0; i < 2 * na; i++)
        scale = fmax(scale, fabs(xa[i]));
    for (size_t i = 0; i < 2 * na; i++)
        ck_assert_msg(fabs(xa[i] - xb[i]) <= 1e-6 * scale, "coordinate %zu: %.9f vs %.9f", i, xa[i],
                      xb[i]);
    ck_assert_int_eq(ko_footprint_is_range_limited(a), ko_footprint_is_range_limited(b));
    ck_assert_double_eq_tol(ko_footprint_area_m2(a), ko_footprint_area_m2(b),
                            1e-6 * ko_footprint_area_m2(b));
}

START_TEST(test_dem_flat_plane_reproduces_flat_model) {
    const double z0 = 300.0;
    make_dem_4326("/vsimem/flat.tif", 0.05, 0.0005, z_const, &z0, 0);
    ko_dem *dem = open_dem("/vsimem/flat.tif");
    ck_assert_ptr_nonnull(strstr(ko_dem_vertical_datum(dem), "EGM96"));
    ck_assert_ptr_nonnull(strstr(ko_dem_vertical_datum(dem), "assumed"));
    ko_camera c = lens_075();
    c.width_px = 4000, c.height_px = 3000; /* a pixel size, for the GSD */
    const double poses[][4] = {
        {100, 0, -90, 0}, {80, 30, -45, 5}, {120, 200, -20, -3}, {60, 300, -60, 10}};
    for (size_t i = 0; i < sizeof poses / sizeof poses[0]; i++) {
        c.k1 = i == 3 ? -0.12 : 0.0; /* and a distorted (curved) boundary */
        ko_pose p = pose_at(poses[i][0], poses[i][1], poses[i][2], poses[i][3]);
        ko_footprint_options flat = opts_range(1500, NULL), terr = opts_range(1500, dem);
        ko_footprint *f0 = compute(&c, &p, &flat);
        ko_footprint *f1 = compute(&c, &p, &terr); /* no altitude: DEM + height */
        assert_same_ring(f1, f0);
        ck_assert_str_eq(ko_footprint_height_source(f1), "dem+height");
        ck_assert_str_eq(ko_footprint_height_source(f0), "flat");
        ck_assert_double_eq_tol(ko_footprint_ground_alt_m(f1), z0, 1e-9);
        ck_assert_double_eq_tol(ko_footprint_camera_alt_m(f1), z0 + p.height_m, 1e-9);
        ck_assert(isnan(ko_footprint_camera_alt_m(f0)));
        ko_footprint_destroy(f1);
        p.alt_msl_m = z0 + p.height_m; /* the same camera from its MSL altitude */
        f1 = compute(&c, &p, &terr);
        assert_same_ring(f1, f0);
        ck_assert_str_eq(ko_footprint_height_source(f1), "alt_msl");
        /* GSD over flat terrain: the flat model's, the camera being height_m above it */
        double lon = -91.9945, lat = 46.8427;
        ck_assert_double_eq_tol(ko_footprint_gsd_at(f1, lon, lat),
                                ko_footprint_gsd_at(f0, lon, lat), 1e-12);
        ko_footprint_destroy(f1);
        ko_footprint_destroy(f0);
    }
    ko_dem_close(dem);
    VSIUnlink("/vsimem/flat.tif");
}
END_TEST

/* A plane rising to the north by g metres per metre of UTM northing, camera on the central
 * meridian of zone 15 (93 W), where grid north is true north and northing = 0.9996 x the
 * meridian arc. Nadir, yaw 0: the top image edge (tan 0.5625 ahead, per metre of descent)
 * meets the plane where h - s / 0.5625 = g k0 s, i.e. s_far = h / (1/0.5625 + g k0); the
 * bottom edge where h - s / 0.5625 = -g k0 s, s_near = h / (1/0.5625 - g k0). Each edge is a
 * line of constant north, so the footprint is a trapezoid of depth s_far + s_near, widths
 * 2 (0.75/0.5625) s_far and 2 (0.75/0.5625) s_near. */
static double z_tilted(double x, double y, const double *arg) {
    (void)x;
    return arg[0] + arg[1] * (y - arg[2]);
}

/* WGS84 (lat, lon) to UTM zone 15N easting and northing, through GDAL/PROJ. */
static void utm15(double lat, double lon, double *e, double *n) {
    OGRSpatialReferenceH wgs = OSRNewSpatialReference(NULL), utm = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(wgs, 4326);
    OSRImportFromEPSG(utm, 32615);
    OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(wgs, utm);
    *e = lon, *n = lat;
    ck_assert(OCTTransform(ct, 1, e, n, NULL));
    OCTDestroyCoordinateTransformation(ct);
    OSRRelease(wgs);
    OSRRelease(utm);
}

START_TEST(test_dem_tilted_plane_utm_closed_form) {
    const double lat = 46.842607, lon = -93.0, h = 100.0, g = 0.2, k0 = 0.9996, z0 = 1000.0;
    double e, n;
    utm15(lat, lon, &e, &n);
    ck_assert_double_eq_tol(e, 500000.0, 1e-6);
    const double arg[3] = {z0, g, n};
    double gt[6] = {e - 3000, 10, 0, n + 3000, 0, -10};
    make_dem("/vsimem/tilted.tif", 32615, gt, 600, 600, z_tilted, arg, 0);
    ko_dem *dem = open_dem("/vsimem/tilted.tif");
    ko_camera c = lens_075();
    ko_pose p = pose_at(h, 0, -90, 0);
    p.lat = lat;
    p.lon = lon;
    p.alt_msl_m = z0 + h;
    ko_footprint_options o = opts_range(1500, dem);
    ko_footprint *fp = compute(&c, &p, &o);
    double s_far = h / (1 / 0.5625 + g * k0), s_near = h / (1 / 0.5625 - g * k0);
    ck_assert_double_eq_tol(max_north(fp), s_far, 2e-3);
    ck_assert_double_eq_tol(min_north(fp), -s_near, 2e-3);
    double area = 4.0 / 3.0 * (s_far + s_near) * (s_far + s_near);
    ck_assert_double_eq_tol(ko_footprint_area_m2(fp), area, 1e-4 * area);
    ck_assert_int_eq(ko_footprint_is_range_limited(fp), 0);
    /* the flat model (ground level under the camera) is wrong in both directions */
    ko_footprint_options flat = opts_range(1500, NULL);
    ko_footprint *f0 = compute(&c, &p, &flat);
    ck_assert_double_gt(max_north(f0), s_far + 5);
    ck_assert_double_lt(-min_north(f0), s_near - 5);
    ko_footprint_destroy(f0);
    ko_footprint_destroy(fp);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/tilted.tif");
}
END_TEST

static void ned_ray(double yaw, double pitch, double u, double v, double d[3]);

/* The same closed form on a DEM whose pixel axes are not at right angles on the ground (a
 * sheared geotransform: pixel x 10 m east, pixel y 9 m east and 3 m south; a sinusoidal grid's
 * axes at high latitude are like it). The terrain's slope bound, taken as if the axes were
 * orthogonal, came out 3 times too small, the march jumped past the crossing and reported the
 * ground metres too far (adversary: 1.5 m past on a 3 m/m plane; 7 m on MODIS sinusoidal at
 * 65 N). Both a steep plane and a gentle one, every side of the view. */
START_TEST(test_dem_sheared_pixel_axes_closed_form) {
    const double lat = 46.842607, lon = -93.0, h = 100.0, k0 = 0.9996, z0 = 1000.0;
    double e, n;
    utm15(lat, lon, &e, &n);
    const double slopes[] = {1.0, 0.2};
    for (int i = 0; i < 2; i++) {
        const double g = slopes[i], arg[3] = {z0, g, n};
        double gt[6] = {e - 6000 - 9000, 10, 9, n + 3000, 0, -3};
        make_dem("/vsimem/sheared.tif", 32615, gt, 1200, 2000, z_tilted, arg, 0);
        ko_dem *dem = open_dem("/vsimem/sheared.tif");
        ko_camera c = lens_075();
        ko_pose p = pose_at(h, 0, -90, 0);
        p.lat = lat;
        p.lon = lon;
        p.alt_msl_m = z0 + h;
        ko_footprint_options o = opts_range(400, dem); /* a window small enough to bound */
        ko_footprint *fp = compute(&c, &p, &o);
        double s_far = h / (1 / 0.5625 + g * k0), s_near = h / (1 / 0.5625 - g * k0);
        ck_assert_double_eq_tol(max_north(fp), s_far, 2e-3);
        ck_assert_double_eq_tol(min_north(fp), -s_near, 2e-3);
        double area = 4.0 / 3.0 * (s_far + s_near) * (s_far + s_near);
        ck_assert_double_eq_tol(ko_footprint_area_m2(fp), area, 1e-4 * area);
        ko_footprint_destroy(fp);
        /* oblique and low, yawed off the grid: each boundary ray meets the plane at
         * s = h / (k + g k0 an) (k: its descent per metre, an: its northward share); the ring's
         * extremes are the extremes of those hits over the image boundary */
        p = pose_at(15, 18.43, -35, 0);
        p.lat = lat;
        p.lon = lon;
        p.alt_msl_m = z0 + 15;
        fp = compute(&c, &p, &o);
        double ext[4] = {-INFINITY, INFINITY, -INFINITY, INFINITY}; /* max/min north, east */
        for (int b = 0; b < 4 * 2000; b++) {
            double t = -1 + (b % 2000) / 1000.0, d[3];
            int side = b / 2000;
            ned_ray(18.43, -35, side < 2 ? 0.75 * t : (side == 2 ? -0.75 : 0.75),
                    side < 2 ? (side ? 0.5625 : -0.5625) : 0.5625 * t, d);
            double hz = hypot(d[0], d[1]), sd = 15 / (d[2] / hz + g * k0 * d[0] / hz);
            double nn = sd * d[0] / hz, ee = sd * d[1] / hz;
            ext[0] = fmax(ext[0], nn), ext[1] = fmin(ext[1], nn);
            ext[2] = fmax(ext[2], ee), ext[3] = fmin(ext[3], ee);
        }
        size_t nr;
        const double *r = ko_footprint_ring_local(fp, &nr);
        double got[4] = {-INFINITY, INFINITY, -INFINITY, INFINITY};
        for (size_t k = 0; k < nr; k++) {
            got[0] = fmax(got[0], r[2 * k + 1]), got[1] = fmin(got[1], r[2 * k + 1]);
            got[2] = fmax(got[2], r[2 * k]), got[3] = fmin(got[3], r[2 * k]);
        }
        for (int k = 0; k < 4; k++)
            ck_assert_msg(fabs(got[k] - ext[k]) <= 0.01, "slope %g, extreme %d: %.3f vs %.3f", g, k,
                          got[k], ext[k]);
        ko_footprint_destroy(fp);
        ko_dem_close(dem);
    }
    VSIUnlink("/vsimem/sheared.tif");
}
END_TEST

/* Ground at 0 with a 200 m high ridge from 300 m to 400 m north of the camera. Camera 100 m up,
 * looking north 30 deg down: the top edge (0.64 deg below the horizon) would reach 8.9 km on
 * flat ground; it must stop at the ridge's face, the first crossing, not behind it. */
static double z_ridge(double x, double y, const double *arg) {
    (void)x;
    double north = (y - LAT0) * arg[0];
    return north >= 300 && north < 400 ? 200.0 : 0.0;
}

START_TEST(test_dem_first_crossing_wins_at_a_cliff) {
    const double arg[1] = {m_per_deg_lat(LAT0)};
    make_dem_4326("/vsimem/ridge.tif", 0.03, 0.00005, z_ridge, arg, 0);
    ko_dem *dem = open_dem("/vsimem/ridge.tif");
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 0, -30, 0);
    ko_footprint_options o = opts_range(2000, dem);
    ko_footprint *fp = compute(&c, &p, &o);
    double px = 0.00005 * arg[0]; /* 5.6 m: the face is a ramp one pixel wide */
    ck_assert_double_ge(max_north(fp), 300 - px);
    ck_assert_double_le(max_north(fp), 300 + px);
    ck_assert_int_eq(ko_footprint_is_range_limited(fp), 0);
    /* near edge on the low ground: 100 / tan(30 + 29.36 deg) */
    ck_assert_double_eq_tol(min_north(fp), 100 / tan((30 + atan(0.5625) * 180 / M_PI) * M_PI / 180),
                            1e-3);
    ko_footprint_destroy(fp);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/ridge.tif");
}
END_TEST

/* Flat ground at 0; north of 200 m either nodata or no DEM at all. */
static double z_hole(double x, double y, const double *arg) {
    (void)x;
    return (y - LAT0) * arg[0] > 200 ? -9999.0 : 0.0;
}

START_TEST(test_dem_nodata_and_leaving_the_dem_are_unknown) {
    const double arg[1] = {m_per_deg_lat(LAT0)};
    make_dem_4326("/vsimem/hole.tif", 0.01, 0.0001, z_hole, arg, 1);
    double half_n = 200 / arg[0], half_e = 0.01;
    double gt[6] = {LON0 - half_e, 0.0001, 0, LAT0 + half_n, 0, -half_n / 20};
    const double zero = 0.0;
    make_dem("/vsimem/edge.tif", 4326, gt, 200, 40, z_const, &zero, 0);
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 0, -45, 0);
    /* on flat ground the top edge lands at 100 / tan(45 - 29.36 deg) = 357 m */
    ko_footprint_options flat = opts_range(800, NULL);
    ko_footprint *f0 = compute(&c, &p, &flat);
    ck_assert_double_eq_tol(max_north(f0), 100 / tan((45 - atan(0.5625) * 180 / M_PI) * M_PI / 180),
                            1e-6);
    ko_footprint_destroy(f0);
    /* The top edge's rays meet nodata, or leave the DEM, 200 m north: the ground they would
     * see has no height. Cut at the range limit they only widened the view here, but under the
     * near edge the same cut folds the ring into the view (a 4 m void 8 m ahead shrank a
     * 19,200 m2 footprint to 7,087 m2 and hid a site at the image centre): unknown, naming the
     * DEM and where. */
    const char *paths[] = {"/vsimem/hole.tif", "/vsimem/edge.tif"};
    for (int i = 0; i < 2; i++) {
        ko_dem *dem = open_dem(paths[i]);
        ko_footprint_options o = opts_range(800, dem);
        ko_footprint *fp = NULL;
        ck_assert_int_eq(ko_footprint_compute(ctx, &c, &p, &o, &fp), KO_ERR_ARG);
        ck_assert_ptr_null(fp);
        ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "has no height for"));
        ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), paths[i]));
        ko_dem_close(dem);
    }
    /* no DEM data under the camera: no footprint, never a silent flat one */
    ko_dem *dem = open_dem("/vsimem/hole.tif");
    ko_footprint_options o = opts_range(800, dem);
    p.lat = LAT0 + 300 / arg[0];
    ko_footprint *fp = NULL;
    ck_assert_int_eq(ko_footprint_compute(ctx, &c, &p, &o, &fp), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "no DEM elevation under the camera"));
    ko_dem_close(dem);
    VSIUnlink(paths[0]);
    VSIUnlink(paths[1]);
}
END_TEST

START_TEST(test_dem_camera_below_terrain_or_disagreeing_fails_with_numbers) {
    const double z0 = 300.0;
    make_dem_4326("/vsimem/flat2.tif", 0.02, 0.0005, z_const, &z0, 0);
    ko_dem *dem = open_dem("/vsimem/flat2.tif");
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 0, -90, 0);
    ko_footprint_options o = opts_range(1500, dem);
    ko_footprint *fp = NULL;
    p.alt_msl_m = 250.0;
    ck_assert_int_eq(ko_footprint_compute(ctx, &c, &p, &o, &fp), KO_ERR_ARG);
    ck_assert_ptr_null(fp);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "below the terrain"));
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "250.0"));
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "300.0"));
    p.alt_msl_m = 500.0; /* 200 m above the DEM, 100 m by height: more than max(30, 50) */
    ck_assert_int_eq(ko_footprint_compute(ctx, &c, &p, &o, &fp), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "disagree"));
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "200.0"));
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "100.0"));
    p.alt_msl_m = 420.0; /* 120 m vs 100 m: within the bound */
    fp = compute(&c, &p, &o);
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fp), 420.0, 1e-9);
    /* looking straight down, the union of the two is the higher camera's 1.5 h x 1.125 h */
    ck_assert_double_eq_tol(ko_footprint_area_m2(fp), 180.0 * 135.0, 180.0 * 135.0 * 1e-6);
    ck_assert_ptr_nonnull(strstr(ko_footprint_altitude_note(fp), "joins both"));
    ko_footprint_destroy(fp);
    p.alt_msl_m = 380.0; /* the absolute altitude is the lower: still the 100 m footprint */
    fp = compute(&c, &p, &o);
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fp), 380.0, 1e-9);
    ck_assert_double_eq_tol(ko_footprint_area_m2(fp), 150.0 * 112.5, 150.0 * 112.5 * 1e-6);
    ko_footprint_destroy(fp);
    /* with a take-off point, the cross-check is against take-off ground + height */
    p.takeoff_lat = LAT0 + 0.001, p.takeoff_lon = LON0;
    p.alt_msl_m = 500.0;
    ck_assert_int_eq(ko_footprint_compute(ctx, &c, &p, &o, &fp), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "dem(takeoff)+height gives 400.0 m"));
    ko_dem_close(dem);
    VSIUnlink("/vsimem/flat2.tif");
}
END_TEST

/* Oblique, an absolute altitude 120 m and a relative 100 m over flat ground at 300 m: the
 * footprint holds both. With pitch -45 and no roll, image rows map to lines of constant
 * northing: the near edge (depression 45 + atan(0.5625) deg) of the lower camera is nearest,
 * the far edge (45 - atan(0.5625) deg) of the higher one farthest. */
START_TEST(test_dem_absolute_and_relative_altitudes_are_joined) {
    const double z0 = 300.0;
    make_dem_4326("/vsimem/flat3.tif", 0.02, 0.0005, z_const, &z0, 0);
    ko_dem *dem = open_dem("/vsimem/flat3.tif");
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 0, -45, 0);
    p.alt_msl_m = 420.0;
    ko_footprint_options o = opts_range(1500, dem);
    ko_footprint *fp = compute(&c, &p, &o);
    const double deg = 3.14159265358979323846 / 180.0, half = atan(0.5625) / deg;
    double near = 100.0 / tan((45.0 + half) * deg), far = 120.0 / tan((45.0 - half) * deg);
    size_t n;
    const double *xy = ko_footprint_ring_local(fp, &n);
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < n; i++)
        ymin = fmin(ymin, xy[2 * i + 1]), ymax = fmax(ymax, xy[2 * i + 1]);
    ck_assert_double_eq_tol(ymin, near, 1e-3);
    ck_assert_double_eq_tol(ymax, far, 1e-3);
    /* each camera's trapezoid: widths 1.5 * slant distance to the edge row's centre */
    double area[2];
    for (int k = 0; k < 2; k++) {
        double h = k ? 120.0 : 100.0, dn = h / tan((45.0 + half) * deg);
        double df = h / tan((45.0 - half) * deg);
        double wn = 1.5 * hypot(h, dn) / sqrt(1 + 0.5625 * 0.5625);
        double wf = 1.5 * hypot(h, df) / sqrt(1 + 0.5625 * 0.5625);
        area[k] = 0.5 * (wn + wf) * (df - dn);
    }
    ck_assert_double_gt(ko_footprint_area_m2(fp), area[1] * (1 + 1e-3));
    ck_assert_double_lt(ko_footprint_area_m2(fp), (area[0] + area[1]) * (1 - 1e-3));
    ko_footprint_destroy(fp);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/flat3.tif");
}
END_TEST

/* EGM96 undulation at the grid node 42.5 N, 1.5 E: 52.828 m, read from the grid file itself by
 * GDAL (`gdallocationinfo -wgs84 /usr/share/proj/egm96_15.gtx 1.5 42.5` -> 52.827995300293,
 * pixel 726/190, whose centre is exactly that node), not through PROJ. */
START_TEST(test_dem_egm96_undulation_matches_the_grid) {
    const double z0 = 0.0;
    double gt[6] = {1.4, 0.001, 0, 42.6, 0, -0.001};
    make_dem("/vsimem/andorra0.tif", 4326, gt, 200, 200, z_const, &z0, 0);
    ko_dem *dem = open_dem("/vsimem/andorra0.tif");
    double z;
    ck_assert_int_eq(ko_dem_from_ellipsoidal(dem, 1.5, 42.5, 100.0, &z), KO_OK);
    ck_assert_double_eq_tol(100.0 - z, 52.828, 0.5);
    ck_assert_double_eq_tol(100.0 - z, 52.828, 0.01); /* bilinear at a node is the node */
    /* the same camera from its ellipsoidal altitude gives the same footprint */
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 10, -60, 0);
    p.lat = 42.5, p.lon = 1.5;
    ko_footprint_options o = opts_range(1500, dem);
    ko_footprint *f0 = compute(&c, &p, &o);
    p.alt_ellps_m = 100.0 + (100.0 - z);
    ko_footprint *f1 = compute(&c, &p, &o);
    ck_assert_str_eq(ko_footprint_height_source(f1), "alt_ellipsoid");
    assert_same_ring(f1, f0);
    ko_footprint_destroy(f0);
    ko_footprint_destroy(f1);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/andorra0.tif");
}
END_TEST

/* A DEM that declares its vertical CRS: EGM96 (EPSG:5773) is used as declared; EGM2008
 * (EPSG:3855) needs a grid Debian's proj-data does not ship, and must fail rather than fall
 * back to a ballpark transformation that equates the datums. */
START_TEST(test_dem_declared_vertical_crs) {
    const double z0 = 0.0;
    double gt[6] = {1.4, 0.001, 0, 42.6, 0, -0.001};
    make_dem_srs("/vsimem/v5773.tif", "EPSG:4326+5773", gt, 200, 200, z_const, &z0, 0);
    ko_dem *dem = open_dem("/vsimem/v5773.tif");
    ck_assert_msg(strstr(ko_dem_vertical_datum(dem), "from the DEM") &&
                      strstr(ko_dem_vertical_datum(dem), "5773"),
                  "%s", ko_dem_vertical_datum(dem));
    double z;
    ck_assert_int_eq(ko_dem_from_ellipsoidal(dem, 1.5, 42.5, 100.0, &z), KO_OK);
    ck_assert_double_eq_tol(100.0 - z, 52.828, 0.01);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/v5773.tif");
    make_dem_srs("/vsimem/v3855.tif", "EPSG:4326+3855", gt, 200, 200, z_const, &z0, 0);
    dem = NULL;
    ko_status st = ko_dem_open(ctx, "/vsimem/v3855.tif", &dem);
    if (st == KO_OK) { /* a system with the EGM2008 grid installed: it must then be used */
        ck_assert_int_eq(ko_dem_from_ellipsoidal(dem, 1.5, 42.5, 100.0, &z), KO_OK);
        ck_assert_double_gt(100.0 - z, 40.0);
        ko_dem_close(dem);
    } else {
        ck_assert_int_eq(st, KO_ERR_PROJ);
        ck_assert_ptr_null(dem);
        ck_assert_msg(strstr(ko_errmsg(ctx), "EGM2008"), "%s", ko_errmsg(ctx));
    }
    VSIUnlink("/vsimem/v3855.tif");
}
END_TEST

/* Extent of the local ring: min/max east, min/max north. */
static void extent(const ko_footprint *fp, double e[4]) {
    size_t n;
    const double *xy = ko_footprint_ring_local(fp, &n);
    e[0] = e[2] = INFINITY, e[1] = e[3] = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        e[0] = fmin(e[0], xy[2 * i]), e[1] = fmax(e[1], xy[2 * i]);
        e[2] = fmin(e[2], xy[2 * i + 1]), e[3] = fmax(e[3], xy[2 * i + 1]);
    }
}

/* Ground rising to the north at 0.1 m/m from 100 m at LAT0 (the take-off point) to a plateau
 * of 150 m from 500 m north on; with arg[1] set, nodata south of 100 m south of LAT0. */
static double z_ramp(double x, double y, const double *arg) {
    (void)x;
    double north = (y - LAT0) * arg[0];
    if (arg[1] != 0 && north < -100) return -9999.0;
    return fmin(100.0 + 0.1 * north, 150.0);
}

/* The camera 700 m north of the take-off point, over the plateau, 80 m above the take-off by
 * RelativeAltitude: altitude 100 + 80 = 180 m, 30 m above the 150 m plateau. A nadir frame over
 * flat ground 30 m down is height x sensor / focal: 30 x 1.5 = 45 m across (east) and
 * 30 x 1.125 = 33.75 m along (north). The ground under the camera + 80 m (the take-off unknown)
 * would put it 80 m up: 120 m x 90 m. |30 - 80| m is more than max(30, 40) m, so this also shows
 * that the take-off path does not apply the absolute-altitude agreement rule. */
START_TEST(test_dem_takeoff_ground_plus_relative_height) {
    const double arg[2] = {m_per_deg_lat(LAT0), 0};
    make_dem_4326("/vsimem/ramp.tif", 0.02, 0.0001, z_ramp, arg, 0);
    ko_dem *dem = open_dem("/vsimem/ramp.tif");
    ko_camera c = lens_075();
    ko_pose p = pose_at(80, 0, -90, 0);
    p.lat = LAT0 + 700 / arg[0];
    p.takeoff_lat = LAT0, p.takeoff_lon = LON0;
    ko_footprint_options o = opts_range(1500, dem);
    ko_footprint *fp = compute(&c, &p, &o);
    ck_assert_str_eq(ko_footprint_height_source(fp), "dem(takeoff)+height");
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fp), 180.0, 1e-3);
    ck_assert_double_eq_tol(ko_footprint_ground_alt_m(fp), 150.0, 1e-3);
    double e[4];
    extent(fp, e);
    ck_assert_double_eq_tol(e[1] - e[0], 30 * 1.5, 2e-3);
    ck_assert_double_eq_tol(e[3] - e[2], 30 * 1.125, 2e-3);
    ck_assert_double_eq_tol(ko_footprint_area_m2(fp), 45 * 33.75, 0.1);
    const char *note = ko_footprint_altitude_note(fp);
    ck_assert_msg(strstr(note, "DEM ground at take-off (46.842607 N, 91.994560 W) 100.0 m") &&
                      strstr(note, "+ relative 80.0 m = 180.0 m"),
                  "%s", note);
    ko_footprint_destroy(fp);
    /* take-off unknown: today's per-shot assumption, and the note says so */
    p.takeoff_lat = p.takeoff_lon = NAN;
    fp = compute(&c, &p, &o);
    ck_assert_str_eq(ko_footprint_height_source(fp), "dem+height");
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fp), 230.0, 1e-3);
    extent(fp, e);
    ck_assert_double_eq_tol(e[1] - e[0], 80 * 1.5, 2e-3);
    ck_assert_msg(strstr(ko_footprint_altitude_note(fp), "take-off point unknown"), "%s",
                  ko_footprint_altitude_note(fp));
    ko_footprint_destroy(fp);
    /* an absolute altitude outranks the take-off */
    p.takeoff_lat = LAT0, p.takeoff_lon = LON0;
    p.alt_msl_m = 200.0;
    fp = compute(&c, &p, &o);
    ck_assert_str_eq(ko_footprint_height_source(fp), "alt_msl");
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fp), 200.0, 1e-9);
    ko_footprint_destroy(fp);
    /* and without a DEM the take-off changes nothing: flat ground at take-off level */
    p.alt_msl_m = NAN;
    ko_footprint_options flat = opts_range(1500, NULL);
    fp = compute(&c, &p, &flat);
    ck_assert_str_eq(ko_footprint_height_source(fp), "flat");
    ck_assert_str_eq(ko_footprint_altitude_note(fp), "");
    extent(fp, e);
    ck_assert_double_eq_tol(e[1] - e[0], 80 * 1.5, 1e-6);
    ko_footprint_destroy(fp);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/ramp.tif");
}
END_TEST

START_TEST(test_dem_takeoff_without_data_or_below_terrain_is_unknown) {
    const double arg[2] = {m_per_deg_lat(LAT0), 1};
    make_dem_4326("/vsimem/ramp_hole.tif", 0.02, 0.0001, z_ramp, arg, 1);
    ko_dem *dem = open_dem("/vsimem/ramp_hole.tif");
    ko_camera c = lens_075();
    ko_pose p = pose_at(80, 0, -90, 0);
    p.lat = LAT0 + 700 / arg[0];
    ko_footprint_options o = opts_range(1500, dem);
    ko_footprint *fp = NULL;
    /* nodata at the take-off point (200 m south of LAT0), then outside the DEM: no footprint,
     * never the ground under the camera instead */
    const double takeoff_lat[2] = {LAT0 - 200 / arg[0], LAT0 + 1.0};
    for (int i = 0; i < 2; i++) {
        p.takeoff_lat = takeoff_lat[i], p.takeoff_lon = LON0;
        ck_assert_int_eq(ko_footprint_compute(ctx, &c, &p, &o, &fp), KO_ERR_ARG);
        ck_assert_ptr_null(fp);
        ck_assert_msg(strstr(ko_errmsg(ctx), "no DEM elevation at the take-off point") &&
                          strstr(ko_errmsg(ctx), "relative height 80.0 m"),
                      "%s", ko_errmsg(ctx));
    }
    /* 30 m above a take-off at 100 m is 130 m: below the 150 m plateau */
    p.takeoff_lat = LAT0;
    p.height_m = 30;
    ck_assert_int_eq(ko_footprint_compute(ctx, &c, &p, &o, &fp), KO_ERR_ARG);
    ck_assert_msg(strstr(ko_errmsg(ctx), "below the terrain") && strstr(ko_errmsg(ctx), "100.0") &&
                      strstr(ko_errmsg(ctx), "130.0") && strstr(ko_errmsg(ctx), "150.0"),
                  "%s", ko_errmsg(ctx));
    /* half a take-off point is refused, not read as "unknown" */
    p.height_m = 80;
    p.takeoff_lon = NAN;
    ck_assert_int_eq(ko_footprint_compute(ctx, &c, &p, &o, &fp), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "takeoff_lat/takeoff_lon"));
    ko_dem_close(dem);
    VSIUnlink("/vsimem/ramp_hole.tif");
}
END_TEST

/* EGM96 undulation between grid nodes, computed by PROJ's own command-line tool:
 *   echo 8.2 47.1 100 | cct -d 4 +proj=vgridshift +grids=egm96_15.gtx +multiplier=1
 *   -> 148.0814, i.e. N = 48.0814 m (bilinear; the nearest node is 48.337, which a nearest-
 *   neighbour lookup would give). cs2cs EPSG:4979 EPSG:4326+5773 says 51.9186 for h = 100. */
#define N_8_2E_47_1N 48.0814

START_TEST(test_dem_egm96_between_nodes_matches_cct) {
    const double z0 = 400.0;
    double gt[6] = {8.1, 0.001, 0, 47.2, 0, -0.001};
    make_dem("/vsimem/egm_ch.tif", 4326, gt, 200, 200, z_const, &z0, 0);
    ko_dem *dem = open_dem("/vsimem/egm_ch.tif");
    double z;
    ck_assert_int_eq(ko_dem_from_ellipsoidal(dem, 8.2, 47.1, 100.0, &z), KO_OK);
    ck_assert_double_eq_tol(100.0 - z, N_8_2E_47_1N, 1e-3);
    /* alt_ellipsoid path: 60 m above the 400 m ground on EGM96 */
    ko_camera c = lens_075();
    ko_pose p = pose_at(60, 0, -90, 0);
    p.lat = 47.1, p.lon = 8.2;
    p.alt_ellps_m = 460.0 + N_8_2E_47_1N;
    ko_footprint_options o = opts_range(1500, dem);
    ko_footprint *fp = compute(&c, &p, &o);
    ck_assert_str_eq(ko_footprint_height_source(fp), "alt_ellipsoid");
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fp), 460.0, 1e-3);
    ko_footprint_destroy(fp);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/egm_ch.tif");
    /* a DEM of ellipsoidal heights (geographic 3D CRS), ground 400 m on the ellipsoid:
     * alt_msl (EGM96) 400 m is N above the ellipsoid's 400 m, height 48.08 m */
    make_dem_srs("/vsimem/ellps_ch.tif", "EPSG:4979", gt, 200, 200, z_const, &z0, 0);
    dem = open_dem("/vsimem/ellps_ch.tif");
    ck_assert_msg(strstr(ko_dem_vertical_datum(dem), "ellipsoidal"), "%s",
                  ko_dem_vertical_datum(dem));
    o.dem = dem;
    p.alt_ellps_m = NAN;
    p.alt_msl_m = 400.0; /* an EGM96 height: N higher on the ellipsoid */
    fp = compute(&c, &p, &o);
    ck_assert_str_eq(ko_footprint_height_source(fp), "alt_msl");
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fp), 400.0 + N_8_2E_47_1N, 1e-3);
    ko_footprint_destroy(fp);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/ellps_ch.tif");
}
END_TEST

/* SRT readers end to end on a DEM. CallMarcus_examples_DJI_sample.SRT frame 1:
 * "[latitude: 59.302335] [longitude: 18.203059] [rel_alt: 1.300 abs_alt: 132.860]": abs_alt is
 * the camera's MSL altitude (alt_msl). p4_rtk.SRT has no altitude, only "H 85.80m" (above
 * home): frame 1 "GPS (-58.851745, -34.237922, 15)" is the take-off stand-in, and frame 3
 * "H 85.94m" stands 85.94 m above the (flat, 20 m) DEM ground there. */
START_TEST(test_dem_srt_abs_alt_and_takeoff_paths) {
    const double z0 = 120.0, z1 = 20.0;
    double gt[6] = {18.1, 0.001, 0, 59.4, 0, -0.001};
    make_dem("/vsimem/sthlm.tif", 4326, gt, 200, 200, z_const, &z0, 0);
    double gt2[6] = {-58.95, 0.001, 0, -34.14, 0, -0.001};
    make_dem("/vsimem/pampa.tif", 4326, gt2, 200, 200, z_const, &z1, 0);
    ko_reader_options ro;
    ko_reader_options_init(&ro);
    ro.assume_nadir = 1;
    ro.focal35_mm = 24;
    ko_reader *r = NULL;
    ko_shot s;
    ck_assert_int_eq(
        ko_reader_open(ctx, KEEPOUT_TEST_DATA "/srt/CallMarcus_examples_DJI_sample.SRT", &ro, &r),
        KO_OK);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_ptr_null(s.reason);
    ck_assert_double_eq_tol(s.pose.alt_msl_m, 132.86, 1e-9);
    ko_dem *dem = open_dem("/vsimem/sthlm.tif");
    ko_footprint_options o = opts_range(1500, dem);
    ko_footprint *fp = compute(&s.camera, &s.pose, &o);
    ck_assert_str_eq(ko_footprint_height_source(fp), "alt_msl");
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fp), 132.86, 1e-9);
    ko_footprint_destroy(fp);
    ko_dem_close(dem);
    ko_reader_close(r);
    ck_assert_int_eq(ko_reader_open(ctx, KEEPOUT_TEST_DATA "/srt/p4_rtk.SRT", &ro, &r), KO_OK);
    dem = open_dem("/vsimem/pampa.tif");
    o.dem = dem;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_ptr_null(s.reason);
    ck_assert(isnan(s.pose.alt_msl_m) && isnan(s.pose.alt_ellps_m));
    /* its HOME (-58.847509, -34.232707, ...) */
    ck_assert_double_eq_tol(s.pose.takeoff_lat, -34.232707, 1e-9);
    ck_assert_double_eq_tol(s.pose.takeoff_lon, -58.847509, 1e-9);
    fp = compute(&s.camera, &s.pose, &o);
    ck_assert_str_eq(ko_footprint_height_source(fp), "dem(takeoff)+height");
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fp), 20.0 + 85.94, 1e-3);
    ko_footprint_destroy(fp);
    ko_dem_close(dem);
    ko_reader_close(r);
    VSIUnlink("/vsimem/sthlm.tif");
    VSIUnlink("/vsimem/pampa.tif");
}
END_TEST

#define ANDORRA KEEPOUT_TEST_DATA "/dem/andorra_srtm3_subset.tif"
/* SRTM3 tile N49E011 cut to 0.1 x 0.1 deg around Nuremberg (11.03-11.13 E, 49.40-49.50 N), the
 * rest void (tests/data/README.md): still a whole .hgt tile in a zip, as SRTM archives ship */
#define N49E011 "/vsizip/" KEEPOUT_TEST_FIXTURES "/dem/N49E011_nuremberg.hgt.zip/N49E011.hgt"

START_TEST(test_dem_srtm_andorra_valley_differs_from_flat) {
    ko_dem *dem = open_dem(ANDORRA);
    double z;
    /* Andorra la Vella, valley floor near 1040 m; SRTM there: 1036 m at the nearest post */
    ck_assert_int_eq(ko_dem_elevation(dem, 1.5218, 42.5075, &z), KO_OK);
    ck_assert_double_gt(z, 1000);
    ck_assert_double_lt(z, 1100);
    ck_assert_ptr_nonnull(strstr(ko_dem_vertical_datum(dem), "EGM96"));
    ck_assert_int_eq(ko_dem_elevation(dem, 1.0, 42.5, &z), KO_ERR_NOT_FOUND);
    ko_camera c = lens_075();
    ko_footprint_options o = opts_range(2000, dem), flat = opts_range(2000, NULL);
    /* 120 m above the valley floor, looking north-west 30 deg down at the slope: the rising
     * ground stops the rays early; on flat ground the top edge runs to the 2 km cut. */
    ko_pose p = pose_at(120, 315, -30, 0);
    p.lat = 42.5075, p.lon = 1.5218;
    ko_footprint *fd = compute(&c, &p, &o);
    ko_footprint *f0 = compute(&c, &p, &flat);
    double ad = ko_footprint_area_m2(fd), a0 = ko_footprint_area_m2(f0);
    ck_assert_msg(ad < 0.2 * a0 && ad > 2e4, "DEM %.0f m2 vs flat %.0f m2", ad, a0);
    ck_assert_int_eq(ko_footprint_is_range_limited(fd), 0);
    ck_assert_int_eq(ko_footprint_is_range_limited(f0), 1);
    ko_footprint_destroy(fd);
    ko_footprint_destroy(f0);
    /* 45 deg down, looking south where the valley falls away: larger than on flat ground (the
     * flat model would leak there) */
    p = pose_at(120, 180, -45, 0);
    p.lat = 42.5075, p.lon = 1.5218;
    fd = compute(&c, &p, &o);
    f0 = compute(&c, &p, &flat);
    ad = ko_footprint_area_m2(fd), a0 = ko_footprint_area_m2(f0);
    ck_assert_msg(ad > 1.1 * a0 && ad < M_PI * 2000 * 2000, "DEM %.0f m2 vs flat %.0f m2", ad, a0);
    ck_assert_str_eq(ko_footprint_height_source(fd), "dem+height");
    ck_assert_double_eq_tol(ko_footprint_camera_alt_m(fd) - ko_footprint_ground_alt_m(fd), 120,
                            1e-9);
    ko_footprint_destroy(fd);
    ko_footprint_destroy(f0);
    ko_dem_close(dem);
}
END_TEST

START_TEST(test_dem_srtm_hgt_in_zip_and_mosaic) {
    ko_dem *dem = open_dem(N49E011);
    double z;
    /* Nuremberg, 49.45 N 11.08 E: about 315 m */
    ck_assert_int_eq(ko_dem_elevation(dem, 11.08, 49.45, &z), KO_OK);
    ck_assert_double_gt(z, 250);
    ck_assert_double_lt(z, 400);
    /* the tile's voids (-32768, the format's nodata) are no data, not a 32 km deep hole */
    ck_assert_int_eq(ko_dem_elevation(dem, 11.5, 49.5, &z), KO_ERR_NOT_FOUND);
    ko_dem_close(dem);
    /* Tiles of one archive: the Andorra subset cut in a west and an east half (as
     * gdal_translate -srcwin would) and mosaicked again. */
    GDALDatasetH src = GDALOpen(ANDORRA, GA_ReadOnly);
    ck_assert_ptr_nonnull(src);
    const char *tiles[] = {"/vsimem/andorra_w.tif", "/vsimem/andorra_e.tif"};
    for (int i = 0; i < 2; i++) {
        char off[16];
        snprintf(off, sizeof off, "%d", i * 240);
        char *argv[] = {"-srcwin", off, "0", "240", "288", NULL};
        GDALTranslateOptions *to = GDALTranslateOptionsNew(argv, NULL);
        GDALDatasetH t = GDALTranslate(tiles[i], src, to, NULL);
        ck_assert_ptr_nonnull(t);
        GDALClose(t);
        GDALTranslateOptionsFree(to);
    }
    GDALClose(src);
    ko_dem *mosaic = NULL, *whole = open_dem(ANDORRA);
    ck_assert_msg(ko_dem_open_list(ctx, tiles, 2, &mosaic) == KO_OK, "%s", ko_errmsg(ctx));
    const double pts[][2] = {{1.5218, 42.5075}, {1.45, 42.6}, {1.7, 42.45}, {1.5995, 42.55}};
    for (int i = 0; i < 4; i++) {
        double z1, z2;
        ck_assert_int_eq(ko_dem_elevation(whole, pts[i][0], pts[i][1], &z1), KO_OK);
        ck_assert_int_eq(ko_dem_elevation(mosaic, pts[i][0], pts[i][1], &z2), KO_OK);
        ck_assert_double_eq_tol(z1, z2, 1e-3);
    }
    ko_dem_close(mosaic);
    ko_dem_close(whole);
    VSIUnlink(tiles[0]);
    VSIUnlink(tiles[1]);
    /* Files GDAL will not mosaic (SRTMHGT's band is "Undefined", the GeoTIFF's "Gray"): an
     * error, never a DEM with a silent hole. */
    const char *mixed[] = {ANDORRA, N49E011};
    mosaic = NULL;
    ck_assert_int_eq(ko_dem_open_list(ctx, mixed, 2, &mosaic), KO_ERR_FORMAT);
    ck_assert_ptr_null(mosaic);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "mosaic"));
    ko_dem *bad = NULL;
    ck_assert_int_eq(ko_dem_open(ctx, "/nonexistent/dem.tif", &bad), KO_ERR_IO);
    ck_assert_ptr_null(bad);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "/nonexistent/dem.tif"));
    ko_dem_close(NULL);
}
END_TEST

/* Post (i, j) of the cell: a height unique to it, or void in one 97 x 97-post block of 7. */
static double z_cell(double lon, double lat, const double *arg) {
    (void)arg;
    int i = (int)lround((lon - 11) * 1200), j = (int)lround((50 - lat) * 1200);
    return (i / 97 + 2 * (j / 97)) % 7 == 3 ? -32768 : (i * 7 + j * 13) % 9000 - 400;
}

/* A whole 1201 x 1201 SRTM3 cell N49E011 written to path by GDAL's SRTMHGT driver, every post a
 * different height (a tile read from the wrong place shows) and 97 x 97-post blocks void
 * (-32768) in a pattern, so that reads meet voids in some tiles. The shipped Nuremberg cut is
 * void but for 0.1 deg: too little of it is data to test the tile cache on. */
static void make_hgt_cell(const char *path) {
    const double gt[6] = {11 - 0.5 / 1200, 1.0 / 1200, 0, 50 + 0.5 / 1200, 0, -1.0 / 1200};
    GDALDatasetH mem =
        make_raster("MEM", "", "EPSG:4326", gt, 1201, 1201, GDT_Int16, z_cell, NULL, -32768);
    GDALDatasetH hgt =
        GDALCreateCopy(GDALGetDriverByName("SRTMHGT"), path, mem, 1, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(hgt);
    GDALClose(hgt);
    GDALClose(mem);
}

/* The tile cache (16 tiles of 256 x 256) against GDAL's own reads, across all 25 tiles of a
 * 1201 x 1201 SRTM cell, forwards and backwards so that tiles are evicted and read again. At a
 * pixel centre the bilinear value is the pixel's. */
START_TEST(test_dem_tile_cache_matches_gdal_across_evictions) {
    const char *cell = "/vsimem/N49E011.hgt";
    make_hgt_cell(cell);
    ko_dem *dem = open_dem(cell);
    GDALDatasetH ds = GDALOpen(cell, GA_ReadOnly);
    ck_assert_ptr_nonnull(ds);
    double gt[6];
    ck_assert_int_eq(GDALGetGeoTransform(ds, gt), CE_None);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    int voids = 0, data = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < 13 * 13; k++) {
            int kk = pass ? 13 * 13 - 1 - k : k;
            int i = 3 + (kk % 13) * 97, j = 5 + (kk / 13) * 97;
            float raw;
            ck_assert_int_eq(GDALRasterIO(b, GF_Read, i, j, 1, 1, &raw, 1, 1, GDT_Float32, 0, 0),
                             CE_None);
            double z;
            ko_status st =
                ko_dem_elevation(dem, gt[0] + (i + 0.5) * gt[1], gt[3] + (j + 0.5) * gt[5], &z);
            if (raw == -32768.0f) { /* a void */
                ck_assert_int_eq(st, KO_ERR_NOT_FOUND);
                voids++;
                continue;
            }
            ck_assert_int_eq(st, KO_OK);
            ck_assert_double_eq_tol(z, raw, 1e-6);
            data++;
        }
    ck_assert_int_gt(voids, 0);
    ck_assert_int_gt(data, 2 * voids);
    GDALClose(ds);
    ko_dem_close(dem);
    VSIUnlink(cell);
}
END_TEST

/* One DEM post (a mast: a bilinear pyramid one pixel wide at the base) on flat ground in a
 * 1 m UTM DEM; arg: mast centre (x, y) and height. */
static double z_mast(double x, double y, const double *arg) {
    return fabs(x - arg[0]) < 0.25 && fabs(y - arg[1]) < 0.25 ? arg[2] : 0.0;
}

/* An 8.8 mm lens on a 13.2 x 8.8 mm, 5472 x 3648 sensor (pinhole): half fields of view
 * tan 0.75 across and tan 0.5 up and down, which the terrain tests' own projectors use. */
static ko_camera lens_5472(void) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 8.8, c.sensor_w_mm = 13.2, c.sensor_h_mm = 8.8;
    c.width_px = 5472, c.height_px = 3648;
    return c;
}

/* Shortest distance from (x, y) to the ring r of n points, 0 when inside it (crossing number);
 * coordinates scaled by sx, sy (metres per unit) about (x, y). */
static double outside_ring(const double *r, size_t n, double x, double y, double sx, double sy) {
    int in = 0;
    double best = INFINITY;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        double xi = (r[2 * i] - x) * sx, yi = (r[2 * i + 1] - y) * sy;
        double xj = (r[2 * j] - x) * sx, yj = (r[2 * j + 1] - y) * sy;
        if ((yi > 0) != (yj > 0) && 0 < xi - yi * (xj - xi) / (yj - yi)) in = !in;
        double dx = xj - xi, dy = yj - yi, l2 = dx * dx + dy * dy;
        double t = l2 > 0 ? fmax(0, fmin(1, (-xi * dx - yi * dy) / l2)) : 0;
        best = fmin(best, hypot(xi + t * dx, yi + t * dy));
    }
    return in ? 0.0 : best;
}

/* Shortest distance from local (x, y) to the footprint's ring, 0 when inside it. */
static double outside_by(const ko_footprint *fp, double x, double y) {
    size_t n;
    const double *r = ko_footprint_ring_local(fp, &n);
    return outside_ring(r, n, x, y, 1.0, 1.0);
}

/* A camera 50 m up looking north-east 30 deg down sees the tip of a mast 20 m ahead (45 deg
 * down, inside the image), but not its foot: the bottom image edge, 59.4 deg down, passes the
 * mast's axis at 16.2 m, so it meets the mast's near face. A march in one-pixel steps along the
 * diagonal lands on both sides of the post where the pyramid is low (12.7 m), steps over it,
 * and puts the near edge 29.6 m out: the mast, a site, was clear (adversary, 55 m mast on a
 * 1 m DEM). Every sub-pixel phase of the grid under the ray must keep the mast's position in
 * the footprint (within the quarter-cell tolerance of the ring's edges). */
START_TEST(test_dem_one_post_mast_is_never_stepped_over) {
    const double lat = 46.842607, lon = -93.0, k0 = 0.9996, d = 20.0;
    double e, n;
    utm15(lat, lon, &e, &n);
    ko_camera c = lens_075();
    int missed = 0;
    for (int ph = 0; ph < 64; ph++) {
        double fx = (ph % 8) / 8.0, fy = (ph / 8) / 8.0;
        double gt[6] = {e - 250 + fx, 1, 0, n + 250 + fy, 0, -1};
        /* the pixel centre nearest the point d metres north-east of the camera */
        double tx = e + d * k0 * M_SQRT1_2, ty = n + d * k0 * M_SQRT1_2;
        double arg[3] = {gt[0] + floor(tx - gt[0]) + 0.5, gt[3] - floor(gt[3] - ty) - 0.5, 30};
        make_dem("/vsimem/mast.tif", 32615, gt, 500, 500, z_mast, arg, 0);
        ko_dem *dem = open_dem("/vsimem/mast.tif");
        ko_pose p = pose_at(50, 45, -30, 0);
        p.lat = lat;
        p.lon = lon;
        ko_footprint_options o = opts_range(200, dem);
        ko_footprint *fp = compute(&c, &p, &o);
        double off = outside_by(fp, (arg[0] - e) / k0, (arg[1] - n) / k0);
        if (off > 0.3) missed++;
        ck_assert_msg(off <= 0.3, "phase (%.3f, %.3f): the mast is %.2f m outside the footprint",
                      fx, fy, off);
        ko_footprint_destroy(fp);
        ko_dem_close(dem);
    }
    ck_assert_int_eq(missed, 0);
    /* the same view without the DEM: the near edge is 29.6 m out, the mast's foot not seen */
    ko_pose p = pose_at(50, 45, -30, 0);
    ko_footprint_options flat = opts_range(200, NULL);
    ko_footprint *f0 = compute(&c, &p, &flat);
    ck_assert_double_gt(outside_by(f0, d * M_SQRT1_2, d * M_SQRT1_2), 5.0);
    ko_footprint_destroy(f0);
    VSIUnlink("/vsimem/mast.tif");
}
END_TEST

/* NED direction through tan-plane point (u right, v down) of a camera at yaw, pitch (roll 0). */
static void ned_ray(double yaw, double pitch, double u, double v, double d[3]) {
    double y = yaw * M_PI / 180, p = pitch * M_PI / 180;
    double fwd[3] = {cos(p) * cos(y), cos(p) * sin(y), -sin(p)}, right[3] = {-sin(y), cos(y), 0};
    double down[3] = {fwd[1] * right[2] - fwd[2] * right[1], fwd[2] * right[0] - fwd[0] * right[2],
                      fwd[0] * right[1] - fwd[1] * right[0]};
    for (int i = 0; i < 3; i++)
        d[i] = fwd[i] + u * right[i] + v * down[i];
}

/* Flat ground distance of ray d from a camera h metres up. */
static double flat_reach(const double d[3], double h) {
    return h * hypot(d[0], d[1]) / d[2];
}

/* Whether a ray from a camera h metres up (azimuth ae, an; descent k per metre) meets the
 * bilinear pyramid of a post zt high at (te, tn) on 1 m pixels aligned with east and north:
 * sampled every centimetre where the ray passes within 1.5 m of it. */
static int meets_post(double te, double tn, double zt, double h, double ae, double an, double k) {
    double along = te * ae + tn * an;
    for (double s = along - 1.5; s <= along + 1.5; s += 0.01) {
        double dx = fabs(s * ae - te), dy = fabs(s * an - tn);
        if (h - k * s <= zt * fmax(0, 1 - dx) * fmax(0, 1 - dy)) return 1;
    }
    return 0;
}

/* A camera 30 m up looks north 33 deg down: its top edge lands within the 300 m range near the
 * image centre and beyond it towards the corners. A 40 m one-post tower 100 m out stands on
 * the ray of a boundary sample just inside the range crossing: rays between that sample and
 * the crossing pass beside it and land on ground 250..300 m out, but the ring took a straight
 * chord from the tower hit to the crossing (0.98 m of seen ground outside; 0.69 m with the
 * chord refined but judged by its distance across, not along the ray). Every top-edge ray that
 * passes the tower (the test's own line of sight past the post) lands on flat ground, where the
 * test projects it itself: each such point within range must be within the 0.25 m tolerance of
 * the ring (a quarter of the DEM's 1 m cell). */
START_TEST(test_dem_range_crossing_chord_is_refined_on_terrain) {
    const double lat = 46.842607, lon = -93.0, k0 = 0.9996, h = 30, pitch = -33, range = 300;
    double e, n;
    utm15(lat, lon, &e, &n);
    ko_camera c = lens_5472();
    const double umax = 0.75, vt = -0.5; /* the top edge in the tan plane */
    /* where the top edge at yaw 0 reaches the range: bisection on u */
    double lo = 0, hi = umax, d[3];
    for (int it = 0; it < 60; it++) {
        ned_ray(0, pitch, 0.5 * (lo + hi), vt, d);
        if (flat_reach(d, h) < range)
            lo = 0.5 * (lo + hi);
        else
            hi = 0.5 * (lo + hi);
    }
    ned_ray(0, pitch, lo, vt, d);
    double bt = atan2(d[1], d[0]) - 0.15 * M_PI / 180;
    double te = 100 * sin(bt), tn = 100 * cos(bt); /* the tower, local metres */
    double gt[6] = {e - 400, 1, 0, n + 400, 0, -1};
    double tx = e + te * k0, ty = n + tn * k0;
    double arg[3] = {gt[0] + floor(tx - gt[0]) + 0.5, gt[3] - floor(gt[3] - ty) - 0.5, 40};
    te = (arg[0] - e) / k0, tn = (arg[1] - n) / k0;
    make_dem("/vsimem/tower.tif", 32615, gt, 800, 800, z_mast, arg, 0);
    ko_dem *dem = open_dem("/vsimem/tower.tif");
    double worst = 0;
    int checked = 0;
    for (int iy = 0; iy < 40; iy++) {
        double yaw = -0.4 + 0.02 * iy;
        ko_pose p = pose_at(h, yaw, pitch, 0);
        p.lat = lat;
        p.lon = lon;
        ko_footprint_options o = opts_range(range, dem);
        ko_footprint *fp = compute(&c, &p, &o);
        for (int iu = 0; iu <= 4000; iu++) {
            ned_ray(yaw, pitch, -umax + 2 * umax * iu / 4000.0, vt, d);
            double hz = hypot(d[0], d[1]), s = flat_reach(d, h);
            double ae = d[1] / hz, an = d[0] / hz;
            if (s > range - 0.05 || meets_post(te, tn, 40, h, ae, an, d[2] / hz))
                continue; /* beyond the range, or meets the tower */
            worst = fmax(worst, outside_by(fp, s * ae, s * an));
            checked++;
        }
        ko_footprint_destroy(fp);
    }
    ck_assert_int_gt(checked, 10000);
    ck_assert_msg(worst <= 0.25 + 0.02, "seen ground %.3f m outside the footprint", worst);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/tower.tif");
}
END_TEST

/* A wall one DEM post wide and 40 m high, 10.5 m north of a camera 2 m up, with every third
 * post at ground level (a notch). Bilinear terrain opens each notch into a slit that is
 * 2 h / 40 cells wide at h metres above its floor: 7 cm where the top edge (3.4 deg down)
 * passes, 1.4 m up. The rays through it land on the ground beyond, 20..80 m out; two boundary
 * samples hitting the wall either side of it, closer than the ring's tolerance, were joined
 * by a chord and that ground left out: a 1 m site 23 m beyond the wall was clear (adversary).
 * The test follows 40001 top-edge rays itself (1 mm steps across the wall's cells, the
 * bilinear terrain from the posts); every ray that passes the wall lands on flat ground, which
 * must be within the ring's 0.25 m tolerance (a quarter of the 1 m cell). */
static double z_notched(double x, double y, const double *arg) {
    double dx = x - arg[0], dy = y - arg[1];
    if (fabs(dy - 10.5) >= 0.25 || fabs(dx) >= 40) return 0.0;
    return (long)floor(dx + 100) % 3 == 0 ? 0.0 : 40.0;
}

/* The bilinear terrain of z_notched at UTM (x, y), posts at the centres of 1 m pixels whose
 * corner grid starts at (x0, y0) (north-up). */
static double notched_at(double x, double y, double x0, double y0, const double *arg) {
    double cx = x - x0 - 0.5, cy = y0 - y - 0.5, fi = floor(cx), fj = floor(cy);
    double u = cx - fi, w = cy - fj, px = x0 + fi + 0.5, py = y0 - fj - 0.5;
    double z00 = z_notched(px, py, arg), z10 = z_notched(px + 1, py, arg);
    double z01 = z_notched(px, py - 1, arg), z11 = z_notched(px + 1, py - 1, arg);
    return (z00 * (1 - u) + z10 * u) * (1 - w) + (z01 * (1 - u) + z11 * u) * w;
}

START_TEST(test_dem_slit_in_a_notched_wall_is_seen_through) {
    const double lat = 46.842607, lon = -93.0, k0 = 0.9996, h = 2, pitch = -30, range = 80;
    double e, n;
    utm15(lat, lon, &e, &n);
    ko_camera c = lens_5472();
    double gt[6] = {e - 100, 1, 0, n + 100, 0, -1}, arg[2] = {e, n};
    make_dem("/vsimem/notch.tif", 32615, gt, 200, 200, z_notched, arg, 0);
    ko_dem *dem = open_dem("/vsimem/notch.tif");
    double worst = 0;
    int through = 0;
    for (int iy = 0; iy < 3; iy++) {
        double yaw = 4.1 - 2.0 * iy;
        ko_pose p = pose_at(h, yaw, pitch, 0);
        p.lat = lat;
        p.lon = lon;
        ko_footprint_options o = opts_range(range, dem);
        ko_footprint *fp = compute(&c, &p, &o);
        for (int iu = 0; iu <= 40000; iu++) {
            double d[3];
            ned_ray(yaw, pitch, -0.75 + 1.5 * iu / 40000.0, -0.5, d);
            double hz = hypot(d[0], d[1]), k = d[2] / hz, s = flat_reach(d, h);
            double ae = d[1] / hz, an = d[0] / hz, s0 = 9.4 / (an * k0), met = 0;
            for (double q = s0; q < s0 + 2.3 / an && !met; q += 0.001)
                met = h - k * q <= notched_at(e + k0 * q * ae, n + k0 * q * an, gt[0], gt[3], arg);
            if (met || s > range - 0.05) continue;
            worst = fmax(worst, outside_by(fp, s * ae, s * an));
            through++;
        }
        ko_footprint_destroy(fp);
    }
    ck_assert_int_gt(through, 100);
    ck_assert_msg(worst <= 0.25 + 0.02, "ground seen through a slit %.3f m outside the footprint",
                  worst);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/notch.tif");
}
END_TEST

/* A longitude/latitude DEM at 88 N holding two walls 5000 m high along parallels 600 m north
 * and south of the camera: every ray that reaches one within the image meets its bilinear ramp
 * in the first 5 % (the ray is at most 267 m up there), so the far side of the footprint lies
 * on that parallel, within 12 cm of the ramp's foot. The DEM is read through a grid of nodes
 * mapping local metres to pixels; 1 km apart, bilinear interpolation between them bends the
 * parallels, whose radius here is 222 km, by (1 km)^2 / 8 / 222 km = 0.56 m (the far side was
 * 0.67 m off). Looking north, then south, the far side must stay within 5 cm of the foot's
 * parallel, and the ramp 5 cm up from its foot must be inside. */
static double z_parallel(double lon, double lat, const double *arg) {
    (void)lon;
    return lat >= arg[0] || lat <= arg[1] ? 5000.0 : 0.0;
}

START_TEST(test_dem_lonlat_grid_holds_parallels_near_the_pole) {
    const double lat = 88.0, lon = 20.0, dlat = 2e-5, dlon = 2e-5 / cos(88.0 * M_PI / 180);
    const double m_lat = m_per_deg_lat(lat), m_lon = M_PI / 180 * 6399593.6 * cos(lat * M_PI / 180);
    /* rows of posts: each wall's first row 600 m out (north: row 600, south: 537 rows later),
     * the last ground row one pixel nearer */
    double north = lat + 600.0 / m_lat, top = north + 600.5 * dlat, south = north - 537 * dlat;
    double gt[6] = {lon - 494 * dlon, dlon, 0, top, 0, -dlat};
    double arg[2] = {north - 0.25 * dlat, south + 0.25 * dlat};
    make_dem_srs("/vsimem/pole.tif", "EPSG:4326", gt, 988, 1200, z_parallel, arg, 0);
    ko_dem *dem = open_dem("/vsimem/pole.tif");
    ko_camera c = lens_5472();
    for (int look = 0; look < 2; look++) {
        double sg = look ? -1 : 1, foot = look ? south + dlat : north - dlat, far = -INFINITY;
        ko_pose p = pose_at(30, look ? 180 : 0, -5, 0);
        p.lat = lat;
        p.lon = lon;
        ko_footprint_options o = opts_range(1000, dem);
        ko_footprint *fp = compute(&c, &p, &o);
        size_t n;
        const double *r = ko_footprint_ring(fp, &n);
        for (size_t i = 0; i < n; i++)
            far = fmax(far, sg * (r[2 * i + 1] - foot) * m_lat);
        ck_assert_msg(far <= 0.12 + 0.05, "looking %s: the far side reaches %.3f m past the foot",
                      look ? "south" : "north", far);
        double worst = 0;
        for (int k = -60; k <= 60; k++) /* the middle 600 m of the view */
            worst = fmax(worst, outside_ring(r, n, lon + k * 5.0 / m_lon, foot + sg * 0.05 / m_lat,
                                             m_lon, m_lat));
        ck_assert_msg(worst <= 0.02, "looking %s: the wall's foot is %.3f m outside the footprint",
                      look ? "south" : "north", worst);
        ko_footprint_destroy(fp);
    }
    ko_dem_close(dem);
    VSIUnlink("/vsimem/pole.tif");
}
END_TEST

/* Ground nearer than a near (bottom) image edge is outside the footprint, so what the rays
 * between two of its samples meet before them matters too. A one-post mast whose tip pokes
 * 1 m into the bottom of the view of a camera 60 m up (pitch -30), 20.5 m out, is 7 cm wide
 * where the bottom edge's rays pass it, and fitted between two samples 0.4 m apart: its tip,
 * seen by ~270 pixels, was 19 m outside the ring (adversary r18 nearpoke1, `clear`). And a
 * camera 10 m up looking 25 deg up has its bottom edge beyond the 250 m range limit: its
 * samples are cut and joined by the range arc, so a 20 m mast 240.5 m out, seen by ~4,500
 * pixels, was left out whatever its height (nearcut20). Over 8 turns of each camera, the
 * mast's post must be inside the ring (within its 0.25 m tolerance). */
START_TEST(test_dem_mast_between_near_edge_rays_is_in_the_footprint) {
    const double lat = 46.842607, lon = -93.0, k0 = 0.9996;
    /* camera height, pitch, range; mast distance north and height */
    const double cfg[2][5] = {{60, -30, 50, 20.5, 29.95}, {10, 25, 250, 240.5, 20}};
    double e, n;
    utm15(lat, lon, &e, &n);
    ko_camera c = lens_5472();
    for (int k = 0; k < 2; k++) {
        double gt[6] = {e - 300, 1, 0, n + 300, 0, -1}, tx = e + 0.5 * k0, ty = n + cfg[k][3] * k0;
        double arg[3] = {gt[0] + floor(tx - gt[0]) + 0.5, gt[3] - floor(gt[3] - ty) - 0.5,
                         cfg[k][4]};
        make_dem("/vsimem/near.tif", 32615, gt, 600, 600, z_mast, arg, 0);
        ko_dem *dem = open_dem("/vsimem/near.tif");
        for (int iy = 0; iy < 8; iy++) {
            ko_pose p = pose_at(cfg[k][0], 0.25 * iy, cfg[k][1], 0);
            p.lat = lat;
            p.lon = lon;
            ko_footprint_options o = opts_range(cfg[k][2], dem);
            ko_footprint *fp = compute(&c, &p, &o);
            double off = outside_by(fp, (arg[0] - e) / k0, (arg[1] - n) / k0);
            ck_assert_msg(off <= 0.3, "camera %d, yaw %.2f: the mast is %.2f m outside", k,
                          0.25 * iy, off);
            ko_footprint_destroy(fp);
        }
        ko_dem_close(dem);
    }
    VSIUnlink("/vsimem/near.tif");
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_dem_flat_plane_reproduces_flat_model,
                            test_dem_takeoff_ground_plus_relative_height,
                            test_dem_tilted_plane_utm_closed_form,
                            test_dem_sheared_pixel_axes_closed_form,
                            test_dem_first_crossing_wins_at_a_cliff,
                            test_dem_one_post_mast_is_never_stepped_over,
                            test_dem_range_crossing_chord_is_refined_on_terrain,
                            test_dem_slit_in_a_notched_wall_is_seen_through,
                            test_dem_mast_between_near_edge_rays_is_in_the_footprint,
                            test_dem_lonlat_grid_holds_parallels_near_the_pole,
                            test_dem_nodata_and_leaving_the_dem_are_unknown,
                            test_dem_camera_below_terrain_or_disagreeing_fails_with_numbers,
                            test_dem_absolute_and_relative_altitudes_are_joined,
                            test_dem_egm96_undulation_matches_the_grid,
                            test_dem_declared_vertical_crs,
                            test_dem_takeoff_without_data_or_below_terrain_is_unknown,
                            test_dem_egm96_between_nodes_matches_cct,
                            test_dem_srt_abs_alt_and_takeoff_paths,
                            test_dem_srtm_andorra_valley_differs_from_flat,
                            test_dem_srtm_hgt_in_zip_and_mosaic,
                            test_dem_tile_cache_matches_gdal_across_evictions};
    return unit_run(
        &(unit_suite){
            .name = "dem", .timeout_s = 60, .global_init = 1, .setup = setup, .teardown = teardown},
        tests, UNIT_COUNT(tests));
}
