"""Shared helpers for edgequant's Python test/bench tools (run with $EDGEQUANT_CACHE/venv).

Nothing here is imported by the Rust code; the Rust integration tests run the scripts in
this folder as subprocesses. Keep this module free of heavy imports at top level so that
`litert_run.py` does not pay for onnxruntime and vice versa.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("EDGEQUANT_CACHE") or Path.home() / ".cache" / "edgequant")
IMAGES = CACHE / "images"
MNIST = CACHE / "mnist"
FASHION = CACHE / "fashion-mnist"

INT_DTYPES = (np.int8, np.uint8, np.int16, np.int32, np.int64)


def eprint(*a):
    print(*a, file=sys.stderr)


def die(msg: str, code: int = 2):
    eprint(f"error: {msg}")
    sys.exit(code)


# --------------------------------------------------------------------------- npz/npy I/O

def json_bytes(obj) -> np.ndarray:
    """JSON text as a 1-D uint8 array (readable from Rust with npyz as plain bytes)."""
    return np.frombuffer(json.dumps(obj).encode("utf-8"), dtype=np.uint8).copy()


def unique_keys(names):
    """npz keys for tensors: the tensor name; empty or repeated names get '#<index>'."""
    keys, seen = [], set()
    for i, n in enumerate(names):
        k = n if n and not n.startswith("__") else f"#{i}"
        if k in seen:
            k = f"{k}#{i}"
        seen.add(k)
        keys.append(k)
    return keys


def save_npz(path: str, arrays: dict):
    # np.savez appends .npy to every key; keys may contain '/' (kept as zip paths).
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_inputs(paths):
    return [np.load(p, allow_pickle=False) for p in paths]


# --------------------------------------------------------------------------- quantization

def quantize(x: np.ndarray, scale: float, zero_point: int, dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    q = np.round(x.astype(np.float64) / scale) + zero_point  # round half to even, like numpy/TF's converter
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scales, zero_points, axis=0) -> np.ndarray:
    scales = np.asarray(scales, dtype=np.float32)
    zps = np.asarray(zero_points, dtype=np.float32)
    if scales.size <= 1:
        s = float(scales.reshape(-1)[0]) if scales.size else 1.0
        z = float(zps.reshape(-1)[0]) if zps.size else 0.0
        return ((q.astype(np.float32) - z) * s).astype(np.float32)
    shape = [1] * q.ndim
    shape[axis] = -1
    return ((q.astype(np.float32) - zps.reshape(shape)) * scales.reshape(shape)).astype(np.float32)


def litert_qparams(detail: dict) -> dict:
    qp = detail.get("quantization_parameters") or {}
    scales = np.asarray(qp.get("scales", []), dtype=np.float64).tolist()
    zps = np.asarray(qp.get("zero_points", []), dtype=np.int64).tolist()
    return {"scales": scales, "zero_points": zps, "quantized_dimension": int(qp.get("quantized_dimension", 0))}


# --------------------------------------------------------------------------- model inspection

def litert_interpreter(model: str, resolver: str = "auto", num_threads=None, preserve_all=False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kinds = {
        "auto": OpResolverType.AUTO,
        "builtin": OpResolverType.BUILTIN,
        "ref": OpResolverType.BUILTIN_REF,
        "nodelegate": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    }
    return Interpreter(
        model_path=model,
        num_threads=num_threads,
        experimental_op_resolver_type=kinds[resolver],
        experimental_preserve_all_tensors=preserve_all,
    )


def model_inputs(model: str):
    """[(name, shape list (None for dynamic), numpy dtype, qparams or None, layout)]."""
    if model.endswith(".onnx"):
        import onnxruntime as ort

        s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        out = []
        for i in s.get_inputs():
            shape = [d if isinstance(d, int) and d > 0 else None for d in i.shape]
            out.append((i.name, shape, ort_dtype(i.type), None, "NCHW"))
        return out
    it = litert_interpreter(model)
    out = []
    for d in it.get_input_details():
        sig = d.get("shape_signature", d["shape"])
        shape = [int(v) if v > 0 else None for v in sig]
        qp = litert_qparams(d)
        out.append((d["name"], shape, np.dtype(d["dtype"]), qp if qp["scales"] else None, "NHWC"))
    return out


def ort_dtype(t: str):
    m = {
        "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
        "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(int16)": np.int16,
        "tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(bool)": np.bool_,
    }
    return np.dtype(m.get(t, np.float32))


# --------------------------------------------------------------------------- real inputs

# Per-model preprocessing, keyed by file stem. `range` is the float range of pixel values:
# "01" = [0,1], "-11" = [-1,1], "imagenet" = (x/255 - mean)/std, "255" = raw [0,255].
# `crop` is (left, top, right, bottom) in source pixels; `size` fills dynamic H, W.
PRESETS = {
    "face_detection_short_range": {"image": "astronaut.png", "range": "-11", "crop": (96, 0, 352, 256)},
    "iris_landmark": {"image": "astronaut.png", "range": "01", "crop": (184, 93, 224, 133)},
    "hand_landmark_lite": {"image": "astronaut.png", "range": "01"},
    "hand_recrop": {"image": "astronaut.png", "range": "-11"},
    "selfie_segmentation": {"image": "astronaut.png", "range": "01"},
    "ch_ppocr_mobile_v2.0_cls_infer": {"image": "page.png", "range": "-11", "crop": (0, 0, 240, 60), "size": (48, 192)},
    "ch_PP-OCRv4_det_infer": {"image": "page.png", "range": "imagenet", "size": (640, 640)},
}
DEFAULT_PRESET = {"image": "astronaut.png", "range": "01", "size": (224, 224)}

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def list_images():
    return sorted(p.name for p in IMAGES.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


def preset_for(model: str) -> dict:
    p = dict(DEFAULT_PRESET)
    p.update(PRESETS.get(Path(model).stem, {}))
    return p


def load_photo(name: str, h: int, w: int, channels: int, crop=None) -> np.ndarray:
    """Photo as float32 HxWxC in [0,255]: optional crop, then centre crop to the target aspect
    ratio, then bilinear resize (PIL)."""
    from PIL import Image

    path = IMAGES / name
    if not path.exists():
        die(f"image {path} not found (run scripts/setup); available: {', '.join(list_images())}")
    im = Image.open(path)
    im = im.convert("L" if channels == 1 else "RGB")
    if crop:
        im = im.crop(tuple(crop))
    W, H = im.size
    target = w / h
    if W / H > target:  # too wide
        nw = max(1, round(H * target))
        x0 = (W - nw) // 2
        im = im.crop((x0, 0, x0 + nw, H))
    elif W / H < target:
        nh = max(1, round(W / target))
        y0 = (H - nh) // 2
        im = im.crop((0, y0, W, y0 + nh))
    im = im.resize((w, h), Image.BILINEAR)
    a = np.asarray(im, dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    if channels not in (1, 3):
        a = np.resize(a, (h, w, channels))  # repeat channels; odd inputs only
    return a


def scale_pixels(a: np.ndarray, rng: str) -> np.ndarray:
    if rng == "01":
        return a / 255.0
    if rng == "-11":
        return a / 127.5 - 1.0
    if rng == "255":
        return a
    if rng == "imagenet":
        c = a.shape[-1]
        m = IMAGENET_MEAN[:c] if c <= 3 else IMAGENET_MEAN.mean()
        s = IMAGENET_STD[:c] if c <= 3 else IMAGENET_STD.mean()
        return (a / 255.0 - m) / s
    die(f"unknown range {rng!r} (01, -11, imagenet, 255)")


def read_idx(path: Path) -> np.ndarray:
    data = path.read_bytes()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def image_like(shape, layout):
    """(h, w, c, channel_axis) if a 4-D (or 3-D) tensor looks like an image, else None."""
    if len(shape) == 4:
        if layout == "NCHW" or (shape[1] in (1, 3, 4) and shape[3] not in (1, 3, 4)):
            return shape[2], shape[3], shape[1], 1
        return shape[1], shape[2], shape[3], 3
    return None


def make_input(model: str, index: int, name: str, shape, dtype, qparams, layout, *,
               image=None, rng=None, size=None, source="auto", sample=0, seed=0,
               keep_float=False):
    """One real input array for input `index` of `model`, plus a description dict."""
    preset = preset_for(model)
    rng = rng or preset["range"]
    shape = list(shape)
    if shape and shape[0] is None:
        shape[0] = 1
    info = {"name": name, "index": index, "layout": layout}
    img = image_like(shape, layout)
    if img is not None:
        h, w, c, caxis = img
        dh, dw = size or preset.get("size") or DEFAULT_PRESET["size"]
        h = h or dh
        w = w or dw
        c = c or 3
        n = shape[0] or 1
        is_mnist = (h, w, c) == (28, 28, 1)
        src = source
        if src == "auto":
            src = "mnist" if is_mnist and image is None else "image"
        if src in ("mnist", "fashion"):
            from PIL import Image

            d = MNIST if src == "mnist" else FASHION
            imgs = read_idx(d / "t10k-images-idx3-ubyte")
            pix = []
            for k in range(n):
                a = imgs[(sample + k) % len(imgs)]
                if (h, w) != (28, 28):
                    a = np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR))
                pix.append(np.repeat(a.astype(np.float32)[:, :, None], c, axis=-1))
            x = scale_pixels(np.stack(pix), rng)
            info.update(source=src, test_index=sample)
        else:
            names = list_images()
            if image is None:
                first = preset["image"]
                order = [first] + [nm for nm in names if nm != first]
                image = order[sample % len(order)]
            crop = preset.get("crop") if image == preset["image"] else None
            x = np.stack([load_photo(image, h, w, c, crop)] * n)
            x = scale_pixels(x, rng)
            info.update(source="image", image=image, crop=crop)
        if caxis == 1:
            x = np.transpose(x, (0, 3, 1, 2))
        x = x.astype(np.float32).reshape([n, *x.shape[1:]])
        info.update(range=rng)
    elif len(shape) == 2 and shape[1] == 784 and source in ("auto", "mnist", "fashion"):
        src = "fashion" if source == "fashion" else "mnist"
        imgs = read_idx((FASHION if src == "fashion" else MNIST) / "t10k-images-idx3-ubyte")
        n = shape[0] or 1
        pix = np.stack([imgs[(sample + k) % len(imgs)].reshape(784) for k in range(n)]).astype(np.float32)
        x = scale_pixels(pix, rng)
        info.update(source=src, test_index=sample, range=rng)
    else:
        g = np.random.default_rng(seed + index)
        fill = [d if d is not None else 1 for d in shape]
        x = g.standard_normal(fill).astype(np.float32)
        info.update(source="random-normal", seed=seed + index)
    if np.dtype(dtype).kind in "iu" and not keep_float:
        if qparams:
            s, z = qparams["scales"][0], qparams["zero_points"][0]
            x = quantize(x, s, z, np.dtype(dtype))
            info.update(quantized={"scale": s, "zero_point": z})
        else:
            x = np.round(x).astype(dtype)
    elif np.dtype(dtype) != np.float32 and not keep_float:
        x = x.astype(dtype)
    info.update(shape=list(x.shape), dtype=str(x.dtype))
    return x, info


def make_inputs(model: str, **kw):
    arrays, infos = [], []
    for i, (name, shape, dtype, qp, layout) in enumerate(model_inputs(model)):
        x, info = make_input(model, i, name, shape, dtype, qp, layout, **kw)
        arrays.append(x)
        infos.append(info)
    return arrays, infos
