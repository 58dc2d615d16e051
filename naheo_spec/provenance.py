"""Provenance: where a number came from (input file hash, parameters, software versions)."""
from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROGRAM = "naheo_spec"


def package_version() -> str:
    """Return the installed naheo_spec version string."""
    from naheo_spec import __version__

    return __version__


def file_sha256(path: str | Path, *, chunk_size: int = 1 << 20, stop=None) -> str | None:
    """Return the hex SHA-256 digest of a file's bytes.

    ``stop``: a :class:`threading.Event`; when it is set (checked between blocks of
    ``chunk_size`` bytes) hashing ends early and None is returned (a hash running in a
    thread that nobody needs any more).
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            if stop is not None and stop.is_set():
                return None
            block = fh.read(chunk_size)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def bytes_sha256(data: bytes) -> str:
    """Return the hex SHA-256 digest of a bytes object."""
    return hashlib.sha256(data).hexdigest()


def utc_now() -> str:
    """Current UTC time in ISO 8601 with seconds resolution."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class Provenance:
    """What produced a result.

    Attributes
    ----------
    step : str
        Processing step name (e.g. ``"xanes.normalize"``).
    parameters : dict
        Every parameter actually used, defaults resolved.
    source_file : str or None
        Input file path as given.
    source_sha256 : str or None
        SHA-256 of the input file's bytes.
    program, version, date : str
        ``naheo_spec``, its version, and the UTC time the result was made.
    """

    step: str
    parameters: dict[str, Any] = field(default_factory=dict)
    source_file: str | None = None
    source_sha256: str | None = None
    program: str = PROGRAM
    version: str = field(default_factory=package_version)
    date: str = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "program": self.program,
            "version": self.version,
            "date": self.date,
            "source_file": self.source_file,
            "source_sha256": self.source_sha256,
            "parameters": dict(self.parameters),
        }
