/* Private: the metadata readers (JPEG/EXIF/XMP, DJI SRT, telemetry CSV, directories). */
#ifndef KEEPOUT_META_META_H
#define KEEPOUT_META_META_H

#include <stddef.h>
#include <stdint.h>

#include <cpl_vsi.h>

#include "keepout/keepout.h"

/* The reader dispatch. Each input kind implements next/close over its own state. */
typedef struct koi_reader_ops {
    const char *kind; /* "csv", "jpeg", "srt", "dir" */
    ko_status (*next)(ko_reader *r, ko_shot *shot);
    void (*close)(void *impl);
} koi_reader_ops;

struct ko_reader {
    ko_context *ctx;
    const koi_reader_ops *ops;
    void *impl;
    ko_reader_options opts;
    char *path;
};

/* Each opener fills r->ops and r->impl, or returns an error with a message naming the path. */
ko_status koi_csv_open(ko_reader *r);
ko_status koi_image_open(ko_reader *r);
ko_status koi_tiff_open(ko_reader *r); /* a TIFF photo */
ko_status koi_dir_open(ko_reader *r);

/* ko_reader_open() for the readers themselves (a directory opens one reader per file). */
ko_status koi_reader_open_file(ko_context *ctx, const char *path, const ko_reader_options *opts,
                               ko_reader **out);

/* For a photo reader: the camera's EXIF Make and Model (borrowed, "" if absent) and
 * DateTimeOriginal in seconds on the camera's clock (NaN if absent), which tell the photos of
 * one flight apart. Returns 0 for other readers. */
/* ko_pose_validate(), and a height <= 0 refused unless opts.below_takeoff. */
ko_status koi_reader_validate(const ko_reader *r, const ko_camera *cam, const ko_pose *p);

/* The decimal number written at s ("+45.00", "-0.127427", ".5", "1e-3"; no leading blanks):
 * its value, *end just after it. Not a finite decimal number (no digits; a C hex float
 * "0x1p3", "inf", "nan", which strtod also reads; "1e400", which overflows): NaN, *end = s.
 * The one number parser of the metadata readers (XMP values, RigRelatives, DewarpData,
 * telemetry CSV fields). */
double koi_decimal(const char *s, const char **end);

int koi_image_flight_key(const ko_reader *r, const char **make, const char **model, double *t_s);

/* Growable list of pass-through key/value strings, reused between shots. */
typedef struct koi_strpairs {
    size_t n, cap;
    char **keys;
    char **values;
} koi_strpairs;

ko_status koi_strpairs_add(koi_strpairs *sp, const char *key, const char *value);
void koi_strpairs_clear(koi_strpairs *sp);
void koi_strpairs_free(koi_strpairs *sp);

/* Metadata of a photo as read from its JPEG header (EXIF, XMP, SOF). NaN / 0 / ""
 * mean "not in the file". */
/* Extended XMP may reassemble up to this many bytes; a larger claim is an error. */
#define KOI_XMP_MAX (4u << 20)

/* The pose scalars compared where a file states them twice (koi_image_meta.conflict_note). */
enum {
    KOI_SAID_REL_ALT,                   /* rel_alt_m */
    KOI_SAID_ABS_ALT,                   /* abs_alt_m */
    KOI_SAID_LAT,                       /* xmp_lat */
    KOI_SAID_LON,                       /* xmp_lon */
    KOI_SAID_FLIGHT,                    /* flight_yaw, flight_pitch, flight_roll: +0, +1, +2 */
    KOI_SAID_CAL = KOI_SAID_FLIGHT + 3, /* cal_focal_px, cal_cx_px, cal_cy_px: +0, +1, +2 */
    KOI_SAID_N = KOI_SAID_CAL + 3
};
/* Rounding of one reading written twice: heights and altitudes (DJI writes centimetres),
 * positions (DJI writes 1e-7 degrees or finer; 1e-6 deg is 0.11 m) and pixels. */
#define KOI_RESTATED_M 0.05
#define KOI_RESTATED_DEG 1e-6
#define KOI_RESTATED_PX 0.01

