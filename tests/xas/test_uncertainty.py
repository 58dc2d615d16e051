"""The XANES error budget is a claim about scatter: tested against the scatter of real
repeat scans, of standards left out of their line, and of Monte Carlo noise.

Fixed case list (issue 10.1), all from ../shared/data/xas:

* repeat scans of one sample: NiO.prj groups 000-010 (each with its own foil), XAS Data
  Library NiOH2_rt_01..03 and Ni2O3_rt_01..03 (foil found near the tabulated edge), and
  MnO/Mn2O3/MnO2_rt_01..03 (no foil: a "Mn filter"); each group's chi-square about its
  weighted mean with the errors that differ between repeats
  (:func:`naheo_spec.xas.relative.repeat_consistency`);
* every standard of the shipped Mn, Fe and Ni lines left out of its line and predicted by
  the others (z of the valence, with the full prediction interval).

Target: the mean z^2 over all of them between 0.5 and 2, and the median valence sigma of the
left-out standards at most 0.25.
"""
import warnings

import numpy as np
import pytest

from conftest import CERIC, LARCH, REPO, XDL
from naheo_spec.io import read_spectra, read_spectrum
from naheo_spec.model import SpectrumStack
from naheo_spec.xas import uncertainty as unc
from naheo_spec.xas.relative import relative_shifts, repeat_consistency
from naheo_spec.xas.standards import build_calibration
from naheo_spec.xas.valence import leave_one_out
from naheo_spec.xas.xanes import analyze_xanes, analyze_xanes_series
from naheo_spec.xas.xanes_stack import analyze_xanes_stack

STANDARDS = REPO / "reference_spectra" / "xanes_standards"
XDL_REPEATS = ("NiOH2", "Ni2O3", "MnO", "Mn2O3", "MnO2")


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.fixture(scope="module")
def lines(xas_data):
    return {el: _quiet(build_calibration, STANDARDS / f"{el}.toml", data_root=xas_data.parent)
            for el in ("mn", "fe", "ni")}


@pytest.fixture(scope="module")
def nio_scans(xas_data):
    res = _quiet(analyze_xanes_series, [xas_data / LARCH / "NiO.prj"])
    return [r for r in res if r.scan != "NiO"]            # the ten scans, not their merge


@pytest.fixture(scope="module")
def xdl_repeats(xas_data):
    return {stem: _quiet(analyze_xanes_series,
                         [xas_data / XDL / f"{stem}_rt_0{k}.xdi" for k in (1, 2, 3)])
            for stem in XDL_REPEATS}


# --------------------------------------------------------------------------- terms
def test_terms_are_reported_and_add_in_quadrature(xas_data):
    cal = _quiet(analyze_xanes, xas_data / CERIC / "MnO.xdi")
    raw = _quiet(analyze_xanes, xas_data / CERIC / "Fe2O3_311_EXAFS.xdi")      # no foil
    assert set(cal.e0_err_terms_eV) == {"noise", "grid", "normalization", "foil"}
    assert set(raw.e0_err_terms_eV) == {"noise", "grid", "normalization", "energy_scale",
                                        "energy_drift"}
    for r in (cal, raw):
        t = r.e0_err_terms_eV
        assert r.e0_err_eV == pytest.approx(np.sqrt(sum(v * v for v in t.values())), rel=1e-12)
    assert raw.e0_err_terms_eV["energy_scale"] == unc.ENERGY_SCALE_SIGMA_EV
    assert raw.e0_err_terms_eV["energy_drift"] == unc.ENERGY_DRIFT_SIGMA_EV
    # the foil's own error, robust (grid quantum at least, a fraction of an eV at most)
    assert 0.14 < cal.e0_err_terms_eV["foil"] < 0.4
    # a lab that calibrated upstream can say how well
    tight = _quiet(analyze_xanes, xas_data / CERIC / "Fe2O3_311_EXAFS.xdi",
                   energy_scale_sigma_eV=0.1, energy_drift_sigma_eV=0.05)
    assert tight.e0_err_terms_eV["energy_scale"] == 0.1 and tight.e0_err_eV < raw.e0_err_eV


