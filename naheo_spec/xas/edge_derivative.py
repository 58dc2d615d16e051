"""larch's maximum-derivative edge energy, vectorized over a stack of spectra.

:func:`max_derivative_rows` reproduces xraylarch's ``find_e0`` (xraylarch 2026.3.1,
``larch/xafs/pre_edge.py``) step by step for every row at once: the maximum of dmu/dE on
the raw grid (a point counts only if both neighbours are also above 60 % of the
derivative range; hits within the first 5 % of points are treated as glitches), then the
maximum of a Lorentzian-smoothed derivative within +-75 points of it. The normalization
uses it to anchor its ranges and :mod:`naheo_spec.xas.e0` offers it as an E0 method; it
lives here, below both, so that neither imports the other.

References
----------
M. Newville, J. Phys.: Conf. Ser. 430, 012007 (2013), doi:10.1088/1742-6596/430/1/012007.
"""
from __future__ import annotations

import functools

import numpy as np

from naheo_spec.numerics.smooth import lorentzian_smooth, smoothing_operator

__all__ = ["max_derivative_rows", "larch_e0_rows"]

#: Rows processed together: small enough for the working arrays to stay in cache.
_CHUNK = 512


def _larch_energy_step(en: np.ndarray) -> float:
    """larch ``find_energy_step``: mean of the 10 smallest steps after skipping 1 %.

    For fewer than 100 points larch's slice ``[0:-0]`` is empty and the result is NaN,
    which its caller then treats as 1 eV; reproduced on purpose.
    """
    nskip = int(0.01 * en.size)
    ordered = en[:en.size - 1]
    sub = ordered[nskip:-nskip] if nskip else ordered[:0]
    ediff = np.sort(np.diff(sub))[nskip:nskip + 10]
    return float(ediff.mean()) if ediff.size else float("nan")


def _pick_max(dmu: np.ndarray, n: int | None = None) -> np.ndarray:
    """larch ``_finde0`` point selection for every row of ``dmu`` (G, L).

    Normalize the derivative to its range over the inner points, keep points above
    60 % (30 % then 15 % when fewer than 3/4 qualify; all points if still fewer
    than 3), and take the largest one whose two neighbours are also kept.

    Only the first ``n`` columns (default: all) hold the derivative; any further
    columns of a wider scratch array must hold -inf.
    """
    g = dmu.shape[0]
    n = dmu.shape[1] if n is None else n
    data = dmu[:, :n]
    nmin = max(3, int(n * 0.02))
    if n < 2 * nmin + 3:                              # larch raises here; take the plain maximum
        return np.argmax(data, axis=1)
    inner = data[:, nmin:n - nmin]
    r = np.arange(g)
    lo = inner.min(axis=1)
    # numpy's argmax is several times faster on whole contiguous rows than on a column
    # slice; the first maximum of a row is the first maximum of its inner points when
    # it lies among them, and the few rows where it does not are redone on the slice.
    if dmu.flags.c_contiguous:
        imax = dmu.argmax(axis=1)
        outside = np.flatnonzero((imax < nmin) | (imax >= n - nmin))
        if outside.size:
            imax[outside] = nmin + inner[outside].argmax(axis=1)
    else:
        imax = nmin + inner.argmax(axis=1)
    top = data[r, imax]
    ptp = np.maximum(1e-10, top - lo)
    # larch also allows i = n - nmin (one past the inner range); argmax keeps the first
    # of equal values, so that point wins only if strictly larger.
    imax[data[:, n - nmin] > top] = n - nmin
    # Fast path: when the largest candidate has both neighbours above 60 %, it is
    # larch's answer (it beats every other candidate); other rows take the full rules.
    dhigh = 0.60 if n > 20 else 0.30

    around = data[r[:, None], imax[:, None] + np.arange(-1, 2)]      # (G, 3)
    ok = (((around - lo[:, None]) / ptp[:, None]) > dhigh).all(axis=1)
    slow = np.flatnonzero(~ok)
    if slow.size:
        imax[slow] = _pick_max_full(data[slow], lo[slow], ptp[slow], nmin, dhigh)
    return imax


