/* Private: geodesy of the local frame, planar rings and metric geometry on WGS84. */
#ifndef KEEPOUT_GEO_GEO_H
#define KEEPOUT_GEO_GEO_H

#include <geodesic.h>
#include <geos_c.h>
#include <stddef.h>

#include "core/core.h"

/* The planar predicates shared by the exact test (query.c, degrees) and the overlap
 * walk (overlap.c, local metres). Inline: they sit in the innermost loops of both. */
/* Side of point (px, py) relative to the line a->b: > 0 left, < 0 right (twice the signed
 * area of the triangle). */
static inline double koi_side(double ax, double ay, double bx, double by, double px, double py) {
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}

/* 1 if (px, py) lies inside the closed ring r of n points (even-odd rule). */
static inline int koi_in_ring(const double *r, size_t n, double px, double py) {
    int in = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double ax = r[2 * i], ay = r[2 * i + 1], bx = r[2 * i + 2], by = r[2 * i + 3];
        if ((ay > py) != (by > py) && px < ax + (py - ay) * (bx - ax) / (by - ay)) in = !in;
    }
    return in;
}

/* Segments p = (p0, p1) and q = (q0, q1), four doubles each: 1 if they properly cross (*t: the
 * crossing's parameter along p), -1 if an endpoint comes within eps of the other's line inside
 * their boxes widened by eps (not provably apart), 0 if apart. */
static inline int koi_seg_relation(const double *p, const double *q, double eps, double *t) {
    double ax = p[0], ay = p[1], bx = p[2], by = p[3], cx = q[0], cy = q[1], dx = q[2], dy = q[3];
    double x0 = (ax < bx ? ax : bx) - eps, x1 = (ax < bx ? bx : ax) + eps;
    double y0 = (ay < by ? ay : by) - eps, y1 = (ay < by ? by : ay) + eps;
    if ((cx < x0 && dx < x0) || (cx > x1 && dx > x1) || (cy < y0 && dy < y0) ||
        (cy > y1 && dy > y1))
        return 0;
    /* |o| <= |edge| eps, squared: no square roots per pair */
    double la2 = ((bx - ax) * (bx - ax) + (by - ay) * (by - ay)) * (eps * eps);
    double lb2 = ((dx - cx) * (dx - cx) + (dy - cy) * (dy - cy)) * (eps * eps);
    double o1 = koi_side(ax, ay, bx, by, cx, cy), o2 = koi_side(ax, ay, bx, by, dx, dy);
    double o3 = koi_side(cx, cy, dx, dy, ax, ay), o4 = koi_side(cx, cy, dx, dy, bx, by);
    if (o1 * o1 <= la2 || o2 * o2 <= la2 || o3 * o3 <= lb2 || o4 * o4 <= lb2) return -1;
    if ((o1 > 0) == (o2 > 0) || (o3 > 0) == (o4 > 0)) return 0;
    *t = o3 / (o3 - o4);
    return 1;
}

/* Closed planar rings (the first point repeated last, n points with the repeat),
 * counterclockwise in a right-handed frame unless stated: the footprint's local (east, north)
 * ring and the lens boundary in normalized image coordinates. Every operation here only adds
 * area, so a ring that holds some ground still holds it afterwards. */
double koi_ring_signed_area(const double *xy, size_t n);

/* The distance from (x, y) to the ring's boundary; *inside := whether it lies inside
 * (even-odd). */
double koi_ring_distance(const double *xy, size_t n, double x, double y, int *inside);
void koi_ring_reverse(double *xy, size_t n);

/* Every edge i (vertex i to i + 1) of the ring moved d[i] >= 0 outward, into out (room for
 * 2n - 1 points): each vertex moves along its mitre by the larger of its two edges' distances
 * (a convex corner sharper than 120 degrees is bevelled: two points), so every moved edge lies
 * at least its own distance outside the old one. Returns the points written, closed; 0 (out
 * unspecified) where the ring would fold: a sharp reflex corner, or an edge reversed;
 * SIZE_MAX out of memory. */
size_t koi_ring_push(const double *xy, size_t n, const double *d, double *out);

/* The ring with as few vertices as tol allows while holding every input point: a dropped point
 * lies at most tol from the chord that replaces it, and each chord is pushed out by the
 * farthest of its dropped points outside it (its own sagitta, not the ring's worst). Returns
 * the new point count (*xy may be replaced: owned by the caller, allocated with koi_*); on a
 * fold or out of memory, only the points within 1 mm of a chord are dropped, unmoved. */
size_t koi_ring_simplify(double **xy, size_t n, double tol);

/* The local ring (around lat0, lon0) in WGS84 (lon, lat), *ll (owned by the caller), *n_ll
 * points. GEOS and the site store take edges as straight in longitude/latitude, and such a
 * chord sags off the ground's straight edge (L^2 tan(lat) / 8R: 0.8 mm for 200 m at 45 deg,
 * 4 cm near the pole): edges are split where the sag exceeds cap metres and each is pushed out
 * by its own sag, so the lon/lat ring holds the local one. Longitudes stay continuous around
 * lon0 (beyond +-180 where the ring crosses the antimeridian). */
