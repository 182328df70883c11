/* Flat-ground footprint: the distorted image boundary, sampled densely, cast onto the ground
 * plane in a local azimuthal-equidistant frame under the camera, then taken to WGS84 by PROJ. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/camera.h"
#include "core/core.h"
#include "footprint/footprint.h"
#include "geo/geo.h"

struct ko_footprint {
    size_t n;       /* points in the closed local ring */
    double *local;  /* n (east, north), metres */
    size_t n_ll;    /* points in the closed lon/lat ring (it splits edges near the poles) */
    double *lonlat; /* n_ll (lon, lat) */
    double area_m2;
    double range_limit_m;
    int range_limited;
    double lat0, lon0, height_m;
    double pixel_rad;
    double tol;            /* the ring's simplification tolerance, metres */
    double fmin;           /* the finest angular pixel anywhere in the image, radians */
    double axis[3];        /* optical axis in NED */
    koi_rot rot;           /* body to NED */
    struct koi_pixmap *pm; /* the camera's finest angular pixel per image cell, shared */
    /* With a DEM (NaN and "flat" without): camera altitude and the terrain the GSD is taken
     * against, on the DEM's vertical datum. */
    const char *height_source;
    double cam_alt, ground_alt, gsd_terrain;
    double gsd_cam_alt;    /* the lower camera altitude of the footprint's (finer GSD) */
    double reach;          /* the farthest the local ring lies from the camera, metres */
    int voids;             /* boundary rays that met ground of unknown height */
    double void_e, void_n; /* where the first of them did, local metres */
    double cam_alt2;       /* the relative height's altitude, cast and joined; NaN if none */
    char note[320];        /* ko_footprint_altitude_note() */
};

void ko_footprint_options_init(ko_footprint_options *o) {
    o->size = sizeof *o;
    o->max_range_m = 2000.0;
    o->gsd_limit_m = 2.0;
    o->edge_samples = 128;
    o->dem = NULL;
    o->tolerance_m = NAN;
}

static void pixmap_release(struct koi_pixmap *pm);

void ko_footprint_destroy(ko_footprint *fp) {
    if (!fp) return;
    pixmap_release(fp->pm);
    free(fp->lonlat);
    free(fp->local);
    free(fp);
}

const double *ko_footprint_ring(const ko_footprint *fp, size_t *n) {
    *n = fp->n_ll;
    return fp->lonlat;
}

const double *ko_footprint_ring_local(const ko_footprint *fp, size_t *n) {
    *n = fp->n;
    return fp->local;
}

double ko_footprint_area_m2(const ko_footprint *fp) {
    return fp->area_m2;
}

double ko_footprint_range_limit_m(const ko_footprint *fp) {
    return fp->range_limit_m;
}

int ko_footprint_is_range_limited(const ko_footprint *fp) {
    return fp->range_limited;
}

/* The ray's ground point, or the point at the range limit along its azimuth when it misses the
 * ground or lands too far. Returns 1 if the point was cut. */
static int ground_point(const double d[3], double height, double range, double yaw_deg,
                        double *east, double *north) {
    if (d[2] > 1e-12) {
        double t = height / d[2];
        double n = t * d[0], e = t * d[1];
        if (n * n + e * e <= range * range) {
            *north = n;
            *east = e;
            return 0;
        }
    }
    double an, ae, horiz = sqrt(d[0] * d[0] + d[1] * d[1]);
    if (horiz > 1e-12) {
        an = d[0] / horiz;
        ae = d[1] / horiz;
    } else { /* straight up: no azimuth of its own, use the heading */
        an = cos(yaw_deg * 3.14159265358979323846 / 180.0);
        ae = sin(yaw_deg * 3.14159265358979323846 / 180.0);
    }
    *north = an * range;
    *east = ae * range;
    return 1;
}

/* Image boundary point k of 4*m, clockwise from the top-left corner, in pixel coordinates. */
static void boundary_pixel(const koi_intrinsics *k, uint32_t m, size_t i, double *u, double *v) {
    size_t edge = i / m;
    double t = (double)(i % m) / m;
    switch (edge) {
        case 0:
            *u = t * k->width, *v = 0;
            break;
        case 1:
            *u = k->width, *v = t * k->height;
            break;
        case 2:
            *u = (1 - t) * k->width, *v = k->height;
            break;
        default:
            *u = 0, *v = (1 - t) * k->height;
            break;
    }
}

/* The range limit: max_range_m, or nearer where even the finest pixel anywhere in the image
 * (finest, radians) covers more than gsd_limit_m. */
double koi_max_range(const ko_footprint_options *o) {
    return o->max_range_m > 0 ? o->max_range_m : 2000.0;
}

static double range_limit(const ko_footprint_options *o, double finest) {
    double range = koi_max_range(o);
    if (isfinite(o->gsd_limit_m) && o->gsd_limit_m > 0 && isfinite(finest) && finest > 0)
        range = fmin(range, o->gsd_limit_m / finest);
    return range;
}

/* The finest angular pixel over the image, cell by cell: KOI_PIXMAP_N x KOI_PIXMAP_N cells of
 * the pixel grid, each with its box in undistorted normalized coordinates and a lower bound of
 * koi_pixel_angle() over it (the least of its corners and centre, less a quarter of their
 * spread: the angle varies smoothly and monotonically across a cell of a working lens). Shared
 * (reference counted) by the camera's boundary cache and the footprints made from it. */
#define KOI_PIXMAP_N 24
struct koi_pixmap {
    int refs;
    double fmin;                                /* the least cell bound */
    double lo[KOI_PIXMAP_N * KOI_PIXMAP_N];     /* per cell */
    double box[KOI_PIXMAP_N * KOI_PIXMAP_N][4]; /* per cell: x0, y0, x1, y1 */
};

static void pixmap_release(struct koi_pixmap *pm) {
    if (pm && --pm->refs == 0) free(pm);
}

