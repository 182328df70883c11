/* XMP packets parsed with expat, namespace-aware: properties are read by (namespace URI, name)
 * whether written as attributes of rdf:Description or as child elements, so prefixes, spacing
 * and ordering cannot fool it. DOCTYPE and entity declarations stop the parse: XMP never needs
 * them and they are how "billion laughs" and external-entity attacks start. */
#include <cpl_conv.h>
#include <expat.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "core/core.h"
#include "meta/meta.h"

#define NS_DJI "http://www.dji.com/drone-dji/1.0/"
#define NS_PIX4D "http://pix4d.com/camera/1.0/"
#define NS_PARROT "http://www.parrot.com/drone-parrot/1.0/"
#define NS_SKYDIO "https://www.skydio.com/drone-skydio/1.0/"
#define NS_GPANO "http://ns.google.com/photos/1.0/panorama/"
/* DJI's thermal payloads (Zenmuse XT S) use the prefix DJI: with this URI. */
#define NS_DJI_OLD "http://www.dji.com"
/* MicaSense writes the Pix4D camera vocabulary under this URI (no camera/, no slash). */
#define NS_PIX4D_MICASENSE "http://pix4d.com/1.0"
#define NS_DLS "http://micasense.com/DLS/1.0/"
#define NS_FLIR "http://ns.flir.com/xmp/1.0/"
/* senseFly writes relative namespace URIs. */
#define NS_SENSEFLY "sensefly/"
#define NS_XMP_NOTE "http://ns.adobe.com/xmp/note/"

/* What a property element gives when its own text is not its value: a structure (an
 * rdf:value qualifier, an rdf:Alt/Seq/Bag, fields; adversary adv21c: a camera angle written
 * as rdf:value was taken as absent and the maker note's stood in), or text longer than the
 * buffer (its cut prefix was read as the number: "-90.<520 zeros>e-1" as -90). Neither is a
 * number, so a camera angle or pose value so written is stated but not read: unknown. */
#define XMP_STRUCTURE "(a structure, not read as a value)"
#define XMP_OVERLONG "(text over 511 bytes, not read)"

typedef struct xmp_state {
    XML_Parser parser;
    koi_image_meta *m;
    int depth;
    int refused;      /* a DOCTYPE or entity declaration was seen */
    char elem[2][96]; /* names (ns|local) of the current element and its parent */
    char text[512];   /* character data of the current leaf element */
    size_t text_len;
    int text_over;      /* the element's text did not fit in text[] */
    uint64_t has_child; /* bit d-1: the open element at depth d has had a child element */
    /* Pix4D's PerspectiveDistortion written as an rdf:Seq of rdf:li numbers (MicaSense's
     * RedEdge): the items joined by commas, read as the attribute form is. seq_depth: the
     * depth of the rdf:Seq being collected (0: none); seq_bad: anything else in it. */
    int seq_depth, seq_bad, seq_done;
    char seq[256];
} xmp_state;

#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

/* Signed decimal text as DJI writes it ("+45.00"), or a rational as FLIR writes it
 * ("16319/100"); anything else stays NaN. Decimal only (koi_decimal): CPLStrtod also reads C
 * hex floats ("-0x5Ap0" is -90), which no writer produces and ExifTool does not read as
 * numbers (adversary adv21). */
static double number(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    const char *end;
    double v = koi_decimal(s, &end);
    if (end != s && *end == '/' && end[1] >= '0' && end[1] <= '9') {
        const char *d = end + 1;
        double den = koi_decimal(d, &end);
        v = end != d && den != 0.0 ? v / den : NAN;
    }
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    return *end || !isfinite(v) ? NAN : v;
}

/* The pose scalars a file may state twice (meta.h, KOI_SAID_*): the field, the rounding of
 * one reading written twice, and what it is. */
static const struct {
    size_t offset;
    double rounding;
    int angle; /* compared modulo 360 */
    const char *what;
} said_fields[KOI_SAID_N] = {
    [KOI_SAID_REL_ALT] = {offsetof(koi_image_meta, rel_alt_m), KOI_RESTATED_M, 0,
                          "height above take-off"},
    [KOI_SAID_ABS_ALT] = {offsetof(koi_image_meta, abs_alt_m), KOI_RESTATED_M, 0, "altitude"},
    [KOI_SAID_LAT] = {offsetof(koi_image_meta, xmp_lat), KOI_RESTATED_DEG, 0, "latitude"},
    [KOI_SAID_LON] = {offsetof(koi_image_meta, xmp_lon), KOI_RESTATED_DEG, 0, "longitude"},
    [KOI_SAID_FLIGHT] = {offsetof(koi_image_meta, flight_yaw), KOI_ATTITUDE_BELIEVE_DEG, 1,
                         "aircraft's yaw"},
    [KOI_SAID_FLIGHT + 1] = {offsetof(koi_image_meta, flight_pitch), KOI_ATTITUDE_BELIEVE_DEG, 1,
                             "aircraft's pitch"},
    [KOI_SAID_FLIGHT + 2] = {offsetof(koi_image_meta, flight_roll), KOI_ATTITUDE_BELIEVE_DEG, 1,
                             "aircraft's roll"},
    [KOI_SAID_CAL] = {offsetof(koi_image_meta, cal_focal_px), KOI_RESTATED_PX, 0,
                      "calibrated focal length (px)"},
    [KOI_SAID_CAL + 1] = {offsetof(koi_image_meta, cal_cx_px), KOI_RESTATED_PX, 0,
                          "calibrated optical centre x (px)"},
    [KOI_SAID_CAL + 2] = {offsetof(koi_image_meta, cal_cy_px), KOI_RESTATED_PX, 0,
                          "calibrated optical centre y (px)"},
};

