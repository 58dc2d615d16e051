"""``run_demo`` end to end on the SYNTHETIC data set: the XANES pipeline recovers the
true valences and the EXAFS shell fit (FEFF paths of the O3 template) recovers the true
TM–O and TM–TM distances, because the demo χ(k) is summed from the same FEFF paths.
Outputs are written, and a second run without overwrite touches nothing.

FEFF runs into a per-session cache (NAHEO_CACHE), never into ~/.cache.
"""
from __future__ import annotations

import json
import os

import pytest

from naheo_spec.demo.run import run_demo
from naheo_spec.errors import StoreError

N_SCANS = 5          # x = 0, 0.5, 1, 0.5, 0: both ends of the Ni-O contraction and JT disorder


@pytest.fixture(scope="module", autouse=True)
def feff_cache(tmp_path_factory):
    """One FEFF cache per test session (shared with test_demo_data.py), not ~/.cache."""
    root = tmp_path_factory.getbasetemp() / "naheo_cache"
    mp = pytest.MonkeyPatch()
    mp.setenv("NAHEO_CACHE", str(root))
    yield root
    mp.undo()


@pytest.fixture(scope="module")
def ni_demo(tmp_path_factory, feff_cache):
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out, elements=("Ni",), n_scans=N_SCANS)


def test_ni_demo_recovers_valence_and_distances(ni_demo):
    _, report = ni_demo
    assert report.failures == []
    assert report.exafs_model == {"Ni": "feff6l"}
    assert len(report.rows) == N_SCANS
    for row in report.rows:
        assert row["valence"] == pytest.approx(row["valence_true"], abs=0.15)
        for shell, tol in (("TM-O", 0.02), ("TM-TM", 0.03)):
            r, r_true, err = row[f"R_{shell}_A"], row[f"R_{shell}_true_A"], row[f"R_{shell}_err_A"]
            assert abs(r - r_true) < tol, (row["file"], shell, r, r_true)
            assert abs(r - r_true) < 3.0 * err, (row["file"], shell, r, r_true, err)
        # the fitted Delta E0 is the one the truth implies for the pipeline's E0
        assert row["dE0_eV"] == pytest.approx(row["dE0_true_eV"], abs=1.5)
    # the Ni-O contraction on charge is seen in the fit, not only in the truth
    first, top = report.rows[0], report.rows[N_SCANS // 2]
    assert top["state_of_charge"] == 1.0
    assert first["R_TM-O_A"] - top["R_TM-O_A"] == pytest.approx(
        first["R_TM-O_true_A"] - top["R_TM-O_true_A"], abs=0.02)
    assert report.max_abs_r_error_A["Ni"]["TM-O"] < 0.02
    assert report.max_abs_valence_error["Ni"] < 0.15


def test_ni_demo_outputs_exist(ni_demo):
    out, report = ni_demo
    expected = [out / "data" / "README.txt", out / "data" / "truth.csv",
                out / "data" / "standards_Ni.toml",
                out / "results" / "xanes_Ni.h5", out / "results" / "xanes_Ni.csv",
                out / "results" / "exafs_Ni.h5", out / "results" / "exafs_Ni.csv",
                out / "demo_summary.csv", out / "demo_summary.json"]
    for p in expected:
        assert p.is_file() and p.stat().st_size > 0, p
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert {"Ni_xanes_stack.png", "Ni_edge_vs_soc.png", "Ni_valence_calibration.png",
            "Ni_chir_fit_scan00.png", "Ni_distances_vs_scan.png"} <= set(figures)
    assert all(os.path.isfile(f) for f in report.files)
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["exafs_model"] == {"Ni": "feff6l"} and summary["failures"] == []
    assert len(summary["rows"]) == N_SCANS
    assert summary["max_abs_r_error_A"]["Ni"]["TM-TM"] < 0.03


def test_second_run_without_overwrite_raises_and_leaves_files_untouched(ni_demo):
    out, _ = ni_demo
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    with pytest.raises(StoreError, match="not overwritten"):
        run_demo(out, elements=("Ni",), n_scans=N_SCANS, seed=1)
    after = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert after == before
