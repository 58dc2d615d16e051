"""Energy calibration of an XAS scan against a reference metal foil.

A metal foil measured with the sample (the "reference" channel, or a separate
foil scan taken in the same session) fixes the monochromator energy scale: the
foil's edge position, by convention its maximum-derivative E0, is moved onto the
tabulated edge energy, and the same shift is applied to the sample.

The shift is only as good as the foil. Reference channels that are *not* a foil
exist in public data (the XAS Data Library Mn files use a "Mn filter" whose edge
sits 5-7 eV above the metal edge, the Ni(OH)2 files a channel at 8345.5 eV).
Calibrating against them silently moves every edge by several eV, so a foil
whose E0 lies further than ``max_offset_eV`` from the tabulated edge is rejected:
:func:`calibrate_energy` raises :class:`~naheo_spec.errors.CalibrationError`
(``strict=True``) or returns a calibration with ``shift_eV=None`` and a
:class:`~naheo_spec.errors.QualityWarning` (``strict=False``). It never returns a
shift it does not trust.

References
----------
.. [1] J. A. Bearden and A. F. Burr, "Reevaluation of X-ray atomic energy levels",
   Rev. Mod. Phys. 39, 125 (1967), doi:10.1103/RevModPhys.39.125 (the xraydb edge table).
.. [2] S. Kraft et al., "High resolution x-ray absorption spectroscopy with absolute
   energy calibration for the determination of absorption edge energies",
   Rev. Sci. Instrum. 67, 681 (1996), doi:10.1063/1.1146657.
.. [3] B. Ravel and M. Newville, "ATHENA, ARTEMIS, HEPHAESTUS", J. Synchrotron Rad.
   12, 537 (2005), doi:10.1107/S0909049505012719 (foil alignment in Athena).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningCode, warnings_json
from naheo_spec.errors import CalibrationError, InputError, NaheoError, QualityWarning
from naheo_spec.provenance import Provenance
from naheo_spec.validation import check_xy
from naheo_spec.xas.edges import tabulated_edge_energy  # re-exported: part of this API

#: Largest |foil E0 - tabulated edge| (eV) accepted as a metal foil. Real foils sit
#: within ~1.5 eV (Kraft et al. 1996; measured 8331.5-8332.9 eV for Ni, 7110.8-7112.0 eV
#: for Fe); the XDL "Mn filter" channels sit 5.3-7.0 eV above the Mn edge.
DEFAULT_MAX_OFFSET_EV = 5.0

#: E0 definition used on foils: Athena and larch align foils on the derivative maximum.
DEFAULT_FOIL_E0_METHOD = "max-derivative"


FOIL_DISABLED = WarningCode("xas.foil.disabled", QualityWarning,
                            "Foil calibration switched off (foil=False): energies as measured.")
FOIL_NONE = WarningCode("xas.foil.none", QualityWarning,
                        "No foil (no reference channel, no foil scan): the energy scale is not "
                        "calibrated.")
FOIL_ELEMENT_UNKNOWN = WarningCode("xas.foil.element_unknown", QualityWarning,
                                   "The element is unknown: the energy was not calibrated.")
FOIL_UNUSABLE = WarningCode("xas.foil.unusable", QualityWarning,
                            "The reference channel has too few finite points to calibrate.")
FOIL_REJECTED = WarningCode(
    "xas.foil.rejected", QualityWarning,
    "The reference channel is not a usable foil of this element (E0 too far from the "
    "tabulated edge, no edge, inverted); the energy scale was NOT calibrated.")


@dataclass(frozen=True)
class EnergyCalibration:
    """Result of a foil calibration.

    Attributes
    ----------
    shift_eV : float or None
        Shift to add to the measured energies (eV): ``tabulated_e0_eV - foil_e0_eV``.
        None when the reference was rejected (not a foil); see ``warnings``.
    foil_e0_eV : float or None
        Foil edge position on the measured energy scale (eV); None if it could not be found.
    tabulated_e0_eV : float
        Tabulated edge energy of ``element``/``edge`` (eV, xraydb / Bearden-Burr).
    element, edge : str
        Absorber and edge the foil was compared with.
    method : str
        E0 method used on the foil.
    max_offset_eV : float
        Largest accepted |foil E0 - tabulated| (eV).
    warnings : tuple of str
        Why the foil was rejected or questionable.
    provenance : Provenance
        Step ``"xas.calibrate_energy"`` with every parameter used.
    shift_err_eV : float or None
        Uncertainty of the shift (eV): the foil E0's noise-based error from
        :func:`naheo_spec.xas.e0.find_e0` (bootstrap for max-derivative). None when rejected.
    """

    shift_eV: float | None
    foil_e0_eV: float | None
    tabulated_e0_eV: float
    element: str
    edge: str
    method: str
    max_offset_eV: float
    warnings: tuple[str, ...]
    provenance: Provenance
    shift_err_eV: float | None = None

    @property
    def valid(self) -> bool:
        """True when the foil was accepted and ``shift_eV`` can be applied."""
        return self.shift_eV is not None

    def apply(self, energy) -> np.ndarray:
        """Return ``energy + shift_eV`` (eV).

        Raises
        ------
        CalibrationError
            If the foil was rejected (``shift_eV`` is None).
        """
        if self.shift_eV is None:
            raise CalibrationError(
                "energy calibration was rejected and cannot be applied: "
                + "; ".join(w.message for w in self.warnings))
        return np.asarray(energy, dtype=float) + self.shift_eV

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe summary (None stays None)."""
        return {
            "element": self.element, "edge": self.edge, "method": self.method,
            "shift_eV": self.shift_eV, "shift_err_eV": self.shift_err_eV,
            "foil_e0_eV": self.foil_e0_eV,
            "tabulated_e0_eV": self.tabulated_e0_eV, "max_offset_eV": self.max_offset_eV,
            "valid": self.valid, "warnings": warnings_json(self.warnings),
            "foil_file": self.provenance.source_file,
            "foil_sha256": self.provenance.source_sha256,
            "foil_scan": self.provenance.parameters.get("foil_scan"),
        }

    def to_record(self, name: str | None = None):
        """Return a :class:`~naheo_spec.records.Record` (summary only, no arrays)."""
        from naheo_spec.records import Record

        return Record(name=name or f"{self.element}_{self.edge}_foil_calibration",
                      kind="energy_calibration", summary=self.to_json_dict(),
                      provenance=self.provenance)