def test_grid_term_never_below_what_the_step_allows():
    # noise-free arctan edges sampled at 0.25, 0.5 and 1 eV: no noise, no normalization
    # doubt, yet a position between grid points is not known better than a quarter step
    for h in (0.25, 0.5, 1.0):
        e = np.arange(8200.0, 8700.0, h)
        mu = 0.2 + np.arctan((e - 8342.3) / 1.5) / np.pi + 0.5
        r = _quiet(analyze_xanes_stack, (e, mu[None, :]), element="Ni", foil=False)
        grid = r.e0_err_terms_eV["grid"][0]
        assert grid >= h / (4 * np.sqrt(3)) - 1e-12
        assert grid < h                                    # and not a whole step
        assert r.e0_err_terms_eV["noise"][0] < 1e-3


def test_normalization_term_is_large_only_for_short_scans(xas_data):
    """The half-height moves with the ranges: 0.06-0.2 eV on full EXAFS scans, ~1 eV on the
    110 eV XANES-only XDL Mn scans (issue 10: 0.06-1.08 eV, then discarded)."""
    full = _quiet(analyze_xanes, xas_data / CERIC / "MnO.xdi")
    short = _quiet(analyze_xanes, xas_data / XDL / "MnO_rt_01.xdi")
    assert full.e0_err_terms_eV["normalization"] < 0.3
    assert 0.5 < short.e0_err_terms_eV["normalization"] < 1.5
    # the term is the largest of the four range changes, each reported
    assert short.e0_err_terms_eV["normalization"] == pytest.approx(
        np.nanmax(np.abs(short.norm_alt_eV)), rel=1e-12)


@pytest.mark.parametrize("kind", ["white", "interpolated x2", "interpolated x3", "smoothed 3"])
def test_noise_term_matches_monte_carlo_scatter(xas_data, kind):
    """120 noisy copies of real spectra (noise 0.3 % of the edge step): the reported noise
    term against the real scatter of E0. Linear interpolation onto a finer grid (a common
    'rebin') is recognised and the noise treated as white on the measured points; smoothing
    cannot be seen in one spectrum and is declared (noise_correlation)."""
    rng = np.random.default_rng(17)
    for name in ("FeO_311.xdi", "LaNiO3_Ni_80K_111.xdi"):
        s = _quiet(read_spectrum, xas_data / CERIC / name)
        e, mu = s.energy, s.mu
        step = _quiet(analyze_xanes_stack, (e, mu[None]), element=s.element,
                      foil=False).edge_step[0]
        sig, n, corr = 3e-3 * step, 120, 1.0
        noisy = mu[None] + sig * rng.standard_normal((n, e.size))
        grid, y = e, noisy
        if kind.startswith("interpolated"):
            m = int(kind[-1])
            grid = np.interp(np.arange((e.size - 1) * m + 1) / m, np.arange(e.size), e)
            y = np.array([np.interp(grid, e, r) for r in noisy])
        elif kind.startswith("smoothed"):
            corr = 3.0
            wide = mu[None] + sig * np.sqrt(3) * rng.standard_normal((n, e.size))
            pad = np.pad(wide, ((0, 0), (1, 1)), mode="edge")
            y = (pad[:, :-2] + pad[:, 1:-1] + pad[:, 2:]) / 3.0
        res = _quiet(analyze_xanes_stack, (grid, y), element=s.element, foil=False,
                     markers=False, keep_norm=False, noise_correlation=corr)
        ratio = np.std(res.e0_eV) / np.median(res.e0_err_terms_eV["noise"])
        assert 0.6 < ratio < 1.5, (name, kind, ratio)
        if kind.startswith("interpolated"):
            assert np.median(res.details["noise_inflation"]) == pytest.approx(int(kind[-1]), abs=0.05)


# --------------------------------------------------------------------------- coverage
def _loo_cases(lines):
    z, sig, names = [], [], []
    for cal in lines.values():
        loo = leave_one_out(cal)
        for nm, v, p, pe in zip(loo.names, loo.valence, loo.predicted, loo.predicted_err):
            if np.isfinite(p):
                z.append((p - v) / pe)
                sig.append(pe)
                names.append(nm)
    return np.array(z), np.array(sig), names


