"""Per-scan XANES pipeline: foil calibration, normalization, E0, oxidation state.

:func:`analyze_xanes` runs, for one spectrum:

1. **Energy calibration** against the simultaneous reference channel
   (``Spectrum.reference``) or a separate foil scan (``foil=``): the foil's
   max-derivative E0 is moved onto the tabulated edge
   (:func:`~naheo_spec.xas.energy_calibration.calibrate_energy`). A channel that is
   not a foil (E0 more than ``max_foil_offset_eV`` from the tabulated edge) is
   rejected with a warning and **not** applied; a scan without a foil is flagged.
2. **Normalization** (:func:`~naheo_spec.xas.normalize.normalize`) on the
   calibrated energies.
3. **E0** with its uncertainty (:func:`~naheo_spec.xas.e0.find_e0`), by default the
   half-height energy, which unlike the derivative maximum does not jump onto the
   white line of oxides (Bunker, *Introduction to XAFS*, CUP 2010, sec. 5.2).
4. **Oxidation state** from a :class:`~naheo_spec.xas.valence.ValenceCalibration`
   when one is given (same element and E0 method; normalization options default
   to the calibration's).

Every flag (no foil, rejected foil, extrapolated valence, adjusted ranges) is
emitted as a :class:`~naheo_spec.errors.QualityWarning` or
:class:`~naheo_spec.errors.DefaultAdjustedWarning` and recorded in
``XanesResult.warnings``. Bad input (edge outside the scan, constant μ) raises
:class:`~naheo_spec.errors.ProcessingError`; :func:`analyze_xanes_series` turns
such a failure into a :class:`XanesFailure` entry and goes on.

References
----------
.. [1] B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
   doi:10.1107/S0909049505012719.
.. [2] T. Cai et al., Nano-Micro Lett. 16, 10 (2024), doi:10.1007/s40820-023-01232-0
   (ex-situ Ni, Fe, Mn K-edge XANES edge shifts against oxide standards).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord, capture, warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import (
    CalibrationError,
    InputError,
    NaheoError,
    ProcessingError,
    QualityWarning,
)
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.model import Spectrum, SpectrumStack
from naheo_spec.provenance import Provenance
from naheo_spec.xas.energy_calibration import (
    FOIL_DISABLED,
    FOIL_ELEMENT_UNKNOWN,
    FOIL_NONE,
    FOIL_UNUSABLE,
)
from naheo_spec.xas.valence import NO_DOF, UNCALIBRATED_ENERGY

#: Keys of :meth:`XanesResult.to_json_dict`, in order (the CLI's ``--json`` schema).
JSON_KEYS = ("file", "scan", "element", "edge", "e0_method", "e0_eV", "e0_err_eV", "edge_step",
             "foil_shift_eV", "oxidation_state", "oxidation_state_err", "warnings")

DEFAULT_E0_METHOD = "half-height"
DEFAULT_PRESET = "larch"
#: A sample E0 further than this from the tabulated edge (eV) is an error: chemical shifts
#: of oxides are < ~20 eV even at the derivative maximum (Mn4+), and uncalibrated beamlines
#: are off by < ~7 eV (fe.060), so larger offsets mean a wrong element or energy scale.
E0_TABULATED_TOLERANCE_EV = 30.0

_NORM_OPTIONS = ("preset", "pre_range", "norm_range", "nnorm", "nvict")

OPTIONS_DIFFER = WarningCode(
    "xas.xanes.options_differ", QualityWarning,
    "A normalization option differs from the valence standards': the half-height E0 depends "
    "on it.")
ANALYSIS_FAILED = WarningCode("xas.xanes.failed", QualityWarning,
                              "A scan of a series could not be analysed; the series went on.")




def _record_name(file: str | None, scan: str | None, suffix: str) -> str:
    stem = Path(file).stem if file else "spectrum"
    raw = f"{stem}_{scan}" if scan else stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_") + suffix


@dataclass(frozen=True, eq=False, repr=False)
class XanesResult(ResultDisplay):
    """XANES analysis of one scan.

    Attributes
    ----------
    file, scan : str or None
        Source file and scan/group name.
    element, edge : str or None
        Absorber and edge.
    e0_method : str
        E0 definition used.
    e0_eV, e0_err_eV : float
        Edge position on the calibrated energy scale and its noise-based uncertainty (eV).
        The foil shift's error is reported separately (``energy_calibration.shift_err_eV``).
    edge_step : float
        Edge step (units of μ).
    foil_shift_eV : float or None
        Shift applied from the foil (eV); None when there was no valid foil.
    oxidation_state, oxidation_state_err : float or None
        From the valence calibration; None without one.
    warnings : tuple of WarningRecord
        Reader repairs, foil and quality flags, adjustments (coded).
    normalization : Normalization
        Normalized spectrum on the calibrated energies.
    energy_calibration : EnergyCalibration or None
        The foil calibration (also when rejected); None when there was no foil.
    provenance : Provenance
        Step ``"xas.xanes"``: input file and SHA-256, every parameter resolved.
    metadata : dict
        The spectrum's metadata (header fields, ``state_of_charge``, ``synthetic``...), for
        plots and tables; not part of :meth:`to_json_dict`.
    """

    file: str | None
    scan: str | None
    element: str | None
    edge: str | None
    e0_method: str
    e0_eV: float
    e0_err_eV: float
    edge_step: float
    foil_shift_eV: float | None
    oxidation_state: float | None
    oxidation_state_err: float | None
    warnings: tuple[str, ...]
    normalization: Any
    energy_calibration: Any
    provenance: Provenance
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``file-stem:scan`` label."""
        stem = Path(self.file).name if self.file else "spectrum"
        return f"{stem}:{self.scan}" if self.scan else stem

    @property
    def energy(self) -> np.ndarray:
        """Calibrated energies (eV)."""
        return self.normalization.energy

    @property
    def norm(self) -> np.ndarray:
        """Normalized μ on :attr:`energy`."""
        return self.normalization.norm

    def to_json_dict(self) -> dict[str, Any]:
        """The CLI ``--json`` dict: exactly :data:`JSON_KEYS`; NaN/None -> None."""
        return {
            "file": self.file, "scan": self.scan, "element": self.element, "edge": self.edge,
            "e0_method": self.e0_method, "e0_eV": _num(self.e0_eV),
            "e0_err_eV": _num(self.e0_err_eV), "edge_step": _num(self.edge_step),
            "foil_shift_eV": _num(self.foil_shift_eV),
            "oxidation_state": _num(self.oxidation_state),
            "oxidation_state_err": _num(self.oxidation_state_err),
            "warnings": warnings_json(self.warnings),
        }

    def to_record(self, name: str | None = None):
        """Return a :class:`~naheo_spec.records.Record` of kind ``"xanes"``.

        ``summary`` is :meth:`to_json_dict` with the warnings joined into one string
        (``"; "``) and ``n_warnings`` added; ``data`` holds ``energy`` (eV, calibrated),
        ``mu``, ``norm`` and ``flat``; signal ``norm``, axes ``["energy"]``.
        """
        from naheo_spec.records import DataArray, Record

        summary = self.to_json_dict()
        summary["n_warnings"] = len(self.warnings)
        summary["warnings"] = "; ".join(w.message for w in self.warnings)
        nz = self.normalization
        data = {"energy": DataArray(np.asarray(nz.energy), "eV", "X-ray energy (calibrated)"),
                "mu": DataArray(np.asarray(nz.mu), "", "absorption"),
                "norm": DataArray(np.asarray(nz.norm), "", "normalized absorption"),
                "flat": DataArray(np.asarray(nz.flat), "", "flattened normalized absorption")}
        return Record(name=name or _record_name(self.file, self.scan, "_xanes"), kind="xanes",
                      summary=summary, provenance=self.provenance, data=data, signal="norm",
                      axes=["energy"])

    def display_items(self):
        yield ("E0 (" + self.e0_method + ")", self.e0_eV, self.e0_err_eV, "eV")
        yield ("edge step", self.edge_step, None, "")
        yield ("foil shift", self.foil_shift_eV, None, "eV")
        if self.oxidation_state is not None:
            yield ("oxidation state", self.oxidation_state, self.oxidation_state_err, "")


