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
#include <threads.h>
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

/* A growable byte buffer (a row's WKB scratch; the build's rings, strings and WKB), in
 * koi_big_grow's memory. */
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
        unsigned char *q = koi_big_grow(b->p, b->cap, cap);
        if (!q) return 0;
        b->p = q;
        b->cap = cap;
    }
    return 1;
}

/* The flat form a 2D WKB takes in the index: KOI_SITE_POINT (one coordinate pair) or
 * KOI_SITE_POLYGON (a one-ring polygon: its closed ring of at least 4 points) with its point
 * count; KOI_SITE_OTHER (no points) for every other shape, which GEOS then reads. The WKB is
 * given as its byte order (little) and the n - 1 bytes after its byte-order byte (t: from its
 * type on), so that a SpatiaLite blob's can be read in place (koi_blob_wkb). */
static int wkb_shape(int little, const unsigned char *t, size_t n, size_t *points) {
    *points = 0;
    if (n < 9) return KOI_SITE_OTHER;
    uint32_t type = koi_wkb_u32(t, little);
    if (type == 1 && n == 21) {
        if (!isfinite(koi_wkb_f64(t + 4, little)) || !isfinite(koi_wkb_f64(t + 12, little)))
            return KOI_SITE_OTHER; /* POINT EMPTY */
        *points = 1;
        return KOI_SITE_POINT;
    }
    if (type != 3 || n < 13 || koi_wkb_u32(t + 4, little) != 1) return KOI_SITE_OTHER;
    uint32_t m = koi_wkb_u32(t + 8, little);
    if (m < 4 || (n - 13) / 16 != m || (n - 13) % 16 != 0) return KOI_SITE_OTHER;
    const unsigned char *c = t + 12, *e = c + 16 * ((size_t)m - 1);
    if (koi_wkb_f64(c, little) != koi_wkb_f64(e, little) ||
        koi_wkb_f64(c + 8, little) != koi_wkb_f64(e + 8, little))
        return KOI_SITE_OTHER; /* not closed: GEOS will say what it is */
    *points = m;
    return KOI_SITE_POLYGON;
}

/* The coordinates of a flat shape (wkb_shape's kind, points pairs; t as there) into xy, in
 * host order. */
