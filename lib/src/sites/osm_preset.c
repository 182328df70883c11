/* The OSM preset table (osm_preset.h, docs/OSM_PRESET.md): a CSV-like text, one row a line,
 * '#' comments, a header line "tags,category,kinds,buffer". */
#include "sites/sites.h"

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 4096
#define FILE_MAX_BYTES ((vsi_l_offset)1 << 20)
#define CATEGORY_MAX 63
#define BUFFER_MAX_M 100000.0

extern const unsigned char koi_osm_preset_csv[];
extern const size_t koi_osm_preset_csv_len;

static const char HEADER[] = "tags,category,kinds,buffer";

static void rule_free(koi_osm_rule *r) {
    for (size_t k = 0; r->conds && k < r->nconds; k++)
        free((void *)r->conds[k].values);
    free(r->conds);
    free(r->text);
}

void koi_osm_table_free(koi_osm_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++)
        rule_free(&t->rules[i]);
    free(t->rules);
    memset(t, 0, sizeof *t);
}

/* s without leading and trailing blanks (cut in place). */
static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Splits s at every sep (in place) into at most max parts; the number of parts, or max + 1 if
 * there are more. */
static size_t split(char *s, char sep, char **parts, size_t max) {
    size_t n = 0;
    for (;;) {
        if (n == max) return max + 1;
        parts[n++] = s;
        char *p = strchr(s, sep);
        if (!p) return n;
        *p = '\0';
        s = p + 1;
    }
}

/* A key or value a row may hold: not empty, no control character, no '"' or '\' (they
 * would need escaping in GDAL's other_tags). */
static int word_ok(const char *s) {
    if (!*s) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') return 0;
    return 1;
}

#define FAIL(...)                                        \
    do {                                                 \
        st = koi_error(ctx, KO_ERR_FORMAT, __VA_ARGS__); \
        goto fail;                                       \
    } while (0)

/* Parses one row into r, which owns text from here, also on failure (free it with
 * rule_free()). */
