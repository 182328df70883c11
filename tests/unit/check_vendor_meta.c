/* Survey cameras beyond DJI's visible JPEGs (issue 21): the TIFF reader, vendor XMP
 * vocabularies and the camera table's thermal, multispectral and named entries. Files are the
 * real samples in tests/data/vendors (gzipped, read through /vsigzip/); expected values are
 * ExifTool's (exiftool -n, as images/SAMPLES_MORE.md lists them) and the makers' specs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <json-c/json.h>

#include "camera/camera.h"
#include "check_runner.h"
#include "keepout/keepout.h"
#include "meta/meta.h"

static ko_context *ctx;

static void setup(void) {
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
}

static void teardown(void) {
    ko_context_destroy(ctx);
}

#define GZ(name) "/vsigzip/" KEEPOUT_TEST_FIXTURES "/vendors/" name ".gz"
#define RAD2DEG (180.0 / 3.14159265358979323846)

/* MicaSense RedEdge band 1: GPSLatitude 36.5760815 N, GPSLongitude 119.4352604 W, GPSAltitude
 * 174.527, GPSDOP 1.22000003; 1280 x 960, 16 bits, 1 sample, Orientation 1; XMP-DLS:Yaw
 * -0.36845451174720734 rad, the same attitude as XMP-Camera:IrradianceYaw -21.11 deg. */
START_TEST(test_tiff_micasense_band) {
    koi_image_meta m;
    ck_assert_int_eq(koi_tiff_meta_read(ctx, GZ("IMG_0001_1.tif"), &m), KO_OK);
    ck_assert_str_eq(m.make, "MicaSense");
    ck_assert_str_eq(m.model, "RedEdge");
    ck_assert_uint_eq(m.sof_width, 1280);
    ck_assert_uint_eq(m.sof_height, 960);
    ck_assert_int_eq(m.bits_per_sample, 16);
    ck_assert_int_eq(m.samples_per_pixel, 1);
    ck_assert_int_eq(m.orientation, 1);
    ck_assert_double_eq_tol(m.lat, 36.5760815, 1e-7);
    ck_assert_double_eq_tol(m.lon, -119.4352604, 1e-7);
    ck_assert_double_eq_tol(m.gps_alt_m, 174.527, 1e-3);
    ck_assert_double_eq_tol(m.gps_dop, 1.22, 1e-6);
    ck_assert_double_eq_tol(m.focal_mm, 5.5, 1e-9);
    /* no camera attitude: the DLS's is the airframe's, in radians */
    ck_assert(isnan(m.gimbal_yaw) && isnan(m.gimbal_pitch));
    ck_assert_double_eq_tol(m.flight_yaw, -21.11, 0.005);
    ck_assert_double_eq_tol(m.flight_yaw, -0.36845451174720734 * RAD2DEG, 1e-9);
    ck_assert_ptr_nonnull(m.airframe_from);
    ck_assert_str_eq(m.lens_model, "perspective");
    ck_assert_str_eq(m.incomplete, "");
    ko_camera c;
    const char *how = NULL;
    char why[256];
    ck_assert_int_eq(koi_image_camera(ctx, &m, &c, &how, why, sizeof why), 1);
    /* FocalPlaneXResolution 266.666667 per mm: 3.75 um pixels, the RedEdge's 4.8 x 3.6 mm */
    ck_assert_double_eq_tol(c.sensor_w_mm, 4.8, 1e-5);
    ck_assert_double_eq_tol(c.sensor_h_mm, 3.6, 1e-5);
}
END_TEST

/* Parrot Sequoia GRE: no position (GPSStatus V), Orientation 3, XMP-Camera Yaw -63.782867,
 * Pitch 0.457283 (Pix4D: nadir 0), Roll 1.283353, ModelType fisheye. */
START_TEST(test_tiff_sequoia_fisheye_band) {
    koi_image_meta m;
    ck_assert_int_eq(koi_tiff_meta_read(ctx, GZ("IMG_180413_080658_0000_GRE.TIF"), &m), KO_OK);
    ck_assert_int_eq(m.orientation, 3);
    ck_assert_int_eq(m.gps_status, 'V');
    ck_assert(isnan(m.lat) && isnan(m.lon));
    ck_assert_str_eq(m.lens_model, "fisheye");
    ck_assert_double_eq_tol(m.gimbal_yaw, -63.782867, 1e-9);
    ck_assert_double_eq_tol(m.gimbal_pitch, 0.457283 - 90.0, 1e-9);
    ck_assert_double_eq_tol(m.gimbal_roll, 1.283353, 1e-9);
}
END_TEST

/* senseFly thermoMAP: XMP namespaces "sensefly/" and "Camera/" (relative URIs); Yaw 189.428,
 * Pitch 12.5908, Roll -3.384 of the eBee; GPSAltitude 142.365088 with no GPSAltitudeRef. */
START_TEST(test_tiff_sensefly_relative_namespaces) {
    koi_image_meta m;
    ck_assert_int_eq(koi_tiff_meta_read(ctx, GZ("Sensefly_Thermomap_9mm.tif"), &m), KO_OK);
    ck_assert_double_eq_tol(m.lat, 40.0594223, 1e-7);
    ck_assert_double_eq_tol(m.lon, 23.402305, 1e-7);
    ck_assert_double_eq_tol(m.gps_alt_m, 142.365088, 1e-6);
    ck_assert_double_eq_tol(m.flight_yaw, 189.428, 1e-9);
    ck_assert_double_eq_tol(m.flight_pitch, 12.5908, 1e-9);
    ck_assert_double_eq_tol(m.flight_roll, -3.384, 1e-9);
    ck_assert_ptr_nonnull(m.airframe_from);
    ck_assert(isnan(m.gimbal_pitch));
}
END_TEST

/* Workswell WIRIS: GPSLatitude 49.6508, GPSLongitude 15.4973 without their Ref tags, and
 * GPSAltitudeRef the text "m": no position, no altitude, a note saying why. */
START_TEST(test_tiff_workswell_no_hemisphere) {
    koi_image_meta m;
    ck_assert_int_eq(koi_tiff_meta_read(ctx, GZ("Wiris_2nd_Gen_640_19mm.tiff"), &m), KO_OK);
    ck_assert(isnan(m.lat) && isnan(m.lon) && isnan(m.gps_alt_m));
    ck_assert_ptr_nonnull(strstr(m.gps_note, "GPSLatitudeRef"));
    ck_assert_str_eq(m.make, "");
    ck_assert_str_eq(m.model, "WIRIS640");
}
END_TEST

/* FLIR Duo Pro R: GPS 0 S / 0 W (no fix); XMP without x:xmpmeta, CRLF, rationals:
 * Camera:Yaw 16319/100, Pitch -8759/100, Roll -9509/100; MAV* all 0/100. */
START_TEST(test_tiff_flir_rationals_and_no_fix) {
    koi_image_meta m;
    ck_assert_int_eq(koi_tiff_meta_read(ctx, GZ("FLIR_DUO_PRO_640_R_13mm.TIFF"), &m), KO_OK);
    ck_assert(m.lat == 0.0 && m.lon == 0.0);
    ck_assert_double_eq_tol(m.gimbal_yaw, 163.19, 1e-9);
    ck_assert_double_eq_tol(m.gimbal_pitch, -87.59 - 90.0, 1e-9);
    ck_assert_double_eq_tol(m.gimbal_roll, -95.09, 1e-9);
    ck_assert_ptr_null(m.airframe_from); /* MAV* all zero: nothing recorded */
    /* FocalPlaneXResolution 10.88 "per mm" is the sensor's width: not believed, so the camera
     * comes from the table (17 um x 640) */
    ko_camera c;
    const char *how = NULL;
    char why[256];
    ck_assert_int_eq(koi_image_camera(ctx, &m, &c, &how, why, sizeof why), 1);
    ck_assert_str_eq(how, "camera table");
    ck_assert_double_eq_tol(c.sensor_w_mm, 10.88, 1e-9);
    ck_assert_double_eq_tol(c.sensor_h_mm, 8.704, 1e-9);
}
END_TEST

/* DJI Zenmuse XT S R-JPEG: prefix DJI: (http://www.dji.com), xmlns:DJI twice, trailer cut by
 * NULs: RelativeAltitude +37.70, GimbalPitchDegree +19.90, GimbalYawDegree +91.30. */
START_TEST(test_jpeg_xts_malformed_xmp_mended) {
    koi_image_meta m;
    ck_assert_int_eq(koi_jpeg_meta_read(ctx, GZ("DJI_XTS.jpg"), &m), KO_OK);
    ck_assert_str_eq(m.vendor, "dji");
    ck_assert_int_eq(m.xmp_repaired, 1);
    ck_assert_double_eq_tol(m.rel_alt_m, 37.70, 1e-9);
    ck_assert_double_eq_tol(m.gimbal_pitch, 19.90, 1e-9);
    ck_assert_double_eq_tol(m.gimbal_yaw, 91.30, 1e-9);
    ck_assert_double_eq_tol(m.abs_alt_m, -29.44, 1e-9);
    /* GPSAltitudeRef 1: 29.4 m below sea level */
    ck_assert_double_eq_tol(m.gps_alt_m, -29.4, 1e-9);
    /* other defects still fail the packet */
    const char bad[] =
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
        "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">"
        "<rdf:Description xmlns:a=\"u\" xmlns:a=\"v\"/></rdf:RDF></x:xmpmeta>";
    koi_image_meta_init(&m);
    ck_assert_int_eq(koi_xmp_parse(ctx, bad, strlen(bad), &m), KO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(m.problem, "duplicate"));
}
END_TEST

/* M2EA: EXIF 23.0639829 N 113.3348168 E and XMP GpsLatitude +23.0639912, GpsLongitude
 * +113.3348573 (about 4 m apart). */
START_TEST(test_jpeg_m2ea_both_positions) {
    koi_image_meta m;
    ck_assert_int_eq(koi_jpeg_meta_read(ctx, GZ("M2EA_DJI_20250117111343_0139_T.JPG"), &m), KO_OK);
    ck_assert_double_eq_tol(m.lat, 23.0639829, 1e-7);
    ck_assert_double_eq_tol(m.lon, 113.3348168, 1e-7);
    ck_assert_double_eq_tol(m.xmp_lat, 23.0639912, 1e-9);
    ck_assert_double_eq_tol(m.xmp_lon, 113.3348573, 1e-9);
}
END_TEST

START_TEST(test_xmp_dji_misspelling_and_flir_mav) {
    const char x[] =
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
        "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">"
        "<rdf:Description xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" "
        "xmlns:FLIR=\"http://ns.flir.com/xmp/1.0/\" "
        "drone-dji:GpsLatitude=\"+46.5\" drone-dji:GpsLongtitude=\"-7.25\" "
        "FLIR:MAVYaw=\"1234/100\"/></rdf:RDF></x:xmpmeta>";
    koi_image_meta m;
    koi_image_meta_init(&m);
    ck_assert_int_eq(koi_xmp_parse(ctx, x, strlen(x), &m), KO_OK);
    ck_assert_double_eq_tol(m.xmp_lat, 46.5, 1e-12);
    ck_assert_double_eq_tol(m.xmp_lon, -7.25, 1e-12);
    ck_assert_ptr_nonnull(m.airframe_from);
    ck_assert(isnan(m.flight_yaw)); /* units undocumented: not used */
}
END_TEST

