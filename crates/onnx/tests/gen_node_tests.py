#!/usr/bin/env python3
"""Generate the ONNX backend node test data from the installed `onnx` wheel.

The `onnx` wheel (1.23.2, pinned in scripts/requirements-test.txt) ships the node test
definitions (`onnx/backend/test/case/node/*.py`: models plus numpy reference outputs) but not the
serialized `onnx/backend/test/data/node/` directory. This script writes that directory in the
same layout the ONNX repository uses:

    OUT/<test_name>/model.onnx
    OUT/<test_name>/test_data_set_<k>/input_<i>.pb, output_<i>.pb   (TensorProto)

Usage: gen_node_tests.py OUT_DIR        (idempotent: skips when OUT_DIR/.stamp matches)
Run by scripts/setup with the project venv's python.
"""
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import onnx.backend.test.case.node as node_cases


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    stamp = os.path.join(out, ".stamp")
    want = f"onnx {onnx.__version__}\n"
    if os.path.exists(stamp) and open(stamp).read() == want:
        return 0
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            cases = node_cases.collect_testcases()
    written = 0
    for case in cases:
        model = case.model
        # Only plain tensor inputs/outputs (no sequences, maps, optionals).
        if any(not v.type.HasField("tensor_type") for v in list(model.graph.input) + list(model.graph.output)):
            continue
        d = os.path.join(out, case.name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(model.SerializeToString())
        for k, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(d, f"test_data_set_{k}")
            os.makedirs(ds, exist_ok=True)
            for kind, values, infos in (("input", inputs, model.graph.input), ("output", outputs, model.graph.output)):
                for j, v in enumerate(values):
                    t = v if isinstance(v, onnx.TensorProto) else numpy_helper.from_array(np.asarray(v), infos[j].name)
                    with open(os.path.join(ds, f"{kind}_{j}.pb"), "wb") as f:
                        f.write(t.SerializeToString())
        written += 1
    with open(stamp, "w") as f:
        f.write(want)
    print(f"[gen_node_tests] wrote {written} node tests to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
