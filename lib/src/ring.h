/* Private: closed planar rings (the first point repeated last, n points with the repeat),
 * counterclockwise in a right-handed frame unless stated: the footprint's local (east, north)
 * ring and the lens boundary in normalized image coordinates. Every operation here only adds
 * area, so a ring that holds some ground still holds it afterwards. */
#ifndef KEEPOUT_RING_H
#define KEEPOUT_RING_H

#include <stddef.h>

#include "context.h"

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

#endif
