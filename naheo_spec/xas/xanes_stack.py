"""Vectorized XANES pipeline for a stack of scans on one energy grid.

:func:`analyze_xanes_stack` gives, for N scans sharing one measured energy grid (an
operando series, a map), the numbers :func:`naheo_spec.xas.xanes.analyze_xanes` gives scan
by scan -- foil shift, calibrated E0 and its error, edge step, oxidation state and its
error, per-scan warnings -- but with array operations instead of N Python calls:

1. **Foil shift per scan**: the max-derivative E0 of every reference row at once
   (:func:`~naheo_spec.xas.e0.find_e0_stack`); a reference whose E0 lies further than
   ``max_foil_offset_eV`` from the tabulated edge, or that does not rise at its E0, is
   rejected for that scan, with a warning, and **no shift is applied** (the same rule as
   :func:`~naheo_spec.xas.energy_calibration.calibrate_energy`).
2. **Normalization and E0** (:func:`~naheo_spec.xas.normalize.normalize_stack`,
   ``find_e0_stack``). A foil shift only translates the energy axis, so the scans that
   share a shift are processed together on the measured grid plus that shift (no
   interpolation). Adding the shift to an E0 found on the measured grid is *not* exact:
   larch's max-derivative E0, which anchors the normalization ranges, smooths the
   derivative over a width that grows with E/25000 eV, and on real scans moved by a grid
   point for 1 eV shifts (then the half-height E0 changed by 0.015 eV). Max-derivative foil
   E0s are grid energies, so a series has a handful of distinct shifts; only with more
   than :data:`MAX_SHIFT_GROUPS` (a sub-grid foil E0 method) is the shift added to E0
   instead (recorded in the provenance).
3. **Oxidation state** from a :class:`~naheo_spec.xas.valence.ValenceCalibration`, with
   ``ValenceCalibration.predict``'s formula evaluated on arrays (delta method, scatter of
   the standards included by default, out-of-span warning).

Per-scan results equal those of ``analyze_xanes`` on the same scans (tests: E0 within
1e-6 eV, valence within 1e-9, identical warnings). Warnings are recorded per scan in
``XanesStackResult.scan_warnings``; each kind is emitted once as a Python warning with
the number of scans concerned. A scan that ``analyze_xanes`` would reject (constant μ,
edge outside the scan, no half-height crossing...) gets NaN numbers and an ``errors``
entry, like :class:`~naheo_spec.xas.xanes.XanesFailure` in a series.

Example
-------
>>> import numpy as np
>>> from naheo_spec.xas.xanes_stack import analyze_xanes_stack
>>> e = np.linspace(6400.0, 6800.0, 801)
>>> edges = np.array([6546.0, 6548.0, 6550.0])            # three "scans"
>>> mu = 0.1 + np.arctan((e - edges[:, None]) / 2.0) / np.pi + 0.5
>>> foil = np.arctan((e - 6538.0) / 1.0) / np.pi + 0.5     # foil 1 eV below Mn K 6539 eV
>>> res = analyze_xanes_stack((e, mu, np.tile(foil, (3, 1))), element="Mn")
>>> np.round(res.foil_shift_eV, 1).tolist(), np.round(res.e0_eV, 1).tolist()
([1.0, 1.0, 1.0], [6547.0, 6549.0, 6551.0])
>>> list(res.to_json_list()[0])[:6]
['file', 'scan', 'element', 'edge', 'e0_method', 'e0_eV']

For stacks too large for memory see :func:`naheo_spec.xas.outofcore.xanes_hdf5_stack`.

References
----------
.. [1] B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
   doi:10.1107/S0909049505012719 (foil alignment, normalization).
.. [2] M. Newville, J. Phys.: Conf. Ser. 430, 012007 (2013),
   doi:10.1088/1742-6596/430/1/012007 (larch ``pre_edge``/``find_e0``, reproduced by the
   kernels used here).
.. [3] P. J. Brown, *Measurement, Regression, and Calibration*, Oxford (1993)
   (inverse prediction from a calibration line).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import (
    StackWarnings,
    StackWarningsBuilder,
    WarningCode,
    WarningRecord,
    capture,
    warnings_json,
)
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import (
    CalibrationError,
    FitError,
    InputError,
    NaheoError,
    ProcessingError,
    QualityWarning,
)
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.model import SpectrumStack
from naheo_spec.provenance import Provenance
from naheo_spec.xas.e0 import BOOTSTRAP_SPREAD, HALF_HEIGHT_FAR
from naheo_spec.xas.energy_calibration import (
    FOIL_DISABLED,
    FOIL_ELEMENT_UNKNOWN,
    FOIL_NONE,
    FOIL_REJECTED,
    FOIL_UNUSABLE,
)
from naheo_spec.xas.normalize import NOTE_CODES
from naheo_spec.xas.valence import NO_DOF, OUT_OF_SPAN, UNCALIBRATED_ENERGY

#: Message prefix of normalize()'s per-spectrum edge-shape check (recomputed per scan here).
_SHAPE_PREFIX = "normalized mu does not look like an absorption edge ("
_SHAPE = NOTE_CODES["edge_shape"]
SCAN_FAILED = WarningCode("xas.xanes_stack.scan_failed", QualityWarning,
                          "A scan of a stack could not be analysed; its numbers are NaN.")
#: Message of a scan that normalize_stack could not normalize (it does not say which check).
_NO_EDGE = ("no usable absorption edge (constant or all-zero mu, edge outside the scan, "
            "edge step not positive or below 5x the noise level, or normalized mu rising by "
            "less than 0.5 across E0)")


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False, repr=False)
class XanesStackResult(ResultDisplay):
    """XANES analysis of N scans on one measured energy grid.

    Attributes
    ----------
    energy : ndarray of shape (M,)
        The measured (uncalibrated) energy grid, eV. Scan ``i`` is on the calibrated
        grid ``energy + foil_shift_eV[i]`` (``energy`` where the shift is NaN).
    e0_eV, e0_err_eV : ndarray of shape (N,)
        Calibrated edge positions and their uncertainties (eV); NaN for failed scans.
    edge_step : ndarray of shape (N,)
        Edge steps (units of μ).
    foil_shift_eV : ndarray of shape (N,)
        Shift applied from the foil (eV); NaN where no valid foil (None in JSON).
    oxidation_state, oxidation_state_err : ndarray of shape (N,)
        From the valence calibration; NaN without one.
    pre_range_eV, norm_range_eV : ndarray of shape (N, 2)
        Normalization ranges used, eV relative to each scan's E0.
    nnorm : ndarray of int, shape (N,)
        Post-edge polynomial degree used (-1 for failed scans).
    files, scans : tuple of str or None
        Source file and scan label of each scan (as ``SpectrumStack[i].source``).
    element, edge, e0_method : str or None
        Common to the stack.
    row_warnings : StackWarnings
        Coded warnings of each scan, the same records
        :func:`~naheo_spec.xas.xanes.analyze_xanes` gives (for a failed scan: the error).
    errors : tuple of str or None
        ``"ErrorType: message"`` for scans that could not be analysed, else None.
    warnings : tuple of WarningRecord
        Stack-level summary: each code of the per-scan warnings once, with its count, plus
        the stack's own reader repairs.
    provenance : Provenance
        Step ``"xas.xanes_stack"`` with every option resolved.
    norm : ndarray of shape (N, M) or None
        Normalized μ (on each scan's calibrated grid); None when not kept.
    """

    energy: np.ndarray
    e0_eV: np.ndarray
    e0_err_eV: np.ndarray
    edge_step: np.ndarray
    foil_shift_eV: np.ndarray
    oxidation_state: np.ndarray
    oxidation_state_err: np.ndarray
    pre_range_eV: np.ndarray
    norm_range_eV: np.ndarray
    nnorm: np.ndarray
    files: tuple[str | None, ...]
    scans: tuple[str | None, ...]
    element: str | None
    edge: str | None
    e0_method: str
    row_warnings: StackWarnings
    errors: tuple[str | None, ...]
    warnings: tuple[WarningRecord, ...]
    provenance: Provenance
    norm: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.e0_eV.size)

    @classmethod
    def concatenate(cls, parts: list["XanesStackResult"], *, provenance: Provenance,
                    warnings=()) -> "XanesStackResult":
        """Join the results of consecutive blocks of one stack (same grid and options)."""
        def cat(name):
            return np.concatenate([getattr(p, name) for p in parts])

        def join(name):
            return tuple(x for p in parts for x in getattr(p, name))

        first = parts[0]
        return cls(
            energy=first.energy, e0_eV=cat("e0_eV"), e0_err_eV=cat("e0_err_eV"),
            edge_step=cat("edge_step"), foil_shift_eV=cat("foil_shift_eV"),
            oxidation_state=cat("oxidation_state"),
            oxidation_state_err=cat("oxidation_state_err"), pre_range_eV=cat("pre_range_eV"),
            norm_range_eV=cat("norm_range_eV"), nnorm=cat("nnorm"), files=join("files"),
            scans=join("scans"), element=first.element, edge=first.edge,
            e0_method=first.e0_method,
            row_warnings=StackWarnings.concat([p.row_warnings for p in parts]),
            errors=join("errors"), warnings=tuple(warnings), provenance=provenance,
            norm=None if any(p.norm is None for p in parts) else cat("norm"))

    @property
    def scan_warnings(self) -> tuple[tuple[WarningRecord, ...], ...]:
        """Per-scan records as a tuple of tuples (small stacks; prefer :attr:`row_warnings`)."""
        return tuple(self.row_warnings.for_row(i) for i in range(len(self)))

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask (N,): True for scans analysed without error."""
        return np.array([e is None for e in self.errors], dtype=bool)

    def to_json_list(self) -> list[dict[str, Any]]:
        """One dict per scan, in order, with the keys of ``XanesResult.to_json_dict``.

        Failed scans give the :class:`~naheo_spec.xas.xanes.XanesFailure` form: the same
        keys with None numbers, plus ``"error"``.
        """
        from naheo_spec.xas.xanes import JSON_KEYS

        out = []
        for i in range(len(self)):
            common = {"file": self.files[i], "scan": self.scans[i], "element": self.element,
                      "edge": self.edge, "e0_method": self.e0_method}
            if self.errors[i] is not None:
                d = dict.fromkeys(JSON_KEYS)
                d.update(common, warnings=warnings_json(self.row_warnings.for_row(i)),
                         error=self.errors[i])
            else:
                d = {**common, "e0_eV": _num(self.e0_eV[i]), "e0_err_eV": _num(self.e0_err_eV[i]),
                     "edge_step": _num(self.edge_step[i]),
                     "foil_shift_eV": _num(self.foil_shift_eV[i]),
                     "oxidation_state": _num(self.oxidation_state[i]),
                     "oxidation_state_err": _num(self.oxidation_state_err[i]),
                     "warnings": warnings_json(self.row_warnings.for_row(i))}
            out.append(d)
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-safe stack summary (counts, medians, common labels, stack warnings)."""
        ok = self.valid
        files = set(self.files)

        def med(a):
            a = a[ok & np.isfinite(a)]
            return float(np.median(a)) if a.size else None

        return {"n_scans": len(self), "n_valid": int(ok.sum()), "n_failed": int((~ok).sum()),
                "file": next(iter(files)) if len(files) == 1 else None,
                "element": self.element, "edge": self.edge, "e0_method": self.e0_method,
                "e0_eV_median": med(self.e0_eV),
                "e0_eV_min": _num(np.nanmin(self.e0_eV)) if ok.any() else None,
                "e0_eV_max": _num(np.nanmax(self.e0_eV)) if ok.any() else None,
                "foil_shift_eV_median": med(self.foil_shift_eV),
                "n_foil_calibrated": int(np.isfinite(self.foil_shift_eV[ok]).sum()),
                "oxidation_state_median": med(self.oxidation_state),
                "n_scans_with_warnings": int(np.sum(self.row_warnings.any_mask() & ok)),
                "warning_counts": self.row_warnings.counts(),
                "n_warnings": len(self.warnings),
                "warnings": "; ".join(w.message for w in self.warnings)}

    def to_record(self, name: str | None = None):
        """Return a :class:`~naheo_spec.records.Record` of kind ``"xanes_stack"``.

        ``summary`` is :meth:`summary`. NXdata groups, one per space:

        - ``data`` (when the normalized spectra are kept): ``norm`` (N, M) on
          ``scan_index`` x ``energy`` (measured grid);
        - ``scans``: the per-scan numbers ``e0_eV`` (signal), ``e0_err_eV``, ``edge_step``,
          ``foil_shift_eV``, ``oxidation_state``, ``oxidation_state_err``, ``nnorm``,
          ``pre_range_eV``/``norm_range_eV`` (N, 2), ``scan`` labels and ``error`` on
          ``scan_index``;
        - ``warnings``: the sparse per-scan warning table (``row``, ``code_index``,
          ``message_index``, ``codes``, ``messages``; see
          :class:`~naheo_spec.diagnostics.StackWarnings`).
        """
        from naheo_spec.records import DataArray, DataGroup, Record, nexus_name

        def strings(values):
            return np.array(["" if v is None else str(v) for v in values], dtype=object)

        index = DataArray(np.arange(len(self)), "", "scan index")
        scans = DataGroup({
            "scan_index": index,
            "e0_eV": DataArray(self.e0_eV, "eV", f"edge position ({self.e0_method}, calibrated)"),
            "e0_err_eV": DataArray(self.e0_err_eV, "eV", "edge position uncertainty"),
            "edge_step": DataArray(self.edge_step, "", "edge step"),
            "foil_shift_eV": DataArray(self.foil_shift_eV, "eV", "foil energy shift (NaN: none)"),
            "oxidation_state": DataArray(self.oxidation_state, "", "oxidation state"),
            "oxidation_state_err": DataArray(self.oxidation_state_err, "",
                                             "oxidation state uncertainty"),
            "pre_range_eV": DataArray(self.pre_range_eV, "eV", "pre-edge range from E0"),
            "norm_range_eV": DataArray(self.norm_range_eV, "eV", "normalization range from E0"),
            "nnorm": DataArray(np.asarray(self.nnorm), "", "post-edge polynomial degree"),
            "scan": DataArray(strings(self.scans), "", "scan label"),
            "error": DataArray(strings(self.errors), "", "per-scan error"),
        }, signal="e0_eV", axes=["scan_index"], title="per-scan results")
        t = self.row_warnings
        table = DataGroup({
            "row": DataArray(t.rows, "", "scan index of each warning"),
            "code_index": DataArray(t.code_index, "", "index into codes"),
            "message_index": DataArray(t.message_index, "", "index into messages"),
            "codes": DataArray(strings(t.codes), "", "warning codes"),
            "messages": DataArray(strings(t.messages), "", "distinct messages"),
        }, signal="code_index", axes=["row"], title="per-scan warnings (sparse)")
        data, signal, axes = {}, None, []
        if self.norm is not None:
            data = {"scan_index": index,
                    "energy": DataArray(np.asarray(self.energy), "eV",
                                        "X-ray energy as measured (add foil_shift_eV per scan)"),
                    "norm": DataArray(self.norm, "", "normalized absorption")}
            signal, axes = "norm", ["scan_index", "energy"]
        stem = Path(self.files[0]).stem if self.files and self.files[0] else "stack"
        return Record(name=name or nexus_name(stem) + "_xanes_stack", kind="xanes_stack",
                      summary=self.summary(), provenance=self.provenance, data=data,
                      signal=signal, axes=axes, groups={"scans": scans, "warnings": table})

    def display_title(self) -> str:
        files = {Path(f).name for f in self.files if f}
        return next(iter(files)) if len(files) == 1 else f"{len(files)} files"

    def display_items(self):
        ok = self.valid
        yield ("scans", len(self), None, "")
        yield ("failed", int((~ok).sum()), None, "")
        if ok.any():
            yield ("median E0 (" + self.e0_method + ")", float(np.nanmedian(self.e0_eV[ok])),
                   float(np.nanmedian(self.e0_err_eV[ok])), "eV")
            if np.isfinite(self.oxidation_state[ok]).any():
                yield ("median oxidation state", float(np.nanmedian(self.oxidation_state[ok])),
                       float(np.nanmedian(self.oxidation_state_err[ok])), "")


# --------------------------------------------------------------------------- warnings log
class _Log:
    """Per-scan coded warnings and errors of one stack (or one chunk of it)."""

    def __init__(self, names: list[str]):
        self.names = names
        self.builder = StackWarningsBuilder(len(names))
        self.errors: list[str | None] = [None] * len(names)
        self.silent: set[str] = set()          # codes recorded but not emitted

    def add(self, code: WarningCode, rows: Iterable[int], fmt: Callable[[int], str],
            emit: bool = True) -> None:
        """Add ``code`` with message ``fmt(i)`` to each scan ``i`` in ``rows``."""
        rows = [int(i) for i in rows]
        if not rows:
            return
        self.builder.add(code, rows, [fmt(i) for i in rows])
        if not emit:
            self.silent.add(code.code)

    def add_same(self, code: WarningCode, rows, msg: str, emit: bool = True) -> None:
        """Add the same message to each scan in ``rows``."""
        self.add(code, rows, lambda _i: msg, emit)

    def add_record(self, rows, fmt: Callable[[int], WarningRecord]) -> None:
        """Add a record (its own code) to each scan in ``rows``."""
        for i in rows:
            rec = fmt(int(i))
            self.builder.add(rec.code, [int(i)], rec.message)

    def fail(self, rows, kind: str, fmt: Callable[[int], str]) -> None:
        """Mark scans as failed (the first failure of a scan wins, as a raise would)."""
        for i in rows:
            i = int(i)
            if self.errors[i] is None:
                self.errors[i] = f"{kind}: {fmt(i)}"

    def ok_rows(self, rows=None) -> np.ndarray:
        rows = range(len(self.names)) if rows is None else rows
        return np.array([i for i in rows if self.errors[i] is None], dtype=int)

    def build(self) -> StackWarnings:
        """The per-scan table; a failed scan keeps only its error (as a raise would)."""
        table = self.builder.build()
        failed = np.array([e is not None for e in self.errors], dtype=bool)
        if not failed.any():
            return table
        keep = ~failed[table.rows]
        b = StackWarningsBuilder(len(self.names))
        for k in np.flatnonzero(keep):
            b.add(table.codes[table.code_index[k]], [table.rows[k]],
                  table.messages[table.message_index[k]])
        for i in np.flatnonzero(failed):
            b.add(SCAN_FAILED, [i], self.errors[i])
        return b.build()


def _summary(table: StackWarnings, silent: set[str]) -> tuple[tuple[WarningRecord, bool], ...]:
    """One record per code, ``"<count> of <n> scans: <first message>"``, and whether to emit."""
    return tuple((r, r.code not in silent) for r in table.summary(unit="scans"))


def _emit(summary, stacklevel: int = 3) -> None:
    for rec, emit in summary:
        if emit:
            rec.emit(stacklevel=stacklevel)


# --------------------------------------------------------------------------- context
@dataclass
class _Ctx:
    """Resolved options and per-scan labels of one stack (or one chunk of it)."""

    stack: SpectrumStack
    names: list[str]
    files: list[str | None]
    scans: list[str]
    element: str | None
    edge: str
    tab: float | None
    e0_method: str
    nopts: dict
    calibration: Any
    foil: Any
    foil_e0_method: str
    max_offset: float
    include_scatter: bool
    span_margin: float
    notes: list[str]
    log: _Log
    shift0: np.ndarray | None = None
    norm_cache: dict = field(default_factory=dict)   # (grid start, E0) -> normalize notes


def _as_stack(stack) -> SpectrumStack:
    if isinstance(stack, SpectrumStack):
        return stack
    if isinstance(stack, (tuple, list)) and len(stack) in (2, 3):
        energy, mu = stack[0], stack[1]
        ref = stack[2] if len(stack) == 3 else None
        return SpectrumStack(axis=energy, signals=mu, references=ref)
    raise InputError("stack must be a SpectrumStack or a tuple (energy (M,), mu_stack (N, M)"
                     f"[, reference_stack (N, M)]), got {type(stack).__name__}")


def _labels(stack: SpectrumStack):
    """File, scan and name of each scan exactly as ``stack[i]`` would carry them."""
    if stack.scan_sources is not None:
        srcs = stack.scan_sources
        files = [src.path for src in srcs]
        scans = [src.scan for src in srcs]
        names = [f"{Path(src.path).name if src.path else 'spectrum'}:{src.scan}" if src.scan
                 else (Path(src.path).name if src.path else "spectrum") for src in srcs]
        return files, scans, names
    path = stack.source.path
    stem = Path(path).name if path else "spectrum"
    scans = [stack.label(i) for i in range(len(stack))]
    return [path] * len(scans), scans, [f"{stem}:{s}" for s in scans]


def _make_ctx(stack: SpectrumStack, opts: dict, norm_cache: dict | None = None) -> _Ctx:
    from naheo_spec.xas.e0 import E0_METHODS
    from naheo_spec.xas.xanes import resolve_options

    cal = opts["calibration"]
    e0_method, nopts, notes = resolve_options(cal, opts["e0_method"], {
        k: opts[k] for k in ("preset", "pre_range", "norm_range", "nnorm", "nvict")})
    if e0_method not in E0_METHODS:
        raise InputError(f"e0_method must be one of {E0_METHODS}, got {e0_method!r}")
    element = opts["element"] or stack.element or (cal.element if cal else None)
    edge = opts["edge"] or stack.edge or (cal.edge if cal else None) or "K"
    if cal is not None:
        if cal.element and element and cal.element != element:
            raise CalibrationError(f"valence calibration is for {cal.element} but the stack "
                                   f"is {element}")
        if not cal.has_line:
            raise CalibrationError("the valence calibration has no line: "
                                   + "; ".join(cal.warnings))
    if not opts["max_foil_offset_eV"] > 0:
        raise InputError(f"max_foil_offset_eV must be > 0 eV, got {opts['max_foil_offset_eV']!r}")
    tab = None
    if element is not None:
        from naheo_spec.xas.edges import tabulated_edge_energy

        tab = tabulated_edge_energy(element, edge)
    files, scans, names = _labels(stack)
    return _Ctx(stack=stack, names=names, files=files, scans=scans, element=element, edge=edge,
                tab=tab, e0_method=e0_method, nopts=nopts, calibration=cal, foil=opts["foil"],
                foil_e0_method=opts["foil_e0_method"], max_offset=float(opts["max_foil_offset_eV"]),
                include_scatter=opts["include_scatter"], span_margin=opts["span_margin"],
                notes=notes, log=_Log(names), norm_cache={} if norm_cache is None else norm_cache)


# --------------------------------------------------------------------------- foil
def _foil_step(ctx: _Ctx, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Foil shift (NaN = none) and foil E0 of every scan, with the per-scan messages of
    ``analyze_xanes``'s foil step."""
    n = len(ctx.names)
    shift, foil_e0 = np.full(n, np.nan), np.full(n, np.nan)
    log, names = ctx.log, ctx.names
    if ctx.foil is False:
        log.add(FOIL_DISABLED, rows, lambda i: f"{names[i]}: no foil calibration "
                "(foil=False): energies are as measured")
        return shift, foil_e0, "disabled"
    if ctx.element is None:
        log.add(FOIL_ELEMENT_UNKNOWN, rows, lambda i: f"{names[i]}: element unknown: energy not "
                "calibrated against a foil")
        return shift, foil_e0, "element unknown"
    if ctx.foil is not None:
        return _separate_foil(ctx, rows, shift, foil_e0)
    refs = ctx.stack.references
    if refs is None:
        log.add(FOIL_NONE, rows, lambda i: f"{names[i]}: no foil (no reference channel "
                "and no foil= scan): energy scale not calibrated")
        return shift, foil_e0, "none"
    _reference_rows(ctx, rows, refs, shift, foil_e0)
    return shift, foil_e0, "reference channel " + str(
        ctx.stack.source.columns.get("reference", ""))


def _separate_foil(ctx, rows, shift, foil_e0):
    from naheo_spec.xas.energy_calibration import calibrate_energy_from_foil

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualityWarning)   # recorded per scan below
        cal = calibrate_energy_from_foil(ctx.foil, element=ctx.element, edge=ctx.edge,
                                         e0_method=ctx.foil_e0_method,
                                         max_offset_eV=ctx.max_offset, strict=False)
    src = cal.provenance.source_file
    for m in cal.warnings:
        ctx.log.add_record(rows, lambda i, m=m: m if src else m.prefixed(ctx.names[i]))
    if cal.shift_eV is not None:
        shift[rows] = cal.shift_eV
    if cal.foil_e0_eV is not None:
        foil_e0[rows] = cal.foil_e0_eV
    return shift, foil_e0, ("separate foil scan " + (src or "")).strip()


