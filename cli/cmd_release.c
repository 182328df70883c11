/* keepout release: the release gate. Argument parsing and printing around ko_release_run(),
 * which walks the inputs, checks, decides (the one release policy, ko_release_decide()),
 * writes and keeps the manifest. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        "usage: keepout release --to OUT --hold HOLD [options] INPUT...\n\n"
        "The release gate. Every photo of the inputs (photos, directories walked as\n"
        "'keepout check' walks them, DJI .SRT files with their videos, telemetry CSV) is\n"
        "checked and:\n"
        "  clear    copied into OUT unchanged (byte for byte; --strip-location takes GPS and\n"
        "           drone pose out of its metadata instead);\n"
        "  flagged  written into OUT redacted: the pixels that show a protected site set to\n"
        "           black, as a JPEG at the quality of the source (estimated from its\n"
        "           quantisation table), EXIF and XMP kept, thumbnail and previews left out;\n"
        "           with --no-redact held instead;\n"
        "  unknown  held: copied into HOLD with the reason beside it (FILE.reason.txt).\n"
        "Video and telemetry (.SRT with its .MP4/.MOV, CSV) are released only when every\n"
        "frame is clear, else held: video redaction is out of scope.\n"
        "Paths below each input are kept in OUT and HOLD. Two files that would land on one\n"
        "path (from two inputs, or a video or reason file a file brings) are an error found\n"
        "before anything is written, and a file already there is replaced only when the\n"
        "manifest records it as that source's output. One run at a time per OUT, HOLD and\n"
        "manifest. Sources are never modified. Every file is written to a temporary file and\n"
        "renamed; a re-run skips files released before and unchanged since (path, size,\n"
        "mtime, the options that change checking, the store and DEM files as last written);\n"
        "a killed run, started again, completes the same trees.\n\n"
        "options:\n"
        "  --to OUT           where released files go\n"
        "  --hold HOLD        where held files go, each with FILE.reason.txt\n"
        "  --no-redact        hold flagged photos instead of redacting them\n"
        "  --strip-location   released files lose GPS and drone pose metadata (EXIF GPS,\n"
        "                     maker note, XMP position and attitude); telemetry is held\n"
        "  --manifest FILE    the manifest: one JSON line per file (source, SHA-256 of\n"
        "                     source and output, decision, reason, sites, redacted pixels,\n"
        "                     keepout and store versions). Default: HOLD/" KO_RELEASE_MANIFEST_NAME
        ",\n"
        "                     and the lines are printed on standard output\n"
        "  --db FILE          site store (default: $KEEPOUT_SITES, else the bundled sample)\n"
        "  --max-range M      cut rays at M metres of ground distance (default 2000)\n"
        "  --dem RASTER       terrain (repeat for tiles); each photo is judged on its "
        "own\n" READER_HELP
        "  -q, --quiet        no progress or summary on standard error\n"
        "  -h, --help         this text\n\n"
        "Exit status: 0 everything released unredacted; 1 something redacted or held;\n"
        "2 usage error, unusable site store, clashing paths, an input with nothing in it,\n"
        "or a file that could not be written.\n");
}

typedef struct run {
    const char *out, *hold, *manifest, *db;
    int no_redact, strip, quiet, manifest_given;
    ko_context *ctx;
    ko_sites *sites;
    ko_footprint_options fopts;
    ko_reader_options ropts;
    char **dems;
    size_t n_dems;
    progress prog;
} run;

enum { R_TO = 400, R_HOLD, R_NO_REDACT, R_STRIP, R_MANIFEST, R_DB, R_MAX_RANGE, R_DEM };

static int parse_args(int argc, char **argv, run *r) {
    static const struct option longopts[] = {{"to", required_argument, NULL, R_TO},
                                             {"hold", required_argument, NULL, R_HOLD},
                                             {"no-redact", no_argument, NULL, R_NO_REDACT},
                                             {"strip-location", no_argument, NULL, R_STRIP},
                                             {"manifest", required_argument, NULL, R_MANIFEST},
                                             {"db", required_argument, NULL, R_DB},
                                             {"max-range", required_argument, NULL, R_MAX_RANGE},
                                             {"dem", required_argument, NULL, R_DEM},
                                             READER_LONGOPTS,
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
            case R_TO:
                r->out = optarg;
                break;
            case R_HOLD:
                r->hold = optarg;
                break;
            case R_NO_REDACT:
                r->no_redact = 1;
                break;
            case R_STRIP:
                r->strip = 1;
                break;
            case R_MANIFEST:
                r->manifest = optarg;
                r->manifest_given = 1;
                break;
            case R_DB:
                r->db = optarg;
                break;
            case R_DEM:
                if (!strlist_add(&r->dems, &r->n_dems, optarg)) return EXIT_USAGE;
                break;
            case R_MAX_RANGE: {
                char *end;
                double v = strtod(optarg, &end);
                if (end == optarg || *end || !(v >= 1 && v <= 1e6)) {
                    fprintf(stderr,
                            "keepout release: --max-range needs a number in [1, 1e6], not '%s'\n",
                            optarg);
                    return EXIT_USAGE;
                }
                r->fopts.max_range_m = v;
                break;
            }
            case 'q':
                r->quiet = 1;
                break;
            case 'h':
                help(stdout);
                return EXIT_CLEAR;
            default: {
                int ro = reader_option(c, optarg, &r->ropts, "release");
                if (ro > 0) break;
                if (!ro) help(stderr);
                return EXIT_USAGE;
            }
        }
    }
    if (!r->out || !r->hold) {
        fprintf(stderr,
                "keepout release: --to OUT and --hold HOLD are both needed (try "
                "'keepout release --help')\n");
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "keepout release: no input given (try 'keepout release --help')\n");
        return EXIT_USAGE;
    }
    return -1;
}

static int open_store(run *r) {
    VSIStatBufL st;
    if (!r->db || safe_stat(r->db, &st) != 0) {
        out_say("release",
                "site store %s does not exist; build one with 'keepout sites import' "
                "or pass --db",
                r->db ? r->db : "(none)");
        return 0;
    }
    double limit;
    int64_t version;
    if (ko_sites_open(r->ctx, r->db, KO_SITES_READONLY, &r->sites) != KO_OK ||
        ko_sites_gsd_limit(r->sites, &limit) != KO_OK ||
        ko_sites_version(r->sites, &version) != KO_OK) {
        out_say("release", "cannot use site store %s: %s", r->db, ko_errmsg(r->ctx));
        return 0;
    }
    return 1;
}

/* Each file's manifest line on standard output, when no manifest file was named. */
static void print_line(ko_note_level level, const char *line, void *user) {
    (void)level;
    (void)user;
    printf("%s\n", line);
}

