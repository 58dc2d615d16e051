"""CLI `xanes` and `exafs` on real spectra: JSON contract, store output, bad scans in a batch."""
import json
from pathlib import Path

import pytest

from conftest import CERIC, LARCH, REPO, SHARED_DATA, XDL
from naheo_spec.cli.main import main

XANES_KEYS = ["file", "scan", "element", "edge", "e0_method", "e0_eV", "e0_err_eV",
              "e0_err_terms_eV", "edge_step", "foil_shift_eV", "oxidation_state",
              "oxidation_state_err", "markers", "warnings"]
EXAFS_KEYS = ["file", "element", "e0_eV", "kmax_data", "ft_peaks", "shell_fit", "warnings"]
PATH_KEYS = {"label", "scatterer", "reff_A", "r_A", "r_err_A", "n", "n_err", "sigma2_A2",
             "sigma2_err_A2"}


def run_json(capsys, args):
    rc = main(args + ["--json"])
    out = capsys.readouterr()
    return rc, json.loads(out.out), out.err


def test_e0_choices_match_the_library():
    from naheo_spec.cli.xanes import E0_METHOD_CHOICES
    from naheo_spec.xas.e0 import E0_METHODS

    assert tuple(E0_METHOD_CHOICES) == tuple(E0_METHODS)


