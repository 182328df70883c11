/* The subcommands; each lives in its own cmd_<verb>.c and returns the process exit status. */
#ifndef KEEPOUT_CLI_COMMANDS_H
#define KEEPOUT_CLI_COMMANDS_H

#include "keepout/keepout.h"

/* Exit status contract of DESIGN.md. */
enum { EXIT_CLEAR = 0, EXIT_FLAGGED = 1, EXIT_USAGE = 2 };

int cmd_footprint(int argc, char **argv);
int cmd_sites(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_release(int argc, char **argv);

/* keepout sites query (sites_query.c): opens db read-only, queries the footprint ring
 * ("lon lat, lon lat, ..."), prints the hits; the exit status of the contract. */
/* keepout tag --map: the catalogue's footprints and the sites they show as an HTML map at path
 * (tag_map.c). 0 on failure (message printed). */
int tag_map_write(const char *catalog, const char *path, ko_sites *sites);

int sites_query_run(const char *db, const char *ring, const char *camera, int packed, int quiet);

#endif
