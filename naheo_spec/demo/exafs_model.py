"""EXAFS χ(k) of the synthetic demo data: FEFF6 paths by default, a model as fallback.

χ(k) follows the single-scattering EXAFS equation [2]_

    χ(k) = Σ_j  N_j S0² |f_j(q)| / (q R_j²) · exp(−2q²σ_j²) · exp(−2R_j/λ(q))
                · sin(2qR_j + φ_j(q)),      q = √(k² − ΔE0/KTOE),

with k counted from the arctan centre E_c of the synthetic edge. Two sources of the
scattering functions |f|, φ (including the central-atom phase 2δ_c) and λ exist:

``"feff6l"`` (default, :class:`ChiModel` with ``kind="feff6l"``)
    FEFF6 (xraylarch's ``feff6l``) is run once per absorber for the O3 layered template
    :data:`DEMO_O3_SPEC` through :func:`naheo_spec.xas.exafs_fit.structure_paths` — the
    very paths the demo's shell fit uses — and cached on disk
    (``$NAHEO_CACHE/feff`` or ``~/.cache/naheo_spec/feff``). Each shell is summed with
    larch's ``feffpath``/``path2chi`` at the true N, R (as ΔR = R − reff), σ², S0² and
    an E0 offset ΔE0 = :data:`DEFAULT_FEFF_E0_SHIFT_EV` (FEFF's k = 0 lies 2 eV below
    E_c). This is exactly the model ``feffit`` fits, so a shell fit can recover the true
    R, N·S0² and σ² (its ΔE0 absorbs the difference between this E0 and whatever E0 the
    pipeline picks). Larch's form also contains the curved-wave and σ²/R phase terms
    that the equation above omits.
``"model"`` (:func:`chi_single_scattering`)
    Model amplitudes and phases, not FEFF, used when asked for or when FEFF cannot run
    (flagged ``truth_exafs_model = "model"`` in the spectrum metadata):

    - |f(k)| has the Lorentzian envelope A / (1 + B²(k − C)²) used by Teo and Lee [1]_
      to parametrise tabulated amplitudes: light scatterers (O) peak at low k, 3d
      metals ("TM") near k ≈ 6 Å⁻¹ and decay more slowly;
    - the total phase is linear, δ(k) = a + b·k, with b < 0. A linear phase moves the
      |χ(R)| peak of a shell from R to about R + b/2, so b ≈ −0.8…−0.9 rad·Å gives the
      usual 0.4–0.45 Å "apparent distance" shortening of uncorrected Fourier transforms
      (the measured oxides in ``reference_spectra/xanes_standards/README.md`` (measured lines) sit 0.39–0.54 Å short);
    - λ(k) = λ0 + λ1·k is a smooth photo-electron mean free path (≈ 5.5 Å at 3 Å⁻¹,
      9 Å at 10 Å⁻¹, the range FEFF gives for 3d oxides).

    These are demo choices, not fitted to anything. A FEFF-based shell fit of such
    data returns distances biased by ~0.1 Å, because the phases differ from FEFF's.

In both cases χ is switched on smoothly near the edge (:func:`turn_on`), where the
XANES part of the synthetic model describes the spectrum. FEFF's χ is positive just
above the edge (k ≈ 1–2 Å⁻¹, 4–15 eV) where the model's is ≈ 0, and would raise the
white lines the XANES model was tuned on by up to 0.15 edge steps, so the FEFF switch
is sharper and later (:data:`FEFF_K_ON_INVA`, :data:`FEFF_TURN_ON_POWER`): χ < 2 % of
its value below k = 1.5 Å⁻¹, > 99 % above 2.9 Å⁻¹. Scatterer ``"O"`` is the
template's TM–O path and ``"TM"`` its TM–TM path (a neighbour of the absorber's own
element); the FEFF amplitudes are those of the template geometry, used at the true R.

References
----------
.. [1] B.-K. Teo and P. A. Lee, "Ab initio calculations of amplitude and phase
   functions for extended X-ray absorption fine structure spectroscopy",
   J. Am. Chem. Soc. 101, 2815 (1979), doi:10.1021/ja00505a003.
.. [2] E. A. Stern, "Theory of the extended x-ray-absorption fine structure",
   Phys. Rev. B 10, 3027 (1974), doi:10.1103/PhysRevB.10.3027.
.. [3] S. I. Zabinsky, J. J. Rehr, A. Ankudinov, R. C. Albers and M. J. Eller,
   "Multiple-scattering calculations of x-ray-absorption spectra",
   Phys. Rev. B 52, 2995 (1995), doi:10.1103/PhysRevB.52.2995 (FEFF6).
.. [4] M. Newville, "IFEFFIT: interactive XAFS analysis and FEFF fitting",
   J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964 (the path sum).
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from naheo_spec.errors import DefaultAdjustedWarning, InputError, NaheoError
from naheo_spec.xas.autobk import KTOE  # ħ²/(2mₑ) in eV·Å²: one value project-wide

#: Amplitude reduction factor S0² used by default (typical 3d-oxide value).
DEFAULT_S02 = 0.85

#: χ is switched on smoothly, χ·(1 − exp(−(k/k_on)⁴)): the single-scattering formula
#: is meaningless at k → 0 (there the XANES model describes the spectrum).
DEFAULT_K_ON_INVA = 2.2

#: O3 layered template of the demo (a, c of O3 NaTMO2 cathodes; z chosen so that
#: TM–O ≈ 2.07 Å, TM–TM = a = 2.96 Å). FEFF runs on it give the demo's scattering
#: functions, and the demo's shell fit starts from the same paths. Demo values, not a
#: refined structure.
DEMO_O3_SPEC = "o3:a=2.96,c=16.0,z=0.26,Ni=0.25,Mn=0.49,Fe=0.15,Cu=0.05,Li=0.06"

#: Where FEFF's k = 0 lies relative to the arctan centre of the synthetic edge (eV).
#: Negative, so that the E0-shifted wavenumber q = √(k² − ΔE0/KTOE) stays real and
#: ≥ 0.72 Å⁻¹ down to the edge (larch's path sum diverges as 1/q at q → 0).
DEFAULT_FEFF_E0_SHIFT_EV = -2.0

#: Sources of the scattering amplitudes and phases (see the module docstring).
EXAFS_MODELS = ("feff6l", "model")

#: Switch of the FEFF χ, 1 − exp(−(k/FEFF_K_ON_INVA)^FEFF_TURN_ON_POWER) (see the
#: module docstring): 0.02 at 1.5 Å⁻¹, 0.21 at 2 Å⁻¹, 0.75 at 2.5 Å⁻¹, 0.997 at 3 Å⁻¹.
FEFF_K_ON_INVA = 2.4
FEFF_TURN_ON_POWER = 8

#: Mean free path λ(k) = LAMBDA0_A + LAMBDA1_A2 · k, in Å (k in Å⁻¹).
LAMBDA0_A = 4.0
LAMBDA1_A2 = 0.5


@dataclass(frozen=True)
class ScattererModel:
    """Model amplitude and phase of one kind of backscatterer.

    Attributes
    ----------
    name : str
        ``"O"`` or ``"TM"`` (any 3d transition metal neighbour).
    amp_A : float
        Peak backscattering amplitude A (Å).
    k_peak_invA : float
        Wavenumber C of the amplitude maximum (Å⁻¹).
    width_A : float
        Envelope parameter B (Å): |f| falls to A/2 at |k − C| = 1/B.
    phase_a_rad : float
        Constant part a of the total phase δ(k) = a + b·k (rad).
    phase_b_radA : float
        Slope b (rad·Å); the apparent FT distance is ≈ R + b/2.
    """

    name: str
    amp_A: float
    k_peak_invA: float
    width_A: float
    phase_a_rad: float
    phase_b_radA: float

    def amplitude(self, k) -> np.ndarray:
        """|f(k)| in Å for wavenumbers ``k`` (Å⁻¹)."""
        k = np.asarray(k, dtype=float)
        return self.amp_A / (1.0 + (self.width_A * (k - self.k_peak_invA)) ** 2)

    def phase(self, k) -> np.ndarray:
        """Total phase shift δ(k) in rad for wavenumbers ``k`` (Å⁻¹)."""
        return self.phase_a_rad + self.phase_b_radA * np.asarray(k, dtype=float)


#: The two model scatterers (demo values, see the module docstring).
SCATTERERS: dict[str, ScattererModel] = {
    "O": ScattererModel("O", amp_A=0.55, k_peak_invA=3.5, width_A=0.32,
                        phase_a_rad=0.3, phase_b_radA=-0.90),
    "TM": ScattererModel("TM", amp_A=0.85, k_peak_invA=6.0, width_A=0.20,
                         phase_a_rad=1.6, phase_b_radA=-0.80),
}


@dataclass(frozen=True)
class Shell:
    """One coordination shell.

    Attributes
    ----------
    scatterer : str
        Key of :data:`SCATTERERS` (``"O"`` or ``"TM"``).
    n : float
        Coordination number.
    r_A : float
        Absorber–scatterer distance (Å).
    sigma2_A2 : float
        Debye–Waller factor σ² (Å²).
    """

    scatterer: str
    n: float
    r_A: float
    sigma2_A2: float

    def __post_init__(self):
        if self.scatterer not in SCATTERERS:
            raise InputError(f"shell scatterer={self.scatterer!r}; expected one of "
                             f"{', '.join(SCATTERERS)}")
        if not (self.n > 0 and self.r_A > 0 and self.sigma2_A2 >= 0):
            raise InputError(f"shell {self.scatterer}: need n > 0, r_A > 0, sigma2_A2 >= 0; "
                             f"got n={self.n}, r_A={self.r_A}, sigma2_A2={self.sigma2_A2}")

    def to_dict(self) -> dict:
        """Plain dict (JSON-safe) of the shell parameters."""
        return asdict(self)


def as_shells(shells: Iterable) -> tuple[Shell, ...]:
    """Convert shells given as :class:`Shell`, dicts or ``(scatterer, n, r_A, sigma2_A2)`` tuples.

    Raises
    ------
    InputError
        An entry of another form, an unknown scatterer or a non-physical value.
    """
    out = []
    for i, s in enumerate(shells):
        if isinstance(s, Shell):
            out.append(s)
        elif isinstance(s, dict):
            try:
                out.append(Shell(str(s["scatterer"]), float(s["n"]), float(s["r_A"]),
                                 float(s["sigma2_A2"])))
            except KeyError as exc:
                raise InputError(f"shells[{i}] = {s!r} lacks key {exc}; expected scatterer, n, "
                                 "r_A, sigma2_A2") from None
        elif isinstance(s, Sequence) and not isinstance(s, str) and len(s) == 4:
            out.append(Shell(str(s[0]), float(s[1]), float(s[2]), float(s[3])))
        else:
            raise InputError(f"shells[{i}] = {s!r}; expected (scatterer, n, r_A, sigma2_A2)")
    if not out:
        raise InputError("shells is empty; give at least one (scatterer, n, r_A, sigma2_A2)")
    return tuple(out)


def mean_free_path(k) -> np.ndarray:
    """Model photo-electron mean free path λ(k) = 4.0 + 0.5·k in Å (k in Å⁻¹)."""
    return LAMBDA0_A + LAMBDA1_A2 * np.asarray(k, dtype=float)


def turn_on(k, *, k_on: float = DEFAULT_K_ON_INVA, power: float = 4) -> np.ndarray:
    """Smooth switch 1 − exp(−(k/k_on)^power) that removes χ near the edge (k in Å⁻¹).

    Defaults (k_on 2.2 Å⁻¹, power 4) are those of the model χ.
    """
    k = np.asarray(k, dtype=float)
    return -np.expm1(-(np.clip(k, 0.0, None) / k_on) ** power)


def chi_single_scattering(k, shells, *, s02: float = DEFAULT_S02,
                          k_on: float | None = DEFAULT_K_ON_INVA) -> np.ndarray:
    """Model χ(k) from the single-scattering EXAFS equation.

    Parameters
    ----------
    k : array_like of shape (M,)
        Photo-electron wavenumbers in Å⁻¹; values ≤ 0 give χ = 0.
    shells : iterable
        :class:`Shell` objects, dicts or ``(scatterer, n, r_A, sigma2_A2)`` tuples.
    s02 : float
        Amplitude reduction factor S0². Default is 0.85.
    k_on : float or None
        Width (Å⁻¹) of the low-k switch :func:`turn_on`; None: no switch. Default 2.2.

    Returns
    -------
    ndarray of shape (M,)
        χ(k) (dimensionless).

    Raises
    ------
    InputError
        Malformed shells.

    References
    ----------
    E. A. Stern, Phys. Rev. B 10, 3027 (1974), doi:10.1103/PhysRevB.10.3027; amplitude
    envelope after Teo and Lee, J. Am. Chem. Soc. 101, 2815 (1979).

    Examples
    --------
    >>> k = np.linspace(3, 12, 5)
    >>> chi = chi_single_scattering(k, [("O", 6, 2.0, 0.005)])
    >>> bool(np.all(np.abs(chi) < 0.5))
    True
    """
    k = np.asarray(k, dtype=float)
    kk = np.where(k > 0, k, 1.0)
    lam = mean_free_path(kk)
    chi = np.zeros_like(k)
    for sh in as_shells(shells):
        sc = SCATTERERS[sh.scatterer]
        amp = sh.n * s02 * sc.amplitude(kk) / (kk * sh.r_A ** 2)
        damp = np.exp(-2.0 * kk ** 2 * sh.sigma2_A2 - 2.0 * sh.r_A / lam)
        chi += amp * damp * np.sin(2.0 * kk * sh.r_A + sc.phase(kk))
    chi = np.where(k > 0, chi, 0.0)
    if k_on is not None:
        chi = chi * turn_on(k, k_on=k_on)
    return chi


def apparent_distance(shell: Shell) -> float:
    """Where a linear-phase (``"model"``) shell's |χ(R)| peak is expected: R + b/2 (Å)."""
    return shell.r_A + SCATTERERS[shell.scatterer].phase_b_radA / 2.0



