"""Limits of the layered-cathode material in the EXAFS pipeline, on real spectra.

a. Metal foils are recognised (E0 at the tabulated edge, no white line) and get the metal
   peak windows with a coded note; no oxide gets them.
b. Given the composition, the k range stops before the next element's edge (Mn K before
   Fe K, Ni K before Cu K) with a warning saying where and why.
c. Without a composition, a step in mu(E) inside the EXAFS range is found and stops the
   range: on a real Mn spectrum that carries an Fe K step (CERIC MnO.xdi) and on real Mn
   spectra with a real Fe edge spliced in (SYNTHETIC, labelled); none of the other 49 real
   spectra of the shared data is flagged.
d. Fluorescence data are corrected for self-absorption given the composition (the kernel
   equals larch's fluo_corr on a real spectrum treated as fluorescence), with a warning
   when the correction is large and when it cannot be made.
"""
from __future__ import annotations

import glob

import numpy as np
import pytest

from conftest import CERIC, LARCH, XDL
from naheo_spec.errors import DefaultAdjustedWarning, InputError, QualityWarning, RepairWarning
from naheo_spec.io import read_spectra, read_spectrum
from naheo_spec.model import Spectrum
from naheo_spec.xas.edge_limits import (MU_STEP, NEXT_EDGE, composition_limit, find_mu_steps,
                                        next_edges)
from naheo_spec.xas.exafs import METAL_FOIL, analyze_exafs
from naheo_spec.xas.normalize import normalize
from naheo_spec.xas.self_absorption import SA_CORRECTED, SA_LARGE, SA_NOT_CORRECTED, fluo_corr

TARGET = "Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2"
PRJ = f"{LARCH}/prj_export"


def _codes(res):
    return [w.code for w in res.warnings]


# ----------------------------------------------------------------------------- a. foils
FOILS = [f"{LARCH}/ni_metal_rt.xdi", f"{CERIC}/Ni_foil_111.xdi", f"{CERIC}/Fe_foil_311.xdi",
         f"{CERIC}/Mn_foil_111.xdi", f"{LARCH}/fe.060", f"{PRJ}/Mn__Mn_foil.dat",
         f"{PRJ}/NiO__d_Ref_NiO_000.dat", f"{XDL}/Fe_metal_rt_01.xdi"]
OXIDES = [f"{PRJ}/NiO__NiO_000.dat", f"{CERIC}/FeO_311.xdi", f"{CERIC}/MnO.xdi",
          f"{CERIC}/LaNiO3_Ni_80K_111.xdi", f"{CERIC}/mno2_10m.xdi", f"{LARCH}/fe2o3_rt1.xmu",
          f"{CERIC}/Fe3O4_311.xdi", f"{PRJ}/Mn__Li2MnO3.dat", f"{XDL}/NiOH2_rt_01.xdi"]


@pytest.mark.filterwarnings("ignore::naheo_spec.errors.QualityWarning")
@pytest.mark.parametrize("rel", FOILS, ids=[f.split("/")[-1] for f in FOILS])
def test_metal_foil_recognised(xas_data, rel):
    """A foil gets the metal window (first-shell peak 2.1-2.3 A apparent), no 'TM-O' peak,
    and a coded note naming the tabulated edge."""
    with pytest.warns(DefaultAdjustedWarning, match="treated as a metal foil"):
        res = analyze_exafs(read_spectrum(xas_data / rel, technique="xas"))
    assert res.peak_windows == "metal" and METAL_FOIL.code in _codes(res)
    assert [p.label for p in res.ft_peaks] == ["TM-TM"]
    assert 2.05 < res.peak("TM-TM").r_apparent_A < 2.35


