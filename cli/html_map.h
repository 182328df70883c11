/* A self-contained HTML map (Leaflet inlined, no tiles, no network): footprints coloured by
 * verdict with a popup each (its reason and sites), and the sites they show, named. */
#ifndef KEEPOUT_CLI_HTML_MAP_H
#define KEEPOUT_CLI_HTML_MAP_H

#include <json-c/json.h>

#include "keepout/keepout.h"

typedef struct html_map {
    json_object *features;   /* footprints: GeoJSON Feature objects */
    int64_t *site_ids;       /* the sites they show (any finding), unique */
    json_object *site_props; /* their properties (name, category), in the same order */
    size_t n_sites, cap_sites;
} html_map;

/* Adds the record of a checked shot: its properties (borrowed, referenced), its footprint (may
 * be NULL) and its findings' sites. 0 if out of memory. */
int html_map_add(html_map *m, json_object *props, const ko_result *res);

/* Writes the map to path, with the sites of the store drawn and named. 0 on failure (message
 * printed for cmd). Frees what m holds either way. */
int html_map_write(html_map *m, const char *cmd, const char *path, ko_sites *sites);

/* Adds any feature: its properties (borrowed, referenced; `kind` route, leg or conflict are
 * drawn and described as keepout route's records, anything else as a shot) and its GeoJSON
 * geometry (ownership passes; NULL for none). 0 if out of memory. */
int html_map_add_feature(html_map *m, json_object *props, json_object *geometry);

/* Adds a site to draw and name (once, whatever the number of calls). 0 if out of memory. */
int html_map_add_site(html_map *m, const ko_site_hit *site);

void html_map_free(html_map *m);

#endif
