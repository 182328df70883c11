/* Metric operations on WGS84 geometries through a local azimuthal equidistant frame. */
#include <geodesic.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>

#include "core/core.h"
#include "sites/sites.h"

/* The local azimuthal equidistant frame centred on a geometry's envelope: a point's geodesic
 * distance and azimuth from the centre as east/north metres, and back, by PROJ's geodesic
 * solver directly. It is what PROJ's ellipsoidal aeqd computes, without a PJ object parsed from
 * a pipeline string for every site: that was 13 % of an import, more with its malloc and
 * strcmp (perf, 3 x 10^5 sites). */
typedef struct xform {
    const ko_context *ctx;
    double lat0, lon0;
    int inverse, failed;
} xform;

static int transform_xy(double *x, double *y, void *user) {
    xform *t = user;
    double a, b;
    if (t->inverse) {
        koi_local_to_wgs84(t->ctx, t->lat0, t->lon0, *x, *y, &b, &a);
    } else {
        double s12 = NAN, azi1 = NAN;
        geod_inverse(koi_ctx_geod(t->ctx), t->lat0, t->lon0, *y, *x, &s12, &azi1, NULL);
        a = s12 * sin(azi1 * (3.14159265358979323846 / 180));
        b = s12 * cos(azi1 * (3.14159265358979323846 / 180));
    }
    if (!isfinite(a) || !isfinite(b) || (!t->inverse && fabs(*y) > 90)) {
        t->failed = 1;
        return 0;
    }
    *x = a;
    *y = b;
    return 1;
}

/* The frame centred on g's envelope (forward: degrees in, metres out). */
static ko_status local_frame(ko_context *ctx, const GEOSGeometry *g, xform *f) {
    double minx, miny, maxx, maxy;
    if (!GEOSGeom_getXMin_r(ctx->geos, g, &minx) || !GEOSGeom_getYMin_r(ctx->geos, g, &miny) ||
        !GEOSGeom_getXMax_r(ctx->geos, g, &maxx) || !GEOSGeom_getYMax_r(ctx->geos, g, &maxy))
        return koi_error(ctx, KO_ERR_GEOS, "GEOS: no envelope (%s)", ctx->geos_msg);
    *f = (xform){ctx, (miny + maxy) / 2, (minx + maxx) / 2, 0, 0};
    if (!isfinite(f->lat0) || !isfinite(f->lon0) || fabs(f->lat0) > 90)
        return koi_error(ctx, KO_ERR_PROJ, "PROJ: no local frame at lat %g, lon %g", f->lat0,
                         f->lon0);
    return koi_ctx_geod(ctx) ? KO_OK : KO_ERR_NOMEM;
}

static ko_status apply(ko_context *ctx, xform *f, int inverse, const GEOSGeometry *g,
                       GEOSGeometry **out) {
    f->inverse = inverse, f->failed = 0;
    GEOSGeometry *r = GEOSGeom_transformXY_r(ctx->geos, g, transform_xy, f);
    if (!r || f->failed) {
        if (r) GEOSGeom_destroy_r(ctx->geos, r);
        return koi_error(ctx, KO_ERR_PROJ, "PROJ: coordinates outside the local frame");
    }
    *out = r;
    return KO_OK;
}

ko_status koi_buffer_metric(ko_context *ctx, const GEOSGeometry *g, double buffer_m,
                            GEOSGeometry **out) {
    if (!(buffer_m >= 0) || !isfinite(buffer_m))
        return koi_error(ctx, KO_ERR_ARG, "buffer %g m is not a distance", buffer_m);
    if (buffer_m == 0) {
        GEOSGeometry *c = GEOSGeom_clone_r(ctx->geos, g);
        if (!c) return koi_error(ctx, KO_ERR_GEOS, "GEOS: %s", ctx->geos_msg);
        *out = c;
        return KO_OK;
    }
    xform f;
    ko_status st = local_frame(ctx, g, &f);
    if (st) return st;
    GEOSGeometry *local = NULL, *buf = NULL, *back = NULL;
    if ((st = apply(ctx, &f, 0, g, &local))) goto done;
    buf = GEOSBuffer_r(ctx->geos, local, buffer_m, 8);
    if (!buf) {
        st = koi_error(ctx, KO_ERR_GEOS, "GEOS: buffer failed (%s)", ctx->geos_msg);
        goto done;
    }
    if ((st = apply(ctx, &f, 1, buf, &back))) goto done;
    *out = back;
done:
    if (local) GEOSGeom_destroy_r(ctx->geos, local);
    if (buf) GEOSGeom_destroy_r(ctx->geos, buf);
    return st;
}

ko_status koi_area_m2(ko_context *ctx, const GEOSGeometry *g, double *area_m2) {
    xform f;
    ko_status st = local_frame(ctx, g, &f);
    if (st) return st;
    GEOSGeometry *local = NULL;
    if (!(st = apply(ctx, &f, 0, g, &local))) {
        if (!GEOSArea_r(ctx->geos, local, area_m2))
            st = koi_error(ctx, KO_ERR_GEOS, "GEOS: area failed (%s)", ctx->geos_msg);
        GEOSGeom_destroy_r(ctx->geos, local);
    }
    return st;
}

GEOSGeometry *koi_geos_polygon(GEOSContextHandle_t h, const double *xy, size_t n) {
    GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(h, xy, (unsigned)n, 0, 0);
    GEOSGeometry *shell = cs ? GEOSGeom_createLinearRing_r(h, cs) : NULL;
    /* GEOS owns what it is handed, also when it fails (GEOS 3.11: a failed ring has already freed
     * cs, a failed polygon its shell; freeing them again crashed on a damaged index, fuzz_index).
     */
    return shell ? GEOSGeom_createPolygon_r(h, shell, NULL, 0) : NULL;
}

GEOSGeometry *koi_geos_one_polygon(GEOSContextHandle_t h, GEOSGeometry *g) {
    if (!g || GEOSGeomTypeId_r(h, g) == GEOS_POLYGON) return g;
    GEOSGeometry *hull = GEOSConvexHull_r(h, g);
    GEOSGeom_destroy_r(h, g);
    if (hull && GEOSGeomTypeId_r(h, hull) == GEOS_POLYGON) return hull;
    if (hull) GEOSGeom_destroy_r(h, hull);
    return NULL;
}

ko_status koi_geos_shell(GEOSContextHandle_t h, const GEOSGeometry *g, double **xy, size_t *n) {
    const GEOSGeometry *shell = g ? GEOSGetExteriorRing_r(h, g) : NULL;
    const GEOSCoordSequence *cs = shell ? GEOSGeom_getCoordSeq_r(h, shell) : NULL;
    unsigned m = 0;
    *xy = NULL, *n = 0;
    if (!cs || !GEOSCoordSeq_getSize_r(h, cs, &m) || m < 4) return KO_ERR_GEOS;
    if (!(*xy = koi_calloc(m, 2 * sizeof **xy))) return KO_ERR_NOMEM;
    if (!GEOSCoordSeq_copyToBuffer_r(h, cs, *xy, 0, 0)) {
        free(*xy), *xy = NULL;
        return KO_ERR_GEOS;
    }
    *n = m;
    return KO_OK;
}
