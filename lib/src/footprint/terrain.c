/* Terrain ray casting for footprints: each boundary ray is followed over the DEM in the local
 * east/north frame under the camera, cell by cell (the square between four DEM posts, over
 * which the bilinear terrain is a quadratic along the ray and never higher than its highest
 * post), with longer jumps where a bound on the terrain's height or slope proves that no
 * crossing can be skipped; the first crossing is refined by bisection and false position. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "footprint/footprint.h"

#define PI 3.14159265358979323846
/* Node spacing of the local-to-pixel mapping grid to start from: the mapping is smooth at the
 * scale of the Earth's radius, so bilinear interpolation over 1 km cells is off by about
 * (1 km)^2 / 8 * tan(lat) / 6371 km: 2 cm at 45 deg, 5 cm at 70 deg, but 0.56 m at 88 deg
 * (a longitude/latitude DEM's meridians converge). The grid is refined until the
 * interpolation is measured within GRID_ERR_PX of the exact mapping at every cell centre. */
#define NODE_SPACING_M 1000.0
#define MAX_NODES 257
#define GRID_ERR_PX 0.01
/* Largest window (pixels) scanned for height and slope bounds; larger windows march plainly. */
#define MAX_WINDOW_PX (512 * 512)

static void local_pixel(const koi_terrain *t, double e, double n, double ae, double an, double *p,
                        double *v);

/* DEM pixel coordinates to local east/north metres (exact, through the CRS). */
static int pixel_to_local(ko_context *ctx, const ko_dem *d, double lat0, double lon0, double px,
                          double py, double *e, double *n) {
    double x = d->gt[0] + px * d->gt[1] + py * d->gt[2];
    double y = d->gt[3] + px * d->gt[4] + py * d->gt[5];
    if (d->from_dem && !OCTTransform(d->from_dem, 1, &x, &y, NULL)) return 0;
    koi_wgs84_to_local(ctx, lat0, lon0, y, x, e, n);
    return isfinite(*e) && isfinite(*n);
}

/* A bound on the terrain's gradient on the ground, in metres per metre, from bounds gx, gy on
 * its change per pixel along the two pixel axes (the largest neighbour differences: a bilinear
 * surface's derivative along an axis lies between them). jac: the ground metres (east, north)
 * one pixel step moves, along pixel x (jac[0], jac[1]) and pixel y (jac[2], jac[3]). The
 * ground gradient is J^-T times the pixel gradient, largest at a corner of the box
 * |g_x| <= gx, |g_y| <= gy. Axes need not be at right angles on the ground (a sheared
 * geotransform, a sinusoidal grid far from its meridian): taken as orthogonal, the bound came
 * out 3 times too small there and rays jumped past their crossing. */
static double ground_slope(const double jac[4], double gx, double gy) {
    double a = jac[0], c = jac[1], b = jac[2], d = jac[3], det = a * d - b * c;
    if (!(fabs(det) > 0)) return INFINITY;
    double best = 0;
    for (int sg = -1; sg <= 1; sg += 2) {
        double g1 = gx, g2 = sg * gy;
        best = fmax(best, hypot(d * g1 - c * g2, -b * g1 + a * g2) / fabs(det));
    }
    return best;
}

/* Height and slope bounds of the terrain over the pixel window that holds every point a ray
 * can reach. Left unbounded (plain marching) when the window holds nodata or is too large. */
