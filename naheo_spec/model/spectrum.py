"""One measured spectrum and where it came from.

A :class:`Spectrum` is what readers return and what pipelines accept: an ascending axis of
a declared kind and unit, a signal, optional per-point standard deviation and named extra
channels (XAS reference foil, XPS transmission function, I0), typed acquisition settings,
the file's header verbatim, mapped metadata, the source file with its SHA-256, and the
structured warnings raised while reading it.

A Spectrum is immutable for real: its arrays are read-only, its dicts refuse changes, and
a changed copy is made with :meth:`Spectrum.with_changes`. Two spectra are equal when all
their fields are (arrays compared element-wise); they can be hashed and used as dict keys.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningRecord
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

__all__ = ["SourceInfo", "Spectrum", "SIGMA_SOURCES", "check_warnings"]

#: Where a per-point standard deviation came from.
SIGMA_SOURCES = ("poisson", "estimated", "file")


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
        Registered format that produced it (``"xdi"``, ``"xas-columns"``, ``"athena"``,
        ``"nexus"``, ``"synthetic"``...).
    scan : str or None
        Block name inside a multi-block file (Athena group label, XPS ``"NiO Ni 2p"``,
        HDF5 path, stack row).
    columns : dict
        Which columns or expressions gave the signal and channels, e.g.
        ``{"mu": "ln(i0/itrans)", "reference": "ln(itrans/irefer)"}``.
    aliases : tuple of str
        Other names the block answers to when selected (larch's ``NiO_000`` for
        Athena's ``NiO.000``, the XPS region ``"Ni 2p"``).
    """

    path: str | None = None
    sha256: str | None = None
    format: str = "unknown"
    scan: str | None = None
    columns: Mapping[str, str] = field(default_factory=FrozenDict)
    aliases: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "columns", frozen_dict(self.columns))
        object.__setattr__(self, "aliases", tuple(self.aliases))

    def __hash__(self):
        return hash((self.path, self.sha256, self.format, self.scan))


def check_warnings(value, where: str) -> tuple[WarningRecord, ...]:
    """A tuple of :class:`~naheo_spec.diagnostics.WarningRecord`, or InputError."""
    out = tuple(value or ())
    for w in out:
        if not isinstance(w, WarningRecord):
            raise InputError(f"{where}: warnings must be WarningRecord objects (code, message), "
                             f"got {type(w).__name__} {str(w)[:60]!r}")
    return out


def _float_array(name: str, value, n: int | None = None) -> np.ndarray:
    a = readonly_array(value)
    if a.ndim != 1:
        raise InputError(f"Spectrum {name} must be 1-D, got shape {a.shape}")
    if n is not None and a.size != n:
        raise InputError(f"Spectrum {name} has {a.size} points, axis has {n}")
    return a


