"""SYNTHETIC demo XAS spectra with known ground truth (Ni, Fe, Mn K edges).

Everything here is computed by this module from a simple physical model; nothing is
a measurement. Every spectrum carries ``metadata["synthetic"] = True`` and
``metadata["label"] = DEMO_LABEL`` plus its ground truth (``truth_*`` keys), so the
pipelines can be checked against known answers.

The model of μ(E), on the foil-calibrated (true) energy scale
-------------------------------------------------------------
μ(E) = pre(E) + J · [ S(E − E_c)·p(E) + W(E) + P(E) + p(E)·χ(k) ]

- pre(E) = c0 + c1·(E_tab/E)³: Victoreen-like absorption of the matrix and of the
  absorber's outer shells;
- J: edge step; S: arctan step (core-hole Lorentzian, FWHM Γ_K of Krause and Oliver
  [1]_) convolved with a Gaussian of FWHM ``gauss_fwhm_eV`` that stands for the
  monochromator resolution *and* the unresolved 1s→4p structure of an oxide edge
  (a pure arctan with Γ_K ≈ 1.2–1.4 eV rises far too fast); its centre E_c is set so
  that the half-height energy of the noise-free normalized spectrum equals

      E0(v) = intercept + slope · v            (``edge_position``)

  with slope/intercept derived from the measured half-height table of
  ``reference_spectra/xanes_standards/README.md`` (measured lines) (Mn 3.65 eV/valence through CERIC MnO/Mn2O3/MnO2;
  Fe 5.5 eV through FeO_311 = 7118.81 eV; Ni 3.7 eV through NiO = 8341.93 eV).
  These are demo values, not a calibration to use on measured data;
- p(E) = (E_c/E)^2.7: decay of the K-shell cross-section above the edge;
- W(E): white line, a Voigt peak (core-hole Lorentzian ⊗ Gaussian) of height
  ``wl_height`` at ``wl_offset_eV`` above E_c; P(E): a weak 1s→3d pre-edge peak.
  Heights and widths were tuned so that the 10–90 % rise and the normalized maximum
  resemble the real NiO, FeO_311 and MnO spectra of the shared reference data (``reference_spectra/xanes_standards``);
- χ(k): two single-scattering shells (TM–O, TM–TM) summed by
  :mod:`naheo_spec.demo.exafs_model` from FEFF6 amplitudes, phases and mean free paths
  of the O3 template ``DEMO_O3_SPEC`` (the paths the demo's shell fit uses) at the true
  N, R, σ², with k from E_c and FEFF's k = 0 at E_c − 2 eV; model amplitudes/linear
  phases if FEFF is unavailable or ``exafs_model="model"`` (``truth_exafs_model``).
  The metal foil's χ always uses the model (only its edge is used, for calibration).

The recorded energy axis carries a per-scan monochromator drift d: the sample and
the foil reference are both evaluated at E_rec − d, so the foil's maximum-derivative
E0 sits at E_tab + d and foil calibration (E_cal = E_rec + E_tab − E0_foil) must
recover d. Gaussian noise of standard deviation ``noise × J`` is added (seeded).

References
----------
.. [1] M. O. Krause and J. H. Oliver, "Natural widths of atomic K and L levels, Kα
   X-ray lines and several KLL Auger lines", J. Phys. Chem. Ref. Data 8, 329 (1979),
   doi:10.1063/1.555595 (the K widths xraydb's ``core_width`` returns).
.. [2] R. D. Shannon, "Revised effective ionic radii", Acta Cryst. A32, 751 (1976),
   doi:10.1107/S0567739476001551 (TM–O distances of the synthetic standards).
.. [3] T. Cai et al., Nano-Micro Lett. 16, 10 (2024), doi:10.1007/s40820-023-01232-0
   (§3.5: the charge-compensation narrative the operando series imitates).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from naheo_spec.demo.exafs_model import (
    DEFAULT_FEFF_E0_SHIFT_EV,
    DEFAULT_S02,
    DEMO_O3_SPEC,
    KTOE,
    ChiModel,
    Shell,
    as_shells,
    chi_single_scattering,
    make_chi_model,
)
from naheo_spec.errors import InputError
from naheo_spec.model import SourceInfo, Spectrum

#: Label written into every synthetic spectrum, file and README.
DEMO_LABEL = "SYNTHETIC DEMO DATA - not a measurement"

#: Version of the generator model; bump when the physics or defaults change.
GENERATOR_VERSION = "2"

#: K-level natural widths (FWHM, eV), Krause & Oliver (1979) = xraydb ``core_width``.
CORE_HOLE_WIDTH_EV = {"Mn": 1.16, "Fe": 1.25, "Ni": 1.44}

#: Fallback tabulated K-edge energies (eV, xraydb/Bearden) if xraydb is unavailable.
_TABULATED_K_EV = {"Mn": 6539.0, "Fe": 7112.0, "Ni": 8333.0}

#: Exponent of the post-edge decay p(E) = (E_c/E)^POST_EDGE_POWER.
POST_EDGE_POWER = 2.7

#: Gaussian FWHM (eV) of the 1s→3d pre-edge peak.
PREPEAK_GAUSS_FWHM_EV = 1.5

#: Default shells (first O shell, then the transition-metal shell).
DEFAULT_SHELLS = (("O", 6, 2.0, 0.005), ("TM", 6, 2.90, 0.006))


@dataclass(frozen=True)
class EdgeModel:
    """Demo XANES parameters of one K edge (energies in eV).

    Attributes
    ----------
    element : str
    slope_eV : float
        Half-height shift per formal valence unit (eV).
    intercept_eV : float
        Half-height position extrapolated to valence 0 (eV, foil-calibrated).
    gauss_fwhm_eV : float
        Effective Gaussian broadening of the edge and white line (eV).
    wl_height : float
        White-line peak height in edge-step units.
    wl_offset_eV : float
        White-line position above the arctan centre (eV).
    wl_gauss_fwhm_eV : float
        Gaussian FWHM of the white line (eV).
    prepeak_height : float
        1s→3d pre-edge peak height (edge-step units) at valence 2; rises 30 % per unit.
    prepeak_offset_eV : float
        Pre-edge peak position above E_tab at valence 2 (eV); +0.8 eV per valence unit.
    metal_shells : tuple
        Foil EXAFS shells (scatterer, N, R Å, σ² Å²), metal structure.
    source : str
        Where slope and intercept come from.
    """

    element: str
    slope_eV: float
    intercept_eV: float
    gauss_fwhm_eV: float
    wl_height: float
    wl_offset_eV: float
    wl_gauss_fwhm_eV: float
    prepeak_height: float
    prepeak_offset_eV: float
    metal_shells: tuple
    source: str


#: Demo edge models. Slopes/intercepts: reference_spectra/xanes_standards/README.md (measured lines) (measured half-height
#: positions after foil calibration); shape parameters tuned against NiO.prj scan 000,
#: CERIC FeO_311 and CERIC MnO (normalized maximum and 10-90 % rise).
EDGE_MODELS: dict[str, EdgeModel] = {
    "Mn": EdgeModel("Mn", 3.65, 6537.7, 4.0, 0.48, 10.0, 10.0, 0.06, 1.5,
                    (("TM", 12, 2.70, 0.010),),
                    "CERIC MnO/bixbyite/mno2_10m half-height line: 3.65 eV/valence, intercept 6537.7 eV"),
    "Fe": EdgeModel("Fe", 5.5, 7118.81 - 2 * 5.5, 9.0, 0.25, 10.0, 6.0, 0.05, 1.3,
                    (("TM", 8, 2.482, 0.005), ("TM", 6, 2.866, 0.006)),
                    "CERIC FeO_311/Fe3O4_311/Fe2O3 half-height line: 5.5 eV/valence through FeO 7118.81 eV"),
    "Ni": EdgeModel("Ni", 3.7, 8341.93 - 2 * 3.7, 9.0, 0.60, 6.0, 8.0, 0.04, 1.2,
                    (("TM", 12, 2.492, 0.006),),
                    "NiO.prj / LaNiO3 half-height line: 3.7 eV/valence through NiO 8341.93 eV"),
}

#: Shannon (1976) octahedral ionic radii (Å) at integer valences 2, 3, 4
#: (high spin Mn2+/3+, Fe2+/3+; low spin Ni3+/4+), and O2- (VI).
SHANNON_RADII_A = {"Mn": (0.83, 0.645, 0.53), "Fe": (0.78, 0.645, 0.585),
                   "Ni": (0.69, 0.56, 0.48)}
O2_RADIUS_A = 1.40

#: σ²(TM–O), σ²(TM–TM) in Å² of the rock-salt (valence 2) standards. FeO: larch's
#: published 2-path fit (reference_spectra/xanes_standards/README.md (measured lines)); NiO, MnO: demo values that give
#: |χ(R)| peak heights close to NiO.prj and CERIC MnO.
ROCKSALT_SIGMA2_A2 = {"Ni": (0.005, 0.006), "Fe": (0.0101, 0.0125), "Mn": (0.005, 0.008)}


# --------------------------------------------------------------------------- helpers
def _edge_model(element: str) -> EdgeModel:
    key = str(element).strip().capitalize()
    if key not in EDGE_MODELS:
        raise InputError(f"element={element!r}: the demo generator models only "
                         f"{', '.join(EDGE_MODELS)} K edges")
    return EDGE_MODELS[key]


def tabulated_edge(element: str) -> float:
    """Tabulated K-edge energy (eV) via :func:`naheo_spec.xas.edges.tabulated_edge_energy`.

    Falls back to the built-in table (Mn 6539.0, Fe 7112.0, Ni 8333.0 eV; the same
    xraydb values) when that module or xraydb cannot be imported.
    """
    el = _edge_model(element).element
    try:
        from naheo_spec.xas.edges import tabulated_edge_energy
    except ImportError:
        return _TABULATED_K_EV[el]
    try:
        return float(tabulated_edge_energy(el, "K"))
    except ImportError:
        return _TABULATED_K_EV[el]


def edge_position(element: str, valence):
    """Demo half-height edge position E0(v) = intercept + slope·v (eV, foil-calibrated).

    Parameters
    ----------
    element : str
        ``"Mn"``, ``"Fe"`` or ``"Ni"``.
    valence : float or array_like
        Formal oxidation state(s).

    Returns
    -------
    float or ndarray
        Energy (eV) where the noise-free normalized synthetic μ first reaches 0.5
        (an array for array input).

    Raises
    ------
    InputError
        Element not modelled.

    References
    ----------
    Slopes and intercepts: measured half-height table of ``reference_spectra/xanes_standards/README.md`` (measured lines).

    Examples
    --------
    >>> round(edge_position("Ni", 2), 2)
    8341.93
    """
    m = _edge_model(element)
    v = np.asarray(valence, dtype=float)
    e0 = m.intercept_eV + m.slope_eV * v
    return float(e0) if e0.ndim == 0 else e0


def default_energy_grid(element: str) -> np.ndarray:
    """Scan-like energy grid (eV) around the tabulated K edge E_tab.

    5 eV steps from E_tab − 200 to E_tab − 30 eV, 0.5 eV steps from E_tab − 30 to
    E_tab + 50 eV (through every modelled edge and white line), then uniform steps of
    0.05 Å⁻¹ in k = √((E − E_tab)/KTOE) up to k = 14 Å⁻¹ (≈ E_tab + 747 eV).
    """
    e_tab = tabulated_edge(element)
    pre = np.arange(-200.0, -30.0, 5.0)
    edge = np.arange(-30.0, 50.0, 0.5)
    k0 = math.ceil(math.sqrt(50.0 / KTOE) / 0.05) * 0.05
    k = np.arange(k0, 14.0 + 1e-9, 0.05)
    return e_tab + np.concatenate([pre, edge, KTOE * k ** 2])


def _voigt_peak(x, gauss_fwhm: float, lorentz_fwhm: float) -> np.ndarray:
    """Voigt profile scaled to unit height at x = 0."""
    from scipy.special import voigt_profile

    s = gauss_fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    g = lorentz_fwhm / 2.0
    return voigt_profile(np.asarray(x, dtype=float), s, g) / voigt_profile(0.0, s, g)


def _voigt_step(x, gauss_fwhm: float, lorentz_fwhm: float) -> np.ndarray:
    """Cumulative Voigt (arctan step ⊗ Gaussian), 0 → 1, centred at x = 0.

    Within ±(40 eV + 8 FWHM_G) it is interpolated from a cached table integrated on a
    0.02 eV grid; outside, the Gaussian's effect is below 1e-6 and the plain arctan is
    used.
    """
    x = np.asarray(x, dtype=float)
    out = 0.5 + np.arctan(x / (lorentz_fwhm / 2.0)) / np.pi
    t, cdf = _step_table(float(gauss_fwhm), float(lorentz_fwhm))
    near = (x > t[0]) & (x < t[-1])
    if np.any(near):
        out[near] = np.interp(x[near], t, cdf)
    return out


@functools.lru_cache(maxsize=32)
def _step_table(gauss_fwhm: float, lorentz_fwhm: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import voigt_profile

    g = lorentz_fwhm / 2.0
    half = 40.0 + 8.0 * gauss_fwhm
    t = np.arange(-half, half + 1e-9, 0.02)
    v = voigt_profile(t, gauss_fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0))), g)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(t))])
    cdf += 0.5 + np.arctan(t[0] / g) / np.pi
    t.setflags(write=False)
    cdf.setflags(write=False)
    return t, cdf


def _k_of(energy, e0: float) -> np.ndarray:
    de = np.asarray(energy, dtype=float) - e0
    return np.sqrt(np.clip(de, 0.0, None) / KTOE)


def _first_crossing(x: np.ndarray, y: np.ndarray, level: float) -> float:
    above = np.nonzero(y >= level)[0]
    if above.size == 0 or above[0] == 0:
        raise InputError(f"model never crosses {level} inside {x[0]:.1f}..{x[-1]:.1f} eV")
    i = int(above[0])
    return float(np.interp(level, [y[i - 1], y[i]], [x[i - 1], x[i]]))


def _argmax_refined(x: np.ndarray, y: np.ndarray) -> float:
    i = int(np.clip(np.argmax(y), 1, y.size - 2))
    a, b, c = y[i - 1], y[i], y[i + 1]
    den = a - 2 * b + c
    off = 0.0 if den == 0 else 0.5 * (a - c) / den
    return float(x[i] + off * (x[i + 1] - x[i]))


# --------------------------------------------------------------------------- XANES shapes
def _sample_norm(energy, e_c: float, model: EdgeModel, valence: float, e_tab: float,
                 chi_model: ChiModel | None) -> np.ndarray:
    """Noise-free normalized sample μ (edge-step units, pre-edge removed); no χ if None."""
    e = np.asarray(energy, dtype=float)
    gam = CORE_HOLE_WIDTH_EV[model.element]
    post = (e_c / e) ** POST_EDGE_POWER
    n = _voigt_step(e - e_c, model.gauss_fwhm_eV, gam) * post
    n = n + model.wl_height * _voigt_peak(e - e_c - model.wl_offset_eV, model.wl_gauss_fwhm_eV, gam)
    dv = valence - 2.0
    pre_pos = e_tab + model.prepeak_offset_eV + 0.8 * dv
    n = n + model.prepeak_height * (1 + 0.3 * dv) * _voigt_peak(e - pre_pos, PREPEAK_GAUSS_FWHM_EV, gam)
    if chi_model is not None:
        n = n + post * chi_model(_k_of(e, e_c))
    return n


def _foil_norm(energy, e_c: float, model: EdgeModel, *, with_chi: bool = True) -> np.ndarray:
    """Noise-free normalized metal-foil μ: a sharp step (40 %) plus a broader
    shoulder step 6 eV higher (60 %), as the 1s→4p onset of 3d metals."""
    e = np.asarray(energy, dtype=float)
    gam = CORE_HOLE_WIDTH_EV[model.element]
    post = (e_c / e) ** POST_EDGE_POWER
    n = (0.4 * _voigt_step(e - e_c, 1.2, gam) + 0.6 * _voigt_step(e - e_c - 6.0, 3.0, 4.0)) * post
    if with_chi:
        n = n + post * chi_single_scattering(_k_of(e, e_c), model.metal_shells, s02=DEFAULT_S02)
    return n


def _solve_sample_centre(target: float, model, valence, e_tab, chi_model) -> float:
    """Arctan centre giving a half-height crossing at ``target`` (two fixed-point steps)."""
    grid = target + np.arange(-25.0, 25.0, 0.01)
    e_c = target
    for _ in range(2):
        n = _sample_norm(grid, e_c, model, valence, e_tab, chi_model)
        e_c += target - _first_crossing(grid, n, 0.5)
    return e_c


def _solve_foil_centre(target: float, model) -> float:
    """Step centre that puts the foil's maximum of dμ/dE exactly at ``target``."""
    return target + _foil_centre_offset(model.element, target)


