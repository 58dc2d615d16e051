"""Argument checks shared by the numerical kernels.

Kernels take arrays that readers already repaired (:func:`naheo_spec.io.repair.repair_axis`
sorts, merges duplicates and drops non-finite rows, with coded warnings); the checks here
refuse, with a message naming the argument, anything that is still not a clean
1-D increasing axis with a finite signal on it.
"""
from __future__ import annotations

import numpy as np

from naheo_spec.errors import InputError
from naheo_spec.io.repair import MIN_POINTS


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
