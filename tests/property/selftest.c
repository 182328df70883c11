/* Self-test of the property test's own projector (fwd.c) against analytic cases: a nadir
 * pinhole's footprint corners, a site at the image centre, the off-axis GSD of a pinhole
 * (slant x cos^2 / f), yaw and pitch signs, and a radial distortion term. */
#include <math.h>
#include <stdio.h>

#include "fwd.h"

static int failures;

#define NEAR(a, b, tol, what)                                                          \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= (tol))) {                                               \
            printf("FAIL %s: %.12g != %.12g (tol %g)\n", what, a_, b_, (double)(tol)); \
            failures++;                                                                \
        }                                                                              \
    } while (0)

static fwd_cam base(double lat, double lon, double h, double yaw, double pitch, double roll) {
    fwd_cam c = {0};
    c.lat = lat;
    c.lon = lon;
    c.height = h;
    c.yaw = yaw;
    c.pitch = pitch;
    c.roll = roll;
    c.focal_mm = 8.8;
    c.sensor_w_mm = 13.2;
    c.sensor_h_mm = 8.8;
    c.width = 5472;
    c.height_px = 3648;
    c.cx = c.width / 2;
    c.cy = c.height_px / 2;
    fwd_cam_prepare(&c);
    return c;
}

int main(void) {
    struct geod_geodesic g;
    geod_init(&g, 6378137.0, 1 / 298.257223563);
    fwd_obs o;

    /* nadir, yaw 0: top of the image is north, right is east */
    fwd_cam c = base(47.0, 8.0, 100.0, 0, -90, 0);
    double hw = 100.0 * 6.6 / 8.8, hh = 100.0 * 4.4 / 8.8; /* 75 m east-west, 50 m north-south */
    struct {
        double e, n, u, v;
    } corners[4] = {{-hw, hh, 0, 0}, {hw, hh, 5472, 0}, {hw, -hh, 5472, 3648}, {-hw, -hh, 0, 3648}};
    for (int i = 0; i < 4; i++) {
        double lat, lon, e, n;
        fwd_wgs84(&g, &c, corners[i].e, corners[i].n, &lat, &lon);
        fwd_local(&g, &c, lat, lon, &e, &n);
        NEAR(e, corners[i].e, 1e-6, "geodesic round trip east");
        NEAR(n, corners[i].n, 1e-6, "geodesic round trip north");
        if (!fwd_observe_local(&c, e, n, &o)) {
            printf("FAIL nadir corner %d not in front\n", i);
            failures++;
            continue;
        }
        NEAR(o.u, corners[i].u, 1e-6, "nadir corner u");
        NEAR(o.v, corners[i].v, 1e-6, "nadir corner v");
        NEAR(o.frame_px, 0, 1e-6, "nadir corner on the frame");
    }
    /* site at the image centre: below the camera; GSD = height / f_px */
    fwd_observe_local(&c, 0, 0, &o);
    NEAR(o.u, 2736, 1e-9, "centre u");
    NEAR(o.v, 1824, 1e-9, "centre v");
    NEAR(o.gsd_m, 100.0 / (8.8 / 13.2 * 5472), 1e-9, "nadir GSD");
    /* off axis on a pinhole: slant * cos^2(theta) / f = h cos(theta) / f */
    double th = atan(0.5);
    fwd_observe_local(&c, 100.0 * tan(th), 0, &o);
    NEAR(o.gsd_m, 100.0 * cos(th) / (8.8 / 13.2 * 5472), 1e-9, "off-axis GSD");
    NEAR(o.u, 2736 + 0.5 * 8.8 / 13.2 * 5472, 1e-6, "off-axis u");

    /* yaw 90, nadir: top of the image is east */
    c = base(47.0, 8.0, 100.0, 90, -90, 0);
    fwd_observe_local(&c, 20, 0, &o);
    NEAR(o.u, 2736, 1e-6, "yaw 90: east point on the centre column");
    if (!(o.v < 1824)) {
        printf("FAIL yaw 90: east point not in the upper half (v=%g)\n", o.v);
        failures++;
    }
    /* oblique, yaw 90, pitch -45: the optical axis meets the ground height metres east */
    c = base(-33.0, 151.0, 50.0, 90, -45, 0);
    fwd_observe_local(&c, 50, 0, &o);
    NEAR(o.u, 2736, 1e-6, "oblique centre u");
    NEAR(o.v, 1824, 1e-6, "oblique centre v");
    NEAR(o.gsd_m, 50 * sqrt(2.0) / (8.8 / 13.2 * 5472), 1e-9, "oblique centre GSD");
    /* behind the camera: not visible */
    if (fwd_observe_local(&c, -50, 0, &o)) {
        printf("FAIL a point behind the camera is visible\n");
        failures++;
    }
    /* roll +10 (camera's right side down), pitch -45, facing north: body z (image down) is
     * tilted to the west, so a ground point east of the centre's ground point, at the same
     * north, shows right of centre and above the centre row */
    c = base(10.0, 20.0, 50.0, 0, -45, 10);
    fwd_observe_local(&c, 0, 50, &o);
    double v0 = o.v;
    fwd_observe_local(&c, 10, 50, &o);
    if (!(o.u > 2736 && o.v < v0)) {
        printf("FAIL roll sign: u=%g v=%g (centre row %g)\n", o.u, o.v, v0);
        failures++;
    }
    /* radial distortion: x -> x (1 + k1 r^2) */
    c = base(0.0, 0.0, 100.0, 0, -90, 0);
    c.k1 = 0.1;
    fwd_cam_prepare(&c);
    fwd_observe_local(&c, 30, 0, &o); /* x = 0.3 */
    NEAR(o.u, 2736 + 0.3 * (1 + 0.1 * 0.09) * (8.8 / 13.2 * 5472), 1e-6, "k1 distortion");
    /* the GSD of a pincushion lens is finer off axis than the pinhole's */
    double pin = 100.0 * cos(atan(0.3)) / (8.8 / 13.2 * 5472);
    if (!(o.gsd_m < pin)) {
        printf("FAIL pincushion GSD %g not finer than the pinhole's %g\n", o.gsd_m, pin);
        failures++;
    }
    printf("property selftest: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
