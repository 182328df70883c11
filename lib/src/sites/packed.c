/* The packed index of a site store: a Hilbert-packed R-tree (rtree.c) over the sites' buffered
 * boxes, and each site laid out in the tree's leaf order. A hole-free polygon (nearly every
 * site) is kept as its flat shell ring, a point as one coordinate pair: the exact test reads
 * them where the tree left off, with no GEOS object to chase. Other shapes (multi-parts, holes,
 * lines) are kept as WKB, read by GEOS when a query meets them.
 *
 * The index is one byte image in the index file's format (docs/DESIGN.md, "The index file"):
 * built in memory from the store (koi_packed_build), written beside the store as STORE.koidx
 * (index_file.c) and memory-mapped from there at open, or, for a store without a current index
 * file, built in memory and used from there (ko_sites_load_index). Either way it is read only
 * through koi_packed_view's checked pointers and is immutable, so stores and threads share it
 * (ko_sites_share_index) and processes share the mapped file's pages. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "sites/sites.h"

/* One site's record in the image: what only a hit needs (id, GSD, buffer, strings), and where
 * the WKB of a shape that is not flat lies. 48 bytes. */
typedef struct disk_meta {
    int64_t id;
    double min_gsd, buffer;
    uint64_t str;       /* name, category, source, source_id: four strings in a row in strs */
    uint64_t wkb, nwkb; /* KOI_SITE_OTHER: its WKB in the wkb section, else 0, 0 */
} disk_meta;

struct koi_packed {
    atomic_int refs; /* stores sharing it */
    size_t n, total, points, nstrs, nwkb;
    size_t level_end[32];
    int levels;
    const float *boxes;    /* tree entries, leaves first (4 floats each) */
    const uint32_t *shape; /* n + 1: offset in points into xy << 3 | has WKB << 2 | kind */
    const disk_meta *meta; /* n */
    const double *xy;      /* flat rings and points, in leaf order */
    const char *strs;      /* ends with a NUL */
    const unsigned char *wkb;
    koi_index_id id; /* the store's change identity the image was built at */
    /* the owner of the image: heap (built in memory) or a mapping of file */
    unsigned char *heap;
    void *map;
    size_t map_len;
    char *file; /* the index file; NULL when built in memory */
    char *name; /* what messages call it: the file, or the name given with the image */
};

void koi_packed_free(ko_context *ctx, koi_packed *p) {
    (void)ctx;
    if (!p || atomic_fetch_sub(&p->refs, 1) > 1) return;
    if (p->map) munmap(p->map, p->map_len);
    free(p->heap);
    free(p->file);
    free(p->name);
    free(p);
}

size_t koi_packed_count(const koi_packed *p) {
    return p ? p->n : 0;
}

const char *koi_packed_file(const koi_packed *p) {
    return p ? p->file : NULL;
}

const char *koi_packed_name(const koi_packed *p) {
    return p && p->name ? p->name : "the site index";
}

const koi_index_id *koi_packed_identity(const koi_packed *p) {
    return &p->id;
}

/* A growable byte buffer (the scratch a row's WKB is converted into). */
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

/* The flat form a 2D WKB takes in the index: KOI_SITE_POINT (one coordinate pair) or
 * KOI_SITE_POLYGON (a one-ring polygon: its closed ring of at least 4 points) with its point
 * count; KOI_SITE_OTHER (no points) for every other shape, which GEOS then reads. */
static int wkb_shape(const unsigned char *b, size_t n, size_t *points) {
    *points = 0;
    if (n < 9 || b[0] > 1) return KOI_SITE_OTHER;
    int little = b[0] == 1;
    uint32_t type = koi_wkb_u32(b + 1, little);
    if (type == 1 && n == 21) {
        if (!isfinite(koi_wkb_f64(b + 5, little)) || !isfinite(koi_wkb_f64(b + 13, little)))
            return KOI_SITE_OTHER; /* POINT EMPTY */
        *points = 1;
        return KOI_SITE_POINT;
    }
    if (type != 3 || n < 13 || koi_wkb_u32(b + 5, little) != 1) return KOI_SITE_OTHER;
    uint32_t m = koi_wkb_u32(b + 9, little);
    if (m < 4 || (n - 13) / 16 != m || (n - 13) % 16 != 0) return KOI_SITE_OTHER;
    const unsigned char *c = b + 13, *e = c + 16 * ((size_t)m - 1);
    if (koi_wkb_f64(c, little) != koi_wkb_f64(e, little) ||
        koi_wkb_f64(c + 8, little) != koi_wkb_f64(e + 8, little))
        return KOI_SITE_OTHER; /* not closed: GEOS will say what it is */
    *points = m;
    return KOI_SITE_POLYGON;
}

