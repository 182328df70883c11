/* A route's exposures: where along the legs the camera records, and with which pose.
 *
 * Legs are walked on the ellipsoid (PROJ's geodesic solver), heights interpolated linearly.
 * Distance triggers run on across waypoints as a camera's trigger does (widened by a step after
 * a corner, see widen_corners). Where the plan leaves the capture open (no capture actions at
 * all, video, a time trigger: the ground speed is not the plan's, a distance trigger finer than
 * the sampling), the leg is sampled densely instead: more samples can only add footprints,
 * never hide one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "route/route.h"

#define KOI_MAX_EXPOSURES 10000000
#define KOI_NOTE_MAX 1024

typedef struct koi_exposure {
    ko_exposure pub;
    char id[64];
    char *reason;
    int run;      /* video: the unbroken recording it belongs to (1, 2, ...); 0 for a photo */
    ko_turn turn; /* the way the camera turns from the frame before it in its recording */
} koi_exposure;

struct ko_exposures {
    koi_exposure *e;
    size_t n, cap;
    char *source;
    char note[KOI_NOTE_MAX];
};

void ko_route_options_init(ko_route_options *o) {
    o->size = sizeof *o;
    o->camera = NULL;
    o->gimbal_pitch_deg = NAN;
    o->height_m = NAN;
    o->spacing_m = 10.0;
    o->continuous = 0;
    o->takeoff_alt_m = NAN;
}

/* Everything one walk over the route needs. */
typedef struct walker {
    ko_context *ctx;
    const ko_route *rt;
    const ko_route_options *o;
    ko_exposures *ex;
    ko_camera camera;
    double takeoff_lat, takeoff_lon;
    double ground_msl, ground_ellps; /* take-off ground altitude, NaN if unknown */
    int sample_all;                  /* the plan has no capture: every leg is sampled */
    int timed;                       /* a time trigger was judged as video */
    int run;                         /* the recording under way (see koi_exposure.run) */
    /* The second pass over a leg whose waypoints set different headings or gimbal pitches:
     * interp_to is the leg's end waypoint, and the camera turns evenly along the leg. */
    const ko_waypoint *interp_to;
    double interp_f;     /* the fraction of the leg flown */
    double interp_dyaw;  /* the heading turned over the whole leg, degrees (signed) */
    ko_turn interp_turn; /* the way it turns */
} walker;

static void add_note(ko_exposures *ex, const char *text) {
    size_t len = strlen(ex->note);
    snprintf(ex->note + len, sizeof ex->note - len, "%s%s", len ? " " : "", text);
}

static int plan_has_capture(const ko_route *rt) {
    if (rt->n_shots) return 1;
    for (size_t i = 0; i < rt->n; i++)
        if (rt->wp[i].photos || rt->wp[i].trigger != KO_TRIGGER_NONE) return 1;
    return 0;
}

/* Geoid undulation N (ellipsoidal = orthometric + N) through PROJ's EGM96 grid. */
static ko_status undulation(ko_context *ctx, double lat, double lon, double *n) {
    PJ_CONTEXT *pc = koi_ctx_proj(ctx);
    if (!pc) return KO_ERR_NOMEM;
    PJ *op = proj_create_crs_to_crs(pc, "EPSG:4979", "EPSG:4326+5773", NULL);
    PJ_COORD c = op ? proj_trans(op, PJ_FWD, proj_coord(lat, lon, 0, 0)) : proj_coord(0, 0, 0, 0);
    proj_destroy(op);
    if (!op || !isfinite(c.xyz.z))
        return koi_error(ctx, KO_ERR_PROJ,
                         "PROJ cannot convert between WGS84 and EGM96 heights (is egm96_15.gtx "
                         "of proj-data installed?)");
    *n = -c.xyz.z;
    return KO_OK;
}

/* The take-off point and, where the plan or the user states it, its ground altitude on both
 * datums: absolute waypoint heights need it to become heights above the ground. */
static ko_status takeoff(walker *w) {
    const ko_route *rt = w->rt;
    w->takeoff_lat = rt->has_takeoff ? rt->takeoff_lat : rt->wp[0].lat;
    w->takeoff_lon = rt->has_takeoff ? rt->takeoff_lon : rt->wp[0].lon;
    w->ground_msl = w->ground_ellps = NAN;
    int need = 0;
    for (size_t i = 0; i < rt->n; i++)
        need |= rt->wp[i].height_ref == KO_HEIGHT_EGM96 || rt->wp[i].height_ref == KO_HEIGHT_WGS84;
    if (!need || !isnan(w->o->height_m)) return KO_OK;
    if (isfinite(w->o->takeoff_alt_m)) {
        w->ground_msl = w->o->takeoff_alt_m;
    } else if (rt->has_takeoff && rt->takeoff_ref == KO_HEIGHT_EGM96) {
        w->ground_msl = rt->takeoff_height;
    } else if (rt->has_takeoff && rt->takeoff_ref == KO_HEIGHT_WGS84) {
        w->ground_ellps = rt->takeoff_height;
    } else {
        return KO_OK;
    }
    double n = 0;
    ko_status s = undulation(w->ctx, w->takeoff_lat, w->takeoff_lon, &n);
    if (s) return s;
    if (isnan(w->ground_msl)) w->ground_msl = w->ground_ellps - n;
    if (isnan(w->ground_ellps)) w->ground_ellps = w->ground_msl + n;
    return KO_OK;
}

static ko_status push(walker *w, koi_exposure *e) {
    ko_exposures *ex = w->ex;
    if (ex->n == ex->cap) {
        if (ex->cap >= KOI_MAX_EXPOSURES) {
            free(e->reason);
            return koi_error(w->ctx, KO_ERR_LIMIT,
                             "%s: more than %d exposures; sample with a larger spacing "
                             "(route option spacing_m)",
                             w->rt->path, KOI_MAX_EXPOSURES);
        }
        size_t cap = ex->cap ? ex->cap * 2 : 256;
        koi_exposure *p = koi_realloc_array(ex->e, cap, sizeof *p);
        if (!p) {
            free(e->reason);
            return koi_error(w->ctx, KO_ERR_NOMEM, "%s: out of memory", w->rt->path);
        }
        ex->e = p;
        ex->cap = cap;
    }
    e->pub.index = ex->n;
    ex->e[ex->n++] = *e;
    return KO_OK;
}

/* A position on a leg: where, how high (on the start waypoint's reference, NaN where the end's
 * cannot be put on it), facing where. */
typedef struct leg_point {
    double lat, lon, height, course;
} leg_point;

/* A height h on reference `from` as one on `to`, through the take-off ground's altitude (a
 * MAVLink plan may give each waypoint its own frame); NaN where that is not known, or between
 * the terrain (AGL) and any other reference. */
