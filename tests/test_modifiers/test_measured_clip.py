"""Overshooting modifiers clip integer output at the data's bit depth, measured when undeclared.

A lanczos or cubic resample rings past a step, and a sensor's photon noise scatters a bright
pixel above its level. On 11-bit values stored in uint16 without ``NBITS`` (the WorldView-2
chips) the result used to be clipped at 65535, so a copy held values up to ~2200: the copy
then *measured* as 12-bit, and every later default that follows the depth (PSNR's data
range, the sensor's full well, bits per pixel) changed with it. The clip now follows the
bit-depth rule in full (declared, else measured), lazily for dask input.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from iqx.modifiers import resample, sensor
from iqx.testing.laziness import raise_if_dask_computes

TOP = 2047  # 11-bit


def _step(bit_depth: int | None = None, size: int = 96) -> xr.DataArray:
    """Dark left half, 11-bit white right half: rings under lanczos/cubic."""
    img = np.full((1, size, size), 100, np.uint16)
    img[:, :, size // 2 :] = TOP
    attrs = {} if bit_depth is None else {"bit_depth": bit_depth, "bit_depth_source": "user"}
    return xr.DataArray(img, dims=("band", "y", "x"), attrs=attrs)


def _chunked(scene: xr.DataArray, chunks: int) -> xr.DataArray:
    return scene.copy(data=da.from_array(scene.values, chunks=(1, chunks, chunks)))


@pytest.mark.parametrize("method", ["lanczos", "cubic"])
def test_resample_rings_past_a_declared_16_bit_top_but_not_a_measured_11_bit_one(method):
    declared = resample(factor=2.0, method=method)(_step(bit_depth=16)).values
    assert declared.max() > TOP  # the overshoot exists (else this test proves nothing)
    measured = resample(factor=2.0, method=method)(_step()).values
    assert measured.max() == TOP
    # only the overshooting samples differ: everything else is the declared result
    np.testing.assert_array_equal(measured, np.minimum(declared, TOP))


@pytest.mark.parametrize("chunks", [96, 48, 40])
def test_resample_clip_is_lazy_and_chunk_invariant(chunks):
    eager = resample(factor=2.0, method="lanczos")(_step()).values
    with raise_if_dask_computes():
        lazy = resample(factor=2.0, method="lanczos")(_chunked(_step(), chunks))
    np.testing.assert_array_equal(lazy.values, eager)


def test_convex_resampling_does_not_measure_the_depth():
    """Area/bilinear taps are non-negative: output stays within the input's range, so no
    extra pass over the data is added (the graph reads the scene once)."""
    scene = _chunked(_step(), 48)
    out = resample(factor=0.5, method="bilinear")(scene)
    names = {k[0] if isinstance(k, tuple) else k for k in dict(out.data.__dask_graph__())}
    assert not any("remember_bits" in str(n) for n in names)
    assert out.values.max() <= TOP


SENSOR = dict(D=0.3, f=4.0, p_x=8e-6, altitude=5e5, max_n=2000, max_well_fill=1.0,
              read_noise=0.0, seed=2, resample=False, source_gsd=0.5)  # fmt: skip


def test_sensor_noise_is_clipped_at_the_measured_depth():
    bright = _step(size=256)
    declared = sensor(**SENSOR, full_scale=TOP)(_step(bit_depth=16, size=256)).values
    assert declared.max() > TOP  # Poisson scatter at a full well goes above the top
    out = sensor(**SENSOR)(bright).values
    assert out.max() == TOP
    np.testing.assert_array_equal(out, np.minimum(declared, TOP))


def test_sensor_clip_is_lazy_and_equals_numpy_on_one_chunk():
    scene = _step(size=256)
    with raise_if_dask_computes():
        lazy = sensor(**SENSOR)(_chunked(scene, 256))  # noise is drawn per chunk
    np.testing.assert_array_equal(lazy.values, sensor(**SENSOR)(scene).values)
