"""A real digit classifier, trained and validated as an iqx/IQUAFLOW training script.

Reads the 8x8 digit tiles of ``--trainds`` and ``--valds`` (one mosaic image per dataset and
``labels.json``, see :func:`iqx.study.showcase.data.write_digits_datasets`), trains a
scikit-learn multi-layer perceptron on the train tiles and writes to ``results.json``:
``val_error`` (the validation error rate), ``val_accuracy``, ``train_accuracy`` and the
training loss curve ``loss`` (one value per epoch, logged as metric steps).

Usage (what iqx runs)::

    python digits_train.py --trainds TRAIN --valds VAL --outputpath OUT [--hidden 64] [--alpha 1e-3]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np


def load(folder: str) -> tuple[np.ndarray, np.ndarray]:
    """Tiles (n, 64) scaled to 0-1 and their labels."""
    from PIL import Image

    root = Path(folder)
    doc = json.loads((root / "labels.json").read_text())
    tile, cols = int(doc["tile"]), int(doc["columns"])
    xs, ys = [], []
    for name, labels in doc["labels"].items():
        with Image.open(root / "images" / name) as im:
            mosaic = np.asarray(im, dtype=np.float32) / 255.0
        for i, label in enumerate(labels):
            r, c = divmod(i, cols)
            xs.append(mosaic[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile].ravel())
            ys.append(int(label))
    return np.array(xs), np.array(ys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainds", required=True)
    parser.add_argument("--valds", required=True)
    parser.add_argument("--outputpath", required=True)
    parser.add_argument("--hidden", type=int, default=64, help="hidden units")
    parser.add_argument("--alpha", type=float, default=1e-3, help="L2 penalty")
    parser.add_argument("--epochs", type=int, default=60, help="maximum epochs")
    parser.add_argument("--seed", type=int, default=None, help="default: a new one each run")
    args, _ = parser.parse_known_args()  # tolerate extra iqx arguments (--mlfuri ...)

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_train, y_train = load(args.trainds)
    x_val, y_val = load(args.valds)
    model = MLPClassifier(
        hidden_layer_sizes=(args.hidden,),
        alpha=args.alpha,
        max_iter=args.epochs,
        random_state=args.seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    val_accuracy = float(model.score(x_val, y_val))
    results = {
        "val_error": 1.0 - val_accuracy,
        "val_accuracy": val_accuracy,
        "train_accuracy": float(model.score(x_train, y_train)),
        "loss": [float(v) for v in model.loss_curve_],
    }
    (Path(args.outputpath) / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