static double height_on(const walker *w, double h, ko_height_ref from, ko_height_ref to) {
    if (from == to) return h;
    if (from == KO_HEIGHT_AGL || to == KO_HEIGHT_AGL) return NAN;
    double above = from == KO_HEIGHT_EGM96   ? h - w->ground_msl
                   : from == KO_HEIGHT_WGS84 ? h - w->ground_ellps
                                             : h;
    return to == KO_HEIGHT_EGM96   ? above + w->ground_msl
           : to == KO_HEIGHT_WGS84 ? above + w->ground_ellps
                                   : above;
}

static leg_point point_on_leg(const walker *w, size_t i, double s) {
    const ko_waypoint *a = &w->rt->wp[i];
    const ko_waypoint *b = i + 1 < w->rt->n ? &w->rt->wp[i + 1] : a;
    double len = 0, az1 = 0, az2 = 0;
    geod_inverse(koi_ctx_geod(w->ctx), a->lat, a->lon, b->lat, b->lon, &len, &az1, &az2);
    leg_point p = {a->lat, a->lon, a->height, az1};
    if (len > 0 && s > 0) {
        double f = s < len ? s / len : 1.0;
        geod_direct(koi_ctx_geod(w->ctx), a->lat, a->lon, az1, f * len, &p.lat, &p.lon, &p.course);
        /* the end's height on the start's reference: the autopilot flies a straight line
         * between the two targets */
        p.height =
            a->height + (height_on(w, b->height, b->height_ref, a->height_ref) - a->height) * f;
    }
    if (b == a && i > 0) { /* the last waypoint keeps the course it arrived on */
        const ko_waypoint *z = &w->rt->wp[i - 1];
        geod_inverse(koi_ctx_geod(w->ctx), z->lat, z->lon, a->lat, a->lon, &len, &az1, &p.course);
    }
    return p;
}

static double norm360(double deg) {
    double r = fmod(deg, 360.0);
    return r < 0 ? r + 360.0 : r;
}

/* Heights per reference (see ko_route_exposures): sets the pose's height fields, or returns
 * why they cannot be known. */
static const char *set_heights(const walker *w, const ko_waypoint *wp, double h, ko_pose *pose) {
    ko_height_ref ref = wp->height_ref;
    if (!isnan(w->o->height_m)) {
        h = w->o->height_m;
        ref = KO_HEIGHT_TAKEOFF;
    }
    if (isnan(h)) return "the plan gives no height: give one (route option height_m)";
    pose->takeoff_lat = w->takeoff_lat;
    pose->takeoff_lon = w->takeoff_lon;
    switch (ref) {
        case KO_HEIGHT_TAKEOFF:
        case KO_HEIGHT_AGL:
            pose->height_m = h;
            return NULL;
        case KO_HEIGHT_EGM96:
            pose->alt_msl_m = h;
            pose->height_m = h - w->ground_msl;
            break;
        case KO_HEIGHT_WGS84:
            pose->alt_ellps_m = h;
            pose->height_m = h - w->ground_ellps;
            break;
    }
    if (isnan(pose->height_m))
        return "heights are absolute altitudes and the take-off ground altitude is unknown: "
               "give a DEM or the take-off ground altitude (route option takeoff_alt_m)";
    return NULL;
}

static double lerp(double a, double b, double t) {
    return a + (b - a) * t;
}

/* Gimbal pitch: the override, the plan's, or aimed at the point of interest. */
static double pitch_for(const walker *w, const ko_waypoint *wp, const leg_point *p) {
    if (!isnan(w->o->gimbal_pitch_deg)) return w->o->gimbal_pitch_deg;
    const ko_waypoint *b = w->interp_to;
    if (b && !isnan(wp->gimbal_pitch_deg) && !isnan(b->gimbal_pitch_deg))
        return lerp(wp->gimbal_pitch_deg, b->gimbal_pitch_deg, w->interp_f);
    if (!isnan(wp->gimbal_pitch_deg)) return wp->gimbal_pitch_deg;
    if (isnan(wp->poi_lat) || isnan(p->height)) return NAN;
    double dist = 0, az1, az2;
    geod_inverse(koi_ctx_geod(w->ctx), p->lat, p->lon, wp->poi_lat, wp->poi_lon, &dist, &az1, &az2);
    double dz = p->height - (isnan(wp->poi_height) ? 0.0 : wp->poi_height);
    return -atan2(dz, dist) * 180.0 / M_PI;
}

static double heading_for(const walker *w, const ko_waypoint *wp, const leg_point *p) {
    const ko_waypoint *b = w->interp_to;
    if (b && !isnan(wp->heading_deg) && !isnan(b->heading_deg))
        return wp->heading_deg + w->interp_dyaw * w->interp_f;
    if (!isnan(wp->heading_deg)) return wp->heading_deg;
    if (!isnan(wp->poi_lat)) {
        double dist, az1, az2;
        geod_inverse(koi_ctx_geod(w->ctx), p->lat, p->lon, wp->poi_lat, wp->poi_lon, &dist, &az1,
                     &az2);
        if (dist > 0.5) return az1;
    }
    return p->course;
}

/* The yaw change d (degrees, signed, the shorter way round) made the way `turn` says. *other:
 * the change the other way round where the plan leaves the way open, else NaN. */
static double turned(double d, ko_turn turn, double *other) {
    *other = NAN;
    if (fabs(d) < 1e-9) return 0.0;
    if (turn == KO_TURN_CLOCKWISE) return d < 0 ? d + 360.0 : d;
    if (turn == KO_TURN_COUNTERCLOCKWISE) return d > 0 ? d - 360.0 : d;
    if (turn == KO_TURN_SHORTER && fabs(d) < 180.0 - 1e-9) return d;
    *other = d > 0 ? d - 360.0 : d + 360.0;
    return d;
}

/* The way the camera turns from waypoint a's heading to b's: the plan's where both fix the
 * heading and the camera turns with the aircraft; else the shorter way (the aircraft follows
 * its course or a POI, or the gimbal holds a yaw of its own). */
static ko_turn leg_turn(const ko_waypoint *a, const ko_waypoint *b) {
    if (isnan(a->heading_deg) || isnan(b->heading_deg) || !isnan(a->gimbal_yaw_deg) ||
        !isnan(b->gimbal_yaw_deg))
        return KO_TURN_SHORTER;
    if (a->gimbal_yaw_offset_deg != b->gimbal_yaw_offset_deg) return KO_TURN_EITHER;
    return a->turn == b->turn ? a->turn : KO_TURN_EITHER;
}

/* The way the camera turns into an exposure at `along` metres after waypoint `at`: on the leg
 * it is on, or, at the waypoint, on the leg that reaches it. */
static ko_turn turn_into(const walker *w, size_t at, double along) {
    const ko_route *rt = w->rt;
    if (w->interp_to) return w->interp_turn;
    if (along > 0 && at + 1 < rt->n) return leg_turn(&rt->wp[at], &rt->wp[at + 1]);
    if (at > 0) return leg_turn(&rt->wp[at - 1], &rt->wp[at]);
    return KO_TURN_SHORTER;
}

