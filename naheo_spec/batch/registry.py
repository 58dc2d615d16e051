"""The pipeline registry: what ``naheo-spec batch`` can run, declared by each technique.

A technique plugs its batch adapter in from its own folder: a module
``naheo_spec/<technique>/batch.py`` defines ``PIPELINE = PipelineSpec(...)`` (or
``PIPELINES = [...]``) and is discovered on first use, like the readers of
:mod:`naheo_spec.io.registry`; no file of the batch package is edited. Third-party
packages can add pipelines through the entry-point group ``naheo_spec.pipelines``.

An adapter is a thin layer over the technique's public pipeline functions:

- ``prepare(options, base_dir) -> prepared``: validate the options of the config's
  ``[<name>]`` table and do the once-per-run work (e.g. build a valence calibration from
  standards). Runs in the main process before any scan; raises
  :class:`~naheo_spec.errors.InputError` naming the key for a bad option. The returned
  object is sent to the workers (it must pickle).
- ``run_scan(spectrum, prepared) -> ScanOutput``: one scan (a file input); raises on
  failure (the runner records the error and goes on).
- ``run_block(stack, prepared) -> BlockOutput`` (optional): a block of rows of an HDF5
  stack through the vectorized kernels; failed rows are NaN with a message, never an
  exception for the block.
- ``columns``: the per-scan numbers the pipeline reports (the store's table and the
  summary CSV), with ASCII units.

Examples
--------
>>> from naheo_spec.batch.registry import get_pipeline
>>> spec = get_pipeline("xanes")
>>> spec.technique, spec.columns[0].name
('xas', 'e0_eV')
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import StackWarnings, WarningCode, WarningRecord
from naheo_spec.errors import InputError, QualityWarning

__all__ = ["Column", "Prepared", "ScanOutput", "BlockOutput", "PipelineSpec", "pipelines", "get_pipeline",
           "ENTRY_POINT_GROUP"]

#: Entry-point group through which other packages register pipelines.
ENTRY_POINT_GROUP = "naheo_spec.pipelines"

PLUGIN_FAILED = WarningCode("batch.registry.plugin_failed", QualityWarning,
                            "A pipeline plug-in (entry point) failed to load; it was skipped.")


@dataclass(frozen=True)
class Column:
    """One per-scan number a pipeline reports.

    Parameters
    ----------
    name : str
        NeXus-safe name with the unit in it where there is one (``"e0_eV"``).
    units : str
        ASCII UDUNITS unit (``"eV"``, ``"angstrom"``; ``""`` for dimensionless).
    long_name : str
        What it is, for tables and plot labels.
    """

    name: str
    units: str = ""
    long_name: str = ""


@dataclass
class Prepared:
    """What ``prepare`` returns.

    Attributes
    ----------
    parameters : dict
        JSON-safe, every option resolved (file options replaced by the file's SHA-256 and
        the numbers derived from it, e.g. a calibration line). Part of every scan's key and
        of the provenance: two runs with equal parameters give equal numbers.
    payload : object
        What ``run_scan``/``run_block`` need (options, calibrations); must pickle.
    """

    parameters: dict[str, Any]
    payload: Any = None


@dataclass
class ScanOutput:
    """What a pipeline gives for one scan of a file.

    Attributes
    ----------
    values : dict of str to float or None
        One value per :attr:`PipelineSpec.columns` name (missing names are NaN).
    record : Record or None
        The single-file pipeline's full result (``to_record()``), written to the store.
    warnings : tuple of WarningRecord
        The scan's coded warnings.
    element : str or None
        The absorber / the scan's element when the technique has one.
    """

    values: dict[str, float | None]
    record: Any = None
    warnings: tuple[WarningRecord, ...] = ()
    element: str | None = None


@dataclass
class BlockOutput:
    """What a pipeline gives for a block of ``n`` rows of a stack.

    Attributes
    ----------
    values : dict of str to ndarray of shape (n,)
        One float array per column name (NaN for failed rows).
    errors : dict of int to str
        Message of each failed row (row index within the block).
    row_warnings : StackWarnings
        Per-row coded warnings (sparse).
    parameters : dict
        Every parameter the block used, resolved (provenance).
    element : str or None
        The stack's element.
    warnings : tuple of WarningRecord
        Block-level records that are not tied to rows.
    """

    values: dict[str, np.ndarray]
    errors: dict[int, str] = field(default_factory=dict)
    row_warnings: StackWarnings | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    element: str | None = None
    warnings: tuple[WarningRecord, ...] = ()


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline that ``naheo-spec batch`` can run (one config table ``[name]``).

    Parameters
    ----------
    name : str
        Config table name and the prefix of its outputs (``"xanes"``).
    technique : str
        Technique whose reader registry reads its files (``"xas"``, ``"xps"``, ``"raman"``).
    description : str
        One line.
    options : mapping of str to str
        Config keys accepted in ``[name]``, each with a one-line help.
    columns : sequence of Column
        Per-scan numbers (see :class:`Column`).
    prepare : callable
        ``prepare(options: dict, base_dir: Path) -> Prepared`` (see the module docstring).
    run_scan : callable
        ``run_scan(spectrum, prepared) -> ScanOutput``.
    run_block : callable, optional
        ``run_block(stack, prepared) -> BlockOutput``; None: the pipeline takes files only.
    open_stack : callable, optional
        ``open_stack(path, dataset, **info) -> source`` for ``run_block``: an object with
        ``n_rows``, ``info`` (a dict of picklable keywords that reopen it the same way, e.g.
        the element found once), ``read(start, stop) -> SpectrumStack`` (rows of the file,
        labels and source set) and ``close()``. Pipelines of one technique share it.
    version : str
        Version of the adapter's outputs; part of every scan's key (bump it when the
        numbers an adapter produces change, so that a re-run recomputes). Default ``"1"``.
    scans : callable, optional
        ``scans(collection, prepared) -> iterable of (spectrum, context dict)``: which
        blocks of a file the pipeline runs on, with keyword context for ``run_scan``
        (``run_scan(spectrum, prepared, **context)``), e.g. the XPS blocks of one region
        and the charge reference found in the same file. Default None: every spectrum of
        the file, no context.
    warm : callable, optional
        ``warm()``, run once by each fresh worker process before its first task (imports,
        tables), while the main process is still hashing the inputs. Must pickle (a
        module-level function). Default None.
    block_cost_us : float
        Typical CPU time of ``run_block`` per stack row, microseconds (measured on the
        project's 2-vCPU VM); ``scheduler = "auto"`` multiplies it by the rows to judge
        whether worker processes repay their start-up. Default 0: ``auto`` never starts
        them for this pipeline.
    """

    name: str
    technique: str
    description: str
    options: Mapping[str, str]
    columns: Sequence[Column]
    prepare: Callable[[dict, Path], Prepared]
    run_scan: Callable[[Any, Any], ScanOutput]
    run_block: Callable[[Any, Any], BlockOutput] | None = None
    open_stack: Callable[..., Any] | None = None
    version: str = "1"
    scans: Callable[[Any, Any], Any] | None = None
    warm: Callable[[], None] | None = None
    block_cost_us: float = 0.0
    origin: str = field(default="", compare=False)

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def check_options(self, options: Mapping[str, Any], where: str) -> None:
        """Raise InputError for a key the pipeline does not take (with the closest one)."""
        import difflib

        for key in options:
            if key not in self.options:
                close = difflib.get_close_matches(key, list(self.options), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InputError(f"{where}: unknown key {key!r} in [{self.name}]{hint}; "
                                 f"known keys: {', '.join(sorted(self.options))}")


_CACHE: dict[str, PipelineSpec] | None = None


def _specs_of(module, origin: str) -> list[PipelineSpec]:
    found = getattr(module, "PIPELINES", None)
    if found is None:
        found = [module.PIPELINE] if hasattr(module, "PIPELINE") else []
    if isinstance(module, PipelineSpec):
        found = [module]
    elif isinstance(module, (list, tuple)):
        found = list(module)
    out = []
    for spec in found:
        if not isinstance(spec, PipelineSpec):
            raise TypeError(f"{origin}: expected PipelineSpec, got {type(spec).__name__}")
        out.append(PipelineSpec(**{**spec.__dict__, "origin": origin}))
    return out


#: Packages of naheo_spec that are not technique folders (cli/batch.py is the command).
_NOT_TECHNIQUES = frozenset({"batch", "cli", "io", "store", "model", "plot", "numerics",
                             "demo", "datasets"})


def _adapter_modules() -> list[str]:
    import naheo_spec

    root = Path(naheo_spec.__path__[0])
    return [f"naheo_spec.{m.name}.batch"
            for m in sorted(pkgutil.iter_modules([str(root)]), key=lambda m: m.name)
            if m.ispkg and m.name not in _NOT_TECHNIQUES
            and (root / m.name / "batch.py").is_file()]


def _discover() -> dict[str, PipelineSpec]:
    specs: list[PipelineSpec] = []
    for mod_name in _adapter_modules():
        specs.extend(_specs_of(importlib.import_module(mod_name), mod_name))
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            specs.extend(_specs_of(ep.load(), f"entry point {ep.name} ({ep.value})"))
        except Exception as exc:  # a broken plug-in must not break the others  # noqa: BLE001
            PLUGIN_FAILED.warn(f"pipeline plug-in {ep.name!r} ({ep.value}) failed to load: "
                               f"{type(exc).__name__}: {exc}")
    out: dict[str, PipelineSpec] = {}
    for s in specs:
        if s.name in out:
            raise RuntimeError(f"pipeline {s.name!r} declared twice ({out[s.name].origin} and "
                               f"{s.origin})")
        out[s.name] = s
    return out


def pipelines() -> dict[str, PipelineSpec]:
    """Every registered pipeline by name (discovered on first call)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = _discover()
    return dict(_CACHE)


def get_pipeline(name: str) -> PipelineSpec:
    """The pipeline ``name``.

    Raises
    ------
    InputError
        Unknown name (the message lists the registered ones).
    """
    found = pipelines()
    if name not in found:
        raise InputError(f"unknown pipeline [{name}]; registered: {', '.join(sorted(found))}")
    return found[name]
