"""What a batch has to compute: inputs hashed, every scan keyed by input hash and parameters.

A *unit* is one input file for one pipeline (all the scans of the file), or one HDF5 stack
for one pipeline (its rows, committed in ranges). Its key is the SHA-256 of

- the pipeline name, its adapter version and its resolved parameters
  (:attr:`~naheo_spec.batch.registry.Prepared.parameters`: options, standards' hashes and
  calibration line, ...) and the reader options;
- the input's path relative to the config and the SHA-256 of its bytes.

Equal keys mean equal numbers, so a re-run skips them; editing a file or a parameter
changes the key and the scan is computed again.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naheo_spec.batch.config import BatchConfig
from naheo_spec.batch.registry import PipelineSpec, Prepared, get_pipeline

__all__ = ["FileInput", "StackInput", "Plan", "make_plan", "prepare_pipelines", "unit_key"]


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


def unit_key(param_hash: str, ident: str, sha: str) -> str:
    """Key of one unit: hash of the pipeline's parameter hash, the input's name and hash."""
    return hashlib.sha256(f"{param_hash}|{ident}|{sha}".encode()).hexdigest()[:40]


@dataclass
class FileInput:
    """One input file: path, path relative to the config folder, SHA-256 of its bytes."""

    path: Path
    rel: str
    sha256: str


@dataclass
class StackInput:
    """The HDF5 stack input, opened once to find its rows and element."""

    path: Path
    rel: str
    sha256: str
    dataset: str | None
    n_rows: int
    info: dict[str, Any]


@dataclass
class Plan:
    """Inputs, pipelines and keys of one run.

    Attributes
    ----------
    specs, prepared : dict
        Pipeline specs and their prepared options, by name (config order).
    param_hash : dict of str to str
        Hash of each pipeline's parameters (and the reader options).
    files : list of FileInput
    stack : StackInput or None
    keys : dict of (str, str) to str
        ``(pipeline, rel) -> unit key`` for every input.
    """

    config: BatchConfig
    specs: dict[str, PipelineSpec]
    prepared: dict[str, Prepared]
    param_hash: dict[str, str]
    files: list[FileInput] = field(default_factory=list)
    stack: StackInput | None = None
    keys: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def technique(self) -> str | None:
        if self.config.technique:
            return self.config.technique
        techs = {s.technique for s in self.specs.values()}
        return techs.pop() if len(techs) == 1 else None

    def add_files(self, files: list[FileInput]) -> None:
        for f in files:
            self.files.append(f)
            for name in self.specs:
                self.keys[(name, f.rel)] = unit_key(self.param_hash[name], f.rel, f.sha256)


def prepare_pipelines(cfg: BatchConfig) -> tuple[dict[str, PipelineSpec], dict[str, Prepared],
                                                 dict[str, str]]:
    """Specs, prepared options and parameter hashes of the config's pipelines."""
    specs = {name: get_pipeline(name) for name in cfg.pipelines}
    prepared = {name: specs[name].prepare(opts, cfg.base_dir)
                for name, opts in cfg.pipelines.items()}
    hashes = {name: hashlib.sha256(_canon({
        "pipeline": name, "version": specs[name].version,
        "parameters": prepared[name].parameters, "read": cfg.read_options,
        "technique": cfg.technique, "scan_records": cfg.scan_records}).encode()).hexdigest()
        for name in specs}
    return specs, prepared, hashes


class ShaCache:
    """SHA-256 of files, recomputed only when size or modification time change."""

    def __init__(self):
        self._seen: dict[Path, tuple[int, int, str]] = {}

    def __call__(self, path: Path) -> str:
        from naheo_spec.provenance import file_sha256

        st = path.stat()
        got = self._seen.get(path)
        if got is not None and got[:2] == (st.st_size, st.st_mtime_ns):
            return got[2]
        sha = file_sha256(path)
        self._seen[path] = (st.st_size, st.st_mtime_ns, sha)
        return sha


def file_inputs(paths: list[Path], base: Path, sha: ShaCache | None = None) -> list[FileInput]:
    sha = sha or ShaCache()
    out = []
    for p in paths:
        try:
            rel = p.resolve().relative_to(base).as_posix()
        except ValueError:
            rel = str(p.resolve())
        out.append(FileInput(p, rel, sha(p)))
    return out


def make_plan(cfg: BatchConfig, *, pipelines=None) -> Plan:
    """Prepare the pipelines, hash the inputs and key every unit.

    Parameters
    ----------
    cfg : BatchConfig
    pipelines : tuple, optional
        ``prepare_pipelines(cfg)`` done already (watch reuses it).

    Raises
    ------
    InputError, CalibrationError
        A pipeline option is wrong or its standards cannot be built.
    ReadError
        The stack cannot be opened.
    """
    from naheo_spec.provenance import file_sha256

    hashing = None
    if pipelines is None and cfg.stack is not None and cfg.stack.is_file():
        import concurrent.futures
        import threading

        # hashlib releases the GIL: a 2 GB stack is hashed while the pipelines import
        # and prepare (~1 s each); a configuration error stops it (no wait for the hash)
        hashing, stop = concurrent.futures.ThreadPoolExecutor(1), threading.Event()
        sha_future = hashing.submit(file_sha256, cfg.stack, stop=stop)
    try:
        specs, prepared, hashes = pipelines or prepare_pipelines(cfg)
    except BaseException:
        if hashing is not None:
            stop.set()
        raise
    finally:
        if hashing is not None:
            hashing.shutdown(wait=True)
    plan = Plan(cfg, specs, prepared, hashes)
    if cfg.stack is not None:
        first = next(iter(specs.values()))
        sha = sha_future.result() if hashing is not None else file_sha256(cfg.stack)
        src = first.open_stack(cfg.stack, cfg.dataset, sha256=sha)
        try:
            n, info = src.n_rows, dict(src.info)
        finally:
            src.close()
        try:
            rel = cfg.stack.resolve().relative_to(cfg.base_dir).as_posix()
        except ValueError:
            rel = str(cfg.stack.resolve())
        plan.stack = StackInput(cfg.stack, rel, sha, cfg.dataset, n, info)
        coords = cfg.coordinates
        if coords is not None and coords.by_row:
            got = len(next(iter(coords.by_row.values())))
            if got != n:
                from naheo_spec.errors import InputError

                raise InputError(f"{cfg.path}: [input] coordinates {coords.path}: {got} rows "
                                 f"for a stack of {n} scans")
        for name in specs:
            plan.keys[(name, rel)] = unit_key(hashes[name], f"{rel}:{cfg.dataset or ''}", sha)
    else:
        plan.add_files(file_inputs(cfg.files, cfg.base_dir))
    return plan
