/* Cameras by name, and the thermal and multispectral cameras droneModels.json lacks or gets
 * wrong for keepout's files. Each entry: the names a user may give (case, spaces and dashes
 * ignored), the EXIF Make and Model the camera writes (NULL: not known), its frame, sensor and
 * nominal focal length from the manufacturer's published specifications (source beside each).
 * A sensor given by pixel pitch is pitch x pixels; one given by a diagonal field of view
 * (DFOV) is 2 f tan(DFOV / 2) on the frame's aspect. No entry is narrower than a field of
 * view its source gives (fit_lens). */
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
    /* Fields of view the source gives besides (0: none): horizontal x vertical, diagonal, a
     * 35 mm-equivalent focal length (its 43.27 mm diagonal), for the lens of fov_focal_mm (0:
     * focal_mm). Where one is wider than the pinhole of the focal length on the sensor, the
     * entry gets the barrel distortion that reaches it (fit_lens): never a view narrower than
     * its own source's (adversary adv27). */
    double hfov_deg, vfov_deg, dfov_cited_deg, eq35_mm, fov_focal_mm;
} named;

#define DJI "https://www.dji.com/"
static const named table[] = {
    /* --- thermal --- */
    {"Zenmuse XT|Zenmuse XT 640", "DJI", "FLIR", 640, 512, 17, 0, 0, 0, 0,
     DJI "zenmuse-xt/info (640 x 512, pixel pitch 17 um; 9/13/19 mm lenses)", 1, 0, 0, 0, 0, 0},
    {"Zenmuse XT2 thermal|XT2 thermal", "DJI", "XT2", 640, 512, 17, 0, 0, 0, 0,
     DJI "zenmuse-xt2/info (thermal 640 x 512, pixel pitch 17 um; 9/13/19/25 mm lenses)", 1, 0, 0,
     0, 0, 0},
    {"Zenmuse XT2 640 13mm", NULL, NULL, 640, 512, 17, 0, 0, 13, 0,
     DJI "zenmuse-xt2/info (thermal 640 x 512, 17 um, 13 mm lens)", 1, 0, 0, 0, 0, 0},
    {"Zenmuse XT2 640 19mm", NULL, NULL, 640, 512, 17, 0, 0, 19, 0,
     DJI "zenmuse-xt2/info (thermal 640 x 512, 17 um, 19 mm lens)", 1, 0, 0, 0, 0, 0},
    /* The XT2's visible camera writes Model XT2 too (4000 x 3000). droneModels' djiXT2 entry
     * (7.43 x 5.66 mm, k1 -0.46, k2 0.32, k3 -0.18) reaches 27.5 deg either side at mid-height
     * behind the 8 mm lens, DJI gives 57.12 deg across (28.56): a site in that strip was clear
     * (adversary adv27). Its sensor, with the distortion that reaches DJI's figures. */
    {"Zenmuse XT2 visible|XT2 visible", "DJI", "XT2", 4000, 3000, 0, 7.433226, 5.66274, 8, 0,
     DJI "zenmuse-xt2/specs (visual camera: 1/1.7\" CMOS 12 MP, 4000 x 3000, focal 8 mm, FOV "
         "57.12 x 42.44 deg); sensor: droneModels.json djiXT2",
     0, 57.12, 42.44, 0, 0, 0},
    {"Zenmuse XT S|XT S", "DJI", "XT S", 640, 512, 17, 0, 0, 19, 0,
     DJI "zenmuse-xt-s/info (640 x 512, pixel pitch 17 um, 19 mm lens)", 1, 0, 0, 0, 0, 0},
    {"Zenmuse H20T thermal|H20T thermal", "DJI", "ZH20T", 640, 512, 12, 0, 0, 13.5, 0,
     DJI "zenmuse-h20-series/specs (thermal: 640 x 512, pixel pitch 12 um, focal 13.5 mm, "
         "DFOV 40.6 deg)",
     1, 0, 0, 40.6, 0, 0},
    {"Zenmuse H20T wide|H20T wide|Zenmuse H20 wide|H20 wide", NULL, NULL, 4056, 3040, 0, 0, 0, 4.5,
     82.9,
     DJI "zenmuse-h20-series/specs (wide: 1/2.3\" CMOS 12 MP, focal 4.5 mm, equivalent 24 mm, "
         "DFOV 82.9 deg)",
     1, 0, 0, 0, 24, 0},
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
     0, 0, 0, 0, 31.7, 6.83},
    {"Mavic 2 Enterprise Advanced thermal|M2EA thermal", "DJI", "MAVIC2-ENTERPRISE-ADVANCED", 640,
     512, 12, 0, 0, 9.1, 0,
     DJI "mavic-2-enterprise-advanced/specs (thermal: 640 x 512, pixel pitch 12 um, DFOV 57 "
         "deg)",
     1, 0, 0, 57, 0, 0},
    {"Mavic 3T thermal|M3T thermal|Mavic 3 Thermal thermal", "DJI", "M3T", 640, 512, 12, 0, 0, 0, 0,
     DJI "mavic-3-enterprise/specs (M3T thermal: 640 x 512, pixel pitch 12 um, DFOV 61 deg)", 1, 0,
     0, 61, 0, 9.1},
    {"FLIR Duo Pro R 640|Duo Pro R", "FLIR", "Duo Pro R", 640, 512, 17, 0, 0, 0, 0,
     "https://www.flir.com/products/duo-pro-r/ (640 x 512, pixel pitch 17 um; 13/19/25 mm)", 1, 0,
     0, 0, 0, 0},
    {"FLIR Vue Pro 640 9mm", "FLIR", "Vue Pro 640 9mm", 640, 512, 17, 0, 0, 9, 0,
     "https://www.flir.com/products/vue-pro/ (640 x 512, pixel pitch 17 um, 9 mm lens)", 1, 0, 0, 0,
     0, 0},
    {"FLIR Vue Pro 640 13mm", "FLIR", "Vue Pro 640 13mm", 640, 512, 17, 0, 0, 13, 0,
     "https://www.flir.com/products/vue-pro/ (640 x 512, pixel pitch 17 um, 13 mm lens)", 1, 0, 0,
     0, 0, 0},
    {"FLIR Vue Pro 640 19mm", "FLIR", "Vue Pro 640 19mm", 640, 512, 17, 0, 0, 19, 0,
     "https://www.flir.com/products/vue-pro/ (640 x 512, pixel pitch 17 um, 19 mm lens)", 1, 0, 0,
     0, 0, 0},
    {"FLIR Tau 2 640", "FLIR Systems", "FLIR Tau 2 640", 640, 512, 17, 0, 0, 0, 0,
     "https://www.flir.com/products/tau-2/ (640 x 512, pixel pitch 17 um)", 1, 0, 0, 0, 0, 0},
    {"senseFly thermoMAP|thermoMAP", "senseFly", "thermoMAP", 640, 512, 17, 0, 0, 9, 0,
     "https://www.sensefly.com/camera/thermomap-thermal-camera/ (640 x 512 thermal; FLIR Tau 2 "
     "core, 17 um)",
     1, 0, 0, 0, 0, 0},
    {"Workswell WIRIS 640|WIRIS 640|WIRIS640", "", "WIRIS640", 640, 512, 17, 0, 0, 0, 0,
     "https://www.workswell-thermal-camera.com/wiris-2nd-gen/ (640 x 512, 17 um; 7.5 to 60 mm)", 1,
     0, 0, 0, 0, 0},
    /* --- multispectral --- */
    {"MicaSense RedEdge|RedEdge|RedEdge-M|RedEdge-MX", "MicaSense", "RedEdge", 1280, 960, 3.75, 0,
     0, 5.5, 0,
     "https://support.micasense.com/ (RedEdge user guide: 1280 x 960, 3.75 um, focal 5.5 mm, "
     "HFOV 47.2 deg)",
     1, 47.2, 0, 0, 0, 0},
    {"MicaSense Altum multispectral|Altum", "MicaSense", "Altum", 2064, 1544, 3.45, 0, 0, 8, 0,
     "https://support.micasense.com/ (Altum: 2064 x 1544, 3.45 um, focal 8 mm)", 1, 0, 0, 0, 0, 0},
    {"Parrot Sequoia band|Sequoia band|Sequoia", "Parrot", "Sequoia", 1280, 960, 3.75, 0, 0, 3.98,
     0, "https://www.parrot.com/ (Sequoia: mono bands 1280 x 960, 3.75 um, focal 3.98 mm)", 1, 0, 0,
     0, 0, 0},
    {"Parrot Sequoia RGB|Sequoia RGB", "Parrot", "Sequoia", 4608, 3456, 1.34, 0, 0, 4.88, 0,
     "https://www.parrot.com/ (Sequoia: RGB 4608 x 3456, 1.34 um, focal 4.88 mm)", 1, 0, 0, 0, 0,
     0},
    /* --- visible, by name --- */
    {"DJI FC6310R|FC6310R|Phantom 4 RTK|P4 RTK", "DJI", "FC6310R", 5472, 3648, 0, 13.2, 8.8, 8.8, 0,
     DJI "phantom-4-rtk/info (1\" CMOS 20 MP, 13.2 x 8.8 mm, focal 8.8 mm / 24 mm eq.)", 0, 0, 0, 0,
     24, 0},
    {"DJI FC6310|FC6310|DJI FC6310S|FC6310S|Phantom 4 Pro|Phantom 4 Pro V2|Phantom 4 Advanced",
     NULL, NULL, 5472, 3648, 0, 13.2, 8.8, 8.8, 0,
     DJI "phantom-4-pro-v2/specs (1\" CMOS 20 MP, focal 8.8 mm / 24 mm eq.)", 0, 0, 0, 0, 24, 0},
    {"DJI FC300S|FC300S|Phantom 3 Advanced|Phantom 3 Professional", NULL, NULL, 4000, 3000, 0, 6.17,
     4.55, 3.61, 0, DJI "phantom-3-pro/info (1/2.3\" CMOS 12 MP, 20 mm eq., f/2.8)", 0, 0, 0, 0, 20,
     0},
    {"Mavic 3E|Mavic 3 Enterprise|M3E|DJI M3E", NULL, NULL, 5280, 3956, 0, 17.3, 13.0, 12.29, 0,
     DJI "mavic-3-enterprise/specs (M3E: 4/3 CMOS 20 MP, 17.3 x 13 mm, 24 mm eq., DFOV 84 "
         "deg)",
     0, 0, 0, 84, 24, 0},
    {"Mavic 3T wide|M3T wide|Mavic 3 Thermal wide", NULL, NULL, 8000, 6000, 0, 0, 0, 4.4, 84,
     DJI "mavic-3-enterprise/specs (M3T wide: 1/2\" CMOS 48 MP, 24 mm eq., DFOV 84 deg)", 0, 0, 0,
     0, 24, 0},
    {"Mavic 3M RGB|M3M RGB|Mavic 3 Multispectral RGB", NULL, NULL, 5280, 3956, 0, 17.3, 13.0, 12.29,
     0, DJI "mavic-3-m/specs (RGB: 4/3 CMOS 20 MP, 24 mm eq., DFOV 84 deg)", 0, 0, 0, 84, 24, 0},
    {"Zenmuse P1 35mm|P1 35mm", NULL, NULL, 8192, 5460, 0, 35.9, 24.0, 35, 0,
     DJI "zenmuse-p1/specs (full frame 35.9 x 24 mm, 45 MP, DL 35 mm F2.8 LS ASPH)", 0, 0, 0, 0, 0,
     0},
    {"Zenmuse P1 24mm|P1 24mm", NULL, NULL, 8192, 5460, 0, 35.9, 24.0, 24, 0,
     DJI "zenmuse-p1/specs (full frame 35.9 x 24 mm, 45 MP, DL 24 mm F2.8 LS ASPH)", 0, 0, 0, 0, 0,
     0},
    {"Zenmuse X3|FC350", "DJI", "FC350", 4000, 3000, 0, 6.17, 4.55, 3.61, 0,
     DJI "zenmuse-x3/info (1/2.3\" CMOS 12 MP, FOV 94 deg, 20 mm eq.)", 0, 0, 0, 94, 20, 0},
    {"Autel EVO II Pro|EVO II Pro", NULL, NULL, 5472, 3648, 0, 13.2, 8.8, 10.6, 0,
     "https://www.autelrobotics.com/ (EVO II Pro: 1\" CMOS 20 MP, 29 mm eq., FOV 82 deg)", 0, 0, 0,
     82, 29, 0},
    {"Autel EVO II|EVO II 8K", NULL, NULL, 8000, 6000, 0, 6.4, 4.8, 4.7, 0,
     "https://www.autelrobotics.com/ (EVO II: 1/2\" CMOS 48 MP, 26 mm eq., FOV 79 deg)", 0, 0, 0,
     79, 26, 0},
    {"Parrot Anafi|Anafi", NULL, NULL, 5344, 4016, 0, 6.17, 4.55, 4.0, 0,
     "https://www.parrot.com/ (ANAFI: 1/2.4\" CMOS 21 MP, 23 mm eq. (4 mm))", 0, 0, 0, 0, 23, 0},
    {"Skydio 2|Skydio 2+", NULL, NULL, 4056, 3040, 0, 6.17, 4.55, 3.7, 0,
     "https://www.skydio.com/ (Skydio 2: 1/2.3\" 12.3 MP, 20 mm eq. (3.7 mm))", 0, 0, 0, 0, 20, 0},
    {"senseFly S.O.D.A.|senseFly SODA|S.O.D.A.|SODA", NULL, NULL, 5472, 3648, 0, 13.2, 8.8, 10.6, 0,
     "https://www.sensefly.com/camera/sensefly-soda-photogrammetry-camera/ (1\" 20 MP, 13.2 x 8.8 "
     "mm, 10.6 mm)",
     0, 0, 0, 0, 0, 0},
    {"WingtraOne Sony RX1R II|Sony RX1R II|RX1RII|DSC-RX1RM2", NULL, NULL, 7952, 5304, 0, 35.9,
     24.0, 35, 0,
     "https://wingtra.com/ (WingtraOne RX1R II payload: full frame 35.9 x 24 mm, 42 MP, 35 mm)", 0,
     0, 0, 0, 0, 0},
    {"WingtraOne Sony QX1|Sony QX1|ILCE-QX1", NULL, NULL, 5456, 3632, 0, 23.2, 15.4, 20, 0,
     "https://wingtra.com/ (WingtraOne QX1 payload: APS-C 23.2 x 15.4 mm, 20 MP, 20 mm)", 0, 0, 0,
     0, 0, 0},
};

