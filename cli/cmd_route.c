/* keepout route: pre-flight check of planned missions (what the camera will see). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
            "                                                         (DJI/XT2,size=640x512:\n"
            "                                                         size= picks the sensor)\n"
            "                         focal=8.8,sensor=13.2x8.8[,size=5472x3648]\n"
            "                         NAME[,focal=13]                a camera by name: \"DJI "
            "FC6310R\",\n"
            "                                                         \"Mavic 3E\", \"Zenmuse H20T "
            "wide\"\n"
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
            "  -o, --output FILE    write the report there in the format its extension names\n"
            "                       without --format: .geojson, .jsonl, .csv, or .gpkg, .fgb,\n"
            "                       .shp through OGR\n"
            "  --map FILE.html      a map to open in a browser (self-contained, no network):\n"
            "                       route, legs, footprints by verdict, conflicts, the sites\n"
            "                       named; FILE.svg: the same as an SVG drawing\n"
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
    for (size_t i = 0; p->swept && i < p->n_legs; i++)
        if (p->swept[i]) OGR_G_DestroyGeometry(p->swept[i]);
    free(p->res);
    free(p->swept);
    free(p->leg_verdict);
    ko_plan_destroy(p->plan);
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

static int term_progress(double complete, const char *message, void *user) {
    (void)message;
    (void)user;
    GDALTermProgress(complete, NULL, NULL);
    return 1;
}

/* Checks the plan (the library's ko_plan_check: exposures, legs, sweeps, remedies) and keeps
 * what the reports and the map read. Returns 1, 0 for a failed store (exit 2). */
static int evaluate(route_run *r, plan_eval *p) {
    if (ko_plan_check(r->ctx, r->sites, p->rt, p->ex, &r->copts, r->progress ? term_progress : NULL,
                      NULL, &p->plan) != KO_OK) {
        fprintf(stderr, "keepout route: site store %s failed: %s\n", r->db, ko_errmsg(r->ctx));
        return 0;
    }
    size_t n = ko_exposures_count(p->ex);
    p->n_legs = ko_plan_leg_count(p->plan);
    p->res = calloc(n ? n : 1, sizeof *p->res);
    p->leg_verdict = calloc(p->n_legs, sizeof *p->leg_verdict);
    p->swept = calloc(p->n_legs, sizeof *p->swept);
    if (!p->res || !p->leg_verdict || !p->swept) {
        fprintf(stderr, "keepout route: out of memory\n");
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        p->res[i] = ko_plan_result(p->plan, i);
    for (size_t l = 0; l < p->n_legs; l++) {
        p->leg_verdict[l] = ko_plan_leg_verdict(p->plan, l);
        const char *wkt = ko_plan_leg_wkt(p->plan, l);
        char *text = (char *)wkt;
        if (*wkt && OGR_G_CreateFromWkt(&text, NULL, &p->swept[l]) != OGRERR_NONE)
            p->swept[l] = NULL;
    }
    ko_plan_verdict(p->plan, &p->clear, &p->flagged, &p->unknown);
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

/* --map: an HTML page (FILE.html, FILE.htm) or an SVG drawing. 0 on failure (message printed). */
static int write_map(route_run *r, const plan_eval *plans, size_t n) {
    const char *dot = strrchr(r->map_path, '.');
    if (!dot || (strcasecmp(dot, ".html") && strcasecmp(dot, ".htm")))
        return map_write(r->map_path, r->sites, plans, n);
    html_map m = {0};
    for (size_t i = 0; i < n; i++)
        if (!report_html(&m, &plans[i])) {
            fprintf(stderr, "keepout route: out of memory for the map\n");
            html_map_free(&m);
            return 0;
        }
    return html_map_write(&m, "route", r->map_path, r->sites);
}

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
    if (ok && r->map_path && done && !write_map(r, plans, done)) ok = 0;
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
    rc = EXIT_USAGE;
    FILE *fp = NULL;
    if (ko_context_create(&r.ctx) != KO_OK) {
        fprintf(stderr, "keepout route: cannot create a context (out of memory?)\n");
        goto done;
    }
    if (r.camera_spec) {
        if (ko_camera_from_spec(r.ctx, r.camera_spec, &r.camera) != KO_OK) {
            fprintf(stderr, "keepout route: --camera: %s (see 'keepout route --help')\n",
                    ko_errmsg(r.ctx));
            goto done;
        }
        r.ropts.camera = &r.camera;
    }
    /* -o x.gpkg (.fgb, .shp, ...): through OGR, as ogr2ogr picks the format */
    const char *drv;
    if (!out_ogr_target("route", outpath, fmt_set, &fmt, &drv)) goto done;
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
