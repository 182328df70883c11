"""keepout tag into PostGIS: a real PostgreSQL 15 + PostGIS server that this test starts on
loopback in a temporary directory (Debian postgresql-15-postgis-3), two shards written by two
runs into one catalogue, a re-run, and the result compared with the GeoPackage catalogue of
the same archive. Skipped (exit 77) only where the server is not installed."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

from kotest import main, run
from test_tag_cli import archive, rows

BIN = "/usr/lib/postgresql/15/bin"


def as_postgres(*args, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True,
                          text=True, timeout=120, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pg_rows(conn):
    from osgeo import ogr
    ds = ogr.Open(conn)
    q = lambda sql: sorted(tuple(f.GetField(i) for i in range(f.GetFieldCount()))
                           for f in ds.ExecuteSQL(sql))
    fp = q("SELECT path, shot_id, verdict, hit_count, site_ids FROM footprints")
    hits = q("SELECT path, shot_id, site_id FROM hits")
    files = q("SELECT path, shots, verdict FROM files")
    return fp, hits, files


def test_postgis_catalogue_matches_geopackage(tmp):
    os.chmod(tmp, 0o755)
    data, sock = os.path.join(tmp, "pg"), os.path.join(tmp, "sock")
    os.mkdir(data)
    os.mkdir(sock)
    shutil.chown(data, "postgres")
    shutil.chown(sock, "postgres")
    r = as_postgres(f"{BIN}/initdb", "-D", data, "--auth=trust", "-U", "postgres")
    assert r.returncode == 0, r.stderr
    port = free_port()
    r = as_postgres(f"{BIN}/pg_ctl", "-D", data, "-w", "-l", os.path.join(data, "log"), "-o",
                    f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start")
    assert r.returncode == 0, r.stderr + r.stdout
    try:
        for sql in ("CREATE DATABASE keepout_test",):
            r = as_postgres(f"{BIN}/psql", "-h", sock, "-p", str(port), "-c", sql)
            assert r.returncode == 0, r.stderr
        r = as_postgres(f"{BIN}/psql", "-h", sock, "-p", str(port), "-d", "keepout_test", "-c",
                        "CREATE EXTENSION postgis")
        assert r.returncode == 0, r.stderr
        conn = f"PG:host=127.0.0.1 port={port} dbname=keepout_test user=postgres"
        root = archive(tmp, copies=3)
        for k in (1, 2):
            code, out, err = run("tag", "--focal35", "24", "--shard", f"{k}/2", "--catalog",
                                 conn, root)
            assert code in (0, 1), err
        code, out, err = run("tag", "--focal35", "24", "--catalog", conn, root)
        assert "0 files tagged" in err, err
        gpkg = os.path.join(tmp, "ref.gpkg")
        run("tag", "-q", "--focal35", "24", "--catalog", gpkg, root)
        assert pg_rows(conn) == rows(gpkg)
        # the QGIS style, once however many shards and runs: public.layer_styles as QGIS makes
        # and reads it (this database, this schema, footprints.geom, the default)
        from osgeo import ogr
        ds = ogr.Open(conn)
        styles = [(f.GetField(0), f.GetField(1), f.GetField(2), f.GetField(3), f.GetField(4),
                   f.GetField(5)) for f in ds.ExecuteSQL(
            "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
            "useasdefault::int, styleqml::text FROM public.layer_styles")]
        assert len(styles) == 1, styles
        assert styles[0][:5] == ("keepout_test", "public", "footprints", "geom", 1), styles
        assert 'type="categorizedSymbol" attr="verdict"' in styles[0][5]
    finally:
        as_postgres(f"{BIN}/pg_ctl", "-D", data, "-m", "fast", "stop")


def skip_without_postgis():
    """Exit 77 (CTest's skip) where PostgreSQL 15 with PostGIS is not installed."""
    if not (os.path.exists(f"{BIN}/initdb") and os.path.exists(
            "/usr/share/postgresql/15/extension/postgis.control")):
        print("SKIPPED: PostgreSQL 15 with PostGIS is not installed "
              "(apt-get install postgresql-15-postgis-3, as scripts/install-deps.sh does)")
        sys.exit(77)


if __name__ == "__main__":
    skip_without_postgis()
    main([test_postgis_catalogue_matches_geopackage])