static struct koi_pixmap *pixmap_build(const ko_camera *cam, const koi_intrinsics *k) {
    enum { N = KOI_PIXMAP_N, M = KOI_PIXMAP_N + 1 };
    if (!isfinite(k->pixel_rad)) return NULL;
    struct koi_pixmap *pm = koi_calloc(1, sizeof *pm);
    double(*node)[3] = koi_calloc((size_t)M * M, sizeof *node); /* x, y, f */
    if (!pm || !node) goto fail;
    for (int j = 0; j < M; j++)
        for (int i = 0; i < M; i++) {
            double *q = node[j * M + i];
            double u = k->width * i / N, v = k->height * j / N;
            if (!koi_undistort(cam, (u - k->cx) / k->fx, (v - k->cy) / k->fy, &q[0], &q[1]))
                goto fail;
            q[2] = koi_pixel_angle(cam, k, q[0], q[1]);
            if (!isfinite(q[2])) goto fail;
        }
    pm->refs = 1;
    pm->fmin = INFINITY;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++) {
            const double *c[4] = {node[j * M + i], node[j * M + i + 1], node[(j + 1) * M + i],
                                  node[(j + 1) * M + i + 1]};
            double x, y, lo = INFINITY, hi = -INFINITY, *b = pm->box[j * N + i];
            double u = k->width * (i + 0.5) / N, v = k->height * (j + 0.5) / N;
            if (!koi_undistort(cam, (u - k->cx) / k->fx, (v - k->cy) / k->fy, &x, &y)) goto fail;
            double fc = koi_pixel_angle(cam, k, x, y);
            if (!isfinite(fc)) goto fail;
            lo = hi = fc;
            b[0] = b[2] = x, b[1] = b[3] = y;
            for (int t = 0; t < 4; t++) {
                lo = fmin(lo, c[t][2]), hi = fmax(hi, c[t][2]);
                b[0] = fmin(b[0], c[t][0]), b[2] = fmax(b[2], c[t][0]);
                b[1] = fmin(b[1], c[t][1]), b[3] = fmax(b[3], c[t][1]);
            }
            /* the cell's edges bow between its corners: widen its box by a tenth */
            double wx = 0.1 * (b[2] - b[0]), wy = 0.1 * (b[3] - b[1]);
            b[0] -= wx, b[2] += wx, b[1] -= wy, b[3] += wy;
            pm->lo[j * N + i] = fmax(lo - 0.25 * (hi - lo), 0.0);
            pm->fmin = fmin(pm->fmin, pm->lo[j * N + i]);
        }
    free(node);
    return pm;
fail:
    free(node);
    free(pm);
    return NULL;
}

/* The least cell bound over the cells whose box meets (x0, y0)-(x1, y1); fmin if none. */
static double pixmap_lookup(const struct koi_pixmap *pm, double x0, double y0, double x1,
                            double y1) {
    double f = INFINITY;
    for (int c = 0; c < KOI_PIXMAP_N * KOI_PIXMAP_N; c++) {
        const double *b = pm->box[c];
        if (b[0] <= x1 && b[2] >= x0 && b[1] <= y1 && b[3] >= y0 && pm->lo[c] < f) f = pm->lo[c];
    }
    return isfinite(f) ? f : pm->fmin;
}

/* The image boundary in undistorted normalized coordinates depends on the camera alone, and an
 * archive or a video repeats one camera thousands of times: the context keeps the last one
 * (inverting the Brown model is most of a distorted footprint's cost). */
struct koi_boundary {
    ko_camera cam;
    uint32_t m;
    double *xy;            /* 4m (x, y) */
    long fail;             /* index of the first sample that cannot be inverted, or -1 */
    struct koi_pixmap *pm; /* NULL if the pixel size is unknown (or the map failed) */
    double fail_u, fail_v;
};

void koi_boundary_free(struct koi_boundary *b) {
    if (!b) return;
    pixmap_release(b->pm);
    free(b->xy);
    free(b);
}

static int same_camera(const ko_camera *a, const ko_camera *b) {
    const double da[] = {a->focal_mm, a->sensor_w_mm, a->sensor_h_mm, a->cx_px, a->cy_px,
                         a->k1,       a->k2,          a->k3,          a->p1,    a->p2};
    const double db[] = {b->focal_mm, b->sensor_w_mm, b->sensor_h_mm, b->cx_px, b->cy_px,
                         b->k1,       b->k2,          b->k3,          b->p1,    b->p2};
    return a->width_px == b->width_px && a->height_px == b->height_px &&
           memcmp(da, db, sizeof da) == 0;
}

/* A distorted image edge bows between its samples (pincushion outward, by 0.01 px at 64
 * samples an edge and k1 = 0.3): each chord of the boundary in normalized coordinates moves out
 * by 1.25 times its sagitta at the midpoint pixel (the bow of a smooth curve peaks there), so
 * that the chords hold the image; the flat ground is a projective image of that plane, which
 * keeps lines straight and so the hold. Returns 0 out of memory; a midpoint the lens model
 * cannot invert is b's failure. */
static int bow_out(const ko_camera *cam, const koi_intrinsics *k, uint32_t m,
                   struct koi_boundary *b) {
    size_t total = (size_t)4 * m;
    double *ring = koi_calloc(total + 1, 2 * sizeof *ring), *d = koi_calloc(total + 1, sizeof *d);
    double *out = koi_calloc(2 * total + 1, 2 * sizeof *out);
    int ok = ring && d && out, any = 0;
    for (size_t i = 0; ok && b->fail < 0 && i < total; i++) {
        size_t j = (i + 1) % total;
        double u0, v0, u1, v1, x, y;
        boundary_pixel(k, m, i, &u0, &v0);
        boundary_pixel(k, m, j, &u1, &v1);
        double u = 0.5 * (u0 + u1), v = 0.5 * (v0 + v1);
        if (!koi_undistort(cam, (u - k->cx) / k->fx, (v - k->cy) / k->fy, &x, &y)) {
            b->fail = (long)i, b->fail_u = u, b->fail_v = v;
            break;
        }
        const double *a = &b->xy[2 * i], *c = &b->xy[2 * j];
        double dx = c[0] - a[0], dy = c[1] - a[1], len = hypot(dx, dy);
        double sag = len > 0 ? ((x - a[0]) * dy - (y - a[1]) * dx) / len : 0.0;
        d[i] = sag > 1e-12 ? 1.25 * sag : 0.0;
        any |= d[i] > 0;
    }
    if (ok && b->fail < 0 && any) {
        memcpy(ring, b->xy, total * 2 * sizeof *ring);
        ring[2 * total] = ring[0], ring[2 * total + 1] = ring[1];
        /* clockwise on the image (v down) is counterclockwise to the formula */
        /* (the image's corners turn by about 90 degrees: mitred, never bevelled; a bevel or a
         * fold leaves the chords as they are, within 0.01 px) */
        size_t kept = koi_ring_push(ring, total + 1, d, out);
        if (kept == total + 1) memcpy(b->xy, out, total * 2 * sizeof *out);
        ok = kept != SIZE_MAX;
    }
    free(ring);
    free(d);
    free(out);
    return ok;
}

static const struct koi_boundary *boundary(ko_context *ctx, const ko_camera *cam,
                                           const koi_intrinsics *k, uint32_t m) {
    struct koi_boundary *b = ctx->boundary;
    if (b && b->m == m && same_camera(&b->cam, cam)) return b;
    koi_boundary_free(b);
    ctx->boundary = b = koi_calloc(1, sizeof *b);
    if (!b || !(b->xy = koi_calloc((size_t)4 * m, 2 * sizeof(double)))) {
        koi_boundary_free(b);
        ctx->boundary = NULL;
        return NULL;
    }
    b->cam = *cam;
    b->m = m;
    b->fail = -1;
    for (size_t i = 0; i < (size_t)4 * m; i++) {
        double u, v;
        boundary_pixel(k, m, i, &u, &v);
        if (!koi_undistort(cam, (u - k->cx) / k->fx, (v - k->cy) / k->fy, &b->xy[2 * i],
                           &b->xy[2 * i + 1])) {
            b->fail = (long)i, b->fail_u = u, b->fail_v = v;
            break;
        }
    }
    if (b->fail < 0 && !bow_out(cam, k, m, b)) {
        koi_boundary_free(b);
        ctx->boundary = NULL;
        return NULL;
    }
    if (b->fail < 0) b->pm = pixmap_build(cam, k);
    return b;
}

