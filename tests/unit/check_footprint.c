/* Footprints against closed forms: nadir rectangle, pitched trapezoid (the frustum test vectors
 * of CallMarcus/dji-drone-metadata-embedder's tests), yaw, roll sign, range cut, distortion. */
#include <geodesic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"
#include "geo/geo.h" /* koi_ring_distance: the point-to-ring measure the tests assert with */
#include "check_runner.h"
#include "test_lens.h"

#define PI 3.14159265358979323846

static ko_context *ctx;

static void setup(void) {
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
}

static void teardown(void) {
    ko_context_destroy(ctx);
}

static ko_footprint_options far_range(void) {
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.max_range_m = 100000;
    o.gsd_limit_m = NAN;
    return o;
}

typedef struct box {
    double min_e, max_e, min_n, max_n;
} box;

static box local_box(const ko_footprint *fp) {
    size_t n;
    const double *xy = ko_footprint_ring_local(fp, &n);
    box b = {INFINITY, -INFINITY, INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++) {
        b.min_e = fmin(b.min_e, xy[2 * i]);
        b.max_e = fmax(b.max_e, xy[2 * i]);
        b.min_n = fmin(b.min_n, xy[2 * i + 1]);
        b.max_n = fmax(b.max_n, xy[2 * i + 1]);
    }
    return b;
}

static ko_footprint *compute(const ko_camera *c, const ko_pose *p, const ko_footprint_options *o) {
    ko_footprint *fp = NULL;
    ko_status st = ko_footprint_compute(ctx, c, p, o, &fp);
    ck_assert_msg(st == KO_OK, "footprint failed: %s", ko_errmsg(ctx));
    return fp;
}

START_TEST(test_footprint_nadir_rectangle_is_height_times_sensor_over_focal) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 50;
    c.sensor_w_mm = 36;
    c.sensor_h_mm = 24;
    ko_pose p = pose_at(100, 0, -90, 0);
    ko_footprint_options o = far_range();
    ko_footprint *fp = compute(&c, &p, &o);
    box b = local_box(fp);
    /* width 100 * 36 / 50 = 72 m east-west, 100 * 24 / 50 = 48 m north-south */
    ck_assert_double_eq_tol(b.max_e - b.min_e, 72.0, 1e-6);
    ck_assert_double_eq_tol(b.max_n - b.min_n, 48.0, 1e-6);
    ck_assert_double_eq_tol(b.min_e, -36.0, 1e-6);
    ck_assert_double_eq_tol(b.max_n, 24.0, 1e-6);
    ck_assert_double_eq_tol(ko_footprint_area_m2(fp), 72.0 * 48.0, 1e-6);
    ck_assert_int_eq(ko_footprint_is_range_limited(fp), 0);
    size_t n;
    ko_footprint_ring(fp, &n);
    ck_assert_uint_eq(n, 5); /* a pinhole rectangle needs only its corners */
    ko_footprint_destroy(fp);
}
END_TEST

START_TEST(test_footprint_nadir_callmarcus_corners) {
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 0, -90, 0);
    ko_footprint_options o = far_range();
    ko_footprint *fp = compute(&c, &p, &o);
    box b = local_box(fp);
    ck_assert_double_eq_tol(b.max_e, 75.0, 1e-6);
    ck_assert_double_eq_tol(b.min_e, -75.0, 1e-6);
    ck_assert_double_eq_tol(b.max_n, 56.25, 1e-6);
    ck_assert_double_eq_tol(b.min_n, -56.25, 1e-6);
    ko_footprint_destroy(fp);
}
END_TEST

/* Width of the footprint (east extent) at a given north, from the local ring. */
static double width_at_north(const ko_footprint *fp, double north) {
    size_t n;
    const double *xy = ko_footprint_ring_local(fp, &n);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (fabs(xy[2 * i + 1] - north) < 1e-6) {
            lo = fmin(lo, xy[2 * i]);
            hi = fmax(hi, xy[2 * i]);
        }
    return hi - lo;
}

START_TEST(test_footprint_pitch_minus45_near_and_far_edges) {
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 0, -45, 0);
    ko_footprint_options o = far_range();
    ko_footprint *fp = compute(&c, &p, &o);
    box b = local_box(fp);
    ck_assert_double_eq_tol(b.min_n, 28.0, 1e-6);
    ck_assert_double_eq_tol(b.max_n, 2500.0 / 7.0, 1e-6);
    ck_assert_double_eq_tol(b.min_e, -b.max_e, 1e-6);
    ck_assert(width_at_north(fp, b.max_n) > width_at_north(fp, b.min_n));
    ko_footprint_destroy(fp);
}
END_TEST

START_TEST(test_footprint_yaw90_turns_far_edge_east) {
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 90, -45, 0);
    ko_footprint_options o = far_range();
    ko_footprint *fp = compute(&c, &p, &o);
    box b = local_box(fp);
    ck_assert_double_eq_tol(b.max_e, 2500.0 / 7.0, 1e-6);
    ck_assert_double_eq_tol(b.min_e, 28.0, 1e-6);
    ck_assert_double_eq_tol(b.min_n, -b.max_n, 1e-6);
    ko_footprint_destroy(fp);
}
END_TEST

