/* The length of an ISO base media file (MP4, MOV, DJI's LRV and INSV): the movie header's
 * duration over its timescale. Only box headers are read, through VSI: the top-level boxes are
 * walked (their sizes skip the media data, wherever `moov` is) to `moov`, and its children to
 * `mvhd`. The release gate compares it with what a DJI .SRT covers: a subtitle file cut short
 * must not vouch for the whole video. */
#include <string.h>

#include <cpl_vsi.h>

#include "core/core.h"
#include "meta/meta.h"

/* A file has a few boxes at the top and in `moov`; a walk longer than this is hostile. */
#define BOXES_MAX 4096

uint64_t koi_be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The box at *at, within [*at, end): its type and the offset after it. 0 if the header does
 * not fit or its size does not. */
int koi_mp4_box(VSILFILE *f, uint64_t at, uint64_t end, char type[5], uint64_t *body,
                uint64_t *next) {
    uint8_t h[16];
    if (end - at < 8 || VSIFSeekL(f, at, SEEK_SET) != 0 || VSIFReadL(h, 1, 8, f) != 8) return 0;
    uint64_t size = koi_be(h, 4);
    memcpy(type, h + 4, 4);
    type[4] = '\0';
    *body = at + 8;
    if (size == 1) { /* a 64-bit size follows */
        if (end - at < 16 || VSIFReadL(h + 8, 1, 8, f) != 8) return 0;
        size = koi_be(h + 8, 8);
        *body = at + 16;
    } else if (size == 0) { /* to the end of the file (or of the parent) */
        size = end - at;
    }
    if (size < *body - at || size > end - at) return 0;
    *next = at + size;
    return 1;
}

/* Finds the first box of this type in [at, end); its body and end. */
int koi_mp4_find(VSILFILE *f, uint64_t at, uint64_t end, const char *want, uint64_t *body,
                 uint64_t *stop, int *budget) {
    while (at < end && (*budget)-- > 0) {
        char type[5];
        uint64_t b, next;
        if (!koi_mp4_box(f, at, end, type, &b, &next)) return 0;
        if (!strcmp(type, want)) {
            *body = b;
            *stop = next;
            return 1;
        }
        at = next;
    }
    return 0;
}

/* A full box's version and its (created, modified) times skipped: where its timescale (or
 * track id) starts. */
static uint64_t after_times(const uint8_t *h) {
    return h[0] == 1 ? 20 : 12;
}

/* The length in the box's own timescale of an mvhd or mdhd (timescale then duration after the
 * times) or, with scale NULL, of a tkhd (track id, reserved, then the duration, in the movie's
 * timescale). 0 if it does not fit or says "unknown". */
static int header_length(VSILFILE *f, uint64_t body, uint64_t end, int tkhd, uint64_t *scale,
                         uint64_t *dur) {
    uint8_t h[40];
    size_t want = end - body >= sizeof h ? sizeof h : (size_t)(end - body);
    if (want < 24 || VSIFSeekL(f, body, SEEK_SET) != 0 || VSIFReadL(h, 1, want, f) != want ||
        h[0] > 1)
        return 0;
    int v1 = h[0] == 1;
    uint64_t at = after_times(h), n = v1 ? 8 : 4;
    if (tkhd) {
        at += 8; /* track id, reserved */
    } else {
        *scale = koi_be(h + at, 4);
        at += 4;
    }
    if (at + n > want) return 0;
    *dur = koi_be(h + at, (int)n);
    return *dur != (v1 ? UINT64_MAX : UINT32_MAX);
}

/* The longest of the movie header's, each track header's and each media header's length. */
static int movie_length(VSILFILE *f, uint64_t moov, uint64_t moov_end, int *budget, double *s,
                        int *fragmented) {
    uint64_t scale = 0, dur = 0, at = moov;
    int have = 0;
    *s = 0;
    for (; at < moov_end && (*budget)-- > 0;) {
        char type[5];
        uint64_t b, next;
        if (!koi_mp4_box(f, at, moov_end, type, &b, &next)) return 0;
        if (!strcmp(type, "mvex")) *fragmented = 1;
        if (!strcmp(type, "mvhd")) {
            if (!header_length(f, b, next, 0, &scale, &dur) || !scale) return 0;
            have = 1;
            if ((double)dur / (double)scale > *s) *s = (double)dur / (double)scale;
        }
        at = next;
    }
    if (!have) return 0;
    /* the tracks: tkhd in the movie's timescale, mdia/mdhd in its own */
    for (at = moov; at < moov_end && (*budget)-- > 0;) {
        char type[5];
        uint64_t b, next, tb, tend, mb, mend, hb, hend, ts = 0, d = 0;
        if (!koi_mp4_box(f, at, moov_end, type, &b, &next)) return 0;
        if (!strcmp(type, "trak")) {
            if (koi_mp4_find(f, b, next, "tkhd", &tb, &tend, budget) &&
                header_length(f, tb, tend, 1, NULL, &d) && (double)d / (double)scale > *s)
                *s = (double)d / (double)scale;
            if (koi_mp4_find(f, b, next, "mdia", &mb, &mend, budget) &&
                koi_mp4_find(f, mb, mend, "mdhd", &hb, &hend, budget) &&
                header_length(f, hb, hend, 0, &ts, &d) && ts && (double)d / (double)ts > *s)
                *s = (double)d / (double)ts;
        }
        at = next;
    }
    return *s > 0;
}

ko_status koi_mp4_duration(ko_context *ctx, const char *path, double *seconds) {
    VSIStatBufL st;
    if (VSIStatL(path, &st) != 0 || !VSI_ISREG(st.st_mode))
        return koi_error(ctx, KO_ERR_IO, "%s: cannot be opened as a regular file", path);
    VSILFILE *f = VSIFOpenL(path, "rb");
    if (!f) return koi_error(ctx, KO_ERR_IO, "%s: cannot be opened", path);
    uint64_t end = (uint64_t)st.st_size, at = 0, moov = 0, moov_end = 0;
    int budget = BOXES_MAX, fragmented = 0, moovs = 0, ok = 1;
    /* every top-level box: the movie, and any fragment (whose samples the movie header does
     * not count: ISO/IEC 14496-12 8.8) */
    while (ok && at < end && budget-- > 0) {
        char type[5];
        uint64_t b, next;
        if (!(ok = koi_mp4_box(f, at, end, type, &b, &next))) break;
        if (!strcmp(type, "moov") && !moovs++) moov = b, moov_end = next;
        if (!strcmp(type, "moof") || !strcmp(type, "mfra")) fragmented = 1;
        at = next;
    }
    double len = 0;
    ok = ok && at == end && moovs == 1 &&
         movie_length(f, moov, moov_end, &budget, &len, &fragmented);
    VSIFCloseL(f);
    if (ok && fragmented)
        return koi_error(ctx, KO_ERR_UNSUPPORTED,
                         "%s: a fragmented movie (its length is spread over fragments keepout "
                         "does not add up)",
                         path);
    if (!ok)
        return koi_error(ctx, KO_ERR_FORMAT,
                         "%s: no single movie header with a length (not an MP4/MOV file, two "
                         "movies, or damaged)",
                         path);
    *seconds = len;
    return KO_OK;
}
