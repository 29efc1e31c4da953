"""A training script following IQUAFLOW's contract, used by the experiment tests.

It records the arguments it received (``args.json``), then behaves as ``--mode`` says:
``ok`` writes ``results.json`` (a loss curve, a scalar accuracy that depends on the training
set's folder name and ``--lr``, a string) and ``output.json``; ``crash`` exits 3 after
writing to stderr; ``malformed`` writes invalid JSON; ``nothing`` writes nothing; ``sleep``
sleeps ``--seconds`` first; ``signal`` kills itself.
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--trainds", required=True)
parser.add_argument("--outputpath", required=True)
parser.add_argument("--valds")
parser.add_argument("--testds")
parser.add_argument("--mlfuri")
parser.add_argument("--mlfexpid")
parser.add_argument("--mlfrunid")
parser.add_argument("--mode", default="ok")
parser.add_argument("--seconds", type=float, default=0.0)
parser.add_argument("--lr", type=float, default=0.1)
args, unknown = parser.parse_known_args()

out = Path(args.outputpath)
if args.mode != "nothing":
    (out / "args.json").write_text(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd()}))
print(f"training on {args.trainds}", flush=True)
print("a warning on stderr", file=sys.stderr, flush=True)
if args.seconds:
    time.sleep(args.seconds)
if args.mode == "crash":
    print("Traceback: ValueError: the model diverged", file=sys.stderr)
    sys.exit(3)
if args.mode == "signal":
    os.kill(os.getpid(), signal.SIGKILL)
if args.mode == "malformed":
    (out / "results.json").write_text("{not json")
elif args.mode in ("ok", "sleep"):
    quality = 1.0 if "#" not in Path(args.trainds).name else 0.5
    results = {
        "loss": [1.0, 0.5, 0.25],
        "val_curve": [[0, 0.1], [10, 0.2]],
        "accuracy": quality * (1 - args.lr),
        "optimizer": "sgd",
    }
    (out / "results.json").write_text(json.dumps(results))
    (out / "output.json").write_text(json.dumps([]))
