/* A plan checked: every exposure against the store, each leg's verdict, swept ground and
 * remedy, and the plan's records (route, legs, exposures, conflicts) in one vocabulary for
 * `keepout route` and the GDAL driver's plan layers. */
#include <cpl_conv.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "policy/policy.h"
#include "route/route.h"

/* A record larger than this is refused (KO_ERR_LIMIT). */
#define PLAN_TEXT_MAX ((size_t)64 << 20)
/* A remedy re-checks a leg's exposures for up to a few hundred candidate poses. */
#define REMEDY_QUERIES_PER_EXPOSURE 300.0

struct ko_plan {
    const ko_route *rt;
    const ko_exposures *ex;
    size_t n;        /* exposures */
    ko_result **res; /* one per exposure */
    size_t n_legs;
    ko_verdict *leg_verdict;
    char **leg_wkt;    /* per leg; "" where the leg has no footprint */
    ko_remedy *remedy; /* per leg; searched only for flagged legs (else NaN) */
    size_t clear, flagged, unknown;
    size_t *conflicts; /* pairs (exposure, finding) of the disclosed findings */
    size_t n_conflicts;
};

void ko_plan_destroy(ko_plan *p) {
    if (!p) return;
    for (size_t i = 0; p->res && i < p->n; i++)
        ko_result_destroy(p->res[i]);
    for (size_t l = 0; p->leg_wkt && l < p->n_legs; l++)
        free(p->leg_wkt[l]);
    free(p->res);
    free(p->leg_verdict);
    free(p->leg_wkt);
    free(p->remedy);
    free(p->conflicts);
    free(p);
}

static OGRGeometryH ring_polygon(const ko_footprint *fp) {
    size_t n = 0;
    const double *ring = ko_footprint_ring(fp, &n);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon), lr = OGR_G_CreateGeometry(wkbLinearRing);
    if (!poly || !lr) {
        if (poly) OGR_G_DestroyGeometry(poly);
        if (lr) OGR_G_DestroyGeometry(lr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        OGR_G_AddPoint_2D(lr, ring[2 * i], ring[2 * i + 1]);
    OGR_G_AddGeometryDirectly(poly, lr);
    return poly;
}

/* The ground a leg sweeps as WKT (a copy owned by the caller; "" for none, NULL out of memory):
 * where the camera records continuously, the hulls of consecutive footprints (the ground passing
 * between two samples); else the photos' footprints. */
static char *sweep_leg(const ko_plan *p, size_t leg) {
    OGRGeometryH parts = OGR_G_CreateGeometry(wkbMultiPolygon), prev = NULL;
    if (!parts) return NULL;
    for (size_t i = 0; i < p->n; i++) {
        const ko_exposure *e = ko_exposures_get(p->ex, i);
        const ko_footprint *fp = ko_result_footprint(p->res[i]);
        if (e->leg != leg || !fp) continue;
        OGRGeometryH poly = ring_polygon(fp);
        if (!poly) continue;
        if (prev && e->trigger == KO_TRIGGER_CONTINUOUS) {
            OGRGeometryH pair = OGR_G_Union(prev, poly),
                         hull = pair ? OGR_G_ConvexHull(pair) : NULL;
            if (pair) OGR_G_DestroyGeometry(pair);
            if (hull) OGR_G_AddGeometryDirectly(parts, hull);
        }
        OGR_G_AddGeometry(parts, poly);
        if (prev) OGR_G_DestroyGeometry(prev);
        prev = poly;
    }
    if (prev) OGR_G_DestroyGeometry(prev);
    OGRGeometryH swept = OGR_G_GetGeometryCount(parts) ? OGR_G_UnionCascaded(parts) : NULL;
    OGR_G_DestroyGeometry(parts);
    char *wkt = NULL, *out;
    if (swept && OGR_G_ExportToWkt(swept, &wkt) == OGRERR_NONE && wkt)
        out = koi_strdup(wkt);
    else
        out = koi_strdup("");
    CPLFree(wkt);
    if (swept) OGR_G_DestroyGeometry(swept);
    return out;
}

static ko_status prepare(ko_context *ctx, ko_sites *sites, double queries, int *indexed) {
    if (*indexed) return KO_OK;
    ko_status st = ko_sites_prepare(sites, queries, indexed);
    return st ? koi_error(ctx, st, "site store: %s", ko_errmsg(ctx)) : KO_OK;
}

static ko_status check_all(ko_context *ctx, ko_sites *sites, ko_plan *p,
                           const ko_check_options *opts, ko_progress_fn progress, void *user) {
    for (size_t i = 0; i < p->n; i++) {
        const ko_exposure *e = ko_exposures_get(p->ex, i);
        ko_status st = ko_check_shot(ctx, sites, &e->shot, opts, &p->res[i]);
        if (st) return st;
        ko_verdict v = ko_result_verdict(p->res[i]);
        p->flagged += v == KO_FLAGGED;
        p->unknown += v == KO_UNKNOWN;
        p->clear += v == KO_CLEAR;
        size_t leg = e->leg < p->n_legs ? e->leg : p->n_legs - 1;
        p->leg_verdict[leg] = ko_verdict_worst(p->leg_verdict[leg], v);
        if (progress && (i % 64 == 0 || i + 1 == p->n) &&
            !progress(0.9 * (double)(i + 1) / (double)p->n, NULL, user))
            return koi_error(ctx, KO_ERR_CANCELLED, "%s: cancelled", ko_route_path(p->rt));
    }
    return KO_OK;
}

static ko_status list_conflicts(ko_context *ctx, ko_plan *p) {
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < ko_result_count(p->res[i]); k++)
            n += ko_result_finding(p->res[i], k)->disclosed != 0;
    p->conflicts = koi_calloc(n ? 2 * n : 1, sizeof *p->conflicts);
    if (!p->conflicts) return koi_error(ctx, KO_ERR_NOMEM, "route: out of memory");
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < ko_result_count(p->res[i]); k++)
            if (ko_result_finding(p->res[i], k)->disclosed) {
                p->conflicts[2 * p->n_conflicts] = i;
                p->conflicts[2 * p->n_conflicts++ + 1] = k;
            }
    return KO_OK;
}

