#!/usr/bin/env python3
"""Run a .tflite model in LiteRT (ai-edge-litert) and save its outputs.

    litert_run.py MODEL.tflite OUT.npz [-i in0.npy in1.npy ...] [--ref]
                  [--resolver auto|builtin|ref|nodelegate] [--threads N]
                  [--quantize-inputs] [--dequantize-outputs] [--all-tensors ALL.npz]

Inputs: one .npy per model input, in the model's input order. The array's dtype must equal
the input tensor's dtype (float32, int8, uint8, int16, ...); with --quantize-inputs a float
array given for an integer input is quantized with that input's scale/zero point
(round-half-even, clamp). A shape different from the model's (e.g. another batch size)
resizes the input tensor. Without -i, the real-image inputs of make_inputs.py are used.

--ref uses OpResolverType.BUILTIN_REF (the reference kernels; integer results must be
bit-exact with these). Default is AUTO (optimized kernels + default XNNPACK delegate);
`nodelegate` = BUILTIN_WITHOUT_DEFAULT_DELEGATES.

OUT.npz: one array per output tensor, keyed by the tensor's name (empty/duplicate names:
'#<i>' / '<name>#<i>'), raw dtype (int8 stays int8 unless --dequantize-outputs). Key
'__order__' is a uint8 array holding UTF-8 JSON: the list of keys in output order.
--all-tensors ALL.npz additionally dumps every tensor that holds data after invoke
(experimental_preserve_all_tensors) keyed 't<tensor index>', with '__tensors__' = JSON list
of {index, key, name, shape, dtype, quantization}.

stdout: one JSON object {"model", "resolver", "threads", "inputs": [...], "outputs": [{"key",
"name", "index", "shape", "dtype", "quantization": {"scales", "zero_points",
"quantized_dimension"}}], "invoke_ms"}. Exit code 2 on bad usage/inputs, 1 if LiteRT fails.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import eqlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("-i", "--inputs", nargs="+", action="extend", default=[])
    ap.add_argument("--ref", action="store_true", help="BUILTIN_REF kernels (same as --resolver ref)")
    ap.add_argument("--resolver", default="auto", choices=["auto", "builtin", "ref", "nodelegate"])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--quantize-inputs", action="store_true")
    ap.add_argument("--dequantize-outputs", action="store_true")
    ap.add_argument("--all-tensors", metavar="ALL.npz")
    a = ap.parse_args()
    resolver = "ref" if a.ref else a.resolver

    if not os.path.exists(a.model):
        eqlib.die(f"model {a.model} not found")
    try:
        it = eqlib.litert_interpreter(a.model, resolver, a.threads, preserve_all=bool(a.all_tensors))
    except Exception as e:  # noqa: BLE001
        eqlib.eprint(f"LiteRT could not load {a.model}: {e}")
        sys.exit(1)
    ind = it.get_input_details()

    if a.inputs:
        xs = eqlib.load_inputs(a.inputs)
        src = [{"file": p} for p in a.inputs]
    else:
        xs, src = eqlib.make_inputs(a.model)
        eqlib.eprint("litert_run: no -i given, using make_inputs.py's real-image inputs")
    if len(xs) != len(ind):
        eqlib.die(f"model has {len(ind)} inputs, got {len(xs)} arrays")

    # Cast/quantize and resize before allocating.
    feed = []
    resized = False
    for d, x, s in zip(ind, xs, src):
        want = np.dtype(d["dtype"])
        if x.dtype != want:
            qp = eqlib.litert_qparams(d)
            if a.quantize_inputs and x.dtype.kind == "f" and want.kind in "iu" and qp["scales"]:
                x = eqlib.quantize(x, qp["scales"][0], qp["zero_points"][0], want)
                s["quantized_with"] = {"scale": qp["scales"][0], "zero_point": qp["zero_points"][0]}
            else:
                eqlib.die(f"input {d['name']!r} expects {want}, got {x.dtype}"
                          + (" (use --quantize-inputs to quantize float data)" if want.kind in "iu" else ""))
        if list(x.shape) != list(d["shape"]):
            it.resize_tensor_input(d["index"], list(x.shape))
            resized = True
        feed.append(x)
    try:
        it.allocate_tensors()
        for d, x in zip(ind, feed):
            it.set_tensor(d["index"], np.ascontiguousarray(x))
        t0 = time.perf_counter()
        it.invoke()
        ms = (time.perf_counter() - t0) * 1e3
    except Exception as e:  # noqa: BLE001
        eqlib.eprint(f"LiteRT failed on {a.model} (resolver {resolver}): {e}")
        sys.exit(1)

    outd = it.get_output_details()
    keys = eqlib.unique_keys([d["name"] for d in outd])
    arrays, meta = {}, []
    for k, d in zip(keys, outd):
        y = it.get_tensor(d["index"])
        qp = eqlib.litert_qparams(d)
        if a.dequantize_outputs and y.dtype.kind in "iu" and qp["scales"]:
            y = eqlib.dequantize(y, qp["scales"], qp["zero_points"], qp["quantized_dimension"])
        arrays[k] = y
        meta.append({"key": k, "name": d["name"], "index": int(d["index"]), "shape": list(y.shape),
                     "dtype": str(y.dtype), "quantization": qp})
    arrays["__order__"] = eqlib.json_bytes(keys)
    eqlib.save_npz(a.out, arrays)

    if a.all_tensors:
        tens, tmeta = {}, []
        for d in it.get_tensor_details():
            try:
                v = it.get_tensor(d["index"])
            except Exception:  # noqa: BLE001  (tensors without data)
                continue
            k = f"t{d['index']}"
            tens[k] = v
            tmeta.append({"index": int(d["index"]), "key": k, "name": d["name"], "shape": list(v.shape),
                          "dtype": str(v.dtype), "quantization": eqlib.litert_qparams(d)})
        tens["__tensors__"] = eqlib.json_bytes(tmeta)
        eqlib.save_npz(a.all_tensors, tens)

    ins = []
    for d, x, s in zip(ind, feed, src):
        ins.append({**s, "name": d["name"], "shape": list(x.shape), "dtype": str(x.dtype),
                    "quantization": eqlib.litert_qparams(d)})
    print(json.dumps({"model": a.model, "resolver": resolver, "threads": a.threads, "resized": resized,
                      "inputs": ins, "outputs": meta, "invoke_ms": ms}))


if __name__ == "__main__":
    main()
