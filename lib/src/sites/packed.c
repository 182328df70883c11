/* The in-memory packed index of a site store: a Hilbert-packed R-tree (rtree.c) over the
 * sites' buffered boxes, and each site laid out in the tree's leaf order. A hole-free polygon
 * (nearly every site) is kept as its flat shell ring, a point as one coordinate pair: the exact
 * test reads them where the tree left off, with no GEOS object to chase. Other shapes
 * (multi-parts, holes, lines) stay GEOS geometries. Immutable once loaded, so stores can share
 * it between threads (ko_sites_share_index). */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "sites/sites.h"

/* What only a hit needs, apart from what the exact test reads, so that a rejected candidate
 * costs no cache line of it. */
typedef struct meta {
    int64_t id;
    double min_gsd, buffer;
    size_t str; /* name, category, source, source_id: four strings in a row in strs */
} meta;

/* Polygons with more points keep a GEOS geometry beside the flat ring: the flat test declines
 * them against footprints of many points, and GEOS should not have to rebuild them per query. */
enum { GEOS_TOO = 64 };

struct koi_packed {
    atomic_int refs; /* stores sharing it */
    size_t n;
    koi_rtree *tree;
    uint32_t *shape;      /* n + 1: offset in points into xy << 3 | has a GEOS geometry << 2 | kind
                             (32 bits: half the cache misses of 64 over 10^6 sites) */
    double *xy;           /* flat rings and points, in leaf order */
    GEOSGeometry **geoms; /* KOI_SITE_OTHER and big polygons, else NULL */
    meta *meta;
    char *strs;
};

void koi_packed_free(ko_context *ctx, koi_packed *p) {
    if (!p || atomic_fetch_sub(&p->refs, 1) > 1) return;
    if (p->geoms)
        for (size_t i = 0; i < p->n; i++)
            if (p->geoms[i]) GEOSGeom_destroy_r(ctx->geos, p->geoms[i]);
    free(p->geoms);
    koi_rtree_free(p->tree);
    free(p->shape);
    free(p->xy);
    free(p->meta);
    free(p->strs);
    free(p);
}

/* A growable byte buffer. */
typedef struct bytes {
    unsigned char *p;
    size_t len, cap;
} bytes;

/* Makes room for n more bytes. */
static int bytes_room(bytes *b, size_t n) {
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
    return 1;
}

static int bytes_add(bytes *b, const void *src, size_t n) {
    if (!bytes_room(b, n)) return 0;
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return 1;
}

/* The flat form of a 2D WKB point or one-ring polygon: its kind and point count, and the
 * coordinates appended to xy. KOI_SITE_OTHER (nothing appended) for every other shape, which
 * GEOS then reads. A closed ring of at least 4 points is required of a flat polygon. */
static int wkb_flat(const unsigned char *b, size_t n, bytes *xy, size_t *points, int *ok) {
    *ok = 1;
    *points = 0;
    if (n < 9 || b[0] > 1) return KOI_SITE_OTHER;
    int little = b[0] == 1;
    uint32_t type = koi_wkb_u32(b + 1, little);
    if (type == 1 && n == 21) {
        double p[2] = {koi_wkb_f64(b + 5, little), koi_wkb_f64(b + 13, little)};
        if (!isfinite(p[0]) || !isfinite(p[1])) return KOI_SITE_OTHER; /* POINT EMPTY */
        *points = 1;
        *ok = bytes_add(xy, p, sizeof p);
        return KOI_SITE_POINT;
    }
    if (type != 3 || n < 13 || koi_wkb_u32(b + 5, little) != 1) return KOI_SITE_OTHER;
    uint32_t m = koi_wkb_u32(b + 9, little);
    if (m < 4 || (n - 13) / 16 != m || (n - 13) % 16 != 0) return KOI_SITE_OTHER;
    const unsigned char *c = b + 13;
    const uint16_t probe = 1;
    int host_little = *(const unsigned char *)&probe == 1;
    if (little == host_little) {
        if (!bytes_add(xy, c, 16 * (size_t)m)) goto nomem;
    } else {
        for (uint32_t i = 0; i < 2 * m; i++) {
            double d = koi_wkb_f64(c + 8 * (size_t)i, little);
            if (!bytes_add(xy, &d, sizeof d)) goto nomem;
        }
    }
    const double *r = (const double *)(xy->p + xy->len) - 2 * (size_t)m;
    if (r[0] != r[2 * m - 2] || r[1] != r[2 * m - 1]) {
        xy->len -= 16 * (size_t)m; /* not closed: GEOS will say what it is */
        return KOI_SITE_OTHER;
    }
    *points = m;
    return KOI_SITE_POLYGON;
nomem:
    *ok = 0;
    return KOI_SITE_OTHER;
}

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

