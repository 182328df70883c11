/* A camera from a text spec (`keepout route --camera`, the driver's CAMERA= open option). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/camera.h"
#include "core/core.h"

/* WxH: two positive numbers, then the end or a comma. */
static int parse_pair(const char *s, double *a, double *b) {
    char *end;
    *a = strtod(s, &end);
    if (end == s || (*end != 'x' && *end != 'X')) return 0;
    const char *t = end + 1;
    *b = strtod(t, &end);
    return end != t && (*end == '\0' || *end == ',') && *a > 0 && *b > 0 && isfinite(*a) &&
           isfinite(*b);
}

/* A positive finite number filling the item. */
static int parse_positive(const char *s, double *v) {
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && *v > 0 && isfinite(*v);
}

static ko_status from_spec(ko_context *ctx, const char *spec, ko_camera *cam) {
    if (!spec || !cam) return koi_error(ctx, KO_ERR_ARG, "camera spec: NULL argument");
    double focal = NAN, focal35 = NAN, sw = NAN, sh = NAN, w = 4000, h = 3000;
    char model[256] = "", name[256] = "";
    int sized = 0;
    char *copy = koi_strdup(spec), *save = NULL;
    if (!copy) return koi_error(ctx, KO_ERR_NOMEM, "camera spec: out of memory");
    int ok = 1;
    for (char *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        if (!strncmp(tok, "focal35=", 8))
            ok = parse_positive(tok + 8, &focal35);
        else if (!strncmp(tok, "focal=", 6))
            ok = parse_positive(tok + 6, &focal);
        else if (!strncmp(tok, "sensor=", 7))
            ok = parse_pair(tok + 7, &sw, &sh);
        else if (!strncmp(tok, "size=", 5))
            ok = sized = parse_pair(tok + 5, &w, &h) && w <= 1e6 && h <= 1e6;
        else if (!strchr(tok, '=') && strchr(tok, '/') && !*model)
            snprintf(model, sizeof model, "%s", tok);
        else if (!strchr(tok, '=') && !*name && !*model)
            snprintf(name, sizeof name, "%s", tok);
        else
            ok = 0;
    }
    free(copy);
    const char *form =
        "focal35=MM[,size=WxH], MAKE/MODEL,focal=MM, focal=MM,sensor=WxH or a "
        "camera's name[,focal=MM]";
    if (!ok) return koi_error(ctx, KO_ERR_ARG, "camera '%s': not of the form %s", spec, form);
    if (*name) { /* a camera by name: "Mavic 3E", "Zenmuse H20T wide" */
        ko_status st = ko_camera_by_name(ctx, name, cam, NULL);
        if (st) return st;
        if (!isnan(focal)) cam->focal_mm = focal; /* a zoom's setting */
        if (isnan(cam->focal_mm))
            return koi_error(ctx, KO_ERR_ARG,
                             "camera '%s': its lens varies: add the focal length, e.g. ,focal=13",
                             spec);
        if (sized && !(fabs(w * cam->height_px - h * cam->width_px) <= 0.005 * w * cam->height_px))
            return koi_error(ctx, KO_ERR_ARG,
                             "camera '%s': size=%gx%g is not the aspect of its %ux%u frames", spec,
                             w, h, cam->width_px, cam->height_px);
        if (sized) cam->width_px = (uint32_t)w, cam->height_px = (uint32_t)h; /* scaled copy */
        return KO_OK;
    }
    ko_camera_init(cam);
    cam->width_px = (uint32_t)w;
    cam->height_px = (uint32_t)h;
    if (*model) {
        char *slash = strchr(model, '/');
        *slash = '\0';
        /* The frame picks the sensor of a Model that is several (DJI's XT2: visible 4000 x 3000
         * and thermal 640 x 512), and a stated size= is the recorded frame, never replaced by
         * the table's: looked up by name alone, the first entry (the visible camera, a view
         * 32 % narrower than the thermal's at 13 mm) was taken and size= dropped (adv26).
         * Without size=, a Model of several sensors is an error naming them. */
        const char *mk = model, *md = slash + 1;
        ko_status st = sized ? koi_camera_lookup_frame(ctx, mk, md, (uint32_t)w, (uint32_t)h, cam)
                             : koi_camera_lookup_sole(ctx, mk, md, cam);
        if (st) {
            char why[KOI_ERRMSG_MAX];
            snprintf(why, sizeof why, "%s", ko_errmsg(ctx));
            return koi_error(ctx, st, "camera '%s': %s%s", spec, why,
                             sized ? "" : "; add the frame, e.g. ,size=640x512");
        }
        if (sized && koi_camera_frame_only_exif(ctx, mk, md, (uint32_t)w, (uint32_t)h))
            koi_camera_fit_whole(cam, (uint32_t)w, (uint32_t)h);
        else if (sized)
            koi_camera_fit_frame(cam, (uint32_t)w, (uint32_t)h);
        if (isnan(focal))
            return koi_error(ctx, KO_ERR_ARG, "camera '%s': add the focal length, e.g. ,focal=8.8",
                             spec);
        cam->focal_mm = focal;
        return KO_OK;
    }
    if (!isnan(focal35)) {
        /* Without size= the frame is not known: the view holding a 4:3 and a 3:2 sensor's
         * (ko_camera_from_focal35), its pixels the default 4000 x 3000 (the same finest pixel
         * as the 4:3 frame's, for the GSD). */
        uint32_t fw = sized ? cam->width_px : 0, fh = sized ? cam->height_px : 0;
        if (ko_camera_from_focal35(focal35, fw, fh, cam) != KO_OK)
            return koi_error(ctx, KO_ERR_ARG, "camera '%s': focal35 out of range", spec);
        cam->width_px = (uint32_t)w;
        cam->height_px = (uint32_t)h;
        return KO_OK;
    }
    if (!isnan(focal) && !isnan(sw)) {
        cam->focal_mm = focal;
        cam->sensor_w_mm = sw;
        cam->sensor_h_mm = sh;
        return KO_OK;
    }
    return koi_error(ctx, KO_ERR_ARG, "camera '%s': give %s", spec, form);
}

ko_status ko_camera_from_spec(ko_context *ctx, const char *spec, ko_camera *cam) {
    ko_status st = from_spec(ctx, spec, cam);
    if (st == KO_OK) koi_camera_published_lens(cam); /* a lens wider than its pinhole */
    return st;
}
