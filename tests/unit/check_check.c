/* ko_check_shot() against answers worked out by hand (test_scene.h): a nadir pinhole camera
 * 100 m over flat ground sees |east| <= 75 m, |north| <= 56.25 m; with a 100 x 75 pixel image
 * one pixel spans a = 1.5 mm / 100 / 1 mm = 0.015 rad, 1.5 m on the ground below. A site is
 * disclosed when its GSD (the slant distance to its nearest point in view times the finest
 * pixel there: a pinhole's pixel at theta off the axis spans a cos^2(theta) radially, a
 * cos(theta) across) is at or finer than its category's min_gsd_m. The library may err finer
 * (it takes a lower bound of the finest pixel of the image cells a site meets, the whole
 * image's for a site beyond it), never coarser; not much finer than the image's finest pixel,
 * at its corners: a / (1 + 0.75^2 + 0.5625^2) (its cell bounds undercut it by 2 %).
 * Bad input and a failed store are never `clear`. */
#include "test_scene.h"

#define A 0.015
#define CORNER (1 / (1 + 0.75 * 0.75 + 0.5625 * 0.5625))

static const ko_finding *finding(const ko_result *r, const char *name) {
    for (size_t i = 0; i < ko_result_count(r); i++)
        if (!strcmp(ko_result_finding(r, i)->site->name, name)) return ko_result_finding(r, i);
    return NULL;
}

static ko_decision decide(ko_release_mode mode, const ko_result *r) {
    ko_release_policy p;
    ko_release_policy_init(&p);
    p.mode = mode;
    return ko_release_decide(&p, r, NULL);
}

/* The check of the 100 x 75 camera at (e, n), 100 m up, yaw, nadir, with margin_m. */
static ko_result *check_at(double e, double n, double yaw, double margin_m) {
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot = scene_shot(&cam, e, n, 100, yaw, -90);
    ko_check_options o = scene_options(&scene);
    o.margin_m = margin_m;
    return scene_check(&shot, &o);
}

/* Asserts the finding's GSD lies between 0.9 x the image's finest pixel and the true GSD's
 * upper bound a, at the slant distance of its nearest point. */
static void gsd_within(const ko_finding *h) {
    double slant = hypot(100, h->site->distance_m);
    ck_assert_msg(h->gsd_m >= 0.9 * slant * A * CORNER && h->gsd_m <= slant * A + 1e-6,
                  "%s: GSD %g at %g m", h->site->name, h->gsd_m, slant);
}