static int same_lens(const ko_camera *a, const ko_camera *b) {
    return a->focal_mm == b->focal_mm && a->sensor_w_mm == b->sensor_w_mm &&
           a->sensor_h_mm == b->sensor_h_mm && a->width_px == b->width_px &&
           a->height_px == b->height_px;
}

/* The zoomed lens: a zoom sets the field of view; the lens model of the wide camera no longer
 * applies to the lens that zooms. */
static ko_status zoomed_camera(walker *w, const ko_waypoint *wp, ko_camera *cam) {
    ko_camera_init(cam);
    if (ko_camera_from_focal35(wp->focal35_mm, w->camera.width_px, w->camera.height_px, cam) !=
        KO_OK)
        return koi_error(w->ctx, KO_ERR_FORMAT, "%s: waypoint %d: zoom %.1f mm is not usable",
                         w->rt->path, wp->number, wp->focal35_mm);
    return KO_OK;
}

/* Pushes e once per lens that takes it (KOI_LENS_*, 0: every one): without a zoom the camera;
 * with one the zoomed lens and, unless only the zoomed lens takes it, the camera's own (a
 * thermal core the zoom does not narrow), each its own exposure. */
static ko_status push_lenses(walker *w, const ko_waypoint *wp, unsigned lenses, koi_exposure *e) {
    e->pub.shot.camera = w->camera;
    if (isnan(wp->focal35_mm)) return push(w, e);
    ko_camera zoomed;
    ko_status s = zoomed_camera(w, wp, &zoomed);
    if (s) {
        free(e->reason);
        return s;
    }
    if (!lenses) lenses = KOI_LENS_ZOOM | KOI_LENS_OWN;
    if ((lenses & KOI_LENS_ZOOM) && same_lens(&zoomed, &w->camera)) lenses = KOI_LENS_ZOOM;
    if (lenses & KOI_LENS_OWN) {
        koi_exposure own = *e;
        if (lenses & KOI_LENS_ZOOM) {
            own.reason = NULL;
            if (e->reason && !(own.reason = koi_strdup(e->reason))) {
                free(e->reason);
                return koi_error(w->ctx, KO_ERR_NOMEM, "%s: out of memory", w->rt->path);
            }
            snprintf(own.id, sizeof own.id, "%.44s, unzoomed lens", e->id);
        }
        if ((s = push(w, &own)) || !(lenses & KOI_LENS_ZOOM)) {
            if (s && (lenses & KOI_LENS_ZOOM)) free(e->reason);
            return s;
        }
    }
    e->pub.shot.camera = zoomed;
    return push(w, e);
}

static ko_status emit(walker *w, size_t leg, size_t at, double along, ko_trigger trig,
                      const char *what, const koi_shot *shot) {
    ko_waypoint own = w->rt->wp[at];
    if (shot) { /* a photo with the camera state in force when it is taken */
        own.gimbal_pitch_deg = shot->pitch_deg;
        own.gimbal_yaw_deg = shot->yaw_deg;
        own.gimbal_yaw_offset_deg = shot->yaw_offset_deg;
        own.heading_deg = shot->heading_deg;
        own.focal35_mm = shot->focal35_mm;
    }
    const ko_waypoint *wp = &own;
    leg_point p = point_on_leg(w, at, along);
    koi_exposure e;
    memset(&e, 0, sizeof e);
    e.pub.leg = leg;
    e.pub.waypoint = at;
    e.pub.along_m = along;
    e.pub.trigger = trig;
    e.run = trig == KO_TRIGGER_CONTINUOUS ? w->run : 0;
    e.turn = turn_into(w, at, along);
    ko_pose_init(&e.pub.shot.pose);
    ko_pose *pose = &e.pub.shot.pose;
    pose->lat = p.lat;
    pose->lon = p.lon;
    pose->roll_deg = 0.0;
    double heading = heading_for(w, wp, &p);
    pose->yaw_deg = norm360(isnan(wp->gimbal_yaw_deg) ? heading + wp->gimbal_yaw_offset_deg
                                                      : wp->gimbal_yaw_deg);
    pose->pitch_deg = pitch_for(w, wp, &p);
    if (shot && shot->any_heading) e.pub.shot.yaw_turn_deg = 180.0; /* every way round */
    const char *why = set_heights(w, wp, p.height, pose);
    if (why && isnan(p.height) && !isnan(wp->height) && isnan(w->o->height_m))
        why =
            "the leg joins waypoints whose altitudes are on different references (above the "
            "take-off, above sea level, above the terrain) that cannot be converted (the "
            "take-off ground altitude is unknown, or one is above the terrain): give them on "
            "one reference, or the take-off ground altitude (route option takeoff_alt_m)";
    if (!why && shot) why = shot->why;
    if (!why && !shot) why = w->rt->more[at].why;
    if (!why && isnan(pose->pitch_deg))
        why =
            "the plan does not set the gimbal pitch here: give one (route option "
            "gimbal_pitch_deg)";
    char buf[KOI_ERRMSG_MAX];
    if (why) {
        snprintf(buf, sizeof buf, "%s: waypoint %d: %s", w->rt->path, wp->number, why);
        if (!(e.reason = koi_strdup(buf)))
            return koi_error(w->ctx, KO_ERR_NOMEM, "%s: out of memory", w->rt->path);
    }
    snprintf(e.id, sizeof e.id, "%s WP%d%s%.0f m", what, wp->number, along > 0 ? " +" : "",
             along > 0 ? along : 0.0);
    if (along <= 0) snprintf(e.id, sizeof e.id, "%s WP%d", what, wp->number);
    return push_lenses(w, wp, shot ? shot->lenses : 0, &e);
}

/* The distance between samples on leg i, or 0 if the leg is not recorded between waypoints. */
static double step_of(walker *w, const ko_waypoint *wp, ko_trigger *trig) {
    *trig = wp->trigger;
    if (w->sample_all || w->o->continuous) *trig = KO_TRIGGER_CONTINUOUS;
    switch (*trig) {
        case KO_TRIGGER_DISTANCE:
            if (!(wp->trigger_value > 0)) return 0;
            if (wp->trigger_value >= w->o->spacing_m) return wp->trigger_value;
            /* photos closer than the video's samples: judged as video, which stands for every
             * point of the leg (a 1e-4 m trigger made 2.5 million exposures) */
            *trig = KO_TRIGGER_CONTINUOUS;
            return w->o->spacing_m;
        case KO_TRIGGER_TIME:
            /* where the photos fall is unknown: the ground speed is not the plan's (QGC's
             * cruiseSpeed is its fixed-wing default, an autopilot flies its own limit, wind,
             * acceleration from a stop; Litchi's speed 0 is a cruise speed the file does not
             * give): any point of the leg may be photographed, as by video (photos placed at
             * interval x cruiseSpeed, 30 m apart, missed a site the aircraft photographed at
             * 5 m/s: adversary adv28r) */
            w->timed = 1;
            *trig = KO_TRIGGER_CONTINUOUS;
            return w->o->spacing_m;
        case KO_TRIGGER_CONTINUOUS:
            return w->o->spacing_m;
        case KO_TRIGGER_NONE:
            return 0;
    }
    return 0;
}