# --------------------------------------------------------------------------- FEFF paths
@dataclass(frozen=True)
class FeffShellPaths:
    """The two FEFF6 single-scattering paths behind the demo χ(k) of one absorber.

    Attributes
    ----------
    element : str
        Absorber.
    structure_spec : str
        Structure FEFF ran on (:data:`DEMO_O3_SPEC`).
    o_file, tm_file : str
        ``feffNNNN.dat`` of the first TM–O and TM–TM paths.
    o_reff_A, tm_reff_A : float
        Their half path lengths in the template (Å).
    cache_key : str
        Name of the FEFF cache folder (first 32 hex digits of its SHA-256 key).
    """

    element: str
    structure_spec: str
    o_file: str
    o_reff_A: float
    tm_file: str
    tm_reff_A: float
    cache_key: str

    def path_for(self, scatterer: str) -> tuple[str, float]:
        """``(feffNNNN.dat, reff_A)`` of the path for a :class:`Shell` scatterer."""
        return (self.o_file, self.o_reff_A) if scatterer == "O" else (self.tm_file, self.tm_reff_A)

    def exists(self) -> bool:
        return Path(self.o_file).is_file() and Path(self.tm_file).is_file()


_FEFF_PATHS: dict[tuple[str, str], FeffShellPaths] = {}
_FEFF_FAILURES: dict[tuple[str, str], str] = {}


