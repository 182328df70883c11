/* Closed planar rings: area, simplification and outward moves that only ever add ground, and
 * the step to longitude/latitude that keeps it so (see ring.h). */
#include "geo/geo.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

double koi_ring_signed_area(const double *xy, size_t n) {
    double a = 0.0;
    for (size_t i = 0; i + 1 < n; i++)
        a += xy[2 * i] * xy[2 * i + 3] - xy[2 * i + 2] * xy[2 * i + 1];
    return a / 2.0;
}

double koi_ring_distance(const double *xy, size_t n, double x, double y, int *inside) {
    double best = INFINITY;
    *inside = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        const double *a = &xy[2 * i], *b = &xy[2 * i + 2];
        double dx = b[0] - a[0], dy = b[1] - a[1], l2 = dx * dx + dy * dy;
        double t = l2 > 0 ? ((x - a[0]) * dx + (y - a[1]) * dy) / l2 : 0.0;
        t = fmax(0.0, fmin(1.0, t));
        best = fmin(best, hypot(x - a[0] - t * dx, y - a[1] - t * dy));
        if ((a[1] > y) != (b[1] > y) && x < a[0] + (y - a[1]) / (b[1] - a[1]) * dx)
            *inside = !*inside;
    }
    return best;
}

void koi_ring_reverse(double *xy, size_t n) {
    for (size_t i = 0, j = n - 1; i < j; i++, j--) {
        double tx = xy[2 * i], ty = xy[2 * i + 1];
        xy[2 * i] = xy[2 * j];
        xy[2 * i + 1] = xy[2 * j + 1];
        xy[2 * j] = tx;
        xy[2 * j + 1] = ty;
    }
}

/* Whether the points strictly between a and j all lie within tol (tol2 = tol^2) of the chord
 * a-j; *out := how far the farthest lies outside it (right of a -> j: outside a
 * counterclockwise ring). One square root per chord: this runs ~8 times per point. */
static int chord_fits(const double *xy, size_t a, size_t j, double tol2, double *out) {
    const double *pa = &xy[2 * a];
    double dx = xy[2 * j] - pa[0], dy = xy[2 * j + 1] - pa[1], l2 = dx * dx + dy * dy;
    double worst = 0.0;
    for (size_t i = a + 1; i < j; i++) {
        double px = xy[2 * i] - pa[0], py = xy[2 * i + 1] - pa[1];
        double dot = px * dx + py * dy, cross = px * dy - py * dx, d2;
        if (dot <= 0 || !(l2 > 0))
            d2 = px * px + py * py;
        else if (dot >= l2)
            d2 = (px - dx) * (px - dx) + (py - dy) * (py - dy);
        else
            d2 = cross * cross / l2;
        if (d2 > tol2) return 0;
        if (cross > worst) worst = cross;
    }
    *out = l2 > 0 ? worst / sqrt(l2) : 0.0;
    return 1;
}

/* Keeps the points a chord cannot replace within tol (each kept chord is checked against all
 * the points it replaces, so small deviations cannot add up), in place; dev[i] := how far the
 * farthest point replaced by kept edge i lies outside it. Returns the new point count. Each
 * chord is found by galloping (spans 2, 4, 8, ... then bisection): a straight image edge of
 * s samples costs O(s log s) point tests instead of the O(s^2) of trying every span. */
static size_t drop_within(double *xy, size_t n, double tol, double *dev) {
    if (n < 5) {
        for (size_t i = 0; i + 1 < n; i++)
            dev[i] = 0.0;
        return n;
    }
    size_t k = 0, a = 0; /* a: index (in the original ring) of the last kept point */
    double tol2 = tol * tol, o;
    while (a < n - 1) {
        size_t good = a + 1, bad = n, step = 2; /* a -> good fits; a -> bad does not */
        double good_out = 0.0;
        for (;;) {
            size_t j = a + step < n - 1 ? a + step : n - 1;
            if (j <= good) break;
            if (!chord_fits(xy, a, j, tol2, &o)) {
                bad = j;
                break;
            }
            good = j, good_out = o, step *= 2;
        }
        while (bad < n && bad - good > 1) {
            size_t mid = good + (bad - good) / 2;
            if (chord_fits(xy, a, mid, tol2, &o))
                good = mid, good_out = o;
            else
                bad = mid;
        }
        dev[k++] = good_out;
        xy[2 * k] = xy[2 * good];
        xy[2 * k + 1] = xy[2 * good + 1];
        a = good;
    }
    return k + 1;
}

