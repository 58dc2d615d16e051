"""Writing pipeline results from the CLI: the HDF5 store plus a flat summary table."""
from __future__ import annotations

import re
from pathlib import Path

from naheo_spec.cli._common import echo_err


def unique_names(names):
    """Make record names HDF5-safe and unique (suffix _2, _3 ... on repeats)."""
    seen: set[str] = set()
    out = []
    for n in names:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", n).strip("_") or "result"
        name, i = base, 1
        while name in seen:
            i += 1
            name = f"{base}_{i}"
        seen.add(name)
        out.append(name)
    return out


def write_results(results, output: str | Path, *, overwrite: bool, names=None) -> list[Path]:
    """Write ``results`` (objects with ``to_record(name)``; names from ``names`` or their
    ``default_name()`` / ``name``)
    to the store ``output`` (.h5) and the summary table next to it (same stem, .csv).

    Returns the paths written. Existing files are refused unless ``overwrite``.
    """
    from naheo_spec.store import write_records, write_summary_table
    from naheo_spec.store.atomic import check_writable

    out = Path(output)
    if out.suffix.lower() not in (".h5", ".hdf5", ".nxs"):
        out = out.with_suffix(".h5")
    table = out.with_suffix(".csv")
    check_writable(out, overwrite=overwrite)
    check_writable(table, overwrite=overwrite)
    if names is None:
        names = [r.default_name() if hasattr(r, "default_name") else getattr(r, "name", "result")
                 for r in results]
    names = unique_names(names)
    records = [r.to_record(n) for r, n in zip(results, names)]
    write_records(out, records, overwrite=overwrite)
    write_summary_table(table, records, overwrite=overwrite)
    echo_err(f"wrote {out} and {table}")
    return [out, table]
