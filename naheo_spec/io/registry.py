"""The reader registry: formats declare themselves; files are read by content.

Each format is a :class:`FormatSpec` (name, technique, file extensions, a content sniffer
returning a confidence in [0, 1], and a reader) placed as a module-level ``FORMAT`` (or
``FORMATS`` list) in a module of a ``readers`` subpackage:

- ``naheo_spec/io/readers/`` for technique-neutral formats (the naheo_spec NeXus store,
  generic two-column text);
- ``naheo_spec/<technique>/readers/`` for a technique's formats (XDI, Athena, VAMAS,
  LabSpec...). A new technique adds its folder; nothing else is edited.

Third-party packages register formats through the entry-point group
``naheo_spec.formats``; each entry point names a ``FormatSpec`` or a list of them, e.g.
in the plug-in's ``pyproject.toml``::

    [project.entry-points."naheo_spec.formats"]
    mylab_xy = "mylab_reader:FORMAT"

Discovery runs once, on the first call that needs the list; reader modules keep their
heavy imports inside the reading functions, so discovery stays cheap.

:func:`read` probes a file, asks every candidate format's sniffer (only the formats of
``technique`` when one is given) and hands the file to the most confident one; ``format=``
forces a format by name or alias.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import (
    DefaultAdjustedWarning,
    InputError,
    QualityWarning,
    ReadError,
)
from naheo_spec.io.probe import Probe
from naheo_spec.model.collection import SpectrumCollection, listing

__all__ = ["FormatSpec", "formats", "get_format", "sniff", "read", "TECHNIQUES",
           "ENTRY_POINT_GROUP"]

TECHNIQUES = ("xas", "xps", "raman", "any")
ENTRY_POINT_GROUP = "naheo_spec.formats"

PLUGIN_FAILED = WarningCode(
    "io.registry.plugin_failed", QualityWarning,
    "A reader plug-in (entry point or readers module) could not be loaded; it is skipped.")
FORMAT_GUESSED = WarningCode(
    "io.format.low_confidence", DefaultAdjustedWarning,
    "The file was read by the best-matching format although no format recognised it "
    "with confidence; pass --format to choose one.")


@dataclass(frozen=True)
class FormatSpec:
    """Declaration of one file format.

    Parameters
    ----------
    name : str
        Registry name (lower case, e.g. ``"xdi"``, ``"vamas"``).
    technique : str
        ``"xas"``, ``"xps"``, ``"raman"`` or ``"any"``.
    description : str
        One line: what the format is and what is read from it.
    sniff : callable
        ``sniff(probe) -> float``: confidence in [0, 1] that the file is in this format
        (0: certainly not). Must only look at ``probe.head``/``probe.head_text`` or cheap
        attributes, never read the whole of a large file.
    read : callable
        ``read(probe, **options) -> sequence of Spectrum/SpectrumStack`` (or a
        :class:`~naheo_spec.model.collection.SpectrumCollection`). Raises
        :class:`~naheo_spec.errors.ReadError` naming the file and the problem.
    extensions : tuple of str
        Usual file extensions, without dots (informative: detection is by content).
    options : tuple of str
        Keyword options ``read`` accepts (e.g. ``("mu", "ref")``).
    aliases : tuple of str
        Other names accepted by ``format=``.
    """

    name: str
    technique: str
    description: str
    sniff: Callable[[Probe], float]
    read: Callable[..., Any]
    extensions: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    origin: str = field(default="", compare=False)

    def __post_init__(self):
        if self.technique not in TECHNIQUES:
            raise ValueError(f"FormatSpec {self.name!r}: technique must be one of {TECHNIQUES}")

    def describe(self) -> dict[str, Any]:
        """JSON-safe description (for ``naheo-spec formats``)."""
        return {"name": self.name, "technique": self.technique,
                "description": self.description, "extensions": list(self.extensions),
                "options": list(self.options), "aliases": list(self.aliases),
                "origin": self.origin}


_CACHE: list[FormatSpec] | None = None


def _specs_of(obj, origin: str) -> list[FormatSpec]:
    found = getattr(obj, "FORMATS", None) or ([obj.FORMAT] if hasattr(obj, "FORMAT") else [])
    if isinstance(obj, FormatSpec):
        found = [obj]
    elif isinstance(obj, (list, tuple)):
        found = list(obj)
    out = []
    for spec in found:
        if not isinstance(spec, FormatSpec):
            raise TypeError(f"{origin}: expected FormatSpec, got {type(spec).__name__}")
        out.append(FormatSpec(**{**spec.__dict__, "origin": origin}))
    return out


def _reader_packages() -> list[str]:
    import naheo_spec

    root = Path(naheo_spec.__path__[0])
    pkgs = ["naheo_spec.io.readers"]
    for m in sorted(pkgutil.iter_modules([str(root)]), key=lambda m: m.name):
        if m.ispkg and m.name != "io" and (root / m.name / "readers" / "__init__.py").is_file():
            pkgs.append(f"naheo_spec.{m.name}.readers")
    return pkgs


def _discover() -> list[FormatSpec]:
    specs: list[FormatSpec] = []
    for pkg_name in _reader_packages():
        pkg = importlib.import_module(pkg_name)
        for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if m.name.startswith("_"):
                continue
            mod_name = f"{pkg_name}.{m.name}"
            mod = importlib.import_module(mod_name)   # our own modules: errors are bugs
            specs.extend(_specs_of(mod, mod_name))
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            specs.extend(_specs_of(ep.load(), f"entry point {ep.name} ({ep.value})"))
        except Exception as exc:     # a broken plug-in must not break reading  # noqa: BLE001
            PLUGIN_FAILED.warn(f"reader plug-in {ep.name!r} ({ep.value}) failed to load: "
                               f"{type(exc).__name__}: {exc}")
    names: dict[str, str] = {}
    for s in specs:
        for n in (s.name, *s.aliases):
            if n in names:
                raise RuntimeError(f"format name {n!r} declared twice ({names[n]} and {s.origin})")
            names[n] = s.origin
    return specs


def formats(technique: str | None = None) -> list[FormatSpec]:
    """Registered formats (discovered on first use), optionally of one technique.

    ``technique`` also includes the technique-neutral (``"any"``) formats.
    """
    global _CACHE
    if _CACHE is None:
        _CACHE = _discover()
    if technique is None:
        return list(_CACHE)
    _check_technique(technique)
    return [s for s in _CACHE if s.technique in (technique, "any")]


def _check_technique(technique: str) -> None:
    if technique not in TECHNIQUES:
        raise InputError(f"technique={technique!r} is not known; expected one of "
                         f"{', '.join(TECHNIQUES[:-1])}", parameter="technique")


def get_format(name: str) -> FormatSpec:
    """The format registered under ``name`` or one of its aliases (case-insensitive).

    Raises
    ------
    InputError
        Unknown name (the message lists the registered ones).
    """
    key = str(name).strip().lower()
    for s in formats():
        if key == s.name or key in s.aliases:
            return s
    raise InputError(f"format {name!r} is not known; registered formats: "
                     f"{listing([s.name for s in formats()], 40)}", parameter="format")


def sniff(path: str | Path | Probe, *, technique: str | None = None
          ) -> list[tuple[float, FormatSpec]]:
    """Confidence of every candidate format for ``path``, best first (zeros dropped)."""
    probe = path if isinstance(path, Probe) else Probe(path)
    scored = []
    for spec in formats(technique):
        c = float(spec.sniff(probe))
        if c > 0:
            scored.append((min(c, 1.0), spec))
    scored.sort(key=lambda t: -t[0])
    return scored


#: Below this confidence the choice is reported as a guess.
LOW_CONFIDENCE = 0.3


def read(path: str | Path, *, format: str | None = None, technique: str | None = None,
         **options) -> SpectrumCollection:
    """Read every block of a file with the format its content matches.

    Parameters
    ----------
    path : str or Path
        The file.
    format : str, optional
        Force a registered format (name or alias, see ``naheo-spec formats``). Default
        None: the most confident sniffer wins.
    technique : str, optional
        ``"xas"``, ``"xps"`` or ``"raman"``: consider only that technique's formats and the
        neutral ones (how the pipelines read their inputs). Default None: all formats.
    **options
        Reader options (e.g. ``mu="ln(i0/it)"`` for XAS column files,
        ``photon_energy=1486.6`` for XPS files that lack it); an option the chosen format
        does not take raises InputError.

    Returns
    -------
    SpectrumCollection
        The file's blocks in order.

    Raises
    ------
    ReadError
        Missing, empty, unrecognised or unreadable file (the message names the file and the
        problem).
    InputError
        Unknown format or technique, or an option the format does not accept.
    """
    probe = Probe(path)
    if format is not None:
        spec = get_format(format)
        if technique is not None and spec.technique not in (technique, "any"):
            raise InputError(f"format {spec.name!r} reads {spec.technique} files, not "
                             f"{technique}", parameter="format")
    else:
        scored = sniff(probe, technique=technique)
        if not scored:
            raise _unrecognised(probe, technique)
        conf, spec = scored[0]
        if conf < LOW_CONFIDENCE:
            FORMAT_GUESSED.warn(f"{path}: no format recognised the file with confidence; read "
                                f"as {spec.name!r} ({spec.description})", stacklevel=2)
    bad = sorted(k for k, v in options.items() if v is not None and k not in spec.options)
    if bad:
        takes = ", ".join(spec.options) or "no options"
        raise InputError(f"{path}: option {bad[0]}= does not apply to {spec.name!r} files "
                         f"({spec.technique}); this format takes {takes}", parameter=bad[0])
    opts = {k: v for k, v in options.items() if v is not None}
    if technique is not None and "technique" in spec.options:
        opts.setdefault("technique", technique)   # neutral readers: the caller's technique
    blocks = spec.read(probe, **opts)
    if isinstance(blocks, SpectrumCollection):
        if blocks.format is None:
            blocks.format = spec.name
        out = blocks
    else:
        out = SpectrumCollection(list(blocks), path=str(path), format=spec.name)
    if len(out) == 0:
        raise ReadError(path, f"holds no spectra ({spec.name} file)")
    return out


def _unrecognised(probe: Probe, technique: str | None) -> ReadError:
    """The most useful reason no format took the file: the text parser's own complaint
    (header only, one column, ragged rows, a bad value with its line), or binary content."""
    from naheo_spec.io.text import parse_block

    if not probe.is_hdf5:
        text = probe.text               # raises ReadError for binary content
        parse_block(text.splitlines(), probe.path)   # raises the parser's reason
    what = f"{technique} " if technique else ""
    return ReadError(probe.path, f"not a recognised {what}spectroscopy file (no registered format "
                                 "matches its content; `naheo-spec formats` lists them)")


def _reset_cache() -> None:
    """Forget discovered formats (tests that install a plug-in)."""
    global _CACHE
    _CACHE = None
