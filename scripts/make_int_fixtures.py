#!/usr/bin/env python3
"""TensorFlow-converted integer models for the integer interpreter's tests
(crates/interp/tests/int_models.rs). Output: fixtures/int_models/.

    scripts/setup --tf
    $EDGEQUANT_CACHE/tfvenv/bin/python scripts/make_int_fixtures.py [--seed 1234]

Two Keras models, each converted by TensorFlow's own converter in the integer modes that
fixtures/tutorial_cnn/ does not already cover:

* `tutorial_*`: the tutorial CNN of DESIGN.md section 1, trained exactly as
  scripts/make_tutorial_fixture.py does (1 epoch, same seed): 16x8 (int16 activations),
  uint8 model input/output, and int8 with per-tensor FULLY_CONNECTED weights.
* `opzoo_*`: a small MNIST network that exercises most integer kernels (per-channel conv with
  stride / 1x1, depthwise with multiplier 2 and stride 2, ADD, SUB, MUL, PRELU,
  LEAKY_RELU, HARD_SWISH, LOGISTIC, TANH, MAXIMUM, MINIMUM, AVERAGE/MAX_POOL, CONCATENATION,
  RESIZE_BILINEAR, PAD, MEAN, FULLY_CONNECTED, SOFTMAX), trained for one epoch on 10k MNIST
  images so that activation ranges are realistic; converted to int8 (int8 I/O), int8 with float
  I/O, 16x8 (ops without a 16x8 kernel stay float), dynamic range (per-channel weights, and
  per-tensor weights via the converter's `_experimental_disable_per_channel`) and uint8 I/O.
  (No dilated convolution: TensorFlow converts it to SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND,
  which the IR does not have.)

Representative dataset: the first 100 MNIST training images (pixel / 255). Writes
fixtures/int_models/README.md with versions, ops and SHA-256s.
"""

import argparse
import hashlib
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("EDGEQUANT_CACHE") or Path.home() / ".cache" / "edgequant")
OUT = ROOT / "fixtures" / "int_models"

import numpy as np  # noqa: E402


def read_idx(path: Path) -> np.ndarray:
    data = path.read_bytes()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def tutorial_model(keras):
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


