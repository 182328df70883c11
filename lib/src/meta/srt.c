/* DJI .SRT telemetry. Line families, as found in shared/data/srt:
 *
 *  bracket  "[latitude: 59.302335] [longitude: 18.203059] [rel_alt: 1.300 abs_alt: 132.860]"
 *           (Mini 4 Pro, Air 3/3S, Neo 2, Mavic 3, Avata 360; "longtitude" and "key : value"
 *           spacing on Mavic 2 / Air 2S / Mini 2 firmware; some write "[altitude: 117.0]"
 *           only, which is not a height above take-off). Avata 360 adds
 *           "[gb_yaw: -162.8 gb_pitch: 0.0 gb_roll: 0.0]". "focal_len" is the 35 mm-equivalent
 *           focal length: "24.00" in mm, or an integer in 0.1 mm ("240") on older firmware.
 *  GPS(a,b,c) without a space: Mavic Pro / old firmware write GPS(lon,lat,satellites) with
 *           "BAROMETER:1.9" or "Hb:1.9" (height above take-off); Matrice 300 and Avata 2 write
 *           GPS(lat,lon,altitude) — the third value is an altitude ("0.0M", "69.800") rather than
 *           a satellite count (an integer), and that format decides the order.
 *  "GPS (lon, lat, satellites)" with a space: Phantom 4 Pro/RTK, Mavic Mini, with ", H 45.60m"
 *           (height above home), "F.PRY (pitch°, roll°, yaw°)" (aircraft) and "G.PRY (...)"
 *           (gimbal) on P4 RTK.
 *  No GPS at all (Mavic Air): the frame is unknown. */
#include "meta/meta.h"

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/camera.h"
#include "core/core.h"

int koi_srt_next_block(const char *t, size_t n, size_t *pos, const char **block, size_t *len) {
    size_t p = *pos;
    if (p == 0 && n >= 3 && (unsigned char)t[0] == 0xEF && (unsigned char)t[1] == 0xBB &&
        (unsigned char)t[2] == 0xBF)
        p = 3; /* UTF-8 byte order mark */
    while (p < n && (t[p] == '\n' || t[p] == '\r' || t[p] == ' ' || t[p] == '\t'))
        p++;
    if (p >= n) return 0;
    size_t start = p;
    for (;;) { /* a block ends at a line that is empty (or only \r / spaces) */
        const char *nl = memchr(t + p, '\n', n - p);
        size_t line_end = nl ? (size_t)(nl - t) : n;
        size_t q = p;
        while (q < line_end && (t[q] == '\r' || t[q] == ' ' || t[q] == '\t'))
            q++;
        if (q == line_end && p > start) break;
        p = nl ? line_end + 1 : n;
        if (!nl) break;
    }
    *block = t + start;
    *len = p - start;
    *pos = p;
    return 1;
}

/* A bounded view of the block as a NUL-terminated copy, so strtod & co cannot run past it. */
typedef struct text {
    char buf[4096];
} text;

static const char *find(const char *s, const char *what) {
    return strstr(s, what);
}

/* A decimal number (koi_decimal: a hex float "0x1p6", which CPLStrtod reads as 64, "inf" or
 * "nan" is none), NaN if none. */
static double num_at(const char *s, const char **end) {
    while (*s == ' ' || *s == '\t')
        s++;
    const char *e;
    double v = koi_decimal(s, &e);
    if (end) *end = e;
    return v;
}

/* The value after "key" and a colon (any spaces around it), as in "[rel_alt: 1.300". The key
 * must start a word, so "rel_alt" does not match inside "xrel_alt". */
static double keyed(const char *s, const char *key, const char **raw) {
    size_t k = strlen(key);
    for (const char *p = strstr(s, key); p; p = strstr(p + 1, key)) {
        if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) continue;
        const char *q = p + k;
        while (*q == ' ')
            q++;
        if (*q != ':') continue;
        q++;
        while (*q == ' ')
            q++;
        if (raw) *raw = q;
        return num_at(q, NULL);
    }
    return NAN;
}

