/* Telemetry CSV (DESIGN.md "Telemetry CSV") read through OGR's CSV driver, so /vsi paths work.
 * Every problem with a row becomes that shot's reason; only an unreadable file is an error. */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <math.h>
#include <ogr_api.h>
#include <gdal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "camera/camera.h"
#include "core/core.h"
#include "meta/meta.h"

enum col {
    C_LAT,
    C_LON,
    C_HEIGHT,
    C_YAW,
    C_PITCH,
    C_ROLL,
    C_FOCAL,
    C_SENSOR_W,
    C_SENSOR_H,
    C_FOCAL35,
    C_WIDTH,
    C_HEIGHT_PX,
    C_ALT_MSL,
    C_ALT_ELLPS,
    C_K1,
    C_K2,
    C_K3,
    C_P1,
    C_P2,
    C_CX,
    C_CY,
    C_TAKEOFF_LAT,
    C_TAKEOFF_LON,
    C_ID,
    C_IMAGE,
    C_TIME,
    C_CAMERA,
    C_NCOLS
};

static const char *const col_names[C_NCOLS] = {
    "lat",         "lon",         "height",     "yaw",      "pitch",     "roll",    "focal_mm",
    "sensor_w_mm", "sensor_h_mm", "focal35_mm", "width_px", "height_px", "alt_msl", "alt_ellipsoid",
    "k1",          "k2",          "k3",         "p1",       "p2",        "cx_px",   "cy_px",
    "takeoff_lat", "takeoff_lon", "id",         "image",    "time",      "camera"};

#define C_FIRST_TEXT C_ID

/* Flight-record exports: DJI's flight logs (DJIFlightRecord_*.txt) as TXTlogToCSVtool writes
 * them (DJI GO 4; 246 columns, 10 rows a second). Taken only for the columns the file lacks
 * under keepout's names. OSD.height is above take-off; GIMBAL.yaw is the gimbal's absolute
 * heading (GIMBAL.yawAngle is relative to the aircraft, OSD.pitch/roll/yaw the airframe's:
 * neither is used); HOME.latitude/longitude is the home point (the take-off). OSD.altitude
 * (whole metres) and HOME.height (sign flipped against DETAILS.takeOffAltitude in real logs)
 * are not used. A row whose OSD.isGPSused is not True or whose OSD.gpsNum is below 4 has no fix
 * (the aircraft flew without GPS, ATTI mode: OSD.latitude/longitude hold the last fix while it
 * drifts). DESIGN.md, "Telemetry CSV". */
typedef struct dict_entry {
    enum col c;
    const char *name;
    double scale; /* to keepout's unit (feet to metres), 0: as is */
} dict_entry;

static const dict_entry dji_flight_record[] = {
    {C_LAT, "OSD.latitude", 0},           {C_LON, "OSD.longitude", 0},
    {C_HEIGHT, "OSD.height [m]", 0},      {C_YAW, "GIMBAL.yaw", 0},
    {C_PITCH, "GIMBAL.pitch", 0},         {C_ROLL, "GIMBAL.roll", 0},
    {C_TIME, "CUSTOM.updateTime", 0},     {C_TAKEOFF_LAT, "HOME.latitude", 0},
    {C_TAKEOFF_LON, "HOME.longitude", 0},
};

/* AirData UAV's flight CSV export (airdata.com; layout from its exports, units in the column
 * names, feet or metres as the account is set): the gimbal's own heading and angles (DJI's
 * convention), the height above take-off. Not used: altitude_above_seaLevel (derived by AirData
 * from the take-off's elevation), compass_heading/pitch/roll (the airframe's). A row with
 * fewer than 4 satellites in its `satellites` column has no fix. DESIGN.md, "Telemetry CSV". */
#define FEET_M 0.3048
static const dict_entry airdata[] = {
    {C_LAT, "latitude", 0},
    {C_LON, "longitude", 0},
    {C_HEIGHT, "height_above_takeoff(feet)", FEET_M},
    {C_HEIGHT, "height_above_takeoff(meters)", 0},
    {C_YAW, "gimbal_heading(degrees)", 0},
    {C_PITCH, "gimbal_pitch(degrees)", 0},
    {C_ROLL, "gimbal_roll(degrees)", 0},
    {C_TIME, "datetime(utc)", 0},
};

