"""Raman figures: raw spectrum with baseline, band fit with residual, series maps, band
areas and carbonate index against the series coordinate.

Every function returns a matplotlib ``Figure`` (no pyplot state); save it with
:func:`naheo_spec.plot.save_figure`. Shifts are in cm⁻¹; intensities in the file's units.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from naheo_spec.plot.style import figure_and_axes, finish, series_cmap

__all__ = ["plot_baseline", "plot_fit", "plot_series_map", "plot_series_bands", "plot_map_image",
           "SHIFT_LABEL"]

SHIFT_LABEL = "Raman shift (cm⁻¹)"
_RRUFF = ("RRUFF data: Lafuente, Downs, Yang, Stone (2015), The power of databases: the RRUFF "
          "project")


def _credit(fig, files) -> None:
    if any(f and "rruf" in str(f).lower() for f in files):
        fig.text(0.995, 0.003, _RRUFF, ha="right", va="bottom", fontsize=6, color="0.4",
                 gid="data-credit")


def plot_baseline(result, *, ax=None, synthetic: bool | None = None):
    """Raw spectrum (after cutting) and the baseline that was subtracted.

    Parameters
    ----------
    result : RamanResult
    ax : Axes, optional
    synthetic : bool, optional
        Force the SYNTHETIC label (default: from the result).
    """
    fig, ax = figure_and_axes(ax)
    own = ax is not None and fig.axes[0] is ax
    ax.plot(result.axis, result.raw, lw=0.8, color="0.2", label="spectrum")
    ax.plot(result.axis, result.baseline, lw=1.2, color="tab:red", label="baseline")
    ax.set_xlabel(SHIFT_LABEL)
    ax.set_ylabel("Intensity (counts, as read)")
    ax.set_title(f"{result.name}: spectrum and baseline", fontsize=10)
    ax.legend(fontsize=8)
    finish(fig, [ax], [result], synthetic=synthetic, own_figure=own)
    _credit(fig, [result.file])
    return fig


def plot_fit(result, *, windows=None, synthetic: bool | None = None):
    """Baseline-corrected spectrum, fitted model and bands, and the residual, per window.

    Parameters
    ----------
    result : RamanResult
    windows : sequence of (lo, hi), optional
        Shift ranges to show. Default: the preset's fit windows (from the provenance).
    """
    if windows is None:
        wins = (result.provenance.parameters.get("preset", {}).get("windows", {})
                if result.provenance else {})
        windows = list(wins.values()) or [(float(result.axis[0]), float(result.axis[-1]))]
    from naheo_spec.plot import new_figure

    fig, axes = new_figure(nrows=2, ncols=len(windows), figsize=(5.0 * len(windows), 5.2),
                           squeeze=False, sharex="col", gridspec_kw={"height_ratios": [3, 1]})
    colors = series_cmap()
    for k, (lo, hi) in enumerate(windows):
        top, bottom = axes[0, k], axes[1, k]
        sel = (result.axis >= lo) & (result.axis <= hi)
        x = result.axis[sel]
        top.plot(x, result.corrected[sel], ".", ms=2.5, color="0.25", label="data - baseline")
        if np.isfinite(result.model[sel]).any():
            top.plot(x, result.model[sel], color="tab:red", lw=1.3, label="fit")
            names = [n for n, c in result.components.items() if np.isfinite(c[sel]).any()
                     and np.nanmax(np.abs(c[sel])) > 0]
            for j, name in enumerate(names):
                top.fill_between(x, 0, result.components[name][sel], alpha=0.35,
                                 color=colors(j / max(len(names) - 1, 1)), label=name)
            bottom.plot(x, result.corrected[sel] - result.model[sel], lw=0.8, color="0.3")
        bottom.axhline(0, color="0.6", lw=0.6)
        bottom.set_xlabel(SHIFT_LABEL)
        top.set_title(f"{lo:g}-{hi:g} cm⁻¹", fontsize=9)
        top.legend(fontsize=7)
    axes[0, 0].set_ylabel("Intensity - baseline")
    axes[1, 0].set_ylabel("Residual")
    fig.suptitle(f"{result.name}: band fit", fontsize=10)
    finish(fig, list(axes.flat), [result], synthetic=synthetic, own_figure=True)
    _credit(fig, [result.file])
    return fig


def _coordinate(series):
    key, vals, unit = series.x_coordinate()
    if unit and key.endswith(f"_{unit}"):           # exposure_h (h) -> exposure (h)
        key = key[: -len(unit) - 1]
    label = key.replace("_", " ") + (f" ({unit})" if unit else "")
    return vals, label


def plot_series_map(series, *, kind: str = "heatmap", shift_range=None, max_lines: int = 60,
                    synthetic: bool | None = None):
    """Baseline-corrected spectra of a series against its coordinate.

    Parameters
    ----------
    series : RamanSeriesResult
    kind : {"heatmap", "waterfall"}
        Default ``"heatmap"``.
    shift_range : (float, float), optional
        Shift range shown (cm-1). Default: the whole cut axis.
    max_lines : int
        Waterfall: at most this many spectra (evenly picked). Default 60.
    """
    from naheo_spec.plot.style import check_choice

    check_choice("kind", kind, ("heatmap", "waterfall"))
    fig, ax = figure_and_axes(None, figsize=(7.0, 5.0))
    coord, clabel = _coordinate(series)
    x = series.axis
    sel = np.ones(x.size, bool) if shift_range is None else (x >= shift_range[0]) & (x <= shift_range[1])
    rows = np.flatnonzero(series.valid)
    if rows.size == 0:
        ax.text(0.5, 0.5, "no valid spectrum", transform=ax.transAxes, ha="center")
        return fig
    order = rows[np.argsort(coord[rows], kind="stable")]
    data = series.corrected[np.ix_(order, np.flatnonzero(sel))]
    if kind == "heatmap":
        c = coord[order]
        lim = np.nanpercentile(data, [1, 99.5])
        mesh = ax.pcolormesh(x[sel], c, data, shading="nearest", cmap="magma",
                             vmin=lim[0], vmax=lim[1])
        fig.colorbar(mesh, ax=ax, label="Intensity - baseline")
        ax.set_ylabel(clabel)
    else:
        pick = order[np.linspace(0, order.size - 1, min(max_lines, order.size)).astype(int)]
        step = np.nanpercentile(series.corrected[np.ix_(pick, np.flatnonzero(sel))], 99) * 0.3
        cmap = series_cmap()
        for k, i in enumerate(pick):
            ax.plot(x[sel], series.corrected[i, sel] + k * step, lw=0.7,
                    color=cmap(k / max(pick.size - 1, 1)))
        ax.set_ylabel(f"Intensity - baseline, offset by {clabel}")
    ax.set_xlabel(SHIFT_LABEL)
    ax.set_title(f"{series.name}: {int(series.valid.sum())} spectra ({kind})", fontsize=10)
    finish(fig, [ax], [series], synthetic=synthetic, own_figure=True)
    _credit(fig, [series.file])
    return fig


def plot_series_bands(series, *, bands=None, normalized: bool | None = None,
                      true_index=None, synthetic: bool | None = None):
    """Band areas (top) and carbonate index with detections and upper limits (bottom)
    against the series coordinate.

    Parameters
    ----------
    series : RamanSeriesResult
    bands : sequence of str, optional
        Bands to show. Default: every band detected at least once.
    normalized : bool, optional
        Show areas normalised to the internal band (default when the series has them).
    true_index : array_like (N,), optional
        A known carbonate index per spectrum (a synthetic series' ground truth), drawn as a
        line beside the recovered one.
    """
    from naheo_spec.plot import new_figure

    fig, (top, bottom) = new_figure(nrows=2, figsize=(7.0, 6.4), sharex=True)
    coord, clabel = _coordinate(series)
    ckey = series.x_coordinate()[0]
    t = series.table
    ok = series.valid
    norm = series.normalized_areas is not None if normalized is None else normalized
    if bands is None:
        bands = [n for j, n in enumerate(t.names) if series.detection.detected[:, j].any()]
    cmap = series_cmap()
    for k, name in enumerate(bands):
        j = t.index(name)
        if norm and series.normalized_areas is not None:
            y, e = series.normalized_areas[:, j], series.normalized_areas_err[:, j]
        else:
            y, e = t.area[:, j], t.area_err[:, j]
        top.errorbar(coord[ok], y[ok], yerr=e[ok], fmt="o-", ms=3, lw=0.8, capsize=1.5,
                     color=cmap(k / max(len(bands) - 1, 1)), label=name)
    top.set_ylabel("Area / internal band" if norm else "Band area (intensity x cm⁻¹)")
    if bands:
        top.legend(fontsize=7, ncol=2)
    det = ok & series.carbonate_detected
    und = ok & ~series.carbonate_detected
    ci, ce = series.carbonate_index, series.carbonate_index_err
    bottom.errorbar(coord[det], ci[det], yerr=ce[det], fmt="o", ms=4, color="tab:red",
                    capsize=2, label="carbonate detected")
    if und.any():
        bottom.plot(coord[und], series.carbonate_upper_limit[und], "v", color="0.4", ms=5,
                    label="upper limit (not detected)")
    if true_index is not None:
        truth = np.asarray(true_index, dtype=float)
        if truth.shape != ci.shape:
            raise ValueError(f"true_index has {truth.size} values for {ci.size} spectra")
        bottom.plot(coord, truth, "-", color="0.2", lw=1.0, label="true index")
    bottom.axhline(0, color="0.7", lw=0.6)
    for key, value in series.first_carbonate.items():
        if value is not None and key == ckey:
            bottom.axvline(value, color="tab:red", ls="--", lw=0.8,
                           label=f"first detection ({value:g})")
    bottom.set_ylabel("Carbonate index (relative)")
    bottom.set_xlabel(clabel)
    bottom.legend(fontsize=7)
    fig.suptitle(f"{series.name}: bands vs {clabel}", fontsize=10)
    finish(fig, [top, bottom], [series], synthetic=synthetic, own_figure=True)
    _credit(fig, [series.file])
    return fig


_MAP_QUANTITIES = {
    "baseline": ("mean baseline (intensity, as read)", lambda s: np.nanmean(s.baselines, axis=1)),
    "intensity": ("mean intensity - baseline", lambda s: np.nanmean(s.corrected, axis=1)),
    "spikes": ("spike points replaced", lambda s: np.asarray(s.spikes_removed, dtype=float)),
    "carbonate_index": ("carbonate index (relative)", lambda s: s.carbonate_index),
    "a1g_eg_ratio": ("A1g/Eg area ratio", lambda s: s.a1g_eg_ratio),
}


def _map_values(series, quantity):
    if not isinstance(quantity, str):
        values = np.asarray(quantity, dtype=float)
        if values.shape != (len(series),):
            raise ValueError(f"map values have shape {values.shape}; the series has "
                             f"{len(series)} spectra")
        return values, "value"
    if quantity in _MAP_QUANTITIES:
        label, get = _MAP_QUANTITIES[quantity]
        return np.asarray(get(series), dtype=float), label
    names = list(series.table.names)
    if quantity in names:
        return series.table.area[:, names.index(quantity)], f"{quantity} area"
    raise ValueError(f"unknown map quantity {quantity!r}: use one of "
                     f"{sorted(_MAP_QUANTITIES)}, a band name ({', '.join(names)}) or an array")


def plot_map_image(series, quantity="intensity", *, label: str | None = None,
                   cmap: str = "viridis", synthetic: bool | None = None):
    """One value per spectrum of a map drawn as an image on its x/y stage coordinates.

    Parameters
    ----------
    series : RamanSeriesResult
        A series with ``x`` and ``y`` coordinates (a map read from LabSpec, WiRE or
        RamanLab files).
    quantity : str or array_like (N,)
        ``"intensity"`` (mean baseline-corrected intensity, default), ``"baseline"``
        (mean baseline: fluorescence), ``"spikes"`` (points replaced), ``"carbonate_index"``,
        ``"a1g_eg_ratio"``, a band name of the preset (its area), or one value per spectrum.
    label : str, optional
        Colour-bar label (default: from ``quantity``).
    cmap : str
        Matplotlib colour map. Default ``"viridis"``.

    Returns
    -------
    Figure
        Masked (invalid) spectra and positions without a spectrum are left blank.
    """
    from naheo_spec.plot import new_figure

    if not {"x", "y"} <= set(series.coordinates):
        raise ValueError(f"{series.name}: a map needs x and y coordinates; the series has "
                         f"{sorted(series.coordinates) or 'none'}")
    values, default_label = _map_values(series, quantity)
    values = np.where(series.valid, values, np.nan)
    x = np.asarray(series.coordinates["x"], dtype=float)
    y = np.asarray(series.coordinates["y"], dtype=float)
    xs, xi = np.unique(x, return_inverse=True)
    ys, yi = np.unique(y, return_inverse=True)
    image = np.full((ys.size, xs.size), np.nan)
    image[yi, xi] = values
    fig, ax = new_figure(figsize=(5.0, 5.6))
    mesh = ax.pcolormesh(xs, ys, image, shading="nearest", cmap=cmap)
    fig.colorbar(mesh, ax=ax, label=label or default_label)
    unit = series.coordinate_units.get("x", "")
    ax.set_xlabel("x" + (f" ({unit})" if unit else ""))
    ax.set_ylabel("y" + (f" ({series.coordinate_units.get('y', '')})"
                         if series.coordinate_units.get("y") else ""))
    span_x, span_y = np.ptp(xs) or 1.0, np.ptp(ys) or 1.0
    if 1 / 4 <= span_y / span_x <= 4:              # a strip map stays readable when stretched
        ax.set_aspect("equal", adjustable="box")
    ax.set_title(series.name, fontsize=10)
    finish(fig, [ax], [series], synthetic=synthetic, own_figure=True)
    _credit(fig, [series.file])
    return fig


def figure_names(result) -> str:
    """A file-name stem for a result's figures."""
    stem = Path(result.file or "spectrum").stem
    return f"{stem}_{result.index}"
