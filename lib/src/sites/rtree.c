/* A static packed R-tree: boxes sorted along a Hilbert curve, node size 16, float32
 * coordinates rounded outward (a box never shrinks, so no hit is lost). Levels are stored
 * bottom-up in one array, as in flatbush. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KOI_AVX2 1
#endif

#include "core/core.h"
#include "sites/sites.h"

#define NODE 16

struct koi_rtree {
    size_t n;        /* items */
    size_t total;    /* entries over all levels */
    float *boxes;    /* 4 per entry: minx, miny, maxx, maxy */
    uint32_t *index; /* leaf: item; internal: first child entry */
    size_t level_end[32];
    int levels;
    int identity; /* renumbered: leaf pos is the item, no need to read index[] */
};

static float down(double v) {
    float f = (float)v;
    return (double)f > v ? nextafterf(f, -INFINITY) : f;
}

static float up(double v) {
    float f = (float)v;
    return (double)f < v ? nextafterf(f, INFINITY) : f;
}

/* Hilbert index of (x, y) in a 2^16 grid (from "Hacker's Delight" / flatbush). */
uint32_t koi_hilbert(uint32_t x, uint32_t y) {
    uint32_t a = x ^ y, b = 0xFFFF ^ a, c = 0xFFFF ^ (x | y), d = x & (y ^ 0xFFFF);
    uint32_t A = a | (b >> 1), B = (a >> 1) ^ a, C = ((c >> 1) ^ (b & (d >> 1))) ^ c,
             D = ((a & (c >> 1)) ^ (d >> 1)) ^ d;
    a = A, b = B, c = C, d = D;
    A = ((a & (a >> 2)) ^ (b & (b >> 2)));
    B = ((a & (b >> 2)) ^ (b & ((a ^ b) >> 2)));
    C ^= ((a & (c >> 2)) ^ (b & (d >> 2)));
    D ^= ((b & (c >> 2)) ^ ((a ^ b) & (d >> 2)));
    a = A, b = B, c = C, d = D;
    A = ((a & (a >> 4)) ^ (b & (b >> 4)));
    B = ((a & (b >> 4)) ^ (b & ((a ^ b) >> 4)));
    C ^= ((a & (c >> 4)) ^ (b & (d >> 4)));
    D ^= ((b & (c >> 4)) ^ ((a ^ b) & (d >> 4)));
    a = A, b = B, c = C, d = D;
    C ^= ((a & (c >> 8)) ^ (b & (d >> 8)));
    D ^= ((b & (c >> 8)) ^ ((a ^ b) & (d >> 8)));
    a = C ^ (C >> 1);
    b = D ^ (D >> 1);
    uint32_t i0 = x ^ y, i1 = b | (0xFFFF ^ (i0 | a));
    i0 = (i0 | (i0 << 8)) & 0x00FF00FF;
    i0 = (i0 | (i0 << 4)) & 0x0F0F0F0F;
    i0 = (i0 | (i0 << 2)) & 0x33333333;
    i0 = (i0 | (i0 << 1)) & 0x55555555;
    i1 = (i1 | (i1 << 8)) & 0x00FF00FF;
    i1 = (i1 | (i1 << 4)) & 0x0F0F0F0F;
    i1 = (i1 | (i1 << 2)) & 0x33333333;
    i1 = (i1 | (i1 << 1)) & 0x55555555;
    return (i1 << 1) | i0;
}

/* Radix sort of (key, item) pairs by key: two 16-bit passes. */
int koi_sort_by_key(uint64_t *kv, size_t n) {
    uint64_t *tmp = koi_malloc(n * sizeof *tmp);
    if (!tmp) return 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t count[65537] = {0};
        int shift = 32 + 16 * pass;
        for (size_t i = 0; i < n; i++)
            count[((kv[i] >> shift) & 0xFFFF) + 1]++;
        for (size_t i = 1; i <= 65536; i++)
            count[i] += count[i - 1];
        for (size_t i = 0; i < n; i++)
            tmp[count[(kv[i] >> shift) & 0xFFFF]++] = kv[i];
        memcpy(kv, tmp, n * sizeof *kv);
    }
    free(tmp);
    return 1;
}

/* (Hilbert key << 32 | i) of n points, the i-th at p + stride * i: a box (minx, miny, maxx,
 * maxy; its centre counts) when stride is 4, else a point; over their common extent. */
