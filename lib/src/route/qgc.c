/* QGroundControl missions: the .plan JSON and the MAVLink "QGC WPL 110" text file. Both are
 * lists of MAVLink mission items; one function replays an item's effect on the camera state,
 * so the two formats mean the same (command numbers from MAVLink's common.xml). */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "route/route.h"

enum {
    NAV_WAYPOINT = 16,
    NAV_LOITER_UNLIM = 17,
    NAV_LOITER_TURNS = 18,
    NAV_LOITER_TIME = 19,
    NAV_RETURN_TO_LAUNCH = 20,
    NAV_LAND = 21,
    NAV_TAKEOFF = 22,
    NAV_LOITER_TO_ALT = 31,
    NAV_SPLINE_WAYPOINT = 82,
    NAV_VTOL_TAKEOFF = 84,
    NAV_VTOL_LAND = 85,
    NAV_DELAY = 93,
    CONDITION_DELAY = 112,
    CONDITION_DISTANCE = 114,
    CONDITION_YAW = 115,
    DO_CHANGE_SPEED = 178,
    DO_LAND_START = 189,
    DO_SET_ROI_LOCATION = 195,
    DO_SET_ROI_NONE = 197,
    DO_SET_ROI = 201,
    DO_DIGICAM_CONTROL = 203,
    DO_MOUNT_CONTROL = 205,
    DO_SET_CAM_TRIGG_DIST = 206,
    DO_DIGICAM_CONFIGURE = 202,
    DO_FENCE_ENABLE = 207,
    DO_GRIPPER = 211,
    DO_SET_CAM_TRIGG_INTERVAL = 214,
    SET_CAMERA_MODE = 530,
    SET_CAMERA_FOCUS = 532,
    DO_GIMBAL_MANAGER_PITCHYAW = 1000,
    IMAGE_START_CAPTURE = 2000,
    IMAGE_STOP_CAPTURE = 2001,
    VIDEO_START_CAPTURE = 2500,
    VIDEO_STOP_CAPTURE = 2501
};

/* One mission item as MAVLink defines it. */
typedef struct mav_item {
    int command, frame;
    double p[7]; /* param1..4, x = lat, y = lon, z = alt; NaN where null */
    int number;  /* doJumpId / INDEX */
    int line;    /* item or line number, for messages */
} mav_item;

/* The replayed state: the next waypoint's camera settings. */
typedef struct replay {
    ko_route *rt;
    ko_waypoint next;    /* template for the next waypoint */
    double cruise_speed; /* mission default */
    int have_home;
    /* The heading where the aircraft is now (NaN: the course, or the POI), as CONDITION_YAW
     * turns it there; any_heading: a relative CONDITION_YAW turned it from a heading the plan
     * does not fix there, so it may face any way (photos and legs are judged every way round)
     * until an absolute one. */
    double here_heading;
    int any_heading;
    /* NAV_WAYPOINT param4: the yaw at the waypoint, which PX4 turns to and ArduPilot does not
     * (NaN: none): a photo there while the heading follows the course is judged both ways */
    double wp_yaw;
    /* held: a CONDITION_YAW heading is in force (next.heading_deg). turned_here: it turned the
     * aircraft at the waypoint it is at, so a photo there faces it. Past the next waypoint the
     * autopilot may go back to its own heading (ArduPilot: the next NAV command's start resets
     * the yaw to WP_YAW_BEHAVIOR's, the course by default, unless WP_YAW_BEHAVIOR is 0), which
     * the plan does not say: photos and legs there are judged both ways, held and the course. */
    int held, turned_here;
    /* roi_pitch: a DO_SET_ROI came after the gimbal pitch was set: ArduPilot aims a mount
     * that tilts at the ROI (AP_Mount set_roi_target), one that does not keeps the pitch; the
     * plan does not say which mount it is, so photos and legs are judged at both pitches until
     * a mount command sets the angles again (or DO_SET_ROI_NONE). */
    int roi_pitch;
    /* Static text when the mount or the zoom is not where the plan says (a DO_MOUNT_CONTROL in a
     * mode other than MAVLink targeting, a DO_DIGICAM_CONTROL zoom): photos and legs from then
     * on are unknown with it. NULL: known. */
    const char *mount_why, *zoom_why;
    /* The capture, kept apart as the autopilot keeps it: the video (VIDEO_START/STOP_CAPTURE),
     * timed photos (IMAGE_START_CAPTURE with an interval, DO_SET_CAM_TRIGG_INTERVAL; stopped by
     * IMAGE_STOP_CAPTURE) and distance photos (DO_SET_CAM_TRIGG_DIST; stopped by its 0). One
     * stopping leaves the others running (a DO_SET_CAM_TRIGG_DIST 0 ended the video). */
    int video;
    double timed_s, dist_m; /* NaN: off */
    /* A CONDITION_DELAY or CONDITION_DISTANCE holds the DO commands after it (until the next
     * NAV command) to a time or place on the leg leaving the waypoint that the plan does not
     * fix: a photo or a change of the capture there makes that leg judged as video
     * (leg_any), the new capture in force from the next waypoint on. A held stop is not
     * applied at all: it may never run (ArduPilot's mission may move on to the next NAV
     * command's DO commands when the leg ends before the condition is met), the capture then
     * running on. */
    int deferred, leg_any;
    /* A first position at latitude/longitude 0 ("here") was skipped: the plan has no home, so
     * where the aircraft took off is not known. pending: the camera photographed or recorded
     * before the first position known, judged unknown there (TAKEOFF_NO_HOME). */
    int here_skipped, pending;
    /* The ROI's altitude as its item gives it (roi_alt, on roi_ref: the item's frame; NaN: the
     * ground, as 0 above the take-off). roi_bad: it could not be put on the reference of the
     * waypoint the aircraft is at (an AMSL ROI without the home's altitude, a terrain-frame
     * one): where a camera aims at it is not known (ROI_HEIGHT). */
    double roi_alt;
    ko_height_ref roi_ref;
    int roi_bad;
    /* ArduPilot ignores a DO_SET_ROI's param1 (mode) and faces the location; PX4 takes it as
     * MAV_ROI (0 none: no ROI, the course). roi_any: a DO_SET_ROI whose mode is not 3 (location)
     * in a plan not written for ArduPilot (.plan firmwareType 3): judged every way round while
     * it is in force. ardupilot: the plan is for ArduPilot. */
    int roi_any, ardupilot;
} replay;