static void squash(const char *in, size_t n, char *out, size_t size) {
    size_t k = 0;
    for (size_t i = 0; i < n && in[i] && k + 1 < size; i++)
        if (isalnum((unsigned char)in[i])) out[k++] = (char)tolower((unsigned char)in[i]);
    out[k] = '\0';
}

#define PI 3.14159265358979323846
#define DIAG35_MM 43.266615305567875

/* Radial Brown terms (OpenCV convention) of a barrel lens whose maker publishes a field of view
 * wider than the pinhole of its focal length f on a sensor of half-sides hw x hh mm: the
 * frame's edge at mid-height sees hfov / 2 off the axis, its edge at mid-width vfov / 2, its
 * corner dfov / 2 (0: not given). Each figure the pinhole already reaches is left; for one
 * figure k1 = (rd / ru - 1) / ru^2 (rd the edge's distorted radius hw / f, ru the tangent of
 * the published half-angle), for two k1 and k2 through both. The centre keeps the pinhole's
 * pixel, the finest (a wider view by a shorter focal length would coarsen every pixel, and so
 * the GSD). Returns 0 (c unchanged) where the fitted lens folds before the frame's corner: a
 * model keepout cannot invert. */
static int fit_lens(ko_camera *c, double f, double hw, double hh, double hfov, double vfov,
                    double dfov) {
    const double figs[3][2] = {{hw, hfov}, {hh, vfov}, {hypot(hw, hh), dfov}};
    double rd[3], ru[3];
    int n = 0;
    for (int i = 0; i < 3; i++) {
        if (!(figs[i][1] > 0)) continue;
        double want = tan(figs[i][1] * PI / 360.0), have = figs[i][0] / f;
        if (have >= want) continue;
        rd[n] = have, ru[n] = want, n++;
    }
    if (!n) return 1;
    double k1, k2 = 0.0;
    if (n == 1) {
        k1 = (rd[0] / ru[0] - 1.0) / (ru[0] * ru[0]);
    } else {
        if (n == 3) { /* the two outermost decide; the third is checked below */
            rd[1] = rd[2], ru[1] = ru[2];
        }
        /* a_i k1 + b_i k2 = rd_i / ru_i - 1, a_i = ru_i^2, b_i = ru_i^4 */
        double a0 = ru[0] * ru[0], b0 = a0 * a0, c0 = rd[0] / ru[0] - 1.0;
        double a1 = ru[1] * ru[1], b1 = a1 * a1, c1 = rd[1] / ru[1] - 1.0;
        double det = a0 * b1 - a1 * b0;
        if (!(fabs(det) > 1e-12)) return 0;
        k1 = (c0 * b1 - c1 * b0) / det;
        k2 = (a0 * c1 - a1 * c0) / det;
    }
    ko_camera t = *c;
    t.k1 = k1, t.k2 = k2, t.k3 = t.p1 = t.p2 = 0.0;
    /* every figure reached, the corner invertible */
    for (int i = 0; i < 3; i++) {
        double x, y, r = figs[i][0] / f;
        if (!koi_undistort(&t, r, 0.0, &x, &y)) return 0;
        if (figs[i][1] > 0 && x < tan(figs[i][1] * PI / 360.0) * (1 - 1e-9)) return 0;
    }
    c->k1 = k1, c->k2 = k2;
    return 1;
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
    double f = e->fov_focal_mm > 0 ? e->fov_focal_mm : e->focal_mm;
    double dfov = e->dfov_cited_deg;
    if (e->eq35_mm > 0) /* the wider of the two figures (adversary adv27) */
        dfov = fmax(dfov, 2.0 * atan(DIAG35_MM / 2.0 / e->eq35_mm) * 180.0 / PI);
    if (f > 0)
        fit_lens(c, f, c->sensor_w_mm / 2.0, c->sensor_h_mm / 2.0, e->hfov_deg, e->vfov_deg, dfov);
}

