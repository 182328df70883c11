/* keepout-query: `keepout sites query` in a process that loads only SQLite and GEOS (the
 * keepout_query library); the launcher (main.c) runs it for that command. Options it does not
 * know go to keepout-full, which answers them in the usual words. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../commands.h"
#include "keepout/keepout.h"
#include "sibling.h"

#ifndef KEEPOUT_DEFAULT_SITES
#define KEEPOUT_DEFAULT_SITES "sites.sqlite"
#endif

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
                return exec_sibling("keepout-full", argv);
        }
    }
    if (optind != argc - 2) return exec_sibling("keepout-full", argv); /* stray operands */
    if (!db) db = getenv("KEEPOUT_SITES");
    if (!db || !*db) db = KEEPOUT_DEFAULT_SITES;
    return sites_query_run(db, ring, camera, packed, quiet);
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "sites") && !strcmp(argv[2], "query"))
        return sites_query(argc, argv);
    return exec_sibling("keepout-full", argv);
}
