"""Horiba LabSpec text exports: single spectra and the matrix layout of series and maps.

LabSpec writes a header of ``#key=<TAB>value`` lines in Latin-1 (``°``, ``µ``, ``cm-¹``)
followed by either

- two columns (shift, intensity) -- one spectrum; or
- a matrix: a first row of shifts after ``k`` empty fields, then one row per spectrum with
  ``k`` leading coordinates. ``k = 1`` is a series: column 0 is the time in s for a
  time series, or the point index when the header says ``#AxisType[2]=Points``; ``k = 2``
  is a map (X, Y in µm).

Header fields mapped to :class:`~naheo_spec.model.RamanAcquisition`: laser (``#Laser=
532nm_Edge`` or ``#Laser (nm)= 532``), ``#Acq. time (s)``, ``#Accumulations``, ``#Grating``,
``#Objective``, ``#ND Filter``. Processing LabSpec already applied is recorded in
``vendor_processing``: ``#Base:Fit Sub`` (or any ``#Base...`` line) -> ``"baseline
subtracted"``, a ``#Spike filter`` other than Off -> ``"spike filter: <value>"``,
``#DeNoise`` other than Off -> ``"denoise: <value>"``. Pipelines do not repeat them.

References
----------
Horiba Scientific, LabSpec 6 user manual (text export, "Base:Fit Sub" processing history).
"""
from __future__ import annotations

import re

import numpy as np

from naheo_spec.diagnostics import StackWarningsBuilder
from naheo_spec.errors import ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.repair import repair_axis
from naheo_spec.model import RamanAcquisition, SourceInfo, Spectrum, SpectrumStack
from naheo_spec.raman.textparse import (
    axis_to_shift,
    data_lines,
    fix_decimal_commas,
    is_matrix_header,
    map_grid_shape,
    order_stack_axis,
    parse_matrix,
    split_fields,
)

__all__ = ["FORMAT", "read_labspec", "parse_labspec_header", "labspec_acquisition"]

_KEY = re.compile(r"^#([^=]+?)\s*=\s*(.*)$")
_LABSPEC_KEYS = ("acq. time", "accumulations", "spike filter", "instrument", "spectro (cm",
                 "laser", "objective", "grating", "axistype", "acquired", "detector")


def parse_labspec_header(lines: list[str]) -> dict[str, str]:
    """``#key=<TAB>value`` lines as a dict (keys as written, values stripped).

    Examples
    --------
    >>> parse_labspec_header(["#Acq. time (s)=\\t60", "#Laser=\\t532nm_Edge"])
    {'Acq. time (s)': '60', 'Laser': '532nm_Edge'}
    """
    out: dict[str, str] = {}
    for ln in lines:
        m = _KEY.match(ln.strip())
        if m:
            out.setdefault(m.group(1).strip(), m.group(2).strip())
    return out


def _number(text: str | None) -> float | None:
    if not text:
        return None
    m = re.search(r"[-+]?\d+(\.\d+)?", text)
    return float(m.group(0)) if m else None


def labspec_acquisition(fields: dict[str, str]) -> RamanAcquisition:
    """Typed acquisition settings from LabSpec header fields (None where not given).

    Examples
    --------
    >>> acq = labspec_acquisition({"Laser": "532nm_Edge", "Base:Fit Sub": "17.05.2023"})
    >>> acq.laser_wavelength_nm, acq.vendor_processing
    (532.0, ('baseline subtracted',))
    """
    low = {k.lower(): v for k, v in fields.items()}
    laser = None
    for key in ("laser (nm)", "laser", "laser wavelength", "laser wavelength (nm)"):
        if key in low:
            laser = _number(low[key])
            break
    processing = []
    if any(k.startswith("base") for k in low):
        processing.append("baseline subtracted")
    spike = low.get("spike filter")
    if spike and spike.lower() != "off":
        processing.append(f"spike filter: {spike}")
    denoise = low.get("denoise")
    if denoise and denoise.lower() != "off":
        processing.append(f"denoise: {denoise}")
    acc = _number(low.get("accumulations"))
    return RamanAcquisition(
        laser_wavelength_nm=laser, exposure_s=_number(low.get("acq. time (s)")),
        accumulations=None if acc is None else int(acc),
        grating=low.get("grating") or None, objective=low.get("objective") or None,
        vendor_processing=tuple(processing))


def _axis_unit(fields: dict[str, str]) -> str:
    """The unit of the spectral axis from ``#AxisType[n]=Spectr`` / ``#AxisUnit[n]``."""
    types = {k: v for k, v in fields.items() if k.lower().startswith("axistype")}
    for k, v in types.items():
        if v.lower().startswith("spectr"):
            unit = fields.get(k.replace("AxisType", "AxisUnit"), "1/cm").strip()
            return "nm" if unit.lower() == "nm" else "1/cm"
    return "1/cm"