def feff_shell_paths(element: str, *, cache_dir=None) -> FeffShellPaths:
    """FEFF6 TM–O and TM–TM paths of ``element`` in :data:`DEMO_O3_SPEC` (cached).

    FEFF runs once per absorber and cache folder (a few seconds); later calls, also
    in other processes, read the on-disk cache of :func:`naheo_spec.xas.feff.run_feff`,
    and calls within one process are memoised.

    Parameters
    ----------
    element : str
        Absorber, ``"Ni"``, ``"Fe"`` or ``"Mn"`` (any transition metal of the template).
    cache_dir : path, optional
        FEFF cache root. None (default): :func:`naheo_spec.xas.feff.default_cache_dir`,
        i.e. ``$NAHEO_CACHE/feff`` or ``~/.cache/naheo_spec/feff``, resolved at each call.

    Returns
    -------
    FeffShellPaths

    Raises
    ------
    ProcessingError
        FEFF failed or produced no TM–O / TM–TM path.
    InputError
        Absorber not in the template.

    References
    ----------
    Zabinsky et al., Phys. Rev. B 52, 2995 (1995), doi:10.1103/PhysRevB.52.2995.
    """
    from naheo_spec.xas.exafs_fit import structure_paths
    from naheo_spec.xas.feff import default_cache_dir

    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    key = (str(element), str(root))
    known = _FEFF_PATHS.get(key)
    if known is not None and known.exists():
        return known
    tm_o, tm_tm = structure_paths(DEMO_O3_SPEC, str(element), cache_dir=root)
    out = FeffShellPaths(element=str(element), structure_spec=DEMO_O3_SPEC,
                         o_file=tm_o.filename, o_reff_A=float(tm_o.reff_A),
                         tm_file=tm_tm.filename, tm_reff_A=float(tm_tm.reff_A),
                         cache_key=Path(tm_o.filename).parent.name)
    _FEFF_PATHS[key] = out
    return out


