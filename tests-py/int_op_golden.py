#!/usr/bin/env python3
"""Generate single-op integer golden files for edgequant's integer kernels.

    int_op_golden.py [--out fixtures/int_golden] [--only NAME ...] [--keep-models DIR]

Stage 1 (needs TensorFlow, run with $EDGEQUANT_TF_PYTHON): builds small float models with
tf.function, converts each with TFLiteConverter (full integer, representative dataset,
int8 or int16 inputs/outputs) into a .tflite holding (mostly) one operator.

Stage 2 (needs ai-edge-litert 2.3, run automatically with $EDGEQUANT_PYTHON): runs each model
with LiteRT's reference kernels (OpResolverType.BUILTIN_REF) with all tensors preserved, and
writes `<case>.npz`:

* `meta` — uint8 array of UTF-8 JSON: {"case", "litert_version", "ops": [{"opcode",
  "name", "inputs", "outputs", "options"}], "tensors": {"<index>": {"name", "shape",
  "dtype", "scales", "zero_points", "quantized_dimension"}}}. `options` holds every scalar
  field of the operator's builtin options table (e.g. "Padding", "StrideW",
  "FusedActivationFunction", "Beta").
* `t<index>` — the data of every tensor an operator reads or writes (weights, biases, axis /
  paddings / size constants, inputs, intermediate and final outputs), raw dtype.

crates/kernels/tests/int_golden.rs replays every operator of every file with edgequant's
kernels and requires every output byte to equal LiteRT's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = Path(os.environ.get("EDGEQUANT_CACHE") or Path.home() / ".cache" / "edgequant")
LITERT_PY = os.environ.get("EDGEQUANT_PYTHON") or str(CACHE / "venv" / "bin" / "python")
TF_PY = os.environ.get("EDGEQUANT_TF_PYTHON") or str(CACHE / "tfvenv" / "bin" / "python")


# ----------------------------------------------------------------------------- stage 1 (TF)

def build_cases(only):
    import tensorflow as tf

    rng = np.random.default_rng(1234)

    def const(shape, scale=1.0):
        return tf.constant((rng.standard_normal(shape) * scale).astype(np.float32))

    cases = {}

    def case(name, specs, fn, mode="int8", ranges=None):
        """specs: list of input shapes; ranges: per-input (lo, hi) of float samples."""
        if only and name not in only:
            return
        cases[name] = (specs, fn, mode, ranges or [(-3.0, 3.0)] * len(specs))

    # --- convolutions -------------------------------------------------------------------
    w = const([3, 3, 3, 5], 0.4)
    b = const([5], 0.5)
    case("conv_same_relu", [[1, 16, 16, 3]],
         lambda x: tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME") + b))
    w2 = const([3, 3, 4, 6], 0.3)
    b2 = const([6], 0.2)
    case("conv_s2_valid", [[1, 10, 11, 4]],
         lambda x: tf.nn.conv2d(x, w2, 2, "VALID") + b2)
    w3 = const([3, 3, 2, 4], 0.5)
    b3 = const([4], 0.1)
    case("conv_dilated_relu6", [[1, 9, 9, 2]],
         lambda x: tf.nn.relu6(tf.nn.conv2d(x, w3, 1, "SAME", dilations=2) + b3))
    w4 = const([1, 1, 8, 16], 0.3)
    b4 = const([16], 0.3)
    case("conv_1x1", [[2, 5, 5, 8]], lambda x: tf.nn.conv2d(x, w4, 1, "SAME") + b4)
    dw = const([3, 3, 4, 2], 0.5)
    db = const([8], 0.3)
    case("depthwise_m2_relu6", [[1, 16, 16, 4]],
         lambda x: tf.nn.relu6(tf.nn.depthwise_conv2d(x, dw, [1, 1, 1, 1], "SAME") + db))
    dw2 = const([3, 3, 6, 1], 0.5)
    db2 = const([6], 0.1)
    case("depthwise_s2", [[1, 9, 9, 6]],
         lambda x: tf.nn.depthwise_conv2d(x, dw2, [1, 2, 2, 1], "SAME") + db2)
    fw = const([24, 10], 0.3)
    fb = const([10], 0.2)
    fw2 = const([40, 32], 0.3)
    fb2 = const([32], 0.2)
    case("fc_relu", [[3, 24]], lambda x: tf.nn.relu(tf.matmul(x, fw) + fb))
    case("fc", [[1, 24]], lambda x: tf.matmul(x, fw) + fb)
    # Large enough (thousands of outputs) to tell rounding variants apart.
    case("fc_large", [[64, 40]], lambda x: tf.matmul(x, fw2) + fb2)
    case("fc_per_tensor", [[64, 40]], lambda x: tf.matmul(x, fw2) + fb2, mode="int8_pt")

    # --- element-wise ---------------------------------------------------------------------
    case("add", [[1, 16, 16, 8], [1, 16, 16, 8]], lambda x, y: x + y,
         ranges=[(-2.0, 2.0), (-6.0, 5.0)])
    case("add_broadcast_relu", [[1, 8, 8, 16], [1, 1, 1, 16]], lambda x, y: tf.nn.relu(x + y),
         ranges=[(-2.0, 2.0), (-1.0, 3.0)])
    case("sub", [[16, 64], [16, 64]], lambda x, y: x - y, ranges=[(-1.0, 4.0), (-3.0, 3.0)])
    case("mul", [[4, 16, 32], [4, 16, 32]], lambda x, y: x * y, ranges=[(-2.0, 2.0), (-4.0, 1.0)])
    case("mul_broadcast", [[1, 8, 8, 16], [16]], lambda x, y: x * y, ranges=[(-2.0, 2.0), (0.0, 3.0)])

    # --- pooling / reductions ---------------------------------------------------------------
    case("avgpool_3x3_s2_same", [[1, 17, 17, 8]],
         lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME"))
    case("maxpool_2x2_valid", [[1, 8, 9, 3]], lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID"))
    case("mean_hw", [[2, 5, 5, 64]], lambda x: tf.reduce_mean(x, axis=[1, 2], keepdims=True))
    case("mean_last", [[2, 3, 7]], lambda x: tf.reduce_mean(x, axis=[-1]))

    # --- activations ------------------------------------------------------------------------
    case("softmax", [[64, 10]], lambda x: tf.nn.softmax(x), ranges=[(-6.0, 6.0)])
    case("softmax_beta", [[2, 16]], lambda x: tf.nn.softmax(x * 0.5), ranges=[(-10.0, 10.0)])
    case("logistic", [[16, 64]], lambda x: tf.sigmoid(x), ranges=[(-8.0, 8.0)])
    case("tanh", [[16, 64]], lambda x: tf.tanh(x), ranges=[(-4.0, 4.0)])
    case("hard_swish", [[16, 64]], lambda x: x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0),
         ranges=[(-5.0, 5.0)])
    case("leaky_relu", [[16, 64]], lambda x: tf.nn.leaky_relu(x, 0.2), ranges=[(-4.0, 4.0)])
    # The converter fuses Keras' PReLU layer (not a hand-written pattern) into PRELU.
    if not only or "prelu" in only:
        inp = tf.keras.Input([3, 3, 6], batch_size=1)
        layer = tf.keras.layers.PReLU(shared_axes=[1, 2])
        prelu_model = tf.keras.Model(inp, layer(inp))
        layer.set_weights([np.linspace(0.05, 0.6, 6).reshape(1, 1, 6).astype(np.float32)])
        case("prelu", [[1, 3, 3, 6]], prelu_model, ranges=[(-4.0, 4.0)])

    # --- data movement ----------------------------------------------------------------------
    case("concat", [[1, 3, 3, 2], [1, 3, 3, 5]], lambda x, y: tf.concat([x, y], axis=3),
         ranges=[(-1.0, 1.0), (-4.0, 3.0)])
    case("pad", [[1, 4, 5, 3]],
         lambda x: tf.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]]), ranges=[(0.5, 3.0)])
    case("resize_bilinear_hpc", [[1, 4, 5, 3]],
         lambda x: tf.image.resize(x, [7, 9], method="bilinear"))
    case("resize_bilinear_align", [[1, 4, 5, 3]],
         lambda x: tf.compat.v1.image.resize_bilinear(x, [8, 10], align_corners=True))
    case("resize_bilinear_legacy", [[1, 3, 4, 2]],
         lambda x: tf.compat.v1.image.resize_bilinear(x, [7, 6]))
    case("resize_nearest", [[1, 4, 5, 3]],
         lambda x: tf.image.resize(x, [9, 8], method="nearest"))

    # --- float boundary (QUANTIZE / DEQUANTIZE) ------------------------------------------
    case("quant_dequant_conv", [[1, 6, 6, 3]],
         lambda x: tf.nn.conv2d(x, w, 1, "SAME") + b, mode="int8_floatio")

    case("uint8_io_conv", [[1, 6, 6, 3]],
         lambda x: tf.nn.conv2d(x, w, 1, "SAME") + b, mode="uint8")

    # --- 16x8 -------------------------------------------------------------------------------
    case("conv_16x8", [[1, 12, 12, 3]],
         lambda x: tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME") + b), mode="16x8")
    case("fc_16x8", [[48, 40]], lambda x: tf.matmul(x, fw2) + fb2, mode="16x8")
    case("add_16x8", [[1, 16, 16, 8], [1, 16, 16, 8]], lambda x, y: x + y, mode="16x8",
         ranges=[(-2.0, 2.0), (-6.0, 5.0)])
    case("depthwise_16x8", [[1, 6, 6, 4]],
         lambda x: tf.nn.depthwise_conv2d(x, dw, [1, 1, 1, 1], "SAME") + db, mode="16x8")
    return cases


def convert(name, specs, fn, mode, ranges, outdir):
    import tensorflow as tf

    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if isinstance(fn, tf.keras.Model):
        conv = tf.lite.TFLiteConverter.from_keras_model(fn)
    else:
        sig = [tf.TensorSpec(s, tf.float32) for s in specs]
        func = tf.function(fn, input_signature=sig)
        conv = tf.lite.TFLiteConverter.from_concrete_functions([func.get_concrete_function()], func)

    def sample():
        return [rng.uniform(lo, hi, size=s).astype(np.float32) for s, (lo, hi) in zip(specs, ranges)]

    samples = [sample() for _ in range(48)]
    # Make sure the calibrated range reaches the stated bounds.
    samples.append([np.full(s, lo, np.float32) for s, (lo, hi) in zip(specs, ranges)])
    samples.append([np.full(s, hi, np.float32) for s, (lo, hi) in zip(specs, ranges)])

    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: iter(samples)
    if mode == "16x8":
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = tf.int16
        conv.inference_output_type = tf.int16
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if mode == "int8_pt":
            conv._experimental_disable_per_channel_quantization_for_dense_layers = True
        if mode in ("int8", "int8_pt"):
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
        if mode == "uint8":
            conv.inference_input_type = tf.uint8
            conv.inference_output_type = tf.uint8
    model = conv.convert()
    (outdir / f"{name}.tflite").write_bytes(model)
    test_in = sample()
    np.savez(outdir / f"{name}.inputs.npz", *test_in)


def stage1(args):
    only = set(args.only or [])
    cases = build_cases(only)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep_models or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name, (specs, fn, mode, ranges) in cases.items():
            print(f"converting {name}", file=sys.stderr)
            convert(name, specs, fn, mode, ranges, work)
        cmd = [LITERT_PY, str(Path(__file__).resolve()), "--stage2", str(work), "--out", args.out]
        subprocess.run(cmd, check=True)


# ------------------------------------------------------------------------ stage 2 (LiteRT)

def options_dict(schema, op):
    t = op.BuiltinOptionsType()
    if t == 0:
        return {}
    names = {v: k for k, v in vars(schema.BuiltinOptions).items() if isinstance(v, int)}
    cls = getattr(schema, names[t], None)
    table = op.BuiltinOptions()
    if cls is None or table is None:
        return {}
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out = {}
    for attr in dir(obj):
        if not attr[:1].isupper() or attr.startswith(("GetRootAs", "Init")) or "BufferHas" in attr:
            continue
        try:
            v = getattr(obj, attr)()
        except TypeError:
            continue
        if isinstance(v, (bool, int, float, np.integer, np.floating)):
            out[attr] = v.item() if hasattr(v, "item") else v
    return out


def stage2(work, out):
    import ai_edge_litert
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if isinstance(v, int)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    version = getattr(ai_edge_litert, "__version__", "2.3.0")
    for model_path in sorted(Path(work).glob("*.tflite")):
        name = model_path.stem
        buf = model_path.read_bytes()
        model = schema.Model.GetRootAs(buf, 0)
        sg = model.Subgraphs(0)
        ops = []
        used = set()
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            opcode = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            ins = [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else []
            outs = [int(v) for v in op.OutputsAsNumpy()]
            used.update(v for v in ins if v >= 0)
            used.update(outs)
            ops.append({"opcode": int(opcode), "name": op_names.get(opcode, str(opcode)),
                        "inputs": ins, "outputs": outs, "options": options_dict(schema, op)})
        interp = Interpreter(model_content=buf,
                             experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                             experimental_preserve_all_tensors=True)
        interp.allocate_tensors()
        with np.load(Path(work) / f"{name}.inputs.npz") as z:
            floats = [z[f"arr_{i}"] for i in range(len(z.files))]
        for det, x in zip(interp.get_input_details(), floats):
            if det["dtype"] == np.float32:
                v = x.astype(np.float32)
            else:
                scale, zp = det["quantization"]
                info = np.iinfo(det["dtype"])
                v = np.clip(np.round(x / scale) + zp, info.min, info.max).astype(det["dtype"])
            interp.set_tensor(det["index"], v)
        interp.invoke()
        details = {d["index"]: d for d in interp.get_tensor_details()}
        arrays = {}
        tensors = {}
        for idx in sorted(used):
            d = details[idx]
            qp = d["quantization_parameters"]
            tensors[str(idx)] = {
                "name": d["name"], "shape": [int(s) for s in d["shape"]],
                "dtype": np.dtype(d["dtype"]).name,
                "scales": [float(s) for s in qp["scales"]],
                "zero_points": [int(z) for z in qp["zero_points"]],
                "quantized_dimension": int(qp["quantized_dimension"]),
            }
            arrays[f"t{idx}"] = np.array(interp.get_tensor(idx))
        meta = {"case": name, "litert_version": version, "ops": ops, "tensors": tensors}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8).copy()
        np.savez_compressed(out / f"{name}.npz", **arrays)
        print(f"{name}: {[o['name'] for o in ops]}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "fixtures" / "int_golden"))
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--keep-models")
    ap.add_argument("--stage2", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage2:
        stage2(args.stage2, args.out)
        return
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        os.execv(TF_PY, [TF_PY, str(Path(__file__).resolve()), *sys.argv[1:]])
    stage1(args)


if __name__ == "__main__":
    main()
