/* Routes drawn in a GIS: any OGR source with lines (vertices in order) or points (features in
 * order). They carry no camera state: the caller gives camera, height and gimbal pitch.
 * Heights from Z follow each format's definition: GPX elevation is orthometric (EGM96 here),
 * RFC 7946 GeoJSON heights are ellipsoidal, KML absolute altitudes are orthometric (kml_ref); other
 * formats' Z are taken as above take-off. */
#include <cpl_conv.h>
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "route/route.h"

static ko_height_ref z_ref(GDALDatasetH ds) {
    const char *drv = GDALGetDriverShortName(GDALGetDatasetDriver(ds));
    if (!strcasecmp(drv, "GPX") || !strcasecmp(drv, "KML") || !strcasecmp(drv, "LIBKML"))
        return KO_HEIGHT_EGM96;
    if (!strcasecmp(drv, "GeoJSON")) return KO_HEIGHT_WGS84;
    return KO_HEIGHT_TAKEOFF;
}

/* A KML feature's altitudeMode (KML 2.2, kml:altitudeModeEnumType; the LIBKML driver's field):
 * "absolute" is above sea level, "relativeToGround" above the ground under the aircraft, and
 * "clampToGround" (the default, an empty field) puts the line on the ground: its Z says no
 * height. Every KML Z was taken as above sea level: a relativeToGround line at 100 m with the
 * take-off 10 m above the sea was flown 90 m up (adversary adv26). A mode that cannot be read
 * (the KML driver has no such field, gx: modes) gives no height either, never an assumed one:
 * 0 with no Z used, the caller's height (route option height_m) or none. */
static int kml_ref(OGRFeatureH f, ko_height_ref *ref) {
    int i = OGR_F_GetFieldIndex(f, "altitudeMode");
    if (i < 0 || !OGR_F_IsFieldSetAndNotNull(f, i)) return 0;
    const char *m = OGR_F_GetFieldAsString(f, i);
    if (!strcmp(m, "absolute"))
        *ref = KO_HEIGHT_EGM96;
    else if (!strcmp(m, "relativeToGround"))
        *ref = KO_HEIGHT_AGL;
    else
        return 0;
    return 1;
}

static ko_status add_vertex(ko_route *rt, double x, double y, double z, int has_z,
                            ko_height_ref ref, int fid) {
    if (!(fabs(y) <= 90 && fabs(x) <= 180) || (has_z && !isfinite(z)))
        return koi_error(rt->ctx, KO_ERR_FORMAT,
                         "%s: feature %d: vertex %.10g, %.10g, %.10g is not a finite "
                         "longitude, latitude%s",
                         rt->path, fid, x, y, z, has_z ? ", height" : "");
    ko_waypoint wp;
    ko_waypoint_init(&wp);
    wp.lon = x;
    wp.lat = y;
    wp.height = has_z ? z : NAN;
    wp.height_ref = ref;
    wp.number = (int)rt->n + 1;
    wp.line = fid;
    return koi_route_push(rt, &wp);
}

static ko_status add_geometry(ko_route *rt, OGRGeometryH g, OGRCoordinateTransformationH ct,
                              ko_height_ref ref, int use_z, int fid) {
    if (ct && OGR_G_Transform(g, ct) != OGRERR_NONE)
        return koi_error(rt->ctx, KO_ERR_PROJ, "%s: feature %d: cannot transform to WGS84",
                         rt->path, fid);
    int parts = OGR_G_GetGeometryCount(g);
    if (parts > 0) {
        for (int i = 0; i < parts; i++) {
            ko_status s = add_geometry(rt, OGR_G_GetGeometryRef(g, i), NULL, ref, use_z, fid);
            if (s) return s;
        }
        return KO_OK;
    }
    int has_z = use_z && OGR_G_Is3D(g);
    for (int i = 0; i < OGR_G_GetPointCount(g); i++) {
        ko_status s =
            add_vertex(rt, OGR_G_GetX(g, i), OGR_G_GetY(g, i), OGR_G_GetZ(g, i), has_z, ref, fid);
        if (s) return s;
    }
    return KO_OK;
}

/* The first layer with lines, else the first with points. */
static OGRLayerH pick_layer(GDALDatasetH ds) {
    OGRLayerH points = NULL;
    for (int i = 0; i < GDALDatasetGetLayerCount(ds); i++) {
        OGRLayerH l = GDALDatasetGetLayer(ds, i);
        OGRwkbGeometryType t = wkbFlatten(OGR_L_GetGeomType(l));
        if (t == wkbLineString || t == wkbMultiLineString) return l;
        if (!points && (t == wkbPoint || t == wkbMultiPoint) && OGR_L_GetFeatureCount(l, 1) > 0)
            points = l;
        if (t == wkbUnknown && !points) { /* mixed layers (GeoJSON): look at the first feature */
            OGR_L_ResetReading(l);
            OGRFeatureH f = OGR_L_GetNextFeature(l);
            OGRGeometryH g = f ? OGR_F_GetGeometryRef(f) : NULL;
            OGRwkbGeometryType ft = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbUnknown;
            OGR_F_Destroy(f);
            OGR_L_ResetReading(l);
            if (ft == wkbLineString || ft == wkbMultiLineString) return l;
            if (ft == wkbPoint) points = l;
        }
    }
    return points;
}

static OGRCoordinateTransformationH to_wgs84(OGRLayerH l) {
    OGRSpatialReferenceH src = OGR_L_GetSpatialRef(l);
    if (!src) return NULL;
    OGRSpatialReferenceH dst = OSRNewSpatialReference(NULL);
    OSRSetWellKnownGeogCS(dst, "WGS84");
    OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = NULL;
    if (!OSRIsSame(src, dst)) ct = OCTNewCoordinateTransformation(src, dst);
    OSRDestroySpatialReference(dst);
    return ct;
}

ko_status koi_route_read_ogr(ko_route *rt) {
    rt->format = "ogr";
    GDALDatasetH ds = GDALOpenEx(rt->path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds)
        return koi_error(rt->ctx, KO_ERR_FORMAT,
                         "%s: not a mission keepout reads (DJI WPML .kmz/.wpml, Litchi CSV, "
                         "QGroundControl .plan, QGC WPL) nor a vector file with a line",
                         rt->path);
    OGRLayerH l = pick_layer(ds);
    ko_status s = KO_OK;
    if (!l) {
        s = koi_error(rt->ctx, KO_ERR_FORMAT, "%s: no layer with lines or points", rt->path);
    } else {
        OGRCoordinateTransformationH ct = to_wgs84(l);
        const char *drv = GDALGetDriverShortName(GDALGetDatasetDriver(ds));
        int kml = !strcasecmp(drv, "KML") || !strcasecmp(drv, "LIBKML");
        OGRFeatureH f;
        OGR_L_ResetReading(l);
        while (!s && (f = OGR_L_GetNextFeature(l)) != NULL) {
            OGRGeometryH g = OGR_F_GetGeometryRef(f);
            ko_height_ref ref = z_ref(ds);
            int use_z = !kml || kml_ref(f, &ref);
            if (g) s = add_geometry(rt, g, ct, ref, use_z, (int)OGR_F_GetFID(f));
            OGR_F_Destroy(f);
        }
        if (ct) OCTDestroyCoordinateTransformation(ct);
    }
    GDALClose(ds);
    return s;
}
