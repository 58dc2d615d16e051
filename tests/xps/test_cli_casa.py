"""CLI contract (JSON keys, batch past bad files, store) and CasaXPS lines."""
from __future__ import annotations

import json
import warnings

import pytest
from xps.conftest import REF, XDL

from naheo_spec.cli.main import main
from naheo_spec.io import read
from naheo_spec.store import check_nexus
from naheo_spec.xps.casa import parse_casa, parse_casa_region
from naheo_spec.xps.pipeline import JSON_DETAIL_KEYS
from naheo_spec.xps.pipeline import JSON_KEYS as LIB_KEYS

warnings.filterwarnings("ignore", category=UserWarning)


def test_json_keys_and_batch(xps_data, tmp_path, capsys):
    from naheo_spec.cli.xps import BACKGROUND_CHOICES, JSON_KEYS
    from naheo_spec.cli.xps import JSON_DETAIL_KEYS as CLI_DETAIL_KEYS
    from naheo_spec.xps.background import BACKGROUND_TYPES

    assert JSON_KEYS == LIB_KEYS and set(BACKGROUND_CHOICES) == set(BACKGROUND_TYPES)
    assert CLI_DETAIL_KEYS == JSON_DETAIL_KEYS
    out = tmp_path / "r.h5"
    rc = main(["xps", str(xps_data / f"{REF}/Mn_references.vms"), str(tmp_path / "missing.vms"),
               "--region", "Mn 2p", "--model", "mn2p", "--json", "-o", str(out), "--no-budget"])
    assert rc == 1
    entries = json.loads(capsys.readouterr().out)
    ok = [e for e in entries if "error" not in e]
    assert len(ok) == 3 and tuple(ok[0]) == JSON_KEYS + JSON_DETAIL_KEYS
    assert ok[0]["model"] == "mn2p" and ok[0]["charge_reference"]["method"] == "none"
    assert set(ok[0]["error_terms"]) == {"fit"}                  # --no-budget: the fit term
    assert set(ok[0]["components"][0]) == {"name", "center_eV", "center_err_eV", "fwhm_eV",
                                           "area", "area_err", "area_fraction"}
    assert [round(e["mean_oxidation_state"]) for e in ok] == [2, 3, 4]
    assert any("missing.vms" in e["error"] for e in entries if "error" in e)
    failed = [e for e in entries if "error" in e]
    assert all(set(JSON_KEYS + JSON_DETAIL_KEYS) <= set(e) for e in failed)
    assert check_nexus(out) == []


def test_kinetic_file_without_photon_energy_cli(xps_data, capsys):
    rc = main(["xps", str(xps_data / "Julian-Hochhaus__lmfitxps/clean_Au_4f.csv"), "--region",
               "Au 4f"])
    assert rc == 1
    assert "--photon-energy" in capsys.readouterr().err


def test_real_casa_lines_parse(xps_data):
    c = read(xps_data / f"{XDL}/measured/EX502-506_Fe_Ni_Co_mixed_oxides.vms")
    regions, comps = parse_casa(c[0].header)
    assert regions[0].background == "Min Limits" and len(comps) == 9
    nio = next(k for k in comps if k.name == "NiO")
    assert nio.uses_data_lineshape and nio.position == pytest.approx(631.44195)


def test_casa_refit_needs_comp_lines(xps_data, capsys):
    """A block with a CASA region but no CASA comp line (the single oxides of EX502)."""
    rc = main(["xps", str(xps_data / f"{XDL}/measured/EX502-506_Fe_Ni_Co_mixed_oxides.vms"),
               "--block", "CoO Ni 2p-Co 2p-Fe 2p", "--model", "casa"])
    assert rc == 1 and "no CASA comp line" in capsys.readouterr().err


def test_synthetic_casa_tougaard_line():
    """SYNTHETIC hand-written line (no shared file has a Tougaard region)."""
    r = parse_casa_region("CASA region (*Mn 2p*) (*U 3 Tougaard*) 820 850 13.91 3 0 0 "
                          "2866 1643 100 0 (*Mn*) 0 0 0")
    assert r.background == "U 3 Tougaard" and r.cross_section == (2866.0, 1643.0, 100.0, 0.0)


def test_json_and_store_summary_carry_the_same_terms(xps_data):
    """--json and the -o summary are built by the same methods: error terms and the charge
    balance agree key for key (real MnO2 Mn 2p, full budget, balanced against MnO2)."""
    from naheo_spec.xps.pipeline import analyze_region, sample_charge_balance

    mn = read(xps_data / f"{REF}/Mn_references.vms", technique="xps")
    r = analyze_region(mn["MnO2 Mn 2p"], "mn2p")
    assert r.to_json_dict()["charge_balance"] is None
    r = r.with_charge_balance(sample_charge_balance([r], "MnO2"))
    d, s = r.to_json_dict(), r.summary()
    json.dumps(d)
    assert set(d["error_terms"]) == {"fit", "background", "template", "charge_reference"}
    for term, vals in d["error_terms"].items():
        assert vals["mean_oxidation_state"] == s[f"mos_err_{term}"]
        assert set(vals) == set(d["valence_fractions"]) | {"mean_oxidation_state"}
    cb = d["charge_balance"]
    assert cb["residual"] == s["charge_balance_residual"]
    assert cb["residual_err"] == s["charge_balance_residual_err"] == pytest.approx(
        d["mean_oxidation_state_err"])                          # Mn x 1: only Mn's error
    assert abs(cb["residual"]) <= 2 * cb["residual_err"]        # MnO2 balances (4.00)
    assert s["charge_balance_composition"] == "Mn1O2"


def test_cli_charge_balance_reaches_json_and_store(xps_data, tmp_path, capsys):
    from naheo_spec.store import read_records

    out = tmp_path / "cb.h5"
    rc = main(["xps", str(xps_data / f"{REF}/Mn_references.vms"), "--block", "MnO2 Mn 2p",
               "--model", "mn2p", "--composition", "MnO2", "--json", "-o", str(out)])
    assert rc == 0
    (entry,) = json.loads(capsys.readouterr().out)
    cb = entry["charge_balance"]
    assert cb is not None and abs(cb["residual"]) <= 2 * cb["residual_err"]   # Mn4+ O2
    (rec,) = read_records(out)
    assert rec.summary["charge_balance_residual"] == pytest.approx(cb["residual"])


def test_analyze_region_takes_a_path(xps_data):
    from naheo_spec.errors import InputError
    from naheo_spec.xps.pipeline import analyze_region

    path = xps_data / f"{REF}/Mn_references.vms"
    r = analyze_region(path, "mn2p", block="MnO2 Mn 2p", error_budget=False)
    assert round(r.valence.mean_oxidation_state) == 4 and r.file == str(path)
    with pytest.raises(InputError, match="blocks; choose one with block="):
        analyze_region(path, "mn2p")
    with pytest.raises(InputError, match="a Spectrum or a file path"):
        analyze_region(42, "mn2p")