static void scan_window(koi_terrain *t, const double jac[4]) {
    ko_dem *d = t->dem;
    size_t nn = (size_t)t->n * t->n;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t k = 0; k < nn; k++) {
        double x = t->node_px[k], y = t->node_px[nn + k];
        if (!isfinite(x) || !isfinite(y)) return;
        x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
    }
    x0 = fmax(floor(x0) - 2, 0), y0 = fmax(floor(y0) - 2, 0);
    x1 = fmin(ceil(x1) + 2, d->xsize - 1), y1 = fmin(ceil(y1) + 2, d->ysize - 1);
    if (x1 < x0 || y1 < y0 || (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_WINDOW_PX) return;
    int i0 = (int)x0, i1 = (int)x1, j0 = (int)y0, j1 = (int)y1;
    int w = i1 - i0 + 1, h = j1 - j0 + 1;
    float *buf = koi_calloc((size_t)w * h, sizeof(float));
    if (!buf) return; /* plain marching: slower, same result */
    if (!koi_dem_read_window(d, i0, j0, w, h, buf)) {
        free(buf);
        return;
    }
    double zmin = INFINITY, zmax = -INFINITY, gx = 0, gy = 0;
    for (int j = 0; j < h; j++) {
        const float *row = buf + (size_t)j * w;
        for (int i = 0; i < w; i++) {
            double z = row[i];
            if (isnan(z)) {
                free(buf);
                return;
            }
            if (z < zmin) zmin = z;
            if (z > zmax) zmax = z;
            if (i > 0 && fabs(z - row[i - 1]) > gx) gx = fabs(z - row[i - 1]);
            if (j > 0 && fabs(z - row[i - w]) > gy) gy = fabs(z - row[i - w]);
        }
    }
    t->zmin = zmin;
    t->zmax = zmax;
    t->slope = 1.1 * ground_slope(jac, gx, gy);
    t->bounded = 1;
    const int b = KOI_TERRAIN_BLOCK;
    t->nbx = (w - 1 + b - 1) / b;
    t->nby = (h - 1 + b - 1) / b;
    if (t->nbx > 0 && t->nby > 0) t->block_max = koi_calloc((size_t)t->nbx * t->nby, sizeof(float));
    if (t->block_max) {
        for (int by = 0; by < t->nby; by++)
            for (int bx = 0; bx < t->nbx; bx++) {
                float m = -INFINITY;
                int ie = (bx + 1) * b < w - 1 ? (bx + 1) * b : w - 1;
                int je = (by + 1) * b < h - 1 ? (by + 1) * b : h - 1;
                for (int j = by * b; j <= je; j++)
                    for (int i = bx * b; i <= ie; i++)
                        if (buf[(size_t)j * w + i] > m) m = buf[(size_t)j * w + i];
                t->block_max[(size_t)by * t->nbx + bx] = m;
            }
    }
    t->win = buf, t->ww = w, t->wh = h, t->bi0 = i0, t->bj0 = j0;
}

/* The terrain at the take-off point: height_m is measured from there, not from the ground
 * under the camera. No data there is an error, never a quiet switch to the ground under the
 * camera (that is a different assumption, and on hilly ground a different answer). */
static ko_status takeoff_ground(ko_context *ctx, koi_terrain *t, const ko_pose *p) {
    ko_dem *d = t->dem;
    double x = p->takeoff_lon, y = p->takeoff_lat;
    if (!koi_dem_to_pixel(d, 1, &x, &y))
        return koi_error(ctx, KO_ERR_NOMEM, "terrain: out of memory");
    t->takeoff_ground = koi_dem_sample(d, x, y);
    if (d->io_error)
        return koi_error(ctx, (ko_status)d->io_error, "%s: cannot read the DEM", d->path);
    if (isnan(t->takeoff_ground))
        return koi_error(ctx, KO_ERR_ARG,
                         "no DEM elevation at the take-off point lat %.6f, lon %.6f (%s): "
                         "outside the DEM or nodata, so the camera altitude (take-off ground + "
                         "relative height %.1f m) is unknown",
                         p->takeoff_lat, p->takeoff_lon, d->path, p->height_m);
    return KO_OK;
}

/* The camera altitude the relative height gives: the take-off ground + height, or without a
 * take-off point the ground under the camera + height. As a cross-check of an absolute
 * altitude (cross_check), a take-off off the DEM falls back to the ground under the camera. */
static ko_status relative_altitude(ko_context *ctx, koi_terrain *t, const ko_pose *p,
                                   int cross_check, const char **src) {
    int have_takeoff = isfinite(p->takeoff_lat) && isfinite(p->takeoff_lon);
    ko_status st = have_takeoff ? takeoff_ground(ctx, t, p) : KO_ERR_ARG;
    if (st == KO_OK) {
        *src = "dem(takeoff)+height";
        t->alt_rel = t->takeoff_ground + p->height_m;
    } else if (have_takeoff && (st != KO_ERR_ARG || !cross_check)) {
        return st;
    } else {
        t->takeoff_ground = NAN;
        *src = "dem+height";
        t->alt_rel = t->ground + p->height_m;
    }
    return KO_OK;
}

static ko_status below_terrain(ko_context *ctx, const koi_terrain *t, const ko_pose *p) {
    ko_dem *d = t->dem;
    if (!strcmp(t->source, "dem(takeoff)+height"))
        return koi_error(ctx, KO_ERR_ARG,
                         "camera below the terrain: take-off ground %.1f m (lat %.6f, lon %.6f) "
                         "+ relative height %.1f m = %.1f m, terrain %.1f m under the camera at "
                         "lat %.6f, lon %.6f (%s, %s)",
                         t->takeoff_ground, p->takeoff_lat, p->takeoff_lon, p->height_m, t->cam_alt,
                         t->ground, p->lat, p->lon, d->path, d->datum);
    return koi_error(ctx, KO_ERR_ARG,
                     "camera below the terrain: camera altitude %.1f m (from %s), terrain %.1f m "
                     "at lat %.6f, lon %.6f (%s, %s)",
                     t->cam_alt, t->source, t->ground, p->lat, p->lon, d->path, d->datum);
}

