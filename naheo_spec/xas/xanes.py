"""Per-scan XANES: :func:`analyze_xanes` is the XANES pipeline applied to one scan.

The pipeline itself lives in :mod:`naheo_spec.xas.xanes_stack` (one implementation for one
scan, a stack, or an out-of-core file): :func:`analyze_xanes` puts the spectrum in a stack
of one row, runs it, and returns that row as a :class:`XanesResult` (with the normalization
curves and the foil calibration), or raises the row's error. For one spectrum:

1. **Energy calibration** against the simultaneous reference channel
   (``Spectrum.reference``) or a separate foil scan (``foil=``): the foil's
   max-derivative E0 is moved onto the tabulated edge
   (:func:`~naheo_spec.xas.energy_calibration.foil_rows`). A channel that is not a foil
   of the element is rejected with a warning and **not** applied; a scan without a foil
   is flagged and carries the energy-scale terms of an uncalibrated monochromator.
2. **Normalization** (:func:`~naheo_spec.xas.normalize.normalize` rules), or none with
   ``normalized=True``.
3. **E0** with its error budget (:mod:`naheo_spec.xas.uncertainty`), by default the
   half-height energy, which unlike the derivative maximum does not jump onto the
   white line of oxides (Bunker, *Introduction to XAFS*, CUP 2010, sec. 5.2).
4. **Oxidation state** from a :class:`~naheo_spec.xas.valence.ValenceCalibration`
   when one is given (same element and E0 method; normalization options default
   to the calibration's), and the edge markers.

Every flag is a coded warning recorded in ``XanesResult.warnings``. Bad input (edge outside
the scan, constant μ) raises :class:`~naheo_spec.errors.ProcessingError`;
:func:`analyze_xanes_series` turns such a failure into a :class:`XanesFailure` entry and
goes on.

References
----------
.. [1] B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
   doi:10.1107/S0909049505012719.
.. [2] T. Cai et al., Nano-Micro Lett. 16, 10 (2024), doi:10.1007/s40820-023-01232-0
   (ex-situ Ni, Fe, Mn K-edge XANES edge shifts against oxide standards).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import InputError, NaheoError, ProcessingError, QualityWarning
from naheo_spec.model import Spectrum, SpectrumStack
from naheo_spec.provenance import Provenance
from naheo_spec.xas.xanes_result import JSON_KEYS, XanesFailure, XanesResult
from naheo_spec.xas.xanes_stack import (
    DEFAULT_E0_METHOD,
    DEFAULT_PRESET,
    E0_TABULATED_TOLERANCE_EV,
    ERROR_TYPES,
    OPTIONS_DIFFER,
    analyze_block,
    calibration_summary,
    resolve_options,
    stack_of_one,
    stack_options,
)

__all__ = ["analyze_xanes", "analyze_xanes_series", "XanesResult", "XanesFailure",
           "JSON_KEYS", "DEFAULT_E0_METHOD", "DEFAULT_PRESET", "E0_TABULATED_TOLERANCE_EV",
           "OPTIONS_DIFFER", "resolve_options", "calibration_summary"]

ANALYSIS_FAILED = WarningCode("xas.xanes.failed", QualityWarning,
                              "A scan of a series could not be analysed; the series went on.")


def _as_spectrum(spectrum, scan) -> Spectrum:
    if isinstance(spectrum, Spectrum):
        return spectrum
    if isinstance(spectrum, (str, Path)):
        from naheo_spec.io import read_spectrum

        return read_spectrum(spectrum, scan=scan)
    raise InputError(f"spectrum must be a Spectrum or a file path, got {type(spectrum).__name__}")


def analyze_xanes(spectrum, *, e0_method: str | None = None, foil=None, calibration=None,
                  preset: str | None = None, pre_range=None, norm_range=None,
                  nnorm: int | None = None, nvict: int | None = None,
                  element: str | None = None, edge: str | None = None, scan: str | None = None,
                  foil_e0_method: str = "max-derivative",
                  max_foil_offset_eV: float = 5.0, normalized: bool = False,
                  noise_correlation: float = 1.0, energy_scale_sigma_eV: float | None = None,
                  energy_drift_sigma_eV: float | None = None, markers: bool = True,
                  marker_calibrations: dict | None = None,
                  include_scatter: bool = True) -> XanesResult:
    """Foil calibration, normalization, E0 with its error budget and oxidation state of one
    XANES scan: :func:`~naheo_spec.xas.xanes_stack.analyze_xanes_stack` on one row.

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
    normalized : bool
        The spectrum is already normalized: no refit, half-height E0 where it crosses
        0.5 (grid-aware error). Default is False.
    noise_correlation, energy_scale_sigma_eV, energy_drift_sigma_eV, markers,
    marker_calibrations, include_scatter
        As in :func:`~naheo_spec.xas.xanes_stack.analyze_xanes_stack`.

    Returns
    -------
    XanesResult

    Raises
    ------
    ProcessingError
        The tabulated edge lies outside the scan, the E0 found is more than 30 eV from
        it (another element's edge), μ is constant/all zero/not finite, or the edge step
        is not positive.
    FitError
        The arctan fit failed (``e0_method="arctan"``).
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
    >>> sorted(r.e0_err_terms_eV) == sorted(["noise", "grid", "normalization", "foil"])
    True
    """
    spectrum = _as_spectrum(spectrum, scan)
    opts = stack_options(e0_method=e0_method, foil=foil, calibration=calibration,
                         preset=preset, pre_range=pre_range, norm_range=norm_range, nnorm=nnorm,
                         nvict=nvict, element=element, edge=edge,
                         foil_e0_method=foil_e0_method, max_foil_offset_eV=max_foil_offset_eV,
                         normalized=normalized, noise_correlation=noise_correlation,
                         energy_scale_sigma_eV=energy_scale_sigma_eV,
                         energy_drift_sigma_eV=energy_drift_sigma_eV, markers=markers,
                         marker_calibrations=marker_calibrations,
                         include_scatter=include_scatter)
    res, silent = analyze_block(stack_of_one(spectrum), opts, keep_norm=True, keep_curves=True)
    own = set(spectrum.warnings)
    for rec in res.row_warnings.for_row(0):
        if rec not in own and rec.code not in silent and \
                rec.code != "xas.xanes_stack.scan_failed":
            rec.emit(stacklevel=2)
    if res.errors[0] is not None:
        kind, _, msg = res.errors[0].partition(": ")
        raise ERROR_TYPES.get(kind, ProcessingError)(msg)
    out = res.row(0)
    prov = Provenance(step="xas.xanes", parameters=out.provenance.parameters,
                      source_file=spectrum.source.path, source_sha256=spectrum.source.sha256)
    from dataclasses import replace

    return replace(out, provenance=prov, metadata=dict(spectrum.metadata))


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
                k: v for k, v in options.items() if k not in ("calibration",
                                                              "marker_calibrations")},
                source_file=file, source_sha256=spectrum.source.sha256 if spectrum else None)))
    return out
