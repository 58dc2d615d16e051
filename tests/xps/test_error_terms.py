"""The template-choice term when templates are self-derived (docs/uncertainties.md, XPS).

The built-in templates come from the shared reference spectra; fitting those very spectra is
self-consistency: the template variants cannot act and the template term comes out ~0. Such
fits are flagged and their template term is raised to a documented minimum measured on
mixtures of the real spectra (tools/xps_template_floor.py)."""
from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from xps.conftest import REF

from conftest import REPO
from naheo_spec.io import read
from naheo_spec.xps.builtin import reference_table, template_floor
from naheo_spec.xps.pipeline import analyze_region

warnings.filterwarnings("ignore", category=UserWarning)


@pytest.fixture(scope="module")
def mn(xps_data):
    return read(xps_data / f"{REF}/Mn_references.vms", technique="xps")


def test_self_consistency_fit_carries_the_floor(mn):
    r = analyze_region(mn["MnO2 Mn 2p"], "mn2p")
    v = r.valence
    assert "xps.valence.self_consistency" in {w.code for w in r.warnings}
    floor = template_floor("mn2p")
    assert floor["mean_oxidation_state"] > 0.2                 # measured 0.33
    assert v.budget["template"]["mean_oxidation_state"] >= floor["mean_oxidation_state"]
    assert v.mean_oxidation_state_err >= floor["mean_oxidation_state"]
    assert v.template_floor is not None
    raw = [a for a in v.alternatives if a["term"] == "template"]
    assert all(abs(a["mean_oxidation_state"] - v.mean_oxidation_state) < 0.05
               for a in raw if a["used"])                      # the variants alone: ~0


def test_a_modified_spectrum_is_not_self_consistency(mn):
    s = mn["MnO2 Mn 2p"]
    y = 0.5 * s.signal + 0.5 * np.interp(s.axis, mn["Mn2O3 Mn 2p"].axis, mn["Mn2O3 Mn 2p"].signal)
    r = analyze_region(s.with_changes(signal=y, sigma=s.sigma), "mn2p", error_budget=False)
    assert "xps.valence.self_consistency" not in {w.code for w in r.warnings}


def test_same_counts_in_another_file_are_recognized(xps_data):
    """EX491's NiO Ni 2p has the counts of Ni_references.vms' (the NiO template source)."""
    ex = read(xps_data / f"{REF}/EX491-495_Fe_Ni_Co_oxide_references.vms", technique="xps")
    r = analyze_region(ex["NiO Ni 2p"], "ni2p", error_budget=False)
    assert "xps.valence.self_consistency" in {w.code for w in r.warnings}


def test_fe2p_leaves_one_template_source_out(xps_data):
    """fe2p has two template sources (EX491 and its EX502 repeat): the variant built on the
    repeat enters the template term."""
    fe = read(xps_data / f"{REF}/Fe_references.vms", technique="xps")
    r = analyze_region(fe["Fe2O3 Fe 2p"], "fe2p")          # the template source itself
    v = r.valence
    labels = {a["label"] for a in v.alternatives if a["term"] == "template"}
    assert "template repeat-source" in labels
    assert "xps.valence.self_consistency" in {w.code for w in r.warnings}
    assert v.budget["template"]["mean_oxidation_state"] >= template_floor("fe2p")[
        "mean_oxidation_state"]
    # EX491 holds the same measurement rescaled (x 0.3) on a coarser grid: not the same
    # counts, so not recognized -- a documented limit of the digest test
    ex = read(xps_data / f"{REF}/EX491-495_Fe_Ni_Co_oxide_references.vms", technique="xps")
    r2 = analyze_region(ex["Fe2O3 Fe 2p"], "fe2p", error_budget=False)
    assert "xps.valence.self_consistency" not in {w.code for w in r2.warnings}


def test_floor_table_is_what_the_tool_measures():
    spec = importlib.util.spec_from_file_location("floor", REPO / "tools" / "xps_template_floor.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    stored = reference_table("template_floor")
    for model in ("fe2p", "cu2p"):
        got = tool.measure(model, quiet=True)
        assert got["mos"] == pytest.approx(stored[model]["mean_oxidation_state"], abs=2e-3)
        assert got["fraction"] == pytest.approx(stored[model]["fraction"], abs=2e-3)
