/* Private: the site store, its import, packed index and queries. */
#ifndef KEEPOUT_SITES_SITES_H
#define KEEPOUT_SITES_SITES_H

#include <sqlite3.h>
#include <stddef.h>

#include "core/core.h"
#include "geo/geo.h"

/* The site store's innards, shared by store.c, import.c, query.c and packed.c. */
#define KOI_SCHEMA_VERSION 1

typedef struct koi_packed koi_packed;

struct ko_sites {
    ko_context *ctx;
    char *path; /* as opened: other threads open their own handles of it (catalog/tag.c) */
    sqlite3 *db;
    void *splite; /* SpatiaLite connection cache */
    int writable;
    sqlite3_stmt *q_rtree; /* on-disk R-tree candidate query */
    /* When packed was last confirmed current: the store file's and its -wal's identity, size
     * and times (any write by another process changes one), and whether they were read. */
    long long stamp[2][4];
    int stamped;
    long long file_ino;  /* the inode of the file the connection opened (0: not known) */
    koi_packed *packed;  /* the packed index (mapped or built in memory), or NULL */
    GEOSWKBReader *wkbr; /* reused by queries */
    /* A batch against an index of at least this many sites searches its footprints many at
     * once (query.c); 0: KOI_MANY_FROM. Tests set 1 to take that path on small stores. */
    size_t many_from;
    /* The index build scans a store whose rowids span at least this many in two halves at once
     * (packed.c, read_rows); 0: KOI_SPLIT_FROM. Tests set 1 to split small stores, SIZE_MAX
     * never to split. */
    size_t split_from;
    int split_last; /* set by the index build: whether its scan ran in two halves (tests) */
};
/* Below this span of rowids a store is scanned once: a thread and a second connection cost ~1 ms
 * against ~4 s a million sites of scan; the figure only keeps small stores on one thread. */
#define KOI_SPLIT_FROM ((size_t)1 << 16)
/* Below this many sites the tree stays in the caches and one footprint at a time is faster
 * (bench_index at 10^5 sites: traversal 3.95 M q/s alone, 2.44 M many at once; at 10^7 0.74 M
 * and 1.14 M). The crossover between was not measured: this is where the tree's boxes (16
 * bytes a site) outgrow 8 MB of cache. */
#define KOI_MANY_FROM ((size_t)1 << 19)

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

/* SpatiaLite geometry blobs read without SpatiaLite (splite_blob.c). koi_blob_mbr: the
 * header's box (minx, miny, maxx, maxy), 1 if b is a well-formed blob. koi_blob_wkb: the
 * geometry as WKB into out (room for n - 39 bytes; NULL: only checked), its length, or 0 for a
 * malformed blob or one SpatiaLite encodes otherwise than plain 2D (compressed, Z, M). A blob's
 * WKB is its byte-order byte b[1], then its bytes from b + 39 on, less the closing 0xFE. */
int koi_blob_mbr(const unsigned char *b, size_t n, double *box);
/* A 32-bit integer or a double of WKB or a blob, little-endian when little is 1, else
 * big-endian. */
uint32_t koi_wkb_u32(const unsigned char *b, int little);
double koi_wkb_f64(const unsigned char *b, int little);
size_t koi_blob_wkb(const unsigned char *b, size_t n, unsigned char *out);

/* The local east/north box (metres from the camera; min e, min n, max e, max n) of the part
 * of the i-th hit's site in view, for its finest GSD; NULL past the end. */
const double *koi_hits_part_box(const ko_hits *h, size_t i);

/* The packed index (packed.c): built in memory from the store, or mapped from the store's
 * index file STORE.koidx (index_file.c; format in docs/DESIGN.md). */
#define KOI_INDEX_FORMAT 1
/* The store's change identity an index is built at: its change token (meta sites_change, 32
 * random hex digits, drawn again by triggers for every row of sites inserted, updated or
 * deleted, by keepout or any other SQLite client), which two different contents share with a
 * chance of 2^-128; and its version (meta store_version, one per import), for messages. */
typedef struct koi_index_id {
    char token[33];
    int64_t version;
} koi_index_id;
void koi_packed_free(ko_context *ctx, koi_packed *p);
/* Where a build writes the index's image, in order: begin(sink, len) once with its size,
 * then write(sink, p, n) with the next n bytes until len are written (the heap, or the index
 * file's temporary); on failure an error recorded in the context. */