@pytest.mark.filterwarnings("ignore::naheo_spec.errors.QualityWarning")
@pytest.mark.filterwarnings("ignore::naheo_spec.errors.DefaultAdjustedWarning")
@pytest.mark.parametrize("rel", OXIDES, ids=[f.split("/")[-1] for f in OXIDES])
def test_oxides_keep_the_oxide_windows(xas_data, rel):
    res = analyze_exafs(read_spectrum(xas_data / rel, technique="xas"))
    assert res.peak_windows == "oxide" and METAL_FOIL.code not in _codes(res)
    assert [p.label for p in res.ft_peaks] == ["TM-O", "TM-TM"]


def test_explicit_windows_win_over_the_foil_rule(xas_data, recwarn):
    res = analyze_exafs(read_spectrum(xas_data / LARCH / "ni_metal_rt.xdi"), peak_windows="oxide")
    assert res.peak_windows == "oxide" and METAL_FOIL.code not in _codes(res)


# ----------------------------------------------------------------------------- b. next edge
def test_next_edges_of_the_target_material():
    comp = {"Na": 0.95, "Li": 0.06, "Ni": 0.25, "Cu": 0.05, "Fe": 0.15, "Mn": 0.49, "O": 2.0}
    assert [e[:2] for e in next_edges("Mn", "K", comp)[:3]] == [("Fe", "K"), ("Ni", "K"),
                                                               ("Cu", "K")]
    assert next_edges("Ni", "K", comp)[0][:3] == ("Cu", "K", 8979.0)
    assert next_edges("Fe", "K", comp)[0][:2] == ("Ni", "K")
    # at E0 = tabulated: the numbers of the issue, k(Fe K) = 12.3, k(Cu K) = 13.0
    assert composition_limit(6539.0, "Mn", "K", comp).k_edge_invA == pytest.approx(12.26, abs=0.01)
    assert composition_limit(8333.0, "Ni", "K", comp).k_edge_invA == pytest.approx(13.02, abs=0.01)
    assert composition_limit(7112.0, "Fe", "K", comp).k_edge_invA == pytest.approx(17.90, abs=0.01)
    with pytest.raises(InputError, match="does not contain the absorber"):
        next_edges("Co", "K", comp)


@pytest.mark.parametrize("rel, scan, element, edge_el", [
    (f"{CERIC}/MnO.xdi", None, "Mn", "Fe"),
    (f"{LARCH}/NiO.prj", "NiO", "Ni", "Cu"),
    (f"{CERIC}/LaNiO3_Ni_80K_111.xdi", None, "Ni", "Cu"),
])
def test_composition_stops_the_k_range_before_the_next_edge(xas_data, rel, scan, element,
                                                            edge_el):
    """Real Mn and Ni spectra analysed as the target cathode: the AUTOBK spline and the FT
    window end before the Fe K (Mn) or Cu K (Ni) edge, with a warning naming the edge."""
    spec = read_spectrum(xas_data / rel, scan=scan, technique="xas")
    with pytest.warns(DefaultAdjustedWarning, match=f"below the {edge_el} K edge"):
        res = analyze_exafs(spec, composition=TARGET, bkg_kweight=2, kmax=16.0)
    lim = res.k_limit
    assert lim.source == "composition" and lim.element == edge_el
    k_edge = np.sqrt((lim.energy_eV - res.e0_eV) / 3.80998)
    assert lim.k_edge_invA == pytest.approx(k_edge, abs=0.01)
    assert lim.kmax_invA < lim.k_edge_invA
    assert res.ft_kmax_invA == pytest.approx(lim.kmax_invA - 0.5)      # window sill dk/2 = 0.5
    assert res.provenance.parameters["autobk"]["kmax"] == "per scan"
    assert res.k_invA[-1] <= lim.kmax_invA + 0.05                      # spline stops there too
    assert NEXT_EDGE.code in _codes(res) and MU_STEP.code not in _codes(res)
    msg = next(w for w in res.warnings if w.code == NEXT_EDGE.code).message
    assert "k range stops at" in msg and f"{edge_el} is in the sample" in msg


