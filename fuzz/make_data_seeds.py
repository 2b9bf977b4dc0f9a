"""Writes the seed corpora of the data-reader fuzz targets (npy_read, npz_read, idx_read) from the
real MNIST subset committed in fixtures/mnist_subset/: small arrays of every dtype the readers
handle, in every header version and layout, each a few hundred bytes.

Usage: python make_data_seeds.py FIXTURES_DIR OUT_DIR   (called by fuzz/make_seeds.sh)
"""
import gzip
import io
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

fixtures, out = Path(sys.argv[1]), Path(sys.argv[2])
raw = gzip.decompress((fixtures / "mnist_subset/train-images-100.idx3.gz").read_bytes())
labels_raw = gzip.decompress((fixtures / "mnist_subset/train-labels-100.idx1.gz").read_bytes())
images = np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 28, 28)
labels = np.frombuffer(labels_raw[8:], dtype=np.uint8)
# Small real crops: 3 images, 6x6 pixels from the centre.
crop = np.ascontiguousarray(images[:3, 11:17, 11:17])


def npy_bytes(a, version=None, fortran=False):
    buf = io.BytesIO()
    if fortran:
        a = np.asfortranarray(a)
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def put(target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


arrays = {
    "u1": crop,
    "f4": (crop / 255.0).astype(np.float32)[..., None],
    "f8": (crop / 255.0).astype(np.float64),
    "f2": (crop / 255.0).astype(np.float16),
    "i1": (crop.astype(np.int16) - 128).astype(np.int8),
    "i2": crop.astype(np.int16) * 3,
    "i4": crop.astype(np.int32) * 1000,
    "i8": labels[:10].astype(np.int64),
    "b1": crop > 128,
    "u2": crop.astype(np.uint16),
    "scalar": np.float32(0.5),
    "empty": np.zeros((0, 6, 6), np.float32),
}
for name, a in arrays.items():
    put("npy_read", f"{name}.npy", npy_bytes(np.asarray(a)))
put("npy_read", "f4_v2.npy", npy_bytes(arrays["f4"], version=(2, 0)))
put("npy_read", "f4_v3.npy", npy_bytes(arrays["f4"], version=(3, 0)))
put("npy_read", "f4_fortran.npy", npy_bytes(arrays["f4"][:, :, :, 0], fortran=True))
put("npy_read", "big_endian.npy", npy_bytes(arrays["f4"].astype(">f4")))


def npz_bytes(named, compressed):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **named)
    return buf.getvalue()


put("npz_read", "one.npz", npz_bytes({"x": arrays["f4"]}, False))
put("npz_read", "one_deflate.npz", npz_bytes({"x": arrays["f4"]}, True))
put("npz_read", "two_labels.npz", npz_bytes({"a": arrays["u1"], "labels": labels[:3]}, False))
put("npz_read", "mixed_deflate.npz",
    npz_bytes({"a": arrays["i2"], "b": arrays["f8"], "c": arrays["b1"]}, True))
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("notes.txt", "not an array")
    z.writestr("x.npy", npy_bytes(arrays["u1"]))
put("npz_read", "other_member.npz", buf.getvalue())


def idx_bytes(code, a):
    dt = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    head = struct.pack(">BBBB", 0, 0, code, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    return head + np.ascontiguousarray(a).astype(dt).tobytes()


put("idx_read", "images_u8.idx3", idx_bytes(0x08, crop))
put("idx_read", "labels_u8.idx1", idx_bytes(0x08, labels[:20]))
put("idx_read", "images_u8.idx3.gz", gzip.compress(idx_bytes(0x08, crop), mtime=0))
put("idx_read", "labels.idx1.gz", gzip.compress(idx_bytes(0x08, labels[:20]), mtime=0))
put("idx_read", "i8.idx", idx_bytes(0x09, arrays["i1"]))
put("idx_read", "i16.idx", idx_bytes(0x0B, arrays["i2"]))
put("idx_read", "i32.idx", idx_bytes(0x0C, arrays["i4"][:1]))
put("idx_read", "f32.idx", idx_bytes(0x0D, arrays["f4"][:1, :, :, 0]))
put("idx_read", "f64.idx", idx_bytes(0x0E, arrays["f8"][:1]))
