/* Footprint queries: candidates from the on-disk SpatiaLite R-tree or from the in-memory
 * packed index, then an exact test against the prepared footprint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "geo/geo.h"
#include "sites/sites.h"

/* ---------------------------------------------------------------- hits ------------------- */

/* A hit and the local east/north box (metres from the camera) of the part of the site in view,
 * for its GSD (koi_hits_part_box). */
typedef struct koi_hit {
    ko_site_hit pub; /* first: ko_hits_get() hands out &pub */
    double box[4];
} koi_hit;

struct ko_hits {
    size_t n, cap;
    koi_hit *hits;
    char *arena; /* the hits' strings */
    size_t arena_len, arena_cap;
};

size_t ko_hits_count(const ko_hits *h) {
    return h ? h->n : 0;
}

const ko_site_hit *ko_hits_get(const ko_hits *h, size_t i) {
    return h && i < h->n ? &h->hits[i].pub : NULL;
}

const double *koi_hits_part_box(const ko_hits *h, size_t i) {
    return h && i < h->n ? h->hits[i].box : NULL;
}

void ko_hits_destroy(ko_hits *h) {
    if (!h) return;
    free(h->hits);
    free(h->arena);
    free(h);
}

/* Strings are stored as offsets while the arena grows, turned into pointers at the end. */
static int arena_add(ko_hits *h, const char *s, size_t *off) {
    if (!s) s = "";
    size_t n = strlen(s) + 1;
    if (h->arena_len + n > h->arena_cap) {
        size_t cap = h->arena_cap ? 2 * h->arena_cap : 256;
        while (cap < h->arena_len + n)
            cap *= 2;
        char *a = koi_realloc_array(h->arena, cap, 1);
        if (!a) return 0;
        h->arena = a;
        h->arena_cap = cap;
    }
    memcpy(h->arena + h->arena_len, s, n);
    *off = h->arena_len;
    h->arena_len += n;
    return 1;
}

typedef struct strs {
    const char *name, *category, *source, *source_id;
} strs;

static int add_hit(ko_hits *h, const ko_site_hit *hit, const double *box, const strs *s) {
    /* A site cut at the antimeridian is met by the box search and by its shift by 360: its
     * parts are one hit (the nearer part's distance, the fractions added, the boxes joined). */
    for (size_t i = 0; i < h->n; i++) {
        koi_hit *e = &h->hits[i];
        if (e->pub.site_id != hit->site_id) continue;
        if (hit->distance_m < e->pub.distance_m) {
            e->pub.distance_m = hit->distance_m;
            e->pub.nearest_lon = hit->nearest_lon;
            e->pub.nearest_lat = hit->nearest_lat;
        }
        e->pub.overlap = fmin(1.0, e->pub.overlap + hit->overlap);
        e->box[0] = fmin(e->box[0], box[0]), e->box[1] = fmin(e->box[1], box[1]);
        e->box[2] = fmax(e->box[2], box[2]), e->box[3] = fmax(e->box[3], box[3]);
        return 1;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 8;
        koi_hit *a = koi_realloc_array(h->hits, cap, sizeof *a);
        if (!a) return 0;
        h->hits = a;
        h->cap = cap;
    }
    memcpy(h->hits[h->n].box, box, sizeof h->hits[h->n].box);
    ko_site_hit *d = &h->hits[h->n].pub;
    *d = *hit;
    size_t o[4];
    if (!arena_add(h, s->name, &o[0]) || !arena_add(h, s->category, &o[1]) ||
        !arena_add(h, s->source, &o[2]) || !arena_add(h, s->source_id, &o[3]))
        return 0;
    d->name = (const char *)(uintptr_t)o[0];
    d->category = (const char *)(uintptr_t)o[1];
    d->source = (const char *)(uintptr_t)o[2];
    d->source_id = (const char *)(uintptr_t)o[3];
    h->n++;
    return 1;
}

static int by_distance(const void *a, const void *b) {
    const ko_site_hit *x = &((const koi_hit *)a)->pub, *y = &((const koi_hit *)b)->pub;
    if (x->distance_m != y->distance_m) return x->distance_m < y->distance_m ? -1 : 1;
    return x->site_id < y->site_id ? -1 : x->site_id > y->site_id;
}

static void finish_hits(ko_hits *h) {
    for (size_t i = 0; i < h->n; i++) {
        ko_site_hit *d = &h->hits[i].pub;
        d->name = h->arena + (uintptr_t)d->name;
        d->category = h->arena + (uintptr_t)d->category;
        d->source = h->arena + (uintptr_t)d->source;
        d->source_id = h->arena + (uintptr_t)d->source_id;
        d->nearest_lon = remainder(d->nearest_lon, 360.0);
    }
    if (h->n > 1) qsort(h->hits, h->n, sizeof *h->hits, by_distance);
}

/* ---------------------------------------------------------------- box filter ------------- */

/* 1 if segment a-b may touch the box (conservative). */
static int segment_touches_box(double ax, double ay, double bx, double by, double minx, double miny,
                               double maxx, double maxy) {
    /* (comparisons, not fmin/fmax: those are libm calls here, and this is the hot loop) */
    if ((ax < minx && bx < minx) || (ax > maxx && bx > maxx) || (ay < miny && by < miny) ||
        (ay > maxy && by > maxy))
        return 0;
    double s0 = koi_side(ax, ay, bx, by, minx, miny), s1 = koi_side(ax, ay, bx, by, maxx, miny),
           s2 = koi_side(ax, ay, bx, by, maxx, maxy), s3 = koi_side(ax, ay, bx, by, minx, maxy);
    return !((s0 > 0 && s1 > 0 && s2 > 0 && s3 > 0) || (s0 < 0 && s1 < 0 && s2 < 0 && s3 < 0));
}