@functools.lru_cache(maxsize=32)
def _feff_tables(filename: str, mtime_ns: int):
    """reff (Å) and cubic splines of |f_eff|·red_fact, total phase, Re p and λ over k.

    Read with larch's ``FeffDatFile`` and interpolated as larch's ``FeffPathGroup`` does
    (``UnivariateSpline(s=0)``). ``mtime_ns`` makes a rewritten file a new cache entry.
    """
    from scipy.interpolate import UnivariateSpline

    from naheo_spec.errors import ProcessingError
    from naheo_spec.xas.larch_bridge import larch_module

    fdat = larch_module("larch.xafs.feffdat").FeffDatFile(filename=filename)
    k = getattr(fdat, "k", None)
    if k is None or np.size(k) < 10 or not fdat.reff > 0:
        raise ProcessingError(f"{filename}: not a readable FEFF feffNNNN.dat file (no k table)")
    return float(fdat.reff), {name: UnivariateSpline(fdat.k, getattr(fdat, name), s=0)
                              for name in ("amp", "pha", "rep", "lam")}


def _path_chi(q, filename: str, n: float, r_A: float, sigma2_A2: float, s02: float) -> np.ndarray:
    """One path, larch's ``FeffPathGroup._calc_chi`` with C3 = C4 = Ei = 0."""
    reff, spl = _feff_tables(filename, Path(filename).stat().st_mtime_ns)
    dr = r_A - reff
    pp = (spl["rep"](q) + 1j / spl["lam"](q)) ** 2          # complex wavenumber squared
    p = np.sqrt(pp)
    cchi = np.exp(-2.0 * reff * p.imag - 2.0 * pp * sigma2_A2
                  + 1j * (2.0 * q * reff + spl["pha"](q) + 2.0 * p * (dr - 2.0 * sigma2_A2 / reff)))
    return (n * s02 * spl["amp"](q) * cchi / (q * r_A ** 2)).imag


