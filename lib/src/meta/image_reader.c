/* A photo as a shot: pose from EXIF GPS + vendor XMP, camera by the resolution order of
 * koi_image_camera(). Anything missing is the shot's reason (the verdict `unknown`). */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "camera/camera.h"
#include "core/core.h"
#include "meta/meta.h"

typedef struct image_state {
    koi_image_meta meta;
    int done;
    char id[256];
    char reason[KOI_ERRMSG_MAX];
    int unreadable; /* the file could not be parsed as a JPEG: its shot is not checked */
    koi_strpairs extra;
} image_state;

static void image_close(void *impl) {
    image_state *s = impl;
    if (!s) return;
    koi_strpairs_free(&s->extra);
    free(s);
}

/* DewarpData "2020-10-19;3678.63,3671.39,10.64,27.05,-0.27,0.11,0.0012,-0.0003,-0.02":
 * date; fx, fy (pixels), cx, cy (offsets from the image centre), k1, k2, p1, p2, k3. */
static int from_dewarp(const koi_image_meta *m, uint32_t w, uint32_t h, ko_camera *c) {
    const char *p = strchr(m->dewarp, ';');
    double v[9];
    if (!p || !w || !h) return 0;
    p++;
    /* nine decimal numbers (koi_decimal: CPLStrtod also reads C hex floats, which DJI never
     * writes), comma-separated, and nothing after them */
    for (int i = 0; i < 9; i++) {
        const char *end;
        p += strspn(p, " \t");
        v[i] = koi_decimal(p, &end);
        if (end == p) return 0;
        end += strspn(end, " \t");
        if (i < 8 && *end != ',') return 0;
        p = end + (i < 8);
    }
    if (*p) return 0;
    if (!(v[0] > 0) || !(v[1] > 0)) return 0;
    /* Any pixel pitch gives the same field of view: take 1 um. */
    c->focal_mm = v[0] * 1e-3;
    c->sensor_w_mm = w * 1e-3;
    c->sensor_h_mm = h * 1e-3 * v[0] / v[1];
    c->cx_px = w / 2.0 + v[2];
    c->cy_px = h / 2.0 + v[3];
    c->k1 = v[4], c->k2 = v[5], c->p1 = v[6], c->p2 = v[7], c->k3 = v[8];
    return 1;
}

/* The frame the camera recorded: the stated size (EXIF PixelX/YDimension), else the coded
 * image's. */
static void recorded_frame(const koi_image_meta *m, uint32_t *w, uint32_t *h) {
    *w = m->exif_width ? m->exif_width : m->sof_width;
    *h = m->exif_width ? m->exif_height : m->sof_height;
}

static int sensor_of(ko_context *ctx, const koi_image_meta *m, uint32_t w, uint32_t h, ko_camera *t,
                     char *why, size_t why_size);

/* Whether a w x h frame of another shape than its sensor's (full_w wide) is taken as the
 * camera's own centred 16:9 or 3:2 mode: only at the sensor's full width (a narrower one is a
 * copy, scaled or cut anywhere: adversary adv21c, a top-left 1600 x 900 of a 4000 x 3000
 * frame), of a camera that has such modes, in a file no editor wrote. name: the camera the
 * reader options name, or NULL for the file's Make/Model. */
static int camera_mode(ko_context *ctx, const koi_image_meta *m, const char *name, uint32_t w,
                       uint32_t h, uint32_t full_w) {
    int frame_only = name ? koi_camera_frame_only(name, NULL, NULL, w, h)
                          : koi_camera_frame_only_exif(ctx, m->make, m->model, w, h);
    return w == full_w && !frame_only && koi_image_camera_original(m);
}

/* A calibration's principal point lies near the frame's centre (lenses are centred on their
 * sensors to a few per cent): one far off it is no calibration of this frame, and put the
 * view 140-210 m to the side of a nadir camera (adversary adv21c: OpticalCenterX 12000 on a
 * 4000-pixel frame). 0 with why beyond 15 % of the frame. */
static int centred(const ko_camera *c, const char *how, char *why, size_t why_size) {
    char from[96];
    snprintf(from, sizeof from, "its %s", how);
    return koi_camera_plausible(c, from, why, why_size);
}

