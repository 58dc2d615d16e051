"""Coordinates from outside the spectrum file: potentiostat logs and file names.

In-situ users have a potentiostat log; air-exposure series have their exposure time in a
table or in the file names. :func:`read_coordinates` reads a CSV (``,``, ``;`` or tab;
a header row of column names, units in the names: ``time_s``, ``potential (V)``,
``Ewe/V``, ``soc``); :func:`join_coordinates` attaches its columns to a
:class:`~naheo_spec.model.SpectrumStack` either

- ``by="index"``: row ``i`` of the table (or the row whose ``index``/``spectrum`` column is
  ``i``) goes to spectrum ``i``; the table must cover every spectrum, else an error names
  the file and both counts;
- ``by="time"``: each spectrum takes the table row whose ``time`` is nearest to its own
  ``time`` coordinate, within ``tolerance`` seconds (default: half the median spacing of
  the spectra's times). Spectra without a row that close get NaN and the coded warning
  ``raman.coordinates.unmatched``; if no spectrum matches the join is refused. Both clocks
  are taken as seconds from their first row unless ``time_offset`` (s, added to the
  table's times; CLI ``--time-offset``) is given; ISO 8601 timestamps are converted to
  seconds from the first row (a timestamp without a zone at face value, whatever the
  reading machine's time zone; one with a zone exactly).

:func:`coordinates_from_names` reads ``KEY_value`` pairs (``X_20013__Y_-20055__Time_288``)
and exposure durations (``48h``, ``7d``, ``30min``) from file names.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from pathlib import Path

import numpy as np

from naheo_spec.diagnostics import StackWarningsBuilder, WarningCode
from naheo_spec.errors import InputError, QualityWarning, ReadError

__all__ = ["CoordinateTable", "read_coordinates", "join_coordinates", "coordinates_from_names",
           "UNMATCHED"]

UNMATCHED = WarningCode("raman.coordinates.unmatched", QualityWarning,
                        "No row of the coordinates file is within the time tolerance of this "
                        "spectrum; its coordinates are NaN.")

_UNIT = re.compile(r"^(?P<name>.*?)\s*(?:\((?P<u1>[^)]*)\)|\[(?P<u2>[^\]]*)\]|/(?P<u3>[^/]+))\s*$")
_SUFFIX_UNITS = {"_s": "s", "_min": "min", "_h": "h", "_v": "V", "_mv": "mV", "_ma": "mA",
                 "_um": "um"}
_NAMES = {"ewe": "potential", "e": "potential", "voltage": "potential", "u": "potential",
          "t": "time", "time": "time", "soc": "state_of_charge", "x": "x", "y": "y", "z": "z",
          "exposure": "exposure_time"}


class CoordinateTable(dict):
    """Columns of a coordinates file (name -> ndarray), with ``units`` and ``path``."""

    def __init__(self, columns, units, path):
        super().__init__(columns)
        self.units = dict(units)
        self.path = str(path)

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.values()))) if self else 0


def _clean(label: str) -> tuple[str, str]:
    s = label.strip().strip("\ufeff")
    unit = ""
    m = _UNIT.match(s)
    if m and (m.group("u1") or m.group("u2") or m.group("u3")):
        s, unit = m.group("name"), (m.group("u1") or m.group("u2") or m.group("u3")).strip()
    key = re.sub(r"[^A-Za-z0-9_]+", "_", s).strip("_").lower() or "column"
    for suf, u in _SUFFIX_UNITS.items():
        if key.endswith(suf) and len(key) > len(suf) and not unit:
            key, unit = key[: -len(suf)], u
            break
    key = _NAMES.get(key, key)
    return key, unit


def _to_seconds(values: list[str]) -> np.ndarray | None:
    """ISO 8601 timestamps as seconds (None when one is not a timestamp).

    A timestamp without a zone is taken at face value, as if in UTC: the result does not
    depend on the time zone of the machine that reads the log (``datetime.timestamp`` would
    use the local zone and add or drop an hour across a daylight-saving change).
    Timestamps with a zone (``+02:00``, ``Z``) are converted exactly.
    """
    out = []
    for v in values:
        try:
            t = _dt.datetime.fromisoformat(v.strip())
        except ValueError:
            return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        out.append(t.timestamp())
    return np.asarray(out, dtype=float)


def read_coordinates(path) -> CoordinateTable:
    """Read a coordinates CSV (see module doc).

    Returns
    -------
    CoordinateTable
        Numeric columns as float arrays (time in s; ISO timestamps converted to seconds),
        other columns as strings.

    Raises
    ------
    ReadError
        Missing or empty file, no header, rows of unequal length (with the line).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "log.csv")
    >>> _ = open(p, "w").write("time (s);Ewe/V\\n0;2.0\\n60;2.1\\n")
    >>> t = read_coordinates(p)
    >>> sorted(t), t.units["potential"], t["time"].tolist()
    (['potential', 'time'], 'V', [0.0, 60.0])
    """
    p = Path(path)
    if not p.is_file():
        raise ReadError(path, "coordinates file not found")
    text = p.read_text(encoding="utf-8", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        raise ReadError(path, "coordinates file needs a header row and at least one data row")
    # the separator the header and the first row share (one column when none)
    delim = next((d for d in ("\t", ";", ",") if d in lines[0] and d in lines[1]), ",")
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    header, body = rows[0], rows[1:]
    for k, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise ReadError(path, f"row has {len(r)} fields, the header has {len(header)}",
                            line=k)
    cols, units = {}, {}
    for j, label in enumerate(header):
        key, unit = _clean(label)
        vals = [r[j] for r in body]
        try:
            arr = np.array([float(v.replace(",", ".")) if v.strip() else np.nan for v in vals])
        except ValueError:
            secs = _to_seconds(vals) if key in ("time", "timestamp", "date", "datetime") else None
            if secs is not None:
                key, unit, arr = "time", "s", secs - secs[0]
            else:
                arr = np.array(vals, dtype=str)
        if key == "time" and unit in ("min", "h"):
            arr = arr * (60.0 if unit == "min" else 3600.0)
            unit = "s"
        if key in cols:
            key = f"{key}_{j}"
        cols[key], units[key] = arr, unit
    return CoordinateTable(cols, units, path)


def join_coordinates(stack, table: "CoordinateTable | str | Path", *, by: str = "auto",
                     tolerance: float | None = None, time_offset: float = 0.0):
    """A copy of ``stack`` with the table's columns as coordinates (see module doc).

    Parameters
    ----------
    stack : SpectrumStack
    table : CoordinateTable or path
    by : {"auto", "index", "time"}
        ``"auto"``: ``"time"`` when both the stack and the table have a time, else
        ``"index"``. Default ``"auto"``.
    tolerance : float, optional
        Largest time difference (s) for a match. Default: half the median spacing of the
        stack's times.
    time_offset : float
        Added to the table's times before matching (s): the spectrum clock's reading at
        the table's first row, when both count from their own start. Default 0.

    Raises
    ------
    InputError
        Table and stack that do not match: by index with a different number of rows, by
        time without times on either side, or no spectrum within the tolerance.
    """
    if not isinstance(table, CoordinateTable):
        table = read_coordinates(table)
    n = len(stack)
    where = f"coordinates file {table.path}"
    if by == "auto":
        by = "time" if ("time" in table and "time" in stack.coordinates) else "index"
    numeric = {k: v for k, v in table.items() if np.asarray(v).dtype.kind == "f"}
    new_coords = dict(stack.coordinates)
    units = dict(stack.coordinate_units)
    builder = StackWarningsBuilder(n)
    if by == "index":
        if "index" in table or "spectrum" in table:
            key = "index" if "index" in table else "spectrum"
            idx = np.asarray(table[key], dtype=float)
            if np.any(~np.isfinite(idx)) or np.any(idx != np.round(idx)) or idx.min() < 0 \
                    or idx.max() >= n:
                raise InputError(f"{where}: column {key!r} must hold spectrum indices 0..{n - 1}",
                                 parameter="coordinates")
            pos = np.full(n, -1)
            pos[idx.astype(int)] = np.arange(idx.size)
            missing = np.flatnonzero(pos < 0)
            if missing.size:
                raise InputError(f"{where}: no row for spectra {missing[:10].tolist()} "
                                 f"({missing.size} of {n})", parameter="coordinates")
        else:
            if table.n_rows != n:
                raise InputError(f"{where} has {table.n_rows} rows but {stack.name} holds {n} "
                                 "spectra: joining by index needs one row per spectrum (or an "
                                 "'index' column, or by='time')", parameter="coordinates")
            pos = np.arange(n)
        for k, v in table.items():
            if k in ("index", "spectrum"):
                continue
            new_coords[k] = np.asarray(v)[pos]
            if table.units.get(k):
                units[k] = table.units[k]
    elif by == "time":
        if "time" not in stack.coordinates:
            raise InputError(f"{where}: by='time' needs a time coordinate on {stack.name} "
                             "(it has: " + (", ".join(stack.coordinates) or "none") + ")",
                             parameter="coordinates")
        if "time" not in numeric:
            raise InputError(f"{where}: by='time' needs a numeric 'time' column",
                             parameter="coordinates")
        st = np.asarray(stack.coordinates["time"], dtype=float)
        tt = np.asarray(table["time"], dtype=float) + time_offset
        if tolerance is None:
            d = np.diff(np.sort(st))
            tolerance = 0.5 * float(np.median(d[d > 0])) if np.any(d > 0) else np.inf
        order = np.argsort(tt)
        tt_sorted = tt[order]
        k = np.clip(np.searchsorted(tt_sorted, st), 1, max(tt.size - 1, 1))
        left, right = tt_sorted[k - 1], tt_sorted[np.minimum(k, tt.size - 1)]
        pick = np.where(np.abs(st - left) <= np.abs(right - st), k - 1, np.minimum(k, tt.size - 1))
        dist = np.abs(tt_sorted[pick] - st)
        ok = dist <= tolerance
        if not ok.any():
            raise InputError(f"{where}: no spectrum of {stack.name} is within {tolerance:g} s of a "
                             f"row (spectra {st.min():g}..{st.max():g} s, table "
                             f"{tt.min():g}..{tt.max():g} s); check the clocks or pass "
                             "time_offset/tolerance", parameter="coordinates")
        rows = order[pick]
        for key, v in numeric.items():
            if key == "time":
                continue
            vals = np.asarray(v, dtype=float)[rows]
            new_coords[key] = np.where(ok, vals, np.nan)
            if table.units.get(key):
                units[key] = table.units[key]
        new_coords["time_match_s"] = np.where(ok, dist, np.nan)
        units["time_match_s"] = "s"
        builder.add(UNMATCHED, np.flatnonzero(~ok),
                    f"no row of {Path(table.path).name} within {tolerance:g} s")
        if (~ok).any():
            UNMATCHED.warn(f"{where}: {int((~ok).sum())} of {n} spectra have no row within "
                           f"{tolerance:g} s (coordinates NaN)", stacklevel=2)
    else:
        raise InputError(f"by={by!r}; expected 'auto', 'index' or 'time'", parameter="by")
    rw = _merge(stack.row_warnings, builder.build())
    return stack.with_changes(coordinates=new_coords,
                              coordinate_units={k: u for k, u in units.items() if k in new_coords},
                              row_warnings=rw)


def _merge(a, b):
    """Row warnings of ``a`` then ``b`` (same number of rows)."""
    out = StackWarningsBuilder(a.n_rows)
    for src in (a, b):
        for i in np.unique(src.rows):
            out.add_records(int(i), src.for_row(int(i)))
    return out.build()


_PAIR = re.compile(r"(?:^|_)(?P<key>[A-Za-z]+)_(?P<val>-?\d+(?:\.\d+)?)(?=__|_|$)")
_DURATION = re.compile(r"(?:^|[_\-\s])(?P<val>\d+(?:\.\d+)?)\s?(?P<unit>min|h|d|days?|weeks?|w)"
                       r"(?=$|[_\-\s.])", re.I)
_HOURS = {"min": 1 / 60, "h": 1.0, "d": 24.0, "day": 24.0, "days": 24.0, "w": 168.0,
          "week": 168.0, "weeks": 168.0}


def coordinates_from_names(paths) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Coordinates read from file names.

    ``KEY_value`` pairs (``X_20013``, ``Time_288``) give a coordinate per key (lower-cased;
    present in every name, else dropped); a duration (``48h``, ``7d``, ``30min``) gives
    ``exposure_time`` in hours.

    Returns
    -------
    coordinates : dict of str to ndarray
    units : dict of str to str

    Examples
    --------
    >>> c, u = coordinates_from_names(["VG186_2__X_20013__Y_-20055__Time_288.txt",
    ...                                "VG186_3__X_20030.8__Y_-20026.4__Time_433.txt"])
    >>> c["time"].tolist(), c["x"].tolist()
    ([288.0, 433.0], [20013.0, 20030.8])
    >>> coordinates_from_names(["NLCFM_0h.txt", "NLCFM_48h.txt", "NLCFM_7d.txt"])[0]["exposure_time"].tolist()
    [0.0, 48.0, 168.0]
    """
    stems = [Path(p).stem for p in paths]
    found: list[dict[str, float]] = []
    for s in stems:
        d = {m.group("key").lower(): float(m.group("val")) for m in _PAIR.finditer(s)}
        m = _DURATION.search(s)
        if m:
            d["exposure_time"] = float(m.group("val")) * _HOURS[m.group("unit").lower()]
        found.append(d)
    keys = set(found[0]) if found else set()
    for d in found[1:]:
        keys &= set(d)
    coords = {k: np.array([d[k] for d in found]) for k in sorted(keys)}
    units = {"exposure_time": "h"} if "exposure_time" in coords else {}
    return coords, units
