/* Footprint queries: candidates from the on-disk SpatiaLite R-tree or from the in-memory
 * packed index, then an exact test against the prepared footprint. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "sites.h"

/* ---------------------------------------------------------------- hits ------------------- */

struct ko_hits {
    size_t n, cap;
    ko_site_hit *hits;
    char *arena; /* the hits' strings */
    size_t arena_len, arena_cap;
};

size_t ko_hits_count(const ko_hits *h) {
    return h ? h->n : 0;
}

const ko_site_hit *ko_hits_get(const ko_hits *h, size_t i) {
    return h && i < h->n ? &h->hits[i] : NULL;
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

static int add_hit(ko_hits *h, const ko_site_hit *hit, const strs *s) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 8;
        ko_site_hit *a = koi_realloc_array(h->hits, cap, sizeof *a);
        if (!a) return 0;
        h->hits = a;
        h->cap = cap;
    }
    ko_site_hit *d = &h->hits[h->n];
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
    const ko_site_hit *x = a, *y = b;
    if (x->distance_m != y->distance_m) return x->distance_m < y->distance_m ? -1 : 1;
    return x->site_id < y->site_id ? -1 : x->site_id > y->site_id;
}

static void finish_hits(ko_hits *h) {
    for (size_t i = 0; i < h->n; i++) {
        ko_site_hit *d = &h->hits[i];
        d->name = h->arena + (uintptr_t)d->name;
        d->category = h->arena + (uintptr_t)d->category;
        d->source = h->arena + (uintptr_t)d->source;
        d->source_id = h->arena + (uintptr_t)d->source_id;
    }
    if (h->n > 1) qsort(h->hits, h->n, sizeof *h->hits, by_distance);
}

/* ---------------------------------------------------------------- box filter ------------- */

/* Side of point (px, py) relative to the line a->b: > 0 left, < 0 right. */
static double side(double ax, double ay, double bx, double by, double px, double py) {
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}

/* 1 if segment a-b may touch the box (conservative). */
static int segment_touches_box(double ax, double ay, double bx, double by, double minx, double miny,
                               double maxx, double maxy) {
    /* (comparisons, not fmin/fmax: those are libm calls here, and this is the hot loop) */
    if ((ax < minx && bx < minx) || (ax > maxx && bx > maxx) || (ay < miny && by < miny) ||
        (ay > maxy && by > maxy))
        return 0;
    double s0 = side(ax, ay, bx, by, minx, miny), s1 = side(ax, ay, bx, by, maxx, miny),
           s2 = side(ax, ay, bx, by, maxx, maxy), s3 = side(ax, ay, bx, by, minx, maxy);
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
    double px = (minx + maxx) / 2, py = (miny + maxy) / 2;
    int in = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double ax = ring[2 * i], ay = ring[2 * i + 1], bx = ring[2 * i + 2], by = ring[2 * i + 3];
        if ((ay > py) != (by > py) && px < ax + (py - ay) * (bx - ax) / (by - ay)) in = !in;
    }
    return in ? KOI_BOX_INSIDE : KOI_BOX_OUTSIDE;
}

/* ---------------------------------------------------------------- exact test ------------- */

static int in_ring(const double *r, size_t n, double px, double py) {
    int in = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double ax = r[2 * i], ay = r[2 * i + 1], bx = r[2 * i + 2], by = r[2 * i + 3];
        if ((ay > py) != (by > py) && px < ax + (py - ay) * (bx - ax) / (by - ay)) in = !in;
    }
    return in;
}

/* Boundaries of two closed rings: 1 if they properly cross, 0 if they stay more than a
 * margin apart, -1 if some edge comes within the margin of the other ring (undecided). */