/* "(a, b, c)" after tag; the unit characters DJI appends (°, m, M) are skipped. Returns the
 * count read; third_is_int tells whether the third value was a bare integer. */
static int triple(const char *s, const char *tag, double v[3], int *third_is_int) {
    const char *p = strstr(s, tag);
    if (!p) return 0;
    p += strlen(tag);
    while (*p == ' ')
        p++;
    if (*p != '(') return 0;
    p++;
    int got = 0;
    for (; got < 3; got++) {
        while (*p == ' ')
            p++;
        const char *start = p;
        const char *e;
        v[got] = koi_decimal(p, &e);
        if (e == p) break;
        if (got == 2 && third_is_int) {
            *third_is_int = 1;
            for (const char *c = start; c < e; c++)
                if (!isdigit((unsigned char)*c) && *c != '-' && *c != '+') *third_is_int = 0;
            if (*e == 'M' || *e == 'm') *third_is_int = 0;
        }
        p = e;
        while (*p && *p != ',' && *p != ')')
            p++; /* units: °, m, M */
        if (*p == ',')
            p++;
        else if (got < 2) {
            got++;
            break;
        }
    }
    return got;
}

static double timing(const char *s) {
    unsigned h, m, sec, ms;
    if (sscanf(s, "%2u:%2u:%2u,%3u -->", &h, &m, &sec, &ms) == 4 && m < 60 && sec < 61)
        return h * 3600.0 + m * 60.0 + sec + ms / 1000.0;
    return NAN;
}

/* "2026-05-27 13:10:00.015", "2022-08-07 13:40:40,774,808", "2022.06.21 16:06:17",
 * "2017.8.5 14:11:51" -> ISO 8601 to the second, plus fractions where written. */
static void date_line(const char *s, char *out, size_t size) {
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)p[0]) || (p > s && isdigit((unsigned char)p[-1]))) continue;
        unsigned y, mo, d, h, mi, sec;
        char sep1, sep2;
        int used = 0;
        if (sscanf(p, "%4u%c%2u%c%2u %2u:%2u:%2u%n", &y, &sep1, &mo, &sep2, &d, &h, &mi, &sec,
                   &used) == 8 &&
            (sep1 == '-' || sep1 == '.') && sep2 == sep1 && y >= 2000 && y < 2200 && mo >= 1 &&
            mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && sec < 61) {
            unsigned frac = 0;
            int fl = 0;
            if ((p[used] == '.' || p[used] == ',') &&
                sscanf(p + used + 1, "%3u%n", &frac, &fl) == 1)
                snprintf(out, size, "%04u-%02u-%02uT%02u:%02u:%02u.%03u", y % 10000, mo % 100,
                         d % 100, h % 100, mi % 100, sec % 100, frac % 1000);
            else
                snprintf(out, size, "%04u-%02u-%02uT%02u:%02u:%02u", y % 10000, mo % 100, d % 100,
                         h % 100, mi % 100, sec % 100);
            return;
        }
    }
}

static void parse_bracket(const char *s, koi_srt_frame *f) {
    f->lat = keyed(s, "latitude", NULL);
    f->lon = keyed(s, "longitude", NULL);
    if (isnan(f->lon)) f->lon = keyed(s, "longtitude", NULL); /* DJI's own spelling */
    f->height_m = keyed(s, "rel_alt", NULL);
    f->abs_alt_m = keyed(s, "abs_alt", NULL);
    if (isnan(f->abs_alt_m)) f->abs_alt_m = keyed(s, "altitude", NULL);
    f->g_yaw = keyed(s, "gb_yaw", NULL);
    f->g_pitch = keyed(s, "gb_pitch", NULL);
    f->g_roll = keyed(s, "gb_roll", NULL);
    const char *raw = NULL;
    double focal = keyed(s, "focal_len", &raw);
    if (isfinite(focal) && raw) {
        size_t digits = strspn(raw, "0123456789");
        /* integer form is in tenths of a millimetre ("240" = 24 mm) */
        f->focal35_mm = raw[digits] == '.' ? focal : focal / 10.0;
    }
    f->family = "bracket";
}

