#!/usr/bin/env python3
"""Self-test of the Python test helpers and of the test material (run by scripts/test).

Checks that the helpers the Rust integration tests call (make_inputs.py, litert_run.py,
ort_run.py) work on the real models in $EDGEQUANT_CACHE and on the committed fixtures,
and that LiteRT's default and reference kernels agree within 1 LSB on the int8 fixture.
Ends with the line 'selftest: N passed, N failed'. Takes a few seconds.
VERBOSE=1 prints tracebacks, KEEP=1 keeps the temporary directory.
"""

import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import numpy as np  # noqa: E402

import eqlib  # noqa: E402

PY = sys.executable
MODELS = eqlib.CACHE / "models"
FIX = ROOT / "fixtures" / "tutorial_cnn"
TFLITE_MODELS = ["face_detection_short_range", "hand_recrop", "iris_landmark", "hand_landmark_lite",
                 "selfie_segmentation"]
TMP = Path(tempfile.mkdtemp(prefix="eq-selftest-"))
results = []


def run(*args):
    r = subprocess.run([PY, *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {r.returncode}:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def load(npz):
    z = np.load(npz)
    order = json.loads(bytes(z["__order__"]).decode())
    return [z[k] for k in order], order


def case(name):
    def deco(f):
        try:
            f()
            results.append((name, None))
            print(f"ok   {name}")
        except Exception as e:  # noqa: BLE001
            results.append((name, e))
            print(f"FAIL {name}: {e}")
            if os.environ.get("VERBOSE"):
                traceback.print_exc()
        return f
    return deco


for m in TFLITE_MODELS:
    @case(f"litert_run {m}: real image, default vs ref kernels")
    def _(m=m):
        model = MODELS / f"{m}.tflite"
        d = TMP / m
        info = run(HERE / "make_inputs.py", model, d)
        assert info["inputs"][0]["source"] == "image", info
        x = np.load(d / "in0.npy")
        assert x.dtype == np.float32 and np.isfinite(x).all()
        meta = run(HERE / "litert_run.py", model, d / "out.npz", "-i", d / "in0.npy")
        outs, order = load(d / "out.npz")
        assert order == [o["key"] for o in meta["outputs"]]
        assert all(np.isfinite(o).all() for o in outs)
        if m == "selfie_segmentation":
            return  # custom op Convolution2DTransposeBias: only the XNNPACK delegate has it
        run(HERE / "litert_run.py", model, d / "ref.npz", "--ref", "-i", d / "in0.npy")
        refs, _ = load(d / "ref.npz")
        for a, b in zip(outs, refs):
            tol = 1e-3 * max(1.0, float(np.abs(b).max()))
            assert np.abs(a - b).max() <= tol, f"default vs ref differ by {np.abs(a - b).max()}"


@case("face_detection_short_range finds the astronaut's face")
def _():
    outs, order = load(TMP / "face_detection_short_range" / "out.npz")
    cls = outs[order.index("classificators")]
    assert 1 / (1 + np.exp(-cls.max())) > 0.5


@case("ort_run ch_ppocr_mobile_v2.0_cls_infer: upright text line, all tensors")
def _():
    model = MODELS / "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    d = TMP / "cls"
    run(HERE / "make_inputs.py", model, d)
    assert np.load(d / "in0.npy").shape == (1, 3, 48, 192)
    run(HERE / "ort_run.py", model, d / "out.npz", "-i", d / "in0.npy", "--all-tensors", d / "all.npz")
    (probs,), _ = load(d / "out.npz")
    assert probs.shape == (1, 2) and probs[0, 0] > 0.5, probs  # label '0' = upright
    allz = np.load(d / "all.npz")
    assert len(allz.files) > 50


@case("make_inputs ch_PP-OCRv4_det_infer: dynamic dims filled, NCHW")
def _():
    model = MODELS / "ch_PP-OCRv4_det_infer.onnx"
    d = TMP / "det"
    run(HERE / "make_inputs.py", model, d, "--size", "160x320")
    assert np.load(d / "in0.npy").shape == (1, 3, 160, 320)


fixtures = {p.stem: p for p in FIX.glob("*.tflite")}


@case("tutorial_cnn fixtures present")
def _():
    want = {"float", "dynamic", "int8", "int8_floatio", "float16"}
    assert want <= set(fixtures), f"missing {want - set(fixtures)}"


@case("tutorial_cnn int8: int8 MNIST input, default within 1 LSB of ref, correct digits")
def _():
    model = fixtures["int8"]
    d = TMP / "int8"
    info = run(HERE / "make_inputs.py", model, d)
    x = np.load(d / "in0.npy")
    assert x.dtype == np.int8 and info["inputs"][0]["source"] == "mnist", info
    run(HERE / "litert_run.py", model, d / "out.npz", "-i", d / "in0.npy")
    run(HERE / "litert_run.py", model, d / "ref.npz", "-i", d / "in0.npy", "--ref", "--all-tensors", d / "all.npz")
    (a,), _ = load(d / "out.npz")
    (b,), _ = load(d / "ref.npz")
    assert a.dtype == np.int8
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    labels = eqlib.read_idx(eqlib.MNIST / "t10k-labels-idx1-ubyte")
    assert int(b.argmax()) == int(labels[0])
    meta = json.loads(bytes(np.load(d / "all.npz")["__tensors__"]).decode())
    assert any(t["quantization"]["scales"] for t in meta)


@case("litert_run --quantize-inputs on int8 fixture == pre-quantized input")
def _():
    model = fixtures["int8"]
    d = TMP / "int8q"
    run(HERE / "make_inputs.py", model, d, "--float")
    assert np.load(d / "in0.npy").dtype == np.float32
    run(HERE / "litert_run.py", model, d / "out.npz", "-i", d / "in0.npy", "--quantize-inputs", "--ref")
    (a,), _ = load(d / "out.npz")
    (b,), _ = load(TMP / "int8" / "ref.npz")
    assert np.array_equal(a, b)


@case("litert_run batch resize on float fixture")
def _():
    model = fixtures["float"]
    x = np.stack([np.load(TMP / "int8q" / "in0.npy")[0]] * 3)
    np.save(TMP / "b3.npy", x)
    run(HERE / "litert_run.py", model, TMP / "b3.npz", "-i", TMP / "b3.npy")
    (y,), _ = load(TMP / "b3.npz")
    assert y.shape == (3, 10) and np.allclose(y.sum(1), 1, atol=1e-4)


if not os.environ.get("KEEP"):
    import shutil

    shutil.rmtree(TMP, ignore_errors=True)
else:
    print(f"kept {TMP}")
failed = sum(1 for _, e in results if e is not None)
print(f"selftest: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
