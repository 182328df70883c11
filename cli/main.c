/* keepout: flags drone imagery that shows protected sites. Dispatches to cmd_<verb>.c. */
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cpl_conv.h>

#include "commands.h"
#include "keepout/keepout.h"

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"footprint", cmd_footprint, "ground footprints of photos, video frames or telemetry rows"},
    {"check", cmd_check, "verdicts: which photos, frames or rows show a protected site"},
    {"sites", cmd_sites, "build and inspect the protected-site store"},
    {"route", cmd_route, "pre-flight check of planned missions: which legs would capture a site"},
    {"tag", cmd_tag, "tag survey archives into a catalogue (GeoPackage/PostGIS), resumable"},
    {"release", cmd_release, "the release gate: publish what is clear, redact or hold the rest"},
};

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: keepout <command> [options] ...\n\n"
            "keepout computes what drone imagery shows on the ground and flags imagery that\n"
            "shows protected sites (power plants, substations, bridges, dams, ...).\n\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp,
            "\n'keepout <command> --help' describes each command. --config KEY VALUE, anywhere,\n"
            "sets a GDAL configuration option, as GDAL's tools take it (KEEPOUT_SITES too).\n"
            "Exit status: 0 all clear, 1 something flagged or unknown, 2 usage or input error.\n");
}

/* A keepout process allocates and frees the same few hundred kB per file (SQLite pages, header
 * windows, GEOS geometries). glibc's default returns the heap top to the kernel after every
 * 128 kB freed and faults it back in on the next file: on a tagging run that was 7 % of the
 * CPU time. A CLI process can keep what it had. */
static void keep_heap(void) {
#ifdef __GLIBC__
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
#endif
}

/* --config KEY VALUE, anywhere before "--", as GDAL's tools take it (GDAL_CACHEMAX,
 * GDAL_NUM_THREADS, KEEPOUT_SITES, ...): set as a GDAL configuration option and taken out of
 * argv. 0 if one lacks its KEY or VALUE. */
static int take_config(int *argc, char **argv) {
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--config") != 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 2 >= *argc) {
            fprintf(stderr, "keepout: --config needs KEY VALUE\n");
            return 0;
        }
        CPLSetConfigOption(argv[i + 1], argv[i + 2]);
        i += 2;
    }
    argv[out] = NULL;
    *argc = out;
    return 1;
}

int main(int argc, char **argv) {
    keep_heap();
    if (!take_config(&argc, argv)) return EXIT_USAGE;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_CLEAR;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("keepout %s\n", ko_version());
        return EXIT_CLEAR;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        /* no ko_global_init(): the library registers GDAL's drivers when a command first
         * opens a file through GDAL, so that `sites query` (SQLite and GEOS) does without */
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "keepout: unknown command '%s' (try 'keepout --help')\n", argv[1]);
    return EXIT_USAGE;
}
