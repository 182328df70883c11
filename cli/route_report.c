/* keepout route reports: a terminal table, and features (route, legs, exposures, conflicts)
 * for geojson, jsonl and csv. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>

#include "route_cli.h"

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

static json_object *num_or_null(double v, double scale) {
    return isfinite(v) ? json_object_new_double(round(v * scale) / scale) : NULL;
}

/* The remedy of a flagged leg in words; "" for other legs. */
static void remedy_text(const plan_eval *p, size_t leg, char *buf, size_t cap) {
    buf[0] = '\0';
    if (p->leg_verdict[leg] != KO_FLAGGED) return;
    const ko_remedy *m = &p->remedy[leg];
    size_t first = 0, last = 0, n = ko_exposures_count(p->ex);
    int any = 0;
    for (size_t i = 0; i < n; i++) {
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

static json_object *geom_json(OGRGeometryH g) {
    if (!g) return NULL;
    char *text = OGR_G_ExportToJson(g);
    json_object *o = text ? json_tokener_parse(text) : NULL;
    CPLFree(text);
    return o;
}

static int write_geom(out_writer *w, json_object *props, OGRGeometryH g) {
    char *wkt = NULL;
    if (g && w->format == OUT_CSV) OGR_G_ExportToWkt(g, &wkt);
    int ok = out_feature(w, props, w->format == OUT_CSV ? NULL : geom_json(g), wkt);
    CPLFree(wkt);
    json_object_put(props);
    return ok;
}

static json_object *base(const plan_eval *p, const char *kind) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "kind", json_object_new_string(kind));
    json_object_object_add(o, "source", json_object_new_string(ko_route_path(p->rt)));
    return o;
}

static int write_route(out_writer *w, const plan_eval *p) {
    json_object *o = base(p, "route");
    size_t legs_flagged = 0;
    for (size_t l = 0; l < p->n_legs; l++)
        legs_flagged += p->leg_verdict[l] == KO_FLAGGED;
    ko_verdict v = p->unknown ? KO_UNKNOWN : p->flagged ? KO_FLAGGED : KO_CLEAR;
    json_object_object_add(o, "format", json_object_new_string(ko_route_format(p->rt)));
    json_object_object_add(o, "verdict", json_object_new_string(ko_verdict_str(v)));
    json_object_object_add(o, "waypoints",
                           json_object_new_int64((int64_t)ko_route_waypoint_count(p->rt)));
    json_object_object_add(o, "legs", json_object_new_int64((int64_t)p->n_legs));
    json_object_object_add(o, "exposures",
                           json_object_new_int64((int64_t)ko_exposures_count(p->ex)));
    json_object_object_add(o, "flagged", json_object_new_int64((int64_t)p->flagged));
    json_object_object_add(o, "unknown", json_object_new_int64((int64_t)p->unknown));
    json_object_object_add(o, "conflicting_legs", json_object_new_int64((int64_t)legs_flagged));
    json_object_object_add(o, "note", json_object_new_string(ko_exposures_note(p->ex)));
    OGRGeometryH line = plan_route_line(p);
    int ok = write_geom(w, o, line);
    OGR_G_DestroyGeometry(line);
    return ok;
}

static int write_leg(out_writer *w, const plan_eval *p, size_t l) {
    json_object *o = base(p, "leg");
    char text[512];
    remedy_text(p, l, text, sizeof text);
    json_object_object_add(o, "leg", json_object_new_int64((int64_t)l + 1));
    json_object_object_add(o, "from_wp", json_object_new_int(plan_leg_from(p, l)));
    json_object_object_add(o, "to_wp", json_object_new_int(plan_leg_to(p, l)));
    json_object_object_add(o, "verdict", json_object_new_string(ko_verdict_str(p->leg_verdict[l])));
    json_object_object_add(o, "remedy_pitch_deg", num_or_null(p->remedy[l].pitch_deg, 1));
    json_object_object_add(o, "remedy_height_change_m", num_or_null(p->remedy[l].height_m, 1));
    json_object_object_add(o, "remedy", json_object_new_string(text));
    return write_geom(w, o, p->swept[l]);
}

