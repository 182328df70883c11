/* keepout: the command users run, linked with nothing but the C library. It hands
 * `keepout sites query` to keepout-query (SQLite and GEOS only) and every other command to
 * keepout-full (everything, GDAL included), replacing itself through execv() with the same
 * arguments, so exit status, signals and output are that program's own.
 *
 * Why: keepout-full links GDAL, whose ~110 shared libraries take 35-90 ms to load before main()
 * runs, where one query against the on-disk R-tree takes a millisecond; and this launcher, with
 * no libraries of its own, adds about one to the others. */
#include <stdio.h>
#include <string.h>

#include "sibling.h"

#ifndef KEEPOUT_VERSION_STRING
#define KEEPOUT_VERSION_STRING "unknown"
#endif

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("keepout %s\n", KEEPOUT_VERSION_STRING);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "sites") && !strcmp(argv[2], "query"))
        return exec_sibling("keepout-query", argv);
    return exec_sibling("keepout-full", argv);
}
