/* DJI WPML missions (DJI Pilot 2 / FlightHub / DJI Fly waypoint files): waylines.wpml (what
 * the aircraft executes) and template.kml, loose or in a .kmz read through /vsizip/.
 *
 * Parsed with expat, namespace-aware (the wpml namespace must be DJI's
 * http://www.dji.com/wpmz/...); DOCTYPE and entity declarations stop the parse. Action groups
 * are collected first and replayed over the waypoints afterwards, because a group names the
 * waypoint range it applies to (actionGroupStartIndex..EndIndex) and DJI's gimbal, zoom and
 * recording state persists until an action changes it. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <expat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "route/route.h"

#define KML_NS "http://www.opengis.net/kml/2.2"
#define WPML_NS "http://www.dji.com/wpmz/"
#define MAX_ACTIONS 64
#define TEXT_MAX 256

typedef struct action {
    char func[32];
    double pitch, yaw, focal, heading; /* NaN unless the action sets them */
    int yaw_north;                     /* gimbalHeadingYawBase north: absolute yaw */
    /* gimbal{Pitch,Yaw}RotateEnable 0: the axis is not turned, whatever its Angle says (DJI
     * Pilot 2 writes the Enable before the Angle, so the Angle must not undo it) */
    int pitch_off, yaw_off;
    int relative;    /* gimbalRotateMode relativeAngle (see run_action) */
    unsigned lenses; /* payloadLensIndex as KOI_LENS_* bits (0: none stated) */
    int global_lens; /* useGlobalPayloadLensIndex 1: the plan's imageFormat too */
} action;

typedef struct group {
    int wayline; /* the Folder it is in (see placemark.wayline) */
    int start, end;
    char trigger[32], mode[32];
    double trigger_param;
    action actions[MAX_ACTIONS];
    int n;
} group;

typedef struct placemark {
    double lon, lat, height, ellps_height, speed, heading, gimbal_pitch;
    char heading_mode[32], path_mode[32];
    double poi_lat, poi_lon;
    int index, use_global_height, has_coords;
    int wayline;          /* the Folder it is in, 1, 2, ... in document order (0: none): a file may
                           * hold several waylines, each numbering its waypoints from 0 */
    char height_mode[32]; /* its Folder's height mode, global height and speed, set at the */
    double global_height, global_speed; /* Folder's end (""; the document's) */
    size_t ordinal;                     /* document order, to keep the sort stable */
} placemark;

typedef struct wpml {
    ko_route *rt;
    const char *file; /* for messages: the member read */
    XML_Parser parser;
    char path[8][32]; /* local names of the open elements, innermost last (capped) */
    int depth;
    char text[TEXT_MAX];
    size_t text_len;
    int text_cut; /* the element's text was longer than TEXT_MAX - 1 */
    int bad_ns, refused, in_placemark, in_group, in_action;
    int folders;                         /* Folders (waylines) begun so far in this file */
    char height_mode[32], path_mode[32]; /* path_mode: globalWaypointHeadingParam's */
    char heading_mode[32];               /* globalWaypointHeadingParam's */
    double global_height, global_speed;
    unsigned image_lenses; /* the plan's imageFormat as KOI_LENS_* bits (0: none stated) */
    /* template.kml's gimbalPitchMode ("" if none; "mixed" if its waylines differ): whether a
     * placemark's own gimbal pitch applies (see replay) */
    char pitch_mode[32];
    placemark pm, *pms;
    size_t n_pm, cap_pm;
    group g, *groups;
    size_t n_groups, cap_groups;
    ko_status err;
} wpml;

static const char *local_name(const char *name, int *ns_ok) {
    const char *sep = strchr(name, '|');
    *ns_ok = 1;
    if (!sep) return name;
    if (strncmp(name, KML_NS, strlen(KML_NS)) != 0 && strncmp(name, WPML_NS, strlen(WPML_NS)) != 0)
        *ns_ok = 0;
    return sep + 1;
}

static void placemark_init(placemark *p) {
    p->lon = p->lat = p->height = p->ellps_height = p->speed = p->heading = NAN;
    p->gimbal_pitch = p->poi_lat = p->poi_lon = NAN;
    p->heading_mode[0] = p->path_mode[0] = p->height_mode[0] = '\0';
    p->global_height = p->global_speed = NAN;
    p->index = -1;
    p->use_global_height = 0;
    p->has_coords = 0;
}