ko_status ko_plan_check(ko_context *ctx, ko_sites *sites, const ko_route *rt,
                        const ko_exposures *ex, const ko_check_options *opts,
                        ko_progress_fn progress, void *progress_user, ko_plan **out) {
    if (!sites || !rt || !ex || !opts || !out)
        return koi_error(ctx, KO_ERR_ARG, "plan check: NULL argument");
    ko_plan *p = koi_calloc(1, sizeof *p);
    if (!p) return koi_error(ctx, KO_ERR_NOMEM, "route: out of memory");
    p->rt = rt;
    p->ex = ex;
    p->n = ko_exposures_count(ex);
    size_t wps = ko_route_waypoint_count(rt);
    p->n_legs = wps > 1 ? wps - 1 : 1;
    p->res = koi_calloc(p->n ? p->n : 1, sizeof *p->res);
    p->leg_verdict = koi_calloc(p->n_legs, sizeof *p->leg_verdict);
    p->leg_wkt = koi_calloc(p->n_legs, sizeof *p->leg_wkt);
    p->remedy = koi_calloc(p->n_legs, sizeof *p->remedy);
    ko_status st = KO_OK;
    if (!p->res || !p->leg_verdict || !p->leg_wkt || !p->remedy)
        st = koi_error(ctx, KO_ERR_NOMEM, "route: out of memory");
    for (size_t l = 0; !st && l < p->n_legs; l++)
        p->remedy[l].pitch_deg = p->remedy[l].height_m = NAN;
    int indexed = 0;
    if (!st) st = prepare(ctx, sites, (double)p->n, &indexed);
    if (!st) st = check_all(ctx, sites, p, opts, progress, progress_user);
    for (size_t l = 0; !st && l < p->n_legs; l++) {
        if (!(p->leg_wkt[l] = sweep_leg(p, l)))
            st = koi_error(ctx, KO_ERR_NOMEM, "route: out of memory");
        if (st || p->leg_verdict[l] != KO_FLAGGED) continue;
        st = prepare(ctx, sites, REMEDY_QUERIES_PER_EXPOSURE * (double)p->n, &indexed);
        if (!st) st = ko_route_remedy(ctx, sites, ex, l, opts, &p->remedy[l]);
    }
    if (!st) st = list_conflicts(ctx, p);
    if (!st && progress && !progress(1.0, NULL, progress_user))
        st = koi_error(ctx, KO_ERR_CANCELLED, "%s: cancelled", ko_route_path(rt));
    if (st) {
        ko_plan_destroy(p);
        return st;
    }
    *out = p;
    return KO_OK;
}