/* The camera model from the file, by the first source that gives one (see koi_image_camera). */
static int camera_model(ko_context *ctx, const koi_image_meta *m, ko_camera *c, const char **how,
                        char *why, size_t why_size) {
    uint32_t w, h;
    recorded_frame(m, &w, &h);
    ko_camera_init(c);
    c->width_px = w;
    c->height_px = h;
    if (from_dewarp(m, w, h, c)) {
        *how = "DJI DewarpData";
        return centred(c, *how, why, why_size);
    }
    if (m->cal_focal_px > 0 && w && h) {
        c->focal_mm = m->cal_focal_px * 1e-3;
        c->sensor_w_mm = w * 1e-3;
        c->sensor_h_mm = h * 1e-3;
        c->cx_px = m->cal_cx_px;
        c->cy_px = m->cal_cy_px;
        *how = "XMP calibrated focal length";
        return centred(c, *how, why, why_size);
    }
    /* FLIR (Duo Pro R, Vue Pro) and DJI's XT2 write the sensor's size in millimetres, or
     * another number, where EXIF wants pixels per unit: a pitch outside the pixels any
     * camera has (0.8 to 40 um; microbolometers are 12 to 25 um) is not believed. */
    double pitch_x = m->fp_unit_mm / m->fp_xres, pitch_y = m->fp_unit_mm / m->fp_yres;
    ko_camera t;
    if (m->focal_mm > 0 && pitch_x >= 0.0008 && pitch_x <= 0.04 && pitch_y >= 0.0008 &&
        pitch_y <= 0.04 && w && h && m->model[0] &&
        koi_camera_lookup_frame(ctx, m->make, m->model, w, h, &t) == KO_OK && t.width_px &&
        t.height_px &&
        (fabs(pitch_x / (t.sensor_w_mm / t.width_px) - 1.0) > 0.1 ||
         fabs(pitch_y / (t.sensor_h_mm / t.height_px) - 1.0) > 0.1)) {
        /* A pitch in the band that the camera table contradicts: 17 um written in pixels per
         * cm but labelled per mm is 1.7 um, a tenth of the view (adversary adv21). */
        snprintf(why, why_size,
                 "its EXIF focal plane resolution gives %.2f x %.2f um pixels, the camera "
                 "table's %s %s %.2f x %.2f um: which is right cannot be told",
                 pitch_x * 1e3, pitch_y * 1e3, m->make, m->model, t.sensor_w_mm / t.width_px * 1e3,
                 t.sensor_h_mm / t.height_px * 1e3);
        return 0;
    }
    if (m->focal_mm > 0 && pitch_x >= 0.0008 && pitch_x <= 0.04 && pitch_y >= 0.0008 &&
        pitch_y <= 0.04 && w && h) {
        c->sensor_w_mm = w * m->fp_unit_mm / m->fp_xres;
        c->sensor_h_mm = h * m->fp_unit_mm / m->fp_yres;
        c->focal_mm = m->focal_mm;
        *how = "EXIF focal plane resolution";
        return 1;
    }
    if (m->focal_mm > 0 && w && h && m->model[0] &&
        koi_camera_lookup_frame(ctx, m->make, m->model, w, h, &t) == KO_OK) {
        *c = t;
        c->focal_mm = m->focal_mm;
        if (!camera_mode(ctx, m, NULL, w, h, t.width_px))
            koi_camera_fit_whole(c, w, h);
        else
            koi_camera_fit_frame(c, w, h);
        *how = "camera table";
        return 1;
    }
    if (m->focal35_mm > 0 && ko_camera_from_focal35(m->focal35_mm, w, h, c) == KO_OK) {
        *how = "35 mm-equivalent focal length";
        return 1;
    }
    if (sensor_of(ctx, m, w, h, &t, why, why_size) < 0) return 0;
    snprintf(why, why_size,
             "unknown camera %s %s: no calibration, focal plane resolution, camera-table entry "
             "or 35 mm-equivalent focal length in the file",
             m->make[0] ? m->make : "(no Make)", m->model[0] ? m->model : "(no Model)");
    return -1;
}

/* The camera-table sensor of which a w x h frame of the file's camera is a frame: 1 with it in
 * *t; 0 if the table does not know the camera; -1 with why if it does but none of its sensors
 * can have recorded such a frame (not a scaled copy, nor a 16:9 or 3:2 crop of its full
 * width), or two equally: an editor's crop or copy, which may lie anywhere in the view. */
static int sensor_of(ko_context *ctx, const koi_image_meta *m, uint32_t w, uint32_t h, ko_camera *t,
                     char *why, size_t why_size) {
    if (!w || !h || !m->model[0]) return 0;
    if (koi_camera_lookup_frame(ctx, m->make, m->model, w, h, t) == KO_OK) return 1;
    /* the lookup says why: no sensor of the camera records such a frame, or two equally */
    char cause[KOI_ERRMSG_MAX];
    snprintf(cause, sizeof cause, "%s", ko_errmsg(ctx));
    ko_camera any;
    if (ko_camera_lookup(ctx, m->make, m->model, &any) != KO_OK) return 0;
    snprintf(why, why_size,
             "%s: an editor's crop or copy, whose part of the camera's view is not known", cause);
    return -1;
}

int koi_image_camera_original(const koi_image_meta *m) {
    if (m->editor_trace[0]) return 0;
    const unsigned char *v = (const unsigned char *)m->software;
    int prefixed = *v == 'v' || *v == 'V';
    v += prefixed;
    /* dot-separated groups of digits, none empty: "01.23.4920" */
    size_t i = 0;
    int parts = 0;
    for (;;) {
        size_t d = 0;
        while (isdigit(v[i + d]))
            d++;
        if (!d) return 0;
        parts++;
        i += d;
        if (v[i] != '.') break;
        i++;
    }
    /* A version of two parts without a 'v' ("17.1", "1.0") is as likely an app's or an
     * operating system's (an editor on a phone writes its own version there) as a camera's:
     * every firmware string of the real samples has three or more parts or the 'v' ("v1.4.1",
     * "V06.02.20", "02.02.01.00", "22.20.16.1"), so such a file is not taken as the camera's
     * own (the sensor's whole view, not a centred mode). */
    if (parts < 2 || (parts < 3 && !prefixed)) return 0;
    if (v[i] && v[i] != '-' && v[i] != '_') return 0;
    for (; v[i]; i++) /* a build suffix: "-34-g05e37eb-local" */
        if (!isalnum(v[i]) && v[i] != '.' && v[i] != '-' && v[i] != '_') return 0;
    return 1;
}

/* A frame that is a crop of its camera's sensor (camera.h, koi_camera_fit_whole): the
 * camera's centred 16:9 or 3:2 mode only in an unedited file of a camera that has such modes;
 * otherwise an editor's crop, anywhere, so the sensor's whole view. */
