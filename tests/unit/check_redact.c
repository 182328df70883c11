/* ko_redact_mask() against pixel sets worked out by hand (test_scene.h): a nadir pinhole camera
 * 100 m over flat ground, yaw 0, image 100 x 75 pixels, principal point at the centre (50, 37.5)
 * and fx = fy = 100 / 1.5 px: the ground point (east e, north n) lands at
 *     u = 50 + e / 1.5,  v = 37.5 - n / 1.5   (pixel i spans [i, i + 1)).
 * A site's pixels are those whose centre lies inside its projection and those its outline
 * passes through; for a square site that is every pixel the projected rectangle touches. */
#include "test_raster.h"
#include "test_scene.h"

/* The scene's sites (test_scene.h): R1, power_plant, disclosed, its corners at u 66.2..72.9,
 * v 20.3..27.6; R2, bridge, in view but too coarse to disclose: never blanked; R3,
 * power_plant, across the east edge of the view (75 m east, u = 100): its part in view, e
 * 70..75, at u 96.67..100, v 34.03..40.63; C out of view. */

/* Pixel rectangles x0..x1, y0..y1 (inclusive) of a w x h mask, each dilated by r pixels and
 * clipped to the image, as the expected mask; returns how many pixels it holds. */
static size_t expect(uint8_t *m, uint32_t w, uint32_t h, const int (*rect)[4], int n, int r) {
    memset(m, 0, (size_t)w * h);
    for (int k = 0; k < n; k++)
        for (int y = rect[k][2] - r; y <= rect[k][3] + r; y++)
            for (int x = rect[k][0] - r; x <= rect[k][1] + r; x++)
                if (x >= 0 && y >= 0 && x < (int)w && y < (int)h) m[(size_t)y * w + x] = 255;
    size_t count = 0;
    for (size_t i = 0; i < (size_t)w * h; i++)
        count += m[i] != 0;
    return count;
}

/* Asserts got == want pixel by pixel, naming the first difference. */
static void same_mask(const uint8_t *got, const uint8_t *want, uint32_t w, uint32_t h) {
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            ck_assert_msg(got[(size_t)y * w + x] == want[(size_t)y * w + x],
                          "pixel (%u, %u): %d, expected %d", x, y, got[(size_t)y * w + x],
                          want[(size_t)y * w + x]);
}

static ko_result *check_on(const ko_shot *shot, ko_dem *dem) {
    ko_check_options o = scene_options(&scene);
    ko_footprint_options fo = *o.footprint;
    fo.dem = dem;
    o.footprint = &fo;
    return scene_check(shot, &o);
}
/* The hand-made sets at 100 x 75, margins 0 and 2. */
START_TEST(test_redact_nadir_square_sites_by_hand) {
    static uint8_t got[100 * 75], want[100 * 75];
    const int small[][4] = {{66, 72, 20, 27}, {96, 99, 34, 40}};
    struct {
        uint32_t w, h;
        double margin;
        const int (*rect)[4];
        int r;
        size_t count;
    } cases[] = {
        {100, 75, 0, small, 0, 7 * 8 + 4 * 7},
        {100, 75, 1.5, small, 2, 11 * 12 + 6 * 11}, /* a margin rounds up to whole pixels */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        /* the same lens recording cases[c].w x cases[c].h pixels */
        ko_camera cam = scene_camera(cases[c].w, cases[c].h);
        ko_shot shot = scene_shot(&cam, 0, 0, 100, 0, -90);
        ko_result *r = check_on(&shot, NULL);
        ck_assert_int_eq(ko_result_verdict(r), KO_FLAGGED);
        ck_assert_uint_eq(ko_result_count(r), 3); /* R1, R2, R3 */
        memset(got, 0xab, sizeof got);            /* whatever the caller's buffer held */
        size_t n = 0;
        ko_status st = ko_redact_mask(scene.ctx, scene.s, NULL, &shot, r, cases[c].w, cases[c].h,
                                      cases[c].margin, got, &n);
        ck_assert_msg(st == KO_OK, "%s", ko_errmsg(scene.ctx));
        ck_assert_uint_eq(expect(want, cases[c].w, cases[c].h, cases[c].rect, 2, cases[c].r),
                          cases[c].count);
        same_mask(got, want, cases[c].w, cases[c].h);
        ck_assert_uint_eq(n, cases[c].count);
        ko_result_destroy(r);
    }
}
END_TEST

/* The mask is in the camera's pixels: an image that is not the frame the camera recorded (a
 * resized copy, a crop, a rotated copy) is refused, not redacted as if scaled. Adversary A1: a
 * centred half-size crop of a DJI frame, scaled, left 593,205 of 867,019 site pixels in view. */