START_TEST(test_footprint_roll_positive_lowers_right_side) {
    /* Looking north and down 60 deg; roll +15 puts the image's right (east) side down, so
     * the nearest ground the camera sees is east of it and the farthest is west. */
    ko_camera c = lens_075();
    ko_footprint_options o = far_range();
    for (int sign = -1; sign <= 1; sign += 2) {
        ko_pose p = pose_at(100, 0, -60, 15 * sign);
        ko_footprint *fp = compute(&c, &p, &o);
        size_t n;
        const double *xy = ko_footprint_ring_local(fp, &n);
        size_t near = 0, far = 0;
        for (size_t i = 0; i < n; i++) {
            double d = hypot(xy[2 * i], xy[2 * i + 1]);
            if (d < hypot(xy[2 * near], xy[2 * near + 1])) near = i;
            if (d > hypot(xy[2 * far], xy[2 * far + 1])) far = i;
        }
        ck_assert(sign * xy[2 * near] > 0);
        ck_assert(sign * xy[2 * far] < 0);
        ko_footprint_destroy(fp);
    }
}
END_TEST

START_TEST(test_footprint_roll_at_nadir_equals_yaw) {
    /* At pitch -90 the roll axis is the vertical: roll r turns the image like yaw r does. */
    ko_camera c = lens_075();
    ko_pose p1 = pose_at(100, 0, -90, 30), p2 = pose_at(100, 30, -90, 0);
    ko_footprint_options o = far_range();
    ko_footprint *a = compute(&c, &p1, &o), *b = compute(&c, &p2, &o);
    size_t n, m;
    const double *xa = ko_footprint_ring_local(a, &n), *xb = ko_footprint_ring_local(b, &m);
    ck_assert_uint_eq(n, m);
    for (size_t i = 0; i < 2 * n; i++)
        ck_assert_double_eq_tol(xa[i], xb[i], 1e-6);
    /* the 150 x 112.5 m rectangle turned 30 deg clockwise: east extent of its corners */
    box bb = local_box(b);
    ck_assert_double_eq_tol(bb.max_e, 75 * cos(PI / 6) + 56.25 * sin(PI / 6), 1e-6);
    ko_footprint_destroy(a);
    ko_footprint_destroy(b);
}
END_TEST

START_TEST(test_footprint_pitch_minus20_is_cut_at_range_limit) {
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 0, -20, 0);
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.max_range_m = 800;
    o.gsd_limit_m = NAN;
    ko_footprint *fp = compute(&c, &p, &o);
    ck_assert_int_eq(ko_footprint_is_range_limited(fp), 1);
    ck_assert_double_eq_tol(ko_footprint_range_limit_m(fp), 800.0, 1e-9);
    size_t n;
    const double *xy = ko_footprint_ring_local(fp, &n);
    double far = 0;
    for (size_t i = 0; i < n; i++) {
        double d = hypot(xy[2 * i], xy[2 * i + 1]);
        /* the range arc as tangent pieces: at most 0.005 % of the range outside the circle
         * (DESIGN.md) */
        ck_assert(d <= 800.0 * (1 + 5e-5) + 1e-6);
        far = fmax(far, d);
    }
    ck_assert(far >= 800.0);
    /* the near edge is a ground hit: 100 / tan(20 + atan(0.5625)) */
    double near = 100.0 / tan((20.0 + atan(0.5625) * 180 / PI) * PI / 180);
    /* (the chord from the near corner to the range crossing is pushed out by its micrometre
     * sag: the in-range point before the cut lies on the image edge, the cut point on the
     * circle) */
    ck_assert_double_eq_tol(local_box(fp).min_n, near, 1e-4);
    ko_footprint_destroy(fp);
}
END_TEST

/* 1 if (x, y) is inside the closed ring (even-odd). */
static int inside(const double *r, size_t n, double x, double y) {
    int in = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double ax = r[2 * i], ay = r[2 * i + 1], bx = r[2 * i + 2], by = r[2 * i + 3];
        if ((ay > y) != (by > y) && x < ax + (y - ay) * (bx - ax) / (by - ay)) in = !in;
    }
    return in;
}

/* Nadir, 200 m: the image covers |east| <= 150, |north| <= 112.5; a range of 130 m cuts it to
 * the disk's part with |north| <= 112.5, whose area is closed-form. Every point of that
 * region's boundary must be inside the ring (conservative by construction), and the ring no
 * more than the arc's bulge (0.005 % of the range) larger. */
