/* The TIFF structure: the EXIF of a JPEG (an APP1 "Exif" segment, in memory) and TIFF photos
 * themselves (read at random through koi_tiff_in, so only the IFDs and the values they point
 * at are read). IFD0 -> Exif IFD and GPS IFD; every offset and count is bounds-checked and
 * each IFD is visited at most once (loops in crafted files end). Classic TIFF and BigTIFF. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "meta/meta.h"

typedef struct tiff {
    const koi_tiff_in *in;
    int big;     /* Motorola byte order */
    int bigtiff; /* 8-byte counts and offsets, 20-byte entries */
    int file;    /* a TIFF file (IFD0 describes the image), not the EXIF of a JPEG */
} tiff;

static int rd(const tiff *t, uint64_t off, void *dst, size_t n) {
    return off <= t->in->size && n <= t->in->size - off && t->in->read(t->in->user, off, dst, n);
}

static uint64_t get(const tiff *t, const uint8_t *b, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | b[t->big ? i : n - 1 - i];
    return v;
}

/* One IFD entry, its value located and bounds-checked. */
typedef struct entry {
    uint32_t tag, type;
    uint64_t count;
    uint64_t at; /* offset of the value bytes */
} entry;

static size_t type_size(uint32_t type) {
    /* 13 IFD (a LONG offset), 16 LONG8, 17 SLONG8, 18 IFD8 (BigTIFF) */
    static const size_t sizes[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8};
    return type < sizeof sizes / sizeof sizes[0] ? sizes[type] : 0;
}

static int get_entry(const tiff *t, uint64_t o, entry *e) {
    uint8_t b[20];
    size_t len = t->bigtiff ? 20 : 12, inl = t->bigtiff ? 8 : 4;
    if (!rd(t, o, b, len)) return 0;
    e->tag = (uint32_t)get(t, b, 2);
    e->type = (uint32_t)get(t, b + 2, 2);
    e->count = t->bigtiff ? get(t, b + 4, 8) : get(t, b + 4, 4);
    size_t sz = type_size(e->type);
    if (!sz || e->count > t->in->size / sz) return 0;
    uint64_t bytes = sz * e->count;
    e->at = bytes <= inl ? o + (t->bigtiff ? 12 : 8) : get(t, b + (t->bigtiff ? 12 : 8), (int)inl);
    return e->at <= t->in->size && bytes <= t->in->size - e->at;
}

/* Element i of a numeric entry; NaN if it has none or is not numeric. */
static double element(const tiff *t, const entry *e, uint64_t i) {
    size_t sz = type_size(e->type);
    uint8_t b[8];
    if (i >= e->count || !rd(t, e->at + sz * i, b, sz)) return NAN;
    switch (e->type) {
        case 1:
        case 7:
            return b[0];
        case 6:
            return (int8_t)b[0];
        case 3:
            return (double)get(t, b, 2);
        case 8:
            return (int16_t)get(t, b, 2);
        case 4:
        case 13:
            return (double)get(t, b, 4);
        case 9:
            return (int32_t)get(t, b, 4);
        case 16:
        case 18:
            return (double)get(t, b, 8);
        case 17:
            return (double)(int64_t)get(t, b, 8);
        case 5:
        case 10: {
            uint32_t num = (uint32_t)get(t, b, 4), den = (uint32_t)get(t, b + 4, 4);
            if (e->type == 10) return den ? (double)(int32_t)num / (int32_t)den : NAN;
            return den ? (double)num / den : NAN;
        }
        case 11: {
            uint32_t u = (uint32_t)get(t, b, 4);
            float f;
            memcpy(&f, &u, 4);
            return f;
        }
        case 12: {
            uint64_t u = get(t, b, 8);
            double d;
            memcpy(&d, &u, 8);
            return d;
        }
    }
    return NAN;
}

static double rational(const tiff *t, const entry *e, uint32_t i) {
    return element(t, e, i);
}

/* An integer (SHORT, LONG, BYTE, IFD, ...), 0 if the entry holds none. */
static uint64_t integer(const tiff *t, const entry *e) {
    if (e->type == 5 || e->type == 10 || e->type == 11 || e->type == 12 || e->type == 2) return 0;
    double v = element(t, e, 0);
    return v >= 0 && v < 18446744073709551615.0 ? (uint64_t)v : 0;
}

static void ascii(const tiff *t, const entry *e, char *out, size_t size) {
    size_t n = e->type == 2 ? (e->count < size ? (size_t)e->count : size - 1) : 0;
    if (!rd(t, e->at, out, n)) n = 0;
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e) out[i] = '\0';
    n = strlen(out);
    while (n && out[n - 1] == ' ')
        out[--n] = '\0'; /* "DJI   " */
}