static int whole_view(ko_context *ctx, const koi_image_meta *m, ko_camera *c, const char *how,
                      char *why, size_t why_size) {
    uint32_t w = c->width_px, h = c->height_px;
    if (!w || !h) return 1;
    if (!strcmp(how, "camera table") || !strcmp(how, "camera by name"))
        return 1; /* fitted where it was found */
    ko_camera t;
    int known = sensor_of(ctx, m, w, h, &t, why, why_size);
    if (known < 0) return 0;
    if (known) {
        /* A model in the frame's pixels (a calibration, a focal plane resolution) of a frame
         * narrower than the sensor's: a scaled copy, whose pixels the model no longer fits, or
         * a crop anywhere (adversary adv21c: a top-left crop of a DewarpData frame of the same
         * shape, a 480 x 270 corner of a 640 x 512 thermal frame). */
        if (w < t.width_px && strcmp(how, "35 mm-equivalent focal length")) {
            snprintf(why, why_size,
                     "a %u x %u frame of a sensor that records %u x %u: a scaled or cut copy, "
                     "which its %s (in the frame's pixels) does not describe",
                     (unsigned)w, (unsigned)h, (unsigned)t.width_px, (unsigned)t.height_px, how);
            return 0;
        }
        if (!camera_mode(ctx, m, NULL, w, h, t.width_px))
            koi_camera_whole_sensor(c, t.width_px, t.height_px);
    } else if (!strcmp(how, "35 mm-equivalent focal length") && !koi_image_camera_original(m) &&
               (double)w / h >= 1.7) {
        /* ko_camera_from_focal35() takes a 16:9 frame for a full-width crop of its sensor (36
         * mm-equivalent across, a 3:2 one's): the whole 4:3 view at that width holds a 4:3 and
         * a 3:2 sensor's */
        koi_camera_whole_sensor(c, 4, 3);
    }
    return 1;
}

/* Pix4D's perspective lens model, where the file declares one (MicaSense, Parrot Sequoia):
 * PerspectiveDistortion R1, R2, R3, T1, T2 is Brown's (Pix4D's formula is OpenCV's, T1 and T2
 * as p1 and p2; MicaSense's imageprocessing library hands them to OpenCV as k1, k2, p1, p2,
 * k3), and PrincipalPoint is in millimetres on the sensor from its top-left corner (the same
 * library multiplies it by the focal plane resolution in pixels per mm to get OpenCV's cx,
 * cy). The distortion is in normalised coordinates, whatever the frame's scale; the principal
 * point needs the model's pixel pitch, so it is placed only where the model is the sensor's
 * whole frame (a physical sensor: the focal plane resolution or the camera table, the
 * recorded frame its full shape). Unreadable, beside DJI's own model, or not placeable:
 * unknown (a pinhole without them once stood in, 1-2 % narrower at a RedEdge's corners). */
static int pix4d_model(ko_context *ctx, const koi_image_meta *m, ko_camera *c, const char *how,
                       char *why, size_t why_size) {
    if (!m->pix4d_pp_state && !m->pix4d_dist_state) return 1;
    if (m->pix4d_pp_state < 0 || m->pix4d_dist_state < 0) {
        int pp = m->pix4d_pp_state < 0;
        snprintf(why, why_size,
                 "XMP Camera:%s \"%s\" is not %s (or is given twice): its lens model is not "
                 "known",
                 pp ? "PrincipalPoint" : "PerspectiveDistortion",
                 pp ? m->pix4d_pp_text : m->pix4d_dist_text,
                 pp ? "two numbers (mm)" : "five numbers (R1, R2, R3, T1, T2)");
        return 0;
    }
    if (!strcmp(how, "DJI DewarpData") || !strcmp(how, "XMP calibrated focal length")) {
        snprintf(why, why_size,
                 "the file declares two lens models, its %s and Pix4D's XMP "
                 "Camera:PrincipalPoint/PerspectiveDistortion: which is right cannot be told",
                 how);
        return 0;
    }
    if (m->pix4d_dist_state > 0) {
        c->k1 = m->pix4d_dist[0], c->k2 = m->pix4d_dist[1], c->k3 = m->pix4d_dist[2];
        c->p1 = m->pix4d_dist[3], c->p2 = m->pix4d_dist[4];
    }
    if (m->pix4d_pp_state <= 0) return 1;
    uint32_t w, h;
    recorded_frame(m, &w, &h);
    ko_camera t;
    char ignored[8];
    int known = sensor_of(ctx, m, w, h, &t, ignored, sizeof ignored);
    int physical = !strcmp(how, "EXIF focal plane resolution") || !strcmp(how, "camera table");
    if (!physical || c->width_px != w || c->height_px != h ||
        (known > 0 && (uint64_t)t.width_px * h != (uint64_t)t.height_px * w) ||
        !(c->sensor_w_mm > 0) || !(c->sensor_h_mm > 0)) {
        snprintf(why, why_size,
                 "its XMP Camera:PrincipalPoint (%g, %g mm on the sensor) cannot be placed on "
                 "this %u x %u frame (camera model: %s, %s): its lens model is not known",
                 m->pix4d_pp_mm[0], m->pix4d_pp_mm[1], (unsigned)w, (unsigned)h, how,
                 physical                                        ? "not the sensor's whole frame"
                 : !strcmp(how, "35 mm-equivalent focal length") ? "no pixel pitch"
                                                                 : "not the file's own sensor");
        return 0;
    }
    c->cx_px = m->pix4d_pp_mm[0] * c->width_px / c->sensor_w_mm;
    c->cy_px = m->pix4d_pp_mm[1] * c->height_px / c->sensor_h_mm;
    return centred(c, "XMP Camera:PrincipalPoint", why, why_size);
}