def test_edge_beyond_the_data_changes_nothing(xas_data, recwarn):
    """Fe K EXAFS of the target: the next edge (Ni K) is 17.9 A^-1 away, beyond feo_rt1's data."""
    res = analyze_exafs(read_spectrum(xas_data / LARCH / "feo_rt1.xdi"), composition=TARGET)
    assert res.k_limit is None and NEXT_EDGE.code not in _codes(res)
    assert res.ft_kmax_invA == pytest.approx(12.0)


def test_composition_from_the_file_and_unreadable_formula(xas_data):
    """XDL files carry Sample.formula; 'Ni_OH_2' is not a formula: said, not guessed."""
    with pytest.warns(DefaultAdjustedWarning, match="not a chemical formula"):
        res = analyze_exafs(read_spectrum(xas_data / XDL / "NiOH2_rt_01.xdi"))
    assert res.provenance.parameters["composition_source"] is None
    spec = read_spectrum(xas_data / XDL / "Fe3O4_rt_01.xdi")
    meta = dict(spec.metadata, **{"sample.formula": TARGET.replace("Mn0.49", "Mn0.49Co0.1")})
    res = analyze_exafs(spec.with_changes(metadata=meta), detect_steps=False)
    assert res.provenance.parameters["composition_source"] == "file (sample.formula)"
    assert res.k_limit is not None and res.k_limit.element == "Co"   # Co K 7709 eV: k 12.2


# ----------------------------------------------------------------------------- c. steps
def _spliced(xas_data, base, fraction):
    """SYNTHETIC: a real Mn spectrum plus a real normalized Fe2O3 spectrum (CERIC, Fe K)
    scaled to ``fraction`` of the Mn edge step, at its own energies."""
    mn = read_spectrum(xas_data / CERIC / base)
    fe = read_spectrum(xas_data / CERIC / "Fe2O3_311_EXAFS.xdi")
    n_mn, n_fe = normalize(mn.energy, mn.mu), normalize(fe.energy, fe.mu)
    add = np.interp(mn.energy, fe.energy, n_fe.norm, left=0.0) * fraction * n_mn.edge_step
    meta = dict(mn.metadata, synthetic="real Mn_foil_111 + spliced real Fe2O3 Fe K edge")
    return mn.with_changes(signal=mn.mu + add, metadata=meta)


@pytest.mark.parametrize("fraction", [0.28, 0.05])
def test_spliced_fe_edge_is_found_without_composition(xas_data, fraction):
    """SYNTHETIC (labelled): Mn foil + a real Fe K edge of 28 % (the target's Fe/Mn step
    ratio) or 5 % of the Mn step: warning and capped k range without any composition."""
    spec = _spliced(xas_data, "Mn_foil_111.xdi", fraction)
    with pytest.warns(QualityWarning, match="step of .* near the Fe K 7112 eV"):
        res = analyze_exafs(spec, kmax=14.0)
    lim = res.k_limit
    assert lim.source == "data" and 12.1 < lim.k_edge_invA < 12.6
    assert lim.relative_step == pytest.approx(fraction, rel=0.35)
    assert res.ft_kmax_invA <= lim.kmax_invA - 0.5 + 1e-9 < 12.0
    assert MU_STEP.code in _codes(res)
    free = analyze_exafs(spec, kmax=14.0, detect_steps=False)
    assert free.k_limit is None and free.ft_kmax_invA == pytest.approx(14.0)


def test_spliced_edge_with_composition_is_one_warning(xas_data, recwarn):
    """With the composition the same step is the expected Fe K edge: one warning, not two."""
    res = analyze_exafs(_spliced(xas_data, "Mn_foil_111.xdi", 0.28), composition=TARGET,
                        peak_windows="metal")
    assert res.k_limit.source == "composition" and res.k_limit.element == "Fe"
    assert _codes(res).count(NEXT_EDGE.code) == 1 and MU_STEP.code not in _codes(res)