@dataclass(frozen=True, repr=False)
class XanesFailure(ResultDisplay):
    """A scan of a series that could not be analysed.

    Attributes
    ----------
    file, scan, element, edge, e0_method
        As far as known.
    error : str
        The error message.
    warnings : tuple of str
        Warnings collected before the failure, then the error itself.
    provenance : Provenance
    """

    file: str | None
    scan: str | None
    element: str | None
    edge: str | None
    e0_method: str
    error: str
    warnings: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance(step="xas.xanes"))

    @property
    def name(self) -> str:
        stem = Path(self.file).name if self.file else "spectrum"
        return f"{stem}:{self.scan}" if self.scan else stem

    def to_json_dict(self) -> dict[str, Any]:
        """Same keys as :meth:`XanesResult.to_json_dict` (numbers None) plus ``"error"``."""
        d = {k: None for k in JSON_KEYS}
        d.update(file=self.file, scan=self.scan, element=self.element, edge=self.edge,
                 e0_method=self.e0_method, warnings=warnings_json(self.warnings),
                 error=self.error)
        return d

    def to_record(self, name: str | None = None):
        """Summary-only :class:`~naheo_spec.records.Record` of kind ``"xanes"``."""
        from naheo_spec.records import Record

        summary = self.to_json_dict()
        summary["warnings"] = "; ".join(w.message for w in self.warnings)
        summary["n_warnings"] = len(self.warnings)
        return Record(name=name or _record_name(self.file, self.scan, "_xanes_failed"),
                      kind="xanes", summary=summary, provenance=self.provenance)

    def display_items(self):
        yield ("error", self.error, None, "")