/* A TIFF cut inside its image data (the Vue Pro's strips follow its IFD) is incomplete. */
START_TEST(test_tiff_truncated_image_data) {
    VSILFILE *f = VSIFOpenL(GZ("FLIR_VuePro640_exif-js-issue-124.tiff"), "rb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 700000;
    unsigned char *b = malloc(cap);
    size_t n = VSIFReadL(b, 1, cap, f);
    VSIFCloseL(f);
    ck_assert_uint_eq(n, 661160); /* the original's size (images/SAMPLES_MORE.md) */
    koi_image_meta m;
    ck_assert_int_eq(koi_tiff_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_str_eq(m.incomplete, "");
    ck_assert_str_eq(m.model, "Vue Pro 640 9mm");
    ck_assert_double_eq_tol(m.lat, 23.919916, 1e-6);
    ck_assert_int_eq(koi_tiff_meta_parse(ctx, b, 100000, &m), KO_OK);
    ck_assert_ptr_nonnull(strstr(m.incomplete, "truncated"));
    /* every shorter cut: an error or incomplete, never a crash */
    for (size_t k = 0; k < 8000; k += 7) {
        ko_status st = koi_tiff_meta_parse(ctx, b, k, &m);
        ck_assert(st != KO_OK || m.incomplete[0]);
    }
    free(b);
}
END_TEST

/* A BigTIFF written by GDAL with the EXIF as metadata items (GDAL_METADATA, tag 42112). */
START_TEST(test_bigtiff_gdal_metadata_items) {
    GDALAllRegister();
    const char *path = "/vsimem/big.tif";
    char *opts[] = {"BIGTIFF=YES", NULL};
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, 40, 30, 4, GDT_UInt16, opts);
    ck_assert_ptr_nonnull(ds);
    char *md[] = {"EXIF_Make=DJI",
                  "EXIF_Model=FC6310R",
                  "EXIF_FocalLength=(8.8)",
                  "EXIF_GPSLatitudeRef=S",
                  "EXIF_GPSLatitude=(33) (51) (54)",
                  "EXIF_GPSLongitudeRef=E",
                  "EXIF_GPSLongitude=(151) (12) (36)",
                  "EXIF_GPSAltitudeRef=0x01",
                  "EXIF_GPSAltitude=(12.5)",
                  "EXIF_DateTimeOriginal=2021:03:04 05:06:07",
                  NULL};
    GDALSetMetadata(ds, md, NULL);
    GDALClose(ds);
    koi_image_meta m;
    ck_assert_int_eq(koi_tiff_meta_read(ctx, path, &m), KO_OK);
    VSIUnlink(path);
    ck_assert_uint_eq(m.sof_width, 40);
    ck_assert_uint_eq(m.sof_height, 30);
    ck_assert_int_eq(m.samples_per_pixel, 4);
    ck_assert_int_eq(m.bits_per_sample, 16);
    ck_assert_str_eq(m.make, "DJI");
    ck_assert_str_eq(m.model, "FC6310R");
    ck_assert_double_eq_tol(m.focal_mm, 8.8, 1e-12);
    ck_assert_double_eq_tol(m.lat, -(33 + 51 / 60.0 + 54 / 3600.0), 1e-12);
    ck_assert_double_eq_tol(m.lon, 151 + 12 / 60.0 + 36 / 3600.0, 1e-12);
    ck_assert_double_eq_tol(m.gps_alt_m, -12.5, 1e-12);
    ck_assert_str_eq(m.datetime, "2021-03-04T05:06:07");
    ck_assert_str_eq(m.incomplete, "");
    /* unsigned degrees with an S or W letter: a negative one contradicts its letter (-33 51'
     * summed is -32.14, and S makes it 32 N): no position, and the note says why */
    koi_image_meta g;
    koi_image_meta_init(&g);
    koi_gdal_metadata(
        "<GDALMetadata><Item name=\"EXIF_GPSLatitudeRef\">S</Item>"
        "<Item name=\"EXIF_GPSLatitude\">(-33) (51) (54)</Item>"
        "<Item name=\"EXIF_GPSLongitudeRef\">E</Item>"
        "<Item name=\"EXIF_GPSLongitude\">(151) (12) (36)</Item></GDALMetadata>",
        &g);
    ck_assert(isnan(g.lat) && isnan(g.lon));
    ck_assert_msg(strstr(g.gps_note, "negative degree"), "%s", g.gps_note);
}
END_TEST

/* Model "XT2" is two cameras: the frame picks the sensor (DJI: thermal 640 x 512 at 17 um =
 * 10.88 x 8.704 mm; the visible camera's 4000 x 3000 entry in droneModels.json, 7.433226 mm). */
START_TEST(test_camera_one_model_two_sensors) {
    ko_camera c;
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "DJI", "XT2", 640, 512, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 10.88, 1e-9);
    ck_assert_double_eq_tol(c.sensor_h_mm, 8.704, 1e-9);
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "DJI", "XT2", 4000, 3000, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 7.433226, 1e-6);
    /* H20T: thermal 640 x 512 at 12 um (DJI spec) = 7.68 x 6.144 mm */
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "DJI", "ZH20T", 640, 512, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 7.68, 1e-9);
    /* a frame no entry of the model can give is not fitted to the wrong sensor */
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "DJI", "XT S", 100, 300, &c), KO_ERR_NOT_FOUND);
}
END_TEST

/* `--camera MAKE/MODEL,focal=,size=` (ko_camera_from_spec): the stated frame picks the sensor
 * of a Model that is several and is kept; without it such a Model is an error naming the
 * camera. XT2 thermal: 640 x 512 at 17 um = 10.88 x 8.704 mm (DJI); FC300S: one sensor,
 * 6.3175 mm wide at 4000 px (droneModels.json), a 2000 x 1500 size a scaled copy of it. */
START_TEST(test_camera_spec_model_with_frame) {
    ko_camera c;
    ck_assert_int_eq(ko_camera_from_spec(ctx, "DJI/XT2,focal=13,size=640x512", &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 10.88, 1e-9);
    ck_assert_double_eq_tol(c.sensor_h_mm, 8.704, 1e-9);
    ck_assert_uint_eq(c.width_px, 640);
    ck_assert_uint_eq(c.height_px, 512);
    ck_assert_double_eq(c.focal_mm, 13);
    ck_assert_int_eq(ko_camera_from_spec(ctx, "DJI/XT2,focal=8,size=4000x3000", &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 7.433226, 1e-6);
    ck_assert_int_ne(ko_camera_from_spec(ctx, "DJI/XT2,focal=13", &c), KO_OK);
    ck_assert_msg(strstr(ko_errmsg(ctx), "XT2") && strstr(ko_errmsg(ctx), "size="), "%s",
                  ko_errmsg(ctx));
    ck_assert_int_ne(ko_camera_from_spec(ctx, "DJI/XT2,focal=13,size=300x100", &c), KO_OK);
    ck_assert_int_eq(ko_camera_from_spec(ctx, "DJI/FC300S,focal=3.61", &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 6.3175, 1e-9);
    ck_assert_uint_eq(c.width_px, 4000);
    ck_assert_int_eq(ko_camera_from_spec(ctx, "DJI/FC300S,focal=3.61,size=2000x1500", &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 6.3175, 1e-9);
    ck_assert_uint_eq(c.width_px, 2000);
    ck_assert_uint_eq(c.height_px, 1500);
}
END_TEST

/* One Model, several sensors, over both tables: the frame's own sensor first, then one it is a
 * full-width crop of at native pixels, then a scaled copy; equally good sensors of different
 * frames are no answer. Figures from the makers (Parrot: Sequoia bands 1280 x 960 at 3.75 um,
 * RGB 4608 x 3456 at 1.34 um; DJI: H20T zoom 1/1.7", 6.83 mm = 31.7 mm equivalent, a 9.32 mm
 * diagonal, >= 7.45 mm wide; Autel XT709 thermal 640 x 512 at 12 um, visible 8000 x 6000,
 * 1/2" 6.4 mm) and droneModels.json's entries as written (djiFC2403 thermal 1.92/640). */
START_TEST(test_camera_frame_ranked_over_both_tables) {
    ck_assert_int_eq(koi_frame_rank(640, 512, 640, 512), 0);
    ck_assert_int_eq(koi_frame_rank(640, 360, 640, 512), 1);
    ck_assert_int_eq(koi_frame_rank(320, 256, 640, 512), 2);
    ck_assert_int_eq(koi_frame_rank(320, 180, 640, 512), 3);
    ck_assert_int_eq(koi_frame_rank(640, 400, 640, 512), -1);
    ck_assert_int_eq(koi_frame_rank(0, 0, 640, 512), 0);
    ko_camera c;
    /* Sequoia: each frame its own sensor (first-fit gave the RGB frame the band's) */
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "Parrot", "Sequoia", 4608, 3456, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 4608 * 1.34e-3, 1e-9);
    ck_assert_double_eq_tol(c.sensor_h_mm, 3456 * 1.34e-3, 1e-9);
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "Parrot", "Sequoia", 1280, 960, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 1280 * 3.75e-3, 1e-9);
    /* 2304 x 1728: a half-size copy of the RGB, or a 1.8x upscale of a band: no guess */
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "Parrot", "Sequoia", 2304, 1728, &c),
                     KO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "1280 x 960"));
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "4608 x 3456"));
    /* H20T zoom 5184 x 3888 is not a scaled copy of the wide's 4056 x 3040 */
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "DJI", "ZH20T", 5184, 3888, &c), KO_OK);
    ck_assert_uint_eq(c.width_px, 5184);
    ck_assert_double_ge(c.sensor_w_mm, 7.45);
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "DJI", "ZH20T", 4056, 3040, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 6.576918, 1e-6);
    /* XT709 (droneModels only): a full-width crop of the thermal frame is the thermal's, and
     * the thermal records its sensor's frame only (isThermal); the visible has 16:9 modes */
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "Autel Robotics", "XT709", 640, 360, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 7.68, 1e-9);
    ck_assert_int_eq(koi_camera_frame_only_exif(ctx, "Autel Robotics", "XT709", 640, 360), 1);
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "Autel Robotics", "XT709", 8000, 4500, &c),
                     KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 6.4, 1e-9);
    ck_assert_int_eq(koi_camera_frame_only_exif(ctx, "Autel Robotics", "XT709", 8000, 4500), 0);
    /* 320 x 180 is a scaled 16:9 crop of either: no guess */
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "Autel Robotics", "XT709", 320, 180, &c),
                     KO_ERR_NOT_FOUND);
    /* the M2ED's thermal 640 x 480 (droneModels' second djiFC2403 entry) is not a scaled copy
     * of its 4056 x 3040 visible entry, listed first */
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "DJI", "FC2403", 640, 480, &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 1.92, 1e-9);
    ck_assert_int_eq(koi_camera_frame_only_exif(ctx, "DJI", "FC2403", 640, 480), 1);
    /* the bundled thermal entries are frame-only too; a visible frame of XT2 is not */
    ck_assert_int_eq(koi_camera_frame_only_exif(ctx, "DJI", "XT2", 640, 512), 1);
    ck_assert_int_eq(koi_camera_frame_only_exif(ctx, "DJI", "XT2", 4000, 3000), 0);
    /* without a frame, the first entry as before (droneModels' visible XT2) */
    ck_assert_int_eq(ko_camera_lookup(ctx, "DJI", "XT2", &c), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 7.433226, 1e-6);
}
END_TEST

/* "6.17/4000.0" or "7.68d/640.0d" (Java literals) -> mm per pixel; the test's own reading. */
static double table_pitch(json_object *e, const char *key) {
    json_object *v;
    if (!json_object_object_get_ex(e, key, &v)) return NAN;
    char buf[64];
    size_t k = 0;
    for (const char *p = json_object_get_string(v); *p && k + 1 < sizeof buf; p++)
        if (*p != 'd') buf[k++] = *p;
    buf[k] = '\0';
    double a = 0, b = 1;
    return sscanf(buf, "%lf/%lf", &a, &b) >= 1 && b > 0 ? a / b : NAN;
}

/* Every droneModels.json entry whose x and y pixel pitches agree within 10 % is looked up by
 * its key and frame to its own sensor (pitch x pixels); one whose pitches differ more is not
 * in the table. Only "teledyne flirBOSON 640" is (7.68/512 x 5.76/640 mm: 15 x 9 um, a 9.60 x
 * 4.608 mm sensor; the Boson 640 has 12 um pixels, 7.68 x 6.144 mm, Teledyne FLIR's
 * datasheet). */
