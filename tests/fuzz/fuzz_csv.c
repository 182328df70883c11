/* libFuzzer target: the telemetry CSV reader (csv_reader.c, through OGR's CSV driver) on
 * arbitrary bytes served from /vsimem/, every row read, and the footprint of each row it
 * accepts. The corpus (corpus/csv/) holds the real Brighton Beach telemetry, variants of it with
 * the optional columns, and the head of a real DJI flight-record CSV (not keepout's format). */
#include <cpl_vsi.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "keepout/keepout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ko_context *ctx = NULL; /* one context for the run, as an application has */
    if (!ctx && ko_context_create(&ctx) != KO_OK) return 0;
    char path[64];
    snprintf(path, sizeof path, "/vsimem/fuzz_%p.csv", (void *)ctx);
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)data, size, FALSE);
    if (f) VSIFCloseL(f);
    ko_reader_options o;
    ko_reader_options_init(&o);
    ko_reader *r = NULL;
    if (ko_reader_open(ctx, path, &o, &r) == KO_OK) {
        ko_shot s;
        int n = 0;
        while (n++ < 64 && ko_reader_next(r, &s) == KO_OK) {
            /* A row the reader accepts has a position (else it must say why). */
            if (!s.reason && (!(fabs(s.pose.lat) <= 90) || !(fabs(s.pose.lon) <= 180)))
                __builtin_trap();
            ko_footprint *fp = NULL;
            if (!s.reason && ko_footprint_compute(ctx, &s.camera, &s.pose, NULL, &fp) == KO_OK)
                ko_footprint_destroy(fp);
        }
        ko_reader_close(r);
    }
    VSIUnlink(path);
    return 0;
}