size_t koi_ring_push(const double *xy, size_t n, const double *d, double *out) {
    size_t m = n - 1, k = 0;                          /* distinct vertices; points written */
    size_t *first = koi_calloc(m + 1, sizeof *first); /* each vertex's first point in out */
    if (!first) return SIZE_MAX;
    for (size_t i = 0; i < m; i++) {
        size_t ip = (i + m - 1) % m;
        const double *p = &xy[2 * ip], *v = &xy[2 * i], *q = &xy[2 * (i + 1)];
        double dv = fmax(d[ip], d[i]);
        first[i] = k;
        if (!(dv > 0)) {
            out[2 * k] = v[0], out[2 * k + 1] = v[1], k++;
            continue;
        }
        double ax = v[0] - p[0], ay = v[1] - p[1], bx = q[0] - v[0], by = q[1] - v[1];
        double la = hypot(ax, ay), lb = hypot(bx, by);
        if (!(la > 0) || !(lb > 0)) goto fold;
        double n1x = ay / la, n1y = -ax / la, n2x = by / lb, n2y = -bx / lb;
        double den = 1.0 + n1x * n2x + n1y * n2y;
        if (den >= 0.5) { /* a turn under 120 degrees: the mitre, at most 2 dv out */
            out[2 * k] = v[0] + dv * (n1x + n2x) / den;
            out[2 * k + 1] = v[1] + dv * (n1y + n2y) / den, k++;
        } else if (ax * by - ay * bx > 0) { /* a sharp convex corner: bevelled */
            out[2 * k] = v[0] + dv * n1x, out[2 * k + 1] = v[1] + dv * n1y, k++;
            out[2 * k] = v[0] + dv * n2x, out[2 * k + 1] = v[1] + dv * n2y, k++;
        } else { /* a sharp reflex corner: the moved edges would cross far back */
            goto fold;
        }
    }
    first[m] = k;
    out[2 * k] = out[0], out[2 * k + 1] = out[1];
    for (size_t i = 0; i < m; i++) { /* every moved edge keeps its direction */
        const double *a = &xy[2 * i], *b = &xy[2 * i + 2];
        /* from vertex i's last point to vertex i + 1's first (out[k] is out[0] again) */
        const double *c = &out[2 * (first[i + 1] - 1)], *e = &out[2 * first[i + 1]];
        if ((b[0] - a[0]) * (e[0] - c[0]) + (b[1] - a[1]) * (e[1] - c[1]) <= 0) goto fold;
    }
    free(first);
    return k + 1;
fold:
    free(first);
    return 0;
}

/* Deviations under a micrometre are rounding, not shape: a pinhole camera's straight edges
 * keep their exact corners. */
#define KOI_RING_NOISE 1e-6

size_t koi_ring_simplify(double **ring, size_t n, double tol) {
    double *xy = *ring;
    if (isnan(tol)) tol = 1e-3; /* no pixel size: a millimetre */
    if (!(tol > KOI_RING_NOISE)) tol = KOI_RING_NOISE;
    double *dense = koi_calloc(n, 2 * sizeof *dense), *dev = koi_calloc(n, sizeof *dev);
    double *moved = koi_calloc(2 * n, 2 * sizeof *moved);
    size_t m = n, k;
    if (dense && dev && moved) {
        memcpy(dense, xy, n * 2 * sizeof *dense);
        m = drop_within(xy, n, tol, dev);
        int any = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            if (!(dev[i] > KOI_RING_NOISE)) dev[i] = 0.0;
            any |= dev[i] > 0;
        }
        if (!any) goto done;
        if ((k = koi_ring_push(xy, m, dev, moved)) && k != SIZE_MAX) {
            free(xy);
            *ring = moved, moved = NULL;
            m = k;
            goto done;
        }
        memcpy(xy, dense, n * 2 * sizeof *dense); /* folded: as below */
    }
    /* Out of memory or folded: only points on a straight line go (within a micrometre). */
    m = dev ? drop_within(xy, n, KOI_RING_NOISE, dev) : n;
done:
    free(dense);
    free(dev);
    free(moved);
    return m;
}

/* A growing list of points and the outward move each edge from the last point needs. */
typedef struct sagged {
    double *xy, *push;
    size_t n, cap;
    int any; /* some edge needs a move */
} sagged;

