/* Terrain ray casting for footprints: each boundary ray is marched over the DEM in the local
 * east/north frame under the camera, in steps of the DEM's resolution (longer where a
 * bound on the terrain's height and slope proves that no crossing can be skipped), and the first
 * crossing is refined by bisection and false position. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "dem.h"

#define PI 3.14159265358979323846
/* Node spacing of the local-to-pixel mapping grid: the mapping is smooth at the scale of the
 * Earth's radius, so bilinear interpolation over 1 km cells is off by about
 * (1 km)^2 / 8 * tan(lat) / 6371 km: 2 cm at 45 deg, 5 cm at 70 deg, far below a DEM pixel. */
#define NODE_SPACING_M 1000.0
#define MAX_NODES 65
/* Largest window (pixels) scanned for height and slope bounds; larger windows march plainly. */
#define MAX_WINDOW_PX (512 * 512)

/* Local east/north metres to DEM pixel coordinates through the node grid. */
static void local_to_pixel(const koi_terrain *t, double e, double n, double *px, double *py) {
    double fi = (e + t->range) * t->inv_spacing, fj = (n + t->range) * t->inv_spacing;
    int i = (int)fi, j = (int)fj; /* truncation: fi, fj >= 0 within the range, and clamped */
    i = i < 0 ? 0 : i > t->n - 2 ? t->n - 2 : i;
    j = j < 0 ? 0 : j > t->n - 2 ? t->n - 2 : j;
    double u = fi - i, v = fj - j;
    size_t nn = (size_t)t->n * t->n, k = (size_t)j * t->n + i;
    const double *x = t->node_px, *y = t->node_px + nn;
    size_t k1 = k + 1, k2 = k + t->n, k3 = k + t->n + 1;
    *px = (x[k] * (1 - u) + x[k1] * u) * (1 - v) + (x[k2] * (1 - u) + x[k3] * u) * v;
    *py = (y[k] * (1 - u) + y[k1] * u) * (1 - v) + (y[k2] * (1 - u) + y[k3] * u) * v;
}

static double terrain_at(const koi_terrain *t, double e, double n) {
    double px, py;
    local_to_pixel(t, e, n, &px, &py);
    return koi_dem_sample(t->dem, px, py);
}

/* DEM pixel coordinates to local east/north metres (exact, through the CRS). */
static int pixel_to_local(ko_context *ctx, const ko_dem *d, double lat0, double lon0, double px,
                          double py, double *e, double *n) {
    double x = d->gt[0] + px * d->gt[1] + py * d->gt[2];
    double y = d->gt[3] + px * d->gt[4] + py * d->gt[5];
    if (d->from_dem && !OCTTransform(d->from_dem, 1, &x, &y, NULL)) return 0;
    koi_wgs84_to_local(ctx, lat0, lon0, y, x, e, n);
    return isfinite(*e) && isfinite(*n);
}

/* Height and slope bounds of the terrain over the pixel window that holds every point a ray
 * can reach. Left unbounded (plain marching) when the window holds nodata or is too large. */