/* " in XMP packet N" when the file has more than one packet, else "". */
static const char *packet_of(const koi_image_meta *m, int packet, char *buf, size_t size) {
    if (m->xmp_packets < 2) return "";
    snprintf(buf, size, ", XMP packet %d", packet);
    return buf;
}

/* Pose scalar k (KOI_SAID_*) stated by the XMP property `from` as text (v: its value, scaled
 * where the vocabulary needs it). Stated but not a number, or stated a second time (by another
 * vocabulary, another spelling, or another packet) beyond the writings' rounding, the file is
 * unknown: m->conflict_note names both values and where each came from (adversary adv21c: two
 * heights above take-off, two positions 500 m apart, the last silently taken). The last
 * statement is kept either way. */
static void said(koi_image_meta *m, int k, double v, const char *text, const char *from) {
    double *f = (double *)((char *)m + said_fields[k].offset);
    if (!isfinite(v)) {
        koi_meta_conflict(m, "the XMP gives the %s (%s) as no number (\"%.48s\")",
                          said_fields[k].what, from, text);
        return;
    }
    if (isfinite(*f)) {
        double d = said_fields[k].angle ? koi_angle_apart(*f, v) : fabs(*f - v);
        if (d > said_fields[k].rounding) {
            char a[32], b[32];
            koi_meta_conflict(
                m,
                "the XMP gives the %s twice, %.10g (%s%s) and %.10g (%s%s): which is right "
                "cannot be told",
                said_fields[k].what, *f, m->said_from[k] ? m->said_from[k] : "?",
                packet_of(m, m->said_packet[k], a, sizeof a), v, from,
                packet_of(m, m->xmp_packets, b, sizeof b));
        }
    }
    *f = v;
    m->said_from[k] = from;
    m->said_packet[k] = m->xmp_packets;
}

/* A camera angle (k: 0 yaw, 1 pitch, 2 roll; keepout's degrees) from the XMP property from.
 * One packet may say it twice (two vocabularies, or one property repeated): more than
 * KOI_ATTITUDE_BELIEVE_DEG apart, neither is believed (m->attitude_disagree), whichever came
 * last (adversary adv21: drone-dji pitch -30 and Pix4D Camera:Pitch 0 in one packet, the
 * later one silently taken). */
static void camera_angle(koi_image_meta *m, int k, const char *text, double shift,
                         const char *from) {
    static const char *const names[3] = {"yaw", "pitch", "roll"};
    double *f = k == 0 ? &m->gimbal_yaw : k == 1 ? &m->gimbal_pitch : &m->gimbal_roll;
    double v = number(text) + shift;
    if (!isfinite(v)) {
        /* Stated but not a number ("-0x5Ap0", a structure, overlong text): not an absent
         * angle, for which the maker note would stand in (adversary adv21: hex floats taken
         * as the maker note's angles). */
        if (!m->attitude_disagree)
            snprintf(m->attitude_note, sizeof m->attitude_note,
                     "the XMP gives the camera's %s (%s) as no number (\"%.48s\")", names[k], from,
                     text);
        m->attitude_disagree = 1;
        return;
    }
    /* Pix4D's Camera: angles are an airframe-like attitude of a camera looking down, the
     * others a gimbal's: the two cannot be compared angle by angle (Camera:Roll 45 and
     * GimbalRollDegree 45 are different views), so a packet with both is not believed, even
     * where the numbers agree (adversary adv21b: a restated pitch skipped Pix4D's conversion). */
    int vocab = !strncmp(from, "Camera:", 7) ? KOI_VOCAB_PIX4D : KOI_VOCAB_GIMBAL;
    m->camera_vocabs |= vocab;
    if (m->camera_vocabs == (KOI_VOCAB_PIX4D | KOI_VOCAB_GIMBAL) && !m->attitude_disagree) {
        m->attitude_disagree = 1;
        snprintf(
            m->attitude_note, sizeof m->attitude_note,
            "the XMP gives the camera's attitude in two conventions (Pix4D's Camera: and "
            "%s), which cannot be compared: which is meant cannot be told",
            vocab == KOI_VOCAB_PIX4D ? m->angle_from[k] ? m->angle_from[k] : "a gimbal's" : from);
    }
    if (fabs(v) > 360.0) { /* "1e300", "7e5": not an angle any writer gives (adversary adv21) */
        if (!m->attitude_disagree)
            snprintf(m->attitude_note, sizeof m->attitude_note,
                     "the XMP gives the camera's %s as %g (%s), which is not an angle", names[k], v,
                     from);
        m->attitude_disagree = 1;
        return;
    }
    double d = koi_angle_apart(*f, v);
    if (isfinite(*f) && d > KOI_ATTITUDE_BELIEVE_DEG && !m->attitude_disagree) {
        m->attitude_disagree = 1;
        snprintf(m->attitude_note, sizeof m->attitude_note,
                 "the XMP gives the camera's %s twice, %.2f (%s) and %.2f (%s): which is right "
                 "cannot be told",
                 names[k], *f, m->angle_from[k] ? m->angle_from[k] : "?", v, from);
    }
    *f = v;
    m->angle_from[k] = from;
}

