#!/usr/bin/env python3
"""Per-tensor comparison of quantized .tflite models against their float model (diagnosis for
bench/quant_compare; test venv).

    quant_tensors.py FLOAT.tflite EVAL_DIR RANGE Q1.tflite [Q2.tflite ...] [--resolver ref|auto]

Runs the float model and every quantized model in LiteRT (reference kernels, all tensors
preserved) on the images in EVAL_DIR (PNG, already at the model's input size; RANGE is 01,
-11 or imagenet as in bench/quant_compare) and prints, in the float model's op order, for every
float tensor that each quantized model also has (matched by name, `_quantized`/`_dequantized`
suffixes ignored): the producing op, its SQNR in dB against the float tensor over all images
(integer tensors dequantized) and the tensor's dtype/scale/zero point in each model. Tensors
absent from a quantized model (fused away) show "—".
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests-py"))
import eqlib  # noqa: E402

RANGES = {"01": ([0.0], [255.0]), "-11": ([127.5], [127.5]),
          "imagenet": ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375])}


def load_images(d: Path, rng: str):
    from PIL import Image

    mean, std = RANGES[rng]
    files = sorted(d.glob("*.png"))
    x = np.stack([np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) for f in files])
    return ((x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).astype(np.float32)


def base_name(n: str) -> str:
    for suf in ("_quantized", "_dequantized", "_requantized"):
        while n.endswith(suf):
            n = n[: -len(suf)]
    return n


def run_all(model: str, xs, resolver="ref"):
    """{tensor name: (array stacked over samples as float, detail)} for every non-constant tensor."""
    it = eqlib.litert_interpreter(model, resolver, preserve_all=True)
    it.allocate_tensors()
    ins = it.get_input_details()
    details = it.get_tensor_details()
    ops = it._get_ops_details()  # noqa: SLF001
    produced = {}
    for op in ops:
        for o in op["outputs"]:
            produced[o] = op["op_name"]
    acc = {}
    for x in xs:
        d = ins[0]
        v = x[None]
        dt = np.dtype(d["dtype"])
        if dt.kind in "iu":
            qp = eqlib.litert_qparams(d)
            v = eqlib.quantize(v, qp["scales"][0], qp["zero_points"][0], dt)
        it.set_tensor(d["index"], v.astype(dt))
        it.invoke()
        for t in details:
            i = t["index"]
            if i not in produced and i != d["index"]:
                continue
            try:
                y = it.get_tensor(i)
            except ValueError:
                continue
            dt = np.dtype(t["dtype"])
            if dt.kind in "iu":
                qp = eqlib.litert_qparams(t)
                if not len(qp["scales"]):
                    continue
                y = eqlib.dequantize(y, qp["scales"], qp["zero_points"], qp["quantized_dimension"])
            acc.setdefault(t["name"], []).append(np.array(y, dtype=np.float64))
    out = {}
    byidx = {t["index"]: t for t in details}
    for t in details:
        if t["name"] in acc:
            out[t["name"]] = (np.stack(acc[t["name"]]), t, produced.get(t["index"], "input"))
    return out, ops, byidx


def sqnr(ref, got):
    noise = np.sum((ref - got) ** 2)
    sig = np.sum(ref * ref)
    if noise == 0:
        return float("inf")
    return 10 * np.log10(max(sig, 1e-300) / noise)


def qdesc(t):
    dt = np.dtype(t["dtype"]).name
    qp = t["quantization_parameters"]
    if len(qp["scales"]) == 1:
        return f"{dt} s={qp['scales'][0]:.4g} z={qp['zero_points'][0]}"
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("float")
    ap.add_argument("eval_dir")
    ap.add_argument("range")
    ap.add_argument("quant", nargs="+")
    ap.add_argument("--resolver", default="ref", help="LiteRT op resolver: ref (reference kernels) or auto (default, XNNPACK)")
    a = ap.parse_args()
    xs = load_images(Path(a.eval_dir), a.range)
    fl, fops, fidx = run_all(a.float, xs, a.resolver)
    qs = []
    for q in a.quant:
        r, _, _ = run_all(q, xs, a.resolver)
        byb = {}
        for n, v in r.items():
            b = base_name(n)
            # prefer the integer tensor of the same name over a float copy
            if b not in byb or np.dtype(v[1]["dtype"]).kind in "iu":
                byb[b] = v
        qs.append(byb)
    hdr = ["op", "tensor", "float range"] + [f"{Path(q).stem} dB" for q in a.quant] + [f"{Path(q).stem} q" for q in a.quant]
    print("\t".join(hdr))
    for op in fops:
        for o in op["outputs"]:
            t = fidx[o]
            n = t["name"]
            if n not in fl:
                continue
            ref = fl[n][0]
            row = [op["op_name"], n[:60], f"[{ref.min():.3g},{ref.max():.3g}]"]
            descs = []
            for q in qs:
                if n in q:
                    got = q[n][0]
                    if got.shape != ref.shape and got.size == ref.size:
                        got = got.reshape(ref.shape)
                    row.append(f"{sqnr(ref, got):.1f}")
                    descs.append(qdesc(q[n][1]))
                else:
                    row.append("—")
                    descs.append("—")
            print("\t".join(row + descs))


if __name__ == "__main__":
    sys.exit(main())