def _reference_rows(ctx, rows, refs, shift, foil_e0) -> None:
    """Vectorized foil E0 on the reference rows; unusual rows go through calibrate_energy."""
    energy = ctx.stack.axis
    sub = refs if rows.size == refs.shape[0] else refs[rows]
    lo, hi = sub.min(axis=1), sub.max(axis=1)           # NaN for rows with a NaN
    full = np.isfinite(hi - lo)
    nfin = np.where(full, sub.shape[1], 0)
    nfin[~full] = np.isfinite(sub[~full]).sum(axis=1)
    few = rows[nfin < 10]
    ctx.log.add(FOIL_UNUSABLE, few, lambda i: f"{ctx.names[i]}: reference channel has "
                f"only {int(np.isfinite(refs[i]).sum())} finite points: energy not calibrated")
    flat = full & ~(hi - lo > 0)          # constant: calibrate_energy's own message below
    take = full & ~flat
    fast = rows[take]
    e0v = np.full(fast.size, np.nan)
    if fast.size:
        from naheo_spec.xas.e0 import find_e0_stack

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the foil's own E0 quirks: see the checks below
            e0v = find_e0_stack(energy, sub if take.all() else sub[take],
                                method=ctx.foil_e0_method, uncertainty=False)[0]
    slow = np.concatenate([rows[(nfin >= 10) & (~full | flat)], fast[~np.isfinite(e0v)]])
    for i in np.sort(slow):
        _calibrate_one(ctx, int(i), refs[i], shift, foil_e0)
    good = np.isfinite(e0v)
    fast, e0v = fast[good], e0v[good]
    foil_e0[fast] = e0v
    far = np.abs(e0v - ctx.tab) > ctx.max_offset
    _reject(ctx, fast[far], lambda i: (
        f"its {ctx.foil_e0_method} E0 is {foil_e0[i]:.2f} eV, {foil_e0[i] - ctx.tab:+.2f} eV "
        f"from the tabulated {ctx.element} {ctx.edge} edge {ctx.tab:.2f} eV (limit "
        f"±{ctx.max_offset:g} eV): not a {ctx.element} foil (e.g. a filter or another sample; a "
        "real foil on an uncalibrated beamline needs a larger max_offset_eV / --max-foil-offset)"),
        "offset")
    near, e0n = fast[~far], e0v[~far]
    rises = _rises(energy, refs, near, e0n)
    _reject(ctx, near[~rises], lambda i: (
        f"the channel does not rise at its E0 {foil_e0[i]:.2f} eV (inverted or not an "
        "absorption edge)"), "inverted")
    shift[near[rises]] = ctx.tab - e0n[rises]


