"""XANES plots built from real results.

Standards: CERIC (ESRF BM08) FeO_311, Fe3O4_311, Fe2O3_311_EXAFS, analysed with
analyze_xanes and fitted into a valence line (build_calibration). Samples placed on it:
XDL Fe3O4_rt_01 (APS 13-BM-D, calibrated with its same-day Fe foil scan) and larch
feo_rt1 (APS 20-BM, raw energy scale). The tests check that what is drawn is the result
(E0 marker at result.e0_eV, fit ranges where the normalization put them, the line and its
band from the covariance, samples at their predicted valence), that the axes carry units,
that PNG/PDF files are written and never overwritten silently, and the SYNTHETIC label.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import CERIC, LARCH, XDL

from naheo_spec.errors import InputError, StoreError
from naheo_spec.io import read_spectrum
from naheo_spec.plot import new_figure, save_figure
from naheo_spec.plot import style as st
from naheo_spec.plot.xanes import (plot_calibration, plot_edge_vs_scan, plot_normalization,
                                   plot_stack)

STANDARDS = (("FeO_311.xdi", 2.0), ("Fe3O4_311.xdi", 8.0 / 3.0), ("Fe2O3_311_EXAFS.xdi", 3.0))


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # foil/no-foil quality notes are tested elsewhere
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def fe_cal(xas_data):
    from naheo_spec.xas.standards import build_calibration

    pairs = [(read_spectrum(xas_data / CERIC / f), v) for f, v in STANDARDS]
    return _quiet(build_calibration, pairs)


@pytest.fixture(scope="module")
def fe_series(xas_data, fe_cal):
    """The three CERIC standards analysed with the calibration (oxidation states filled)."""
    from naheo_spec.xas.xanes import analyze_xanes

    return [_quiet(analyze_xanes, xas_data / CERIC / f, calibration=fe_cal) for f, _ in STANDARDS]


@pytest.fixture(scope="module")
def fe_samples(xas_data, fe_cal):
    from naheo_spec.xas.xanes import analyze_xanes

    magnetite = _quiet(analyze_xanes, xas_data / XDL / "Fe3O4_rt_01.xdi",
                       foil=xas_data / XDL / "Fe_metal_rt_01.xdi", calibration=fe_cal)
    wuestite = _quiet(analyze_xanes, xas_data / LARCH / "feo_rt1.xdi", calibration=fe_cal)
    return magnetite, wuestite


def by_gid(ax, gid):
    hits = [a for a in ax.get_children() if a.get_gid() == gid]
    assert hits, f"nothing with gid {gid!r} in {ax}"
    return hits[0]


def span_x(patch):
    """Data-x extent of an axvspan (a Rectangle in matplotlib >= 3.9, a Polygon before)."""
    if hasattr(patch, "get_width"):
        return patch.get_x(), patch.get_x() + patch.get_width()
    xs = patch.get_xy()[:, 0]
    return xs.min(), xs.max()


def save_both(fig, tmp_path, stem):
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF")):
        path = save_figure(fig, tmp_path / f"{stem}{suffix}")
        data = path.read_bytes()
        assert len(data) > 5000 and data.startswith(magic), path


# --------------------------------------------------------------------------- normalization
def test_normalization_plot_shows_the_result(fe_series, tmp_path):
    res = fe_series[0]                           # FeO_311, half-height E0
    norm = res.normalization
    fig = plot_normalization(res)
    raw, zoom = fig.axes
    assert len(fig.axes) == 2
    for ax in (raw, zoom):
        marker = by_gid(ax, "e0-marker")
        assert marker.get_xdata()[0] == pytest.approx(res.e0_eV, abs=1e-9)
        assert "(eV)" in ax.get_xlabel()
    # the half-height E0 is where the plotted normalized curve crosses 0.5
    e, y = by_gid(zoom, "norm").get_data()
    assert np.interp(res.e0_eV, e, y) == pytest.approx(0.5, abs=0.02)
    # fit ranges shaded where the normalization put them (relative to its own E0)
    assert span_x(by_gid(raw, "norm-range")) == pytest.approx(
        (norm.e0_eV + norm.norm_range_eV[0], norm.e0_eV + norm.norm_range_eV[1]))
    assert span_x(by_gid(raw, "pre-range")) == pytest.approx(
        (norm.e0_eV + norm.pre_range_eV[0], norm.e0_eV + norm.pre_range_eV[1]))
    # the curves drawn are the result's arrays: mu, pre-edge line, post-edge curve
    np.testing.assert_array_equal(by_gid(raw, "mu").get_ydata(), norm.mu)
    np.testing.assert_array_equal(by_gid(raw, "pre-edge").get_ydata(), norm.pre_edge)
    np.testing.assert_array_equal(by_gid(raw, "post-edge").get_ydata(), norm.post_edge)
    assert "FeO_311.xdi" in raw.get_title()
    assert "(edge-step units)" in zoom.get_ylabel()
    save_both(fig, tmp_path, "norm")


def test_normalization_into_caller_axes(fe_series):
    fig, ax = new_figure()
    out = plot_normalization(fe_series[1].normalization, ax=ax)
    assert out is fig and len(fig.axes) == 1
    # a bare Normalization marks the E0 its fit ranges refer to
    assert by_gid(ax, "e0-marker").get_xdata()[0] == pytest.approx(
        fe_series[1].normalization.e0_eV)
    with pytest.raises(InputError, match="expected a XanesResult or Normalization"):
        plot_normalization(np.zeros(3))


def test_save_figure_refuses_to_overwrite(fe_series, tmp_path):
    fig, ax = new_figure()
    ax.plot(fe_series[0].energy, fe_series[0].norm)
    path = save_figure(fig, tmp_path / "n.png")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="exists"):
        save_figure(fig, path)
    assert path.read_bytes() == before
    save_figure(fig, path, overwrite=True)
    assert path.stat().st_size > 0


# --------------------------------------------------------------------------- stack
def test_stack_colours_scans_and_orders_edges(fe_series, tmp_path):
    fig = plot_stack(fe_series, offset=0.2)
    ax, cbar = fig.axes
    assert len(fig.axes) == 2 and cbar.get_ylabel() == "Scan index"
    lines = [by_gid(ax, f"spectrum-{i}") for i in range(3)]
    colours = [tuple(ln.get_color()) for ln in lines]
    assert len(set(colours)) == 3
    for i, (ln, res) in enumerate(zip(lines, fe_series)):
        np.testing.assert_allclose(ln.get_ydata(), res.normalization.norm + 0.2 * i)
    # physics visible on the plot: the edge moves up FeO < Fe3O4 < Fe2O3 (half-height,
    # measured 7118.8 / 7122.2 / 7124.4 eV in shared/notes/xas.md)
    half = [np.interp(0.5, res.normalization.norm[(res.energy > res.e0_eV - 15)
                                                 & (res.energy < res.e0_eV + 3)],
                      res.energy[(res.energy > res.e0_eV - 15) & (res.energy < res.e0_eV + 3)])
            for res in fe_series]
    assert half[0] < half[1] < half[2]
    assert np.ptp(half) == pytest.approx(7124.38 - 7118.81, abs=0.6)
    lo, hi = ax.get_xlim()
    assert lo < min(r.e0_eV for r in fe_series) and hi > max(r.e0_eV for r in fe_series)
    assert "(eV)" in ax.get_xlabel() and "offset" in ax.get_ylabel()
    save_both(fig, tmp_path, "stack")


def test_stack_by_state_of_charge(fe_series):
    with pytest.raises(InputError, match="state_of_charge.*soc="):
        plot_stack(fe_series, color_by="state_of_charge")
    with pytest.raises(InputError, match="soc has 2 values for 3 results"):
        plot_stack(fe_series, color_by="state_of_charge", soc=[0, 1])
    with pytest.raises(InputError, match="color_by='valence'"):
        plot_stack(fe_series, color_by="valence")
    fig = plot_stack(fe_series, color_by="state_of_charge", soc=[0.0, 0.5, 1.0], signal="flat")
    assert fig.axes[1].get_ylabel() == "State of charge"
    np.testing.assert_allclose(by_gid(fig.axes[0], "spectrum-2").get_ydata(),
                               fe_series[2].normalization.flat)


# --------------------------------------------------------------------------- calibration
def test_calibration_line_band_and_samples(fe_cal, fe_samples, tmp_path):
    magnetite, wuestite = fe_samples
    # real-data physics: independent samples land near their formal valence
    assert magnetite.oxidation_state == pytest.approx(8 / 3, abs=0.15)
    assert wuestite.oxidation_state == pytest.approx(2.0, abs=0.2)
    assert fe_cal.slope_eV == pytest.approx(5.5, abs=0.5)    # notes: 5.5 eV/unit
    fig = plot_calibration(fe_cal, samples=fe_samples)
    ax = fig.axes[0]
    line = by_gid(ax, "calibration-line")
    v, e = line.get_data()
    np.testing.assert_allclose(e, fe_cal.intercept_eV + fe_cal.slope_eV * v)
    # band half-width at a valence = 1-sigma of the line from the covariance
    band = by_gid(ax, "line-band").get_paths()[0].vertices
    (vaa, vab), (_, vbb) = fe_cal.covariance
    at = np.abs(band[:, 0] - 2.5) < 0.01
    dist = np.abs(band[at, 1] - fe_cal.line(band[at, 0]))
    sigma = np.sqrt(vaa + band[at, 0] ** 2 * vbb + 2 * band[at, 0] * vab)
    np.testing.assert_allclose(dist, sigma, rtol=1e-6)
    std, smp = ax.containers
    np.testing.assert_allclose(std.lines[0].get_xdata(), [p.valence for p in fe_cal.points])
    np.testing.assert_allclose(std.lines[0].get_ydata(), [p.e0_eV for p in fe_cal.points])
    np.testing.assert_allclose(smp.lines[0].get_xdata(),
                               [s.oxidation_state for s in fe_samples])
    np.testing.assert_allclose(smp.lines[0].get_ydata(), [s.e0_eV for s in fe_samples])
    assert smp.has_xerr and smp.has_yerr
    xerr = smp.lines[2][0].get_segments()   # horizontal bars: x = ox ± err
    assert np.ptp(xerr[0][:, 0]) == pytest.approx(2 * magnetite.oxidation_state_err)
    assert "(eV)" in ax.get_ylabel() and "oxidation state" in ax.get_xlabel()
    save_both(fig, tmp_path, "calibration")


def test_calibration_predicts_samples_without_oxidation_state(fe_cal, fe_series):
    from naheo_spec.xas.xanes import analyze_xanes

    bare = _quiet(analyze_xanes, fe_series[1].file)        # no calibration: no valence
    assert bare.oxidation_state is None
    ax = plot_calibration(fe_cal, samples=[bare]).axes[0]
    x = ax.containers[1].lines[0].get_xdata()[0]
    assert x == pytest.approx(_quiet(fe_cal.predict, bare.e0_eV, bare.e0_err_eV).valence)
    with pytest.raises(InputError, match="ValenceCalibration"):
        plot_calibration(fe_series[0])


# --------------------------------------------------------------------------- series
def test_edge_and_valence_vs_scan(fe_series, tmp_path):
    fig = plot_edge_vs_scan(fe_series)
    ax, twin = fig.axes
    e0 = by_gid(ax, "e0-series")
    np.testing.assert_allclose(e0.get_xdata(), [0, 1, 2])
    np.testing.assert_allclose(e0.get_ydata(), [r.e0_eV for r in fe_series])
    ox = by_gid(twin, "ox-series")
    np.testing.assert_allclose(ox.get_ydata(), [r.oxidation_state for r in fe_series])
    # the standards recover their own formal valences through the line (rms 0.13 eV)
    np.testing.assert_allclose(ox.get_ydata(), [v for _, v in STANDARDS], atol=0.1)
    assert "(eV)" in ax.get_ylabel() and "half-height" in ax.get_ylabel()
    assert "valence units" in twin.get_ylabel()
    save_both(fig, tmp_path, "edge")
    fig = plot_edge_vs_scan(fe_series, x="state_of_charge", soc=[10.0, 40.0, 90.0])
    np.testing.assert_allclose(by_gid(fig.axes[0], "e0-series").get_xdata(), [10, 40, 90])
    assert fig.axes[0].get_xlabel() == "State of charge"


def test_edge_vs_scan_without_calibration_has_one_axis(fe_samples):
    from dataclasses import replace

    plain = [replace(s, oxidation_state=None, oxidation_state_err=None) for s in fe_samples]
    assert len(plot_edge_vs_scan(plain).axes) == 1
    with pytest.raises(InputError, match="holds no analysed spectrum"):
        plot_edge_vs_scan([])


# --------------------------------------------------------------------------- synthetic label
def _texts(fig):
    return [t.get_text() for t in fig.texts] + [t.get_text() for ax in fig.axes
                                                  for t in ax.texts]


def test_synthetic_label(fe_series):
    from types import SimpleNamespace

    real = plot_normalization(fe_series[0])
    assert st.SYNTHETIC_TEXT not in _texts(real)
    assert any("LISA XAS Repository" in t for t in _texts(real))   # CC BY 4.0 credit
    forced = plot_stack(fe_series, synthetic=True)
    assert st.SYNTHETIC_TEXT in _texts(forced)
    assert forced.axes[0].get_title().startswith("[SYNTHETIC]")
    # metadata-driven: a result whose metadata says synthetic is labelled automatically
    r = fe_series[0]
    fake = SimpleNamespace(normalization=r.normalization, e0_eV=r.e0_eV, e0_method=r.e0_method,
                           file="demo_ni.xdi", scan=None, metadata={"synthetic": True})
    fig = plot_normalization(fake)
    assert st.SYNTHETIC_TEXT in _texts(fig) and "SYNTHETIC" in _texts(fig)
    assert fig.axes[0].get_title().startswith("[SYNTHETIC] demo_ni.xdi")


def test_calibration_without_line(fe_cal, fe_samples):
    from naheo_spec.errors import CalibrationError
    from naheo_spec.xas.valence import fit_calibration

    feo = fe_cal.points[0]
    single = _quiet(fit_calibration, [2.0], [feo.e0_eV], [feo.e0_err_eV], names=[feo.name])
    ax = plot_calibration(single).axes[0]
    assert "no line" in ax.get_title() and not any(
        a.get_gid() == "calibration-line" for a in ax.get_children())
    with pytest.raises(CalibrationError, match="no line"):
        plot_calibration(single, samples=fe_samples)


# --------------------------------------------------------------------------- readability
def test_standard_labels_do_not_overlap():
    """The Mn line has three MnO2 and three MnO/Mn2O3 near one another (issue 10.5)."""
    from naheo_spec.xas.builtin import builtin_calibration

    cal = builtin_calibration("mn")
    fig = plot_calibration(cal)
    ax = fig.axes[0]
    labels = [a for a in ax.get_children() if a.get_gid() == "standard-label"]
    assert len(labels) == len(cal.points)
    fig.draw_without_rendering()
    from matplotlib.text import Text

    boxes = [Text.get_window_extent(a) for a in labels]          # the text, not its leader
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (labels[i].get_text(), labels[j].get_text())


def test_scan_axes_show_names_or_whole_numbers(fe_series):
    # few scans: their own names on the axis
    fig = plot_edge_vs_scan(fe_series)
    ax = fig.axes[0]
    fig.draw_without_rendering()
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == [r.name for r in fe_series] or all(n for n in names)
    assert not any(n.replace(".", "").isdigit() and "." in n for n in names)
    # many scans: integer ticks only, never "2.5"
    many = [fe_series[i % 3] for i in range(30)]
    fig = plot_edge_vs_scan(many)
    ax = fig.axes[0]
    fig.draw_without_rendering()
    ticks = ax.get_xticks()
    assert np.allclose(ticks, np.round(ticks))


def test_one_outlier_does_not_squash_the_series(fe_series):
    from dataclasses import replace

    series = [fe_series[i % 3] for i in range(15)]
    bad = replace(series[7], e0_eV=series[7].e0_eV + 400.0)       # a broken scan
    series[7] = bad
    fig = plot_edge_vs_scan(series)
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    good = [r.e0_eV for i, r in enumerate(series) if i != 7]
    assert hi - lo < 20.0 and lo < min(good) and hi > max(good)
    assert any(a.get_gid() == "outlier" for a in ax.get_children())
    # the stack plot: one spectrum with a huge glitch does not set the y range
    from naheo_spec.xas.normalize import Normalization

    norm = bad.normalization
    at = int(np.argmin(np.abs(norm.energy - fe_series[1].e0_eV)))      # inside the window
    spiked = replace(norm, norm=np.where(np.arange(norm.norm.size) == at, 80.0, norm.norm))
    fig = plot_stack([fe_series[0], fe_series[1], replace(bad, normalization=spiked)])
    assert fig.axes[0].get_ylim()[1] < 5.0
    assert "off the axis" in fig.axes[0].get_title()
