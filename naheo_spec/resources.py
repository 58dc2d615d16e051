"""Where the project's reference tables (``reference_spectra/``) are on this machine.

In a source checkout they sit next to the package; a wheel installs a copy under
``<prefix>/share/naheo_spec/reference_spectra`` (pyproject ``data-files``). The
environment variable ``NAHEO_REFERENCE_SPECTRA`` overrides both.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from naheo_spec.errors import InputError


def _candidates() -> list[Path]:
    out = []
    if os.environ.get("NAHEO_REFERENCE_SPECTRA"):
        out.append(Path(os.environ["NAHEO_REFERENCE_SPECTRA"]))
    here = Path(__file__).resolve().parents[1]
    out.append(here / "reference_spectra")                      # source checkout
    out.append(here / "share" / "naheo_spec" / "reference_spectra")   # pip install --target
    import site

    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix, site.getuserbase())):
        out.append(Path(prefix) / "share" / "naheo_spec" / "reference_spectra")
    return out


def reference_spectra_dir() -> Path:
    """The ``reference_spectra`` folder in use.

    Raises
    ------
    InputError
        If none of the candidate locations exists (names them all).
    """
    cands = _candidates()
    for c in cands:
        if c.is_dir():
            return c
    raise InputError("reference_spectra/ not found; looked in " + ", ".join(map(str, cands))
                     + " (set NAHEO_REFERENCE_SPECTRA)")


def reference_file(*parts: str) -> Path:
    """Path of a file inside ``reference_spectra`` (e.g. ``"structures", "structures.toml"``).

    Examples
    --------
    >>> reference_file("structures", "structures.toml").name
    'structures.toml'
    """
    return reference_spectra_dir().joinpath(*parts)
