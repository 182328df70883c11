/* libFuzzer target: the MP4/MOV box walker that measures a video's length for the release
 * gate (through /vsimem/: sizes, 64-bit sizes, size 0, nesting, truncation). */
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
    double s = 0;
    if (koi_mp4_duration(ctx, path, &s) == KO_OK && !(s > 0)) __builtin_trap();
    VSIUnlink(path);
    return 0;
}
