#!/usr/bin/env python3
"""Top-1 accuracy of an MNIST classifier .tflite on the 10k MNIST test set, with LiteRT.

    $EDGEQUANT_CACHE/venv/bin/python scripts/eval_mnist_tflite.py MODEL.tflite [--ref] [--limit N]
        [--dataset mnist|fashion]

Input pixels are x/255.0 (float32), quantized with the input's scale/zero point for int8/uint8
inputs. Prints JSON {"accuracy", "accuracy_ref" (with --ref), "n", "inputs", "outputs", "ops",
"size"}.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests-py"))
import numpy as np  # noqa: E402

import eqlib  # noqa: E402


def accuracy(model, x, y, resolver, batch=100):
    it = eqlib.litert_interpreter(model, resolver)
    d = it.get_input_details()[0]
    od = it.get_output_details()[0]
    shape = list(d["shape"])
    it.resize_tensor_input(d["index"], [batch] + shape[1:])
    it.allocate_tensors()
    want = np.dtype(d["dtype"])
    qp = eqlib.litert_qparams(d)
    correct = 0
    for s in range(0, len(x), batch):
        xb = x[s: s + batch].reshape([-1] + shape[1:])
        if len(xb) != batch:
            it.resize_tensor_input(d["index"], [len(xb)] + shape[1:])
            it.allocate_tensors()
        if want.kind in "iu":
            xb = eqlib.quantize(xb, qp["scales"][0], qp["zero_points"][0], want)
        it.set_tensor(d["index"], xb.astype(want, copy=False))
        it.invoke()
        out = it.get_tensor(od["index"])
        correct += int((out.reshape(len(xb), -1).argmax(1) == y[s: s + batch]).sum())
    return correct / len(x)


def describe(model):
    """Input/output signatures and the op sequence (without delegates) of a .tflite."""
    it = eqlib.litert_interpreter(model, "nodelegate")
    it.allocate_tensors()

    def sig(e):
        q = eqlib.litert_qparams(e)
        shape = [int(v) for v in e.get("shape_signature", e["shape"])]
        s = f"{e['name']} {shape} {np.dtype(e['dtype']).name}"
        if q["scales"]:
            s += f" scale={q['scales'][0]:.9g} zero_point={q['zero_points'][0]}"
        return s

    ops = []
    try:
        for o in it._get_ops_details():  # noqa: SLF001
            if ops and ops[-1][0] == o["op_name"]:
                ops[-1][1] += 1
            else:
                ops.append([o["op_name"], 1])
    except Exception:  # noqa: BLE001
        pass
    return {
        "inputs": [sig(e) for e in it.get_input_details()],
        "outputs": [sig(e) for e in it.get_output_details()],
        "ops": [f"{n}" + (f"×{c}" if c > 1 else "") for n, c in ops],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--ref", action="store_true", help="also evaluate with BUILTIN_REF kernels")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--dataset", default="mnist", choices=["mnist", "fashion"])
    a = ap.parse_args()
    d = eqlib.MNIST if a.dataset == "mnist" else eqlib.FASHION
    x = eqlib.read_idx(d / "t10k-images-idx3-ubyte").astype(np.float32)[..., None] / 255.0
    y = eqlib.read_idx(d / "t10k-labels-idx1-ubyte").astype(np.int64)
    if a.limit:
        x, y = x[: a.limit], y[: a.limit]
    acc = accuracy(a.model, x, y, "auto")
    res = {"model": a.model, "n": len(x), "accuracy": acc, "size": os.path.getsize(a.model), **describe(a.model)}
    if a.ref:
        res["accuracy_ref"] = accuracy(a.model, x, y, "ref")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
