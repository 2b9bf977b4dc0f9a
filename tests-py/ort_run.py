#!/usr/bin/env python3
"""Run an ONNX model in onnxruntime (CPU) and save its outputs.

    ort_run.py MODEL.onnx OUT.npz [-i in0.npy in1.npy ...] [--threads N]
               [--opt disable|basic|extended|all] [--all-tensors ALL.npz]

Inputs: one .npy per graph input, in the session's input order; the dtype must equal the
input's element type. Without -i, make_inputs.py's real-image inputs (NCHW) are used.

OUT.npz: one array per graph output keyed by output name (same key rules and '__order__'
entry as litert_run.py). --all-tensors ALL.npz also dumps every node output (the graph is
rewritten in memory so that each node output is a graph output), keyed by tensor name, with
'__order__' listing the keys in node order; --opt defaults to `disable` in that case so
that every intermediate still exists.

stdout: one JSON object {"model", "inputs": [...], "outputs": [{"key", "name", "shape",
"dtype"}], "run_ms"}. Exit code 2 on bad usage/inputs, 1 if onnxruntime fails.
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
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--opt", choices=["disable", "basic", "extended", "all"], default=None)
    ap.add_argument("--all-tensors", metavar="ALL.npz")
    a = ap.parse_args()

    import onnxruntime as ort

    if not os.path.exists(a.model):
        eqlib.die(f"model {a.model} not found")
    so = ort.SessionOptions()
    if a.threads:
        so.intra_op_num_threads = a.threads
    opt = a.opt or ("disable" if a.all_tensors else "all")
    so.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[opt]

    model_src = a.model
    inter_names = []
    if a.all_tensors:
        import onnx

        m = onnx.load(a.model)
        existing = {o.name for o in m.graph.output}
        for node in m.graph.node:
            for o in node.output:
                if o and o not in existing:
                    inter_names.append(o)
                    m.graph.output.append(onnx.ValueInfoProto(name=o))
                    existing.add(o)
        model_src = m.SerializeToString()
    try:
        sess = ort.InferenceSession(model_src, so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        eqlib.eprint(f"onnxruntime could not load {a.model}: {e}")
        sys.exit(1)

    ins = sess.get_inputs()
    if a.inputs:
        xs = eqlib.load_inputs(a.inputs)
        src = [{"file": p} for p in a.inputs]
    else:
        xs, src = eqlib.make_inputs(a.model)
        eqlib.eprint("ort_run: no -i given, using make_inputs.py's real-image inputs")
    if len(xs) != len(ins):
        eqlib.die(f"model has {len(ins)} inputs, got {len(xs)} arrays")
    feed = {}
    for i, x in zip(ins, xs):
        want = eqlib.ort_dtype(i.type)
        if x.dtype != want:
            eqlib.die(f"input {i.name!r} expects {want}, got {x.dtype}")
        feed[i.name] = x
    try:
        t0 = time.perf_counter()
        res = sess.run(None, feed)
        ms = (time.perf_counter() - t0) * 1e3
    except Exception as e:  # noqa: BLE001
        eqlib.eprint(f"onnxruntime failed on {a.model}: {e}")
        sys.exit(1)

    outs = sess.get_outputs()
    by_name = {o.name: r for o, r in zip(outs, res)}
    n_real = len(outs) - len(inter_names)
    real = outs[:n_real]
    keys = eqlib.unique_keys([o.name for o in real])
    arrays = {k: by_name[o.name] for k, o in zip(keys, real)}
    arrays["__order__"] = eqlib.json_bytes(keys)
    eqlib.save_npz(a.out, arrays)
    meta = [{"key": k, "name": o.name, "shape": list(by_name[o.name].shape), "dtype": str(by_name[o.name].dtype)}
            for k, o in zip(keys, real)]

    if a.all_tensors:
        allkeys = eqlib.unique_keys(inter_names)
        tens = {k: np.asarray(by_name[n]) for k, n in zip(allkeys, inter_names)}
        for k, o in zip(keys, real):
            tens.setdefault(k, by_name[o.name])
        tens["__order__"] = eqlib.json_bytes(list(tens.keys()))
        eqlib.save_npz(a.all_tensors, tens)

    print(json.dumps({"model": a.model, "optimization": opt, "threads": a.threads,
                      "inputs": [{**s, "name": i.name, "shape": list(x.shape), "dtype": str(x.dtype)}
                                 for s, i, x in zip(src, ins, xs)],
                      "outputs": meta, "run_ms": ms}))


if __name__ == "__main__":
    main()