static const struct {
    const char *name;
    const dict_entry *e;
    size_t n;
} dictionaries[] = {
    {"DJI flight record (OSD, GIMBAL, HOME columns)", dji_flight_record,
     sizeof dji_flight_record / sizeof dji_flight_record[0]},
    {"AirData flight CSV (gimbal_*, height_above_takeoff columns)", airdata,
     sizeof airdata / sizeof airdata[0]},
};

typedef struct csv_state {
    GDALDatasetH ds;
    OGRLayerH layer;
    OGRFeatureH feat;
    int idx[C_NCOLS];      /* OGR field index of each known column, -1 if absent */
    double scale[C_NCOLS]; /* a dictionary column's factor to keepout's unit, 0: none */
    int satellites;        /* OGR field index of a dictionary's satellite count, or -1 */
    int gps_used;          /* OGR field index of a flight record's OSD.isGPSused, or -1 */
    int airdata;           /* the columns are AirData's */
    int nfields;
    long row;
    /* The first row with a usable position and height: the flight's take-off stand-in for
     * rows without takeoff columns of their own. */
    long takeoff_row;
    double takeoff_lat, takeoff_lon;
    char takeoff_from[160];
    /* A DJI flight record's home point: the first row with a fix that gives one, and the
     * first row where it has moved more than GPS accuracy from there (0: none). */
    long home_row, home_moved_row;
    double home_lat, home_lon, home_moved_m;
    char id[64];
    char time[40];          /* a flight record's time, as ISO 8601 */
    const char *dictionary; /* static: the column dictionary used, or NULL */
    char reason[512];
    int unreadable; /* a field of the row could not be parsed: the row is not checked */
    koi_strpairs extra;
} csv_state;

static void csv_close(void *impl) {
    csv_state *s = impl;
    if (!s) return;
    if (s->feat) OGR_F_Destroy(s->feat);
    if (s->ds) GDALClose(s->ds);
    koi_strpairs_free(&s->extra);
    free(s);
}

/* Parses a numeric field. Empty stays NaN ("missing"); anything else must be a whole number
 * text. Returns 0 and writes the reason if the text is not a number. */
static int parse_number(csv_state *s, enum col c, double *out) {
    *out = NAN;
    if (s->idx[c] < 0 || !OGR_F_IsFieldSetAndNotNull(s->feat, s->idx[c])) return 1;
    const char *txt = OGR_F_GetFieldAsString(s->feat, s->idx[c]);
    while (*txt == ' ' || *txt == '\t')
        txt++;
    if (!*txt) return 1;
    /* decimal only (koi_decimal): "0x1p3", "inf", "nan", "1e400" are not numbers */
    const char *end = NULL;
    double v = koi_decimal(txt, &end);
    if (end != txt)
        while (*end == ' ' || *end == '\t' || *end == '\r')
            end++;
    if (end == txt || *end) {
        snprintf(s->reason, sizeof s->reason, "row %ld: field '%s' = '%.40s' is not a number",
                 s->row, col_names[c], txt);
        s->unreadable = 1;
        return 0;
    }
    *out = s->scale[c] > 0 ? v * s->scale[c] : v;
    return 1;
}

static void require(csv_state *s, enum col c, double v) {
    if (!s->reason[0] && isnan(v))
        snprintf(s->reason, sizeof s->reason, "row %ld: field '%s' is empty", s->row, col_names[c]);
}

static int size_px(double v, uint32_t *out) {
    if (isnan(v)) return 1;
    if (v < 1 || v > 1e6 || v != floor(v)) return 0;
    *out = (uint32_t)v;
    return 1;
}

static const char *text_field(csv_state *s, enum col c);

/* A `camera` column names a camera-table entry ("djiFC300S", or "DJI FC300S"): the table gives
 * the sensor and distortion, the row still gives focal_mm (the table has no focal lengths).
 * With width_px/height_px the frame picks the sensor of a name that has several (djiXT2: the
 * 4000 x 3000 visible camera and the 640 x 512 thermal, as a photo's Model; camera.h,
 * koi_camera_lookup_frame): looked up by name alone, a thermal row got the visible sensor
 * squeezed to 5:4, 68 % of the thermal's width (adversary adv21c). A frame none of the
 * name's sensors can have recorded, or that two can equally, makes the row unknown. */
