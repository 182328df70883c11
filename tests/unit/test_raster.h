/* Rasters the unit tests write themselves (DEMs in /vsimem/): heights as a function of the
 * coordinates of each pixel centre, in any CRS GDAL reads. */
#ifndef KEEPOUT_TEST_RASTER_H
#define KEEPOUT_TEST_RASTER_H

#include <check.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdlib.h>

/* Terrain as a function of the DEM's CRS coordinates of a pixel centre. */
typedef double (*zfun)(double x, double y, const double *arg);

/* A one-band raster of type made by driver ("GTiff", or "MEM" with path "") in srs_def (e.g.
 * "EPSG:4326+5773"): w x h pixels of f at the pixel centres of geotransform gt; nodata: the
 * band's nodata value, NAN for none. Returned open: the caller closes it. */
static inline GDALDatasetH make_raster(const char *driver, const char *path, const char *srs_def,
                                       const double gt[6], int w, int h, GDALDataType type, zfun f,
                                       const double *arg, double nodata) {
    GDALDriverH drv = GDALGetDriverByName(driver);
    ck_assert_ptr_nonnull(drv);
    GDALDatasetH ds = GDALCreate(drv, path, w, h, 1, type, NULL);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(GDALSetGeoTransform(ds, (double *)gt), CE_None);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    ck_assert_int_eq(OSRSetFromUserInput(srs, srs_def), OGRERR_NONE);
    ck_assert_int_eq(GDALSetSpatialRef(ds, srs), CE_None);
    OSRRelease(srs);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    if (!isnan(nodata)) GDALSetRasterNoDataValue(b, nodata);
    double *row = malloc(sizeof(double) * (size_t)w);
    ck_assert_ptr_nonnull(row);
    for (int j = 0; j < h; j++) {
        for (int i = 0; i < w; i++)
            row[i] = f(gt[0] + (i + 0.5) * gt[1], gt[3] + (j + 0.5) * gt[5], arg);
        ck_assert_int_eq(GDALRasterIO(b, GF_Write, 0, j, w, 1, row, w, 1, GDT_Float64, 0, 0),
                         CE_None);
    }
    free(row);
    return ds;
}

/* A Float32 GeoTIFF DEM at path; nodata != 0: -9999 is the nodata value. */
static inline void make_dem_srs(const char *path, const char *srs_def, const double gt[6], int w,
                                int h, zfun f, const double *arg, int nodata) {
    GDALClose(
        make_raster("GTiff", path, srs_def, gt, w, h, GDT_Float32, f, arg, nodata ? -9999.0 : NAN));
}

#endif
