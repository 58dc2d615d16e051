"""Flat summary tables (CSV or JSON): one row per record, the numbers a paper reports."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Sequence

from naheo_spec.atomic import atomic_path
from naheo_spec.errors import InputError
from naheo_spec.records import Record
from naheo_spec.store.convert import json_safe

#: Columns every table starts with, in this order.
FIXED_COLUMNS = ("name", "kind", "source_file", "source_sha256", "version")

_FORMATS = {".csv": "csv", ".json": "json"}


def summary_rows(records: Sequence[Record]) -> tuple[list[str], list[dict[str, Any]]]:
    """Flatten records into table rows.

    Parameters
    ----------
    records : sequence of Record

    Returns
    -------
    columns : list of str
        :data:`FIXED_COLUMNS`, then the union of the summary keys in order of first appearance.
        A summary key equal to a fixed column is renamed ``"summary.<key>"``.
    rows : list of dict
        One per record, every column present (None where a record has no such key); values
        made JSON-safe (tuples and arrays as lists, NaN/inf as None).
    """
    columns = list(FIXED_COLUMNS)
    rows = []
    for rec in records:
        if not isinstance(rec, Record):
            raise InputError(f"expected naheo_spec.records.Record objects, got "
                             f"{type(rec).__name__}")
        prov = rec.provenance
        row: dict[str, Any] = {"name": rec.name, "kind": rec.kind,
                               "source_file": prov.source_file,
                               "source_sha256": prov.source_sha256, "version": prov.version}
        for key, value in rec.summary.items():
            col = str(key)
            if col in FIXED_COLUMNS:
                col = f"summary.{col}"
            if col not in columns:
                columns.append(col)
            row[col] = json_safe(value)
        rows.append(row)
    return columns, [{c: r.get(c) for c in columns} for r in rows]


#: Name of the per-row group of a stack record (one value per scan on ``scan_index``).
PER_SCAN_GROUP = "scans"


def as_record(item) -> Record:
    """``item`` as a Record: a Record, or a result with ``to_record()``.

    Raises
    ------
    InputError
        ``item`` is neither.
    """
    if isinstance(item, Record):
        return item
    if hasattr(item, "to_record"):
        return item.to_record()
    raise InputError(f"cannot tabulate a {type(item).__name__}: expected results with "
                     f"to_record() (XANES, EXAFS, XPS, Raman) or Record objects")


def _per_scan_rows(rec: Record) -> list[dict[str, Any]] | None:
    """One row per scan from the record's per-scan group (None: the record has none)."""
    group = rec.groups.get(PER_SCAN_GROUP)
    if group is None:
        return None
    import numpy as np

    columns: dict[str, Any] = {}
    n = None
    for key, arr in group.data.items():
        values = np.asarray(arr.values)
        if values.ndim == 0 or values.ndim > 2:
            continue
        n = values.shape[0] if n is None else n
        if values.shape[0] != n:
            continue
        if values.ndim == 2:          # (N, 2) ranges -> two columns
            for j in range(values.shape[1]):
                columns[f"{key}_{j}"] = values[:, j]
        else:
            columns[key] = values
    prov = rec.provenance
    rows = []
    for i in range(n or 0):
        row: dict[str, Any] = {"name": rec.name, "kind": rec.kind,
                               "source_file": prov.source_file,
                               "source_sha256": prov.source_sha256, "version": prov.version}
        for key, values in columns.items():
            value = values[i]
            value = value.decode() if isinstance(value, bytes) else value
            col = f"summary.{key}" if key in FIXED_COLUMNS else key
            row[col] = json_safe(value.item() if hasattr(value, "item") else value)
        rows.append(row)
    return rows