/* Says which altitude the footprint stands on, with the numbers: records carry it so that a
 * reader can see the assumption (above all the take-off one, which is only as good as the
 * take-off point). */
static void altitude_note(ko_footprint *fp, const ko_pose *p, const koi_terrain *t) {
    double agl = t->cam_alt - t->ground;
    const char *src = t->source;
    if (!strcmp(src, "dem(takeoff)+height"))
        snprintf(fp->note, sizeof fp->note,
                 "camera altitude: DEM ground at take-off (%.6f %c, %.6f %c) %.1f m + relative "
                 "%.1f m = %.1f m, %.1f m above the DEM ground under the camera",
                 fabs(p->takeoff_lat), p->takeoff_lat < 0 ? 'S' : 'N', fabs(p->takeoff_lon),
                 p->takeoff_lon < 0 ? 'W' : 'E', t->takeoff_ground, p->height_m, t->cam_alt, agl);
    else if (!strcmp(src, "dem+height"))
        snprintf(fp->note, sizeof fp->note,
                 "camera altitude: DEM ground under the camera %.1f m + height %.1f m (take-off "
                 "point unknown: height taken as above the ground under the camera)",
                 t->ground, p->height_m);
    else if (isfinite(t->alt_rel))
        snprintf(
            fp->note, sizeof fp->note,
            "camera altitude: %.1f m from %s (%.1f m above the DEM ground; height %.1f m); "
            "%s gives %.1f m: %s",
            t->cam_alt, src, agl, p->height_m, t->rel_source, t->alt_rel,
            t->alt_rel > t->ground ? "the footprint joins both" : "below the terrain, not used");
    else
        snprintf(fp->note, sizeof fp->note,
                 "camera altitude: %.1f m from %s (%.1f m above the DEM ground; height %.1f m)",
                 t->cam_alt, src, agl, p->height_m);
}

/* Counts a view of ground of unknown height at local (e, n), keeping where the first was: the
 * footprint then fails, naming it. */
static void note_void(ko_footprint *fp, double e, double n) {
    if (!fp->voids++) fp->void_e = e, fp->void_n = n;
}

/* Casts one ray (NED direction d) onto the flat ground or the terrain (t): its ground point,
 * or the point at the range limit along its azimuth. *cut := 1 for the latter. Returns the
 * DEM's read error, else KO_OK. */
static ko_status cast_one(ko_context *ctx, const double d[3], const ko_pose *p, koi_terrain *t,
                          ko_footprint *fp, double *e, double *n, int *cut) {
    if (!t) {
        *cut = ground_point(d, p->height_m, fp->range_limit_m, p->yaw_deg, e, n);
        fp->range_limited |= *cut;
        return KO_OK;
    }
    double z;
    int c = koi_terrain_cast(ctx, t, d, p->yaw_deg, e, n, &z);
    if (c < 0) return (ko_status)t->dem->io_error;
    if (c == 2) note_void(fp, *e, *n);
    fp->range_limited |= c;
    if (!c && !t->bounded) fp->gsd_terrain = fmax(fp->gsd_terrain, z);
    *cut = c;
    return KO_OK;
}

static void body_to_ned(const koi_rot *r, double x, double y, double d[3]) {
    const double body[3] = {1.0, x, y};
    for (int j = 0; j < 3; j++)
        d[j] = r->m[j][0] * body[0] + r->m[j][1] * body[1] + r->m[j][2] * body[2];
}

/* Casts the 4m boundary rays onto the flat ground or the terrain (t), writing them to
 * local[0 .. 2 * total) and whether each was cut at the range limit to cut[0 .. total). */
static ko_status cast_rays(ko_context *ctx, const struct koi_boundary *b, const koi_rot *r,
                           const ko_pose *p, koi_terrain *t, size_t total, double *local,
                           unsigned char *cut, ko_footprint *fp) {
    for (size_t i = 0; i < total; i++) {
        double d[3];
        int c;
        body_to_ned(r, b->xy[2 * i], b->xy[2 * i + 1], d);
        ko_status st = cast_one(ctx, d, p, t, fp, &local[2 * i], &local[2 * i + 1], &c);
        if (st) return st;
        cut[i] = (unsigned char)c;
    }
    return KO_OK;
}

/* A growing ring of (east, north) points. */
typedef struct dense {
    double *xy;
    size_t n, cap;
} dense;

static int dense_add(dense *d, double x, double y) {
    if (d->n && d->xy[2 * d->n - 2] == x && d->xy[2 * d->n - 1] == y) return 1;
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 512;
        double *a = koi_realloc_array(d->xy, cap, 2 * sizeof *a);
        if (!a) return 0;
        d->xy = a, d->cap = cap;
    }
    d->xy[2 * d->n] = x, d->xy[2 * d->n + 1] = y;
    d->n++;
    return 1;
}

/* The range arc from point a to point b (both at distance R from the camera), the short way
 * round, as a polygon whose edges are tangent to the circle: every point of the arc lies on or
 * inside it, and it bulges at most excess metres outside the circle. a itself is not added, b
 * is. */
static int add_arc(dense *d, const double *a, const double *b, double R, double excess) {
    double ta = atan2(a[1], a[0]), tb = atan2(b[1], b[0]), dt = tb - ta;
    while (dt > M_PI)
        dt -= 2 * M_PI;
    while (dt < -M_PI)
        dt += 2 * M_PI;
    /* k tangent pieces of angle h each: vertices at R / cos(h / 2), R (1 / cos(h/2) - 1) <=
     * excess, i.e. h <= 2 acos(R / (R + excess)). */
    double hmax = 2 * acos(R / (R + excess));
    size_t k = (size_t)ceil(fabs(dt) / hmax);
    if (k > 4096) k = 4096;
    if (k >= 1 && fabs(dt) > 1e-12) {
        double h = dt / (double)k, rv = R / cos(h / 2);
        for (size_t j = 0; j < k; j++) {
            double th = ta + h * ((double)j + 0.5);
            if (!dense_add(d, rv * cos(th), rv * sin(th))) return 0;
        }
    }
    return dense_add(d, b[0], b[1]);
}

/* The boundary along chord i of the edge between s_in (its ray lands within range, at pin) and
 * s_out (cut, at pout): bisected along the image edge to 1e-4 pixel. *in_xy := the last
 * ground point within range, *s_in := where along the chord its ray starts, *out_xy := the
 * first cut point (on the range circle), *s_out := where its ray starts. */
