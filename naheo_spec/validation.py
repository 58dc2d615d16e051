"""Input checks and repairs shared by readers and kernels.

Repairs (sorting, merging duplicate abscissae, dropping non-finite rows, keV→eV)
are applied here, in one place, and reported both as a returned list of
messages and as :class:`~naheo_spec.errors.RepairWarning`.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from naheo_spec.errors import InputError, ReadError, RepairWarning

#: Hard X-ray absorption edges handled here lie between ~1 and ~100 keV; an XAS
#: energy axis whose largest value is below this many "eV" is taken to be in keV.
KEV_DETECTION_LIMIT = 200.0

MIN_POINTS = 5


def _warn(msgs: list[str], msg: str, stacklevel: int = 3) -> None:
    msgs.append(msg)
    warnings.warn(msg, RepairWarning, stacklevel=stacklevel)


def repair_axis(axis, columns: dict[str, np.ndarray], *, path: str | Path | None = None,
                detect_kev: bool = True, axis_name: str = "energy",
                min_points: int = MIN_POINTS) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """Sort, de-duplicate and clean an axis and the columns measured on it.

    Parameters
    ----------
    axis : array-like, shape (M,)
        Abscissa as read (eV, or keV if ``detect_kev``).
    columns : dict of str to array-like, shape (M,)
        Signals on that axis.
    path : str or Path, optional
        File name, used in messages.
    detect_kev : bool
        If True (XAS), an axis whose maximum is below :data:`KEV_DETECTION_LIMIT`
        is converted from keV to eV. Default is True.
    axis_name : str
        Name used in messages. Default is ``"energy"``.
    min_points : int
        Fewer valid points than this raise ReadError. Default is 5.

    Returns
    -------
    axis : ndarray
        Strictly increasing axis.
    columns : dict
        Columns reordered/merged to match.
    repairs : list of str
        One message per repair made (each also emitted as RepairWarning).

    Raises
    ------
    ReadError
        Too few valid points, or columns whose length differs from the axis.
    """
    where = str(path) if path is not None else None
    axis = np.asarray(axis, dtype=float)
    cols = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
    for k, v in cols.items():
        if v.shape != axis.shape:
            raise ReadError(where, f"column '{k}' has {v.size} values but {axis_name} has {axis.size}",
                            column=k)
    repairs: list[str] = []
    finite = np.isfinite(axis)
    for v in cols.values():
        finite &= np.isfinite(v)
    nbad = int(axis.size - finite.sum())
    if nbad:
        if finite.sum() < min_points:
            raise ReadError(where, f"only {int(finite.sum())} of {axis.size} rows are finite numbers "
                                   f"(need at least {min_points})")
        _warn(repairs, f"{where or 'data'}: dropped {nbad} row(s) containing NaN or inf")
        axis = axis[finite]
        cols = {k: v[finite] for k, v in cols.items()}
    if axis.size < min_points:
        raise ReadError(where, f"only {axis.size} data points (need at least {min_points})")

    if detect_kev and np.nanmax(np.abs(axis)) < KEV_DETECTION_LIMIT:
        axis = axis * 1000.0
        _warn(repairs, f"{where or 'data'}: {axis_name} looks like keV (max {axis.max() / 1000:.4g}); "
                       "converted to eV")

    d = np.diff(axis)
    if np.any(d < 0):
        order = np.argsort(axis, kind="stable")
        nback = int(np.sum(d < 0))
        axis = axis[order]
        cols = {k: v[order] for k, v in cols.items()}
        if nback == axis.size - 1:
            _warn(repairs, f"{where or 'data'}: {axis_name} was decreasing; reversed to increasing order")
        else:
            _warn(repairs, f"{where or 'data'}: {axis_name} out of order at {nback} place(s); sorted")
        d = np.diff(axis)
    if np.any(d == 0):
        uniq, inverse, counts = np.unique(axis, return_inverse=True, return_counts=True)
        ndup = int(axis.size - uniq.size)
        cols = {k: np.bincount(inverse, weights=v) / counts for k, v in cols.items()}
        axis = uniq
        _warn(repairs, f"{where or 'data'}: merged {ndup} duplicated {axis_name} value(s) "
                       "(signals averaged)")
    if axis.size < min_points:
        raise ReadError(where, f"only {axis.size} distinct {axis_name} points (need at least {min_points})")
    return axis, cols, repairs


def as_1d_float(name: str, value, *, size: int | None = None) -> np.ndarray:
    """Convert ``value`` to a 1-D float array, naming ``name`` in any error."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D, got shape {arr.shape}")
    if size is not None and arr.size != size:
        raise InputError(f"{name} must have {size} values, got {arr.size}")
    return arr


def check_xy(energy, mu, *, names=("energy", "mu")) -> tuple[np.ndarray, np.ndarray]:
    """Check a (energy, signal) pair for kernels: 1-D, equal length, finite, increasing.

    Raises
    ------
    InputError
        Naming the offending argument and what was expected.
    """
    e = as_1d_float(names[0], energy)
    m = np.asarray(mu, dtype=float)
    if m.shape[-1] != e.size:
        raise InputError(f"{names[1]} has {m.shape[-1]} points along its last axis, "
                         f"{names[0]} has {e.size}")
    if e.size < MIN_POINTS:
        raise InputError(f"{names[0]} has {e.size} points; need at least {MIN_POINTS}")
    if not np.all(np.isfinite(e)):
        raise InputError(f"{names[0]} contains NaN or inf")
    if not np.all(np.isfinite(m)):
        raise InputError(f"{names[1]} contains NaN or inf")
    if np.any(np.diff(e) <= 0):
        raise InputError(f"{names[0]} must be strictly increasing (read files with naheo_spec.io, "
                         "which sorts and merges duplicates)")
    return e, m