static void dji(koi_image_meta *m, const char *name, const char *v) {
    static const char *const gimbal[3] = {"GimbalYawDegree", "GimbalPitchDegree",
                                          "GimbalRollDegree"};
    for (int k = 0; k < 3; k++)
        if (!strcmp(name, gimbal[k])) {
            static const char *const from[3] = {"drone-dji:GimbalYawDegree",
                                                "drone-dji:GimbalPitchDegree",
                                                "drone-dji:GimbalRollDegree"};
            camera_angle(m, k, v, 0.0, from[k]);
            m->vendor = "dji";
            return;
        }
    /* The position too, where DJI writes it in XMP; GpsLongtitude is DJI's own spelling in
     * some firmware (ODM and exiftool read it). */
    static const struct {
        const char *name, *from;
        int k;     /* KOI_SAID_* */
        int owned; /* names the vendor */
    } props[] = {
        {"FlightYawDegree", "drone-dji:FlightYawDegree", KOI_SAID_FLIGHT, 1},
        {"FlightPitchDegree", "drone-dji:FlightPitchDegree", KOI_SAID_FLIGHT + 1, 1},
        {"FlightRollDegree", "drone-dji:FlightRollDegree", KOI_SAID_FLIGHT + 2, 1},
        {"RelativeAltitude", "drone-dji:RelativeAltitude", KOI_SAID_REL_ALT, 1},
        {"AbsoluteAltitude", "drone-dji:AbsoluteAltitude", KOI_SAID_ABS_ALT, 1},
        {"CalibratedFocalLength", "drone-dji:CalibratedFocalLength", KOI_SAID_CAL, 1},
        {"CalibratedOpticalCenterX", "drone-dji:CalibratedOpticalCenterX", KOI_SAID_CAL + 1, 1},
        {"CalibratedOpticalCenterY", "drone-dji:CalibratedOpticalCenterY", KOI_SAID_CAL + 2, 1},
        {"GpsLatitude", "drone-dji:GpsLatitude", KOI_SAID_LAT, 0},
        {"GPSLatitude", "drone-dji:GPSLatitude", KOI_SAID_LAT, 0},
        {"GpsLongitude", "drone-dji:GpsLongitude", KOI_SAID_LON, 0},
        {"GPSLongitude", "drone-dji:GPSLongitude", KOI_SAID_LON, 0},
        {"GpsLongtitude", "drone-dji:GpsLongtitude", KOI_SAID_LON, 0},
    };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (!strcmp(name, props[i].name)) {
            said(m, props[i].k, number(v), v, props[i].from);
            if (props[i].owned) m->vendor = "dji";
            return;
        }
    if (!strcmp(name, "DewarpData")) snprintf(m->dewarp, sizeof m->dewarp, "%s", v);
    /* DJI's flags for a view other than the one its angles describe: GimbalReverse and
     * CamReverse ("Whether the gimbal / camera is upside down", DJI's user manuals; "0"/"1",
     * or "False") and DewarpFlag ("Whether the camera parameters have been dewarped: 0 not
     * dewarped, 1 dewarped"). Anything but 0 or False, whatever else it says, is noted: an
     * upside-down camera's pixels are not where its angles put them, and a dewarped image no
     * longer follows the lens's model (DewarpData, the camera table's distortion). */
    static const struct {
        const char *name, *what;
    } flags[] = {
        {"GimbalReverse", "the gimbal is mounted upside down"},
        {"CamReverse", "the camera is upside down"},
        {"DewarpFlag",
         "the camera dewarped the image, which then no longer follows the lens "
         "model the file (DewarpData) or the camera table gives, and how it was "
         "remapped is not in the file"},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (strcmp(name, flags[i].name) != 0) continue;
        const char *t = v + strspn(v, " \t\r\n");
        size_t len = strcspn(t, " \t\r\n");
        int off = t[len + strspn(t + len, " \t\r\n")] == '\0' &&
                  ((len == 1 && t[0] == '0') || (len == 5 && !strncasecmp(t, "false", 5)));
        if (!off && !m->dji_flag_note[0])
            snprintf(m->dji_flag_note, sizeof m->dji_flag_note,
                     "drone-dji:%s is \"%.24s\": %s, so the view is not the one its angles and "
                     "camera model describe",
                     flags[i].name, v, flags[i].what);
        return;
    }
}

/* Pix4D's Camera: namespace measures pitch from nadir (0 = straight down, 90 = horizon). Its
 * Irradiance* angles are the sky sensor's, not the camera's, and are not read. ModelType names
 * the lens model (perspective, fisheye). */
