/* EXIF: the TIFF structure of an APP1 "Exif" segment. IFD0 -> Exif IFD and GPS IFD; every
 * offset and count is bounds-checked and each IFD is visited at most once (loops in crafted
 * files end). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "meta/meta.h"

typedef struct tiff {
    const uint8_t *p;
    size_t n;
    int big; /* Motorola byte order */
} tiff;

static uint32_t u16(const tiff *t, size_t o) {
    return t->big ? (uint32_t)t->p[o] << 8 | t->p[o + 1] : (uint32_t)t->p[o + 1] << 8 | t->p[o];
}

static uint32_t u32(const tiff *t, size_t o) {
    return t->big ? (uint32_t)t->p[o] << 24 | (uint32_t)t->p[o + 1] << 16 |
                        (uint32_t)t->p[o + 2] << 8 | t->p[o + 3]
                  : (uint32_t)t->p[o + 3] << 24 | (uint32_t)t->p[o + 2] << 16 |
                        (uint32_t)t->p[o + 1] << 8 | t->p[o];
}

/* One IFD entry, its value located and bounds-checked. */
typedef struct entry {
    uint32_t tag, type, count;
    size_t at; /* offset of the value bytes */
} entry;

static size_t type_size(uint32_t type) {
    static const size_t sizes[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8};
    return type < sizeof sizes / sizeof sizes[0] ? sizes[type] : 0;
}

static int get_entry(const tiff *t, size_t o, entry *e) {
    e->tag = u16(t, o);
    e->type = u16(t, o + 2);
    e->count = u32(t, o + 4);
    size_t sz = type_size(e->type);
    if (!sz || e->count > t->n / sz) return 0;
    size_t bytes = sz * e->count;
    e->at = bytes <= 4 ? o + 8 : u32(t, o + 8);
    return e->at <= t->n && bytes <= t->n - e->at;
}

static double rational(const tiff *t, const entry *e, uint32_t i) {
    if (i >= e->count) return NAN;
    if (e->type == 3) return u16(t, e->at + 2 * i);
    if (e->type == 4) return u32(t, e->at + 4 * i);
    if (e->type != 5 && e->type != 10) return NAN;
    uint32_t num = u32(t, e->at + 8 * i), den = u32(t, e->at + 8 * i + 4);
    if (e->type == 10) return den ? (double)(int32_t)num / (int32_t)den : NAN;
    return den ? (double)num / den : NAN;
}

static uint32_t integer(const tiff *t, const entry *e) {
    if (e->type == 3) return u16(t, e->at);
    if (e->type == 4) return u32(t, e->at);
    if (e->type == 1 || e->type == 7) return t->p[e->at];
    return 0;
}

static void ascii(const tiff *t, const entry *e, char *out, size_t size) {
    size_t n = e->type == 2 ? e->count : 0;
    if (n >= size) n = size - 1;
    memcpy(out, t->p + e->at, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e) out[i] = '\0';
    while (n && out[n - 1] == ' ')
        out[--n] = '\0'; /* "DJI   " */
}

static double dms(const tiff *t, const entry *e) {
    if (e->count < 3) return NAN;
    return rational(t, e, 0) + rational(t, e, 1) / 60.0 + rational(t, e, 2) / 3600.0;
}

/* "2016:06:23 16:31:59" -> "2016-06-23T16:31:59" */
static void iso_time(const char *exif, char *out, size_t size) {
    unsigned y, mo, d, h, mi, s;
    if (sscanf(exif, "%4u:%2u:%2u %2u:%2u:%2u", &y, &mo, &d, &h, &mi, &s) == 6 && y > 1900 &&
        mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 61)
        snprintf(out, size, "%04u-%02u-%02uT%02u:%02u:%02u", y % 10000, mo % 100, d % 100, h % 100,
                 mi % 100, s % 100);
}

enum ifd_kind { IFD0, IFD_EXIF, IFD_GPS };

typedef struct walk_state {
    uint32_t seen[8];
    int n_seen;
    char lat_ref, lon_ref;
    int alt_below;
    double lat, lon, alt;
} walk_state;

static void read_ifd(const tiff *t, uint32_t off, enum ifd_kind kind, walk_state *w,
                     koi_image_meta *m);

