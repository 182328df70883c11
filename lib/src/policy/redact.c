/* Redaction: which pixels of an image show a disclosed site. The site's buffered geometry,
 * clipped to what the camera sees out to its horizon (view_of()), is carried into the image by the
 * forward camera model (ground -> camera -> Brown distortion -> pixels), filled, and dilated by a
 * margin. The forward model is the exact inverse of the rays the footprint is cast with, so the
 * redacted area is what the verdict saw: on flat ground the ground lies the camera's height below
 * it; on a DEM each ground point stands at the DEM's height there, seen from the camera altitude
 * (or both altitudes) the footprint was cast from. Any failure is an error, never a mask that
 * silently leaves part of a site visible. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_vsi.h>

#include "camera/camera.h"
#include "core/core.h"
#include "meta/meta.h"
#include "sites/sites.h"

/* Projects a ground point into camera pixels: local east/north metres from the camera, the
 * ground `height` below it (flat) or at the DEM's height below cam_alt. */
typedef struct projector {
    const ko_camera *cam;
    koi_intrinsics k;
    koi_rot r;
    double height, lat0, lon0;
    ko_dem *dem;    /* NULL: flat ground */
    double cam_alt; /* with dem: the camera altitude on its datum */
    ko_status err;  /* the first failure (a DEM without data at a point) */
    ko_context *ctx;
} projector;

/* Returns 1 with the pixel, 0 if the point is behind the camera or cannot be placed (then
 * p->err says why). */
static int project(projector *p, double lon, double lat, double *u, double *v) {
    double e, n;
    koi_wgs84_to_local(p->ctx, p->lat0, p->lon0, lat, lon, &e, &n);
    double down = p->height;
    if (p->dem) {
        double z;
        ko_status st = ko_dem_elevation(p->dem, lon, lat, &z);
        if (st) {
            if (!p->err) p->err = st;
            return 0;
        }
        down = p->cam_alt - z;
    }
    const double ned[3] = {n, e, down};
    double b[3];
    for (int i = 0; i < 3; i++) /* body = R^T ned */
        b[i] = p->r.m[0][i] * ned[0] + p->r.m[1][i] * ned[1] + p->r.m[2][i] * ned[2];
    if (b[0] <= 1e-9) return 0;
    double xd, yd;
    koi_distort(p->cam, b[1] / b[0], b[2] / b[0], &xd, &yd);
    *u = p->k.cx + p->k.fx * xd;
    *v = p->k.cy + p->k.fy * yd;
    return isfinite(*u) && isfinite(*v);
}

typedef struct canvas {
    uint8_t *mask;
    uint32_t w, h;
    double *xy; /* polygon being filled, raster pixels */
    size_t n, cap;
} canvas;

static int push(canvas *c, double u, double v) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        double *p = koi_realloc_array(c->xy, cap, 2 * sizeof(double));
        if (!p) return 0;
        c->xy = p;
        c->cap = cap;
    }
    c->xy[2 * c->n] = u;
    c->xy[2 * c->n + 1] = v;
    c->n++;
    return 1;
}

static void stamp(canvas *c, double x, double y) {
    long px = lround(floor(x)), py = lround(floor(y));
    if (px >= 0 && py >= 0 && px < (long)c->w && py < (long)c->h)
        c->mask[(size_t)py * c->w + (size_t)px] = 255;
}

/* Even-odd scanline fill of c->xy, pixel centres inside, plus every vertex (a sliver thinner
 * than a pixel still marks the pixels it passes through). */
