/* Mission files: format dispatch and the waypoint list (readers are route_*.c). */
#include "route/route.h"

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

#define KOI_ROUTE_MAX_WAYPOINTS 1000000

void ko_waypoint_init(ko_waypoint *wp) {
    memset(wp, 0, sizeof *wp);
    wp->lat = wp->lon = wp->height = NAN;
    wp->height_ref = KO_HEIGHT_TAKEOFF;
    wp->heading_deg = wp->gimbal_pitch_deg = wp->gimbal_yaw_deg = NAN;
    wp->poi_lat = wp->poi_lon = wp->poi_height = NAN;
    wp->focal35_mm = wp->speed_mps = NAN;
    wp->gimbal_yaw_offset_deg = 0.0;
    wp->trigger = KO_TRIGGER_NONE;
    wp->trigger_value = NAN;
}

ko_status koi_route_push(ko_route *rt, const ko_waypoint *wp) {
    if (rt->n == rt->cap) {
        if (rt->cap >= KOI_ROUTE_MAX_WAYPOINTS)
            return koi_error(rt->ctx, KO_ERR_LIMIT, "%s: more than %d waypoints", rt->path,
                             KOI_ROUTE_MAX_WAYPOINTS);
        size_t cap = rt->cap ? rt->cap * 2 : 64;
        ko_waypoint *p = koi_realloc_array(rt->wp, cap, sizeof *p);
        if (p) rt->wp = p;
        koi_wp_more *m = p ? koi_realloc_array(rt->more, cap, sizeof *m) : NULL;
        if (!m) return koi_error(rt->ctx, KO_ERR_NOMEM, "%s: out of memory", rt->path);
        rt->more = m;
        rt->cap = cap;
    }
    memset(&rt->more[rt->n], 0, sizeof *rt->more);
    rt->wp[rt->n++] = *wp;
    return KO_OK;
}

static int same(double a, double b) {
    return a == b || (isnan(a) && isnan(b));
}

static int same_shot(const koi_shot *a, const koi_shot *b) {
    return a->wp == b->wp && same(a->pitch_deg, b->pitch_deg) && same(a->yaw_deg, b->yaw_deg) &&
           same(a->yaw_offset_deg, b->yaw_offset_deg) && same(a->heading_deg, b->heading_deg) &&
           same(a->focal35_mm, b->focal35_mm) && a->why == b->why &&
           a->any_heading == b->any_heading;
}

ko_status koi_route_push_shot(ko_route *rt, const koi_shot *shot, int merge) {
    koi_shot *last = rt->n_shots ? &rt->shots[rt->n_shots - 1] : NULL;
    if (merge && last && same_shot(last, shot)) { /* one exposure for both: every lens of both */
        last->lenses = last->lenses && shot->lenses ? last->lenses | shot->lenses : 0;
        return KO_OK;
    }
    if (rt->n_shots == rt->cap_shots) {
        /* a panorama is many photos (route/wpml.c): a small plan must not become millions */
        if (rt->cap_shots >= KOI_ROUTE_MAX_WAYPOINTS)
            return koi_error(rt->ctx, KO_ERR_LIMIT, "%s: more than %d photos", rt->path,
                             KOI_ROUTE_MAX_WAYPOINTS);
        size_t cap = rt->cap_shots ? rt->cap_shots * 2 : 16;
        koi_shot *p = koi_realloc_array(rt->shots, cap, sizeof *p);
        if (!p) return koi_error(rt->ctx, KO_ERR_NOMEM, "%s: out of memory", rt->path);
        rt->shots = p;
        rt->cap_shots = cap;
    }
    rt->shots[rt->n_shots++] = *shot;
    return KO_OK;
}

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), m = strlen(ext);
    return n >= m && strcasecmp(path + n - m, ext) == 0;
}

/* The first bytes decide between formats that share an extension (.csv, .txt, .kml). */
static void read_head(const char *path, char *buf, size_t size) {
    buf[0] = '\0';
    VSILFILE *fp = VSIFOpenL(path, "rb");
    if (!fp) return;
    size_t got = VSIFReadL(buf, 1, size - 1, fp);
    buf[got] = '\0';
    VSIFCloseL(fp);
}