static void hilbert_keys(const double *p, size_t stride, size_t n, uint64_t *kv) {
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
    size_t dx = stride == 4 ? 2 : 0, dy = stride == 4 ? 3 : 1;
    for (size_t i = 0; i < n; i++) {
        const double *b = p + stride * i;
        if (b[0] < minx) minx = b[0];
        if (b[1] < miny) miny = b[1];
        if (b[dx] > maxx) maxx = b[dx];
        if (b[dy] > maxy) maxy = b[dy];
    }
    double w = maxx - minx, h = maxy - miny;
    for (size_t i = 0; i < n; i++) {
        const double *b = p + stride * i;
        double cx = (b[0] + b[dx]) / 2, cy = (b[1] + b[dy]) / 2;
        double tx = w > 0 ? (cx - minx) / w : 0, ty = h > 0 ? (cy - miny) / h : 0;
        /* (a point that is not a number goes first; its query will say what is wrong) */
        if (!(tx >= 0 && tx <= 1)) tx = 0;
        if (!(ty >= 0 && ty <= 1)) ty = 0;
        uint32_t hx = (uint32_t)(65535.0 * tx), hy = (uint32_t)(65535.0 * ty);
        kv[i] = ((uint64_t)koi_hilbert(hx, hy) << 32) | (uint64_t)i;
    }
}

int koi_query_order(const double *xy, size_t n, uint32_t *order) {
    uint64_t *kv = koi_malloc((n ? n : 1) * sizeof *kv);
    if (!kv) return 0;
    hilbert_keys(xy, 2, n, kv);
    int ok = koi_sort_by_key(kv, n);
    for (size_t i = 0; ok && i < n; i++)
        order[i] = (uint32_t)(kv[i] & 0xFFFFFFFFu);
    free(kv);
    return ok;
}

ko_status koi_rtree_build(const double *boxes, size_t n, koi_rtree **out) {
    if (n > UINT32_MAX / 2) return KO_ERR_LIMIT;
    koi_rtree *t = koi_calloc(1, sizeof *t);
    if (!t) return KO_ERR_NOMEM;
    t->n = n;
    size_t total = n, count = n;
    t->levels = 0;
    t->level_end[t->levels++] = n;
    while (count > 1) {
        count = (count + NODE - 1) / NODE;
        total += count;
        t->level_end[t->levels++] = total;
    }
    if (n == 0) total = 0;
    t->total = total;
    t->boxes = koi_malloc(4 * (total ? total : 1) * sizeof(float));
    t->index = koi_malloc((total ? total : 1) * sizeof(uint32_t));
    uint64_t *kv = koi_malloc((n ? n : 1) * sizeof *kv);
    if (!t->boxes || !t->index || !kv) goto nomem;
    if (n == 0) {
        free(kv);
        *out = t;
        return KO_OK;
    }
    hilbert_keys(boxes, 4, n, kv);
    if (!koi_sort_by_key(kv, n)) goto nomem;
    for (size_t i = 0; i < n; i++) {
        uint32_t item = (uint32_t)(kv[i] & 0xFFFFFFFFu);
        const double *b = boxes + 4 * (size_t)item;
        float *f = t->boxes + 4 * i;
        f[0] = down(b[0]);
        f[1] = down(b[1]);
        f[2] = up(b[2]);
        f[3] = up(b[3]);
        t->index[i] = item;
    }
    free(kv);
    kv = NULL;
    /* Parent boxes: union of up to NODE children (float unions are exact). */
    size_t pos = n, child = 0;
    for (int l = 0; l + 1 < t->levels; l++) {
        size_t end = t->level_end[l];
        while (child < end) {
            float b0 = INFINITY, b1 = INFINITY, b2 = -INFINITY, b3 = -INFINITY;
            size_t first = child;
            for (int k = 0; k < NODE && child < end; k++, child++) {
                const float *c = t->boxes + 4 * child;
                if (c[0] < b0) b0 = c[0];
                if (c[1] < b1) b1 = c[1];
                if (c[2] > b2) b2 = c[2];
                if (c[3] > b3) b3 = c[3];
            }
            float *p = t->boxes + 4 * pos;
            p[0] = b0, p[1] = b1, p[2] = b2, p[3] = b3;
            t->index[pos] = (uint32_t)first;
            pos++;
        }
    }
    *out = t;
    return KO_OK;
nomem:
    free(kv);
    koi_rtree_free(t);
    return KO_ERR_NOMEM;
}

