"""The batch configuration file (TOML): inputs, pipelines, outputs, compute.

::

    [input]
    files = ["scans/*.xdi", "more/*.prj"]   # globs relative to this file; or
    # stack = "map.h5"                       # an HDF5 [nScan, nPoint] stack
    # dataset = "/entry/data"                # its group, when the file holds several
    # coordinates = "log.csv"                # per-scan time / potential / state of charge
    # mu = "ln(i0/it)"                       # how to compute mu from columns (XAS files)
    [xanes]                                  # one table per pipeline (naheo-spec batch --list)
    standards = "fe"
    [output]
    store = "results.h5"                     # NeXus results; the work folder results.batch/
    summary = "results.csv"                  # one row per scan (files) or per stack
    # report = "report.html"                 # self-contained HTML report
    # scan_records = true                    # each file scan's full result (arrays) too
    [compute]
    scheduler = "auto"                       # "auto" | "local" | "processes" | "threads" | "tcp://host:8786"
    chunk = 20000                            # scans per atomic chunk (default 20000 stack, 50 files)
    # workers = 2                            # processes/threads (default: CPU count)

Every problem is reported before any work, as one :class:`~naheo_spec.errors.InputError`
naming the config file, the table and the key.
"""
from __future__ import annotations

import csv
import difflib
import glob
import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.errors import InputError

__all__ = ["BatchConfig", "load_config", "config_from_toml", "Coordinates", "read_coordinates",
           "DEFAULT_CHUNK_FILES", "DEFAULT_CHUNK_STACK", "COORDINATE_KEYS"]

DEFAULT_CHUNK_STACK = 20000
DEFAULT_CHUNK_FILES = 50
SCHEDULERS = ("auto", "local", "processes", "threads")
#: File metadata keys taken as per-scan coordinates when a file carries them.
COORDINATE_KEYS = ("time", "potential", "state_of_charge", "charge", "capacity", "cycle",
                   "temperature", "x", "y")
STORE_SUFFIXES = (".h5", ".hdf5", ".nxs")

_TABLES = {
    "input": {"files": "globs of input files, relative to the config",
              "stack": "an HDF5 [nScan, nPoint] stack", "dataset": "HDF5 group of the stack",
              "coordinates": "CSV of per-scan coordinates", "mu": "mu expression (XAS)",
              "technique": "technique of the files (default: the pipelines')"},
    "output": {"store": "results store (.h5)", "summary": "summary table (.csv or .json)",
               "report": "HTML report (.html)",
               "scan_records": "also store each scan's full single-file result (true)"},
    "compute": {"scheduler": "auto | local | processes | threads | tcp://host:port",
                "chunk": "scans (stack) or files per atomic chunk",
                "workers": "number of worker processes/threads",
                "block": "stack rows per vectorized call inside a chunk"},
}


@dataclass
class Coordinates:
    """Per-scan coordinates from a CSV: by file (and scan) or by stack row.

    Attributes
    ----------
    names : list of str
        Coordinate columns, in file order.
    by_file : dict
        ``(file key, scan or None) -> {name: value}`` for file inputs.
    by_row : dict of str to ndarray, or None
        Coordinate arrays in stack-row order (stack inputs).
    path : Path
    """

    names: list[str]
    by_file: dict[tuple[str, str | None], dict[str, Any]] = field(default_factory=dict)
    by_row: dict[str, np.ndarray] | None = None
    path: Path | None = None

    def lookup(self, file: Path, base_dir: Path, scan: str | None) -> dict[str, Any]:
        """Coordinates of one scan of ``file`` (empty dict when the CSV has no row)."""
        keys = [str(file), _rel(file, base_dir), file.name]
        for k in keys:
            for s in (scan, None):
                got = self.by_file.get((k, s))
                if got is not None:
                    return got
        return {}


