"""Vectorized XANES stack pipeline: the same numbers and warnings as analyze_xanes, scan by
scan, on real spectra (CERIC Fe/Mn oxides with their murefer foils, XDL Mn with its "Mn
filter" reference), plus the failure rows, options and the store record."""
import doctest
import json
import warnings

import numpy as np
import pytest
from conftest import CERIC, REPO, XDL
from conftest import common_stack as _common_stack
from conftest import quiet as _quiet

from naheo_spec.errors import CalibrationError, InputError, QualityWarning
from naheo_spec.io import read_spectrum
from naheo_spec.model import SourceInfo, SpectrumStack
from naheo_spec.xas.standards import build_calibration
from naheo_spec.xas.valence import fit_calibration
from naheo_spec.xas.xanes import JSON_KEYS, analyze_xanes, analyze_xanes_series
from naheo_spec.xas.xanes_stack import XanesStackResult, analyze_xanes_stack

STANDARDS = REPO / "reference_spectra" / "xanes_standards"
NUMBERS = ("e0_err_eV", "edge_step", "foil_shift_eV", "oxidation_state_err")


def _replicas(st: SpectrumStack, n: int, seed: int, drift_eV: float = 0.6,
              noise: float = 0.002) -> SpectrumStack:
    """The stack plus ``n`` copies of each scan with seeded noise and a monochromator drift
    (sample and foil moved together), so foil shifts and E0s vary from scan to scan."""
    rng = np.random.default_rng(seed)
    e = st.axis
    sig, ref = [st.signals], [st.references]
    labels = [st.label(i) for i in range(len(st))]
    base = list(labels)
    for k in range(n):
        d = rng.uniform(-drift_eV, drift_eV, len(st))
        sig.append(np.array([np.interp(e - di, e, m) for di, m in zip(d, st.signals)])
                   + noise * rng.standard_normal(st.signals.shape))
        ref.append(np.array([np.interp(e - di, e, r) for di, r in zip(d, st.references)]))
        labels += [f"{lab}#{k}" for lab in base]
    return SpectrumStack(axis=e, signals=np.vstack(sig), references=np.vstack(ref),
                         element=st.element, edge=st.edge, labels=labels, source=st.source)


def _per_scan(st, **kw):
    return _quiet(analyze_xanes_series, [st[i] for i in range(len(st))], **kw)


def assert_matches_per_scan(res: XanesStackResult, per, *, generic_errors=()):
    """Stack JSON == per-scan JSON: keys and order, E0 1e-6 eV, valence 1e-9, warnings."""
    rows = res.to_json_list()
    assert len(rows) == len(per)
    for i, (d, r) in enumerate(zip(rows, per)):
        p = r.to_json_dict()
        assert list(d) == list(p), i
        if "error" in p:
            assert "error" in d, (i, p["error"])
            if i not in generic_errors:
                assert d["error"] == p["error"], i
            continue
        assert list(d) == list(JSON_KEYS)
        assert d["e0_eV"] == pytest.approx(p["e0_eV"], abs=1e-6), i
        if p["oxidation_state"] is None:
            assert d["oxidation_state"] is None
        else:
            assert d["oxidation_state"] == pytest.approx(p["oxidation_state"], abs=1e-9), i
        for k in NUMBERS:
            assert (d[k] is None) == (p[k] is None), (i, k)
            if p[k] is not None:
                assert d[k] == pytest.approx(p[k], rel=1e-9, abs=1e-12), (i, k)
        for k in ("file", "scan", "element", "edge", "e0_method"):
            assert d[k] == p[k], (i, k)
        assert d["warnings"] == p["warnings"], i


@pytest.fixture(scope="module")
def fe_cal(xas_data):
    return _quiet(build_calibration, STANDARDS / "fe.toml", data_root=xas_data.parent)


@pytest.fixture(scope="module")
def mn_cal(xas_data):
    return _quiet(build_calibration, STANDARDS / "mn.toml", data_root=xas_data.parent)


@pytest.fixture(scope="module")
def fe_stack(xas_data):
    base = _common_stack(xas_data, CERIC, ["FeO_311.xdi", "Fe3O4_311.xdi"])
    return base, _replicas(base, 12, seed=7)