/* An absolute altitude (GPS, barometric) and the relative height both place the camera; GPS
 * altitudes of consumer drones are often tens of metres off, so the two are checked against
 * each other, and within the bound both are kept: the footprint is the union of the two (see
 * cast_boundary), never the smaller of them. */
static ko_status camera_altitude(ko_context *ctx, koi_terrain *t, const ko_pose *p) {
    ko_dem *d = t->dem;
    ko_status st = KO_OK;
    t->takeoff_ground = t->alt_rel = NAN;
    t->rel_source = NULL;
    if (isfinite(p->alt_ellps_m)) {
        t->source = "alt_ellipsoid";
        st = koi_dem_from_ellipsoidal(ctx, d, p->lon, p->lat, p->alt_ellps_m, &t->cam_alt);
    } else if (isfinite(p->alt_msl_m)) {
        t->source = "alt_msl";
        st = koi_dem_from_egm96(ctx, d, p->lon, p->lat, p->alt_msl_m, &t->cam_alt);
    } else {
        st = relative_altitude(ctx, t, p, 0, &t->source);
        if (st) return st;
        t->cam_alt = t->alt_rel;
        t->alt_rel = NAN;
        return t->cam_alt - t->ground <= 0.0 ? below_terrain(ctx, t, p) : KO_OK;
    }
    if (st) return st;
    if (t->cam_alt - t->ground <= 0.0) return below_terrain(ctx, t, p);
    st = relative_altitude(ctx, t, p, 1, &t->rel_source);
    if (st) return st;
    double bound = fmax(30.0, 0.5 * p->height_m);
    if (fabs(t->cam_alt - t->alt_rel) > bound)
        return koi_error(
            ctx, KO_ERR_ARG,
            "DEM and GPS disagree: camera altitude %.1f m (from %s) is %.1f m above the "
            "terrain (%.1f m), but %s gives %.1f m (%s %.1f m + height %.1f m): "
            "more than %.1f m apart (%s, %s)",
            t->cam_alt, t->source, t->cam_alt - t->ground, t->ground, t->rel_source, t->alt_rel,
            isnan(t->takeoff_ground) ? "terrain under the camera" : "take-off ground",
            isnan(t->takeoff_ground) ? t->ground : t->takeoff_ground, p->height_m, bound, d->path,
            d->datum);
    return KO_OK;
}

/* Whether neighbouring nodes lie about equally far apart in DEM pixels, east-west pairs among
 * themselves and north-south pairs among themselves (within a factor of 2): terrain is read by
 * interpolating between nodes, which is wrong where a longitude/latitude DEM's pixels jump
 * (across the antimeridian) or turn fast (within kilometres of a pole). */
static int smooth_grid(const koi_terrain *t) {
    size_t nn = (size_t)t->n * t->n;
    const double *x = t->node_px, *y = t->node_px + nn;
    for (int dir = 0; dir < 2; dir++) {
        double lo = INFINITY, hi = 0.0;
        for (int j = 0; j + dir < t->n; j++)
            for (int i = 0; i + !dir < t->n; i++) {
                size_t k = (size_t)j * t->n + i, k1 = dir ? k + t->n : k + 1;
                double dpx = hypot(x[k1] - x[k], y[k1] - y[k]);
                if (!isfinite(dpx)) return 0;
                lo = fmin(lo, dpx), hi = fmax(hi, dpx);
            }
        if (hi > 2.0 * lo) return 0;
    }
    return 1;
}

/* The mapping grid of n x n nodes over [-range, range]^2 around the camera: each node's DEM
 * pixel, exact. 0 when out of memory. */
static int grid_nodes(ko_context *ctx, koi_terrain *t, const ko_pose *p, int n) {
    free(t->node_px);
    t->n = n;
    t->spacing = 2.0 * t->range / (n - 1);
    t->inv_spacing = 1.0 / t->spacing;
    size_t nn = (size_t)n * n;
    t->node_px = koi_calloc(2 * nn, sizeof(double));
    if (!t->node_px) return 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            size_t k = (size_t)j * n + i;
            koi_local_to_wgs84(ctx, p->lat, p->lon, -t->range + i * t->spacing,
                               -t->range + j * t->spacing, &t->node_px[nn + k], &t->node_px[k]);
        }
    return koi_dem_to_pixel(t->dem, nn, t->node_px, t->node_px + nn);
}

/* The largest distance, in DEM pixels, between the grid's interpolation and the exact mapping
 * at the centres of its cells (where bilinear interpolation of a smooth map is worst); NaN if
 * a centre cannot be mapped, -1 when out of memory. */