typedef struct koi_image_out {
    ko_status (*begin)(void *sink, size_t len);
    ko_status (*write)(void *sink, const void *p, size_t n);
    void *sink;
} koi_image_out;
/* Builds the index's file image from the store's sites, stamped with id, through out: one
 * scan of the store into buffers in its row order (~490 bytes a site at 10^7; a large store's
 * two halves at once), then the image streamed in the tree's leaf order. To be called inside
 * one read transaction (outside one, and under WAL, the store is scanned on one thread). */
ko_status koi_packed_build_into(ko_sites *s, const koi_index_id *id, const koi_image_out *out,
                                size_t *len);
/* Writes the index file of a store that tracks changes (KO_ERR_NOT_FOUND if it does not) and
 * maps it, whether s was opened for writing or not (the store itself is only read):
 * ko_sites_write_index without its change triggers, and ko_sites_prepare's rebuild. The
 * file's own failures (a folder not writable, a full disk) are KO_ERR_IO. */
ko_status koi_sites_rewrite_index(ko_sites *s);
/* The same into the heap: *image (malloc'd, the caller's) of *len bytes. */
ko_status koi_packed_build(ko_sites *s, const koi_index_id *id, unsigned char **image, size_t *len);
/* An index over an image b of len bytes (malloc'd; owned by the index from the call on, freed
 * on failure too), checked as koi_packed_view does. */
ko_status koi_packed_from_image(ko_context *ctx, unsigned char *b, size_t len, const char *name,
                                koi_packed **out);
/* Builds the image in memory and reads it from there (no file). */
ko_status koi_packed_load(ko_sites *s, koi_packed **out);
/* Checks an image (len bytes at b, named name in messages) and points p's sections into it:
 * KO_ERR_FORMAT naming name if its header, counts and size do not fit together. What the
 * checks cannot see (a flipped bit in a box) only the accessors' bounds checks catch: no read
 * ever leaves the image. */
ko_status koi_packed_view(ko_context *ctx, const unsigned char *b, size_t len, const char *name,
                          koi_packed *p);
/* Maps the index file at path: KOI_INDEX_CURRENT (*out set) when it is sound and built at
 * want; else *out NULL and KOI_INDEX_MISSING (no file), KOI_INDEX_STALE (built at another
 * identity) or KOI_INDEX_DAMAGED (unreadable, truncated, not an index), the last two with a
 * message naming the file in ctx. */
/* (KOI_INDEX_NOMEM: out of memory opening it, KO_ERR_NOMEM recorded: neither damaged nor
 * current) */
enum {
    KOI_INDEX_CURRENT = 0,
    KOI_INDEX_MISSING,
    KOI_INDEX_STALE,
    KOI_INDEX_DAMAGED,
    KOI_INDEX_NOMEM
};
int koi_packed_open(ko_context *ctx, const char *path, const koi_index_id *want, koi_packed **out);
size_t koi_packed_count(const koi_packed *p);
/* The mapped file, or NULL for an index built in memory. */
const char *koi_packed_file(const koi_packed *p);
const koi_index_id *koi_packed_identity(const koi_packed *p);
/* What messages call the index: its file, or the name it was built with. */
const char *koi_packed_name(const koi_packed *p);
/* The store's index file name (STORE.koidx, malloc'd) and its change identity:
 * KO_ERR_NOT_FOUND when the store does not track its changes (no sites_change or not all its
 * triggers: made by an older keepout and not opened for writing since). */
char *koi_sites_index_path(ko_sites *s);
ko_status koi_sites_index_id(ko_sites *s, koi_index_id *id);
/* Inside an import's transaction: begin 1 drops the change triggers (a trigger per row costs
 * as much as SQLite's own insert), begin 0 creates them again and draws a new token, once.
 * Other connections never see the store without them (one transaction). */
ko_status koi_sites_bulk_write(ko_sites *s, int begin);
/* Adds the change tracking (sites_change, the triggers) to a writable store that lacks it. */
ko_status koi_sites_track_changes(ko_sites *s);
/* Attaches the current index file to a store just opened, if there is one: KO_OK with
 * s->packed set or not; a damaged file is an error if refuse_damaged (a store opened to check
 * against: read-only, not KO_SITES_ALLOW_EMPTY), else ignored. */