#define MOUNT_MODE                                                                               \
    "a DO_MOUNT_CONTROL with a mount mode (param7) other than 2, MAVLink targeting (0 retract, " \
    "1 neutral, 3 RC targeting, 4 GPS point, ...), leaves the camera where the mount or the "    \
    "pilot puts it (PX4), not at its angles: where the camera points is not known; set param7 "  \
    "to 2 to check it"
#define DIGICAM_ZOOM                                                                       \
    "a DO_DIGICAM_CONTROL zooms the camera (param2 zoom position or param3 zoom step, in " \
    "units MAVLink leaves to the camera): its field of view is not known; set param2 and " \
    "param3 to 0 to check it"
#define RTL_NO_HOME                                                                         \
    "a RETURN_TO_LAUNCH follows, and the plan has no home position: the flight home, with " \
    "the camera recording, is not in the plan; set the plan's home position to check it"

static const char TAKEOFF_NO_HOME[] =
    "the camera photographs or records before the mission's first position (a take-off at "
    "latitude/longitude 0, \"here\", where the aircraft stands, or a camera command before "
    "any position) and the plan has no home position: where is not known; set the plan's home "
    "position to check it";

static const char ROI_HEIGHT[] =
    "a DO_SET_ROI's altitude is above mean sea level (frame 0) and the plan has no home "
    "altitude, or above the terrain (frame 10), or on another reference than the waypoints', "
    "which cannot be converted: how far below or above the aircraft the camera aims is not "
    "known; give the ROI in frame 3 (above home) or set the plan's home position to check it";

static const char GIMBAL_ONE_ANGLE[] =
    "a DO_GIMBAL_MANAGER_PITCHYAW gives one angle and leaves the other NaN: PX4 then sets no "
    "angle (its attitude from both is NaN) and ArduPilot sets angles only where both are valid, "
    "so the camera may stay where it was or take the one angle: where it points is not known; "
    "give both param1 and param2 to check it";

static const char ROI_CANCELLED[] =
    "a DO_SET_ROI_NONE (or a DO_SET_ROI at latitude, longitude and altitude 0, ArduPilot's "
    "cancel) puts a mount that aimed at the ROI back in its default mode (MAVLink: manual "
    "input, else neutral; ArduPilot MNTx_DEFLT_MODE, RC targeting by default), not at the "
    "plan's angles: where the camera points is not known; set the angles again after it (a "
    "DO_MOUNT_CONTROL with param7 2) to check it";

static const char GIMBAL_PARKED[] =
    "a DO_GIMBAL_MANAGER_PITCHYAW with GIMBAL_MANAGER_FLAGS RETRACT (1) or NEUTRAL (2) in "
    "param5 parks the gimbal (retracted, or at the mount's neutral angles), not at its "
    "param1/param2 angles: where the camera points is not known; clear those flags to check it";

/* The loiter radius judged where a loiter gives none (see add_position), metres. */
#define LOITER_DEFAULT_M 80.0

/* Why the camera's pointing is not known where the aircraft is now, or NULL. */
static const char *state_why(const replay *r) {
    if (r->mount_why || r->zoom_why) return r->mount_why ? r->mount_why : r->zoom_why;
    /* a ROI whose height is not known matters where the camera may aim at it */
    return r->roi_bad && !isnan(r->next.poi_lat) &&
                   (isnan(r->next.gimbal_pitch_deg) || r->roi_pitch)
               ? ROI_HEIGHT
               : NULL;
}

/* The plan's home altitude above mean sea level, NaN if it gives none. */
static double home_amsl(const ko_route *rt) {
    return rt->has_takeoff && rt->takeoff_ref == KO_HEIGHT_EGM96 ? rt->takeoff_height : NAN;
}

/* The ROI's altitude on the reference `ref` of the waypoint it is judged from (ko_waypoint
 * poi_height is on the waypoint's height_ref), through the home's AMSL altitude where the two
 * differ; NaN and roi_bad where that cannot be done. */
static double roi_height_on(replay *r, ko_height_ref ref) {
    double h = r->roi_alt, home = home_amsl(r->rt), above = NAN;
    if (isnan(r->next.poi_lat)) return NAN;
    r->roi_bad = 0;
    if (r->roi_ref == ref && (!isnan(h) || ref == KO_HEIGHT_TAKEOFF)) return h;
    if (r->roi_ref == KO_HEIGHT_TAKEOFF || (isnan(h) && r->roi_ref == KO_HEIGHT_EGM96))
        /* null: the ground at home */
        above = isnan(h) ? 0.0 : h;
    else if (r->roi_ref == KO_HEIGHT_EGM96)
        above = h - home;
    if (ref == KO_HEIGHT_TAKEOFF && isfinite(above)) return above;
    if (ref == KO_HEIGHT_EGM96 && isfinite(above + home)) return above + home;
    r->roi_bad = 1; /* a terrain frame, WGS84, or no home altitude */
    return NAN;
}

/* The last waypoint's leg from now on: it leaves with the state in force. */
static void update_leg(replay *r) {
    if (!r->rt->n) return;
    koi_wp_more *m = &r->rt->more[r->rt->n - 1];
    m->why = state_why(r);
    m->course_too = r->held;
    m->poi_pitch_too = r->roi_pitch;
    m->any_heading = r->any_heading || r->roi_any;
}

static int is_nav_position(int cmd) {
    return cmd == NAV_WAYPOINT || cmd == NAV_TAKEOFF || cmd == NAV_LAND ||
           cmd == NAV_LOITER_UNLIM || cmd == NAV_LOITER_TURNS || cmd == NAV_LOITER_TIME ||
           cmd == NAV_LOITER_TO_ALT || cmd == NAV_SPLINE_WAYPOINT || cmd == NAV_VTOL_TAKEOFF ||
           cmd == NAV_VTOL_LAND;
}