/* "0.12,-0.34,1.5" (spaces allowed around the numbers): exactly three decimal numbers
 * (koi_decimal: "0x1p1", "inf", "nan", "1e400" are none; CPLStrtod read them: adversary). */
static int three_numbers(const char *v, double out[3]) {
    for (int k = 0; k < 3; k++) {
        const char *end;
        while (*v == ' ')
            v++;
        out[k] = koi_decimal(v, &end);
        if (end == v) return 0;
        v = end;
        while (*v == ' ')
            v++;
        if (k < 2 && *v++ != ',') return 0;
    }
    return *v == '\0';
}

static void rig_relatives(koi_image_meta *m, const char *v) {
    m->rig_state = three_numbers(v, m->rig_rel) ? 1 : -1;
    size_t blank = strspn(v, " \t\r\n");
    snprintf(m->rig_text, sizeof m->rig_text, "%s", v[blank] ? v : "(empty, or a list)");
}

/* "a,b,...": exactly n decimal numbers (blanks allowed around them). */
static int n_numbers(const char *v, double *out, int n) {
    for (int k = 0; k < n; k++) {
        const char *end;
        v += strspn(v, " \t\r\n");
        out[k] = koi_decimal(v, &end);
        if (end == v) return 0;
        v = end + strspn(end, " \t\r\n");
        if (k < n - 1 && *v++ != ',') return 0;
    }
    return *v == '\0';
}

static void pix4d(koi_image_meta *m, const char *name, const char *v) {
    if (!strcmp(name, "ModelType")) {
        snprintf(m->lens_model, sizeof m->lens_model, "%s", v);
        return;
    }
    /* The perspective lens model (Pix4D's "Specifications of XMP Camera Tags"): PrincipalPoint
     * "cx,cy" in millimetres, PerspectiveDistortion "R1,R2,R3,T1,T2" (Brown: radial, then
     * tangential). Stated twice or not so many numbers: unreadable (-1), never skipped. */
    if (!strcmp(name, "PrincipalPoint") || !strcmp(name, "PerspectiveDistortion")) {
        int pp = !strcmp(name, "PrincipalPoint");
        int *state = pp ? &m->pix4d_pp_state : &m->pix4d_dist_state;
        double got[5];
        int ok = n_numbers(v, got, pp ? 2 : 5) && *state == 0;
        if (ok) memcpy(pp ? m->pix4d_pp_mm : m->pix4d_dist, got, sizeof(double) * (pp ? 2 : 5));
        *state = ok ? 1 : -1;
        if (!ok)
            snprintf(pp ? m->pix4d_pp_text : m->pix4d_dist_text, sizeof m->pix4d_pp_text, "%.60s",
                     v[strspn(v, " \t\r\n")] ? v : "(empty)");
        return;
    }
    if (!strcmp(name, "RigRelatives")) {
        rig_relatives(m, v);
        return;
    }
    if (!strcmp(name, "Yaw"))
        camera_angle(m, 0, v, 0.0, "Camera:Yaw");
    else if (!strcmp(name, "Roll"))
        camera_angle(m, 2, v, 0.0, "Camera:Roll");
    else if (!strcmp(name, "Pitch"))
        camera_angle(m, 1, v, -90.0, "Camera:Pitch (from nadir)");
    else
        return;
    m->vendor = m->vendor ? m->vendor : "pix4d";
}

/* Parrot (Anafi): camera angles in degrees, pitch 0 = horizon, -90 = nadir, as DESIGN.md. */
static void parrot(koi_image_meta *m, const char *name, const char *v) {
    if (!strcmp(name, "CameraYawDegree"))
        camera_angle(m, 0, v, 0.0, "Parrot CameraYawDegree");
    else if (!strcmp(name, "CameraPitchDegree"))
        camera_angle(m, 1, v, 0.0, "Parrot CameraPitchDegree");
    else if (!strcmp(name, "CameraRollDegree"))
        camera_angle(m, 2, v, 0.0, "Parrot CameraRollDegree");
    else if (!strcmp(name, "FlightYawDegree"))
        said(m, KOI_SAID_FLIGHT, number(v), v, "drone-parrot:FlightYawDegree");
    else if (!strcmp(name, "RelativeAltitude"))
        said(m, KOI_SAID_REL_ALT, number(v), v, "drone-parrot:RelativeAltitude");
    else if (!strcmp(name, "AltitudeAboveTakeOff"))
        said(m, KOI_SAID_REL_ALT, number(v), v, "drone-parrot:AltitudeAboveTakeOff");
    else
        return;
    m->vendor = "parrot";
}

/* Skydio: the camera's attitude is the CameraOrientationNED structure (aerospace angles in
 * NED); its other orientation structures (FLU, body) are not the camera in NED. */
static void skydio(koi_image_meta *m, const char *name, const char *parent, const char *v) {
    if (strcmp(parent, NS_SKYDIO "|CameraOrientationNED") != 0) return;
    if (!strcmp(name, "Yaw"))
        camera_angle(m, 0, v, 0.0, "Skydio CameraOrientationNED Yaw");
    else if (!strcmp(name, "Pitch"))
        camera_angle(m, 1, v, 0.0, "Skydio CameraOrientationNED Pitch");
    else if (!strcmp(name, "Roll"))
        camera_angle(m, 2, v, 0.0, "Skydio CameraOrientationNED Roll");
    else
        return;
    m->vendor = "skydio";
}

