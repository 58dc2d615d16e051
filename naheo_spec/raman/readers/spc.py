"""Thermo Galactic ``.spc`` files through spc-io (MIT).

Raman files have x type ``XRAMANS`` (cm-1); ``XNMETR`` (nm) is converted with the laser
wavelength (from the log book, e.g. Renishaw's ``Laser: 785 nm edge``, or
``laser_wavelength=``). Files with several sub-files become a stack (``z`` as coordinate
when stored).

An SPC file without the XY flag stores only the first and last x: the axis is evenly
spaced. Spectrometers do not disperse evenly in wavenumber, so the exporting software
resamples the spectrum onto that grid. For the calcite file of the shared data, WiRE's
``.spc`` equals its ``.wdf`` linearly interpolated onto the even grid (largest difference
1.1 counts on a 87 000-count band, float32 rounding), while the point positions differ from
the detector's by up to 38 cm-1 mid-range: compare spectra from the two files on the shift
axis, never point by point. ``metadata["evenly_spaced_axis"]`` says which case applies.

References
----------
Thermo Galactic, "GRAMS SPC file format" (SPC.H, 1996); spc-io,
https://pypi.org/project/spc-io/ (MIT).
"""
from __future__ import annotations

import contextlib
import io
import logging
import re

import numpy as np

from naheo_spec.errors import ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.repair import repair_axis
from naheo_spec.model import RamanAcquisition, SourceInfo, Spectrum, SpectrumStack
from naheo_spec.raman.textparse import axis_to_shift, order_stack_axis

__all__ = ["FORMAT", "read_spc"]

_UNITS = {"XRAMANS": "1/cm", "XWAVEN": "1/cm", "XNMETR": "nm"}


def _parse(path, data: bytes):
    try:
        import spc_io
    except ImportError as exc:  # pragma: no cover
        raise ReadError(path, "reading .spc needs the spc-io package (pip install spc-io)") from exc
    log = logging.getLogger("spc_io")
    level = log.level
    log.setLevel(logging.ERROR)       # it logs trailing bytes and odd dates as warnings
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return spc_io.SPC.from_bytes_io(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - the library raises many kinds
        raise ReadError(path, f"spc-io cannot read this .spc ({type(exc).__name__}: {exc}); "
                              "the file may be truncated") from exc
    finally:
        log.setLevel(level)


def read_spc(probe, *, laser_wavelength=None) -> list:
    """Read a Galactic ``.spc`` file (see module doc).

    Raises
    ------
    ReadError
        Unreadable file, an x type that is neither cm-1 nor nm, nm without a laser.
    """
    path = probe.path
    data = probe.data
    spc = _parse(path, data)
    xtype = str(getattr(spc.xtype, "name", spc.xtype))
    if xtype not in _UNITS:
        raise ReadError(path, f"x type {xtype!r} is not a Raman shift or a wavelength")
    try:
        book = dict(spc.log_book.text or {})
    except Exception:  # noqa: BLE001 - a broken log book only loses metadata
        book = {}
    laser = laser_wavelength
    if laser is None:
        m = re.search(r"(\d{3,4}(\.\d+)?)\s*nm", str(book.get("Laser", "")))
        laser = float(m.group(1)) if m else None
    subs = [spc[i] for i in range(len(spc))]
    xy_flag = bool(data[0] & 0x80) or any(s._xarray is not None for s in subs)
    notes = []
    meta = {k: str(v) for k, v in book.items()}
    meta.update(x_type=xtype, y_type=str(getattr(spc.ytype, "name", spc.ytype)))
    meta["evenly_spaced_axis"] = not xy_flag
    acq = RamanAcquisition(laser_wavelength_nm=laser)
    src = SourceInfo(path=path, sha256=probe.sha256, format="spc", columns={"axis": xtype})
    if len(subs) == 1:
        x, conv = axis_to_shift(np.asarray(subs[0].xarray, float), _UNITS[xtype], laser, path)
        if conv:
            meta["axis_conversion"] = conv
        ax, cols, repairs = repair_axis(x, {"intensity": np.asarray(subs[0].yarray, float)},
                                        path=path, axis_name="Raman shift",
                                        descending_is_natural=True)
        return [Spectrum(ax, cols["intensity"], axis_kind="raman_shift",
                         signal_label="intensity", acquisition=acq, metadata=meta, source=src,
                         warnings=tuple(notes + repairs))]
    x0 = np.asarray(subs[0].xarray, float)
    if any(len(s.xarray) != x0.size or not np.allclose(s.xarray, x0) for s in subs):
        raise ReadError(path, "sub-files have different x axes; cannot stack them")
    x, conv = axis_to_shift(x0, _UNITS[xtype], laser, path)
    if conv:
        meta["axis_conversion"] = conv
    axis, signals, repairs = order_stack_axis(x, np.vstack([s.yarray for s in subs]), path)
    z = np.array([np.nan if s.z is None else float(s.z) for s in subs])
    coords = {"z": z} if np.isfinite(z).all() and np.ptp(z) > 0 else {}
    return [SpectrumStack(axis, signals, axis_kind="raman_shift", signal_label="intensity",
                          coordinates=coords, acquisition=acq, metadata=meta, source=src,
                          warnings=tuple(notes + repairs))]


def _sniff(probe) -> float:
    head = probe.head
    if len(head) < 512 or head[1] not in (0x4B, 0x4C):
        return 0.0
    return 0.9 if probe.extension == "spc" else 0.5


FORMAT = FormatSpec(name="spc", technique="raman",
                    description="Thermo Galactic .spc (spc-io): Raman-shift or nm x axis, one "
                                "or several sub-files",
                    sniff=_sniff, read=read_spc, extensions=("spc",),
                    options=("laser_wavelength",), aliases=("galactic", "grams"))
