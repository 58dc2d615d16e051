"""Edge energy (E0) of an XAS spectrum, with a noise-based uncertainty.

Four definitions are offered (``E0_METHODS``); they differ by several eV on oxides,
so the method is part of every result:

``"max-derivative"``
    larch's ``find_e0`` reproduced step by step (xraylarch 2026.3.1,
    ``larch/xafs/pre_edge.py``): the maximum of dmu/dE on the raw grid (a point
    counts only if both neighbours are also above 60 % of the derivative range;
    hits within the first 5 % of points are treated as glitches), then the maximum
    of a Lorentzian-smoothed derivative within +-75 points of it. The result is a
    grid energy. On oxides it often sits on the white line; use it for foils and
    Athena/larch compatibility, not for oxidation states.
``"half-height"``
    Energy where the normalized mu first reaches 0.5 (``level``) on the rising edge:
    the last upward crossing of the level before the edge top (two consecutive
    points above 0.8), refined by a quadratic fitted to the 6 points around the
    crossing. Robust to noise and to the white line; the recommended valence marker.
``"zero-second-derivative"``
    Zero crossing (+ to -) of the second derivative of the smoothed mu nearest the
    maximum-derivative point: the sub-grid position of the derivative maximum.
``"arctan"``
    Centre of an arctangent step (plus a sloping line and, by default, a Lorentzian
    white line) least-squares fitted to the normalized mu over ``window`` eV around
    the half-height energy.
``"integral"``
    The integral edge position of Dau et al. [5]_: the mean energy of the rising edge
    between normalized levels 0.15 and 1.0, ``E = (1 / (mu2 - mu1)) int E d(mu)``,
    evaluated as ``E2 - int_{E1}^{E2} (clip(norm, mu1, mu2) - mu1) dE / (mu2 - mu1)``
    between the upward crossings E1 (of mu1) and E2 (of mu2, the first after E1). It
    stops at the edge top, so a white line moves it less than it moves the
    derivative maximum.

Uncertainties (``e0_err_eV``) are statistical: they propagate the white-noise level
estimated from the data itself (:func:`estimate_noise`: winsorized mean absolute residual
of a 5-point quadratic Savitzky-Golay fit in the pre-edge and beyond E0 + 40 eV):

* half-height: ``sqrt(var) / slope`` with ``var`` the variance of the normalized mu
  at the crossing (local fit, pre-edge line and edge step, all from the same
  noise), ``slope`` the fitted d(norm)/dE there;
* max-derivative and zero-second-derivative: parametric bootstrap, ``n_boot``
  (default 30) noisy replicas with the estimated noise, seeded, run through the
  vectorized stack path; for max-derivative the grid quantization
  (local step / sqrt(12)) is added in quadrature;
* arctan: the E0 variance of the fit covariance ``sigma_norm**2 (J^T J)^-1``
  (the noise level, not the misfit, sets the scale, so it predicts the scatter
  between repeated scans; an arctan + peak never fits a real XANES to the noise, so
  the reduced chi-square and the lmfit-style error scaled by its square root are in
  ``details``).

The systematic dependence of half-height on the normalization ranges is reported
separately in ``details["range_sensitivity_eV"]`` (per-spectrum path only): it does
not shrink with more counts, and it is fixed by reporting the ranges.

References
----------
.. [1] M. Newville, J. Phys.: Conf. Ser. 430, 012007 (2013),
   doi:10.1088/1742-6596/430/1/012007 (larch ``find_e0``/``pre_edge``).
.. [2] B. Efron, R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall
   (1993), ch. 6 (parametric bootstrap).
.. [3] G. Bunker, *Introduction to XAFS*, Cambridge University Press (2010), sec. 5.2
   (E0 definitions; half-height and arctangent edge models).
.. [4] A. Savitzky, M. J. E. Golay, Anal. Chem. 36, 1627 (1964),
   doi:10.1021/ac60214a047 (noise residual).
.. [5] H. Dau, P. Liebisch and M. Haumann, Anal. Bioanal. Chem. 376, 562 (2003),
   doi:10.1007/s00216-003-1982-2 (integral edge position).
"""
from __future__ import annotations

import warnings as _warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from naheo_spec.diagnostics import (
    WarningCode,
    WarningRecord,
    capture,
    emit,
    warnings_json,
)
from naheo_spec.errors import FitError, InputError, ProcessingError, QualityWarning
from naheo_spec.numerics.polyfit import index_nearest, index_of
from naheo_spec.provenance import Provenance
from naheo_spec.records import Record
from naheo_spec.validation import check_xy
from naheo_spec.xas.edge_derivative import larch_e0_rows, max_derivative_rows

E0_METHODS = ("max-derivative", "half-height", "zero-second-derivative", "arctan", "integral")
#: Methods whose stack form is vectorized (arctan loops over spectra).
VECTORIZED_METHODS = ("max-derivative", "half-height", "zero-second-derivative", "integral")
#: Methods computed on the normalized spectrum (the others on raw mu).
NORMALIZED_METHODS = ("half-height", "arctan", "integral")
#: Normalized levels between which the integral edge position averages the energy
#: (Dau et al. 2003 used 0.15 and 1.0 for Mn K edges).
INTEGRAL_LEVELS = (0.15, 1.0)
#: Edge "top" used to bracket the half-height crossing (normalized units).
TOP_LEVEL = 0.8
#: Points in the local quadratic fit around the half-height crossing.
HALF_HEIGHT_NPTS = 6
#: Spectra per bootstrap batch (bounds memory at ~ _BOOT_CHUNK * n_boot * M floats).
_BOOT_CHUNK = 256
#: Rows processed together: small enough for the working arrays to stay in cache.
_CHUNK = 512


