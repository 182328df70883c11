/* Adversarial property test of keepout's one promise (issue 16): imagery that shows a protected
 * site is never reported `clear`.
 *
 * Each case is a random camera pose and one site placed where the answer is hard (image
 * corners, where an image edge meets the range limit, where the GSD reaches the category's
 * threshold, across the antimeridian, near the poles, behind distorting lenses). The ground
 * truth comes from an independent forward projector (fwd.c: world point -> pixel, PROJ's
 * geodesic for the earth, nothing from lib/src): the site is disclosed if some point of it is
 * visible (in front of the camera, 0 <= u <= W, 0 <= v <= H), within range (ground distance
 * <= max_range_m) and seen at a GSD at or below its category's min_gsd_m — with safety margins
 * of 0.01 px inside the frame, 1 cm inside the range and 1e-6 relative GSD so that float noise
 * never makes a spurious failure. keepout is asked through the public API only (keepout.h): all
 * sites of a chunk of cases go into one store (GeoJSON -> ko_sites_import with buffer 0, so the
 * stored geometry is exactly the test's; site edges are straight in lon/lat as GEOS and
 * SpatiaLite take them), and each case is checked with ko_check_shot, looking only at its own
 * site. A false clear: truth says disclosed, keepout does not list the site as disclosed. A
 * false flag: keepout discloses it, truth says not; its distance from the truly visible and
 * resolved ground is reported (estimated to first order from the violated constraints'
 * gradients, else by a ring search).
 *
 * Usage: property [--cases N] [--seed S] [--chunk C] [--family NAME] [--case I] [--show K]
 *                 [--no-assert] [--native]
 * --native with --family runs only that family's cases of the unfiltered sequence (case i of
 * the run is case i * families + family there), to replay one family of a long run.
 * Exit 0 if no false clear and no false flag more than 1 km from the ground the camera sees
 * (its own site, or another case's site beyond the range limit), or with --no-assert; 1
 * otherwise; 2 on a harness or library failure.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fwd.h"
#include "keepout/keepout.h"

#define DEG (M_PI / 180.0)
#define MAX_VERT 24

/* ---------------------------------------------------------------------------------------- */
/* Random numbers: splitmix64 seeds a xoshiro256** per case, so case i is the same whatever the
 * chunking or the family filter. */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t idx) {
    uint64_t x = seed * 0xD1B54A32D192ED03ULL ^ (idx + 0x632BE59BD9B4E019ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static double U(rng *r, double a, double b) {
    return a + (b - a) * ((double)(rng_next(r) >> 11) * 0x1.0p-53);
}

static double logU(rng *r, double a, double b) {
    return exp(U(r, log(a), log(b)));
}

static int chance(rng *r, double p) {
    return U(r, 0, 1) < p;
}

/* ---------------------------------------------------------------------------------------- */
/* Cases */

enum {
    F_ORDINARY,
    F_HORIZON,
    F_HIGH,
    F_CORNER,
    F_RANGE,
    F_ANTIMERIDIAN,
    F_POLE,
    F_EQUATOR,
    F_LENS,
    F_GSD,
    F_POLE_NEAR,
    N_FAMILIES
};
static const char *family_name[N_FAMILIES] = {
    "ordinary", "near_horizon", "high_altitude", "image_corner", "range_edge", "antimeridian",
    "pole",     "equator",      "lens",          "gsd_edge",     "pole_10km"};

typedef struct site {
    int point;   /* a point site: lon[0][0], lat[0][0] */
    int n_parts; /* 1, or 2 when split at the antimeridian */
    int n[2];    /* vertices per part (open ring) */
    double lon[2][MAX_VERT + 4], lat[2][MAX_VERT + 4];
    double radius_m; /* rough size, for searches */
} site;

typedef struct pcase {
    uint64_t idx;
    int family;
    fwd_cam cam;
    int cx_given;     /* principal point passed to keepout (else image centre) */
    double max_range; /* metres */
    int cat;          /* index into the category table */
    double min_gsd;
    site s;
    double tgt_lat, tgt_lon; /* the ground point the site was placed around */
} pcase;

typedef struct category {
    const char *name;
    double min_gsd_m;
} category;

static category cats[16];
static size_t n_cats;

typedef struct cam_model {
    double f, sw, sh, w, h;
} cam_model;

static const cam_model cam_models[] = {
    {8.8, 13.2, 8.8, 5472, 3648},   /* 1" 20 MP (Phantom 4 Pro) */
    {4.5, 6.17, 4.55, 4056, 3040},  /* 1/2.3" 12 MP */
    {24.0, 6.4, 4.8, 4000, 3000},   /* telephoto */
    {2.8, 6.17, 4.55, 4000, 3000},  /* wide */
    {8.8, 13.2, 7.425, 1920, 1080}, /* 16:9 video */
    {12.3, 17.3, 13.0, 5280, 3956}, /* 4/3 */
};
#define N_CAM_MODELS (sizeof cam_models / sizeof cam_models[0])

static const struct geod_geodesic *G;

/* Normalized image radius of the frame's farthest corner, undistorted (fixed-point inverse of
 * the radial map; tangential terms are small). */
static double frame_corner_r(const fwd_cam *c) {
    double best = 0;
    for (int k = 0; k < 4; k++) {
        double u = (k & 1) ? c->width : 0, v = (k & 2) ? c->height_px : 0;
        double xd = (u - c->cx) / c->fx, yd = (v - c->cy) / c->fy;
        best = fmax(best, hypot(xd, yd));
    }
    return best; /* distorted radius */
}

/* 1 if the lens maps the frame on its rising branch with a margin. */
static int lens_ok(const fwd_cam *c) {
    double rd = frame_corner_r(c);
    if (!isfinite(c->r2_mono)) return 1;
    double rm = sqrt(c->r2_mono);
    return fwd_radial(c, rm) > 1.05 * rd;
}

/* Ground point (local east/north) seen at pixel (u, v): a pinhole ray cast for a first guess,
 * then Newton on the forward projector. Only places sites; the truth never uses it. */
static int ground_for_pixel(const fwd_cam *c, double u, double v, double *E, double *N) {
    double xd = (u - c->cx) / c->fx, yd = (v - c->cy) / c->fy, x = xd, y = yd;
    for (int it = 0; it < 50; it++) {
        double r2 = x * x + y * y;
        double rad = 1 + c->k1 * r2 + c->k2 * r2 * r2 + c->k3 * r2 * r2 * r2;
        double dx = 2 * c->p1 * x * y + c->p2 * (r2 + 2 * x * x);
        double dy = c->p1 * (r2 + 2 * y * y) + 2 * c->p2 * x * y;
        x = (xd - dx) / rad;
        y = (yd - dy) / rad;
    }
    double d[3] = {1, x, y}, ned[3];
    for (int i = 0; i < 3; i++)
        ned[i] = c->r_b2n[i][0] * d[0] + c->r_b2n[i][1] * d[1] + c->r_b2n[i][2] * d[2];
    if (!(ned[2] > 1e-6)) return 0;
    double t = c->height / ned[2];
    double e = t * ned[1], n = t * ned[0];
    if (!(hypot(e, n) < 5e6)) return 0;
    for (int it = 0; it < 8; it++) {
        fwd_obs o, oe, on;
        double h = fmax(1e-3, 1e-6 * hypot(e, n));
        if (!fwd_observe_local(c, e, n, &o) || !fwd_observe_local(c, e + h, n, &oe) ||
            !fwd_observe_local(c, e, n + h, &on))
            return 0;
        double a = (oe.u - o.u) / h, b = (on.u - o.u) / h;
        double cc = (oe.v - o.v) / h, dd = (on.v - o.v) / h;
        double det = a * dd - b * cc;
        if (!(fabs(det) > 0)) return 0;
        double ru = u - o.u, rv = v - o.v;
        if (fabs(ru) < 1e-6 && fabs(rv) < 1e-6) break;
        e += (dd * ru - b * rv) / det;
        n += (-cc * ru + a * rv) / det;
    }
    fwd_obs o;
    if (!fwd_observe_local(c, e, n, &o) || fabs(o.u - u) > 1e-3 || fabs(o.v - v) > 1e-3) return 0;
    *E = e;
    *N = n;
    return 1;
}

/* Ground distance seen at a pixel (INFINITY above the horizon). */
static double ground_dist_px(const fwd_cam *c, double u, double v) {
    double e, n;
    return ground_for_pixel(c, u, v, &e, &n) ? hypot(e, n) : INFINITY;
}

static double gsd_px(const fwd_cam *c, double u, double v) {
    double e, n;
    fwd_obs o;
    if (!ground_for_pixel(c, u, v, &e, &n) || !fwd_observe_local(c, e, n, &o)) return INFINITY;
    return o.gsd_m;
}

static void pick_camera(rng *r, pcase *pc, int family) {
    fwd_cam *c = &pc->cam;
    const cam_model *m = &cam_models[rng_next(r) % N_CAM_MODELS];
    c->focal_mm = m->f * (chance(r, 0.3) ? U(r, 0.9, 1.1) : 1.0);
    c->sensor_w_mm = m->sw;
    c->sensor_h_mm = m->sh;
    c->width = m->w;
    c->height_px = m->h;
    c->cx = m->w / 2;
    c->cy = m->h / 2;
    pc->cx_given = 0;
    if (chance(r, 0.15)) {
        c->cx += U(r, -0.02, 0.02) * m->w;
        c->cy += U(r, -0.02, 0.02) * m->h;
        pc->cx_given = 1;
    }
    c->k1 = c->k2 = c->k3 = c->p1 = c->p2 = 0;
    double p_lens = family == F_LENS ? 1.0 : family == F_GSD ? 0.5 : 0.2;
    if (chance(r, p_lens)) {
        double big = family == F_LENS || family == F_GSD ? 0.3 : 0.08;
        for (int tries = 0; tries < 40; tries++) {
            c->k1 = U(r, -big, big);
            c->k2 = chance(r, 0.5) ? U(r, -0.3, 0.3) * big : 0;
            c->k3 = chance(r, 0.2) ? U(r, -0.1, 0.1) * big : 0;
            c->p1 = c->p2 = 0;
            if (chance(r, 0.3)) {
                c->p1 = U(r, -0.002, 0.002);
                c->p2 = U(r, -0.002, 0.002);
            }
            fwd_cam_prepare(c);
            if (lens_ok(c)) break;
            big *= 0.8;
            c->k1 = c->k2 = c->k3 = c->p1 = c->p2 = 0;
        }
    }
    fwd_cam_prepare(c);
}

/* Picks the site geometry around (E, N) (local metres): a point, or a star-shaped polygon of
 * 3..8 vertices with straight lon/lat edges; split at the antimeridian if it crosses it.
 * Returns 0 if it cannot be made (around a pole). */
static void clip_half(const double *lon, const double *lat, int n, double cut, int keep_below,
                      double *olon, double *olat, int *on);

static int make_site(rng *r, pcase *pc, double E, double N, double radius, double p_point) {
    site *s = &pc->s;
    memset(s, 0, sizeof *s);
    s->radius_m = radius;
    double clat, clon;
    fwd_wgs84(G, &pc->cam, E, N, &clat, &clon);
    if (90 - fabs(clat) < 3 * radius / 111000.0 + 1e-6) return 0; /* would reach a pole */
    if (chance(r, p_point)) {
        s->point = 1;
        s->n_parts = 1;
        s->n[0] = 1;
        s->lon[0][0] = clon;
        s->lat[0][0] = clat;
        s->radius_m = 0;
        return 1;
    }
    int n = 3 + (int)(rng_next(r) % 6);
    double ang[8];
    for (int i = 0; i < n; i++)
        ang[i] = U(r, 0, 2 * M_PI);
    for (int i = 1; i < n; i++) /* sort */
        for (int j = i; j > 0 && ang[j] < ang[j - 1]; j--) {
            double t = ang[j];
            ang[j] = ang[j - 1];
            ang[j - 1] = t;
        }
    double lon[8], lat[8];
    int crosses = 0;
    for (int i = 0; i < n; i++) {
        double rr = radius * U(r, 0.4, 1.0);
        fwd_wgs84(G, &pc->cam, E + rr * sin(ang[i]), N + rr * cos(ang[i]), &lat[i], &lon[i]);
        double d = lon[i] - clon;
        while (d > 180)
            d -= 360;
        while (d < -180)
            d += 360;
        if (fabs(d) > 60) return 0;
        lon[i] = clon + d; /* unwrapped: may leave [-180, 180] */
        if (lon[i] > 180 || lon[i] < -180) crosses = 1;
    }
    /* collinear or degenerate rings are rejected by GEOS validity: keep angles apart */
    for (int i = 0; i < n; i++) {
        double gap = (i + 1 < n ? ang[i + 1] : ang[0] + 2 * M_PI) - ang[i];
        if (gap < 0.15 || gap > M_PI - 0.15) return 0;
    }
    if (!crosses) {
        s->n_parts = 1;
        s->n[0] = n;
        memcpy(s->lon[0], lon, sizeof(double) * (size_t)n);
        memcpy(s->lat[0], lat, sizeof(double) * (size_t)n);
        return 1;
    }
    /* A site across the antimeridian is stored as two parts cut at the line (RFC 7946): only
     * a convex ring cuts into two valid parts. */
    int sgn = 0;
    for (int i = 0; i < n; i++) {
        int j = (i + 1) % n, k = (i + 2) % n;
        double cr = (lon[j] - lon[i]) * (lat[k] - lat[j]) - (lat[j] - lat[i]) * (lon[k] - lon[j]);
        int sg = cr > 0 ? 1 : cr < 0 ? -1 : 0;
        if (!sg || (sgn && sg != sgn)) return 0;
        sgn = sg;
    }
    double cut = clon > 0 ? 180.0 : -180.0;
    /* part 0: the side of the centre's longitude; part 1: the far side, shifted by 360 */
    clip_half(lon, lat, n, cut, cut > 0, s->lon[0], s->lat[0], &s->n[0]);
    clip_half(lon, lat, n, cut, cut < 0, s->lon[1], s->lat[1], &s->n[1]);
    for (int i = 0; i < s->n[1]; i++)
        s->lon[1][i] = s->lon[1][i] == cut ? -cut : s->lon[1][i] - (cut > 0 ? 360 : -360);
    if (s->n[0] < 3 || s->n[1] < 3) return 0;
    s->n_parts = 2;
    return 1;
}

/* Sutherland-Hodgman against lon = cut, keeping lon <= cut (keep_below) or >= cut. Points on
 * the cut get exactly the cut longitude. */
static void clip_half(const double *lon, const double *lat, int n, double cut, int keep_below,
                      double *olon, double *olat, int *on) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        int j = (i + 1) % n;
        int in_i = keep_below ? lon[i] <= cut : lon[i] >= cut;
        int in_j = keep_below ? lon[j] <= cut : lon[j] >= cut;
        if (in_i) {
            olon[m] = lon[i];
            olat[m++] = lat[i];
        }
        if (in_i != in_j && lon[i] != cut && lon[j] != cut) {
            double t = (cut - lon[i]) / (lon[j] - lon[i]);
            olon[m] = cut;
            olat[m++] = lat[i] + t * (lat[j] - lat[i]);
        }
    }
    /* drop consecutive duplicates */
    int k = 0;
    for (int i = 0; i < m; i++)
        if (k == 0 || olon[i] != olon[k - 1] || olat[i] != olat[k - 1]) {
            olon[k] = olon[i];
            olat[k++] = olat[i];
        }
    if (k > 1 && olon[k - 1] == olon[0] && olat[k - 1] == olat[0]) k--;
    *on = k;
}