def _rises(energy, refs, rows, e0) -> np.ndarray:
    """calibrate_energy's check: mean μ 10-40 eV above E0 > mean 10-40 eV below."""
    out = np.ones(rows.size, dtype=bool)
    for u in np.unique(e0):                 # the windows depend on E0 alone
        k = np.flatnonzero(e0 == u)
        below = (energy > u - 40.0) & (energy < u - 10.0)
        above = (energy > u + 10.0) & (energy < u + 40.0)
        if below.any() and above.any():
            block = refs[rows[k]]
            out[k] = block[:, above].mean(axis=1) > block[:, below].mean(axis=1)
    return out


def _reject(ctx, rows, problem, kind) -> None:
    def fmt(i):
        src = ctx.files[i]
        msg = f"reference channel rejected, energy NOT calibrated: {problem(i)}"
        return f"{src}: {msg}" if src else f"{ctx.names[i]}: {msg}"

    ctx.log.add(FOIL_REJECTED, rows, fmt)


def _calibrate_one(ctx, i, ref, shift, foil_e0) -> None:
    """One reference row through calibrate_energy (rows the vectorized path cannot judge)."""
    from naheo_spec.xas.energy_calibration import calibrate_energy

    ok = np.isfinite(ref)
    src = ctx.stack.row_source(i)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualityWarning)
        cal = calibrate_energy(ctx.stack.axis[ok], ref[ok], element=ctx.element, edge=ctx.edge,
                               e0_method=ctx.foil_e0_method, max_offset_eV=ctx.max_offset,
                               strict=False, source_file=src.path, source_sha256=src.sha256)
    for m in cal.warnings:
        ctx.log.add_record([i], lambda j, m=m: m if src.path else m.prefixed(ctx.names[j]))
    if cal.shift_eV is not None:
        shift[i] = cal.shift_eV
    if cal.foil_e0_eV is not None:
        foil_e0[i] = cal.foil_e0_eV


