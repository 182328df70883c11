/* A third party's program: only the public header, valid C99 and C++11 alike (no designated
 * initialisers, no implicit void * conversions). Exit status 0 if every check holds; each
 * failed one is printed. */
#include <keepout/keepout.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void expect(int ok, const char *what, int line) {
    if (!ok) {
        fprintf(stderr, "consumer.c:%d: FAILED: %s\n", line, what);
        failures++;
    }
}
#define EXPECT(cond) expect((cond) ? 1 : 0, #cond, __LINE__)

/* The header's version macros, the running library's functions, and the version CMake gave
 * the project (KEEPOUT_EXPECTED_VERSION) all agree. */
static void versions(void) {
    char text[64];
    snprintf(text, sizeof text, "%d.%d.%d", KO_VERSION_MAJOR, KO_VERSION_MINOR, KO_VERSION_PATCH);
    EXPECT(strcmp(text, KO_VERSION_STRING) == 0);
    EXPECT(strcmp(KO_VERSION_STRING, KEEPOUT_EXPECTED_VERSION) == 0);
    EXPECT(KO_VERSION_NUMBER ==
           KO_VERSION_MAJOR * 1000000 + KO_VERSION_MINOR * 1000 + KO_VERSION_PATCH);
    EXPECT(strcmp(ko_version(), KO_VERSION_STRING) == 0);
    EXPECT(ko_version_number() == KO_VERSION_NUMBER);

    EXPECT(KO_CHECK_VERSION() == KO_OK);
    EXPECT(ko_check_version(KO_VERSION_MAJOR, KO_VERSION_MINOR) == KO_OK);
    /* a header newer than the library: refused */
    EXPECT(ko_check_version(KO_VERSION_MAJOR, KO_VERSION_MINOR + 1) == KO_ERR_UNSUPPORTED);
    EXPECT(ko_check_version(KO_VERSION_MAJOR + 1, 0) == KO_ERR_UNSUPPORTED);
    EXPECT(ko_check_version(-1, 0) == KO_ERR_UNSUPPORTED);
    EXPECT(ko_check_version(KO_VERSION_MAJOR, -1) == KO_ERR_UNSUPPORTED);
    /* an older major: refused; an older minor: served from 1.0 on, refused during 0.x */
    if (KO_VERSION_MAJOR > 0) {
        EXPECT(ko_check_version(KO_VERSION_MAJOR - 1, KO_VERSION_MINOR) == KO_ERR_UNSUPPORTED);
        EXPECT(ko_check_version(KO_VERSION_MAJOR, 0) == KO_OK);
    } else if (KO_VERSION_MINOR > 0) {
        EXPECT(ko_check_version(0, KO_VERSION_MINOR - 1) == KO_ERR_UNSUPPORTED);
    }
}

int main(void) {
    versions();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("keepout %s: C API consumer checks passed\n", ko_version());
    return 0;
}