int koi_box_vs_ring(const double *ring, size_t n, double minx, double miny, double maxx,
                    double maxy) {
    /* A margin far above rounding errors of degree coordinates (1e-9 deg ~ 0.1 mm) and far
     * below anything that matters: within it, GEOS decides. */
    const double eps = 1e-9;
    minx -= eps, miny -= eps, maxx += eps, maxy += eps;
    for (size_t i = 0; i + 1 < n; i++)
        if (segment_touches_box(ring[2 * i], ring[2 * i + 1], ring[2 * i + 2], ring[2 * i + 3],
                                minx, miny, maxx, maxy))
            return KOI_BOX_UNKNOWN;
    /* No edge near the box: it lies wholly inside or wholly outside; its centre tells. */
    return koi_in_ring(ring, n, (minx + maxx) / 2, (miny + maxy) / 2) ? KOI_BOX_INSIDE
                                                                      : KOI_BOX_OUTSIDE;
}

/* ---------------------------------------------------------------- exact test ------------- */

/* Boundaries of two closed rings: 1 if they properly cross, 0 if they stay more than a
 * margin apart, -1 if some edge comes within the margin of the other ring (undecided). */
static int rings_cross(const double *a, size_t na, const double *b, size_t nb) {
    const double eps = 1e-9;
    int cross = 0;
    double bx0, by0, bx1, by1;
    koi_ring_box(b, nb, &bx0, &by0, &bx1, &by1); /* b's own: the index's float box is wider */
    for (size_t i = 0; i + 1 < na; i++) {
        double ax = a[2 * i], ay = a[2 * i + 1], bx = a[2 * i + 2], by = a[2 * i + 3];
        double x0 = (ax < bx ? ax : bx) - eps, x1 = (ax < bx ? bx : ax) + eps;
        double y0 = (ay < by ? ay : by) - eps, y1 = (ay < by ? by : ay) + eps;
        if (x1 < bx0 || x0 > bx1 || y1 < by0 || y0 > by1) continue; /* clear of b's box */
        for (size_t j = 0; j + 1 < nb; j++) {
            double t;
            int rel = koi_seg_relation(a + 2 * i, b + 2 * j, eps, &t);
            /* An endpoint near the other segment's line: near each other only if the endpoint
             * is also near the segment itself; let GEOS decide either way. */
            if (rel < 0) return -1;
            if (rel > 0) cross = 1;
        }
    }
    return cross;
}

int koi_ring_vs_flat(const double *ring, size_t n, const koi_site *v) {
    const double *s = v->xy;
    size_t m = v->m;
    double pt[4];
    if (v->kind == KOI_SITE_POINT && m == 1) {
        /* A point: a zero-length "ring" of two equal points. */
        pt[0] = pt[2] = s[0], pt[1] = pt[3] = s[1];
        s = pt, m = 2;
    } else if (v->kind != KOI_SITE_POLYGON || m < 4) {
        return KOI_GEOM_UNKNOWN;
    }
    /* Past this the O(n m) edge pairs cost more than GEOS's prepared test. */
    if (m * n > 8192) return KOI_GEOM_UNKNOWN;
    int c = rings_cross(ring, n, s, m);
    if (c < 0) return KOI_GEOM_UNKNOWN;
    if (c > 0) return KOI_GEOM_INTERSECTS;
    /* Boundaries apart: nested or disjoint. */
    if (koi_in_ring(ring, n, s[0], s[1])) return KOI_GEOM_INSIDE;
    if (v->kind == KOI_SITE_POLYGON && koi_in_ring(s, m, ring[0], ring[1]))
        return KOI_GEOM_INTERSECTS;
    return KOI_GEOM_DISJOINT;
}

/* Fills v's shape from a GEOS geometry: flat (coordinates copied to buf, cap points) when it
 * is a hole-free polygon or a point that fits, else KOI_SITE_OTHER with v->geom = g. */
static void site_shape(GEOSContextHandle_t h, const GEOSGeometry *g, double *buf, size_t cap,
                       koi_site *v) {
    v->kind = KOI_SITE_OTHER, v->geom = g, v->xy = NULL, v->m = 0;
    int type = GEOSGeomTypeId_r(h, g);
    const GEOSGeometry *shell = NULL;
    if (type == GEOS_POLYGON && GEOSGetNumInteriorRings_r(h, g) == 0)
        shell = GEOSGetExteriorRing_r(h, g);
    else if (type == GEOS_POINT && GEOSisEmpty_r(h, g) == 0)
        shell = g;
    const GEOSCoordSequence *cs = shell ? GEOSGeom_getCoordSeq_r(h, shell) : NULL;
    unsigned int m = 0;
    if (!cs || !GEOSCoordSeq_getSize_r(h, cs, &m) || m == 0 || m > cap ||
        !GEOSCoordSeq_copyToBuffer_r(h, cs, buf, 0, 0))
        return;
    if (type == GEOS_POLYGON && m < 4) return;
    v->kind = type == GEOS_POINT ? KOI_SITE_POINT : KOI_SITE_POLYGON;
    v->xy = buf, v->m = m, v->geom = NULL;
}

enum { SITE_MAXV = 512 };

