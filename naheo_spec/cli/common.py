"""Helpers shared by the CLI subcommands: JSON output, batch loops, warnings capture.

Warnings are :class:`~naheo_spec.diagnostics.WarningRecord` objects everywhere; ``--json``
prints each as ``{"code": ..., "message": ...}`` and the plain-text output prints
``warning: [code] message`` lines on stderr.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import click

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON on stdout (human text goes to stderr).")
overwrite_option = click.option("--overwrite", is_flag=True,
                                help="Replace existing output files (default: refuse).")


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, Paths, tuples and NaN to JSON-safe values (NaN -> null)."""
    import numpy as np

    from naheo_spec.diagnostics import WarningRecord

    if isinstance(obj, WarningRecord):
        return obj.to_json()
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else obj
    if isinstance(obj, Path):
        return str(obj)
    return obj


def print_json(obj: Any) -> None:
    click.echo(json.dumps(to_jsonable(obj), indent=2))


def echo_err(msg: str) -> None:
    click.echo(msg, err=True)


@dataclass
class Outcome:
    """Result of processing one input in a batch."""

    file: str
    value: Any = None
    error: str | None = None
    warnings: list = field(default_factory=list)     # WarningRecord

    @property
    def ok(self) -> bool:
        return self.error is None


def format_option(dest: str = "fmt"):
    """``--format NAME``: read the inputs with this registered format instead of by content."""
    return click.option("--format", dest, default=None, metavar="NAME",
                        help="Read the inputs with this format (see `naheo-spec formats`); "
                             "default: chosen by content.")


def run_batch(items: Iterable[Any], fn: Callable[[Any], Any], *, label: Callable[[Any], str] = str,
              desc: str = "processing", debug: bool = False) -> list[Outcome]:
    """Apply ``fn`` to each item, catching errors per item so a bad input never stops the batch.

    Warnings raised while processing an item are collected, as coded records and without
    repeats, into ``Outcome.warnings``.
    A progress bar (stderr) is shown when stderr is a terminal and there are several items.
    """
    from naheo_spec.diagnostics import capture, unique
    from naheo_spec.errors import NaheoError

    items = list(items)
    outcomes: list[Outcome] = []
    bar = None
    if len(items) > 1 and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc=desc, unit="file", file=sys.stderr, mininterval=0.5,
                   delay=1.0)
    for item in items:
        name = label(item)
        with capture() as caught:
            try:
                value = fn(item)
                out = Outcome(name, value=value)
            except NaheoError as exc:
                if debug:
                    raise
                out = Outcome(name, error=cli_message(exc))
            except Exception as exc:  # keep the batch going; say what broke
                if debug:
                    raise
                out = Outcome(name, error=f"{type(exc).__name__}: {exc}")
        out.warnings = list(unique(caught))
        outcomes.append(out)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return outcomes


def report_failures(outcomes: list[Outcome], *, total: int | None = None, unit: str = "input") -> int:
    """Print one line per failure on stderr; return the exit code (1 if any failed).

    ``total`` is what the count is out of (default ``len(outcomes)``); pipelines pass the
    number of files that could not be read plus the number of scans, with ``unit="file/scan"``.
    """
    bad = [o for o in outcomes if not o.ok]
    for o in bad:
        echo_err(f"error: {o.error}" if o.file in (o.error or "") else f"error: {o.file}: {o.error}")
    if bad:
        echo_err(f"{len(bad)} of {len(outcomes) if total is None else total} {unit}(s) failed")
    return 1 if bad else 0


def echo_warnings(records, *, indent: str = "  ") -> None:
    """Print records on stderr as ``warning: [code] message`` lines."""
    for r in records:
        echo_err(f"{indent}warning: [{r.code}] {r.message}")


def merge_warnings(*groups) -> list:
    """Records of several groups, in order, without repeats."""
    from naheo_spec.diagnostics import unique

    return list(unique(r for g in groups for r in g))


def debug_flag(ctx) -> bool:
    """The global ``--debug`` flag."""
    return bool(ctx.obj.get("debug", False)) if ctx.obj else False


def cli_message(exc: Exception) -> str:
    """The error message in the CLI's words: an API keyword ``name=`` named by the error
    (``InputError.parameter``) becomes its flag ``--name``."""
    text = str(exc)
    param = getattr(exc, "parameter", None)
    if param:
        text = text.replace(f"{param}=", f"--{param.replace('_', '-')} ")
    return text
