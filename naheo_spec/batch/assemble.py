"""Build the store, the summary table and the report from the committed chunks.

The store is rebuilt under a temporary name and renamed onto ``[output] store`` in one
step (:func:`naheo_spec.atomic.atomic_path`): a reader never sees a half-written store,
and a run killed while writing it leaves the previous one intact. Layout::

    /batch                     NXentry kind "batch": counts, the config (lossless JSON in
                               process/parameters_json), every pipeline's parameters
    /<pipeline>_scans          NXentry kind "batch_table" (file inputs): NXdata "scans", one
                               row per scan: file, scan, file_sha256, status (1 ok, 0 failed),
                               error, element, the pipeline's columns, coordinates
                               (coord_<name>), n_warnings, record (entry of the scan)
    /<pipeline>_<stem>_stack   NXentry kind "batch_stack" (a stack): NXdata "scans" with the
                               columns as [nScan] chunked, compressed arrays and status; the
                               failed rows (sparse) in "errors", the warnings (sparse table)
                               in "warnings", coordinates in "coordinates"
    /<stem>_<scan>_<pipeline>  the single-file pipeline's record of each scan (file inputs)
    /operando                  NXentry kind "operando" when scans carry a coordinate: the
                               multi-edge table (see :mod:`naheo_spec.batch.operando`)

Root attributes ``naheo_batch_state`` (hash of the chunks the store was built from) and
``naheo_batch_config`` say which batch wrote it; a re-run that would build the same store
does not rewrite it.
"""
from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.batch.ledger import CHUNK_GROUP, Ledger
from naheo_spec.batch.plan import Plan

__all__ = ["assemble", "store_is_current", "state_hash", "FileTable", "file_tables",
           "stack_failures"]


def _read_strings(ds) -> list[str]:
    return [str(v) for v in ds.asstr()[()]]


# --------------------------------------------------------------------------- state
def state_hash(plan: Plan, ledger: Ledger) -> str:
    """Hash of what the store would be built from (config, keys, chunk of each key)."""
    from naheo_spec.provenance import package_version

    h = hashlib.sha256(f"{plan.config.sha256}|{package_version()}".encode())
    for name in plan.specs:
        if plan.stack is not None:
            key = plan.keys[(name, plan.stack.rel)]
            for p in ledger.stack_parts(name, key):
                h.update(f"{name}|{key}|{p.chunk.name}|{p.start}|{p.stop}".encode())
            continue
        for f in plan.files:
            key = plan.keys[(name, f.rel)]
            refs = ledger.file_rows(name, key)
            h.update(f"{name}|{key}|{refs[0].chunk.name if refs else '-'}".encode())
    return h.hexdigest()


def store_is_current(plan: Plan, ledger: Ledger) -> bool:
    """True when the store (and summary, report) exist and were built from these chunks."""
    import h5py

    cfg = plan.config
    if not cfg.store.is_file() or (cfg.summary and not cfg.summary.is_file()) \
            or (cfg.report and not cfg.report.is_file()):
        return False
    try:
        with h5py.File(cfg.store, "r") as f:
            got = f.attrs.get("naheo_batch_state")
    except OSError:
        return False
    got = got.decode() if isinstance(got, bytes) else got
    return got == state_hash(plan, ledger)


# --------------------------------------------------------------------------- file tables
@dataclass
class FileTable:
    """One pipeline's rows over the file inputs, in input order (done scans only)."""

    pipeline: str
    columns: list[Any]
    file: list[str] = field(default_factory=list)
    scan: list[str] = field(default_factory=list)
    sha: list[str] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    error: list[str] = field(default_factory=list)
    element: list[str] = field(default_factory=list)
    n_warnings: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)
    coords: list[dict[str, Any]] = field(default_factory=list)
    record_src: list[tuple[Path, str] | None] = field(default_factory=list)
    record_name: list[str] = field(default_factory=list)
    n_pending: int = 0

    def __len__(self) -> int:
        return len(self.file)


