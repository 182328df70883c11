/* Private: elevation rasters (ko_dem) and terrain ray casting for footprints. */
#ifndef KEEPOUT_FOOTPRINT_FOOTPRINT_H
#define KEEPOUT_FOOTPRINT_FOOTPRINT_H

#include <gdal.h>
#include <ogr_srs_api.h>
#include <proj.h>
#include <stdint.h>

#include "keepout/keepout.h"
#include "core/core.h"
#include "geo/geo.h"

/* Cache tiles: KOI_DEM_TILE x KOI_DEM_TILE floats, at most KOI_DEM_TILES of them per handle
 * (4 MiB). */
#define KOI_DEM_TILE 256
#define KOI_DEM_TILES 16

typedef struct koi_dem_tile {
    int tx, ty;    /* tile indices; -1 = empty slot */
    uint64_t used; /* LRU stamp */
    float *v;      /* KOI_DEM_TILE * KOI_DEM_TILE, NaN = nodata */
} koi_dem_tile;

struct ko_dem {
    ko_context *ctx; /* borrowed: the context the handle was opened on */
    GDALDatasetH ds;
    GDALRasterBandH band;
    int xsize, ysize;
    double gt[6], inv_gt[6];
    int has_nodata;
    double nodata;
    double scale, offset;                /* band scale/offset, and feet to metres */
    OGRCoordinateTransformationH to_dem; /* WGS84 lon/lat -> DEM CRS; NULL if the same */
    OGRCoordinateTransformationH from_dem;
    PJ *ellps_to_dem;   /* (lon, lat, h ellipsoidal) -> height on the DEM's datum; NULL = same */
    PJ *ellps_to_egm96; /* (lon, lat, h ellipsoidal) -> EGM96 height */
    int datum_is_egm96;
    char datum[160]; /* description of the DEM's vertical datum */
    char *path;      /* for messages */
    koi_dem_tile tiles[KOI_DEM_TILES];
    int last; /* slot of the last tile used */
    uint64_t clock;
    int io_error; /* a tile read failed: the next caller reports it */
};

/* Terrain height at fractional pixel coordinates (GDAL convention: pixel (i, j) covers
 * [i, i+1) x [j, j+1)), bilinear between pixel centres. NaN outside the raster or where any
 * of the four pixels is nodata (or a read failed: dem->io_error is then set). */
double koi_dem_sample(ko_dem *dem, double px, double py);

/* Height of pixel (i, j), 0 <= i < xsize, 0 <= j < ysize; NaN for nodata or a failed read. */
double koi_dem_pixel(ko_dem *dem, int i, int j);

/* Copies the w x h pixels from (i0, j0) (inside the raster) into buf, row-major, NaN for
 * nodata. Returns 0 if a read fails (dem->io_error is then set). */
int koi_dem_read_window(ko_dem *dem, int i0, int j0, int w, int h, float *buf);

/* n WGS84 (lon, lat) points to DEM pixel coordinates, in place. Returns 0 on failure. */
int koi_dem_to_pixel(ko_dem *dem, size_t n, double *x, double *y);

/* Altitude of the camera on the DEM's vertical datum from an ellipsoidal or an orthometric
 * (EGM96) altitude. */
ko_status koi_dem_from_ellipsoidal(ko_context *ctx, ko_dem *dem, double lon, double lat, double h,
                                   double *z);
ko_status koi_dem_from_egm96(ko_context *ctx, ko_dem *dem, double lon, double lat, double h,
                             double *z);

/* Per-pose terrain state: the mapping from the local east/north frame under the camera to DEM
 * pixel coordinates, the camera's altitude on the DEM's vertical datum, and bounds of the terrain
 * around it. Filled by koi_terrain_begin(), used by koi_terrain_cast(). */
#define KOI_TERRAIN_BLOCK 4