static void scan_window(koi_terrain *t, double dx_m, double dy_m) {
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
    /* A bilinear surface's gradient is bounded by the largest neighbour differences along the
     * (orthogonal) pixel axes; 10 % covers the change of pixel size across the window. */
    t->slope = 1.1 * hypot(gx / dx_m, gy / dy_m);
    t->bounded = 1;
    const int b = KOI_TERRAIN_BLOCK;
    t->nbx = (w - 1 + b - 1) / b;
    t->nby = (h - 1 + b - 1) / b;
    if (t->nbx > 0 && t->nby > 0) t->block_max = koi_calloc((size_t)t->nbx * t->nby, sizeof(float));
    if (t->block_max) {
        t->bi0 = i0;
        t->bj0 = j0;
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
    free(buf);
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

ko_status koi_terrain_begin(ko_context *ctx, ko_dem *d, const ko_pose *p, double range,
                            koi_terrain *t) {
    memset(t, 0, sizeof *t);
    t->dem = d;
    t->range = range;
    if (d->ctx != ctx)
        return koi_error(ctx, KO_ERR_ARG, "%s: the DEM was opened on another context", d->path);
    d->io_error = 0;
    int n = (int)ceil(2.0 * range / NODE_SPACING_M) + 1;
    t->n = n < 3 ? 3 : n > MAX_NODES ? MAX_NODES : n;
    t->spacing = 2.0 * range / (t->n - 1);
    t->inv_spacing = 1.0 / t->spacing;
    size_t nn = (size_t)t->n * t->n;
    t->node_px = koi_calloc(2 * nn, sizeof(double));
    if (!t->node_px) return koi_error(ctx, KO_ERR_NOMEM, "terrain: out of memory");
    for (int j = 0; j < t->n; j++)
        for (int i = 0; i < t->n; i++) {
            size_t k = (size_t)j * t->n + i;
            koi_local_to_wgs84(ctx, p->lat, p->lon, -range + i * t->spacing,
                               -range + j * t->spacing, &t->node_px[nn + k], &t->node_px[k]);
        }
    double cx = p->lon, cy = p->lat;
    if (!koi_dem_to_pixel(d, nn, t->node_px, t->node_px + nn) || !koi_dem_to_pixel(d, 1, &cx, &cy))
        return koi_error(ctx, KO_ERR_NOMEM, "terrain: out of memory");
    if (!smooth_grid(t))
        return koi_error(ctx, KO_ERR_ARG,
                         "%s: the DEM's grid cannot be followed around lat %.6f, lon %.6f (its "
                         "pixels jump there: the antimeridian or a pole of a longitude/latitude "
                         "DEM); a DEM in a projected CRS covers it",
                         d->path, p->lat, p->lon);
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
    double h = t->spacing / 4, xa, ya, xb, yb;
    local_to_pixel(t, h, 0, &xa, &ya);
    local_to_pixel(t, -h, 0, &xb, &yb);
    t->jac[0] = (xa - xb) / (2 * h), t->jac[2] = (ya - yb) / (2 * h);
    local_to_pixel(t, 0, h, &xa, &ya);
    local_to_pixel(t, 0, -h, &xb, &yb);
    t->jac[1] = (xa - xb) / (2 * h), t->jac[3] = (ya - yb) / (2 * h);
    scan_window(t, dx_m, dy_m);
    if (d->io_error)
        return koi_error(ctx, (ko_status)d->io_error, "%s: cannot read the DEM", d->path);
    return KO_OK;
}

void koi_terrain_end(koi_terrain *t) {
    free(t->node_px);
    free(t->block_max);
    t->node_px = NULL;
    t->block_max = NULL;
}

/* Ground distance from s to where the ray leaves its current block of cells, if the ray stays
 * above the block's highest terrain all the way; 0 otherwise (or off the block grid). The exit
 * is overshot by 1/1000 of a pixel so that the next look-up lands in the next block. */
static double block_jump(const koi_terrain *t, double s, double ae, double an, double k) {
    const double b = KOI_TERRAIN_BLOCK;
    double px, py;
    local_to_pixel(t, s * ae, s * an, &px, &py);
    double cx = (px - 0.5 - t->bi0) / b, cy = (py - 0.5 - t->bj0) / b;
    if (!(cx >= 0 && cy >= 0)) return 0;
    int bx = (int)cx, by = (int)cy;
    if (bx >= t->nbx || by >= t->nby) return 0;
    double u = cx - bx, w = cy - by;
    double vx = (t->jac[0] * ae + t->jac[1] * an) / b, vy = (t->jac[2] * ae + t->jac[3] * an) / b;
    double ds = INFINITY;
    if (vx > 1e-15) ds = (1 - u) / vx;
    if (vx < -1e-15) ds = -u / vx;
    if (vy > 1e-15 && (1 - w) / vy < ds) ds = (1 - w) / vy;
    if (vy < -1e-15 && -w / vy < ds) ds = -w / vy;
    ds += 1e-3 * t->step;
    if (s + ds > t->range) ds = t->range - s;
    double low = k > 0 ? t->cam_alt - k * (s + ds) : t->cam_alt - k * s;
    return low > t->block_max[(size_t)by * t->nbx + bx] ? ds : 0;
}

/* The crossing in [a, b] (ray above the terrain at a by fa > 0, at or below it at b):
 * bisection to half a pixel, within which the bilinear terrain along the ray is a smooth
 * quadratic at most, then false position with the Illinois correction to a millimetre of height,
 * and a last secant step on the bracket (exact where the terrain is planar).
 * Returns NaN if the ray passes over nodata on the way. */
static double refine(const koi_terrain *t, double an, double ae, double k, double a, double fa,
                     double b, double fb) {
    for (int it = 0; it < 60 && b - a > t->step / 2; it++) {
        double m = 0.5 * (a + b);
        double z = terrain_at(t, m * ae, m * an);
        if (isnan(z)) return NAN;
        double fm = t->cam_alt - k * m - z;
        if (fm > 0)
            a = m, fa = fm;
        else
            b = m, fb = fm;
    }
    int side = 0;            /* which end the last false-position step moved: 1 = a, -1 = b */
    double wa = fa, wb = fb; /* Illinois weights: f, halved while its end stays put */
    for (int it = 0; it < 6 && b - a > 1e-4 && wa - wb > 0; it++) {
        double m = a + (b - a) * wa / (wa - wb);
        double z = terrain_at(t, m * ae, m * an);
        if (isnan(z)) return NAN;
        double fm = t->cam_alt - k * m - z;
        if (fabs(fm) < 1e-3) return m; /* a millimetre of height */
        if (fm > 0) {
            a = m, fa = wa = fm;
            if (side == 1) wb /= 2;
            side = 1;
        } else {
            b = m, fb = wb = fm;
            if (side == -1) wa /= 2;
            side = -1;
        }
    }
    return fa - fb > 0 ? a + (b - a) * fa / (fa - fb) : b;
}

int koi_terrain_cast(ko_context *ctx, koi_terrain *t, const double d[3], double yaw_deg,
                     double *east, double *north, double *up) {
    double hz = sqrt(d[0] * d[0] + d[1] * d[1]), len = sqrt(hz * hz + d[2] * d[2]);
    double an, ae, void_at = NAN;
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
        double s = 0.0, f = t->cam_alt - t->ground;
        for (;;) {
            if (t->block_max) { /* skip the blocks the ray clears, then sample again */
                double jump, s0 = s;
                while (s < t->range && (jump = block_jump(t, s, ae, an, k)) > 0)
                    s += jump;
                if (s >= t->range) break;
                if (s > s0) {
                    double z = terrain_at(t, s * ae, s * an);
                    if (isnan(z)) {
                        void_at = s;
                        break;
                    }
                    f = t->cam_alt - k * s - z;
                    if (f <= 0) { /* only within the 1/1000-pixel overshoot */
                        *east = s * ae;
                        *north = s * an;
                        *up = z;
                        return 0;
                    }
                }
            }
            double ds = t->step;
            if (t->bounded) {
                /* f can shrink at most by (k + slope) per metre: no crossing before f / rate,
                 * nor while the ray is still above the highest terrain of the window. */
                double rate = k + t->slope, zr = t->cam_alt - k * s;
                if (rate <= 0 || (zr > t->zmax && k <= 0)) break;
                if (f / rate > ds) ds = f / rate;
                if (zr > t->zmax && (zr - t->zmax) / k > ds) ds = (zr - t->zmax) / k;
            }
            double s1 = s + ds < t->range ? s + ds : t->range;
            double z = terrain_at(t, s1 * ae, s1 * an);
            if (isnan(z)) { /* off the DEM or over nodata */
                void_at = s1;
                break;
            }
            double f1 = t->cam_alt - k * s1 - z;
            if (f1 <= 0) {
                double sh = refine(t, an, ae, k, s, f, s1, f1);
                if (isnan(sh)) {
                    void_at = s1;
                    break;
                }
                *east = sh * ae;
                *north = sh * an;
                *up = t->cam_alt - k * sh;
                return 0;
            }
            if (s1 >= t->range) break;
            s = s1;
            f = f1;
        }
        if (t->dem->io_error) {
            koi_error(ctx, (ko_status)t->dem->io_error, "%s: cannot read the DEM", t->dem->path);
            return -1;
        }
    }
    *east = ae * t->range;
    *north = an * t->range;
    *up = NAN;
    if (!isnan(void_at)) { /* the ray went on over ground of unknown height */
        *east = ae * void_at;
        *north = an * void_at;
        return 2;
    }
    return 1;
}
