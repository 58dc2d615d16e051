"""Lazy, side-effect-free access to xraylarch.

``import larch`` runs ``warnings.simplefilter('ignore')`` (larch/__init__.py), which
would silence every later :class:`~naheo_spec.errors.QualityWarning` in the process.
Every naheo_spec module that needs larch imports it through :func:`larch_module`,
which restores the warning filters afterwards.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import sys
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


@contextlib.contextmanager
def stdout_with_encoding():
    """Give larch a ``sys.stdout`` with an ``encoding`` for the duration of the block.

    larch decodes FEFF files and hashes path geometries with ``sys.stdout.encoding``, which
    is None when stdout is redirected to a ``StringIO`` (notebook capture,
    ``contextlib.redirect_stdout``); larch then raises TypeError. Anything printed inside
    the block in that case is discarded (it would have gone to the StringIO).
    """
    if getattr(sys.stdout, "encoding", None):
        yield
        return
    with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")):
        yield
