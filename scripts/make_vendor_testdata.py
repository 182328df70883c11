#!/usr/bin/python3
"""Makes tests/data/vendors/ from the vendor samples of the shared data (images/, see
images/SAMPLES_MORE.md): small copies whose metadata is byte-for-byte the original's.

usage: make_vendor_testdata.py SHARED_IMAGES_DIR OUT_DIR

- TIFF: the file unchanged except the bytes of its image data (IFD0's strips or tiles, found
  here with Python's struct from the TIFF 6.0 layout, independently of keepout), which are set
  to zero; then gzip -9 (no name, no time). A 2.4 MB band becomes a few kB.
- JPEG: APP0 and the EXIF and XMP APP1 segments copied unchanged, the other APPn (FLIR's
  APP1 raw thermal image, thermal data in APP2-APP4, MPF previews) dropped, the image scaled to 64 pixels wide by
  GDAL; then gzip -9. ExifTool reads the same tags from the copy as from the original
  (checked with exiftool -n -G1 -a -s, less the dropped groups).
"""
import gzip
import os
import struct
import sys
import tempfile

from osgeo import gdal

TIFFS = [
    "dji_thermal/ZenmuseXT_001.tif",
    "dji_thermal/DJI_Zenmuse_XT2_640_R_13mm.tiff",
    "micasense/IMG_0001_1.tif",
    "parrot_sequoia/IMG_180413_080658_0000_GRE.TIF",
    "sensefly/Sensefly_Thermomap_9mm.tif",
    "workswell/Wiris_2nd_Gen_640_19mm.tiff",
    "flir/FLIR_DUO_PRO_640_R_13mm.TIFF",
    "flir/FLIR_VuePro640_exif-js-issue-124.tiff",
]
JPEGS = [
    "dji_thermal/DJI_H20T.jpg",
    "dji_thermal/DJI_XTS.jpg",
    "dji_thermal/M2EA_DJI_20250117111343_0139_T.JPG",
    "dji_thermal/DJI_Zenmuse_XT2_640_R_13mm.jpg",
    "dji_thermal/ZenmuseXT_003.jpg",
    "dji_thermal/H20T_DJI_0001_R.JPG",
    "dji_visible/DJI_Zenmuse_X3.JPG",
    "parrot_sequoia/IMG_180413_080658_0000_RGB.JPG",
    "dji_thermal/M3T_DJI_0002_R.JPG",
    "flir/FLIR_Tau_2_640_R_19mm.jpg",
    "dji_thermal/DJI_XT2.jpg",
]


def zero_tiff_data(b):
    b = bytearray(b)
    e = "<" if b[:2] == b"II" else ">"
    assert struct.unpack(e + "H", b[2:4])[0] == 42, "classic TIFF only"
    off = struct.unpack(e + "I", b[4:8])[0]
    n = struct.unpack(e + "H", b[off:off + 2])[0]
    tags = {}
    for i in range(n):
        t, ty, c, v = struct.unpack(e + "HHII", b[off + 2 + 12 * i:off + 14 + 12 * i])
        tags[t] = (ty, c, off + 10 + 12 * i)
    size = {3: 2, 4: 4}

    def values(tag):
        ty, c, at = tags[tag]
        if size[ty] * c > 4:
            at = struct.unpack(e + "I", b[at:at + 4])[0]
        fmt = e + ("H" if ty == 3 else "I") * c
        return struct.unpack(fmt, b[at:at + size[ty] * c])

    offs = values(0x111 if 0x111 in tags else 0x144)
    counts = values(0x117 if 0x117 in tags else 0x145)
    for o, c in zip(offs, counts):
        b[o:o + c] = bytes(c)
    return bytes(b)


def segments(data):
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    i, out = 2, []
    while True:
        while data[i] == 0xFF and data[i + 1] == 0xFF:
            i += 1  # fill bytes (the XT2 visible camera leaves 14 after a DHT)
        marker = data[i + 1]
        if marker == 0xDA:
            return out, data[i:]
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((marker, data[i:i + 2 + n]))
        i += 2 + n


def small_jpeg(src):
    ds = gdal.Open(src)
    width = 64
    height = max(1, round(ds.RasterYSize * width / ds.RasterXSize))
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small.jpg")
        gdal.Translate(small, ds, format="JPEG", width=width, height=height,
                       creationOptions=["QUALITY=50", "EXIF_THUMBNAIL=NO"])
        small_data = open(small, "rb").read()
    orig, _ = segments(open(src, "rb").read())
    tiny, rest = segments(small_data)
    app = [seg for m, seg in orig
           if m == 0xE0 or (m == 0xE1 and seg[4:10] == b"Exif\0\0")
           or (m == 0xE1 and seg[4:33] == b"http://ns.adobe.com/xap/1.0/\0")]
    body = [seg for m, seg in tiny if not 0xE0 <= m <= 0xEF]
    return b"\xff\xd8" + b"".join(app) + b"".join(body) + rest


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for rel in TIFFS + JPEGS:
        path = os.path.join(src, rel)
        data = open(path, "rb").read()
        data = zero_tiff_data(data) if rel in TIFFS else small_jpeg(path)
        with open(os.path.join(out, os.path.basename(rel) + ".gz"), "wb") as f:
            f.write(gzip.compress(data, 9, mtime=0))


if __name__ == "__main__":
    main()
