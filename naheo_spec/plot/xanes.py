"""Plots of the XANES pipeline: normalization check, stacked series, valence
calibration line and edge position / oxidation state along a series.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot (works
headless, no global state); save it with :func:`naheo_spec.plot.save_figure`.
matplotlib is imported only inside the functions.

Inputs are the result objects of :mod:`naheo_spec.xas`: :class:`~naheo_spec.xas.xanes.XanesResult`
(or a bare :class:`~naheo_spec.xas.normalize.Normalization`) and
:class:`~naheo_spec.xas.valence.ValenceCalibration`. Plots of data marked synthetic
(``metadata["synthetic"]``, or ``synthetic=True``) carry a red SYNTHETIC label.

References
----------
B. Ravel and M. Newville, "ATHENA, ARTEMIS, HEPHAESTUS", J. Synchrotron Rad. 12, 537
(2005), doi:10.1107/S0909049505012719 (the pre-edge/post-edge/normalized views shown here).
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from naheo_spec.errors import CalibrationError, InputError, QualityWarning
from naheo_spec.plot import style as st

#: Default window of the zoomed normalized panel and the stack, eV relative to E0.
XANES_WINDOW_EV = (-40.0, 90.0)

#: Series longer than this get no legend (the colorbar identifies the scans).
MAX_LEGEND_ENTRIES = 8

_COLOR_BY = ("scan", "state_of_charge")


# --------------------------------------------------------------------------- inputs
def _normalization_of(obj):
    """(Normalization, E0 to mark in eV, E0 method or None) of a result or Normalization."""
    norm = getattr(obj, "normalization", None)
    if norm is None:
        if not all(hasattr(obj, a) for a in ("energy", "mu", "norm", "pre_edge", "e0_eV")):
            raise InputError(f"expected a XanesResult or Normalization, got {type(obj).__name__}")
        return obj, float(obj.e0_eV), None
    return norm, float(obj.e0_eV), getattr(obj, "e0_method", None)


def _analysed(results: Sequence[Any]) -> tuple[list[Any], int]:
    """Results that carry spectra (XanesFailure entries are dropped) and how many were dropped."""
    if results is None or isinstance(results, (str, bytes)) or not hasattr(results, "__len__"):
        raise InputError(f"results must be a sequence of XanesResult, got {type(results).__name__}")
    kept = [r for r in results if getattr(r, "normalization", None) is not None
            or hasattr(r, "norm")]
    if not kept:
        raise InputError(f"results holds no analysed spectrum ({len(results)} entries, "
                         "all failures or empty)")
    return kept, len(results) - len(kept)


# --------------------------------------------------------------------------- normalization
def _shade_ranges(ax, norm) -> None:
    e0 = float(norm.e0_eV)
    (p1, p2), (n1, n2) = norm.pre_range_eV, norm.norm_range_eV
    ax.axvspan(e0 + p1, e0 + p2, color="tab:blue", alpha=0.12, lw=0,
               label=f"pre-edge range {p1:+.0f}…{p2:+.0f} eV", gid="pre-range")
    ax.axvspan(e0 + n1, e0 + n2, color="tab:orange", alpha=0.12, lw=0,
               label=f"normalization range {n1:+.0f}…{n2:+.0f} eV", gid="norm-range")


def _e0_marker(ax, e0: float, method: str | None, *, label: bool = True):
    text = f"E0 ({method}) = {e0:.2f} eV" if method else f"E0 = {e0:.2f} eV"
    return ax.axvline(e0, color="crimson", lw=1.0, ls="-", label=text if label else None,
                      gid="e0-marker")


def _raw_panel(ax, norm, e0: float, method: str | None) -> None:
    e = np.asarray(norm.energy)
    mu = np.asarray(norm.mu)
    _shade_ranges(ax, norm)
    ax.plot(e, mu, color="black", lw=1.2, label="μ(E)", gid="mu")
    ax.plot(e, norm.pre_edge, color="tab:blue", lw=1.0, ls="--",
            label=f"pre-edge (degree {getattr(norm, 'pre_degree', 1)})", gid="pre-edge")
    ax.plot(e, norm.post_edge, color="tab:orange", lw=1.0, ls="--",
            label=f"post-edge (degree {norm.nnorm})", gid="post-edge")
    _e0_marker(ax, e0, method)
    if abs(float(norm.e0_eV) - e0) > 0.01:
        ax.axvline(float(norm.e0_eV), color="0.4", lw=0.8, ls=":", gid="range-e0",
                   label=f"E0 of the fit ranges = {float(norm.e0_eV):.2f} eV")
    i0 = int(np.argmin(np.abs(e - norm.e0_eV)))
    ax.annotate("", xy=(e[i0], norm.post_edge[i0]), xytext=(e[i0], norm.pre_edge[i0]),
                arrowprops=dict(arrowstyle="<->", color="0.3", lw=0.8))
    ax.text(e[i0], 0.5 * (norm.pre_edge[i0] + norm.post_edge[i0]),
            f"  step {norm.edge_step:.3g}", va="center", ha="left", fontsize=8, color="0.3")
    span = np.ptp(mu)
    ax.set_ylim(mu.min() - 0.08 * span, mu.max() + 0.08 * span)
    ax.set_xlim(e[0], e[-1])
    ax.set_xlabel(st.ENERGY_LABEL)
    ax.set_ylabel(st.MU_LABEL)
    ax.legend(fontsize=7, loc="best")


def _norm_panel(ax, norm, e0: float, method: str | None, window) -> None:
    e = np.asarray(norm.energy)
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.axhline(1.0, color="0.6", lw=0.6)
    ax.plot(e, norm.norm, color="black", lw=1.2, label="normalized", gid="norm")
    ax.plot(e, norm.flat, color="tab:red", lw=1.0, ls="--", label="flattened", gid="flat")
    _e0_marker(ax, e0, method)
    if window is not None:
        lo, hi = max(e[0], e0 + window[0]), min(e[-1], e0 + window[1])
        ax.set_xlim(lo, hi)
        inside = (e >= lo) & (e <= hi)
        y = np.concatenate([norm.norm[inside], norm.flat[inside]])
        if y.size:
            ax.set_ylim(min(-0.1, y.min() - 0.05), max(1.2, y.max() + 0.08))
    ax.set_xlabel(st.ENERGY_LABEL)
    ax.set_ylabel(st.NORM_LABEL)
    ax.legend(fontsize=7, loc="lower right")


def plot_normalization(result, ax=None, *, window_eV=XANES_WINDOW_EV,
                       synthetic: bool | None = None):
    """μ(E) with its pre-edge line, post-edge curve, fit ranges and E0; normalized and flat μ.

    Parameters
    ----------
    result : XanesResult or Normalization
        An :func:`~naheo_spec.xas.xanes.analyze_xanes` result (E0 marked: ``result.e0_eV``
        with its ``e0_method``) or a bare normalization (E0 marked: the one its fit ranges
        refer to).
    ax : Axes or pair of Axes, optional
        Default None: a new figure with two panels (top: μ(E) and fits; bottom: normalized
        and flattened μ). A pair draws both panels into it; a single Axes gets the top
        panel only.
    window_eV : (float, float) or None
        Energy window of the normalized panel, eV relative to the marked E0. Default is
        (-40, 90) eV (the XANES region); None shows the whole scan.
    synthetic : bool, optional
        Force (True) or suppress (False) the SYNTHETIC label. Default None: from the data's
        metadata.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        ``result`` is not a XANES result/normalization, or ``ax`` is not one or two Axes.

    References
    ----------
    xraylarch ``pre_edge`` (https://xraypy.github.io/xraylarch/xafs_preedge.html).
    """
    norm, e0, method = _normalization_of(result)
    own = ax is None
    if own:
        fig, axes = st.figure_and_axes(None, nrows=2, figsize=(6.4, 7.6))
    else:
        axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(axes) not in (1, 2):
            raise InputError(f"ax must be one Axes or a pair of Axes, got {len(axes)}")
        fig = st.root_figure(axes[0])
    _raw_panel(axes[0], norm, e0, method)
    if len(axes) == 2:
        _norm_panel(axes[1], norm, e0, method, window_eV)
    flag = st.resolve_synthetic(synthetic, [result])
    title = st.source_name(result) or "XANES normalization"
    axes[0].set_title(st.title_with_flag(f"{title}: normalization ({norm.preset} preset)", flag),
                      fontsize=10)
    st.finish(fig, list(axes), [result], synthetic=flag, own_figure=own)
    return fig


# --------------------------------------------------------------------------- stack
def _colour_values(results, color_by: str, soc):
    if color_by == "scan":
        return np.arange(len(results), dtype=float), "Scan index"
    vals = st.series_values(results, "state_of_charge", soc, name="soc")
    return vals, "State of charge"


def _colour_scale(values: np.ndarray):
    from matplotlib.colors import Normalize

    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if hi <= lo:  # one scan or all equal: give the scale a finite range
        lo, hi = lo - 0.5, hi + 0.5
    return Normalize(lo, hi)


def _colorbar(fig, ax, values: np.ndarray, label: str, cmap):
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(norm=_colour_scale(values), cmap=cmap)
    cbar = fig.colorbar(sm, ax=ax, pad=0.02)
    cbar.set_label(label)
    if label == "Scan index":
        if values.size <= 12:
            cbar.set_ticks(values)
        else:
            st.integer_ticks(cbar.ax.yaxis)
    return sm


def plot_stack(results, *, color_by: str = "scan", offset: float = 0.0, signal: str = "norm",
               soc=None, window_eV=XANES_WINDOW_EV, mark_e0: bool = False, ax=None,
               synthetic: bool | None = None):
    """Normalized spectra of a series, coloured by scan index or state of charge.

    Parameters
    ----------
    results : sequence of XanesResult or Normalization
        The series (:func:`~naheo_spec.xas.xanes.analyze_xanes_series` output; failed scans
        are skipped and counted in the title).
    color_by : {"scan", "state_of_charge"}
        Colour coordinate, shown in a colorbar. Default is ``"scan"`` (position in
        ``results``).
    offset : float
        Vertical offset between successive spectra (edge-step units). Default is 0.0.
    signal : {"norm", "flat"}
        Normalized or flattened μ. Default is ``"norm"``.
    soc : sequence of float, optional
        State of charge per result. Default None: ``result.metadata["state_of_charge"]``
        (required when ``color_by="state_of_charge"``).
    window_eV : (float, float) or None
        Energy window, eV relative to the median marked E0. Default is (-40, 90) eV;
        None shows the full scans.
    mark_e0 : bool
        Put a dot at each spectrum's E0. Default is False.
    ax : Axes, optional
        Draw into this Axes (the colorbar steals space from it). Default None: new figure.
    synthetic : bool, optional
        Force or suppress the SYNTHETIC label. Default None: from the data's metadata.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        Empty series, unknown ``color_by``/``signal``, missing or mis-sized ``soc``.
    """
    st.check_choice("color_by", color_by, _COLOR_BY)
    st.check_choice("signal", signal, ("norm", "flat"))
    kept, n_failed = _analysed(results)
    values, cbar_label = _colour_values(kept, color_by, soc)
    own = ax is None
    fig, ax = st.figure_and_axes(ax, figsize=(6.8, 5.0))
    scale, cmap = _colour_scale(values), st.series_cmap()
    e0s = []
    for i, (res, val) in enumerate(zip(kept, values)):
        norm, e0, _ = _normalization_of(res)
        y = np.asarray(getattr(norm, signal)) + i * offset
        ax.plot(norm.energy, y, color=cmap(scale(val)), lw=1.1, label=st.short_label(res, i),
                gid=f"spectrum-{i}")
        if mark_e0:
            ax.plot([e0], [np.interp(e0, norm.energy, y)], "o", ms=3, color="black",
                    gid=f"e0-{i}")
        e0s.append(e0)
    _colorbar(fig, ax, values, cbar_label, cmap)
    if len(kept) <= MAX_LEGEND_ENTRIES:
        ax.legend(fontsize=7, loc="lower right")
    if window_eV is not None:
        mid = float(np.median(e0s))
        ax.set_xlim(mid + window_eV[0], mid + window_eV[1])
    n_out = _robust_ylim(ax, kept, signal, offset)
    ax.set_xlabel(st.ENERGY_LABEL)
    ylabel = st.NORM_LABEL if signal == "norm" else "Flattened μ(E) (edge-step units)"
    ax.set_ylabel(ylabel + (f", offset {offset:g}/scan" if offset else ""))
    flag = st.resolve_synthetic(synthetic, kept)
    title = st.series_title(kept, "XANES") + (f", {n_failed} failed scans not shown" if n_failed else "")
    if n_out:
        title += f", {n_out} outlying spectra run off the axis"
    ax.set_title(st.title_with_flag(title, flag), fontsize=10)
    st.finish(fig, [ax], kept, synthetic=flag, own_figure=own)
    return fig


def _robust_ylim(ax, kept, signal, offset) -> int:
    """y-limits from the typical spectra: one scan with a broken normalization must not
    squash the others. Returns how many spectra leave the axis."""
    lo_x, hi_x = ax.get_xlim()
    lows, highs = [], []
    for i, res in enumerate(kept):
        norm, _, _ = _normalization_of(res)
        e = np.asarray(norm.energy)
        y = np.asarray(getattr(norm, signal))[(e >= lo_x) & (e <= hi_x)] + i * offset
        y = y[np.isfinite(y)]
        if y.size:
            lows.append(float(np.min(y) - i * offset))
            highs.append(float(np.max(y) - i * offset))
    if not lows:
        return 0
    lo_l, _, n_lo = st.robust_limits(lows, pad=0.0)
    _, hi_h, n_hi = st.robust_limits(highs, pad=0.0)
    lo = min(lo_l, -0.05)
    hi = hi_h + (len(kept) - 1) * offset
    span = hi - lo
    ax.set_ylim(lo - 0.05 * span, hi + 0.08 * span)
    out = sum(1 for a, b in zip(lows, highs) if a < lo_l - 1e-9 or b > hi_h + 1e-9)
    return out


# --------------------------------------------------------------------------- calibration
def _line_band(cal, v: np.ndarray, *, include_scatter: bool) -> np.ndarray:
    """1-sigma half-width (eV) of the line at valences ``v`` (+ scatter for a prediction band)."""
    (vaa, vab), (_, vbb) = cal.covariance
    var = vaa + v * v * vbb + 2.0 * v * vab
    if include_scatter:
        var = var + (cal.scatter_eV or 0.0) ** 2
    return np.sqrt(np.maximum(var, 0.0))


def _draw_line(ax, cal) -> None:
    lo, hi = cal.valence_span
    pad = max(0.25, 0.15 * (hi - lo))
    v = np.linspace(lo - pad, hi + pad, 200)
    e = cal.line(v)
    band = _line_band(cal, v, include_scatter=False)
    slope_err = np.sqrt(cal.covariance[1][1])
    ax.plot(v, e, color="tab:blue", lw=1.2, gid="calibration-line",
            label=f"line: {cal.slope_eV:.2f} ± {slope_err:.2f} eV/valence")
    ax.fill_between(v, e - band, e + band, color="tab:blue", alpha=0.2, lw=0,
                    label="line ±1σ", gid="line-band")
    if cal.scatter_eV:
        pb = _line_band(cal, v, include_scatter=True)
        ax.plot(v, e - pb, color="tab:blue", lw=0.7, ls=":", gid="prediction-band")
        ax.plot(v, e + pb, color="tab:blue", lw=0.7, ls=":",
                label=f"prediction ±1σ (scatter {cal.scatter_eV:.2f} eV)")


def _draw_standards(ax, cal) -> None:
    v = np.array([p.valence for p in cal.points])
    e = np.array([p.e0_eV for p in cal.points])
    err = np.array([p.e0_err_eV for p in cal.points])
    ax.errorbar(v, e, yerr=err, fmt="s", color="black", ms=5, capsize=3, label="standards",
                gid="standards")


def _label_standards(ax, cal) -> None:
    """Standards' names, spread apart where several share a valence (after the limits)."""
    anns = st.spread_labels(ax, [(p.valence, p.e0_eV) for p in cal.points],
                            [p.name for p in cal.points], fontsize=7, color="0.25")
    for a in anns:
        a.set_gid("standard-label")


def _sample_point(cal, s):
    """(valence, valence_err, e0, e0_err) of a sample, predicting it when not yet done."""
    e0, e0_err = float(s.e0_eV), st.finite_or_nan(getattr(s, "e0_err_eV", None))
    ox = getattr(s, "oxidation_state", None)
    if ox is not None:
        return float(ox), st.finite_or_nan(getattr(s, "oxidation_state_err", None)), e0, e0_err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualityWarning)  # extrapolation is visible on the plot
        pred = cal.predict(e0, e0_err if np.isfinite(e0_err) else 0.0)
    return pred.valence, pred.valence_err, e0, e0_err


