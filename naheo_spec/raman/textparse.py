"""Pieces shared by the Raman text readers: decimal commas, matrix layouts, axis units.

- **Decimal commas.** European exports write ``12,5;3,4`` or ``12,5<TAB>3,4``. A comma is
  read as a decimal mark only when every data row has exactly one comma per value and
  another separator (``;``, tab, spaces) between values; a lone ``12,5,3,4`` is ambiguous
  and refused.
- **Matrix layouts.** Series and maps exported as text have the shifts in the first row
  after ``k`` empty leading fields and ``k`` coordinates at the start of every further row
  (LabSpec time series: ``k = 1``, time in s; maps: ``k = 2``, X and Y).
- **Axis units.** An axis in nm is turned into Raman shift with the laser wavelength (from
  the file or ``laser_wavelength=``); without one the reader refuses to guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord
from naheo_spec.errors import ReadError, RepairWarning
from naheo_spec.io.text import is_number
from naheo_spec.raman.units import check_laser, nm_to_shift

__all__ = ["Matrix", "DECIMAL_COMMA", "NONFINITE_POINTS", "AXIS_SORTED", "fix_decimal_commas",
           "parse_matrix", "split_fields", "order_stack_axis", "axis_to_shift", "data_lines",
           "is_matrix_header", "map_grid_shape"]

DECIMAL_COMMA = WarningCode("raman.read.decimal_comma", RepairWarning,
                            "Numbers were written with decimal commas; read as decimal points.")
NONFINITE_POINTS = WarningCode(
    "raman.read.nonfinite_points", RepairWarning,
    "Some spectra of a series or map hold NaN/inf points; they are kept as NaN and those "
    "spectra are screened by quality control.")
AXIS_SORTED = WarningCode("raman.read.axis_sorted", RepairWarning,
                          "The shift axis of a matrix file was out of order and was sorted.")

_SEP = re.compile(r"[\t;]| +")
_DEC_COMMA_TOKEN = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")


def data_lines(lines: list[str], comment: str = "#") -> tuple[list[str], list[str]]:
    """Split lines into (header lines starting with ``comment``, the rest), both in order;
    blank lines are dropped from the rest."""
    header = [ln for ln in lines if ln.startswith(comment)]
    rest = [ln for ln in lines if ln.strip() and not ln.startswith(comment)]
    return header, rest


def split_fields(line: str) -> list[str]:
    """Fields of a data row split on tabs, ``;``, commas or runs of spaces (leading empty
    fields kept: they mark the corner of a matrix)."""
    s = line.rstrip("\r\n")
    if "\t" in s:
        return [t.strip() for t in s.split("\t")]
    if ";" in s:
        return [t.strip() for t in s.split(";")]
    if "," in s:
        return [t.strip() for t in s.split(",")]
    return s.split()


def fix_decimal_commas(lines: list[str], path=None) -> tuple[list[str], WarningRecord | None]:
    """Rewrite decimal commas as points in the numeric rows of ``lines``.

    Parameters
    ----------
    lines : list of str
        File lines (headers are left alone).
    path : str, optional
        For messages.

    Returns
    -------
    lines : list of str
        The lines, numeric rows rewritten when they use decimal commas.
    record : WarningRecord or None
        ``raman.read.decimal_comma`` when a rewrite was made.

    Raises
    ------
    ReadError
        Rows whose only separator is the comma and that hold more commas than a two-column
        CSV can (``12,5,3,4``): decimal commas and comma separators cannot be told apart.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     out, rec = fix_decimal_commas(["x;y", "100,5;12,25", "101,5;13,0"])
    >>> out[1], rec.code
    ('100.5;12.25', 'raman.read.decimal_comma')
    >>> fix_decimal_commas(["100.5,12.25"])[1] is None
    True
    """
    rows = [i for i, ln in enumerate(lines)
            if ln.strip() and (ln.strip()[0].isdigit() or ln.strip()[0] in "+-.")]
    if not rows or not any("," in lines[i] for i in rows):
        return lines, None
    sample = [lines[i].strip() for i in rows[:50]]
    uses_other_sep = all(re.search(r"[\t;]|\d +[+-]?\d", s) for s in sample)
    if uses_other_sep:
        toks = [t for s in sample for t in _SEP.split(s) if t]
        if toks and all(_DEC_COMMA_TOKEN.match(t) or (is_number(t) and "," not in t) for t in toks) \
                and any("," in t for t in toks):
            out = list(lines)
            for i in rows:
                out[i] = lines[i].replace(",", ".")
            return out, DECIMAL_COMMA.warn(f"{path}: numbers use decimal commas; read as points",
                                           stacklevel=3)
        return lines, None
    ncomma = {s.count(",") for s in sample}
    if len(ncomma) == 1 and min(ncomma) >= 2 and all(
            re.fullmatch(r"[+-]?\d+", t.strip()) for s in sample for t in s.split(",")):
        # "12,5,3,4": four integer columns, or two numbers with decimal commas? Refuse.
        raise ReadError(path, f"rows like {sample[0]!r} use the comma both as decimal mark and "
                              "as separator (ambiguous); re-export with ';' or a tab between "
                              "columns", line=rows[0] + 1)
    return lines, None


def is_matrix_header(line: str) -> bool:
    """True for the first row of a matrix layout: empty leading field(s), then numbers."""
    f = split_fields(line)
    if len(f) < 4 or f[0] != "":
        return False
    vals = [t for t in f if t]
    return len(vals) >= 3 and all(is_number(t) for t in vals[:20])


@dataclass(frozen=True)
class Matrix:
    """A matrix layout as read.

    Attributes
    ----------
    axis : ndarray (M,)
        The shift row, in file order.
    coords : ndarray (N, k)
        The leading coordinate columns of each row.
    signals : ndarray (N, M)
        Intensities.
    n_coords : int
        ``k``: number of leading coordinate columns.
    """

    axis: np.ndarray
    coords: np.ndarray
    signals: np.ndarray
    n_coords: int


def parse_matrix(rows: list[str], path=None, *, first_line: int = 1) -> Matrix:
    """Parse a matrix layout (first row: ``k`` empty fields then shifts; further rows:
    ``k`` coordinates then intensities).

    Parameters
    ----------
    rows : list of str
        The data rows, the shift row first.
    path : str, optional
        For messages.
    first_line : int
        1-based line number of ``rows[0]`` in the file (for messages).

    Raises
    ------
    ReadError
        Fewer than one spectrum row, rows of the wrong length (a truncated file) or values
        that are not numbers, with the line number.

    Examples
    --------
    >>> m = parse_matrix(["\\t100\\t101\\t102", "0\\t5\\t6\\t7", "60\\t8\\t9\\t10"])
    >>> m.n_coords, m.coords[:, 0].tolist(), m.signals.shape
    (1, [0.0, 60.0], (2, 3))
    """
    head = split_fields(rows[0])
    k = 0
    while k < len(head) and head[k] == "":
        k += 1
    shifts = [t for t in head[k:]]
    while shifts and shifts[-1] == "":
        shifts.pop()
    m = len(shifts)
    try:
        axis = np.array(shifts, dtype=float)
    except ValueError:
        bad = next(t for t in shifts if not is_number(t))
        raise ReadError(path, f"shift row holds {bad!r}, not a number", line=first_line) from None
    if len(rows) < 2:
        raise ReadError(path, "matrix layout with a shift row but no spectra", line=first_line)
    width = k + m
    flat: list[str] = []
    for j, line in enumerate(rows[1:], start=1):
        f = split_fields(line)
        while len(f) > width and f[-1] == "":
            f.pop()
        if len(f) != width:
            raise ReadError(path, f"row has {len(f)} values, expected {width} ({k} coordinate(s) "
                                  f"+ {m} intensities as in the shift row): the file is truncated "
                                  "or damaged", line=first_line + j)
        flat.extend(f)
    try:
        data = np.array(flat, dtype=float).reshape(len(rows) - 1, width)
    except ValueError:
        for j, line in enumerate(rows[1:], start=1):
            for c, t in enumerate(split_fields(line)[:width]):
                if not is_number(t):
                    raise ReadError(path, f"value {t!r} is not a number", line=first_line + j,
                                    column=c + 1) from None
        raise
    return Matrix(axis, data[:, :k], data[:, k:], k)


def order_stack_axis(axis, signals, path=None) -> tuple[np.ndarray, np.ndarray, list[WarningRecord]]:
    """Ascending axis and matching columns of ``signals`` (descending is natural, not
    reported); non-finite shifts dropped; NaN intensities kept and reported.

    Raises
    ------
    ReadError
        Fewer than 5 finite shifts or repeated shift values.
    """
    axis = np.asarray(axis, dtype=float)
    signals = np.asarray(signals, dtype=float)
    notes: list[WarningRecord] = []
    keep = np.isfinite(axis)
    if keep.sum() < 5:
        raise ReadError(path, f"only {int(keep.sum())} finite shift values (need at least 5)")
    axis, signals = axis[keep], signals[:, keep]
    d = np.diff(axis)
    if np.all(d < 0):
        axis, signals = axis[::-1], signals[:, ::-1]
    elif np.any(d <= 0):
        order = np.argsort(axis, kind="stable")
        axis, signals = axis[order], signals[:, order]
        if np.any(np.diff(axis) == 0):
            raise ReadError(path, "the shift row repeats values; cannot tell the spectra's points "
                                  "apart")
        notes.append(AXIS_SORTED.warn(f"{path}: shift row out of order; sorted", stacklevel=3))
    bad_rows = np.flatnonzero(~np.isfinite(signals).all(axis=1))
    if bad_rows.size:
        notes.append(NONFINITE_POINTS.warn(
            f"{path}: {bad_rows.size} spectra hold NaN/inf points (kept as NaN; screened by QC)",
            stacklevel=3, rows=bad_rows.size))
    return axis, signals, notes


def axis_to_shift(x, unit: str, laser_nm, path=None, *, source: str = "file"
                  ) -> tuple[np.ndarray, str | None]:
    """The Raman-shift axis for ``x`` in ``unit`` (``"1/cm"`` or ``"nm"``).

    Returns the shifts and a note when a conversion was made.

    Raises
    ------
    ReadError
        ``unit`` is nm and no laser wavelength is known (the reader refuses to guess), or the
        unit is neither cm-1 nor nm.
    """
    unit = (unit or "").strip()
    if unit in ("1/cm", "cm-1"):
        return np.asarray(x, dtype=float), None
    if unit == "nm":
        if laser_nm is None:
            raise ReadError(path, "the x axis is a wavelength (nm) and the file gives no laser "
                                  "wavelength: refusing to guess the Raman shift; pass "
                                  "laser_wavelength= (nm)")
        lam = check_laser(laser_nm, where=f"{path}: ")
        return nm_to_shift(x, lam), (f"x converted from nm to Raman shift with the {source} "
                                     f"laser wavelength {lam:g} nm")
    raise ReadError(path, f"the x axis unit {unit!r} is neither cm-1 nor nm; cannot read it as "
                          "a Raman shift")


def map_grid_shape(coordinates) -> tuple[int, int] | None:
    """Shape the rows of a map reshape to, when its ``x``/``y`` coordinates form a full grid.

    A full grid: ``n_x * n_y`` rows, every (x, y) pair present once, in raster order -- one
    coordinate constant over runs of the other's full set of values. Returns
    ``(n_slow, n_fast)``: ``(ny, nx)`` when x varies fastest (row-major raster), ``(nx, ny)``
    when y does (RamanLab exports scan columns). None for anything else (a line, a series,
    a missing or irregular position).

    Examples
    --------
    >>> import numpy as np
    >>> x, y = np.repeat([0.0, 1.0, 2.0], 4), np.tile([5.0, 6.0, 7.0, 8.0], 3)
    >>> map_grid_shape({"x": x, "y": y}), map_grid_shape({"x": y, "y": x})
    ((3, 4), (3, 4))
    >>> map_grid_shape({"x": x[:-1], "y": y[:-1]}) is None
    True
    """
    import numpy as np

    if "x" not in coordinates or "y" not in coordinates:
        return None
    try:
        x = np.asarray(coordinates["x"], dtype=float)
        y = np.asarray(coordinates["y"], dtype=float)
    except (TypeError, ValueError):
        return None
    if x.size != y.size or x.size < 4 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    ux, uy = np.unique(x), np.unique(y)
    if ux.size < 2 or uy.size < 2 or ux.size * uy.size != x.size:
        return None
    for slow, fast, n_slow, n_fast in ((y, x, uy.size, ux.size), (x, y, ux.size, uy.size)):
        s2, f2 = slow.reshape(n_slow, n_fast), fast.reshape(n_slow, n_fast)
        if (s2 == s2[:, :1]).all() and (f2 == f2[:1, :]).all() \
                and np.unique(s2[:, 0]).size == n_slow and np.unique(f2[0]).size == n_fast:
            return (n_slow, n_fast)
    return None