static double diagonal_fov(const ko_camera *c) {
    return 2 * atan(hypot(c->sensor_w_mm, c->sensor_h_mm) / (2 * c->focal_mm)) * 180 / M_PI;
}

int koi_image_camera(ko_context *ctx, const koi_image_meta *m, ko_camera *c, const char **how,
                     char *why, size_t why_size) {
    /* The stated size (EXIF PixelX/YDimension) is the frame the camera recorded; the coded
     * image may be a scaled copy of it, never another shape (adversary adv21c: a 4000 x 3000
     * image stating 4000 x 2250 was judged as the 16:9 band and missed the rows it shows). */
    if (m->exif_width && m->exif_height && m->sof_width && m->sof_height &&
        fabs((double)m->exif_width * m->sof_height / ((double)m->exif_height * m->sof_width) -
             1.0) > 0.005) {
        snprintf(why, why_size,
                 "its EXIF states a %u x %u frame but its image is %u x %u, of another shape: "
                 "which one the camera recorded cannot be told",
                 (unsigned)m->exif_width, (unsigned)m->exif_height, (unsigned)m->sof_width,
                 (unsigned)m->sof_height);
        return 0;
    }
    int got = camera_model(ctx, m, c, how, why, why_size);
    if (got <= 0) return got;
    /* Drone cameras record landscape frames; a portrait one is a copy an editor turned (pixels
     * rotated, Orientation 1), whose view is the camera's turned by 90 degrees one way or the
     * other: placed as a portrait sensor along the camera's heading, a site beside the track
     * came out clear (adversary adv21). A camera turned on its side (a gimbal's vertical
     * mode) is refused alike: which way it turned is not in the file. */
    if (c->width_px && c->height_px > c->width_px) {
        snprintf(why, why_size,
                 "a portrait frame of %u x %u pixels: drone cameras record landscape frames, so "
                 "this is a rotated copy (or a camera turned on its side), whose view is not "
                 "known",
                 (unsigned)c->width_px, (unsigned)c->height_px);
        return 0;
    }
    /* The 35 mm-equivalent focal length says the view of the frame the camera recorded, of one
     * of the shapes cameras record; a frame of another shape is an editor's crop, which may lie
     * anywhere in that view (a top-left crop taken as a centred band missed a site it shows). */
    if (!strcmp(*how, "35 mm-equivalent focal length") && c->width_px && c->height_px) {
        static const double shapes[] = {4.0 / 3.0, 3.0 / 2.0, 16.0 / 9.0, 5.0 / 4.0};
        double a = (double)c->width_px / c->height_px;
        int known = 0;
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            known |= fabs(a / shapes[i] - 1.0) < 0.02; /* (336 x 256 thermal: 1.6 %) */
        if (!known) {
            snprintf(why, why_size,
                     "a %u x %u frame, of none of the shapes cameras record (4:3, 3:2, 16:9, "
                     "5:4): an editor's crop, whose part of the camera's view is not known",
                     (unsigned)c->width_px, (unsigned)c->height_px);
            return 0;
        }
    }
    /* A model from pixel counts (a calibration in pixels, the focal plane resolution) follows
     * the stated size, which an editor rewrites on a crop or resize: the view it gives then
     * shrinks to part of what the pixels show, and a site at the edge came out clear
     * (adversary). FocalLengthIn35mmFormat, which editors keep, says the view of the frame:
     * a model more than 10 % narrower across the diagonal is not the file's camera. */
    ko_camera wide;
    if (m->focal35_mm > 0 && c->width_px && c->height_px &&
        strcmp(*how, "35 mm-equivalent focal length") &&
        ko_camera_from_focal35(m->focal35_mm, c->width_px, c->height_px, &wide) == KO_OK &&
        diagonal_fov(c) < 0.9 * diagonal_fov(&wide)) {
        snprintf(why, why_size,
                 "its camera model (%s) sees %.1f degrees across the diagonal of its %ux%u "
                 "pixels, its 35 mm-equivalent focal length of %g mm says %.1f: a cropped or "
                 "resized copy, whose view is not known",
                 *how, diagonal_fov(c), (unsigned)c->width_px, (unsigned)c->height_px,
                 m->focal35_mm, diagonal_fov(&wide));
        return 0;
    }
    if (!whole_view(ctx, m, c, *how, why, why_size)) return 0;
    return pix4d_model(ctx, m, c, *how, why, why_size);
}

static void why(image_state *s, const char *path, const char *msg) {
    if (!s->reason[0]) snprintf(s->reason, sizeof s->reason, "%s: %s", path, msg);
}

/* A defect that stands whatever else is missing: added after the first reason ("; ..."), so a
 * reason names both what is missing and it (Sequoia bands: no position, and a fisheye lens). */
static void why_also(image_state *s, const char *path, const char *msg) {
    size_t n = strlen(s->reason);
    if (!n)
        why(s, path, msg);
    else if (n + 3 < sizeof s->reason)
        snprintf(s->reason + n, sizeof s->reason - n, "; %s", msg);
}

/* Camera attitude from vendor XMP (or the DJI maker note where the XMP has none: meta.h,
 * koi_dji_pose_fallback), with the fixes each vendor needs. */
