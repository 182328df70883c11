/* Elevation rasters: any GDAL-readable DEM (or a mosaic of several, through an in-memory VRT),
 * any horizontal CRS, lazily read through a small LRU cache of tiles owned by the handle, and
 * its vertical datum tied to WGS84 ellipsoidal heights by PROJ. */
#include "footprint/footprint.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal_utils.h>
#include <math.h>
#include <proj_experimental.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* GDAL reports problems through its error handler, which prints by default: the library never
 * prints, so every GDAL call that may fail runs under the quiet handler and the last message is
 * taken into ko_errmsg. */
static const char *gdal_msg(void) {
    const char *m = CPLGetLastErrorMsg();
    return m && *m ? m : "no details from GDAL";
}

/* The best transformation from src to dst whose grids are installed, never a ballpark one (a
 * ballpark vertical transformation silently equates the two datums). NULL if there is none. */
static PJ *vertical_op(PJ_CONTEXT *pc, const PJ *src, const PJ *dst) {
    PJ_OPERATION_FACTORY_CONTEXT *fc = proj_create_operation_factory_context(pc, NULL);
    if (!fc) return NULL;
    proj_operation_factory_context_set_grid_availability_use(
        pc, fc, PROJ_GRID_AVAILABILITY_DISCARD_OPERATION_IF_MISSING_GRID);
    proj_operation_factory_context_set_allow_ballpark_transformations(pc, fc, 0);
    proj_operation_factory_context_set_spatial_criterion(
        pc, fc, PROJ_SPATIAL_CRITERION_PARTIAL_INTERSECTION);
    PJ_OBJ_LIST *ops = proj_create_operations(pc, src, dst, fc);
    PJ *op = NULL;
    if (ops && proj_list_get_count(ops) > 0) {
        PJ *first = proj_list_get(pc, ops, 0);
        if (first) op = proj_normalize_for_visualization(pc, first); /* lon, lat order */
        proj_destroy(first);
    }
    proj_list_destroy(ops);
    proj_operation_factory_context_destroy(fc);
    return op;
}

/* WGS84 3D (ellipsoidal heights) to WGS84 2D + the given vertical CRS. */
static PJ *op_to_vertical(PJ_CONTEXT *pc, PJ *vert) {
    PJ *src = proj_create(pc, "EPSG:4979");
    PJ *horiz = proj_create(pc, "EPSG:4326");
    PJ *dst = src && horiz ? proj_create_compound_crs(pc, "DEM heights", horiz, vert) : NULL;
    PJ *op = dst ? vertical_op(pc, src, dst) : NULL;
    proj_destroy(dst);
    proj_destroy(horiz);
    proj_destroy(src);
    return op;
}

/* Works out the DEM's vertical datum and the PROJ operations that bring camera altitudes to
 * it. The vertical CRS of a compound CRS is used; a geographic 3D CRS means ellipsoidal
 * heights; anything else is taken as EGM96 height (EPSG:5773), which SRTM and most global DEMs
 * use. */
static ko_status vertical_datum(ko_context *ctx, ko_dem *d, OGRSpatialReferenceH srs) {
    PJ_CONTEXT *pc = koi_ctx_proj(ctx);
    if (!pc) return KO_ERR_NOMEM;
    PJ *egm96 = proj_create(pc, "EPSG:5773");
    d->ellps_to_egm96 = egm96 ? op_to_vertical(pc, egm96) : NULL;
    proj_destroy(egm96);
    if (!d->ellps_to_egm96)
        return koi_error(ctx, KO_ERR_PROJ,
                         "%s: PROJ has no transformation from WGS84 ellipsoidal heights to "
                         "EGM96 heights (is egm96_15.gtx of proj-data installed?)",
                         d->path);
    char *wkt = NULL;
    const char *const wkt_opts[] = {"FORMAT=WKT2_2019", NULL};
    PJ *crs = NULL;
    if (OSRExportToWktEx(srs, &wkt, wkt_opts) == OGRERR_NONE && wkt) crs = proj_create(pc, wkt);
    CPLFree(wkt);
    PJ_TYPE type = crs ? proj_get_type(crs) : PJ_TYPE_UNKNOWN;
    ko_status st = KO_OK;
    if (type == PJ_TYPE_COMPOUND_CRS) {
        PJ *vert = proj_crs_get_sub_crs(pc, crs, 1);
        const char *name = vert ? proj_get_name(vert) : NULL;
        const char *auth = vert ? proj_get_id_auth_name(vert, 0) : NULL;
        const char *code = vert ? proj_get_id_code(vert, 0) : NULL;
        if (auth && code && strcmp(auth, "EPSG") == 0 && strcmp(code, "5773") == 0) {
            d->datum_is_egm96 = 1;
        } else if (vert) {
            d->ellps_to_dem = op_to_vertical(pc, vert);
        }
        snprintf(d->datum, sizeof d->datum, "%s (%s:%s, from the DEM)", name ? name : "unnamed",
                 auth ? auth : "?", code ? code : "?");
        if (!vert || (!d->datum_is_egm96 && !d->ellps_to_dem))
            st = koi_error(ctx, KO_ERR_PROJ,
                           "%s: no installed PROJ transformation from WGS84 ellipsoidal heights "
                           "to the DEM's vertical CRS %s",
                           d->path, d->datum);
        proj_destroy(vert);
    } else if (type == PJ_TYPE_GEOGRAPHIC_3D_CRS) {
        snprintf(d->datum, sizeof d->datum, "WGS84-type ellipsoidal heights (from the DEM)");
    } else {
        d->datum_is_egm96 = 1;
        snprintf(d->datum, sizeof d->datum,
                 "EGM96 height (EPSG:5773), assumed: the DEM declares no vertical CRS");
    }
    proj_destroy(crs);
    return st;
}