@functools.lru_cache(maxsize=16)
def _foil_centre_offset(element: str, target: float) -> float:
    model = EDGE_MODELS[element]
    grid = target + np.arange(-8.0, 8.0, 0.01)
    e_c = target
    for _ in range(3):
        d = np.gradient(_foil_norm(grid, e_c, model), grid)
        e_c += target - _argmax_refined(grid, d)
    return e_c - target


# --------------------------------------------------------------------------- one spectrum
@dataclass(frozen=True)
class SyntheticXAS:
    """A synthetic spectrum and the noise-free pieces it was built from.

    Arrays have the shape of ``spectrum.energy`` (the recorded, drifted axis).

    Attributes
    ----------
    spectrum : Spectrum
        The labelled synthetic spectrum (sample μ, foil μ as ``reference``).
    mu_clean : ndarray
        Noise-free sample μ.
    mu_smooth : ndarray
        Noise-free μ without χ: the exact smooth background (pre-edge, step, white line).
    pre_edge : ndarray
        Victoreen-like pre-edge absorption pre(E).
    post_edge : ndarray
        Post-edge decay p(E) (1 at the edge).
    edge_step : float
        Edge step J (μ units).
    k_invA : ndarray
        Photo-electron wavenumber (Å⁻¹) of each point from the true edge centre (0 below).
    chi : ndarray
        χ(k) at each point, from ``chi_model`` (including the low-k switch).
    foil_clean : ndarray or None
        Noise-free foil μ.
    edge_center_eV : float
        Arctan centre (the E0 of k) on the calibrated scale (eV).
    chi_model : ChiModel or None
        The χ(k) model used (``chi_model.kind`` is ``"feff6l"`` or ``"model"``).
    """

    spectrum: Spectrum
    mu_clean: np.ndarray
    mu_smooth: np.ndarray
    pre_edge: np.ndarray
    post_edge: np.ndarray
    edge_step: float
    k_invA: np.ndarray
    chi: np.ndarray
    foil_clean: np.ndarray | None
    edge_center_eV: float
    chi_model: ChiModel | None = None