def _draw_samples(ax, cal, samples) -> None:
    pts = np.array([_sample_point(cal, s) for s in samples], dtype=float).reshape(-1, 4)
    ax.errorbar(pts[:, 0], pts[:, 2], xerr=pts[:, 1], yerr=pts[:, 3], fmt="o", color="tab:red",
                ms=5, capsize=3, label="samples", gid="samples")
    if len(samples) <= 8:
        for i, (s, p) in enumerate(zip(samples, pts)):
            ax.annotate(st.short_label(s, i), (p[0], p[2]), textcoords="offset points",
                        xytext=(-6, 6), ha="right", fontsize=7, color="tab:red")


def plot_calibration(calibration, samples=None, *, ax=None, synthetic: bool | None = None):
    """Standards' edge position vs formal valence, the fitted line with its 1σ band, and
    samples placed on it with valence and edge-position error bars.

    Parameters
    ----------
    calibration : ValenceCalibration
        From :func:`~naheo_spec.xas.valence.build_calibration` or ``fit_calibration``.
    samples : sequence of XanesResult, optional
        Samples to place on the line: x = ``oxidation_state`` ± ``oxidation_state_err``
        (predicted with ``calibration.predict`` when the result has none), y = ``e0_eV`` ±
        ``e0_err_eV``. Default None: standards only.
    ax : Axes, optional
        Default None: new figure.
    synthetic : bool, optional
        Force or suppress the SYNTHETIC label. Default None: from the samples' metadata
        or the calibration's provenance.

    Returns
    -------
    matplotlib.figure.Figure
        The band is the 1σ error of the line (from the parameter covariance); the dotted
        lines add the standards' scatter (the prediction interval used for samples).

    Raises
    ------
    InputError
        ``calibration`` is not a ValenceCalibration-like object.
    CalibrationError
        Samples given without a calibration line to place them on.
    """
    if not hasattr(calibration, "points") or not hasattr(calibration, "has_line"):
        raise InputError(f"calibration must be a ValenceCalibration, got "
                         f"{type(calibration).__name__}")
    samples = list(samples or [])
    if samples and not calibration.has_line:
        raise CalibrationError("cannot place samples: the valence calibration has no line "
                               "(needs standards of at least 2 distinct valences)")
    own = ax is None
    fig, ax = st.figure_and_axes(ax, figsize=(6.4, 4.8))
    if calibration.has_line:
        _draw_line(ax, calibration)
    _draw_standards(ax, calibration)
    if samples:
        _draw_samples(ax, calibration, samples)
    ax.set_xlabel(st.VALENCE_LABEL)
    ax.set_ylabel(f"Edge position E0, {calibration.e0_method} (eV)")
    lo, hi = calibration.valence_span
    ax.set_xlim(lo - 0.4 * max(1.0, hi - lo), hi + 0.9 * max(1.0, hi - lo))  # room for labels
    ax.legend(fontsize=7, loc="upper left")
    _label_standards(ax, calibration)
    flag = st.resolve_synthetic(synthetic, [calibration, *samples])
    el = " ".join(x for x in (calibration.element, calibration.edge) if x) or "edge"
    txt = f"{el} valence calibration"
    if calibration.rms_residual_eV is not None:
        txt += f" (rms residual {calibration.rms_residual_eV:.2f} eV)"
    if not calibration.has_line:
        txt += ": no line (fewer than 2 valences)"
    ax.set_title(st.title_with_flag(txt, flag), fontsize=10)
    st.finish(fig, [ax], [*calibration.points, *samples], synthetic=flag, own_figure=own)
    return fig