int koi_ring_vs_site(GEOSContextHandle_t h, const double *ring, size_t n,
                     const GEOSGeometry *site) {
    double buf[2 * SITE_MAXV];
    koi_site v;
    site_shape(h, site, buf, SITE_MAXV, &v);
    return koi_ring_vs_flat(ring, n, &v);
}

/* ---------------------------------------------------------------- one query -------------- */

typedef struct query {
    ko_sites *s;
    ko_context *ctx;
    const double *ring;
    size_t n;
    double cam_lon, cam_lat;
    double kx, ky; /* metres per degree of longitude / latitude at the camera */
    /* Over the ring's latitudes a degree of longitude is sx_lo .. sx_hi times kx metres, one
     * of latitude at least sy_lo times ky: boxes are widened by the spread. */
    double sx_lo, sx_hi, sy_lo;
    GEOSGeometry *fp;
    const GEOSPreparedGeometry *prep;
    int simple; /* the footprint ring is simple: 1, not (or not provably): 0, not yet known: -1 */
    ko_hits *hits;
    double box[4]; /* the local box of the part in view of the hit being measured */
    double shift;  /* degrees added to the candidates' longitudes: 0, or +-360 across the
                    * antimeridian (the ring is continuous around the camera's longitude) */
    ko_status st;
} query;

/* q->box := (x0, y0, x1, y1) widened by a margin for the local frame's approximation (linear
 * in degrees about the camera: a few decimetres at 2 km) so that the box holds the part. */
static void set_box(query *q, double x0, double y0, double x1, double y1) {
    double r = fmax(fmax(fabs(x0), fabs(x1)), fmax(fabs(y0), fabs(y1)));
    double w = 0.5 + (0.01 + (q->sx_hi - q->sx_lo) + (1 - q->sy_lo)) * r;
    q->box[0] = x0 - w, q->box[1] = y0 - w, q->box[2] = x1 + w, q->box[3] = y1 + w;
}

/* WGS84: metres per degree of longitude / latitude at latitude lat. */
static double metres_per_degree_lon(double lat) {
    double m, n;
    koi_wgs84_radii(lat, &m, &n);
    return n * cos(lat * (M_PI / 180.0)) * (M_PI / 180.0);
}

static double metres_per_degree_lat(double lat) {
    double m, n;
    koi_wgs84_radii(lat, &m, &n);
    return m * (M_PI / 180.0);
}

/* What distances measured with kx, ky (at the camera) are multiplied by to stay lower bounds
 * of the ground distance to a part whose box (camera-centred, scaled metres) is box, so that
 * the GSD is never coarser: the least metres per degree over the latitudes from the camera to
 * the part (0.016 % less at 1 km and 45 deg). Where the part lies many degrees of longitude
 * round (within kilometres of a pole) nothing better than 0 is cheap (the GSD taken at the camera's
 * height). */
static double distance_scale(const query *q, const double *box) {
    if (!box || !(q->kx > 0) || !isfinite(box[1]) || !isfinite(box[3])) return 0.0;
    double lat0 = fmin(q->cam_lat, q->cam_lat + box[1] / q->ky);
    double lat1 = fmax(q->cam_lat, q->cam_lat + box[3] / q->ky);
    double far_eq = fmax(fabs(lat0), fabs(lat1)), near_eq = lat0 > 0 ? lat0 : lat1 < 0 ? lat1 : 0;
    double sy = metres_per_degree_lat(near_eq) / q->ky;
    if (fmax(fabs(box[0]), fabs(box[2])) / q->kx > 10.0) return 0.0;
    return fmin(metres_per_degree_lon(far_eq) / q->kx, sy);
}

static ko_status footprint_geom(query *q) {
    if (q->fp) return KO_OK;
    GEOSContextHandle_t h = q->ctx->geos;
    q->fp = koi_geos_polygon(h, q->ring, q->n);
    if (!q->fp) {
        return koi_error(q->ctx, KO_ERR_GEOS, "footprint: not a polygon ring (%s)",
                         q->ctx->geos_msg);
    }
    if (GEOSisValid_r(h, q->fp) != 1) {
        /* A self-intersecting footprint (e.g. a ring folded at the horizon) is repaired,
         * never silently taken as empty. */
        GEOSGeometry *v = GEOSMakeValid_r(h, q->fp);
        if (!v) return koi_error(q->ctx, KO_ERR_GEOS, "footprint: invalid, cannot repair");
        GEOSGeom_destroy_r(h, q->fp);
        q->fp = v;
    }
    q->prep = GEOSPrepare_r(h, q->fp);
    if (!q->prep) return koi_error(q->ctx, KO_ERR_GEOS, "GEOS: cannot prepare the footprint");
    return KO_OK;
}

static int to_local(double *x, double *y, void *user) {
    const query *q = user;
    *x = (*x - q->cam_lon) * q->kx;
    *y = (*y - q->cam_lat) * q->ky;
    return 1;
}

/* Overlap and nearest point of a hole-free polygon site, in the camera's local frame, without
 * GEOS's overlay: 0 and *hit filled, or -1 (GEOS decides). */
