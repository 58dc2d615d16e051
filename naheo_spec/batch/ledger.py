"""The work folder of a batch: chunk files committed atomically, and the ledger read from them.

Layout of ``<store stem>.batch/`` (next to the store)::

    README.txt          what the folder is (do not edit; delete it to start afresh)
    manifest.json       the config and the outputs this folder belongs to
    lock                held (flock) while a batch or watch runs on the folder
    chunks/c00000001.h5 one committed chunk: every result of a group of files or of a
                        range of stack rows, for one or more pipelines
    .tmp-*.h5           a chunk being written (removed at the next start)

A chunk is written under a temporary name (by the worker that computed it), flushed to
disk (``fsync``), and *committed* by the main process with one ``os.replace`` onto its
final name: a chunk file either exists complete or not at all, whatever kills the run
(SIGKILL included). The ledger is the union of the committed chunks; a re-run computes
only the keys it lacks. When a key is in several chunks (``--force``), the newest wins.

Inside a chunk, group ``batch_chunk`` (NXcollection) holds one subgroup per pipeline:

- files: datasets ``unit_key, file, file_sha256, scan, status (1 ok / 0 failed), error,
  element, record, seconds, warnings_json, coords_json`` and ``values/<column>``, one row
  per scan (a file that cannot be read: one failed row with an empty scan); the scans'
  records are NXentries of the chunk file (``record`` names them);
- stacks: attributes ``unit_key, start, stop`` (rows of the stack), ``values/<column>``,
  the failed rows (``error_rows``, ``error_index``, ``error_messages``) and the sparse
  warning table (``warnings/*``, :meth:`~naheo_spec.diagnostics.StackWarnings.to_arrays`).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.errors import InputError, StoreError

__all__ = ["Ledger", "FileRows", "write_file_chunk", "write_stack_chunk", "fsync_file",
           "RowRef", "StackPart"]

CHUNK_GROUP = "batch_chunk"
_CHUNK = re.compile(r"^c(\d{8})\.h5$")
README = """This folder belongs to a naheo-spec batch run (results store: {store}).

It holds the results computed so far, one file per committed chunk, so that the run can
be resumed after a crash or an interruption without recomputing anything. The store and
the summary table are rebuilt from it. Do not edit files here; delete the whole folder to
start again from scratch (the store is then rebuilt on the next run).
"""


def fsync_file(path: Path) -> None:
    """Flush a file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _strings(values) -> np.ndarray:
    return np.array(["" if v is None else str(v) for v in values], dtype=object)


# --------------------------------------------------------------------------- writing
@dataclass
class FileRows:
    """The rows of one pipeline in a files chunk (one per scan)."""

    columns: list[str]
    unit_key: list[str] = field(default_factory=list)
    file: list[str] = field(default_factory=list)
    file_sha256: list[str] = field(default_factory=list)
    scan: list[str | None] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    error: list[str | None] = field(default_factory=list)
    element: list[str | None] = field(default_factory=list)
    record: list[str | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    warnings_json: list[str] = field(default_factory=list)
    coords_json: list[str] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, *, unit_key, file, sha, scan, error=None, element=None, record=None,
            seconds=0.0, warnings=(), coords=None, values=None) -> None:
        self.unit_key.append(unit_key)
        self.file.append(file)
        self.file_sha256.append(sha)
        self.scan.append(scan)
        self.status.append(0 if error else 1)
        self.error.append(error)
        self.element.append(element)
        self.record.append(record)
        self.seconds.append(float(seconds))
        self.warnings_json.append(json.dumps([w.to_json() for w in warnings]))
        self.coords_json.append(json.dumps(coords or {}, default=str, allow_nan=True))
        for c in self.columns:
            v = (values or {}).get(c)
            self.values.setdefault(c, []).append(np.nan if v is None else float(v))

    def __len__(self) -> int:
        return len(self.unit_key)


def _write_strings(group, name: str, values) -> None:
    import h5py

    group.create_dataset(name, data=_strings(values), dtype=h5py.string_dtype("utf-8"))


def write_file_chunk(path: Path, rows: dict[str, FileRows], records: list) -> Path:
    """Write a files chunk (records as NXentries, then the ledger rows) to ``path`` and
    flush it to disk. ``path`` must not exist (a temporary name)."""
    import h5py

    from naheo_spec.store import write_records

    if records:
        write_records(path, records)
        mode = "a"
    else:
        mode = "w"
    with h5py.File(path, mode) as f:
        top = f.create_group(CHUNK_GROUP)
        top.attrs["NX_class"] = "NXcollection"
        top.attrs["kind"] = "files"
        for name, r in rows.items():
            g = top.create_group(name)
            for key in ("unit_key", "file", "file_sha256", "scan", "error", "element",
                        "record", "warnings_json", "coords_json"):
                _write_strings(g, key, getattr(r, key))
            g.create_dataset("status", data=np.asarray(r.status, dtype=np.int8))
            g.create_dataset("seconds", data=np.asarray(r.seconds, dtype=float))
            vg = g.create_group("values")
            for c in r.columns:
                vg.create_dataset(c, data=np.asarray(r.values.get(c, []), dtype=float))
    fsync_file(path)
    return path


