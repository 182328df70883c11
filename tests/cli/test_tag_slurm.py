"""keepout tag run by a real scheduler (issue 19): a single-node Slurm cluster (Debian
slurm-wlm 22.05 + munge: munged, slurmctld and slurmd on loopback, each with its own key,
socket, ports, state and log files in a temporary directory) and a throw-away PostgreSQL 15 +
PostGIS server (as test_tag_postgis.py), all started and stopped by this test.

`sbatch --array=1-4` runs `keepout tag --shard $SLURM_ARRAY_TASK_ID/4` over 3,000 hard links
of the real photos (plus an SRT and unreadable files) into one PostGIS catalogue. Task 2 is
cancelled midway (`scancel`) and requeued (`scontrol requeue`); the final catalogue must hold
row by row what one single-process GeoPackage run of the same files holds (every column both
have but fid and checked_at, geometry as WKB), and the requeued task must have resumed:
skipped the files its killed run had committed, tagged only the rest.

"Midway" does not depend on the machine's speed: before submitting, the test inserts the last
file of task 2's share (path order, the order a run writes in) into the `files` table in a
transaction it leaves open, so task 2 commits its first batches and then waits on that row's
unique index; once PostgreSQL shows it waiting, what it committed is final, and it is
cancelled there (killed with its batch open, as a node failure or a time limit leaves it).

Skipped (exit 77, loudly) only where slurm-wlm/munge or PostgreSQL+PostGIS are not installed
(scripts/install-deps.sh installs them). CTest label `distributed`."""
import glob
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time

from kotest import DATA, KEEPOUT, main, run
from test_tag_cli import IMAGES, archive
from test_tag_postgis import BIN, as_postgres, free_port, skip_without_postgis
from test_tag_postgis_concurrent import Server

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "scancel", "scontrol", "squeue", "sinfo")
TASKS = 4
CANCELLED_TASK = 2


def skip_without_slurm():
    missing = [b for b in DAEMONS + CLIENTS if not shutil.which(b, path=os.environ.get(
        "PATH", "") + ":/usr/sbin:/sbin")]
    if missing:
        msg = ("\n" + "!" * 78 + "\nSKIPPED: the Slurm test did NOT run: " + ", ".join(missing) +
               " not installed\n(apt-get install slurm-wlm munge, as scripts/install-deps.sh "
               "does)\n" + "!" * 78)
        print(msg)
        print(msg, file=sys.stderr)
        sys.exit(77)


def waited(what, cond, timeout=180, every=0.2):
    """cond()'s first true value, polled; an error naming what was awaited after timeout
    seconds (a guard against hanging, not a timing assertion)."""
    t0 = time.monotonic()
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"still waiting after {timeout} s for {what}")
        time.sleep(every)