def _check_inputs(element, valence, energy, noise):
    model = _edge_model(element)
    v = float(valence)
    if not (math.isfinite(v) and 0.0 <= v <= 6.0):
        raise InputError(f"valence={valence!r}; expected a formal oxidation state in 0..6")
    if not (math.isfinite(float(noise)) and noise >= 0):
        raise InputError(f"noise={noise!r}; expected a relative noise level >= 0")
    e = default_energy_grid(model.element) if energy is None else np.asarray(energy, dtype=float)
    if e.ndim != 1 or e.size < 50 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise InputError(f"energy must be a finite, strictly increasing 1-D array of >= 50 "
                         f"points; got shape {e.shape}")
    e0 = edge_position(model.element, v)
    if e[0] > e0 - 30.0 or e[-1] < e0 + 60.0:
        raise InputError(f"energy spans {e[0]:.1f}..{e[-1]:.1f} eV; the {model.element} edge at "
                         f"valence {v:g} ({e0:.1f} eV) needs at least {e0 - 30:.0f}..{e0 + 60:.0f} eV")
    return model, v, e, e0


def _nuisance(rng: np.random.Generator) -> dict[str, float]:
    """Scan-to-scan nuisance parameters, always drawn in the same order."""
    return {"drift_eV": float(np.clip(rng.normal(0.0, 0.8), -2.0, 2.0)),
            "edge_step": float(rng.uniform(0.6, 1.2)),
            "pre_c1": float(rng.uniform(1.2, 1.6)),       # Victoreen amplitude / step
            "pre_c0": float(rng.uniform(-1.2, -0.2)),     # offset / step (chamber gains)
            "foil_step": float(rng.uniform(0.8, 1.6)),
            "foil_c0": float(rng.uniform(-0.8, 0.2))}