START_TEST(test_camera_table_pitches_square) {
    json_object *root = json_object_from_file(KEEPOUT_TEST_DATA "/cameras/droneModels.json"), *list;
    ck_assert_ptr_nonnull(root);
    ck_assert(json_object_object_get_ex(root, "droneCCDParams", &list));
    size_t n = json_object_array_length(list), refused = 0;
    ck_assert_uint_gt(n, 100);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(list, i), *v;
        ck_assert(json_object_object_get_ex(e, "makeModel", &v));
        const char *key = json_object_get_string(v);
        double px = table_pitch(e, "ccdWidthMMPerPixel"),
               py = table_pitch(e, "ccdHeightMMPerPixel");
        ck_assert(json_object_object_get_ex(e, "widthPixels", &v));
        uint32_t w = (uint32_t)json_object_get_int(v);
        ck_assert(json_object_object_get_ex(e, "heightPixels", &v));
        uint32_t h = (uint32_t)json_object_get_int(v);
        ck_assert_msg(px > 0 && py > 0 && w && h, "%s", key);
        ko_camera c;
        ko_status st = koi_camera_lookup_frame(ctx, NULL, key, w, h, &c);
        if (fabs(px / py - 1) > 0.10) {
            refused++;
            ck_assert_msg(st == KO_ERR_NOT_FOUND, "%s: %.3f x %.3f um taken", key, px * 1e3,
                          py * 1e3);
            continue;
        }
        ck_assert_msg(st == KO_OK, "%s %u x %u: %s", key, w, h, ko_errmsg(ctx));
        ck_assert_msg(
            fabs(c.sensor_w_mm / (px * w) - 1) < 1e-9 && fabs(c.sensor_h_mm / (py * h) - 1) < 1e-9,
            "%s: %.4f x %.4f mm, the entry's %.4f x %.4f", key, c.sensor_w_mm, c.sensor_h_mm,
            px * w, py * h);
    }
    ck_assert_uint_eq(refused, 1);
    ko_camera c;
    ck_assert_int_eq(koi_camera_lookup_frame(ctx, "Teledyne FLIR", "BOSON 640", 640, 512, &c),
                     KO_ERR_NOT_FOUND);
    json_object_put(root);
}
END_TEST

/* Cameras by name, against the makers' specifications. */
START_TEST(test_camera_by_name) {
    ko_camera c;
    const char *src = NULL;
    /* Phantom 4 RTK: 1" 13.2 x 8.8 mm, 5472 x 3648, 8.8 mm */
    ck_assert_int_eq(ko_camera_by_name(ctx, "DJI FC6310R", &c, &src), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 13.2, 1e-9);
    ck_assert_double_eq_tol(c.sensor_h_mm, 8.8, 1e-9);
    ck_assert_double_eq_tol(c.focal_mm, 8.8, 1e-9);
    ck_assert_uint_eq(c.width_px, 5472);
    ck_assert_ptr_nonnull(strstr(src, "dji.com"));
    /* Mavic 3E: 4/3 17.3 x 13 mm, 12.29 mm */
    ck_assert_int_eq(ko_camera_by_name(ctx, "mavic-3e", &c, NULL), KO_OK);
    ck_assert_double_eq_tol(c.sensor_w_mm, 17.3, 1e-9);
    ck_assert_double_eq_tol(c.focal_mm, 12.29, 1e-9);
    /* H20T wide: 4.5 mm, DFOV 82.9 deg */
    ck_assert_int_eq(ko_camera_by_name(ctx, "Zenmuse H20T wide", &c, NULL), KO_OK);
    double dfov = 2 * atan(hypot(c.sensor_w_mm, c.sensor_h_mm) / 2 / c.focal_mm) * RAD2DEG;
    ck_assert_double_eq_tol(dfov, 82.9, 1e-9);
    ck_assert_double_eq_tol(c.focal_mm, 4.5, 1e-12);
    ck_assert_int_eq(ko_camera_by_name(ctx, "No Such Camera 9000", &c, NULL), KO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "No Such Camera 9000"));
}
END_TEST

/* --- DJI maker notes as a fallback pose (expected values: exiftool -n -DJI:all, 12.57) ----- */

/* The bytes of a gzipped test file (caller frees). */
static unsigned char *slurp(const char *path, size_t *n) {
    VSILFILE *f = VSIFOpenL(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 4 << 20;
    unsigned char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    *n = VSIFReadL(b, 1, cap, f);
    VSIFCloseL(f);
    ck_assert(*n > 0 && *n < cap);
    return b;
}

/* Every occurrence of from (same length as to) rewritten: an XMP property renamed is one the
 * file no longer has, the packet staying well-formed and the same size. Returns the count. */
static int rename_all(unsigned char *b, size_t n, const char *from, const char *to) {
    size_t k = strlen(from);
    int count = 0;
    ck_assert_uint_eq(k, strlen(to));
    for (unsigned char *p = b; (p = memmem(p, n - (size_t)(p - b), from, k)) != NULL; p += k) {
        memcpy(p, to, k);
        count++;
    }
    return count;
}

/* The XMP drone-dji gimbal angles (and with flight, the aircraft's) renamed away. */
static void drop_xmp_pose(unsigned char *b, size_t n, int flight) {
    ck_assert_int_eq(rename_all(b, n, "drone-dji:GimbalYawDegree", "drone-dji:XimbalYawDegree"), 1);
    ck_assert_int_eq(rename_all(b, n, "drone-dji:GimbalPitchDegree", "drone-dji:XimbalPitchDegree"),
                     1);
    ck_assert_int_eq(rename_all(b, n, "drone-dji:GimbalRollDegree", "drone-dji:XimbalRollDegree"),
                     1);
    if (!flight) return;
    ck_assert_int_eq(rename_all(b, n, "drone-dji:FlightYawDegree", "drone-dji:XlightYawDegree"), 1);
    ck_assert_int_eq(rename_all(b, n, "drone-dji:FlightPitchDegree", "drone-dji:XlightPitchDegree"),
                     1);
    ck_assert_int_eq(rename_all(b, n, "drone-dji:FlightRollDegree", "drone-dji:XlightRollDegree"),
                     1);
}

/* Zenmuse X3 (FC350): maker-note IFD DJI:Pitch 0.200000002980232, Yaw 44.7000007629395, Roll
 * -8.69999980926514, CameraPitch -90, CameraYaw 46.5999984741211, CameraRoll 0 (float32); the
 * XMP's GimbalYawDegree +46.60 agrees within float32 noise and rounding, so no note. */
START_TEST(test_makernote_dji_ifd_x3) {
    size_t n;
    unsigned char *b = slurp(GZ("DJI_Zenmuse_X3.JPG"), &n);
    koi_image_meta m;
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_double_eq_tol(m.mn_flight_pitch, 0.200000002980232, 1e-12);
    ck_assert_double_eq_tol(m.mn_flight_yaw, 44.7000007629395, 1e-12);
    ck_assert_double_eq_tol(m.mn_flight_roll, -8.69999980926514, 1e-12);
    ck_assert_double_eq_tol(m.mn_gimbal_pitch, -90.0, 1e-12);
    ck_assert_double_eq_tol(m.mn_gimbal_yaw, 46.5999984741211, 1e-12);
    ck_assert_double_eq_tol(m.mn_gimbal_roll, 0.0, 1e-12);
    ck_assert_double_eq_tol(m.gimbal_yaw, 46.60, 1e-12); /* the XMP's, as written */
    ck_assert_ptr_null(m.attitude_from);
    ck_assert_str_eq(m.attitude_note, "");
    /* no XMP gimbal angles: the maker note's camera attitude */
    drop_xmp_pose(b, n, 0);
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_double_eq_tol(m.gimbal_yaw, 46.5999984741211, 1e-12);
    ck_assert_double_eq_tol(m.gimbal_pitch, -90.0, 1e-12);
    ck_assert_double_eq_tol(m.gimbal_roll, 0.0, 1e-12);
    ck_assert_double_eq_tol(m.flight_yaw, 44.70, 1e-12); /* the XMP's FlightYawDegree */
    ck_assert_str_eq(m.attitude_from, "DJI maker note CameraYaw/CameraPitch/CameraRoll");
    ck_assert_str_eq(m.vendor, "dji");
    free(b);
}
END_TEST

/* Both present: 0.05 degrees apart is rounding (no note); anything more leaves neither believed
 * (one of two writings of one gimbal reading is wrong, and it may be the XMP's): the note says
 * so and the reader makes the shot unknown. */
static const char *shot_of(const unsigned char *b, size_t n, ko_pose *pose, const char *key,
                           const char **value);

START_TEST(test_makernote_and_xmp_disagreeing) {
    size_t n;
    unsigned char *b = slurp(GZ("DJI_Zenmuse_X3.JPG"), &n);
    ck_assert_int_eq(rename_all(b, n, "GimbalYawDegree=\"+46.60\"", "GimbalYawDegree=\"+56.60\""),
                     1);
    koi_image_meta m;
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_double_eq_tol(m.gimbal_yaw, 56.60, 1e-12);
    ck_assert_ptr_null(m.attitude_from);
    ck_assert_ptr_nonnull(strstr(m.attitude_note, "(46.60, -90.00, 0.00)"));
    ck_assert_ptr_nonnull(strstr(m.attitude_note, "(56.60, -90.00, 0.00)"));
    ck_assert_ptr_nonnull(strstr(m.attitude_note, "cannot be told"));
    ck_assert_int_eq(m.attitude_disagree, 1);
    ko_pose pose;
    const char *v = NULL, *why = shot_of(b, n, &pose, "attitude_conflict", &v);
    ck_assert_msg(why && strstr(why, "differs from the XMP gimbal"), "%s", why ? why : "(clear)");
    /* half a degree is no rounding either (0.99 deg of pitch moved an oblique view's far edge
     * 221 m: adversary adv21b) */
    ck_assert_int_eq(rename_all(b, n, "GimbalYawDegree=\"+56.60\"", "GimbalYawDegree=\"+47.10\""),
                     1);
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_int_eq(m.attitude_disagree, 1);
    why = shot_of(b, n, &pose, "attitude_conflict", &v);
    ck_assert_msg(why && strstr(why, "cannot be told"), "%s", why ? why : "(clear)");
    /* 0.05 degrees is rounding, not a disagreement */
    ck_assert_int_eq(rename_all(b, n, "GimbalYawDegree=\"+47.10\"", "GimbalYawDegree=\"+46.65\""),
                     1);
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_str_eq(m.attitude_note, "");
    free(b);
}
END_TEST

/* M2EA: maker-note records DJI:GimbalDegree "342,-900,0" and DJI:FlightDegree "901,-130,-13"
 * (tenths, yaw,pitch,roll), the XMP's GimbalYaw/Pitch/Roll +34.20/-90.00/+0.00 and
 * FlightYaw/Pitch/Roll +90.10/-13.00/-1.30. */
START_TEST(test_makernote_dji_records_m2ea) {
    size_t n;
    unsigned char *b = slurp(GZ("M2EA_DJI_20250117111343_0139_T.JPG"), &n);
    koi_image_meta m;
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_double_eq_tol(m.mn_gimbal_yaw, 34.2, 1e-12);
    ck_assert_double_eq_tol(m.mn_gimbal_pitch, -90.0, 1e-12);
    ck_assert_double_eq_tol(m.mn_gimbal_roll, 0.0, 1e-12);
    ck_assert_double_eq_tol(m.mn_flight_yaw, 90.1, 1e-12);
    ck_assert_double_eq_tol(m.mn_flight_pitch, -13.0, 1e-12);
    ck_assert_double_eq_tol(m.mn_flight_roll, -1.3, 1e-12);
    ck_assert_str_eq(m.attitude_note, "");
    drop_xmp_pose(b, n, 1);
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_double_eq_tol(m.gimbal_yaw, 34.2, 1e-12);
    ck_assert_double_eq_tol(m.gimbal_pitch, -90.0, 1e-12);
    ck_assert_double_eq_tol(m.flight_yaw, 90.1, 1e-12);
    ck_assert_double_eq_tol(m.flight_roll, -1.3, 1e-12);
    ck_assert_str_eq(m.attitude_from, "DJI maker note GimbalDegree(Y,P,R)");
    ck_assert_ptr_null(m.airframe_from);
    free(b);
}
END_TEST

/* The shot of a photo written to /vsimem/, its reason (or NULL) and one extra value. */
static const char *shot_of(const unsigned char *b, size_t n, ko_pose *pose, const char *key,
                           const char **value) {
    static char reason[1024];
    const char *path = "/vsimem/makernote.jpg";
    VSIFCloseL(VSIFileFromMemBuffer(path, (GByte *)b, n, FALSE));
    ko_reader *r = NULL;
    ko_shot s;
    ck_assert_int_eq(ko_reader_open(ctx, path, NULL, &r), KO_OK);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    *pose = s.pose;
    snprintf(reason, sizeof reason, "%s", s.reason ? s.reason : "");
    static char v[512];
    v[0] = '\0';
    for (size_t i = 0; i < s.n_extra; i++)
        if (!strcmp(s.extra_keys[i], key)) snprintf(v, sizeof v, "%s", s.extra_values[i]);
    *value = v;
    ko_reader_close(r);
    VSIUnlink(path);
    return reason[0] ? reason : NULL;
}

/* Through the reader: the X3 without XMP gimbal angles gets the maker note's camera pose; the
 * M2EA's stays unknown (its gimbal cannot yaw, yet its GimbalDegree yaw is 55.9 degrees off
 * its FlightDegree yaw), now naming the maker-note tags. */
START_TEST(test_makernote_pose_through_the_reader) {
    size_t n;
    unsigned char *b = slurp(GZ("DJI_Zenmuse_X3.JPG"), &n);
    drop_xmp_pose(b, n, 1);
    ko_pose p;
    const char *from = NULL;
    ck_assert_ptr_null(shot_of(b, n, &p, "attitude_from", &from));
    ck_assert_str_eq(from, "DJI maker note CameraYaw/CameraPitch/CameraRoll");
    ck_assert_double_eq_tol(p.yaw_deg, 46.5999984741211, 1e-9);
    ck_assert_double_eq_tol(p.pitch_deg, -90.0, 1e-9);
    ck_assert_double_eq_tol(p.roll_deg, 0.0, 1e-9);
    ck_assert_double_eq_tol(p.height_m, 29.40, 1e-9); /* XMP RelativeAltitude */
    free(b);
    b = slurp(GZ("M2EA_DJI_20250117111343_0139_T.JPG"), &n);
    drop_xmp_pose(b, n, 1);
    const char *why = shot_of(b, n, &p, "attitude_from", &from);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "camera heading ambiguous: DJI maker note GimbalDegree"));
    ck_assert_ptr_nonnull(strstr(why, "55.9 deg apart"));
    free(b);
}
END_TEST

