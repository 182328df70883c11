/* Lazily loaded libraries: the keepout executable calls GDAL and SpatiaLite through stubs
 * (generated at build time by cmake/LazyLink.cmake) that load the library on the first call
 * into it. Linking them normally costs every command the loading of ~100 shared libraries
 * (40-70 ms before main() runs, most of a `sites query`); with the stubs a command pays for
 * the libraries it calls. A stub's first call goes to keepout_lazy_enter (trampoline_*.S),
 * which keeps the caller's argument registers, asks keepout_lazy_resolve() for the function
 * and jumps to it; from then on the stub jumps straight to it. */
#ifndef KEEPOUT_CLI_LAZY_H
#define KEEPOUT_CLI_LAZY_H

/* Generated: stub i calls the function named keepout_lazy_name[i] of the library
 * keepout_lazy_file[keepout_lazy_lib[i]] (its SONAME). */
extern const char *const keepout_lazy_name[];
extern const unsigned char keepout_lazy_lib[];
extern const char *const keepout_lazy_file[];

/* Generated: stub i jumps through keepout_lazy_slot[i], which is its resolver until
 * keepout_lazy_resolve(i) stores the function there. */
extern void *keepout_lazy_slot[];

/* Loads the library of stub i (dlopen; once loaded, a library stays), stores its function in
 * the stub's slot and returns it. When the library or the function cannot be found it says
 * so on stderr and exits with status 2: the command cannot be done without it. */
void *keepout_lazy_resolve(unsigned i);

#endif
