"""The work a worker does for one chunk: compute, then write the chunk file (not committed).

These functions run in the main process (``local``), in a thread, in a spawned worker
process (``processes``) or on a dask.distributed worker: their arguments and results are
small picklable objects, and every worker reads its own inputs (files, or its range of an
HDF5 stack). A bad scan never raises out of a task: it becomes a failed row with its
message.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.batch.config import COORDINATE_KEYS
from naheo_spec.batch.ledger import FileRows, write_file_chunk, write_stack_chunk
from naheo_spec.batch.registry import Prepared, get_pipeline

__all__ = ["FileTask", "StackTask", "ChunkReport", "run_file_task", "run_stack_task",
           "read_stack_rows", "error_text"]


def single_threaded_blas():
    """Context in which BLAS/LAPACK (OpenBLAS, MKL) use one thread, when threadpoolctl is
    installed. Every scheduler computes under it: dask workers run BLAS single-threaded
    anyway, and a multi-threaded BLAS changes the last digits of least-squares results
    (measured: 2e-16 relative on an AUTOBK background), so the same config gives
    bit-identical numbers wherever it runs. Parallelism comes from chunks instead."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def warm_worker(calls) -> None:
    """Run once in a fresh worker process: each pipeline's ``warm`` (imports, tables).
    A failure is ignored here: the first real task meets it again and reports it."""
    for fn in calls:
        try:
            fn()
        except Exception:  # noqa: BLE001,S110 -- reported by the task that needs it
            pass


