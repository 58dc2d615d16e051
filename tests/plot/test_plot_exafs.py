"""EXAFS plots built from real results.

feo_rt1.xdi (FeO, APS 20-BM) through analyze_exafs, then a two-shell fit with larch's
published FEFF paths for FeO (feff_feo01 Fe-O, feff_feo02 Fe-Fe). The tests check that the
drawn curves are the result's arrays (k^w chi, the FT window, |chi(R)|/Re/Im, model and
paths), that FT peaks are marked at their apparent R and labelled as such, that axes carry
units, that files are written, and that fitted distances along a series are plotted with
their error bars.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import LARCH

from naheo_spec.errors import InputError
from naheo_spec.io import read_spectrum
from naheo_spec.plot import new_figure, save_figure
from naheo_spec.plot import style as st
from naheo_spec.plot.exafs import (plot_chik, plot_chir, plot_distances_vs_scan,
                                   plot_shell_fit)

FEO_DIR = "feff_paths_FeO"


@pytest.fixture(scope="module")
def feo(xas_data):
    from naheo_spec.xas.exafs import analyze_exafs

    return analyze_exafs(read_spectrum(xas_data / LARCH / "feo_rt1.xdi"))


@pytest.fixture(scope="module")
def feo_fits(xas_data, feo):
    """Two fits of the same chi(k) over k 3-12 and 3-11 A^-1: a two-point 'series'."""
    from naheo_spec.xas.shellfit import fit_shells

    paths = [xas_data / LARCH / FEO_DIR / f"feff_feo0{i}.dat" for i in (1, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [fit_shells(feo.k_invA, feo.chi, paths, kmin=3.0, kmax=kmax, kweight=2,
                           vary_n=False, s02=0.7) for kmax in (12.0, 11.0)]


def by_gid(ax, gid):
    hits = [a for a in ax.get_children() if a.get_gid() == gid]
    assert hits, f"nothing with gid {gid!r}; have {sorted({str(a.get_gid()) for a in ax.get_children()})}"
    return hits[0]


def has_gid(ax, gid):
    return any(a.get_gid() == gid for a in ax.get_children())


def save_both(fig, tmp_path, stem):
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF")):
        data = save_figure(fig, tmp_path / f"{stem}{suffix}").read_bytes()
        assert len(data) > 5000 and data.startswith(magic)


# --------------------------------------------------------------------------- chi(k)
def test_chik_with_window(feo, tmp_path):
    fig = plot_chik(feo)
    ax = fig.axes[0]
    k, y = by_gid(ax, "chik").get_data()
    np.testing.assert_allclose(y, feo.chi * feo.k_invA ** 2)
    win = by_gid(ax, "ft-window").get_ydata()
    inside = feo.kwin > 0.01
    # window drawn to the scale of the data inside it, flat top = 1 between the sills
    assert win.max() == pytest.approx(np.abs(y[inside]).max())
    assert np.all(win[(k > feo.ft_kmin_invA + 1.0) & (k < feo.ft_kmax_invA - 1.0)]
                  == pytest.approx(win.max()))
    assert win[k < feo.ft_kmin_invA - 1.0].max() == 0.0
    assert ax.get_xlabel() == "k (Å⁻¹)" and "(Å⁻²)" in ax.get_ylabel()
    assert "feo_rt1.xdi" in ax.get_title()
    save_both(fig, tmp_path, "chik")
    fig3 = plot_chik(feo, kweight=3, show_window=False)
    np.testing.assert_allclose(by_gid(fig3.axes[0], "chik").get_ydata(), feo.chi * feo.k_invA ** 3)
    assert "(Å⁻³)" in fig3.axes[0].get_ylabel() and not has_gid(fig3.axes[0], "ft-window")
    with pytest.raises(InputError, match="kweight=1.5"):
        plot_chik(feo, kweight=1.5)


# --------------------------------------------------------------------------- chi(R)
def test_chir_parts_and_apparent_peaks(feo, tmp_path):
    fig = plot_chir(feo)
    ax = fig.axes[0]
    np.testing.assert_allclose(by_gid(ax, "data-mag").get_ydata(), np.abs(feo.chir))
    np.testing.assert_allclose(by_gid(ax, "data-re").get_ydata(), feo.chir.real)
    np.testing.assert_allclose(by_gid(ax, "data-im").get_ydata(), feo.chir.imag)
    for label in ("TM-O", "TM-TM"):
        peak = feo.peak(label)
        x, y = by_gid(ax, f"ft-peak-{label}").get_data()
        assert x[0] == pytest.approx(peak.r_apparent_A)
        # the marker sits on the plotted |chi(R)| curve
        assert np.interp(x[0], feo.r_A, np.abs(feo.chir)) == pytest.approx(y[0], rel=0.02)
        assert "apparent" in by_gid(ax, f"ft-peak-label-{label}").get_text()
    assert "not phase-corrected" in ax.get_xlabel() and "(Å)" in ax.get_xlabel()
    assert "(Å⁻³)" in ax.get_ylabel()
    assert not has_gid(ax, "fit-mag")            # no shell fit on this result
    save_both(fig, tmp_path, "chir")
    only = plot_chir(feo, parts=("mag",)).axes[0]
    assert not has_gid(only, "data-re") and only.get_ylabel().startswith("|χ(R)|")
    with pytest.raises(InputError, match="parts='phase'"):
        plot_chir(feo, parts=("mag", "phase"))


def test_chir_with_shell_fit(feo, feo_fits, tmp_path):
    fit = feo_fits[0]
    with_fit = feo.with_shell_fit(fit)
    ax = plot_chir(with_fit).axes[0]
    np.testing.assert_allclose(by_gid(ax, "fit-mag").get_ydata(), fit.chir_mag_model)
    assert not has_gid(ax, "fit-data-mag")       # same FT as the result: one data curve
    rng = by_gid(ax, "fit-range")
    assert (rng.get_x(), rng.get_x() + rng.get_width()) == pytest.approx((1.0, 3.2))
    # physics: FT peaks are apparent distances, short of the fitted (phase-corrected) ones
    r_fit = {p.label: p.r_A for p in fit.paths}
    assert 0.2 < r_fit["Fe-O"] - feo.peak("TM-O").r_apparent_A < 0.7
    assert 0.2 < r_fit["Fe-Fe"] - feo.peak("TM-TM").r_apparent_A < 0.7
    box = [t.get_text() for t in ax.texts if "phase-corrected" in t.get_text()][0]
    assert f"{r_fit['Fe-O']:.3f}" in box and f"{r_fit['Fe-Fe']:.3f}" in box
    # a fit made with another k range is not comparable with the result's FT: its own
    # data transform is drawn next to the model
    ax2 = plot_chir(feo, fit=feo_fits[1]).axes[0]
    np.testing.assert_allclose(by_gid(ax2, "fit-data-mag").get_ydata(),
                               np.abs(feo_fits[1].chir_re_data + 1j * feo_fits[1].chir_im_data))


# --------------------------------------------------------------------------- shell fit
def test_shell_fit_panels(feo, feo_fits, tmp_path):
    fit = feo_fits[0]
    # FeO crystallography 2.139 / 3.025 A; this quick fit (vary_n=False) within 0.06 A
    assert fit.path("Fe-O").r_A == pytest.approx(2.139, abs=0.06)
    assert fit.path("Fe-Fe").r_A == pytest.approx(3.025, abs=0.06)
    fig = plot_shell_fit(feo.with_shell_fit(fit))
    r_ax, k_ax = fig.axes
    assert len(fig.axes) == 2
    np.testing.assert_allclose(by_gid(r_ax, "model-mag").get_ydata(), fit.chir_mag_model)
    np.testing.assert_allclose(by_gid(r_ax, "data-mag").get_ydata(), fit.chir_mag_data)
    kw = fit.k_invA ** fit.kweight
    np.testing.assert_allclose(by_gid(k_ax, "model-k").get_ydata(), fit.chi_model * kw)
    np.testing.assert_allclose(by_gid(k_ax, "data-k").get_ydata(), fit.chi_data * kw)
    for p in fit.paths:
        np.testing.assert_allclose(by_gid(r_ax, f"path-r-{p.label}").get_ydata(),
                                   fit.path_chir_mag[p.label])
        assert has_gid(k_ax, f"path-k-{p.label}")
    assert "(Å)" in r_ax.get_xlabel() and "(Å⁻¹)" in k_ax.get_xlabel()
    title = r_ax.get_title(loc="left")
    assert "feo_rt1.xdi" in title and "R-factor" in title
    save_both(fig, tmp_path, "shellfit")
    fig, axes = new_figure(ncols=2)
    assert plot_shell_fit(fit, ax=axes, show_paths=False) is fig
    assert not has_gid(axes[0], "path-r-Fe-O")
    with pytest.raises(InputError, match="ShellFitResult"):
        plot_shell_fit(feo)                      # no fit attached


# --------------------------------------------------------------------------- series
def test_distances_vs_scan(feo, feo_fits, tmp_path):
    from naheo_spec.xas.shellfit import distances_table

    fig = plot_distances_vs_scan(feo_fits)
    axes = fig.axes
    assert len(axes) == 2
    for ax, label in zip(axes, ("Fe-O", "Fe-Fe")):
        cont = ax.containers[0]
        np.testing.assert_allclose(cont.lines[0].get_ydata(),
                                   [f.path(label).r_A for f in feo_fits])
        bars = cont.lines[2][0].get_segments()
        # default: the series (noise-only) error, what changes between scans of one series
        np.testing.assert_allclose([np.ptp(b[:, 1]) / 2 for b in bars],
                                   [f.r_uncertainty[label]["series"] for f in feo_fits])
        assert ax.get_ylabel() == f"{label} R (Å), ± series"
    ax = plot_distances_vs_scan(feo_fits, errors="feffit").axes[0]
    bars = ax.containers[0].lines[2][0].get_segments()
    np.testing.assert_allclose([np.ptp(b[:, 1]) / 2 for b in bars],
                               [f.path("Fe-O").r_err_A for f in feo_fits])
    save_both(fig, tmp_path, "distances")
    # the distances_table rows give the same plot; state of charge from the rows
    rows = distances_table(feo_fits)
    for row, soc in zip(rows, (0.2, 0.8)):
        row["state_of_charge"] = soc
    ax = plot_distances_vs_scan(rows, x="state_of_charge", labels=["Fe-Fe"]).axes[0]
    np.testing.assert_allclose(ax.containers[0].lines[0].get_xdata(), [0.2, 0.8])
    np.testing.assert_allclose(ax.containers[0].lines[0].get_ydata(),
                               [f.path("Fe-Fe").r_A for f in feo_fits])
    # EXAFS results without fits: apparent FT peaks, labelled as such, no error bars
    fig = plot_distances_vs_scan([feo, feo])
    assert "apparent" in fig.axes[0].get_ylabel()
    assert "not phase-corrected" in fig.axes[0].get_title()
    assert not fig.axes[0].containers[0].has_yerr
    with pytest.raises(InputError, match="has no shell fit"):
        plot_distances_vs_scan([feo], source="fit")
    with pytest.raises(InputError, match="soc"):
        plot_distances_vs_scan(feo_fits, x="state_of_charge")


def test_synthetic_flag_on_exafs_plots(feo):
    fig = plot_chir(feo, synthetic=True)
    texts = [t.get_text() for t in fig.texts]
    assert st.SYNTHETIC_TEXT in texts
    assert fig.axes[0].get_title().startswith("[SYNTHETIC]")
    assert st.SYNTHETIC_TEXT not in [t.get_text() for t in plot_chik(feo).texts]


def test_distance_plot_names_scans_and_keeps_an_outlier_off_scale(feo_fits):
    """Group names under the points (not 0.0, 0.5, 1.0...), and one failed fit 0.4 A off
    does not squash the others: it is drawn at the edge with its value."""
    from naheo_spec.xas.shellfit import distances_table

    rows = distances_table(feo_fits * 3, names=[f"NiO.{i:03d}" for i in range(6)])
    rows[4]["Fe-O_r_A"] = rows[4]["Fe-O_r_A"] + 0.4
    fig = plot_distances_vs_scan(rows, labels=["Fe-O"], errors="total")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"NiO.{i:03d}" for i in range(6)]
    assert ax.get_xlabel() == "Scan" and ax.get_ylabel().endswith("± total")
    lo, hi = ax.get_ylim()
    good = [r["Fe-O_r_A"] for i, r in enumerate(rows) if i != 4]
    assert lo < min(good) and max(good) < hi < rows[4]["Fe-O_r_A"]
    assert hi - lo < 0.2                                  # not stretched to the outlier
    assert has_gid(ax, "distance-Fe-O-outlier")
    assert any("off scale" in t.get_text() for t in ax.texts)


def test_titles_round_the_k_range(xas_data):
    """CERIC MnO stops at the Fe step: FT kmax 11.58... A^-1 is shown as 11.6."""
    from naheo_spec.xas.exafs import analyze_exafs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze_exafs(read_spectrum(xas_data / "amecchina__CERIC-Reference-Spectra-Repository"
                                          / "MnO.xdi"))
    assert f"{res.ft_kmax_invA:g}" not in ("11.6", "12")
    assert "k 3.0–11.6 Å⁻¹" in plot_chir(res).axes[0].get_title()
    assert "3.0–11.6 Å⁻¹" in by_gid(plot_chik(res).axes[0], "ft-window").get_label()
