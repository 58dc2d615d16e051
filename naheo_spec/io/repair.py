"""Axis repairs shared by every reader, each reported as a coded warning.

:func:`repair_axis` drops non-finite rows, sorts the axis ascending and merges duplicated
abscissae, in one place for all formats. A reader whose format naturally runs downwards
(XPS binding energy, many Raman exports) passes ``descending_is_natural=True``: the
reversal is then part of reading and not reported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord
from naheo_spec.errors import ReadError, RepairWarning

__all__ = ["repair_axis", "MIN_POINTS", "NONFINITE_DROPPED", "REVERSED", "SORTED",
           "DUPLICATES_MERGED"]

MIN_POINTS = 5

NONFINITE_DROPPED = WarningCode("io.repair.nonfinite_dropped", RepairWarning,
                                "Rows with NaN or inf in the axis or a signal were dropped.")
REVERSED = WarningCode("io.repair.reversed", RepairWarning,
                       "The axis ran downwards and was reversed to ascending order.")
SORTED = WarningCode("io.repair.sorted", RepairWarning,
                     "The axis was out of order and was sorted (signals moved with it).")
DUPLICATES_MERGED = WarningCode("io.repair.duplicates_merged", RepairWarning,
                                "Repeated axis values were merged; their signals averaged.")


def repair_axis(axis, columns: dict[str, np.ndarray], *, path: str | Path | None = None,
                axis_name: str = "energy", min_points: int = MIN_POINTS,
                descending_is_natural: bool = False
                ) -> tuple[np.ndarray, dict[str, np.ndarray], list[WarningRecord]]:
    """Drop non-finite rows, sort ascending and merge duplicates of an axis and its columns.

    Parameters
    ----------
    axis : array-like, shape (M,)
        Abscissa as read.
    columns : dict of str to array-like, shape (M,)
        Signals on that axis.
    path : str or Path, optional
        File (or ``file:block``) name for messages.
    axis_name : str
        Name used in messages. Default is ``"energy"``.
    min_points : int
        Fewer valid points than this raise ReadError. Default is 5.
    descending_is_natural : bool
        A strictly decreasing axis is reversed without a warning. Default is False.

    Returns
    -------
    axis : ndarray
        Strictly increasing axis.
    columns : dict
        Columns reordered/merged to match.
    repairs : list of WarningRecord
        One record per repair made (each also emitted as a RepairWarning).

    Raises
    ------
    ReadError
        Too few valid points, or columns whose length differs from the axis.

    Examples
    --------
    >>> ax, cols, rep = repair_axis([5, 4, 3, 2, 1], {"y": [1, 2, 3, 4, 5]},
    ...                             descending_is_natural=True)
    >>> ax.tolist(), cols["y"].tolist(), rep
    ([1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 4.0, 3.0, 2.0, 1.0], [])
    """
    where = str(path) if path is not None else "data"
    axis = np.asarray(axis, dtype=float)
    cols = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
    for k, v in cols.items():
        if v.shape != axis.shape:
            raise ReadError(path, f"column '{k}' has {v.size} values but {axis_name} has "
                                  f"{axis.size}", column=k)
    repairs: list[WarningRecord] = []
    finite = np.isfinite(axis)
    for v in cols.values():
        finite &= np.isfinite(v)
    nbad = int(axis.size - finite.sum())
    if nbad:
        if finite.sum() < min_points:
            raise ReadError(path, f"only {int(finite.sum())} of {axis.size} rows are finite "
                                  f"numbers (need at least {min_points})")
        repairs.append(NONFINITE_DROPPED.warn(
            f"{where}: dropped {nbad} row(s) containing NaN or inf", stacklevel=2, rows=nbad))
        axis = axis[finite]
        cols = {k: v[finite] for k, v in cols.items()}
    if axis.size < min_points:
        raise ReadError(path, f"only {axis.size} data points (need at least {min_points})")
    d = np.diff(axis)
    if np.any(d < 0):
        nback = int(np.sum(d < 0))
        if nback == axis.size - 1:
            axis = axis[::-1]
            cols = {k: v[::-1] for k, v in cols.items()}
            if not descending_is_natural:
                repairs.append(REVERSED.warn(f"{where}: {axis_name} was decreasing; reversed to "
                                             "increasing order", stacklevel=2))
        else:
            order = np.argsort(axis, kind="stable")
            axis = axis[order]
            cols = {k: v[order] for k, v in cols.items()}
            repairs.append(SORTED.warn(f"{where}: {axis_name} out of order at {nback} "
                                       "place(s); sorted", stacklevel=2, places=nback))
        d = np.diff(axis)
    if np.any(d == 0):
        uniq, inverse, counts = np.unique(axis, return_inverse=True, return_counts=True)
        ndup = int(axis.size - uniq.size)
        cols = {k: np.bincount(inverse, weights=v) / counts for k, v in cols.items()}
        axis = uniq
        repairs.append(DUPLICATES_MERGED.warn(
            f"{where}: merged {ndup} duplicated {axis_name} value(s) (signals averaged)",
            stacklevel=2, duplicates=ndup))
    if axis.size < min_points:
        raise ReadError(path, f"only {axis.size} distinct {axis_name} points (need at least "
                              f"{min_points})")
    return axis, cols, repairs
