"""Reading spectroscopy files: one registry of formats, chosen by content.

:func:`read` returns every block of a file as a
:class:`~naheo_spec.model.SpectrumCollection` (XPS regions, Athena groups, HDF5 stacks...);
:func:`read_spectra`, :func:`read_spectrum` and :func:`read_stack` are the shapes most
analyses want. The format is recognised from the file's content by the sniffers of the
registered formats (:mod:`naheo_spec.io.registry`; ``naheo-spec formats`` lists them),
never from its extension; ``format=`` forces one and ``technique=`` restricts the choice
to one technique's formats. Every reader returns spectra with an ascending axis of a
declared kind and unit, the file's header verbatim, the columns used and every repair made
while reading as coded warnings.

Examples
--------
>>> from naheo_spec.io import read_spectrum                     # doctest: +SKIP
>>> s = read_spectrum("fe.060", mu="ln(i0/it)")                 # doctest: +SKIP
>>> s.element, s.edge, s.source.columns["mu"]                   # doctest: +SKIP
('Fe', 'K', 'ln(i0/it)')
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import DefaultAdjustedWarning, ReadError
from naheo_spec.io.registry import FormatSpec, formats, get_format, read, sniff
from naheo_spec.model import Spectrum, SpectrumCollection, SpectrumStack
from naheo_spec.model.collection import listing, normalize_block_name

__all__ = ["read", "read_spectra", "read_spectrum", "read_stack", "detect_format", "formats",
           "get_format", "sniff", "FormatSpec"]

STACK_TRIMMED = WarningCode(
    "io.stack.trimmed", DefaultAdjustedWarning,
    "Spectra were stacked on the axis range they all cover; points outside it were dropped.")


def detect_format(path: str | Path, *, technique: str | None = None) -> str:
    """Name of the registered format that would read ``path`` (judged by content).

    Raises
    ------
    ReadError
        Missing, empty or unrecognised file.
    """
    scored = sniff(path, technique=technique)
    if not scored:
        raise ReadError(path, "not a recognised spectroscopy file")
    return scored[0][1].name


def read_spectra(path: str | Path, *, format: str | None = None, technique: str | None = None,
                 **options) -> list[Spectrum]:
    """Every spectrum of a file: single blocks as they are, stacks row by row.

    Parameters
    ----------
    path : str or Path
        The data file.
    format, technique
        As in :func:`naheo_spec.io.registry.read`.
    **options
        Reader options, e.g. for XAS column/XDI files ``mu="ln(i0/it)"`` (an expression over
        the column labels, case-insensitive; ``+ - * / **``, ``ln log log10 exp sqrt abs``,
        numbers, parentheses) and ``ref="ln(it/ir)"`` (``"none"`` drops the reference); for
        Athena projects ``apply_eshift=False``; for x-y text ``axis_kind="raman_shift"``.

    Returns
    -------
    list of Spectrum
        At least one.

    Raises
    ------
    ReadError
        Unreadable file: missing, empty, header only, text without numbers, a single column,
        rows of unequal length, binary junk, corrupt project, bad expression. The message
        starts with the file name and gives the line and column when known.
    InputError
        An option the file's format does not take (``mu=`` for an Athena project), or an
        unknown ``format``.

    References
    ----------
    XDI specification, https://github.com/XraySpectroscopy/XAS-Data-Interchange ;
    B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005) (Athena).
    """
    return read(path, format=format, technique=technique, **options).spectra()


def read_spectrum(path: str | Path, *, scan: str | int | None = None, format: str | None = None,
                  technique: str | None = None, **options) -> Spectrum:
    """Exactly one spectrum of a file.

    Parameters
    ----------
    path : str or Path
        The data file.
    scan : str or int, optional
        Which spectrum of a multi-block file: its name (``source.scan``, e.g. the Athena
        label ``"NiO.000"``; larch's ``"NiO_000"`` and other spellings that differ only in
        case and separators work too) or its 0-based index. Default None: the file must hold
        exactly one spectrum.
    format, technique, **options
        As in :func:`read_spectra`.

    Returns
    -------
    Spectrum

    Raises
    ------
    ReadError
        Unreadable file; several spectra and ``scan`` None; ``scan`` not found (the message
        suggests the closest names and lists the available ones).
    """
    coll = read(path, format=format, technique=technique, **options)
    spectra = coll.spectra()
    names = [s.source.scan or str(i) for i, s in enumerate(spectra)]
    if scan is None:
        if len(spectra) == 1:
            return spectra[0]
        raise ReadError(path, f"holds {len(spectra)} spectra; pass scan= one of: "
                              f"{listing(names)}")
    if isinstance(scan, (int, np.integer)) and not isinstance(scan, bool):
        if -len(spectra) <= scan < len(spectra):
            return spectra[scan]
        raise ReadError(path, f"scan index {scan} out of range (file holds {len(spectra)} "
                              "spectra)")
    hits = coll.find(str(scan))
    if len(hits) == 1 and isinstance(coll[hits[0]], Spectrum):
        return coll[hits[0]]
    want = normalize_block_name(str(scan))
    rows = [s for s in spectra if normalize_block_name(s.source.scan or "") == want]
    if len(rows) == 1:
        return rows[0]
    flat = SpectrumCollection(spectra, path=str(path))
    return flat.select(str(scan))      # raises with suggestions


def read_stack(path: str | Path, *, format: str | None = None, technique: str | None = None,
               **options) -> SpectrumStack:
    """All spectra of a file as one :class:`~naheo_spec.model.SpectrumStack`.

    A file that holds one stack (an HDF5 ``[nScan, nPoint]`` dataset, a Raman series or map)
    gives it as it is. Otherwise the spectra are stacked on the first spectrum's points
    inside the range covered by every spectrum (linear interpolation of the others); the
    trimming is reported.

    Raises
    ------
    ReadError
        Unreadable file, spectra of different elements/edges or axis kinds, or no common
        range.
    """
    coll = read(path, format=format, technique=technique, **options)
    if len(coll) == 1 and isinstance(coll[0], SpectrumStack):
        return coll[0]
    spectra = coll.spectra()
    kinds = {(s.element, s.edge) for s in spectra}
    if len(kinds) > 1:
        raise ReadError(path, "spectra of different edges cannot share a stack: "
                              + ", ".join(f"{el} {ed}" for el, ed in sorted(kinds, key=str)))
    lo = max(s.axis[0] for s in spectra)
    hi = min(s.axis[-1] for s in spectra)
    first = spectra[0].axis
    axis = first[(first >= lo) & (first <= hi)]
    unit = spectra[0].axis_unit
    if axis.size < 5:
        raise ReadError(path, f"spectra share no common range (overlap {lo:.1f}..{hi:.1f} {unit})")
    notes = list(coll.warnings)
    if axis.size < first.size:
        notes.append(STACK_TRIMMED.warn(
            f"{path}: stack axis trimmed to the common range {axis[0]:.1f}..{axis[-1]:.1f} "
            f"{unit} ({axis.size} of {first.size} points of the first spectrum)", stacklevel=2))
    stack = SpectrumStack.from_spectra(spectra, axis=axis)
    return stack.with_changes(warnings=tuple(dict.fromkeys(notes)))
