#!/usr/bin/env python3
"""TensorFlow/Keras side of bench/train_compare (run with the TF venv,
$EDGEQUANT_CACHE/tfvenv/bin/python; `scripts/setup --tf` makes it).

    tf_train.py TRAIN_IMAGES_IDX TRAIN_LABELS_IDX [--warmup 20] [--steps 100] [--batch 50] [--threads N]

Builds the tutorial CNN (bench/tf_cnn.py's architecture: Adam, sparse categorical
cross-entropy), fits --warmup steps untimed (graph tracing), then times model.fit over --steps
steps of --batch images (pixel / 255, no shuffling). Prints one JSON line:
{"step_ms": ..., "steps": ..., "batch": ..., "tf": version, "threads": ...}.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tf_cnn import build_model, read_idx  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("labels")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    import tensorflow as tf
    if a.threads:
        tf.config.threading.set_intra_op_parallelism_threads(a.threads)
        tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    import keras
    n = (a.warmup + a.steps) * a.batch
    x = read_idx(a.images, n).astype(np.float32)[..., None] / 255.0
    y = read_idx(a.labels, n).astype(np.int64)
    keras.utils.set_random_seed(0)
    model = build_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    w = a.warmup * a.batch
    model.fit(x[:w], y[:w], batch_size=a.batch, epochs=1, shuffle=False, verbose=0)
    t0 = time.perf_counter()
    model.fit(x[w:], y[w:], batch_size=a.batch, epochs=1, shuffle=False, verbose=0)
    dt = time.perf_counter() - t0
    print(json.dumps({"step_ms": dt * 1000.0 / a.steps, "steps": a.steps, "batch": a.batch,
                      "tf": tf.__version__, "threads": a.threads or None}))


if __name__ == "__main__":
    main()
