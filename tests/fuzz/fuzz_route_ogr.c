/* libFuzzer target: routes drawn in a GIS (route_ogr.c: KML, GPX, GeoJSON lines and points
 * through OGR) and DJI .kmz missions (route_wpml.c through /vsizip/ of the fuzzed archive).
 * The first byte picks the extension; the rest is the file, served from /vsimem/. A small
 * route is also turned into exposures (route_exposure.c). The corpus (corpus/route_ogr/) holds
 * the real DJI Pilot 2 .kmz, the waygen mission zipped as a .kmz, and the Litchi mission's
 * positions as KML, GPX and GeoJSON (see its README). */
#include <cpl_vsi.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "keepout/keepout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const ext[] = {"kml", "gpx", "geojson", "kmz"};
    static ko_context *ctx = NULL; /* one context for the run, as an application has */
    if (size < 1 || (!ctx && ko_context_create(&ctx) != KO_OK)) return 0;
    char path[64];
    snprintf(path, sizeof path, "/vsimem/fuzz_route_%p.%s", (void *)ctx, ext[data[0] % 4]);
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)data + 1, size - 1, FALSE);
    if (f) VSIFCloseL(f);
    ko_route *rt = NULL;
    if (ko_route_open(ctx, path, &rt) == KO_OK) {
        size_t n = ko_route_waypoint_count(rt);
        for (size_t i = 0; i < n; i++) {
            const ko_waypoint *w = ko_route_waypoint(rt, i);
            /* readers validate positions */
            if (!(fabs(w->lat) <= 90) || !(fabs(w->lon) <= 180)) __builtin_trap();
        }
        if (n <= 32) {
            ko_camera cam;
            ko_camera_init(&cam);
            ko_route_options o;
            ko_route_options_init(&o);
            ko_camera_from_focal35(24, 4000, 3000, &cam);
            o.camera = &cam;
            o.gimbal_pitch_deg = -90;
            o.height_m = 60;
            o.spacing_m = 1e5; /* a few samples a leg, however far apart the waypoints */
            ko_exposures *ex = NULL;
            if (ko_route_exposures(ctx, rt, &o, &ex) == KO_OK) ko_exposures_destroy(ex);
        }
        ko_route_destroy(rt);
    }
    VSIUnlink(path);
    return 0;
}
