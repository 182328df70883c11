/* keepout tag: batch tagging of survey archives into a catalogue (GeoPackage or PostGIS).
 * Argument parsing and printing around the library's catalogue engine (ko_catalog_tag(),
 * ko_catalog_recheck(): workers, resumable transactions, sidecars); the exit status is the
 * library's release decision on the whole catalogue (ko_catalog_decide()). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include "commands.h"
#include "inputs.h"
#include "keepout/keepout.h"
#include "output.h"
#include "progress.h"
#include "reader_opts.h"

static void help(FILE *fp) {
    fprintf(
        fp,
        "usage: keepout tag --catalog CAT [options] ARCHIVE...\n"
        "       keepout tag --catalog CAT --recheck [--db DB]\n\n"
        "Tags every photo and video frame of the archives (directories, walked recursively;\n"
        "any GDAL /vsi path such as /vsizip/archive.zip) into a catalogue that opens in\n"
        "QGIS as is: layer footprints (one polygon per shot: verdict, sites, pose, camera),\n"
        "table hits (shot -> site) and table files. Re-runs skip unchanged files (path,\n"
        "size, mtime; with --hash also the SHA-256); a killed run resumes where it stopped.\n\n"
        "options:\n"
        "  --catalog CAT     GeoPackage file (created if missing) or PG:\"dbname=...\"\n"
        "  --db FILE         site store (default: $KEEPOUT_SITES, else the bundled sample)\n"
        "  --jobs N          worker threads (default: the number of cores)\n"
        "  --shard K/N       only the K-th of N deterministic shares of the files\n"
        "  --hash            record SHA-256 and treat a file as unchanged only if it matches\n"
        "  --recheck         re-evaluate the stored footprints against the current store\n"
        "                    without reading the images again\n"
        "  --sidecar         write an XMP sidecar (IMAGE.xmp, namespace keepout:) per file;\n"
        "                    an .xmp keepout did not write is never replaced (the file is\n"
        "                    then left out of the catalogue, unknown)\n"
        "  --sidecar-dir DIR put the sidecars there instead, mirroring each file's absolute\n"
        "                    path (needed for /vsizip/ and other archives; originals are\n"
        "                    never modified)\n"
        "  --unknown-is V    exit status treats unknown as 'flagged' (default) or 'clear';\n"
        "                    files keepout could not read are never clear\n"
        "  --max-range M     cut rays at M metres of ground distance (default 2000)\n"
        "  --dem RASTER      terrain (repeat for tiles). Files are tagged one by one, so a\n"
        "                    photo has no flight: without an absolute altitude its camera is\n"
        "                    put at the DEM under it + height (\"dem+height\", in the reason);\n"
        "                    an SRT takes off at its HOME point (else its first fix)\n" READER_HELP
        "  --map FILE.html   then a map of the catalogue to open in a browser (self-contained,\n"
        "                    no network): footprints by verdict, the sites they show named\n"
        "  -q, --quiet       no progress on standard error\n"
        "  -h, --help        this text\n\n"
        "Exit status: 0 all clear; 1 something flagged or unknown; 2 usage error, unusable\n"
        "site store or catalogue.\n");
}

/* The command line, as the library's options. */
typedef struct args {
    const char *catalog, *db, *map_path;
    int recheck, quiet, unknown_is_clear;
    ko_catalog_options copts;
    ko_reader_options ropts;
    ko_footprint_options fopts;
    char **dems;
    size_t n_dems;
    progress prog;
} args;

enum {
    T_CATALOG = 300,
    T_DB,
    T_JOBS,
    T_SHARD,
    T_HASH,
    T_RECHECK,
    T_SIDECAR,
    T_SIDECAR_DIR,
    T_MAX_RANGE,
    T_DEM,
    T_UNKNOWN_IS,
    T_MAP
};

/* "K/N" with 1 <= K <= N and nothing after: 1, or 0 (a shard of another spelling would tag
 * another share of the files than the user meant). */
static int parse_shard(const char *s, unsigned *k, unsigned *n) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '/' || errno) return 0;
    const char *rest = end + 1;
    long b = strtol(rest, &end, 10);
    if (end == rest || *end || errno || b < 1 || (unsigned long)b > UINT_MAX || a < 1 || a > b)
        return 0;
    *k = (unsigned)a, *n = (unsigned)b;
    return 1;
}

