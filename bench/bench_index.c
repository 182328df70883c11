/* bench_index: the packed in-memory index of ko_sites_query against (a) SpatiaLite SQL with
 * the R-tree subquery and ST_Intersects in one read transaction and (b) a GEOS STRtree with
 * a prepared footprint, on synthetic sites shaped like real ones.
 *
 * usage: bench_index [N_SITES=1000000] [N_FOOTPRINTS=100000] [STORE=/tmp/keepout_bench_N.sqlite]
 *                    [CENTRE_LON,CENTRE_LAT=10,51]
 * The store and its index file (STORE.koidx) are built once and reused by later runs with the
 * same N. The packed index measured is the store's index file, mapped at open. Not run by
 * ctest. */
#include <geos_c.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "keepout/keepout.h"
#include "sites/sites.h"

/* Country-sized extent: 10 degrees of longitude by 8 of latitude (about 700 x 900 km), by
 * default 5..15 E, 47..55 N; the fifth argument moves its centre (bench_scale.sh puts it
 * around the repository's photos). Set once in main. */
static double LON0 = 5.0, LON1 = 15.0, LAT0 = 47.0, LAT1 = 55.0;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static double kx_at(double lat) {
    return 111320.0 * cos(lat * M_PI / 180);
}
#define KY 111132.0

/* Site i: a star-shaped (hence simple) polygon of 8..32 vertices, 20..500 m across. */
static size_t site_ring(uint64_t *seed, double *ring, double *cx, double *cy) {
    *cx = LON0 + (LON1 - LON0) * rnd(seed);
    *cy = LAT0 + (LAT1 - LAT0) * rnd(seed);
    double r = 10 + 240 * rnd(seed) * rnd(seed); /* more small sites than large ones */
    size_t k = 8 + (size_t)(25 * rnd(seed));
    double kx = kx_at(*cy), rot = 2 * M_PI * rnd(seed);
    for (size_t i = 0; i < k; i++) {
        double a = rot + 2 * M_PI * (double)i / (double)k, rr = r * (0.6 + 0.4 * rnd(seed));
        ring[2 * i] = *cx + rr * cos(a) / kx;
        ring[2 * i + 1] = *cy + rr * sin(a) / KY;
    }
    ring[2 * k] = ring[0];
    ring[2 * k + 1] = ring[1];
    return k + 1;
}

/* Footprint j: a quadrilateral of 50..300 m; half of them near a site, as surveys are. */
static void footprint(uint64_t *seed, const double *centers, size_t n, double *ring, double *cam) {
    double x, y;
    if (rnd(seed) < 0.5) {
        size_t i = (size_t)(rnd(seed) * (double)n);
        x = centers[2 * i] + (rnd(seed) - 0.5) * 600 / kx_at(centers[2 * i + 1]);
        y = centers[2 * i + 1] + (rnd(seed) - 0.5) * 600 / KY;
    } else {
        x = LON0 + (LON1 - LON0) * rnd(seed);
        y = LAT0 + (LAT1 - LAT0) * rnd(seed);
    }
    double s = 50 + 250 * rnd(seed), rot = 2 * M_PI * rnd(seed), kx = kx_at(y);
    double px[4] = {-0.5, 0.5, 0.7, -0.7}, py[4] = {-0.4, -0.4, 0.5, 0.5};
    for (int i = 0; i < 4; i++) {
        double a = px[i] * s, b = py[i] * s;
        ring[2 * i] = x + (a * cos(rot) - b * sin(rot)) / kx;
        ring[2 * i + 1] = y + (a * sin(rot) + b * cos(rot)) / KY;
    }
    ring[8] = ring[0], ring[9] = ring[1];
    cam[0] = x;
    cam[1] = y - 0.8 * s / KY;
}

/* Footprints as survey missions fly them, in flight order: blocks of 20 lines of 25 photos
 * (80 % forward overlap, 70 % sidelap), each mission at a random place (half of them over a
 * site), its footprint 50..300 m and its heading random, lines flown alternately out and back.
 * Unlike random footprints sorted into rows, neighbours in the batch are metres apart, as in
 * an archive of surveys tagged mission by mission. */
static void survey_missions(uint64_t *seed, const double *centers, size_t n, double *fps,
                            double *cams, size_t nq) {
    const size_t lines = 20, per_line = 25;
    for (size_t q = 0; q < nq;) {
        double x, y;
        if (rnd(seed) < 0.5) {
            size_t i = (size_t)(rnd(seed) * (double)n);
            x = centers[2 * i], y = centers[2 * i + 1];
        } else {
            x = LON0 + (LON1 - LON0) * rnd(seed);
            y = LAT0 + (LAT1 - LAT0) * rnd(seed);
        }
        double s = 50 + 250 * rnd(seed), rot = 2 * M_PI * rnd(seed), kx = kx_at(y);
        double along = 0.2 * 0.8 * s, across = 0.3 * s; /* (the footprint is 0.8 s deep) */
        for (size_t l = 0; l < lines && q < nq; l++) {
            for (size_t j = 0; j < per_line && q < nq; j++, q++) {
                double t = ((double)(l % 2 ? per_line - 1 - j : j) - per_line / 2.0) * along;
                double c = ((double)l - lines / 2.0) * across; /* metres along and across */
                double px[4] = {-0.5, 0.5, 0.7, -0.7}, py[4] = {-0.4, -0.4, 0.5, 0.5};
                double *ring = fps + 10 * q;
                for (int v = 0; v < 4; v++) {
                    double a = px[v] * s + c, b = py[v] * s + t;
                    ring[2 * v] = x + (a * cos(rot) - b * sin(rot)) / kx;
                    ring[2 * v + 1] = y + (a * sin(rot) + b * cos(rot)) / KY;
                }
                ring[8] = ring[0], ring[9] = ring[1];
                cams[2 * q] = x + (c * cos(rot) - (t - 0.8 * s) * sin(rot)) / kx;
                cams[2 * q + 1] = y + (c * sin(rot) + (t - 0.8 * s) * cos(rot)) / KY;
            }
        }
    }
}

