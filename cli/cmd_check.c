/* keepout check: verdicts for images, directories, telemetry CSV and SRT files. */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include "commands.h"
#include "html_map.h"
#include "inputs.h"
#include "keepout/keepout.h"
#include "output.h"
#include "progress.h"
#include "reader_opts.h"

static const char *const columns[] = {"verdict",    "id",     "hit_count", "site_names",
                                      "categories", "reason", NULL};
static const char *const csv_columns[] = {"id",         "source",    "time",     "verdict",
                                          "reason",     "hit_count", "site_ids", "site_names",
                                          "categories", "min_gsd_m", NULL};

static void help(FILE *fp) {
    fprintf(fp,
            "usage: keepout check [options] INPUT...\n\n"
            "Says, for every photo, video frame or telemetry row, whether it shows a protected\n"
            "site: clear, flagged (a site is in view and resolved finely enough to be seen), or\n"
            "unknown (no reliable footprint: missing GPS, attitude, camera, corrupt file...).\n\n"
            "INPUT is a JPEG photo, a directory (walked recursively), a telemetry CSV, a DJI\n"
            ".SRT file, or - to read a list of paths from standard input. Any GDAL /vsi path.\n\n"
            "options:\n"
            "  --db FILE            site store (default: $KEEPOUT_SITES, else the bundled sample)\n"
            "  --format F           table (default on a terminal), geojson (default otherwise),\n"
            "                       jsonl or csv\n"
            "  -o, --output FILE    write the report there in the format its extension names\n"
            "                       without --format: .geojson, .jsonl, .csv, or .gpkg, .fgb,\n"
            "                       .shp through OGR\n"
            "  --unknown-is V       exit status treats unknown as 'flagged' (default) or 'clear';\n"
            "                       the reported verdict stays unknown\n"
            "  --manifest FILE      write one JSON line per input file: path, SHA-256, verdict\n"
            "  --map FILE.html      a map to open in a browser: footprints by verdict, the\n"
            "                       sites they show, a popup each (self-contained, offline)\n"
            "  --max-range M        cut rays at M metres of ground distance (default "
            "2000)\n"
            "  --dem RASTER         terrain: cast rays onto this elevation model (repeat for\n"
            "                       tiles); see 'keepout footprint --help' for datums\n" READER_HELP
            "  -q, --quiet          no progress or summary on standard error\n"
            "  -h, --help           this text\n\n"
            "Exit status: 0 every input clear; 1 something flagged or unknown; 2 usage error,\n"
            "unusable site store, unreadable input list, or an input with nothing to check\n"
            "(an empty folder, an empty list, no file keepout reads: see --include).\n");
}

typedef struct counts {
    size_t clear, flagged, unknown;
} counts;

typedef struct run {
    ko_context *ctx;
    ko_sites *sites;
    const char *db;
    ko_check_options copts; /* copts.footprint points at fopts */
    ko_footprint_options fopts;
    ko_reader_options ropts;
    out_writer out;
    FILE *manifest;
    int quiet, unknown_is_clear;
    counts total;
    size_t skipped, empty_inputs;
    size_t not_checked; /* of total.unknown: inputs that could not be read at all */
    char **dems;
    size_t n_dems;
    ko_dem *dem;
    progress prog;
    const char *map_path; /* --map: an HTML map of the records */
    html_map map;
    int map_failed;
} run;

/* The library's record of the result (ko_result_json), as json-c for the writers. NULL, with
 * the reason in ko_errmsg, if it could not be made. */
static json_object *result_props(run *r, const ko_shot *s, const ko_result *res) {
    char *text = NULL;
    if (ko_result_json(r->ctx, s, res, &text) != KO_OK) return NULL;
    json_object *p = json_tokener_parse(text);
    ko_free(text);
    return p;
}

static void tally(counts *c, ko_verdict v) {
    if (v == KO_CLEAR)
        c->clear++;
    else if (v == KO_FLAGGED)
        c->flagged++;
    else
        c->unknown++;
}