static int rings_cross(const double *a, size_t na, const double *b, size_t nb) {
    const double eps = 1e-9;
    int cross = 0;
    double bx0, by0, bx1, by1;
    koi_ring_box(b, nb, &bx0, &by0, &bx1, &by1);
    for (size_t i = 0; i + 1 < na; i++) {
        double ax = a[2 * i], ay = a[2 * i + 1], bx = a[2 * i + 2], by = a[2 * i + 3];
        double x0 = (ax < bx ? ax : bx) - eps, x1 = (ax < bx ? bx : ax) + eps;
        double y0 = (ay < by ? ay : by) - eps, y1 = (ay < by ? by : ay) + eps;
        if (x1 < bx0 || x0 > bx1 || y1 < by0 || y0 > by1) continue; /* clear of b's box */
        double la = sqrt((bx - ax) * (bx - ax) + (by - ay) * (by - ay)) * eps;
        for (size_t j = 0; j + 1 < nb; j++) {
            double cx = b[2 * j], cy = b[2 * j + 1], dx = b[2 * j + 2], dy = b[2 * j + 3];
            if ((cx < x0 && dx < x0) || (cx > x1 && dx > x1) || (cy < y0 && dy < y0) ||
                (cy > y1 && dy > y1))
                continue;
            double lb = sqrt((dx - cx) * (dx - cx) + (dy - cy) * (dy - cy)) * eps;
            double o1 = side(ax, ay, bx, by, cx, cy), o2 = side(ax, ay, bx, by, dx, dy);
            double o3 = side(cx, cy, dx, dy, ax, ay), o4 = side(cx, cy, dx, dy, bx, by);
            if (fabs(o1) <= la || fabs(o2) <= la || fabs(o3) <= lb || fabs(o4) <= lb) {
                /* An endpoint near the other segment's line: near each other only if the
                 * endpoint is also near the segment itself; let GEOS decide either way. */
                return -1;
            }
            if ((o1 > 0) != (o2 > 0) && (o3 > 0) != (o4 > 0)) cross = 1;
        }
    }
    return cross;
}

int koi_ring_vs_site(GEOSContextHandle_t h, const double *ring, size_t n,
                     const GEOSGeometry *site) {
    enum { MAXV = 512 };
    double buf[2 * MAXV];
    int type = GEOSGeomTypeId_r(h, site);
    const GEOSGeometry *shell = NULL;
    if (type == GEOS_POLYGON) {
        if (GEOSGetNumInteriorRings_r(h, site) != 0) return KOI_GEOM_UNKNOWN;
        shell = GEOSGetExteriorRing_r(h, site);
    } else if (type == GEOS_POINT) {
        shell = site;
    } else {
        return KOI_GEOM_UNKNOWN;
    }
    const GEOSCoordSequence *cs = shell ? GEOSGeom_getCoordSeq_r(h, shell) : NULL;
    unsigned int m = 0;
    if (!cs || !GEOSCoordSeq_getSize_r(h, cs, &m) || m == 0 || m > MAXV || (size_t)m * n > 8192 ||
        !GEOSCoordSeq_copyToBuffer_r(h, cs, buf, 0, 0))
        return KOI_GEOM_UNKNOWN;
    if (type == GEOS_POINT) {
        /* A point: a zero-length "ring" of two equal points. */
        buf[2] = buf[0], buf[3] = buf[1];
        m = 2;
    }
    int c = rings_cross(ring, n, buf, m);
    if (c < 0) return KOI_GEOM_UNKNOWN;
    if (c > 0) return KOI_GEOM_INTERSECTS;
    /* Boundaries apart: nested or disjoint. */
    if (in_ring(ring, n, buf[0], buf[1])) return KOI_GEOM_INSIDE;
    if (type == GEOS_POLYGON && in_ring(buf, m, ring[0], ring[1])) return KOI_GEOM_INTERSECTS;
    return KOI_GEOM_DISJOINT;
}

/* ---------------------------------------------------------------- one query -------------- */

typedef struct query {
    ko_sites *s;
    ko_context *ctx;
    const double *ring;
    size_t n;
    double cam_lon, cam_lat;
    double kx, ky; /* metres per degree of longitude / latitude at the camera */
    GEOSGeometry *fp;
    const GEOSPreparedGeometry *prep;
    int simple; /* the footprint ring is simple: 1, not (or not provably): 0, not yet known: -1 */
    ko_hits *hits;
    ko_status st;
} query;