/* Bit k set when entry first + k of a node (count entries) intersects the query box q
 * (minx, miny, maxx, maxy, already rounded outward to float). Branch-free: which of 16 boxes
 * a query touches is unpredictable, and a mispredicted branch costs more than the test. */
static unsigned node_mask(const float *boxes, size_t first, size_t count, const float *q) {
    unsigned mask = 0;
#ifdef __SSE2__
    /* One compare per corner pair: lanes 0, 1 need box min <= query max, lanes 2, 3 box max
     * >= query min. */
    __m128 qv = _mm_setr_ps(q[2], q[3], q[0], q[1]);
    for (size_t k = 0; k < count; k++) {
        __m128 b = _mm_loadu_ps(boxes + 4 * (first + k));
        int m = (_mm_movemask_ps(_mm_cmple_ps(b, qv)) & 3) |
                (_mm_movemask_ps(_mm_cmpge_ps(b, qv)) & 12);
        mask |= (unsigned)(m == 15) << k;
    }
#else
    for (size_t k = 0; k < count; k++) {
        const float *b = boxes + 4 * (first + k);
        mask |= (unsigned)((b[0] <= q[2]) & (b[1] <= q[3]) & (b[2] >= q[0]) & (b[3] >= q[1])) << k;
    }
#endif
    return mask;
}

#ifdef KOI_AVX2
/* node_mask of a full node (NODE = 16 entries) with AVX2, two boxes per compare: 8 compares
 * where the SSE loop takes 16, and the 4 corner bits of each box gathered into its one bit
 * by BMI2's pext. Chosen at run time (node_test), so the library still runs on any x86-64.
 * At 10^7 sites, random batches (bench_index, traversal many at once): 1.92 -> 4.39 M q/s. */
__attribute__((target("avx2,bmi2"))) static inline unsigned node_mask16_avx2(const float *boxes,
                                                                             size_t first,
                                                                             const float *q) {
    const __m256 qv = _mm256_setr_ps(q[2], q[3], q[0], q[1], q[2], q[3], q[0], q[1]);
    const float *b = boxes + 4 * first;
    uint64_t corners = 0;
#pragma GCC unroll 8
    for (int k = 0; k < NODE / 2; k++) {
        __m256 v = _mm256_loadu_ps(b + 8 * k);
        /* lanes 0, 1 (and 4, 5): box min <= query max; lanes 2, 3 (6, 7): max >= query min */
        __m256 ok = _mm256_blend_ps(_mm256_cmp_ps(v, qv, _CMP_LE_OQ),
                                    _mm256_cmp_ps(v, qv, _CMP_GE_OQ), 0xCC);
        corners |= (uint64_t)(unsigned)_mm256_movemask_ps(ok) << (8 * k);
    }
    corners &= corners >> 1; /* bit 4j: all four corner tests of box j passed */
    corners &= corners >> 2;
    return (unsigned)_pext_u64(corners, 0x1111111111111111u);
}
#endif

/* Whether node_mask16_avx2 runs here (the CPU's answer does not change: read per search). */
static int wide_nodes(void) {
#ifdef KOI_AVX2
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
#else
    return 0;
#endif
}

/* node_mask, through the AVX2 test for a full node where wide says it runs. Inlined into each
 * search's two instances (plain and AVX2, see search_levels), where wide is a constant: no
 * call and no CPU check per node (perf had node_test apart at 3 % of survey queries). */
static inline __attribute__((always_inline)) unsigned node_test(const float *boxes, size_t first,
                                                                size_t count, const float *q,
                                                                int wide) {
#ifdef KOI_AVX2
    if (wide && count == NODE) return node_mask16_avx2(boxes, first, q);
#else
    (void)wide;
#endif
    return node_mask(boxes, first, count, q);
}

unsigned koi_rtree_node_mask(const float *boxes, size_t first, size_t count, const float *q,
                             int wide) {
    return node_test(boxes, first, count, q, wide && wide_nodes());
}

/* The search over levels stored bottom-up in boxes (level l ends at level_end[l]): index, when
 * not NULL, gives each leaf's item and each internal entry's first child; without it leaves are
 * their items and children are found by position (entry j of level l > 0 covers entries j *
 * NODE .. of level l - 1, as the build lays them out). */
