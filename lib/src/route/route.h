/* Private: flight plans (Litchi, DJI WPML, QGC, OGR) and their exposures. */
#ifndef KEEPOUT_ROUTE_ROUTE_H
#define KEEPOUT_ROUTE_ROUTE_H

#include "keepout/keepout.h"

/* The route model shared by the mission readers (litchi.c, wpml.c, qgc.c, ogr.c) and plan.c.
 *
 * A reader turns its format into waypoints whose camera state is already replayed: each
 * waypoint carries the gimbal pitch/yaw, zoom and heading in effect when the aircraft is
 * there, and the capture trigger in effect on the leg that leaves it. Leg i runs from
 * waypoint i to waypoint i+1. Readers fail with a message naming the file and the element at
 * fault (e.g. "plan.plan: mission.items[3].params: expected 7 numbers"). */

/* A photo with the camera state in force when it is taken: a waypoint's photo actions run in
 * order with the gimbal and heading actions around them (gimbalRotate -90, takePhoto,
 * gimbalRotate -30 takes the photo at -90), and DJI orientedShoot gives each shot its own
 * pitch, heading and zoom. Every field is the state at the photo, with ko_waypoint's meaning
 * (pitch NaN: never set, aimed at the waypoint's POI if it has one; heading NaN: the course or
 * the POI; yaw NaN: gimbal_yaw_offset_deg from the heading). why: static text, set when that
 * state cannot be known (the exposure is then unknown with it), else NULL. */
typedef struct koi_shot {
    size_t wp;
    double pitch_deg, yaw_deg, yaw_offset_deg, heading_deg, focal35_mm;
    const char *why;
    unsigned lenses; /* KOI_LENS_* bits: the lenses that take it; 0: not stated (every one) */
    int any_heading; /* the aircraft may face any way (a MAVLink relative CONDITION_YAW from a
                      * heading not known): judged every way (ko_shot.yaw_turn_deg 180) */
} koi_shot;

/* The lenses a photo is taken with, where a zoom is in force (focal35_mm set): the zoomed lens
 * (DJI "zoom", and "visable", the visible camera at the zoom in force) and the camera's own,
 * unzoomed (DJI "wide", "ir", "narrow_band": an M4T photo "visable,ir" is also taken through
 * the thermal lens, which the zoom does not narrow). Each is judged. */
#define KOI_LENS_ZOOM 1u
#define KOI_LENS_OWN 2u

/* What a reader knows of a waypoint beyond its ko_waypoint (ko_route.more, parallel to wp;
 * all zero unless the reader sets it). */
typedef struct koi_wp_more {
    /* Static text: where the camera points on the leg leaving the waypoint (and on reaching it)
     * is not known; those exposures are unknown with it. NULL: known. */
    const char *why;
    /* Static text: the aircraft flies on from the waypoint where the plan does not say (a
     * MAVLink RETURN_TO_LAUNCH without a home position): if the camera records when it leaves,
     * an exposure there is unknown with it. NULL: the legs are the flight. */
    const char *after_why;
    /* The leg leaving the waypoint may be flown with the heading_deg it carries or with the
     * autopilot's own (the course, or the POI): it is judged both ways (a MAVLink CONDITION_YAW
     * held or not past the next waypoint, see route/qgc.c). */
    int course_too;
    /* The leg leaving the waypoint may be flown with the camera aimed at the waypoint's POI
     * rather than at gimbal_pitch_deg (a MAVLink DO_SET_ROI after a mount pitch: ArduPilot
     * points a tilting mount at the ROI): judged both ways, like course_too. */
    int poi_pitch_too;
    /* The leg reaching the waypoint may be flown as a curve (a MAVLink NAV_SPLINE_WAYPOINT):
     * its exposures are widened by a bound of the curve's distance from the straight leg (see
     * route/exposure.c). */
    int spline;
    /* A loiter with a radius (MAVLink NAV_LOITER_*): the aircraft circles loiter_m round the
     * waypoint, changing height by up to loiter_climb_m on the way (LOITER_TO_ALT); its
     * exposures and those of the legs to and from it are widened (see route/exposure.c). */
    double loiter_m, loiter_climb_m;
    /* The heading on the leg leaving the waypoint is the pilot's (DJI WPML waypointHeadingMode
     * manually): its exposures, and photos on reaching the next, face any way (see
     * route/exposure.c). */
    int any_heading;
    /* A distance trigger runs on the leg leaving the waypoint from photos keepout does not place
     * (it ran under a MAVLink video or timed photos that have stopped): its photos may fall
     * anywhere within a step of keepout's, from here on (see route/exposure.c widen_corners). */
    int trigger_shift;
} koi_wp_more;

struct ko_route {
    ko_context *ctx;
    char *path;
    const char *format; /* static: "wpml", "litchi", "qgc-plan", "qgc-wpl", "ogr" */
    ko_waypoint *wp;
    koi_wp_more *more; /* n of them, one per waypoint */
    size_t n, cap;
    int has_takeoff;
    double takeoff_lat, takeoff_lon, takeoff_height;
    ko_height_ref takeoff_ref;
    koi_shot *shots; /* photos with the camera state at each, in flight order; a waypoint with
                      * none here takes its ko_waypoint.photos with the waypoint's state */
    size_t n_shots, cap_shots;
    int has_camera; /* the file describes the camera (e.g. QGC CameraCalc) */
    int poi_turns;  /* Litchi: a POI's waypoints may each face it and the aircraft turn evenly
                     * between their aims, or face it all the way (see route/exposure.c) */
    ko_camera camera;
};

/* Appends a copy of *wp (its koi_wp_more all zero). KO_ERR_NOMEM (message set) on failure; more
 * than 1,000,000 waypoints is KO_ERR_LIMIT. */
ko_status koi_route_push(ko_route *rt, const ko_waypoint *wp);

/* Appends a photo with its own camera state; with merge, not if it is the same as the last one
 * of the same waypoint (one exposure stands for both). KO_ERR_NOMEM (message set) on failure. */
ko_status koi_route_push_shot(ko_route *rt, const koi_shot *shot, int merge);

/* The readers. rt->path is the file (any VSI path); each sets rt->format and fills rt->wp.
 * An empty mission (no waypoints) is KO_ERR_FORMAT "…: the mission has no waypoints". */
ko_status koi_route_read_wpml(ko_route *rt);   /* wpml.c: .kmz, .wpml, .kml, directory */
ko_status koi_route_read_litchi(ko_route *rt); /* litchi.c */
ko_status koi_route_read_plan(ko_route *rt);   /* qgc.c: QGroundControl .plan (JSON) */
ko_status koi_route_read_wpl(ko_route *rt);    /* qgc.c: "QGC WPL 110" */
ko_status koi_route_read_ogr(ko_route *rt);    /* ogr.c: KML/GPX/GeoJSON lines, points */

#endif
