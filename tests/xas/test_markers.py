"""Second valence markers (issue 11.4): the integral edge position (Dau et al. 2003) and the
Fe pre-edge centroid and intensity (Wilke et al. 2001), on real spectra."""
import warnings

import numpy as np
import pytest

from conftest import CERIC, LARCH, XDL
from naheo_spec.io import read_spectra, read_spectrum
from naheo_spec.model import Spectrum
from naheo_spec.xas.builtin import builtin_calibration, builtin_marker_calibrations
from naheo_spec.xas.e0 import find_e0, integral_rows
from naheo_spec.xas.xanes import analyze_xanes

FE = [("FeO_311", CERIC + "/FeO_311.xdi", None, 2.0),
      ("feo_rt1", LARCH + "/feo_rt1.xdi", None, 2.0),
      ("Fe3O4_311", CERIC + "/Fe3O4_311.xdi", None, 8 / 3),
      ("Fe3O4 XDL", XDL + "/Fe3O4_rt_01.xdi", XDL + "/Fe_metal_rt_01.xdi", 8 / 3),
      ("Fe2O3_311", CERIC + "/Fe2O3_311_EXAFS.xdi", None, 3.0),
      ("fe2o3_rt1", LARCH + "/fe2o3_rt1.xmu", None, 3.0)]


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def test_integral_position_on_a_synthetic_edge():
    # a smooth edge with no white line: the mean energy between levels 0.15 and 1.0 of
    # an arctan step lies above its centre by a known amount (numerical integral)
    e = np.linspace(6450.0, 6700.0, 2501)
    step = 0.5 + np.arctan((e - 6550.0) / 2.0) / np.pi
    ii = integral_rows(e, step[None, :] / step.max(), np.array([6550.0]))
    x = e[(step >= 0.15) & (step <= 1.0)]
    y = step[(step >= 0.15) & (step <= 1.0)]
    expected = np.trapezoid(x, y) / (y[-1] - y[0])
    assert ii["e0"][0] == pytest.approx(expected, abs=0.05)


def test_integral_position_is_less_sensitive_to_the_white_line(xas_data):
    """Mn: MnO2's strong white line pulls the derivative maximum up by 6 eV against the
    half-height; the integral position stays close to the half-height (notes sec. 3)."""
    r = _quiet(analyze_xanes, xas_data / CERIC / "mno2_10m.xdi", e0_method="integral")
    hh = _quiet(analyze_xanes, xas_data / CERIC / "mno2_10m.xdi")
    md = _quiet(analyze_xanes, xas_data / CERIC / "mno2_10m.xdi", e0_method="max-derivative")
    assert abs(r.e0_eV - hh.e0_eV) < 2.0 < abs(md.e0_eV - hh.e0_eV)
    assert r.markers == {} or "integral_eV" not in r.markers        # it is the E0 itself
    assert hh.markers["integral_eV"] == pytest.approx(r.e0_eV, abs=1e-9)
    assert hh.markers["integral_err_eV"] > 0
    est = _quiet(find_e0, r.energy, r.normalization.mu, method="integral",
                 normalization=r.normalization)
    assert est.e0_eV == pytest.approx(r.e0_eV, abs=1e-6)


def test_fe_preedge_centroid_orders_fe2_below_fe3(xas_data):
    out = {}
    for name, rel, foil, v in FE:
        r = _quiet(analyze_xanes, xas_data / rel, foil=None if foil is None else xas_data / foil)
        out[name] = (v, r.markers["preedge_centroid_eV"], r.markers["preedge_centroid_err_eV"],
                     r.markers["preedge_area"])
    for h in ("Hematite", "Goerthite"):
        s = [x for x in _quiet(read_spectra, xas_data / LARCH / "Fe.prj") if x.source.scan == h][0]
        r = _quiet(analyze_xanes, s)
        out[h] = (3.0, r.markers["preedge_centroid_eV"], r.markers["preedge_centroid_err_eV"],
                  r.markers["preedge_area"])
    fe2 = [c for v, c, _, _ in out.values() if v == 2.0]
    fe3 = [c for v, c, _, _ in out.values() if v == 3.0]
    # every Fe2+ centroid below every Fe3+ centroid (1.0-1.6 eV apart, as in Wilke et al.)
    assert max(fe2) < min(fe3), out
    assert 0.8 < np.mean(fe3) - np.mean(fe2) < 2.0, out
    # the foil-calibrated FeO and Fe3O4 follow the valence too
    assert out["FeO_311"][1] < out["Fe3O4_311"][1]
    # areas of octahedral Fe oxides: 0.07-0.2 normalized units x eV (Wilke: weak pre-edges)
    assert all(0.03 < a < 0.3 for *_, a in out.values()), out


def test_preedge_valence_beside_the_edge_valence(xas_data):
    cal = builtin_calibration("fe")
    marks = builtin_marker_calibrations("fe")
    assert set(marks) == {"integral", "preedge"}
    r = _quiet(analyze_xanes, xas_data / XDL / "Fe3O4_rt_01.xdi",
               foil=xas_data / XDL / "Fe_metal_rt_01.xdi", calibration=cal,
               marker_calibrations=marks)
    for key in ("valence_preedge", "valence_integral"):
        assert r.markers[key] == pytest.approx(8 / 3, abs=0.35), r.markers
        assert 0 < r.markers[key + "_err"] < 0.5
    assert not any(w.code == "xas.markers.disagree" for w in r.warnings)


def test_disagreeing_markers_are_flagged(xas_data):
    """Move only the pre-edge: FeO with a strong extra pre-edge peak 3.5 eV above the
    tabulated edge (a made-up spectrum, not a measurement) keeps its Fe2+ edge but gets an
    Fe3+-like centroid."""
    s = _quiet(read_spectrum, xas_data / CERIC / "FeO_311.xdi")
    e, mu = s.energy, s.mu.copy()
    bump = 0.3 * np.exp(-0.5 * ((e - 7115.5) / 0.7) ** 2) * (np.max(mu) - np.min(mu))
    fake = Spectrum(e, mu + bump, reference=s.reference, element="Fe",
                    metadata={"synthetic": True})
    with pytest.warns(Warning, match="disagree"):
        r = analyze_xanes(fake, calibration=builtin_calibration("fe"),
                          marker_calibrations=builtin_marker_calibrations("fe"))
    assert any(w.code == "xas.markers.disagree" for w in r.warnings)
