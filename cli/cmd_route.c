/* keepout route: pre-flight check of planned missions (what the camera will see). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_progress.h>
#include <cpl_vsi.h>

#include "commands.h"
#include "inputs.h"
#include "route_cli.h"

static void help(FILE *fp) {
    fprintf(fp,
            "usage: keepout route [options] PLAN...\n\n"
            "Says, before take-off, which legs and photos of a planned mission would capture a\n"
            "protected site: the footprint of every exposure is computed from the plan's\n"
            "positions, heights, headings, gimbal and zoom, and checked against the site store.\n\n"
            "PLAN is a DJI WPML mission (.kmz from DJI Pilot 2 / Fly, waylines.wpml,\n"
            "template.kml), a Litchi mission CSV, a QGroundControl .plan, a MAVLink 'QGC WPL 110'\n"
            "file, or a KML/GPX/GeoJSON line (then give --camera, --height, --gimbal-pitch).\n\n"
            "options:\n"
            "  --db FILE            site store (default: $KEEPOUT_SITES, else the bundled sample)\n"
            "  --camera SPEC        the camera, where the plan does not describe it:\n"
            "                         focal35=24[,size=4000x3000]   35 mm-equivalent focal length\n"
            "                         MAKE/MODEL,focal=8.8           a camera-table entry\n"
            "                                                         (e.g. DJI/FC6310,focal=8.8)\n"
            "                         focal=8.8,sensor=13.2x8.8[,size=5472x3648]\n"
            "  --gimbal-pitch DEG   override the plan's gimbal pitch (-90 = nadir)\n"
            "  --height M           override: fly every waypoint M metres above take-off\n"
            "  --takeoff-alt M      ground altitude at take-off (EGM96 m), for plans with\n"
            "                       absolute heights that do not state their take-off point\n"
            "  --spacing M          sample video and plans without capture actions every M\n"
            "                       metres (default 10)\n"
            "  --continuous         the camera records video over the whole route\n"
            "  --buffer M           widen every footprint by M metres (GPS and wind drift)\n"
            "  --dem RASTER         terrain: cast rays onto this elevation model (repeatable)\n"
            "  --max-range M        cut rays at M metres of ground distance (default 2000)\n"
            "  --format F           table (default on a terminal), geojson (default otherwise),\n"
            "                       jsonl or csv (conflicts only)\n"
            "  -o, --output FILE    write the report there (.gpkg, .fgb, .shp: that format,\n"
            "                       through OGR)\n"
            "  --map FILE.svg       draw route, footprints, sites and conflicts as an SVG map\n"
            "  --unknown-is V       exit status treats unknown as 'flagged' (default) or 'clear'\n"
            "  -q, --quiet          no progress or summary on standard error\n"
            "  -h, --help           this text\n\n"
            "Remedies: for every leg that captures a site, keepout searches the gimbal pitch\n"
            "and the height change nearest the plan's that keep the leg but clear it; else the\n"
            "leg's exposures must be skipped.\n\n"
            "Exit status: 0 every exposure clear; 1 something flagged or unknown (or a plan\n"
            "that cannot be read); 2 usage error or unusable site store.\n");
}

typedef struct route_run {
    ko_context *ctx;
    ko_sites *sites;
    const char *db;
    ko_check_options copts; /* copts.footprint points at fopts */
    ko_footprint_options fopts;
    ko_route_options ropts; /* ropts.camera points at camera once one is given */
    ko_camera camera;
    const char *camera_spec, *map_path;
    char **dems;
    size_t n_dems;
    ko_dem *dem;
    int quiet, unknown_is_clear, progress;
    int indexed; /* the packed index is loaded */
} route_run;

static int parse_number(const char *opt, const char *s, double lo, double hi, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (errno || end == s || *end || !(*v >= lo && *v <= hi)) {
        fprintf(stderr, "keepout route: %s needs a number in [%g, %g], not '%s'\n", opt, lo, hi, s);
        return 0;
    }
    return 1;
}