static double grid_error(ko_context *ctx, const koi_terrain *t, const ko_pose *p) {
    size_t m = (size_t)(t->n - 1) * (t->n - 1), q = 0;
    double *c = koi_calloc(2 * m, sizeof(double)), worst = 0.0;
    if (!c) return -1.0;
    for (int j = 0; j + 1 < t->n; j++)
        for (int i = 0; i + 1 < t->n; i++, q++)
            koi_local_to_wgs84(ctx, p->lat, p->lon, -t->range + (i + 0.5) * t->spacing,
                               -t->range + (j + 0.5) * t->spacing, &c[m + q], &c[q]);
    if (!koi_dem_to_pixel(t->dem, m, c, c + m)) {
        free(c);
        return -1.0;
    }
    q = 0;
    for (int j = 0; j + 1 < t->n; j++)
        for (int i = 0; i + 1 < t->n; i++, q++) {
            double px[2], v[2];
            local_pixel(t, -t->range + (i + 0.5) * t->spacing, -t->range + (j + 0.5) * t->spacing,
                        1.0, 0.0, px, v);
            double err = hypot(px[0] - c[q], px[1] - c[m + q]);
            worst = isnan(err) || isnan(worst) ? NAN : fmax(worst, err);
        }
    free(c);
    return worst;
}

ko_status koi_terrain_begin(ko_context *ctx, ko_dem *d, const ko_pose *p, double range,
                            koi_terrain *t) {
    memset(t, 0, sizeof *t);
    t->dem = d;
    t->range = range;
    if (d->ctx != ctx)
        return koi_error(ctx, KO_ERR_ARG, "%s: the DEM was opened on another context", d->path);
    d->io_error = 0;
    int n = (int)ceil(2.0 * range / NODE_SPACING_M) + 1;
    n = n < 3 ? 3 : n > 65 ? 65 : n;
    double err = NAN, cx = p->lon, cy = p->lat;
    for (;;) { /* halve the spacing until the interpolation holds (a few rounds near a pole) */
        if (!grid_nodes(ctx, t, p, n) || (err = grid_error(ctx, t, p)) < 0)
            return koi_error(ctx, KO_ERR_NOMEM, "terrain: out of memory");
        if (!(err > GRID_ERR_PX) || 2 * n - 1 > MAX_NODES || !smooth_grid(t)) break;
        n = 2 * n - 1;
    }
    if (!koi_dem_to_pixel(d, 1, &cx, &cy))
        return koi_error(ctx, KO_ERR_NOMEM, "terrain: out of memory");
    if (!smooth_grid(t) || !(err <= GRID_ERR_PX))
        return koi_error(ctx, KO_ERR_ARG,
                         "%s: the DEM's grid cannot be followed around lat %.6f, lon %.6f (its "
                         "pixels jump or turn there, %.3g pixels off between %d x %d nodes: the "
                         "antimeridian or a pole of a longitude/latitude DEM); a DEM in a "
                         "projected CRS covers it",
                         d->path, p->lat, p->lon, err, t->n, t->n);
    t->ground = koi_dem_sample(d, cx, cy);
    if (d->io_error)
        return koi_error(ctx, (ko_status)d->io_error, "%s: cannot read the DEM", d->path);
    if (isnan(t->ground))
        return koi_error(ctx, KO_ERR_ARG,
                         "no DEM elevation under the camera at lat %.6f, lon %.6f (%s): outside "
                         "the DEM or nodata",
                         p->lat, p->lon, d->path);
    double e0, n0, ex, nx, ey, ny;
    if (!pixel_to_local(ctx, d, p->lat, p->lon, cx, cy, &e0, &n0) ||
        !pixel_to_local(ctx, d, p->lat, p->lon, cx + 1, cy, &ex, &nx) ||
        !pixel_to_local(ctx, d, p->lat, p->lon, cx, cy + 1, &ey, &ny))
        return koi_error(ctx, KO_ERR_PROJ, "%s: cannot measure the DEM's pixel size", d->path);
    double dx_m = hypot(ex - e0, nx - n0), dy_m = hypot(ey - e0, ny - n0);
    /* One pixel: a crossing skipped between two samples (a ray grazing a one-pixel peak) can
     * only make the footprint larger, never smaller. */
    t->step = fmin(dx_m, dy_m);
    if (!(t->step > 1e-3))
        return koi_error(ctx, KO_ERR_FORMAT, "%s: DEM pixel size %.3g m is unusable", d->path,
                         2 * t->step);
    ko_status st = camera_altitude(ctx, t, p);
    if (st) return st;
    /* 10 % on the slope bound covers the change of pixel shape across the window */
    const double jac[4] = {ex - e0, nx - n0, ey - e0, ny - n0};
    scan_window(t, jac);
    if (d->io_error)
        return koi_error(ctx, (ko_status)d->io_error, "%s: cannot read the DEM", d->path);
    return KO_OK;
}