START_TEST(test_footprint_range_arc_holds_every_visible_point) {
    ko_camera c = lens_075();
    ko_pose p = pose_at(200, 0, -90, 0);
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.max_range_m = 130;
    o.gsd_limit_m = NAN;
    ko_footprint *fp = compute(&c, &p, &o);
    const double R = 130, d = 112.5;
    double seg = R * R * acos(d / R) - d * sqrt(R * R - d * d);
    double exact = PI * R * R - 2 * seg;
    double area = ko_footprint_area_m2(fp);
    ck_assert_msg(area >= exact && area <= exact + 2 * PI * R * R * 5e-5, "area %.3f, exact %.3f",
                  area, exact);
    size_t n;
    const double *xy = ko_footprint_ring_local(fp, &n);
    double xe = sqrt(R * R - d * d);
    for (int i = 0; i <= 2000; i++) {
        /* the arcs |north| <= d at R, and the image edges north = +-d inside the disk, pulled
         * 1.5 mm towards the camera: the ring may drop deviations under 1 mm (DESIGN.md) */
        double th = asin(d / R) * (2.0 * i / 2000 - 1), k = (R - 1.5e-3) / R;
        ck_assert(inside(xy, n, R * cos(th) * k, R * sin(th) * k));
        ck_assert(inside(xy, n, -R * cos(th) * k, R * sin(th) * k));
        double x = xe * (2.0 * i / 2000 - 1) * k;
        ck_assert(inside(xy, n, x, d - 1.5e-3));
        ck_assert(inside(xy, n, x, -d + 1.5e-3));
    }
    ko_footprint_destroy(fp);
}
END_TEST

START_TEST(test_footprint_range_limit_follows_gsd) {
    /* 4000 px across 6.17 mm at 3.61 mm: one pixel is 4.2728e-4 rad; 0.5 m GSD at 1170 m. */
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 3.61;
    c.sensor_w_mm = 6.17;
    c.sensor_h_mm = 4.6275;
    c.width_px = 4000;
    c.height_px = 3000;
    ko_pose p = pose_at(100, 0, -10, 0);
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.max_range_m = 5000;
    o.gsd_limit_m = 0.5;
    ko_footprint *fp = compute(&c, &p, &o);
    /* The finest pixel is at the corners: a pinhole pixel subtends pixel / rho^2 radially there
     * (rho^2 = 1 + x^2 + y^2), so the range reaches rho^2 times further than the centre's. */
    double x = 0.5 * 6.17 / 3.61, y = 0.5 * 4.6275 / 3.61, rho2 = 1 + x * x + y * y;
    double pix = (6.17 / 4000) / 3.61, range = 0.5 / (pix / rho2);
    ck_assert_msg(
        ko_footprint_range_limit_m(fp) >= range && ko_footprint_range_limit_m(fp) <= 1.1 * range,
        "range %.1f, corner pixel's %.1f", ko_footprint_range_limit_m(fp), range);
    /* Straight below, out of the image: the finest pixel anywhere, never coarser */
    double g = ko_footprint_gsd_at(fp, p.lon, p.lat);
    ck_assert(g <= 100.0 * pix / rho2 && g >= 0.9 * 100.0 * pix / rho2);
    ko_footprint_destroy(fp);
}
END_TEST

/* GSD with the lens's Jacobian: nadir at 100 m, a ground point 50 m east (undistorted x = 0.5,
 * y = 0). Radially a pixel subtends 1 / (f (1 + 3 k1 x^2) rho^2), across 1 / (f (1 + k1 x^2)
 * rho): pincushion (k1 > 0) finer than a pinhole, barrel coarser. */
static double gsd_50m_east(double k1, double *expect) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 4.0;
    c.sensor_w_mm = 6.4;
    c.sensor_h_mm = 4.8;
    c.width_px = 4000;
    c.height_px = 3000;
    c.k1 = k1;
    ko_pose p = pose_at(100, 0, -90, 0);
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    ko_footprint *fp = compute(&c, &p, &o);
    double f = 4.0 * 4000 / 6.4, x = 0.5, rho2 = 1 + x * x;
    double radial = 1 / (f * (1 + 3 * k1 * x * x) * rho2),
           across = 1 / (f * (1 + k1 * x * x) * sqrt(rho2));
    *expect = sqrt(100.0 * 100.0 + 50.0 * 50.0) * fmin(radial, across);
    /* 50 m east along the parallel: the prime vertical radius N cos(lat) */
    double phi = p.lat * PI / 180,
           nc = 6378137.0 * cos(phi) / sqrt(1 - 0.00669437999014 * sin(phi) * sin(phi));
    double g = ko_footprint_gsd_at(fp, p.lon + 50.0 / nc * 180 / PI, p.lat);
    ko_footprint_destroy(fp);
    return g;
}

START_TEST(test_footprint_gsd_uses_the_lens_jacobian) {
    double e0, ep, eb;
    double g0 = gsd_50m_east(0.0, &e0), gp = gsd_50m_east(0.1, &ep), gb = gsd_50m_east(-0.1, &eb);
    ck_assert(ep < e0 && e0 < eb);
    /* never coarser than the analytic value, and within 10 % of it */
    ck_assert_msg(g0 <= e0 * (1 + 1e-9) && g0 >= 0.9 * e0, "pinhole %g vs %g", g0, e0);
    ck_assert_msg(gp <= ep * (1 + 1e-9) && gp >= 0.9 * ep, "pincushion %g vs %g", gp, ep);
    ck_assert_msg(gb <= eb * (1 + 1e-9) && gb >= 0.9 * eb, "barrel %g vs %g", gb, eb);
}
END_TEST

