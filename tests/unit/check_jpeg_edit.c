/* The release gate's JPEG rewriting (policy/jpeg_edit.c): the quality estimate against JPEGs
 * GDAL's driver (libjpeg) writes at known qualities; location stripping read back through the
 * library's own reader (no GPS left) and through the bytes (XMP blanked, scans untouched);
 * thumbnails dropped; malformed EXIF refused, never read past its segment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal.h>

#include "check_runner.h"
#include "core/core.h"
#include "keepout/keepout.h"
#include "policy/policy.h"

static uint8_t *slurp(const char *path, size_t *n) {
    GByte *b = NULL;
    vsi_l_offset len = 0;
    ck_assert(VSIIngestFile(NULL, path, &b, &len, 1 << 24));
    *n = (size_t)len;
    return b;
}

static const char *photo(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/images/%s", KEEPOUT_TEST_DATA, name);
    return p;
}

START_TEST(test_quality_of_libjpeg_files) {
    static const int qs[] = {10, 35, 50, 75, 90, 97, 100};
    GDALDriverH mem = GDALGetDriverByName("MEM"), jpeg = GDALGetDriverByName("JPEG");
    ck_assert_ptr_nonnull(mem);
    ck_assert_ptr_nonnull(jpeg);
    GDALDatasetH src = GDALCreate(mem, "", 64, 48, 3, GDT_Byte, NULL);
    for (int b = 1; b <= 3; b++) {
        uint8_t row[64 * 48];
        for (int i = 0; i < 64 * 48; i++)
            row[i] = (uint8_t)(i * 7 * b);
        ck_assert_int_eq(GDALRasterIO(GDALGetRasterBand(src, b), GF_Write, 0, 0, 64, 48, row, 64,
                                      48, GDT_Byte, 0, 0),
                         CE_None);
    }
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        char opt[32];
        snprintf(opt, sizeof opt, "QUALITY=%d", qs[k]);
        char *opts[] = {opt, NULL};
        GDALDatasetH out = GDALCreateCopy(jpeg, "/vsimem/q.jpg", src, FALSE, opts, NULL, NULL);
        ck_assert_ptr_nonnull(out);
        GDALClose(out);
        vsi_l_offset len;
        GByte *b = VSIGetMemFileBuffer("/vsimem/q.jpg", &len, TRUE);
        ck_assert_int_eq(koi_jpeg_quality(b, (size_t)len), qs[k]);
        CPLFree(b);
    }
    GDALClose(src);
    ck_assert_int_eq(koi_jpeg_quality((const uint8_t *)"\xFF\xD8\xFF\xD9", 4), 0);
}
END_TEST

/* The shot of a JPEG held in memory, through the library's reader. */
static int has_gps(ko_context *ctx, const uint8_t *p, size_t n) {
    VSIFCloseL(VSIFileFromMemBuffer("/vsimem/s.jpg", (GByte *)p, n, FALSE));
    ko_reader *r = NULL;
    ck_assert_int_eq(ko_reader_open(ctx, "/vsimem/s.jpg", NULL, &r), KO_OK);
    ko_shot shot;
    ck_assert_int_eq(ko_reader_next(r, &shot), KO_OK);
    int gps = shot.pose.lat == shot.pose.lat; /* not NaN */
    ko_reader_close(r);
    VSIUnlink("/vsimem/s.jpg");
    return gps;
}

static const uint8_t *find(const uint8_t *p, size_t n, const char *s) {
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(p + i, s, k)) return p + i;
    return NULL;
}

