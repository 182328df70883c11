/* Litchi mission CSV (Litchi Mission Hub export, 47 columns). Columns are found by header
 * name. Meanings from Litchi's CSV documentation and its Mission Hub: altitudemode 0 = above
 * take-off, 1 = above ground; gimbalmode 0 = disabled (the pilot controls the gimbal), 1 =
 * focus POI, 2 = interpolate (gimbalpitchangle at the waypoint); actiontype -1 none, 0 stay
 * (ms), 1 take photo, 2 start recording, 3 stop recording, 4 rotate aircraft (deg), 5 tilt
 * camera (deg); photo_timeinterval / photo_distinterval -1 = off. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "route/route.h"

enum {
    C_LAT,
    C_LON,
    C_ALT,
    C_HEADING,
    C_GIMBALMODE,
    C_PITCH,
    C_ALTMODE,
    C_SPEED,
    C_POI_LAT,
    C_POI_LON,
    C_POI_ALT,
    C_PHOTO_T,
    C_PHOTO_D,
    C_CURVE,
    C_ROTDIR,
    C_N
};

static const char *const names[C_N] = {
    "latitude",         "longitude",          "altitude(m)",        "heading(deg)", "gimbalmode",
    "gimbalpitchangle", "altitudemode",       "speed(m/s)",         "poi_latitude", "poi_longitude",
    "poi_altitude(m)",  "photo_timeinterval", "photo_distinterval", "curvesize(m)", "rotationdir"};

typedef struct litchi {
    ko_route *rt;
    int col[C_N];
    int action_type[15], action_param[15];
    int n_cols;
    int recording; /* video state carried from waypoint to waypoint */
    double pitch;  /* gimbal pitch carried (tilt camera actions, interpolate mode) */
} litchi;

static ko_status header(litchi *l, char **f) {
    l->n_cols = CSLCount(f);
    for (int c = 0; c < C_N; c++)
        l->col[c] = CSLFindString(f, names[c]);
    for (int c = 0; c < C_ALT + 1; c++)
        if (l->col[c] < 0)
            return koi_error(l->rt->ctx, KO_ERR_FORMAT,
                             "%s: line 1: no '%s' column: not a Litchi mission CSV", l->rt->path,
                             names[c]);
    for (int a = 0; a < 15; a++) {
        char t[32], p[32];
        snprintf(t, sizeof t, "actiontype%d", a + 1);
        snprintf(p, sizeof p, "actionparam%d", a + 1);
        l->action_type[a] = CSLFindString(f, t);
        l->action_param[a] = CSLFindString(f, p);
    }
    return KO_OK;
}

/* The number in column c of a row, NaN if the column is absent; 0 if malformed. */
static int cell(litchi *l, char **f, int idx, int lineno, double *v) {
    *v = NAN;
    if (idx < 0) return 1;
    char *end;
    *v = CPLStrtod(f[idx], &end);
    if (end != f[idx] && *end == '\0' && isfinite(*v)) return 1;
    koi_error(l->rt->ctx, KO_ERR_FORMAT, "%s: line %d, column %d: '%s' is not a number",
              l->rt->path, lineno, idx + 1, f[idx]);
    return 0;
}

/* A photo with the pitch and heading the actions before it left (Litchi runs them in order). */
static ko_status photo(litchi *l, ko_waypoint *wp) {
    wp->photos++;
    koi_shot shot = {l->rt->n, wp->gimbal_pitch_deg, NAN, 0.0, wp->heading_deg, NAN, NULL, 0, 0};
    return koi_route_push_shot(l->rt, &shot, 1);
}

static ko_status actions(litchi *l, char **f, int lineno, ko_waypoint *wp) {
    for (int a = 0; a < 15; a++) {
        double type, param;
        if (!cell(l, f, l->action_type[a], lineno, &type) ||
            !cell(l, f, l->action_param[a], lineno, &param))
            return KO_ERR_FORMAT;
        if (!(type >= -1 && type <= 100)) continue; /* absent column, or a code Litchi lacks */
        switch ((int)type) {
            case 1: {
                ko_status s = photo(l, wp);
                if (s) return s;
                break;
            }
            case 2:
                l->recording = 1;
                break;
            case 3:
                l->recording = 0;
                break;
            case 4:
                wp->heading_deg = param;
                break;
            case 5:
                l->pitch = param;
                wp->gimbal_pitch_deg = param;
                break;
        }
    }
    return KO_OK;
}