void koi_terrain_end(koi_terrain *t) {
    free(t->node_px);
    free(t->block_max);
    free(t->win);
    t->node_px = NULL;
    t->block_max = NULL;
    t->win = NULL;
}

/* The local point (e, n) in DEM pixel coordinates, interpolated bilinearly between the nodes of
 * the mapping grid, and the velocity there in pixels per metre of ground distance of a point
 * moving along the unit vector (ae, an), the derivative of the same interpolation. */
static void local_pixel(const koi_terrain *t, double e, double n, double ae, double an, double *p,
                        double *v) {
    double fi = (e + t->range) * t->inv_spacing, fj = (n + t->range) * t->inv_spacing;
    int i = (int)fi, j = (int)fj;
    i = i < 0 ? 0 : i > t->n - 2 ? t->n - 2 : i;
    j = j < 0 ? 0 : j > t->n - 2 ? t->n - 2 : j;
    double u = fi - i, w = fj - j;
    size_t nn = (size_t)t->n * t->n, k = (size_t)j * t->n + i;
    size_t k1 = k + 1, k2 = k + t->n, k3 = k + t->n + 1;
    for (int c = 0; c < 2; c++) {
        const double *x = t->node_px + c * nn;
        double lo = x[k] * (1 - u) + x[k1] * u, hi = x[k2] * (1 - u) + x[k3] * u;
        double de = ((x[k1] - x[k]) * (1 - w) + (x[k3] - x[k2]) * w) * t->inv_spacing;
        double dn = (hi - lo) * t->inv_spacing;
        p[c] = lo * (1 - w) + hi * w;
        v[c] = de * ae + dn * an;
    }
}

static void ray_pixel(const koi_terrain *t, double s, double ae, double an, double *p, double *v) {
    local_pixel(t, s * ae, s * an, ae, an, p, v);
}

/* Ground distance from (u, w) in the unit square to where a ray moving by (vx, vy) per metre
 * leaves it, overshot by 1/1000 of a DEM step so that the next look-up lands in the next
 * square; INFINITY if the ray does not move. */
static double square_exit(const koi_terrain *t, double u, double w, double vx, double vy) {
    double ds = INFINITY;
    if (vx > 1e-15) ds = (1 - u) / vx;
    if (vx < -1e-15) ds = -u / vx;
    if (vy > 1e-15 && (1 - w) / vy < ds) ds = (1 - w) / vy;
    if (vy < -1e-15 && -w / vy < ds) ds = -w / vy;
    return ds + 1e-3 * t->step;
}

/* Lowest point of the ray between ground distances s and s1. */
static double ray_low(const koi_terrain *t, double k, double s, double s1) {
    return k > 0 ? t->cam_alt - k * s1 : t->cam_alt - k * s;
}

/* Ground distance from s to where the ray leaves its current block of cells, if the ray stays
 * above the block's highest terrain all the way; 0 otherwise (or off the block grid). */
static double block_jump(const koi_terrain *t, double s, double ae, double an, double k) {
    const double b = KOI_TERRAIN_BLOCK;
    double p[2], v[2];
    ray_pixel(t, s, ae, an, p, v);
    double cx = (p[0] - 0.5 - t->bi0) / b, cy = (p[1] - 0.5 - t->bj0) / b;
    if (!(cx >= 0 && cy >= 0)) return 0;
    int bx = (int)cx, by = (int)cy;
    if (bx >= t->nbx || by >= t->nby) return 0;
    double ds = square_exit(t, cx - bx, cy - by, v[0] / b, v[1] / b);
    if (s + ds > t->range) ds = t->range - s;
    return ray_low(t, k, s, s + ds) > t->block_max[(size_t)by * t->nbx + bx] ? ds : 0;
}

/* Height of DEM post (i, j), clamped to the raster as koi_dem_sample clamps; NaN for nodata. */
static double post(const koi_terrain *t, int i, int j) {
    const ko_dem *d = t->dem;
    i = i < 0 ? 0 : i >= d->xsize ? d->xsize - 1 : i;
    j = j < 0 ? 0 : j >= d->ysize ? d->ysize - 1 : j;
    int wi = i - t->bi0, wj = j - t->bj0;
    if (t->win && wi >= 0 && wj >= 0 && wi < t->ww && wj < t->wh)
        return t->win[(size_t)wj * t->ww + wi];
    return koi_dem_pixel(t->dem, i, j);
}

/* The cell (square between four DEM posts) under a point of the ray: its posts, where the
 * point lies in it and how fast the ray crosses it. */