class Cluster:
    """munged + slurmctld + slurmd, one node `ko1` of 4 CPUs on 127.0.0.1, all in dir."""

    def __init__(self, dir):
        self.dir = dir
        self.procs = []
        self.env = dict(os.environ, SLURM_CONF=os.path.join(dir, "slurm.conf"))
        self.env["PATH"] += ":/usr/sbin:/sbin"

    def start(self):
        dir = self.dir
        mdir = os.path.join(dir, "munge")
        os.makedirs(mdir)
        os.chmod(mdir, 0o755)  # munged: the socket's directory must be searchable by all
        key = os.path.join(mdir, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o600)
        self.sock = os.path.join(mdir, "munge.socket")
        self.daemon(["munged", "-F", f"--socket={self.sock}", f"--key-file={key}",
                     f"--pid-file={mdir}/munged.pid", f"--log-file={mdir}/munged.log",
                     f"--seed-file={mdir}/munged.seed"], "munged")
        waited("munged's socket", lambda: os.path.exists(self.sock), timeout=30)
        for d in ("ctld", "slurmd", "out"):
            os.mkdir(os.path.join(dir, d))
        host = socket.gethostname().split(".")[0]
        conf = f"""\
ClusterName=kotest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.sock}
StateSaveLocation={dir}/ctld
SlurmdSpoolDir={dir}/slurmd
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
KillWait=2
NodeName=ko1 NodeHostname={host} NodeAddr=127.0.0.1 CPUs={TASKS} State=UNKNOWN
PartitionName=ko Nodes=ko1 Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.env["SLURM_CONF"], "w") as f:
            f.write(conf)
        self.daemon(["slurmctld", "-D", "-f", self.env["SLURM_CONF"]], "slurmctld")
        self.daemon(["slurmd", "-D", "-N", "ko1", "-f", self.env["SLURM_CONF"]], "slurmd")
        waited("node ko1 idle (slurmctld.log, slurmd.log in the test's directory)",
               lambda: self.cmd("sinfo", "-h", "-N", "-o", "%T", check=False).strip() == "idle",
               timeout=60, every=0.5)

    def daemon(self, argv, name):
        log = open(os.path.join(self.dir, f"{name}.out"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                             stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(p)
        time.sleep(0.2)
        assert p.poll() is None, (name, open(os.path.join(self.dir, f"{name}.out")).read())

    def cmd(self, *args, check=True):
        r = subprocess.run(list(args), capture_output=True, text=True, env=self.env, timeout=60)
        assert not check or r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout

    def logs(self, tail=4000):
        """The last lines of slurmctld's and slurmd's logs: why a task failed to start."""
        out = []
        for name in ("slurmctld.log", "slurmd.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.append(f"--- {name}\n{f.read()[-tail:]}")
            except OSError as e:
                out.append(f"--- {name}: {e}")
        return "\n".join(out)

    def tasks(self, job):
        """{array task id: {field: value}} of the job's tasks, from scontrol."""
        out = self.cmd("scontrol", "-o", "show", "job", job, check=False)
        tasks = {}
        for line in out.splitlines():
            f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if f.get("ArrayTaskId", "").isdigit():
                tasks[int(f["ArrayTaskId"])] = f
        return tasks

    def stop(self):
        """Every job cancelled and gone, then the daemons, newest first."""
        try:
            self.cmd("scancel", "--user=root", check=False)
            waited("the cancelled jobs to end",
                   lambda: not self.cmd("squeue", "-h", check=False).strip(), timeout=30)
        except Exception as e:  # the daemons go all the same
            print(f"stopping the cluster: {e}", file=sys.stderr)
        # a job's slurmstepd outlives it a moment (its socket in the spool directory)
        steps = os.path.join(self.dir, "slurmd", "ko1_*")
        try:
            waited("the job steps to end", lambda: not glob.glob(steps), timeout=30)
        except AssertionError as e:
            print(f"stopping the cluster: {e}", file=sys.stderr)
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def psql(pg, db, sql):
    """The rows of sql in database db, unaligned, without headers."""
    r = as_postgres(f"{BIN}/psql", "-At", "-v", "ON_ERROR_STOP=1", "-h", pg.sock, "-p",
                    str(pg.port), "-d", db, "-c", sql)
    assert r.returncode == 0, (sql, r.stderr)
    return r.stdout.strip()


def catalogue(conn):
    """{table: (field names, {key: {field: value}})} of footprints, hits and files, read by
    OGR from either backend; footprints' geometry as ISO WKB under '(geometry)'; date-times as
    (y, m, d, h, min, s) whatever their time zone flag; reals to 15 significant digits (GDAL's
    PostgreSQL driver sends them as text so: 46.842607083333334 is stored 46.8426070833333,
    while the geometry's doubles go as WKB, exactly)."""
    from osgeo import ogr
    ds = ogr.Open(conn)
    assert ds, conn
    keys = {"footprints": ("path", "shot_id"), "hits": ("path", "shot_id", "site_id"),
            "files": ("path",)}
    out = {}
    for table, key in keys.items():
        layer = ds.GetLayerByName(table)
        assert layer, (conn, table)
        defn = layer.GetLayerDefn()
        names = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
        rows = {}
        for f in layer:
            r = {}
            for i, n in enumerate(names):
                if not f.IsFieldSetAndNotNull(i):
                    r[n] = None
                elif defn.GetFieldDefn(i).GetType() == ogr.OFTDateTime:
                    r[n] = tuple(f.GetFieldAsDateTime(i)[:6])
                elif defn.GetFieldDefn(i).GetType() == ogr.OFTReal:
                    r[n] = float(f"{f.GetField(i):.15g}")
                else:
                    r[n] = f.GetField(i)
            g = f.GetGeometryRef()
            r["(geometry)"] = bytes(g.ExportToIsoWkb()) if g else None
            k = tuple(r[c] for c in key)
            assert k not in rows, (conn, table, "twice", k)
            rows[k] = r
        out[table] = (set(names) | {"(geometry)"}, rows)
    return out