# --------------------------------------------------------------------------- series
def _x_values(results, x: str, soc):
    if x == "scan":
        return np.arange(len(results), dtype=float), "Scan index"
    return st.series_values(results, "state_of_charge", soc, name="soc"), "State of charge"


def _ox_states(results) -> tuple[np.ndarray, np.ndarray]:
    ox = np.array([st.finite_or_nan(getattr(r, "oxidation_state", None)) for r in results])
    err = np.array([st.finite_or_nan(getattr(r, "oxidation_state_err", None)) for r in results])
    return ox, err


def plot_edge_vs_scan(results, *, x: str = "scan", soc=None, ax=None,
                      synthetic: bool | None = None):
    """Edge position E0 ± error (left axis) and oxidation state ± error (right axis) along
    a series.

    Parameters
    ----------
    results : sequence of XanesResult
        The series; failed scans are skipped and counted in the title. The right axis is
        drawn only when at least one result has an oxidation state.
    x : {"scan", "state_of_charge"}
        Abscissa: position in ``results`` or state of charge. Default is ``"scan"``.
    soc : sequence of float, optional
        State of charge per result. Default None: ``result.metadata["state_of_charge"]``.
    ax : Axes, optional
        Default None: new figure. The twin axis is added to it.
    synthetic : bool, optional
        Force or suppress the SYNTHETIC label. Default None: from the data's metadata.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        Empty series, unknown ``x``, missing or mis-sized ``soc``.
    """
    st.check_choice("x", x, _COLOR_BY)
    kept, n_failed = _analysed(results)
    xs, xlabel = _x_values(kept, x, soc)
    own = ax is None
    fig, ax = st.figure_and_axes(ax, figsize=(6.8, 4.4))
    e0 = np.array([float(r.e0_eV) for r in kept])
    e0_err = np.array([st.finite_or_nan(getattr(r, "e0_err_eV", None)) for r in kept])
    methods = {getattr(r, "e0_method", None) for r in kept} - {None}
    method = f", {methods.pop()}" if len(methods) == 1 else ""
    ax.errorbar(xs, e0, yerr=e0_err, fmt="o-", color="tab:blue", ms=4, capsize=3, lw=1,
                label="E0", gid="e0-series")
    _robust_y(ax, e0, "E0")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"Edge position E0{method} (eV)", color="tab:blue")
    ax.tick_params(axis="y", colors="tab:blue")
    ox, ox_err = _ox_states(kept)
    axes = [ax]
    if np.any(np.isfinite(ox)):
        ax2 = ax.twinx()
        ax2.errorbar(xs, ox, yerr=ox_err, fmt="s--", color="tab:red", ms=4, capsize=3, lw=1,
                     label="oxidation state", gid="ox-series")
        ax2.set_ylabel(st.VALENCE_LABEL, color="tab:red")
        ax2.tick_params(axis="y", colors="tab:red")
        axes.append(ax2)
    if len(axes) == 2:
        handles = [h for a in axes for h in a.get_legend_handles_labels()[0]]
        ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper left")
    _scan_axis(ax, kept, xs, x)
    flag = st.resolve_synthetic(synthetic, kept)
    title = st.series_title(kept, "Edge position") + (
        f", {n_failed} failed scans not shown" if n_failed else "")
    ax.set_title(st.title_with_flag(title, flag), fontsize=10)
    st.finish(fig, axes, kept, synthetic=flag, own_figure=own)
    return fig


