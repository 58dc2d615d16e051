"""Stack results convert to a flat, pandas-free table (one row per scan) and a DataFrame."""

import warnings

import numpy as np
import pytest

from naheo_spec import datasets
from naheo_spec.model import SpectrumStack
from naheo_spec.xas.exafs import analyze_exafs_stack
from naheo_spec.xas.xanes_stack import analyze_xanes_stack


@pytest.fixture(scope="module")
def mno_repeats():
    spectra = [datasets.load(f"mno_mn_k_repeat{i}") for i in (1, 2, 3)]
    return SpectrumStack.from_spectra(spectra)


def test_xanes_stack_to_records(mno_repeats):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze_xanes_stack(mno_repeats)
    rows = res.to_records()
    assert len(rows) == 3
    assert np.allclose([r["e0_eV"] for r in rows], res.e0_eV, rtol=0, atol=1e-9)
    assert all(r["source_sha256"] and r["version"] for r in rows)
    # repeat scans of MnO: the Mn K edge of Mn2+ (6544-6545 eV on the calibrated scale)
    assert all(6540.0 < r["e0_eV"] < 6550.0 for r in rows)


def test_stack_to_dataframe(mno_repeats):
    pd = pytest.importorskip("pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xanes = analyze_xanes_stack(mno_repeats)
        feo = datasets.load("feo_fe_k_exafs")
        exafs = analyze_exafs_stack(SpectrumStack.from_spectra([feo, feo]))
    df = xanes.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == 3
    assert np.allclose(df["e0_eV"].to_numpy(dtype=float), xanes.e0_eV)
    rows = exafs.to_records()
    assert len(rows) == 2 and len(exafs.to_dataframe()) == 2
    # FeO first shell: Fe-O 2.16 A appears near 1.5 A before phase correction
    assert rows[0]["r_apparent_TM_O"] == rows[1]["r_apparent_TM_O"]
    assert 1.3 < rows[0]["r_apparent_TM_O"] < 1.8
