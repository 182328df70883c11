/* The catalogue's QGIS style: `footprints` coloured by verdict (the colours of keepout's HTML
 * map), stored where QGIS looks for a layer's default style, the table `layer_styles` in QGIS's
 * own schema (GeoPackage: made through OGR as QGIS makes it, f_table_catalog and
 * f_table_schema ''; PostgreSQL: public.layer_styles, with the database and schema of the
 * catalogue). Opening the catalogue in QGIS then shows the footprints styled. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"

#define STYLE_NAME "keepout verdict"

/* QGIS QML: a categorized renderer on verdict (clear green, flagged red, unknown amber, any
 * other value grey), translucent fills with a solid outline. */
#define FILL(n, rgb, line)                                                               \
    "<symbol name=\"" n                                                                  \
    "\" type=\"fill\" alpha=\"1\" clip_to_extent=\"1\" "                                 \
    "force_rhr=\"0\"><layer class=\"SimpleFill\" enabled=\"1\" locked=\"0\" pass=\"0\">" \
    "<prop k=\"color\" v=\"" rgb ",90\"/><prop k=\"outline_color\" v=\"" rgb             \
    ",255\"/>"                                                                           \
    "<prop k=\"outline_style\" v=\"solid\"/><prop k=\"outline_width\" v=\"" line         \
    "\"/>"                                                                               \
    "<prop k=\"outline_width_unit\" v=\"MM\"/><prop k=\"style\" v=\"solid\"/>"           \
    "</layer></symbol>"
static const char qml[] =
    "<qgis version=\"3.22.0\" styleCategories=\"Symbology\">"
    "<renderer-v2 type=\"categorizedSymbol\" attr=\"verdict\" symbollevels=\"0\" "
    "enableorderby=\"0\" forceraster=\"0\"><categories>"
    "<category render=\"true\" value=\"clear\" symbol=\"0\" label=\"clear\"/>"
    "<category render=\"true\" value=\"flagged\" symbol=\"1\" label=\"flagged\"/>"
    "<category render=\"true\" value=\"unknown\" symbol=\"2\" label=\"unknown\"/>"
    "<category render=\"true\" value=\"\" symbol=\"3\" label=\"not checked\"/>"
    "</categories><symbols>" FILL("0", "26,150,65", "0.26") FILL("1", "215,25,28", "0.46")
        FILL("2", "230,160,0", "0.46")
            FILL("3", "120,120,120", "0.26") "</symbols></renderer-v2></qgis>";

static const struct {
    const char *name;
    OGRFieldType type;
    OGRFieldSubType sub;
    int width;
} columns[] = {{"f_table_catalog", OFTString, OFSTNone, 256},
               {"f_table_schema", OFTString, OFSTNone, 256},
               {"f_table_name", OFTString, OFSTNone, 256},
               {"f_geometry_column", OFTString, OFSTNone, 256},
               {"styleName", OFTString, OFSTNone, 30},
               {"styleQML", OFTString, OFSTNone, 0},
               {"styleSLD", OFTString, OFSTNone, 0},
               {"useAsDefault", OFTInteger, OFSTBoolean, 0},
               {"description", OFTString, OFSTNone, 0},
               {"owner", OFTString, OFSTNone, 30},
               {"ui", OFTString, OFSTNone, 30},
               {"update_time", OFTDateTime, OFSTNone, 0}};

/* GeoPackage: the table as QGIS makes it (an attributes table through OGR, FID id). */
static OGRLayerH gpkg_styles(koi_cat *c) {
    OGRLayerH l = GDALDatasetGetLayerByName(c->ds, "layer_styles");
    if (l) return l;
    const char *opts[] = {"FID=id", NULL};
    l = GDALDatasetCreateLayer(c->ds, "layer_styles", NULL, wkbNone, (char **)opts);
    for (size_t i = 0; l && i < sizeof columns / sizeof *columns; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(columns[i].name, columns[i].type);
        OGR_Fld_SetSubType(fd, columns[i].sub);
        OGR_Fld_SetWidth(fd, columns[i].width);
        if (OGR_L_CreateField(l, fd, TRUE) != OGRERR_NONE) l = NULL;
        OGR_Fld_Destroy(fd);
    }
    return l;
}

