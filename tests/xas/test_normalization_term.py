"""The normalization-range term of the XANES error budget (``norm_alt_eV``, the
``normalization`` term of ``e0_err_terms_eV``) against its definition, on real spectra and
edge cases.

The pipeline fits the four range changes of a group of scans in one pass
(:func:`naheo_spec.xas.normalize.normalized_windows`) and finds their crossings in one
call; the reference below is the former implementation written with public functions
only: each change is a separate :func:`normalize_stack` of the group's rows with the
shifted ranges, the window around the edge is cut from it and the crossing found again
with :func:`half_height_rows` / :func:`integral_rows`. Both must agree to rounding (1e-9).
"""
import warnings

import numpy as np
import pytest
from conftest import CERIC, XDL
from conftest import common_stack as _common_stack
from conftest import quiet as _quiet

from naheo_spec.io import read_spectrum
from naheo_spec.model import SourceInfo, SpectrumStack
from naheo_spec.xas.e0 import half_height_rows, integral_rows
from naheo_spec.xas.normalize import normalize_stack, normalized_window, normalized_windows
from naheo_spec.xas.uncertainty import RANGE_ALTERNATIVES
from naheo_spec.xas.xanes import analyze_xanes
from naheo_spec.xas.xanes_stack import analyze_xanes_stack

# the one-pass fits agree with the former per-change refits to <= 1.8e-12 (eV on E0
# changes, 32 real-data cases measured when they were written): 10x that, absolute
TOL = dict(rtol=0, atol=2e-11)


def _noisy(st: SpectrumStack, n: int, seed: int, drift: float = 0.6) -> SpectrumStack:
    """``n`` shifted noisy copies of each scan: E0s spread over several grid points."""
    rng = np.random.default_rng(seed)
    e = st.axis
    sig = [st.signals]
    for _ in range(n):
        d = rng.uniform(-drift, drift, len(st))
        sig.append(np.array([np.interp(e - di, e, m) for di, m in zip(d, st.signals)])
                   + 0.002 * rng.standard_normal(st.signals.shape))
    return SpectrumStack(axis=e, signals=np.vstack(sig), element=st.element, edge=st.edge)


def reference_alt(res, energy, mu, method):
    """``norm_alt_eV`` as first implemented: every range change re-normalized alone."""
    n = res.e0_eV.size
    alt = np.full((n, len(RANGE_ALTERNATIVES)), np.nan)
    rows = np.flatnonzero([e is None for e in res.errors])
    if rows.size == 0:
        return alt
    e0 = res.e0_eV - np.nan_to_num(res.foil_shift_eV)        # on the measured grid
    e0n, nvict = res.details["e0_norm"], res.details["nvict"]
    level = "integral" if method == "integral" else "half-height"
    keys = np.column_stack([res.pre_range_eV[rows], res.norm_range_eV[rows],
                            res.nnorm[rows], nvict[rows]])
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    for g, key in enumerate(uniq):
        k = rows[inv.reshape(-1) == g]
        lo = int(np.searchsorted(energy, np.min(e0n[k]) - 45.0))
        hi = int(np.searchsorted(energy, np.max(e0n[k]) + 90.0, side="right"))
        cols = slice(max(lo, 0), min(hi, energy.size))
        p1, p2, n1, n2, nn, nv = key

        def level_e0(pre, post):
            nz = _quiet(normalize_stack, energy, mu[k], e0=e0n[k], pre_range=pre,
                        norm_range=post, nnorm=int(nn), nvict=int(nv), flatten=False,
                        on_invalid="record")
            w = nz.norm[:, cols]
            good = np.isfinite(w).all(axis=1)
            fn = integral_rows if level == "integral" else half_height_rows
            return np.where(good, fn(energy[cols], np.nan_to_num(w), e0n[k])["e0"], np.nan)

        base = e0[k] if level == method else level_e0((p1, p2), (n1, n2))
        for a, (d1, d2, d3, d4) in enumerate(RANGE_ALTERNATIVES):
            if p1 + d1 >= p2 + d2 or n1 + d3 >= n2 + d4:
                continue
            alt[k, a] = level_e0((p1 + d1, p2 + d2), (n1 + d3, n2 + d4)) - base
    return alt