# --------------------------------------------------------------------------- checks
def _early_failures(ctx: _Ctx, mu: np.ndarray) -> None:
    """analyze_xanes' first check: constant or all-zero μ."""
    const = np.flatnonzero((mu.max(axis=1) - mu.min(axis=1)) == 0)
    ctx.log.fail(const, "ProcessingError", lambda i: (
        f"{ctx.names[i]}: mu is {'all zero' if not np.any(mu[i]) else 'constant'}: "
        "no absorption edge"))


def _range_failures(ctx: _Ctx, mu, shift0) -> None:
    """Tabulated edge outside the calibrated scan, then non-finite μ (normalize's check)."""
    energy, tab = ctx.stack.axis, ctx.tab
    rows = ctx.log.ok_rows()
    if tab is not None:
        lo, hi = energy[0] + shift0[rows], energy[-1] + shift0[rows]
        out = rows[~((lo < tab) & (tab < hi))]
        ctx.log.fail(out, "ProcessingError", lambda i: (
            f"{ctx.names[i]}: the tabulated {ctx.element} {ctx.edge} edge ({tab:.1f} eV) lies "
            f"outside the scanned energy range {energy[0] + shift0[i]:.1f}.."
            f"{energy[-1] + shift0[i]:.1f} eV: wrong element or the scan misses the edge"))
    rows = ctx.log.ok_rows(rows)
    bad = rows[~np.all(np.isfinite(mu[rows]), axis=1)] if rows.size else rows
    ctx.log.fail(bad, "ProcessingError",
                 lambda i: f"{ctx.names[i]}: mu contains NaN or inf")