const ko_result *ko_plan_result(const ko_plan *p, size_t i) {
    return p && i < p->n ? p->res[i] : NULL;
}

size_t ko_plan_leg_count(const ko_plan *p) {
    return p ? p->n_legs : 0;
}

ko_verdict ko_plan_leg_verdict(const ko_plan *p, size_t leg) {
    return p && leg < p->n_legs ? p->leg_verdict[leg] : KO_UNKNOWN;
}

const ko_remedy *ko_plan_leg_remedy(const ko_plan *p, size_t leg) {
    return p && leg < p->n_legs ? &p->remedy[leg] : NULL;
}

const char *ko_plan_leg_wkt(const ko_plan *p, size_t leg) {
    return p && leg < p->n_legs && p->leg_wkt[leg] ? p->leg_wkt[leg] : "";
}

ko_verdict ko_plan_verdict(const ko_plan *p, size_t *n_clear, size_t *n_flagged,
                           size_t *n_unknown) {
    if (n_clear) *n_clear = p ? p->clear : 0;
    if (n_flagged) *n_flagged = p ? p->flagged : 0;
    if (n_unknown) *n_unknown = p ? p->unknown : 0;
    if (!p) return KO_UNKNOWN;
    return p->unknown ? KO_UNKNOWN : p->flagged ? KO_FLAGGED : KO_CLEAR;
}

/* ------------------------------------------------------------------------------------------ */
/* Records */

static const ko_field route_fields[] = {
    {"kind", KO_FIELD_STRING},       {"source", KO_FIELD_STRING},
    {"format", KO_FIELD_STRING},     {"verdict", KO_FIELD_STRING},
    {"waypoints", KO_FIELD_INTEGER}, {"legs", KO_FIELD_INTEGER},
    {"exposures", KO_FIELD_INTEGER}, {"flagged", KO_FIELD_INTEGER},
    {"unknown", KO_FIELD_INTEGER},   {"conflicting_legs", KO_FIELD_INTEGER},
    {"note", KO_FIELD_STRING}};
static const ko_field leg_fields[] = {
    {"kind", KO_FIELD_STRING},           {"source", KO_FIELD_STRING},
    {"leg", KO_FIELD_INTEGER},           {"from_wp", KO_FIELD_INTEGER},
    {"to_wp", KO_FIELD_INTEGER},         {"verdict", KO_FIELD_STRING},
    {"remedy_pitch_deg", KO_FIELD_REAL}, {"remedy_height_change_m", KO_FIELD_REAL},
    {"remedy", KO_FIELD_STRING}};
static const ko_field exposure_fields[] = {
    {"kind", KO_FIELD_STRING},   {"source", KO_FIELD_STRING},   {"exposure", KO_FIELD_INTEGER},
    {"id", KO_FIELD_STRING},     {"leg", KO_FIELD_INTEGER},     {"waypoint", KO_FIELD_INTEGER},
    {"along_m", KO_FIELD_REAL},  {"trigger", KO_FIELD_STRING},  {"verdict", KO_FIELD_STRING},
    {"reason", KO_FIELD_STRING}, {"camera_lat", KO_FIELD_REAL}, {"camera_lon", KO_FIELD_REAL},
    {"height_m", KO_FIELD_REAL}, {"yaw_deg", KO_FIELD_REAL},    {"pitch_deg", KO_FIELD_REAL}};
