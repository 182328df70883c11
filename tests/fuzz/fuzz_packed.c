/* libFuzzer target: SpatiaLite geometry blobs read without SpatiaLite (splite_blob.c), the
 * packed index built from them (packed.c) and the queries over it (query.c).
 *
 * The input is a list of site blobs, each a 16-bit little-endian length and that many bytes.
 * They become the rows of a bare `sites` table (and the boxes of a plain stand-in for SpatiaLite's
 * R-tree table) in an in-memory SQLite database behind a ko_sites made here, so that one
 * iteration costs no file and no SpatiaLite. Oracles:
 *  - SpatiaLite's own blob parser: where both read a blob, the geometries must be identical;
 *  - the on-disk query path (R-tree table) and the packed index must find the same sites;
 *  - GEOS: every site whose geometry (as SpatiaLite reads it, valid, inside its header box)
 *    intersects a query ring must be a hit, or keepout would call imagery of it clear.
 * Inputs with a non-finite coordinate in a blob keepout reads stop after the decoders.
 * The corpus (corpus/packed/) holds blobs of real sites of the sample store (see its README). */
#include <math.h>
#include <sqlite3.h> /* before SpatiaLite's headers, which use its types */
#include <spatialite/gaiageo.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "sites/sites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_SITES = 64, MAX_QUERIES = 4 };

/* The blob as SpatiaLite reads it, as a GEOS geometry, or NULL. */
static GEOSGeometry *splite_geom(GEOSContextHandle_t h, const uint8_t *b, size_t n) {
    if (n > UINT32_MAX) return NULL;
    gaiaGeomCollPtr g = gaiaFromSpatiaLiteBlobWkb(b, (unsigned int)n);
    if (!g) return NULL;
    unsigned char *wkb = NULL;
    int nw = 0;
    gaiaToWkb(g, &wkb, &nw);
    gaiaFreeGeomColl(g);
    GEOSGeometry *out = NULL;
    if (wkb && nw > 0) {
        GEOSWKBReader *r = GEOSWKBReader_create_r(h);
        out = r ? GEOSWKBReader_read_r(h, r, wkb, (size_t)nw) : NULL;
        if (r) GEOSWKBReader_destroy_r(h, r);
    }
    free(wkb);
    return out;
}

static int finite_coords(double *x, double *y, void *user) {
    int *ok = user;
    if (!isfinite(*x) || !isfinite(*y)) *ok = 0;
    return 1;
}

static int all_finite(GEOSContextHandle_t h, const GEOSGeometry *g) {
    int ok = 1;
    GEOSGeometry *t = GEOSGeom_transformXY_r(h, g, finite_coords, &ok);
    if (t) GEOSGeom_destroy_r(h, t);
    return ok && t;
}

/* The sorted site ids of hits. */
static size_t hit_ids(const ko_hits *hits, int64_t *ids) {
    size_t n = ko_hits_count(hits);
    for (size_t i = 0; i < n; i++)
        ids[i] = ko_hits_get(hits, i)->site_id;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            int64_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    return n;
}

typedef struct site {
    double box[4];      /* the header's (minx, miny, maxx, maxy) */
    int readable;       /* koi_blob_wkb read it */
    GEOSGeometry *geom; /* SpatiaLite's reading, when it is a sound site (for the GEOS oracle) */
} site;

/* The store's query over the R-tree table, as store_open.c prepares it. */
static const char *const rtree_sql =
    "SELECT s.id, s.name, s.category, s.source, s.source_id, s.min_gsd_m,"
    " s.buffer_m, s.geom_buffered, NULL, r.xmin, r.ymin, r.xmax, r.ymax"
    " FROM idx_sites_geom_buffered r JOIN sites s ON s.id = r.pkid"
    " WHERE r.xmin <= ?2 AND r.xmax >= ?1 AND r.ymin <= ?4 AND r.ymax >= ?3";