START_TEST(test_footprint_barrel_distortion_widens) {
    /* Parrot ANAFI (Sony IMX230) terms from the camera table, on a 4 mm lens: a wide lens
     * with k1 = -0.26 sees far more ground than its pinhole model. */
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 4.0;
    c.width_px = 5344;
    c.height_px = 4016;
    c.sensor_w_mm = 5344 * 0.0011243193621822568;
    c.sensor_h_mm = 4016 * 0.0011227729237075993;
    ko_pose p = pose_at(100, 0, -90, 0);
    ko_footprint_options o = far_range();
    o.tolerance_m = 0; /* every sample off a straight line kept: the edge's midpoint too */
    ko_footprint *pin = compute(&c, &p, &o);
    c.k1 = -0.2611037143697243;
    c.k2 = 0.0451191919903731;
    c.k3 = 0.0009053749758353;
    ko_footprint *dist = compute(&c, &p, &o);
    double a0 = ko_footprint_area_m2(pin), a1 = ko_footprint_area_m2(dist);
    ck_assert_msg(a1 > 1.3 * a0, "distorted %.1f vs pinhole %.1f m2", a1, a0);
    /* Closed form on the horizontal axis: the edge pixel at distorted x0 = w / 2f comes from
     * the undistorted x solving x (1 + k1 x^2 + k2 x^4 + k3 x^6) = x0. */
    double x0 = c.sensor_w_mm / 2 / c.focal_mm, x = x0;
    for (int i = 0; i < 200; i++) {
        double r2 = x * x;
        x = x0 / (1 + r2 * (c.k1 + r2 * (c.k2 + r2 * c.k3)));
    }
    ck_assert_double_eq_tol(width_at_north(dist, 0.0) / 2, 100 * x, 1e-6);
    ck_assert_double_eq_tol(local_box(pin).max_e, 100 * x0, 1e-6);
    ck_assert(local_box(dist).max_e > 100 * x); /* corners stretch further still */
    ko_footprint_destroy(pin);
    ko_footprint_destroy(dist);
}
END_TEST

/* The default ring is the dense ring of boundary samples with fewer vertices, never smaller:
 * every sample inside it (1 mm slack, the rule for straight edges), every vertex within two
 * tolerances (half a nadir pixel, the mitre at a corner adds up to 1/cos 45) of the samples. */
START_TEST(test_footprint_tolerance_holds_every_sample) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 3.61, c.sensor_w_mm = 6.17, c.sensor_h_mm = 4.6275;
    c.width_px = 4000, c.height_px = 3000;
    const double k1[] = {-0.02, -0.12};
    /* height, yaw, pitch, roll: oblique views keep more (the far side is magnified; the last
     * is cut at the range limit, an arc kept sample by sample) */
    const double poses[][4] = {{40, 0, -90, 0}, {60, 30, -60, 5}, {80, 200, -35, -3}};
    for (int lens = 0; lens < 2; lens++) {
        c.k1 = k1[lens], c.k2 = 0.01;
        for (size_t q = 0; q < sizeof poses / sizeof *poses; q++) {
            ko_pose p = pose_at(poses[q][0], poses[q][1], poses[q][2], poses[q][3]);
            ko_footprint_options o;
            ko_footprint_options_init(&o);
            ko_footprint *simple = compute(&c, &p, &o);
            o.tolerance_m = 0;
            ko_footprint *dense = compute(&c, &p, &o);
            size_t ns, nd;
            const double *s = ko_footprint_ring_local(simple, &ns);
            const double *d = ko_footprint_ring_local(dense, &nd);
            double tol = 0.5 * (6.17 / 4000) / 3.61 * poses[q][0];
            ck_assert_msg(q ? ns < nd : ns < nd / 2, "lens %d pose %zu: %zu of %zu vertices", lens,
                          q, ns, nd);
            int inside;
            for (size_t i = 0; i < nd; i++) {
                double dist = koi_ring_distance(s, ns, d[2 * i], d[2 * i + 1], &inside);
                ck_assert_msg(inside || dist <= 1e-3, "sample %zu outside by %g m", i, dist);
            }
            for (size_t i = 0; i < ns; i++)
                ck_assert(koi_ring_distance(d, nd, s[2 * i], s[2 * i + 1], &inside) <=
                          2 * tol + 1e-3);
            ck_assert(ko_footprint_area_m2(simple) >= ko_footprint_area_m2(dense));
            ko_footprint_destroy(simple);
            ko_footprint_destroy(dense);
        }
    }
}
END_TEST

/* A pinhole camera's straight edges need only their corners, tolerance or not. */
START_TEST(test_footprint_tolerance_keeps_pinhole_corners) {
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 20, -60, 4);
    ko_footprint_options o = far_range();
    o.tolerance_m = 0.5;
    ko_footprint *a = compute(&c, &p, &o);
    o.tolerance_m = 0;
    ko_footprint *b = compute(&c, &p, &o);
    size_t n, m;
    const double *xa = ko_footprint_ring_local(a, &n), *xb = ko_footprint_ring_local(b, &m);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(m, 5);
    for (size_t i = 0; i < 2 * n; i++)
        ck_assert_double_eq_tol(xa[i], xb[i], 1e-9);
    ko_footprint_destroy(a);
    ko_footprint_destroy(b);
}
END_TEST