START_TEST(test_check_nadir_discloses_only_what_is_resolved) {
    ko_check_options o = scene_options(&scene);
    ck_assert_double_eq(o.footprint->gsd_limit_m, 5); /* nuclear's, the coarsest category */
    ko_result *r = check_at(0, 0, 0, 0);
    ck_assert_int_eq(ko_result_verdict(r), KO_FLAGGED);
    ck_assert_int_eq(ko_result_checked(r), 1);
    ck_assert_str_eq(ko_result_reason(r), "2 site(s) in view and resolved");
    /* the footprint is the 150 x 112.5 m rectangle, not cut (corner GSD < 5 m) */
    const ko_footprint *fp = ko_result_footprint(r);
    ck_assert_ptr_nonnull(fp);
    ck_assert_double_eq_tol(ko_footprint_area_m2(fp), 150 * 112.5, 1e-6 * 150 * 112.5);
    ck_assert_int_eq(ko_footprint_is_range_limited(fp), 0);
    ck_assert_uint_eq(ko_result_count(r), 3); /* C is outside */
    ck_assert_ptr_null(finding(r, "C nuclear"));
    const ko_finding *r1 = finding(r, "R1 plant"), *r2 = finding(r, "R2 bridge"),
                     *r3 = finding(r, "R3 plant");
    ck_assert_ptr_nonnull(r1);
    ck_assert_ptr_nonnull(r2);
    ck_assert_ptr_nonnull(r3);
    /* R1: nearest point (24.3, 14.85), wholly in view; slant 104.0 m: GSD <= 1.56 <= 2 */
    ck_assert_double_eq_tol(r1->site->distance_m, hypot(24.3, 14.85), 0.01);
    ck_assert_double_eq_tol(r1->site->overlap, 1.0, 1e-3);
    ck_assert_str_eq(r1->site->category, "power_plant");
    ck_assert_double_eq(r1->site->min_gsd_m, 2);
    gsd_within(r1);
    ck_assert_int_eq(r1->disclosed, 1);
    ck_assert_ptr_nonnull(strstr(r1->rule, "disclosed"));
    /* R2: nearest point (-20, -10); its true GSD is at least 102.5 m x a / (1 + 0.13) (its far
     * corner (-30, -20)) = 1.36 m: too coarse for a bridge (1 m/px) */
    ck_assert_double_eq_tol(r2->site->distance_m, hypot(20, 10), 0.01);
    gsd_within(r2);
    ck_assert_double_gt(r2->gsd_m, 1.0);
    ck_assert_int_eq(r2->disclosed, 0);
    ck_assert_ptr_nonnull(strstr(r2->rule, "too coarse to disclose"));
    /* R3, across the east edge: nearest point (70, 0), half of it (70..75 of 70..80) in view */
    ck_assert_double_eq_tol(r3->site->distance_m, 70, 0.01);
    ck_assert_double_eq_tol(r3->site->overlap, 0.5, 1e-3);
    gsd_within(r3);
    ck_assert_int_eq(r3->disclosed, 1);
    ck_assert_int_eq(decide(KO_MODE_STRICT, r), KO_REFUSE);
    ck_assert_int_eq(decide(KO_MODE_REDACT, r), KO_REDACT);
    ko_result_destroy(r);
    /* turned to yaw 90 the view is 56.25 m wide to the east: R3 is out, R1 and R2 stay */
    r = check_at(0, 0, 90, 0);
    ck_assert_uint_eq(ko_result_count(r), 2);
    ck_assert_ptr_null(finding(r, "R3 plant"));
    ko_result_destroy(r);
}
END_TEST

/* Only R2 in view (camera 60 m west: east -135..15), which is too coarse: clear, with the
 * finding reported. Far away (500 m west): nothing in view. */
START_TEST(test_check_clear_when_nothing_is_resolved_or_in_view) {
    ko_result *r = check_at(-60, 0, 0, 0);
    ck_assert_int_eq(ko_result_verdict(r), KO_CLEAR);
    ck_assert_uint_eq(ko_result_count(r), 1);
    const ko_finding *r2 = ko_result_finding(r, 0);
    ck_assert_str_eq(r2->site->name, "R2 bridge");
    ck_assert_int_eq(r2->disclosed, 0);
    /* nearest point of R2 to the camera at (-60, 0): (-30, -10) */
    ck_assert_double_eq_tol(r2->site->distance_m, hypot(30, 10), 0.01);
    ck_assert_str_eq(ko_result_reason(r),
                     "1 site(s) in view, none resolved finely enough to disclose");
    ck_assert_int_eq(decide(KO_MODE_STRICT, r), KO_RELEASE);
    ko_result_destroy(r);
    r = check_at(-500, 0, 0, 0);
    ck_assert_int_eq(ko_result_verdict(r), KO_CLEAR);
    ck_assert_uint_eq(ko_result_count(r), 0);
    ck_assert_str_eq(ko_result_reason(r), "no protected site in view");
    ko_result_destroy(r);
}
END_TEST

/* C lies 10 m beyond the east edge: a 12 m margin takes it in (nearest point (85, 0), 85 m
 * off; 131 m slant: GSD <= 1.97 m, finer than nuclear's 5 m: disclosed), an 8 m one does not. */
START_TEST(test_check_margin_widens_the_view) {
    ko_result *r = check_at(0, 0, 0, 8);
    ck_assert_ptr_null(finding(r, "C nuclear"));
    ck_assert_uint_eq(ko_result_count(r), 3);
    ko_result_destroy(r);
    r = check_at(0, 0, 0, 12);
    const ko_finding *c = finding(r, "C nuclear");
    ck_assert_ptr_nonnull(c);
    ck_assert_double_eq_tol(c->site->distance_m, 85, 0.01);
    gsd_within(c);
    ck_assert_int_eq(c->disclosed, 1);
    ck_assert_uint_eq(ko_result_count(r), 4);
    ko_result_destroy(r);
}
END_TEST

