"""Conversions for the store: Python values to lossless JSON, and Spectrum <-> Record.

JSON alone loses types that provenance parameters use every day (a tuple
``pre_range_eV=(-150.0, -30.0)`` comes back as a list, a numpy array cannot be
written at all).  :func:`dumps_lossless` therefore tags those values
(``{"__tuple__": [...]}``, ``{"__ndarray__": ..., "dtype": ...}``) so that
:func:`loads_lossless` rebuilds an object equal to the one written.  Floats are
written with ``repr`` precision, so they round-trip bit for bit.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from naheo_spec.errors import StoreError
from naheo_spec.model import SourceInfo, Spectrum
from naheo_spec.provenance import Provenance
from naheo_spec.records import DataArray, Record, nexus_name, nexus_sample_instrument

#: Record.kind of a stored spectrum.
SPECTRUM_KIND = "spectrum"

_TAGS = ("__tuple__", "__ndarray__", "__complex__", "__path__", "__dict__", "__set__",
         "__datetime__", "__date__")


# ---------------------------------------------------------------------------
# lossless JSON
# ---------------------------------------------------------------------------
def _encode(value: Any, where: str) -> Any:
    """Return a JSON-serialisable form of ``value`` (tagged where JSON would lose type)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return _encode(value.item(), where)
    if isinstance(value, complex):
        return {"__complex__": [value.real, value.imag]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufcU":
            raise StoreError(f"parameter {where}: cannot store a numpy array of dtype "
                             f"{value.dtype}")
        return {"__ndarray__": _encode(value.tolist(), where), "dtype": value.dtype.str,
                "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return {"__set__": [_encode(v, where) for v in sorted(value, key=repr)]}
    if isinstance(value, PurePath):
        return {"__path__": str(value)}
    if isinstance(value, _dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, _dt.date):
        return {"__date__": value.isoformat()}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not any(k in _TAGS for k in value):
            return {k: _encode(v, f"{where}.{k}") for k, v in value.items()}
        # Non-string keys (or keys that look like our tags) go as a list of pairs.
        return {"__dict__": [[_encode(k, where), _encode(v, f"{where}[{k!r}]")]
                             for k, v in value.items()]}
    raise StoreError(f"parameter {where}: cannot store a value of type {type(value).__name__} "
                     f"({value!r:.60}); expected numbers, strings, None, lists, tuples, dicts "
                     "or numpy arrays")


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _decode(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tuple__" in obj and len(obj) == 1:
        return tuple(_decode(v) for v in obj["__tuple__"])
    if "__ndarray__" in obj:
        arr = np.array(_decode(obj["__ndarray__"]), dtype=np.dtype(obj["dtype"]))
        return arr.reshape(obj["shape"])
    if "__complex__" in obj and len(obj) == 1:
        re_, im_ = obj["__complex__"]
        return complex(re_, im_)
    if "__path__" in obj and len(obj) == 1:
        return Path(obj["__path__"])
    if "__datetime__" in obj and len(obj) == 1:
        return _dt.datetime.fromisoformat(obj["__datetime__"])
    if "__date__" in obj and len(obj) == 1:
        return _dt.date.fromisoformat(obj["__date__"])
    if "__set__" in obj and len(obj) == 1:
        return {_hashable(_decode(v)) for v in obj["__set__"]}
    if "__dict__" in obj and len(obj) == 1:
        return {_hashable(_decode(k)): _decode(v) for k, v in obj["__dict__"]}
    return {k: _decode(v) for k, v in obj.items()}


def dumps_lossless(value: Any, *, where: str = "value") -> str:
    """Serialise ``value`` to JSON that :func:`loads_lossless` turns back into an equal object.

    Parameters
    ----------
    value : object
        None, bool, int, float (NaN/inf allowed, written as ``NaN``/``Infinity``), complex, str,
        list, tuple, set, dict (any hashable keys), pathlib paths, dates and datetimes, numpy
        scalars and numeric or string numpy arrays, nested freely.
    where : str
        Name used in error messages. Default is ``"value"``.

    Returns
    -------
    str

    Raises
    ------
    StoreError
        A value of another type (the message names its place in ``value``).

    Examples
    --------
    >>> p = {"pre_range_eV": (-150.0, -30.0), "nnorm": 2, "note": None}
    >>> loads_lossless(dumps_lossless(p)) == p
    True
    """
    return json.dumps(_encode(value, where), ensure_ascii=False)


def loads_lossless(text: str) -> Any:
    """Inverse of :func:`dumps_lossless`."""
    return _decode(json.loads(text))


def json_safe(value: Any) -> Any:
    """Plain-JSON form of a summary value for flat tables: tuples/arrays become lists,
    numpy scalars Python numbers, non-finite floats None (strict JSON has no NaN)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, (PurePath, _dt.date)):
        return str(value)
    return value


# ---------------------------------------------------------------------------
# Spectrum <-> Record
# ---------------------------------------------------------------------------
def entry_name(text: str) -> str:
    """Turn a label such as ``"NiO.prj:NiO 000"`` into a NeXus entry name (``NiO_prj_NiO_000``)."""
    return nexus_name(text) if str(text).strip() else "spectrum"


def _data_key(label: str, taken: set[str], default: str) -> str:
    key = entry_name(label) if label else default
    while key in taken:
        key += "_"
    return key


def spectrum_to_record(spectrum: Spectrum, name: str | None = None) -> Record:
    """Pack a :class:`~naheo_spec.model.Spectrum` into a :class:`~naheo_spec.records.Record`.

    Everything needed to rebuild the spectrum exactly is stored: the arrays in ``data``
    (axis, signal, sigma and every channel), and the axis kind, units, labels, element, edge,
    acquisition settings, header, metadata, source information and read warnings in
    ``provenance.parameters`` (written losslessly by the store).

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum to store.
    name : str, optional
        Entry name. Default is None: derived from ``spectrum.name`` (file name and scan) with
        characters other than letters, digits and ``_`` replaced by ``_``.

    Returns
    -------
    Record
        ``kind="spectrum"``; ``summary`` holds element, edge, npts, axis_kind, axis_min,
        axis_max (in ``axis_unit``), axis_unit, signal_label, channels, format and scan.

    Raises
    ------
    InputError
        ``spectrum`` is not a Spectrum.

    References
    ----------
    NeXus NXdata base class: https://manual.nexusformat.org/classes/base_classes/NXdata.html
    """
    from naheo_spec.errors import InputError

    if not isinstance(spectrum, Spectrum):
        raise InputError(f"spectrum_to_record needs a Spectrum, got {type(spectrum).__name__}")
    axis_key = "energy" if spectrum.axis_unit in ("eV", "keV") else "axis"
    sig_key = _data_key(spectrum.signal_label, {axis_key}, "signal")
    data = {
        axis_key: DataArray(spectrum.axis, spectrum.axis_unit,
                            spectrum.axis_kind.value.replace("_", " ")),
        sig_key: DataArray(spectrum.signal, spectrum.signal_unit, spectrum.signal_label),
    }
    keys = {"axis": axis_key, "signal": sig_key, "sigma": None, "channels": {}}
    if spectrum.sigma is not None:
        keys["sigma"] = _data_key(f"{sig_key}_errors", set(data), "sigma")
        data[keys["sigma"]] = DataArray(spectrum.sigma, spectrum.signal_unit,
                                        f"standard deviation ({spectrum.sigma_source})")
    for ch, values in spectrum.channels.items():
        k = _data_key(ch, set(data), "channel")
        keys["channels"][ch] = k
        data[k] = DataArray(values, "", ch)
    src = spectrum.source
    acq = spectrum.acquisition
    params = {
        "axis_kind": spectrum.axis_kind.value,
        "axis_unit": spectrum.axis_unit,
        "signal_label": spectrum.signal_label,
        "signal_unit": spectrum.signal_unit,
        "sigma_source": spectrum.sigma_source,
        "element": spectrum.element,
        "edge": spectrum.edge,
        "acquisition": None if acq is None else {"type": type(acq).__name__, **acq.to_dict()},
        "keys": keys,
        "source": {"path": src.path, "sha256": src.sha256, "format": src.format,
                   "scan": src.scan, "columns": dict(src.columns), "aliases": list(src.aliases)},
        "metadata": dict(spectrum.metadata),
        "header": spectrum.header,
        "warnings": [[w.code, w.message] for w in spectrum.warnings],
    }
    summary = {
        "element": spectrum.element,
        "edge": spectrum.edge,
        "npts": spectrum.npts,
        "axis_kind": spectrum.axis_kind.value,
        "axis_min": float(spectrum.axis[0]) if spectrum.npts else None,
        "axis_max": float(spectrum.axis[-1]) if spectrum.npts else None,
        "axis_unit": spectrum.axis_unit,
        "signal_label": spectrum.signal_label,
        "channels": list(spectrum.channels),
        "format": src.format,
        "scan": src.scan,
    }
    prov = Provenance(step="spectrum", parameters=params, source_file=src.path,
                      source_sha256=src.sha256)
    sample, instrument = nexus_sample_instrument(spectrum.metadata, acq)
    return Record(name=name if name is not None else entry_name(spectrum.name),
                  kind=SPECTRUM_KIND, summary=summary, provenance=prov, data=data,
                  signal=sig_key, axes=[axis_key], sample=sample, instrument=instrument)


def _acquisition(d):
    if d is None:
        return None
    from naheo_spec.model import acquisition as acq

    d = dict(d)
    cls = getattr(acq, d.pop("type"))
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def record_to_spectrum(record: Record) -> Spectrum:
    """Rebuild the :class:`~naheo_spec.model.Spectrum` stored by :func:`spectrum_to_record`.

    Parameters
    ----------
    record : Record
        A record of kind ``"spectrum"`` (as returned by :func:`spectrum_to_record` or read back
        by :func:`naheo_spec.store.read_records`).

    Returns
    -------
    Spectrum
        Equal to the original: arrays bit-identical, metadata equal, same source and warnings.

    Raises
    ------
    StoreError
        ``record`` is not a spectrum record or lacks a field (the message names the record).
    """
    from naheo_spec.diagnostics import WarningRecord

    if record.kind != SPECTRUM_KIND:
        raise StoreError(f"record '{record.name}' has kind '{record.kind}', expected "
                         f"'{SPECTRUM_KIND}'")
    p = record.provenance.parameters
    try:
        keys = p["keys"]
        src = p["source"]
        source = SourceInfo(path=src["path"], sha256=src["sha256"], format=src["format"],
                            scan=src["scan"], columns=dict(src["columns"]),
                            aliases=tuple(src.get("aliases", ())))
        sigma = None if keys.get("sigma") is None else record.data[keys["sigma"]].values
        return Spectrum(record.data[keys["axis"]].values, record.data[keys["signal"]].values,
                        axis_kind=p.get("axis_kind", "photon_energy"), axis_unit=p["axis_unit"],
                        signal_label=p["signal_label"], signal_unit=p.get("signal_unit", ""),
                        sigma=sigma, sigma_source=p.get("sigma_source"),
                        channels={ch: record.data[k].values
                                  for ch, k in keys.get("channels", {}).items()},
                        element=p["element"], edge=p["edge"],
                        acquisition=_acquisition(p.get("acquisition")),
                        metadata=dict(p["metadata"]), header=p.get("header"), source=source,
                        warnings=tuple(WarningRecord(c, m) for c, m in p["warnings"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"record '{record.name}': not a complete spectrum record "
                         f"(missing {exc})") from exc