static ko_status fill(canvas *c) {
    for (size_t i = 0; i < c->n; i++)
        stamp(c, c->xy[2 * i], c->xy[2 * i + 1]);
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < c->n; i++) {
        ymin = fmin(ymin, c->xy[2 * i + 1]);
        ymax = fmax(ymax, c->xy[2 * i + 1]);
    }
    double *xs = koi_malloc(c->n * sizeof *xs);
    if (!xs) return KO_ERR_NOMEM;
    long y0 = (long)fmax(0, floor(ymin)), y1 = (long)fmin((double)c->h - 1, ceil(ymax));
    for (long y = y0; y <= y1; y++) {
        double yc = y + 0.5;
        size_t k = 0;
        for (size_t i = 0, j = c->n - 1; i < c->n; j = i++) {
            double ya = c->xy[2 * j + 1], yb = c->xy[2 * i + 1];
            if ((ya <= yc) == (yb <= yc)) continue;
            double xa = c->xy[2 * j], xb = c->xy[2 * i];
            xs[k++] = xa + (yc - ya) / (yb - ya) * (xb - xa);
        }
        for (size_t a = 1; a < k; a++) /* insertion sort: few crossings per row */
            for (size_t b = a; b > 0 && xs[b - 1] > xs[b]; b--) {
                double t = xs[b];
                xs[b] = xs[b - 1];
                xs[b - 1] = t;
            }
        for (size_t a = 0; a + 1 < k; a += 2) {
            long xa = (long)fmax(0, ceil(xs[a] - 0.5)),
                 xb = (long)fmin((double)c->w - 1, floor(xs[a + 1] - 0.5));
            for (long x = xa; x <= xb; x++)
                c->mask[(size_t)y * c->w + (size_t)x] = 255;
        }
    }
    free(xs);
    return KO_OK;
}

static ko_status geos_error(projector *p, const char *what) {
    return koi_error(p->ctx, KO_ERR_GEOS, "redaction: GEOS cannot read the %s of a site", what);
}

/* A ring: its edges densified (distortion bends straight ground lines), projected, filled. */
static ko_status ring(projector *p, canvas *c, GEOSContextHandle_t h,
                      const GEOSGeometry *ring_geom) {
    const GEOSCoordSequence *cs = ring_geom ? GEOSGeom_getCoordSeq_r(h, ring_geom) : NULL;
    unsigned int n = 0;
    if (!cs || !GEOSCoordSeq_getSize_r(h, cs, &n)) return geos_error(p, "ring");
    if (n == 0) return KO_OK;
    c->n = 0;
    double px = 0, py = 0;
    for (unsigned int i = 0; i < n; i++) {
        double x, y, u, v;
        if (!GEOSCoordSeq_getXY_r(h, cs, i, &x, &y)) return geos_error(p, "ring");
        int steps = i ? 16 : 1;
        for (int s = 1; s <= steps; s++) {
            double t = (double)s / steps;
            double lx = i ? px + (x - px) * t : x, ly = i ? py + (y - py) * t : y;
            if (project(p, lx, ly, &u, &v) && !push(c, u, v))
                return koi_error(p->ctx, KO_ERR_NOMEM, "redaction: out of memory");
        }
        px = x, py = y;
    }
    if (p->err) return p->err;
    if (c->n && fill(c)) return koi_error(p->ctx, KO_ERR_NOMEM, "redaction: out of memory");
    return KO_OK;
}

/* Every pixel the segment from (ua, va) to (ub, vb) passes through, at steps of a quarter
 * pixel, after clipping it to the image (Liang-Barsky) so that the steps stay that fine. */
static void segment(canvas *c, double ua, double va, double ub, double vb) {
    double du = ub - ua, dv = vb - va, t0 = 0, t1 = 1;
    const double pq[4][2] = {
        {-du, ua + 1}, {du, c->w + 1 - ua}, {-dv, va + 1}, {dv, c->h + 1 - va}};
    for (int i = 0; i < 4; i++) {
        if (pq[i][0] == 0) {
            if (pq[i][1] < 0) return; /* parallel to this edge and outside it */
            continue;
        }
        double t = pq[i][1] / pq[i][0];
        if (pq[i][0] < 0)
            t0 = fmax(t0, t);
        else
            t1 = fmin(t1, t);
    }
    if (!(t0 <= t1)) return;
    double len = hypot(du, dv) * (t1 - t0);
    long steps = (long)ceil(4 * len) + 1;
    for (long k = 0; k <= steps; k++) {
        double t = t0 + (t1 - t0) * (double)k / (double)steps;
        stamp(c, ua + du * t, va + dv * t);
    }
}

