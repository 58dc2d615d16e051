"""Shell fits on real spectra.

a. Regression against larch's published two-path FeO fit (doc_feffit4: numbers parsed
   from the published report in shared/data, not copied here).
b. Fits from templates alone (our FEFF run, no precomputed paths) of NiO, FeO and MnO,
   compared with crystallographic distances from reference_spectra/structures.
c. A series of repeated NiO scans re-using one cached FEFF calculation.
d. Bad fits are flagged (bound, too few independent points, glitch-spoiled background,
   wrong structure), and the JSON summary has exactly the agreed keys.
chi(k) comes from naheo_spec's own normalize + autobk (validated against larch autobk in
test_regression_autobk_matches_larch).
"""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from conftest import CERIC, LARCH
from xas._exafs_cases import amcsd_cif, cif_distances  # noqa: F401  (fixture)

from naheo_spec.errors import DefaultAdjustedWarning, InputError, QualityWarning
from naheo_spec.io import read_spectrum
from naheo_spec.xas.autobk import autobk
from naheo_spec.xas.feff import run_feff
from naheo_spec.xas.normalize import normalize
from naheo_spec.xas.shellfit import distances_table, fit_series_shells, fit_shells
from naheo_spec.xas.structures import reference_structure, reference_structures

TABLE = reference_structures()
FEO_DIR = "feff_paths_FeO"
# doc_feffit4 settings (examples/feffit/doc_feffit4.py)
DOC4_BKG = dict(rbkg=1.05, kweight=2, clamp_hi=300)
DOC4_FIT = dict(kmin=2.0, kmax=13.5, kweight=3, dk=3.0, window="kaiser", rmin_A=1.0, rmax_A=3.2, s02=0.7)


def chi_of(path, scan=None, **bkg):
    s = read_spectrum(path, scan=scan)
    n = normalize(s.energy, s.mu)
    opts = dict(rbkg=1.0, kweight=2)
    opts.update(bkg)
    b = autobk(s.energy, s.mu, e0=n.e0_eV, edge_step=n.edge_step, **opts)
    return b.k_invA, b.chi


def published_doc4(xas_data):
    """Path R values and statistics from larch's published doc_feffit4 report."""
    text = (xas_data / LARCH / FEO_DIR / "doc_feffit4.out.txt").read_text()
    r = [float(x) for x in re.findall(r"^\s+r\s+=\s+([\d.]+)", text, re.M)]
    stat = {key: float(re.search(rf"^\s+{key}\s+=\s+([-\d.eE]+)", text, re.M).group(1))
            for key in ("chi_square", "reduced chi_square", "r-factor")}
    par = {m.group(1): (float(m.group(2)), float(m.group(3))) for m in
           re.finditer(r"^\s+(n1|n2|de0|sig2_1|sig2_2)\s+=\s+([-\d.eE]+) \+/- ([-\d.eE]+)", text, re.M)}
    return r, stat, par


@pytest.fixture(scope="session")
def shell_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("feff_shellfit")


@pytest.fixture(scope="session")
def feo_paths(xas_data):
    d = xas_data / LARCH / FEO_DIR
    return [d / "feff_feo01.dat", d / "feff_feo02.dat"]


# ---------------------------------------------------------------- a. regression
def test_regression_feo_doc_feffit4(xas_data, feo_paths):
    k, chi = chi_of(xas_data / LARCH / "feo_xafs.dat", **DOC4_BKG)
    res = fit_shells(k, chi, feo_paths, **DOC4_FIT)
    r_pub, _, par = published_doc4(xas_data)
    assert [p.label for p in res.paths] == ["Fe-O", "Fe-Fe"]
    assert res.paths[0].r_A == pytest.approx(r_pub[0], abs=0.005)   # 2.1106 published
    assert res.paths[1].r_A == pytest.approx(r_pub[1], abs=0.005)   # 3.0738 published
    # the other parameters within a tenth of their published uncertainty
    for mine, name in ((res.paths[0].n, "n1"), (res.paths[1].n, "n2"), (res.e0_shift_eV, "de0"),
                       (res.paths[0].sigma2_A2, "sig2_1"), (res.paths[1].sigma2_A2, "sig2_2")):
        value, err = par[name]
        assert mine == pytest.approx(value, abs=err / 10), name
    assert res.paths[0].r_err_A == pytest.approx(0.0077, rel=0.1)
    assert res.warnings == ()


