"""Readers for XAS data: XDI, column ASCII, Athena projects and NeXus/HDF5.

The format is recognised from the file's content (:mod:`naheo_spec.io.detect`),
never from its extension. Every reader returns :class:`~naheo_spec.spectrum.Spectrum`
objects with a strictly increasing energy axis in eV, the element and edge (from
the header, else guessed from the edge position), the simultaneous reference
channel when there is one, the columns/expressions used, and every repair made
while reading in ``Spectrum.warnings`` (each also emitted as a warning).

Examples
--------
>>> from naheo_spec.io import read_spectrum                     # doctest: +SKIP
>>> s = read_spectrum("fe.060", mu="ln(i0/it)")                 # doctest: +SKIP
>>> s.element, s.edge, s.source.columns["mu"]                   # doctest: +SKIP
('Fe', 'K', 'ln(i0/it)')
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from naheo_spec.errors import DefaultAdjustedWarning, InputError, ReadError
from naheo_spec.spectrum import Spectrum, SpectrumStack

__all__ = ["read_spectra", "read_spectrum", "read_stack", "detect_format"]


def detect_format(path: str | Path) -> str:
    """Format of ``path`` judged by content: ``"xdi"``, ``"ascii"``, ``"athena"`` or ``"nexus"``.

    Raises
    ------
    ReadError
        Missing, empty, binary or corrupt file.
    """
    from naheo_spec.io.detect import detect_format as _detect

    return _detect(path)


def read_spectra(path: str | Path, *, mu: str | None = None, ref: str | None = None,
                 format: str | None = None, apply_eshift: bool = True) -> list[Spectrum]:
    """Read every spectrum (scan, Athena group, NeXus entry) in a file.

    Parameters
    ----------
    path : str or Path
        The data file.
    mu : str, optional
        Expression for μ over the column labels of an XDI/ASCII file, e.g.
        ``"ln(i0/it)"`` (transmission) or ``"if/i0"`` (fluorescence); names are
        case-insensitive; allowed: ``+ - * / **``, ``ln log log10 exp sqrt abs``,
        numbers, parentheses. Default None: a ``mutrans``/``mu``/``xmu``/``mufluor``
        column, else ln(i0/it), else if/i0, else column 2 of a 2-column file (the
        choice is recorded in ``source.columns`` and, when inferred, in ``warnings``).
    ref : str, optional
        Expression for the reference channel, e.g. ``"ln(it/ir)"``; ``"none"``
        drops it. Default None: a ``murefer`` column, else ln(it/ir), else none.
    format : str, optional
        Force ``"xdi"``, ``"ascii"``, ``"athena"`` or ``"nexus"``. Default None:
        detect from the content.
    apply_eshift : bool
        Athena projects: add each group's ``eshift`` to its energy. Default is True.

    Returns
    -------
    list of Spectrum
        At least one.

    Raises
    ------
    ReadError
        Unreadable file: missing, empty, header only, text without numbers, a single
        column, rows of unequal length, binary junk, corrupt Athena project, bad
        expression. The message starts with the file name and gives the line and
        column when known.
    InputError
        ``mu``/``ref`` given for an Athena or NeXus file (they hold μ already), or an
        unknown ``format``.

    References
    ----------
    XDI specification, https://github.com/XraySpectroscopy/XAS-Data-Interchange ;
    B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005) (Athena).
    """
    from naheo_spec.io.detect import probe_file

    probe = probe_file(path, fmt=format)
    p = str(path)
    if probe.format in ("athena", "nexus") and (mu is not None or ref is not None):
        raise InputError(f"{p}: mu=/ref= expressions apply to column files (XDI/ASCII); this is "
                         f"an {probe.format} file whose groups already hold mu (got mu={mu!r}, "
                         f"ref={ref!r})")
    if probe.format == "xdi":
        from naheo_spec.io.xdi import read_xdi

        return read_xdi(p, probe.text, probe.sha256, mu=mu, ref=ref)
    if probe.format == "ascii":
        from naheo_spec.io.ascii import read_ascii

        return read_ascii(p, probe.text, probe.sha256, mu=mu, ref=ref)
    if probe.format == "athena":
        from naheo_spec.io.athena import read_athena_project

        return read_athena_project(p, probe.sha256, apply_eshift=apply_eshift)
    from naheo_spec.io.nexus import read_nexus

    spectra = list(read_nexus(path))
    if not spectra:
        raise ReadError(p, "HDF5 file holds no spectra")
    return [_fill_edge(s) for s in spectra]


def _fill_edge(s: Spectrum) -> Spectrum:
    """Guess element/edge of a spectrum from another reader (NeXus) that lacks them."""
    if (s.element and s.edge) or s.axis_unit != "eV":
        return s
    from naheo_spec.io.edges import guess_edge

    el, ed, _, msg = guess_edge(s.axis, s.signal, element=s.element, edge=s.edge)
    msg = f"{s.name}: {msg}"
    warnings.warn(msg, DefaultAdjustedWarning, stacklevel=3)
    return s.with_changes(element=el, edge=ed, warnings=tuple(s.warnings) + (msg,))


def _scan_keys(s: Spectrum) -> set[str]:
    keys = {s.source.scan, s.metadata.get("athena_group"), s.metadata.get("athena_label")}
    return {str(k).strip().lower() for k in keys if k is not None}


def read_spectrum(path: str | Path, *, scan: str | int | None = None, mu: str | None = None,
                  ref: str | None = None, format: str | None = None,
                  apply_eshift: bool = True) -> Spectrum:
    """Read exactly one spectrum from a file.

    Parameters
    ----------
    path : str or Path
        The data file.
    scan : str or int, optional
        Which scan of a multi-scan file: its name (``source.scan``, e.g. the Athena
        label ``"NiO.000"`` or larch's group name ``"NiO_000"``; case-insensitive) or
        its 0-based index. Default None: the file must hold exactly one spectrum.
    mu, ref, format, apply_eshift
        As in :func:`read_spectra`.

    Returns
    -------
    Spectrum

    Raises
    ------
    ReadError
        Unreadable file; several spectra and ``scan`` None; ``scan`` not found (the
        message lists the available scans).
    """
    spectra = read_spectra(path, mu=mu, ref=ref, format=format, apply_eshift=apply_eshift)
    names = [s.source.scan or str(i) for i, s in enumerate(spectra)]
    if scan is None:
        if len(spectra) == 1:
            return spectra[0]
        raise ReadError(path, f"holds {len(spectra)} spectra; pass scan= one of: {', '.join(names)}")
    if isinstance(scan, (int, np.integer)) and not isinstance(scan, bool):
        if -len(spectra) <= scan < len(spectra):
            return spectra[scan]
        raise ReadError(path, f"scan index {scan} out of range (file holds {len(spectra)} spectra)")
    want = str(scan).strip().lower()
    for s in spectra:
        if want in _scan_keys(s):
            return s
    raise ReadError(path, f"no scan named {scan!r}; available: {', '.join(names)}")


def read_stack(path: str | Path, *, mu: str | None = None, ref: str | None = None,
               format: str | None = None, apply_eshift: bool = True) -> SpectrumStack:
    """Read all spectra of a file as a :class:`~naheo_spec.spectrum.SpectrumStack`.

    The common axis is the first spectrum's energies inside the range covered by
    every spectrum (linear interpolation of the others); trimming is reported.

    Parameters
    ----------
    path, mu, ref, format, apply_eshift
        As in :func:`read_spectra`.

    Returns
    -------
    SpectrumStack

    Raises
    ------
    ReadError
        Unreadable file, spectra of different elements/edges, or no common energy range.
    """
    spectra = read_spectra(path, mu=mu, ref=ref, format=format, apply_eshift=apply_eshift)
    kinds = {(s.element, s.edge) for s in spectra}
    if len(kinds) > 1:
        raise ReadError(path, "spectra of different edges cannot share a stack: "
                              + ", ".join(f"{el} {ed}" for el, ed in sorted(kinds, key=str)))
    lo = max(s.axis[0] for s in spectra)
    hi = min(s.axis[-1] for s in spectra)
    first = spectra[0].axis
    axis = first[(first >= lo) & (first <= hi)]
    if axis.size < 5:
        raise ReadError(path, f"spectra share no common energy range (overlap {lo:.1f}..{hi:.1f} eV)")
    msgs = [w for s in spectra for w in s.warnings]
    if axis.size < first.size:
        msgs.append(f"{path}: stack axis trimmed to the common range {axis[0]:.1f}..{axis[-1]:.1f} eV "
                    f"({axis.size} of {first.size} points of the first spectrum)")
        warnings.warn(msgs[-1], DefaultAdjustedWarning, stacklevel=2)
    stack = SpectrumStack.from_spectra(spectra, axis=axis)
    return replace(stack, warnings=tuple(dict.fromkeys(msgs)))
