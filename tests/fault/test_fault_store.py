"""Fault injection on the site store (label fault): `keepout sites import` on a full disk
(RLIMIT_FSIZE) and killed with SIGKILL at random points. The store must come out exactly as it
was before the import, or exactly as an uninterrupted import leaves it: compared row by row
(sites with their geometry blobs, the spatial index, meta, categories)."""
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from kotest import DATA, KEEPOUT, main, run  # noqa: E402

BASE = os.path.join(DATA, "sites", "brighton_beach_demo.geojson")
OSM = os.path.join(DATA, "sites", "bremen_power.osm")  # 580 sites, about a megabyte of store


def snapshot(db):
    """Every row a store holds, in a fixed order. Opening with write access rolls back a hot
    journal first, as the next writer (the re-run) does."""
    c = sqlite3.connect(db)
    try:
        rows = {
            "sites": c.execute(
                "SELECT id, source, source_id, name, category, buffer_m, min_gsd_m, attributes,"
                " store_version, hex(geom), hex(geom_buffered) FROM sites ORDER BY id").fetchall(),
            "index": c.execute(
                "SELECT pkid, xmin, xmax, ymin, ymax FROM idx_sites_geom_buffered"
                " ORDER BY pkid").fetchall(),
            # (sites_change: the change token, random by design, drawn for every row written)
            "meta": c.execute("SELECT key, value FROM meta WHERE key <> 'sites_change'"
                              " ORDER BY key").fetchall(),
            "categories": c.execute("SELECT * FROM categories ORDER BY name").fetchall(),
        }
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return rows
    finally:
        c.close()


def base_store(tmp, name="s.sqlite"):
    db = os.path.join(tmp, name)
    code, _, err = run("sites", "import", "-q", "--db", db, BASE)
    assert code == 0, err
    return db


def import_osm(db, **popen):
    return subprocess.Popen([KEEPOUT, "sites", "import", "-q", "--db", db, "--preset", "osm", OSM],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def limit_file_size(limit):
    def pre():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
    return pre


def reference(tmp):
    """The store after an uninterrupted import of the OSM source onto the base store."""
    db = base_store(tmp, "ref.sqlite")
    t0 = time.monotonic()
    p = import_osm(db)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    return snapshot(db), time.monotonic() - t0


def test_full_disk_leaves_store_unchanged(tmp):
    db = base_store(tmp)
    before = snapshot(db)
    size = os.path.getsize(db)
    after_ok, _ = reference(tmp)
    assert len(after_ok["sites"]) > len(before["sites"])
    # Room for nothing more, a few pages, and a good part of the import: each import must fail
    # with a message and leave every row as it was.
    for extra in (0, 4096, 65536, 400000):
        p = import_osm(db, preexec_fn=limit_file_size(size + extra))
        _, err = p.communicate(timeout=300)
        err = err.decode("utf-8", "replace")
        assert p.returncode != 0, f"+{extra} bytes: the import succeeded on a full disk"
        assert p.returncode > 0, f"+{extra} bytes: killed by signal {-p.returncode}: {err}"
        assert err.strip(), f"+{extra} bytes: failed without a word"
        assert snapshot(db) == before, f"+{extra} bytes: the store changed"
    # and with room again, the same import gives the uninterrupted result
    p = import_osm(db)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert snapshot(db) == after_ok


def test_kill_during_import_then_rerun(tmp):
    after_ok, took = reference(tmp)
    rnd = random.Random(17)
    outcomes = []
    for i in range(6):
        db = base_store(tmp, f"k{i}.sqlite")
        before = snapshot(db)
        delay = rnd.uniform(0.0, took * 1.1)
        p = import_osm(db)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=300)
        now = snapshot(db)  # rolls a hot journal back
        assert now in (before, after_ok), f"kill after {delay:.2f} s: the store is neither the " \
            "old one nor the imported one"
        if now == before:
            p = import_osm(db)
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, f"re-run after a kill at {delay:.2f} s: {err}"
            assert snapshot(db) == after_ok, f"re-run after a kill at {delay:.2f} s differs"
        outcomes.append("rolled back" if now == before else "committed")
    print(f"  kills: {', '.join(outcomes)} (import takes {took:.2f} s)")


if __name__ == "__main__":
    main([test_full_disk_leaves_store_unchanged, test_kill_during_import_then_rerun])
