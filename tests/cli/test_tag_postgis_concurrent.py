"""keepout tag into PostGIS by shards running at the same time (issue 19): a real PostgreSQL 15
+ PostGIS server started by this test on loopback in a temporary directory (as
test_tag_postgis.py does), a new empty catalogue database per trial, 2 and then 4
`keepout tag --shard K/N` processes started together over a few hundred hard links of the real
photos; every trial must hold exactly the rows of one single-process GeoPackage run of the same
files, every process exit 0 or 1 (the catalogue's decision) and log no deadlock or SQL error.
Also: --recheck on PostGIS changes the rows it reports changed, an all-clear PostGIS run exits
0, and an SQL error (a role that may not write) exits 2 with the server's message.
KEEPOUT_PG_TRIALS=N runs N trials of each shard count (default 3).
Skipped (exit 77) only where the server is not installed."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from kotest import DATA, KEEPOUT, main, run, write
from test_tag_cli import IMAGES, archive, rows
from test_tag_postgis import BIN, as_postgres, free_port, pg_rows, skip_without_postgis

TRIALS = int(os.environ.get("KEEPOUT_PG_TRIALS", "3"))


class Server:
    """One server for the whole file, a database per test."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp()
        os.chmod(self.tmp, 0o755)
        self.data, self.sock = os.path.join(self.tmp, "pg"), os.path.join(self.tmp, "sock")
        os.mkdir(self.data)
        os.mkdir(self.sock)
        shutil.chown(self.data, "postgres")
        shutil.chown(self.sock, "postgres")
        r = as_postgres(f"{BIN}/initdb", "-D", self.data, "--auth=trust", "-U", "postgres")
        assert r.returncode == 0, r.stderr
        self.port = free_port()
        r = as_postgres(f"{BIN}/pg_ctl", "-D", self.data, "-w", "-l",
                        os.path.join(self.data, "log"), "-o",
                        f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1", "start")
        assert r.returncode == 0, r.stderr + r.stdout
        self.n = 0

    def psql(self, sql, db="postgres"):
        r = as_postgres(f"{BIN}/psql", "-v", "ON_ERROR_STOP=1", "-h", self.sock, "-p",
                        str(self.port), "-d", db, "-c", sql)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def new_db(self, user="postgres"):
        """A new empty database with PostGIS; its connection string for user."""
        self.n += 1
        name = f"cat{self.n}"
        self.psql(f"CREATE DATABASE {name}")
        self.psql("CREATE EXTENSION postgis", db=name)
        return name, self.conn(name, user)

    def conn(self, name, user="postgres"):
        return f"PG:host=127.0.0.1 port={self.port} dbname={name} user={user}"

    def stop(self):
        as_postgres(f"{BIN}/pg_ctl", "-D", self.data, "-m", "fast", "stop")
        shutil.rmtree(self.tmp, ignore_errors=True)


PG = None


def tag_cmd(*args):
    return [KEEPOUT, "tag", "-q", "--focal35", "24", "--jobs", "1", *args]


def shards_at_once(conn, root, n):
    """n shard processes started together; [(exit status, stderr)]."""
    procs = [subprocess.Popen(tag_cmd("--shard", f"{k}/{n}", "--catalog", conn, root),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for k in range(1, n + 1)]
    return [(p.wait(timeout=300), p.stderr.read()) for p in procs]


def test_concurrent_shards_give_the_single_run_catalogue(tmp):
    root = archive(tmp, copies=50)  # 300 photos, an SRT of 55 frames, unreadable files
    ref = os.path.join(tmp, "ref.gpkg")
    code, _, err = run(*tag_cmd("--catalog", ref, root)[1:])
    assert code == 1, err
    want = rows(ref)
    assert len(want[2]) == 303, len(want[2])
    trials = []
    for n in (2, 4):
        for trial in range(TRIALS):
            _, conn = PG.new_db()
            got = shards_at_once(conn, root, n)
            bad = [line for _, err in got for line in err.splitlines()
                   if re.search(r"deadlock|ERROR", line, re.I)]
            codes = [c for c, _ in got]
            same = pg_rows(conn) == want
            trials.append((n, trial, same, codes, bad))
            print(f"  {n} shards, trial {trial + 1}: {'identical' if same else 'DIFFERENT'}, "
                  f"exit {codes}, {len(bad)} error lines")
    for n in (2, 4):
        mine = [t for t in trials if t[0] == n]
        print(f"  {n} shards: {sum(t[2] for t in mine)} of {len(mine)} concurrent runs "
              "identical to the single run")
    for n, trial, same, codes, bad in trials:
        assert not bad, (n, trial, bad[:5])
        # each shard's status is the decision on the catalogue as it then is; the last to
        # count sees every shard's rows, two of them flagged
        assert all(c in (0, 1) for c in codes) and max(codes) == 1, (n, trial, codes)
        assert same, (n, trial)
    # a re-run of the whole archive finds every file done
    code, _, err = run("tag", "--focal35", "24", "--catalog", conn, root)
    assert code == 1 and "0 files tagged" in err, err
    # the same files written by two processes at once (a shard run twice, a requeued task that
    # was not dead): each file's rows once
    _, conn = PG.new_db()
    small = archive(os.path.join(tmp, "small"), copies=10)
    ref = os.path.join(tmp, "small.gpkg")
    run(*tag_cmd("--catalog", ref, small)[1:])
    got = [subprocess.Popen(tag_cmd("--catalog", conn, small), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in got:
        err = p.stderr.read()
        assert p.wait(timeout=300) in (0, 1) and "ERROR" not in err, err
    assert pg_rows(conn) == rows(ref)


def test_recheck_on_postgis_changes_what_it_reports(tmp):
    root = archive(tmp)
    src = write(tmp, "none.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "far away"},
         "geometry": {"type": "Point", "coordinates": [0.0, 0.0]}}]}))
    demo = os.path.join(DATA, "sites", "brighton_beach_demo.geojson")
    stores = {}
    for kind in ("pg", "gpkg"):
        stores[kind] = os.path.join(tmp, f"{kind}.sqlite")
        assert run("sites", "import", "--db", stores[kind], src)[0] == 0
    _, conn = PG.new_db()
    ref = os.path.join(tmp, "ref.gpkg")
    for cat, store in ((conn, stores["pg"]), (ref, stores["gpkg"])):
        code, _, err = run("tag", "--focal35", "24", "--db", store, "--catalog", cat, root)
        assert code == 1, err  # unreadable files are unknown
    before = pg_rows(conn)
    assert before == rows(ref)
    assert not any(v == "flagged" for _, _, v, _, _ in before[0])
    # the store changes: a site now covers DJI_0021 and DJI_0023 (both folders)
    for store in stores.values():
        assert run("sites", "import", "--db", store, demo)[0] == 0
    code, _, err = run("tag", "--db", stores["pg"], "--catalog", conn, "--recheck")
    assert code == 1, err
    m = re.search(r"(\d+) changed verdict", err)
    assert m, err
    after = pg_rows(conn)
    old = {(p, s): v for p, s, v, _, _ in before[0]}
    changed = {(p, s) for p, s, v, _, _ in after[0] if old[(p, s)] != v}
    assert int(m.group(1)) == len(changed) == 4, (m.group(0), changed)
    assert all(p.endswith(("DJI_0021.JPG", "DJI_0023.JPG")) for p, _ in changed), changed
    run("tag", "--db", stores["gpkg"], "--catalog", ref, "--recheck")
    assert after == rows(ref)


