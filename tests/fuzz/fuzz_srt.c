/* libFuzzer target: the DJI .SRT reader on arbitrary bytes (through /vsimem/, so the whole
 * reader runs: block cursor, line families, thinning, footprints of what it accepts). */
#include <cpl_vsi.h>
#include <stdint.h>
#include <stdio.h>

#include "keepout/keepout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* One context for the whole run, as a long-lived application has (and context creation
     * would otherwise dominate the time per input). */
    static ko_context *ctx = NULL;
    if (!ctx && ko_context_create(&ctx) != KO_OK) return 0;
    char path[64];
    snprintf(path, sizeof path, "/vsimem/fuzz_%p.srt", (void *)ctx);
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)data, size, FALSE);
    if (f) VSIFCloseL(f);
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = 24;
    ko_reader *r = NULL;
    if (ko_reader_open(ctx, path, &o, &r) == KO_OK) {
        ko_shot s;
        int n = 0;
        while (n++ < 8 && ko_reader_next(r, &s) == KO_OK) {
            ko_footprint *fp = NULL;
            if (!s.reason && ko_footprint_compute(ctx, &s.camera, &s.pose, NULL, &fp) == KO_OK)
                ko_footprint_destroy(fp);
        }
        ko_reader_close(r);
    }
    VSIUnlink(path);
    return 0;
}
