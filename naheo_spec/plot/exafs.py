"""Plots of the EXAFS pipeline: k-weighted χ(k) with its FT window, χ(R) with the
apparent shell peaks and the shell fit, the fit in R and k with its paths, and fitted
distances along a series.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot (works
headless, no global state); save it with :func:`naheo_spec.plot.save_figure`.
matplotlib is imported only inside the functions.

Distances read off |χ(R)| peaks are *apparent*: the scattering phase shift puts them
0.3–0.5 Å below the bond length. The plots say so on the axis and on every peak label;
only shell-fit distances are phase corrected.

References
----------
M. Newville, "Larch: an analysis package for XAFS and related spectroscopies",
J. Phys.: Conf. Ser. 430, 012007 (2013), doi:10.1088/1742-6596/430/1/012007;
B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
doi:10.1107/S0909049505012719 (the χ(k)/χ(R) views of ARTEMIS).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Sequence

import numpy as np

from naheo_spec.errors import InputError
from naheo_spec.plot import style as st

#: Default upper R of χ(R) plots, Å.
RMAX_PLOT_A = 6.0

_PARTS = ("mag", "re", "im")
_PART_STYLE = {"mag": dict(color="black", lw=1.4, ls="-"),
               "re": dict(color="tab:blue", lw=0.8, ls="-"),
               "im": dict(color="tab:green", lw=0.8, ls=":")}
_X_CHOICES = ("scan", "state_of_charge")
#: Colours of individual paths: no reds (the model is crimson) and no black (the data).
_PATH_COLORS = ("tab:green", "tab:purple", "tab:brown", "tab:olive", "tab:cyan", "tab:pink",
                "tab:gray", "tab:orange")


def _path_color(i: int) -> str:
    return _PATH_COLORS[i % len(_PATH_COLORS)]


def _span(lo, hi, unit: str) -> str:
    """``"3.0–11.6 Å⁻¹"``: a range as people read it (the computed ends are 11.5814...)."""
    return f"{float(lo):.1f}–{float(hi):.1f} {unit}"


# --------------------------------------------------------------------------- helpers
def _require(obj, attrs: Sequence[str], what: str):
    missing = [a for a in attrs if not hasattr(obj, a)]
    if missing:
        raise InputError(f"expected {what}, got {type(obj).__name__} (missing {', '.join(missing)})")
    return obj


def _check_kweight(kweight) -> int:
    if kweight is None or int(kweight) != kweight or not 0 <= int(kweight) <= 4:
        raise InputError(f"kweight={kweight!r}; expected an integer 0-4")
    return int(kweight)


def _fit_of(result, fit):
    """The shell fit to draw: ``fit`` if given, else ``result.shell_fit`` (may be None)."""
    fit = fit if fit is not None else getattr(result, "shell_fit", None)
    if fit is not None:
        _require(fit, ("chir_mag_model", "r_A", "paths"), "a ShellFitResult")
    return fit


def _fit_window_A(fit) -> tuple[float, float] | None:
    params = getattr(getattr(fit, "provenance", None), "parameters", {}) or {}
    if "rmin_A" in params and "rmax_A" in params:
        return float(params["rmin_A"]), float(params["rmax_A"])
    return None


def _same_transform(result, fit) -> bool:
    """True when the fit's χ(R) used the result's FT (k range, weight, window), so its model
    can be drawn over the result's data; otherwise the fit's own data transform is drawn."""
    fp = getattr(getattr(fit, "provenance", None), "parameters", {}) or {}
    rp = (getattr(result, "provenance", None).parameters or {}).get("xftf", {}) \
        if getattr(result, "provenance", None) is not None else {}
    try:
        return (int(fit.kweight) == int(result.kweight)
                and abs(float(fp["kmin"]) - float(result.ft_kmin_invA)) < 1e-6
                and abs(float(fp["kmax"]) - float(result.ft_kmax_invA)) < 1e-6
                and abs(float(fp["dk"]) - float(rp["dk"])) < 1e-6
                and str(fp["window"]) == str(rp["window"]))
    except (KeyError, TypeError, ValueError):
        return False


def _fit_summary(fit) -> str:
    lines = []
    for p in fit.paths:
        err = "" if p.r_err_A is None or not np.isfinite(p.r_err_A) else f" ± {p.r_err_A:.3f}"
        lines.append(f"{p.label}: R = {p.r_A:.3f}{err} Å, N = {p.n:.1f}")
    lines.append(f"R-factor {fit.r_factor:.4f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- chi(k)
def plot_chik(result, *, kweight: int | None = None, ax=None, show_window: bool = True,
              synthetic: bool | None = None):
    """k-weighted χ(k) with the Fourier-transform window.

    Parameters
    ----------
    result : ExafsResult
        From :func:`~naheo_spec.xas.exafs.analyze_exafs`.
    kweight : int, optional
        k-weight of the plot (0-4). Default None: the result's transform k-weight.
    ax : Axes, optional
        Default None: new figure.
    show_window : bool
        Draw the FT window, scaled to the largest |k^w χ(k)| inside it. Default is True.
    synthetic : bool, optional
        Force or suppress the SYNTHETIC label. Default None: from the data's metadata.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        ``result`` is not an ExafsResult or ``kweight`` is not an integer 0-4.
    """
    _require(result, ("k_invA", "chi", "kweight", "kwin"), "an ExafsResult")
    kw = _check_kweight(result.kweight if kweight is None else kweight)
    own = ax is None
    fig, ax = st.figure_and_axes(ax, figsize=(6.4, 4.0))
    k = np.asarray(result.k_invA)
    y = np.asarray(result.chi) * k ** kw
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.plot(k, y, color="black", lw=1.2, label=f"k{st.superscript(kw)}·χ(k)", gid="chik")
    if show_window:
        win = np.asarray(result.kwin)
        inside = win > 0.01
        scale = float(np.max(np.abs(y[inside]))) if np.any(inside) else float(np.max(np.abs(y)))
        params = (getattr(result, "provenance", None).parameters or {}).get("xftf", {}) \
            if getattr(result, "provenance", None) is not None else {}
        name = params.get("window", "window")
        ax.plot(k, win * scale, color="tab:orange", lw=1.0, ls="--", gid="ft-window",
                label=f"FT window ({name}, {_span(result.ft_kmin_invA, result.ft_kmax_invA, 'Å⁻¹')})")
    ax.set_xlim(0.0, float(k[-1]))
    ax.set_xlabel(st.K_LABEL)
    ax.set_ylabel(st.chik_label(kw))
    ax.legend(fontsize=8, loc="upper right")
    flag = st.resolve_synthetic(synthetic, [result])
    ax.set_title(st.title_with_flag(f"{st.source_name(result) or 'EXAFS'}: χ(k)", flag),
                 fontsize=10)
    st.finish(fig, [ax], [result], synthetic=flag, own_figure=own)
    return fig


# --------------------------------------------------------------------------- chi(R)
def _mark_peaks(ax, peaks) -> None:
    found = [p for p in peaks if np.isfinite(p.r_apparent_A)]
    for i, p in enumerate(found):
        ax.plot([p.r_apparent_A], [p.magnitude], "v", color="crimson", ms=6,
                gid=f"ft-peak-{p.label}",
                label="FT peaks (apparent R, not phase-corrected)" if i == 0 else None)
        ax.annotate(f"{p.label}: {p.r_apparent_A:.2f} Å (apparent)",
                    (p.r_apparent_A, p.magnitude), textcoords="offset points",
                    xytext=(0, 9), ha="center", fontsize=7, color="crimson",
                    gid=f"ft-peak-label-{p.label}")
    if found:
        lo, hi = ax.get_ylim()
        top = max(p.magnitude for p in found)
        ax.set_ylim(lo, max(hi, top + 0.25 * (top - lo)))  # room for the labels


def _draw_parts(ax, r, chir, parts, *, prefix: str = "", gid: str = "data", alpha=1.0):
    for part in parts:
        y = {"mag": np.abs(chir), "re": chir.real, "im": chir.imag}[part]
        label = {"mag": "|χ(R)|", "re": "Re χ(R)", "im": "Im χ(R)"}[part]
        ax.plot(r, y, label=prefix + label, gid=f"{gid}-{part}", alpha=alpha, **_PART_STYLE[part])


def _draw_fit_in_r(ax, result, fit, parts) -> None:
    r = np.asarray(fit.r_A)
    if not _same_transform(result, fit):
        data = np.asarray(fit.chir_re_data) + 1j * np.asarray(fit.chir_im_data)
        fp = getattr(getattr(fit, "provenance", None), "parameters", {}) or {}
        krange = (f", k {_span(fp['kmin'], fp['kmax'], 'Å⁻¹')}" if "kmin" in fp and "kmax" in fp
                  else "")
        _draw_parts(ax, r, data, [p for p in parts if p == "mag"],
                    prefix=f"data, fit FT (k{st.superscript(fit.kweight)}{krange}) ",
                    gid="fit-data", alpha=0.5)
    model = {"mag": fit.chir_mag_model, "re": fit.chir_re_model, "im": fit.chir_im_model}
    for part in parts:
        if part == "im":  # Im of the model clutters the plot more than it helps
            continue
        name = "|χ(R)|" if part == "mag" else "Re χ(R)"
        ax.plot(r, model[part], color="crimson", lw=1.1 if part == "mag" else 0.7, ls="--",
                label=f"fit {name}", gid=f"fit-{part}")
    win = _fit_window_A(fit)
    if win is not None:
        ax.axvspan(*win, color="crimson", alpha=0.06, lw=0, gid="fit-range",
                   label=f"fit range {_span(win[0], win[1], 'Å')}")
    ax.text(0.98, 0.03, "shell fit (phase-corrected):\n" + _fit_summary(fit),
            transform=ax.transAxes, ha="right", va="bottom", fontsize=7, family="monospace",
            bbox=dict(boxstyle="round", fc="white", ec="0.7", alpha=0.9))


def plot_chir(result, *, ax=None, parts=("mag", "re", "im"), fit=None,
              rmax_A: float = RMAX_PLOT_A, synthetic: bool | None = None):
    """|χ(R)|, Re and Im χ(R), the apparent shell peaks and, when there is one, the shell fit.

    Parameters
    ----------
    result : ExafsResult
        From :func:`~naheo_spec.xas.exafs.analyze_exafs`; its ``ft_peaks`` are marked with
        their apparent R (not phase-corrected).
    ax : Axes, optional
        Default None: new figure.
    parts : sequence of {"mag", "re", "im"}
        Parts of χ(R) to draw. Default is all three.
    fit : ShellFitResult, optional
        Shell fit to overlay (model |χ(R)| and Re, the fit R range, the fitted distances).
        Default None: ``result.shell_fit`` if set. When the fit used a different transform
        than the result (k range, k-weight, window), the fit's own data transform is drawn
        too, since only that one is comparable with the model.
    rmax_A : float
        Upper R of the plot, Å. Default is 6.
    synthetic : bool, optional
        Force or suppress the SYNTHETIC label. Default None: from the data's metadata.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        ``result``/``fit`` of the wrong type, or an unknown entry in ``parts``.
    """
    _require(result, ("r_A", "chir", "kweight"), "an ExafsResult")
    parts = tuple(parts)
    for p in parts:
        st.check_choice("parts", p, _PARTS)
    if not parts:
        raise InputError("parts is empty; expected some of 'mag', 're', 'im'")
    fit = _fit_of(result, fit)
    own = ax is None
    fig, ax = st.figure_and_axes(ax, figsize=(6.4, 4.4))
    r = np.asarray(result.r_A)
    chir = np.asarray(result.chir)
    ax.axhline(0.0, color="0.6", lw=0.6)
    _draw_parts(ax, r, chir, parts)
    if fit is not None:
        _draw_fit_in_r(ax, result, fit, parts)
    if "mag" in parts:
        _mark_peaks(ax, getattr(result, "ft_peaks", ()) or ())
    ax.set_xlim(0.0, rmax_A)
    ax.set_xlabel(st.R_LABEL)
    ax.set_ylabel(st.chir_label(result.kweight, "mag" if parts == ("mag",) else "any"))
    ax.legend(fontsize=7, loc="upper right")
    flag = st.resolve_synthetic(synthetic, [result])
    kw = st.superscript(result.kweight)
    ax.set_title(st.title_with_flag(
        f"{st.source_name(result) or 'EXAFS'}: χ(R), FT of k{kw}·χ(k), "
        f"k {_span(result.ft_kmin_invA, result.ft_kmax_invA, 'Å⁻¹')}", flag), fontsize=10)
    st.finish(fig, [ax], [result], synthetic=flag, own_figure=own)
    return fig


# --------------------------------------------------------------------------- shell fit
def _fit_r_panel(ax, fit, rmax_A: float, show_paths: bool) -> None:
    r = np.asarray(fit.r_A)
    ax.plot(r, fit.chir_mag_data, color="black", lw=1.4, label="data |χ(R)|", gid="data-mag")
    ax.plot(r, fit.chir_re_data, color="tab:blue", lw=0.7, label="data Re χ(R)", gid="data-re")
    ax.plot(r, fit.chir_mag_model, color="crimson", lw=1.2, ls="--", label="model |χ(R)|",
            gid="model-mag")
    ax.plot(r, fit.chir_re_model, color="crimson", lw=0.7, ls=":", label="model Re χ(R)",
            gid="model-re")
    if show_paths:
        for i, (label, mag) in enumerate(fit.path_chir_mag.items()):
            ax.plot(r, mag, lw=0.9, color=_path_color(i), label=f"path {label}",
                    gid=f"path-r-{label}")
    win = _fit_window_A(fit)
    if win is not None:
        ax.axvspan(*win, color="crimson", alpha=0.06, lw=0, gid="fit-range",
                   label=f"fit range {_span(win[0], win[1], 'Å')}")
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlim(0.0, rmax_A)
    ax.set_xlabel(st.R_FIT_LABEL + ", FT not phase-corrected")
    ax.set_ylabel(st.chir_label(fit.kweight, "any"))
    ax.legend(fontsize=7, loc="upper right")


def _fit_k_panel(ax, fit, show_paths: bool) -> None:
    k = np.asarray(fit.k_invA)
    kw = int(fit.kweight)
    wk = k ** kw
    data, model = np.asarray(fit.chi_data) * wk, np.asarray(fit.chi_model) * wk
    ax.plot(k, data, color="black", lw=1.2, label="data", gid="data-k")
    ax.plot(k, model, color="crimson", lw=1.1, ls="--", label="model", gid="model-k")
    if show_paths and fit.path_chi_k:
        # paths are drawn below the data, each offset by the data's full range
        step = 1.1 * float(np.ptp(data)) if np.ptp(data) > 0 else 1.0
        for i, (label, chi) in enumerate(fit.path_chi_k.items()):
            ax.plot(k, np.asarray(chi) * wk - (i + 1) * step, lw=0.9, color=_path_color(i),
                    label=f"path {label} (offset)", gid=f"path-k-{label}")
    params = getattr(getattr(fit, "provenance", None), "parameters", {}) or {}
    if "kmin" in params and "kmax" in params:
        ax.axvspan(float(params["kmin"]), float(params["kmax"]), color="tab:orange", alpha=0.07,
                   lw=0, label=f"k range {_span(params['kmin'], params['kmax'], 'Å⁻¹')}")
    ax.axhline(0.0, color="0.6", lw=0.6)
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.3 * (hi - lo))  # headroom for the legend above the data
    ax.set_xlabel(st.K_LABEL)
    ax.set_ylabel(st.chik_label(kw))
    ax.legend(fontsize=7, loc="upper right", ncols=2)


def plot_shell_fit(fit_result, *, rmax_A: float = RMAX_PLOT_A, show_paths: bool = True,
                   ax=None, source=None, synthetic: bool | None = None):
    """Shell fit: data vs model in R (with each path's |χ(R)|) and in k (paths offset).

    Parameters
    ----------
    fit_result : ShellFitResult or ExafsResult
        From :func:`~naheo_spec.xas.shellfit.fit_shells`, or an ExafsResult whose
        ``shell_fit`` is set.
    rmax_A : float
        Upper R of the R panel, Å. Default is 6.
    show_paths : bool
        Draw each path's contribution. Default is True.
    ax : pair of Axes, optional
        (R axes, k axes). Default None: a new figure with the two panels side by side.
    source : object, optional
        Result whose file/scan names the title and whose metadata decide the SYNTHETIC
        label (e.g. the ExafsResult the fit came from). Default None: ``fit_result``.
    synthetic : bool, optional
        Force or suppress the SYNTHETIC label. Default None: from the metadata.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        No shell fit in ``fit_result``, or ``ax`` is not a pair of Axes.
    """
    if getattr(fit_result, "shell_fit", None) is not None:
        source = source if source is not None else fit_result
        fit_result = fit_result.shell_fit
    fit = _require(fit_result, ("chir_mag_model", "chi_model", "paths", "kweight"),
                   "a ShellFitResult (or an ExafsResult with shell_fit set)")
    source = source if source is not None else fit
    own = ax is None
    if own:
        fig, axes = st.figure_and_axes(None, ncols=2, figsize=(11.0, 4.6))
    else:
        axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(axes) != 2:
            raise InputError(f"ax must be a pair of Axes (R, k), got {len(axes)}")
        fig = st.root_figure(axes[0])
    _fit_r_panel(axes[0], fit, rmax_A, show_paths)
    _fit_k_panel(axes[1], fit, show_paths)
    axes[0].text(0.98, 0.03, _fit_summary(fit), transform=axes[0].transAxes, ha="right",
                 va="bottom", fontsize=7, family="monospace",
                 bbox=dict(boxstyle="round", fc="white", ec="0.7", alpha=0.9))
    flag = st.resolve_synthetic(synthetic, [source])
    name = st.source_name(source) or "EXAFS"
    title = (f"{name}: shell fit, R-factor {fit.r_factor:.4f}, "
             f"reduced χ² {fit.reduced_chi2:.3g}")
    axes[0].set_title(st.title_with_flag(title, flag), fontsize=10, loc="left")
    st.finish(fig, list(axes), [source], synthetic=flag, own_figure=own)
    return fig


# --------------------------------------------------------------------------- series
_ERROR_KINDS = ("series", "total", "feffit")


def _rows_from_results(results, source: str) -> tuple[list[dict[str, Any]], list[Any], bool]:
    """Rows ``{scan, label_r_A, label_r_err_A, label_r_err_series_A, label_r_err_total_A}``
    per result; returns (rows, objects, apparent)."""
    fits = [r if hasattr(r, "paths") else getattr(r, "shell_fit", None) for r in results]
    use_fit = source == "fit" or (source == "auto" and all(f is not None for f in fits))
    rows = []
    for i, (res, fit) in enumerate(zip(results, fits)):
        row: dict[str, Any] = {"scan": getattr(res, "scan", None) or st.source_name(res)}
        if use_fit:
            if fit is None:
                raise InputError(f"result {i} ({st.short_label(res, i)}) has no shell fit; "
                                 "use source='peaks' for apparent FT-peak positions")
            budget = getattr(fit, "r_uncertainty", None) or {}
            for p in fit.paths:
                row[f"{p.label}_r_A"], row[f"{p.label}_r_err_A"] = p.r_A, p.r_err_A
                for kind in ("series", "total"):
                    row[f"{p.label}_r_err_{kind}_A"] = budget.get(p.label, {}).get(kind)
        else:
            for p in _require(res, ("ft_peaks",), "ExafsResult or ShellFitResult").ft_peaks:
                row[f"{p.label}_r_A"], row[f"{p.label}_r_err_A"] = p.r_apparent_A, None
        rows.append(row)
    return rows, list(results), not use_fit


def _labels_of(rows: Sequence[Mapping[str, Any]], labels) -> list[str]:
    if labels is not None:
        return list(labels)
    found: list[str] = []
    for row in rows:
        for key in row:
            if key.endswith("_r_A") and "_r_err" not in key and key[:-4] not in found:
                found.append(key[:-4])
    if not found:
        raise InputError("no distances found: expected '<label>_r_A' entries "
                         "(shellfit.distances_table rows, ShellFitResults or ExafsResults)")
    return found


def _series_x(objs, rows, x: str, soc) -> tuple[np.ndarray, str]:
    if x == "state_of_charge":
        if soc is None and all(isinstance(r, Mapping) and "state_of_charge" in r for r in rows):
            soc = [r["state_of_charge"] for r in rows]
        return st.series_values(objs, "state_of_charge", soc, name="soc"), "State of charge"
    return np.arange(len(rows), dtype=float), "Scan"


def _scan_names(rows, objs) -> list[str]:
    """The name of each point: the row's ``scan`` (a group or file name), else its index."""
    names = []
    for i, (row, obj) in enumerate(zip(rows, objs)):
        name = row.get("scan") if isinstance(row, Mapping) else None
        if name is None or name == "":
            name = getattr(obj, "scan", None) or st.source_name(obj)
        names.append(str(i) if name is None else str(name))
    return names


def _name_ticks(ax, xs, names, max_labels: int = 24) -> None:
    """Scan names under the points (every n-th when there are many), not fractional indices."""
    step = max(1, int(np.ceil(len(xs) / max_labels)))
    ax.set_xticks(xs[::step])
    long = max((len(n) for n in names), default=0) > 6
    ax.set_xticklabels(names[::step], rotation=35 if long else 0, ha="right" if long else "center",
                       fontsize=7 if long else 8)


#: A distance further than this many robust standard deviations (1.4826 MAD, at least
#: OUTLIER_MIN_A) from the series median is drawn at the edge of the panel instead of
#: setting its scale.
OUTLIER_SIGMAS = 6.0
OUTLIER_MIN_A = 0.02


def _outliers(r: np.ndarray) -> np.ndarray:
    good = np.isfinite(r)
    out = np.zeros(r.size, dtype=bool)
    if good.sum() < 4:
        return out
    med = np.median(r[good])
    spread = max(OUTLIER_SIGMAS * 1.4826 * np.median(np.abs(r[good] - med)), OUTLIER_MIN_A)
    out[good] = np.abs(r[good] - med) > spread
    return out


def _clip_outliers(ax, xs, r, err, out, color, gid) -> None:
    """Scale the panel to the inliers and mark each outlier at the edge with its value."""
    keep = np.isfinite(r) & ~out
    e = np.where(np.isfinite(err), err, 0.0)
    lo, hi = float(np.min((r - e)[keep])), float(np.max((r + e)[keep]))
    pad = 0.15 * max(hi - lo, 1e-3)
    lo, hi = lo - pad, hi + pad
    ax.set_ylim(lo, hi)
    for x, y in zip(xs[out], r[out]):
        edge = hi if y > hi else lo
        ax.plot([x], [edge], "^" if y > hi else "v", color=color, ms=7, clip_on=False,
                gid=f"{gid}-outlier")
        ax.annotate(f"{y:.3f} Å (off scale)", (x, edge), textcoords="offset points",
                    xytext=(4, -10 if y > hi else 4), fontsize=7, color=color)


def _get(row, key) -> float:
    return st.finite_or_nan(row.get(key))


def plot_distances_vs_scan(results_or_table, *, x: str = "scan", soc=None, labels=None,
                           source: str = "auto", errors: str = "series", ax=None,
                           synthetic: bool | None = None):
    """Fitted TM–O and TM–TM distances ± error along a series (one panel per shell).

    Parameters
    ----------
    results_or_table : sequence of ShellFitResult, ExafsResult or dict
        Shell fits, EXAFS results (their ``shell_fit``, or their apparent FT peaks), or the
        rows of :func:`~naheo_spec.xas.shellfit.distances_table` (keys ``<label>_r_A``,
        ``<label>_r_err_A`` and, when available, ``<label>_r_err_series_A`` /
        ``<label>_r_err_total_A``; optional ``scan`` and ``state_of_charge``).
    x : {"scan", "state_of_charge"}
        Abscissa: position in the series (labelled with the scan or group names) or state
        of charge. Default is ``"scan"``.
    soc : sequence of float, optional
        State of charge per entry. Default None: the rows' ``state_of_charge`` or the
        results' ``metadata["state_of_charge"]``.
    labels : sequence of str, optional
        Shells to plot (path labels such as ``"Ni-O"``, or ``"TM-O"``/``"TM-TM"`` for
        FT peaks). Default None: every label found, in order.
    source : {"auto", "fit", "peaks"}
        For results: ``"fit"`` shell-fit distances, ``"peaks"`` apparent |χ(R)| peak
        positions (not phase-corrected, no error bars), ``"auto"`` (default) fits when
        every result has one, else peaks.
    errors : {"series", "total", "feffit"}
        Error bars: ``"series"`` (noise only: what changes between scans of one series
        processed alike, the default), ``"total"`` (against crystallography: feffit,
        k range and FEFF theory) or ``"feffit"`` (larch's). Falls back to ``"feffit"``
        when the budget is not available; the axis label says which.
    ax : Axes or sequence of Axes, optional
        One Axes per label. Default None: new figure, panels stacked with a shared x.
    synthetic : bool, optional
        Force or suppress the SYNTHETIC label. Default None: from the results' metadata.

    Returns
    -------
    matplotlib.figure.Figure
        A point further than 6 robust standard deviations (at least 0.02 Å) from the
        series median (a failed fit) is drawn as a marker at the panel's edge with its
        value, so that it does not squash the others.

    Raises
    ------
    InputError
        Empty input, unknown ``x``/``source``/``errors``, no distances, wrong number of
        Axes, missing or mis-sized ``soc``.
    """
    st.check_choice("x", x, _X_CHOICES)
    st.check_choice("source", source, ("auto", "fit", "peaks"))
    st.check_choice("errors", errors, _ERROR_KINDS)
    items = list(results_or_table or [])
    if not items:
        raise InputError("results_or_table is empty; expected shell fits, EXAFS results "
                         "or distances_table rows")
    if all(isinstance(r, Mapping) for r in items):
        rows, objs, apparent = items, items, False
    else:
        rows, objs, apparent = _rows_from_results(items, source)
    labels = _labels_of(rows, labels)
    xs, xlabel = _series_x(objs, rows, x, soc)
    own = ax is None
    if own:
        fig, axes = st.figure_and_axes(None, nrows=len(labels), sharex=True, squeeze=False,
                                       figsize=(6.4, 2.4 + 1.9 * len(labels)))
        axes = list(axes[:, 0])
    else:
        axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(axes) != len(labels):
            raise InputError(f"ax has {len(axes)} Axes for {len(labels)} shells {labels}")
        fig = st.root_figure(axes[0])
    what = "apparent R (Å)" if apparent else "R (Å)"
    used = set()
    for i, (a, label) in enumerate(zip(axes, labels)):
        r = np.array([_get(row, f"{label}_r_A") for row in rows])
        kind = errors
        err = np.array([_get(row, f"{label}_r_err_{errors}_A") if errors != "feffit"
                        else _get(row, f"{label}_r_err_A") for row in rows])
        if not apparent and errors != "feffit" and not np.isfinite(err).any():
            kind = "feffit"
            err = np.array([_get(row, f"{label}_r_err_A") for row in rows])
        used.add(kind)
        out = _outliers(r)
        shown = np.where(out, np.nan, r)
        a.errorbar(xs, shown, yerr=None if apparent else err, fmt="o-", ms=4, capsize=3, lw=1,
                   color=f"C{i}", gid=f"distance-{label}")
        if out.any():
            _clip_outliers(a, xs, r, err, out, f"C{i}", f"distance-{label}")
        a.set_ylabel(f"{label} {what}" + ("" if apparent else f", ± {kind}"), fontsize=9)
    if x == "scan":
        _name_ticks(axes[-1], xs, _scan_names(rows, objs))
    axes[-1].set_xlabel(xlabel)
    flag = st.resolve_synthetic(synthetic, objs)
    kind = "Apparent FT-peak positions (not phase-corrected)" if apparent \
        else "Shell-fit distances"
    axes[0].set_title(st.title_with_flag(st.series_title(objs, kind), flag), fontsize=10)
    st.finish(fig, axes, objs, synthetic=flag, own_figure=own)
    return fig