/* The capture in effect at waypoint i: the plan's (or --continuous) video, or a trigger on a
 * leg that leaves or reaches it; KO_TRIGGER_NONE if the camera does not record there. */
static ko_trigger recording_at(const walker *w, size_t i) {
    const ko_route *rt = w->rt;
    if (w->sample_all || w->o->continuous) return KO_TRIGGER_CONTINUOUS;
    if (rt->wp[i].trigger != KO_TRIGGER_NONE) return rt->wp[i].trigger;
    if (i > 0 && rt->wp[i - 1].trigger != KO_TRIGGER_NONE) return rt->wp[i - 1].trigger;
    return KO_TRIGGER_NONE;
}

static int same(double a, double b) {
    return a == b || (isnan(a) && isnan(b));
}

/* The camera points the same way with the same zoom at both waypoints. */
static int same_camera(const ko_waypoint *a, const ko_waypoint *b) {
    return same(a->gimbal_pitch_deg, b->gimbal_pitch_deg) &&
           same(a->gimbal_yaw_deg, b->gimbal_yaw_deg) &&
           same(a->gimbal_yaw_offset_deg, b->gimbal_yaw_offset_deg) &&
           same(a->focal35_mm, b->focal35_mm) && same(a->heading_deg, b->heading_deg) &&
           same(a->poi_lat, b->poi_lat) && same(a->poi_lon, b->poi_lon) &&
           same(a->poi_height, b->poi_height) && same(a->height, b->height) &&
           a->height_ref == b->height_ref;
}

/* The photos at waypoint i: each with its own camera state where the plan gives it, else one
 * with the waypoint's. */
static ko_status photos_at(walker *w, size_t leg, size_t i) {
    const ko_route *rt = w->rt;
    ko_status s = KO_OK;
    int n = 0;
    char what[32];
    for (size_t k = 0; !s && k < rt->n_shots; k++) {
        if (rt->shots[k].wp != i) continue;
        n++;
        snprintf(what, sizeof what, n > 1 ? "photo %d at" : "photo at", n);
        s = emit(w, leg, i, 0, KO_TRIGGER_NONE, what, &rt->shots[k]);
    }
    if (!s && !n && rt->wp[i].photos) s = emit(w, leg, i, 0, KO_TRIGGER_NONE, "photo at", NULL);
    return s;
}

/* The camera state waypoint a carries onto leg i, as a photo's (why: the reason it is not
 * known, or NULL). */
static koi_shot leg_shot(size_t i, const ko_waypoint *a, const char *why) {
    koi_shot shot = {i,
                     a->gimbal_pitch_deg,
                     a->gimbal_yaw_deg,
                     a->gimbal_yaw_offset_deg,
                     a->heading_deg,
                     a->focal35_mm,
                     why,
                     0,
                     0};
    return shot;
}

/* Where the aircraft flies on from waypoint i where the plan does not say (koi_wp_more
 * after_why) and the camera records as it leaves: an exposure there, unknown with the reason
 * (the flight was dropped: a RETURN_TO_LAUNCH without a home flew home unjudged). */
static ko_status flown_on(walker *w, size_t leg, size_t i) {
    const char *why = w->rt->more[i].after_why;
    ko_trigger trig;
    if (!why || !(step_of(w, &w->rt->wp[i], &trig) > 0)) return KO_OK;
    koi_shot shot = leg_shot(i, &w->rt->wp[i], why);
    return emit(w, leg, i, 0, trig, "flown on from", &shot);
}

static ko_status walk(walker *w) {
    const ko_route *rt = w->rt;
    int ended_here = 0; /* the last leg's final sample stands at this waypoint */
    double carry = 0;   /* where the running trigger fires next, measured from the leg's start */
    double prev_step = 0;
    ko_trigger prev_trig = KO_TRIGGER_NONE;
    for (size_t i = 0; i < rt->n; i++) {
        const ko_waypoint *wp = &rt->wp[i];
        size_t leg = i + 1 < rt->n ? i : (i ? i - 1 : 0);
        ko_status s = photos_at(w, leg, i);
        double len = 0, az1, az2, step = 0;
        ko_trigger trig = KO_TRIGGER_NONE;
        if (i + 1 < rt->n) {
            geod_inverse(koi_ctx_geod(w->ctx), wp->lat, wp->lon, rt->wp[i + 1].lat,
                         rt->wp[i + 1].lon, &len, &az1, &az2);
            step = step_of(w, wp, &trig);
        }
        if (step > 0 && (trig != prev_trig || step != prev_step))
            carry = 0; /* a new trigger fires at once */
        /* Every waypoint where the camera records is an exposure position: the aircraft
         * passes, stops or hovers there (a single waypoint, legs of no length, a loiter).
         * The leg's own first sample stands for it when it falls on the waypoint. */
        ko_trigger here = recording_at(w, i);
        int covered =
            (step > 0 && carry <= 0 && len > 0) || (ended_here && same_camera(&rt->wp[i - 1], wp));
        if (!s && here != KO_TRIGGER_NONE && !covered)
            s = emit(w, leg, i, 0, here, "sample at", NULL);
        if (!s) s = flown_on(w, leg, i);
        ended_here = 0;
        if (s || i + 1 >= rt->n) return s;
        if (trig != KO_TRIGGER_CONTINUOUS || step <= 0) w->run++; /* the video stops here */
        if (step <= 0) {
            prev_step = 0;
            continue;
        }
        double at = carry;
        for (; !s && at < len; at += step)
            s = emit(w, i, i, at, trig, "sample after", NULL);
        /* Video runs on to the next waypoint: the leg's end is covered unless the same
         * sampling goes on over the next leg. */
        ko_trigger next_trig = KO_TRIGGER_NONE;
        double next_step = i + 2 < rt->n ? step_of(w, &rt->wp[i + 1], &next_trig) : 0;
        if (!s && trig == KO_TRIGGER_CONTINUOUS && len > 0 && at - step < len - 1e-6 &&
            (next_trig != trig || next_step != step)) {
            s = emit(w, i, i, len, trig, "sample after", NULL);
            ended_here = 1;
        }
        if (s) return s;
        carry = at - len;
        prev_step = step;
        prev_trig = trig;
    }
    return KO_OK;
}

/* Differ, where both are set. */
static int differ(double a, double b) {
    return !isnan(a) && !isnan(b) && a != b;
}