START_TEST(test_strip_location) {
    ko_context *ctx;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    size_t n;
    uint8_t *src = slurp(photo("DJI_0021.JPG"), &n);
    ck_assert(has_gps(ctx, src, n));
    ck_assert_ptr_nonnull(find(src, n, "drone-dji:GimbalYawDegree=\"+45.00\""));
    koi_bytes b = {0};
    ck_assert_int_eq(koi_jpeg_rebuild(ctx, src, n, NULL, 0, 1, &b), KO_OK);
    ck_assert(!has_gps(ctx, b.p, b.len));
    ck_assert_ptr_null(find(b.p, b.len, "GimbalYawDegree"));
    ck_assert_ptr_null(find(b.p, b.len, "RelativeAltitude"));
    ck_assert_ptr_nonnull(find(b.p, b.len, "tiff:Model=\"FC300S\""));
    /* the main image is the source's, byte for byte: from its SOF0 (the last one: the
     * thumbnail has its own, earlier) to EOI */
    const uint8_t *f0 = NULL, *f1 = NULL;
    for (const uint8_t *p = src; (p = find(p, n - (size_t)(p - src), "\xFF\xC0")); p++)
        f0 = p;
    for (const uint8_t *p = b.p; (p = find(p, b.len - (size_t)(p - b.p), "\xFF\xC0")); p++)
        f1 = p;
    ck_assert_ptr_nonnull(f0);
    ck_assert_ptr_nonnull(f1);
    ck_assert_uint_eq(n - (size_t)(f0 - src), b.len - (size_t)(f1 - b.p));
    ck_assert(!memcmp(f0, f1, n - (size_t)(f0 - src)));
    /* stripping again changes nothing */
    koi_bytes c = {0};
    ck_assert_int_eq(koi_jpeg_rebuild(ctx, b.p, b.len, NULL, 0, 1, &c), KO_OK);
    ck_assert_uint_eq(c.len, b.len);
    ck_assert(!memcmp(c.p, b.p, b.len));
    free(b.p);
    free(c.p);
    CPLFree(src);
    ko_context_destroy(ctx);
}
END_TEST

START_TEST(test_redacted_body_drops_thumbnail_keeps_gps) {
    ko_context *ctx;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    size_t n, bn;
    uint8_t *src = slurp(photo("DJI_0021.JPG"), &n), *body = slurp(photo("DJI_0018.JPG"), &bn);
    /* the thumbnail: an embedded JPEG (SOI) inside the EXIF segment */
    const uint8_t *exif_soi = find(src + 2, n - 2, "\xFF\xD8\xFF");
    ck_assert_ptr_nonnull(exif_soi);
    koi_bytes b = {0};
    ck_assert_int_eq(koi_jpeg_rebuild(ctx, src, n, body, bn, 0, &b), KO_OK);
    ck_assert(has_gps(ctx, b.p, b.len));
    ck_assert_ptr_null(find(b.p + 2, b.len - 2, "\xFF\xD8\xFF")); /* no second image */
    ck_assert_ptr_nonnull(find(b.p, b.len, "drone-dji:GimbalYawDegree=\"+45.00\""));
    free(b.p);
    CPLFree(src);
    CPLFree(body);
    ko_context_destroy(ctx);
}
END_TEST

START_TEST(test_malformed_exif_is_refused) {
    ko_context *ctx;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    size_t n;
    uint8_t *src = slurp(photo("DJI_0021.JPG"), &n);
    /* APP1 Exif at offset 2: FF E1 len(2) "Exif\0\0" then TIFF "II" 2A 00 and IFD0's offset */
    ck_assert(!memcmp(src + 6, "Exif\0\0II", 8));
    uint8_t *ifd0 = src + 12 + 4;
    memcpy(ifd0, "\xF0\xFF\xFF\x00", 4);
    koi_bytes b = {0};
    ck_assert_int_eq(koi_jpeg_rebuild(ctx, src, n, NULL, 0, 1, &b), KO_ERR_FORMAT);
    free(b.p);
    /* a GPS IFD pointer outside the segment */
    CPLFree(src);
    src = slurp(photo("DJI_0021.JPG"), &n);
    uint8_t *t = src + 12;
    uint32_t off = (uint32_t)(t[4] | t[5] << 8);
    unsigned count = (unsigned)(t[off] | t[off + 1] << 8);
    int hit = 0;
    for (unsigned i = 0; i < count; i++) {
        uint8_t *e = t + off + 2 + 12 * i;
        if (e[0] == 0x25 && e[1] == 0x88) {
            memcpy(e + 8, "\x00\x00\xFF\x7F", 4);
            hit = 1;
        }
    }
    ck_assert(hit);
    b = (koi_bytes){0};
    ck_assert_int_eq(koi_jpeg_rebuild(ctx, src, n, NULL, 0, 1, &b), KO_ERR_FORMAT);
    free(b.p);
    /* not a JPEG at all, and one cut in its segments */
    b = (koi_bytes){0};
    ck_assert_int_eq(koi_jpeg_rebuild(ctx, (const uint8_t *)"GIF89a", 6, NULL, 0, 1, &b),
                     KO_ERR_FORMAT);
    free(b.p);
    b = (koi_bytes){0};
    ck_assert_int_eq(koi_jpeg_rebuild(ctx, src, 300, NULL, 0, 1, &b), KO_ERR_FORMAT);
    free(b.p);
    CPLFree(src);
    ko_context_destroy(ctx);
}
END_TEST