static void copy(char *dst, size_t cap, const char *src);
/* An attitude of the airframe, not the camera (flight_*, degrees): MicaSense's DLS (the sky
 * sensor on the airframe, radians), senseFly's eBee (degrees), FLIR's MAV* (the MAVLink
 * vehicle's, units undocumented: its presence is noted, its values are not used). */
static void airframe(koi_image_meta *m, const char *name, const char *v, double scale,
                     const char *from) {
    int k = !strcmp(name, "Yaw") ? 0 : !strcmp(name, "Pitch") ? 1 : !strcmp(name, "Roll") ? 2 : -1;
    if (k < 0) return;
    said(m, KOI_SAID_FLIGHT + k, number(v) * scale, v, from);
    m->airframe_from = from;
}

static void flir(koi_image_meta *m, const char *name, const char *v) {
    if (strcmp(name, "MAVYaw") && strcmp(name, "MAVPitch") && strcmp(name, "MAVRoll")) return;
    double a = number(v);
    /* Vue Pro and Duo Pro write 0/100 for all three when no vehicle sent its attitude. */
    if (isfinite(a) && a != 0.0 && !m->airframe_from)
        m->airframe_from = "FLIR MAVYaw/MAVPitch/MAVRoll (the vehicle's; units undocumented)";
}

static int is_ns(const char *qname, size_t ns, const char *uri) {
    return ns == strlen(uri) && !strncmp(qname, uri, ns);
}

/* What editors leave in the XMP (meta.h, editor_trace). DJI's own packet declares crs: and
 * xmpMM: with crs:HasCrop="False", so a namespace alone says nothing; what is in it does. */
static void editor(koi_image_meta *m, const char *qname, size_t ns, const char *name,
                   const char *value) {
    static const struct {
        const char *uri, *prefix, *name; /* name NULL: any property */
    } traces[] = {
        {"http://ns.adobe.com/xap/1.0/", "xmp", "CreatorTool"},
        {"http://ns.adobe.com/xap/1.0/mm/", "xmpMM", "History"},
        {"http://ns.adobe.com/xap/1.0/mm/", "xmpMM", "DerivedFrom"},
        {"http://ns.adobe.com/xap/1.0/sType/ResourceEvent#", "stEvt", NULL}, /* History's */
        {"http://ns.adobe.com/xap/1.0/sType/ResourceRef#", "stRef", NULL},   /* DerivedFrom's */
        {"http://ns.adobe.com/photoshop/1.0/", "photoshop", NULL},
        {"http://ns.adobe.com/lightroom/1.0/", "lr", NULL},
        {"http://www.gimp.org/xmp/", "GIMP", NULL},
        {"http://darktable.sf.net/", "darktable", NULL},
        {"http://ns.adobe.com/camera-raw-settings/1.0/", "crs", NULL},
    };
    if (m->editor_trace[0]) return;
    for (size_t i = 0; i < sizeof traces / sizeof traces[0]; i++) {
        if (!is_ns(qname, ns, traces[i].uri) || (traces[i].name && strcmp(name, traces[i].name)))
            continue;
        /* crs: only where it records a crop: DJI writes HasCrop="False" AlreadyApplied="False" */
        if (!strcmp(traces[i].prefix, "crs") && strncmp(name, "Crop", 4) &&
            !((!strcmp(name, "HasCrop") || !strcmp(name, "AlreadyApplied")) &&
              !strcasecmp(value, "True")))
            continue;
        snprintf(m->editor_trace, sizeof m->editor_trace, "XMP %s:%.32s = %.32s", traces[i].prefix,
                 name, value);
        return;
    }
}

static void property(xmp_state *x, const char *qname, const char *parent, const char *value) {
    const char *bar = strchr(qname, '|');
    if (!bar) return;
    size_t ns = (size_t)(bar - qname);
    const char *name = bar + 1;
    editor(x->m, qname, ns, name, value);
    if (is_ns(qname, ns, NS_DJI) || is_ns(qname, ns, NS_DJI_OLD))
        dji(x->m, name, value);
    else if (is_ns(qname, ns, NS_PIX4D) || is_ns(qname, ns, NS_PIX4D_MICASENSE))
        pix4d(x->m, name, value);
    else if (is_ns(qname, ns, NS_DLS))
        airframe(x->m, name, value, 180.0 / 3.14159265358979323846,
                 "MicaSense DLS Yaw/Pitch/Roll (the sky sensor's, i.e. the airframe's)");
    else if (is_ns(qname, ns, NS_SENSEFLY))
        airframe(x->m, name, value, 1.0, "senseFly Yaw/Pitch/Roll (the eBee airframe's)");
    else if (is_ns(qname, ns, NS_FLIR))
        flir(x->m, name, value);
    else if (ns == strlen(NS_PARROT) && !strncmp(qname, NS_PARROT, ns))
        parrot(x->m, name, value);
    else if (ns == strlen(NS_SKYDIO) && !strncmp(qname, NS_SKYDIO, ns))
        skydio(x->m, name, parent, value);
    else if (ns == strlen(NS_GPANO) && !strncmp(qname, NS_GPANO, ns) &&
             !strcmp(name, "ProjectionType"))
        copy(x->m->projection, sizeof x->m->projection, *value ? value : "(empty)");
    else if (is_ns(qname, ns, NS_XMP_NOTE) && !strcmp(name, "HasExtendedXMP") &&
             !x->m->ext_xmp_guid[0])
        /* the GUID of the Extended XMP this (main) packet goes with: jpeg_meta.c checks it */
        copy(x->m->ext_xmp_guid, sizeof x->m->ext_xmp_guid, *value ? value : "(empty)");
}

