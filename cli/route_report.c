/* keepout route reports: a terminal table, and features (route, legs, exposures, conflicts)
 * for geojson, jsonl and csv. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>

#include "route_cli.h"

/* The library's record i of the layer (ko_plan_record): its properties as a JSON object (the
 * caller's), or NULL out of memory. */
static json_object *record(const plan_eval *p, ko_plan_layer layer, size_t i) {
    char *text = NULL;
    if (ko_plan_record(NULL, p->plan, layer, i, &text, NULL) != KO_OK) return NULL;
    json_object *o = json_tokener_parse(text);
    ko_free(text);
    return o;
}

static json_object *geom_json(OGRGeometryH g) {
    if (!g) return NULL;
    char *text = OGR_G_ExportToJson(g);
    json_object *o = text ? json_tokener_parse(text) : NULL;
    CPLFree(text);
    return o;
}

static int write_geom(out_writer *w, json_object *props, OGRGeometryH g) {
    if (!props) return 0;
    char *wkt = NULL;
    if (g && w->format == OUT_CSV) OGR_G_ExportToWkt(g, &wkt);
    int ok = out_feature(w, props, w->format == OUT_CSV ? NULL : geom_json(g), wkt);
    CPLFree(wkt);
    json_object_put(props);
    return ok;
}

static int write_route(out_writer *w, const plan_eval *p) {
    OGRGeometryH line = plan_route_line(p);
    int ok = write_geom(w, record(p, KO_PLAN_ROUTE, 0), line);
    OGR_G_DestroyGeometry(line);
    return ok;
}

static int write_leg(out_writer *w, const plan_eval *p, size_t l) {
    return write_geom(w, record(p, KO_PLAN_LEGS, l), p->swept[l]);
}

static int write_exposure(out_writer *w, const plan_eval *p, size_t i) {
    json_object *o = record(p, KO_PLAN_EXPOSURES, i);
    int ok = o && out_record(w, o, ko_result_footprint(p->res[i]));
    json_object_put(o);
    return ok;
}

static int write_conflicts(out_writer *w, const plan_eval *p) {
    int ok = 1;
    size_t c = 0;
    for (size_t i = 0; ok && i < ko_exposures_count(p->ex); i++)
        for (size_t k = 0; ok && k < ko_result_count(p->res[i]); k++) {
            const ko_finding *f = ko_result_finding(p->res[i], k);
            if (!f->disclosed) continue;
            /* the library's conflicts are the disclosed findings in this order */
            OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
            OGR_G_SetPoint_2D(pt, 0, f->site->nearest_lon, f->site->nearest_lat);
            ok = write_geom(w, record(p, KO_PLAN_CONFLICTS, c++), pt);
            OGR_G_DestroyGeometry(pt);
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

/* The plan on an HTML map: the route line, legs (swept ground), exposures (footprints) and
 * conflicts, each with its record's properties, and the sites they show. */
int report_html(html_map *m, const plan_eval *p) {
    OGRGeometryH line = plan_route_line(p);
    json_object *o = record(p, KO_PLAN_ROUTE, 0);
    int ok = o && html_map_add_feature(m, o, geom_json(line));
    json_object_put(o);
    OGR_G_DestroyGeometry(line);
    for (size_t l = 0; ok && l < p->n_legs; l++) {
        o = record(p, KO_PLAN_LEGS, l);
        ok = o && html_map_add_feature(m, o, geom_json(p->swept[l]));
        json_object_put(o);
    }
    for (size_t i = 0; ok && i < ko_exposures_count(p->ex); i++) {
        o = record(p, KO_PLAN_EXPOSURES, i);
        ok = o && html_map_add(m, o, p->res[i]);
        json_object_put(o);
    }
    size_t c = 0;
    for (size_t i = 0; ok && i < ko_exposures_count(p->ex); i++)
        for (size_t k = 0; ok && k < ko_result_count(p->res[i]); k++) {
            const ko_finding *f = ko_result_finding(p->res[i], k);
            if (!f->disclosed) continue;
            OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
            OGR_G_SetPoint_2D(pt, 0, f->site->nearest_lon, f->site->nearest_lat);
            o = record(p, KO_PLAN_CONFLICTS, c++);
            ok = o && html_map_add_feature(m, o, geom_json(pt));
            json_object_put(o);
            OGR_G_DestroyGeometry(pt);
        }
    return ok;
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
    ko_verdict v = ko_plan_verdict(p->plan, NULL, NULL, NULL);
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
        json_object *o = record(p, KO_PLAN_LEGS, l), *remedy = NULL;
        fprintf(fp, "  leg %zu (WP %d->%d) captures a site: ", l + 1, plan_leg_from(p, l),
                plan_leg_to(p, l));
        out_text(
            fp,
            json_object_object_get_ex(o, "remedy", &remedy) ? json_object_get_string(remedy) : "",
            -1);
        fputc('\n', fp);
        json_object_put(o);
    }
    return !ferror(fp);
}