static int emit_unknown_input(run *r, const char *path, const char *why) {
    r->not_checked++;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "id", json_object_new_string(path));
    json_object_object_add(p, "source", json_object_new_string(path));
    json_object_object_add(p, "verdict", json_object_new_string("unknown"));
    json_object_object_add(p, "reason", json_object_new_string(why));
    json_object_object_add(p, "hit_count", json_object_new_int(0));
    int ok = out_record(&r->out, p, NULL);
    if (r->map_path && !html_map_add(&r->map, p, NULL)) r->map_failed = 1;
    json_object_put(p);
    if (!r->quiet) fprintf(stderr, "keepout check: %s\n", why);
    return ok;
}

static void write_manifest(run *r, const char *path, const counts *c, ko_verdict v) {
    if (!r->manifest) return;
    json_object *m = json_object_new_object();
    char hex[65];
    json_object_object_add(m, "path", json_object_new_string(path));
    if (ko_file_sha256(r->ctx, path, hex) == KO_OK) {
        json_object_object_add(m, "sha256", json_object_new_string(hex));
    } else {
        json_object_object_add(m, "sha256", NULL);
        json_object_object_add(m, "sha256_error", json_object_new_string(ko_errmsg(r->ctx)));
        v = KO_UNKNOWN;
    }
    VSIStatBufL st;
    if (safe_stat(path, &st) == 0)
        json_object_object_add(m, "size", json_object_new_int64(st.st_size));
    json_object_object_add(m, "verdict", json_object_new_string(ko_verdict_str(v)));
    json_object_object_add(m, "shots",
                           json_object_new_int64((int64_t)(c->clear + c->flagged + c->unknown)));
    json_object_object_add(m, "flagged", json_object_new_int64((int64_t)c->flagged));
    json_object_object_add(m, "unknown", json_object_new_int64((int64_t)c->unknown));
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_object_object_add(m, "checked_at", json_object_new_string(when));
    json_object_object_add(m, "site_store", json_object_new_string(r->db));
    json_object_object_add(m, "keepout_version", json_object_new_string(ko_version()));
    out_json_write(r->manifest, json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
    fputc('\n', r->manifest);
    json_object_put(m);
}

/* The manifest has one line per file: shots of one file arrive together (a directory reader
 * finishes a file before the next), so a change of source closes the previous file. */
typedef struct file_acc {
    char *path;
    counts c;
    ko_verdict v;
} file_acc;

static void file_flush(run *r, file_acc *f) {
    if (!f->path) return;
    write_manifest(r, f->path, &f->c, f->v);
    free(f->path);
    memset(f, 0, sizeof *f);
}

static int file_note(run *r, file_acc *f, const char *source, ko_verdict v) {
    if (!f->path || strcmp(f->path, source) != 0) {
        file_flush(r, f);
        if (!(f->path = strdup(source))) return 0;
        f->v = KO_CLEAR;
    }
    tally(&f->c, v);
    f->v = ko_verdict_worst(f->v, v);
    tally(&r->total, v);
    return 1;
}

static int emit_result(run *r, const ko_shot *shot, const ko_result *res) {
    json_object *p = result_props(r, shot, res);
    if (!p) {
        fprintf(stderr, "keepout check: %s: %s\n", shot->id ? shot->id : "?", ko_errmsg(r->ctx));
        return 0;
    }
    int ok = out_record(&r->out, p, ko_result_footprint(res));
    if (r->map_path && !html_map_add(&r->map, p, res)) r->map_failed = 1;
    json_object_put(p);
    if (!r->quiet && ko_result_verdict(res) == KO_UNKNOWN && r->out.format != OUT_TABLE) {
        progress_clear(&r->prog);
        fprintf(stderr, "keepout check: unknown: %s\n", ko_result_reason(res));
    }
    return ok;
}

/* Returns 0 on a write error, -1 if the site store failed (exit 2), 1 otherwise. */
static int check_input(run *r, const char *path, file_acc *f) {
    ko_reader *rd = NULL;
    if (ko_reader_open(r->ctx, path, &r->ropts, &rd) != KO_OK) {
        int ok = emit_unknown_input(r, path, ko_errmsg(r->ctx));
        return ok && file_note(r, f, path, KO_UNKNOWN);
    }
    ko_shot shot;
    ko_status st;
    int ok = 1;
    while (ok && (st = ko_reader_next(rd, &shot)) == KO_OK) {
        ko_result *res = NULL;
        if (ko_check_shot(r->ctx, r->sites, &shot, &r->copts, &res) != KO_OK) {
            progress_clear(&r->prog);
            fprintf(stderr, "keepout check: site store %s failed: %s\n", r->db, ko_errmsg(r->ctx));
            ko_reader_close(rd);
            return -1;
        }
        if (!ko_result_checked(res)) r->not_checked++;
        ok = emit_result(r, &shot, res) &&
             file_note(r, f, shot.source ? shot.source : path, ko_result_verdict(res));
        ko_result_destroy(res);
        progress_step(&r->prog, 1);
    }
    if (ok && st != KO_DONE) {
        ok = emit_unknown_input(r, path, ko_errmsg(r->ctx)) && file_note(r, f, path, KO_UNKNOWN);
    }
    r->skipped += ko_reader_skipped(rd);
    ko_reader_close(rd);
    return ok;
}

static int open_store(run *r) {
    VSIStatBufL st;
    if (safe_stat(r->db, &st) != 0) {
        fprintf(stderr,
                "keepout check: site store %s does not exist; build one with 'keepout sites "
                "import --db %s SOURCE' or pass --db\n",
                r->db, r->db);
        return 0;
    }
    if (ko_sites_open(r->ctx, r->db, KO_SITES_READONLY, &r->sites) != KO_OK) {
        fprintf(stderr, "keepout check: cannot use site store %s: %s\n", r->db, ko_errmsg(r->ctx));
        return 0;
    }
    double limit;
    if (ko_sites_gsd_limit(r->sites, &limit) != KO_OK) {
        fprintf(stderr, "keepout check: site store %s: %s\n", r->db, ko_errmsg(r->ctx));
        return 0;
    }
    r->fopts.gsd_limit_m = limit;
    return 1;
}

static int parse_number(const char *opt, const char *s, double lo, double hi, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (errno || end == s || *end || !(*v >= lo && *v <= hi)) {
        fprintf(stderr, "keepout check: %s needs a number in [%g, %g], not '%s'\n", opt, lo, hi, s);
        return 0;
    }
    return 1;
}

enum { O_DB = 256, O_FORMAT, O_UNKNOWN_IS, O_MANIFEST, O_MAX_RANGE, O_DEM, O_MAP };

/* Parses the options into r, the input filter and the output settings. Returns -1 to go on,
 * else an exit status. */
static int parse_args(int argc, char **argv, run *r, out_format *fmt, int *fmt_set,
                      const char **outpath, const char **manifest) {
    static const struct option longopts[] = {{"db", required_argument, NULL, O_DB},
                                             {"format", required_argument, NULL, O_FORMAT},
                                             {"output", required_argument, NULL, 'o'},
                                             {"unknown-is", required_argument, NULL, O_UNKNOWN_IS},
                                             {"manifest", required_argument, NULL, O_MANIFEST},
                                             {"max-range", required_argument, NULL, O_MAX_RANGE},
                                             {"dem", required_argument, NULL, O_DEM},
                                             {"map", required_argument, NULL, O_MAP},
                                             READER_LONGOPTS,
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    double v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
            case O_DB:
                r->db = optarg;
                break;
            case O_FORMAT:
                if (!out_parse_format(optarg, fmt)) {
                    fprintf(stderr,
                            "keepout check: --format must be table, geojson, jsonl or csv\n");
                    return EXIT_USAGE;
                }
                *fmt_set = 1;
                break;
            case 'o':
                *outpath = optarg;
                break;
            case O_UNKNOWN_IS:
                if (strcmp(optarg, "clear") && strcmp(optarg, "flagged")) {
                    fprintf(stderr, "keepout check: --unknown-is must be clear or flagged\n");
                    return EXIT_USAGE;
                }
                r->unknown_is_clear = !strcmp(optarg, "clear");
                break;
            case O_MANIFEST:
                *manifest = optarg;
                break;
            case O_MAP:
                r->map_path = optarg;
                break;
            case O_DEM:
                if (!strlist_add(&r->dems, &r->n_dems, optarg)) {
                    fprintf(stderr, "keepout check: out of memory\n");
                    return EXIT_USAGE;
                }
                break;
            case O_MAX_RANGE:
                if (!parse_number("--max-range", optarg, 1, 1e6, &v)) return EXIT_USAGE;
                r->fopts.max_range_m = v;
                break;
            case 'q':
                r->quiet = 1;
                break;
            case 'h':
                help(stdout);
                return EXIT_CLEAR;
            default: {
                int ro = reader_option(c, optarg, &r->ropts, "check");
                if (ro > 0) break;
                if (!ro) help(stderr);
                return EXIT_USAGE;
            }
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "keepout check: no input given (try 'keepout check --help')\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* An input that gave no record at all (an empty folder, only files keepout does not read):
 * said on stderr, and the run exits 2, as a mistyped path or a missing --include must not pass
 * as "all clear". */
static void nothing_in(run *r, const char *path, size_t skipped) {
    r->empty_inputs++;
    progress_clear(&r->prog);
    if (skipped)
        fprintf(stderr,
                "keepout check: %s: nothing to check: its %zu file(s) are neither JPEG photos nor "
                ".SRT/.csv telemetry (name the files to read with --include GLOB, e.g. "
                "--include '*.bak')\n",
                path, skipped);
    else
        fprintf(stderr,
                "keepout check: %s: nothing to check: no file in it (give the folder that holds "
                "the photos, or choose files with --include GLOB)\n",
                path);
}

static int check_all(run *r, const input_list *list) {
    /* the total, as the library estimates it (a walk of each directory), only for a terminal */
    /* not over records written to the same terminal */
    int on = progress_wanted(r->quiet) && !(r->out.fp == stdout && isatty(STDOUT_FILENO));
    double total = 0;
    for (size_t i = 0; on && i < list->n; i++)
        total += ko_input_shots_estimate(r->ctx, list->paths[i], -1, &r->ropts);
    progress_start(&r->prog, "check", "shots", total, on);
    file_acc f = {0};
    int ok = 1;
    for (size_t i = 0; ok > 0 && i < list->n; i++) {
        size_t before = r->total.clear + r->total.flagged + r->total.unknown;
        size_t skipped = r->skipped;
        ok = check_input(r, list->paths[i], &f);
        if (ok > 0 && r->total.clear + r->total.flagged + r->total.unknown == before)
            nothing_in(r, list->paths[i], r->skipped - skipped);
    }
    progress_end(&r->prog);
    if (ok > 0) file_flush(r, &f);
    free(f.path);
    return ok;
}

int cmd_check(int argc, char **argv) {
    run r = {0};
    ko_check_options_init(&r.copts);
    ko_footprint_options_init(&r.fopts);
    r.copts.footprint = &r.fopts;
    ko_reader_options_init(&r.ropts);
    r.db = ko_sites_default(1);
    out_format fmt = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_GEOJSON;
    int fmt_set = 0;
    const char *outpath = NULL, *manifest = NULL;
    int rc = parse_args(argc, argv, &r, &fmt, &fmt_set, &outpath, &manifest);
    if (rc >= 0) {
        reader_options_free(&r.ropts);
        strlist_free(r.dems);
        return rc;
    }
    input_list list = {0};
    rc = EXIT_USAGE;
    FILE *fp = NULL;
    /* -o x.gpkg (.fgb, .shp, ...): through OGR, as ogr2ogr picks the format */
    const char *drv;
    if (!out_ogr_target("check", outpath, fmt_set, &fmt, &drv)) goto done;
    if (!inputs_collect(argc - optind, argv + optind, &list)) goto done;
    if (ko_context_create(&r.ctx) != KO_OK) {
        fprintf(stderr, "keepout check: cannot create a context (out of memory?)\n");
        goto done;
    }
    if (!open_store(&r)) goto done;
    if (r.n_dems) {
        if (ko_dem_open_list(r.ctx, (const char *const *)r.dems, r.n_dems, &r.dem) != KO_OK) {
            fprintf(stderr, "keepout check: --dem: %s\n", ko_errmsg(r.ctx));
            goto done;
        }
        r.fopts.dem = r.dem;
        r.ropts.below_takeoff = 1;
    }
    /* the library's one rule: the store's index file, written again if it is not current */
    if (ko_sites_prepare(r.sites, 0, NULL) != KO_OK) {
        fprintf(stderr, "keepout check: site store: %s\n", ko_errmsg(r.ctx));
        goto done;
    }
    if (!drv && !(fp = outpath ? fopen(outpath, "w") : stdout)) {
        fprintf(stderr, "keepout check: cannot write %s: %s\n", outpath, strerror(errno));
        goto done;
    }
    if (manifest && !(r.manifest = fopen(manifest, "w"))) {
        fprintf(stderr, "keepout check: cannot write manifest %s: %s\n", manifest, strerror(errno));
        goto done;
    }
    if (drv) {
        if (!out_begin_ogr(&r.out, "check", outpath, drv, "check", csv_columns)) goto done;
    } else {
        out_begin(&r.out, fp, fmt, fmt == OUT_CSV ? csv_columns : columns);
    }
    int ok = check_all(&r, &list);
    int closed = out_end(&r.out);
    if (ok < 0) goto done;
    if (r.map_path && (r.map_failed || !html_map_write(&r.map, "check", r.map_path, r.sites))) {
        if (r.map_failed) fprintf(stderr, "keepout check: out of memory for the map\n");
        goto done;
    }
    if (!ok || !closed || (r.manifest && fflush(r.manifest) != 0)) {
        fprintf(stderr, "keepout check: write error\n");
        goto done;
    }
    if (!r.quiet && r.skipped)
        fprintf(stderr,
                "keepout check: skipped %zu file(s) in directories that are neither imagery nor "
                "telemetry (use --include to check them)\n",
                r.skipped);
    if (!r.quiet)
        fprintf(stderr, "keepout check: %zu clear, %zu flagged, %zu unknown (store %s)\n",
                r.total.clear, r.total.flagged, r.total.unknown, r.db);
    /* the library's release policy, strict, with the user's --unknown-is */
    ko_release_policy pol;
    ko_release_policy_init(&pol);
    pol.unknown_is = r.unknown_is_clear ? KO_CLEAR : KO_UNKNOWN;
    rc = ko_release_decide_batch(&pol, r.total.clear, r.total.flagged,
                                 r.total.unknown - r.not_checked, r.not_checked, NULL) == KO_RELEASE
             ? EXIT_CLEAR
             : EXIT_FLAGGED;
    if (r.empty_inputs) rc = EXIT_USAGE; /* nothing_in() said which */
done:
    html_map_free(&r.map);
    if (fp && fp != stdout) fclose(fp);
    if (r.manifest) fclose(r.manifest);
    ko_sites_close(r.sites);
    ko_dem_close(r.dem);
    ko_context_destroy(r.ctx);
    strlist_free(r.dems);
    inputs_free(&list);
    reader_options_free(&r.ropts);
    return rc;
}
