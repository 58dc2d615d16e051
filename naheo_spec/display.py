"""How results show themselves: a one-line ``repr`` and a small HTML table for notebooks.

A result class lists its key numbers once, in :meth:`ResultDisplay.display_items`, as
``(label, value, error, unit)`` tuples; :class:`ResultDisplay` turns them into

- ``repr(result)``: ``<XanesResult NiO.prj:NiO.000: E0 8341.93 ± 0.12 eV, oxidation state
  2.01 ± 0.15, 1 warning>`` -- never a dump of arrays;
- ``result._repr_html_()``: a table of the same numbers with their errors and units, an
  optional second table (:meth:`ResultDisplay.display_table`: bands, components), an
  optional small figure (:meth:`ResultDisplay.display_figure`) and the warnings with their
  codes (Jupyter shows it, as lmfit's results do).

Dataclasses that use it are declared with ``repr=False`` so that the generated ``repr``
does not replace this one.
"""
from __future__ import annotations

import html
import math
from typing import Any, Iterable

__all__ = ["ResultDisplay", "format_value"]


def _digits(err: float | None, default: int) -> int:
    """Decimals that show two significant figures of the error."""
    if err is None or not math.isfinite(err) or err <= 0:
        return default
    return max(0, min(6, 1 - int(math.floor(math.log10(err)))))


def format_value(value: Any, err: Any = None, unit: str = "", digits: int = 3) -> str:
    """``"8341.93 ± 0.12 eV"``; ``"–"`` for None/NaN; text values as they are.

    Examples
    --------
    >>> format_value(8341.9311, 0.1234, "eV")
    '8341.93 ± 0.12 eV'
    >>> format_value(float("nan"))
    '–'
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return f"{value} {unit}".strip()
    if isinstance(value, int):
        return f"{value} {unit}".strip()
    ok_err = isinstance(err, (int, float)) and math.isfinite(err)
    d = _digits(err if ok_err else None, digits)
    text = f"{value:.{d}f}"
    if ok_err:
        text += f" ± {err:.{d}f}"
    return f"{text} {unit}".strip()


class ResultDisplay:
    """Mixin: ``repr`` and ``_repr_html_`` from :meth:`display_items`."""

    def display_title(self) -> str:
        """Name shown after the class name (file and block by default)."""
        return getattr(self, "name", "") or ""

    def display_items(self) -> Iterable[tuple[str, Any, Any, str]]:
        """``(label, value, error, unit)`` of the key numbers."""
        return ()

    def display_table(self) -> tuple[list[str], list[list[Any]]] | None:
        """``(headers, rows)`` of a second table (bands, components), or None."""
        return None

    def display_figure(self):
        """A small matplotlib Figure of the result for notebooks, or None."""
        return None

    def display_warnings(self) -> tuple:
        return tuple(getattr(self, "warnings", ()) or ())

    def __repr__(self) -> str:
        parts = [f"{label} {format_value(v, e, u)}" for label, v, e, u in self.display_items()]
        n = len(self.display_warnings())
        parts.append(f"{n} warning{'s' if n != 1 else ''}")
        title = self.display_title()
        return f"<{type(self).__name__} {title}: {', '.join(parts)}>"

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(str(label))}</td><td style='text-align:right'>"
            f"{esc(format_value(v, e, u))}</td></tr>"
            for label, v, e, u in self.display_items())
        extra = self.display_table()
        second = ""
        if extra is not None:
            heads, body = extra
            second = ("<table><tr>" + "".join(f"<th>{esc(str(h))}</th>" for h in heads)
                      + "</tr>" + "".join("<tr>" + "".join(
                          f"<td style='text-align:right'>{esc(_cell(c))}</td>" for c in r)
                          + "</tr>" for r in body) + "</table>")
        warns = self.display_warnings()
        wrows = "".join(f"<li><code>{esc(getattr(w, 'code', ''))}</code> "
                        f"{esc(getattr(w, 'message', str(w)))}</li>" for w in warns[:20])
        more = f"<li>… {len(warns) - 20} more</li>" if len(warns) > 20 else ""
        wblock = f"<details><summary>{len(warns)} warning(s)</summary><ul>{wrows}{more}</ul>" \
                 "</details>" if warns else "<p>no warnings</p>"
        text = (f"<div><b>{esc(type(self).__name__)}</b> {esc(self.display_title())}"
                f"<table>{rows}</table>{second}{wblock}</div>")
        image = _figure_html(self)
        if not image:
            return text
        return (f"<div style='display:flex;gap:1em;align-items:flex-start;flex-wrap:wrap'>"
                f"{text}{image}</div>")


def _cell(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 3:       # (value, error, unit)
        return format_value(*value)
    return format_value(value)


def _figure_html(result) -> str:
    """The result's small figure as an inline PNG; empty when it has none or it fails
    (a display must never raise)."""
    try:
        fig = result.display_figure()
        if fig is None:
            return ""
        import base64
        import io

        fig.set_size_inches(4.2, 2.8)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
    except Exception:  # noqa: BLE001 - the table is still shown
        return ""
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='figure' src='data:image/png;base64,{data}'/>"