/* Commands that neither move the aircraft nor turn, zoom or trigger the camera (waits, markers,
 * camera settings, fence, gripper). */
static int is_inert(int cmd) {
    return cmd == NAV_DELAY || cmd == DO_LAND_START || cmd == DO_DIGICAM_CONFIGURE ||
           cmd == DO_FENCE_ENABLE || cmd == DO_GRIPPER || cmd == SET_CAMERA_MODE ||
           cmd == SET_CAMERA_FOCUS;
}

/* MAV_FRAME: 0/5 GLOBAL (AMSL), 3/6 GLOBAL_RELATIVE_ALT, 10/11 GLOBAL_TERRAIN_ALT. */
static int height_ref(int frame, ko_height_ref *ref) {
    switch (frame) {
        case 0:
        case 5:
            *ref = KO_HEIGHT_EGM96;
            return 1;
        case 3:
        case 6:
            *ref = KO_HEIGHT_TAKEOFF;
            return 1;
        case 10:
        case 11:
            *ref = KO_HEIGHT_AGL;
            return 1;
    }
    return 0;
}

/* The trigger in effect on the leg now being flown, from the capture state: the video where it
 * records (its frames stand for any photo too), else timed photos (judged as video anyway, see
 * route/exposure.c), else distance photos. It starts where the aircraft is: on the leg leaving
 * the last waypoint, which a held (deferred) change makes a video all along. dist_set: the
 * command set the distance trigger (it fires at once); else a distance trigger in force ran
 * on under the others, its photos where keepout did not place them (koi_wp_more
 * trigger_shift). */
static void set_trigger(replay *r, int dist_set) {
    ko_route *rt = r->rt;
    ko_waypoint *next = &r->next;
    next->trigger = r->video             ? KO_TRIGGER_CONTINUOUS
                    : !isnan(r->timed_s) ? KO_TRIGGER_TIME
                    : !isnan(r->dist_m)  ? KO_TRIGGER_DISTANCE
                                         : KO_TRIGGER_NONE;
    next->trigger_value = next->trigger == KO_TRIGGER_TIME       ? r->timed_s
                          : next->trigger == KO_TRIGGER_DISTANCE ? r->dist_m
                                                                 : NAN;
    if (!rt->n) return;
    if (!dist_set && next->trigger == KO_TRIGGER_DISTANCE) rt->more[rt->n - 1].trigger_shift = 1;
    if (r->deferred) r->leg_any = 1;
    rt->wp[rt->n - 1].trigger = r->leg_any ? KO_TRIGGER_CONTINUOUS : next->trigger;
    rt->wp[rt->n - 1].trigger_value = r->leg_any ? NAN : next->trigger_value;
}

/* A photo where the aircraft is, with the camera state in force when the command runs: the
 * commands after it at the same waypoint do not change it ("pitch -30, photo, pitch -90"
 * photographs at -30). */
static ko_status photo_here(replay *r) {
    ko_route *rt = r->rt;
    if (!rt->n) { /* before any position: judged at the first, unknown (TAKEOFF_NO_HOME) */
        r->pending = 1;
        return KO_OK;
    }
    if (r->deferred) { /* held to a point of the leg: anywhere on it */
        r->leg_any = 1;
        set_trigger(r, 0);
    }
    ko_waypoint *last = &rt->wp[rt->n - 1];
    last->photos++;
    koi_shot shot = {rt->n - 1,
                     r->next.gimbal_pitch_deg,
                     r->next.gimbal_yaw_deg,
                     r->next.gimbal_yaw_offset_deg,
                     r->here_heading,
                     NAN,
                     state_why(r),
                     0,
                     r->any_heading || r->roi_any};
    /* The headings the aircraft may have: the one in force; where it is not certain here (a
     * CONDITION_YAW held from an earlier waypoint), the course too; where it may follow the
     * course, NAV_WAYPOINT param4's yaw (PX4 turns to it, ArduPilot does not). */
    int either = r->held && !r->turned_here, n = 0;
    double heading[3];
    if (!isnan(r->wp_yaw) && (isnan(r->here_heading) || either)) heading[n++] = r->wp_yaw;
    if (either) heading[n++] = NAN;
    heading[n++] = r->here_heading;
    /* and the pitches: the one set, and aimed at the ROI (NaN) where a mount may aim there */
    int pitches = r->roi_pitch && !isnan(shot.pitch_deg) ? 2 : 1;
    for (int j = 0; j < pitches; j++)
        for (int k = 0; k < n; k++) {
            if (k && (heading[k] == heading[k - 1] || (isnan(heading[k]) && isnan(heading[k - 1]))))
                continue;
            shot.heading_deg = heading[k];
            shot.pitch_deg = j ? NAN : r->next.gimbal_pitch_deg;
            ko_status s = koi_route_push_shot(rt, &shot, j == 0 && k == 0);
            if (s) return s;
        }
    return KO_OK;
}

