/* libFuzzer target: site import (import.c) of arbitrary bytes: ED-269 and ED-318 UAS zones,
 * the OSM preset, and generic OGR sources (GeoJSON, CSV, KML, GPX, GML). The first byte picks
 * the file name extension (low 3 bits) and --all-zones (bit 3); the rest is the file, served
 * from /vsimem/.
 *
 * Each import runs to its end into one store in a temporary file and is then cancelled by the
 * progress callback, so that it is rolled back: one store serves the whole run and stays empty,
 * which is itself the oracle (a cancelled or failed import leaves the store as it was). The
 * report's counts must add up. The corpus (corpus/import/) holds real zones and sites from
 * data/ (see its README). */
#include <cpl_vsi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "keepout/keepout.h"
#include "sites/sites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Cancels at the end: the whole import runs, then rolls back. */
static int cancel_at_end(double complete, const char *message, void *user) {
    (void)message, (void)user;
    return complete < 1.0;
}

static char store_path[64];

static void remove_store(void) {
    unlink(store_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const ext[] = {"json", "geojson", "osm", "csv", "kml", "gpx", "gml", "osm"};
    static ko_context *ctx = NULL;
    static ko_sites *s = NULL;
    if (!ctx) {
        snprintf(store_path, sizeof store_path, "/tmp/keepout_fuzz_import_%ld.sqlite",
                 (long)getpid());
        unlink(store_path);
        if (ko_context_create(&ctx) != KO_OK ||
            ko_sites_open(ctx, store_path, KO_SITES_CREATE, &s) != KO_OK)
            abort();
        atexit(remove_store);
        /* Commits need not reach the disk: the store is thrown away. */
        koi_sites_exec(s, "PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY");
    }
    if (size < 1) return 0;
    char path[64];
    snprintf(path, sizeof path, "/vsimem/fuzz_import_%p.%s", (void *)ctx, ext[data[0] & 7]);
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)data + 1, size - 1, FALSE);
    if (f) VSIFCloseL(f);
    ko_import_options o;
    ko_import_options_init(&o);
    o.preset_osm = (data[0] & 7) == 2;
    o.all_zones = (data[0] & 8) != 0;
    o.source_label = "fuzz";
    o.progress = cancel_at_end;
    ko_import_report r = {0};
    ko_status st = ko_sites_import(s, path, &o, &r);
    VSIUnlink(path);
    if (st == KO_OK) __builtin_trap(); /* the progress callback cancels every import */
    /* Every feature read is accounted for (a store failure may stop in the middle of one). */
    if (st == KO_ERR_CANCELLED && r.read != r.imported + r.updated + r.rejected + r.skipped)
        __builtin_trap();
    ko_import_report_clear(&r);
    int64_t n = -1;
    if (ko_sites_count(s, &n) != KO_OK || n != 0) __builtin_trap(); /* rolled back */
    return 0;
}
