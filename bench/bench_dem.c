/* Terrain footprint cost: the same poses over the Andorra SRTM subset with and without the DEM.
 * Usage: bench_dem [N] [DEM]   (default 5000 poses, data/dem/andorra_srtm3_subset.tif) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "keepout/keepout.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Poses scattered over the valleys and slopes around Andorra la Vella, 40-89 m above the
 * ground, nadir to 31 deg below the horizon, all headings; poses whose view meets an SRTM void
 * (nodata) are skipped, as they give `unknown`, and counted in *voids. */
static int make_poses(ko_context *ctx, const ko_camera *cam, ko_dem *dem, int n, ko_pose *poses,
                      int *voids) {
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.dem = dem;
    int k = 0;
    *voids = 0;
    for (int i = 0; k < n && i < 100 * n; i++) {
        ko_pose p;
        ko_pose_init(&p);
        p.lat = 42.46 + 0.1 * ((i * 37) % 101) / 101.0;
        p.lon = 1.45 + 0.2 * ((i * 61) % 103) / 103.0;
        p.height_m = 40 + (i % 50);
        p.yaw_deg = i % 360;
        p.pitch_deg = -90 + (i % 60);
        p.roll_deg = 0;
        double z;
        if (ko_dem_elevation(dem, p.lon, p.lat, &z) != KO_OK) continue;
        ko_footprint *fp = NULL;
        if (ko_footprint_compute(ctx, cam, &p, &o, &fp) == KO_OK)
            poses[k++] = p;
        else
            ++*voids;
        ko_footprint_destroy(fp);
    }
    return k;
}

/* Microseconds per pose. */
static double run(ko_context *ctx, const ko_camera *cam, ko_dem *dem, const ko_pose *poses, int n,
                  double *area, int *limited) {
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    o.dem = dem;
    double t0 = now();
    *area = 0;
    *limited = 0;
    for (int i = 0; i < n; i++) {
        ko_footprint *fp = NULL;
        if (ko_footprint_compute(ctx, cam, &poses[i], &o, &fp) != KO_OK) {
            fprintf(stderr, "footprint failed: %s\n", ko_errmsg(ctx));
            exit(1);
        }
        *area += ko_footprint_area_m2(fp);
        *limited += ko_footprint_is_range_limited(fp);
        ko_footprint_destroy(fp);
    }
    return (now() - t0) / n * 1e6;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    const char *path = argc > 2 ? argv[2] : KEEPOUT_DATA_DIR "/dem/andorra_srtm3_subset.tif";
    if (n < 1) n = 1;
    ko_context *ctx;
    if (ko_context_create(&ctx) != KO_OK) return 1;
    ko_dem *dem = NULL;
    if (ko_dem_open(ctx, path, &dem) != KO_OK) {
        fprintf(stderr, "bench_dem: %s\n", ko_errmsg(ctx));
        ko_context_destroy(ctx);
        return 1;
    }
    ko_camera cam;
    ko_camera_init(&cam);
    cam.focal_mm = 3.61;
    cam.sensor_w_mm = 6.17;
    cam.sensor_h_mm = 3.47;
    cam.width_px = 4000;
    cam.height_px = 2250;
    double a_flat, a_dem;
    int l_flat, l_dem;
    ko_pose *poses = calloc((size_t)n, sizeof *poses);
    if (!poses) return 1;
    int voids;
    n = make_poses(ctx, &cam, dem, n, poses, &voids);
    run(ctx, &cam, dem, poses, n < 200 ? n : 200, &a_dem, &l_dem); /* warm the tile cache */
    /* The machine is shared: best of three interleaved rounds of each. */
    double flat = INFINITY, terr = INFINITY;
    for (int round = 0; round < 3; round++) {
        flat = fmin(flat, run(ctx, &cam, NULL, poses, n, &a_flat, &l_flat));
        terr = fmin(terr, run(ctx, &cam, dem, poses, n, &a_dem, &l_dem));
    }
    printf(
        "%d poses (%d more meet SRTM voids: unknown), 64 samples/edge, pinhole, range 2000 m, "
        "best of 3\n",
        n, voids);
    printf("flat: %8.1f us/pose %8.0f footprints/s  mean area %9.0f m2, %d range-limited\n", flat,
           1e6 / flat, a_flat / n, l_flat);
    printf("DEM:  %8.1f us/pose %8.0f footprints/s  mean area %9.0f m2, %d range-limited\n", terr,
           1e6 / terr, a_dem / n, l_dem);
    printf("DEM / flat cost ratio: %.2f\n", terr / flat);
    free(poses);
    ko_dem_close(dem);
    ko_context_destroy(ctx);
    return 0;
}
