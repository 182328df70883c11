/* Private: metadata of a photo as read from its JPEG header (EXIF, XMP, SOF). NaN / 0 / ""
 * mean "not in the file". */
#ifndef KEEPOUT_IMAGE_META_H
#define KEEPOUT_IMAGE_META_H

#include <stddef.h>
#include <stdint.h>

#include "keepout/keepout.h"

/* Extended XMP may reassemble up to this many bytes; a larger claim is an error. */
#define KOI_XMP_MAX (4u << 20)

typedef struct koi_image_meta {
    /* EXIF */
    char make[64], model[64];
    char datetime[32]; /* ISO 8601 from DateTimeOriginal */
    double lat, lon, gps_alt_m;
    char gps_status;  /* GPSStatus: 'A' active, 'V' void (no fix); 0 if absent */
    char gps_measure; /* GPSMeasureMode: '2' 2D, '3' 3D fix; 0 if absent */
    double focal_mm, focal35_mm;
    double fp_xres, fp_yres, fp_unit_mm; /* focal plane resolution, pixels per unit */
    uint32_t exif_width, exif_height;    /* PixelX/YDimension */
    uint32_t sof_width, sof_height;      /* the coded image */
    int has_exif;
    /* XMP */
    int has_xmp;
    const char *vendor; /* static: "dji", "pix4d", "parrot", "skydio" or NULL */
    double gimbal_yaw, gimbal_pitch, gimbal_roll;
    double flight_yaw, flight_pitch, flight_roll;
    double rel_alt_m, abs_alt_m;
    double cal_focal_px, cal_cx_px, cal_cy_px;
    char dewarp[256];
    char problem[160]; /* a defect found on the way (e.g. a malformed XMP packet) */
    /* The image data is not all there (the header may be): "truncated: ...", or "". The
     * metadata is still read, so its callers decide (a photo shot is then unknown). */
    char incomplete[192];
} koi_image_meta;

void koi_image_meta_init(koi_image_meta *m);

/* Reads the header segments of a JPEG through GDAL's VSI layer, up to the first SOS, and the
 * file's last bytes (that it ends with the EOI marker, else m->incomplete says so): the
 * entropy-coded data in between is not read. Only a regular file is opened (a local path
 * without blocking: a FIFO or device is KO_ERR_IO). KO_ERR_IO: unreadable; KO_ERR_FORMAT: not
 * a JPEG or damaged header. */
ko_status koi_jpeg_meta_read(ko_context *ctx, const char *path, koi_image_meta *m);

/* The same from bytes in memory (the fuzzers' entry point). */
ko_status koi_jpeg_meta_parse(ko_context *ctx, const uint8_t *data, size_t n, koi_image_meta *m);

/* EXIF (TIFF structure, after "Exif\0\0") and XMP packet parsers. */
ko_status koi_exif_parse(const uint8_t *tiff, size_t n, koi_image_meta *m);
/* The XMP parser is the context's (expat, reset per packet). */
ko_status koi_xmp_parse(ko_context *ctx, const char *xml, size_t n, koi_image_meta *m);
void koi_xmp_free(void *parser);
/* The same through expat alone (tests and fuzzers compare the two). */
ko_status koi_xmp_parse_expat(ko_context *ctx, const char *xml, size_t n, koi_image_meta *m);

/* The common XMP shape (x:xmpmeta > rdf:RDF > one rdf:Description, properties as attributes)
 * without expat: calls fn(user, "uri|local", parent, value) for each attribute in the order
 * expat would, and returns 1; returns 0, having called nothing, for anything else. */
typedef void (*koi_xmp_property)(void *user, const char *qname, const char *parent,
                                 const char *value);
int koi_xmp_simple(const char *xml, size_t n, koi_xmp_property fn, void *user);

/* The camera of a photo, in the resolution order DewarpData / calibrated focal length ->
 * EXIF focal plane resolution -> camera table -> 35 mm-equivalent focal length. Returns 0 and
 * a reason in why if none applies. how names the source used. */
int koi_image_camera(ko_context *ctx, const koi_image_meta *m, ko_camera *cam, const char **how,
                     char *why, size_t why_size);

#endif