def simulate_xas(element: str, *, valence: float, energy=None, shells=DEFAULT_SHELLS,
                 noise: float = 0.002, seed=0, foil: bool = True, drift_eV: float | None = None,
                 edge_step: float | None = None, s02: float = DEFAULT_S02,
                 exafs_model: str = "feff6l", name: str | None = None,
                 metadata: dict[str, Any] | None = None) -> SyntheticXAS:
    """Compute one synthetic K-edge spectrum and keep its noise-free components.

    Same parameters as :func:`make_xas_spectrum`; see there. Returns a
    :class:`SyntheticXAS` (the spectrum plus μ without noise, the smooth background,
    χ(k) on the energy grid, k and the edge step), for tests that need the truth
    point by point.
    """
    model, v, e_rec, e0 = _check_inputs(element, valence, energy, noise)
    shells_t = as_shells(shells)
    rng = np.random.default_rng(seed)
    nz = _nuisance(rng)
    drift = nz["drift_eV"] if drift_eV is None else float(drift_eV)
    step = nz["edge_step"] if edge_step is None else float(edge_step)
    if not (step > 0 and math.isfinite(drift)):
        raise InputError(f"edge_step={edge_step!r} must be > 0 and drift_eV={drift_eV!r} finite")
    e_tab = tabulated_edge(model.element)
    e = e_rec - drift                      # the true (calibrated) energy of each point
    chi_model = make_chi_model(model.element, shells_t, kind=exafs_model, s02=s02)
    e_c = _solve_sample_centre(e0, model, v, e_tab, chi_model)
    pre = step * (nz["pre_c0"] + nz["pre_c1"] * (e_tab / e) ** 3)
    post = (e_c / e) ** POST_EDGE_POWER
    k = _k_of(e, e_c)
    chi = chi_model(k)
    smooth = pre + step * _sample_norm(e, e_c, model, v, e_tab, None)
    clean = smooth + step * post * chi
    mu = clean + rng.normal(0.0, noise * step, e.size)
    foil_clean = ref = None
    if foil:
        fstep = nz["foil_step"]
        fc = _solve_foil_centre(e_tab, model)
        foil_clean = fstep * (nz["foil_c0"] + 1.3 * (e_tab / e) ** 3 + _foil_norm(e, fc, model))
        ref = foil_clean + rng.normal(0.0, noise * fstep, e.size)
    meta = _truth_metadata(model, v, e0, e_c, drift, step, chi_model, noise, seed, e_tab)
    meta.update(metadata or {})
    label = name or f"synthetic_{model.element}_v{v:g}"
    cols = {"mu": "synthetic sample mu(E)"}
    if foil:
        cols["reference"] = f"synthetic {model.element} foil mu(E)"
    spec = Spectrum(axis=e_rec, signal=mu, reference=ref, element=model.element, edge="K",
                    metadata=meta, source=SourceInfo(format="synthetic", scan=label, columns=cols))
    return SyntheticXAS(spectrum=spec, mu_clean=clean, mu_smooth=smooth, pre_edge=pre,
                        post_edge=post, edge_step=step, k_invA=k, chi=chi, foil_clean=foil_clean,
                        edge_center_eV=e_c, chi_model=chi_model)


def _truth_metadata(model, v, e0, e_c, drift, step, chi_model, noise, seed, e_tab) -> dict:
    o = [s for s in chi_model.shells if s.scatterer == "O"]
    tm = [s for s in chi_model.shells if s.scatterer == "TM"]
    exafs = chi_model.truth_metadata()
    exafs["truth_exafs_e0_eV"] = round(e_c + chi_model.e0_shift_eV, 4)
    exafs["truth_exafs_e0_definition"] = (
        "energy (foil-calibrated scale) where the k of the EXAFS scattering functions is 0: "
        "the edge centre plus truth_exafs_e0_shift_eV; a shell fit on the recorded axis with "
        "pipeline E0 E0p should find Delta E0 = truth_exafs_e0_eV + truth_drift_eV - E0p")
    return {
        "synthetic": True,
        "label": DEMO_LABEL,
        "generator": f"naheo_spec.demo.synthetic (model version {GENERATOR_VERSION})",
        "truth_valence": v,
        "truth_e0_eV": round(e0, 4),
        "truth_e0_definition": ("energy where the noise-free normalized mu (pre-edge removed, "
                                "divided by the edge step) first reaches 0.5, foil-calibrated scale"),
        "truth_edge_center_eV": round(e_c, 4),
        "truth_drift_eV": round(drift, 4),
        "truth_foil_e0_eV": round(e_tab + drift, 4),
        "truth_tabulated_edge_eV": e_tab,
        "truth_edge_step": round(step, 6),
        "truth_s02": chi_model.s02,
        "truth_noise_rel": float(noise),
        "truth_shells": tuple(s.to_dict() for s in chi_model.shells),
        "truth_r_tm_o_A": o[0].r_A if o else None,
        "truth_r_tm_tm_A": tm[0].r_A if tm else None,
        "truth_slope_eV_per_valence": model.slope_eV,
        "seed": seed if isinstance(seed, (int, np.integer)) else str(seed),
        **exafs,
    }


def make_xas_spectrum(element: str, *, valence: float, energy=None, shells=DEFAULT_SHELLS,
                      noise: float = 0.002, seed=0, foil: bool = True,
                      drift_eV: float | None = None, edge_step: float | None = None,
                      s02: float = DEFAULT_S02, exafs_model: str = "feff6l",
                      name: str | None = None,
                      metadata: dict[str, Any] | None = None) -> Spectrum:
    """One SYNTHETIC K-edge XAS spectrum (μ and foil reference) with known ground truth.

    See the module docstring for the model: Victoreen pre-edge, Voigt-broadened arctan
    step at the demo edge position E0(valence), white line, pre-edge peak, post-edge
    decay, single-scattering EXAFS from FEFF6 paths (or model amplitudes/phases),
    monochromator drift and seeded Gaussian noise.

    Parameters
    ----------
    element : str
        ``"Mn"``, ``"Fe"`` or ``"Ni"`` (K edge).
    valence : float
        Formal oxidation state; sets the half-height edge position
        :func:`edge_position` (e.g. Ni: 8334.53 + 3.7·v eV).
    energy : array_like of shape (M,), optional
        Recorded energy axis (eV), strictly increasing, covering at least E0 − 30 to
        E0 + 60 eV. Default None: :func:`default_energy_grid` (E_tab − 200 eV, 0.5 eV
        steps through the edge, 0.05 Å⁻¹ k steps to k = 14 Å⁻¹).
    shells : sequence
        ``(scatterer, N, R_A, sigma2_A2)`` tuples (scatterer ``"O"`` or ``"TM"``),
        dicts or :class:`~naheo_spec.demo.exafs_model.Shell`. Default
        ``(("O", 6, 2.0, 0.005), ("TM", 6, 2.90, 0.006))``.
    noise : float
        Standard deviation of the Gaussian noise relative to the edge step. Default 0.002.
    seed : int or numpy.random.SeedSequence
        Seed of the random generator (noise, drift, step, pre-edge). Default is 0.
    foil : bool
        Add a metal-foil reference channel (``Spectrum.reference``) whose
        maximum-derivative E0 is E_tab + drift. Default is True.
    drift_eV : float, optional
        Monochromator offset of the recorded axis (eV). Default None: drawn from the
        seeded generator, N(0, 0.8 eV) clipped to ±2 eV.
    edge_step : float, optional
        Edge step in μ units. Default None: drawn uniformly in 0.6–1.2.
    s02 : float
        EXAFS amplitude reduction factor. Default is 0.85.
    exafs_model : {"feff6l", "model"}
        Source of the EXAFS scattering amplitudes, phases and mean free path
        (:func:`~naheo_spec.demo.exafs_model.make_chi_model`): ``"feff6l"`` (default) uses
        the FEFF6 TM–O / TM–TM paths of the O3 template
        :data:`~naheo_spec.demo.exafs_model.DEMO_O3_SPEC` (FEFF runs once per element,
        then its on-disk cache is read), falling back to ``"model"`` with a
        DefaultAdjustedWarning when FEFF cannot run; ``"model"`` uses model amplitudes
        and linear phases.
    name : str, optional
        Scan name (``source.scan``). Default ``"synthetic_<el>_v<valence>"``.
    metadata : dict, optional
        Extra metadata merged over the truth keys.

    Returns
    -------
    Spectrum
        ``element``/``edge`` set, ``source.format = "synthetic"``; ``metadata`` holds
        ``synthetic: True``, ``label`` (:data:`DEMO_LABEL`), ``truth_valence``,
        ``truth_e0_eV`` (half-height, calibrated scale), ``truth_edge_center_eV``,
        ``truth_drift_eV``, ``truth_foil_e0_eV`` (= E_tab + drift, recorded scale),
        ``truth_shells`` (tuple of dicts), ``truth_r_tm_o_A``, ``truth_r_tm_tm_A``,
        ``truth_edge_step``, ``truth_s02``, ``seed``, and for the EXAFS part
        ``truth_exafs_model`` (``"feff6l"`` or ``"model"``), ``truth_exafs_e0_eV`` (k = 0
        of the scattering functions, calibrated scale), ``truth_exafs_e0_shift_eV``
        (its offset from ``truth_edge_center_eV``) and, for FEFF, ``truth_feff_structure``,
        ``truth_feff_cache_key``, ``truth_feff_reff_tm_o_A``, ``truth_feff_reff_tm_tm_A``.

    Raises
    ------
    InputError
        Unmodelled element, valence outside 0–6, negative noise, malformed shells or an
        energy axis that does not cover the edge.

    References
    ----------
    Edge positions: ``reference_spectra/xanes_standards/README.md`` (measured lines); core-hole widths: Krause and Oliver,
    J. Phys. Chem. Ref. Data 8, 329 (1979); EXAFS equation: Stern, Phys. Rev. B 10,
    3027 (1974); FEFF6: Zabinsky et al., Phys. Rev. B 52, 2995 (1995),
    doi:10.1103/PhysRevB.52.2995.

    Examples
    --------
    >>> s = make_xas_spectrum("Ni", valence=2, seed=1)
    >>> s.metadata["synthetic"], s.element, round(s.metadata["truth_e0_eV"], 2)
    (True, 'Ni', 8341.93)
    """
    return simulate_xas(element, valence=valence, energy=energy, shells=shells, noise=noise,
                        seed=seed, foil=foil, drift_eV=drift_eV, edge_step=edge_step, s02=s02,
                        exafs_model=exafs_model, name=name, metadata=metadata).spectrum