static int fast_measure(query *q, const koi_site *v, ko_site_hit *hit) {
    enum { MAXF = 1024 };
    if (q->n > MAXF || v->kind != KOI_SITE_POLYGON || v->m < 4 || v->m > SITE_MAXV) return -1;
    double f[2 * MAXF], s[2 * SITE_MAXV];
    for (size_t i = 0; i < q->n; i++)
        f[2 * i] = (q->ring[2 * i] - q->cam_lon) * q->kx,
              f[2 * i + 1] = (q->ring[2 * i + 1] - q->cam_lat) * q->ky;
    if (q->simple < 0) q->simple = koi_ring_is_simple(f, q->n);
    if (!q->simple) return -1;
    for (size_t i = 0; i < v->m; i++)
        s[2 * i] = (v->xy[2 * i] - q->cam_lon) * q->kx,
              s[2 * i + 1] = (v->xy[2 * i + 1] - q->cam_lat) * q->ky;
    koi_overlap o;
    if (koi_ring_overlap(f, q->n, s, v->m, &o)) return -1;
    double fx0, fy0, fx1, fy1, sx0, sy0, sx1, sy1;
    koi_ring_box(f, q->n, &fx0, &fy0, &fx1, &fy1);
    koi_ring_box(s, v->m, &sx0, &sy0, &sx1, &sy1);
    set_box(q, fmax(fx0, sx0), fmax(fy0, sy0), fmin(fx1, sx1), fmin(fy1, sy1));
    hit->distance_m = o.distance * distance_scale(q, q->box);
    hit->nearest_lon = q->cam_lon + o.nearest_x / q->kx;
    hit->nearest_lat = q->cam_lat + o.nearest_y / q->ky;
    hit->overlap = fmin(1.0, o.area / o.area_b);
    return 0;
}

/* The GEOS geometry of a flat site, built for GEOS's own tests (rare: boundaries within the
 * margin). Owned by the caller; NULL on failure. */
static GEOSGeometry *flat_geom(GEOSContextHandle_t h, const koi_site *v) {
    if (v->kind == KOI_SITE_POINT) return GEOSGeom_createPointFromXY_r(h, v->xy[0], v->xy[1]);
    return koi_geos_polygon(h, v->xy, v->m);
}

/* GEOS's exact test and measures, where the flat ones could not decide. */
static ko_status measure_geos(query *q, const GEOSGeometry *site, int rel, ko_site_hit *hit,
                              const strs *s) {
    GEOSContextHandle_t h = q->ctx->geos;
    long long id = (long long)hit->site_id;
    ko_status st = footprint_geom(q);
    if (st) return st;
    int in = rel != KOI_GEOM_UNKNOWN ? 1 : GEOSPreparedIntersects_r(h, q->prep, site);
    if (in == 2)
        return koi_error(q->ctx, KO_ERR_GEOS, "GEOS: intersects failed (%s)", q->ctx->geos_msg);
    if (!in) return KO_OK;
    /* The common case, a footprint that holds the whole site, needs no overlay. */
    int whole = rel == KOI_GEOM_INSIDE       ? 1
                : rel == KOI_GEOM_INTERSECTS ? 0
                                             : GEOSPreparedContains_r(h, q->prep, site);
    GEOSGeometry *inter = whole == 1 ? NULL : GEOSIntersection_r(h, q->fp, site);
    const GEOSGeometry *part = whole == 1 ? site : inter;
    GEOSGeometry *local = part ? GEOSGeom_transformXY_r(h, part, to_local, q) : NULL;
    GEOSGeometry *cam = GEOSGeom_createPointFromXY_r(h, 0, 0);
    GEOSCoordSequence *np = local && cam ? GEOSNearestPoints_r(h, local, cam) : NULL;
    double a_in = 1, a_site = 1, x = 0, y = 0;
    if (!np || !GEOSCoordSeq_getXY_r(h, np, 0, &x, &y) ||
        (inter && (!GEOSArea_r(h, inter, &a_in) || !GEOSArea_r(h, site, &a_site)))) {
        st = koi_error(q->ctx, KO_ERR_GEOS, "GEOS: measuring site %lld failed (%s)", id,
                       q->ctx->geos_msg);
    } else {
        hit->nearest_lon = q->cam_lon + x / q->kx;
        hit->nearest_lat = q->cam_lat + y / q->ky;
        /* Sites of zero area (points, lines without buffer) are wholly seen when hit. */
        hit->overlap = whole == 1 ? 1.0 : a_site > 0 ? fmin(1.0, a_in / a_site) : 1.0;
        double x0, y0, x1, y1;
        if (GEOSGeom_getXMin_r(h, local, &x0) && GEOSGeom_getYMin_r(h, local, &y0) &&
            GEOSGeom_getXMax_r(h, local, &x1) && GEOSGeom_getYMax_r(h, local, &y1))
            set_box(q, x0, y0, x1, y1);
        else
            set_box(q, -INFINITY, -INFINITY, INFINITY, INFINITY);
        hit->distance_m = hypot(x, y) * distance_scale(q, q->box);
        if (!add_hit(q->hits, hit, q->box, s))
            st = koi_error(q->ctx, KO_ERR_NOMEM, "out of memory");
    }
    if (np) GEOSCoordSeq_destroy_r(h, np);
    if (cam) GEOSGeom_destroy_r(h, cam);
    if (local) GEOSGeom_destroy_r(h, local);
    if (inter) GEOSGeom_destroy_r(h, inter);
    return st;
}

/* A packed index whose item-th site points outside it (a damaged index file): an error, never
 * a site skipped. */
static ko_status damaged(query *q, uint32_t item) {
    return koi_error(q->ctx, KO_ERR_DB,
                     "%s: damaged: its site %u is out of its bounds or unreadable; build the "
                     "index again from the store",
                     koi_packed_name(q->s->packed), item);
}

/* Exact test and measures of one candidate. */
/* v's shape is filled; the rest too unless it is a packed index's item (item >= 0), which is
 * read only for a hit. */
static ko_status evaluate_at(query *q, koi_site *v, const double *box, int64_t item);

