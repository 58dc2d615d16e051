"""Backgrounds, line shapes, models and bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from xps.conftest import REF

from naheo_spec.errors import FitError, InputError, ProcessingError
from naheo_spec.io import read
from naheo_spec.xps.background import shirley_background, tougaard_background
from naheo_spec.xps.fit import fit_model
from naheo_spec.xps.lineshapes import parse_lineshape, shape_area_factor
from naheo_spec.xps.models import Component, Model, Param, model_from_dict
from naheo_spec.xps.pipeline import analyze_region

warnings.filterwarnings("ignore", category=UserWarning)


def independent_shirley(x_desc, y_desc, n_iter=100):
    """An independent implementation: descending BE, rectangle sums from the high-BE end,
    fixed number of iterations, end points = first/last points."""
    y = list(y_desc)
    n = len(y)
    hi, lo = y[0], y[-1]
    b = [lo] * n
    for _ in range(n_iter):
        net = [y[i] - b[i] for i in range(n)]
        total = sum(net[1:])
        new = []
        for i in range(n):
            tail = sum(net[i + 1:])         # area at lower BE than point i
            new.append(lo + (hi - lo) * tail / total)
        b = new
    return np.array(b)


def test_shirley_matches_independent_implementation_on_real_nio(xps_data):
    s = read(xps_data / f"{REF}/Ni_references.vms")["NiO Ni 2p"]
    sel = (s.axis >= 848) & (s.axis <= 868.5)
    x, y = s.axis[sel], s.signal[sel]
    ours = shirley_background(x[::-1], y[::-1], avg_width=0).values      # descending input
    ref = independent_shirley(x[::-1], y[::-1])
    height = y.max() - y.min()
    assert np.max(np.abs(ours - ref)) / height < 0.01


def test_backgrounds_independent_of_axis_direction():
    x = np.linspace(700, 730, 301)
    y = 200 + 1000 * np.exp(-0.5 * ((x - 711) / 1.2) ** 2) + 80 * (x > 711)
    for f in (shirley_background, tougaard_background):
        a = f(x, y).values
        b = f(x[::-1], y[::-1]).values[::-1]
        assert np.allclose(a, b)


def test_lineshape_parsing_synthetic_casa_names():
    """SYNTHETIC: the analytic CasaXPS shapes appear in no shared file."""
    assert parse_lineshape("GL(30)").params == (30.0,)
    assert parse_lineshape("SGL(30)").kind == "SGL"
    assert parse_lineshape("LA(1.1,2.3,5)").params == (1.1, 2.3, 5.0)
    assert parse_lineshape("LF(0.54,10,80,100,6)").params[:4] == (0.54, 10.0, 80.0, 100.0)
    with pytest.raises(InputError, match="unknown kind"):
        parse_lineshape("XYZ(3)")
    assert shape_area_factor(parse_lineshape("GL(0)")) == pytest.approx(1.0645, abs=1e-4)


def test_fit_recovers_synthetic_doublet_with_links():
    """SYNTHETIC data with known truth: positions, 2:1 area ratio and free 2p1/2 width."""
    m = model_from_dict({"name": "t", "doublet": [{"name": "Fe3+", "state": "Fe3+",
                        "center": {"value": 710.5, "min": 709, "max": 712},
                        "fwhm": {"value": 2.0, "min": 0.5, "max": 5}, "area": 1.0,
                        "splitting_eV": 13.6}]})
    x = np.linspace(700, 735, 351)
    g = parse_lineshape("GL(30)")
    from naheo_spec.xps.lineshapes import evaluate
    k = shape_area_factor(g)
    y = 50 + 1000 * evaluate(g, x, 711.0, 2.2) / (2.2 * k) + 500 * evaluate(g, x, 724.6, 2.9) / (2.9 * k)
    r = fit_model(x, y, m, sigma=np.ones_like(x), background="linear")
    assert r.centers_eV[0] == pytest.approx(711.0, abs=0.01)
    assert r.areas[1] / r.areas[0] == pytest.approx(0.5, abs=1e-6)
    assert r.fwhms_eV[1] == pytest.approx(2.9, abs=0.02)


def test_unknown_component_link():
    with pytest.raises(InputError, match=r"unknown component 'Ni3\+ main'; known: a"):
        model_from_dict({"component": [{"name": "a", "center": 1.0, "fwhm": 1.0, "area": 1.0},
                                       {"name": "b", "center": {"link": "Ni3+ main", "offset": 1},
                                        "fwhm": 1.0, "area": 1.0}]})


def test_no_peak_and_wrong_region(xps_data):
    flat = read(xps_data / "theoechem__article_MAHE_2024_IL_pitfalls/"
                           "20240305_MPPipTFSIIol3_Na_1s.csv", technique="xps")[0]
    with pytest.raises(ProcessingError, match="no peak above the noise"):
        analyze_region(flat, "na1s")
    mn = read(xps_data / f"{REF}/Mn_references.vms")["MnO Mn 2p"]
    with pytest.raises(ProcessingError, match="wrong region for model 'ni2p'"):
        analyze_region(mn, "ni2p")


def test_fit_that_does_not_converge():
    x = np.linspace(850, 860, 101)
    y = 100 + 1000 * np.exp(-((x - 855) / 1.0) ** 2)
    m = Model("m", (Component("p", parse_lineshape("GL(30)"), Param(852, 850, 860),
                              Param(3, 0.5, 5), Param(1.0, 0)),))
    with pytest.raises(FitError, match="did not converge within 3"):
        fit_model(x, y, m, sigma=np.ones_like(x), max_nfev=3, background="linear", prescan=False)


def test_nan_input_is_refused():
    x = np.linspace(850, 860, 101)
    y = np.ones(101)
    y[5] = np.nan
    m = Model("m", (Component("p", parse_lineshape("GL(30)"), Param(855, 850, 860),
                              Param(1, 0.5, 5), Param(1.0, 0)),))
    with pytest.raises(InputError, match="NaN"):
        fit_model(x, y, m)
