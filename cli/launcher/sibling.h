/* Runs a sibling program of keepout (keepout-query, keepout-full) in place of this process. */
#ifndef KEEPOUT_CLI_SIBLING_H
#define KEEPOUT_CLI_SIBLING_H

/* execv()s `name` from this executable's directory or ../libexec/keepout/ with argv (argv[0]
 * kept, so that messages still say "keepout"). Returns only on failure, with exit status 2
 * after saying why on stderr. */
int exec_sibling(const char *name, char **argv);

#endif