static void wkb_copy_flat(int little, const unsigned char *t, int kind, size_t points, double *xy) {
    const unsigned char *c = t + (kind == KOI_SITE_POINT ? 4 : 12);
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
            /* fmin's NaN rule (a NaN is passed over) without its call: the blob's coordinates
             * were found finite (koi_blob_wkb) */
            g[0] = x < g[0] ? x : g[0], g[1] = y < g[1] ? y : g[1];
            g[2] = x > g[2] ? x : g[2], g[3] = y > g[3] ? y : g[3];
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

/* The build reads the store once: each row's box, shape, record, strings and flat ring (or
 * WKB) go to buffers in the store's row order; the tree is built from the boxes, and then
 * every site is copied to where the tree's leaf order puts it in the image. A second scan of
 * the store in place of the buffers held ~80 bytes a site instead of ~490, but read the store
 * twice: at 10^7 sites (10.5 GB) the scans were most of the build (SQLite reads pages beyond
 * its 2 GB mapping with pread, a copy each). The image itself is the sink's (the heap:
 * koi_packed_build). */

/* Every row, or (a half of a split scan) those of an id range, split only where id is the
 * table's rowid itself (split_scan): a column another tool added could hold an id as NULL or
 * text, or be named rowid and hide the real one, and a range would read none of those rows. */
#define ROWS_SQL                                                                       \
    "SELECT s.id, s.name, s.category, s.source, s.source_id, s.min_gsd_m, s.buffer_m," \
    " s.geom_buffered FROM sites s"
static const char *const rows_sql[2] = {ROWS_SQL, ROWS_SQL " WHERE s.id BETWEEN ?1 AND ?2"};

/* The current row's geometry blob (*blob, *nb), checked, its WKB's length (*len) and the box
 * its header records. */
static ko_status row_blob(ko_context *ctx, sqlite3_stmt *q, const unsigned char **blob, size_t *nb,
                          double *box, size_t *len) {
    long long id = (long long)sqlite3_column_int64(q, 0);
    *blob = sqlite3_column_blob(q, 7);
    *nb = (size_t)sqlite3_column_bytes(q, 7);
    if (!*blob) return koi_error(ctx, KO_ERR_GEOS, "site %lld: no geometry", id);
    *len = koi_blob_wkb(*blob, *nb, NULL);
    if (!*len || !koi_blob_mbr(*blob, *nb, box))
        return koi_error(ctx, KO_ERR_DB,
                         "site %lld: not a plain 2D SpatiaLite geometry (re-import the source)",
                         id);
    return KO_OK;
}

/* The current row's four strings (name, category, source, source_id, NUL-terminated, in a
 * row) appended to out. */
static int row_strings(sqlite3_stmt *q, bytes *out) {
    for (int k = 0; k < 4; k++) {
        const char *t = (const char *)sqlite3_column_text(q, 1 + k);
        if (!t) t = "";
        size_t n = strlen(t) + 1;
        if (!bytes_room(out, n)) return 0;
        memcpy(out->p + out->len, t, n);
        out->len += n;
    }
    return 1;
}

/* The sites in the store's row order. meta[i].str is the row's offset in strs; for a flat
 * shape meta[i].wkb is its offset in points into xy, for another its WKB's offset in wkb.
 * A scan fills part 0 of strs, xy and wkb; after a split scan (read_rows) the second half's
 * bytes are part 1, and an offset counts from the start of part 0 on into part 1 (part_at()). */
typedef struct rows {
    size_t n, cap;   /* rows read; rows the per-row arrays hold */
    double *boxes;   /* 4 per row */
    uint32_t *shape; /* points << 2 | kind */
    disk_meta *meta;
    bytes strs[2], xy[2], wkb[2];
} rows;

/* The byte at offset off of the two parts b[0], b[1] taken as one. */
static const unsigned char *part_at(const bytes *b, size_t off) {
    return off < b[0].len ? b[0].p + off : b[1].p + (off - b[0].len);
}

static size_t parts_len(const bytes *b) {
    return b[0].len + b[1].len;
}

static void bytes_free(bytes *b) {
    koi_big_free(b->p, b->cap);
    *b = (bytes){0};
}

static void rows_free(rows *r) {
    koi_big_free(r->boxes, r->cap * 4 * sizeof *r->boxes);
    koi_big_free(r->shape, r->cap * sizeof *r->shape);
    koi_big_free(r->meta, r->cap * sizeof *r->meta);
    r->boxes = NULL, r->shape = NULL, r->meta = NULL;
    for (int k = 0; k < 2; k++)
        bytes_free(&r->strs[k]), bytes_free(&r->xy[k]), bytes_free(&r->wkb[k]);
}

/* The current row (row i) into r: its geometry must lie inside the box its blob records, from
 * which the tree is built: one reaching outside it (a damaged or forged blob) would never be a
 * candidate where it strays, and the images that show it there would be clear. */
static ko_status take_row(ko_context *ctx, GEOSWKBReader *wkbr, sqlite3_stmt *q, size_t i, bytes *w,
                          rows *r, const char *store) {
    long long id = (long long)sqlite3_column_int64(q, 0);
    double *box = r->boxes + 4 * i, gb[4];
    const unsigned char *blob = NULL;
    size_t nb = 0, len = 0, points = 0;
    ko_status st = row_blob(ctx, q, &blob, &nb, box, &len);
    if (st) return st;
    /* a flat shape is read from the blob in place; another is copied out as WKB for GEOS */
    int little = blob[1] == 1, kind = wkb_shape(little, blob + 39, len, &points);
    if (points > UINT32_MAX >> 3)
        return koi_error(ctx, KO_ERR_LIMIT, "site %lld has more than %u points", id,
                         UINT32_MAX >> 3);
    r->shape[i] = (uint32_t)points << 2 | (uint32_t)kind;
    r->meta[i] = (disk_meta){
        id, sqlite3_column_double(q, 5), sqlite3_column_double(q, 6), r->strs[0].len, 0, 0};
    if (!row_strings(q, &r->strs[0])) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    int inside;
    if (kind == KOI_SITE_OTHER) {
        w->len = 0;
        if (!bytes_room(w, len)) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        koi_blob_wkb(blob, nb, w->p);
        GEOSGeometry *g = GEOSWKBReader_read_r(ctx->geos, wkbr, w->p, len);
        if (!g) return koi_error(ctx, KO_ERR_GEOS, "site %lld: unreadable geometry", id);
        inside = inside_box(ctx->geos, NULL, 0, g, box, gb);
        GEOSGeom_destroy_r(ctx->geos, g);
        bytes *wkb = &r->wkb[0];
        if (!bytes_room(wkb, len)) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        memcpy(wkb->p + wkb->len, w->p, len);
        r->meta[i].wkb = wkb->len, r->meta[i].nwkb = len;
        wkb->len += len;
    } else {
        bytes *b = &r->xy[0];
        if (!bytes_room(b, 16 * points)) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        double *xy = (double *)(b->p + b->len);
        wkb_copy_flat(little, blob + 39, kind, points, xy);
        inside = inside_box(ctx->geos, xy, points, NULL, box, gb);
        r->meta[i].wkb = b->len / 16;
        b->len += 16 * points;
    }
    if (!inside)
        return koi_error(ctx, KO_ERR_DB,
                         "%s: damaged: site %lld's geometry (lon %.9g..%.9g, lat %.9g..%.9g) "
                         "reaches outside the box its stored blob records (lon %.9g..%.9g, "
                         "lat %.9g..%.9g), so it could be missed where it strays; build the "
                         "store again from its sources",
                         store, id, gb[0], gb[2], gb[1], gb[3], box[0], box[2], box[1], box[3]);
    return KO_OK;
}

/* Room for row i in r's per-row arrays, grown by doubling: the rows are not counted first, as
 * SQLite counts them from the category index, whose pages lie all over a large store's file
 * (10^7 sites, not cached: 30 s of reads at 9 MB/s before the scan, which then reads the table
 * in file order). */
static ko_status room_for_row(ko_context *ctx, rows *r, size_t i) {
    if (i < r->cap) return KO_OK;
    if (i >= UINT32_MAX / 2)
        return koi_error(ctx, KO_ERR_LIMIT, "the store has more sites than an index holds (%u)",
                         UINT32_MAX / 2);
    size_t c = r->cap ? 2 * r->cap : 4096, o = r->cap;
    double *b = koi_big_grow(r->boxes, o * 4 * sizeof *b, c * 4 * sizeof *b);
    uint32_t *sh = b ? koi_big_grow(r->shape, o * sizeof *sh, c * sizeof *sh) : NULL;
    disk_meta *m = sh ? koi_big_grow(r->meta, o * sizeof *m, c * sizeof *m) : NULL;
    if (!m) { /* the arrays that grew are freed; rows_free frees the others at r->cap */
        if (b) koi_big_free(b, c * 4 * sizeof *b), r->boxes = NULL;
        if (sh) koi_big_free(sh, c * sizeof *sh), r->shape = NULL;
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory indexing %zu sites", i);
    }
    r->boxes = b, r->shape = sh, r->meta = m, r->cap = c;
    return KO_OK;
}

/* The one scan: every row of q into r (r->n: the rows read), in the caller's read
 * transaction, so no row changes or appears under it. */
static ko_status scan_rows(ko_context *ctx, GEOSWKBReader *wkbr, sqlite3_stmt *q, rows *r,
                           const char *store) {
    bytes w = {0};
    ko_status st = KO_OK;
    int rc = SQLITE_DONE;
    r->n = 0;
    st = room_for_row(ctx, r, 0); /* (an empty store's arrays are allocated too) */
    while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        st = room_for_row(ctx, r, r->n);
        if (!st) st = take_row(ctx, wkbr, q, r->n, &w, r, store);
        if (!st) r->n++;
    }
    if (!st && rc != SQLITE_DONE)
        st = koi_error(ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(sqlite3_db_handle(q)));
    bytes_free(&w);
    return st;
}

