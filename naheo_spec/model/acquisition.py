"""Acquisition settings that drive the physics, as typed fields.

A reader maps what a file says into one of these small frozen records; everything else
stays in ``Spectrum.metadata`` and the file's header is kept verbatim in
``Spectrum.header``. Unknown values are None: no field is ever filled with a guess.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["XasAcquisition", "XpsAcquisition", "RamanAcquisition", "Acquisition"]


class _AsDict:
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict of the fields (JSON-safe for the scalar fields)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class XasAcquisition(_AsDict):
    """X-ray absorption measurement settings.

    Attributes
    ----------
    measurement_mode : str or None
        ``"transmission"``, ``"fluorescence"`` or ``"electron_yield"``; None when the
        file does not say. Fluorescence data of concentrated absorbers suffer from
        self-absorption.
    beamline : str or None
        Facility and beamline as given by the file.
    temperature_K : float or None
        Sample temperature (K).
    """

    measurement_mode: str | None = None
    beamline: str | None = None
    temperature_K: float | None = None


@dataclass(frozen=True)
class XpsAcquisition(_AsDict):
    """Photoelectron measurement settings.

    Attributes
    ----------
    photon_energy_eV : float or None
        Excitation energy hv (eV): 1486.6-1486.7 for Al Ka, 1253.6 for Mg Ka. Needed to
        turn kinetic into binding energy (BE = hv - KE, the convention that reproduces
        the text exports of VAMAS files, whose stored work function is already folded
        into the kinetic-energy scale by the instrument).
    work_function_eV : float or None
        Analyser work function as stored by the file (informative, see above).
    pass_energy_eV : float or None
        Analyser pass energy (eV).
    dwell_s : float or None
        Dwell time per point (s).
    n_scans : int or None
        Number of scans summed.
    source_label : str or None
        X-ray source as named by the file (``"Al"``, ``"Al K alpha"``).
    analyser_mode : str or None
        ``"FAT"``/``"FRR"`` or the vendor's wording.
    sample : str or None
        Sample identifier of the block.
    region : str or None
        Core level or region name (``"Ni 2p"``, ``"Survey"``).
    intensity_unit : str or None
        ``"counts"``, ``"counts/s"`` or as given.
    raw_counts : bool or None
        True when the intensities are unprocessed integer counts (Poisson statistics
        apply); False for processed data (counts/s, smoothed, rebinned, non-integer).
    """

    photon_energy_eV: float | None = None
    work_function_eV: float | None = None
    pass_energy_eV: float | None = None
    dwell_s: float | None = None
    n_scans: int | None = None
    source_label: str | None = None
    analyser_mode: str | None = None
    sample: str | None = None
    region: str | None = None
    intensity_unit: str | None = None
    raw_counts: bool | None = None


@dataclass(frozen=True)
class RamanAcquisition(_AsDict):
    """Raman measurement settings.

    Attributes
    ----------
    laser_wavelength_nm : float or None
        Excitation wavelength (nm); needed to turn a wavelength axis into Raman shift.
    exposure_s : float or None
        Exposure per accumulation (s).
    accumulations : int or None
        Number of accumulations.
    laser_power_mW : float or None
        Laser power at the sample as given (mW), or None.
    grating : str or None
        Grating as named by the file.
    objective : str or None
        Objective as named by the file.
    vendor_processing : tuple of str
        Processing the vendor software already applied (e.g. ``"baseline subtracted"``
        for LabSpec ``#Base:Fit Sub``); pipelines must not repeat it.
    """

    laser_wavelength_nm: float | None = None
    exposure_s: float | None = None
    accumulations: int | None = None
    laser_power_mW: float | None = None
    grating: str | None = None
    objective: str | None = None
    vendor_processing: tuple[str, ...] = field(default_factory=tuple)


#: Any of the acquisition records.
Acquisition = XasAcquisition | XpsAcquisition | RamanAcquisition
