/* JPEG files rewritten for release: segments walked, the metadata kept or taken out (EXIF GPS,
 * maker note, thumbnail; XMP position and pose; previews), the quality of the source estimated
 * from its quantisation table. Everything is bounds-checked: a structure that does not parse is
 * an error, and the caller holds the file (fail closed). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "policy/policy.h"

static const char EXIF_ID[] = "Exif\0\0";                    /* 6 bytes */
static const char XMP_ID[] = "http://ns.adobe.com/xap/1.0/"; /* + NUL: 29 bytes */
static const char ICC_ID[] = "ICC_PROFILE";                  /* + NUL */

/* ---- output buffer ---- */

static int put(koi_bytes *b, const void *p, size_t n) {
    if (b->failed) return 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = koi_realloc_array(b->p, cap, 1);
        if (!q) {
            b->failed = 1;
            return 0;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 1;
}

/* ---- segments ---- */

/* The next marker at *pos of a JPEG of n bytes: its code, where its segment starts (at the
 * 0xFF) and ends. For SOS the segment runs through its entropy-coded data. 0 at the end or
 * on a structure that does not parse. */
typedef struct seg {
    int marker;
    size_t start, end;     /* [start, end) the whole segment, marker included */
    size_t data, data_len; /* its payload (after the length field) */
} seg;

static int next_seg(const uint8_t *p, size_t n, size_t *pos, seg *s) {
    size_t i = *pos;
    if (i >= n || p[i] != 0xFF) return 0;
    while (i + 1 < n && p[i + 1] == 0xFF)
        i++; /* fill bytes */
    if (i + 1 >= n) return 0;
    int m = p[i + 1];
    s->marker = m;
    s->start = i;
    if (m == 0xD8 || m == 0xD9 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
        s->end = i + 2;
        s->data = s->end;
        s->data_len = 0;
        *pos = s->end;
        return 1;
    }
    if (i + 4 > n) return 0;
    size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
    if (len < 2 || i + 2 + len > n) return 0;
    s->data = i + 4;
    s->data_len = len - 2;
    s->end = i + 2 + len;
    if (m == 0xDA) { /* entropy-coded data up to the next marker that is not RSTn or stuffing */
        size_t j = s->end;
        for (;;) {
            if (j + 1 >= n) return 0;
            if (p[j] == 0xFF && p[j + 1] != 0x00 && !(p[j + 1] >= 0xD0 && p[j + 1] <= 0xD7) &&
                p[j + 1] != 0xFF)
                break;
            j++;
        }
        s->end = j;
    }
    *pos = s->end;
    return 1;
}

static int is_app(int m) {
    return m >= 0xE0 && m <= 0xEF;
}

/* ---- EXIF (TIFF) ---- */

typedef struct tiff {
    uint8_t *p;
    size_t n;
    int le;
} tiff;

static int rd16(const tiff *t, size_t o, unsigned *v) {
    if (o + 2 > t->n) return 0;
    *v = t->le ? (unsigned)(t->p[o] | t->p[o + 1] << 8) : (unsigned)(t->p[o] << 8 | t->p[o + 1]);
    return 1;
}

static int rd32(const tiff *t, size_t o, uint32_t *v) {
    if (o + 4 > t->n) return 0;
    const uint8_t *q = t->p + o;
    *v = t->le ? (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24
               : (uint32_t)q[3] | (uint32_t)q[2] << 8 | (uint32_t)q[1] << 16 | (uint32_t)q[0] << 24;
    return 1;
}

static void wr16(tiff *t, size_t o, unsigned v) {
    t->p[o] = (uint8_t)(t->le ? v : v >> 8);
    t->p[o + 1] = (uint8_t)(t->le ? v >> 8 : v);
}

static void wr32(tiff *t, size_t o, uint32_t v) {
    for (int k = 0; k < 4; k++)
        t->p[o + (size_t)(t->le ? k : 3 - k)] = (uint8_t)(v >> (8 * k));
}

static size_t type_size(unsigned type) {
    static const size_t sz[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4};
    return type < sizeof sz / sizeof sz[0] ? sz[type] : 0;
}

/* The entry of tag in the IFD at off: its position, or 0 if absent. -1: does not parse. */
static long find_entry(const tiff *t, size_t off, unsigned tag) {
    unsigned count;
    if (!rd16(t, off, &count) || off + 2 + 12 * (size_t)count + 4 > t->n) return -1;
    for (unsigned i = 0; i < count; i++) {
        size_t e = off + 2 + 12 * (size_t)i;
        unsigned tg = 0;
        rd16(t, e, &tg);
        if (tg == tag) return (long)e;
    }
    return 0;
}

/* Where an entry's value lies and how long it is. 0 if it does not parse. */
static int entry_value(const tiff *t, size_t e, size_t *at, size_t *len) {
    unsigned type;
    uint32_t count;
    if (!rd16(t, e + 2, &type) || !rd32(t, e + 4, &count)) return 0;
    size_t ts = type_size(type);
    if (!ts) { /* a type this reader does not know: its size is unknown */
        *at = e + 8;
        *len = 4;
        return 1;
    }
    if ((uint64_t)count * ts > t->n) return 0;
    *len = (size_t)count * ts;
    if (*len <= 4) {
        *at = e + 8;
        return 1;
    }
    uint32_t o;
    if (!rd32(t, e + 8, &o) || (size_t)o + *len > t->n) return 0;
    *at = o;
    return 1;
}

/* Empties the IFD at off: every value outside its entries zeroed, the entries zeroed, the count
 * 0 (the next-IFD link is kept where it was read, at the new end of the IFD). */
static int empty_ifd(tiff *t, size_t off) {
    unsigned count;
    if (!rd16(t, off, &count) || off + 2 + 12 * (size_t)count + 4 > t->n) return 0;
    uint32_t next = 0;
    rd32(t, off + 2 + 12 * (size_t)count, &next);
    for (unsigned i = 0; i < count; i++) {
        size_t e = off + 2 + 12 * (size_t)i, at, len;
        if (!entry_value(t, e, &at, &len)) return 0;
        memset(t->p + at, 0, len);
    }
    memset(t->p + off, 0, 2 + 12 * (size_t)count + 4);
    wr16(t, off, 0);
    wr32(t, off + 2, next);
    return 1;
}

/* The sub-IFD an entry points to, or 0 if the tag is absent. -1: does not parse. */
static long sub_ifd(const tiff *t, size_t ifd, unsigned tag) {
    long e = find_entry(t, ifd, tag);
    if (e <= 0) return e;
    uint32_t o;
    if (!rd32(t, (size_t)e + 8, &o) || o < 8 || o >= t->n) return -1;
    return (long)o;
}

/* Marks in keep the bytes of the IFD at off (entries, link) and its values, and of the Exif,
 * GPS and Interoperability IFDs it points to. 0 if something does not parse. */
static int mark_ifd(const tiff *t, size_t off, uint8_t *keep, int depth) {
    unsigned count;
    if (depth > 3 || !rd16(t, off, &count) || off + 2 + 12 * (size_t)count + 4 > t->n) return 0;
    memset(keep + off, 1, 2 + 12 * (size_t)count + 4);
    for (unsigned i = 0; i < count; i++) {
        size_t e = off + 2 + 12 * (size_t)i, at, len;
        unsigned tag = 0;
        rd16(t, e, &tag);
        if (!entry_value(t, e, &at, &len)) return 0;
        memset(keep + at, 1, len);
        if (tag == 0x8769 || tag == 0x8825 || tag == 0xA005) {
            uint32_t sub;
            if (!rd32(t, e + 8, &sub) || sub < 8 || sub >= t->n ||
                !mark_ifd(t, sub, keep, depth + 1))
                return 0;
        }
    }
    return 1;
}

/* Zeroes every byte of the TIFF structure that IFD0, its Exif, GPS and Interoperability IFDs
 * and their values do not use: a thumbnail, whatever its form (an uncompressed one in strips,
 * a second IFD chained after IFD1) or data no IFD points to, may show the site unredacted
 * (adversary: an uncompressed EXIF thumbnail survived redaction). */
static ko_status sweep_unreferenced(ko_context *ctx, tiff *t, size_t ifd0) {
    uint8_t *keep = koi_calloc(t->n, 1);
    if (!keep) return koi_error(ctx, KO_ERR_NOMEM, "out of memory rewriting a JPEG");
    memset(keep, 1, 8); /* the header */
    int ok = mark_ifd(t, ifd0, keep, 0);
    if (ok)
        for (size_t i = 0; i < t->n; i++)
            if (!keep[i]) t->p[i] = 0;
    free(keep);
    return ok ? KO_OK : koi_error(ctx, KO_ERR_FORMAT, "EXIF: an IFD does not parse");
}

/* XMP kept in the EXIF (tag 700 in IFD0 or the Exif IFD: DJI's Zenmuse XT2 writes its only
 * packet there) is blanked as a segment's is, and emptied (spaces) when what is left is not
 * safe (adversary adv23c: --strip-location released the XT2's altitude and attitude). In a
 * redacted copy every other value over 4 kB (a maker note's preview, a comment holding a
 * picture) is zeroed too: the pixels blanked may show in it. 0 if the IFD does not parse. */
static int edit_values(tiff *t, size_t ifd, int strip, int redacted) {
    unsigned count;
    if (!rd16(t, ifd, &count) || ifd + 2 + 12 * (size_t)count + 4 > t->n) return 0;
    for (unsigned i = 0; i < count; i++) {
        size_t e = ifd + 2 + 12 * (size_t)i, at, len;
        unsigned tag = 0;
        rd16(t, e, &tag);
        if (!entry_value(t, e, &at, &len)) return 0;
        if (tag == 0x02BC) {
            koi_xmp_blank(t->p + at, len, strip, redacted);
            if (!koi_xmp_safe(t->p + at, len, strip, redacted)) memset(t->p + at, ' ', len);
        } else if (redacted && len > 4096) {
            memset(t->p + at, 0, len);
        }
    }
    return 1;
}

ko_status koi_exif_edit(ko_context *ctx, uint8_t *p, size_t n, int strip_location,
                        int drop_thumbnail) {
    tiff t = {p, n, 0};
    if (n < 8 || !((p[0] == 'I' && p[1] == 'I') || (p[0] == 'M' && p[1] == 'M')))
        return koi_error(ctx, KO_ERR_FORMAT, "EXIF: no TIFF header");
    t.le = p[0] == 'I';
    uint32_t ifd0 = 0;
    rd32(&t, 4, &ifd0);
    unsigned count0;
    if (ifd0 < 8 || !rd16(&t, ifd0, &count0) || ifd0 + 2 + 12 * (size_t)count0 + 4 > n)
        return koi_error(ctx, KO_ERR_FORMAT, "EXIF: IFD0 outside the segment");
    if (strip_location) {
        long gps = sub_ifd(&t, ifd0, 0x8825);
        if (gps < 0 || (gps > 0 && !empty_ifd(&t, (size_t)gps)))
            return koi_error(ctx, KO_ERR_FORMAT, "EXIF: the GPS IFD does not parse");
        long exif = sub_ifd(&t, ifd0, 0x8769);
        if (exif < 0) return koi_error(ctx, KO_ERR_FORMAT, "EXIF: the Exif IFD does not parse");
        if (exif > 0) {
            long mn = find_entry(&t, (size_t)exif, 0x927C);
            size_t at, len;
            if (mn < 0 || (mn > 0 && !entry_value(&t, (size_t)mn, &at, &len)))
                return koi_error(ctx, KO_ERR_FORMAT, "EXIF: the maker note does not parse");
            if (mn > 0) memset(p + at, 0, len);
        }
    }
    long exif_ifd = sub_ifd(&t, ifd0, 0x8769);
    if (!strip_location && !drop_thumbnail) return KO_OK;
    if (exif_ifd < 0 || !edit_values(&t, ifd0, strip_location, drop_thumbnail) ||
        (exif_ifd > 0 && !edit_values(&t, (size_t)exif_ifd, strip_location, drop_thumbnail)))
        return koi_error(ctx, KO_ERR_FORMAT, "EXIF: IFD0 or the Exif IFD does not parse");
    if (drop_thumbnail) {
        size_t link = ifd0 + 2 + 12 * (size_t)count0;
        uint32_t ifd1 = 0;
        rd32(&t, link, &ifd1);
        if (ifd1) {
            if (ifd1 < 8 || ifd1 >= n)
                return koi_error(ctx, KO_ERR_FORMAT, "EXIF: IFD1 outside the segment");
            long off = find_entry(&t, ifd1, 0x0201), len = find_entry(&t, ifd1, 0x0202);
            if (off < 0 || len < 0)
                return koi_error(ctx, KO_ERR_FORMAT, "EXIF: IFD1 does not parse");
            if (off > 0 && len > 0) {
                uint32_t o = 0, l = 0;
                rd32(&t, (size_t)off + 8, &o);
                rd32(&t, (size_t)len + 8, &l);
                if ((uint64_t)o + l > n)
                    return koi_error(ctx, KO_ERR_FORMAT, "EXIF: the thumbnail lies outside");
                memset(p + o, 0, l);
            }
            if (!empty_ifd(&t, ifd1))
                return koi_error(ctx, KO_ERR_FORMAT, "EXIF: IFD1 does not parse");
            wr32(&t, link, 0);
        }
        return sweep_unreferenced(ctx, &t, ifd0);
    }
    return KO_OK;
}

/* ---- XMP ---- */

static int name_char(int c) {
    return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':';
}

void koi_xmp_blank(uint8_t *p, size_t n, int strip, int redacted) {
    char *s = (char *)p;
    for (size_t i = 0; i < n; i++) {
        /* a qualified name: prefix:Local */
        if (!(isalpha((unsigned char)s[i]) && i > 0 && !name_char((unsigned char)s[i - 1])))
            continue;
        size_t j = i;
        while (j < n && name_char((unsigned char)s[j]))
            j++;
        const char *colon = memchr(s + i, ':', j - i);
        if (!colon) {
            i = j;
            continue;
        }
        const char *local = colon + 1;
        size_t local_n = (size_t)(s + j - local);
        int opener = s[i - 1] == '<';
        int drop = (strip && koi_xmp_location_name(local, local_n)) ||
                   (redacted && koi_xmp_image_name(local, local_n));
        if (!drop || !strncmp(s + i, "xmlns:", 6) || !strncmp(s + i, "rdf:", 4)) {
            i = j - 1;
            continue;
        }
        if (opener) { /* <p:Name ...>...</p:Name> or <p:Name .../> */
            size_t k = j, depth_end = 0;
            while (k < n && s[k] != '>')
                k++;
            if (k >= n) return;
            if (s[k - 1] == '/') {
                depth_end = k + 1;
            } else {
                char close[160];
                size_t qn = j - i;
                if (qn + 3 >= sizeof close) continue;
                close[0] = '<';
                close[1] = '/';
                memcpy(close + 2, s + i, qn);
                close[qn + 2] = '>';
                size_t cl = qn + 3;
                for (size_t m = k; m + cl <= n; m++)
                    if (!memcmp(s + m, close, cl)) {
                        depth_end = m + cl;
                        break;
                    }
                if (!depth_end) continue;
            }
            memset(s + i - 1, ' ', depth_end - (i - 1));
            i = depth_end - 1;
        } else { /* p:Name="value" */
            size_t k = j;
            while (k < n && isspace((unsigned char)s[k]))
                k++;
            if (k >= n || s[k] != '=') {
                i = j - 1;
                continue;
            }
            k++;
            while (k < n && isspace((unsigned char)s[k]))
                k++;
            if (k >= n || (s[k] != '"' && s[k] != '\'')) {
                i = j - 1;
                continue;
            }
            char q = s[k];
            const char *endq = memchr(s + k + 1, q, n - k - 1);
            if (!endq) return;
            size_t end = (size_t)(endq - s) + 1;
            memset(s + i, ' ', end - i);
            i = end - 1;
        }
    }
}

/* ---- quality ---- */

int koi_jpeg_quality(const uint8_t *p, size_t n) {
    static const unsigned char std_lum[64] = {
        16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
        14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
        18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
    static const unsigned char natural[64] = {
        0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
        41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
        30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};
    size_t pos = 0;
    seg s;
    unsigned table[64];
    int found = 0;
    while (!found && next_seg(p, n, &pos, &s) && s.marker != 0xDA && s.marker != 0xD9) {
        if (s.marker != 0xDB) continue;
        size_t q = s.data, end = s.data + s.data_len;
        while (q < end) {
            int prec = p[q] >> 4, id = p[q] & 15;
            size_t len = 1 + 64 * (size_t)(prec ? 2 : 1);
            if (q + len > end) break;
            if (id == 0) {
                for (int k = 0; k < 64; k++)
                    table[natural[k]] =
                        prec ? (unsigned)(p[q + 1 + 2 * k] << 8 | p[q + 2 + 2 * k]) : p[q + 1 + k];
                found = 1;
                break;
            }
            q += len;
        }
    }
    if (!found) return 0;
    int best = 0;
    double best_err = 0;
    for (int quality = 1; quality <= 100; quality++) {
        long scale = quality < 50 ? 5000 / quality : 200 - quality * 2;
        double err = 0;
        for (int k = 0; k < 64; k++) {
            long v = (std_lum[k] * scale + 50) / 100;
            if (v < 1) v = 1;
            if (v > 255) v = 255;
            err += labs(v - (long)table[k]);
        }
        if (!best || err < best_err) best = quality, best_err = err;
    }
    return best;
}

/* ---- rebuilding ---- */

static int starts(const uint8_t *p, size_t n, const char *id, size_t idn) {
    return n >= idn && !memcmp(p, id, idn);
}

/* Appends one source metadata segment, edited, or nothing when it is left out. */
static ko_status keep_segment(ko_context *ctx, koi_bytes *b, const uint8_t *src, const seg *s,
                              int redacted, int strip) {
    const uint8_t *d = src + s->data;
    size_t dn = s->data_len;
    int m = s->marker;
    int exif = m == 0xE1 && starts(d, dn, EXIF_ID, 6);
    int xmp = m == 0xE1 && starts(d, dn, XMP_ID, sizeof XMP_ID);
    int icc = m == 0xE2 && starts(d, dn, ICC_ID, sizeof ICC_ID);
    int mpf = m == 0xE2 && starts(d, dn, "MPF", 4);
    int jfif = m == 0xE0 && starts(d, dn, "JFIF", 5);
    int adobe = m == 0xEE && starts(d, dn, "Adobe", 5);
    int keep;
    if (redacted) /* previews, thumbnails, vendor data may show the site: metadata only */
        keep = exif || xmp || icc;
    else if (strip) /* vendor segments and comments may say where: what is known to be safe */
        keep = exif || xmp || icc || jfif || adobe;
    else
        keep = !mpf;
    if (!keep) return KO_OK;
    size_t at = b->len;
    if (!put(b, src + s->start, s->end - s->start))
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory rewriting a JPEG");
    uint8_t *copy = b->p + at + 4;
    if (exif && (strip || redacted)) {
        ko_status st = koi_exif_edit(ctx, copy + 6, dn - 6, strip, redacted);
        if (st) return st;
    }
    if (xmp && (strip || redacted)) {
        uint8_t *x = copy + sizeof XMP_ID;
        koi_xmp_blank(x, dn - sizeof XMP_ID, strip, redacted);
        if (!koi_xmp_safe(x, dn - sizeof XMP_ID, strip, redacted))
            b->len = at; /* what the blanking missed would leave with it: the packet stays out */
    }
    return KO_OK;
}

ko_status koi_jpeg_rebuild(ko_context *ctx, const uint8_t *src, size_t n, const uint8_t *body,
                           size_t body_n, int strip, koi_bytes *out) {
    static const uint8_t soi[2] = {0xFF, 0xD8};
    int redacted = body != NULL;
    if (n < 4 || src[0] != 0xFF || src[1] != 0xD8)
        return koi_error(ctx, KO_ERR_FORMAT, "not a JPEG file (no SOI marker)");
    put(out, soi, 2);
    size_t pos = 2;
    seg s;
    int ended = 0;
    while (next_seg(src, n, &pos, &s)) {
        if (is_app(s.marker) || s.marker == 0xFE) {
            if (s.marker == 0xFE && (redacted || strip)) continue; /* comments: left out */
            ko_status st = keep_segment(ctx, out, src, &s, redacted, strip);
            if (st) return st;
            continue;
        }
        if (redacted) {
            if (s.marker == 0xD9) {
                ended = 1;
                break;
            }
            continue; /* the source's tables and scans: replaced by the new encoding */
        }
        put(out, src + s.start, s.end - s.start);
        if (s.marker == 0xD9) {
            ended = 1;
            break;
        }
    }
    if (!ended) return koi_error(ctx, KO_ERR_FORMAT, "the JPEG's segments do not parse");
    if (redacted) {
        if (body_n < 4 || body[0] != 0xFF || body[1] != 0xD8)
            return koi_error(ctx, KO_ERR_INTERNAL, "the encoder gave no JPEG");
        pos = 2;
        ended = 0;
        while (next_seg(body, body_n, &pos, &s)) {
            if (is_app(s.marker) || s.marker == 0xFE) continue;
            put(out, body + s.start, s.end - s.start);
            if (s.marker == 0xD9) {
                ended = 1;
                break;
            }
        }
        if (!ended) return koi_error(ctx, KO_ERR_INTERNAL, "the encoder's JPEG does not parse");
    }
    if (out->failed) return koi_error(ctx, KO_ERR_NOMEM, "out of memory rewriting a JPEG");
    return KO_OK;
}