START_TEST(test_redact_refuses_a_grid_that_is_not_the_camera_frame) {
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot = scene_shot(&cam, 0, 0, 100, 0, -90);
    ko_result *r = check_on(&shot, NULL);
    ck_assert_int_eq(ko_result_verdict(r), KO_FLAGGED);
    static uint8_t m[200 * 150];
    const uint32_t grids[][2] = {{200, 150}, {50, 37}, {50, 38}, {75, 100}, {100, 76}, {101, 75}};
    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++) {
        size_t n = 12345;
        ck_assert_int_eq(
            ko_redact_mask(scene.ctx, scene.s, NULL, &shot, r, grids[g][0], grids[g][1], 0, m, &n),
            KO_ERR_UNSUPPORTED);
        ck_assert_msg(strstr(ko_errmsg(scene.ctx), "100x75 frame"), "%s", ko_errmsg(scene.ctx));
        ck_assert_uint_eq(n, 0);
    }
    ko_shot unknown = shot; /* a camera whose frame size is not known */
    unknown.camera.width_px = unknown.camera.height_px = 0;
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, NULL, &unknown, r, 100, 75, 0, m, NULL),
                     KO_ERR_UNSUPPORTED);
    ko_result_destroy(r);
}
END_TEST

/* An image as wide as the camera's frame with fewer rows (or as high, with fewer columns) is a
 * crop of it whose place is not known (the camera's centred 16:9 mode, or an editor's crop of
 * that shape anywhere): a pixel is blanked if a site covers it at any place of the window.
 * 100 x 45 of the 100 x 75 frame, offsets 0..30: image row v shows frame row v + off, so R1's
 * frame rows 20..27 are image rows 0..27 and R3's 34..40 are 4..40. 60 x 75, offsets 0..40:
 * R1's columns 66..72 are image columns 26..59 (clipped), R3's 96..99 are 56..59. */
START_TEST(test_redact_a_window_of_the_frame_wherever_it_lies) {
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot = scene_shot(&cam, 0, 0, 100, 0, -90);
    ko_result *r = check_on(&shot, NULL);
    ck_assert_int_eq(ko_result_verdict(r), KO_FLAGGED);
    static uint8_t got[100 * 75], want[100 * 75];
    const int rows[][4] = {{66, 72, 0, 27}, {96, 99, 4, 40}};
    const int cols[][4] = {{26, 59, 20, 27}, {56, 59, 34, 40}};
    struct {
        uint32_t w, h;
        const int (*rect)[4];
        size_t count;
    } cases[] = {{100, 45, rows, 7 * 28 + 4 * 37}, {60, 75, cols, 34 * 8 + 4 * 7}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        memset(got, 0xab, sizeof got);
        size_t n = 0;
        ko_status st =
            ko_redact_mask(scene.ctx, scene.s, NULL, &shot, r, cases[c].w, cases[c].h, 0, got, &n);
        ck_assert_msg(st == KO_OK, "%s", ko_errmsg(scene.ctx));
        ck_assert_uint_eq(expect(want, cases[c].w, cases[c].h, cases[c].rect, 2, 0),
                          cases[c].count);
        same_mask(got, want, cases[c].w, cases[c].h);
        ck_assert_uint_eq(n, cases[c].count);
    }
    ko_result_destroy(r);
}
END_TEST

/* Turned to yaw 90 the top of the image points east, its right side south and its bottom
 * west: u = 50 - n / 1.5, v = 37.5 - e / 1.5. */
START_TEST(test_redact_follows_the_yaw) {
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot = scene_shot(&cam, 0, 0, 100, 90, -90);
    ko_result *r = check_on(&shot, NULL);
    ck_assert_int_eq(ko_result_verdict(r), KO_FLAGGED);
    static uint8_t got[100 * 75], want[100 * 75];
    size_t n = 0;
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, NULL, &shot, r, 100, 75, 0, got, &n),
                     KO_OK);
    /* R1: u = 50 - (14.85..25.8) / 1.5 = 32.8..40.1, v = 37.5 - (24.3..34.35) / 1.5 = 14.6..21.3.
     * R3 (75 m east) is out of this view (56.25 m to the east); R2 is not disclosed. */
    const int rect[][4] = {{32, 40, 14, 21}};
    ck_assert_uint_eq(expect(want, 100, 75, rect, 1, 0), 9 * 8);
    same_mask(got, want, 100, 75);
    ck_assert_uint_eq(n, 9 * 8);
    ko_result_destroy(r);
}
END_TEST

/* 300 m everywhere; with arg[0] != 0 no data (-9999) in the box arg[1..4] (lon0, lat0, lon1,
 * lat1). */
static double z_300(double lon, double lat, const double *arg) {
    return arg[0] && lon > arg[1] && lon < arg[3] && lat > arg[2] && lat < arg[4] ? -9999 : 300;
}

static ko_dem *flat_dem(const char *path, int hole) {
    const double gt[6] = {SCENE_LON - 0.01, 0.0001, 0, SCENE_LAT + 0.01, 0, -0.0001};
    double arg[5] = {hole}; /* the hole: east 15..40, north 10..32 m, under R1 */
    scene_ll(15, 10, &arg[1], &arg[2]);
    scene_ll(40, 32, &arg[3], &arg[4]);
    make_dem_srs(path, "EPSG:4326", gt, 200, 200, z_300, arg, 1);
    ko_dem *dem = NULL;
    ck_assert_msg(ko_dem_open(scene.ctx, path, &dem) == KO_OK, "%s", ko_errmsg(scene.ctx));
    return dem;
}