static void group_init(group *g) {
    memset(g, 0, sizeof *g);
    g->start = g->end = -1;
    g->trigger_param = NAN;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
    (void)attrs;
    wpml *w = ud;
    int ok;
    const char *local = local_name(name, &ok);
    /* Every element must be KML or DJI's wpml: a look-alike namespace is not DJI's format. */
    if (!ok || strchr(name, '|') == NULL) w->bad_ns = 1;
    if (w->depth < 8) snprintf(w->path[w->depth], sizeof w->path[0], "%s", local);
    w->depth++;
    w->text_len = 0;
    w->text_cut = 0;
    if (!strcmp(local, "Folder")) {
        w->folders++;
    } else if (!strcmp(local, "Placemark")) {
        placemark_init(&w->pm);
        w->pm.wayline = w->folders;
        w->in_placemark = 1;
    } else if (!strcmp(local, "actionGroup")) {
        group_init(&w->g);
        w->g.wayline = w->folders;
        w->in_group = 1;
    } else if (!strcmp(local, "action") && w->in_group && w->g.n >= MAX_ACTIONS) {
        if (!w->err)
            w->err =
                koi_error(w->rt->ctx, KO_ERR_LIMIT,
                          "%s: %s line %lu: more than %d actions in one actionGroup", w->rt->path,
                          w->file, (unsigned long)XML_GetCurrentLineNumber(w->parser), MAX_ACTIONS);
    } else if (!strcmp(local, "action") && w->in_group) {
        action *a = &w->g.actions[w->g.n];
        memset(a, 0, sizeof *a);
        a->pitch = a->yaw = a->focal = a->heading = NAN;
        w->in_action = 1;
    }
}

static void bad_value(wpml *w, const char *what, const char *expected) {
    if (!w->err)
        w->err = koi_error(w->rt->ctx, KO_ERR_FORMAT, "%s: %s line %lu: %s: '%.40s%s' is not %s",
                           w->rt->path, w->file, (unsigned long)XML_GetCurrentLineNumber(w->parser),
                           what, w->text, w->text_cut ? "..." : "", expected);
}