static ko_status footprint_geom(query *q) {
    if (q->fp) return KO_OK;
    GEOSContextHandle_t h = q->ctx->geos;
    GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(h, q->ring, (unsigned)q->n, 0, 0);
    GEOSGeometry *shell = cs ? GEOSGeom_createLinearRing_r(h, cs) : NULL;
    if (!shell && cs) GEOSCoordSeq_destroy_r(h, cs);
    q->fp = shell ? GEOSGeom_createPolygon_r(h, shell, NULL, 0) : NULL;
    if (!q->fp) {
        if (shell) GEOSGeom_destroy_r(h, shell);
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
static int fast_measure(query *q, const GEOSGeometry *site, ko_site_hit *hit) {
    enum { MAXF = 1024, MAXS = 512 };
    GEOSContextHandle_t h = q->ctx->geos;
    if (q->n > MAXF || GEOSGeomTypeId_r(h, site) != GEOS_POLYGON ||
        GEOSGetNumInteriorRings_r(h, site) != 0)
        return -1;
    const GEOSGeometry *shell = GEOSGetExteriorRing_r(h, site);
    const GEOSCoordSequence *cs = shell ? GEOSGeom_getCoordSeq_r(h, shell) : NULL;
    unsigned m = 0;
    double f[2 * MAXF], s[2 * MAXS];
    if (!cs || !GEOSCoordSeq_getSize_r(h, cs, &m) || m < 4 || m > MAXS ||
        !GEOSCoordSeq_copyToBuffer_r(h, cs, s, 0, 0))
        return -1;
    for (size_t i = 0; i < q->n; i++)
        f[2 * i] = (q->ring[2 * i] - q->cam_lon) * q->kx,
              f[2 * i + 1] = (q->ring[2 * i + 1] - q->cam_lat) * q->ky;
    if (q->simple < 0) q->simple = koi_ring_is_simple(f, q->n);
    if (!q->simple) return -1;
    for (unsigned i = 0; i < m; i++)
        s[2 * i] = (s[2 * i] - q->cam_lon) * q->kx,
              s[2 * i + 1] = (s[2 * i + 1] - q->cam_lat) * q->ky;
    koi_overlap o;
    if (koi_ring_overlap(f, q->n, s, m, &o)) return -1;
    hit->distance_m = o.distance;
    hit->nearest_lon = q->cam_lon + o.nearest_x / q->kx;
    hit->nearest_lat = q->cam_lat + o.nearest_y / q->ky;
    hit->overlap = fmin(1.0, o.area / o.area_b);
    return 0;
}

/* Exact test and measures of one candidate. */
static ko_status evaluate(query *q, int64_t id, const GEOSGeometry *site, double min_gsd,
                          double buffer_m, const strs *s, const double *box) {
    GEOSContextHandle_t h = q->ctx->geos;
    /* The site's box wholly outside or inside the footprint decides without GEOS. */
    int where = koi_box_vs_ring(q->ring, q->n, box[0], box[1], box[2], box[3]);
    if (where == KOI_BOX_OUTSIDE) return KO_OK;
    /* Then the two boundaries, compared with a margin; GEOS decides what is within it. */
    int rel = where == KOI_BOX_INSIDE ? KOI_GEOM_INSIDE : koi_ring_vs_site(h, q->ring, q->n, site);
    if (rel == KOI_GEOM_DISJOINT) return KO_OK;
    ko_site_hit hit = {.site_id = id, .min_gsd_m = min_gsd, .buffer_m = buffer_m};
    if (rel != KOI_GEOM_UNKNOWN && fast_measure(q, site, &hit) == 0)
        return add_hit(q->hits, &hit, s) ? KO_OK : koi_error(q->ctx, KO_ERR_NOMEM, "out of memory");
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
        st = koi_error(q->ctx, KO_ERR_GEOS, "GEOS: measuring site %lld failed (%s)", (long long)id,
                       q->ctx->geos_msg);
    } else {
        hit.distance_m = hypot(x, y);
        hit.nearest_lon = q->cam_lon + x / q->kx;
        hit.nearest_lat = q->cam_lat + y / q->ky;
        /* Sites of zero area (points, lines without buffer) are wholly seen when hit. */
        hit.overlap = whole == 1 ? 1.0 : a_site > 0 ? fmin(1.0, a_in / a_site) : 1.0;
        if (!add_hit(q->hits, &hit, s)) st = koi_error(q->ctx, KO_ERR_NOMEM, "out of memory");
    }
    if (np) GEOSCoordSeq_destroy_r(h, np);
    if (cam) GEOSGeom_destroy_r(h, cam);
    if (local) GEOSGeom_destroy_r(h, local);
    if (inter) GEOSGeom_destroy_r(h, inter);
    return st;
}

/* ---------------------------------------------------------------- packed index ----------- */

struct koi_packed {
    atomic_int refs; /* stores sharing it (ko_sites_share_index); immutable once loaded */
    size_t n;
    koi_rtree *tree;
    int64_t *ids;
    double *min_gsd, *buffer;
    GEOSGeometry **geoms; /* pre-parsed buffered geometries */
    size_t *str_off;      /* 4 per site into strs */
    char *strs;
};

void koi_packed_free(ko_context *ctx, koi_packed *p) {
    if (!p || atomic_fetch_sub(&p->refs, 1) > 1) return;
    if (p->geoms)
        for (size_t i = 0; i < p->n; i++)
            if (p->geoms[i]) GEOSGeom_destroy_r(ctx->geos, p->geoms[i]);
    free(p->geoms);
    koi_rtree_free(p->tree);
    free(p->ids);
    free(p->min_gsd);
    free(p->buffer);
    free(p->str_off);
    free(p->strs);
    free(p);
}

/* A growable byte buffer. */
typedef struct bytes {
    unsigned char *p;
    size_t len, cap;
} bytes;

static int bytes_add(bytes *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->len + n) {
            if (cap > SIZE_MAX / 2) return 0;
            cap *= 2;
        }
        unsigned char *q = koi_realloc_array(b->p, cap, 1);
        if (!q) return 0;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return 1;
}