def chi_feff(k, shells, paths: FeffShellPaths, *, s02: float = DEFAULT_S02,
             e0_shift_eV: float = DEFAULT_FEFF_E0_SHIFT_EV,
             k_on: float | None = FEFF_K_ON_INVA,
             turn_on_power: float = FEFF_TURN_ON_POWER) -> np.ndarray:
    """χ(k) summed over FEFF paths at the true shell parameters.

    Each shell uses the FEFF path of its scatterer with degeneracy N, S0², ΔR = R − reff,
    σ² and E0 shift ΔE0 = ``e0_shift_eV``, in the form larch's ``feffpath``/``feffit``
    evaluate (so that a fit can return exactly these values)::

        q = √(k² − ΔE0/KTOE),  p = √((Re p(q) + i/λ(q))²)
        χ = Im[ N S0² |F(q)| / (q R²) · exp(−2 reff Im p − 2p²σ²
                + i(2q·reff + Φ(q) + 2p(ΔR − 2σ²/reff))) ]

    with |F| = mag_feff·red_fact, Φ = 2δ_c + φ_feff, Re p and λ from ``feffNNNN.dat``
    (cubic splines over FEFF's k grid, as larch). The tables are read once per file.
    Larch's ``FeffPathGroup`` is not used: it needs ``sys.stdout.encoding`` (None under
    doctest or ``redirect_stdout(io.StringIO())``).

    Parameters
    ----------
    k : array_like of shape (M,)
        Photo-electron wavenumbers in Å⁻¹ from the edge centre; values ≤ 0 give χ = 0.
    shells : iterable
        :class:`Shell` objects, dicts or ``(scatterer, n, r_A, sigma2_A2)`` tuples.
    paths : FeffShellPaths
        From :func:`feff_shell_paths`.
    s02 : float
        Amplitude reduction factor S0². Default is 0.85.
    e0_shift_eV : float
        FEFF's k = 0 relative to the k = 0 of ``k`` (eV, ≤ 0). Default is −2.0.
    k_on : float or None
        Width (Å⁻¹) of the low-k switch :func:`turn_on`; None: no switch. Default 2.4.
    turn_on_power : float
        Exponent of the switch. Default is 8.

    Returns
    -------
    ndarray of shape (M,)
        χ(k) (dimensionless).

    Raises
    ------
    InputError
        Malformed shells or ``e0_shift_eV`` > 0 or not finite.
    ProcessingError
        A path file that cannot be read.

    References
    ----------
    M. Newville, J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964;
    Zabinsky et al., Phys. Rev. B 52, 2995 (1995), doi:10.1103/PhysRevB.52.2995;
    larch ``larch/xafs/feffdat.py`` (``FeffPathGroup._calc_chi``).
    """
    e0s = float(e0_shift_eV)
    if not (math.isfinite(e0s) and e0s <= 0.0):
        raise InputError(f"e0_shift_eV={e0_shift_eV!r}; expected a finite value <= 0 eV (FEFF's "
                         "k = 0 at or below the edge centre keeps the shifted wavenumber real)")
    shells_t = as_shells(shells)
    k = np.asarray(k, dtype=float)
    pos = k > 0
    chi = np.zeros_like(k)
    if not np.any(pos):
        return chi
    q = np.sqrt(k[pos] ** 2 - e0s / KTOE)
    for sh in shells_t:
        fname, _ = paths.path_for(sh.scatterer)
        chi[pos] += _path_chi(q, fname, sh.n, sh.r_A, sh.sigma2_A2, float(s02))
    if k_on is not None:
        chi = chi * turn_on(k, k_on=k_on, power=turn_on_power)
    return chi


