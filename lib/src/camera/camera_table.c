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
    c->width = (uint32_t)w;
    c->height = (uint32_t)h;
    c->k1 = num(j, "radialR1"), c->k2 = num(j, "radialR2"), c->k3 = num(j, "radialR3");
    c->p1 = num(j, "tangentialT1"), c->p2 = num(j, "tangentialT2");
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

ko_status koi_camera_lookup_frame(ko_context *ctx, const char *make, const char *model, uint32_t w,
                                  uint32_t h, ko_camera *out) {
    if (!ctx || !model || !out) return koi_error(ctx, KO_ERR_ARG, "camera lookup: NULL argument");
    /* With a frame, the bundled entries first (they tell one Model's sensors apart by it);
     * without one, droneModels.json first, as ko_camera_lookup() always answered. */
    if (w && h && koi_named_camera_exif(make, model, w, h, out)) return KO_OK;
    if (!ctx->cameras.p) {
        ko_status st = load(ctx);
        if (st) return st;
    }
    char want[2][160], key[80], mk[64], md[64];
    squash(make ? make : "", mk, sizeof mk);
    squash(model, md, sizeof md);
    snprintf(want[0], sizeof want[0], "%s%s", mk, md);
    snprintf(want[1], sizeof want[1], "%s", md);
    const struct koi_camera_table *table = ctx->cameras.p;
    int other_frame = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < table->n; i++) {
            const cam_entry *c = &table->e[i];
            squash(c->key, key, sizeof key);
            if (strcmp(key, want[pass]) != 0) continue;
            /* One key, several sensors (a thermal core beside the visible camera): only an
             * entry whose frame the photo's can be is taken. */
            if (!koi_frame_fits(w, h, c->width, c->height)) {
                other_frame = 1;
                continue;
            }
            ko_camera_init(out);
            out->sensor_w_mm = c->pitch_x_mm * c->width;
            out->sensor_h_mm = c->pitch_y_mm * c->height;
            out->width_px = c->width;
            out->height_px = c->height;
            out->k1 = c->k1, out->k2 = c->k2, out->k3 = c->k3, out->p1 = c->p1, out->p2 = c->p2;
            return KO_OK;
        }
    if (!(w && h) && koi_named_camera_exif(make, model, w, h, out)) return KO_OK;
    if (other_frame)
        return koi_error(ctx, KO_ERR_NOT_FOUND,
                         "camera '%s %s': no camera-table entry has a sensor of which a %u x %u "
                         "frame can be a scaled copy or crop",
                         make ? make : "", model, w, h);
    return koi_error(ctx, KO_ERR_NOT_FOUND, "camera '%s %s' is not in the camera table",
                     make ? make : "", model);
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