def test_real_fe_step_in_mno(xas_data):
    """CERIC MnO.xdi carries a real 4 % step at the Fe K edge (k 12.35; described before as
    a 'glitch at k ~ 12.5'): found and named without a composition."""
    with pytest.warns(QualityWarning, match="near the Fe K 7112 eV"):
        res = analyze_exafs(read_spectrum(xas_data / CERIC / "MnO.xdi"))
    assert 7105 < res.k_limit.energy_eV < 7135 and 0.02 < res.k_limit.relative_step < 0.08


def _all_real_spectra(xas_data):
    files = sorted(glob.glob(str(xas_data / "*" / "*.xdi")) + glob.glob(str(xas_data / PRJ / "*.dat"))
                   + [str(xas_data / LARCH / "fe2o3_rt1.xmu"), str(xas_data / LARCH / "fe.060")])
    for f in files:
        for spec in read_spectra(f, technique="xas"):
            yield f, spec


@pytest.mark.filterwarnings("ignore::naheo_spec.errors.NaheoWarning")
def test_no_false_steps_on_the_shared_data(xas_data):
    """The step finder flags only CERIC MnO.xdi (its real Fe step) among the 50 real spectra."""
    flagged, tested = [], 0
    for f, spec in _all_real_spectra(xas_data):
        n = normalize(spec.energy, spec.mu, flatten=False)
        step, = find_mu_steps(spec.energy, n.norm, n.e0_eV)
        tested += 1
        if step is not None:
            flagged.append(f.split("/")[-1])
    assert tested >= 48 and flagged == ["MnO.xdi"]


# ----------------------------------------------------------------------------- d. self-absorption
def test_fluo_corr_equals_larch_on_a_real_spectrum(xas_data):
    """Real MnO (CERIC) treated as fluorescence: our correction equals larch fluo_corr to
    1e-10 with the same normalization (pre-edge to E0-30 eV, linear post-edge from +100 eV)."""
    from larch import Group
    from larch.xafs import fluo_corr as larch_fluo_corr

    d = np.loadtxt(xas_data / CERIC / "MnO.xdi", usecols=(0, 1))
    g = Group(energy=d[:, 0], mu=d[:, 1])
    larch_fluo_corr(d[:, 0], d[:, 1], "MnO", "Mn", group=g)
    n = normalize(d[:, 0], d[:, 1], pre_range=(None, -30), norm_range=(100, None), nnorm=1)
    ours = fluo_corr(d[:, 1], n.norm, "MnO", "Mn")
    assert np.abs(ours.mu - g.mu_corr).max() / np.abs(g.mu_corr).max() < 1e-10
    assert ours.amplitude_factor == pytest.approx(3.61, abs=0.01) and ours.large