# --------------------------------------------------------------------------- standards
def standard_shells(element: str, valence: float) -> tuple[Shell, ...]:
    """Shells of a synthetic reference oxide of ``element`` at formal ``valence``.

    TM–O = Shannon octahedral radius (linearly interpolated between valences 2, 3, 4)
    + 1.40 Å for O2−; 6 O. Valence ≤ 2: rock-salt MO, 12 TM at √2·R(TM–O) (NiO:
    2.09/2.96 Å, cf. crystallographic 2.088/2.954). Valence > 2: edge-sharing layered
    AMO2-type, 6 TM at 1.48·R(TM–O) (the ratio of LiNiO2, LiCoO2, Li2MnO3). σ²(TM–O)
    0.005 Å², raised to 0.009 Å² for the Jahn–Teller ions Mn3+ and Ni3+ (static
    disorder) and σ²(TM–TM) 0.006 Å²; rock-salt MO use :data:`ROCKSALT_SIGMA2_A2`
    (FeO: the larch shell fit of ``reference_spectra/xanes_standards/README.md`` (measured lines), 0.0101/0.0125 Å², wüstite
    is strongly disordered). Demo structures, not refinements.

    Parameters
    ----------
    element : str
        ``"Mn"``, ``"Fe"`` or ``"Ni"``.
    valence : float
        Formal oxidation state, 2–4.

    Returns
    -------
    tuple of Shell
        (O shell, TM shell).

    Raises
    ------
    InputError
        Element not modelled or valence outside 2–4.

    References
    ----------
    R. D. Shannon, Acta Cryst. A32, 751 (1976), doi:10.1107/S0567739476001551.
    """
    el = _edge_model(element).element
    v = float(valence)
    if not 2.0 <= v <= 4.0:
        raise InputError(f"valence={valence!r}: synthetic standards cover formal valences 2..4")
    r_o = float(np.interp(v, (2.0, 3.0, 4.0), SHANNON_RADII_A[el])) + O2_RADIUS_A
    jt = el in ("Mn", "Ni")
    s2_o = 0.005 + (0.004 * max(0.0, 1.0 - abs(v - 3.0)) if jt else 0.0)
    if v <= 2.0:
        s2_o, s2_tm = ROCKSALT_SIGMA2_A2[el]
        tm = Shell("TM", 12, round(math.sqrt(2.0) * r_o, 4), s2_tm)
    else:
        tm = Shell("TM", 6, round(1.48 * r_o, 4), 0.006)
    return (Shell("O", 6, round(r_o, 4), round(s2_o, 5)), tm)


def _derived_seed(seed, *keys: int) -> int:
    """Independent, reproducible integer seed for one scan of a set."""
    return int(np.random.SeedSequence([int(seed), *keys]).generate_state(1)[0])


def make_standards(element: str, *, valences: Sequence[float] = (2, 3, 4), seed: int = 0,
                   noise: float = 0.002, exafs_model: str = "feff6l") -> list[Spectrum]:
    """SYNTHETIC reference oxides of ``element`` at known formal valences.

    Same physics as :func:`make_xas_spectrum`, with the shells of
    :func:`standard_shells`, an independent drift and noise per standard and a foil
    reference, so a calibration line can be built exactly as with real standards.

    Parameters
    ----------
    element : str
        ``"Mn"``, ``"Fe"`` or ``"Ni"``.
    valences : sequence of float
        Formal valences (2–4). Default is (2, 3, 4).
    seed : int
        Seed of the set. Default is 0.
    noise : float
        Noise relative to the edge step. Default is 0.002.
    exafs_model : {"feff6l", "model"}
        Source of the EXAFS scattering functions (see :func:`make_xas_spectrum`).
        Default is ``"feff6l"``.

    Returns
    -------
    list of Spectrum
        One per valence, named ``"<El>_std_v<valence>"``, metadata ``kind="standard"``,
        ``formula`` and the ``truth_*`` keys.

    Raises
    ------
    InputError
        Element not modelled, valence outside 2–4, empty ``valences``.

    References
    ----------
    Edge positions: ``reference_spectra/xanes_standards/README.md`` (measured lines); structures: Shannon (1976).

    Examples
    --------
    >>> stds = make_standards("Mn")
    >>> [round(s.metadata["truth_e0_eV"], 2) for s in stds]
    [6545.0, 6548.65, 6552.3]
    """
    model = _edge_model(element)
    if len(valences) == 0:
        raise InputError("valences is empty; give at least one formal valence")
    z = _Z[model.element]
    out = []
    for i, v in enumerate(valences):
        shells = standard_shells(model.element, v)
        kind = "rock-salt MO" if float(v) <= 2 else "layered AMO2-type"
        name = f"{model.element}_std_v{float(v):g}"
        out.append(make_xas_spectrum(
            model.element, valence=float(v), shells=shells, noise=noise,
            seed=_derived_seed(seed, z, 1000 + i), name=name, exafs_model=exafs_model,
            metadata={"kind": "standard",
                      "formula": f"synthetic {model.element}{float(v):g}+ oxide ({kind})"}))
    return out