static inline __attribute__((always_inline)) void search_body(
    const float *boxes, const uint32_t *index, const size_t *level_end, int levels, int identity,
    double minx, double miny, double maxx, double maxy, koi_packed_visit fn, void *user, int wide) {
    if (levels < 1 || level_end[0] == 0 || !(minx <= maxx) || !(miny <= maxy)) return;
    /* The query box in float, rounded outward: it may admit a box that the double box would
     * not (the caller's exact test rejects it), never the reverse. */
    const float q[4] = {down(minx), down(miny), up(maxx), up(maxy)};
    size_t stack[32 * NODE];
    int lstack[32 * NODE];
    size_t sp = 0;
    /* Start at the root: the last entry. Each stacked value is a node's first entry. */
    size_t node = level_end[levels - 1] - 1;
    int level = levels - 1;
    for (;;) {
        size_t lend = level_end[level];
        size_t count = lend - node < NODE ? lend - node : NODE;
        unsigned mask = node_test(boxes, node, count, q, wide);
        while (mask) {
            size_t pos = node + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            if (level == 0) {
                uint32_t item = identity || !index ? (uint32_t)pos : index[pos];
                if (!fn(item, boxes + 4 * pos, user)) return;
            } else {
                size_t start = level_end[level - 1];
                size_t below = level > 1 ? level_end[level - 2] : 0;
                stack[sp] = index ? index[pos] : below + (pos - start) * NODE;
                lstack[sp] = level - 1;
                sp++;
            }
        }
        if (sp == 0) break;
        sp--;
        node = stack[sp];
        level = lstack[sp];
    }
}

#ifdef KOI_AVX2
__attribute__((target("avx2,bmi2"))) static void search_levels_avx2(
    const float *boxes, const uint32_t *index, const size_t *level_end, int levels, int identity,
    double minx, double miny, double maxx, double maxy, koi_packed_visit fn, void *user) {
    search_body(boxes, index, level_end, levels, identity, minx, miny, maxx, maxy, fn, user, 1);
}
#endif

/* search_body, in the instance for this CPU. */
static void search_levels(const float *boxes, const uint32_t *index, const size_t *level_end,
                          int levels, int identity, double minx, double miny, double maxx,
                          double maxy, koi_packed_visit fn, void *user) {
#ifdef KOI_AVX2
    if (wide_nodes()) {
        search_levels_avx2(boxes, index, level_end, levels, identity, minx, miny, maxx, maxy, fn,
                           user);
        return;
    }
#endif
    search_body(boxes, index, level_end, levels, identity, minx, miny, maxx, maxy, fn, user, 0);
}

void koi_rtree_search(const koi_rtree *t, double minx, double miny, double maxx, double maxy,
                      koi_packed_visit fn, void *user) {
    if (!t || t->n == 0) return;
    search_levels(t->boxes, t->index, t->level_end, t->levels, t->identity, minx, miny, maxx, maxy,
                  fn, user);
}

int koi_rtree_levels(size_t n, size_t *level_end) {
    size_t total = n, count = n;
    int levels = 0;
    level_end[levels++] = n;
    while (count > 1 && levels < 32) {
        count = (count + NODE - 1) / NODE;
        total += count;
        level_end[levels++] = total;
    }
    return levels;
}

void koi_rtree_search_flat(const float *boxes, const size_t *level_end, int levels, double minx,
                           double miny, double maxx, double maxy, koi_packed_visit fn, void *user) {
    search_levels(boxes, NULL, level_end, levels, 1, minx, miny, maxx, maxy, fn, user);
}

/* ---------------------------------------------------------------- many at once ---------- */

/* Appends (box, item) to *a (n used, cap allocated). 0 when out of memory. */
static inline int push(koi_cand **a, size_t *n, size_t *cap, uint32_t box, uint32_t item) {
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        koi_cand *b = koi_realloc_array(*a, c, sizeof *b);
        if (!b) return 0;
        *a = b, *cap = c;
    }
    (*a)[(*n)++] = (koi_cand){box, item};
    return 1;
}

/* How many pairs ahead a node's boxes are prefetched: enough for a miss (~100-300 ns in a VM)
 * to arrive while the pairs between are tested (~10 ns each). */
#define AHEAD 8