/* Litchi aims at a point of interest by setting each waypoint's heading and gimbal pitch to
 * face it from there and turning both evenly between waypoints (litchiutilities.com, "why");
 * DJI's hotpoint mode, which Litchi may use instead on conditions its CSV does not record,
 * faces the POI all the way, as walk() has it. Both are judged: wp's heading and pitch become
 * its aim at the POI from the waypoint, where the plan leaves them to the POI. */
static void aim_at_poi(const walker *w, ko_waypoint *wp) {
    if (!w->rt->poi_turns || isnan(wp->poi_lat)) return;
    leg_point p = {wp->lat, wp->lon, wp->height, NAN};
    double dist = 0, az1, az2;
    geod_inverse(koi_ctx_geod(w->ctx), wp->lat, wp->lon, wp->poi_lat, wp->poi_lon, &dist, &az1,
                 &az2);
    if (isnan(wp->heading_deg) && dist > 0.5) wp->heading_deg = az1;
    if (isnan(wp->gimbal_pitch_deg)) wp->gimbal_pitch_deg = pitch_for(w, wp, &p);
}

/* One recording of leg i from a's camera to b's, turning evenly, the heading turning dyaw. */
static ko_status interpolated_leg(walker *w, size_t i, const ko_waypoint *a, const ko_waypoint *b,
                                  double step, double dyaw) {
    koi_shot from = leg_shot(i, a, w->rt->more[i].why);
    double len = 0, az1, az2;
    geod_inverse(koi_ctx_geod(w->ctx), a->lat, a->lon, b->lat, b->lon, &len, &az1, &az2);
    int k = len > 0 ? (int)fmin(ceil(len / fmin(step, w->o->spacing_m)), 1e6) : 1;
    w->run++;
    w->interp_to = b;
    w->interp_dyaw = dyaw;
    w->interp_turn = dyaw > 0   ? KO_TURN_CLOCKWISE
                     : dyaw < 0 ? KO_TURN_COUNTERCLOCKWISE
                                : KO_TURN_SHORTER;
    ko_status s = KO_OK;
    for (int j = 0; !s && j <= k; j++) {
        w->interp_f = (double)j / k;
        s = emit(w, i, i, len * w->interp_f, KO_TRIGGER_CONTINUOUS, "turning evenly after", &from);
    }
    w->interp_to = NULL;
    w->run++;
    return s;
}

/* Litchi (heading mode "interpolate", gimbal mode 2) and DJI WPML (smoothTransition) turn the
 * aircraft and the gimbal evenly along a leg to the next waypoint's heading and pitch; other
 * modes turn at the waypoint, as walk() has it. The file does not always say which (Litchi's
 * heading mode is not in its CSV), so a recording leg whose waypoints set different headings
 * or pitches is also flown turning evenly: its own recording, every spacing from end to end,
 * judged as video (a 1 m site seen at heading 49 deg halfway along a 0 -> 90 deg leg was
 * clear). Litchi's POI waypoints turn evenly between their aims at the POI (aim_at_poi()). */
static ko_status walk_interpolated(walker *w) {
    const ko_route *rt = w->rt;
    ko_status s = KO_OK;
    for (size_t i = 0; !s && i + 1 < rt->n; i++) {
        ko_waypoint a = rt->wp[i], b = rt->wp[i + 1];
        aim_at_poi(w, &a);
        aim_at_poi(w, &b);
        ko_trigger trig;
        double step = step_of(w, &a, &trig);
        if (!(step > 0) || (!differ(a.heading_deg, b.heading_deg) &&
                            !differ(a.gimbal_pitch_deg, b.gimbal_pitch_deg)))
            continue;
        double other = NAN, d = remainder(b.heading_deg - a.heading_deg, 360.0);
        d = isnan(d) ? 0.0 : turned(d, leg_turn(&a, &b), &other);
        s = interpolated_leg(w, i, &a, &b, step, d);
        if (!s && !isnan(other)) s = interpolated_leg(w, i, &a, &b, step, other);
    }
    return s;
}

/* A leg whose heading may be the one its waypoint carries or the autopilot's own (koi_wp_more
 * course_too: a MAVLink CONDITION_YAW that ArduPilot holds past the next waypoint only with
 * WP_YAW_BEHAVIOR 0), or whose camera may be aimed at the POI rather than at the plan's pitch
 * (poi_pitch_too: a DO_SET_ROI, which ArduPilot's tilting mounts follow), is flown the other
 * ways too: a recording of its own for each, the heading the course (or the POI), the pitch
 * aimed at the POI, or both, every spacing from end to end, judged as video ("course after
 * WPn", "aimed at the POI after WPn"). */
static ko_status walk_course_too(walker *w) {
    const ko_route *rt = w->rt;
    ko_status s = KO_OK;
    for (size_t i = 0; !s && i + 1 < rt->n; i++) {
        const ko_waypoint *a = &rt->wp[i], *b = &rt->wp[i + 1];
        ko_trigger trig;
        double step = step_of(w, a, &trig);
        int ways = (rt->more[i].course_too && !isnan(a->heading_deg) ? 1 : 0) |
                   (rt->more[i].poi_pitch_too && !isnan(a->gimbal_pitch_deg) &&
                            !isnan(a->poi_lat) && isnan(w->o->gimbal_pitch_deg)
                        ? 2
                        : 0);
        if (!ways || !(step > 0)) continue;
        double len = 0, az1, az2;
        geod_inverse(koi_ctx_geod(w->ctx), a->lat, a->lon, b->lat, b->lon, &len, &az1, &az2);
        int k = len > 0 ? (int)fmin(ceil(len / fmin(step, w->o->spacing_m)), 1e6) : 1;
        for (int v = 1; !s && v <= 3; v++) {
            if ((v & ways) != v) continue;
            koi_shot from = leg_shot(i, a, rt->more[i].why);
            if (v & 1) from.heading_deg = NAN;
            if (v & 2) from.pitch_deg = NAN; /* NaN: aimed at the POI */
            const char *what = v == 1 ? "course after" : "aimed at the POI after";
            w->run++;
            for (int j = 0; !s && j <= k; j++)
                s = emit(w, i, i, len * j / k, KO_TRIGGER_CONTINUOUS, what, &from);
            w->run++;
        }
    }
    return s;
}

/* ---- video between its samples ----
 * A video's samples stand for the flight between them: each frame is judged with the motion to
 * halfway to its neighbours (ko_shot.sweep_m, climb_m, yaw_turn_deg, pitch_turn_deg;
 * ko_check_shot() widens its footprint by the ground that motion brings into view). Where the
 * camera turns more than
 * TURN_STEP_DEG between two samples (a corner, a gimbal change at a waypoint, the swing past a
 * point of interest) turn samples are put between them, so no frame stands for more than half
 * a step of turn: the widening a turn needs grows with the distance the view reaches. */
#define TURN_STEP_DEG 1.0