def _rises_at(energy: np.ndarray, mu: np.ndarray, e0: float) -> bool:
    """True if mu is higher 10-40 eV above ``e0`` than 10-40 eV below it (an edge)."""
    below = (energy > e0 - 40.0) & (energy < e0 - 10.0)
    above = (energy > e0 + 10.0) & (energy < e0 + 40.0)
    if not below.any() or not above.any():
        return True  # too little data to judge; the offset test still applies
    return float(np.mean(mu[above])) > float(np.mean(mu[below]))


def _foil_e0(energy, mu, method: str) -> tuple[float, float]:
    """Foil E0 and its noise-based error (eV)."""
    from naheo_spec.xas.e0 import find_e0

    with warnings.catch_warnings():
        # a foil's own E0 quirks are summarised by the offset test below
        warnings.simplefilter("ignore")
        est = find_e0(energy, mu, method=method)
    return float(est.e0_eV), float(est.e0_err_eV)


def calibrate_energy(energy, foil_mu, *, element: str, edge: str = "K",
                     e0_method: str = DEFAULT_FOIL_E0_METHOD,
                     max_offset_eV: float = DEFAULT_MAX_OFFSET_EV, strict: bool = True,
                     source_file: str | None = None, source_sha256: str | None = None,
                     source_scan: str | None = None) -> EnergyCalibration:
    """Energy shift that puts a metal foil's E0 on the tabulated edge.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Measured (uncalibrated) energies, eV, strictly increasing.
    foil_mu : array-like, shape (M,)
        μ(E) of the metal foil on ``energy``.
    element : str
        Absorber symbol of the foil (``"Mn"``, ``"Fe"``, ``"Ni"``).
    edge : str
        Edge name. Default is ``"K"``.
    e0_method : str
        E0 definition on the foil, one of :data:`naheo_spec.xas.e0.E0_METHODS`.
        Default is ``"max-derivative"`` (Athena/larch alignment convention).
    max_offset_eV : float
        A foil whose E0 lies further than this from the tabulated edge is rejected as
        not being a foil of ``element``. Default is 5.0 eV.
    strict : bool
        If True (default) a rejected foil raises :class:`CalibrationError`; if False
        a :class:`QualityWarning` is emitted and the returned calibration has
        ``shift_eV=None`` (``valid`` False).
    source_file, source_sha256, source_scan : str, optional
        Foil file, hash and scan/group name, recorded in the provenance.

    Returns
    -------
    EnergyCalibration
        ``shift_eV = tabulated_e0_eV - foil_e0_eV``; add it to the sample energies.

    Raises
    ------
    CalibrationError
        (``strict=True``) no edge found in the foil channel, the channel does not rise
        at its E0, or ``|foil E0 - tabulated| > max_offset_eV``.
    InputError
        Bad arrays, unknown element/edge, or ``max_offset_eV <= 0``.

    References
    ----------
    Bearden & Burr, Rev. Mod. Phys. 39, 125 (1967); Kraft et al., Rev. Sci. Instrum.
    67, 681 (1996), doi:10.1063/1.1146657.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.linspace(6400, 6700, 601)
    >>> foil = 1 + np.arctan((e - 6537.5) / 1.5) / np.pi
    >>> cal = calibrate_energy(e, foil, element="Mn")
    >>> round(cal.shift_eV, 1)
    1.5
    """
    energy, foil_mu = check_xy(energy, foil_mu, names=("energy", "foil_mu"))
    if not max_offset_eV > 0:
        raise InputError(f"max_offset_eV must be > 0 eV, got {max_offset_eV!r}")
    tab = tabulated_edge_energy(element, edge)
    params = {"element": element, "edge": edge, "e0_method": e0_method,
              "max_offset_eV": float(max_offset_eV), "strict": strict,
              "tabulated_e0_eV": tab, "foil_scan": source_scan}
    prov = Provenance(step="xas.calibrate_energy", parameters=params,
                      source_file=source_file, source_sha256=source_sha256)
    problem, foil_e0, foil_err = _foil_problem(energy, foil_mu, element, edge, e0_method, tab,
                                               max_offset_eV)

    def _result(shift, msgs):
        return EnergyCalibration(shift_eV=shift, foil_e0_eV=foil_e0, tabulated_e0_eV=tab,
                                 element=element, edge=edge, method=e0_method,
                                 max_offset_eV=float(max_offset_eV), warnings=tuple(msgs),
                                 provenance=prov,
                                 shift_err_eV=None if shift is None else foil_err)

    if problem is None:
        return _result(tab - foil_e0, ())
    where = f"{source_file}: " if source_file else ""
    msg = f"{where}reference channel rejected, energy NOT calibrated: {problem}"
    if strict:
        raise CalibrationError(msg)
    return _result(None, (FOIL_REJECTED.warn(msg, stacklevel=2),))