/* The image goes out in order through a staging buffer, never whole in memory: the index
 * file's writes are sequential and no 4.4 GB image is zeroed first (10^7 sites). Every write
 * but the last is the whole buffer, page-aligned (koi_big_grow's memory) at an offset of a
 * multiple of its size: the file sink writes it past the page cache (index_file.c). */
enum { STREAM_BUF = 4 << 20 };
typedef struct stream {
    const koi_image_out *out;
    unsigned char *buf; /* STREAM_BUF bytes */
    size_t len;         /* bytes in buf */
    size_t at;          /* bytes of the image emitted */
    ko_status st;
} stream;

static void flush(stream *w) {
    if (!w->st && w->len) w->st = w->out->write(w->out->sink, w->buf, w->len);
    w->len = 0;
}

static void emit(stream *w, const void *p, size_t n) {
    const unsigned char *c = p;
    w->at += n;
    while (n) {
        if (w->len == STREAM_BUF) flush(w);
        size_t k = n < STREAM_BUF - w->len ? n : STREAM_BUF - w->len;
        memcpy(w->buf + w->len, c, k);
        w->len += k, c += k, n -= k;
    }
}

/* Zeros up to the image offset to (the sections' alignment). */
static void pad(stream *w, size_t to) {
    static const unsigned char zero[8];
    while (w->at < to)
        emit(w, zero, to - w->at < sizeof zero ? to - w->at : sizeof zero);
}