static ko_status find_crossing(ko_context *ctx, const ko_camera *cam, const koi_intrinsics *k,
                               uint32_t m, size_t i, double *s_in, double *s_out, const koi_rot *r,
                               const ko_pose *p, koi_terrain *t, ko_footprint *fp,
                               const double *pin, const double *pout, double *in_xy,
                               double *out_xy) {
    double u0, v0, u1, v1;
    boundary_pixel(k, m, i, &u0, &v0);
    boundary_pixel(k, m, (i + 1) % ((size_t)4 * m), &u1, &v1);
    double lo = *s_in, hi = *s_out; /* lo: within range, hi: cut */
    in_xy[0] = pin[0], in_xy[1] = pin[1], out_xy[0] = pout[0], out_xy[1] = pout[1];
    double len = hypot(u1 - u0, v1 - v0);
    for (int it = 0; it < 60 && fabs(hi - lo) * len > 1e-4; it++) {
        double s = 0.5 * (lo + hi), u = u0 + s * (u1 - u0), v = v0 + s * (v1 - v0), x, y, e, n;
        double d[3];
        int c = 1;
        if (koi_undistort(cam, (u - k->cx) / k->fx, (v - k->cy) / k->fy, &x, &y)) {
            body_to_ned(r, x, y, d);
            ko_status st = cast_one(ctx, d, p, t, fp, &e, &n, &c);
            if (st) return st;
        } else {
            break; /* keep the brackets found so far */
        }
        if (c)
            hi = s, out_xy[0] = e, out_xy[1] = n;
        else
            lo = s, in_xy[0] = e, in_xy[1] = n;
    }
    *s_in = lo;
    *s_out = hi;
    return KO_OK;
}

/* The NED direction of the ray through the point a fraction s along boundary chord i of 4m
 * (pixel space, the lens's own edge); 0 where the lens model cannot be inverted. */
static int edge_ray(const ko_camera *cam, const koi_intrinsics *k, uint32_t m, size_t i, double s,
                    const koi_rot *r, double d[3]) {
    double u0, v0, u1, v1, x, y;
    boundary_pixel(k, m, i, &u0, &v0);
    boundary_pixel(k, m, (i + 1) % ((size_t)4 * m), &u1, &v1);
    double u = u0 + s * (u1 - u0), v = v0 + s * (v1 - v0);
    if (!koi_undistort(cam, (u - k->cx) / k->fx, (v - k->cy) / k->fy, &x, &y)) return 0;
    body_to_ned(r, x, y, d);
    return 1;
}

static double ray_angle(const double a[3], const double b[3]) {
    double c[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
    double dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    return atan2(sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]), dot);
}

/* How far p (a ground point, seen from the camera at the origin) lies from the segment a-b
 * along its own line of sight: the distance to where that line crosses the segment, INFINITY
 * if it misses it. Where a ray between a and b meets an obstacle's silhouette, its hit can lie
 * next to the chord across (a near-radial chord from the obstacle to the ground beyond) yet
 * far from it along the ray: the seen ground past the silhouette is then outside the chord. */
static double off_chord(const double *p, const double *a, const double *b) {
    double dx = b[0] - a[0], dy = b[1] - a[1], den = p[0] * dy - p[1] * dx;
    if (fabs(den) <= 1e-12 * hypot(p[0], p[1]) * hypot(dx, dy)) return INFINITY;
    double t = (a[0] * dy - a[1] * dx) / den; /* crossing = t p */
    double u = fabs(dx) > fabs(dy) ? (t * p[0] - a[0]) / dx : (t * p[1] - a[1]) / dy;
    if (!(u >= -1e-9 && u <= 1 + 1e-9) || !(t > 0)) return INFINITY;
    return fabs(t - 1) * hypot(p[0], p[1]);
}

/* One chord of the boundary on terrain, to be refined (see refine_edge). */
typedef struct edge_span {
    ko_context *ctx;
    const ko_camera *cam;
    const koi_intrinsics *k;
    uint32_t m;
    size_t i;
    const koi_rot *r;
    const ko_pose *p;
    koi_terrain *t;
    ko_footprint *fp;
    double tol, drop; /* how far off a chord may miss; the most a hit lies below the camera */
    dense *d;
    double px;        /* pixels from one end of chord i to the other, on the sensor */
    int orient;       /* the samples' ring turns anticlockwise (1), clockwise (-1), unknown (0) */
    double R, excess; /* the range arc, as add_arc draws it */
} edge_span;

/* The point of NED ray d at ground distance s from the camera: local east, north, altitude. */
static int ray_point(const koi_terrain *t, const double d[3], double s, double p[3]) {
    double hz = hypot(d[0], d[1]);
    if (!(hz > 1e-12 * fabs(d[2]))) return 0;
    p[0] = s * d[1] / hz, p[1] = s * d[0] / hz, p[2] = t->cam_alt - s * d[2] / hz;
    return 1;
}

/* Whether every ray between da and db meets the terrain within ground distance reach: the
 * segment joining the two rays' points at that distance lies in their fan, so each of its
 * points is on a ray between them; where the terrain is nowhere below the segment, each such
 * ray is at or under the terrain there and crossed it before. 1 if so, 0 if not shown, -1 if
 * the segment meets ground of unknown height (recorded as a void: some ray may see it). */
static int fan_within(const edge_span *e, const double *da, const double *db, double reach) {
    double pa[3], pb[3], ve, vn;
    reach = fmin(reach, e->t->range);
    if (!ray_point(e->t, da, reach, pa) || !ray_point(e->t, db, reach, pb)) return 1;
    int c = koi_terrain_covers(e->t, pa, pb, &ve, &vn);
    if (c < 0) note_void(e->fp, ve, vn);
    return c;
}

/* Whether every ray between the hits a (ray da) and b (db) meets the terrain before it is tol
 * past the farther hit. A gap between two hits (a slit in a wall one post wide, narrower than
 * the ring's tolerance) leaves rays that see through it and land beyond. Asked just past the
 * farther hit first (two hits on a thin obstacle: the rays pass through it within tol), then
 * at tol past it (hits on open ground: the rays are then well under it). A void ends the
 * question: the footprint fails. */
static int fan_closed(const edge_span *e, const double *a, const double *da, const double *b,
                      const double *db) {
    double far = fmax(hypot(a[0], a[1]), hypot(b[0], b[1]));
    int c = fan_within(e, da, db, far + 1e-3 * e->t->step);
    if (c == 0) c = fan_within(e, da, db, far + e->tol);
    return c != 0;
}

/* Whether the camera lies on the outer side of the chord from a to b of the ring, so that
 * ground nearer than the chord is outside it (a near edge: the bottom of an oblique view); 1
 * too when that cannot be told. */
static int camera_outside(const edge_span *e, const double *a, const double *b) {
    double cr = a[0] * b[1] - a[1] * b[0];
    if (!e->orient || !(fabs(cr) > 1e-9 * hypot(a[0], a[1]) * hypot(b[0], b[1]))) return 1;
    return (cr > 0) != (e->orient > 0);
}

/* Whether no ray between da and db meets the terrain nearer than ground distance r0
 * (koi_terrain_wedge_clear): a thin mast between two rays of a near edge, its tip inside the
 * image, was left out of the ring 19 m. A void ends the question, as in fan_within. */
static int near_clear(const edge_span *e, const double *da, const double *db, double r0) {
    double pa[3], pb[3], ve, vn;
    r0 = fmin(r0, e->t->range);
    if (!(r0 > 0) || !ray_point(e->t, da, r0, pa) || !ray_point(e->t, db, r0, pb)) return 1;
    int c = koi_terrain_wedge_clear(e->t, pa, pb, &ve, &vn);
    if (c < 0) note_void(e->fp, ve, vn);
    return c != 0;
}