/* The element's text as a finite number; NaN and an error (the first one kept) if it is not. */
static double num(wpml *w, const char *what) {
    char *end;
    double v = CPLStrtod(w->text, &end);
    while (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')
        end++;
    if (end == w->text || *end || !isfinite(v) || w->text_cut) {
        bad_value(w, what, "a finite number");
        return NAN;
    }
    return v;
}

/* Comma-separated finite numbers ("lat,lon,height"); 0 and an error if the text is not n of
 * them. */
static int nums(wpml *w, const char *what, double *v, int n) {
    char **f = CSLTokenizeString2(w->text, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
    int ok = CSLCount(f) == n && !w->text_cut;
    for (int i = 0; ok && i < n; i++) {
        char *end;
        v[i] = CPLStrtod(f[i], &end);
        ok = end != f[i] && *end == '\0' && isfinite(v[i]);
    }
    CSLDestroy(f);
    if (!ok) bad_value(w, what, n == 3 ? "three numbers 'a,b,c'" : "numbers 'a,b'");
    return ok;
}

/* An index element as an int in [0, 1e6]; -1 and an error if it is not. */
static int index_of(wpml *w, const char *what) {
    double v = num(w, what);
    if (isnan(v)) return -1;
    if (v >= 0 && v <= 1e6 && v == floor(v)) return (int)v;
    bad_value(w, what, "a whole number in [0, 1000000]");
    return -1;
}

static void coords(wpml *w, placemark *p) {
    char **f = CSLTokenizeString2(w->text, ", \n\t\r", 0);
    char *e1 = NULL, *e2 = NULL;
    if (CSLCount(f) >= 2) {
        p->lon = CPLStrtod(f[0], &e1);
        p->lat = CPLStrtod(f[1], &e2);
    }
    if (CSLCount(f) < 2 || *e1 || *e2 || w->text_cut ||
        !(fabs(p->lat) <= 90 && fabs(p->lon) <= 180)) {
        if (!w->err)
            w->err = koi_error(w->rt->ctx, KO_ERR_FORMAT,
                               "%s: %s line %lu: Placemark coordinates: '%.60s' is not 'lon,lat'",
                               w->rt->path, w->file,
                               (unsigned long)XML_GetCurrentLineNumber(w->parser), w->text);
    } else {
        p->has_coords = 1;
    }
    CSLDestroy(f);
}

/* A DJI lens list ("visable,ir", "wide,zoom,ir") as KOI_LENS_* bits: the visible camera
 * ("visable", "zoom") takes the zoom in force; any other lens ("wide", "ir", "narrow_band", or
 * one this reader does not know) is judged through the camera's own lens. */
static unsigned lens_bits(const char *list) {
    char **f = CSLTokenizeString2(list, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
    unsigned bits = 0;
    for (int i = 0; f && f[i]; i++)
        if (!strcmp(f[i], "visable") || !strcmp(f[i], "zoom"))
            bits |= KOI_LENS_ZOOM;
        else if (f[i][0])
            bits |= KOI_LENS_OWN;
    CSLDestroy(f);
    return bits;
}

static void end_action(wpml *w, const char *local) {
    action *a = &w->g.actions[w->g.n];
    if (!strcmp(local, "actionActuatorFunc"))
        snprintf(a->func, sizeof a->func, "%.31s", w->text);
    else if (!strcmp(local, "gimbalPitchRotateAngle"))
        a->pitch = num(w, local);
    else if (!strcmp(local, "gimbalYawRotateAngle"))
        a->yaw = num(w, local);
    else if (!strcmp(local, "gimbalHeadingYawBase"))
        a->yaw_north = !strcmp(w->text, "north");
    else if (!strcmp(local, "focalLength"))
        a->focal = num(w, local);
    else if (!strcmp(local, "aircraftHeading"))
        a->heading = num(w, local);
    else if (!strcmp(local, "payloadLensIndex"))
        a->lenses = lens_bits(w->text);
    else if (!strcmp(local, "useGlobalPayloadLensIndex"))
        a->global_lens = !strcmp(w->text, "1");
    else if (!strcmp(local, "gimbalPitchRotateEnable"))
        a->pitch_off = !strcmp(w->text, "0");
    else if (!strcmp(local, "gimbalYawRotateEnable"))
        a->yaw_off = !strcmp(w->text, "0");
    else if (!strcmp(local, "gimbalRotateMode"))
        a->relative = !strcmp(w->text, "relativeAngle");
    else if (!strcmp(local, "action")) {
        if (a->pitch_off) a->pitch = NAN;
        if (a->yaw_off) a->yaw = NAN;
        w->g.n++;
        w->in_action = 0;
    }
}

static int push_item(void **arr, size_t *n, size_t *cap, size_t size, const void *item) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 32;
        void *p = koi_realloc_array(*arr, c, size);
        if (!p) return 0;
        *arr = p;
        *cap = c;
    }
    memcpy((char *)*arr + *n * size, item, size);
    (*n)++;
    return 1;
}

static void end_group(wpml *w, const char *local) {
    if (!strcmp(local, "actionGroupStartIndex"))
        w->g.start = index_of(w, local);
    else if (!strcmp(local, "actionGroupEndIndex"))
        w->g.end = index_of(w, local);
    else if (!strcmp(local, "actionTriggerType"))
        snprintf(w->g.trigger, sizeof w->g.trigger, "%.31s", w->text);
    else if (!strcmp(local, "actionTriggerParam"))
        w->g.trigger_param = num(w, local);
    else if (!strcmp(local, "actionGroupMode"))
        snprintf(w->g.mode, sizeof w->g.mode, "%.31s", w->text);
    else if (!strcmp(local, "actionGroup")) {
        w->in_group = 0;
        if (!push_item((void **)&w->groups, &w->n_groups, &w->cap_groups, sizeof w->g, &w->g) &&
            !w->err)
            w->err = koi_error(w->rt->ctx, KO_ERR_NOMEM, "%s: out of memory", w->rt->path);
    }
}

static void end_placemark(wpml *w, const char *local) {
    placemark *p = &w->pm;
    if (!strcmp(local, "coordinates"))
        coords(w, p);
    else if (!strcmp(local, "index"))
        p->index = index_of(w, local);
    else if (!strcmp(local, "executeHeight") || !strcmp(local, "height"))
        p->height = num(w, local);
    else if (!strcmp(local, "ellipsoidHeight"))
        p->ellps_height = num(w, local);
    else if (!strcmp(local, "useGlobalHeight"))
        p->use_global_height = !strcmp(w->text, "1");
    else if (!strcmp(local, "waypointSpeed"))
        p->speed = num(w, local);
    else if (!strcmp(local, "waypointHeadingMode"))
        snprintf(p->heading_mode, sizeof p->heading_mode, "%.31s", w->text);
    else if (!strcmp(local, "waypointHeadingAngle"))
        p->heading = num(w, local);
    else if (!strcmp(local, "waypointHeadingPathMode"))
        snprintf(p->path_mode, sizeof p->path_mode, "%.31s", w->text);
    else if (!strcmp(local, "waypointGimbalPitchAngle") || !strcmp(local, "gimbalPitchAngle"))
        p->gimbal_pitch = num(w, local); /* waylines.wpml's; template.kml's */
    else if (!strcmp(local, "waypointPoiPoint")) {
        /* "lat,lon,height"; DJI writes 0,0,0 when there is no point of interest */
        double v[3] = {0, 0, 0};
        char **f = CSLTokenizeString2(w->text, ",", 0);
        int n = CSLCount(f);
        CSLDestroy(f);
        if (!nums(w, local, v, n == 2 ? 2 : 3)) {
            /* the error is set */
        } else if (!(fabs(v[0]) <= 90 && fabs(v[1]) <= 180)) {
            bad_value(w, local, "a latitude,longitude");
        } else if (v[0] != 0 || v[1] != 0) {
            p->poi_lat = v[0];
            p->poi_lon = v[1];
        }
    } else if (!strcmp(local, "Placemark")) {
        w->in_placemark = 0;
        p->ordinal = w->n_pm;
        if (!push_item((void **)&w->pms, &w->n_pm, &w->cap_pm, sizeof *p, p) && !w->err)
            w->err = koi_error(w->rt->ctx, KO_ERR_NOMEM, "%s: out of memory", w->rt->path);
    }
}

static void end_document(wpml *w, const char *local) {
    if (!strcmp(local, "Folder")) { /* the wayline's own settings for its placemarks */
        for (size_t k = 0; k < w->n_pm; k++) {
            placemark *p = &w->pms[k];
            if (p->wayline != w->folders) continue;
            snprintf(p->height_mode, sizeof p->height_mode, "%s",
                     w->height_mode[0] ? w->height_mode : "relativeToStartPoint");
            p->global_height = w->global_height;
            p->global_speed = w->global_speed;
            if (!p->heading_mode[0])
                snprintf(p->heading_mode, sizeof p->heading_mode, "%s", w->heading_mode);
        }
        w->heading_mode[0] = '\0';
    } else if (!strcmp(local, "executeHeightMode") || !strcmp(local, "heightMode"))
        snprintf(w->height_mode, sizeof w->height_mode, "%.31s", w->text);
    else if (!strcmp(local, "waypointHeadingPathMode"))
        snprintf(w->path_mode, sizeof w->path_mode, "%.31s", w->text);
    else if (!strcmp(local, "waypointHeadingMode"))
        snprintf(w->heading_mode, sizeof w->heading_mode, "%.31s", w->text);
    else if (!strcmp(local, "globalHeight"))
        w->global_height = num(w, local);
    else if (!strcmp(local, "autoFlightSpeed"))
        w->global_speed = num(w, local);
    else if (!strcmp(local, "imageFormat"))
        w->image_lenses = lens_bits(w->text);
    else if (!strcmp(local, "gimbalPitchMode"))
        snprintf(w->pitch_mode, sizeof w->pitch_mode, "%.31s",
                 !w->pitch_mode[0] || !strcmp(w->pitch_mode, w->text) ? w->text : "mixed");
    else if (!strcmp(local, "takeOffRefPoint")) {
        double v[3];
        if (nums(w, local, v, 3) && !(fabs(v[0]) <= 90 && fabs(v[1]) <= 180)) {
            bad_value(w, local, "a latitude,longitude,height");
        } else if (!w->err) {
            w->rt->has_takeoff = 1;
            w->rt->takeoff_lat = v[0];
            w->rt->takeoff_lon = v[1];
            w->rt->takeoff_height = v[2];
            w->rt->takeoff_ref = KO_HEIGHT_WGS84; /* DJI: WGS84 ellipsoidal height */
        }
    }
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
    wpml *w = ud;
    int ok;
    const char *local = local_name(name, &ok);
    w->text[w->text_len] = '\0';
    if (w->in_action)
        end_action(w, local);
    else if (w->in_group)
        end_group(w, local);
    else if (w->in_placemark)
        end_placemark(w, local);
    else
        end_document(w, local);
    w->depth--;
    w->text_len = 0;
    w->text_cut = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
    wpml *w = ud;
    for (int i = 0; i < len; i++) {
        if (w->text_len == 0 && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
            continue; /* leading blanks */
        if (w->text_len + 1 < TEXT_MAX)
            w->text[w->text_len++] = s[i];
        else
            w->text_cut = 1;
    }
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal) {
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    wpml *w = ud;
    w->refused = 1;
    XML_StopParser(w->parser, XML_FALSE);
}

/* Parses one XML member into w. */
static ko_status parse_file(wpml *w, const char *path, const char *label) {
    GByte *buf = NULL;
    vsi_l_offset size = 0;
    if (!VSIIngestFile(NULL, path, &buf, &size, 64 * 1024 * 1024))
        return koi_error(w->rt->ctx, KO_ERR_IO, "%s: cannot read %s", w->rt->path, label);
    w->file = label;
    w->parser = XML_ParserCreateNS(NULL, '|');
    if (!w->parser) {
        VSIFree(buf);
        return koi_error(w->rt->ctx, KO_ERR_NOMEM, "%s: out of memory", w->rt->path);
    }
    XML_SetUserData(w->parser, w);
    XML_SetElementHandler(w->parser, on_start, on_end);
    XML_SetCharacterDataHandler(w->parser, on_text);
    XML_SetStartDoctypeDeclHandler(w->parser, on_doctype);
    w->depth = 0;
    int ok = XML_Parse(w->parser, (const char *)buf, (int)size, 1) == XML_STATUS_OK;
    ko_status s = w->err;
    if (!s && w->refused)
        s = koi_error(w->rt->ctx, KO_ERR_FORMAT, "%s: %s: DOCTYPE refused (WPML has none)",
                      w->rt->path, label);
    else if (!s && !ok)
        s = koi_error(w->rt->ctx, KO_ERR_FORMAT, "%s: %s line %lu: XML error: %s", w->rt->path,
                      label, (unsigned long)XML_GetCurrentLineNumber(w->parser),
                      XML_ErrorString(XML_GetErrorCode(w->parser)));
    else if (!s && w->bad_ns)
        s = koi_error(w->rt->ctx, KO_ERR_FORMAT,
                      "%s: %s: not a DJI WPML file (root must be KML 2.2 with the wpml namespace "
                      "http://www.dji.com/wpmz/...)",
                      w->rt->path, label);
    XML_ParserFree(w->parser);
    w->parser = NULL;
    VSIFree(buf);
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Replay */

static ko_height_ref mode_ref(const char *mode) {
    if (!strcmp(mode, "WGS84")) return KO_HEIGHT_WGS84;
    if (!strcmp(mode, "EGM96")) return KO_HEIGHT_EGM96;
    if (!strcmp(mode, "aboveGroundLevel") || !strcmp(mode, "realTimeFollowSurface"))
        return KO_HEIGHT_AGL;
    return KO_HEIGHT_TAKEOFF; /* relativeToStartPoint, and the default */
}

/* waypointHeadingPathMode (the placemark's, else the global one); followBadArc is DJI's "minor
 * arc", the shorter way. Anything else leaves the way open. */
static ko_turn path_turn(const char *mode) {
    if (!strcmp(mode, "clockwise")) return KO_TURN_CLOCKWISE;
    if (!strcmp(mode, "counterClockwise")) return KO_TURN_COUNTERCLOCKWISE;
    if (!strcmp(mode, "followBadArc")) return KO_TURN_SHORTER;
    return KO_TURN_EITHER;
}

typedef struct camstate {
    double pitch, yaw, yaw_offset, focal;
    /* static text when the pitch or the yaw is not known (photos then unknown with it) */
    const char *pitch_why, *yaw_why;
    int recording;
    int has_trig;  /* a timed or spaced group takes photos from this waypoint on: */
    koi_shot trig; /* the camera state at its photo action */
} camstate;

#define RELATIVE_ROTATE                                                                         \
    "a gimbalRotate in gimbalRotateMode relativeAngle turns the gimbal by its angles from "     \
    "where it is, or to them (absoluteAngle, the mode DJI's WPML documents): where the gimbal " \
    "points is not known; use absoluteAngle to check it"
#define PITCH_MODE                                                                              \
    "the placemark sets a gimbal pitch (waypointGimbalPitchAngle), which the aircraft follows " \
    "only in gimbalPitchMode usePointSetting, and template.kml does not say that mode: where "  \
    "the gimbal points is not known; include template.kml (or its gimbalPitchMode) to check it"

#define UNORDERED                                                                             \
    "the action group's actionGroupMode is not 'sequence': the order of its actions, and so " \
    "the camera state at the photo, is not known"

/* The camera state in force now, as a photo taken now by action a has it: the lenses its
 * payloadLensIndex names, with the plan's imageFormat where it says to use that (both where
 * both are given; every lens where neither is). */
static koi_shot state_now(const wpml *w, const camstate *cs, const ko_waypoint *wp, int ordered,
                          const action *a) {
    koi_shot shot = {w->rt->n,
                     cs->pitch,
                     cs->yaw,
                     cs->yaw_offset,
                     wp->heading_deg,
                     cs->focal,
                     cs->pitch_why ? cs->pitch_why
                     : cs->yaw_why ? cs->yaw_why
                     : ordered     ? NULL
                                   : UNORDERED,
                     a->lenses | (a->global_lens ? w->image_lenses : 0),
                     0};
    return shot;
}

/* An oriented shot is its own photo: pitch, heading and zoom of that shot only. */
static ko_status oriented_shot(wpml *w, const action *a, camstate *cs, const ko_waypoint *wp,
                               int ordered) {
    camstate own = *cs; /* the shot's own pitch and heading stand for the state's */
    if (!isnan(a->pitch)) own.pitch_why = NULL;
    if (!isnan(a->heading)) own.yaw_why = NULL;
    koi_shot shot = state_now(w, &own, wp, ordered, a);
    if (!isnan(a->pitch)) shot.pitch_deg = a->pitch;
    if (!isnan(a->heading)) shot.yaw_deg = a->heading;
    if (!isnan(a->focal)) shot.focal35_mm = a->focal;
    if (!isnan(a->pitch)) cs->pitch = a->pitch; /* the gimbal stays where the shot left it */
    if (!isnan(a->pitch)) cs->pitch_why = NULL;
    return koi_route_push_shot(w->rt, &shot, 0);
}

/* A panorama (panoShot) turns the camera round: taken as one photo at the state in force it
 * left out all but one view. It is checked as photos all round, from the horizon straight
 * down, half a field of view apart (the narrower field, of a 35 mm-equivalent 36 x 24 frame
 * at the zoom in force, else 24 mm), so that the views overlap. */
static ko_status pano_shots(wpml *w, const action *a, const camstate *cs, const ko_waypoint *wp,
                            int ordered) {
    double f35 = isnan(cs->focal) || !(cs->focal > 0) ? 24.0 : cs->focal;
    double step = fmin(30.0, atan(12.0 / f35) * 180.0 / M_PI); /* half the vertical field */
    int n_yaw = (int)ceil(360.0 / step), n_pitch = (int)ceil(90.0 / step);
    for (int j = 0; j <= n_pitch; j++)
        for (int i = 0; i < n_yaw; i++) {
            koi_shot shot = state_now(w, cs, wp, ordered, a);
            shot.why = ordered ? NULL : UNORDERED; /* every pitch and yaw: known */
            shot.pitch_deg = -90.0 * j / n_pitch;
            shot.yaw_deg = 360.0 * i / n_yaw, shot.yaw_offset_deg = NAN;
            ko_status s = koi_route_push_shot(w->rt, &shot, 0);
            if (s) return s;
        }
    return KO_OK;
}

static int is_photo(const action *a) {
    return !strcmp(a->func, "takePhoto") || !strcmp(a->func, "panoShot");
}

static void run_action(const action *a, camstate *cs, ko_waypoint *wp, int reach) {
    if (!strcmp(a->func, "gimbalRotate") || !strcmp(a->func, "gimbalEvenlyRotate")) {
        /* gimbalRotateMode relativeAngle turns the gimbal by the angles, absoluteAngle to them;
         * whether the aircraft takes relativeAngle is not certain (DJI's WPML documents
         * absoluteAngle), so unless both give the same the axis is unknown until an absolute
         * turn sets it */
        if (!isnan(a->pitch)) {
            int agree = a->relative && cs->pitch + a->pitch == a->pitch && !cs->pitch_why;
            cs->pitch_why = a->relative && !agree ? RELATIVE_ROTATE : NULL;
            cs->pitch = a->pitch;
        }
        if (!isnan(a->yaw)) {
            cs->yaw_why = a->relative ? RELATIVE_ROTATE : NULL;
            if (a->yaw_north)
                cs->yaw = a->yaw;
            else
                cs->yaw_offset = a->yaw, cs->yaw = NAN;
        }
    } else if (is_photo(a)) {
        if (reach) wp->photos++;
    } else if (!strcmp(a->func, "startRecord")) {
        cs->recording = 1;
    } else if (!strcmp(a->func, "stopRecord")) {
        cs->recording = 0;
    } else if (!strcmp(a->func, "zoom")) {
        /* DJI's focalLength is the 35 mm-equivalent focal length (24 = wide) */
        if (!isnan(a->focal)) cs->focal = a->focal;
    } else if (!strcmp(a->func, "rotateYaw")) {
        if (!isnan(a->heading)) wp->heading_deg = a->heading;
    }
}

/* Runs group gr's actions at waypoint k in order: each photo is taken with the state the
 * actions before it left. reach: on reaching the waypoint; timed/spaced: repeated along the
 * legs, their photos with the state at the photo action. */
static ko_status run_group(wpml *w, const group *gr, int idx, ko_waypoint *wp, camstate *cs,
                           int reach) {
    int ordered = !gr->mode[0] || !strcmp(gr->mode, "sequence");
    int timed = !strcmp(gr->trigger, "multipleTiming");
    for (int i = 0; i < gr->n; i++) {
        const action *a = &gr->actions[i];
        ko_status s = KO_OK;
        /* accurateShoot: DJI's older re-shoot photo, with orientedShoot's parameters */
        if (reach && (!strcmp(a->func, "orientedShoot") || !strcmp(a->func, "accurateShoot"))) {
            if ((s = oriented_shot(w, a, cs, wp, ordered))) return s;
            continue;
        }
        run_action(a, cs, wp, reach);
        if (reach && !strcmp(a->func, "panoShot")) {
            if ((s = pano_shots(w, a, cs, wp, ordered))) return s;
        } else if (is_photo(a) && reach) {
            koi_shot shot = state_now(w, cs, wp, ordered, a);
            if ((s = koi_route_push_shot(w->rt, &shot, 1))) return s;
        }
        if (!reach && is_photo(a) && idx < gr->end && gr->trigger_param > 0) {
            wp->trigger = timed ? KO_TRIGGER_TIME : KO_TRIGGER_DISTANCE;
            wp->trigger_value = gr->trigger_param;
            cs->trig = state_now(w, cs, wp, ordered, a);
            cs->has_trig = 1;
        }
    }
    return KO_OK;
}

static ko_status apply_groups(wpml *w, size_t k, ko_waypoint *wp, camstate *cs) {
    for (size_t g = 0; g < w->n_groups; g++) {
        const group *gr = &w->groups[g];
        int idx = w->pms[k].index;
        if (gr->wayline != w->pms[k].wayline) continue; /* another wayline's numbering */
        if (idx < gr->start || idx > (gr->end < gr->start ? gr->start : gr->end)) continue;
        int spaced =
            !strcmp(gr->trigger, "multipleTiming") || !strcmp(gr->trigger, "multipleDistance");
        if (!spaced && idx != gr->start) continue;
        ko_status s = run_group(w, gr, idx, wp, cs, !spaced);
        if (s) return s;
    }
    return KO_OK;
}

/* The camera state the waypoint carries onto its leg: the state the actions left, or, where a
 * timed or spaced group takes the leg's photos (and no video runs), the state at its photo. */
static void leg_state(const camstate *cs, ko_waypoint *wp) {
    wp->gimbal_pitch_deg = cs->pitch;
    wp->gimbal_yaw_deg = cs->yaw;
    wp->gimbal_yaw_offset_deg = cs->yaw_offset;
    wp->focal35_mm = cs->focal;
    if (cs->recording) {
        wp->trigger = KO_TRIGGER_CONTINUOUS;
    } else if (cs->has_trig) {
        wp->gimbal_pitch_deg = cs->trig.pitch_deg;
        wp->gimbal_yaw_deg = cs->trig.yaw_deg;
        wp->gimbal_yaw_offset_deg = cs->trig.yaw_offset_deg;
        wp->focal35_mm = cs->trig.focal35_mm;
        wp->heading_deg = cs->trig.heading_deg;
    }
}

/* Waylines in document order, each by its own wpml:index. */
static int by_index(const void *a, const void *b) {
    const placemark *p = a, *q = b;
    if (p->wayline != q->wayline) return p->wayline < q->wayline ? -1 : 1;
    if (p->index != q->index) return p->index < q->index ? -1 : 1;
    return p->ordinal < q->ordinal ? -1 : p->ordinal > q->ordinal;
}

static ko_status replay(wpml *w) {
    if (w->n_pm > 1) qsort(w->pms, w->n_pm, sizeof *w->pms, by_index);
    const camstate start = {.pitch = NAN, .yaw = NAN, .yaw_offset = 0, .focal = NAN};
    camstate cs = start;
    for (size_t k = 0; k < w->n_pm; k++) {
        const placemark *p = &w->pms[k];
        /* Each wayline is a mission of its own: its camera state starts as a plan's does (a
         * pitch it has not set is unknown), never the one the wayline before left. */
        if (k > 0 && p->wayline != w->pms[k - 1].wayline) cs = start;
        ko_height_ref ref = mode_ref(p->height_mode[0] ? p->height_mode : w->height_mode);
        double global_height = p->height_mode[0] ? p->global_height : w->global_height;
        double global_speed = p->height_mode[0] ? p->global_speed : w->global_speed;
        if (!p->has_coords)
            return koi_error(w->rt->ctx, KO_ERR_FORMAT,
                             "%s: Placemark %zu (wpml:index %d): no "
                             "Point coordinates",
                             w->rt->path, k + 1, p->index);
        ko_waypoint wp;
        ko_waypoint_init(&wp);
        wp.number = p->index >= 0 ? p->index : (int)k;
        wp.line = wp.number;
        wp.lat = p->lat;
        wp.lon = p->lon;
        wp.height_ref = ref;
        wp.height = p->use_global_height && !isnan(global_height) ? global_height : p->height;
        if (isnan(wp.height) && !isnan(p->ellps_height)) {
            wp.height = p->ellps_height;
            wp.height_ref = KO_HEIGHT_WGS84;
        }
        wp.speed_mps = !isnan(p->speed) ? p->speed : global_speed;
        if (strcmp(p->heading_mode, "fixed") == 0 ||
            strcmp(p->heading_mode, "smoothTransition") == 0)
            wp.heading_deg = p->heading;
        wp.turn = path_turn(p->path_mode[0] ? p->path_mode : w->path_mode);
        if (!strcmp(p->heading_mode, "towardPOI")) {
            wp.poi_lat = p->poi_lat;
            wp.poi_lon = p->poi_lon;
        }
        /* DJI WPML template.kml gimbalPitchMode: usePointSetting, the gimbal takes each
         * placemark's pitch (waylines.wpml waypointGimbalPitchAngle, template.kml
         * gimbalPitchAngle) and turns evenly between them; manual, it keeps the pitch the
         * actions (or the pilot) set, whatever the placemark says (the M4T sample's
         * waypointGimbalPitchAngle 0 would have turned a nadir camera to the horizon). */
        if (!isnan(p->gimbal_pitch) && !strcmp(w->pitch_mode, "usePointSetting")) {
            cs.pitch = p->gimbal_pitch;
            cs.pitch_why = NULL;
        } else if (!isnan(p->gimbal_pitch) && strcmp(w->pitch_mode, "manual") &&
                   !(cs.pitch == p->gimbal_pitch)) {
            cs.pitch_why = PITCH_MODE; /* either, and they differ */
        }
        cs.has_trig = 0;
        ko_status s = apply_groups(w, k, &wp, &cs);
        if (s) return s;
        leg_state(&cs, &wp);
        if ((s = koi_route_push(w->rt, &wp))) return s;
        /* waypointHeadingMode manually: the pilot turns the aircraft (the remote's stick), to
         * any heading; judged every way (the leg's course stood in for it, then it was
         * refused) */
        w->rt->more[w->rt->n - 1].any_heading = !strcmp(p->heading_mode, "manually");
        const char *why = cs.pitch_why ? cs.pitch_why : cs.yaw_why;
        if (cs.has_trig && !cs.recording) /* the leg's photos: the state at the photo action */
            why = cs.trig.why && strcmp(cs.trig.why, UNORDERED) ? cs.trig.why : NULL;
        w->rt->more[w->rt->n - 1].why = why;
    }
    return KO_OK;
}

/* Where the members are: a .kmz (wpmz/ or the root), a directory, or a loose file. */
static void member(const char *base, int zip, const char *name, char *out, size_t cap) {
    const char *dirs[] = {"wpmz/", ""};
    for (int i = 0; i < 2; i++) {
        snprintf(out, cap, "%s%s/%s%s", zip ? "/vsizip/" : "", base, dirs[i], name);
        VSIStatBufL st;
        if (VSIStatL(out, &st) == 0) return;
    }
    out[0] = '\0';
}

static void locate(const ko_route *rt, char *wayl, char *tmpl, size_t cap) {
    const char *p = rt->path;
    size_t n = strlen(p);
    VSIStatBufL st;
    int is_dir = VSIStatL(p, &st) == 0 && VSI_ISDIR(st.st_mode);
    int zip = n > 4 && !strcasecmp(p + n - 4, ".kmz") && strncmp(p, "/vsizip/", 8) != 0;
    if (zip || is_dir) {
        member(p, zip, "waylines.wpml", wayl, cap);
        member(p, zip, "template.kml", tmpl, cap);
        return;
    }
    char *dir = CPLStrdup(CPLGetPath(p));
    int is_tmpl = n > 4 && !strcasecmp(p + n - 4, ".kml");
    snprintf(is_tmpl ? tmpl : wayl, cap, "%s", p);
    const char *other = CPLFormFilename(dir, is_tmpl ? "waylines.wpml" : "template.kml", NULL);
    snprintf(is_tmpl ? wayl : tmpl, cap, "%s", VSIStatL(other, &st) == 0 ? other : "");
    CPLFree(dir);
}

ko_status koi_route_read_wpml(ko_route *rt) {
    rt->format = "wpml";
    char wayl[2048], tmpl[2048];
    locate(rt, wayl, tmpl, sizeof wayl);
    if (!*wayl && !*tmpl)
        return koi_error(rt->ctx, KO_ERR_FORMAT,
                         "%s: no waylines.wpml or template.kml inside (a corrupt or truncated "
                         "KMZ?)",
                         rt->path);
    wpml w = {.rt = rt, .global_height = NAN, .global_speed = NAN};
    ko_status s = KO_OK;
    if (*tmpl) s = parse_file(&w, tmpl, "template.kml");
    if (!s && *wayl) { /* the executable file wins: start again with only its waypoints */
        w.n_pm = w.n_groups = 0;
        w.folders = 0;
        w.height_mode[0] = w.path_mode[0] = w.heading_mode[0] = '\0';
        s = parse_file(&w, wayl, "waylines.wpml");
    }
    if (!s) s = replay(&w);
    free(w.pms);
    free(w.groups);
    return s;
}
