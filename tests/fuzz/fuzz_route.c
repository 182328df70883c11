/* libFuzzer target: the mission readers (DJI WPML, QGroundControl .plan, Litchi CSV, QGC WPL)
 * on arbitrary bytes. The first byte picks the file name extension, so one corpus reaches every
 * reader through ko_route_open()'s dispatch; the rest is the file, served from /vsimem/. */
#include <cpl_vsi.h>
#include <stdint.h>
#include <stdio.h>

#include "keepout/keepout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const ext[] = {"wpml", "plan", "csv", "waypoints"};
    static ko_context *ctx = NULL; /* one context for the run, as an application has */
    if (size < 1 || (!ctx && ko_context_create(&ctx) != KO_OK)) return 0;
    char path[64];
    snprintf(path, sizeof path, "/vsimem/fuzz_%p.%s", (void *)ctx, ext[data[0] % 4]);
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)data + 1, size - 1, FALSE);
    if (f) VSIFCloseL(f);
    ko_route *rt = NULL;
    if (ko_route_open(ctx, path, &rt) == KO_OK) {
        for (size_t i = 0; i < ko_route_waypoint_count(rt); i++) {
            const ko_waypoint *w = ko_route_waypoint(rt, i);
            if (w->lat > 90 || w->lat < -90) __builtin_trap(); /* readers validate positions */
        }
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
    return 0;
}