/* The length of row's four strings in r. */
static size_t strs_len(const rows *r, size_t row) {
    return (row + 1 < r->n ? r->meta[row + 1].str : parts_len(r->strs)) - r->meta[row].str;
}

/* The sections after the tree's boxes, every site at its leaf k (perm[k] = its row in r):
 * shape (offset in points << 3 | has WKB << 2 | kind), records, rings, strings, WKB. */
static void emit_sites(stream *w, const rows *r, const uint32_t *perm, const layout *l) {
    uint32_t at = 0;
    pad(w, l->shape);
    for (size_t k = 0; k < r->n; k++) {
        uint32_t sh = r->shape[perm[k]], kind = sh & 3;
        uint32_t v = at << 3 | (uint32_t)(kind == KOI_SITE_OTHER) << 2 | kind;
        emit(w, &v, sizeof v);
        at += sh >> 2;
    }
    uint32_t last = at << 3;
    emit(w, &last, sizeof last);
    pad(w, l->meta);
    size_t soff = 0, woff = 0;
    for (size_t k = 0; k < r->n; k++) {
        size_t row = perm[k];
        const disk_meta *m = &r->meta[row];
        int other = (r->shape[row] & 3) == KOI_SITE_OTHER;
        disk_meta d = {m->id, m->min_gsd, m->buffer, soff, other ? woff : 0, other ? m->nwkb : 0};
        emit(w, &d, sizeof d);
        soff += strs_len(r, row);
        woff += other ? m->nwkb : 0;
    }
    pad(w, l->xy);
    for (size_t k = 0; k < r->n; k++) {
        size_t row = perm[k];
        if ((r->shape[row] & 3) != KOI_SITE_OTHER)
            emit(w, part_at(r->xy, 16 * r->meta[row].wkb), 16 * (size_t)(r->shape[row] >> 2));
    }
    pad(w, l->strs);
    for (size_t k = 0; k < r->n; k++)
        emit(w, part_at(r->strs, r->meta[perm[k]].str), strs_len(r, perm[k]));
    pad(w, l->wkb);
    for (size_t k = 0; k < r->n; k++) {
        size_t row = perm[k];
        if ((r->shape[row] & 3) == KOI_SITE_OTHER)
            emit(w, part_at(r->wkb, r->meta[row].wkb), r->meta[row].nwkb);
    }
    pad(w, l->end);
}

static void put_header(unsigned char *b, const koi_index_id *id, size_t n, size_t total,
                       size_t points, size_t nstrs, size_t nwkb, size_t end) {
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
    put64(b, H_SIZE, end);
    put64(b, H_STORE_VERSION, (uint64_t)id->version);
    memcpy(b + H_TOKEN, id->token, strnlen(id->token, 32));
    put64(b, H_CHECKSUM, header_sum(b));
}

/* One scan: every row, or (range) those whose id lies in [lo, hi], into r, on connection
 * db (in its read transaction), with the context and WKB reader of the thread it runs on. */
typedef struct scan_part {
    ko_context *ctx;
    sqlite3 *db;
    GEOSWKBReader *wkbr;
    const char *name;
    int range;
    sqlite3_int64 lo, hi;
    rows r;
    ko_status st;
} scan_part;