static double norm_lon(double lon) {
    while (lon > 180)
        lon -= 360;
    while (lon < -180)
        lon += 360;
    return lon;
}

/* A pixel on the frame's boundary, give or take 3 px. */
static void edge_target(rng *r, double W, double H, double *tu, double *tv) {
    double t = U(r, 0, 2 * (W + H));
    if (t < W) {
        *tu = t;
        *tv = 0;
    } else if (t < W + H) {
        *tu = W;
        *tv = t - W;
    } else if (t < 2 * W + H) {
        *tu = t - W - H;
        *tv = H;
    } else {
        *tu = 0;
        *tv = t - 2 * W - H;
    }
    *tu += U(r, -3, 3);
    *tv += U(r, -3, 3);
}

/* Common pose ranges. */
static void pose_ordinary(rng *r, fwd_cam *c) {
    c->lat = U(r, -70, 70);
    c->lon = U(r, -180, 180);
    c->height = logU(r, 5, 300);
    c->yaw = U(r, 0, 360);
    c->pitch = chance(r, 0.2) ? -90 + U(r, 0, 3) : U(r, -90, -15);
    c->roll = chance(r, 0.5) ? 0 : U(r, -10, 10);
}

/* Generates case idx. Returns 1, or 0 when a family could not place a site (retried by the
 * caller with the rng moved on). */
