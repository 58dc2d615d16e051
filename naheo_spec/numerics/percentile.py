"""Row-wise percentile tests on a whole block, exact against :func:`numpy.percentile`.

A quality rule such as "the 90th percentile of |norm| below E0 - 15 eV exceeds 0.2" needs
only the side of the threshold each row's percentile lies on, not its value. With the
default (``linear``) method the q-th percentile of n sorted values v is interpolated
between ``v[k]`` and ``v[k + 1]``, ``k = floor((n - 1) q / 100)``, so counting the values
above the threshold settles the comparison for every row at once: if ``v[k]`` is above
it so is the percentile, if ``v[k + 1]`` is not, neither is the percentile. Counts are
taken against the threshold moved by a few ulps each way (the interpolation rounds), and
the rows left undecided -- the threshold between ``v[k]`` and ``v[k + 1]``, or a NaN or
infinity in the row -- get :func:`numpy.percentile` itself. The answers are therefore those of
``np.percentile(x[i][mask[i]], q) > threshold`` for every row, bit for bit, at the cost
of a few comparisons over the block instead of one partition per row.

Example
-------
>>> import numpy as np
>>> x = np.array([[0.1, 0.5, 0.3, 0.9], [0.0, 0.1, 0.2, 0.3]])
>>> mask = np.array([[True, True, True, False], [True, True, True, True]])
>>> row_percentile_above(x, mask, 90, 0.4).tolist()
[True, False]
>>> [bool(np.percentile(x[i][mask[i]], 90) > 0.4) for i in range(2)]
[True, False]
"""
from __future__ import annotations

import numpy as np

__all__ = ["row_percentile_above", "row_percentile_below"]

_ULPS = 8


def _compare(x: np.ndarray, mask: np.ndarray | None, q: float, threshold: float,
             above: bool) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (rows, values), got shape {x.shape}")
    if mask is None:
        mask = np.ones(x.shape, dtype=bool)
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), x.shape)
    full = bool(mask.all())
    n = np.full(x.shape[0], x.shape[1]) if full else np.count_nonzero(mask, axis=1)
    out = np.zeros(x.shape[0], dtype=bool)
    t = float(threshold)
    margin = _ULPS * np.spacing(abs(t)) if t != 0 else _ULPS * np.finfo(float).tiny
    hi, lo = t + margin, t - margin
    # position of the lower neighbour of the percentile in each row's sorted values
    k = np.floor((n - 1) * (float(q) / 100.0)).astype(np.int64)
    k1 = np.minimum(k + 1, n - 1)

    def count(cond):
        return np.count_nonzero(cond if full else cond & mask, axis=1)

    with np.errstate(invalid="ignore"):
        finite = np.isfinite(x)
        nan_rows = np.zeros(x.shape[0], dtype=bool) if finite.all() else \
            (~finite & mask).any(axis=1)                   # NaN or inf: numpy's answer
        if above:   # v[k] > hi <=> >= n - k values > hi; v[k1] <= lo <=> <= n - k1 - 1 > lo
            sure_true = count(x > hi) >= n - k
            sure_false = count(x > lo) <= n - k1 - 1
        else:       # v[k1] < lo <=> >= k1 + 1 values < lo; v[k] >= hi <=> <= k values < hi
            sure_true = count(x < lo) >= k1 + 1
            sure_false = count(x < hi) <= k
    out[sure_true] = True
    empty = n == 0
    todo = np.flatnonzero((~(sure_true | sure_false) | nan_rows) & ~empty)
    with np.errstate(invalid="ignore"):
        for i in todo:
            p = np.percentile(x[i][mask[i]], q)
            out[i] = bool(p > t) if above else bool(p < t)
    out[empty] = False
    return out


def row_percentile_above(x, mask, q: float, threshold: float) -> np.ndarray:
    """Boolean (N,): ``np.percentile(x[i][mask[i]], q) > threshold`` for each row ``i``.

    Parameters
    ----------
    x : array-like of shape (N, M)
        Values, one row per spectrum.
    mask : array-like of bool, shape (N, M) or broadcastable, or None
        The values of each row that take part (None: all). A row without any is False.
    q : float
        Percentile, 0..100 (numpy's default ``linear`` method).
    threshold : float

    Returns
    -------
    ndarray of bool, shape (N,)
        Exactly as the per-row :func:`numpy.percentile` comparison (NaN in a row's values:
        False, as ``nan > threshold``).
    """
    return _compare(x, mask, q, threshold, above=True)


def row_percentile_below(x, mask, q: float, threshold: float) -> np.ndarray:
    """Boolean (N,): ``np.percentile(x[i][mask[i]], q) < threshold`` for each row ``i``
    (as :func:`row_percentile_above`)."""
    return _compare(x, mask, q, threshold, above=False)