static int attitude(ko_reader *r, image_state *s, ko_pose *p) {
    const koi_image_meta *m = &s->meta;
    double yaw = m->gimbal_yaw, pitch = m->gimbal_pitch, roll = m->gimbal_roll;
    int heading_free = 0;
    /* DJI's fixes are for DJI's angles (drone-dji's, or its maker note's), not for another
     * vocabulary's in a packet that also has DJI's heights: Pix4D's Camera:Yaw 0 is north. */
    int dji =
        m->vendor && !strcmp(m->vendor, "dji") &&
        (m->attitude_from || !m->angle_from[0] || !strncmp(m->angle_from[0], "drone-dji:", 10));
    if (dji) {
        /* Some DJI models write GimbalYawDegree 0 while the aircraft heads elsewhere, but a
         * gimbal that turns on its own can look north: an exact 0 with a non-zero flight yaw
         * is either, and taking the flight yaw cleared sites the north-looking view shows
         * (adversary adv21c). */
        if (yaw == 0.0 && isfinite(m->flight_yaw) && m->flight_yaw != 0.0) {
            char msg[320];
            snprintf(msg, sizeof msg,
                     "camera heading ambiguous: GimbalYawDegree is exactly 0 (north, or the "
                     "value some DJI models leave unset) while FlightYawDegree is %+.2f",
                     m->flight_yaw);
            why(s, r->path, msg);
        }
        /* Nadir frames are sometimes written with GimbalRoll +-180 (the gimbal flipped over the
         * pole). At pitch -90 exactly roll turns the image like yaw does, so roll 180 = yaw +
         * 180: rewritten as that, the same rotation. Off nadir the two readings (a flipped
         * image, or the gimbal over the pole) put the view axis on either side of nadir and
         * the image the other way up: which is meant cannot be told (adversary adv21c: at
         * -89.01 the rewrite moved the forward edge 3.6 m at 120 m). */
        if (isfinite(roll) && fabs(fabs(roll) - 180.0) < 1.0 && isfinite(pitch) &&
            fabs(pitch + 90.0) < 1.0) {
            if (fabs(pitch + 90.0) > 0.005 || fabs(fabs(roll) - 180.0) > 0.005) {
                char msg[320];
                snprintf(msg, sizeof msg,
                         "camera attitude ambiguous: gimbal roll %+.2f at pitch %+.2f (a frame "
                         "turned upside down, or the gimbal flipped over nadir, whose view "
                         "lies on the other side of it)",
                         roll, pitch);
                why(s, r->path, msg);
            }
            yaw += roll;
            roll = 0.0;
        }
        /* The Mavic 2 Enterprise's gimbal cannot turn on its own, yet its files carry a
         * GimbalYawDegree tens of degrees off FlightYawDegree: which one is the camera's
         * heading cannot be told. */
        double d = fabs(fmod(yaw - m->flight_yaw + 540.0, 360.0) - 180.0);
        if (!strncmp(m->model, "MAVIC2-ENTERPRISE", 17) && isfinite(d) && d > 10.0) {
            char msg[320];
            snprintf(msg, sizeof msg,
                     "camera heading ambiguous: %s%s %+.2f and %s %+.2f are %.1f deg apart, and "
                     "the %s gimbal does not turn on its own",
                     m->attitude_from ? m->attitude_from : "XMP GimbalYawDegree",
                     m->attitude_from ? " yaw" : "", m->gimbal_yaw,
                     m->attitude_from ? "the aircraft's yaw" : "FlightYawDegree", m->flight_yaw, d,
                     m->model);
            why(s, r->path, msg);
        }
    }
    int pix4d = m->camera_vocabs == KOI_VOCAB_PIX4D; /* (whichever vocabulary named the vendor) */
    if (pix4d) {
        /* FLIR writes the Pix4D Camera: angles in a convention of its own (a Duo Pro R:
         * pitch -87.6 with roll -95.1), and 0/0/0 where the vehicle sent nothing. */
        if (!strncasecmp(m->make, "FLIR", 4)) {
            why(s, r->path,
                "camera attitude not usable: FLIR writes the Pix4D XMP Camera:Yaw/Pitch/Roll in "
                "an undocumented convention of its own (not Pix4D's nadir = 0)");
        } else if (yaw == 0.0 && pitch == -90.0 && roll == 0.0) {
            why(s, r->path,
                "no camera attitude: XMP Camera:Yaw/Pitch/Roll are all exactly 0, the "
                "placeholder written when no attitude was recorded");
        }
    }
    /* Pix4D's Roll is about the flight direction, with the camera looking down at Pitch 0: a
     * banking fixed wing's nadir camera looks to the side. In keepout's frame roll is about the
     * view axis, so Pix4D's three are turned into keepout's (koi_pix4d_pose), whichever
     * vocabulary named the vendor (a packet with drone-dji or Parrot heights too: adv21). */
    if (pix4d && isfinite(yaw) && isfinite(pitch) && isfinite(roll) && roll != 0.0)
        koi_pix4d_pose(yaw, pitch + 90.0, roll, &yaw, &pitch, &roll);
    if (isfinite(yaw)) yaw = fmod(fmod(yaw, 360.0) + 360.0, 360.0);
    if (!isfinite(pitch) && r->opts.assume_nadir) {
        pitch = -90.0;
        roll = 0.0;
        yaw = isfinite(m->flight_yaw) ? fmod(fmod(m->flight_yaw, 360.0) + 360.0, 360.0) : 0.0;
        heading_free = !isfinite(m->flight_yaw);
    }
    if (!isfinite(yaw) || !isfinite(pitch) || !isfinite(roll)) {
        if (m->airframe_from) {
            char msg[400];
            snprintf(msg, sizeof msg,
                     "no camera attitude: the file's only attitude is %s, not the camera's; if "
                     "the camera is hard-mounted looking straight down, say so (reader option "
                     "assume_nadir)",
                     m->airframe_from);
            why(s, r->path, msg);
        } else {
            why(s, r->path,
                "no camera attitude (no gimbal yaw/pitch/roll in the XMP); if it looked "
                "straight down, say so (reader option assume_nadir)");
        }
    }
    p->yaw_deg = yaw;
    p->pitch_deg = pitch;
    p->roll_deg = roll;
    return heading_free;
}

