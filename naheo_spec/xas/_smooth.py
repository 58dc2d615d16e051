"""Private helpers: larch-compatible Lorentzian smoothing and a noise estimate,
both applied to many spectra at once.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve
from scipy.ndimage import correlate1d
from scipy.special import erfc

#: Rows smoothed per FFT batch (bounds memory at ~ _CHUNK * 5 * npts complex numbers).
_CHUNK = 512


def _interp_rows(x_new: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``np.interp(x_new, x, row)`` for every row of ``y`` (ends clamped like np.interp)."""
    j = np.clip(np.searchsorted(x, x_new, side="right") - 1, 0, x.size - 2)
    dx = x[j + 1] - x[j]
    w = np.clip((x_new - x[j]) / dx, 0.0, 1.0)
    return y[:, j] * (1.0 - w) + y[:, j + 1] * w


def lorentzian_smooth(x: np.ndarray, y: np.ndarray, xstep: float, sigma: float) -> np.ndarray:
    """Smooth every row of ``y(x)`` with a Lorentzian, reproducing ``larch.math.smooth``.

    larch interpolates onto a uniform grid of step ``xstep`` padded by 5 steps,
    mirrors the signal at both ends, convolves with a Lorentzian of half-width
    ``sigma`` and interpolates back onto ``x``. The same steps are done here with
    an FFT convolution over all rows at once.

    Parameters
    ----------
    x : ndarray of shape (L,)
        Increasing abscissa (eV).
    y : ndarray of shape (G, L)
        Rows to smooth.
    xstep, sigma : float
        Uniform grid step and Lorentzian half-width, both in eV.

    Returns
    -------
    ndarray of shape (G, L)
    """
    npad = 5
    xmin = xstep * int((x.min() - npad * xstep) / xstep)
    xmax = xstep * int((x.max() + npad * xstep) / xstep)
    npts = min(1 + int(abs(xmax - xmin + xstep * 0.1) / xstep), 50 * x.size)
    x0 = np.linspace(xmin, xmax, npts)
    sig = sigma / xstep
    wx = np.arange(2 * npts, dtype=float)
    win = 1.0 / (1.0 + ((wx - npts) / sig) ** 2)
    win /= win.sum()
    out = np.empty_like(y, dtype=float)
    for start in range(0, y.shape[0], _CHUNK):
        y0 = _interp_rows(x0, x, y[start:start + _CHUNK])
        y1 = np.concatenate((y0[:, npts - 1:0:-1], y0, y0[:, ::-1]), axis=1)
        y2 = fftconvolve(y1, win[None, :], mode="valid", axes=1)
        out[start:start + _CHUNK] = _interp_rows(x, x0, y2[:, :npts])
    return out


#: Smoothing operators kept between calls, keyed by grid bytes and widths
#: (at most _CACHE_SIZE entries of len(x)**2 floats, ~0.2 MB each for 150 points).
_OPERATORS: dict[tuple, np.ndarray] = {}
_CACHE_SIZE = 64


def smoothing_operator(x: np.ndarray, xstep: float, sigma: float) -> np.ndarray:
    """Matrix ``R`` with ``lorentzian_smooth(x, y, ...) == y @ R`` (the smoothing is linear).

    Building ``R`` costs as much as smoothing ``len(x)`` rows, so it pays off when more
    rows than that share the same grid. Operators are cached (the same energy windows
    recur across calls on one grid: operando series, bootstrap replicas); the cache
    holds the most recent ``_CACHE_SIZE`` and returns read-only arrays.
    """
    key = (x.tobytes(), float(xstep), float(sigma))
    op = _OPERATORS.pop(key, None)
    if op is None:
        op = lorentzian_smooth(x, np.eye(x.size), xstep, sigma)
        op.setflags(write=False)
        if len(_OPERATORS) >= _CACHE_SIZE:
            _OPERATORS.pop(next(iter(_OPERATORS)))
    _OPERATORS[key] = op                          # (re)insert as most recent
    return op


def clear_operator_cache() -> None:
    """Forget cached smoothing operators (used by benchmarks to time cold calls)."""
    _OPERATORS.clear()


#: Residual kernel of a 5-point quadratic Savitzky-Golay smoother (y - SG(y)).
_SG5_RESID = np.array([3.0, -12.0, 18.0, -12.0, 3.0]) / 35.0
_SG5_VAR = float(np.sum(_SG5_RESID ** 2))      # Var(residual) / sigma^2 for white noise


#: Edge region left out of the noise estimate, eV from E0.
NOISE_EXCLUDE_EV = (-15.0, 40.0)
#: Above the edge, a 5-point window must span at most this many 1/A in k, i.e. sample
#: the EXAFS finely enough for a local quadratic (coarse 20 eV tails do not).
NOISE_MAX_DK = 0.3
_ETOK = 0.2624682917                              # 2 m_e / hbar^2 in 1/(eV A^2)