/* Whether the chord between the hits a (ray da) and b (db) holds what the rays between them
 * see: none lands beyond it (fan_closed) and, where nearer ground is outside the ring, none
 * meets the terrain before tol short of the nearer hit. */
static int chord_closed(const edge_span *e, const double *a, const double *da, const double *b,
                        const double *db) {
    if (!fan_closed(e, a, da, b, db)) return 0;
    double near = fmin(hypot(a[0], a[1]), hypot(b[0], b[1])) - e->tol;
    return !camera_outside(e, a, b) || near_clear(e, da, db, near);
}

/* On terrain the ground along an image edge is no projective image of it: between two samples
 * the edge's rays can pass the obstacle one of them meets, or see through a gap, and land
 * outside the chord between the two hits (a 2 m pylon met by one sample cut a 6 m site 47 m
 * beyond it out of the ring). The chord from a (at s0 along the edge, ray da) to b (s1, db) is
 * bisected while the middle ray lands more than tol off it, or while the two rays are more
 * than half a DEM cell apart where the nearer lands (a gap in the terrain is a cell wide at
 * least), until they are within tol of each other where the farther lands; and in either case
 * only once every ray between them meets the terrain before tol past the farther hit
 * (fan_closed) or they are less than a quarter pixel apart on the sensor (a gap narrower than
 * that is no view of what lies beyond: the pixel holds mostly the obstacle). What a chord then
 * leaves out is a sliver at most about tol wide, or a view through a sub-pixel gap. Adds the
 * points after a, through b. */
static ko_status refine_edge(const edge_span *e, double s0, const double *a, const double *da,
                             double s1, const double *b, const double *db, int depth, int *ok) {
    double alpha = ray_angle(da, db);
    double sa = hypot(hypot(a[0], a[1]), e->drop), sb = hypot(hypot(b[0], b[1]), e->drop);
    double sm = 0.5 * (s0 + s1), dm[3], mid[2];
    /* closed: fan_closed, once asked; a fan under a quarter pixel is not followed further */
    int cut = 0, closed = (s1 - s0) * e->px <= 0.25 ? 1 : -1;
    if (depth >= 24 ||
        (alpha * fmax(sa, sb) <= e->tol &&
         (closed >= 0 ? closed : (closed = chord_closed(e, a, da, b, db)))) ||
        !edge_ray(e->cam, e->k, e->m, e->i, sm, e->r, dm)) {
        *ok = dense_add(e->d, b[0], b[1]);
        return KO_OK;
    }
    ko_status st = cast_one(e->ctx, dm, e->p, e->t, e->fp, &mid[0], &mid[1], &cut);
    if (st) return st;
    if (!cut && off_chord(mid, a, b) <= e->tol && alpha * fmin(sa, sb) <= 0.5 * e->t->step &&
        (closed < 0 ? chord_closed(e, a, da, b, db) : closed)) {
        *ok = dense_add(e->d, b[0], b[1]);
        return KO_OK;
    }
    st = refine_edge(e, s0, a, da, sm, mid, dm, depth + 1, ok);
    if (!st && *ok) st = refine_edge(e, sm, mid, dm, s1, b, db, depth + 1, ok);
    return st;
}

/* Chord i of the edge is the one refined: its length on the sensor, for the quarter-pixel rule. */
static void set_chord(edge_span *e, size_t i) {
    double u0, v0, u1, v1;
    boundary_pixel(e->k, e->m, i, &u0, &v0);
    boundary_pixel(e->k, e->m, (i + 1) % ((size_t)4 * e->m), &u1, &v1);
    e->i = i;
    e->px = hypot(u1 - u0, v1 - v0);
}

/* The boundary from a (at s0 along chord i of the edge) to b (at s1), both ground points within
 * range: on terrain refined as refine_edge does, on flat ground the chord itself. Adds the
 * points after a, through b. */
static ko_status in_range_chord(edge_span *e, size_t i, double s0, const double *a, double s1,
                                const double *b, int *ok) {
    double da[3], db[3];
    set_chord(e, i);
    if (!e->t || !edge_ray(e->cam, e->k, e->m, i, s0, e->r, da) ||
        !edge_ray(e->cam, e->k, e->m, i, s1, e->r, db)) {
        *ok = dense_add(e->d, b[0], b[1]);
        return KO_OK;
    }
    return refine_edge(e, s0, a, da, s1, b, db, 0, ok);
}

/* The ring between two cut points a (ray at s0 along chord i of the edge) and b (at s1): the
 * range arc. On terrain, where nearer ground is outside the ring, the rays between them must
 * not meet the terrain within range (a 20 m mast 240 m away between two bottom-edge samples
 * cut at the 250 m limit was left out); where one does, the edge is bisected and its rays
 * within range are followed as any others. */
static ko_status cut_arc(edge_span *e, size_t i, double s0, const double *a, double s1,
                         const double *b, int depth, int *ok) {
    double da[3], db[3], dm[3], mid[2], sm = 0.5 * (s0 + s1);
    int cut = 1;
    set_chord(e, i);
    if (!e->t || depth >= 24 || !camera_outside(e, a, b) || (s1 - s0) * e->px <= 0.25 ||
        !edge_ray(e->cam, e->k, e->m, i, s0, e->r, da) ||
        !edge_ray(e->cam, e->k, e->m, i, s1, e->r, db) ||
        !edge_ray(e->cam, e->k, e->m, i, sm, e->r, dm) || near_clear(e, da, db, e->t->range)) {
        *ok = add_arc(e->d, a, b, e->R, e->excess);
        return KO_OK;
    }
    ko_status st = cast_one(e->ctx, dm, e->p, e->t, e->fp, &mid[0], &mid[1], &cut);
    if (st || cut) {
        if (!st) st = cut_arc(e, i, s0, a, sm, mid, depth + 1, ok);
        if (!st && *ok) st = cut_arc(e, i, sm, mid, s1, b, depth + 1, ok);
        return st;
    }
    /* the middle ray meets the terrain within range: out of range, in, and out again */
    double in0[2], out0[2], in1[2], out1[2], si0 = sm, so0 = s0, si1 = sm, so1 = s1;
    st = find_crossing(e->ctx, e->cam, e->k, e->m, i, &si0, &so0, e->r, e->p, e->t, e->fp, mid, a,
                       in0, out0);
    if (!st)
        st = find_crossing(e->ctx, e->cam, e->k, e->m, i, &si1, &so1, e->r, e->p, e->t, e->fp, mid,
                           b, in1, out1);
    if (!st) st = cut_arc(e, i, s0, a, so0, out0, depth + 1, ok);
    if (!st && *ok) *ok = dense_add(e->d, in0[0], in0[1]);
    if (!st && *ok) st = in_range_chord(e, i, si0, in0, sm, mid, ok);
    if (!st && *ok) st = in_range_chord(e, i, sm, mid, si1, in1, ok);
    if (!st && *ok) *ok = dense_add(e->d, out1[0], out1[1]);
    if (!st && *ok) st = cut_arc(e, i, so1, out1, s1, b, depth + 1, ok);
    return st;
}