static int shift_xy(double *x, double *y, void *user) {
    (void)y;
    *x += *(const double *)user;
    return 1;
}

/* Across the antimeridian: the candidate moved by q->shift degrees of longitude to the
 * camera's side, then tested as any other. */
static ko_status evaluate(query *q, koi_site *v, const double *box, int64_t item) {
    if (q->shift == 0) return evaluate_at(q, v, box, item);
    GEOSContextHandle_t h = q->ctx->geos;
    double b[4] = {box[0] + q->shift, box[1], box[2] + q->shift, box[3]};
    double buf[2 * SITE_MAXV];
    GEOSGeometry *g = NULL;
    koi_site w = *v;
    if (v->kind != KOI_SITE_OTHER && v->m <= SITE_MAXV) {
        for (size_t i = 0; i < v->m; i++)
            buf[2 * i] = v->xy[2 * i] + q->shift, buf[2 * i + 1] = v->xy[2 * i + 1];
        w.xy = buf, w.geom = NULL;
    } else {
        const GEOSGeometry *src = v->geom;
        GEOSGeometry *flat = src ? NULL : flat_geom(h, v);
        g = GEOSGeom_transformXY_r(h, src ? src : flat, shift_xy, &q->shift);
        if (flat) GEOSGeom_destroy_r(h, flat);
        if (!g)
            return koi_error(q->ctx, KO_ERR_GEOS,
                             "site %lld: cannot move its geometry by %+.0f deg", (long long)v->id,
                             q->shift);
        w.kind = KOI_SITE_OTHER, w.geom = g, w.xy = NULL, w.m = 0;
    }
    ko_status st = evaluate_at(q, &w, b, item);
    /* the packed index's strings were read into w */
    v->name = w.name, v->category = w.category, v->source = w.source, v->source_id = w.source_id;
    if (g) GEOSGeom_destroy_r(h, g);
    return st;
}

static ko_status evaluate_at(query *q, koi_site *v, const double *box, int64_t item) {
    GEOSContextHandle_t h = q->ctx->geos;
    /* The site's box wholly outside or inside the footprint decides without GEOS. */
    int where = koi_box_vs_ring(q->ring, q->n, box[0], box[1], box[2], box[3]);
    if (where == KOI_BOX_OUTSIDE) return KO_OK;
    /* Then the two boundaries, compared with a margin; GEOS decides what is within it. */
    int rel = where == KOI_BOX_INSIDE     ? KOI_GEOM_INSIDE
              : v->kind == KOI_SITE_OTHER ? KOI_GEOM_UNKNOWN
                                          : koi_ring_vs_flat(q->ring, q->n, v);
    if (rel == KOI_GEOM_DISJOINT) return KO_OK;
    if (item >= 0 && !koi_packed_meta(q->s->packed, (uint32_t)item, v))
        return damaged(q, (uint32_t)item);
    ko_site_hit hit = {.site_id = v->id, .min_gsd_m = v->min_gsd, .buffer_m = v->buffer};
    strs s = {v->name, v->category, v->source, v->source_id};
    if (rel != KOI_GEOM_UNKNOWN && fast_measure(q, v, &hit) == 0)
        return add_hit(q->hits, &hit, q->box, &s)
                   ? KO_OK
                   : koi_error(q->ctx, KO_ERR_NOMEM, "out of memory");
    GEOSGeometry *tmp = v->geom ? NULL : flat_geom(h, v);
    const GEOSGeometry *site = v->geom ? v->geom : tmp;
    if (!site)
        return koi_error(q->ctx, KO_ERR_GEOS, "site %lld: cannot build its geometry (%s)",
                         (long long)v->id, q->ctx->geos_msg);
    ko_status st = measure_geos(q, site, rel, &hit, &s);
    if (tmp) GEOSGeom_destroy_r(h, tmp);
    return st;
}

static int packed_visit(uint32_t item, const float *box, void *user) {
    query *q = user;
    koi_site v;
    if (!koi_packed_shape(q->s->packed, item, &v)) {
        q->st = damaged(q, item);
        return 0;
    }
    double b[4] = {box[0], box[1], box[2], box[3]};
    GEOSGeometry *g = NULL;
    if (v.kind == KOI_SITE_OTHER) { /* multi-parts, holes, lines: read when met */
        g = GEOSWKBReader_read_r(q->ctx->geos, q->s->wkbr, v.wkb, v.nwkb);
        if (!g) {
            q->st = damaged(q, item);
            return 0;
        }
        v.geom = g;
    }
    q->st = evaluate(q, &v, b, item);
    if (g) GEOSGeom_destroy_r(q->ctx->geos, g);
    return q->st == KO_OK;
}

/* ---------------------------------------------------------------- the query -------------- */

/* The candidates whose box meets (minx, miny)-(maxx, maxy), each evaluated (moved by
 * q->shift): from the packed index when loaded, else the on-disk R-tree. */
