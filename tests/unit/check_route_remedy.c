/* ko_route_remedy() against remedies worked out by hand (test_scene.h): one leg flown north
 * from the scene's origin to 10 m north, 50 m above the take-off, camera at nadir facing
 * along the leg (4000 x 3000 pixels: 1.9 cm/px below, every site in view is resolved). With
 * the camera tilted k degrees forward from nadir, the ground behind it is seen back to
 * H tan(beta - k), beta = atan(0.5625) = 29.358 deg the half vertical field of view. */
#include "test_scene.h"

/* The leg as a MAVLink waypoint file (home, then two waypoints 50 m above the take-off) and
 * its exposures at pitch (NaN: the plan's, which sets none). */
static ko_exposures *leg_exposures(double pitch_deg, ko_route **rt) {
    char path[300], text[600];
    double lon0, lat0, lon1, lat1;
    scene_ll(0, 0, &lon0, &lat0);
    scene_ll(0, 10, &lon1, &lat1);
    snprintf(text, sizeof text,
             "QGC WPL 110\n"
             "0\t1\t0\t16\t0\t0\t0\t0\t%.9f\t%.9f\t0\t1\n"
             "1\t0\t3\t16\t0\t0\t0\t0\t%.9f\t%.9f\t50\t1\n"
             "2\t0\t3\t16\t0\t0\t0\t0\t%.9f\t%.9f\t50\t1\n",
             lat0, lon0, lat0, lon0, lat1, lon1);
    tmp_file(scene.db, "leg.waypoints", path, sizeof path);
    write_file(path, text);
    ck_assert_msg(ko_route_open(scene.ctx, path, rt) == KO_OK, "%s", ko_errmsg(scene.ctx));
    ko_route_options o;
    ko_route_options_init(&o);
    ko_camera cam = scene_camera(4000, 3000);
    o.camera = &cam;
    o.gimbal_pitch_deg = pitch_deg;
    ko_exposures *ex = NULL;
    ck_assert_msg(ko_route_exposures(scene.ctx, *rt, &o, &ex) == KO_OK, "%s", ko_errmsg(scene.ctx));
    ck_assert_uint_ge(ko_exposures_count(ex), 2);
    return ex;
}

static ko_remedy remedy_ok(const ko_exposures *ex, size_t leg) {
    ko_check_options o = scene_options(&scene);
    ko_remedy r = {0, 0};
    ko_status st = ko_route_remedy(scene.ctx, scene.s, ex, leg, &o, &r);
    ck_assert_msg(st == KO_OK, "%s", ko_errmsg(scene.ctx));
    return r;
}

/* A substation 20..25 m behind the start, 10 m wide: in view at nadir (the view reaches
 * 0.5625 x 50 = 28.1 m back). The plan has no capture action: it is filmed, sampled every 10 m,
 * and each frame stands for the flight halfway to its neighbours: the start sweeps 5 m, and
 * the check widens its view by M = 1.1 x 5 + 0.01 = 5.51 m (DESIGN.md, "Routes"); the other
 * frames, further north and sweeping no more, see less of the ground behind. Tilting forward:
 * k = 13 still sees 50 tan(16.36) + M = 20.19 m back, k = 14 only 50 tan(15.36) + M = 19.24 m:
 * the nearest clearing pitch is -76. Flying lower: 30 m sees 0.5625 x 30 + M = 22.4 m back,
 * 25 m 19.57 m: the nearest clearing change is -25 m (every climb sees more). */
START_TEST(test_remedy_pitch_and_height_by_hand) {
    const scene_site behind[] = {{"S substation", "substation", -5, 5, -25, -20}};
    scene_store(&scene, behind, 1);
    ko_route *rt = NULL;
    ko_exposures *ex = leg_exposures(-90, &rt);
    /* the binding frame: the start, standing for 5 m of flight */
    ck_assert_double_eq(ko_exposures_get(ex, 0)->along_m, 0);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 0)->shot.sweep_m, 5, 1e-6);
    ko_check_options o = scene_options(&scene);
    int flagged = 0;
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        ck_assert_uint_eq(e->leg, 0);
        ck_assert_ptr_null(e->shot.reason);
        ck_assert_double_eq_tol(remainder(e->shot.pose.yaw_deg, 360), 0, 1e-6); /* north */
        ck_assert_double_eq_tol(e->shot.pose.height_m, 50, 1e-9);
        ck_assert_msg(e->along_m >= 0 && e->along_m <= 10.001 && e->shot.sweep_m <= 5.001,
                      "frame %zu: %g m along, sweeps %g m", i, e->along_m, e->shot.sweep_m);
        ck_assert_double_eq(e->shot.climb_m, 0);
        ck_assert_double_eq(e->shot.yaw_turn_deg, 0);
        ck_assert_double_eq(e->shot.pitch_turn_deg, 0);
        ko_result *r = NULL;
        ck_assert_int_eq(ko_check_shot(scene.ctx, scene.s, &e->shot, &o, &r), KO_OK);
        flagged += ko_result_verdict(r) == KO_FLAGGED;
        ko_result_destroy(r);
    }
    ck_assert_int_ge(flagged, 1); /* at least the start sees it */
    ko_remedy rem = remedy_ok(ex, 0);
    ck_assert_double_eq(rem.pitch_deg, -76);
    ck_assert_double_eq(rem.height_m, -25);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
}
END_TEST

/* A substation 1 km across around the whole leg: from 10..120 m at any pitch in [-90, 0] the
 * near edge of the view is at most 120 / tan(beta) = 213 m off, inside it. No remedy: both
 * NaN, never a change that only seems to clear. */
START_TEST(test_remedy_none_when_no_change_clears) {
    const scene_site around[] = {{"W substation", "substation", -500, 500, -500, 500}};
    scene_store(&scene, around, 1);
    ko_route *rt = NULL;
    ko_exposures *ex = leg_exposures(-90, &rt);
    ko_remedy rem = remedy_ok(ex, 0);
    ck_assert(isnan(rem.pitch_deg));
    ck_assert(isnan(rem.height_m));
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
}
END_TEST

/* Exposures without a reliable pose (the plan sets no gimbal pitch), a leg that does not
 * exist, no store, a store lost under the handle: no remedy is claimed. */
START_TEST(test_remedy_fails_closed) {
    const scene_site behind[] = {{"S substation", "substation", -5, 5, -25, -20}};
    scene_store(&scene, behind, 1);
    ko_route *rt = NULL;
    ko_exposures *ex = leg_exposures(NAN, &rt);
    ck_assert_ptr_nonnull(ko_exposures_get(ex, 0)->shot.reason);
    ko_remedy rem = remedy_ok(ex, 0);
    ck_assert(isnan(rem.pitch_deg));
    ck_assert(isnan(rem.height_m));
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    ex = leg_exposures(-90, &rt);
    rem = remedy_ok(ex, 7);
    ck_assert(isnan(rem.pitch_deg));
    ck_assert(isnan(rem.height_m));
    ko_check_options o = scene_options(&scene);
    ck_assert_int_eq(ko_route_remedy(scene.ctx, NULL, ex, 0, &o, &rem), KO_ERR_ARG);
    ck_assert_int_eq(truncate(scene.db, 0), 0);
    ck_assert_int_ne(ko_route_remedy(scene.ctx, scene.s, ex, 0, &o, &rem), KO_OK);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_remedy_pitch_and_height_by_hand,
                            test_remedy_none_when_no_change_clears, test_remedy_fails_closed};
    return unit_run(&SCENE_SUITE("route_remedy", scene_setup_empty), tests, UNIT_COUNT(tests));
}
