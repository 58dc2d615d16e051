"""Write and read :class:`~naheo_spec.records.Record` objects as NeXus/HDF5.

Layout of a store file (one ``NXentry`` per record; groups keep insertion order)::

    /                          @NX_class=NXroot @creator @file_time @HDF5_Version @h5py_version
                               @default=<first entry> [@file_update_time after an append]
    /<name>                    NXentry  @default="data" @kind
        kind, title            the record kind and name (strings)
        source_file, source_sha256   input file and its SHA-256 (absent when None)
        process                NXprocess: program, version, date, step
            parameters         NXcollection: scalar parameters as datasets (for browsing)
            parameters_json    NXnote: type="application/json", data=<lossless JSON>
        data                   NXdata @signal @axes @<axis>_indices [@auxiliary_signals]
            <key>              one dataset per Record.data entry, each with @units and @long_name
        summary                NXcollection of the summary scalars
        summary_json           NXnote with the lossless JSON of the summary

The JSON notes are the source of truth when reading; the scalar datasets are a
convenience for HDF5 browsers (silx view, nexusformat, HDFView).

Writes are atomic (:func:`naheo_spec.atomic.atomic_path`): the file is
built under a temporary name and renamed onto the target only when complete,
so an interrupted run leaves any previous file untouched.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from naheo_spec.atomic import atomic_path
from naheo_spec.errors import InputError, StoreError
from naheo_spec.provenance import Provenance, file_sha256, package_version, utc_now
from naheo_spec.records import NEXUS_NAME, DataArray, DataGroup, Record, nexus_name
from naheo_spec.store.convert import dumps_lossless, loads_lossless

#: Exceptions h5py raises on unreadable, truncated or inconsistent files.
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError)

_JSON_TYPE = "application/json"


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not NEXUS_NAME.match(name):
        raise StoreError(f"{what} {name!r} breaks the NeXus naming rule (letters, digits and _, "
                         f"not starting with a digit); e.g. {nexus_name(str(name))!r}")


def _check_units(units: Any, where: str) -> None:
    if not isinstance(units, str) or not units.isascii():
        raise StoreError(f"{where}: units {units!r} must be an ASCII UDUNITS string "
                         "(e.g. 'eV', '1/angstrom', 'angstrom^2')")


def read_str(value) -> str:
    """Return an HDF5 string dataset or attribute value as ``str``."""
    if hasattr(value, "asstr"):  # an h5py Dataset
        value = value[()]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _write_str(group, name: str, text: str) -> None:
    import h5py

    group.create_dataset(name, data=text, dtype=h5py.string_dtype("utf-8"))


def _write_json_note(parent, name: str, value: Any, description: str, where: str) -> None:
    note = parent.create_group(name)
    note.attrs["NX_class"] = "NXnote"
    _write_str(note, "type", _JSON_TYPE)
    _write_str(note, "description", description)
    _write_str(note, "data", dumps_lossless(value, where=where))


def _read_json_note(parent, name: str) -> Any:
    return loads_lossless(read_str(parent[name]["data"]))


def _write_scalars(group, values: dict[str, Any]) -> None:
    """Write the browsable scalars of ``values``; everything else is only in the JSON note."""
    import h5py

    taken: set[str] = set()
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            continue
        key = nexus_name(key)          # the exact key stays in the JSON note
        if key in taken:
            continue
        taken.add(key)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, str):
            group.create_dataset(key, data=value, dtype=h5py.string_dtype("utf-8"))
        elif isinstance(value, (bool, int, float)) and not (isinstance(value, int) and
                                                             abs(value) >= 2 ** 63):
            group.create_dataset(key, data=value)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.ndim == 1:
            group.create_dataset(key, data=value)
        elif (isinstance(value, (list, tuple)) and value
              and all(isinstance(v, (int, float)) for v in value)):
            try:
                arr = np.asarray(value)
            except OverflowError:  # ints beyond int64 live only in the JSON note
                continue
            group.create_dataset(key, data=arr)


def _root_attrs(f, *, default: str | None) -> None:
    import h5py

    f.attrs["NX_class"] = "NXroot"
    f.attrs["creator"] = f"naheo_spec {package_version()}"
    f.attrs["file_time"] = utc_now()
    f.attrs["HDF5_Version"] = h5py.version.hdf5_version
    f.attrs["h5py_version"] = h5py.version.version
    if default is not None:
        f.attrs["default"] = default


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------
def _axes_attr(record: Record, group: DataGroup, shape: tuple[int, ...]
               ) -> tuple[list[str], dict[str, int]]:
    """NXdata @axes (padded with '.' to the signal rank) and the @<axis>_indices."""
    axes = list(group.axes)
    if len(axes) > len(shape):
        raise StoreError(f"record '{record.name}': {len(axes)} axes {axes} for a "
                         f"{len(shape)}-D signal '{group.signal}'")
    padded = ["."] * (len(shape) - len(axes)) + axes
    indices = {}
    for dim, key in enumerate(padded):
        if key == ".":
            continue
        if key not in group.data:
            raise StoreError(f"record '{record.name}': axis '{key}' is not in its group "
                             f"(keys {list(group.data)})")
        ax = np.asarray(group.data[key].values)
        if ax.ndim != 1 or ax.size != shape[dim]:
            raise StoreError(f"record '{record.name}': axis '{key}' has shape {ax.shape}, expected "
                             f"({shape[dim]},) to match dimension {dim} of signal "
                             f"'{group.signal}' {shape}")
        indices[key] = dim
    return padded, indices


def _write_data(entry, record: Record, name: str, group: DataGroup) -> None:
    import h5py

    _check_name(name, f"record '{record.name}': group name")
    nxdata = entry.create_group(name, track_order=True)
    nxdata.attrs["NX_class"] = "NXdata"
    if group.title:
        _write_str(nxdata, "title", group.title)
    for key, arr in group.data.items():
        _check_name(key, f"record '{record.name}': data key")
        if not isinstance(arr, DataArray):
            raise StoreError(f"record '{record.name}': data['{key}'] is a {type(arr).__name__}, "
                             "expected naheo_spec.records.DataArray")
        _check_units(arr.units, f"record '{record.name}': {name}/{key}")
        values = np.asarray(arr.values)
        if values.dtype.kind in "OUS":
            ds = nxdata.create_dataset(key, data=values.astype(object),
                                       dtype=h5py.string_dtype("utf-8"))
        elif values.ndim >= 2 and values.size > 4096:
            ds = nxdata.create_dataset(key, data=values, chunks=True, compression="gzip",
                                       compression_opts=4, shuffle=True)
        else:
            ds = nxdata.create_dataset(key, data=values)
        ds.attrs["units"] = arr.units
        ds.attrs["long_name"] = arr.long_name
    if group.signal is None:
        return
    if group.signal not in group.data:
        raise StoreError(f"record '{record.name}': signal '{group.signal}' is not in group "
                         f"'{name}' (keys {list(group.data)})")
    shape = np.shape(group.data[group.signal].values)
    padded, indices = _axes_attr(record, group, shape)
    nxdata.attrs["signal"] = group.signal
    nxdata.attrs["axes"] = padded if len(padded) != 1 else padded[0]
    for key, dim in indices.items():
        nxdata.attrs[f"{key}_indices"] = dim
    aux = [k for k, a in group.data.items()
           if k != group.signal and k not in indices and np.shape(a.values) == shape]
    if aux:
        nxdata.attrs["auxiliary_signals"] = aux


def _write_fields(entry, name: str, nx_class: str, values: dict[str, Any]) -> None:
    if not values:
        return
    grp = entry.create_group(name, track_order=True)
    grp.attrs["NX_class"] = nx_class
    _write_scalars(grp, values)


def _write_entry(f, record: Record) -> None:
    """Write one record as an NXentry into the open file ``f``."""
    _check_name(record.name, "record name")
    prov = record.provenance
    entry = f.create_group(record.name, track_order=True)
    entry.attrs["NX_class"] = "NXentry"
    entry.attrs["kind"] = record.kind
    _write_str(entry, "title", record.name)
    _write_str(entry, "kind", record.kind)
    for key in ("source_file", "source_sha256"):
        value = getattr(prov, key)
        if value is not None:
            _write_str(entry, key, str(value))
            entry.attrs[key] = str(value)

    process = entry.create_group("process", track_order=True)
    process.attrs["NX_class"] = "NXprocess"
    for key in ("program", "version", "date", "step"):
        _write_str(process, key, str(getattr(prov, key)))
    params = process.create_group("parameters", track_order=True)
    params.attrs["NX_class"] = "NXcollection"
    _write_scalars(params, prov.parameters)
    _write_json_note(process, "parameters_json", prov.parameters,
                     "every parameter of the step, lossless JSON (tuples and arrays tagged)",
                     f"'{record.name}' parameters")

    if record.definition:
        _write_str(entry, "definition", record.definition)
    groups = record.all_groups()
    for name, group in groups.items():
        _write_data(entry, record, name, group)
    default = next((n for n, g in groups.items() if g.signal is not None), None)
    if default is not None:
        entry.attrs["default"] = default
    _write_fields(entry, "sample", "NXsample", record.sample)
    _write_fields(entry, "instrument", "NXinstrument", record.instrument)

    summary = entry.create_group("summary", track_order=True)
    summary.attrs["NX_class"] = "NXcollection"
    _write_scalars(summary, record.summary)
    _write_json_note(entry, "summary_json", record.summary, "the summary, lossless JSON",
                     f"'{record.name}' summary")


def _validate_records(records: Sequence[Record], existing: Iterable[str] = ()) -> None:
    taken = set(existing)
    for rec in records:
        if not isinstance(rec, Record):
            raise StoreError(f"expected naheo_spec.records.Record objects, got "
                             f"{type(rec).__name__}")
        _check_name(rec.name, "record name")
        if rec.name in taken:
            raise StoreError(f"duplicate entry name '{rec.name}': names must be unique within a "
                             "store file")
        taken.add(rec.name)


def _open_h5(path: Path):
    """Open ``path`` read-only, turning h5py's errors into a StoreError naming the file."""
    import h5py

    if not path.is_file():
        problem = "file does not exist" if not path.exists() else "is not a regular file"
        raise StoreError(f"{path}: {problem}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise StoreError(f"{path}: not a readable HDF5 file ({exc})") from exc


def write_records(path: str | Path, records: Sequence[Record] | Record, *, overwrite: bool = False,
                  append: bool = False) -> Path:
    """Write records to a NeXus/HDF5 file, one ``NXentry`` per record.

    Parameters
    ----------
    path : str or Path
        Output file (``.h5``/``.nxs`` by convention).
    records : Record or sequence of Record
        What to write; names must be unique (and, with ``append``, new to the file).
    overwrite : bool
        Replace an existing file. Default is False: an existing file raises StoreError.
    append : bool
        Add the records to an existing store file. The existing entries are copied together with
        the new ones into a new temporary file that then replaces the old one, so the good file is
        never modified in place. A missing file is simply created. Default is False.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        Both ``overwrite`` and ``append`` are True, or ``records`` is empty.
    StoreError
        The file exists (and neither option is set); a name is duplicated or not a valid HDF5
        name; a record's signal/axes do not name arrays of matching shape; a parameter cannot be
        stored; the file to append to is not readable HDF5 or changed while writing.

    References
    ----------
    NeXus NXentry/NXdata/NXprocess/NXnote base classes, https://manual.nexusformat.org/classes/
    """
    import h5py

    if overwrite and append:
        raise InputError("write_records: choose overwrite=True (replace the file) or append=True "
                         "(add entries), not both")
    records = [records] if isinstance(records, Record) else list(records)
    if not records:
        raise InputError(f"write_records: no records given for {path}")
    path = Path(path)
    do_append = append and path.exists()
    existing: list[str] = []
    old_hash = None
    if do_append:
        with _open_h5(path) as src:
            existing = list(src.keys())
        old_hash = file_sha256(path)
    _validate_records(records, existing)
    with atomic_path(path, overwrite=overwrite or do_append) as tmp:
        with h5py.File(tmp, "w", track_order=True) as f:
            if do_append:
                _copy_existing(path, f)
            else:
                _root_attrs(f, default=records[0].name if records else None)
            for rec in records:
                _write_entry(f, rec)
        if do_append and file_sha256(path) != old_hash:
            raise StoreError(f"{path}: changed while the new entries were being written; "
                             "nothing appended")
    return path


def _copy_existing(path: Path, dst) -> None:
    """Copy every top-level object and the root attributes of ``path`` into the open ``dst``."""
    try:
        with _open_h5(path) as src:
            for key, value in src.attrs.items():
                dst.attrs[key] = value
            for name in src:
                src.copy(src[name], dst, name=name)
    except _H5_ERRORS as exc:
        raise StoreError(f"{path}: cannot copy the existing entries for append ({exc})") from exc
    dst.attrs["file_update_time"] = utc_now()
    dst.attrs["creator"] = f"naheo_spec {package_version()}"
    if "default" not in dst.attrs and len(dst):
        dst.attrs["default"] = next(iter(dst))


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------
def is_store_entry(group) -> bool:
    """True if the HDF5 group looks like an entry written by :func:`write_records`."""
    import h5py

    return (isinstance(group, h5py.Group) and "kind" in group and "process" in group
            and "parameters_json" in group["process"] and "summary_json" in group)


def _read_group(nxdata) -> tuple[dict[str, DataArray], str | None, list[str]]:
    data = {}
    for key, ds in nxdata.items():
        values = ds[()]
        if ds.dtype.kind == "O":
            values = ds.asstr()[()]
        if key == "title" and ds.dtype.kind == "O" and ds.shape == ():
            continue
        data[key] = DataArray(values=values, units=read_str(ds.attrs.get("units", "")),
                              long_name=read_str(ds.attrs.get("long_name", "")))
    signal = nxdata.attrs.get("signal")
    signal = None if signal is None else read_str(signal)
    axes = nxdata.attrs.get("axes")
    if axes is None:
        axes_list: list[str] = []
    elif isinstance(axes, (str, bytes)):
        axes_list = [read_str(axes)]
    else:
        axes_list = [read_str(a) for a in axes]
    return data, signal, [a for a in axes_list if a != "."]


def _read_entry(entry) -> Record:
    process = entry["process"]
    prov = Provenance(
        step=read_str(process["step"]),
        parameters=_read_json_note(process, "parameters_json"),
        source_file=read_str(entry["source_file"]) if "source_file" in entry else None,
        source_sha256=read_str(entry["source_sha256"]) if "source_sha256" in entry else None,
        program=read_str(process["program"]),
        version=read_str(process["version"]),
        date=read_str(process["date"]),
    )
    data, signal, axes = _read_group(entry["data"]) if "data" in entry else ({}, None, [])
    groups = {}
    for key, obj in entry.items():
        if key != "data" and read_str(obj.attrs.get("NX_class", "")) == "NXdata":
            d, sig, ax = _read_group(obj)
            title = read_str(obj["title"]) if "title" in obj else ""
            groups[key] = DataGroup(d, sig, ax, title)
    definition = read_str(entry["definition"]) if "definition" in entry else None
    return Record(name=entry.name.rsplit("/", 1)[-1], kind=read_str(entry["kind"]),
                  summary=_read_json_note(entry, "summary_json"), provenance=prov, data=data,
                  signal=signal, axes=axes, groups=groups, definition=definition)


def read_records(path: str | Path) -> list[Record]:
    """Read every record of a store file written by :func:`write_records`.

    Parameters
    ----------
    path : str or Path
        NeXus/HDF5 file.

    Returns
    -------
    list of Record
        In the order they were written; parameters and summaries equal to what was written,
        arrays with their dtype.

    Raises
    ------
    StoreError
        The file is missing, not HDF5, truncated or corrupt, or holds an ``NXentry`` that is not a
        naheo_spec record (read generic NeXus files with :func:`naheo_spec.io.read`).
    """
    path = Path(path)
    records = []
    with _open_h5(path) as f:
        try:
            for name, obj in f.items():
                nx_class = read_str(obj.attrs.get("NX_class", ""))
                if nx_class != "NXentry":
                    continue
                if not is_store_entry(obj):
                    raise StoreError(f"{path}: entry '{name}' is not a naheo_spec record (expected "
                                     "'kind', 'process/parameters_json' and 'summary_json'); "
                                     "use naheo_spec.io.read for generic NeXus files")
                records.append(_read_entry(obj))
        except _H5_ERRORS as exc:
            raise StoreError(f"{path}: corrupt or truncated HDF5 store ({type(exc).__name__}: "
                             f"{exc})") from exc
    return records


def check_nexus(path: str | Path) -> list[str]:
    """Problems a NeXus validator would report in a store file (empty list: none).

    Checks every group and dataset name against the NeXus naming rule, that every
    ``@units`` is an ASCII string, and that every NXdata's ``@signal`` exists and its
    ``@axes`` name datasets whose lengths match the signal's dimensions.

    Examples
    --------
    >>> check_nexus("store.h5")                       # doctest: +SKIP
    []
    """
    import h5py

    problems: list[str] = []

    def visit(name, obj):
        leaf = name.rsplit("/", 1)[-1]
        if not NEXUS_NAME.match(leaf):
            problems.append(f"{name}: name breaks the NeXus naming rule")
        units = obj.attrs.get("units")
        if units is not None:
            u = units.decode() if isinstance(units, bytes) else units
            if not isinstance(u, str) or not u.isascii():
                problems.append(f"{name}: units {u!r} are not an ASCII string")
        if isinstance(obj, h5py.Group) and read_str(obj.attrs.get("NX_class", "")) == "NXdata":
            sig = obj.attrs.get("signal")
            if sig is None:
                return
            sig = read_str(sig)
            if sig not in obj:
                problems.append(f"{name}: @signal {sig!r} is not a dataset of the group")
                return
            shape = obj[sig].shape
            axes = obj.attrs.get("axes")
            axes = [read_str(axes)] if isinstance(axes, (str, bytes)) else \
                [read_str(a) for a in (axes if axes is not None else [])]
            if axes and len(axes) != len(shape):
                problems.append(f"{name}: @axes {axes} for a {len(shape)}-D signal")
            for dim, ax in enumerate(axes):
                if ax == ".":
                    continue
                if ax not in obj:
                    problems.append(f"{name}: axis {ax!r} is not a dataset of the group")
                elif obj[ax].ndim != 1 or dim >= len(shape) or obj[ax].shape[0] != shape[dim]:
                    problems.append(f"{name}: axis {ax!r} {obj[ax].shape} does not match "
                                    f"dimension {dim} of {sig!r} {shape}")

    with _open_h5(Path(path)) as f:
        f.visititems(visit)
    return problems
