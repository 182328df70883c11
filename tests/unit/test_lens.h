/* The lens the footprint, DEM and scene tests work out by hand: a pinhole with tan(HFOV/2) =
 * 0.75 and tan(VFOV/2) = 0.5625 (focal 1 mm, sensor 1.5 x 1.125 mm: 24 mm-equivalent, 4:3),
 * and poses of it over Brighton Beach (LENS_LAT, LENS_LON), where the real photos were taken. */
#ifndef KEEPOUT_TEST_LENS_H
#define KEEPOUT_TEST_LENS_H

#include "keepout/keepout.h"

#define LENS_LAT 46.842607
#define LENS_LON (-91.99456)

static inline ko_camera lens_075(void) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 1.0;
    c.sensor_w_mm = 1.5;
    c.sensor_h_mm = 1.125;
    return c;
}

/* The lens h metres above flat ground at (LENS_LAT, LENS_LON), turned yaw, pitch, roll. */
static inline ko_pose pose_at(double h, double yaw, double pitch, double roll) {
    ko_pose p;
    ko_pose_init(&p);
    p.lat = LENS_LAT;
    p.lon = LENS_LON;
    p.height_m = h;
    p.yaw_deg = yaw;
    p.pitch_deg = pitch;
    p.roll_deg = roll;
    return p;
}

#endif
