/* Where single pixels meet the ground: the points a georeferenced image is placed by (GCPs). */
#include <math.h>
#include <stddef.h>

#include "camera/camera.h"
#include "core/core.h"
#include "footprint/footprint.h"
#include "geo/geo.h"

/* One ray onto flat ground at take-off level: 1 and the point within range, else 0. */
static int flat_hit(const double d[3], double height, double range, double *e, double *n) {
    if (!(d[2] > 1e-12)) return 0; /* level or climbing: never meets the ground */
    double t = height / d[2];
    *n = t * d[0], *e = t * d[1];
    return hypot(*e, *n) <= range;
}

ko_status ko_footprint_ground_points(ko_context *ctx, const ko_camera *cam, const ko_pose *pose,
                                     const ko_footprint_options *opts, size_t n, const double *uv,
                                     double *out, unsigned char *hit) {
    if (!ctx || !cam || !pose || (n && (!uv || !out || !hit)))
        return koi_error(ctx, KO_ERR_ARG, "ground points: NULL argument");
    ko_footprint_options defaults;
    ko_status st = koi_footprint_args(ctx, cam, pose, &opts, &defaults);
    if (st) return st;
    double range = koi_max_range(opts);
    koi_intrinsics k;
    koi_intrinsics_from(cam, &k);
    koi_rot r;
    koi_rotation(pose->yaw_deg, pose->pitch_deg, pose->roll_deg, &r);
    koi_terrain t;
    if (opts->dem && (st = koi_terrain_begin(ctx, opts->dem, pose, range, &t))) return st;
    for (size_t i = 0; !st && i < n; i++) {
        double d[3], e = 0, no = 0, z = 0;
        int ok = koi_pixel_ray(cam, &k, &r, uv[2 * i], uv[2 * i + 1], d);
        if (ok && opts->dem) {
            int c = koi_terrain_cast(ctx, &t, d, pose->yaw_deg, &e, &no, &z);
            if (c < 0) st = (ko_status)t.dem->io_error;
            ok = c == 0;
        } else if (ok) {
            ok = flat_hit(d, pose->height_m, range, &e, &no);
        }
        hit[i] = (unsigned char)(ok && !st);
        double *p = out + 3 * i;
        p[0] = p[1] = p[2] = NAN;
        if (hit[i]) {
            koi_local_to_wgs84(ctx, pose->lat, pose->lon, e, no, &p[1], &p[0]);
            p[2] = z;
        }
    }
    if (opts->dem) koi_terrain_end(&t);
    return st;
}
