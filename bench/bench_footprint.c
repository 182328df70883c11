/* Footprint cost per pose: flat ground, default samples per edge, with and without distortion.
 * Usage: bench_footprint [N] */
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

static double run(ko_context *ctx, const ko_camera *cam, int n) {
    ko_footprint_options o;
    ko_footprint_options_init(&o);
    double t0 = now(), area = 0;
    for (int i = 0; i < n; i++) {
        ko_pose p;
        ko_pose_init(&p);
        p.lat = 46.8 + 1e-5 * i;
        p.lon = -91.99;
        p.height_m = 40 + (i % 50);
        p.yaw_deg = i % 360;
        p.pitch_deg = -90 + (i % 60);
        p.roll_deg = 0;
        ko_footprint *fp = NULL;
        if (ko_footprint_compute(ctx, cam, &p, &o, &fp) != KO_OK) {
            fprintf(stderr, "footprint failed: %s\n", ko_errmsg(ctx));
            exit(1);
        }
        area += ko_footprint_area_m2(fp);
        ko_footprint_destroy(fp);
    }
    double dt = now() - t0;
    if (!(area > 0)) exit(1);
    return dt / n * 1e6;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    ko_context *ctx;
    if (ko_context_create(&ctx) != KO_OK) return 1;
    ko_camera cam;
    ko_camera_init(&cam);
    cam.focal_mm = 3.61;
    cam.sensor_w_mm = 6.17;
    cam.sensor_h_mm = 3.47;
    cam.width_px = 4000;
    cam.height_px = 2250;
    double pin = run(ctx, &cam, n);
    cam.k1 = -0.26;
    cam.k2 = 0.045;
    double dist = run(ctx, &cam, n);
    printf(
        "footprint per pose (%d poses, default 128 samples/edge): pinhole %.1f us, "
        "Brown distortion %.1f us (%.0f poses/s)\n",
        n, pin, dist, 1e6 / dist);
    ko_context_destroy(ctx);
    return 0;
}
