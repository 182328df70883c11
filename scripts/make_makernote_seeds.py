#!/usr/bin/env python3
"""The crafted DJI maker-note seeds of fuzz_jpeg_meta and fuzz_tiff_meta (CC0).

    scripts/make_makernote_seeds.py tests/fuzz/corpus

Writes jpeg_meta/dji_makernote_{ifd,records}.jpg and tiff_meta/dji_makernote_{ifd,records}.tif:
Make "DJI" and an Exif IFD holding only a DJI maker note, in its IFD form (older cameras:
float32 tags 6-11, ExifTool DJI::Main) or its "[key:value]" record form (the M2EA's
GimbalDegree(Y,P,R) and FlightDegree(Y,P,R) in tenths, ExifTool DJI::Info).
"""
import struct, sys
def entry(tag, typ, count, value4):
    return struct.pack('<HHI', tag, typ, count) + value4
def ifd(entries, next_off=0):
    return struct.pack('<H', len(entries)) + b''.join(entries) + struct.pack('<I', next_off)
def f32(x): return struct.pack('<f', x)
def note_ifd():
    # DJI::Main: 1 Make "DJI", 6-8 Pitch/Yaw/Roll, 9-11 CameraPitch/CameraYaw/CameraRoll
    e = [entry(1, 2, 4, b'DJI\0')]
    for tag, v in [(6, 0.2), (7, 44.7), (8, -8.7), (9, -90.0), (10, 46.6), (11, 0.0)]:
        e.append(entry(tag, 11, 1, f32(v)))
    return struct.pack('<H', len(e)) + b''.join(e)
def note_records():
    return (b'[ae_dbg_info:' + b'\0' * 8 + b'][GimbalDegree(Y,P,R):342,-900,0\0\0]'
            b'[FlightDegree(Y,P,R):901,-130,-13\0][sensor_id:1TCTK5Q03BJ1GH\0]')
def tiff(note, strip=None):
    # header 8, IFD0 at 8 with Make, (image tags), ExifIFD; Exif IFD; Make text; note
    n0 = 7 if strip is not None else 2
    ifd0_len = 2 + 12 * n0 + 4
    exif_off = 8 + ifd0_len
    exif_len = 2 + 12 + 4
    make_off = exif_off + exif_len
    note_off = make_off + 4
    strip_off = note_off + len(note)
    e0 = []
    if strip is not None:
        e0 += [entry(0x100, 3, 1, struct.pack('<HH', 1, 0)), entry(0x101, 3, 1, struct.pack('<HH', 1, 0)),
               entry(0x102, 3, 1, struct.pack('<HH', 8, 0))]
    e0 += [entry(0x10F, 2, 4, b'DJI\0')]
    if strip is not None:
        e0 += [entry(0x111, 4, 1, struct.pack('<I', strip_off)), entry(0x117, 4, 1, struct.pack('<I', 1))]
    e0 += [entry(0x8769, 4, 1, struct.pack('<I', exif_off))]
    e0.sort(key=lambda b: struct.unpack('<H', b[:2])[0])
    t = b'II*\0' + struct.pack('<I', 8) + ifd(e0)
    assert len(t) == exif_off
    t += ifd([entry(0x927C, 7, len(note), struct.pack('<I', note_off))])
    t += b'DJI\0' + note + (strip if strip is not None else b'')
    return t
def jpeg(t):
    app1 = b'Exif\0\0' + t
    return (b'\xff\xd8\xff\xe1' + struct.pack('>H', len(app1) + 2) + app1 +
            b'\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00\xff\xda')
out = sys.argv[1]
open(out + '/jpeg_meta/dji_makernote_ifd.jpg', 'wb').write(jpeg(tiff(note_ifd())))
open(out + '/jpeg_meta/dji_makernote_records.jpg', 'wb').write(jpeg(tiff(note_records())))
open(out + '/tiff_meta/dji_makernote_ifd.tif', 'wb').write(tiff(note_ifd(), b'\x80'))
open(out + '/tiff_meta/dji_makernote_records.tif', 'wb').write(tiff(note_records(), b'\x80'))