static int write_exposure(out_writer *w, const plan_eval *p, size_t i) {
    const ko_exposure *e = ko_exposures_get(p->ex, i);
    const ko_result *res = p->res[i];
    json_object *o = base(p, "exposure");
    json_object_object_add(o, "exposure", json_object_new_int64((int64_t)i + 1));
    json_object_object_add(o, "id", json_object_new_string(e->shot.id));
    json_object_object_add(o, "leg", json_object_new_int64((int64_t)e->leg + 1));
    json_object_object_add(o, "waypoint",
                           json_object_new_int(ko_route_waypoint(p->rt, e->waypoint)->number));
    json_object_object_add(o, "along_m", num_or_null(e->along_m, 10));
    json_object_object_add(o, "trigger", json_object_new_string(trigger_name(e->trigger)));
    json_object_object_add(o, "verdict",
                           json_object_new_string(ko_verdict_str(ko_result_verdict(res))));
    json_object_object_add(o, "reason", json_object_new_string(ko_result_reason(res)));
    json_object_object_add(o, "camera_lat", num_or_null(e->shot.pose.lat, 1e9));
    json_object_object_add(o, "camera_lon", num_or_null(e->shot.pose.lon, 1e9));
    json_object_object_add(o, "height_m", num_or_null(e->shot.pose.height_m, 100));
    json_object_object_add(o, "yaw_deg", num_or_null(e->shot.pose.yaw_deg, 100));
    json_object_object_add(o, "pitch_deg", num_or_null(e->shot.pose.pitch_deg, 100));
    int ok = out_record(w, o, ko_result_footprint(res));
    json_object_put(o);
    return ok;
}

static int write_conflict(out_writer *w, const plan_eval *p, size_t i, const ko_finding *f) {
    const ko_exposure *e = ko_exposures_get(p->ex, i);
    json_object *o = base(p, "conflict");
    json_object_object_add(o, "leg", json_object_new_int64((int64_t)e->leg + 1));
    json_object_object_add(o, "from_wp", json_object_new_int(plan_leg_from(p, e->leg)));
    json_object_object_add(o, "to_wp", json_object_new_int(plan_leg_to(p, e->leg)));
    json_object_object_add(o, "exposure", json_object_new_int64((int64_t)i + 1));
    json_object_object_add(o, "exposure_id", json_object_new_string(e->shot.id));
    json_object_object_add(o, "site_id", json_object_new_int64(f->site->site_id));
    json_object_object_add(o, "name", json_object_new_string(f->site->name ? f->site->name : ""));
    json_object_object_add(o, "category", json_object_new_string(f->site->category));
    json_object_object_add(o, "distance_m", num_or_null(f->site->distance_m, 10));
    json_object_object_add(o, "gsd_m", num_or_null(f->gsd_m, 1e4));
    json_object_object_add(o, "min_gsd_m", num_or_null(f->site->min_gsd_m, 1e4));
    json_object_object_add(o, "rule", json_object_new_string(f->rule));
    OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
    OGR_G_SetPoint_2D(pt, 0, f->site->nearest_lon, f->site->nearest_lat);
    int ok = write_geom(w, o, pt);
    OGR_G_DestroyGeometry(pt);
    return ok;
}

static int write_conflicts(out_writer *w, const plan_eval *p) {
    int ok = 1;
    for (size_t i = 0; ok && i < ko_exposures_count(p->ex); i++)
        for (size_t k = 0; ok && k < ko_result_count(p->res[i]); k++) {
            const ko_finding *f = ko_result_finding(p->res[i], k);
            if (f->disclosed) ok = write_conflict(w, p, i, f);
        }
    return ok;
}

int report_features(out_writer *w, const plan_eval *p) {
    if (w->format == OUT_CSV) return write_conflicts(w, p);
    int ok = write_route(w, p);
    for (size_t l = 0; ok && l < p->n_legs; l++)
        ok = write_leg(w, p, l);
    for (size_t i = 0; ok && i < ko_exposures_count(p->ex); i++)
        ok = write_exposure(w, p, i);
    return ok && write_conflicts(w, p);
}