/* The yaw change from a to b the shorter way round, degrees (signed). */
static double yaw_change(const ko_pose *a, const ko_pose *b) {
    return remainder(b->yaw_deg - a->yaw_deg, 360.0);
}

/* The yaw change from frame a to frame b the way the camera turns (see ko_turn), degrees
 * (signed); *other: the change the other way round where the plan leaves it open, else NaN. */
static double frame_turn(const koi_exposure *a, const koi_exposure *b, double *other) {
    return turned(yaw_change(&a->pub.shot.pose, &b->pub.shot.pose), b->turn, other);
}

/* A frame a fraction t of the way from a to b, seen through camera cam. */
static ko_status turn_sample(walker *w, const koi_exposure *a, const koi_exposure *b, double t,
                             double dyaw, const ko_camera *cam) {
    koi_exposure e = t < 0.5 ? *a : *b;
    e.reason = NULL;
    e.pub.shot.camera = *cam;
    const ko_pose *pa = &a->pub.shot.pose, *pb = &b->pub.shot.pose;
    ko_pose *p = &e.pub.shot.pose;
    p->lat = lerp(pa->lat, pb->lat, t);
    p->lon = pa->lon + remainder(pb->lon - pa->lon, 360.0) * t;
    p->lon = remainder(p->lon, 360.0);
    p->height_m = lerp(pa->height_m, pb->height_m, t);
    p->alt_msl_m = lerp(pa->alt_msl_m, pb->alt_msl_m, t);
    p->alt_ellps_m = lerp(pa->alt_ellps_m, pb->alt_ellps_m, t);
    p->yaw_deg = norm360(pa->yaw_deg + dyaw * t);
    p->pitch_deg = lerp(pa->pitch_deg, pb->pitch_deg, t);
    snprintf(e.id, sizeof e.id, "turn to %.40s (%.0f%%)", b->id, 100.0 * t);
    return push(w, &e);
}

/* Turn samples between a and b, frames of the same recording, the yaw turning dyaw. */
static ko_status fill_turn(walker *w, const koi_exposure *a, const koi_exposure *b, double dyaw) {
    if (a->reason || b->reason) return KO_OK; /* unknown already: nothing to widen */
    double turn = fabs(dyaw) + fabs(b->pub.shot.pose.pitch_deg - a->pub.shot.pose.pitch_deg);
    if (!(turn > TURN_STEP_DEG)) return KO_OK;
    int k = (int)ceil(turn / TURN_STEP_DEG);
    const ko_camera *ca = &a->pub.shot.camera, *cb = &b->pub.shot.camera;
    int two = !same_lens(ca, cb); /* a zoom during the turn: both lenses at every step */
    ko_status s = KO_OK;
    for (int j = 1; !s && j < k; j++) {
        s = turn_sample(w, a, b, (double)j / k, dyaw, ca);
        if (!s && two) s = turn_sample(w, a, b, (double)j / k, dyaw, cb);
    }
    return s;
}

/* Where the plan leaves the way of a turn open, the other way round too: a recording of its
 * own (after all the others) from a copy of a to a copy of b. */
static ko_status turn_other_way(walker *w, const koi_exposure *a, const koi_exposure *b,
                                double dyaw) {
    if (a->reason || b->reason) return KO_OK;
    koi_exposure ea = *a, eb = *b;
    ea.run = eb.run = ++w->run;
    snprintf(ea.id, sizeof ea.id, "%.40s, other way", a->id);
    snprintf(eb.id, sizeof eb.id, "%.40s, other way", b->id);
    ko_status s = push(w, &ea);
    if (!s) s = fill_turn(w, &ea, &eb, dyaw);
    if (!s) s = push(w, &eb);
    return s;
}

/* The turns of the recordings in old[0..n) the other way round, where the plan leaves it
 * open. */
static ko_status add_other_ways(walker *w, const koi_exposure *old, size_t n) {
    size_t last = SIZE_MAX;
    ko_status s = KO_OK;
    for (size_t i = 0; !s && i < n; i++) {
        if (!old[i].run) continue;
        double other = NAN;
        if (last != SIZE_MAX && old[last].run == old[i].run)
            frame_turn(&old[last], &old[i], &other);
        if (!isnan(other)) s = turn_other_way(w, &old[last], &old[i], other);
        last = i;
    }
    return s;
}

/* Rebuilds the exposures with turn samples put in. */
static ko_status add_turns(walker *w) {
    koi_exposure *old = w->ex->e;
    size_t n = w->ex->n, last = SIZE_MAX;
    w->ex->e = NULL;
    w->ex->n = w->ex->cap = 0;
    ko_status s = KO_OK;
    for (size_t i = 0; i < n; i++) {
        if (!s && old[i].run) {
            double other;
            if (last != SIZE_MAX && old[last].run == old[i].run)
                s = fill_turn(w, &old[last], &old[i], frame_turn(&old[last], &old[i], &other));
            last = i;
        }
        if (!s)
            s = push(w, &old[i]); /* (frees the reason if it fails) */
        else
            free(old[i].reason);
    }
    if (!s) s = add_other_ways(w, old, n); /* (reads old only: its reasons are moved) */
    free(old);
    return s;
}

/* Half the motion from a to b, kept in e's shot if more than it has. */
static void half_motion(const walker *w, koi_exposure *e, const koi_exposure *a,
                        const koi_exposure *b) {
    const ko_pose *pa = &a->pub.shot.pose, *pb = &b->pub.shot.pose;
    double d = 0, az1, az2;
    geod_inverse(koi_ctx_geod(w->ctx), pa->lat, pa->lon, pb->lat, pb->lon, &d, &az1, &az2);
    ko_shot *s = &e->pub.shot;
    s->sweep_m = fmax(s->sweep_m, 0.5 * d);
    double climb = 0.5 * fabs(pb->height_m - pa->height_m);
    if (isfinite(climb)) s->climb_m = fmax(s->climb_m, climb);
    double yaw = 0.5 * fabs(yaw_change(pa, pb));
    double pitch = 0.5 * fabs(pb->pitch_deg - pa->pitch_deg);
    if (isfinite(yaw)) s->yaw_turn_deg = fmax(s->yaw_turn_deg, yaw);
    if (isfinite(pitch)) s->pitch_turn_deg = fmax(s->pitch_turn_deg, pitch);
}

/* Every video frame's motion to halfway to its neighbours in the same recording. */
static void set_motion(walker *w) {
    koi_exposure *e = w->ex->e;
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < w->ex->n; i++) {
        if (!e[i].run) continue;
        if (last != SIZE_MAX && e[last].run == e[i].run) {
            half_motion(w, &e[last], &e[last], &e[i]);
            half_motion(w, &e[i], &e[last], &e[i]);
        }
        last = i;
    }
}