# --------------------------------------------------------------------------- helpers
def _as_spectrum(spectrum, scan) -> Spectrum:
    if isinstance(spectrum, Spectrum):
        return spectrum
    if isinstance(spectrum, (str, Path)):
        from naheo_spec.io import read_spectrum

        return read_spectrum(spectrum, scan=scan)
    raise InputError(f"spectrum must be a Spectrum or a file path, got {type(spectrum).__name__}")


def _warn(msgs: list[WarningRecord], code: WarningCode, msg: str, **data) -> None:
    msgs.append(code.warn(msg, stacklevel=4, **data))


def resolve_options(calibration, e0_method, norm_opts: dict) -> tuple[str, dict, list[str]]:
    """e0_method and normalization options, None -> calibration's -> defaults."""
    notes = []
    cal_norm = dict(calibration.normalization) if calibration is not None else {}
    if e0_method is None:
        e0_method = calibration.e0_method if calibration is not None else DEFAULT_E0_METHOD
    elif calibration is not None and e0_method != calibration.e0_method:
        raise CalibrationError(
            f"e0_method={e0_method!r} but the valence calibration was built with "
            f"{calibration.e0_method!r}; edge positions from different E0 definitions differ by "
            "several eV. Use the calibration's method or rebuild it")
    resolved = {}
    for key in _NORM_OPTIONS:
        given = norm_opts.get(key)
        if given is None:
            resolved[key] = cal_norm.get(key)
        else:
            resolved[key] = tuple(given) if isinstance(given, list) else given
            cal_val = cal_norm.get(key)
            if calibration is not None and cal_val is not None and \
                    np.any(np.asarray(cal_val) != np.asarray(resolved[key])):
                notes.append(OPTIONS_DIFFER.record(
                    f"normalization option {key}={resolved[key]!r} differs from the "
                    f"valence standards' {cal_val!r}: the half-height E0 depends on it"))
    if resolved["preset"] is None:
        resolved["preset"] = DEFAULT_PRESET
    if resolved["nvict"] is None:
        resolved["nvict"] = 0
    return e0_method, resolved, notes


def _finite_pair(energy, mu):
    ok = np.isfinite(mu)
    return energy[ok], mu[ok]


def _foil_step(spectrum: Spectrum, foil, element, edge, foil_e0_method, max_offset, msgs):
    """Return (EnergyCalibration or None, foil description)."""
    from naheo_spec.xas.energy_calibration import (
        calibrate_energy,
        calibrate_energy_from_foil,
    )

    if foil is False:
        _warn(msgs, FOIL_DISABLED,
              f"{spectrum.name}: no foil calibration (foil=False): energies are as measured")
        return None, "disabled"
    if element is None:
        _warn(msgs, FOIL_ELEMENT_UNKNOWN,
              f"{spectrum.name}: element unknown: energy not calibrated against a foil")
        return None, "element unknown"
    opts = dict(element=element, edge=edge, e0_method=foil_e0_method,
                max_offset_eV=max_offset, strict=False)
    if foil is None and spectrum.reference is None:
        _warn(msgs, FOIL_NONE, f"{spectrum.name}: no foil (no reference channel and no foil= "
                               "scan): energy scale not calibrated")
        return None, "none"
    if foil is None:
        e, r = _finite_pair(spectrum.energy, spectrum.reference)
        if e.size < 10:
            _warn(msgs, FOIL_UNUSABLE, f"{spectrum.name}: reference channel has only {e.size} "
                                       "finite points: energy not calibrated")
            return None, "reference channel unusable"
    with capture():                  # re-emitted below with the scan name
        if foil is not None:
            cal = calibrate_energy_from_foil(foil, **opts)
            what = "separate foil scan " + (cal.provenance.source_file or "")
        else:
            cal = calibrate_energy(e, r, source_file=spectrum.source.path,
                                   source_sha256=spectrum.source.sha256, **opts)
            what = "reference channel " + str(spectrum.source.columns.get("reference", ""))
    for m in cal.warnings:  # already prefixed with the foil's file name
        msgs.append((m if cal.provenance.source_file else m.prefixed(spectrum.name)).emit(
            stacklevel=3))
    return cal, what.strip()