def error_text(exc: BaseException) -> str:
    """The message recorded for a failure: naheo_spec errors as they are, others with
    their type."""
    from naheo_spec.errors import NaheoError

    if isinstance(exc, NaheoError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@dataclass
class ChunkReport:
    """What a task sends back: where its chunk file is and what happened."""

    out: str
    n_scans: int
    n_ok: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    units: int = 0


@dataclass
class FileTask:
    """Files to process: ``items`` = [(path, rel, sha256, [(pipeline, unit_key), ...])]."""

    items: list[tuple[str, str, str, list[tuple[str, str]]]]
    prepared: dict[str, Prepared]
    technique: str | None
    read_options: dict[str, Any]
    out: str
    records: bool = True


@dataclass
class StackTask:
    """Rows ``start:stop`` of an HDF5 stack for one pipeline."""

    path: str
    dataset: str | None
    info: dict[str, Any]
    start: int
    stop: int
    pipeline: str
    unit_key: str
    prepared: Prepared
    block: int
    out: str


def _coords(metadata) -> dict[str, Any]:
    out = {}
    meta = dict(metadata or {})
    if meta.get("synthetic"):
        out["synthetic"] = 1.0
    for k, v in meta.items():
        if str(k).lower() in COORDINATE_KEYS and isinstance(v, (int, float)) \
                and not isinstance(v, bool):
            out[str(k).lower()] = float(v)
    return out


def run_file_task(task: FileTask) -> ChunkReport:
    """Read each file once, run every pending pipeline on every scan, write the chunk."""
    with single_threaded_blas():
        return _run_file_task(task)


def _run_file_task(task: FileTask) -> ChunkReport:
    from naheo_spec.diagnostics import capture, unique
    from naheo_spec.io import read

    t0 = time.perf_counter()
    specs = {name: get_pipeline(name) for _, _, _, pend in task.items for name, _ in pend}
    rows = {name: FileRows(spec.column_names()) for name, spec in specs.items()}
    records, failures, n_ok, n_scans = [], [], 0, 0
    for path, rel, sha, pending in task.items:
        t1 = time.perf_counter()
        try:
            with capture() as read_warnings:
                coll = read(path, technique=task.technique, **task.read_options)
                units = _scan_units(coll, pending, specs, task.prepared)
            if not units:
                raise ValueError("the file holds no spectrum")
        except Exception as exc:  # a bad file never stops the batch  # noqa: BLE001
            msg = error_text(exc)
            for name, key in pending:
                rows[name].add(unit_key=key, file=rel, sha=sha, scan=None, error=msg,
                               seconds=time.perf_counter() - t1)
                failures.append({"file": rel, "scan": None, "pipeline": name, "error": msg})
                n_scans += 1
            continue
        for spec_, name, key, context in units:
            scan = spec_.source.scan
            coords = _coords(spec_.metadata)
            t1 = time.perf_counter()
            n_scans += 1
            try:
                with capture() as caught:
                    out = specs[name].run_scan(spec_, task.prepared[name], **context)
            except Exception as exc:  # noqa: BLE001 -- recorded, the batch goes on
                msg = error_text(exc)
                rows[name].add(unit_key=key, file=rel, sha=sha, scan=scan, error=msg,
                               element=spec_.element, seconds=time.perf_counter() - t1,
                               warnings=unique(list(read_warnings) + list(caught)),
                               coords=coords)
                failures.append({"file": rel, "scan": scan, "pipeline": name,
                                 "error": msg})
                continue
            rec_name = None
            if out.record is not None and task.records:
                rec_name = f"r{len(records)}"
                out.record.name = rec_name
                records.append(out.record)
            rows[name].add(unit_key=key, file=rel, sha=sha, scan=scan,
                           element=out.element or spec_.element, record=rec_name,
                           seconds=time.perf_counter() - t1,
                           warnings=unique(list(out.warnings) + list(caught)),
                           coords=coords, values=out.values)
            n_ok += 1
    write_file_chunk(Path(task.out), {k: v for k, v in rows.items() if len(v)}, records)
    return ChunkReport(task.out, n_scans, n_ok, failures, time.perf_counter() - t0,
                       units=len(task.items))


def _scan_units(coll, pending, specs, prepared) -> list[tuple]:
    """(spectrum, pipeline, unit key, run_scan context) for every scan each pipeline runs
    on, file order first: the pipeline's ``scans`` hook, else every spectrum."""
    spectra = coll.spectra()
    per = {}
    for name, key in pending:
        hook = specs[name].scans
        per[name] = (list(hook(coll, prepared[name])) if hook is not None
                     else [(s, {}) for s in spectra])
    units = []
    for name, key in pending:
        units += [(s, name, key, ctx) for s, ctx in per[name]]
    order = {id(s): i for i, s in enumerate(spectra)}
    units.sort(key=lambda u: order.get(id(u[0]), len(order)))
    return units


_SOURCES: dict[tuple, Any] = {}        # open stacks of this worker process


def read_stack_rows(task: StackTask):
    """Rows ``task.start:task.stop`` of the task's stack (the file kept open per process)."""
    key = (task.path, task.dataset, task.pipeline)
    src = _SOURCES.get(key)
    if src is None:
        spec = get_pipeline(task.pipeline)
        src = _SOURCES[key] = spec.open_stack(task.path, task.dataset, **task.info)
    return src.read(task.start, task.stop)


def _block_failure(stack, exc, columns) -> Any:
    from naheo_spec.batch.registry import BlockOutput

    n = len(stack)
    return BlockOutput(values={c: np.full(n, np.nan) for c in columns},
                       errors={i: error_text(exc) for i in range(n)}, element=stack.element)


def run_stack_task(task: StackTask, stack=None) -> ChunkReport:
    """Run one pipeline on rows ``start:stop`` of a stack, ``task.block`` rows per
    vectorized call, and write the chunk. ``stack``: those rows already read (prefetch)."""
    with single_threaded_blas():
        return _run_stack_task(task, stack)


def _run_stack_task(task: StackTask, stack=None) -> ChunkReport:
    from naheo_spec.diagnostics import StackWarnings, StackWarningsBuilder, capture

    t0 = time.perf_counter()
    spec = get_pipeline(task.pipeline)
    if stack is None:
        stack = read_stack_rows(task)
    n, columns = len(stack), spec.column_names()
    values = {c: np.full(n, np.nan) for c in columns}
    errors: dict[int, str] = {}
    tables, block_warnings, params, element = [], [], {}, stack.element
    for lo in range(0, n, task.block):
        hi = min(lo + task.block, n)
        sub = stack[lo:hi] if (lo, hi) != (0, n) else stack
        try:
            with capture() as caught:
                out = spec.run_block(sub, task.prepared)
        except Exception as exc:  # noqa: BLE001 -- the rows fail, the batch goes on
            out = _block_failure(sub, exc, columns)
            caught = []
        for c in columns:
            if c in out.values:
                values[c][lo:hi] = out.values[c]
        errors.update({lo + i: m for i, m in out.errors.items()})
        tables.append(out.row_warnings if out.row_warnings is not None
                      else StackWarnings.empty(hi - lo))
        block_warnings.extend(list(out.warnings) + list(caught))
        params = params or out.parameters
        element = out.element or element
    table = StackWarnings.concat(tables) if len(tables) > 1 else tables[0]
    if not len(table):
        table = StackWarningsBuilder(n).build()
    from naheo_spec.diagnostics import unique

    write_stack_chunk(Path(task.out), task.pipeline, unit_key=task.unit_key, start=task.start,
                      stop=task.stop, values=values, errors=errors, row_warnings=table,
                      parameters=params, element=element,
                      seconds=time.perf_counter() - t0, warnings=unique(block_warnings),
                      label=stack.source.scan or "")
    first = sorted(errors)[:20]
    failures = [{"file": task.path, "scan": f"{stack.source.scan}[{task.start + i}]",
                 "pipeline": task.pipeline, "error": errors[i]} for i in first]
    return ChunkReport(task.out, n, n - len(errors), failures, time.perf_counter() - t0,
                       units=n)
