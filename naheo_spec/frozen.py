"""Immutable containers used by the data model and result objects.

- :class:`FrozenDict`: a ``dict`` that refuses changes (still a ``dict`` for ``json``
  and ``isinstance`` checks).
- :func:`readonly_array`: an array whose ``writeable`` flag is off.
- :func:`values_equal`: equality that compares arrays element-wise (NaN equal to NaN)
  and recurses into mappings and sequences, for value equality of results.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["FrozenDict", "readonly_array", "values_equal", "array_digest"]


class FrozenDict(dict):
    """A dict that cannot be changed after construction.

    Examples
    --------
    >>> d = FrozenDict(a=1)
    >>> d["a"]
    1
    >>> d["b"] = 2
    Traceback (most recent call last):
    ...
    TypeError: FrozenDict is read-only; make a copy with dict(...) to change it
    """

    __slots__ = ()

    def _readonly(self, *args, **kwargs):
        raise TypeError("FrozenDict is read-only; make a copy with dict(...) to change it")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __hash__(self):
        try:
            return hash(tuple(sorted(self.items())))
        except TypeError:
            return hash(tuple(sorted(self)))

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


def frozen_dict(value: Mapping | None) -> FrozenDict:
    """``FrozenDict(value)``; None gives an empty one; a FrozenDict is returned as is."""
    if isinstance(value, FrozenDict):
        return value
    return FrozenDict(value or {})


def readonly_array(value, *, dtype=None, copy: bool = False, keep_float32: bool = False
                   ) -> np.ndarray:
    """Return ``value`` as an array that cannot be written to.

    Parameters
    ----------
    value : array-like
        The data.
    dtype : numpy dtype, optional
        Convert to this dtype. Default None: float64 for integer or boolean input, the
        input's dtype otherwise (see ``keep_float32``).
    copy : bool
        Always copy. Default False: an array that is already read-only is used as is,
        a writeable one is wrapped in a read-only view (no copy, so a caller who keeps
        the original array can still change the data through it).
    keep_float32 : bool
        Keep float32 input as float32 (large stacks). Default False: float64.

    Returns
    -------
    ndarray
        ``flags.writeable`` is False.
    """
    a = np.asarray(value)
    if dtype is None:
        dtype = a.dtype if (a.dtype == np.float64 or (keep_float32 and a.dtype == np.float32)
                            or a.dtype.kind in "UOS") else np.float64
    if a.dtype != dtype:
        a = a.astype(dtype)
    elif copy:
        a = a.copy()
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def array_digest(a: np.ndarray | None) -> str | None:
    """Short SHA-256 digest of an array's dtype, shape and bytes (for hashing)."""
    if a is None:
        return None
    h = hashlib.sha256(str((a.dtype.str, a.shape)).encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def values_equal(a: Any, b: Any) -> bool:
    """Value equality for result objects: arrays element-wise (NaN == NaN, same shape).

    Examples
    --------
    >>> values_equal({"x": np.array([1.0, np.nan])}, {"x": np.array([1.0, np.nan])})
    True
    >>> values_equal(np.zeros(2), np.zeros(3))
    False
    """
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" and b.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return False