def _scan_axis(ax, kept, xs, x: str) -> None:
    """Scan axes: the scans' own names when few (else integer indices, never 2.5)."""
    if x != "scan":
        return
    if len(kept) <= 12:
        ax.set_xticks(xs)
        names = [_scan_name(r, i) for i, r in enumerate(kept)]
        ax.set_xticklabels(names, rotation=30 if max(map(len, names)) > 4 else 0,
                           ha="right" if max(map(len, names)) > 4 else "center", fontsize=7)
        ax.set_xlabel("Scan")
    else:
        st.integer_ticks(ax.xaxis)


def _scan_name(r, i: int) -> str:
    scan = getattr(r, "scan", None)
    return str(scan) if scan else st.short_label(r, i)


def _robust_y(ax, values, what: str) -> None:
    """Robust y-limits; points beyond them are marked at the axis edge and counted."""
    lo, hi, n_out = st.robust_limits(values)
    v = np.asarray(values, dtype=float)
    if n_out:
        ax.set_ylim(lo, hi)
        x = np.asarray(ax.lines[-1].get_xdata()) if ax.lines else np.arange(v.size)
        for xi, vi in zip(x, v):
            if np.isfinite(vi) and (vi < lo or vi > hi):
                edge = hi if vi > hi else lo
                ax.annotate(f"{what} {vi:.2f}", (xi, edge), xytext=(0, -14 if vi > hi else 14),
                            textcoords="offset points", ha="center", fontsize=7,
                            color="tab:red", arrowprops=dict(arrowstyle="->", color="tab:red"),
                            gid="outlier")