static void set(OGRFeatureH f, const char *name, const char *v) {
    int i = OGR_F_GetFieldIndex(f, name);
    if (i >= 0) OGR_F_SetFieldString(f, i, v);
}

static int style_gpkg(koi_cat *c) {
    OGRLayerH l = gpkg_styles(c);
    if (!l) {
        snprintf(c->error, sizeof c->error, "cannot make the table layer_styles: %s",
                 CPLGetLastErrorMsg());
        return 0;
    }
    /* a style for footprints already there (ours, or the user's own): kept */
    if (OGR_L_SetAttributeFilter(l, "f_table_name = 'footprints'") != OGRERR_NONE) return 1;
    OGR_L_ResetReading(l);
    OGRFeatureH old = OGR_L_GetNextFeature(l);
    OGR_L_SetAttributeFilter(l, NULL);
    if (old) {
        OGR_F_Destroy(old);
        return 1;
    }
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
    if (!f) {
        snprintf(c->error, sizeof c->error, "layer_styles: out of memory");
        return 0;
    }
    set(f, "f_table_catalog", "");
    set(f, "f_table_schema", "");
    set(f, "f_table_name", "footprints");
    set(f, "f_geometry_column", "geom");
    set(f, "styleName", STYLE_NAME);
    set(f, "styleQML", qml);
    set(f, "styleSLD", "");
    set(f, "description", "keepout: footprints by verdict");
    set(f, "owner", "");
    set(f, "ui", "");
    int i = OGR_F_GetFieldIndex(f, "useAsDefault");
    if (i >= 0) OGR_F_SetFieldInteger(f, i, 1);
    i = OGR_F_GetFieldIndex(f, "update_time");
    if (i >= 0) OGR_F_SetFieldString(f, i, "2000-01-01T00:00:00Z");
    int ok = OGR_L_CreateFeature(l, f) == OGRERR_NONE;
    OGR_F_Destroy(f);
    if (!ok)
        snprintf(c->error, sizeof c->error, "cannot write the style into layer_styles: %s",
                 CPLGetLastErrorMsg());
    return ok;
}

/* PostgreSQL: public.layer_styles as QGIS creates it, the row for this database and schema. */
static int style_pg(koi_cat *c) {
    static const char create[] =
        "CREATE TABLE IF NOT EXISTS public.layer_styles (id SERIAL PRIMARY KEY, "
        "f_table_catalog varchar, f_table_schema varchar, f_table_name varchar, "
        "f_geometry_column varchar, stylename text, styleqml xml, stylesld xml, "
        "useasdefault boolean, description text, owner varchar(63) DEFAULT CURRENT_USER, ui xml, "
        "update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar)";
    /* a role that may neither make the table nor write into it (PostgreSQL 15 lets only the
     * owner create in public) tags without the style, as QGIS itself would save none */
    int64_t can = koi_cat_sql_count(
        c,
        "SELECT count(*) FROM (SELECT 1 WHERE CASE WHEN to_regclass('public.layer_styles') IS "
        "NULL THEN has_schema_privilege('public', 'CREATE') ELSE "
        "has_table_privilege('public.layer_styles', 'INSERT') END) AS p");
    if (can < 0) return 0;
    if (can == 0) return 1;
    if (!koi_cat_sql_ok(c, create)) return 0;
    char *q = CPLStrdup(CPLSPrintf(
        "INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, "
        "f_geometry_column, stylename, styleqml, stylesld, useasdefault, description, type) "
        "SELECT current_database(), current_schema(), 'footprints', 'geom', '%s', XMLPARSE("
        "DOCUMENT '%s'), NULL, true, 'keepout: footprints by verdict', 'vector' WHERE NOT "
        "EXISTS (SELECT 1 FROM public.layer_styles WHERE f_table_catalog = current_database() "
        "AND f_table_schema = current_schema() AND f_table_name = 'footprints')",
        STYLE_NAME, qml));
    int ok = koi_cat_sql_ok(c, q);
    CPLFree(q);
    return ok;
}

int koi_cat_style(koi_cat *c) {
    return c->pg ? style_pg(c) : style_gpkg(c);
}