static ko_status add_position(replay *r, const mav_item *it) {
    ko_route *rt = r->rt;
    ko_waypoint wp = r->next;
    /* A loiter with a radius circles round the point (param3; LOITER_TO_ALT's param2, the
     * sign only the direction): judged from the circle, widened (koi_wp_more loiter_m) */
    double radius = it->command == NAV_LOITER_TO_ALT ? it->p[1]
                    : it->command == NAV_LOITER_UNLIM || it->command == NAV_LOITER_TURNS ||
                            it->command == NAV_LOITER_TIME
                        ? it->p[2]
                        : 0;
    /* A loiter's radius 0 (or under 1 m, or unset) is the autopilot's own, not a hover:
     * ArduCopter LOITER_TURNS circles at CIRCLE_RADIUS (10 m by default; ModeAuto
     * circle_movetoedge_start), ArduPlane at WP_LOITER_RAD (60 m), PX4 at NAV_LOITER_RAD (80 m;
     * 50 m in older releases): judged as the largest default, LOITER_DEFAULT_M */
    int loiter = it->command == NAV_LOITER_TO_ALT || it->command == NAV_LOITER_UNLIM ||
                 it->command == NAV_LOITER_TURNS || it->command == NAV_LOITER_TIME;
    radius = isfinite(radius) && fabs(radius) >= 1.0 ? fabs(radius)
             : loiter                                ? LOITER_DEFAULT_M
                                                     : 0.0;
    if (!isfinite(it->p[4]) || !isfinite(it->p[5]) || fabs(it->p[4]) > 90 || fabs(it->p[5]) > 180)
        return koi_error(rt->ctx, KO_ERR_FORMAT,
                         "%s: item %d (command %d): latitude/longitude missing or out of range",
                         rt->path, it->line, it->command);
    if (it->p[4] == 0 && it->p[5] == 0 && !rt->n) {
        /* "here": a take-off where the aircraft stands (Mission Planner writes 0, 0; ArduCopter
         * climbs where it is), at the plan's home; without one, not known (TAKEOFF_NO_HOME) */
        if (!rt->has_takeoff) {
            r->here_skipped = 1;
            return KO_OK;
        }
        wp.lat = rt->takeoff_lat;
        wp.lon = rt->takeoff_lon;
    } else if (it->p[4] == 0 && it->p[5] == 0) {
        wp.lat = rt->wp[rt->n - 1].lat;
        wp.lon = rt->wp[rt->n - 1].lon;
    } else {
        wp.lat = it->p[4];
        wp.lon = it->p[5];
    }
    if (!height_ref(it->frame, &wp.height_ref))
        return koi_error(rt->ctx, KO_ERR_FORMAT,
                         "%s: item %d (command %d): frame %d has no "
                         "global position (expected 0, 3 or 10)",
                         rt->path, it->line, it->command, it->frame);
    wp.height = it->p[6];
    wp.poi_height = roi_height_on(r, wp.height_ref);
    wp.number = it->number;
    wp.line = it->line;
    wp.photos = 0;
    if (isnan(wp.speed_mps)) wp.speed_mps = r->cruise_speed;
    r->here_heading = wp.heading_deg;
    r->turned_here = 0;
    /* param4 is a yaw for these (MAVLink common.xml; PX4 mavlink_mission.cpp sets the mission
     * item's yaw from it for each) */
    r->wp_yaw =
        (it->command == NAV_WAYPOINT || it->command == NAV_TAKEOFF || it->command == NAV_LAND ||
         it->command == NAV_LOITER_UNLIM || it->command == NAV_LOITER_TIME ||
         it->command == NAV_VTOL_TAKEOFF || it->command == NAV_VTOL_LAND) &&
                isfinite(it->p[3])
            ? it->p[3]
            : NAN;
    r->deferred = r->leg_any = 0; /* the held DO commands have run by now (or never will) */
    ko_status s = koi_route_push(rt, &wp);
    if (s) return s;
    if (rt->n == 1 && r->pending) { /* what was recorded before it, from where is not known */
        koi_shot shot = {0, NAN, NAN, 0.0, NAN, NAN, TAKEOFF_NO_HOME, 0, 1};
        rt->wp[0].photos++;
        if ((s = koi_route_push_shot(rt, &shot, 0))) return s;
    }
    update_leg(r);
    koi_wp_more *m = &rt->more[rt->n - 1];
    m->spline = it->command == NAV_SPLINE_WAYPOINT;
    /* ArduCopter yaws to the curve's tangent (AC_WPNav: the target velocity), which swings
     * past the chord: where the heading would follow the course, the curve stands for every
     * heading */
    if (m->spline && rt->n > 1) {
        const ko_waypoint *a = &rt->wp[rt->n - 2];
        koi_wp_more *ma = &rt->more[rt->n - 2];
        if ((isnan(a->heading_deg) && isnan(a->poi_lat)) || ma->course_too) ma->any_heading = 1;
    }
    m->loiter_m = radius;
    if (radius > 0 && it->command == NAV_LOITER_TO_ALT && rt->n > 1 &&
        rt->wp[rt->n - 2].height_ref == wp.height_ref &&
        isfinite(wp.height - rt->wp[rt->n - 2].height)) /* it climbs or sinks on the circle */
        m->loiter_climb_m = fabs(wp.height - rt->wp[rt->n - 2].height);
    return KO_OK;
}

static void gimbal(replay *r, double pitch, double yaw, int earth_frame) {
    if (isfinite(pitch)) r->next.gimbal_pitch_deg = pitch;
    if (!isfinite(yaw)) return;
    if (earth_frame) {
        r->next.gimbal_yaw_deg = yaw;
    } else {
        r->next.gimbal_yaw_deg = NAN;
        r->next.gimbal_yaw_offset_deg = yaw;
    }
}

/* Before a RETURN_TO_LAUNCH: ArduCopter's default WP_YAW_BEHAVIOR (2, "look at next WP except
 * RTL") flies home holding the heading it has (ModeRTL: AutoYaw HOLD), other autopilots and
 * settings face home. Where that heading is the course of the leg it arrived on, the leg home
 * is flown at it and at the course home (course_too); where it is anything else (a held or
 * relative CONDITION_YAW, a POI, a waypoint yaw, no leg before), every way round. */
static void held_or_home(replay *r) {
    ko_route *rt = r->rt;
    size_t i = rt->n - 1;
    double len = 0, az1, az2 = NAN;
    if (i > 0 && !r->any_heading && !r->held && isnan(r->here_heading) && isnan(r->next.poi_lat) &&
        isnan(r->wp_yaw) && isnan(rt->wp[i].heading_deg))
        geod_inverse(koi_ctx_geod(rt->ctx), rt->wp[i - 1].lat, rt->wp[i - 1].lon, rt->wp[i].lat,
                     rt->wp[i].lon, &len, &az1, &az2);
    if (len > 1.0 && isfinite(az2)) {
        rt->wp[i].heading_deg = az2 < 0 ? az2 + 360.0 : az2;
        rt->more[i].course_too = 1;
    } else {
        rt->more[i].any_heading = 1;
    }
}

