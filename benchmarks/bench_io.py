"""IO benchmarks: iqx's lazy readers vs plain rasterio / zarr on the same files; peak memory.

Inputs (cached in ``cache_dir()``): a 10000² uint16 tiled (512², deflate) GeoTIFF and the same
scene as a zarr v3 store (1024² chunks, ``to_zarr``'s default codec); a 20000² uint16 GeoTIFF (800 MB of pixels)
written block by block for the peak-memory read-and-reduce.
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import cache_dir, chunk, size

BLOCK = 512


def _block(ny: int, nx: int, y0: int, x0: int) -> np.ndarray:
    """A cheap textured uint16 block (11-bit): gradient + hash noise, deterministic."""
    yy = np.arange(y0, y0 + ny, dtype=np.uint32)[:, None]
    xx = np.arange(x0, x0 + nx, dtype=np.uint32)[None, :]
    noise = (yy * 2654435761 + xx * 40503) & np.uint32(63)
    return ((yy + xx) % 1900 + noise).astype(np.uint16)


def _geotiff(n: int, name: str) -> str:
    import rasterio
    from rasterio.windows import Window

    path = cache_dir() / name
    if path.exists():
        return str(path)
    tmp = path.with_name(path.name + ".partial")
    block = min(BLOCK, n)
    with rasterio.open(
        tmp, "w", driver="GTiff", width=n, height=n, count=1, dtype="uint16", tiled=True,
        blockxsize=block, blockysize=block, compress="deflate", BIGTIFF="IF_SAFER",
        crs="EPSG:32633", transform=rasterio.Affine(0.5, 0, 500000, 0, -0.5, 4000000),
    ) as dst:  # fmt: skip
        strip = 4 * block
        for y0 in range(0, n, strip):
            ny = min(strip, n - y0)
            dst.write(_block(ny, n, y0, 0)[None], window=Window(0, y0, n, ny))
    tmp.rename(path)
    return str(path)


def _zarr(n: int, name: str) -> str:
    import iqx
    from iqx.io.zarr import DEFAULT_CODEC

    path = cache_dir() / name.replace(".zarr", f"_{DEFAULT_CODEC}.zarr")  # cache per codec
    if not path.exists():
        scene = iqx.open_scene(_geotiff(n, f"read_{n}.tif"), chunks=chunk(1024))
        iqx.to_zarr(scene, path, chunks=chunk(1024))
    return str(path)


class ReadSum:
    """Open + full chunked read reduced to a sum: iqx vs plain library loops (same files)."""

    timeout = 900
    number = 1
    repeat = 3

    def setup(self):
        n = size(10_000)
        self.tif = _geotiff(n, f"read_{n}.tif")
        self.zarr = _zarr(n, f"read_{n}.zarr")
        # warm up outside the timed region: imports (rasterio, zarr, codecs), GDAL and
        # zarr set-up, dask's thread pool, on the first chunks of the same files
        import rasterio
        import zarr

        import iqx

        for path in (self.tif, self.zarr):
            scene = iqx.open_scene(path)
            scene[:, :BLOCK, :BLOCK].sum(dtype="uint64").compute(scheduler="threads")
        with rasterio.open(self.tif) as ds:
            ds.read(1, window=((0, BLOCK), (0, BLOCK)))
        zarr.open_array(f"{self.zarr}/data", mode="r")[:, :BLOCK, :BLOCK]

    def time_iqx_geotiff(self):
        import iqx

        iqx.open_scene(self.tif).sum(dtype="uint64").compute(scheduler="threads")

    def time_iqx_geotiff_sync(self):
        import iqx

        iqx.open_scene(self.tif).sum(dtype="uint64").compute(scheduler="sync")

    def time_rasterio_blocks(self):
        import rasterio

        total = 0
        with rasterio.open(self.tif) as ds:
            for _, window in ds.block_windows(1):
                total += int(ds.read(1, window=window).sum(dtype=np.uint64))

    def time_iqx_zarr(self):
        import iqx

        iqx.open_scene(self.zarr).sum(dtype="uint64").compute(scheduler="threads")

    def time_zarr_plain(self):
        import zarr

        arr = zarr.open_array(f"{self.zarr}/data", mode="r")
        cy, cx = arr.chunks[1:]
        total = 0
        for y0 in range(0, arr.shape[1], cy):
            for x0 in range(0, arr.shape[2], cx):
                total += int(arr[:, y0 : y0 + cy, x0 : x0 + cx].sum(dtype=np.uint64))


class Write:
    """Chunk-by-chunk writers of a lazily read 10000² scene, and plain-library anchors.

    The anchors read the same GeoTIFF block by block with rasterio and write it with rasterio
    (same tiling and compression) or into a zarr array (same chunks and codec as
    ``iqx.to_zarr``'s default).
    """

    timeout = 900
    number = 1
    repeat = 1

    def setup(self):
        import iqx

        n = size(10_000)
        self.scene = iqx.open_scene(_geotiff(n, f"read_{n}.tif"), chunks=chunk(1024))
        self.out = cache_dir() / "write_out"
        self.out.mkdir(exist_ok=True)
        self.tif = _geotiff(n, f"read_{n}.tif")

    def time_rasterio_copy(self):
        """Anchor of ``time_to_geotiff``: block-by-block read and write with rasterio."""
        import rasterio

        with rasterio.open(self.tif) as src:
            profile = src.profile
            with rasterio.open(self.out / "plain.tif", "w", **profile) as dst:
                for _, window in src.block_windows(1):
                    dst.write(src.read(window=window), window=window)

    def time_zarr_plain_write(self):
        """Anchor of ``time_to_zarr``: rasterio blocks written into a plain zarr array."""
        import rasterio
        import zarr

        from iqx.io.zarr import DEFAULT_CODEC, _compressors

        c = chunk(1024)
        with rasterio.open(self.tif) as src:
            arr = zarr.create_array(
                self.out / "plain.zarr", shape=(1, src.height, src.width), chunks=(1, c, c),
                dtype="uint16", overwrite=True,
                compressors=_compressors(DEFAULT_CODEC),
            )  # fmt: skip
            for y0 in range(0, src.height, c):
                for x0 in range(0, src.width, c):
                    h, w = min(c, src.height - y0), min(c, src.width - x0)
                    arr[:, y0 : y0 + h, x0 : x0 + w] = src.read(window=((y0, y0 + h), (x0, x0 + w)))

    def time_to_geotiff(self):
        import iqx

        iqx.to_geotiff(self.scene, self.out / "w.tif", overwrite=True)

    def time_to_zarr(self):
        import iqx

        iqx.to_zarr(self.scene, self.out / "w.zarr", overwrite=True)


class PeakMem:
    """Peak memory of a chunked read-and-reduce over a 20000² uint16 scene (800 MB).

    Anchor: ``peakmem_rasterio_blocks`` reduces the same file block by block with rasterio.
    """

    timeout = 1200

    def setup(self):
        n = size(20_000)
        self.tif = _geotiff(n, f"big_{n}.tif")

    def peakmem_read_reduce_20k(self):
        import iqx

        scene = iqx.open_scene(self.tif)
        scene.astype("float32").mean().compute(scheduler="threads")

    def peakmem_rasterio_blocks(self):
        import rasterio

        total = 0.0
        with rasterio.open(self.tif) as ds:
            for _, window in ds.block_windows(1):
                total += float(ds.read(1, window=window).astype("float32").sum(dtype="float64"))
