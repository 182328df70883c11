/* Private: what the policy folder's files share (the release gate's JPEG rewriting). */
#ifndef KEEPOUT_POLICY_POLICY_H
#define KEEPOUT_POLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
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
 * local name says position, altitude, attitude or speed (strip), or that hold a picture
 * (redacted: xmp:Thumbnails). A text scan: koi_xmp_safe() says whether it was enough. */
void koi_xmp_blank(uint8_t *p, size_t n, int strip, int redacted);

/* Local names of XMP properties: of location or pose; of an embedded picture. */
int koi_xmp_location_name(const char *s, size_t n);
int koi_xmp_image_name(const char *s, size_t n);

/* 1 if the XMP packet (n bytes) parses as XML (expat, namespace-aware, no DOCTYPE) and holds
 * no value of a location property (strip) and no picture nor any value over 1 kB (redacted),
 * in any namespace, the default one included; 0 otherwise: the packet must be left out. */
int koi_xmp_safe(const uint8_t *xml, size_t n, int strip, int redacted);

/* The IJG quality (1..100) whose scaled standard luminance table is nearest the JPEG's own
 * table 0; 0 if it has none. */
int koi_jpeg_quality(const uint8_t *p, size_t n);

/* Appends to out the JPEG src (n bytes) rebuilt: its metadata segments kept or left out and
 * edited (see keepout.h, "Releasing files"), then its own tables and scans (body NULL) or, for
 * a redacted copy, those of body (the encoder's JPEG, whose own metadata is left out). Nothing
 * after the main image's EOI is kept. KO_ERR_FORMAT if src does not parse. */
ko_status koi_jpeg_rebuild(ko_context *ctx, const uint8_t *src, size_t n, const uint8_t *body,
                           size_t body_n, int strip, koi_bytes *out);

/* JSON records written without json-c (policy/summary.c; see there why), on a koi_text: a
 * string (NULL: "") with '"', '\\' and C0 controls escaped and every byte that is not UTF-8
 * as the text \\xHH; a number to 12 significant digits (null if not finite); an integer;
 * ,"key": (first = 1: no comma). koi_text_done hands the text over (*out owned by the caller)
 * or frees it and reports its failure naming what. */
void koi_json_str(koi_text *t, const char *s);
/* Bytes of the well-formed UTF-8 sequence at s, 0 if the byte at s starts none. */
size_t koi_utf8_len(const unsigned char *s);
void koi_json_num(koi_text *t, double v);
void koi_json_int(koi_text *t, long long v);
void koi_json_key(koi_text *t, const char *key, int first);
ko_status koi_text_done(ko_context *ctx, koi_text *t, const char *what, char **out);

#endif
