"""Fake trainer following IQUAFLOW's script contract (as its tests' ``train.py``).

Arguments ``--trainds --valds --outputpath --epochs --lr``; writes ``results.json`` (lists
``train_rmse``/``val_rmse``/``val_f1`` per epoch, scalars ``epochs``/``lr``, strings
``train_ds``/``val_ds``) and copies ``$IQX_TEST_DETECTIONS`` to ``output.json``. The numbers
come from ``numpy.random.seed(88)`` (the legacy stream), so they equal IQUAFLOW's reference
values.
"""

import argparse
import json
import os
import shutil

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trainds")
    parser.add_argument("--valds")
    parser.add_argument("--testds")
    parser.add_argument("--outputpath")
    parser.add_argument("--epochs", default=10)
    parser.add_argument("--lr", default=0.1)
    args = parser.parse_args()
    rng = np.random.RandomState(88)  # the legacy stream of IQUAFLOW's reference numbers
    scale, f1_value = 0.995, 0.1
    train_rmse, val_rmse, val_f1 = [], [], []
    for _ in range(int(args.epochs)):
        tr = rng.uniform(0, 1.5) * scale
        va = rng.uniform(0, tr)
        f1_value = f1_value * 1.01
        scale *= scale
        train_rmse.append(tr)
        val_rmse.append(va)
        val_f1.append(f1_value)
    results = {
        "train_rmse": train_rmse,
        "val_rmse": val_rmse,
        "val_f1": val_f1,
        "epochs": int(args.epochs),
        "train_ds": args.trainds,
        "val_ds": args.valds,
        "lr": float(args.lr),
    }
    with open(os.path.join(args.outputpath, "results.json"), "w") as f:
        json.dump(results, f)
    detections = os.environ.get("IQX_TEST_DETECTIONS")
    if detections:
        shutil.copyfile(detections, os.path.join(args.outputpath, "output.json"))


if __name__ == "__main__":
    main()
