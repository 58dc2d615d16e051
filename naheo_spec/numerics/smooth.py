"""Private helpers: larch-compatible Lorentzian smoothing (by FFT, or as a matrix built
once per grid) and a noise estimate, both applied to many spectra at once.
"""
from __future__ import annotations

import numpy as np
from scipy.special import erfc

#: Rows smoothed per FFT batch (bounds memory at ~ _CHUNK * 5 * npts complex numbers).
_CHUNK = 512


def _interp_weights(x_new: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left index ``j`` and weight ``w`` with ``np.interp(x_new, x, y) = y[j](1-w) + y[j+1]w``
    (ends clamped like np.interp)."""
    j = np.clip(np.searchsorted(x, x_new, side="right") - 1, 0, x.size - 2)
    w = np.clip((x_new - x[j]) / (x[j + 1] - x[j]), 0.0, 1.0)
    return j, w


def _interp_rows(x_new: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``np.interp(x_new, x, row)`` for every row of ``y``."""
    j, w = _interp_weights(x_new, x)
    return y[:, j] * (1.0 - w) + y[:, j + 1] * w


def _uniform_grid(x: np.ndarray, xstep: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """larch ``smooth``'s uniform grid (step ``xstep``, padded by 5 steps) and its
    normalized Lorentzian window (half-width ``sigma``, length twice the grid)."""
    npad = 5
    xmin = xstep * int((x.min() - npad * xstep) / xstep)
    xmax = xstep * int((x.max() + npad * xstep) / xstep)
    npts = min(1 + int(abs(xmax - xmin + xstep * 0.1) / xstep), 50 * x.size)
    x0 = np.linspace(xmin, xmax, npts)
    sig = sigma / xstep
    wx = np.arange(2 * npts, dtype=float)
    win = 1.0 / (1.0 + ((wx - npts) / sig) ** 2)
    win /= win.sum()
    return x0, win


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
    from scipy.signal import fftconvolve     # here, not at import: scipy.signal takes ~1 s

    x0, win = _uniform_grid(x, xstep, sigma)
    npts = x0.size
    out = np.empty_like(y, dtype=float)
    for start in range(0, y.shape[0], _CHUNK):
        y0 = _interp_rows(x0, x, y[start:start + _CHUNK])
        y1 = np.concatenate((y0[:, npts - 1:0:-1], y0, y0[:, ::-1]), axis=1)
        y2 = fftconvolve(y1, win[None, :], mode="valid", axes=1)
        out[start:start + _CHUNK] = _interp_rows(x, x0, y2[:, :npts])
    return out


#: Smoothing operators kept between calls, keyed by grid bytes, widths and kind
#: (at most _CACHE_SIZE entries of len(x)**2 floats, ~0.2 MB each for 150 points).
_OPERATORS: dict[tuple, np.ndarray] = {}
_CACHE_SIZE = 64


def _lorentzian_operator(x: np.ndarray, xstep: float, sigma: float) -> np.ndarray:
    """``R`` (L, L) with ``lorentzian_smooth(x, y, xstep, sigma) == y @ R``, built directly.

    :func:`lorentzian_smooth` is ``y @ A @ K @ B`` with ``A`` (L, P) the interpolation
    onto the uniform grid, ``K`` (P, P) the mirror padding followed by the "valid"
    convolution, ``B`` (P, L) the interpolation back. For the padded signal
    ``y1 = [y0[P-1:0:-1], y0, y0[::-1]]`` and the normalized window ``win`` (length 2P,
    centred on P), output ``q`` receives input ``p`` through three terms:
    ``K[p, q] = win[P + q - p] + h[p + q]`` with the Hankel part
    ``h[s] = win[P + s] (s <= P-1) + win[s - P + 1] (s >= P-1)`` from the two mirror
    images, except that ``p = 0`` has no left image. Only the columns of ``K`` that
    ``B`` reads are formed, as rows of strided views (Toeplitz and Hankel matrices are
    sliding windows of one vector), and the sparse ``A`` is applied as a sparse matrix,
    so an operator (150 points) costs under 1 ms instead of 5-10 ms for smoothing L unit
    vectors by FFT; the entries agree with the FFT route to ~1e-16.
    """
    from numpy.lib.stride_tricks import as_strided
    from scipy.sparse import csc_matrix

    x0, win = _uniform_grid(x, xstep, sigma)
    p, n = x0.size, x.size
    hank = np.zeros(2 * p - 1)
    hank[:p] += win[p:]
    hank[p - 1:] += win[:p]
    rwin = win[::-1].copy()

    def windows(v):                    # read-only (len(v) - p + 1, p) view: row i = v[i:i+p]
        return as_strided(v, (v.size - p + 1, p), (v.itemsize, v.itemsize), writeable=False)

    jb, wb = _interp_weights(x, x0)                          # uniform grid -> x
    cols = np.concatenate([jb, jb + 1])
    kt = windows(rwin)[p - 1 - cols]                         # Toeplitz part: K[:, cols].T
    kt += windows(hank)[cols]                                # mirror images
    kt[:, 0] -= win[cols + p]                                # no left image of point 0
    kt[:n] *= (1.0 - wb)[:, None]
    kt[n:] *= wb[:, None]
    kb = np.add(kt[:n], kt[n:], out=kt[:n])                  # (K @ B).T, shape (L, P)
    ja, wa = _interp_weights(x0, x)                          # x -> uniform grid
    weights = np.empty(2 * p)
    weights[0::2], weights[1::2] = 1.0 - wa, wa
    rows = np.empty(2 * p, dtype=np.int64)
    rows[0::2], rows[1::2] = ja, ja + 1
    a = csc_matrix((weights, rows, np.arange(0, 2 * p + 1, 2)), shape=(n, p))
    return np.ascontiguousarray(a @ kb.T)


def _gradient_of_operator(x: np.ndarray, op: np.ndarray) -> np.ndarray:
    """``D @ op`` with ``D`` (L, L) the matrix of ``np.gradient(y) / np.gradient(x)``
    acting on rows (``y @ D``): central differences inside, one-sided at the ends.
    ``D`` has two entries per column, so the product is a few row operations."""
    out = np.zeros_like(op)
    inner = op[1:-1] / (x[2:] - x[:-2])[:, None]
    out[2:] += inner
    out[:-2] -= inner
    first = op[0] / (x[1] - x[0])
    last = op[-1] / (x[-1] - x[-2])
    out[1] += first
    out[0] -= first
    out[-1] += last
    out[-2] -= last
    return out


def smoothing_operator(x: np.ndarray, xstep: float, sigma: float, *,
                       derivative: bool = False) -> np.ndarray:
    """Matrix ``R`` with ``lorentzian_smooth(x, y, ...) == y @ R`` (the smoothing is linear).

    With ``derivative=True`` the matrix ``G = D @ R`` that smooths the derivative
    ``np.gradient(y) / np.gradient(x)`` instead, so larch's smoothed dmu/dE is one matrix
    product ``y @ G`` (no separate pass over the data for the derivative; the two
    orders of the sums differ by rounding, ~1e-16 relative to the data).

    Operators are built directly (:func:`_lorentzian_operator`, under 1 ms for 150
    points) and pay off when more than a dozen rows share a grid. They are cached (the same
    energy windows recur across calls on one grid: operando series, bootstrap
    replicas); the cache holds the most recent ``_CACHE_SIZE`` and returns read-only
    arrays.
    """
    key = (x.tobytes(), float(xstep), float(sigma), bool(derivative))
    op = _OPERATORS.pop(key, None)
    if op is None:
        op = _lorentzian_operator(x, xstep, sigma)
        if derivative:
            op = _gradient_of_operator(x, op)
        op.setflags(write=False)
        if len(_OPERATORS) >= _CACHE_SIZE:
            _OPERATORS.pop(next(iter(_OPERATORS)))
    _OPERATORS[key] = op                          # (re)insert as most recent
    return op


def clear_operator_cache() -> None:
    """Forget cached smoothing operators (used by benchmarks to time cold calls)."""
    _OPERATORS.clear()


#: Residual kernel of a 5-point quadratic Savitzky-Golay smoother (y - SG(y)). It is
#: 3/35 times the fourth difference [1, -4, 6, -4, 1], which is how it is computed.
_SG5_RESID = np.array([3.0, -12.0, 18.0, -12.0, 3.0]) / 35.0
_SG5_SCALE = 3.0 / 35.0
_SG5_VAR = float(np.sum(_SG5_RESID ** 2))      # Var(residual) / sigma^2 for white noise


#: Edge region left out of the noise estimate, eV from E0.
NOISE_EXCLUDE_EV = (-15.0, 40.0)
#: Above the edge, a 5-point window must span at most this many 1/A in k, i.e. sample
#: the EXAFS finely enough for a local quadratic (coarse 20 eV tails do not).
NOISE_MAX_DK = 0.3
# 2 m_e / hbar^2 in 1/(eV A^2), rounded as in the noise-window rule (not the k grid of
# autobk, which uses naheo_spec.xas.autobk.KTOE); only decides which points are "fine".
_ETOK = 0.2624682917


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


def abs_fourth_difference(y: np.ndarray, work: np.ndarray | None = None) -> np.ndarray:
    """``|y[c] - 4 y[c+1] + 6 y[c+2] - 4 y[c+3] + y[c+4]|`` in column ``c`` (the 5-point
    window centred on point ``c + 2``) for every row of ``y`` (G, M), ``c < M - 4``.

    Returns a (G, M) array whose last 4 columns are meaningless. The differences run
    over the flattened rows: numpy's 1-D loops on contiguous data are several times
    faster than its 2-D loops on column-shifted views (and than scipy's
    ``correlate1d``); the few results that straddle two rows fall in those last
    columns. Differencing (rather than weighting, then summing) also removes the
    offset of mu before it can cost precision. ``work``, if given, is a scratch array
    of 2 G M floats.
    """
    g, m = y.shape
    size = g * m
    if work is None:
        work = np.empty(2 * size)
    a, b = work[:size], work[size:2 * size]
    flat = np.ascontiguousarray(y).reshape(-1)
    np.subtract(flat[1:], flat[:-1], out=a[:-1])
    np.subtract(a[1:-1], a[:-2], out=b[:-2])
    np.subtract(b[1:-2], b[:-3], out=a[:-3])
    np.subtract(a[1:-3], a[:-4], out=b[:-4])
    b[-4:] = 0.0
    np.abs(b, out=b)
    return b.reshape(g, m)


#: Winsorize at CLIP_FACTOR x the mean |residual|; for Gaussian noise the winsorized
#: mean is _WINSOR_MEAN x sigma_residual (cut at 4 sqrt(2/pi) = 3.19 sigma).
CLIP_FACTOR = 4.0
_C = CLIP_FACTOR * np.sqrt(2 / np.pi)
_WINSOR_MEAN = float(np.sqrt(2 / np.pi) * (1 - np.exp(-_C ** 2 / 2)) + _C * erfc(_C / np.sqrt(2)))


def noise_from_rows(y: np.ndarray, cols: tuple[slice, slice],
                    work: np.ndarray | None = None) -> np.ndarray:
    """Gaussian-equivalent noise level of every row of ``y`` (G, M) from the winsorized
    mean absolute SG residual over the grid points ``cols`` (:func:`noise_columns`).

    The mean of |r| over ``cols`` is taken twice: plainly, then with every value
    capped at ``CLIP_FACTOR`` times that first mean, so isolated glitches and the
    few points where structure leaks through weigh little; the result is scaled to
    the standard deviation of Gaussian noise. (Much cheaper than a median.)
    ``work``: optional scratch array of 2 G M floats.
    """
    # Means over the points as one matrix-vector product with a 0/1 column weight
    # (faster than reductions over column slices).
    select = np.zeros(y.shape[1])
    for c in cols:
        select[max(c.start - 2, 0):max(c.stop - 2, 0)] = 1.0   # point c sits in column c-2
    count = select.sum()
    if count < 5:
        return np.full(y.shape[0], np.nan)
    # Only the columns the selected windows read are differenced (the noise points are a
    # fraction of the row) when every value is finite: a finite sum shows it. A
    # non-finite value elsewhere turns rows NaN through the zero weights (0 * inf): its
    # own row and, through the columns that straddle two rows, the one before it; such
    # blocks keep whole rows (as do windows reaching past the row end).
    used = np.flatnonzero(select)
    lo, hi = int(used[0]), int(used[-1]) + 5       # column c reads points c .. c+4
    if (lo > 0 or hi < y.shape[1]) and hi <= y.shape[1] and np.isfinite(np.sum(y)):
        y, select = y[:, lo:hi], select[lo:hi]
    r = abs_fourth_difference(y, work)             # |residual| * 35/3
    m1 = (r @ select) / count
    np.minimum(r, (CLIP_FACTOR * m1)[:, None], out=r)
    capped = (r @ select) / count
    return capped * (_SG5_SCALE / _WINSOR_MEAN / np.sqrt(_SG5_VAR))


def noise_sigma(energy: np.ndarray, y: np.ndarray, e_edge: np.ndarray) -> np.ndarray:
    """Robust white-noise level of each row of ``y``, away from its edge ``e_edge``.

    The residual of a 5-point quadratic Savitzky-Golay fit removes any signal up to
    cubic over 5 points (the smooth pre-edge and the finely sampled EXAFS) and keeps
    ~0.51 of the white-noise variance; a winsorized mean absolute residual
    (:func:`noise_from_rows`) is robust to glitches and to the few points where
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
            out[r] = noise_from_rows(y[r], cols)
    return out
