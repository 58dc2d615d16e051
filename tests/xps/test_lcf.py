"""Linear combination of real reference spectra (naheo_spec.xps.lcf).

What each test is:
- each Mn reference fitted with the three Mn references: SELF-CONSISTENCY (the spectrum is
  one of the references);
- mixtures of the real Mn spectra with known weights: the shapes are self-consistent (the
  same spectra serve as references), the added noise is REAL and independent (the high-pass
  residual of another measurement, EX491 Ni sample, Co 2p window): this tests the weights,
  the shifts and whether the error bars cover the truth;
- EX502 Fe oxides fitted with the EX491 Fe references: a REPEAT MEASUREMENT (same samples,
  acquired separately about 3 minutes later, different window): not self-consistency;
- CasaXPS "Lineshapes" blocks as references: the Ni/NiO line shapes are the EX502 Ni/NiO
  blocks minus a constant (self-consistency of the machinery, not of the chemistry).
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy.signal import savgol_filter
from xps.conftest import REF, XDL

from naheo_spec.errors import InputError
from naheo_spec.io import read
from naheo_spec.xps.background import shirley_background
from naheo_spec.xps.lcf import fit_lcf, load_references, reference_from_spectrum
from naheo_spec.xps.spectra import estimate_noise

warnings.filterwarnings("ignore", category=UserWarning)

OX = {"MnO": 2, "Mn2O3": 3, "MnO2": 4}


@pytest.fixture(scope="module")
def mn(xps_data):
    return read(xps_data / f"{REF}/Mn_references.vms", technique="xps")


@pytest.fixture(scope="module")
def mn_refs(xps_data):
    f = xps_data / f"{REF}/Mn_references.vms"
    return load_references(",".join(f"{f}:{n} Mn 2p" for n in OX))


@pytest.mark.parametrize("name", list(OX))
def test_self_consistency_each_mn_reference_is_itself(mn, mn_refs, name):
    r = fit_lcf(mn[f"{name} Mn 2p"], mn_refs, n_bootstrap=10)
    v = r.valence
    assert v.mean_oxidation_state == pytest.approx(OX[name], abs=0.005)   # 2.000/3.000/4.000
    assert v.fractions[f"Mn{OX[name]}+"] > 0.995
    assert "xps.valence.self_consistency" in {w.code for w in r.warnings}
    assert set(v.budget) == {"fit", "background", "template", "charge_reference", "bootstrap"}


@pytest.fixture(scope="module")
def real_noise(xps_data):
    """Standardized real noise: high-pass residual of an independent measurement (EX491 Ni
    sample, Co 2p window: no peak), divided by sqrt(counts) and its own std."""
    b = read(xps_data / f"{REF}/EX491-495_Fe_Ni_Co_oxide_references.vms",
             technique="xps")["Ni Co 2p"]
    smooth = savgol_filter(b.signal, 15, 3)
    z = (b.signal - smooth) / np.sqrt(np.maximum(smooth, 1.0))
    return z / z.std()


def _mixture(mn, weights, z, *, noise=1.0, seed=0, shift=0.0, shift_only=None):
    """Sum of the raw Mn spectra, each scaled by weight / (its Shirley-net area), moved by
    ``shift`` (all, or ``shift_only``), plus real noise at ``noise`` x the Mn spectra's own
    noise level (k sqrt(counts))."""
    x = mn["MnO Mn 2p"].axis
    y = np.zeros_like(x)
    areas = []
    for n, w in weights.items():
        s = mn[f"{n} Mn 2p"]
        a = np.trapezoid(s.signal - shirley_background(s.axis, s.signal).values, s.axis)
        areas.append(a)
        d = shift if shift_only in (None, n) else 0.0
        y += w * np.interp(x, s.axis + d, s.signal) / a
    y *= np.mean(areas)
    k = np.mean([estimate_noise(mn[f"{n} Mn 2p"].signal, raw_counts=False)[2] for n in OX])
    off = np.random.default_rng(seed).integers(0, z.size - x.size)
    y = y + noise * k * z[off:off + x.size] * np.sqrt(y)
    return mn["MnO Mn 2p"].with_changes(signal=y, sigma=estimate_noise(y, raw_counts=False)[0],
                                        sigma_source="estimated")


MIXES = [{"Mn2O3": 0.6, "MnO2": 0.4}, {"MnO": 0.3, "Mn2O3": 0.7},
         {"MnO": 0.2, "Mn2O3": 0.3, "MnO2": 0.5}]


@pytest.mark.parametrize("weights", MIXES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixtures_with_real_noise_within_error_bars(mn, mn_refs, real_noise, weights, seed):
    r = fit_lcf(_mixture(mn, weights, real_noise, seed=seed), mn_refs, n_bootstrap=20)
    v = r.valence
    true = sum(OX[n] * w for n, w in weights.items())
    assert abs(v.mean_oxidation_state - true) <= 2 * v.mean_oxidation_state_err + 0.005
    assert v.mean_oxidation_state_err < 0.15          # measured 0.02-0.09 at this noise
    for n in OX:
        f = v.fractions[f"Mn{OX[n]}+"]
        assert abs(f - weights.get(n, 0.0)) <= 2 * v.fractions_err[f"Mn{OX[n]}+"] + 0.01


def test_error_bars_grow_with_the_noise(mn, mn_refs, real_noise):
    w = MIXES[2]
    lo = fit_lcf(_mixture(mn, w, real_noise, noise=1.0), mn_refs, n_bootstrap=20).valence
    hi = fit_lcf(_mixture(mn, w, real_noise, noise=5.0), mn_refs, n_bootstrap=20).valence
    assert hi.mean_oxidation_state_err > 2 * lo.mean_oxidation_state_err
    assert abs(hi.mean_oxidation_state - 3.3) <= 2 * hi.mean_oxidation_state_err


def test_common_shift_recovered(mn, mn_refs, real_noise):
    r = fit_lcf(_mixture(mn, MIXES[0], real_noise, shift=0.3), mn_refs, n_bootstrap=0)
    shifts = [t["shift_eV"] for t in r.extra["lcf"]["references"]]
    assert shifts[0] == pytest.approx(0.3, abs=0.03) and np.ptp(shifts) < 1e-9
    assert r.valence.mean_oxidation_state == pytest.approx(3.4, abs=0.08)


def test_per_reference_shift_recovered(mn, mn_refs, real_noise):
    """Only MnO2 moved by +0.4 eV: one shift per reference finds it; a common shift fits
    worse."""
    spec = _mixture(mn, MIXES[0], real_noise, shift=0.4, shift_only="MnO2")
    per = fit_lcf(spec, mn_refs, shift="per-reference", n_bootstrap=0)
    com = fit_lcf(spec, mn_refs, shift="common", n_bootstrap=0)
    rows = {t["name"]: t for t in per.extra["lcf"]["references"]}
    assert rows["MnO2 Mn 2p"]["shift_eV"] == pytest.approx(0.4, abs=0.1)
    assert rows["Mn2O3 Mn 2p"]["shift_eV"] == pytest.approx(0.0, abs=0.1)
    assert per.fit.chi2 < com.fit.chi2
    assert per.valence.mean_oxidation_state == pytest.approx(3.4, abs=0.1)


@pytest.fixture(scope="module")
def fe_refs(xps_data):
    f = xps_data / f"{REF}/EX491-495_Fe_Ni_Co_oxide_references.vms"
    return load_references(f"{f}:FeO Fe 2p,{f}:Fe3O4 Fe 2p,{f}:Fe2O3 Fe 2p")


@pytest.mark.parametrize("sample,mos", [("FeO", 2.0), ("Fe3O4", 8 / 3), ("Fe2O3", 3.0)])
def test_repeat_measurement_of_fe_oxides(xps_data, fe_refs, sample, mos):
    """EX502's Fe oxide blocks are separate acquisitions of the EX491 samples (a repeat, not
    the same counts): each comes back as its own oxide, with a common shift of -0.2 eV."""
    ex = read(xps_data / f"{XDL}/measured/EX502-506_Fe_Ni_Co_mixed_oxides.vms", technique="xps")
    r = fit_lcf(ex[f"{sample} Ni 2p-Co 2p-Fe 2p"], fe_refs, n_bootstrap=10)
    assert r.valence.mean_oxidation_state == pytest.approx(mos, abs=0.02)
    assert r.extra["lcf"]["references"][0]["shift_eV"] == pytest.approx(-0.2, abs=0.05)
    assert "xps.valence.self_consistency" not in {w.code for w in r.warnings}


def test_casaxps_lineshape_blocks_as_references(xps_data):
    f = xps_data / f"{XDL}/measured/EX502-506_Fe_Ni_Co_mixed_oxides.vms"
    refs = load_references(f"{f}:%&<>Ni,{f}:%&<>NiO")
    assert [r.state for r in refs] == ["Ni0", "Ni2+"] and all(r.is_lineshape for r in refs)
    ex = read(f, technique="xps")
    for block, state in (("NiO Ni 2p-Co 2p-Fe 2p", "Ni2+"), ("Ni Ni 2p-Co 2p-Fe 2p", "Ni0")):
        r = fit_lcf(ex[block], refs, window=(845.0, 887.0), n_bootstrap=0)
        assert r.background == "min-limits"
        assert r.valence.fractions[state] > 0.99


def test_bad_reference_input(xps_data, mn):
    f = xps_data / f"{REF}/Mn_references.vms"
    with pytest.raises(InputError, match="at least two"):
        load_references(f"{f}:MnO Mn 2p")
    with pytest.raises(InputError, match="name one as"):
        load_references(f"{f},{f}:MnO Mn 2p")
    refs = load_references(f"{f}:MnO Mn 2p,{f}:MnO2 Mn 2p")
    with pytest.raises(InputError, match="must cover"):
        fit_lcf(mn["Mn2O3 Mn 2p"], refs, window=(629.0, 660.0))
    r = reference_from_spectrum(mn["MnO Mn 2p"], state="Mn2+")
    assert r.state == "Mn2+" and r.element == "Mn"


def test_cli_lcf_json(xps_data, capsys):
    from naheo_spec.cli.main import main

    f = str(xps_data / f"{REF}/Mn_references.vms")
    spec = ",".join(f"{f}:{n} Mn 2p" for n in OX)
    assert main(["xps", f, "--block", "Mn2O3 Mn 2p", "--model", f"lcf:{spec}", "--json",
                 "--no-budget"]) == 0
    (e,) = json.loads(capsys.readouterr().out)
    assert e["mean_oxidation_state"] == pytest.approx(3.0, abs=0.005)
    assert [t["state"] for t in e["lcf"]["references"]] == ["Mn2+", "Mn3+", "Mn4+"]
    assert set(e["valence_fractions"]) == {"Mn2+", "Mn3+", "Mn4+"}
    assert main(["xps", f, "--block", "0", "--model", f"lcf:{spec}", "--no-budget",
                 "--lcf-shift", "per-reference", "--window", "633,667"]) == 0
    assert "LCF (per-reference shift" in capsys.readouterr().out


def test_bootstrap_term_matches_the_real_noise_scatter(mn, mn_refs, real_noise):
    """Across 8 independent real-noise segments, the scatter of the mean oxidation state is
    what the residual bootstrap claims (measured: bootstrap 1.1-1.5x the scatter over 3
    mixtures x 20 segments), while the covariance term alone is 2-4x too small (smoothed
    data: correlated noise)."""
    w = MIXES[0]
    res = [fit_lcf(_mixture(mn, w, real_noise, seed=s), mn_refs, n_bootstrap=20).valence
           for s in range(8)]
    scatter = float(np.std([v.mean_oxidation_state for v in res], ddof=1))
    boot = float(np.median([v.budget["bootstrap"]["mean_oxidation_state"] for v in res]))
    cov = float(np.median([v.budget["fit"]["mean_oxidation_state"] for v in res]))
    assert 0.6 * scatter <= boot <= 3.0 * scatter, (boot, scatter)
    assert cov < scatter, (cov, scatter)
