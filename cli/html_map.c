#include "html_map.h"

#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

extern const unsigned char ko_leaflet_js[], ko_leaflet_css[];
extern const size_t ko_leaflet_js_len, ko_leaflet_css_len;

static int add_site(html_map *m, const ko_site_hit *h) {
    for (size_t i = 0; i < m->n_sites; i++)
        if (m->site_ids[i] == h->site_id) return 1;
    if (!m->site_props && !(m->site_props = json_object_new_array())) return 0;
    json_object *p = json_object_new_object();
    if (!p) return 0;
    json_object_object_add(p, "site_id", json_object_new_int64(h->site_id));
    json_object_object_add(p, "name", json_object_new_string(h->name ? h->name : ""));
    json_object_object_add(p, "category", json_object_new_string(h->category ? h->category : ""));
    json_object_array_add(m->site_props, p);
    if (m->n_sites == m->cap_sites) {
        size_t cap = m->cap_sites ? 2 * m->cap_sites : 32;
        int64_t *ids = realloc(m->site_ids, cap * sizeof *ids);
        if (!ids) return 0;
        m->site_ids = ids;
        m->cap_sites = cap;
    }
    m->site_ids[m->n_sites++] = h->site_id;
    return 1;
}

int html_map_add_feature(html_map *m, json_object *props, json_object *geometry) {
    if (!m->features && !(m->features = json_object_new_array())) {
        json_object_put(geometry);
        return 0;
    }
    json_object *f = json_object_new_object();
    if (!f) {
        json_object_put(geometry);
        return 0;
    }
    json_object_object_add(f, "type", json_object_new_string("Feature"));
    json_object_object_add(f, "properties", json_object_get(props));
    json_object_object_add(f, "geometry", geometry);
    json_object_array_add(m->features, f);
    return 1;
}

int html_map_add_site(html_map *m, const ko_site_hit *site) {
    return add_site(m, site);
}

int html_map_add(html_map *m, json_object *props, const ko_result *res) {
    const ko_footprint *fp = res ? ko_result_footprint(res) : NULL;
    if (!html_map_add_feature(m, props, out_footprint_geometry(fp))) return 0;
    for (size_t k = 0; res && k < ko_result_count(res); k++)
        if (!add_site(m, ko_result_finding(res, k)->site)) return 0;
    return 1;
}

void html_map_free(html_map *m) {
    json_object_put(m->features);
    json_object_put(m->site_props);
    free(m->site_ids);
    memset(m, 0, sizeof *m);
}

/* The sites as GeoJSON features with their names (geometry through OGR from the store's WKT). */
static json_object *site_features(ko_sites *sites, const html_map *m) {
    json_object *out = json_object_new_array();
    for (size_t i = 0; out && i < m->n_sites; i++) {
        char *wkt = NULL;
        if (ko_sites_site_wkt(sites, m->site_ids[i], 0, &wkt) != KO_OK) continue;
        OGRGeometryH g = NULL;
        char *cursor = wkt;
        OGR_G_CreateFromWkt(&cursor, NULL, &g);
        ko_free(wkt);
        char *gj = g ? OGR_G_ExportToJson(g) : NULL;
        if (g) OGR_G_DestroyGeometry(g);
        json_object *geom = gj ? json_tokener_parse(gj) : NULL;
        free(gj);
        json_object *props = json_object_get(json_object_array_get_idx(m->site_props, i));
        json_object *f = json_object_new_object();
        json_object_object_add(f, "type", json_object_new_string("Feature"));
        json_object_object_add(f, "properties", props);
        json_object_object_add(f, "geometry", geom);
        json_object_array_add(out, f);
    }
    return out;
}

/* The page's script: data are JSON (json-c writes "</" as "<\/", so no text in them ends the
 * script element), and every name or reason reaches the page as text (textContent), never as
 * markup. */