static const ko_field conflict_fields[] = {
    {"kind", KO_FIELD_STRING},        {"source", KO_FIELD_STRING},   {"leg", KO_FIELD_INTEGER},
    {"from_wp", KO_FIELD_INTEGER},    {"to_wp", KO_FIELD_INTEGER},   {"exposure", KO_FIELD_INTEGER},
    {"exposure_id", KO_FIELD_STRING}, {"site_id", KO_FIELD_INTEGER}, {"name", KO_FIELD_STRING},
    {"category", KO_FIELD_STRING},    {"distance_m", KO_FIELD_REAL}, {"gsd_m", KO_FIELD_REAL},
    {"min_gsd_m", KO_FIELD_REAL},     {"rule", KO_FIELD_STRING}};

const char *ko_plan_layer_name(ko_plan_layer layer) {
    switch (layer) {
        case KO_PLAN_ROUTE:
            return "route";
        case KO_PLAN_LEGS:
            return "legs";
        case KO_PLAN_EXPOSURES:
            return "exposures";
        case KO_PLAN_CONFLICTS:
            return "conflicts";
    }
    return "";
}

const ko_field *ko_plan_fields(ko_plan_layer layer, size_t *n) {
#define FIELDS(a) (*n = sizeof a / sizeof *a, a)
    size_t dummy;
    if (!n) n = &dummy;
    switch (layer) {
        case KO_PLAN_ROUTE:
            return FIELDS(route_fields);
        case KO_PLAN_LEGS:
            return FIELDS(leg_fields);
        case KO_PLAN_EXPOSURES:
            return FIELDS(exposure_fields);
        case KO_PLAN_CONFLICTS:
            return FIELDS(conflict_fields);
    }
#undef FIELDS
    *n = 0;
    return NULL;
}

size_t ko_plan_record_count(const ko_plan *p, ko_plan_layer layer) {
    if (!p) return 0;
    switch (layer) {
        case KO_PLAN_ROUTE:
            return 1;
        case KO_PLAN_LEGS:
            return p->n_legs;
        case KO_PLAN_EXPOSURES:
            return p->n;
        case KO_PLAN_CONFLICTS:
            return p->n_conflicts;
    }
    return 0;
}

static const char *trigger_name(ko_trigger t) {
    switch (t) {
        case KO_TRIGGER_NONE:
            return "waypoint";
        case KO_TRIGGER_DISTANCE:
            return "distance";
        case KO_TRIGGER_TIME:
            return "time";
        case KO_TRIGGER_CONTINUOUS:
            return "video";
    }
    return "";
}

/* v rounded to 1/scale (null if not finite) */
static void put_round(koi_text *t, const char *key, double v, double scale) {
    koi_json_key(t, key, 0);
    koi_json_num(t, isfinite(v) ? round(v * scale) / scale : NAN);
}

static void put_int_field(koi_text *t, const char *key, long long v) {
    koi_json_key(t, key, 0);
    koi_json_int(t, v);
}

static void put_str_field(koi_text *t, const char *key, const char *v) {
    koi_json_key(t, key, 0);
    koi_json_str(t, v);
}

static int leg_from(const ko_plan *p, size_t leg) {
    const ko_waypoint *w = ko_route_waypoint(p->rt, leg);
    return w ? w->number : 0;
}

static int leg_to(const ko_plan *p, size_t leg) {
    const ko_waypoint *w = ko_route_waypoint(p->rt, leg + 1);
    return w ? w->number : leg_from(p, leg);
}

