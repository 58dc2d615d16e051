"""Out-of-core XANES: a ``[nScan, nEnergy]`` HDF5 stack processed chunk by chunk.

:func:`xanes_hdf5_stack` runs :func:`naheo_spec.xas.xanes_stack.analyze_xanes_stack` on
blocks of ``chunk_scans`` scans read from the file, so that a map or operando series of
10^5-10^6 scans never has to fit in memory: only the energy axis, one block of μ (and of
the reference channel) and the per-scan results (a few numbers and the warnings of each
scan) are held. The per-scan numbers are identical to the in-memory path (each scan's
analysis depends on that scan alone; warnings are summed over the blocks).

Blocks are read with ``dask.array`` (optional dependency, ``pip install
naheo-spec[dask]``; dask is imported only inside the function) using the synchronous
scheduler: one block in memory at a time, in order. **Without dask** the same blocks are
read with plain h5py slicing in a Python loop; the results are the same.

The stack is found as :mod:`naheo_spec.io.nexus` finds groups (an ``NXdata`` group with
``@signal``/``@axes``, or a group with ``energy``/``mu``-like datasets and an optional
``murefer``-like reference of the same shape), restricted to 2-D signals, without reading
the signal. ``[nEnergy, nScan]`` layouts are read transposed.

Example
-------
>>> import tempfile, pathlib, h5py, numpy as np
>>> from naheo_spec.xas.outofcore import xanes_hdf5_stack
>>> e = np.linspace(6400.0, 6800.0, 401)
>>> mu = 0.1 + np.arctan((e - np.linspace(6546, 6550, 5)[:, None]) / 2.0) / np.pi + 0.5
>>> path = pathlib.Path(tempfile.mkdtemp()) / "map.h5"
>>> with h5py.File(path, "w") as f:
...     g = f.create_group("scan")
...     g.attrs["element"] = "Mn"
...     _ = g.create_dataset("energy", data=e)
...     _ = g.create_dataset("mu", data=mu, chunks=(2, 401))
>>> res = xanes_hdf5_stack(path, chunk_scans=2, out=path.with_name("res.h5"))
>>> len(res), np.round(res.e0_eV, 1).tolist()
(5, [6546.1, 6547.1, 6548.1, 6549.1, 6550.1])
>>> res.to_json_list()[4]["scan"]
'/scan[4]'

References
----------
.. [1] Dask Development Team, "Dask: Library for dynamic task scheduling" (2016),
   https://docs.dask.org/en/stable/array.html (blocked arrays over HDF5 datasets).
.. [2] NeXus NXdata base class, https://manual.nexusformat.org/classes/base_classes/NXdata.html
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.errors import InputError, ReadError
from naheo_spec.provenance import Provenance


@dataclass
class _Layout:
    """Where the stack lives in the file (datasets are h5py objects, not read)."""

    group: str
    energy: Any
    signal: Any
    reference: Any
    transposed: bool
    columns: dict
    detect_kev: bool
    metadata: dict

    @property
    def n_scans(self) -> int:
        return int(self.signal.shape[1 if self.transposed else 0])


# --------------------------------------------------------------------------- discovery
def _lazy_candidate(group, order: int):
    """naheo_spec.io.nexus's group rules for 2-D signals, reading shapes only."""
    from naheo_spec.io.nexus import (
        ENERGY_NAMES,
        MU_NAMES,
        _find_by_name,
        _numeric_dataset,
        _nxdata_axis,
        _py,
        _str_list,
    )

    if _py(group.attrs.get("NX_class", "")) == "NXdata" and "signal" in group.attrs:
        names = _str_list(group.attrs["signal"])
        sig = _numeric_dataset(group, names[0]) if names else None
        if sig is not None:
            en = _nxdata_axis(group, sig) or _find_by_name(group, ENERGY_NAMES)
            found = _layout(group, en, sig) if en is not None else None
            if found is not None:
                return order, True, found
    en, sig = _find_by_name(group, ENERGY_NAMES), _find_by_name(group, MU_NAMES)
    found = _layout(group, en, sig) if en is not None and sig is not None else None
    return None if found is None else (order, False, found)


def _layout(group, en, sig) -> _Layout | None:
    from naheo_spec.io.nexus import (
        REFERENCE_NAMES,
        _element_edge,
        _find_by_name,
        _group_metadata,
        _units,
    )

    if en.ndim != 1 or sig.ndim != 2 or en.shape[0] not in sig.shape:
        return None
    transposed = sig.shape[1] != en.shape[0]
    ref = _find_by_name(group, REFERENCE_NAMES)
    if ref is not None and (ref.id == sig.id or ref.shape != sig.shape):
        ref = None
    columns = {"energy": en.name, "mu": sig.name}
    if ref is not None:
        columns["reference"] = ref.name
    meta = _group_metadata(group)
    meta["element_edge"] = _element_edge(meta)
    return _Layout(group=group.name, energy=en, signal=sig, reference=ref, transposed=transposed,
                   columns=columns, detect_kev=(_units(en) or "").lower() != "ev", metadata=meta)


