#!/usr/bin/env python3
"""LiteRT's own quantizer (PyPI `ai-edge-quantizer`) as a reference for bench/quant_compare.
Run with its own venv ($EDGEQUANT_CACHE/aeq-venv/bin/python; quant_compare creates it).

    aeq_quantize.py MODEL.tflite OUT.tflite --recipe int8|dynamic|float16 [--calib CALIB.npz]
                    [--calibrator minmax|default] [--float-input]

Recipes:
  int8     recipe.static_wi8_ai8(): int8 per-channel symmetric weights, int8 asymmetric per-tensor
           activations. Calibration with --calib (one array per model input, first axis =
           samples). --calibrator minmax (default here) merges per-sample ranges with
           qsv_utils.min_max_update, i.e. plain min/max over all samples, like edgequant's and
           TFLite's min/max calibrator; `default` keeps AEQ's own moving average (0.95).
  dynamic  recipe.dynamic_legacy_wi8_afp32(): int8 per-channel weights with >= 1024 elements,
           float activations (TFLite's legacy dynamic range, as edgequant's --mode dynamic).
  float16  weight-only FLOAT_CASTING to 16 bits (float16 weights, float compute).

Float16 weights behind DEQUANTIZE (the mediapipe models) are folded into float32 constants
first (the DEQUANTIZE op is removed, the float16 buffer emptied): AEQ quantizes only constant
float32 weights, and leaves a model with DEQUANTIZE'd float16 weights unquantized (its int8
recipe then makes a model larger than the float one). The fold is exact. --no-fold-fp16
disables it.

Operator codes stored only in the deprecated 8-bit field (old converters) are copied into
`builtin_code`, which is all AEQ reads. Models without a SignatureDef (the mediapipe ones) get a `serving_default` signature that maps
every subgraph-0 input/output by its tensor name (AEQ drives LiteRT through signature runners);
nothing else is changed. Prints one JSON line: {"seconds", "bytes", "added_signature",
"folded_fp16_dequantize"}.
"""

import argparse
import json
import os
import sys
import time

import numpy as np


def fold_fp16_dequantize(m):
    """Replace DEQUANTIZE(float16 constant) by a float32 constant. Returns the number folded."""
    from ai_edge_litert import schema_py_generated as S
    from ai_edge_litert.tools import flatbuffer_utils as fbu

    folded = 0
    for sg in m.subgraphs:
        users = {}
        for op in sg.operators:
            for i in (op.inputs if op.inputs is not None else []):
                users[int(i)] = users.get(int(i), 0) + 1
        keep = []
        for op in sg.operators:
            code = fbu.get_builtin_code_from_operator_code(m.operatorCodes[op.opcodeIndex])
            if code == S.BuiltinOperator.DEQUANTIZE and len(op.inputs) == 1:
                tin = sg.tensors[int(op.inputs[0])]
                buf = m.buffers[tin.buffer] if tin.buffer else None
                data = None if buf is None else buf.data
                if tin.type == S.TensorType.FLOAT16 and data is not None and len(data) > 0:
                    f32 = np.frombuffer(bytes(np.asarray(data, dtype=np.uint8)), dtype=np.float16).astype(np.float32)
                    nb = S.BufferT()
                    nb.data = np.frombuffer(f32.tobytes(), dtype=np.uint8).copy()
                    m.buffers.append(nb)
                    tout = sg.tensors[int(op.outputs[0])]
                    tout.buffer = len(m.buffers) - 1
                    if users.get(int(op.inputs[0]), 0) <= 1:
                        buf.data = None
                    folded += 1
                    continue
            keep.append(op)
        sg.operators = keep
        # Drop the now unused float16 tensors (a tensor without data and producer confuses
        # AEQ's calibrator) and renumber.
        used = set(int(i) for i in sg.inputs) | set(int(i) for i in sg.outputs)
        for op in sg.operators:
            used |= {int(i) for i in op.inputs if i >= 0} | {int(i) for i in op.outputs if i >= 0}
        order = sorted(used)
        remap = {old: new for new, old in enumerate(order)}
        sg.tensors = [sg.tensors[i] for i in order]
        sg.inputs = [remap[int(i)] for i in sg.inputs]
        sg.outputs = [remap[int(i)] for i in sg.outputs]
        for op in sg.operators:
            op.inputs = [remap[int(i)] if i >= 0 else -1 for i in op.inputs]
            op.outputs = [remap[int(i)] if i >= 0 else -1 for i in op.outputs]
    return folded


