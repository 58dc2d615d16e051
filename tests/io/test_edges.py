"""Tabulated edges, the reader's E0 estimate and the element/edge guess."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import CERIC, LARCH, XDL

from naheo_spec.errors import InputError
from naheo_spec.io import read_spectrum
from naheo_spec.xas.edges import (estimate_e0, guess_edge, normalize_edge,
                                 tabulated_edge_energy)


@pytest.mark.parametrize("el,edge,energy", [("Mn", "K", 6539.0), ("fe", "k", 7112.0),
                                            ("Ni", "K", 8333.0), ("Er", "L3", 8358.0),
                                            (28, "K", 8333.0)])
def test_tabulated(el, edge, energy):
    # Bearden / xraydb values quoted in shared/notes/xas.md
    assert tabulated_edge_energy(el, edge) == pytest.approx(energy, abs=0.6)


@pytest.mark.parametrize("el,edge", [("Xx", "K"), ("Ni", "Q"), (None, "K")])
def test_tabulated_rejects(el, edge):
    with pytest.raises(InputError):
        tabulated_edge_energy(el, edge)


def test_edge_names():
    assert normalize_edge("L-III") == "L3" and normalize_edge("k") == "K" and normalize_edge("x") is None


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_spectrum(path)


# max-derivative E0 of foils measured with larch find_e0 (shared/notes/xas.md)
@pytest.mark.parametrize("sub,name,e0", [(LARCH, "ni_metal_rt.xdi", 8331.50),
                                         (CERIC, "Ni_foil_111.xdi", 8332.89),
                                         (CERIC, "Fe_foil_311.xdi", 7111.52),
                                         (LARCH, "fe.060", 7105.51),
                                         (CERIC, "Mn_foil_111.xdi", 6538.20)])
def test_estimate_e0_on_foils(xas_data, sub, name, e0):
    s = _read(xas_data / sub / name)
    assert estimate_e0(s.energy, s.mu) == pytest.approx(e0, abs=0.5)


def test_estimate_e0_ignores_a_one_point_glitch(xas_data):
    # bixbyite_10m's murefer has a dip/spike at 6574 eV; the foil edge is at 6538.96 (larch)
    s = _read(xas_data / CERIC / "bixbyite_10m.xdi")
    assert estimate_e0(s.energy, s.reference) == pytest.approx(6538.96, abs=0.5)


@pytest.mark.parametrize("sub,name,element", [
    (CERIC, "mno2_10m.xdi", "Mn"),          # Mn4+: E0 ~19 eV above Mn K
    (CERIC, "LaNiO3_Ni_80K_111.xdi", "Ni"),  # 8348 eV: Ni K (+15), not Er L3 (-10)
    (LARCH, "fe.060", "Fe"),                 # uncalibrated, 6.5 eV low
    (CERIC, "Fe2O3_311_EXAFS.xdi", "Fe"),
])
def test_guess_from_edge_position(xas_data, sub, name, element):
    s = _read(xas_data / sub / name)
    el, edge, e0, msg = guess_edge(s.energy, s.mu)
    assert (el, edge) == (element, "K")
    assert "guessed" in msg and np.isfinite(e0)


def test_guess_with_known_element_finds_edge(xas_data):
    s = _read(xas_data / CERIC / "MnO.xdi")
    assert guess_edge(s.energy, s.mu, element="Mn")[:2] == ("Mn", "K")


def test_no_candidate_gives_none():
    e = np.linspace(2900, 3200, 301)       # an edge at 3000 eV: no K of Z 20-40, no L3 of Z 55-92
    mu = np.arctan((e - 3000) / 2)
    el, edge, e0, msg = guess_edge(e, mu)
    assert (el, edge) == (None, None)
    assert e0 == pytest.approx(3000, abs=1) and "no edge" in msg


def test_file_without_edge_in_window_warns(tmp_path):
    e = np.linspace(2900, 3200, 301)
    path = tmp_path / "unknown.dat"
    path.write_text("# energy mu\n" + "\n".join(f"{a} {np.arctan((a - 3000) / 2)}" for a in e))
    with pytest.warns(Warning, match="no edge"):
        s = read_spectrum(path)
    assert s.element is None and s.edge is None


def test_reference_note_uses_the_foil_rule(xas_data):
    from naheo_spec.xas.readers.columns import reference_note

    foil = _read(xas_data / LARCH / "ni_metal_rt.xdi")
    assert reference_note(foil.energy, foil.mu, "Ni", "K") is None     # 1.5 eV low: fine
    xdl = _read(xas_data / XDL / "MnO_rt_01.xdi")                       # "Mn filter"
    assert "not a Mn foil" in reference_note(xdl.energy, xdl.reference, "Mn", "K")