static void search(query *q, double minx, double miny, double maxx, double maxy) {
    ko_sites *s = q->s;
    ko_context *ctx = q->ctx;
    GEOSContextHandle_t h = ctx->geos;
    if (s->packed) {
        koi_packed_search(s->packed, minx, miny, maxx, maxy, packed_visit, q);
    } else {
        double buf[2 * SITE_MAXV];
        sqlite3_stmt *st = s->q_rtree;
        sqlite3_reset(st);
        sqlite3_bind_double(st, 1, minx);
        sqlite3_bind_double(st, 2, maxx);
        sqlite3_bind_double(st, 3, miny);
        sqlite3_bind_double(st, 4, maxy);
        int rc = SQLITE_DONE;
        while (!q->st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const unsigned char *b = sqlite3_column_blob(st, 7);
            size_t nb = (size_t)sqlite3_column_bytes(st, 7);
            unsigned char *wkb = koi_scratch(ctx, nb);
            if (!wkb) {
                q->st = koi_error(ctx, KO_ERR_NOMEM, "out of memory");
                break;
            }
            size_t nw = b ? koi_blob_wkb(b, nb, wkb) : 0;
            GEOSGeometry *g = nw ? GEOSWKBReader_read_r(h, s->wkbr, wkb, nw) : NULL;
            int64_t id = sqlite3_column_int64(st, 0);
            if (!g) {
                q->st = koi_error(ctx, KO_ERR_GEOS,
                                  "site %lld: unreadable geometry (not a plain 2D SpatiaLite "
                                  "geometry: re-import the source)",
                                  (long long)id);
                break;
            }
            koi_site v = {.id = id,
                          .min_gsd = sqlite3_column_double(st, 5),
                          .buffer = sqlite3_column_double(st, 6),
                          .name = (const char *)sqlite3_column_text(st, 1),
                          .category = (const char *)sqlite3_column_text(st, 2),
                          .source = (const char *)sqlite3_column_text(st, 3),
                          .source_id = (const char *)sqlite3_column_text(st, 4)};
            site_shape(h, g, buf, SITE_MAXV, &v);
            double box[4] = {sqlite3_column_double(st, 9), sqlite3_column_double(st, 10),
                             sqlite3_column_double(st, 11), sqlite3_column_double(st, 12)};
            q->st = evaluate(q, &v, box, -1);
            GEOSGeom_destroy_r(h, g);
        }
        if (!q->st && rc != SQLITE_DONE)
            q->st = koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
        sqlite3_reset(st);
    }
}

static ko_status query_one(ko_sites *s, const double *ring, size_t n, double cam_lon,
                           double cam_lat, ko_hits **out);

ko_status ko_sites_query(ko_sites *s, const double *ring, size_t n, double cam_lon, double cam_lat,
                         ko_hits **out) {
    if (!s || !ring || !out)
        return koi_error(s ? s->ctx : NULL, KO_ERR_ARG, "query: NULL argument");
    /* never an index the store has moved on from (another process's writes) */
    ko_status st = koi_sites_confirm_index(s);
    return st ? st : query_one(s, ring, n, cam_lon, cam_lat, out);
}

/* The boxes a query searches: its ring's box, and the box's shift by 360 on each side where
 * the ring passes the antimeridian (candidates then moved by shift to the camera's side). */
typedef struct query_boxes {
    double box[3][4];
    double shift[3];
    int n;
} query_boxes;

/* Checks the query and readies q (and qb) for its search; *unwrapped, when set, is the ring
 * made continuous (malloc'd: the caller frees it after the search). */