START_TEST(test_xmp_strip_forms) {
    char x[] =
        "<rdf:Description a:GpsLatitude=\"1.5\" a:Model='X' b:FlightYawDegree = \"3\">"
        "<c:Altitude>12</c:Altitude><c:Pitch/><c:Note>yaw</c:Note></rdf:Description>";
    size_t n = strlen(x);
    koi_xmp_blank((uint8_t *)x, n, 1, 0);
    ck_assert_uint_eq(strlen(x), n);
    ck_assert_ptr_null(strstr(x, "Gps"));
    ck_assert_ptr_null(strstr(x, "Flight"));
    ck_assert_ptr_null(strstr(x, "Altitude"));
    ck_assert_ptr_null(strstr(x, "Pitch"));
    ck_assert_ptr_nonnull(strstr(x, "a:Model='X'"));
    ck_assert_ptr_nonnull(strstr(x, "<c:Note>yaw</c:Note>"));
    ck_assert_ptr_nonnull(strstr(x, "<rdf:Description "));
    ck_assert_ptr_nonnull(strstr(x, "</rdf:Description>"));
}
END_TEST

/* A redacted copy keeps only the bytes IFD0 and its sub-IFDs use: an uncompressed thumbnail
 * in IFD1's strips and bytes no IFD points to are zeroed (adversary: an 80x45 RGB thumbnail
 * of the unredacted photo survived), the values in use are kept. Built by hand, little-endian:
 * IFD0 at 8 (Make, 8 bytes at 38; link to IFD1 at 46), IFD1 at 46 (StripOffsets -> 80,
 * StripByteCounts 16; to 76), the strip at 80, an orphan at 100. */
START_TEST(test_exif_redacted_keeps_only_what_ifd0_uses) {
    uint8_t t[128] = {'I', 'I', 42, 0, 8, 0, 0, 0};
    const uint8_t ifd0[] = {
        1, 0,  0x0F, 0x01, 2, 0,  8, 0, 0,
        0, 38, 0,    0,    0, 46, 0, 0, 0}; /* Make, ASCII, 8 at 38; next IFD at 46 */
    memcpy(t + 8, ifd0, sizeof ifd0);
    memcpy(t + 38, "ABCDEFG", 8);
    const uint8_t ifd1[] = {2,    0,    0x11, 0x01, 4, 0, 1, 0, 0,  0, 80, 0, 0, 0, /* strips */
                            0x17, 0x01, 4,    0,    1, 0, 0, 0, 16, 0, 0,  0, 0, 0, 0, 0};
    memcpy(t + 46, ifd1, sizeof ifd1);
    memcpy(t + 80, "THUMBTHUMBTHUMB", 16);
    memcpy(t + 100, "ORPHANORPHANORP", 16);
    ko_context *ctx = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    ck_assert_int_eq(koi_exif_edit(ctx, t, sizeof t, 0, 1), KO_OK);
    ck_assert_mem_eq(t + 38, "ABCDEFG", 8);
    ck_assert_int_eq(t[8], 1); /* IFD0 as it was, its link now 0 */
    for (size_t i = 46; i < sizeof t; i++)
        ck_assert_msg(t[i] == 0, "byte %zu: %d", i, t[i]);
    ko_context_destroy(ctx);
}
END_TEST

/* What the text scan misses, expat sees: the packet is then left out (adversary C: a property
 * in the default namespace, a closing tag with a space; A2: an XMP thumbnail of the photo). */