/* Hit sets of all queries: per query a sorted run of site ids. */
typedef struct hitsets {
    size_t *start; /* n_queries + 1 */
    int64_t *ids;
    size_t n, cap;
} hitsets;

static void hs_init(hitsets *h, size_t nq) {
    h->start = calloc(nq + 1, sizeof *h->start);
    h->cap = 1024;
    h->ids = malloc(h->cap * sizeof *h->ids);
    h->n = 0;
    if (!h->start || !h->ids) abort();
}

static void hs_add(hitsets *h, int64_t id) {
    if (h->n == h->cap) {
        h->cap *= 2;
        h->ids = realloc(h->ids, h->cap * sizeof *h->ids);
        if (!h->ids) abort();
    }
    h->ids[h->n++] = id;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void hs_end_query(hitsets *h, size_t q) {
    h->start[q + 1] = h->n;
}

/* Sorts each query's run, for comparison: done after the timing, which is of the methods, not
 * of this bookkeeping. */
static void hs_sort(hitsets *h, size_t nq) {
    for (size_t q = 0; q < nq; q++) {
        size_t n = h->start[q + 1] - h->start[q];
        if (n > 1) qsort(h->ids + h->start[q], n, sizeof *h->ids, cmp_i64);
    }
}

static size_t hs_diff(const hitsets *a, const hitsets *b, size_t nq) {
    size_t bad = 0;
    for (size_t q = 0; q < nq; q++) {
        size_t na = a->start[q + 1] - a->start[q], nb = b->start[q + 1] - b->start[q];
        if (na != nb ||
            memcmp(a->ids + a->start[q], b->ids + b->start[q], na * sizeof *a->ids) != 0)
            bad++;
    }
    return bad;
}

/* Like hs_diff, where b's k-th run belongs to footprint order[k]. */
static size_t hs_diff_order(const hitsets *a, const hitsets *b, const uint32_t *order, size_t nq) {
    size_t bad = 0;
    for (size_t k = 0; k < nq; k++) {
        size_t q = order[k];
        size_t na = a->start[q + 1] - a->start[q], nb = b->start[k + 1] - b->start[k];
        if (na != nb ||
            memcmp(a->ids + a->start[q], b->ids + b->start[k], na * sizeof *a->ids) != 0)
            bad++;
    }
    return bad;
}

static long peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static void die(const char *what, ko_context *ctx) {
    fprintf(stderr, "bench_index: %s: %s\n", what, ctx ? ko_errmsg(ctx) : "");
    exit(1);
}

typedef struct strtree_q {
    GEOSContextHandle_t h;
    const GEOSPreparedGeometry *prep;
    hitsets *hs;
} strtree_q;

static void strtree_visit(void *item, void *user) {
    strtree_q *q = user;
    const GEOSGeometry *g = item;
    if (GEOSPreparedIntersects_r(q->h, q->prep, g) == 1)
        hs_add(q->hs, (int64_t)(intptr_t)GEOSGeom_getUserData_r(q->h, g));
}

typedef struct packed_q {
    GEOSContextHandle_t h;
    const koi_packed *p;
    const double *ring;
    GEOSGeometry *fp;
    const GEOSPreparedGeometry *prep;
    hitsets *hs;
    size_t *counts; /* box: outside, inside, unknown; boundaries: the KOI_GEOM_ values */
} packed_q;

static int count_visit(uint32_t item, const float *box, void *user) {
    (void)item;
    (void)box;
    ++*(size_t *)user;
    return 1;
}

static int packed_visit(uint32_t item, const float *box, void *user) {
    packed_q *q = user;
    int where = koi_box_vs_ring(q->ring, 5, box[0], box[1], box[2], box[3]);
    q->counts[where]++;
    if (where == KOI_BOX_OUTSIDE) return 1;
    koi_site v;
    if (where == KOI_BOX_INSIDE) {
        hs_add(q->hs, koi_packed_id(q->p, item));
        return 1;
    }
    koi_packed_shape(q->p, item, &v);
    int rel = v.kind == KOI_SITE_OTHER ? KOI_GEOM_UNKNOWN : koi_ring_vs_flat(q->ring, 5, &v);
    q->counts[3 + rel]++;
    if (rel == KOI_GEOM_DISJOINT) return 1;
    v.id = koi_packed_id(q->p, item);
    if (rel != KOI_GEOM_UNKNOWN) {
        hs_add(q->hs, v.id);
        return 1;
    }
    if (!q->prep) {
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(q->h, q->ring, 5, 0, 0);
        q->fp = GEOSGeom_createPolygon_r(q->h, GEOSGeom_createLinearRing_r(q->h, cs), NULL, 0);
        q->prep = GEOSPrepare_r(q->h, q->fp);
    }
    GEOSGeometry *tmp = NULL;
    if (v.kind == KOI_SITE_OTHER) { /* (none here: the sites are flat) */
        tmp = GEOSGeomFromWKB_buf_r(q->h, v.wkb, v.nwkb);
    } else { /* a flat site: GEOS needs its own geometry (rare: touching boundaries) */
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(q->h, v.xy, (unsigned)v.m, 0, 0);
        tmp = v.kind == KOI_SITE_POINT
                  ? GEOSGeom_createPointFromXY_r(q->h, v.xy[0], v.xy[1])
                  : GEOSGeom_createPolygon_r(q->h, GEOSGeom_createLinearRing_r(q->h, cs), NULL, 0);
        if (v.kind == KOI_SITE_POINT) GEOSCoordSeq_destroy_r(q->h, cs);
    }
    if (GEOSPreparedIntersects_r(q->h, q->prep, v.geom ? v.geom : tmp) == 1) hs_add(q->hs, v.id);
    if (tmp) GEOSGeom_destroy_r(q->h, tmp);
    return 1;
}

/* What the timed loops share. */
typedef struct bench_env {
    GEOSContextHandle_t h;
    ko_sites *s, *disk;
    const double *fps, *cams;
    size_t nq;
    sqlite3_stmt *sql;
    GEOSSTRtree *strtree;
    size_t counts[7]; /* of run_idx: box outside, inside, unknown; then the KOI_GEOM_ values */
    uint32_t *order;  /* the batch order of the footprints (koi_query_order) */
} bench_env;

static void query_box(const double *r, double *b) {
    koi_ring_box(r, 5, &b[0], &b[1], &b[2], &b[3]);
}

/* keepout: ko_sites_query with the packed index (or on disk), full hit measures. */
static void run_mine(bench_env *e, hitsets *hs) {
    ko_context *ctx = e->s->ctx;
    for (size_t q = 0; q < e->nq; q++) {
        ko_hits *hits = NULL;
        if (ko_sites_query(e->s, e->fps + 10 * q, 5, e->cams[2 * q], e->cams[2 * q + 1], &hits) !=
            KO_OK)
            die("query", ctx);
        for (size_t i = 0; i < ko_hits_count(hits); i++)
            hs_add(hs, ko_hits_get(hits, i)->site_id);
        ko_hits_destroy(hits);
        hs_end_query(hs, q);
    }
}

/* keepout's packed index with the same work as the baselines: candidates from the packed
 * R-tree, exact test (GEOS's prepared footprint only where the flat test declines), ids only. */
static void idx_one(bench_env *e, hitsets *hs, const double *r) {
    packed_q pq = {e->h, e->s->packed, r, NULL, NULL, hs, e->counts};
    double b[4];
    query_box(r, b);
    koi_packed_search(e->s->packed, b[0], b[1], b[2], b[3], packed_visit, &pq);
    if (pq.prep) GEOSPreparedGeom_destroy_r(e->h, pq.prep);
    if (pq.fp) GEOSGeom_destroy_r(e->h, pq.fp);
}

static void run_idx(bench_env *e, hitsets *hs) {
    memset(e->counts, 0, sizeof e->counts);
    for (size_t q = 0; q < e->nq; q++) {
        idx_one(e, hs, e->fps + 10 * q);
        hs_end_query(hs, q);
    }
}

/* e->order := the order ko_sites_query_batch() answers the footprints in (their boxes'
 * centres along a Hilbert curve). */
static void batch_order(bench_env *e) {
    double *xy = malloc(2 * e->nq * sizeof *xy);
    if (!xy) die("out of memory", NULL);
    for (size_t q = 0; q < e->nq; q++) {
        double b[4];
        query_box(e->fps + 10 * q, b);
        xy[2 * q] = (b[0] + b[2]) / 2, xy[2 * q + 1] = (b[1] + b[3]) / 2;
    }
    if (!koi_query_order(xy, e->nq, e->order)) die("out of memory", NULL);
    free(xy);
}

/* The same in the order ko_sites_query_batch() answers a batch: the k-th run of hs is the
 * hit set of footprint e->order[k] (ordering included in the time). */
static void run_idx_batch(bench_env *e, hitsets *hs) {
    batch_order(e);
    for (size_t k = 0; k < e->nq; k++) {
        idx_one(e, hs, e->fps + 10 * e->order[k]);
        hs_end_query(hs, k);
    }
}

/* ko_sites_query_batch, full hit measures. */
static void run_batch(bench_env *e, hitsets *hs) {
    ko_site_query *qs = malloc(e->nq * sizeof *qs);
    ko_hits **out = malloc(e->nq * sizeof *out);
    if (!qs || !out) die("out of memory", NULL);
    for (size_t q = 0; q < e->nq; q++)
        qs[q] = (ko_site_query){e->fps + 10 * q, 5, e->cams[2 * q], e->cams[2 * q + 1]};
    if (ko_sites_query_batch(e->s, qs, e->nq, out) != KO_OK) die("batch", e->s->ctx);
    for (size_t q = 0; q < e->nq; q++) {
        for (size_t i = 0; i < ko_hits_count(out[q]); i++)
            hs_add(hs, ko_hits_get(out[q], i)->site_id);
        ko_hits_destroy(out[q]);
        hs_end_query(hs, q);
    }
    free(qs);
    free(out);
}

/* The packed R-tree traversal alone (candidates counted, no exact test). */
static void run_traversal(bench_env *e, hitsets *hs) {
    size_t n_cand = 0;
    for (size_t q = 0; q < e->nq; q++) {
        double b[4];
        query_box(e->fps + 10 * q, b);
        koi_packed_search(e->s->packed, b[0], b[1], b[2], b[3], count_visit, &n_cand);
        hs_end_query(hs, q);
    }
}

/* The same, many footprints at once (koi_packed_search_many, groups of MANY). */
enum { MANY = 256 };
static void run_traversal_many(bench_env *e, hitsets *hs) {
    koi_many m = {0};
    double qb[4 * MANY];
    size_t n_cand = 0;
    for (size_t q0 = 0; q0 < e->nq; q0 += MANY) {
        size_t nb = e->nq - q0 < MANY ? e->nq - q0 : MANY;
        for (size_t k = 0; k < nb; k++)
            query_box(e->fps + 10 * (q0 + k), qb + 4 * k);
        if (!koi_packed_search_many(e->s->packed, qb, nb, &m)) die("out of memory", NULL);
        n_cand += m.nout;
        for (size_t k = 0; k < nb; k++)
            hs_end_query(hs, q0 + k);
    }
    koi_many_free(&m);
}

/* keepout's packed index + exact test as run_idx_batch (batch order), many footprints at
 * once: candidates of MANY footprints from one search, each site's data prefetched ahead. */
static void run_idx_many(bench_env *e, hitsets *hs) {
    enum { A = 4 };
    const koi_packed *p = e->s->packed;
    batch_order(e);
    koi_many m = {0};
    double qb[4 * MANY];
    size_t counts[7]; /* (run_idx's are the ones printed) */
    for (size_t k0 = 0; k0 < e->nq; k0 += MANY) {
        size_t nb = e->nq - k0 < MANY ? e->nq - k0 : MANY;
        for (size_t k = 0; k < nb; k++)
            query_box(e->fps + 10 * e->order[k0 + k], qb + 4 * k);
        if (!koi_packed_search_many(p, qb, nb, &m)) die("out of memory", NULL);
        for (size_t i = 0; i < m.nout && i < 2 * A; i++)
            koi_packed_prefetch(p, m.out[i].item, 0);
        for (size_t i = 0; i < m.nout && i < A; i++)
            koi_packed_prefetch(p, m.out[i].item, 1);
        size_t i = 0;
        for (size_t k = 0; k < nb; k++) {
            packed_q pq = {e->h, p, e->fps + 10 * e->order[k0 + k], NULL, NULL, hs, counts};
            for (; i < m.nout && m.out[i].box == k; i++) {
                if (i + 2 * A < m.nout) koi_packed_prefetch(p, m.out[i + 2 * A].item, 0);
                if (i + A < m.nout) koi_packed_prefetch(p, m.out[i + A].item, 1);
                packed_visit(m.out[i].item, koi_packed_box(p, m.out[i].item), &pq);
            }
            if (pq.prep) GEOSPreparedGeom_destroy_r(e->h, pq.prep);
            if (pq.fp) GEOSGeom_destroy_r(e->h, pq.fp);
            hs_end_query(hs, k0 + k);
        }
    }
    koi_many_free(&m);
}

/* (a) SpatiaLite SQL, one read transaction. */
static void run_sql(bench_env *e, hitsets *hs) {
    GEOSWKBWriter *w = GEOSWKBWriter_create_r(e->h);
    sqlite3 *db = sqlite3_db_handle(e->sql);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t q = 0; q < e->nq; q++) {
        const double *r = e->fps + 10 * q;
        double b[4];
        query_box(r, b);
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(e->h, r, 5, 0, 0);
        GEOSGeometry *fp =
            GEOSGeom_createPolygon_r(e->h, GEOSGeom_createLinearRing_r(e->h, cs), NULL, 0);
        size_t nb = 0;
        unsigned char *wkb = GEOSWKBWriter_write_r(e->h, w, fp, &nb);
        sqlite3_bind_double(e->sql, 1, b[0]);
        sqlite3_bind_double(e->sql, 2, b[2]);
        sqlite3_bind_double(e->sql, 3, b[1]);
        sqlite3_bind_double(e->sql, 4, b[3]);
        sqlite3_bind_blob(e->sql, 5, wkb, (int)nb, SQLITE_STATIC);
        while (sqlite3_step(e->sql) == SQLITE_ROW)
            hs_add(hs, sqlite3_column_int64(e->sql, 0));
        sqlite3_reset(e->sql);
        GEOSFree_r(e->h, wkb);
        GEOSGeom_destroy_r(e->h, fp);
        hs_end_query(hs, q);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    GEOSWKBWriter_destroy_r(e->h, w);
}

/* (b) GEOS STRtree + prepared footprint. */
static void run_strtree(bench_env *e, hitsets *hs) {
    for (size_t q = 0; q < e->nq; q++) {
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(e->h, e->fps + 10 * q, 5, 0, 0);
        GEOSGeometry *fp =
            GEOSGeom_createPolygon_r(e->h, GEOSGeom_createLinearRing_r(e->h, cs), NULL, 0);
        const GEOSPreparedGeometry *prep = GEOSPrepare_r(e->h, fp);
        strtree_q sq = {e->h, prep, hs};
        GEOSSTRtree_query_r(e->h, e->strtree, fp, strtree_visit, &sq);
        GEOSPreparedGeom_destroy_r(e->h, prep);
        GEOSGeom_destroy_r(e->h, fp);
        hs_end_query(hs, q);
    }
}

#define REPS 3

/* The fastest of REPS runs of fn; *hs holds the last run's hit sets. */
static double best_of(bench_env *e, void (*fn)(bench_env *, hitsets *), hitsets *hs) {
    double best = INFINITY;
    hs_init(hs, e->nq);
    for (int r = 0; r < REPS; r++) {
        hs->n = 0;
        double t0 = now();
        fn(e, hs);
        double t = now() - t0;
        if (t < best) best = t;
    }
    hs_sort(hs, e->nq);
    return best;
}

static void hs_free(hitsets *h) {
    free(h->start);
    free(h->ids);
}

/* One set of footprints and what keepout, (a) and the on-disk path made of it, measured before
 * (b)'s geometries exist: at 10^7 sites those take ~12 GB, which would push the mapped index
 * out of the page cache while keepout runs, as no keepout user's machine would. */
typedef struct scen {
    const char *title;
    double *fps, *cams;
    size_t nq, nd;
    uint32_t *order;
    size_t counts[7];
    hitsets mine, idx, idxb, batch, idxm, sql, disk;
    double t_mine, t_batch, t_idxb, t_idx, t_idxm, t_trav, t_travm, t_sql, t_disk;
} scen;

static void use(bench_env *e, scen *c) {
    e->fps = c->fps, e->cams = c->cams, e->nq = c->nq, e->order = c->order;
}

/* Every method but (b) over c's footprints. */
static void measure(bench_env *e, scen *c) {
    use(e, c);
    hitsets none, none2;
    c->t_mine = best_of(e, run_mine, &c->mine);
    c->t_batch = best_of(e, run_batch, &c->batch);
    c->t_idxb = best_of(e, run_idx_batch, &c->idxb);
    c->t_idx = best_of(e, run_idx, &c->idx);
    memcpy(c->counts, e->counts, sizeof c->counts);
    c->t_idxm = best_of(e, run_idx_many, &c->idxm);
    c->t_trav = best_of(e, run_traversal, &none);
    c->t_travm = best_of(e, run_traversal_many, &none2);
    hs_free(&none), hs_free(&none2);
    /* BENCH_QUICK=1: neither (a) nor the on-disk sample (while tuning the packed index) */
    int quick = getenv("BENCH_QUICK") != NULL;
    c->t_sql = quick ? NAN : best_of(e, run_sql, &c->sql);
    /* On-disk R-tree path of ko_sites_query (no packed index), on a sample, once. */
    c->nd = quick ? 1 : c->nq < 2000 ? c->nq : 2000;
    bench_env ed = *e;
    ed.s = e->disk, ed.nq = c->nd;
    hs_init(&c->disk, c->nd);
    double t0 = now();
    run_mine(&ed, &c->disk);
    c->t_disk = now() - t0;
    hs_sort(&c->disk, c->nd);
}

/* Runs (b) over c's footprints, prints the table; returns how many footprints' hit sets
 * differ from ko_sites_query's. */
static size_t report(bench_env *e, scen *c) {
    use(e, c);
    size_t nq = c->nq, nd = c->nd;
    int quick = getenv("BENCH_QUICK") != NULL;
    hitsets geos;
    double t_geos = e->strtree ? best_of(e, run_strtree, &geos) : NAN;
    double t_idx = c->t_idx, t_sql = c->t_sql;
    size_t with_hits = 0;
    for (size_t q = 0; q < nq; q++)
        with_hits += c->mine.start[q + 1] > c->mine.start[q];
    printf("\n== %s ==\n", c->title);
    printf(
        "candidates: %zu outside by box, %zu inside by box; of the other %zu: %zu disjoint, "
        "%zu intersecting, %zu inside by boundaries, %zu left to GEOS\n",
        c->counts[0], c->counts[1], c->counts[2], c->counts[3], c->counts[4], c->counts[5],
        c->counts[6]);
    printf("hits: %zu in %zu footprints (%zu footprints with hits)\n", c->mine.n, nq, with_hits);
    printf("%-40s %12s %10s   (best of %d runs each)\n", "method", "queries/s", "time ratio", REPS);
    printf("%-40s %12.0f %10s\n", "keepout packed index + exact test (ids)", nq / t_idx, "1.0");
    printf("%-40s %12.0f %9.1fx\n", "(a) SpatiaLite R-tree + ST_Intersects", nq / t_sql,
           t_sql / t_idx);
    printf("%-40s %12.0f %9.1fx\n", "(b) GEOS STRtree + prepared", nq / t_geos, t_geos / t_idx);
    printf("%-40s %12.0f %9.1fx\n", "ko_sites_query, packed (ids + measures)", nq / c->t_mine,
           c->t_mine / t_idx);
    printf("%-40s %12.0f %9.1fx\n", "ko_sites_query_batch (ids + measures)", nq / c->t_batch,
           c->t_batch / t_idx);
    printf("%-40s %12.0f %9.1fx   -> (a) %.1fx, (b) %.1fx\n",
           "packed + exact test, batch order (ids)", nq / c->t_idxb, c->t_idxb / t_idx,
           t_sql / c->t_idxb, t_geos / c->t_idxb);
    printf("%-40s %12.0f %9.1fx   -> (a) %.1fx, (b) %.1fx\n",
           "packed + exact test, many at once (ids)", nq / c->t_idxm, c->t_idxm / t_idx,
           t_sql / c->t_idxm, t_geos / c->t_idxm);
    printf("%-40s %12.0f %10s\n", "packed R-tree traversal alone", nq / c->t_trav, "");
    printf("%-40s %12.0f %10s\n", "packed R-tree traversal, many at once", nq / c->t_travm, "");
    printf("%-40s %12.0f %10s\n", "ko_sites_query, on-disk R-tree (sample)", nd / c->t_disk, "");
    size_t d_sql = quick ? 0 : hs_diff(&c->mine, &c->sql, nq),
           d_geos = e->strtree ? hs_diff(&c->mine, &geos, nq) : 0,
           d_disk = hs_diff(&c->mine, &c->disk, nd),
           d_idx = hs_diff(&c->mine, &c->idx, nq) + hs_diff(&c->mine, &c->batch, nq) +
                   hs_diff_order(&c->mine, &c->idxb, c->order, nq) +
                   hs_diff_order(&c->mine, &c->idxm, c->order, nq);
    printf(
        "footprints whose hit set differs from ko_sites_query: index-only and batch %zu, (a) %zu, "
        "(b) %zu, on-disk %zu of %zu\n",
        d_idx, d_sql, d_geos, d_disk, nd);
    hs_free(&c->mine), hs_free(&c->idx), hs_free(&c->idxb), hs_free(&c->idxm);
    hs_free(&c->batch), hs_free(&c->disk);
    if (!quick) hs_free(&c->sql);
    if (e->strtree) hs_free(&geos);
    return d_sql + d_geos + d_disk + d_idx;
}

/* Survey order: rows of 0.005 degrees of latitude (~550 m), flown west to east and back. */
typedef struct order_key {
    long row;
    double x;
    size_t i;
} order_key;

static int by_survey(const void *a, const void *b) {
    const order_key *p = a, *q = b;
    if (p->row != q->row) return p->row < q->row ? -1 : 1;
    double px = p->row % 2 ? -p->x : p->x, qx = q->row % 2 ? -q->x : q->x;
    return px < qx ? -1 : px > qx;
}

static void sort_as_survey(double *fps, double *cams, size_t nq) {
    order_key *k = malloc(nq * sizeof *k);
    double *f2 = malloc(10 * nq * sizeof *f2), *c2 = malloc(2 * nq * sizeof *c2);
    if (!k || !f2 || !c2) die("out of memory", NULL);
    for (size_t q = 0; q < nq; q++)
        k[q] = (order_key){(long)floor((cams[2 * q + 1] - LAT0) / 0.005), cams[2 * q], q};
    qsort(k, nq, sizeof *k, by_survey);
    for (size_t q = 0; q < nq; q++) {
        memcpy(f2 + 10 * q, fps + 10 * k[q].i, 10 * sizeof *f2);
        memcpy(c2 + 2 * q, cams + 2 * k[q].i, 2 * sizeof *c2);
    }
    memcpy(fps, f2, 10 * nq * sizeof *f2);
    memcpy(cams, c2, 2 * nq * sizeof *c2);
    free(k), free(f2), free(c2);
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    size_t nq = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 100000;
    char dbpath[512];
    if (argc > 3)
        snprintf(dbpath, sizeof dbpath, "%s", argv[3]);
    else
        snprintf(dbpath, sizeof dbpath, "/tmp/keepout_bench_%zu.sqlite", n);
    double clon, clat;
    /* BENCH_SPAN=LONxLAT widens the extent (degrees): the same site density as a smaller
     * store, as sites of a continent or the planet are spread, where the default packs 10^7
     * sites 100 times denser than 10^5 and measures the density as much as the index. */
    double wlon = 10, wlat = 8;
    const char *span = getenv("BENCH_SPAN");
    if (span && (sscanf(span, "%lfx%lf", &wlon, &wlat) != 2 || !(wlon > 0 && wlon <= 360) ||
                 !(wlat > 0 && wlat <= 170)))
        die("BENCH_SPAN is LONxLAT in degrees, e.g. 100x80", NULL);
    if (argc > 4 && sscanf(argv[4], "%lf,%lf", &clon, &clat) == 2) {
        LON0 = clon - wlon / 2, LON1 = clon + wlon / 2, LAT0 = clat - wlat / 2,
        LAT1 = clat + wlat / 2;
    } else if (span) {
        LON0 = 10 - wlon / 2, LON1 = 10 + wlon / 2, LAT0 = 51 - wlat / 2, LAT1 = 51 + wlat / 2;
    }
    if (LAT0 < -85 || LAT1 > 85) die("the extent reaches beyond 85 degrees of latitude", NULL);
    if (n == 0 || nq == 0) {
        fprintf(stderr, "usage: bench_index [N_SITES] [N_FOOTPRINTS] [STORE]\n");
        return 2;
    }
    ko_context *ctx = NULL;
    if (ko_context_create(&ctx) != KO_OK) die("context", NULL);
    GEOSContextHandle_t h = ctx->geos;
    printf("bench_index: %zu sites, %zu footprints, store %s\n", n, nq, dbpath);

    /* Sites, deterministic: the same seed gives the same store. The store is written straight
     * from the generator (WKB by hand, no GEOS geometry held: at 10^7 sites those take ~10 GB,
     * made only after the index file is built, for (b)). */
    double *centers = malloc(2 * n * sizeof *centers);
    if (!centers) die("out of memory", NULL);
    const uint64_t seed0 = 0x9E3779B97F4A7C15ull;
    uint64_t seed = seed0;
    double ring[2 * 40];
    double t0 = now();
    struct stat sb;
    int fresh = stat(dbpath, &sb) != 0;
    ko_sites *s = NULL;
    if (ko_sites_open(ctx, dbpath, KO_SITES_CREATE, &s) != KO_OK) die("open store", ctx);
    if (fresh) {
        sqlite3_stmt *ins = NULL;
        /* A page cache that holds the R-tree: at 10^7 sites SQLite's default 2 MB made every
         * insert a few page reads. */
        if (sqlite3_exec(s->db, "PRAGMA cache_size = -1500000", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
            koi_sites_bulk_write(s, 1) != KO_OK || /* as an import: no trigger per row */
            sqlite3_prepare_v2(
                s->db,
                "INSERT INTO sites(id, source, source_id, name, category, buffer_m,"
                " min_gsd_m, geom, geom_buffered) VALUES(?1, 'bench', ?1, ?2,"
                " 'substation', 0, 0.5, GeomFromWKB(?3, 4326), GeomFromWKB(?3, 4326))",
                -1, &ins, NULL) != SQLITE_OK)
            die(sqlite3_errmsg(s->db), NULL);
        unsigned char wkb[13 + 16 * 40];
        const uint16_t probe = 1;
        if (*(const unsigned char *)&probe != 1) die("a big-endian host: WKB written as little", 0);
        for (size_t i = 0; i < n; i++) {
            size_t k = site_ring(&seed, ring, &centers[2 * i], &centers[2 * i + 1]);
            uint32_t type = 3, nr = 1, np = (uint32_t)k;
            wkb[0] = 1; /* (a little-endian host: checked below) */
            memcpy(wkb + 1, &type, 4), memcpy(wkb + 5, &nr, 4), memcpy(wkb + 9, &np, 4);
            memcpy(wkb + 13, ring, 16 * k);
            char name[32];
            snprintf(name, sizeof name, "site %zu", i + 1);
            sqlite3_bind_int64(ins, 1, (sqlite3_int64)(i + 1));
            sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_blob(ins, 3, wkb, (int)(13 + 16 * k), SQLITE_TRANSIENT);
            if (sqlite3_step(ins) != SQLITE_DONE) die(sqlite3_errmsg(s->db), NULL);
            sqlite3_reset(ins);
            if (n >= 1000000 && (i + 1) % 1000000 == 0)
                fprintf(stderr, "bench_index: %zu sites written, %.0f s\n", i + 1, now() - t0);
        }
        sqlite3_finalize(ins);
        if (koi_sites_bulk_write(s, 0) != KO_OK) die("change token", ctx);
        if (sqlite3_exec(s->db, "UPDATE meta SET value = '1' WHERE key = 'store_version'; COMMIT",
                         NULL, NULL, NULL) != SQLITE_OK)
            die(sqlite3_errmsg(s->db), NULL);
        sqlite3_exec(s->db, "PRAGMA cache_size = -2000", NULL, NULL, NULL);
        printf("build store (SpatiaLite):  %8.2f s\n", now() - t0);
    } else {
        for (size_t i = 0; i < n; i++)
            site_ring(&seed, ring, &centers[2 * i], &centers[2 * i + 1]);
    }
    if (getenv("BENCH_STORE_ONLY")) return 0; /* (bench_scale builds a large store first) */
    /* The store's index file, as an import writes it (built here when missing or stale). */
    koi_index_id id;
    char *ipath = koi_sites_index_path(s);
    koi_packed *cur = NULL;
    if (!ipath) die("out of memory", NULL);
    if (koi_sites_track_changes(s) != KO_OK || koi_sites_index_id(s, &id) != KO_OK)
        die("change token", ctx);
    if (koi_packed_open(ctx, ipath, &id, &cur) == KOI_INDEX_CURRENT) {
        printf("index file:                current, reused\n");
    } else {
        t0 = now();
        if (ko_sites_write_index(s) != KO_OK) die("write index", ctx);
        printf("index file build + write:  %8.2f s  (ko_sites_write_index)\n", now() - t0);
    }
    koi_packed_free(ctx, cur);
    ko_sites_close(s);
    printf("peak RSS, store and index built: %ld MB\n", peak_rss_mb());
    struct stat st_db, st_idx;
    if (stat(dbpath, &st_db) != 0 || stat(ipath, &st_idx) != 0) die("stat", NULL);
    printf("store %.1f MB + index file %.1f MB = %.2fx the store alone (%.1f bytes/site)\n",
           (double)st_db.st_size / 1e6, (double)st_idx.st_size / 1e6,
           (double)(st_db.st_size + st_idx.st_size) / (double)st_db.st_size,
           (double)st_idx.st_size / (double)n);
    free(ipath);
    t0 = now();
    if (ko_sites_open(ctx, dbpath, KO_SITES_READONLY, &s) != KO_OK) die("open store", ctx);
    printf("ko_sites_open (maps index): %7.4f s\n", now() - t0);
    if (!s->packed || !koi_packed_file(s->packed)) die("the index file is not mapped", NULL);

    /* Footprints: random, the same sorted in rows, survey missions. */
    uint64_t fseed = 12345;
    scen sc[3] = {{.title = "footprints in random order"},
                  {.title = "the same footprints sorted in rows (lawnmower rows)"},
                  {.title = "survey missions in flight order (500 photos each)"}};
    for (int k = 0; k < 3; k++) {
        sc[k].nq = nq;
        sc[k].fps = malloc(10 * nq * sizeof *sc[k].fps);
        sc[k].cams = malloc(2 * nq * sizeof *sc[k].cams);
        sc[k].order = malloc(nq * sizeof *sc[k].order);
        if (!sc[k].fps || !sc[k].cams || !sc[k].order) die("out of memory", NULL);
    }
    for (size_t q = 0; q < nq; q++)
        footprint(&fseed, centers, n, sc[0].fps + 10 * q, sc[0].cams + 2 * q);
    /* The same footprints in the order a survey flies them: rows of ~550 m, alternately west
     * and east. Every method gets the same order. */
    memcpy(sc[1].fps, sc[0].fps, 10 * nq * sizeof *sc[1].fps);
    memcpy(sc[1].cams, sc[0].cams, 2 * nq * sizeof *sc[1].cams);
    sort_as_survey(sc[1].fps, sc[1].cams, nq);
    /* Survey missions: other footprints, each mission's in flight order. */
    survey_missions(&fseed, centers, n, sc[2].fps, sc[2].cams, nq);

    sqlite3_stmt *sql = NULL;
    if (koi_sites_spatialite(s) != KO_OK) die("SpatiaLite", ctx); /* (a) calls its functions */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id FROM sites WHERE id IN (SELECT pkid FROM "
                           "idx_sites_geom_buffered WHERE xmin <= ?2 AND xmax >= ?1 AND "
                           "ymin <= ?4 AND ymax >= ?3) AND "
                           "ST_Intersects(geom_buffered, GeomFromWKB(?5, 4326)) = 1",
                           -1, &sql, NULL) != SQLITE_OK)
        die(sqlite3_errmsg(s->db), NULL);
    ko_sites *sd = NULL; /* no index loaded: ko_sites_query on the on-disk R-tree */
    if (ko_sites_open(ctx, dbpath, KO_SITES_READONLY, &sd) != KO_OK) die("open store", ctx);
    koi_packed_free(ctx, sd->packed); /* (its index file mapped at open: not this time) */
    sd->packed = NULL;
    bench_env e = {h, s, sd, NULL, NULL, 0, sql, NULL, {0}, NULL};
    if (getenv("BENCH_PROFILE")) { /* (by hand: perf record -p on a loop of one method) */
        hitsets hs;
        /* BENCH_PROFILE=many: the packed index + exact test, many at once; =one: one at a
         * time; either with ,missions: on survey missions instead of random footprints */
        const char *what = getenv("BENCH_PROFILE");
        void (*fn)(bench_env *, hitsets *) = strncmp(what, "many", 4) == 0  ? run_idx_many
                                             : strncmp(what, "one", 3) == 0 ? run_idx
                                                                            : run_batch;
        use(&e, &sc[strstr(what, ",missions") ? 2 : 0]);
        fprintf(stderr, "profiling %s, pid %d\n", what, (int)getpid());
        for (int r = 0; r < 30; r++)
            best_of(&e, fn, &hs), hs_free(&hs);
        return 0;
    }
    /* keepout, (a) and the on-disk path first, before (b)'s geometries take the memory. */
    for (int k = 0; k < 3; k++)
        measure(&e, &sc[k]);

    /* The sites as GEOS geometries, for (b) and the boxes: the same seed, the same sites.
     * BENCH_NO_GEOS=1: neither (b) nor the tree build alone. */
    int no_geos = getenv("BENCH_NO_GEOS") != NULL;
    size_t ng = no_geos ? 0 : n;
    GEOSGeometry **geoms = malloc((ng ? ng : 1) * sizeof *geoms);
    if (!geoms) die("out of memory", NULL);
    seed = seed0;
    t0 = now();
    for (size_t i = 0; i < ng; i++) {
        double cx, cy;
        size_t k = site_ring(&seed, ring, &cx, &cy);
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(h, ring, (unsigned)k, 0, 0);
        geoms[i] = GEOSGeom_createPolygon_r(h, GEOSGeom_createLinearRing_r(h, cs), NULL, 0);
        GEOSGeom_setUserData_r(h, geoms[i], (void *)(intptr_t)(i + 1));
    }
    printf("generate sites (GEOS):     %8.2f s\n", now() - t0);

    /* Index build alone, on the sites' boxes. */
    double *boxes = malloc(4 * (ng ? ng : 1) * sizeof *boxes);
    if (!boxes) die("out of memory", NULL);
    for (size_t i = 0; i < ng; i++) {
        GEOSGeom_getXMin_r(h, geoms[i], &boxes[4 * i]);
        GEOSGeom_getYMin_r(h, geoms[i], &boxes[4 * i + 1]);
        GEOSGeom_getXMax_r(h, geoms[i], &boxes[4 * i + 2]);
        GEOSGeom_getYMax_r(h, geoms[i], &boxes[4 * i + 3]);
    }
    koi_rtree *tree = NULL;
    t0 = now();
    if (koi_rtree_build(boxes, ng, &tree) != KO_OK) die("rtree build", NULL);
    double t_build = now() - t0;
    size_t tree_bytes = koi_rtree_bytes(tree);
    koi_rtree_free(tree);
    free(boxes);
    printf("packed R-tree build alone: %8.3f s  (%.1f bytes/site of tree)\n", t_build,
           (double)tree_bytes / (double)n);

    /* (b)'s tree, built once for every order. */
    t0 = now();
    GEOSSTRtree *strtree = no_geos ? NULL : GEOSSTRtree_create_r(h, 16);
    for (size_t i = 0; i < ng; i++)
        GEOSSTRtree_insert_r(h, strtree, geoms[i], geoms[i]);
    if (strtree) { /* GEOS 3.11 builds the tree on the first query. */
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, 0, 0);
        strtree_q nothing = {h, NULL, NULL};
        GEOSSTRtree_query_r(h, strtree, pt, strtree_visit, &nothing);
        GEOSGeom_destroy_r(h, pt);
    }
    printf("GEOS STRtree build:        %8.3f s\n", now() - t0);
    e.strtree = strtree;
    size_t bad = 0;
    for (int k = 0; k < 3; k++)
        bad += report(&e, &sc[k]);
    printf("peak RSS: %ld MB\n", peak_rss_mb());

    sqlite3_finalize(sql);
    ko_sites_close(sd);
    if (strtree) GEOSSTRtree_destroy_r(h, strtree);
    for (size_t i = 0; i < ng; i++)
        GEOSGeom_destroy_r(h, geoms[i]);
    free(geoms);
    free(centers);
    for (int k = 0; k < 3; k++)
        free(sc[k].fps), free(sc[k].cams), free(sc[k].order);
    ko_sites_close(s);
    ko_context_destroy(ctx);
    return bad ? 1 : 0;
}
