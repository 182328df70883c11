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

static uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The box at *at, within [*at, end): its type and the offset after it. 0 if the header does
 * not fit or its size does not. */
static int box(VSILFILE *f, uint64_t at, uint64_t end, char type[5], uint64_t *body,
               uint64_t *next) {
    uint8_t h[16];
    if (end - at < 8 || VSIFSeekL(f, at, SEEK_SET) != 0 || VSIFReadL(h, 1, 8, f) != 8) return 0;
    uint64_t size = be(h, 4);
    memcpy(type, h + 4, 4);
    type[4] = '\0';
    *body = at + 8;
    if (size == 1) { /* a 64-bit size follows */
        if (end - at < 16 || VSIFReadL(h + 8, 1, 8, f) != 8) return 0;
        size = be(h + 8, 8);
        *body = at + 16;
    } else if (size == 0) { /* to the end of the file (or of the parent) */
        size = end - at;
    }
    if (size < *body - at || size > end - at) return 0;
    *next = at + size;
    return 1;
}

/* Finds the first box of this type in [at, end); its body and end. */
static int find(VSILFILE *f, uint64_t at, uint64_t end, const char *want, uint64_t *body,
                uint64_t *stop, int *budget) {
    while (at < end && (*budget)-- > 0) {
        char type[5];
        uint64_t b, next;
        if (!box(f, at, end, type, &b, &next)) return 0;
        if (!strcmp(type, want)) {
            *body = b;
            *stop = next;
            return 1;
        }
        at = next;
    }
    return 0;
}

ko_status koi_mp4_duration(ko_context *ctx, const char *path, double *seconds) {
    VSIStatBufL st;
    if (VSIStatL(path, &st) != 0 || !VSI_ISREG(st.st_mode))
        return koi_error(ctx, KO_ERR_IO, "%s: cannot be opened as a regular file", path);
    VSILFILE *f = VSIFOpenL(path, "rb");
    if (!f) return koi_error(ctx, KO_ERR_IO, "%s: cannot be opened", path);
    uint64_t end = (uint64_t)st.st_size, moov, moov_end, mvhd, mvhd_end;
    int budget = BOXES_MAX;
    uint8_t h[32];
    ko_status rc = KO_ERR_FORMAT;
    if (find(f, 0, end, "moov", &moov, &moov_end, &budget) &&
        find(f, moov, moov_end, "mvhd", &mvhd, &mvhd_end, &budget) &&
        VSIFSeekL(f, mvhd, SEEK_SET) == 0 && mvhd_end - mvhd >= 20 &&
        VSIFReadL(h, 1, mvhd_end - mvhd >= 32 ? 32 : 20, f) >= 20) {
        /* version 0: created, modified (4 bytes each), timescale, duration (4);
         * version 1: created, modified (8), timescale (4), duration (8) */
        int v1 = h[0] == 1;
        uint64_t scale = v1 ? be(h + 20, 4) : be(h + 12, 4);
        uint64_t dur = v1 ? (mvhd_end - mvhd >= 32 ? be(h + 24, 8) : 0) : be(h + 16, 4);
        int unknown = v1 ? dur == UINT64_MAX : dur == UINT32_MAX;
        if (h[0] <= 1 && scale > 0 && dur > 0 && !unknown) {
            *seconds = (double)dur / (double)scale;
            rc = KO_OK;
        }
    }
    VSIFCloseL(f);
    if (rc)
        return koi_error(
            ctx, rc, "%s: no movie header with a length (not an MP4/MOV file, or damaged)", path);
    return KO_OK;
}
