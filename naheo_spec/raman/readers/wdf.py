"""Renishaw WiRE ``.wdf`` files through renishawWiRE (MIT): single spectra, series, maps.

- The x list is stored in cm-1 or in nm; nm is converted to Raman shift with the laser
  wavelength stored in the file (``laser_wavelength=`` overrides it). A file with neither a
  laser wavelength nor an x unit (WiRE measurement type "Unspecified") is refused: its
  axis could be anything. Pass ``x_unit="1/cm"`` when you know it is a shift.
- Series keep their origin-list coordinates: ``time`` (s from the first spectrum), ``z``
  (um, depth series); maps keep ``x``, ``y`` (um) and ``map_shape`` (ny, nx).
- An incomplete measurement (fewer spectra than planned) is read with a warning.

References
----------
T. Tian, renishawWiRE (py-wdf-reader), https://github.com/alchem0x2A/py-wdf-reader (MIT).
"""
from __future__ import annotations

import math

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import QualityWarning, ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.repair import repair_axis
from naheo_spec.model import RamanAcquisition, SourceInfo, Spectrum, SpectrumStack
from naheo_spec.raman.textparse import axis_to_shift, order_stack_axis

__all__ = ["FORMAT", "read_wdf", "INCOMPLETE"]

INCOMPLETE = WarningCode("raman.read.wdf_incomplete", QualityWarning,
                         "The WiRE measurement holds fewer spectra than it planned (aborted).")

_COORD = {"Spatial_X": ("x", "um"), "Spatial_Y": ("y", "um"), "Spatial_Z": ("z", "um"),
          "Time": ("time", "s")}


def _open(path):
    try:
        from renishawWiRE import WDFReader
    except ImportError as exc:  # pragma: no cover - dependency declared in pyproject
        raise ReadError(path, "reading .wdf needs the renishawWiRE package "
                              "(pip install renishawWiRE)") from exc
    try:
        return WDFReader(path)
    except Exception as exc:   # the library raises bare ValueError/struct errors  # noqa: BLE001
        raise ReadError(path, f"renishawWiRE cannot read this .wdf ({type(exc).__name__}: "
                              f"{exc}); the file may be truncated or a StreamLine variant the "
                              "library does not support") from exc


def read_wdf(probe, *, laser_wavelength=None, x_unit=None) -> list:
    """Read a ``.wdf`` file (see module doc).

    Parameters
    ----------
    probe : Probe
        The file.
    laser_wavelength : float, optional
        Laser wavelength (nm) overriding the stored one (needed when x is in nm and the file
        stores none).
    x_unit : {"1/cm", "nm"}, optional
        The x unit when the file does not say.

    Raises
    ------
    ReadError
        Unreadable file, or an x axis whose unit (or laser) is unknown.
    """
    path = probe.path
    r = _open(path)
    try:
        x = np.asarray(r.xdata, dtype=float).ravel()
        flat = np.asarray(r.spectra, dtype=float).ravel()
        count0 = int(r.count or 0)
        if x.size < 5 or flat.size == 0 or flat.size % x.size or flat.size // x.size < count0:
            raise ReadError(path, f"holds {x.size} x values and {flat.size} intensities for "
                                  f"{count0} spectra: the file is truncated or damaged")
        spectra = flat.reshape(-1, x.size)[:max(count0, 1)]
        stored_laser = r.laser_length if r.laser_length and math.isfinite(r.laser_length) else None
        unit = str(getattr(r.xlist_unit, "name", r.xlist_unit) or "")
        unit = {"RamanShift": "1/cm", "1/cm": "1/cm", "Nanometre": "nm", "nm": "nm"}.get(
            unit, str(r.xlist_unit))
        mtype = str(getattr(r.measurement_type, "name", r.measurement_type))
        origin = list(getattr(r, "origin_list_header", None) or [])
        map_shape = getattr(r, "map_shape", None)
        meta = {"title": r.title, "measurement_type": mtype, "username": r.username,
                "application": f"{r.application_name} "
                               + ".".join(str(v) for v in r.application_version),
                "accumulation_count": r.accumulation_count, "capacity": r.capacity,
                "count": r.count, "x_unit_stored": unit or "none"}
        count, capacity = int(r.count), int(r.capacity or r.count)
    except (AttributeError, TypeError, ValueError) as exc:
        # renishawWiRE leaves attributes unset when a block is missing
        raise ReadError(path, f"the .wdf lacks part of its data ({type(exc).__name__}: {exc}); "
                              "the file is truncated or damaged") from exc
    finally:
        r.close()
    if unit not in ("1/cm", "nm"):
        if x_unit is None:
            raise ReadError(path, f"the file stores no x unit (measurement type {mtype!r}, "
                                  f"laser {'unknown' if stored_laser is None else stored_laser}): "
                                  "refusing to guess whether x is a Raman shift or a wavelength; "
                                  "pass x_unit='1/cm' (or 'nm' with laser_wavelength=) if you "
                                  "know it")
        unit = x_unit
    laser = laser_wavelength if laser_wavelength is not None else stored_laser
    shift, conv = axis_to_shift(x, unit, laser, path,
                                source="given" if laser_wavelength is not None else "stored")
    if conv:
        meta["axis_conversion"] = conv
    acq = RamanAcquisition(laser_wavelength_nm=laser,
                           accumulations=int(r.accumulation_count or 0) or None)
    notes = []
    if count < capacity:
        notes.append(INCOMPLETE.warn(f"{path}: {count} of {capacity} planned spectra were "
                                     "recorded (aborted measurement)", stacklevel=2))
    src = SourceInfo(path=path, sha256=probe.sha256, format="wdf", columns={"axis": unit})
    if spectra.shape[0] == 1 and mtype.lower() == "single":
        ax, cols, repairs = repair_axis(shift, {"intensity": spectra[0]}, path=path,
                                        axis_name="Raman shift", descending_is_natural=True)
        return [Spectrum(ax, cols["intensity"], axis_kind="raman_shift", signal_label="intensity",
                         signal_unit="counts", acquisition=acq, metadata=meta, source=src,
                         warnings=tuple(notes + repairs))]
    axis, signals, repairs = order_stack_axis(shift, spectra, path)
    coords, units = {}, {}
    for entry in origin:
        dtype = str(getattr(entry[1], "name", entry[1]))
        if dtype in _COORD and entry[0] is not False:
            name, u = _COORD[dtype]
            vals = np.asarray(entry[4], dtype=float)[:signals.shape[0]]
            if vals.size == signals.shape[0] and (name != "time" or np.ptp(vals) > 0):
                coords[name], units[name] = vals, u
    shape = None
    if map_shape is not None and mtype.lower() == "mapping":
        nx, ny = (int(v) for v in map_shape)
        if nx * ny == signals.shape[0] and nx > 1 and ny > 1:
            shape = (ny, nx)
    return [SpectrumStack(axis, signals, axis_kind="raman_shift", signal_label="intensity",
                          signal_unit="counts", coordinates=coords, coordinate_units=units,
                          map_shape=shape, acquisition=acq, metadata=meta, source=src,
                          warnings=tuple(notes + repairs))]


def _sniff(probe) -> float:
    return 0.95 if probe.head[:4] == b"WDF1" else 0.0


FORMAT = FormatSpec(name="wdf", technique="raman",
                    description="Renishaw WiRE .wdf (renishawWiRE): single, series (time, depth) "
                                "and maps; x in nm converted with the stored laser",
                    sniff=_sniff, read=read_wdf, extensions=("wdf",),
                    options=("laser_wavelength", "x_unit"), aliases=("renishaw", "wire"))
