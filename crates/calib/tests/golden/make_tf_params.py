#!/usr/bin/env python3
"""Golden quantization parameters from TensorFlow's converter, for crates/calib/tests/tf_params.rs.

    $EDGEQUANT_CACHE/tfvenv/bin/python crates/calib/tests/golden/make_tf_params.py \
        crates/calib/tests/golden/tf_params.txt

Builds small Keras models with varied activation ranges, converts each with
TFLiteConverter (optimizations=DEFAULT, representative dataset, full int8, and 16x8), reads the
calibrated float ranges (`_experimental_calibrate_only`) and the scales/zero points that the
converter wrote, and prints one line per tensor (f32 values as hex bits, exact):

    act8  <min_bits> <max_bits> <scale_bits> <zero_point>
    act16 <min_bits> <max_bits> <scale_bits> <zero_point>
    chan  <input_scale> <weight_absmax> <bias_value> <weight_scale> <bias_scale>
          (one line per output channel of each CONV_2D / FULLY_CONNECTED, int8 model)
    wq    <weight_scale> <weight_value> <int8 value written>   (samples of every channel)
    bq    <bias_scale> <bias_value> <int32 value written>
"""
import os
import struct
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.lite.tools import flatbuffer_utils  # noqa: E402


def bits(x):
    return "%08x" % struct.unpack("<I", struct.pack("<f", float(np.float32(x))))[0]


def model(seed, scale, offset):
    rng = np.random.default_rng(seed)
    inp = tf.keras.Input((6, 6, 3), batch_size=1)
    x = tf.keras.layers.Conv2D(4, 3, padding="same")(inp)
    y = tf.keras.layers.Conv2D(3, 1, activation="relu")(x)
    z = tf.keras.layers.Flatten()(y)
    z = tf.keras.layers.Dense(5)(z)
    m = tf.keras.Model(inp, z)
    ws = []
    for w in m.get_weights():
        w = rng.normal(size=w.shape).astype(np.float32) * rng.uniform(0.05, 2.0)
        if seed % 3 == 0 and w.ndim == 4:
            w[..., 0] = 0.0  # an all-zero output channel
        ws.append(w)
    if seed == 12:
        # Dead layer: the ReLU conv's bias is so negative that its output is always 0 (a
        # zero-width activation range), and one dense channel has zero weights and zero bias.
        ws[3][:] = -1e4
        ws[4][:, 1] = 0.0
        ws[5][1] = 0.0
    m.set_weights(ws)
    data = [(rng.normal(size=(1, 6, 6, 3)) * scale + offset).astype(np.float32) for _ in range(8)]
    return m, data


def convert(m, data, mode, calibrate_only=False):
    c = tf.lite.TFLiteConverter.from_keras_model(m)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = lambda: ([d] for d in data)
    if mode == "int8":
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    else:
        c.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    if calibrate_only:
        c._experimental_calibrate_only = True
    return flatbuffer_utils.convert_bytearray_to_object(bytearray(c.convert()))


def main():
    out = []
    for seed in range(13):
        scale = [0.01, 0.5, 3.0, 40.0][seed % 4]
        offset = [0.0, 2.0, -1.0][seed % 3] * scale
        m, data = model(seed, scale, offset)
        cal = convert(m, data, "int8", calibrate_only=True)
        ranges = {}
        for t in cal.subgraphs[0].tensors:
            q = t.quantization
            buf = cal.buffers[t.buffer].data
            is_const = buf is not None and len(buf) > 0
            if not is_const and q is not None and q.min is not None and len(q.min) == 1:
                ranges[t.name] = (q.min[0], q.max[0])
        float_w = {}
        for t in cal.subgraphs[0].tensors:
            buf = cal.buffers[t.buffer].data
            if buf is not None and len(buf) and t.type == 0:  # FLOAT32 constants
                float_w[t.name] = np.frombuffer(bytes(buf), np.float32).reshape(t.shape)
        for mode in ("int8", "16x8"):
            qm = convert(m, data, mode)
            tensors = qm.subgraphs[0].tensors
            for t in tensors:
                q = t.quantization
                if q is None or q.scale is None or len(q.scale) == 0:
                    continue
                name = t.name
                buf = qm.buffers[t.buffer].data
                if buf is not None and len(buf) > 0:
                    continue
                if name in ranges and len(q.scale) == 1 and t.type in (9, 7):  # INT8 / INT16
                    lo, hi = ranges[name]
                    tag = "act8" if t.type == 9 else "act16"
                    out.append(f"{tag} {bits(lo)} {bits(hi)} {bits(q.scale[0])} {q.zeroPoint[0]}")
            if mode != "int8":
                continue
            for op in qm.subgraphs[0].operators:
                ins = [tensors[i] if i >= 0 else None for i in op.inputs]
                if len(ins) < 3 or ins[2] is None:
                    continue
                x, w, b = ins[0], ins[1], ins[2]
                def float_of(t):
                    f = float_w.get(t.name)
                    if f is None:
                        same = [a for a in float_w.values() if a.shape == tuple(t.shape)]
                        f = same[0] if len(same) == 1 else None
                    return f
                wf, bf = float_of(w), float_of(b)
                if wf is None or bf is None:
                    continue
                axis = w.quantization.quantizedDimension
                nch = len(w.quantization.scale)
                if nch != len(b.quantization.scale) or nch != bf.size:
                    continue
                moved = np.moveaxis(wf, axis, 0).reshape(nch, -1)
                wbuf = qm.buffers[w.buffer].data
                wq = np.frombuffer(bytes(wbuf), np.int8).reshape(tuple(w.shape))
                qmoved = np.moveaxis(wq, axis, 0).reshape(nch, -1)
                for c in range(nch):
                    for k in range(0, moved.shape[1], max(1, moved.shape[1] // 6)):
                        out.append("wq %s %s %d" % (
                            bits(w.quantization.scale[c]), bits(moved[c, k]), qmoved[c, k]))
                bbuf = qm.buffers[b.buffer].data
                bq = np.frombuffer(bytes(bbuf), np.int32).reshape(-1)
                for c in range(nch):
                    out.append("bq %s %s %d" % (
                        bits(b.quantization.scale[c]), bits(bf.reshape(-1)[c]), bq[c]))
                for c in range(nch):
                    out.append("chan %s %s %s %s %s" % (
                        bits(x.quantization.scale[0]), bits(np.abs(moved[c]).max()),
                        bits(bf.reshape(-1)[c]), bits(w.quantization.scale[c]),
                        bits(b.quantization.scale[c])))
    with open(sys.argv[1], "w") as f:
        f.write("# generated by make_tf_params.py with TensorFlow %s\n" % tf.__version__)
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