def _find_layout(f, path: Path, dataset: str | None) -> _Layout:
    import h5py

    groups = [f]
    f.visititems(lambda name, obj: groups.append(obj) if isinstance(obj, h5py.Group) else None)
    found = [c for k, g in enumerate(groups) if (c := _lazy_candidate(g, k)) is not None]
    found.sort(key=lambda c: (not c[1], c[0]))          # NXdata view of a signal first
    unique, seen = [], []
    for _order, _nx, lay in found:
        if not any(lay.signal.id == s for s in seen):
            seen.append(lay.signal.id)
            unique.append(lay)
    if dataset is not None:
        want = "/" + dataset.strip("/")
        chosen = [c for c in unique if want in (c.group, c.signal.name)]
        if not chosen:
            raise ReadError(path, f"dataset {want!r} is not a 2-D [nScan, nEnergy] stack with an "
                                  f"energy axis; stacks found: {[c.signal.name for c in unique]}")
    else:
        chosen = unique
        if len(chosen) != 1:
            raise ReadError(path, f"found {len(chosen)} 2-D [nScan, nEnergy] stacks "
                                  f"{[c.signal.name for c in chosen]}, expected exactly one; "
                                  "pass dataset=...")
    return chosen[0]


def _energy_axis(lay: _Layout, path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Repaired energy axis, the columns of the raw data it keeps (None: all, in order),
    and the repairs made."""
    from naheo_spec._validation import repair_axis

    raw = np.asarray(lay.energy[()], dtype=float)
    axis, cols, repairs = repair_axis(raw, {"index": np.arange(raw.size, dtype=float)},
                                      path=f"{path}:{lay.group}", detect_kev=lay.detect_kev)
    idx = cols["index"]
    if np.any(idx != np.round(idx)):
        raise InputError(f"{path}:{lay.group}: the energy axis has duplicated values; merging "
                         "them needs every row at once. Read the stack with "
                         "naheo_spec.io.nexus.read_nexus_stack and use analyze_xanes_stack")
    idx = idx.astype(int)
    keep = None if idx.size == raw.size and np.all(idx == np.arange(raw.size)) else idx
    return axis, keep, repairs


# --------------------------------------------------------------------------- blocks
def _blocks(lay: _Layout, chunk: int, use_dask: bool) -> Iterator[tuple[int, np.ndarray,
                                                                        np.ndarray | None]]:
    """(first scan, μ block (n, M_raw), reference block or None), in order."""
    n = lay.n_scans
    if use_dask:
        import dask.array as da

        def lazy(ds):
            if ds is None:
                return None
            if lay.transposed:
                return da.from_array(ds, chunks=(ds.shape[0], chunk)).T
            return da.from_array(ds, chunks=(chunk, ds.shape[1]))

        mu, ref = lazy(lay.signal), lazy(lay.reference)
        start = 0
        for k in range(mu.numblocks[0]):
            m = mu.blocks[k].compute(scheduler="synchronous")
            r = None if ref is None else ref.blocks[k].compute(scheduler="synchronous")
            yield start, m, r
            start += m.shape[0]
        return
    def read(ds, sl):
        if ds is None:
            return None
        return ds[:, sl].T if lay.transposed else ds[sl]

    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        yield start, read(lay.signal, sl), read(lay.reference, sl)


def _dask_available() -> bool:
    try:
        import dask.array  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- driver
def xanes_hdf5_stack(path, *, dataset: str | None = None, chunk_scans: int = 20000,
                     out=None, overwrite: bool = False, keep_norm: bool = False,
                     record_name: str | None = None, use_dask: bool | None = None,
                     **analyze_kws):
    """XANES of every scan of a large HDF5 ``[nScan, nEnergy]`` stack, block by block.

    Parameters
    ----------
    path : str or Path
        HDF5/NeXus file holding the stack (energy axis, μ and optionally the reference
        channel; see the module docstring for the names recognised).
    dataset : str, optional
        HDF5 path of the stack's group or of its 2-D signal dataset. Default None: the
        file must hold exactly one 2-D stack.
    chunk_scans : int
        Scans per block (bounds the memory: about 10 arrays of ``chunk_scans x nEnergy``
        floats at a time). Default is 20000.
    out : str or Path, optional
        Results store to write (one NeXus entry of kind ``"xanes_stack"`` with the
        per-scan arrays, :meth:`XanesStackResult.to_record`). Default None: nothing written.
    overwrite : bool
        Replace an existing ``out``. Default is False (StoreError).
    keep_norm : bool
        Also store the normalized spectra (an ``(nScan, nEnergy)`` dataset written block by
        block, never held in memory) in ``out``. Default is False.
    record_name : str, optional
        Entry name in ``out``. Default None: ``<file stem>_xanes_stack``.
    use_dask : bool, optional
        Read the blocks with dask.array. Default None: if dask is installed; without it
        (False) the blocks are read by plain h5py slicing, with the same results.
    **analyze_kws
        Options of :func:`~naheo_spec.xas.xanes_stack.analyze_xanes_stack` (``e0_method``,
        ``calibration``, ``foil``, ``element``, ``preset``, ``max_foil_offset_eV``...).

    Returns
    -------
    XanesStackResult
        Per-scan arrays, labels ``<group>[i]``, warnings and errors as the in-memory path;
        ``norm`` is None.

    Raises
    ------
    ReadError
        File unreadable, or no (or several, with ``dataset`` None) 2-D stacks.
    InputError
        Bad options, ``chunk_scans < 1``, duplicated energies, dask requested but missing.
    StoreError
        ``out`` exists and ``overwrite`` is False (checked before any work).

    References
    ----------
    Dask array over HDF5, https://docs.dask.org/en/stable/array-creation.html.

    Examples
    --------
    See the module docstring.
    """
    from naheo_spec.io.nexus import _open

    if int(chunk_scans) != chunk_scans or chunk_scans < 1:
        raise InputError(f"chunk_scans must be a positive integer, got {chunk_scans!r}")
    if "keep_norm" in analyze_kws or "stack" in analyze_kws:
        raise InputError("keep_norm is an option of xanes_hdf5_stack itself; stack is the file")
    use_dask = _dask_available() if use_dask is None else bool(use_dask)
    if use_dask and not _dask_available():
        raise InputError("use_dask=True but dask is not installed (pip install naheo-spec[dask])")
    path = Path(path)
    if out is not None:
        from naheo_spec.store.atomic import check_writable

        check_writable(out, overwrite=overwrite)
    with _open(path) as f:
        lay = _find_layout(f, path, dataset)
        run = _Run(path, lay, int(chunk_scans), analyze_kws, use_dask)
        scratch = _scratch(out, lay.n_scans, run.axis.size, int(chunk_scans)) \
            if out is not None and keep_norm else None
        try:
            res = run.execute(scratch)
            if out is not None:
                _write_store(out, res.to_record(record_name), scratch, overwrite)
        finally:
            if scratch is not None:
                scratch[0].close()
                os.unlink(scratch[1])
    return res


def _scratch(out, n, m, chunk):
    """Temporary HDF5 file next to ``out`` for the normalized spectra."""
    import h5py

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".norm.tmp", dir=out.parent)
    os.close(fd)
    fh = h5py.File(name, "w")
    fh.create_dataset("norm", shape=(n, m), dtype="f8", chunks=(max(1, min(chunk, n, 1024)), m))
    return fh, name


class _Run:
    """State of one out-of-core pass: axis, layout, options, and the blocks' results."""

    def __init__(self, path: Path, lay: _Layout, chunk: int, kws: dict, use_dask: bool):
        from naheo_spec.provenance import file_sha256
        from naheo_spec.spectrum import SourceInfo

        self.path, self.lay, self.chunk, self.use_dask = path, lay, chunk, use_dask
        self.axis, self.keep, self.repairs = _energy_axis(lay, path)
        self.source = SourceInfo(path=str(path), sha256=file_sha256(path), format="nexus",
                                 scan=lay.group, columns=dict(lay.columns))
        self.kws = dict(kws)
        foil = self.kws.get("foil")
        if isinstance(foil, (str, Path)):          # read once, not once per block
            from naheo_spec.io import read_spectrum

            self.kws["foil"] = read_spectrum(foil)

    def _stack(self, start, mu, ref):
        from naheo_spec.spectrum import SpectrumStack

        if self.keep is not None:
            mu = mu[:, self.keep]
            ref = None if ref is None else ref[:, self.keep]
        element, edge = self.lay.metadata["element_edge"]
        if element is None:
            element, edge = self._guess_element(mu)
        meta = tuple({"scan": f"{self.lay.group}[{start + i}]"} for i in range(mu.shape[0]))
        return SpectrumStack(axis=self.axis, signals=mu, references=ref, element=element,
                             edge=edge, scan_metadata=meta, source=self.source)

    def _guess_element(self, mu):
        """Element/edge from the first usable scan when the file does not say (as the
        per-file readers do), reported as a warning; cached for the following blocks."""
        import warnings

        import numpy as np

        from naheo_spec.errors import DefaultAdjustedWarning
        from naheo_spec.io.edges import guess_edge

        rows = [r for r in mu if np.all(np.isfinite(r)) and np.ptp(r) > 0]
        if not rows:
            return None, None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            el, ed, e0, _ = guess_edge(self.axis, rows[0])
        if el is not None:
            warnings.warn(f"{self.source.path}: element/edge not in the file; guessed {el} {ed} "
                          f"from the edge position (E0 ~ {e0:.1f} eV)", DefaultAdjustedWarning,
                          stacklevel=2)
            self.lay.metadata["element_edge"] = (el, ed)
        return el, ed

    def execute(self, scratch):
        from naheo_spec.xas import xanes_stack as xs

        parts, kinds, modes, cache = [], {}, set(), {}
        for start, mu, ref in _blocks(self.lay, self.chunk, self.use_dask):
            ctx = xs._make_ctx(self._stack(start, mu, ref), self._options(), cache)
            del mu, ref
            part = xs._run(ctx, keep_norm=scratch is not None)
            if scratch is not None:
                scratch[0]["norm"][start:start + len(part)] = part.norm
            parts.append(replace(part, norm=None))
            xs._merge_kinds(kinds, ctx.log.kinds)
            modes.add(part.provenance.parameters["energy_calibration"])
        return self._merge(parts, kinds, modes)

    def _options(self) -> dict:
        from naheo_spec.xas.valence import DEFAULT_SPAN_MARGIN

        opts = {"e0_method": None, "foil": None, "calibration": None, "element": None,
                "edge": None, "preset": None, "pre_range": None, "norm_range": None,
                "nnorm": None, "nvict": None, "foil_e0_method": "max-derivative",
                "max_foil_offset_eV": 5.0, "include_scatter": True,
                "span_margin": DEFAULT_SPAN_MARGIN}
        unknown = set(self.kws) - set(opts)
        if unknown:
            raise InputError(f"unknown options for analyze_xanes_stack: {sorted(unknown)}")
        opts.update({k: v for k, v in self.kws.items() if v is not None or k == "foil"})
        return opts

    def _merge(self, parts, kinds, modes):
        from naheo_spec.xas import xanes_stack as xs

        n = sum(len(p) for p in parts)
        msgs = [] if not parts else \
            [(f"{cnt} of {n} scans, e.g. {first}", cat, emit) for cnt, first, cat, emit in
             kinds.values()]
        xs._emit(msgs, stacklevel=5)

        def cat(name):
            return np.concatenate([getattr(p, name) for p in parts])

        def join(name):
            return tuple(x for p in parts for x in getattr(p, name))

        first = parts[0]
        shift = cat("foil_shift_eV")
        params = dict(first.provenance.parameters)
        params.update(n_scans=n, foil_calibration=xs._foil_summary(params["foil_calibration"][
            "tabulated_e0_eV"], shift), energy_calibration="; ".join(sorted(modes)),
            dataset=self.lay.signal.name, chunk_scans=self.chunk, n_blocks=len(parts),
            engine="dask.array (synchronous)" if self.use_dask else "h5py block loop")
        prov = Provenance(step="xas.xanes_stack", parameters=params,
                          source_file=self.source.path, source_sha256=self.source.sha256)
        return xs.XanesStackResult(
            energy=self.axis, e0_eV=cat("e0_eV"), e0_err_eV=cat("e0_err_eV"),
            edge_step=cat("edge_step"), foil_shift_eV=shift, oxidation_state=cat("oxidation_state"),
            oxidation_state_err=cat("oxidation_state_err"), pre_range_eV=cat("pre_range_eV"),
            norm_range_eV=cat("norm_range_eV"), nnorm=cat("nnorm"), files=join("files"),
            scans=join("scans"), element=first.element, edge=first.edge,
            e0_method=first.e0_method, scan_warnings=join("scan_warnings"),
            errors=join("errors"), warnings=tuple(self.repairs) + tuple(m[0] for m in msgs),
            provenance=prov, norm=None)


def _write_store(out, record, scratch, overwrite: bool) -> None:
    """Write the record atomically; the normalized spectra are copied inside HDF5 from the
    scratch file (never loaded into memory)."""
    import h5py

    from naheo_spec.store import write_records
    from naheo_spec.store.atomic import atomic_path

    with atomic_path(out, overwrite=overwrite) as tmp:
        write_records(tmp, record, overwrite=True)
        if scratch is None:
            return
        scratch[0].flush()
        with h5py.File(tmp, "a") as dst:
            nxdata = dst[record.name]["data"]
            scratch[0].copy(scratch[0]["norm"], nxdata, name="norm")
            nxdata["norm"].attrs["units"] = ""
            nxdata["norm"].attrs["long_name"] = "normalized absorption"
            nxdata.attrs["signal"] = "norm"
            nxdata.attrs["axes"] = [".", "energy"]
            nxdata.attrs["energy_indices"] = 1
            if "auxiliary_signals" in nxdata.attrs:
                del nxdata.attrs["auxiliary_signals"]