static ko_status horizontal_crs(ko_context *ctx, ko_dem *d) {
    OGRSpatialReferenceH srs = GDALGetSpatialRef(d->ds);
    if (!srs) return koi_error(ctx, KO_ERR_FORMAT, "%s: the DEM has no coordinate system", d->path);
    ko_status st = vertical_datum(ctx, d, srs);
    if (st) return st;
    OGRSpatialReferenceH wgs84 = OSRNewSpatialReference(NULL);
    OGRSpatialReferenceH horiz = OSRClone(srs);
    if (!wgs84 || !horiz || OSRImportFromEPSG(wgs84, 4326) != OGRERR_NONE) {
        st = koi_error(ctx, KO_ERR_PROJ, "%s: cannot set up WGS84 (%s)", d->path, gdal_msg());
    } else {
        OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
        OSRSetAxisMappingStrategy(horiz, OAMS_TRADITIONAL_GIS_ORDER);
        if (OSRIsCompound(horiz)) OSRStripVertical(horiz);
        if (!(OSRIsGeographic(horiz) && OSRIsSameGeogCS(horiz, wgs84))) {
            d->to_dem = OCTNewCoordinateTransformation(wgs84, horiz);
            d->from_dem = OCTNewCoordinateTransformation(horiz, wgs84);
            if (!d->to_dem || !d->from_dem)
                st = koi_error(ctx, KO_ERR_PROJ,
                               "%s: no transformation from WGS84 to the DEM's CRS (%s)", d->path,
                               gdal_msg());
        }
    }
    OSRRelease(horiz);
    OSRRelease(wgs84);
    return st;
}

/* GDALBuildVRT skips a source it cannot mosaic (other CRS, band type or colour
 * interpretation) with a mere warning: catch that, a DEM with a silent hole would shrink
 * footprints. */
typedef struct vrt_warnings {
    char first[512];
    int skipped;
} vrt_warnings;

static void CPL_STDCALL vrt_handler(CPLErr cls, CPLErrorNum num, const char *msg) {
    (void)num;
    vrt_warnings *w = CPLGetErrorHandlerUserData();
    if (w && msg && (cls >= CE_Failure || strstr(msg, "Skipping") || strstr(msg, "skipping"))) {
        if (!w->skipped) snprintf(w->first, sizeof w->first, "%s", msg);
        w->skipped = 1;
    }
}

