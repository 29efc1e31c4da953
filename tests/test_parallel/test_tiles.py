"""map_tiles_xr: a per-tile map on a grid fixed by the scene, whatever the chunking.

Truth is a brute-force loop over the tile grid on the NumPy array (tile ``(I, J)`` covers rows
``[I*ty, (I+1)*ty)`` and columns ``[J*tx, (J+1)*tx)``, extended by the halo and clipped to the
scene), independent of the implementation.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.parallel import map_tiles_xr, tile_grid_coords
from iqx.testing import raise_if_dask_computes

SHAPE = (2, 53, 47)  # partial last tiles on both axes for tiles of 10 x 8
TILE = (10, 8)
HALO = (3, 2)
CHUNKINGS = [(2, 53, 47), (1, 20, 16), (2, 17, 23), (1, 7, 9), (2, 30, 40)]


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random(SHAPE)


def _stats(block, info, *extra):
    """Several outputs that depend on the halo, the position and the core."""
    core = block[
        :,
        info.halo_top : block.shape[1] - info.halo_bottom,
        info.halo_left : block.shape[2] - info.halo_right,
    ]
    out = {
        "ext_sum": block.sum(axis=(1, 2)),
        "core_sum": core.sum(axis=(1, 2)),
        "where": float(info.y0 * 1000 + info.x0),
        "halo": float(info.halo_top * 1000 + info.halo_bottom * 100 + info.halo_left * 10)
        + info.halo_right,
        "n": core.shape[1] * core.shape[2],
    }
    if extra:
        out["valid"] = extra[0][
            :,
            info.halo_top : block.shape[1] - info.halo_bottom,
            info.halo_left : block.shape[2] - info.halo_right,
        ].sum(axis=(1, 2))
    return out


OUTPUTS = {
    "ext_sum": np.float64,
    "core_sum": np.float64,
    "where": np.float64,
    "halo": np.float64,
    "n": np.int64,
}


def _brute(img, tile, halo, mask=None):
    nb, ny, nx = img.shape
    ty, tx = tile
    hy, hx = halo
    nty, ntx = -(-ny // ty), -(-nx // tx)
    res = {k: np.zeros((nb, nty, ntx)) for k in [*OUTPUTS, "valid"]}
    for i in range(nty):
        for j in range(ntx):
            y0, y1 = i * ty, min((i + 1) * ty, ny)
            x0, x1 = j * tx, min((j + 1) * tx, nx)
            e0, e1 = max(y0 - hy, 0), min(y1 + hy, ny)
            f0, f1 = max(x0 - hx, 0), min(x1 + hx, nx)
            res["ext_sum"][:, i, j] = img[:, e0:e1, f0:f1].sum(axis=(1, 2))
            res["core_sum"][:, i, j] = img[:, y0:y1, x0:x1].sum(axis=(1, 2))
            res["where"][:, i, j] = y0 * 1000 + x0
            res["halo"][:, i, j] = (y0 - e0) * 1000 + (e1 - y1) * 100 + (x0 - f0) * 10 + f1 - x1
            res["n"][:, i, j] = (y1 - y0) * (x1 - x0)
            if mask is not None:
                res["valid"][:, i, j] = mask[:, y0:y1, x0:x1].sum(axis=(1, 2))
    return res


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_numpy_and_any_chunking_equal_brute_force(chunks):
    img = _image()
    truth = _brute(img, TILE, HALO)
    eager = map_tiles_xr(_stats, img, tile=TILE, halo=HALO, outputs=OUTPUTS)
    lazy_in = xr.DataArray(da.from_array(img, chunks=chunks), dims=("band", "y", "x"))
    with raise_if_dask_computes():
        lazy = map_tiles_xr(_stats, lazy_in, tile=TILE, halo=HALO, outputs=OUTPUTS)
    assert isinstance(lazy, xr.Dataset)
    assert all(isinstance(v.data, da.Array) for v in lazy.data_vars.values())
    assert lazy["n"].dtype == np.int64
    computed = lazy.compute()
    for name in OUTPUTS:
        np.testing.assert_allclose(eager[name].values, truth[name], rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(computed[name].values, truth[name], rtol=1e-12, err_msg=name)


def test_single_output_mask_and_kwargs():
    img = _image()
    mask = img > 0.3
    truth = _brute(img, TILE, (0, 0), mask=mask)

    def count_valid(block, info, valid, *, scale):
        return scale * valid.sum(axis=(1, 2))

    for data, m in ((img, mask), (da.from_array(img, chunks=(1, 13, 11)), mask)):
        out = map_tiles_xr(
            count_valid,
            data,
            tile=TILE,
            mask=m,
            outputs=np.float32,
            kwargs={"scale": 2.0},
            name="valid",
        )
        assert isinstance(out, xr.DataArray) and out.name == "valid"
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.values, 2.0 * truth["valid"])


def test_scalar_and_sequence_returns_broadcast_per_band():
    img = _image()
    out = map_tiles_xr(
        lambda b, info: (1.0, b.shape[1]), img, tile=20, outputs={"one": float, "rows": int}
    )
    assert out["one"].shape == (2, 3, 3)
    assert np.all(out["one"].values == 1.0)
    np.testing.assert_array_equal(out["rows"].values[0, :, 0], [20, 20, 13])


def test_coords_and_transform_from_scene_transform():
    img = _image()
    transform = (0.5, 0.0, 1000.0, 0.0, -0.5, 2000.0)
    scene = xr.DataArray(
        da.from_array(img, chunks=(1, 25, 25)),
        dims=("band", "y", "x"),
        coords={"band": [4, 7]},
        attrs={"transform": transform, "nodata": 0, "crs": "EPSG:32630"},
    )
    with raise_if_dask_computes():
        m = map_tiles_xr(lambda b, info: b.mean(axis=(1, 2)), scene, tile=TILE)
    assert m.shape == (2, 6, 6)
    assert m.attrs["transform"] == (4.0, 0.0, 1000.0, 0.0, -5.0, 2000.0)
    assert m.attrs["tile"] == TILE and m.attrs["scene_shape"] == (53, 47)
    assert m.attrs["crs"] == "EPSG:32630" and "nodata" not in m.attrs
    assert list(m["band"].values) == [4, 7]
    # centre of tile (I, J) = pixel-edge position ((J + 0.5) * tx, (I + 0.5) * ty) mapped
    np.testing.assert_allclose(m["x"].values, 1000.0 + 0.5 * (np.arange(6) + 0.5) * 8)
    np.testing.assert_allclose(m["y"].values, 2000.0 - 0.5 * (np.arange(6) + 0.5) * 10)
    # the coarse transform maps coarse pixel centres onto the same coordinates
    a, _b, c, _d, e, f = m.attrs["transform"]
    np.testing.assert_allclose(m["x"].values, c + a * (np.arange(6) + 0.5))
    np.testing.assert_allclose(m["y"].values, f + e * (np.arange(6) + 0.5))


def test_pixel_coords_without_transform():
    coords, transform = tile_grid_coords(
        xr.DataArray(np.zeros((1, 30, 20)), dims=("band", "y", "x")), 10
    )
    assert transform is None
    np.testing.assert_allclose(coords["y"], [4.5, 14.5, 24.5])
    np.testing.assert_allclose(coords["x"], [4.5, 14.5])


def test_rechunks_to_tile_multiples_only_when_needed():
    img = _image()
    aligned = da.from_array(img, chunks=(2, 20, 16))
    out = map_tiles_xr(lambda b, info: b.sum(axis=(1, 2)), aligned, tile=TILE)
    assert out.data.chunks == ((2,), (2, 2, 2), (2, 2, 2))
    odd = da.from_array(img, chunks=(2, 17, 23))  # boundaries off the grid: rechunked to 10/16
    out = map_tiles_xr(lambda b, info: b.sum(axis=(1, 2)), odd, tile=TILE)
    assert out.data.chunks == ((2,), (1, 1, 1, 1, 1, 1), (2, 2, 2))


def test_bad_arguments_raise():
    img = _image()
    with pytest.raises(InvalidParameterError):
        map_tiles_xr(lambda b, i: 0.0, img, tile=0)
    with pytest.raises(InvalidParameterError):
        map_tiles_xr(lambda b, i: 0.0, img, tile=(4, 4, 4))
    with pytest.raises(InvalidParameterError):
        map_tiles_xr(lambda b, i, m: 0.0, img, tile=8, mask=np.ones((3, 3), bool))
    with pytest.raises(InvalidParameterError):
        map_tiles_xr(lambda b, i: {"a": 1.0}, img, tile=8, outputs={"a": float, "b": float})


@pytest.mark.parametrize("chunks", [(1, 64, 64), (1, 17, 23), (1, 100, 9), (1, 128, 128)])
def test_reduce_blocks_leading_sees_only_the_preceding_halo(chunks):
    """The leading-halo reduction behind SNR (and map_tiles_xr's graph helpers): blocks carry
    up to ``halo`` pixels above/left only, and ownership shifting counts each 2 x 2 window
    (owned by the chunk holding its last pixel) exactly once for any chunking."""
    from iqx.parallel import as_scene, reduce_blocks_leading

    img = np.arange(128 * 128, dtype=np.float64).reshape(1, 128, 128)
    ny, nx = img.shape[1:]

    def chunk(block, info):
        assert info.halo_bottom == 0 and info.halo_right == 0
        assert info.halo_top == (2 if info.y0 else 0) and info.halo_left == (2 if info.x0 else 0)
        core = block[:, info.halo_top :, info.halo_left :]
        assert core[0, 0, 0] == info.y0 * 128 + info.x0
        # 2x2 windows whose last pixel (origin + 1) is in the core; the last chunk takes the rest
        r0, c0 = max(info.halo_top - 1, 0), max(info.halo_left - 1, 0)
        r1 = block.shape[1] - 1
        c1 = block.shape[2] - 1
        win = block[:, r0:r1, c0:c1] + block[:, r0 + 1 : r1 + 1, c0 + 1 : c1 + 1]
        return [float(core.sum()), core.size, float(win.sum()), win[0].size]

    def combine(parts):
        return [sum(p[k] for p in parts) for k in range(4)]

    lazy = as_scene(da.from_array(img, chunks=chunks))
    with raise_if_dask_computes():
        delayed = reduce_blocks_leading(chunk, combine, tuple, lazy, halo=2, compute=False)
    total, count, wsum, wcount = delayed.compute()
    windows = img[:, :-1, :-1] + img[:, 1:, 1:]
    assert count == img.size and total == img.sum()
    assert wcount == (ny - 1) * (nx - 1) and wsum == windows.sum()
    eager = reduce_blocks_leading(chunk, combine, tuple, as_scene(img), halo=2)
    assert eager == (img.sum(), img.size, windows.sum(), (ny - 1) * (nx - 1))


@pytest.mark.parametrize("halo", [(3, 2), (3, 0), (0, 2)])
@pytest.mark.parametrize("chunks", [(1, 16, 16), (1, 7, 30), (1, 40, 9)])
def test_reduce_blocks_leading_blocks_are_the_scene_with_one_strips_task_per_chunk(halo, chunks):
    """Each block (and its extra array) is exactly the scene's window ``[y0 - halo_top :
    y0 + core, x0 - halo_left : x0 + core]``, for halos on one or both axes; the halo
    strips come from one copy task per source chunk that has a successor (not one per
    chunk and neighbour)."""
    from iqx.parallel import as_scene, reduce_blocks_leading

    img = np.arange(2 * 40 * 30, dtype=np.float64).reshape(2, 40, 30)
    weights = -img

    def chunk(block, info, extra):
        core_y = block.shape[1] - info.halo_top
        core_x = block.shape[2] - info.halo_left
        assert info.halo_top == (halo[0] if info.y0 else 0)
        assert info.halo_left == (halo[1] if info.x0 else 0)
        want = img[:, info.y0 - info.halo_top : info.y0 + core_y, :][
            :, :, info.x0 - info.halo_left : info.x0 + core_x
        ]
        np.testing.assert_array_equal(block, want)
        np.testing.assert_array_equal(extra, -want)
        return core_y * core_x

    lazy = as_scene(da.from_array(img, chunks=chunks))
    extra = [as_scene(da.from_array(weights, chunks=chunks))]
    with raise_if_dask_computes():
        delayed = reduce_blocks_leading(
            chunk, sum, int, lazy, halo=halo, extra=extra, compute=False
        )
    graph = dict(delayed.__dask_graph__())
    niy, nix = len(lazy.chunks[1]), len(lazy.chunks[2])
    sources = sum(
        1
        for i in range(niy)
        for j in range(nix)
        if (halo[0] and i + 1 < niy) or (halo[1] and j + 1 < nix)
    )
    strips = [k for k in graph if isinstance(k, tuple) and str(k[0]).endswith("-strips")]
    assert len(strips) == 2 * sources  # image and extra
    assert not [k for k in graph if isinstance(k, tuple) and str(k[0]).endswith("-halo")]
    assert delayed.compute() == 40 * 30