static int table_camera(ko_reader *r, csv_state *s, const double *v, ko_camera *cam) {
    const char *name = text_field(s, C_CAMERA);
    if (!name) return 0;
    ko_camera t;
    const char *space = strchr(name, ' ');
    char make[64] = "";
    if (space && (size_t)(space - name) < sizeof make) memcpy(make, name, (size_t)(space - name));
    const char *mk = make, *md = space ? space + 1 : name;
    if (ko_camera_lookup(r->ctx, mk, md, &t) != KO_OK) mk = NULL, md = name;
    if (ko_camera_lookup(r->ctx, mk, md, &t) != KO_OK) {
        if (!s->reason[0])
            snprintf(s->reason, sizeof s->reason,
                     "row %ld: camera '%.60s' is not in the camera table: give focal_mm, "
                     "sensor_w_mm and sensor_h_mm instead",
                     s->row, name);
        return 1;
    }
    uint32_t w = 0, h = 0;
    if (!size_px(v[C_WIDTH], &w) || !size_px(v[C_HEIGHT_PX], &h) || !w != !h) {
        if (!s->reason[0])
            snprintf(s->reason, sizeof s->reason,
                     "row %ld: width_px/height_px must be whole numbers in 1..1000000, both or "
                     "neither",
                     s->row);
        return 1;
    }
    /* Without a frame, a name of several sensors is no camera: the first entry (djiXT2's
     * visible camera) judged a thermal row through a view 27 % narrower (adversary adv26).
     * focal_mm cannot tell them apart: the tables hold no focal length per sensor. */
    if ((w ? koi_camera_lookup_frame(r->ctx, mk, md, w, h, &t)
           : koi_camera_lookup_sole(r->ctx, mk, md, &t)) != KO_OK) {
        if (!s->reason[0])
            snprintf(s->reason, sizeof s->reason, "row %ld: %s%s", s->row, ko_errmsg(r->ctx),
                     w ? "" : ": give width_px/height_px");
        return 1;
    }
    *cam = t;
    cam->focal_mm = v[C_FOCAL];
    /* a thermal core or band records its sensor's frame only: another frame is an editor's
     * crop, anywhere in the view (camera.h, koi_camera_fit_whole) */
    if (koi_camera_frame_only_exif(r->ctx, mk, md, w, h))
        koi_camera_fit_whole(cam, w, h);
    else
        koi_camera_fit_frame(cam, w, h);
    require(s, C_FOCAL, v[C_FOCAL]);
    return 1;
}

static void fill_camera(ko_reader *r, csv_state *s, const double *v, ko_camera *cam) {
    ko_camera_init(cam);
    if (isnan(v[C_SENSOR_W]) && isnan(v[C_SENSOR_H]) && table_camera(r, s, v, cam)) return;
    if (!size_px(v[C_WIDTH], &cam->width_px) || !size_px(v[C_HEIGHT_PX], &cam->height_px)) {
        if (!s->reason[0])
            snprintf(s->reason, sizeof s->reason,
                     "row %ld: width_px/height_px must be whole numbers in 1..1000000", s->row);
    }
    if (!isnan(v[C_FOCAL]) || !isnan(v[C_SENSOR_W]) || !isnan(v[C_SENSOR_H])) {
        cam->focal_mm = v[C_FOCAL];
        cam->sensor_w_mm = v[C_SENSOR_W];
        cam->sensor_h_mm = v[C_SENSOR_H];
        require(s, C_FOCAL, v[C_FOCAL]);
        require(s, C_SENSOR_W, v[C_SENSOR_W]);
        require(s, C_SENSOR_H, v[C_SENSOR_H]);
    } else if (!isnan(v[C_FOCAL35])) {
        /* DESIGN.md "Plausibility": no lens is longer than a 2,000 mm-equivalent one. */
        if (!(v[C_FOCAL35] > 0 && v[C_FOCAL35] <= 2000.0)) {
            if (!s->reason[0])
                snprintf(s->reason, sizeof s->reason,
                         "row %ld: field 'focal35_mm' = %.6g mm is outside (0, 2000] mm", s->row,
                         v[C_FOCAL35]);
        } else if (ko_camera_from_focal35(v[C_FOCAL35], cam->width_px, cam->height_px, cam) &&
                   !s->reason[0]) {
            snprintf(s->reason, sizeof s->reason, "row %ld: field 'focal35_mm' must be > 0",
                     s->row);
        }
    } else if (r->opts.camera && r->opts.camera[0]) {
        /* the reader options name the camera of a table without camera columns (a flight
         * record) */
        ko_camera t;
        if (ko_camera_by_name(r->ctx, r->opts.camera, &t, NULL) != KO_OK) {
            if (!s->reason[0])
                snprintf(s->reason, sizeof s->reason, "row %ld: %s", s->row, ko_errmsg(r->ctx));
        } else if (isnan(t.focal_mm)) {
            if (!s->reason[0])
                snprintf(s->reason, sizeof s->reason,
                         "row %ld: camera '%.60s' (reader option camera) has no fixed lens: "
                         "give focal_mm",
                         s->row, r->opts.camera);
        } else {
            *cam = t;
        }
    } else if (r->opts.focal35_mm > 0) {
        ko_camera_from_focal35(r->opts.focal35_mm, r->opts.width_px, r->opts.height_px, cam);
    } else if (!s->reason[0]) {
        snprintf(s->reason, sizeof s->reason,
                 "row %ld: no camera: give focal_mm, sensor_w_mm and sensor_h_mm, or "
                 "focal35_mm, or camera (a camera-table entry) and focal_mm, or name the camera "
                 "(reader option camera)",
                 s->row);
    }
    cam->cx_px = v[C_CX];
    cam->cy_px = v[C_CY];
    double *dist[5] = {&cam->k1, &cam->k2, &cam->k3, &cam->p1, &cam->p2};
    for (int i = 0; i < 5; i++)
        *dist[i] = isnan(v[C_K1 + i]) ? 0.0 : v[C_K1 + i];
}

