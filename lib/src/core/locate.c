/* The sample site store: in the build tree, or beside an installed keepout. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

#include "core/core.h"
#include "koi_install_paths.h"

/* The file of the module (executable or shared object) this code is linked into, into out;
 * 0 if it cannot be told. dladdr names a shared object by the path it was loaded from, but the
 * executable by its argv[0] (relative, or a bare name found on PATH): that one is read from
 * /proc/self/exe where there is one. */
static const char anchor; /* an object of this module, for dladdr */

static int module_file(char *out, size_t cap) {
    Dl_info info;
    if (!dladdr(&anchor, &info) || !info.dli_fname) return 0;
    if (info.dli_fname[0] == '/') return snprintf(out, cap, "%s", info.dli_fname) < (int)cap;
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n > 0) {
        out[n] = '\0';
        return 1;
    }
    return realpath(info.dli_fname, out) != NULL;
}

static int exists(const char *path) {
    return access(path, F_OK) == 0;
}

/* Written once (call_once), read-only after: the answer does not change while the process
 * runs, and finding it costs a dladdr and a few stat calls. */
static once_flag sample_once = ONCE_FLAG_INIT;
static char sample_path[PATH_MAX];

static void find_sample(void) {
    char self[PATH_MAX];
    snprintf(sample_path, sizeof sample_path, "%s", KOI_INSTALLED_SITES);
    if (!module_file(self, sizeof self)) return;
    char *slash = strrchr(self, '/');
    if (!slash) return;
    *slash = '\0';
    static const char *const rel[] = KOI_INSTALLED_SITES_REL;
    char cand[PATH_MAX];
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        if (snprintf(cand, sizeof cand, "%s/%s", self, rel[i]) >= (int)sizeof cand) continue;
        if (exists(cand)) {
            /* the path users see in messages: without the bin/.. */
            if (!realpath(cand, sample_path)) snprintf(sample_path, sizeof sample_path, "%s", cand);
            return;
        }
    }
    /* a module in the build tree (never an installed one) uses the store built there */
    size_t n = strlen(KOI_BUILD_TREE);
    if (!strncmp(self, KOI_BUILD_TREE, n) && (self[n] == '/' || !self[n]))
        snprintf(sample_path, sizeof sample_path, "%s", KOI_BUILD_SITES);
}

const char *koi_sample_sites(void) {
    call_once(&sample_once, find_sample);
    return sample_path;
}