static const char *const script =
    "var colours = {clear: '#1a9641', flagged: '#d7191c', unknown: '#e6a000'};\n"
    "var map = L.map('map', {attributionControl: false, fadeAnimation: false,\n"
    "  zoomAnimation: false});\n"
    "function text(tag, s) { var e = document.createElement(tag); e.textContent = s; return e; }\n"
    "/* a shot, an exposure, a leg (route), a conflict (route), the route line */\n"
    "function popup(p) {\n"
    "  var d = document.createElement('div'); d.className = 'ko-popup';\n"
    "  if (p.kind === 'conflict') {\n"
    "    d.appendChild(text('b', 'conflict: ' + (p.name || ('site ' + p.site_id))));\n"
    "    d.appendChild(text('div', p.category + ', ' + p.distance_m + ' m, GSD ' + p.gsd_m\n"
    "      + ' m'));\n"
    "    d.appendChild(text('div', 'leg ' + p.leg + ' (WP ' + p.from_wp + '->' + p.to_wp\n"
    "      + '), exposure #' + p.exposure + ' ' + p.exposure_id));\n"
    "  } else if (p.kind === 'leg') {\n"
    "    d.appendChild(text('b', 'leg ' + p.leg + ' (WP ' + p.from_wp + '->' + p.to_wp + '): '\n"
    "      + p.verdict));\n"
    "    if (p.remedy) d.appendChild(text('div', p.remedy));\n"
    "  } else if (p.kind === 'route') {\n"
    "    d.appendChild(text('b', 'route: ' + p.verdict));\n"
    "    d.appendChild(text('div', p.waypoints + ' waypoints, ' + p.exposures + ' exposures, '\n"
    "      + p.flagged + ' flagged, ' + p.unknown + ' unknown'));\n"
    "  } else {\n"
    "    d.appendChild(text('b', (p.exposure ? '#' + p.exposure + ' ' : '') + p.id + ': '\n"
    "      + p.verdict));\n"
    "    d.appendChild(text('div', p.reason || ''));\n"
    "    if (p.site_names) d.appendChild(text('div', 'sites: ' + p.site_names));\n"
    "  }\n"
    "  if (p.source) d.appendChild(text('div', p.source));\n"
    "  return d;\n"
    "}\n"
    "var sites = L.geoJSON(KO_SITES, {style: function () { return {color: '#7b3294', weight: 2,\n"
    "  fillOpacity: 0.5}; }, pointToLayer: function (f, ll) { return L.circleMarker(ll,\n"
    "  {radius: 5}); }, onEachFeature: function (f, l) { l.bindTooltip(text('span',\n"
    "  f.properties.name || ('site ' + f.properties.site_id)), {permanent: true,\n"
    "  direction: 'right', className: 'ko-site'}); }}).addTo(map);\n"
    "function style(f) { var p = f.properties, c = colours[p.verdict] || '#555';\n"
    "  if (p.kind === 'route') return {color: '#333', weight: 2, dashArray: '4 4'};\n"
    "  if (p.kind === 'leg') return {color: c, weight: 1, fillOpacity: 0.08};\n"
    "  return {color: c, weight: 1, fillOpacity: 0.2}; }\n"
    "var shots = L.geoJSON(KO_SHOTS, {style: style, pointToLayer: function (f, ll) {\n"
    "  return L.circleMarker(ll, {radius: 6, color: '#000', weight: 1, fillColor:\n"
    "  colours.flagged, fillOpacity: 0.9}); },\n"
    "  onEachFeature: function (f, l) { l.bindPopup(popup(f.properties)); }}).addTo(map);\n"
    "var b = shots.getBounds(); if (sites.getLayers().length) b.extend(sites.getBounds());\n"
    "if (b.isValid()) map.fitBounds(b, {padding: [20, 20]}); else map.setView([0, 0], 2);\n"
    "var legend = L.control({position: 'topright'});\n"
    "legend.onAdd = function () { var d = document.createElement('div'); d.className =\n"
    "  'ko-legend'; ['clear', 'flagged', 'unknown'].forEach(function (v) { var r =\n"
    "  text('div', v + ': ' + KO_COUNTS[v]); r.style.borderLeft = '14px solid ' + colours[v];\n"
    "  d.appendChild(r); }); if (KO_COUNTS.conflicts) d.appendChild(text('div', 'conflicts: '\n"
    "  + KO_COUNTS.conflicts)); d.appendChild(text('div', 'no basemap: nothing leaves this '\n"
    "  + 'machine')); return d; };\n"
    "legend.addTo(map);\n"
    "/* #open-first-flagged: the first flagged footprint's popup open (for a look, or a test);\n"
    "   #open-first-conflict: the first conflict's */\n"
    "if (location.hash === '#open-first-flagged') shots.eachLayer(function (l) {\n"
    "  var p = l.feature.properties; if (!map._popup && p.verdict === 'flagged' &&\n"
    "  p.kind !== 'leg' && p.kind !== 'route') l.openPopup(); });\n"
    "if (location.hash === '#open-first-conflict') shots.eachLayer(function (l) {\n"
    "  if (!map._popup && l.feature.properties.kind === 'conflict') l.openPopup(); });\n";

