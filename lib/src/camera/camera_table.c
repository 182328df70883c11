/* The camera table: data/cameras/droneModels.json (Theta-Limited/DroneModels, Apache-2.0),
 * compiled into the library and parsed once per context on first use. Entries give the pixel
 * pitch and full-sensor size in pixels plus Brown terms (radialR1..3 = k1..k3, tangentialT1..2
 * = p1..p2, taken in OpenCV's convention on normalized coordinates). */
#include <cpl_conv.h>
#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "camera/camera.h"
#include "core/core.h"

extern const unsigned char koi_camera_table_json[];
extern const size_t koi_camera_table_json_len;

typedef struct cam_entry {
    char key[64]; /* makeModel, e.g. "djiFC300S" */
    double pitch_x_mm, pitch_y_mm;
    uint32_t width, height;
    double k1, k2, k3, p1, p2;
    int thermal; /* isThermal: records its sensor's frame only (camera.h, koi_camera_frame_only) */
} cam_entry;

struct koi_camera_table {
    cam_entry *e;
    size_t n;
};

static void table_free(void *p) {
    struct koi_camera_table *t = p;
    if (!t) return;
    free(t->e);
    free(t);
}

/* "6.17/4000.0" -> 0.0015425 */
static double fraction(json_object *o) {
    const char *s = o ? json_object_get_string(o) : NULL;
    if (!s) return NAN;
    char *end;
    double a = CPLStrtod(s, &end), b = 1.0;
    if (*end == 'd') end++; /* "7.68d/640.0d": Java double literals in some entries */
    if (*end == '/') b = CPLStrtod(end + 1, &end);
    if (*end == 'd') end++;
    return *end || !(b > 0) || !(a > 0) ? NAN : a / b;
}

static double num(json_object *entry, const char *key) {
    json_object *v;
    return json_object_object_get_ex(entry, key, &v) ? json_object_get_double(v) : 0.0;
}

static int fill(json_object *j, cam_entry *c) {
    json_object *v;
    if (!json_object_object_get_ex(j, "makeModel", &v)) return 0;
    snprintf(c->key, sizeof c->key, "%s", json_object_get_string(v));
    json_object *px = NULL, *py = NULL;
    json_object_object_get_ex(j, "ccdWidthMMPerPixel", &px);
    json_object_object_get_ex(j, "ccdHeightMMPerPixel", &py);
    c->pitch_x_mm = fraction(px);
    c->pitch_y_mm = fraction(py);
    double w = num(j, "widthPixels"), h = num(j, "heightPixels");
    if (!isfinite(c->pitch_x_mm) || !isfinite(c->pitch_y_mm) || !(w >= 1) || !(h >= 1) || w > 1e6 ||
        h > 1e6)
        return 0;
    /* Drone cameras' pixels are square, or nearly: over the 105 other entries of the table
     * the x and y pitches differ by 5.8 % at most (djiFC6520, 3.387 x 3.202 um), by 2.3 % or
     * less after the five worst (5.3-5.8 %). "teledyne flirBOSON 640" gives 7.68/512 x
     * 5.76/640 mm, 15 x 9 um (67 % apart: numerators and denominators mixed up): a 9.60 x
     * 4.61 mm sensor, its height 25 % short; the Boson 640 has 12 um pixels, 7.68 x 6.144 mm
     * (Teledyne FLIR's datasheet; the table's own "BOSON 640 8.7MM LWIR" entries). An entry whose
     * pitches differ by more than 10 % is refused, as not in the table. */
    if (!koi_pitches_square(c->pitch_x_mm, c->pitch_y_mm)) return 0;
    c->width = (uint32_t)w;
    c->height = (uint32_t)h;
    c->k1 = num(j, "radialR1"), c->k2 = num(j, "radialR2"), c->k3 = num(j, "radialR3");
    c->p1 = num(j, "tangentialT1"), c->p2 = num(j, "tangentialT2");
    c->thermal = json_object_object_get_ex(j, "isThermal", &v) && json_object_get_boolean(v);
    return 1;
}

