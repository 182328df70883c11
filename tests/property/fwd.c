/* Independent forward camera model (see fwd.h). No code shared with lib/src. */
#include "fwd.h"

#include <math.h>

#define DEG (M_PI / 180.0)

/* d(r (1 + k1 r^2 + k2 r^4 + k3 r^6)) / dr at r^2 = r2. */
static double slope_r2(const fwd_cam *c, double r2) {
    return 1 + 3 * c->k1 * r2 + 5 * c->k2 * r2 * r2 + 7 * c->k3 * r2 * r2 * r2;
}

void fwd_cam_prepare(fwd_cam *c) {
    c->fx = c->focal_mm / c->sensor_w_mm * c->width;
    c->fy = c->focal_mm / c->sensor_h_mm * c->height_px;
    double cy = cos(c->yaw * DEG), sy = sin(c->yaw * DEG);
    double cp = cos(c->pitch * DEG), sp = sin(c->pitch * DEG);
    double cr = cos(c->roll * DEG), sr = sin(c->roll * DEG);
    /* R = Rz(yaw) Ry(pitch) Rx(roll): columns are the body axes in NED. */
    c->r_b2n[0][0] = cy * cp;
    c->r_b2n[0][1] = cy * sp * sr - sy * cr;
    c->r_b2n[0][2] = cy * sp * cr + sy * sr;
    c->r_b2n[1][0] = sy * cp;
    c->r_b2n[1][1] = sy * sp * sr + cy * cr;
    c->r_b2n[1][2] = sy * sp * cr - cy * sr;
    c->r_b2n[2][0] = -sp;
    c->r_b2n[2][1] = cp * sr;
    c->r_b2n[2][2] = cp * cr;
    /* The radial map's first turning point: past it the model folds back, and no real lens
     * sees there (the library's rays come from the frame, on the rising branch). Scanned in r^2
     * to 10^6 (89.94 deg off axis: a weak barrel, k1 = -0.02, folds at r = 4.02), then bisected. */
    c->r2_mono = INFINITY;
    double prev = 0.0;
    for (double r2 = 1e-8; r2 < 1e6; prev = r2, r2 *= 1.01) {
        if (slope_r2(c, r2) > 0) continue;
        double lo = prev, hi = r2; /* slope > 0 at lo, <= 0 at hi */
        for (int i = 0; i < 100; i++) {
            double mid = 0.5 * (lo + hi);
            if (slope_r2(c, mid) > 0)
                lo = mid;
            else
                hi = mid;
        }
        c->r2_mono = lo;
        break;
    }
}

int fwd_monotonic_to(const fwd_cam *c, double r) {
    return r * r < c->r2_mono;
}

double fwd_radial(const fwd_cam *c, double r) {
    double r2 = r * r;
    return r * (1 + c->k1 * r2 + c->k2 * r2 * r2 + c->k3 * r2 * r2 * r2);
}

void fwd_local(const struct geod_geodesic *g, const fwd_cam *c, double lat, double lon,
               double *east, double *north) {
    double s, az1, az2;
    geod_inverse(g, c->lat, c->lon, lat, lon, &s, &az1, &az2);
    *east = s * sin(az1 * DEG);
    *north = s * cos(az1 * DEG);
}

void fwd_wgs84(const struct geod_geodesic *g, const fwd_cam *c, double east, double north,
               double *lat, double *lon) {
    double s = hypot(east, north);
    double az = atan2(east, north) / DEG;
    double az2;
    geod_direct(g, c->lat, c->lon, az, s, lat, lon, &az2);
}

/* Body-frame direction -> normalized undistorted image coordinates. */
static int body_to_norm(const double d[3], double *x, double *y) {
    if (!(d[0] > 0)) return 0;
    *x = d[1] / d[0];
    *y = d[2] / d[0];
    return 1;
}

static void distort_to_px(const fwd_cam *c, double x, double y, double *u, double *v) {
    double r2 = x * x + y * y;
    double rad = 1 + c->k1 * r2 + c->k2 * r2 * r2 + c->k3 * r2 * r2 * r2;
    double xd = x * rad + 2 * c->p1 * x * y + c->p2 * (r2 + 2 * x * x);
    double yd = y * rad + c->p1 * (r2 + 2 * y * y) + 2 * c->p2 * x * y;
    *u = c->fx * xd + c->cx;
    *v = c->fy * yd + c->cy;
}

int fwd_project_body(const fwd_cam *c, const double d[3], double *u, double *v) {
    double x, y;
    if (!body_to_norm(d, &x, &y)) return 0;
    distort_to_px(c, x, y, u, v);
    return 1;
}

int fwd_observe_local(const fwd_cam *c, double east, double north, fwd_obs *o) {
    double ned[3] = {north, east, c->height};
    double d[3];
    for (int i = 0; i < 3; i++) /* body = R^T ned */
        d[i] = c->r_b2n[0][i] * ned[0] + c->r_b2n[1][i] * ned[1] + c->r_b2n[2][i] * ned[2];
    o->ground_m = hypot(east, north);
    o->slant_m = sqrt(east * east + north * north + c->height * c->height);
    o->front = 0;
    o->frame_px = -INFINITY;
    o->gsd_m = INFINITY;
    o->u = o->v = NAN;
    double x, y;
    if (!body_to_norm(d, &x, &y)) return 0;
    if (!(x * x + y * y < c->r2_mono)) return 0;
    o->front = 1;
    distort_to_px(c, x, y, &o->u, &o->v);
    double fu = fmin(o->u, c->width - o->u), fv = fmin(o->v, c->height_px - o->v);
    o->frame_px = fmin(fu, fv);
    /* GSD: the ray's two angular directions (an orthonormal pair across it), by central
     * differences. */
    double n = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    double e[3] = {d[0] / n, d[1] / n, d[2] / n};
    double a[3] = {fabs(e[0]) < 0.9 ? 1 : 0, fabs(e[0]) < 0.9 ? 0 : 1, 0};
    double dot = a[0] * e[0] + a[1] * e[1] + a[2] * e[2];
    double t1[3] = {a[0] - dot * e[0], a[1] - dot * e[1], a[2] - dot * e[2]};
    double n1 = sqrt(t1[0] * t1[0] + t1[1] * t1[1] + t1[2] * t1[2]);
    for (int i = 0; i < 3; i++)
        t1[i] /= n1;
    double t2[3] = {e[1] * t1[2] - e[2] * t1[1], e[2] * t1[0] - e[0] * t1[2],
                    e[0] * t1[1] - e[1] * t1[0]};
    const double h = 1e-6;
    double J[2][2];
    const double *t[2] = {t1, t2};
    for (int k = 0; k < 2; k++) {
        double dp[3], dm[3], up, vp, um, vm;
        for (int i = 0; i < 3; i++) {
            dp[i] = e[i] + h * t[k][i];
            dm[i] = e[i] - h * t[k][i];
        }
        if (!fwd_project_body(c, dp, &up, &vp) || !fwd_project_body(c, dm, &um, &vm)) {
            o->gsd_m = INFINITY;
            return 1;
        }
        J[0][k] = (up - um) / (2 * h);
        J[1][k] = (vp - vm) / (2 * h);
    }
    double T = J[0][0] * J[0][0] + J[0][1] * J[0][1] + J[1][0] * J[1][0] + J[1][1] * J[1][1];
    double D = J[0][0] * J[1][1] - J[0][1] * J[1][0];
    double disc = T * T - 4 * D * D;
    double smax = sqrt(0.5 * (T + sqrt(disc > 0 ? disc : 0)));
    o->gsd_m = o->slant_m / smax;
    return 1;
}