typedef struct cell {
    double z[4]; /* posts at (0,0), (1,0), (0,1), (1,1) of the cell; NaN: nodata */
    double u, w; /* the point's position in the cell, [0, 1) each */
    double v[2]; /* the ray's velocity, cells per metre of ground distance */
    double top;  /* highest post: bounds the bilinear terrain over the whole cell */
    double zs;   /* the terrain at the point, as koi_dem_sample gives it */
} cell;

/* The cell under the local point (e, n) moving along (ae, an), and the ground distance to
 * where it leaves the cell. top and zs are NaN off the DEM or where a post is nodata. */
static double cell_under(const koi_terrain *t, double e, double n, double ae, double an, cell *c) {
    const ko_dem *d = t->dem;
    double p[2];
    local_pixel(t, e, n, ae, an, p, c->v);
    c->top = c->zs = NAN;
    if (!(p[0] >= 0 && p[1] >= 0 && p[0] <= d->xsize && p[1] <= d->ysize)) return t->step;
    double cx = p[0] - 0.5, cy = p[1] - 0.5, fi = floor(cx), fj = floor(cy);
    int i = (int)fi, j = (int)fj;
    double *z = c->z, u = c->u = cx - fi, w = c->w = cy - fj;
    z[0] = post(t, i, j), z[1] = post(t, i + 1, j), z[2] = post(t, i, j + 1);
    z[3] = post(t, i + 1, j + 1);
    if (isnan(z[0]) || isnan(z[1]) || isnan(z[2]) || isnan(z[3])) return t->step;
    c->top = fmax(fmax(z[0], z[1]), fmax(z[2], z[3]));
    c->zs = (z[0] * (1 - u) + z[1] * u) * (1 - w) + (z[2] * (1 - u) + z[3] * u) * w;
    return square_exit(t, u, w, c->v[0], c->v[1]);
}

/* The cell under the ray at s, and the ground distance from s to where the ray leaves it. */
static double cell_at(const koi_terrain *t, double s, double ae, double an, cell *c) {
    return cell_under(t, s * ae, s * an, ae, an, c);
}

/* The first root in (0, tmax] of f0 + f1 t + f2 t^2 with f0 > 0; NaN if none. */
static double first_root(double f0, double f1, double f2, double tmax) {
    double r = NAN;
    if (fabs(f2) * tmax <= 1e-12 * (fabs(f1) + f0 / tmax)) {
        r = f1 < 0 ? -f0 / f1 : NAN;
    } else {
        double disc = f1 * f1 - 4 * f2 * f0;
        if (disc < 0) return NAN;
        double q = -0.5 * (f1 + copysign(sqrt(disc), f1)), r1 = q / f2, r2 = f0 / q;
        r = r1 > 0 && (!(r2 > 0) || r1 < r2) ? r1 : r2 > 0 ? r2 : NAN;
    }
    return r > 0 && r <= tmax ? r : NAN;
}

/* The first crossing within ground distance ds of s, a stretch of the ray inside one cell whose
 * posts are z[4] (at (0,0), (1,0), (0,1), (1,1) of the cell), entered at (u, w) and crossed at
 * v pixels per metre. Along it the bilinear terrain is a quadratic in the ground distance, so
 * the ray's height above it (f > 0 at s) is too, and its first root is exact: a ray passing
 * under a post's peak with both ends of the stretch above the terrain is caught. NaN if the ray
 * stays above the cell. */
static double cell_crossing(const double z[4], double u, double w, const double v[2], double k,
                            double f, double ds) {
    double bu = z[1] - z[0], bw = z[2] - z[0], buw = z[0] - z[1] - z[2] + z[3];
    /* terrain: z0 + bu U + bw W + buw U W with U = u + v0 t, W = w + v1 t */
    double z1 = (bu + buw * w) * v[0] + (bw + buw * u) * v[1], z2 = buw * v[0] * v[1];
    return first_root(f, -k - z1, -z2, ds);
}

/* Follows the ray (azimuth ae, an; descent k per metre) from the camera: 0 and the crossing in
 * *s, 1 if it passes the range limit or climbs away, 2 and where in *s if it meets ground of
 * unknown height. */