def noise_columns(energy: np.ndarray, e_edge: float) -> tuple[slice, slice]:
    """Grid points used for the noise of a spectrum with its edge at ``e_edge`` (eV).

    Below: from the 3rd point to ``e_edge - 15`` eV. Above: from ``e_edge + 40`` eV
    while the 5-point window spans at most ``NOISE_MAX_DK`` in k. Two points at each
    end are skipped (the 5-point residual is not defined there).
    """
    m = energy.size
    lo = int(np.searchsorted(energy, e_edge + NOISE_EXCLUDE_EV[0], side="left"))
    hi = int(np.searchsorted(energy, e_edge + NOISE_EXCLUDE_EV[1], side="right"))
    below = slice(2, int(np.clip(lo, 2, m - 2)))
    start = int(np.clip(hi, 2, m - 2))
    k = np.sqrt(_ETOK * np.maximum(energy - e_edge, 0.0))
    span = np.full(m, np.inf)
    span[2:m - 2] = k[4:] - k[:-4]                 # k range of the window centred on each point
    coarse = np.flatnonzero(span[start:m - 2] > NOISE_MAX_DK)
    stop = start + int(coarse[0]) if coarse.size else m - 2
    return below, slice(start, stop)


def sg_abs_residual(y: np.ndarray) -> np.ndarray:
    """|y - SG(y)| for a 5-point quadratic Savitzky-Golay smoother, on y's grid
    (the 2 points at each end are not meaningful)."""
    resid = correlate1d(y, _SG5_RESID, axis=1, mode="nearest")
    return np.abs(resid, out=resid)


#: Winsorize at CLIP_FACTOR x the mean |residual|; for Gaussian noise the winsorized
#: mean is _WINSOR_MEAN x sigma_residual (cut at 4 sqrt(2/pi) = 3.19 sigma).
CLIP_FACTOR = 4.0
_C = CLIP_FACTOR * np.sqrt(2 / np.pi)
_WINSOR_MEAN = float(np.sqrt(2 / np.pi) * (1 - np.exp(-_C ** 2 / 2)) + _C * erfc(_C / np.sqrt(2)))


def noise_from_residual(abs_resid: np.ndarray, cols: tuple[slice, slice]) -> np.ndarray:
    """Gaussian-equivalent noise level from the winsorized mean absolute residual.

    The mean of |r| over ``cols`` is taken twice: plainly, then with every value
    capped at ``CLIP_FACTOR`` times that first mean, so isolated glitches and the
    few points where structure leaks through weigh little; the result is scaled to
    the standard deviation of Gaussian noise. (Much cheaper than a median.)
    """
    parts = [abs_resid[:, c] for c in cols if c.stop > c.start]
    count = sum(p.shape[1] for p in parts)
    if count < 5:
        return np.full(abs_resid.shape[0], np.nan)
    m1 = sum(p @ np.ones(p.shape[1]) for p in parts) / count
    thr = (CLIP_FACTOR * m1)[:, None]
    capped = sum(np.minimum(p, thr) @ np.ones(p.shape[1]) for p in parts) / count
    return capped / _WINSOR_MEAN / np.sqrt(_SG5_VAR)


def noise_sigma(energy: np.ndarray, y: np.ndarray, e_edge: np.ndarray) -> np.ndarray:
    """Robust white-noise level of each row of ``y``, away from its edge ``e_edge``.

    The residual of a 5-point quadratic Savitzky-Golay fit removes any signal up to
    cubic over 5 points (the smooth pre-edge and the finely sampled EXAFS) and keeps
    ~0.51 of the white-noise variance; a winsorized mean absolute residual
    (:func:`noise_from_residual`) is robust to glitches and to the few points where
    real structure leaks through. Points come from :func:`noise_columns`. The kernel
    works on point indices, i.e. assumes locally uniform steps (true of XAS scans away
    from region joints, whose few points the winsorizing tames).

    Parameters
    ----------
    energy : ndarray of shape (M,)
        Energy grid (eV).
    y : ndarray of shape (N, M)
        Signals, one per row.
    e_edge : ndarray of shape (N,)
        Edge energy of each row (eV).

    Returns
    -------
    ndarray of shape (N,)
        Noise standard deviation in the units of ``y``; NaN for rows with fewer than
        5 usable points.

    References
    ----------
    A. Savitzky, M. J. E. Golay, Anal. Chem. 36, 1627 (1964), doi:10.1021/ac60214a047.
    """
    out = np.full(y.shape[0], np.nan)
    edges, inverse = np.unique(e_edge, return_inverse=True)
    inverse = inverse.reshape(-1)
    for g, edge in enumerate(edges):
        rows = np.flatnonzero(inverse == g)
        cols = noise_columns(energy, float(edge))
        for c in range(0, rows.size, _CHUNK):
            r = rows[c:c + _CHUNK]
            out[r] = noise_from_residual(sg_abs_residual(y[r]), cols)
    return out