START_TEST(test_xmp_safe_after_blanking) {
    static const char head[] =
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
        "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>";
    static const char tail[] = "</rdf:RDF></x:xmpmeta>";
    static const struct {
        const char *body;
        int strip, redacted, safe;
    } cases[] = {
        /* DJI's form: attributes and elements blanked, the rest kept */
        {"<rdf:Description xmlns:d='http://www.dji.com/drone-dji/1.0/' d:GpsLatitude='1.5' "
         "d:Model='X'><d:GimbalYawDegree>3</d:GimbalYawDegree></rdf:Description>",
         1, 0, 1},
        /* the default namespace: no prefix for the text scan to find */
        {"<rdf:Description><GPSLongitude xmlns='http://ns.adobe.com/exif/1.0/'>-91.99"
         "</GPSLongitude></rdf:Description>",
         1, 0, 0},
        /* a closing tag with a space before '>' */
        {"<rdf:Description xmlns:exif='http://ns.adobe.com/exif/1.0/'><exif:GPSLongitude>"
         "-91.99</exif:GPSLongitude ></rdf:Description>",
         1, 0, 0},
        /* location stays in a packet that is only redacted, not stripped */
        {"<rdf:Description><GPSLongitude xmlns='http://ns.adobe.com/exif/1.0/'>-91.99"
         "</GPSLongitude></rdf:Description>",
         0, 1, 1},
        /* an XMP thumbnail: blanked by prefix... */
        {"<rdf:Description xmlns:xmp='http://ns.adobe.com/xap/1.0/'><xmp:Thumbnails><rdf:Alt>"
         "<rdf:li>/9j/4AAQ</rdf:li></rdf:Alt></xmp:Thumbnails></rdf:Description>",
         0, 1, 1},
        /* ...and in the default namespace caught by expat */
        {"<rdf:Description><Thumbnails xmlns='http://ns.adobe.com/xap/1.0/'>/9j/4AAQ"
         "</Thumbnails></rdf:Description>",
         0, 1, 0},
        {"<rdf:Description", 1, 1, 0}, /* does not parse */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char x[1024];
        int n = snprintf(x, sizeof x, "%s%s%s", head, cases[i].body, tail);
        ck_assert_int_lt(n, (int)sizeof x);
        koi_xmp_blank((uint8_t *)x, (size_t)n, cases[i].strip, cases[i].redacted);
        ck_assert_msg(koi_xmp_safe((const uint8_t *)x, (size_t)n, cases[i].strip,
                                   cases[i].redacted) == cases[i].safe,
                      "case %zu: %s", i, x);
        if (cases[i].safe && cases[i].strip) ck_assert_ptr_null(strstr(x, "Gps"));
        if (cases[i].safe && cases[i].strip) ck_assert_ptr_nonnull(strstr(x, "d:Model='X'"));
        if (cases[i].safe && cases[i].redacted) ck_assert_ptr_null(strstr(x, "/9j/"));
    }
    /* a value over 1 kB in a redacted copy is embedded data (a depth map, a preview) */
    static char big[16384];
    int n = snprintf(big, sizeof big,
                     "%s<rdf:Description xmlns:g='http://ns.google.com/photos/"
                     "1.0/image/'><g:Data>",
                     head);
    memset(big + n, 'A', 2000);
    n += 2000;
    n += snprintf(big + n, sizeof big - (size_t)n, "</g:Data></rdf:Description>%s", tail);
    ck_assert_int_eq(koi_xmp_safe((const uint8_t *)big, (size_t)n, 0, 1), 0);
    ck_assert_int_eq(koi_xmp_safe((const uint8_t *)big, (size_t)n, 1, 0), 1);
    /* a picture hidden from the property checks (adversary): base64 in a comment, or split
     * into many short values under another property */
    n = snprintf(big, sizeof big, "%s<!-- ", head);
    memset(big + n, 'B', 600);
    n += 600;
    n += snprintf(big + n, sizeof big - (size_t)n, " -->%s", tail);
    ck_assert_int_eq(koi_xmp_safe((const uint8_t *)big, (size_t)n, 0, 1), 0);
    n = snprintf(big, sizeof big, "%s<rdf:Description xmlns:p='urn:x'><p:PageInfo><rdf:Seq>", head);
    for (int k = 0; k < 12; k++) {
        n += snprintf(big + n, sizeof big - (size_t)n, "<rdf:li>");
        memset(big + n, 'C', 1000);
        n += 1000;
        n += snprintf(big + n, sizeof big - (size_t)n, "</rdf:li>");
    }
    n += snprintf(big + n, sizeof big - (size_t)n, "</rdf:Seq></p:PageInfo></rdf:Description>%s",
                  tail);
    ck_assert_int_lt(n, (int)sizeof big);
    ck_assert_int_eq(koi_xmp_safe((const uint8_t *)big, (size_t)n, 0, 1), 0);
    /* a DOCTYPE (entities could hide what is checked) */
    static const char dt[] = "<!DOCTYPE x [<!ENTITY e 'GPS'>]><x>&e;</x>";
    ck_assert_int_eq(koi_xmp_safe((const uint8_t *)dt, strlen(dt), 1, 1), 0);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_quality_of_libjpeg_files,
                            test_strip_location,
                            test_redacted_body_drops_thumbnail_keeps_gps,
                            test_malformed_exif_is_refused,
                            test_xmp_strip_forms,
                            test_xmp_safe_after_blanking,
                            test_exif_redacted_keeps_only_what_ifd0_uses};
    return unit_run(&(unit_suite){.name = "jpeg_edit", .timeout_s = 30, .global_init = 1}, tests,
                    UNIT_COUNT(tests));
}
