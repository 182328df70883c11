/* GoPro GPMF telemetry (gopro/gpmf-parser README, "GPMF Deeper Dive"): big-endian KLV records
 * (FourCC key, type char, struct size, 16-bit repeat, value padded to 4 bytes; type 0 nests),
 * in the `gpmd` track of an MP4/MOV (one payload per track sample) or as a raw stream of
 * DEVC records. Sticky SCAL (divisors, one per field or one for all) and TYPE (the fields of a
 * '?' struct) apply to the next data record of their STRM.
 *
 * Positions, as DJI .SRT frames are read (one shot per position sample):
 *  - the drone's: GoPro Karma's MAVLink-style GLPI ("Position": boot time ms, lat, lon, alt
 *    MSL, relative_alt above home, vx, vy, vz, hdg), with GPRI ("GPS RAW": fix type,
 *    satellites, eph) and ATTD ("Attitude": roll, pitch, yaw in radians, the airframe's);
 *  - else the camera's GPS9 (lat, lon, alt, speeds, days since 2000, seconds, DOP, fix) or
 *    GPS5 (lat, lon, alt, speeds) with GPSF (fix: 0 none, 2 2D, 3 3D) and GPSP (DOP x 100).
 * A sample's video time spreads the payload's samples evenly over the payload's duration (the
 * README's timing method). Only the GPMF samples are read, one payload at a time, through VSI. */
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "camera/camera.h"
#include "core/core.h"
#include "meta/meta.h"

/* A KLV value holds at most 255 x 65535 bytes; a payload of more is refused. */
#define PAYLOAD_MAX (16u << 20)
#define SAMPLES_MAX 4000000u /* track samples (payloads): 46 days at one a second */
#define BOXES_MAX 4096
#define FIELDS_MAX 32
#define NEST_MAX 8
#define DEG_PER_RAD 57.295779513082320876

static int type_size(char t) {
    switch (t) {
        case 'b':
        case 'B':
        case 'c':
            return 1;
        case 's':
        case 'S':
            return 2;
        case 'f':
        case 'l':
        case 'L':
        case 'q':
        case 'F':
            return 4;
        case 'd':
        case 'j':
        case 'J':
        case 'Q':
            return 8;
        case 'G':
        case 'U':
            return 16;
        default:
            return 0;
    }
}

/* One value of type t at p as a number (NaN for text and identifiers). */
static double value(char t, const uint8_t *p) {
    uint64_t u;
    switch (t) {
        case 'b':
            return (int8_t)p[0];
        case 'B':
            return p[0];
        case 's':
            return (int16_t)koi_be(p, 2);
        case 'S':
            return (double)koi_be(p, 2);
        case 'l':
            return (int32_t)koi_be(p, 4);
        case 'L':
            return (double)koi_be(p, 4);
        case 'j':
            return (double)(int64_t)koi_be(p, 8);
        case 'J':
            return (double)koi_be(p, 8);
        case 'q':
            return (int32_t)koi_be(p, 4) / 65536.0;
        case 'Q':
            return (double)(int64_t)koi_be(p, 8) / 4294967296.0;
        case 'f': {
            uint32_t w = (uint32_t)koi_be(p, 4);
            float f;
            memcpy(&f, &w, 4);
            return f;
        }
        case 'd': {
            u = koi_be(p, 8);
            double d;
            memcpy(&d, &u, 8);
            return d;
        }
        default:
            return NAN;
    }
}

/* A KLV record at p within [p, end): its parts, or 0 if the header or value does not fit. */
typedef struct klv {
    uint32_t key;
    char type; /* 0: nested */
    uint32_t ss, rep;
    const uint8_t *v;
    size_t len;  /* ss * rep */
    size_t next; /* bytes to the next record (header + padded value) */
} klv;

static int klv_at(const uint8_t *p, size_t n, klv *k) {
    if (n < 8) return 0;
    k->key = (uint32_t)koi_be(p, 4);
    k->type = (char)p[4];
    k->ss = p[5];
    k->rep = (uint32_t)koi_be(p + 6, 2);
    k->len = (size_t)k->ss * k->rep;
    size_t padded = (k->len + 3) & ~(size_t)3;
    if (padded > n - 8) return 0;
    k->v = p + 8;
    k->next = 8 + padded;
    return 1;
}

#define FOURCC(a, b, c, d) \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* A data record decoded field by field: its fields' types and offsets and the divisors. */
typedef struct stream {
    const uint8_t *v;
    uint32_t ss, rep;
    int nf;
    char ft[FIELDS_MAX];
    uint16_t off[FIELDS_MAX];
    double scal[FIELDS_MAX];
} stream;

