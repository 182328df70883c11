/* Private: the planar predicates shared by the exact test (query.c, degrees) and the overlap
 * walk (overlap.c, local metres). Inline: they sit in the innermost loops of both. */
#ifndef KEEPOUT_SEGMENTS_H
#define KEEPOUT_SEGMENTS_H

#include <stddef.h>

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

#endif
