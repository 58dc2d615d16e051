"""Guards on sampling grids shared by the kernels: near-duplicate abscissae.

Two energies a micro-electronvolt apart pass a "strictly increasing" check but turn every
finite difference between them into noise divided by 1e-6 (derivative maxima, smoothing
operators and local fits all break). :func:`merge_close_points` merges points closer than
a fraction of the median step -- the signal values of a group averaged, its abscissa
averaged -- so that kernels see a grid they can differentiate. Exact duplicates are merged
by the readers (``naheo_spec.io.repair``); this guards arrays built in code.
"""
from __future__ import annotations

import numpy as np

#: Points closer than this fraction of the median step are merged.
CLOSE_FRACTION = 1e-3


def close_groups(axis: np.ndarray, rel_tol: float = CLOSE_FRACTION) -> np.ndarray:
    """Group index of every point: consecutive points closer than ``rel_tol`` times the
    median step share a group.

    Examples
    --------
    >>> close_groups(np.array([0.0, 1.0, 1.0 + 1e-7, 2.0])).tolist()
    [0, 1, 1, 2]
    """
    axis = np.asarray(axis, dtype=float)
    if axis.size < 2:
        return np.zeros(axis.size, dtype=np.int64)
    step = np.diff(axis)
    med = float(np.median(np.abs(step)))
    close = np.abs(step) < rel_tol * med if med > 0 else np.zeros(step.size, dtype=bool)
    return np.concatenate([[0], np.cumsum(~close)])


def merge_close_points(axis, rows: dict[str, np.ndarray | None], *,
                       rel_tol: float = CLOSE_FRACTION
                       ) -> tuple[np.ndarray, dict[str, np.ndarray | None], int]:
    """Merge abscissae closer than ``rel_tol`` x the median step.

    Parameters
    ----------
    axis : array-like, shape (M,)
        Increasing abscissa.
    rows : dict of str to ndarray of shape (N, M) or (M,) or None
        Signals on ``axis`` (None entries pass through).
    rel_tol : float
        Fraction of the median step. Default is 1e-3.

    Returns
    -------
    axis : ndarray of shape (K,)
        Merged abscissa (mean of each group).
    rows : dict
        Signals averaged within each group (same keys).
    n_merged : int
        Number of points removed (M - K); 0 when nothing was close.

    Examples
    --------
    >>> ax, out, k = merge_close_points([0.0, 1.0, 1.0 + 1e-6, 2.0],
    ...                                 {"mu": np.array([[0.0, 1.0, 3.0, 4.0]])})
    >>> ax.tolist(), out["mu"].tolist(), k
    ([0.0, 1.0000005, 2.0], [[0.0, 2.0, 4.0]], 1)
    """
    axis = np.asarray(axis, dtype=float)
    groups = close_groups(axis, rel_tol)
    k = int(groups[-1]) + 1 if groups.size else 0
    if k == axis.size:
        return axis, dict(rows), 0
    counts = np.bincount(groups, minlength=k).astype(float)
    new_axis = np.bincount(groups, weights=axis, minlength=k) / counts
    out = {}
    for name, val in rows.items():
        if val is None:
            out[name] = None
            continue
        a = np.asarray(val, dtype=float)
        flat = a.reshape(-1, a.shape[-1])
        merged = np.zeros((flat.shape[0], k))
        np.add.at(merged.T, groups, flat.T)
        merged /= counts[None, :]
        out[name] = merged.reshape(a.shape[:-1] + (k,))
    return new_axis, out, axis.size - k
