"""Pure NumPy + numba kernels on one ndarray block. Nothing here imports dask or xarray."""