def test_regression_statistics_match_larch_exactly(xas_data, feo_paths):
    """With larch's own autobk (and its chi(k) uncertainty) the fit statistics equal the
    published report: the fit engine, transform and n_idp are larch's."""
    from naheo_spec.xas.feff import larch_module

    io, xafs = larch_module("larch.io"), larch_module("larch.xafs")
    g = io.read_ascii(str(xas_data / LARCH / "feo_xafs.dat"), labels="energy mu")
    xafs.autobk(g, calc_uncertainties=True, **DOC4_BKG)
    res = fit_shells(g.k, g.chi, feo_paths, delta_chi=g.delta_chi, **DOC4_FIT)
    _, stat, _ = published_doc4(xas_data)
    assert res.chi_square == pytest.approx(stat["chi_square"], rel=1e-3)
    assert res.reduced_chi2 == pytest.approx(stat["reduced chi_square"], rel=1e-3)
    assert res.r_factor == pytest.approx(stat["r-factor"], rel=1e-3)
    assert res.n_independent == pytest.approx(1 + 2 * 2.2 * 11.5 / math.pi)
    assert res.n_varys == 7


def test_regression_autobk_matches_larch(xas_data):
    """Our autobk gives larch's chi(k) on feo_xafs.dat (the regression's input)."""
    from naheo_spec.xas.feff import larch_module

    io, xafs = larch_module("larch.io"), larch_module("larch.xafs")
    g = io.read_ascii(str(xas_data / LARCH / "feo_xafs.dat"), labels="energy mu")
    xafs.autobk(g, **DOC4_BKG)
    k, chi = chi_of(xas_data / LARCH / "feo_xafs.dat", **DOC4_BKG)
    sel = (k >= 2) & (k <= 13.5)
    # measured 1.8e-4 (k^2 chi peaks at 1.4 here)
    assert np.max(np.abs(np.interp(k[sel], g.k, g.chi) - chi[sel]) * k[sel] ** 2) < 0.002


# ---------------------------------------------------------------- b. templates
# (name in the structure table, file, scan, background options, fit options,
#  tolerance first shell, tolerance second shell)
TEMPLATE_CASES = [
    ("NiO", (LARCH, "NiO.prj"), "NiO", {}, {}, 0.03, 0.04),
    ("FeO", (CERIC, "FeO_311.xdi"), None, {}, {}, 0.045, 0.06),
    # CERIC MnO.xdi has monochromator glitches at k ~ 7.8, 12.5 and 17 A^-1: the spline
    # stops at 15 and the fit at 11 A^-1 (test_glitch_spoiled_fit_is_flagged shows why).
    ("MnO", (CERIC, "MnO.xdi"), None, {"kmax": 15.0}, {"kmax": 11.0}, 0.05, 0.05),
]


@pytest.mark.parametrize("name, file, scan, bkg, fit, tol1, tol2", TEMPLATE_CASES,
                         ids=[c[0] for c in TEMPLATE_CASES])
def test_template_fit_matches_crystallography(xas_data, shell_cache, name, file, scan, bkg, fit,
                                              tol1, tol2):
    entry = TABLE[name]
    a, metal = entry["a_A"], entry["cation"]
    k, chi = chi_of(xas_data.joinpath(*file), scan=scan, **bkg)
    paths = run_feff(reference_structure(name), metal, cache_dir=shell_cache)
    res = fit_shells(k, chi, paths, **fit)
    first, second = res.paths
    assert (first.label, second.label) == (f"{metal}-O", f"{metal}-{metal}")
    assert first.r_A == pytest.approx(a / 2, abs=tol1)
    assert second.r_A == pytest.approx(a / math.sqrt(2), abs=tol2)
    for p in res.paths:
        assert p.r_err_A is not None and 0 < p.r_err_A < 0.05
        assert p.n_err is not None and p.sigma2_err_A2 is not None
        assert 0 < p.sigma2_A2 < 0.03
    assert first.n == pytest.approx(6, abs=2.5)
    assert res.r_factor < 0.05 and res.warnings == ()