def _check(res, st, method="half-height"):
    ref = reference_alt(res, st.axis, np.asarray(st.signals, dtype=float), method)
    np.testing.assert_array_equal(np.isnan(res.norm_alt_eV), np.isnan(ref))
    np.testing.assert_allclose(res.norm_alt_eV, ref, **TOL)
    term = res.e0_err_terms_eV["normalization"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(term, np.nanmax(np.abs(ref), axis=1), **TOL)
    return ref


@pytest.fixture(scope="module")
def fe(xas_data):
    return _noisy(_common_stack(xas_data, CERIC, ["FeO_311.xdi", "Fe3O4_311.xdi"]), 10, 3)


@pytest.mark.parametrize("method", ["half-height", "integral", "arctan"])
def test_methods_match_reference(fe, method):
    res = _quiet(analyze_xanes_stack, fe, e0_method=method, foil=False)
    ref = _check(res, fe, method)
    assert np.isfinite(ref).all() and np.abs(ref).max() > 1e-3     # real, non-zero terms
    assert np.unique(res.details["e0_norm"]).size > 2              # several E0 groups


@pytest.mark.parametrize("opts", [
    {"pre_range": (-100, -30), "norm_range": (30, 300), "nnorm": 3},
    {"nvict": 2},
    {"noise_correlation": 3.0},
])
def test_options_match_reference(fe, opts):
    _check(_quiet(analyze_xanes_stack, fe, foil=False, **opts), fe)


def test_xanes_only_scans_with_changes_that_leave_no_range(xas_data):
    st = _common_stack(xas_data, XDL, [f"{n}_rt_01.xdi" for n in ("MnO", "Mn2O3", "MnO2")])
    res = _quiet(analyze_xanes_stack, st, preset="athena")
    ref = _check(res, st)
    assert np.isnan(ref[:, 1]).all()           # pre-edge range shorter than 20 eV: no term
    assert np.isfinite(ref[:, 2]).all() and np.isfinite(res.e0_err_terms_eV["normalization"]).all()


def test_failed_nan_and_constant_rows(xas_data):
    st = _common_stack(xas_data, CERIC, ["MnO.xdi", "bixbyite_10m.xdi", "mno2_10m.xdi"])
    good, e = st.signals, st.axis
    sig = np.vstack([good, np.zeros(e.size), np.full(e.size, 2.0), good[0] * np.nan,
                     good[:2] + 0.003, good[2:3] * 1.5])
    sig[4, 7] = np.inf
    stack = SpectrumStack(axis=e, signals=sig, element="Mn", edge="K",
                          source=SourceInfo(path="/beamline/map.h5", scan="g"))
    res = _quiet(analyze_xanes_stack, stack, foil=False)
    failed = np.array([err is not None for err in res.errors])
    assert failed[[3, 4, 5]].all() and not failed[[0, 1, 2, 6]].any()
    assert np.isnan(res.norm_alt_eV[failed]).all()
    _check(res, stack)


def test_single_scan_and_single_row_groups(xas_data, fe):
    # one scan: a group of one row, through the single-scan pipeline
    s = _quiet(read_spectrum, xas_data / CERIC / "Fe3O4_311.xdi")
    one = _quiet(analyze_xanes, s, foil=False)
    st = SpectrumStack(axis=s.energy, signals=s.mu[None, :], element="Fe")
    res = _quiet(analyze_xanes_stack, st, foil=False)
    _check(res, st)
    assert one.e0_err_terms_eV["normalization"] == pytest.approx(
        float(res.e0_err_terms_eV["normalization"][0]), rel=1e-12)
    # rows whose ranges differ from every other row's: groups of one in a stack
    sig = np.vstack([fe.signals[:6], fe.signals[6:7] * 0 + np.interp(
        fe.axis - 30.0, fe.axis, fe.signals[6])])
    st = SpectrumStack(axis=fe.axis, signals=sig, element="Fe")
    res = _quiet(analyze_xanes_stack, st, foil=False)
    keys = np.column_stack([res.pre_range_eV, res.norm_range_eV])
    assert np.unique(keys, axis=0).shape[0] >= 2
    _check(res, st)


def test_windows_of_several_pairs_equal_one_pair_at_a_time(fe):
    e, mu = fe.axis, np.asarray(fe.signals, dtype=float)
    nz = _quiet(normalize_stack, e, mu, flatten=False)
    e0 = nz.e0_eV
    cols = slice(int(np.searchsorted(e, e0.min() - 45)), int(np.searchsorted(e, e0.max() + 90)))
    pairs = [((-150.0, -60.0), (50.0, 400.0)), ((-150.0, -70.0), (50.0, 400.0)),
             ((-150.0, -60.0), (75.0, 400.0)), ((-140.0, -60.0), (50.0, 350.0))]
    many = normalized_windows(e, mu, e0, cols, ranges=pairs, nnorm=2, nvict=0)
    assert many.shape == (4, mu.shape[0], cols.stop - cols.start)
    for v, (pre, post) in enumerate(pairs):
        one = normalized_window(e, mu, e0, cols, pre_range=pre, norm_range=post, nnorm=2,
                                nvict=0)
        np.testing.assert_allclose(many[v], one, rtol=1e-12, atol=1e-12)
        ref = _quiet(normalize_stack, e, mu, e0=e0, pre_range=pre, norm_range=post, nnorm=2,
                     flatten=False).norm[:, cols]
        np.testing.assert_allclose(many[v], ref, **TOL)
    # a row without a positive step is NaN, the others are unchanged
    bad = np.vstack([mu[:3], -mu[3:4]])
    w = normalized_windows(e, bad, e0[:4], cols, ranges=pairs[:2], nnorm=2, nvict=0)
    assert np.isnan(w[:, 3]).all() and np.isfinite(w[:, :3]).all()
    np.testing.assert_allclose(w[:, :3], many[:2, :3], rtol=1e-12, atol=1e-12)


def test_half_height_local_fit_equals_generic_least_squares(fe):
    """The closed-form 6-point quadratic of half_height_rows against numpy's lstsq."""
    e, mu = fe.axis, np.asarray(fe.signals, dtype=float)
    nz = _quiet(normalize_stack, e, mu, flatten=False)
    hh = half_height_rows(e, nz.norm, nz.e0_eV)
    for i in range(mu.shape[0]):
        k = int(hh["k"][i])
        y0, y1 = nz.norm[i, k], nz.norm[i, k + 1]
        e_lin = e[k] + (0.5 - y0) / (y1 - y0) * (e[k + 1] - e[k])
        first = min(max(k - 2, 0), e.size - 6)
        x = e[first:first + 6] - e_lin
        a = np.stack([np.ones(6), x, x * x], axis=1)
        c = np.linalg.lstsq(a, nz.norm[i, first:first + 6], rcond=None)[0]
        c0, c1, c2 = c[0] - 0.5, c[1], c[2]
        t = -2 * c0 / (c1 + np.sign(c1) * np.sqrt(c1 * c1 - 4 * c2 * c0))
        assert hh["e0"][i] == pytest.approx(e_lin + t, rel=1e-12, abs=1e-9)
        b = np.array([1.0, t, t * t])
        assert hh["leverage"][i] == pytest.approx(b @ np.linalg.inv(a.T @ a) @ b, rel=1e-9)
        assert hh["slope"][i] == pytest.approx(c1 + 2 * c2 * t, rel=1e-9)
