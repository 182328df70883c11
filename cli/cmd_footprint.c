/* keepout footprint: one footprint record per photo, frame or telemetry row. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "keepout/keepout.h"
#include "output.h"
#include "progress.h"
#include "reader_opts.h"

static const char *const csv_columns[] = {"id",     "source",  "time",          "status",
                                          "reason", "area_m2", "range_limit_m", NULL};
static const char *const csv_columns_dem[] = {
    "id",      "source",        "time",          "status",       "reason",
    "area_m2", "range_limit_m", "height_source", "camera_alt_m", "ground_alt_m",
    NULL};

/* Most --dem options one run takes (tiles of one archive). */
#define MAX_DEMS 4096

static void help(FILE *fp) {
    fprintf(
        fp,
        "usage: keepout footprint [options] INPUT...\n\n"
        "Computes the ground footprint of every input: a JPEG photo (EXIF/XMP), a directory of\n"
        "them, a DJI .SRT video telemetry file, or a telemetry CSV (columns\n"
        "lat,lon,height,yaw,pitch,roll plus focal_mm,sensor_w_mm,sensor_h_mm or focal35_mm;\n"
        "see docs/DESIGN.md). Without --dem the ground is flat at take-off level.\n\n"
        "options:\n"
        "  --format F        geojson (default), jsonl or csv\n"
        "  -o, --output FILE write there instead of standard output, in the format its\n"
        "                    extension names without --format: .geojson, .jsonl, .csv, or\n"
        "                    .gpkg, .fgb, .shp through OGR\n"
        "  --max-range M     cut rays at M metres of ground distance (default 2000)\n"
        "  --gsd-limit M     also cut where a pixel covers more than M metres (default 2)\n"
        "  --edge-samples N  boundary samples per image edge (default 128)\n"
        "  --tolerance M     how far the ring may stray outward from those samples to need\n"
        "                    fewer vertices (default: half a pixel on the ground below the\n"
        "                    camera; 0: every sample not on a straight line is kept)\n"
        "  --dem RASTER      cast rays onto this elevation model (any GDAL raster: GeoTIFF,\n"
        "                    SRTM .hgt, /vsizip/..., VRT; any CRS). Repeat it for the tiles\n"
        "                    of one DEM: they are mosaicked (same CRS and band type)\n" READER_HELP
        "  -q, --quiet       no messages on standard error\n"
        "  -h, --help        this text\n\n"
        "Heights with --dem: the DEM's heights are taken on the vertical datum its file\n"
        "declares, else as EGM96 (orthometric, \"above mean sea level\"), as for SRTM.\n"
        "The camera's altitude is alt_ellipsoid (WGS84 ellipsoidal, converted to the DEM's\n"
        "datum with PROJ's egm96_15.gtx grid), else alt_msl (taken as EGM96), else the DEM\n"
        "at the take-off point plus height, DJI's height above take-off (height_source\n"
        "\"dem(takeoff)+height\"; take-off = the first frame of the flight: an SRT's first\n"
        "GPS fix, a CSV's first valid row or its takeoff_lat/takeoff_lon columns, in a\n"
        "directory the first photo of each run of one camera's photos less than 5 minutes\n"
        "apart), else the DEM under the camera plus height (\"dem+height\": a photo on its\n"
        "own). The record's reason says which, with the numbers. A camera below the\n"
        "terrain, no DEM data at the take-off point, or an absolute altitude whose height\n"
        "above the DEM differs from height by more than max(30 m, 50 %%), gives status\n"
        "\"unknown\" with the numbers: never a silent flat footprint. Rays that leave the\n"
        "DEM or cross nodata are cut at the range limit.\n\n"
        "A row that cannot give a reliable footprint (missing or implausible value) gets\n"
        "status \"unknown\" and a reason naming the row and field; the exit status is then 1.\n");
}

typedef struct run {
    ko_context *ctx;
    ko_footprint_options fopts;
    ko_reader_options ropts;
    out_writer out;
    int quiet;
    size_t n_ok, n_unknown, empty_inputs;
    progress prog;
} run;

static int parse_double(const char *s, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*v);
}

static json_object *shot_props(const ko_shot *s) {
    json_object *p = json_object_new_object();
    json_object_object_add(p, "id", json_object_new_string(s->id ? s->id : ""));
    json_object_object_add(p, "source", json_object_new_string(s->source ? s->source : ""));
    json_object_object_add(p, "time", s->time ? json_object_new_string(s->time) : NULL);
    for (size_t i = 0; i < s->n_extra; i++) {
        if (json_object_object_get_ex(p, s->extra_keys[i], NULL)) continue;
        json_object_object_add(p, s->extra_keys[i], json_object_new_string(s->extra_values[i]));
    }
    return p;
}

