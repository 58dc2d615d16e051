"""XPS plots: a fitted region (data, background, components, envelope, residual; binding
energy decreasing to the right) and valence fractions along a series of samples.

matplotlib is imported inside the functions; figures are made without pyplot.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from naheo_spec.errors import InputError
from naheo_spec.plot import style as st

BE_LABEL = "Binding energy (eV)"


def plot_fit(result, *, ax=None):
    """Data, background, components (on the background), envelope and residual of an
    :class:`~naheo_spec.xps.pipeline.XpsResult`; binding energy decreases to the right.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fit = getattr(result, "fit", None)
    if fit is None:
        raise InputError(f"expected an XpsResult, got {type(result).__name__}")
    own = ax is None
    if own:
        from naheo_spec.plot import new_figure

        fig, (ax, axr) = new_figure(nrows=2, figsize=(6.4, 5.2), sharex=True,
                                    gridspec_kw={"height_ratios": [4, 1]})
    else:
        fig, axr = st.root_figure(ax), None
    x = fit.energy_eV
    ax.plot(x, fit.data, ".", color="black", ms=2.5, label="data", gid="data")
    ax.plot(x, fit.background, color="tab:gray", lw=1.0, label=f"{fit.background_kind} background",
            gid="background")
    cmap = st.series_cmap()
    groups = {}
    for i, c in enumerate(fit.model.components):
        key = c.state or c.group or c.name
        groups.setdefault(key, []).append(i)
    for k, (key, idx) in enumerate(groups.items()):
        color = cmap(k / max(len(groups) - 1, 1))
        for j, i in enumerate(idx):
            ax.plot(x, fit.components[i] + fit.background, color=color, lw=0.8,
                    label=key if j == 0 else None, gid=f"component-{i}")
    ax.plot(x, fit.envelope, color="crimson", lw=1.2, label="envelope", gid="envelope")
    unit = "counts"
    ax.set_ylabel(f"Intensity ({unit})")
    title = getattr(result, "name", "")
    v = getattr(result, "valence", None)
    if v:
        title += "\n" + ", ".join(f"{s} {f:.2f}±{v.fractions_err[s]:.2f}"
                                  for s, f in v.fractions.items())
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    if axr is not None:
        axr.plot(x, fit.residual, color="black", lw=0.8, gid="residual")
        axr.axhline(0.0, color="tab:gray", lw=0.5)
        axr.set_ylabel("Residual")
        axr.set_xlabel(BE_LABEL)
    else:
        ax.set_xlabel(BE_LABEL)
    st.finish(fig, [ax], [result], synthetic=None, own_figure=own)
    return fig


def plot_fraction_series(results: Sequence, *, labels=None, ax=None):
    """Valence fractions (with error bars) of several results, one x position per sample.

    Returns
    -------
    matplotlib.figure.Figure
    """
    res = [r for r in results if getattr(r, "valence", None)]
    if not res:
        raise InputError("no result with valence fractions to plot")
    own = ax is None
    if own:
        from naheo_spec.plot import new_figure

        fig, ax = new_figure(figsize=(6.4, 4.0))
    else:
        fig = st.root_figure(ax)
    states = list(dict.fromkeys(s for r in res for s in r.valence.fractions))
    pos = np.arange(len(res))
    labels = list(labels) if labels is not None else [getattr(r, "block", None) or str(i)
                                                      for i, r in enumerate(res)]
    cmap = st.series_cmap()
    for k, s in enumerate(states):
        f = [r.valence.fractions.get(s, np.nan) for r in res]
        e = [r.valence.fractions_err.get(s, np.nan) for r in res]
        ax.errorbar(pos, f, yerr=e, marker="o", capsize=3, color=cmap(k / max(len(states) - 1, 1)),
                    label=s, gid=f"fraction-{s}")
    ax.set_xticks(pos, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Area fraction (surface, dimensionless)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    st.finish(fig, [ax], res, synthetic=None, own_figure=own)
    return fig