/* Points, or a line (a pipeline or fence stored with no buffer): its edges densified on the
 * ground (the lens bends them), projected, and drawn pixel by pixel between neighbours both
 * in front of the camera (adversary adv23d: only the vertices were stamped, and 1,317 of a
 * line's 1,477 pixels were released). */
static ko_status line(projector *p, canvas *c, GEOSContextHandle_t h, const GEOSGeometry *g,
                      int joined) {
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, g);
    unsigned int n = 0;
    if (!cs || !GEOSCoordSeq_getSize_r(h, cs, &n)) return geos_error(p, "points");
    double px = 0, py = 0, pu = 0, pv = 0;
    int have = 0; /* the previous projected point is valid */
    for (unsigned int i = 0; i < n; i++) {
        double x, y, u = 0, v = 0; /* set by project() when it returns 1 */
        if (!GEOSCoordSeq_getXY_r(h, cs, i, &x, &y)) return geos_error(p, "points");
        int steps = i && joined ? 16 : 1;
        for (int s = 1; s <= steps; s++) {
            double t = (double)s / steps;
            double lx = steps > 1 ? px + (x - px) * t : x, ly = steps > 1 ? py + (y - py) * t : y;
            int ok = project(p, lx, ly, &u, &v);
            if (ok) stamp(c, u, v);
            if (ok && have && joined) segment(c, pu, pv, u, v);
            have = ok, pu = u, pv = v;
        }
        px = x, py = y;
    }
    return p->err;
}

static ko_status geometry(projector *p, canvas *c, GEOSContextHandle_t h, const GEOSGeometry *g) {
    int type = GEOSGeomTypeId_r(h, g);
    if (type < 0) return geos_error(p, "type");
    if (type == GEOS_POLYGON) /* holes are filled too: redaction errs towards more */
        return ring(p, c, h, GEOSGetExteriorRing_r(h, g));
    if (type == GEOS_POINT || type == GEOS_LINESTRING || type == GEOS_LINEARRING) {
        if (GEOSisEmpty_r(h, g) == 1) return KO_OK;
        return line(p, c, h, g, type != GEOS_POINT);
    }
    int parts = GEOSGetNumGeometries_r(h, g);
    if (parts < 0) return geos_error(p, "parts");
    for (int i = 0; i < parts; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
        if (!part) return geos_error(p, "parts");
        ko_status st = geometry(p, c, h, part);
        if (st) return st;
    }
    return KO_OK;
}

/* Square dilation by r pixels, separable: rows then columns, each a running window count. */
static ko_status dilate(ko_context *ctx, uint8_t *m, uint32_t w, uint32_t h, int r) {
    if (r <= 0) return KO_OK;
    size_t len = w > h ? w : h;
    uint8_t *line = koi_malloc(len);
    if (!line) return koi_error(ctx, KO_ERR_NOMEM, "redaction: out of memory");
    for (int pass = 0; pass < 2; pass++) {
        uint32_t lines = pass ? w : h, n = pass ? h : w;
        size_t step = pass ? w : 1, stride = pass ? 1 : w;
        for (uint32_t l = 0; l < lines; l++) {
            uint8_t *p = m + (size_t)l * stride;
            for (uint32_t i = 0; i < n; i++)
                line[i] = p[i * step];
            long count = 0;
            for (long i = 0; i < (long)n + r; i++) {
                if (i < (long)n && line[i]) count++;
                if (i - 2 * r - 1 >= 0 && line[i - 2 * r - 1]) count--;
                long at = i - r;
                if (at >= 0 && at < (long)n) p[(size_t)at * step] = count ? 255 : 0;
            }
        }
    }
    free(line);
    return KO_OK;
}

