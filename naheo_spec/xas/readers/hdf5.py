"""Beamline HDF5/NeXus files holding X-ray absorption spectra.

Any group that holds a 1-D energy-like dataset and a μ-like dataset on it is a spectrum
source. An ``NXdata`` group is read through its ``@signal``/``@axes``; other groups by
dataset name (energy: ``energy``, ``energy_eV``, ``e``, ``x``; μ: ``mu``, ``mutrans``,
``xmu``, ``signal``; reference: ``murefer``, ``mu_ref``, ``mu_reference``, ``reference``,
``mufoil``; names compared case-insensitively). A 1-D signal gives one spectrum; a 2-D
``[nScan, nEnergy]`` signal gives a :class:`~naheo_spec.model.SpectrumStack`
(``[nEnergy, nScan]`` is transposed). The same dataset reached through several links is
read once.

Discovery (:func:`find_layouts`) reads shapes and attributes only, so the same rules serve
the in-memory reader and the out-of-core XANES path
(:func:`naheo_spec.xas.outofcore.xanes_hdf5_stack`), which reads the datasets block by
block. Energies without ``@units = "eV"`` that look like keV are converted (XAS only).

naheo_spec's own result stores are read by the ``nexus-store`` format instead.

References
----------
NeXus NXdata base class, https://manual.nexusformat.org/classes/base_classes/NXdata.html
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from naheo_spec.errors import ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.repair import repair_axis
from naheo_spec.model import AxisKind, SourceInfo, Spectrum, SpectrumStack
from naheo_spec.xas.readers.columns import fill_edge, kev_to_ev

__all__ = ["Hdf5Layout", "open_hdf5", "find_layouts", "find_stack_layout", "read_hdf5",
           "read_hdf5_stack", "hdf5_attr_value", "ENERGY_NAMES", "MU_NAMES",
           "REFERENCE_NAMES"]

ENERGY_NAMES = ("energy", "energy_ev", "e", "x")
MU_NAMES = ("mu", "mutrans", "xmu", "signal")
REFERENCE_NAMES = ("murefer", "mu_ref", "mu_reference", "reference", "mufoil")

EXPECTED = ("a group with a 1-D energy-like dataset (energy, energy_eV, e, x or NXdata @axes) "
            "and a mu-like dataset on it (mu, mutrans, xmu, signal or NXdata @signal)")
H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError)
_SKIP_ATTRS = {"NX_class", "signal", "axes", "auxiliary_signals", "default"}


def hdf5_attr_value(value: Any) -> Any:
    """HDF5 attribute/scalar value -> plain Python (str, number, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return ([hdf5_attr_value(v) for v in value.tolist()] if value.ndim
                else hdf5_attr_value(value[()]))
    if isinstance(value, np.generic):
        return hdf5_attr_value(value.item())
    if isinstance(value, list):
        return [hdf5_attr_value(v) for v in value]
    return value


def _str_list(value: Any) -> list[str]:
    value = hdf5_attr_value(value)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _numeric_dataset(group, name: str):
    import h5py

    obj = group.get(name)
    if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iuf" and obj.ndim in (1, 2):
        return obj
    return None


def _find_by_name(group, names: tuple[str, ...]):
    """First numeric dataset in ``group`` whose lower-cased name is in ``names`` (in order)."""
    lower = {}
    for key in group:
        lower.setdefault(key.lower(), key)
    for name in names:
        if name in lower:
            ds = _numeric_dataset(group, lower[name])
            if ds is not None:
                return ds
    return None


def _units(ds) -> str | None:
    units = ds.attrs.get("units")
    return None if units is None else str(hdf5_attr_value(units)).strip()


def _group_metadata(group) -> dict[str, Any]:
    import h5py

    meta = {k: hdf5_attr_value(v) for k, v in group.attrs.items()
            if k not in _SKIP_ATTRS and not k.endswith("_indices")}
    for key, obj in group.items():
        if isinstance(obj, h5py.Dataset) and obj.shape == () and key.lower() not in meta:
            meta[key] = hdf5_attr_value(obj[()])
    return meta


def _element_edge(meta: dict[str, Any]) -> tuple[str | None, str | None]:
    low = {str(k).lower(): v for k, v in meta.items()}
    element = next((low[k] for k in ("element", "element.symbol", "absorbing_element", "absorber")
                    if isinstance(low.get(k), str)), None)
    edge = next((low[k] for k in ("edge", "element.edge", "absorption_edge")
                 if isinstance(low.get(k), str)), None)
    return element, edge


@dataclass
class Hdf5Layout:
    """Where one spectrum or stack lives in an open HDF5 file (datasets not read).

    Attributes
    ----------
    group : str
        HDF5 path of the group.
    energy, signal, reference : h5py.Dataset
        The datasets (``reference`` None when absent).
    transposed : bool
        True when the 2-D signal is stored ``[nEnergy, nScan]``.
    columns : dict
        Dataset paths used, for provenance.
    energy_in_ev : bool
        The energy dataset declares ``@units = "eV"`` (no keV check).
    metadata : dict
        The group's attributes and scalar datasets.
    from_nxdata : bool
        Found through an NXdata group's ``@signal``.
    """

    group: str
    energy: Any
    signal: Any
    reference: Any
    transposed: bool
    columns: dict
    energy_in_ev: bool
    metadata: dict = field(default_factory=dict)
    from_nxdata: bool = False

    @property
    def is_stack(self) -> bool:
        return self.signal.ndim == 2

    @property
    def n_scans(self) -> int:
        if not self.is_stack:
            return 1
        return int(self.signal.shape[1 if self.transposed else 0])

    @property
    def element_edge(self) -> tuple[str | None, str | None]:
        return _element_edge(self.metadata)

    def read_rows(self, ds, rows: slice | None = None) -> np.ndarray:
        """Rows (scans) of ``ds`` as ``(n, nEnergy)`` (all rows when ``rows`` is None)."""
        if ds is None:
            return None
        if not self.is_stack:
            return np.asarray(ds[()], dtype=float)[None, :]
        sl = slice(None) if rows is None else rows
        return np.asarray(ds[:, sl].T if self.transposed else ds[sl])

    def energy_axis(self, path) -> tuple[np.ndarray, np.ndarray | None, list]:
        """Repaired energy axis (eV, ascending), the raw columns it keeps in order (None:
        all, unchanged) and the repairs made.

        Raises
        ------
        ReadError
            Duplicated energies (merging them would need every row at once; read the stack
            into memory with :func:`read_hdf5_stack` instead).
        """
        raw = np.asarray(self.energy[()], dtype=float)
        where = f"{path}:{self.group}"
        notes = []
        if not self.energy_in_ev:
            raw, kev = kev_to_ev(raw, where)
            if kev is not None:
                notes.append(kev)
        axis, cols, repairs = repair_axis(raw, {"index": np.arange(raw.size, dtype=float)},
                                          path=where)
        idx = cols["index"]
        if np.any(idx != np.round(idx)):
            raise ReadError(path, f"group {self.group}: the energy axis has duplicated values; "
                                  "merging them needs every row at once: read the stack with "
                                  "naheo_spec.io.read_stack and use analyze_xanes_stack")
        idx = idx.astype(int)
        keep = None if idx.size == raw.size and np.all(idx == np.arange(raw.size)) else idx
        return axis, keep, notes + repairs


def _layout(group, en, sig, from_nxdata: bool) -> Hdf5Layout | None:
    if en is None or sig is None or en.ndim != 1:
        return None
    n = en.shape[0]
    if sig.ndim == 1:
        if sig.shape[0] != n:
            return None
        transposed = False
    elif sig.shape[1] == n:
        transposed = False
    elif sig.shape[0] == n:
        transposed = True
    else:
        return None
    ref = _find_by_name(group, REFERENCE_NAMES)
    if ref is not None and (ref.id == sig.id or ref.shape != sig.shape):
        ref = None
    columns = {"energy": en.name, "mu": sig.name}
    if ref is not None:
        columns["reference"] = ref.name
    return Hdf5Layout(group=group.name, energy=en, signal=sig, reference=ref,
                      transposed=transposed, columns=columns,
                      energy_in_ev=(_units(en) or "").lower() == "ev",
                      metadata=_group_metadata(group), from_nxdata=from_nxdata)


def _nxdata_axis(group, signal_ds):
    """The energy axis dataset of an NXdata group (from @axes), or None."""
    axes = [a for a in _str_list(group.attrs.get("axes")) if a != "."]
    found = []
    for name in axes:
        ds = _numeric_dataset(group, name)
        if ds is not None and ds.ndim == 1 and ds.size in signal_ds.shape:
            found.append(ds)
    if not found:
        return None
    for ds in found:  # prefer an axis that says it is an energy
        name = ds.name.rsplit("/", 1)[-1].lower()
        if name in ENERGY_NAMES or (_units(ds) or "") in ("eV", "keV"):
            return ds
    last = [ds for ds in found if ds.size == signal_ds.shape[-1]]
    return last[-1] if last else found[-1]


def _group_layout(group) -> Hdf5Layout | None:
    nx_class = hdf5_attr_value(group.attrs.get("NX_class", ""))
    if nx_class == "NXdata" and "signal" in group.attrs:
        names = _str_list(group.attrs["signal"])
        sig = _numeric_dataset(group, names[0]) if names else None
        if sig is not None:
            en = _nxdata_axis(group, sig) or _find_by_name(group, ENERGY_NAMES)
            found = _layout(group, en, sig, True)
            if found is not None:
                return found
    return _layout(group, _find_by_name(group, ENERGY_NAMES), _find_by_name(group, MU_NAMES),
                   False)


def find_layouts(f, *, skip: tuple[str, ...] = ()) -> list[Hdf5Layout]:
    """Every spectrum source in an open HDF5 file, in file order (shapes only, no data read).

    A signal reached through several groups (an NXdata link to a raw group) is listed once,
    through its NXdata group. Groups under a path in ``skip`` are ignored.
    """
    import h5py

    groups = [f]
    f.visititems(lambda name, obj: groups.append(obj) if isinstance(obj, h5py.Group) else None)
    found = []
    for order, group in enumerate(groups):
        if any(group.name == s or group.name.startswith(s + "/") for s in skip):
            continue
        lay = _group_layout(group)
        if lay is not None:
            found.append((order, lay))
    found.sort(key=lambda t: (not t[1].from_nxdata, t[0]))
    unique, seen = [], []
    for order, lay in found:
        if not any(lay.signal.id == s for s in seen):
            seen.append(lay.signal.id)
            unique.append((order, lay))
    return [lay for _, lay in sorted(unique, key=lambda t: t[0])]


@contextlib.contextmanager
def open_hdf5(path: str | Path) -> Iterator[Any]:
    """Open an HDF5 file read-only; h5py's errors become ReadError naming the file."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ReadError(path, "file does not exist" if not path.exists() else "not a regular file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ReadError(path, f"not a readable HDF5/NeXus file ({exc}); expected {EXPECTED}"
                        ) from exc
    try:
        yield f
    except H5_ERRORS as exc:
        raise ReadError(path, f"corrupt or truncated HDF5 file ({type(exc).__name__}: {exc})"
                        ) from exc
    finally:
        f.close()


def find_stack_layout(f, path, dataset: str | None = None) -> Hdf5Layout:
    """The one 2-D ``[nScan, nEnergy]`` stack of an open file (or the one named ``dataset``:
    its group or its signal dataset).

    Raises
    ------
    ReadError
        ``dataset`` is not a stack, or ``dataset`` is None and the file holds zero or several
        stacks (the message lists them).
    """
    stacks = [lay for lay in find_layouts(f) if lay.is_stack]
    if dataset is not None:
        want = "/" + dataset.strip("/")
        chosen = [c for c in find_layouts(f) if want in (c.group, c.signal.name)]
        if not chosen or not chosen[0].is_stack:
            raise ReadError(path, f"dataset {want!r} is not a 2-D [nScan, nEnergy] stack with an "
                                  f"energy axis; stacks found: {[c.signal.name for c in stacks]}")
        return chosen[0]
    if len(stacks) != 1:
        raise ReadError(path, f"found {len(stacks)} 2-D [nScan, nEnergy] stacks "
                              f"{[c.signal.name for c in stacks]}, expected exactly one; pass "
                              "dataset=... (or --dataset)")
    return stacks[0]


def _stack(lay: Hdf5Layout, path: Path, sha: str) -> SpectrumStack:
    energy, keep, notes = lay.energy_axis(path)
    mu = lay.read_rows(lay.signal)
    ref = lay.read_rows(lay.reference)
    if keep is not None:
        mu = mu[:, keep]
        ref = None if ref is None else ref[:, keep]
    element, edge = lay.element_edge
    if element is None or edge is None:
        usable = np.flatnonzero(np.all(np.isfinite(mu), axis=1) & (np.ptp(mu, axis=1) > 0))
        if usable.size:
            element, edge, more, _ = fill_edge(energy, mu[usable[0]], element, edge,
                                               f"{path}:{lay.group}")
            notes += more
    return SpectrumStack(energy, mu.astype(float, copy=False), axis_kind=AxisKind.PHOTON_ENERGY,
                         references=ref, element=element, edge=edge, metadata=lay.metadata,
                         source=SourceInfo(path=str(path), sha256=sha, format="hdf5",
                                           scan=lay.group, columns=lay.columns),
                         warnings=tuple(notes))


def _spectrum(lay: Hdf5Layout, path: Path, sha: str) -> Spectrum:
    where = f"{path}:{lay.group}"
    energy = np.asarray(lay.energy[()], dtype=float)
    notes = []
    if not lay.energy_in_ev:
        energy, kev = kev_to_ev(energy, where)
        if kev is not None:
            notes.append(kev)
    cols = {"mu": np.asarray(lay.signal[()], dtype=float)}
    if lay.reference is not None:
        cols["reference"] = np.asarray(lay.reference[()], dtype=float)
    energy, cols, repairs = repair_axis(energy, cols, path=where)
    element, edge = lay.element_edge
    notes += repairs
    if element is None or edge is None:
        element, edge, more, _ = fill_edge(energy, cols["mu"], element, edge, where)
        notes += more
    return Spectrum(energy, cols["mu"], axis_kind=AxisKind.PHOTON_ENERGY,
                    reference=cols.get("reference"), element=element, edge=edge,
                    metadata={**lay.metadata, "nexus_group": lay.group},
                    source=SourceInfo(path=str(path), sha256=sha, format="hdf5", scan=lay.group,
                                      columns=lay.columns),
                    warnings=tuple(notes))


def read_hdf5(probe) -> list[Spectrum | SpectrumStack]:
    """Read every spectrum and stack of a beamline HDF5 file.

    Returns
    -------
    list of Spectrum or SpectrumStack
        One block per source group, in file order: a Spectrum for a 1-D signal, a
        SpectrumStack for a 2-D one (rows labelled ``"<group>[i]"``); group attributes and
        scalar datasets go into ``metadata``, and ``element``/``edge`` are taken from them.

    Raises
    ------
    ReadError
        Not HDF5, truncated or corrupt, or no usable group.
    """
    path = Path(probe.path)
    with open_hdf5(path) as f:
        layouts = find_layouts(f)
        if not layouts:
            raise ReadError(path, f"no spectrum found; expected {EXPECTED}")
        sha = probe.sha256
        return [(_stack if lay.is_stack else _spectrum)(lay, path, sha) for lay in layouts]


def read_hdf5_stack(path: str | Path, *, group: str | None = None) -> SpectrumStack:
    """Read a 2-D ``[nScan, nEnergy]`` dataset as one :class:`~naheo_spec.model.SpectrumStack`.

    Parameters
    ----------
    path : str or Path
        HDF5/NeXus file.
    group : str, optional
        HDF5 path of the group (or its signal dataset) holding the stack. Default None: the
        file must contain exactly one 2-D stack.

    Raises
    ------
    ReadError
        File unreadable; ``group`` not a stack; zero or several stacks with ``group`` None.
    """
    from naheo_spec.provenance import file_sha256

    path = Path(path)
    with open_hdf5(path) as f:
        lay = find_stack_layout(f, path, group)
        return _stack(lay, path, file_sha256(path))


def sniff_hdf5(probe) -> float:
    """0.5 for any HDF5 file (naheo_spec stores are claimed more strongly by ``nexus-store``)."""
    return 0.5 if probe.is_hdf5 else 0.0


FORMAT = FormatSpec(name="hdf5", technique="xas",
                    description="beamline HDF5/NeXus: energy + mu (+ reference) datasets or NXdata; "
                                "2-D [nScan, nEnergy] signals as stacks",
                    sniff=sniff_hdf5, read=read_hdf5, extensions=("h5", "hdf5", "nxs", "nx5"),
                    aliases=("nexus", "nxs", "h5"))