def _pick_max_full(dmu, lo, ptp, nmin, dhigh) -> np.ndarray:
    """All of larch's selection rules (rows where the fast path does not apply)."""
    g, n = dmu.shape
    d = (dmu - lo[:, None]) / ptp[:, None]
    high = d > dhigh
    few = np.flatnonzero(high.sum(axis=1) < 3)
    if few.size:                                      # larch's threshold fall-backs
        df = d[few]
        c1 = np.sum(df > dhigh / 2, axis=1)
        th = np.where(c1 > 3, dhigh / 2, dhigh / 4)
        hf = df > th[:, None]
        hf |= (hf.sum(axis=1) < 3)[:, None]
        high[few] = hf
    stop = n - nmin + 1
    ok = high[:, nmin:stop] & high[:, nmin - 1:stop - 1] & high[:, nmin + 1:stop + 1]
    score = np.where(ok & (d[:, nmin:stop] > 0), d[:, nmin:stop], -np.inf)
    imax = np.argmax(score, axis=1)
    found = np.isfinite(score[np.arange(g), imax])
    return np.where(found, imax + nmin, 0)


def _derivative(en: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``np.gradient(y, axis=1) / np.gradient(en)`` in two passes (same numbers)."""
    out = np.empty_like(y)
    np.subtract(y[:, 2:], y[:, :-2], out=out[:, 1:-1])
    out[:, 1:-1] /= en[2:] - en[:-2]
    out[:, 0] = (y[:, 1] - y[:, 0]) / (en[1] - en[0])
    out[:, -1] = (y[:, -1] - y[:, -2]) / (en[-1] - en[-2])
    return out


@functools.lru_cache(maxsize=8)
def _central_spans(en_bytes: bytes, block: int) -> np.ndarray:
    """``den`` of :func:`_coarse_pass` for the grid ``en`` (its bytes) and ``block`` rows,
    flattened and read-only: built once per grid (about 1 MB)."""
    en = np.frombuffer(en_bytes)
    m = en.size + 1
    den = np.ones((block, m))
    den[:, 1:m - 2] = en[2:] - en[:-2]
    den = den.reshape(-1)
    den.flags.writeable = False
    return den


def _coarse_pass(energy: np.ndarray, y: np.ndarray):
    """First larch pass (no smoothing) -> window (istart, istop) and smoothing step."""
    m = energy.size
    en = energy[:-1]                                   # larch's "ordered" drops the last point
    n = y.shape[0]
    ie0 = np.empty(n, dtype=int)
    block = min(n, _CHUNK)
    buf = np.empty(block * m)
    # Central differences over the flattened rows (numpy's 1-D loops on contiguous data
    # are several times faster than 2-D loops on column slices); the two values per row
    # that straddle rows are overwritten by the one-sided end points. ``den`` holds the
    # central spans on the same layout (1 where unused), so one division serves all.
    den = _central_spans(np.ascontiguousarray(en, dtype=float).tobytes(), block)
    for i in range(0, n, block):                       # chunks stay in cache
        rows = np.ascontiguousarray(y[i:i + block])
        g = rows.shape[0]
        flat, d = rows.reshape(-1), buf[:g * m]
        np.subtract(flat[2:], flat[:-2], out=d[1:-1])
        d[0] = d[-1] = 0.0                             # not written above; replaced below
        np.divide(d, den[:g * m], out=d)
        d = d.reshape(g, m)
        d[:, 0] = (rows[:, 1] - rows[:, 0]) / (en[1] - en[0])
        d[:, m - 2] = (rows[:, m - 2] - rows[:, m - 3]) / (en[-1] - en[-2])
        d[:, m - 1] = -np.inf                          # not part of the derivative
        ie0[i:i + g] = _pick_max(d, m - 1)
    e1 = en[ie0]
    istart = np.maximum(3, ie0 - 75)
    istop = np.minimum(ie0 + 75, m - 3)
    glitch = ie0 < 0.05 * m
    e1 = np.where(glitch, energy.mean(), e1)
    istart = np.where(glitch, np.maximum(3, ie0 - 20), istart)
    istop = np.where(glitch, m - 3, istop)
    estep1 = _larch_energy_step(en)
    part1 = 1.0 if not np.isfinite(estep1) else max(0.01, min(1.0, estep1))
    estep = 0.5 * (part1 + np.clip(e1 / 25000.0, 0.01, 1.0))
    return istart, istop, estep, ie0


#: Rows sharing a smoothing window from which one matrix product, with an operator
#: built in ~0.7 ms, beats smoothing each row by FFT (~40 us a row).
_OPERATOR_MIN_ROWS = 16


def _smoothed_derivative(en, y, operator, estep, out):
    """Smoothed dmu/dE of rows ``y`` on ``en`` (larch second pass), written into ``out``;
    ``operator`` is :func:`~naheo_spec.numerics.smooth.smoothing_operator` with
    ``derivative=True``, or None (FFT smoothing, for a few rows)."""
    if operator is not None:                           # derivative and smoothing in one product
        np.matmul(y, operator, out=out)
    else:
        out[...] = lorentzian_smooth(en, _derivative(en, y), estep, estep)


def _zero_d2(en: np.ndarray, dsm: np.ndarray, ix: np.ndarray) -> np.ndarray:
    """Sub-grid zero (+ to -) of d(dsm)/dE nearest index ``ix`` (within 5 points)."""
    d2 = np.gradient(dsm, axis=1) / np.gradient(en)
    k = np.arange(en.size - 1)
    change = (d2[:, :-1] > 0) & (d2[:, 1:] <= 0)
    dist = np.where(change, np.abs(k[None, :] + 0.5 - ix[:, None]), np.inf)
    kbest = np.argmin(dist, axis=1)
    found = np.isfinite(dist[np.arange(dist.shape[0]), kbest]) & \
        (dist[np.arange(dist.shape[0]), kbest] <= 5)
    r = np.arange(d2.shape[0])
    a, b = d2[r, kbest], d2[r, kbest + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        root = en[kbest] + a / (a - b) * (en[kbest + 1] - en[kbest])
    return np.where(found, root, en[ix])


def larch_e0_rows(energy: np.ndarray, y: np.ndarray, *, want_d2: bool = False):
    """Vectorized larch ``find_e0``; returns (e0, index[, zero-d2 energies])."""
    n = y.shape[0]
    if n == 0:
        empty = np.empty(0)
        return (empty, np.empty(0, dtype=int), empty) if want_d2 else (empty, np.empty(0, dtype=int))
    istart, istop, estep, coarse = _coarse_pass(energy, y)
    e0, idx, d2e = np.empty(n), np.empty(n, dtype=int), np.full(n, np.nan)
    # The window and the smoothing step are functions of the coarse index alone: one
    # group (one smoothing operator) per distinct coarse index. Groups are smoothed in
    # blocks of rows into one reused scratch array (no large temporary per call).
    order = np.argsort(coarse, kind="stable")
    scratch = np.empty(min(n, _CHUNK) * (energy.size - 1))
    for rows in np.split(order, np.flatnonzero(np.diff(coarse[order])) + 1):
        j = rows[0]
        i0, step = int(istart[j]), float(estep[j])
        length = int(istop[j]) - i0 - 1                # larch drops the window's last point
        if length < 5:                                 # too short to smooth (larch fails here)
            idx[rows] = coarse[rows]
            e0[rows] = d2e[rows] = energy[coarse[rows]]
            continue
        en = energy[i0:i0 + length]
        op = smoothing_operator(en, step, step, derivative=True) \
            if rows.size >= _OPERATOR_MIN_ROWS else None
        for c in range(0, rows.size, _CHUNK):
            r = rows[c:c + _CHUNK]
            dsm = scratch[:r.size * length].reshape(r.size, length)
            _smoothed_derivative(en, y[r, i0:i0 + length], op, step, out=dsm)
            ix = _pick_max(dsm)
            e0[r] = np.where(ix < 1, energy[i0 + 2], en[ix])
            idx[r] = np.where(ix < 1, i0 + 2, i0 + ix)
            if want_d2:
                d2e[r] = _zero_d2(en, dsm, np.maximum(ix, 1))
    return (e0, idx, d2e) if want_d2 else (e0, idx)


def max_derivative_rows(energy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """larch maximum-derivative E0 (eV) of every row of ``y`` (N, M), vectorized."""
    return larch_e0_rows(energy, np.atleast_2d(y))[0]
