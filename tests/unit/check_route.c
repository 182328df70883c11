/* Mission readers and exposures: the real samples in data/routes (expected values read from
 * the files by eye and quoted in each test), hand-written missions for the trigger arithmetic
 * (a leg of known length along the equator) and malformed files. */
#include <cpl_vsi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"
#include "check_runner.h"

#define DATA KEEPOUT_TEST_DATA
#define ROUTES DATA "/routes/"

static ko_context *ctx;

static void setup(void) {
    ck_assert_int_eq(ko_global_init(), KO_OK);
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
}

static void teardown(void) {
    ko_context_destroy(ctx);
}

static ko_route *open_ok(const char *path) {
    ko_route *rt = NULL;
    ko_status s = ko_route_open(ctx, path, &rt);
    ck_assert_msg(s == KO_OK, "%s: %s", path, ko_errmsg(ctx));
    return rt;
}

static void put(const char *path, const char *text) {
    VSILFILE *fp = VSIFOpenL(path, "wb");
    ck_assert_ptr_nonnull(fp);
    VSIFWriteL(text, 1, strlen(text), fp);
    VSIFCloseL(fp);
}

/* A repository file's text with every `from` replaced by `to`, written to dst (a /vsimem copy
 * of a real plan with one value changed); `from` must occur ("" copies the file). */
static void copy_edited(const char *src, const char *dst, const char *from, const char *to) {
    GByte *buf = NULL;
    vsi_l_offset size = 0;
    ck_assert(VSIIngestFile(NULL, src, &buf, &size, 1 << 24));
    const char *text = (const char *)buf;
    size_t cap = size + 4096, n = 0, lf = strlen(from), lt = strlen(to), hits = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    for (const char *p = text; *p;) {
        const char *hit = lf ? strstr(p, from) : NULL;
        size_t keep = hit ? (size_t)(hit - p) : strlen(p);
        ck_assert_uint_lt(n + keep + lt, cap);
        memcpy(out + n, p, keep);
        n += keep;
        if (!hit) break;
        hits++;
        memcpy(out + n, to, lt);
        n += lt;
        p = hit + lf;
    }
    out[n] = '\0';
    ck_assert_msg(!lf || hits, "%s: '%.60s' not found", src, from); /* an edit that edits */
    put(dst, out);
    free(out);
    VSIFree(buf);
}

/* The exposures of rt through a 24 mm-equivalent 4000 x 3000 camera and default options (the
 * plan's own gimbal, -90 unless it says otherwise); exposures_of asserts they were made. */
static ko_status expose_24mm(ko_route *rt, ko_exposures **ex) {
    ko_camera cam;
    ko_camera_init(&cam);
    ko_route_options o;
    ko_route_options_init(&o);
    ck_assert_int_eq(ko_camera_from_focal35(24, 4000, 3000, &cam), KO_OK);
    o.camera = &cam;
    *ex = NULL;
    return ko_route_exposures(ctx, rt, &o, ex);
}

static ko_exposures *exposures_of(ko_route *rt) {
    ko_exposures *ex = NULL;
    ck_assert_int_eq(expose_24mm(rt, &ex), KO_OK);
    return ex;
}

/* waylines.wpml of the M4T export: executeHeightMode WGS84, one Placemark at 11.499985362,
 * 48.19014118, executeHeight 561.276374117301; template.kml takeOffRefPoint
 * 48.190141,11.499985,541.276374; the actions at index 0 end with gimbalRotate -58.9. */
START_TEST(wpml_pilot2_heights_and_gimbal) {
    ko_route *rt = open_ok(ROUTES "dji_wpml_m4t_pilot2/waylines.wpml");
    ck_assert_str_eq(ko_route_format(rt), "wpml");
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 1);
    const ko_waypoint *w = ko_route_waypoint(rt, 0);
    ck_assert_double_eq_tol(w->lat, 48.19014118, 1e-9);
    ck_assert_double_eq_tol(w->lon, 11.499985362, 1e-9);
    ck_assert_int_eq(w->height_ref, KO_HEIGHT_WGS84);
    ck_assert_double_eq_tol(w->height, 561.276374117301, 1e-9);
    ck_assert_double_eq_tol(w->gimbal_pitch_deg, -58.9, 1e-9);
    double lat, lon, h;
    ko_height_ref ref;
    ck_assert(ko_route_takeoff(rt, &lat, &lon, &h, &ref));
    ck_assert_int_eq(ref, KO_HEIGHT_WGS84);
    ck_assert_double_eq_tol(h, 541.276374, 1e-6);
    /* 561.276 - 541.276: the camera flies 20 m above the take-off ground */
    ko_exposures *ex = exposures_of(rt);
    ck_assert_uint_ge(ko_exposures_count(ex), 1);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 0)->shot.pose.height_m, 20.0, 1e-6);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
}
END_TEST

/* The same file's actions at index 0: rotateYaw -105.6 (heading 254.4), then two gimbalRotate
 * with gimbalHeadingYawBase north whose gimbalYawRotateEnable 0 comes BEFORE
 * gimbalYawRotateAngle 0 (DJI Pilot 2's order): the yaw axis is not turned, so the camera
 * follows the aircraft to 254.4 deg, not north. Likewise a pitch whose Enable 0 precedes its
 * Angle -30 leaves the -90 set before it. */
START_TEST(wpml_axis_not_enabled) {
    ko_route *rt = open_ok(ROUTES "dji_wpml_m4t_pilot2/waylines.wpml");
    ko_exposures *ex = exposures_of(rt);
    ck_assert_uint_ge(ko_exposures_count(ex), 1);
    const ko_exposure *e = ko_exposures_get(ex, 0);
    ck_assert_double_eq_tol(e->shot.pose.yaw_deg, 360 - 105.6, 1e-9);
    ck_assert_double_eq_tol(e->shot.pose.pitch_deg, -58.9, 1e-9);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    const char *path = "/vsimem/axis_off.wpml";
    put(path,
        "<kml xmlns=\"http://www.opengis.net/kml/2.2\" "
        "xmlns:wpml=\"http://www.dji.com/wpmz/1.0.6\"><Document><Folder>"
        "<wpml:executeHeightMode>relativeToStartPoint</wpml:executeHeightMode>"
        "<Placemark><Point><coordinates>8.0,47.0</coordinates></Point>"
        "<wpml:index>0</wpml:index><wpml:executeHeight>50</wpml:executeHeight>"
        "<wpml:actionGroup><wpml:actionGroupStartIndex>0</wpml:actionGroupStartIndex>"
        "<wpml:actionGroupEndIndex>0</wpml:actionGroupEndIndex>"
        "<wpml:actionGroupMode>sequence</wpml:actionGroupMode>"
        "<wpml:actionTrigger><wpml:actionTriggerType>reachPoint</wpml:actionTriggerType>"
        "</wpml:actionTrigger>"
        "<wpml:action><wpml:actionActuatorFunc>gimbalRotate</wpml:actionActuatorFunc>"
        "<wpml:actionActuatorFuncParam>"
        "<wpml:gimbalPitchRotateEnable>1</wpml:gimbalPitchRotateEnable>"
        "<wpml:gimbalPitchRotateAngle>-90</wpml:gimbalPitchRotateAngle>"
        "</wpml:actionActuatorFuncParam></wpml:action>"
        "<wpml:action><wpml:actionActuatorFunc>gimbalRotate</wpml:actionActuatorFunc>"
        "<wpml:actionActuatorFuncParam>"
        "<wpml:gimbalPitchRotateEnable>0</wpml:gimbalPitchRotateEnable>"
        "<wpml:gimbalPitchRotateAngle>-30</wpml:gimbalPitchRotateAngle>"
        "</wpml:actionActuatorFuncParam></wpml:action>"
        "<wpml:action><wpml:actionActuatorFunc>takePhoto</wpml:actionActuatorFunc>"
        "</wpml:action></wpml:actionGroup></Placemark></Folder></Document></kml>");
    rt = open_ok(path);
    ex = exposures_of(rt);
    ck_assert_uint_eq(ko_exposures_count(ex), 1);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 0)->shot.pose.pitch_deg, -90, 1e-9);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* The M4T plan's takePhoto names payloadLensIndex "visable,ir" (and template.kml's imageFormat
 * the same): every photo is also taken by the thermal lens, which the zoom does not narrow.
 * With the zoom set to 168 mm-equivalent and the camera given as the thermal core (9.1 mm on
 * 7.68 x 6.144 mm, 640 x 512: 12 um pixels), the photo is judged through both: the thermal
 * core as given, and the 168 mm-equivalent lens (its diagonal field: focal 168 on the 35 mm
 * diagonal, 43.27 mm). A photo whose list names only "visable" is the zoomed lens alone. */
START_TEST(wpml_zoom_keeps_other_lenses) {
    const char *src[2] = {ROUTES "dji_wpml_m4t_pilot2/waylines.wpml",
                          ROUTES "dji_wpml_m4t_pilot2/template.kml"};
    const char *dst[2] = {"/vsimem/m4t_zoom/waylines.wpml", "/vsimem/m4t_zoom/template.kml"};
    ko_camera ir;
    ko_camera_init(&ir);
    ir.focal_mm = 9.1, ir.sensor_w_mm = 7.68, ir.sensor_h_mm = 6.144;
    ir.width_px = 640, ir.height_px = 512;
    ko_route_options o;
    ko_route_options_init(&o);
    o.camera = &ir;
    o.gimbal_pitch_deg = -90;
    for (int only_visible = 0; only_visible < 2; only_visible++) {
        for (int i = 0; i < 2; i++)
            copy_edited(src[i], dst[i], "<wpml:focalLength>24</wpml:focalLength>",
                        "<wpml:focalLength>168</wpml:focalLength>");
        if (only_visible) { /* the action's own list "visable", not the plan's imageFormat */
            copy_edited(dst[0], "/vsimem/m4t_zoom/w2", "visable,ir</wpml:payloadLensIndex>",
                        "visable</wpml:payloadLensIndex>");
            copy_edited("/vsimem/m4t_zoom/w2", dst[0], "<wpml:useGlobalPayloadLensIndex>1<",
                        "<wpml:useGlobalPayloadLensIndex>0<");
            VSIUnlink("/vsimem/m4t_zoom/w2");
        }
        ko_route *rt = open_ok(dst[0]);
        ko_exposures *ex = NULL;
        ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_OK);
        ck_assert_uint_eq(ko_exposures_count(ex), (only_visible ? 1 : 2));
        int thermal = 0, zoomed = 0;
        for (size_t k = 0; k < ko_exposures_count(ex); k++) {
            const ko_camera *c = &ko_exposures_get(ex, k)->shot.camera;
            ck_assert_uint_eq(ko_exposures_get(ex, k)->waypoint, 0);
            if (c->focal_mm == 9.1 && c->sensor_w_mm == 7.68 && c->sensor_h_mm == 6.144)
                thermal++;
            else if (fabs(c->focal_mm * 43.2666 / hypot(c->sensor_w_mm, c->sensor_h_mm) - 168) <
                     0.01)
                zoomed++;
        }
        ck_assert_int_eq(thermal, (only_visible ? 0 : 1));
        ck_assert_int_eq(zoomed, 1);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
        for (int i = 0; i < 2; i++)
            VSIUnlink(dst[i]);
    }
}
END_TEST

/* One waylines.wpml Placemark: index, lon, lat, height, then an actionGroup at that index of
 * the given actions (each "<wpml:action>...</wpml:action>"), or none. */
#define WPML_PM(idx, lonlat, height, actions)                                                  \
    "<Placemark><Point><coordinates>" lonlat "</coordinates></Point><wpml:index>" idx          \
    "</wpml:index><wpml:executeHeight>" height                                                 \
    "</wpml:executeHeight>"                                                                    \
    "<wpml:actionGroup><wpml:actionGroupStartIndex>" idx                                       \
    "</wpml:actionGroupStartIndex>"                                                            \
    "<wpml:actionGroupEndIndex>" idx                                                           \
    "</wpml:actionGroupEndIndex>"                                                              \
    "<wpml:actionGroupMode>sequence</wpml:actionGroupMode><wpml:actionTrigger>"                \
    "<wpml:actionTriggerType>reachPoint</wpml:actionTriggerType></wpml:actionTrigger>" actions \
    "</wpml:actionGroup></Placemark>"
#define WPML_PITCH(deg)                                                                            \
    "<wpml:action><wpml:actionActuatorFunc>gimbalRotate</wpml:actionActuatorFunc>"                 \
    "<wpml:actionActuatorFuncParam><wpml:gimbalPitchRotateEnable>1</wpml:gimbalPitchRotateEnable>" \
    "<wpml:gimbalPitchRotateAngle>" deg                                                            \
    "</wpml:gimbalPitchRotateAngle>"                                                               \
    "</wpml:actionActuatorFuncParam></wpml:action>"
#define WPML_PHOTO \
    "<wpml:action><wpml:actionActuatorFunc>takePhoto</wpml:actionActuatorFunc></wpml:action>"

/* Three waylines (Folders) in one file, each numbering its waypoints from 0 (DJI's oblique
 * mapping missions): wayline 1 at 47.00 N, relativeToStartPoint 50 m, pitch -90 at its WP0;
 * wayline 2 at 47.01 N, aboveGroundLevel 30 m, pitch 0 at its WP0; wayline 3 at 47.02 N sets
 * no pitch. Each is flown on its own, in document order: waypoints 47.00, 47.00, 47.01, 47.01,
 * 47.02; photos at -90, -90, 0, 0 and then unknown (wayline 3 never sets the pitch: not the 0
 * wayline 2 left); each wayline's heights on its own mode. */
