/* libFuzzer target: the release gate's JPEG rewriting on arbitrary bytes: the segment walk,
 * the EXIF (TIFF) edits, the XMP blanking and the quality estimate. Stripping is idempotent:
 * a stripped file stripped again is the same bytes. The corpus (corpus/jpeg_edit/) holds the
 * real DJI photos of data/images (EXIF with GPS, maker note and thumbnail, XMP, MPF). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ko_context *ctx = NULL;
    if (!ctx && ko_context_create(&ctx) != KO_OK) return 0;
    (void)koi_jpeg_quality(data, size);
    koi_bytes a = {0}, b = {0}, c = {0};
    if (koi_jpeg_rebuild(ctx, data, size, NULL, 0, 1, &a) == KO_OK) {
        if (koi_jpeg_rebuild(ctx, a.p, a.len, NULL, 0, 1, &b) != KO_OK || b.len != a.len ||
            memcmp(a.p, b.p, a.len) != 0)
            abort();
    }
    (void)koi_jpeg_rebuild(ctx, data, size, data, size, 0, &c); /* a redacted copy's splice */
    free(a.p);
    free(b.p);
    free(c.p);
    uint8_t *x = malloc(size ? size : 1);
    if (x) {
        memcpy(x, data, size);
        koi_xmp_blank(x, size, 1, 1);
        (void)koi_xmp_safe(x, size, 1, 1);
        memcpy(x, data, size);
        (void)koi_exif_edit(ctx, x, size, 1, 1);
        free(x);
    }
    return 0;
}