int html_map_write(html_map *m, const char *cmd, const char *path, ko_sites *sites) {
    json_object *shots = json_object_new_object(), *fc_sites = json_object_new_object(),
                *counts = json_object_new_object();
    size_t n = m->features ? json_object_array_length(m->features) : 0, c[3] = {0, 0, 0},
           conflicts = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *p =
            json_object_object_get(json_object_array_get_idx(m->features, i), "properties");
        const char *v = json_object_get_string(json_object_object_get(p, "verdict"));
        const char *kind = json_object_get_string(json_object_object_get(p, "kind"));
        /* the legend counts shots (photos, frames, exposures), not a route's legs or line */
        if (kind && (!strcmp(kind, "leg") || !strcmp(kind, "route"))) continue;
        if (kind && !strcmp(kind, "conflict")) {
            conflicts++;
            continue;
        }
        c[v && !strcmp(v, "clear") ? 0 : v && !strcmp(v, "flagged") ? 1 : 2]++;
    }
    json_object_object_add(counts, "conflicts", json_object_new_int64((int64_t)conflicts));
    json_object_object_add(counts, "clear", json_object_new_int64((int64_t)c[0]));
    json_object_object_add(counts, "flagged", json_object_new_int64((int64_t)c[1]));
    json_object_object_add(counts, "unknown", json_object_new_int64((int64_t)c[2]));
    json_object_object_add(shots, "type", json_object_new_string("FeatureCollection"));
    json_object_object_add(shots, "features",
                           m->features ? json_object_get(m->features) : json_object_new_array());
    json_object_object_add(fc_sites, "type", json_object_new_string("FeatureCollection"));
    json_object_object_add(fc_sites, "features", site_features(sites, m));
    FILE *fp = fopen(path, "w");
    int ok = fp != NULL;
    if (ok) {
        fprintf(fp,
                "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>keepout %s</title>\n"
                "<style>",
                cmd);
        fwrite(ko_leaflet_css, 1, ko_leaflet_css_len, fp);
        fputs(
            "</style>\n<style>html,body,#map{height:100%;margin:0;background:#f7f7f2}"
            ".ko-legend{background:#fff;padding:6px 8px;font:12px sans-serif}"
            ".ko-legend div{padding-left:4px;margin:2px 0}"
            ".ko-site{font:11px sans-serif;color:#7b3294}</style>\n<script>",
            fp);
        fwrite(ko_leaflet_js, 1, ko_leaflet_js_len, fp);
        fputs("</script>\n</head><body><div id=\"map\"></div>\n<script>\nvar KO_SHOTS = ", fp);
        out_json_write(fp, json_object_to_json_string_ext(shots, JSON_C_TO_STRING_PLAIN));
        fputs(";\nvar KO_SITES = ", fp);
        out_json_write(fp, json_object_to_json_string_ext(fc_sites, JSON_C_TO_STRING_PLAIN));
        fputs(";\nvar KO_COUNTS = ", fp);
        out_json_write(fp, json_object_to_json_string_ext(counts, JSON_C_TO_STRING_PLAIN));
        fprintf(fp, ";\n%s</script>\n</body></html>\n", script);
        ok = !ferror(fp);
        if (fclose(fp) != 0) ok = 0;
    }
    if (!ok) out_say(cmd, "cannot write the map %s", path);
    json_object_put(shots);
    json_object_put(fc_sites);
    json_object_put(counts);
    html_map_free(m);
    return ok;
}
