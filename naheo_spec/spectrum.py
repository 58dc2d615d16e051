"""The data model: one spectrum, and a stack of spectra on one axis.

A :class:`Spectrum` is what every reader returns and every pipeline accepts:
an axis with its unit (energy in eV for XAS/XPS, Raman shift in cm⁻¹), a signal,
an optional reference channel measured simultaneously (e.g. the foil μ behind an
XAS sample), a metadata dict and the source file with its SHA-256.

A :class:`SpectrumStack` holds N spectra on one shared axis as an ``(N, M)``
array, for vectorized processing of operando series and maps.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from naheo_spec.errors import InputError


@dataclass(frozen=True)
class SourceInfo:
    """Where a spectrum was read from.

    Attributes
    ----------
    path : str or None
        File path as given by the user (None for data made in memory).
    sha256 : str or None
        SHA-256 of the file's bytes.
    format : str
        Reader that produced it (``"xdi"``, ``"ascii"``, ``"athena"``, ``"nexus"``, ``"synthetic"``...).
    scan : str or None
        Scan/group name inside a multi-scan file (Athena group, HDF5 path, stack index).
    columns : dict
        Which columns or expressions gave the signal and the reference, e.g.
        ``{"mu": "ln(i0/itrans)", "reference": "ln(itrans/irefer)"}``.
    """

    path: str | None = None
    sha256: str | None = None
    format: str = "unknown"
    scan: str | None = None
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Spectrum:
    """One measured spectrum.

    Attributes
    ----------
    axis : ndarray of shape (M,)
        Strictly increasing abscissa (energy in eV for XAS, Raman shift in cm⁻¹...).
    signal : ndarray of shape (M,)
        Measured quantity (μ(E) for XAS).
    axis_unit : str
        Unit of ``axis``. Default is ``"eV"``.
    signal_label : str
        Name of the signal, e.g. ``"mu"``. Default is ``"mu"``.
    reference : ndarray of shape (M,) or None
        Simultaneously measured reference channel (foil μ for XAS), same axis.
    element, edge : str or None
        Absorbing element symbol and edge (``"Ni"``, ``"K"``) when known.
    metadata : dict
        Header fields from the file (keys lower-cased for XDI).
    source : SourceInfo
        File, hash, format and columns used.
    warnings : tuple of str
        Repairs made while reading (also emitted as :class:`~naheo_spec.errors.RepairWarning`).
    """

    axis: np.ndarray
    signal: np.ndarray
    axis_unit: str = "eV"
    signal_label: str = "mu"
    reference: np.ndarray | None = None
    element: str | None = None
    edge: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source: SourceInfo = field(default_factory=SourceInfo)
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        axis = np.asarray(self.axis, dtype=float)
        signal = np.asarray(self.signal, dtype=float)
        if axis.ndim != 1 or signal.shape != axis.shape:
            raise InputError(
                f"Spectrum needs 1-D axis and signal of equal length; got axis {axis.shape}, "
                f"signal {signal.shape}")
        object.__setattr__(self, "axis", axis)
        object.__setattr__(self, "signal", signal)
        if self.reference is not None:
            ref = np.asarray(self.reference, dtype=float)
            if ref.shape != axis.shape:
                raise InputError(f"reference has shape {ref.shape}, axis has {axis.shape}")
            object.__setattr__(self, "reference", ref)

    # XAS vocabulary --------------------------------------------------------
    @property
    def energy(self) -> np.ndarray:
        """Alias of :attr:`axis` (eV) for XAS/XPS code."""
        return self.axis

    @property
    def mu(self) -> np.ndarray:
        """Alias of :attr:`signal` for XAS code."""
        return self.signal

    @property
    def name(self) -> str:
        """Short human-readable label: file stem plus scan name when there is one."""
        from pathlib import Path

        stem = Path(self.source.path).name if self.source.path else "spectrum"
        return f"{stem}:{self.source.scan}" if self.source.scan else stem

    @property
    def npts(self) -> int:
        return int(self.axis.size)

    def with_changes(self, **changes) -> "Spectrum":
        """Return a copy with some fields replaced (the object itself is immutable)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class SpectrumStack:
    """N spectra sharing one axis.

    Attributes
    ----------
    axis : ndarray of shape (M,)
        Common strictly increasing axis.
    signals : ndarray of shape (N, M)
        One spectrum per row.
    axis_unit, signal_label : str
        As in :class:`Spectrum`.
    references : ndarray of shape (N, M) or None
        Reference channel per scan.
    element, edge : str or None
        Common absorber and edge.
    scan_metadata : tuple of dict
        Per-scan metadata (length N).
    source : SourceInfo
        The file the stack came from (or the first of several).
    """

    axis: np.ndarray
    signals: np.ndarray
    axis_unit: str = "eV"
    signal_label: str = "mu"
    references: np.ndarray | None = None
    element: str | None = None
    edge: str | None = None
    scan_metadata: tuple[dict[str, Any], ...] = ()
    source: SourceInfo = field(default_factory=SourceInfo)
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        axis = np.asarray(self.axis, dtype=float)
        sig = np.asarray(self.signals, dtype=float)
        if sig.ndim == 1:
            sig = sig[None, :]
        if axis.ndim != 1 or sig.ndim != 2 or sig.shape[1] != axis.size:
            raise InputError(
                f"SpectrumStack needs axis (M,) and signals (N, M); got {axis.shape} and {sig.shape}")
        object.__setattr__(self, "axis", axis)
        object.__setattr__(self, "signals", sig)
        if self.references is not None:
            ref = np.asarray(self.references, dtype=float)
            if ref.shape != sig.shape:
                raise InputError(f"references have shape {ref.shape}, signals {sig.shape}")
            object.__setattr__(self, "references", ref)
        if not self.scan_metadata:
            object.__setattr__(self, "scan_metadata", tuple({} for _ in range(sig.shape[0])))
        elif len(self.scan_metadata) != sig.shape[0]:
            raise InputError(
                f"scan_metadata has {len(self.scan_metadata)} entries for {sig.shape[0]} spectra")

    def __len__(self) -> int:
        return int(self.signals.shape[0])

    @property
    def energy(self) -> np.ndarray:
        return self.axis

    def __getitem__(self, i: int) -> Spectrum:
        """Return scan ``i`` as a :class:`Spectrum`."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"scan index {i} out of range for a stack of {n}")
        i = i % n
        ref = None if self.references is None else self.references[i]
        src = replace(self.source, scan=str(self.scan_metadata[i].get("scan", i)))
        return Spectrum(axis=self.axis, signal=self.signals[i], axis_unit=self.axis_unit,
                        signal_label=self.signal_label, reference=ref, element=self.element,
                        edge=self.edge, metadata=dict(self.scan_metadata[i]), source=src)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    @classmethod
    def from_spectra(cls, spectra: Sequence[Spectrum], *, axis: np.ndarray | None = None
                     ) -> "SpectrumStack":
        """Stack spectra, interpolating each onto ``axis`` (default: the first one's axis).

        Linear interpolation is used; points of ``axis`` outside a spectrum's range
        raise :class:`~naheo_spec.errors.InputError` rather than extrapolate.
        """
        if not spectra:
            raise InputError("cannot build a stack from no spectra")
        axis = np.asarray(spectra[0].axis if axis is None else axis, dtype=float)
        rows, refs, meta = [], [], []
        for s in spectra:
            if axis[0] < s.axis[0] - 1e-9 or axis[-1] > s.axis[-1] + 1e-9:
                raise InputError(
                    f"{s.name}: covers {s.axis[0]:.2f}..{s.axis[-1]:.2f} {s.axis_unit}, "
                    f"stack axis needs {axis[0]:.2f}..{axis[-1]:.2f}")
            rows.append(np.interp(axis, s.axis, s.signal))
            refs.append(None if s.reference is None else np.interp(axis, s.axis, s.reference))
            meta.append({**s.metadata, "scan": s.name, "source_file": s.source.path,
                         "source_sha256": s.source.sha256})
        references = None if any(r is None for r in refs) else np.vstack(refs)
        first = spectra[0]
        return cls(axis=axis, signals=np.vstack(rows), axis_unit=first.axis_unit,
                   signal_label=first.signal_label, references=references,
                   element=first.element, edge=first.edge, scan_metadata=tuple(meta),
                   source=first.source)
