/* Result summaries and records: what every face (check records, catalogue rows, the GDAL
 * driver's metadata and layer) says about one result, computed here once in one field
 * vocabulary (docs/DESIGN.md, "Result records"). Built on the public result API only. The JSON
 * is written here rather than through json-c: its doubles follow a per-thread format a caller
 * may have changed, and its allocations would escape the library's checked allocator. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "policy/policy.h"

/* A record larger than this is refused (KO_ERR_LIMIT): ~100,000 findings. */
#define TEXT_MAX ((size_t)64 << 20)

/* Hands the text over (*out owned by the caller), or frees it and reports its failure. */
ko_status koi_text_done(ko_context *ctx, koi_text *t, const char *what, char **out) {
    if (!t->failed && !t->s) koi_text_put(t, "", 0);
    if (t->failed) {
        free(t->s);
        return koi_error(ctx, t->failed,
                         t->failed == KO_ERR_LIMIT ? "%s: the record is larger than 64 MiB"
                                                   : "%s: out of memory",
                         what);
    }
    *out = t->s;
    return KO_OK;
}

/* Bytes of the well-formed UTF-8 sequence at s (Unicode 15, table 3-7), 0 if the byte at s
 * starts none: a stray continuation byte, an overlong form, a surrogate, a value beyond
 * U+10FFFF or a sequence cut short (by the terminating NUL too). */
size_t koi_utf8_len(const unsigned char *s) {
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        lo = s[0] == 0xe0 ? 0xa0 : lo;
        hi = s[0] == 0xed ? 0x9f : hi;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        lo = s[0] == 0xf0 ? 0x90 : lo;
        hi = s[0] == 0xf4 ? 0x8f : hi;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return n;
}

/* A JSON string (NULL: ""): '"', '\' and C0 controls escaped, every byte that is not part of
 * well-formed UTF-8 written as the text \xHH. */
void koi_json_str(koi_text *t, const char *s) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    koi_text_put(t, "\"", 1);
    while (*u) {
        size_t n = koi_utf8_len(u);
        const char *short_form = !n           ? NULL
                                 : *u == '"'  ? "\\\""
                                 : *u == '\\' ? "\\\\"
                                 : *u == '\n' ? "\\n"
                                 : *u == '\r' ? "\\r"
                                 : *u == '\t' ? "\\t"
                                              : NULL;
        if (short_form) {
            koi_text_puts(t, short_form);
        } else if (!n) { /* not UTF-8: the text \xHH, in JSON "\\xHH" */
            char e[5] = {'\\', '\\', 'x', hex[*u >> 4], hex[*u & 15]};
            koi_text_put(t, e, sizeof e);
            n = 1;
        } else if (*u < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[*u >> 4], hex[*u & 15]};
            koi_text_put(t, e, sizeof e);
        } else {
            koi_text_put(t, (const char *)u, n);
        }
        u += n;
    }
    koi_text_put(t, "\"", 1);
}

/* A number to 12 significant digits, always with a decimal point or an exponent (2.0, as
 * json-c writes a double); null if it is not finite. */
void koi_json_num(koi_text *t, double v) {
    if (!isfinite(v)) {
        koi_text_puts(t, "null");
        return;
    }
    char b[40];
    snprintf(b, sizeof b - 2, "%.12g", v);
    for (char *p = b; *p; p++)
        if (*p == ',') *p = '.'; /* a caller's locale with a decimal comma */
    if (!strpbrk(b, ".e")) strcat(b, ".0");
    koi_text_puts(t, b);
}

void koi_json_int(koi_text *t, long long v) {
    char b[24];
    snprintf(b, sizeof b, "%lld", v);
    koi_text_puts(t, b);
}

/* ,"key": (the first key of an object passes first = 1: no comma) */
void koi_json_key(koi_text *t, const char *key, int first) {
    if (!first) koi_text_put(t, ",", 1);
    koi_json_str(t, key);
    koi_text_put(t, ":", 1);
}