def write_stack_chunk(path: Path, pipeline: str, *, unit_key: str, start: int, stop: int,
                      values: dict[str, np.ndarray], errors: dict[int, str], row_warnings,
                      parameters: dict, element: str | None, seconds: float,
                      warnings=(), label: str = "") -> Path:
    """Write a stack chunk (rows ``start:stop`` of one stack for one pipeline) to ``path``
    (compressed, chunked) and flush it to disk."""
    import h5py

    from naheo_spec.store import dumps_lossless

    n = stop - start
    with h5py.File(path, "w") as f:
        top = f.create_group(CHUNK_GROUP)
        top.attrs["NX_class"] = "NXcollection"
        top.attrs["kind"] = "stack"
        g = top.create_group(pipeline)
        g.attrs.update(unit_key=unit_key, start=int(start), stop=int(stop),
                       element=element or "", label=label or "", seconds=float(seconds),
                       parameters_json=dumps_lossless(parameters, where="block parameters"),
                       warnings_json=json.dumps([w.to_json() for w in warnings]))
        vg = g.create_group("values")
        for c, v in values.items():
            v = np.asarray(v, dtype=float)
            if v.shape != (n,):
                raise StoreError(f"{pipeline}: column {c!r} has shape {v.shape}, expected ({n},)")
            vg.create_dataset(c, data=v, chunks=(max(1, min(n, 65536)),), compression="gzip",
                              compression_opts=1, shuffle=True)
        rows = np.array(sorted(errors), dtype=np.int64)
        msgs = list(dict.fromkeys(errors[int(i)] for i in rows))
        g.create_dataset("error_rows", data=rows)
        g.create_dataset("error_index",
                         data=np.array([msgs.index(errors[int(i)]) for i in rows], dtype=np.int32))
        _write_strings(g, "error_messages", msgs)
        wg = g.create_group("warnings")
        if row_warnings is not None:
            arr = row_warnings.to_arrays()
            for key in ("rows", "code_index", "message_index"):
                wg.create_dataset(key, data=np.asarray(arr[key]))
            _write_strings(wg, "codes", arr["codes"])
            _write_strings(wg, "messages", arr["messages"])
            wg.attrs["n_rows"] = int(arr["n_rows"])
    fsync_file(path)
    return path


# --------------------------------------------------------------------------- reading
@dataclass
class RowRef:
    """Where a scan's result lives: chunk file, pipeline group and row."""

    chunk: Path
    seq: int
    index: int
    file: str
    scan: str | None
    ok: bool
    error: str | None


@dataclass
class StackPart:
    """A committed range of stack rows."""

    chunk: Path
    seq: int
    start: int
    stop: int
    n_failed: int


def _read_strings(ds) -> list[str]:
    return [str(v) for v in ds.asstr()[()]]