/* A flat DEM at 300 m (camera 100 m above the ground under it: "dem+height") is the same
 * scene: the same pixels. Redaction needs the DEM the shot was checked with, and the DEM's
 * data under every point it blanks (no data under R1: an error, never a partial mask). */
START_TEST(test_redact_on_a_dem) {
    ko_dem *dem = flat_dem("/vsimem/flat300.tif", 0);
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot = scene_shot(&cam, 0, 0, 100, 0, -90);
    ko_result *r = check_on(&shot, dem);
    ck_assert_int_eq(ko_result_verdict(r), KO_FLAGGED);
    ck_assert_str_eq(ko_footprint_height_source(ko_result_footprint(r)), "dem+height");
    static uint8_t got[100 * 75], want[100 * 75];
    size_t n = 0;
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, dem, &shot, r, 100, 75, 0, got, &n), KO_OK);
    const int rect[][4] = {{66, 72, 20, 27}, {96, 99, 34, 40}};
    ck_assert_uint_eq(expect(want, 100, 75, rect, 2, 0), 7 * 8 + 4 * 7);
    same_mask(got, want, 100, 75);
    /* checked on the DEM, redacted as if on flat ground: refused */
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, NULL, &shot, r, 100, 75, 0, got, &n),
                     KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(scene.ctx), "DEM"));
    ko_result_destroy(r);
    /* checked on flat ground, redacted on the DEM: refused */
    r = check_on(&shot, NULL);
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, dem, &shot, r, 100, 75, 0, got, &n),
                     KO_ERR_ARG);
    ko_result_destroy(r);
    ko_dem_close(dem);
    /* no DEM data under R1: the view meets ground of unknown height, so the check is unknown
     * (naming the DEM); the mask blanks nothing for it (ko_release_decide() refuses it) */
    dem = flat_dem("/vsimem/hole300.tif", 1);
    r = check_on(&shot, dem);
    ck_assert_int_eq(ko_result_verdict(r), KO_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(ko_result_reason(r), "hole300.tif has no height for"));
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, dem, &shot, r, 100, 75, 0, got, &n), KO_OK);
    ck_assert_uint_eq(n, 0);
    ko_result_destroy(r);
    ko_dem_close(dem);
    VSIUnlink("/vsimem/flat300.tif");
    VSIUnlink("/vsimem/hole300.tif");
}
END_TEST

/* Results other than flagged blank nothing (their release is ko_release_decide()'s: an
 * unknown one is refused, also when redacting); bad arguments are errors. */
START_TEST(test_redact_only_flagged_and_bad_arguments) {
    static uint8_t m[100 * 75];
    size_t n = 7;
    ko_camera cam = scene_camera(100, 75);
    ko_shot far = scene_shot(&cam, -500, 0, 100, 0, -90);
    ko_result *r = check_on(&far, NULL);
    ck_assert_int_eq(ko_result_verdict(r), KO_CLEAR);
    memset(m, 0xab, sizeof m);
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, NULL, &far, r, 100, 75, 0, m, &n), KO_OK);
    ck_assert_uint_eq(n, 0);
    for (size_t i = 0; i < sizeof m; i++)
        ck_assert_int_eq(m[i], 0);
    ko_result_destroy(r);
    ko_shot bad = scene_shot(&cam, 0, 0, 100, 0, -90);
    bad.pose.pitch_deg = NAN;
    r = check_on(&bad, NULL);
    ck_assert_int_eq(ko_result_verdict(r), KO_UNKNOWN);
    n = 7;
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, NULL, &bad, r, 100, 75, 0, m, &n), KO_OK);
    ck_assert_uint_eq(n, 0);
    ko_release_policy p;
    ko_release_policy_init(&p);
    p.mode = KO_MODE_REDACT;
    ck_assert_int_eq(ko_release_decide(&p, r, NULL), KO_REFUSE);
    ko_result_destroy(r);
    ko_shot shot = scene_shot(&cam, 0, 0, 100, 0, -90);
    r = check_on(&shot, NULL);
    ck_assert_int_eq(ko_release_decide(&p, r, NULL), KO_REDACT);
    ck_assert_int_eq(ko_redact_mask(scene.ctx, NULL, NULL, &shot, r, 100, 75, 0, m, &n),
                     KO_ERR_ARG);
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, NULL, &shot, NULL, 100, 75, 0, m, &n),
                     KO_ERR_ARG);
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, NULL, &shot, r, 0, 75, 0, m, &n),
                     KO_ERR_ARG);
    ck_assert_int_eq(ko_redact_mask(scene.ctx, scene.s, NULL, &shot, r, 100, 75, 0, NULL, &n),
                     KO_ERR_ARG);
    ko_result_destroy(r);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_redact_nadir_square_sites_by_hand,
                            test_redact_follows_the_yaw,
                            test_redact_on_a_dem,
                            test_redact_only_flagged_and_bad_arguments,
                            test_redact_refuses_a_grid_that_is_not_the_camera_frame,
                            test_redact_a_window_of_the_frame_wherever_it_lies};
    return unit_run(&SCENE_SUITE("redact", scene_setup), tests, UNIT_COUNT(tests));
}
