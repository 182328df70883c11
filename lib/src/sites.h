/* Private: the site store's innards, shared by store.c, import.c, query.c and packed.c. */
#ifndef KEEPOUT_SITES_H
#define KEEPOUT_SITES_H

#include <sqlite3.h>

#include "context.h"

#define KOI_SCHEMA_VERSION 1

typedef struct koi_packed koi_packed;

struct ko_sites {
    ko_context *ctx;
    sqlite3 *db;
    void *splite; /* SpatiaLite connection cache */
    int writable;
    sqlite3_stmt *q_rtree; /* on-disk R-tree candidate query */
    koi_packed *packed;    /* in-memory index, or NULL */
    GEOSWKBReader *wkbr;   /* reused by queries */
};

/* Initialises SpatiaLite on s's connection if it is not yet (writable stores have it from the
 * start): before any SQL that calls its functions or writes geometries. */
ko_status koi_sites_spatialite(ko_sites *s);
void koi_sites_spatialite_free(ko_sites *s);

/* The store's SQLite failure as a status and message: "site store: <what>: <sqlite says>". */
ko_status koi_sites_db_error(ko_sites *s, const char *what);
/* An integer of the meta table (schema_version, store_version). */
ko_status koi_sites_meta_int(ko_sites *s, const char *key, long long *v);

/* Runs SQL without results; on failure records the SQLite message. */
ko_status koi_sites_exec(ko_sites *s, const char *sql);

/* Looks up the defaults of category in the store's categories table. Returns KO_ERR_NOT_FOUND
 * if the category is unknown. */
ko_status koi_sites_category(ko_sites *s, const char *category, double *buffer_m,
                             double *min_gsd_m);

/* Buffers g (WGS84 lon/lat) by buffer_m metres in a local azimuthal equidistant frame centred
 * on g's envelope, through PROJ. *out owned by the caller (a GEOS geometry of ctx->geos). */
ko_status koi_buffer_metric(ko_context *ctx, const GEOSGeometry *g, double buffer_m,
                            GEOSGeometry **out);

/* Sites across the antimeridian (geom_antimeridian.c). koi_geom_unwrap: g with longitudes
 * continuous along each ring or line and each part moved by a multiple of 360 next to the
 * first, so that RFC 7946 halves, a ring jumping from +179.9 to -179.9 and one given past
 * +-180 all become one shape (past +-180) for metric work. koi_geom_wrap: g cut at +-180 and
 * moved within [-180, 180] (a multipolygon where it crosses). *out owned by the caller. */
ko_status koi_geom_unwrap(ko_context *ctx, const GEOSGeometry *g, GEOSGeometry **out);
ko_status koi_geom_wrap(ko_context *ctx, const GEOSGeometry *g, GEOSGeometry **out);

/* Area of g (WGS84) in square metres, in the same local frame. */
ko_status koi_area_m2(ko_context *ctx, const GEOSGeometry *g, double *area_m2);

/* SpatiaLite geometry blobs read without SpatiaLite (splite_blob.c). koi_blob_mbr: the
 * header's box (minx, miny, maxx, maxy), 1 if b is a well-formed blob. koi_blob_wkb: the
 * geometry as WKB into out (room for n - 39 bytes), its length, or 0 for a malformed blob or
 * one SpatiaLite encodes otherwise than plain 2D (compressed, Z, M). */
int koi_blob_mbr(const unsigned char *b, size_t n, double *box);
/* A 32-bit integer or a double of WKB or a blob, little-endian when little is 1, else
 * big-endian. */
uint32_t koi_wkb_u32(const unsigned char *b, int little);
double koi_wkb_f64(const unsigned char *b, int little);
size_t koi_blob_wkb(const unsigned char *b, size_t n, unsigned char *out);

/* The local east/north box (metres from the camera; min e, min n, max e, max n) of the part
 * of the i-th hit's site in view, for its finest GSD; NULL past the end. */
const double *koi_hits_part_box(const ko_hits *h, size_t i);

/* The in-memory packed index (packed.c). */
void koi_packed_free(ko_context *ctx, koi_packed *p);
ko_status koi_packed_load(ko_sites *s, koi_packed **out);
/* Calls fn for each site whose float box intersects the query box; box is the site's box
 * (minx, miny, maxx, maxy) rounded outward to float32. fn returns 0 to stop. */
typedef int (*koi_packed_visit)(uint32_t item, const float *box, void *user);
void koi_packed_search(const koi_packed *p, double minx, double miny, double maxx, double maxy,
                       koi_packed_visit fn, void *user);

/* One site as the exact test sees it. A hole-free polygon is its closed shell ring (m points,
 * m >= 4), a point one pair (m == 1); any other shape is only its GEOS geometry (which big
 * polygons have too). Everything is borrowed from the index (or the caller) that filled it. */