/* Without an image size no GSD can be computed: a site in view counts as resolved (R2's 1 m
 * would otherwise spare it). */
START_TEST(test_check_unknown_image_size_discloses) {
    ko_camera cam = scene_camera(0, 0);
    ko_shot shot = scene_shot(&cam, -60, 0, 100, 0, -90);
    ko_result *r = scene_check(&shot, NULL);
    ck_assert_int_eq(ko_result_verdict(r), KO_FLAGGED);
    ck_assert_uint_eq(ko_result_count(r), 1);
    ck_assert(isnan(ko_result_finding(r, 0)->gsd_m));
    ck_assert_int_eq(ko_result_finding(r, 0)->disclosed, 1);
    ko_result_destroy(r);
}
END_TEST

/* A pose with a missing value is unknown with the field named, never clear; no footprint. */
START_TEST(test_check_bad_pose_is_unknown) {
    ko_camera cam = scene_camera(100, 75);
    const char *fields[] = {"lat", "lon", "height", "yaw", "pitch", "focal"};
    for (int k = 0; k < 6; k++) {
        ko_shot shot = scene_shot(&cam, -500, 0, 100, 0, -90); /* clear if it were complete */
        double *v[] = {&shot.pose.lat,     &shot.pose.lon,       &shot.pose.height_m,
                       &shot.pose.yaw_deg, &shot.pose.pitch_deg, &shot.camera.focal_mm};
        *v[k] = NAN;
        ko_result *r = scene_check(&shot, NULL);
        ck_assert_int_eq(ko_result_verdict(r), KO_UNKNOWN);
        ck_assert_ptr_null(ko_result_footprint(r));
        ck_assert_uint_eq(ko_result_count(r), 0);
        ck_assert_msg(strstr(ko_result_reason(r), fields[k]), "%s: %s", fields[k],
                      ko_result_reason(r));
        ck_assert_int_eq(ko_result_checked(r), 1);
        ck_assert_int_eq(decide(KO_MODE_STRICT, r), KO_REFUSE);
        ck_assert_int_eq(decide(KO_MODE_REDACT, r), KO_REFUSE);
        ko_result_destroy(r);
    }
    /* a negative height without a take-off point: not above the ground */
    ko_shot shot = scene_shot(&cam, -500, 0, -5, 0, -90);
    ko_result *r = scene_check(&shot, NULL);
    ck_assert_int_eq(ko_result_verdict(r), KO_UNKNOWN);
    ko_result_destroy(r);
}
END_TEST

/* A reader's reason is kept; an unreadable input is unknown and not checked: refused even
 * when only tagging. */
START_TEST(test_check_reader_reason_and_unreadable) {
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot = scene_shot(&cam, -500, 0, 100, 0, -90);
    shot.reason = "no gimbal attitude in the file";
    ko_result *r = scene_check(&shot, NULL);
    ck_assert_int_eq(ko_result_verdict(r), KO_UNKNOWN);
    ck_assert_str_eq(ko_result_reason(r), "no gimbal attitude in the file");
    ck_assert_int_eq(ko_result_checked(r), 1);
    ko_result_destroy(r);
    shot.reason = NULL;
    shot.unreadable = 1;
    r = scene_check(&shot, NULL);
    ck_assert_int_eq(ko_result_verdict(r), KO_UNKNOWN);
    ck_assert_int_eq(ko_result_checked(r), 0);
    ck_assert_int_eq(decide(KO_MODE_TAG, r), KO_REFUSE);
    ck_assert_int_eq(decide(KO_MODE_STRICT, r), KO_REFUSE);
    ko_result_destroy(r);
}
END_TEST

