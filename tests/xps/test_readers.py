"""Every .vms/.xy/.csv in shared/data/xps reads with the right blocks and a BE axis
(facts from shared/data/xps/SOURCES.md), and the quirks are handled."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from xps.conftest import REF, XDL

from naheo_spec.errors import ReadError
from naheo_spec.io import read

warnings.filterwarnings("ignore", category=UserWarning)

# file, number of blocks, format (SOURCES.md)
FILES = [
    (f"{REF}/Ni_references.vms", 4, "vamas"),
    (f"{REF}/Mn_references.vms", 3, "vamas"),
    (f"{REF}/Fe_references.vms", 4, "vamas"),
    (f"{REF}/Cu_references.vms", 11, "vamas"),
    (f"{REF}/Co_references.vms", 3, "vamas"),
    (f"{REF}/EX491-495_Fe_Ni_Co_oxide_references.vms", 62, "vamas"),
    (f"{XDL}/measured/EX502-506_Fe_Ni_Co_mixed_oxides.vms", 68, "vamas"),
    ("FAIRmat-NFDI__pynxtools-xps/regular.vms", 1, "vamas"),
    ("FAIRmat-NFDI__pynxtools-xps/irregular.vms", 1, "vamas"),
    ("gkerherve__KherveFitting/Pt4f.vms", 1, "vamas"),
    ("FAIRmat-NFDI__pynxtools-xps/MgFe2O4_small.xy", 2, "prodigy-xy"),
]


@pytest.mark.parametrize("rel,nblocks,fmt", FILES, ids=[f[0].split("/")[-1] for f in FILES])
def test_vamas_and_xy_block_counts(xps_data, rel, nblocks, fmt):
    c = read(xps_data / rel, technique="xps")
    assert len(c) == nblocks and c.format == fmt
    for b in c:
        assert b.axis_kind.value == "binding_energy"
        assert np.all(np.diff(b.axis) > 0)


@pytest.mark.parametrize("rel", [f"{REF}/Ni_references.vms", f"{REF}/Ni2p_NiO.txt",
                                 f"{REF}/EX491-495_Fe_Ni_Co_oxide_references.vms"])
def test_nio_ni2p_main_line_near_854(xps_data, rel):
    s = read(xps_data / rel, technique="xps")["NiO Ni 2p"]
    assert abs(s.axis[np.argmax(s.signal)] - 853.8) < 0.15     # raw maximum, SOURCES.md
    assert s.acquisition.region == "Ni 2p"


def test_nio_blocks_are_one_measurement(xps_data):
    """Why NiO tests are self-consistency: the three NiO Ni 2p blocks hold identical counts."""
    a = read(xps_data / f"{REF}/Ni_references.vms")["NiO Ni 2p"]
    b = read(xps_data / f"{REF}/EX491-495_Fe_Ni_Co_oxide_references.vms")["NiO Ni 2p"]
    assert np.array_equal(a.signal, b.signal)


def test_crlf_cr_file_keeps_fields_aligned(xps_data):
    """EX491 has comment lines ending in \\r\\r\\n: photon energy and Ni LMM positions must be right."""
    c = read(xps_data / f"{REF}/EX491-495_Fe_Ni_Co_oxide_references.vms")
    lmm = c["NiO Ni LMM"]
    assert lmm.acquisition.photon_energy_eV == pytest.approx(1486.61)
    assert lmm.axis[np.argmax(lmm.signal)] == pytest.approx(642.5, abs=0.15)
    assert c["Ni Ni LMM"].axis[np.argmax(c["Ni Ni LMM"].signal)] == pytest.approx(640.5, abs=0.15)


def test_irregular_equals_regular(xps_data):
    r = read(xps_data / "FAIRmat-NFDI__pynxtools-xps/regular.vms")[0]
    i = read(xps_data / "FAIRmat-NFDI__pynxtools-xps/irregular.vms")[0]
    assert np.allclose(r.axis, i.axis)
    assert "transmission" in r.channels and "transmission" in i.channels
    assert i.acquisition.pass_energy_eV is None          # the 1e+037 placeholder


def test_lineshape_blocks_flagged(xps_data):
    c = read(xps_data / f"{XDL}/measured/EX502-506_Fe_Ni_Co_mixed_oxides.vms")
    ls = [b for b in c if b.metadata["casa_lineshape"]]
    assert len(ls) == 10 and all(b.source.scan.startswith("%") for b in ls)
    assert c["FeNiCo Ni 2p-Co 2p-Fe 2p"].acquisition.region == "Ni 2p-Co 2p-Fe 2p"


def test_avantage_csv_and_text(xps_data):
    s = read(xps_data / "theoechem__article_MAHE_2024_IL_pitfalls/"
                        "20240228_Au_Nadep_from_MPPipTFSI4AMSIol3_Na_1s.csv", technique="xps")[0]
    assert s.source.format == "avantage-csv" and s.acquisition.region == "Na 1s"
    assert s.axis[np.argmax(s.signal)] == pytest.approx(1071.4, abs=0.1)
    assert "Background" in s.channels and s.signal_unit == "counts/s"
    t = read(xps_data / f"{REF}/Mn2p_MnO2.txt", technique="xps")[0]
    assert t.source.scan == "MnO2 Mn 2p" and t.source.format == "xps-text"


def test_kinetic_text_needs_photon_energy(xps_data):
    path = xps_data / "Julian-Hochhaus__lmfitxps/clean_Au_4f.csv"
    with pytest.raises(ReadError, match="photon energy.*hv=180eV"):
        read(path, technique="xps")
    s = read(path, technique="xps", photon_energy=180.0, work_function=4.5)[0]
    assert s.axis[np.argmax(s.signal)] < 92.0           # Au 4f7/2 side after KE -> BE


def test_prodigy_scans_grouped(xps_data):
    c = read(xps_data / "FAIRmat-NFDI__pynxtools-xps/MgFe2O4.xy", technique="xps")
    fe = [b for b in c if b.acquisition.region == "Fe 2p" and "cycle" in b.source.scan]
    assert fe and all(b.acquisition.n_scans == 3 for b in fe)


def test_truncated_and_bad_vamas(tmp_path, xps_data):
    text = (xps_data / f"{REF}/Mn_references.vms").read_bytes()
    cut = tmp_path / "cut.vms"
    cut.write_bytes(text[: len(text) // 2])
    with pytest.raises(ReadError, match="cut.vms.*truncated"):
        read(cut, technique="xps")
    bad = tmp_path / "bad.vms"
    bad.write_bytes(text.replace(b"\n1486.61", b"\nabc", 1))
    with pytest.raises(ReadError, match="bad.vms.*expected a number"):
        read(bad, technique="xps")