static int scan_part_run(void *arg) {
    scan_part *p = arg;
    sqlite3_stmt *q = NULL;
    /* The scan reads every page of the store: mapped, not a pread per page (1,022 sites:
     * 11-19 -> 3-7 ms). Only for the scan, as a mapped file shrunk by another process would
     * fault. */
    sqlite3_exec(p->db, "PRAGMA mmap_size = 2147418112", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(p->db, rows_sql[p->range], -1, &q, NULL) != SQLITE_OK ||
        (p->range && (sqlite3_bind_int64(q, 1, p->lo) != SQLITE_OK ||
                      sqlite3_bind_int64(q, 2, p->hi) != SQLITE_OK)))
        p->st = koi_error(p->ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(p->db));
    else
        p->st = scan_rows(p->ctx, p->wkbr, q, &p->r, p->name);
    sqlite3_finalize(q);
    sqlite3_exec(p->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
    return 0;
}

/* The span [*lo, *hi] of the sites' ids, 1 where a split scan may range over them: id is the
 * rowid itself (the one primary key, declared INTEGER, of a rowid table: SQLite's rule;
 * "INTEGER PRIMARY KEY DESC" and WITHOUT ROWID keep a primary-key index of their own), and the
 * journal is not WAL (under WAL a writer could commit between the two connections' reads). */
static int id_span(sqlite3 *db, sqlite3_int64 *lo, sqlite3_int64 *hi) {
    sqlite3_stmt *q = NULL;
    int ok = sqlite3_prepare_v2(
                 db,
                 "SELECT (SELECT min(id) FROM sites), (SELECT max(id) FROM sites),"
                 " (SELECT journal_mode <> 'wal' FROM pragma_journal_mode) AND"
                 " (SELECT count(*) = 1 FROM pragma_table_info('sites') WHERE pk > 0) AND"
                 " (SELECT count(*) = 1 FROM pragma_table_info('sites') WHERE pk = 1 AND"
                 "  name = 'id' AND upper(type) = 'INTEGER') AND"
                 " NOT EXISTS (SELECT 1 FROM pragma_index_list('sites') WHERE origin = 'pk')",
                 -1, &q, NULL) == SQLITE_OK &&
             sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_INTEGER &&
             sqlite3_column_type(q, 1) == SQLITE_INTEGER && sqlite3_column_int(q, 2) == 1;
    if (ok) *lo = sqlite3_column_int64(q, 0), *hi = sqlite3_column_int64(q, 1);
    sqlite3_finalize(q);
    return ok && *lo <= *hi;
}

/* A second read-only connection to the caller's store file, in a read transaction that sees
 * the caller's sites: the same inode, the same change token. NULL where not. */
static sqlite3 *second_reader(const ko_sites *s, const char *file, const koi_index_id *id) {
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    struct stat sb;
    int ok = 0;
    if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        (!s->file_ino || (stat(file, &sb) == 0 && (long long)sb.st_ino == s->file_ino)) &&
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'sites_change'", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        ok = t && strcmp(t, id->token) == 0;
    }
    sqlite3_finalize(q);
    if (!ok && db) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (!ok) sqlite3_close(db);
    return ok ? db : NULL;
}

/* A large store is scanned in two halves of its ids at once, the second on a thread of its own
 * with a read-only connection (10^7 sites: the scan is most of the build, and CPU-bound). The
 * second connection must see the sites the first does: it is opened only while the caller's
 * connection holds the store in a read transaction of a rollback journal, whose shared lock
 * lets no writer commit until it ends, and then its file and change token must be the
 * caller's (second_reader). 1 with the second half's part b ready to run and the first half's
 * last id in *mid; 0 to scan once. */
static int split_scan(ko_sites *s, const char *name, const koi_index_id *id, scan_part *b,
                      sqlite3_int64 *mid) {
    sqlite3_int64 lo = 0, hi = 0;
    size_t from = s->split_from ? s->split_from : KOI_SPLIT_FROM;
    const char *file = sqlite3_db_filename(s->db, "main");
    if (!id->token[0] || sqlite3_get_autocommit(s->db) || !file || !*file || from == SIZE_MAX ||
        !id_span(s->db, &lo, &hi) || (uint64_t)hi - (uint64_t)lo < from)
        return 0;
    if (!(b->db = second_reader(s, file, id)) || ko_context_create(&b->ctx) != KO_OK ||
        !(b->wkbr = GEOSWKBReader_create_r(b->ctx->geos)))
        return 0;
    sqlite3_int64 half = lo + (sqlite3_int64)(((uint64_t)hi - (uint64_t)lo) / 2);
    b->name = name, b->range = 1, b->lo = half + 1, b->hi = hi;
    *mid = half;
    return 1;
}

static void split_free(scan_part *b) {
    if (b->wkbr) GEOSWKBReader_destroy_r(b->ctx->geos, b->wkbr);
    if (b->ctx) ko_context_destroy(b->ctx);
    if (b->db) sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(b->db);
    rows_free(&b->r);
}