def plot_relative_shifts(rel, *, x: str = "scan", ax=None, synthetic: bool | None = None):
    """E0 shift relative to the reference scan (± the error of the difference) along a series,
    with the valence change on a second axis when a calibration gave one.

    Parameters
    ----------
    rel : RelativeShifts
        From :func:`naheo_spec.xas.relative.relative_shifts`.
    x : str
        ``"scan"`` (the scans' names when few) or a coordinate of the series
        (``"state_of_charge"``, ``"potential"``...). Default is ``"scan"``.
    ax : Axes, optional
        Default None: new figure.
    synthetic : bool, optional
        Force the SYNTHETIC label. Default None: none (no metadata is carried).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        ``x`` is neither "scan" nor a coordinate of the series.
    """
    n = len(rel)
    if x == "scan":
        xs, xlabel = np.arange(n, dtype=float), "Scan"
    elif x in rel.coordinates:
        xs, xlabel = np.asarray(rel.coordinates[x], dtype=float), x.replace("_", " ").capitalize()
    else:
        raise InputError(f"x must be 'scan' or one of the coordinates "
                         f"{sorted(rel.coordinates)}, got {x!r}")
    own = ax is None
    fig, ax = st.figure_and_axes(ax, figsize=(6.8, 4.4))
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.errorbar(xs, rel.shift_eV, yerr=rel.shift_err_eV, fmt="o-", color="tab:blue", ms=4,
                capsize=3, lw=1, label=f"E0 shift ({rel.e0_method})", gid="shift-series")
    ax.set_ylabel(f"E0 − E0({rel.labels[rel.reference].split(':')[-1]}) (eV)", color="tab:blue")
    axes = [ax]
    if np.any(np.isfinite(rel.valence_change)):
        ax2 = ax.twinx()
        ax2.errorbar(xs, rel.valence_change, yerr=rel.valence_change_err, fmt="s--",
                     color="tab:red", ms=3, capsize=2, lw=0.8, label="valence change",
                     gid="valence-change")
        ax2.set_ylabel("Valence change", color="tab:red")
        axes.append(ax2)
    if x == "scan":
        if n <= 12:
            names = [lab.split(":")[-1] for lab in rel.labels]
            ax.set_xticks(xs)
            ax.set_xticklabels(names, rotation=30, ha="right", fontsize=7)
        else:
            st.integer_ticks(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_title(st.title_with_flag(
        f"Edge shift vs {rel.labels[rel.reference]} (cancelled: {', '.join(rel.cancelled)})",
        bool(synthetic)), fontsize=9)
    st.finish(fig, axes, [], synthetic=bool(synthetic), own_figure=own)
    return fig