/* Litchi's curved turns (curvesize c) leave the straight legs within c of the waypoint, by less
 * than c: every exposure within c of such a waypoint is widened by c (a site on the fillet of
 * a 30 m curve, 7.5 m off both legs, under a 200 mm lens was clear). */
static void widen_curves(walker *w) {
    const ko_route *rt = w->rt;
    for (size_t k = 0; k < w->ex->n; k++) {
        ko_exposure *e = &w->ex->e[k].pub;
        size_t i = e->waypoint < rt->n ? e->waypoint : rt->n - 1;
        double c = 0, len = 0, az1, az2;
        if (rt->wp[i].curve_m > 0 && e->along_m <= rt->wp[i].curve_m) c = rt->wp[i].curve_m;
        if (i + 1 < rt->n && rt->wp[i + 1].curve_m > 0) {
            geod_inverse(koi_ctx_geod(w->ctx), rt->wp[i].lat, rt->wp[i].lon, rt->wp[i + 1].lat,
                         rt->wp[i + 1].lon, &len, &az1, &az2);
            if (len - e->along_m <= rt->wp[i + 1].curve_m) c = fmax(c, rt->wp[i + 1].curve_m);
        }
        e->shot.sweep_m += c;
    }
}

/* ArduPilot flies the leg to a NAV_SPLINE_WAYPOINT as a cubic Hermite curve from a to b with
 * end tangents T0, T1 (AC_WPNav / SplineCurve: each the vector between neighbouring waypoints,
 * or 0.02 of the leg), both scaled down until |T0| + |T1| <= 4 |b - a|. Off the chord the curve
 * is h10(t) T0 + h11(t) T1, |h10|, |h11| <= 4/27: it stays within 4/27 (|T0| + |T1|) <= 16/27
 * of the leg's length of the straight leg, and its height within 4/27 (|T0z| + |T1z|) <= 8/27
 * of the largest height difference among the four waypoints around it. Every sample on such a
 * leg is widened by that (and by the trigger's step where the camera takes photos: a photo
 * on the curve is near some point of the straight leg, not the sample at its own distance).
 * PX4 flies it straight, which the straight leg is. */
static void widen_splines(walker *w) {
    const ko_route *rt = w->rt;
    for (size_t k = 0; k < w->ex->n; k++) {
        ko_exposure *e = &w->ex->e[k].pub;
        size_t i = e->waypoint;
        if (i + 1 >= rt->n || !rt->more[i + 1].spline ||
            (e->along_m <= 0 && e->trigger == KO_TRIGGER_NONE))
            continue;
        const ko_waypoint *a = &rt->wp[i], *b = &rt->wp[i + 1];
        double len = 0, az1, az2, dz = 0;
        geod_inverse(koi_ctx_geod(w->ctx), a->lat, a->lon, b->lat, b->lon, &len, &az1, &az2);
        for (size_t p = i ? i - 1 : 0; p <= i + 2 && p < rt->n; p++)
            for (size_t q = p + 1; q <= i + 2 && q < rt->n; q++)
                if (rt->wp[p].height_ref == rt->wp[q].height_ref &&
                    isfinite(rt->wp[p].height - rt->wp[q].height))
                    dz = fmax(dz, fabs(rt->wp[p].height - rt->wp[q].height));
        double chord = hypot(len, isfinite(b->height - a->height) ? b->height - a->height : 0.0);
        ko_trigger trig;
        double step = step_of(w, a, &trig);
        e->shot.sweep_m += 16.0 / 27.0 * chord + (trig != KO_TRIGGER_CONTINUOUS ? step : 0.0);
        e->shot.climb_m += 8.0 / 27.0 * dz;
    }
}

/* A MAVLink loiter with a radius r (koi_wp_more loiter_m) circles round its waypoint: the
 * autopilot flies to the circle, round it (facing its centre, along it, or a held yaw or a
 * POI: ArduPilot's CIRCLE_OPTIONS, PX4's orbit yaw behaviour) and leaves it from wherever the
 * turns end. An exposure at the loiter stands for the whole circle: r more sweep and any
 * heading (yaw_turn_deg 180: every bearing round the camera), and LOITER_TO_ALT's change of
 * height as climb (it was refused; judged from the centre a site 75 m east of a 50 m circle
 * was clear). The legs to and from it begin or end anywhere on the circle: their exposures
 * move by up to the radii at their ends, and their course turns by up to asin(radii / leg)
 * (any, where the radii reach the leg's length). Photos by a distance or time trigger on the
 * legs to and after a loiter move by up to the trigger's step too: the circle shifts where the
 * trigger fires (a site under a photo ArduPilot takes 38 m from keepout's nearest was clear). */
static void widen_loiters(walker *w) {
    const ko_route *rt = w->rt;
    const koi_wp_more *m = rt->more;
    size_t first = 0; /* the first loiter: a circle changes where a trigger fires after it */
    while (first < rt->n && !(m[first].loiter_m > 0))
        first++;
    if (first == rt->n) return;
    for (size_t k = 0; k < w->ex->n; k++) {
        ko_shot *shot = &w->ex->e[k].pub.shot;
        size_t i = w->ex->e[k].pub.waypoint;
        double along = w->ex->e[k].pub.along_m, len = 0, az1, az2;
        if (i + 1 < rt->n)
            geod_inverse(koi_ctx_geod(w->ctx), rt->wp[i].lat, rt->wp[i].lon, rt->wp[i + 1].lat,
                         rt->wp[i + 1].lon, &len, &az1, &az2);
        size_t at = along <= 0                                        ? i
                    : i + 1 < rt->n && along >= len - 1e-6 && len > 0 ? i + 1
                                                                      : SIZE_MAX;
        if (at != SIZE_MAX && m[at].loiter_m > 0) { /* at the loiter: the whole circle */
            shot->sweep_m += m[at].loiter_m;
            shot->climb_m += m[at].loiter_climb_m;
            shot->yaw_turn_deg = 180.0;
            /* a camera aimed down at a POI tilts as the circle takes it nearer or farther */
            if (isnan(w->o->gimbal_pitch_deg) && isnan(rt->wp[at].gimbal_pitch_deg) &&
                !isnan(rt->wp[at].poi_lat))
                shot->pitch_turn_deg = fmax(shot->pitch_turn_deg, 90.0);
        }
        /* The circle adds distance and time the straight plan does not fly: a distance or time
         * trigger fires at other places from the loiter on, each photo anywhere within a step
         * of where the straight plan puts it (as on a spline) */
        ko_trigger trig;
        double step = step_of(w, &rt->wp[i], &trig);
        ko_trigger by = w->ex->e[k].pub.trigger;
        if (i + 1 >= first && (by == KO_TRIGGER_DISTANCE || by == KO_TRIGGER_TIME) && step > 0)
            shot->sweep_m += step;
        double ends = m[i].loiter_m + (i + 1 < rt->n ? m[i + 1].loiter_m : 0.0);
        if (along <= 0 || !(ends > 0)) continue;
        shot->sweep_m += ends; /* on the leg, between the circles */
        double turn = ends < len ? asin(ends / len) * 180.0 / M_PI : 180.0;
        shot->yaw_turn_deg = fmin(180.0, shot->yaw_turn_deg + turn);
    }
}

