/* libFuzzer target: the TIFF photo reader (IFDs, Exif and GPS IFDs, XMP in tag 700, GDAL
 * metadata items, BigTIFF) on arbitrary bytes, through memory and through a VSI file (the
 * window reader must see what memory sees), then the camera resolution on what it found. The
 * corpus (corpus/tiff_meta/) holds the metadata parts of the real vendor TIFFs of
 * tests/data/vendors and GDAL-written TIFFs (README there). Malformed input must be an error
 * or an incomplete file, never a crash. */
#include <cpl_vsi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"
#include "meta/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ko_context *ctx = NULL;
    if (!ctx && ko_context_create(&ctx) != KO_OK) return 0;
    koi_image_meta m, f;
    ko_status st = koi_tiff_meta_parse(ctx, data, size, &m);
    VSIFCloseL(VSIFileFromMemBuffer("/vsimem/fuzz.tif", (GByte *)data, size, FALSE));
    ko_status fst = koi_tiff_meta_read(ctx, "/vsimem/fuzz.tif", &f);
    VSIUnlink("/vsimem/fuzz.tif");
    if (fst != st ||
        (st == KO_OK && (f.sof_width != m.sof_width || f.has_xmp != m.has_xmp ||
                         strcmp(f.incomplete, m.incomplete) != 0 || strcmp(f.make, m.make) != 0 ||
                         f.mn_gimbal_from != m.mn_gimbal_from)))
        abort();
    if (st == KO_OK) {
        ko_camera cam;
        const char *how = NULL;
        char why[256];
        koi_image_camera(ctx, &m, &cam, &how, why, sizeof why);
    }
    return 0;
}
