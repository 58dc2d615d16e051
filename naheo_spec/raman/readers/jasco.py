"""JASCO spectrometer text exports (Spectra Manager, JCAMP-like header).

A block of ``KEY<TAB>value`` lines (``TITLE``, ``DATA TYPE``, ``ORIGIN  JASCO``, ``XUNITS``,
``FIRSTX``, ``NPOINTS``...), the line ``XYDATA``, the rows, then optional ``[Comments]`` /
``[Measurement Information]`` sections of ``key<TAB>value`` lines (``Laser wavelength
490.20 nm``, ``Exposure 300 sec``, ``Accumulation 3``, ``Laser power 45.5 mW``,
``Objective lens``, ``Grating``). ``XUNITS NANOMETERS`` axes are converted to Raman shift
with the laser wavelength.
"""
from __future__ import annotations

import re

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import QualityWarning, ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.repair import repair_axis
from naheo_spec.model import RamanAcquisition, SourceInfo, Spectrum
from naheo_spec.raman.textparse import axis_to_shift, fix_decimal_commas, split_fields

__all__ = ["FORMAT", "read_jasco", "NPOINTS_MISMATCH"]

NPOINTS_MISMATCH = WarningCode(
    "raman.read.npoints_mismatch", QualityWarning,
    "The file's NPOINTS differs from the number of rows read: the file may be truncated.")


def _num(text):
    m = re.search(r"[-+]?\d+(\.\d+)?", text or "")
    return float(m.group(0)) if m else None


def read_jasco(probe, *, laser_wavelength=None) -> list[Spectrum]:
    """Read a JASCO text export.

    Raises
    ------
    ReadError
        No ``XYDATA`` line, no rows, non-numeric values, an nm axis without a laser.
    """
    path = probe.path
    lines = probe.text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip().upper() == "XYDATA")
    except StopIteration:
        raise ReadError(path, "JASCO header without an XYDATA line") from None
    fields: dict[str, str] = {}
    for ln in lines[:start]:
        k, _, v = ln.partition("\t")
        fields[k.strip().upper()] = v.strip()
    rows, end = [], start + 1
    for end in range(start + 1, len(lines)):
        s = lines[end].strip()
        if not s:
            continue
        if not (s[0].isdigit() or s[0] in "+-."):
            break
        rows.append(s)
    else:
        end = len(lines)
    info: dict[str, str] = {}
    for ln in lines[end:]:
        k, sep, v = ln.partition("\t")
        if sep and k.strip():
            info[k.strip().lower()] = v.strip()
    rows, comma = fix_decimal_commas(rows, path)
    table = [split_fields(r) for r in rows]
    if not table or {len(t) for t in table} != {2}:
        raise ReadError(path, "XYDATA block must hold two columns (x, intensity)", line=start + 2)
    try:
        data = np.array(table, dtype=float)
    except ValueError:
        raise ReadError(path, "a value in the XYDATA block is not a number") from None
    notes = [comma] if comma else []
    npts = _num(fields.get("NPOINTS"))
    if npts is not None and int(npts) != len(data):
        notes.append(NPOINTS_MISMATCH.warn(f"{path}: NPOINTS says {int(npts)}, {len(data)} rows "
                                           "read (truncated file?)", stacklevel=2))
    laser = laser_wavelength if laser_wavelength is not None else _num(info.get("laser wavelength"))
    xunit = fields.get("XUNITS", "1/CM").upper()
    unit = "nm" if xunit.startswith("NANOM") or xunit == "NM" else "1/cm"
    meta: dict = {k.lower(): v for k, v in fields.items()}
    meta.update(info)
    shift, conv = axis_to_shift(data[:, 0], unit, laser, path)
    if conv:
        meta["axis_conversion"] = conv
    x, cols, repairs = repair_axis(shift, {"intensity": data[:, 1]}, path=path,
                                   axis_name="Raman shift", descending_is_natural=True)
    acc = _num(info.get("accumulation"))
    acq = RamanAcquisition(laser_wavelength_nm=laser, exposure_s=_num(info.get("exposure")),
                           accumulations=None if acc is None else int(acc),
                           laser_power_mW=_num(info.get("laser power")),
                           grating=info.get("grating"), objective=info.get("objective lens"))
    return [Spectrum(x, cols["intensity"], axis_kind="raman_shift", signal_label="intensity",
                     acquisition=acq, metadata=meta, header="\n".join(lines[:start + 1]),
                     source=SourceInfo(path=path, sha256=probe.sha256, format="jasco",
                                       columns={"axis": "x", "signal": "y"}),
                     warnings=tuple(notes + repairs))]


def _sniff(probe) -> float:
    text = probe.head_text or ""
    head = text[:3000].upper()
    if "XYDATA" in head and re.search(r"^ORIGIN\s+JASCO", head, re.M):
        return 0.95
    if "XYDATA" in head and "XUNITS" in head and "DATA TYPE" in head:
        return 0.6
    return 0.0


FORMAT = FormatSpec(name="jasco", technique="raman",
                    description="JASCO Spectra Manager text: TITLE/DATA TYPE/ORIGIN header, "
                                "XYDATA rows, measurement information (laser, exposure)",
                    sniff=_sniff, read=read_jasco, extensions=("txt", "csv"),
                    options=("laser_wavelength",))
