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


def test_map_image_puts_each_spectrum_at_its_stage_position():
    import numpy as np

    from naheo_spec import datasets
    from naheo_spec.plot.raman import plot_map_image
    from naheo_spec.raman.pipeline import analyze_raman_series

    sr = quiet(analyze_raman_series, datasets.load("raman_map"), preset="carbonate")
    fig = plot_map_image(sr, "baseline")
    image = fig.axes[0].collections[0].get_array().reshape(30, 4)   # y rows, x columns
    x, y = sr.coordinates["x"], sr.coordinates["y"]
    for i in (0, 37, 119):
        col = np.searchsorted(np.unique(x), x[i])
        row = np.searchsorted(np.unique(y), y[i])
        assert image[row, col] == pytest.approx(np.nanmean(sr.baselines[i]), rel=1e-12)
    with pytest.raises(ValueError, match="unknown map quantity"):
        plot_map_image(sr, "nonsense")


def test_series_bands_draws_the_true_index():
    from naheo_spec.plot.raman import plot_series_bands
    from naheo_spec.raman.pipeline import analyze_raman_series
    from naheo_spec.raman.synthetic import carbonate_growth_series

    st = carbonate_growth_series(seed=0)
    sr = quiet(analyze_raman_series, st, preset="layered-oxide")
    fig = plot_series_bands(sr, true_index=st.metadata["true_carbonate_index"])
    truth = [ln for ln in fig.axes[1].lines if ln.get_label() == "true index"]
    assert len(truth) == 1
    assert list(truth[0].get_ydata()) == list(st.metadata["true_carbonate_index"])
    with pytest.raises(ValueError, match="true_index"):
        plot_series_bands(sr, true_index=[0.0])


def _extent(fig, artist):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return artist.get_window_extent(fig.canvas.get_renderer())


def test_synthetic_series_is_flagged_on_its_own_and_the_banner_clears_the_title(tmp_path):
    """No ``synthetic=True`` needed: the result keeps the stack's ``format = "synthetic"``.
    The banner and the suptitle must not overlap in the saved figure; the first detection
    is drawn on the series' own coordinate (``exposure_h``)."""
    from naheo_spec.plot.raman import plot_fit, plot_series_bands
    from naheo_spec.plot.style import is_synthetic
    from naheo_spec.raman.pipeline import analyze_raman_series
    from naheo_spec.raman.synthetic import carbonate_growth_series

    sr = quiet(analyze_raman_series, carbonate_growth_series(seed=0), preset="layered-oxide")
    assert sr.format == "synthetic" and is_synthetic(sr) and is_synthetic(sr[3])
    assert sr.x_coordinate()[0] == "exposure_h"
    for fig in (plot_series_bands(sr), plot_fit(sr[7])):
        banner = [t for t in fig.texts if t.get_gid() == "synthetic-label"]
        assert len(banner) == 1
        fig.savefig(tmp_path / "f.png", dpi=80)
        assert not _extent(fig, banner[0]).overlaps(_extent(fig, fig._suptitle))
        for ax in fig.axes:
            assert not _extent(fig, banner[0]).overlaps(_extent(fig, ax.title)) \
                or not ax.get_title()
    fig = plot_series_bands(sr)
    first = [ln for ln in fig.axes[1].lines if ln.get_label().startswith("first detection")]
    assert len(first) == 1 and first[0].get_xdata()[0] == sr.first_carbonate["exposure_h"]
    assert "exposure" in fig.axes[1].get_xlabel()
