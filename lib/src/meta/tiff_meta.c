/* TIFF photos (multispectral bands, radiometric thermal frames, GDAL-written copies of JPEGs):
 * the TIFF structure read at random through a window, so a 2 MB band costs its header and the
 * IFDs at its end (two reads of up to 64 kB). Local files go through open/pread, /vsi paths
 * through VSI, as the JPEG reader does. */
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "meta/meta.h"

#define WINDOW (64 * 1024)
#define BACK (48 * 1024) /* a window starts this far before the read: values precede IFDs */

typedef struct tfile {
    VSILFILE *fp; /* a /vsi path's file */
    int fd;       /* a local file's descriptor, or -1 */
    uint8_t *win; /* the window (the context's scratch) */
    uint64_t win_off, size;
    size_t win_n;
} tfile;

static int raw_read(tfile *f, uint64_t off, void *dst, size_t n) {
    if (f->fp) return VSIFSeekL(f->fp, off, SEEK_SET) == 0 && VSIFReadL(dst, 1, n, f->fp) == n;
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(f->fd, (uint8_t *)dst + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return 0;
        got += (size_t)r;
    }
    return 1;
}

static int file_read(void *user, uint64_t off, void *dst, size_t n) {
    tfile *f = user;
    if (off >= f->win_off && n <= f->win_n && off - f->win_off <= f->win_n - n) {
        memcpy(dst, f->win + (off - f->win_off), n);
        return 1;
    }
    if (n > WINDOW - BACK) return raw_read(f, off, dst, n);
    uint64_t start = off > BACK ? off - BACK : 0;
    size_t want = f->size - start < WINDOW ? (size_t)(f->size - start) : WINDOW;
    if (!raw_read(f, start, f->win, want)) {
        f->win_n = 0;
        return 0;
    }
    f->win_off = start;
    f->win_n = want;
    memcpy(dst, f->win + (off - start), n);
    return 1;
}

static int mem_read(void *user, uint64_t off, void *dst, size_t n) {
    memcpy(dst, (const uint8_t *)user + off, n);
    return 1;
}

ko_status koi_tiff_meta_parse(ko_context *ctx, const uint8_t *data, size_t n, koi_image_meta *m) {
    koi_image_meta_init(m);
    koi_tiff_in in = {mem_read, (void *)data, n};
    return koi_tiff_walk(ctx, &in, m);
}