def test_error_bars_cover_the_scatter_of_real_data(lines, nio_scans, xdl_repeats):
    groups = {"NiO.prj": repeat_consistency(nio_scans)}
    groups.update({f"XDL {k}": repeat_consistency(v) for k, v in xdl_repeats.items()})
    z_loo, sig_loo, _ = _loo_cases(lines)
    chi2 = sum(g.chi2 for g in groups.values()) + float(np.sum(z_loo ** 2))
    dof = sum(g.dof for g in groups.values()) + z_loo.size
    mean_z2 = chi2 / dof
    report = {k: round(g.reduced_chi2, 2) for k, g in groups.items()}
    # measured: 0.78 over 38 dof (NiO.prj 1.64, LOO 0.73; XDL Mn repeats ~0: the drift
    # prior is the NiO.prj foils' drift, and these three sessions drifted far less)
    assert 0.5 <= mean_z2 <= 2.0, (mean_z2, report)
    assert np.median(sig_loo) <= 0.25, np.median(sig_loo)
    assert z_loo.size >= 15 and dof >= 30
    # inflated bars fail too: the calibrated NiO.prj repeats alone are near 1
    assert 0.5 < groups["NiO.prj"].reduced_chi2 < 2.0


def test_held_out_oxides(lines, nio_scans, xdl_repeats):
    """Real Ni, Fe and Mn oxides the lines have not seen, chosen by a rule: every
    foil-calibrated spectrum that is not a standard (the nine other NiO.prj scans, the two
    other Ni(OH)2 scans) and every foil-calibrated standard left out of its line (FeO,
    2 x Fe3O4; 2 x MnO, bixbyite, MnO2). Spectra without a foil carry the 1 eV energy-scale
    term (0.2-0.4 in valence) and are in the coverage test instead. Target: valence within
    0.3 of formal, error <= 0.25, |error| <= 2 sigma on at least 5 of every 6."""
    cases = []
    for r in nio_scans[1:] + xdl_repeats["NiOH2"][1:]:
        p = lines["ni"].predict(r.e0_eV, r.e0_err_eV)
        cases.append((r.name, 2.0, p.valence, p.valence_err))
    for key in ("fe", "mn"):
        cal = lines[key]
        calibrated = {p.name for p in cal.points if p.foil_shift_eV is not None}
        loo = leave_one_out(cal)
        for nm, v, p, pe in zip(loo.names, loo.valence, loo.predicted, loo.predicted_err):
            if nm in calibrated:
                cases.append((nm, v, p, pe))
    assert len(cases) == 11 + 3 + 4
    err = np.array([p - v for _, v, p, _ in cases])
    sig = np.array([s for *_, s in cases])
    report = [(n, round(e, 2), round(s, 2)) for (n, *_), e, s in zip(cases, err, sig)]
    assert np.all(sig <= 0.25), report
    # measured: 17 of 18 within 0.3; the exception is CERIC FeO_311 (-0.30, z = -2.3)
    assert np.mean(np.abs(err) <= 0.3) >= 0.9, report
    assert np.mean(np.abs(err) <= 2 * sig) >= 5 / 6, report
    assert np.all(np.abs(err) <= 0.35), report


def test_repeat_scans_agree_and_their_shifts_are_zero_within_errors(nio_scans, xdl_repeats):
    for name, series in [("NiO.prj", nio_scans), *xdl_repeats.items()]:
        rel = relative_shifts(series, "first")
        z = rel.shift_eV[1:] / rel.shift_err_eV[1:]
        assert np.all(np.isfinite(z)), name
        assert np.mean(np.abs(z) <= 2.0) >= 0.8, (name, np.round(z, 2))
        assert np.mean(z ** 2) < 2.0, (name, np.round(z, 2))
        # the absolute energy scale cancels between repeats; the drift does not
        assert "energy_scale" in rel.cancelled and "energy_scale" not in rel.terms_eV
    mn = relative_shifts(xdl_repeats["MnO"], "first")
    assert "energy_drift" in mn.terms_eV and mn.shift_err_eV[1] < 0.5   # not 1 eV + 1 eV


def test_near_duplicate_energies_are_merged_with_a_warning(xas_data):
    s = _quiet(read_spectrum, xas_data / CERIC / "MnO.xdi")
    e, mu = s.energy.copy(), s.mu.copy()
    e2 = np.insert(e, 200, e[200] + 1e-6)             # a point 1 micro-eV from another
    mu2 = np.insert(mu, 200, mu[200] + 0.01)          # ... with a different value
    good = _quiet(analyze_xanes_stack, (e, mu[None]), element="Mn", foil=False)
    with pytest.warns(Warning, match="merged"):
        res = analyze_xanes_stack((e2, mu2[None]), element="Mn", foil=False)
    assert res.row_warnings.mask("xas.grid.near_duplicates")[0]
    assert res.energy.size == e.size
    assert abs(res.e0_eV[0] - good.e0_eV[0]) < 0.05
