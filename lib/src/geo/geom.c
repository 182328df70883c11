/* Metric operations on WGS84 geometries through a local azimuthal equidistant frame. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>

#include "core/core.h"
#include "sites/sites.h"

typedef struct xform {
    PJ *pj;
    PJ_DIRECTION dir;
    int failed;
} xform;

static int transform_xy(double *x, double *y, void *user) {
    xform *t = user;
    PJ_COORD c = proj_coord(*x, *y, 0, 0);
    c = proj_trans(t->pj, t->dir, c);
    if (!isfinite(c.xy.x) || !isfinite(c.xy.y)) {
        t->failed = 1;
        return 0;
    }
    *x = c.xy.x;
    *y = c.xy.y;
    return 1;
}

/* The local frame centred on g's envelope: degrees in, metres out (forward). */
static ko_status local_frame(ko_context *ctx, const GEOSGeometry *g, PJ **out) {
    double minx, miny, maxx, maxy;
    if (!GEOSGeom_getXMin_r(ctx->geos, g, &minx) || !GEOSGeom_getYMin_r(ctx->geos, g, &miny) ||
        !GEOSGeom_getXMax_r(ctx->geos, g, &maxx) || !GEOSGeom_getYMax_r(ctx->geos, g, &maxy))
        return koi_error(ctx, KO_ERR_GEOS, "GEOS: no envelope (%s)", ctx->geos_msg);
    char def[256];
    snprintf(def, sizeof def,
             "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
             "+step +proj=aeqd +lat_0=%.9f +lon_0=%.9f +ellps=WGS84",
             (miny + maxy) / 2, (minx + maxx) / 2);
    PJ_CONTEXT *pc = koi_ctx_proj(ctx);
    if (!pc) return KO_ERR_NOMEM;
    PJ *pj = proj_create(pc, def);
    if (!pj) return koi_error(ctx, KO_ERR_PROJ, "PROJ: cannot build the local frame (%s)", def);
    *out = pj;
    return KO_OK;
}

static ko_status apply(ko_context *ctx, PJ *pj, PJ_DIRECTION dir, const GEOSGeometry *g,
                       GEOSGeometry **out) {
    xform t = {pj, dir, 0};
    GEOSGeometry *r = GEOSGeom_transformXY_r(ctx->geos, g, transform_xy, &t);
    if (!r || t.failed) {
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
    PJ *pj = NULL;
    ko_status st = local_frame(ctx, g, &pj);
    if (st) return st;
    GEOSGeometry *local = NULL, *buf = NULL, *back = NULL;
    if ((st = apply(ctx, pj, PJ_FWD, g, &local))) goto done;
    buf = GEOSBuffer_r(ctx->geos, local, buffer_m, 8);
    if (!buf) {
        st = koi_error(ctx, KO_ERR_GEOS, "GEOS: buffer failed (%s)", ctx->geos_msg);
        goto done;
    }
    if ((st = apply(ctx, pj, PJ_INV, buf, &back))) goto done;
    *out = back;
done:
    if (local) GEOSGeom_destroy_r(ctx->geos, local);
    if (buf) GEOSGeom_destroy_r(ctx->geos, buf);
    proj_destroy(pj);
    return st;
}

ko_status koi_area_m2(ko_context *ctx, const GEOSGeometry *g, double *area_m2) {
    PJ *pj = NULL;
    ko_status st = local_frame(ctx, g, &pj);
    if (st) return st;
    GEOSGeometry *local = NULL;
    if (!(st = apply(ctx, pj, PJ_FWD, g, &local))) {
        if (!GEOSArea_r(ctx->geos, local, area_m2))
            st = koi_error(ctx, KO_ERR_GEOS, "GEOS: area failed (%s)", ctx->geos_msg);
        GEOSGeom_destroy_r(ctx->geos, local);
    }
    proj_destroy(pj);
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