def add_float_inputs(path: str) -> int:
    """Gives every int8/uint8 model input a float32 twin with a QUANTIZE op in front (same
    parameters), as TensorFlow's converter and edgequant do for float model I/O: the model then
    takes float input and LiteRT's own QUANTIZE kernel rounds it. Returns the number of inputs
    changed. The signature keeps the input names."""
    from ai_edge_litert import schema_py_generated as S
    from ai_edge_litert.tools import flatbuffer_utils as fbu

    m = fbu.read_model(path)
    sg = m.subgraphs[0]
    qcode = None
    for k, opc in enumerate(m.operatorCodes):
        if fbu.get_builtin_code_from_operator_code(opc) == S.BuiltinOperator.QUANTIZE:
            qcode = k
    if qcode is None:
        opc = S.OperatorCodeT()
        opc.builtinCode = S.BuiltinOperator.QUANTIZE
        opc.deprecatedBuiltinCode = S.BuiltinOperator.QUANTIZE
        opc.version = 1
        m.operatorCodes.append(opc)
        qcode = len(m.operatorCodes) - 1
    changed = 0
    new_inputs = []
    front = []
    for k, ti in enumerate(sg.inputs):
        t = sg.tensors[ti]
        if t.type not in (S.TensorType.INT8, S.TensorType.UINT8):
            new_inputs.append(ti)
            continue
        f = S.TensorT()
        f.name = t.name
        f.shape = t.shape
        f.shapeSignature = t.shapeSignature
        f.type = S.TensorType.FLOAT32
        empty = S.BufferT()
        m.buffers.append(empty)
        f.buffer = len(m.buffers) - 1
        nm = t.name.decode() if isinstance(t.name, bytes) else t.name
        t.name = nm + "_int8"
        sg.tensors.append(f)
        fi = len(sg.tensors) - 1
        op = S.OperatorT()
        op.opcodeIndex = qcode
        op.inputs = [fi]
        op.outputs = [ti]
        front.append(op)
        new_inputs.append(fi)
        for sd in m.signatureDefs or []:
            for tm in sd.inputs or []:
                if tm.tensorIndex == ti:
                    tm.tensorIndex = fi
        changed += 1
    sg.inputs = new_inputs
    sg.operators = front + list(sg.operators)
    fbu.write_model(m, path)
    return changed


def ensure_signature(buf: bytes, fold: bool = True):
    from ai_edge_litert import schema_py_generated as S
    from ai_edge_litert.tools import flatbuffer_utils as fbu

    m = fbu.convert_bytearray_to_object(bytearray(buf))
    # Old models (mediapipe's) carry the op code only in deprecated_builtin_code; AEQ reads
    # builtin_code alone and would take every such op for ADD (code 0).
    fixed = 0
    for opc in m.operatorCodes:
        code = fbu.get_builtin_code_from_operator_code(opc)
        if opc.builtinCode != code:
            opc.builtinCode = code
            fixed += 1
    folded = fold_fp16_dequantize(m) if fold else 0
    if m.signatureDefs:
        return (bytes(fbu.convert_object_to_bytearray(m)) if folded or fixed else buf), False, folded
    sg = m.subgraphs[0]

    def tmap(i):
        t = S.TensorMapT()
        nm = sg.tensors[i].name
        t.name = nm.decode() if isinstance(nm, bytes) else nm
        t.tensorIndex = int(i)
        return t

    sd = S.SignatureDefT()
    sd.signatureKey = "serving_default"
    sd.subgraphIndex = 0
    sd.inputs = [tmap(i) for i in sg.inputs]
    sd.outputs = [tmap(i) for i in sg.outputs]
    m.signatureDefs = [sd]
    return bytes(fbu.convert_object_to_bytearray(m)), True, folded


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--recipe", choices=["int8", "dynamic", "float16"], required=True)
    ap.add_argument("--calib")
    ap.add_argument("--calibrator", choices=["minmax", "default"], default="minmax")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-fold-fp16", action="store_true")
    ap.add_argument("--save-prepared", help="also write the folded/signed float model here")
    ap.add_argument("--float-input", action="store_true",
                    help="int8 recipe: float32 model inputs with a QUANTIZE op in front (see add_float_inputs)")
    a = ap.parse_args()

    t0 = time.perf_counter()
    from ai_edge_quantizer import calibrator, qtyping, quantizer, recipe
    from ai_edge_quantizer.utils import qsv_utils

    with open(a.model, "rb") as f:
        buf, added, folded = ensure_signature(f.read(), fold=not a.no_fold_fp16)
    if a.save_prepared:
        with open(a.save_prepared, "wb") as f:
            f.write(buf)

    if a.recipe == "int8":
        rcp = recipe.static_wi8_ai8()
    elif a.recipe == "dynamic":
        rcp = recipe.dynamic_legacy_wi8_afp32()
    else:
        from ai_edge_quantizer import recipe_manager

        rm = recipe_manager.RecipeManager()
        rm.add_weight_only_config(
            regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED, num_bits=16,
            algorithm_key=recipe.AlgorithmName.FLOAT_CASTING)
        rcp = rm.get_quantization_recipe()

    qt = quantizer.Quantizer(bytearray(buf), rcp)
    calib_result = None
    if qt.need_calibration:
        if not a.calib:
            print("error: --calib needed for this recipe", file=sys.stderr)
            return 2
        data = np.load(a.calib)
        names = list(data.files)
        n = len(data[names[0]])
        samples = [{k: data[k][i: i + 1] for k in names} for i in range(n)]
        dataset = {"serving_default": samples}
        if a.calibrator == "minmax":
            cal = calibrator.Calibrator(bytearray(buf), num_threads=a.threads,
                                        qsv_update_func=qsv_utils.min_max_update)
            cal.calibrate(dataset, qt._recipe_manager)  # noqa: SLF001 (same as Quantizer.calibrate)
            calib_result = cal.get_model_qsvs()
        else:
            calib_result = qt.calibrate(dataset, num_threads=a.threads)
    res = qt.quantize(calib_result, enable_progress_report=False)
    if os.path.exists(a.out):
        os.remove(a.out)
    res.export_model(a.out)
    float_inputs = add_float_inputs(a.out) if a.float_input else 0
    print(json.dumps({"seconds": time.perf_counter() - t0, "bytes": os.path.getsize(a.out),
                      "added_signature": added, "folded_fp16_dequantize": folded,
                      "float_inputs": float_inputs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