/* The MBR in the header of a SpatiaLite geometry blob: 0x00, endianness (1 = little), SRID,
 * min x, min y, max x, max y, 0x7C. Reading it avoids a join with the R-tree table. */
static int blob_mbr(const unsigned char *b, size_t n, double *box) {
    if (!b || n < 39 || b[0] != 0x00 || b[38] != 0x7C || b[1] > 1) return 0;
    int little = b[1] == 1;
    for (int k = 0; k < 4; k++) {
        uint64_t u = 0;
        for (int j = 0; j < 8; j++) {
            unsigned char c = b[6 + 8 * k + (little ? 7 - j : j)];
            u = (u << 8) | c;
        }
        memcpy(&box[k], &u, sizeof u);
    }
    return box[0] <= box[2] && box[1] <= box[3];
}

/* Loads every site, builds the tree, then lays the sites out in the tree's (Hilbert) leaf
 * order, parsing geometries in that order so that neighbours are near in memory too. */
/* GEOS 3.11 computes a geometry's envelope on first use and caches it: two threads reading one
 * geometry could both write that cache. Computing every envelope (each part, each ring) while
 * loading leaves only reads, so the loaded index can be shared between threads (GEOS's own
 * advice before 3.12, which computes envelopes eagerly). 0 on a GEOS failure. */