def _foil_problem(energy, mu, element, edge, method, tab, max_offset):
    """Return (reason the channel is not a usable foil or None, foil E0 or None, its error)."""
    if np.ptp(mu) <= 0 or not np.any(np.diff(mu)):
        return "the channel is constant (no edge)", None, None
    try:
        e0, err = _foil_e0(energy, mu, method)
    except NaheoError as exc:
        return f"no edge found in the channel ({exc})", None, None
    if not np.isfinite(e0):
        return "no edge found in the channel (E0 is not finite)", None, None
    if abs(e0 - tab) > max_offset:
        return (f"its {method} E0 is {e0:.2f} eV, {e0 - tab:+.2f} eV from the tabulated "
                f"{element} {edge} edge {tab:.2f} eV (limit ±{max_offset:g} eV): not a "
                f"{element} foil (e.g. a filter or another sample; a real foil on an "
                "uncalibrated beamline needs a larger max_offset_eV / --max-foil-offset)"), e0, err
    if not _rises_at(energy, mu, e0):
        return (f"the channel does not rise at its E0 {e0:.2f} eV (inverted or not an "
                "absorption edge)"), e0, err
    return None, e0, err


def calibrate_energy_from_foil(foil, *, element: str | None = None, edge: str | None = None,
                               scan: str | None = None,
                               e0_method: str = DEFAULT_FOIL_E0_METHOD,
                               max_offset_eV: float = DEFAULT_MAX_OFFSET_EV,
                               strict: bool = True, **read_options) -> EnergyCalibration:
    """Calibrate against a separately measured foil scan (a Spectrum or a file).

    Parameters
    ----------
    foil : Spectrum or str or Path
        The foil scan; its ``signal`` is the foil μ(E). A path is read with
        :func:`naheo_spec.io.read_spectrum` (``scan`` and ``read_options`` passed on).
    element, edge : str, optional
        Default None: taken from the foil spectrum (``edge`` falls back to ``"K"``).
    scan : str, optional
        Scan/group inside a multi-scan foil file (e.g. ``"Mn_foil"`` in an Athena project).
    e0_method, max_offset_eV, strict
        As in :func:`calibrate_energy`.

    Returns
    -------
    EnergyCalibration

    Raises
    ------
    InputError
        The element is neither given nor known from the file.
    CalibrationError
        As in :func:`calibrate_energy`.
    """
    if isinstance(foil, (str, Path)):
        from naheo_spec.io import read_spectrum

        foil = read_spectrum(foil, scan=scan, **read_options)
    element = element or foil.element
    edge = edge or foil.edge or "K"
    if not element:
        raise InputError(f"{foil.name}: element of the foil is unknown; pass element=")
    return calibrate_energy(foil.energy, foil.mu, element=element, edge=edge,
                            e0_method=e0_method, max_offset_eV=max_offset_eV, strict=strict,
                            source_file=foil.source.path, source_sha256=foil.source.sha256,
                            source_scan=foil.source.scan)