static void copy(char *dst, size_t cap, const char *src) {
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Depths beyond this count as having had a child: no XMP nests so deep. */
#define KIDS_DEPTH 64

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
    xmp_state *x = ud;
    if (x->depth >= 1 && x->depth <= KIDS_DEPTH) x->has_child |= 1ull << (x->depth - 1);
    x->depth++;
    if (x->depth <= KIDS_DEPTH) x->has_child &= ~(1ull << (x->depth - 1));
    copy(x->elem[1], sizeof x->elem[1], x->elem[0]);
    copy(x->elem[0], sizeof x->elem[0], name);
    if (x->seq_depth && x->depth > x->seq_depth) {
        /* in the rdf:Seq: rdf:li items only, each a leaf */
        if (x->depth > x->seq_depth + 1 || strcmp(name, NS_RDF "|li") != 0) x->seq_bad = 1;
    } else if (x->seq_depth && x->depth == x->seq_depth) {
        x->seq_bad = 1; /* a second child of the property */
    } else if (!strcmp(name, NS_RDF "|Seq") &&
               (!strcmp(x->elem[1], NS_PIX4D "|PerspectiveDistortion") ||
                !strcmp(x->elem[1], NS_PIX4D_MICASENSE "|PerspectiveDistortion"))) {
        x->seq_depth = x->depth;
        x->seq_bad = x->seq_done = 0;
        x->seq[0] = '\0';
    }
    x->text_len = 0;
    x->text_over = 0;
    x->text[0] = '\0';
    for (int i = 0; attrs[i] && attrs[i + 1]; i += 2)
        property(x, attrs[i], name, attrs[i + 1]);
}

/* Every element is a property stated, whatever its text: an empty one (as an empty attribute
 * is), one whose text did not fit, and one with child elements, whose text is not its value
 * (text beside a child element would be read as the value: "-3<a/>0" as 0), are stated but
 * not read. An empty or structured RigRelatives (an rdf:Seq) is still there: a band whose
 * boresight is not read must not pass for the reference band. */
static void XMLCALL on_end(void *ud, const XML_Char *name) {
    xmp_state *x = ud;
    int kids = x->depth > KIDS_DEPTH || (x->depth >= 1 && (x->has_child >> (x->depth - 1) & 1));
    const char *value = kids ? XMP_STRUCTURE : x->text_over ? XMP_OVERLONG : x->text;
    if (x->seq_depth && x->depth == x->seq_depth + 1 && !strcmp(name, NS_RDF "|li")) {
        size_t n = strlen(x->seq), t = strlen(x->text);
        if (kids || x->text_over || n + t + 2 > sizeof x->seq) {
            x->seq_bad = 1;
        } else {
            if (n) x->seq[n++] = ',';
            memcpy(x->seq + n, x->text, t + 1); /* fits: checked above */
        }
    } else if (x->seq_depth && x->depth == x->seq_depth) {
        x->seq_done = 1; /* the rdf:Seq closed: its property is next */
    } else if (x->seq_depth && x->depth == x->seq_depth - 1) {
        /* the property itself: its items, unless it held more than the one rdf:Seq of leaves
         * (or text beside it) */
        if (!x->seq_bad && x->seq_done && !x->text_over && !x->text[strspn(x->text, " \t\r\n")])
            value = x->seq;
        x->seq_depth = 0;
    }
    property(x, name, x->elem[1], value);
    x->text_len = 0;
    x->text_over = 0;
    x->text[0] = '\0';
    copy(x->elem[0], sizeof x->elem[0], x->elem[1]);
    x->elem[1][0] = '\0';
    x->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
    xmp_state *x = ud;
    size_t room = sizeof x->text - 1 - x->text_len;
    size_t n = (size_t)len < room ? (size_t)len : room;
    if ((size_t)len > room) x->text_over = 1;
    memcpy(x->text + x->text_len, s, n);
    x->text_len += n;
    x->text[x->text_len] = '\0';
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal) {
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    xmp_state *x = ud;
    x->refused = 1;
    XML_StopParser(x->parser, XML_FALSE);
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation) {
    (void)name, (void)is_param, (void)value, (void)len, (void)base, (void)sysid, (void)pubid,
        (void)notation;
    xmp_state *x = ud;
    x->refused = 1;
    XML_StopParser(x->parser, XML_FALSE);
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* 0x80 in each byte of v that is zero, 0 elsewhere (exact, no borrow between bytes). */
static uint64_t zero_bytes(uint64_t v) {
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL;
    return ~(((v & low7) + low7) | v | low7);
}

/* p[0..n) is all XML whitespace: eight bytes per step over the kilobytes of padding (the
 * buffer is not a C string, so no strspn). */
static int all_space(const char *p, size_t n) {
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        uint64_t ws = zero_bytes(v ^ (ones * ' ')) | zero_bytes(v ^ (ones * '\n')) |
                      zero_bytes(v ^ (ones * '\r')) | zero_bytes(v ^ (ones * '\t'));
        if (ws != high) return 0;
    }
    for (; i < n; i++)
        if (!is_space(p[i])) return 0;
    return 1;
}