/* Field f of sample i, scaled; NaN where the record does not say. */
static double field(const stream *s, uint32_t i, int f) {
    if (!s->v || i >= s->rep || f >= s->nf) return NAN;
    double v = value(s->ft[f], s->v + (size_t)i * s->ss + s->off[f]);
    return s->scal[f] != 0 ? v / s->scal[f] : NAN;
}

/* TYPE "lllS[2]B" -> field types; 0 if malformed or more than FIELDS_MAX. */
static int expand_type(const uint8_t *t, size_t n, char *out) {
    int nf = 0;
    for (size_t i = 0; i < n && t[i]; i++) {
        char c = (char)t[i];
        if (c == '[') {
            unsigned cnt = 0;
            size_t j = i + 1;
            while (j < n && t[j] >= '0' && t[j] <= '9' && cnt < 1000)
                cnt = cnt * 10 + (unsigned)(t[j++] - '0');
            if (j >= n || t[j] != ']' || nf == 0 || cnt == 0) return 0;
            for (unsigned r = 1; r < cnt; r++) {
                if (nf >= FIELDS_MAX) return 0;
                out[nf] = out[nf - 1];
                nf++;
            }
            i = j;
            continue;
        }
        if (!type_size(c) || nf >= FIELDS_MAX) return 0;
        out[nf++] = c;
    }
    return nf;
}

/* Fills s from a data record with the STRM's sticky TYPE and SCAL so far. 0 if they do not
 * describe it (field sizes not adding up to the struct size, divisors of another count). */
static int make_stream(const klv *k, const uint8_t *type, size_t type_n, const double *scal,
                       int nscal, stream *s) {
    memset(s, 0, sizeof *s);
    if (k->type == '?') {
        if (!type || !(s->nf = expand_type(type, type_n, s->ft))) return 0;
    } else {
        int sz = type_size(k->type);
        if (!sz || k->ss % (uint32_t)sz || k->ss / (uint32_t)sz > FIELDS_MAX) return 0;
        s->nf = (int)(k->ss / (uint32_t)sz);
        for (int f = 0; f < s->nf; f++)
            s->ft[f] = k->type;
    }
    uint32_t at = 0;
    for (int f = 0; f < s->nf; f++) {
        s->off[f] = (uint16_t)at;
        at += (uint32_t)type_size(s->ft[f]);
    }
    if (at != k->ss || s->nf == 0) return 0;
    for (int f = 0; f < s->nf; f++)
        s->scal[f] = nscal == 0 ? 1.0 : nscal == 1 ? scal[0] : nscal == s->nf ? scal[f] : 0.0;
    if (nscal > 1 && nscal != s->nf) return 0;
    s->v = k->v;
    s->ss = k->ss;
    s->rep = k->rep;
    return 1;
}

/* What one payload holds that keepout reads. */
typedef struct payload {
    stream glpi, gpri, attd, gps5, gps9;
    double gpsf, gpsp; /* GPS5's fix and DOP x 100 (NaN: not said) */
    char gpsu[20];     /* GPS5's UTC "yymmddhhmmss.sss" */
} payload;

/* One STRM: its sticky SCAL/TYPE and the records keepout knows. */
static void strm(const uint8_t *p, size_t n, payload *pl) {
    const uint8_t *type = NULL;
    size_t type_n = 0;
    double scal[FIELDS_MAX];
    int nscal = 0;
    klv k;
    for (size_t at = 0; at < n && klv_at(p + at, n - at, &k); at += k.next) {
        int sz = type_size(k.type);
        switch (k.key) {
            case FOURCC('S', 'C', 'A', 'L'):
                nscal = 0;
                if (sz && k.type != 'c' && k.type != 'U' && k.type != 'F' && k.type != 'G')
                    for (size_t i = 0; i + (size_t)sz <= k.len && nscal < FIELDS_MAX; i += sz)
                        scal[nscal++] = value(k.type, k.v + i);
                break;
            case FOURCC('T', 'Y', 'P', 'E'):
                if (k.type == 'c') type = k.v, type_n = k.len;
                break;
            case FOURCC('G', 'L', 'P', 'I'):
                if (!pl->glpi.v) make_stream(&k, type, type_n, scal, nscal, &pl->glpi);
                break;
            case FOURCC('G', 'P', 'R', 'I'):
                if (!pl->gpri.v) make_stream(&k, type, type_n, scal, nscal, &pl->gpri);
                break;
            case FOURCC('A', 'T', 'T', 'D'):
                if (!pl->attd.v) make_stream(&k, type, type_n, scal, nscal, &pl->attd);
                break;
            case FOURCC('G', 'P', 'S', '5'):
                if (!pl->gps5.v) make_stream(&k, type, type_n, scal, nscal, &pl->gps5);
                break;
            case FOURCC('G', 'P', 'S', '9'):
                if (!pl->gps9.v) make_stream(&k, type, type_n, scal, nscal, &pl->gps9);
                break;
            case FOURCC('G', 'P', 'S', 'F'):
                if (sz && k.len >= (size_t)sz) pl->gpsf = value(k.type, k.v);
                break;
            case FOURCC('G', 'P', 'S', 'P'):
                if (sz && k.len >= (size_t)sz) pl->gpsp = value(k.type, k.v);
                break;
            case FOURCC('G', 'P', 'S', 'U'):
                if (k.len >= 16) {
                    memcpy(pl->gpsu, k.v, 16);
                    pl->gpsu[16] = '\0';
                }
                break;
            default:
                break;
        }
    }
}