ko_status koi_sites_attach_index(ko_sites *s, int refuse_damaged);
/* Confirms that s's packed index still holds the store's sites: when the store file or its
 * -wal has been written since it was last confirmed (two stat() calls, ~1 us: SQLite's own
 * PRAGMA data_version takes a file lock, 160 us) and the store's change token is no longer
 * the index's, the index is dropped and the current index file, if any, mapped instead (else
 * the store answers from its own R-tree). Every ko_sites_query() and ko_sites_query_batch()
 * calls it. KO_ERR_DB if the store cannot be read. */
ko_status koi_sites_confirm_index(ko_sites *s);
/* Records the store's files as they are now: packed is current as of now. */
void koi_sites_stamp(ko_sites *s);
/* The state of the store's index file: "current", "missing", "stale", "damaged" or
 * "untracked" (the store does not track its changes); *path := the file (malloc'd, may be
 * NULL when out of memory, then "unknown"). */
const char *koi_sites_index_state(ko_sites *s, char **path);
/* Calls fn for each site whose float box intersects the query box; box is the site's box
 * (minx, miny, maxx, maxy) rounded outward to float32. fn returns 0 to stop. */
typedef int (*koi_packed_visit)(uint32_t item, const float *box, void *user);
void koi_packed_search(const koi_packed *p, double minx, double miny, double maxx, double maxy,
                       koi_packed_visit fn, void *user);

/* One site as the exact test sees it. A hole-free polygon is its closed shell ring (m points,
 * m >= 4), a point one pair (m == 1); any other shape is only its GEOS geometry (geom), read
 * from the index's WKB (wkb, nwkb) when a query meets it. Everything is borrowed from the
 * index (or the caller) that filled it. */
enum { KOI_SITE_POLYGON = 0, KOI_SITE_POINT = 1, KOI_SITE_OTHER = 2 };
typedef struct koi_site {
    int64_t id;
    double min_gsd, buffer;
    int kind;
    const double *xy;
    size_t m;
    const GEOSGeometry *geom; /* KOI_SITE_OTHER (once read), else NULL or the same shape */
    const unsigned char *wkb; /* KOI_SITE_OTHER of a packed index */
    size_t nwkb;
    const char *name, *category, *source, *source_id;
} koi_site;
/* The item-th site of the packed index: its shape (kind, xy, m, wkb), for the exact test,
 * and the rest (id, min_gsd, buffer, strings), for a hit. 0 if the index is damaged there
 * (offsets out of its bounds). */
int koi_packed_shape(const koi_packed *p, uint32_t item, koi_site *v);
int koi_packed_meta(const koi_packed *p, uint32_t item, koi_site *v);
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
/* The tree's entries (4 floats each, leaves first, as koi_rtree_search_flat reads them). */
const float *koi_rtree_boxes(const koi_rtree *t, size_t *total);
/* The levels of a tree of n leaves: level l's entries end at level_end[l] (32 entries);
 * returns the number of levels. */
int koi_rtree_levels(size_t n, size_t *level_end);
/* koi_rtree_search over entries laid out as koi_rtree_build does, leaves renumbered. */
void koi_rtree_search_flat(const float *boxes, const size_t *level_end, int levels, double minx,
                           double miny, double maxx, double maxy, koi_packed_visit fn, void *user);

/* Many boxes searched at once (a batch of queries): level by level over all of them, each
 * node's boxes prefetched a few pairs ahead, so that the misses of one query's nodes overlap
 * another's instead of stalling one after the other (at 10^7 sites the tree is 171 MB and every
 * node of a random query misses the caches and the TLB). koi_many holds the search's arrays,
 * reused from call to call; zero it before the first, koi_many_free it after the last. */
typedef struct koi_cand {
    uint32_t box;  /* which of the searched boxes */
    uint32_t item; /* a leaf whose float box meets it */
} koi_cand;
typedef struct koi_many {
    koi_cand *cur, *next, *out; /* (out: the candidates, grouped by box, in box order) */
    size_t ncur, nnext, nout, cap_cur, cap_next, cap_out;
    float *q; /* the boxes in float, rounded outward (cap_q of them allocated) */
    size_t cap_q;
} koi_many;
/* Candidates of the nb boxes qbox (4 doubles each: minx, miny, maxx, maxy) into m->out
 * (m->nout of them, replacing the last call's). 0 when out of memory. */
/* Bit k set when box first + k (of count <= 16, 4 floats each) meets q (minx, miny, maxx,
 * maxy): by the CPU's widest test where wide is set and it runs here, else by SSE or plain C
 * (for tests: the two must agree). */
