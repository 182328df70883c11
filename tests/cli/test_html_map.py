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


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