static ko_status parse_row(ko_context *ctx, const char *name, int line, char *text,
                           koi_osm_rule *r) {
    ko_status st = KO_OK;
    memset(r, 0, sizeof *r);
    r->text = text;
    r->file = name;
    r->line = line;
    char *f[4];
    size_t nf = split(text, ',', f, 4);
    if (nf != 4)
        FAIL("%s:%d: %s fields, expected 4 (%s)", name, line,
             nf > 4 ? "more than 4" : "fewer than 4", HEADER);
    char *tags = trim(f[0]), *cat = trim(f[1]), *kinds = trim(f[2]), *buf = trim(f[3]);
    /* tags */
    size_t nc = 1;
    for (const char *p = tags; *p; p++)
        nc += *p == '&';
    char **cs = koi_calloc(nc, sizeof *cs);
    r->conds = koi_calloc(nc, sizeof *r->conds);
    if (!cs || !r->conds) {
        free(cs);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    split(tags, '&', cs, nc);
    for (size_t i = 0; i < nc; i++) {
        koi_osm_cond *c = &r->conds[r->nconds];
        char *cond = trim(cs[i]);
        char *eq = strchr(cond, '=');
        if (!eq) {
            free(cs);
            FAIL("%s:%d: tags '%.80s': expected key=value, key=v1|v2, key=* or key!=value", name,
                 line, cond);
        }
        *eq = '\0';
        if (eq > cond && eq[-1] == '!') {
            c->negate = 1;
            eq[-1] = '\0';
        }
        char *key = trim(cond), *val = trim(eq + 1);
        if (!word_ok(key)) {
            free(cs);
            FAIL("%s:%d: tag key '%.80s': empty, or holds a control character, '\"' or '\\'", name,
                 line, key);
        }
        c->key = key;
        r->nconds++;
        if (!strcmp(val, "*")) {
            if (c->negate) {
                free(cs);
                FAIL("%s:%d: tag '%.80s!=*': no value can differ from every value", name, line,
                     key);
            }
            continue;
        }
        size_t nv = 1;
        for (const char *p = val; *p; p++)
            nv += *p == '|';
        c->values = koi_calloc(nv, sizeof *c->values);
        if (!c->values) {
            free(cs);
            return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        }
        char **vs = (char **)c->values;
        split(val, '|', vs, nv);
        c->nvalues = nv;
        for (size_t k = 0; k < nv; k++) {
            vs[k] = trim(vs[k]);
            if (!word_ok(vs[k]) || !strcmp(vs[k], "*")) {
                free(cs);
                FAIL(
                    "%s:%d: value '%.80s' of tag '%.80s': empty, '*' among others, or holds a "
                    "control character, '\"' or '\\'",
                    name, line, vs[k], key);
            }
        }
    }
    free(cs);
    /* category */
    if (!strcmp(cat, "-")) {
        r->category = NULL;
    } else {
        size_t n = strlen(cat);
        int ok = n > 0 && n <= CATEGORY_MAX;
        for (const char *p = cat; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '_' || *p == '-';
        if (!ok)
            FAIL(
                "%s:%d: category '%.80s': not a category name (letters, digits, '_', '-'; at "
                "most %d) or '-'",
                name, line, cat, CATEGORY_MAX);
        r->category = cat;
    }
    /* kinds */
    r->kinds = *kinds ? 0 : KOI_OSM_NODE | KOI_OSM_WAY | KOI_OSM_RELATION;
    for (const char *p = kinds; *p; p++) {
        if (*p == 'n')
            r->kinds |= KOI_OSM_NODE;
        else if (*p == 'w')
            r->kinds |= KOI_OSM_WAY;
        else if (*p == 'r')
            r->kinds |= KOI_OSM_RELATION;
        else
            FAIL("%s:%d: kinds '%.80s': letters n (node), w (way), r (relation) only", name, line,
                 kinds);
    }
    /* buffer */
    if (!*buf) {
        r->buffer = KOI_OSM_BUFFER_DEFAULT;
    } else if (!strcmp(buf, "width")) {
        r->buffer = KOI_OSM_BUFFER_WIDTH;
    } else {
        char *end;
        double v = CPLStrtod(buf, &end);
        if (end == buf || *end || !isfinite(v) || v < 0 || v > BUFFER_MAX_M)
            FAIL("%s:%d: buffer '%.80s': not metres from 0 to %.0f, 'width' or empty", name, line,
                 buf, BUFFER_MAX_M);
        r->buffer = KOI_OSM_BUFFER_METRES;
        r->buffer_m = v;
    }
    if (!r->category && r->buffer != KOI_OSM_BUFFER_DEFAULT)
        FAIL("%s:%d: buffer '%.80s' on a row that selects no site (category '-')", name, line, buf);
    return KO_OK;
fail:
    return st;
}

ko_status koi_osm_table_parse(ko_context *ctx, const char *name, const char *text, size_t len,
                              koi_osm_table *t) {
    ko_status st = KO_OK;
    int line = 0, header = 0;
    size_t rows = 0;
    char *buf = NULL;
    for (size_t pos = 0; pos < len;) {
        line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *s = text + pos;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && s[n - 1] == '\r') n--;
        if (memchr(s, '\0', n)) FAIL("%s:%d: a NUL byte: not a text file", name, line);
        if (n > LINE_MAX_BYTES)
            FAIL("%s:%d: line longer than %d bytes", name, line, LINE_MAX_BYTES);
        buf = koi_malloc(n + 1);
        if (!buf) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        memcpy(buf, s, n);
        buf[n] = '\0';
        char *l = trim(buf);
        if (!*l || *l == '#') {
            free(buf);
            buf = NULL;
            continue;
        }
        if (!header) {
            char *f[4];
            size_t nf = split(l, ',', f, 4);
            int ok = nf == 4;
            for (size_t i = 0; ok && i < 4; i++)
                ok = !strcmp(trim(f[i]), i == 0   ? "tags"
                                         : i == 1 ? "category"
                                         : i == 2 ? "kinds"
                                                  : "buffer");
            if (!ok) {
                /* f[] cut the line: show it again from the source */
                FAIL("%s:%d: header '%.*s': expected '%s'", name, line, (int)(n < 80 ? n : 80), s,
                     HEADER);
            }
            header = 1;
            free(buf);
            buf = NULL;
            continue;
        }
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 16;
            koi_osm_rule *nr = koi_realloc_array(t->rules, cap, sizeof *nr);
            if (!nr) {
                free(buf);
                return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
            }
            t->rules = nr;
            t->cap = cap;
        }
        memmove(buf, l, strlen(l) + 1); /* the row owns buf from here */
        koi_osm_rule r;
        st = parse_row(ctx, name, line, buf, &r);
        buf = NULL;
        if (st) {
            rule_free(&r);
            return st;
        }
        t->rules[t->n++] = r;
        rows++;
    }
    if (!header) FAIL("%s: no header line '%s': not an OSM preset table", name, HEADER);
    if (!rows) FAIL("%s: a header and no row: the table selects nothing", name);
    return KO_OK;
fail:
    free(buf);
    return st;
}

