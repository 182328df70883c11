/* The resolver of the lazily loaded libraries' stubs (lazy.h). */
#include "lazy.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

void *keepout_lazy_resolve(unsigned i) {
    const char *file = keepout_lazy_file[keepout_lazy_lib[i]];
    /* RTLD_GLOBAL: as if linked, the library's symbols serve the libraries loaded after it */
    void *lib = dlopen(file, RTLD_NOW | RTLD_GLOBAL);
    void *fn = lib ? dlsym(lib, keepout_lazy_name[i]) : NULL;
    if (!fn) {
        const char *why = dlerror();
        fprintf(stderr, "keepout: cannot load %s from %s, which this command needs: %s\n",
                keepout_lazy_name[i], file, why ? why : "no such function");
        exit(2); /* EXIT_USAGE of commands.h: never a verdict */
    }
    /* other threads may call the stub meanwhile: they read either the resolver or this */
    __atomic_store_n(&keepout_lazy_slot[i], fn, __ATOMIC_RELEASE);
    return fn;
}