# --------------------------------------------------------------------------- normalize
def _normalize(ctx: _Ctx, energy: np.ndarray, mu: np.ndarray, rows: np.ndarray):
    """normalize_stack of the scans ``rows`` on ``energy``; failed scans are marked.
    Returns (StackNormalization or None, μ of ``rows``)."""
    from naheo_spec.xas.normalize import normalize_stack

    sub = mu if rows.size == mu.shape[0] else mu[rows]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # re-issued per scan from _norm_warnings
            nz = normalize_stack(energy, sub, **ctx.nopts, flatten=False, on_invalid="nan")
    except ProcessingError:                # no row has an edge
        ctx.log.fail(rows, "ProcessingError", lambda i: f"{ctx.names[i]}: {_NO_EDGE}")
        return None, sub
    ctx.log.fail(rows[~nz.valid], "ProcessingError",
                 lambda i: f"{ctx.names[i]}: {_NO_EDGE}")
    return nz, sub


def _norm_warnings(ctx: _Ctx, energy, nz, sub: np.ndarray, rows: np.ndarray) -> None:
    """normalize()'s per-spectrum warnings: range notes from one normalize() call per
    distinct E0 (they depend on E0 and the grid only), edge-shape check per scan."""
    from naheo_spec.xas.normalize import normalize

    valid = np.flatnonzero(nz.valid)
    e0 = nz.e0_eV
    for u in np.unique(e0[valid]):
        local = valid[e0[valid] == u]
        key = (float(energy[0]), float(u))          # same grid and E0: same range notes
        if key not in ctx.norm_cache:
            with capture():
                try:
                    one = normalize(energy, sub[local[0]], e0=float(u), **ctx.nopts).warnings
                except NaheoError:
                    one = ()
            ctx.norm_cache[key] = [m for m in one if not m.is_(_SHAPE)]
        for m in ctx.norm_cache[key]:
            ctx.log.add_record(rows[local], lambda _i, m=m: m)
        shape = dict(zip(rows[local].tolist(), _shape_messages(energy, nz.norm[local], float(u))))
        ctx.log.add(_SHAPE, [i for i, m in shape.items() if m],
                    shape.__getitem__)


def _shape_messages(energy, norm, e0) -> list[str | None]:
    """normalize()'s edge-shape QualityWarning for each row of ``norm`` (None: no warning)."""
    pre, post = energy < e0 - 15.0, energy > e0 + 15.0
    p90 = np.percentile(np.abs(norm[:, pre]), 90, axis=1) if pre.sum() >= 3 else None
    p10 = np.percentile(norm[:, post], 10, axis=1) if post.sum() >= 3 else None
    p99 = np.percentile(norm, 99, axis=1)
    out = []
    for k in range(norm.shape[0]):
        problems = []
        if p90 is not None and p90[k] > 0.2:
            problems.append(f"|norm| reaches {p90[k]:.2f} below E0 - 15 eV")
        if p10 is not None and p10[k] < 0.3:
            problems.append(f"norm drops to {p10[k]:.2f} above E0 + 15 eV")
        if p99[k] > 3.0:
            problems.append(f"norm reaches {p99[k]:.2f}")
        out.append(_SHAPE_PREFIX + "; ".join(problems) + "): check E0 and the ranges, or "
                   "whether the edge lies outside the scan" if problems else None)
    return out


