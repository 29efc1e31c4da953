"""A SageMaker-style training script for the SageMaker tests (IQUAFLOW's arguments).

Counts the files of the training channel (``--trainds``, which must equal
``$SM_CHANNEL_TRAINDS``), writes ``results.json`` (``n_files``, ``accuracy = 1 - lr``, a loss
curve) and ``output.json`` into ``--outputpath`` (``$SM_OUTPUT_DATA_DIR``) and a model file
into ``$SM_MODEL_DIR``. ``--mode crash`` exits 2; ``--mode leak`` prints the AWS credentials
of its environment on stderr and exits 3 (SageMaker puts that stderr tail in the job's
failure reason).
"""

import argparse
import json
import os
import sys
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("--trainds", required=True)
p.add_argument("--outputpath", required=True)
p.add_argument("--valds")
p.add_argument("--testds")
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--mode", default="ok")
a, _ = p.parse_known_args()
if a.mode == "leak":
    env = os.environ
    print(
        "secret:", env.get("AWS_SECRET_ACCESS_KEY"), env.get("AWS_SESSION_TOKEN"), file=sys.stderr
    )
    sys.exit(3)
if a.mode == "crash":
    print("Traceback: RuntimeError: CUDA out of memory", file=sys.stderr)
    sys.exit(2)
assert os.path.samefile(a.trainds, os.environ["SM_CHANNEL_TRAINDS"]), "channel mismatch"
assert os.path.samefile(a.outputpath, os.environ["SM_OUTPUT_DATA_DIR"]), "output mismatch"
files = sorted(str(f.relative_to(a.trainds)) for f in Path(a.trainds).rglob("*") if f.is_file())
out = Path(a.outputpath)
results = {"n_files": len(files), "accuracy": 1 - a.lr, "loss": [1.0, 0.5, 0.25]}
(out / "results.json").write_text(json.dumps(results))
(out / "output.json").write_text(json.dumps({"files": files, "valds": a.valds}))
(out / "plots").mkdir()
(out / "plots" / "curve.txt").write_text("1.0 0.5 0.25")
Path(os.environ["SM_MODEL_DIR"], "model.bin").write_bytes(b"weights")
