/* JPEG header walk: markers from SOI to SOS, keeping APP1 (EXIF, XMP, Extended XMP) and the
 * SOF size, then a look at the file's last bytes for the EOI marker (a photo cut short by an
 * interrupted copy has its whole header and part of its image). Reads only those bytes,
 * through VSI, so /vsizip/ and /vsicurl/ work and a 10 MB photo costs a few kB of I/O. */
#include <cpl_vsi.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "meta/meta.h"

static const char XMP_SIG[] = "http://ns.adobe.com/xap/1.0/";           /* + NUL */
static const char XMP_EXT_SIG[] = "http://ns.adobe.com/xmp/extension/"; /* + NUL */

void koi_image_meta_init(koi_image_meta *m) {
    memset(m, 0, sizeof *m);
    double *nan_fields[] = {&m->lat,          &m->lon,          &m->gps_alt_m,   &m->focal_mm,
                            &m->focal35_mm,   &m->fp_xres,      &m->fp_yres,     &m->fp_unit_mm,
                            &m->gimbal_yaw,   &m->gimbal_pitch, &m->gimbal_roll, &m->flight_yaw,
                            &m->flight_pitch, &m->flight_roll,  &m->rel_alt_m,   &m->abs_alt_m,
                            &m->cal_focal_px, &m->cal_cx_px,    &m->cal_cy_px,   &m->gps_dop,
                            &m->xmp_lat,      &m->xmp_lon};
    for (size_t i = 0; i < sizeof nan_fields / sizeof nan_fields[0]; i++)
        *nan_fields[i] = NAN;
    m->mn_gimbal_yaw = m->mn_gimbal_pitch = m->mn_gimbal_roll = NAN;
    m->mn_flight_yaw = m->mn_flight_pitch = m->mn_flight_roll = NAN;
}

