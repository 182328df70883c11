/* Private: the OSM preset table of `sites import --preset osm` (docs/OSM_PRESET.md): rows of
 * tag conditions -> category, object kinds, buffer rule, parsed from keepout's built-in
 * data/osm_preset.csv and from a caller's file in the same format. */
#ifndef KEEPOUT_OSM_PRESET_H
#define KEEPOUT_OSM_PRESET_H

#include <stddef.h>

#include "context.h"

/* Object kinds a row applies to. */
#define KOI_OSM_NODE 1u
#define KOI_OSM_WAY 2u
#define KOI_OSM_RELATION 4u

typedef enum { KOI_OSM_BUFFER_DEFAULT, KOI_OSM_BUFFER_METRES, KOI_OSM_BUFFER_WIDTH } koi_osm_buffer;

/* One condition: the key is present and (values NULL) has any value, or its value is one of
 * values (negate 0) or none of them (negate 1). Strings point into the row's text. */
typedef struct koi_osm_cond {
    const char *key;
    const char **values;
    size_t nvalues;
    int negate;
} koi_osm_cond;

typedef struct koi_osm_rule {
    char *text;          /* the row's text, cut into the strings below; owned */
    koi_osm_cond *conds; /* all must hold; owned */
    size_t nconds;
    const char *category; /* NULL: not a site */
    unsigned kinds;       /* KOI_OSM_* */
    koi_osm_buffer buffer;
    double buffer_m;  /* KOI_OSM_BUFFER_METRES */
    const char *file; /* where the row is (borrowed from the parse call) */
    int line;
} koi_osm_rule;

typedef struct koi_osm_table {
    koi_osm_rule *rules; /* tried in order; owned */
    size_t n, cap;
} koi_osm_table;

/* Appends the rows of a table text (len bytes; name is the file name messages give and the
 * rules keep, borrowed: it must outlive the table). A malformed table is KO_ERR_FORMAT
 * "name:line: what ('value')"; t then holds the rows before it. */
ko_status koi_osm_table_parse(ko_context *ctx, const char *name, const char *text, size_t len,
                              koi_osm_table *t);

/* Reads a table file whole (at most 1 MiB) and appends its rows. */
ko_status koi_osm_table_load(ko_context *ctx, const char *path, koi_osm_table *t);

/* Appends keepout's built-in table (data/osm_preset.csv, compiled in). */
ko_status koi_osm_table_builtin(ko_context *ctx, koi_osm_table *t);

/* Frees the rows and zeroes t. */
void koi_osm_table_free(koi_osm_table *t);

/* The value of a tag of the object being classified, or NULL if it has none; valid until the
 * next call. */
typedef const char *(*koi_osm_tag_fn)(void *user, const char *key);

/* The first row whose kinds include kind and whose conditions all hold, or NULL. */
const koi_osm_rule *koi_osm_table_match(const koi_osm_table *t, unsigned kind, koi_osm_tag_fn tag,
                                        void *user);

/* The buffer a matched row gives the object: metres, or NaN for the category's default. */
double koi_osm_rule_buffer(const koi_osm_rule *r, koi_osm_tag_fn tag, void *user);

/* An OGR SQL attribute filter selecting a superset of what the table's site rows match on a
 * layer holding objects of kinds: a condition on a key the layer has as a field (has_field)
 * compares it, one on another key looks into the other_tags field when the layer has one
 * (has_other_tags), else the row cannot match there. "0 = 1" if no row can. *out owned by the
 * caller (free()). */
ko_status koi_osm_table_filter(ko_context *ctx, const koi_osm_table *t, unsigned kinds,
                               int (*has_field)(void *user, const char *key), void *user,
                               int has_other_tags, char **out);

#endif