static void parse_gps(const char *s, koi_srt_frame *f) {
    double v[3];
    int third_int = 0;
    int spaced = strstr(s, "GPS (") != NULL;
    int n = triple(s, "GPS", v, &third_int);
    if (n < 2) return;
    double home[3];
    int n_home = triple(s, "HOME", home, NULL);
    if (spaced || (n == 3 && third_int)) { /* (lon, lat, satellites) */
        f->lon = v[0], f->lat = v[1];
        if (n == 3) f->satellites = v[2];
        if (n_home >= 2) f->home_lon = home[0], f->home_lat = home[1];
        f->family = spaced ? "GPS (lon, lat, sats)" : "GPS(lon,lat,sats)";
    } else { /* (lat, lon, altitude) */
        f->lat = v[0], f->lon = v[1];
        if (n_home >= 2) f->home_lat = home[0], f->home_lon = home[1];
        if (n == 3) f->abs_alt_m = v[2];
        f->family = "GPS(lat,lon,alt)";
    }
    const char *h = strstr(s, ", H ");
    if (h) f->height_m = num_at(h + 4, NULL);
    if (isnan(f->height_m)) f->height_m = keyed(s, "BAROMETER", NULL);
    if (isnan(f->height_m) && (h = strstr(s, "BAROMETER(")) != NULL)
        f->height_m = num_at(h + 10, NULL);
    if (isnan(f->height_m)) f->height_m = keyed(s, "Hb", NULL);
    double pry[3];
    if (triple(s, "G.PRY", pry, NULL) == 3)
        f->g_pitch = pry[0], f->g_roll = pry[1], f->g_yaw = pry[2];
    if (triple(s, "F.PRY", pry, NULL) == 3) f->f_yaw = pry[2];
}