def test_xanes_json_with_standards_in_input_order(xas_data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NAHEO_SHARED_DATA", str(SHARED_DATA))
    bad = tmp_path / "empty.xdi"
    bad.write_text("")
    scans = [xas_data / CERIC / "Fe3O4_311.xdi", bad, xas_data / XDL / "Fe3O4_rt_01.xdi"]
    toml = REPO / "reference_spectra" / "xanes_standards" / "fe.toml"
    rc, rows, err = run_json(capsys, ["xanes", *map(str, scans), "--standards", str(toml),
                                      "-o", str(tmp_path / "x.h5")])
    assert rc == 1 and "empty.xdi" in err          # the bad file is reported...
    assert [Path(r["file"]).name for r in rows] == [p.name for p in scans]
    good = [rows[0], rows[2]]                      # ...and the good ones still processed
    for r in good:
        assert list(r)[:len(XANES_KEYS)] == XANES_KEYS
        assert r["element"] == "Fe" and r["edge"] == "K" and r["e0_method"] == "half-height"
        # magnetite is formally Fe(2.67): the Fe line (8 real standards) puts it within 0.25
        assert r["oxidation_state"] == pytest.approx(8 / 3, abs=0.25)
        assert 0 < r["oxidation_state_err"] < 0.3
    assert rows[0]["foil_shift_eV"] is not None    # CERIC file carries its foil (murefer)
    assert rows[2]["foil_shift_eV"] is None        # XDL file has none: flagged
    assert any("foil" in w["message"] for w in rows[2]["warnings"])
    assert rows[1]["error"] and rows[1]["e0_eV"] is None
    from naheo_spec.store import read_records

    recs = read_records(tmp_path / "x.h5")
    assert {r.kind for r in recs} >= {"xanes"} and len(recs) == 3   # 2 scans + calibration
    assert (tmp_path / "x.csv").is_file()


def test_xanes_without_standards_has_null_valence_and_methods_differ(xas_data, capsys):
    scan = str(xas_data / CERIC / "mno2_10m.xdi")
    rc, (hh,), _ = run_json(capsys, ["xanes", scan, "--no-valence"])
    rc2, (md,), _ = run_json(capsys, ["xanes", scan, "--e0-method", "max-derivative",
                                      "--no-valence"])
    assert rc == rc2 == 0
    assert hh["oxidation_state"] is None and hh["oxidation_state_err"] is None
    # notes §3: MnO2 (mno2_10m, foil-calibrated) half-height 6552.16 eV, max-derivative 6558.28 eV
    assert hh["e0_eV"] == pytest.approx(6552.16, abs=0.3)
    assert md["e0_eV"] == pytest.approx(6558.28, abs=0.3)


def test_xanes_non_foil_reference_is_flagged_not_applied(xas_data, capsys):
    rc, (r,), _ = run_json(capsys, ["xanes", str(xas_data / XDL / "MnO_rt_01.xdi")])
    assert rc == 0
    assert r["foil_shift_eV"] is None
    assert any("foil" in w["message"].lower() for w in r["warnings"])


def test_xanes_edge_outside_range_is_an_error(xas_data, tmp_path, capsys):
    import numpy as np

    from naheo_spec.io import read_spectrum

    s = read_spectrum(xas_data / CERIC / "FeO_311.xdi")
    keep = s.energy > 7200.0                       # post-edge only: the edge is not in the scan
    p = tmp_path / "post_edge_only.dat"
    np.savetxt(p, np.c_[s.energy[keep], s.mu[keep]], header="energy mu")
    rc, (r,), err = run_json(capsys, ["xanes", str(p)])
    assert rc == 1 and r["error"] and r["oxidation_state"] is None
    assert "post_edge_only.dat" in err and "Traceback" not in err


def test_exafs_json_peaks(xas_data, capsys):
    rc, (r,), _ = run_json(capsys, ["exafs", str(xas_data / LARCH / "feo_rt1.xdi"),
                                    "--bkg-kweight", "2"])
    assert rc == 0
    assert list(r)[:len(EXAFS_KEYS)] == EXAFS_KEYS and r["shell_fit"] is None
    peaks = {p["label"]: p["r_apparent_A"] for p in r["ft_peaks"]}
    # notes §3 (rbkg 1, bkg kweight 2, k 3-12, dk 1, hanning, kw 2): FeO 1.60 and 2.64 Å
    assert peaks["TM-O"] == pytest.approx(1.60, abs=0.05)
    assert peaks["TM-TM"] == pytest.approx(2.64, abs=0.05)


def test_exafs_fit_from_template(xas_data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NAHEO_CACHE", str(tmp_path / "cache"))
    rc, rows, _ = run_json(capsys, ["exafs", str(xas_data / LARCH / "NiO.prj"), "--fit",
                                    "rocksalt:a=4.1769", "--absorber", "Ni", "-o",
                                    str(tmp_path / "e.h5"), "--plot", str(tmp_path / "figs")])
    assert rc == 0 and len(rows) == 11
    merged = next(r for r in rows if r["scan"] == "NiO")
    fit = merged["shell_fit"]
    assert {p["label"] for p in fit["paths"]} == {"Ni-O", "Ni-Ni"}
    for p in fit["paths"]:
        assert set(p) == PATH_KEYS
    r = {p["label"]: p for p in fit["paths"]}
    assert r["Ni-O"]["r_A"] == pytest.approx(4.1769 / 2, abs=0.03)          # 2.088 Å
    assert r["Ni-Ni"]["r_A"] == pytest.approx(4.1769 / 2 ** 0.5, abs=0.04)   # 2.954 Å
    assert 0 < r["Ni-O"]["r_err_A"] < 0.05
    assert (tmp_path / "figs" / "distances_vs_scan.png").is_file()
    import csv

    table = list(csv.DictReader(open(tmp_path / "e_distances.csv")))
    assert len(table) == 11 and table[-1]["scan"] == "NiO"
    assert float(table[-1]["Ni-O_r_A"]) == pytest.approx(r["Ni-O"]["r_A"], abs=1e-9)


def test_exafs_short_data_is_flagged(xas_data, tmp_path, capsys):
    import numpy as np

    from naheo_spec.io import read_spectrum

    s = read_spectrum(xas_data / LARCH / "feo_rt1.xdi")
    keep = s.energy < 7112 + 5.5 ** 2 * 3.81 + 10     # data end near k = 5.6 Å⁻¹
    p = tmp_path / "short.dat"
    np.savetxt(p, np.c_[s.energy[keep], s.mu[keep]], header="energy mu")
    rc, (r,), _ = run_json(capsys, ["exafs", str(p), "--kmin", "2"])
    assert any("data end at k = 5." in w["message"] and "unreliable" in w["message"] for w in r["warnings"]), r["warnings"]
