"""Shared look and helpers of the XAS plots: axis labels with units, titles, the
SYNTHETIC-data label and the data-source credit line.

Nothing here imports matplotlib at module level; the helpers receive Axes/Figures.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from naheo_spec.errors import InputError

#: Axis labels (every quantity with its unit; normalized μ and χ(k) are dimensionless).
ENERGY_LABEL = "Energy (eV)"
MU_LABEL = "μ(E) (absorbance, arb. units)"
NORM_LABEL = "Normalized μ(E) (edge-step units)"
VALENCE_LABEL = "Formal oxidation state (valence units)"
K_LABEL = "k (Å⁻¹)"
R_LABEL = "Apparent R (Å), not phase-corrected"
R_FIT_LABEL = "R (Å)"

#: Text of the label put on every plot of synthetic data.
SYNTHETIC_TEXT = "SYNTHETIC DATA - not a measurement"

#: Credit lines required by the licences of the shared reference data (SOURCES.md):
#: matched against the source file path; the CERIC spectra are CC BY 4.0.
CREDITS = {
    "amecchina__CERIC-Reference-Spectra-Repository":
        "Based on the LISA XAS Repository by Alessandro Puri, doi:10.5281/zenodo.10778098",
}

#: Sequential colormap for series (scan index, state of charge); its top is cut at
#: SERIES_CMAP_TOP so that the last scan is not a pale yellow line on white.
SERIES_CMAP = "viridis"
SERIES_CMAP_TOP = 0.88


def series_cmap():
    """The series colormap (a Colormap object, truncated at :data:`SERIES_CMAP_TOP`)."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    base = colormaps[SERIES_CMAP]
    return ListedColormap(base(np.linspace(0.0, SERIES_CMAP_TOP, 256)), name="naheo_series")


def superscript(n: int) -> str:
    """Unicode superscript of an integer (``2`` -> ``"²"``, ``-3`` -> ``"⁻³"``)."""
    table = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return str(int(n)).translate(table)


def inv_angstrom(power: int) -> str:
    """Unit string Å^-power (``"Å⁻³"``); ``""`` -> dimensionless for power 0."""
    return "" if int(power) == 0 else f"Å{superscript(-int(power))}"


def chik_label(kweight: int) -> str:
    """y label of k^w χ(k) with its unit."""
    kw = int(kweight)
    if kw == 0:
        return "χ(k) (dimensionless)"
    return f"k{superscript(kw)}·χ(k) ({inv_angstrom(kw)})"


def chir_label(kweight: int, part: str = "mag") -> str:
    """y label of |χ(R)| (or Re/Im) for a transform of k^w χ(k): unit Å^-(w+1)."""
    unit = inv_angstrom(int(kweight) + 1)
    name = {"mag": "|χ(R)|", "re": "Re χ(R)", "im": "Im χ(R)"}.get(part, "χ(R)")
    return f"{name} ({unit})"


# --------------------------------------------------------------------------- figures
def figure_and_axes(ax, **new_kwargs):
    """Return ``(fig, ax)``: a new constrained-layout figure when ``ax`` is None, else the
    root Figure owning ``ax`` (so that the caller can save it)."""
    if ax is None:
        from naheo_spec.plot import new_figure

        return new_figure(**new_kwargs)
    return root_figure(ax), ax


def root_figure(ax):
    """The top-level Figure of an Axes (also when the Axes lives in a SubFigure)."""
    try:
        return ax.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10 has no ``root``
        fig = ax.figure
        while getattr(fig, "figure", None) is not None and fig.figure is not fig:
            fig = fig.figure
        return fig