def test_fluorescence_pipeline_corrects_and_warns(xas_data):
    """As fluorescence with the composition: corrected as larch fluo_corr + pre_edge +
    autobk + xftf would (chi(k) to 1e-6), the EXAFS amplitude grows, and a warning says
    the correction is large.

    A fluorescence signal has no absorption below the edge (only the absorber emits the
    line), so the real NiO scan is used as its normalized mu (pre-edge 0, step 1)."""
    from larch import Group
    from larch.xafs import autobk, fluo_corr as larch_fluo_corr, pre_edge

    raw = read_spectrum(xas_data / PRJ / "NiO__NiO_000.dat")
    signal = normalize(raw.energy, raw.mu).norm
    spec = raw.with_changes(signal=signal)
    plain = analyze_exafs(spec, bkg_kweight=2)
    with pytest.warns(QualityWarning, match="correction is large"):
        res = analyze_exafs(spec, bkg_kweight=2, measurement_mode="fluorescence",
                            composition="NiO")
    assert {SA_CORRECTED.code, SA_LARGE.code} <= set(_codes(res))
    assert res.self_absorption["amplitude_factor"] == pytest.approx(3.56, abs=0.01)
    g = Group(energy=raw.energy, mu=signal)
    larch_fluo_corr(raw.energy, signal, "NiO", "Ni", group=g)
    h = Group(energy=raw.energy, mu=g.mu_corr)
    pre_edge(h)
    autobk(h, rbkg=1.0, kweight=2)
    assert res.e0_eV == pytest.approx(h.e0, abs=1e-6)
    sel = (res.k_invA >= 3) & (res.k_invA <= 12)
    rel = np.sqrt(np.mean((res.chi - h.chi)[sel] ** 2)) / np.sqrt(np.mean(h.chi[sel] ** 2))
    assert rel < 1e-5
    assert res.peak("TM-O").magnitude > 1.5 * plain.peak("TM-O").magnitude
    # alpha = 0.39 is comparable to chi near the edge: the correction is far from linear
    # and shifts the apparent first-shell peak by 0.06 A here
    assert res.peak("TM-O").r_apparent_A == pytest.approx(plain.peak("TM-O").r_apparent_A,
                                                          abs=0.1)
    with pytest.warns(QualityWarning, match="self-absorption not corrected"):
        bare = analyze_exafs(spec, bkg_kweight=2, measurement_mode="fluorescence")
    assert SA_NOT_CORRECTED.code in _codes(bare) and bare.self_absorption is None
    same = analyze_exafs(spec, bkg_kweight=2, composition="NiO")        # transmission
    assert same.self_absorption is None and SA_CORRECTED.code not in _codes(same)
    with pytest.raises(InputError, match="composition"):
        analyze_exafs(spec, self_absorption=True)


def test_target_material_self_absorption_is_large():
    from naheo_spec.xas.self_absorption import self_absorption_alpha

    factors = {el: (a + 1) / a for el in ("Mn", "Fe", "Ni")
               for a in [self_absorption_alpha(TARGET, el)[0]]}
    assert factors["Mn"] == pytest.approx(1.81, abs=0.02)
    assert all(f > 1.1 for f in factors.values())


# ----------------------------------------------------------------------------- merge
def test_pipeline_merges_near_duplicate_energies(xas_data):
    """Two points 1e-6 eV apart with different mu: merged before E0 and AUTOBK, with a
    RepairWarning; the result equals the clean scan's to 2 % in the peak heights."""
    spec = read_spectrum(xas_data / PRJ / "NiO__NiO_000.dat")
    clean = analyze_exafs(spec, bkg_kweight=2)
    i = 300
    e = np.insert(spec.energy, i + 1, spec.energy[i] + 1e-6)
    mu = np.insert(spec.mu, i + 1, spec.mu[i] * 1.01)
    with pytest.warns(RepairWarning, match="merged"):
        res = analyze_exafs(Spectrum(axis=e, signal=mu, element="Ni"), bkg_kweight=2)
    assert res.e0_eV == pytest.approx(clean.e0_eV, abs=0.01)
    for p, q in zip(res.ft_peaks, clean.ft_peaks):
        assert p.r_apparent_A == pytest.approx(q.r_apparent_A, abs=0.01)
        assert p.magnitude == pytest.approx(q.magnitude, rel=0.02)


def test_composition_without_the_absorber(xas_data):
    """Given: refused. From the file: ignored, with a note (a wrong Sample.formula must not
    stop the analysis)."""
    spec = read_spectrum(xas_data / LARCH / "feo_rt1.xdi")
    with pytest.raises(InputError, match="does not contain the absorber Fe"):
        analyze_exafs(spec, composition="MnO")
    wrong = spec.with_changes(metadata=dict(spec.metadata, **{"sample.formula": "MnO"}))
    with pytest.warns(DefaultAdjustedWarning, match="does not contain the absorber Fe"):
        res = analyze_exafs(wrong)
    assert res.provenance.parameters["composition"] is None
