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
    records : Record or sequence of Record
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
    records = [records] if isinstance(records, Record) else list(records)
    path = Path(path)
    if fmt is None:
        fmt = _FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise InputError(f"{path}: cannot tell the table format from suffix "
                             f"'{path.suffix}'; use .csv or .json or pass fmt='csv'|'json'")
    if fmt not in ("csv", "json"):
        raise InputError(f"fmt={fmt!r}: expected 'csv' or 'json'")
    columns, rows = summary_rows(records)
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
