"""results_table / to_dataframe / write_summary_table: one row per scan for per-scan results
and for stacks, with the provenance columns, on bundled real spectra."""
import csv
import hashlib
import math
import warnings

import numpy as np
import pytest

from naheo_spec import datasets
from naheo_spec.errors import InputError
from naheo_spec.io import read_spectrum
from naheo_spec.model import SpectrumStack
from naheo_spec.store import results_table, to_dataframe, write_summary_table
from naheo_spec.xas.builtin import builtin_calibration
from naheo_spec.xas.xanes import analyze_xanes
from naheo_spec.xas.xanes_stack import analyze_xanes_stack

MN = ("mno_mn_k", "mn2o3_mn_k", "mno2_mn_k")


@pytest.fixture(scope="module")
def mn_stack_result():
    spectra = [read_spectrum(datasets.path(n)) for n in MN]
    grid = spectra[2].energy[5:-5]
    stack = SpectrumStack.from_spectra(spectra, axis=grid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze_xanes_stack(stack, calibration=builtin_calibration("Mn"))


def test_per_scan_results_one_row_each_with_provenance():
    results = [analyze_xanes(datasets.load(n), markers=False) for n in MN]
    columns, rows = results_table(results)
    assert columns[:5] == ["name", "kind", "source_file", "source_sha256", "version"]
    assert [r["e0_eV"] for r in rows] == [r.e0_eV for r in results]
    digest = hashlib.sha256(datasets.path(MN[0]).read_bytes()).hexdigest()
    assert rows[0]["source_sha256"] == digest
    # the Mn K edge moves up with oxidation state: MnO < Mn2O3 < MnO2
    assert rows[0]["e0_eV"] < rows[1]["e0_eV"] < rows[2]["e0_eV"]


def test_stack_gives_one_row_per_scan(mn_stack_result, tmp_path):
    res = mn_stack_result
    columns, rows = results_table(res)
    assert len(rows) == 3
    assert [r["e0_eV"] for r in rows] == pytest.approx(res.e0_eV.tolist(), abs=0)
    assert [r["oxidation_state"] for r in rows] == pytest.approx(res.oxidation_state.tolist())
    # built-in line, valences of the three formal states within the line's error
    for r, formal in zip(rows, (2, 3, 4)):
        assert abs(r["oxidation_state"] - formal) < max(0.3, 2 * r["oxidation_state_err"])
    assert {"pre_range_eV_0", "pre_range_eV_1", "scan", "e0_err_eV"} <= set(columns)
    out = write_summary_table(tmp_path / "stack.csv", res)
    back = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [float(b["e0_eV"]) for b in back] == res.e0_eV.tolist()     # full precision


def test_exafs_stack_rows_match_the_peaks():
    from naheo_spec.io import read_spectra
    from naheo_spec.xas.exafs import analyze_exafs_stack

    scans = [s for s in read_spectra(datasets.path("nio_ni_k")) if s.source.scan != "NiO"][:3]
    stack = SpectrumStack.from_spectra(scans, axis=scans[0].energy[10:-10])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze_exafs_stack(stack, bkg_kweight=2)
    _, rows = results_table(res)
    assert len(rows) == len(scans)
    tmo = res.peak_positions("TM-O")
    for r, expected in zip(rows, tmo):
        got = r["r_apparent_TM_O"]
        assert got == pytest.approx(expected)
        assert 1.5 < got < 1.8            # Ni-O 2.09 A minus the phase shift


def test_dataframe_and_bad_input(mn_stack_result):
    df = to_dataframe([mn_stack_result])
    assert df.shape[0] == 3 and np.allclose(df["e0_eV"], mn_stack_result.e0_eV)
    with pytest.raises(InputError, match="cannot tabulate a dict"):
        results_table([{"e0": 1.0}])
    assert not math.isnan(df["oxidation_state"].iloc[0])