/* What the load reads, in the store's row order, before the tree fixes the final order. */
typedef struct rows {
    size_t n;
    int64_t *ids;
    double *gsd, *buf, *boxes;
    size_t *soff, *woff; /* soff: each row's four strings, in a row */
    bytes str, wkb;
} rows;

static void rows_free(rows *r) {
    free(r->ids);
    free(r->gsd);
    free(r->buf);
    free(r->boxes);
    free(r->soff);
    free(r->woff);
    free(r->str.p);
    free(r->wkb.p);
}

static ko_status read_rows(ko_sites *s, size_t n, rows *r) {
    ko_context *ctx = s->ctx;
    r->ids = koi_calloc(n, sizeof *r->ids);
    r->gsd = koi_calloc(n, sizeof *r->gsd);
    r->buf = koi_calloc(n, sizeof *r->buf);
    r->soff = koi_calloc(n, sizeof *r->soff);
    r->woff = koi_calloc(n + 1, sizeof *r->woff);
    r->boxes = koi_calloc(n, 4 * sizeof *r->boxes);
    if (!r->ids || !r->gsd || !r->buf || !r->soff || !r->woff || !r->boxes)
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory loading %zu sites", n);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT s.id, s.name, s.category, s.source, s.source_id, s.min_gsd_m,"
                           " s.buffer_m, s.geom_buffered FROM sites s",
                           -1, &q, NULL) != SQLITE_OK)
        return koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
    ko_status st = KO_OK;
    size_t i = 0;
    int rc = SQLITE_DONE;
    while (i < n && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t id = r->ids[i] = sqlite3_column_int64(q, 0);
        r->soff[i] = r->str.len;
        for (int k = 0; k < 4; k++) {
            const char *t = (const char *)sqlite3_column_text(q, 1 + k);
            if (!t) t = "";
            if (!bytes_add(&r->str, t, strlen(t) + 1)) goto nomem;
        }
        r->gsd[i] = sqlite3_column_double(q, 5);
        r->buf[i] = sqlite3_column_double(q, 6);
        const unsigned char *b = sqlite3_column_blob(q, 7);
        size_t nb = (size_t)sqlite3_column_bytes(q, 7);
        r->woff[i] = r->wkb.len;
        if (!b) {
            st = koi_error(ctx, KO_ERR_GEOS, "site %lld: no geometry", (long long)id);
            break;
        }
        if (!bytes_room(&r->wkb, nb)) goto nomem;
        size_t len = koi_blob_wkb(b, nb, r->wkb.p + r->wkb.len);
        if (!len || !koi_blob_mbr(b, nb, r->boxes + 4 * i)) {
            st = koi_error(ctx, KO_ERR_DB,
                           "site %lld: not a plain 2D SpatiaLite geometry (re-import the source)",
                           (long long)id);
            break;
        }
        r->wkb.len += len;
        i++;
    }
    if (!st && i < n && rc != SQLITE_DONE)
        st = koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
    sqlite3_finalize(q);
    r->n = i;
    r->woff[i] = r->wkb.len;
    return st;
nomem:
    sqlite3_finalize(q);
    return koi_error(ctx, KO_ERR_NOMEM, "out of memory loading %zu sites", n);
}

/* Whether a site's geometry lies inside the box its blob's header records, from which the tree
 * was built: a geometry reaching outside it (a damaged or forged blob) would never be a
 * candidate where it strays, and the images that show it there would be clear. Its bounds, for
 * the message, in g. An empty geometry has no bounds and passes (it meets nothing anyway). */