/* Walks DEVC > STRM nests of a payload (other records skipped). Returns 0 if the payload is not
 * GPMF at all (its first record is not a nest). */
static int walk(const uint8_t *p, size_t n, int depth, payload *pl) {
    klv k;
    int any = 0;
    for (size_t at = 0; at < n && klv_at(p + at, n - at, &k); at += k.next) {
        if (k.type != 0) continue;
        any = 1;
        if (k.key == FOURCC('S', 'T', 'R', 'M'))
            strm(k.v, k.len, pl);
        else if (depth < NEST_MAX)
            walk(k.v, k.len, depth + 1, pl);
    }
    return any;
}

/* ------------------------------------------------------------------------------------------ */

/* One position sample, as the reader turns it into a shot. */
typedef struct fix {
    double t_s; /* video time, NaN without a track */
    double lat, lon, alt_msl_m, height_m;
    double airframe_yaw_deg;
    double fix_type;   /* GPSF / GPRI fix type / GPS9 fix; NaN if not said */
    double satellites; /* GPRI */
    double dop;        /* GPS5/GPS9 dilution of precision; NaN if not said */
    char utc[32];      /* ISO 8601, "" if not said */
    const char *from;  /* static */
} fix;

/* The record nearest in time (field 0, scaled to seconds by SCAL) to t, within 0.5 s: its
 * index, or -1. */
static long nearest(const stream *s, double t) {
    long best = -1;
    double bd = 0.5;
    for (uint32_t i = 0; s->v && i < s->rep; i++) {
        double d = fabs(field(s, i, 0) - t);
        if (d <= bd) bd = d, best = (long)i;
    }
    return best;
}

/* "yymmddhhmmss.sss" -> ISO 8601. */
static void gpsu_iso(const char *u, char *out, size_t size) {
    unsigned y, mo, d, h, mi, s, ms = 0;
    if (sscanf(u, "%2u%2u%2u%2u%2u%2u.%3u", &y, &mo, &d, &h, &mi, &s, &ms) >= 6 && mo >= 1 &&
        mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 61)
        snprintf(out, size, "20%02u-%02u-%02uT%02u:%02u:%02u.%03uZ", y % 100, mo % 100, d % 100,
                 h % 100, mi % 100, s % 100, ms % 1000);
}

/* Days since 2000-01-01 and seconds since midnight (GPS9) -> ISO 8601. */
static void days_iso(double days, double secs, char *out, size_t size) {
    if (!(days >= 0 && days < 100000 && secs >= 0 && secs < 86401)) return;
    long z = (long)days + 10957; /* 1970-01-01 -> 2000-01-01 */
    /* civil from days (H. Hinnant's algorithm) */
    z += 719468;
    long era = z / 146097, doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153, dd = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    long ms = (long)llround(secs * 1000.0);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)(y % 10000), (int)(m % 100),
             (int)(dd % 100), (int)(ms / 3600000 % 100), (int)(ms / 60000 % 60),
             (int)(ms / 1000 % 60), (int)(ms % 1000));
}

