/* Sites across the antimeridian: one shape with continuous longitudes for metric work (the
 * buffer), then cut at +-180 and stored within [-180, 180] as the query expects. */
#include <math.h>
#include <stdlib.h>

#include "core/core.h"
#include "sites/sites.h"

/* x moved by a multiple of 360 to lie within 180 of ref (an exact multiple: equal inputs give
 * equal outputs, so closed rings stay closed). */
static double near(double x, double ref) {
    return x + 360.0 * round((ref - x) / 360.0);
}

/* A copy of the sequence with longitudes continuous along it, its first within 180 of *ref
 * (set from it if *have is 0). NULL on failure. */
static GEOSCoordSequence *unwrap_seq(GEOSContextHandle_t h, const GEOSCoordSequence *cs,
                                     double *ref, int *have) {
    unsigned n = 0;
    if (!GEOSCoordSeq_getSize_r(h, cs, &n)) return NULL;
    double *xy = koi_calloc(n ? n : 1, 2 * sizeof *xy);
    GEOSCoordSequence *out = NULL;
    if (xy && (!n || GEOSCoordSeq_copyToBuffer_r(h, cs, xy, 0, 0))) {
        for (unsigned i = 0; i < n; i++) {
            if (i)
                xy[2 * i] = near(xy[2 * i], xy[2 * i - 2]);
            else if (*have)
                xy[0] = near(xy[0], *ref);
            else
                *ref = xy[0], *have = 1;
        }
        out = GEOSCoordSeq_copyFromBuffer_r(h, xy, n, 0, 0);
    }
    free(xy);
    return out;
}

static GEOSGeometry *unwrap_ring(GEOSContextHandle_t h, const GEOSGeometry *r, double *ref,
                                 int *have) {
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, r);
    GEOSCoordSequence *u = cs ? unwrap_seq(h, cs, ref, have) : NULL;
    /* (GEOS owns the sequence even when it refuses it: a ring no longer closed, i.e. one that
     * winds round a pole) */
    return u ? GEOSGeom_createLinearRing_r(h, u) : NULL;
}

static GEOSGeometry *unwrap(GEOSContextHandle_t h, const GEOSGeometry *g, double *ref, int *have);

static GEOSGeometry *unwrap_polygon(GEOSContextHandle_t h, const GEOSGeometry *g, double *ref,
                                    int *have) {
    int nh = GEOSGetNumInteriorRings_r(h, g);
    if (nh < 0) return NULL;
    GEOSGeometry *shell = unwrap_ring(h, GEOSGetExteriorRing_r(h, g), ref, have);
    GEOSGeometry **holes = koi_calloc(nh ? (size_t)nh : 1, sizeof *holes);
    int ok = shell && holes;
    for (int i = 0; ok && i < nh; i++)
        ok = (holes[i] = unwrap_ring(h, GEOSGetInteriorRingN_r(h, g, i), ref, have)) != NULL;
    /* (once called, GEOS owns the rings, also when it fails) */
    GEOSGeometry *p = ok ? GEOSGeom_createPolygon_r(h, shell, holes, (unsigned)nh) : NULL;
    if (!ok) {
        if (shell) GEOSGeom_destroy_r(h, shell);
        for (int i = 0; holes && i < nh; i++)
            if (holes[i]) GEOSGeom_destroy_r(h, holes[i]);
    }
    free(holes);
    return p;
}

static GEOSGeometry *unwrap_collection(GEOSContextHandle_t h, const GEOSGeometry *g, int type,
                                       double *ref, int *have) {
    int n = GEOSGetNumGeometries_r(h, g);
    if (n < 0) return NULL;
    GEOSGeometry **parts = koi_calloc(n ? (size_t)n : 1, sizeof *parts);
    int ok = parts != NULL;
    for (int i = 0; ok && i < n; i++)
        ok = (parts[i] = unwrap(h, GEOSGetGeometryN_r(h, g, i), ref, have)) != NULL;
    GEOSGeometry *c = ok ? GEOSGeom_createCollection_r(h, type, parts, (unsigned)n) : NULL;
    if (!ok)
        for (int i = 0; parts && i < n; i++)
            if (parts[i]) GEOSGeom_destroy_r(h, parts[i]);
    free(parts);
    return c;
}

static GEOSGeometry *unwrap(GEOSContextHandle_t h, const GEOSGeometry *g, double *ref, int *have) {
    int type = GEOSGeomTypeId_r(h, g);
    switch (type) {
        case GEOS_POINT:
        case GEOS_LINESTRING: {
            const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, g);
            GEOSCoordSequence *u = cs ? unwrap_seq(h, cs, ref, have) : NULL;
            GEOSGeometry *r = !u                   ? NULL
                              : type == GEOS_POINT ? GEOSGeom_createPoint_r(h, u)
                                                   : GEOSGeom_createLineString_r(h, u);
            return r; /* (GEOS owns u, also when it fails) */
        }
        case GEOS_LINEARRING:
            return unwrap_ring(h, g, ref, have);
        case GEOS_POLYGON:
            return unwrap_polygon(h, g, ref, have);
        case GEOS_MULTIPOINT:
        case GEOS_MULTILINESTRING:
        case GEOS_MULTIPOLYGON:
        case GEOS_GEOMETRYCOLLECTION:
            return unwrap_collection(h, g, type, ref, have);
        default:
            return NULL;
    }
}