typedef struct koi_image_meta {
    /* EXIF */
    char make[64], model[64];
    char software[64]; /* IFD0 Software: camera firmware ("v01.23.4920"), or an editor's name */
    char datetime[32]; /* ISO 8601 from DateTimeOriginal */
    double lat, lon, gps_alt_m;
    char gps_status;    /* GPSStatus: 'A' active, 'V' void (no fix); 0 if absent */
    char gps_measure;   /* GPSMeasureMode: '2' 2D, '3' 3D fix; 0 if absent */
    double gps_dop;     /* GPSDOP, NaN if absent */
    char gps_note[160]; /* why an EXIF GPS position was not taken (no hemisphere), or "" */
    int orientation;    /* IFD0 Orientation, 1..8 (0: absent) */
    int bits_per_sample, samples_per_pixel; /* a TIFF file's first image (0: not said) */
    double focal_mm, focal35_mm;
    double fp_xres, fp_yres, fp_unit_mm; /* focal plane resolution, pixels per unit */
    uint32_t exif_width, exif_height;    /* PixelX/YDimension */
    uint32_t sof_width, sof_height;      /* the coded image */
    int has_exif;
    uint32_t exif_xmp_off, exif_xmp_len; /* an XMP packet in EXIF IFD0 (tag 700), in the TIFF */
    /* XMP */
    int has_xmp;
    const char *vendor; /* static: "dji", "pix4d", "parrot", "skydio" or NULL */
    double gimbal_yaw, gimbal_pitch, gimbal_roll;
    double flight_yaw, flight_pitch, flight_roll;
    double rel_alt_m, abs_alt_m;
    double cal_focal_px, cal_cx_px, cal_cy_px;
    double xmp_lat, xmp_lon; /* DJI XMP GpsLatitude, GpsLongitude (or GpsLongtitude) */
    /* Static text naming the vendor tags flight_* came from when they are an airframe's
     * attitude without any camera attitude beside it (MicaSense DLS, senseFly, FLIR MAV*),
     * or NULL (DJI's FlightYawDegree... beside its gimbal angles). */
    const char *airframe_from;
    /* DJI maker note (EXIF tag 0x927C; exif.c), degrees in keepout's frame (as drone-dji's),
     * NaN if absent: the camera's attitude (older DJI cameras' IFD CameraYaw/CameraPitch/
     * CameraRoll, float32; the M2EA's "[GimbalDegree(Y,P,R):342,-900,0]", tenths) and the
     * aircraft's (Yaw/Pitch/Roll; FlightDegree(Y,P,R)). mn_*_from: static text naming the tags. */
    double mn_gimbal_yaw, mn_gimbal_pitch, mn_gimbal_roll;
    double mn_flight_yaw, mn_flight_pitch, mn_flight_roll;
    const char *mn_gimbal_from, *mn_flight_from;
    /* Static text naming where gimbal_* came from once koi_dji_pose_fallback() ran: NULL for
     * the XMP, else the maker-note tags. attitude_note: the maker note's camera attitude
     * disagrees with the XMP's (which wins), both values; "" if not. */
    const char *attitude_from;
    char attitude_note[240];
    int attitude_disagree;     /* more than KOI_ATTITUDE_BELIEVE_DEG apart: neither believed */
    const char *angle_from[3]; /* the XMP property each gimbal angle last came from (static) */
    int camera_vocabs;         /* KOI_VOCAB_* of the XMP camera angles read */
    /* A rig band's boresight: Pix4D Camera:RigRelatives "rx,ry,rz" (degrees; MicaSense), the
     * rotation R = Rx(rx) Ry(ry) Rz(rz) in the camera's OpenCV axes (x right, y down, z along
     * the view) taking this band's rays into the rig's reference band's. rig_state: 0 absent,
     * 1 read, -1 present but not three numbers (rig_text holds what it was). */
    double rig_rel[3];
    int rig_state;
    char rig_text[48];
    char lens_model[24]; /* Pix4D Camera:ModelType ("perspective", "fisheye"), or "" */
    /* Pix4D's perspective lens model: Camera:PrincipalPoint (cx, cy in mm on the sensor) and
     * Camera:PerspectiveDistortion (R1, R2, R3, T1, T2). *_state: 0 absent, 1 read, -1 stated
     * but not so many numbers, or stated twice (*_text holds what it was). */
    double pix4d_pp_mm[2], pix4d_dist[5];
    int pix4d_pp_state, pix4d_dist_state;
    char pix4d_pp_text[64], pix4d_dist_text[64];
    int xmp_repaired; /* the packet parsed only once a harmless defect was mended */
    char dewarp[256];
    /* A drone-dji flag other than 0/False: GimbalReverse or CamReverse (the camera upside
     * down) or DewarpFlag (the image dewarped in the camera), naming it; "" if none. The
     * reader makes the shot unknown with it. */
    char dji_flag_note[360];
    char projection[32]; /* GPano:ProjectionType ("equirectangular", ...), "" if none */
    /* What an editor left in the XMP (its name, a crop, an edit history), "" if nothing:
     * the frame is then not known to be the camera's own (koi_image_camera_original). */
    char editor_trace[96];
    char problem[160]; /* a defect found on the way (e.g. a malformed XMP packet) */
    /* A pose value the file states twice beyond the writings' rounding (heights and altitudes
     * KOI_RESTATED_M, positions KOI_RESTATED_DEG, flight and maker-note angles
     * KOI_ATTITUDE_BELIEVE_DEG; by two vocabularies, two spellings, two XMP packets or two
     * maker-note entries), with both values and where each came from, or one stated but not a
     * number; the first such found, "" if none. The reader makes the shot unknown with it. */
    char conflict_note[240];
    const char *said_from[KOI_SAID_N]; /* where each KOI_SAID_* value came from (static) */
    int said_packet[KOI_SAID_N];       /* in which XMP packet (xmp_packets when read) */
    int xmp_packets;                   /* XMP packets parsed so far (EXIF 700, APP1, Extended) */
    char ext_xmp_guid[33]; /* the main packet's xmpNote:HasExtendedXMP (32 hex digits), or "" */
    /* The image data is not all there (the header may be): "truncated: ...", or "". The
     * metadata is still read, so its callers decide (a photo shot is then unknown). */
    char incomplete[192];
} koi_image_meta;