static void put_finding(koi_text *t, const ko_finding *f) {
    const ko_site_hit *h = f->site;
    koi_text_put(t, "{", 1);
    koi_json_key(t, "site_id", 1);
    koi_json_int(t, (long long)h->site_id);
    koi_json_key(t, "name", 0);
    koi_json_str(t, h->name);
    koi_json_key(t, "category", 0);
    koi_json_str(t, h->category);
    koi_json_key(t, "source_id", 0);
    koi_json_str(t, h->source_id);
    koi_json_key(t, "distance_m", 0);
    koi_json_num(t, round(h->distance_m * 10) / 10);
    koi_json_key(t, "fraction_in_view", 0);
    koi_json_num(t, round(h->overlap * 1e4) / 1e4);
    koi_json_key(t, "gsd_m", 0);
    koi_json_num(t, f->gsd_m);
    koi_json_key(t, "min_gsd_m", 0);
    koi_json_num(t, h->min_gsd_m);
    koi_json_key(t, "disclosed", 0);
    koi_text_puts(t, f->disclosed ? "true" : "false");
    koi_json_key(t, "rule", 0);
    koi_json_str(t, f->rule);
    koi_text_put(t, "}", 1);
}

/* The findings whose disclosed flag is `disclosed` (-1: all) as a JSON array. */
static void put_findings(koi_text *t, const ko_result *r, int disclosed) {
    koi_text_put(t, "[", 1);
    size_t k = 0;
    for (size_t i = 0; i < ko_result_count(r); i++) {
        const ko_finding *f = ko_result_finding(r, i);
        if (disclosed >= 0 && !f->disclosed != !disclosed) continue;
        if (k++) koi_text_put(t, ",", 1);
        put_finding(t, f);
    }
    koi_text_put(t, "]", 1);
}

/* The code point of the well-formed UTF-8 sequence at u (koi_utf8_len() bytes, n > 0). */
static long utf8_code(const unsigned char *u, size_t n) {
    long c = n == 1 ? u[0] : u[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++)
        c = (c << 6) | (u[i] & 0x3f);
    return c;
}

/* Characters that can move the cursor, retitle or clear a terminal, or reorder what is shown,
 * beyond C0 and DEL: C1, the bidirectional controls and the line and paragraph separators. */