START_TEST(test_footprint_wgs84_matches_local_frame) {
    ko_camera c = lens_075();
    ko_pose p = pose_at(100, 30, -50, 5);
    ko_footprint_options o = far_range();
    ko_footprint *fp = compute(&c, &p, &o);
    size_t n, m;
    const double *ll = ko_footprint_ring(fp, &n);
    const double *xy = ko_footprint_ring_local(fp, &m);
    /* the lon/lat ring may split edges (their chords sag off the ground's) */
    ck_assert_uint_ge(n, m);
    ck_assert_double_eq(ll[0], ll[2 * (n - 1)]);
    /* Independent check: local offsets from the WGS84 radii of curvature at lat0; every lon/lat
     * vertex on the local ring and every local vertex among the lon/lat ones, to 1 cm. */
    const double a = 6378137.0, e2 = 0.00669437999014;
    double phi = p.lat * PI / 180, w = sqrt(1 - e2 * sin(phi) * sin(phi));
    double mr = a * (1 - e2) / (w * w * w), nr = a / w;
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (ll[2 * i] - p.lon) * PI / 180 * nr * cos(phi);
        double nn = (ll[2 * i + 1] - p.lat) * PI / 180 * mr;
        int inside;
        ck_assert(koi_ring_distance(xy, m, e, nn, &inside) < 0.01);
        for (size_t j = 0; j + 1 < m; j++)
            found += hypot(e - xy[2 * j], nn - xy[2 * j + 1]) < 0.01;
    }
    ck_assert_uint_ge(found, m - 1);
    char *wkt = NULL;
    ck_assert_int_eq(ko_footprint_wkt(ctx, fp, &wkt), KO_OK);
    ck_assert_ptr_nonnull(strstr(wkt, "POLYGON (("));
    ko_free(wkt);
    ko_footprint_destroy(fp);
}
END_TEST

/* How far (metres) the point (lon, lat) lies outside the lon/lat ring ll of n points (0 inside),
 * measured in the plate carree scaled at lat: an affine map of lon/lat, so the ring's chords
 * stay straight and inside stays inside. */
static double outside_m(const double *ll, size_t n, double lon, double lat) {
    double *xy = malloc(n * 2 * sizeof *xy), sx = 111319.49 * cos(lat * PI / 180);
    ck_assert_ptr_nonnull(xy);
    for (size_t i = 0; i < n; i++)
        xy[2 * i] = (ll[2 * i] - lon) * sx, xy[2 * i + 1] = (ll[2 * i + 1] - lat) * 110574.3;
    int inside;
    double d = koi_ring_distance(xy, n, 0, 0, &inside);
    free(xy);
    return inside ? 0 : d;
}

/* Whether (x, y) is inside the closed ring xy of n points, or within eps of its boundary. */
static int holds(const double *xy, size_t n, double x, double y, double eps) {
    int inside;
    double d = koi_ring_distance(xy, n, x, y, &inside);
    return inside || d <= eps;
}

/* Near the pole a chord straight in lon/lat sags off the ground's straight edge by centimetres
 * (L^2 tan(lat) / 8R): the lon/lat ring must still hold every point of the local ring's
 * edges, placed on the ellipsoid by PROJ's geodesic (not the library's series). */
START_TEST(test_footprint_lonlat_ring_holds_local_edges_near_pole) {
    ko_camera c = lens_075();
    c.width_px = 4000, c.height_px = 3000;
    struct geod_geodesic g;
    geod_init(&g, 6378137.0, 1 / 298.257223563);
    const double lats[] = {88.9, -87.5, 80.0, 60.0};
    for (size_t k = 0; k < sizeof lats / sizeof *lats; k++) {
        ko_pose p = pose_at(300, 30 + 40 * k, -45, 3);
        p.lat = lats[k];
        ko_footprint_options o;
        ko_footprint_options_init(&o);
        o.max_range_m = 2000;
        ko_footprint *fp = compute(&c, &p, &o);
        size_t n, m;
        const double *ll = ko_footprint_ring(fp, &n), *xy = ko_footprint_ring_local(fp, &m);
        for (size_t i = 0; i + 1 < m; i++)
            for (int t = 0; t <= 16; t++) {
                double e = xy[2 * i] + (xy[2 * i + 2] - xy[2 * i]) * t / 16.0;
                double nn = xy[2 * i + 1] + (xy[2 * i + 3] - xy[2 * i + 1]) * t / 16.0;
                double lat, lon;
                geod_direct(&g, p.lat, p.lon, atan2(e, nn) * 180 / PI, hypot(e, nn), &lat, &lon,
                            NULL);
                lon = p.lon + remainder(lon - p.lon, 360.0);
                /* within the series' vertex error (0.54 mm at 2 km and 70 deg; 14 um here),
                 * exact beyond; centimetres before the chords were split and pushed */
                double out = outside_m(ll, n, lon, lat), allow = fabs(p.lat) <= 70 ? 5e-5 : 1e-6;
                ck_assert_msg(out <= allow,
                              "lat %g: edge %zu at %d/16 (%.10f, %.10f) %.3g m outside the lon/lat "
                              "ring",
                              lats[k], i, t, lon, lat, out);
            }
        ko_footprint_destroy(fp);
    }
}
END_TEST