def differences(got, want):
    """Lines naming what differs, on the columns both catalogues have but fid and
    checked_at (the time each row was written)."""
    lines = []
    for table in want:
        cols = (got[table][0] & want[table][0]) - {"fid", "checked_at"}
        g, w = got[table][1], want[table][1]
        if set(g) != set(w):
            lines.append(f"{table}: {len(set(w) - set(g))} rows missing, e.g. "
                         f"{sorted(set(w) - set(g))[:2]}; {len(set(g) - set(w))} extra, e.g. "
                         f"{sorted(set(g) - set(w))[:2]}")
        for k in sorted(set(g) & set(w)):
            bad = [c for c in sorted(cols) if g[k].get(c) != w[k].get(c)]
            if bad:
                lines.append(f"{table} {k}: {[(c, g[k][c], w[k][c]) for c in bad][:3]}")
                if len(lines) > 10:
                    return lines
    return lines


def files_in(cat):
    con = sqlite3.connect(cat)
    paths = [p for (p,) in con.execute("SELECT path FROM files")]
    con.close()
    return paths


def test_slurm_array_with_a_cancelled_and_requeued_task(tmp):
    t0 = time.monotonic()
    os.chmod(tmp, 0o755)  # the postgres user reads the PostgreSQL directories in it
    root = archive(tmp, copies=500)  # 3,000 photos, an SRT of 55 frames, unreadable files
    store = os.path.join(tmp, "store.sqlite")
    code, _, err = run("sites", "import", "-q", "--db", store,
                       os.path.join(DATA, "sites", "brighton_beach_demo.geojson"))
    assert code == 0, err
    tag = ["tag", "-q", "--focal35", "24", "--jobs", "1", "--db", store]
    ref = os.path.join(tmp, "ref.gpkg")
    code, _, err = run(*tag, "--catalog", ref, root)
    assert code == 1, err  # flagged photos and unreadable files
    want = catalogue(ref)
    assert len(want["files"][1]) == 3003 and len(want["hits"][1]) > 0, \
        (len(want["files"][1]), len(want["hits"][1]))
    # task 2's share, as one run of shard 2/4 tags it
    share_cat = os.path.join(tmp, "share.gpkg")
    code, _, err = run(*tag, "--shard", f"{CANCELLED_TASK}/{TASKS}", "--catalog", share_cat, root)
    assert code in (0, 1), err
    share = set(files_in(share_cat))
    assert 600 < len(share) < 900, len(share)

    pg = Server()
    cluster = None
    blocker = None
    try:
        db, conn = pg.new_db()
        # the catalogue's tables, made by a run of one photo outside the archive whose rows
        # then go, so that the test can hold a row of task 2's before any task starts
        seed = os.path.join(tmp, "seed")
        os.mkdir(seed)
        os.link(os.path.join(IMAGES, "DJI_0018.JPG"), os.path.join(seed, "DJI_0018.JPG"))
        code, _, err = run(*tag, "--catalog", conn, seed)
        assert code in (0, 1), err
        for table in ("hits", "footprints", "files"):
            psql(pg, db, f"DELETE FROM {table} WHERE path LIKE '{seed}/%'")
        last = max(share)
        from osgeo import ogr
        blocker = ogr.Open(conn, update=1)
        assert blocker.StartTransaction() == 0
        blocker.ExecuteSQL("INSERT INTO files (path) VALUES ('%s')" % last.replace("'", "''"))
        assert psql(pg, db, "SELECT count(*) FROM files") == "0"  # not committed
        res = blocker.ExecuteSQL("SELECT pg_backend_pid()")
        held_by = res.GetNextFeature().GetField(0)
        blocker.ReleaseResultSet(res)

        cluster = Cluster(os.path.join(tmp, "slurm"))
        cluster.start()
        t_cluster = time.monotonic()
        out = os.path.join(cluster.dir, "out")
        script = os.path.join(tmp, "tag_array.sh")
        with open(script, "w") as f:
            f.write(f"""#!/bin/sh
#SBATCH --array=1-{TASKS}
#SBATCH --cpus-per-task=1
#SBATCH --output={out}/%A_%a.log
#SBATCH --open-mode=append
# exit 1 is a verdict (something flagged or unknown), not a failed task
'{KEEPOUT}' tag --focal35 24 --jobs 1 --db '{store}' --catalog '{conn}' \\
    --shard "$SLURM_ARRAY_TASK_ID/{TASKS}" '{root}' || [ $? -eq 1 ]
""")
        job = cluster.cmd("sbatch", "--parsable", script).strip().split(";")[0]
        assert job.isdigit(), job
        task2 = f"{job}_{CANCELLED_TASK}"

        def waiting_on_the_held_row():
            return int(psql(pg, db, "SELECT count(*) FROM pg_stat_activity WHERE "
                            f"{held_by} = ANY(pg_blocking_pids(pid))"))

        def state(task):
            return cluster.tasks(job).get(task, {}).get("JobState")

        waited("task 2 to wait on the held row", lambda: waiting_on_the_held_row() or
               (state(CANCELLED_TASK) not in (None, "PENDING", "RUNNING") and
                f"task 2 ended: {cluster.tasks(job)[CANCELLED_TASK]}"))
        assert state(CANCELLED_TASK) == "RUNNING", cluster.tasks(job)[CANCELLED_TASK]

        def in_share():
            got = psql(pg, db, "SELECT path FROM files").split("\n")
            return len(share & set(got))

        # task 2 writes one file at a time, in path order: waiting on the last file's row,
        # it commits nothing more; what it committed is final
        committed = in_share()
        print(f"  task 2 waits with {committed} of its {len(share)} files committed")
        assert 0 < committed < len(share) - 1, (committed, len(share))
        cluster.cmd("scancel", task2)
        waited("task 2 cancelled", lambda: state(CANCELLED_TASK) == "CANCELLED", timeout=60)
        assert blocker.RollbackTransaction() == 0
        blocker = None
        # the killed run's open batch is gone with its connection
        waited("task 2's server process to end", lambda: not waiting_on_the_held_row())
        assert in_share() == committed
        cluster.cmd("scontrol", "requeue", task2)
        # a requeued job is held back CredExpire (120 s) + 1 s by default: run it now, but
        # two seconds after the kill: slurmd refuses a credential made in the same second
        # as the kill revoked the job's ("Job credential revoked", FAILED 1:0; 1 run in 5).
        # (StartTime=now+2 would wait for the next scheduling pass, up to 60 s)
        time.sleep(2)
        cluster.cmd("scontrol", "update", f"jobid={task2}", "StartTime=now")
        waited("the array job to end",
               lambda: not cluster.cmd("squeue", "-h", "-j", job, check=False).strip())
        tasks = cluster.tasks(job)
        assert sorted(tasks) == list(range(1, TASKS + 1)), tasks
        for k, t in tasks.items():
            if t["JobState"] != "COMPLETED" or t["ExitCode"] != "0:0":
                with open(os.path.join(out, f"{job}_{k}.log"), errors="replace") as f:
                    raise AssertionError((k, t, f.read()[-3000:], cluster.logs()))
        assert tasks[CANCELLED_TASK]["Restarts"] == "1", tasks[CANCELLED_TASK]
        assert all(tasks[k]["Restarts"] == "0" for k in tasks if k != CANCELLED_TASK), tasks
        # the requeued run resumed: the files its killed run committed were skipped
        # unchanged, only the rest tagged
        with open(os.path.join(out, f"{job}_{CANCELLED_TASK}.log")) as f:
            log = f.read()
        done = re.findall(r"(\d+) files tagged .*?, (\d+) unchanged skipped", log)
        assert done == [(str(len(share) - committed), str(committed))], log
        print(f"  requeued task 2: {done[0][0]} files tagged, {done[0][1]} skipped unchanged")
        t_end = time.monotonic()

        got = catalogue(conn)
        diff = differences(got, want)
        assert not diff, "\n".join(diff)
        print(f"  catalogue identical to the single GeoPackage run: "
              f"{len(got['files'][1])} files, {len(got['footprints'][1])} footprints, "
              f"{len(got['hits'][1])} hits; compared columns: "
              f"{sorted((got['footprints'][0] & want['footprints'][0]) - {'fid', 'checked_at'})}")
        print(f"  times: set-up {t_cluster - t0:.1f} s, Slurm part {t_end - t_cluster:.1f} s")
    finally:
        if blocker is not None:
            blocker.RollbackTransaction()
            blocker = None
        if cluster:
            cluster.stop()  # also when it did not come up whole
        pg.stop()


if __name__ == "__main__":
    skip_without_slurm()
    skip_without_postgis()
    main([test_slurm_array_with_a_cancelled_and_requeued_task])