@dataclass(frozen=True, eq=False, repr=False, init=False)
class Spectrum:
    """One measured spectrum.

    Parameters
    ----------
    axis : array-like, shape (M,)
        Strictly increasing abscissa in ``axis_unit`` (readers sort and report it).
    signal : array-like, shape (M,)
        Measured quantity: μ(E) for XAS, counts or counts/s for XPS, intensity for Raman.
    axis_kind : AxisKind or str
        What the axis is. Default is ``"photon_energy"`` (XAS).
    axis_unit : str, optional
        ASCII unit of ``axis``. Default None: the kind's default (eV, 1/cm, nm).
    signal_label : str
        Name of the signal (``"mu"``, ``"counts"``, ``"intensity"``). Default ``"mu"``.
    signal_unit : str
        ASCII unit of the signal (``""``, ``"counts"``, ``"counts/s"``). Default ``""``.
    sigma : array-like, shape (M,), optional
        Standard deviation of each signal point, same unit as the signal.
    sigma_source : str, optional
        How ``sigma`` was obtained: ``"poisson"`` (raw integer counts only),
        ``"estimated"`` (from the data's own point-to-point scatter) or ``"file"``.
        Required when ``sigma`` is given.
    channels : mapping of str to array-like (M,), optional
        Extra channels on the same axis by name: ``"reference"`` (simultaneous XAS foil
        μ), ``"transmission"`` (XPS transmission function), ``"i0"``...
    reference : array-like (M,), optional
        Shortcut for ``channels["reference"]``.
    element, edge : str, optional
        Element and absorption edge (XAS) or core level (XPS) when known.
    acquisition : XasAcquisition or XpsAcquisition or RamanAcquisition, optional
        Typed settings that drive the physics (photon energy, laser wavelength...).
    metadata : mapping, optional
        Other header fields, mapped to plain names.
    header : str, optional
        The file's own header (or the block's), verbatim.
    source : SourceInfo, optional
        File, hash, format, block name and columns used.
    warnings : sequence of WarningRecord, optional
        Repairs and doubts raised while reading (each also emitted as a warning).

    Examples
    --------
    >>> import numpy as np
    >>> s = Spectrum(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.ones(5), axis_kind="raman_shift")
    >>> s.axis_unit, s.axis.flags.writeable
    ('1/cm', False)
    >>> s == s.with_changes(), len({s, s.with_changes()})
    (True, 1)
    """

    axis: np.ndarray
    signal: np.ndarray
    axis_kind: AxisKind
    axis_unit: str
    signal_label: str
    signal_unit: str
    sigma: np.ndarray | None
    sigma_source: str | None
    channels: Mapping[str, np.ndarray]
    element: str | None
    edge: str | None
    acquisition: Acquisition | None
    metadata: Mapping[str, Any]
    header: str | None
    source: SourceInfo
    warnings: tuple[WarningRecord, ...]

    def __init__(self, axis, signal, *, axis_kind: AxisKind | str = AxisKind.PHOTON_ENERGY,
                 axis_unit: str | None = None, signal_label: str = "mu", signal_unit: str = "",
                 sigma=None, sigma_source: str | None = None,
                 channels: Mapping[str, Any] | None = None, reference=None,
                 element: str | None = None, edge: str | None = None,
                 acquisition: Acquisition | None = None,
                 metadata: Mapping[str, Any] | None = None, header: str | None = None,
                 source: SourceInfo | None = None, warnings=()):
        a = _float_array("axis", axis)
        s = _float_array("signal", signal, a.size)
        kind = coerce_axis_kind(axis_kind)
        chans = dict(channels or {})
        if reference is not None:
            chans["reference"] = reference
        chans = FrozenDict({str(k): _float_array(f"channel {k!r}", v, a.size)
                            for k, v in chans.items() if v is not None})
        if sigma is not None:
            sigma = _float_array("sigma", sigma, a.size)
            if sigma_source not in SIGMA_SOURCES:
                raise InputError(f"sigma_source must be one of {SIGMA_SOURCES} when sigma is "
                                 f"given, got {sigma_source!r}")
        elif sigma_source is not None:
            raise InputError("sigma_source given without sigma")
        set_ = object.__setattr__
        set_(self, "axis", a)
        set_(self, "signal", s)
        set_(self, "axis_kind", kind)
        set_(self, "axis_unit", kind.default_unit if axis_unit is None else str(axis_unit))
        set_(self, "signal_label", str(signal_label))
        set_(self, "signal_unit", str(signal_unit))
        set_(self, "sigma", sigma)
        set_(self, "sigma_source", sigma_source)
        set_(self, "channels", chans)
        set_(self, "element", element)
        set_(self, "edge", edge)
        set_(self, "acquisition", acquisition)
        set_(self, "metadata", frozen_dict(metadata))
        set_(self, "header", header)
        set_(self, "source", source if source is not None else SourceInfo())
        set_(self, "warnings", check_warnings(warnings, "Spectrum"))

    # ------------------------------------------------------------------ identity
    def __eq__(self, other) -> bool:
        if not isinstance(other, Spectrum):
            return NotImplemented
        return self.equals(other)

    def equals(self, other: "Spectrum") -> bool:
        """True when every field is equal (arrays element-wise, NaN equal to NaN)."""
        return all(values_equal(getattr(self, f.name), getattr(other, f.name))
                   for f in fields(self))

    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.axis_kind, self.axis_unit, array_digest(self.axis),
                      array_digest(self.signal), self.source))
            object.__setattr__(self, "_hash", h)
        return h

    def __repr__(self) -> str:
        n = self.axis.size
        rng = f"{self.axis[0]:.6g}..{self.axis[-1]:.6g} {self.axis_unit}" if n else "empty"
        extra = "".join(f", {k}" for k in self.channels)
        what = f", {self.element} {self.edge}" if self.element and self.edge else ""
        return (f"<Spectrum {self.name}: {self.axis_kind.value} {rng}, {n} points"
                f"{what}{extra}, {len(self.warnings)} warning(s)>")

    # ------------------------------------------------------------------ views
    @property
    def energy(self) -> np.ndarray:
        """Alias of :attr:`axis` (eV) for XAS/XPS code."""
        return self.axis

    @property
    def mu(self) -> np.ndarray:
        """Alias of :attr:`signal` for XAS code."""
        return self.signal

    @property
    def reference(self) -> np.ndarray | None:
        """The ``"reference"`` channel (XAS foil μ measured with the sample), or None."""
        return self.channels.get("reference")

    @property
    def name(self) -> str:
        """Short label: file name plus block name when there is one."""
        stem = Path(self.source.path).name if self.source.path else "spectrum"
        return f"{stem}:{self.source.scan}" if self.source.scan else stem

    @property
    def npts(self) -> int:
        return int(self.axis.size)

    @property
    def technique(self) -> str | None:
        """``"xas"``, ``"xps"`` or ``"raman"`` as told by the axis kind (None if unknown)."""
        return self.axis_kind.technique

    def with_changes(self, **changes) -> "Spectrum":
        """A copy with some fields replaced (``reference=`` sets that channel)."""
        if "reference" in changes:
            chans = dict(changes.pop("channels", self.channels))
            ref = changes.pop("reference")
            if ref is None:
                chans.pop("reference", None)
            else:
                chans["reference"] = ref
            changes["channels"] = chans
        return replace(self, **changes)

    def with_warnings(self, *records: WarningRecord) -> "Spectrum":
        """A copy with ``records`` appended to :attr:`warnings` (repeats dropped)."""
        return replace(self, warnings=tuple(dict.fromkeys(self.warnings + tuple(records))))
