#!/usr/bin/env python3
"""ONNX Runtime's quantizer as a reference for bench/quant_compare (test venv).

    ort_quantize.py MODEL.onnx OUT.onnx --mode int8|dynamic [--calib CALIB.npz] [--no-preprocess]

int8:    onnxruntime.quantization.quantize_static, QuantFormat.QDQ, per_channel=True,
         CalibrationMethod.MinMax, activation_type=weight_type=QInt8, reduce_range=False,
         calibration data = every sample in CALIB.npz (one array per input name, first axis =
         samples, NCHW).
dynamic: quantize_dynamic, weight_type=QInt8, per_channel=True.

By default the model first goes through onnxruntime.quantization.shape_inference.
quant_pre_process (symbolic shape inference + ORT graph optimization), as ORT's documentation
recommends (with symbolic shape inference if sympy is installed, else ONNX shape inference
only), upgraded to opset 13 if older (per-channel DequantizeLinear needs it); if that fails the
raw model is quantized and the JSON says so.
Prints one JSON line: {"seconds", "bytes", "preprocessed" (how, or null),
"preprocess_error"}.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--mode", choices=["int8", "dynamic"], required=True)
    ap.add_argument("--calib")
    ap.add_argument("--no-preprocess", action="store_true")
    a = ap.parse_args()

    t0 = time.perf_counter()
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_dynamic, quantize_static)

    tmp = tempfile.mkdtemp(prefix="ortq.")
    src = a.model
    pre_err = None
    pre_mode = None
    if not a.no_preprocess:
        from onnxruntime.quantization.shape_inference import quant_pre_process

        pre = os.path.join(tmp, "pre.onnx")
        # Symbolic shape inference needs sympy (not in the test venv): fall back to ONNX shape
        # inference only, then to the raw model.
        for skip_symbolic in (False, True):
            try:
                quant_pre_process(a.model, pre, skip_symbolic_shape=skip_symbolic)
                src = pre
                pre_mode = "onnx shape inference only" if skip_symbolic else "symbolic shape inference"
                # The fused Conv+BN biases become per-channel DequantizeLinear (axis needs opset
                # 13); quant_pre_process keeps the model's opset (11 for the rapidocr models).
                import onnx
                from onnx import version_converter

                pm = onnx.load(pre)
                op = next((o.version for o in pm.opset_import if o.domain in ("", "ai.onnx")), 13)
                if op < 13:
                    onnx.save(version_converter.convert_version(pm, 13), pre)
                    pre_mode += f", opset {op} -> 13"
                break
            except Exception as e:  # noqa: BLE001
                pre_err = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]

    if a.mode == "int8":
        if not a.calib:
            print("error: --calib needed for int8", file=sys.stderr)
            return 2
        data = np.load(a.calib)
        names = list(data.files)
        n = len(data[names[0]])

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.i = 0

            def get_next(self):
                if self.i >= n:
                    return None
                d = {k: data[k][self.i: self.i + 1] for k in names}
                self.i += 1
                return d

            def rewind(self):
                self.i = 0

        quantize_static(src, a.out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=False, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    else:
        quantize_dynamic(src, a.out, weight_type=QuantType.QInt8, per_channel=True)
    print(json.dumps({"seconds": time.perf_counter() - t0, "bytes": os.path.getsize(a.out),
                      "preprocessed": pre_mode, "preprocess_error": None if pre_mode else pre_err}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