def opzoo_model(keras, tf):
    L = keras.layers
    x = keras.Input(shape=(28, 28, 1))
    a = L.Conv2D(16, 3, padding="same", activation="relu6")(x)
    b = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(a)
    b = L.LeakyReLU(negative_slope=0.1)(b)
    c = L.Conv2D(32, 1)(a)
    s = L.Add()([b, c])
    s = L.PReLU(shared_axes=[1, 2])(s)
    p = L.AveragePooling2D(2)(s)
    q = L.MaxPooling2D(2)(s)
    cat = L.Concatenate()([p, q])
    # >= 1024 weights, so that the dynamic-range converter quantizes it (hybrid depthwise).
    d = L.DepthwiseConv2D(3, strides=2, padding="valid", depth_multiplier=2)(cat)
    d = L.Activation("hard_swish")(d)
    e = L.Conv2D(32, 3, strides=2, padding="same")(d)
    g = L.Activation("sigmoid")(e)
    h = L.Activation("tanh")(e)
    m = L.Multiply()([g, h])
    sub = L.Subtract()([m, e])
    mx = L.Maximum()([sub, e])
    mn = L.Minimum()([sub, e])
    mm = L.Add()([mx, mn])
    u = L.UpSampling2D(2, interpolation="bilinear")(mm)
    z = L.ZeroPadding2D(1)(u)
    gap = L.GlobalAveragePooling2D()(z)
    f = L.Dense(64, activation="relu")(gap)
    out = L.Dense(10, activation="softmax")(f)
    return keras.Model(x, out, name="opzoo")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--calib", type=int, default=100)
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    import tensorflow as tf
    import keras

    mn = CACHE / "mnist"
    x_train = read_idx(mn / "train-images-idx3-ubyte").astype(np.float32)[..., None] / 255.0
    y_train = read_idx(mn / "train-labels-idx1-ubyte").astype(np.int64)
    calib = x_train[: a.calib]

    def rep():
        for i in range(len(calib)):
            yield [calib[i: i + 1]]

    def convert(model, mode):
        c = tf.lite.TFLiteConverter.from_keras_model(model)
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "dynamic":
            return c.convert()
        if mode == "dynamic_per_tensor":
            c._experimental_disable_per_channel = True
            return c.convert()
        c.representative_dataset = rep
        if mode == "16x8":
            c.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
                tf.lite.OpsSet.TFLITE_BUILTINS,
            ]
            return c.convert()
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if mode in ("int8", "int8_fc_per_tensor"):
            c.inference_input_type = tf.int8
            c.inference_output_type = tf.int8
        elif mode == "uint8io":
            c.inference_input_type = tf.uint8
            c.inference_output_type = tf.uint8
        if mode == "int8_fc_per_tensor":
            c._experimental_disable_per_channel_quantization_for_dense_layers = True
        return c.convert()

    written = []

    # The tutorial CNN, trained as scripts/make_tutorial_fixture.py does.
    keras.utils.set_random_seed(a.seed)
    tf.config.experimental.enable_op_determinism()
    model = tutorial_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=50, epochs=1, shuffle=True, verbose=2)
    for mode in ["16x8", "uint8io", "int8_fc_per_tensor"]:
        b = convert(model, mode)
        p = out / f"tutorial_{mode}.tflite"
        p.write_bytes(b)
        written.append((p, f"tutorial CNN, {mode}"))
        print(f"{p.name}: {len(b)} bytes")

    # The op zoo.
    keras.utils.set_random_seed(a.seed)
    zoo = opzoo_model(keras, tf)
    zoo.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy(),
                metrics=["accuracy"])
    zoo.fit(x_train[:10000], y_train[:10000], batch_size=50, epochs=1, shuffle=True, verbose=2)
    for mode in ["float", "int8", "int8_floatio", "16x8", "dynamic", "dynamic_per_tensor", "uint8io"]:
        if mode == "float":
            b = tf.lite.TFLiteConverter.from_keras_model(zoo).convert()
        else:
            b = convert(zoo, mode)
        p = out / f"opzoo_{mode}.tflite"
        p.write_bytes(b)
        written.append((p, f"op zoo, {mode}"))
        print(f"{p.name}: {len(b)} bytes")

    write_readme(out, a, tf.__version__, keras.__version__, written)


def ops_of(path: Path):
    from tensorflow.lite.python.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(path),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    ops = []
    for d in it._get_ops_details():
        name = d["op_name"]
        ins = [i for i in d["inputs"] if i >= 0]
        dt = np.dtype(it._get_tensor_details(ins[0], 0)["dtype"]).name if ins else "?"
        ops.append(f"{name}({dt})")
    return ops


def write_readme(out, a, tfv, kv, written):
    lines = [
        "# int_models fixture",
        "",
        "Integer models converted by TensorFlow's own converter, for the integer interpreter's tests",
        "(`crates/interp/tests/int_models.rs`). Generated by `scripts/make_int_fixtures.py`; do not edit",
        "by hand. See the script's docstring for the two Keras models and the conversion modes.",
        "",
        "## Regenerate",
        "",
        "```sh",
        "scripts/setup --tf",
        f"$HOME/.cache/edgequant/tfvenv/bin/python scripts/make_int_fixtures.py --seed {a.seed}",
        "```",
        "",
        f"Versions: TensorFlow {tfv} (tensorflow-cpu), Keras {kv}, Python {platform.python_version()}.",
        f"Representative dataset: the first {a.calib} MNIST training images (pixel / 255).",
        "",
        "| file | model, mode | size (bytes) | sha256 |",
        "|---|---|---:|---|",
    ]
    for p, desc in written:
        h = hashlib.sha256(p.read_bytes()).hexdigest()
        lines.append(f"| `{p.name}` | {desc} | {p.stat().st_size:,} | `{h}` |")
    lines += ["", "## Ops (first operand's type)", ""]
    for p, _ in written:
        try:
            lines.append(f"- `{p.name}`: {' → '.join(ops_of(p))}")
        except Exception as e:  # noqa: BLE001
            lines.append(f"- `{p.name}`: (could not list ops: {e})")
    (out / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'README.md'}")


if __name__ == "__main__":
    sys.exit(main())