/* The position samples of one payload into *out (grown), with times t0 + dur * i / n. */
static ko_status payload_fixes(const uint8_t *p, size_t n, double t0, double dur, fix **out,
                               size_t *nout, size_t *cap) {
    payload pl;
    memset(&pl, 0, sizeof pl);
    pl.gpsf = pl.gpsp = NAN;
    walk(p, n, 0, &pl);
    const stream *src = pl.glpi.v ? &pl.glpi : pl.gps9.v ? &pl.gps9 : &pl.gps5;
    *nout = 0;
    if (!src->v || src->rep == 0) return KO_OK;
    if (*cap < src->rep) {
        fix *g = koi_realloc_array(*out, src->rep, sizeof *g);
        if (!g) return KO_ERR_NOMEM;
        *out = g;
        *cap = src->rep;
    }
    for (uint32_t i = 0; i < src->rep; i++) {
        fix *f = &(*out)[i];
        memset(f, 0, sizeof *f);
        f->t_s = isfinite(dur) ? t0 + dur * i / src->rep : NAN;
        f->lat = field(src, i, 1 - (src != &pl.glpi));
        f->lon = field(src, i, 2 - (src != &pl.glpi));
        f->alt_msl_m = field(src, i, 3 - (src != &pl.glpi));
        f->height_m = f->airframe_yaw_deg = f->fix_type = f->satellites = f->dop = NAN;
        if (src == &pl.glpi) {
            f->from = "GoPro Karma GPMF GLPI (drone position)";
            f->height_m = field(src, i, 4);
            double t = field(src, i, 0);
            /* GPRI's time is in microseconds, GLPI's and ATTD's in milliseconds, each
             * divided by its SCAL into seconds */
            long g = nearest(&pl.gpri, t), a = nearest(&pl.attd, t);
            if (g >= 0) {
                f->fix_type = field(&pl.gpri, (uint32_t)g, 8);
                f->satellites = field(&pl.gpri, (uint32_t)g, 9);
                /* eph is MAVLink GPS_RAW_INT's HDOP x 100 (65535: not known); with the Karma's
                 * SCAL of 100 it is the HDOP, checked as GPS5/GPS9's DOP. Another divisor
                 * leaves its unit unclear: not used. */
                double eph = field(&pl.gpri, (uint32_t)g, 4);
                if (pl.gpri.nf > 4 && pl.gpri.scal[4] == 100.0 && eph < 655.35) f->dop = eph;
            } else {
                f->fix_type = 0; /* no GPS record near it: not a fix */
            }
            if (a >= 0) f->airframe_yaw_deg = field(&pl.attd, (uint32_t)a, 3) * DEG_PER_RAD;
        } else if (src == &pl.gps9) {
            f->from = "GoPro GPMF GPS9 (camera GPS)";
            f->dop = field(src, i, 7);
            f->fix_type = field(src, i, 8);
            days_iso(field(src, i, 5), field(src, i, 6), f->utc, sizeof f->utc);
        } else {
            f->from = "GoPro GPMF GPS5 (camera GPS)";
            f->fix_type = pl.gpsf;
            f->dop = pl.gpsp / 100.0;
            if (i == 0 && pl.gpsu[0]) gpsu_iso(pl.gpsu, f->utc, sizeof f->utc);
        }
    }
    *nout = src->rep;
    return KO_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* The gpmd track of an ISO base media file: each sample's offset, size and time. */

typedef struct sample {
    uint64_t off;
    uint32_t size;
    double t0, dur;
} sample;

/* A whole (small) table box read into memory: at most max bytes. */
static uint8_t *read_box(VSILFILE *f, uint64_t body, uint64_t end, size_t max, size_t *n) {
    if (end - body > max || end - body < 8) return NULL;
    *n = (size_t)(end - body);
    uint8_t *b = koi_malloc(*n);
    if (b && (VSIFSeekL(f, body, SEEK_SET) != 0 || VSIFReadL(b, 1, *n, f) != *n)) {
        free(b);
        b = NULL;
    }
    return b;
}

typedef struct tables {
    uint8_t *stsz, *stco, *stsc, *stts;
    size_t nsz, nco, nsc, nts;
    int co64;
    uint64_t scale;
} tables;

static void tables_free(tables *t) {
    free(t->stsz);
    free(t->stco);
    free(t->stsc);
    free(t->stts);
}

/* The samples from the tables: chunk offsets (stco/co64), samples per chunk (stsc), sizes
 * (stsz), durations (stts). 0 if they do not agree. */
static int samples_from(const tables *t, uint64_t file_size, sample **out, size_t *nout) {
    if (t->nsz < 12 || t->nco < 8 || t->nsc < 8 || t->nts < 8 || !t->scale) return 0;
    uint32_t fixed = (uint32_t)koi_be(t->stsz + 4, 4), count = (uint32_t)koi_be(t->stsz + 8, 4);
    uint32_t chunks = (uint32_t)koi_be(t->stco + 4, 4), runs = (uint32_t)koi_be(t->stsc + 4, 4);
    uint32_t ts = (uint32_t)koi_be(t->stts + 4, 4);
    size_t esz = t->co64 ? 8 : 4;
    /* (a fixed size's samples must fit in the file before they are listed) */
    if (count == 0 || count > SAMPLES_MAX || (!fixed && (t->nsz - 12) / 4 < count) ||
        (fixed && (uint64_t)count * fixed > file_size) || (t->nco - 8) / esz < chunks ||
        (t->nsc - 8) / 12 < runs || (t->nts - 8) / 8 < ts || runs == 0)
        return 0;
    sample *s = koi_calloc(count, sizeof *s);
    if (!s) return -1;
    size_t k = 0;
    for (uint32_t r = 0; r < runs && k < count; r++) {
        uint32_t first = (uint32_t)koi_be(t->stsc + 8 + 12 * r, 4);
        uint32_t per = (uint32_t)koi_be(t->stsc + 12 + 12 * r, 4);
        uint32_t last = r + 1 < runs ? (uint32_t)koi_be(t->stsc + 8 + 12 * (r + 1), 4) : chunks + 1;
        if (first == 0 || last <= first || last > chunks + 1 || per == 0) break;
        for (uint32_t c = first; c < last && k < count; c++) {
            uint64_t off = koi_be(t->stco + 8 + esz * (c - 1), (int)esz);
            for (uint32_t j = 0; j < per && k < count; j++, k++) {
                uint32_t size = fixed ? fixed : (uint32_t)koi_be(t->stsz + 12 + 4 * k, 4);
                if (off > file_size || size > file_size - off || size > PAYLOAD_MAX) {
                    free(s);
                    return 0;
                }
                s[k].off = off;
                s[k].size = size;
                off += size;
            }
        }
    }
    if (k != count) {
        free(s);
        return 0;
    }
    double at = 0;
    size_t i = 0;
    for (uint32_t e = 0; e < ts && i < count; e++) {
        uint32_t n = (uint32_t)koi_be(t->stts + 8 + 8 * e, 4),
                 d = (uint32_t)koi_be(t->stts + 12 + 8 * e, 4);
        for (uint32_t j = 0; j < n && i < count; j++, i++) {
            s[i].t0 = at / (double)t->scale;
            s[i].dur = d / (double)t->scale;
            at += d;
        }
    }
    for (; i < count; i++) /* the table stops short: no times */
        s[i].t0 = s[i].dur = NAN;
    *out = s;
    *nout = count;
    return 1;
}

/* The gpmd track's samples. 1 found, 0 none (or a damaged table), -1 out of memory. */
static int gpmd_track(VSILFILE *f, uint64_t size, sample **out, size_t *nout) {
    int budget = BOXES_MAX;
    uint64_t mb, me, at;
    if (!koi_mp4_find(f, 0, size, "moov", &mb, &me, &budget)) return 0;
    for (at = mb; at < me && budget-- > 0;) {
        char type[5];
        uint64_t b, next, db, de, ib, ie, sb, se, xb, xe, hb, he;
        if (!koi_mp4_box(f, at, me, type, &b, &next)) return 0;
        at = next;
        uint8_t sd[16];
        if (strcmp(type, "trak") || !koi_mp4_find(f, b, next, "mdia", &db, &de, &budget) ||
            !koi_mp4_find(f, db, de, "minf", &ib, &ie, &budget) ||
            !koi_mp4_find(f, ib, ie, "stbl", &sb, &se, &budget) ||
            !koi_mp4_find(f, sb, se, "stsd", &xb, &xe, &budget) || xe - xb < 16 ||
            VSIFSeekL(f, xb, SEEK_SET) != 0 || VSIFReadL(sd, 1, 16, f) != 16 ||
            memcmp(sd + 12, "gpmd", 4))
            continue;
        tables t = {0};
        uint8_t h[32];
        size_t hn = 0;
        if (koi_mp4_find(f, db, de, "mdhd", &hb, &he, &budget) && he - hb >= 24) {
            hn = he - hb >= 32 ? 32 : (size_t)(he - hb);
            if (VSIFSeekL(f, hb, SEEK_SET) == 0 && VSIFReadL(h, 1, hn, f) == hn && h[0] <= 1) {
                size_t o = h[0] == 1 ? 20 : 12;
                if (o + 4 <= hn) t.scale = koi_be(h + o, 4);
            }
        }
        size_t max = (size_t)SAMPLES_MAX * 12 + 16;
        int ok = 1;
        if (koi_mp4_find(f, sb, se, "stsz", &hb, &he, &budget))
            t.stsz = read_box(f, hb, he, max, &t.nsz);
        if (koi_mp4_find(f, sb, se, "stsc", &hb, &he, &budget))
            t.stsc = read_box(f, hb, he, max, &t.nsc);
        if (koi_mp4_find(f, sb, se, "stts", &hb, &he, &budget))
            t.stts = read_box(f, hb, he, max, &t.nts);
        if (koi_mp4_find(f, sb, se, "stco", &hb, &he, &budget)) {
            t.stco = read_box(f, hb, he, max, &t.nco);
        } else if (koi_mp4_find(f, sb, se, "co64", &hb, &he, &budget)) {
            t.stco = read_box(f, hb, he, max, &t.nco);
            t.co64 = 1;
        }
        ok = t.stsz && t.stsc && t.stts && t.stco ? samples_from(&t, size, out, nout) : 0;
        tables_free(&t);
        return ok;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct gpmf_state {
    VSILFILE *fp;
    sample *samples; /* one per payload; a raw stream is one payload without a time */
    size_t nsamples, next_sample;
    uint8_t *buf;
    size_t buf_cap;
    fix *fixes;
    size_t nfixes, fixes_cap, next_fix;
    long seen, kept, number;
    int said_empty; /* the one shot of a stream without positions was given */
    double last_t;
    int have_takeoff;
    double takeoff_lat, takeoff_lon;
    char takeoff_from[96];
    char id[300];
    char time[40];
    char reason[KOI_ERRMSG_MAX];
    const char *base;
    koi_strpairs extra;
} gpmf_state;

static void gpmf_close(void *impl) {
    gpmf_state *s = impl;
    if (!s) return;
    if (s->fp) VSIFCloseL(s->fp);
    free(s->samples);
    free(s->buf);
    free(s->fixes);
    koi_strpairs_free(&s->extra);
    free(s);
}

/* The next payload's position samples. KO_DONE at the end, KO_ERR_IO if unreadable. */
static ko_status load_payload(ko_reader *r, gpmf_state *s) {
    while (s->next_sample < s->nsamples) {
        const sample *sm = &s->samples[s->next_sample++];
        if (sm->size > s->buf_cap) {
            uint8_t *b = koi_realloc_array(s->buf, sm->size, 1);
            if (!b) return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
            s->buf = b;
            s->buf_cap = sm->size;
        }
        if (VSIFSeekL(s->fp, sm->off, SEEK_SET) != 0 ||
            VSIFReadL(s->buf, 1, sm->size, s->fp) != sm->size)
            return koi_error(r->ctx, KO_ERR_IO, "%s: GPMF payload %zu cannot be read", r->path,
                             s->next_sample);
        if (payload_fixes(s->buf, sm->size, sm->t0, sm->dur, &s->fixes, &s->nfixes, &s->fixes_cap))
            return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
        s->next_fix = 0;
        if (s->nfixes) return KO_OK;
    }
    return KO_DONE;
}

static int keep(ko_reader *r, gpmf_state *s, const fix *f) {
    long ord = s->seen++;
    if (ord % (long)r->opts.every_n) return 0;
    if (r->opts.interval_s > 0 && isfinite(f->t_s)) {
        if (s->kept && f->t_s - s->last_t < r->opts.interval_s - 1e-9) return 0;
        s->last_t = f->t_s;
    }
    s->kept++;
    return 1;
}

/* A 2D fix at least, a position that is not the (0, 0) of no fix, in range. */
static const char *no_fix(const fix *f) {
    if (!isfinite(f->lat) || !isfinite(f->lon)) return "no GPS position in the GPMF sample";
    if (f->lat == 0 && f->lon == 0) return "GPS has no fix (0, 0)";
    if (fabs(f->lat) > 90 || fabs(f->lon) > 180) return "GPS position out of range";
    if (!(f->fix_type >= 2)) return "GPS has no fix (fix type below 2D)";
    /* as an SRT block's or a flight record's count (adversary adv26: GPRI fix type 3 with 2
     * satellites was placed) */
    if (f->satellites < 4) return "GPS has no fix (GPRI: fewer than 4 satellites)";
    return NULL;
}

/* Worse than this dilution of precision the position is not believed (gpmf-parser's README:
 * GPSP "under 500 is good"). */
#define DOP_MAX 5.0

static void why(gpmf_state *s, const char *msg) {
    if (!s->reason[0]) snprintf(s->reason, sizeof s->reason, "sample %ld: %s", s->number, msg);
}

static void fill(ko_reader *r, gpmf_state *s, const fix *f, ko_shot *shot) {
    ko_pose *p = &shot->pose;
    p->lat = f->lat, p->lon = f->lon, p->height_m = f->height_m;
    p->alt_msl_m = f->alt_msl_m;
    if (!(fabs(p->alt_msl_m) < 1e5)) p->alt_msl_m = NAN;
    if (s->have_takeoff) p->takeoff_lat = s->takeoff_lat, p->takeoff_lon = s->takeoff_lon;
    const char *nf = no_fix(f);
    char msg[256];
    if (nf) why(s, nf);
    if (f->dop > DOP_MAX) {
        snprintf(msg, sizeof msg, "GPS precision too poor: dilution of precision %.2f (over %.0f)",
                 f->dop, DOP_MAX);
        why(s, msg);
    }
    if (isnan(f->height_m))
        why(s,
            "no height above take-off: the camera's GPMF GPS gives an altitude above sea level "
            "only");
    ko_camera_init(&shot->camera);
    ko_status cs = KO_ERR_NOT_FOUND;
    if (r->opts.camera && r->opts.camera[0]) {
        cs = ko_camera_by_name(r->ctx, r->opts.camera, &shot->camera, NULL);
        if (cs) {
            why(s, ko_errmsg(r->ctx));
        } else if (isnan(shot->camera.focal_mm)) {
            snprintf(msg, sizeof msg,
                     "camera '%.60s' (reader option camera) has no fixed lens: give the 35 "
                     "mm-equivalent focal length instead",
                     r->opts.camera);
            why(s, msg);
        }
    } else if (r->opts.focal35_mm > 0) {
        cs = ko_camera_from_focal35(r->opts.focal35_mm, r->opts.width_px, r->opts.height_px,
                                    &shot->camera);
    }
    if (cs == KO_ERR_NOT_FOUND)
        why(s,
            "no camera: GPMF telemetry does not describe the lens; give the 35 mm-equivalent "
            "focal length (reader option focal35_mm) or the camera's name");
    if (r->opts.assume_nadir) {
        /* as for every airframe attitude (DESIGN.md): nadir, headed along the airframe's yaw;
         * without one, the footprint of every heading */
        p->pitch_deg = -90.0, p->roll_deg = 0.0;
        p->yaw_deg = isfinite(f->airframe_yaw_deg)
                         ? fmod(fmod(f->airframe_yaw_deg, 360.0) + 360.0, 360.0)
                         : 0.0;
        if (!isfinite(f->airframe_yaw_deg)) koi_camera_yaw_free(&shot->camera);
    } else if (isfinite(f->airframe_yaw_deg)) {
        why(s,
            "no camera attitude: the file's only attitude is the GoPro Karma's airframe "
            "attitude (GPMF ATTD), not its gimbal camera's; if the camera looked straight down, "
            "say so (reader option assume_nadir)");
    } else {
        why(s,
            "no camera attitude in the GPMF telemetry; if the camera looked straight down, say "
            "so (reader option assume_nadir)");
    }
    if (!s->reason[0] && koi_reader_validate(r, &shot->camera, p)) why(s, ko_errmsg(r->ctx));
}

/* The one shot of a GPMF stream without any position sample (a GoPro recording with its GPS
 * off writes no GPS5): unknown, so the video is never passed over in silence. */
static ko_status empty_shot(ko_reader *r, gpmf_state *s, ko_shot *shot) {
    s->said_empty = 1;
    memset(shot, 0, sizeof *shot);
    ko_pose_init(&shot->pose);
    ko_camera_init(&shot->camera);
    snprintf(s->id, sizeof s->id, "%s", s->base);
    snprintf(s->reason, sizeof s->reason,
             "no GPS position in the GPMF telemetry (no GPS5, GPS9 or Karma GLPI samples: was "
             "the camera's GPS off?)");
    koi_strpairs_clear(&s->extra);
    shot->source = r->path;
    shot->id = s->id;
    shot->reason = s->reason;
    return KO_OK;
}

static ko_status gpmf_next(ko_reader *r, ko_shot *shot) {
    gpmf_state *s = r->impl;
    const fix *f;
    for (;;) {
        if (s->next_fix >= s->nfixes) {
            ko_status st = load_payload(r, s);
            if (st == KO_DONE && s->number == 0 && !s->said_empty)
                return empty_shot(r, s, shot); /* never nothing: a video with no position */
            if (st) return st;
        }
        f = &s->fixes[s->next_fix++];
        s->number++;
        if (!s->have_takeoff && !no_fix(f)) {
            s->have_takeoff = 1;
            s->takeoff_lat = f->lat, s->takeoff_lon = f->lon;
            snprintf(s->takeoff_from, sizeof s->takeoff_from,
                     "first GPS fix of the GPMF telemetry: sample %ld", s->number);
        }
        if (keep(r, s, f)) break;
    }
    memset(shot, 0, sizeof *shot);
    ko_pose_init(&shot->pose);
    s->reason[0] = '\0';
    fill(r, s, f, shot);
    snprintf(s->id, sizeof s->id, "%s#%ld", s->base, s->number);
    snprintf(s->time, sizeof s->time, "%s", f->utc);
    koi_strpairs_clear(&s->extra);
    char t[32], n[32];
    snprintf(t, sizeof t, "%.3f", f->t_s);
    snprintf(n, sizeof n, "%.2f", f->dop);
    if ((isfinite(f->t_s) && koi_strpairs_add(&s->extra, "video_time_s", t)) ||
        koi_strpairs_add(&s->extra, "telemetry", f->from) ||
        (isfinite(f->dop) && koi_strpairs_add(&s->extra, "gps_dop", n)) ||
        (s->have_takeoff && koi_strpairs_add(&s->extra, "takeoff_from", s->takeoff_from)))
        return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    shot->source = r->path;
    shot->id = s->id;
    shot->time = s->time[0] ? s->time : NULL;
    shot->reason = s->reason[0] ? s->reason : NULL;
    shot->n_extra = s->extra.n;
    shot->extra_keys = (const char *const *)s->extra.keys;
    shot->extra_values = (const char *const *)s->extra.values;
    return KO_OK;
}

int koi_gpmf_is_raw(const uint8_t *b, size_t n) {
    return n >= 8 && !memcmp(b, "DEVC", 4) && b[4] == 0;
}

int koi_gpmf_probe(const char *path) {
    VSIStatBufL st;
    if (ko_path_check(NULL, path) != KO_OK || VSIStatL(path, &st) != 0 || !VSI_ISREG(st.st_mode))
        return 0;
    VSILFILE *fp = VSIFOpenL(path, "rb");
    uint8_t head[8];
    int ok = 0;
    if (fp && VSIFReadL(head, 1, 8, fp) == 8) {
        sample *s = NULL;
        size_t n = 0;
        ok = koi_gpmf_is_raw(head, 8) || gpmd_track(fp, (uint64_t)st.st_size, &s, &n) > 0;
        free(s);
    }
    if (fp) VSIFCloseL(fp);
    return ok;
}

ko_status koi_gpmf_open(ko_reader *r) {
    VSIStatBufL st;
    if (VSIStatL(r->path, &st) != 0 || !VSI_ISREG(st.st_mode))
        return koi_error(r->ctx, KO_ERR_IO, "%s: cannot be opened as a regular file", r->path);
    gpmf_state *s = koi_calloc(1, sizeof *s);
    if (!s) return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    s->base = CPLGetFilename(r->path);
    s->fp = VSIFOpenL(r->path, "rb");
    uint8_t head[8] = {0};
    uint64_t size = (uint64_t)st.st_size;
    if (!s->fp || VSIFReadL(head, 1, 8, s->fp) != 8) {
        gpmf_close(s);
        return koi_error(r->ctx, KO_ERR_IO, "%s: cannot be read", r->path);
    }
    int found;
    if (koi_gpmf_is_raw(head, 8)) { /* a raw GPMF stream: one payload, no video times */
        found = size <= PAYLOAD_MAX;
        if (found && !(s->samples = koi_calloc(1, sizeof *s->samples))) found = -1;
        if (found > 0) {
            s->samples[0] = (sample){0, (uint32_t)size, NAN, NAN};
            s->nsamples = 1;
        }
    } else {
        found = gpmd_track(s->fp, size, &s->samples, &s->nsamples);
    }
    if (found <= 0) {
        gpmf_close(s);
        if (found < 0) return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
        return koi_error(r->ctx, KO_ERR_UNSUPPORTED,
                         "%s: no GoPro GPMF telemetry (no readable gpmd track, nor a raw GPMF "
                         "stream of at most %u MB): keepout judges a video by its telemetry "
                         "(GPMF, or a DJI .SRT beside it)",
                         r->path, PAYLOAD_MAX >> 20);
    }
    static const koi_reader_ops ops = {"gpmf", gpmf_next, gpmf_close};
    r->ops = &ops;
    r->impl = s;
    return KO_OK;
}