/* The second half's rows (b) after a's: its per-row arrays copied on, its bytes moved in as
 * part 1, its offsets made to count on from the end of a's part 0. */
static ko_status join_rows(ko_context *ctx, rows *a, rows *b) {
    size_t n = a->n + b->n, o = a->cap;
    if (n >= UINT32_MAX / 2) /* (room_for_row's limit, of each half alone) */
        return koi_error(ctx, KO_ERR_LIMIT, "the store has more sites than an index holds (%u)",
                         UINT32_MAX / 2);
    if (n > a->cap) {
        double *bx = koi_big_grow(a->boxes, o * 4 * sizeof *bx, n * 4 * sizeof *bx);
        if (bx) a->boxes = bx;
        uint32_t *sh = bx ? koi_big_grow(a->shape, o * sizeof *sh, n * sizeof *sh) : NULL;
        if (sh) a->shape = sh;
        disk_meta *m = sh ? koi_big_grow(a->meta, o * sizeof *m, n * sizeof *m) : NULL;
        if (!m) { /* the arrays that grew are freed; rows_free frees the others at a->cap */
            if (bx) koi_big_free(bx, n * 4 * sizeof *bx), a->boxes = NULL;
            if (sh) koi_big_free(sh, n * sizeof *sh), a->shape = NULL;
            return koi_error(ctx, KO_ERR_NOMEM, "out of memory indexing %zu sites", n);
        }
        a->meta = m, a->cap = n;
    }
    for (size_t i = 0; i < b->n; i++) {
        disk_meta *m = &b->meta[i];
        m->str += a->strs[0].len;
        m->wkb += (b->shape[i] & 3) == KOI_SITE_OTHER ? a->wkb[0].len : a->xy[0].len / 16;
    }
    memcpy(a->boxes + 4 * a->n, b->boxes, b->n * 4 * sizeof *b->boxes);
    memcpy(a->shape + a->n, b->shape, b->n * sizeof *b->shape);
    memcpy(a->meta + a->n, b->meta, b->n * sizeof *b->meta);
    a->strs[1] = b->strs[0], a->xy[1] = b->xy[0], a->wkb[1] = b->wkb[0];
    b->strs[0] = b->xy[0] = b->wkb[0] = (bytes){0};
    a->n = n;
    return KO_OK;
}

/* The rows read, in the caller's read transaction (id: the change token it read). */
static ko_status read_rows(ko_sites *s, const koi_index_id *id, rows *r, const char *name) {
    scan_part a = {s->ctx, s->db, s->wkbr, name, 0, INT64_MIN, INT64_MAX, {0}, KO_OK}, b = {0};
    thrd_t th;
    int two = split_scan(s, name, id, &b, &a.hi);
    if (two && thrd_create(&th, scan_part_run, &b) != thrd_success) two = 0;
    a.range = two; /* (else every row) */
    s->split_last = 0;
    scan_part_run(&a);
    if (two) {
        thrd_join(th, NULL);
        if (!a.st && b.st) a.st = koi_error(s->ctx, b.st, "%s", ko_errmsg(b.ctx));
        if (!a.st) a.st = join_rows(s->ctx, &a.r, &b.r);
        s->split_last = 1;
    }
    split_free(&b);
    *r = a.r;
    return a.st;
}