static ko_status open_dataset(ko_context *ctx, const char *const *paths, size_t n, ko_dem *d) {
    ko_global_init(); /* GDAL's drivers */
    if (n == 1) {
        d->ds = GDALOpenEx(paths[0], GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR,
                           NULL, NULL, NULL);
    } else {
        /* Tiles of one archive: a mosaic in an in-memory VRT (no file is written). */
        int usage_error = 0;
        vrt_warnings w = {{0}, 0};
        CPLPushErrorHandlerEx(vrt_handler, &w);
        d->ds = GDALBuildVRT("", (int)n, NULL, paths, NULL, &usage_error);
        CPLPopErrorHandler();
        if (w.skipped)
            return koi_error(ctx, d->ds ? KO_ERR_FORMAT : KO_ERR_IO,
                             "%s and %zu more: GDAL cannot mosaic these DEM files as one (they "
                             "need the same CRS, band type and colour interpretation): %s",
                             d->path, n - 1, w.first);
    }
    if (!d->ds)
        return koi_error(ctx, KO_ERR_IO, "%s: cannot open the DEM: %s", d->path, gdal_msg());
    if (GDALGetRasterCount(d->ds) < 1)
        return koi_error(ctx, KO_ERR_FORMAT, "%s: the DEM has no raster band", d->path);
    d->band = GDALGetRasterBand(d->ds, 1);
    d->xsize = GDALGetRasterXSize(d->ds);
    d->ysize = GDALGetRasterYSize(d->ds);
    if (GDALGetGeoTransform(d->ds, d->gt) != CE_None || !GDALInvGeoTransform(d->gt, d->inv_gt))
        return koi_error(ctx, KO_ERR_FORMAT, "%s: the DEM has no usable geotransform", d->path);
    d->nodata = GDALGetRasterNoDataValue(d->band, &d->has_nodata);
    int ok;
    d->scale = GDALGetRasterScale(d->band, &ok);
    if (!ok || !isfinite(d->scale) || d->scale == 0) d->scale = 1.0;
    d->offset = GDALGetRasterOffset(d->band, &ok);
    if (!ok || !isfinite(d->offset)) d->offset = 0.0;
    const char *unit = GDALGetRasterUnitType(d->band);
    if (unit &&
        (strcmp(unit, "ft") == 0 || strcmp(unit, "foot") == 0 || strcmp(unit, "feet") == 0)) {
        d->scale *= 0.3048;
        d->offset *= 0.3048;
    } else if (unit && strcmp(unit, "US survey foot") == 0) {
        d->scale *= 1200.0 / 3937.0;
        d->offset *= 1200.0 / 3937.0;
    }
    return horizontal_crs(ctx, d);
}

ko_status ko_dem_open_list(ko_context *ctx, const char *const *paths, size_t n, ko_dem **out) {
    if (!ctx || !paths || !out || n == 0 || n > 100000)
        return koi_error(ctx, KO_ERR_ARG, "dem_open: no DEM path given");
    for (size_t i = 0; i < n; i++) {
        if (!paths[i] || !*paths[i]) return koi_error(ctx, KO_ERR_ARG, "dem_open: empty path");
        ko_status guard = ko_path_check(ctx, paths[i]); /* GDAL would block on a FIFO */
        if (guard) return guard;
    }
    ko_dem *d = koi_calloc(1, sizeof *d);
    if (!d) return koi_error(ctx, KO_ERR_NOMEM, "dem_open: out of memory");
    d->ctx = ctx;
    for (int i = 0; i < KOI_DEM_TILES; i++)
        d->tiles[i].tx = d->tiles[i].ty = -1;
    d->path = koi_strdup(paths[0]);
    if (!d->path) {
        free(d);
        return koi_error(ctx, KO_ERR_NOMEM, "dem_open: out of memory");
    }
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    ko_status st = open_dataset(ctx, paths, n, d);
    CPLPopErrorHandler();
    if (st) {
        ko_dem_close(d);
        return st;
    }
    *out = d;
    return KO_OK;
}

ko_status ko_dem_open(ko_context *ctx, const char *path, ko_dem **out) {
    const char *paths[1] = {path};
    return ko_dem_open_list(ctx, paths, 1, out);
}

void ko_dem_close(ko_dem *d) {
    if (!d) return;
    for (int i = 0; i < KOI_DEM_TILES; i++)
        free(d->tiles[i].v);
    proj_destroy(d->ellps_to_dem);
    proj_destroy(d->ellps_to_egm96);
    if (d->to_dem) OCTDestroyCoordinateTransformation(d->to_dem);
    if (d->from_dem) OCTDestroyCoordinateTransformation(d->from_dem);
    if (d->ds) GDALClose(d->ds);
    free(d->path);
    free(d);
}

const char *ko_dem_vertical_datum(const ko_dem *dem) {
    return dem ? dem->datum : "";
}

/* The cache slot holding tile (tx, ty), reading it on a miss into the least recently used
 * slot. NULL if the read fails (dem->io_error is then set). */