/* The closed dense ring of the cast boundary (samples xy, cut flags): where the boundary
 * passes the range limit the exact crossing is inserted, and between cut points the ring
 * follows the range arc (tangent pieces, at most excess outside it), so that every ground
 * point the boundary reaches within range is on the ring, and every point of the range circle
 * the image spans is on or inside it. *out (owned by the caller), *n_out points. */
static ko_status follow_range(ko_context *ctx, const ko_camera *cam, const koi_intrinsics *k,
                              uint32_t m, const koi_rot *r, const ko_pose *p, koi_terrain *t,
                              ko_footprint *fp, const double *xy, const unsigned char *cut,
                              size_t total, double excess, double **out, size_t *n_out) {
    dense d = {0};
    double R = fp->range_limit_m;
    int ok = 1;
    ko_status st = KO_OK;
    /* on terrain: chords refined to a quarter DEM cell or the arc's excess, the larger */
    edge_span span = {ctx, cam, k, m, 0, r,     p, t, fp, t ? fmax(excess, 0.25 * t->step) : 0,
                      0,   &d,  0, 0, R, excess};
    if (t) span.drop = t->cam_alt - (t->bounded ? fmin(t->zmin, t->ground) : t->ground);
    /* the samples' ring's turning sense, unless it is a sliver (all of it cut at the range
     * limit: the far and the near edge on one arc) */
    double area2 = 0, perim = 0;
    for (size_t i = 0; i < total; i++) {
        size_t j = (i + 1) % total;
        area2 += xy[2 * i] * xy[2 * j + 1] - xy[2 * j] * xy[2 * i + 1];
        perim += hypot(xy[2 * j] - xy[2 * i], xy[2 * j + 1] - xy[2 * i + 1]);
    }
    span.orient = fabs(area2) <= 1e-3 * perim * perim ? 0 : area2 > 0 ? 1 : -1;
    for (size_t i = 0; ok && !st && i < total; i++) {
        size_t j = (i + 1) % total;
        if (i == 0) ok = dense_add(&d, xy[0], xy[1]);
        const double *a = &xy[2 * i], *b = &xy[2 * j];
        if (cut[i] == cut[j]) {
            if (cut[i])
                st = cut_arc(&span, i, 0.0, a, 1.0, b, 0, &ok);
            else
                st = in_range_chord(&span, i, 0.0, a, 1.0, b, &ok);
            continue;
        }
        double in_xy[2], out_xy[2], s_in = cut[i] ? 1.0 : 0.0, s_out = 1.0 - s_in;
        st = find_crossing(ctx, cam, k, m, i, &s_in, &s_out, r, p, t, fp, cut[i] ? b : a,
                           cut[i] ? a : b, in_xy, out_xy);
        if (st) break;
        if (cut[i]) { /* arc to the crossing, then in range */
            st = cut_arc(&span, i, 0.0, a, s_out, out_xy, 0, &ok);
            ok = ok && dense_add(&d, in_xy[0], in_xy[1]);
            if (!st && ok) st = in_range_chord(&span, i, s_in, in_xy, 1.0, b, &ok);
        } else {
            st = in_range_chord(&span, i, 0.0, a, s_in, in_xy, &ok);
            ok = ok && dense_add(&d, out_xy[0], out_xy[1]);
            if (!st && ok) st = cut_arc(&span, i, s_out, out_xy, 1.0, b, 0, &ok);
        }
    }
    if (!st && !ok) st = koi_error(ctx, KO_ERR_NOMEM, "footprint: out of memory");
    if (st) {
        free(d.xy);
        return st;
    }
    /* the last point added is the first again (j wrapped to 0): the ring is closed */
    *out = d.xy;
    *n_out = d.n;
    return KO_OK;
}

/* fp->local := the union of fp->local and the ring other (both closed; other has n points): one
 * ring that holds both. A union that is not one polygon (rings that only touch) becomes its convex
 * hull, and holes are dropped: both only add ground. */
static ko_status union_rings(ko_context *ctx, ko_footprint *fp, const double *other, size_t n) {
    GEOSContextHandle_t h = ctx->geos;
    GEOSGeometry *a = koi_geos_polygon(h, fp->local, fp->n), *b = koi_geos_polygon(h, other, n);
    GEOSGeometry *a_ok = a ? GEOSMakeValid_r(h, a) : NULL, *b_ok = b ? GEOSMakeValid_r(h, b) : NULL;
    GEOSGeometry *u = koi_geos_one_polygon(h, a_ok && b_ok ? GEOSUnion_r(h, a_ok, b_ok) : NULL);
    size_t m = 0;
    double *xy = NULL;
    ko_status st = koi_geos_shell(h, u, &xy, &m);
    GEOSGeometry *all[] = {a, b, a_ok, b_ok, u};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]) GEOSGeom_destroy_r(h, all[i]);
    if (st == KO_ERR_NOMEM) return koi_error(ctx, st, "footprint: out of memory");
    if (st) return koi_error(ctx, st, "footprint: cannot join the two altitudes' rings");
    free(fp->local);
    fp->local = xy;
    fp->n = m;
    return KO_OK;
}

/* tolerance_m, or half a pixel on the ground below the camera (NaN if the pixel size is
 * unknown: then only the 1 mm rule applies). */
static double ring_tolerance(const ko_footprint_options *o, const ko_footprint *fp,
                             const ko_pose *p) {
    if (!isnan(o->tolerance_m)) return o->tolerance_m;
    double h = isfinite(fp->cam_alt) ? fp->cam_alt - fp->ground_alt : p->height_m;
    return 0.5 * fp->pixel_rad * h;
}

/* Casts the boundary from one camera altitude (t->cam_alt with a DEM) and follows the range
 * arc: *out (owned by the caller), *n points, closed. */
static ko_status cast_ring(ko_context *ctx, const ko_camera *cam, const koi_intrinsics *k,
                           const struct koi_boundary *b, const koi_rot *r, const ko_pose *p,
                           koi_terrain *t, ko_footprint *fp, double excess, double **out,
                           size_t *n) {
    size_t total = (size_t)4 * b->m;
    double *xy = koi_calloc(total, 2 * sizeof *xy);
    unsigned char *cut = koi_calloc(total, 1);
    ko_status st = xy && cut ? cast_rays(ctx, b, r, p, t, total, xy, cut, fp)
                             : koi_error(ctx, KO_ERR_NOMEM, "footprint: out of memory");
    if (!st) st = follow_range(ctx, cam, k, b->m, r, p, t, fp, xy, cut, total, excess, out, n);
    free(xy);
    free(cut);
    return st;
}

