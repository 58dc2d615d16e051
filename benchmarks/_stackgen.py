"""Real-derived spectra for the batch benchmarks (not a benchmark itself).

``fe_spectra(points)``: eight real Fe K-edge scans from ../shared/data/xas (the files of
``bench_xanes.py``) interpolated onto one ``points``-point grid over the range they all
cover, and the real foil column of CERIC FeO_311 on the same grid.
``write_stack(path, n, ...)``: an HDF5 ``[n, points]`` float32 stack, written block by
block (never whole in memory): row i is real scan ``i % 8`` shifted by up to +-1 eV
(a linear interpolation) with 0.1 % of its edge step as noise, seeded.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NAHEO_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / "xas"
LARCH = "xraypy__xraylarch"
CERIC = "amecchina__CERIC-Reference-Spectra-Repository"
FILES = [f"{LARCH}/fe2o3_rt1.xmu", f"{LARCH}/feo_rt1.xdi", f"{CERIC}/FeO_311.xdi",
         f"{CERIC}/Fe3O4_311.xdi", f"{CERIC}/Fe2O3_311_EXAFS.xdi", f"{CERIC}/Fe_foil_311.xdi",
         f"{LARCH}/prj_export/Fe__Goerthite.dat", f"{LARCH}/prj_export/Fe__Hematite.dat"]


def fe_spectra(points: int = 500):
    """(grid (points,), spectra (8, points), foil (points,), edge steps (8,))."""
    from naheo_spec.io import read_spectrum
    from naheo_spec.xas.normalize import normalize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spectra = [read_spectrum(DATA / f) for f in FILES]
        lo = max(s.energy[0] for s in spectra) + 2.0
        hi = min(s.energy[-1] for s in spectra) - 2.0
        grid = np.linspace(lo, hi, points)
        base = np.vstack([np.interp(grid, s.energy, s.mu) for s in spectra])
        steps = np.array([normalize(grid, row).edge_step for row in base])
        feo = spectra[2]
        foil = np.interp(grid, feo.energy, feo.channels["reference"])
    return grid, base, foil, steps


def rows(grid, base, steps, start: int, stop: int, seed: int = 0) -> np.ndarray:
    """Rows start:stop of the benchmark stack (float32), reproducible block by block."""
    rng = np.random.default_rng([seed, start])
    n = stop - start
    pick = np.arange(start, stop) % len(base)
    shift = rng.uniform(-1.0, 1.0, n)
    de = grid[1] - grid[0]
    frac = shift / de                          # shift by interpolating between neighbours
    b = base[pick]
    shifted = b + frac[:, None] * np.gradient(b, axis=1)
    noise = 1e-3 * steps[pick, None] * rng.standard_normal((n, grid.size))
    return (shifted + noise).astype(np.float32)


def write_stack(path: Path, n: int, points: int = 500, *, reference: bool = False,
                compression: str | None = None, block: int = 20000, seed: int = 0) -> Path:
    """Write the ``[n, points]`` float32 stack (group ``/map``, element Fe)."""
    import h5py

    grid, base, foil, steps = fe_spectra(points)
    chunk = (min(n, 2000), points)
    with h5py.File(path, "w") as f:
        g = f.create_group("map")
        g.attrs["element"] = "Fe"
        g.attrs["edge"] = "K"
        g["energy"] = grid
        g["energy"].attrs["units"] = "eV"
        mu = g.create_dataset("mu", shape=(n, points), dtype=np.float32, chunks=chunk,
                              compression=compression)
        ref = g.create_dataset("murefer", shape=(n, points), dtype=np.float32, chunks=chunk,
                               compression=compression) if reference else None
        for start in range(0, n, block):
            stop = min(n, start + block)
            mu[start:stop] = rows(grid, base, steps, start, stop, seed)
            if ref is not None:
                ref[start:stop] = np.broadcast_to(foil.astype(np.float32), (stop - start, points))
    return path