static int parse_pair(const char *s, double *a, double *b) {
    char *end;
    *a = strtod(s, &end);
    if (end == s || (*end != 'x' && *end != 'X')) return 0;
    const char *t = end + 1;
    *b = strtod(t, &end);
    return end != t && (*end == '\0' || *end == ',') && *a > 0 && *b > 0;
}

/* --camera SPEC: comma-separated key=value items and optionally a MAKE/MODEL table entry. */
static int parse_camera(ko_context *ctx, const char *spec, ko_camera *cam) {
    double focal = NAN, focal35 = NAN, sw = NAN, sh = NAN, w = 4000, h = 3000;
    char model[256] = "";
    char *copy = strdup(spec), *save = NULL;
    if (!copy) return 0;
    int ok = 1;
    for (char *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        if (!strncmp(tok, "focal35=", 8))
            ok = (focal35 = strtod(tok + 8, NULL)) > 0;
        else if (!strncmp(tok, "focal=", 6))
            ok = (focal = strtod(tok + 6, NULL)) > 0;
        else if (!strncmp(tok, "sensor=", 7))
            ok = parse_pair(tok + 7, &sw, &sh);
        else if (!strncmp(tok, "size=", 5))
            ok = parse_pair(tok + 5, &w, &h);
        else if (!strchr(tok, '=') && strchr(tok, '/') && !*model)
            snprintf(model, sizeof model, "%s", tok);
        else
            ok = 0;
    }
    free(copy);
    if (!ok) {
        fprintf(stderr, "keepout route: --camera '%s': see 'keepout route --help' for the form\n",
                spec);
        return 0;
    }
    ko_camera_init(cam);
    cam->width_px = (uint32_t)w;
    cam->height_px = (uint32_t)h;
    if (*model) {
        char *slash = strchr(model, '/');
        *slash = '\0';
        if (ko_camera_lookup(ctx, model, slash + 1, cam) != KO_OK) {
            fprintf(stderr, "keepout route: --camera: %s\n", ko_errmsg(ctx));
            return 0;
        }
        if (isnan(focal)) {
            fprintf(stderr, "keepout route: --camera %s: add the focal length, e.g. ,focal=8.8\n",
                    spec);
            return 0;
        }
        cam->focal_mm = focal;
        return 1;
    }
    if (!isnan(focal35))
        return ko_camera_from_focal35(focal35, cam->width_px, cam->height_px, cam) == KO_OK;
    if (!isnan(focal) && !isnan(sw)) {
        cam->focal_mm = focal;
        cam->sensor_w_mm = sw;
        cam->sensor_h_mm = sh;
        return 1;
    }
    fprintf(stderr,
            "keepout route: --camera '%s': give focal35=, MAKE/MODEL,focal= or "
            "focal=,sensor=\n",
            spec);
    return 0;
}

enum {
    O_DB = 256,
    O_FORMAT,
    O_CAMERA,
    O_PITCH,
    O_HEIGHT,
    O_TAKEOFF,
    O_SPACING,
    O_CONTINUOUS,
    O_BUFFER,
    O_DEM,
    O_MAX_RANGE,
    O_MAP,
    O_UNKNOWN_IS
};

static int parse_option(route_run *r, int c, const char *arg) {
    double v;
    switch (c) {
        case O_DB:
            r->db = arg;
            return 1;
        case O_CAMERA:
            r->camera_spec = arg;
            return 1;
        case O_PITCH:
            return parse_number("--gimbal-pitch", arg, -90, 30, &r->ropts.gimbal_pitch_deg);
        case O_HEIGHT:
            return parse_number("--height", arg, 0.5, 10000, &r->ropts.height_m);
        case O_TAKEOFF:
            return parse_number("--takeoff-alt", arg, -500, 9000, &r->ropts.takeoff_alt_m);
        case O_SPACING:
            return parse_number("--spacing", arg, 0.5, 10000, &r->ropts.spacing_m);
        case O_CONTINUOUS:
            r->ropts.continuous = 1;
            return 1;
        case O_BUFFER:
            return parse_number("--buffer", arg, 0, 10000, &r->copts.margin_m);
        case O_DEM:
            if (strlist_add(&r->dems, &r->n_dems, arg)) return 1;
            fprintf(stderr, "keepout route: out of memory\n");
            return 0;
        case O_MAX_RANGE:
            if (!parse_number("--max-range", arg, 1, 1e6, &v)) return 0;
            r->fopts.max_range_m = v;
            return 1;
        case O_MAP:
            r->map_path = arg;
            return 1;
        case O_UNKNOWN_IS:
            if (strcmp(arg, "clear") && strcmp(arg, "flagged")) {
                fprintf(stderr, "keepout route: --unknown-is must be clear or flagged\n");
                return 0;
            }
            r->unknown_is_clear = !strcmp(arg, "clear");
            return 1;
        case 'q':
            r->quiet = 1;
            return 1;
    }
    help(stderr);
    return 0;
}

/* Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, route_run *r, out_format *fmt, int *fmt_set,
                      const char **outpath) {
    static const struct option longopts[] = {{"db", required_argument, NULL, O_DB},
                                             {"format", required_argument, NULL, O_FORMAT},
                                             {"output", required_argument, NULL, 'o'},
                                             {"camera", required_argument, NULL, O_CAMERA},
                                             {"gimbal-pitch", required_argument, NULL, O_PITCH},
                                             {"height", required_argument, NULL, O_HEIGHT},
                                             {"takeoff-alt", required_argument, NULL, O_TAKEOFF},
                                             {"spacing", required_argument, NULL, O_SPACING},
                                             {"continuous", no_argument, NULL, O_CONTINUOUS},
                                             {"buffer", required_argument, NULL, O_BUFFER},
                                             {"dem", required_argument, NULL, O_DEM},
                                             {"max-range", required_argument, NULL, O_MAX_RANGE},
                                             {"map", required_argument, NULL, O_MAP},
                                             {"unknown-is", required_argument, NULL, O_UNKNOWN_IS},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        if (c == 'h') {
            help(stdout);
            return EXIT_CLEAR;
        }
        if (c == 'o') {
            *outpath = optarg;
        } else if (c == O_FORMAT) {
            if (!out_parse_format(optarg, fmt)) {
                fprintf(stderr, "keepout route: --format must be table, geojson, jsonl or csv\n");
                return EXIT_USAGE;
            }
            *fmt_set = 1;
        } else if (!parse_option(r, c, optarg)) {
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "keepout route: no plan given (try 'keepout route --help')\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------ */

void plan_free(plan_eval *p) {
    size_t n = ko_exposures_count(p->ex);
    for (size_t i = 0; p->res && i < n; i++)
        ko_result_destroy(p->res[i]);
    for (size_t i = 0; p->swept && i < p->n_legs; i++)
        if (p->swept[i]) OGR_G_DestroyGeometry(p->swept[i]);
    free(p->res);
    free(p->swept);
    free(p->leg_verdict);
    free(p->remedy);
    ko_exposures_destroy(p->ex);
    ko_route_destroy(p->rt);
    memset(p, 0, sizeof *p);
}

int plan_leg_from(const plan_eval *p, size_t leg) {
    const ko_waypoint *w = ko_route_waypoint(p->rt, leg);
    return w ? w->number : 0;
}

int plan_leg_to(const plan_eval *p, size_t leg) {
    const ko_waypoint *w = ko_route_waypoint(p->rt, leg + 1);
    return w ? w->number : plan_leg_from(p, leg);
}

OGRGeometryH plan_route_line(const plan_eval *p) {
    OGRGeometryH line = OGR_G_CreateGeometry(wkbLineString);
    for (size_t i = 0; line && i < ko_route_waypoint_count(p->rt); i++) {
        const ko_waypoint *w = ko_route_waypoint(p->rt, i);
        OGR_G_AddPoint_2D(line, w->lon, w->lat);
    }
    return line;
}