static const char *text_field(csv_state *s, enum col c) {
    if (s->idx[c] < 0 || !OGR_F_IsFieldSetAndNotNull(s->feat, s->idx[c])) return NULL;
    const char *t = OGR_F_GetFieldAsString(s->feat, s->idx[c]);
    return *t ? t : NULL;
}

static int is_known(const csv_state *s, int field) {
    for (int c = 0; c < C_NCOLS; c++)
        if (s->idx[c] == field) return 1;
    return 0;
}

static ko_status collect_extra(ko_reader *r, csv_state *s) {
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(s->layer);
    koi_strpairs_clear(&s->extra);
    for (int f = 0; f < s->nfields; f++) {
        const char *v =
            OGR_F_IsFieldSetAndNotNull(s->feat, f) ? OGR_F_GetFieldAsString(s->feat, f) : "";
        if (!CPLIsUTF8(v, -1)) s->unreadable = 1;
        if (!s->reason[0] && !CPLIsUTF8(v, -1))
            snprintf(s->reason, sizeof s->reason, "row %ld: field '%s' is not valid UTF-8", s->row,
                     OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, f)));
        if (is_known(s, f)) continue;
        if (!CPLIsUTF8(v, -1)) v = "";
        if (koi_strpairs_add(&s->extra, OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, f)), v))
            return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    }
    return KO_OK;
}

/* A DJI flight record's HOME.latitude/longitude is where the flight took off until the pilot
 * moves it ("update home point"): OSD.height stays above the take-off. The first home point
 * of a row with a fix is the flight's take-off, as the SRT reader takes the first HOME; each
 * row's own put the camera on the ground under a moved home (145 m too low over a valley:
 * adversary adv26). A later home more than KOI_POSITIONS_AGREE_M away is said in takeoff_from. */
static void flight_home(csv_state *s, const double *v, ko_pose *p) {
    double la = v[C_TAKEOFF_LAT], lo = v[C_TAKEOFF_LON];
    int usable = isfinite(p->lat) && isfinite(p->lon) && fabs(la) <= 90 && fabs(lo) <= 180 &&
                 !(la == 0 && lo == 0);
    if (usable && !s->home_row) {
        s->home_row = s->row, s->home_lat = la, s->home_lon = lo;
    } else if (usable && !s->home_moved_row) {
        double d = koi_metres_apart(s->home_lat, s->home_lon, la, lo);
        if (d > KOI_POSITIONS_AGREE_M) s->home_moved_row = s->row, s->home_moved_m = d;
    }
    if (!s->home_row) return; /* (a row without a fix is unknown already) */
    p->takeoff_lat = s->home_lat, p->takeoff_lon = s->home_lon;
    int n =
        snprintf(s->takeoff_from, sizeof s->takeoff_from,
                 "HOME.latitude/HOME.longitude of row %ld, the first with a GPS fix", s->home_row);
    if (s->home_moved_row && n > 0 && (size_t)n < sizeof s->takeoff_from)
        snprintf(s->takeoff_from + n, sizeof s->takeoff_from - (size_t)n,
                 " (the home point moved %.0f m at row %ld: not the take-off)", s->home_moved_m,
                 s->home_moved_row);
}

