"""Shared set-up of the route tests that work out what a camera sees from the geometry
(test_route_sweep.py, test_route_plan_model.py): a local frame at (LAT, LON), a store with one
small square site, a pinhole camera, the route's verdict and Litchi's CSV header."""
import json
import math

from kotest import polygon_store

LAT, LON = 47.0, 8.0
KY = 111132.954 - 559.822 * math.cos(2 * math.radians(LAT))  # metres per degree of latitude
KX = 111412.84 * math.cos(math.radians(LAT))  # metres per degree of longitude

# Litchi's mission CSV: one action column pair, no POI.
LITCHI_HEAD = ("latitude,longitude,altitude(m),heading(deg),curvesize(m),rotationdir,gimbalmode,"
               "gimbalpitchangle,actiontype1,actionparam1,altitudemode,speed(m/s),"
               "photo_timeinterval,photo_distinterval\n")


def square_store_at(tmp, lat, lon, side_m):
    """A store with one square site side_m wide centred at (lat, lon)."""
    hx, hy = side_m / 2 / KX, side_m / 2 / KY
    ring = [[lon - hx, lat - hy], [lon + hx, lat - hy], [lon + hx, lat + hy],
            [lon - hx, lat + hy], [lon - hx, lat - hy]]
    return polygon_store(tmp, [("small site", ring)])


def square_store(tmp, e, n, side_m):
    """A store with one square site side_m wide centred e/n metres from (LAT, LON)."""
    return square_store_at(tmp, LAT + n / KY, LON + e / KX, side_m)


def pinhole(e, n, up, yaw, pitch, f_px, w, h):
    """The pixel (u, v) of the point e/n/up metres from a w x h pinhole camera (focal length
    f_px pixels, heading yaw, pitch up from the horizon, no roll), or None outside its frame."""
    y, p = math.radians(yaw), math.radians(pitch)
    fwd = (math.cos(p) * math.sin(y), math.cos(p) * math.cos(y), math.sin(p))
    right = (math.cos(y), -math.sin(y), 0.0)
    down = (fwd[1] * right[2] - fwd[2] * right[1], fwd[2] * right[0] - fwd[0] * right[2],
            fwd[0] * right[1] - fwd[1] * right[0])
    v = (e, n, up)
    z = sum(a * b for a, b in zip(v, fwd))
    if z <= 0:
        return None
    u = w / 2 + f_px * sum(a * b for a, b in zip(v, right)) / z
    vv = h / 2 + f_px * sum(a * b for a, b in zip(v, down)) / z
    return (u, vv) if 0 <= u <= w and 0 <= vv <= h else None


def verdict(out):
    """The route's verdict in `keepout route --format geojson` output."""
    return [f["properties"] for f in json.loads(out)["features"]
            if f["properties"]["kind"] == "route"][0]["verdict"]
