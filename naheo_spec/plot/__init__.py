"""Plots (matplotlib, imported lazily). Every function returns a ``Figure``;
:func:`save_figure` writes it as PNG/PDF/SVG (by suffix) without touching pyplot state."""
from __future__ import annotations

from pathlib import Path


def new_figure(*, nrows: int = 1, ncols: int = 1, figsize=(6.4, 4.4), **kwargs):
    """Create a Figure and axes without pyplot (works headless, no global state).

    Returns
    -------
    fig : naheo_spec.plot.figure.NotebookFigure
        A matplotlib Figure that also displays itself in Jupyter.
    axes : Axes or ndarray of Axes
    """
    from naheo_spec.plot.figure import NotebookFigure

    fig = NotebookFigure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def save_figure(fig, path: str | Path, *, overwrite: bool = False, dpi: int = 150) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix: .png, .pdf, .svg), atomically.

    Raises
    ------
    naheo_spec.errors.StoreError
        If ``path`` exists and ``overwrite`` is False.
    """
    from naheo_spec.atomic import atomic_path

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return path
