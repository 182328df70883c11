/* Opens an input by what it is (directory, JPEG, SRT, telemetry CSV) and iterates its shots. */
#include "meta/meta.h"

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/core.h"

void ko_reader_options_init(ko_reader_options *o) {
    o->size = sizeof *o;
    o->assume_nadir = 0;
    o->every_n = 1;
    o->interval_s = 0.0;
    o->recursive = 1;
    o->include = NULL;
    o->exclude = NULL;
    o->focal35_mm = 0.0;
    o->width_px = o->height_px = 0;
    o->below_takeoff = 0;
    o->camera = NULL;
}

double koi_metres_apart(double lat0, double lon0, double lat, double lon) {
    double dn = (lat - lat0) * 111320.0;
    double de = (lon - lon0) * 111320.0 * cos(lat0 * 3.14159265358979323846 / 180.0);
    return hypot(dn, de);
}

double koi_decimal(const char *s, const char **end) {
    /* [+-] digits [. digits] [e [+-] digits], or [+-] . digits [...]: the grammar is checked
     * here and CPLStrtod (locale-free) must stop where it ends, so the C spellings strtod
     * also reads (hex floats "0x1p3", "inf", "nan") are not numbers (adversary adv21). */
    const char *p = s + (*s == '+' || *s == '-');
    size_t whole = strspn(p, "0123456789"), frac = 0;
    p += whole;
    if (*p == '.') {
        frac = strspn(p + 1, "0123456789");
        p += 1 + frac;
    }
    if (whole + frac > 0 && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1 + (p[1] == '+' || p[1] == '-');
        size_t exp = strspn(q, "0123456789");
        if (exp) p = q + exp;
    }
    char *stop;
    double v = whole + frac > 0 ? CPLStrtod(s, &stop) : NAN;
    if (whole + frac == 0 || stop != p || !isfinite(v)) {
        *end = s;
        return NAN;
    }
    *end = p;
    return v;
}

ko_status koi_reader_validate(const ko_reader *r, const ko_camera *cam, const ko_pose *p) {
    ko_status st = ko_pose_validate(r->ctx, cam, p);
    if (st == KO_OK && !r->opts.below_takeoff && !(p->height_m > 0.0))
        return koi_error(r->ctx, KO_ERR_ARG,
                         "height: %.2f m is not above the ground (below the take-off point: "
                         "only a DEM can place the camera)",
                         p->height_m);
    return st;
}

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), m = strlen(ext);
    return n >= m && strcasecmp(path + n - m, ext) == 0;
}

/* First bytes of a file, to recognise a JPEG by its SOI marker whatever its name (a regular
 * file: dispatch() refused the rest). */
static int looks_like_jpeg(const char *path) {
    VSILFILE *fp = VSIFOpenL(path, "rb");
    unsigned char b[3] = {0};
    int ok = fp && VSIFReadL(b, 1, 3, fp) == 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
    if (fp) VSIFCloseL(fp);
    return ok;
}

/* A TIFF (classic or BigTIFF, either byte order) by its first four bytes. */
static int looks_like_tiff(const char *path) {
    VSILFILE *fp = VSIFOpenL(path, "rb");
    unsigned char b[4] = {0};
    int ok = fp && VSIFReadL(b, 1, 4, fp) == 4 &&
             ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
              (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43)));
    if (fp) VSIFCloseL(fp);
    return ok;
}

/* A raw GoPro GPMF stream by its first record (a DEVC nest), whatever its name. */
static int looks_like_gpmf(const char *path) {
    VSILFILE *fp = VSIFOpenL(path, "rb");
    unsigned char b[8] = {0};
    int ok = fp && VSIFReadL(b, 1, 8, fp) == 8 && koi_gpmf_is_raw(b, 8);
    if (fp) VSIFCloseL(fp);
    return ok;
}

/* Videos that may carry GoPro GPMF telemetry in a gpmd track. */
static int is_video(const char *path) {
    return has_ext(path, ".mp4") || has_ext(path, ".mov") || has_ext(path, ".lrv");
}

/* The names dispatch() reads as a telemetry table and as a DJI subtitle log. */
static int is_table(const char *path) {
    return has_ext(path, ".csv") || has_ext(path, ".txt");
}

static int is_srt(const char *path) {
    return has_ext(path, ".srt");
}

int ko_input_is_series(const char *path) {
    if (!path) return 0;
    VSIStatBufL st;
    if (ko_path_check(NULL, path) == KO_OK && VSIStatL(path, &st) == 0 && VSI_ISDIR(st.st_mode))
        return 1;
    if (is_table(path) || is_srt(path) || is_video(path)) return 1;
    /* a raw GPMF stream is looked at only where that cannot block */
    return ko_path_check(NULL, path) == KO_OK && VSIStatL(path, &st) == 0 &&
           VSI_ISREG(st.st_mode) && looks_like_gpmf(path);
}