def test_fe_oxides_equal_per_scan_and_physics(fe_stack, fe_cal):
    base, st = fe_stack
    res = _quiet(analyze_xanes_stack, st, calibration=fe_cal)
    assert_matches_per_scan(res, _per_scan(st, calibration=fe_cal))
    assert res.valid.all() and len(res) == 26
    # the foils are used (a handful of distinct, grid-quantized shifts), not ignored
    assert np.isfinite(res.foil_shift_eV).all() and np.unique(res.foil_shift_eV).size > 1
    # notes §3: foil-calibrated half-height FeO 7118.81, Fe3O4 7122.24 eV (±0.3)
    assert res.e0_eV[0] == pytest.approx(7118.81, abs=0.3)
    assert res.e0_eV[1] == pytest.approx(7122.24, abs=0.3)
    # the drift moved sample and foil together: the calibrated E0 of the replicas stays put
    assert np.ptp(res.e0_eV[0::2]) < 0.3 and np.ptp(res.e0_eV[1::2]) < 0.3
    assert res.oxidation_state[0::2] == pytest.approx(2.0, abs=0.25)
    assert res.oxidation_state[1::2] == pytest.approx(8 / 3, abs=0.25)
    assert np.all(res.oxidation_state_err < 0.3)
    # SpectrumStack.from_spectra on the original two gives the same two scans
    two = _quiet(analyze_xanes_stack, base, calibration=fe_cal)
    assert np.array_equal(two.e0_eV, res.e0_eV[:2])


def test_max_derivative_bootstrap_errors_and_warnings_match(xas_data):
    # white-line Mn oxides: max-derivative E0 jumps under noise (notes §3), flagged per scan
    base = _common_stack(xas_data, CERIC, ["MnO.xdi", "bixbyite_10m.xdi", "mno2_10m.xdi"])
    st = _replicas(base, 4, seed=3, noise=0.003)
    res = _quiet(analyze_xanes_stack, st, e0_method="max-derivative", keep_norm=False)
    assert_matches_per_scan(res, _per_scan(st, e0_method="max-derivative"))
    assert res.norm is None
    assert any(w.code == "xas.e0.bootstrap_spread" for ws in res.scan_warnings for w in ws)
    # notes §3: MnO2 max-derivative 6558.28 eV after its foil correction
    assert res.e0_eV[2] == pytest.approx(6558.28, abs=0.3)


def test_non_foil_reference_rejected_per_scan(xas_data, mn_cal):
    # XDL Mn "Mn filter" channel (E0 6544-6546 eV): rejected, never applied (notes §2)
    st = _common_stack(xas_data, XDL, [f"{n}_rt_01.xdi" for n in ("MnO", "Mn2O3", "Mn3O4",
                                                                   "MnO2")])
    with pytest.warns(QualityWarning, match="reference channel rejected"):
        res = analyze_xanes_stack(st, calibration=mn_cal)
    assert_matches_per_scan(res, _per_scan(st, calibration=mn_cal))
    assert np.isnan(res.foil_shift_eV).all()
    for ws in res.scan_warnings:
        assert any("reference channel rejected" in w.message for w in ws)
        assert any("not calibrated against a foil" in w.message for w in ws)
    assert any(w.message.startswith("4 of 4 scans") for w in res.warnings)


@pytest.mark.parametrize("opts", [
    {"preset": "athena"},                                  # range fallbacks on XANES-only scans
    {"pre_range": (-100, -30), "norm_range": (30, 300), "nnorm": 3},
    {"foil": False},
    {"e0_method": "arctan"},
])
def test_options_match_per_scan(xas_data, opts):
    folder, names = (XDL, [f"{n}_rt_01.xdi" for n in ("MnO", "MnO2")]) \
        if opts.get("preset") == "athena" else (CERIC, ["MnO.xdi", "mno2_10m.xdi"])
    st = _common_stack(xas_data, folder, names)
    res = _quiet(analyze_xanes_stack, st, **opts)
    assert_matches_per_scan(res, _per_scan(st, **opts))
    assert res.provenance.parameters["preset"] == opts.get("preset", "larch")