/* Radial undistortion by bisection on the rising branch (not the library's Newton). */
static double undistort_r(double rd, double k1) {
    double lo = 0, hi = rd;
    while (hi * (1 + k1 * hi * hi) < rd)
        hi *= 1.01;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid * (1 + k1 * mid * mid) < rd)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* A pincushion lens (k1 > 0) bows its image edges outward between the boundary samples: every
 * pixel of the edge, cast onto the ground independently (nadir: east = h x, north = -h y of the
 * undistorted normalized point), lies inside the ring, even at the 1 mm tolerance. */
START_TEST(test_footprint_pincushion_edges_are_held_between_samples) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 10, c.sensor_w_mm = 13.2, c.sensor_h_mm = 8.8;
    c.width_px = 5472, c.height_px = 3648;
    c.k1 = 0.3;
    ko_pose p = pose_at(50, 0, -90, 0);
    ko_footprint_options o = far_range();
    o.tolerance_m = 0;
    ko_footprint *fp = compute(&c, &p, &o);
    size_t n;
    const double *xy = ko_footprint_ring_local(fp, &n);
    double fx = 10 / 13.2 * 5472, fy = 10 / 8.8 * 3648;
    for (int i = 0; i < 4 * 4000; i++) {
        double t = (i % 4000) / 4000.0, u, v;
        switch (i / 4000) {
            case 0:
                u = t * 5472, v = 0;
                break;
            case 1:
                u = 5472, v = t * 3648;
                break;
            case 2:
                u = (1 - t) * 5472, v = 3648;
                break;
            default:
                u = 0, v = (1 - t) * 3648;
                break;
        }
        double xd = (u - 2736) / fx, yd = (v - 1824) / fy, rd = hypot(xd, yd);
        double s = rd > 0 ? undistort_r(rd, c.k1) / rd : 1;
        double e = 50 * xd * s, nn = -50 * yd * s;
        ck_assert_msg(holds(xy, n, e, nn, 1e-7), "pixel (%.2f, %.2f) outside the ring", u, v);
    }
    ko_footprint_destroy(fp);
}
END_TEST

/* A strong barrel lens with a high-order term (k1 -0.234, k2 0.025, tangential, off-centre) all
 * but folds inside its frame: its pixel map cannot be built there, though the boundary inverts.
 * Its edge pixels resolve 2.6x finer than the centre's; the property test's independent
 * projector (seed 2, case 806826) sees a point at pixel (3756.3, 1678.4) at 0.498 m/px from
 * 1005 m up. keepout judged it at the centre's pixel (1.31 m/px): clear. */
START_TEST(test_footprint_unmappable_lens_is_never_coarser_than_its_finest_pixel) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 2.8, c.sensor_w_mm = 6.17, c.sensor_h_mm = 4.55;
    c.width_px = 4000, c.height_px = 3000, c.cx_px = 2014.460184, c.cy_px = 1527.718692;
    c.k1 = -0.233972, c.k2 = 0.0250232, c.p1 = -0.00198437, c.p2 = -0.00151498;
    ko_pose p = pose_at(1005.383222, 252.865265, -90, 0);
    p.lat = 12.875107936068, p.lon = 5.626286609957;
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.max_range_m = 50000;
    ko_footprint *fp = compute(&c, &p, &o);
    ck_assert(ko_footprint_gsd_at(fp, 5.622175867410, 12.894486981064) <= 0.498);
    ko_footprint_destroy(fp);
}
END_TEST

START_TEST(test_footprint_ring_is_counterclockwise) {
    ko_camera c = lens_075();
    for (int yaw = 0; yaw < 360; yaw += 45) {
        ko_pose p = pose_at(80, yaw, -70, 10);
        ko_footprint_options o = far_range();
        ko_footprint *fp = compute(&c, &p, &o);
        size_t n;
        const double *xy = ko_footprint_ring_local(fp, &n);
        double s = 0;
        for (size_t i = 0; i + 1 < n; i++)
            s += xy[2 * i] * xy[2 * i + 3] - xy[2 * i + 2] * xy[2 * i + 1];
        ck_assert(s > 0);
        ko_footprint_destroy(fp);
    }
}
END_TEST

/* Every class of bad pose gives KO_ERR_ARG and a message naming the field. */
START_TEST(test_footprint_rejects_bad_poses) {
    ko_camera c = lens_075();
    struct {
        ko_pose p;
        const char *field;
    } bad[8];
    for (int i = 0; i < 8; i++)
        bad[i].p = pose_at(100, 0, -90, 0);
    bad[0].p.lat = NAN, bad[0].field = "lat";
    bad[1].p.pitch_deg = 31, bad[1].field = "pitch";
    bad[2].p.height_m = 0, bad[2].field = "height";
    bad[3].p.height_m = -5, bad[3].field = "height";
    bad[4].p.lon = 181, bad[4].field = "lon";
    bad[5].p.yaw_deg = INFINITY, bad[5].field = "yaw";
    bad[6].p.roll_deg = NAN, bad[6].field = "roll";
    bad[7].p.lat = 425.2461, bad[7].field = "lat";
    for (int i = 0; i < 8; i++) {
        ko_footprint *fp = NULL;
        ck_assert_int_eq(ko_footprint_compute(ctx, &c, &bad[i].p, NULL, &fp), KO_ERR_ARG);
        ck_assert_ptr_null(fp);
        ck_assert_msg(strstr(ko_errmsg(ctx), bad[i].field), "case %d: '%s' lacks '%s'", i,
                      ko_errmsg(ctx), bad[i].field);
    }
    ko_pose p = pose_at(100, 0, -90, 0);
    c.focal_mm = 0;
    ko_footprint *fp = NULL;
    ck_assert_int_eq(ko_footprint_compute(ctx, &c, &p, NULL, &fp), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "focal"));
}
END_TEST