static ko_status load(ko_context *ctx) {
    json_tokener *tok = json_tokener_new();
    if (!tok) return koi_error(ctx, KO_ERR_NOMEM, "camera table: out of memory");
    json_object *root = json_tokener_parse_ex(tok, (const char *)koi_camera_table_json,
                                              (int)koi_camera_table_json_len);
    json_tokener_free(tok);
    json_object *list;
    if (!root || !json_object_object_get_ex(root, "droneCCDParams", &list) ||
        !json_object_is_type(list, json_type_array)) {
        json_object_put(root);
        return koi_error(ctx, KO_ERR_INTERNAL, "camera table: the embedded JSON is malformed");
    }
    size_t n = json_object_array_length(list);
    struct koi_camera_table *t = koi_calloc(1, sizeof *t);
    if (t) t->e = koi_calloc(n, sizeof *t->e);
    if (!t || !t->e) {
        table_free(t);
        json_object_put(root);
        return koi_error(ctx, KO_ERR_NOMEM, "camera table: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        t->n += (size_t)fill(json_object_array_get_idx(list, i), &t->e[t->n]);
    json_object_put(root);
    ctx->cameras = (koi_cache){t, table_free};
    return KO_OK;
}

/* Table keys join a lower-case make prefix and the model ("djiFC300S", "parrotANAFI"); some
 * entries carry the model alone ("ZENMUSEP1"). Spaces and dashes are ignored. */
static void squash(const char *in, char *out, size_t size) {
    size_t k = 0;
    for (; *in && k + 1 < size; in++)
        if (isalnum((unsigned char)*in)) out[k++] = (char)tolower((unsigned char)*in);
    out[k] = '\0';
}

ko_status ko_camera_lookup(ko_context *ctx, const char *make, const char *model, ko_camera *out) {
    return koi_camera_lookup_frame(ctx, make, model, 0, 0, out);
}

/* The candidates of one lookup: every entry of either table under the Make/Model. */
#define MAX_CANDIDATES 16
typedef struct candidate {
    ko_camera cam;
    int frame_only, bundled, rank;
} candidate;

static void from_entry(const cam_entry *c, candidate *k) {
    ko_camera_init(&k->cam);
    k->cam.sensor_w_mm = c->pitch_x_mm * c->width;
    k->cam.sensor_h_mm = c->pitch_y_mm * c->height;
    k->cam.width_px = c->width;
    k->cam.height_px = c->height;
    k->cam.k1 = c->k1, k->cam.k2 = c->k2, k->cam.k3 = c->k3, k->cam.p1 = c->p1, k->cam.p2 = c->p2;
    k->frame_only = c->thermal;
    k->bundled = 0;
}

static int same_sensor(const ko_camera *a, const ko_camera *b) {
    return a->width_px == b->width_px && a->height_px == b->height_px &&
           fabs(a->sensor_w_mm / b->sensor_w_mm - 1.0) < 0.005 &&
           fabs(a->sensor_h_mm / b->sensor_h_mm - 1.0) < 0.005;
}

/* The entry of either table a w x h frame (0: any) of an EXIF Make/Model comes from. Without a
 * frame, the first of droneModels.json (key make+model, then model alone), then the bundled
 * list: what ko_camera_lookup() always answered. With one, the best by koi_frame_rank(): the
 * sensor's own frame, then a crop of its full width at its own pixels, then a scaled copy,
 * then a scaled crop -- first-fit took a 4608 x 3456 Sequoia RGB frame as a scaled copy of
 * the 1280 x 960 mono bands, a 640 x 360 crop of the XT709's 640 x 512 thermal frame as a
 * scaled crop of its 8000 x 6000 visible camera (adversary adv21c). Where sensors of
 * different frames are equally good (a 2304 x 1728 frame is a scaled copy of both Sequoia
 * cameras), which one took the photo is not in the file: picking one is a guess that can
 * narrow the view (the band's 4.8 mm for the RGB's 6.17 mm: 22 % per side), so the lookup
 * fails (KO_ERR_NOT_FOUND naming them) and the photo is judged on what else it has (its 35
 * mm-equivalent focal length) or is unknown. Two entries of one frame are one sensor: the
 * bundled list's (the maker's figures, there to correct droneModels.json) is taken; two of
 * droneModels.json that disagree by more than 0.5 % are a tie as well. */
static ko_status lookup(ko_context *ctx, const char *make, const char *model, uint32_t w,
                        uint32_t h, int sole, ko_camera *out, int *frame_only) {
    if (!ctx || !model || !out) return koi_error(ctx, KO_ERR_ARG, "camera lookup: NULL argument");
    if (!ctx->cameras.p) {
        ko_status st = load(ctx);
        if (st) return st;
    }
    if (!(w && h)) w = h = 0;
    char want[2][160], key[80], mk[64], md[64];
    squash(make ? make : "", mk, sizeof mk);
    squash(model, md, sizeof md);
    snprintf(want[0], sizeof want[0], "%s%s", mk, md);
    snprintf(want[1], sizeof want[1], "%s", md);
    const struct koi_camera_table *table = ctx->cameras.p;
    candidate k[MAX_CANDIDATES];
    size_t n = 0, all = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < table->n; i++) {
            squash(table->e[i].key, key, sizeof key);
            if (strcmp(key, want[pass]) != 0) continue;
            all++;
            if (n < MAX_CANDIDATES) from_entry(&table->e[i], &k[n++]);
        }
    for (size_t i = 0;
         n < MAX_CANDIDATES && koi_named_camera_exif(make, model, i, &k[n].cam, &k[n].frame_only);
         i++, all++)
        k[n++].bundled = 1;
    if (!all)
        return koi_error(ctx, KO_ERR_NOT_FOUND, "camera '%s %s' is not in the camera table",
                         make ? make : "", model);
    const candidate *best = NULL;
    for (size_t i = 0; i < n; i++) {
        k[i].rank = koi_frame_rank(w, h, k[i].cam.width_px, k[i].cam.height_px);
        if (k[i].rank >= 0 && (!best || k[i].rank < best->rank)) best = &k[i];
    }
    if (!best)
        return koi_error(ctx, KO_ERR_NOT_FOUND,
                         "camera '%s %s': no camera-table entry has a sensor of which a %u x %u "
                         "frame can be a scaled copy or crop",
                         make ? make : "", model, w, h);
    if (w || sole) {
        /* the bundled list's entry of the best frame, if it has one */
        for (size_t i = 0; i < n; i++)
            if (k[i].rank == best->rank && k[i].bundled &&
                k[i].cam.width_px == best->cam.width_px &&
                k[i].cam.height_px == best->cam.height_px) {
                best = &k[i];
                break;
            }
        char names[256] = "";
        int tie = 0;
        for (size_t i = 0, len = 0; i < n; i++) {
            const candidate *c = &k[i];
            if (c->rank != best->rank ||
                (c->bundled != best->bundled && c->cam.width_px == best->cam.width_px &&
                 c->cam.height_px == best->cam.height_px))
                continue;
            tie |= !same_sensor(&c->cam, &best->cam);
            int named = 0; /* one sensor listed once (an entry both passes find) */
            for (size_t j = 0; j < i; j++)
                named |= k[j].rank == best->rank && same_sensor(&k[j].cam, &c->cam);
            if (len < sizeof names && !named)
                len += (size_t)snprintf(
                    names + len, sizeof names - len, "%s%u x %u (%.2f x %.2f mm)", len ? ", " : "",
                    c->cam.width_px, c->cam.height_px, c->cam.sensor_w_mm, c->cam.sensor_h_mm);
        }
        if (tie && !w)
            return koi_error(ctx, KO_ERR_NOT_FOUND,
                             "camera '%s %s' is more than one sensor in the camera table, %s: "
                             "without the frame (its width and height in pixels) which one "
                             "cannot be told",
                             make ? make : "", model, names);
        if (tie)
            return koi_error(ctx, KO_ERR_NOT_FOUND,
                             "camera '%s %s': a %u x %u frame is %s of more than one of its "
                             "sensors in the camera table, %s: which took it cannot be told",
                             make ? make : "", model, w, h,
                             best->rank == 0   ? "the frame"
                             : best->rank == 1 ? "a full-width crop"
                             : best->rank == 2 ? "a scaled copy"
                                               : "a scaled crop",
                             names);
    }
    *out = best->cam;
    if (frame_only) *frame_only = best->frame_only;
    return KO_OK;
}

ko_status koi_camera_lookup_frame(ko_context *ctx, const char *make, const char *model, uint32_t w,
                                  uint32_t h, ko_camera *out) {
    return lookup(ctx, make, model, w, h, 0, out, NULL);
}

ko_status koi_camera_lookup_sole(ko_context *ctx, const char *make, const char *model,
                                 ko_camera *out) {
    return lookup(ctx, make, model, 0, 0, 1, out, NULL);
}

int koi_camera_frame_only_exif(ko_context *ctx, const char *make, const char *model, uint32_t w,
                               uint32_t h) {
    ko_camera t;
    int frame_only = 0;
    return model && lookup(ctx, make, model, w, h, 0, &t, &frame_only) == KO_OK && frame_only;
}

int koi_frame_rank(uint32_t w, uint32_t h, uint32_t full_w, uint32_t full_h) {
    if (!w || !h || !full_w || !full_h) return 0;
    if (!koi_frame_fits(w, h, full_w, full_h)) return -1;
    if (w == full_w && h == full_h) return 0;
    if (w == full_w) return 1;
    double a = (double)w / h, full = (double)full_w / full_h;
    return fabs(a / full - 1.0) < 0.005 ? 2 : 3;
}

int koi_frame_fits(uint32_t w, uint32_t h, uint32_t full_w, uint32_t full_h) {
    if (!w || !h || !full_w || !full_h) return 1;
    double a = (double)w / h, full = (double)full_w / full_h;
    if (fabs(a / full - 1.0) < 0.005) return 1; /* the full frame, or a scaled copy */
    /* A camera's own crop of the full width: its 16:9 or 3:2 mode from a 4:3 sensor. Any other
     * shape is an editor's crop, which may be anywhere in the frame: taken as a centred band of
     * the full width, a top-left 2000 x 700 crop of a 4000 x 2250 frame missed a site it shows
     * (adversary adv21). */
    int mode = fabs(a / (16.0 / 9.0) - 1.0) < 0.005 || fabs(a / 1.5 - 1.0) < 0.005;
    return w <= full_w && a > full && mode;
}

void koi_camera_fit_frame(ko_camera *c, uint32_t w, uint32_t h) {
    if (!w || !h || !c->width_px || !c->height_px) return;
    /* The table has the full sensor; a frame of the same width but fewer rows (16:9 from 4:3)
     * is a crop, a narrower frame is a downscale of the full width. */
    double pitch_y = c->sensor_h_mm / c->height_px, scale = (double)c->width_px / w;
    c->sensor_h_mm = pitch_y * h * scale;
    c->width_px = w;
    c->height_px = h;
}

void koi_camera_fit_whole(ko_camera *c, uint32_t w, uint32_t h) {
    if (!w || !h || !c->width_px || !c->height_px) return;
    double a = (double)w / h, full = (double)c->width_px / c->height_px;
    if (fabs(a / full - 1.0) < 0.005) {
        c->width_px = w, c->height_px = h; /* the full frame, or a scaled copy */
    } else if (a > full) {
        c->height_px = (uint32_t)lround(w / full), c->width_px = w; /* rows cut away */
    } else {
        c->width_px = (uint32_t)lround(h * full), c->height_px = h; /* columns cut away */
    }
}

void koi_camera_whole_sensor(ko_camera *c, uint32_t full_w, uint32_t full_h) {
    if (!c->width_px || !c->height_px || !full_w || !full_h) return;
    double a = (double)c->width_px / c->height_px, full = (double)full_w / full_h;
    if (fabs(a / full - 1.0) < 0.005) return;
    if (a > full) {
        uint32_t rows = (uint32_t)lround(c->width_px / full);
        c->sensor_h_mm *= (double)rows / c->height_px;
        if (isfinite(c->cy_px)) c->cy_px += (rows - (double)c->height_px) / 2.0;
        c->height_px = rows;
    } else {
        uint32_t cols = (uint32_t)lround(c->height_px * full);
        c->sensor_w_mm *= (double)cols / c->width_px;
        if (isfinite(c->cx_px)) c->cx_px += (cols - (double)c->width_px) / 2.0;
        c->width_px = cols;
    }
}