static ko_status dispatch(ko_reader *r, const VSIStatBufL *st) {
    const char *path = r->path;
    if (VSI_ISDIR(st->st_mode)) return koi_dir_open(r);
    const char *special = koi_not_regular((unsigned)st->st_mode);
    if (special) return koi_error(r->ctx, KO_ERR_IO, "%s: %s", path, special);
    if (has_ext(path, ".jpg") || has_ext(path, ".jpeg")) return koi_image_open(r);
    if (has_ext(path, ".tif") || has_ext(path, ".tiff")) return koi_tiff_open(r);
    if (is_table(path)) return koi_csv_open(r);
    if (is_srt(path)) return koi_srt_open(r);
    if (looks_like_jpeg(path)) return koi_image_open(r);
    if (looks_like_tiff(path)) return koi_tiff_open(r);
    if (is_video(path) || looks_like_gpmf(path)) return koi_gpmf_open(r);
    return koi_error(r->ctx, KO_ERR_UNSUPPORTED,
                     "%s: not an input keepout reads (JPEG or TIFF photo, DJI .SRT, telemetry "
                     ".csv, GoPro GPMF telemetry or a directory of them)",
                     path);
}

/* Opens path, whose stat (st_mode at least) is st. */
static ko_status open_stat(ko_context *ctx, const char *path, const ko_reader_options *opts,
                           const VSIStatBufL *st, ko_reader **out) {
    ko_reader *r = koi_calloc(1, sizeof *r);
    if (!r) return koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory", path);
    r->ctx = ctx;
    if (opts) {
        r->opts = *opts;
    } else {
        ko_reader_options_init(&r->opts);
    }
    if (r->opts.every_n == 0) r->opts.every_n = 1;
    r->path = koi_strdup(path);
    if (!r->path) {
        free(r);
        return koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory", path);
    }
    ko_status s = dispatch(r, st);
    if (s) {
        free(r->path);
        free(r);
        return s;
    }
    *out = r;
    return KO_OK;
}

ko_status koi_reader_open_file(ko_context *ctx, const char *path, const ko_reader_options *opts,
                               ko_reader **out) {
    if (!ctx || !path || !out) return koi_error(ctx, KO_ERR_ARG, "reader: NULL argument");
    ko_status guard = ko_path_check(ctx, path); /* a FIFO beneath /vsizip/ would block here */
    if (guard) return guard;
    VSIStatBufL st;
    if (VSIStatL(path, &st) != 0)
        return koi_error(ctx, KO_ERR_IO, "%s: no such file or directory", path);
    return open_stat(ctx, path, opts, &st, out);
}

ko_status ko_reader_open(ko_context *ctx, const char *path, const ko_reader_options *opts,
                         ko_reader **out) {
    ko_status s = opts ? KOI_CHECK_OPTIONS(ctx, ko_reader_options, opts) : KO_OK;
    return s ? s : koi_reader_open_file(ctx, path, opts, out);
}

ko_status ko_reader_open_regular(ko_context *ctx, const char *path, const ko_reader_options *opts,
                                 ko_reader **out) {
    if (!ctx || !path || !out) return koi_error(ctx, KO_ERR_ARG, "reader: NULL argument");
    ko_status s = opts ? KOI_CHECK_OPTIONS(ctx, ko_reader_options, opts) : KO_OK;
    if (s) return s;
    VSIStatBufL st;
    memset(&st, 0, sizeof st);
    st.st_mode = S_IFREG;
    return open_stat(ctx, path, opts, &st, out);
}

ko_status ko_reader_next(ko_reader *r, ko_shot *shot) {
    if (!r || !shot) return KO_ERR_ARG;
    return r->ops->next(r, shot);
}

void ko_reader_close(ko_reader *r) {
    if (!r) return;
    if (r->ops && r->ops->close) r->ops->close(r->impl);
    free(r->path);
    free(r);
}

ko_status koi_strpairs_add(koi_strpairs *sp, const char *key, const char *value) {
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 8;
        char **k = koi_realloc_array(sp->keys, cap, sizeof *k);
        if (!k) return KO_ERR_NOMEM;
        sp->keys = k;
        char **v = koi_realloc_array(sp->values, cap, sizeof *v);
        if (!v) return KO_ERR_NOMEM;
        sp->values = v;
        sp->cap = cap;
    }
    char *kk = koi_strdup(key), *vv = koi_strdup(value ? value : "");
    if (!kk || !vv) {
        free(kk);
        free(vv);
        return KO_ERR_NOMEM;
    }
    sp->keys[sp->n] = kk;
    sp->values[sp->n] = vv;
    sp->n++;
    return KO_OK;
}

void koi_strpairs_clear(koi_strpairs *sp) {
    for (size_t i = 0; i < sp->n; i++) {
        free(sp->keys[i]);
        free(sp->values[i]);
    }
    sp->n = 0;
}

void koi_strpairs_free(koi_strpairs *sp) {
    koi_strpairs_clear(sp);
    free(sp->keys);
    free(sp->values);
    sp->keys = sp->values = NULL;
    sp->cap = 0;
}
