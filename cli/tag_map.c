/* keepout tag --map: the catalogue's footprints on the HTML map (cli/html_map.c), coloured by
 * verdict, each with its reason and the names of the sites it shows (from the catalogue's hits),
 * and those sites drawn from the store. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "html_map.h"
#include "output.h"

/* One footprint row of the query below as a map feature. 0 if out of memory. */
static int add_row(html_map *m, OGRFeatureH f) {
    json_object *p = json_object_new_object();
    if (!p) return 0;
    static const char *const keys[][2] = {{"shot_id", "id"},
                                          {"path", "source"},
                                          {"verdict", "verdict"},
                                          {"reason", "reason"},
                                          {"site_names", "site_names"}};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        int i = OGR_F_GetFieldIndex(f, keys[k][0]);
        const char *v =
            i >= 0 && OGR_F_IsFieldSetAndNotNull(f, i) ? OGR_F_GetFieldAsString(f, i) : "";
        json_object_object_add(p, keys[k][1], json_object_new_string(v));
    }
    json_object_object_add(p, "kind", json_object_new_string("shot"));
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    char *text = g ? OGR_G_ExportToJson(g) : NULL;
    json_object *geom = text ? json_tokener_parse(text) : NULL;
    CPLFree(text);
    int ok = html_map_add_feature(m, p, geom);
    json_object_put(p);
    return ok;
}

int tag_map_write(const char *catalog, const char *path, ko_sites *sites) {
    int pg = STARTS_WITH_CI(catalog, "PG:");
    const char *drivers[] = {pg ? "PostgreSQL" : "GPKG", NULL};
    GDALDatasetH ds = GDALOpenEx(catalog, GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, NULL, NULL);
    if (!ds) {
        out_say("tag", "cannot read the catalogue %s for the map: %s", catalog,
                CPLGetLastErrorMsg());
        return 0;
    }
    /* the names of the sites each footprint shows, in one query on either backend */
    const char *agg = pg ? "string_agg(h.name, '; ')" : "group_concat(h.name, '; ')";
    char *q = CPLStrdup(CPLSPrintf(
        "SELECT f.shot_id, f.path, f.verdict, f.reason, f.geom, (SELECT %s FROM hits h WHERE "
        "h.path = f.path AND h.shot_id = f.shot_id) AS site_names FROM footprints f",
        agg));
    html_map m = {0};
    int ok = 1;
    OGRLayerH l = GDALDatasetExecuteSQL(ds, q, NULL, NULL);
    CPLFree(q);
    if (!l) ok = 0;
    for (OGRFeatureH f; ok && l && (f = OGR_L_GetNextFeature(l)) != NULL; OGR_F_Destroy(f))
        ok = add_row(&m, f);
    if (l) GDALDatasetReleaseResultSet(ds, l);
    l = ok ? GDALDatasetExecuteSQL(ds, "SELECT DISTINCT site_id, name, category FROM hits", NULL,
                                   NULL)
           : NULL;
    if (ok && !l) ok = 0;
    for (OGRFeatureH f; ok && l && (f = OGR_L_GetNextFeature(l)) != NULL; OGR_F_Destroy(f)) {
        ko_site_hit h;
        memset(&h, 0, sizeof h);
        h.site_id = OGR_F_GetFieldAsInteger64(f, 0);
        h.name = OGR_F_GetFieldAsString(f, 1);
        h.category = OGR_F_GetFieldAsString(f, 2);
        ok = html_map_add_site(&m, &h);
    }
    if (l) GDALDatasetReleaseResultSet(ds, l);
    if (!ok)
        out_say("tag", "cannot read the catalogue %s for the map: %s", catalog,
                CPLGetLastErrorMsg());
    GDALClose(ds);
    if (!ok) {
        html_map_free(&m);
        return 0;
    }
    return html_map_write(&m, "tag", path, sites);
}
