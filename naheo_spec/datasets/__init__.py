"""Example data that ships with naheo_spec: real measured spectra with their licences.

Modelled on ``skimage.data``: every tutorial and docstring example can run after a plain
``pip install naheo-spec``, with no data folder.

- :func:`list` -- names of the datasets (optionally of one technique);
- :func:`path` -- the file of a dataset (read it with :func:`naheo_spec.io.read` or any tool);
- :func:`load` -- the dataset read: a Spectrum when the file holds one block, else the
  file's :class:`~naheo_spec.model.SpectrumCollection`;
- :func:`info` -- source, licence, credit and SHA-256 of a dataset;
- :func:`credits` -- the credit lines to quote when you publish results made with them.

Every file is real and unchanged except the RamanLab map, cropped to 4 x 30 spectra (said in
its licence notice). Licence texts ship in ``naheo_spec/datasets/licenses/``; GPL-licensed
and unlicensed data never ship. CERIC/LISA spectra are CC BY 4.0: quote "Based on the LISA
XAS Repository by Alessandro Puri, doi:10.5281/zenodo.10778098" wherever you publish
results derived from them.

Examples
--------
>>> from naheo_spec import datasets
>>> "mno2_mn_k" in datasets.list("xas")
True
>>> s = datasets.load("mno2_mn_k")
>>> s.element, s.edge, s.axis_kind.value
('Mn', 'K', 'photon_energy')
>>> datasets.info("mno2_mn_k").licence
'CC-BY-4.0'
"""
from __future__ import annotations

import builtins
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from naheo_spec.errors import InputError

__all__ = ["list", "path", "load", "info", "credits", "DatasetInfo", "DATA_DIR"]

DATA_DIR = Path(__file__).resolve().parent
_FILES = DATA_DIR / "files"


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is and where it comes from.

    Attributes
    ----------
    name, technique, description : str
    path : Path
        The file.
    source : str
        Repository and snapshot it was taken from.
    licence : str
        SPDX-style licence name.
    licence_file : Path
        The licence text or notice shipped with it.
    credit : str
        The attribution to quote.
    sha256 : str
        SHA-256 of the file.
    """

    name: str
    technique: str
    description: str
    path: Path
    source: str
    licence: str
    licence_file: Path
    credit: str
    sha256: str


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, DatasetInfo]:
    raw = tomllib.loads((DATA_DIR / "registry.toml").read_text(encoding="utf-8"))
    out = {}
    for d in raw["dataset"]:
        out[d["name"]] = DatasetInfo(
            name=d["name"], technique=d["technique"], description=d["description"],
            path=_FILES / d["file"], source=d["source"], licence=d["licence"],
            licence_file=DATA_DIR / "licenses" / d["licence_file"], credit=d["credit"],
            sha256=d["sha256"])
    return out


def list(technique: str | None = None) -> builtins.list[str]:  # noqa: A001 - skimage-style API
    """Names of the datasets, in registry order; only ``technique``'s when given.

    Parameters
    ----------
    technique : {"xas", "xps", "raman"}, optional
    """
    return [n for n, d in _registry().items() if technique in (None, d.technique)]


def info(name: str) -> DatasetInfo:
    """Source, licence, credit and SHA-256 of dataset ``name``.

    Raises
    ------
    InputError
        Unknown name (the message lists the available ones).
    """
    reg = _registry()
    if name not in reg:
        import difflib

        close = difflib.get_close_matches(name, builtins.list(reg), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"no dataset named {name!r}.{hint} Available: {', '.join(reg)}")
    return reg[name]


def path(name: str) -> Path:
    """The file of dataset ``name`` (inside the installed package)."""
    return info(name).path


def load(name: str, **read_options):
    """Read dataset ``name``.

    Parameters
    ----------
    name : str
        See :func:`list`.
    **read_options
        Passed to :func:`naheo_spec.io.read` (e.g. ``scan=`` is not one of them: select
        a block from the returned collection instead).

    Returns
    -------
    Spectrum or SpectrumStack or SpectrumCollection
        The single block of a one-block file, else the whole collection.
    """
    from naheo_spec.io import read

    d = info(name)
    coll = read(d.path, technique=d.technique, **read_options)
    return coll[0] if len(coll) == 1 else coll


def credits(names=None) -> str:
    """Credit lines (one per source) for the datasets ``names`` (default: all)."""
    reg = _registry()
    chosen = [reg[n] if n in reg else info(n) for n in (names or reg)]
    lines = dict.fromkeys(f"{d.credit} ({d.licence}; {d.source})" for d in chosen)
    return "\n".join(lines)


def find_by_sha256(sha256: str | None) -> DatasetInfo | None:
    """The dataset whose file has this SHA-256 (a copy of a bundled file is recognised
    too), or None. Results carry their input's hash, so a figure can name its credit."""
    if not sha256:
        return None
    return next((d for d in _registry().values() if d.sha256 == sha256), None)