static void simple_property(void *user, const char *qname, const char *parent, const char *value) {
    property(user, qname, parent, value);
}

/* The packet without its padding: writers reserve kilobytes of whitespace for in-place edits,
 * then close with <?xpacket end?>; neither carries data, and they are most of a DJI packet.
 * memrchr and all_space step over the padding many bytes at a time. */
static size_t content_len(const char *xml, size_t n) {
    static const char END[] = "<?xpacket end=";
    const char *lt = memrchr(xml, '<', n), *stop = xml + n;
    if (!lt || (size_t)(stop - lt) < sizeof END || memcmp(lt, END, sizeof END - 1)) return n;
    const char *q = lt + sizeof END - 1;
    while (q + 1 < stop && !(q[0] == '?' && q[1] == '>'))
        q++;
    if (q + 1 >= stop) return n;
    for (q += 2; q < stop; q++)
        if (!is_space(*q)) return n;
    const char *gt = memrchr(xml, '>', (size_t)(lt - xml));
    if (!gt || !all_space(gt + 1, (size_t)(lt - gt - 1))) return n;
    return (size_t)(gt + 1 - xml);
}

static void parser_free(void *parser) {
    if (parser) XML_ParserFree(parser);
}

/* The context's parser, reset for this packet. Its hash salt comes from one getrandom() per
 * context, stepped per packet, instead of one per parser: still unknown to a hostile file. */
static XML_Parser parser_for(ko_context *ctx) {
    XML_Parser p = ctx->xmp.p;
    if (p && !XML_ParserReset(p, NULL)) {
        XML_ParserFree(p);
        p = ctx->xmp.p = NULL;
    }
    if (!p && !(p = ctx->xmp.p = XML_ParserCreateNS(NULL, '|'))) return NULL;
    ctx->xmp.free = parser_free;
    if (!ctx->xmp_salt &&
        getrandom(&ctx->xmp_salt, sizeof ctx->xmp_salt, 0) != sizeof ctx->xmp_salt)
        ctx->xmp_salt = (unsigned long)(uintptr_t)ctx ^ (unsigned long)time(NULL);
    XML_SetHashSalt(p, ctx->xmp_salt++);
    return p;
}

/* One expat pass over xml[0..len): XML_STATUS_OK or the error (x->refused for a DOCTYPE). */
static enum XML_Status run_expat(ko_context *ctx, xmp_state *x, const char *xml, size_t len) {
    x->parser = parser_for(ctx);
    if (!x->parser) return XML_STATUS_SUSPENDED; /* out of memory */
    XML_SetUserData(x->parser, x);
    XML_SetElementHandler(x->parser, on_start, on_end);
    XML_SetCharacterDataHandler(x->parser, on_text);
    XML_SetStartDoctypeDeclHandler(x->parser, on_doctype);
    XML_SetEntityDeclHandler(x->parser, on_entity);
    XML_SetParamEntityParsing(x->parser, XML_PARAM_ENTITY_PARSING_NEVER);
    return XML_Parse(x->parser, xml, (int)len, 1);
}

/* A tag with more namespace declarations than this is not mended: each tag's are compared
 * pairwise, so the work stays linear in the packet (adversary adv21c: 180,000 declarations in
 * one tag of a 4 MB packet took ~200 s compared all with all). No camera declares a tenth. */
#define REPAIR_DECLS 64

/* In the tag at p (p[0] == '<', c NUL-terminated at end), each exact repeat of a namespace
 * declaration (`xmlns:p="uri"`, after whitespace, outside quoted values) blanked. Returns the
 * tag's '>' (or end), *changed set if one was blanked; NULL if the tag has more than
 * REPAIR_DECLS declarations. */
static char *mend_tag(char *p, char *end, int *changed) {
    char *decl[REPAIR_DECLS];
    size_t len[REPAIR_DECLS], n = 0;
    char *q = p + 1;
    while (q < end && *q != '>') {
        if (*q == '"' || *q == '\'') {
            char *qe = memchr(q + 1, *q, (size_t)(end - q - 1));
            if (!qe) return end;
            q = qe + 1;
            continue;
        }
        if (!is_space(*q) || end - q <= 6 || memcmp(q + 1, "xmlns:", 6)) {
            q++;
            continue;
        }
        char *d = q + 1, *v = d + 6;
        while (v < end && *v != '"' && *v != '\'' && *v != '>')
            v++;
        if (v == end || *v == '>') {
            q = v;
            continue;
        }
        char *ve = memchr(v + 1, *v, (size_t)(end - v - 1));
        if (!ve) return end;
        size_t dl = (size_t)(ve + 1 - d);
        size_t i = 0;
        while (i < n && !(len[i] == dl && !memcmp(decl[i], d, dl)))
            i++;
        if (i < n) {
            memset(d, ' ', dl);
            *changed = 1;
        } else if (n == REPAIR_DECLS) {
            return NULL;
        } else {
            decl[n] = d, len[n++] = dl;
        }
        q = ve + 1;
    }
    return q;
}