static int sagged_add(sagged *s, double x, double y, double push) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        double *xy = koi_realloc_array(s->xy, cap, 2 * sizeof *xy);
        if (!xy) return 0;
        s->xy = xy;
        double *p = koi_realloc_array(s->push, cap, sizeof *p);
        if (!p) return 0;
        s->push = p, s->cap = cap;
    }
    s->xy[2 * s->n] = x, s->xy[2 * s->n + 1] = y, s->push[s->n] = push;
    s->n++;
    s->any |= push > 0;
    return 1;
}

#define KOI_SAG_DEPTH 24

/* The edge a -> b: split in halves while its lon/lat chord sags more than cap inside it, then
 * added (a's point, with the move the edge needs). */
static int split_edge(const koi_aeqd *f, sagged *s, const double *a, const double *b, double cap,
                      int depth) {
    double dx = b[0] - a[0], dy = b[1] - a[1], l2 = dx * dx + dy * dy, de, dn;
    double run = koi_aeqd_sag(f, a[0], a[1], b[0], b[1], &de, &dn);
    /* the ground edge's midpoint outside the lon/lat chord's by this (right of a -> b) */
    double cross = de * dy - dn * dx, sag = cross > 0 && l2 > 0 ? cross / sqrt(l2) : 0.0;
    /* Near a pole an edge also runs through many degrees of longitude, and a midpoint sag
     * cannot see an edge that goes round the pole the other way than its chord: such edges
     * are split until each piece spans a degree. */
    if ((sag > cap || run > 1.0) && depth < KOI_SAG_DEPTH) {
        const double mid[2] = {0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])};
        return split_edge(f, s, a, mid, cap, depth + 1) && split_edge(f, s, mid, b, cap, depth + 1);
    }
    /* A moved edge sags as it did (its length is the same to a part in 10^6): 5 % more. */
    return sagged_add(s, a[0], a[1], sag > KOI_RING_NOISE * 1e-3 ? 1.05 * sag : 0.0);
}

/* koi_ring_to_wgs84 with the chords pushed out by their sag (push 1) or not (0). */
static ko_status to_wgs84(ko_context *ctx, double lat0, double lon0, const double *local, size_t n,
                          double cap, int push, double **ll, size_t *n_ll) {
    koi_aeqd f;
    koi_aeqd_init(&f, ctx, lat0, lon0);
    sagged s = {0};
    int ok = 1;
    for (size_t i = 0; ok && i + 1 < n; i++)
        ok = split_edge(&f, &s, &local[2 * i], &local[2 * i + 2], cap, 0);
    ok = ok && sagged_add(&s, local[2 * (n - 1)], local[2 * n - 1], 0.0);
    s.any &= push;
    double *moved = ok && s.any ? koi_calloc(2 * s.n, 2 * sizeof *moved) : NULL;
    size_t k = moved ? koi_ring_push(s.xy, s.n, s.push, moved) : 0;
    if (!ok || (s.any && !moved) || k == SIZE_MAX) {
        free(s.xy), free(s.push), free(moved);
        return koi_error(ctx, KO_ERR_NOMEM, "footprint: out of memory");
    }
    if (s.any && !k) {
        /* A fold (a sharp reflex corner at a moved vertex): split until every chord sags
         * under a micrometre instead, unmoved. */
        free(s.xy), free(s.push), free(moved);
        return to_wgs84(ctx, lat0, lon0, local, n, KOI_RING_NOISE, 0, ll, n_ll);
    }
    if (k) {
        free(s.xy);
        s.xy = moved, moved = NULL, s.n = k;
    }
    /* Continuous along the ring, from the camera's longitude on: past +-180 where it crosses
     * the antimeridian, and beyond lon0 +- 180 where it curls round a pole it does not hold
     * (the pole's side of the query refuses rings that hold one). */
    double prev = lon0;
    for (size_t i = 0; i < s.n; i++) {
        double lat, lon;
        koi_aeqd_to_wgs84(&f, s.xy[2 * i], s.xy[2 * i + 1], &lat, &lon);
        double d = lon - prev;
        prev += d > 180.0 ? d - 360.0 : d < -180.0 ? d + 360.0 : d;
        s.xy[2 * i] = prev;
        s.xy[2 * i + 1] = lat;
    }
    s.xy[2 * (s.n - 1)] = s.xy[0], s.xy[2 * s.n - 1] = s.xy[1]; /* closed, exactly */
    free(s.push);
    *ll = s.xy;
    *n_ll = s.n;
    return KO_OK;
}

ko_status koi_ring_to_wgs84(ko_context *ctx, double lat0, double lon0, const double *local,
                            size_t n, double cap, double **ll, size_t *n_ll) {
    return to_wgs84(ctx, lat0, lon0, local, n, cap, 1, ll, n_ll);
}