/* Reads the records into the tables and sites[]; returns how many. */
static size_t load(sqlite3 *db, GEOSContextHandle_t h, const uint8_t *data, size_t size,
                   site *sites, unsigned char *wkb, int *nan) {
    size_t n = 0;
    sqlite3_exec(db, "DELETE FROM sites; DELETE FROM idx_sites_geom_buffered", NULL, NULL, NULL);
    sqlite3_stmt *ins = NULL, *box = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO sites VALUES(?1, 'fuzz', ?1, 'site', 'substation', 50,"
                           " 0.5, ?2)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO idx_sites_geom_buffered VALUES(?1, ?2, ?3, ?4, ?5)", -1,
                           &box, NULL) != SQLITE_OK)
        abort();
    GEOSWKBReader *rd = GEOSWKBReader_create_r(h);
    for (size_t at = 0; at + 2 <= size && n < MAX_SITES;) {
        size_t len = (size_t)data[at] | (size_t)data[at + 1] << 8;
        at += 2;
        if (len > size - at) len = size - at;
        const uint8_t *b = data + at;
        at += len;
        site *v = &sites[n++];
        memset(v, 0, sizeof *v);
        /* The decoder on its own: a box only for a well-formed blob, WKB (n - 39 bytes) only
         * with a box. */
        int has_box = koi_blob_mbr(b, len, v->box);
        size_t nw = koi_blob_wkb(b, len, wkb);
        if (nw && (!has_box || nw != len - 39)) __builtin_trap();
        v->readable = nw > 0;
        GEOSGeometry *ours = nw ? GEOSWKBReader_read_r(h, rd, wkb, nw) : NULL;
        /* Only blobs keepout reads: SpatiaLite allocates whatever a count claims before it
         * checks that the blob holds it (a 40 GB polygon from 70 bytes). */
        GEOSGeometry *theirs = v->readable ? splite_geom(h, b, len) : NULL;
        if (ours && theirs && all_finite(h, ours) && all_finite(h, theirs) &&
            GEOSEqualsExact_r(h, ours, theirs, 0) != 1)
            __builtin_trap(); /* keepout would test another shape than the store holds */
        /* Stores hold finite coordinates (imports reject the rest): GEOS 3.11 leaks when a
         * prepared test throws on NaN, which is GEOS's to fix, not keepout's. */
        if (ours && !all_finite(h, ours)) *nan = 1;
        if (ours) GEOSGeom_destroy_r(h, ours);
        /* A sound site: SpatiaLite reads it, valid, finite, inside its header box. */
        double e[4];
        if (theirs && v->readable && all_finite(h, theirs) && GEOSisValid_r(h, theirs) == 1 &&
            GEOSGeom_getXMin_r(h, theirs, &e[0]) == 1 &&
            GEOSGeom_getYMin_r(h, theirs, &e[1]) == 1 &&
            GEOSGeom_getXMax_r(h, theirs, &e[2]) == 1 &&
            GEOSGeom_getYMax_r(h, theirs, &e[3]) == 1 && e[0] >= v->box[0] && e[1] >= v->box[1] &&
            e[2] <= v->box[2] && e[3] <= v->box[3])
            v->geom = theirs;
        else if (theirs)
            GEOSGeom_destroy_r(h, theirs);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)n);
        sqlite3_bind_blob(ins, 2, b, (int)len, SQLITE_STATIC);
        sqlite3_step(ins);
        sqlite3_reset(ins);
        if (has_box) {
            sqlite3_bind_int64(box, 1, (sqlite3_int64)n);
            sqlite3_bind_double(box, 2, v->box[0]);
            sqlite3_bind_double(box, 3, v->box[2]);
            sqlite3_bind_double(box, 4, v->box[1]);
            sqlite3_bind_double(box, 5, v->box[3]);
            sqlite3_step(box);
            sqlite3_reset(box);
        }
    }
    GEOSWKBReader_destroy_r(h, rd);
    sqlite3_finalize(ins);
    sqlite3_finalize(box);
    return n;
}

