"""Athena projects: groups, paired references, eshift, parameters, corrupt files."""
from __future__ import annotations

import gzip
import json
import warnings

import numpy as np
import pytest
from conftest import LARCH

from naheo_spec.errors import InputError, ReadError, RepairWarning
from naheo_spec.io import read_spectra, read_spectrum, read_stack
from naheo_spec.xas.edges import estimate_e0

PROJECTS = {"NiO.prj": "Ni", "Mn.prj": "Mn", "Fe.prj": "Fe", "FeO.prj": "Fe", "MnO_bv.prj": "Mn"}
# prj_export/<file> -> (project, group), written by larch from the project (raw energies)
EXPORTS = {
    "NiO__NiO_000.dat": ("NiO.prj", "NiO_000"),
    "NiO__NiO.dat": ("NiO.prj", "NiO"),
    "Mn__Mn3O4.dat": ("Mn.prj", "Mn3O4"),
    "Mn__Mn_foil.dat": ("Mn.prj", "Mn_foil"),
    "Fe__Fe_foil.dat": ("Fe.prj", "Fe_foil"),
    "FeO__FeO.dat": ("FeO.prj", "FeO"),
}


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.fixture(scope="module")
def nio(xas_data):
    return _quiet(read_spectra, xas_data / LARCH / "NiO.prj")


@pytest.fixture(scope="module")
def mn(xas_data):
    return {s.source.scan: s for s in _quiet(read_spectra, xas_data / LARCH / "Mn.prj")}


@pytest.fixture(scope="module")
def mn_raw(xas_data):
    return {s.source.scan: s for s in _quiet(read_spectra, xas_data / LARCH / "Mn.prj",
                                             apply_eshift=False)}


@pytest.mark.parametrize("prj,element", list(PROJECTS.items()))
def test_every_group_has_element_and_edge(xas_data, prj, element):
    spectra = _quiet(read_spectra, xas_data / LARCH / prj)
    assert spectra
    for s in spectra:
        assert (s.element, s.edge) == (element, "K"), s.name
        assert s.source.format == "athena" and s.source.scan
        assert np.all(np.diff(s.energy) > 0) and np.all(np.isfinite(s.mu))
        assert s.metadata["athena_nnorm_degree"] == s.metadata["athena_nnorm_coefficients"] - 1


def test_nio_groups_and_reference_pairing(nio):
    names = [s.source.scan for s in nio]
    # 10 scans (000-010 without 005) and the merge; the 11 "Ref" groups are attached, not listed
    assert len(nio) == 11
    assert names[0] == "NiO.000" and "NiO" in names and "NiO.005" not in names
    assert not any(n.lower().startswith("ref") for n in names)
    assert all(s.reference is not None for s in nio)
    s0 = nio[0]
    assert s0.metadata["athena_reference_label"] == "Ref NiO.000"
    assert s0.npts == 522


def test_nio_scan000_eshift_and_calibrated_foil(xas_data, nio):
    s0 = nio[0]
    raw = _quiet(read_spectrum, xas_data / LARCH / "NiO.prj", scan="NiO_000", apply_eshift=False)
    assert s0.metadata["athena_eshift_eV"] == pytest.approx(1.252)
    np.testing.assert_allclose(s0.energy - raw.energy, 1.252, atol=1e-9)
    np.testing.assert_array_equal(s0.mu, raw.mu)
    # the simultaneous Ni foil: raw max-derivative E0 8331.75 (larch find_e0); with the shift it
    # lands on tabulated Ni K 8333.0, which is what the Athena user calibrated to
    assert estimate_e0(raw.energy, raw.reference) == pytest.approx(8331.75, abs=0.3)
    assert estimate_e0(s0.energy, s0.reference) == pytest.approx(8333.0, abs=0.3)
    assert any("eshift +1.252 eV applied" in w.message for w in s0.warnings)


def test_nio_export_reference_matches(xas_data, nio):
    ref = np.loadtxt(xas_data / LARCH / "prj_export" / "NiO__d_Ref_NiO_000.dat")
    np.testing.assert_allclose(nio[0].reference, ref[:, 1], atol=1e-6)


def test_mn_prj_per_group_eshifts(mn, mn_raw):
    assert len(mn) == 14
    assert mn["Mn3O4"].metadata["athena_eshift_eV"] == pytest.approx(19.1)
    np.testing.assert_allclose(mn["Mn3O4"].energy - mn_raw["Mn3O4"].energy, 19.1, atol=1e-9)
    assert mn["Pyrolusite"].metadata["athena_eshift_eV"] == 0.0
    np.testing.assert_array_equal(mn["Pyrolusite"].energy, mn_raw["Pyrolusite"].energy)
    # Mn foil: raw max-derivative E0 6537.70, with its +1.298 eV shift 6539.00 (SOURCES.md)
    assert estimate_e0(mn_raw["Mn foil"].energy, mn_raw["Mn foil"].mu) == pytest.approx(6537.70, abs=0.4)
    assert estimate_e0(mn["Mn foil"].energy, mn["Mn foil"].mu) == pytest.approx(6539.00, abs=0.4)
    assert mn_raw["Mn foil"].metadata["athena_eshift_applied"] is False


def test_athena_parameters_converted(mn):
    md = mn["MnO"].metadata
    assert md["athena_nnorm_coefficients"] == 3      # Athena: 3 coefficients = quadratic
    assert md["athena_nnorm_degree"] == 2
    assert md["athena_pre1_eV"] < md["athena_pre2_eV"] < 0 < md["athena_nor1_eV"] < md["athena_nor2_eV"]
    # Athena's E0 is on the shifted scale: it lies near the edge of the shifted data
    assert md["athena_e0_eV"] == pytest.approx(estimate_e0(mn["MnO"].energy, mn["MnO"].mu), abs=2.0)