static int prime(GEOSContextHandle_t h, const GEOSGeometry *g) {
    double v;
    if (GEOSGeom_getXMin_r(h, g, &v) != 1 && GEOSisEmpty_r(h, g) != 1) return 0;
    int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_POLYGON) {
        const GEOSGeometry *shell = GEOSGetExteriorRing_r(h, g);
        if (!shell || !prime(h, shell)) return 0;
        int holes = GEOSGetNumInteriorRings_r(h, g);
        for (int i = 0; i < holes; i++)
            if (!prime(h, GEOSGetInteriorRingN_r(h, g, i))) return 0;
    } else if (type == GEOS_MULTIPOLYGON || type == GEOS_MULTILINESTRING ||
               type == GEOS_MULTIPOINT || type == GEOS_GEOMETRYCOLLECTION) {
        int parts = GEOSGetNumGeometries_r(h, g);
        for (int i = 0; i < parts; i++)
            if (!prime(h, GEOSGetGeometryN_r(h, g, i))) return 0;
    }
    return 1;
}

ko_status koi_packed_load(ko_sites *s, koi_packed **out) {
    ko_context *ctx = s->ctx;
    sqlite3_stmt *q = NULL;
    koi_packed *p = koi_calloc(1, sizeof *p);
    if (p) atomic_init(&p->refs, 1);
    double *boxes = NULL, *gsd = NULL, *buf = NULL;
    int64_t *ids = NULL;
    size_t *soff = NULL, *woff = NULL;
    uint32_t *perm = NULL;
    bytes str = {0}, wkb = {0};
    ko_status st = KO_OK;
    if (!p) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    int64_t count = 0;
    if ((st = ko_sites_count(s, &count))) goto fail;
    size_t n = (size_t)count;
    ids = koi_calloc(n, sizeof *ids);
    gsd = koi_calloc(n, sizeof *gsd);
    buf = koi_calloc(n, sizeof *buf);
    soff = koi_calloc(n, 4 * sizeof *soff);
    woff = koi_calloc(n + 1, sizeof *woff);
    boxes = koi_calloc(n, 4 * sizeof *boxes);
    if (!ids || !gsd || !buf || !soff || !woff || !boxes) goto nomem;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT s.id, s.name, s.category, s.source, s.source_id, s.min_gsd_m,"
                           " s.buffer_m, AsBinary(s.geom_buffered), s.geom_buffered FROM sites s",
                           -1, &q, NULL) != SQLITE_OK) {
        st = koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
        goto fail;
    }
    size_t i = 0;
    int rc;
    while (i < n && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        ids[i] = sqlite3_column_int64(q, 0);
        for (int k = 0; k < 4; k++) {
            const char *t = (const char *)sqlite3_column_text(q, 1 + k);
            if (!t) t = "";
            soff[4 * i + (size_t)k] = str.len;
            if (!bytes_add(&str, t, strlen(t) + 1)) goto nomem;
        }
        gsd[i] = sqlite3_column_double(q, 5);
        buf[i] = sqlite3_column_double(q, 6);
        const void *b = sqlite3_column_blob(q, 7);
        woff[i] = wkb.len;
        if (!b) {
            st = koi_error(ctx, KO_ERR_GEOS, "site %lld: no geometry", (long long)ids[i]);
            goto fail;
        }
        if (!bytes_add(&wkb, b, (size_t)sqlite3_column_bytes(q, 7))) goto nomem;
        if (!blob_mbr(sqlite3_column_blob(q, 8), (size_t)sqlite3_column_bytes(q, 8),
                      boxes + 4 * i)) {
            st = koi_error(ctx, KO_ERR_DB, "site %lld: not a SpatiaLite geometry",
                           (long long)ids[i]);
            goto fail;
        }
        i++;
    }
    if (i < n && rc != SQLITE_DONE) {
        st = koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
        goto fail;
    }
    sqlite3_finalize(q);
    q = NULL;
    n = i;
    woff[n] = wkb.len;
    /* SQLite's R-tree boxes are already float32 rounded outward; rounding again is exact. */
    if ((st = koi_rtree_build(boxes, n, &p->tree))) {
        st = koi_error(ctx, st, "building the packed index of %zu sites failed", n);
        goto fail;
    }
    perm = koi_calloc(n, sizeof *perm);
    p->ids = koi_calloc(n, sizeof *p->ids);
    p->min_gsd = koi_calloc(n, sizeof *p->min_gsd);
    p->buffer = koi_calloc(n, sizeof *p->buffer);
    p->geoms = koi_calloc(n, sizeof *p->geoms);
    p->str_off = koi_calloc(n, 4 * sizeof *p->str_off);
    if (!perm || !p->ids || !p->min_gsd || !p->buffer || !p->geoms || !p->str_off) goto nomem;
    koi_rtree_renumber(p->tree, perm);
    for (size_t k = 0; k < n; k++) {
        size_t j = perm[k];
        p->ids[k] = ids[j];
        p->min_gsd[k] = gsd[j];
        p->buffer[k] = buf[j];
        memcpy(p->str_off + 4 * k, soff + 4 * j, 4 * sizeof *soff);
        p->geoms[k] =
            GEOSWKBReader_read_r(ctx->geos, s->wkbr, wkb.p + woff[j], woff[j + 1] - woff[j]);
        p->n = k + 1;
        if (!p->geoms[k] || !prime(ctx->geos, p->geoms[k])) {
            st = koi_error(ctx, KO_ERR_GEOS, "site %lld: unreadable geometry", (long long)ids[j]);
            goto fail;
        }
    }
    p->strs = (char *)str.p;
    str.p = NULL;
    free(wkb.p);
    free(perm);
    free(ids);
    free(gsd);
    free(buf);
    free(soff);
    free(woff);
    free(boxes);
    *out = p;
    return KO_OK;
