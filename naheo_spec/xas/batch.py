"""Batch adapters of the XAS pipelines: ``[xanes]`` and ``[exafs]`` tables of a batch config.

The only place where :mod:`naheo_spec.batch` meets the XAS code: each adapter calls the
public pipeline functions (:func:`~naheo_spec.xas.xanes.analyze_xanes`,
:func:`~naheo_spec.xas.xanes_stack.analyze_block`,
:func:`~naheo_spec.xas.exafs.analyze_exafs`,
:func:`~naheo_spec.xas.exafs.analyze_exafs_stack`,
:func:`~naheo_spec.xas.standards.build_calibration`) and turns their results into the
technique-neutral :class:`~naheo_spec.batch.registry.ScanOutput` /
:class:`~naheo_spec.batch.registry.BlockOutput`. A file scan gives exactly the numbers of
the single-file pipeline (the same function is called with the same options).

``[xanes]`` keys
    ``standards``: a built-in line (``"fe"``, ``"mn"``, ``"ni"``: the edge tables that ship
    in ``reference_spectra/xanes_builtin``, as ``naheo-spec xanes --standards fe``),
    ``"builtin"`` (each element's built-in line, the ``naheo-spec xanes`` default), a
    standards TOML path relative to the config, or a table by element for a multi-edge
    series (``standards = {Ni = "ni", Fe = "fe", Mn = "mn"}``); ``data_root`` (folder a
    TOML's standards files are under, default ``$NAHEO_SHARED_DATA``);
    ``e0_method``, ``preset``, ``pre_range``, ``norm_range``, ``nnorm``,
    ``max_foil_offset_eV``; ``foil`` (a separate foil scan, relative to the config);
    ``normalized``, ``noise_correlation``, ``energy_scale_sigma_eV``,
    ``energy_drift_sigma_eV`` (as the options of ``naheo-spec xanes``).

``[exafs]`` keys
    ``rbkg``, ``bkg_kweight``, ``preset``, ``kmin``, ``kmax``, ``kweight``, ``dk``,
    ``window``, ``peak_windows``; ``fit`` (structure for a shell fit, e.g. ``"ref:NiO"``),
    ``absorber``, ``rmin``, ``rmax``, ``s02``.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from naheo_spec.batch.registry import BlockOutput, Column, PipelineSpec, Prepared, ScanOutput
from naheo_spec.errors import InputError, NaheoError

# --------------------------------------------------------------------------- helpers
_BUILTIN_STANDARDS = ("fe", "mn", "ni")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _float(v) -> float:
    return float("nan") if v is None else float(v)


def _pair(value, key: str, table: str):
    if value is None:
        return None
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) for v in value)):
        raise InputError(f"[{table}] {key} = {value!r}: expected two numbers [LO, HI]")
    return (float(value[0]), float(value[1]))


def _standards_file(value: str, base_dir: Path) -> Path:
    """A user's standards TOML, relative to the config's folder."""
    p = Path(value)
    p = p if p.is_absolute() else base_dir / p
    if not p.is_file():
        raise InputError(f"[xanes] standards = {value!r}: no such file {p} (or use one of the "
                         f"built-in sets {', '.join(_BUILTIN_STANDARDS)})")
    return p


def _calibrations(value, data_root, base_dir: Path, e0_method) -> tuple[dict, dict]:
    """{element or None: ValenceCalibration}, {element: summary for the key}."""
    from naheo_spec.xas.standards import build_calibration
    from naheo_spec.xas.xanes import calibration_summary

    if value is None:
        return {}, {}
    if value == BUILTIN_LINES:
        return {BUILTIN_LINES: True}, {"builtin": "each element's built-in line "
                                                  "(naheo_spec.xas.builtin), as naheo-spec xanes"}
    items = value.items() if isinstance(value, dict) else [(None, value)]
    cals, params = {}, {}
    for element, name in items:
        if not isinstance(name, str):
            raise InputError(f"[xanes] standards: expected a set name or a TOML path, got "
                             f"{name!r}")
        if name.lower() in _BUILTIN_STANDARDS:
            # the line that ships (reference_spectra/xanes_builtin), as `xanes --standards fe`
            # uses: no standards' spectra needed at run time
            cal = build_calibration(name.lower(), e0_method=e0_method)
            sha = cal.provenance.parameters["standards_sha256"]
        else:
            path = _standards_file(name, base_dir)
            cal = build_calibration(path, e0_method=e0_method, data_root=data_root)
            sha = _sha(path)
        el = element or cal.element
        if element is not None and cal.element and cal.element != element:
            raise InputError(f"[xanes] standards {element} = {name!r}: the set is for "
                             f"{cal.element}")
        cals[el] = cal
        summ = calibration_summary(cal)
        summ["standards_sha256"] = sha
        params[str(el)] = summ
    return cals, params


# --------------------------------------------------------------------------- xanes
XANES_OPTIONS = {
    "standards": "valence standards: 'fe'|'mn'|'ni', 'builtin' (each element's line), a TOML "
                 "path, or {Ni = ..., Fe = ...}",
    "data_root": "folder a standards TOML's files are under (default $NAHEO_SHARED_DATA)",
    "e0_method": "E0 definition (default: the standards', else half-height)",
    "preset": "normalization defaults: larch or athena",
    "pre_range": "pre-edge range [LO, HI], eV relative to E0",
    "norm_range": "post-edge range [LO, HI], eV relative to E0",
    "nnorm": "post-edge polynomial degree",
    "max_foil_offset_eV": "reject a foil further than this from the tabulated edge, eV (5)",
    "foil": "separate foil scan for the energy calibration (path relative to the config)",
    "normalized": "the spectra are already normalized: no refit (false)",
    "noise_correlation": "points over which the noise is correlated (1)",
    "energy_scale_sigma_eV": "energy-scale uncertainty of scans without a foil, eV (1.0)",
    "energy_drift_sigma_eV": "scan-to-scan drift of scans without a foil, eV (0.2)",
}
#: Options passed to the pipeline only when the config gives them (a config without them
#: keeps the parameters, hence the keys of finished scans, it had before they existed).
_XANES_OPTIONAL = {"normalized": bool, "noise_correlation": float,
                   "energy_scale_sigma_eV": float, "energy_drift_sigma_eV": float}

XANES_COLUMNS = (
    Column("e0_eV", "eV", "edge position (calibrated)"),
    Column("e0_err_eV", "eV", "edge position uncertainty"),
    Column("edge_step", "", "edge step"),
    Column("foil_shift_eV", "eV", "foil energy shift (NaN: none)"),
    Column("oxidation_state", "", "oxidation state"),
    Column("oxidation_state_err", "", "oxidation state uncertainty"),
)


def _prepare_xanes(options: dict, base_dir: Path) -> Prepared:
    from naheo_spec.xas.e0 import E0_METHODS

    opts = dict(options)
    e0_method = opts.get("e0_method")
    if e0_method is not None and e0_method not in E0_METHODS:
        raise InputError(f"[xanes] e0_method = {e0_method!r}: expected one of "
                         f"{', '.join(E0_METHODS)}")
    preset = opts.get("preset")
    if preset is not None and preset not in ("larch", "athena"):
        raise InputError(f"[xanes] preset = {preset!r}: expected 'larch' or 'athena'")
    nnorm = opts.get("nnorm")
    if nnorm is not None and (not isinstance(nnorm, int) or not 0 <= nnorm <= 3):
        raise InputError(f"[xanes] nnorm = {nnorm!r}: expected an integer 0..3")
    data_root = opts.get("data_root")
    if data_root is not None:
        data_root = Path(data_root) if Path(data_root).is_absolute() else base_dir / data_root
    cals, cal_params = _calibrations(opts.get("standards"), data_root, base_dir, e0_method)
    foil, foil_param = None, None
    if opts.get("foil") is not None:
        fp = Path(opts["foil"])
        fp = fp if fp.is_absolute() else base_dir / fp
        if not fp.is_file():
            raise InputError(f"[xanes] foil = {opts['foil']!r}: no such file {fp}")
        from naheo_spec.io import read_spectrum

        foil, foil_param = read_spectrum(fp, technique="xas"), {"file": str(fp),
                                                                 "sha256": _sha(fp)}
    analyze = dict(e0_method=e0_method, preset=preset,
                   pre_range=_pair(opts.get("pre_range"), "pre_range", "xanes"),
                   norm_range=_pair(opts.get("norm_range"), "norm_range", "xanes"),
                   nnorm=nnorm, max_foil_offset_eV=float(opts.get("max_foil_offset_eV", 5.0)))
    for key, kind in _XANES_OPTIONAL.items():
        v = opts.get(key)
        if v is None:
            continue
        if kind is bool and not isinstance(v, bool):
            raise InputError(f"[xanes] {key} = {v!r}: expected true or false")
        if kind is float and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not math.isfinite(v) or v < (key == "noise_correlation")):
            raise InputError(f"[xanes] {key} = {v!r}: expected a number >= "
                             f"{int(key == 'noise_correlation')}")
        analyze[key] = kind(v)
    params = {**analyze, "standards": cal_params or None, "foil": foil_param}
    return Prepared(parameters=params, payload={"analyze": analyze, "calibrations": cals,
                                                "foil": foil})


#: ``standards = "builtin"``: each scan element's built-in line (the ``naheo-spec xanes``
#: default), none for an element without one.
BUILTIN_LINES = "builtin"
_BUILTIN_CACHE: dict[tuple, object] = {}


def _builtin_line(element, e0_method, preset):
    from naheo_spec.xas.builtin import available_elements, builtin_calibration

    if element not in available_elements():
        return None
    key = (element, e0_method or "half-height", preset or "larch")
    if key not in _BUILTIN_CACHE:
        _BUILTIN_CACHE[key] = builtin_calibration(element, e0_method=key[1], preset=key[2])
    return _BUILTIN_CACHE[key]


def _calibration_for(payload, element, where: str):
    cals = payload["calibrations"]
    if not cals:
        return None
    if cals.get(BUILTIN_LINES) is True:
        a = payload["analyze"]
        return _builtin_line(element, a.get("e0_method"), a.get("preset"))
    if element in cals:
        return cals[element]
    if None in cals:
        return cals[None]
    raise NaheoError(f"{where}: no valence standards for {element or 'an unknown element'} "
                     f"(standards given for {', '.join(sorted(map(str, cals)))}); add it to "
                     "[xanes] standards")


def _run_xanes_scan(spectrum, prepared: Prepared) -> ScanOutput:
    from naheo_spec.xas.xanes import analyze_xanes

    p = prepared.payload
    cal = _calibration_for(p, spectrum.element, spectrum.name)
    kws = dict(p["analyze"])
    if p["foil"] is not None:
        kws["foil"] = p["foil"]
    res = analyze_xanes(spectrum, calibration=cal, **kws)
    values = {c.name: _float(getattr(res, c.name)) for c in XANES_COLUMNS}
    return ScanOutput(values=values, record=res.to_record(), warnings=tuple(res.warnings),
                      element=res.element)


def _without_row_names(table, errors):
    """The block's per-row warning table and errors with the :data:`ROW_NAME` placeholder
    removed: the row index is in the table already, and messages without the name repeat,
    so a 10^6-row stack keeps a short table of distinct messages (the store's rule for
    stacks). Messages are numbered in order of first appearance along the rows."""
    from naheo_spec.diagnostics import StackWarnings
    from naheo_spec.xas.xanes_stack import ROW_NAME

    prefix = f"{ROW_NAME}: "
    errs = {i: e.replace(prefix, "", 1) for i, e in enumerate(errors) if e is not None}
    if not len(table):
        return table, errs
    text_id: dict[str, int] = {}
    ids = np.array([text_id.setdefault(m.replace(prefix, "", 1), len(text_id))
                    for m in table.messages], dtype=np.int64)
    per_row = ids[np.asarray(table.message_index, dtype=np.int64)]
    uniq, first = np.unique(per_row, return_index=True)
    order = uniq[np.argsort(first, kind="stable")]
    new_of = np.empty(len(text_id), dtype=np.int64)
    new_of[order] = np.arange(order.size)
    texts = list(text_id)
    return StackWarnings(table.n_rows, table.rows, table.code_index,
                         new_of[per_row].astype(np.int32),
                         table.codes, tuple(texts[j] for j in order)), errs


_NORM_CACHES: dict[int, dict] = {}       # per worker process: normalize notes per grid


def _run_xanes_block(stack, prepared: Prepared) -> BlockOutput:
    from naheo_spec.xas.xanes_stack import analyze_block, stack_options

    p = prepared.payload
    cal = _calibration_for(p, stack.element, stack.name)
    kws = dict(p["analyze"])
    if p["foil"] is not None:
        kws["foil"] = p["foil"]
    # markers=False: the block output is XANES_COLUMNS and the warnings; the edge markers
    # (integral position, Fe pre-edge centroid) are in neither (no marker lines are given
    # here, so they raise no warning either): not computed (~10 % of the block)
    opts = stack_options(calibration=cal, markers=False, **kws)
    cache = _NORM_CACHES.setdefault(id(prepared), {})
    res, _silent = analyze_block(stack, opts, cache, keep_norm=False, row_names=False)
    values = {c.name: np.asarray(getattr(res, c.name), dtype=float) for c in XANES_COLUMNS}
    table, errors = _without_row_names(res.row_warnings, res.errors)
    return BlockOutput(values=values, errors=errors, row_warnings=table,
                       parameters=res.provenance.parameters, element=res.element)


# --------------------------------------------------------------------------- exafs
EXAFS_OPTIONS = {
    "rbkg": "AUTOBK rbkg, angstrom (1.0)",
    "bkg_kweight": "k-weight of the background fit (default: preset)",
    "preset": "normalization/background defaults: larch or athena",
    "kmin": "FT k start, 1/angstrom (3.0)",
    "kmax": "FT k end, 1/angstrom (default min(kmax_data - 1, 12))",
    "kweight": "FT k-weight (2)",
    "dk": "FT window sill, 1/angstrom (1.0)",
    "window": "FT window (hanning)",
    "peak_windows": "where to look for FT peaks: auto (default: metal windows for foils), oxide or metal",
    "fit": "shell fit structure, e.g. 'ref:NiO' or 'rocksalt:a=4.177' (slow: FEFF)",
    "absorber": "absorbing element for the fit (default: the scan's)",
    "rmin": "fit R start, angstrom (1.0)",
    "rmax": "fit R end, angstrom (3.2)",
    "s02": "amplitude reduction factor (0.8)",
}

EXAFS_COLUMNS = (
    Column("e0_eV", "eV", "E0 (background)"),
    Column("edge_step", "", "edge step"),
    Column("kmax_data_invA", "1/angstrom", "last k of the data"),
    Column("r_apparent_TM_O_A", "angstrom", "TM-O FT peak (apparent, not phase corrected)"),
    Column("r_apparent_TM_TM_A", "angstrom", "TM-TM FT peak (apparent, not phase corrected)"),
    Column("fit_r_TM_O_A", "angstrom", "TM-O distance (shell fit)"),
    Column("fit_r_TM_O_err_A", "angstrom", "TM-O distance uncertainty (shell fit)"),
    Column("fit_r_TM_TM_A", "angstrom", "TM-TM distance (shell fit)"),
    Column("fit_r_TM_TM_err_A", "angstrom", "TM-TM distance uncertainty (shell fit)"),
    Column("fit_r_factor", "", "shell fit R-factor"),
)
_WINDOWS = ("hanning", "kaiser", "parzen", "welch", "sine", "gaussian")
_PEAKS = {"TM-O": "r_apparent_TM_O_A", "TM-TM": "r_apparent_TM_TM_A"}


def _prepare_exafs(options: dict, base_dir: Path) -> Prepared:
    o = dict(options)
    num = {}
    for key, default in (("rbkg", 1.0), ("kmin", 3.0), ("dk", 1.0), ("rmin", 1.0),
                         ("rmax", 3.2), ("s02", 0.8), ("kmax", None)):
        v = o.get(key, default)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not math.isfinite(v)):
            raise InputError(f"[exafs] {key} = {v!r}: expected a number")
        num[key] = None if v is None else float(v)
    for key, default in (("kweight", 2), ("bkg_kweight", None)):
        v = o.get(key, default)
        if v is not None and (not isinstance(v, int) or not 0 <= v <= 3):
            raise InputError(f"[exafs] {key} = {v!r}: expected an integer 0..3")
        num[key] = v
    preset = o.get("preset", "larch")
    if preset not in ("larch", "athena"):
        raise InputError(f"[exafs] preset = {preset!r}: expected 'larch' or 'athena'")
    window = o.get("window", "hanning")
    if window not in _WINDOWS:
        raise InputError(f"[exafs] window = {window!r}: expected one of {', '.join(_WINDOWS)}")
    peaks = o.get("peak_windows", "auto")
    if peaks not in ("auto", "oxide", "metal"):
        raise InputError(f"[exafs] peak_windows = {peaks!r}: expected 'auto' (foils get the "
                         "metal windows), 'oxide' or 'metal'")
    analyze = dict(rbkg=num["rbkg"], bkg_kweight=num["bkg_kweight"], preset=preset,
                   kmin=num["kmin"], kmax=num["kmax"], kweight=num["kweight"], dk=num["dk"],
                   window=window, peak_windows=peaks)
    fit = None
    if o.get("fit") is not None:
        fit = dict(structure=str(o["fit"]), absorber=o.get("absorber"), rmin_A=num["rmin"],
                   rmax_A=num["rmax"], s02=num["s02"])
    return Prepared(parameters={**analyze, "fit": fit},
                    payload={"analyze": analyze, "fit": fit, "paths": {}})


def _run_exafs_scan(spectrum, prepared: Prepared) -> ScanOutput:
    from naheo_spec.xas.exafs import analyze_exafs

    p = prepared.payload
    res = analyze_exafs(spectrum, **p["analyze"])
    values = {c.name: float("nan") for c in EXAFS_COLUMNS}
    values.update(e0_eV=_float(res.e0_eV), edge_step=_float(res.edge_step),
                  kmax_data_invA=_float(res.kmax_data_invA))
    for peak in res.ft_peaks:
        if peak.label in _PEAKS:
            values[_PEAKS[peak.label]] = _float(peak.r_apparent_A)
    if p["fit"] is not None:
        from naheo_spec.xas.exafs_fit import fit_exafs_result, structure_paths

        fit = p["fit"]
        el = fit["absorber"] or spectrum.element
        if el not in p["paths"]:           # FEFF once per element and worker
            p["paths"][el] = structure_paths(fit["structure"], el)
        res = fit_exafs_result(res, p["paths"][el], rmin_A=fit["rmin_A"], rmax_A=fit["rmax_A"],
                               s02=fit["s02"])
        d = res.shell_fit.to_json_dict()
        paths = d.get("paths", [])
        for i, label in enumerate(("TM_O", "TM_TM")):
            if i < len(paths):
                values[f"fit_r_{label}_A"] = _float(paths[i].get("r_A"))
                values[f"fit_r_{label}_err_A"] = _float(paths[i].get("r_err_A"))
        values["fit_r_factor"] = _float(d.get("r_factor"))
    return ScanOutput(values=values, record=res.to_record(), warnings=tuple(res.warnings),
                      element=spectrum.element)


def _stack_kmax(stack, kmax):
    """A common FT kmax that does not depend on how the stack is cut into blocks: the
    given one, else min(12, k at the last energy above the tabulated edge - 1)."""
    if kmax is not None:
        return kmax
    from naheo_spec.xas.autobk import KTOE
    from naheo_spec.xas.edges import tabulated_edge_energy
    from naheo_spec.xas.exafs import KMAX_CAP

    if not stack.element:
        raise InputError(f"{stack.name}: [exafs] kmax must be given for a stack whose element "
                         "is unknown")
    e0 = tabulated_edge_energy(stack.element, stack.edge or "K")
    return min(KMAX_CAP, math.sqrt(max(stack.energy[-1] - e0, 0.0) / KTOE) - 1.0)


def _run_exafs_block(stack, prepared: Prepared) -> BlockOutput:
    from naheo_spec.diagnostics import capture
    from naheo_spec.xas.exafs import analyze_exafs_stack

    p = prepared.payload
    if p["fit"] is not None:
        raise InputError("[exafs] fit is not available for a stack (per-scan FEFF fits of a "
                         "map); remove it or run the files")
    kws = dict(p["analyze"], kmax=_stack_kmax(stack, p["analyze"]["kmax"]))
    n = len(stack)
    values = {c.name: np.full(n, np.nan) for c in EXAFS_COLUMNS}
    try:
        with capture() as caught:
            res = analyze_exafs_stack(stack, **kws)
    except NaheoError as exc:
        return BlockOutput(values=values, errors={i: str(exc) for i in range(n)},
                           parameters=kws, element=stack.element)
    values.update(e0_eV=res.e0_eV, edge_step=res.edge_step, kmax_data_invA=res.kmax_data_invA)
    for label, col in _PEAKS.items():
        values[col] = res.peak_positions(label)
    return BlockOutput(values=values, errors=dict(res.failures),
                       parameters=res.provenance.parameters, element=res.element,
                       warnings=tuple(caught))


# --------------------------------------------------------------------------- stacks
class Hdf5StackSource:
    """Rows of an HDF5 ``[nScan, nEnergy]`` XAS stack, read block by block.

    The stack is found as ``naheo-spec xanes --stack`` finds it
    (:func:`naheo_spec.xas.readers.hdf5.find_stack_layout`). When the file does not name
    the element, it is guessed once from the first usable row and kept in :attr:`info`,
    so that every worker labels every block the same way.

    Parameters
    ----------
    path : str or Path
    dataset : str, optional
        Group or signal of the stack when the file holds several.
    element, edge, sha256 : str, optional
        As found by a first opening (``info``); not looked for again.
    """

    def __init__(self, path, dataset=None, *, element=None, edge=None, sha256=None):
        import h5py

        from naheo_spec.errors import ReadError
        from naheo_spec.model import SourceInfo
        from naheo_spec.xas.readers.hdf5 import find_stack_layout

        self.path = Path(path)
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as exc:
            raise ReadError(self.path, f"not a readable HDF5 file ({exc})") from None
        try:
            self.lay = find_stack_layout(self._f, self.path, dataset)
            self.axis, self.keep, self.repairs = self.lay.energy_axis(self.path)
        except BaseException:
            self._f.close()
            raise
        self.n_rows = self.lay.n_scans
        el, ed = self.lay.element_edge
        self.element, self.edge = element or el, edge or ed
        if sha256 is None:
            from naheo_spec.provenance import file_sha256

            sha256 = file_sha256(self.path)
        self.source = SourceInfo(path=str(self.path), sha256=sha256, format="hdf5",
                                 scan=self.lay.group, columns=dict(self.lay.columns))
        if self.element is None:
            self._guess_element()
        self.info = {"element": self.element, "edge": self.edge, "sha256": sha256}

    def _guess_element(self) -> None:
        from naheo_spec.diagnostics import capture
        from naheo_spec.xas.edges import guess_edge

        for start in range(0, min(self.n_rows, 5000), 500):
            mu = self._rows(self.lay.signal, start, min(start + 500, self.n_rows))
            ok = [r for r in mu if np.all(np.isfinite(r)) and np.ptp(r) > 0]
            if ok:
                with capture():
                    el, ed, _e0, _ = guess_edge(self.axis, ok[0])
                self.element, self.edge = el, ed
                return

    def _rows(self, ds, start, stop):
        if ds is None:
            return None
        a = self.lay.read_rows(ds, slice(start, stop))
        return a if self.keep is None else a[:, self.keep]

    def read(self, start: int, stop: int):
        """Rows ``start:stop`` as a SpectrumStack labelled ``<group>[i]`` (stack row i)."""
        from naheo_spec.model import SpectrumStack

        mu = self._rows(self.lay.signal, start, stop)
        ref = self._rows(self.lay.reference, start, stop)
        labels = np.char.add(f"{self.lay.group}[",
                             np.char.add(np.arange(start, stop).astype(str), "]"))
        return SpectrumStack(self.axis, mu, references=ref, element=self.element,
                             edge=self.edge or "K", labels=labels, source=self.source)

    def close(self) -> None:
        self._f.close()


def warm_xanes() -> None:
    """A fresh worker's start-up, done before its first XANES block: the stack kernels'
    imports and xraydb's edge table (about 1.8 s of the ~2.5 s a spawned process needs)."""
    import naheo_spec.xas.xanes_stack  # noqa: F401
    from naheo_spec.xas.edges import tabulated_edge_energy

    tabulated_edge_energy("Fe", "K")