/* "DONE/TOTAL files" from the library, drawn by the shared progress line. */
static int show_progress(double complete, const char *message, void *user) {
    size_t done, total;
    (void)complete;
    if (message && sscanf(message, "%zu/%zu", &done, &total) == 2)
        progress_set(user, done, (double)total);
    return 1;
}

static int release(run *r, const input_list *in) {
    ko_release_run_options o;
    ko_release_run_options_init(&o);
    o.out = r->out;
    o.hold = r->hold;
    o.manifest = r->manifest;
    o.redact = !r->no_redact;
    o.strip_location = r->strip;
    o.reader = &r->ropts;
    o.footprint = &r->fopts;
    o.dem_paths = (const char *const *)r->dems;
    o.n_dem_paths = r->n_dems;
    if (!r->manifest_given) o.record = print_line;
    /* not over the manifest lines when they go to the same terminal */
    progress_start(&r->prog, "release", "files", 0,
                   progress_wanted(r->quiet) && (r->manifest_given || !isatty(STDOUT_FILENO)));
    if (r->prog.on) o.progress = show_progress, o.progress_user = &r->prog;
    ko_release_stats st;
    ko_release_stats_init(&st);
    ko_status s = ko_release_run(r->ctx, r->sites, (const char *const *)in->paths, in->n, &o, &st);
    if (fflush(stdout) != 0 && !s) {
        out_say("release", "cannot write the manifest lines on standard output");
        return EXIT_USAGE;
    }
    if (s) {
        progress_clear(&r->prog);
        out_say("release", "%s", ko_errmsg(r->ctx));
        return EXIT_USAGE;
    }
    progress_end(&r->prog);
    if (!r->quiet)
        fprintf(stderr,
                "keepout release: %zu released, %zu redacted, %zu held (%zu unchanged since the "
                "last run; manifest %s%s)\n",
                st.released, st.redacted, st.held, st.skipped, r->manifest ? r->manifest : r->hold,
                r->manifest ? "" : "/" KO_RELEASE_MANIFEST_NAME);
    return st.worst == KO_RELEASE ? EXIT_CLEAR : EXIT_FLAGGED;
}

int cmd_release(int argc, char **argv) {
    run r;
    memset(&r, 0, sizeof r);
    ko_footprint_options_init(&r.fopts);
    ko_reader_options_init(&r.ropts);
    r.db = ko_sites_default(1);
    int rc = parse_args(argc, argv, &r);
    input_list list = {0};
    if (rc >= 0) goto done;
    rc = EXIT_USAGE;
    if (!inputs_collect(argc - optind, argv + optind, &list)) goto done;
    if (ko_context_create(&r.ctx) != KO_OK) {
        out_say("release", "cannot create a context (out of memory?)");
        goto done;
    }
    if (open_store(&r)) rc = release(&r, &list);
done:
    ko_sites_close(r.sites);
    ko_context_destroy(r.ctx);
    strlist_free(r.dems);
    inputs_free(&list);
    reader_options_free(&r.ropts);
    return rc;
}