static int march(const koi_terrain *t, double ae, double an, double k, double *s_out) {
    /* from: where the last slope jump started (-1: the last step was none); walk_to: a slope
     * jump ended in the terrain, so its bound failed: the stretch is walked cell by cell */
    double s = 0.0, from = -1.0, walk_to = -1.0;
    for (;;) {
        if (t->block_max) { /* skip the blocks the ray clears */
            double jump;
            while (s < t->range && (jump = block_jump(t, s, ae, an, k)) > 0)
                s += jump;
            if (s >= t->range && from < 0) return 1;
        }
        cell c;
        double ds = cell_at(t, fmin(s, t->range), ae, an, &c);
        if (isnan(c.top)) return *s_out = s, 2;
        double zr = t->cam_alt - k * s, f = zr - c.zs, safe = 0; /* no crossing before s + safe */
        if (f < -1e-6 && from >= 0) { /* (a jump may land on the crossing, not in the terrain) */
            walk_to = s, s = from, from = -1.0;
            continue;
        }
        if (f <= 0)
            return *s_out = s, 0;    /* a jump's exact end, or within the 1/1000-step overshoot */
        if (s >= t->range) return 1; /* a jump's end, checked */
        if (t->bounded) {
            /* f can shrink at most by (k + slope) per metre: no crossing before f / rate, nor
             * while the ray is still above the highest terrain of the window. */
            double rate = k + t->slope;
            if (rate <= 0 || (zr > t->zmax && k <= 0)) return 1;
            safe = s >= walk_to ? f / rate : 0;
            if (zr > t->zmax && (zr - t->zmax) / k > safe) safe = (zr - t->zmax) / k;
        }
        int jump = safe >= ds;
        double s1 = fmin(s + (jump ? safe : ds), t->range);
        from = jump ? s : -1.0;
        if (!jump && ray_low(t, k, s, s1) <= c.top) { /* the ray may meet this cell */
            double hit = cell_crossing(c.z, c.u, c.w, c.v, k, f, s1 - s);
            if (!isnan(hit)) return *s_out = s + hit, 0;
        }
        if (s1 >= t->range && !jump) return 1;
        s = s1;
    }
}

/* Along one cell's stretch the terrain minus the segment is the quadratic h0 + h1 t + h2 t^2
 * (t: ground metres, as in cell_crossing); its least and greatest values over [0, len]. */
static void stretch_bounds(const cell *c, double slope, double h0, double len, double *lo,
                           double *hi) {
    const double *z = c->z;
    double bu = z[1] - z[0], bw = z[2] - z[0], buw = z[0] - z[1] - z[2] + z[3];
    double h1 = (bu + buw * c->w) * c->v[0] + (bw + buw * c->u) * c->v[1] - slope;
    double h2 = buw * c->v[0] * c->v[1], end = h0 + h1 * len + h2 * len * len;
    *lo = fmin(h0, end), *hi = fmax(h0, end);
    if (h2 != 0 && -h1 / (2 * h2) > 0 && -h1 / (2 * h2) < len) {
        double v = h0 - h1 * h1 / (4 * h2);
        *lo = fmin(*lo, v), *hi = fmax(*hi, v);
    }
}

/* The terrain along the segment a-b: above: 1 if nowhere below it (by more than a micrometre);
 * !above: 1 if everywhere at least a millimetre below it. 0 if not, -1 at unknown ground. */
static int segment_walk(const koi_terrain *t, const double a[3], const double b[3], int above,
                        double *e, double *n) {
    double de = b[0] - a[0], dn = b[1] - a[1], len = hypot(de, dn);
    if (t->bounded && above && fmax(a[2], b[2]) <= t->zmin) return 1;
    if (t->bounded && !above && fmin(a[2], b[2]) > t->zmax + 1e-3) return 1;
    double ae = len > 0 ? de / len : 1, an = len > 0 ? dn / len : 0;
    double slope = len > 0 ? (b[2] - a[2]) / len : 0;
    for (double l = 0;;) {
        cell c;
        double ds = cell_under(t, a[0] + l * ae, a[1] + l * an, ae, an, &c), lo, hi;
        if (isnan(c.zs)) return *e = a[0] + l * ae, *n = a[1] + l * an, -1;
        stretch_bounds(&c, slope, c.zs - (a[2] + slope * l), fmax(fmin(ds, len - l), 0), &lo, &hi);
        if (above ? lo < -1e-6 : hi > -1e-3) return 0;
        if ((l += ds) >= len) return 1;
    }
}

int koi_terrain_covers(const koi_terrain *t, const double a[3], const double b[3], double *e,
                       double *n) {
    return segment_walk(t, a, b, 1, e, n);
}

/* x range at height y of the pixel-space triangle p, widened by dil; 0 if none. */
static int triangle_row(double p[3][2], double y, double dil, double *x0, double *x1) {
    *x0 = INFINITY, *x1 = -INFINITY;
    for (int k = 0; k < 3; k++) {
        const double *q = p[k], *r = p[(k + 1) % 3];
        if (y < fmin(q[1], r[1]) - dil || y > fmax(q[1], r[1]) + dil) continue;
        double dy = r[1] - q[1];
        if (fabs(dy) > 1e-12) {
            double f = fmin(1, fmax(0, (y - q[1]) / dy)), x = q[0] + f * (r[0] - q[0]);
            *x0 = fmin(*x0, x), *x1 = fmax(*x1, x);
        } else {
            *x0 = fmin(*x0, fmin(q[0], r[0])), *x1 = fmax(*x1, fmax(q[0], r[0]));
        }
    }
    *x0 -= dil, *x1 += dil;
    return *x0 <= *x1;
}

