/* Whether an XMP packet may leave with a released photo. The rewrite in jpeg_edit.c blanks
 * properties by scanning the text (it keeps the packet's size and everything else byte for
 * byte), which a packet can evade: a property in the default namespace (<GPSLatitude
 * xmlns="...">), a closing tag with a space before '>', another encoding, an embedded picture
 * (xmp:Thumbnails/xmpGImg:image holds the unredacted photo as base64). So the edited packet is
 * read again by expat, namespace-aware, and kept only if nothing it must not hold remains;
 * otherwise the whole packet is left out. Losing XMP is the fail-closed side. */
#include <ctype.h>
#include <expat.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "policy/policy.h"

/* A value this long is not a camera setting: embedded data (a thumbnail, a depth map, a
 * preview), which may show the site. DJI's longest values (DewarpData) are ~200 bytes. */
#define VALUE_MAX 1024
/* The whole packet's text: DJI's holds ~3 kB; a picture split into many short values under
 * some property (adversary) adds up past this. */
#define TOTAL_MAX 8192

int koi_xmp_location_name(const char *s, size_t n) {
    static const char *const has[] = {"gps",      "latitude", "longitude",      "longtitude",
                                      "altitude", "yaw",      "pitch",          "roll",
                                      "rtk",      "lrf",      "speed",          "position",
                                      "home",     "takeoff",  "orientationned", "location",
                                      "velocity", NULL};
    static const char *const ends[] = {"lat", "lon", "alt", "lng", NULL};
    char low[128];
    if (n == 0 || n >= sizeof low) return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    low[n] = '\0';
    for (size_t i = 0; has[i]; i++)
        if (strstr(low, has[i])) return 1;
    for (size_t i = 0; ends[i]; i++) {
        size_t k = strlen(ends[i]);
        if (n >= k && !strcmp(low + n - k, ends[i])) return 1;
    }
    return 0;
}

int koi_xmp_image_name(const char *s, size_t n) {
    return n == 10 && !strncasecmp(s, "thumbnails", 10);
}

typedef struct check {
    XML_Parser p;
    int strip, redacted;
    int unsafe;
    int inside;      /* depth inside a property that must not stay (0: none) */
    size_t text_len; /* characters other than white space in the current element so far */
    size_t total;    /* and in the whole packet */
} check;

/* The local part of an expat name "uri|local" (or "local" without a namespace). */
static const char *local_of(const char *name) {
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

static int forbidden(const check *c, const char *name) {
    const char *l = local_of(name);
    size_t n = strlen(l);
    return (c->strip && koi_xmp_location_name(l, n)) || (c->redacted && koi_xmp_image_name(l, n));
}

static void fail(check *c) {
    c->unsafe = 1;
    XML_StopParser(c->p, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
    check *c = ud;
    c->text_len = 0;
    if (c->inside || forbidden(c, name)) c->inside++;
    for (size_t i = 0; attrs[i]; i += 2) {
        int empty = 1;
        for (const char *v = attrs[i + 1]; *v && empty; v++)
            empty = isspace((unsigned char)*v) != 0;
        if (!empty && (c->inside || forbidden(c, attrs[i]) ||
                       (c->redacted && strlen(attrs[i + 1]) > VALUE_MAX))) {
            fail(c);
            return;
        }
    }
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
    check *c = ud;
    (void)name;
    c->text_len = 0;
    if (c->inside) c->inside--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
    check *c = ud;
    size_t ink = 0; /* blanked properties leave runs of spaces: only the rest counts */
    for (int i = 0; i < len; i++)
        ink += !isspace((unsigned char)s[i]);
    c->text_len += ink;
    c->total += ink;
    if ((c->redacted && (c->text_len > VALUE_MAX || c->total > TOTAL_MAX)) || (c->inside && ink))
        fail(c);
}

/* Comments and processing instructions carry no property: in a redacted copy anything longer
 * than a note may be a picture hidden from the property checks (adversary). */
static void XMLCALL on_comment(void *ud, const XML_Char *data) {
    check *c = ud;
    if (c->redacted && strlen(data) > 256) fail(c);
}

static void XMLCALL on_pi(void *ud, const XML_Char *target, const XML_Char *data) {
    check *c = ud;
    (void)target;
    if (c->redacted && strlen(data) > 256) fail(c);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal) {
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    fail(ud); /* XMP has none; entities could hide what is checked */
}

int koi_xmp_safe(const uint8_t *xml, size_t n, int strip, int redacted) {
    if (n > (size_t)INT32_MAX) return 0;
    while (n && xml[n - 1] == '\0') /* some writers pad the segment with NULs */
        n--;
    check c = {XML_ParserCreateNS(NULL, '|'), strip, redacted, 0, 0, 0, 0};
    if (!c.p) return 0;
    XML_SetUserData(c.p, &c);
    XML_SetElementHandler(c.p, on_start, on_end);
    XML_SetCharacterDataHandler(c.p, on_text);
    XML_SetStartDoctypeDeclHandler(c.p, on_doctype);
    XML_SetCommentHandler(c.p, on_comment);
    XML_SetProcessingInstructionHandler(c.p, on_pi);
    XML_SetParamEntityParsing(c.p, XML_PARAM_ENTITY_PARSING_NEVER);
    int ok = XML_Parse(c.p, (const char *)xml, (int)n, 1) == XML_STATUS_OK && !c.unsafe;
    XML_ParserFree(c.p);
    return ok;
}