/* The first byte of an ASCII (or BYTE) entry, 0 if it has none. */
static char first_char(const tiff *t, const entry *e) {
    uint8_t c = 0;
    if ((e->type == 2 || e->type == 1 || e->type == 7) && e->count >= 1 && rd(t, e->at, &c, 1))
        return (char)c;
    return 0;
}

/* Degrees, minutes and seconds, unsigned as EXIF defines them (the hemisphere is the Ref
 * letter's): a negative component (an SRATIONAL) contradicts its Ref and is no position: -INFINITY,
 * which finish_gps() names. Summed as given, -46 50' with 'N' landed at 45.157 S (adv26). */
static double dms(const tiff *t, const entry *e) {
    if (e->count < 3) return NAN;
    double d = rational(t, e, 0), mi = rational(t, e, 1), s = rational(t, e, 2);
    if (d < 0 || mi < 0 || s < 0) return -INFINITY;
    return d + mi / 60.0 + s / 3600.0;
}

/* "2016:06:23 16:31:59" -> "2016-06-23T16:31:59"; DJI's thermal SDK writes dashes. */
void koi_exif_time(const char *exif, char *out, size_t size) {
    unsigned y, mo, d, h, mi, s;
    if ((sscanf(exif, "%4u:%2u:%2u %2u:%2u:%2u", &y, &mo, &d, &h, &mi, &s) == 6 ||
         sscanf(exif, "%4u-%2u-%2u %2u:%2u:%2u", &y, &mo, &d, &h, &mi, &s) == 6) &&
        y > 1900 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 61)
        snprintf(out, size, "%04u-%02u-%02uT%02u:%02u:%02u", y % 10000, mo % 100, d % 100, h % 100,
                 mi % 100, s % 100);
}

enum ifd_kind { IFD0, IFD_EXIF, IFD_GPS };

#define MAX_STRIPS 65536u /* strips or tiles looked at for the data's end (and the last one) */

typedef struct walk_state {
    uint64_t seen[8];
    int n_seen;
    char lat_ref, lon_ref;
    int alt_below, alt_ref_bad;
    double lat, lon, alt;
    entry offsets, counts; /* StripOffsets/TileOffsets and their byte counts (TIFF files) */
    int have_offsets, have_counts;
    entry xmp, gdal; /* tag 700 and GDAL_METADATA (TIFF files) */
    int have_xmp, have_gdal;
    entry makernote; /* the Exif IFD's MakerNote (tag 0x927C) */
    int have_makernote;
    unsigned gps_said;  /* bit t: GPS tag t (1-6) read once already */
    unsigned lens_said; /* bit i: the Exif IFD's lens tag i (exif_twice) read once already */
} walk_state;

static void read_ifd(const tiff *t, uint64_t off, enum ifd_kind kind, walk_state *w,
                     koi_image_meta *m);

/* A GPS position tag (1-4, 6) given a second time is compared with the first, as the XMP's pose
 * values are (meta.h, conflict_note): another hemisphere or altitude reference, or a value
 * beyond the writings' rounding (KOI_RESTATED_DEG, KOI_RESTATED_M), leaves the file unknown;
 * before, the last entry silently won. Called before the entry is read. */
static void gps_twice(const tiff *t, const entry *e, walk_state *w, koi_image_meta *m) {
    static const char *const names[7] = {"",
                                         "GPSLatitudeRef",
                                         "GPSLatitude",
                                         "GPSLongitudeRef",
                                         "GPSLongitude",
                                         "GPSAltitudeRef",
                                         "GPSAltitude"};
    if (!(w->gps_said >> e->tag & 1)) {
        w->gps_said |= 1u << e->tag;
        return;
    }
    if (e->tag == 1 || e->tag == 3) {
        char was = e->tag == 1 ? w->lat_ref : w->lon_ref, now = first_char(t, e);
        if (was != now)
            koi_meta_conflict(m,
                              "EXIF gives %s twice, '%c' and '%c': which is right cannot be told",
                              names[e->tag], was > 0x20 && was < 0x7f ? was : '?',
                              now > 0x20 && now < 0x7f ? now : '?');
        return;
    }
    if (e->tag == 5) return; /* (the altitude's reference: the altitude only backs terrain) */
    double was = e->tag == 2 ? w->lat : e->tag == 4 ? w->lon : w->alt;
    double now = e->tag == 6 ? rational(t, e, 0) : dms(t, e);
    if (!(fabs(was - now) <= (e->tag == 6 ? KOI_RESTATED_M : KOI_RESTATED_DEG)))
        koi_meta_conflict(m, "EXIF gives %s twice, %.7f and %.7f: which is right cannot be told",
                          names[e->tag], was, now);
}