/* The ROI ends (DO_SET_ROI_NONE, or a DO_SET_ROI at 0, 0, 0: ArduPilot's cancel, AutoYaw
 * set_roi "if location is zero"). The heading goes back to the autopilot's own; a mount that
 * was aiming at the ROI goes to its default mode (MAVLink: "manual input if available, and
 * otherwise ... a neutral position"; ArduPilot clear_roi_target(): MNTx_DEFLT_MODE, RC
 * targeting by default), not to the angles the plan set before: unknown until a mount command
 * (a plan that set none leaves the pitch to the caller, a fixed camera, as before the ROI). */
static void roi_none(replay *r) {
    if (!isnan(r->next.poi_lat) &&
        (!isnan(r->next.gimbal_pitch_deg) || !isnan(r->next.gimbal_yaw_deg)))
        r->mount_why = ROI_CANCELLED;
    r->next.poi_lat = r->next.poi_lon = r->next.poi_height = NAN;
    r->turned_here = 0; /* ArduPilot goes back to its own heading: both */
    r->roi_pitch = r->roi_bad = r->roi_any = 0;
}

/* Applies one item. Camera and gimbal commands change the state from the current position
 * on: they also update the last waypoint, where the aircraft is when they run. */
static ko_status apply(replay *r, const mav_item *it) {
    ko_waypoint *n = &r->next;
    const double *p = it->p;
    /* a camera command after a take-off "here" whose place the plan does not give */
    if (!r->rt->n && r->here_skipped &&
        (it->command == DO_SET_CAM_TRIGG_DIST || it->command == DO_SET_CAM_TRIGG_INTERVAL ||
         it->command == IMAGE_START_CAPTURE || it->command == VIDEO_START_CAPTURE))
        r->pending = 1;
    switch (it->command) {
        case NAV_RETURN_TO_LAUNCH: { /* a last leg home, at the height flown */
            if (!r->rt->n) return KO_OK;
            if (!r->rt->has_takeoff) {
                r->rt->more[r->rt->n - 1].after_why = RTL_NO_HOME;
                return KO_OK;
            }
            const ko_waypoint *last = &r->rt->wp[r->rt->n - 1];
            held_or_home(r);
            mav_item home = *it;
            home.p[4] = r->rt->takeoff_lat;
            home.p[5] = r->rt->takeoff_lon;
            home.p[6] = last->height;
            home.frame = last->height_ref == KO_HEIGHT_EGM96 ? 0
                         : last->height_ref == KO_HEIGHT_AGL ? 10
                                                             : 3;
            return add_position(r, &home);
        }
        case CONDITION_YAW: /* param1 degrees; param3: -1 counter-clockwise, 0 shorter, 1
                               clockwise; param4: 0 absolute, 1 relative (param3's way) */
            if (isfinite(p[0]) && p[3] > 0) { /* relative: from the heading now, if known */
                double to = r->turned_here && !r->any_heading
                                ? r->here_heading + (p[2] < 0 ? -p[0] : p[0])
                                : NAN;
                r->any_heading = isnan(to);
                r->held = r->turned_here = !isnan(to);
                to = fmod(to, 360.0);
                r->here_heading = n->heading_deg = to < 0 ? to + 360.0 : to;
            } else if (isfinite(p[0])) { /* absolute: the heading is known from here on */
                r->here_heading = n->heading_deg = p[0];
                /* unless a ROI is in force: ArduCopter's yaw ends the ROI heading (AutoYaw
                 * FIXED) and the next waypoint's start goes to WP_YAW_BEHAVIOR's (the course),
                 * another autopilot may keep facing the ROI: held, course or ROI, judged every
                 * way round (until an absolute yaw without a ROI) */
                r->any_heading = !isnan(n->poi_lat);
                r->held = r->turned_here = 1;
            }
            /* ArduPilot runs it once the next leg has begun: that leg is flown at it, turning
             * from the course (judged both ways, update_leg) */
            if (r->rt->n && isfinite(p[0])) r->rt->wp[r->rt->n - 1].heading_deg = n->heading_deg;
            n->turn = p[2] > 0   ? KO_TURN_CLOCKWISE
                      : p[2] < 0 ? KO_TURN_COUNTERCLOCKWISE
                                 : KO_TURN_SHORTER; /* (NaN too) */
            break;
        case DO_CHANGE_SPEED: /* from now: the leg being flown too (ArduCopter
                                 do_change_speed, PX4's navigator set the speed at once) */
            if (isfinite(p[1]) && p[1] > 0) {
                n->speed_mps = p[1];
                if (r->rt->n) r->rt->wp[r->rt->n - 1].speed_mps = p[1];
            }
            break;
        case CONDITION_DELAY:
        case CONDITION_DISTANCE:
            r->deferred = 1;
            break;
        case DO_SET_ROI:
        case DO_SET_ROI_LOCATION:
            if (p[4] == 0 && p[5] == 0 && (p[6] == 0 || isnan(p[6]))) { /* the cancel */
                roi_none(r);
                break;
            }
            if (isfinite(p[4]) && isfinite(p[5]) && (p[4] != 0 || p[5] != 0)) {
                n->poi_lat = p[4];
                n->poi_lon = p[5];
                /* the altitude is in the item's frame (0 AMSL, 3 above home, 10 terrain); a
                 * frame without one (2, MAV_FRAME_MISSION) as above home */
                if (!height_ref(it->frame, &r->roi_ref)) r->roi_ref = KO_HEIGHT_TAKEOFF;
                r->roi_alt = p[6];
                n->poi_height = r->rt->n ? roi_height_on(r, r->rt->wp[r->rt->n - 1].height_ref)
                                         : roi_height_on(r, KO_HEIGHT_TAKEOFF);
                /* PX4 reads param1 as the mode (0 none: the course), ArduPilot faces it */
                r->roi_any = it->command == DO_SET_ROI && p[0] != 3 && !r->ardupilot;
                /* the mount aims at it (ArduPilot set_roi_target: GPS_POINT), or one that
                 * cannot pan leaves it to the aircraft, which faces it: no yaw of its own */
                n->gimbal_yaw_deg = NAN;
                n->gimbal_yaw_offset_deg = 0.0;
            }
            r->turned_here = 0; /* a held CONDITION_YAW gives way to it (ArduPilot): both */
            r->roi_pitch = !isnan(n->poi_lat) && !isnan(n->gimbal_pitch_deg);
            break;
        case DO_SET_ROI_NONE:
            roi_none(r);
            break;
        case DO_MOUNT_CONTROL: /* param1 pitch, param2 roll, param3 yaw (degrees); param7
                                  MAV_MOUNT_MODE: only 2, MAVLink targeting, points the mount
                                  at those angles (PX4 retracts it, centres it or leaves it to
                                  the pilot's sticks in the others; ArduPilot ignores param7) */
            gimbal(r, p[0], p[2], 0);
            r->mount_why = p[6] == 2 ? NULL : MOUNT_MODE;
            if (isfinite(p[0])) r->roi_pitch = 0; /* the mount takes its angles again */
            break;
        case DO_GIMBAL_MANAGER_PITCHYAW: /* param5 GIMBAL_MANAGER_FLAGS: the yaw is from north
                                            with YAW_IN_EARTH_FRAME (64) or YAW_LOCK (16), unless
                                            YAW_IN_VEHICLE_FRAME (32) */
        {
            int flags = fabs(p[4]) < 1e9 ? (int)p[4] : 0;
            gimbal(r, p[0], p[1], !(flags & 32) && (flags & (16 | 64)));
            if (isfinite(p[0])) r->roi_pitch = 0;
            /* RETRACT (1) and NEUTRAL (2) park the gimbal, its angles unused (ArduPilot
             * start_command_do_gimbal_manager_pitchyaw sets the mode and returns); both angles
             * without them point it (MAVLink targeting), ending a park or a ROI's default mode */
            if (flags & 3)
                r->mount_why = GIMBAL_PARKED;
            else if (isfinite(p[0]) != isfinite(p[1]))
                r->mount_why = GIMBAL_ONE_ANGLE;
            else if (isfinite(p[0]) && isfinite(p[1]) &&
                     (r->mount_why == GIMBAL_PARKED || r->mount_why == ROI_CANCELLED ||
                      r->mount_why == GIMBAL_ONE_ANGLE))
                r->mount_why = NULL;
            break;
        }
        case DO_DIGICAM_CONTROL: /* param2 zoom position, param3 zoom step (units the
                                    camera's), param5 "shot": 1 takes a photo */
            if ((isfinite(p[1]) && p[1] != 0) || (isfinite(p[2]) && p[2] != 0)) {
                r->zoom_why = DIGICAM_ZOOM;
                update_leg(r);
            }
            if (p[4] == 1) return photo_here(r); /* (changes no other state) */
            break;
        case DO_SET_CAM_TRIGG_DIST: /* param1 metres (0 stops), param3 1 = trigger once now */
            if (p[0] > 0 || !r->deferred) r->dist_m = p[0] > 0 ? p[0] : NAN;
            set_trigger(r, 1);
            if (p[2] == 1) return photo_here(r);
            break;
        case DO_SET_CAM_TRIGG_INTERVAL: /* param1 cycle time in ms, "-1 or 0 to ignore" (PX4
                                           camera_trigger: only param1 > 0 sets it) */
            if (p[0] > 0) {
                r->timed_s = p[0] / 1000.0;
                set_trigger(r, 0);
            }
            break;
        case IMAGE_START_CAPTURE: /* param2 interval s, param3 total images (1 = single) */
            if (p[2] == 1 || !(p[1] > 0)) return photo_here(r);
            r->timed_s = p[1];
            set_trigger(r, 0);
            break;
        case IMAGE_STOP_CAPTURE:
            if (!r->deferred) r->timed_s = NAN;
            set_trigger(r, 0);
            break;
        case VIDEO_STOP_CAPTURE:
            if (!r->deferred) r->video = 0;
            set_trigger(r, 0);
            break;
        case VIDEO_START_CAPTURE:
            r->video = 1;
            set_trigger(r, 0);
            break;
        default:
            if (is_nav_position(it->command)) return add_position(r, it);
            if (is_inert(it->command)) break;
            /* anything else may move the aircraft or the camera (DO_JUMP, DO_REPOSITION,
             * DO_SET_MODE, DO_MOUNT_CONFIGURE, a zoom, a relay-triggered camera, ...): what
             * the route shows is not known */
            return koi_error(r->rt->ctx, KO_ERR_FORMAT,
                             "%s: item %d: MAVLink command %d is not understood and may move "
                             "the aircraft or the camera: the route cannot be judged",
                             r->rt->path, it->line, it->command);
    }
    update_leg(r);
    /* state changes apply where the aircraft is: the last waypoint */
    if (r->rt->n && it->command != DO_SET_CAM_TRIGG_DIST && it->command != IMAGE_START_CAPTURE) {
        ko_waypoint *last = &r->rt->wp[r->rt->n - 1];
        last->gimbal_pitch_deg = n->gimbal_pitch_deg;
        last->gimbal_yaw_deg = n->gimbal_yaw_deg;
        last->gimbal_yaw_offset_deg = n->gimbal_yaw_offset_deg;
        last->poi_lat = n->poi_lat;
        last->poi_lon = n->poi_lon;
        last->poi_height = roi_height_on(r, last->height_ref);
    }
    return KO_OK;
}