/* A rig band (MicaSense): its boresight from the rig's reference band, XMP Camera:RigRelatives
 * (koi_rig_boresight), turns the rig's attitude into the band's. Not three angles, more than
 * KOI_RIG_MAX_DEG (no rig band is mounted that far off its reference), or a rig without a
 * heading to turn (assume_nadir with no yaw in the file): unknown. */
#define KOI_RIG_MAX_DEG 10.0

static void rig_band(ko_reader *r, image_state *s, ko_pose *p, int heading_free) {
    const koi_image_meta *m = &s->meta;
    const double *rel = m->rig_rel;
    char msg[320];
    if (m->rig_state == 0 || !isfinite(p->yaw_deg) || !isfinite(p->pitch_deg) ||
        !isfinite(p->roll_deg))
        return; /* no rig band, or no attitude (whose reason is given) */
    if (m->rig_state < 0) {
        snprintf(msg, sizeof msg,
                 "the band's boresight is unknown: XMP Camera:RigRelatives \"%s\" is not three "
                 "angles",
                 m->rig_text);
    } else if (fabs(rel[0]) > KOI_RIG_MAX_DEG || fabs(rel[1]) > KOI_RIG_MAX_DEG ||
               fabs(rel[2]) > KOI_RIG_MAX_DEG) {
        snprintf(msg, sizeof msg,
                 "XMP Camera:RigRelatives (%g, %g, %g) turns the band more than %g deg from "
                 "its rig's reference band: not a rig band's boresight",
                 rel[0], rel[1], rel[2], KOI_RIG_MAX_DEG);
    } else if (heading_free && (rel[0] != 0.0 || rel[1] != 0.0)) {
        snprintf(msg, sizeof msg,
                 "the band's boresight (XMP Camera:RigRelatives %s) tilts it from a rig whose "
                 "heading the file does not give",
                 m->rig_text);
    } else {
        koi_rig_boresight(rel, &p->yaw_deg, &p->pitch_deg, &p->roll_deg);
        return;
    }
    why_also(s, r->path, msg); /* whatever else is missing, as a lens model is */
}

/* EXIF and DJI's XMP may both give the position (an M2EA's differ by ~4 m): EXIF's wins, with
 * its hemisphere letters and fix flags; XMP's is used only when EXIF has none. More than
 * KOI_POSITIONS_AGREE_M apart, neither is believed. Returns the source's name, or NULL. */
static const char *position(ko_reader *r, image_state *s, double *lat, double *lon) {
    const koi_image_meta *m = &s->meta;
    int exif = isfinite(m->lat) && isfinite(m->lon);
    int xmp = isfinite(m->xmp_lat) && isfinite(m->xmp_lon) && fabs(m->xmp_lat) <= 90.0 &&
              fabs(m->xmp_lon) <= 180.0;
    *lat = *lon = NAN;
    if (exif && xmp) {
        double d = koi_metres_apart(m->lat, m->lon, m->xmp_lat, m->xmp_lon);
        if (!(d <= KOI_POSITIONS_AGREE_M)) {
            char msg[320];
            snprintf(msg, sizeof msg,
                     "positions disagree: EXIF GPS (%.7f, %.7f) and XMP GpsLatitude/"
                     "GpsLongitude (%.7f, %.7f) are %.0f m apart (more than %.0f m): which is "
                     "right cannot be told",
                     m->lat, m->lon, m->xmp_lat, m->xmp_lon, d, KOI_POSITIONS_AGREE_M);
            why(s, r->path, msg);
            return NULL;
        }
    }
    if (exif && m->lat == 0.0 && m->lon == 0.0) {
        why(s, r->path,
            "no GPS fix: the EXIF GPS position is (0, 0), what a receiver without a fix "
            "writes");
        return NULL;
    }
    if (exif) {
        *lat = m->lat, *lon = m->lon;
        return "EXIF GPS";
    }
    if (xmp && m->xmp_lat == 0.0 && m->xmp_lon == 0.0) {
        why(s, r->path,
            "no GPS fix: the XMP GpsLatitude/GpsLongitude position is (0, 0), what a receiver "
            "without a fix writes");
        return NULL;
    }
    if (xmp && !m->gps_note[0]) {
        *lat = m->xmp_lat, *lon = m->xmp_lon;
        return "XMP GpsLatitude/GpsLongitude";
    }
    why(s, r->path,
        m->gps_note[0] ? m->gps_note : "no GPS position in the EXIF (or no N/S/E/W reference)");
    return NULL;
}

/* The camera the reader options name, for a file that does not describe its own: the file's
 * focal length where the named lens varies; its frame must be one the camera records. */