/* The Exif IFD's lens tags given a second time are compared with the first, as the GPS tags
 * are (gps_twice): FocalLength 13 then 19 mm silently took 19, a view 32 % narrower (adversary
 * adv26). Beyond the rationals' rounding (0.1 %; the 35 mm focal length and the unit exactly)
 * the file is unknown. Called before the entry is read; value is what it says. */
static void exif_twice(const entry *e, double value, walk_state *w, koi_image_meta *m) {
    static const struct {
        uint16_t tag;
        const char *name;
        double tol; /* relative */
    } lens[] = {{0x920A, "FocalLength", 1e-3},
                {0xA405, "FocalLengthIn35mmFormat", 0},
                {0xA20E, "FocalPlaneXResolution", 1e-3},
                {0xA20F, "FocalPlaneYResolution", 1e-3},
                {0xA210, "FocalPlaneResolutionUnit", 0}};
    for (unsigned i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        if (lens[i].tag != e->tag) continue;
        if (!(w->lens_said >> i & 1)) {
            w->lens_said |= 1u << i;
            return;
        }
        double was = i == 0   ? m->focal_mm
                     : i == 1 ? m->focal35_mm
                     : i == 2 ? m->fp_xres
                     : i == 3 ? m->fp_yres
                              : m->fp_unit_mm;
        if ((isnan(was) && isnan(value)) || fabs(was - value) <= lens[i].tol * fabs(was)) return;
        koi_meta_conflict(m, "EXIF gives %s twice, %g and %g: which is right cannot be told",
                          lens[i].name, was, value);
    }
}

static void on_entry(const tiff *t, const entry *e, enum ifd_kind kind, walk_state *w,
                     koi_image_meta *m) {
    char buf[64];
    /* XMP (tag 700) in IFD0 (TIFF files) or the Exif IFD (DJI's XT2 visible camera writes its
     * drone-dji packet there in a JPEG, with no APP1 XMP segment); IFD0's first */
    if (e->tag == 0x02BC && kind != IFD_GPS && (e->type == 1 || e->type == 7 || e->type == 2) &&
        !w->have_xmp)
        w->xmp = *e, w->have_xmp = 1;
    if (kind == IFD0) {
        if (e->tag == 0x010F) ascii(t, e, m->make, sizeof m->make);
        if (e->tag == 0x0110) ascii(t, e, m->model, sizeof m->model);
        if (e->tag == 0x0131) ascii(t, e, m->software, sizeof m->software);
        if (e->tag == 0x8769) read_ifd(t, integer(t, e), IFD_EXIF, w, m);
        if (e->tag == 0x8825) read_ifd(t, integer(t, e), IFD_GPS, w, m);
        if (e->tag == 0x0112) m->orientation = (int)(integer(t, e) & 0xFFFF);
        if (!t->file) return;
        /* The image itself: a TIFF file's IFD0 describes its first (full-resolution) image. */
        if (e->tag == 0x0100) m->sof_width = (uint32_t)integer(t, e);
        if (e->tag == 0x0101) m->sof_height = (uint32_t)integer(t, e);
        if (e->tag == 0x0102) m->bits_per_sample = (int)(integer(t, e) & 0xFFFF);
        if (e->tag == 0x0115) m->samples_per_pixel = (int)(integer(t, e) & 0xFFFF);
        if (e->tag == 0x0111 || e->tag == 0x0144) w->offsets = *e, w->have_offsets = 1;
        if (e->tag == 0x0117 || e->tag == 0x0145) w->counts = *e, w->have_counts = 1;
        if (e->tag == 42112 && e->type == 2) w->gdal = *e, w->have_gdal = 1;
    } else if (kind == IFD_EXIF) {
        if (e->tag == 0x920A) exif_twice(e, rational(t, e, 0), w, m);
        if (e->tag == 0x920A) m->focal_mm = rational(t, e, 0);
        if (e->tag == 0xA405) exif_twice(e, (double)integer(t, e), w, m);
        if (e->tag == 0xA405) m->focal35_mm = (double)integer(t, e);
        if (e->tag == 0xA20E || e->tag == 0xA20F) exif_twice(e, rational(t, e, 0), w, m);
        if (e->tag == 0xA20E) m->fp_xres = rational(t, e, 0);
        if (e->tag == 0xA20F) m->fp_yres = rational(t, e, 0);
        if (e->tag == 0xA210) {
            /* ResolutionUnit: 2 inch, 3 cm; 4 mm and 5 um are later extensions */
            static const double unit_mm[] = {NAN, NAN, 25.4, 10.0, 1.0, 0.001};
            uint64_t u = integer(t, e);
            exif_twice(e, u < 6 ? unit_mm[u] : NAN, w, m);
            m->fp_unit_mm = u < 6 ? unit_mm[u] : NAN;
        }
        if (e->tag == 0x927C && (e->type == 7 || e->type == 1) && !w->have_makernote)
            w->makernote = *e, w->have_makernote = 1;
        if (e->tag == 0xA002) m->exif_width = (uint32_t)integer(t, e);
        if (e->tag == 0xA003) m->exif_height = (uint32_t)integer(t, e);
        if (e->tag == 0x9003) {
            ascii(t, e, buf, sizeof buf);
            koi_exif_time(buf, m->datetime, sizeof m->datetime);
        }
    } else {
        if (e->tag >= 1 && e->tag <= 6) gps_twice(t, e, w, m);
        if (e->tag == 1) w->lat_ref = first_char(t, e);
        if (e->tag == 2) w->lat = dms(t, e);
        if (e->tag == 3) w->lon_ref = first_char(t, e);
        if (e->tag == 4) w->lon = dms(t, e);
        if (e->tag == 5) {
            /* BYTE 0 above, 1 below sea level; anything else (Workswell writes the text "m")
             * says nothing about the sign: the altitude is not used. */
            if (e->type == 1 && e->count >= 1) {
                uint64_t v = integer(t, e);
                w->alt_below = v == 1;
                w->alt_ref_bad = v > 1;
            } else {
                w->alt_ref_bad = 1;
            }
        }
        if (e->tag == 6) w->alt = rational(t, e, 0);
        /* ASCII fix flags: the first character; a count of 0 or a NUL says nothing. */
        if (e->tag == 9 && e->type == 2) m->gps_status = first_char(t, e);
        if (e->tag == 10 && e->type == 2) m->gps_measure = first_char(t, e);
        if (e->tag == 11) m->gps_dop = rational(t, e, 0);
    }
}