def results_table(results) -> tuple[list[str], list[dict[str, Any]]]:
    """The numbers of any results as a flat table: one row per scan.

    Parameters
    ----------
    results : result, Record, or sequence of them
        Per-scan results (``analyze_xanes``, ``analyze_exafs``, ``analyze_region``,
        ``analyze_raman`` ...) give one row each (their summary); a stack result
        (``xanes_stack``, ``analyze_exafs_stack``) gives one row per scan of the stack,
        from its per-scan group; a series with its own ``to_records()`` (Raman) gives
        those rows.

    Returns
    -------
    columns : list of str
        ``name, kind, source_file, source_sha256, version`` (provenance: every number
        traces to its file and the package version), then the numbers in order of first
        appearance. Series rows from ``to_records()`` keep their own columns.
    rows : list of dict
        Every column present in every row (None where missing; NaN written as None).

    Examples
    --------
    >>> from naheo_spec import datasets
    >>> from naheo_spec.xas.xanes import analyze_xanes
    >>> res = [analyze_xanes(datasets.load(n), markers=False) for n in ("mno_mn_k", "mno2_mn_k")]
    >>> columns, rows = results_table(res)
    >>> [round(r["e0_eV"], 1) for r in rows]          # Mn K edge, eV: MnO, MnO2
    [6544.9, 6552.2]
    """
    items = results if isinstance(results, (list, tuple)) else [results]
    columns: list[str] = []
    rows: list[dict[str, Any]] = []
    for item in items:
        if hasattr(item, "to_records") and not hasattr(item, "groups"):
            new_rows = [{k: json_safe(v) for k, v in r.items()} for r in item.to_records()]
        else:
            new_rows = record_rows(item)
        for row in new_rows:
            columns.extend(c for c in row if c not in columns)
        rows.extend(new_rows)
    return columns, [{c: r.get(c) for c in columns} for r in rows]


def record_rows(item) -> list[dict[str, Any]]:
    """The table rows of one result or Record: one per scan for a stack (from its per-scan
    group), else its summary as one row, with the provenance columns of
    :func:`results_table`. What stack results' ``to_records()`` return."""
    rec = as_record(item)
    rows = _per_scan_rows(rec)
    return rows if rows is not None else summary_rows([rec])[1]


def to_dataframe(results):
    """:func:`results_table` as a :class:`pandas.DataFrame` (pandas is optional).

    Raises
    ------
    InputError
        pandas is not installed.
    """
    try:
        import pandas as pd
    except ImportError:
        raise InputError("to_dataframe needs pandas (pip install pandas); "
                         "results_table() gives the same rows without it") from None
    columns, rows = results_table(results)
    return pd.DataFrame(rows, columns=columns)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def write_summary_table(path: str | Path, records: Sequence[Record] | Record, *,
                        fmt: str | None = None, overwrite: bool = False) -> Path:
    """Write one row per record to a CSV or JSON table.

    Parameters
    ----------
    path : str or Path
        Output file.
    records : result, Record, or sequence of them
        Anything :func:`results_table` takes (a stack gives one row per scan).
    fmt : {"csv", "json"}, optional
        Table format. Default is None: taken from the suffix of ``path`` (``.csv`` or ``.json``).
    overwrite : bool
        Replace an existing file. Default is False.

    Returns
    -------
    Path
        The file written (atomically: an interrupted write leaves any old file untouched).

    Notes
    -----
    Columns are ``name, kind, source_file, source_sha256, version`` followed by the union of the
    summary keys (see :func:`summary_rows`). CSV is written with :mod:`csv` (empty cell for
    missing values, lists as JSON text, floats with full ``repr`` precision); JSON is a list of
    objects with every column in every object (strict JSON: NaN written as null).

    Raises
    ------
    InputError
        Unknown ``fmt`` or suffix.
    StoreError
        The file exists and ``overwrite`` is False.
    """
    path = Path(path)
    if fmt is None:
        fmt = _FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise InputError(f"{path}: cannot tell the table format from suffix "
                             f"'{path.suffix}'; use .csv or .json or pass fmt='csv'|'json'")
    if fmt not in ("csv", "json"):
        raise InputError(f"fmt={fmt!r}: expected 'csv' or 'json'")
    columns, rows = results_table(records)
    with atomic_path(path, overwrite=overwrite) as tmp:
        if fmt == "json":
            tmp.write_text(json.dumps(rows, indent=1, allow_nan=False, ensure_ascii=False) + "\n",
                           encoding="utf-8")
        else:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return path


class RecordTable:
    """``to_records()`` / ``to_dataframe()`` for a stack result that has ``to_record()``:
    one flat row per scan (provenance columns, then every per-scan number; NaN as None)."""

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per scan: :func:`record_rows` of ``to_record()``. Write it with
        :func:`write_summary_table`."""
        return record_rows(self)

    def to_dataframe(self):
        """:meth:`to_records` as a :class:`pandas.DataFrame` (needs pandas)."""
        return to_dataframe(self)