ko_status koi_packed_build_into(ko_sites *s, const koi_index_id *id, const koi_image_out *out,
                                size_t *len) {
    ko_context *ctx = s->ctx;
    const char *name = sqlite3_db_filename(s->db, "main");
    if (!name || !*name) name = "site store";
    rows r = {0};
    koi_rtree *tree = NULL;
    uint32_t *perm = NULL;
    stream sw = {0}, *w = &sw;
    size_t total = 0, points = 0;
    *len = 0;
    ko_status st = read_rows(s, id, &r, name);
    /* SQLite's R-tree boxes are already float32 rounded outward; rounding again is exact. */
    if (!st && (st = koi_rtree_build(r.boxes, r.n, &tree)))
        st = koi_error(ctx, st, "building the packed index of %zu sites: %s", r.n,
                       ko_status_str(st));
    koi_big_free(r.boxes, r.cap * 4 * sizeof *r.boxes);
    r.boxes = NULL;
    if (!st && (!(perm = koi_calloc(r.n ? r.n : 1, sizeof *perm)) ||
                !(w->buf = koi_big_grow(NULL, 0, STREAM_BUF))))
        st = koi_error(ctx, KO_ERR_NOMEM, "out of memory indexing %zu sites", r.n);
    points = parts_len(r.xy) / 16;
    const float *tb = tree ? koi_rtree_boxes(tree, &total) : NULL;
    layout l = {0};
    if (!st && (points > UINT32_MAX >> 3 ||
                !layout_of(r.n, total, points, parts_len(r.strs), parts_len(r.wkb), &l)))
        st = koi_error(ctx, KO_ERR_LIMIT, "the index of %zu sites is too large (%zu points)", r.n,
                       points);
    if (!st) st = out->begin(out->sink, l.end);
    if (!st) {
        unsigned char head[HEADER] = {0};
        put_header(head, id, r.n, total, points, parts_len(r.strs), parts_len(r.wkb), l.end);
        w->out = out, w->len = w->at = 0, w->st = KO_OK;
        emit(w, head, sizeof head);
        if (total) emit(w, tb, total * 4 * sizeof(float));
        koi_rtree_renumber(tree, perm);
        emit_sites(w, &r, perm, &l);
        flush(w);
        st = w->st;
        if (!st && w->at != l.end)
            st = koi_error(ctx, KO_ERR_INTERNAL, "site index: %zu of %zu bytes written", w->at,
                           l.end);
        if (!st) *len = l.end;
    }
    koi_big_free(w->buf, STREAM_BUF);
    koi_rtree_free(tree);
    free(perm);
    rows_free(&r);
    return st;
}

/* The heap sink: the image in one allocation, every byte written by the stream. */
typedef struct heap_image {
    koi_image_out out;
    ko_context *ctx;
    unsigned char *b;
    size_t len, at;
} heap_image;

static ko_status heap_begin(void *sink, size_t len) {
    heap_image *h = sink;
    h->b = koi_malloc(len ? len : 1);
    h->len = len, h->at = 0;
    return h->b ? KO_OK
                : koi_error(h->ctx, KO_ERR_NOMEM,
                            "out of memory building the site index (%zu bytes)", len);
}

static ko_status heap_write(void *sink, const void *p, size_t n) {
    heap_image *h = sink;
    if (n > h->len - h->at)
        return koi_error(h->ctx, KO_ERR_INTERNAL, "site index: written past its size");
    memcpy(h->b + h->at, p, n);
    h->at += n;
    return KO_OK;
}

ko_status koi_packed_build(ko_sites *s, const koi_index_id *id, unsigned char **image,
                           size_t *len) {
    heap_image h = {{heap_begin, heap_write, NULL}, s->ctx, NULL, 0, 0};
    h.out.sink = &h;
    ko_status st = koi_packed_build_into(s, id, &h.out, len);
    *image = st ? NULL : h.b;
    if (st) free(h.b);
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

/* The tree's boxes in 2 MiB pages where the kernel can (Linux transparent huge pages for
 * files): every query descends the tree from the root through pages scattered over 16 bytes
 * per tree entry (213 MB at 10^7 sites), each a TLB miss and, in a virtual machine, a nested page
 * walk. Mapped in 2 MiB pages, random queries at 10^7 sites (bench_index, traversal alone) ran 1.15
 * -> 1.41 M q/s. The kernel reads such a page in whole (2 MiB) and maps it so only if the page
 * cache holds it as one, which it does when this mapping first reads it: the index build drops its
 * freshly written pages for that reason (write_index_file). Elsewhere (no THP, or pages cached
 * small) it is the usual mapping, so this is a speed hint only. The records, rings and strings
 * behind the tree are read a few per hit and stay in 4 KiB pages. */
static void map_tree_huge(const koi_packed *p) {
#ifdef MADV_HUGEPAGE
    const size_t huge = (size_t)2 << 20;
    const unsigned char *at = p->map;
    size_t end = (size_t)((const unsigned char *)(p->boxes + 4 * p->total) - at);
    if (p->map_len < huge) return; /* (smaller than one such page) */
    end = end > p->map_len - huge ? p->map_len : (end + huge - 1) & ~(huge - 1);
    madvise(p->map, end, MADV_HUGEPAGE);
#else
    (void)p;
#endif
}

int koi_packed_open(ko_context *ctx, const char *path, const koi_index_id *want, koi_packed **out) {
    *out = NULL;
    /* (non-blocking: a FIFO in the index file's place would block the open for a writer;
     * it is refused below as not a regular file) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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
    if (p->map) map_tree_huge(p);
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