/* Take-off of this row: its own takeoff_lat/takeoff_lon if it has them (a flight record's
 * home point: flight_home), else the file's first row with a GPS fix (a row without one has
 * its position blanked in p: the last fix, held, is no place to stand the flight on, adversary
 * adv26), not the (0, 0) of no fix, and a height (this row, if it is the first). */
static void takeoff(csv_state *s, const double *v, ko_pose *p) {
    int has_lat = !isnan(v[C_TAKEOFF_LAT]), has_lon = !isnan(v[C_TAKEOFF_LON]);
    if (has_lat || has_lon) {
        if (!(has_lat && has_lon) && !s->reason[0])
            snprintf(s->reason, sizeof s->reason,
                     "row %ld: takeoff_lat and takeoff_lon go together: give both or neither",
                     s->row);
        if (s->dictionary == dictionaries[0].name) {
            if (has_lat && has_lon) flight_home(s, v, p);
            return;
        }
        p->takeoff_lat = v[C_TAKEOFF_LAT], p->takeoff_lon = v[C_TAKEOFF_LON];
        snprintf(s->takeoff_from, sizeof s->takeoff_from, "takeoff_lat/takeoff_lon columns");
        return;
    }
    if (!s->takeoff_row && isfinite(p->lat) && isfinite(p->lon) && fabs(v[C_LAT]) <= 90 &&
        fabs(v[C_LON]) <= 180 && !(v[C_LAT] == 0 && v[C_LON] == 0) && isfinite(v[C_HEIGHT])) {
        s->takeoff_row = s->row;
        s->takeoff_lat = v[C_LAT], s->takeoff_lon = v[C_LON];
    }
    if (!s->takeoff_row) return;
    p->takeoff_lat = s->takeoff_lat, p->takeoff_lon = s->takeoff_lon;
    snprintf(s->takeoff_from, sizeof s->takeoff_from, "first valid row of the CSV: row %ld",
             s->takeoff_row);
}

