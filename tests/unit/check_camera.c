/* Camera model: axis conventions of DESIGN.md and the distortion inverse. */
#include <math.h>
#include <stdlib.h>

#include "camera/camera.h"
#include "keepout/keepout.h"
#include "check_runner.h"

static ko_camera square_cam(void) {
    ko_camera c;
    ko_camera_init(&c);
    c.focal_mm = 10;
    c.sensor_w_mm = 10;
    c.sensor_h_mm = 10;
    c.width_px = 1000;
    c.height_px = 1000;
    return c;
}

static void ray(double yaw, double pitch, double roll, double u, double v, double d[3]) {
    ko_camera c = square_cam();
    koi_intrinsics k;
    koi_intrinsics_from(&c, &k);
    koi_rot r;
    koi_rotation(yaw, pitch, roll, &r);
    ck_assert(koi_pixel_ray(&c, &k, &r, u, v, d));
}

START_TEST(test_camera_level_axes_are_north_east_down) {
    double d[3];
    ray(0, 0, 0, 500, 500, d); /* optical axis = body x = north */
    ck_assert_double_eq_tol(d[0], 1, 1e-12);
    ck_assert_double_eq_tol(d[1], 0, 1e-12);
    ck_assert_double_eq_tol(d[2], 0, 1e-12);
    ray(0, 0, 0, 1000, 500, d); /* image right = body y = east */
    ck_assert_double_eq_tol(d[1], 0.5, 1e-12);
    ray(0, 0, 0, 500, 1000, d); /* image down = body z = down */
    ck_assert_double_eq_tol(d[2], 0.5, 1e-12);
}
END_TEST

START_TEST(test_camera_yaw_is_clockwise_from_north) {
    double d[3];
    ray(90, 0, 0, 500, 500, d);
    ck_assert_double_eq_tol(d[0], 0, 1e-12);
    ck_assert_double_eq_tol(d[1], 1, 1e-12);
}
END_TEST

START_TEST(test_camera_nadir_top_of_image_points_north) {
    double d[3];
    ray(0, -90, 0, 500, 500, d);
    ck_assert_double_eq_tol(d[2], 1, 1e-12);
    ray(0, -90, 0, 500, 0, d); /* top edge centre */
    ck_assert_double_eq_tol(d[0], 0.5, 1e-12);
    ray(0, -90, 0, 1000, 500, d); /* right edge centre */
    ck_assert_double_eq_tol(d[1], 0.5, 1e-12);
}
END_TEST

START_TEST(test_camera_positive_roll_puts_right_side_down) {
    double d[3];
    ray(0, 0, 10, 1000, 500, d);
    ck_assert(d[2] > 0);
    ck_assert_double_eq_tol(d[2], 0.5 * sin(10 * M_PI / 180), 1e-12);
    ray(0, 0, 10, 0, 500, d);
    ck_assert(d[2] < 0);
}
END_TEST

START_TEST(test_camera_undistort_inverts_distort) {
    ko_camera c = square_cam();
    c.k1 = -0.2611037143697243;
    c.k2 = 0.0451191919903731;
    c.k3 = 0.0009053749758353;
    c.p1 = -0.0001089328248685;
    c.p2 = 0.0004123953124223;
    for (double x = -0.9; x <= 0.9; x += 0.15)
        for (double y = -0.7; y <= 0.7; y += 0.14) {
            double u, v, xd, yd;
            ck_assert(koi_undistort(&c, x, y, &u, &v));
            koi_distort(&c, u, v, &xd, &yd);
            ck_assert_double_eq_tol(xd, x, 1e-10);
            ck_assert_double_eq_tol(yd, y, 1e-10);
        }
}
END_TEST

START_TEST(test_camera_undistort_reports_fold) {
    /* r (1 - 0.5 r^2) peaks at r = 0.816 with 0.544: a distorted radius of 0.7 has no
     * preimage, and the model must say so rather than invent a ray. */
    ko_camera c = square_cam();
    c.k1 = -0.5;
    double u, v;
    ck_assert(!koi_undistort(&c, 0.7, 0.0, &u, &v));
    ck_assert(koi_undistort(&c, 0.3, 0.0, &u, &v));
}
END_TEST

int main(void) {
    const TTest *tests[] = {
        test_camera_level_axes_are_north_east_down,  test_camera_yaw_is_clockwise_from_north,
        test_camera_nadir_top_of_image_points_north, test_camera_positive_roll_puts_right_side_down,
        test_camera_undistort_inverts_distort,       test_camera_undistort_reports_fold};
    return unit_run(&(unit_suite){.name = "camera", .tcase = "model"}, tests, UNIT_COUNT(tests));
}
