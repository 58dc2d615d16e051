"""Charge referencing on the real EX491 C 1s / O 1s blocks: a reference whose fit ends at a
bound, or whose line is not there, must say so (coded warning, ``reliable`` False) in the
reference and in every result that uses it.

The FeO sample of EX491 has a flat C 1s window (no carbon above the noise, 67-71 counts over
280-294 eV): the C-C line is pushed to its -2 eV bound (282.8 eV) and the "shift" +2.0 eV
means nothing. Fe3O4 has a clear adventitious line (C-C near 284.6 eV).
"""
from __future__ import annotations

import json
import warnings

import pytest
from xps.conftest import REF

from naheo_spec.io import read
from naheo_spec.xps.charge import charge_reference
from naheo_spec.xps.pipeline import analyze_region

warnings.filterwarnings("ignore", category=UserWarning)


@pytest.fixture(scope="module")
def ex491(xps_data):
    return read(xps_data / f"{REF}/EX491-495_Fe_Ni_Co_oxide_references.vms", technique="xps")


def _codes(records):
    return {w.code for w in records}


def test_c1s_line_at_its_bound_is_flagged(ex491):
    ch = charge_reference("c1s", collection=ex491, sample="FeO")
    assert ch.measured_eV == pytest.approx(284.8 - 2.0, abs=1e-3)      # at the -2 eV bound
    assert not ch.reliable
    assert "xps.charge.at_bound" in _codes(ch.warnings)
    rec = next(w for w in ch.warnings if w.code == "xps.charge.at_bound")
    assert "C-C adventitious.center" in rec.data["parameters"]
    assert "xps.charge.no_reference_line" in _codes(ch.warnings)       # nothing there at all
    d = ch.to_dict()
    assert d["reliable"] is False and "xps.charge.at_bound" in {w["code"] for w in d["warnings"]}
    json.dumps(d)


def test_unreliable_reference_travels_with_the_result(ex491):
    ch = charge_reference("c1s", collection=ex491, sample="FeO")
    r = analyze_region(ex491["FeO Fe 2p"], "fe2p", charge=ch, error_budget=False)
    assert "xps.charge.at_bound" in _codes(r.warnings)
    assert r.summary()["charge_reference_reliable"] is False
    assert r.to_json_dict()["charge_reference"]["reliable"] is False


def test_reference_line_without_area_is_flagged(ex491):
    """Fe2O3: the C-C component ends with an area within its error of zero (no position
    at a bound), yet its centre would set a +1 eV shift."""
    ch = charge_reference("c1s", collection=ex491, sample="Fe2O3")
    assert not ch.reliable
    assert "xps.charge.no_reference_line" in _codes(ch.warnings)


@pytest.mark.parametrize("method,sample,line_eV", [("c1s", "Fe3O4", 284.6), ("o1s", "NiO", 529.4)])
def test_clear_reference_stays_reliable(ex491, method, sample, line_eV):
    ch = charge_reference(method, collection=ex491, sample=sample)
    assert ch.reliable and not ch.warnings
    assert ch.measured_eV == pytest.approx(line_eV, abs=0.15)