static ko_status cast_boundary(ko_context *ctx, const ko_camera *cam, const ko_pose *p,
                               const ko_footprint_options *o, ko_footprint *fp) {
    koi_intrinsics k;
    koi_intrinsics_from(cam, &k);
    koi_rot r;
    koi_rotation(p->yaw_deg, p->pitch_deg, p->roll_deg, &r);
    uint32_t m = o->edge_samples ? o->edge_samples : 128;
    const struct koi_boundary *b = boundary(ctx, cam, &k, m);
    if (b && b->pm) {
        fp->pm = b->pm;
        fp->pm->refs++;
    }
    /* Unknown pixel size: NaN, no GSD limit. A pixel map that failed (the lens model cannot
     * be inverted or measured somewhere inside the frame, e.g. where a strong barrel lens
     * nearly folds, though the boundary inverts): 0, no pixel is known to be coarser than any
     * other, so nothing in view is judged too coarse and no ray is cut for its GSD. (The
     * centre's pixel was used: 2.6 times coarser than an edge pixel of such a lens, clear.) */
    fp->fmin = fp->pm ? fp->pm->fmin : isfinite(k.pixel_rad) ? 0.0 : k.pixel_rad;
    fp->range_limit_m = range_limit(o, fp->fmin);
    fp->pixel_rad = k.pixel_rad;
    fp->rot = r;
    for (int i = 0; i < 3; i++)
        fp->axis[i] = r.m[i][0];
    koi_terrain t, *tp = NULL;
    double *second = NULL;
    size_t n2 = 0;
    ko_status st = KO_OK;
    if (o->dem) {
        tp = &t;
        st = koi_terrain_begin(ctx, o->dem, p, fp->range_limit_m, &t);
        if (st) goto done;
        fp->height_source = t.source;
        fp->cam_alt = fp->gsd_cam_alt = t.cam_alt;
        fp->ground_alt = t.ground;
        fp->gsd_terrain = t.bounded ? t.zmax : t.ground;
        altitude_note(fp, p, &t);
    }
    if (!b || b->fail >= 0) {
        st = !b ? koi_error(ctx, KO_ERR_NOMEM, "footprint: out of memory")
                : koi_error(ctx, KO_ERR_ARG,
                            "distortion: the lens model cannot be inverted at pixel (%.0f, %.0f)",
                            b->fail_u, b->fail_v);
        goto done;
    }
    /* The range arc's tangent pieces bulge at most this far outside it: 0.5 m at 2 km, where
     * a pixel covers decimetres (more vertices would only slow the site tests down). */
    double excess = fmax(ring_tolerance(o, fp, p), 5e-5 * fp->range_limit_m);
    st = cast_ring(ctx, cam, &k, b, &r, p, tp, fp, excess, &fp->local, &fp->n);
    /* The relative height's altitude, kept beside an absolute one: cast it too, and join. */
    if (!st && tp && isfinite(t.alt_rel) && fabs(t.alt_rel - t.cam_alt) > 0.01 &&
        t.alt_rel > t.ground) {
        t.cam_alt = t.alt_rel;
        st = cast_ring(ctx, cam, &k, b, &r, p, tp, fp, excess, &second, &n2);
        if (!st) st = union_rings(ctx, fp, second, n2);
        fp->gsd_cam_alt = fmin(fp->gsd_cam_alt, t.alt_rel);
        fp->cam_alt2 = t.alt_rel;
    }
done:
    if (tp) koi_terrain_end(&t);
    free(second);
    if (st) return st;
    /* RFC 7946: exterior rings counterclockwise */
    if (koi_ring_signed_area(fp->local, fp->n) < 0) koi_ring_reverse(fp->local, fp->n);
    fp->tol = ring_tolerance(o, fp, p);
    fp->n = koi_ring_simplify(&fp->local, fp->n, fp->tol);
    /* closed, exactly (a simplification that ran short of memory keeps its dense ring) */
    fp->local[2 * (fp->n - 1)] = fp->local[0], fp->local[2 * fp->n - 1] = fp->local[1];
    fp->area_m2 = koi_ring_signed_area(fp->local, fp->n);
    return KO_OK;
}

/* Local east/north metres to WGS84 (koi_aeqd's series: building a PROJ pipeline per pose cost
 * 215 us of a 216 us footprint, PROJ's geodesic per vertex 37 of the 245 us a tagged photo
 * costs). Lon/lat chords are split where they sag more than a quarter of the ring's tolerance
 * (1 mm to 5 cm), and pushed out by their sag. */
static ko_status to_wgs84(ko_context *ctx, ko_footprint *fp) {
    double cap = fmin(fmax(0.25 * fp->tol, 1e-3), 0.05);
    if (!isfinite(cap)) cap = 1e-3;
    return koi_ring_to_wgs84(ctx, fp->lat0, fp->lon0, fp->local, fp->n, cap, &fp->lonlat,
                             &fp->n_ll);
}

int koi_footprint_holds_pole(ko_context *ctx, const ko_footprint *fp, double margin_m) {
    /* a pole farther than the ring reaches (a degree of latitude is at least 110.5 km) */
    if ((90.0 - fabs(fp->lat0)) * 110000.0 > fp->reach + fmax(margin_m, 0.0) + 1.0) return 0;
    int inside;
    for (int k = 0; k < 2; k++) {
        double e, no;
        koi_wgs84_to_local(ctx, fp->lat0, fp->lon0, k ? -90.0 : 90.0, fp->lon0, &e, &no);
        if (koi_ring_distance(fp->local, fp->n, e, no, &inside) <= fmax(margin_m, 0.0) + 1.0 ||
            inside)
            return 1;
    }
    return 0;
}

ko_status koi_footprint_args(ko_context *ctx, const ko_camera *cam, const ko_pose *pose,
                             const ko_footprint_options **opts, ko_footprint_options *defaults) {
    ko_status st = *opts ? KOI_CHECK_OPTIONS(ctx, ko_footprint_options, *opts) : KO_OK;
    if (st || (st = ko_pose_validate(ctx, cam, pose))) return st;
    if (!*opts) {
        ko_footprint_options_init(defaults);
        *opts = defaults;
    }
    if (!(pose->height_m > 0.0) && !(*opts)->dem)
        return koi_error(ctx, KO_ERR_ARG,
                         "height: %.2f m, below the take-off point: on flat ground at take-off "
                         "level the camera would be underground; give an elevation model (DEM) to "
                         "place it "
                         "over the terrain",
                         pose->height_m);
    return KO_OK;
}