def warm_exafs() -> None:
    """As :func:`warm_xanes`, plus the AUTOBK and Fourier-transform imports."""
    import naheo_spec.xas.exafs  # noqa: F401

    warm_xanes()


PIPELINES = [
    PipelineSpec(name="xanes", technique="xas",
                 description="XANES: foil calibration, normalization, E0, oxidation state",
                 options=XANES_OPTIONS, columns=XANES_COLUMNS, prepare=_prepare_xanes,
                 run_scan=_run_xanes_scan, run_block=_run_xanes_block,
                 open_stack=Hdf5StackSource, warm=warm_xanes,
                 block_cost_us=30.0,      # 22-35 us per 500-point scan (bench_outofcore.py)
                 version="1"),
    PipelineSpec(name="exafs", technique="xas",
                 description="EXAFS: background, chi(k), Fourier transform, TM-O/TM-TM peaks "
                             "and optional shell fit",
                 options=EXAFS_OPTIONS, columns=EXAFS_COLUMNS, prepare=_prepare_exafs,
                 run_scan=_run_exafs_scan, run_block=_run_exafs_block,
                 open_stack=Hdf5StackSource, warm=warm_exafs,
                 block_cost_us=120.0,     # 100-200 us per scan (bench_exafs_stack.py)
                 version="1"),
]