static void read_ifd(const tiff *t, uint64_t off, enum ifd_kind kind, walk_state *w,
                     koi_image_meta *m) {
    for (int i = 0; i < w->n_seen; i++)
        if (w->seen[i] == off) return; /* a loop */
    size_t head = t->bigtiff ? 8 : 2, len = t->bigtiff ? 20 : 12;
    if (w->n_seen == 8 || off < 8 || off > t->in->size || t->in->size - off < head) return;
    w->seen[w->n_seen++] = off;
    uint8_t b[8];
    if (!rd(t, off, b, head)) return;
    uint64_t count = get(t, b, (int)head);
    if (count > (t->in->size - off - head) / len) count = (t->in->size - off - head) / len;
    if (count > 4096) count = 4096; /* no camera writes more; a crafted file is not walked */
    for (uint64_t i = 0; i < count; i++) {
        entry e;
        if (get_entry(t, off + head + len * i, &e)) on_entry(t, &e, kind, w, m);
    }
}

/* The end of the first image's data (the largest offset + byte count of its strips or tiles)
 * into *end; 0 if the file does not say. A block of offset and count 0 is one GDAL left out of
 * a sparse file (SPARSE_OK): it ends nowhere. */
static int data_end(const tiff *t, const walk_state *w, uint64_t *end) {
    *end = 0;
    if (!w->have_offsets || !w->have_counts || w->offsets.count != w->counts.count ||
        w->offsets.count == 0)
        return 0;
    uint64_t n = w->offsets.count;
    for (uint64_t i = 0; i < n; i++) {
        if (i == MAX_STRIPS && n > MAX_STRIPS + 1) i = n - 1; /* then the last one */
        double o = element(t, &w->offsets, i), c = element(t, &w->counts, i);
        if (!(o >= 0) || !(c >= 0)) {
            *end = UINT64_MAX;
            return 1;
        }
        if (o + c > (double)*end) *end = o + c >= 1.8e19 ? UINT64_MAX : (uint64_t)(o + c);
    }
    return 1;
}