static int named_camera(ko_reader *r, image_state *s, ko_camera *c, const char **how) {
    const koi_image_meta *m = &s->meta;
    if (!r->opts.camera || !r->opts.camera[0]) return 0;
    ko_camera t;
    if (ko_camera_by_name(r->ctx, r->opts.camera, &t, NULL) != KO_OK) {
        why(s, r->path, ko_errmsg(r->ctx));
        return 1; /* the reason is set */
    }
    uint32_t w, h;
    recorded_frame(m, &w, &h);
    if (!koi_frame_fits(w, h, t.width_px, t.height_px)) {
        char msg[320];
        snprintf(msg, sizeof msg,
                 "camera '%s' (reader option camera) records %u x %u frames, of which this "
                 "%u x %u one cannot be a scaled copy or crop",
                 r->opts.camera, t.width_px, t.height_px, w, h);
        why(s, r->path, msg);
        return 1;
    }
    if (isnan(t.focal_mm)) t.focal_mm = m->focal_mm;
    if (!(t.focal_mm > 0)) {
        char msg[320];
        snprintf(msg, sizeof msg,
                 "camera '%s' (reader option camera) has no fixed lens and the file gives no "
                 "focal length",
                 r->opts.camera);
        why(s, r->path, msg);
        return 1;
    }
    if (!camera_mode(r->ctx, m, r->opts.camera, w, h, t.width_px))
        koi_camera_fit_whole(&t, w, h);
    else
        koi_camera_fit_frame(&t, w, h);
    *c = t;
    *how = "camera by name";
    return 1;
}

