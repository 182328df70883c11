#!/usr/bin/env python3
"""Small GoPro GPMF test files cut from the shared data's images/gopro_gpmf/karma.mp4
(gopro/gpmf-parser @9a715063 samples/karma.mp4, MIT or Apache-2.0).

    scripts/make_gpmf_testdata.py SRC.mp4 OUT.mp4 [FIRST LAST]

OUT keeps SRC's ftyp and moov byte for byte except the GPMF track's chunk offsets (stco), and
an mdat holding only the GPMF payloads FIRST..LAST (default: all), byte for byte: the video,
audio and timecode samples are left out (their offsets then point at nothing, which a GPMF
reader never follows). With a FIRST..LAST range the GPMF track's sample table is cut to those
payloads (the headers' lengths are left as they are: a fuzzing seed, not a test file)."""
import struct
import sys


def boxes(d, s, e):
    i = s
    while i + 8 <= e:
        size, kind = struct.unpack(">I4s", d[i:i + 8])
        head = 8
        if size == 1:
            size = struct.unpack(">Q", d[i + 8:i + 16])[0]
            head = 16
        elif size == 0:
            size = e - i
        yield kind.decode("latin1"), i, i + head, i + size
        i += size


def child(d, s, e, kind):
    for k, start, body, end in boxes(d, s, e):
        if k == kind:
            return start, body, end
    return None


def box(kind, body):
    return struct.pack(">I4s", 8 + len(body), kind.encode()) + body


def rebuild(d, s, e, fix):
    """The boxes of [s, e) again, containers rebuilt, leaves passed through fix()."""
    out = b""
    for k, start, body, end in boxes(d, s, e):
        if k in ("moov", "trak", "mdia", "minf", "stbl"):
            out += box(k, rebuild(d, body, end, fix))
        else:
            out += fix(k, d[body:end])
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    d = open(src, "rb").read()
    _, mbody, mend = child(d, 0, len(d), "moov")
    gp = None
    for k, start, body, end in boxes(d, mbody, mend):
        if k != "trak":
            continue
        st = child(d, *child(d, *child(d, *child(d, body, end, "mdia")[1:], "minf")[1:],
                                "stbl")[1:], "stsd")
        if d[st[1] + 12:st[1] + 16] == b"gpmd":
            gp = (start, end)
    stbl = child(d, *child(d, *child(d, gp[0] + 8, gp[1], "mdia")[1:], "minf")[1:], "stbl")
    sz = child(d, stbl[1], stbl[2], "stsz")
    n = struct.unpack(">I", d[sz[1] + 8:sz[1] + 12])[0]
    sizes = struct.unpack(">%dI" % n, d[sz[1] + 12:sz[1] + 12 + 4 * n])
    co = child(d, stbl[1], stbl[2], "stco")
    offs = struct.unpack(">%dI" % n, d[co[1] + 8:co[1] + 8 + 4 * n])
    first, last = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (0, n - 1)
    keep = list(range(first, last + 1))
    ftyp = d[:struct.unpack(">I", d[:4])[0]]
    payload = b"".join(d[offs[i]:offs[i] + sizes[i]] for i in keep)
    mdat = box("mdat", payload)
    base = len(ftyp) + 8
    new_offs, at = [], base
    for i in keep:
        new_offs.append(at)
        at += sizes[i]
    m = len(keep)
    # rebuild moov: only the GPMF track's tables change
    def rebuild_trak(s, e, is_gp):
        def leaf(kind, body):
            if not is_gp:
                return box(kind, body)
            if kind == "stco":
                return box(kind, body[:4] + struct.pack(">I", m) +
                           struct.pack(">%dI" % m, *new_offs))
            if kind == "stsz":
                return box(kind, body[:8] + struct.pack(">I", m) +
                           struct.pack(">%dI" % m, *[sizes[i] for i in keep]))
            if kind == "stts":  # one duration per payload, as the source has
                cnt, delta = struct.unpack(">II", body[8:16])
                return box(kind, body[:4] + struct.pack(">III", 1, m, delta))
            if kind == "stsc":
                return box(kind, body[:4] + struct.pack(">IIII", 1, 1, 1, 1))
            return box(kind, body)
        return rebuild(d, s, e, leaf)

    moov = b""
    for k, start, body, end in boxes(d, mbody, mend):
        if k == "trak":
            moov += box("trak", rebuild_trak(body, end, (start, end) == gp))
        else:
            moov += d[start:end]
    if len(keep) == n:
        assert len(moov) == mend - mbody, "the moov must keep its size"
    open(dst, "wb").write(ftyp + mdat + box("moov", moov))


if __name__ == "__main__":
    main()