def test_separate_foil_and_unknown_element(xas_data, mn_cal):
    st = _common_stack(xas_data, CERIC, ["MnO.xdi", "bixbyite_10m.xdi"])
    foil = _quiet(read_spectrum, xas_data / CERIC / "Mn_foil_111.xdi")
    res = _quiet(analyze_xanes_stack, st, foil=foil, calibration=mn_cal)
    assert_matches_per_scan(res, _per_scan(st, foil=foil, calibration=mn_cal))
    assert np.unique(res.foil_shift_eV).size == 1          # one foil for every scan
    bare = SpectrumStack(axis=st.axis, signals=st.signals, references=st.references)
    res = _quiet(analyze_xanes_stack, bare)
    assert_matches_per_scan(res, _per_scan(bare))
    assert res.element is None and np.isnan(res.foil_shift_eV).all()


def test_bad_rows_fail_alone_like_a_series(xas_data, mn_cal):
    st = _common_stack(xas_data, CERIC, ["MnO.xdi", "bixbyite_10m.xdi", "mno2_10m.xdi"])
    good, e = st.signals, st.axis
    noise = 0.01 * np.random.default_rng(0).standard_normal(e.size)
    sig = np.vstack([good, np.zeros(e.size), np.full(e.size, 2.0), good[0] * np.nan, noise,
                     good[:3]])
    ref = np.vstack([st.references] * 4)[:sig.shape[0]].copy()
    tab = 6539.0
    ref[7] = 3.0                                  # constant channel
    # a step down with a sharp rise at the Mn edge: not a foil that rises at its E0
    ref[8] = 1.0 - np.arctan((e - tab - 4) / 0.5) / np.pi + 0.3 * (np.abs(e - tab) < 0.3)
    ref[9, 10] = np.nan                           # one NaN: calibrated on the finite points
    ref[2, :-5] = np.nan                          # 5 finite points: unusable
    stack = SpectrumStack(axis=e, signals=sig, references=ref, element="Mn", edge="K",
                          source=SourceInfo(path="/beamline/map.h5", scan="g"))
    res = _quiet(analyze_xanes_stack, stack, calibration=mn_cal)
    per = _per_scan(stack, calibration=mn_cal)
    # every failed row says which rule failed it, in the same words as a single scan
    assert_matches_per_scan(res, per)
    assert [e is not None for e in res.errors] == [hasattr(p, "error") for p in per] \
        == [False] * 3 + [True] * 4 + [False] * 3
    assert "edge step is below 5 times the noise level" in res.errors[6]
    assert "all zero" in res.errors[3] and "constant" in res.errors[4]
    assert "mu contains NaN" in res.errors[5]
    assert np.isnan(res.e0_eV[3:7]).all() and np.isnan(res.norm[3:7]).all()
    assert np.isnan(res.foil_shift_eV[[2, 7, 8]]).all()
    assert np.isfinite(res.foil_shift_eV[[0, 1, 9]]).all()
    assert "constant" in res.scan_warnings[7][0].message
    assert res.scan_warnings[8][0].code == "xas.foil.rejected"


def test_valence_formula_equals_predict(fe_stack):
    _, st = fe_stack
    # two standards: dof = 0, the per-scan note about it must appear too
    cal = fit_calibration([2, 3], [7118.8, 7124.4], [0.05, 0.08], element="Fe",
                          e0_method="half-height")
    for scatter in (True, False):
        res = _quiet(analyze_xanes_stack, st, calibration=cal, include_scatter=scatter)
        for i in range(len(res)):
            p = _quiet(cal.predict, res.e0_eV[i], res.e0_err_eV[i], include_scatter=scatter)
            assert res.oxidation_state[i] == pytest.approx(p.valence, abs=1e-12)
            assert res.oxidation_state_err[i] == pytest.approx(p.valence_err, rel=1e-12)


