"""XANES normalization against larch ``pre_edge`` on real measured spectra.

Every full-range spectrum in ../shared/data/xas is normalized by larch and by
naheo_spec with the same parameters; normalized mu, flat, edge step and the
resolved default ranges must agree. Edge cases (XANES-only scan, all-zero and
constant mu, truncated scans) and the stack path are checked on real data too.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from conftest import CERIC, LARCH, XDL
from xas._xanes_cases import FE_SET, FULL_RANGE, XANES_ONLY, common_grid_stack, read_xy
from naheo_spec.errors import (DefaultAdjustedWarning, InputError, ProcessingError,
                               QualityWarning)
from naheo_spec.xas.normalize import normalize, normalize_stack

def _larch_pre_edge(energy, mu, **kws):
    from larch import Group
    from larch.xafs import pre_edge

    g = Group(energy=energy, mu=mu)
    pre_edge(g, **kws)
    return g


@pytest.mark.parametrize("rel", FULL_RANGE + XANES_ONLY, ids=lambda r: r.split("/")[-1])
def test_matches_larch_pre_edge_defaults(xas_data, rel):
    energy, mu = read_xy(xas_data, rel)
    g = _larch_pre_edge(energy, mu)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualityWarning)   # XANES-only: short-range flag
        r = normalize(energy, mu)                         # E0 found here, not passed
        quad = normalize(energy, mu, e0=g.e0, flat_method="quadratic")
    d = g.pre_edge_details
    # the same algorithm: tolerances at the measured agreement (E0 identical, normalized mu
    # within 1.2e-13 over all files), so that a 0.1 % regression fails (issue 10.4)
    assert r.e0_eV == pytest.approx(g.e0, abs=1e-6)
    assert r.pre_range_eV == pytest.approx((d.pre1, d.pre2), abs=1e-9)
    assert r.norm_range_eV == pytest.approx((d.norm1, d.norm2), abs=1e-9)
    assert r.nnorm == d.nnorm
    assert r.edge_step == pytest.approx(g.edge_step, rel=1e-9)
    assert np.max(np.abs(r.norm - g.norm)) < 1e-9
    assert np.max(np.abs(r.flat - g.flat)) < 1e-9
    # larch fits flat_alt with lmfit (iterative, stops at its tolerance): measured 5e-10
    assert np.max(np.abs(quad.flat - g.flat_alt)) < 1e-7


@pytest.mark.parametrize("rel", [f"{CERIC}/mno2_10m.xdi", f"{LARCH}/fe2o3_rt1.xmu",
                                 f"{LARCH}/prj_export/NiO__NiO_000.dat",
                                 f"{CERIC}/LaNiO3_Ni_80K_111.xdi"],
                         ids=lambda r: r.split("/")[-1])
def test_matches_larch_with_explicit_parameters(xas_data, rel):
    energy, mu = read_xy(xas_data, rel)
    g0 = _larch_pre_edge(energy, mu)
    end = energy[-1] - g0.e0
    cases = [  # Athena preset, larch spelling; then user ranges with a Victoreen pre-edge
        (dict(preset="athena"),
         dict(pre1=-150, pre2=-30, norm1=150, norm2=end - 100, nnorm=2)),
        (dict(pre_range=(-120, -40), norm_range=(60, 300), nnorm=1, nvict=2),
         dict(pre1=-120, pre2=-40, norm1=60, norm2=300, nnorm=1, nvict=2)),
    ]
    for ours, theirs in cases:
        g = _larch_pre_edge(energy, mu, e0=g0.e0, **theirs)
        r = normalize(energy, mu, e0=g0.e0, **ours)
        assert r.warnings == ()
        assert r.edge_step == pytest.approx(g.edge_step, rel=1e-9)
        assert np.max(np.abs(r.norm - g.norm)) < 1e-9
        assert np.max(np.abs(r.flat - g.flat)) < 1e-9
        assert r.nnorm == g.pre_edge_details.nnorm


def test_synthetic_step_recovered():
    """Known truth: a logistic edge of height 0.8 on a sloping line."""
    e = np.linspace(8150.0, 9300.0, 900)
    mu = 0.3 - 2e-5 * (e - 8150) + 0.8 / (1 + np.exp(-(e - 8333.0) / 1.2))
    r = normalize(e, mu, e0=8333.0)
    assert r.edge_step == pytest.approx(0.8, rel=2e-3)
    assert np.max(np.abs(r.norm[e < 8300])) < 2e-3
    assert np.max(np.abs(r.norm[e > 8400] - 1)) < 5e-3


def test_xanes_only_scan_degrades_with_warnings(xas_data):
    """XDL MnO_rt_01 covers 6520-6630 eV (E0 - 24 .. E0 + 86 eV)."""
    energy, mu = read_xy(xas_data, f"{XDL}/MnO_rt_01.xdi")
    with pytest.warns(QualityWarning, match="spans less than 100 eV"):
        larch_like = normalize(energy, mu)
    assert larch_like.norm_range_eV == pytest.approx((25.0, 85.0))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        athena = normalize(energy, mu, preset="athena")
    adjusted = [str(w.message) for w in rec if w.category is DefaultAdjustedWarning]
    text = " ".join(adjusted)
    assert "pre_range (-150.0, -30.0) eV holds fewer than 3 points" in text
    assert "norm_range (150.0, -100.0) eV does not fit this scan" in text
    assert "nnorm = 2 replaced by the larch default degree 1" in text
    assert set(str(w.message) for w in rec) == {w.message for w in athena.warnings}  # for --json
    assert {w.message.code for w in rec} == {w.code for w in athena.warnings}
    # fell back to the larch rule: same ranges, degree and step as the larch preset
    assert athena.pre_range_eV == pytest.approx(larch_like.pre_range_eV)
    assert athena.nnorm == larch_like.nnorm == 1
    assert athena.edge_step == pytest.approx(larch_like.edge_step, rel=1e-12)
    assert np.all(np.isfinite(athena.norm))


def test_too_few_points_reduce_nnorm_like_larch(xas_data):
    """norm_range 25..28 eV holds 4 points of mno2_10m: a quadratic is cut to a line
    (larch does the same silently)."""
    energy, mu = read_xy(xas_data, f"{CERIC}/mno2_10m.xdi")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = normalize(energy, mu, norm_range=(25, 28), nnorm=2)
    assert any(w.category is DefaultAdjustedWarning and "reduced from 2 to 1" in str(w.message)
               for w in rec)
    g = _larch_pre_edge(energy, mu, e0=r.e0_eV, norm1=25, norm2=28, nnorm=2)
    assert r.nnorm == g.pre_edge_details.nnorm == 1
    assert r.edge_step == pytest.approx(g.edge_step, rel=3e-3)
    with pytest.raises(ProcessingError, match="fit ranges do not describe the data"):
        normalize(energy, mu, norm_range=(25, 35), nnorm=2)     # wild quadratic extrapolation


def test_flat_and_zero_mu_raise(xas_data):
    energy, _ = read_xy(xas_data, f"{CERIC}/mno2_10m.xdi")
    with pytest.raises(ProcessingError, match="all zero"):
        normalize(energy, np.zeros_like(energy))
    with pytest.raises(ProcessingError, match="constant"):
        normalize(energy, np.full_like(energy, 1.7))
    with pytest.raises(ProcessingError, match="not positive"):
        normalize(energy, 0.2 + 1e-4 * (energy - energy[0]))     # a line has no edge
    with pytest.raises(InputError, match="e0 = 9000"):
        normalize(energy, np.log(energy), e0=9000.0)


@pytest.mark.parametrize("rel", [f"{CERIC}/mno2_10m.xdi", f"{CERIC}/FeO_311.xdi",
                                 f"{LARCH}/fe2o3_rt1.xmu", f"{CERIC}/LaNiO3_Ni_80K_111.xdi",
                                 f"{LARCH}/prj_export/NiO__NiO_000.dat"],
                         ids=lambda r: r.split("/")[-1])
def test_edge_outside_scan_raises(xas_data, rel):
    """A scan that stops 20 eV below the edge holds no edge."""
    energy, mu = read_xy(xas_data, rel)
    e0 = normalize(energy, mu).e0_eV
    keep = energy < e0 - 20.0
    with pytest.raises(ProcessingError, match="not inside the scan"):
        normalize(energy[keep], mu[keep])


@pytest.mark.parametrize("rel", FULL_RANGE[:15], ids=lambda r: r.split("/")[-1])
def test_truncated_scans_never_pass_silently(xas_data, rel):
    """Pre-edge-only and post-edge-only pieces raise or carry a QualityWarning."""
    energy, mu = read_xy(xas_data, rel)
    e0 = normalize(energy, mu).e0_eV
    for keep in (energy < e0 - 20.0, energy < e0 - 50.0, energy > e0 + 60.0):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                normalize(energy[keep], mu[keep])
            except ProcessingError:
                continue
        assert any(issubclass(w.category, QualityWarning) for w in rec)


def test_stack_equals_per_scan(xas_data):
    energy, base = common_grid_stack(xas_data, FE_SET, f"{LARCH}/fe2o3_rt1.xmu")
    rng = np.random.default_rng(7)
    stack = np.vstack([base, base * 1.3 + 1e-3 * rng.standard_normal(base.shape)])
    singles = [normalize(energy, row) for row in stack]
    e0 = np.array([s.e0_eV for s in singles])
    e0[::3] += 1.7                                       # E0 off the grid for some rows
    for e0_arg in (None, e0, 7120.0):
        st = normalize_stack(energy, stack, e0=e0_arg, keep_curves=True)
        for i, row in enumerate(stack):
            one = singles[i] if e0_arg is None else normalize(
                energy, row, e0=e0_arg if np.isscalar(e0_arg) else e0_arg[i])
            assert st.e0_eV[i] == one.e0_eV
            assert np.max(np.abs(st.norm[i] - one.norm)) < 1e-8
            assert np.max(np.abs(st.flat[i] - one.flat)) < 1e-8
            assert np.max(np.abs(st.pre_edge[i] - one.pre_edge)) < 1e-8
            assert st.edge_step[i] == pytest.approx(one.edge_step, rel=1e-10)
            assert tuple(st.pre_range_eV[i]) == pytest.approx(one.pre_range_eV)
            assert tuple(st.norm_range_eV[i]) == pytest.approx(one.norm_range_eV)
            assert st.noise_sigma[i] == pytest.approx(one.noise_sigma, rel=1e-10)
        assert st.valid.all()


def test_stack_flags_rows_without_edge(xas_data):
    energy, base = common_grid_stack(xas_data, FE_SET[:3], f"{LARCH}/fe2o3_rt1.xmu")
    stack = np.vstack([base, np.zeros(energy.size)])
    with pytest.warns(QualityWarning, match="1 of 4 spectra have no usable absorption edge"):
        st = normalize_stack(energy, stack)
    assert st.valid.tolist() == [True, True, True, False]
    assert np.all(np.isnan(st.norm[3])) and np.all(np.isfinite(st.norm[:3]))
    with pytest.raises(ProcessingError, match="spectrum 3"):
        normalize_stack(energy, stack, on_invalid="raise")


def test_noise_level_and_step_error_match_scatter(xas_data):
    """1 % Gaussian noise (of the edge step) on real Fe2O3: the estimated noise level and
    the propagated edge-step error agree with the scatter over 50 seeded trials."""
    energy, mu = read_xy(xas_data, f"{LARCH}/fe2o3_rt1.xmu")
    ref = normalize(energy, mu)
    sigma = 0.01 * ref.edge_step
    stack = mu + sigma * np.random.default_rng(11).standard_normal((50, energy.size))
    st = normalize_stack(energy, stack, e0=ref.e0_eV)
    assert np.median(st.noise_sigma) == pytest.approx(sigma, rel=0.2)
    observed = np.std(st.edge_step, ddof=1)
    assert 0.5 < np.median(st.edge_step_err) / observed < 2.0
    # the clean measured spectrum is far quieter than the injected 1 %
    assert ref.noise_sigma < 0.2 * sigma


def test_to_record_and_provenance(xas_data):
    energy, mu = read_xy(xas_data, f"{CERIC}/mno2_10m.xdi")
    r = normalize(energy, mu)
    rec = r.to_record("mno2")
    assert rec.kind == "xanes_norm" and rec.signal == "norm"
    assert rec.summary["e0_eV"] == r.e0_eV and rec.data["energy"].units == "eV"
    p = r.provenance.parameters
    assert p["e0_method"] == "max-derivative" and p["nnorm"] == r.nnorm
    assert p["pre_range_eV"] == list(r.pre_range_eV)


def test_bad_options_raise(xas_data):
    energy, mu = read_xy(xas_data, f"{CERIC}/mno2_10m.xdi")
    with pytest.raises(InputError, match="preset"):
        normalize(energy, mu, preset="demeter")
    with pytest.raises(InputError, match="nnorm"):
        normalize(energy, mu, nnorm=7)
    with pytest.raises(InputError, match="pre_range"):
        normalize(energy, mu, pre_range=-150)
    with pytest.raises(InputError, match="shape"):
        normalize_stack(energy, mu[None, :], e0=np.array([6550.0, 6551.0]))


def test_a_small_regression_would_fail(xas_data):
    """The parity tolerance is tight enough: a 0.1 % change of the edge step is caught."""
    energy, mu = read_xy(xas_data, f"{CERIC}/MnO.xdi")
    g = _larch_pre_edge(energy, mu)
    r = normalize(energy, mu)
    off = r.norm * 1.001
    assert np.max(np.abs(off - g.norm)) > 1e-9