static void finish_gps(const walk_state *w, koi_image_meta *m) {
    if (w->lat == -INFINITY || w->lon == -INFINITY) {
        snprintf(m->gps_note, sizeof m->gps_note,
                 "EXIF %s has a negative degree, minute or second with its Ref letter: which "
                 "hemisphere is meant cannot be told",
                 w->lat == -INFINITY ? "GPSLatitude" : "GPSLongitude");
        return;
    }
    /* A position needs its hemisphere: without the reference letter it is not trusted. */
    if (isfinite(w->lat) && (w->lat_ref == 'N' || w->lat_ref == 'S'))
        m->lat = w->lat_ref == 'S' ? -w->lat : w->lat;
    if (isfinite(w->lon) && (w->lon_ref == 'E' || w->lon_ref == 'W'))
        m->lon = w->lon_ref == 'W' ? -w->lon : w->lon;
    if (isfinite(w->lat) && !isfinite(m->lat))
        snprintf(m->gps_note, sizeof m->gps_note,
                 "EXIF GPSLatitude without a GPSLatitudeRef of N or S: the hemisphere is unknown");
    else if (isfinite(w->lon) && !isfinite(m->lon))
        snprintf(m->gps_note, sizeof m->gps_note,
                 "EXIF GPSLongitude without a GPSLongitudeRef of E or W: the hemisphere is "
                 "unknown");
    /* A 2D fix has no altitude worth the name, nor has one whose sign is not known. */
    if (isfinite(w->alt) && m->gps_measure != '2' && !w->alt_ref_bad)
        m->gps_alt_m = w->alt_below ? -w->alt : w->alt;
}

/* --- DJI maker notes (a fallback pose: koi_dji_pose_fallback) ---------------------------- */

double koi_angle_apart(double a, double b) {
    return fabs(fmod(fmod(a - b, 360.0) + 540.0, 360.0) - 180.0);
}

/* Older DJI cameras (Phantom 3/4, Inspire's Zenmuse X3): an IFD with no header, in the TIFF's
 * byte order (ExifTool's DJI::Main): tags 6-8 the aircraft's Pitch/Yaw/Roll, 9-11 the
 * camera's CameraPitch/CameraYaw/CameraRoll, each one float32 held in its entry. Only entries
 * wholly inside the maker note's own bytes are read. A tag given twice more than
 * KOI_ATTITUDE_BELIEVE_DEG apart leaves the file unknown (m->conflict_note; adversary adv21c:
 * CameraPitch -30 then -89.9, the last silently taken). */
static void dji_ifd(const tiff *t, const entry *mn, koi_image_meta *m) {
    uint8_t b[12];
    if (mn->count < 2 || !rd(t, mn->at, b, 2)) return;
    uint64_t n = get(t, b, 2);
    if (n == 0 || n > 64 || 2 + 12 * n > mn->count) return;
    double *field[] = {&m->mn_flight_pitch, &m->mn_flight_yaw, &m->mn_flight_roll,
                       &m->mn_gimbal_pitch, &m->mn_gimbal_yaw, &m->mn_gimbal_roll};
    for (uint64_t i = 0; i < n; i++) {
        if (!rd(t, mn->at + 2 + 12 * i, b, 12)) return;
        uint64_t tag = get(t, b, 2);
        if (tag < 6 || tag > 11 || get(t, b + 2, 2) != 11 || get(t, b + 4, 4) != 1) continue;
        uint32_t u = (uint32_t)get(t, b + 8, 4);
        float f;
        memcpy(&f, &u, 4);
        if (!isfinite(f)) continue;
        static const char *const names[6] = {"Pitch",       "Yaw",       "Roll",
                                             "CameraPitch", "CameraYaw", "CameraRoll"};
        double *v = field[tag - 6];
        if (isfinite(*v) && koi_angle_apart(*v, f) > KOI_ATTITUDE_BELIEVE_DEG)
            koi_meta_conflict(m,
                              "the DJI maker note gives %s twice, %.2f and %.2f: which is right "
                              "cannot be told",
                              names[tag - 6], *v, (double)f);
        *v = f;
    }
    m->mn_gimbal_from = "DJI maker note CameraYaw/CameraPitch/CameraRoll";
    m->mn_flight_from = "DJI maker note Yaw/Pitch/Roll (the aircraft's)";
}

/* "342,-900,0": three signed integers of at most 6 digits (tenths of a degree, in the order
 * yaw, pitch, roll) ended by a NUL or ']'; 0 for anything else. */
static int tenths3(const char *s, size_t n, double v[3]) {
    size_t i = 0;
    for (int k = 0; k < 3; k++) {
        int neg = i < n && (s[i] == '-' || s[i] == '+') ? s[i++] == '-' : 0;
        long x = 0;
        int digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 6)
            x = x * 10 + (s[i++] - '0'), digits++;
        if (!digits) return 0;
        v[k] = (neg ? -x : x) / 10.0;
        if (k < 2 && (i >= n || s[i++] != ',')) return 0;
    }
    return i < n && (s[i] == '\0' || s[i] == ']');
}