static int gen_try(rng *r, pcase *pc) {
    fwd_cam *c = &pc->cam;
    int fam = pc->family;
    memset(c, 0, sizeof *c);
    pick_camera(r, pc, fam);
    pose_ordinary(r, c);
    pc->max_range = chance(r, 0.7) ? 2000.0 : logU(r, 50, 2000);
    pc->cat = (int)(rng_next(r) % n_cats);
    double W = c->width, H = c->height_px;
    double tu = U(r, -0.1, 1.1) * W, tv = U(r, -0.1, 1.1) * H;
    double radius = logU(r, 0.5, 50), p_point = 0.2;
    double off = U(r, 0, 1.2) * radius;
    int meridian = 0;
    switch (fam) {
        case F_ORDINARY:
            break;
        case F_HORIZON:
            c->pitch = U(r, -10, -5);
            c->height = logU(r, 10, 300);
            tv = U(r, 0.3, 1.1) * H;
            radius = logU(r, 1, 50);
            if (chance(r, 0.5)) pc->max_range = logU(r, 200, 5000);
            break;
        case F_HIGH:
            c->height = U(r, 1000, 9000);
            c->pitch = chance(r, 0.3) ? -90 : U(r, -90, -30);
            if (chance(r, 0.5)) pc->max_range = U(r, 2000, 20000);
            radius = logU(r, 2, 50);
            break;
        case F_CORNER: {
            int k = (int)(rng_next(r) % 4);
            tu = ((k & 1) ? W : 0) + U(r, -3, 3);
            tv = ((k & 2) ? H : 0) + U(r, -3, 3);
            radius = logU(r, 0.1, 10);
            p_point = 0.4;
            off = U(r, 0, 1.5) * radius;
            break;
        }
        case F_RANGE: {
            c->pitch = U(r, -60, -8);
            c->height = logU(r, 15, 300);
            fwd_cam_prepare(c);
            /* walk an image edge from its near end (bottom) to its far end (top) */
            int edge = (int)(rng_next(r) % 3); /* left, right, or a column inside */
            double ue = edge == 0 ? 0 : edge == 1 ? W : U(r, 0, 1) * W;
            double s_near = ground_dist_px(c, ue, H);
            double s_far = ground_dist_px(c, ue, 0);
            if (!isfinite(s_near)) return 0;
            double top = isfinite(s_far) ? s_far : 20 * s_near + 3000;
            pc->max_range = U(r, s_near, fmin(top, 8000));
            /* bisection on v for s(v) = max_range */
            double lo = 0, hi = H; /* s(lo) >= R >= s(hi) */
            for (int it = 0; it < 60; it++) {
                double mid = 0.5 * (lo + hi);
                if (ground_dist_px(c, ue, mid) > pc->max_range)
                    lo = mid;
                else
                    hi = mid;
            }
            tu = ue;
            tv = hi;
            radius = logU(r, 0.2, 30);
            p_point = 0.3;
            off = U(r, 0, 1.2) * radius;
            break;
        }
        case F_ANTIMERIDIAN:
            c->lat = U(r, -70, 70);
            /* 1 m to 3 km from the line, either side: most footprints cross it */
            c->lon = norm_lon(180 + (chance(r, 0.5) ? 1 : -1) * logU(r, 1, 3000) /
                                        (111320.0 * cos(c->lat * DEG)));
            meridian = chance(r, 0.5);
            if (!meridian && chance(r, 0.4)) {
                edge_target(r, W, H, &tu, &tv);
                radius = logU(r, 0.1, 10);
            }
            break;
        case F_POLE: /* high latitudes: ring edges straight in lon/lat bow away from the
                        image edges, so aim at the edges */
            c->lat =
                (chance(r, 0.5) ? 1 : -1) * (chance(r, 0.5) ? U(r, 84.5, 85.5) : U(r, 80, 89.5));
            c->lon = U(r, -180, 180);
            if (chance(r, 0.6)) {
                edge_target(r, W, H, &tu, &tv);
                radius = logU(r, 0.1, 10);
            }
            meridian = chance(r, 0.1);
            break;
        case F_POLE_NEAR: /* within 10 km of a pole: footprints around the pole */
            c->lat = (chance(r, 0.5) ? 1 : -1) * (90 - logU(r, 20, 10000) / 111694.0);
            c->lon = U(r, -180, 180);
            if (chance(r, 0.3)) {
                edge_target(r, W, H, &tu, &tv);
                radius = logU(r, 0.1, 10);
            }
            meridian = chance(r, 0.2);
            break;
        case F_EQUATOR:
            c->lat = U(r, -0.01, 0.01);
            if (chance(r, 0.2)) c->lon = U(r, -0.02, 0.02);
            break;
        case F_LENS:
            if (chance(r, 0.5)) {
                int k = (int)(rng_next(r) % 8);
                if (k < 4) {
                    tu = ((k & 1) ? W : 0) + U(r, -5, 5);
                    tv = ((k & 2) ? H : 0) + U(r, -5, 5);
                } else if (k < 6) {
                    tu = (k == 4 ? 0 : W) + U(r, -5, 5);
                } else {
                    tv = (k == 6 ? 0 : H) + U(r, -5, 5);
                }
                radius = logU(r, 0.1, 10);
            }
            break;
        case F_GSD: {
            double g = cats[pc->cat].min_gsd_m;
            /* height so that the GSD threshold falls inside the image */
            c->pitch = chance(r, 0.3) ? -90 : U(r, -90, -20);
            double pix = 1.0 / c->fx;
            double slant = g / pix * U(r, 0.6, 1.3);
            c->height = fmin(9000, fmax(5, slant * sin(-c->pitch * DEG)));
            fwd_cam_prepare(c);
            pc->max_range = 50000;
            double uc = U(r, 0, 1) * W;
            double vals[41];
            int found = 0;
            for (int k = 0; k <= 40 && !found; k++) {
                vals[k] = gsd_px(c, uc, H * (1 - k / 40.0)) - g;
                if (k > 0 && isfinite(vals[k]) && isfinite(vals[k - 1]) &&
                    (vals[k] > 0) != (vals[k - 1] > 0)) {
                    double lo = H * (1 - (k - 1) / 40.0), hi = H * (1 - k / 40.0);
                    int lo_pos = vals[k - 1] > 0;
                    for (int it = 0; it < 50; it++) {
                        double mid = 0.5 * (lo + hi);
                        if ((gsd_px(c, uc, mid) - g > 0) == lo_pos)
                            lo = mid;
                        else
                            hi = mid;
                    }
                    tu = uc;
                    tv = 0.5 * (lo + hi);
                    found = 1;
                }
            }
            if (!found) return 0;
            radius = logU(r, 0.1, 20);
            off = U(r, 0, 3) * radius;
            break;
        }
    }
    fwd_cam_prepare(c);
    double E, N;
    if (!ground_for_pixel(c, tu, tv, &E, &N)) return 0;
    fwd_wgs84(G, c, E, N, &pc->tgt_lat, &pc->tgt_lon);
    if (meridian) {
        /* centre the site on the antimeridian at the target's latitude */
        double lat = pc->tgt_lat, lon = c->lon > 0 ? 180.0 : -180.0;
        fwd_local(G, c, lat, lon, &E, &N);
        if (!(hypot(E, N) < 30000)) return 0;
        off = U(r, 0, 0.5) * radius;
    }
    double a = U(r, 0, 2 * M_PI);
    E += off * sin(a);
    N += off * cos(a);
    pc->min_gsd = cats[pc->cat].min_gsd_m;
    return make_site(r, pc, E, N, radius, meridian ? 0.05 : p_point);
}