START_TEST(wpml_waylines_apart) {
    const char *path = "/vsimem/three_waylines.wpml";
    put(path,
        "<kml xmlns=\"http://www.opengis.net/kml/2.2\" "
        "xmlns:wpml=\"http://www.dji.com/wpmz/1.0.6\"><Document>"
        "<Folder><wpml:waylineId>0</wpml:waylineId>"
        "<wpml:executeHeightMode>relativeToStartPoint</wpml:executeHeightMode>" WPML_PM(
            "0", "8.000,47.00", "50", WPML_PITCH("-90") WPML_PHOTO)
            WPML_PM("1", "8.001,47.00", "50", WPML_PHOTO) "</Folder>"
        "<Folder><wpml:waylineId>1</wpml:waylineId>"
        "<wpml:executeHeightMode>aboveGroundLevel</wpml:executeHeightMode>" WPML_PM(
            "0", "8.000,47.01", "30", WPML_PITCH("0") WPML_PHOTO)
            WPML_PM("1", "8.001,47.01", "30", WPML_PHOTO) "</Folder>"
        "<Folder><wpml:waylineId>2</wpml:waylineId>"
        "<wpml:executeHeightMode>relativeToStartPoint</wpml:executeHeightMode>" WPML_PM(
            "0", "8.000,47.02", "40", WPML_PHOTO) "</Folder></Document></kml>");
    ko_route *rt = open_ok(path);
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 5);
    const double lat[5] = {47.00, 47.00, 47.01, 47.01, 47.02};
    const ko_height_ref ref[5] = {KO_HEIGHT_TAKEOFF, KO_HEIGHT_TAKEOFF, KO_HEIGHT_AGL,
                                  KO_HEIGHT_AGL, KO_HEIGHT_TAKEOFF};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_double_eq_tol(ko_route_waypoint(rt, i)->lat, lat[i], 1e-12);
        ck_assert_int_eq(ko_route_waypoint(rt, i)->height_ref, ref[i]);
    }
    ko_exposures *ex = exposures_of(rt);
    ck_assert_uint_eq(ko_exposures_count(ex), 5);
    const double pitch[4] = {-90, -90, 0, 0};
    for (size_t i = 0; i < 5; i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        ck_assert_uint_eq(e->waypoint, i);
        if (i < 4) {
            ck_assert_ptr_null(e->shot.reason);
            ck_assert_double_eq_tol(e->shot.pose.pitch_deg, pitch[i], 1e-9);
        } else {
            ck_assert_ptr_nonnull(e->shot.reason);
            ck_assert_ptr_nonnull(strstr(e->shot.reason, "gimbal pitch"));
        }
    }
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* The KMZ is read through /vsizip/ and holds 3 Placemarks (unzip -l; grep -c Placemark). Its
 * first waypoint takes 6 orientedShoot photos, each with its own gimbal pitch, zoom and
 * heading (read from waylines.wpml: gimbalPitchRotateAngle, focalLength, aircraftHeading). */
START_TEST(wpml_kmz_oriented_shots) {
    ko_route *rt = open_ok(ROUTES "dji_wpml_m4t_pilot2/dev_kmz_file.kmz");
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 3);
    const double want[6][3] = {{-27.686, 24, 6.797},  {-30.191, 336, 6.47},
                               {-27.686, 671, 6.797}, {-26.459, 854, 10.182},
                               {-27.939, 216, 8.269}, {-27.939, 216, 8.269}};
    ko_exposures *ex = exposures_of(rt);
    ck_assert_uint_eq(ko_exposures_count(ex), 6);
    for (size_t i = 0; i < 6; i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        ck_assert_uint_eq(e->waypoint, 0);
        ck_assert_double_eq_tol(e->shot.pose.pitch_deg, want[i][0], 1e-9);
        ck_assert_double_eq_tol(e->shot.camera.focal_mm, want[i][1], 1e-9);
        ck_assert_double_eq_tol(e->shot.pose.yaw_deg, want[i][2], 1e-9);
    }
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
}
END_TEST

/* waygen: 12 Placemarks, relativeToStartPoint, executeHeight 50, gimbalRotate -90 at index 0
 * then a takePhoto at every waypoint. */
START_TEST(wpml_waygen_replays_the_gimbal) {
    ko_route *rt = open_ok(ROUTES "dji_wpml_djifly_waygen");
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 12);
    for (size_t i = 0; i < 12; i++) {
        const ko_waypoint *w = ko_route_waypoint(rt, i);
        ck_assert_int_eq(w->height_ref, KO_HEIGHT_TAKEOFF);
        ck_assert_double_eq_tol(w->height, 50, 1e-9);
        ck_assert_double_eq_tol(w->gimbal_pitch_deg, -90, 1e-9); /* set once, carried on */
        ck_assert_uint_eq(w->photos, 1);
    }
    ko_route_destroy(rt);
}
END_TEST

/* Litchi: 52 data rows; altitude 100, altitudemode 1 (AGL); actiontype2 = 1 (take photo) on
 * rows 2..48 (47 photos); gimbalmode 0 (the plan leaves the gimbal to the pilot). */
START_TEST(litchi_sample) {
    ko_route *rt = open_ok(ROUTES "litchi_csv/waypoints.csv");
    ck_assert_str_eq(ko_route_format(rt), "litchi");
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 52);
    unsigned photos = 0;
    for (size_t i = 0; i < 52; i++) {
        const ko_waypoint *w = ko_route_waypoint(rt, i);
        photos += w->photos;
        ck_assert_int_eq(w->height_ref, KO_HEIGHT_AGL);
        ck_assert(isnan(w->gimbal_pitch_deg));
    }
    ck_assert_uint_eq(photos, 47);
    const ko_waypoint *w0 = ko_route_waypoint(rt, 0);
    ck_assert_double_eq_tol(w0->lat, 21.2568756, 1e-9);
    ck_assert_double_eq_tol(w0->lon, -157.8072611, 1e-9);
    ck_assert_double_eq_tol(w0->height, 100, 1e-9);
    ko_route_destroy(rt);
}
END_TEST

/* Survey plan: DO_SET_CAM_TRIGG_DIST param1 = 25 inside the survey's Items; CameraCalc is
 * "Manual (no camera specs)"; plannedHomePosition is set. */
START_TEST(qgc_survey_trigger) {
    ko_route *rt = open_ok(ROUTES "qgc_plan/qgroundcontrol_sample_with_survey.plan");
    ck_assert_str_eq(ko_route_format(rt), "qgc-plan");
    ko_camera cam;
    ck_assert(!ko_route_camera(rt, &cam));
    int distance = 0;
    for (size_t i = 0; i < ko_route_waypoint_count(rt); i++) {
        const ko_waypoint *w = ko_route_waypoint(rt, i);
        if (w->trigger == KO_TRIGGER_DISTANCE) {
            ck_assert_double_eq_tol(w->trigger_value, 25, 1e-9);
            distance++;
        }
    }
    ck_assert_int_gt(distance, 0);
    ck_assert(ko_route_takeoff(rt, NULL, NULL, NULL, NULL));
    ko_route_destroy(rt);
}
END_TEST

/* A 1000 m leg due east along the equator (0.0089831528 degrees of longitude is 1000 m on
 * WGS84's equator: 2*pi*6378137/360 m per degree) with a 100 m distance trigger set before
 * waypoint 1: photos at 0, 100, ..., 900 m (the trigger fires at once), 10 in all, and the
 * waypoint the triggered leg reaches (the aircraft stops there with the trigger on): 11. */
START_TEST(distance_trigger_arithmetic) {
    const char *path = "/vsimem/leg.waypoints";
    put(path,
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t0\t0.0\t10.0\t50\t1\n"
        "2\t0\t2\t206\t100\t0\t0\t0\t0\t0\t0\t1\n"
        "3\t0\t2\t205\t-90\t0\t0\t0\t0\t0\t2\t1\n"
        "4\t0\t3\t16\t0\t0\t0\t0\t0.0\t10.0089831528\t50\t1\n");
    ko_route *rt = open_ok(path);
    ck_assert_str_eq(ko_route_format(rt), "qgc-wpl");
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 2);
    ko_camera cam;
    ko_camera_init(&cam);
    ko_route_options o;
    ko_route_options_init(&o);
    ck_assert_int_eq(ko_camera_from_focal35(24, 4000, 3000, &cam), KO_OK);
    o.camera = &cam;
    ko_exposures *ex = NULL;
    ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_OK);
    ck_assert_uint_eq(ko_exposures_count(ex), 11);
    for (size_t i = 0; i < 11; i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        if (i < 10) {
            ck_assert_uint_eq(e->waypoint, 0);
            ck_assert_double_eq_tol(e->along_m, 100.0 * (double)i, 1e-6);
        } else { /* at waypoint 2 itself */
            ck_assert_uint_eq(e->waypoint, 1);
            ck_assert_double_eq_tol(e->along_m, 0, 1e-9);
            ck_assert_double_eq_tol(e->shot.pose.lon, 10.0089831528, 1e-9);
        }
        ck_assert_double_eq_tol(e->shot.pose.yaw_deg, 90, 1e-6); /* facing along the leg */
        ck_assert_double_eq_tol(e->shot.pose.pitch_deg, -90, 1e-9);
        ck_assert_double_eq_tol(e->shot.pose.height_m, 50, 1e-9);
        ck_assert_ptr_null(e->shot.reason);
    }
    ko_exposures_destroy(ex);
    /* video instead: every 10 m, both ends included: 101 samples */
    o.continuous = 1;
    ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_OK);
    ck_assert_uint_eq(ko_exposures_count(ex), 101);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 100)->along_m, 1000.0, 1e-3);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* (The hand-written missions below leave NAV_WAYPOINT's param4 yaw unset, NaN, unless they
 * test it: a yaw there is judged both ways, see qgc_waypoint_yaw_both_ways.)
 * MAVLink runs a waypoint's DO commands in order: "pitch -30, photo, pitch -90" photographs at
 * -30 (the later mount command sets the next leg's camera, not the photo's); a second photo
 * after it is at -90. Both at waypoint 1 (0.0, 10.0), 50 m. */
START_TEST(qgc_photo_state_at_the_photo) {
    const char *path = "/vsimem/photo_state.waypoints";
    put(path,
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
        "1\t0\t3\t16\t0\t0\t0\tnan\t0.0\t10.0\t50\t1\n"
        "2\t0\t2\t205\t-30\t0\t0\t0\t0\t0\t2\t1\n"
        "3\t0\t2\t2000\t0\t0\t1\t0\t0\t0\t0\t1\n"
        "4\t0\t2\t205\t-90\t0\t0\t0\t0\t0\t2\t1\n"
        "5\t0\t2\t203\t0\t0\t0\t0\t1\t0\t0\t1\n"
        "6\t0\t3\t16\t0\t0\t0\tnan\t0.001\t10.0\t50\t1\n");
    ko_route *rt = open_ok(path);
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 2);
    ko_exposures *ex = exposures_of(rt);
    ck_assert_uint_eq(ko_exposures_count(ex), 2);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 0)->shot.pose.pitch_deg, -30, 1e-9);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 1)->shot.pose.pitch_deg, -90, 1e-9);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_uint_eq(ko_exposures_get(ex, i)->waypoint, 0);
        ck_assert_double_eq_tol(ko_exposures_get(ex, i)->shot.pose.yaw_deg, 0, 1e-6); /* north */
    }
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* CONDITION_YAW turns the aircraft where it is: a photo after it at the same waypoint faces
 * its heading (90, east), not the next leg's course (north); a relative one (param4 1) turns
 * from there, param3 -1 counter-clockwise: 90 - 30 = 60. From a heading the plan does not fix
 * (the course), a relative turn may leave the aircraft facing any way: that photo is judged
 * every way round (yaw_turn_deg 180). */
START_TEST(qgc_condition_yaw_at_the_photo) {
    const char *path = "/vsimem/cyaw.waypoints";
    put(path,
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
        "1\t0\t3\t16\t0\t0\t0\tnan\t0.0\t10.0\t50\t1\n"
        "2\t0\t2\t205\t-90\t0\t0\t0\t0\t0\t2\t1\n"
        "3\t0\t2\t115\t90\t0\t0\t0\t0\t0\t0\t1\n"
        "4\t0\t2\t2000\t0\t0\t1\t0\t0\t0\t0\t1\n"
        "5\t0\t2\t115\t30\t0\t-1\t1\t0\t0\t0\t1\n"
        "6\t0\t2\t2000\t0\t0\t1\t0\t0\t0\t0\t1\n"
        "7\t0\t3\t16\t0\t0\t0\tnan\t0.001\t10.0\t50\t1\n");
    ko_route *rt = open_ok(path);
    ko_exposures *ex = exposures_of(rt);
    ck_assert_uint_eq(ko_exposures_count(ex), 2);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 0)->shot.pose.yaw_deg, 90, 1e-9);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 1)->shot.pose.yaw_deg, 60, 1e-9);
    ck_assert_ptr_null(ko_exposures_get(ex, 1)->shot.reason);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    put(path,
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
        "1\t0\t3\t16\t0\t0\t0\tnan\t0.0\t10.0\t50\t1\n"
        "2\t0\t2\t205\t-90\t0\t0\t0\t0\t0\t2\t1\n"
        "3\t0\t2\t115\t45\t0\t1\t1\t0\t0\t0\t1\n"
        "4\t0\t2\t2000\t0\t0\t1\t0\t0\t0\t0\t1\n"
        "5\t0\t3\t16\t0\t0\t0\tnan\t0.001\t10.0\t50\t1\n");
    rt = open_ok(path);
    ex = exposures_of(rt);
    ck_assert_uint_eq(ko_exposures_count(ex), 1);
    ck_assert_ptr_null(ko_exposures_get(ex, 0)->shot.reason);
    ck_assert_double_eq(ko_exposures_get(ex, 0)->shot.yaw_turn_deg, 180); /* any way round */
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* DO_GIMBAL_MANAGER_PITCHYAW (1000) param2 yaw 90 with param5 flags on a leg flown due west
 * (course 270): GIMBAL_MANAGER_FLAGS_YAW_IN_EARTH_FRAME (64) alone, or YAW_LOCK (16), is 90
 * from north; no flag is 90 from the aircraft's nose (270 + 90 = 0); YAW_IN_VEHICLE_FRAME (32)
 * likewise. */