@dataclass(frozen=True, eq=False)
class E0Estimate:
    """An edge energy with its statistical uncertainty.

    Attributes
    ----------
    e0_eV : float
        Edge energy (eV).
    e0_err_eV : float
        One standard deviation from the data's noise (eV); NaN when it could not be
        estimated. See the module docstring for how each method propagates it.
    method : str
        One of :data:`E0_METHODS`.
    warnings : tuple of str
        Quality flags (also emitted as warnings).
    provenance : Provenance
        Step ``"xas.find_e0"`` and the parameters used.
    details : dict
        Method-specific numbers: noise level, slope at the crossing, bootstrap
        replicas, fit parameters, range sensitivity.
    """

    e0_eV: float
    e0_err_eV: float
    method: str
    warnings: tuple[str, ...]
    provenance: Provenance
    details: dict[str, Any] = field(default_factory=dict)

    def to_record(self, name: str) -> Record:
        """Return a :class:`~naheo_spec.records.Record` (kind ``"xas_e0"``) with no arrays."""
        summary = {"e0_eV": self.e0_eV, "e0_err_eV": self.e0_err_eV, "method": self.method,
                   "warnings": warnings_json(self.warnings)}
        summary.update({k: v for k, v in self.details.items()
                        if isinstance(v, (int, float, str, bool))})
        return Record(name=name, kind="xas_e0", summary=summary, provenance=self.provenance)


# =========================================================================== noise
def estimate_noise(energy, mu, *, e0=None) -> np.ndarray | float:
    """White-noise standard deviation of mu, estimated from the data.

    Uses the points below ``e0 - 15`` eV and above ``e0 + 40`` eV (smooth pre-edge and
    finely sampled EXAFS): the winsorized mean absolute residual of a 5-point quadratic
    Savitzky-Golay fit, scaled to a Gaussian standard deviation.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Energy (eV).
    mu : array-like, shape (M,) or (N, M)
        Absorption.
    e0 : float or array-like of shape (N,), optional
        Edge energy (eV). Default is None: the larch maximum-derivative estimate.

    Returns
    -------
    float or ndarray of shape (N,)
        Noise level in units of ``mu``.

    References
    ----------
    A. Savitzky, M. J. E. Golay, Anal. Chem. 36, 1627 (1964), doi:10.1021/ac60214a047.
    """
    from naheo_spec.xas.normalize import noise_rows

    energy, mu = check_xy(energy, mu)
    y = np.atleast_2d(mu)
    e0a = max_derivative_rows(energy, y) if e0 is None else \
        np.broadcast_to(np.asarray(e0, dtype=float), (y.shape[0],))
    sigma = noise_rows(energy, y, e0a)
    return float(sigma[0]) if mu.ndim == 1 else sigma


def _bootstrap_std(fn, energy, y, sigma, n_boot, seed) -> np.ndarray:
    """Std of ``fn(energy, replicas)`` over ``n_boot`` noisy replicas of every row.

    Each row's noise comes from its own generator, seeded with ``seed`` and a CRC of
    the row's bytes, so a spectrum gets the same error alone or inside any stack.
    """
    n, m = y.shape
    out = np.full(n, np.nan)
    ok = np.flatnonzero(np.isfinite(sigma) & (sigma > 0))
    for start in range(0, ok.size, _BOOT_CHUNK):
        rows = ok[start:start + _BOOT_CHUNK]
        noise = np.stack([np.random.default_rng([seed, zlib.crc32(y[i].tobytes())])
                          .standard_normal((n_boot, m)) for i in rows])
        reps = y[rows, None, :] + sigma[rows, None, None] * noise
        vals = fn(energy, reps.reshape(-1, m)).reshape(rows.size, n_boot)
        out[rows] = np.std(vals, axis=1, ddof=1)
    return out


def _grid_quantum(energy: np.ndarray, e0: np.ndarray) -> np.ndarray:
    i = np.clip(index_nearest(energy, e0), 1, energy.size - 2)
    return 0.5 * (energy[i + 1] - energy[i - 1]) / np.sqrt(12.0)


# =========================================================================== half-height
def _batched_quadfit(x: np.ndarray, y: np.ndarray):
    """Quadratic least squares of N fits of P points each, x, y (P, N) (the points along
    axis 0: every sum is a few whole-vector additions): (c0, c1, c2, leverage) where
    ``leverage(t)`` is ``b (A^T A)^-1 b`` at ``b = (1, t, t^2)`` (the variance factor of the
    fitted value at ``x = t``).

    The 3x3 normal equations are solved in closed form (cofactors), vectorized over the
    fits, in the variable ``u = x / s`` (``s`` = the fit's largest ``|x|``) so that they
    stay well conditioned on any grid; the coefficients are scaled back to ``x``. A fit
    whose normal matrix is singular falls back to a pseudo-inverse."""
    s = np.max(np.abs(x), axis=0)
    s = np.where(s > 0, s, 1.0)
    u = x / s
    u2 = u * u
    s1, s2 = u.sum(axis=0), u2.sum(axis=0)
    s3, s4 = (u2 * u).sum(axis=0), (u2 * u2).sum(axis=0)
    s0 = float(x.shape[0])
    t0, t1, t2 = y.sum(axis=0), (u * y).sum(axis=0), (u2 * y).sum(axis=0)
    a00, a01, a02 = s2 * s4 - s3 * s3, s2 * s3 - s1 * s4, s1 * s3 - s2 * s2
    a11, a12, a22 = s0 * s4 - s2 * s2, s1 * s2 - s0 * s3, s0 * s2 - s1 * s1
    det = s0 * a00 + s1 * a01 + s2 * a02
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        cov = np.stack([a00, a01, a02, a11, a12, a22]) * inv  # symmetric: 6 entries
    bad = np.flatnonzero(~(np.isfinite(inv) & (det > 0)))
    if bad.size:                                             # singular: pseudo-inverse
        m = np.stack([np.ones_like(u[:, bad].T), u[:, bad].T, u2[:, bad].T], axis=2)
        p = np.linalg.pinv(np.matmul(m.transpose(0, 2, 1), m))
        cov[:, bad] = p[:, [0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2]].T
    v00, v01, v02, v11, v12, v22 = cov
    c0 = v00 * t0 + v01 * t1 + v02 * t2
    c1 = (v01 * t0 + v11 * t1 + v12 * t2) / s
    c2 = (v02 * t0 + v12 * t1 + v22 * t2) / (s * s)

    def leverage(t):
        b1 = t / s
        b2 = b1 * b1
        return v00 + 2 * v01 * b1 + (2 * v02 + v11) * b2 + 2 * v12 * b1 * b2 + v22 * b2 * b2

    return c0, c1, c2, leverage