/* A "[key:y,p,r]" record at p (n bytes on) into yaw, pitch, roll, unless they are set; a
 * second record of the key (not a rereading of the first in the chunks' overlap) more than
 * KOI_ATTITUDE_BELIEVE_DEG off the first leaves the file unknown (m->conflict_note). */
static void tenths_record(koi_image_meta *m, const char *p, size_t n, const char *key,
                          double *ypr[3]) {
    size_t k = strlen(key);
    double v[3];
    if (n < k || memcmp(p, key, k) != 0 || !tenths3(p + k, n - k, v)) return;
    if (!isnan(*ypr[0])) {
        double most = 0;
        for (int i = 0; i < 3; i++)
            most = fmax(most, koi_angle_apart(*ypr[i], v[i]));
        if (most > KOI_ATTITUDE_BELIEVE_DEG)
            koi_meta_conflict(m,
                              "the DJI maker note gives %.*s twice, (%.1f, %.1f, %.1f) and (%.1f, "
                              "%.1f, %.1f): which is right cannot be told",
                              (int)(k - 2), key + 1, *ypr[0], *ypr[1], *ypr[2], v[0], v[1], v[2]);
        return;
    }
    for (int i = 0; i < 3; i++)
        *ypr[i] = v[i];
}

#define MN_SCAN_MAX (64u * 1024) /* bytes of a bracketed maker note searched */
#define MN_CHUNK 1024
#define MN_KEEP 64 /* chunks overlap by more than a record's key and value (46 bytes) */

/* Newer DJI cameras write "[key:value]" records ("[ae_dbg_info:...]", "[sensor_id:...]");
 * the M2EA's include "[GimbalDegree(Y,P,R):342,-900,0]" and "[FlightDegree(Y,P,R):...]".
 * Its first MN_SCAN_MAX bytes are searched, MN_CHUNK at a time, all of them: a key given
 * twice is compared (tenths_record). */
static void dji_records(const tiff *t, const entry *mn, koi_image_meta *m) {
    char b[MN_CHUNK];
    uint64_t len = mn->count < MN_SCAN_MAX ? mn->count : MN_SCAN_MAX;
    double *gimbal[3] = {&m->mn_gimbal_yaw, &m->mn_gimbal_pitch, &m->mn_gimbal_roll};
    double *flight[3] = {&m->mn_flight_yaw, &m->mn_flight_pitch, &m->mn_flight_roll};
    for (uint64_t off = 0; off < len; off += MN_CHUNK - MN_KEEP) {
        size_t n = len - off < MN_CHUNK ? (size_t)(len - off) : MN_CHUNK;
        if (!rd(t, mn->at + off, b, n)) return;
        for (const char *p = b; (p = memchr(p, '[', n - (size_t)(p - b))) != NULL; p++) {
            tenths_record(m, p, n - (size_t)(p - b), "[GimbalDegree(Y,P,R):", gimbal);
            tenths_record(m, p, n - (size_t)(p - b), "[FlightDegree(Y,P,R):", flight);
        }
        if (n < MN_CHUNK) break; /* (on past the first records: a second one is compared) */
    }
    m->mn_gimbal_from = "DJI maker note GimbalDegree(Y,P,R)";
    m->mn_flight_from = "DJI maker note FlightDegree(Y,P,R) (the aircraft's)";
}

/* An attitude is taken whole or not at all: a source names its tags only with all three. */
static void whole(double *a, double *b, double *c, const char **from) {
    /* (beyond 360 degrees is no angle: float32 1e30 folded by fmod into a heading; adv21b) */
    if (isfinite(*a) && isfinite(*b) && isfinite(*c) && fabs(*a) <= 360.0 && fabs(*b) <= 360.0 &&
        fabs(*c) <= 360.0)
        return;
    *a = *b = *c = NAN;
    *from = NULL;
}

static void dji_makernote(const tiff *t, const entry *mn, koi_image_meta *m) {
    uint8_t c = 0;
    if (strcmp(m->make, "DJI") != 0 || mn->count == 0 || !rd(t, mn->at, &c, 1)) return;
    if (c == '[')
        dji_records(t, mn, m);
    else
        dji_ifd(t, mn, m);
    whole(&m->mn_gimbal_yaw, &m->mn_gimbal_pitch, &m->mn_gimbal_roll, &m->mn_gimbal_from);
    whole(&m->mn_flight_yaw, &m->mn_flight_pitch, &m->mn_flight_roll, &m->mn_flight_from);
}

