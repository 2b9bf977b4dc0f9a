#!/usr/bin/env python3
"""TensorFlow side of bench/quant_compare's conversion-speed benchmark (run with the TF venv,
$EDGEQUANT_CACHE/tfvenv/bin/python; `scripts/setup --tf` makes it).

    tf_cnn.py build WEIGHTS.npz OUT.keras PRED.npy
        Rebuild the tutorial CNN (scripts/make_tutorial_fixture.py's architecture) in Keras from
        the weights of fixtures/tutorial_cnn/float.tflite (extracted by quant_compare into
        WEIGHTS.npz; nothing is trained), save it as OUT.keras and its predictions on the first
        100 MNIST test images as PRED.npy (quant_compare checks them against LiteRT's float
        model). Not timed; done once and cached.

    tf_cnn.py convert MODEL.keras TRAIN_IDX OUT.tflite [--samples 100]
        What is timed, end to end, in a fresh process: import TensorFlow, load the Keras model,
        read the first N training images (pixel / 255), and run TFLiteConverter full-integer
        int8 (Optimize.DEFAULT + representative_dataset + TFLITE_BUILTINS_INT8, float32 model
        I/O like edgequant's default). Prints one JSON line with the phase times.
"""

import os
import sys
import time

T0 = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402


def read_idx(path, limit=None):
    with open(path, "rb") as f:
        head = f.read(4)
        ndim = head[3]
        dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
        if limit is not None:
            dims[0] = min(dims[0], limit)
        n = int(np.prod(dims))
        return np.frombuffer(f.read(n), dtype=np.uint8).reshape(dims)


def build_model(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        L.Conv2D(32, (3, 3), padding="same", activation="relu"),
        L.BatchNormalization(),
        L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), padding="same", activation="relu"),
        L.BatchNormalization(),
        L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), padding="same", activation="relu"),
        L.BatchNormalization(),
        L.Flatten(),
        L.Dense(64, activation="relu"),
        L.Dense(10, activation="softmax"),
    ], name="tutorial_cnn")


def cmd_build(a):
    import keras

    w = np.load(a.weights)
    model = build_model(keras)
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    bns = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    dense = [l for l in model.layers if isinstance(l, keras.layers.Dense)]
    for i, l in enumerate(convs):
        l.set_weights([w[f"conv{i}_w"].transpose(1, 2, 3, 0), w[f"conv{i}_b"]])  # OHWI -> HWIO
    for i, l in enumerate(bns):
        # The .tflite holds BN as x * mul + add; gamma=mul, beta=add, mean=0, var+eps=1.
        mul, add = w[f"bn{i}_mul"], w[f"bn{i}_add"]
        var = np.full_like(mul, 1.0 - l.epsilon)
        l.set_weights([mul, add, np.zeros_like(mul), var])
    for i, l in enumerate(dense):
        l.set_weights([w[f"fc{i}_w"].T, w[f"fc{i}_b"]])  # [out, in] -> [in, out]
    model.save(a.out)
    x = read_idx(a.test_idx, 100).astype(np.float32)[..., None] / 255.0
    np.save(a.pred, model.predict(x, verbose=0).astype(np.float32))
    print(json.dumps({"saved": a.out}))


def cmd_convert(a):
    t_import0 = time.perf_counter()
    import tensorflow as tf
    import keras
    t_import = time.perf_counter() - t_import0

    t = time.perf_counter()
    model = keras.models.load_model(a.model, compile=False)
    t_load = time.perf_counter() - t
    calib = read_idx(a.idx, a.samples).astype(np.float32)[..., None] / 255.0

    def rep():
        for i in range(len(calib)):
            yield [calib[i: i + 1]]

    t = time.perf_counter()
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = rep
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    b = c.convert()
    t_conv = time.perf_counter() - t
    with open(a.out, "wb") as f:
        f.write(b)
    print(json.dumps({"import_s": t_import, "load_s": t_load, "convert_s": t_conv,
                      "total_in_process_s": time.perf_counter() - T0, "bytes": len(b),
                      "tensorflow": tf.__version__, "keras": keras.__version__}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("weights")
    b.add_argument("out")
    b.add_argument("pred")
    b.add_argument("--test-idx", required=True)
    c = sub.add_parser("convert")
    c.add_argument("model")
    c.add_argument("idx")
    c.add_argument("out")
    c.add_argument("--samples", type=int, default=100)
    a = ap.parse_args()
    return cmd_build(a) if a.cmd == "build" else cmd_convert(a)


if __name__ == "__main__":
    sys.exit(main())
