/* Cameras by name, and the thermal and multispectral cameras droneModels.json lacks or gets
 * wrong for keepout's files. Each entry: the names a user may give (case, spaces and dashes
 * ignored), the EXIF Make and Model the camera writes (NULL: not known), its frame, sensor and
 * nominal focal length from the manufacturer's published specifications (source beside each).
 * A sensor given by pixel pitch is pitch x pixels; one given by a diagonal field of view
 * (DFOV) is 2 f tan(DFOV / 2) on the frame's aspect. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "camera/camera.h"
#include "core/core.h"

typedef struct named {
    const char *names; /* '|'-separated */
    const char *make, *model;
    uint32_t width, height;
    double pitch_um; /* pixel pitch; 0: sensor_w/h given */
    double sensor_w_mm, sensor_h_mm;
    double focal_mm; /* nominal; 0: the lens varies (the file's focal length is used) */
    double dfov_deg; /* diagonal field of view, where the maker gives it instead of a sensor */
    const char *source;
    int frame_only; /* records its sensor's frame only: no 16:9 or 3:2 mode (thermal cores,
                       multispectral bands) */
} named;

#define DJI "https://www.dji.com/"
static const named table[] = {
    /* --- thermal --- */
    {"Zenmuse XT|Zenmuse XT 640", "DJI", "FLIR", 640, 512, 17, 0, 0, 0, 0,
     DJI "zenmuse-xt/info (640 x 512, pixel pitch 17 um; 9/13/19 mm lenses)", 1},
    {"Zenmuse XT2 thermal|XT2 thermal", "DJI", "XT2", 640, 512, 17, 0, 0, 0, 0,
     DJI "zenmuse-xt2/info (thermal 640 x 512, pixel pitch 17 um; 9/13/19/25 mm lenses)", 1},
    {"Zenmuse XT2 640 13mm", NULL, NULL, 640, 512, 17, 0, 0, 13, 0,
     DJI "zenmuse-xt2/info (thermal 640 x 512, 17 um, 13 mm lens)", 1},
    {"Zenmuse XT2 640 19mm", NULL, NULL, 640, 512, 17, 0, 0, 19, 0,
     DJI "zenmuse-xt2/info (thermal 640 x 512, 17 um, 19 mm lens)", 1},
    {"Zenmuse XT S|XT S", "DJI", "XT S", 640, 512, 17, 0, 0, 19, 0,
     DJI "zenmuse-xt-s/info (640 x 512, pixel pitch 17 um, 19 mm lens)", 1},
    {"Zenmuse H20T thermal|H20T thermal", "DJI", "ZH20T", 640, 512, 12, 0, 0, 13.5, 0,
     DJI "zenmuse-h20-series/specs (thermal: 640 x 512, pixel pitch 12 um, focal 13.5 mm, "
         "DFOV 40.6 deg)",
     1},
    {"Zenmuse H20T wide|H20T wide|Zenmuse H20 wide|H20 wide", NULL, NULL, 4056, 3040, 0, 0, 0, 4.5,
     82.9,
     DJI "zenmuse-h20-series/specs (wide: 1/2.3\" CMOS 12 MP, focal 4.5 mm, equivalent 24 mm, "
         "DFOV 82.9 deg)",
     1},
    /* The H20T writes Model ZH20T for its zoom camera too: without this entry a 5184 x 3888 zoom
     * frame was taken as a scaled copy of droneModels' ZH20T wide entry (4056 x 3040, 0.07 %
     * off in aspect), a view 12.7 % narrower per side (adversary adv21c). DJI gives the type
     * (1/1.7") and the lens (6.83-119.9 mm, 31.7-556.2 mm equivalent: a 9.32 mm diagonal, 7.46
     * x 5.59 mm); the sensor is droneModels' djiZH20 entry (the H20's zoom, the same camera),
     * 7.53 x 5.64 mm, the larger: no view narrower than the camera's. */
    {"Zenmuse H20T zoom|H20T zoom|Zenmuse H20 zoom|H20 zoom", "DJI", "ZH20T", 5184, 3888, 0, 7.53,
     5.64, 0, 0,
     DJI "zenmuse-h20-series/specs (zoom: 1/1.7\" CMOS 20 MP, 5184 x 3888, focal 6.83-119.9 mm, "
         "equivalent 31.7-556.2 mm)",
     0},
    {"Mavic 2 Enterprise Advanced thermal|M2EA thermal", "DJI", "MAVIC2-ENTERPRISE-ADVANCED", 640,
     512, 12, 0, 0, 9.1, 0,
     DJI "mavic-2-enterprise-advanced/specs (thermal: 640 x 512, pixel pitch 12 um, DFOV 57 "
         "deg)",
     1},
    {"Mavic 3T thermal|M3T thermal|Mavic 3 Thermal thermal", "DJI", "M3T", 640, 512, 12, 0, 0, 0, 0,
     DJI "mavic-3-enterprise/specs (M3T thermal: 640 x 512, pixel pitch 12 um, DFOV 61 deg)", 1},
    {"FLIR Duo Pro R 640|Duo Pro R", "FLIR", "Duo Pro R", 640, 512, 17, 0, 0, 0, 0,
     "https://www.flir.com/products/duo-pro-r/ (640 x 512, pixel pitch 17 um; 13/19/25 mm)", 1},
    {"FLIR Vue Pro 640 9mm", "FLIR", "Vue Pro 640 9mm", 640, 512, 17, 0, 0, 9, 0,
     "https://www.flir.com/products/vue-pro/ (640 x 512, pixel pitch 17 um, 9 mm lens)", 1},
    {"FLIR Vue Pro 640 13mm", "FLIR", "Vue Pro 640 13mm", 640, 512, 17, 0, 0, 13, 0,
     "https://www.flir.com/products/vue-pro/ (640 x 512, pixel pitch 17 um, 13 mm lens)", 1},
    {"FLIR Vue Pro 640 19mm", "FLIR", "Vue Pro 640 19mm", 640, 512, 17, 0, 0, 19, 0,
     "https://www.flir.com/products/vue-pro/ (640 x 512, pixel pitch 17 um, 19 mm lens)", 1},
    {"FLIR Tau 2 640", "FLIR Systems", "FLIR Tau 2 640", 640, 512, 17, 0, 0, 0, 0,
     "https://www.flir.com/products/tau-2/ (640 x 512, pixel pitch 17 um)", 1},
    {"senseFly thermoMAP|thermoMAP", "senseFly", "thermoMAP", 640, 512, 17, 0, 0, 9, 0,
     "https://www.sensefly.com/camera/thermomap-thermal-camera/ (640 x 512 thermal; FLIR Tau 2 "
     "core, 17 um)",
     1},
    {"Workswell WIRIS 640|WIRIS 640|WIRIS640", "", "WIRIS640", 640, 512, 17, 0, 0, 0, 0,
     "https://www.workswell-thermal-camera.com/wiris-2nd-gen/ (640 x 512, 17 um; 7.5 to 60 mm)", 1},
    /* --- multispectral --- */
    {"MicaSense RedEdge|RedEdge|RedEdge-M|RedEdge-MX", "MicaSense", "RedEdge", 1280, 960, 3.75, 0,
     0, 5.5, 0,
     "https://support.micasense.com/ (RedEdge user guide: 1280 x 960, 3.75 um, focal 5.5 mm, "
     "HFOV 47.2 deg)",
     1},
    {"MicaSense Altum multispectral|Altum", "MicaSense", "Altum", 2064, 1544, 3.45, 0, 0, 8, 0,
     "https://support.micasense.com/ (Altum: 2064 x 1544, 3.45 um, focal 8 mm)", 1},
    {"Parrot Sequoia band|Sequoia band|Sequoia", "Parrot", "Sequoia", 1280, 960, 3.75, 0, 0, 3.98,
     0, "https://www.parrot.com/ (Sequoia: mono bands 1280 x 960, 3.75 um, focal 3.98 mm)", 1},
    {"Parrot Sequoia RGB|Sequoia RGB", "Parrot", "Sequoia", 4608, 3456, 1.34, 0, 0, 4.88, 0,
     "https://www.parrot.com/ (Sequoia: RGB 4608 x 3456, 1.34 um, focal 4.88 mm)", 1},
    /* --- visible, by name --- */
    {"DJI FC6310R|FC6310R|Phantom 4 RTK|P4 RTK", "DJI", "FC6310R", 5472, 3648, 0, 13.2, 8.8, 8.8, 0,
     DJI "phantom-4-rtk/info (1\" CMOS 20 MP, 13.2 x 8.8 mm, focal 8.8 mm / 24 mm eq.)", 0},
    {"DJI FC6310|FC6310|DJI FC6310S|FC6310S|Phantom 4 Pro|Phantom 4 Pro V2|Phantom 4 Advanced",
     NULL, NULL, 5472, 3648, 0, 13.2, 8.8, 8.8, 0,
     DJI "phantom-4-pro-v2/specs (1\" CMOS 20 MP, focal 8.8 mm / 24 mm eq.)", 0},
    {"DJI FC300S|FC300S|Phantom 3 Advanced|Phantom 3 Professional", NULL, NULL, 4000, 3000, 0, 6.17,
     4.55, 3.61, 0, DJI "phantom-3-pro/info (1/2.3\" CMOS 12 MP, 20 mm eq., f/2.8)", 0},
    {"Mavic 3E|Mavic 3 Enterprise|M3E|DJI M3E", NULL, NULL, 5280, 3956, 0, 17.3, 13.0, 12.29, 0,
     DJI "mavic-3-enterprise/specs (M3E: 4/3 CMOS 20 MP, 17.3 x 13 mm, 24 mm eq., DFOV 84 "
         "deg)",
     0},
    {"Mavic 3T wide|M3T wide|Mavic 3 Thermal wide", NULL, NULL, 8000, 6000, 0, 0, 0, 4.4, 84,
     DJI "mavic-3-enterprise/specs (M3T wide: 1/2\" CMOS 48 MP, 24 mm eq., DFOV 84 deg)", 0},
    {"Mavic 3M RGB|M3M RGB|Mavic 3 Multispectral RGB", NULL, NULL, 5280, 3956, 0, 17.3, 13.0, 12.29,
     0, DJI "mavic-3-m/specs (RGB: 4/3 CMOS 20 MP, 24 mm eq., DFOV 84 deg)", 0},
    {"Zenmuse P1 35mm|P1 35mm", NULL, NULL, 8192, 5460, 0, 35.9, 24.0, 35, 0,
     DJI "zenmuse-p1/specs (full frame 35.9 x 24 mm, 45 MP, DL 35 mm F2.8 LS ASPH)", 0},
    {"Zenmuse P1 24mm|P1 24mm", NULL, NULL, 8192, 5460, 0, 35.9, 24.0, 24, 0,
     DJI "zenmuse-p1/specs (full frame 35.9 x 24 mm, 45 MP, DL 24 mm F2.8 LS ASPH)", 0},
    {"Zenmuse X3|FC350", "DJI", "FC350", 4000, 3000, 0, 6.17, 4.55, 3.61, 0,
     DJI "zenmuse-x3/info (1/2.3\" CMOS 12 MP, FOV 94 deg, 20 mm eq.)", 0},
    {"Autel EVO II Pro|EVO II Pro", NULL, NULL, 5472, 3648, 0, 13.2, 8.8, 10.6, 0,
     "https://www.autelrobotics.com/ (EVO II Pro: 1\" CMOS 20 MP, 29 mm eq., FOV 82 deg)", 0},
    {"Autel EVO II|EVO II 8K", NULL, NULL, 8000, 6000, 0, 6.4, 4.8, 4.7, 0,
     "https://www.autelrobotics.com/ (EVO II: 1/2\" CMOS 48 MP, 26 mm eq., FOV 79 deg)", 0},
    {"Parrot Anafi|Anafi", NULL, NULL, 5344, 4016, 0, 6.17, 4.55, 4.0, 0,
     "https://www.parrot.com/ (ANAFI: 1/2.4\" CMOS 21 MP, 23 mm eq. (4 mm))", 0},
    {"Skydio 2|Skydio 2+", NULL, NULL, 4056, 3040, 0, 6.17, 4.55, 3.7, 0,
     "https://www.skydio.com/ (Skydio 2: 1/2.3\" 12.3 MP, 20 mm eq. (3.7 mm))", 0},
    {"senseFly S.O.D.A.|senseFly SODA|S.O.D.A.|SODA", NULL, NULL, 5472, 3648, 0, 13.2, 8.8, 10.6, 0,
     "https://www.sensefly.com/camera/sensefly-soda-photogrammetry-camera/ (1\" 20 MP, 13.2 x 8.8 "
     "mm, 10.6 mm)",
     0},
    {"WingtraOne Sony RX1R II|Sony RX1R II|RX1RII|DSC-RX1RM2", NULL, NULL, 7952, 5304, 0, 35.9,
     24.0, 35, 0,
     "https://wingtra.com/ (WingtraOne RX1R II payload: full frame 35.9 x 24 mm, 42 MP, 35 mm)", 0},
    {"WingtraOne Sony QX1|Sony QX1|ILCE-QX1", NULL, NULL, 5456, 3632, 0, 23.2, 15.4, 20, 0,
     "https://wingtra.com/ (WingtraOne QX1 payload: APS-C 23.2 x 15.4 mm, 20 MP, 20 mm)", 0},
};