ko_status koi_ring_to_wgs84(ko_context *ctx, double lat0, double lon0, const double *local,
                            size_t n, double cap, double **ll, size_t *n_ll);

/* The local azimuthal-equidistant frame centred on (lat0, lon0): east/north metres <-> WGS84
 * degrees. The ellipsoidal aeqd is exactly PROJ's geodesic direct/inverse problem from the
 * centre, so these call geod_direct/geod_inverse instead of building a PJ for every centre. */
void koi_local_to_wgs84(const ko_context *ctx, double lat0, double lon0, double east, double north,
                        double *lat, double *lon);

/* The same frame set up once for many points (a footprint's ring). Within KOI_AEQD_SERIES_M of
 * the centre and at |lat0| <= 70 deg a second-order series is used: its worst error against
 * geod_direct is 0.54 mm at 2 km and 70 deg (3 um at 1 km, 45 deg; check_context measures it);
 * beyond, the exact geodesic. */
#define KOI_AEQD_SERIES_M 2000.0
typedef struct koi_aeqd {
    const ko_context *ctx;
    double lat0, lon0;
    int series;                             /* the centre allows the series */
    double inv_m, inv_nc, t_mn, q_n2, c_en; /* series coefficients at the centre */
} koi_aeqd;
void koi_aeqd_init(koi_aeqd *f, const ko_context *ctx, double lat0, double lon0);

/* WGS84: the radii of curvature at latitude lat_deg, metres: *m_rad along the meridian, *n_rad
 * in the prime vertical (a parallel's radius is n_rad cos(lat)). The one place the library
 * turns degrees into metres locally (queries, GSD, the local frame's series). */
static inline void koi_wgs84_radii(double lat_deg, double *m_rad, double *n_rad) {
    const double a = 6378137.0, e2 = 0.0066943799901413165;
    double s = sin(lat_deg * (3.14159265358979323846 / 180.0)), w2 = 1 - e2 * s * s;
    double w = sqrt(w2);
    *n_rad = a / w;
    *m_rad = a * (1 - e2) / (w2 * w);
}
void koi_aeqd_to_wgs84(const koi_aeqd *f, double east, double north, double *lat, double *lon);
/* How far (east, north metres) the frame's true midpoint of the straight local edge
 * (e0, n0)-(e1, n1) lies from the midpoint of the straight lon/lat chord between its ends.
 * Within the series it is exact for the series (which is quadratic: -1/4 of its quadratic
 * part on the edge's run); beyond, from three points. Returns the degrees of longitude the
 * edge runs through (near a pole far more than between its ends: it may go round). */
double koi_aeqd_sag(const koi_aeqd *f, double e0, double n0, double e1, double n1, double *de,
                    double *dn);
void koi_wgs84_to_local(const ko_context *ctx, double lat0, double lon0, double lat, double lon,
                        double *east, double *north);

/* Buffers g (WGS84 lon/lat) by buffer_m metres in a local azimuthal equidistant frame centred
 * on g's envelope, through PROJ. *out owned by the caller (a GEOS geometry of ctx->geos). */
ko_status koi_buffer_metric(ko_context *ctx, const GEOSGeometry *g, double buffer_m,
                            GEOSGeometry **out);

/* Sites across the antimeridian (antimeridian.c). koi_geom_unwrap: g with longitudes
 * continuous along each ring or line and each part moved by a multiple of 360 next to the
 * first, so that RFC 7946 halves, a ring jumping from +179.9 to -179.9 and one given past
 * +-180 all become one shape (past +-180) for metric work. koi_geom_wrap: g cut at +-180 and
 * moved within [-180, 180] (a multipolygon where it crosses). *out owned by the caller. */
ko_status koi_geom_unwrap(ko_context *ctx, const GEOSGeometry *g, GEOSGeometry **out);
ko_status koi_geom_wrap(ko_context *ctx, const GEOSGeometry *g, GEOSGeometry **out);

/* Polygons of rings in a plane (local metres), for the footprint's and the check's joins.
 * koi_geos_polygon: the polygon of the closed ring xy (n points); NULL on failure.
 * koi_geos_one_polygon: g (taken) if it is one polygon, else its convex hull (a join or a cut
 * that falls apart into pieces that only touch: the hull only adds ground); NULL if neither.
 * koi_geos_shell: *xy := the exterior ring of polygon g as a new buffer of *n (x, y) pairs
 * (closed, at least 4): KO_OK, KO_ERR_NOMEM, or KO_ERR_GEOS for no such ring (no message
 * set: the caller names what it was doing). Results owned by the caller. */
GEOSGeometry *koi_geos_polygon(GEOSContextHandle_t h, const double *xy, size_t n);
GEOSGeometry *koi_geos_one_polygon(GEOSContextHandle_t h, GEOSGeometry *g);
ko_status koi_geos_shell(GEOSContextHandle_t h, const GEOSGeometry *g, double **xy, size_t *n);

/* Area of g (WGS84) in square metres, in the same local frame. */
ko_status koi_area_m2(ko_context *ctx, const GEOSGeometry *g, double *area_m2);

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

#endif