static OGRGeometryH ring_polygon(const ko_footprint *fp) {
    size_t n = 0;
    const double *ring = ko_footprint_ring(fp, &n);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon), lr = OGR_G_CreateGeometry(wkbLinearRing);
    for (size_t i = 0; i < n; i++)
        OGR_G_AddPoint_2D(lr, ring[2 * i], ring[2 * i + 1]);
    OGR_G_AddGeometryDirectly(poly, lr);
    return poly;
}

/* The ground a leg sweeps: where the camera records continuously, the hulls of consecutive
 * footprints (the ground passing between two samples); else the photos' footprints. */
static OGRGeometryH sweep_leg(const plan_eval *p, size_t leg) {
    OGRGeometryH parts = OGR_G_CreateGeometry(wkbMultiPolygon), prev = NULL;
    size_t n = ko_exposures_count(p->ex);
    for (size_t i = 0; i < n; i++) {
        const ko_exposure *e = ko_exposures_get(p->ex, i);
        const ko_footprint *fp = ko_result_footprint(p->res[i]);
        if (e->leg != leg || !fp) continue;
        OGRGeometryH poly = ring_polygon(fp);
        if (prev && e->trigger == KO_TRIGGER_CONTINUOUS) {
            OGRGeometryH pair = OGR_G_Union(prev, poly), hull = OGR_G_ConvexHull(pair);
            OGR_G_DestroyGeometry(pair);
            if (hull) OGR_G_AddGeometryDirectly(parts, hull);
        }
        OGR_G_AddGeometry(parts, poly);
        if (prev) OGR_G_DestroyGeometry(prev);
        prev = poly;
    }
    if (prev) OGR_G_DestroyGeometry(prev);
    OGRGeometryH swept = OGR_G_GetGeometryCount(parts) ? OGR_G_UnionCascaded(parts) : NULL;
    OGR_G_DestroyGeometry(parts);
    return swept;
}

static int alloc_plan(plan_eval *p) {
    size_t n = ko_exposures_count(p->ex), wps = ko_route_waypoint_count(p->rt);
    p->n_legs = wps > 1 ? wps - 1 : 1;
    p->res = calloc(n ? n : 1, sizeof *p->res);
    p->leg_verdict = calloc(p->n_legs, sizeof *p->leg_verdict);
    p->swept = calloc(p->n_legs, sizeof *p->swept);
    p->remedy = calloc(p->n_legs, sizeof *p->remedy);
    if (!p->res || !p->leg_verdict || !p->swept || !p->remedy) return 0;
    for (size_t l = 0; l < p->n_legs; l++)
        p->remedy[l].pitch_deg = p->remedy[l].height_m = NAN;
    return 1;
}

/* Checks every exposure. Returns 1, 0 for a failed store (exit 2), -1 out of memory. */
static int check_exposures(route_run *r, plan_eval *p) {
    size_t n = ko_exposures_count(p->ex);
    for (size_t i = 0; i < n; i++) {
        const ko_exposure *e = ko_exposures_get(p->ex, i);
        if (ko_check_shot(r->ctx, r->sites, &e->shot, &r->copts, &p->res[i]) != KO_OK) {
            fprintf(stderr, "keepout route: site store %s failed: %s\n", r->db, ko_errmsg(r->ctx));
            return 0;
        }
        ko_verdict v = ko_result_verdict(p->res[i]);
        p->flagged += v == KO_FLAGGED;
        p->unknown += v == KO_UNKNOWN;
        p->clear += v == KO_CLEAR;
        size_t leg = e->leg < p->n_legs ? e->leg : p->n_legs - 1;
        p->leg_verdict[leg] = ko_verdict_worst(p->leg_verdict[leg], v);
        if (r->progress && (i % 64 == 0 || i + 1 == n))
            GDALTermProgress(0.9 * (double)(i + 1) / (double)n, NULL, NULL);
    }
    return 1;
}

/* The packed index once the queries to come call for it (ko_sites_prepare()): a 10-photo
 * plan against a national store starts at once, a survey loads it. */
static int want_index(route_run *r, double queries) {
    if (r->indexed || ko_sites_prepare(r->sites, queries, &r->indexed) == KO_OK) return 1;
    fprintf(stderr, "keepout route: site store: %s\n", ko_errmsg(r->ctx));
    return 0;
}