nomem:
    st = koi_error(ctx, KO_ERR_NOMEM, "out of memory loading %zu sites", n);
fail:
    sqlite3_finalize(q);
    free(wkb.p);
    free(str.p);
    free(perm);
    free(ids);
    free(gsd);
    free(buf);
    free(soff);
    free(woff);
    free(boxes);
    koi_packed_free(ctx, p);
    return st;
}

ko_status ko_sites_load_index(ko_sites *s) {
    if (!s) return KO_ERR_ARG;
    if (s->packed) return KO_OK;
    return koi_packed_load(s, &s->packed);
}

ko_status ko_sites_share_index(ko_sites *dst, const ko_sites *src) {
    if (!dst || !src) return KO_ERR_ARG;
    if (!src->packed)
        return koi_error(dst->ctx, KO_ERR_ARG, "share index: the source store has no index loaded");
    const char *a = sqlite3_db_filename(dst->db, "main"), *b = sqlite3_db_filename(src->db, "main");
    if (!a || !b || strcmp(a, b) != 0)
        return koi_error(dst->ctx, KO_ERR_ARG, "share index: the stores are different files");
    if (dst->packed == src->packed) return KO_OK;
    koi_packed_free(dst->ctx, dst->packed);
    atomic_fetch_add(&src->packed->refs, 1);
    dst->packed = src->packed;
    return KO_OK;
}

void koi_packed_search(const koi_packed *p, double minx, double miny, double maxx, double maxy,
                       koi_packed_visit fn, void *user) {
    koi_rtree_search(p->tree, minx, miny, maxx, maxy, fn, user);
}

int64_t koi_packed_id(const koi_packed *p, uint32_t item) {
    return p->ids[item];
}

const GEOSGeometry *koi_packed_geom(const koi_packed *p, uint32_t item) {
    return p->geoms[item];
}

static int packed_visit(uint32_t item, const float *box, void *user) {
    query *q = user;
    double b[4] = {box[0], box[1], box[2], box[3]};
    const koi_packed *p = q->s->packed;
    const size_t *o = p->str_off + 4 * (size_t)item;
    strs s = {p->strs + o[0], p->strs + o[1], p->strs + o[2], p->strs + o[3]};
    q->st = evaluate(q, p->ids[item], p->geoms[item], p->min_gsd[item], p->buffer[item], &s, b);
    return q->st == KO_OK;
}

/* ---------------------------------------------------------------- the query -------------- */

