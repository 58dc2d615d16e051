"""Two-column Raman text and CSV: any delimiter, decimal commas, Latin-1 headers, either order.

Claims x-y text whose header words say Raman (``cm-1``, ``Raman shift``, ``wavenumber``,
``laser``) or, without words, whose first column is a Raman-shift range (the neutral
``text-xy`` reader would take it too, with less confidence and a kind-guessed warning).
Descending exports (Renishaw ``#Wave #Intensity``, rampy's VG186 files) are stored
ascending without a warning. A first column in nm (``Wavelength (nm)``) is converted to
Raman shift with the laser wavelength from the header (``Laser ... 532 nm``) or
``laser_wavelength=``; without either the file is refused rather than guessed.
"""
from __future__ import annotations

import re

from naheo_spec.errors import ReadError
from naheo_spec.io.axis_hints import infer_axis_kind
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.repair import repair_axis
from naheo_spec.io.text import column_names, parse_block, parse_header_fields, peek_block
from naheo_spec.model import AxisKind, RamanAcquisition, SourceInfo, Spectrum
from naheo_spec.raman.textparse import axis_to_shift, fix_decimal_commas

__all__ = ["FORMAT", "read_raman_xy", "MAX_COLUMNS"]

#: More columns than this is a matrix (series or map), read by ``raman-matrix``/``labspec``.
MAX_COLUMNS = 12
_LASER = re.compile(r"(?:laser|excitation)[^\n\d]{0,40}?(\d{3,4}(?:\.\d+)?)\s*nm", re.I)


def _laser_from_header(header: str) -> float | None:
    m = _LASER.search(header or "")
    return float(m.group(1)) if m else None


def read_raman_xy(probe, *, laser_wavelength=None) -> list[Spectrum]:
    """Read a two-column Raman text/CSV file.

    Parameters
    ----------
    probe : Probe
        The file.
    laser_wavelength : float, optional
        Laser wavelength (nm) for an x axis in nm when the header does not give it.

    Returns
    -------
    list of Spectrum
        One spectrum (further columns become channels).

    Raises
    ------
    ReadError
        No numeric block, a single column, ragged rows (a wrong delimiter usually shows as
        one column or rows of unequal length), an ambiguous decimal comma, or an nm axis
        without a laser wavelength.
    """
    path = probe.path
    lines, comma = fix_decimal_commas(probe.text.splitlines(), path)
    block = parse_block(lines, path)
    ncols = block.data.shape[1]
    if ncols > MAX_COLUMNS:
        raise ReadError(path, f"{ncols} columns: a matrix layout, not x-y data")
    names = column_names(block.labels, ncols)
    header = "\n".join(block.header)
    guess = infer_axis_kind(block.data[:, 0], header=header, labels=block.labels)
    unit = "nm" if guess.kind is AxisKind.WAVELENGTH else "1/cm"
    laser = laser_wavelength if laser_wavelength is not None else _laser_from_header(header)
    meta = dict(parse_header_fields(block.header))
    shift, conv = axis_to_shift(block.data[:, 0], unit, laser, path)
    if conv:
        meta["axis_conversion"] = conv
    cols = {n: block.data[:, i] for i, n in enumerate(names) if i > 0}
    x, cols, repairs = repair_axis(shift, cols, path=path, axis_name="Raman shift",
                                   descending_is_natural=True)
    meta["column_labels"] = " ".join(names)
    signal = cols.pop(names[1])
    return [Spectrum(x, signal, axis_kind="raman_shift", signal_label="intensity", channels=cols,
                     acquisition=RamanAcquisition(laser_wavelength_nm=laser), metadata=meta,
                     header=header or None,
                     source=SourceInfo(path=path, sha256=probe.sha256, format="raman-xy",
                                       columns={"axis": names[0], "signal": names[1]}),
                     warnings=tuple(([comma] if comma else []) + repairs))]


def _sniff(probe) -> float:
    text = probe.head_text
    if not text:
        return 0.0
    lines = text.splitlines()[:400]
    try:
        lines, _ = fix_decimal_commas(lines, None)
    except ReadError:
        return 0.45     # claim it to refuse it clearly, not to be misread as integer columns
    peek = peek_block("\n".join(lines) + "\n")
    if peek is None or peek.ncols < 2 or peek.ncols > MAX_COLUMNS:
        return 0.0
    guess = infer_axis_kind(peek.x, header=peek.header, labels=peek.labels)
    if guess.kind is AxisKind.RAMAN_SHIFT:
        return 0.5 if guess.from_words else 0.35
    if guess.kind is AxisKind.WAVELENGTH and guess.from_words:
        return 0.45
    return 0.0


FORMAT = FormatSpec(name="raman-xy", technique="raman",
                    description="two-column Raman text/CSV (tab, comma, ';' or spaces; decimal "
                                "commas; Latin-1 headers; ascending or descending; x in cm-1, "
                                "or nm with the laser wavelength)",
                    sniff=_sniff, read=read_raman_xy, extensions=("txt", "csv", "dat"),
                    options=("laser_wavelength",), aliases=("raman-csv", "renishaw-txt"))