/* The maker note's aircraft attitude alone is not the camera's: unknown, naming its tags. The
 * X3's camera tags (9-11) are renumbered 12-14; the M2EA's GimbalDegree record renamed. */
START_TEST(test_makernote_airframe_alone_is_unknown) {
    size_t n;
    unsigned char *b = slurp(GZ("DJI_Zenmuse_X3.JPG"), &n);
    drop_xmp_pose(b, n, 1);
    /* the maker-note IFD: 11 entries, the first Make "DJI" (exiftool -v3) */
    static const unsigned char head[] = {11, 0, 1, 0, 2, 0, 4, 0, 0, 0, 'D', 'J', 'I', 0};
    unsigned char *ifd = memmem(b, n, head, sizeof head);
    ck_assert_ptr_nonnull(ifd);
    for (int i = 0; i < 11; i++)
        if (ifd[2 + 12 * i] >= 9 && ifd[2 + 12 * i] <= 11) ifd[2 + 12 * i] += 3;
    ko_pose p;
    const char *v = NULL;
    const char *why = shot_of(b, n, &p, "airframe_attitude", &v);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "no camera attitude"));
    ck_assert_ptr_nonnull(strstr(why, "DJI maker note Yaw/Pitch/Roll (the aircraft's)"));
    ck_assert_str_eq(v, "DJI maker note Yaw/Pitch/Roll (the aircraft's)");
    free(b);
    b = slurp(GZ("M2EA_DJI_20250117111343_0139_T.JPG"), &n);
    drop_xmp_pose(b, n, 1);
    ck_assert_int_eq(rename_all(b, n, "[GimbalDegree(", "[GimbalDegreX("), 1);
    why = shot_of(b, n, &p, "airframe_attitude", &v);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "DJI maker note FlightDegree(Y,P,R) (the aircraft's)"));
    free(b);
}
END_TEST

/* Crafted maker notes: an entry count past the note, records cut or malformed, the note cut at
 * every length (EXIF alone, so the cut is the TIFF's end): no angle, never a read outside. */
START_TEST(test_makernote_crafted) {
    size_t n;
    unsigned char *b = slurp(GZ("DJI_Zenmuse_X3.JPG"), &n);
    static const unsigned char head[] = {11, 0, 1, 0, 2, 0, 4, 0, 0, 0, 'D', 'J', 'I', 0};
    unsigned char *ifd = memmem(b, n, head, sizeof head);
    ck_assert_ptr_nonnull(ifd);
    ifd[0] = 22; /* 22 entries do not fit its 256 bytes */
    koi_image_meta m;
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert(isnan(m.mn_gimbal_yaw) && isnan(m.mn_flight_yaw));
    ck_assert_ptr_null(m.mn_gimbal_from);
    ifd[0] = 11;
    const unsigned char *tiff = b + 12; /* SOI, APP1 marker and length, "Exif\0\0" */
    size_t tiff_n = ((size_t)b[4] << 8 | b[5]) - 8;
    for (size_t k = (size_t)(ifd - tiff); k < (size_t)(ifd - tiff) + 256; k++) {
        ck_assert_int_eq(koi_exif_parse(tiff, k, (koi_image_meta_init(&m), &m)), KO_OK);
        ck_assert(isnan(m.mn_gimbal_yaw)); /* the note does not fit: not read */
    }
    ck_assert_int_eq(koi_exif_parse(tiff, tiff_n, (koi_image_meta_init(&m), &m)), KO_OK);
    ck_assert_double_eq_tol(m.mn_gimbal_pitch, -90.0, 1e-12);
    /* CameraYaw (tag 10, float32 held in its entry) 1e30: no angle, so no camera attitude
     * (fmod folded it into a heading of 120 deg: adversary adv21b) */
    unsigned char *e = ifd + 2;
    while (e < ifd + 2 + 12 * 11 && (e[0] | e[1] << 8) != 10)
        e += 12;
    ck_assert_int_eq(e[0] | e[1] << 8, 10);
    float huge = 1e30f;
    memcpy(e + 8, &huge, 4); /* (the X3's maker note is little-endian, as this machine) */
    ck_assert_int_eq(koi_exif_parse(tiff, tiff_n, (koi_image_meta_init(&m), &m)), KO_OK);
    ck_assert(isnan(m.mn_gimbal_yaw) && isnan(m.mn_gimbal_pitch));
    ck_assert_ptr_null(m.mn_gimbal_from);
    free(b);
    b = slurp(GZ("M2EA_DJI_20250117111343_0139_T.JPG"), &n);
    static const char *bad[] = {"342,-900]",   "342,-900,0,5", "342;-900;0",
                                "1234567,0,0", ",-900,0",      "342,-900,"};
    unsigned char *rec = memmem(b, n, "[GimbalDegree(Y,P,R):", 21);
    ck_assert_ptr_nonnull(rec);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(rec + 21, 0, 12);
        memcpy(rec + 21, bad[i], strlen(bad[i]));
        ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
        ck_assert_msg(isnan(m.mn_gimbal_yaw), "%s read as %g", bad[i], m.mn_gimbal_yaw);
        ck_assert_double_eq_tol(m.mn_flight_yaw, 90.1, 1e-12);
    }
    free(b);
}
END_TEST

/* The fuzz seeds reach the maker-note parser, through the JPEG and the TIFF readers
 * (scripts/make_makernote_seeds.py; ExifTool reads the same values from them). */
START_TEST(test_makernote_fuzz_seeds) {
    static const char *const seeds[] = {
        "jpeg_meta/dji_makernote_ifd.jpg", "jpeg_meta/dji_makernote_records.jpg",
        "tiff_meta/dji_makernote_ifd.tif", "tiff_meta/dji_makernote_records.tif"};
    static const double yaw[] = {46.5999984741211, 34.2, 46.5999984741211, 34.2};
    for (int i = 0; i < 4; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/../fuzz/corpus/%s", KEEPOUT_TEST_FIXTURES, seeds[i]);
        koi_image_meta m;
        ko_status st = strstr(path, ".tif") ? koi_tiff_meta_read(ctx, path, &m)
                                            : koi_jpeg_meta_read(ctx, path, &m);
        ck_assert_int_eq(st, KO_OK);
        ck_assert_msg(fabs(m.mn_gimbal_yaw - yaw[i]) < 1e-12, "%s: %g", path, m.mn_gimbal_yaw);
        ck_assert_double_eq_tol(m.gimbal_pitch, -90.0, 1e-12); /* the fallback: no XMP */
        ck_assert_ptr_nonnull(m.attitude_from);
    }
}
END_TEST

/* --- A rig band's boresight (MicaSense/Pix4D Camera:RigRelatives) ------------------------ */

/* Expectations derived by hand from MicaSense's R = Rx Ry Rz (OpenCV axes: x right, y down,
 * z the view) taking the band's rays into the reference band's, for a reference band looking
 * straight down with the top of its image north (yaw 0, pitch -90, roll 0). Its image right is
 * east, its image up north. Rx(a) turns the band's view (0,0,1) into (0,-sin a,cos a) of the
 * reference: toward its image top, north, so the band looks a degrees north of nadir (yaw 0,
 * pitch -90 + a). Ry(b): (sin b,0,cos b), b degrees east. Rz(c) turns its image right (1,0,0)
 * into (cos c,sin c,0), toward the reference's image bottom: its image top turns c degrees
 * clockwise from north (yaw c). */
static void view_right(double yaw, double pitch, double roll, double view[3], double right[3]) {
    koi_rot r;
    koi_rotation(yaw, pitch, roll, &r);
    for (int i = 0; i < 3; i++)
        view[i] = r.m[i][0], right[i] = r.m[i][1]; /* body x: the view; body y: image right */
}

START_TEST(test_rig_boresight_geometry) {
    const double a = 2.0 * 3.14159265358979323846 / 180.0;
    double y, p, r, v[3], rt[3];
    y = 0, p = -90, r = 0;
    koi_rig_boresight((double[]){2, 0, 0}, &y, &p, &r);
    ck_assert_double_eq_tol(p, -88.0, 1e-9);
    ck_assert_double_eq_tol(fmod(y + 180.0, 360.0) - 180.0, 0.0, 1e-9);
    ck_assert_double_eq_tol(r, 0.0, 1e-9);
    view_right(y, p, r, v, rt);
    ck_assert_double_eq_tol(v[0], sin(a), 1e-12); /* north */
    ck_assert_double_eq_tol(v[1], 0.0, 1e-12);
    ck_assert_double_eq_tol(v[2], cos(a), 1e-12);
    y = 0, p = -90, r = 0;
    koi_rig_boresight((double[]){0, 2, 0}, &y, &p, &r);
    view_right(y, p, r, v, rt);
    ck_assert_double_eq_tol(v[0], 0.0, 1e-12);
    ck_assert_double_eq_tol(v[1], sin(a), 1e-12); /* east */
    ck_assert_double_eq_tol(v[2], cos(a), 1e-12);
    ck_assert_double_eq_tol(rt[0], 0.0, 1e-12); /* its image right still east, tipped up */
    ck_assert_double_eq_tol(rt[1], cos(a), 1e-12);
    ck_assert_double_eq_tol(rt[2], -sin(a), 1e-12);
    y = 0, p = -90, r = 0;
    koi_rig_boresight((double[]){0, 0, 2}, &y, &p, &r);
    view_right(y, p, r, v, rt);
    ck_assert_double_eq_tol(v[2], 1.0, 1e-12); /* still straight down */
    ck_assert_double_eq_tol(rt[0], -sin(a), 1e-12);
    ck_assert_double_eq_tol(rt[1], cos(a), 1e-12);
    ck_assert_double_eq_tol(y, 2.0, 1e-9);
    /* zero boresight: any attitude unchanged (angles back out of their matrix) */
    for (double yy = 0; yy < 360; yy += 37)
        for (double pp = -89; pp <= 29; pp += 17)
            for (double rr = -170; rr < 180; rr += 41) {
                y = yy, p = pp, r = rr;
                koi_rig_boresight((double[]){0, 0, 0}, &y, &p, &r);
                ck_assert_double_eq_tol(y, yy, 1e-9);
                ck_assert_double_eq_tol(p, pp, 1e-9);
                ck_assert_double_eq_tol(r, rr, 1e-9);
            }
}
END_TEST