static ko_status csv_next(ko_reader *r, ko_shot *shot) {
    csv_state *s = r->impl;
    if (s->feat) OGR_F_Destroy(s->feat);
    s->feat = OGR_L_GetNextFeature(s->layer);
    if (!s->feat) return KO_DONE;
    s->row++;
    s->reason[0] = '\0';
    s->unreadable = 0;
    ko_status st = collect_extra(r, s);
    if (st) return st;
    double v[C_FIRST_TEXT];
    for (int c = 0; c < C_FIRST_TEXT; c++)
        if (!parse_number(s, (enum col)c, &v[c])) v[c] = NAN;
    memset(shot, 0, sizeof *shot);
    ko_pose_init(&shot->pose);
    shot->pose.lat = v[C_LAT];
    shot->pose.lon = v[C_LON];
    shot->pose.height_m = v[C_HEIGHT];
    shot->pose.yaw_deg = v[C_YAW];
    shot->pose.pitch_deg = v[C_PITCH];
    shot->pose.roll_deg = v[C_ROLL];
    shot->pose.alt_msl_m = v[C_ALT_MSL];
    shot->pose.alt_ellps_m = v[C_ALT_ELLPS];
    for (int c = C_LAT; c <= C_ROLL; c++)
        require(s, (enum col)c, v[c]);
    if (s->gps_used >= 0 && !s->reason[0]) {
        const char *t = OGR_F_IsFieldSetAndNotNull(s->feat, s->gps_used)
                            ? OGR_F_GetFieldAsString(s->feat, s->gps_used)
                            : "";
        if (strcasecmp(t, "True") != 0) {
            snprintf(s->reason, sizeof s->reason,
                     "row %ld: GPS has no fix: 'OSD.isGPSused' is '%.20s' (the position is the "
                     "last fix, held while the aircraft flew without GPS)",
                     s->row, t);
            shot->pose.lat = shot->pose.lon = NAN;
        }
    }
    if (s->satellites >= 0 && !s->reason[0]) {
        const char *t = OGR_F_IsFieldSetAndNotNull(s->feat, s->satellites)
                            ? OGR_F_GetFieldAsString(s->feat, s->satellites)
                            : "";
        const char *end = NULL;
        t += strspn(t, " \t");
        double n = koi_decimal(t, &end);
        if (end == t || *end || !(n >= 4)) {
            snprintf(s->reason, sizeof s->reason,
                     "row %ld: GPS has no fix: '%s' is '%.20s' (a fix needs 4)", s->row,
                     s->airdata ? "satellites" : "OSD.gpsNum", t);
            shot->pose.lat = shot->pose.lon = NAN;
        }
    }
    takeoff(s, v, &shot->pose);
    if (isfinite(shot->pose.takeoff_lat) &&
        koi_strpairs_add(&s->extra, "takeoff_from", s->takeoff_from))
        return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    fill_camera(r, s, v, &shot->camera);
    koi_camera_published_lens(&shot->camera); /* a lens wider than its pinhole */
    /* the photo reader's and the camera table's rules (camera.h): a principal point far from
     * the frame's centre (an offset from it, as DewarpData and Metashape write it, taken for
     * pixels: the view half a frame aside), pixels far from square (the sensor's sides swapped:
     * the view turned portrait; adversary adv27) */
    char from[32];
    snprintf(from, sizeof from, "row %ld: the camera", s->row);
    if (!s->reason[0]) koi_camera_plausible(&shot->camera, from, s->reason, sizeof s->reason);
    if (!s->reason[0] && koi_reader_validate(r, &shot->camera, &shot->pose))
        snprintf(s->reason, sizeof s->reason, "row %ld: %s", s->row, ko_errmsg(r->ctx));
    const char *id = text_field(s, C_ID);
    if (!id) id = text_field(s, C_IMAGE);
    if (!id || !CPLIsUTF8(id, -1)) {
        snprintf(s->id, sizeof s->id, "row %ld", s->row);
        id = s->id;
    }
    shot->source = r->path;
    shot->id = id;
    shot->time = text_field(s, C_TIME);
    if (shot->time && !CPLIsUTF8(shot->time, -1)) shot->time = NULL;
    unsigned y, mo, d, h, mi;
    double sec;
    /* a flight record's "2018/07/04 09:19:31.701" (the app's clock, no zone) */
    if (s->dictionary && shot->time &&
        sscanf(shot->time, "%4u/%2u/%2u %2u:%2u:%lf", &y, &mo, &d, &h, &mi, &sec) == 6 &&
        sec >= 0 && sec < 61) {
        snprintf(s->time, sizeof s->time, "%04u-%02u-%02uT%02u:%02u:%06.3f", y % 10000, mo % 100,
                 d % 100, h % 100, mi % 100, sec);
        shot->time = s->time;
    } else if (s->airdata && shot->time &&
               sscanf(shot->time, "%4u-%2u-%2u %2u:%2u:%lf", &y, &mo, &d, &h, &mi, &sec) == 6 &&
               sec >= 0 && sec < 61) { /* AirData's datetime(utc) "2021-09-05 23:48:08" */
        snprintf(s->time, sizeof s->time, "%04u-%02u-%02uT%02u:%02u:%02.0fZ", y % 10000, mo % 100,
                 d % 100, h % 100, mi % 100, floor(sec));
        shot->time = s->time;
    }
    if (s->dictionary && koi_strpairs_add(&s->extra, "columns_from", s->dictionary))
        return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    shot->reason = s->reason[0] ? s->reason : NULL;
    shot->unreadable = s->unreadable;
    shot->n_extra = s->extra.n;
    shot->extra_keys = (const char *const *)s->extra.keys;
    shot->extra_values = (const char *const *)s->extra.values;
    return KO_OK;
}