def _check_edge_in_range(spectrum, energy, element, edge, msgs):
    if element is None:
        return None
    from naheo_spec.xas.edges import tabulated_edge_energy

    tab = tabulated_edge_energy(element, edge)
    if not energy[0] < tab < energy[-1]:
        raise ProcessingError(
            f"{spectrum.name}: the tabulated {element} {edge} edge ({tab:.1f} eV) lies outside the "
            f"scanned energy range {energy[0]:.1f}..{energy[-1]:.1f} eV: wrong element or the "
            "scan misses the edge")
    return tab


def _predict(calibration, element, e0, e0_err, calibrated, name, msgs):
    if calibration is None:
        return None, None
    if calibration.element and element and calibration.element != element:
        raise CalibrationError(f"{name}: valence calibration is for {calibration.element} but the "
                               f"spectrum is {element}")
    if not calibration.has_line:
        raise CalibrationError(f"{name}: the valence calibration has no line: "
                               + "; ".join(calibration.warnings))
    with capture():
        pred = calibration.predict(e0, e0_err)
    for m in pred.warnings:
        msgs.append(m.prefixed(name).emit(stacklevel=3))
    if calibration.dof == 0:
        msgs.append(NO_DOF.record(
            f"{name}: the valence calibration has no residual degrees of freedom "
            f"({len(calibration.points)} standards): the oxidation-state error ignores "
            "how far real compounds scatter about the line"))
    if not calibrated:
        _warn(msgs, UNCALIBRATED_ENERGY,
              f"{name}: oxidation state from an energy scale not calibrated against a "
              "foil: a monochromator offset of 1 eV moves it by about "
              f"{1.0 / calibration.slope_eV:.2f}")
    return pred.valence, pred.valence_err