/* The maker note's camera attitude beside the XMP's: a difference beyond the writings'
 * rounding (tenths, hundredths) and float32 noise is noted and the XMP's stays; one beyond
 * KOI_ATTITUDE_BELIEVE_DEG leaves neither believed (m->attitude_disagree): both come from the
 * same gimbal reading, so one of them is wrong, and the wrong one may be the XMP's. */
static void compare(koi_image_meta *m) {
    if ((m->camera_vocabs & KOI_VOCAB_PIX4D) && !m->attitude_disagree) {
        /* Pix4D's Camera: angles and the maker note's gimbal angles are different rotations */
        m->attitude_disagree = 1;
        snprintf(m->attitude_note, sizeof m->attitude_note,
                 "the XMP's Pix4D Camera: angles and the %s are two conventions, which cannot be "
                 "compared: which is meant cannot be told",
                 m->mn_gimbal_from);
        return;
    }
    double x[3] = {m->gimbal_yaw, m->gimbal_pitch, m->gimbal_roll};
    double n[3] = {m->mn_gimbal_yaw, m->mn_gimbal_pitch, m->mn_gimbal_roll}, most = 0;
    for (int i = 0; i < 3; i++)
        if (isfinite(x[i])) most = fmax(most, koi_angle_apart(x[i], n[i]));
    if (!(most > KOI_ATTITUDE_AGREE_DEG) || m->attitude_disagree) return; /* (the XMP's own) */
    m->attitude_disagree = most > KOI_ATTITUDE_BELIEVE_DEG;
    snprintf(m->attitude_note, sizeof m->attitude_note,
             "%s (%.2f, %.2f, %.2f) differs from the XMP gimbal yaw/pitch/roll (%.2f, %.2f, "
             "%.2f) by %.2f deg: %s",
             m->mn_gimbal_from, n[0], n[1], n[2], x[0], x[1], x[2], most,
             m->attitude_disagree ? "which is right cannot be told" : "the XMP's is used");
}

void koi_dji_pose_fallback(koi_image_meta *m) {
    int xmp_camera =
        isfinite(m->gimbal_yaw) || isfinite(m->gimbal_pitch) || isfinite(m->gimbal_roll);
    if (m->mn_gimbal_from && xmp_camera) {
        compare(m);
        /* An XMP with some of the angles: the maker note's fill the rest (the shot was placed
         * looking straight down under --assume-nadir while the maker note said -30: adv21b). */
        double *x[3] = {&m->gimbal_yaw, &m->gimbal_pitch, &m->gimbal_roll};
        double n[3] = {m->mn_gimbal_yaw, m->mn_gimbal_pitch, m->mn_gimbal_roll};
        for (int i = 0; i < 3; i++)
            if (!isfinite(*x[i])) *x[i] = n[i];
    } else if (m->mn_gimbal_from) {
        m->gimbal_yaw = m->mn_gimbal_yaw;
        m->gimbal_pitch = m->mn_gimbal_pitch;
        m->gimbal_roll = m->mn_gimbal_roll;
        m->attitude_from = m->mn_gimbal_from;
        m->vendor = "dji";
        m->airframe_from = NULL; /* a camera attitude is beside any airframe's now */
    }
    if (m->mn_flight_from && !isfinite(m->flight_yaw) && !isfinite(m->flight_pitch) &&
        !isfinite(m->flight_roll)) {
        m->flight_yaw = m->mn_flight_yaw;
        m->flight_pitch = m->mn_flight_pitch;
        m->flight_roll = m->mn_flight_roll;
        if (!xmp_camera && !m->mn_gimbal_from) m->airframe_from = m->mn_flight_from;
    }
}

static int mem_read(void *user, uint64_t off, void *dst, size_t n) {
    memcpy(dst, (const uint8_t *)user + off, n);
    return 1;
}

static int header(tiff *t) {
    uint8_t b[16];
    if (t->in->size < 8 || !t->in->read(t->in->user, 0, b, 8)) return 0;
    if (b[0] == 'M' && b[1] == 'M')
        t->big = 1;
    else if (!(b[0] == 'I' && b[1] == 'I'))
        return 0;
    uint64_t magic = get(t, b + 2, 2);
    if (magic == 43 && t->file) {
        if (t->in->size < 16 || !t->in->read(t->in->user, 0, b, 16) || get(t, b + 4, 2) != 8)
            return 0;
        t->bigtiff = 1;
        return 1;
    }
    return magic == 42;
}