static ko_status dispatch(ko_route *rt) {
    const char *path = rt->path;
    ko_status guard = ko_path_check(rt->ctx, path); /* a FIFO would block the reads below */
    if (guard) return guard;
    VSIStatBufL st;
    if (VSIStatL(path, &st) != 0)
        return koi_error(rt->ctx, KO_ERR_IO, "%s: no such file or directory", path);
    if (VSI_ISDIR(st.st_mode) || has_ext(path, ".kmz") || has_ext(path, ".wpml"))
        return koi_route_read_wpml(rt);
    char head[4096];
    read_head(path, head, sizeof head);
    if (has_ext(path, ".kml") && strstr(head, "wpmz")) return koi_route_read_wpml(rt);
    if (strncmp(head, "QGC WPL", 7) == 0) return koi_route_read_wpl(rt);
    if (has_ext(path, ".plan")) return koi_route_read_plan(rt);
    if (has_ext(path, ".csv") && strncasecmp(head, "latitude,longitude,altitude", 27) == 0)
        return koi_route_read_litchi(rt);
    if (has_ext(path, ".csv") || has_ext(path, ".txt") || has_ext(path, ".waypoints"))
        return koi_error(rt->ctx, KO_ERR_FORMAT,
                         "%s: neither a Litchi mission CSV (header latitude,longitude,"
                         "altitude(m),...) nor a MAVLink 'QGC WPL 110' file",
                         path);
    ko_global_init(); /* GDAL's drivers, for route_ogr.c */
    return koi_route_read_ogr(rt);
}

ko_status ko_route_open(ko_context *ctx, const char *path, ko_route **out) {
    if (!ctx || !path || !out) return koi_error(ctx, KO_ERR_ARG, "route: NULL argument");
    ko_route *rt = koi_calloc(1, sizeof *rt);
    if (!rt) return koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory", path);
    rt->ctx = ctx;
    rt->path = koi_strdup(path);
    rt->takeoff_lat = rt->takeoff_lon = rt->takeoff_height = NAN;
    ko_status s = rt->path ? dispatch(rt) : koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory", path);
    if (s == KO_OK && rt->n == 0)
        s = koi_error(ctx, KO_ERR_FORMAT, "%s: the mission has no waypoints", path);
    if (s) {
        ko_route_destroy(rt);
        return s;
    }
    *out = rt;
    return KO_OK;
}

void ko_route_destroy(ko_route *rt) {
    if (!rt) return;
    free(rt->wp);
    free(rt->more);
    free(rt->shots);
    free(rt->path);
    free(rt);
}

const char *ko_route_format(const ko_route *rt) {
    return rt && rt->format ? rt->format : "";
}

const char *ko_route_path(const ko_route *rt) {
    return rt ? rt->path : "";
}

size_t ko_route_waypoint_count(const ko_route *rt) {
    return rt ? rt->n : 0;
}

const ko_waypoint *ko_route_waypoint(const ko_route *rt, size_t i) {
    return rt && i < rt->n ? &rt->wp[i] : NULL;
}

int ko_route_takeoff(const ko_route *rt, double *lat, double *lon, double *height,
                     ko_height_ref *ref) {
    if (!rt || !rt->has_takeoff) return 0;
    if (lat) *lat = rt->takeoff_lat;
    if (lon) *lon = rt->takeoff_lon;
    if (height) *height = rt->takeoff_height;
    if (ref) *ref = rt->takeoff_ref;
    return 1;
}

int ko_route_camera(const ko_route *rt, ko_camera *cam) {
    if (!rt || !rt->has_camera) return 0;
    if (cam) *cam = rt->camera;
    return 1;
}

int ko_input_is_route(const char *path) {
    VSIStatBufL st;
    if (!path || ko_path_check(NULL, path) != KO_OK || VSIStatL(path, &st) != 0) return 0;
    if (VSI_ISDIR(st.st_mode)) {
        /* a mission folder (an unpacked .kmz): its members at the top or under wpmz/ */
        static const char *const members[] = {"waylines.wpml", "template.kml", "wpmz/waylines.wpml",
                                              "wpmz/template.kml"};
        for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
            char *p = koi_strdup(CPLFormFilename(path, members[i], NULL));
            int found = p && VSIStatL(p, &st) == 0 && !VSI_ISDIR(st.st_mode);
            free(p);
            if (found) return 1;
        }
        return 0;
    }
    if (has_ext(path, ".kmz") || has_ext(path, ".wpml") || has_ext(path, ".plan")) return 1;
    char head[4096];
    read_head(path, head, sizeof head);
    if (has_ext(path, ".kml")) return strstr(head, "wpmz") != NULL;
    if (strncmp(head, "QGC WPL", 7) == 0) return 1;
    return has_ext(path, ".csv") && strncasecmp(head, "latitude,longitude,altitude", 27) == 0;
}
