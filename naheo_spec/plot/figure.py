"""The Figure class returned by every plot of naheo_spec.

Figures are made without pyplot (no global state, headless, thread-safe). A plain
``matplotlib.figure.Figure`` made that way shows only as ``<Figure size ...>`` in Jupyter
unless pyplot happened to be imported with the inline backend; :class:`NotebookFigure`
renders itself as PNG instead, so ending a notebook cell with ``fig`` shows the plot.
"""
from __future__ import annotations

import io

from matplotlib.figure import Figure


class NotebookFigure(Figure):
    """A :class:`matplotlib.figure.Figure` that displays itself in Jupyter (PNG, 100 dpi).

    Everything else is the plain matplotlib Figure: save it with
    :func:`naheo_spec.plot.save_figure` or ``fig.savefig``.

    Examples
    --------
    >>> from naheo_spec.plot import new_figure
    >>> fig, ax = new_figure()
    >>> fig._repr_png_()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()
