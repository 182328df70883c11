"""keepout check --map (issue 20): one self-contained HTML file (Leaflet inlined, no tiles, no
network) rendered by headless Chromium: a footprint per photo coloured by verdict, the site
they show named, a popup with the reason, the counts in the legend. A site whose name is
markup (a closing script tag and an img with onerror) shows as text and runs nothing."""
import json
import os
import re
import shutil
import subprocess

from kotest import DATA, main, run

IMAGES = os.path.join(DATA, "images")
HOSTILE = '</script><img src=x onerror="document.title=\'pwned\'">Umspannwerk & Co'


def chromium():
    c = shutil.which("chromium") or shutil.which("chromium-browser")
    assert c, "chromium is not installed: run scripts/install-deps.sh"
    return c


def browser(*args):
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--virtual-time-budget=3000", *args], capture_output=True, text=True,
                          timeout=120)


def hostile_store(tmp):
    demo = json.load(open(os.path.join(DATA, "sites", "brighton_beach_demo.geojson")))
    for f in demo["features"]:
        f["properties"]["name"] = HOSTILE
    src = os.path.join(tmp, "hostile.geojson")
    json.dump(demo, open(src, "w"))
    db = os.path.join(tmp, "hostile.sqlite")
    code, _, err = run("sites", "import", "-q", "--db", db, src)
    assert code == 0, err
    return db


def test_map_renders_footprints_sites_and_a_popup(tmp):
    db = hostile_store(tmp)
    html = os.path.join(tmp, "check.html")
    code, out, err = run("check", "-q", "--db", db, "--format", "jsonl", "--map", html, IMAGES)
    assert code == 1, err
    verdicts = sorted(json.loads(l)["properties"]["verdict"] for l in out.splitlines())
    assert verdicts == ["clear", "flagged", "flagged"], verdicts
    text = open(html, encoding="utf-8").read()
    # self-contained: no element loads anything from outside
    assert not re.search(r'<(script|link|img)[^>]+(src|href)\s*=\s*"?https?:', text, re.I)
    r = browser("--dump-dom", "file://" + html + "#open-first-flagged")
    dom = r.stdout
    assert "<title>keepout check</title>" in dom, dom[:300]  # the onerror never ran
    # no element made of the name (the data inside the script elements are JSON strings)
    body = re.sub(r"<script>.*?</script>", "", dom, flags=re.S)
    assert body.count("<script") == 0 and not re.search(r"<img[^>]*onerror", body), body[-3000:]
    paths = re.findall(r'<path[^>]*class="leaflet-interactive"', dom)
    assert len(paths) >= 4, len(paths)  # 3 footprints and the site
    popup = re.search(r'class="leaflet-popup-content"[^>]*>(.*?)</div></div>', dom, re.S)
    assert popup and "flagged" in popup.group(1) and "in view" in popup.group(1), dom[-2000:]
    assert "&lt;/script&gt;&lt;img src=x" in body  # the name, as text
    assert "flagged: 2" in dom and "clear: 1" in dom
    # and it is drawn: green and red footprints on the screenshot
    png = os.path.join(tmp, "map.png")
    browser(f"--screenshot={png}", "--window-size=1000,700", "file://" + html)
    from osgeo import gdal
    import numpy as np
    ds = gdal.Open(png)
    px = np.dstack([ds.GetRasterBand(b + 1).ReadAsArray() for b in range(3)]).astype(int)
    greenish = (px[..., 1] > px[..., 0] + 20) & (px[..., 1] > px[..., 2] + 10)
    reddish = (px[..., 0] > px[..., 1] + 30) & (px[..., 0] > px[..., 2] + 30)
    assert greenish.sum() > 500 and reddish.sum() > 500, (greenish.sum(), reddish.sum())