static inline void prefetch_node(const float *boxes, size_t node) {
    const char *b = (const char *)(boxes + 4 * node);
    for (int k = 0; k < NODE * 16; k += 64) /* a node: NODE boxes of 16 bytes */
        __builtin_prefetch(b + k);
    __builtin_prefetch(b + NODE * 16 - 1);
}

/* The level-by-level descent of koi_rtree_search_many_flat, from m->cur (every box at the
 * root); 0 when out of memory. */
static inline __attribute__((always_inline)) int many_body(const float *boxes,
                                                           const size_t *level_end, int levels,
                                                           koi_many *m, int wide) {
    for (int level = levels - 1; level >= 0; level--) {
        size_t lend = level_end[level];
        size_t start = level ? level_end[level - 1] : 0,
               below = level > 1 ? level_end[level - 2] : 0;
        m->nnext = 0;
        for (size_t i = 0; i < m->ncur && i < AHEAD; i++)
            prefetch_node(boxes, m->cur[i].item);
        for (size_t i = 0; i < m->ncur; i++) {
            if (i + AHEAD < m->ncur) prefetch_node(boxes, m->cur[i + AHEAD].item);
            koi_cand c = m->cur[i];
            size_t count = lend - c.item < NODE ? lend - c.item : NODE;
            unsigned mask = node_test(boxes, c.item, count, m->q + 4 * c.box, wide);
            while (mask) {
                size_t pos = c.item + (size_t)__builtin_ctz(mask);
                mask &= mask - 1;
                int ok = level == 0 ? push(&m->out, &m->nout, &m->cap_out, c.box, (uint32_t)pos)
                                    : push(&m->next, &m->nnext, &m->cap_next, c.box,
                                           (uint32_t)(below + (pos - start) * NODE));
                if (!ok) return 0;
            }
        }
        koi_cand *t = m->cur;
        size_t tc = m->cap_cur;
        m->cur = m->next, m->ncur = m->nnext, m->cap_cur = m->cap_next;
        m->next = t, m->cap_next = tc, m->nnext = 0;
    }
    return 1;
}

#ifdef KOI_AVX2
__attribute__((target("avx2,bmi2"))) static int many_avx2(const float *boxes,
                                                          const size_t *level_end, int levels,
                                                          koi_many *m) {
    return many_body(boxes, level_end, levels, m, 1);
}
#endif

int koi_rtree_search_many_flat(const float *boxes, const size_t *level_end, int levels,
                               const double *qbox, size_t nb, koi_many *m) {
    m->ncur = m->nnext = m->nout = 0;
    if (levels < 1 || level_end[0] == 0 || nb > UINT32_MAX) return 1;
    uint32_t root = (uint32_t)(level_end[levels - 1] - 1);
    if (nb > m->cap_q) { /* the boxes rounded outward to float once, not at every node */
        float *q = koi_realloc_array(m->q, nb, 4 * sizeof *q);
        if (!q) return 0;
        m->q = q, m->cap_q = nb;
    }
    for (size_t k = 0; k < nb; k++) {
        const double *b = qbox + 4 * k;
        float *q = m->q + 4 * k;
        q[0] = down(b[0]), q[1] = down(b[1]), q[2] = up(b[2]), q[3] = up(b[3]);
        if (b[0] <= b[2] && b[1] <= b[3] &&
            !push(&m->cur, &m->ncur, &m->cap_cur, (uint32_t)k, root))
            return 0;
    }
#ifdef KOI_AVX2
    if (wide_nodes()) return many_avx2(boxes, level_end, levels, m);
#endif
    return many_body(boxes, level_end, levels, m, 0);
}

void koi_many_free(koi_many *m) {
    if (!m) return;
    free(m->cur), free(m->next), free(m->out), free(m->q);
    memset(m, 0, sizeof *m);
}

const float *koi_rtree_boxes(const koi_rtree *t, size_t *total) {
    *total = t->total;
    return t->boxes;
}

void koi_rtree_renumber(koi_rtree *t, uint32_t *perm) {
    for (size_t pos = 0; pos < t->n; pos++) {
        perm[pos] = t->index[pos];
        t->index[pos] = (uint32_t)pos;
    }
    t->identity = 1;
}

size_t koi_rtree_bytes(const koi_rtree *t) {
    return t ? sizeof *t + t->total * (4 * sizeof(float) + sizeof(uint32_t)) : 0;
}

void koi_rtree_free(koi_rtree *t) {
    if (!t) return;
    free(t->boxes);
    free(t->index);
    free(t);
}