/* Pix4D's attitude (Camera:Pitch 0 = nadir, Roll about the flight direction, positive right
 * wing down) in keepout's frame, against hand-derived directions: a camera heading north at
 * Pitch 0 rolled 45 looks 45 deg off nadir to the west (a banking wing's belly camera looks
 * away from the turn), its image right east; heading east, Pitch 20 (tipped forward) and roll
 * -30 looks ahead and to the right (south); Roll 0 keeps the plain mapping (pitch - 90). */
START_TEST(test_pix4d_pose_geometry) {
    const double d = 3.14159265358979323846 / 180.0;
    double y, p, r, v[3], rt[3];
    koi_pix4d_pose(0, 0, 45, &y, &p, &r);
    view_right(y, p, r, v, rt);
    ck_assert_double_eq_tol(v[0], 0.0, 1e-12);
    ck_assert_double_eq_tol(v[1], -sin(45 * d), 1e-12); /* west */
    ck_assert_double_eq_tol(v[2], cos(45 * d), 1e-12);  /* down */
    ck_assert_double_eq_tol(p, -45.0, 1e-9);
    ck_assert_double_eq_tol(y, 270.0, 1e-9);
    ck_assert_double_eq_tol(rt[0], 0.0, 1e-12); /* image right: east, tipped down */
    ck_assert_double_eq_tol(rt[1], cos(45 * d), 1e-12);
    ck_assert_double_eq_tol(rt[2], sin(45 * d), 1e-12);
    /* heading east, pitch 20 forward, roll -30: view = Rz(90) Ry(20) Rx(-30) (0, 0, 1) */
    koi_pix4d_pose(90, 20, -30, &y, &p, &r);
    view_right(y, p, r, v, rt);
    double ax = sin(20 * d) * cos(-30 * d), ay = -sin(-30 * d), az = cos(20 * d) * cos(-30 * d);
    ck_assert_double_eq_tol(v[0], -ay, 1e-12); /* Rz(90): (x, y) -> (-y, x) */
    ck_assert_double_eq_tol(v[1], ax, 1e-12);
    ck_assert_double_eq_tol(v[2], az, 1e-12);
    ck_assert(v[0] < 0 && v[1] > 0); /* ahead (east) and to the right (south) */
    for (double yy = 0; yy < 360; yy += 41)
        for (double pp = 0; pp <= 80; pp += 16) {
            koi_pix4d_pose(yy, pp, 0, &y, &p, &r);
            ck_assert_double_eq_tol(p, pp - 90.0, 1e-9);
            if (pp > 0) ck_assert_double_eq_tol(fmod(y - yy + 540.0, 360.0) - 180.0, 0.0, 1e-9);
            ck_assert_double_eq_tol(r, 0.0, 1e-9);
        }
}
END_TEST

/* The value as MicaSense writes it (an Altum band in exifr's tests: "-0.127427, 0.183305,
 * 0.058653"); anything but three numbers, a list included, is present but unread. */
/* One packet, two camera attitudes: drone-dji's gimbal pitch -30 (oblique) and Pix4D's
 * Camera:Pitch 0 (nadir) disagree, in either order, and so does one property given twice; Pix4D's
 * and a gimbal's are not believed together even where the numbers agree (their rolls are
 * different rotations; a restated pitch skipped Pix4D's conversion: adversary adv21b). */
START_TEST(test_xmp_camera_attitude_said_twice) {
#define TWO_XMP(body)                                                             \
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "                             \
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description " \
    "xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" "                      \
    "xmlns:Camera=\"http://pix4d.com/camera/1.0/\">" body                         \
    "</rdf:Description></rdf:RDF>"                                                \
    "</x:xmpmeta>"
    static const char *const xmp[] = {
        TWO_XMP("<drone-dji:GimbalPitchDegree>-30.00</drone-dji:GimbalPitchDegree>"
                "<Camera:Pitch>0</Camera:Pitch>"),
        TWO_XMP("<Camera:Pitch>0</Camera:Pitch>"
                "<drone-dji:GimbalPitchDegree>-30.00</drone-dji:GimbalPitchDegree>"),
        TWO_XMP("<drone-dji:GimbalYawDegree>10</drone-dji:GimbalYawDegree>"
                "<drone-dji:GimbalYawDegree>190</drone-dji:GimbalYawDegree>"),
        TWO_XMP("<drone-dji:GimbalPitchDegree>-89.90</drone-dji:GimbalPitchDegree>"
                "<Camera:Pitch>0.3</Camera:Pitch>")};
    static const int disagree[] = {1, 1, 1, 1}; /* (Pix4D's and a gimbal's: never compared) */
    for (int i = 0; i < 4; i++) {
        koi_image_meta m;
        koi_image_meta_init(&m);
        ck_assert_int_eq(koi_xmp_parse(ctx, xmp[i], strlen(xmp[i]), &m), KO_OK);
        ck_assert_msg(m.attitude_disagree == disagree[i], "%d: %d %s", i, m.attitude_disagree,
                      m.attitude_note);
        if (disagree[i]) ck_assert_ptr_nonnull(strstr(m.attitude_note, "cannot be told"));
    }
    /* text no writer gives: a hex float is no number, 1e300 no angle */
    static const char *const odd[] = {
        TWO_XMP("<drone-dji:GimbalPitchDegree>-0x5Ap0</drone-dji:GimbalPitchDegree>"),
        TWO_XMP("<drone-dji:GimbalYawDegree>1e300</drone-dji:GimbalYawDegree>")};
    koi_image_meta m;
    koi_image_meta_init(&m);
    ck_assert_int_eq(koi_xmp_parse(ctx, odd[0], strlen(odd[0]), &m), KO_OK);
    /* stated but no number: not an absent angle the maker note would fill (adversary adv21's
     * hex pitch on DJI_0020 was taken from its maker note) */
    ck_assert(isnan(m.gimbal_pitch) && m.attitude_disagree);
    ck_assert_ptr_nonnull(strstr(m.attitude_note, "as no number"));
    koi_image_meta_init(&m);
    ck_assert_int_eq(koi_xmp_parse(ctx, odd[1], strlen(odd[1]), &m), KO_OK);
    ck_assert(isnan(m.gimbal_yaw) && m.attitude_disagree);
    ck_assert_ptr_nonnull(strstr(m.attitude_note, "not an angle"));
#undef TWO_XMP
}
END_TEST

START_TEST(test_rig_relatives_xmp) {
#define PIX4D_XMP(body)                                                           \
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "                             \
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description " \
    "xmlns:Camera=\"http://pix4d.com/1.0\">" body "</rdf:Description></rdf:RDF></x:xmpmeta>"
    static const char *const xmp[] = {
        PIX4D_XMP("<Camera:RigRelatives>-0.127427, 0.183305, 0.058653</Camera:RigRelatives>"),
        PIX4D_XMP("<Camera:RigRelatives>1,2</Camera:RigRelatives>"),
        PIX4D_XMP("<Camera:RigRelatives><rdf:Seq><rdf:li>0.5</rdf:li><rdf:li>0.2</rdf:li>"
                  "<rdf:li>-0.3</rdf:li></rdf:Seq></Camera:RigRelatives>"),
        PIX4D_XMP("<Camera:RigRelatives/>")};
    static const int state[] = {1, -1, -1, -1};
    for (int i = 0; i < 4; i++) {
        koi_image_meta m;
        koi_image_meta_init(&m);
        ck_assert_int_eq(koi_xmp_parse(ctx, xmp[i], strlen(xmp[i]), &m), KO_OK);
        ck_assert_msg(m.rig_state == state[i], "%d: %d", i, m.rig_state);
    }
    koi_image_meta m;
    koi_image_meta_init(&m);
    ck_assert_int_eq(koi_xmp_parse(ctx, xmp[0], strlen(xmp[0]), &m), KO_OK);
    ck_assert_double_eq_tol(m.rig_rel[0], -0.127427, 1e-12);
    ck_assert_double_eq_tol(m.rig_rel[1], 0.183305, 1e-12);
    ck_assert_double_eq_tol(m.rig_rel[2], 0.058653, 1e-12);
#undef PIX4D_XMP
}
END_TEST

/* The shot of a TIFF band in memory, read with assume_nadir. */
static const char *band_shot(const unsigned char *b, size_t n, ko_pose *pose) {
    static char reason[1024];
    const char *path = "/vsimem/band.tif";
    VSIFCloseL(VSIFileFromMemBuffer(path, (GByte *)b, n, FALSE));
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    ko_reader *r = NULL;
    ko_shot s;
    ck_assert_int_eq(ko_reader_open(ctx, path, &o, &r), KO_OK);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    *pose = s.pose;
    snprintf(reason, sizeof reason, "%s", s.reason ? s.reason : "");
    ko_reader_close(r);
    VSIUnlink(path);
    return reason[0] ? reason : NULL;
}

/* The band's one reason (the RedEdge writes no height above take-off): its pose is still read. */
#define NO_HEIGHT "/vsimem/band.tif: no height above take-off (XMP RelativeAltitude) in the file"

/* MicaSense RedEdge band 1 (RigCameraIndex 0, no RigRelatives: the rig's reference band, and
 * firmware 2.1.2 writes none) with assume_nadir: nadir along the DLS yaw, -0.36845451174720734
 * rad. The same band given RigRelatives "2,0,0" (in place of its BandSensitivity element, the
 * packet's size kept) looks 2 degrees toward its image top, the heading: pitch -88. */
START_TEST(test_rig_micasense_band) {
    size_t n;
    unsigned char *b = slurp(GZ("IMG_0001_1.tif"), &n);
    const double yaw = 360.0 - 0.36845451174720734 * RAD2DEG;
    ko_pose p;
    ck_assert_str_eq(band_shot(b, n, &p), NO_HEIGHT);
    ck_assert_double_eq_tol(p.yaw_deg, yaw, 1e-9);
    ck_assert_double_eq_tol(p.pitch_deg, -90.0, 1e-12);
    const char *from = "<Camera:BandSensitivity>0.25995123202591713</Camera:BandSensitivity>";
    char to[80];
    snprintf(to, sizeof to, "%-*s", (int)strlen(from),
             "<Camera:RigRelatives>2,0,0</Camera:RigRelatives>");
    ck_assert_int_eq(rename_all(b, n, from, to), 1);
    ck_assert_str_eq(band_shot(b, n, &p), NO_HEIGHT);
    ck_assert_double_eq_tol(p.yaw_deg, yaw, 1e-9);
    ck_assert_double_eq_tol(p.pitch_deg, -88.0, 1e-9);
    ck_assert_double_eq_tol(p.roll_deg, 0.0, 1e-9);
    /* 12 degrees off its reference band is no rig band's boresight: unknown */
    ck_assert_int_eq(rename_all(b, n, "RigRelatives>2,0,0</Camera:RigRelatives> ",
                                "RigRelatives>12,0,0</Camera:RigRelatives>"),
                     1);
    const char *why = band_shot(b, n, &p);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "RigRelatives (12, 0, 0)"));
    /* present but unreadable: unknown, not the reference band's pose */
    ck_assert_int_eq(rename_all(b, n, ">12,0,0<", ">12;0;0<"), 1);
    why = band_shot(b, n, &p);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "\"12;0;0\" is not three angles"));
    free(b);
}
END_TEST