static void replay_init(replay *r, ko_route *rt) {
    memset(r, 0, sizeof *r);
    r->rt = rt;
    ko_waypoint_init(&r->next);
    r->next.turn = KO_TURN_SHORTER; /* autopilots yaw the shorter way unless told */
    r->cruise_speed = NAN;
    r->here_heading = r->wp_yaw = r->roi_alt = NAN;
    r->roi_ref = KO_HEIGHT_TAKEOFF;
    r->timed_s = r->dist_m = NAN;
}

/* ------------------------------------------------------------------------------------------ */
/* .plan */

static double jnum(json_object *o) {
    if (!o || json_object_is_type(o, json_type_null)) return NAN;
    if (!json_object_is_type(o, json_type_double) && !json_object_is_type(o, json_type_int))
        return NAN;
    return json_object_get_double(o);
}

static json_object *jget(json_object *o, const char *key) {
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static ko_status plan_item(replay *r, json_object *it, int line);

static ko_status plan_items(replay *r, json_object *items, const char *where) {
    if (!items || !json_object_is_type(items, json_type_array))
        return koi_error(r->rt->ctx, KO_ERR_FORMAT, "%s: %s: not a list of items", r->rt->path,
                         where);
    size_t n = json_object_array_length(items);
    for (size_t i = 0; i < n; i++) {
        ko_status s = plan_item(r, json_object_array_get_idx(items, i), (int)i);
        if (s) return s;
    }
    return KO_OK;
}

/* A survey's CameraCalc names the camera when it is not "Manual". */
static void plan_camera(replay *r, json_object *calc) {
    double fw = jnum(jget(calc, "SensorWidth")), fh = jnum(jget(calc, "SensorHeight"));
    double f = jnum(jget(calc, "FocalLength"));
    double iw = jnum(jget(calc, "ImageWidth")), ih = jnum(jget(calc, "ImageHeight"));
    if (!(fw > 0 && fh > 0 && f > 0) || r->rt->has_camera) return;
    ko_camera_init(&r->rt->camera);
    r->rt->camera.focal_mm = f;
    r->rt->camera.sensor_w_mm = fw;
    r->rt->camera.sensor_h_mm = fh;
    if (iw > 0 && ih > 0) {
        r->rt->camera.width_px = (uint32_t)iw;
        r->rt->camera.height_px = (uint32_t)ih;
    }
    r->rt->has_camera = 1;
}

/* An integer member of an item: absent is 0; any other type is an error. */
static ko_status plan_int(replay *r, json_object *it, const char *key, int line, int required,
                          int *out) {
    json_object *v = jget(it, key);
    *out = 0;
    if (!v && !required) return KO_OK;
    if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < INT32_MIN ||
        json_object_get_int64(v) > INT32_MAX)
        return koi_error(r->rt->ctx, KO_ERR_FORMAT, "%s: mission.items[%d].%s: not an integer",
                         r->rt->path, line, key);
    *out = json_object_get_int(v);
    return KO_OK;
}