/* Lenses of the cameras whose lens varies (the file's focal length is used) whose makers
 * publish a field of view wider than their pinhole: the sensor (mm), the focal length, the
 * published horizontal x vertical field of view. */
static const struct {
    double sensor_w_mm, sensor_h_mm, focal_mm, hfov_deg, vfov_deg;
    const char *source;
} lenses[] = {
    /* FLIR Tau 2 640 (640 x 512, 17 um) behind the 9 mm lens: 69 x 56 deg where the pinhole is
     * 62.3 x 51.6 (the 13 and 19 mm lenses, 45 x 37 and 32 x 26, and the same 9 mm lens on the
     * 336 core, 35 x 27, are their pinholes: the lens is barrel-distorted towards the 640
     * core's edges). Zenmuse XT, XT2 thermal, Vue Pro 640 9mm, thermoMAP (adversary adv27). */
    {10.88, 8.704, 9.0, 69.0, 56.0,
     DJI "zenmuse-xt/info and zenmuse-xt2/specs (640 x 512, 9 mm lens: FOV 69 x 56 deg)"},
};

void koi_camera_published_lens(ko_camera *c) {
    if (c->k1 != 0 || c->k2 != 0 || c->k3 != 0 || c->p1 != 0 || c->p2 != 0 || isfinite(c->cx_px) ||
        isfinite(c->cy_px) || !(c->focal_mm > 0))
        return;
    for (size_t i = 0; i < sizeof lenses / sizeof lenses[0]; i++) {
        double w = c->sensor_w_mm, h = c->sensor_h_mm;
        if (fabs(w / lenses[i].sensor_w_mm - 1.0) > 0.01 ||
            fabs(h / lenses[i].sensor_h_mm - 1.0) > 0.01 ||
            fabs(c->focal_mm / lenses[i].focal_mm - 1.0) > 0.03)
            continue;
        fit_lens(c, c->focal_mm, w / 2.0, h / 2.0, lenses[i].hfov_deg, lenses[i].vfov_deg, 0.0);
        return;
    }
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
