"""N spectra on one axis: operando series, line scans and maps.

A :class:`SpectrumStack` holds an ``(N, M)`` signal array on one ascending axis, named
per-row coordinates as numpy arrays (time, potential, state of charge, x, y...), an
optional map shape ``(ny, nx)``, a per-row validity mask and per-row warnings as a sparse
coded table. A stack of 10^6 rows therefore carries no Python object per row.

Stacks made from a few separate spectra (:meth:`SpectrumStack.from_spectra`) may also keep
each row's source and metadata dict (``scan_sources``, ``scan_metadata``); readers of large
stacks leave those None.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import StackWarnings, StackWarningsBuilder, WarningRecord
from naheo_spec.errors import InputError
from naheo_spec.frozen import (
    FrozenDict,
    array_digest,
    frozen_dict,
    readonly_array,
    values_equal,
)
from naheo_spec.model.acquisition import Acquisition
from naheo_spec.model.axis import AxisKind
from naheo_spec.model.axis import axis_kind as coerce_axis_kind
from naheo_spec.model.spectrum import SourceInfo, Spectrum, check_warnings

__all__ = ["SpectrumStack"]


def _rows_array(name: str, value, n: int, m: int) -> np.ndarray:
    a = readonly_array(value, keep_float32=True)
    if a.ndim == 1 and n == 1:
        a = readonly_array(a[None, :])
    if a.shape != (n, m):
        raise InputError(f"SpectrumStack {name} has shape {a.shape}, expected ({n}, {m})")
    return a


@dataclass(frozen=True, eq=False, repr=False, init=False)
class SpectrumStack:
    """N spectra sharing one axis.

    Parameters
    ----------
    axis : array-like, shape (M,)
        Common strictly increasing axis.
    signals : array-like, shape (N, M)
        One spectrum per row (float32 input is kept as float32).
    axis_kind, axis_unit, signal_label, signal_unit, sigma_source, element, edge,
    acquisition, metadata, header, source, warnings
        As in :class:`~naheo_spec.model.spectrum.Spectrum`, common to all rows.
    sigma : array-like, shape (N, M), optional
        Per-point standard deviation.
    channels : mapping of str to array-like (N, M), optional
        Extra channels per row (``"reference"``: each scan's foil μ).
    references : array-like (N, M), optional
        Shortcut for ``channels["reference"]``.
    coordinates : mapping of str to array-like (N,), optional
        Per-row coordinates by name (``"time"``, ``"potential"``, ``"state_of_charge"``,
        ``"x"``, ``"y"``...), numeric or string arrays.
    coordinate_units : mapping of str to str, optional
        ASCII unit of each coordinate (``"s"``, ``"V"``, ``"um"``).
    map_shape : tuple of int, optional
        ``(n_slow, n_fast)`` when the rows are a raster map: the shape the rows reshape to
        in C order. ``(ny, nx)`` when x varies fastest; ``(nx, ny)`` for maps scanned
        column by column (y fastest), as RamanLab exports them. The ``x``/``y``
        coordinates say which.
    mask : array-like of bool, shape (N,), optional
        True for rows that can be analysed. Default: all True.
    labels : array-like of str, shape (N,), optional
        Row names. Default None: ``"<source.scan>[i]"`` or ``"i"``.
    row_warnings : StackWarnings, optional
        Per-row warnings (reader repairs, masked rows and why).
    scan_sources, scan_metadata : sequence, optional
        Per-row :class:`SourceInfo` and metadata dicts, for stacks built from a few
        separate spectra only.

    Examples
    --------
    >>> import numpy as np
    >>> st = SpectrumStack(np.arange(5.0), np.zeros((3, 5)), axis_kind="raman_shift",
    ...                    coordinates={"time": [0.0, 60.0, 120.0]}, coordinate_units={"time": "s"})
    >>> len(st), float(st.coordinates["time"][2]), st[2].metadata["time"]
    (3, 120.0, 120.0)
    """

    axis: np.ndarray
    signals: np.ndarray
    axis_kind: AxisKind
    axis_unit: str
    signal_label: str
    signal_unit: str
    sigma: np.ndarray | None
    sigma_source: str | None
    channels: Mapping[str, np.ndarray]
    coordinates: Mapping[str, np.ndarray]
    coordinate_units: Mapping[str, str]
    map_shape: tuple[int, int] | None
    mask: np.ndarray
    labels: np.ndarray | None
    row_warnings: StackWarnings
    element: str | None
    edge: str | None
    acquisition: Acquisition | None
    metadata: Mapping[str, Any]
    header: str | None
    source: SourceInfo
    warnings: tuple[WarningRecord, ...]
    scan_sources: tuple[SourceInfo, ...] | None
    scan_metadata: tuple[Mapping[str, Any], ...] | None

    def __init__(self, axis, signals, *, axis_kind: AxisKind | str = AxisKind.PHOTON_ENERGY,
                 axis_unit: str | None = None, signal_label: str = "mu", signal_unit: str = "",
                 sigma=None, sigma_source: str | None = None, channels=None, references=None,
                 coordinates=None, coordinate_units=None, map_shape=None, mask=None,
                 labels=None, row_warnings: StackWarnings | None = None,
                 element: str | None = None, edge: str | None = None,
                 acquisition: Acquisition | None = None, metadata=None,
                 header: str | None = None, source: SourceInfo | None = None, warnings=(),
                 scan_sources=None, scan_metadata=None):
        a = readonly_array(axis)
        if a.ndim != 1:
            raise InputError(f"SpectrumStack axis must be 1-D, got shape {a.shape}")
        sig = readonly_array(signals, keep_float32=True)
        if sig.ndim == 1:
            sig = readonly_array(sig[None, :])
        if sig.ndim != 2 or sig.shape[1] != a.size:
            raise InputError(f"SpectrumStack needs axis (M,) and signals (N, M); got {a.shape} "
                             f"and {sig.shape}")
        n, m = sig.shape
        chans = dict(channels or {})
        if references is not None:
            chans["reference"] = references
        chans = FrozenDict({str(k): _rows_array(f"channel {k!r}", v, n, m)
                            for k, v in chans.items() if v is not None})
        if sigma is not None:
            sigma = _rows_array("sigma", sigma, n, m)
        coords = {}
        for k, v in dict(coordinates or {}).items():
            c = np.asarray(v)
            c = readonly_array(c, dtype=c.dtype if c.dtype.kind in "UOSb" else None)
            if c.shape != (n,):
                raise InputError(f"coordinate {k!r} has shape {c.shape}, expected ({n},)")
            coords[str(k)] = c
        units = frozen_dict(coordinate_units)
        unknown = set(units) - set(coords)
        if unknown:
            raise InputError(f"coordinate_units name unknown coordinates: {sorted(unknown)}")
        if map_shape is not None:
            map_shape = tuple(int(x) for x in map_shape)
            if len(map_shape) != 2 or map_shape[0] * map_shape[1] != n:
                raise InputError(f"map_shape {map_shape} does not hold {n} rows")
        mask = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if mask.shape != (n,):
            raise InputError(f"mask has shape {mask.shape}, expected ({n},)")
        if labels is not None:
            labels = readonly_array(np.asarray(labels, dtype=str), dtype=None)
            if labels.shape != (n,):
                raise InputError(f"labels has shape {labels.shape}, expected ({n},)")
        rw = StackWarnings.empty(n) if row_warnings is None else row_warnings
        if rw.n_rows != n:
            raise InputError(f"row_warnings is for {rw.n_rows} rows, stack has {n}")
        for name, per_row in (("scan_sources", scan_sources), ("scan_metadata", scan_metadata)):
            if per_row is not None and len(per_row) != n:
                raise InputError(f"{name} has {len(per_row)} entries for {n} spectra")
        kind = coerce_axis_kind(axis_kind)
        set_ = object.__setattr__
        set_(self, "axis", a)
        set_(self, "signals", sig)
        set_(self, "axis_kind", kind)
        set_(self, "axis_unit", kind.default_unit if axis_unit is None else str(axis_unit))
        set_(self, "signal_label", str(signal_label))
        set_(self, "signal_unit", str(signal_unit))
        set_(self, "sigma", sigma)
        set_(self, "sigma_source", sigma_source)
        set_(self, "channels", chans)
        set_(self, "coordinates", FrozenDict(coords))
        set_(self, "coordinate_units", units)
        set_(self, "map_shape", map_shape)
        set_(self, "mask", readonly_array(mask, dtype=bool))
        set_(self, "labels", labels)
        set_(self, "row_warnings", rw)
        set_(self, "element", element)
        set_(self, "edge", edge)
        set_(self, "acquisition", acquisition)
        set_(self, "metadata", frozen_dict(metadata))
        set_(self, "header", header)
        set_(self, "source", source if source is not None else SourceInfo())
        set_(self, "warnings", check_warnings(warnings, "SpectrumStack"))
        set_(self, "scan_sources", None if scan_sources is None else tuple(scan_sources))
        set_(self, "scan_metadata", None if scan_metadata is None
             else tuple(frozen_dict(d) for d in scan_metadata))

    # ------------------------------------------------------------------ identity
    def __eq__(self, other) -> bool:
        if not isinstance(other, SpectrumStack):
            return NotImplemented
        return all(values_equal(getattr(self, f.name), getattr(other, f.name))
                   for f in fields(self))

    def equals(self, other: "SpectrumStack") -> bool:
        """True when every field is equal (arrays element-wise)."""
        return self == other

    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.axis_kind, array_digest(self.axis), array_digest(self.signals),
                      self.source))
            object.__setattr__(self, "_hash", h)
        return h

    def __repr__(self) -> str:
        n, m = self.signals.shape
        coords = ", ".join(self.coordinates) or "none"
        shape = f", map {self.map_shape[0]}x{self.map_shape[1]}" if self.map_shape else ""
        return (f"<SpectrumStack {self.name}: {n} x {m} on {self.axis_kind.value} "
                f"{self.axis[0]:.6g}..{self.axis[-1]:.6g} {self.axis_unit}{shape}; "
                f"coordinates: {coords}; {int(self.mask.sum())} valid>")

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return int(self.signals.shape[0])

    @property
    def energy(self) -> np.ndarray:
        return self.axis

    @property
    def references(self) -> np.ndarray | None:
        """The ``"reference"`` channel, (N, M), or None."""
        return self.channels.get("reference")

    @property
    def name(self) -> str:
        stem = Path(self.source.path).name if self.source.path else "stack"
        return f"{stem}:{self.source.scan}" if self.source.scan else stem

    def label(self, i: int) -> str:
        """Name of row ``i``."""
        if self.labels is not None:
            return str(self.labels[i])
        if self.scan_sources is not None and self.scan_sources[i].scan:
            return str(self.scan_sources[i].scan)
        return f"{self.source.scan}[{i}]" if self.source.scan else str(i)

    def row_source(self, i: int) -> SourceInfo:
        """:class:`SourceInfo` of row ``i`` (its own file when the stack was built from
        separate files, else the stack's with the row label as ``scan``)."""
        if self.scan_sources is not None:
            return self.scan_sources[i]
        return replace(self.source, scan=self.label(i), aliases=())

    def row_metadata(self, i: int) -> dict[str, Any]:
        """Metadata of row ``i``: its own dict (if kept) plus its coordinate values."""
        meta = dict(self.scan_metadata[i]) if self.scan_metadata is not None else {}
        for k, v in self.coordinates.items():
            meta[k] = v[i].item() if hasattr(v[i], "item") else v[i]
        return meta

    def __getitem__(self, i):
        """Row ``i`` as a :class:`Spectrum`; a slice or index array gives a sub-stack."""
        if isinstance(i, slice):
            lo, hi, step = i.indices(len(self))
            if step == 1:               # views, not an 8 MB copy per 4096-row block
                hi = max(lo, hi)
                return self._subset(slice(lo, hi), np.arange(lo, hi))
        if isinstance(i, (slice, list, tuple, np.ndarray)):
            return self.take(np.arange(len(self))[i])
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"scan index {i} out of range for a stack of {n}")
        i = int(i) % n
        return Spectrum(self.axis, self.signals[i], axis_kind=self.axis_kind,
                        axis_unit=self.axis_unit, signal_label=self.signal_label,
                        signal_unit=self.signal_unit,
                        sigma=None if self.sigma is None else self.sigma[i],
                        sigma_source=self.sigma_source if self.sigma is not None else None,
                        channels={k: v[i] for k, v in self.channels.items()},
                        element=self.element, edge=self.edge, acquisition=self.acquisition,
                        metadata=self.row_metadata(i), header=self.header,
                        source=self.row_source(i), warnings=self.row_warnings.for_row(i))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def take(self, rows) -> "SpectrumStack":
        """Sub-stack of ``rows`` (indices or a boolean mask); coordinates follow."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64)
        return self._subset(rows, rows)

    def _subset(self, sel, rows: np.ndarray) -> "SpectrumStack":
        """The sub-stack of ``rows``; arrays indexed by ``sel`` (the same rows as a slice,
        giving views, or as the index array, giving copies)."""
        labels = self.labels[sel] if self.labels is not None else np.array(
            [self.label(int(i)) for i in rows], dtype=str)
        pick = (lambda seq: None if seq is None else tuple(seq[int(i)] for i in rows))
        return replace(
            self, signals=self.signals[sel],
            sigma=None if self.sigma is None else self.sigma[sel],
            channels={k: v[sel] for k, v in self.channels.items()},
            coordinates={k: v[sel] for k, v in self.coordinates.items()},
            map_shape=None, mask=self.mask[sel], labels=labels,
            row_warnings=self.row_warnings.take(rows),
            scan_sources=pick(self.scan_sources), scan_metadata=pick(self.scan_metadata))

    def with_changes(self, **changes) -> "SpectrumStack":
        """A copy with some fields replaced."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_spectra(cls, spectra: Sequence[Spectrum], *, axis: np.ndarray | None = None
                     ) -> "SpectrumStack":
        """Stack spectra, interpolating each onto ``axis`` (default: the first one's axis).

        Linear interpolation is used; points of ``axis`` outside a spectrum's range raise
        :class:`~naheo_spec.errors.InputError` rather than extrapolate. Numeric metadata
        present in every spectrum (``state_of_charge``, ``time``...) become coordinates;
        each row keeps its own source, metadata and warnings.

        Raises
        ------
        InputError
            No spectra, spectra of different axis kinds, or ``axis`` outside a spectrum.
        """
        if not spectra:
            raise InputError("cannot build a stack from no spectra")
        first = spectra[0]
        kinds = {s.axis_kind for s in spectra}
        if len(kinds) > 1:
            raise InputError(f"cannot stack spectra of different axis kinds: "
                             f"{sorted(k.value for k in kinds)}")
        axis = np.asarray(first.axis if axis is None else axis, dtype=float)
        rows, warn = [], StackWarningsBuilder(len(spectra))
        chan_names = set(first.channels)
        for s in spectra[1:]:
            chan_names &= set(s.channels)
        chans: dict[str, list] = {k: [] for k in sorted(chan_names)}
        for i, s in enumerate(spectra):
            if axis[0] < s.axis[0] - 1e-9 or axis[-1] > s.axis[-1] + 1e-9:
                raise InputError(
                    f"{s.name}: covers {s.axis[0]:.2f}..{s.axis[-1]:.2f} {s.axis_unit}, "
                    f"stack axis needs {axis[0]:.2f}..{axis[-1]:.2f}")
            rows.append(np.interp(axis, s.axis, s.signal))
            for k in chans:
                chans[k].append(np.interp(axis, s.axis, s.channels[k]))
            warn.add_records(i, s.warnings)
        coords = {}
        for key in first.metadata:
            vals = [s.metadata.get(key) for s in spectra]
            if all(isinstance(v, (int, float, np.integer, np.floating))
                   and not isinstance(v, bool) for v in vals):
                coords[key] = np.asarray(vals, dtype=float)
        return cls(axis, np.vstack(rows), axis_kind=first.axis_kind, axis_unit=first.axis_unit,
                   signal_label=first.signal_label, signal_unit=first.signal_unit,
                   channels={k: np.vstack(v) for k, v in chans.items()},
                   coordinates=coords, labels=[s.source.scan or s.name for s in spectra],
                   row_warnings=warn.build(), element=first.element, edge=first.edge,
                   acquisition=first.acquisition, source=first.source,
                   scan_sources=[s.source for s in spectra],
                   scan_metadata=[s.metadata for s in spectra])