static koi_dem_tile *tile_at(ko_dem *d, int tx, int ty) {
    koi_dem_tile *t = &d->tiles[d->last];
    if (t->tx == tx && t->ty == ty && t->v) return t;
    int victim = 0;
    for (int i = 0; i < KOI_DEM_TILES; i++) {
        t = &d->tiles[i];
        if (t->tx == tx && t->ty == ty && t->v) {
            t->used = ++d->clock;
            d->last = i;
            return t;
        }
        if (t->used < d->tiles[victim].used) victim = i;
    }
    t = &d->tiles[victim];
    if (!t->v) t->v = koi_calloc((size_t)KOI_DEM_TILE * KOI_DEM_TILE, sizeof(float));
    if (!t->v) {
        d->io_error = KO_ERR_NOMEM;
        return NULL;
    }
    t->tx = t->ty = -1;
    int x0 = tx * KOI_DEM_TILE, y0 = ty * KOI_DEM_TILE;
    int w = d->xsize - x0 < KOI_DEM_TILE ? d->xsize - x0 : KOI_DEM_TILE;
    int h = d->ysize - y0 < KOI_DEM_TILE ? d->ysize - y0 : KOI_DEM_TILE;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErr err = GDALRasterIO(d->band, GF_Read, x0, y0, w, h, t->v, w, h, GDT_Float32,
                              (int)sizeof(float), (int)(KOI_DEM_TILE * sizeof(float)));
    CPLPopErrorHandler();
    if (err != CE_None) {
        d->io_error = KO_ERR_IO;
        return NULL;
    }
    float nd = (float)d->nodata;
    for (int j = 0; j < h; j++) {
        float *row = t->v + (size_t)j * KOI_DEM_TILE;
        for (int i = 0; i < w; i++) {
            if (isnan(row[i]) || (d->has_nodata && row[i] == nd))
                row[i] = NAN;
            else
                row[i] = (float)(row[i] * d->scale + d->offset);
        }
    }
    t->tx = tx;
    t->ty = ty;
    t->used = ++d->clock;
    d->last = victim;
    return t;
}

double koi_dem_pixel(ko_dem *d, int i, int j) {
    koi_dem_tile *t = tile_at(d, i / KOI_DEM_TILE, j / KOI_DEM_TILE);
    if (!t) return NAN;
    return t->v[(size_t)(j % KOI_DEM_TILE) * KOI_DEM_TILE + (size_t)(i % KOI_DEM_TILE)];
}

int koi_dem_read_window(ko_dem *d, int i0, int j0, int w, int h, float *buf) {
    for (int j = j0; j < j0 + h; j++) {
        for (int i = i0; i < i0 + w;) {
            koi_dem_tile *t = tile_at(d, i / KOI_DEM_TILE, j / KOI_DEM_TILE);
            if (!t) return 0;
            int c = i % KOI_DEM_TILE, n = KOI_DEM_TILE - c;
            if (n > i0 + w - i) n = i0 + w - i;
            memcpy(buf + (size_t)(j - j0) * w + (i - i0),
                   t->v + (size_t)(j % KOI_DEM_TILE) * KOI_DEM_TILE + c, (size_t)n * sizeof(float));
            i += n;
        }
    }
    return 1;
}

/* The four pixels (i, j), (i1, j), (i, j1), (i1, j1): one tile look-up when they share one. */
static void corners(ko_dem *d, int i, int j, int i1, int j1, double z[4]) {
    int tx = i / KOI_DEM_TILE, ty = j / KOI_DEM_TILE;
    if (i1 / KOI_DEM_TILE == tx && j1 / KOI_DEM_TILE == ty) {
        koi_dem_tile *t = tile_at(d, tx, ty);
        if (!t) {
            z[0] = z[1] = z[2] = z[3] = NAN;
            return;
        }
        const float *r0 = t->v + (size_t)(j % KOI_DEM_TILE) * KOI_DEM_TILE;
        const float *r1 = t->v + (size_t)(j1 % KOI_DEM_TILE) * KOI_DEM_TILE;
        int c0 = i % KOI_DEM_TILE, c1 = i1 % KOI_DEM_TILE;
        z[0] = r0[c0], z[1] = r0[c1], z[2] = r1[c0], z[3] = r1[c1];
        return;
    }
    z[0] = koi_dem_pixel(d, i, j), z[1] = koi_dem_pixel(d, i1, j), z[2] = koi_dem_pixel(d, i, j1),
    z[3] = koi_dem_pixel(d, i1, j1);
}

