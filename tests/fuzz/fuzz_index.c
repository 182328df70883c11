/* libFuzzer target: the reader of the store's index file (STORE.koidx, packed.c). The input is
 * an index file's bytes. Its header checksum is set right first (that refusal is checked in
 * check_index), so that mutations reach the counts, the layout and the sections. A file the
 * reader accepts is then searched whole, every site's shape and strings read through the
 * accessors, and queried around its sites' boxes: no read may leave the image (ASan), and a
 * damaged site must be an error, never a hit with dangling strings. The corpus (corpus/index/)
 * holds index files of small real stores (see its README). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "sites/sites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_QUERIES = 6, MAX_VISITS = 100000 };

typedef struct walk {
    const koi_packed *p;
    size_t visits;
    double boxes[MAX_QUERIES][4];
    size_t nboxes;
} walk;

static int visit(uint32_t item, const float *box, void *user) {
    walk *w = user;
    if (item >= koi_packed_count(w->p)) __builtin_trap(); /* the search's own bound */
    koi_site v;
    if (koi_packed_shape(w->p, item, &v)) {
        volatile double sum = 0;
        for (size_t i = 0; i < 2 * v.m; i++)
            sum += v.xy[i];
        for (size_t i = 0; i < v.nwkb; i++)
            sum += v.wkb[i];
        (void)sum;
    }
    if (koi_packed_meta(w->p, item, &v) &&
        (strlen(v.name) + strlen(v.category) + strlen(v.source) + strlen(v.source_id)) == SIZE_MAX)
        __builtin_trap();
    if (w->nboxes < MAX_QUERIES && box[0] >= -180 && box[2] <= 180 && box[1] >= -90 &&
        box[3] <= 90 && box[0] <= box[2] && box[1] <= box[3]) {
        double *b = w->boxes[w->nboxes++];
        b[0] = box[0], b[1] = box[1], b[2] = box[2], b[3] = box[3];
    }
    return ++w->visits < MAX_VISITS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ko_context *ctx = NULL;
    if (!ctx && ko_context_create(&ctx) != KO_OK) return 0;
    unsigned char *b = malloc(size ? size : 1);
    if (!b) return 0;
    memcpy(b, data, size);
    if (size >= 256) { /* FNV-1a 64 of the first 248 bytes, at 248 (docs/DESIGN.md) */
        uint64_t h = 0xcbf29ce484222325u;
        for (size_t i = 0; i < 248; i++)
            h = (h ^ b[i]) * 0x100000001b3u;
        memcpy(b + 248, &h, sizeof h);
    }
    koi_packed *p = NULL;
    if (koi_packed_from_image(ctx, b, size, "fuzz.koidx", &p) != KO_OK) return 0;
    walk w = {.p = p};
    koi_packed_search(p, -INFINITY, -INFINITY, INFINITY, INFINITY, visit, &w);
    ko_sites *s = koi_calloc(1, sizeof *s);
    if (s) {
        s->ctx = ctx;
        s->packed = p;
        s->many_from = 1; /* batches searched many at once, as at 2^19 sites and more */
        s->wkbr = GEOSWKBReader_create_r(ctx->geos);
        for (size_t i = 0; s->wkbr && i < w.nboxes; i++) {
            const double *q = w.boxes[i];
            double cx = (q[0] + q[2]) / 2, cy = (q[1] + q[3]) / 2;
            double rx = fmax((q[2] - q[0]) / 4, 1e-5), ry = fmax((q[3] - q[1]) / 4, 1e-5);
            double ring[10] = {cx - rx, cy - ry, cx + rx, cy - ry, cx + rx,
                               cy + ry, cx - rx, cy + ry, cx - rx, cy - ry};
            ko_hits *hits = NULL;
            if (ko_sites_query(s, ring, 5, cx, cy - 2 * ry, &hits) == KO_OK) {
                for (size_t k = 0; k < ko_hits_count(hits); k++) {
                    const ko_site_hit *x = ko_hits_get(hits, k);
                    if (!x->name || !x->category || !x->source || !x->source_id) __builtin_trap();
                }
            }
            ko_hits_destroy(hits);
        }
        /* the same footprints as one batch: its search of many boxes at once, prefetching */
        static double rings[MAX_QUERIES][10];
        ko_site_query qs[MAX_QUERIES];
        ko_hits *out[MAX_QUERIES];
        for (size_t i = 0; s->wkbr && i < w.nboxes; i++) {
            const double *q = w.boxes[i];
            double *r = rings[i];
            r[0] = r[6] = r[8] = q[0], r[1] = r[3] = r[9] = q[1];
            r[2] = r[4] = q[2], r[5] = r[7] = q[3];
            qs[i] = (ko_site_query){r, 5, (q[0] + q[2]) / 2, (q[1] + q[3]) / 2};
        }
        if (s->wkbr && ko_sites_query_batch(s, qs, w.nboxes, out) == KO_OK)
            for (size_t i = 0; i < w.nboxes; i++)
                ko_hits_destroy(out[i]);
        ko_sites_close(s); /* frees p */
    } else {
        koi_packed_free(ctx, p);
    }
    return 0;
}