/* No store: no result, and no result is refused in every mode. */
START_TEST(test_check_without_store_is_refused) {
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot = scene_shot(&cam, -500, 0, 100, 0, -90);
    ko_result *r = NULL;
    ck_assert_int_eq(ko_check_shot(scene.ctx, NULL, &shot, NULL, &r), KO_ERR_ARG);
    ck_assert_ptr_null(r);
    ko_sites *missing = NULL;
    ck_assert_int_eq(
        ko_sites_open(scene.ctx, "/nonexistent/keepout/sites.sqlite", KO_SITES_READONLY, &missing),
        KO_ERR_IO);
    ck_assert_ptr_null(missing);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(scene.ctx), "/nonexistent/keepout/sites.sqlite"));
    for (int m = KO_MODE_TAG; m <= KO_MODE_STRICT; m++)
        ck_assert_int_eq(decide((ko_release_mode)m, NULL), KO_REFUSE);
}
END_TEST

/* The store file emptied under an open handle: the check fails (the caller reports an error),
 * or its verdict is not clear. */
START_TEST(test_check_store_lost_under_the_handle_is_not_clear) {
    ko_result *r = check_at(-500, 0, 0, 0);
    ck_assert_int_eq(ko_result_verdict(r), KO_CLEAR);
    ko_result_destroy(r);
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot = scene_shot(&cam, -500, 0, 100, 0, -90);
    ko_check_options o = scene_options(&scene);
    ck_assert_int_eq(truncate(scene.db, 0), 0);
    r = NULL;
    ko_status st = ko_check_shot(scene.ctx, scene.s, &shot, &o, &r);
    ck_assert_msg(st != KO_OK || ko_result_verdict(r) != KO_CLEAR,
                  "an emptied store answered clear");
    if (st != KO_OK) ck_assert_ptr_null(r);
    ko_result_destroy(r);
}
END_TEST

/* A video frame 20 m up looking east 3 deg below the horizon, range limit 150 m, while the
 * gimbal tilts by 5 deg: the tilt moves its grazing rays' ground by kilometres, and the margin
 * that covers that (L (h + r) / h per radian: 122 m here) once flagged sites far beyond the
 * range limit (adversary: a site 1.5 km behind a turning camera). Every view of the frame
 * stays within the range limit of the camera, so the widened footprint is cut there (plus the
 * frame's sweep): R1 and R2, 170 m and more away, are not in view; a site 5-10 m behind the
 * camera, inside the margin and the range, still is. */
START_TEST(test_check_motion_margin_stays_within_the_range) {
    static const scene_site behind[] = {{"B behind", "power_plant", -210, -205, -2, 2}};
    scene_store(&scene, behind, 1);
    ko_camera cam = scene_camera(4000, 3000);
    ko_shot shot = scene_shot(&cam, -200, 0, 20, 90, -3);
    shot.pitch_turn_deg = 5;
    ko_check_options o = scene_options(&scene);
    scene_footprint.max_range_m = 150;
    ko_result *r = scene_check(&shot, &o);
    ck_assert_ptr_nonnull(finding(r, "B behind"));
    ck_assert_ptr_null(finding(r, "R1 plant"));
    ck_assert_ptr_null(finding(r, "R2 bridge"));
    ck_assert_uint_eq(ko_result_count(r), 1);
    ko_result_destroy(r);
    /* the sweep moves the camera: a frame that stands for 40 m of flight east reaches R2
     * (170.3 m from the frame's camera, within 150 m of a camera 40 m on) */
    shot.sweep_m = 40;
    r = scene_check(&shot, &o);
    ck_assert_ptr_nonnull(finding(r, "R2 bridge"));
    ko_result_destroy(r);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_check_nadir_discloses_only_what_is_resolved,
                            test_check_clear_when_nothing_is_resolved_or_in_view,
                            test_check_margin_widens_the_view,
                            test_check_motion_margin_stays_within_the_range,
                            test_check_unknown_image_size_discloses,
                            test_check_bad_pose_is_unknown,
                            test_check_reader_reason_and_unreadable,
                            test_check_without_store_is_refused,
                            test_check_store_lost_under_the_handle_is_not_clear};
    return unit_run(&SCENE_SUITE("check", scene_setup), tests, UNIT_COUNT(tests));
}