static int inside_box(GEOSContextHandle_t h, const double *xy, size_t points,
                      const GEOSGeometry *geom, const double *box, double *g) {
    g[0] = g[1] = INFINITY, g[2] = g[3] = -INFINITY;
    if (geom) {
        if (GEOSisEmpty_r(h, geom) == 1) return 1;
        if (GEOSGeom_getXMin_r(h, geom, &g[0]) != 1 || GEOSGeom_getYMin_r(h, geom, &g[1]) != 1 ||
            GEOSGeom_getXMax_r(h, geom, &g[2]) != 1 || GEOSGeom_getYMax_r(h, geom, &g[3]) != 1)
            return 0;
    } else {
        for (size_t i = 0; i < points; i++) {
            double x = xy[2 * i], y = xy[2 * i + 1];
            g[0] = fmin(g[0], x), g[1] = fmin(g[1], y), g[2] = fmax(g[2], x), g[3] = fmax(g[3], y);
        }
        if (!points) return 1;
    }
    return g[0] >= box[0] && g[1] >= box[1] && g[2] <= box[2] && g[3] <= box[3];
}

/* Lays the rows out in leaf order: perm[k] is the row of the k-th leaf. */
static ko_status lay_out(ko_context *ctx, GEOSWKBReader *wkbr, const rows *r, const uint32_t *perm,
                         koi_packed *p, const char *store) {
    size_t n = r->n;
    bytes xy = {0};
    p->shape = koi_calloc(n + 1, sizeof *p->shape);
    p->geoms = koi_calloc(n, sizeof *p->geoms);
    p->meta = koi_calloc(n, sizeof *p->meta);
    if (!p->shape || !p->geoms || !p->meta) goto nomem;
    for (size_t k = 0; k < n; k++) {
        size_t j = perm[k];
        p->meta[k] = (meta){r->ids[j], r->gsd[j], r->buf[j], r->soff[j]};
        const unsigned char *w = r->wkb.p + r->woff[j];
        size_t wn = r->woff[j + 1] - r->woff[j], points = 0, at = xy.len / 16;
        int ok = 1, kind = wkb_flat(w, wn, &xy, &points, &ok);
        p->n = k + 1;
        if (!ok) goto nomem;
        int geos = kind == KOI_SITE_OTHER || points > GEOS_TOO;
        if (at > UINT32_MAX >> 3) {
            free(xy.p);
            return koi_error(ctx, KO_ERR_LIMIT, "the sites have more than %u points in all",
                             UINT32_MAX >> 3);
        }
        p->shape[k] = (uint32_t)at << 3 | (uint32_t)geos << 2 | (uint32_t)kind;
        if (geos) {
            p->geoms[k] = GEOSWKBReader_read_r(ctx->geos, wkbr, w, wn);
            if (!p->geoms[k] || !prime(ctx->geos, p->geoms[k])) {
                free(xy.p);
                return koi_error(ctx, KO_ERR_GEOS, "site %lld: unreadable geometry",
                                 (long long)r->ids[j]);
            }
        }
        const double *box = r->boxes + 4 * j;
        double g[4];
        if (!inside_box(ctx->geos, xy.p ? (const double *)(xy.p + 16 * at) : NULL, points,
                        kind == KOI_SITE_OTHER ? p->geoms[k] : NULL, box, g)) {
            free(xy.p);
            return koi_error(ctx, KO_ERR_DB,
                             "%s: damaged: site %lld's geometry (lon %.9g..%.9g, lat %.9g..%.9g) "
                             "reaches outside the box its stored blob records (lon %.9g..%.9g, "
                             "lat %.9g..%.9g), so it could be missed where it strays; build the "
                             "store again from its sources",
                             store, (long long)r->ids[j], g[0], g[2], g[1], g[3], box[0], box[2],
                             box[1], box[3]);
        }
    }
    if (xy.len / 16 > UINT32_MAX >> 3) {
        free(xy.p);
        return koi_error(ctx, KO_ERR_LIMIT, "the sites have more than %u points in all",
                         UINT32_MAX >> 3);
    }
    p->shape[n] = (uint32_t)(xy.len / 16) << 3;
    /* Give back the doubling's slack: the rings are the index's bulk. */
    p->xy = xy.len ? koi_realloc_array(xy.p, xy.len, 1) : NULL;
    if (!p->xy) p->xy = (double *)xy.p;
    return KO_OK;
nomem:
    free(xy.p);
    return koi_error(ctx, KO_ERR_NOMEM, "out of memory loading %zu sites", n);
}