static void squash(const char *in, size_t n, char *out, size_t size) {
    size_t k = 0;
    for (size_t i = 0; i < n && in[i] && k + 1 < size; i++)
        if (isalnum((unsigned char)in[i])) out[k++] = (char)tolower((unsigned char)in[i]);
    out[k] = '\0';
}

static void fill(const named *e, ko_camera *c) {
    ko_camera_init(c);
    c->width_px = e->width;
    c->height_px = e->height;
    if (e->pitch_um > 0) {
        c->sensor_w_mm = e->pitch_um * 1e-3 * e->width;
        c->sensor_h_mm = e->pitch_um * 1e-3 * e->height;
    } else if (e->dfov_deg > 0) {
        double diag = 2.0 * e->focal_mm * tan(e->dfov_deg * 3.14159265358979323846 / 360.0);
        double a = (double)e->width / e->height;
        c->sensor_w_mm = diag * a / sqrt(1.0 + a * a);
        c->sensor_h_mm = c->sensor_w_mm / a;
    } else {
        c->sensor_w_mm = e->sensor_w_mm;
        c->sensor_h_mm = e->sensor_h_mm;
    }
    if (e->focal_mm > 0) c->focal_mm = e->focal_mm;
}

/* The nth entry (0, 1, ...) for an EXIF Make and Model, or NULL past the last. */
static const named *nth_exif(const char *make, const char *model, size_t nth) {
    char mk[64], md[64], a[64], b[64];
    squash(make ? make : "", 64, mk, sizeof mk);
    squash(model, 64, md, sizeof md);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const named *e = &table[i];
        if (!e->model) continue;
        squash(e->make, 64, a, sizeof a);
        squash(e->model, 64, b, sizeof b);
        if (!strcmp(a, mk) && !strcmp(b, md) && nth-- == 0) return e;
    }
    return NULL;
}