/* A remedy re-checks a leg's exposures for up to a few hundred candidate poses. */
#define REMEDY_QUERIES_PER_EXPOSURE 300.0

static int evaluate(route_run *r, plan_eval *p) {
    if (!alloc_plan(p)) {
        fprintf(stderr, "keepout route: out of memory\n");
        return 0;
    }
    double n = (double)ko_exposures_count(p->ex);
    if (!want_index(r, n) || !check_exposures(r, p)) return 0;
    for (size_t l = 0; l < p->n_legs; l++) {
        p->swept[l] = sweep_leg(p, l);
        if (p->leg_verdict[l] != KO_FLAGGED) continue;
        if (!want_index(r, REMEDY_QUERIES_PER_EXPOSURE * n)) return 0;
        if (ko_route_remedy(r->ctx, r->sites, p->ex, l, &r->copts, &p->remedy[l]) != KO_OK) {
            fprintf(stderr, "keepout route: site store %s failed: %s\n", r->db, ko_errmsg(r->ctx));
            return 0;
        }
    }
    if (r->progress) GDALTermProgress(1.0, NULL, NULL);
    return 1;
}

/* Reads and samples one plan. 1 done, 0 the plan cannot be used (message printed), -1 usage
 * (no camera). */
static int load_plan(route_run *r, const char *path, plan_eval *p) {
    if (ko_route_open(r->ctx, path, &p->rt) != KO_OK) {
        fprintf(stderr, "keepout route: %s\n", ko_errmsg(r->ctx));
        return 0;
    }
    ko_status st = ko_route_exposures(r->ctx, p->rt, &r->ropts, &p->ex);
    if (st) {
        fprintf(
            stderr, "keepout route: %s%s\n", ko_errmsg(r->ctx),
            st == KO_ERR_ARG ? "; give --camera focal35=MM or --camera MAKE/MODEL,focal=MM" : "");
        return st == KO_ERR_ARG ? -1 : 0;
    }
    if (!r->quiet && *ko_exposures_note(p->ex))
        fprintf(stderr, "keepout route: %s: %s\n", path, ko_exposures_note(p->ex));
    return 1;
}

static int open_store(route_run *r) {
    VSIStatBufL st;
    if (safe_stat(r->db, &st) != 0) {
        fprintf(stderr,
                "keepout route: site store %s does not exist; build one with 'keepout sites "
                "import --db %s SOURCE' or pass --db\n",
                r->db, r->db);
        return 0;
    }
    double limit;
    if (ko_sites_open(r->ctx, r->db, KO_SITES_READONLY, &r->sites) != KO_OK ||
        ko_sites_gsd_limit(r->sites, &limit) != KO_OK) {
        fprintf(stderr, "keepout route: cannot use site store %s: %s\n", r->db, ko_errmsg(r->ctx));
        return 0;
    }
    r->fopts.gsd_limit_m = limit;
    if (r->n_dems) {
        if (ko_dem_open_list(r->ctx, (const char *const *)r->dems, r->n_dems, &r->dem) != KO_OK) {
            fprintf(stderr, "keepout route: --dem: %s\n", ko_errmsg(r->ctx));
            return 0;
        }
        r->fopts.dem = r->dem;
    }
    return 1;
}

static const char *const csv_columns[] = {
    "source", "leg",      "from_wp",    "to_wp", "exposure",  "exposure_id", "site_id",
    "name",   "category", "distance_m", "gsd_m", "min_gsd_m", NULL};

