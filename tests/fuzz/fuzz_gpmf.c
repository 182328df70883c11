/* libFuzzer target: the GoPro GPMF telemetry reader on arbitrary bytes (through /vsimem/, so the
 * whole reader runs: the MP4 box walk to the gpmd track and its sample tables, or a raw stream;
 * KLV nesting, TYPE/SCAL, the position streams, footprints of what it accepts). */
#include <cpl_vsi.h>
#include <stdint.h>
#include <stdio.h>

#include "keepout/keepout.h"
#include "meta/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ko_context *ctx = NULL;
    if (!ctx && ko_context_create(&ctx) != KO_OK) return 0;
    char path[64];
    snprintf(path, sizeof path, "/vsimem/fuzz_%p.mp4", (void *)ctx);
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)data, size, FALSE);
    if (f) VSIFCloseL(f);
    int probed = koi_gpmf_probe(path);
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = 24;
    ko_reader *r = NULL;
    ko_status st = ko_reader_open(ctx, path, &o, &r);
    /* the directory walk's probe and the reader agree on what is GPMF (bytes that start like
     * a JPEG or TIFF go to those readers instead) */
    int other = size >= 1 && (data[0] == 0xFF || data[0] == 'I' || data[0] == 'M');
    if (!other && (st == KO_OK) != (probed != 0)) __builtin_trap();
    if (st == KO_OK) {
        ko_shot s;
        int n = 0;
        while (n++ < 64 && ko_reader_next(r, &s) == KO_OK) {
            ko_footprint *fp = NULL;
            if (!s.reason && ko_footprint_compute(ctx, &s.camera, &s.pose, NULL, &fp) == KO_OK)
                ko_footprint_destroy(fp);
        }
        ko_reader_close(r);
    }
    VSIUnlink(path);
    return 0;
}