typedef struct koi_terrain {
    ko_dem *dem;
    double range;          /* ground distance at which rays are cut, metres */
    int n;                 /* nodes per side of the mapping grid */
    double spacing;        /* metres between nodes; the grid spans [-range, range] on both axes */
    double inv_spacing;    /* 1 / spacing (the per-sample mapping multiplies) */
    double *node_px;       /* n * n (pixel x, pixel y) of the nodes */
    double cam_alt;        /* camera altitude on the DEM's vertical datum */
    double ground;         /* terrain under the camera */
    double takeoff_ground; /* terrain at the take-off point, NaN unless source uses it */
    const char *source;    /* where cam_alt came from: "alt_ellipsoid", "alt_msl",
                              "dem(takeoff)+height", "dem+height" */
    /* With an absolute cam_alt: the altitude the relative height gives (from rel_source),
     * within the sanity bound of cam_alt; NaN otherwise. */
    double alt_rel;
    const char *rel_source;
    double step;       /* march step: the DEM resolution in metres */
    int bounded;       /* the window below was scanned: zmax and slope are valid */
    double zmin, zmax; /* terrain within the range window */
    double slope;      /* bound of the terrain's gradient in the window (Lipschitz constant) */
    /* Highest terrain per block of KOI_TERRAIN_BLOCK x KOI_TERRAIN_BLOCK DEM cells of the window
     * (cell (i, j) spans the pixel centres i..i+1, j..j+1), so rays far above the ground cross a
     * block in one step; NULL when the window is unbounded. */
    float *block_max;
    int bi0, bj0, nbx, nby; /* first pixel of the window, blocks per row and column */
    float *win;             /* the window's heights (row-major, ww x wh), NULL if unbounded */
    int ww, wh;
} koi_terrain;

/* Prepares the casting of one pose's rays: camera altitude (with the sanity checks of
 * keepout.h), mapping grid and window bounds. On failure the message is in ctx. */
ko_status koi_terrain_begin(ko_context *ctx, ko_dem *dem, const ko_pose *pose, double range,
                            koi_terrain *t);

/* Casts the NED ray d from the camera onto the terrain. Writes the first crossing in local
 * east/north metres and returns 0, or writes the point at the range limit along the ray's
 * azimuth (yaw when the ray is vertical) and returns 1 when the ray passes the range limit (or
 * climbs away above the highest terrain); writes where it meets ground of unknown height (it
 * leaves the DEM or crosses nodata) and returns 2. Returns -1 on a read error of the DEM
 * (message in ctx). */
int koi_terrain_cast(ko_context *ctx, koi_terrain *t, const double d[3], double yaw_deg,
                     double *east, double *north, double *up);

/* 1 if the terrain is nowhere below the straight segment from a to b (local east, north and
 * altitude on the DEM's datum), 0 if it dips below it anywhere (by more than a micrometre), -1
 * if the segment meets ground of unknown height (where in *e, *n). Exact over the bilinear
 * terrain: along the segment it is a quadratic within each cell. */
int koi_terrain_covers(const koi_terrain *t, const double a[3], const double b[3], double *e,
                       double *n);

/* 1 if no point of the triangle between the camera and a, b (local east, north, altitude: the
 * fan of rays from the camera through a and b, cut at a and b) is at or under the terrain
 * (within a millimetre): no ray of the fan meets the terrain before the segment a-b. Exact
 * over the bilinear terrain: within a cell, terrain minus the fan's plane is bilinear, so its
 * largest value over the triangle is on the triangle's sides (the rays themselves, which the
 * caller knows, and a-b, walked as above) or at a DEM post inside it. 0 if not, -1 if the
 * triangle meets ground of unknown height (where in *e, *n). */
int koi_terrain_wedge_clear(const koi_terrain *t, const double a[3], const double b[3], double *e,
                            double *n);

void koi_terrain_end(koi_terrain *t);

/* The argument checks ko_footprint_compute() and ko_footprint_ground_points() share: the
 * options' size field, the pose and camera (ko_pose_validate), a camera above flat ground when
 * there is no DEM. *opts NULL is pointed at *defaults, filled with the defaults. */
ko_status koi_footprint_args(ko_context *ctx, const ko_camera *cam, const ko_pose *pose,
                             const ko_footprint_options **opts, ko_footprint_options *defaults);

/* The ground distance at which rays are cut before any GSD limit: max_range_m, else 2000 m. */
double koi_max_range(const ko_footprint_options *o);

#endif