ko_status koi_geom_unwrap(ko_context *ctx, const GEOSGeometry *g, GEOSGeometry **out) {
    GEOSContextHandle_t h = ctx->geos;
    double ref = 0;
    int have = 0;
    GEOSGeometry *u = GEOSisEmpty_r(h, g) == 1 ? GEOSGeom_clone_r(h, g) : unwrap(h, g, &ref, &have);
    if (!u)
        return koi_error(ctx, KO_ERR_GEOS, "GEOS: cannot unwrap longitudes (%s)", ctx->geos_msg);
    /* RFC 7946 halves now touch along the line: one polygon again (not a repair) */
    if (GEOSGeomTypeId_r(h, u) == GEOS_MULTIPOLYGON && GEOSisValid_r(h, u) != 1) {
        GEOSGeometry *one = GEOSUnaryUnion_r(h, u);
        if (one && GEOSisValid_r(h, one) == 1) {
            GEOSGeom_destroy_r(h, u);
            u = one;
        } else if (one) {
            GEOSGeom_destroy_r(h, one);
        }
    }
    *out = u;
    return KO_OK;
}

static int shift_x(double *x, double *y, void *user) {
    (void)y;
    *x += *(const double *)user;
    return 1;
}

static ko_status cut(ko_context *ctx, const GEOSGeometry *g, GEOSGeometry **out);

ko_status koi_geom_wrap(ko_context *ctx, const GEOSGeometry *g, GEOSGeometry **out) {
    /* (PROJ hands longitudes back within [-180, 180]: a buffer made across the line comes back
     * as a ring that jumps, and is unwrapped first) */
    GEOSGeometry *u = NULL;
    ko_status st = koi_geom_unwrap(ctx, g, &u);
    if (!st) st = cut(ctx, u, out);
    if (u) GEOSGeom_destroy_r(ctx->geos, u);
    return st;
}

static ko_status cut(ko_context *ctx, const GEOSGeometry *g, GEOSGeometry **out) {
    GEOSContextHandle_t h = ctx->geos;
    double x0, x1;
    if (GEOSisEmpty_r(h, g) == 1 || !GEOSGeom_getXMin_r(h, g, &x0) ||
        !GEOSGeom_getXMax_r(h, g, &x1) || (x0 >= -180.0 && x1 <= 180.0)) {
        GEOSGeometry *c = GEOSGeom_clone_r(h, g);
        if (!c) return koi_error(ctx, KO_ERR_GEOS, "GEOS: %s", ctx->geos_msg);
        *out = c;
        return KO_OK;
    }
    if (x0 < -540.0 || x1 > 540.0)
        return koi_error(ctx, KO_ERR_ARG, "longitudes %.10g .. %.10g span more than the globe", x0,
                         x1);
    GEOSGeometry *parts[3] = {NULL, NULL, NULL};
    int np = 0;
    ko_status st = KO_OK;
    for (int k = -1; !st && k <= 1; k++) {
        double lo = -180.0 + 360.0 * k, hi = 180.0 + 360.0 * k, back = -360.0 * k;
        if (x1 <= lo || x0 >= hi) continue;
        GEOSGeometry *box = GEOSGeom_createRectangle_r(h, lo, -90.0, hi, 90.0);
        GEOSGeometry *piece = box ? GEOSIntersection_r(h, g, box) : NULL;
        GEOSGeometry *moved = piece ? GEOSGeom_transformXY_r(h, piece, shift_x, &back) : NULL;
        if (box) GEOSGeom_destroy_r(h, box);
        if (piece) GEOSGeom_destroy_r(h, piece);
        if (!moved)
            st = koi_error(ctx, KO_ERR_GEOS, "GEOS: cannot cut at the antimeridian (%s)",
                           ctx->geos_msg);
        else if (GEOSisEmpty_r(h, moved) == 1)
            GEOSGeom_destroy_r(h, moved);
        else
            parts[np++] = moved;
    }
    GEOSGeometry *all =
        !st ? GEOSGeom_createCollection_r(h, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)np) : NULL;
    GEOSGeometry *u = all ? GEOSUnaryUnion_r(h, all) : NULL;
    if (all) GEOSGeom_destroy_r(h, all);
    for (int i = 0; st && i < np; i++) /* not handed to GEOS */
        GEOSGeom_destroy_r(h, parts[i]);
    if (!st && !u)
        st =
            koi_error(ctx, KO_ERR_GEOS, "GEOS: cannot cut at the antimeridian (%s)", ctx->geos_msg);
    if (!st) *out = u;
    return st;
}