# --------------------------------------------------------------------------- operando series
#: Demo assumptions of the charge/discharge series (x = state of charge 0 → 1):
#: valence, TM–O distance and σ²(TM–O) at x = 0 and x = 1, and the edge step of the
#: electrode at that edge. Ni: Ni2+ → ~Ni3.4+ (the paper's Ni3+/Ni4+ redox on charge);
#: Fe: Fe3+ oxidises by ~0.3; Mn: nearly constant ~3.9 (paper §3.5). TM–TM contracts
#: 2.96 → 2.88 Å for all (the a-parameter of the layer). All reversible.
SERIES_MODELS: dict[str, dict[str, tuple[float, float] | float]] = {
    "Ni": {"valence": (2.0, 3.4), "r_o": (2.05, 1.93), "s2_o": (0.005, 0.005), "step": 0.35},
    "Fe": {"valence": (3.0, 3.3), "r_o": (2.02, 2.00), "s2_o": (0.006, 0.006), "step": 0.25},
    "Mn": {"valence": (3.9, 3.95), "r_o": (1.92, 1.915), "s2_o": (0.005, 0.005), "step": 0.80},
}
SERIES_R_TM_TM_A = (2.96, 2.88)
#: Extra σ²(Ni–O) at half charge (Jahn–Teller Ni3+), added as 4x(1 − x) · value.
NI_JT_SIGMA2_A2 = 0.003

_Z = {"Mn": 25, "Fe": 26, "Ni": 28}