# --------------------------------------------------------------------------- E0
def _e0_step(ctx: _Ctx, energy, sub, nz, rows, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """E0 (plus ``offset``, eV) and its error for the rows of ``sub`` (NaN where not valid)."""
    if ctx.e0_method == "arctan":
        return _e0_arctan(ctx, sub, nz, rows)
    from naheo_spec.xas.e0 import find_e0_stack

    valid = np.flatnonzero(nz.valid)
    e0, err = np.full(rows.size, np.nan), np.full(rows.size, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if valid.size:
            part, nzv = _valid_part(sub, nz, valid)
            e0[valid], err[valid] = find_e0_stack(energy, part, method=ctx.e0_method,
                                                  normalization=nzv)
    e0c = e0 + offset
    if ctx.e0_method == "half-height":
        _half_height_checks(ctx, e0c, nz.e0_eV + offset, rows, valid)
    else:
        _bootstrap_warning(ctx, energy, e0, err, rows, valid)
    return e0c, err


def _valid_part(sub, nz, valid):
    """μ rows and StackNormalization restricted to the valid rows (find_e0_stack's
    half-height path fails on the NaN rows of invalid spectra)."""
    if valid.size == sub.shape[0]:
        return sub, nz
    from dataclasses import fields, replace

    n = sub.shape[0]
    cut = {f.name: getattr(nz, f.name)[valid] for f in fields(nz)
           if isinstance(getattr(nz, f.name), np.ndarray) and getattr(nz, f.name).ndim
           and getattr(nz, f.name).shape[0] == n and f.name != "energy"}
    return sub[valid], replace(nz, **cut)


def _half_height_checks(ctx, e0c, norm_e0c, rows, valid) -> None:
    missing = valid[~np.isfinite(e0c[valid])]
    ctx.log.fail(rows[missing], "ProcessingError", lambda i: (
        f"{ctx.names[i]}: normalized mu never rises through 0.5 below the edge top: no "
        "half-height crossing (check the normalization ranges)"))
    far = valid[np.abs(e0c[valid] - norm_e0c[valid]) > 20]
    pos = {int(rows[k]): int(k) for k in far}
    ctx.log.add(HALF_HEIGHT_FAR, rows[far], lambda i: (
        f"half-height energy {e0c[pos[i]]:.2f} eV lies {e0c[pos[i]] - norm_e0c[pos[i]]:+.1f} eV "
        "from the normalization E0: check the normalization"))


def _bootstrap_warning(ctx, energy, e0, err, rows, valid) -> None:
    """find_e0's warning when the bootstrap spread of a derivative E0 exceeds 1 eV.

    ``find_e0_stack`` returns ``hypot(spread, grid quantum)`` for max-derivative; the
    quantum (local step / sqrt(12), module docstring of naheo_spec.xas.e0) is removed.
    """
    q = np.zeros(rows.size)
    if ctx.e0_method == "max-derivative" and valid.size:
        i = np.clip(np.searchsorted(energy, e0[valid]), 1, energy.size - 2)
        i = np.where(np.abs(energy[i - 1] - e0[valid]) <= np.abs(energy[i] - e0[valid]), i - 1, i)
        i = np.clip(i, 1, energy.size - 2)
        q[valid] = 0.5 * (energy[i + 1] - energy[i - 1]) / np.sqrt(12.0)
    with np.errstate(invalid="ignore"):
        std = np.sqrt(np.maximum(err ** 2 - q ** 2, 0.0))
        hit = valid[np.isfinite(err[valid]) & (std[valid] > 1.0)]
    pos = {int(rows[k]): int(k) for k in hit}
    ctx.log.add(BOOTSTRAP_SPREAD, rows[hit], lambda i: (
        f"{ctx.e0_method} E0 moves by {std[pos[i]]:.2f} eV (1 sigma) under the data's own noise "
        "level: several derivative maxima compete (white line?); prefer method='half-height' "
        "for edge positions"))


def _e0_arctan(ctx, sub, nz, rows):
    """Arctan E0: one nonlinear fit per scan, on its calibrated grid (as analyze_xanes)."""
    from naheo_spec.xas.e0 import find_e0
    from naheo_spec.xas.normalize import normalize

    e0c, err = np.full(rows.size, np.nan), np.full(rows.size, np.nan)
    for k in np.flatnonzero(nz.valid):
        i = int(rows[k])
        e = ctx.stack.axis + ctx.shift0[i]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                one = normalize(e, sub[k], **ctx.nopts)
                est = find_e0(e, sub[k], method="arctan", normalization=one)
            except (ProcessingError, InputError) as exc:
                msg = f"{ctx.names[i]}: {exc}"
                ctx.log.fail([i], "ProcessingError", lambda _j, m=msg: m)
                continue
            except FitError as exc:
                msg = str(exc)
                ctx.log.fail([i], "FitError", lambda _j, m=msg: m)
                continue
        e0c[k], err[k] = est.e0_eV, est.e0_err_eV
        for m in est.warnings:
            ctx.log.add_record([i], lambda _j, m=m: m)
    return e0c, err


def _tabulated_failures(ctx: _Ctx, e0c: np.ndarray) -> None:
    from naheo_spec.xas.xanes import E0_TABULATED_TOLERANCE_EV as tol

    if ctx.tab is None:
        return
    rows = ctx.log.ok_rows()
    tab = ctx.tab
    far = rows[np.abs(e0c[rows] - tab) > tol]
    ctx.log.fail(far, "ProcessingError", lambda i: (
        f"{ctx.names[i]}: E0 {e0c[i]:.2f} eV is {e0c[i] - tab:+.1f} eV from the tabulated "
        f"{ctx.element} {ctx.edge} edge {tab:.1f} eV (limit ±{tol:g} eV): the edge in the scan "
        "is not this element's (wrong element?) or the energy scale is far off"))


# --------------------------------------------------------------------------- valence
def _valence(ctx: _Ctx, e0c, err, shift) -> tuple[np.ndarray, np.ndarray]:
    """``ValenceCalibration.predict`` on arrays, with analyze_xanes' per-scan messages."""
    n = e0c.size
    v_out, verr_out = np.full(n, np.nan), np.full(n, np.nan)
    cal = ctx.calibration
    if cal is None:
        return v_out, verr_out
    rows = ctx.log.ok_rows()
    bad = rows[~(np.isfinite(err[rows]) & (err[rows] >= 0))]
    ctx.log.fail(bad, "InputError", lambda i: (
        f"e0_err_eV must be a finite value >= 0 eV, got {float(err[i])!r}"))
    rows = ctx.log.ok_rows(rows)
    a, b = cal.intercept_eV, cal.slope_eV
    (vaa, vab), (_, vbb) = cal.covariance
    s2 = (cal.scatter_eV or 0.0) ** 2 if ctx.include_scatter else 0.0
    e, s = e0c[rows], err[rows]
    v = (e - a) / b
    var = (s ** 2 + s2 + vaa + v * v * vbb + 2.0 * v * vab) / (b * b)
    v_out[rows], verr_out[rows] = v, np.sqrt(np.maximum(var, 0.0))
    lo, hi = cal.valence_span
    m = ctx.span_margin
    out = rows[(v < lo - m) | (v > hi + m)]
    ctx.log.add(OUT_OF_SPAN, out, lambda i: (
        f"{ctx.names[i]}: oxidation state {v_out[i]:.2f} (E0 {e0c[i]:.2f} eV) is outside the "
        f"standards' span {lo:g}..{hi:g} by more than {m:g}: extrapolated"))
    if cal.dof == 0:
        ctx.log.add(NO_DOF, rows, lambda i: (
            f"{ctx.names[i]}: the valence calibration has no residual degrees of freedom "
            f"({len(cal.points)} standards): the oxidation-state error ignores how far real "
            "compounds scatter about the line"), emit=False)
    raw = rows[~np.isfinite(shift[rows])]
    ctx.log.add(UNCALIBRATED_ENERGY, raw, lambda i: (
        f"{ctx.names[i]}: oxidation state from an energy scale not calibrated against a "
        f"foil: a monochromator offset of 1 eV moves it by about {1.0 / cal.slope_eV:.2f}"))
    return v_out, verr_out


# --------------------------------------------------------------------------- driver
#: Above this many distinct foil shifts (and 1/16 of the scans) the shifts are applied to
#: E0 instead of processing each shifted grid: see _shift_groups.
MAX_SHIFT_GROUPS = 64


def _shift_groups(shift0: np.ndarray, rows: np.ndarray) -> tuple[list, bool]:
    """Scans grouped by foil shift: [(shift, rows)], and whether E0 is translated instead.

    A foil shift translates the energy axis, but larch's max-derivative E0 is not exactly
    translation invariant (its smoothing width grows with E/25000 eV), so each group is
    processed on its own shifted grid ``energy + shift``: exactly what analyze_xanes does
    scan by scan. Max-derivative foil E0s are grid energies, so a series has a handful of
    distinct shifts. With more than :data:`MAX_SHIFT_GROUPS` (a non-grid foil E0 method)
    the grid is left as measured and the shift added to E0, which agrees with
    analyze_xanes unless the normalization E0 moves by a grid point.
    """
    uniq, inv = np.unique(shift0[rows], return_inverse=True)
    inv = inv.reshape(-1)
    if uniq.size > max(MAX_SHIFT_GROUPS, rows.size // 16):
        return [(0.0, rows)], True
    return [(float(u), rows[inv == k]) for k, u in enumerate(uniq)], False


def _process(ctx: _Ctx, rows, keep_norm, arrays) -> bool:
    """Normalization and E0 of the scans ``rows``, group by group; fills ``arrays``."""
    mu, energy = ctx.stack.signals, ctx.stack.axis
    groups, translate = _shift_groups(ctx.shift0, rows)
    for s, grows in groups:
        grid = energy if translate else energy + s
        nz, sub = _normalize(ctx, grid, mu, grows)
        if nz is None:
            continue
        _norm_warnings(ctx, grid, nz, sub, grows)
        offset = ctx.shift0[grows] if translate else 0.0
        arrays["e0"][grows], arrays["err"][grows] = _e0_step(ctx, grid, sub, nz, grows, offset)
        arrays["step"][grows] = nz.edge_step
        arrays["pre"][grows], arrays["norm"][grows] = nz.pre_range_eV, nz.norm_range_eV
        arrays["nnorm"][grows] = nz.nnorm
        if keep_norm:
            arrays["spectra"][grows] = nz.norm
    return translate


def _run(ctx: _Ctx, keep_norm: bool) -> XanesStackResult:
    """The whole pipeline on one stack; warnings are logged, not emitted."""
    mu, n, log = ctx.stack.signals, len(ctx.names), ctx.log
    rw = ctx.stack.row_warnings             # the input rows' own warnings (reader repairs)
    for k in range(len(rw)):
        log.builder.add(rw.codes[rw.code_index[k]], [rw.rows[k]], rw.messages[rw.message_index[k]])
    for note in ctx.notes:
        log.add_record(range(n), lambda i, t=note: t.prefixed(ctx.names[i]))
    _early_failures(ctx, mu)
    shift, _foil_e0, foil_desc = _foil_step(ctx, log.ok_rows())
    ctx.shift0 = np.nan_to_num(shift, nan=0.0)
    _range_failures(ctx, mu, ctx.shift0)
    arrays = {k: np.full(n, np.nan) for k in ("e0", "err", "step")}
    arrays.update(pre=np.full((n, 2), np.nan), norm=np.full((n, 2), np.nan),
                  nnorm=np.full(n, -1, dtype=int),
                  spectra=np.full(mu.shape, np.nan) if keep_norm else None)
    rows = log.ok_rows()
    translate = _process(ctx, rows, keep_norm, arrays) if rows.size else False
    _tabulated_failures(ctx, arrays["e0"])
    ox, ox_err = _valence(ctx, arrays["e0"], arrays["err"], shift)
    failed = np.array([e is not None for e in log.errors], dtype=bool)
    for key in ("e0", "err", "step", "pre", "norm", "spectra"):
        if arrays[key] is not None:
            arrays[key][failed] = np.nan
    for arr in (ox, ox_err, shift):
        arr[failed] = np.nan
    arrays["nnorm"][failed] = -1
    return XanesStackResult(
        energy=ctx.stack.axis, e0_eV=arrays["e0"], e0_err_eV=arrays["err"],
        edge_step=arrays["step"], foil_shift_eV=shift, oxidation_state=ox,
        oxidation_state_err=ox_err, pre_range_eV=arrays["pre"], norm_range_eV=arrays["norm"],
        nnorm=arrays["nnorm"], files=tuple(ctx.files), scans=tuple(ctx.scans),
        element=ctx.element, edge=ctx.edge, e0_method=ctx.e0_method,
        row_warnings=log.build(), errors=tuple(log.errors), warnings=(),
        provenance=_provenance(ctx, foil_desc, shift, n, translate),
        norm=arrays["spectra"])


def _provenance(ctx: _Ctx, foil_desc: str, shift, n: int, translate: bool) -> Provenance:
    from naheo_spec.xas.xanes import calibration_summary

    cal, src = ctx.calibration, ctx.stack.source
    synthetic = src.format == "synthetic" or bool(ctx.stack.metadata.get("synthetic")) or any(
        bool(m.get("synthetic")) for m in (ctx.stack.scan_metadata or ()))
    params = {"e0_method": ctx.e0_method, **ctx.nopts, "element": ctx.element, "edge": ctx.edge,
              "foil": foil_desc, "foil_e0_method": ctx.foil_e0_method,
              "max_foil_offset_eV": ctx.max_offset, "n_scans": n,
              "pre_range_eV": "per scan: XanesStackResult.pre_range_eV",
              "norm_range_eV": "per scan: XanesStackResult.norm_range_eV",
              "nnorm_used": "per scan: XanesStackResult.nnorm",
              "energy_calibration": (
                  "foil shift added to E0 (grid as measured)" if translate else
                  "each scan processed on its grid shifted by its foil_shift_eV"),
              "foil_calibration": foil_summary(ctx.tab, shift),
              "valence_calibration": None if cal is None else calibration_summary(cal),
              "include_scatter": ctx.include_scatter, "span_margin": ctx.span_margin,
              "synthetic": synthetic}
    return Provenance(step="xas.xanes_stack", parameters=params, source_file=src.path,
                      source_sha256=src.sha256)


def foil_summary(tab, shift) -> dict[str, Any]:
    ok = np.isfinite(shift)
    return {"tabulated_e0_eV": tab, "n_shifted": int(ok.sum()), "n_not_shifted": int((~ok).sum()),
            "shift_eV_median": float(np.median(shift[ok])) if ok.any() else None,
            "shift_eV_range": [float(shift[ok].min()), float(shift[ok].max())] if ok.any()
            else None}


#: Options of :func:`analyze_xanes_stack` (besides the stack) and their defaults.
STACK_OPTIONS = {"e0_method": None, "foil": None, "calibration": None, "element": None,
                 "edge": None, "preset": None, "pre_range": None, "norm_range": None,
                 "nnorm": None, "nvict": None, "foil_e0_method": "max-derivative",
                 "max_foil_offset_eV": 5.0, "include_scatter": True, "span_margin": None}


def stack_options(**given) -> dict:
    """:data:`STACK_OPTIONS` updated with ``given`` (None values keep the default), with the
    span margin resolved.

    Raises
    ------
    InputError
        An option analyze_xanes_stack does not take.
    """
    from naheo_spec.xas.valence import DEFAULT_SPAN_MARGIN

    unknown = set(given) - set(STACK_OPTIONS)
    if unknown:
        raise InputError(f"unknown options for analyze_xanes_stack: {sorted(unknown)}")
    opts = dict(STACK_OPTIONS)
    opts.update({k: v for k, v in given.items() if v is not None or k == "foil"})
    if opts["span_margin"] is None:
        opts["span_margin"] = DEFAULT_SPAN_MARGIN
    return opts


def analyze_block(stack: SpectrumStack, options: dict, norm_cache: dict | None = None, *,
                  keep_norm: bool = False) -> tuple[XanesStackResult, set[str]]:
    """The stack pipeline on one block of scans, nothing emitted.

    For out-of-core processing: blocks of one stack share ``norm_cache`` and their results
    are joined with :meth:`XanesStackResult.concatenate`. Returns the block's result and
    the codes that are recorded but not emitted.
    """
    ctx = _make_ctx(stack, options, norm_cache)
    return _run(ctx, keep_norm), set(ctx.log.silent)


def summarize(res: XanesStackResult, silent: set[str], extra=()) -> XanesStackResult:
    """Emit one warning per code of ``res.row_warnings`` and store the summary (plus
    ``extra`` records first) as ``res.warnings``."""
    summary = _summary(res.row_warnings, silent)
    _emit(summary, stacklevel=4)
    return _with_warnings(res, tuple(extra) + tuple(r for r, _ in summary))


def analyze_xanes_stack(stack, *, e0_method: str | None = None, foil=None, calibration=None,
                        element: str | None = None, edge: str | None = None,
                        preset: str | None = None, pre_range=None, norm_range=None,
                        nnorm: int | None = None, nvict: int | None = None,
                        foil_e0_method: str = "max-derivative", max_foil_offset_eV: float = 5.0,
                        include_scatter: bool = True, span_margin: float | None = None,
                        keep_norm: bool = True) -> XanesStackResult:
    """Foil calibration, normalization, E0 and oxidation state of N scans at once.

    Parameters
    ----------
    stack : SpectrumStack or tuple
        The scans on one energy grid, or ``(energy (M,), mu_stack (N, M)[, ref_stack
        (N, M)])`` (eV; ``ref_stack`` = simultaneous foil μ of each scan). Build one from
        spectra on different grids with ``SpectrumStack.from_spectra``.
    e0_method : str, optional
        One of :data:`naheo_spec.xas.e0.E0_METHODS`. Default None: the calibration's method,
        else ``"half-height"`` (as :func:`~naheo_spec.xas.xanes.analyze_xanes`).
        ``"arctan"`` fits each scan in turn (not vectorized).
    foil : Spectrum or str or Path or False, optional
        One separate foil scan for every scan. Default None: each scan's reference row.
        False: no foil calibration.
    calibration : ValenceCalibration, optional
        Line for the oxidation state. Default None: no oxidation state.
    element, edge : str, optional
        Default None: the stack's, else the calibration's; edge falls back to ``"K"``.
    preset, pre_range, norm_range, nnorm, nvict
        Normalization options (:func:`~naheo_spec.xas.normalize.normalize`). Default None:
        the calibration's, else the normalize defaults (preset ``"larch"``, nvict 0).
    foil_e0_method : str
        E0 definition on the foils. Default is ``"max-derivative"``.
    max_foil_offset_eV : float
        A reference row whose E0 lies further than this from the tabulated edge is not
        used for its scan (warning). Default is 5.0 eV.
    include_scatter : bool
        Add the standards' scatter to the oxidation-state error (prediction interval).
        Default is True (as ``ValenceCalibration.predict``).
    span_margin : float, optional
        Warn when a valence lies further than this outside the standards' span. Default
        None: :data:`naheo_spec.xas.valence.DEFAULT_SPAN_MARGIN` (0.1).
    keep_norm : bool
        Keep the normalized spectra (an (N, M) array) in the result. Default is True.

    Returns
    -------
    XanesStackResult
        Failed scans have NaN numbers and an ``errors`` entry (the per-scan message of
        ``analyze_xanes``, except for scans ``normalize_stack`` cannot normalize: one
        generic reason listing its checks); the others equal ``analyze_xanes(stack[i])``.

    Raises
    ------
    InputError
        Bad stack or options (shapes, unknown method or preset, ``max_foil_offset_eV <= 0``).
    CalibrationError
        E0 method or element inconsistent with ``calibration``, or a calibration without
        a line.

    Warns
    -----
    QualityWarning, DefaultAdjustedWarning
        One per kind of per-scan message, with the number of scans concerned.

    References
    ----------
    B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
    doi:10.1107/S0909049505012719 (foil checks); G. Bunker, *Introduction to XAFS*, CUP
    (2010), sec. 5.2 (half-height E0).

    Examples
    --------
    See the module docstring.
    """
    stack = _as_stack(stack)
    res, silent = analyze_block(stack, stack_options(
        e0_method=e0_method, foil=foil, calibration=calibration, element=element, edge=edge,
        preset=preset, pre_range=pre_range, norm_range=norm_range, nnorm=nnorm, nvict=nvict,
        foil_e0_method=foil_e0_method, max_foil_offset_eV=max_foil_offset_eV,
        include_scatter=include_scatter, span_margin=span_margin), keep_norm=keep_norm)
    return summarize(res, silent, extra=stack.warnings)


def _with_warnings(res: XanesStackResult, msgs: tuple[WarningRecord, ...]) -> XanesStackResult:
    from dataclasses import replace

    return replace(res, warnings=msgs)