# ---------------------------------------------------------------- c. series + table
def test_series_reuses_cached_feff_and_is_consistent(xas_data, shell_cache):
    nio = xas_data / LARCH / "NiO.prj"
    scans = ["NiO.000", "NiO.001", "NiO.002", "NiO.003", "NiO.004"]
    paths = run_feff(reference_structure("NiO"), "Ni", cache_dir=shell_cache)
    assert run_feff(reference_structure("NiO"), "Ni", cache_dir=shell_cache).cache_hit
    results = fit_series_shells([chi_of(nio, scan=s) for s in scans], paths)
    rows = distances_table(results, names=scans)
    assert [r["scan"] for r in rows] == scans
    r1 = np.array([r["Ni-O_r_A"] for r in rows])
    r2 = np.array([r["Ni-Ni_r_A"] for r in rows])
    # repeated scans of one sample: scatter well inside the fit uncertainty (~0.008 A)
    assert r1.std() < 0.004 and r2.std() < 0.004
    assert np.all(np.abs(r1 - TABLE["NiO"]["a_A"] / 2) < 0.03)
    assert all(r["n_warnings"] == 0 and r["Ni-O_r_err_A"] > 0 for r in rows)


# ---------------------------------------------------------------- d. flagged fits
@pytest.fixture(scope="session")
def nio_chi(xas_data):
    return chi_of(xas_data / LARCH / "NiO.prj", scan="NiO")


def test_fit_forced_against_bound_is_flagged(nio_chi, shell_cache):
    # FeO paths (reff 2.155 A) on NiO data (2.08 A) with Delta R limited to +-0.02 A
    paths = run_feff(reference_structure("FeO"), "Fe", cache_dir=shell_cache)
    with pytest.warns(QualityWarning, match="at its bound"):
        res = fit_shells(*nio_chi, paths, delr_max_A=0.02)
    assert any("delr_1" in w.message and "bound" in w.message for w in res.warnings)


def test_nonsense_window_is_flagged(nio_chi, shell_cache):
    paths = run_feff(reference_structure("NiO"), "Ni", cache_dir=shell_cache)
    with pytest.warns(QualityWarning):
        res = fit_shells(*nio_chi, paths, kmin=3.0, kmax=4.5)
    assert res.n_independent < res.n_varys
    assert any("independent points" in w.message for w in res.warnings)


def test_wrong_structure_is_flagged(nio_chi, shell_cache):
    paths = run_feff("rocksalt:a=4.75", "Ni", cache_dir=shell_cache)  # 0.29 A too long
    with pytest.warns(QualityWarning):
        res = fit_shells(*nio_chi, paths)
    assert any("Delta R" in w.message or "bound" in w.message for w in res.warnings)


def test_glitch_spoiled_fit_is_flagged(xas_data, shell_cache):
    """Default background over the whole CERIC MnO scan (glitch at k ~ 17) and k up to 12."""
    k, chi = chi_of(xas_data / CERIC / "MnO.xdi")
    paths = run_feff(reference_structure("MnO"), "Mn", cache_dir=shell_cache)
    with pytest.warns(QualityWarning, match="R-factor"):
        res = fit_shells(k, chi, paths)
    assert res.r_factor > 0.05


def test_json_record_and_report(nio_chi, shell_cache):
    paths = run_feff(reference_structure("NiO"), "Ni", cache_dir=shell_cache)
    with pytest.warns(DefaultAdjustedWarning, match="kmax=30"):
        res = fit_shells(*nio_chi, paths, kmax=30.0)
    d = res.to_json_dict()
    assert list(d) == ["paths", "e0_shift_eV", "r_factor", "reduced_chi2", "warnings", "suggestion",
                       "r_uncertainty"]
    assert set(d["r_uncertainty"]["Ni-O"]) == {"feffit", "series", "k_range", "theory", "total"}
    assert list(d["paths"][0]) == ["label", "scatterer", "reff_A", "r_A", "r_err_A", "n", "n_err",
                                   "sigma2_A2", "sigma2_err_A2"]
    assert any("kmax=30" in w["message"] for w in d["warnings"])
    assert res.provenance.parameters["kmax"] == pytest.approx(nio_chi[0][-1])
    rec = res.to_record("nio_fit")
    assert rec.kind == "exafs_shellfit" and rec.summary["Ni-O_r_A"] == pytest.approx(res.paths[0].r_A)
    assert rec.data["chir_mag_model"].values.shape == res.r_A.shape
    assert set(res.path_chir_mag) == {"Ni-O", "Ni-Ni"}
    # the model |chi(R)| peaks where the data peak (first shell, 1.2-2.0 A, not phase-corrected)
    win = (res.r_A > 1.2) & (res.r_A < 2.0)
    assert res.r_A[win][np.argmax(res.chir_mag_model[win])] == pytest.approx(
        res.r_A[win][np.argmax(res.chir_mag_data[win])], abs=0.05)
    assert "Ni-O" in res.report()