static int gen_case(uint64_t seed, uint64_t idx, int family_filter, pcase *pc) {
    rng r;
    rng_seed(&r, seed, idx);
    memset(pc, 0, sizeof *pc);
    pc->idx = idx;
    pc->family = family_filter >= 0 ? family_filter : (int)(idx % N_FAMILIES);
    for (int tries = 0; tries < 200; tries++)
        if (gen_try(&r, pc)) return 1;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Ground truth */

/* The constraints at one ground point, each >= 0 when satisfied (before the safety margins):
 * c[0..3] pixels inside the left, right, top and bottom frame edges (each smooth, so that a
 * corner between two samples is not missed), c[4] metres inside the range, c[5] relative GSD
 * below the category's threshold. */
#define N_CONS 6
typedef struct cons {
    int front;
    double c[N_CONS];
    double px, rng, gsd; /* min of c[0..3], c[4], c[5] */
} cons;

#define SAFE_PX 0.01
#define SAFE_RANGE 0.01
#define SAFE_GSD 1e-6
static const double safe[N_CONS] = {SAFE_PX, SAFE_PX, SAFE_PX, SAFE_PX, SAFE_RANGE, SAFE_GSD};

static cons eval_local(const pcase *pc, double E, double N, fwd_obs *o) {
    fwd_obs tmp;
    if (!o) o = &tmp;
    cons k;
    k.front = fwd_observe_local(&pc->cam, E, N, o);
    k.rng = pc->max_range - o->ground_m;
    if (k.front) {
        k.c[0] = o->u;
        k.c[1] = pc->cam.width - o->u;
        k.c[2] = o->v;
        k.c[3] = pc->cam.height_px - o->v;
    } else
        k.c[0] = k.c[1] = k.c[2] = k.c[3] = -1e9;
    k.px = fmin(fmin(k.c[0], k.c[1]), fmin(k.c[2], k.c[3]));
    k.gsd = k.front && isfinite(o->gsd_m) ? (pc->min_gsd - o->gsd_m) / pc->min_gsd : -1e9;
    k.c[4] = k.rng;
    k.c[5] = k.gsd;
    return k;
}

static int cons_pass(cons k) {
    if (!k.front) return 0;
    for (int i = 0; i < N_CONS; i++)
        if (!(k.c[i] >= safe[i])) return 0;
    return 1;
}

typedef struct truth {
    int disclosed;
    double w_lat, w_lon; /* the witness */
    fwd_obs w;
    long evals;
} truth;

/* 1 (and t's witness set) if the point is disclosed; *got (may be NULL) gets its margins. */
static int try_point_cons(const pcase *pc, double lat, double lon, truth *t, cons *got) {
    double E, N;
    fwd_local(G, &pc->cam, lat, lon, &E, &N);
    fwd_obs o;
    cons k = eval_local(pc, E, N, &o);
    if (got) *got = k;
    t->evals++;
    if (cons_pass(k)) {
        t->disclosed = 1;
        t->w_lat = lat;
        t->w_lon = lon;
        t->w = o;
        return 1;
    }
    return 0;
}

static int try_point(const pcase *pc, double lat, double lon, truth *t) {
    return try_point_cons(pc, lat, lon, t, NULL);
}

static int pip(const double *lon, const double *lat, int n, double x, double y) {
    int in = 0;
    for (int i = 0, j = n - 1; i < n; j = i++)
        if ((lat[i] > y) != (lat[j] > y) &&
            x < (lon[j] - lon[i]) * (y - lat[i]) / (lat[j] - lat[i]) + lon[i])
            in = !in;
    return in;
}

/* A segment of the boundary may hold a point that passes: every constraint could reach its
 * margin between the ends (value at the better end plus the change along it, plus slack; the
 * constraints are smooth along a metre of boundary). */
static const double slack[N_CONS] = {0.5, 0.5, 0.5, 0.5, 0.05, 1e-3};
static int plausible(cons a, cons b) {
    if (!a.front && !b.front) return 0;
    if (!a.front || !b.front) return 1;
    for (int i = 0; i < N_CONS; i++)
        if (fmax(a.c[i], b.c[i]) + fabs(a.c[i] - b.c[i]) + slack[i] < safe[i]) return 0;
    return 1;
}

/* Fine samples for a plausible segment: 5 cm, and no more than a quarter pixel, 5 mm of range
 * or 1e-5 of relative GSD apart (at the segment's mean rate). */
static int fine_count(cons a, cons b, double len) {
    double n = len / 0.05;
    if (a.front && b.front) {
        for (int i = 0; i < 4; i++)
            n = fmax(n, fabs(a.c[i] - b.c[i]) / 0.25);
        n = fmax(n, fabs(a.c[4] - b.c[4]) / 0.005);
        n = fmax(n, fabs(a.c[5] - b.c[5]) / 1e-5);
    } else
        n = fmax(n, len / 0.002);
    return (int)fmin(ceil(n), 20000);
}

static void compute_truth(const pcase *pc, truth *t) {
    memset(t, 0, sizeof *t);
    const site *s = &pc->s;
    if (s->point) {
        try_point(pc, s->lat[0][0], s->lon[0][0], t);
        return;
    }
    /* the target point, if the site holds it */
    for (int p = 0; p < s->n_parts; p++)
        if (pip(s->lon[p], s->lat[p], s->n[p], pc->tgt_lon, pc->tgt_lat) &&
            try_point(pc, pc->tgt_lat, pc->tgt_lon, t))
            return;
    /* the image centre's ground point, if the site holds it: a site round a small view has no
     * boundary sample and perhaps no grid point in it (a 70 m site round the 1.5 m view of a
     * camera 5 m up was found not disclosed; brute force overturned it) */
    double ce, cn;
    if (ground_for_pixel(&pc->cam, pc->cam.cx, pc->cam.cy, &ce, &cn)) {
        double clat, clon;
        geod_direct(G, pc->cam.lat, pc->cam.lon, atan2(ce, cn) / DEG, hypot(ce, cn), &clat, &clon,
                    NULL);
        for (int p = 0; p < s->n_parts; p++)
            if (pip(s->lon[p], s->lat[p], s->n[p], clon, clat) && try_point(pc, clat, clon, t))
                return;
    }
    for (int p = 0; p < s->n_parts; p++) {
        int n = s->n[p];
        const double *lon = s->lon[p], *lat = s->lat[p];
        /* boundary: 1 m samples, 5 cm where a segment may cross into the disclosed region */
        for (int i = 0; i < n; i++) {
            int j = (i + 1) % n;
            double ea, na, eb, nb;
            fwd_local(G, &pc->cam, lat[i], lon[i], &ea, &na);
            fwd_local(G, &pc->cam, lat[j], lon[j], &eb, &nb);
            double len = hypot(eb - ea, nb - na);
            int nc = (int)ceil(len / 1.0);
            if (nc < 1) nc = 1;
            cons prev;
            memset(&prev, 0, sizeof prev);
            for (int k = 0; k <= nc; k++) {
                double f = (double)k / nc;
                double la = lat[i] + f * (lat[j] - lat[i]), lo = lon[i] + f * (lon[j] - lon[i]);
                cons cur;
                if (try_point_cons(pc, la, lo, t, &cur)) return;
                if (k > 0 && plausible(prev, cur)) {
                    int nf = fine_count(prev, cur, len / nc);
                    for (int q = 1; q < nf; q++) {
                        double g2 = ((double)(k - 1) + (double)q / nf) / nc;
                        if (try_point(pc, lat[i] + g2 * (lat[j] - lat[i]),
                                      lon[i] + g2 * (lon[j] - lon[i]), t))
                            return;
                    }
                }
                prev = cur;
            }
        }
        /* interior grid (catches a disclosed region wholly inside the site) */
        double x0 = lon[0], x1 = lon[0], y0 = lat[0], y1 = lat[0];
        for (int i = 1; i < n; i++) {
            x0 = fmin(x0, lon[i]);
            x1 = fmax(x1, lon[i]);
            y0 = fmin(y0, lat[i]);
            y1 = fmax(y1, lat[i]);
        }
        int g = (int)ceil(2 * s->radius_m / 2.0);
        if (g < 3) g = 3;
        if (g > 24) g = 24;
        for (int a = 0; a < g; a++)
            for (int b = 0; b < g; b++) {
                double x = x0 + (a + 0.5) / g * (x1 - x0), y = y0 + (b + 0.5) / g * (y1 - y0);
                if (pip(lon, lat, n, x, y) && try_point(pc, y, x, t)) return;
            }
    }
}

/* Least ground distance (m) from the camera of pc to site s (vertices and 16 samples per
 * edge; edges of at most ~100 m, so within a few metres). */
static double site_ground_distance(const pcase *pc, const site *s) {
    double best = INFINITY;
    for (int p = 0; p < s->n_parts; p++)
        for (int i = 0; i < s->n[p]; i++) {
            int j = (i + 1) % s->n[p];
            for (int k = 0; k < (s->point ? 1 : 16); k++) {
                double f = k / 16.0, E, N;
                fwd_local(G, &pc->cam, s->lat[p][i] + f * (s->lat[p][j] - s->lat[p][i]),
                          s->lon[p][i] + f * (s->lon[p][j] - s->lon[p][i]), &E, &N);
                best = fmin(best, hypot(E, N));
            }
        }
    return best;
}

typedef struct id_k {
    int64_t id;
    size_t k;
} id_k;

static int cmp_idk(const void *a, const void *b) {
    int64_t x = ((const id_k *)a)->id, y = ((const id_k *)b)->id;
    return x < y ? -1 : x > y;
}

/* Brute force, for --verify-truth: every 2 cm of the boundary (at most 20,000 per edge) and a
 * 64 x 64 interior grid. */
static int brute_truth(const pcase *pc) {
    const site *s = &pc->s;
    truth t;
    memset(&t, 0, sizeof t);
    if (s->point) return try_point(pc, s->lat[0][0], s->lon[0][0], &t);
    for (int p = 0; p < s->n_parts; p++) {
        int n = s->n[p];
        const double *lon = s->lon[p], *lat = s->lat[p];
        for (int i = 0; i < n; i++) {
            int j = (i + 1) % n;
            double ea, na, eb, nb;
            fwd_local(G, &pc->cam, lat[i], lon[i], &ea, &na);
            fwd_local(G, &pc->cam, lat[j], lon[j], &eb, &nb);
            int m = (int)fmin(20000, ceil(hypot(eb - ea, nb - na) / 0.02));
            for (int k = 0; k < m; k++) {
                double f = (double)k / m;
                if (try_point(pc, lat[i] + f * (lat[j] - lat[i]), lon[i] + f * (lon[j] - lon[i]),
                              &t))
                    return 1;
            }
        }
        double x0 = lon[0], x1 = lon[0], y0 = lat[0], y1 = lat[0];
        for (int i = 1; i < n; i++) {
            x0 = fmin(x0, lon[i]);
            x1 = fmax(x1, lon[i]);
            y0 = fmin(y0, lat[i]);
            y1 = fmax(y1, lat[i]);
        }
        for (int a = 0; a < 64; a++)
            for (int b = 0; b < 64; b++) {
                double x = x0 + (a + 0.5) / 64 * (x1 - x0), y = y0 + (b + 0.5) / 64 * (y1 - y0);
                if (pip(lon, lat, n, x, y) && try_point(pc, y, x, &t)) return 1;
            }
    }
    return 0;
}

/* Distance (m) of a site that is not disclosed from the disclosed region: first order from the
 * violated constraints at the site's samples, else a ring search around the site. */
static double violation_m(const pcase *pc, double E, double N) {
    cons k = eval_local(pc, E, N, NULL);
    if (!k.front) return INFINITY;
    const double h = 0.01;
    cons ke = eval_local(pc, E + h, N, NULL), kn = eval_local(pc, E, N + h, NULL);
    if (!ke.front || !kn.front) return INFINITY;
    double d = 0;
    for (int i = 0; i < N_CONS; i++) {
        double v = k.c[i] - safe[i];
        if (v >= 0) continue;
        double gr = hypot(ke.c[i] - k.c[i], kn.c[i] - k.c[i]) / h;
        d = fmax(d, gr > 0 ? -v / gr : INFINITY);
    }
    return d;
}

/* For a false flag whose site is visible and in range but seen too coarse by the independent
 * model: the smallest relative GSD excess (gsd / min_gsd - 1) over the site's samples. NaN if
 * no sample is visible and in range (a geometric false flag). */
static double gsd_only_excess(const pcase *pc) {
    const site *s = &pc->s;
    double best = NAN;
    for (int p = 0; p < s->n_parts; p++)
        for (int i = 0; i < s->n[p]; i++) {
            int j = (i + 1) % s->n[p];
            for (int k = 0; k < (s->point ? 1 : 64); k++) {
                double f = k / 64.0, E, N;
                fwd_local(G, &pc->cam, s->lat[p][i] + f * (s->lat[p][j] - s->lat[p][i]),
                          s->lon[p][i] + f * (s->lon[p][j] - s->lon[p][i]), &E, &N);
                cons c = eval_local(pc, E, N, NULL);
                if (c.front && c.px >= SAFE_PX && c.rng >= SAFE_RANGE) {
                    /* in view and in range: only the GSD can fail */
                    double x = -c.gsd;
                    best = isnan(best) ? x : fmin(best, x);
                }
            }
        }
    return best;
}

static double false_flag_distance(const pcase *pc) {
    const site *s = &pc->s;
    double best = INFINITY, cE = 0, cN = 0;
    int cnt = 0;
    for (int p = 0; p < s->n_parts; p++)
        for (int i = 0; i < s->n[p]; i++) {
            int j = (i + 1) % s->n[p];
            for (int k = 0; k < (s->point ? 1 : 16); k++) {
                double f = k / 16.0;
                double E, N;
                fwd_local(G, &pc->cam, s->lat[p][i] + f * (s->lat[p][j] - s->lat[p][i]),
                          s->lon[p][i] + f * (s->lon[p][j] - s->lon[p][i]), &E, &N);
                best = fmin(best, violation_m(pc, E, N));
                cE += E;
                cN += N;
                cnt++;
            }
        }
    if (best < 50) return best;
    /* ring search around the site's centre */
    cE /= cnt;
    cN /= cnt;
    for (double rho = 0.05; rho < 2e5; rho *= 1.15)
        for (int a = 0; a < 720; a++) {
            double E = cE + (rho + s->radius_m) * sin(a * M_PI / 360),
                   N = cN + (rho + s->radius_m) * cos(a * M_PI / 360);
            if (cons_pass(eval_local(pc, E, N, NULL))) return fmin(best, rho);
        }
    return fmin(best, INFINITY);
}

/* ---------------------------------------------------------------------------------------- */
/* Output helpers */

static void fprint_site_geojson(FILE *f, const site *s) {
    if (s->point) {
        fprintf(f, "{\"type\":\"Point\",\"coordinates\":[%.17g,%.17g]}", s->lon[0][0],
                s->lat[0][0]);
        return;
    }
    if (s->n_parts == 2)
        fprintf(f, "{\"type\":\"MultiPolygon\",\"coordinates\":[");
    else
        fprintf(f, "{\"type\":\"Polygon\",\"coordinates\":");
    for (int p = 0; p < s->n_parts; p++) {
        fprintf(f, "%s[[", p ? "," : "");
        for (int i = 0; i <= s->n[p]; i++) {
            int k = i % s->n[p];
            fprintf(f, "%s[%.17g,%.17g]", i ? "," : "", s->lon[p][k], s->lat[p][k]);
        }
        fprintf(f, "]]");
    }
    fprintf(f, s->n_parts == 2 ? "]}" : "}");
}

static void fprint_site_wkt(FILE *f, const site *s) {
    if (s->point) {
        fprintf(f, "POINT(%.12f %.12f)", s->lon[0][0], s->lat[0][0]);
        return;
    }
    fprintf(f, s->n_parts == 2 ? "MULTIPOLYGON(" : "POLYGON");
    for (int p = 0; p < s->n_parts; p++) {
        fprintf(f, "%s((", p ? "," : "");
        for (int i = 0; i <= s->n[p]; i++) {
            int k = i % s->n[p];
            fprintf(f, "%s%.12f %.12f", i ? "," : "", s->lon[p][k], s->lat[p][k]);
        }
        fprintf(f, "))");
    }
    if (s->n_parts == 2) fprintf(f, ")");
}

static void print_case(FILE *f, uint64_t seed, const pcase *pc) {
    const fwd_cam *c = &pc->cam;
    fprintf(f,
            "  seed=%" PRIu64 " case=%" PRIu64
            " family=%s\n"
            "  pose: lat=%.12f lon=%.12f height=%.6f yaw=%.6f pitch=%.6f roll=%.6f\n"
            "  camera: focal_mm=%.6g sensor=%.6gx%.6g mm %gx%g px cx=%.6f cy=%.6f%s k1=%.6g "
            "k2=%.6g k3=%.6g p1=%.6g p2=%.6g\n"
            "  max_range_m=%.6f category=%s (min_gsd_m %g)\n  site: ",
            seed, pc->idx, family_name[pc->family], c->lat, c->lon, c->height, c->yaw, c->pitch,
            c->roll, c->focal_mm, c->sensor_w_mm, c->sensor_h_mm, c->width, c->height_px, c->cx,
            c->cy, pc->cx_given ? " (given)" : " (centre)", c->k1, c->k2, c->k3, c->p1, c->p2,
            pc->max_range, cats[pc->cat].name, pc->min_gsd);
    fprint_site_wkt(f, &pc->s);
    fprintf(f, "\n");
}

/* ---------------------------------------------------------------------------------------- */
/* The run */

/* Why keepout missed a disclosed site, from what it says about the case's footprint. */
enum {
    C_GSD_CUT, /* not in the footprint: the witness lies beyond keepout's range limit, which
                  the GSD limit made shorter than max_range */
    C_RANGE,   /* not in the footprint: the witness within 5 % of the range limit */
    C_OUTSIDE, /* not in the footprint otherwise (image edges, antimeridian, poles) */
    C_GSD_AT,  /* in the footprint, and keepout's GSD at the witness is above the threshold */
    C_NEAREST, /* in the footprint, keepout's GSD at the witness is fine enough, but the site
                  was judged at another point */
    N_CAUSES
};
static const char *cause_name[N_CAUSES] = {"gsd_limit_cut", "range_edge", "not_in_footprint",
                                           "gsd_model", "gsd_other_point"};

typedef struct stats {
    long cases, gen_fail, rejected, truth_pos, truth_neg, false_clear, false_flag, unknown;
    long verdict_unknown_pos;
    long truth_miss;
    long repaired; /* sites the import repaired (changed) */
    long cause[N_CAUSES];
    double gsd_model_min, gsd_model_max; /* keepout / truth - 1 at the witness */
    long far_flag;
    double far_max;
    double ff_max;
    long ff_gsd;
    double ff_gsd_max;
} stats;

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

static int dvec_push(dvec *d, double x) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 1024;
        double *nv = realloc(d->v, cap * sizeof *nv);
        if (!nv) return 0;
        d->v = nv;
        d->cap = cap;
    }
    d->v[d->n++] = x;
    return 1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct map_ctx {
    int64_t *ids;
    uint64_t i0;
    size_t n;
} map_ctx;