static int emit_unknown(run *r, json_object *p, const char *reason) {
    json_object_object_add(p, "status", json_object_new_string("unknown"));
    json_object_object_add(p, "reason", json_object_new_string(reason));
    r->n_unknown++;
    int ok = out_record(&r->out, p, NULL);
    json_object_put(p);
    return ok;
}

static int emit_shot(run *r, const ko_shot *s) {
    json_object *p = shot_props(s);
    if (s->reason) return emit_unknown(r, p, s->reason);
    ko_footprint *fp = NULL;
    if (ko_footprint_compute(r->ctx, &s->camera, &s->pose, &r->fopts, &fp) != KO_OK)
        return emit_unknown(r, p, ko_errmsg(r->ctx));
    json_object_object_add(p, "status", json_object_new_string("ok"));
    json_object_object_add(p, "area_m2", json_object_new_double(ko_footprint_area_m2(fp)));
    json_object_object_add(p, "range_limit_m",
                           json_object_new_double(ko_footprint_range_limit_m(fp)));
    json_object_object_add(p, "range_limited",
                           json_object_new_boolean(ko_footprint_is_range_limited(fp)));
    if (r->fopts.dem) {
        json_object_object_add(p, "reason", json_object_new_string(ko_footprint_altitude_note(fp)));
        json_object_object_add(p, "height_source",
                               json_object_new_string(ko_footprint_height_source(fp)));
        json_object_object_add(p, "camera_alt_m",
                               json_object_new_double(ko_footprint_camera_alt_m(fp)));
        json_object_object_add(p, "ground_alt_m",
                               json_object_new_double(ko_footprint_ground_alt_m(fp)));
    }
    int ok = out_record(&r->out, p, fp);
    r->n_ok++;
    json_object_put(p);
    ko_footprint_destroy(fp);
    return ok;
}

/* An input that cannot be read at all still gives a record: never a silent skip. */
static int run_input(run *r, const char *path) {
    ko_reader *rd = NULL;
    if (ko_reader_open(r->ctx, path, &r->ropts, &rd) != KO_OK) {
        progress_clear(&r->prog);
        if (!r->quiet) fprintf(stderr, "keepout: %s\n", ko_errmsg(r->ctx));
        json_object *p = json_object_new_object();
        json_object_object_add(p, "id", json_object_new_string(path));
        json_object_object_add(p, "source", json_object_new_string(path));
        return emit_unknown(r, p, ko_errmsg(r->ctx));
    }
    ko_shot shot;
    ko_status st;
    int ok = 1;
    size_t before = r->n_ok + r->n_unknown;
    while (ok && (st = ko_reader_next(rd, &shot)) == KO_OK) {
        ok = emit_shot(r, &shot);
        progress_step(&r->prog, 1);
    }
    if (ok && st != KO_DONE) {
        progress_clear(&r->prog);
        if (!r->quiet) fprintf(stderr, "keepout: %s\n", ko_errmsg(r->ctx));
        json_object *p = json_object_new_object();
        json_object_object_add(p, "id", json_object_new_string(path));
        json_object_object_add(p, "source", json_object_new_string(path));
        ok = emit_unknown(r, p, ko_errmsg(r->ctx));
    }
    /* An input with no record at all (an empty folder, only files keepout does not read) is
     * an error: a mistyped path must not pass as done. */
    if (ok && r->n_ok + r->n_unknown == before) {
        size_t skipped = ko_reader_skipped(rd);
        progress_clear(&r->prog);
        fprintf(stderr,
                "keepout footprint: %s: nothing to compute: %s (choose files with --include "
                "GLOB)\n",
                path,
                skipped ? "its files are neither JPEG photos nor .SRT/.csv telemetry"
                        : "no file in it");
        r->empty_inputs++;
    }
    ko_reader_close(rd);
    return ok;
}