static int parse_args(int argc, char **argv, args *o) {
    static const struct option longopts[] = {
        {"catalog", required_argument, NULL, T_CATALOG},
        {"db", required_argument, NULL, T_DB},
        {"jobs", required_argument, NULL, T_JOBS},
        {"shard", required_argument, NULL, T_SHARD},
        {"hash", no_argument, NULL, T_HASH},
        {"recheck", no_argument, NULL, T_RECHECK},
        {"sidecar", no_argument, NULL, T_SIDECAR},
        {"sidecar-dir", required_argument, NULL, T_SIDECAR_DIR},
        {"max-range", required_argument, NULL, T_MAX_RANGE},
        {"dem", required_argument, NULL, T_DEM},
        {"unknown-is", required_argument, NULL, T_UNKNOWN_IS},
        {"map", required_argument, NULL, T_MAP},
        READER_LONGOPTS,
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    long jobs;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
            case T_CATALOG:
                o->catalog = optarg;
                break;
            case T_MAP:
                o->map_path = optarg;
                break;
            case T_DB:
                o->db = optarg;
                break;
            case T_JOBS:
                jobs = strtol(optarg, &end, 10);
                if (*end || jobs < 1 || jobs > 256) {
                    tag_say("--jobs needs 1..256");
                    return EXIT_USAGE;
                }
                o->copts.jobs = (unsigned)jobs;
                break;
            case T_SHARD:
                if (!parse_shard(optarg, &o->copts.shard_k, &o->copts.shard_n)) {
                    tag_say("--shard needs K/N with 1 <= K <= N");
                    return EXIT_USAGE;
                }
                break;
            case T_HASH:
                o->copts.hash = 1;
                break;
            case T_RECHECK:
                o->recheck = 1;
                break;
            case T_SIDECAR:
                o->copts.sidecar = 1;
                break;
            case T_SIDECAR_DIR:
                o->copts.sidecar = 1, o->copts.sidecar_dir = optarg;
                break;
            case T_MAX_RANGE:
                o->fopts.max_range_m = CPLStrtod(optarg, &end);
                if (*end || !(o->fopts.max_range_m > 0)) {
                    tag_say("--max-range needs a positive number");
                    return EXIT_USAGE;
                }
                break;
            case T_DEM:
                if (!strlist_add(&o->dems, &o->n_dems, optarg)) return EXIT_USAGE;
                break;
            case T_UNKNOWN_IS:
                if (strcmp(optarg, "clear") && strcmp(optarg, "flagged")) {
                    tag_say("--unknown-is must be clear or flagged");
                    return EXIT_USAGE;
                }
                o->unknown_is_clear = !strcmp(optarg, "clear");
                break;
            case 'q':
                o->quiet = 1;
                break;
            case 'h':
                help(stdout);
                return EXIT_CLEAR;
            default: {
                int ro = reader_option(c, optarg, &o->ropts, "tag");
                if (ro > 0) break;
                if (!ro) help(stderr);
                return EXIT_USAGE;
            }
        }
    }
    if (!o->catalog) {
        tag_say("--catalog is required (a .gpkg file or PG:...)");
        return EXIT_USAGE;
    }
    if (!o->recheck && optind >= argc) {
        tag_say("no archive given (try 'keepout tag --help')");
        return EXIT_USAGE;
    }
    for (int i = optind; o->copts.sidecar && !o->copts.sidecar_dir && i < argc; i++)
        if (STARTS_WITH(argv[i], "/vsi")) {
            tag_say(
                "%s is an archive or GDAL virtual file system: keepout never "
                "writes into it; give --sidecar-dir DIR for its sidecars",
                argv[i]);
            return EXIT_USAGE;
        }
    return -1;
}

/* Notes of the run on standard error (cleaned: they carry file and site names); -q drops the
 * informative ones, never a file left out. */
static void say_note(ko_note_level level, const char *text, void *user) {
    args *a = user;
    if (level == KO_NOTE_INFO && a->quiet) return;
    progress_clear(&a->prog);
    tag_say("%s", text);
}

/* "DONE/TOTAL files" from the library, drawn by the shared progress line (at most ten
 * redraws a second: it redrew for every file). */
static int show_progress(double complete, const char *message, void *user) {
    progress *p = user;
    size_t done, total;
    (void)complete;
    if (!message || sscanf(message, "%zu/%zu", &done, &total) != 2) return 1;
    progress_set(p, done, (double)total);
    return 1;
}

