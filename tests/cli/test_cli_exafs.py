"""CLI `exafs` on real spectra: what a new user hit (E0 method, foils, failed default fits),
the next-edge limit from --composition, fluorescence."""
import json

import pytest

from conftest import CERIC, LARCH
from naheo_spec.cli.main import main

TARGET = "Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2"


def run_json(capsys, args):
    rc = main(args + ["--json"])
    out = capsys.readouterr()
    return rc, json.loads(out.out), out.err


def test_table_says_which_e0_and_k_range(xas_data, capsys):
    rc = main(["exafs", str(xas_data / LARCH / "feo_rt1.xdi")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "E0 7122.93 eV (max-derivative)" in out and "FT k 3.00–12.00 Å⁻¹" in out


def test_foil_gets_metal_windows_without_asking(xas_data, capsys):
    rc, (r,), _ = run_json(capsys, ["exafs", str(xas_data / LARCH / "ni_metal_rt.xdi")])
    assert rc == 0 and r["peak_windows"] == "metal"
    assert [p["label"] for p in r["ft_peaks"]] == ["TM-TM"]
    assert any(w["code"] == "xas.exafs.metal_foil" for w in r["warnings"])
    rc, (r,), _ = run_json(capsys, ["exafs", str(xas_data / LARCH / "ni_metal_rt.xdi"),
                                    "--peak-windows", "oxide"])
    assert r["peak_windows"] == "oxide"


@pytest.mark.parametrize("rel, ref, fix", [
    (f"{CERIC}/MnO.xdi", "ref:MnO", "--kmax"),                 # glitch + Fe step at high k
    (f"{CERIC}/FeO_311.xdi", "ref:FeO", "--bkg-kweight 2"),     # larch's kweight-1 background
    (f"{LARCH}/prj_export/Mn__MnO.dat", "ref:MnO", "--bkg-kweight 2"),
])
def test_failed_default_fit_says_which_range_to_try(xas_data, tmp_path, capsys, monkeypatch,
                                                    rel, ref, fix):
    """The default fit of real MnO / FeO fails its checks; the output names the k or R range
    (or background k-weight) that passes, and following it gives a clean fit."""
    monkeypatch.setenv("NAHEO_CACHE", str(tmp_path / "cache"))
    rc, (r,), _ = run_json(capsys, ["exafs", str(xas_data / rel), "--fit", ref])
    codes = [w["code"] for w in r["warnings"]]
    assert "xas.shellfit.try_range" in codes
    sugg = r["shell_fit"]["suggestion"]
    assert fix in sugg["options"]
    rc, (again,), _ = run_json(capsys, ["exafs", str(xas_data / rel), "--fit", ref,
                                        *sugg["options"].split()])
    fit = again["shell_fit"]
    assert fit["suggestion"] is None and fit["r_factor"] < 0.05
    assert not [w for w in fit["warnings"]]
    for p in fit["paths"]:
        assert p["r_A"] == pytest.approx(sugg["distances_A"][p["label"]], abs=0.002)


def test_composition_caps_the_ni_k_range_before_cu(xas_data, capsys):
    rc, rows, _ = run_json(capsys, ["exafs", str(xas_data / LARCH / "NiO.prj"),
                                    "--composition", TARGET, "--kmax", "15"])
    merged = next(r for r in rows if r["scan"] == "NiO")
    assert merged["k_limit"]["element"] == "Cu" and merged["k_limit"]["source"] == "composition"
    assert merged["ft_k_range"][1] == pytest.approx(merged["k_limit"]["kmax_invA"] - 0.5)
    msg = next(w["message"] for w in merged["warnings"] if w["code"] == "xas.exafs.next_edge")
    assert "below the Cu K edge (8979 eV" in msg


def test_bad_composition_is_refused_before_work(xas_data, capsys):
    rc = main(["exafs", str(xas_data / LARCH / "feo_rt1.xdi"), "--composition", "NaXy2"])
    err = capsys.readouterr().err
    assert rc != 0 and "composition" in err and "Traceback" not in err


def test_fluorescence_mode_needs_a_composition(xas_data, capsys):
    """feo_rt1.xdi has no Sample.formula: flagged, not corrected. CERIC Mn_foil_111.xdi
    says 'Sample.formula: Mn': corrected with it, and the large correction is flagged."""
    rc, (r,), _ = run_json(capsys, ["exafs", str(xas_data / LARCH / "feo_rt1.xdi"),
                                    "--mode", "fluorescence"])
    assert any(w["code"] == "xas.exafs.self_absorption_not_corrected" for w in r["warnings"])
    assert r["self_absorption"] is None
    rc, (r,), _ = run_json(capsys, ["exafs", str(xas_data / CERIC / "Mn_foil_111.xdi"),
                                    "--mode", "fluorescence"])
    assert r["self_absorption"]["formula"] == "Mn" and r["self_absorption"]["amplitude_factor"] > 3
    assert any(w["code"] == "xas.exafs.self_absorption_large" for w in r["warnings"])
    rc, (r,), _ = run_json(capsys, ["exafs", str(xas_data / CERIC / "Mn_foil_111.xdi"),
                                    "--mode", "fluorescence", "--no-self-absorption"])
    assert r["self_absorption"] is None


def test_share_tmtm_fits_scans_together(xas_data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NAHEO_CACHE", str(tmp_path / "cache"))
    prj = xas_data / LARCH / "prj_export"
    rc, rows, err = run_json(capsys, ["exafs", str(prj / "NiO__NiO_000.dat"),
                                      str(prj / "NiO__NiO.dat"), "--fit", "ref:NiO",
                                      "--bkg-kweight", "2", "--share-tmtm"])
    assert rc == 0 and "shared TM-TM distance of 2 scans" in err
    shared = rows[0]["shell_fit"]["shared"]["r_tmtm_A"]
    assert rows[1]["shell_fit"]["shared"]["r_tmtm_A"] == shared
    for r in rows:
        ni_ni = next(p for p in r["shell_fit"]["paths"] if p["label"] == "Ni-Ni")
        assert ni_ni["r_A"] == pytest.approx(shared["value"], abs=1e-9)
    rc = main(["exafs", str(prj / "NiO__NiO_000.dat"), "--share-tmtm"])
    assert rc != 0 and "--fit" in capsys.readouterr().err