/* Query rings from the sites' boxes: the middle half of a box, and a thin diamond on its corner. */
static size_t make_rings(const site *sites, size_t n, double rings[][10]) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < MAX_QUERIES; i++) {
        const double *b = sites[i].box;
        if (!sites[i].readable || !(b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90))
            continue;
        double cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
        double rx = fmax((b[2] - b[0]) / 4, 1e-5), ry = fmax((b[3] - b[1]) / 4, 1e-5);
        double mid[10] = {cx - rx, cy - ry, cx + rx, cy - ry, cx + rx,
                          cy + ry, cx - rx, cy + ry, cx - rx, cy - ry};
        memcpy(rings[k++], mid, sizeof mid);
        if (k == MAX_QUERIES) break;
        double x = b[0], y = b[1], d = 1e-4;
        double dia[10] = {x - d, y, x, y - d / 3, x + d, y, x, y + d / 3, x - d, y};
        memcpy(rings[k++], dia, sizeof dia);
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ko_context *ctx = NULL;
    static sqlite3 *db = NULL;
    if (!ctx) {
        if (ko_context_create(&ctx) != KO_OK) return 0;
        if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
            sqlite3_exec(db,
                         "CREATE TABLE sites(id INTEGER PRIMARY KEY, source TEXT, source_id TEXT,"
                         " name TEXT, category TEXT, buffer_m REAL, min_gsd_m REAL,"
                         " geom_buffered BLOB);"
                         "CREATE TABLE idx_sites_geom_buffered(pkid INTEGER PRIMARY KEY,"
                         " xmin REAL, xmax REAL, ymin REAL, ymax REAL)",
                         NULL, NULL, NULL) != SQLITE_OK)
            abort();
    }
    GEOSContextHandle_t h = ctx->geos;
    site sites[MAX_SITES];
    unsigned char *wkb = malloc(size + 1);
    if (!wkb) return 0;
    int nan = 0;
    size_t n = load(db, h, data, size, sites, wkb, &nan);
    free(wkb);
    if (nan) {
        for (size_t i = 0; i < n; i++)
            if (sites[i].geom) GEOSGeom_destroy_r(h, sites[i].geom);
        return 0;
    }

    /* A store handle over the database, as ko_sites_open() makes one. */
    ko_sites *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->ctx = ctx;
    s->db = db;
    s->wkbr = GEOSWKBReader_create_r(h);
    if (sqlite3_prepare_v2(db, rtree_sql, -1, &s->q_rtree, NULL) != SQLITE_OK) abort();

    double rings[MAX_QUERIES][10];
    size_t nq = make_rings(sites, n, rings);
    ko_hits *disk[MAX_QUERIES] = {0}, *packed[MAX_QUERIES] = {0};
    for (size_t q = 0; q < nq; q++)
        if (ko_sites_query(s, rings[q], 5, rings[q][0], rings[q][1], &disk[q]) != KO_OK)
            disk[q] = NULL;
    if (ko_sites_load_index(s) == KO_OK)
        for (size_t q = 0; q < nq; q++)
            if (ko_sites_query(s, rings[q], 5, rings[q][0], rings[q][1], &packed[q]) != KO_OK)
                packed[q] = NULL;
    int64_t a[MAX_SITES], b[MAX_SITES];
    int all_sound = 1;
    for (size_t i = 0; i < n; i++)
        if (sites[i].readable && !sites[i].geom) all_sound = 0;
    for (size_t q = 0; q < nq; q++) {
        /* Both paths answered: the same sites, where every site is sound. (A blob whose
         * geometry strays outside its own header box, which no importer writes, makes the
         * packed index refuse to load, so the packed path never answers over one.) */
        if (disk[q] && packed[q] && all_sound) {
            size_t na = hit_ids(disk[q], a), nb = hit_ids(packed[q], b);
            if (na != nb || memcmp(a, b, na * sizeof *a) != 0) __builtin_trap();
        }
        /* Every sound site GEOS sees in the ring is a hit of each path that answered. */
        GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(h, rings[q], 5, 0, 0);
        GEOSGeometry *shell = cs ? GEOSGeom_createLinearRing_r(h, cs) : NULL;
        GEOSGeometry *poly = shell ? GEOSGeom_createPolygon_r(h, shell, NULL, 0) : NULL;
        for (size_t i = 0; poly && i < n; i++) {
            if (!sites[i].geom || GEOSIntersects_r(h, poly, sites[i].geom) != 1) continue;
            ko_hits *paths[2] = {disk[q], packed[q]};
            for (int p = 0; p < 2; p++) {
                if (!paths[p]) continue;
                size_t nh = hit_ids(paths[p], a), k = 0;
                while (k < nh && a[k] != (int64_t)i + 1)
                    k++;
                if (k == nh) __builtin_trap(); /* a site in view was missed */
            }
        }
        if (poly) GEOSGeom_destroy_r(h, poly);
        ko_hits_destroy(disk[q]);
        ko_hits_destroy(packed[q]);
    }
    for (size_t i = 0; i < n; i++)
        if (sites[i].geom) GEOSGeom_destroy_r(h, sites[i].geom);
    koi_packed_free(ctx, s->packed);
    sqlite3_finalize(s->q_rtree);
    GEOSWKBReader_destroy_r(h, s->wkbr);
    free(s);
    return 0;
}
