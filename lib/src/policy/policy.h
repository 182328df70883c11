/* Private: what the policy folder's files share (the release gate's JPEG rewriting). */
#ifndef KEEPOUT_POLICY_POLICY_H
#define KEEPOUT_POLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "keepout/keepout.h"

/* A growable byte buffer: zero-initialise it; the first failed append sets failed and later
 * appends do nothing. The caller frees p. */
typedef struct koi_bytes {
    uint8_t *p;
    size_t len, cap;
    int failed;
} koi_bytes;

/* Edits the TIFF structure of an EXIF segment (p: after "Exif\0\0", n bytes) in place, keeping
 * its size: strip_location empties the GPS IFD and zeroes the maker note; drop_thumbnail zeroes
 * IFD1 and its thumbnail and unlinks it. KO_ERR_FORMAT if the structure does not parse. */
ko_status koi_exif_edit(ko_context *ctx, uint8_t *p, size_t n, int strip_location,
                        int drop_thumbnail);

/* Blanks (with spaces, keeping the size) the XMP properties, as attributes or elements, whose
 * local name says position, altitude, attitude or speed. */
void koi_xmp_strip_location(uint8_t *p, size_t n);

/* The IJG quality (1..100) whose scaled standard luminance table is nearest the JPEG's own
 * table 0; 0 if it has none. */
int koi_jpeg_quality(const uint8_t *p, size_t n);

/* Appends to out the JPEG src (n bytes) rebuilt: its metadata segments kept or left out and
 * edited (see keepout.h, "Releasing files"), then its own tables and scans (body NULL) or, for
 * a redacted copy, those of body (the encoder's JPEG, whose own metadata is left out). Nothing
 * after the main image's EOI is kept. KO_ERR_FORMAT if src does not parse. */
ko_status koi_jpeg_rebuild(ko_context *ctx, const uint8_t *src, size_t n, const uint8_t *body,
                           size_t body_n, int strip, koi_bytes *out);

#endif
