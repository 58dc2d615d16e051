"""Self-absorption (over-absorption) correction of fluorescence XAS of concentrated absorbers.

In fluorescence, the measured signal of a thick sample is

    I_f ~ mu_a(E) / (mu_tot(E) + mu_tot(E_f) sin(phi) / sin(theta)),

with mu_a the absorber's part of the absorption, mu_tot the total, E_f the fluorescence
line energy and phi, theta the incidence and exit angles to the surface. When the
absorber dominates mu_tot (a concentrated absorber: Mn in a Mn oxide, the cathode's TMO2
layer), the denominator follows the numerator and the EXAFS is damped. In the thick
limit, with the normalized signal n(E) (edge step 1),

    mu_corr = mu alpha / (alpha + 1 - n),
    alpha = (mu_tot(E_f) sin(phi)/sin(theta) + mu_below) / (mu_above - mu_below),

mu_below and mu_above the total absorption just below and above the edge (from tabulated
cross-sections of the sample's composition; the density cancels). To first order the
EXAFS amplitude grows by ``(alpha + 1) / alpha`` (:attr:`SelfAbsorption.amplitude_factor`).
This is the correction of larch's ``fluo_corr`` (D. Haskel's FLUO), a special case of the
general treatment of Booth and Bridges for samples of any thickness; it assumes a thick,
homogeneous sample and, like larch, an energy-independent alpha.

References
----------
C. H. Booth, F. Bridges, "Improved self-absorption correction for fluorescence
measurements of extended x-ray absorption fine-structure", Phys. Scr. T115, 202 (2005),
doi:10.1238/Physica.Topical.115a00202;
L. Troeger, D. Arvanitis, K. Baberschke, H. Michaelis, U. Grimm, E. Zschech,
Phys. Rev. B 46, 3283 (1992), doi:10.1103/PhysRevB.46.3283;
D. Haskel, FLUO: correcting XANES for self-absorption in fluorescence measurements
(1999), https://www3.aps.anl.gov/haskel/fluo.html;
xraylarch ``larch.xafs.fluo_corr``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import DefaultAdjustedWarning, InputError, QualityWarning
from naheo_spec.xas.edges import normalize_edge, normalize_element, tabulated_edge_energy

__all__ = ["SelfAbsorption", "self_absorption_alpha", "fluo_corr", "LARGE_CORRECTION",
           "SA_CORRECTED", "SA_LARGE", "SA_NOT_CORRECTED"]

#: An EXAFS amplitude factor (alpha + 1) / alpha above this is reported as large.
LARGE_CORRECTION = 1.10

SA_CORRECTED = WarningCode(
    "xas.exafs.self_absorption_corrected", DefaultAdjustedWarning,
    "Fluorescence data were corrected for self-absorption (thick-sample limit, as larch "
    "fluo_corr) using the composition.")
SA_LARGE = WarningCode(
    "xas.exafs.self_absorption_large", QualityWarning,
    "The self-absorption correction is large (EXAFS amplitude changed by more than 10 %): "
    "coordination numbers and sigma2 depend on the composition and the thick-sample "
    "assumption; measure a dilute sample or in transmission if you can.")
SA_NOT_CORRECTED = WarningCode(
    "xas.exafs.self_absorption_not_corrected", QualityWarning,
    "Fluorescence data without a composition: self-absorption was not corrected and "
    "amplitudes (N, sigma2) may be damped; give the composition.")


@dataclass(frozen=True)
class SelfAbsorption:
    """Result of :func:`fluo_corr`.

    Attributes
    ----------
    mu : ndarray of shape (M,) or (N, M)
        Corrected mu(E) (same scale as the input).
    alpha : float
        The thick-sample ratio (mu_tot(E_f) sin(phi)/sin(theta) + mu_below) /
        (mu_above - mu_below); dimensionless.
    amplitude_factor : float
        (alpha + 1) / alpha: first-order growth of the EXAFS amplitude.
    params : dict
        Composition (formula), element, edge, line, line energy (eV), angles (deg),
        the three absorption coefficients (1/cm at density 1 g/cm^3).
    """

    mu: np.ndarray
    alpha: float
    amplitude_factor: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def large(self) -> bool:
        """True when the amplitude factor exceeds :data:`LARGE_CORRECTION`."""
        return self.amplitude_factor > LARGE_CORRECTION


def _formula(composition) -> str:
    from naheo_spec.chemistry import format_formula, parse_formula

    if isinstance(composition, str):
        return format_formula(parse_formula(composition))
    if isinstance(composition, Mapping):
        return format_formula({str(k): float(v) for k, v in composition.items()})
    raise InputError(f"composition={composition!r}: expected a formula such as "
                     "'Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2' or a dict",
                     parameter="composition")


def self_absorption_alpha(composition, element: str, *, edge: str = "K", line: str = "Ka",
                          angle_in_deg: float = 45.0, angle_out_deg: float = 45.0
                          ) -> tuple[float, dict[str, Any]]:
    """The thick-sample self-absorption ratio alpha of a sample.

    Parameters
    ----------
    composition : str or mapping
        Sample formula (``"MnO"``, ``"Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2"``) or
        ``{element: amount}``.
    element : str
        Absorbing element.
    edge : str
        Absorption edge. Default is ``"K"``.
    line : str
        Fluorescence line counted (xraydb name). Default is ``"Ka"``.
    angle_in_deg, angle_out_deg : float
        Incidence and exit angles to the sample surface, degrees. Defaults are 45 and 45.

    Returns
    -------
    alpha : float
        Dimensionless ratio (larger = less self-absorption).
    details : dict
        ``formula``, ``element``, ``edge``, ``line``, ``line_energy_eV``,
        ``edge_energy_eV``, ``angles_deg``, ``mu_line``, ``mu_below``, ``mu_above``
        (1/cm at density 1 g/cm^3; 10 eV below and above the tabulated edge, as larch).

    Raises
    ------
    InputError
        Bad formula, element not in it, unknown edge or line, angles outside (0, 90].

    References
    ----------
    Booth and Bridges, Phys. Scr. T115, 202 (2005), doi:10.1238/Physica.Topical.115a00202;
    Troeger et al., Phys. Rev. B 46, 3283 (1992), doi:10.1103/PhysRevB.46.3283.

    Examples
    --------
    Pure MnO self-absorbs strongly (EXAFS damped about 3.6x in a thick sample); one Mn
    atom per thousand C atoms much less:

    >>> a_pure, _ = self_absorption_alpha("MnO", "Mn")
    >>> a_dilute, _ = self_absorption_alpha("Mn0.001C1", "Mn")
    >>> round((a_pure + 1) / a_pure, 1), bool((a_dilute + 1) / a_dilute < 1.1)
    (3.6, True)
    """
    import xraydb

    formula = _formula(composition)
    el = normalize_element(element)
    ed = normalize_edge(edge)
    if el is None or ed is None:
        raise InputError(f"element={element!r}, edge={edge!r}: expected an element symbol and "
                         "an edge name", parameter="element")
    from naheo_spec.chemistry import parse_formula

    if el not in parse_formula(formula):
        raise InputError(f"composition {formula!r} does not contain the absorber {el}",
                         parameter="composition")
    for name, ang in (("angle_in_deg", angle_in_deg), ("angle_out_deg", angle_out_deg)):
        if not (np.isfinite(ang) and 0 < ang <= 90):
            raise InputError(f"{name}={ang!r}: expected an angle in (0, 90] degrees",
                             parameter=name)
    try:
        e_line = float(xraydb.xray_line(el, line).energy)
    except (AttributeError, KeyError, ValueError, TypeError):
        raise InputError(f"line={line!r}: xraydb has no such emission line for {el}",
                         parameter="line") from None
    e_edge = tabulated_edge_energy(el, ed)
    ratio = np.sin(np.deg2rad(angle_in_deg)) / np.sin(np.deg2rad(angle_out_deg))
    mu_line, mu_below, mu_above = (float(v) for v in xraydb.material_mu(
        formula, np.array([e_line, e_edge - 10.0, e_edge + 10.0]), density=1.0))
    alpha = (mu_line * ratio + mu_below) / (mu_above - mu_below)
    details = {"formula": formula, "element": el, "edge": ed, "line": line,
               "line_energy_eV": e_line, "edge_energy_eV": e_edge,
               "angles_deg": [float(angle_in_deg), float(angle_out_deg)],
               "mu_line": mu_line, "mu_below": mu_below, "mu_above": mu_above}
    return float(alpha), details


def fluo_corr(mu, norm, composition, element: str, *, edge: str = "K", line: str = "Ka",
              angle_in_deg: float = 45.0, angle_out_deg: float = 45.0) -> SelfAbsorption:
    """Correct fluorescence mu(E) of a thick sample for self-absorption (larch ``fluo_corr``).

    Parameters
    ----------
    mu : array-like, shape (M,) or (N, M)
        Fluorescence mu(E) (I_f / I_0), any scale.
    norm : array-like, same shape as ``mu``
        The same data normalized (edge step 1, e.g. ``normalize(...).norm``); larch's
        ``fluo_corr`` normalizes with pre-edge up to E0 - 30 eV, a linear post-edge
        from E0 + 100 eV.
    composition : str or mapping
        Sample formula or ``{element: amount}``.
    element : str
        Absorbing element.
    edge, line, angle_in_deg, angle_out_deg
        As in :func:`self_absorption_alpha`.

    Returns
    -------
    SelfAbsorption
        ``mu * alpha / (alpha + 1 - norm)``, alpha and the amplitude factor.

    Raises
    ------
    InputError
        Mismatched shapes, or as :func:`self_absorption_alpha`.

    References
    ----------
    Booth and Bridges, Phys. Scr. T115, 202 (2005), doi:10.1238/Physica.Topical.115a00202;
    Troeger et al., Phys. Rev. B 46, 3283 (1992), doi:10.1103/PhysRevB.46.3283;
    xraylarch ``larch.xafs.fluo_corr``.

    Examples
    --------
    The correction leaves the pre-edge (norm 0) and the edge-step level (norm 1)
    unchanged relative to each other and amplifies the oscillations around 1:

    >>> norm = np.array([0.0, 1.0, 1.1, 0.9])
    >>> res = fluo_corr(norm, norm, "MnO", "Mn")
    >>> np.round(res.mu[:2], 12).tolist(), bool(res.mu[2] - 1 > 0.1), bool(1 - res.mu[3] > 0.1)
    ([0.0, 1.0], True, True)
    """
    m = np.asarray(mu, dtype=float)
    n = np.asarray(norm, dtype=float)
    if m.shape != n.shape:
        raise InputError(f"mu {m.shape} and norm {n.shape} must have the same shape",
                         parameter="norm")
    alpha, details = self_absorption_alpha(composition, element, edge=edge, line=line,
                                           angle_in_deg=angle_in_deg,
                                           angle_out_deg=angle_out_deg)
    corrected = m * alpha / (alpha + 1.0 - n)
    return SelfAbsorption(mu=corrected, alpha=alpha, amplitude_factor=(alpha + 1.0) / alpha,
                          params=details)