int koi_terrain_wedge_clear(const koi_terrain *t, const double a[3], const double b[3], double *e,
                            double *n) {
    const double eps = 1e-3;
    if (t->bounded && fmin(t->cam_alt, fmin(a[2], b[2])) > t->zmax + eps) return 1;
    int c = segment_walk(t, a, b, 0, e, n);
    if (c <= 0) return c;
    double p[3][2], v[2], z[3] = {t->cam_alt, a[2], b[2]};
    local_pixel(t, 0, 0, 1, 0, p[0], v);
    local_pixel(t, a[0], a[1], 1, 0, p[1], v);
    local_pixel(t, b[0], b[1], 1, 0, p[2], v);
    /* The fan's sides are straight in the local frame, curved in pixels where the DEM's grid
     * turns (a longitude/latitude DEM): the triangle is widened by how far each side's middle
     * strays from the straight side, twice over, and by the mapping grid's error. */
    double dil = 0.02, q[2], loc[3][2] = {{0, 0}, {a[0], a[1]}, {b[0], b[1]}};
    for (int k = 0; k < 3; k++) {
        const double *l0 = loc[k], *l1 = loc[(k + 1) % 3], *p0 = p[k], *p1 = p[(k + 1) % 3];
        local_pixel(t, 0.5 * (l0[0] + l1[0]), 0.5 * (l0[1] + l1[1]), 1, 0, q, v);
        dil =
            fmax(dil, 0.02 + 2 * hypot(q[0] - 0.5 * (p0[0] + p1[0]), q[1] - 0.5 * (p0[1] + p1[1])));
    }
    double ax = p[1][0] - p[0][0], ay = p[1][1] - p[0][1], bx = p[2][0] - p[0][0];
    double by = p[2][1] - p[0][1], det = ax * by - bx * ay;
    if (!(fabs(det) > 1e-12)) return 1; /* no width: its sides are the two rays */
    double y0 = fmin(p[0][1], fmin(p[1][1], p[2][1])), y1 = fmax(p[0][1], fmax(p[1][1], p[2][1]));
    const ko_dem *d = t->dem;
    for (int j = (int)ceil(y0 - 0.5 - dil); j <= (int)floor(y1 - 0.5 + dil); j++) {
        double y = j + 0.5, x0, x1;
        if (!triangle_row(p, y, dil, &x0, &x1)) continue;
        for (int i = (int)ceil(x0 - 0.5); i <= (int)floor(x1 - 0.5); i++) {
            double x = i + 0.5 - p[0][0], yy = y - p[0][1];
            double l1 = (x * by - bx * yy) / det, l2 = (ax * yy - x * ay) / det;
            double zp = i >= 0 && j >= 0 && i < d->xsize && j < d->ysize ? post(t, i, j) : NAN;
            if (isnan(zp)) return *e = l1 * a[0] + l2 * b[0], *n = l1 * a[1] + l2 * b[1], -1;
            if (zp > (1 - l1 - l2) * z[0] + l1 * z[1] + l2 * z[2] - eps) return 0;
        }
    }
    return 1;
}

int koi_terrain_cast(ko_context *ctx, koi_terrain *t, const double d[3], double yaw_deg,
                     double *east, double *north, double *up) {
    double hz = sqrt(d[0] * d[0] + d[1] * d[1]), len = sqrt(hz * hz + d[2] * d[2]);
    double an, ae, s = t->range;
    int c = 1;
    if (hz <= 1e-12 * len) {
        if (d[2] > 0) { /* straight down: the ground under the camera */
            *east = *north = 0.0;
            *up = t->ground;
            return 0;
        }
        an = cos(yaw_deg * PI / 180.0);
        ae = sin(yaw_deg * PI / 180.0);
    } else {
        an = d[0] / hz;
        ae = d[1] / hz;
        double k = d[2] / hz; /* metres of descent per metre of ground distance */
        c = march(t, ae, an, k, &s);
        if (t->dem->io_error) {
            koi_error(ctx, (ko_status)t->dem->io_error, "%s: cannot read the DEM", t->dem->path);
            return -1;
        }
        if (c == 1) s = t->range;
        *up = c == 0 ? t->cam_alt - k * s : NAN;
    }
    if (c) *up = NAN;
    *east = s * ae;
    *north = s * an;
    return c;
}