/* ArduPilot (AP_Camera::update) and PX4 (camera_trigger) fire a distance trigger on the
 * straight-line distance from the last photo, not the distance flown: after a change of course
 * the photos move along the legs (by up to two steps at a turn back), and each later photo may
 * be anywhere. Photos by a distance trigger from the first corner on (or a leg of no length,
 * whose course is not known, or one where the trigger ran on from photos keepout did not place:
 * koi_wp_more trigger_shift) stand for a step round them, as after a loiter: every point of
 * the path is within half a step of one of keepout's photos (a site under the photo ArduPilot
 * takes 37 m past a 90 deg corner, 13 m from keepout's, was clear: adversary adv28r). */
static void widen_corners(walker *w) {
    const ko_route *rt = w->rt;
    size_t first = rt->n; /* the first waypoint where the course changes */
    for (size_t j = 1; j + 1 < rt->n && first == rt->n; j++) {
        const ko_waypoint *a = &rt->wp[j - 1], *b = &rt->wp[j], *c = &rt->wp[j + 1];
        double l1 = 0, l2 = 0, az1, in, out, az2;
        geod_inverse(koi_ctx_geod(w->ctx), a->lat, a->lon, b->lat, b->lon, &l1, &az1, &in);
        geod_inverse(koi_ctx_geod(w->ctx), b->lat, b->lon, c->lat, c->lon, &l2, &out, &az2);
        if (!(l1 > 0.01 && l2 > 0.01) || !(fabs(remainder(out - in, 360.0)) < 1e-3)) first = j;
    }
    for (size_t j = 0; j < first; j++)
        if (rt->more[j].trigger_shift) first = j;
    for (size_t k = 0; k < w->ex->n; k++) {
        ko_exposure *e = &w->ex->e[k].pub;
        size_t i = e->waypoint;
        if (i < first || e->trigger != KO_TRIGGER_DISTANCE || i >= rt->n) continue;
        ko_trigger trig;
        double step = step_of(w, &rt->wp[i], &trig);
        if (trig != KO_TRIGGER_DISTANCE && i > 0) step = step_of(w, &rt->wp[i - 1], &trig);
        if (trig == KO_TRIGGER_DISTANCE && step > 0) e->shot.sweep_m += step;
    }
}

/* Where the plan leaves the heading to the pilot (koi_wp_more any_heading: the leg leaving
 * the waypoint, and the photos on reaching the next), each exposure stands for every heading:
 * yaw_turn_deg 180, the footprint turned all round the camera. */
static void widen_any_heading(walker *w) {
    const koi_wp_more *m = w->rt->more;
    for (size_t k = 0; k < w->ex->n; k++) {
        ko_exposure *e = &w->ex->e[k].pub;
        size_t i = e->waypoint;
        if (m[i].any_heading || (i > 0 && e->along_m <= 0 && m[i - 1].any_heading))
            e->shot.yaw_turn_deg = 180.0;
    }
}

static ko_status pick_camera(walker *w) {
    if (w->o->camera && !isnan(w->o->camera->focal_mm)) {
        w->camera = *w->o->camera;
        return KO_OK;
    }
    if (ko_route_camera(w->rt, &w->camera)) return KO_OK;
    return koi_error(w->ctx, KO_ERR_ARG,
                     "%s: the plan does not describe the camera: give one (route option camera: "
                     "a camera-table entry or a 35 mm-equivalent focal length)",
                     w->rt->path);
}

ko_status ko_route_exposures(ko_context *ctx, const ko_route *rt, const ko_route_options *opts,
                             ko_exposures **out) {
    if (!ctx || !rt || !out) return koi_error(ctx, KO_ERR_ARG, "route: NULL argument");
    ko_route_options defaults;
    if (!opts) {
        ko_route_options_init(&defaults);
        opts = &defaults;
    }
    ko_status bad = KOI_CHECK_OPTIONS(ctx, ko_route_options, opts);
    if (bad) return bad;
    if (!(opts->spacing_m >= 0.5))
        return koi_error(ctx, KO_ERR_ARG, "route: spacing %g m: must be at least 0.5 m",
                         opts->spacing_m);
    walker w = {.ctx = ctx, .rt = rt, .o = opts, .run = 1};
    ko_status s = pick_camera(&w);
    if (s || (s = takeoff(&w))) return s;
    if (!(w.ex = koi_calloc(1, sizeof *w.ex)) || !(w.ex->source = koi_strdup(rt->path))) {
        ko_exposures_destroy(w.ex);
        return koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory", rt->path);
    }
    w.sample_all = !plan_has_capture(rt);
    if (w.sample_all)
        add_note(w.ex,
                 "The plan has no capture actions: every leg was sampled as if the camera "
                 "recorded video.");
    s = walk(&w);
    if (!s) s = walk_interpolated(&w);
    if (!s) s = walk_course_too(&w);
    if (!s) s = add_turns(&w);
    if (!s) set_motion(&w);
    if (!s) widen_curves(&w);
    if (!s) widen_splines(&w);
    if (!s) widen_loiters(&w);
    if (!s) widen_corners(&w);
    if (!s) widen_any_heading(&w);
    if (!s && w.ex->n == 0) /* never clear for want of anything to check */
        s = koi_error(ctx, KO_ERR_FORMAT, "%s: the plan gives no position where the camera records",
                      rt->path);
    if (w.timed)
        add_note(w.ex,
                 "A time trigger was judged as video (the ground speed is not the plan's: its "
                 "photos may fall anywhere on the leg).");
    if (s) {
        ko_exposures_destroy(w.ex);
        return s;
    }
    for (size_t i = 0; i < w.ex->n; i++) { /* pointers only now: the array no longer moves */
        koi_exposure *e = &w.ex->e[i];
        e->pub.shot.source = w.ex->source;
        e->pub.shot.id = e->id;
        e->pub.shot.reason = e->reason;
    }
    *out = w.ex;
    return KO_OK;
}

size_t ko_exposures_count(const ko_exposures *ex) {
    return ex ? ex->n : 0;
}

const ko_exposure *ko_exposures_get(const ko_exposures *ex, size_t i) {
    return ex && i < ex->n ? &ex->e[i].pub : NULL;
}

const char *ko_exposures_note(const ko_exposures *ex) {
    return ex ? ex->note : "";
}

void ko_exposures_destroy(ko_exposures *ex) {
    if (!ex) return;
    for (size_t i = 0; i < ex->n; i++)
        free(ex->e[i].reason);
    free(ex->e);
    free(ex->source);
    free(ex);
}
