"""Progress on a terminal (issue 20): check, footprint and tag draw one line, "keepout CMD:
DONE/TOTAL UNIT", redrawn at most ten times a second (tag redrew for every file), ending on the
full count; nothing when standard error is not a terminal or with -q. Standard error is a real
pseudo-terminal here (pty)."""
import os
import pty
import re
import subprocess
import time

from kotest import DATA, KEEPOUT, main

PHOTO = os.path.join(DATA, "images", "DJI_0021.JPG")


def photos(tmp, n):
    d = os.path.join(tmp, "photos")
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        os.link(PHOTO, os.path.join(d, f"p{i:05d}.JPG"))
    return d


def on_a_terminal(*args):
    """Runs keepout with standard error on a pty: (exit status, what it drew, seconds)."""
    master, slave = pty.openpty()
    t0 = time.monotonic()
    p = subprocess.Popen([KEEPOUT, *args], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        out += chunk
    code = p.wait(timeout=600)
    os.close(master)
    return code, out.decode(errors="replace"), time.monotonic() - t0


def redraws(text, cmd):
    return re.findall(rf"\rkeepout {cmd}: (\d+)(?:/(\d+))? (\w+)", text)


def test_progress_is_throttled_and_ends_on_the_count(tmp):
    d = photos(tmp, 2000)
    for cmd, args, unit in (("check", ["--format", "jsonl"], "shots"),
                            ("footprint", [], "shots"),
                            ("tag", ["--catalog", os.path.join(tmp, "c.gpkg")], "files")):
        code, text, dt = on_a_terminal(cmd, *args, d)
        assert code in (0, 1), text[-500:]
        lines = redraws(text, cmd)
        assert lines, (cmd, text[-300:])
        # at most ten a second, plus the first and the last
        assert len(lines) <= 10 * dt + 2, (cmd, len(lines), dt)
        done, total, shown_unit = lines[-1]
        assert int(done) == 2000 and shown_unit == unit, (cmd, lines[-1])
        assert total in ("", "2000"), (cmd, lines[-1])
        counts = [int(x[0]) for x in lines]
        assert counts == sorted(counts), (cmd, counts)  # never goes back


def test_no_progress_when_quiet_or_not_a_terminal(tmp):
    d = photos(tmp, 50)
    code, text, _ = on_a_terminal("check", "-q", "--format", "jsonl", d)
    assert "\r" not in text, text
    p = subprocess.run([KEEPOUT, "check", "--format", "jsonl", d], capture_output=True, text=True)
    assert "\r" not in p.stderr and "keepout check: 0 clear, 50 flagged" in p.stderr, p.stderr


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
