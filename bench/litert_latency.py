#!/usr/bin/env python3
"""Batch-1 latency of LiteRT on a model's real-image input.

    $EDGEQUANT_CACHE/venv/bin/python bench/litert_latency.py MODEL.tflite [--ref] [--runs N]
        [--warmup N] [--resolver auto|builtin|ref|nodelegate] [-i in0.npy ...]

Runs the model with num_threads=1 and with LiteRT's default thread count, default kernels
(OpResolverType.AUTO: optimized kernels + default XNNPACK delegate) or, with --ref, the
reference kernels (BUILTIN_REF). Inputs: -i files, else tests-py/make_inputs.py's real-image
input. Only invoke() is timed. Prints one JSON object:

  {"model", "resolver", "runs", "warmup", "input": {...},
   "threads_1": {"median_ms", "mean_ms", "min_ms", "max_ms"},
   "threads_default": {...}}
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests-py"))
import numpy as np  # noqa: E402

import eqlib  # noqa: E402


def measure(model, xs, resolver, threads, runs, warmup):
    it = eqlib.litert_interpreter(model, resolver, threads)
    it.allocate_tensors()
    ind = it.get_input_details()
    for d, x in zip(ind, xs):
        it.set_tensor(d["index"], x)
    for _ in range(warmup):
        it.invoke()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        t.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(t), "mean_ms": statistics.fmean(t), "min_ms": min(t), "max_ms": max(t)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--ref", action="store_true", help="reference kernels (= --resolver ref)")
    ap.add_argument("--resolver", default="auto", choices=["auto", "builtin", "ref", "nodelegate"],
                    help="nodelegate = optimized builtin kernels without the XNNPACK delegate")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("-i", "--inputs", nargs="+", action="extend", default=[])
    a = ap.parse_args()
    if a.inputs:
        xs = eqlib.load_inputs(a.inputs)
        info = [{"file": p} for p in a.inputs]
    else:
        xs, info = eqlib.make_inputs(a.model)
    resolver = "ref" if a.ref else a.resolver
    res = {"model": a.model, "resolver": resolver, "runs": a.runs, "warmup": a.warmup, "input": info}
    try:
        res["threads_1"] = measure(a.model, xs, resolver, 1, a.runs, a.warmup)
        res["threads_default"] = measure(a.model, xs, resolver, None, a.runs, a.warmup)
    except Exception as e:  # noqa: BLE001
        res["error"] = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(json.dumps(res))
        sys.exit(1)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
