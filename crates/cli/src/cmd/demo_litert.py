"""Top-1 accuracy of MNIST classifiers with LiteRT (ai-edge-litert), for `edgequant demo`.

    python demo_litert.py IMAGES.idx3.gz LABELS.idx1.gz N MODEL.tflite [MODEL.tflite ...]

Evaluates the first N images. Pixels are x / 255 (float32), quantized with the input's scale and zero point for integer
inputs. Prints one JSON object per model: {"model", "n", "accuracy"} (accuracy in [0, 1]).
"""

import gzip
import json
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def accuracy(model, x, y, batch=100):
    it = Interpreter(model_path=model)
    d = it.get_input_details()[0]
    od = it.get_output_details()[0]
    shape = list(d["shape"])
    want = np.dtype(d["dtype"])
    correct = 0
    size = None
    for s in range(0, len(x), batch):
        xb = x[s: s + batch].reshape([-1] + shape[1:])
        if size != len(xb):
            it.resize_tensor_input(d["index"], [len(xb)] + shape[1:])
            it.allocate_tensors()
            size = len(xb)
        if want.kind in "iu":
            scale, zp = d["quantization"]
            info = np.iinfo(want)
            xb = np.clip(np.round(xb.astype(np.float64) / scale) + zp, info.min, info.max)
        it.set_tensor(d["index"], xb.astype(want))
        it.invoke()
        out = it.get_tensor(od["index"]).reshape(len(xb), -1)
        correct += int((out.argmax(1) == y[s: s + batch]).sum())
    return correct / len(x)


def main():
    images, labels, n, *models = sys.argv[1:]
    n = int(n)
    x = read_idx(images)[:n].astype(np.float32)[..., None] / 255.0
    y = read_idx(labels)[:n].astype(np.int64)
    for m in models:
        print(json.dumps({"model": m, "n": len(x), "accuracy": accuracy(m, x, y)}), flush=True)


if __name__ == "__main__":
    main()