int cmd_footprint(int argc, char **argv) {
    run r = {0};
    ko_footprint_options_init(&r.fopts);
    ko_reader_options_init(&r.ropts);
    out_format fmt = OUT_GEOJSON;
    int fmt_set = 0;
    const char *outpath = NULL;
    static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"max-range", required_argument, NULL, 'R'},
                                             {"gsd-limit", required_argument, NULL, 'G'},
                                             {"edge-samples", required_argument, NULL, 'E'},
                                             {"tolerance", required_argument, NULL, 'T'},
                                             {"dem", required_argument, NULL, 'D'},
                                             READER_LONGOPTS,
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    double v;
    const char **dems = NULL;
    size_t n_dems = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
            case 'f':
                if (!out_parse_format(optarg, &fmt) || fmt == OUT_TABLE) {
                    fprintf(stderr, "keepout footprint: --format must be geojson, jsonl or csv\n");
                    return EXIT_USAGE;
                }
                fmt_set = 1;
                break;
            case 'o':
                outpath = optarg;
                break;
            case 'R':
            case 'G':
                if (!parse_double(optarg, &v) || v <= 0) {
                    fprintf(stderr, "keepout footprint: --%s needs a positive number of metres\n",
                            c == 'R' ? "max-range" : "gsd-limit");
                    return EXIT_USAGE;
                }
                *(c == 'R' ? &r.fopts.max_range_m : &r.fopts.gsd_limit_m) = v;
                break;
            case 'E':
                if (!parse_double(optarg, &v) || v < 1 || v > 4096 || v != floor(v)) {
                    fprintf(stderr, "keepout footprint: --edge-samples needs 1..4096\n");
                    return EXIT_USAGE;
                }
                r.fopts.edge_samples = (uint32_t)v;
                break;
            case 'T':
                if (!parse_double(optarg, &v) || !(v >= 0) || !isfinite(v)) {
                    fprintf(stderr, "keepout footprint: --tolerance needs metres, 0 or more\n");
                    return EXIT_USAGE;
                }
                r.fopts.tolerance_m = v;
                break;
            case 'D':
                if (n_dems == MAX_DEMS) {
                    fprintf(stderr, "keepout footprint: more than %d --dem options\n", MAX_DEMS);
                    free(dems);
                    return EXIT_USAGE;
                }
                if (!dems && !(dems = calloc(MAX_DEMS, sizeof *dems))) {
                    fprintf(stderr, "keepout footprint: out of memory\n");
                    return EXIT_USAGE;
                }
                dems[n_dems++] = optarg;
                break;
            case 'q':
                r.quiet = 1;
                break;
            case 'h':
                free(dems);
                help(stdout);
                return EXIT_CLEAR;
            default: {
                int ro = reader_option(c, optarg, &r.ropts, "footprint");
                if (ro > 0) break;
                free(dems);
                if (!ro) help(stderr);
                return EXIT_USAGE;
            }
        }
    }
    if (optind >= argc) {
        free(dems);
        fprintf(stderr, "keepout footprint: no input given (try 'keepout footprint --help')\n");
        return EXIT_USAGE;
    }
    if (ko_context_create(&r.ctx) != KO_OK) {
        fprintf(stderr, "keepout footprint: cannot create a context (out of memory?)\n");
        free(dems);
        return EXIT_USAGE;
    }
    ko_dem *dem = NULL;
    if (n_dems) {
        ko_status st = ko_dem_open_list(r.ctx, dems, n_dems, &dem);
        free(dems);
        if (st != KO_OK) {
            fprintf(stderr, "keepout footprint: unusable DEM: %s\n", ko_errmsg(r.ctx));
            ko_context_destroy(r.ctx);
            return EXIT_USAGE;
        }
        r.fopts.dem = dem;
        r.ropts.below_takeoff = 1;
        if (!r.quiet)
            fprintf(stderr, "keepout footprint: DEM heights: %s\n", ko_dem_vertical_datum(dem));
    }
    /* -o x.gpkg (.fgb, .shp, ...): through OGR, as ogr2ogr picks the format */
    const char *drv;
    if (!out_ogr_target("footprint", outpath, fmt_set, &fmt, &drv)) {
        ko_dem_close(dem);
        ko_context_destroy(r.ctx);
        return EXIT_USAGE;
    }
    FILE *fp = drv ? NULL : outpath ? fopen(outpath, "w") : stdout;
    const char *const *cols = dem ? csv_columns_dem : csv_columns;
    if (drv ? !out_begin_ogr(&r.out, "footprint", outpath, drv, "footprints", cols) : !fp) {
        if (!drv)
            fprintf(stderr, "keepout footprint: cannot write %s: %s\n", outpath, strerror(errno));
        ko_dem_close(dem);
        ko_context_destroy(r.ctx);
        return EXIT_USAGE;
    }
    if (!drv) out_begin(&r.out, fp, fmt, cols);
    int ok = 1;
    /* not over records written to the same terminal */
    int on = progress_wanted(r.quiet) && !(fp == stdout && isatty(STDOUT_FILENO));
    double total = 0;
    for (int i = optind; on && i < argc; i++)
        total += ko_input_shots_estimate(r.ctx, argv[i], -1, &r.ropts);
    progress_start(&r.prog, "footprint", "shots", total, on);
    for (int i = optind; ok && i < argc; i++)
        ok = run_input(&r, argv[i]);
    progress_end(&r.prog);
    ok = out_end(&r.out) && ok;
    ko_dem_close(dem);
    ko_context_destroy(r.ctx);
    if (fp && outpath && fclose(fp) != 0) ok = 0;
    if (!ok) {
        fprintf(stderr, "keepout footprint: write error on %s\n", outpath ? outpath : "stdout");
        return EXIT_USAGE;
    }
    if (!r.quiet)
        fprintf(stderr, "keepout footprint: %zu footprint(s), %zu unknown\n", r.n_ok, r.n_unknown);
    reader_options_free(&r.ropts);
    if (r.empty_inputs) return EXIT_USAGE; /* run_input() said which */
    return r.n_unknown ? EXIT_FLAGGED : EXIT_CLEAR;
}