def test_default_scatter_matches_series(fe_stack):
    _, st = fe_stack
    cal = fit_calibration([2, 3], [7118.8, 7124.4], [0.05, 0.08], element="Fe")
    res = _quiet(analyze_xanes_stack, st, calibration=cal)
    assert_matches_per_scan(res, _per_scan(st, calibration=cal))
    assert all(any("no residual degrees of freedom" in w.message for w in ws) for ws in res.scan_warnings)


def test_many_distinct_shifts_give_per_scan_numbers(fe_stack):
    # a sub-grid foil E0 gives one shift per scan; every scan is normalized on the measured
    # grid and its shift translates the energies, alone or in a stack: identical numbers
    base, _ = fe_stack
    st = _replicas(base, 60, seed=11, noise=0.0005)
    opts = {"foil_e0_method": "zero-second-derivative"}
    res = _quiet(analyze_xanes_stack, st, **opts)
    assert "translates the energies" in res.provenance.parameters["energy_calibration"]
    assert np.unique(res.foil_shift_eV[np.isfinite(res.foil_shift_eV)]).size > 64
    per = _per_scan(st, **opts)
    e0 = np.array([p.e0_eV for p in per])
    shift = np.array([np.nan if p.foil_shift_eV is None else p.foil_shift_eV for p in per])
    assert np.array_equal(res.foil_shift_eV, shift, equal_nan=True)
    assert np.max(np.abs(res.e0_eV - e0)) < 1e-9


def test_tuple_input_json_and_record(tmp_path):
    from naheo_spec.store import check_nexus, read_records, write_records

    e = np.linspace(8200.0, 8600.0, 801)
    edges = np.array([8340.0, 8342.0, 8344.0])
    mu = 0.2 + np.arctan((e - edges[:, None]) / 1.5) / np.pi + 0.5
    foil = np.tile(np.arctan((e - 8332.0) / 1.0) / np.pi + 0.5, (3, 1))
    res = _quiet(analyze_xanes_stack, (e, mu, foil), element="Ni")
    # foil 1 eV below the Ni K edge (8333 eV): +1 eV on every scan
    assert res.foil_shift_eV == pytest.approx([1.0] * 3, abs=0.01)
    assert np.diff(res.e0_eV) == pytest.approx([2.0, 2.0], abs=0.01)
    rows = res.to_json_list()
    assert [list(r) for r in rows] == [list(JSON_KEYS)] * 3
    assert [r["scan"] for r in rows] == ["0", "1", "2"] and rows[0]["file"] is None
    json.dumps(rows)
    for i, r in enumerate(rows):            # the same dicts as per-scan analyze_xanes
        p = _quiet(analyze_xanes, SpectrumStack(axis=e, signals=mu, references=foil,
                                                element="Ni")[i]).to_json_dict()
        assert r == p
    rec = res.to_record()
    assert rec.kind == "xanes_stack" and rec.signal == "norm"
    assert rec.axes == ["scan_index", "energy"]
    write_records(tmp_path / "s.h5", rec)
    back = read_records(tmp_path / "s.h5")[0]
    assert back.data["norm"].values.shape == (3, e.size)
    assert np.array_equal(back.groups["scans"].data["e0_eV"].values, res.e0_eV)
    assert check_nexus(tmp_path / "s.h5") == []
    assert back.summary["n_scans"] == 3 and back.provenance.step == "xas.xanes_stack"


def test_bad_arguments(fe_stack, mn_cal):
    base, _ = fe_stack
    with pytest.raises(CalibrationError, match="Mn"):
        analyze_xanes_stack(base, calibration=mn_cal)
    with pytest.raises(CalibrationError, match="max-derivative"):
        analyze_xanes_stack(base, calibration=fit_calibration([2, 3], [1, 2]),
                            e0_method="max-derivative")
    with pytest.raises(InputError, match="e0_method"):
        analyze_xanes_stack(base, e0_method="steepest")
    with pytest.raises(InputError, match="SpectrumStack"):
        analyze_xanes_stack(np.zeros((3, 10)))
    with pytest.raises(InputError, match="max_foil_offset_eV"):
        analyze_xanes_stack(base, max_foil_offset_eV=0)


def test_docstring_examples():
    import naheo_spec.xas.xanes_stack as mod

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert doctest.testmod(mod).failed == 0
