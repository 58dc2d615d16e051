"""Write a Spectrum as XDI or CSV (atomically; existing files are kept unless
``overwrite=True``).

Both files say which program wrote them (``naheo_spec`` and its version) and which
file the data came from (path and SHA-256), and both read back through
:func:`naheo_spec.io.read_spectrum` with the same energy, μ, reference, element
and edge.

References
----------
XDI specification 1.0, https://github.com/XraySpectroscopy/XAS-Data-Interchange
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from naheo_spec.atomic import atomic_path
from naheo_spec.model import Spectrum
from naheo_spec.provenance import package_version, utc_now

_NUMBER_FORMAT = "%.12g"
_XDI_KEY = re.compile(r"^[A-Za-z_]\w*\.[\w.\-]+$")
# Written by write_xdi itself; not copied from the input's metadata.
_OWN_KEYS = ("column.", "element.symbol", "element.edge", "naheo_spec.", "xdi_version",
             "xdi_applications")


def _clean(value) -> str:
    return re.sub(r"\s+", " ", str(value)).strip()


def _scalar(value) -> bool:
    return isinstance(value, (str, int, float, bool, np.integer, np.floating))


def _provenance_lines(spectrum: Spectrum) -> list[tuple[str, str]]:
    src = spectrum.source
    items = [("naheo_spec.version", package_version()), ("naheo_spec.written", utc_now())]
    for key, val in (("source_file", src.path), ("source_sha256", src.sha256),
                     ("source_format", src.format), ("source_scan", src.scan)):
        if val:
            items.append((f"naheo_spec.{key}", _clean(val)))
    for role, expr in src.columns.items():
        items.append((f"naheo_spec.column_{role}", _clean(expr)))
    return items


def _metadata_lines(spectrum: Spectrum) -> list[tuple[str, str]]:
    out = []
    for key, val in spectrum.metadata.items():
        k = str(key)
        if not _scalar(val) or str(val) == "" or k.lower().startswith(_OWN_KEYS):
            continue
        if k.lower() in ("header", "xdi_comments", "column_labels"):
            continue
        name = k if _XDI_KEY.match(k) else f"Meta.{re.sub(r'[^A-Za-z0-9_]+', '_', k)}"
        out.append((name, _clean(val)))
    return out


def _columns(spectrum: Spectrum) -> tuple[list[str], np.ndarray]:
    names = ["energy", spectrum.signal_label if spectrum.signal_label == "mu" else "mu"]
    cols = [spectrum.axis, spectrum.signal]
    if spectrum.reference is not None:
        names.append("murefer")
        cols.append(spectrum.reference)
    return names, np.column_stack(cols)


def write_xdi(spectrum: Spectrum, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write an XDI/1.0 file.

    Columns: ``energy`` (eV), ``mu`` and, when present, ``murefer`` (the reference
    channel). The header carries ``Column.N``, ``Element.symbol``/``Element.edge``,
    the input's XDI-style fields (``Beamline.name``...), other scalar metadata as
    ``Meta.<key>``, and ``naheo_spec.*`` lines: version, time, source file, its
    SHA-256, format, scan and the columns/expressions μ came from. ``warnings`` of the
    spectrum go into the free-comment section.

    Parameters
    ----------
    spectrum : Spectrum
        What to write (energy in eV).
    path : str or Path
        Output file.
    overwrite : bool
        Replace an existing file. Default is False.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    StoreError
        ``path`` exists and ``overwrite`` is False, or is a directory.
    """
    names, data = _columns(spectrum)
    header = ["XDI/1.0 naheo_spec/" + package_version()]
    header.append(f"Column.1: energy {spectrum.axis_unit}")
    header += [f"Column.{i + 2}: {n}" for i, n in enumerate(names[1:])]
    if spectrum.element:
        header.append(f"Element.symbol: {spectrum.element}")
    if spectrum.edge:
        header.append(f"Element.edge: {spectrum.edge}")
    header += [f"{k}: {v}" for k, v in _metadata_lines(spectrum)]
    header += [f"{k}: {v}" for k, v in _provenance_lines(spectrum)]
    header.append("///")
    header += [_clean(f"[{w.code}] {w.message}") for w in spectrum.warnings] or ["written by naheo_spec"]
    header.append("-" * 24)
    header.append("  ".join(names))
    with atomic_path(path, overwrite=overwrite) as tmp:
        np.savetxt(tmp, data, fmt=_NUMBER_FORMAT, delimiter="  ",
                   header="\n".join(header), comments="# ", encoding="utf-8")
    return Path(path)


def write_csv(spectrum: Spectrum, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a comma-separated file: ``energy_eV,mu[,reference]``.

    A few ``#`` comment lines first give the program and version, the source file
    and its SHA-256, element and edge (spreadsheets show them as text rows; pandas
    reads the data with ``comment="#"``).

    Parameters
    ----------
    spectrum : Spectrum
        What to write.
    path : str or Path
        Output file.
    overwrite : bool
        Replace an existing file. Default is False.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    StoreError
        ``path`` exists and ``overwrite`` is False, or is a directory.
    """
    names = [f"energy_{spectrum.axis_unit}", "mu"]
    cols = [spectrum.axis, spectrum.signal]
    if spectrum.reference is not None:
        names.append("reference")
        cols.append(spectrum.reference)
    lines = [f"{k}: {v}" for k, v in _provenance_lines(spectrum)]
    if spectrum.element:
        lines.append(f"element: {spectrum.element}")
    if spectrum.edge:
        lines.append(f"edge: {spectrum.edge}")
    body = np.column_stack(cols)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(f"# {ln}\n" for ln in lines)
            fh.write(",".join(names) + "\n")
            np.savetxt(fh, body, fmt=_NUMBER_FORMAT, delimiter=",")
    return Path(path)