/* The coordinates of a flat shape (wkb_shape's kind, points pairs) into xy, in host order. */
static void wkb_copy_flat(const unsigned char *b, int kind, size_t points, double *xy) {
    int little = b[0] == 1;
    const unsigned char *c = b + (kind == KOI_SITE_POINT ? 5 : 13);
    const uint16_t probe = 1;
    if (little == (*(const unsigned char *)&probe == 1)) {
        memcpy(xy, c, 16 * points);
        return;
    }
    for (size_t i = 0; i < 2 * points; i++)
        xy[i] = koi_wkb_f64(c + 8 * i, little);
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

/* ---------------------------------------------------------------- the image's format ------ */

enum { HEADER = 256, NODE_SIZE = 16, CHECKED = 248 };
#define ENDIAN_MARK 0x01020304u
static const unsigned char magic[8] = {'K', 'O', 'S', 'I', 'D', 'X', '\r', '\n'};

/* Header fields: byte offsets. */
enum {
    H_VERSION = 8,
    H_ENDIAN = 12,
    H_NODE = 16,
    H_HEADER = 20,
    H_N = 24,
    H_TOTAL = 32,
    H_POINTS = 40,
    H_STRS = 48,
    H_WKB = 56,
    H_SIZE = 64,
    H_STORE_VERSION = 72,
    H_TOKEN = 80, /* 32 characters */
    H_CHECKSUM = CHECKED
};

static uint64_t get64(const unsigned char *b, size_t off) {
    uint64_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

static uint32_t get32(const unsigned char *b, size_t off) {
    uint32_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

static void put64(unsigned char *b, size_t off, uint64_t v) {
    memcpy(b + off, &v, sizeof v);
}

static void put32(unsigned char *b, size_t off, uint32_t v) {
    memcpy(b + off, &v, sizeof v);
}

/* FNV-1a, 64 bits, of the header's first CHECKED bytes. */
static uint64_t header_sum(const unsigned char *b) {
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < CHECKED; i++)
        h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

/* Where each section starts, from the counts, each 8-byte aligned: the layout is fixed by the
 * counts, so a reader checks the file's size against it. 0 if the sizes overflow. */
typedef struct layout {
    size_t boxes, shape, meta, xy, strs, wkb, end;
} layout;

static int add_section(size_t *at, size_t count, size_t size, size_t *start) {
    *start = *at;
    if (count > (SIZE_MAX / 2) / size) return 0;
    size_t end = *at + count * size;
    if (end < *at || end > SIZE_MAX - 8) return 0;
    *at = (end + 7) & ~(size_t)7;
    return 1;
}

static int layout_of(size_t n, size_t total, size_t points, size_t nstrs, size_t nwkb, layout *l) {
    size_t at = HEADER;
    if (!add_section(&at, total, 4 * sizeof(float), &l->boxes) ||
        !add_section(&at, n + 1, sizeof(uint32_t), &l->shape) ||
        !add_section(&at, n, sizeof(disk_meta), &l->meta) ||
        !add_section(&at, points, 2 * sizeof(double), &l->xy) ||
        !add_section(&at, nstrs, 1, &l->strs) || !add_section(&at, nwkb, 1, &l->wkb))
        return 0;
    l->end = l->wkb + nwkb;
    return 1;
}

ko_status koi_packed_view(ko_context *ctx, const unsigned char *b, size_t len, const char *name,
                          koi_packed *p) {
    if (len < HEADER || memcmp(b, magic, sizeof magic) != 0)
        return koi_error(ctx, KO_ERR_FORMAT,
                         "%s: not a keepout site index (%zu bytes, no keepout header)", name, len);
    if (get32(b, H_ENDIAN) != ENDIAN_MARK)
        return koi_error(ctx, KO_ERR_FORMAT,
                         "%s: written on a machine of the other byte order; build the index "
                         "again here",
                         name);
    if (get64(b, H_CHECKSUM) != header_sum(b))
        return koi_error(ctx, KO_ERR_FORMAT, "%s: damaged: its header's checksum does not match",
                         name);
    if (get32(b, H_VERSION) != KOI_INDEX_FORMAT)
        return koi_error(ctx, KO_ERR_FORMAT,
                         "%s: index format version %u, this keepout reads %d; build the index "
                         "again",
                         name, get32(b, H_VERSION), KOI_INDEX_FORMAT);
    uint64_t n = get64(b, H_N), total = get64(b, H_TOTAL), points = get64(b, H_POINTS);
    uint64_t nstrs = get64(b, H_STRS), nwkb = get64(b, H_WKB), size = get64(b, H_SIZE);
    layout l;
    size_t level_end[32];
    int levels = n <= UINT32_MAX / 2 ? koi_rtree_levels((size_t)n, level_end) : 0;
    if (get32(b, H_NODE) != NODE_SIZE || get32(b, H_HEADER) != HEADER || levels == 0 ||
        total != (n ? level_end[levels - 1] : 0) || points > UINT32_MAX >> 3 ||
        nstrs > SIZE_MAX / 4 || nwkb > SIZE_MAX / 4 || (n && nstrs == 0) ||
        !layout_of((size_t)n, (size_t)total, (size_t)points, (size_t)nstrs, (size_t)nwkb, &l))
        return koi_error(ctx, KO_ERR_FORMAT,
                         "%s: damaged: its header's counts (%llu sites, %llu tree entries, %llu "
                         "points) do not fit together",
                         name, (unsigned long long)n, (unsigned long long)total,
                         (unsigned long long)points);
    if (size != len || l.end != len)
        return koi_error(ctx, KO_ERR_FORMAT,
                         "%s: damaged or truncated: %zu bytes, its header says %llu and its counts "
                         "%zu",
                         name, len, (unsigned long long)size, l.end);
    if (nstrs && b[l.strs + nstrs - 1] != '\0')
        return koi_error(ctx, KO_ERR_FORMAT, "%s: damaged: its strings are not terminated", name);
    p->n = (size_t)n, p->total = (size_t)total, p->points = (size_t)points;
    p->nstrs = (size_t)nstrs, p->nwkb = (size_t)nwkb;
    memcpy(p->level_end, level_end, sizeof level_end);
    p->levels = levels;
    p->boxes = (const float *)(b + l.boxes);
    p->shape = (const uint32_t *)(b + l.shape);
    p->meta = (const disk_meta *)(b + l.meta);
    p->xy = (const double *)(b + l.xy);
    p->strs = (const char *)(b + l.strs);
    p->wkb = b + l.wkb;
    memcpy(p->id.token, b + H_TOKEN, 32);
    p->id.token[32] = '\0';
    p->id.version = (int64_t)get64(b, H_STORE_VERSION);
    return KO_OK;
}

/* ---------------------------------------------------------------- building --------------- */

/* The build streams: a first scan of the store keeps only each site's box and shape (point
 * count), from which the tree and the image's layout follow; a second scan, in the same read
 * transaction and row order, writes every site straight into the image where the tree's leaf
 * order puts it. Nothing else of the sites is held: ~80 bytes a site at the peak (the tree's
 * sort), where reading every row into memory first took ~1.3 kB (13 GB for 10^7 sites). The
 * image itself is the sink's (the heap: koi_packed_build). */

static const char *const rows_sql =
    "SELECT s.id, s.name, s.category, s.source, s.source_id, s.min_gsd_m, s.buffer_m,"
    " s.geom_buffered FROM sites s";

/* The current row's geometry as WKB into w (its length in *len) and its blob's box. */
static ko_status row_wkb(ko_context *ctx, sqlite3_stmt *q, bytes *w, double *box, size_t *len) {
    long long id = (long long)sqlite3_column_int64(q, 0);
    const unsigned char *b = sqlite3_column_blob(q, 7);
    size_t nb = (size_t)sqlite3_column_bytes(q, 7);
    if (!b) return koi_error(ctx, KO_ERR_GEOS, "site %lld: no geometry", id);
    w->len = 0;
    if (!bytes_room(w, nb)) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    *len = koi_blob_wkb(b, nb, w->p);
    if (!*len || !koi_blob_mbr(b, nb, box))
        return koi_error(ctx, KO_ERR_DB,
                         "site %lld: not a plain 2D SpatiaLite geometry (re-import the source)",
                         id);
    return KO_OK;
}

/* The current row's four strings (name, category, source, source_id, NUL-terminated, in a
 * row) into out when given; their length. */
static size_t row_strings(sqlite3_stmt *q, char *out) {
    size_t len = 0;
    for (int k = 0; k < 4; k++) {
        const char *t = (const char *)sqlite3_column_text(q, 1 + k);
        if (!t) t = "";
        size_t n = strlen(t) + 1;
        if (out) memcpy(out + len, t, n);
        len += n;
    }
    return len;
}

/* First scan: each row's box (4 doubles) and shape (points << 2 | kind) for n rows, and the
 * totals of strings and of WKB kept as such. *got: the rows read. */
static ko_status scan_shapes(ko_context *ctx, sqlite3_stmt *q, size_t n, double *boxes,
                             uint32_t *shape, size_t *got, size_t *nstrs, size_t *nwkb) {
    bytes w = {0};
    ko_status st = KO_OK;
    size_t i = 0;
    int rc = SQLITE_DONE;
    *nstrs = *nwkb = 0;
    while (i < n && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        size_t len = 0, points = 0;
        if ((st = row_wkb(ctx, q, &w, boxes + 4 * i, &len))) break;
        int kind = wkb_shape(w.p, len, &points);
        if (points > UINT32_MAX >> 3) {
            st = koi_error(ctx, KO_ERR_LIMIT, "site %lld has more than %u points",
                           (long long)sqlite3_column_int64(q, 0), UINT32_MAX >> 3);
            break;
        }
        shape[i] = (uint32_t)points << 2 | (uint32_t)kind;
        if (kind == KOI_SITE_OTHER) *nwkb += len;
        *nstrs += row_strings(q, NULL);
        i++;
    }
    if (!st && i < n && rc != SQLITE_DONE)
        st = koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(sqlite3_db_handle(q)));
    free(w.p);
    *got = i;
    return st;
}

/* Second scan: row j to leaf leaf_of[j] of the image b laid out as l, whose shape section is
 * already written. A row that is not what the first scan saw (it cannot be, in one read
 * transaction) is an error, never a misplaced site. */
static ko_status write_sites(ko_context *ctx, GEOSWKBReader *wkbr, sqlite3_stmt *q, size_t n,
                             const uint32_t *leaf_of, unsigned char *b, const layout *l,
                             const char *store) {
    const uint32_t *shape = (const uint32_t *)(b + l->shape);
    disk_meta *meta = (disk_meta *)(b + l->meta);
    double *xy = (double *)(b + l->xy);
    size_t soff = 0, woff = 0, j = 0;
    bytes w = {0};
    ko_status st = KO_OK;
    int rc, changed = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        long long id = (long long)sqlite3_column_int64(q, 0);
        size_t len = 0, points = 0;
        double box[4], gb[4];
        if (j >= n) {
            changed = 1;
            break;
        }
        size_t k = leaf_of[j++], at = shape[k] >> 3;
        if ((st = row_wkb(ctx, q, &w, box, &len))) break;
        int kind = wkb_shape(w.p, len, &points);
        if ((int)(shape[k] & 3) != kind || (shape[k + 1] >> 3) - at != points) {
            changed = 1;
            break;
        }
        meta[k] =
            (disk_meta){id, sqlite3_column_double(q, 5), sqlite3_column_double(q, 6), soff, 0, 0};
        size_t ns = row_strings(q, NULL);
        if (ns > l->wkb - l->strs - soff) {
            changed = 1;
            break;
        }
        soff += row_strings(q, (char *)b + l->strs + soff);
        GEOSGeometry *g = NULL;
        if (kind == KOI_SITE_OTHER) {
            if (len > l->end - l->wkb - woff) {
                changed = 1;
                break;
            }
            if (!(g = GEOSWKBReader_read_r(ctx->geos, wkbr, w.p, len))) {
                st = koi_error(ctx, KO_ERR_GEOS, "site %lld: unreadable geometry", id);
                break;
            }
            memcpy(b + l->wkb + woff, w.p, len);
            meta[k].wkb = woff, meta[k].nwkb = len;
            woff += len;
        } else {
            wkb_copy_flat(w.p, kind, points, xy + 2 * at);
        }
        int inside = inside_box(ctx->geos, xy + 2 * at, points, g, box, gb);
        if (g) GEOSGeom_destroy_r(ctx->geos, g);
        if (!inside) {
            st = koi_error(ctx, KO_ERR_DB,
                           "%s: damaged: site %lld's geometry (lon %.9g..%.9g, lat %.9g..%.9g) "
                           "reaches outside the box its stored blob records (lon %.9g..%.9g, "
                           "lat %.9g..%.9g), so it could be missed where it strays; build the "
                           "store again from its sources",
                           store, id, gb[0], gb[2], gb[1], gb[3], box[0], box[2], box[1], box[3]);
            break;
        }
    }
    free(w.p);
    if (st) return st;
    if (!changed && rc != SQLITE_DONE)
        return koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(sqlite3_db_handle(q)));
    if (!changed && j == n) return KO_OK;
    return koi_error(ctx, KO_ERR_DB, "%s: its sites changed while their index was built", store);
}

