"""QGIS 3.22 (Debian's python3-qgis, offscreen) with the KEEPOUT plugin (issue 20): a KEEPOUT:
photo loads as a raster layer placed on the map (its extent, in EPSG:4326 through the photo's
ground control points, holds the photo's GPS position), a folder of photos as a vector layer
with its verdicts, and a catalogue written by `keepout tag` as a GeoPackage layer.
Skipped (exit 77) only where python3-qgis is not installed."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from kotest import DATA, main, run  # noqa: E402

IMG = os.path.join(DATA, "images")
GPS = (-91.9941766388889, 46.8428651388889)  # DJI_0021.JPG's EXIF GPS (exiftool -n)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
try:
    from qgis.core import QgsApplication, QgsPointXY, QgsRasterLayer, QgsVectorLayer
except ImportError:
    print("SKIP: python3-qgis is not installed")
    sys.exit(77)

APP = QgsApplication([], False)
APP.initQgis()


def test_photo_is_a_raster_layer_on_the_map(tmp):
    layer = QgsRasterLayer("KEEPOUT:" + os.path.join(IMG, "DJI_0021.JPG"), "photo", "gdal")
    assert layer.isValid(), layer.error().summary()
    assert layer.crs().authid() == "EPSG:4326", layer.crs().authid()
    ext = layer.extent()
    assert ext.contains(QgsPointXY(*GPS)), ext.toString()
    # a photo 40 m up covers tens of metres, not the pixel grid's 160 x 90 units
    assert ext.width() < 0.01 and ext.height() < 0.01, ext.toString()


def test_folder_is_a_vector_layer_with_verdicts(tmp):
    layer = QgsVectorLayer("KEEPOUT:" + IMG, "footprints", "ogr")
    assert layer.isValid(), layer.error().summary()
    assert layer.featureCount() == 3
    verdicts = sorted(f["verdict"] for f in layer.getFeatures())
    assert verdicts == ["clear", "flagged", "flagged"], verdicts
    assert layer.crs().authid() == "EPSG:4326"


def test_catalogue_opens_as_a_geopackage_layer(tmp):
    cat = os.path.join(tmp, "cat.gpkg")
    code, _, err = run("tag", "-q", "--catalog", cat, IMG)
    assert code in (0, 1), err
    layer = QgsVectorLayer(cat + "|layername=footprints", "footprints", "ogr")
    assert layer.isValid(), layer.error().summary()
    assert layer.featureCount() == 3
    assert sorted(f["verdict"] for f in layer.getFeatures()) == ["clear", "flagged", "flagged"]


def test_catalogue_opens_styled_by_verdict(tmp):
    """The catalogue carries its QGIS style (issue 20): footprints load with a renderer
    categorized by verdict (clear, flagged, unknown, and the rest), from the GeoPackage's
    layer_styles table, QGIS's documented place for a layer's default style."""
    import sqlite3
    cat = os.path.join(tmp, "cat.gpkg")
    code, _, err = run("tag", "-q", "--catalog", cat, IMG)
    assert code in (0, 1), err
    with sqlite3.connect(cat) as db:
        rows = db.execute("SELECT f_table_name, f_geometry_column, useAsDefault FROM "
                          "layer_styles").fetchall()
        listed = db.execute("SELECT data_type FROM gpkg_contents WHERE table_name = "
                            "'layer_styles'").fetchall()
    assert rows == [("footprints", "geom", 1)], rows
    assert listed == [("attributes",)], listed
    layer = QgsVectorLayer(cat + "|layername=footprints", "footprints", "ogr")
    assert layer.isValid(), layer.error().summary()
    r = layer.renderer()
    assert r.type() == "categorizedSymbol", r.type()
    assert r.classAttribute() == "verdict", r.classAttribute()
    cats = {c.value(): c.symbol().color().name() for c in r.categories()}
    assert set(cats) == {"clear", "flagged", "unknown", ""}, cats
    assert cats["clear"] != cats["flagged"] != cats["unknown"], cats
    # the same colours as the HTML map's (cli/html_map.c)
    assert cats["clear"] == "#1a9641" and cats["flagged"] == "#d7191c", cats
    # a second run keeps one style row (a style the user saved would be kept as well)
    code, _, err = run("tag", "-q", "--catalog", cat, IMG)
    with sqlite3.connect(cat) as db:
        assert db.execute("SELECT count(*) FROM layer_styles").fetchone()[0] == 1


def test_processing_takes_keepout_through_a_layer_or_a_vrt(tmp):
    """QGIS 3.22's processing (what qgis_process runs) resolves a layer given as text only
    if it is an existing file (QgsProcessingUtils::mapLayerFromString): a KEEPOUT: URI is "not
    found" before GDAL is asked. The documented ways (README) work: an OGR VRT file around the
    URI, or a layer object (Python, or a project given to qgis_process --PROJECT_PATH)."""
    from qgis.core import QgsProcessingContext, QgsProcessingUtils, QgsProject
    sys.path.append("/usr/share/qgis/python/plugins")
    try:
        from processing.core.Processing import Processing
        import processing
    except ImportError:
        print("  (QGIS processing plugin not installed: only the layer lookup checked)")
        processing = None
    src = "KEEPOUT:" + IMG
    ctx = QgsProcessingContext()
    ctx.setProject(QgsProject.instance())
    assert QgsProcessingUtils.mapLayerFromString(src, ctx) is None  # QGIS's rule, documented
    vrt = os.path.join(tmp, "footprints.vrt")
    with open(vrt, "w") as f:
        f.write(f"<OGRVRTDataSource><OGRVRTLayer name=\"footprints\"><SrcDataSource>{src}"
                "</SrcDataSource><SrcLayer>footprints</SrcLayer></OGRVRTLayer>"
                "</OGRVRTDataSource>")
    assert QgsProcessingUtils.mapLayerFromString(vrt, ctx).featureCount() == 3
    if processing is None:
        return
    Processing.initialize()
    for n, given in enumerate((vrt, QgsVectorLayer(src, "footprints", "ogr"))):
        out = os.path.join(tmp, f"buffered{n}.gpkg")
        r = processing.run("native:buffer", {"INPUT": given, "DISTANCE": 0.00001,
                                             "OUTPUT": out})
        layer = QgsVectorLayer(r["OUTPUT"], "b", "ogr")
        assert layer.featureCount() == 3
        assert sorted(f["verdict"] for f in layer.getFeatures()) == ["clear", "flagged",
                                                                     "flagged"]


if __name__ == "__main__":
    try:
        main([v for k, v in list(globals().items()) if k.startswith("test_")])
    finally:
        APP.exitQgis()