static ko_status map_columns(ko_reader *r, csv_state *s) {
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(s->layer);
    s->nfields = OGR_FD_GetFieldCount(defn);
    for (int c = 0; c < C_NCOLS; c++)
        s->idx[c] = -1;
    for (int f = 0; f < s->nfields; f++) {
        const char *name = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, f));
        if (!CPLIsUTF8(name, -1))
            return koi_error(r->ctx, KO_ERR_FORMAT, "%s: header column %d is not valid UTF-8",
                             r->path, f + 1);
        for (int c = 0; c < C_NCOLS; c++) {
            if (strcasecmp(name, col_names[c]) != 0) continue;
            /* a column named twice (case ignored): which one holds the value cannot be told
             * (the first was taken silently: a 'LAT' appended by a tool beside 'lat') */
            if (s->idx[c] >= 0)
                return koi_error(r->ctx, KO_ERR_FORMAT,
                                 "%s: the header names column '%s' twice (columns %d and %d): "
                                 "which one holds it cannot be told; remove or rename one",
                                 r->path, col_names[c], s->idx[c] + 1, f + 1);
            s->idx[c] = f;
        }
    }
    int missing = 0;
    for (int c = C_LAT; c <= C_ROLL; c++)
        missing |= s->idx[c] < 0;
    s->satellites = s->gps_used = -1;
    /* the first dictionary that names a missing required column is the file's */
    for (size_t d = 0; missing && !s->dictionary && d < sizeof dictionaries / sizeof *dictionaries;
         d++)
        for (int f = 0; f < s->nfields; f++) {
            const char *name = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, f));
            for (size_t i = 0; i < dictionaries[d].n; i++) {
                const dict_entry *e = &dictionaries[d].e[i];
                if (!strcmp(name, e->name) && s->idx[e->c] < 0) {
                    s->idx[e->c] = f;
                    s->scale[e->c] = e->scale;
                    s->dictionary = dictionaries[d].name;
                    s->airdata = dictionaries[d].e == airdata;
                }
            }
        }
    /* the fix flags of the dictionary the file's columns are from */
    const char *count = s->airdata                              ? "satellites"
                        : s->dictionary == dictionaries[0].name ? "OSD.gpsNum"
                                                                : NULL;
    for (int f = 0; count && f < s->nfields; f++) {
        const char *name = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, f));
        if (!strcmp(name, count) && s->satellites < 0) s->satellites = f;
        if (!s->airdata && !strcmp(name, "OSD.isGPSused") && s->gps_used < 0) s->gps_used = f;
    }
    for (int c = C_LAT; c <= C_ROLL; c++)
        if (s->idx[c] < 0)
            return koi_error(r->ctx, KO_ERR_FORMAT,
                             "%s: required column '%s' is missing (the header needs "
                             "lat,lon,height,yaw,pitch,roll and a camera)",
                             r->path, col_names[c]);
    return KO_OK;
}

ko_status koi_csv_open(ko_reader *r) {
    VSIStatBufL st;
    const char *special = NULL;
    int stat_ok = VSIStatL(r->path, &st) == 0;
    if (stat_ok && (special = koi_not_regular((unsigned)st.st_mode)))
        return koi_error(r->ctx, KO_ERR_IO, "%s: %s", r->path, special); /* would block */
    if (stat_ok && st.st_size == 0)
        return koi_error(r->ctx, KO_ERR_FORMAT, "%s: empty file (no header row)", r->path);
    csv_state *s = koi_calloc(1, sizeof *s);
    if (!s) return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    size_t n = strlen(r->path);
    char *conn = koi_malloc(n + 5);
    if (!conn) {
        free(s);
        return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    }
    /* The CSV driver only claims *.csv names on its own; the prefix makes it take any name. */
    snprintf(conn, n + 5, "%s%s",
             (n > 4 && !strcasecmp(r->path + n - 4, ".csv")) ? "" : "CSV:", r->path);
    const char *drivers[] = {"CSV", NULL};
    const char *oo[] = {"AUTODETECT_TYPE=NO", "KEEP_GEOM_COLUMNS=YES", NULL};
    ko_global_init(); /* GDAL's drivers */
    CPLPushErrorHandler(CPLQuietErrorHandler);
    s->ds = GDALOpenEx(conn, GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, oo, NULL);
    CPLPopErrorHandler();
    free(conn);
    if (!s->ds) {
        csv_close(s);
        return koi_error(r->ctx, KO_ERR_FORMAT, "%s: cannot be read as CSV: %s", r->path,
                         CPLGetLastErrorMsg());
    }
    s->layer = GDALDatasetGetLayer(s->ds, 0);
    ko_status err =
        s->layer ? map_columns(r, s) : koi_error(r->ctx, KO_ERR_FORMAT, "%s: no table", r->path);
    if (!err && OGR_L_GetFeatureCount(s->layer, TRUE) == 0)
        err = koi_error(r->ctx, KO_ERR_FORMAT, "%s: no data rows below the header", r->path);
    if (err) {
        csv_close(s);
        return err;
    }
    OGR_L_ResetReading(s->layer);
    static const koi_reader_ops ops = {"csv", csv_next, csv_close};
    r->ops = &ops;
    r->impl = s;
    return KO_OK;
}