unsigned koi_rtree_node_mask(const float *boxes, size_t first, size_t count, const float *q,
                             int wide);
int koi_rtree_search_many_flat(const float *boxes, const size_t *level_end, int levels,
                               const double *qbox, size_t nb, koi_many *m);
int koi_packed_search_many(const koi_packed *p, const double *qbox, size_t nb, koi_many *m);
void koi_many_free(koi_many *m);
/* Asks the CPU for what testing site item will read, without waiting for it: stage 0 its shape
 * offsets and metadata, stage 1 (once stage 0 has had time to arrive) its ring's points. */
void koi_packed_prefetch(const koi_packed *p, uint32_t item, int stage);
/* The item-th leaf's box (4 floats), as koi_packed_search passes it. */
const float *koi_packed_box(const koi_packed *p, uint32_t item);

/* The OSM preset table of `sites import --preset osm` (docs/OSM_PRESET.md): rows of
 * tag conditions -> category, object kinds, buffer rule, parsed from keepout's built-in
 * data/osm_preset.csv and from a caller's file in the same format. */
/* Object kinds a row applies to. */
#define KOI_OSM_NODE 1u
#define KOI_OSM_WAY 2u
#define KOI_OSM_RELATION 4u

typedef enum { KOI_OSM_BUFFER_DEFAULT, KOI_OSM_BUFFER_METRES, KOI_OSM_BUFFER_WIDTH } koi_osm_buffer;

/* One condition: the key is present and (values NULL) has any value, or its value is one of
 * values (negate 0) or none of them (negate 1). Strings point into the row's text. */
typedef struct koi_osm_cond {
    const char *key;
    const char **values;
    size_t nvalues;
    int negate;
} koi_osm_cond;

typedef struct koi_osm_rule {
    char *text;          /* the row's text, cut into the strings below; owned */
    koi_osm_cond *conds; /* all must hold; owned */
    size_t nconds;
    const char *category; /* NULL: not a site */
    unsigned kinds;       /* KOI_OSM_* */
    koi_osm_buffer buffer;
    double buffer_m;  /* KOI_OSM_BUFFER_METRES */
    const char *file; /* where the row is (borrowed from the parse call) */
    int line;
} koi_osm_rule;

typedef struct koi_osm_table {
    koi_osm_rule *rules; /* tried in order; owned */
    size_t n, cap;
} koi_osm_table;

/* Appends the rows of a table text (len bytes; name is the file name messages give and the
 * rules keep, borrowed: it must outlive the table). A malformed table is KO_ERR_FORMAT
 * "name:line: what ('value')"; t then holds the rows before it. */
ko_status koi_osm_table_parse(ko_context *ctx, const char *name, const char *text, size_t len,
                              koi_osm_table *t);

/* Reads a table file whole (at most 1 MiB) and appends its rows. */
ko_status koi_osm_table_load(ko_context *ctx, const char *path, koi_osm_table *t);

/* Appends keepout's built-in table (data/osm_preset.csv, compiled in). */
ko_status koi_osm_table_builtin(ko_context *ctx, koi_osm_table *t);

/* Frees the rows and zeroes t. */
void koi_osm_table_free(koi_osm_table *t);

/* The value of a tag of the object being classified, or NULL if it has none; valid until the
 * next call. */
typedef const char *(*koi_osm_tag_fn)(void *user, const char *key);

/* The first row whose kinds include kind and whose conditions all hold, or NULL. */
const koi_osm_rule *koi_osm_table_match(const koi_osm_table *t, unsigned kind, koi_osm_tag_fn tag,
                                        void *user);

/* The buffer a matched row gives the object: metres, or NaN for the category's default. */
double koi_osm_rule_buffer(const koi_osm_rule *r, koi_osm_tag_fn tag, void *user);

/* An OGR SQL attribute filter selecting a superset of what the table's site rows match on a
 * layer holding objects of kinds: a condition on a key the layer has as a field (has_field)
 * compares it, one on another key looks into the other_tags field when the layer has one
 * (has_other_tags), else the row cannot match there. "0 = 1" if no row can. *out owned by the
 * caller (free()). */
ko_status koi_osm_table_filter(ko_context *ctx, const koi_osm_table *t, unsigned kinds,
                               int (*has_field)(void *user, const char *key), void *user,
                               int has_other_tags, char **out);

#endif