START_TEST(qgc_gimbal_manager_yaw_frame) {
    const char *path = "/vsimem/gm.waypoints";
    const struct {
        const char *flags;
        double yaw;
    } cases[] = {{"64", 90}, {"16", 90}, {"0", 0}, {"32", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "QGC WPL 110\n"
                 "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
                 "1\t0\t3\t16\t0\t0\t0\tnan\t0.0\t10.001\t50\t1\n"
                 "2\t0\t2\t1000\t-30\t90\t0\t0\t%s\t0\t0\t1\n"
                 "3\t0\t2\t2000\t0\t0\t1\t0\t0\t0\t0\t1\n"
                 "4\t0\t3\t16\t0\t0\t0\tnan\t0.0\t10.0\t50\t1\n",
                 cases[i].flags);
        put(path, text);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_of(rt);
        ck_assert_uint_eq(ko_exposures_count(ex), 1);
        const ko_pose *pose = &ko_exposures_get(ex, 0)->shot.pose;
        ck_assert_msg(fabs(remainder(pose->yaw_deg - cases[i].yaw, 360.0)) < 1e-6,
                      "flags %s: yaw %g, expected %g", cases[i].flags, pose->yaw_deg, cases[i].yaw);
        ck_assert_double_eq_tol(pose->pitch_deg, -30, 1e-9);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* Every MAVLink NAV command that flies to a position is a waypoint: NAV_SPLINE_WAYPOINT (82)
 * and NAV_LOITER_TO_ALT (31) too (they were dropped, the route flown straight past them). A
 * command keepout does not know may move the aircraft or the camera (DO_JUMP 177 repeats
 * items, DO_SET_SERVO 183 may fire a camera, DO_REPOSITION 192 moves the aircraft): the plan
 * is not read, naming the line and the command; inert ones (CONDITION_DELAY 112,
 * SET_CAMERA_MODE 530) are passed over. */
START_TEST(qgc_every_command_understood) {
    const char *path = "/vsimem/cmds.waypoints";
    put(path,
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t0\t0.0\t10.0\t50\t1\n"
        "2\t0\t3\t112\t5\t0\t0\t0\t0\t0\t0\t1\n"
        "3\t0\t3\t82\t0\t0\t0\t0\t0.001\t10.0\t50\t1\n"
        "4\t0\t2\t530\t0\t0\t0\t0\t0\t0\t0\t1\n"
        "5\t0\t3\t31\t0\t0\t0\t0\t0.002\t10.0\t60\t1\n");
    ko_route *rt = open_ok(path);
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 3);
    ck_assert_double_eq_tol(ko_route_waypoint(rt, 1)->lat, 0.001, 1e-12);
    ck_assert_double_eq_tol(ko_route_waypoint(rt, 2)->lat, 0.002, 1e-12);
    ko_route_destroy(rt);
    const char *cmds[] = {"177", "183", "192"};
    for (size_t i = 0; i < 3; i++) {
        char text[512], want[32];
        snprintf(text, sizeof text,
                 "QGC WPL 110\n"
                 "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
                 "1\t0\t3\t16\t0\t0\t0\t0\t0.0\t10.0\t50\t1\n"
                 "2\t0\t3\t%s\t1\t0\t0\t0\t0\t0\t0\t1\n"
                 "3\t0\t3\t16\t0\t0\t0\t0\t0.001\t10.0\t50\t1\n",
                 cmds[i]);
        put(path, text);
        rt = NULL;
        ck_assert_int_eq(ko_route_open(ctx, path, &rt), KO_ERR_FORMAT);
        ck_assert_ptr_null(rt);
        snprintf(want, sizeof want, "item 4: MAVLink command %s", cmds[i]);
        ck_assert_msg(strstr(ko_errmsg(ctx), want) != NULL, "%s", ko_errmsg(ctx));
    }
    VSIUnlink(path);
}
END_TEST

/* NAV_WAYPOINT param4 90: PX4 turns the aircraft to face east at the waypoint, ArduPilot keeps
 * facing along the course (north here): its photo is judged both ways, 90 and 0. A
 * CONDITION_YAW before the photo fixes the heading: one photo. */
START_TEST(qgc_waypoint_yaw_both_ways) {
    const char *path = "/vsimem/wpyaw.waypoints";
    put(path,
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t90\t0.0\t10.0\t50\t1\n"
        "2\t0\t2\t205\t-30\t0\t0\t0\t0\t0\t2\t1\n"
        "3\t0\t2\t2000\t0\t0\t1\t0\t0\t0\t0\t1\n"
        "4\t0\t3\t16\t0\t0\t0\t0\t0.001\t10.0\t50\t1\n"
        "5\t0\t2\t115\t180\t0\t0\t0\t0\t0\t0\t1\n"
        "6\t0\t2\t2000\t0\t0\t1\t0\t0\t0\t0\t1\n");
    ko_route *rt = open_ok(path);
    ko_exposures *ex = exposures_of(rt);
    ck_assert_uint_eq(ko_exposures_count(ex), 3);
    const double yaw[3] = {90, 0, 180};
    const size_t wp[3] = {0, 0, 1};
    for (size_t i = 0; i < 3; i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        ck_assert_uint_eq(e->waypoint, wp[i]);
        ck_assert_msg(fabs(remainder(e->shot.pose.yaw_deg - yaw[i], 360.0)) < 1e-6,
                      "photo %zu: yaw %g, expected %g", i, e->shot.pose.yaw_deg, yaw[i]);
    }
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* qgroundcontrol_sample.plan (MAVSDK): take-off at 47.3977507, 8.5456075 (home the same), then
 * NAV_WAYPOINTs WP2 47.39777106, 8.5466122 (76 m east), an IMAGE_START_CAPTURE (item 2, a
 * single photo: param3 1), WP4 47.39827377, 8.54660532 (56 m north), WP5 47.39827842,
 * 8.54560824 (75 m west), RETURN_TO_LAUNCH (item 5). The tests below edit one item at a time. */
#define QGC_SAMPLE ROUTES "qgc_plan/qgroundcontrol_sample.plan"
/* The JSON text of a .plan item in the sample's layout: command, frame 2, doJumpId 3 and the
 * seven params p (JSON numbers, comma-separated). */
static void qgc_item(char *out, size_t size, int command, const char *p) {
    char params[256];
    size_t n = 0;
    for (const char *c = p; *c && n + 32 < sizeof params; c++) { /* one param a line */
        if (*c == ' ') continue;
        if (*c == ',') {
            n += (size_t)snprintf(params + n, sizeof params - n, ",\n                    ");
            continue;
        }
        params[n++] = *c;
    }
    params[n] = '\0';
    snprintf(out, size,
             "\"command\": %d,\n                \"doJumpId\": 3,\n                \"frame\": 2,\n"
             "                \"params\": [\n                    %s\n                ],",
             command, params);
}

#define QGC_RTL_ITEM "\"command\": 20,"

/* The sample with its photo item (item 2) made `command` with params p (see qgc_item) and,
 * with photo_at_end, its RETURN_TO_LAUNCH made a photo (IMAGE_START_CAPTURE with no interval:
 * one photo at WP5), written to dst. */
static void qgc_sample_edited(const char *dst, int command, const char *p, int photo_at_end) {
    char from[512], to[512];
    qgc_item(from, sizeof from, 2000, "0, 0, 1, 0, 0, 0, 0");
    qgc_item(to, sizeof to, command, p);
    copy_edited(QGC_SAMPLE, "/vsimem/qgc_edit_tmp.plan", from, to);
    copy_edited("/vsimem/qgc_edit_tmp.plan", dst, photo_at_end ? QGC_RTL_ITEM : "",
                "\"command\": 2000,");
    VSIUnlink("/vsimem/qgc_edit_tmp.plan");
}

/* Exposures of rt through a 24 mm-equivalent camera, the gimbal at -90 (the sample never sets
 * it), continuous: the camera records all the way. */
static ko_exposures *exposures_nadir(ko_route *rt, int continuous) {
    ko_camera cam;
    ko_camera_init(&cam);
    ck_assert_int_eq(ko_camera_from_focal35(24, 4000, 3000, &cam), KO_OK);
    ko_route_options o;
    ko_route_options_init(&o);
    o.camera = &cam;
    o.gimbal_pitch_deg = -90;
    o.continuous = continuous;
    ko_exposures *ex = NULL;
    ck_assert_msg(ko_route_exposures(ctx, rt, &o, &ex) == KO_OK, "%s", ko_errmsg(ctx));
    return ex;
}

/* Whether some exposure on leg `leg` (any if SIZE_MAX), with no reason, faces yaw (+-2 deg). */
static int faces(const ko_exposures *ex, size_t leg, double yaw) {
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        if ((leg == SIZE_MAX || e->leg == leg) && !e->shot.reason &&
            fabs(remainder(e->shot.pose.yaw_deg - yaw, 360.0)) < 2.0)
            return 1;
    }
    return 0;
}

/* CONDITION_YAW 180 (absolute, param4 0) after WP2 holds the aircraft south, and ArduPilot
 * turns back to the course when the next NAV command starts (WP_YAW_BEHAVIOR, unless 0): past
 * WP4 the heading is south or the course, which the plan does not say. Both are judged: the
 * photo at WP5 at 180 and at the course it arrives on (west, 270), and, with the camera
 * recording all the way, the leg WP4 -> WP5 at 180 and 270. It was judged at 180 alone. */
START_TEST(qgc_condition_yaw_held_or_not) {
    const char *path = "/vsimem/cyaw_sample.plan";
    const char *yaw180 = "180, 0, 1, 0, 0, 0, 0"; /* param3 1: clockwise */
    qgc_sample_edited(path, 115, yaw180, 1);
    ko_route *rt = open_ok(path);
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 4);
    ko_exposures *ex = exposures_nadir(rt, 0);
    ck_assert_uint_eq(ko_exposures_count(ex), 2);
    for (size_t i = 0; i < 2; i++)
        ck_assert_uint_eq(ko_exposures_get(ex, i)->waypoint, 3);
    ck_assert(faces(ex, SIZE_MAX, 180));
    ck_assert(faces(ex, SIZE_MAX, 270));
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    qgc_sample_edited(path, 115, yaw180, 0); /* no capture action: every leg is sampled */
    rt = open_ok(path);
    ex = exposures_nadir(rt, 0);
    ck_assert(faces(ex, 2, 180) && faces(ex, 2, 270)); /* WP4 -> WP5 */
    ck_assert(faces(ex, 1, 180) && faces(ex, 1, 0));   /* WP2 -> WP4, turning after WP2 */
    ck_assert(faces(ex, 0, 90) && !faces(ex, 0, 180)); /* take-off -> WP2: before the yaw */
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    /* relative (param4 1) 90 clockwise from the course, which ArduPilot takes at an instant
     * the plan does not fix (arriving east, or leaving north): the photo at WP5 and every leg
     * after WP2 stand for every heading (they were: the photo unknown, the legs the course) */
    qgc_sample_edited(path, 115, "90, 0, 1, 1, 0, 0, 0", 1);
    rt = open_ok(path);
    ex = exposures_nadir(rt, 0);
    ck_assert_uint_ge(ko_exposures_count(ex), 1);
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        ck_assert_ptr_null(ko_exposures_get(ex, i)->shot.reason);
        ck_assert_double_eq(ko_exposures_get(ex, i)->shot.yaw_turn_deg, 180);
    }
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    qgc_sample_edited(path, 115, "90, 0, 1, 1, 0, 0, 0", 0);
    rt = open_ok(path);
    ex = exposures_nadir(rt, 0);
    size_t after = 0;
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        if (e->leg < 1 || (e->leg == 1 && e->along_m <= 0 && e->waypoint < 1)) continue;
        after++;
        ck_assert_msg(e->shot.yaw_turn_deg == 180, "%s: %g", e->shot.id, e->shot.yaw_turn_deg);
    }
    ck_assert_uint_gt(after, 10);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* The sample with its plannedHomePosition 0, 0, 0 (QGC's "no home"): its RETURN_TO_LAUNCH has
 * nowhere to fly to in the plan. With the camera recording (continuous) the flight home after
 * WP5 is not judged: an exposure at WP5 is unknown, naming the RETURN_TO_LAUNCH (it was
 * dropped, and the plan came out clear). With the home in place the return is a leg home. */
START_TEST(qgc_return_without_home) {
    const char *path = "/vsimem/rtl_nohome.plan";
    copy_edited(QGC_SAMPLE, path, "47.3977507,\n            8.5456075,\n            488.9310175",
                "0,\n            0,\n            0");
    ko_route *rt = open_ok(path);
    ck_assert(!ko_route_takeoff(rt, NULL, NULL, NULL, NULL));
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 4); /* no leg home */
    ko_exposures *ex = exposures_nadir(rt, 1);
    int unknown = 0;
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        if (!e->shot.reason) continue;
        unknown++;
        ck_assert_uint_eq(e->waypoint, 3);
        ck_assert_msg(
            strstr(e->shot.reason, "RETURN_TO_LAUNCH") && strstr(e->shot.reason, "home position"),
            "%s", e->shot.reason);
    }
    ck_assert_int_eq(unknown, 1);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    rt = open_ok(QGC_SAMPLE);
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 5);
    ck_assert_double_eq_tol(ko_route_waypoint(rt, 4)->lat, 47.3977507, 1e-9);
    ex = exposures_nadir(rt, 1);
    for (size_t i = 0; i < ko_exposures_count(ex); i++)
        ck_assert_ptr_null(ko_exposures_get(ex, i)->shot.reason);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* Whether exposure e, with no reason, stands for heading yaw: its own yaw turned up to
 * yaw_turn_deg either way (+-2 deg). */
static int stands_for(const ko_exposure *e, double yaw) {
    return !e->shot.reason &&
           fabs(remainder(e->shot.pose.yaw_deg - yaw, 360.0)) <= e->shot.yaw_turn_deg + 2.0;
}

/* The sample as it is, the camera recording: its RETURN_TO_LAUNCH flies WP5 -> home, 59 m south
 * (home 47.3977507, 8.5456075 from WP5 47.39827842, 8.54560824: bearing ~180). ArduCopter's
 * default WP_YAW_BEHAVIOR 2 ("look at next WP except RTL") holds the heading of the leg before
 * (WP4 -> WP5, west: 270) all the way home (ModeRTL: AutoYaw HOLD); another autopilot faces
 * home. Every sample of the leg home must stand for both: it was judged facing home alone. */
START_TEST(qgc_return_heading_held) {
    ko_route *rt = open_ok(QGC_SAMPLE);
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 5);
    ko_exposures *ex = exposures_nadir(rt, 1);
    const double yaw[2] = {270, 180};
    for (int k = 0; k < 2; k++) { /* each heading judged from the start of the leg to its end */
        double first = 1e9, last = -1;
        for (size_t i = 0; i < ko_exposures_count(ex); i++) {
            const ko_exposure *e = ko_exposures_get(ex, i);
            if (e->leg != 3 || e->waypoint != 3 || !stands_for(e, yaw[k])) continue;
            first = fmin(first, e->along_m);
            last = fmax(last, e->along_m);
        }
        ck_assert_msg(first < 10 && last > 50, "heading %g: judged from %g m to %g m of 59", yaw[k],
                      first, last);
    }
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
}
END_TEST

/* DO_MOUNT_CONTROL (205) param7 is MAV_MOUNT_MODE: only 2 (MAVLink targeting) points the mount
 * at param1..3; PX4 retracts it (0), centres it (1) or leaves it to the pilot's sticks (3):
 * the photo at WP5 after a mount command in those modes is unknown naming param7; in mode 2 it
 * is judged at its pitch. DO_DIGICAM_CONTROL (203) param3 zoom step 1, or param2 zoom position
 * 50, zooms by an amount MAVLink leaves to the camera: the photo after it is unknown naming the
 * zoom; param1 (session control) alone zooms nothing. Each was judged as if the mount stood at
 * its angles and the lens at its own focal length. DO_GIMBAL_MANAGER_PITCHYAW (1000) param5
 * GIMBAL_MANAGER_FLAGS RETRACT (1) or NEUTRAL (2) parks the gimbal and leaves its angles unused
 * (ArduPilot start_command_do_gimbal_manager_pitchyaw sets MOUNT_MODE_RETRACT/NEUTRAL and
 * returns): unknown naming the flag (it was judged at param1 -45); flags 0: at -45. */
