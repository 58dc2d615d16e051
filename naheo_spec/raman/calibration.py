"""Shift-axis check against silicon (520.7 cm-1) or polystyrene (1001.4 cm-1).

:func:`calibrate_axis` fits one pseudo-Voigt plus a quadratic background to the reference
band of a calibration spectrum measured on the same instrument, and reports the offset
``measured - reference`` with its fit uncertainty. :meth:`AxisCalibration.apply` subtracts
that offset from any axis of that instrument. Offsets of 2-5 cm-1 between instruments are
normal (the shared LabRAM file reads Si at 522.6) and are as large as the gaps between the
carbonate bands, so the pipeline warns when it assigns a carbonate on an uncalibrated axis.

A single-band check corrects a constant offset only; a dispersion error (an offset that
changes along the axis) needs several lines (neon lamp, several polystyrene bands).

References
----------
ASTM E1840-96 (2014), Standard Guide for Raman Shift Standards for Spectrometer
Calibration (polystyrene 1001.4 cm-1); reference values with their sources in
``reference_spectra/raman/bands.toml``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naheo_spec.errors import CalibrationError, InputError
from naheo_spec.raman.despike import despike_whitaker_hayes
from naheo_spec.raman.presets import preset_from_dict, reference_band

__all__ = ["AxisCalibration", "calibrate_axis", "REFERENCES"]

#: Reference keys in bands.toml and the fit window (cm-1): polystyrene's stops below its
#: 1031.8 band, wide enough for 4 cm-1 pixels.
REFERENCES = {"si": ("si", (490.0, 550.0)), "polystyrene": ("polystyrene", (982.0, 1019.0))}
#: Largest offset (cm-1) accepted: instruments are normally within 2-5 cm-1; more means a
#: wrong file or reference, or an axis that needs a full (multi-line) recalibration.
MAX_OFFSET = 10.0


@dataclass(frozen=True)
class AxisCalibration:
    """A constant shift-axis offset measured on a reference band.

    Attributes
    ----------
    reference : str
        ``"si"`` or ``"polystyrene"``.
    reference_cm1 : float
        Literature position (cm-1) and its source in :attr:`reference_source`.
    measured_cm1, measured_err_cm1 : float
        Fitted band centre on the instrument's axis and its uncertainty (cm-1).
    offset_cm1, offset_err_cm1 : float
        ``measured - reference`` (cm-1): subtract it from the instrument's axes.
    fwhm_cm1 : float
        Fitted width of the reference band.
    file, sha256 : str or None
        The calibration spectrum.
    reference_source : str
    """

    reference: str
    reference_cm1: float
    measured_cm1: float
    measured_err_cm1: float
    offset_cm1: float
    offset_err_cm1: float
    fwhm_cm1: float
    file: str | None = None
    sha256: str | None = None
    reference_source: str = ""

    def apply(self, axis) -> np.ndarray:
        """``axis - offset_cm1``.

        Examples
        --------
        >>> c = AxisCalibration("si", 520.7, 522.6, 0.1, 1.9, 0.1, 4.0)
        >>> c.apply(np.array([522.6])).tolist()
        [520.7]
        """
        return np.asarray(axis, dtype=float) - self.offset_cm1

    def to_dict(self) -> dict:
        """JSON-safe fields (for provenance and ``--json``)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _pick_reference(spectrum, reference: str) -> str:
    if reference != "auto":
        if reference not in REFERENCES:
            raise InputError(f"reference={reference!r}; expected 'si', 'polystyrene' or 'auto'",
                             parameter="reference")
        return reference
    x, y = spectrum.axis, spectrum.signal
    best, name = -np.inf, None
    for key, (ref, (lo, hi)) in REFERENCES.items():
        half = 0.5 * (hi - lo)
        c = reference_band(ref)["center_cm1"]
        sel = (x > lo) & (x < hi)
        if sel.sum() < 5:
            continue
        around = (x > c - 4 * half) & (x < c + 4 * half)
        score = (np.max(y[sel]) - np.median(y[around])) / (np.std(y[around]) + 1e-12)
        if score > best:
            best, name = score, key
    if name is None:
        raise CalibrationError(f"{spectrum.name}: covers neither the Si (520.7) nor the "
                               "polystyrene (1001.4 cm-1) band")
    return name


def calibrate_axis(spectrum, *, reference: str = "auto") -> AxisCalibration:
    """Measure the shift-axis offset of ``spectrum`` on its Si or polystyrene band.

    Parameters
    ----------
    spectrum : Spectrum
        A spectrum of crystalline Si or polystyrene from the instrument to calibrate.
    reference : {"auto", "si", "polystyrene"}
        Which band. Default ``"auto"``: the one that stands out more in the spectrum.

    Returns
    -------
    AxisCalibration

    Raises
    ------
    CalibrationError
        The band is not in the spectrum, the fit fails, or the offset exceeds 12 cm-1.

    Examples
    --------
    >>> from naheo_spec.model import Spectrum
    >>> from naheo_spec.raman.lineshapes import lorentzian
    >>> x = np.linspace(400, 650, 500)
    >>> s = Spectrum(x, 100 + lorentzian(x, 3000, 522.6, 4.0), axis_kind="raman_shift")
    >>> c = calibrate_axis(s)
    >>> c.reference, round(c.offset_cm1, 2)
    ('si', 1.9)
    """
    from naheo_spec.raman.fit import fit_bands

    name = _pick_reference(spectrum, reference)
    key, (lo, hi) = REFERENCES[name]
    ref = reference_band(key)
    c0 = float(ref["center_cm1"])
    preset = preset_from_dict({
        "name": f"calibration-{name}", "reference_bands": [],
        "window": [{"name": "ref", "range_cm1": [lo, hi]}],
        "band": [{"name": name, "role": "oxide", "window": "ref", "center_cm1": c0,
                  "center_range_cm1": [c0 - MAX_OFFSET, c0 + MAX_OFFSET], "fwhm_cm1": 5.0,
                  "fwhm_range_cm1": [0.5, 30.0]}]})
    x = np.asarray(spectrum.axis, dtype=float)
    if ((x > lo) & (x < hi)).sum() < 9:
        raise CalibrationError(f"{spectrum.name}: fewer than 9 points in {lo:g}-{hi:g} cm-1 around "
                               f"the {name} band at {c0} cm-1")
    y = despike_whitaker_hayes(spectrum.signal).signals
    table = fit_bands(x, y, preset)
    center, err = float(table.center[0, 0]), float(table.center_err[0, 0])
    if not (table.converged[0] and np.isfinite(center)) or table.at_bound[0, 0]:
        raise CalibrationError(f"{spectrum.name}: the {name} band fit failed or ended on a bound "
                               f"(centre {center:.2f} cm-1, more than {MAX_OFFSET:g} cm-1 from "
                               f"{c0}?); is this a {name} spectrum, and is the axis calibrated "
                               "at all?")
    if table.height[0, 0] < 5 * np.sqrt(table.redchi[0, 0]):
        raise CalibrationError(f"{spectrum.name}: no clear {name} band near {c0} cm-1 (height "
                               f"below 5x the noise)")
    return AxisCalibration(reference=name, reference_cm1=c0, measured_cm1=center,
                           measured_err_cm1=err, offset_cm1=center - c0, offset_err_cm1=err,
                           fwhm_cm1=float(table.fwhm[0, 0]), file=spectrum.source.path,
                           sha256=spectrum.source.sha256,
                           reference_source=str(ref.get("source", "")))
