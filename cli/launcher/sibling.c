/* Runs a sibling program of keepout in place of this process. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sibling.h"

int exec_sibling(const char *name, char **argv) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "keepout: cannot find its own executable: %s\n", strerror(errno));
        return 2;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    /* Beside this executable (a build tree) or in ../libexec/keepout/ (an installation). */
    static const char *const where[] = {"", "/../libexec/keepout"};
    char path[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        snprintf(path, sizeof path, "%s%s/%s", self, where[i], name);
        if (access(path, X_OK) == 0) {
            execv(path, argv);
            fprintf(stderr, "keepout: cannot run %s: %s\n", path, strerror(errno));
            return 2;
        }
    }
    fprintf(stderr,
            "keepout: %s is missing (looked in %s and %s/../libexec/keepout): "
            "reinstall keepout\n",
            name, self, self);
    return 2;
}