/* The remedy of a flagged leg in words; "" for other legs. */
static void remedy_text(const ko_plan *p, size_t leg, char *buf, size_t cap) {
    buf[0] = '\0';
    if (p->leg_verdict[leg] != KO_FLAGGED) return;
    const ko_remedy *m = &p->remedy[leg];
    size_t first = 0, last = 0;
    int any = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (ko_exposures_get(p->ex, i)->leg != leg || ko_result_verdict(p->res[i]) != KO_FLAGGED)
            continue;
        if (!any) first = i;
        last = i;
        any = 1;
    }
    size_t len = 0;
    if (isfinite(m->pitch_deg))
        len += (size_t)snprintf(buf + len, cap - len, "gimbal pitch %.0f deg clears it; ",
                                m->pitch_deg);
    if (isfinite(m->height_m) && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "flying %.0f m %s clears it; ",
                                fabs(m->height_m), m->height_m > 0 ? "higher" : "lower");
    if (len < cap)
        snprintf(buf + len, cap - len, "or skip exposures #%zu-#%zu", first + 1, last + 1);
}

static void start(koi_text *t, const ko_plan *p, const char *kind) {
    koi_text_put(t, "{", 1);
    koi_json_key(t, "kind", 1);
    koi_json_str(t, kind);
    put_str_field(t, "source", ko_route_path(p->rt));
}

static void route_record(koi_text *t, koi_text *g, const ko_plan *p) {
    size_t legs_flagged = 0;
    for (size_t l = 0; l < p->n_legs; l++)
        legs_flagged += p->leg_verdict[l] == KO_FLAGGED;
    start(t, p, "route");
    put_str_field(t, "format", ko_route_format(p->rt));
    put_str_field(t, "verdict", ko_verdict_str(ko_plan_verdict(p, NULL, NULL, NULL)));
    put_int_field(t, "waypoints", (long long)ko_route_waypoint_count(p->rt));
    put_int_field(t, "legs", (long long)p->n_legs);
    put_int_field(t, "exposures", (long long)p->n);
    put_int_field(t, "flagged", (long long)p->flagged);
    put_int_field(t, "unknown", (long long)p->unknown);
    put_int_field(t, "conflicting_legs", (long long)legs_flagged);
    put_str_field(t, "note", ko_exposures_note(p->ex));
    size_t n = ko_route_waypoint_count(p->rt);
    /* a line needs two points: a single waypoint is a line of no length */
    koi_text_puts(g, "LINESTRING (");
    for (size_t i = 0; i < (n > 1 ? n : 2); i++) {
        const ko_waypoint *w = ko_route_waypoint(p->rt, i < n ? i : 0);
        char b[64];
        snprintf(b, sizeof b, "%s%.17g %.17g", i ? "," : "", w->lon, w->lat);
        koi_text_puts(g, b);
    }
    koi_text_puts(g, ")");
}

static void leg_record(koi_text *t, koi_text *g, const ko_plan *p, size_t l) {
    char text[512];
    remedy_text(p, l, text, sizeof text);
    start(t, p, "leg");
    put_int_field(t, "leg", (long long)l + 1);
    put_int_field(t, "from_wp", leg_from(p, l));
    put_int_field(t, "to_wp", leg_to(p, l));
    put_str_field(t, "verdict", ko_verdict_str(p->leg_verdict[l]));
    put_round(t, "remedy_pitch_deg", p->remedy[l].pitch_deg, 1);
    put_round(t, "remedy_height_change_m", p->remedy[l].height_m, 1);
    put_str_field(t, "remedy", text);
    koi_text_puts(g, ko_plan_leg_wkt(p, l));
}