void koi_image_meta_init(koi_image_meta *m);
/* How far apart two angles are, degrees, 0..180 (359 and 1 are 2 apart); NaN if either is. */
double koi_angle_apart(double a, double b);

/* How far apart two nearby positions are, metres (a local flat approximation at the first,
 * enough to tell metres from kilometres; longitudes are not wrapped at the antimeridian). */
double koi_metres_apart(double lat0, double lon0, double lat, double lon);
/* Two GPS positions of one moment more than this apart do not agree (EXIF and XMP positions;
 * a flight record's home point moved). */
#define KOI_POSITIONS_AGREE_M 10.0

/* Sets m->conflict_note (printf-style) unless it is set already: the first stays. */
void koi_meta_conflict(koi_image_meta *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads the header segments of a JPEG through GDAL's VSI layer, up to the first SOS, and the
 * file's last bytes (that it ends with the EOI marker, else m->incomplete says so): the
 * entropy-coded data in between is not read. Only a regular file is opened (a local path
 * without blocking: a FIFO or device is KO_ERR_IO). KO_ERR_IO: unreadable; KO_ERR_FORMAT: not
 * a JPEG or damaged header. */
ko_status koi_jpeg_meta_read(ko_context *ctx, const char *path, koi_image_meta *m);

/* The videos (MP4, MOV, AVI, MKV, INSV, LRV in any case) beside a DJI .SRT with its stem,
 * regular files only: the ones the directory walk does not list on its own. NULL-terminated
 * (CSLDestroy), NULL if none. */
char **koi_videos_of_srt(const char *srt);

/* Big-endian unsigned integer of n bytes (n <= 8). */
uint64_t koi_be(const uint8_t *p, int n);

/* ISO base media boxes (mp4.c), shared with the GPMF reader: the box at `at` within
 * [at, end): its type, body and the offset after it (0 if its header or size does not fit);
 * the first box of type want in [at, end), each box walked costing one of *budget. */
int koi_mp4_box(VSILFILE *f, uint64_t at, uint64_t end, char type[5], uint64_t *body,
                uint64_t *next);
int koi_mp4_find(VSILFILE *f, uint64_t at, uint64_t end, const char *want, uint64_t *body,
                 uint64_t *stop, int *budget);

/* The length in seconds of an MP4/MOV file (ISO base media: its movie header), reading box
 * headers only. KO_ERR_IO: unreadable; KO_ERR_FORMAT: no movie header with a length. */
ko_status koi_mp4_duration(ko_context *ctx, const char *path, double *seconds);

/* The same from bytes in memory (the fuzzers' entry point). */
ko_status koi_jpeg_meta_parse(ko_context *ctx, const uint8_t *data, size_t n, koi_image_meta *m);

/* EXIF (TIFF structure, after "Exif\0\0") and XMP packet parsers. */
ko_status koi_exif_parse(const uint8_t *tiff, size_t n, koi_image_meta *m);
/* EXIF DateTimeOriginal text to ISO 8601 (out unchanged if it is not a date and time). */
void koi_exif_time(const char *exif, char *out, size_t size);

/* The DJI maker note as a fallback pose source (docs/DESIGN.md, "Attitude vocabularies"):
 * where the XMP has no gimbal angle at all, the maker note's camera attitude becomes
 * gimbal_* (m->vendor "dji", m->attitude_from its tags), and where it has some, the maker
 * note's fill the others (one reading, compared where both give it); its aircraft attitude fills
 * the flight_* the XMP lacks, and is m->airframe_from when no camera attitude is left. Where both
 * give the camera's and they differ by more than KOI_ATTITUDE_AGREE_DEG, the XMP's stays and
 * m->attitude_note says so; by more than KOI_ATTITUDE_BELIEVE_DEG, m->attitude_disagree is set
 * and the reader makes the shot unknown. Called once the whole header is read. */
#define KOI_ATTITUDE_AGREE_DEG 0.06
/* Which conventions the XMP's camera angles came in: Pix4D's Camera: (from nadir, roll about
 * the flight direction) and a gimbal's (drone-dji, Parrot, Skydio). */
enum { KOI_VOCAB_PIX4D = 1, KOI_VOCAB_GIMBAL = 2 };
/* Beyond this the two are not rounding of one reading: the shot is unknown. It is the
 * writings' rounding itself: no angle in degrees bounds the ground error, which grows without
 * bound toward the horizon (0.99 deg of pitch moved an oblique view's far edge 221 m and left a
 * site 720 m out: adversary adv21b). */
#define KOI_ATTITUDE_BELIEVE_DEG KOI_ATTITUDE_AGREE_DEG
void koi_dji_pose_fallback(koi_image_meta *m);

/* Random access to a TIFF file: read() copies n bytes at off (0 < off + n <= size, checked by
 * the caller) into dst and returns non-zero, or 0 on an I/O error. */
typedef struct koi_tiff_in {
    int (*read)(void *user, uint64_t off, void *dst, size_t n);
    void *user;
    uint64_t size;
} koi_tiff_in;

/* A TIFF photo's metadata: IFD0 (image size, bits, samples, Orientation, Make/Model), its Exif
 * and GPS IFDs, XMP in tag 700 and GDAL metadata items (tag 42112) for what the IFDs lack;
 * m->incomplete says if the image data runs past the end of the file. Only the IFDs and the
 * values they point at are read. KO_ERR_FORMAT: not a TIFF or a damaged IFD0. */
ko_status koi_tiff_walk(ko_context *ctx, const koi_tiff_in *in, koi_image_meta *m);
/* koi_tiff_walk over a file (through VSI for /vsi paths) or bytes in memory (fuzzers). */
ko_status koi_tiff_meta_read(ko_context *ctx, const char *path, koi_image_meta *m);
ko_status koi_tiff_meta_parse(ko_context *ctx, const uint8_t *data, size_t n, koi_image_meta *m);
/* GDAL's metadata XML (<GDALMetadata><Item name="EXIF_...">): fills the EXIF fields m does not
 * have yet (a TIFF written by GDAL from a JPEG carries its EXIF this way). */
void koi_gdal_metadata(const char *xml, koi_image_meta *m);
/* The XMP parser is the context's (expat, reset per packet). */
ko_status koi_xmp_parse(ko_context *ctx, const char *xml, size_t n, koi_image_meta *m);
/* The same through expat alone (tests and fuzzers compare the two). */
ko_status koi_xmp_parse_expat(ko_context *ctx, const char *xml, size_t n, koi_image_meta *m);

/* The common XMP shape (x:xmpmeta > rdf:RDF > one rdf:Description, properties as attributes)
 * without expat: calls fn(user, "uri|local", parent, value) for each attribute in the order
 * expat would, and returns 1; returns 0, having called nothing, for anything else. */
typedef void (*koi_xmp_property)(void *user, const char *qname, const char *parent,
                                 const char *value);
int koi_xmp_simple(const char *xml, size_t n, koi_xmp_property fn, void *user);

/* The camera of a photo, in the resolution order DewarpData / calibrated focal length ->
 * EXIF focal plane resolution -> camera table -> 35 mm-equivalent focal length. Returns 1
 * (how names the source used); -1 with a reason in why if the file describes no camera (a
 * camera named in the reader options may stand in); 0 with a reason if the file's camera or
 * frame is refused (nothing stands in). */
int koi_image_camera(ko_context *ctx, const koi_image_meta *m, ko_camera *cam, const char **how,
                     char *why, size_t why_size);

/* 1 if nothing in the file says an editor wrote it: an IFD0 Software that reads as firmware
 * (a version number of three or more parts, or two with a 'v': "v01.23.4920", "10.00.03.15",
 * "v2.1.2-34-g05e37eb"; not "17.1", an app's or OS's as often), and no editor's
 * trace in the XMP (an edit history, a creator tool, crop settings, an editor's namespace).
 * Only such a file's 16:9 or 3:2 frame is believed to be its camera's centred mode. */
int koi_image_camera_original(const koi_image_meta *m);

/* DJI .SRT video telemetry. One subtitle block per frame (or per second). */
/* SRT files larger than this are refused (a 4 h flight at 60 fps is ~150 MB). */
#define KOI_SRT_MAX (512u << 20)

/* What one subtitle block says; NaN where it says nothing. */
typedef struct koi_srt_frame {
    long index;       /* subtitle number */
    double t_s;       /* subtitle start, seconds (NaN if the block has no timing line) */
    char date[40];    /* ISO 8601 from the date line, or "" */
    double lat, lon;  /* degrees */
    double height_m;  /* above take-off: rel_alt, H, BAROMETER, Hb */
    double abs_alt_m; /* abs_alt / altitude (DJI: above sea level) */
    double g_yaw, g_pitch, g_roll; /* gimbal: G.PRY or gb_yaw/gb_pitch/gb_roll */
    double f_yaw;                  /* aircraft yaw from F.PRY */
    double home_lat, home_lon;     /* HOME(...): the take-off point, in GPS(...)'s axis order */
    double focal35_mm;             /* focal_len (35 mm-equivalent) */
    double satellites;             /* GPS(lon,lat,satellites): the satellites in use */
    const char *family;            /* static: which line family the block used */
} koi_srt_frame;

/* Parses one subtitle block (its lines, without the blank separator). Returns 0 if the block
 * is not a subtitle block at all (no index line). */
int koi_srt_parse_block(const char *block, size_t n, koi_srt_frame *f);

/* Cursor over the blocks of an SRT text in memory: returns the next block (start, length) or
 * 0 at the end. Handles a BOM, CRLF and runs of blank lines. */
int koi_srt_next_block(const char *text, size_t n, size_t *pos, const char **block, size_t *len);

ko_status koi_srt_open(ko_reader *r);

/* GoPro GPMF telemetry: the gpmd track of an MP4/MOV, or a raw GPMF stream (first record a
 * DEVC nest). One shot per position sample (the Karma drone's GLPI, else the camera's GPS9 or
 * GPS5); payloads are read one at a time. KO_ERR_UNSUPPORTED: neither. */
ko_status koi_gpmf_open(ko_reader *r);
/* 1 if the bytes start a raw GPMF stream (a DEVC nest). */
int koi_gpmf_is_raw(const uint8_t *b, size_t n);
/* 1 if the regular file at path is a raw GPMF stream or an MP4/MOV with a gpmd track (box
 * headers and sample tables read only), else 0. */
int koi_gpmf_probe(const char *path);

#endif