static int map_site(const ko_site_record *rec, void *user) {
    map_ctx *m = user;
    if (!rec->name || rec->name[0] != 'c') return 1;
    char *end;
    unsigned long long i = strtoull(rec->name + 1, &end, 10);
    if (*end || i < m->i0 || i - m->i0 >= m->n) return 1;
    m->ids[i - m->i0] = rec->id;
    return 1;
}

static int kofail(ko_context *ctx, const char *what, ko_status st) {
    fprintf(stderr, "property: %s: %s: %s\n", what, ko_status_str(st), ko_errmsg(ctx));
    return 2;
}

typedef struct run_opts {
    uint64_t seed;
    uint64_t cases, chunk, only_case;
    int only_case_set;
    int family;
    int native; /* --native: only the cases of --family in the unfiltered sequence */
    int show;
    int assert_zero;
    int verify_truth;
    const char *tmpdir;
} run_opts;

static int run_chunk(ko_context *ctx, const run_opts *ro, uint64_t i0, uint64_t i1, stats *st,
                     dvec *ffd, dvec *ffg, int *shown, int *shown_ff) {
    size_t n = (size_t)(i1 - i0);
    pcase *pcs = calloc(n, sizeof *pcs);
    unsigned char *ok = calloc(n, 1);
    int64_t *ids = calloc(n, sizeof *ids);
    if (!pcs || !ok || !ids) {
        free(pcs);
        free(ok);
        free(ids);
        fprintf(stderr, "property: out of memory\n");
        return 2;
    }
    int rc = 0;
    char gj[600], db[600];
    snprintf(gj, sizeof gj, "%s/sites.geojson", ro->tmpdir);
    snprintf(db, sizeof db, "%s/sites.sqlite", ro->tmpdir);
    FILE *f = fopen(gj, "w");
    if (!f) {
        fprintf(stderr, "property: cannot write %s: %s\n", gj, strerror(errno));
        rc = 2;
        goto out;
    }
    fprintf(f, "{\"type\":\"FeatureCollection\",\"features\":[\n");
    int first = 1;
    for (size_t k = 0; k < n; k++) {
        uint64_t idx = ro->only_case_set ? ro->only_case
                       : ro->native      ? (i0 + k) * N_FAMILIES + (uint64_t)ro->family
                                         : i0 + k;
        ok[k] = (unsigned char)gen_case(ro->seed, idx, ro->family, &pcs[k]);
        if (!ok[k]) continue;
        fprintf(f,
                "%s{\"type\":\"Feature\",\"properties\":{\"name\":\"c%" PRIu64
                "\",\"category\":\"%s\"},\"geometry\":",
                first ? "" : ",\n", i0 + k, cats[pcs[k].cat].name);
        fprint_site_geojson(f, &pcs[k].s);
        fprintf(f, "}");
        first = 0;
    }
    fprintf(f, "\n]}\n");
    if (fclose(f)) {
        fprintf(stderr, "property: cannot write %s\n", gj);
        rc = 2;
        goto out;
    }
    remove(db);
    ko_sites *s = NULL;
    ko_status kst;
    if ((kst = ko_sites_open(ctx, db, KO_SITES_CREATE, &s))) {
        rc = kofail(ctx, db, kst);
        goto out;
    }
    ko_import_options io;
    ko_import_options_init(&io);
    io.buffer_m = 0;
    io.source_label = "property";
    ko_import_report rep = {0};
    kst = ko_sites_import(s, gj, &io, &rep);
    ko_sites_close(s);
    s = NULL;
    if (kst) {
        rc = kofail(ctx, "import", kst);
        ko_import_report_clear(&rep);
        goto out;
    }
    if (rep.rejected || rep.repaired) {
        /* the test's sites are valid: a site changed or dropped on import no longer matches
         * the truth, so the run cannot be trusted */
        fprintf(stderr, "property: import rejected %zu and repaired %zu sites:\n%.2000s\n",
                rep.rejected, rep.repaired, rep.messages ? rep.messages : "");
        st[0].repaired += (long)rep.repaired;
    }
    ko_import_report_clear(&rep);
    if ((kst = ko_sites_open(ctx, db, KO_SITES_READONLY, &s))) {
        rc = kofail(ctx, db, kst);
        goto out;
    }
    double gsd_limit;
    map_ctx m = {ids, i0, n};
    if ((kst = ko_sites_gsd_limit(s, &gsd_limit)) || (kst = ko_sites_load_index(s)) ||
        (kst = ko_sites_foreach(s, NULL, 0, map_site, &m))) {
        rc = kofail(ctx, "store", kst);
        ko_sites_close(s);
        goto out;
    }
    id_k *byid = malloc((n ? n : 1) * sizeof *byid);
    size_t nbyid = 0;
    if (!byid) {
        fprintf(stderr, "property: out of memory\n");
        ko_sites_close(s);
        rc = 2;
        goto out;
    }
    for (size_t k = 0; k < n; k++)
        if (ids[k]) byid[nbyid++] = (id_k){ids[k], k};
    qsort(byid, nbyid, sizeof *byid, cmp_idk);
    for (size_t k = 0; k < n; k++) {
        stats *fs = &st[ok[k] ? pcs[k].family
                              : (ro->family >= 0 ? ro->family : (int)((i0 + k) % N_FAMILIES))];
        fs->cases++;
        if (!ok[k]) {
            fs->gen_fail++;
            continue;
        }
        const pcase *pc = &pcs[k];
        if (!ids[k]) {
            fs->rejected++;
            continue;
        }
        truth t;
        compute_truth(pc, &t);
        if (ro->verify_truth && !t.disclosed && brute_truth(pc)) {
            fs->truth_miss++;
            printf("TRUTH MISSED (brute force finds a disclosing point)\n");
            print_case(stdout, ro->seed, pc);
        }
        ko_shot shot;
        memset(&shot, 0, sizeof shot);
        shot.source = "property";
        shot.id = "case";
        ko_pose_init(&shot.pose);
        shot.pose.lat = pc->cam.lat;
        shot.pose.lon = pc->cam.lon;
        shot.pose.height_m = pc->cam.height;
        shot.pose.yaw_deg = pc->cam.yaw;
        shot.pose.pitch_deg = pc->cam.pitch;
        shot.pose.roll_deg = pc->cam.roll;
        ko_camera_init(&shot.camera);
        shot.camera.focal_mm = pc->cam.focal_mm;
        shot.camera.sensor_w_mm = pc->cam.sensor_w_mm;
        shot.camera.sensor_h_mm = pc->cam.sensor_h_mm;
        shot.camera.width_px = (uint32_t)pc->cam.width;
        shot.camera.height_px = (uint32_t)pc->cam.height_px;
        if (pc->cx_given) {
            shot.camera.cx_px = pc->cam.cx;
            shot.camera.cy_px = pc->cam.cy;
        }
        shot.camera.k1 = pc->cam.k1;
        shot.camera.k2 = pc->cam.k2;
        shot.camera.k3 = pc->cam.k3;
        shot.camera.p1 = pc->cam.p1;
        shot.camera.p2 = pc->cam.p2;
        ko_check_options co;
        ko_check_options_init(&co);
        ko_footprint_options fo;
        ko_footprint_options_init(&fo);
        fo.gsd_limit_m = gsd_limit;
        fo.max_range_m = pc->max_range;
        co.footprint = &fo;
        ko_result *res = NULL;
        if ((kst = ko_check_shot(ctx, s, &shot, &co, &res))) {
            /* a store failure: not clear, but the harness cannot go on */
            rc = kofail(ctx, "ko_check_shot", kst);
            break;
        }
        ko_verdict v = ko_result_verdict(res);
        const ko_finding *fd = NULL;
        for (size_t i = 0; i < ko_result_count(res); i++) {
            const ko_finding *x = ko_result_finding(res, i);
            if (x->site->site_id == ids[k]) fd = x;
        }
        int kdisc = v != KO_UNKNOWN && fd && fd->disclosed;
        /* Other cases' sites this shot discloses: any beyond the range limit (by more than the
         * sampling slack) is a false flag far away (the antimeridian kind). */
        for (size_t i = 0; v != KO_UNKNOWN && i < ko_result_count(res); i++) {
            const ko_finding *x = ko_result_finding(res, i);
            if (!x->disclosed || x->site->site_id == ids[k]) continue;
            id_k key = {x->site->site_id, 0};
            const id_k *hit = bsearch(&key, byid, nbyid, sizeof *byid, cmp_idk);
            if (!hit) continue;
            double dist = site_ground_distance(pc, &pcs[hit->k].s);
            if (dist > pc->max_range + 10) {
                fs->far_flag++;
                fs->far_max = fmax(fs->far_max, dist - pc->max_range);
                if (*shown_ff < ro->show) {
                    (*shown_ff)++;
                    printf("FAR FLAG: site of case %" PRIu64
                           " is %.1f m away (range limit %.1f m)\n",
                           pcs[hit->k].idx, dist, pc->max_range);
                    print_case(stdout, ro->seed, pc);
                }
            }
        }
        if (v == KO_UNKNOWN) {
            fs->unknown++;
            if (*shown_ff < ro->show) {
                (*shown_ff)++;
                printf("UNKNOWN: %s\n", ko_result_reason(res));
                print_case(stdout, ro->seed, pc);
            }
        }
        if (t.disclosed) {
            fs->truth_pos++;
            if (v == KO_UNKNOWN) fs->verdict_unknown_pos++;
            if (v != KO_UNKNOWN && !kdisc) {
                fs->false_clear++;
                {
                    const ko_footprint *fp = ko_result_footprint(res);
                    double lim = fp ? ko_footprint_range_limit_m(fp) : NAN;
                    double gw = fp ? ko_footprint_gsd_at(fp, t.w_lon, t.w_lat) : NAN;
                    int cause;
                    if (fd)
                        cause = gw > pc->min_gsd ? C_GSD_AT : C_NEAREST;
                    else if (lim < pc->max_range && t.w.ground_m > lim)
                        cause = C_GSD_CUT;
                    else if (t.w.ground_m > 0.95 * lim)
                        cause = C_RANGE;
                    else
                        cause = C_OUTSIDE;
                    if (cause == C_GSD_AT) {
                        double rel = gw / t.w.gsd_m - 1;
                        if (!fs->cause[C_GSD_AT] || rel < fs->gsd_model_min)
                            fs->gsd_model_min = rel;
                        if (!fs->cause[C_GSD_AT] || rel > fs->gsd_model_max)
                            fs->gsd_model_max = rel;
                    }
                    fs->cause[cause]++;
                }
                if (*shown < ro->show) {
                    (*shown)++;
                    printf("FALSE CLEAR #%d\n", *shown);
                    print_case(stdout, ro->seed, pc);
                    printf(
                        "  truth: visible at lon=%.12f lat=%.12f: u=%.3f v=%.3f ground %.3f m "
                        "(limit %.3f), GSD %.6g m (category %.6g)\n",
                        t.w_lon, t.w_lat, t.w.u, t.w.v, t.w.ground_m, pc->max_range, t.w.gsd_m,
                        pc->min_gsd);
                    printf("  keepout: verdict %s (%s); ", ko_verdict_str(v),
                           ko_result_reason(res));
                    if (fd)
                        printf("site in view at gsd %.6g m, not disclosed (%s); ", fd->gsd_m,
                               fd->rule);
                    else
                        printf("site not in the footprint; ");
                    const ko_footprint *fp = ko_result_footprint(res);
                    if (fp)
                        printf("range limit %.3f m, GSD at witness %.6g m\n",
                               ko_footprint_range_limit_m(fp),
                               ko_footprint_gsd_at(fp, t.w_lon, t.w_lat));
                    else
                        printf("\n");
                }
            }
        } else {
            fs->truth_neg++;
            if (kdisc) {
                fs->false_flag++;
                double ex = gsd_only_excess(pc);
                double d = isnan(ex) ? false_flag_distance(pc) : 0.0;
                if (!isnan(ex)) {
                    fs->ff_gsd++;
                    fs->ff_gsd_max = fmax(fs->ff_gsd_max, ex);
                    if (!dvec_push(ffg, ex)) {
                        rc = 2;
                        ko_result_destroy(res);
                        break;
                    }
                } else
                    fs->ff_max = fmax(fs->ff_max, d);
                if (isnan(ex) && !dvec_push(ffd, d)) {
                    rc = 2;
                    ko_result_destroy(res);
                    break;
                }
                if (ro->only_case_set || ((d > 1.0 || ex > 0.1) && *shown_ff < ro->show)) {
                    (*shown_ff)++;
                    if (isnan(ex))
                        printf("FALSE FLAG %.3f m from the disclosed region\n", d);
                    else
                        printf(
                            "FALSE FLAG (GSD): in view, seen %.3g %% coarser than min_gsd_m; "
                            "keepout's GSD %.6g\n",
                            100 * ex, fd->gsd_m);
                    print_case(stdout, ro->seed, pc);
                }
            }
        }
        if (ro->only_case_set) {
            printf("case %" PRIu64 ": truth %s (%ld evaluations), keepout %s, finding %s\n",
                   pc->idx, t.disclosed ? "disclosed" : "not disclosed", t.evals, ko_verdict_str(v),
                   fd ? (fd->disclosed ? "disclosed" : "not disclosed") : "none");
            print_case(stdout, ro->seed, pc);
        }
        ko_result_destroy(res);
    }
    ko_sites_close(s);
    free(byid);
out:
    remove(gj);
    remove(db);
    free(pcs);
    free(ok);
    free(ids);
    return rc;
}