def _coordinate_names(fields: dict[str, str], k: int) -> tuple[list[str], list[str], str]:
    if k == 2:
        return ["x", "y"], ["um", "um"], "map: X and Y (um) in the first two columns"
    types = [v.lower() for key, v in fields.items() if key.lower().startswith("axistype")]
    if any(t.startswith("points") for t in types):
        return ["index"], [""], "series: column 0 is the point index (#AxisType Points)"
    if any(t.startswith("time") for t in types) or not types:
        return ["time"], ["s"], "series: column 0 is the time in s (LabSpec time series)"
    other = next((t for t in types if not t.startswith(("intens", "spectr"))), "coordinate")
    return [re.sub(r"\W+", "_", other).strip("_") or "coordinate"], [""], f"series of {other}"


def read_labspec(probe, *, laser_wavelength=None) -> list:
    """Read a LabSpec text export (single spectrum or matrix series/map).

    Parameters
    ----------
    probe : Probe
        The file.
    laser_wavelength : float, optional
        Laser wavelength (nm) when the axis is in nm and the header does not give it.

    Returns
    -------
    list of Spectrum or SpectrumStack
        One block.

    Raises
    ------
    ReadError
        No data, truncated rows, an nm axis without a laser wavelength.
    """
    path = probe.path
    lines = probe.text.splitlines()
    header, rows = data_lines(lines)
    rows, comma = fix_decimal_commas(rows, path)
    fields = parse_labspec_header(header)
    acq = labspec_acquisition(fields)
    meta = dict(fields)
    if not rows:
        raise ReadError(path, f"header only: {len(header)} '#' line(s) and no data rows")
    unit = _axis_unit(fields)
    laser = laser_wavelength if laser_wavelength is not None else acq.laser_wavelength_nm
    notes = [comma] if comma else []
    source = dict(path=path, sha256=probe.sha256, format="labspec")
    first_line = lines.index(rows[0]) + 1 if rows[0] in lines else None
    if is_matrix_header(rows[0]):
        mat = parse_matrix(rows, path, first_line=first_line or 1)
        shift, conv = axis_to_shift(mat.axis, unit, laser, path)
        if conv:
            meta["axis_conversion"] = conv
        axis, signals, repairs = order_stack_axis(shift, mat.signals, path)
        names, units, why = _coordinate_names(fields, mat.n_coords)
        coords = {n: mat.coords[:, j] for j, n in enumerate(names)}
        meta["coordinate_reason"] = why
        rw = StackWarningsBuilder(signals.shape[0])
        return [SpectrumStack(axis, signals, axis_kind="raman_shift", signal_label="intensity",
                              coordinates=coords,
                              coordinate_units={n: u for n, u in zip(names, units)},
                              map_shape=map_grid_shape(coords),
                              row_warnings=rw.build(), acquisition=acq, metadata=meta,
                              header="\n".join(header) or None,
                              source=SourceInfo(**source, columns={"coordinates": ",".join(names)}),
                              warnings=tuple(notes + repairs))]
    table = [split_fields(r) for r in rows]
    widths = {len(t) for t in table}
    if widths != {2}:
        bad = next(i for i, t in enumerate(table) if len(t) != 2)
        raise ReadError(path, f"expected two columns (shift, intensity), found {len(table[bad])} "
                              "values", line=(first_line or 1) + bad)
    try:
        data = np.array(table, dtype=float)
    except ValueError:
        for i, t in enumerate(table):
            for c, v in enumerate(t):
                try:
                    float(v)
                except ValueError:
                    raise ReadError(path, f"value {v!r} is not a number",
                                    line=(first_line or 1) + i, column=c + 1) from None
        raise
    shift, conv = axis_to_shift(data[:, 0], unit, laser, path)
    if conv:
        meta["axis_conversion"] = conv
    x, cols, repairs = repair_axis(shift, {"intensity": data[:, 1]}, path=path,
                                   axis_name="Raman shift", descending_is_natural=True)
    return [Spectrum(x, cols["intensity"], axis_kind="raman_shift", signal_label="intensity",
                     acquisition=acq, metadata=meta, header="\n".join(header) or None,
                     source=SourceInfo(**source, columns={"axis": "col1", "signal": "col2"}),
                     warnings=tuple(notes + repairs))]


def _sniff(probe) -> float:
    text = probe.head_text
    if not text:
        return 0.0
    keys = [m.group(1).strip().lower() for m in
            (_KEY.match(ln.strip()) for ln in text.splitlines()[:120]) if m]
    hits = sum(any(k.startswith(p) for p in _LABSPEC_KEYS) for k in keys)
    if hits >= 3:
        return 0.9
    return 0.0


FORMAT = FormatSpec(name="labspec", technique="raman",
                    description="Horiba LabSpec text export: '#key=value' header (laser, "
                                "exposure, vendor processing such as #Base:Fit Sub), single "
                                "spectra or matrix series/maps with time or X/Y coordinates",
                    sniff=_sniff, read=read_labspec, extensions=("txt",),
                    options=("laser_wavelength",), aliases=("horiba", "labspec-txt"))
