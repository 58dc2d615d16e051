"""Metal foils get no oxidation state from an oxide line; oxides keep theirs (real data)."""

import warnings

import numpy as np
import pytest

from naheo_spec.xas.builtin import builtin_calibration, builtin_marker_calibrations
from naheo_spec.xas.foil_detection import metal_foil_rows
from naheo_spec.xas.xanes import analyze_xanes


CERIC = "amecchina__CERIC-Reference-Spectra-Repository"
LARCH = "xraypy__xraylarch"

FOILS = [(CERIC, "Fe_foil_311.xdi", None, "Fe"), (CERIC, "Mn_foil_111.xdi", None, "Mn"),
         (CERIC, "Ni_foil_111.xdi", None, "Ni"), (LARCH, "Fe.prj", "Fe foil", "Fe")]
OXIDES = [(CERIC, "FeO_311.xdi", None, "Fe"), (CERIC, "Fe3O4_311.xdi", None, "Fe"),
          (CERIC, "Fe2O3_311_EXAFS.xdi", None, "Fe"), (CERIC, "MnO.xdi", None, "Mn"),
          (CERIC, "mno2_10m.xdi", None, "Mn"), (CERIC, "bixbyite_10m.xdi", None, "Mn"),
          (CERIC, "LaNiO3_Ni_80K_111.xdi", None, "Ni"),
          (LARCH, "Fe.prj", "Hematite", "Fe"), (LARCH, "Fe.prj", "Lepidocrocite", "Fe")]


def _run(xas_data, folder, name, scan, element):
    path = xas_data / folder / name
    if not path.exists():
        pytest.skip(f"{path} not in the shared data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze_xanes(path, scan=scan, calibration=builtin_calibration(element),
                             marker_calibrations=builtin_marker_calibrations(element))


def _codes(res):
    return {w.code for w in res.warnings}


@pytest.mark.parametrize("folder,name,scan,element", FOILS)
def test_metal_foil_gets_no_oxidation_state(xas_data, folder, name, scan, element):
    res = _run(xas_data, folder, name, scan, element)
    assert "xas.xanes.metal_foil" in _codes(res)
    assert res.oxidation_state is None and res.oxidation_state_err is None
    valences = {k: v for k, v in res.markers.items() if k.startswith("valence_")}
    assert all(v is None or np.isnan(v) for v in valences.values()), valences


@pytest.mark.parametrize("folder,name,scan,element", OXIDES)
def test_oxides_are_not_taken_for_foils(xas_data, folder, name, scan, element):
    res = _run(xas_data, folder, name, scan, element)
    assert "xas.xanes.metal_foil" not in _codes(res)
    assert 1.5 < res.oxidation_state < 4.5


def test_rule_needs_the_max_derivative_e0_and_no_white_line():
    e = np.linspace(7050.0, 7300.0, 501)
    step = 1.0 / (1.0 + np.exp(-(e - 7112.0) / 1.5))
    white = step + 0.3 * np.exp(-0.5 * ((e - 7120.0) / 3.0) ** 2)
    rows = np.vstack([step, white, step, step])
    e0 = np.array([7112.0, 7112.0, 7119.5, 7103.5])   # foil, white line, half-height, -8.5
    assert metal_foil_rows(e, rows, e0, element="Fe").tolist() == [True, False, False, False]
    assert not metal_foil_rows(e, rows, e0, element=None).any()