void koi_meta_conflict(koi_image_meta *m, const char *fmt, ...) {
    if (m->conflict_note[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->conflict_note, sizeof m->conflict_note, fmt, ap);
    va_end(ap);
}

/* Bytes come from memory or, for a file, from a window read through VSI: a DJI header (EXIF
 * with its thumbnail, XMP, tables: ~60 kB) then costs one read instead of a read and a seek per
 * segment. The walk sees the same bytes either way. */
#define WINDOW (128 * 1024) /* room for the largest segment plus a read */
#define READ (64 * 1024)    /* covers a DJI header in one read; more costs copying */

typedef struct src {
    VSILFILE *fp;       /* a /vsi path's file */
    int fd;             /* a local file's descriptor, or -1; neither file: all in buf */
    const uint8_t *buf; /* the bytes, or the window's */
    size_t n, pos;
    uint8_t *win;  /* file mode: the window (the context's scratch) */
    uint64_t size; /* a local file's size (fstat) */
    uint64_t off;  /* offset in the input of buf[0] */
} src;

/* Up to n bytes of the file into dst; fewer only at its end or on an error. */
static size_t src_read_file(src *s, uint8_t *dst, size_t n) {
    if (s->fp) return VSIFReadL(dst, 1, n, s->fp);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(s->fd, dst + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

/* Makes `need` bytes available at buf + pos; 0 when the input ends first. */
static int src_fill(src *s, size_t need) {
    size_t have = s->n - s->pos;
    if (have >= need) return 1;
    if ((!s->fp && s->fd < 0) || need > WINDOW) return 0;
    memmove(s->win, s->win + s->pos, have);
    s->off += s->pos;
    size_t want = need - have > READ ? need - have : READ;
    s->n = have + src_read_file(s, s->win + have, want < WINDOW - have ? want : WINDOW - have);
    s->pos = 0;
    return s->n >= need;
}

/* Points at the next n bytes (valid until the next call) and consumes them. */
static const uint8_t *src_take(src *s, size_t n) {
    if (!src_fill(s, n)) return NULL;
    s->pos += n;
    return s->buf + s->pos - n;
}

static int src_read(src *s, void *out, size_t n) {
    const uint8_t *p = src_take(s, n);
    if (p) memcpy(out, p, n);
    return p != NULL;
}

static int src_skip(src *s, size_t n) {
    size_t have = s->n - s->pos;
    if (n <= have) {
        s->pos += n;
        return 1;
    }
    if (!s->fp && s->fd < 0) return 0;
    s->off += s->n + (n - have);
    s->pos = s->n = 0; /* the file position is at the window's end */
    if (s->fd >= 0) return lseek(s->fd, (off_t)(n - have), SEEK_CUR) >= 0;
    return VSIFSeekL(s->fp, VSIFTellL(s->fp) + (n - have), SEEK_SET) == 0;
}

/* Extended XMP: chunks of one GUID, each with the full length and its offset. */
#define EXT_CHUNKS_MAX 4097 /* no more APP1 segments than the walk reads */

typedef struct ext_xmp {
    char guid[33];  /* the GUID read: the main packet's HasExtendedXMP, else the first chunk's */
    char other[33]; /* a chunk of another GUID, ignored, or "" */
    char *data;
    uint32_t len;
    uint32_t (*span)[2]; /* [offset, end) of each chunk read */
    size_t n_span;
    int len_differs; /* a chunk of the GUID claiming another full length */
} ext_xmp;

static ko_status add_ext_chunk(ko_context *ctx, ext_xmp *x, const uint8_t *p, size_t n,
                               const koi_image_meta *m) {
    if (n < 40) return koi_error(ctx, KO_ERR_FORMAT, "Extended XMP chunk too short");
    for (int i = 0; i < 32; i++) /* (32 hex digits by the spec; printed in reasons) */
        if (p[i] < 0x21 || p[i] > 0x7e)
            return koi_error(ctx, KO_ERR_FORMAT, "Extended XMP chunk whose GUID is not text");
    uint32_t full = (uint32_t)p[32] << 24 | (uint32_t)p[33] << 16 | (uint32_t)p[34] << 8 | p[35];
    uint32_t off = (uint32_t)p[36] << 24 | (uint32_t)p[37] << 16 | (uint32_t)p[38] << 8 | p[39];
    /* Chunks of another GUID than the main packet names (an older packet) are ignored, as the
     * XMP spec says; with no main packet read yet, the first chunk's GUID is taken. */
    const char *want = x->data ? x->guid : m->ext_xmp_guid[0] ? m->ext_xmp_guid : NULL;
    if (want && (strlen(want) != 32 || memcmp(want, p, 32) != 0)) {
        if (!x->other[0]) memcpy(x->other, p, 32);
        return KO_OK;
    }
    if (!x->data) {
        if (full == 0 || full > KOI_XMP_MAX)
            return koi_error(ctx, KO_ERR_LIMIT, "Extended XMP claims %u bytes (limit %u)", full,
                             KOI_XMP_MAX);
        memcpy(x->guid, p, 32);
        x->guid[32] = '\0';
        if (!(x->data = koi_calloc(1, (size_t)full + 1)) ||
            !(x->span = koi_calloc(EXT_CHUNKS_MAX, sizeof *x->span)))
            return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        x->len = full;
    }
    if (full != x->len) {
        x->len_differs = 1;
        return KO_OK;
    }
    size_t chunk = n - 40;
    if (off > x->len || chunk > x->len - off)
        return koi_error(ctx, KO_ERR_FORMAT, "Extended XMP chunk outside its %u bytes", x->len);
    if (x->n_span == EXT_CHUNKS_MAX)
        return koi_error(ctx, KO_ERR_FORMAT, "more than %d Extended XMP chunks", EXT_CHUNKS_MAX);
    memcpy(x->data + off, p + 40, chunk);
    x->span[x->n_span][0] = off;
    x->span[x->n_span++][1] = off + (uint32_t)chunk;
    return KO_OK;
}

static int by_offset(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* The bytes of the Extended XMP its chunks cover (overlaps counted once). */
static uint32_t ext_covered(ext_xmp *x) {
    qsort(x->span, x->n_span, sizeof *x->span, by_offset);
    uint32_t covered = 0, reach = 0;
    for (size_t i = 0; i < x->n_span; i++) {
        uint32_t a = x->span[i][0] > reach ? x->span[i][0] : reach;
        if (x->span[i][1] > a) covered += x->span[i][1] - a;
        if (x->span[i][1] > reach) reach = x->span[i][1];
    }
    return covered;
}

/* The Extended XMP, once the header is read: parsed if it is whole and of the GUID the main
 * packet names. Missing (named but absent), incomplete, of another GUID, or its chunks not
 * agreeing on its length, the file's metadata is not all there: m->incomplete says so, and
 * the photo is unknown (adversary adv21c: an incomplete one was dropped silently, and the
 * maker note's pitch stood in for the XMP's). */
static ko_status ext_finish(ko_context *ctx, ext_xmp *x, koi_image_meta *m) {
    char why[sizeof m->incomplete] = "";
    const char *want = m->ext_xmp_guid;
    if (!x->data && want[0])
        snprintf(why, sizeof why,
                 "its XMP names an Extended XMP (xmpNote:HasExtendedXMP %.32s) that is not in "
                 "the file%s%s",
                 want, x->other[0] ? ", whose Extended XMP is of GUID " : "", x->other);
    else if (x->data && want[0] && strcmp(want, x->guid))
        snprintf(why, sizeof why,
                 "its Extended XMP is of GUID %s, its XMP names %.32s (xmpNote:HasExtendedXMP)",
                 x->guid, want);
    else if (x->data && x->other[0] && !want[0])
        snprintf(why, sizeof why,
                 "its Extended XMP chunks are of two GUIDs (%s, %s) and its XMP names neither",
                 x->guid, x->other);
    else if (x->data && x->len_differs)
        snprintf(why, sizeof why, "its Extended XMP chunks do not agree on its length (%u bytes?)",
                 x->len);
    else if (x->data) {
        uint32_t got = ext_covered(x);
        if (got < x->len)
            snprintf(why, sizeof why, "its Extended XMP is incomplete: %u of %u bytes", got,
                     x->len);
    }
    if (why[0]) {
        if (!m->incomplete[0]) snprintf(m->incomplete, sizeof m->incomplete, "%s", why);
        return KO_OK;
    }
    if (!x->data) return KO_OK;
    ko_status st = koi_xmp_parse(ctx, x->data, x->len, m);
    return st ? koi_error(ctx, st, "Extended XMP: %s", m->problem) : KO_OK;
}

static ko_status app1(ko_context *ctx, const uint8_t *p, size_t n, koi_image_meta *m,
                      ext_xmp *ext) {
    if (n >= 6 && memcmp(p, "Exif\0\0", 6) == 0) {
        /* A second EXIF block in the header: no camera writes one (none of the 31 real
         * samples has), and its position, sizes or angles could be another photo's; which
         * block is this one's cannot be told (adversary adv21c's helper noted it ignored). */
        if (m->has_exif) {
            koi_meta_conflict(m,
                              "the file has two EXIF blocks: which is this photo's cannot "
                              "be told");
            return KO_OK;
        }
        m->has_exif = 1;
        ko_status st = koi_exif_parse(p + 6, n - 6, m);
        if (st || !m->exif_xmp_len) return st;
        m->has_xmp = 1;
        return koi_xmp_parse(ctx, (const char *)p + 6 + m->exif_xmp_off, m->exif_xmp_len, m);
    }
    if (n >= sizeof XMP_SIG && memcmp(p, XMP_SIG, sizeof XMP_SIG) == 0) {
        m->has_xmp = 1;
        return koi_xmp_parse(ctx, (const char *)p + sizeof XMP_SIG, n - sizeof XMP_SIG, m);
    }
    if (n >= sizeof XMP_EXT_SIG && memcmp(p, XMP_EXT_SIG, sizeof XMP_EXT_SIG) == 0)
        return add_ext_chunk(ctx, ext, p + sizeof XMP_EXT_SIG, n - sizeof XMP_EXT_SIG, m);
    return KO_OK;
}

static int is_sof(uint8_t marker) {
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

/* *scan: where the first scan's header begins (just past its SOS marker), or 0 when the walk
 * stopped at an EOI. */
static ko_status walk(ko_context *ctx, src *s, koi_image_meta *m, ext_xmp *ext, uint64_t *scan) {
    uint8_t hdr[4];
    if (!src_read(s, hdr, 2) || hdr[0] != 0xFF || hdr[1] != 0xD8)
        return koi_error(ctx, KO_ERR_FORMAT, "not a JPEG file (no SOI marker)");
    ko_status st = KO_OK;
    for (int count = 0; !st; count++) {
        if (count > 4096) {
            st = koi_error(ctx, KO_ERR_FORMAT, "more than 4096 header segments");
            break;
        }
        if (!src_read(s, hdr, 2) || hdr[0] != 0xFF) {
            st = koi_error(ctx, KO_ERR_FORMAT, "truncated or damaged JPEG header");
            break;
        }
        int fill = 0; /* markers may be preceded by any number of 0xFF fill bytes */
        while (hdr[1] == 0xFF && fill++ < 64 && src_read(s, hdr + 1, 1))
            continue;
        uint8_t marker = hdr[1];
        if (marker == 0xFF) {
            st = koi_error(ctx, KO_ERR_FORMAT, "damaged JPEG header (fill bytes)");
            break;
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue; /* no length */
        if (marker == 0xDA || marker == 0xD9) { /* image data: the header is over */
            *scan = marker == 0xDA ? s->off + s->pos : 0;
            break;
        }
        if (!src_read(s, hdr + 2, 2)) {
            st = koi_error(ctx, KO_ERR_FORMAT, "truncated JPEG segment");
            break;
        }
        size_t len = (size_t)hdr[2] << 8 | hdr[3];
        if (len < 2) {
            st = koi_error(ctx, KO_ERR_FORMAT, "JPEG segment with length %zu", len);
            break;
        }
        len -= 2;
        if (marker == 0xE1 || is_sof(marker)) {
            const uint8_t *seg = src_take(s, len);
            if (!seg) {
                st = koi_error(ctx, KO_ERR_FORMAT, "truncated JPEG segment");
                break;
            }
            if (marker == 0xE1) {
                st = app1(ctx, seg, len, m, ext);
            } else if (len >= 5) {
                m->sof_height = (uint32_t)seg[1] << 8 | seg[2];
                m->sof_width = (uint32_t)seg[3] << 8 | seg[4];
            }
        } else if (!src_skip(s, len)) {
            st = koi_error(ctx, KO_ERR_FORMAT, "truncated JPEG segment");
        }
    }
    return st;
}

/* The last bytes of the input, up to *n of them (*n becomes the count), and its size in
 * *size; NULL if they cannot be read. The window is free once the walk is over: file modes
 * read into it. */
static const uint8_t *src_tail(src *s, size_t *n, uint64_t *size) {
    if (*n > WINDOW) *n = WINDOW; /* memory too: both answer alike */
    if (!s->fp && s->fd < 0) {    /* memory: buf holds it all */
        *size = s->n;
        if (*n > s->n) *n = s->n;
        return s->buf + s->n - *n;
    }
    if (s->fd >= 0) {
        *size = s->size;
    } else {
        if (VSIFSeekL(s->fp, 0, SEEK_END) != 0) return NULL;
        *size = VSIFTellL(s->fp);
    }
    if (*n > *size) *n = (size_t)*size;
    if (s->fp)
        return VSIFSeekL(s->fp, *size - *n, SEEK_SET) == 0 && VSIFReadL(s->win, 1, *n, s->fp) == *n
                   ? s->win
                   : NULL;
    for (size_t got = 0; got < *n;) {
        ssize_t r = pread(s->fd, s->win + got, *n - got, (off_t)(*size - *n + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return NULL;
        got += (size_t)r;
    }
    return s->win;
}

/* A complete JPEG has its EOI marker (FF D9) after its image data: at the very end, before
 * padding some cameras and copy tools leave (0x00 or 0xFF bytes), or before data a vendor
 * appends (DJI's MPF preview is a JPEG of its own; the M3T's R-JPEG has ~2.4 kB after that).
 * Entropy-coded data never holds FF D9 (an FF in it is followed by 00 or a restart marker), so
 * a file cut inside its scan has no FF D9 after the scan's start: the last WINDOW bytes of the
 * file past that start are searched for one. The common case, the marker at the end, costs one
 * read of 512 bytes. */
static void check_end(src *s, koi_image_meta *m, uint64_t scan_at) {
    if (m->incomplete[0]) return; /* (its Extended XMP: ext_finish) */
    uint64_t size = 0;
    size_t got = 512;
    const uint8_t *t = src_tail(s, &got, &size);
    if (t) {
        size_t k = got;
        while (k && (t[k - 1] == 0x00 || t[k - 1] == 0xFF))
            k--;
        if (k >= 2 && t[k - 2] == 0xFF && t[k - 1] == 0xD9 && size - got + k - 2 >= scan_at) return;
        got = WINDOW;
        t = src_tail(s, &got, &size);
    }
    if (!t) {
        snprintf(m->incomplete, sizeof m->incomplete,
                 "truncated: the end of the file cannot be read");
        return;
    }
    uint64_t start = size - got;
    size_t from = scan_at > start ? (size_t)(scan_at - start) : 0;
    for (size_t i = from; i + 1 < got; i++)
        if (t[i] == 0xFF && t[i + 1] == 0xD9) return;
    snprintf(m->incomplete, sizeof m->incomplete,
             "truncated: the image data ends without its end-of-image marker (FF D9) (file of "
             "%llu bytes)",
             (unsigned long long)size);
}

static ko_status finish(ko_context *ctx, src *s, koi_image_meta *m) {
    ext_xmp ext;
    memset(&ext, 0, sizeof ext);
    uint64_t scan = 0;
    ko_status st = walk(ctx, s, m, &ext, &scan);
    if (!st) st = ext_finish(ctx, &ext, m);
    free(ext.data);
    free(ext.span);
    if (!st) {
        koi_dji_pose_fallback(m);
        if (scan)
            check_end(s, m, scan);
        else
            snprintf(m->incomplete, sizeof m->incomplete,
                     "truncated: the JPEG ends (EOI) before any image data (no SOS)");
    }
    if (st == KO_ERR_FORMAT && m->problem[0] && !strstr(ko_errmsg(ctx), m->problem))
        koi_error(ctx, st, "%s", m->problem);
    return st;
}

ko_status koi_jpeg_meta_parse(ko_context *ctx, const uint8_t *data, size_t n, koi_image_meta *m) {
    koi_image_meta_init(m);
    src s = {NULL, -1, data, n, 0, NULL, 0, 0};
    return finish(ctx, &s, m);
}

ko_status koi_jpeg_meta_read(ko_context *ctx, const char *path, koi_image_meta *m) {
    koi_image_meta_init(m);
    uint8_t *win = koi_scratch(ctx, WINDOW);
    if (!win) return koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory", path);
    /* A local file is read with open/read/close: VSI's stdio handle adds an fstat per file
     * (stdio sizing its buffer) and a search of the registered handlers' prefixes, where a
     * tagging run spends ~75 us per photo in all. /vsi paths go through VSI. */
    src s = {NULL, -1, win, 0, 0, win, 0, 0};
    if (strncmp(path, "/vsi", 4) == 0)
        s.fp = VSIFOpenL(path, "rb");
    else
        s.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
    if (!s.fp && s.fd < 0) {
        if (strncmp(path, "/vsi", 4) == 0)
            return koi_error(ctx, KO_ERR_IO, "%s: cannot be opened for reading", path);
        return koi_error(ctx, KO_ERR_IO, "%s: cannot be opened for reading: %s", path,
                         strerror(errno));
    }
    if (s.fd >= 0) {
        struct stat fst;
        memset(&fst, 0, sizeof fst);
        if (fstat(s.fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
            int fifo = S_ISFIFO(fst.st_mode), dev = S_ISCHR(fst.st_mode) || S_ISBLK(fst.st_mode);
            close(s.fd);
            return koi_error(ctx, KO_ERR_IO, "%s: not a regular file (%s): only files are read",
                             path,
                             fifo  ? "a FIFO"
                             : dev ? "a device"
                                   : "a directory or socket");
        }
        s.size = (uint64_t)fst.st_size;
    }
    ko_status st = finish(ctx, &s, m);
    if (s.fp) VSIFCloseL(s.fp);
    if (s.fd >= 0) close(s.fd);
    if (st) {
        char msg[KOI_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", ko_errmsg(ctx));
        return koi_error(ctx, st, "%s: %s", path, msg);
    }
    return KO_OK;
}