ko_status koi_exif_parse(const uint8_t *p, size_t n, koi_image_meta *m) {
    if (n < 8 || n > UINT32_MAX) return KO_ERR_FORMAT;
    koi_tiff_in in = {mem_read, (void *)p, n};
    tiff t = {&in, 0, 0, 0};
    if (!header(&t)) return KO_ERR_FORMAT;
    uint8_t b[4];
    walk_state w;
    memset(&w, 0, sizeof w);
    w.lat = w.lon = w.alt = NAN;
    rd(&t, 4, b, 4);
    read_ifd(&t, get(&t, b, 4), IFD0, &w, m);
    finish_gps(&w, m);
    if (w.have_makernote) dji_makernote(&t, &w.makernote, m);
    if (w.have_xmp) {
        m->exif_xmp_off = (uint32_t)w.xmp.at;
        m->exif_xmp_len = (uint32_t)w.xmp.count;
    }
    return KO_OK;
}

/* The bytes of an entry (XMP, GDAL metadata) as a NUL-terminated string the caller frees;
 * NULL with *st set if it is too large or cannot be read. */
static char *entry_bytes(ko_context *ctx, const tiff *t, const entry *e, ko_status *st,
                         const char *what) {
    if (e->count > KOI_XMP_MAX) {
        *st = koi_error(ctx, KO_ERR_LIMIT, "%s of %llu bytes (limit %u)", what,
                        (unsigned long long)e->count, KOI_XMP_MAX);
        return NULL;
    }
    char *s = koi_malloc((size_t)e->count + 1);
    if (!s) {
        *st = koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (!rd(t, e->at, s, (size_t)e->count)) {
        free(s);
        *st = koi_error(ctx, KO_ERR_IO, "%s cannot be read", what);
        return NULL;
    }
    s[e->count] = '\0';
    return s;
}

ko_status koi_tiff_walk(ko_context *ctx, const koi_tiff_in *in, koi_image_meta *m) {
    tiff t = {in, 0, 0, 1};
    if (!header(&t)) return koi_error(ctx, KO_ERR_FORMAT, "not a TIFF file (no II*/MM* header)");
    uint8_t b[8];
    if (!rd(&t, 4 + (t.bigtiff ? 4 : 0), b, t.bigtiff ? 8 : 4))
        return koi_error(ctx, KO_ERR_FORMAT, "truncated TIFF header");
    uint64_t ifd0 = get(&t, b, t.bigtiff ? 8 : 4);
    walk_state w;
    memset(&w, 0, sizeof w);
    w.lat = w.lon = w.alt = NAN;
    read_ifd(&t, ifd0, IFD0, &w, m);
    if (w.n_seen == 0)
        return koi_error(ctx, KO_ERR_FORMAT,
                         "damaged TIFF: its first IFD (at byte %llu) is outside the file of %llu "
                         "bytes",
                         (unsigned long long)ifd0, (unsigned long long)in->size);
    m->has_exif = 1;
    finish_gps(&w, m);
    if (w.have_makernote) dji_makernote(&t, &w.makernote, m);
    ko_status st = KO_OK;
    if (w.have_xmp) {
        char *x = entry_bytes(ctx, &t, &w.xmp, &st, "XMP packet (TIFF tag 700)");
        if (!x) return st;
        m->has_xmp = 1;
        st = koi_xmp_parse(ctx, x, (size_t)w.xmp.count, m);
        free(x);
        if (st) return koi_error(ctx, st, "%s", m->problem[0] ? m->problem : "XMP packet");
    }
    if (w.have_gdal) {
        char *x = entry_bytes(ctx, &t, &w.gdal, &st, "GDAL metadata (TIFF tag 42112)");
        if (!x) return st;
        koi_gdal_metadata(x, m);
        free(x);
    }
    koi_dji_pose_fallback(m);
    if (!m->sof_width || !m->sof_height)
        snprintf(m->incomplete, sizeof m->incomplete,
                 "damaged TIFF: no image size (ImageWidth/ImageLength) in its first IFD");
    uint64_t end = 0;
    if (!data_end(&t, &w, &end) && !m->incomplete[0])
        snprintf(m->incomplete, sizeof m->incomplete,
                 "damaged TIFF: no strip or tile offsets with their byte counts in its first IFD");
    else if (end > in->size && !m->incomplete[0])
        snprintf(m->incomplete, sizeof m->incomplete,
                 "truncated: the image data runs to byte %llu, past the end of the file (%llu "
                 "bytes)",
                 (unsigned long long)end, (unsigned long long)in->size);
    return KO_OK;
}