static ko_status plan_item(replay *r, json_object *it, int line) {
    if (!json_object_is_type(it, json_type_object))
        return koi_error(r->rt->ctx, KO_ERR_FORMAT, "%s: mission.items[%d]: not an object",
                         r->rt->path, line);
    json_object *jt = jget(it, "type");
    const char *type =
        json_object_is_type(jt, json_type_string) ? json_object_get_string(jt) : NULL;
    if (type && strcmp(type, "ComplexItem") == 0) {
        json_object *ts = jget(it, "TransectStyleComplexItem");
        if (!ts)
            return koi_error(r->rt->ctx, KO_ERR_FORMAT,
                             "%s: mission.items[%d]: complex item without "
                             "TransectStyleComplexItem (only surveys and scans are read)",
                             r->rt->path, line);
        plan_camera(r, jget(ts, "CameraCalc"));
        return plan_items(r, jget(ts, "Items"), "TransectStyleComplexItem.Items");
    }
    json_object *params = jget(it, "params");
    if (!type || strcmp(type, "SimpleItem") || !params ||
        !json_object_is_type(params, json_type_array) || json_object_array_length(params) != 7)
        return koi_error(r->rt->ctx, KO_ERR_FORMAT,
                         "%s: mission.items[%d]: expected a SimpleItem with 7 params", r->rt->path,
                         line);
    mav_item m = {.line = line};
    ko_status s;
    if ((s = plan_int(r, it, "command", line, 1, &m.command)) ||
        (s = plan_int(r, it, "frame", line, 0, &m.frame)) ||
        (s = plan_int(r, it, "doJumpId", line, 0, &m.number)))
        return s;
    for (int k = 0; k < 7; k++) {
        json_object *v = json_object_array_get_idx(params, (size_t)k);
        m.p[k] = jnum(v);
        /* null is MAVLink's "unset" (NaN); anything else must be a finite number */
        if (v && !json_object_is_type(v, json_type_null) && !isfinite(m.p[k]))
            return koi_error(r->rt->ctx, KO_ERR_FORMAT,
                             "%s: mission.items[%d].params[%d]: %.40s is not a finite number",
                             r->rt->path, line, k, json_object_to_json_string(v));
    }
    return apply(r, &m);
}

/* The planned home: [latitude, longitude, altitude], each a finite number. */
static ko_status plan_home(ko_route *rt, json_object *home) {
    if (!json_object_is_type(home, json_type_array) || json_object_array_length(home) != 3)
        return koi_error(rt->ctx, KO_ERR_FORMAT,
                         "%s: mission.plannedHomePosition: not a [latitude, longitude, altitude] "
                         "list",
                         rt->path);
    double v[3];
    for (size_t k = 0; k < 3; k++) {
        json_object *e = json_object_array_get_idx(home, k);
        v[k] = jnum(e);
        if (!isfinite(v[k]) || (k == 0 && fabs(v[k]) > 90) || (k == 1 && fabs(v[k]) > 180))
            return koi_error(rt->ctx, KO_ERR_FORMAT,
                             "%s: mission.plannedHomePosition[%zu]: %.40s is not a %s", rt->path, k,
                             e ? json_object_to_json_string(e) : "null",
                             k == 0   ? "latitude"
                             : k == 1 ? "longitude"
                                      : "finite altitude");
    }
    /* QGC writes [0, 0, 0] when no home was set: not a take-off point. */
    if (v[0] != 0 || v[1] != 0) {
        rt->has_takeoff = 1;
        rt->takeoff_lat = v[0];
        rt->takeoff_lon = v[1];
        rt->takeoff_height = v[2];
        rt->takeoff_ref = KO_HEIGHT_EGM96; /* QGC home altitude is AMSL */
    }
    return KO_OK;
}

