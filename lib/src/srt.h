/* Private: DJI .SRT video telemetry. One subtitle block per frame (or per second). */
#ifndef KEEPOUT_SRT_H
#define KEEPOUT_SRT_H

#include <stddef.h>

#include "keepout/keepout.h"

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

#endif
