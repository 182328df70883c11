/* libFuzzer target: the JPEG header walk, EXIF and XMP parsers on arbitrary bytes, then the
 * camera resolution on whatever they found. The corpus (corpus/jpeg_meta/, README there) holds
 * the headers of real DJI photos (two with DJI maker notes, one of each form), crafted maker
 * notes and crafted XMP cases. */
#include <cpl_vsi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "keepout/keepout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* One context for the whole run, as a long-lived application has (and context creation
     * would otherwise dominate the time per input). */
    static ko_context *ctx = NULL;
    if (!ctx && ko_context_create(&ctx) != KO_OK) return 0;
    koi_image_meta m, f;
    ko_status st = koi_jpeg_meta_parse(ctx, data, size, &m);
    /* The file path (a read window over VSI) must see exactly what memory sees. */
    VSIFCloseL(VSIFileFromMemBuffer("/vsimem/fuzz.jpg", (GByte *)data, size, FALSE));
    ko_status fst = koi_jpeg_meta_read(ctx, "/vsimem/fuzz.jpg", &f);
    VSIUnlink("/vsimem/fuzz.jpg");
    if (fst != st || (st == KO_OK &&
                      (f.sof_width != m.sof_width || f.has_xmp != m.has_xmp ||
                       f.mn_gimbal_from != m.mn_gimbal_from || f.attitude_from != m.attitude_from)))
        abort();
    /* The input as an XMP packet: the fast reader of the common shape must agree with expat
     * on everything it accepts (it declines the rest, which then goes to expat). */
    koi_image_meta a, b;
    koi_image_meta_init(&a);
    koi_image_meta_init(&b);
    ko_status sa = koi_xmp_parse(ctx, (const char *)data, size, &a);
    ko_status sb = koi_xmp_parse_expat(ctx, (const char *)data, size, &b);
    if (sa != sb || (sa == KO_OK && memcmp(&a, &b, sizeof a) != 0)) abort();
    if (st == KO_OK) {
        ko_camera cam;
        const char *how = NULL;
        char why[256];
        koi_image_camera(ctx, &m, &cam, &how, why, sizeof why);
    }
    return 0;
}