static ko_status image_next(ko_reader *r, ko_shot *shot) {
    image_state *s = r->impl;
    if (s->done) return KO_DONE;
    s->done = 1;
    memset(shot, 0, sizeof *shot);
    ko_pose_init(&shot->pose);
    ko_camera_init(&shot->camera);
    const koi_image_meta *m = &s->meta;
    if (!s->reason[0]) {
        double lat, lon;
        const char *pos_from = position(r, s, &lat, &lon);
        /* The fix flags, where the file has them: a position without a fix is no position. */
        int no_fix = 0;
        if (m->gps_status && m->gps_status != 'A') {
            char msg[96];
            snprintf(msg, sizeof msg, "EXIF GPSStatus is '%c'%s: the GPS had no fix",
                     m->gps_status > 0x20 && m->gps_status < 0x7f ? m->gps_status : '?',
                     m->gps_status == 'V' ? " (void)" : ", not 'A' (active)");
            why(s, r->path, msg);
            no_fix = 1;
        }
        if (m->gps_measure && m->gps_measure != '2' && m->gps_measure != '3') {
            char msg[96];
            snprintf(msg, sizeof msg,
                     "EXIF GPSMeasureMode is '%c', neither a 2D ('2') nor a 3D ('3') fix",
                     m->gps_measure > 0x20 && m->gps_measure < 0x7f ? m->gps_measure : '?');
            why(s, r->path, msg);
            no_fix = 1;
        }
        if (!isfinite(m->rel_alt_m))
            why(s, r->path,
                m->has_xmp ? "no height above take-off (XMP RelativeAltitude) in the file"
                           : "no XMP metadata (height above take-off and camera attitude): "
                             "was it stripped by an editor?");
        shot->pose.lat = no_fix ? NAN : lat;
        shot->pose.lon = no_fix ? NAN : lon;
        shot->pose.height_m = m->rel_alt_m;
        /* Above sea level (EGM96) by DJI's and EXIF's definitions; used only with a DEM, and
         * there checked against the relative height (keepout.h, "Terrain"). */
        const char *alt_from = isfinite(m->abs_alt_m)   ? "XMP AbsoluteAltitude"
                               : isfinite(m->gps_alt_m) ? "EXIF GPSAltitude"
                                                        : NULL;
        shot->pose.alt_msl_m = isfinite(m->abs_alt_m) ? m->abs_alt_m : m->gps_alt_m;
        int heading_free = attitude(r, s, &shot->pose);
        rig_band(r, s, &shot->pose, heading_free);
        const char *how = NULL;
        char msg[256];
        /* A camera named in the reader options stands in only where the file describes none:
         * a file whose own camera was refused stays refused (adversary adv25: --camera gave
         * a 4000 x 3000 image stating 4000 x 2250 the 16:9 band, and a clear). */
        int got = koi_image_camera(r->ctx, m, &shot->camera, &how, msg, sizeof msg);
        if (got == 0 || (got < 0 && !named_camera(r, s, &shot->camera, &how))) why(s, r->path, msg);
        /* the file's own lens model over the named camera's (its principal point in mm is
         * not placed on a named camera: unknown) */
        if (got < 0 && how && !strcmp(how, "camera by name") &&
            !pix4d_model(r->ctx, m, &shot->camera, how, msg, sizeof msg))
            why(s, r->path, msg);
        /* assumed nadir without any heading in the file: the footprint of every heading (the
         * yaw of 0 written above only fills the field) */
        koi_camera_published_lens(&shot->camera); /* a lens wider than its pinhole */
        if (heading_free) koi_camera_yaw_free(&shot->camera);
        /* a panorama's pixels are not one pinhole frame: its footprint would be a guess */
        if (m->projection[0] && strcasecmp(m->projection, "perspective"))
            why(s, r->path,
                CPLSPrintf("a panorama (GPano:ProjectionType %s): keepout models camera frames, "
                           "whose view a panorama is not",
                           m->projection));
        koi_strpairs_clear(&s->extra);
        uint32_t fw, fh;
        recorded_frame(m, &fw, &fh);
        const ko_camera *c = &shot->camera;
        const char *view = NULL; /* a crop taken as the sensor's whole view (whole_view()) */
        if (c->width_px && c->height_px && (c->width_px != fw || c->height_px != fh)) {
            char cause[128];
            if (m->editor_trace[0])
                snprintf(cause, sizeof cause, "an editor's: %s", m->editor_trace);
            else if (!koi_image_camera_original(m))
                snprintf(cause, sizeof cause, "Software \"%s\" is no camera firmware", m->software);
            else
                snprintf(cause, sizeof cause, "the camera records its sensor's frame only");
            view = CPLSPrintf(
                "the sensor's whole view (%u x %u at this frame's scale): this "
                "%u x %u frame is a crop of it whose place is not known (%s)",
                (unsigned)c->width_px, (unsigned)c->height_px, (unsigned)fw, (unsigned)fh, cause);
        }
        if ((view && koi_strpairs_add(&s->extra, "frame_view", view)) ||
            (how && koi_strpairs_add(&s->extra, "camera_source", how)) ||
            (m->model[0] && koi_strpairs_add(&s->extra, "camera", m->model)) ||
            (alt_from && koi_strpairs_add(&s->extra, "altitude_from", alt_from)) ||
            (pos_from && strcmp(pos_from, "EXIF GPS") != 0 &&
             koi_strpairs_add(&s->extra, "position_from", pos_from)) ||
            (m->airframe_from &&
             koi_strpairs_add(&s->extra, "airframe_attitude", m->airframe_from)) ||
            (m->attitude_from && koi_strpairs_add(&s->extra, "attitude_from", m->attitude_from)) ||
            (m->rig_state > 0 && koi_strpairs_add(&s->extra, "rig_relatives", m->rig_text)) ||
            (m->attitude_note[0] &&
             koi_strpairs_add(&s->extra, "attitude_conflict", m->attitude_note)))
            return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
        if (m->attitude_disagree) why_also(s, r->path, m->attitude_note);
        if (m->conflict_note[0]) why_also(s, r->path, m->conflict_note);
        if (!s->reason[0] && koi_reader_validate(r, &shot->camera, &shot->pose))
            why(s, r->path, ko_errmsg(r->ctx));
        /* A lens model other than the pinhole (Sequoia's bands declare a fisheye polynomial,
         * XMP Camera:FisheyePolynomial): a pinhole stand-in would misplace the footprint's
         * edges, so the frame is unknown whatever else it has. */
        if (m->lens_model[0] && strcasecmp(m->lens_model, "perspective") != 0) {
            char lens[256];
            snprintf(lens, sizeof lens,
                     "the file declares a %s lens model (XMP Camera:ModelType), which keepout "
                     "does not model (pinhole with Brown distortion only)",
                     m->lens_model);
            why_also(s, r->path, lens);
        }
        /* DJI's GimbalReverse/CamReverse (upside down) or DewarpFlag (dewarped in the camera)
         * not 0: neither the attitude nor the lens model is the image's (xmp.c). */
        if (m->dji_flag_note[0]) why_also(s, r->path, m->dji_flag_note);
    }
    shot->source = r->path;
    shot->id = s->id;
    shot->time = m->datetime[0] ? m->datetime : NULL;
    shot->reason = s->reason[0] ? s->reason : NULL;
    shot->unreadable = s->unreadable;
    shot->n_extra = s->extra.n;
    shot->extra_keys = (const char *const *)s->extra.keys;
    shot->extra_values = (const char *const *)s->extra.values;
    return KO_OK;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static long days_from_civil(long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

int koi_image_flight_key(const ko_reader *r, const char **make, const char **model, double *t_s) {
    if (!r || !r->ops || strcmp(r->ops->kind, "jpeg") != 0) return 0;
    const koi_image_meta *m = &((const image_state *)r->impl)->meta;
    *make = m->make;
    *model = m->model;
    *t_s = NAN;
    unsigned y, mo, d, h, mi, sec;
    if (sscanf(m->datetime, "%4u-%2u-%2uT%2u:%2u:%2u", &y, &mo, &d, &h, &mi, &sec) == 6)
        *t_s = days_from_civil((long)y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
    return 1;
}

/* A photo that cannot be parsed still opens: its one shot carries the reason, so a corrupt
 * photo in a release is reported, never skipped. */
static ko_status photo_open(ko_reader *r, int tiff) {
    image_state *s = koi_calloc(1, sizeof *s);
    if (!s) return koi_error(r->ctx, KO_ERR_NOMEM, "%s: out of memory", r->path);
    const char *base = CPLGetFilename(r->path);
    snprintf(s->id, sizeof s->id, "%s", base);
    ko_status st = tiff ? koi_tiff_meta_read(r->ctx, r->path, &s->meta)
                        : koi_jpeg_meta_read(r->ctx, r->path, &s->meta);
    if (st == KO_ERR_NOMEM) {
        free(s);
        return st;
    }
    s->unreadable = st || s->meta.incomplete[0];
    if (st)
        snprintf(s->reason, sizeof s->reason,
                 "%s (damaged or not a complete %s: copy it again from the original)",
                 ko_errmsg(r->ctx), tiff ? "TIFF" : "JPEG");
    else if (s->meta.incomplete[0])
        snprintf(s->reason, sizeof s->reason,
                 "%s: %s (an interrupted copy? copy it again from the original)", r->path,
                 s->meta.incomplete);
    /* kind "jpeg": a photo (JPEG or TIFF), one shot, with a flight key */
    static const koi_reader_ops ops = {"jpeg", image_next, image_close};
    r->ops = &ops;
    r->impl = s;
    return KO_OK;
}

ko_status koi_image_open(ko_reader *r) {
    return photo_open(r, 0);
}

ko_status koi_tiff_open(ko_reader *r) {
    return photo_open(r, 1);
}