START_TEST(qgc_mount_mode_and_zoom) {
    const char *path = "/vsimem/mount_sample.plan";
    const struct {
        int cmd;
        const char *params, *want; /* want: NULL if judged */
    } cases[] = {
        {205, "-45, 0, 0, 0, 0, 0, 0", "param7"},   {205, "-45, 0, 0, 0, 0, 0, 1", "param7"},
        {205, "-45, 0, 0, 0, 0, 0, 3", "param7"},   {205, "-45, 0, 0, 0, 0, 0, 2", NULL},
        {203, "0, 0, 1, 0, 0, 0, 0", "zoom"},       {203, "0, 50, 0, 0, 0, 0, 0", "zoom"},
        {203, "1, 0, 0, 0, 0, 0, 0", NULL},         {1000, "-45, 0, 0, 0, 2, 0, 0", "NEUTRAL"},
        {1000, "-45, 0, 0, 0, 1, 0, 0", "RETRACT"}, {1000, "-45, 0, 0, 0, 0, 0, 0", NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        qgc_sample_edited(path, cases[i].cmd, cases[i].params, 1);
        ko_route *rt = open_ok(path);
        ko_camera cam;
        ko_camera_init(&cam);
        ck_assert_int_eq(ko_camera_from_focal35(24, 4000, 3000, &cam), KO_OK);
        ko_route_options o;
        ko_route_options_init(&o);
        o.camera = &cam;
        if (cases[i].cmd == 203) o.gimbal_pitch_deg = -90; /* the sample sets none */
        ko_exposures *ex = NULL;
        ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_OK);
        ck_assert_uint_eq(ko_exposures_count(ex), 1);
        const ko_exposure *e = ko_exposures_get(ex, 0);
        ck_assert_uint_eq(e->waypoint, 3);
        if (cases[i].want) {
            ck_assert_msg(e->shot.reason && strstr(e->shot.reason, cases[i].want), "case %zu: %s",
                          i, e->shot.reason ? e->shot.reason : "(judged)");
        } else {
            ck_assert_msg(!e->shot.reason, "case %zu: %s", i, e->shot.reason);
            ck_assert_double_eq_tol(e->shot.pose.pitch_deg, cases[i].cmd == 203 ? -90 : -45, 1e-9);
        }
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* The sample with WP4 a NAV_SPLINE_WAYPOINT (82): ArduPilot flies take-off -> WP2 straight,
 * then WP2 -> WP4 as the cubic Hermite curve from WP2 to WP4 whose end tangents are the
 * straight leg before (take-off -> WP2, 76 m east) and the straight leg after (WP4 -> WP5,
 * 75 m west), scaled down only if together longer than 4 x the leg (AC_WPNav
 * set_spline_destination). Worked out here on a flat local frame, the curve bulges ~19 m east
 * of the straight leg; every sample of the leg (the camera recording) must stand for that much
 * more ground (ko_shot.sweep_m): it was flown straight, 5 m either side. */
START_TEST(qgc_spline_leg_widened) {
    const char *path = "/vsimem/spline_sample.plan";
    copy_edited(QGC_SAMPLE, path, "\"command\": 16,\n                \"doJumpId\": 4,",
                "\"command\": 82,\n                \"doJumpId\": 4,");
    ko_route *rt = open_ok(path);
    ck_assert_uint_eq(ko_route_waypoint_count(rt), 5);
    double e[4], n[4]; /* take-off, WP2, WP4, WP5 in metres from take-off */
    const double r = 6371008.8 * M_PI / 180;
    for (size_t i = 0; i < 4; i++) {
        const ko_waypoint *w = ko_route_waypoint(rt, i);
        e[i] = (w->lon - ko_route_waypoint(rt, 0)->lon) * r * cos(w->lat * M_PI / 180);
        n[i] = (w->lat - ko_route_waypoint(rt, 0)->lat) * r;
    }
    double t0e = e[1] - e[0], t0n = n[1] - n[0], t1e = e[3] - e[2], t1n = n[3] - n[2];
    double len = hypot(e[2] - e[1], n[2] - n[1]);
    double scale = fmin(1.0, 4 * len / (hypot(t0e, t0n) + hypot(t1e, t1n)));
    double bulge = 0;
    for (int k = 0; k <= 1000; k++) { /* distance of the curve from the straight leg */
        double t = k / 1000.0, h10 = t * t * t - 2 * t * t + t, h11 = t * t * t - t * t;
        double h00 = 2 * t * t * t - 3 * t * t + 1, h01 = 1 - h00;
        double pe = h00 * e[1] + h01 * e[2] + scale * (h10 * t0e + h11 * t1e);
        double pn = h00 * n[1] + h01 * n[2] + scale * (h10 * t0n + h11 * t1n);
        double ue = (e[2] - e[1]) / len, un = (n[2] - n[1]) / len;
        double along = fmin(fmax((pe - e[1]) * ue + (pn - n[1]) * un, 0), len);
        bulge = fmax(bulge, hypot(pe - e[1] - along * ue, pn - n[1] - along * un));
    }
    ck_assert_double_gt(bulge, 15); /* ~19 m: more than a sample's own 5 m */
    /* ArduCopter yaws to the curve's tangent (AC_WPNav: set_yaw to the target velocity): the
     * Hermite derivative's bearing at t = 0.25, 0.5, 0.75, which every sample of the leg must
     * stand for (it was judged along the chord) */
    double tangent[3];
    for (int k = 0; k < 3; k++) {
        double t = 0.25 * (k + 1), d00 = 6 * t * t - 6 * t, d10 = 3 * t * t - 4 * t + 1;
        double d11 = 3 * t * t - 2 * t;
        double de = d00 * e[1] - d00 * e[2] + scale * (d10 * t0e + d11 * t1e);
        double dn = d00 * n[1] - d00 * n[2] + scale * (d10 * t0n + d11 * t1n);
        tangent[k] = atan2(de, dn) * 180 / M_PI;
    }
    ko_exposures *ex = exposures_nadir(rt, 1);
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_exposure *x = ko_exposures_get(ex, i);
        if (x->leg != 1 || x->waypoint != 1 || x->along_m <= 0) continue;
        for (int k = 0; k < 3; k++)
            ck_assert_msg(stands_for(x, tangent[k]), "%s: yaw %g turn %g, tangent %g", x->shot.id,
                          x->shot.pose.yaw_deg, x->shot.yaw_turn_deg, tangent[k]);
    }
    size_t on_leg = 0;
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_exposure *x = ko_exposures_get(ex, i);
        if (x->leg != 1 || x->waypoint != 1 || x->along_m <= 0) continue;
        on_leg++;
        ck_assert_msg(x->shot.sweep_m >= bulge, "%s: sweep %.1f m, the curve %.1f m off",
                      x->shot.id, x->shot.sweep_m, bulge);
    }
    ck_assert_uint_gt(on_leg, 4);
    for (size_t i = 0; i < ko_exposures_count(ex); i++) /* the straight legs stay as they were */
        if (ko_exposures_get(ex, i)->leg == 2 && ko_exposures_get(ex, i)->along_m > 0)
            ck_assert_double_le(ko_exposures_get(ex, i)->shot.sweep_m, 10);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* The M4T export's mission (template.kml gimbalPitchMode manual; waylines.wpml's one placemark
 * has waypointGimbalPitchAngle 0 and actions gimbalRotate 0, zoom, gimbalRotate -58.9, ...,
 * takePhoto). DJI's WPML: in gimbalPitchMode manual the gimbal keeps what the actions set, the
 * placemark's pitch applies only in usePointSetting. With both gimbalRotate pitches disabled
 * (gimbalPitchRotateEnable 0) nothing sets the pitch in manual mode: the photo is unknown (it
 * was judged at the placemark's 0, the horizon); in usePointSetting it is 0; from waylines.wpml
 * alone, which does not say the mode, unknown naming gimbalPitchMode. gimbalRotateMode
 * relativeAngle turns by the angles, absoluteAngle to them; which one the aircraft does is not
 * certain: the photo after the two rotations made relative is unknown (it was judged at -58.9). */
START_TEST(wpml_gimbal_pitch_and_rotate_modes) {
    const char *src = ROUTES "dji_wpml_m4t_pilot2/";
    const char *pitch_on = "<wpml:gimbalPitchRotateEnable>1</wpml:gimbalPitchRotateEnable>";
    const char *pitch_off = "<wpml:gimbalPitchRotateEnable>0</wpml:gimbalPitchRotateEnable>";
    const struct {
        const char *mode, *from, *to, *want; /* want NULL: judged at pitch 0 */
    } cases[] = {{"manual", pitch_on, pitch_off, "does not set the gimbal pitch"},
                 {"usePointSetting", pitch_on, pitch_off, NULL},
                 {NULL, pitch_on, pitch_off, "gimbalPitchMode"},
                 {"manual", ">absoluteAngle<", ">relativeAngle<", "relativeAngle"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char tmpl[128], wayl[128], dir[64];
        snprintf(dir, sizeof dir, "/vsimem/m4t_modes%zu", i);
        snprintf(tmpl, sizeof tmpl, "%s/template.kml", dir);
        snprintf(wayl, sizeof wayl, "%s/waylines.wpml", dir);
        if (cases[i].mode) {
            char mode[96];
            snprintf(mode, sizeof mode, "<wpml:gimbalPitchMode>%s<", cases[i].mode);
            copy_edited(ROUTES "dji_wpml_m4t_pilot2/template.kml", tmpl,
                        "<wpml:gimbalPitchMode>manual<", mode);
        }
        char w[256];
        snprintf(w, sizeof w, "%swaylines.wpml", src);
        copy_edited(w, wayl, cases[i].from, cases[i].to);
        ko_route *rt = open_ok(wayl); /* template.kml beside it, if there */
        ko_camera cam;
        ko_camera_init(&cam);
        ck_assert_int_eq(ko_camera_from_focal35(24, 4000, 3000, &cam), KO_OK);
        ko_route_options o;
        ko_route_options_init(&o);
        o.camera = &cam;
        o.height_m = 20; /* waylines.wpml alone has no take-off point for its WGS84 heights */
        ko_exposures *ex = NULL;
        ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_OK);
        ck_assert_uint_ge(ko_exposures_count(ex), 1);
        for (size_t k = 0; k < ko_exposures_count(ex); k++) {
            const ko_exposure *e = ko_exposures_get(ex, k);
            if (cases[i].want) {
                ck_assert_msg(e->shot.reason && strstr(e->shot.reason, cases[i].want),
                              "case %zu: %s", i, e->shot.reason ? e->shot.reason : "(judged)");
            } else {
                ck_assert_msg(!e->shot.reason, "case %zu: %s", i, e->shot.reason);
                ck_assert_double_eq_tol(e->shot.pose.pitch_deg, 0, 1e-9);
            }
        }
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
        VSIUnlink(tmpl);
        VSIUnlink(wayl);
    }
}
END_TEST

/* A loiter with a radius circles round its point: the sample with WP4 a NAV_LOITER_TURNS (18)
 * of 2 turns, param3 radius 50 m, the camera recording. The aircraft is anywhere on the circle,
 * facing any way (its centre, along it, a held yaw): every exposure at WP4 stands for 50 m of
 * sweep and any heading (yaw_turn_deg 180), and the legs to and from it, which begin or end
 * anywhere on it, for 50 m of sweep. It was refused; judged from the centre, a site 75 m east
 * of a 50 m circle was clear. Radius 0 is not a hover: the autopilot circles at its own
 * default (ArduCopter LOITER_TURNS: CIRCLE_RADIUS, 10 m; ArduPlane WP_LOITER_RAD, 60 m; PX4
 * NAV_LOITER_RAD): judged as the largest, 80 m (it was the point itself, a site 80 m from it on
 * the camera's axis from the circle clear). A LOITER_TO_ALT (31, radius param2 40 m) to 80 m
 * from 50 m climbs 30 m on the circle. */
START_TEST(qgc_loiter_circle_widened) {
    const char *path = "/vsimem/loiter_sample.plan";
    const struct {
        const char *to;
        double radius, climb;
    } cases[] = {{"18,\n                \"doJumpId\": 4,\n                \"frame\": 3,\n"
                  "                \"params\": [\n                    2,\n                    0,\n"
                  "                    50,",
                  50, 0},
                 {"18,\n                \"doJumpId\": 4,\n                \"frame\": 3,\n"
                  "                \"params\": [\n                    2,\n                    0,\n"
                  "                    0,",
                  80, 0},
                 {"31,\n                \"doJumpId\": 4,\n                \"frame\": 3,\n"
                  "                \"params\": [\n                    0,\n                    40,\n"
                  "                    0,",
                  40, 30}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        copy_edited(
            QGC_SAMPLE, "/vsimem/loiter_tmp.plan",
            "16,\n                \"doJumpId\": 4,\n                \"frame\": 3,\n"
            "                \"params\": [\n                    0,\n                    0,\n"
            "                    0,",
            cases[c].to);
        if (cases[c].climb > 0) /* its altitude: 80 (the sample's WP4 line ends "50\n ]") */
            copy_edited("/vsimem/loiter_tmp.plan", path, "8.54660532,\n                    50",
                        "8.54660532,\n                    80");
        else
            copy_edited("/vsimem/loiter_tmp.plan", path, "", "");
        ko_route *rt = open_ok(path);
        ck_assert_uint_eq(ko_route_waypoint_count(rt), 5);
        ko_exposures *ex = exposures_nadir(rt, 1);
        size_t at = 0, legs = 0;
        for (size_t i = 0; i < ko_exposures_count(ex); i++) {
            const ko_exposure *e = ko_exposures_get(ex, i);
            const ko_shot *sh = &e->shot;
            if (e->waypoint == 2 && e->along_m <= 0) {
                at++;
                ck_assert_double_ge(sh->sweep_m, cases[c].radius);
                ck_assert_double_eq(sh->yaw_turn_deg, 180);
                ck_assert_double_ge(sh->climb_m, cases[c].climb);
            } else if ((e->waypoint == 1 || e->waypoint == 2) && e->along_m > 0) {
                legs++;
                ck_assert_msg(sh->sweep_m >= cases[c].radius, "%s: sweep %.1f", sh->id,
                              sh->sweep_m);
            }
        }
        ck_assert(at >= 1 && legs >= 10);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink("/vsimem/loiter_tmp.plan");
    VSIUnlink(path);
}
END_TEST

/* The waygen mission (12 placemarks, smoothTransition headings, a photo at each) with every
 * waypointHeadingMode made "manually": the pilot's stick turns the aircraft, so each photo,
 * and each sample of a leg the camera records, stands for every heading (yaw_turn_deg 180:
 * check.c turns the footprint all round the camera). It was refused; before that judged along
 * the course. The placemarks' own headings (smoothTransition) stand for only their heading. */
START_TEST(wpml_manual_heading_every_way) {
    const char *path = "/vsimem/waygen_manual.wpml";
    copy_edited(ROUTES "dji_wpml_djifly_waygen/waylines.wpml", path,
                "<wpml:waypointHeadingMode>smoothTransition<",
                "<wpml:waypointHeadingMode>manually<");
    for (int continuous = 0; continuous < 2; continuous++) {
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_nadir(rt, continuous);
        ck_assert_uint_ge(ko_exposures_count(ex), continuous ? 24 : 12);
        for (size_t i = 0; i < ko_exposures_count(ex); i++)
            ck_assert_double_eq(ko_exposures_get(ex, i)->shot.yaw_turn_deg, 180);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    ko_route *rt = open_ok(ROUTES "dji_wpml_djifly_waygen/waylines.wpml");
    ko_exposures *ex = exposures_nadir(rt, 0);
    for (size_t i = 0; i < ko_exposures_count(ex); i++)
        ck_assert_double_lt(ko_exposures_get(ex, i)->shot.yaw_turn_deg, 180);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* DO_SET_ROI_LOCATION (195) after DO_MOUNT_CONTROL -90: ArduPilot points a mount that tilts at
 * the ROI (AP_Mount set_roi_target), one that cannot keeps -90; the plan does not say which.
 * The sample with its photo item made those two items, the ROI on the ground 300 m east of WP2
 * (47.39777106, 8.5506): seen 50 m up from WP2 the camera aimed at it is -atan(50 / 300) =
 * -9.5 deg, a view reaching kilometres, not the nadir frame alone. The leg WP2 -> WP4 (no
 * capture actions: every leg sampled) is judged at -90 and aimed at the ROI, and so is the
 * photo at WP5 (the RETURN_TO_LAUNCH made a photo). It was judged at -90 alone. */
START_TEST(qgc_roi_after_mount_pitch_both_ways) {
    const char *path = "/vsimem/roi_sample.plan";
    const double roi_lon = 8.5466122 + 300 / (6371008.8 * M_PI / 180 * cos(47.39777 * M_PI / 180));
    char from[512], mount[512], roi[512], to[1200], params[128];
    qgc_item(from, sizeof from, 2000, "0, 0, 1, 0, 0, 0, 0");
    qgc_item(mount, sizeof mount, 205, "-90, 0, 0, 0, 0, 0, 2");
    snprintf(params, sizeof params, "0, 0, 0, 0, 47.39777106, %.9f, 0", roi_lon);
    qgc_item(roi, sizeof roi, 195, params);
    snprintf(to, sizeof to,
             "%s\n                \"type\": \"SimpleItem\"\n            },\n            {\n"
             "                \"autoContinue\": true,\n                %s",
             mount, roi);
    for (int photo = 0; photo < 2; photo++) {
        copy_edited(QGC_SAMPLE, "/vsimem/roi_tmp.plan", from, to);
        copy_edited("/vsimem/roi_tmp.plan", path, photo ? QGC_RTL_ITEM : "", "\"command\": 2000,");
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_of(rt); /* the plan's own pitch */
        int nadir = 0, aimed = 0;
        for (size_t i = 0; i < ko_exposures_count(ex); i++) {
            const ko_exposure *e = ko_exposures_get(ex, i);
            if (photo ? e->waypoint != 3 : (e->waypoint != 1 || e->along_m > 0)) continue;
            ck_assert_ptr_null(e->shot.reason);
            if (fabs(e->shot.pose.pitch_deg + 90) < 1e-6) nadir++;
            if (!photo && fabs(e->shot.pose.pitch_deg + 9.46) < 0.3) aimed++;
            if (photo && e->shot.pose.pitch_deg > -20) aimed++; /* WP5: farther off, flatter */
        }
        ck_assert_msg(nadir >= 1 && aimed >= 1, "photo %d: %d at -90, %d aimed at the ROI", photo,
                      nadir, aimed);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink("/vsimem/roi_tmp.plan");
    VSIUnlink(path);
}
END_TEST

/* The sample with its photo item made the items it[0..n) (JSON bodies from qgc_item) and its
 * RETURN_TO_LAUNCH made a photo (one photo at WP5), written to dst. */
static void qgc_sample_items(const char *dst, const char *const *it, size_t n) {
    char from[512], to[4096] = "";
    qgc_item(from, sizeof from, 2000, "0, 0, 1, 0, 0, 0, 0");
    for (size_t k = 0, len = 0; k < n; k++)
        len += (size_t)snprintf(to + len, sizeof to - len, "%s%s",
                                k ? "\n                \"type\": \"SimpleItem\"\n            },\n"
                                    "            {\n                \"autoContinue\": true,\n"
                                    "                "
                                  : "",
                                it[k]);
    copy_edited(QGC_SAMPLE, "/vsimem/items_tmp.plan", from, to);
    copy_edited("/vsimem/items_tmp.plan", dst, QGC_RTL_ITEM, "\"command\": 2000,");
    VSIUnlink("/vsimem/items_tmp.plan");
}

/* DO_MOUNT_CONTROL -90 (mode 2), a DO_SET_ROI_LOCATION (195) 300 m east of WP2, then the ROI
 * cancelled: by DO_SET_ROI_NONE (197), or by a DO_SET_ROI (201) or DO_SET_ROI_LOCATION at
 * latitude, longitude and altitude 0 (ArduPilot's cancel, AutoYaw::set_roi "if location is
 * zero"). MAVLink's DO_SET_ROI_NONE: the gimbal "should go back to manual input if available,
 * and otherwise assume a neutral position"; ArduPilot clear_roi_target() sets MNTx_DEFLT_MODE
 * (RC targeting by default). The photo at WP5 is unknown, naming the cancel (it was judged at
 * the -90 set before the ROI, and a 0, 0 ROI was ignored); a DO_MOUNT_CONTROL (mode 2) after
 * the cancel sets the angles again: judged at them. */
START_TEST(qgc_roi_cancel_mount_default) {
    const char *path = "/vsimem/roi_cancel.plan";
    char mount[512], mount45[512], roi[512], cancel[512];
    qgc_item(mount, sizeof mount, 205, "-90, 0, 0, 0, 0, 0, 2");
    qgc_item(mount45, sizeof mount45, 205, "-45, 0, 0, 0, 0, 0, 2");
    qgc_item(roi, sizeof roi, 195, "0, 0, 0, 0, 47.39777106, 8.5506, 0");
    const struct {
        int cmd;
        int remount;
    } cases[] = {{197, 0}, {201, 0}, {195, 0}, {197, 1}, {201, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        qgc_item(cancel, sizeof cancel, cases[c].cmd, "0, 0, 0, 0, 0, 0, 0");
        const char *it[] = {mount, roi, cancel, mount45};
        qgc_sample_items(path, it, cases[c].remount ? 4 : 3);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_of(rt);
        ck_assert_uint_ge(ko_exposures_count(ex), 1);
        for (size_t i = 0; i < ko_exposures_count(ex); i++) {
            const ko_exposure *e = ko_exposures_get(ex, i);
            ck_assert_uint_eq(e->waypoint, 3);
            if (cases[c].remount) {
                ck_assert_msg(!e->shot.reason, "case %zu: %s", c, e->shot.reason);
                ck_assert_double_eq_tol(e->shot.pose.pitch_deg, -45, 1e-9);
            } else {
                ck_assert_msg(e->shot.reason && strstr(e->shot.reason, "DO_SET_ROI_NONE") &&
                                  strstr(e->shot.reason, "default mode"),
                              "case %zu: %s", c, e->shot.reason ? e->shot.reason : "(judged)");
            }
        }
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    /* No mount command (a fixed camera, pitch given by the caller): the 0, 0, 0 ROI ends the
     * ROI all the same. The ROI is at bearing ~98.5 from WP5 (376 m east, 56 m south); the
     * photo there faces the course (west or south), not the old ROI (it kept facing it). */
    for (int zero = 0; zero < 2; zero++) {
        qgc_item(cancel, sizeof cancel, 201, zero ? "0, 0, 0, 0, 0, 0, 0" : "0, 0, 0, 0, 0, 0, 1");
        const char *it[] = {roi, cancel};
        qgc_sample_items(path, it, zero ? 2 : 1);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_nadir(rt, 0);
        ck_assert_uint_ge(ko_exposures_count(ex), 1);
        ck_assert_int_eq(faces(ex, SIZE_MAX, 98.5), !zero);
        ck_assert_int_eq(faces(ex, SIZE_MAX, 270) || faces(ex, SIZE_MAX, 180), zero);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* DO_MOUNT_CONTROL -30 with yaw 90 (mode 2), then a DO_SET_ROI_LOCATION 300 m east of WP2:
 * ArduPilot's set_roi_target() puts the mount in GPS_POINT mode, so the camera faces the ROI
 * (the mount pans to it, or, one that cannot pan, the aircraft turns to it): the photo at WP5
 * faces the ROI's bearing from WP5 (~98.5: 376 m east, 56 m south). It was judged 90 deg off,
 * the mount's earlier yaw kept on top of the heading to the ROI. */
START_TEST(qgc_roi_ends_mount_yaw) {
    const char *path = "/vsimem/roi_yaw.plan";
    char mount[512], roi[512];
    qgc_item(mount, sizeof mount, 205, "-30, 0, 90, 0, 0, 0, 2");
    qgc_item(roi, sizeof roi, 195, "0, 0, 0, 0, 47.39777106, 8.5506, 0");
    const char *it[] = {mount, roi};
    qgc_sample_items(path, it, 2);
    ko_route *rt = open_ok(path);
    ko_exposures *ex = exposures_of(rt);
    ck_assert_uint_ge(ko_exposures_count(ex), 1);
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        ck_assert_ptr_null(e->shot.reason);
        ck_assert_msg(fabs(remainder(e->shot.pose.yaw_deg - 98.5, 360.0)) < 2, "%s: yaw %g",
                      e->shot.id, e->shot.pose.yaw_deg);
    }
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* A DO_SET_ROI_LOCATION 300 m east of WP2, then CONDITION_YAW 0 (absolute): ArduCopter's yaw
 * ends the ROI heading (AutoYaw FIXED), and the next waypoint's start goes back to
 * WP_YAW_BEHAVIOR's default, the course, not the ROI; another autopilot may keep the ROI. The
 * photo at WP5 (arriving west, 270) must be judged at the course too: it was judged at the
 * held 0 and facing the ROI only. */
START_TEST(qgc_yaw_over_roi_course_too) {
    const char *path = "/vsimem/roi_cyaw.plan";
    char roi[512], yaw[512];
    qgc_item(roi, sizeof roi, 195, "0, 0, 0, 0, 47.39777106, 8.5506, 0");
    qgc_item(yaw, sizeof yaw, 115, "0, 0, 0, 0, 0, 0, 0");
    const char *it[] = {roi, yaw};
    qgc_sample_items(path, it, 2);
    ko_route *rt = open_ok(path);
    ko_exposures *ex = exposures_nadir(rt, 0);
    int course = 0;
    for (size_t i = 0; i < ko_exposures_count(ex); i++)
        course |= stands_for(ko_exposures_get(ex, i), 270);
    ck_assert_msg(course, "the course at WP5 (270) is not judged");
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* The sample with its photo item a DO_SET_CAM_TRIGG_DIST 20 m (a photo each 20 m flown) and
 * WP4 a NAV_LOITER_TURNS of radius 5 m: the circle adds ~31 m flown (2 pi 5) where the
 * straight plan has none, so past it the distance trigger fires at other places (ArduPilot
 * counts the straight-line distance from the last photo): each photo after the loiter may be
 * anywhere within a step (20 m) of where the straight plan puts it, besides the radius. It was
 * moved by the radius only. */
START_TEST(qgc_loiter_shifts_trigger) {
    const char *path = "/vsimem/loiter_trig.plan";
    char trig[512];
    qgc_item(trig, sizeof trig, 206, "20, 0, 0, 0, 0, 0, 0");
    const char *it[] = {trig};
    qgc_sample_items(path, it, 1);
    copy_edited(path, "/vsimem/loiter_trig2.plan",
                "16,\n                \"doJumpId\": 4,\n                \"frame\": 3,\n"
                "                \"params\": [\n                    0,\n                    0,\n"
                "                    0,",
                "18,\n                \"doJumpId\": 4,\n                \"frame\": 3,\n"
                "                \"params\": [\n                    1,\n                    0,\n"
                "                    5,");
    ko_route *rt = open_ok("/vsimem/loiter_trig2.plan");
    ko_exposures *ex = exposures_nadir(rt, 0);
    size_t after = 0;
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        if (e->waypoint != 2 || e->along_m <= 0) continue; /* the leg leaving the loiter */
        after++;
        ck_assert_msg(e->shot.sweep_m >= 5 + 20, "%s: sweep %g", e->shot.id, e->shot.sweep_m);
    }
    ck_assert_uint_ge(after, 2);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
    VSIUnlink("/vsimem/loiter_trig2.plan");
}
END_TEST

/* qgc_item with the item's frame f instead of 2. */
static void qgc_item_frame(char *out, size_t size, int command, const char *p, int f) {
    qgc_item(out, size, command, p);
    char *at = strstr(out, "\"frame\": 2,");
    ck_assert_ptr_nonnull(at);
    at[9] = (char)('0' + f % 10);
    if (f >= 10) { /* two digits: shift the rest */
        memmove(at + 10, at + 9, strlen(at + 9) + 1);
        at[9] = (char)('0' + f / 10);
        at[10] = (char)('0' + f % 10);
    }
}

/* A DO_SET_ROI (201, param1 3 = location) on the ground 1000 m east of WP5 (47.39827842,
 * 8.54560824), then the photo at WP5, 50 m above the take-off. The ROI's altitude is in the
 * item's frame (MAVLink common.xml; MAV_FRAME_GLOBAL 0 is above mean sea level): the ground
 * is the sample's home altitude, 488.93101752001763 AMSL, or 0 in frame 3 (above home). Either
 * way the camera aims atan(50 / 1000) = 2.862 deg down; frame 0 was read as 488.93 m above the
 * take-off (the camera judged 23.7 deg up, no ground in view). A ROI in a terrain frame (10)
 * is not known against the take-off: unknown. */
START_TEST(qgc_roi_altitude_frame) {
    const char *path = "/vsimem/roi_frame.plan";
    const double lon = 8.54560824 + 1000 / (6378137.0 * M_PI / 180 * cos(47.39827842 * M_PI / 180));
    const struct {
        int frame;
        const char *alt;
    } cases[] = {{3, "0"}, {0, "488.93101752001763"}, {10, "0"}};
    for (size_t c = 0; c < 3; c++) {
        char roi[512], params[160];
        snprintf(params, sizeof params, "3, 0, 0, 0, 47.39827842, %.9f, %s", lon, cases[c].alt);
        qgc_item_frame(roi, sizeof roi, 201, params, cases[c].frame);
        const char *it[] = {roi};
        qgc_sample_items(path, it, 1);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_of(rt);
        ck_assert_uint_ge(ko_exposures_count(ex), 1);
        for (size_t i = 0; i < ko_exposures_count(ex); i++) {
            const ko_exposure *e = ko_exposures_get(ex, i);
            if (cases[c].frame == 10) {
                ck_assert_msg(e->shot.reason && strstr(e->shot.reason, "DO_SET_ROI"), "%s",
                              e->shot.reason ? e->shot.reason : "(judged)");
                continue;
            }
            ck_assert_msg(!e->shot.reason, "frame %d: %s", cases[c].frame, e->shot.reason);
            ck_assert_msg(fabs(e->shot.pose.pitch_deg + atan(50.0 / 1000) * 180 / M_PI) < 0.05,
                          "frame %d: pitch %g", cases[c].frame, e->shot.pose.pitch_deg);
        }
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* The sample's WP4 (47.39827377, 8.54660532, 50 m above home in frame 3) given in frame 0,
 * MAV_FRAME_GLOBAL (above mean sea level), at the home's 488.93101752001763 + 50: the same
 * height. The aircraft flies level at 50 m from WP2 to WP4; with the camera recording, every
 * sample is at 50 m above the take-off and nothing climbs (climb_m 0). The leg was interpolated
 * from 50 to 538.93 "m above the take-off". */
START_TEST(qgc_mixed_frames_leg) {
    const char *path = "/vsimem/mixed_frames.plan";
    copy_edited(QGC_SAMPLE, "/vsimem/mixed_tmp.plan",
                "\"doJumpId\": 4,\n                \"frame\": 3,",
                "\"doJumpId\": 4,\n                \"frame\": 0,");
    copy_edited("/vsimem/mixed_tmp.plan", path, "8.54660532,\n                    50",
                "8.54660532,\n                    538.93101752001763");
    ko_route *rt = open_ok(path);
    ko_exposures *ex = exposures_nadir(rt, 1);
    size_t leg1 = 0;
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        if (e->leg < 1 || e->leg > 2) continue; /* WP2 -> WP4 -> WP5 */
        leg1 += e->leg == 1;
        ck_assert_msg(!e->shot.reason, "%s: %s", e->shot.id, e->shot.reason);
        ck_assert_msg(fabs(e->shot.pose.height_m - 50) < 1e-6 && e->shot.climb_m < 1e-6,
                      "%s: height %g, climb %g", e->shot.id, e->shot.pose.height_m,
                      e->shot.climb_m);
    }
    ck_assert_uint_ge(leg1, 5);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink("/vsimem/mixed_tmp.plan");
    VSIUnlink(path);
}
END_TEST

/* A photo at a NAV_TAKEOFF (22), NAV_LAND (21) or NAV_LOITER_UNLIM (17) whose param4 is a yaw of
 * 90 (MAVLink common.xml; PX4 mavlink_mission.cpp sets the mission item's yaw from param4 for
 * each), then a waypoint 111 m north: PX4 faces 90, ArduPilot the course (0). Both are judged,
 * as for a NAV_WAYPOINT's param4; it was judged facing the course alone. */
START_TEST(qgc_nav_yaw_both_ways) {
    const char *path = "/vsimem/navyaw.waypoints";
    const int cmd[3] = {22, 21, 17};
    for (int c = 0; c < 3; c++) {
        char text[512];
        snprintf(text, sizeof text,
                 "QGC WPL 110\n"
                 "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
                 "1\t0\t3\t%d\t0\t0\t0\t90\t0.0\t10.0\t50\t1\n"
                 "2\t0\t2\t205\t-30\t0\t0\t0\t0\t0\t2\t1\n"
                 "3\t0\t2\t2000\t0\t0\t1\t0\t0\t0\t0\t1\n"
                 "4\t0\t3\t16\t0\t0\t0\t0\t0.001\t10.0\t50\t1\n",
                 cmd[c]);
        put(path, text);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_of(rt);
        int east = 0, north = 0;
        for (size_t i = 0; i < ko_exposures_count(ex); i++) {
            const ko_exposure *e = ko_exposures_get(ex, i);
            if (e->waypoint != 0 || e->shot.reason) continue;
            east |= fabs(remainder(e->shot.pose.yaw_deg - 90, 360.0)) < 1e-6;
            north |= fabs(remainder(e->shot.pose.yaw_deg, 360.0)) < 1e-6;
        }
        ck_assert_msg(east && north, "command %d: east %d, north %d", cmd[c], east, north);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* DO_GIMBAL_MANAGER_PITCHYAW 0, 0 (level), then pitch -90 with the yaw null (NaN), then the
 * photo at WP5. PX4 (vmount InputMavlinkGimbalV2) builds its attitude from both angles, all
 * NaN with one NaN: no new angle; ArduPilot sets angles only with both valid. The camera is
 * not known to be at -90: the photo is unknown, or judged at the level 0; it was judged at -90
 * alone. Both angles given: judged at -90. */
START_TEST(qgc_gimbal_manager_one_angle) {
    const char *path = "/vsimem/gm_nan.plan";
    char level[512], down[512];
    qgc_item(level, sizeof level, 1000, "0, 0, null, null, 0, 0, 0");
    for (int both = 0; both < 2; both++) {
        qgc_item(down, sizeof down, 1000,
                 both ? "-90, 0, null, null, 0, 0, 0" : "-90, null, null, null, 0, 0, 0");
        const char *it[] = {level, down};
        qgc_sample_items(path, it, 2);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_of(rt);
        ck_assert_uint_ge(ko_exposures_count(ex), 1);
        for (size_t i = 0; i < ko_exposures_count(ex); i++) {
            const ko_exposure *e = ko_exposures_get(ex, i);
            if (both) {
                ck_assert_ptr_null(e->shot.reason);
                ck_assert_double_eq_tol(e->shot.pose.pitch_deg, -90, 1e-9);
            } else {
                ck_assert_msg(e->shot.reason || fabs(e->shot.pose.pitch_deg) < 1e-9,
                              "judged at %g alone", e->shot.pose.pitch_deg);
            }
        }
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* A DO_SET_ROI (201) with param1 0, MAV_ROI_NONE, at a point 300 m east of WP2, then the photo
 * at WP5 (arriving west, 270; the point is at bearing ~98.5). PX4's navigator takes param1 as
 * the ROI mode (none: the course heading), ArduPilot ignores it and faces the point: both are
 * judged. It was judged facing the point alone. With param1 3 (MAV_ROI_LOCATION) every autopilot
 * faces the point. */
START_TEST(qgc_roi_mode_none_both_ways) {
    const char *path = "/vsimem/roi_mode.plan";
    char roi[512];
    for (int mode = 0; mode <= 3; mode += 3) {
        char params[128];
        snprintf(params, sizeof params, "%d, 0, 0, 0, 47.39777106, 8.5506, 0", mode);
        qgc_item(roi, sizeof roi, 201, params);
        const char *it[] = {roi};
        qgc_sample_items(path, it, 1);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_nadir(rt, 0);
        int course = 0, poi = 0;
        for (size_t i = 0; i < ko_exposures_count(ex); i++) {
            course |= stands_for(ko_exposures_get(ex, i), 270);
            poi |= stands_for(ko_exposures_get(ex, i), 98.5);
        }
        ck_assert_msg(poi && course == !mode, "mode %d: course %d, point %d", mode, course, poi);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* Mission Planner's take-off: a first NAV_TAKEOFF at latitude/longitude 0 ("here": ArduCopter
 * climbs where it stands, the mission command list's TAKEOFF), then DO_MOUNT_CONTROL -90 and
 * DO_SET_CAM_TRIGG_DIST 20 with param3 1 (a photo now), then the sample's WP2 76 m east of its
 * home. The aircraft takes off at the home (line 0, the sample's 47.3977507, 8.5456075): the
 * photo is taken over it at 50 m and the trigger fires every 20 m on the way to WP2 (a leg
 * 76 m long: photos at 0, 20, 40, 60 m). Both were dropped (no waypoint for the take-off).
 * Without a home the take-off point is not known: what is recorded before the first position
 * is unknown, naming the take-off. */
START_TEST(qgc_takeoff_here_at_home) {
    const char *path = "/vsimem/takeoff_here.waypoints";
    for (int home = 1; home >= 0; home--) {
        char text[1024];
        snprintf(text, sizeof text,
                 "QGC WPL 110\n"
                 "0\t1\t0\t16\t0\t0\t0\t0\t%s\t%s\t488.93\t1\n"
                 "1\t0\t3\t22\t0\t0\t0\t0\t0\t0\t50\t1\n"
                 "2\t0\t3\t205\t-90\t0\t0\t0\t0\t0\t2\t1\n"
                 "3\t0\t3\t206\t20\t0\t1\t0\t0\t0\t0\t1\n"
                 "4\t0\t3\t16\t0\t0\t0\t0\t47.39777106\t8.5466122\t50\t1\n"
                 "5\t0\t3\t206\t0\t0\t0\t0\t0\t0\t0\t1\n",
                 home ? "47.3977507" : "0", home ? "8.5456075" : "0");
        put(path, text);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_of(rt);
        int over_home = 0, on_leg = 0, unknown = 0;
        for (size_t i = 0; i < ko_exposures_count(ex); i++) {
            const ko_exposure *e = ko_exposures_get(ex, i);
            if (e->shot.reason) {
                unknown += strstr(e->shot.reason, "take-off") != NULL;
                continue;
            }
            if (fabs(e->shot.pose.lat - 47.3977507) < 1e-7 &&
                fabs(e->shot.pose.lon - 8.5456075) < 1e-7 &&
                fabs(e->shot.pose.height_m - 50) < 1e-9 && fabs(e->shot.pose.pitch_deg + 90) < 1e-9)
                over_home++;
            for (int k = 1; k <= 3; k++)
                if (e->leg == 0 && fabs(e->along_m - 20.0 * k) < 0.01) on_leg++;
        }
        if (home) {
            ck_assert_msg(over_home >= 1 && on_leg >= 3, "%d over home, %d at 20/40/60 m",
                          over_home, on_leg);
        } else {
            ck_assert_int_eq(over_home + on_leg, 0);
            ck_assert_int_ge(unknown, 1);
        }
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* No camera anywhere: the caller is told what to give. Absolute heights without a take-off
 * altitude: unknown with the reason. */
START_TEST(fail_closed) {
    const char *path = "/vsimem/amsl.waypoints";
    put(path,
        "QGC WPL 110\n"
        "1\t0\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t400\t1\n"
        "2\t0\t0\t16\t0\t0\t0\t0\t0.0\t10.001\t400\t1\n");
    ko_route *rt = open_ok(path);
    ko_camera cam;
    ko_camera_init(&cam);
    ko_route_options o;
    ko_route_options_init(&o);
    ko_exposures *ex = NULL;
    ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "does not describe the camera"));
    ck_assert_ptr_null(strstr(ko_errmsg(ctx), "--")); /* no CLI flag in a library message */
    ck_assert_int_eq(ko_camera_from_focal35(24, 4000, 3000, &cam), KO_OK);
    o.camera = &cam;
    o.gimbal_pitch_deg = -90;
    ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_OK);
    ck_assert_uint_gt(ko_exposures_count(ex), 0);
    const ko_exposure *e = ko_exposures_get(ex, 0);
    ck_assert_ptr_nonnull(e->shot.reason);
    ck_assert_ptr_nonnull(strstr(e->shot.reason, "take-off ground altitude is unknown"));
    ko_exposures_destroy(ex);
    o.takeoff_alt_m = 350; /* EGM96 ground: 400 - 350 = 50 m above it */
    ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_OK);
    ck_assert_ptr_null(ko_exposures_get(ex, 0)->shot.reason);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 0)->shot.pose.height_m, 50, 1e-9);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* Mixed datums: waypoints at EGM96 500 m, the take-off point at WGS84 ellipsoidal 500 m at
 * 47 N 8 E. The geoid there is N = 48.39 m above the ellipsoid (`echo "47 8 0" | cs2cs
 * EPSG:4979 EPSG:4326+5773` prints -48.39), so the take-off ground is 451.61 m EGM96 and the
 * camera flies 48.39 m above it. */
START_TEST(geoid_between_datums) {
    put("/vsimem/mixed/template.kml",
        "<kml xmlns=\"http://www.opengis.net/kml/2.2\" "
        "xmlns:wpml=\"http://www.dji.com/wpmz/1.0.6\">"
        "<Document><wpml:missionConfig><wpml:takeOffRefPoint>47.0,8.0,500</wpml:takeOffRefPoint>"
        "</wpml:missionConfig></Document></kml>");
    put("/vsimem/mixed/waylines.wpml",
        "<kml xmlns=\"http://www.opengis.net/kml/2.2\" "
        "xmlns:wpml=\"http://www.dji.com/wpmz/1.0.6\">"
        "<Document><Folder><wpml:executeHeightMode>EGM96</wpml:executeHeightMode>"
        "<Placemark><Point><coordinates>8.0,47.0</coordinates></Point><wpml:index>0</wpml:index>"
        "<wpml:executeHeight>500</wpml:executeHeight></Placemark>"
        "<Placemark><Point><coordinates>8.001,47.0</coordinates></Point><wpml:index>1</wpml:index>"
        "<wpml:executeHeight>500</wpml:executeHeight></Placemark></Folder></Document></kml>");
    ko_route *rt = open_ok("/vsimem/mixed/waylines.wpml");
    ck_assert_int_eq(ko_route_waypoint(rt, 0)->height_ref, KO_HEIGHT_EGM96);
    ko_camera cam;
    ko_camera_init(&cam);
    ko_route_options o;
    ko_route_options_init(&o);
    ck_assert_int_eq(ko_camera_from_focal35(24, 4000, 3000, &cam), KO_OK);
    o.camera = &cam;
    o.gimbal_pitch_deg = -90;
    ko_exposures *ex = NULL;
    ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_OK);
    const ko_exposure *e = ko_exposures_get(ex, 0);
    ck_assert_ptr_null(e->shot.reason);
    ck_assert_double_eq_tol(e->shot.pose.alt_msl_m, 500, 1e-9);
    ck_assert_double_eq_tol(e->shot.pose.height_m, 48.39, 0.01);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink("/vsimem/mixed/template.kml");
    VSIUnlink("/vsimem/mixed/waylines.wpml");
}
END_TEST

/* A hover: one waypoint, or two at the same place. The camera records there (no capture
 * action: the plan is sampled as video), so each waypoint is one exposure, at its position. */
START_TEST(hover_is_checked) {
    const char *one = "/vsimem/one.waypoints", *two = "/vsimem/two.waypoints";
    put(one,
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t47.0\t8.0\t500\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t0\t47.0\t8.0\t50\t1\n");
    put(two,
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t47.0\t8.0\t500\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t0\t47.0\t8.0\t50\t1\n"
        "2\t0\t3\t16\t0\t0\t0\t0\t47.0\t8.0\t50\t1\n");
    const char *paths[] = {one, two};
    for (int k = 0; k < 2; k++) {
        ko_route *rt = open_ok(paths[k]);
        ko_camera cam;
        ko_camera_init(&cam);
        ko_route_options o;
        ko_route_options_init(&o);
        o.gimbal_pitch_deg = -90;
        ck_assert_int_eq(ko_camera_from_focal35(24, 4000, 3000, &cam), KO_OK);
        o.camera = &cam;
        for (int cont = 0; cont < 2; cont++) {
            o.continuous = cont;
            ko_exposures *ex = NULL;
            ck_assert_int_eq(ko_route_exposures(ctx, rt, &o, &ex), KO_OK);
            ck_assert_uint_eq(ko_exposures_count(ex), (size_t)k + 1);
            for (size_t i = 0; i < ko_exposures_count(ex); i++) {
                const ko_exposure *e = ko_exposures_get(ex, i);
                ck_assert_uint_eq(e->waypoint, i);
                ck_assert_double_eq_tol(e->shot.pose.lat, 47.0, 1e-12);
                ck_assert_double_eq_tol(e->shot.pose.lon, 8.0, 1e-12);
                ck_assert_double_eq_tol(e->shot.pose.height_m, 50, 1e-12);
                ck_assert_ptr_null(e->shot.reason);
            }
            ko_exposures_destroy(ex);
        }
        ko_route_destroy(rt);
        VSIUnlink(paths[k]);
    }
}
END_TEST

/* KML 2.2's altitudeMode (kml:altitudeModeEnumType): absolute is above sea level,
 * relativeToGround above the ground, clampToGround (the default) on the ground: its Z is no
 * height; read as above sea level, a relativeToGround line at 100 m was flown 90 m up over
 * ground 10 m above the sea (adversary adv26). */
static const ko_waypoint *kml_first(const char *mode, ko_route **rt) {
    char text[600];
    snprintf(text, sizeof text,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document><Placemark><LineString>%s"
             "<coordinates>8.0,47.0,100 8.001,47.0,100</coordinates></LineString></Placemark>"
             "</Document></kml>\n",
             mode);
    put("/vsimem/mode.kml", text);
    ck_assert_msg(ko_route_open(ctx, "/vsimem/mode.kml", rt) == KO_OK, "%s", ko_errmsg(ctx));
    ck_assert_uint_eq(ko_route_waypoint_count(*rt), 2);
    return ko_route_waypoint(*rt, 0);
}

START_TEST(kml_altitude_mode) {
    ko_route *rt;
    const ko_waypoint *w = kml_first("<altitudeMode>relativeToGround</altitudeMode>", &rt);
    ck_assert_double_eq(w->height, 100);
    ck_assert_int_eq(w->height_ref, KO_HEIGHT_AGL);
    ko_route_destroy(rt);
    w = kml_first("<altitudeMode>absolute</altitudeMode>", &rt);
    ck_assert_double_eq(w->height, 100);
    ck_assert_int_eq(w->height_ref, KO_HEIGHT_EGM96);
    ko_route_destroy(rt);
    w = kml_first("<altitudeMode>clampToGround</altitudeMode>", &rt);
    ck_assert(isnan(w->height));
    ko_route_destroy(rt);
    w = kml_first("", &rt); /* the default: clampToGround */
    ck_assert(isnan(w->height));
    ko_route_destroy(rt);
    VSIUnlink("/vsimem/mode.kml");
}
END_TEST

START_TEST(malformed) {
    const struct {
        const char *path, *text, *expect;
    } cases[] = {
        {"/vsimem/short.waypoints", "QGC WPL 110\n1\t0\t3\t16\t0\t0\n", "12 tab-separated"},
        {"/vsimem/bad.plan", "{\"fileType\": \"Plan\", \"mission\": {\"items\": [", "not JSON"},
        {"/vsimem/type.plan", "{\"fileType\": \"Fence\"}", "fileType"},
        {"/vsimem/empty.plan", "{\"fileType\": \"Plan\", \"mission\": {\"items\": []}}",
         "no waypoints"},
        {"/vsimem/nolat.csv", "latitude,longitude\n1,2\n", "altitude(m)"},
        {"/vsimem/badlat.csv", "latitude,longitude,altitude(m)\nabc,2,3\n", "line 2"},
        {"/vsimem/x.wpml",
         "<kml xmlns=\"http://www.opengis.net/kml/2.2\" "
         "xmlns:wpml=\"http://www.dji.com/wpmz/1.0.2\">"
         "<Document><Folder><Placemark><Point><coordinates>a,b</coordinates></Point>"
         "</Placemark></Folder></Document></kml>",
         "coordinates"},
        {"/vsimem/doc.wpml", "<!DOCTYPE kml [<!ENTITY x 'y'>]><kml/>", "DOCTYPE"},
        /* unparsable numbers are errors, never a silently dropped home or a NaN */
        {"/vsimem/nanhome.waypoints",
         "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\tnan\t8\t500\t1\n"
         "1\t0\t3\t16\t0\t0\t0\t0\t47\t8\t50\t1\n",
         "line 2: field 9 (latitude) 'nan'"},
        {"/vsimem/infparam.waypoints", "QGC WPL 110\n1\t0\t3\t16\t1e999\t0\t0\t0\t47\t8\t50\t1\n",
         "field 5"},
        {"/vsimem/cmd.waypoints", "QGC WPL 110\n1\t0\t3\tWP\t0\t0\t0\t0\t47\t8\t50\t1\n",
         "field 4"},
        {"/vsimem/inf.plan",
         "{\"fileType\": \"Plan\", \"mission\": {\"items\": [{\"type\": \"SimpleItem\", "
         "\"command\": 16, \"frame\": 3, \"params\": [0, 0, 0, null, 47, 8, Infinity]}]}}",
         "mission.items[0].params[6]"},
        {"/vsimem/speed.plan",
         "{\"fileType\": \"Plan\", \"mission\": {\"cruiseSpeed\": \"fast\", \"items\": []}}",
         "mission.cruiseSpeed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put(cases[i].path, cases[i].text);
        ko_route *rt = NULL;
        ck_assert_int_ne(ko_route_open(ctx, cases[i].path, &rt), KO_OK);
        ck_assert_ptr_null(rt);
        ck_assert_msg(strstr(ko_errmsg(ctx), cases[i].expect) != NULL, "%s: %s", cases[i].path,
                      ko_errmsg(ctx));
        ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), cases[i].path));
        VSIUnlink(cases[i].path);
    }
}
END_TEST

/* Which inputs the driver opens as plans (ko_input_is_route), and the camera specs route and
 * the driver take (ko_camera_from_spec): sensor size from the 35 mm diagonal, errors. */
START_TEST(plans_recognised_and_camera_specs) {
    ck_assert_int_eq(ko_input_is_route(DATA "/routes/qgc_plan/qgroundcontrol_sample.plan"), 1);
    ck_assert_int_eq(ko_input_is_route(DATA "/routes/litchi_csv/waypoints.csv"), 1);
    ck_assert_int_eq(ko_input_is_route(DATA "/routes/dji_wpml_m4t_pilot2/dev_kmz_file.kmz"), 1);
    ck_assert_int_eq(ko_input_is_route(DATA "/routes/dji_wpml_m4t_pilot2"), 1);
    ck_assert_int_eq(ko_input_is_route(DATA "/images"), 0);
    ck_assert_int_eq(ko_input_is_route(DATA "/images/DJI_0021.JPG"), 0);
    ck_assert_int_eq(ko_input_is_route(DATA "/no/such.plan"), 0);
    put("/vsimem/t.csv", "lat,lon,height,yaw,pitch,roll,focal35_mm\n1,2,3,4,5,6,24\n");
    ck_assert_int_eq(ko_input_is_route("/vsimem/t.csv"), 0); /* telemetry, not Litchi */
    VSIUnlink("/vsimem/t.csv");
    ko_camera cam;
    ck_assert_int_eq(ko_camera_from_spec(ctx, "focal35=24,size=4000x3000", &cam), KO_OK);
    /* 4:3 sensor with the 43.27 mm diagonal: 34.61 x 25.96 mm */
    ck_assert_double_eq_tol(cam.sensor_w_mm, 43.2666 * 0.8, 1e-3);
    ck_assert_double_eq_tol(cam.sensor_h_mm, 43.2666 * 0.6, 1e-3);
    ck_assert_uint_eq(cam.width_px, 4000);
    /* without size= the frame is not known: the view holding a 4:3 and a 3:2 sensor's (a P4 RTK
     * plan's 3:2 frame is 36 mm-equivalent across, 3.9 % wider than 4:3: adversary adv27) */
    ck_assert_int_eq(ko_camera_from_spec(ctx, "focal35=24", &cam), KO_OK);
    ck_assert_double_eq_tol(cam.sensor_w_mm, 36.0, 1e-9);
    ck_assert_double_eq_tol(cam.sensor_h_mm, 43.2666 * 0.6, 1e-3);
    ck_assert_int_eq(ko_camera_from_spec(ctx, "focal=8.8,sensor=13.2x8.8,size=5472x3648", &cam),
                     KO_OK);
    ck_assert_double_eq(cam.focal_mm, 8.8);
    ck_assert_double_eq(cam.sensor_h_mm, 8.8);
    const char *bad[] = {"focal35=abc", "focal35=-1", "size=4000x3000", "focal=8.8", "x=1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(ko_camera_from_spec(ctx, bad[i], &cam), KO_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "camera '"));
    }
}
END_TEST

/* A WPML placemark (or its wayline's global heading) in waypointHeadingMode "manually" leaves
 * the heading to the pilot: its photo stands for every heading (yaw_turn_deg 180), never judged
 * along the course alone. An accurateShoot (DJI's older re-shoot photo, orientedShoot's
 * parameters) is a photo at its own gimbal pitch and aircraft heading: pitch -20 heading 0,
 * never dropped. */
static char *wpml_one(const char *global, const char *own, const char *action) {
    static char doc[4096];
    snprintf(doc, sizeof doc,
             "<kml xmlns=\"http://www.opengis.net/kml/2.2\" "
             "xmlns:wpml=\"http://www.dji.com/wpmz/1.0.6\"><Document><Folder>"
             "<wpml:executeHeightMode>relativeToStartPoint</wpml:executeHeightMode>%s"
             "<Placemark><Point><coordinates>8.0,47.0</coordinates></Point>"
             "<wpml:index>0</wpml:index><wpml:executeHeight>50</wpml:executeHeight>%s"
             "<wpml:actionGroup><wpml:actionGroupStartIndex>0</wpml:actionGroupStartIndex>"
             "<wpml:actionGroupEndIndex>0</wpml:actionGroupEndIndex>"
             "<wpml:actionGroupMode>sequence</wpml:actionGroupMode>"
             "<wpml:actionTrigger><wpml:actionTriggerType>reachPoint</wpml:actionTriggerType>"
             "</wpml:actionTrigger>"
             "<wpml:action><wpml:actionActuatorFunc>gimbalRotate</wpml:actionActuatorFunc>"
             "<wpml:actionActuatorFuncParam>"
             "<wpml:gimbalPitchRotateAngle>-90</wpml:gimbalPitchRotateAngle>"
             "</wpml:actionActuatorFuncParam></wpml:action>%s"
             "</wpml:actionGroup></Placemark></Folder></Document></kml>",
             global, own, action);
    return doc;
}

START_TEST(wpml_manual_heading_and_accurate_shoot) {
    const char *path = "/vsimem/manual.wpml";
    const char *photo =
        "<wpml:action><wpml:actionActuatorFunc>takePhoto</wpml:actionActuatorFunc>"
        "</wpml:action>";
    const char *manual =
        "<wpml:waypointHeadingParam><wpml:waypointHeadingMode>manually"
        "</wpml:waypointHeadingMode></wpml:waypointHeadingParam>";
    const char *global =
        "<wpml:globalWaypointHeadingParam><wpml:waypointHeadingMode>manually"
        "</wpml:waypointHeadingMode></wpml:globalWaypointHeadingParam>";
    const char *cases[][2] = {{"", manual}, {global, ""}};
    for (int i = 0; i < 2; i++) {
        put(path, wpml_one(cases[i][0], cases[i][1], photo));
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_of(rt);
        ck_assert_uint_eq(ko_exposures_count(ex), 1);
        ck_assert_double_eq(ko_exposures_get(ex, 0)->shot.yaw_turn_deg, 180);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    put(path, wpml_one("", "",
                       "<wpml:action><wpml:actionActuatorFunc>accurateShoot"
                       "</wpml:actionActuatorFunc><wpml:actionActuatorFuncParam>"
                       "<wpml:gimbalPitchRotateAngle>-20</wpml:gimbalPitchRotateAngle>"
                       "<wpml:aircraftHeading>0</wpml:aircraftHeading>"
                       "</wpml:actionActuatorFuncParam></wpml:action>"));
    ko_route *rt = open_ok(path);
    ko_exposures *ex = exposures_of(rt);
    ck_assert_uint_eq(ko_exposures_count(ex), 1);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 0)->shot.pose.pitch_deg, -20, 1e-9);
    ck_assert_double_eq_tol(ko_exposures_get(ex, 0)->shot.pose.yaw_deg, 0, 1e-9);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* ---- MAVLink photo triggers (adversary adv28r). The sample's WP2 (waypoint 1), WP4, WP5 as
 * metres east and north of WP2 on a local flat frame (111320 m per degree, the east scaled by
 * cos 47.4 deg; the legs are under 80 m: the frame errs by centimetres). */
static const double QGC_WP[3][2] = {
    {47.39777106, 8.5466122}, {47.39827377, 8.54660532}, {47.39827842, 8.54560824}};

static void qgc_en(double lat, double lon, double *e, double *n) {
    *e = (lon - QGC_WP[0][1]) * 111320.0 * cos(QGC_WP[0][0] * M_PI / 180.0);
    *n = (lat - QGC_WP[0][0]) * 111320.0;
}

/* Whether some exposure stands for the point e, n (metres from WP2): its position within its
 * own sweep (the motion it stands for) plus 0.5 m, or unknown with a reason within that. */
static int stands_at(const ko_exposures *ex, double e, double n) {
    for (size_t i = 0; i < ko_exposures_count(ex); i++) {
        const ko_shot *s = &ko_exposures_get(ex, i)->shot;
        double pe, pn;
        qgc_en(s->pose.lat, s->pose.lon, &pe, &pn);
        if (hypot(pe - e, pn - n) <= s->sweep_m + 0.5) return 1;
    }
    return 0;
}

/* The point a metres along the polyline WP2 -> WP4 -> WP5 (local metres). */
static void qgc_along(double a, double *e, double *n) {
    double p[3][2];
    for (int k = 0; k < 3; k++)
        qgc_en(QGC_WP[k][0], QGC_WP[k][1], &p[k][0], &p[k][1]);
    for (int k = 0; k < 2; k++) {
        double len = hypot(p[k + 1][0] - p[k][0], p[k + 1][1] - p[k][1]);
        if (a <= len || k == 1) {
            double f = fmin(a / len, 1.0);
            *e = p[k][0] + (p[k + 1][0] - p[k][0]) * f;
            *n = p[k][1] + (p[k + 1][1] - p[k][1]) * f;
            return;
        }
        a -= len;
    }
}

/* The first `leg_m` metres from WP2 on, every metre, each stood for by some exposure. */
static void assert_every_metre(const ko_exposures *ex, double from, double to) {
    for (double a = from; a <= to; a += 1.0) {
        double e, n;
        qgc_along(a, &e, &n);
        ck_assert_msg(stands_at(ex, e, n), "%.0f m after WP2 (%.1f E, %.1f N): no exposure", a, e,
                      n);
    }
}

/* IMAGE_START_CAPTURE every 2 s at WP2: the plan's cruiseSpeed 15 m/s is QGC's fixed-wing
 * default and reaches no autopilot (PX4 flies MPC_XY_CRUISE 5 m/s, ArduCopter WPNAV_SPEED
 * 10 m/s), wind and acceleration change the ground speed: the photos may fall anywhere on the
 * legs. Every metre of WP2 -> WP4 -> WP5 (56 + 75 m) is stood for (it was photographed every
 * 30 m only). A 1e-6 s interval is the same, not millions of photos (it was killed for memory);
 * a 1e-4 m distance trigger is judged as video too. */
START_TEST(qgc_time_trigger_anywhere) {
    const char *path = "/vsimem/timed.plan";
    const char *param[] = {"0, 2, 0, 0, 0, 0, 0", "0, 0.000001, 0, 0, 0, 0, 0"};
    for (size_t k = 0; k < 2; k++) {
        qgc_sample_edited(path, 2000, param[k], 0);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_nadir(rt, 0);
        assert_every_metre(ex, 0, 130);
        ck_assert_uint_lt(ko_exposures_count(ex), 1000);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    qgc_sample_edited(path, 206, "0.0001, 0, 0, 0, 0, 0, 0", 0);
    ko_route *rt = open_ok(path);
    ko_exposures *ex = exposures_nadir(rt, 0);
    assert_every_metre(ex, 0, 130);
    ck_assert_uint_lt(ko_exposures_count(ex), 1000);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* DO_CHANGE_SPEED 5 m/s at WP2: ArduCopter (do_change_speed: wp_nav->set_speed_xy) and PX4
 * (the navigator's cruising speed) fly the leg leaving WP2 at it, not only the next. */
START_TEST(qgc_change_speed_current_leg) {
    const char *path = "/vsimem/speed5.plan";
    qgc_sample_edited(path, 178, "1, 5, -1, 0, 0, 0, 0", 0);
    ko_route *rt = open_ok(path);
    ck_assert_double_eq_tol(ko_route_waypoint(rt, 0)->speed_mps, 15, 1e-9); /* cruiseSpeed */
    ck_assert_double_eq_tol(ko_route_waypoint(rt, 1)->speed_mps, 5, 1e-9);  /* WP2 -> WP4 */
    ck_assert_double_eq_tol(ko_route_waypoint(rt, 2)->speed_mps, 5, 1e-9);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* DO_SET_CAM_TRIGG_DIST 40 m with a photo now at WP2, then 56 m north and 75 m west. ArduPilot
 * (AP_Camera::update: current_loc.get_distance(last_location) < trigg_dist) and PX4
 * (camera_trigger: (_last_shoot_position - current_position).length() >= _distance) fire on
 * the straight-line distance from the last photo: simulated here every 5 cm, each photo the
 * autopilot takes is stood for (the one after the corner is 36.7 m west of WP4, keepout put it
 * at 24 m, with no widening). */
START_TEST(qgc_trigger_distance_corner) {
    const char *path = "/vsimem/dist_corner.plan";
    qgc_sample_edited(path, 206, "40, 0, 1, 0, 0, 0, 0", 0);
    ko_route *rt = open_ok(path);
    ko_exposures *ex = exposures_nadir(rt, 0);
    double le = 0, ln = 0, e, n;
    size_t photos = 0;
    for (double a = 0; a <= 131; a += 0.05) {
        qgc_along(a, &e, &n);
        if (a > 0 && hypot(e - le, n - ln) < 40) continue;
        ck_assert_msg(stands_at(ex, e, n), "photo at %.1f E, %.1f N: no exposure", e, n);
        le = e;
        ln = n;
        photos++;
    }
    ck_assert_uint_ge(photos, 3);
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

/* The photo trigger and the video are separate (MAVLink's camera protocol: image and video
 * capture are separate streams): VIDEO_START_CAPTURE then DO_SET_CAM_TRIGG_DIST 30 and 0, or
 * IMAGE_START_CAPTURE and IMAGE_STOP_CAPTURE, at WP2 leave the video recording on every leg
 * after (the stop had ended it); a DO_SET_CAM_TRIGG_INTERVAL with param1 -1 or 0 ("-1 or 0 to
 * ignore", PX4 camera_trigger changes the interval only for param1 > 0) keeps the 0.5 s
 * trigger (it had stopped it). */
START_TEST(qgc_photo_trigger_and_video_apart) {
    const char *path = "/vsimem/video_photo.plan";
    char video[512], start[512], stop[512];
    qgc_item(video, sizeof video, 2500, "0, 0, 0, 0, 0, 0, 0");
    const char *starts[][2] = {{"206", "30, 0, 0, 0, 0, 0, 0"}, {"2000", "0, 2, 0, 0, 0, 0, 0"}};
    const char *stops[][2] = {{"206", "0, 0, 0, 0, 0, 0, 0"}, {"2001", "0, 0, 0, 0, 0, 0, 0"}};
    for (size_t k = 0; k < 2; k++) {
        qgc_item(start, sizeof start, atoi(starts[k][0]), starts[k][1]);
        qgc_item(stop, sizeof stop, atoi(stops[k][0]), stops[k][1]);
        const char *it[] = {video, start, stop};
        qgc_sample_items(path, it, 3);
        ko_route *rt = open_ok(path);
        for (size_t i = 1; i < 3; i++)
            ck_assert_int_eq(ko_route_waypoint(rt, i)->trigger, KO_TRIGGER_CONTINUOUS);
        ko_route_destroy(rt);
    }
    char interval[512], ignore[512];
    qgc_item(interval, sizeof interval, 2000, "0, 0.5, 0, 0, 0, 0, 0");
    const char *p1[] = {"-1, 10, 0, 0, 0, 0, 0", "0, 10, 0, 0, 0, 0, 0"};
    for (size_t k = 0; k < 2; k++) {
        qgc_item(ignore, sizeof ignore, 214, p1[k]);
        const char *it[] = {interval, ignore};
        qgc_sample_items(path, it, 2);
        ko_route *rt = open_ok(path);
        ck_assert_int_eq(ko_route_waypoint(rt, 1)->trigger, KO_TRIGGER_TIME);
        ck_assert_double_eq_tol(ko_route_waypoint(rt, 1)->trigger_value, 0.5, 1e-9);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* CONDITION_DISTANCE 20 (or CONDITION_DELAY) at WP2 holds the DO commands after it until the
 * aircraft is 20 m from WP4 (ArduPilot's mission: "Condition-Distance"): a photo then is taken
 * 36 m north of WP2, and a trigger stop after it stops on the leg, not at WP2, or never
 * (the leg may end first, and the mission move on). The point 36 m along is stood
 * for (the photo was judged at WP2 only); the stopped trigger runs on over both legs. */
START_TEST(qgc_condition_delays_do_commands) {
    const char *path = "/vsimem/condition.plan";
    char cond[512], shot[512], trig[512], stop[512];
    qgc_item(shot, sizeof shot, 203, "0, 0, 0, 0, 1, 0, 0");
    qgc_item(trig, sizeof trig, 206, "30, 0, 0, 0, 0, 0, 0");
    qgc_item(stop, sizeof stop, 206, "0, 0, 0, 0, 0, 0, 0");
    const char *conds[][2] = {{"114", "20, 0, 0, 0, 0, 0, 0"}, {"112", "3, 0, 0, 0, 0, 0, 0"}};
    for (size_t k = 0; k < 2; k++) {
        qgc_item(cond, sizeof cond, atoi(conds[k][0]), conds[k][1]);
        const char *it[] = {cond, shot};
        qgc_sample_items(path, it, 2);
        ko_route *rt = open_ok(path);
        ko_exposures *ex = exposures_nadir(rt, 0);
        assert_every_metre(ex, 0, 56);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
        const char *it2[] = {trig, cond, stop};
        qgc_sample_items(path, it2, 3);
        rt = open_ok(path);
        ck_assert_int_ne(ko_route_waypoint(rt, 1)->trigger, KO_TRIGGER_NONE);
        ck_assert_int_ne(ko_route_waypoint(rt, 2)->trigger, KO_TRIGGER_NONE);
        ex = exposures_nadir(rt, 0);
        assert_every_metre(ex, 0, 130);
        ko_exposures_destroy(ex);
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
}
END_TEST

/* A 300 m distance trigger from WP1 on a straight 2000 m leg east along the equator, with a
 * video over the first 1000 m (VIDEO_START at WP1, VIDEO_STOP at WP2): the trigger never
 * stopped, so its photos are at 0, 300, ..., 1800 m (a straight line: the distance flown is the
 * distance from the last photo). After the video keepout starts the photos again at WP2 (1000,
 * 1300, ... m): the ones flown at 1200, 1500 and 1800 m are each stood for (a sample within its
 * sweep + 0.5 m; they were 100 m from keepout's, with no widening). */
START_TEST(qgc_distance_trigger_under_video) {
    const char *path = "/vsimem/dist_video.waypoints";
    put(path,
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t0.0\t10.0\t100\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t0\t0.0\t10.0\t50\t1\n"
        "2\t0\t2\t206\t300\t0\t0\t0\t0\t0\t0\t1\n"
        "3\t0\t2\t2500\t0\t0\t0\t0\t0\t0\t0\t1\n"
        "4\t0\t3\t16\t0\t0\t0\t0\t0.0\t10.0089831528\t50\t1\n"
        "5\t0\t2\t2501\t0\t0\t0\t0\t0\t0\t0\t1\n"
        "6\t0\t3\t16\t0\t0\t0\t0\t0.0\t10.0179663056\t50\t1\n");
    ko_route *rt = open_ok(path);
    ko_exposures *ex = exposures_nadir(rt, 0);
    for (double at = 1200; at <= 1800; at += 300) {
        int seen = 0;
        for (size_t i = 0; i < ko_exposures_count(ex) && !seen; i++) {
            const ko_shot *s = &ko_exposures_get(ex, i)->shot;
            double x = (s->pose.lon - 10.0) * 1000.0 / 0.0089831528;
            seen = fabs(s->pose.lat) < 1e-9 && fabs(x - at) <= s->sweep_m + 0.5;
        }
        ck_assert_msg(seen, "the photo at %.0f m: no exposure", at);
    }
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
    VSIUnlink(path);
}
END_TEST

int main(void) {
    const TTest *tests[] = {wpml_pilot2_heights_and_gimbal,
                            wpml_axis_not_enabled,
                            wpml_manual_heading_and_accurate_shoot,
                            qgc_loiter_circle_widened,
                            qgc_loiter_shifts_trigger,
                            wpml_zoom_keeps_other_lenses,
                            wpml_waylines_apart,
                            wpml_kmz_oriented_shots,
                            wpml_waygen_replays_the_gimbal,
                            litchi_sample,
                            qgc_survey_trigger,
                            distance_trigger_arithmetic,
                            qgc_photo_state_at_the_photo,
                            qgc_condition_yaw_at_the_photo,
                            qgc_gimbal_manager_yaw_frame,
                            qgc_every_command_understood,
                            qgc_waypoint_yaw_both_ways,
                            qgc_condition_yaw_held_or_not,
                            qgc_return_without_home,
                            qgc_return_heading_held,
                            qgc_mount_mode_and_zoom,
                            qgc_spline_leg_widened,
                            qgc_roi_after_mount_pitch_both_ways,
                            qgc_roi_cancel_mount_default,
                            qgc_roi_ends_mount_yaw,
                            qgc_yaw_over_roi_course_too,
                            qgc_takeoff_here_at_home,
                            qgc_roi_altitude_frame,
                            qgc_mixed_frames_leg,
                            qgc_nav_yaw_both_ways,
                            qgc_gimbal_manager_one_angle,
                            qgc_roi_mode_none_both_ways,
                            wpml_gimbal_pitch_and_rotate_modes,
                            wpml_manual_heading_every_way,
                            fail_closed,
                            geoid_between_datums,
                            hover_is_checked,
                            kml_altitude_mode,
                            malformed,
                            plans_recognised_and_camera_specs,
                            qgc_time_trigger_anywhere,
                            qgc_change_speed_current_leg,
                            qgc_trigger_distance_corner,
                            qgc_photo_trigger_and_video_apart,
                            qgc_condition_delays_do_commands,
                            qgc_distance_trigger_under_video};
    return unit_run(&(unit_suite){.name = "route",
                                  .tcase = "route",
                                  .timeout_s = 60,
                                  .setup = setup,
                                  .teardown = teardown},
                    tests, UNIT_COUNT(tests));
}