/* Two defects of real packets that hide nothing: one namespace declared twice with the same
 * URI in one tag (DJI Zenmuse XT S: expat stops at the duplicate attribute), and a trailer cut
 * short by NUL padding (the XT S's `<?xpacket end="w"?` and no `>`). A copy with each exact
 * repeat of a declaration blanked, ending at the packet's last </x:xmpmeta> (else </rdf:RDF>),
 * is parsed again; any other defect still fails the packet. NULL if there is nothing to
 * repair, a tag has more than REPAIR_DECLS declarations (or no memory). Linear in n: each
 * byte is looked at a bounded number of times. */
static char *repaired(const char *xml, size_t n, size_t *out_n) {
    char *c = koi_malloc(n + 1);
    if (!c) return NULL;
    memcpy(c, xml, n);
    c[n] = '\0'; /* (n is the packet's length up to its first NUL: no NUL before) */
    int changed = 0;
    char *end = c + n;
    for (char *p = memchr(c, '<', n); p; p = memchr(p, '<', (size_t)(end - p))) {
        if (p[1] == '!' || p[1] == '?') { /* a comment, CDATA, DOCTYPE or processing instruction */
            const char *close = p[1] == '?'                   ? "?>"
                                : !strncmp(p, "<!--", 4)      ? "-->"
                                : !strncmp(p, "<![CDATA[", 9) ? "]]>"
                                                              : ">";
            char *e = strstr(p + 2, close);
            if (!e) break;
            p = e + strlen(close);
            continue;
        }
        p = mend_tag(p, end, &changed);
        if (!p) {
            free(c);
            return NULL;
        }
        if (p == end) break;
    }
    static const char *const ends[] = {"</x:xmpmeta>", "</rdf:RDF>"};
    size_t len = n;
    for (int i = 0; i < 2; i++) {
        char *last = NULL;
        for (char *e = strstr(c, ends[i]); e; e = strstr(e + 1, ends[i]))
            last = e;
        if (last) {
            size_t cut = (size_t)(last - c) + strlen(ends[i]);
            if (cut < n && !all_space(c + cut, n - cut)) changed = 1;
            len = cut;
            break;
        }
    }
    if (!changed) {
        free(c);
        return NULL;
    }
    *out_n = len;
    return c;
}

static ko_status parse(ko_context *ctx, const char *xml, size_t n, koi_image_meta *m, int simple) {
    if (n > KOI_XMP_MAX || n > (size_t)INT32_MAX) return KO_ERR_LIMIT;
    xmp_state x;
    memset(&x, 0, sizeof x);
    x.m = m;
    m->xmp_packets++; /* (a value said again by a later packet is compared: said()) */
    /* XMP packets are often padded with whitespace and a trailing <?xpacket end?>, and some
     * writers leave NUL padding: parse up to the first NUL. */
    size_t len = content_len(xml, strnlen(xml, n));
    if (simple && koi_xmp_simple(xml, len, simple_property, &x)) return KO_OK;
    koi_image_meta before = *m;
    enum XML_Status st = run_expat(ctx, &x, xml, len);
    if (st == XML_STATUS_SUSPENDED) return KO_ERR_NOMEM;
    if (st != XML_STATUS_OK && !x.refused) {
        char msg[sizeof m->problem];
        snprintf(msg, sizeof msg, "malformed XMP packet: %s at line %lu",
                 XML_ErrorString(XML_GetErrorCode(x.parser)),
                 (unsigned long)XML_GetCurrentLineNumber(x.parser));
        size_t rn = 0;
        char *r = repaired(xml, len, &rn);
        if (r) {
            *m = before; /* what the failed pass read is read again, or not at all */
            memset(&x, 0, sizeof x);
            x.m = m;
            st = run_expat(ctx, &x, r, rn);
            free(r);
            if (st == XML_STATUS_SUSPENDED) return KO_ERR_NOMEM;
            if (st == XML_STATUS_OK && !x.refused) {
                m->xmp_repaired = 1;
                return KO_OK;
            }
        }
        *m = before;
        snprintf(m->problem, sizeof m->problem, "%s", msg);
        return KO_ERR_FORMAT;
    }
    if (x.refused) {
        snprintf(m->problem, sizeof m->problem,
                 "XMP packet declares a DOCTYPE or entities: refused (XMP never needs them)");
        return KO_ERR_FORMAT;
    }
    return KO_OK;
}

ko_status koi_xmp_parse(ko_context *ctx, const char *xml, size_t n, koi_image_meta *m) {
    return parse(ctx, xml, n, m, 1);
}

ko_status koi_xmp_parse_expat(ko_context *ctx, const char *xml, size_t n, koi_image_meta *m) {
    return parse(ctx, xml, n, m, 0);
}