#: The crossing is first looked for in the columns from E0 - 30 eV to E0 + this (eV) of
#: the block's rows; rows whose edge top or crossing is not there are searched whole.
CROSSING_WINDOW_EV = 90.0


def _crossing_rows(norm, start, level):
    """Reference form of :func:`_crossing_full` (masks over whole rows); used for the rows
    its shortcuts do not cover."""
    n, m = norm.shape
    idx = np.arange(m)
    hi = norm >= max(TOP_LEVEL, level + 0.05)
    top = hi[:, :-1] & hi[:, 1:] & (idx[None, :-1] >= start[:, None])
    found_top = top.any(axis=1)
    i_top = np.where(found_top, np.argmax(top, axis=1), m - 1)
    up = (norm[:, :-1] < level) & (norm[:, 1:] >= level) & (idx[None, :-1] < i_top[:, None])
    found = up.any(axis=1)
    k = (m - 2) - np.argmax(up[:, ::-1], axis=1)
    return np.where(found, k, -1), found_top, found


def _crossing_full(norm, start, level):
    """(crossing index or -1, edge top found, crossing found) of every row of ``norm``.

    The edge top is the first pair of points at or above max(0.8, level + 0.05) from
    column ``start`` on; the crossing is the last upward one of ``level`` before it. Done
    as first-true searches (argmax) over the flattened rows, whose column masks and
    reversed search cost several times more: the first pair of the whole row is the top
    unless it lies before ``start``, and the only upward crossing of a row is the last
    one. Rows with an earlier pair or several crossings (few) go to
    :func:`_crossing_rows`; the answers are the same as its answers for every row.
    """
    n, m = norm.shape
    if n == 0 or m < 3:
        return _crossing_rows(norm, start, level)
    r = np.arange(n)
    # the comparisons write new (C-ordered) masks, flattened here: ``norm`` itself may be
    # a column window of a wider array and is read once per comparison, never copied
    hi = np.greater_equal(norm, max(TOP_LEVEL, level + 0.05)).reshape(-1)
    pair = np.empty(n * m, dtype=bool)
    np.logical_and(hi[:-1], hi[1:], out=pair[:-1])
    pair = pair.reshape(n, m)
    pair[:, -1] = False                                # pairs straddling two rows
    i_top = pair.argmax(axis=1)
    found_top = pair[r, i_top]
    early = found_top & (i_top < start)                # the top may lie further on
    i_top = np.where(found_top, i_top, m - 1)
    lt = np.less(norm, level).reshape(-1)
    ge = np.greater_equal(norm, level, out=hi.reshape(n, m)).reshape(-1)
    np.logical_and(lt[:-1], ge[1:], out=pair.reshape(-1)[:-1])
    up = pair                                          # upward crossings, same buffer
    up[:, -1] = False
    k = up.argmax(axis=1)
    found = up[r, k]
    up[r, k] = False                                   # any crossing left: several
    redo = np.flatnonzero(early)
    several = np.flatnonzero(up) // m
    if several.size:
        redo = np.union1d(redo, several)
    found &= k < i_top
    k = np.where(found, k, -1)
    if redo.size:
        k[redo], found_top[redo], found[redo] = _crossing_rows(norm[redo], start[redo], level)
    return k, found_top, found


def _crossing_index(energy, norm, e0, level):
    """Last upward crossing of ``level`` before the edge top, per row (-1 if none).

    The edge top is the first pair of points at or above max(0.8, level + 0.05) from
    E0 - 30 eV on; the crossing is the last upward one before it. Both are searched in the
    columns around the block's edges first (``CROSSING_WINDOW_EV``); a row whose top or
    crossing is not found there is searched over all its points -- the same answer as a
    search over every row's full length, at a fraction of the cost."""
    n, m = norm.shape
    start = index_of(energy, e0 - 30.0)
    if n == 0:
        return np.full(0, -1, dtype=np.int64)
    lo = int(start.min())
    fin = e0[np.isfinite(e0)]
    hi = min(m, int(np.searchsorted(energy, fin.max() + CROSSING_WINDOW_EV)) + 2) \
        if fin.size else m
    if lo == 0 and hi == m or hi - lo < 4:
        return _crossing_full(norm, start, level)[0]
    k, found_top, found = _crossing_full(norm[:, lo:hi], start - lo, level)
    k = np.where(found, k + lo, -1)
    redo = np.flatnonzero(~(found_top & found))        # top or crossing outside the window
    if redo.size:
        k[redo] = _crossing_full(norm[redo], start[redo], level)[0]
    return k


