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


if __name__ == "__main__":
    try:
        main([v for k, v in list(globals().items()) if k.startswith("test_")])
    finally:
        APP.exitQgis()
