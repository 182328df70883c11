/* libFuzzer target: the OSM preset table parser (osm_preset.c) on arbitrary bytes, and, for
 * every table it accepts, the matcher and the OGR attribute filter built from it. Invariants:
 * a rejected table says why with a "name:line" or "name:" message; the filter of an accepted
 * table is OGR SQL that OGR accepts on a layer with some of the keys as fields (a table must
 * never inject SQL); a match is one of the table's rows, of the kind asked for. The corpus
 * (corpus/osm_preset/) holds the built-in table and the documentation's example. */
#include <cpl_error.h>
#include <gdal.h>
#include <ogr_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"
#include "sites/sites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Tags of the object matched: a few fixed ones, and every key the table names gets "yes". */
static const char *tag(void *user, const char *key) {
    (void)user;
    if (!strcmp(key, "power")) return "substation";
    if (!strcmp(key, "width")) return "12 m";
    if (!strcmp(key, "bridge")) return "no";
    return strlen(key) % 3 ? "yes" : NULL;
}

static int has_field(void *user, const char *key) {
    return OGR_FD_GetFieldIndex((OGRFeatureDefnH)user, key) >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ko_context *ctx = NULL;
    static OGRLayerH layer = NULL;
    if (!ctx) {
        if (ko_context_create(&ctx) != KO_OK) return 0;
        GDALAllRegister();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        GDALDriverH drv = GDALGetDriverByName("Memory");
        GDALDatasetH ds = drv ? GDALCreate(drv, "", 0, 0, 0, GDT_Unknown, NULL) : NULL;
        layer = ds ? GDALDatasetCreateLayer(ds, "points", NULL, wkbPoint, NULL) : NULL;
        if (!layer) return 0;
        const char *fields[] = {"power", "bridge", "man_made",  "generator:source",
                                "type",  "site",   "other_tags"};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            OGRFieldDefnH fd = OGR_Fld_Create(fields[i], OFTString);
            OGR_L_CreateField(layer, fd, TRUE);
            OGR_Fld_Destroy(fd);
        }
    }
    koi_osm_table t = {0};
    ko_status st = koi_osm_table_parse(ctx, "fuzz.csv", (const char *)data, size, &t);
    if (st) {
        if (strncmp(ko_errmsg(ctx), "fuzz.csv:", 9) != 0 && st != KO_ERR_NOMEM) __builtin_trap();
        koi_osm_table_free(&t);
        return 0;
    }
    if (!t.n) __builtin_trap(); /* an accepted table has a row */
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(layer);
    for (unsigned kind = KOI_OSM_NODE; kind <= KOI_OSM_RELATION; kind <<= 1) {
        const koi_osm_rule *r = koi_osm_table_match(&t, kind, tag, NULL);
        if (r && (r < t.rules || r >= t.rules + t.n || !(r->kinds & kind))) __builtin_trap();
        if (r) (void)koi_osm_rule_buffer(r, tag, NULL);
        char *filt = NULL;
        if (koi_osm_table_filter(ctx, &t, kind, has_field, d, kind != KOI_OSM_RELATION, &filt))
            continue;
        if (OGR_L_SetAttributeFilter(layer, filt) != OGRERR_NONE) {
            fprintf(stderr, "OGR refused the filter: %s\n", filt);
            __builtin_trap();
        }
        free(filt);
    }
    OGR_L_SetAttributeFilter(layer, NULL);
    koi_osm_table_free(&t);
    return 0;
}