ko_status koi_osm_table_load(ko_context *ctx, const char *path, koi_osm_table *t) {
    VSIStatBufL sb;
    if (VSIStatL(path, &sb) != 0) return koi_error(ctx, KO_ERR_IO, "%s: no such file", path);
    if (VSI_ISDIR(sb.st_mode)) return koi_error(ctx, KO_ERR_IO, "%s: a directory", path);
    if ((vsi_l_offset)sb.st_size > FILE_MAX_BYTES)
        return koi_error(ctx, KO_ERR_FORMAT, "%s: %lld bytes: an OSM preset table is at most %d",
                         path, (long long)sb.st_size, (int)FILE_MAX_BYTES);
    VSILFILE *fp = VSIFOpenL(path, "rb");
    if (!fp) return koi_error(ctx, KO_ERR_IO, "%s: cannot open", path);
    size_t cap = (size_t)sb.st_size + 1;
    char *text = koi_malloc(cap);
    if (!text) {
        VSIFCloseL(fp);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    size_t n = VSIFReadL(text, 1, cap, fp);
    VSIFCloseL(fp);
    ko_status st = n == cap ? koi_error(ctx, KO_ERR_IO, "%s: the file grew while read", path)
                            : koi_osm_table_parse(ctx, path, text, n, t);
    free(text);
    return st;
}

ko_status koi_osm_table_builtin(ko_context *ctx, koi_osm_table *t) {
    return koi_osm_table_parse(ctx, "keepout's built-in OSM preset (data/osm_preset.csv)",
                               (const char *)koi_osm_preset_csv, koi_osm_preset_csv_len, t);
}

static int cond_holds(const koi_osm_cond *c, koi_osm_tag_fn tag, void *user) {
    const char *v = tag(user, c->key);
    if (!v) return 0;
    if (!c->values) return 1;
    int in = 0;
    for (size_t i = 0; i < c->nvalues && !in; i++)
        in = !strcmp(v, c->values[i]);
    return c->negate ? !in : in;
}

const koi_osm_rule *koi_osm_table_match(const koi_osm_table *t, unsigned kind, koi_osm_tag_fn tag,
                                        void *user) {
    for (size_t i = 0; i < t->n; i++) {
        const koi_osm_rule *r = &t->rules[i];
        if (!(r->kinds & kind)) continue;
        size_t k = 0;
        while (k < r->nconds && cond_holds(&r->conds[k], tag, user))
            k++;
        if (k == r->nconds) return r;
    }
    return NULL;
}

double koi_osm_rule_buffer(const koi_osm_rule *r, koi_osm_tag_fn tag, void *user) {
    if (r->buffer == KOI_OSM_BUFFER_METRES) return r->buffer_m;
    if (r->buffer != KOI_OSM_BUFFER_WIDTH) return NAN;
    const char *w = tag(user, "width");
    if (!w) return NAN;
    char *end;
    double v = CPLStrtod(w, &end);
    while (*end == ' ')
        end++;
    return v > 0 && v < 500 && (*end == '\0' || !strcmp(end, "m")) ? v : NAN;
}

/* s as the inside of an SQL string literal ('' for '). */
static void put_lit(koi_text *b, const char *s) {
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            koi_text_puts(b, "''");
        else
            koi_text_put(b, p, 1);
    }
}

static void put_cond(koi_text *b, const koi_osm_cond *c, int field) {
    if (field) {
        if (c->values && c->negate) {
            koi_text_puts(b, "(\"");
            koi_text_puts(b, c->key);
            koi_text_puts(b, "\" IS NOT NULL AND \"");
        } else {
            koi_text_puts(b, "\"");
        }
        koi_text_puts(b, c->key);
        if (!c->values) {
            koi_text_puts(b, "\" IS NOT NULL");
            return;
        }
        koi_text_puts(b, c->negate ? "\" NOT IN (" : "\" IN (");
        for (size_t i = 0; i < c->nvalues; i++) {
            koi_text_puts(b, i ? ",'" : "'");
            put_lit(b, c->values[i]);
            koi_text_puts(b, "'");
        }
        koi_text_puts(b, c->negate ? "))" : ")");
        return;
    }
    /* other_tags holds "key"=>"value","key2"=>"value2" (LIKE's % and _ in a key or value only
     * widen the match: the row's conditions are checked again on each feature) */
    if (!c->values || c->negate) {
        koi_text_puts(b, "other_tags LIKE '%\"");
        put_lit(b, c->key);
        koi_text_puts(b, "\"=>%'");
        return;
    }
    koi_text_puts(b, "(");
    for (size_t i = 0; i < c->nvalues; i++) {
        koi_text_puts(b, i ? " OR other_tags LIKE '%\"" : "other_tags LIKE '%\"");
        put_lit(b, c->key);
        koi_text_puts(b, "\"=>\"");
        put_lit(b, c->values[i]);
        koi_text_puts(b, "\"%'");
    }
    koi_text_puts(b, ")");
}

ko_status koi_osm_table_filter(ko_context *ctx, const koi_osm_table *t, unsigned kinds,
                               int (*has_field)(void *user, const char *key), void *user,
                               int has_other_tags, char **out) {
    *out = NULL;
    koi_text b = {0};
    size_t terms = 0;
    for (size_t i = 0; i < t->n; i++) {
        const koi_osm_rule *r = &t->rules[i];
        if (!r->category || !(r->kinds & kinds)) continue;
        size_t k = 0;
        while (k < r->nconds && (has_other_tags || has_field(user, r->conds[k].key)))
            k++;
        if (k < r->nconds) continue; /* a key this layer does not report: cannot match here */
        koi_text_puts(&b, terms++ ? " OR (" : "(");
        for (k = 0; k < r->nconds; k++) {
            if (k) koi_text_puts(&b, " AND ");
            put_cond(&b, &r->conds[k], has_field(user, r->conds[k].key));
        }
        koi_text_puts(&b, ")");
    }
    if (!terms) koi_text_puts(&b, "0 = 1");
    if (b.failed) {
        free(b.s);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    *out = b.s;
    return KO_OK;
}