static void usage(void) {
    fprintf(stderr,
            "usage: property [--cases N] [--seed S] [--chunk C] [--family NAME] "
            "[--case I] [--show K] [--no-assert] [--verify-truth] [--native]\n");
}

int main(int argc, char **argv) {
    run_opts ro = {
        .seed = 1, .cases = 10000, .chunk = 20000, .family = -1, .show = 20, .assert_zero = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-assert")) {
            ro.assert_zero = 0;
            continue;
        }
        if (!strcmp(a, "--native")) {
            ro.native = 1;
            continue;
        }
        if (!strcmp(a, "--verify-truth")) {
            ro.verify_truth = 1;
            continue;
        }
        if (!val) {
            usage();
            return 2;
        }
        i++;
        if (!strcmp(a, "--cases"))
            ro.cases = strtoull(val, NULL, 10);
        else if (!strcmp(a, "--seed"))
            ro.seed = strtoull(val, NULL, 10);
        else if (!strcmp(a, "--chunk"))
            ro.chunk = strtoull(val, NULL, 10);
        else if (!strcmp(a, "--show"))
            ro.show = atoi(val);
        else if (!strcmp(a, "--case")) {
            ro.only_case = strtoull(val, NULL, 10);
            ro.only_case_set = 1;
        } else if (!strcmp(a, "--family")) {
            ro.family = -2;
            for (int k = 0; k < N_FAMILIES; k++)
                if (!strcmp(val, family_name[k])) ro.family = k;
            if (ro.family == -2) {
                fprintf(stderr, "property: no family %s\n", val);
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (ro.only_case_set) ro.cases = 1;
    if (ro.native && ro.family < 0) {
        fprintf(stderr, "property: --native needs --family\n");
        return 2;
    }
    if (ro.chunk == 0) ro.chunk = 20000;
    struct geod_geodesic geod;
    geod_init(&geod, 6378137.0, 1 / 298.257223563);
    G = &geod;
    for (size_t i = 0; i < ko_category_default_count() && i < 16; i++) {
        double b;
        ko_category_default(i, &cats[i].name, &b, &cats[i].min_gsd_m, NULL);
        n_cats = i + 1;
    }
    if (ko_global_init()) return 2;
    ko_context *ctx = NULL;
    if (ko_context_create(&ctx)) return 2;
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/keepout-property-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "property: cannot make a temporary directory: %s\n", strerror(errno));
        ko_context_destroy(ctx);
        return 2;
    }
    ro.tmpdir = tmpl;
    stats st[N_FAMILIES];
    memset(st, 0, sizeof st);
    dvec ffd = {0}, ffg = {0};
    int shown = 0, shown_ff = 0, rc = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i0 = 0; i0 < ro.cases && !rc; i0 += ro.chunk) {
        uint64_t i1 = i0 + ro.chunk < ro.cases ? i0 + ro.chunk : ro.cases;
        rc = run_chunk(ctx, &ro, i0, i1, st, &ffd, &ffg, &shown, &shown_ff);
        if (ro.cases > ro.chunk) { /* progress of long runs, one line a chunk */
            long fc = 0, ff = 0, pos = 0;
            for (int k = 0; k < N_FAMILIES; k++) {
                fc += st[k].false_clear;
                ff += st[k].false_flag;
                pos += st[k].truth_pos;
            }
            struct timespec tn;
            clock_gettime(CLOCK_MONOTONIC, &tn);
            printf("progress: %" PRIu64
                   " cases, %ld disclosed, %ld false clears, %ld false flags, "
                   "%.0f s\n",
                   i1, pos, fc, ff, (double)(tn.tv_sec - t0.tv_sec));
            fflush(stdout);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rmdir(tmpl);
    ko_context_destroy(ctx);
    stats tot;
    memset(&tot, 0, sizeof tot);
    printf("%-14s %8s %7s %8s %8s %7s %8s %8s %7s %7s %10s %9s %7s %10s\n", "family", "cases",
           "genfail", "truth+", "truth-", "FALSECL", "ff_geom", "ff_gsd", "unknown", "rejectd",
           "ffgeom_max", "ffgsd_max", "farflag", "far_max");
    for (int k = 0; k < N_FAMILIES; k++) {
        stats *s = &st[k];
        if (!s->cases) continue;
        printf("%-14s %8ld %7ld %8ld %8ld %7ld %8ld %8ld %7ld %7ld %9.3gm %8.3g%% %7ld %9.3gm\n",
               family_name[k], s->cases, s->gen_fail, s->truth_pos, s->truth_neg, s->false_clear,
               s->false_flag - s->ff_gsd, s->ff_gsd, s->unknown, s->rejected, s->ff_max,
               100 * s->ff_gsd_max, s->far_flag, s->far_max);
        tot.cases += s->cases;
        tot.gen_fail += s->gen_fail;
        tot.truth_pos += s->truth_pos;
        tot.truth_neg += s->truth_neg;
        tot.false_clear += s->false_clear;
        tot.false_flag += s->false_flag;
        tot.ff_gsd += s->ff_gsd;
        tot.unknown += s->unknown;
        tot.rejected += s->rejected;
        tot.truth_miss += s->truth_miss;
        tot.repaired += s->repaired;
        tot.far_flag += s->far_flag;
        tot.far_max = fmax(tot.far_max, s->far_max);
        tot.ff_max = fmax(tot.ff_max, s->ff_max);
        tot.ff_gsd_max = fmax(tot.ff_gsd_max, s->ff_gsd_max);
    }
    if (tot.false_clear) {
        printf(
            "false clears by cause (%s: beyond keepout's GSD-limited range; %s: within 5 %% "
            "of the range limit; %s: elsewhere outside the footprint; %s: keepout's GSD at "
            "the witness too coarse; %s: GSD judged at another point of the site)\n%-14s",
            cause_name[0], cause_name[1], cause_name[2], cause_name[3], cause_name[4], "family");
        for (int c = 0; c < N_CAUSES; c++)
            printf(" %16s", cause_name[c]);
        printf("  (gsd_model: keepout/independent GSD - 1 at the witness, min..max)\n");
        for (int k = 0; k < N_FAMILIES; k++) {
            if (!st[k].false_clear) continue;
            printf("%-14s", family_name[k]);
            for (int c = 0; c < N_CAUSES; c++)
                printf(" %16ld", st[k].cause[c]);
            if (st[k].cause[C_GSD_AT])
                printf("  (%.2g .. %.2g)", st[k].gsd_model_min, st[k].gsd_model_max);
            printf("\n");
        }
    }
    double p50 = NAN, p99 = NAN, g50 = NAN, g99 = NAN;
    if (ffd.n) {
        qsort(ffd.v, ffd.n, sizeof *ffd.v, cmp_double);
        p50 = ffd.v[(size_t)(0.5 * (double)(ffd.n - 1))];
        p99 = ffd.v[(size_t)(0.99 * (double)(ffd.n - 1))];
    }
    if (ffg.n) {
        qsort(ffg.v, ffg.n, sizeof *ffg.v, cmp_double);
        g50 = ffg.v[(size_t)(0.5 * (double)(ffg.n - 1))];
        g99 = ffg.v[(size_t)(0.99 * (double)(ffg.n - 1))];
    }
    free(ffd.v);
    free(ffg.v);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("property: seed %" PRIu64
           ", %ld cases (%ld disclosed by the independent model, %ld "
           "not; %ld not generated, %ld rejected by import): %ld FALSE CLEARS; false flags %ld "
           "(%.3g %% of the not disclosed): %ld outside the visible in-range ground, distance "
           "max %.3g m, p50 %.3g m, p99 %.3g m; %ld in view but too coarse, GSD excess max "
           "%.3g %%, p50 %.3g %%, p99 %.3g %%; other cases' sites disclosed beyond the range limit "
           "%ld "
           "(up to %.3g m beyond); unknown %ld; %.1f s\n",
           ro.seed, tot.cases, tot.truth_pos, tot.truth_neg, tot.gen_fail, tot.rejected,
           tot.false_clear, tot.false_flag,
           tot.truth_neg ? 100.0 * (double)tot.false_flag / (double)tot.truth_neg : 0.0,
           tot.false_flag - tot.ff_gsd, tot.ff_max, p50, p99, tot.ff_gsd, 100 * tot.ff_gsd_max,
           100 * g50, 100 * g99, tot.far_flag, tot.far_max, tot.unknown, secs);
    if (ro.verify_truth)
        printf("truth check: %ld not-disclosed verdicts overturned by brute force\n",
               tot.truth_miss);
    if (rc) return rc;
    if (tot.rejected || tot.repaired || tot.gen_fail > tot.cases / 100) {
        fprintf(stderr,
                "property: the harness lost cases (rejected %ld and repaired %ld by the import, "
                "not generated %ld)\n",
                tot.rejected, tot.repaired, tot.gen_fail);
        return 2;
    }
    /* a site disclosed kilometres beyond the range limit is a wrong answer too */
    return ro.assert_zero && (tot.false_clear || tot.far_max > 1000 || tot.ff_max > 1000) ? 1 : 0;
}
