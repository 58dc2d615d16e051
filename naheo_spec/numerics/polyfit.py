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


class PolyFit:
    """Least-squares polynomial of degree ``deg`` over ``energy[rows]``, precomputed.

    The fit is linear in the data, so one pseudo-inverse serves every spectrum fitted
    over these points: the coefficients of all rows of ``y`` are ``y[:, rows] @ proj``
    and the fitted curves on the whole grid are ``coefs @ basis.T``.

    Parameters
    ----------
    energy : ndarray of shape (M,)
        Energy grid (eV).
    rows : slice
        Points of the grid used by the fit.
    deg : int
        Polynomial degree (0 = constant).
    weight : ndarray of shape (M,), optional
        The fit is to ``y * weight`` and the curve is divided by ``weight`` again (the
        ``E**nvict`` pre-edge form); both are folded into ``proj`` and ``basis``.

    Attributes
    ----------
    rows : slice
    proj : ndarray of shape (n_rows, deg + 1)
        Transposed pseudo-inverse of the scaled Vandermonde matrix.
    basis : ndarray of shape (M, deg + 1)
        Scaled Vandermonde matrix on the whole grid.
    """

    def __init__(self, energy: np.ndarray, rows: slice, deg: int,
                 weight: np.ndarray | None = None):
        x = energy[rows]
        lo, hi = float(x[0]), float(x[-1])
        self.rows = rows
        self.proj = np.linalg.pinv(scaled_vander(x, deg, lo, hi)).T
        self.basis = scaled_vander(energy, deg, lo, hi)
        if weight is not None:
            self.proj = self.proj * weight[rows][:, None]
            self.basis = self.basis / weight[:, None]

    def coefs(self, y: np.ndarray) -> np.ndarray:
        """Coefficients (G, deg + 1) of the fits to the rows of ``y`` (G, M)."""
        return y[:, self.rows] @ self.proj

    def leverage(self, index: int) -> float:
        """Variance factor of the fitted value at grid point ``index`` (unweighted fits):
        ``b (A^T A)^-1 b = |pinv(A)^T b|^2`` with ``b`` the basis there, i.e.
        :func:`leverage_at` without a second pseudo-inverse."""
        v = self.proj @ self.basis[index]
        return float(v @ v)


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
