/* keepout: the command users run. It answers `keepout sites query` and `--version` itself, in a
 * process that loads only SQLite and GEOS; every other command is the full program
 * (keepout-full, beside this one or in ../libexec/keepout/), which it replaces through execv()
 * with the same arguments, so exit status, signals and output are that program's own.
 *
 * Why: the full program links GDAL, whose ~110 shared libraries take 35-90 ms to load before
 * main() runs; one query against the on-disk R-tree takes under a millisecond. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../commands.h"
#include "keepout/keepout.h"

#ifndef KEEPOUT_DEFAULT_SITES
#define KEEPOUT_DEFAULT_SITES "sites.sqlite"
#endif

/* The full program: beside this executable (a build tree) or in ../libexec/keepout/ (an
 * installation). */
static int run_full(char **argv) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "keepout: cannot find its own executable: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    static const char *const where[] = {"/keepout-full", "/../libexec/keepout/keepout-full"};
    char path[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        snprintf(path, sizeof path, "%s%s", self, where[i]);
        if (access(path, X_OK) == 0) {
            execv(path, argv);
            fprintf(stderr, "keepout: cannot run %s: %s\n", path, strerror(errno));
            return EXIT_USAGE;
        }
    }
    fprintf(stderr,
            "keepout: keepout-full is missing (looked in %s and %s/../libexec/keepout): "
            "reinstall keepout\n",
            self, self);
    return EXIT_USAGE;
}

/* `keepout sites query` with only the options it knows; anything else (--help, a typo) goes to
 * the full program, which says what is wrong in the usual words. */
static int sites_query(int argc, char **argv) {
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'D'},     {"ring", required_argument, NULL, 'r'},
        {"camera", required_argument, NULL, 'C'}, {"packed", no_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},        {NULL, 0, NULL, 0}};
    const char *db = NULL, *ring = NULL, *camera = NULL;
    int packed = 0, quiet = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc - 2, argv + 2, "q", longopts, NULL)) != -1) {
        switch (c) {
            case 'D':
                db = optarg;
                break;
            case 'r':
                ring = optarg;
                break;
            case 'C':
                camera = optarg;
                break;
            case 'P':
                packed = 1;
                break;
            case 'q':
                quiet = 1;
                break;
            default:
                return run_full(argv);
        }
    }
    if (optind != argc - 2) return run_full(argv); /* stray operands */
    if (!db) db = getenv("KEEPOUT_SITES");
    if (!db || !*db) db = KEEPOUT_DEFAULT_SITES;
    return sites_query_run(db, ring, camera, packed, quiet);
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("keepout %s\n", ko_version());
        return EXIT_CLEAR;
    }
    if (argc >= 3 && !strcmp(argv[1], "sites") && !strcmp(argv[2], "query"))
        return sites_query(argc, argv);
    return run_full(argv);
}