ko_status koi_route_read_plan(ko_route *rt) {
    rt->format = "qgc-plan";
    GByte *buf = NULL;
    if (!VSIIngestFile(NULL, rt->path, &buf, NULL, 64 * 1024 * 1024))
        return koi_error(rt->ctx, KO_ERR_IO, "%s: cannot read (or larger than 64 MiB)", rt->path);
    json_tokener *tok = json_tokener_new();
    json_object *root = tok ? json_tokener_parse_ex(tok, (const char *)buf, -1) : NULL;
    enum json_tokener_error jerr = tok ? json_tokener_get_error(tok) : json_tokener_error_depth;
    json_tokener_free(tok);
    VSIFree(buf);
    ko_status s = KO_OK;
    const char *ft = json_object_get_string(jget(root, "fileType"));
    json_object *mission = jget(root, "mission"), *home = jget(mission, "plannedHomePosition");
    if (!root || jerr != json_tokener_success) {
        s = koi_error(rt->ctx, KO_ERR_FORMAT, "%s: not JSON (%s)", rt->path,
                      json_tokener_error_desc(jerr));
    } else if (!ft || strcmp(ft, "Plan") != 0) {
        s = koi_error(rt->ctx, KO_ERR_FORMAT, "%s: fileType: not a QGroundControl \"Plan\"",
                      rt->path);
    } else if (!mission) {
        s = koi_error(rt->ctx, KO_ERR_FORMAT, "%s: no \"mission\" object", rt->path);
    } else if (!json_object_is_type(mission, json_type_object)) {
        s = koi_error(rt->ctx, KO_ERR_FORMAT, "%s: mission: not an object", rt->path);
    } else if (!(home ? (s = plan_home(rt, home)) : KO_OK)) {
        json_object *cs = jget(mission, "cruiseSpeed");
        replay r;
        replay_init(&r, rt);
        r.cruise_speed = jnum(cs);
        r.ardupilot = jnum(jget(mission, "firmwareType")) == 3; /* MAV_AUTOPILOT_ARDUPILOTMEGA */
        if (cs && !json_object_is_type(cs, json_type_null) && !isfinite(r.cruise_speed))
            s = koi_error(rt->ctx, KO_ERR_FORMAT, "%s: mission.cruiseSpeed: %.40s is not a number",
                          rt->path, json_object_to_json_string(cs));
        else
            s = plan_items(&r, jget(mission, "items"), "mission.items");
    }
    json_object_put(root);
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* QGC WPL 110: INDEX CURRENT FRAME COMMAND P1 P2 P3 P4 LAT LON ALT AUTOCONTINUE, tab-separated;
 * item 0 is the home position. */

static ko_status wpl_line(replay *r, const char *line, int lineno) {
    char **f = CSLTokenizeString2(line, "\t ", CSLT_HONOURSTRINGS);
    int n = CSLCount(f);
    ko_status s = KO_OK;
    if (n != 12) {
        s = koi_error(r->rt->ctx, KO_ERR_FORMAT,
                      "%s: line %d: 12 tab-separated fields expected, got %d", r->rt->path, lineno,
                      n);
    } else {
        mav_item m = {.line = lineno};
        int *ints[] = {&m.number, NULL, &m.frame, &m.command};
        for (int k = 0; k < 4 && !s; k++) {
            char *end;
            long v = strtol(f[k], &end, 10);
            if (end == f[k] || *end || v < 0 || v > INT32_MAX)
                s = koi_error(r->rt->ctx, KO_ERR_FORMAT,
                              "%s: line %d: field %d '%.40s': not a whole number", r->rt->path,
                              lineno, k + 1, f[k]);
            else if (ints[k])
                *ints[k] = (int)v;
        }
        for (int k = 0; k < 7 && !s; k++) {
            char *end;
            m.p[k] = CPLStrtod(f[4 + k], &end);
            /* params 1-4 may be NaN (MAVLink's "unset"); latitude, longitude and altitude
             * must be numbers, and nothing may overflow */
            if (end == f[4 + k] || *end || isinf(m.p[k]) || (k >= 4 && isnan(m.p[k])))
                s = koi_error(r->rt->ctx, KO_ERR_FORMAT,
                              "%s: line %d: field %d (%s) '%.40s': not a %snumber", r->rt->path,
                              lineno, 5 + k,
                              k == 4   ? "latitude"
                              : k == 5 ? "longitude"
                              : k == 6 ? "altitude"
                                       : "param",
                              f[4 + k], k >= 4 ? "finite " : "finite or NaN ");
        }
        if (!s && m.number == 0 && !r->have_home && (fabs(m.p[4]) > 90 || fabs(m.p[5]) > 180)) {
            s = koi_error(r->rt->ctx, KO_ERR_FORMAT,
                          "%s: line %d: home position %.10g, %.10g: latitude/longitude out of "
                          "range",
                          r->rt->path, lineno, m.p[4], m.p[5]);
        } else if (!s && m.number == 0 && !r->have_home) {
            r->have_home = 1;
            /* as in a .plan, 0, 0 is "no home set": not a take-off point */
            r->rt->has_takeoff = m.p[4] != 0 || m.p[5] != 0;
            r->rt->takeoff_lat = m.p[4];
            r->rt->takeoff_lon = m.p[5];
            r->rt->takeoff_height = m.p[6];
            r->rt->takeoff_ref = KO_HEIGHT_EGM96; /* the home item's altitude is AMSL */
        } else if (!s) {
            s = apply(r, &m);
        }
    }
    CSLDestroy(f);
    return s;
}

ko_status koi_route_read_wpl(ko_route *rt) {
    rt->format = "qgc-wpl";
    VSILFILE *fp = VSIFOpenL(rt->path, "rb");
    if (!fp) return koi_error(rt->ctx, KO_ERR_IO, "%s: cannot open", rt->path);
    replay r;
    replay_init(&r, rt);
    const char *line;
    int lineno = 0;
    ko_status s = KO_OK;
    while (!s && (line = CPLReadLineL(fp)) != NULL) {
        lineno++;
        if (lineno == 1) {
            if (strncmp(line, "QGC WPL 110", 11) != 0)
                s = koi_error(rt->ctx, KO_ERR_FORMAT, "%s: line 1: not 'QGC WPL 110'", rt->path);
            continue;
        }
        if (*line) s = wpl_line(&r, line, lineno);
    }
    VSIFCloseL(fp);
    return s;
}
