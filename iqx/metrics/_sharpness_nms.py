"""Streaming de-duplication of :func:`iqx.metrics.sharpness` candidates (the combine step).

Overlapping measurements of one edge, possibly from different blocks, are reduced to one
by greedy non-maximum suppression as soon as no later block can add to their overlap
component, so the answer is that of a global suppression for any chunking.
"""

from __future__ import annotations

import numpy as np

from iqx.kernels.edges import greedy_nms, overlap_components
from iqx.metrics._sharpness_blocks import _COS_NMS
from iqx.metrics._sharpness_params import SharpnessOptions

__all__: list[str] = []


def _combine(parts: list[dict], p: SharpnessOptions) -> dict:
    """Merge partials (row-major order) and settle the candidates no later block can touch.

    Pending candidates are de-duplicated (greedy non-maximum suppression) as soon as every
    candidate they overlap, directly or through a chain of overlaps, is known: a connected
    component of the overlap graph is settled once it is farther than the overlap reach
    plus a candidate's reach from every block still to come (blocks after the last one
    merged, in row-major order). Settled components leave only their kept accepted rows
    (``done``) and rejection counts; the answer is the global greedy suppression's, for
    any chunking, while the pending set stays about two rows of blocks.
    """
    out = {
        "geo": np.concatenate([q["geo"] for q in parts]),
        "res": np.concatenate([q["res"] for q in parts]),
        "curves": np.concatenate([q["curves"] for q in parts]),
        "esfs": np.concatenate([q["esfs"] for q in parts]),
        "cells": np.sum([q["cells"] for q in parts], axis=0),
        "front": parts[-1]["front"],
        "done": [d for q in parts for d in q["done"]],
        "rejected": np.sum([q["rejected"] for q in parts], axis=0),
        "n_measured": sum(q["n_measured"] for q in parts),
    }
    return _settle(out, p, out["front"])


def _settle(part: dict, p: SharpnessOptions, front: tuple[int, int, int] | None) -> dict:
    """Settle the pending components that no block after ``front`` can reach (all of them
    when ``front`` is None): greedy suppression, accepted and longest first."""
    geo = part["geo"]
    if len(geo) == 0:
        return part
    reach = p.nms_reach
    comp = overlap_components(geo, _COS_NMS, float(p.halfwidth), reach)
    if front is None:
        safe = np.ones(len(geo), bool)
    else:
        fy0, fy1, fx1 = front
        # a later candidate's centre is within max_length/2 + 8 px of its seed, which lies
        # in a later block's core: {y >= fy0, x >= fx1} or {y >= fy1}
        m = reach + p.max_length / 2.0 + 8.0
        cy, cx = geo[:, 0], geo[:, 1]
        near = ((cy >= fy0 - m) & (cx >= fx1 - m)) | (cy >= fy1 - m)
        safe = ~np.isin(comp, comp[near])
    if not safe.any():
        return part
    is_acc = geo[:, 5] == 0
    acc_row = np.cumsum(is_acc) - 1  # row of each accepted candidate in res/curves/esfs
    idx = np.flatnonzero(safe)
    g = geo[idx]
    order = np.lexsort((g[:, 1], g[:, 0], -g[:, 4], g[:, 5] != 0))
    kept = idx[greedy_nms(g, order, _COS_NMS, float(p.halfwidth), reach)]
    ka = kept[is_acc[kept]]
    kr = kept[~is_acc[kept]]
    rejected = part["rejected"].copy()
    np.add.at(rejected, (geo[kr, 6].astype(np.int64), geo[kr, 5].astype(np.int64)), 1)
    rows = acc_row[ka]
    done = list(part["done"])
    if len(ka):
        done.append(
            {
                "res": part["res"][rows],
                "curves": part["curves"][rows],
                "esfs": part["esfs"][rows],
                "band": geo[ka, 6].astype(np.int64),
            }
        )
    pend = ~safe
    pend_acc = acc_row[pend & is_acc]
    return {
        **part,
        "geo": geo[pend],
        "res": part["res"][pend_acc],
        "curves": part["curves"][pend_acc],
        "esfs": part["esfs"][pend_acc],
        "done": done,
        "rejected": rejected,
    }