/* Evaluates every plan and writes the reports. Returns the exit status. */
static int run_plans(route_run *r, int n, char **paths, out_format fmt, FILE *fp,
                     const char *ogr_path, const char *drv) {
    plan_eval *plans = calloc((size_t)n, sizeof *plans);
    if (!plans) return EXIT_USAGE;
    out_writer w;
    if (drv) {
        fmt = OUT_OGR;
        if (!out_begin_ogr(&w, "route", ogr_path, drv, "route", csv_columns)) {
            free(plans);
            return EXIT_USAGE;
        }
    } else if (fmt != OUT_TABLE) {
        out_begin(&w, fp, fmt, csv_columns);
    }
    int rc = EXIT_CLEAR, ok = 1;
    size_t done = 0;
    for (int i = 0; ok && i < n; i++) {
        int loaded = load_plan(r, paths[i], &plans[done]);
        if (loaded < 0) rc = EXIT_USAGE;
        if (loaded <= 0) {
            if (rc != EXIT_USAGE) rc = EXIT_FLAGGED; /* an unreadable plan is not clear */
            plan_free(&plans[done]);
            ok = loaded == 0;
            continue;
        }
        plan_eval *p = &plans[done++];
        if (!evaluate(r, p)) {
            rc = EXIT_USAGE;
            break;
        }
        ok = fmt == OUT_TABLE ? report_table(fp, p) : report_features(&w, p);
        if (!ok) fprintf(stderr, "keepout route: write error\n");
        ko_release_policy pol; /* the library's policy, strict, with --unknown-is */
        ko_release_policy_init(&pol);
        pol.unknown_is = r->unknown_is_clear ? KO_CLEAR : KO_UNKNOWN;
        if (ko_release_decide_batch(&pol, p->clear, p->flagged, p->unknown, 0, NULL) != KO_RELEASE)
            rc = rc == EXIT_USAGE ? rc : EXIT_FLAGGED;
        if (!r->quiet)
            fprintf(stderr,
                    "keepout route: %s: %zu exposures: %zu clear, %zu flagged, %zu unknown\n",
                    paths[i], ko_exposures_count(p->ex), p->clear, p->flagged, p->unknown);
    }
    if (fmt != OUT_TABLE && !out_end(&w)) ok = 0;
    if (ok && r->map_path && done && !map_write(r->map_path, r->sites, plans, done)) ok = 0;
    if (!ok && rc != EXIT_USAGE) rc = EXIT_USAGE;
    for (size_t i = 0; i < done; i++)
        plan_free(&plans[i]);
    free(plans);
    return rc;
}

int cmd_route(int argc, char **argv) {
    route_run r = {0};
    ko_check_options_init(&r.copts);
    ko_footprint_options_init(&r.fopts);
    r.copts.footprint = &r.fopts;
    ko_route_options_init(&r.ropts);
    r.db = ko_sites_default(1);
    out_format fmt = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_GEOJSON;
    int fmt_set = 0;
    const char *outpath = NULL;
    int rc = parse_args(argc, argv, &r, &fmt, &fmt_set, &outpath);
    if (rc >= 0) {
        strlist_free(r.dems);
        return rc;
    }
    if (outpath && !fmt_set) fmt = OUT_GEOJSON;
    rc = EXIT_USAGE;
    FILE *fp = NULL;
    if (ko_context_create(&r.ctx) != KO_OK) {
        fprintf(stderr, "keepout route: cannot create a context (out of memory?)\n");
        goto done;
    }
    if (r.camera_spec) {
        if (!parse_camera(r.ctx, r.camera_spec, &r.camera)) goto done;
        r.ropts.camera = &r.camera;
    }
    /* -o x.gpkg (.fgb, .shp, ...): through OGR, as ogr2ogr picks the format */
    const char *drv;
    if (!out_ogr_target("route", outpath, fmt_set, &drv)) goto done;
    if (!open_store(&r)) goto done;
    if (!drv && !(fp = outpath ? fopen(outpath, "w") : stdout)) {
        fprintf(stderr, "keepout route: cannot write %s: %s\n", outpath, strerror(errno));
        goto done;
    }
    r.progress = !r.quiet && isatty(STDERR_FILENO);
    rc = run_plans(&r, argc - optind, argv + optind, fmt, fp, outpath, drv);
done:
    if (fp && fp != stdout) fclose(fp);
    ko_sites_close(r.sites);
    ko_dem_close(r.dem);
    ko_context_destroy(r.ctx);
    strlist_free(r.dems);
    return rc;
}