ko_status koi_packed_load(ko_sites *s, koi_packed **out) {
    ko_context *ctx = s->ctx;
    koi_packed *p = koi_calloc(1, sizeof *p);
    if (!p) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    atomic_init(&p->refs, 1);
    rows r = {0};
    uint32_t *perm = NULL;
    int64_t count = 0;
    ko_status st = ko_sites_count(s, &count);
    /* The scan reads every page of the store: mapped, not a pread per page (1,022 sites:
     * 11-19 -> 3-7 ms). Only for the scan, as a mapped file shrunk by another process would
     * fault. */
    sqlite3_exec(s->db, "PRAGMA mmap_size = 1073741824", NULL, NULL, NULL);
    if (!st) st = read_rows(s, (size_t)count, &r);
    sqlite3_exec(s->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
    /* SQLite's R-tree boxes are already float32 rounded outward; rounding again is exact. */
    if (!st && (st = koi_rtree_build(r.boxes, r.n, &p->tree)))
        st = koi_error(ctx, st, "building the packed index of %zu sites failed", r.n);
    if (!st && !(perm = koi_calloc(r.n ? r.n : 1, sizeof *perm)))
        st = koi_error(ctx, KO_ERR_NOMEM, "out of memory loading %zu sites", r.n);
    if (!st) {
        koi_rtree_renumber(p->tree, perm);
        const char *name = sqlite3_db_filename(s->db, "main");
        st = lay_out(ctx, s->wkbr, &r, perm, p, name && *name ? name : "site store");
    }
    if (!st) {
        p->strs = (char *)r.str.p;
        r.str.p = NULL;
    }
    free(perm);
    rows_free(&r);
    if (st) {
        koi_packed_free(ctx, p);
        return st;
    }
    *out = p;
    return KO_OK;
}

void koi_packed_search(const koi_packed *p, double minx, double miny, double maxx, double maxy,
                       koi_packed_visit fn, void *user) {
    koi_rtree_search(p->tree, minx, miny, maxx, maxy, fn, user);
}

void koi_packed_shape(const koi_packed *p, uint32_t item, koi_site *v) {
    uint32_t a = p->shape[item], b = p->shape[item + 1];
    v->kind = (int)(a & 3);
    v->xy = p->xy ? p->xy + 2 * (a >> 3) : NULL; /* NULL: no site is flat */
    v->m = (size_t)((b >> 3) - (a >> 3));
    v->geom = a & 4 ? p->geoms[item] : NULL;
}

int64_t koi_packed_id(const koi_packed *p, uint32_t item) {
    return p->meta[item].id;
}

void koi_packed_meta(const koi_packed *p, uint32_t item, koi_site *v) {
    const meta *m = &p->meta[item];
    v->id = m->id;
    v->min_gsd = m->min_gsd;
    v->buffer = m->buffer;
    v->name = p->strs + m->str;
    v->category = v->name + strlen(v->name) + 1;
    v->source = v->category + strlen(v->category) + 1;
    v->source_id = v->source + strlen(v->source) + 1;
}

ko_status ko_sites_load_index(ko_sites *s) {
    if (!s) return KO_ERR_ARG;
    if (s->packed) return KO_OK;
    return koi_packed_load(s, &s->packed);
}

ko_status ko_sites_prepare(ko_sites *s, double n_queries, int *loaded) {
    int64_t n = 0;
    if (loaded) *loaded = 0;
    ko_status st = s ? ko_sites_count(s, &n) : KO_ERR_ARG;
    if (st) return st;
    /* loading costs ~8 us per site, an on-disk query ~31 us more (bench_index, 10^6 sites) */
    if (!s->packed && 4 * n_queries < (double)n) return KO_OK;
    if ((st = ko_sites_load_index(s))) return st;
    if (loaded) *loaded = 1;
    return KO_OK;
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
