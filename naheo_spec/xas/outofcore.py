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

The stack is found as :mod:`naheo_spec.xas.readers.hdf5` finds groups (an ``NXdata`` group with
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
from dataclasses import replace
from pathlib import Path

import numpy as np

from naheo_spec.errors import InputError
from naheo_spec.provenance import Provenance
from naheo_spec.xas.readers.hdf5 import Hdf5Layout


def _blocks(lay: Hdf5Layout, chunk: int, use_dask: bool) -> Iterator[tuple[int, np.ndarray,
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
    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        yield start, lay.read_rows(lay.signal, sl), lay.read_rows(lay.reference, sl)


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
                     markers="edge", **analyze_kws):
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
    markers : bool or "edge"
        As in :func:`~naheo_spec.xas.xanes_stack.analyze_xanes_stack`. Default ``"edge"``
        (the integral edge position only): for 10^5-10^6 scans the Fe pre-edge fits would
        dominate the run; pass True to fit them.
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
    from naheo_spec.xas.readers.hdf5 import find_stack_layout, open_hdf5

    if int(chunk_scans) != chunk_scans or chunk_scans < 1:
        raise InputError(f"chunk_scans must be a positive integer, got {chunk_scans!r}")
    if "keep_norm" in analyze_kws or "stack" in analyze_kws:
        raise InputError("keep_norm is an option of xanes_hdf5_stack itself; stack is the file")
    use_dask = _dask_available() if use_dask is None else bool(use_dask)
    if use_dask and not _dask_available():
        raise InputError("use_dask=True but dask is not installed (pip install naheo-spec[dask])")
    path = Path(path)
    if out is not None:
        from naheo_spec.atomic import check_writable

        check_writable(out, overwrite=overwrite)
    with open_hdf5(path) as f:
        lay = find_stack_layout(f, path, dataset)
        run = _Run(path, lay, int(chunk_scans), dict(analyze_kws, markers=markers), use_dask)
        scratch = _scratch(out, lay.n_scans, run.axis.size, int(chunk_scans)) \
            if out is not None and keep_norm else None
        try:
            res = run.execute(scratch)
            if out is not None:
                _write_store(out, res.to_record(record_name), res.energy, scratch, overwrite)
        finally:
            if scratch is not None:
                scratch[0].close()
                os.unlink(scratch[1])
    return res


def stack_rows(path, dataset: str | None = None) -> int | None:
    """Number of scans of the HDF5 stack, without reading it (None when unreadable)."""
    from naheo_spec.xas.readers.hdf5 import find_stack_layout, open_hdf5

    try:
        with open_hdf5(Path(path)) as f:
            return int(find_stack_layout(f, Path(path), dataset).n_scans)
    except Exception:            # noqa: BLE001 -- unreadable files fail later, with their message
        return None


def stack_element(path, dataset: str | None = None) -> str | None:
    """The element the HDF5 stack declares (None when the file does not say)."""
    from naheo_spec.xas.readers.hdf5 import find_stack_layout, open_hdf5

    try:
        with open_hdf5(Path(path)) as f:
            return find_stack_layout(f, Path(path), dataset).element_edge[0]
    except Exception:            # noqa: BLE001 -- unreadable files fail later, with their message
        return None


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

    def __init__(self, path: Path, lay: Hdf5Layout, chunk: int, kws: dict, use_dask: bool):
        from naheo_spec.model import SourceInfo
        from naheo_spec.provenance import file_sha256
        from naheo_spec.xas.xanes_stack import stack_options

        self.path, self.lay, self.chunk, self.use_dask = path, lay, chunk, use_dask
        self.axis, self.keep, self.repairs = lay.energy_axis(path)
        self.source = SourceInfo(path=str(path), sha256=file_sha256(path), format="hdf5",
                                 scan=lay.group, columns=dict(lay.columns))
        self.options = stack_options(**kws)
        foil = self.options.get("foil")
        if isinstance(foil, (str, Path)):          # read once, not once per block
            from naheo_spec.io import read_spectrum

            self.options["foil"] = read_spectrum(foil)
        self.element_edge = lay.element_edge

    def _stack(self, start, mu, ref):
        from naheo_spec.model import SpectrumStack

        if self.keep is not None:
            mu = mu[:, self.keep]
            ref = None if ref is None else ref[:, self.keep]
        element, edge = self.element_edge
        if element is None:
            element, edge = self._guess_element(mu)
        labels = np.char.add(f"{self.lay.group}[",
                             np.char.add(np.arange(start, start + mu.shape[0]).astype(str), "]"))
        return SpectrumStack(self.axis, mu, references=ref, element=element, edge=edge,
                             labels=labels, source=self.source)

    def _guess_element(self, mu):
        """Element/edge from the first usable scan when the file does not say (as the
        per-file readers do), reported as a warning; kept for the following blocks."""
        from naheo_spec.diagnostics import capture
        from naheo_spec.xas.edges import guess_edge
        from naheo_spec.xas.readers.columns import EDGE_GUESSED

        rows = [r for r in mu if np.all(np.isfinite(r)) and np.ptp(r) > 0]
        if not rows:
            return None, None
        with capture():
            el, ed, e0, _ = guess_edge(self.axis, rows[0])
        if el is not None:
            self.repairs.append(EDGE_GUESSED.warn(
                f"{self.source.path}: element/edge not in the file; guessed {el} {ed} from the "
                f"edge position (E0 ~ {e0:.1f} eV)", stacklevel=2))
            self.element_edge = (el, ed)
        return el, ed

    def execute(self, scratch):
        from naheo_spec.xas.xanes_stack import analyze_block

        parts, silent, modes, cache = [], set(), set(), {}
        for start, mu, ref in _blocks(self.lay, self.chunk, self.use_dask):
            part, quiet = analyze_block(self._stack(start, mu, ref), self.options, cache,
                                        keep_norm=scratch is not None)
            del mu, ref
            if scratch is not None:
                scratch[0]["norm"][start:start + len(part)] = part.norm
            parts.append(replace(part, norm=None))
            silent |= quiet
            modes.add(part.provenance.parameters["energy_calibration"])
        return self._merge(parts, silent, modes)

    def _merge(self, parts, silent, modes):
        from naheo_spec.xas.xanes_stack import XanesStackResult, foil_summary, summarize

        n = sum(len(p) for p in parts)
        shift = np.concatenate([p.foil_shift_eV for p in parts])
        params = dict(parts[0].provenance.parameters)
        params.update(n_scans=n, foil_calibration=foil_summary(params["foil_calibration"][
            "tabulated_e0_eV"], shift), energy_calibration="; ".join(sorted(modes)),
            dataset=self.lay.signal.name, chunk_scans=self.chunk, n_blocks=len(parts),
            engine="dask.array (synchronous)" if self.use_dask else "h5py block loop")
        prov = Provenance(step="xas.xanes_stack", parameters=params,
                          source_file=self.source.path, source_sha256=self.source.sha256)
        res = XanesStackResult.concatenate(parts, provenance=prov)
        return summarize(res, silent, extra=self.repairs)


def _write_store(out, record, energy, scratch, overwrite: bool) -> None:
    """Write the record atomically; the normalized spectra are copied inside HDF5 from the
    scratch file (never loaded into memory)."""
    import h5py

    from naheo_spec.atomic import atomic_path
    from naheo_spec.store import write_records

    with atomic_path(out, overwrite=overwrite) as tmp:
        write_records(tmp, record, overwrite=True)
        if scratch is None:
            return
        scratch[0].flush()
        with h5py.File(tmp, "a") as dst:
            entry = dst[record.name]
            nxdata = entry.create_group("data")
            nxdata.attrs["NX_class"] = "NXdata"
            scratch[0].copy(scratch[0]["norm"], nxdata, name="norm")
            nxdata["norm"].attrs["units"] = ""
            nxdata["norm"].attrs["long_name"] = "normalized absorption"
            nxdata["scan_index"] = np.arange(nxdata["norm"].shape[0])
            nxdata["energy"] = energy
            for key, units, long in (("scan_index", "", "scan index"),
                                     ("energy", "eV", "X-ray energy as measured (add "
                                                      "foil_shift_eV per scan)")):
                nxdata[key].attrs["units"] = units
                nxdata[key].attrs["long_name"] = long
            nxdata.attrs["signal"] = "norm"
            nxdata.attrs["axes"] = ["scan_index", "energy"]
            nxdata.attrs["scan_index_indices"] = 0
            nxdata.attrs["energy_indices"] = 1
            entry.attrs["default"] = "data"