/* A 35 mm-equivalent focal length says the view on the 43.27 mm diagonal of the native sensor,
 * whose shape it does not say: 4:3 (34.61 x 25.96 mm-equivalent) or 3:2 (the 1" sensors of the
 * Phantom 4 Pro / 4 RTK, Mavic 2 Pro, Air 2S: 8.8 mm on 13.2 x 8.8 mm is 24 mm-equivalent, a
 * 36 x 24 frame). A frame of unknown size is judged as the view holding both (adversary adv27:
 * the 4:3 reading, 3.9 % narrower across, cleared a site a P4 Pro photo shows). */
START_TEST(test_footprint_focal35_covers_4x3_and_3x2) {
    const double diag = hypot(36.0, 24.0);
    ko_camera c;
    ko_camera_init(&c);
    /* unknown frame: the 3:2 frame's width, the 4:3 frame's height (3/5 of the diagonal) */
    ck_assert_int_eq(ko_camera_from_focal35(24, 0, 0, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 36.0, 1e-9);
    ck_assert_double_eq_tol(c.sensor_h_mm, diag * 0.6, 1e-9);
    /* the P4 Pro photo of adv27 (64.1 m, nadir): a 3:2 photo reaches 64.1 * 18 / 24 = 48.075 m
     * either side across, a 4:3 one 64.1 * 3 / 5 * 43.27 / 2 / 24 = 34.67 m along */
    ko_pose p = pose_at(64.1, 0, -90, 0);
    ko_footprint_options o = far_range();
    ko_footprint *fp = compute(&c, &p, &o);
    box b = local_box(fp);
    ck_assert_double_eq_tol(b.max_e, 64.1 * 18.0 / 24.0, 1e-6);
    ck_assert_double_eq_tol(b.max_n, 64.1 * diag * 0.3 / 24.0, 1e-6);
    ko_footprint_destroy(fp);
    /* 16:9 is a full-width crop of the native sensor: the 3:2 one's 36 mm (a 4:3 one's is
     * 34.61), so the P4 RTK's 16:9 video of its full width is held */
    ck_assert_int_eq(ko_camera_from_focal35(20, 4000, 2250, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 36.0, 1e-9);
    ck_assert_double_eq_tol(c.sensor_h_mm, 36.0 * 9 / 16, 1e-9);
    ck_assert_int_eq(ko_camera_from_focal35(20, 2250, 4000, &c), KO_OK); /* turned */
    ck_assert_double_eq_tol(c.sensor_h_mm, 36.0, 1e-9);
    /* a frame of known aspect on its own diagonal: 3:2 is the 36 x 24 frame, 4:3 34.61 x 25.96 */
    ck_assert_int_eq(ko_camera_from_focal35(24, 3000, 2000, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 36.0, 1e-9);
    ck_assert_double_eq_tol(c.sensor_h_mm, 24.0, 1e-9);
    ck_assert_int_eq(ko_camera_from_focal35(24, 4000, 3000, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, diag * 0.8, 1e-9);
    ck_assert_double_eq_tol(c.sensor_h_mm, diag * 0.6, 1e-9);
    ck_assert_int_eq(ko_camera_from_focal35(-1, 3000, 2000, &c), KO_ERR_ARG);
}
END_TEST

/* East/north metres of (lon, lat) from the camera, by PROJ's geodesic (not keepout's local
 * frame series): the independent measure of where a ground point landed. */
static void geod_local(double lat0, double lon0, double lon, double lat, double *e, double *n) {
    struct geod_geodesic g;
    geod_init(&g, 6378137.0, 1 / 298.257223563);
    double s, az1, az2;
    geod_inverse(&g, lat0, lon0, lat, lon, &s, &az1, &az2);
    *e = s * sin(az1 * PI / 180), *n = s * cos(az1 * PI / 180);
}

/* 50 mm on 36 x 24 mm, 6000 x 4000 px, 100 m up, looking straight down: pixel (u, v) is
 * 72 m * (u / 6000 - 1/2) across and 48 m * (1/2 - v / 4000) along the image's up direction. */
START_TEST(test_footprint_ground_points_of_a_nadir_pinhole) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 50, c.sensor_w_mm = 36, c.sensor_h_mm = 24;
    c.width_px = 6000, c.height_px = 4000;
    const double uv[] = {3000, 2000, 0, 0, 6000, 4000, 1500, 3000};
    for (int yaw = 0; yaw <= 90; yaw += 90) {
        ko_pose p = pose_at(100, yaw, -90, 0);
        double out[12];
        unsigned char hit[4];
        ck_assert_int_eq(ko_footprint_ground_points(ctx, &c, &p, NULL, 4, uv, out, hit), KO_OK);
        for (int i = 0; i < 4; i++) {
            double across = 72.0 * (uv[2 * i] / 6000 - 0.5),
                   up = 48.0 * (0.5 - uv[2 * i + 1] / 4000);
            /* the image's up is the heading: north at yaw 0, east at yaw 90 (across: south) */
            double want_e = yaw ? up : across, want_n = yaw ? -across : up;
            double e, n;
            ck_assert_int_eq(hit[i], 1);
            geod_local(p.lat, p.lon, out[3 * i], out[3 * i + 1], &e, &n);
            ck_assert_msg(hypot(e - want_e, n - want_n) < 1e-3,
                          "yaw %d point %d: (%.4f, %.4f) not (%.4f, %.4f)", yaw, i, e, n, want_e,
                          want_n);
            ck_assert_double_eq(out[3 * i + 2], 0.0);
        }
    }
}
END_TEST

/* Rays above the horizon or past the range never land; the rest of the frame still does. */
START_TEST(test_footprint_ground_points_miss_sky_and_range) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 50, c.sensor_w_mm = 36, c.sensor_h_mm = 24;
    c.width_px = 6000, c.height_px = 4000;
    ko_pose p = pose_at(100, 0, 0, 0); /* level: the top half looks at the sky */
    const double uv[] = {3000, 0, 3000, 3999, 3000, 2000};
    double out[9];
    unsigned char hit[3];
    ck_assert_int_eq(ko_footprint_ground_points(ctx, &c, &p, NULL, 3, uv, out, hit), KO_OK);
    ck_assert_int_eq(hit[0], 0);
    ck_assert(isnan(out[0]) && isnan(out[1]) && isnan(out[2]));
    /* the bottom row: 100 m below, 11.99 m below the axis at f = 50: 100 / tan(atan(12/50)) */
    double e, n;
    ck_assert_int_eq(hit[1], 1);
    geod_local(p.lat, p.lon, out[3], out[4], &e, &n);
    ck_assert_double_eq_tol(n, 100.0 * 50 / (24.0 * (3999.0 / 4000 - 0.5)), 1e-3);
    ck_assert_int_eq(hit[2], 0); /* the horizon itself */
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.max_range_m = 300; /* the bottom row lands 416.8 m out */
    ck_assert_int_eq(ko_footprint_ground_points(ctx, &c, &p, &o, 3, uv, out, hit), KO_OK);
    ck_assert_int_eq(hit[1], 0);
}
END_TEST

/* Across the antimeridian the longitudes wrap into [-180, 180] and the distances hold. */
START_TEST(test_footprint_ground_points_across_the_antimeridian) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 50, c.sensor_w_mm = 36, c.sensor_h_mm = 24;
    c.width_px = 6000, c.height_px = 4000;
    ko_pose p = pose_at(100, 0, -90, 0);
    p.lat = 10, p.lon = -179.99995; /* 5.5 m east of the line */
    const double uv[] = {0, 2000, 6000, 2000};
    double out[6];
    unsigned char hit[2];
    ck_assert_int_eq(ko_footprint_ground_points(ctx, &c, &p, NULL, 2, uv, out, hit), KO_OK);
    ck_assert(hit[0] && hit[1]);
    ck_assert_msg(out[0] > 179.9996 && out[0] <= 180.0, "west edge lon %.7f", out[0]);
    ck_assert_msg(out[3] < -179.9996 && out[3] >= -180.0, "east edge lon %.7f", out[3]);
    for (int i = 0; i < 2; i++) {
        double e, n;
        geod_local(p.lat, p.lon, out[3 * i], out[3 * i + 1], &e, &n);
        ck_assert_double_eq_tol(e, i ? 36.0 : -36.0, 1e-3);
        ck_assert_double_eq_tol(n, 0.0, 1e-3);
    }
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_footprint_ground_points_of_a_nadir_pinhole,
                            test_footprint_ground_points_miss_sky_and_range,
                            test_footprint_ground_points_across_the_antimeridian,
                            test_footprint_nadir_rectangle_is_height_times_sensor_over_focal,
                            test_footprint_nadir_callmarcus_corners,
                            test_footprint_pitch_minus45_near_and_far_edges,
                            test_footprint_yaw90_turns_far_edge_east,
                            test_footprint_roll_positive_lowers_right_side,
                            test_footprint_roll_at_nadir_equals_yaw,
                            test_footprint_pitch_minus20_is_cut_at_range_limit,
                            test_footprint_range_arc_holds_every_visible_point,
                            test_footprint_range_limit_follows_gsd,
                            test_footprint_gsd_uses_the_lens_jacobian,
                            test_footprint_barrel_distortion_widens,
                            test_footprint_tolerance_holds_every_sample,
                            test_footprint_tolerance_keeps_pinhole_corners,
                            test_footprint_wgs84_matches_local_frame,
                            test_footprint_ring_is_counterclockwise,
                            test_footprint_unmappable_lens_is_never_coarser_than_its_finest_pixel,
                            test_footprint_lonlat_ring_holds_local_edges_near_pole,
                            test_footprint_pincushion_edges_are_held_between_samples,
                            test_footprint_rejects_bad_poses,
                            test_footprint_focal35_covers_4x3_and_3x2};
    return unit_run(
        &(unit_suite){.name = "footprint", .tcase = "flat", .setup = setup, .teardown = teardown},
        tests, UNIT_COUNT(tests));
}