/* ------------------------------------------------------------------------------------------ */

/* The exposure label of a conflict: "#N id". */
static void exposure_label(const plan_eval *p, size_t i, char *buf, size_t n) {
    snprintf(buf, n, "#%zu %s", i + 1, ko_exposures_get(p->ex, i)->shot.id);
}

static void table_conflicts(FILE *fp, const plan_eval *p) {
    /* the exposure column as wide as its longest label (it cut them at 24 characters: a
     * conflict's exposure could not be told from its neighbours') */
    int ew = 8;
    char exp[128];
    for (size_t i = 0; i < ko_exposures_count(p->ex); i++) {
        exposure_label(p, i, exp, sizeof exp);
        int len = (int)strlen(exp);
        if (len > ew) ew = len;
    }
    fprintf(fp, "  %-4s %-11s %-*s %-30s %-12s %8s %8s\n", "leg", "waypoints", ew, "exposure",
            "site", "category", "dist m", "GSD m");
    for (size_t i = 0; i < ko_exposures_count(p->ex); i++)
        for (size_t k = 0; k < ko_result_count(p->res[i]); k++) {
            const ko_finding *f = ko_result_finding(p->res[i], k);
            if (!f->disclosed) continue;
            const ko_exposure *e = ko_exposures_get(p->ex, i);
            char wps[32];
            snprintf(wps, sizeof wps, "%d->%d", plan_leg_from(p, e->leg), plan_leg_to(p, e->leg));
            exposure_label(p, i, exp, sizeof exp);
            /* names from the plan and the store reach the terminal only escaped (out_text) */
            fprintf(fp, "  %-4zu %-11s ", e->leg + 1, wps);
            out_text(fp, exp, ew);
            fputc(' ', fp);
            out_text(fp, f->site->name, 30);
            fputc(' ', fp);
            out_text(fp, f->site->category, 12);
            fprintf(fp, " %8.1f %8.3f\n", f->site->distance_m, f->gsd_m);
        }
}

static void table_unknown(FILE *fp, const plan_eval *p) {
    size_t shown = 0;
    for (size_t i = 0; i < ko_exposures_count(p->ex) && shown < 5; i++) {
        if (ko_result_verdict(p->res[i]) != KO_UNKNOWN) continue;
        fprintf(fp, "  unknown #%zu: ", i + 1);
        out_text(fp, ko_result_reason(p->res[i]), -1);
        fputc('\n', fp);
        shown++;
    }
    if (p->unknown > shown) fprintf(fp, "  ... %zu more unknown\n", p->unknown - shown);
}

int report_table(FILE *fp, const plan_eval *p) {
    ko_verdict v = p->unknown ? KO_UNKNOWN : p->flagged ? KO_FLAGGED : KO_CLEAR;
    out_text(fp, ko_route_path(p->rt), -1);
    fprintf(fp, " (%s): %zu waypoints, %zu legs, %zu exposures: %s\n", ko_route_format(p->rt),
            ko_route_waypoint_count(p->rt), p->n_legs, ko_exposures_count(p->ex),
            ko_verdict_str(v));
    if (*ko_exposures_note(p->ex)) {
        fputs("  note: ", fp);
        out_text(fp, ko_exposures_note(p->ex), -1);
        fputc('\n', fp);
    }
    if (p->flagged) table_conflicts(fp, p);
    if (p->unknown) table_unknown(fp, p);
    for (size_t l = 0; l < p->n_legs; l++) {
        if (p->leg_verdict[l] != KO_FLAGGED) continue;
        char text[512];
        remedy_text(p, l, text, sizeof text);
        fprintf(fp, "  leg %zu (WP %d->%d) captures a site: ", l + 1, plan_leg_from(p, l),
                plan_leg_to(p, l));
        out_text(fp, text, -1);
        fputc('\n', fp);
    }
    return !ferror(fp);
}