/* Pix4D's perspective lens model (Pix4D, "Specifications of XMP Camera Tags": PrincipalPoint
 * cx, cy in mm; PerspectiveDistortion R1, R2, R3, T1, T2). The RedEdge band writes the
 * distortion as an rdf:Seq, the Sequoia RGB as attribute text (exiftool -n values); read into
 * the camera model as MicaSense's imageprocessing library does: k1 k2 k3 p1 p2 = R1 R2 R3 T1
 * T2, cx = 2.35363 mm * 266.666667 px/mm (FocalPlaneXResolution) = 627.6347 px. Stated but
 * not so many decimal numbers, or twice: unknown. */
START_TEST(test_pix4d_lens_model) {
    koi_image_meta m;
    ck_assert_int_eq(koi_tiff_meta_read(ctx, GZ("IMG_0001_1.tif"), &m), KO_OK);
    ck_assert_int_eq(m.pix4d_dist_state, 1);
    ck_assert_int_eq(m.pix4d_pp_state, 1);
    ck_assert_double_eq_tol(m.pix4d_dist[0], -0.09679655532374383, 1e-15);
    ck_assert_double_eq_tol(m.pix4d_dist[4], 0.00066007295364609389, 1e-18);
    ko_camera c;
    const char *how = NULL;
    char why[320];
    ck_assert_int_eq(koi_image_camera(ctx, &m, &c, &how, why, sizeof why), 1);
    ck_assert_double_eq_tol(c.k1, -0.09679655532374383, 1e-15);
    ck_assert_double_eq_tol(c.k2, 0.14041893470790068, 1e-15);
    ck_assert_double_eq_tol(c.k3, -0.022980842634993275, 1e-15);
    ck_assert_double_eq_tol(c.p1, 0.00027583837742166351, 1e-18);
    ck_assert_double_eq_tol(c.p2, 0.00066007295364609389, 1e-18);
    ck_assert_double_eq_tol(c.cx_px, 2.35363 * 266.666667, 1e-3);
    ck_assert_double_eq_tol(c.cy_px, 1.79947 * 266.666667, 1e-3);
    /* one item of the rdf:Seq not a decimal number: the model is not known */
    size_t n;
    unsigned char *b = slurp(GZ("IMG_0001_1.tif"), &n);
    ck_assert_int_eq(
        rename_all(b, n, "<rdf:li>0.14041893470790068<", "<rdf:li>0x14041893470790068<"), 1);
    ck_assert_int_eq(koi_tiff_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_int_eq(m.pix4d_dist_state, -1);
    ck_assert_int_eq(koi_image_camera(ctx, &m, &c, &how, why, sizeof why), 0);
    ck_assert_msg(strstr(why, "PerspectiveDistortion") != NULL, "%s", why);
    free(b);
    /* the Sequoia RGB's attribute form */
    ck_assert_int_eq(koi_jpeg_meta_read(ctx, GZ("IMG_180413_080658_0000_RGB.JPG"), &m), KO_OK);
    ck_assert_int_eq(m.pix4d_dist_state, 1);
    ck_assert_double_eq_tol(m.pix4d_dist[1], -0.495503284, 1e-12);
    ck_assert_double_eq_tol(m.pix4d_dist[3], -0.000949212, 1e-12);
    ck_assert_double_eq_tol(m.pix4d_pp_mm[0], 3.051434, 1e-12);
    ck_assert_double_eq_tol(m.pix4d_pp_mm[1], 2.274263, 1e-12);
#define P4D(body)                                                                 \
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "                             \
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description " \
    "xmlns:Camera=\"http://pix4d.com/camera/1.0/\">" body                         \
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
    static const struct {
        const char *xmp;
        int dist, pp;
    } cases[] = {
        {P4D("<Camera:PerspectiveDistortion>0.1,0.2,0.3,0.4</Camera:PerspectiveDistortion>"), -1,
         0},
        {P4D("<Camera:PerspectiveDistortion>0.1,0.2,0.3,0.4,0x1p-3</Camera:PerspectiveDistortion>"),
         -1, 0},
        {P4D("<Camera:PerspectiveDistortion>0.1, 0.2, 0.3, 0.4, 0.5</Camera:PerspectiveDistortion>"
             "<Camera:PerspectiveDistortion>0.1,0.2,0.3,0.4,0.5</Camera:PerspectiveDistortion>"),
         -1, 0},
        {P4D("<Camera:PerspectiveDistortion><rdf:Seq><rdf:li>0.1</rdf:li><rdf:li>0.2</rdf:li>"
             "<rdf:li>0.3</rdf:li><rdf:li>0.4</rdf:li><rdf:li>0.5</rdf:li></rdf:Seq>"
             "</Camera:PerspectiveDistortion>"),
         1, 0},
        {P4D("<Camera:PerspectiveDistortion><rdf:Seq><rdf:li>0.1</rdf:li><rdf:li>0.2</rdf:li>"
             "<rdf:li>0.3</rdf:li><rdf:li>0.4</rdf:li><rdf:li><rdf:value>0.5</rdf:value>"
             "</rdf:li></rdf:Seq></Camera:PerspectiveDistortion>"),
         -1, 0},
        {P4D("<Camera:PerspectiveDistortion><rdf:Seq><rdf:li>0.1</rdf:li><rdf:li>0.2</rdf:li>"
             "<rdf:li>0.3</rdf:li><rdf:li>0.4</rdf:li><rdf:li>0.5</rdf:li></rdf:Seq><rdf:Seq/>"
             "</Camera:PerspectiveDistortion>"),
         -1, 0},
        {P4D("<Camera:PrincipalPoint>2.4</Camera:PrincipalPoint>"), 0, -1},
        {P4D("<Camera:PrincipalPoint>2.4,1.8</Camera:PrincipalPoint>"), 0, 1},
        {P4D("<Camera:PrincipalPoint>inf,1.8</Camera:PrincipalPoint>"), 0, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        koi_image_meta_init(&m);
        ck_assert_int_eq(koi_xmp_parse(ctx, cases[i].xmp, strlen(cases[i].xmp), &m), KO_OK);
        ck_assert_msg(m.pix4d_dist_state == cases[i].dist && m.pix4d_pp_state == cases[i].pp,
                      "%zu: %d %d", i, m.pix4d_dist_state, m.pix4d_pp_state);
    }
    koi_image_meta_init(&m);
    ck_assert_int_eq(koi_xmp_parse(ctx, cases[3].xmp, strlen(cases[3].xmp), &m), KO_OK);
    ck_assert_double_eq_tol(m.pix4d_dist[4], 0.5, 1e-15);
    /* beside DJI's DewarpData: two lens models, unknown */
    static const char two[] =
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
        "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
        "xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" "
        "xmlns:Camera=\"http://pix4d.com/camera/1.0/\" "
        "drone-dji:DewarpData=\"2020-10-19;2286.0,2286.0,0,0,0,0,0,0,0\" "
        "Camera:PerspectiveDistortion=\"0.1,0,0,0,0\"/></rdf:RDF></x:xmpmeta>";
    koi_image_meta_init(&m);
    ck_assert_int_eq(koi_xmp_parse(ctx, two, strlen(two), &m), KO_OK);
    m.sof_width = 4000, m.sof_height = 3000;
    ck_assert_int_eq(koi_image_camera(ctx, &m, &c, &how, why, sizeof why), 0);
    ck_assert_msg(strstr(why, "two lens models") != NULL, "%s", why);
#undef P4D
}
END_TEST

/* koi_decimal, the metadata readers' one number parser: decimal text as writers give it, and
 * none of the other spellings strtod reads. */
START_TEST(test_decimal_parser) {
    static const struct {
        const char *text;
        double v;
        size_t len; /* characters read */
    } good[] = {
        {"+45.00", 45.0, 6}, {"-0.127427", -0.127427, 9}, {".5", 0.5, 2},    {"1.", 1.0, 2},
        {"1e-3", 0.001, 4},  {"2.5E+2,1", 250.0, 6},      {"7/100", 7.0, 1}, {"12 ", 12.0, 2},
        {"1e", 1.0, 1}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        const char *end;
        double v = koi_decimal(good[i].text, &end);
        ck_assert_msg(v == good[i].v && (size_t)(end - good[i].text) == good[i].len, "%s: %g %zu",
                      good[i].text, v, (size_t)(end - good[i].text));
    }
    static const char *const bad[] = {"0x1p3",  "-0x5Ap0", "inf",    "-Infinity", "nan",
                                      "NAN(1)", "1e400",   "-1e999", "",          "+",
                                      ".",      "-.",      "e5",     " 5",        "x1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *end;
        double v = koi_decimal(bad[i], &end);
        ck_assert_msg(isnan(v) && end == bad[i], "%s: %g", bad[i], v);
    }
}
END_TEST

/* RigRelatives in decimal only: the C spellings CPLStrtod also reads ("0x1p1" is 2, "inf",
 * "nan", "1e400") are not numbers, so the band's boresight is unknown, as "12;0;0" is; before,
 * "0x1p1,0,0" turned the band 2 degrees as "2,0,0" does. In the parser, and through the reader
 * on the real RedEdge band (test_rig_micasense_band's edit). */
START_TEST(test_rig_relatives_decimal_only) {
    static const char *const odd[] = {"0x1p1,0,0", "2,0,inf",    "nan,0,0",
                                      "1e400,0,0", "0,-0x0p0,0", "infinity,0,0"};
    char xml[512];
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        snprintf(xml, sizeof xml,
                 "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
                 "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
                 "xmlns:Camera=\"http://pix4d.com/1.0\"><Camera:RigRelatives>%s"
                 "</Camera:RigRelatives></rdf:Description></rdf:RDF></x:xmpmeta>",
                 odd[i]);
        koi_image_meta m;
        koi_image_meta_init(&m);
        ck_assert_int_eq(koi_xmp_parse(ctx, xml, strlen(xml), &m), KO_OK);
        ck_assert_msg(m.rig_state == -1, "%s: %d", odd[i], m.rig_state);
    }
    size_t n;
    unsigned char *b = slurp(GZ("IMG_0001_1.tif"), &n);
    const char *from = "<Camera:BandSensitivity>0.25995123202591713</Camera:BandSensitivity>";
    char to[80];
    snprintf(to, sizeof to, "%-*s", (int)strlen(from),
             "<Camera:RigRelatives>0x1p1,0,0</Camera:RigRelatives>");
    ck_assert_int_eq(rename_all(b, n, from, to), 1);
    ko_pose p;
    const char *why = band_shot(b, n, &p);
    ck_assert_msg(why && strstr(why, "\"0x1p1,0,0\" is not three angles"), "%s",
                  why ? why : "(clear)");
    free(b);
}
END_TEST

/* Which files are the camera's own (koi_image_camera_original): firmware in Software (the
 * real samples' strings, tests/data/vendors and data/images), no editor's trace in the XMP.
 * DJI's own packet declares crs: with HasCrop="False": no trace. */
START_TEST(test_camera_original_or_edited) {
    static const struct {
        const char *software;
        int original;
    } sw[] = {{"v01.23.4920", 1},
              {"10.00.03.15", 1},
              {"V06.02.20", 1},
              {"v2.1.2-34-g05e37eb-local", 1},
              {"GIMP 2.10.34", 0},
              {"Adobe Photoshop Lightroom Classic 12.1 (Windows)", 0},
              {"darktable 4.2.1", 0},
              {"", 0},
              {"v", 0},
              {"12", 0},
              {".1.2", 0},
              {"1.2 beta", 0},
              /* two parts without a 'v': an app's or an OS's version as often as a camera's */
              {"17.1", 0},
              {"1.0", 0},
              {"17.1-beta", 0},
              {"v1.0", 1},
              {"V06.02", 1},
              {"1.2.3", 1},
              {"22.20.16.1", 1},
              {"02.02.01.00", 1},
              {"1.2.", 0},
              {"1..2.3", 0}};
    for (size_t i = 0; i < sizeof sw / sizeof *sw; i++) {
        koi_image_meta m;
        koi_image_meta_init(&m);
        snprintf(m.software, sizeof m.software, "%s", sw[i].software);
        ck_assert_msg(koi_image_camera_original(&m) == sw[i].original, "%s", sw[i].software);
    }
#define ADOBE_XMP(ns, body)                                                                   \
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "                                         \
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description " ns ">" body \
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
#define CRS "xmlns:crs=\"http://ns.adobe.com/camera-raw-settings/1.0/\""
    static const struct {
        const char *xmp;
        int trace;
    } xmp[] = {
        {ADOBE_XMP(CRS " crs:Version=\"7.0\" crs:HasCrop=\"False\" crs:AlreadyApplied=\"False\"",
                   ""),
         0},
        {ADOBE_XMP(CRS " crs:HasCrop=\"True\"", ""), 1},
        {ADOBE_XMP(CRS, "<crs:CropTop>0.1</crs:CropTop>"), 1},
        {ADOBE_XMP("xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmp:CreateDate=\"2016-06-23\"", ""),
         0},
        {ADOBE_XMP("xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"",
                   "<xmp:CreatorTool>GIMP 2.10</xmp:CreatorTool>"),
         1},
        {ADOBE_XMP("xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\" "
                   "xmlns:stEvt=\"http://ns.adobe.com/xap/1.0/sType/ResourceEvent#\"",
                   "<xmpMM:History><rdf:Seq><rdf:li rdf:parseType=\"Resource\"><stEvt:action>"
                   "saved</stEvt:action></rdf:li></rdf:Seq></xmpMM:History>"),
         1},
        {ADOBE_XMP("xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\" "
                   "photoshop:ColorMode=\"3\"",
                   ""),
         1},
    };
    for (size_t i = 0; i < sizeof xmp / sizeof *xmp; i++) {
        koi_image_meta m;
        koi_image_meta_init(&m);
        snprintf(m.software, sizeof m.software, "v01.23.4920");
        ck_assert_int_eq(koi_xmp_parse(ctx, xmp[i].xmp, strlen(xmp[i].xmp), &m), KO_OK);
        ck_assert_msg(!!m.editor_trace[0] == xmp[i].trace, "%zu: '%s'", i, m.editor_trace);
        ck_assert_int_eq(koi_image_camera_original(&m), !xmp[i].trace);
    }
#undef CRS
#undef ADOBE_XMP
}
END_TEST

/* DJI's drone-dji:GimbalReverse / CamReverse ("whether the gimbal / camera is upside down",
 * DJI's Mavic 3E/3M and Matrice 4 user manuals, "Photo File" field list) and DewarpFlag
 * ("whether the camera parameters have been dewarped: 0 not dewarped, 1 dewarped"). The Zenmuse
 * X3 sample writes CamReverse="0" GimbalReverse="0" and its shot is clear; either flag at "1"
 * is an image upside down from what its gimbal angles say: unknown, naming the tag. A dewarped
 * image no longer follows the lens model: unknown. "False" is 0 (DJI's manuals write both). The
 * XT2's visible JPEG writes them as elements (XMP inside EXIF tag 700). */
START_TEST(test_dji_reverse_and_dewarp_flags) {
    size_t n;
    unsigned char *b = slurp(GZ("DJI_Zenmuse_X3.JPG"), &n);
    ko_pose p;
    const char *v = NULL, *why = shot_of(b, n, &p, "camera", &v);
    ck_assert_msg(!why, "%s", why);
    static const struct {
        const char *from, *to, *tag;
    } flip[] = {{"GimbalReverse=\"0\"", "GimbalReverse=\"1\"", "drone-dji:GimbalReverse is \"1\""},
                {"CamReverse=\"0\"", "CamReverse=\"1\"", "drone-dji:CamReverse is \"1\""},
                {"CamReverse=\"0\"", "DewarpFlag=\"1\"", "drone-dji:DewarpFlag is \"1\""}};
    for (size_t i = 0; i < sizeof flip / sizeof *flip; i++) {
        ck_assert_int_eq(rename_all(b, n, flip[i].from, flip[i].to), 1);
        why = shot_of(b, n, &p, "camera", &v);
        ck_assert_msg(why && strstr(why, flip[i].tag), "%zu: %s", i, why ? why : "(clear)");
        ck_assert_int_eq(rename_all(b, n, flip[i].to, flip[i].from), 1);
    }
    /* DewarpFlag 0: not dewarped, as before */
    ck_assert_int_eq(rename_all(b, n, "CamReverse=\"0\"", "DewarpFlag=\"0\""), 1);
    why = shot_of(b, n, &p, "camera", &v);
    ck_assert_msg(!why, "%s", why);
    ck_assert_int_eq(rename_all(b, n, "DewarpFlag=\"0\"", "XamReverse=\"0\""), 1);
    /* "False" and "True", in place of FlightZSpeed (same length, padded) */
    const char *speed = "drone-dji:FlightZSpeed=\"+0.00\"";
    char to[40];
    snprintf(to, sizeof to, "%-*s", (int)strlen(speed), "drone-dji:CamReverse=\"False\"");
    ck_assert_int_eq(rename_all(b, n, speed, to), 1);
    why = shot_of(b, n, &p, "camera", &v);
    ck_assert_msg(!why, "%s", why);
    ck_assert_int_eq(rename_all(b, n, "CamReverse=\"False\"", "CamReverse=\"True\" "), 1);
    why = shot_of(b, n, &p, "camera", &v);
    ck_assert_msg(why && strstr(why, "drone-dji:CamReverse is \"True\""), "%s",
                  why ? why : "(clear)");
    free(b);
    b = slurp(GZ("DJI_Zenmuse_XT2_640_R_13mm.jpg"), &n);
    why = shot_of(b, n, &p, "camera", &v);
    ck_assert_msg(!why, "%s", why);
    ck_assert_int_eq(rename_all(b, n, "<drone-dji:GimbalReverse>0<", "<drone-dji:GimbalReverse>1<"),
                     1);
    why = shot_of(b, n, &p, "camera", &v);
    ck_assert_msg(why && strstr(why, "drone-dji:GimbalReverse is \"1\""), "%s",
                  why ? why : "(clear)");
    free(b);
}
END_TEST

/* The XMP of one rdf:Description declaring drone-dji:, drone-parrot: and Camera:. */
#define POSE_XMP(attrs, body)                                                     \
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "                             \
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description " \
    "xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" "                      \
    "xmlns:drone-parrot=\"http://www.parrot.com/drone-parrot/1.0/\" "             \
    "xmlns:Camera=\"http://pix4d.com/camera/1.0/\" " attrs ">" body               \
    "</rdf:Description></rdf:RDF>"                                                \
    "</x:xmpmeta>"

static void parse_one(const char *xml, koi_image_meta *m) {
    koi_image_meta_init(m);
    ck_assert_int_eq(koi_xmp_parse(ctx, xml, strlen(xml), m), KO_OK);
}

/* An element's text longer than the parser's 511-byte buffer is no number, never its cut
 * prefix (adversary adv21c): "-90.<520 zeros>e-1" is -9 (a view 9 degrees below the horizon),
 * and was read as -90 (nadir). The same text short is read. */
START_TEST(test_xmp_overlong_text_is_no_number) {
    static char xml[2048], digits[600];
    memset(digits, '0', 520);
    snprintf(digits + 520, sizeof digits - 520, "e-1");
    ck_assert_double_eq_tol(strtod((char[]){"-90.0000e-1"}, NULL), -9.0, 1e-12);
    snprintf(xml, sizeof xml,
             POSE_XMP("", "<drone-dji:GimbalPitchDegree>-90.%s</drone-dji:GimbalPitchDegree>"),
             digits);
    koi_image_meta m;
    parse_one(xml, &m);
    ck_assert_msg(isnan(m.gimbal_pitch), "read as %g", m.gimbal_pitch); /* not -90 */
    ck_assert_int_eq(m.attitude_disagree, 1);
    ck_assert_ptr_nonnull(strstr(m.attitude_note, "as no number"));
    ck_assert_ptr_nonnull(strstr(m.attitude_note, "511 bytes"));
    /* a height so written is stated but not read: the file is unknown */
    snprintf(xml, sizeof xml,
             POSE_XMP("", "<drone-dji:RelativeAltitude>40.%s</drone-dji:RelativeAltitude>"),
             digits);
    parse_one(xml, &m);
    ck_assert(isnan(m.rel_alt_m));
    ck_assert_ptr_nonnull(strstr(m.conflict_note, "height above take-off"));
    /* 500 bytes fit: read whole ("-90.<494 zeros>e-1" is -9) */
    digits[494] = '\0';
    strcat(digits, "e-1");
    snprintf(xml, sizeof xml,
             POSE_XMP("", "<drone-dji:GimbalPitchDegree>-90.%s</drone-dji:GimbalPitchDegree>"),
             digits);
    parse_one(xml, &m);
    ck_assert_double_eq_tol(m.gimbal_pitch, -9.0, 1e-12);
    ck_assert_int_eq(m.attitude_disagree, 0);
}
END_TEST

/* A camera angle written as a structure (XMP part 1, 7.8: an rdf:value qualifier; an rdf:Alt)
 * is stated but not read: unknown, not absent, so the maker note does not stand in for it
 * (adversary adv21c: -30 so written, the maker note's -89.9 taken). Text beside a child
 * element is not the value either ("-3<a/>0" is not 0). */
START_TEST(test_xmp_structured_value_is_not_read) {
    static const char *const xmp[] = {
        POSE_XMP("",
                 "<drone-dji:GimbalPitchDegree rdf:parseType=\"Resource\"><rdf:value>-30.00"
                 "</rdf:value></drone-dji:GimbalPitchDegree>"),
        POSE_XMP("",
                 "<drone-dji:GimbalPitchDegree><rdf:Alt><rdf:li xml:lang=\"x-default\">-30.00"
                 "</rdf:li></rdf:Alt></drone-dji:GimbalPitchDegree>"),
        POSE_XMP("", "<drone-dji:GimbalPitchDegree>-3<rdf:Seq/>0</drone-dji:GimbalPitchDegree>"),
        POSE_XMP("", "<drone-dji:GimbalPitchDegree></drone-dji:GimbalPitchDegree>"),
        POSE_XMP("", "<Camera:Pitch><rdf:Seq><rdf:li>0</rdf:li></rdf:Seq></Camera:Pitch>"),
    };
    for (size_t i = 0; i < sizeof xmp / sizeof *xmp; i++) {
        koi_image_meta m;
        parse_one(xmp[i], &m);
        ck_assert_msg(isnan(m.gimbal_pitch) && m.attitude_disagree, "%zu: %g", i, m.gimbal_pitch);
        ck_assert_msg(strstr(m.attitude_note, "as no number"), "%zu: %s", i, m.attitude_note);
    }
    /* an attribute-form rdf:value beside a plain value: the plain one is read */
    koi_image_meta m;
    parse_one(POSE_XMP("drone-dji:GimbalYawDegree=\"12.5\"",
                       "<drone-dji:GimbalPitchDegree>-30.00</drone-dji:GimbalPitchDegree>"),
              &m);
    ck_assert_double_eq_tol(m.gimbal_pitch, -30.0, 1e-12);
    ck_assert_double_eq_tol(m.gimbal_yaw, 12.5, 1e-12);
    ck_assert_int_eq(m.attitude_disagree, 0);
    /* the real X3: its maker note's CameraPitch -90 does not fill a structured XMP pitch */
    size_t n;
    unsigned char *b = slurp(GZ("DJI_Zenmuse_X3.JPG"), &n);
    unsigned char *at = memmem(b, n, "drone-dji:GimbalPitchDegree=\"-90.00\"", 36);
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_double_eq_tol(m.gimbal_pitch, -90.0, 1e-12);
    free(b);
}
END_TEST

/* A pose value stated twice (adversary adv21c: RelativeAltitude 120 by drone-dji and 40.1 by
 * drone-parrot, or by a second XMP packet; GPSLatitude and GpsLatitude 500 m apart): beyond
 * the writings' rounding (heights 0.05 m, positions 1e-6 deg, angles 0.06 deg) the file is
 * unknown, the note naming both values and where each came from; within it, nothing. */
START_TEST(test_xmp_pose_value_said_twice) {
    static const struct {
        const char *xml;
        const char *note[4]; /* what the note says, NULL: no note */
    } cases[] = {
        {POSE_XMP("drone-dji:RelativeAltitude=\"+120.00\" "
                  "drone-parrot:AltitudeAboveTakeOff=\"40.1\"",
                  ""),
         {"height above take-off twice", "120 (drone-dji:RelativeAltitude)",
          "40.1 (drone-parrot:AltitudeAboveTakeOff)", "cannot be told"}},
        {POSE_XMP("drone-dji:RelativeAltitude=\"+40.10\" drone-parrot:RelativeAltitude=\"40.1\"",
                  ""),
         {NULL}},
        {POSE_XMP("drone-dji:RelativeAltitude=\"+40.10\" drone-parrot:RelativeAltitude=\"40.14\"",
                  ""),
         {NULL}},
        {POSE_XMP("drone-dji:RelativeAltitude=\"+40.10\" drone-parrot:RelativeAltitude=\"40.2\"",
                  ""),
         {"height above take-off twice"}},
        /* 500 m north: 0.0044966 degrees */
        {POSE_XMP("drone-dji:GPSLatitude=\"46.842777583\" drone-dji:GPSLongitude=\"-91.994299389\" "
                  "drone-dji:GpsLatitude=\"46.847274183\"",
                  ""),
         {"latitude twice", "46.84277758 (drone-dji:GPSLatitude)",
          "46.84727418 (drone-dji:GpsLatitude)"}},
        {POSE_XMP("drone-dji:GpsLongitude=\"-91.9942994\" drone-dji:GpsLongtitude=\"-91.9942994\"",
                  ""),
         {NULL}},
        {POSE_XMP("drone-dji:GpsLongitude=\"-91.9942994\" drone-dji:GpsLongtitude=\"-91.9943994\"",
                  ""),
         {"longitude twice"}},
        {POSE_XMP("drone-dji:AbsoluteAltitude=\"+198.61\"",
                  "<drone-dji:AbsoluteAltitude>98.61</drone-dji:AbsoluteAltitude>"),
         {"altitude twice", "198.61", "98.61"}},
        /* yaw 359.99 and -0.01 are one heading */
        {POSE_XMP("drone-dji:FlightYawDegree=\"359.99\" drone-parrot:FlightYawDegree=\"-0.01\"",
                  ""),
         {NULL}},
        {POSE_XMP("drone-dji:FlightYawDegree=\"42.80\" drone-parrot:FlightYawDegree=\"52.8\"", ""),
         {"aircraft's yaw twice"}},
        {POSE_XMP("drone-dji:CalibratedFocalLength=\"3666.67\"",
                  "<drone-dji:CalibratedFocalLength>2666.67</drone-dji:CalibratedFocalLength>"),
         {"calibrated focal length"}},
        /* stated but no number */
        {POSE_XMP("drone-dji:RelativeAltitude=\"forty\"", ""),
         {"height above take-off (drone-dji:RelativeAltitude) as no number", "forty"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        koi_image_meta m;
        parse_one(cases[i].xml, &m);
        if (!cases[i].note[0]) {
            ck_assert_msg(!m.conflict_note[0], "%zu: %s", i, m.conflict_note);
            continue;
        }
        for (int k = 0; k < 4 && cases[i].note[k]; k++)
            ck_assert_msg(strstr(m.conflict_note, cases[i].note[k]), "%zu: '%s' not in '%s'", i,
                          cases[i].note[k], m.conflict_note);
    }
    /* a second packet (an appended APP1 XMP, an Extended XMP) restating it */
    const char *one = POSE_XMP("drone-dji:RelativeAltitude=\"+120.00\"", "");
    const char *two = POSE_XMP("drone-dji:RelativeAltitude=\"+40.10\"", "");
    koi_image_meta m;
    parse_one(one, &m);
    ck_assert_int_eq(koi_xmp_parse(ctx, two, strlen(two), &m), KO_OK);
    ck_assert_msg(strstr(m.conflict_note,
                         "120 (drone-dji:RelativeAltitude, XMP packet 1) and 40.1 "
                         "(drone-dji:RelativeAltitude, XMP packet 2)"),
                  "%s", m.conflict_note);
    /* the real X3 through the reader, with an APP1 XMP packet put before its own saying
     * RelativeAltitude +120.00 (its own: +29.40): unknown, saying so */
    size_t n;
    unsigned char *b = slurp(GZ("DJI_Zenmuse_X3.JPG"), &n);
    ko_pose p;
    const char *v = NULL, *why = shot_of(b, n, &p, "camera", &v);
    ck_assert_msg(!why, "%s", why);
    static const char sig[] = "http://ns.adobe.com/xap/1.0/";
    size_t seg = 2 + sizeof sig + strlen(one), k = 0;
    unsigned char *c = malloc(n + seg + 2);
    ck_assert_ptr_nonnull(c);
    c[k++] = 0xFF, c[k++] = 0xD8, c[k++] = 0xFF, c[k++] = 0xE1;
    c[k++] = (unsigned char)(seg >> 8), c[k++] = (unsigned char)seg;
    memcpy(c + k, sig, sizeof sig), k += sizeof sig;
    memcpy(c + k, one, strlen(one)), k += strlen(one);
    memcpy(c + k, b + 2, n - 2), k += n - 2;
    why = shot_of(c, k, &p, "camera", &v);
    ck_assert_msg(why && strstr(why,
                                "height above take-off twice, 120 (drone-dji:RelativeAltitude, "
                                "XMP packet 1) and 29.4 (drone-dji:RelativeAltitude, XMP "
                                "packet 2)"),
                  "%s", why ? why : "(clear)");
    free(c);
    free(b);
}
END_TEST

/* A DJI maker-note angle given twice (adversary adv21c): the X3's IFD entry for the aircraft's
 * Pitch (tag 6, 0.2) renumbered CameraPitch (tag 9) beside the real CameraPitch -90, and the
 * M2EA's FlightDegree record renamed GimbalDegree: two camera attitudes in one note, which
 * the last silently won. Unknown, naming both. */
START_TEST(test_makernote_angle_said_twice) {
    size_t n;
    unsigned char *b = slurp(GZ("DJI_Zenmuse_X3.JPG"), &n);
    drop_xmp_pose(b, n, 0);
    /* tag 6, FLOAT (11), count 1: little-endian (the X3's EXIF is "II"), exactly once */
    static const unsigned char tag6[] = {6, 0, 11, 0, 1, 0, 0, 0};
    unsigned char *e = memmem(b, n, tag6, sizeof tag6);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_null(memmem(e + 1, n - (size_t)(e + 1 - b), tag6, sizeof tag6));
    e[0] = 9;
    koi_image_meta m;
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_msg(strstr(m.conflict_note, "CameraPitch twice, 0.20 and -90.00"), "%s",
                  m.conflict_note);
    ko_pose p;
    const char *v = NULL, *why = shot_of(b, n, &p, "attitude_from", &v);
    ck_assert_msg(why && strstr(why, "CameraPitch twice"), "%s", why ? why : "(clear)");
    free(b);
    b = slurp(GZ("M2EA_DJI_20250117111343_0139_T.JPG"), &n);
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_str_eq(m.conflict_note, "");
    ck_assert_int_eq(rename_all(b, n, "[FlightDegree(Y,P,R):", "[GimbalDegree(Y,P,R):"), 1);
    ck_assert_int_eq(koi_jpeg_meta_parse(ctx, b, n, &m), KO_OK);
    ck_assert_msg(strstr(m.conflict_note, "GimbalDegree(Y,P,R) twice") &&
                      strstr(m.conflict_note, "(34.2, -90.0, 0.0)") &&
                      strstr(m.conflict_note, "(90.1, -13.0, -1.3)"),
                  "%s", m.conflict_note);
    free(b);
}
END_TEST

/* The mending of a namespace declared twice in one tag (the XT S's defect) is linear in the
 * packet: a tag's declarations are compared only up to 64 of them, and a tag with more is not
 * mended (adversary adv21c: 180,000 declarations in one tag took minutes compared all with
 * all). Declarations are looked for outside quoted values only: a value is never blanked. */
START_TEST(test_xmp_repair_bounded) {
    static char xml[16384];
    for (int decls = 10; decls <= 100; decls += 90) {
        size_t k = (size_t)snprintf(xml, sizeof xml,
                                    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
                                    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">"
                                    "<rdf:Description xmlns:drone-dji=\"http://www.dji.com/"
                                    "drone-dji/1.0/\"");
        for (int i = 0; i < decls; i++)
            k += (size_t)snprintf(xml + k, sizeof xml - k, " xmlns:p%d=\"u%d\"", i, i);
        snprintf(xml + k, sizeof xml - k,
                 " xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" "
                 "drone-dji:RelativeAltitude=\"+37.70\"/></rdf:RDF></x:xmpmeta>");
        koi_image_meta m;
        koi_image_meta_init(&m);
        ko_status st = koi_xmp_parse(ctx, xml, strlen(xml), &m);
        if (decls == 10) { /* 11 declarations: mended */
            ck_assert_int_eq(st, KO_OK);
            ck_assert_int_eq(m.xmp_repaired, 1);
            ck_assert_double_eq_tol(m.rel_alt_m, 37.70, 1e-12);
        } else { /* 101: left malformed, nothing read */
            ck_assert_int_eq(st, KO_ERR_FORMAT);
            ck_assert_ptr_nonnull(strstr(m.problem, "duplicate attribute"));
            ck_assert(isnan(m.rel_alt_m));
        }
    }
    /* the text of a declaration inside a quoted value stays as it was */
    const char *quoted =
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
        "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
        "xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" "
        "drone-dji:DewarpData=\"a xmlns:q='u' xmlns:q='u' b\" "
        "xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\"/></rdf:RDF></x:xmpmeta>";
    koi_image_meta m;
    koi_image_meta_init(&m);
    ck_assert_int_eq(koi_xmp_parse(ctx, quoted, strlen(quoted), &m), KO_OK);
    ck_assert_int_eq(m.xmp_repaired, 1);
    ck_assert_str_eq(m.dewarp, "a xmlns:q='u' xmlns:q='u' b");
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_tiff_micasense_band,
                            test_tiff_sequoia_fisheye_band,
                            test_tiff_sensefly_relative_namespaces,
                            test_tiff_workswell_no_hemisphere,
                            test_tiff_flir_rationals_and_no_fix,
                            test_jpeg_xts_malformed_xmp_mended,
                            test_jpeg_m2ea_both_positions,
                            test_xmp_dji_misspelling_and_flir_mav,
                            test_tiff_truncated_image_data,
                            test_bigtiff_gdal_metadata_items,
                            test_camera_one_model_two_sensors,
                            test_camera_spec_model_with_frame,
                            test_camera_table_pitches_square,
                            test_camera_frame_ranked_over_both_tables,
                            test_camera_by_name,
                            test_makernote_dji_ifd_x3,
                            test_makernote_and_xmp_disagreeing,
                            test_pix4d_pose_geometry,
                            test_xmp_camera_attitude_said_twice,
                            test_makernote_dji_records_m2ea,
                            test_makernote_pose_through_the_reader,
                            test_makernote_airframe_alone_is_unknown,
                            test_makernote_crafted,
                            test_makernote_fuzz_seeds,
                            test_rig_boresight_geometry,
                            test_rig_relatives_xmp,
                            test_rig_micasense_band,
                            test_camera_original_or_edited,
                            test_xmp_overlong_text_is_no_number,
                            test_xmp_structured_value_is_not_read,
                            test_xmp_pose_value_said_twice,
                            test_makernote_angle_said_twice,
                            test_xmp_repair_bounded,
                            test_dji_reverse_and_dewarp_flags,
                            test_rig_relatives_decimal_only,
                            test_decimal_parser,
                            test_pix4d_lens_model};
    return unit_run(&(unit_suite){.name = "vendor_meta",
                                  .setup = setup,
                                  .teardown = teardown,
                                  .timeout_s = 60,
                                  .global_init = 1},
                    tests, UNIT_COUNT(tests));
}
