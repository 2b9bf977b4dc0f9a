#!/usr/bin/env python3
"""Real-image inputs for a model.

    make_inputs.py MODEL OUTDIR [--image NAME] [--range 01|-11|imagenet|255]
                   [--size HxW] [--source auto|image|mnist|fashion] [--sample K]
                   [--all-images] [--float]

Reads the model's inputs (LiteRT for .tflite, onnxruntime for .onnx), loads a photo from
$EDGEQUANT_CACHE/images (made by scripts/setup), centre-crops it to the model's aspect ratio,
resizes it (PIL bilinear) and scales it to the model's float range, NHWC for .tflite and
NCHW for .onnx. Writes OUTDIR/in0.npy, in1.npy, ... (one per model input, in input order)
and OUTDIR/inputs.json describing what was done.

Defaults come from a per-model preset (eqlib.PRESETS: image, crop, range, size for dynamic
dimensions); unknown models get astronaut.png, range [0,1] and 224x224 for dynamic H, W.
28x28x1 (and flat 784) inputs get MNIST test images instead (--sample K = test index K).
Integer inputs (int8/uint8/int16 .tflite inputs) are quantized with the input tensor's
scale and zero point unless --float is given. Non-image inputs get seeded N(0,1) noise.

--all-images writes OUTDIR/<image-stem>/in0.npy ... for every photo in the cache instead.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import eqlib  # noqa: E402


def parse_size(s):
    if s is None:
        return None
    h, w = s.lower().split("x")
    return int(h), int(w)


def write_set(outdir: Path, arrays, infos, model):
    outdir.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(arrays):
        np.save(outdir / f"in{i}.npy", a)
    (outdir / "inputs.json").write_text(json.dumps({"model": str(model), "inputs": infos}, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("outdir")
    ap.add_argument("--image", help="photo file name in $EDGEQUANT_CACHE/images")
    ap.add_argument("--range", dest="rng", choices=["01", "-11", "imagenet", "255"])
    ap.add_argument("--size", help="HxW for dynamic spatial dimensions")
    ap.add_argument("--source", default="auto", choices=["auto", "image", "mnist", "fashion"])
    ap.add_argument("--sample", type=int, default=0, help="MNIST test index / photo number")
    ap.add_argument("--seed", type=int, default=0, help="seed for non-image inputs")
    ap.add_argument("--all-images", action="store_true")
    ap.add_argument("--float", dest="keep_float", action="store_true",
                    help="keep float32 even for integer model inputs")
    a = ap.parse_args()
    if not os.path.exists(a.model):
        eqlib.die(f"model {a.model} not found")
    kw = dict(rng=a.rng, size=parse_size(a.size), source=a.source, sample=a.sample, seed=a.seed,
              keep_float=a.keep_float)
    out = Path(a.outdir)
    if a.all_images:
        for name in eqlib.list_images():
            arrays, infos = eqlib.make_inputs(a.model, image=name, **kw)
            write_set(out / Path(name).stem, arrays, infos, a.model)
        print(json.dumps({"sets": [Path(n).stem for n in eqlib.list_images()]}))
    else:
        arrays, infos = eqlib.make_inputs(a.model, image=a.image, **kw)
        write_set(out, arrays, infos, a.model)
        print(json.dumps({"inputs": infos}))


if __name__ == "__main__":
    main()