class Ledger:
    """What the work folder holds: committed chunks indexed by unit key.

    Parameters
    ----------
    work_dir : Path
        The work folder (created with its README and manifest when missing).
    """

    def __init__(self, work_dir: Path):
        self.work_dir = Path(work_dir)
        self.chunks_dir = self.work_dir / "chunks"
        #: (pipeline, unit_key) -> rows of the newest chunk holding that key
        self.files: dict[tuple[str, str], list[RowRef]] = {}
        #: (pipeline, unit_key) -> committed parts of a stack (newest wins on overlap)
        self.stacks: dict[tuple[str, str], list[StackPart]] = {}
        self.damaged: list[str] = []
        self.last_seq = 0
        self._lock = None

    # ------------------------------------------------------------------ folder
    @staticmethod
    def is_work_dir(path: Path) -> bool:
        return (Path(path) / "manifest.json").is_file()

    def create(self, manifest: dict[str, Any]) -> None:
        """Make the folder (README, manifest) if new; remove leftovers of killed runs."""
        self.chunks_dir.mkdir(parents=True, exist_ok=True)
        readme = self.work_dir / "README.txt"
        if not readme.exists():
            readme.write_text(README.format(store=manifest.get("store")))
        man = self.work_dir / "manifest.json"
        tmp = self.work_dir / f".tmp-manifest-{uuid.uuid4().hex}.json"
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, man)
        for leftover in self.work_dir.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                leftover.unlink()

    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads((self.work_dir / "manifest.json").read_text())
        except (OSError, ValueError):
            return {}

    def lock(self) -> None:
        """Hold the folder's lock for this process (one run at a time per store).

        Raises
        ------
        InputError
            Another batch or watch holds it.
        """
        import fcntl

        fh = open(self.work_dir / "lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise InputError(f"another naheo-spec batch or watch is running on "
                             f"{self.work_dir} (its lock is held); wait for it to finish") from None
        self._lock = fh

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def tmp_path(self) -> Path:
        """A fresh temporary chunk name inside the folder (not created)."""
        return self.work_dir / f".tmp-{uuid.uuid4().hex}.h5"

    # ------------------------------------------------------------------ index
    def load(self) -> "Ledger":
        """Index every committed chunk. A chunk that cannot be read (it should not happen:
        chunks are committed whole) is renamed ``*.damaged`` and listed in ``damaged``."""
        import h5py

        self.files.clear()
        self.stacks.clear()
        if not self.chunks_dir.is_dir():
            return self
        for path in sorted(self.chunks_dir.iterdir()):
            m = _CHUNK.match(path.name)
            if not m:
                continue
            seq = int(m.group(1))
            self.last_seq = max(self.last_seq, seq)
            try:
                with h5py.File(path, "r") as f:
                    self._index(f, path, seq)
            except (OSError, KeyError, ValueError, RuntimeError) as exc:
                self.damaged.append(f"{path.name}: {exc}")
                with contextlib.suppress(OSError):
                    os.replace(path, path.with_suffix(".damaged"))
        return self

    def _index(self, f, path: Path, seq: int) -> None:
        top = f[CHUNK_GROUP]
        kind = top.attrs["kind"]
        for pipeline, g in top.items():
            if kind == "stack":
                key = str(g.attrs["unit_key"])
                part = StackPart(path, seq, int(g.attrs["start"]), int(g.attrs["stop"]),
                                 int(g["error_rows"].shape[0]))
                self.stacks.setdefault((pipeline, key), []).append(part)
                continue
            keys = _read_strings(g["unit_key"])
            files, scans = _read_strings(g["file"]), _read_strings(g["scan"])
            status, errors = g["status"][()], _read_strings(g["error"])
            fresh: dict[str, list[RowRef]] = {}
            for i, key in enumerate(keys):
                fresh.setdefault(key, []).append(RowRef(
                    path, seq, i, files[i], scans[i] or None, bool(status[i]),
                    errors[i] or None))
            for key, refs in fresh.items():
                old = self.files.get((pipeline, key))
                if old is None or old[0].seq < seq:
                    self.files[(pipeline, key)] = refs

    def commit(self, tmp: Path) -> Path:
        """Move a complete temporary chunk into ``chunks/`` under the next number and index
        it. The rename is atomic: the chunk is in the ledger entirely or not at all."""
        import h5py

        self.last_seq += 1
        final = self.chunks_dir / f"c{self.last_seq:08d}.h5"
        os.replace(tmp, final)
        _fsync_dir(self.chunks_dir)
        with h5py.File(final, "r") as f:
            self._index(f, final, self.last_seq)
        return final

    # ------------------------------------------------------------------ queries
    def file_rows(self, pipeline: str, unit_key: str) -> list[RowRef] | None:
        return self.files.get((pipeline, unit_key))

    def stack_parts(self, pipeline: str, unit_key: str) -> list[StackPart]:
        """Committed parts, newest first where they overlap, as disjoint coverage."""
        parts = sorted(self.stacks.get((pipeline, unit_key), []), key=lambda p: -p.seq)
        chosen: list[StackPart] = []
        covered = np.zeros(0, dtype=bool)
        for p in parts:
            if covered.size < p.stop:
                covered = np.concatenate([covered, np.zeros(p.stop - covered.size, bool)])
            if covered[p.start:p.stop].any():
                continue      # overlaps a newer part (other chunking): the newer one wins
            covered[p.start:p.stop] = True
            chosen.append(p)
        return sorted(chosen, key=lambda p: p.start)

    def pending_ranges(self, pipeline: str, unit_key: str, n_rows: int,
                       chunk: int) -> list[tuple[int, int]]:
        """Row ranges of a stack not yet committed, cut into chunks of at most ``chunk``."""
        done = np.zeros(n_rows, dtype=bool)
        for p in self.stack_parts(pipeline, unit_key):
            done[p.start:min(p.stop, n_rows)] = True
        out = []
        i = 0
        while i < n_rows:
            if done[i]:
                i += 1
                continue
            j = i
            while j < n_rows and not done[j] and j - i < chunk:
                j += 1
            out.append((i, j))
            i = j
        return out

    def live_chunks(self) -> set[Path]:
        """Chunks that still hold the newest result of some key."""
        live = {r.chunk for refs in self.files.values() for r in refs}
        for (pipeline, key) in self.stacks:
            live |= {p.chunk for p in self.stack_parts(pipeline, key)}
        return live

    def drop_superseded(self) -> list[Path]:
        """Delete chunks every key of which is held by a newer chunk (after ``--force``)."""
        live = self.live_chunks()
        gone = []
        for path in sorted(self.chunks_dir.glob("c*.h5")):
            if path not in live:
                with contextlib.suppress(OSError):
                    path.unlink()
                    gone.append(path)
        return gone
