"""The XPS and Raman batch adapters give the single-file pipelines' numbers."""
from __future__ import annotations

import json
import shutil
import warnings

import h5py
import numpy as np
import pytest

from naheo_spec.cli.main import main


def _run(capsys, cfg):
    rc = main(["batch", str(cfg), "--json"])
    return rc, json.loads(capsys.readouterr().out)


def _column(store, group, name):
    with h5py.File(store) as f:
        ds = f[group][name]
        return ds.asstr()[()] if ds.dtype.kind == "O" else ds[()]


def test_xps_batch_equals_analyze_region(shared_data, tmp_path, capsys):
    from naheo_spec.io import read
    from naheo_spec.xps.pipeline import analyze_region

    src = shared_data / "xps" / "surfaceanalytics__xpsdeeplearning" / "references"
    shutil.copy(src / "Mn_references.vms", tmp_path)
    shutil.copy(src / "Ni2p_NiO.txt", tmp_path)       # no Mn 2p block: recorded, run goes on
    cfg = tmp_path / "xps.toml"
    cfg.write_text('[input]\nfiles = ["*.vms", "*.txt"]\n[xps]\nregion = "Mn 2p"\n'
                   'error_budget = false\n[output]\nstore = "r.h5"\nsummary = "r.csv"\n')
    rc, summary = _run(capsys, cfg)
    assert rc == 1 and summary["done"] == 3 and len(summary["failed"]) == 1
    assert "Ni2p_NiO.txt" in summary["failed"][0]["file"]
    rows = {}
    import csv

    for row in csv.DictReader(open(tmp_path / "r.csv")):
        rows[row["scan"]] = row
    coll = read(tmp_path / "Mn_references.vms", technique="xps")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, formal in (("MnO Mn 2p", 2), ("Mn2O3 Mn 2p", 3), ("MnO2 Mn 2p", 4)):
            ref = analyze_region(coll[name], "mn2p", error_budget=False)
            got = float(rows[name]["xps_mean_oxidation_state"])
            assert got == pytest.approx(ref.valence.mean_oxidation_state, abs=1e-12)
            assert abs(got - formal) < 0.3          # self-consistency (templates from these)
            assert "xps_fraction_Mn4plus" in rows[name]


def test_raman_batch_equals_analyze_raman(shared_data, tmp_path, capsys):
    from naheo_spec.io import read_spectrum
    from naheo_spec.raman.pipeline import analyze_raman

    src = shared_data / "raman" / "h2020charisma__ramanchada2" / "Renishaw"
    shutil.copy(src / "nCal_Qontor785_z005H12_100_1x3s.txt", tmp_path / "calcite.txt")
    (tmp_path / "empty.txt").write_text("")
    cfg = tmp_path / "raman.toml"
    cfg.write_text('[input]\nfiles = ["*.txt"]\n[raman]\npreset = "calcite"\n'
                   '[output]\nstore = "r.h5"\nsummary = "r.csv"\n')
    rc, summary = _run(capsys, cfg)
    assert rc == 1 and summary["done"] == 1
    assert "empty" in summary["failed"][0]["error"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = analyze_raman(read_spectrum(tmp_path / "calcite.txt", technique="raman"),
                            preset="calcite")
    import csv

    row = next(r for r in csv.DictReader(open(tmp_path / "r.csv")) if r["file"] == "calcite.txt")
    assert row["raman_status"] == "ok"
    assert float(row["raman_spikes_removed"]) == ref.spikes_removed
    assert abs(ref.band("calcite_v1").center_cm1 - 1087.69) < 0.05
