/* bench_index: the packed in-memory index of ko_sites_query against (a) SpatiaLite SQL with
 * the R-tree subquery and ST_Intersects in one read transaction and (b) a GEOS STRtree with
 * a prepared footprint, on synthetic sites shaped like real ones.
 *
 * usage: bench_index [N_SITES=1000000] [N_FOOTPRINTS=100000] [STORE=/tmp/keepout_bench_N.sqlite]
 * The store is built once and reused by later runs with the same N. Not run by ctest. */
#include <geos_c.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "keepout/keepout.h"
#include "sites.h"

/* Country-sized extent: 5..15 E, 47..55 N (about 700 x 900 km). */
#define LON0 5.0
#define LON1 15.0
#define LAT0 47.0
#define LAT1 55.0

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
    size_t s = h->start[q];
    qsort(h->ids + s, h->n - s, sizeof *h->ids, cmp_i64);
    h->start[q + 1] = h->n;
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
    if (where == KOI_BOX_INSIDE) {
        hs_add(q->hs, koi_packed_id(q->p, item));
        return 1;
    }
    int rel = koi_ring_vs_site(q->h, q->ring, 5, koi_packed_geom(q->p, item));
    q->counts[3 + rel]++;
    if (rel == KOI_GEOM_DISJOINT) return 1;
    if (rel != KOI_GEOM_UNKNOWN) {
        hs_add(q->hs, koi_packed_id(q->p, item));
        return 1;
    }
    if (!q->prep) {
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(q->h, q->ring, 5, 0, 0);
        q->fp = GEOSGeom_createPolygon_r(q->h, GEOSGeom_createLinearRing_r(q->h, cs), NULL, 0);
        q->prep = GEOSPrepare_r(q->h, q->fp);
    }
    if (GEOSPreparedIntersects_r(q->h, q->prep, koi_packed_geom(q->p, item)) == 1)
        hs_add(q->hs, koi_packed_id(q->p, item));
    return 1;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    size_t nq = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 100000;
    char dbpath[512];
    if (argc > 3)
        snprintf(dbpath, sizeof dbpath, "%s", argv[3]);
    else
        snprintf(dbpath, sizeof dbpath, "/tmp/keepout_bench_%zu.sqlite", n);
    if (n == 0 || nq == 0) {
        fprintf(stderr, "usage: bench_index [N_SITES] [N_FOOTPRINTS] [STORE]\n");
        return 2;
    }
    ko_context *ctx = NULL;
    if (ko_context_create(&ctx) != KO_OK) die("context", NULL);
    GEOSContextHandle_t h = ctx->geos;
    printf("bench_index: %zu sites, %zu footprints, store %s\n", n, nq, dbpath);

    /* Sites, deterministic: the same seed gives the same store. */
    double *centers = malloc(2 * n * sizeof *centers);
    GEOSGeometry **geoms = malloc(n * sizeof *geoms);
    if (!centers || !geoms) die("out of memory", NULL);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    double ring[2 * 40];
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        size_t k = site_ring(&seed, ring, &centers[2 * i], &centers[2 * i + 1]);
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(h, ring, (unsigned)k, 0, 0);
        geoms[i] = GEOSGeom_createPolygon_r(h, GEOSGeom_createLinearRing_r(h, cs), NULL, 0);
        GEOSGeom_setUserData_r(h, geoms[i], (void *)(intptr_t)(i + 1));
    }
    printf("generate sites:            %8.2f s\n", now() - t0);

    struct stat sb;
    int fresh = stat(dbpath, &sb) != 0;
    ko_sites *s = NULL;
    if (ko_sites_open(ctx, dbpath, KO_SITES_CREATE, &s) != KO_OK) die("open store", ctx);
    if (fresh) {
        t0 = now();
        sqlite3_stmt *ins = NULL;
        GEOSWKBWriter *w = GEOSWKBWriter_create_r(h);
        if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(
                s->db,
                "INSERT INTO sites(id, source, source_id, name, category, buffer_m,"
                " min_gsd_m, geom, geom_buffered) VALUES(?1, 'bench', ?1, ?2,"
                " 'substation', 0, 0.5, GeomFromWKB(?3, 4326), GeomFromWKB(?3, 4326))",
                -1, &ins, NULL) != SQLITE_OK)
            die(sqlite3_errmsg(s->db), NULL);
        for (size_t i = 0; i < n; i++) {
            size_t nb = 0;
            unsigned char *wkb = GEOSWKBWriter_write_r(h, w, geoms[i], &nb);
            char name[32];
            snprintf(name, sizeof name, "site %zu", i + 1);
            sqlite3_bind_int64(ins, 1, (sqlite3_int64)(i + 1));
            sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_blob(ins, 3, wkb, (int)nb, SQLITE_TRANSIENT);
            if (sqlite3_step(ins) != SQLITE_DONE) die(sqlite3_errmsg(s->db), NULL);
            sqlite3_reset(ins);
            GEOSFree_r(h, wkb);
        }
        sqlite3_finalize(ins);
        GEOSWKBWriter_destroy_r(h, w);
        if (sqlite3_exec(s->db, "UPDATE meta SET value = '1' WHERE key = 'store_version'; COMMIT",
                         NULL, NULL, NULL) != SQLITE_OK)
            die(sqlite3_errmsg(s->db), NULL);
        printf("build store (SpatiaLite):  %8.2f s\n", now() - t0);
    }
    ko_sites_close(s);
    if (ko_sites_open(ctx, dbpath, KO_SITES_READONLY, &s) != KO_OK) die("open store", ctx);

    /* Index build alone, on the sites' boxes. */
    double *boxes = malloc(4 * n * sizeof *boxes);
    if (!boxes) die("out of memory", NULL);
    for (size_t i = 0; i < n; i++) {
        GEOSGeom_getXMin_r(h, geoms[i], &boxes[4 * i]);
        GEOSGeom_getYMin_r(h, geoms[i], &boxes[4 * i + 1]);
        GEOSGeom_getXMax_r(h, geoms[i], &boxes[4 * i + 2]);
        GEOSGeom_getYMax_r(h, geoms[i], &boxes[4 * i + 3]);
    }
    koi_rtree *tree = NULL;
    t0 = now();
    if (koi_rtree_build(boxes, n, &tree) != KO_OK) die("rtree build", NULL);
    double t_build = now() - t0;
    size_t tree_bytes = koi_rtree_bytes(tree);
    koi_rtree_free(tree);
    free(boxes);
    t0 = now();
    if (ko_sites_load_index(s) != KO_OK) die("load index", ctx);
    double t_load = now() - t0;
    printf("packed index build:        %8.3f s  (%.1f bytes/site of index)\n", t_build,
           (double)tree_bytes / (double)n);
    printf("ko_sites_load_index:       %8.2f s  (reads every site from the store + build)\n",
           t_load);

    /* Footprints. */
    double *fps = malloc(10 * nq * sizeof *fps), *cams = malloc(2 * nq * sizeof *cams);
    if (!fps || !cams) die("out of memory", NULL);
    uint64_t fseed = 12345;
    for (size_t q = 0; q < nq; q++)
        footprint(&fseed, centers, n, fps + 10 * q, cams + 2 * q);

    /* keepout: packed index + prepared footprint, full hit measures. */
    hitsets mine;
    hs_init(&mine, nq);
    t0 = now();
    for (size_t q = 0; q < nq; q++) {
        ko_hits *hits = NULL;
        if (ko_sites_query(s, fps + 10 * q, 5, cams[2 * q], cams[2 * q + 1], &hits) != KO_OK)
            die("query", ctx);
        for (size_t i = 0; i < ko_hits_count(hits); i++)
            hs_add(&mine, ko_hits_get(hits, i)->site_id);
        ko_hits_destroy(hits);
        hs_end_query(&mine, q);
    }
    double t_mine = now() - t0;

    /* keepout's packed index with the same work as the baselines: candidates from the packed
     * R-tree, exact test with the prepared footprint (prepared only when there is a
     * candidate), no hit measures. */
    hitsets idx;
    hs_init(&idx, nq);
    size_t counts[7] = {0, 0, 0, 0, 0, 0, 0};
    t0 = now();
    for (size_t q = 0; q < nq; q++) {
        const double *r = fps + 10 * q;
        packed_q pq = {h, s->packed, r, NULL, NULL, &idx, counts};
        double minx = r[0], maxx = r[0], miny = r[1], maxy = r[1];
        for (int i = 1; i < 5; i++) {
            minx = fmin(minx, r[2 * i]), maxx = fmax(maxx, r[2 * i]);
            miny = fmin(miny, r[2 * i + 1]), maxy = fmax(maxy, r[2 * i + 1]);
        }
        koi_packed_search(s->packed, minx, miny, maxx, maxy, packed_visit, &pq);
        if (pq.prep) GEOSPreparedGeom_destroy_r(h, pq.prep);
        if (pq.fp) GEOSGeom_destroy_r(h, pq.fp);
        hs_end_query(&idx, q);
    }
    double t_idx = now() - t0;
    printf(
        "candidates: %zu outside by box, %zu inside by box; of the other %zu: %zu disjoint, "
        "%zu intersecting, %zu inside by boundaries, %zu left to GEOS\n",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6]);

    /* The packed R-tree traversal alone (candidates counted, no exact test). */
    size_t n_cand = 0;
    t0 = now();
    for (size_t q = 0; q < nq; q++) {
        const double *r = fps + 10 * q;
        double minx = r[0], maxx = r[0], miny = r[1], maxy = r[1];
        for (int i = 1; i < 5; i++) {
            minx = fmin(minx, r[2 * i]), maxx = fmax(maxx, r[2 * i]);
            miny = fmin(miny, r[2 * i + 1]), maxy = fmax(maxy, r[2 * i + 1]);
        }
        koi_packed_search(s->packed, minx, miny, maxx, maxy, count_visit, &n_cand);
    }
    double t_trav = now() - t0;

    /* (a) SpatiaLite SQL, one read transaction. */
    hitsets sql;
    hs_init(&sql, nq);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id FROM sites WHERE id IN (SELECT pkid FROM "
                           "idx_sites_geom_buffered WHERE xmin <= ?2 AND xmax >= ?1 AND "
                           "ymin <= ?4 AND ymax >= ?3) AND "
                           "ST_Intersects(geom_buffered, GeomFromWKB(?5, 4326)) = 1",
                           -1, &st, NULL) != SQLITE_OK)
        die(sqlite3_errmsg(s->db), NULL);
    GEOSWKBWriter *w = GEOSWKBWriter_create_r(h);
    sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
    t0 = now();
    for (size_t q = 0; q < nq; q++) {
        const double *r = fps + 10 * q;
        double minx = r[0], maxx = r[0], miny = r[1], maxy = r[1];
        for (int i = 1; i < 5; i++) {
            minx = fmin(minx, r[2 * i]), maxx = fmax(maxx, r[2 * i]);
            miny = fmin(miny, r[2 * i + 1]), maxy = fmax(maxy, r[2 * i + 1]);
        }
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(h, r, 5, 0, 0);
        GEOSGeometry *fp = GEOSGeom_createPolygon_r(h, GEOSGeom_createLinearRing_r(h, cs), NULL, 0);
        size_t nb = 0;
        unsigned char *wkb = GEOSWKBWriter_write_r(h, w, fp, &nb);
        sqlite3_bind_double(st, 1, minx);
        sqlite3_bind_double(st, 2, maxx);
        sqlite3_bind_double(st, 3, miny);
        sqlite3_bind_double(st, 4, maxy);
        sqlite3_bind_blob(st, 5, wkb, (int)nb, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
            hs_add(&sql, sqlite3_column_int64(st, 0));
        sqlite3_reset(st);
        GEOSFree_r(h, wkb);
        GEOSGeom_destroy_r(h, fp);
        hs_end_query(&sql, q);
    }
    double t_sql = now() - t0;
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(st);
    GEOSWKBWriter_destroy_r(h, w);

    /* (b) GEOS STRtree + prepared footprint. */
    t0 = now();
    GEOSSTRtree *strtree = GEOSSTRtree_create_r(h, 16);
    for (size_t i = 0; i < n; i++)
        GEOSSTRtree_insert_r(h, strtree, geoms[i], geoms[i]);
    { /* GEOS 3.11 builds the tree on the first query. */
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, 0, 0);
        strtree_q none = {h, NULL, NULL};
        GEOSSTRtree_query_r(h, strtree, pt, strtree_visit, &none);
        GEOSGeom_destroy_r(h, pt);
    }
    double t_strbuild = now() - t0;
    hitsets geos;
    hs_init(&geos, nq);
    t0 = now();
    for (size_t q = 0; q < nq; q++) {
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(h, fps + 10 * q, 5, 0, 0);
        GEOSGeometry *fp = GEOSGeom_createPolygon_r(h, GEOSGeom_createLinearRing_r(h, cs), NULL, 0);
        const GEOSPreparedGeometry *prep = GEOSPrepare_r(h, fp);
        strtree_q sq = {h, prep, &geos};
        GEOSSTRtree_query_r(h, strtree, fp, strtree_visit, &sq);
        GEOSPreparedGeom_destroy_r(h, prep);
        GEOSGeom_destroy_r(h, fp);
        hs_end_query(&geos, q);
    }
    double t_geos = now() - t0;

    /* On-disk R-tree path of ko_sites_query (no packed index), on a sample. */
    size_t nd = nq < 2000 ? nq : 2000;
    ko_sites *sd = NULL;
    if (ko_sites_open(ctx, dbpath, KO_SITES_READONLY, &sd) != KO_OK) die("open store", ctx);
    hitsets disk;
    hs_init(&disk, nd);
    t0 = now();
    for (size_t q = 0; q < nd; q++) {
        ko_hits *hits = NULL;
        if (ko_sites_query(sd, fps + 10 * q, 5, cams[2 * q], cams[2 * q + 1], &hits) != KO_OK)
            die("query", ctx);
        for (size_t i = 0; i < ko_hits_count(hits); i++)
            hs_add(&disk, ko_hits_get(hits, i)->site_id);
        ko_hits_destroy(hits);
        hs_end_query(&disk, q);
    }
    double t_disk = now() - t0;
    ko_sites_close(sd);

    size_t queries_with_hits = 0;
    for (size_t q = 0; q < nq; q++)
        queries_with_hits += mine.start[q + 1] > mine.start[q];
    printf("hits: %zu in %zu footprints (%zu footprints with hits)\n", mine.n, nq,
           queries_with_hits);
    printf("%-40s %12s %10s\n", "method", "queries/s", "time ratio");
    printf("%-40s %12.0f %10s\n", "keepout packed index + prepared (ids)", nq / t_idx, "1.0");
    printf("%-40s %12.0f %9.1fx\n", "(a) SpatiaLite R-tree + ST_Intersects", nq / t_sql,
           t_sql / t_idx);
    printf("%-40s %12.0f %9.1fx\n", "(b) GEOS STRtree + prepared", nq / t_geos, t_geos / t_idx);
    printf("%-40s %12.0f %9.1fx\n", "ko_sites_query, packed (ids + measures)", nq / t_mine,
           t_mine / t_idx);
    printf("%-40s %12.0f %10s\n", "packed R-tree traversal alone", nq / t_trav, "");
    printf("%-40s %12.0f %10s\n", "ko_sites_query, on-disk R-tree (sample)", nd / t_disk, "");
    printf("GEOS STRtree build:        %8.3f s\n", t_strbuild);
    size_t d_sql = hs_diff(&mine, &sql, nq), d_geos = hs_diff(&mine, &geos, nq),
           d_disk = hs_diff(&mine, &disk, nd), d_idx = hs_diff(&mine, &idx, nq);
    printf(
        "footprints whose hit set differs from ko_sites_query: index-only %zu, (a) %zu, "
        "(b) %zu, on-disk %zu of %zu\n",
        d_idx, d_sql, d_geos, d_disk, nd);
    printf("peak RSS: %ld MB\n", peak_rss_mb());

    GEOSSTRtree_destroy_r(h, strtree);
    for (size_t i = 0; i < n; i++)
        GEOSGeom_destroy_r(h, geoms[i]);
    free(geoms);
    free(centers);
    free(fps);
    free(cams);
    free(mine.start), free(mine.ids), free(sql.start), free(sql.ids);
    free(geos.start), free(geos.ids), free(disk.start), free(disk.ids);
    ko_sites_close(s);
    ko_context_destroy(ctx);
    free(idx.start), free(idx.ids);
    return d_sql || d_geos || d_disk || d_idx ? 1 : 0;
}