def test_all_clear_postgis_run_exits_0(tmp):
    root = os.path.join(tmp, "clear")
    os.makedirs(root)
    for k in range(5):
        os.link(os.path.join(IMAGES, "DJI_0018.JPG"), os.path.join(root, f"c{k}_DJI_0018.JPG"))
    _, conn = PG.new_db()
    code, _, err = run("tag", "--focal35", "24", "--catalog", conn, root)
    assert code == 0 and "5 files tagged" in err and "5 clear" in err, (code, err)
    code, _, err = run("tag", "--focal35", "24", "--catalog", conn, root)  # a re-run too
    assert code == 0 and "0 files tagged" in err, (code, err)
    code, _, err = run("tag", "--catalog", conn, "--recheck")
    assert code == 0 and "0 changed verdict" in err, (code, err)


def test_sql_errors_exit_2_with_the_servers_message(tmp):
    root = os.path.join(tmp, "few")
    os.makedirs(root)
    for name in ("DJI_0018.JPG", "DJI_0021.JPG"):
        shutil.copy(os.path.join(IMAGES, name), os.path.join(root, name))
    name, conn = PG.new_db()
    PG.psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN "
            "CREATE ROLE reader LOGIN; END IF; END $$")
    reader = PG.conn(name, "reader")
    # an empty catalogue that this role may not create tables in (PostgreSQL 15: no CREATE on
    # public for others than its owner)
    code, _, err = run("tag", "--focal35", "24", "--catalog", reader, root)
    assert code == 2 and "permission denied" in err, (code, err)
    # made by its owner; the role may read but not insert
    code, _, err = run("tag", "--focal35", "24", "--catalog", conn, root)
    assert code == 1, err
    os.utime(os.path.join(root, "DJI_0018.JPG"), (1e9, 1e9))  # changed: it is tagged again
    PG.psql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader", db=name)
    before = pg_rows(conn)
    code, _, err = run("tag", "--focal35", "24", "--catalog", reader, root)
    assert code == 2 and "permission denied for table" in err, (code, err)
    assert pg_rows(conn) == before  # nothing half written
    # and a recheck, which must write too
    code, _, err = run("tag", "--catalog", reader, "--recheck")
    assert code == 2 and "permission denied for table" in err, (code, err)


if __name__ == "__main__":
    skip_without_postgis()
    PG = Server()
    try:
        main([test_concurrent_shards_give_the_single_run_catalogue,
              test_recheck_on_postgis_changes_what_it_reports,
              test_all_clear_postgis_run_exits_0,
              test_sql_errors_exit_2_with_the_servers_message])
    finally:
        PG.stop()