# --------------------------------------------------------------------------- one χ model
@dataclass(frozen=True)
class ChiModel:
    """χ(k) of given shells from one source of scattering functions; call it with k.

    Attributes
    ----------
    kind : str
        ``"feff6l"`` (FEFF paths, :func:`chi_feff`) or ``"model"``
        (:func:`chi_single_scattering`).
    shells : tuple of Shell
    s02 : float
    k_on : float or None
        Width of the low-k switch (Å⁻¹); None: none.
    turn_on_power : float
        Exponent of the switch.
    e0_shift_eV : float
        FEFF's k = 0 relative to the edge centre (eV); 0 for ``"model"``.
    paths : FeffShellPaths or None
        The FEFF paths (``"feff6l"`` only).
    note : str
        Why ``"model"`` replaced a requested ``"feff6l"``; empty otherwise.
    """

    kind: str
    shells: tuple[Shell, ...]
    s02: float = DEFAULT_S02
    k_on: float | None = DEFAULT_K_ON_INVA
    turn_on_power: float = 4
    e0_shift_eV: float = 0.0
    paths: FeffShellPaths | None = None
    note: str = ""

    def __call__(self, k) -> np.ndarray:
        """χ at wavenumbers ``k`` (Å⁻¹, from the edge centre)."""
        if self.kind == "feff6l":
            return chi_feff(k, self.shells, self.paths, s02=self.s02,
                            e0_shift_eV=self.e0_shift_eV, k_on=self.k_on,
                            turn_on_power=self.turn_on_power)
        return chi_single_scattering(k, self.shells, s02=self.s02, k_on=self.k_on)

    def truth_metadata(self) -> dict[str, Any]:
        """``truth_exafs_*`` / ``truth_feff_*`` metadata entries describing this model."""
        out: dict[str, Any] = {"truth_exafs_model": self.kind,
                               "truth_exafs_e0_shift_eV": float(self.e0_shift_eV)}
        if self.paths is not None:
            out.update({"truth_feff_structure": self.paths.structure_spec,
                        "truth_feff_cache_key": self.paths.cache_key,
                        "truth_feff_reff_tm_o_A": self.paths.o_reff_A,
                        "truth_feff_reff_tm_tm_A": self.paths.tm_reff_A})
        if self.note:
            out["truth_exafs_model_note"] = self.note
        return out