ko_status koi_packed_build_into(ko_sites *s, const koi_index_id *id, koi_image_sink get, void *sink,
                                size_t *len) {
    ko_context *ctx = s->ctx;
    koi_rtree *tree = NULL;
    uint32_t *shape = NULL, *perm = NULL;
    double *boxes = NULL;
    int64_t count = 0;
    size_t n = 0, nstrs = 0, nwkb = 0, points = 0, total = 0;
    *len = 0;
    ko_status st = KO_OK;
    const char *name = sqlite3_db_filename(s->db, "main");
    if (!name || !*name) name = "site store";
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sites", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        st = koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
    else
        count = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (!st && (count < 0 || (uint64_t)count > UINT32_MAX / 2))
        st = koi_error(ctx, KO_ERR_LIMIT, "the store has %lld sites, more than an index holds",
                       (long long)count);
    /* The scans read every page of the store: mapped, not a pread per page (1,022 sites:
     * 11-19 -> 3-7 ms). Only for the scans, as a mapped file shrunk by another process would
     * fault. */
    sqlite3_exec(s->db, "PRAGMA mmap_size = 1073741824", NULL, NULL, NULL);
    if (!st && sqlite3_prepare_v2(s->db, rows_sql, -1, &q, NULL) != SQLITE_OK)
        st = koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
    if (!st) {
        n = (size_t)count;
        boxes = koi_calloc(n ? n : 1, 4 * sizeof *boxes);
        shape = koi_calloc(n ? n : 1, sizeof *shape);
        if (!boxes || !shape)
            st = koi_error(ctx, KO_ERR_NOMEM, "out of memory indexing %zu sites", n);
    }
    if (!st) st = scan_shapes(ctx, q, n, boxes, shape, &n, &nstrs, &nwkb);
    /* SQLite's R-tree boxes are already float32 rounded outward; rounding again is exact. */
    if (!st && (st = koi_rtree_build(boxes, n, &tree)))
        st = koi_error(ctx, st, "building the packed index of %zu sites failed", n);
    free(boxes);
    if (!st && !(perm = koi_calloc(n ? n : 1, sizeof *perm)))
        st = koi_error(ctx, KO_ERR_NOMEM, "out of memory indexing %zu sites", n);
    for (size_t j = 0; !st && j < n; j++)
        points += shape[j] >> 2;
    const float *tb = tree ? koi_rtree_boxes(tree, &total) : NULL;
    layout l = {0};
    if (!st && (points > UINT32_MAX >> 3 || !layout_of(n, total, points, nstrs, nwkb, &l)))
        st = koi_error(ctx, KO_ERR_LIMIT, "the index of %zu sites is too large (%zu points)", n,
                       points);
    unsigned char *b = NULL;
    if (!st) st = get(sink, l.end, &b);
    if (!st) {
        memcpy(b, magic, sizeof magic);
        put32(b, H_VERSION, KOI_INDEX_FORMAT);
        put32(b, H_ENDIAN, ENDIAN_MARK);
        put32(b, H_NODE, NODE_SIZE);
        put32(b, H_HEADER, HEADER);
        put64(b, H_N, n);
        put64(b, H_TOTAL, total);
        put64(b, H_POINTS, points);
        put64(b, H_STRS, nstrs);
        put64(b, H_WKB, nwkb);
        put64(b, H_SIZE, l.end);
        put64(b, H_STORE_VERSION, (uint64_t)id->version);
        memcpy(b + H_TOKEN, id->token, strnlen(id->token, 32));
        put64(b, H_CHECKSUM, header_sum(b));
        if (total) memcpy(b + l.boxes, tb, total * 4 * sizeof(float));
        koi_rtree_renumber(tree, perm);
        koi_rtree_free(tree);
        tree = NULL;
        /* The shape section, in leaf order; then perm turned around: the leaf of each row. */
        uint32_t *out = (uint32_t *)(b + l.shape), at = 0;
        for (size_t k = 0; k < n; k++) {
            uint32_t sh = shape[perm[k]], kind = sh & 3;
            out[k] = at << 3 | (uint32_t)(kind == KOI_SITE_OTHER) << 2 | kind;
            at += sh >> 2;
        }
        out[n] = at << 3;
        free(shape);
        shape = NULL;
        uint32_t *leaf_of = koi_calloc(n ? n : 1, sizeof *leaf_of);
        if (!leaf_of) {
            st = koi_error(ctx, KO_ERR_NOMEM, "out of memory indexing %zu sites", n);
        } else {
            for (size_t k = 0; k < n; k++)
                leaf_of[perm[k]] = (uint32_t)k;
            free(perm);
            perm = NULL;
            sqlite3_reset(q);
            st = write_sites(ctx, s->wkbr, q, n, leaf_of, b, &l, name);
            free(leaf_of);
        }
        if (!st) *len = l.end;
    }
    sqlite3_finalize(q);
    sqlite3_exec(s->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
    koi_rtree_free(tree);
    free(perm);
    free(shape);
    return st;
}

static ko_status heap_sink(void *sink, size_t len, unsigned char **b) {
    ko_context *ctx = ((void **)sink)[0];
    *b = koi_calloc(len, 1);
    ((void **)sink)[1] = *b;
#ifdef MADV_HUGEPAGE
    /* the second scan writes all over the image: huge pages, ~500 times fewer faults */
    uintptr_t at = ((uintptr_t)*b + 4095) & ~(uintptr_t)4095, end = (uintptr_t)*b + len;
    if (*b && len >= (64u << 20)) madvise((void *)at, (end - at) & ~(uintptr_t)4095, MADV_HUGEPAGE);
#endif
    return *b ? KO_OK
              : koi_error(ctx, KO_ERR_NOMEM, "out of memory building the site index (%zu bytes)",
                          len);
}

ko_status koi_packed_build(ko_sites *s, const koi_index_id *id, unsigned char **image,
                           size_t *len) {
    void *sink[2] = {s->ctx, NULL};
    ko_status st = koi_packed_build_into(s, id, heap_sink, sink, len);
    *image = st ? NULL : sink[1];
    if (st) free(sink[1]);
    return st;
}

/* ---------------------------------------------------------------- loading ---------------- */

ko_status koi_packed_from_image(ko_context *ctx, unsigned char *b, size_t len, const char *name,
                                koi_packed **out) {
    koi_packed *p = koi_calloc(1, sizeof *p);
    if (!p) {
        free(b);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    atomic_init(&p->refs, 1);
    p->heap = b;
    p->name = koi_strdup(name); /* (NULL: messages say "the site index") */
    ko_status st = koi_packed_view(ctx, b, len, name, p);
    if (st) {
        koi_packed_free(ctx, p);
        return st;
    }
    *out = p;
    return KO_OK;
}

ko_status koi_packed_load(ko_sites *s, koi_packed **out) {
    koi_index_id id = {{0}, 0};
    unsigned char *b = NULL;
    size_t len = 0;
    /* (the token read before the sites: a change in between makes the index stale, never
     * current with other sites; an untracked store's index has none and is dropped at the
     * first write by another connection) */
    if (koi_sites_index_id(s, &id) != KO_OK) memset(&id, 0, sizeof id);
    koi_sites_stamp(s);
    ko_status st = koi_packed_build(s, &id, &b, &len);
    if (st) return st;
    return koi_packed_from_image(s->ctx, b, len, "the index built in memory", out);
}

int koi_packed_open(ko_context *ctx, const char *path, const koi_index_id *want, koi_packed **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return KOI_INDEX_MISSING;
    koi_packed *p = koi_calloc(1, sizeof *p);
    int state = KOI_INDEX_DAMAGED;
    struct stat sb;
    size_t len = 0;
    const unsigned char *b = NULL;
    if (!p || !(p->file = koi_strdup(path)) || !(p->name = koi_strdup(path))) {
        koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        state = KOI_INDEX_NOMEM;
        goto done;
    }
    atomic_init(&p->refs, 1);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        koi_error(ctx, KO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size < 0 || (uint64_t)sb.st_size > SIZE_MAX / 2) {
        koi_error(ctx, KO_ERR_IO, "%s: not a regular file, so not a site index", path);
        goto done;
    }
    len = (size_t)sb.st_size;
    if (len < HEADER) {
        koi_error(ctx, KO_ERR_FORMAT, "%s: truncated: %zu bytes, less than its header", path, len);
        goto done;
    }
    /* POSIX mmap, shared and read-only: the OS reads only the pages queries touch, and every
     * process mapping the file shares them. Not GDAL's CPLVirtualMemFileMapNew (the same mmap
     * on Linux): opening a store must not load GDAL, which `keepout sites query` and the
     * lazily linked CLI start without (~130 libraries). Where mmap fails the file is read. */
    p->map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    if (p->map == MAP_FAILED) {
        p->map = NULL;
        if (!(p->heap = koi_malloc(len))) {
            koi_error(ctx, KO_ERR_NOMEM, "out of memory reading %s", path);
            state = KOI_INDEX_NOMEM;
            goto done;
        }
        size_t got = 0;
        while (got < len) {
            ssize_t r = pread(fd, p->heap + got, len - got, (off_t)got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (got != len) {
            koi_error(ctx, KO_ERR_IO, "%s: cannot read", path);
            goto done;
        }
        b = p->heap;
    } else {
        p->map_len = len;
        b = p->map;
        /* queries touch a few scattered pages: no read-ahead around each */
        posix_madvise(p->map, len, POSIX_MADV_RANDOM);
    }
    if (koi_packed_view(ctx, b, len, path, p) != KO_OK) goto done;
    if (strlen(want->token) != 32 || strcmp(p->id.token, want->token) != 0) {
        koi_error(ctx, KO_ERR_DB,
                  "%s: out of date: the store's sites have changed since it was built (store "
                  "version %lld then, %lld now; or it belongs to another store)",
                  path, (long long)p->id.version, (long long)want->version);
        state = KOI_INDEX_STALE;
        goto done;
    }
    close(fd);
    *out = p;
    return KOI_INDEX_CURRENT;
done:
    if (fd >= 0) close(fd);
    koi_packed_free(ctx, p);
    return state;
}

/* ---------------------------------------------------------------- reading ---------------- */

void koi_packed_search(const koi_packed *p, double minx, double miny, double maxx, double maxy,
                       koi_packed_visit fn, void *user) {
    if (p->n)
        koi_rtree_search_flat(p->boxes, p->level_end, p->levels, minx, miny, maxx, maxy, fn, user);
}

int koi_packed_search_many(const koi_packed *p, const double *qbox, size_t nb, koi_many *m) {
    if (!p->n) {
        m->nout = 0;
        return 1;
    }
    return koi_rtree_search_many_flat(p->boxes, p->level_end, p->levels, qbox, nb, m);
}

void koi_packed_prefetch(const koi_packed *p, uint32_t item, int stage) {
    if (stage == 0) {
        __builtin_prefetch(p->shape + item);
        __builtin_prefetch(p->meta + item);
        return;
    }
    size_t at = p->shape[item] >> 3, end = p->shape[item + 1] >> 3;
    if (end < at || end > p->points) return; /* (damage: the test itself says so) */
    const char *x = (const char *)(p->xy + 2 * at), *e = (const char *)(p->xy + 2 * end);
    for (int k = 0; x < e && k < 8; x += 64, k++)
        __builtin_prefetch(x);
}

const float *koi_packed_box(const koi_packed *p, uint32_t item) {
    return p->boxes + 4 * (size_t)item;
}

int koi_packed_shape(const koi_packed *p, uint32_t item, koi_site *v) {
    uint32_t a = p->shape[item], b = p->shape[item + 1];
    size_t at = a >> 3, end = b >> 3;
    int kind = (int)(a & 3), wkb = (a >> 2) & 1;
    v->kind = kind;
    v->geom = NULL;
    v->wkb = NULL, v->nwkb = 0;
    v->xy = NULL, v->m = 0;
    if (end < at || end > p->points || kind > KOI_SITE_OTHER || wkb != (kind == KOI_SITE_OTHER))
        return 0;
    if (kind == KOI_SITE_OTHER) {
        const disk_meta *m = &p->meta[item];
        if (end != at || m->wkb > p->nwkb || m->nwkb > p->nwkb - m->wkb || m->nwkb == 0) return 0;
        v->wkb = p->wkb + m->wkb, v->nwkb = (size_t)m->nwkb;
        return 1;
    }
    v->xy = p->xy + 2 * at;
    v->m = end - at;
    if (kind == KOI_SITE_POINT) return v->m == 1;
    /* A ring that does not close is damage (the sections carry no checksum): refused here, so
     * that no test reads it as some other shape. */
    if (v->m < 4) return 0;
    const double *last = v->xy + 2 * (v->m - 1);
    return v->xy[0] == last[0] && v->xy[1] == last[1];
}

int64_t koi_packed_id(const koi_packed *p, uint32_t item) {
    return p->meta[item].id;
}

int koi_packed_meta(const koi_packed *p, uint32_t item, koi_site *v) {
    const disk_meta *m = &p->meta[item];
    v->id = m->id;
    v->min_gsd = m->min_gsd;
    v->buffer = m->buffer;
    const char *s[4];
    size_t at = (size_t)m->str;
    for (int k = 0; k < 4; k++) {
        if (m->str > p->nstrs || at >= p->nstrs) return 0;
        s[k] = p->strs + at;
        at += strlen(s[k]) + 1; /* the section ends with a NUL */
    }
    v->name = s[0], v->category = s[1], v->source = s[2], v->source_id = s[3];
    return 1;
}

ko_status ko_sites_load_index(ko_sites *s) {
    if (!s) return KO_ERR_ARG;
    if (s->packed) return KO_OK;
    return koi_packed_load(s, &s->packed);
}

ko_status ko_sites_prepare(ko_sites *s, double n_queries, int *loaded) {
    (void)n_queries; /* (every face queries a packed index, for one query too) */
    if (loaded) *loaded = 0;
    if (!s) return KO_ERR_ARG;
    /* A store with its current index file has it mapped since it was opened. Without one (a
     * store made by another tool or an older keepout, changed since its index was written, or
     * the file deleted) the index file is written again, as `keepout sites index` does, and
     * mapped: the next process finds it current. Where it cannot be written (a folder or disk
     * not writable; a store that does not track changes, whose schema a reader leaves alone)
     * the same index is built in memory for this handle. */
    if (!s->packed) {
        koi_index_id id;
        ko_status st = KO_ERR_IO;
        if (s->path && koi_sites_index_id(s, &id) == KO_OK) st = koi_sites_rewrite_index(s);
        if (st == KO_ERR_IO || (!st && !s->packed)) st = ko_sites_load_index(s);
        if (st) return st;
    }
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
    /* dst's first query confirms the token; an index of an untracked store has none to
     * confirm and counts as current until the store is written */
    if (dst->packed->id.token[0])
        dst->stamped = 0;
    else
        koi_sites_stamp(dst);
    return KO_OK;
}
