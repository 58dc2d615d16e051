"""Lazy, side-effect-free access to xraylarch.

``import larch`` runs ``warnings.simplefilter('ignore')`` (larch/__init__.py), which
would silence every later :class:`~naheo_spec.errors.QualityWarning` in the process.
Every naheo_spec module that needs larch imports it through :func:`larch_module`,
which restores the warning filters afterwards.
"""
from __future__ import annotations

import importlib
import warnings


def larch_module(name: str = "larch"):
    """Import and return the larch (sub)module ``name`` without changing warning filters.

    Examples
    --------
    >>> import warnings
    >>> before = list(warnings.filters)
    >>> xafs = larch_module("larch.xafs")
    >>> warnings.filters == before
    True
    """
    with warnings.catch_warnings():
        return importlib.import_module(name)