def file_tables(plan: Plan, ledger: Ledger) -> dict[str, FileTable]:
    """Rows of every pipeline from the chunks (coordinates: file metadata, then the CSV)."""
    import h5py

    cfg = plan.config
    tables = {}
    for name, spec in plan.specs.items():
        cols = list(spec.columns)
        t = FileTable(name, cols, values={c.name: [] for c in cols})
        wanted: dict[Path, list[tuple[int, Any, Any]]] = defaultdict(list)
        order = []
        for f in plan.files:
            refs = ledger.file_rows(name, plan.keys[(name, f.rel)])
            if refs is None:
                t.n_pending += 1
                continue
            for r in refs:
                slot = len(order)
                order.append((f, r))
                wanted[r.chunk].append((slot, r.index, f))
        rows: list[dict | None] = [None] * len(order)
        for chunk, items in wanted.items():
            with h5py.File(chunk, "r") as h:
                g = h[CHUNK_GROUP][name]
                cache = {k: _read_strings(g[k]) for k in ("scan", "error", "element", "record",
                                                         "warnings_json", "coords_json")}
                status = g["status"][()]
                vals = {c.name: g["values"][c.name][()] if c.name in g["values"] else None
                        for c in cols}
                for slot, i, f in items:
                    rows[slot] = {k: v[i] for k, v in cache.items()}
                    rows[slot]["status"] = int(status[i])
                    rows[slot]["values"] = {c: (float(v[i]) if v is not None else np.nan)
                                            for c, v in vals.items()}
                    rows[slot]["chunk"] = chunk
        for (f, r), row in zip(order, rows):
            scan = row["scan"] or ""
            t.file.append(f.rel)
            t.scan.append(scan)
            t.sha.append(f.sha256)
            t.status.append(row["status"])
            t.error.append(row["error"])
            t.element.append(row["element"])
            w = json.loads(row["warnings_json"] or "[]")
            t.n_warnings.append(len(w))
            t.warnings.append("; ".join(f"[{x['code']}] {x['message']}" for x in w))
            for c, v in row["values"].items():
                t.values[c].append(v)
            coords = json.loads(row["coords_json"] or "{}")
            if cfg.coordinates is not None:
                coords.update(cfg.coordinates.lookup(f.path, cfg.base_dir, scan or None))
            t.coords.append(coords)
            t.record_src.append((row["chunk"], row["record"]) if row["record"] else None)
        tables[name] = t
    _name_records(tables)
    return tables


def _name_records(tables: dict[str, FileTable]) -> None:
    from naheo_spec.records import nexus_name

    taken = {"batch", "operando"} | {f"{n}_scans" for n in tables}
    for name, t in tables.items():
        for i in range(len(t)):
            if t.record_src[i] is None:
                t.record_name.append("")
                continue
            base = nexus_name(f"{Path(t.file[i]).stem}_{t.scan[i]}_{name}" if t.scan[i]
                              else f"{Path(t.file[i]).stem}_{name}")
            cand, k = base, 1
            while cand in taken:
                k += 1
                cand = f"{base}_{k}"
            taken.add(cand)
            t.record_name.append(cand)