def state_of_charge_path(n_scans: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """State of charge x of each scan (0 → 1 on charge, then 1 → 0) and its branch.

    The first ``n_scans − n_scans // 2`` scans charge from x = 0 to 1 in equal steps,
    the rest discharge in equal steps ending at x = 0.
    """
    if int(n_scans) < 3:
        raise InputError(f"n_scans={n_scans!r}; a charge/discharge cycle needs at least 3 scans")
    n_c = n_scans - n_scans // 2
    x = np.concatenate([np.linspace(0.0, 1.0, n_c), np.linspace(1.0, 0.0, n_scans - n_c + 1)[1:]])
    return x, tuple(["charge"] * n_c + ["discharge"] * (n_scans - n_c))


def demo_voltage(x: float, branch: str) -> float:
    """Plausible demo cell voltage (V vs Na+/Na), not an electrochemical model.

    Charge: 2.6 V (pristine OCV) → 4.2 V linearly in x; discharge: 4.2 → 2.0 V (the
    paper's 2.0–4.2 V window), i.e. a hysteresis that grows towards low x.
    """
    return 2.6 + 1.6 * x if branch == "charge" else 2.0 + 2.2 * x


def series_shells(element: str, x: float) -> tuple[Shell, ...]:
    """Shells of ``element`` at state of charge ``x`` under :data:`SERIES_MODELS`."""
    p = SERIES_MODELS[_edge_model(element).element]
    lerp = lambda ab: ab[0] + (ab[1] - ab[0]) * x  # noqa: E731
    s2 = lerp(p["s2_o"]) + (NI_JT_SIGMA2_A2 * 4 * x * (1 - x) if element == "Ni" else 0.0)
    return (Shell("O", 6, round(lerp(p["r_o"]), 5), round(s2, 6)),
            Shell("TM", 6, round(lerp(SERIES_R_TM_TM_A), 5), 0.006))


def make_operando_series(*, n_scans: int = 12, elements: Sequence[str] = ("Ni", "Fe", "Mn"),
                         seed: int = 0, noise: float = 0.002,
                         exafs_model: str = "feff6l") -> dict[str, list[Spectrum]]:
    """A SYNTHETIC first charge/discharge cycle measured at several K edges.

    State of charge x runs 0 → 1 → 0 (:func:`state_of_charge_path`). At each x the
    valence, TM–O distance and σ² follow :data:`SERIES_MODELS` linearly (Ni 2 → 3.4,
    Ni–O 2.05 → 1.93 Å; Fe 3 → 3.3; Mn 3.9 → 3.95) and TM–TM 2.96 → 2.88 Å, all
    reversible. Each edge's scans share an energy grid and carry a slowly drifting
    monochromator offset (start N(0, 0.8) eV, trend up to ±1 eV over the run, jitter
    0.15 eV) recorded in ``truth_drift_eV`` and visible in the foil channel.

    Parameters
    ----------
    n_scans : int
        Scans per element (≥ 3). Default is 12.
    elements : sequence of str
        Edges to simulate, among ``"Ni"``, ``"Fe"``, ``"Mn"``. Default all three.
    seed : int
        Seed of the whole series. Default is 0.
    noise : float
        Noise relative to the edge step. Default is 0.002.
    exafs_model : {"feff6l", "model"}
        Source of the EXAFS scattering functions (see :func:`make_xas_spectrum`).
        Default is ``"feff6l"``.

    Returns
    -------
    dict of str to list of Spectrum
        Element → its scans in measurement order. Per-scan metadata: ``scan_index``,
        ``state_of_charge``, ``branch``, ``voltage_V``, ``kind="operando"`` and the
        ``truth_*`` keys of :func:`make_xas_spectrum`.

    Raises
    ------
    InputError
        Fewer than 3 scans, or an element not modelled.

    References
    ----------
    T. Cai et al., Nano-Micro Lett. 16, 10 (2024), doi:10.1007/s40820-023-01232-0, §3.5.

    Examples
    --------
    >>> series = make_operando_series(n_scans=4, elements=("Ni",))
    >>> [s.metadata["state_of_charge"] for s in series["Ni"]]
    [0.0, 1.0, 0.5, 0.0]
    """
    x_all, branches = state_of_charge_path(int(n_scans))
    out: dict[str, list[Spectrum]] = {}
    for el in elements:
        model = _edge_model(el)
        z = _Z[model.element]
        p = SERIES_MODELS[model.element]
        rng = np.random.default_rng(_derived_seed(seed, z))
        d0, trend = rng.normal(0.0, 0.8), rng.uniform(-1.0, 1.0)
        jitter = rng.normal(0.0, 0.15, x_all.size)
        steps = p["step"] * (1.0 + rng.normal(0.0, 0.02, x_all.size))
        grid = default_energy_grid(model.element)
        scans = []
        for i, (x, br) in enumerate(zip(x_all, branches)):
            v = p["valence"][0] + (p["valence"][1] - p["valence"][0]) * x
            drift = float(d0 + trend * i / (x_all.size - 1) + jitter[i])
            meta = {"kind": "operando", "scan_index": i, "state_of_charge": round(float(x), 4),
                    "branch": br, "voltage_V": round(demo_voltage(float(x), br), 3),
                    "cycle": 1}
            scans.append(make_xas_spectrum(
                model.element, valence=round(float(v), 6), energy=grid,
                shells=series_shells(model.element, float(x)), noise=noise,
                seed=_derived_seed(seed, z, i), drift_eV=drift, edge_step=float(steps[i]),
                exafs_model=exafs_model, name=f"{model.element}_operando_{i:02d}", metadata=meta))
        out[model.element] = scans
    return out


# --------------------------------------------------------------------------- files
TRUTH_COLUMNS = ("file", "element", "scan_index", "state_of_charge", "valence", "e0_eV",
                 "drift_eV", "R_TM-O", "R_TM-TM", "kind", "voltage_V", "foil_e0_eV",
                 "N_TM-O", "sigma2_TM-O", "N_TM-TM", "sigma2_TM-TM", "s02", "exafs_model",
                 "exafs_e0_eV")


def _for_file(spec: Spectrum) -> Spectrum:
    """Copy whose metadata the XDI writer can keep (shells as JSON, XDI sample fields)."""
    import json

    meta = dict(spec.metadata)
    meta["truth_shells"] = json.dumps(list(meta.get("truth_shells", ())))
    meta["Sample.name"] = f"{spec.source.scan} ({DEMO_LABEL})"
    meta["Facility.name"] = "none - synthetic data computed by naheo_spec.demo"
    return replace(spec, metadata=meta)


def _truth_row(relpath: str, spec: Spectrum) -> dict[str, Any]:
    m = spec.metadata
    first = {}
    for sh in m["truth_shells"]:
        first.setdefault(sh["scatterer"], sh)
    o, tm = first.get("O", {}), first.get("TM", {})
    return {"file": relpath, "element": spec.element, "scan_index": m.get("scan_index", ""),
            "state_of_charge": m.get("state_of_charge", ""), "valence": m["truth_valence"],
            "e0_eV": m["truth_e0_eV"], "drift_eV": m["truth_drift_eV"],
            "R_TM-O": m["truth_r_tm_o_A"], "R_TM-TM": m["truth_r_tm_tm_A"],
            "kind": m.get("kind", ""), "voltage_V": m.get("voltage_V", ""),
            "foil_e0_eV": m["truth_foil_e0_eV"],
            "N_TM-O": o.get("n", ""), "sigma2_TM-O": o.get("sigma2_A2", ""),
            "N_TM-TM": tm.get("n", ""), "sigma2_TM-TM": tm.get("sigma2_A2", ""),
            "s02": m["truth_s02"], "exafs_model": m["truth_exafs_model"],
            "exafs_e0_eV": m["truth_exafs_e0_eV"]}


def _standards_toml(element: str, entries: list[tuple[str, Spectrum]]) -> str:
    import json

    lines = [f"# {DEMO_LABEL}", "# Synthetic valence standards written by naheo_spec.demo; "
             "paths are relative to this file.", "schema = 1", f'element = "{element}"',
             'edge = "K"', 'e0_method = "half-height"',
             f"description = {json.dumps(DEMO_LABEL + ': synthetic oxide standards')}", ""]
    for rel, s in entries:
        m = s.metadata
        lines += ["[[standard]]", f"name = {json.dumps(s.source.scan)}", f"file = {json.dumps(rel)}",
                  f"valence = {float(m['truth_valence'])!r}",
                  f"formula = {json.dumps(m.get('formula', 'synthetic'))}",
                  f"note = {json.dumps(DEMO_LABEL + '; truth e0 %.2f eV' % m['truth_e0_eV'])}", ""]
    return "\n".join(lines)


def _readme_chi(rows: list[dict[str, Any]]) -> str:
    kinds = {r["exafs_model"] for r in rows}
    feff = ("- chi(k): sum of two single-scattering shells (first TM-O, first TM-TM) computed\n"
            "  with xraylarch's feffpath/path2chi from FEFF6 (feff6l) scattering amplitudes,\n"
            f"  phases and mean free paths of an O3 layered template\n  ({DEMO_O3_SPEC}),\n"
            "  at the true N, R, sigma^2 of each scan (columns N_/R_/sigma2_ of truth.csv),\n"
            f"  S0^2 = {DEFAULT_S02}, with FEFF's k = 0 placed {-DEFAULT_FEFF_E0_SHIFT_EV:g} eV below the edge centre\n"
            "  (column exafs_e0_eV, calibrated scale). These are the same FEFF paths the demo's\n"
            "  shell fit uses, so a fit can recover R, N*S0^2 and sigma^2 up to noise and\n"
            "  background-removal errors; its Delta E0 also absorbs the E0 the pipeline picks.\n"
            "  No multiple scattering and no further shells: real spectra have both. The\n"
            "  chi(k) of the metal-foil channel uses simple MODEL phases (only its edge matters).")
    model = ("- chi(k) of the rows with exafs_model = model: single-scattering EXAFS equation with\n"
             "  MODEL backscattering amplitudes (Teo-Lee-type envelopes) and linear phases\n"
             "  (apparent FT distances about 0.4 A short), a model mean free path, S0^2 = 0.85.\n"
             "  NOT FEFF: a FEFF-based shell fit returns distances biased by ~0.1 A on these.")
    return "\n".join(([feff] if "feff6l" in kinds else []) + ([model] if "model" in kinds else []))


def _readme(rows: list[dict[str, Any]], seed: int, n_scans: int) -> str:
    head = f"{'file':34s} {'el':2s} {'scan':>4s} {'SOC':>6s} {'val':>6s} {'E0/eV':>9s} " \
           f"{'drift':>6s} {'R(TM-O)':>7s} {'R(TM-TM)':>8s}"
    table = [head] + [
        f"{r['file']:34s} {r['element']:2s} {str(r['scan_index']):>4s} "
        f"{str(r['state_of_charge']):>6s} {r['valence']:6.3f} {r['e0_eV']:9.2f} "
        f"{r['drift_eV']:+6.2f} {r['R_TM-O']:7.3f} {r['R_TM-TM']:8.3f}" for r in rows]
    return f"""{DEMO_LABEL}
{'=' * len(DEMO_LABEL)}

Every spectrum in this folder is SYNTHETIC. None of it was measured. The files exist to
check the naheo_spec pipelines against a known answer; do not use them as reference
data and do not publish them as results.

How they were made (naheo_spec.demo.synthetic, model version {GENERATOR_VERSION}, seed {seed}):
- mu(E) = Victoreen-like pre-edge + edge step x [arctan step (K core-hole Lorentzian
  width, Krause & Oliver 1979) convolved with an effective Gaussian + white line
  + weak 1s-3d pre-edge peak + post-edge decay (E0/E)^2.7 x (1 + chi(k))].
- The half-height edge position follows a demo calibration line E0 = a + b*valence with
  b = 5.5 (Fe), 3.65 (Mn), 3.7 (Ni) eV per valence unit, taken from measured standards
  (reference_spectra/xanes_standards/README.md).
{_readme_chi(rows)}
- Every scan has a monochromator drift (drift_eV): the recorded energies of the sample
  AND of the metal-foil reference channel (column murefer) are offset by it. The foil's
  maximum-derivative edge sits at tabulated edge + drift; foil calibration recovers it.
- Gaussian noise (0.2 % of the edge step by default).
- operando/: a first charge/discharge cycle ({n_scans} scans per edge), state of charge
  0 -> 1 -> 0. Demo assumptions: Ni 2+ -> 3.4+ (Ni-O 2.05 -> 1.93 A), Fe 3+ -> 3.3+,
  Mn ~3.9+ nearly constant; TM-TM 2.96 -> 2.88 A; all reversible (after the narrative of
  Cai et al., Nano-Micro Lett. 16, 10 (2024), section 3.5). voltage_V values are
  plausible demo numbers, not an electrochemical model.
- standards/: synthetic oxides at valences 2, 3, 4 per element (TM-O from Shannon ionic
  radii); standards_<El>.toml lists them for the XANES valence calibration.

Expected accuracy: e0_eV is defined on the ideal (noise-free, exactly normalized) model.
A larch-style normalization of the noisy data recovers it within about 0.3 eV (EXAFS
wiggles in the post-edge fit change the edge step by up to ~4 %), and a foil E0 taken
on the 0.5 eV grid without sub-grid refinement adds up to 0.25 eV.
EXAFS (rows with exafs_model = feff6l): `naheo-spec demo` (AUTOBK rbkg 1 A, FT k 3-12,
fit R 1.2-3.1 A with the same FEFF paths) recovers R(TM-O) and R(TM-TM) within 0.01 A,
about one standard error; N*S0^2 comes out up to ~25 % high and sigma^2 up to
0.0025 A^2 high, because the normalization divides chi by the edge step at E0 (its
estimate and the (E0/E)^2.7 decay of the model are not undone).

File columns: energy (recorded, i.e. drifted, eV), mu (sample), murefer (metal foil).
Truth is repeated in each file header as Meta.truth_* fields.

Ground truth (also in truth.csv; e0_eV = half-height edge on the foil-calibrated scale,
R in Angstrom, drift in eV):

""" + "\n".join(table) + "\n"


def _plan(series, standards) -> tuple[list[tuple[str, Spectrum]], dict, dict]:
    files, ser, std = [], {}, {}
    for el, scans in series.items():
        ser[el] = [f"operando/{s.source.scan}.xdi" for s in scans]
        files += list(zip(ser[el], scans))
    for el, stds in standards.items():
        std[el] = [f"standards/{s.source.scan}.xdi" for s in stds]
        files += list(zip(std[el], stds))
    return files, ser, std


def write_demo_dataset(out_dir, *, overwrite: bool = False, seed: int = 0, n_scans: int = 12,
                       elements: Sequence[str] = ("Ni", "Fe", "Mn"),
                       exafs_model: str = "feff6l") -> dict[str, Any]:
    """Write the SYNTHETIC demo data set (operando series + standards) to ``out_dir``.

    Layout::

        out_dir/README.txt            what the data are (SYNTHETIC), how made, truth table
        out_dir/truth.csv             file, element, scan_index, state_of_charge, valence,
                                      e0_eV, drift_eV, R_TM-O, R_TM-TM, kind, voltage_V,
                                      foil_e0_eV (paths relative to out_dir)
        out_dir/operando/<El>_operando_NN.xdi
        out_dir/standards/<El>_std_v<v>.xdi
        out_dir/standards_<El>.toml   [[standard]] file/valence, relative to the TOML

    XDI columns: energy (recorded, drifted), mu, murefer (foil); the truth keys are
    ``Meta.*`` header fields. Nothing is written if any target exists and
    ``overwrite`` is False.

    Parameters
    ----------
    out_dir : str or Path
        Output folder (created if missing).
    overwrite : bool
        Replace existing files. Default is False.
    seed : int
        Seed of the data set. Default is 0.
    n_scans : int
        Operando scans per element. Default is 12.
    elements : sequence of str
        Edges. Default ("Ni", "Fe", "Mn").
    exafs_model : {"feff6l", "model"}
        Source of the EXAFS scattering functions (see :func:`make_xas_spectrum`). Default
        is ``"feff6l"``: the first call runs FEFF6 once per element (a few s) and caches it.

    Returns
    -------
    dict
        ``out_dir``, ``label``, ``seed``, ``elements``, ``exafs_model`` (per element, the
        model actually used: ``"feff6l"``, or ``"model"`` after a FEFF failure), ``series`` (element → list of
        paths), ``standards`` (element → list of paths), ``standards_toml`` (element →
        path), ``truth_csv``, ``readme``, ``n_spectra`` and ``files`` (all paths), as str.

    Raises
    ------
    StoreError
        ``out_dir`` is a file, or a target exists and ``overwrite`` is False.
    InputError
        Bad ``n_scans`` or element.

    Examples
    --------
    >>> import tempfile
    >>> info = write_demo_dataset(tempfile.mkdtemp(), n_scans=3, elements=("Ni",))
    >>> info["n_spectra"], info["label"]
    (6, 'SYNTHETIC DEMO DATA - not a measurement')
    """
    import csv
    import io
    from pathlib import Path

    from naheo_spec.atomic import atomic_path
    from naheo_spec.errors import StoreError
    from naheo_spec.io.writers import write_xdi

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise StoreError(f"{out}: exists and is not a folder; expected an output folder")
    series = make_operando_series(n_scans=n_scans, elements=elements, seed=seed,
                                  exafs_model=exafs_model)
    standards = {el: make_standards(el, seed=seed, exafs_model=exafs_model) for el in series}
    files, ser, std = _plan(series, standards)
    texts = {"README.txt": None, "truth.csv": None}
    texts.update({f"standards_{el}.toml": None for el in standards})
    existing = [p for p in [f for f, _ in files] + list(texts) if (out / p).exists()]
    if existing and not overwrite:
        raise StoreError(f"{out}: {len(existing)} demo file(s) exist (e.g. {existing[0]}); not "
                         "overwritten (pass overwrite=True / --overwrite to replace them)")
    rows = [_truth_row(rel, s) for rel, s in files]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    texts["truth.csv"] = buf.getvalue()
    texts["README.txt"] = _readme(rows, seed, n_scans)
    for el, stds in standards.items():
        texts[f"standards_{el}.toml"] = _standards_toml(el, list(zip(std[el], stds)))
    for sub in ("operando", "standards"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for rel, s in files:
        write_xdi(_for_file(s), out / rel, overwrite=overwrite)
    for rel, text in texts.items():
        with atomic_path(out / rel, overwrite=overwrite) as tmp:
            tmp.write_text(text, encoding="utf-8")
    used = {el: sorted({s.metadata["truth_exafs_model"] for s in scans + standards[el]})
            for el, scans in series.items()}
    return {"out_dir": str(out), "label": DEMO_LABEL, "seed": seed, "elements": list(series),
            "exafs_model": {el: "+".join(kinds) for el, kinds in used.items()},
            "series": {el: [str(out / p) for p in ps] for el, ps in ser.items()},
            "standards": {el: [str(out / p) for p in ps] for el, ps in std.items()},
            "standards_toml": {el: str(out / f"standards_{el}.toml") for el in standards},
            "truth_csv": str(out / "truth.csv"), "readme": str(out / "README.txt"),
            "n_spectra": len(files), "files": [str(out / f) for f, _ in files]}