static ko_status row(litchi *l, char **f, int lineno) {
    if (CSLCount(f) != l->n_cols)
        return koi_error(l->rt->ctx, KO_ERR_FORMAT, "%s: line %d: %d fields, the header has %d",
                         l->rt->path, lineno, CSLCount(f), l->n_cols);
    double v[C_N];
    for (int c = 0; c < C_N; c++)
        if (!cell(l, f, l->col[c], lineno, &v[c])) return KO_ERR_FORMAT;
    if (!(fabs(v[C_LAT]) <= 90 && fabs(v[C_LON]) <= 180))
        return koi_error(l->rt->ctx, KO_ERR_FORMAT, "%s: line %d: latitude/longitude out of range",
                         l->rt->path, lineno);
    ko_waypoint wp;
    ko_waypoint_init(&wp);
    wp.number = (int)l->rt->n + 1;
    wp.line = lineno;
    wp.lat = v[C_LAT];
    wp.lon = v[C_LON];
    wp.height = v[C_ALT];
    wp.height_ref = v[C_ALTMODE] == 1 ? KO_HEIGHT_AGL : KO_HEIGHT_TAKEOFF;
    wp.heading_deg = v[C_HEADING];
    if (v[C_CURVE] > 0) wp.curve_m = v[C_CURVE];
    /* rotationdir: 0 clockwise, 1 counter-clockwise (DJI's waypoint turn mode) */
    wp.turn = v[C_ROTDIR] == 0   ? KO_TURN_CLOCKWISE
              : v[C_ROTDIR] == 1 ? KO_TURN_COUNTERCLOCKWISE
                                 : KO_TURN_EITHER;
    if (v[C_SPEED] > 0) wp.speed_mps = v[C_SPEED];
    if (isfinite(v[C_POI_LAT]) && (v[C_POI_LAT] != 0 || v[C_POI_LON] != 0)) {
        wp.poi_lat = v[C_POI_LAT];
        wp.poi_lon = v[C_POI_LON];
        wp.poi_height = v[C_POI_ALT];
        wp.heading_deg = NAN; /* the aircraft turns to the POI */
    }
    if (v[C_GIMBALMODE] == 2) l->pitch = v[C_PITCH];
    /* gimbalmode 1 (focus POI): pitch NaN so the exposure aims at the POI */
    wp.gimbal_pitch_deg = v[C_GIMBALMODE] == 1 ? NAN : l->pitch;
    ko_status s = actions(l, f, lineno, &wp);
    if (s) return s;
    if (l->recording) {
        wp.trigger = KO_TRIGGER_CONTINUOUS;
    } else if (v[C_PHOTO_D] > 0) {
        wp.trigger = KO_TRIGGER_DISTANCE;
        wp.trigger_value = v[C_PHOTO_D];
    } else if (v[C_PHOTO_T] > 0) {
        wp.trigger = KO_TRIGGER_TIME;
        wp.trigger_value = v[C_PHOTO_T];
    }
    return koi_route_push(l->rt, &wp);
}

ko_status koi_route_read_litchi(ko_route *rt) {
    rt->format = "litchi";
    rt->poi_turns = 1;
    VSILFILE *fp = VSIFOpenL(rt->path, "rb");
    if (!fp) return koi_error(rt->ctx, KO_ERR_IO, "%s: cannot open", rt->path);
    litchi l = {.rt = rt, .pitch = NAN};
    const char *line;
    int lineno = 0;
    ko_status s = KO_OK;
    while (!s && (line = CPLReadLineL(fp)) != NULL) {
        lineno++;
        if (!*line) continue;
        char **f = CSLTokenizeString2(
            line, ",", CSLT_ALLOWEMPTYTOKENS | CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
        s = lineno == 1 ? header(&l, f) : row(&l, f, lineno);
        CSLDestroy(f);
    }
    VSIFCloseL(fp);
    return s;
}