static ko_status site_geometry(ko_sites *s, int64_t id, GEOSGeometry **out) {
    ko_status sst = koi_sites_spatialite(s);
    if (sst) return sst;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT AsBinary(geom_buffered) FROM sites WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return koi_error(s->ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
    sqlite3_bind_int64(st, 1, id);
    ko_status rc = KO_OK;
    *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_blob(st, 0))
        *out = GEOSWKBReader_read_r(s->ctx->geos, s->wkbr, sqlite3_column_blob(st, 0),
                                    (size_t)sqlite3_column_bytes(st, 0));
    if (!*out) rc = koi_error(s->ctx, KO_ERR_DB, "site %lld: no readable geometry", (long long)id);
    sqlite3_finalize(st);
    return rc;
}

/* The projection of one site (clipped to the view if GEOS can) from every camera altitude the
 * footprint was cast from. */
static ko_status redact_site(projector *p, canvas *c, GEOSContextHandle_t h,
                             const GEOSGeometry *site, const GEOSGeometry *foot, const double *alts,
                             int n_alts) {
    GEOSGeometry *seen = GEOSIntersection_r(h, site, foot);
    ko_status st = KO_OK;
    /* if the overlay fails, redact the whole site as projected */
    for (int a = 0; !st && a < (n_alts ? n_alts : 1); a++) {
        p->cam_alt = n_alts ? alts[a] : NAN;
        st = geometry(p, c, h, seen ? seen : site);
    }
    if (seen) GEOSGeom_destroy_r(h, seen);
    if (st == KO_ERR_NOT_FOUND) {
        char why[KOI_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", ko_errmsg(p->ctx));
        return koi_error(p->ctx, KO_ERR_NOT_FOUND,
                         "redaction: the DEM has no elevation under part of the site, so its "
                         "pixels cannot be placed (%s)",
                         why);
    }
    return st;
}

/* A footprint as a GEOS polygon (NULL on failure). */
static GEOSGeometry *polygon_of(GEOSContextHandle_t h, const ko_footprint *fp) {
    size_t n;
    const double *ring_ll = ko_footprint_ring(fp, &n);
    GEOSCoordSequence *cs = ring_ll && n >= 4 ? GEOSCoordSeq_create_r(h, (unsigned)n, 2) : NULL;
    for (size_t i = 0; cs && i < n; i++)
        GEOSCoordSeq_setXY_r(h, cs, (unsigned)i, ring_ll[2 * i], ring_ll[2 * i + 1]);
    GEOSGeometry *shell = cs ? GEOSGeom_createLinearRing_r(h, cs) : NULL;
    return shell ? GEOSGeom_createPolygon_r(h, shell, NULL, 0) : NULL;
}

/* How far a disclosed site is blanked: the ground the camera sees out to its horizon plus
 * that of a 100 m structure (sqrt(2 R h) each), at least 10 km. The verdict's footprint stops
 * at the range limit, and a site flagged for its near part still shows beyond it, up to the
 * horizon: clipped to the footprint, the far part of a 6 km site 1.5-10 km ahead was left in
 * view (adversary adv23c, 39,903 of 62,298 pixels). */
static double view_range(double height_m) {
    const double r = 6371000.0;
    double h = isfinite(height_m) && height_m > 1 ? height_m : 1;
    return fmax(10000.0, sqrt(2 * r * h) + sqrt(2 * r * 100.0));
}

/* How far from the camera the disclosed sites of res reach: the farthest corner of their
 * bounding boxes, in metres. */
static ko_status sites_reach(ko_context *ctx, ko_sites *sites, const ko_shot *shot,
                             const ko_result *res, double *reach) {
    GEOSContextHandle_t h = ctx->geos;
    *reach = 0;
    for (size_t i = 0; i < ko_result_count(res); i++) {
        const ko_finding *f = ko_result_finding(res, i);
        if (!f->disclosed) continue;
        GEOSGeometry *site = NULL;
        ko_status st = site_geometry(sites, f->site->site_id, &site);
        if (st) return st;
        double box[4];
        int ok = GEOSGeom_getXMin_r(h, site, &box[0]) && GEOSGeom_getYMin_r(h, site, &box[1]) &&
                 GEOSGeom_getXMax_r(h, site, &box[2]) && GEOSGeom_getYMax_r(h, site, &box[3]);
        GEOSGeom_destroy_r(h, site);
        if (!ok) return koi_error(ctx, KO_ERR_GEOS, "redaction: GEOS cannot bound a site");
        for (int k = 0; k < 4; k++) {
            double e, n;
            koi_wgs84_to_local(ctx, shot->pose.lat, shot->pose.lon, box[1 + (k & 2)],
                               box[k & 1 ? 2 : 0], &e, &n);
            *reach = fmax(*reach, hypot(e, n));
        }
    }
    return KO_OK;
}

/* What the camera sees, for clipping sites: the verdict's footprint joined with one cast with
 * no GSD cut as far as the sites reach, up to view_range() (rays aimed at the sky end there
 * too): no farther, so that a DEM need cover no more than the sites' distance. */
static ko_status view_of(ko_context *ctx, const ko_shot *shot, ko_dem *dem,
                         const ko_footprint *verdict_fp, double reach, GEOSGeometry **out) {
    GEOSContextHandle_t h = ctx->geos;
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.max_range_m = fmin(view_range(shot->pose.height_m), fmax(1.05 * reach + 100, 1000));
    o.gsd_limit_m = NAN;
    o.dem = dem;
    ko_footprint *far = NULL;
    ko_status st = ko_footprint_compute(ctx, &shot->camera, &shot->pose, &o, &far);
    if (st) {
        char why[KOI_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", ko_errmsg(ctx));
        return koi_error(ctx, st, "redaction: cannot cast the view to the horizon (%s)", why);
    }
    GEOSGeometry *a = polygon_of(h, verdict_fp), *b = polygon_of(h, far);
    ko_footprint_destroy(far);
    *out = a && b ? GEOSUnion_r(h, a, b) : NULL;
    if (a) GEOSGeom_destroy_r(h, a);
    if (b) GEOSGeom_destroy_r(h, b);
    return *out ? KO_OK : koi_error(ctx, KO_ERR_GEOS, "redaction: cannot build the view");
}

/* The mask is drawn in the camera's own pixels, so the image must be the frame the camera
 * recorded. A resized copy with the original metadata, a crop of the frame and a rotated copy
 * all differ from the frame the file states, and scaling the camera to their grid would blank
 * the wrong pixels (a centred half-size crop, scaled, leaves most of the site in view): they
 * are refused, to be held, as is a camera whose frame is not known. */
static ko_status frame_check(ko_context *ctx, const ko_camera *cam, uint32_t width,
                             uint32_t height) {
    if (cam->width_px == width && cam->height_px == height) return KO_OK;
    /* the frame is a crop of the camera's sensor, place unknown: see window_or() */
    if ((cam->width_px == width && cam->height_px > height) ||
        (cam->height_px == height && cam->width_px > width))
        return KO_OK;
    if (!cam->width_px || !cam->height_px)
        return koi_error(ctx, KO_ERR_UNSUPPORTED,
                         "redaction: the camera's frame size is not known, so the %ux%u image "
                         "cannot be shown to be the frame the site was seen in",
                         (unsigned)width, (unsigned)height);
    return koi_error(ctx, KO_ERR_UNSUPPORTED,
                     "redaction: the image is %ux%u pixels but its camera recorded a %ux%u frame "
                     "(as its metadata states): a resized, cropped or rotated copy cannot be "
                     "redacted, because where the site lies in it is not known; redact the "
                     "camera's original file",
                     (unsigned)width, (unsigned)height, (unsigned)cam->width_px,
                     (unsigned)cam->height_px);
}

/* The image is a full-width (or full-height) window of the camera's w x h frame at a place
 * that is not known (a camera's 16:9 mode, centred, or an editor's crop of that shape,
 * anywhere: camera.h, koi_camera_fit_whole): an image pixel is blanked if the site covers the
 * frame pixel it shows at any of the window's places. */
static void window_or(const uint8_t *full, uint32_t fw, uint32_t fh, uint8_t *m, uint32_t w,
                      uint32_t h) {
    int down = fh > h; /* rows were cut away: the window slides down the columns */
    uint32_t slack = down ? fh - h : fw - w, lines = down ? w : h, n = down ? h : w;
    size_t fstep = down ? fw : 1, mstep = down ? w : 1;
    for (uint32_t l = 0; l < lines; l++) {
        const uint8_t *f = full + (down ? l : (size_t)l * fw);
        uint8_t *p = m + (down ? l : (size_t)l * w);
        size_t count = 0;
        for (uint32_t k = 0; k < slack; k++)
            count += f[k * fstep] != 0;
        for (uint32_t i = 0; i < n; i++) {
            count += f[(size_t)(i + slack) * fstep] != 0;
            p[i * mstep] = count ? 255 : 0;
            count -= f[i * fstep] != 0;
        }
    }
}

/* The diagonal field of view, degrees, of a frame of sensor w x h mm behind focal f mm. */
static double diagonal_fov(double w, double h, double f) {
    return 2 * atan(sqrt(w * w + h * h) / (2 * f)) * 180 / M_PI;
}

/* Signs, in what an editor leaves alone, that a photo whose stated size matches its pixels is
 * still not the frame its camera recorded (adversary: a crop, a 90-degree turn or a resize
 * with PixelXDimension/PixelYDimension rewritten to match were redacted as whole frames, and
 * left half the site in view): its camera model in the camera table records frames as wide or
 * as high as its sensor, in the sensor's orientation (a crop or resize is neither; a DJI 16:9
 * frame is as wide); and the field of view of its camera model is not narrower than its 35
 * mm-equivalent focal length says (FocalLengthIn35mmFormat, which editors keep, while the
 * pixel-derived focal or sensor size follows the new size). 1 with why if one is seen. */
static int edited_frame(ko_context *ctx, const ko_shot *shot, uint32_t w, uint32_t h, char *why,
                        size_t size) {
    koi_image_meta m;
    koi_image_meta_init(&m);
    VSIStatBufL st; /* no file: a shot the caller made, whose camera model is the caller's */
    if (!shot->source || VSIStatL(shot->source, &st) != 0) return 0;
    if (koi_jpeg_meta_read(ctx, shot->source, &m) != KO_OK) {
        snprintf(why, size, "its header cannot be read again to show it is the camera's frame");
        return 1;
    }
    ko_camera t;
    /* Only the camera table fixes the size of the frame a camera records: a camera known by
     * its 35 mm-equivalent focal length (or named by the user) makes a same-shape crop look
     * like a scaled copy of the whole frame, and its mask lands at the wrong scale (adversary
     * adv25: a top-left 1600 x 900 of a 4000 x 2250 frame, the site's pixels left). */
    if (!m.model[0] || ko_camera_lookup(ctx, m.make, m.model, &t) != KO_OK) {
        snprintf(why, size,
                 "its camera (%s %s) is not in the camera table, so the size of the frame it "
                 "records is not known and a crop cannot be told from the whole frame",
                 m.make[0] ? m.make : "no Make", m.model[0] ? m.model : "no Model");
        return 1;
    }
    if (t.width_px && t.height_px &&
        ((w != t.width_px && h != t.height_px) || (w > h) != (t.width_px > t.height_px))) {
        snprintf(why, size,
                 "the %s %s records %ux%u frames (or as wide or as high, in that orientation), "
                 "and this one is %ux%u: a cropped, turned or resized copy",
                 m.make, m.model, (unsigned)t.width_px, (unsigned)t.height_px, (unsigned)w,
                 (unsigned)h);
        return 1;
    }
    const ko_camera *c = &shot->camera;
    if (m.focal35_mm > 0 && c->focal_mm > 0 && c->sensor_w_mm > 0 && c->sensor_h_mm > 0) {
        double have = diagonal_fov(c->sensor_w_mm, c->sensor_h_mm, c->focal_mm);
        double said = diagonal_fov(36, 24, m.focal35_mm);
        if (have < 0.9 * said) {
            snprintf(why, size,
                     "its camera model sees %.1f degrees across the diagonal, its 35 "
                     "mm-equivalent focal length of %g mm says %.1f: a cropped or resized copy",
                     have, m.focal35_mm, said);
            return 1;
        }
    }
    return 0;
}

ko_status ko_redact_mask(ko_context *ctx, ko_sites *sites, ko_dem *dem, const ko_shot *shot,
                         const ko_result *res, uint32_t width, uint32_t height, double margin_px,
                         uint8_t *mask, size_t *n_redacted) {
    if (!ctx || !sites || !shot || !res || !mask || !width || !height)
        return koi_error(ctx, KO_ERR_ARG, "redaction: bad argument");
    memset(mask, 0, (size_t)width * height);
    if (n_redacted) *n_redacted = 0;
    if (ko_result_verdict(res) != KO_FLAGGED) return KO_OK;
    ko_status gst = frame_check(ctx, &shot->camera, width, height);
    if (gst) return gst;
    char edited[320];
    if (edited_frame(ctx, shot, width, height, edited, sizeof edited))
        return koi_error(ctx, KO_ERR_UNSUPPORTED,
                         "redaction: %s is not the frame its camera recorded: %s; where the "
                         "site lies in it is not known, so redact the camera's original file",
                         shot->source ? shot->source : "the image", edited);
    const ko_footprint *fp = ko_result_footprint(res);
    if (!fp) return koi_error(ctx, KO_ERR_ARG, "redaction: a flagged result without a footprint");
    double alts[2];
    int n_alts = koi_footprint_camera_alts(fp, alts);
    if (!dem != !n_alts)
        return koi_error(ctx, KO_ERR_ARG,
                         dem ? "redaction: a DEM is given but the verdict's footprint was cast "
                               "on flat ground; check the shot with the same DEM"
                             : "redaction: the verdict's footprint was cast on a DEM; redaction "
                               "needs the same DEM");
    projector p;
    memset(&p, 0, sizeof p);
    p.cam = &shot->camera;
    p.height = shot->pose.height_m;
    p.lat0 = shot->pose.lat;
    p.lon0 = shot->pose.lon;
    p.dem = dem;
    p.ctx = ctx;
    koi_intrinsics_from(&shot->camera, &p.k);
    koi_rotation(shot->pose.yaw_deg, shot->pose.pitch_deg, shot->pose.roll_deg, &p.r);
    /* Drawn in the camera's pixels: the image's, or the sensor's whole frame of which the
     * image is a window (frame_check). */
    uint32_t fw = shot->camera.width_px, fh = shot->camera.height_px;
    uint8_t *full = fw == width && fh == height ? mask : koi_calloc((size_t)fw * fh, 1);
    if (!full) return koi_error(ctx, KO_ERR_NOMEM, "redaction: out of memory");
    canvas c = {full, fw, fh, NULL, 0, 0};
    GEOSContextHandle_t h = ctx->geos;
    GEOSGeometry *foot = NULL;
    double reach;
    ko_status st = sites_reach(ctx, sites, shot, res, &reach);
    if (!st) st = view_of(ctx, shot, dem, fp, reach, &foot);
    if (st) {
        if (full != mask) free(full);
        return st;
    }
    for (size_t i = 0; !st && i < ko_result_count(res); i++) {
        const ko_finding *f = ko_result_finding(res, i);
        if (!f->disclosed) continue;
        GEOSGeometry *site = NULL;
        if ((st = site_geometry(sites, f->site->site_id, &site))) break;
        st = redact_site(&p, &c, h, site, foot, alts, n_alts);
        GEOSGeom_destroy_r(h, site);
    }
    GEOSGeom_destroy_r(h, foot);
    free(c.xy);
    if (full != mask) {
        if (!st) window_or(full, fw, fh, mask, width, height);
        free(full);
    }
    if (!st) st = dilate(ctx, mask, width, height, (int)ceil(margin_px));
    if (!st && n_redacted) {
        size_t k = 0;
        for (size_t i = 0; i < (size_t)width * height; i++)
            k += mask[i] != 0;
        *n_redacted = k;
    }
    return st;
}
