"""Read spectra from NeXus/HDF5 files: naheo_spec store files and generic beamline files.

Two kinds of files are understood:

1. Store files written by :func:`naheo_spec.store.write_records`: every ``NXentry`` of kind
   ``"spectrum"`` is rebuilt exactly (arrays, metadata and the *original* source file and
   SHA-256, since that is where the numbers came from).
2. Generic HDF5/NeXus: any group that holds a 1-D energy-like dataset and a mu-like dataset
   on it. An ``NXdata`` group is read through its ``@signal``/``@axes``; other groups by
   dataset name (energy: ``energy``, ``energy_eV``, ``e``, ``x``; mu: ``mu``, ``mutrans``,
   ``xmu``, ``signal``; reference: ``murefer``, ``mu_ref``, ``mu_reference``, ``reference``,
   ``mufoil``; names compared case-insensitively). A 1-D signal gives one spectrum; a 2-D
   ``[nScan, nEnergy]`` signal gives one spectrum per row (``[nEnergy, nScan]`` is
   transposed). The same dataset reached through several links is read once.

Energies go through :func:`naheo_spec._validation.repair_axis` (sorting, duplicate merging,
NaN rows, keV -> eV unless the dataset's ``@units`` is ``eV``).

References
----------
NeXus NXdata base class, https://manual.nexusformat.org/classes/base_classes/NXdata.html
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec._validation import repair_axis
from naheo_spec.errors import ReadError, StoreError
from naheo_spec.provenance import file_sha256
from naheo_spec.spectrum import SourceInfo, Spectrum, SpectrumStack

ENERGY_NAMES = ("energy", "energy_ev", "e", "x")
MU_NAMES = ("mu", "mutrans", "xmu", "signal")
REFERENCE_NAMES = ("murefer", "mu_ref", "mu_reference", "reference", "mufoil")

_EXPECTED = ("a group with a 1-D energy-like dataset (energy, energy_eV, e, x or NXdata @axes) "
             "and a mu-like dataset on it (mu, mutrans, xmu, signal or NXdata @signal)")
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError)
_SKIP_ATTRS = {"NX_class", "signal", "axes", "auxiliary_signals", "default"}


@dataclass
class _Candidate:
    """One usable (energy, mu[, reference]) triple found in a file; signal rows = scans."""

    group: str
    order: int
    from_nxdata: bool
    energy: np.ndarray
    signal: np.ndarray
    reference: np.ndarray | None
    columns: dict[str, str]
    detect_kev: bool
    metadata: dict[str, Any] = field(default_factory=dict)
    signal_id: Any = None

    @property
    def is_2d(self) -> bool:
        return self.signal.ndim == 2


# ---------------------------------------------------------------------------
# HDF5 helpers
# ---------------------------------------------------------------------------
def _py(value: Any) -> Any:
    """HDF5 attribute/scalar value -> plain Python (str, number, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [_py(v) for v in value.tolist()] if value.ndim else _py(value[()])
    if isinstance(value, np.generic):
        return _py(value.item())
    if isinstance(value, list):
        return [_py(v) for v in value]
    return value


def _str_list(value: Any) -> list[str]:
    value = _py(value)
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
    return None if units is None else str(_py(units)).strip()


def _orient(signal: np.ndarray, n: int) -> np.ndarray | None:
    """Return the signal with energy along the last axis, or None if no axis has ``n`` points."""
    if signal.ndim == 1:
        return signal if signal.size == n else None
    if signal.shape[1] == n:
        return signal
    if signal.shape[0] == n:
        return signal.T
    return None


def _group_metadata(group) -> dict[str, Any]:
    meta = {k: _py(v) for k, v in group.attrs.items()
            if k not in _SKIP_ATTRS and not k.endswith("_indices")}
    import h5py

    for key, obj in group.items():
        if isinstance(obj, h5py.Dataset) and obj.shape == () and key.lower() not in meta:
            meta[key] = _py(obj[()])
    return meta


def _element_edge(meta: dict[str, Any]) -> tuple[str | None, str | None]:
    low = {str(k).lower(): v for k, v in meta.items()}
    element = next((low[k] for k in ("element", "element.symbol", "absorbing_element", "absorber")
                    if isinstance(low.get(k), str)), None)
    edge = next((low[k] for k in ("edge", "element.edge", "absorption_edge")
                 if isinstance(low.get(k), str)), None)
    return element, edge


# ---------------------------------------------------------------------------
# candidate discovery
# ---------------------------------------------------------------------------
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
    # otherwise the axis of the last dimension
    last = [ds for ds in found if ds.size == signal_ds.shape[-1]]
    return last[-1] if last else found[-1]


def _candidate(group, order: int, energy_ds, signal_ds, from_nxdata: bool) -> _Candidate | None:
    energy = np.asarray(energy_ds[()], dtype=float)
    if energy.ndim != 1:
        return None
    signal = _orient(np.asarray(signal_ds[()], dtype=float), energy.size)
    if signal is None:
        return None
    columns = {"energy": energy_ds.name, "mu": signal_ds.name}
    reference = None
    ref_ds = _find_by_name(group, REFERENCE_NAMES)
    if ref_ds is not None and ref_ds.id != signal_ds.id:
        ref = _orient(np.asarray(ref_ds[()], dtype=float), energy.size)
        if ref is not None and ref.shape == signal.shape:
            reference = ref
            columns["reference"] = ref_ds.name
    return _Candidate(group=group.name, order=order, from_nxdata=from_nxdata, energy=energy,
                      signal=signal, reference=reference, columns=columns,
                      detect_kev=(_units(energy_ds) or "").lower() != "ev",
                      metadata=_group_metadata(group), signal_id=signal_ds.id)


def _group_candidate(group, order: int) -> _Candidate | None:
    nx_class = _py(group.attrs.get("NX_class", ""))
    if nx_class == "NXdata" and "signal" in group.attrs:
        sig_names = _str_list(group.attrs["signal"])
        signal_ds = _numeric_dataset(group, sig_names[0]) if sig_names else None
        if signal_ds is not None:
            energy_ds = _nxdata_axis(group, signal_ds) or _find_by_name(group, ENERGY_NAMES)
            if energy_ds is not None:
                cand = _candidate(group, order, energy_ds, signal_ds, True)
                if cand is not None:
                    return cand
    energy_ds = _find_by_name(group, ENERGY_NAMES)
    signal_ds = _find_by_name(group, MU_NAMES)
    if energy_ds is None or signal_ds is None or energy_ds.ndim != 1:
        return None
    return _candidate(group, order, energy_ds, signal_ds, False)


def _find_candidates(f, skip: tuple[str, ...]) -> list[_Candidate]:
    import h5py

    groups = [f]
    f.visititems(lambda name, obj: groups.append(obj) if isinstance(obj, h5py.Group) else None)
    found = []
    for order, group in enumerate(groups):
        if any(group.name == s or group.name.startswith(s + "/") for s in skip):
            continue
        cand = _group_candidate(group, order)
        if cand is not None:
            found.append(cand)
    # The same signal reached from an NXdata group and its source group: keep the NXdata one.
    found.sort(key=lambda c: (not c.from_nxdata, c.order))
    unique, seen = [], []
    for cand in found:
        if not any(cand.signal_id == s for s in seen):
            seen.append(cand.signal_id)
            unique.append(cand)
    return sorted(unique, key=lambda c: c.order)


# ---------------------------------------------------------------------------
# building spectra
# ---------------------------------------------------------------------------
def _spectrum(cand: _Candidate, row: int | None, path: Path, sha: str) -> Spectrum:
    signal = cand.signal if row is None else cand.signal[row]
    cols = {"mu": signal}
    if cand.reference is not None:
        cols["reference"] = cand.reference if row is None else cand.reference[row]
    scan = cand.group if row is None else f"{cand.group}[{row}]"
    energy, cols, repairs = repair_axis(cand.energy, cols, path=f"{path}:{scan}",
                                        detect_kev=cand.detect_kev)
    element, edge = _element_edge(cand.metadata)
    meta = dict(cand.metadata)
    meta["nexus_group"] = cand.group
    return Spectrum(axis=energy, signal=cols["mu"], reference=cols.get("reference"),
                    element=element, edge=edge, metadata=meta,
                    source=SourceInfo(path=str(path), sha256=sha, format="nexus", scan=scan,
                                      columns=dict(cand.columns)),
                    warnings=tuple(repairs))


def _store_spectra(f, path: Path) -> tuple[list[Spectrum], list[str], list[str]]:
    """Spectra of store entries, the store entry paths (skipped by the generic search) and the
    kinds of the non-spectrum store entries."""
    from naheo_spec.store.convert import SPECTRUM_KIND, record_to_spectrum
    from naheo_spec.store.nexus import _read_entry, is_store_entry

    spectra, entries, kinds = [], [], []
    for obj in f.values():
        if not is_store_entry(obj):
            continue
        entries.append(obj.name)
        record = _read_entry(obj)
        if record.kind == SPECTRUM_KIND:
            try:
                spectra.append(record_to_spectrum(record))
            except StoreError as exc:
                raise ReadError(path, f"entry {obj.name}: {exc}") from exc
        else:
            kinds.append(record.kind)
    return spectra, entries, kinds


def _open(path: Path):
    import h5py

    if not path.is_file():
        raise ReadError(path, "file does not exist" if not path.exists() else "not a regular file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ReadError(path, f"not a readable HDF5/NeXus file ({exc}); expected {_EXPECTED}"
                        ) from exc


def read_nexus(path: str | Path) -> list[Spectrum]:
    """Read every spectrum in a NeXus/HDF5 file.

    Parameters
    ----------
    path : str or Path
        A naheo_spec store file or a generic HDF5/NeXus file (see the module docstring for the
        datasets recognised).

    Returns
    -------
    list of Spectrum
        Store entries of kind ``"spectrum"`` exactly as stored (source = the original data
        file), then one spectrum per 1-D group and per row of each 2-D group, with
        ``SourceInfo(path, sha256, format="nexus", scan=<group path>[<row>])``; the group's
        attributes and scalar datasets go into ``metadata`` (plus ``"nexus_group"``), and
        ``element``/``edge`` are taken from them when present.

    Raises
    ------
    ReadError
        The file is missing, not HDF5, truncated or corrupt, or holds no usable group
        (the message names the file and what was expected).
    """
    path = Path(path)
    with _open(path) as f:
        try:
            spectra, entries, kinds = _store_spectra(f, path)
            candidates = _find_candidates(f, tuple(entries))
        except _H5_ERRORS as exc:
            raise ReadError(path, f"corrupt or truncated HDF5 file ({type(exc).__name__}: {exc})"
                            ) from exc
    if candidates:
        sha = file_sha256(path)
        for cand in candidates:
            rows = range(cand.signal.shape[0]) if cand.is_2d else [None]
            spectra.extend(_spectrum(cand, row, path, sha) for row in rows)
    if not spectra:
        extra = f" (store entries of kind {sorted(set(kinds))} hold no spectrum)" if kinds else ""
        raise ReadError(path, f"no spectrum found{extra}; expected {_EXPECTED}")
    return spectra


def read_nexus_stack(path: str | Path, *, group: str | None = None) -> SpectrumStack:
    """Read a 2-D ``[nScan, nEnergy]`` dataset as one :class:`~naheo_spec.spectrum.SpectrumStack`.

    Parameters
    ----------
    path : str or Path
        Generic HDF5/NeXus file.
    group : str, optional
        HDF5 path of the group holding the stack (e.g. ``"/entry/data"``). Default is None: the
        file must contain exactly one 2-D group.

    Returns
    -------
    SpectrumStack
        Shared energy axis (repaired once for all rows: a NaN in any row drops that energy from
        every row), ``signals`` of shape (nScan, nEnergy), ``references`` when a reference
        dataset of the same shape exists, ``scan_metadata[i]["scan"] = f"{group}[{i}]"``.

    Raises
    ------
    ReadError
        File unreadable; ``group`` not found or not usable; ``group`` None and zero or several
        2-D groups (the message lists the usable groups).
    """
    path = Path(path)
    with _open(path) as f:
        try:
            candidates = _find_candidates(f, ())
        except _H5_ERRORS as exc:
            raise ReadError(path, f"corrupt or truncated HDF5 file ({type(exc).__name__}: {exc})"
                            ) from exc
    if group is not None:
        want = "/" + group.strip("/")
        chosen = [c for c in candidates if c.group == want]
        if not chosen:
            raise ReadError(path, f"group {want!r} is not {_EXPECTED}; usable groups: "
                                  f"{[c.group for c in candidates]}")
    else:
        chosen = [c for c in candidates if c.is_2d]
        if len(chosen) != 1:
            raise ReadError(path, f"found {len(chosen)} groups with a 2-D [nScan, nEnergy] "
                                  f"signal {[c.group for c in chosen]}, expected exactly one; "
                                  "pass group=... (usable groups: "
                                  f"{[c.group for c in candidates]})")
    return _stack(chosen[0], path)


def _stack(cand: _Candidate, path: Path) -> SpectrumStack:
    signal = np.atleast_2d(cand.signal)
    n = signal.shape[0]
    cols = {f"mu[{i}]": signal[i] for i in range(n)}
    ref = None if cand.reference is None else np.atleast_2d(cand.reference)
    if ref is not None:
        cols.update({f"reference[{i}]": ref[i] for i in range(n)})
    energy, cols, repairs = repair_axis(cand.energy, cols, path=f"{path}:{cand.group}",
                                        detect_kev=cand.detect_kev)
    element, edge = _element_edge(cand.metadata)
    return SpectrumStack(
        axis=energy, signals=np.vstack([cols[f"mu[{i}]"] for i in range(n)]),
        references=None if ref is None else np.vstack([cols[f"reference[{i}]"] for i in range(n)]),
        element=element, edge=edge,
        scan_metadata=tuple({"scan": f"{cand.group}[{i}]"} for i in range(n)),
        source=SourceInfo(path=str(path), sha256=file_sha256(path), format="nexus",
                          scan=cand.group, columns=dict(cand.columns)),
        warnings=tuple(repairs))