def test_input_errors(nio_chi, shell_cache):
    paths = run_feff(reference_structure("NiO"), "Ni", cache_dir=shell_cache)
    k, chi = nio_chi
    with pytest.raises(InputError, match="vary_n=True and vary_s02=True"):
        fit_shells(k, chi, paths, vary_s02=True)
    with pytest.raises(InputError, match="equal length"):
        fit_shells(k, chi[:-1], paths)
    with pytest.raises(InputError, match="window='box'"):
        fit_shells(k, chi, paths, window="box")
    with pytest.raises(InputError, match="rmin_A=3"):
        fit_shells(k, chi, paths, rmin_A=3.0, rmax_A=2.0)


def test_fixed_n_with_varied_s02(nio_chi, shell_cache):
    """N fixed at the crystallographic 6 and 12, one S0^2 varied: a physical S0^2."""
    paths = run_feff(reference_structure("NiO"), "Ni", cache_dir=shell_cache)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QualityWarning)
        res = fit_shells(*nio_chi, paths, vary_n=False, vary_s02=True)
    assert [p.n for p in res.paths] == [6.0, 12.0] and res.paths[0].n_err == 0.0
    assert 0.6 < res.s02 < 1.2


def test_fit_works_with_stdout_redirected_to_stringio(xas_data, feo_paths):
    """larch reads FEFF files with sys.stdout.encoding; a StringIO stdout has none."""
    import contextlib
    import io

    k, chi = chi_of(xas_data / LARCH / "feo_xafs.dat", **DOC4_BKG)
    with contextlib.redirect_stdout(io.StringIO()):
        res = fit_shells(k, chi, feo_paths, **DOC4_FIT)
    assert res.paths[0].r_A == pytest.approx(published_doc4(xas_data)[0][0], abs=0.005)


def test_implausible_coordination_number_is_flagged(xas_data, feo_paths):
    """larch-preset background (kweight 1) on feo_xafs leaves N(Fe-O) far above 6: say so."""
    k, chi = chi_of(xas_data / LARCH / "feo_xafs.dat", kweight=1)
    res = fit_shells(k, chi, feo_paths, kmin=3, kmax=12, kweight=2, window="hanning", dk=1)
    assert res.paths[0].n > 9.0                      # 6 in wuestite
    assert any("Fe-O: N =" in w.message and "structural" in w.message for w in res.warnings), res.warnings
    good = fit_shells(*chi_of(xas_data / LARCH / "feo_xafs.dat", **DOC4_BKG), feo_paths, **DOC4_FIT)
    assert not any("structural" in w.message for w in good.warnings)


# ---------------------------------------------------------------- e. several edges, shared TM-TM
@pytest.fixture(scope="session")
def o3_three_edges(shell_cache):
    """SYNTHETIC: chi(k) of the Ni, Fe and Mn edges of the target O3 cathode from our FEFF
    paths (ref:NaLNCFM-O3) with known distances -- one common TM-TM (the hexagonal a),
    a different TM-O per edge -- plus Gaussian noise (0.002 in chi)."""
    from naheo_spec.xas.feff import select_shell_paths
    from naheo_spec.xas.larch_bridge import larch_module

    xafs = larch_module("larch.xafs")
    structure = reference_structure("NaLNCFM-O3")
    k = np.arange(0, 14.01, 0.05)
    rng = np.random.default_rng(1)
    truth = {"Ni": -0.06, "Fe": 0.0, "Mn": -0.09}        # Delta R of TM-O; TM-TM: -0.05 for all
    data, true_r = [], {}
    for el, dro in truth.items():
        p = select_shell_paths(run_feff(structure, el, cache_dir=shell_cache))
        fp = [xafs.feffpath(p[0].filename, s02=4.8, degen=1, sigma2=0.004, deltar=dro, e0=1.0),
              xafs.feffpath(p[1].filename, s02=4.8, degen=1, sigma2=0.006, deltar=-0.05, e0=1.0)]
        chi = xafs.ff2chi(fp, k=k).chi + rng.normal(0, 0.002, k.size)
        data.append((el, k, chi, p))
        true_r[el] = (p[0].reff_A + dro, p[1].reff_A - 0.05)
    return data, true_r