def square(lon, lat, half_m):
    import math
    dx, dy = half_m / (111320.0 * math.cos(math.radians(lat))), half_m / 111132.0
    return [[lon - dx, lat - dy], [lon + dx, lat - dy], [lon + dx, lat + dy],
            [lon - dx, lat + dy], [lon - dx, lat - dy]]


def test_route_map_shows_legs_exposures_conflicts_and_sites(tmp):
    """keepout route --map FILE.html (was SVG only): the route, its legs and exposures coloured
    by verdict, the conflict as a point whose popup names the site, leg and exposure, the site
    drawn and named. The site is put on the midpoint of the plan's third leg (read here from the
    .plan), so the conflict must be on leg 3."""
    from kotest import polygon_store
    plan = os.path.join(DATA, "routes", "qgc_plan", "qgroundcontrol_sample.plan")
    items = [it for it in json.load(open(plan))["mission"]["items"]
             if it.get("type") == "SimpleItem" and it["command"] in (16, 22)]
    lat = (items[2]["params"][4] + items[3]["params"][4]) / 2
    lon = (items[2]["params"][5] + items[3]["params"][5]) / 2
    db = polygon_store(tmp, [("Leg three substation", square(lon, lat, 15))])
    html = os.path.join(tmp, "route.html")
    code, out, err = run("route", "-q", "--db", db, "--camera", "focal35=24,size=4000x3000",
                         "--gimbal-pitch", "-90", "--height", "20", "--continuous",
                         "--format", "geojson", "--map", html, plan)
    assert code == 1, err
    feats = json.loads(out)["features"]
    n_legs = sum(f["properties"]["kind"] == "leg" for f in feats)
    n_conf = sum(f["properties"]["kind"] == "conflict" for f in feats)
    assert n_conf > 0
    text = open(html, encoding="utf-8").read()
    assert not re.search(r'<(script|link|img)[^>]+(src|href)\s*=\s*"?https?:', text, re.I)
    dom = browser("--dump-dom", "file://" + html + "#open-first-conflict").stdout
    assert "<title>keepout route</title>" in dom, dom[:300]
    popup = re.search(r'class="leaflet-popup-content"[^>]*>(.*?)</div></div>', dom, re.S)
    assert popup and "conflict: Leg three substation" in popup.group(1), dom[-2000:]
    assert "leg 3 (WP" in popup.group(1), popup.group(1)
    assert "Leg three substation" in re.sub(r"<script>.*?</script>", "", dom, flags=re.S)
    # legs, exposures and the site as paths; the route line; conflicts as circle markers
    paths = re.findall(r'<path[^>]*class="leaflet-interactive"', dom)
    assert len(paths) >= n_legs + 2, (len(paths), n_legs)
    assert f"conflicts: {n_conf}" in dom


def test_tag_map_shows_the_catalogue_by_verdict(tmp):
    """keepout tag --map FILE.html: the catalogue's footprints by verdict, a flagged one's
    popup naming the site (from the catalogue's hits), the site drawn and named as text."""
    db = hostile_store(tmp)
    cat = os.path.join(tmp, "cat.gpkg")
    html = os.path.join(tmp, "tag.html")
    code, out, err = run("tag", "-q", "--db", db, "--catalog", cat, "--map", html, IMAGES)
    assert code == 1, err
    dom = browser("--dump-dom", "file://" + html + "#open-first-flagged").stdout
    assert "<title>keepout tag</title>" in dom, dom[:300]
    body = re.sub(r"<script>.*?</script>", "", dom, flags=re.S)
    assert body.count("<script") == 0 and not re.search(r"<img[^>]*onerror", body)
    popup = re.search(r'class="leaflet-popup-content"[^>]*>(.*?)</div></div>', dom, re.S)
    assert popup and "flagged" in popup.group(1) and "sites: &lt;/script&gt;" in popup.group(1), \
        dom[-2000:]
    assert "flagged: 2" in dom and "clear: 1" in dom
    assert len(re.findall(r'<path[^>]*class="leaflet-interactive"', dom)) >= 4


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
