/* keepout route: one evaluated plan, shared by the command (cmd_route.c), its reports
 * (route_report.c) and its map (route_map.c). */
#ifndef KEEPOUT_CLI_ROUTE_H
#define KEEPOUT_CLI_ROUTE_H

#include <ogr_api.h>
#include <stdio.h>

#include "html_map.h"
#include "keepout/keepout.h"
#include "output.h"

/* A plan after checking (the library's ko_plan) with what the reports and the map read from
 * it: every exposure's result, and per leg its verdict and swept footprint. Owns everything it
 * points to (plan_free). */
typedef struct plan_eval {
    ko_route *rt;
    ko_exposures *ex;
    ko_plan *plan;
    const ko_result **res; /* one per exposure, borrowed from plan */
    size_t n_legs;
    ko_verdict *leg_verdict;
    OGRGeometryH *swept; /* per leg, WGS84 lon/lat; NULL where the leg has no footprint */
    size_t flagged, unknown, clear; /* exposures */
} plan_eval;

void plan_free(plan_eval *p);

/* The leg's end waypoints as the planning app numbers them. */
int plan_leg_from(const plan_eval *p, size_t leg);
int plan_leg_to(const plan_eval *p, size_t leg);

/* The route as an OGR line string (lon/lat), owned by the caller. */
OGRGeometryH plan_route_line(const plan_eval *p);

/* Reports: a terminal table, or features (route, legs with swept footprints, exposures,
 * conflicts) through the out_writer. Return 0 on a write error. */
int report_table(FILE *fp, const plan_eval *p);
int report_features(out_writer *w, const plan_eval *p);

/* The plan's route, legs, exposures and conflicts (and the sites they show) on an HTML map.
 * 0 if out of memory. */
int report_html(html_map *m, const plan_eval *p);

/* A self-contained SVG map of the plans: route, footprints, sites in view, conflicts, scale
 * bar, north arrow, legend. Site geometries come from the store. Returns 0 (message on
 * stderr) on failure. */
int map_write(const char *path, ko_sites *sites, const plan_eval *plans, size_t n);

#endif