def test_three_edges_share_the_tm_tm_distance(o3_three_edges):
    """Fitted together with one R(TM-TM), the three edges give the true a within 3 sigma and
    an error below each single-edge fit's; each edge keeps its own TM-O."""
    from naheo_spec.xas.shellfit import fit_shells_multi

    data, truth = o3_three_edges
    single = {el: fit_shells(k, chi, p, kmax=12.0) for el, k, chi, p in data}
    multi = fit_shells_multi(data, kmax=12.0)
    r, err = multi.shared["r_tmtm_A"]
    a_true = truth["Ni"][1]
    assert abs(r - a_true) < 3 * err and err < min(f.paths[1].r_err_A for f in single.values())
    for el, fit in multi.fits.items():
        assert fit.paths[1].r_A == pytest.approx(r, abs=1e-12)          # shared
        assert fit.paths[0].r_A == pytest.approx(truth[el][0], abs=3 * fit.paths[0].r_err_A + 0.002)
        assert fit.r_factor < 0.01 and not fit.warnings
    assert set(multi.to_json_dict()["datasets"]) == {"Ni", "Fe", "Mn"}
    assert "shared r_tmtm_A" in multi.report()
    free = fit_shells_multi(data, kmax=12.0, share_tm_tm=False)
    assert free.shared == {} and len({round(f.paths[1].r_A, 6) for f in free.fits.values()}) == 3


def test_shared_fit_on_two_real_repeat_scans(xas_data, shell_cache):
    """Real data: two repeat scans of NiO (NiO.prj 000 and 001) sharing Ni-Ni: the shared
    distance lies between the two single-scan values (within their errors)."""
    from naheo_spec.xas.shellfit import fit_shells_multi

    paths = run_feff(reference_structure("NiO"), "Ni", cache_dir=shell_cache)
    nio = xas_data / LARCH / "NiO.prj"
    data = [(s, *chi_of(nio, scan=f"NiO.{s}"), paths) for s in ("000", "001")]
    single = [fit_shells(k, chi, p).paths[1] for _, k, chi, p in data]
    multi = fit_shells_multi(data)
    r, err = multi.shared["r_tmtm_A"]
    lo, hi = sorted(p.r_A for p in single)
    assert lo - max(p.r_err_A for p in single) <= r <= hi + max(p.r_err_A for p in single)
    assert r == pytest.approx(TABLE["NiO"]["a_A"] / math.sqrt(2), abs=0.04)
    with pytest.raises(InputError, match="at least two"):
        fit_shells_multi(data[:1])
    with pytest.raises(InputError, match="unique"):
        fit_shells_multi([data[0], data[0]])


# ---------------------------------------------------------------- f. the O3 template on real data
def test_o3_target_template_fits_a_real_layered_mn_oxide(xas_data, shell_cache, amcsd_cif):
    """ref:NaLNCFM-O3 (the target's O3 template, TM-O 2.02, TM-TM 3.02 A) on the real
    Li2MnO3 spectrum (Mn.prj; Li[Li1/3Mn2/3]O2, an O3-type layered Mn4+ oxide): the fitted
    Mn-O and Mn-Mn land within 0.02 A of the crystal structure (AMCSD 16283, Strobel and
    Lambert-Andron, JSSC 75, 90 (1988), read with from_cif). Its honeycomb layer has 3 Mn
    and 3 Li around each Mn, which the template's 6 TM cannot describe: the fit says so
    (N and sigma2 of Mn-Mn flagged)."""
    from naheo_spec.xas.feff import select_shell_paths

    mn_o, mn_mn = cif_distances(amcsd_cif(16283), "Mn", 3.0)
    k, chi = chi_of(xas_data / LARCH / "prj_export" / "Mn__Li2MnO3.dat")
    paths = select_shell_paths(run_feff(reference_structure("NaLNCFM-O3"), "Mn",
                                        cache_dir=shell_cache))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_shells(k, chi, paths, kmin=3.0, kmax=11.1)
    first, second = res.paths
    assert first.r_A == pytest.approx(mn_o, abs=0.02)          # 1.912 A
    assert second.r_A == pytest.approx(mn_mn, abs=0.02)        # 2.847 A
    assert any(w.code == "xas.shellfit.n_off" and "Mn-Mn" in w.message for w in res.warnings)