double koi_dem_sample(ko_dem *d, double px, double py) {
    if (!(px >= 0 && py >= 0 && px <= d->xsize && py <= d->ysize)) return NAN;
    /* Values sit at pixel centres; the outer half pixel takes the edge value. */
    double x = px - 0.5, y = py - 0.5; /* (hot path: no libm fmin/fmax calls) */
    x = x < 0 ? 0 : x > d->xsize - 1.0 ? d->xsize - 1.0 : x;
    y = y < 0 ? 0 : y > d->ysize - 1.0 ? d->ysize - 1.0 : y;
    int i = (int)x, j = (int)y;
    if (i > d->xsize - 2) i = d->xsize > 1 ? d->xsize - 2 : 0;
    if (j > d->ysize - 2) j = d->ysize > 1 ? d->ysize - 2 : 0;
    double fx = x - i, fy = y - j;
    int i1 = i + 1 < d->xsize ? i + 1 : i, j1 = j + 1 < d->ysize ? j + 1 : j;
    double z[4];
    corners(d, i, j, i1, j1, z);
    /* NaN (nodata) in any corner propagates: such a point counts as off the DEM. */
    return (z[0] * (1 - fx) + z[1] * fx) * (1 - fy) + (z[2] * (1 - fx) + z[3] * fx) * fy;
}

int koi_dem_to_pixel(ko_dem *d, size_t n, double *x, double *y) {
    if (d->to_dem) {
        int *ok = koi_calloc(n, sizeof(int));
        if (!ok) return 0;
        CPLPushErrorHandler(CPLQuietErrorHandler);
        int all = OCTTransformEx(d->to_dem, (int)n, x, y, NULL, ok);
        CPLPopErrorHandler();
        for (size_t i = 0; i < n; i++)
            if (!all || !ok[i]) x[i] = y[i] = NAN; /* outside the CRS's domain */
        free(ok);
    }
    for (size_t i = 0; i < n; i++) {
        double gx = x[i], gy = y[i];
        x[i] = d->inv_gt[0] + gx * d->inv_gt[1] + gy * d->inv_gt[2];
        y[i] = d->inv_gt[3] + gx * d->inv_gt[4] + gy * d->inv_gt[5];
    }
    return 1;
}

ko_status ko_dem_elevation(ko_dem *dem, double lon, double lat, double *z) {
    if (!dem || !z) return KO_ERR_ARG;
    ko_context *ctx = dem->ctx;
    double x = lon, y = lat;
    if (!koi_dem_to_pixel(dem, 1, &x, &y))
        return koi_error(ctx, KO_ERR_NOMEM, "dem_elevation: out of memory");
    dem->io_error = 0;
    double v = koi_dem_sample(dem, x, y);
    if (dem->io_error)
        return koi_error(ctx, (ko_status)dem->io_error, "%s: cannot read the DEM", dem->path);
    if (isnan(v))
        return koi_error(ctx, KO_ERR_NOT_FOUND, "%s: no elevation at lon %.6f, lat %.6f", dem->path,
                         lon, lat);
    *z = v;
    return KO_OK;
}

static ko_status run_op(ko_context *ctx, const ko_dem *d, PJ *op, double lon, double lat, double h,
                        double *z) {
    PJ_COORD c = proj_trans(op, PJ_FWD, proj_coord(lon, lat, h, 0));
    if (!isfinite(c.xyz.z) || c.xyz.z == HUGE_VAL)
        return koi_error(ctx, KO_ERR_PROJ,
                         "%s: PROJ cannot convert the height %.2f m at lon %.6f, lat %.6f to %s",
                         d->path, h, lon, lat, d->datum);
    *z = c.xyz.z;
    return KO_OK;
}

ko_status koi_dem_from_ellipsoidal(ko_context *ctx, ko_dem *d, double lon, double lat, double h,
                                   double *z) {
    if (d->datum_is_egm96) return run_op(ctx, d, d->ellps_to_egm96, lon, lat, h, z);
    if (d->ellps_to_dem) return run_op(ctx, d, d->ellps_to_dem, lon, lat, h, z);
    *z = h; /* the DEM holds ellipsoidal heights */
    return KO_OK;
}

ko_status koi_dem_from_egm96(ko_context *ctx, ko_dem *d, double lon, double lat, double h,
                             double *z) {
    if (d->datum_is_egm96) {
        *z = h;
        return KO_OK;
    }
    PJ_COORD c = proj_trans(d->ellps_to_egm96, PJ_INV, proj_coord(lon, lat, h, 0));
    if (!isfinite(c.xyz.z))
        return koi_error(ctx, KO_ERR_PROJ, "PROJ cannot convert the EGM96 height %.2f m", h);
    return koi_dem_from_ellipsoidal(ctx, d, lon, lat, c.xyz.z, z);
}

ko_status ko_dem_from_ellipsoidal(ko_dem *dem, double lon, double lat, double h, double *z) {
    if (!dem || !z) return KO_ERR_ARG;
    return koi_dem_from_ellipsoidal(dem->ctx, dem, lon, lat, h, z);
}