int koi_srt_parse_block(const char *block, size_t n, koi_srt_frame *f) {
    text t;
    if (n >= sizeof t.buf) n = sizeof t.buf - 1;
    memcpy(t.buf, block, n);
    t.buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (t.buf[i] == '\0') t.buf[i] = ' ';
    memset(f, 0, sizeof *f);
    f->t_s = f->lat = f->lon = f->height_m = f->abs_alt_m = NAN;
    f->home_lat = f->home_lon = NAN;
    f->g_yaw = f->g_pitch = f->g_roll = f->f_yaw = f->focal35_mm = f->satellites = NAN;
    f->family = "none";
    char *end;
    long idx = strtol(t.buf, &end, 10);
    if (end == t.buf || idx < 0 || (*end != '\n' && *end != '\r')) return 0;
    f->index = idx;
    const char *line2 = strchr(t.buf, '\n');
    if (line2) f->t_s = timing(line2 + 1);
    date_line(line2 ? line2 : t.buf, f->date, sizeof f->date);
    if (find(t.buf, "latitude"))
        parse_bracket(t.buf, f);
    else if (find(t.buf, "GPS"))
        parse_gps(t.buf, f);
    return 1;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct srt_state {
    char *text;
    size_t n, pos;
    long kept, seen;
    double last_t;
    char id[300];
    char time[48];
    char reason[KOI_ERRMSG_MAX];
    const char *base;
    koi_strpairs extra;
    /* The flight's take-off: the SRT's HOME point, else as a stand-in the first frame of the
     * file with a GPS fix, kept or not (every_n / interval_s skip frames, not the flight's
     * start). */
    int have_takeoff;
    double takeoff_lat, takeoff_lon;
    char takeoff_from[96];
} srt_state;

static void srt_close(void *impl) {
    srt_state *s = impl;
    if (!s) return;
    CPLFree(s->text);
    koi_strpairs_free(&s->extra);
    free(s);
}

static int keep(ko_reader *r, srt_state *s, const koi_srt_frame *f) {
    long ord = s->seen++;
    if (ord % (long)r->opts.every_n) return 0;
    double t = f->t_s;
    if (r->opts.interval_s > 0 && isfinite(t)) {
        if (s->kept && t - s->last_t < r->opts.interval_s - 1e-9) return 0;
        s->last_t = t;
    }
    s->kept++;
    return 1;
}

static void why(srt_state *s, const koi_srt_frame *f, const char *msg) {
    if (!s->reason[0]) snprintf(s->reason, sizeof s->reason, "frame %ld: %s", f->index, msg);
}

/* A 3D fix needs 4 satellites; formats that count them say so. */
#define MIN_SATELLITES 4

static int has_fix(const koi_srt_frame *f) {
    return isfinite(f->lat) && isfinite(f->lon) && !(f->lat == 0 && f->lon == 0) &&
           fabs(f->lat) <= 90 && fabs(f->lon) <= 180 && !(f->satellites < MIN_SATELLITES);
}

static void note_takeoff(srt_state *s, const koi_srt_frame *f) {
    if (s->have_takeoff || !has_fix(f)) return;
    s->have_takeoff = 1;
    s->takeoff_lat = f->lat, s->takeoff_lon = f->lon;
    /* its height says whether the recording began on the ground, i.e. at the take-off */
    if (isfinite(f->height_m))
        snprintf(s->takeoff_from, sizeof s->takeoff_from,
                 "first GPS fix of the SRT: frame %ld, %.1f m above take-off", f->index,
                 f->height_m);
    else
        snprintf(s->takeoff_from, sizeof s->takeoff_from, "first GPS fix of the SRT: frame %ld",
                 f->index);
}

/* DJI writes the home point (where the aircraft took off, unless the pilot moved it) as
 * HOME(...) in many formats: a better take-off than the first fix, which is wherever the
 * recording began. A home point implausibly far from the aircraft (> 50 km, beyond any DJI
 * link) is not believed. */
static int mentions_home(const char *t, size_t n) {
    for (const char *p = t; (p = memchr(p, 'H', n - (size_t)(p - t))) != NULL; p++)
        if (n - (size_t)(p - t) >= 4 && !memcmp(p, "HOME", 4)) return 1;
    return 0;
}

static int home_takeoff(srt_state *s) {
    if (!mentions_home(s->text, s->n)) return 0;
    size_t pos = 0, len;
    const char *b;
    koi_srt_frame f;
    while (koi_srt_next_block(s->text, s->n, &pos, &b, &len)) {
        if (!koi_srt_parse_block(b, len, &f)) continue;
        koi_srt_frame h = f;
        h.lat = f.home_lat, h.lon = f.home_lon;
        if (!has_fix(&h)) continue;
        if (has_fix(&f)) {
            if (koi_metres_apart(h.lat, h.lon, f.lat, f.lon) > 50e3) continue;
        }
        s->have_takeoff = 1;
        s->takeoff_lat = h.lat, s->takeoff_lon = h.lon;
        snprintf(s->takeoff_from, sizeof s->takeoff_from, "HOME point of the SRT (frame %ld)",
                 f.index);
        return 1;
    }
    return 0;
}

static void fill(ko_reader *r, srt_state *s, const koi_srt_frame *f, ko_shot *shot) {
    ko_pose *p = &shot->pose;
    p->lat = f->lat, p->lon = f->lon, p->height_m = f->height_m;
    p->alt_msl_m = f->abs_alt_m;
    if (s->have_takeoff) p->takeoff_lat = s->takeoff_lat, p->takeoff_lon = s->takeoff_lon;
    if (isnan(f->lat) || isnan(f->lon))
        why(s, f, "no GPS position in the SRT block");
    else if (f->lat == 0 && f->lon == 0)
        why(s, f, "GPS has no fix (0, 0)");
    else if (f->satellites < MIN_SATELLITES) {
        char msg[96];
        snprintf(msg, sizeof msg, "GPS has no fix: %.0f satellite(s) in use (a fix needs %d)",
                 f->satellites, MIN_SATELLITES);
        why(s, f, msg);
    }
    if (isnan(f->height_m))
        why(s, f, "no height above take-off (rel_alt, H or BAROMETER) in the SRT block");
    /* The file's own focal_len wins; the option is for SRTs that do not say (its help: "where
     * the .SRT does not say"): taken over a 24 mm clip's, --focal35 162 given for another clip
     * judged it through a lens 6.75 x narrower (adversary adv26). */
    double focal35 = f->focal35_mm > 0 ? f->focal35_mm : r->opts.focal35_mm;
    if (!(focal35 > 0) || ko_camera_from_focal35(focal35, r->opts.width_px, r->opts.height_px,
                                                 &shot->camera) != KO_OK)
        why(s, f,
            "no camera: the SRT has no focal_len; give the 35 mm-equivalent focal length "
            "(reader option focal35_mm)");
    if (isfinite(f->g_pitch) && isfinite(f->g_yaw) && isfinite(f->g_roll)) {
        p->yaw_deg = f->g_yaw, p->pitch_deg = f->g_pitch, p->roll_deg = f->g_roll;
    } else if (r->opts.assume_nadir) {
        p->pitch_deg = -90.0, p->roll_deg = 0.0;
        p->yaw_deg = isfinite(f->f_yaw) ? f->f_yaw : 0.0;
        if (isnan(f->f_yaw)) koi_camera_yaw_free(&shot->camera);
    } else {
        why(s, f,
            "no gimbal attitude in the SRT; if the camera looked straight down, say so (reader "
            "option assume_nadir)");
    }
    if (!s->reason[0] && koi_reader_validate(r, &shot->camera, p)) why(s, f, ko_errmsg(r->ctx));
}

static ko_status srt_next(ko_reader *r, ko_shot *shot) {
    srt_state *s = r->impl;
    const char *b;
    size_t len;
    koi_srt_frame f;
    for (;;) {
        if (!koi_srt_next_block(s->text, s->n, &s->pos, &b, &len)) return KO_DONE;
        if (!koi_srt_parse_block(b, len, &f)) continue; /* stray text between blocks */
        note_takeoff(s, &f);
        if (keep(r, s, &f)) break;
    }
    memset(shot, 0, sizeof *shot);
    ko_pose_init(&shot->pose);
    ko_camera_init(&shot->camera);
    s->reason[0] = '\0';
    fill(r, s, &f, shot);
    snprintf(s->id, sizeof s->id, "%s#%ld", s->base, f.index);
    snprintf(s->time, sizeof s->time, "%s", f.date);
    koi_strpairs_clear(&s->extra);
    char t[32];
    snprintf(t, sizeof t, "%.3f", f.t_s);
    if ((isfinite(f.t_s) && koi_strpairs_add(&s->extra, "video_time_s", t)) ||
        koi_strpairs_add(&s->extra, "srt_format", f.family) ||
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

ko_status koi_srt_open(ko_reader *r) {
    GByte *buf = NULL;
    vsi_l_offset size = 0;
    VSIStatBufL st;
    const char *special = NULL;
    if (VSIStatL(r->path, &st) == 0 && (special = koi_not_regular((unsigned)st.st_mode)))
        return koi_error(r->ctx, KO_ERR_IO, "%s: %s", r->path, special); /* would block */
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int ok = VSIIngestFile(NULL, r->path, &buf, &size, KOI_SRT_MAX);
    CPLPopErrorHandler();
    if (!ok)
        return koi_error(r->ctx, KO_ERR_IO, "%s: cannot be read (or larger than %u MB)", r->path,
                         KOI_SRT_MAX >> 20);
    size_t pos = 0, len;
    const char *b;
    koi_srt_frame f;
    int any = 0;
    while (!any && koi_srt_next_block((const char *)buf, size, &pos, &b, &len))
        any = koi_srt_parse_block(b, len, &f);
    if (!any) {
        CPLFree(buf);
        return koi_error(r->ctx, KO_ERR_FORMAT,
                         "%s: not a subtitle file (no numbered SRT block found)", r->path);
    }
    srt_state *s = koi_calloc(1, sizeof *s);
    if (!s) {
        CPLFree(buf);
        return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    }
    s->text = (char *)buf;
    s->n = size;
    s->base = CPLGetFilename(r->path);
    home_takeoff(s);
    static const koi_reader_ops ops = {"srt", srt_next, srt_close};
    r->ops = &ops;
    r->impl = s;
    return KO_OK;
}