static int store_open(const args *a, ko_context *ctx, ko_sites **sites) {
    double limit;
    int64_t version;
    VSIStatBufL st;
    if (safe_stat(a->db, &st) != 0 || ko_sites_open(ctx, a->db, KO_SITES_READONLY, sites) ||
        ko_sites_version(*sites, &version) || ko_sites_gsd_limit(*sites, &limit)) {
        tag_say("site store %s unusable: %s", a->db,
                safe_stat(a->db, &st) ? "no such file (build one with keepout sites import)"
                                      : ko_errmsg(ctx));
        return 0;
    }
    return 1;
}

/* The exit status covers the whole catalogue (this run's files are in it), decided by the
 * library's policy, strict, with --unknown-is. */
static int catalogue_status(const args *a, const ko_catalog_stats *s) {
    ko_release_policy pol;
    ko_release_policy_init(&pol);
    pol.unknown_is = a->unknown_is_clear ? KO_CLEAR : KO_UNKNOWN;
    return ko_catalog_decide(s, &pol, NULL) == KO_RELEASE ? EXIT_CLEAR : EXIT_FLAGGED;
}

static int run(args *a, ko_context *ctx, ko_sites *sites, char **inputs, int n_inputs) {
    ko_catalog *cat = NULL;
    ko_catalog_stats s;
    ko_catalog_stats_init(&s);
    ko_status st = ko_catalog_open(ctx, a->catalog, &a->copts, &cat);
    if (!st)
        st = a->recheck
                 ? ko_catalog_recheck(cat, sites, &s)
                 : ko_catalog_tag(cat, sites, (const char *const *)inputs, (size_t)n_inputs, &s);
    ko_catalog_close(cat);
    progress_end(&a->prog); /* the last count stays on screen, the summary under it */
    if (st) {
        /* an input with nothing in it: say how to choose its files */
        tag_say("%s%s", ko_errmsg(ctx),
                st == KO_ERR_NOT_FOUND ? " (choose files with --include GLOB)" : "");
        return EXIT_USAGE;
    }
    if (!a->quiet && a->recheck)
        tag_say(
            "rechecked %zu footprints against store version %lld: %zu "
            "changed verdict",
            s.rechecked, (long long)s.store_version, s.changed);
    else if (!a->quiet)
        tag_say(
            "%zu files tagged (%zu shots: %zu clear, %zu flagged, %zu unknown), "
            "%zu unchanged skipped, %zu non-imagery files ignored%s",
            s.files, s.clear + s.flagged + s.unknown, s.clear, s.flagged, s.unknown, s.skipped,
            s.ignored,
            s.left_out ? CPLSPrintf("; %zu files not catalogued (sidecar not written)", s.left_out)
                       : "");
    /* the catalogue's footprints by verdict, read back from it */
    if (a->map_path && !tag_map_write(a->catalog, a->map_path, sites)) return EXIT_USAGE;
    return catalogue_status(a, &s);
}

int cmd_tag(int argc, char **argv) {
    args a;
    memset(&a, 0, sizeof a);
    ko_catalog_options_init(&a.copts);
    ko_reader_options_init(&a.ropts);
    ko_footprint_options_init(&a.fopts);
    a.db = ko_sites_default(1);
    int rc = parse_args(argc, argv, &a);
    if (rc < 0) {
        a.copts.reader = &a.ropts;
        a.copts.footprint = &a.fopts;
        a.copts.dem_paths = (const char *const *)a.dems;
        a.copts.n_dem_paths = a.n_dems;
        a.copts.note = say_note;
        a.copts.note_user = &a;
        progress_start(&a.prog, "tag", "files", 0, progress_wanted(a.quiet));
        if (a.prog.on) a.copts.progress = show_progress, a.copts.progress_user = &a.prog;
        ko_context *ctx = NULL;
        ko_sites *sites = NULL;
        ko_dem *dem = NULL;
        rc = EXIT_USAGE;
        if (ko_context_create(&ctx) != KO_OK) {
            tag_say("out of memory");
        } else if (store_open(&a, ctx, &sites)) {
            /* the terrain is opened by each worker: a DEM that cannot be is a usage error */
            if (a.n_dems && ko_dem_open_list(ctx, a.copts.dem_paths, a.n_dems, &dem) != KO_OK)
                tag_say("--dem: %s", ko_errmsg(ctx));
            else
                rc = run(&a, ctx, sites, argv + optind, argc - optind);
        }
        progress_end(&a.prog);
        ko_dem_close(dem);
        ko_sites_close(sites);
        ko_context_destroy(ctx);
    }
    strlist_free(a.dems);
    reader_options_free(&a.ropts);
    return rc;
}
