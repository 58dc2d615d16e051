"""Raman figures: each function returns a Figure with the expected panels and saves it."""
from __future__ import annotations

import pytest

from naheo_spec.io import read_spectrum
from naheo_spec.raman.pipeline import analyze_raman

from raman.conftest import ANATASE, D1_PRESET, LABSPEC, quiet

pytest.importorskip("matplotlib")


def test_single_spectrum_figures(raman_data, tmp_path):
    from naheo_spec.plot import save_figure
    from naheo_spec.plot.raman import plot_baseline, plot_fit

    r = quiet(analyze_raman, quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt",
                                   technique="raman"), preset=D1_PRESET)
    fig = plot_baseline(r)
    assert [ln.get_label() for ln in fig.axes[0].lines] == ["spectrum", "baseline"]
    fit = plot_fit(r)
    assert len(fit.axes) == 4                          # 2 windows x (fit, residual)
    labels = {t.get_text() for ax in fit.axes for t in (ax.get_legend().get_texts()
                                                          if ax.get_legend() else [])}
    assert {"fit", "carbonate_1072", "band_624"} <= labels
    for f, name in ((fig, "b.png"), (fit, "f.png")):
        assert save_figure(f, tmp_path / name).stat().st_size > 5000


def test_series_figures(d1_series, tmp_path):
    from naheo_spec.plot import save_figure
    from naheo_spec.plot.raman import plot_series_bands, plot_series_map

    _, sr = d1_series
    heat = plot_series_map(sr)
    assert heat.axes[0].get_ylabel() == "time (s)"
    water = plot_series_map(sr, kind="waterfall", max_lines=20)
    assert len(water.axes[0].lines) == 20
    bands = plot_series_bands(sr)
    top, bottom = bands.axes[:2]
    assert bottom.get_ylabel() == "Carbonate index (relative)"
    assert any("first detection" in t.get_text() for t in bottom.get_legend().get_texts())
    for f, name in ((heat, "h.png"), (water, "w.png"), (bands, "s.png")):
        assert save_figure(f, tmp_path / name).stat().st_size > 5000


def test_rruff_figures_carry_the_credit(raman_data):
    from naheo_spec.plot.raman import plot_baseline

    r = quiet(analyze_raman, quiet(read_spectrum, raman_data / ANATASE, technique="raman"))
    fig = plot_baseline(r)
    assert any("RRUFF" in t.get_text() for t in fig.texts)