def test_fe_foil_group_is_fe060_with_eshift(xas_data):
    foil = _quiet(read_spectrum, xas_data / LARCH / "Fe.prj", scan="Fe foil")
    fe060 = _quiet(read_spectrum, xas_data / LARCH / "fe.060")
    assert foil.metadata["athena_eshift_eV"] == pytest.approx(5.81, abs=0.01)
    np.testing.assert_allclose(foil.energy - foil.metadata["athena_eshift_eV"], fe060.energy,
                               atol=1e-4)
    # 7105.51 + 5.81: the shift brings the X-11A foil within 1 eV of tabulated Fe K 7112.0
    assert estimate_e0(foil.energy, foil.mu) == pytest.approx(7112.0, abs=1.0)


@pytest.mark.parametrize("export,src", list(EXPORTS.items()))
def test_project_matches_larch_export(xas_data, export, src):
    prj, group = src
    s = _quiet(read_spectrum, xas_data / LARCH / prj, scan=group, apply_eshift=False)
    dat = np.loadtxt(xas_data / LARCH / "prj_export" / export)
    np.testing.assert_allclose(s.energy, dat[:, 0], atol=1e-5)
    np.testing.assert_allclose(s.mu, dat[:, 1], atol=1e-6)


def test_scan_selection(xas_data, nio):
    path = xas_data / LARCH / "NiO.prj"
    with pytest.raises(ReadError, match=r"NiO\.prj.*holds 11 spectra.*NiO\.000"):
        _quiet(read_spectrum, path)
    by_label = _quiet(read_spectrum, path, scan="NiO.000")
    by_group = _quiet(read_spectrum, path, scan="nio_000")
    by_index = _quiet(read_spectrum, path, scan=0)
    np.testing.assert_array_equal(by_label.mu, by_group.mu)
    np.testing.assert_array_equal(by_label.mu, by_index.mu)
    with pytest.raises(ReadError, match="no scan or block named 'NiO.005'"):
        _quiet(read_spectrum, path, scan="NiO.005")


def test_read_stack_nio(xas_data):
    st = _quiet(read_stack, xas_data / LARCH / "NiO.prj")
    assert len(st) == 11 and st.references is not None
    assert st.signals.shape == st.references.shape == (11, st.axis.size)
    assert (st.element, st.edge) == ("Ni", "K")
    # common range: the merge (8134.3..9557.5) and the scan with the largest eshift (+6.629)
    assert st.axis[0] >= 8133.0 + 6.629 - 1e-6 and st.axis[-1] <= 9557.6


def test_expressions_rejected_for_projects(xas_data):
    with pytest.raises(InputError, match="FeO.prj: option mu= does not apply to .athena."):
        read_spectra(xas_data / LARCH / "FeO.prj", mu="ln(i0/it)")


def _json_project(groups: dict) -> str:
    doc = {"_____header1": "# Athena project file -- Demeter version 0.9.26",
           "_____header2": "# written for a naheo_spec test", "_____journal": [""],
           "_____order": list(groups)}
    doc.update(groups)
    return json.dumps(doc)


def test_json_flavour_and_unpaired_reference(xas_data, tmp_path):
    feo = np.loadtxt(xas_data / LARCH / "prj_export" / "FeO__FeO.dat")
    groups = {
        "aaaaa": {"args": {"label": "FeO json", "bkg_eshift": "2.5", "bkg_z": "Fe", "fft_edge": "K",
                           "bkg_nnorm": "2", "bkg_e0": "7122.9"},
                  "x": feo[:, 0].tolist(), "y": feo[:, 1].tolist()},
        "bbbbb": {"args": {"label": "  Ref lonely", "bkg_z": "Fe", "fft_edge": "K",
                           "referencegroup": "zzzzz"},
                  "x": feo[:, 0].tolist(), "y": feo[:, 1].tolist()},
    }
    path = tmp_path / "project.json.prj"
    path.write_text(_json_project(groups))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        spectra = read_spectra(path)
    assert any(issubclass(w.category, RepairWarning) and "eshift +2.5 eV" in str(w.message)
               for w in rec)
    assert [s.source.scan for s in spectra] == ["FeO json", "Ref lonely"]
    s, lonely = spectra
    np.testing.assert_allclose(s.energy, feo[:, 0] + 2.5)
    assert s.metadata["athena_nnorm_degree"] == 1
    assert lonely.metadata["athena_is_reference"] is True
    assert any("without a partner" in w.message for w in lonely.warnings)
    # a plain-text (gunzipped) perl-style project is found by content too
    plain = tmp_path / "plain.txt"
    plain.write_bytes(gzip.decompress((xas_data / LARCH / "FeO.prj").read_bytes()))
    assert _quiet(read_spectrum, plain).npts == 412


@pytest.mark.parametrize("make", ["truncated_gzip", "truncated_text", "garbage_text", "bad_json"])
def test_corrupt_projects(xas_data, tmp_path, make):
    good = (xas_data / LARCH / "FeO.prj").read_bytes()
    path = tmp_path / f"{make}.prj"
    if make == "truncated_gzip":
        path.write_bytes(good[:1500])
    elif make == "truncated_text":
        path.write_bytes(gzip.compress(gzip.decompress(good)[:3000]))
    elif make == "garbage_text":
        path.write_text("# Athena project file -- Demeter version 0.9.21\n$old_group = 'x';\n"
                        "@args = ('label', \n[record]\n")
    else:
        path.write_text('{"_____header1": "# Athena project file -- Demeter version 0.9.26", ')
    with pytest.raises(ReadError, match=make):
        _quiet(read_spectra, path)