static void on_entry(const tiff *t, const entry *e, enum ifd_kind kind, walk_state *w,
                     koi_image_meta *m) {
    char buf[64];
    if (kind == IFD0) {
        if (e->tag == 0x010F) ascii(t, e, m->make, sizeof m->make);
        if (e->tag == 0x0110) ascii(t, e, m->model, sizeof m->model);
        if (e->tag == 0x8769) read_ifd(t, integer(t, e), IFD_EXIF, w, m);
        if (e->tag == 0x8825) read_ifd(t, integer(t, e), IFD_GPS, w, m);
    } else if (kind == IFD_EXIF) {
        if (e->tag == 0x920A) m->focal_mm = rational(t, e, 0);
        if (e->tag == 0xA405) m->focal35_mm = integer(t, e);
        if (e->tag == 0xA20E) m->fp_xres = rational(t, e, 0);
        if (e->tag == 0xA20F) m->fp_yres = rational(t, e, 0);
        if (e->tag == 0xA210) {
            /* ResolutionUnit: 2 inch, 3 cm; 4 mm and 5 um are later extensions */
            static const double unit_mm[] = {NAN, NAN, 25.4, 10.0, 1.0, 0.001};
            uint32_t u = integer(t, e);
            m->fp_unit_mm = u < 6 ? unit_mm[u] : NAN;
        }
        if (e->tag == 0xA002) m->exif_width = integer(t, e);
        if (e->tag == 0xA003) m->exif_height = integer(t, e);
        if (e->tag == 0x9003) {
            ascii(t, e, buf, sizeof buf);
            iso_time(buf, m->datetime, sizeof m->datetime);
        }
    } else {
        if (e->tag == 1 && e->count >= 1) w->lat_ref = (char)t->p[e->at];
        if (e->tag == 2) w->lat = dms(t, e);
        if (e->tag == 3 && e->count >= 1) w->lon_ref = (char)t->p[e->at];
        if (e->tag == 4) w->lon = dms(t, e);
        if (e->tag == 5) w->alt_below = integer(t, e) == 1;
        if (e->tag == 6) w->alt = rational(t, e, 0);
        /* ASCII fix flags: the first character; a count of 0 or a NUL says nothing. */
        if (e->tag == 9 && e->type == 2 && e->count >= 1) m->gps_status = (char)t->p[e->at];
        if (e->tag == 10 && e->type == 2 && e->count >= 1) m->gps_measure = (char)t->p[e->at];
    }
}

static void read_ifd(const tiff *t, uint32_t off, enum ifd_kind kind, walk_state *w,
                     koi_image_meta *m) {
    for (int i = 0; i < w->n_seen; i++)
        if (w->seen[i] == off) return; /* a loop */
    if (w->n_seen == 8 || off < 8 || off > t->n - 2) return;
    w->seen[w->n_seen++] = off;
    uint32_t count = u16(t, off);
    if (count > (t->n - off - 2) / 12) count = (uint32_t)((t->n - off - 2) / 12);
    for (uint32_t i = 0; i < count; i++) {
        entry e;
        if (get_entry(t, off + 2 + 12 * (size_t)i, &e)) on_entry(t, &e, kind, w, m);
    }
}

ko_status koi_exif_parse(const uint8_t *p, size_t n, koi_image_meta *m) {
    if (n < 8 || n > UINT32_MAX) return KO_ERR_FORMAT;
    tiff t = {p, n, 0};
    if (p[0] == 'M' && p[1] == 'M')
        t.big = 1;
    else if (!(p[0] == 'I' && p[1] == 'I'))
        return KO_ERR_FORMAT;
    if (u16(&t, 2) != 42) return KO_ERR_FORMAT;
    walk_state w = {{0}, 0, 0, 0, 0, NAN, NAN, NAN};
    read_ifd(&t, u32(&t, 4), IFD0, &w, m);
    /* A position needs its hemisphere: without the reference letter it is not trusted. */
    if (isfinite(w.lat) && (w.lat_ref == 'N' || w.lat_ref == 'S'))
        m->lat = w.lat_ref == 'S' ? -w.lat : w.lat;
    if (isfinite(w.lon) && (w.lon_ref == 'E' || w.lon_ref == 'W'))
        m->lon = w.lon_ref == 'W' ? -w.lon : w.lon;
    /* A 2D fix has no altitude worth the name. */
    if (isfinite(w.alt) && m->gps_measure != '2') m->gps_alt_m = w.alt_below ? -w.alt : w.alt;
    return KO_OK;
}