static ko_status exposure_record(ko_context *ctx, koi_text *t, koi_text *g, const ko_plan *p,
                                 size_t i) {
    const ko_exposure *e = ko_exposures_get(p->ex, i);
    const ko_result *res = p->res[i];
    const ko_waypoint *w = ko_route_waypoint(p->rt, e->waypoint);
    start(t, p, "exposure");
    put_int_field(t, "exposure", (long long)i + 1);
    put_str_field(t, "id", e->shot.id);
    put_int_field(t, "leg", (long long)e->leg + 1);
    put_int_field(t, "waypoint", w ? w->number : 0);
    put_round(t, "along_m", e->along_m, 10);
    put_str_field(t, "trigger", trigger_name(e->trigger));
    put_str_field(t, "verdict", ko_verdict_str(ko_result_verdict(res)));
    put_str_field(t, "reason", ko_result_reason(res));
    put_round(t, "camera_lat", e->shot.pose.lat, 1e9);
    put_round(t, "camera_lon", e->shot.pose.lon, 1e9);
    put_round(t, "height_m", e->shot.pose.height_m, 100);
    put_round(t, "yaw_deg", e->shot.pose.yaw_deg, 100);
    put_round(t, "pitch_deg", e->shot.pose.pitch_deg, 100);
    const ko_footprint *fp = ko_result_footprint(res);
    if (fp) {
        char *wkt = NULL;
        ko_status st = ko_footprint_wkt(ctx, fp, &wkt);
        if (st) return st;
        koi_text_puts(g, wkt);
        ko_free(wkt);
    }
    return KO_OK;
}

static void conflict_record(koi_text *t, koi_text *g, const ko_plan *p, size_t c) {
    size_t i = p->conflicts[2 * c];
    const ko_finding *f = ko_result_finding(p->res[i], p->conflicts[2 * c + 1]);
    const ko_exposure *e = ko_exposures_get(p->ex, i);
    start(t, p, "conflict");
    put_int_field(t, "leg", (long long)e->leg + 1);
    put_int_field(t, "from_wp", leg_from(p, e->leg));
    put_int_field(t, "to_wp", leg_to(p, e->leg));
    put_int_field(t, "exposure", (long long)i + 1);
    put_str_field(t, "exposure_id", e->shot.id);
    put_int_field(t, "site_id", (long long)f->site->site_id);
    put_str_field(t, "name", f->site->name);
    put_str_field(t, "category", f->site->category);
    put_round(t, "distance_m", f->site->distance_m, 10);
    put_round(t, "gsd_m", f->gsd_m, 1e4);
    put_round(t, "min_gsd_m", f->site->min_gsd_m, 1e4);
    put_str_field(t, "rule", f->rule);
    char b[96];
    snprintf(b, sizeof b, "POINT (%.17g %.17g)", f->site->nearest_lon, f->site->nearest_lat);
    koi_text_puts(g, b);
}

ko_status ko_plan_record(ko_context *ctx, const ko_plan *p, ko_plan_layer layer, size_t i,
                         char **json, char **wkt) {
    if (!p) return koi_error(ctx, KO_ERR_ARG, "plan record: NULL argument");
    if (i >= ko_plan_record_count(p, layer))
        return koi_error(ctx, KO_ERR_ARG, "%s: no record %zu in layer %s", ko_route_path(p->rt), i,
                         ko_plan_layer_name(layer));
    koi_text t = {.max = PLAN_TEXT_MAX}, g = {.max = PLAN_TEXT_MAX};
    ko_status st = KO_OK;
    switch (layer) {
        case KO_PLAN_ROUTE:
            route_record(&t, &g, p);
            break;
        case KO_PLAN_LEGS:
            leg_record(&t, &g, p, i);
            break;
        case KO_PLAN_EXPOSURES:
            st = exposure_record(ctx, &t, &g, p, i);
            break;
        case KO_PLAN_CONFLICTS:
            conflict_record(&t, &g, p, i);
            break;
    }
    koi_text_put(&t, "}", 1);
    char *js = NULL, *gs = NULL;
    if (st) {
        free(t.s);
        free(g.s);
        return st;
    }
    if ((st = koi_text_done(ctx, &t, "plan record", &js)) != KO_OK) {
        free(g.s);
        return st;
    }
    if ((st = koi_text_done(ctx, &g, "plan record", &gs)) != KO_OK) {
        free(js);
        return st;
    }
    if (json)
        *json = js;
    else
        free(js);
    if (wkt)
        *wkt = gs;
    else
        free(gs);
    return KO_OK;
}