def check_choice(name: str, value, allowed: Sequence[str]) -> str:
    """Raise InputError naming the parameter unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise InputError(f"{name}={value!r}; expected one of {', '.join(map(repr, allowed))}")
    return value


# --------------------------------------------------------------------------- labels
def source_name(obj) -> str | None:
    """``file-name:scan`` of a result (``file``/``scan`` attributes or provenance), or None."""
    file = getattr(obj, "file", None)
    if file is None:
        prov = getattr(obj, "provenance", None)
        file = getattr(prov, "source_file", None)
    if not file:
        return None
    scan = getattr(obj, "scan", None)
    name = Path(str(file)).name
    return f"{name}:{scan}" if scan else name


def short_label(obj, index: int) -> str:
    """Legend label of one result of a series: its source name, else ``scan <index>``."""
    return source_name(obj) or f"scan {index}"


def series_title(objs: Sequence[Any], what: str) -> str:
    """Title for a plot of several results: the common file, else the count."""
    files = {getattr(o, "file", None) for o in objs}
    files.discard(None)
    if len(files) == 1:
        return f"{what}: {Path(str(files.pop())).name} ({len(objs)} scans)"
    return f"{what}: {len(objs)} spectra"


def _metadata_says_synthetic(obj) -> bool:
    md = getattr(obj, "metadata", None)
    if isinstance(md, Mapping) and bool(md.get("synthetic")):
        return True
    if getattr(getattr(obj, "source", None), "format", None) == "synthetic":
        return True
    if getattr(obj, "format", None) == "synthetic":          # results keep the source format
        return True
    params = getattr(getattr(obj, "provenance", None), "parameters", None)
    return isinstance(params, Mapping) and (bool(params.get("synthetic"))
                                            or params.get("format") == "synthetic")


def is_synthetic(*objs) -> bool:
    """True when any object (or its ``normalization``/``spectrum``/``background``) says it is
    synthetic: ``metadata["synthetic"]``, ``source.format == "synthetic"``, a result's
    ``format == "synthetic"``, or a ``synthetic`` (or ``format = "synthetic"``) provenance
    parameter."""
    for obj in objs:
        for cand in (obj, getattr(obj, "normalization", None), getattr(obj, "spectrum", None),
                     getattr(obj, "background", None)):
            if cand is not None and _metadata_says_synthetic(cand):
                return True
    return False


def resolve_synthetic(flag: bool | None, objs: Sequence[Any]) -> bool:
    """``flag`` when given, else :func:`is_synthetic` over ``objs``."""
    return bool(flag) if flag is not None else is_synthetic(*objs)


def mark_synthetic(fig, axes: Sequence[Any]) -> None:
    """Put the SYNTHETIC label on the figure: a red banner and a faint watermark per Axes."""
    fig.text(0.5, 0.995, SYNTHETIC_TEXT, ha="center", va="top", color="crimson",
             fontsize=BANNER_FONTSIZE, fontweight="bold", gid="synthetic-label")
    for ax in axes:
        ax.text(0.5, 0.5, "SYNTHETIC", transform=ax.transAxes, ha="center", va="center",
                rotation=25, fontsize=36, color="crimson", alpha=0.12, zorder=0,
                gid="synthetic-watermark")


def credit_for(objs: Sequence[Any]) -> str | None:
    """Licence credit line for the data sources of ``objs`` (None when none is required)."""
    from naheo_spec.datasets import find_by_sha256

    lines = []
    for obj in objs:
        prov = getattr(obj, "provenance", None)
        src = getattr(obj, "file", None) or getattr(prov, "source_file", None)
        texts = [text for key, text in CREDITS.items() if src and key in str(src)]
        bundled = find_by_sha256(getattr(prov, "source_sha256", None))
        if bundled is not None and bundled.licence.upper().startswith("CC-BY"):
            texts.append(bundled.credit)      # attribution is a condition of the licence
        lines.extend(text for text in texts if text not in lines)
    return "; ".join(lines) or None


def finish(fig, axes: Sequence[Any], objs: Sequence[Any], *, synthetic: bool | None,
           own_figure: bool) -> None:
    """Common last step: SYNTHETIC label and data credit (only on figures we created, so
    that a caller's composite figure is not cluttered twice)."""
    synth = resolve_synthetic(synthetic, objs)
    credit = credit_for(objs) if own_figure else None
    if own_figure:
        top = _line_height(fig, BANNER_FONTSIZE) if synth else 0.0
        if synth:
            top += _below_banner(fig, top)
        _reserve_margins(fig, top=top, bottom=0.02 if credit else 0.0)
    if synth:
        mark_synthetic(fig, axes)
    if credit:
        fig.text(0.995, 0.003, credit, ha="right", va="bottom", fontsize=6, color="0.4",
                 gid="data-credit")


#: Font size (pt) of the SYNTHETIC banner.
BANNER_FONTSIZE = 11


def _line_height(fig, fontsize: float) -> float:
    """Height of one text line of ``fontsize`` points, as a fraction of the figure height
    (1.5 x the font size: ascenders, descenders and a little air)."""
    return 1.5 * fontsize / 72.0 / max(fig.get_figheight(), 1e-6)


def _below_banner(fig, banner: float) -> float:
    """Move the figure's suptitle (if any) just below the SYNTHETIC banner; returns the
    extra top margin its line needs.

    Constrained layout pins an automatically placed suptitle to the top edge, where the
    banner is; placing it explicitly takes it out of that rule, so its room is reserved
    here instead."""
    sup = getattr(fig, "_suptitle", None)
    if sup is None or not sup.get_text():
        return 0.0
    size = sup.get_fontsize()
    fig.suptitle(sup.get_text(), y=1.0 - banner, va="top", fontsize=size,
                 fontweight=sup.get_fontweight())
    return _line_height(fig, size)


def _reserve_margins(fig, *, top: float, bottom: float) -> None:
    """Keep figure-level text (banner, credit) off the axes under constrained layout."""
    engine = fig.get_layout_engine()
    if (top or bottom) and engine is not None and hasattr(engine, "set"):
        try:
            engine.set(rect=(0.0, bottom, 1.0, 1.0 - top - bottom))
        except TypeError:  # a layout engine without ``rect`` (e.g. tight): leave it
            pass


def title_with_flag(title: str, synthetic: bool) -> str:
    return f"[SYNTHETIC] {title}" if synthetic else title


# --------------------------------------------------------------------------- series
def finite_or_nan(x) -> float:
    """float(x), NaN for None."""
    return float("nan") if x is None else float(x)


def series_values(objs: Sequence[Any], key: str, given=None, *, name: str) -> np.ndarray:
    """Per-result values of a series coordinate (e.g. state of charge).

    ``given`` (a sequence, one value per result) wins; otherwise each result's
    ``metadata[key]`` or attribute ``key``. Raises InputError naming ``name`` when a
    value is missing or the length is wrong.
    """
    if given is not None:
        vals = np.asarray(given, dtype=float)
        if vals.shape != (len(objs),):
            raise InputError(f"{name} has {vals.size} values for {len(objs)} results; "
                             "expected one per result")
        return vals
    out = []
    for i, obj in enumerate(objs):
        md = getattr(obj, "metadata", None)
        val = md.get(key) if isinstance(md, Mapping) else None
        if val is None:
            val = getattr(obj, key, None)
        if val is None:
            raise InputError(f"result {i} ({short_label(obj, i)}) has no {key!r} in its metadata; "
                             f"pass {name}=[...] with one value per result")
        out.append(float(val))
    return np.asarray(out)


def robust_limits(values, *, k: float = 6.0, pad: float = 0.08) -> tuple[float, float, int]:
    """Axis limits that one outlier cannot squash: median ± ``k`` × (scaled MAD) of the
    finite ``values``, widened to the data when they all fit, plus ``pad`` of the span.

    Returns ``(low, high, n_outside)``; points outside are left to the caller to mark.

    Examples
    --------
    >>> lo, hi, n = robust_limits([1.0, 1.1, 0.9, 1.05, 50.0])
    >>> hi < 10.0, n
    (True, 1)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0, 0
    med = float(np.median(v))
    mad = 1.4826 * float(np.median(np.abs(v - med)))
    scale = mad if mad > 0 else max(float(np.ptp(v)), 1e-12)
    lo_r, hi_r = med - k * scale, med + k * scale
    inside = v[(v >= lo_r) & (v <= hi_r)]
    lo, hi = float(inside.min()), float(inside.max())
    span = max(hi - lo, 1e-12)
    return lo - pad * span, hi + pad * span, int(v.size - inside.size)


def integer_ticks(axis) -> None:
    """Integer-only ticks on an axis of scan indices (no 2.5th scan)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def spread_labels(ax, xy, texts, *, dx_pt: float = 6.0, min_gap_pt: float = 9.0, **kw):
    """Annotate points ``xy`` (data coordinates) with ``texts`` so that labels of points in
    the same column do not overlap: within each column (equal x) labels are ordered by y
    and pushed apart to ``min_gap_pt`` points, with a thin leader line where they moved.
    Returns the annotations."""
    fig = root_figure(ax)
    fig.draw_without_rendering()                          # final limits and transforms
    disp = ax.transData.transform(np.asarray(xy, dtype=float))
    px_per_pt = fig.dpi / 72.0
    gap = min_gap_pt * px_per_pt
    target = disp[:, 1].copy()
    cols: dict[float, list[int]] = {}
    for i, (x, _) in enumerate(xy):
        cols.setdefault(round(float(x), 9), []).append(i)
    for idx in cols.values():
        idx = sorted(idx, key=lambda i: disp[i, 1])
        for a, b in zip(idx, idx[1:]):
            if target[b] - target[a] < gap:
                target[b] = target[a] + gap
        # centre the column of labels on its points
        shift = np.mean(disp[idx, 1]) - np.mean(target[idx])
        target[idx] += shift
    out = []
    for i, (p, t) in enumerate(zip(xy, texts)):
        dy = (target[i] - disp[i, 1]) / px_per_pt
        moved = abs(dy) > 1.0
        out.append(ax.annotate(t, p, textcoords="offset points", xytext=(dx_pt, dy),
                               va="center", arrowprops=dict(arrowstyle="-", lw=0.4,
                                                            color="0.6") if moved else None,
                               **kw))
    return out