ko_status koi_tiff_meta_read(ko_context *ctx, const char *path, koi_image_meta *m) {
    koi_image_meta_init(m);
    uint8_t *win = koi_scratch(ctx, WINDOW);
    if (!win) return koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory", path);
    tfile f = {NULL, -1, win, 0, 0, 0};
    int vsi = strncmp(path, "/vsi", 4) == 0;
    if (vsi)
        f.fp = VSIFOpenL(path, "rb");
    else
        f.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
    if (!f.fp && f.fd < 0) {
        if (vsi) return koi_error(ctx, KO_ERR_IO, "%s: cannot be opened for reading", path);
        return koi_error(ctx, KO_ERR_IO, "%s: cannot be opened for reading: %s", path,
                         strerror(errno));
    }
    if (f.fd >= 0) {
        struct stat st;
        memset(&st, 0, sizeof st);
        if (fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(f.fd);
            return koi_error(ctx, KO_ERR_IO, "%s: not a regular file: only files are read", path);
        }
        f.size = (uint64_t)st.st_size;
    } else if (VSIFSeekL(f.fp, 0, SEEK_END) == 0) {
        f.size = VSIFTellL(f.fp);
    }
    koi_tiff_in in = {file_read, &f, f.size};
    ko_status st = koi_tiff_walk(ctx, &in, m);
    if (f.fp) VSIFCloseL(f.fp);
    if (f.fd >= 0) close(f.fd);
    if (st) {
        char msg[KOI_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", ko_errmsg(ctx));
        return koi_error(ctx, st, "%s: %s", path, msg);
    }
    return KO_OK;
}

/* --- GDAL metadata items ------------------------------------------------------------------ */

/* GDAL writes EXIF rationals as "(46) (50) (33.3855)", integers as "20", bytes as "0x01". Up
 * to max numbers into v; returns how many. */
static int numbers(const char *s, double *v, int max) {
    int k = 0;
    while (*s && k < max) {
        while (*s == ' ' || *s == '(' || *s == ')')
            s++;
        if (!*s) break;
        char *end;
        double x = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? (double)strtoul(s, &end, 16)
                                                                 : CPLStrtod(s, &end);
        if (end == s || !isfinite(x)) return 0;
        v[k++] = x;
        s = end;
        while (*s == ' ' || *s == ')')
            s++;
        if (*s && *s != '(' && !(*s >= '0' && *s <= '9') && *s != '-' && *s != '+') return 0;
    }
    return *s ? 0 : k;
}

static double one(const char *s) {
    double v;
    return numbers(s, &v, 1) == 1 ? v : NAN;
}

/* As exif.c dms(): a negative component contradicts the Ref letter: -INFINITY, no position. */
static double degrees(const char *s) {
    double v[3];
    if (numbers(s, v, 3) != 3) return NAN;
    if (v[0] < 0 || v[1] < 0 || v[2] < 0) return -INFINITY;
    return v[0] + v[1] / 60.0 + v[2] / 3600.0;
}

typedef struct gdal_items {
    char lat_ref, lon_ref, status, measure;
    double lat, lon, alt, alt_ref;
} gdal_items;

static void item(const char *name, const char *v, koi_image_meta *m, gdal_items *g) {
    if (!strcmp(name, "Make") && !m->make[0]) snprintf(m->make, sizeof m->make, "%.63s", v);
    if (!strcmp(name, "Model") && !m->model[0]) snprintf(m->model, sizeof m->model, "%.63s", v);
    if (!strcmp(name, "Software") && !m->software[0])
        snprintf(m->software, sizeof m->software, "%.63s", v);
    if (!strcmp(name, "DateTimeOriginal") && !m->datetime[0])
        koi_exif_time(v, m->datetime, sizeof m->datetime);
    if (!strcmp(name, "FocalLength") && !isfinite(m->focal_mm)) m->focal_mm = one(v);
    if (!strcmp(name, "FocalLengthIn35mmFilm") && !isfinite(m->focal35_mm)) m->focal35_mm = one(v);
    if (!strcmp(name, "FocalPlaneXResolution") && !isfinite(m->fp_xres)) m->fp_xres = one(v);
    if (!strcmp(name, "FocalPlaneYResolution") && !isfinite(m->fp_yres)) m->fp_yres = one(v);
    if (!strcmp(name, "FocalPlaneResolutionUnit") && !isfinite(m->fp_unit_mm)) {
        static const double unit_mm[] = {NAN, NAN, 25.4, 10.0, 1.0, 0.001};
        double u = one(v);
        m->fp_unit_mm = u >= 0 && u < 6 && u == floor(u) ? unit_mm[(int)u] : NAN;
    }
    if (!strcmp(name, "PixelXDimension") && !m->exif_width && one(v) >= 1 && one(v) < 1e6)
        m->exif_width = (uint32_t)one(v);
    if (!strcmp(name, "PixelYDimension") && !m->exif_height && one(v) >= 1 && one(v) < 1e6)
        m->exif_height = (uint32_t)one(v);
    if (!strcmp(name, "GPSLatitudeRef")) g->lat_ref = v[0];
    if (!strcmp(name, "GPSLongitudeRef")) g->lon_ref = v[0];
    if (!strcmp(name, "GPSStatus")) g->status = v[0];
    if (!strcmp(name, "GPSMeasureMode")) g->measure = v[0];
    if (!strcmp(name, "GPSLatitude")) g->lat = degrees(v);
    if (!strcmp(name, "GPSLongitude")) g->lon = degrees(v);
    if (!strcmp(name, "GPSAltitude")) g->alt = one(v);
    if (!strcmp(name, "GPSAltitudeRef")) g->alt_ref = one(v);
}

/* The value of attribute attr in the tag text [tag, end), copied into out; 0 if absent. */
static int attribute(const char *tag, const char *end, const char *attr, char *out, size_t size) {
    size_t an = strlen(attr);
    for (const char *p = tag; p + an + 2 < end; p++) {
        if ((p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n' && p[-1] != '\r') ||
            strncmp(p, attr, an) || p[an] != '=' || (p[an + 1] != '"' && p[an + 1] != '\''))
            continue;
        const char *v = p + an + 2, *q = memchr(v, p[an + 1], (size_t)(end - v));
        if (!q) return 0;
        size_t n = (size_t)(q - v) < size - 1 ? (size_t)(q - v) : size - 1;
        memcpy(out, v, n);
        out[n] = '\0';
        return 1;
    }
    return 0;
}

void koi_gdal_metadata(const char *xml, koi_image_meta *m) {
    gdal_items g = {0, 0, 0, 0, NAN, NAN, NAN, NAN};
    for (const char *p = strstr(xml, "<Item"); p; p = strstr(p + 5, "<Item")) {
        const char *gt = strchr(p, '>');
        if (!gt) break;
        char name[64], domain[64], value[256];
        /* Only the default domain's items: other domains are other metadata. */
        if (!attribute(p + 5, gt, "name", name, sizeof name) || strncmp(name, "EXIF_", 5) ||
            (attribute(p + 5, gt, "domain", domain, sizeof domain) && domain[0]) || gt[-1] == '/')
            continue;
        const char *close = strstr(gt + 1, "</Item>");
        if (!close) break;
        size_t n = (size_t)(close - gt - 1);
        if (n >= sizeof value) continue; /* no EXIF item keepout reads is that long */
        memcpy(value, gt + 1, n);
        value[n] = '\0';
        item(name + 5, value, m, &g);
    }
    /* The IFDs win: the items fill only a position the GPS IFD does not give. */
    if (!isfinite(m->lat) && !isfinite(m->lon) && (g.lat == -INFINITY || g.lon == -INFINITY)) {
        if (!m->gps_note[0])
            snprintf(m->gps_note, sizeof m->gps_note,
                     "GDAL metadata EXIF_GPSLatitude/EXIF_GPSLongitude has a negative degree, "
                     "minute or second with its Ref letter: which hemisphere is meant cannot be "
                     "told");
    } else if (!isfinite(m->lat) && !isfinite(m->lon) && isfinite(g.lat) && isfinite(g.lon)) {
        if ((g.lat_ref == 'N' || g.lat_ref == 'S') && (g.lon_ref == 'E' || g.lon_ref == 'W')) {
            m->lat = g.lat_ref == 'S' ? -g.lat : g.lat;
            m->lon = g.lon_ref == 'W' ? -g.lon : g.lon;
            m->gps_note[0] = '\0';
            if (!m->gps_status) m->gps_status = g.status;
            if (!m->gps_measure) m->gps_measure = g.measure;
            if (isfinite(g.alt) && (g.alt_ref == 0 || g.alt_ref == 1 || isnan(g.alt_ref)) &&
                m->gps_measure != '2' && !isfinite(m->gps_alt_m))
                m->gps_alt_m = g.alt_ref == 1 ? -g.alt : g.alt;
        } else if (!m->gps_note[0]) {
            snprintf(m->gps_note, sizeof m->gps_note,
                     "GDAL metadata EXIF_GPSLatitude/EXIF_GPSLongitude without N/S/E/W "
                     "references: the hemisphere is unknown");
        }
    }
}