static int is_control(long c) {
    return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
           (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

ko_status ko_text_clean(ko_context *ctx, const char *s, char **out) {
    static const char hex[] = "0123456789abcdef";
    if (!out) return koi_error(ctx, KO_ERR_ARG, "text to clean: NULL argument");
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    koi_text t = {.max = TEXT_MAX};
    while (*u) {
        size_t n = koi_utf8_len(u);
        long c = n ? utf8_code(u, n) : -1;
        if (c < 0x20 || c == 0x7f) { /* a byte: \xHH */
            char e[4] = {'\\', 'x', hex[*u >> 4], hex[*u & 15]};
            koi_text_put(&t, e, sizeof e);
            n = 1;
        } else if (is_control(c)) {
            char e[6] = {
                '\\',       'u', hex[(c >> 12) & 15], hex[(c >> 8) & 15], hex[(c >> 4) & 15],
                hex[c & 15]};
            koi_text_put(&t, e, sizeof e);
        } else {
            koi_text_put(&t, (const char *)u, n);
        }
        u += n;
    }
    return koi_text_done(ctx, &t, "text to clean", out);
}

void ko_result_summary_init(ko_result_summary *s) {
    if (!s) return;
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    s->verdict = KO_UNKNOWN;
    s->min_gsd_m = NAN;
}

void ko_result_summary_clear(ko_result_summary *s) {
    if (!s) return;
    free(s->site_ids), free(s->site_names), free(s->categories);
    ko_result_summary_init(s);
}

ko_status ko_result_summarize(ko_context *ctx, const ko_result *r, ko_result_summary *out) {
    if (!r || !out) return koi_error(ctx, KO_ERR_ARG, "result summary: NULL argument");
    ko_status st = KOI_CHECK_OPTIONS(ctx, ko_result_summary, out);
    if (st) return st;
    koi_text j[3] = {{.max = TEXT_MAX}, {.max = TEXT_MAX}, {.max = TEXT_MAX}};
    size_t n = 0;
    double min_gsd = NAN;
    for (size_t i = 0; i < ko_result_count(r); i++) {
        const ko_finding *f = ko_result_finding(r, i);
        if (!f->disclosed) continue;
        if (n++)
            for (int k = 0; k < 3; k++)
                koi_text_put(&j[k], ";", 1);
        koi_json_int(&j[0], (long long)f->site->site_id);
        koi_text_puts(&j[1], f->site->name ? f->site->name : "");
        koi_text_puts(&j[2], f->site->category ? f->site->category : "");
        if (f->gsd_m < min_gsd || isnan(min_gsd)) min_gsd = f->gsd_m;
    }
    char *s[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++) {
        if (st)
            free(j[k].s);
        else
            st = koi_text_done(ctx, &j[k], "result summary", &s[k]);
    }
    if (st) {
        free(s[0]), free(s[1]), free(s[2]);
        return st;
    }
    free(out->site_ids), free(out->site_names), free(out->categories);
    out->verdict = ko_result_verdict(r);
    out->checked = ko_result_checked(r);
    out->reason = ko_result_reason(r);
    out->hit_count = n;
    out->min_gsd_m = min_gsd;
    out->site_ids = s[0], out->site_names = s[1], out->categories = s[2];
    return KO_OK;
}

ko_status ko_result_findings_json(ko_context *ctx, const ko_result *r, char **json) {
    if (!r || !json) return koi_error(ctx, KO_ERR_ARG, "result findings: NULL argument");
    koi_text t = {.max = TEXT_MAX};
    put_findings(&t, r, -1);
    return koi_text_done(ctx, &t, "result findings", json);
}

ko_status ko_result_json(ko_context *ctx, const ko_shot *shot, const ko_result *r, char **json) {
    if (!shot || !r || !json) return koi_error(ctx, KO_ERR_ARG, "result record: NULL argument");
    ko_result_summary sum;
    ko_result_summary_init(&sum);
    ko_status st = ko_result_summarize(ctx, r, &sum);
    if (st) return st;
    koi_text t = {.max = TEXT_MAX};
    koi_text_put(&t, "{", 1);
    koi_json_key(&t, "id", 1);
    koi_json_str(&t, shot->id);
    koi_json_key(&t, "source", 0);
    koi_json_str(&t, shot->source);
    koi_json_key(&t, "time", 0);
    if (shot->time)
        koi_json_str(&t, shot->time);
    else
        koi_text_puts(&t, "null");
    koi_json_key(&t, "verdict", 0);
    koi_json_str(&t, ko_verdict_str(sum.verdict));
    koi_json_key(&t, "reason", 0);
    koi_json_str(&t, sum.reason);
    koi_json_key(&t, "hit_count", 0);
    koi_json_int(&t, (long long)sum.hit_count);
    koi_json_key(&t, "site_ids", 0);
    koi_json_str(&t, sum.site_ids);
    koi_json_key(&t, "site_names", 0);
    koi_json_str(&t, sum.site_names);
    koi_json_key(&t, "categories", 0);
    koi_json_str(&t, sum.categories);
    koi_json_key(&t, "min_gsd_m", 0);
    koi_json_num(&t, sum.min_gsd_m);
    koi_json_key(&t, "hits", 0);
    put_findings(&t, r, 1);
    koi_json_key(&t, "in_view_unresolved", 0);
    put_findings(&t, r, 0);
    ko_result_summary_clear(&sum);
    /* the keys so far, then the camera's where its position is known */
    static const char *const keys[] = {"id",         "source",    "time",     "verdict",
                                       "reason",     "hit_count", "site_ids", "site_names",
                                       "categories", "min_gsd_m", "hits",     "in_view_unresolved",
                                       "camera_lat", "camera_lon"};
    size_t n_keys = sizeof keys / sizeof *keys - 2;
    if (isfinite(shot->pose.lat)) {
        koi_json_key(&t, "camera_lat", 0);
        koi_json_num(&t, shot->pose.lat);
        koi_json_key(&t, "camera_lon", 0);
        koi_json_num(&t, shot->pose.lon);
        n_keys += 2;
    }
    /* pass-through columns: the first of each key that is not there yet */
    for (size_t i = 0; i < shot->n_extra; i++) {
        const char *key = shot->extra_keys[i] ? shot->extra_keys[i] : "";
        int seen = 0;
        for (size_t k = 0; !seen && k < n_keys; k++)
            seen = !strcmp(key, keys[k]);
        for (size_t k = 0; !seen && k < i; k++)
            seen = shot->extra_keys[k] && !strcmp(key, shot->extra_keys[k]);
        if (seen) continue;
        koi_json_key(&t, key, 0);
        koi_json_str(&t, shot->extra_values[i]);
    }
    koi_text_put(&t, "}", 1);
    return koi_text_done(ctx, &t, "result record", json);
}