static ko_status query_begin(ko_sites *s, const double *ring, size_t n, double cam_lon,
                             double cam_lat, query *q, query_boxes *qb, double **unwrapped_out) {
    ko_context *ctx = s->ctx;
    *unwrapped_out = NULL;
    if (n < 4 || ring[0] != ring[2 * (n - 1)] || ring[1] != ring[2 * (n - 1) + 1])
        return koi_error(ctx, KO_ERR_ARG, "query: the ring needs >= 4 points, first == last");
    if (!isfinite(cam_lon) || !isfinite(cam_lat) || fabs(cam_lat) > 90 || fabs(cam_lon) > 180)
        return koi_error(ctx, KO_ERR_ARG, "query: camera position %g, %g is not lon/lat", cam_lon,
                         cam_lat);
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
    double *unwrapped = NULL;
    for (size_t i = 0; i < n; i++) {
        double x = ring[2 * i], y = ring[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) {
            free(unwrapped);
            return koi_error(ctx, KO_ERR_ARG, "query: ring point %zu is not a number", i);
        }
        /* Longitudes continuous along the ring, from within 180 of the camera's on: a ring
         * given wrapped at +-180 is unwrapped, one that curls round a pole kept whole. */
        double ref = i ? (unwrapped ? unwrapped : ring)[2 * (i - 1)] : cam_lon;
        if (fabs(x - ref) > 180.0 && !unwrapped) {
            unwrapped = koi_malloc(2 * n * sizeof *unwrapped);
            if (!unwrapped) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
            memcpy(unwrapped, ring, 2 * n * sizeof *unwrapped);
        }
        if (unwrapped) x = unwrapped[2 * i] = ref + remainder(x - ref, 360.0);
        minx = fmin(minx, x), maxx = fmax(maxx, x);
        miny = fmin(miny, y), maxy = fmax(maxy, y);
    }
    if (unwrapped) ring = unwrapped;
    if (unwrapped && fabs(unwrapped[0] - unwrapped[2 * (n - 1)]) < 1e-9)
        unwrapped[2 * (n - 1)] = unwrapped[0]; /* closed again, exactly (rounding of the shifts) */
    if (ring[0] != ring[2 * (n - 1)] || maxx - minx >= 360.0) {
        free(unwrapped);
        return koi_error(ctx, KO_ERR_ARG,
                         "query: the ring winds round a pole: it has no polygon in "
                         "longitude/latitude");
    }
    *q = (query){.s = s,
                 .ctx = ctx,
                 .ring = ring,
                 .n = n,
                 .cam_lon = cam_lon,
                 .cam_lat = cam_lat,
                 .simple = -1};
    /* WGS84 radii of curvature: metres per degree at the camera, and their spread over the
     * ring's latitudes (0.05 % for 2 km at 60 deg, 1.6 % at 88.9 deg). */
    q->kx = metres_per_degree_lon(cam_lat);
    q->ky = metres_per_degree_lat(cam_lat);
    double near_eq = miny > 0 ? miny : maxy < 0 ? maxy : 0.0, far_eq = fmax(fabs(miny), fabs(maxy));
    q->sx_lo = q->kx > 0 ? metres_per_degree_lon(far_eq) / q->kx : 0.0;
    q->sx_hi = q->kx > 0 ? metres_per_degree_lon(near_eq) / q->kx : 1.0;
    q->sy_lo = metres_per_degree_lat(near_eq) / q->ky;
    q->hits = koi_calloc(1, sizeof *q->hits);
    if (!q->hits) {
        free(unwrapped);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    /* The ring is continuous around the camera's longitude (beyond +-180 across the
     * antimeridian); sites are stored within [-180, 180]. */
    qb->n = 0;
    double shifts[3] = {0.0, minx < -180.0 ? -360.0 : 0.0, maxx > 180.0 ? 360.0 : 0.0};
    for (int k = 0; k < 3; k++) {
        if (k && shifts[k] == 0.0) continue;
        double *b = qb->box[qb->n];
        b[0] = minx - shifts[k], b[1] = miny, b[2] = maxx - shifts[k], b[3] = maxy;
        qb->shift[qb->n++] = shifts[k];
    }
    *unwrapped_out = unwrapped;
    return KO_OK;
}

/* Frees what the search held; *out := the hits on success, else they are freed. */
static ko_status query_end(query *q, double *unwrapped, ko_hits **out) {
    GEOSContextHandle_t h = q->ctx->geos;
    free(unwrapped);
    if (q->prep) GEOSPreparedGeom_destroy_r(h, q->prep);
    if (q->fp) GEOSGeom_destroy_r(h, q->fp);
    q->prep = NULL, q->fp = NULL;
    if (q->st) {
        ko_hits_destroy(q->hits);
        q->hits = NULL;
        return q->st;
    }
    finish_hits(q->hits);
    *out = q->hits;
    q->hits = NULL;
    return KO_OK;
}

static ko_status query_one(ko_sites *s, const double *ring, size_t n, double cam_lon,
                           double cam_lat, ko_hits **out) {
    query q;
    query_boxes qb;
    double *unwrapped = NULL;
    ko_status st = query_begin(s, ring, n, cam_lon, cam_lat, &q, &qb, &unwrapped);
    if (st) return st;
    for (int k = 0; k < qb.n && !q.st; k++) {
        q.shift = qb.shift[k];
        search(&q, qb.box[k][0], qb.box[k][1], qb.box[k][2], qb.box[k][3]);
    }
    return query_end(&q, unwrapped, out);
}

/* ---------------------------------------------------------------- a batch ---------------- */

/* Queries answered together from the packed index: their boxes searched at once, and each
 * candidate site's data prefetched a few candidates ahead of its test (the memory of a 10^7-site
 * index misses the caches at every step; ko_sites_query_batch measures in bench/bench_index.c). */
enum { GROUP = 128, AHEAD_SITES = 4 };

typedef struct group {
    query q[GROUP];
    double *unwrapped[GROUP];
    int begun[GROUP];
    uint32_t box_query[3 * GROUP];
    double box_shift[3 * GROUP];
    double boxes[4 * 3 * GROUP];
    size_t nboxes;
    koi_many many;
} group;

/* Evaluates the candidates g->many.out against their queries; the first error stops it, its
 * query's place in the group in *which. */
static ko_status group_evaluate(ko_sites *s, group *g, size_t *which) {
    const koi_packed *p = s->packed;
    const koi_many *m = &g->many;
    for (size_t i = 0; i < m->nout && i < 2 * AHEAD_SITES; i++)
        koi_packed_prefetch(p, m->out[i].item, 0);
    for (size_t i = 0; i < m->nout && i < AHEAD_SITES; i++)
        koi_packed_prefetch(p, m->out[i].item, 1);
    for (size_t i = 0; i < m->nout; i++) {
        if (i + 2 * AHEAD_SITES < m->nout)
            koi_packed_prefetch(p, m->out[i + 2 * AHEAD_SITES].item, 0);
        if (i + AHEAD_SITES < m->nout) koi_packed_prefetch(p, m->out[i + AHEAD_SITES].item, 1);
        uint32_t b = m->out[i].box, item = m->out[i].item;
        query *q = &g->q[g->box_query[b]];
        q->shift = g->box_shift[b];
        if (!packed_visit(item, koi_packed_box(p, item), q)) {
            *which = g->box_query[b];
            return q->st;
        }
    }
    return KO_OK;
}

/* Answers footprints order[k0 .. k0 + nq) of qs into out (their own places); on failure
 * *failed is the footprint that failed and nothing of the group is kept. */
static ko_status group_run(ko_sites *s, const ko_site_query *qs, const uint32_t *order, size_t k0,
                           size_t nq, group *g, ko_hits **out, uint32_t *failed) {
    ko_status st = KO_OK;
    size_t begun = 0, which = 0;
    g->nboxes = 0;
    for (; begun < nq; begun++) {
        /* The footprints are taken in the batch's order, not the caller's: each one's entry
         * and ring are asked for a few ahead (at 10^7 sites, random order: the first read of
         * the ring was 72 % of this function's time) */
        if (begun + 2 * AHEAD_SITES < nq)
            __builtin_prefetch(&qs[order[k0 + begun + 2 * AHEAD_SITES]]);
        if (begun + AHEAD_SITES < nq) {
            const double *ahead = qs[order[k0 + begun + AHEAD_SITES]].ring;
            if (ahead) __builtin_prefetch(ahead), __builtin_prefetch(ahead + 8);
        }
        const ko_site_query *r = &qs[order[k0 + begun]];
        query_boxes qb;
        st = r->ring ? query_begin(s, r->ring, r->n, r->cam_lon, r->cam_lat, &g->q[begun], &qb,
                                   &g->unwrapped[begun])
                     : koi_error(s->ctx, KO_ERR_ARG, "query: NULL argument");
        if (st) { /* (the failed one holds nothing) */
            which = begun;
            break;
        }
        for (int k = 0; k < qb.n; k++, g->nboxes++) {
            memcpy(g->boxes + 4 * g->nboxes, qb.box[k], sizeof qb.box[k]);
            g->box_query[g->nboxes] = (uint32_t)begun;
            g->box_shift[g->nboxes] = qb.shift[k];
        }
    }
    if (!st && !koi_packed_search_many(s->packed, g->boxes, g->nboxes, &g->many)) {
        st = koi_error(s->ctx, KO_ERR_NOMEM, "out of memory");
        which = 0;
    }
    if (!st) st = group_evaluate(s, g, &which);
    for (size_t k = 0; k < begun; k++) {
        if (st) g->q[k].st = st; /* the batch failed: no hits kept */
        query_end(&g->q[k], g->unwrapped[k], &out[order[k0 + k]]);
    }
    if (st) *failed = order[k0 + which];
    return st;
}

/* The batch from the packed index, GROUP footprints at a time. */
static ko_status batch_packed(ko_sites *s, const ko_site_query *qs, const uint32_t *order,
                              size_t count, ko_hits **out, uint32_t *failed) {
    group *g = koi_calloc(1, sizeof *g);
    if (!g) return koi_error(s->ctx, KO_ERR_NOMEM, "out of memory");
    ko_status st = KO_OK;
    for (size_t k0 = 0; k0 < count && !st; k0 += GROUP)
        st = group_run(s, qs, order, k0, count - k0 < GROUP ? count - k0 : GROUP, g, out, failed);
    koi_many_free(&g->many);
    free(g);
    return st;
}

ko_status ko_sites_query_batch(ko_sites *s, const ko_site_query *qs, size_t count, ko_hits **out) {
    if (!s || (count && (!qs || !out)))
        return koi_error(s ? s->ctx : NULL, KO_ERR_ARG, "query batch: NULL argument");
    ko_context *ctx = s->ctx;
    if (count > UINT32_MAX)
        return koi_error(ctx, KO_ERR_LIMIT, "query batch: more than %u footprints", UINT32_MAX);
    for (size_t i = 0; i < count; i++)
        out[i] = NULL;
    double *xy = koi_malloc(2 * (count ? count : 1) * sizeof *xy);
    uint32_t *order = koi_malloc((count ? count : 1) * sizeof *order);
    ko_status st = KO_OK;
    size_t near = 0; /* footprints within two of their own sizes of the one before */
    if (xy && order) {
        double px = NAN, py = NAN;
        for (size_t i = 0; i < count; i++) {
            double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
            if (qs[i].ring && qs[i].n) koi_ring_box(qs[i].ring, qs[i].n, &x0, &y0, &x1, &y1);
            xy[2 * i] = (x0 + x1) / 2, xy[2 * i + 1] = (y0 + y1) / 2;
            near += fabs(xy[2 * i] - px) + fabs(xy[2 * i + 1] - py) <= 2 * (x1 - x0 + y1 - y0);
            px = xy[2 * i], py = xy[2 * i + 1];
            order[i] = (uint32_t)i;
        }
    }
    /* Footprints given in flight order (a survey's, mission by mission) already meet the
     * index where the one before did: answered in that order, one at a time, they find its
     * nodes cached, and a Hilbert sort and a search of many at once only cost (10^7 sites,
     * 500-photo missions: 1.0 M q/s as given, 0.83 M sorted, 0.68 M many at once). */
    int given = count > 1 && 2 * near >= count;
    if (!xy || !order || (!given && !koi_query_order(xy, count, order))) {
        st = koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        count = 0;
    }
    if (!st) st = koi_sites_confirm_index(s); /* once for the batch */
    uint32_t failed = 0;
    ko_status qst = KO_OK; /* a footprint's failure: its message names it */
    size_t from = s->many_from ? s->many_from : KOI_MANY_FROM;
    int many = !given && s->packed && koi_packed_count(s->packed) >= from;
    if (!st && many) qst = batch_packed(s, qs, order, count, out, &failed);
    for (size_t k = 0; k < count && !st && !qst && !many; k++) {
        const ko_site_query *q = &qs[order[k]];
        failed = order[k];
        qst = q->ring ? query_one(s, q->ring, q->n, q->cam_lon, q->cam_lat, &out[order[k]])
                      : koi_error(ctx, KO_ERR_ARG, "query: NULL argument");
    }
    if (qst) {
        char msg[KOI_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", ctx->errmsg);
        st = koi_error(ctx, qst, "footprint %u: %s", failed, msg);
    }
    if (st)
        for (size_t i = 0; i < count; i++) {
            ko_hits_destroy(out[i]);
            out[i] = NULL;
        }
    free(xy);
    free(order);
    return st;
}
