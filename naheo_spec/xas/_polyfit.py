"""Private helpers for the XANES kernels: larch-compatible index rules and batched
polynomial least squares.

Every function here works on many spectra at once: the design matrix of a fit
depends only on the energy rows used, so spectra that share those rows are fitted
with one pseudo-inverse and one matrix product (no Python loop over spectra).
"""
from __future__ import annotations

import numpy as np


def index_of(energy: np.ndarray, value) -> np.ndarray:
    """Index of the last point at or below ``value`` (0 when below the first point).

    Vectorized form of ``larch.math.index_of`` for a sorted ``energy``.
    """
    idx = np.searchsorted(energy, np.asarray(value, dtype=float), side="right") - 1
    return np.clip(idx, 0, energy.size - 1)


def index_of_relative(energy: np.ndarray, e0, value) -> np.ndarray:
    """``index_of(energy - e0, value)`` computed exactly as larch does (row by row).

    ``energy - e0`` is compared with ``value`` rather than ``energy`` with
    ``value + e0`` so that rounding at range boundaries matches larch.
    """
    e0 = np.atleast_1d(np.asarray(e0, dtype=float))
    value = np.broadcast_to(np.asarray(value, dtype=float), e0.shape)
    counts = np.sum((energy[None, :] - e0[:, None]) <= value[:, None], axis=1)
    return np.clip(counts - 1, 0, energy.size - 1)


def index_nearest(energy: np.ndarray, value) -> np.ndarray:
    """Index of the point nearest ``value`` (lower index on a tie, like ``argmin``).

    Vectorized form of ``larch.math.index_nearest`` for a sorted ``energy``.
    """
    value = np.asarray(value, dtype=float)
    hi = np.clip(np.searchsorted(energy, value, side="left"), 0, energy.size - 1)
    lo = np.clip(hi - 1, 0, energy.size - 1)
    take_lo = np.abs(energy[lo] - value) <= np.abs(energy[hi] - value)
    return np.where(take_lo, lo, hi)


def scaled_vander(x: np.ndarray, deg: int, lo: float, hi: float) -> np.ndarray:
    """Vandermonde matrix of ``x`` mapped from ``[lo, hi]`` onto ``[-1, 1]``.

    The mapping is the one ``numpy.polynomial.Polynomial.fit`` uses; it keeps the
    normal equations well conditioned at X-ray energies (E ~ 10^4 eV, E^2 ~ 10^8).
    """
    half = 0.5 * (hi - lo) if hi > lo else 1.0
    t = (x - 0.5 * (hi + lo)) / half
    return np.vander(t, deg + 1, increasing=True)


def fit_rows(energy: np.ndarray, rows: slice, deg: int, y: np.ndarray,
             *, weight: np.ndarray | None = None) -> np.ndarray:
    """Least-squares polynomial of degree ``deg`` fitted to ``y[:, rows]`` for every row.

    Parameters
    ----------
    energy : ndarray of shape (M,)
        Energy grid (eV).
    rows : slice
        Points of the grid used by the fit.
    deg : int
        Polynomial degree (0 = constant).
    y : ndarray of shape (G, M)
        Signals (one spectrum per row).
    weight : ndarray of shape (M,), optional
        Multiplies ``y`` before the fit (used for the ``E**nvict`` pre-edge form).

    Returns
    -------
    curve : ndarray of shape (G, M)
        The fitted polynomials evaluated on the whole grid.
    """
    x = energy[rows]
    lo, hi = float(x[0]), float(x[-1])
    a = scaled_vander(x, deg, lo, hi)
    pinv = np.linalg.pinv(a)                      # (deg+1, n)
    yy = y[:, rows] if weight is None else y[:, rows] * weight[rows]
    coefs = yy @ pinv.T                           # (G, deg+1)
    full = scaled_vander(energy, deg, lo, hi)     # (M, deg+1)
    return coefs @ full.T


def leverage_at(energy: np.ndarray, rows: slice, deg: int, at: float) -> float:
    """Variance factor of a degree-``deg`` fit over ``energy[rows]`` evaluated at ``at``.

    The variance of the fitted value is ``sigma**2 * leverage`` for white noise of
    standard deviation ``sigma`` on the fitted points.
    """
    x = energy[rows]
    lo, hi = float(x[0]), float(x[-1])
    a = scaled_vander(x, deg, lo, hi)
    b = scaled_vander(np.array([at], dtype=float), deg, lo, hi)[0]
    cov = np.linalg.pinv(a.T @ a)
    return float(b @ cov @ b)