# --------------------------------------------------------------------------- pipeline
def analyze_xanes(spectrum, *, e0_method: str | None = None, foil=None, calibration=None,
                  preset: str | None = None, pre_range=None, norm_range=None,
                  nnorm: int | None = None, nvict: int | None = None,
                  element: str | None = None, edge: str | None = None, scan: str | None = None,
                  foil_e0_method: str = "max-derivative",
                  max_foil_offset_eV: float = 5.0) -> XanesResult:
    """Foil calibration, normalization, E0 and oxidation state of one XANES scan.

    Parameters
    ----------
    spectrum : Spectrum or str or Path
        The scan; a path is read with :func:`naheo_spec.io.read_spectrum` (``scan``).
    e0_method : str, optional
        One of :data:`naheo_spec.xas.e0.E0_METHODS`. Default None: the calibration's
        method, else ``"half-height"``. Must equal the calibration's.
    foil : Spectrum or str or Path or False, optional
        Separate foil scan for the energy calibration. Default None: the spectrum's
        own reference channel if it has one. False: no foil calibration.
    calibration : ValenceCalibration, optional
        Line for the oxidation state. Default None: no oxidation state.
    preset, pre_range, norm_range, nnorm, nvict
        Normalization options (:func:`naheo_spec.xas.normalize.normalize`). Default
        None: the calibration's, else the normalize defaults (preset ``"larch"``,
        nvict 0). Options differing from the calibration's are flagged.
    element, edge : str, optional
        Default None: from the spectrum (edge falls back to ``"K"``), else the
        calibration's element.
    scan : str, optional
        Scan to read when ``spectrum`` is a multi-scan file.
    foil_e0_method : str
        E0 definition on the foil. Default is ``"max-derivative"``.
    max_foil_offset_eV : float
        Foils further than this from the tabulated edge are rejected. Default is 5.0 eV.

    Returns
    -------
    XanesResult

    Raises
    ------
    ProcessingError
        The tabulated edge lies outside the scan, the E0 found is more than 30 eV from
        it (another element's edge), μ is constant/all zero, or the edge step is not
        positive (from normalize).
    CalibrationError
        E0 method or element inconsistent with ``calibration``, or a calibration
        without a line.
    InputError, ReadError
        Bad arguments or unreadable file.

    References
    ----------
    B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
    doi:10.1107/S0909049505012719 (foil alignment, normalization); G. Bunker,
    *Introduction to XAFS*, CUP (2010), sec. 5.2
    (half-height E0 for valence, traps of non-foil reference channels).

    Examples
    --------
    >>> import numpy as np
    >>> from naheo_spec.model import Spectrum
    >>> e = np.linspace(6400.0, 6800.0, 801)
    >>> mu = 0.1 + np.arctan((e - 6546.0) / 2.0) / np.pi + 0.5
    >>> foil = np.arctan((e - 6538.0) / 1.0) / np.pi + 0.5
    >>> r = analyze_xanes(Spectrum(e, mu, reference=foil, element="Mn"))
    >>> round(r.foil_shift_eV, 1), round(r.e0_eV, 1)
    (1.0, 6547.0)
    """
    from naheo_spec.xas.e0 import find_e0
    from naheo_spec.xas.normalize import normalize

    spectrum = _as_spectrum(spectrum, scan)
    msgs: list[WarningRecord] = list(spectrum.warnings)
    e0_method, nopts, notes = resolve_options(
        calibration, e0_method, dict(preset=preset, pre_range=pre_range,
                                     norm_range=norm_range, nnorm=nnorm, nvict=nvict))
    for n in notes:
        msgs.append(n.prefixed(spectrum.name).emit(stacklevel=2))
    element = element or spectrum.element or (calibration.element if calibration else None)
    edge = edge or spectrum.edge or (calibration.edge if calibration else None) or "K"
    if np.ptp(spectrum.mu) == 0:
        raise ProcessingError(f"{spectrum.name}: mu is "
                              f"{'all zero' if not np.any(spectrum.mu) else 'constant'}: "
                              "no absorption edge")
    ecal, foil_desc = _foil_step(spectrum, foil, element, edge, foil_e0_method,
                                 max_foil_offset_eV, msgs)
    shift = ecal.shift_eV if ecal is not None else None
    energy = spectrum.energy + (shift or 0.0)
    tab = _check_edge_in_range(spectrum, energy, element, edge, msgs)
    try:
        norm = normalize(energy, spectrum.mu, **nopts)
        est = find_e0(energy, spectrum.mu, method=e0_method, normalization=norm)
    except (ProcessingError, InputError) as exc:
        raise ProcessingError(f"{spectrum.name}: {exc}") from exc
    msgs.extend(m for m in norm.warnings if m not in msgs)
    msgs.extend(m for m in est.warnings if m not in msgs)
    if tab is not None and abs(est.e0_eV - tab) > E0_TABULATED_TOLERANCE_EV:
        raise ProcessingError(
            f"{spectrum.name}: E0 {est.e0_eV:.2f} eV is {est.e0_eV - tab:+.1f} eV from the "
            f"tabulated {element} {edge} edge {tab:.1f} eV (limit ±{E0_TABULATED_TOLERANCE_EV:g} "
            "eV): the edge in the scan is not this element's (wrong element?) or the energy "
            "scale is far off")
    # The foil shift's own error (ecal.shift_err_eV) is reported with the calibration but not
    # added here: the max-derivative bootstrap on foils with two near-equal derivative maxima
    # (e.g. CERIC FeO_311's murefer) gives errors of several eV while repeated measurements
    # stay within 0.3 eV, so adding it would overstate the uncertainty. See the issue note.
    e0_err = float(est.e0_err_eV)
    ox, ox_err = _predict(calibration, element, est.e0_eV, e0_err, shift is not None,
                          spectrum.name, msgs)
    params = {"e0_method": e0_method, **nopts, "pre_range_eV": tuple(norm.pre_range_eV),
              "norm_range_eV": tuple(norm.norm_range_eV), "nnorm_used": norm.nnorm,
              "element": element, "edge": edge, "foil": foil_desc,
              "foil_e0_method": foil_e0_method, "max_foil_offset_eV": max_foil_offset_eV,
              "foil_calibration": None if ecal is None else ecal.to_json_dict(),
              "valence_calibration": None if calibration is None else calibration_summary(calibration),
              "synthetic": spectrum.source.format == "synthetic"
              or bool(spectrum.metadata.get("synthetic"))}
    prov = Provenance(step="xas.xanes", parameters=params, source_file=spectrum.source.path,
                      source_sha256=spectrum.source.sha256)
    return XanesResult(
        file=spectrum.source.path, scan=spectrum.source.scan, element=element, edge=edge,
        e0_method=e0_method, e0_eV=float(est.e0_eV), e0_err_eV=e0_err,
        edge_step=float(norm.edge_step), foil_shift_eV=shift, oxidation_state=ox,
        oxidation_state_err=ox_err, warnings=tuple(msgs), normalization=norm,
        energy_calibration=ecal, provenance=prov, metadata=dict(spectrum.metadata))


