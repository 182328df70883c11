/* The subcommands; each lives in its own cmd_<verb>.c and returns the process exit status. */
#ifndef KEEPOUT_CLI_COMMANDS_H
#define KEEPOUT_CLI_COMMANDS_H

/* Exit status contract of DESIGN.md. */
enum { EXIT_CLEAR = 0, EXIT_FLAGGED = 1, EXIT_USAGE = 2 };

int cmd_footprint(int argc, char **argv);
int cmd_sites(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_route(int argc, char **argv);

#endif
