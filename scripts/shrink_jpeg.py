#!/usr/bin/python3
"""Makes a small copy of a drone JPEG whose metadata is byte-for-byte the original's.

usage: shrink_jpeg.py SRC DST [WIDTH [QUALITY]]

The APPn segments (EXIF, XMP, Extended XMP, maker data) are copied unchanged from SRC; the
image itself is SRC scaled to WIDTH pixels (default 160) by GDAL (nearest neighbour), encoded
at QUALITY (default 70). EXIF keeps the original
PixelXDimension/PixelYDimension, which is what keepout's camera model uses. This is how the
photos in data/images were made (kilobytes instead of megabytes in the repository)."""
import os
import struct
import sys
import tempfile

from osgeo import gdal


def segments(data):
    """(marker, bytes incl. marker and length) of the header, then the rest from SOS."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    i, out = 2, []
    while True:
        assert data[i] == 0xFF
        marker = data[i + 1]
        if marker == 0xDA:
            return out, data[i:]
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((marker, data[i:i + 2 + n]))
        i += 2 + n


def main():
    src, dst = sys.argv[1], sys.argv[2]
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 160
    quality = int(sys.argv[4]) if len(sys.argv) > 4 else 70
    ds = gdal.Open(src)
    height = max(1, round(ds.RasterYSize * width / ds.RasterXSize))
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small.jpg")
        gdal.Translate(small, ds, format="JPEG", width=width, height=height,
                       creationOptions=[f"QUALITY={quality}", "EXIF_THUMBNAIL=NO"])
        small_data = open(small, "rb").read()
    orig, _ = segments(open(src, "rb").read())
    tiny, rest = segments(small_data)
    app = [seg for m, seg in orig if 0xE0 <= m <= 0xEF]
    body = [seg for m, seg in tiny if not 0xE0 <= m <= 0xEF]
    with open(dst, "wb") as f:
        f.write(b"\xff\xd8" + b"".join(app) + b"".join(body) + rest)


if __name__ == "__main__":
    main()