ko_status ko_sites_query(ko_sites *s, const double *ring, size_t n, double cam_lon, double cam_lat,
                         ko_hits **out) {
    if (!s || !ring || !out)
        return koi_error(s ? s->ctx : NULL, KO_ERR_ARG, "query: NULL argument");
    ko_context *ctx = s->ctx;
    if (n < 4 || ring[0] != ring[2 * (n - 1)] || ring[1] != ring[2 * (n - 1) + 1])
        return koi_error(ctx, KO_ERR_ARG, "query: the ring needs >= 4 points, first == last");
    if (!isfinite(cam_lon) || !isfinite(cam_lat) || fabs(cam_lat) > 90 || fabs(cam_lon) > 180)
        return koi_error(ctx, KO_ERR_ARG, "query: camera position %g, %g is not lon/lat", cam_lon,
                         cam_lat);
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = ring[2 * i], y = ring[2 * i + 1];
        if (!isfinite(x) || !isfinite(y))
            return koi_error(ctx, KO_ERR_ARG, "query: ring point %zu is not a number", i);
        minx = fmin(minx, x), maxx = fmax(maxx, x);
        miny = fmin(miny, y), maxy = fmax(maxy, y);
    }
    query q = {.s = s,
               .ctx = ctx,
               .ring = ring,
               .n = n,
               .cam_lon = cam_lon,
               .cam_lat = cam_lat,
               .simple = -1};
    /* WGS84 radii of curvature at the camera: metres per degree, exact enough over the few
     * kilometres a footprint spans. */
    const double a = 6378137.0, e2 = 0.00669437999014, d2r = M_PI / 180.0;
    double sl = sin(cam_lat * d2r), w = sqrt(1 - e2 * sl * sl);
    q.kx = a / w * cos(cam_lat * d2r) * d2r;
    q.ky = a * (1 - e2) / (w * w * w) * d2r;
    q.hits = koi_calloc(1, sizeof *q.hits);
    if (!q.hits) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    GEOSContextHandle_t h = ctx->geos;
    if (s->packed) {
        koi_packed_search(s->packed, minx, miny, maxx, maxy, packed_visit, &q);
    } else {
        sqlite3_stmt *st = s->q_rtree;
        sqlite3_reset(st);
        sqlite3_bind_double(st, 1, minx);
        sqlite3_bind_double(st, 2, maxx);
        sqlite3_bind_double(st, 3, miny);
        sqlite3_bind_double(st, 4, maxy);
        int rc;
        while (!q.st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const void *b = sqlite3_column_blob(st, 7);
            size_t nb = (size_t)sqlite3_column_bytes(st, 7);
            GEOSGeometry *g = b ? GEOSWKBReader_read_r(h, s->wkbr, b, nb) : NULL;
            int64_t id = sqlite3_column_int64(st, 0);
            if (!g) {
                q.st = koi_error(ctx, KO_ERR_GEOS, "site %lld: unreadable geometry", (long long)id);
                break;
            }
            strs ss = {
                (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
                (const char *)sqlite3_column_text(st, 3), (const char *)sqlite3_column_text(st, 4)};
            double box[4] = {sqlite3_column_double(st, 9), sqlite3_column_double(st, 10),
                             sqlite3_column_double(st, 11), sqlite3_column_double(st, 12)};
            q.st = evaluate(&q, id, g, sqlite3_column_double(st, 5), sqlite3_column_double(st, 6),
                            &ss, box);
            GEOSGeom_destroy_r(h, g);
        }
        if (!q.st && rc != SQLITE_DONE)
            q.st = koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
        sqlite3_reset(st);
    }
    if (q.prep) GEOSPreparedGeom_destroy_r(h, q.prep);
    if (q.fp) GEOSGeom_destroy_r(h, q.fp);
    if (q.st) {
        ko_hits_destroy(q.hits);
        return q.st;
    }
    finish_hits(q.hits);
    *out = q.hits;
    return KO_OK;
}