def calibration_summary(cal) -> dict[str, Any]:
    return {"slope_eV": cal.slope_eV, "intercept_eV": cal.intercept_eV,
            "covariance": None if cal.covariance is None else [list(r) for r in cal.covariance],
            "scatter_eV": cal.scatter_eV, "e0_method": cal.e0_method,
            "standards": [p.name for p in cal.points],
            "standards_file": cal.provenance.parameters.get("standards_file"),
            "standards_sha256": cal.provenance.parameters.get("standards_sha256")}


#: Failures analyze_xanes_series records and moves past (never a bare except).
_SERIES_ERRORS = (NaheoError, ValueError, ArithmeticError, np.linalg.LinAlgError, OSError)


def _iter_inputs(spectra) -> Iterable[tuple[Spectrum | None, str | None, Exception | None]]:
    if isinstance(spectra, (Spectrum, SpectrumStack, str, Path)):
        spectra = [spectra]
    for item in spectra:
        if isinstance(item, Spectrum):
            yield item, None, None
        elif isinstance(item, SpectrumStack):
            for s in item:
                yield s, None, None
        elif isinstance(item, (str, Path)):
            from naheo_spec.io import read_spectra

            try:
                read = read_spectra(item)
            except _SERIES_ERRORS as exc:
                yield None, str(item), exc
                continue
            for s in read:
                yield s, None, None
        else:
            yield None, repr(item), InputError(
                f"series item must be a Spectrum, SpectrumStack or path, got {type(item).__name__}")


def analyze_xanes_series(spectra, **options) -> list[XanesResult | XanesFailure]:
    """Run :func:`analyze_xanes` on many scans, going past the ones that fail.

    Parameters
    ----------
    spectra : iterable of Spectrum, SpectrumStack or path
        Scans; every scan of a multi-scan file or stack is analysed.
    **options
        Keyword arguments of :func:`analyze_xanes` (same for every scan).

    Returns
    -------
    list of XanesResult or XanesFailure
        In input order; a failed scan gives a :class:`XanesFailure` holding the error
        message (also emitted as a :class:`~naheo_spec.errors.QualityWarning`).
    """
    out: list[XanesResult | XanesFailure] = []
    for spectrum, label, read_error in _iter_inputs(spectra):
        if read_error is None:
            try:
                out.append(analyze_xanes(spectrum, **options))
                continue
            except _SERIES_ERRORS as exc:
                err = exc
        else:
            err = read_error
        file = spectrum.source.path if spectrum is not None else label
        scan = spectrum.source.scan if spectrum is not None else None
        msg = f"{type(err).__name__}: {err}"
        where = spectrum.name if spectrum is not None else str(file)
        failed = ANALYSIS_FAILED.warn(f"{where}: analysis failed: {msg}", stacklevel=2,
                                      error_type=type(err).__name__)
        prior = tuple(spectrum.warnings) if spectrum is not None else ()
        out.append(XanesFailure(
            file=file, scan=scan, element=options.get("element") or (
                spectrum.element if spectrum is not None else None),
            edge=options.get("edge") or (spectrum.edge if spectrum is not None else None),
            e0_method=options.get("e0_method") or (
                options["calibration"].e0_method if options.get("calibration") else
                DEFAULT_E0_METHOD),
            error=msg, warnings=prior + (failed,),
            provenance=Provenance(step="xas.xanes", parameters={
                k: v for k, v in options.items() if k != "calibration"},
                source_file=file, source_sha256=spectrum.source.sha256 if spectrum else None)))
    return out