def _rel(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def _value(text: str):
    text = text.strip()
    if text == "":
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return text


def read_coordinates(path: Path, *, where: str = "coordinates") -> Coordinates:
    """Read a coordinates CSV.

    The header names the columns. ``file`` (path relative to the config, or a file name)
    and optionally ``scan`` tie a row to a file input; without ``file``, rows are the rows
    of a stack in order (or say which with ``scan_index``). Every other column is a
    coordinate: numbers (empty cells NaN) or text.

    Raises
    ------
    InputError
        Unreadable file, no header, a row with the wrong number of cells.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if r and not r[0].lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: cannot read {path}: {exc}") from None
    if not rows:
        raise InputError(f"{where}: {path} is empty (expected a header line)")
    header = [h.strip() for h in rows[0]]
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise InputError(f"{where}: {path} line {i}: {len(r)} cells for {len(header)} "
                             f"columns ({', '.join(header)})")
    names = [h for h in header if h not in ("file", "scan", "scan_index")]
    coords = Coordinates(names=names, path=path)
    if "file" in header:
        fi, si = header.index("file"), header.index("scan") if "scan" in header else None
        for r in rows[1:]:
            scan = r[si].strip() or None if si is not None else None
            coords.by_file[(r[fi].strip(), scan)] = {
                h: _value(v) for h, v in zip(header, r) if h in names}
        return coords
    data = rows[1:]
    if "scan_index" in header:
        k = header.index("scan_index")
        try:
            data = sorted(data, key=lambda r: int(r[k]))
        except ValueError:
            raise InputError(f"{where}: {path}: scan_index must hold integers") from None
    by_row = {}
    for h in names:
        vals = [_value(r[header.index(h)]) for r in data]
        by_row[h] = (np.array(vals, dtype=float) if all(isinstance(v, float) for v in vals)
                     else np.array([str(v) for v in vals], dtype=str))
    coords.by_row = by_row
    return coords


@dataclass
class BatchConfig:
    """A parsed and checked batch configuration (see the module docstring).

    Attributes
    ----------
    path : Path
        The TOML file; ``base_dir`` is its folder (relative paths start there).
    files : list of Path
        Input files (globs expanded, sorted, without repeats); empty for a stack.
    patterns : list of str
        The globs as written (``watch`` matches new files against them).
    stack, dataset : Path or None, str or None
        The HDF5 stack and its group.
    coordinates : Coordinates or None
    read_options : dict
        Reader options (``mu``).
    technique : str or None
    pipelines : dict of str to dict
        Options of each pipeline table, in config order.
    store, summary, report : Path or None
    scan_records : bool
        Store each file scan's full single-file result (spectra, chi(k)...) besides the
        tables. Default is True; False makes large file batches faster (writing the
        records is about a third of the time per file).
    scheduler : str
    chunk : int
    block : int or None
    workers : int or None
    raw : dict
        The TOML as read; ``sha256`` its bytes' hash.
    """

    path: Path
    base_dir: Path
    files: list[Path]
    patterns: list[str]
    stack: Path | None
    dataset: str | None
    coordinates: Coordinates | None
    read_options: dict[str, Any]
    technique: str | None
    pipelines: dict[str, dict[str, Any]]
    store: Path
    summary: Path | None
    report: Path | None
    scheduler: str
    chunk: int
    block: int | None
    workers: int | None
    raw: dict[str, Any]
    sha256: str
    scan_records: bool = True

    @property
    def work_dir(self) -> Path:
        """The resumable work folder next to the store: ``<store stem>.batch/``."""
        return self.store.with_name(self.store.stem + ".batch")

    def expand_files(self) -> list[Path]:
        """The globs expanded now (``watch`` calls this again as files land)."""
        return _expand(self.patterns, self.base_dir, self.path, allow_empty=True)


def _check_keys(table: dict, allowed: dict, where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"{where}: unknown key {key!r}{hint}; known keys: "
                             f"{', '.join(allowed)}")


def _path(value, base: Path, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: expected a path string, got {value!r}")
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else base / p


def _expand(patterns: list[str], base: Path, cfg: Path, *, allow_empty: bool) -> list[Path]:
    out: dict[Path, None] = {}
    for pat in patterns:
        full = pat if Path(pat).is_absolute() else str(base / pat)
        found = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
        if not found and not allow_empty:
            raise InputError(f"{cfg}: [input] files: {pat!r} matches no file (looked in "
                             f"{base})")
        for p in found:
            out.setdefault(p, None)
    return list(out)


def _int(value, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


def load_config(path, *, allow_no_inputs: bool = False) -> BatchConfig:
    """Read and check a batch config.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    allow_no_inputs : bool
        Accept globs that match nothing yet (``watch``). Default is False.

    Returns
    -------
    BatchConfig

    Raises
    ------
    InputError
        Missing or malformed file, unknown table or key, a glob matching no file, a
        missing stack or coordinates file, an unknown pipeline, a bad scheduler or chunk,
        outputs without a store. One line naming the file, table and key.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config {path}: no such file")
    return config_from_toml(path.read_bytes(), path, allow_no_inputs=allow_no_inputs)


def config_from_toml(data: bytes, path, *, allow_no_inputs: bool = False) -> BatchConfig:
    """A batch config from TOML text (``load_config`` without the file): ``path`` names it
    in messages and provenance and its folder is where relative paths start; it need not
    exist (``naheo-spec xanes --stack -o`` builds its config in memory).

    Raises
    ------
    InputError
        As :func:`load_config`.
    """
    from naheo_spec.batch.registry import pipelines

    path = Path(path)
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"config {path}: not valid TOML: {exc}") from None
    base = path.parent.resolve()
    known = pipelines()
    allowed = {**{k: "" for k in _TABLES}, **{k: "" for k in known}}
    for key, value in raw.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean [{close[0]}]?)" if close else ""
            raise InputError(f"{path}: unknown table [{key}]{hint}; tables: "
                             f"{', '.join(_TABLES)} and the pipelines {', '.join(known)}")
        if not isinstance(value, dict):
            raise InputError(f"{path}: {key} must be a table [{key}]")
    for name, keys in _TABLES.items():
        _check_keys(raw.get(name, {}), keys, f"{path}: [{name}]")
    names = [k for k in raw if k in known]
    if not names:
        raise InputError(f"{path}: no pipeline table; add one of "
                         f"{', '.join('[' + k + ']' for k in known)}")
    for name in names:
        known[name].check_options(raw[name], str(path))
    inp, out, comp = raw.get("input", {}), raw.get("output", {}), raw.get("compute", {})

    patterns = inp.get("files", [])
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise InputError(f"{path}: [input] files: expected a list of glob strings")
    stack = _path(inp["stack"], base, f"{path}: [input] stack") if "stack" in inp else None
    if patterns and stack is not None:
        raise InputError(f"{path}: [input] give files or stack, not both")
    if not patterns and stack is None and not allow_no_inputs:
        raise InputError(f"{path}: [input] needs files = [globs] or stack = \"file.h5\"")
    files = _expand(patterns, base, path, allow_empty=allow_no_inputs) if patterns else []
    if stack is not None:
        if not stack.is_file():
            raise InputError(f"{path}: [input] stack: no such file {stack}")
        for name in names:
            if known[name].run_block is None:
                raise InputError(f"{path}: [{name}] cannot run on a stack (files only)")
    dataset = inp.get("dataset")
    if dataset is not None and (not isinstance(dataset, str) or stack is None):
        raise InputError(f"{path}: [input] dataset: a group name, with stack = ...")
    coords = None
    if "coordinates" in inp:
        cpath = _path(inp["coordinates"], base, f"{path}: [input] coordinates")
        if not cpath.is_file():
            raise InputError(f"{path}: [input] coordinates: no such file {cpath}")
        coords = read_coordinates(cpath, where=f"{path}: [input] coordinates")
        if stack is not None and coords.by_row is None:
            raise InputError(f"{path}: [input] coordinates {cpath}: a stack needs rows in "
                             "stack order (no 'file' column), optionally with scan_index")
    read_options = {}
    if "mu" in inp:
        if not isinstance(inp["mu"], str):
            raise InputError(f"{path}: [input] mu: expected an expression string")
        read_options["mu"] = inp["mu"]
    technique = inp.get("technique")

    if "store" not in out:
        raise InputError(f"{path}: [output] store = \"results.h5\" is required")
    store = _path(out["store"], base, f"{path}: [output] store")
    if store.suffix.lower() not in STORE_SUFFIXES:
        raise InputError(f"{path}: [output] store {store.name}: must end in "
                         f"{', '.join(STORE_SUFFIXES)}")
    summary = _path(out["summary"], base, f"{path}: [output] summary") \
        if "summary" in out else None
    if summary is not None and summary.suffix.lower() not in (".csv", ".json"):
        raise InputError(f"{path}: [output] summary {summary.name}: must end in .csv or .json")
    report = _path(out["report"], base, f"{path}: [output] report") if "report" in out else None
    scan_records = out.get("scan_records", True)
    if not isinstance(scan_records, bool):
        raise InputError(f"{path}: [output] scan_records = {scan_records!r}: expected true or "
                         "false")
    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{path}: [output] report {report.name}: must end in .html")
    outs = [p.resolve() for p in (store, summary, report) if p is not None]
    if len(set(outs)) != len(outs):
        raise InputError(f"{path}: [output] store, summary and report must be different files")
    for p in outs:
        if not p.parent.is_dir():
            raise InputError(f"{path}: [output] folder {p.parent} does not exist (create it "
                             "first)")
        if not os.access(p.parent, os.W_OK | os.X_OK):
            raise InputError(f"{path}: [output] folder {p.parent} is not writable")
    if any(p.resolve() in outs for p in files):
        raise InputError(f"{path}: an output file is also an input")

    scheduler = comp.get("scheduler", "auto")
    if not isinstance(scheduler, str) or not (scheduler in SCHEDULERS
                                              or scheduler.startswith("tcp://")):
        raise InputError(f"{path}: [compute] scheduler = {scheduler!r}: expected one of "
                         f"{', '.join(SCHEDULERS)} or 'tcp://host:port' (dask.distributed)")
    default_chunk = DEFAULT_CHUNK_STACK if stack is not None else DEFAULT_CHUNK_FILES
    chunk = _int(comp.get("chunk", default_chunk), f"{path}: [compute] chunk")
    block = _int(comp["block"], f"{path}: [compute] block") if "block" in comp else None
    workers = _int(comp["workers"], f"{path}: [compute] workers") if "workers" in comp else None
    return BatchConfig(path=path.resolve(), base_dir=base, files=files, patterns=patterns,
                       stack=stack, dataset=dataset, coordinates=coords,
                       read_options=read_options, technique=technique,
                       pipelines={n: dict(raw[n]) for n in names}, store=store,
                       summary=summary, report=report, scheduler=scheduler, chunk=chunk,
                       block=block, workers=workers, raw=raw,
                       sha256=hashlib.sha256(data).hexdigest(), scan_records=scan_records)