enum { KOI_SITE_POLYGON = 0, KOI_SITE_POINT = 1, KOI_SITE_OTHER = 2 };
typedef struct koi_site {
    int64_t id;
    double min_gsd, buffer;
    int kind;
    const double *xy;
    size_t m;
    const GEOSGeometry *geom; /* always for KOI_SITE_OTHER, else NULL or the same shape */
    const char *name, *category, *source, *source_id;
} koi_site;
/* The item-th site of the packed index: its shape (kind, xy, m, geom), for the exact test,
 * and the rest (id, min_gsd, buffer, strings), for a hit. */
void koi_packed_shape(const koi_packed *p, uint32_t item, koi_site *v);
void koi_packed_meta(const koi_packed *p, uint32_t item, koi_site *v);
int64_t koi_packed_id(const koi_packed *p, uint32_t item); /* the id alone: no string lookups */

/* Where a box lies relative to a closed ring: KOI_BOX_OUTSIDE or KOI_BOX_INSIDE when that is
 * certain (no ring edge comes within a small margin of the box), else KOI_BOX_UNKNOWN. */
enum { KOI_BOX_OUTSIDE = 0, KOI_BOX_INSIDE = 1, KOI_BOX_UNKNOWN = 2 };
int koi_box_vs_ring(const double *ring, size_t n, double minx, double miny, double maxx,
                    double maxy);
/* Exact relation of a footprint ring and a site, decided without GEOS where the boundaries
 * are more than a small margin apart: KOI_GEOM_DISJOINT, KOI_GEOM_INTERSECTS, KOI_GEOM_INSIDE
 * (the site wholly inside the footprint), or KOI_GEOM_UNKNOWN (GEOS must decide: boundaries
 * within the margin, or a site other than a hole-free polygon or a point). */
enum { KOI_GEOM_DISJOINT = 0, KOI_GEOM_INTERSECTS = 1, KOI_GEOM_INSIDE = 2, KOI_GEOM_UNKNOWN = 3 };
int koi_ring_vs_site(GEOSContextHandle_t h, const double *ring, size_t n, const GEOSGeometry *site);
/* The same for a flat site (kind KOI_SITE_POLYGON or KOI_SITE_POINT). */
int koi_ring_vs_flat(const double *ring, size_t n, const koi_site *site);

/* Area of the intersection of two closed simple rings a and b (local metric coordinates, any
 * orientation), b's own area, and the point of the intersection nearest the origin (the
 * camera), without building the intersection. Returns 0, or -1 where the rings touch or come
 * within 0.1 mm of each other, or are degenerate: GEOS must decide. */
typedef struct koi_overlap {
    double area, area_b;
    double distance, nearest_x, nearest_y;
} koi_overlap;
int koi_ring_overlap(const double *a, size_t na, const double *b, size_t nb, koi_overlap *o);

/* 1 if the closed ring provably does not touch itself (no two non-adjacent edges within
 * 0.1 mm): koi_ring_overlap() needs simple rings. Sites are (GEOS-valid, buffered); footprints
 * can fold where rays are cut at the range limit, and are checked. */
int koi_ring_is_simple(const double *r, size_t n);

/* The bounding box of n points (x, y pairs); +/-INFINITY when n is 0. Comparisons, not
 * fmin/fmax, which are library calls in these hot loops. */
void koi_ring_box(const double *r, size_t n, double *minx, double *miny, double *maxx,
                  double *maxy);

/* Position of (x, y) along a Hilbert curve over a 2^16 x 2^16 grid. */
uint32_t koi_hilbert(uint32_t x, uint32_t y);
/* Sorts n (key << 32 | item) pairs by key (radix, stable). 0 when out of memory. */
int koi_sort_by_key(uint64_t *kv, size_t n);
/* The order in which to answer n queries whose boxes' centres are at xy (pairs): along a
 * Hilbert curve over their extent, so that neighbours in the order share the index's cached
 * nodes and sites. order[k] is the k-th query to answer. 0 when out of memory. */
int koi_query_order(const double *xy, size_t n, uint32_t *order);

/* A generic packed R-tree over boxes, usable on its own (the benchmark builds one). */
typedef struct koi_rtree koi_rtree;
ko_status koi_rtree_build(const double *boxes, size_t n, koi_rtree **out);
void koi_rtree_search(const koi_rtree *t, double minx, double miny, double maxx, double maxy,
                      koi_packed_visit fn, void *user);
size_t koi_rtree_bytes(const koi_rtree *t);
/* Renumbers the items in leaf order: perm[new] = old (perm has n entries), and the search
 * then reports the new numbers. */
void koi_rtree_renumber(koi_rtree *t, uint32_t *perm);
void koi_rtree_free(koi_rtree *t);

#endif