def _coord_arrays(coords: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    names = list(dict.fromkeys(k for c in coords for k in c))
    out = {}
    for k in names:
        vals = [c.get(k) for c in coords]
        if all(v is None or isinstance(v, (int, float)) for v in vals):
            out[k] = np.array([np.nan if v is None else float(v) for v in vals])
        else:
            out[k] = np.array(["" if v is None else str(v) for v in vals], dtype=object)
    return out


def _table_record(t: FileTable, plan: Plan):
    from naheo_spec.provenance import Provenance
    from naheo_spec.records import DataArray, DataGroup, Record, nexus_name

    n = len(t)
    idx = DataArray(np.arange(n), "", "scan index")
    data = {"scan_index": idx}
    for c in t.columns:
        data[c.name] = DataArray(np.asarray(t.values[c.name], dtype=float), c.units, c.long_name)
    data.update({
        "status": DataArray(np.asarray(t.status, dtype=np.int8), "", "1 ok, 0 failed"),
        "file": DataArray(np.array(t.file, dtype=object), "", "input file (relative)"),
        "scan": DataArray(np.array(t.scan, dtype=object), "", "scan in the file"),
        "file_sha256": DataArray(np.array(t.sha, dtype=object), "", "SHA-256 of the file"),
        "element": DataArray(np.array(t.element, dtype=object), "", "element"),
        "error": DataArray(np.array(t.error, dtype=object), "", "error of a failed scan"),
        "n_warnings": DataArray(np.asarray(t.n_warnings, dtype=np.int32), "", "warnings"),
        "warnings": DataArray(np.array(t.warnings, dtype=object), "", "coded warnings"),
        "record": DataArray(np.array(t.record_name, dtype=object), "", "entry of the scan"),
    })
    for k, v in _coord_arrays(t.coords).items():
        data[nexus_name(f"coord_{k}")] = DataArray(v, "", f"coordinate {k}")
    ok = np.asarray(t.status, dtype=bool)
    summary = {"pipeline": t.pipeline, "n_scans": n, "n_ok": int(ok.sum()),
               "n_failed": int((~ok).sum()), "n_files_pending": t.n_pending}
    prov = Provenance(step=f"batch.{t.pipeline}", parameters=plan.prepared[t.pipeline].parameters,
                      source_file=str(plan.config.path), source_sha256=plan.config.sha256)
    first = t.columns[0].name if n else None
    group = DataGroup(data, signal=first, axes=["scan_index"] if first else [],
                      title=f"{t.pipeline}: one row per scan")
    return Record(name=f"{t.pipeline}_scans", kind="batch_table", summary=summary,
                  provenance=prov, groups={"scans": group})


# --------------------------------------------------------------------------- stacks
def stack_failures(ledger: Ledger, pipeline: str, key: str, limit: int,
                   first_seq: int = 0, file: str | None = None
                   ) -> tuple[int, list[dict[str, Any]]]:
    """(number of failed rows, up to ``limit`` of them as ``{file, scan, error,
    earlier}``)."""
    import h5py

    n, out = 0, []
    for p in ledger.stack_parts(pipeline, key):
        n += p.n_failed
        if p.n_failed and len(out) < limit:
            with h5py.File(p.chunk, "r") as h:
                g = h[CHUNK_GROUP][pipeline]
                rows, idx = g["error_rows"][()], g["error_index"][()]
                msgs = _read_strings(g["error_messages"])
                label = h[CHUNK_GROUP][pipeline].attrs.get("label", "")
                for r, k in zip(rows[:limit - len(out)], idx):
                    out.append({"file": file, "scan": f"{label}[{p.start + int(r)}]" if label
                                else str(p.start + int(r)), "error": msgs[int(k)],
                                "earlier": p.seq < first_seq})
    return n, out


def _stack_skeleton(plan: Plan, ledger: Ledger, name: str):
    """The stack entry without its big columns (added block by block), and its parts."""
    import h5py

    from naheo_spec.diagnostics import StackWarnings, StackWarningsBuilder
    from naheo_spec.provenance import Provenance
    from naheo_spec.records import DataArray, DataGroup, Record, nexus_name
    from naheo_spec.store import loads_lossless

    st = plan.stack
    key = plan.keys[(name, st.rel)]
    parts = ledger.stack_parts(name, key)
    err_rows, err_idx, msgs = [], [], {}
    wb = StackWarningsBuilder(st.n_rows)
    params, block_warnings = {}, []
    for p in parts:
        with h5py.File(p.chunk, "r") as h:
            g = h[CHUNK_GROUP][name]
            m = _read_strings(g["error_messages"])
            for r, k in zip(g["error_rows"][()], g["error_index"][()]):
                err_rows.append(p.start + int(r))
                err_idx.append(msgs.setdefault(m[int(k)], len(msgs)))
            w = g["warnings"]
            if "rows" in w and w["rows"].shape[0]:
                wb.add_table(StackWarnings(
                    p.stop - p.start, w["rows"][()], w["code_index"][()],
                    w["message_index"][()], tuple(_read_strings(w["codes"])),
                    tuple(_read_strings(w["messages"]))), offset=p.start)
            if not params:
                params = loads_lossless(g.attrs["parameters_json"])
            block_warnings += json.loads(g.attrs.get("warnings_json", "[]"))
    table = wb.build()
    errors = DataGroup({
        "error_row": DataArray(np.asarray(err_rows, dtype=np.int64), "", "failed scan index"),
        "message_index": DataArray(np.asarray(err_idx, dtype=np.int32), "", "into messages"),
        "messages": DataArray(np.array(list(msgs), dtype=object), "", "distinct errors"),
    }, signal="message_index", axes=["error_row"] if err_rows else [],
        title="failed scans (sparse)")
    warn = DataGroup({
        "row": DataArray(table.rows, "", "scan index of each warning"),
        "code_index": DataArray(table.code_index, "", "index into codes"),
        "message_index": DataArray(table.message_index, "", "index into messages"),
        "codes": DataArray(np.array(table.codes, dtype=object), "", "warning codes"),
        "messages": DataArray(np.array(table.messages, dtype=object), "", "distinct messages"),
    }, signal="code_index", axes=["row"] if len(table) else [],
        title="per-scan warnings (sparse)")
    groups = {"errors": errors, "warnings": warn}
    coords = plan.config.coordinates
    if coords is not None and coords.by_row:
        cg = {"scan_index": DataArray(np.arange(st.n_rows), "", "scan index")}
        for k, v in coords.by_row.items():
            cg[nexus_name(k)] = DataArray(v if v.dtype.kind == "f" else v.astype(object), "",
                                         f"coordinate {k}")
        first = next((k for k, v in cg.items() if k != "scan_index" and v.values.dtype.kind == "f"),
                     None)
        groups["coordinates"] = DataGroup(cg, signal=first,
                                          axes=["scan_index"] if first else [],
                                          title="per-scan coordinates")
    done = sum(p.stop - p.start for p in parts)
    summary = {"pipeline": name, "n_scans": st.n_rows, "n_computed": done,
               "n_failed": len(err_rows), "n_ok": done - len(err_rows),
               "n_pending": st.n_rows - done, "stack": st.rel, "dataset": st.dataset or "",
               "element": st.info.get("element"), "warning_counts": table.counts(),
               "block_warnings": "; ".join(w["message"] for w in block_warnings[:20])}
    prov = Provenance(step=f"batch.{name}.stack", parameters={
        "pipeline": plan.prepared[name].parameters, "block": params},
        source_file=str(st.path), source_sha256=st.sha256)
    rec = Record(name=nexus_name(f"{name}_{Path(st.rel).stem}_stack"), kind="batch_stack",
                 summary=summary, provenance=prov, groups=groups)
    return rec, parts


def _write_stack_columns(f, rec, plan: Plan, name: str, parts) -> dict[str, Any]:
    """The [nScan] columns, chunked and compressed, filled part by part; medians back."""
    import h5py

    st, spec = plan.stack, plan.specs[name]
    n = st.n_rows
    g = f[rec.name].create_group("scans")
    g.attrs["NX_class"] = "NXdata"
    g.attrs["signal"] = spec.columns[0].name
    g.attrs["axes"] = "scan_index"
    g.attrs["scan_index_indices"] = 0
    chunks = (max(1, min(n, 65536)),)
    kw = dict(chunks=chunks, compression="gzip", compression_opts=1, shuffle=True)
    idx = g.create_dataset("scan_index", shape=(n,), dtype=np.int64, **kw)
    idx.attrs.update(units="", long_name="scan index")
    for lo in range(0, n, 1 << 20):
        idx[lo:min(n, lo + (1 << 20))] = np.arange(lo, min(n, lo + (1 << 20)))
    status = g.create_dataset("status", shape=(n,), dtype=np.int8, fillvalue=-1, **kw)
    status.attrs.update(units="", long_name="1 ok, 0 failed, -1 not computed yet")
    cols = {}
    for c in spec.columns:
        ds = g.create_dataset(c.name, shape=(n,), dtype=np.float64, fillvalue=np.nan, **kw)
        ds.attrs.update(units=c.units, long_name=c.long_name)
        cols[c.name] = ds
    g.attrs["auxiliary_signals"] = [c.name for c in spec.columns[1:]] + ["status"]
    sums = {c.name: [] for c in spec.columns}
    for p in parts:
        with h5py.File(p.chunk, "r") as h:
            pg = h[CHUNK_GROUP][name]
            ok = np.ones(p.stop - p.start, dtype=np.int8)
            ok[pg["error_rows"][()]] = 0
            status[p.start:p.stop] = ok
            for c, ds in cols.items():
                if c in pg["values"]:
                    v = pg["values"][c][()]
                    ds[p.start:p.stop] = v
                    fin = v[np.isfinite(v)]
                    if fin.size:
                        sums[c].append(np.median(fin))
    return {f"{c}_median_of_chunks": float(np.median(v)) if v else None
            for c, v in sums.items()}


# --------------------------------------------------------------------------- assemble
def _batch_record(plan: Plan, counts: dict[str, Any]):
    from naheo_spec.provenance import Provenance
    from naheo_spec.records import Record

    cfg = plan.config
    prov = Provenance(step="batch", parameters={
        "config": cfg.raw, "pipelines": {n: p.parameters for n, p in plan.prepared.items()}},
        source_file=str(cfg.path), source_sha256=cfg.sha256)
    return Record(name="batch", kind="batch", summary=dict(counts, config=str(cfg.path),
                                                           pipelines=list(plan.specs)),
                  provenance=prov)


def assemble(plan: Plan, ledger: Ledger) -> None:
    """Write the store, the summary table and the report from the committed chunks,
    each atomically."""
    import h5py

    from naheo_spec.atomic import atomic_path
    from naheo_spec.batch.operando import operando_record, operando_table
    from naheo_spec.store import write_records

    cfg = plan.config
    state = state_hash(plan, ledger)
    counts: dict[str, Any] = {}
    records, tables, stack_parts, operando = [], {}, {}, None
    if plan.stack is None:
        tables = file_tables(plan, ledger)
        for name, t in tables.items():
            records.append(_table_record(t, plan))
            counts[f"{name}_n_ok"] = int(sum(t.status))
            counts[f"{name}_n_failed"] = len(t) - int(sum(t.status))
        operando = operando_table(tables)
        if operando is not None:
            records.append(operando_record(operando, plan))
    else:
        for name in plan.specs:
            rec, parts = _stack_skeleton(plan, ledger, name)
            records.append(rec)
            stack_parts[name] = (rec, parts)
            counts[f"{name}_n_ok"] = rec.summary["n_ok"]
            counts[f"{name}_n_failed"] = rec.summary["n_failed"]
    records.insert(0, _batch_record(plan, counts))
    with atomic_path(cfg.store, overwrite=True) as tmp:
        write_records(tmp, records, overwrite=True)
        with h5py.File(tmp, "a") as f:
            f.attrs["naheo_batch_state"] = state
            f.attrs["naheo_batch_config"] = str(cfg.path)
            for name, (rec, parts) in stack_parts.items():
                _write_stack_columns(f, rec, plan, name, parts)
            _copy_scan_records(f, tables)
    if cfg.summary is not None:
        write_summary(cfg.summary, plan, tables, [r for r in records
                                                  if r.kind == "batch_stack"])
        if operando is not None:
            write_operando_csv(cfg.summary.with_name(cfg.summary.stem + "_operando.csv"),
                               operando)
    if cfg.report is not None:
        from naheo_spec.batch.report import write_report

        write_report(cfg.store, cfg.report)


def _copy_scan_records(f, tables: dict[str, FileTable]) -> None:
    import h5py

    by_chunk: dict[Path, list[tuple[str, str]]] = defaultdict(list)
    for t in tables.values():
        for src, dst in zip(t.record_src, t.record_name):
            if src is not None:
                by_chunk[src[0]].append((src[1], dst))
    for chunk, pairs in by_chunk.items():
        with h5py.File(chunk, "r") as h:
            for src, dst in pairs:
                h.copy(h[src], f, name=dst)
                f[dst]["title"][()] = dst


# --------------------------------------------------------------------------- tables
def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if not np.isfinite(v) else repr(v)
    return v


def write_summary(path: Path, plan: Plan, tables: dict[str, FileTable], stack_recs) -> None:
    """The summary table: one row per scan (files, all pipelines side by side) or one row
    per pipeline (a stack: the per-scan arrays are in the store), CSV or JSON."""
    from naheo_spec.atomic import atomic_path

    rows: list[dict[str, Any]] = []
    if tables:
        index: dict[tuple[str, str], dict[str, Any]] = {}
        coord_names: list[str] = []
        for name, t in tables.items():
            for i in range(len(t)):
                row = index.get((t.file[i], t.scan[i]))
                if row is None:
                    row = index[(t.file[i], t.scan[i])] = {
                        "file": t.file[i], "scan": t.scan[i], "element": t.element[i] or None,
                        "file_sha256": t.sha[i]}
                    rows.append(row)
                for k, v in t.coords[i].items():
                    row[k] = v
                    if k not in coord_names:
                        coord_names.append(k)
                row[f"{name}_status"] = "ok" if t.status[i] else "failed"
                for c in t.columns:
                    row[f"{name}_{c.name}"] = t.values[c.name][i]
                row[f"{name}_error"] = t.error[i] or None
                row[f"{name}_n_warnings"] = t.n_warnings[i]
        head = ["file", "scan", "element", *coord_names, "file_sha256"]
        columns = head + [k for k in dict.fromkeys(k for r in rows for k in r) if k not in head]
    else:
        for rec in stack_recs:
            rows.append({k: v for k, v in rec.summary.items() if not isinstance(v, dict)})
        columns = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path, overwrite=True) as tmp:
        if path.suffix.lower() == ".json":
            from naheo_spec.store.convert import json_safe

            tmp.write_text(json.dumps([json_safe({c: r.get(c) for c in columns}) for r in rows],
                                      indent=1, allow_nan=False) + "\n")
        else:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=columns)
                w.writeheader()
                for r in rows:
                    w.writerow({c: _cell(r.get(c)) for c in columns})


def write_operando_csv(path: Path, table) -> None:
    from naheo_spec.atomic import atomic_path

    with atomic_path(path, overwrite=True) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(table.columns)
            for r in table.rows:
                w.writerow([_cell(v) for v in r])