def make_chi_model(element: str, shells, *, kind: str = "feff6l", s02: float = DEFAULT_S02,
                   e0_shift_eV: float = DEFAULT_FEFF_E0_SHIFT_EV, cache_dir=None) -> ChiModel:
    """The χ(k) model of one synthetic spectrum.

    Parameters
    ----------
    element : str
        Absorber (selects the FEFF run).
    shells : iterable
        :class:`Shell` objects, dicts or ``(scatterer, n, r_A, sigma2_A2)`` tuples.
    kind : {"feff6l", "model"}
        Source of amplitudes and phases. Default is ``"feff6l"``. When FEFF cannot be
        run or read, ``"model"`` is used instead, with a DefaultAdjustedWarning and the
        reason in :attr:`ChiModel.note` (the failure is remembered for the process, so a
        data set does not retry FEFF for every spectrum).
    s02 : float
        S0². Default is 0.85.
    e0_shift_eV : float
        FEFF's k = 0 relative to the edge centre (eV, ≤ 0; ``"feff6l"`` only). Default −2.0.
    cache_dir : path, optional
        FEFF cache root; None (default) as in :func:`feff_shell_paths`.

    Returns
    -------
    ChiModel
        With the low-k switch of its kind: model 2.2 Å⁻¹ / power 4
        (:data:`DEFAULT_K_ON_INVA`), FEFF 2.4 Å⁻¹ / power 8 (:data:`FEFF_K_ON_INVA`).

    Raises
    ------
    InputError
        Unknown ``kind``, malformed shells, ``e0_shift_eV`` > 0.

    Warns
    -----
    DefaultAdjustedWarning
        FEFF unavailable; model amplitudes/phases used.

    References
    ----------
    See the module docstring.
    """
    if kind not in EXAFS_MODELS:
        raise InputError(f"exafs_model={kind!r}; expected one of {', '.join(EXAFS_MODELS)}")
    shells_t = as_shells(shells)
    if kind == "model":
        return ChiModel("model", shells_t, float(s02))
    e0s = float(e0_shift_eV)
    if not (math.isfinite(e0s) and e0s <= 0.0):
        raise InputError(f"e0_shift_eV={e0_shift_eV!r}; expected a finite value <= 0 eV")
    try:
        paths = _feff_or_failure(str(element), cache_dir)
    except _FeffUnavailable as exc:
        note = (f"FEFF paths for {element} unavailable ({exc}); chi(k) uses MODEL amplitudes and "
                "phases, so a FEFF-based shell fit will not recover the true distances")
        warnings.warn(note, DefaultAdjustedWarning, stacklevel=2)
        return ChiModel("model", shells_t, float(s02), note=note)
    return ChiModel("feff6l", shells_t, float(s02), FEFF_K_ON_INVA, FEFF_TURN_ON_POWER, e0s, paths)


class _FeffUnavailable(Exception):
    pass


def _feff_or_failure(element: str, cache_dir) -> FeffShellPaths:
    from naheo_spec.xas.feff import default_cache_dir

    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    key = (element, str(root))
    if key in _FEFF_FAILURES:
        raise _FeffUnavailable(_FEFF_FAILURES[key])
    try:
        return feff_shell_paths(element, cache_dir=root)
    except (NaheoError, ImportError, OSError) as exc:
        _FEFF_FAILURES[key] = f"{type(exc).__name__}: {exc}"
        raise _FeffUnavailable(_FEFF_FAILURES[key]) from None