def half_height_rows(energy: np.ndarray, norm: np.ndarray, e0: np.ndarray, *,
                     level: float = 0.5, npts: int = HALF_HEIGHT_NPTS) -> dict:
    """Half-height energy of every row of ``norm`` (N, M), vectorized.

    Returns a dict with ``e0`` (eV, NaN where no crossing), ``slope`` (1/eV at the
    crossing), ``leverage`` (variance factor of the local fit at the crossing) and
    ``k`` (grid index just below the crossing).
    """
    n, m = norm.shape
    r = np.arange(n)
    k = _crossing_index(energy, norm, e0, level)
    found = k >= 0
    kk = np.clip(k, 0, m - 2)
    y0, y1 = norm[r, kk], norm[r, kk + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        e_lin = energy[kk] + (level - y0) / (y1 - y0) * (energy[kk + 1] - energy[kk])
    found &= np.isfinite(e_lin)
    e_lin = np.where(found, e_lin, energy[kk])          # rows without a crossing: any finite x
    first = np.clip(kk - (npts // 2 - 1), 0, m - npts)
    cols = first[None, :] + np.arange(npts)[:, None]                  # (npts, N)
    x = energy[cols] - e_lin[None, :]
    c0, c1, c2, leverage = _batched_quadfit(x, norm[r[None, :], cols])
    c0 = c0 - level
    disc = c1 * c1 - 4 * c2 * c0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -2 * c0 / (c1 + np.sign(c1) * np.sqrt(np.maximum(disc, 0)))
    slope = c1 + 2 * c2 * t
    span = energy[kk + 1] - energy[kk]
    good = found & (disc >= 0) & (slope > 0) & (np.abs(t) <= 2 * span) & np.isfinite(t)
    t = np.where(good, t, 0.0)
    slope_lin = (y1 - y0) / span
    slope = np.where(good, slope, slope_lin)
    lev = leverage(t)
    e_half = np.where(found, e_lin + t, np.nan)
    return {"e0": e_half, "slope": slope, "leverage": lev, "k": k, "step": span,
            "interpolation_eV": np.where(found, np.abs(t), np.nan)}


def half_height_err(hh: dict, leverage_fits: np.ndarray, noise_norm: np.ndarray,
                    level: float, inflation=1.0) -> np.ndarray:
    """Noise-propagated std of the half-height energy (eV); see the module docstring.

    ``inflation`` (>= 1, per row) is the number of grid points over which the noise is
    correlated (interpolated or smoothed data): the long pre- and post-edge fits see that
    many times fewer independent points, and the 6-point local fit at most all of its
    variance (:mod:`naheo_spec.xas.uncertainty`).
    """
    lev_pre, lev_post = leverage_fits[:, 0], leverage_fits[:, 1]
    m = np.asarray(inflation, dtype=float)
    local = np.minimum(hh["leverage"] * m, 1.0) if np.any(m != 1.0) else hh["leverage"]
    var = noise_norm ** 2 * (local + m * ((1 - level) ** 2 * lev_pre + level ** 2 * lev_post))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(var) / hh["slope"]


# =========================================================================== integral
def integral_rows(energy: np.ndarray, norm: np.ndarray, e0: np.ndarray, *,
                  levels: tuple[float, float] = INTEGRAL_LEVELS) -> dict:
    """Integral edge position (Dau et al. 2003) of every row of ``norm`` (N, M).

    Returns a dict with ``e0`` (eV, NaN where the edge does not cross both levels),
    ``e_low``/``e_high`` (the crossings, eV), ``weights2`` (sum of the squared trapezoid
    weights of the points between them, eV^2: the variance factor of the integral for
    white noise) and ``step`` (mean grid step between the crossings, eV).

    References
    ----------
    H. Dau, P. Liebisch, M. Haumann, Anal. Bioanal. Chem. 376, 562 (2003),
    doi:10.1007/s00216-003-1982-2.

    Examples
    --------
    >>> e = np.linspace(8300.0, 8400.0, 1001)
    >>> ramp = np.clip((e - 8340.0) / 10.0, 0.0, 1.0)       # linear rise 8340-8350 eV
    >>> round(float(integral_rows(e, ramp[None, :], np.array([8345.0]))["e0"][0]), 2)
    8345.75
    """
    mu1, mu2 = levels
    n, m = norm.shape
    r = np.arange(n)
    out = {k: np.full(n, np.nan) for k in ("e0", "e_low", "e_high", "weights2", "step")}
    k1 = _crossing_index(energy, norm, e0, mu1)
    ok = k1 >= 0
    if not ok.any():
        return out
    idx = np.arange(m)
    # first upward crossing of mu2 after the mu1 crossing
    up2 = (norm[:, :-1] < mu2) & (norm[:, 1:] >= mu2) & (idx[None, :-1] >= k1[:, None])
    k2 = np.where(up2.any(axis=1), np.argmax(up2, axis=1), -1)
    ok &= k2 > k1
    if not ok.any():
        return out
    k1c, k2c = np.clip(k1, 0, m - 2), np.clip(k2, 0, m - 2)

    def cross(k, level):
        y0, y1 = norm[r, k], norm[r, k + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return energy[k] + (level - y0) / (y1 - y0) * (energy[k + 1] - energy[k])

    e1, e2 = cross(k1c, mu1), cross(k2c, mu2)
    # trapezoid of clip(norm) - mu1 from e1 to e2: whole intervals between grid points
    # k1+1 .. k2, plus the two partial intervals at the ends (linear interpolation); only
    # the columns between the lowest and highest crossing of the stack are needed
    c0 = int(np.min(k1c[ok]))
    c1_ = int(min(np.max(k2c[ok]) + 2, m))
    clipped = np.clip(norm[:, c0:c1_], mu1, mu2) - mu1
    de = np.diff(energy[c0:c1_])
    seg = 0.5 * (clipped[:, :-1] + clipped[:, 1:]) * de[None, :]
    cum = np.zeros((n, c1_ - c0))
    np.cumsum(seg, axis=1, out=cum[:, 1:])
    ka, kb = np.clip(np.minimum(k1c + 1, m - 1) - c0, 0, c1_ - c0 - 1), \
        np.clip(k2c - c0, 0, c1_ - c0 - 1)
    inner = cum[r, kb] - cum[r, ka]
    c1 = clipped[r, ka]
    head = 0.5 * (0.0 + c1) * (energy[np.minimum(k1c + 1, m - 1)] - e1)
    c2 = clipped[r, kb]
    tail = 0.5 * (c2 + (mu2 - mu1)) * (e2 - energy[k2c])
    area = head + inner + tail
    e_int = e2 - area / (mu2 - mu1)
    # white-noise variance factor: the squared trapezoid weights of the points strictly
    # between the crossings, 0.5 (E[j+1] - E[j-1]) inside, with the crossings as the outer
    # neighbours of the first and last point (cumulative sums: no loop over rows)
    wfull = np.zeros(m)
    wfull[1:-1] = 0.5 * (energy[2:] - energy[:-2])
    cw = np.concatenate([[0.0], np.cumsum(wfull ** 2)])
    a, b = np.minimum(k1c + 1, m - 1), k2c
    inner2 = cw[np.maximum(b, a)] - cw[np.minimum(a + 1, np.maximum(b, a))]   # a+1 .. b-1
    wa = 0.5 * (energy[np.minimum(a + 1, m - 1)] - e1)
    wb = 0.5 * (e2 - energy[np.maximum(b - 1, 0)])
    single = b == a                                 # one point between the crossings
    w2 = np.where(single, (0.5 * (e2 - e1)) ** 2, inner2 + wa ** 2 + wb ** 2)
    w2 = np.where(ok, w2, np.nan)
    out.update(e0=np.where(ok, e_int, np.nan), e_low=np.where(ok, e1, np.nan),
               e_high=np.where(ok, e2, np.nan), weights2=np.where(ok, w2, np.nan),
               step=np.where(ok, (e2 - e1) / np.maximum(k2c - k1c, 1), np.nan))
    return out


def integral_err(ii: dict, leverage_fits: np.ndarray, noise_norm: np.ndarray,
                 levels: tuple[float, float] = INTEGRAL_LEVELS, inflation=1.0) -> np.ndarray:
    """Noise-propagated std of the integral edge position (eV): the points inside the
    integral (white-noise weights) and the pre-/post-edge fits, which move the whole
    normalized edge up or down (``(E2 - E1) / (mu2 - mu1)`` eV per unit)."""
    mu1, mu2 = levels
    dm = mu2 - mu1
    m = np.asarray(inflation, dtype=float)
    lev_pre, lev_post = leverage_fits[:, 0], leverage_fits[:, 1]
    mid = 0.5 * (mu1 + mu2)
    span = (ii["e_high"] - ii["e_low"]) / dm
    var = noise_norm ** 2 * (m * ii["weights2"] / dm ** 2
                             + m * span ** 2 * ((1 - mid) ** 2 * lev_pre + mid ** 2 * lev_post))
    return np.sqrt(var)


def _range_sensitivity(energy, mu, e0, base, level) -> float:
    """Largest half-height change (eV) when each normalization range is moved."""
    from naheo_spec.xas.normalize import normalize

    pre1, pre2 = base.pre_range_eV
    norm1, norm2 = base.norm_range_eV
    trials = [dict(pre_range=(pre1, pre2 - 10.0)), dict(pre_range=(pre1 + 20.0, pre2)),
              dict(norm_range=(norm1 + 25.0, norm2)), dict(norm_range=(norm1, norm2 - 50.0))]
    vals = []
    for opts in trials:
        opts.setdefault("pre_range", base.pre_range_eV)
        opts.setdefault("norm_range", base.norm_range_eV)
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            try:
                alt = normalize(energy, mu, e0=e0, nnorm=base.nnorm, nvict=base.nvict, **opts)
            except ProcessingError:
                continue
        hh = half_height_rows(energy, alt.norm[None, :], np.array([e0]), level=level)
        vals.append(hh["e0"][0])
    base_hh = half_height_rows(energy, base.norm[None, :], np.array([e0]), level=level)["e0"][0]
    vals = np.asarray(vals, dtype=float) - base_hh
    return float(np.nanmax(np.abs(vals))) if np.isfinite(vals).any() else float("nan")


# =========================================================================== arctan
def _arctan_model(p, x, peak):
    e0, gamma, h, a, b = p[:5]
    y = h * (0.5 + np.arctan((x - e0) / gamma) / np.pi) + a + b * x
    if peak == "lorentzian":
        y = y + p[5] / (1.0 + ((x - p[6]) / p[7]) ** 2)
    elif peak == "gaussian":
        y = y + p[5] * np.exp(-0.5 * ((x - p[6]) / p[7]) ** 2)
    return y


def _arctan_fit(energy, norm, e_guess, sigma_norm, window, peak) -> dict:
    """Least-squares arctan (+ line + optional peak) fit of ``norm`` around ``e_guess``."""
    from scipy.optimize import least_squares

    sel = (energy >= e_guess + window[0]) & (energy <= e_guess + window[1])
    x, y = energy[sel] - e_guess, norm[sel]
    npar = 5 if peak is None else 8
    if x.size < npar + 3:
        raise FitError(f"arctan fit: only {x.size} points in window {window} eV around "
                       f"{e_guess:.2f} eV; need at least {npar + 3}")
    p0 = [0.0, 1.5, 1.0, 0.0, 0.0]
    lo = [window[0] + 1.0, 0.05, 0.0, -2.0, -1.0]
    hi = [window[1] - 1.0, 20.0, 5.0, 2.0, 1.0]
    if peak is not None:
        above = x > 0
        c0 = float(x[above][np.argmax(y[above])]) if above.any() else 5.0
        p0 += [max(float(y.max()) - 1.0, 0.05), c0, 3.0]
        lo += [0.0, window[0], 0.2]
        hi += [10.0, window[1], 20.0]
    p0 = np.clip(p0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)
    res = least_squares(lambda p: _arctan_model(p, x, peak) - y, p0, bounds=(lo, hi),
                        x_scale="jac")
    if not res.success:
        raise FitError(f"arctan fit did not converge: {res.message}")
    jtj = res.jac.T @ res.jac
    cov = np.linalg.pinv(jtj) * sigma_norm ** 2
    at_bound = bool(np.any(np.isclose(res.x, lo) | np.isclose(res.x, hi)))
    dof = max(1, x.size - npar)
    redchi = float(np.sum(res.fun ** 2) / dof / sigma_norm ** 2) if sigma_norm > 0 else np.nan
    return {"e0": e_guess + res.x[0], "err": float(np.sqrt(cov[0, 0])), "params": res.x,
            "at_bound": at_bound, "redchi": redchi, "npts": int(x.size)}


def arctan_rows(energy: np.ndarray, norm: np.ndarray, guess: np.ndarray,
                noise_norm: np.ndarray, *, window=(-20.0, 30.0),
                peak: str | None = "lorentzian") -> dict[str, np.ndarray]:
    """Arctan E0 of every row of ``norm`` (N, M): one nonlinear fit per row.

    Returns ``e0`` and ``err`` (NaN where the fit failed), ``at_bound`` (bool) and
    ``message`` (the FitError text of failed rows, else None).
    """
    n = norm.shape[0]
    out = {"e0": np.full(n, np.nan), "err": np.full(n, np.nan),
           "at_bound": np.zeros(n, dtype=bool), "message": [None] * n}
    for i in range(n):
        try:
            fit = _arctan_fit(energy, norm[i], float(guess[i]), float(noise_norm[i]), window,
                              peak)
        except FitError as exc:
            out["message"][i] = str(exc)
            continue
        out["e0"][i], out["err"][i], out["at_bound"][i] = fit["e0"], fit["err"], fit["at_bound"]
    return out


ARCTAN_AT_BOUND_MESSAGE = "arctan fit: a parameter sits at its bound; the E0 may not be meaningful"


# =========================================================================== public API
def _check_method(method: str) -> None:
    if method not in E0_METHODS:
        raise InputError(f"method must be one of {E0_METHODS}, got {method!r}")


BOOTSTRAP_SPREAD = WarningCode(
    "xas.e0.bootstrap_spread", QualityWarning,
    "A derivative E0 moves by more than 1 eV under the data's own noise (competing maxima, "
    "white line); prefer the half-height E0 for edge positions.")
HALF_HEIGHT_FAR = WarningCode(
    "xas.e0.half_height_far", QualityWarning,
    "The half-height energy lies more than 20 eV from the normalization E0.")
ARCTAN_AT_BOUND = WarningCode("xas.e0.arctan_at_bound", QualityWarning,
                              "An arctan-fit parameter sits at its bound.")
NO_CROSSING = WarningCode("xas.e0.no_crossing", QualityWarning,
                          "The normalized spectrum never rises through the E0 level(s).")

#: The bootstrap spread above which a derivative E0 is flagged (eV).
BOOTSTRAP_SPREAD_LIMIT_EV = 1.0
#: Half-height energies further than this from the normalization E0 are flagged (eV).
HALF_HEIGHT_FAR_EV = 20.0


def bootstrap_spread_message(method: str, std: float) -> str:
    """The message of :data:`BOOTSTRAP_SPREAD` (one rule for single spectra and stacks)."""
    return (f"{method} E0 moves by {std:.2f} eV (1 sigma) under the data's own noise level: "
            "several derivative maxima compete (white line?); prefer method='half-height' "
            "for edge positions")


def half_height_far_message(e0: float, e0_norm: float) -> str:
    """The message of :data:`HALF_HEIGHT_FAR`."""
    return (f"half-height energy {e0:.2f} eV lies {e0 - e0_norm:+.1f} eV from the "
            "normalization E0: check the normalization")


def no_crossing_message(method: str, level: float = 0.5) -> str:
    """Why a normalized-level E0 could not be found (the ProcessingError message)."""
    if method == "integral":
        lo, hi = INTEGRAL_LEVELS
        return (f"normalized mu never rises from {lo:g} to {hi:g} on the edge: no integral "
                "edge position (check the normalization ranges)")
    return (f"normalized mu never rises through {level:g} below the edge top: no half-height "
            "crossing (check the normalization ranges)")


def _warn(msgs: list, code: WarningCode, msg: str) -> None:
    msgs.append(code.warn(msg, stacklevel=4))


def _normalization_for(energy, mu, normalization):
    from naheo_spec.xas.normalize import normalize

    if normalization is None:
        return normalize(energy, mu)
    if normalization.norm.shape != energy.shape or not np.array_equal(normalization.energy,
                                                                      energy):
        raise InputError("normalization was computed on a different energy grid than the "
                         f"{energy.size} points given")
    return normalization


def _e0_derivative(energy, mu, method, uncertainty, n_boot, seed, msgs) -> tuple:
    from naheo_spec.xas.normalize import noise_rows

    y = mu[None, :]
    e0s = larch_e0_rows(energy, y, want_d2=(method == "zero-second-derivative"))
    e0 = float(e0s[0][0] if method == "max-derivative" else e0s[2][0])
    sigma = noise_rows(energy, y, np.array([e0s[0][0]]))
    details: dict[str, Any] = {"noise_sigma": float(sigma[0]), "n_boot": n_boot, "seed": seed}
    err = float("nan")
    if uncertainty and n_boot >= 2:
        fn = max_derivative_rows if method == "max-derivative" else \
            (lambda e, yy: larch_e0_rows(e, yy, want_d2=True)[2])
        std = float(_bootstrap_std(fn, energy, y, sigma, n_boot, seed)[0])
        quantum = float(_grid_quantum(energy, np.array([e0]))[0]) \
            if method == "max-derivative" else 0.0
        err = float(np.hypot(std, quantum))
        details.update(bootstrap_std_eV=std, grid_quantum_eV=quantum)
        if std > BOOTSTRAP_SPREAD_LIMIT_EV:
            _warn(msgs, BOOTSTRAP_SPREAD, bootstrap_spread_message(method, std))
    return e0, err, details


def _e0_half_height(energy, mu, norm_res, level, msgs) -> tuple:
    hh = half_height_rows(energy, norm_res.norm[None, :], np.array([norm_res.e0_eV]), level=level)
    e0 = float(hh["e0"][0])
    if not np.isfinite(e0):
        raise ProcessingError(no_crossing_message("half-height", level))
    noise_norm = np.array([norm_res.noise_sigma / norm_res.edge_step])
    err = float(half_height_err(hh, np.array([norm_res.fit_leverage]), noise_norm, level)[0])
    sens = _range_sensitivity(energy, mu, norm_res.e0_eV, norm_res, level)
    details = {"noise_sigma": norm_res.noise_sigma, "noise_norm": float(noise_norm[0]),
               "slope_per_eV": float(hh["slope"][0]), "level": level,
               "range_sensitivity_eV": sens, "e0_normalization_eV": norm_res.e0_eV,
               "pre_range_eV": list(norm_res.pre_range_eV),
               "norm_range_eV": list(norm_res.norm_range_eV), "nnorm": norm_res.nnorm,
               "grid_step_eV": float(hh["step"][0]),
               "interpolation_eV": float(hh["interpolation_eV"][0])}
    if abs(e0 - norm_res.e0_eV) > HALF_HEIGHT_FAR_EV:
        _warn(msgs, HALF_HEIGHT_FAR, half_height_far_message(e0, norm_res.e0_eV))
    return e0, err, details


def _e0_integral(energy, mu, norm_res, msgs) -> tuple:
    ii = integral_rows(energy, norm_res.norm[None, :], np.array([norm_res.e0_eV]))
    e0 = float(ii["e0"][0])
    if not np.isfinite(e0):
        raise ProcessingError(no_crossing_message("integral"))
    noise_norm = np.array([norm_res.noise_sigma / norm_res.edge_step])
    err = float(integral_err(ii, np.array([norm_res.fit_leverage]), noise_norm)[0])
    details = {"noise_sigma": norm_res.noise_sigma, "noise_norm": float(noise_norm[0]),
               "levels": list(INTEGRAL_LEVELS), "e_low_eV": float(ii["e_low"][0]),
               "e_high_eV": float(ii["e_high"][0]), "e0_normalization_eV": norm_res.e0_eV,
               "grid_step_eV": float(ii["step"][0])}
    return e0, err, details


def _e0_arctan(energy, mu, norm_res, level, window, peak, msgs) -> tuple:
    if peak not in ("lorentzian", "gaussian", None):
        raise InputError(f"peak must be 'lorentzian', 'gaussian' or None, got {peak!r}")
    hh = half_height_rows(energy, norm_res.norm[None, :], np.array([norm_res.e0_eV]), level=level)
    guess = float(hh["e0"][0]) if np.isfinite(hh["e0"][0]) else norm_res.e0_eV
    sigma_norm = norm_res.noise_sigma / norm_res.edge_step
    fit = _arctan_fit(energy, norm_res.norm, guess, sigma_norm, window, peak)
    if fit["at_bound"]:
        _warn(msgs, ARCTAN_AT_BOUND, ARCTAN_AT_BOUND_MESSAGE)
    names = ["e0_offset_eV", "gamma_eV", "step", "offset", "slope"] + \
        ([] if peak is None else ["peak_amplitude", "peak_center_eV", "peak_width_eV"])
    details = {"noise_norm": sigma_norm, "redchi": fit["redchi"], "npts": fit["npts"],
               # lmfit-style error scaled by sqrt(redchi): includes the model misfit
               "e0_err_scaled_eV": float(fit["err"] * np.sqrt(max(fit["redchi"], 1.0))),
               "window_eV": list(window), "peak": peak, "start_eV": guess,
               **{f"fit_{k}": float(v) for k, v in zip(names, fit["params"])}}
    return float(fit["e0"]), fit["err"], details


def find_e0(energy, mu, *, method: str = "max-derivative", normalization=None,
            uncertainty: bool = True, n_boot: int = 30, seed: int = 0, level: float = 0.5,
            window: tuple[float, float] = (-20.0, 30.0), peak: str | None = "lorentzian"
            ) -> E0Estimate:
    """Edge energy of one spectrum, with a noise-based uncertainty.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Strictly increasing energy (eV).
    mu : array-like, shape (M,)
        Absorption.
    method : {"max-derivative", "half-height", "zero-second-derivative", "arctan", "integral"}
        E0 definition (module docstring). Default is ``"max-derivative"`` (larch ``find_e0``).
    normalization : Normalization, optional
        Used by ``"half-height"``, ``"arctan"`` and ``"integral"``. Default is None:
        :func:`naheo_spec.xas.normalize.normalize` with larch defaults.
    uncertainty : bool
        Compute ``e0_err_eV`` (bootstrap for the derivative methods). Default is True.
    n_boot : int
        Bootstrap replicas. Default is 30.
    seed : int
        Seed of the bootstrap noise. Default is 0.
    level : float
        Normalized level for ``"half-height"`` (and the arctan start). Default is 0.5.
    window : (float, float)
        Arctan fit window, eV relative to the half-height energy. Default is (-20, 30).
    peak : {"lorentzian", "gaussian", None}
        White-line peak added to the arctan model. Default is ``"lorentzian"``.

    Returns
    -------
    E0Estimate

    Raises
    ------
    InputError
        Unknown method or option, bad arrays.
    ProcessingError
        No edge (see :func:`~naheo_spec.xas.normalize.normalize`) or no half-height crossing.
    FitError
        The arctan fit failed.

    References
    ----------
    See the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.linspace(8200.0, 8800.0, 1201)
    >>> mu = 1.0 / (1 + np.exp(-(e - 8333.0) / 1.5))
    >>> r = find_e0(e, mu, method="half-height", uncertainty=False)
    >>> bool(abs(r.e0_eV - 8333.0) < 0.05)
    True
    """
    _check_method(method)
    energy, mu = check_xy(energy, mu)
    if mu.ndim != 1:
        raise InputError(f"mu must be 1-D for find_e0(), got shape {mu.shape}; use find_e0_stack()")
    msgs: list[WarningRecord] = []
    params: dict[str, Any] = {"method": method, "uncertainty": uncertainty}
    if method in ("max-derivative", "zero-second-derivative"):
        from naheo_spec.xas.normalize import check_signal

        check_signal(mu[None, :], raise_=True)
        e0, err, details = _e0_derivative(energy, mu, method, uncertainty, n_boot, seed, msgs)
        params.update(n_boot=n_boot, seed=seed)
    else:
        norm_res = _normalization_for(energy, mu, normalization)
        msgs.extend(norm_res.warnings)
        params.update(level=level, normalization=norm_res.provenance.parameters)
        if method == "half-height":
            e0, err, details = _e0_half_height(energy, mu, norm_res, level, msgs)
        elif method == "integral":
            e0, err, details = _e0_integral(energy, mu, norm_res, msgs)
        else:
            e0, err, details = _e0_arctan(energy, mu, norm_res, level, window, peak, msgs)
            params.update(window_eV=list(window), peak=peak)
        if not uncertainty:
            err = float("nan")
    return E0Estimate(e0_eV=e0, e0_err_eV=err, method=method, warnings=tuple(msgs),
                      provenance=Provenance(step="xas.find_e0", parameters=params),
                      details=details)


def find_e0_stack(energy, mu_stack, *, method: str = "max-derivative", normalization=None,
                  uncertainty: bool = True, n_boot: int = 30, seed: int = 0,
                  level: float = 0.5, **opts) -> tuple[np.ndarray, np.ndarray]:
    """Edge energies of N spectra on one grid, vectorized for all methods but arctan.

    ``"max-derivative"``, ``"zero-second-derivative"``, ``"half-height"`` and
    ``"integral"`` run as array operations over the whole stack (bootstrap replicas
    included, in chunks);
    ``"arctan"`` loops over spectra with :func:`find_e0` (one nonlinear fit each).

    Parameters
    ----------
    energy : array-like, shape (M,)
        Common energy grid (eV).
    mu_stack : array-like, shape (N, M)
        One spectrum per row.
    method : str
        As in :func:`find_e0`. Default is ``"max-derivative"``.
    normalization : StackNormalization, optional
        For ``"half-height"`` and ``"integral"``; default is None: :func:`normalize_stack`
        with larch defaults.
    uncertainty, n_boot, seed, level
        As in :func:`find_e0`. With ``uncertainty=False`` the errors are NaN (fastest).
    **opts
        Passed to :func:`find_e0` for ``"arctan"`` (``window``, ``peak``).

    Returns
    -------
    e0_eV : ndarray of shape (N,)
        NaN where a spectrum has no usable edge.
    e0_err_eV : ndarray of shape (N,)

    Raises
    ------
    InputError
        Unknown method, bad arrays.
    """
    from naheo_spec.xas.normalize import check_signal, check_stack, noise_rows

    _check_method(method)
    energy, mu, scale = check_stack(energy, mu_stack)
    if method == "arctan":
        return _arctan_stack(energy, mu, level=level, **opts)
    if opts:
        raise InputError(f"unexpected options for method {method!r}: {sorted(opts)}")
    if method in ("half-height", "integral"):
        return _level_stack(energy, mu, normalization, uncertainty, level, method)
    bad = check_signal(mu, raise_=False, scale=scale)
    e0 = np.full(mu.shape[0], np.nan)
    err = np.full(mu.shape[0], np.nan)
    good = np.flatnonzero(~bad)
    y = mu if good.size == mu.shape[0] else mu[good]      # no copy when every row is usable
    res = larch_e0_rows(energy, y, want_d2=(method == "zero-second-derivative"))
    e0[good] = res[0] if method == "max-derivative" else res[2]
    if uncertainty and n_boot >= 2 and good.size:
        sigma = noise_rows(energy, y, res[0])
        fn = max_derivative_rows if method == "max-derivative" else \
            (lambda e, yy: larch_e0_rows(e, yy, want_d2=True)[2])
        std = _bootstrap_std(fn, energy, y, sigma, n_boot, seed)
        quantum = _grid_quantum(energy, e0[good]) if method == "max-derivative" else 0.0
        err[good] = np.hypot(std, quantum)
    return e0, err


def _level_stack(energy, mu, normalization, uncertainty, level, method):
    """Half-height or integral E0 of the rows (normalized-level methods), vectorized."""
    from naheo_spec.xas.normalize import normalize_stack

    if normalization is None:
        with capture() as caught:
            normalization = normalize_stack(energy, mu)
        emit(caught, stacklevel=3)                         # re-emit from here
    elif normalization.norm.shape != mu.shape:
        raise InputError(f"normalization has shape {normalization.norm.shape}, "
                         f"mu_stack {mu.shape}")
    e0_guess = np.where(normalization.valid, normalization.e0_eV, energy[energy.size // 2])
    norm = np.nan_to_num(normalization.norm)
    noise_norm = normalization.noise_sigma / normalization.edge_step
    if method == "integral":
        ii = integral_rows(energy, norm, e0_guess)
        e0 = np.where(normalization.valid, ii["e0"], np.nan)
        err = integral_err(ii, normalization.fit_leverage, noise_norm) if uncertainty else None
    else:
        hh = half_height_rows(energy, norm, e0_guess, level=level)
        e0 = np.where(normalization.valid, hh["e0"], np.nan)
        err = half_height_err(hh, normalization.fit_leverage, noise_norm, level) \
            if uncertainty else None
    err = np.full(e0.shape, np.nan) if err is None else np.where(np.isfinite(e0), err, np.nan)
    return e0, err


def _arctan_stack(energy, mu, *, level, **opts):
    e0 = np.full(mu.shape[0], np.nan)
    err = np.full(mu.shape[0], np.nan)
    for i, row in enumerate(mu):                           # one nonlinear fit per spectrum
        try:
            r = find_e0(energy, row, method="arctan", level=level, **opts)
        except (ProcessingError, FitError):
            continue
        e0[i], err[i] = r.e0_eV, r.e0_err_eV
    return e0, err
