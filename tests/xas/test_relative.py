"""Edge shifts relative to a reference scan (issue 11.2): the error of a difference, the
reference choice, a stack input, and the CLI's --relative-to."""
import io
import json
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

from conftest import CERIC, LARCH, XDL
from naheo_spec.errors import InputError
from naheo_spec.io import read_spectrum
from naheo_spec.xas.builtin import builtin_calibration
from naheo_spec.xas.relative import relative_shifts, repeat_consistency
from naheo_spec.xas.xanes import analyze_xanes, analyze_xanes_series
from naheo_spec.xas.xanes_stack import analyze_xanes_stack


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.fixture(scope="module")
def nio(xas_data):
    return [r for r in _quiet(analyze_xanes_series, [xas_data / LARCH / "NiO.prj"])
            if r.scan != "NiO"]


def test_difference_error_terms(nio):
    rel = relative_shifts(nio, "NiO.004")
    i0 = rel.reference
    assert rel.labels[i0].endswith("NiO.004") and rel.shift_eV[i0] == 0.0
    a, b = nio[0], nio[i0]
    # per-scan foils: their terms add; the normalization term is that of the difference
    assert rel.terms_eV["foil"][0] == pytest.approx(
        np.hypot(a.e0_err_terms_eV["foil"], b.e0_err_terms_eV["foil"]))
    assert rel.terms_eV["normalization"][0] < 0.5 * np.hypot(
        a.e0_err_terms_eV["normalization"], b.e0_err_terms_eV["normalization"])
    assert rel.shift_eV[0] == pytest.approx(a.e0_eV - b.e0_eV)
    # a valence change: slope error only (intercept and scatter cancel)
    cal = builtin_calibration("ni")
    relv = relative_shifts(nio, 0, calibration=cal)
    assert relv.valence_change[3] == pytest.approx(relv.shift_eV[3] / cal.slope_eV)
    assert relv.valence_change_err[3] < cal.predict(nio[3].e0_eV, nio[3].e0_err_eV).valence_err


def test_reference_choice(nio, xas_data):
    with pytest.raises(InputError, match="pristine"):
        relative_shifts(nio, "pristine")
    with pytest.raises(InputError, match="not in the series"):
        relative_shifts(nio, "NiO.999")
    with pytest.raises(InputError, match="out of range"):
        relative_shifts(nio, 42)
    # a failed scan is skipped, never the reference
    mixed = list(nio[:3]) + _quiet(analyze_xanes_series, [xas_data / "missing.xdi"])
    rel = relative_shifts(mixed, "first")
    assert np.isnan(rel.shift_eV[3]) and any(w.code == "xas.relative.reference_failed"
                                              for w in rel.warnings)


def test_mixed_calibration_keeps_the_energy_scale(xas_data):
    cal = _quiet(analyze_xanes, xas_data / CERIC / "Fe3O4_311.xdi")        # foil
    raw = _quiet(analyze_xanes, xas_data / XDL / "Fe3O4_rt_01.xdi")        # no foil
    rel = relative_shifts([cal, raw], "first")
    assert rel.shift_err_eV[1] > 1.0                     # the 1 eV energy scale stays
    assert any(w.code == "xas.relative.mixed_calibration" for w in rel.warnings)


def test_stack_input_and_repeat_consistency(xas_data):
    s = _quiet(read_spectrum, xas_data / CERIC / "FeO_311.xdi")
    rng = np.random.default_rng(2)
    e = s.energy
    rows = [np.interp(e - d, e, s.mu) + 2e-3 * rng.standard_normal(e.size)
            for d in (0.0, 0.0, 0.0, 1.0)]
    res = _quiet(analyze_xanes_stack, (e, np.array(rows)), element="Fe", foil=False)
    rel = relative_shifts(res, 0)
    assert rel.shift_eV[3] == pytest.approx(1.0, abs=0.1)
    assert np.all(np.abs(rel.shift_eV[1:3]) < 2 * rel.shift_err_eV[1:3])
    rc = repeat_consistency(res.row(i) for i in range(3))
    assert rc.dof == 2 and rc.reduced_chi2 < 2.0


def _cli(argv):
    from naheo_spec.cli.main import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(argv)
    return rc, buf.getvalue()


def test_cli_relative_to(xas_data, tmp_path):
    files = [str(xas_data / XDL / f"NiOH2_rt_0{k}.xdi") for k in (1, 2, 3)]
    rc, out = _cli(["xanes", *files, "--relative-to", "NiOH2_rt_01.xdi", "--json",
                    "-o", str(tmp_path / "r.h5"), "--plot", str(tmp_path / "fig")])
    rows = json.loads(out)
    assert [r["relative"]["reference"] for r in rows] == ["NiOH2_rt_01.xdi"] * 3
    assert rows[0]["relative"]["shift_eV"] == 0.0
    for r in rows[1:]:
        rel = r["relative"]
        assert abs(rel["shift_eV"]) <= 2 * rel["shift_err_eV"]          # repeats: zero
        assert "energy_scale" in rel["cancelled_terms"]
        assert rel["valence_change"] is not None                     # built-in Ni line
    assert (tmp_path / "fig" / "e0_shift_vs_scan.png").is_file()
    from naheo_spec.store import check_nexus, read_records

    kinds = {r.kind for r in read_records(tmp_path / "r.h5")}
    assert "xanes_relative" in kinds and check_nexus(tmp_path / "r.h5") == []
    table = (tmp_path / "r_shifts.csv").read_text().splitlines()
    assert table[0].startswith("scan,") and "shift_err_eV" in table[0] and len(table) == 4
    rc, out = _cli(["xanes", *files, "--relative-to", "nothing-like-this"])
    assert rc != 0