ko_status ko_footprint_compute(ko_context *ctx, const ko_camera *cam, const ko_pose *pose,
                               const ko_footprint_options *opts, ko_footprint **out) {
    if (!ctx || !out) return koi_error(ctx, KO_ERR_ARG, "footprint: NULL argument");
    ko_footprint_options defaults;
    ko_status st = koi_footprint_args(ctx, cam, pose, &opts, &defaults);
    if (st) return st;
    ko_footprint *fp = koi_calloc(1, sizeof *fp);
    if (!fp) return koi_error(ctx, KO_ERR_NOMEM, "footprint: out of memory");
    fp->lat0 = pose->lat;
    fp->lon0 = pose->lon;
    fp->height_m = pose->height_m;
    fp->height_source = "flat";
    fp->cam_alt = fp->ground_alt = fp->gsd_terrain = fp->gsd_cam_alt = fp->cam_alt2 = NAN;
    st = cast_boundary(ctx, cam, pose, opts, fp);
    for (size_t i = 0; !st && i < fp->n; i++)
        fp->reach = fmax(fp->reach, hypot(fp->local[2 * i], fp->local[2 * i + 1]));
    if (!st && fp->voids) {
        double lat, lon;
        koi_local_to_wgs84(ctx, pose->lat, pose->lon, fp->void_e, fp->void_n, &lat, &lon);
        st = koi_error(ctx, KO_ERR_ARG,
                       "footprint: the view meets ground the elevation model %s has no height "
                       "for (nodata or beyond its extent) at lat %.6f, lon %.6f, %.0f m from the "
                       "camera: the terrain there is unknown; give an elevation model that covers "
                       "the view up to the range limit (%.0f m)",
                       opts->dem->path, lat, lon, hypot(fp->void_e, fp->void_n), fp->range_limit_m);
    }
    if (!st && koi_footprint_holds_pole(ctx, fp, 0.0))
        st = koi_error(ctx, KO_ERR_UNSUPPORTED,
                       "footprint: the view from latitude %.6f holds the %s pole, where it has no "
                       "ring in longitude/latitude to test against the sites",
                       pose->lat, pose->lat > 0 ? "north" : "south");
    if (st) {
        ko_footprint_destroy(fp);
        return st;
    }
    st = to_wgs84(ctx, fp);
    if (st) {
        ko_footprint_destroy(fp);
        return st;
    }
    *out = fp;
    return KO_OK;
}

/* The camera's height above the ground the GSD is judged on. With a DEM: its height above the
 * highest terrain of the range window, an upper bound of the site's ground (see keepout.h), so
 * the slant distance is never overstated. */
static double gsd_height(const ko_footprint *fp) {
    return isnan(fp->gsd_terrain) ? fp->height_m : fmax(fp->gsd_cam_alt - fp->gsd_terrain, 0.0);
}

/* The finest angular pixel over the image region the ground box (local e0, n0, e1, n1) projects
 * into, the box taken at each of the heights dz[0 .. nz) below the camera; the image's finest
 * anywhere when a corner is not in front of the camera or without a pixel map. */
static double box_pixel_angle(const ko_footprint *fp, const double *box, const double *dz, int nz) {
    if (!fp->pm || !box) return fp->fmin;
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int c = 0; c < 4 * nz; c++) {
        double z = dz[c / 4];
        double ned[3] = {box[c & 2 ? 3 : 1], box[c & 1 ? 2 : 0], z}, bd[3];
        for (int i = 0; i < 3; i++)
            bd[i] = fp->rot.m[0][i] * ned[0] + fp->rot.m[1][i] * ned[1] + fp->rot.m[2][i] * ned[2];
        if (!(bd[0] > 1e-6 * sqrt(ned[0] * ned[0] + ned[1] * ned[1] + z * z))) return fp->fmin;
        double x = bd[1] / bd[0], y = bd[2] / bd[0];
        x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
    }
    return pixmap_lookup(fp->pm, x0, y0, x1, y1);
}

double koi_footprint_reach(const ko_footprint *fp) {
    return fp->reach;
}

double koi_footprint_clearance(const ko_footprint *fp) {
    return gsd_height(fp);
}

double koi_footprint_gsd_moving(const ko_footprint *fp, double dist_m, double sweep_m,
                                double climb_m) {
    if (!isfinite(fp->pixel_rad)) return NAN;
    double de = fmax(dist_m - sweep_m, 0.0), dz = fmax(gsd_height(fp) - climb_m, 0.0);
    return sqrt(de * de + dz * dz) * fp->fmin;
}

double koi_footprint_gsd_part(const ko_footprint *fp, double dist_m, const double *box) {
    if (!isfinite(fp->pixel_rad)) return NAN;
    double dz = gsd_height(fp);
    double slant = sqrt(dist_m * dist_m + dz * dz);
    /* With a DEM the part lies between the highest terrain and (about) the ground under the
     * camera: its box is projected at both heights, the highest as it is, also above the
     * camera (clamped to the camera's height it would land nearer the image centre, on coarser
     * pixels: 3 % coarser on a slope above an Andorra valley). */
    double z[2] = {dz, isnan(fp->gsd_terrain) ? dz : fp->cam_alt - fp->ground_alt};
    if (!isnan(fp->gsd_terrain)) z[0] = fp->gsd_cam_alt - fp->gsd_terrain;
    return slant * box_pixel_angle(fp, box, z, z[1] == z[0] ? 1 : 2);
}

double ko_footprint_gsd_at(const ko_footprint *fp, double lon, double lat) {
    if (!isfinite(fp->pixel_rad)) return NAN;
    /* Local offsets from the WGS84 radii of curvature: within the range limit (a few km) this
     * is far below a pixel, and GSD needs no better. */
    double phi = fp->lat0 * 3.14159265358979323846 / 180.0, m_rad, n_rad;
    koi_wgs84_radii(fp->lat0, &m_rad, &n_rad);
    double dlon = remainder(lon - fp->lon0, 360.0);
    double dn = (lat - fp->lat0) * 3.14159265358979323846 / 180.0 * m_rad;
    double de = dlon * 3.14159265358979323846 / 180.0 * n_rad * cos(phi);
    /* the finest pixel of the image cells around the point (a 1 m box) */
    const double box[4] = {de - 1, dn - 1, de + 1, dn + 1};
    return koi_footprint_gsd_part(fp, hypot(dn, de), box);
}

ko_status ko_footprint_wkt(ko_context *ctx, const ko_footprint *fp, char **wkt) {
    if (!fp || !wkt) return koi_error(ctx, KO_ERR_ARG, "footprint_wkt: NULL argument");
    size_t cap = 16 + fp->n_ll * 48;
    char *s = koi_malloc(cap);
    if (!s) return koi_error(ctx, KO_ERR_NOMEM, "footprint_wkt: out of memory");
    size_t len = (size_t)snprintf(s, cap, "POLYGON ((");
    for (size_t i = 0; i < fp->n_ll; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%.9f %.9f", i ? ", " : "", fp->lonlat[2 * i],
                                fp->lonlat[2 * i + 1]);
    snprintf(s + len, cap - len, "))");
    *wkt = s;
    return KO_OK;
}

const char *ko_footprint_height_source(const ko_footprint *fp) {
    return fp && fp->height_source ? fp->height_source : "flat";
}

const char *ko_footprint_altitude_note(const ko_footprint *fp) {
    return fp ? fp->note : "";
}

double ko_footprint_camera_alt_m(const ko_footprint *fp) {
    return fp ? fp->cam_alt : NAN;
}

double ko_footprint_ground_alt_m(const ko_footprint *fp) {
    return fp ? fp->ground_alt : NAN;
}

int koi_footprint_camera_alts(const ko_footprint *fp, double alts[2]) {
    if (!fp || !isfinite(fp->cam_alt)) return 0;
    alts[0] = fp->cam_alt;
    alts[1] = fp->cam_alt2;
    return isfinite(fp->cam_alt2) ? 2 : 1;
}
