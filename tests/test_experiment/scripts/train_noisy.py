"""A training script whose metric is a known function of the JPEG quality plus seeded noise.

The quality comes from the training set's folder name (``...#jpeg_q47``; the unmodified set
counts as 100). ``score = 1 - exp(-q / 20)`` (``--shape dip`` subtracts 0.3 for 30 <= q < 45,
a non-monotone trend), plus N(0, ``--noise``) seeded by (q, how many times q was run before):
each repetition draws new noise, and the sequence is reproducible. The counts live in
``--state`` (a folder), so runs must be serial.
"""

import argparse
import json
import math
import random
import re
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--trainds", required=True)
parser.add_argument("--outputpath", required=True)
parser.add_argument("--state", required=True)
parser.add_argument("--noise", type=float, default=0.0)
parser.add_argument("--shape", default="exp")
args, _ = parser.parse_known_args()

match = re.search(r"jpeg_q(\d+)", Path(args.trainds).name)
quality = int(match.group(1)) if match else 100
score = 1.0 - math.exp(-quality / 20.0)
if args.shape == "dip" and 30 <= quality < 45:
    score -= 0.3
counter = Path(args.state) / f"q{quality}"
count = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(count + 1))
score += random.Random(f"{quality}-{count}").gauss(0.0, args.noise)
(Path(args.outputpath) / "results.json").write_text(json.dumps({"score": score}))