/* The entry for an EXIF Make and Model whose frame a w x h one is best (koi_frame_rank), or
 * NULL: none can be, or entries of two frames are equally good (camera_table.c says why no
 * guess is made). */
static const named *by_exif(const char *make, const char *model, uint32_t w, uint32_t h) {
    const named *best = NULL, *e;
    int best_rank = 4, tie = 0;
    for (size_t i = 0; (e = nth_exif(make, model, i)) != NULL; i++) {
        int rank = koi_frame_rank(w, h, e->width, e->height);
        if (rank < 0 || rank > best_rank) continue;
        if (rank == best_rank && (e->width != best->width || e->height != best->height)) tie = 1;
        if (rank < best_rank) best = e, best_rank = rank, tie = 0;
    }
    return tie ? NULL : best;
}

/* The entry a user's name gives, or NULL. */
static const named *by_name(const char *name) {
    char want[128], got[128];
    squash(name, strlen(name), want, sizeof want);
    for (size_t i = 0; want[0] && i < sizeof table / sizeof table[0]; i++)
        for (const char *p = table[i].names; p && *p;) {
            const char *bar = strchr(p, '|');
            size_t n = bar ? (size_t)(bar - p) : strlen(p);
            squash(p, n, got, sizeof got);
            if (!strcmp(got, want)) return &table[i];
            p = bar ? bar + 1 : p + n;
        }
    return NULL;
}

int koi_named_camera_exif(const char *make, const char *model, size_t nth, ko_camera *out,
                          int *frame_only) {
    const named *e = nth_exif(make, model, nth);
    if (!e) return 0;
    fill(e, out);
    out->focal_mm = NAN; /* the file's own focal length is used */
    *frame_only = e->frame_only;
    return 1;
}

int koi_camera_frame_only(const char *name, const char *make, const char *model, uint32_t w,
                          uint32_t h) {
    const named *e = name ? by_name(name) : model ? by_exif(make, model, w, h) : NULL;
    return e && e->frame_only;
}

ko_status ko_camera_by_name(ko_context *ctx, const char *name, ko_camera *out,
                            const char **source) {
    if (!ctx || !name || !out) return koi_error(ctx, KO_ERR_ARG, "camera by name: NULL argument");
    const named *e = by_name(name);
    if (e) {
        fill(e, out);
        if (source) *source = e->source;
        return KO_OK;
    }
    return koi_error(ctx, KO_ERR_NOT_FOUND,
                     "camera '%s' is not in the bundled table of cameras by name (e.g. \"DJI "
                     "FC6310R\", \"Mavic 3E\", \"Zenmuse H20T wide\")",
                     name);
}
