"""A small single-scattering EXAFS model for the synthetic demo data.

χ(k) is computed from the plane-wave single-scattering EXAFS equation

    χ(k) = Σ_j  N_j S0² |f_j(k)| / (k R_j²) · exp(−2k²σ_j²) · exp(−2R_j/λ(k))
                · sin(2kR_j + δ_j(k))

with **model** backscattering amplitudes and phases, not FEFF:

- |f(k)| has the Lorentzian envelope A / (1 + B²(k − C)²) used by Teo and Lee [1]_
  to parametrise tabulated amplitudes: light scatterers (O) peak at low k, 3d metals
  ("TM") near k ≈ 6 Å⁻¹ and decay more slowly;
- the total phase is linear, δ(k) = a + b·k, with b < 0. A linear phase moves the
  |χ(R)| peak of a shell from R to about R + b/2, so b ≈ −0.8…−0.9 rad·Å gives the
  usual 0.4–0.45 Å "apparent distance" shortening of uncorrected Fourier transforms
  (the measured oxides in ``shared/notes/xas.md`` §3 sit 0.39–0.54 Å short);
- λ(k) = λ0 + λ1·k is a smooth photo-electron mean free path (≈ 5.5 Å at 3 Å⁻¹,
  9 Å at 10 Å⁻¹, the range FEFF gives for 3d oxides).

All parameter values below are demo choices, picked so that amplitudes, FT peak
heights and apparent distances look like those of real 3d-metal oxides; they are
not fitted to anything and must not be used to analyse measured data.

References
----------
.. [1] B.-K. Teo and P. A. Lee, "Ab initio calculations of amplitude and phase
   functions for extended X-ray absorption fine structure spectroscopy",
   J. Am. Chem. Soc. 101, 2815 (1979), doi:10.1021/ja00505a003.
.. [2] E. A. Stern, "Theory of the extended x-ray-absorption fine structure",
   Phys. Rev. B 10, 3027 (1974), doi:10.1103/PhysRevB.10.3027.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from naheo_spec.errors import InputError

#: ħ²/(2mₑ) in eV·Å²: E − E0 = KTOE · k² (same constant as xraylarch's ``KTOE``).
KTOE = 3.8099819442818976

#: Amplitude reduction factor S0² used by default (typical 3d-oxide value).
DEFAULT_S02 = 0.85

#: χ is switched on smoothly, χ·(1 − exp(−(k/k_on)⁴)): the single-scattering formula
#: is meaningless at k → 0 (there the XANES model describes the spectrum).
DEFAULT_K_ON_INVA = 2.2

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


def turn_on(k, *, k_on: float = DEFAULT_K_ON_INVA) -> np.ndarray:
    """Smooth switch 1 − exp(−(k/k_on)⁴) that removes χ near the edge (k in Å⁻¹)."""
    k = np.asarray(k, dtype=float)
    return -np.expm1(-(np.clip(k, 0.0, None) / k_on) ** 4)


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
    """Where a linear-phase shell's |χ(R)| peak is expected: R + b/2 (Å)."""
    return shell.r_A + SCATTERERS[shell.scatterer].phase_b_radA / 2.0
