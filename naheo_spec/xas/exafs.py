"""The EXAFS pipeline (no fitting): normalise -> AUTOBK -> chi(k) -> chi(R) -> shell peaks.

:func:`analyze_exafs` runs one spectrum and :func:`analyze_exafs_stack` a series on one
energy grid. Both are the same code: the rows of a stack go through one vectorized
implementation (:func:`_exafs_rows`), and a single spectrum is a stack of one row, so
every rule and every message exists once. :func:`analyze_exafs_series` loops over
spectra on different grids and keeps going past a bad scan, returning an
:class:`ExafsFailure` for it.

Rules applied to every row
--------------------------
* near-duplicate energies are merged (:func:`~naheo_spec.xas.autobk.merge_close_points`);
* fluorescence data of a concentrated absorber are corrected for self-absorption when
  the composition is known (:mod:`naheo_spec.xas.self_absorption`), and flagged when not;
* a metal foil (E0 within -8..+3 eV of the tabulated edge and no white line) gets the
  metal peak windows, with a coded note, unless windows are given;
* the k range stops before the next absorption edge of the sample (from the
  composition) or before a step found in mu(E) (:mod:`naheo_spec.xas.edge_limits`):
  both the AUTOBK spline and the Fourier window end there, with a coded warning
  saying where and why.

Peak positions are *apparent* (not phase corrected): 0.3-0.5 A shorter than the
bond lengths. The shell fit (:mod:`naheo_spec.xas.shellfit`) fills
``ExafsResult.shell_fit`` when it is run.

Defaults and their sources
--------------------------
* normalisation: :func:`naheo_spec.xas.normalize.normalize` with the same ``preset``;
  E0 is the maximum of dmu/dE (larch ``find_e0``), the k = 0 origin AUTOBK and larch
  use. (``naheo-spec xanes`` reports the half-height E0 by default, for valence: the two
  differ by several eV on white-line oxides; both commands say which one they print.)
* background: :func:`naheo_spec.xas.autobk.autobk`, rbkg 1 A, kweight from the preset
  (larch 1, athena 2) unless ``bkg_kweight`` is given.
* transform: k 3 to ``min(kmax_data - 1, 12)`` A^-1 (and below any edge limit),
  kweight 2, hanning, dk 1 A^-1 (the transform settings of the reference peak table in
  the project XAS notes, which also used a background kweight of 2: pass
  ``bkg_kweight=2`` or ``preset="athena"`` to reproduce that table; Athena's own FT
  default kmax is ``kmax_data - 2``).

References
----------
M. Newville, "Larch: an analysis package for XAFS and related spectroscopies",
J. Phys.: Conf. Ser. 430, 012007 (2013), doi:10.1088/1742-6596/430/1/012007;
M. Newville, J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964 (AUTOBK);
B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
doi:10.1107/S0909049505012719.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

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
    DefaultAdjustedWarning,
    InputError,
    NaheoError,
    ProcessingError,
    QualityWarning,
)
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.model import Spectrum, SpectrumStack
from naheo_spec.provenance import Provenance
from naheo_spec.records import (
    DataArray,
    DataGroup,
    Record,
    nexus_name,
    nexus_sample_instrument,
)
from naheo_spec.store.table import RecordTable
from naheo_spec.xas.autobk import KTOE, autobk_stack, merge_close_points
from naheo_spec.xas.edge_limits import (
    MU_STEP,
    NEXT_EDGE,
    EdgeLimit,
    composition_limit,
    find_mu_steps,
    step_limit,
)
from naheo_spec.xas.foil_detection import FOIL_E0_WINDOW_EV, metal_foil_rows
from naheo_spec.xas.fourier import inv_angstrom, xftf
from naheo_spec.xas.ft_peaks import FTPeak, resolve_windows, shell_peaks_stack

#: Default upper FT limit, A^-1: kmax = min(kmax_data - KMAX_MARGIN, KMAX_CAP).
KMAX_CAP = 12.0
KMAX_MARGIN = 1.0
#: The FT range must span at least this (A^-1), or there is no EXAFS to transform.
MIN_FT_RANGE = 1.0

KMAX_CLIPPED = WarningCode("xas.exafs.kmax_clipped", DefaultAdjustedWarning,
                           "The requested FT kmax lies beyond the data and was clipped.")
METAL_FOIL = WarningCode("xas.exafs.metal_foil", DefaultAdjustedWarning,
                         "The scan looks like a metal foil (E0 at the tabulated edge, no white "
                         "line): FT peaks were searched in the metal window.")
SCAN_FAILED = WarningCode("xas.exafs.scan_failed", QualityWarning,
                          "A scan of a stack could not be analysed; it is masked (NaN) and the "
                          "others are computed.")
COMPOSITION_UNREADABLE = WarningCode(
    "xas.exafs.composition_unreadable", DefaultAdjustedWarning,
    "The file's sample formula is not a chemical formula; no next-edge check from the "
    "composition (give it explicitly).")

E0_METHOD_NOTE = ("E0 is the maximum of dmu/dE (larch find_e0), the k = 0 origin of AUTOBK; "
                  "'naheo-spec xanes' reports the half-height E0 by default")


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ExafsResult(ResultDisplay):
    """chi(k), chi(R) and shell peaks of one spectrum.

    Attributes
    ----------
    file, scan, element : str or None
        Source file, scan/group name and absorbing element.
    e0_eV, edge_step : float
        E0 (eV) and edge step used for chi(k).
    kmax_data_invA : float
        k of the last data point, A^-1.
    k_invA : ndarray of shape (K,)
        Uniform k grid, A^-1.
    chi : ndarray of shape (K,)
        Unweighted chi(k).
    kweight : int
        k-weight of the transform.
    kwin : ndarray of shape (K,)
        FT window on ``k_invA``.
    ft_kmin_invA, ft_kmax_invA : float
        FT range used, A^-1.
    r_A : ndarray of shape (R,)
        Apparent distance (not phase corrected), A.
    chir : ndarray of shape (R,), complex
        chi(R), A^-(kweight+1).
    ft_peaks : tuple of FTPeak
        TM-O / TM-TM peaks (apparent R).
    energy_eV, bkg : ndarray of shape (M,)
        Energy grid and AUTOBK background mu0(E).
    provenance : Provenance
        Step ``"xas.exafs"`` with the normalisation, background and FT parameters.
    shell_fit : ShellFitResult or None
        Filled by the shell fit (``with_shell_fit``); None by default.
    warnings : tuple of WarningRecord
        Every adjustment and quality warning from all steps.
    metadata : dict
        The spectrum's metadata (header fields, ``state_of_charge``, ``synthetic``...), for
        plots and tables.
    e0_method : str
        How E0 was found: ``"max-derivative"`` (default) or ``"given"``.
    peak_windows : str
        ``"oxide"``, ``"metal"`` (chosen for a recognised foil or asked for) or ``"custom"``.
    k_limit : EdgeLimit or None
        The edge (from the composition) or step (from the data) that stops the k range.
    self_absorption : dict or None
        ``alpha`` and ``amplitude_factor`` of the self-absorption correction, when applied.
    """

    file: str | None
    scan: str | None
    element: str | None
    e0_eV: float
    edge_step: float
    kmax_data_invA: float
    k_invA: np.ndarray
    chi: np.ndarray
    kweight: int
    kwin: np.ndarray
    ft_kmin_invA: float
    ft_kmax_invA: float
    r_A: np.ndarray
    chir: np.ndarray
    ft_peaks: tuple[FTPeak, ...]
    energy_eV: np.ndarray
    bkg: np.ndarray
    provenance: Provenance
    shell_fit: Any = None
    warnings: tuple[WarningRecord, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    e0_method: str = "max-derivative"
    peak_windows: str = "oxide"
    k_limit: EdgeLimit | None = None
    self_absorption: dict[str, float] | None = None

    @property
    def chir_mag(self) -> np.ndarray:
        return np.abs(self.chir)

    @property
    def chir_re(self) -> np.ndarray:
        return self.chir.real

    @property
    def chir_im(self) -> np.ndarray:
        return self.chir.imag

    @property
    def chi_weighted(self) -> np.ndarray:
        """chi(k) k^kweight."""
        return self.chi * self.k_invA ** self.kweight

    def peak(self, label: str) -> FTPeak:
        """The FT peak with this label (KeyError if absent)."""
        for p in self.ft_peaks:
            if p.label == label:
                return p
        raise KeyError(f"no FT peak labelled {label!r}; have {[p.label for p in self.ft_peaks]}")

    def with_shell_fit(self, shell_fit) -> "ExafsResult":
        """Copy with ``shell_fit`` set (its warnings appended to ``warnings``)."""
        extra = tuple(getattr(shell_fit, "warnings", ()) or ())
        return replace(self, shell_fit=shell_fit, warnings=self.warnings + extra)

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe summary: file, element, e0_eV, kmax_data, ft_peaks, shell_fit, warnings,
        then e0_method, ft_k_range, k_limit, self_absorption, peak_windows (NaN as null)."""
        fit = None if self.shell_fit is None else self.shell_fit.to_json_dict()
        return {"file": self.file, "element": self.element, "e0_eV": _num(self.e0_eV),
                "kmax_data": _num(self.kmax_data_invA),
                "ft_peaks": [p.to_json_dict() for p in self.ft_peaks],
                "shell_fit": fit, "warnings": warnings_json(self.warnings),
                "e0_method": self.e0_method,
                "ft_k_range": [_num(self.ft_kmin_invA), _num(self.ft_kmax_invA)],
                "k_limit": _limit_json(self.k_limit),
                "self_absorption": self.self_absorption,
                "peak_windows": self.peak_windows}

    def default_name(self) -> str:
        stem = Path(self.file).stem if self.file else "spectrum"
        return f"{stem}_{self.scan}_exafs" if self.scan else f"{stem}_exafs"

    def to_record(self, name: str | None = None) -> Record:
        """Record of kind ``"exafs"``: k, chi k^w, r, |chi(R)|, Re, Im (signal ``chir_mag``)."""
        w = self.kweight
        unit_r = inv_angstrom(w + 1)
        data = {"r": DataArray(self.r_A, "angstrom", "apparent distance (not phase corrected)"),
                "chir_mag": DataArray(self.chir_mag, unit_r, "|chi(R)|"),
                "chir_re": DataArray(self.chir_re, unit_r, "Re chi(R)"),
                "chir_im": DataArray(self.chir_im, unit_r, "Im chi(R)")}
        chi_k = DataGroup({"k": DataArray(self.k_invA, "1/angstrom", "photo-electron wavenumber"),
                           "chi_kw": DataArray(self.chi_weighted, inv_angstrom(w),
                                               f"chi(k) k^{w}"),
                           "window": DataArray(self.kwin, "", "FT window")},
                          signal="chi_kw", axes=["k"], title="chi(k) weighted, with FT window")
        sample, instrument = nexus_sample_instrument(self.metadata)
        return Record(name=name or self.default_name(), kind="exafs", summary=self._summary(),
                      provenance=self.provenance, data=data, signal="chir_mag", axes=["r"],
                      groups={"chi_k": chi_k}, sample=sample, instrument=instrument)

    def _summary(self) -> dict[str, Any]:
        summary = {"file": self.file, "scan": self.scan, "element": self.element,
                   "e0_eV": _num(self.e0_eV), "e0_method": self.e0_method,
                   "edge_step": _num(self.edge_step),
                   "kmax_data_invA": _num(self.kmax_data_invA),
                   "ft_kmin_invA": self.ft_kmin_invA, "ft_kmax_invA": self.ft_kmax_invA,
                   "kweight": self.kweight, "peak_windows": self.peak_windows}
        if self.k_limit is not None:
            summary.update(_flatten("k_limit", _limit_json(self.k_limit)))
        if self.self_absorption is not None:
            summary.update(_flatten("self_absorption", self.self_absorption))
        for p in self.ft_peaks:
            summary[f"r_apparent_{p.label}_A"] = _num(p.r_apparent_A)
            summary[f"chir_mag_{p.label}"] = _num(p.magnitude)
        if self.shell_fit is not None:
            summary.update(_flatten("fit", self.shell_fit.to_json_dict()))
        summary["warnings"] = warnings_json(self.warnings)
        return summary

    @property
    def name(self) -> str:
        stem = Path(self.file).name if self.file else "spectrum"
        return f"{stem}:{self.scan}" if self.scan else stem

    def display_items(self):
        yield (f"E0 ({self.e0_method})", self.e0_eV, None, "eV")
        yield ("data to k", self.kmax_data_invA, None, "1/angstrom")
        yield ("FT k range", f"{self.ft_kmin_invA:.2f}-{self.ft_kmax_invA:.2f}", None,
               "1/angstrom")
        for p in self.ft_peaks:
            yield (f"{p.label} apparent peak", p.r_apparent_A, None, "angstrom")
        if self.shell_fit is not None:
            for p in self.shell_fit.paths:
                yield (f"{p.label} R", p.r_A, p.r_err_A, "angstrom")

    def display_figure(self):
        """|chi(R)| (and the shell fit when there is one)."""
        from naheo_spec.plot.exafs import plot_chir, plot_shell_fit

        return plot_shell_fit(self) if self.shell_fit is not None else plot_chir(self)


def _limit_json(limit: EdgeLimit | None) -> dict[str, Any] | None:
    if limit is None:
        return None
    return {"element": limit.element, "edge": limit.edge, "energy_eV": _num(limit.energy_eV),
            "k_edge_invA": _num(limit.k_edge_invA), "kmax_invA": _num(limit.kmax_invA),
            "relative_step": _num(limit.relative_step), "source": limit.source,
            "candidates": list(limit.candidates)}


def _flatten(prefix: str, value) -> dict[str, Any]:
    """Scalars of a nested JSON dict as ``prefix.key.subkey`` entries."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, val in value.items():
            out.update(_flatten(f"{prefix}.{key}", val))
    elif isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float, str, bool, type(None))) for v in value):
            out[prefix] = list(value)
        else:
            for i, val in enumerate(value):
                label = val.get("label", i) if isinstance(val, dict) else i
                out.update(_flatten(f"{prefix}.{label}", val))
    elif isinstance(value, (int, float, str, bool, type(None))):
        out[prefix] = value
    return out


@dataclass(frozen=True, repr=False)
class ExafsFailure(ResultDisplay):
    """A spectrum of a series that could not be analysed.

    Attributes
    ----------
    file, scan : str or None
        Which spectrum.
    error : str
        The error message.
    error_type : str
        The exception class name (e.g. ``"ProcessingError"``).
    """

    file: str | None
    scan: str | None
    error: str
    error_type: str

    def to_json_dict(self) -> dict[str, Any]:
        return {"file": self.file, "scan": self.scan, "error": self.error,
                "error_type": self.error_type}

    def display_title(self) -> str:
        return f"{Path(self.file).name if self.file else 'spectrum'}:{self.scan}"

    def display_items(self):
        yield ("error", self.error, None, "")


@dataclass(frozen=True, repr=False)
class ExafsStackResult(ResultDisplay, RecordTable):
    """chi(k), chi(R) and peaks of N spectra on one energy grid.

    Attributes
    ----------
    file, element : str or None
        Source file of the stack and absorber.
    scans : tuple of str
        Scan names (length N).
    e0_eV, edge_step, kmax_data_invA : ndarray of shape (N,)
        Per-scan values (NaN for failed scans).
    valid : ndarray of bool, shape (N,)
        False for scans that failed (rows of NaN; message in ``failures``).
    failures : dict of int to str
        Error message per failed scan index.
    k_invA : ndarray of shape (K,)
    chi : ndarray of shape (N, K)
    kweight : int
    kwin : ndarray of shape (K,)
    ft_kmin_invA, ft_kmax_invA : float
        Common FT range (kmax None -> min over valid scans of the per-scan default:
        ``min(kmax_data - 1, 12)`` and below any edge limit).
    r_A : ndarray of shape (R,)
    chir : ndarray of shape (N, R), complex
    ft_peaks : tuple of tuple of FTPeak
        Peaks per scan.
    energy_eV : ndarray of shape (M,)
    bkg : ndarray of shape (N, M)
    provenance : Provenance
    warnings : tuple of WarningRecord
        Global records and one summary record per code of ``row_warnings``.
    row_warnings : StackWarnings or None
        Per-scan coded warnings (failures, foils, edge limits, background notes).
    e0_method : str
    k_limit_invA : ndarray of shape (N,) or None
        Per-scan upper k limit from the next edge or a step (NaN: none).
    peak_windows : tuple of str
        Window preset per scan.
    """

    file: str | None
    element: str | None
    scans: tuple[str, ...]
    e0_eV: np.ndarray
    edge_step: np.ndarray
    kmax_data_invA: np.ndarray
    valid: np.ndarray
    failures: dict[int, str]
    k_invA: np.ndarray
    chi: np.ndarray
    kweight: int
    kwin: np.ndarray
    ft_kmin_invA: float
    ft_kmax_invA: float
    r_A: np.ndarray
    chir: np.ndarray
    ft_peaks: tuple[tuple[FTPeak, ...], ...]
    energy_eV: np.ndarray
    bkg: np.ndarray
    provenance: Provenance
    warnings: tuple[WarningRecord, ...] = ()
    row_warnings: StackWarnings | None = None
    e0_method: str = "max-derivative"
    k_limit_invA: np.ndarray | None = None
    peak_windows: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.chi.shape[0])

    @property
    def chir_mag(self) -> np.ndarray:
        return np.abs(self.chir)

    def peak_positions(self, label: str) -> np.ndarray:
        """Apparent R of the peak ``label`` per scan, A (NaN where missing)."""
        return np.array([next((p.r_apparent_A for p in row if p.label == label), np.nan)
                         for row in self.ft_peaks])

    def result(self, i: int) -> ExafsResult | ExafsFailure:
        """Scan ``i`` as an :class:`ExafsResult` (or :class:`ExafsFailure`)."""
        if not self.valid[i]:
            return ExafsFailure(self.file, self.scans[i], self.failures.get(i, "failed"),
                                "ProcessingError")
        recs = self.row_warnings.for_row(i) if self.row_warnings is not None else ()
        return ExafsResult(
            file=self.file, scan=self.scans[i], element=self.element,
            e0_eV=float(self.e0_eV[i]), edge_step=float(self.edge_step[i]),
            kmax_data_invA=float(self.kmax_data_invA[i]), k_invA=self.k_invA, chi=self.chi[i],
            kweight=self.kweight, kwin=self.kwin, ft_kmin_invA=self.ft_kmin_invA,
            ft_kmax_invA=self.ft_kmax_invA, r_A=self.r_A, chir=self.chir[i],
            ft_peaks=self.ft_peaks[i], energy_eV=self.energy_eV, bkg=self.bkg[i],
            provenance=self.provenance, warnings=tuple(recs), e0_method=self.e0_method,
            peak_windows=self.peak_windows[i] if self.peak_windows else "oxide")

    def to_record(self, name: str | None = None) -> Record:
        """Record of kind ``"exafs_stack"``: chi k^w (N, K) and |chi(R)| (N, R)."""
        w = self.kweight
        unit_r = inv_angstrom(w + 1)
        scan = DataArray(np.arange(len(self)), "", "scan index")
        data = {"scan": scan,
                "r": DataArray(self.r_A, "angstrom", "apparent distance (not phase corrected)"),
                "chir_mag": DataArray(self.chir_mag, unit_r, "|chi(R)|"),
                "chir_re": DataArray(self.chir.real, unit_r, "Re chi(R)"),
                "chir_im": DataArray(self.chir.imag, unit_r, "Im chi(R)")}
        chi_k = DataGroup({"scan": scan,
                           "k": DataArray(self.k_invA, "1/angstrom", "photo-electron wavenumber"),
                           "chi_kw": DataArray(self.chi * self.k_invA ** w, inv_angstrom(w),
                                               f"chi(k) k^{w}")},
                          signal="chi_kw", axes=["scan", "k"], title="chi(k) weighted")
        per_scan = {"scan": scan, "e0": DataArray(self.e0_eV, "eV", "E0")}
        if self.k_limit_invA is not None:
            per_scan["k_limit"] = DataArray(self.k_limit_invA, "1/angstrom",
                                            "upper k limit (next edge or step)")
        labels = list(dict.fromkeys(p.label for row in self.ft_peaks for p in row))
        for label in labels:
            per_scan[nexus_name(f"r_apparent_{label}")] = DataArray(
                self.peak_positions(label), "angstrom", f"{label} apparent peak position")
        scans = DataGroup(per_scan, signal="e0", axes=["scan"], title="per-scan numbers")
        summary = {"file": self.file, "element": self.element, "n_spectra": len(self),
                   "n_valid": int(self.valid.sum()), "ft_kmin_invA": self.ft_kmin_invA,
                   "ft_kmax_invA": self.ft_kmax_invA, "kweight": w,
                   "e0_method": self.e0_method,
                   "warnings": warnings_json(self.warnings)}
        stem = Path(self.file).stem if self.file else "stack"
        return Record(name=name or f"{stem}_exafs_stack", kind="exafs_stack", summary=summary,
                      provenance=self.provenance, data=data, signal="chir_mag", axes=["scan", "r"],
                      groups={"chi_k": chi_k, "scans": scans})

    def display_title(self) -> str:
        return Path(self.file).name if self.file else "stack"

    def display_items(self):
        yield ("scans", len(self), None, "")
        yield ("valid", int(self.valid.sum()), None, "")
        yield ("FT k range", f"{self.ft_kmin_invA:.2f}-{self.ft_kmax_invA:.2f}", None,
               "1/angstrom")


# --------------------------------------------------------------------------------------
# normalisation of N rows: one spectrum (normalize) or a stack (normalize_stack)
# --------------------------------------------------------------------------------------
@dataclass
class _Norm:
    e0: np.ndarray
    step: np.ndarray
    norm: np.ndarray
    valid: np.ndarray
    failures: dict[int, str]
    records: list[WarningRecord]
    params: dict[str, Any]
    e0_method: str


def _normalize_one(energy, mu, e0, preset, kws) -> _Norm:
    """:func:`~naheo_spec.xas.normalize.normalize` of the single row of ``mu`` (raises)."""
    from naheo_spec.xas.normalize import normalize

    with capture() as recs:
        res = normalize(energy, mu[0], e0=None if e0 is None else float(np.ravel(e0)[0]),
                        preset=preset, flatten=False, **(kws or {}))
    return _Norm(np.array([res.e0_eV]), np.array([res.edge_step]), res.norm[None, :],
                 np.ones(1, dtype=bool), {}, list(recs), res.provenance.parameters,
                 res.provenance.parameters.get("e0_method", "max-derivative"))


def _normalize_many(energy, mu, e0, preset, kws) -> _Norm:
    """:func:`~naheo_spec.xas.normalize.normalize_stack`; rows with NaN or no edge fail alone."""
    from naheo_spec.xas.normalize import normalize_stack

    n = mu.shape[0]
    finite = np.isfinite(mu.sum(axis=1))
    failures = {int(i): "mu contains NaN or inf" for i in np.flatnonzero(~finite)}
    if not finite.any():
        raise ProcessingError(f"none of the {n} spectra is finite")
    e0_arg = e0
    if isinstance(e0, str):
        if e0 != "median":
            raise InputError(f"e0={e0!r}; expected None, a number, an array or 'median'",
                             parameter="e0")
        with capture():
            first = normalize_stack(energy, mu[finite], e0=None, preset=preset,
                                    flatten=False, **(kws or {}))
        e0_arg = float(np.nanmedian(first.e0_eV[first.valid]))
    elif e0 is not None and np.ndim(e0) == 1:
        e0_arg = np.asarray(e0, dtype=float)[finite]
    with capture() as recs:
        res = normalize_stack(energy, mu[finite], e0=e0_arg, preset=preset, flatten=False,
                              **(kws or {}))
    e0s = np.full(n, np.nan)
    steps = np.full(n, np.nan)
    norm = np.full(mu.shape, np.nan)
    idx = np.flatnonzero(finite)
    e0s[idx] = res.e0_eV
    steps[idx] = res.edge_step
    norm[idx] = res.norm
    valid = np.zeros(n, dtype=bool)
    valid[idx] = res.valid
    for i in idx[~np.asarray(res.valid, dtype=bool)]:
        failures[int(i)] = "no usable absorption edge (see the normalisation warnings)"
    method = res.provenance.parameters.get("e0_method", "max-derivative")
    if isinstance(e0, str):
        method = "median of max-derivative"
    return _Norm(e0s, steps, norm, valid, failures, list(recs), res.provenance.parameters,
                 method)


# --------------------------------------------------------------------------------------
# the one implementation of the EXAFS rules, for N rows
# --------------------------------------------------------------------------------------
@dataclass
class _Rows:
    energy: np.ndarray
    e0: np.ndarray
    step: np.ndarray
    valid: np.ndarray
    failures: dict[int, str]
    k: np.ndarray
    chi: np.ndarray
    bkg: np.ndarray
    kmax_data: np.ndarray
    ft_kmin: float
    ft_kmax: float
    kwin: np.ndarray
    r: np.ndarray
    chir: np.ndarray
    peaks: tuple
    windows: tuple[str, ...]
    limits: list
    self_absorption: dict | None
    records: list[WarningRecord]          # every row
    entries: list                         # (rows, WarningRecord)
    params: dict[str, Any]
    e0_method: str


def _resolve_composition(composition, metadata) -> tuple[dict | None, str | None,
                                                         list[WarningRecord]]:
    """{element: amount}, where it came from, and a note when the file's formula is unreadable."""
    from naheo_spec.chemistry import parse_formula

    if composition is not None:
        if isinstance(composition, dict):
            return {str(k): float(v) for k, v in composition.items()}, "given", []
        return parse_formula(str(composition)), "given", []
    for key in ("sample.formula", "sample.stoichiometry", "composition", "formula"):
        text = (metadata or {}).get(key)
        if text:
            try:
                return parse_formula(str(text)), f"file ({key})", []
            except InputError:
                return None, None, [COMPOSITION_UNREADABLE.record(
                    f"the file's {key} {str(text)!r} is not a chemical formula: no next-edge "
                    "check from the composition (give it with --composition)")]
    return None, None, []


def _comp_for(comp, source, element, notes):
    """The composition to use: a given one must contain the absorber (InputError); one read
    from the file that does not is ignored, with a note."""
    if comp is None or not element:
        return comp
    if any(str(k).capitalize() == str(element).capitalize() and v > 0 for k, v in comp.items()):
        return comp
    if source == "given":
        raise InputError(f"composition {comp} does not contain the absorber {element}",
                         parameter="composition")
    notes.append(COMPOSITION_UNREADABLE.record(
        f"the file's sample formula {comp} does not contain the absorber {element}: no "
        "next-edge check from the composition (give it with --composition)"))
    return None


def _edge_limits(energy, norm, e0, valid, element, edge, comp, detect_steps, e0_measured=None):
    """Per row: the EdgeLimit that stops the k range (or None) and its records.

    Steps are looked for in ``norm`` (the measured data, normalized with ``e0_measured``:
    before any self-absorption correction, which amplifies the oscillations); the limits
    are expressed in k from the final ``e0``."""
    e0_measured = e0 if e0_measured is None else e0_measured
    n = e0.size
    limits: list[EdgeLimit | None] = [None] * n
    entries = []
    by_e0: dict[float, EdgeLimit | None] = {}
    if comp is not None and element:
        for i in np.flatnonzero(valid):
            key = float(e0[i])
            if key not in by_e0:
                by_e0[key] = composition_limit(key, element, edge or "K", comp)
            limits[i] = by_e0[key]
    if detect_steps:
        idx = np.flatnonzero(valid)
        steps = find_mu_steps(energy, norm[idx], e0_measured[idx]) if idx.size else []
        for i, st in zip(idx, steps):
            if st is None:
                continue
            lim = limits[i]
            if lim is not None and st.k_invA >= lim.kmax_invA - 0.2:
                continue        # the step is the next edge already excluded
            limits[i] = step_limit(st, float(e0[i]))
    k_end = np.sqrt(np.clip(energy[-1] - e0, 0.0, None) / KTOE)
    for i in np.flatnonzero(valid):
        lim = limits[i]
        if lim is not None and lim.kmax_invA >= k_end[i]:
            limits[i] = lim = None          # the edge lies beyond the data: nothing to stop
        if lim is None:
            continue
        code = NEXT_EDGE if lim.source == "composition" else MU_STEP
        entries.append((np.array([i]), code.record(
            lim.describe(element, float(e0[i])), k_limit_invA=lim.kmax_invA,
            edge_energy_eV=lim.energy_eV)))
    return limits, entries


def _ft_range(kmin, kmax, kmax_data, k_limit, dk, valid):
    """Common FT range over the valid rows, with its per-row reasons."""
    entries = []
    kmin = float(kmin)
    top = np.minimum(kmax_data, np.where(np.isfinite(k_limit), k_limit - dk / 2.0, np.inf))
    if kmax is None:
        per_row = np.minimum(kmax_data - KMAX_MARGIN, KMAX_CAP)
        per_row = np.minimum(per_row, np.where(np.isfinite(k_limit), k_limit - dk / 2.0,
                                               np.inf))
        ft_kmax = float(np.min(per_row[valid]))
    else:
        ft_kmax = float(kmax)
        beyond = valid & (ft_kmax > kmax_data)
        if beyond.any():
            lim = float(np.min(kmax_data[valid]))
            entries.append((np.flatnonzero(beyond), KMAX_CLIPPED.record(
                f"FT kmax {ft_kmax:.2f} A^-1 is beyond the data (kmax_data {lim:.2f}); "
                f"clipped to {lim:.2f}")))
        ft_kmax = min(ft_kmax, float(np.min(top[valid])))
    if ft_kmax - kmin < MIN_FT_RANGE:
        raise ProcessingError(f"FT range kmin={kmin:.2f}..kmax={ft_kmax:.2f} A^-1 is shorter than "
                              f"{MIN_FT_RANGE} A^-1 (data end at k = "
                              f"{float(np.min(kmax_data[valid])):.2f} A^-1"
                              + (", limited by the next edge" if np.isfinite(k_limit[valid]).any()
                                 else "") + "): no EXAFS to transform")
    return kmin, ft_kmax, entries


def _window_on(k, ft):
    """FT window on the chi(k) grid (xftf's grid ends at the last k point)."""
    win = np.zeros(k.size)
    n = min(k.size, ft.window.size)
    win[:n] = ft.window[:n]
    return win


#: Normalization used inside the self-absorption correction: larch ``fluo_corr``'s own
#: (pre-edge line up to E0 - 30 eV, linear post-edge from E0 + 100 eV).
FLUO_NORMALIZE = {"pre_range": (None, -30.0), "norm_range": (100.0, None), "nnorm": 1}


def _subset_e0(e0, idx):
    if e0 is None or isinstance(e0, str) or np.ndim(e0) == 0:
        return e0
    return np.asarray(e0, dtype=float)[idx]


def _self_absorb(energy, mu, nrm, normalizer, e0, opts, comp, element, edge, mode):
    """Apply the self-absorption rule; returns (mu, norm, info, records).

    As larch ``fluo_corr``: normalize with its settings, correct, then normalize the
    corrected mu again with the pipeline's settings (E0 found again unless given)."""
    from naheo_spec.xas.self_absorption import SA_CORRECTED, SA_LARGE, SA_NOT_CORRECTED, fluo_corr

    want = opts["self_absorption"]
    if want is False or (want == "auto" and mode != "fluorescence"):
        return mu, nrm, None, []
    if comp is None or not element:
        if want is True:
            raise InputError("self_absorption=True needs the composition and the absorber",
                             parameter="composition")
        return mu, nrm, None, [SA_NOT_CORRECTED.record(
            "fluorescence data without a composition: self-absorption not corrected; EXAFS "
            "amplitudes (N, sigma2) of a concentrated absorber are damped (give --composition)")]
    idx = np.flatnonzero(nrm.valid)
    ang_in, ang_out = opts["fluo_angles_deg"]
    pre = normalizer(energy, mu[idx], _subset_e0(e0, idx), FLUO_NORMALIZE)
    sa = fluo_corr(mu[idx], pre.norm, comp, element, edge=edge or "K",
                   angle_in_deg=ang_in, angle_out_deg=ang_out)
    mu = mu.copy()
    mu[idx] = sa.mu
    try:
        second = normalizer(energy, mu[idx], _subset_e0(e0, idx))
    except ProcessingError as exc:
        raise ProcessingError(
            f"after the self-absorption correction: {exc}. The correction expects fluorescence "
            "data (I_f/I_0, close to 0 below the edge); if these are transmission data, say so "
            "(measurement_mode='transmission', --mode transmission) or turn it off "
            "(self_absorption=False, --no-self-absorption)") from exc
    for name in ("e0", "step", "norm"):
        getattr(nrm, name)[idx] = getattr(second, name)
    lost = idx[~second.valid]
    for i in lost:
        nrm.failures[int(i)] = ("no usable edge after the self-absorption correction (are these "
                                "fluorescence data?)")
    nrm.valid[lost] = False
    info = {"alpha": sa.alpha, "amplitude_factor": sa.amplitude_factor,
            "formula": sa.params["formula"], "angles_deg": sa.params["angles_deg"]}
    recs = [SA_CORRECTED.record(
        f"fluorescence data corrected for self-absorption with the composition "
        f"{sa.params['formula']} (thick sample, {ang_in:g}/{ang_out:g} deg): alpha = "
        f"{sa.alpha:.3f}, EXAFS amplitude x{sa.amplitude_factor:.2f} (first order)",
        alpha=sa.alpha, amplitude_factor=sa.amplitude_factor)]
    if sa.large:
        recs.append(SA_LARGE.record(
            f"the self-absorption correction is large (EXAFS amplitude x{sa.amplitude_factor:.2f}): "
            "N and sigma2 depend on the composition and on the thick-sample assumption",
            amplitude_factor=sa.amplitude_factor))
    return mu, nrm, info, recs


def _exafs_rows(energy, mu, *, normalizer: Callable, e0, edge_step, opts: dict,
                element, edge, mode, comp) -> _Rows:
    """Every EXAFS rule for the N rows of ``mu`` (N, M); invalid rows are NaN and reported."""
    energy = np.asarray(energy, dtype=float)
    mu = np.asarray(mu, dtype=float)
    records: list[WarningRecord] = []
    entries: list = []
    with capture():
        energy, mu, merged = merge_close_points(energy, mu)
    if merged["n_merged"]:
        from naheo_spec.xas.autobk import MERGED_POINTS

        records.append(MERGED_POINTS.record(
            f"{merged['n_merged']} energy point(s) closer than {merged['threshold_eV']:.3g} eV "
            f"were merged with a neighbour (energy and mu averaged), near "
            f"{merged['where_eV']} eV", n_merged=merged["n_merged"]))
    nrm = normalizer(energy, mu, e0)
    records += nrm.records
    measured_norm, measured_e0 = nrm.norm.copy(), nrm.e0.copy()
    mu, nrm, sa_info, sa_recs = _self_absorb(energy, mu, nrm, normalizer, e0, opts, comp,
                                             element, edge, mode)
    records += sa_recs
    n = mu.shape[0]
    valid = nrm.valid.copy()
    failures = dict(nrm.failures)
    steps = nrm.step.copy() if edge_step is None else np.broadcast_to(
        np.asarray(edge_step, dtype=float), (n,)).copy()
    e0s = nrm.e0

    # peak windows: given, or chosen per row (a recognised metal foil gets the metal ones)
    if opts["peak_windows"] is None:
        foil = metal_foil_rows(energy, nrm.norm, e0s, element=element, edge=edge, valid=valid)
        windows = tuple("metal" if f else "oxide" for f in foil)
        if foil.any():
            from naheo_spec.xas.edges import tabulated_edge_energy

            tab = tabulated_edge_energy(element, edge or "K")
            lo, hi = resolve_windows("metal")["TM-TM"]
            entries.append((np.flatnonzero(foil), METAL_FOIL.record(
                f"E0 is within {FOIL_E0_WINDOW_EV[0]:g}..+{FOIL_E0_WINDOW_EV[1]:g} eV of the "
                f"tabulated {element} {edge or 'K'} edge ({tab:.1f} eV) and there is no white "
                f"line: treated as a metal foil, first-shell peak searched at {lo:g}-{hi:g} A "
                "(apparent R), no TM-O peak (pass peak_windows='oxide' to override)")))
    else:
        name = opts["peak_windows"] if isinstance(opts["peak_windows"], str) else "custom"
        windows = (name,) * n

    limits, lim_entries = _edge_limits(energy, measured_norm, e0s, valid, element, edge, comp,
                                       opts["detect_steps"], measured_e0)
    entries += lim_entries
    k_limit = np.array([np.nan if lim is None else lim.kmax_invA for lim in limits])

    with capture():
        bk = autobk_stack(energy, mu, e0=np.where(valid, e0s, np.nan),
                          edge_step=np.where(valid, steps, np.nan), kmax=k_limit,
                          rbkg=opts["rbkg"], kweight=opts["bkg_kweight"],
                          preset=opts["preset"], merge_tol=0.0)
    for k in range(len(bk.row_warnings)):
        row = int(bk.row_warnings.rows[k])
        code = bk.row_warnings.codes[bk.row_warnings.code_index[k]]
        msg = bk.row_warnings.messages[bk.row_warnings.message_index[k]]
        if code == "xas.autobk.row_failed":
            if valid[row]:
                failures[row] = msg
            continue
        entries.append((np.array([row]), WarningRecord(code, msg)))
    records += [r for r in bk.warnings if r.code in ("xas.autobk.kgrid_cut",)]
    valid &= bk.valid
    if not valid.any():
        i = min(failures) if failures else 0
        raise ProcessingError(failures.get(i, "no scan could be analysed"))

    ft_kmin, ft_kmax, ft_entries = _ft_range(opts["kmin"], opts["kmax"], bk.kmax_data_invA,
                                             k_limit, opts["dk"], valid)
    entries += ft_entries
    ft = xftf(bk.k_invA, bk.chi[valid], kmin=ft_kmin, kmax=ft_kmax, kweight=opts["kweight"],
              dk=opts["dk"], window=opts["window"], rmax_out=opts["rmax_out"])
    chir = np.full((n, ft.r_A.size), np.nan + 0j)
    chir[valid] = ft.chir
    peaks, peak_entries = _peaks(ft.r_A, np.abs(chir), windows, opts["peak_windows"], valid)
    entries += peak_entries
    for i, why in failures.items():
        entries.append((np.array([i]), SCAN_FAILED.record(why)))
    params = {"preset": opts["preset"], "e0_method": nrm.e0_method,
              "edge_step_source": "normalize" if edge_step is None else "given",
              "normalize": nrm.params, "autobk": bk.params, "xftf": ft.params,
              "peak_windows_A": {w: resolve_windows(opts["peak_windows"] if w == "custom" else w)
                                 for w in sorted(set(windows))},
              "composition": None if comp is None else dict(comp),
              "measurement_mode": mode, "self_absorption": sa_info,
              "detect_steps": bool(opts["detect_steps"]),
              "merged_points": int(merged["n_merged"])}
    return _Rows(energy, np.where(valid, e0s, np.nan), np.where(valid, steps, np.nan), valid,
                 failures, bk.k_invA, np.where(valid[:, None], bk.chi, np.nan),
                 np.where(valid[:, None], bk.bkg, np.nan),
                 np.where(valid, bk.kmax_data_invA, np.nan), ft_kmin, ft_kmax,
                 _window_on(bk.k_invA, ft), ft.r_A, chir, peaks, windows, limits, sa_info,
                 records, entries, params, nrm.e0_method)


def _peaks(r, mag, windows, requested, valid):
    """Peaks per row: rows grouped by their window preset, vectorized within a group."""
    rows: list = [()] * mag.shape[0]
    entries = []
    for name in sorted(set(windows)):
        idx = np.flatnonzero(np.array([w == name for w in windows]) & valid)
        wins = resolve_windows(requested if name == "custom" else name)
        if idx.size == 0:
            for i in np.flatnonzero(np.array([w == name for w in windows])):
                rows[i] = tuple(FTPeak(label, np.nan, np.nan, w) for label, w in wins.items())
            continue
        found, msgs = shell_peaks_stack(r, mag[idx], windows=wins)
        for j, i in enumerate(idx):
            rows[i] = tuple(FTPeak(label, float(found[label][0][j]), float(found[label][1][j]),
                                   w) for label, w in wins.items())
        for label, w in wins.items():
            miss = idx[~np.isfinite(found[label][0])]
            if miss.size:
                from naheo_spec.xas.ft_peaks import PEAK_MISSING

                entries.append((miss, PEAK_MISSING.record(
                    f"no {label} peak (local maximum of |chi(R)|) in the window "
                    f"{w[0]:.2f}-{w[1]:.2f} A (apparent R)", shell=label)))
    for i in np.flatnonzero(~valid):
        if not rows[i]:
            rows[i] = ()
    return tuple(rows), entries


def _options(*, rbkg, bkg_kweight, preset, kmin, kmax, kweight, dk, window, rmax_out,
             peak_windows, self_absorption, fluo_angles_deg, detect_steps) -> dict[str, Any]:
    if peak_windows not in (None, "auto"):
        resolve_windows(peak_windows)   # validates (InputError naming the problem)
    if self_absorption not in ("auto", True, False):
        raise InputError(f"self_absorption={self_absorption!r}; expected 'auto', True or False",
                         parameter="self_absorption")
    return {"rbkg": rbkg, "bkg_kweight": bkg_kweight, "preset": preset, "kmin": kmin,
            "kmax": kmax, "kweight": kweight, "dk": float(dk), "window": window,
            "rmax_out": rmax_out,
            "peak_windows": None if peak_windows in (None, "auto") else peak_windows,
            "self_absorption": self_absorption,
            "fluo_angles_deg": tuple(float(a) for a in fluo_angles_deg),
            "detect_steps": bool(detect_steps)}


def _mode_of(obj, measurement_mode):
    if measurement_mode is not None:
        if measurement_mode not in ("fluorescence", "transmission", "electron_yield"):
            raise InputError(f"measurement_mode={measurement_mode!r}; expected 'fluorescence', "
                             "'transmission' or 'electron_yield'", parameter="measurement_mode")
        return measurement_mode
    acq = getattr(obj, "acquisition", None)
    return getattr(acq, "measurement_mode", None)


def _element_of(obj, energy, mu):
    el, ed = getattr(obj, "element", None), getattr(obj, "edge", None)
    if el:
        return el, ed or "K"
    from naheo_spec.xas.edges import guess_edge

    try:
        with capture():
            g = guess_edge(energy, mu)
        return g[0], g[1] or "K"
    except NaheoError:
        return None, None


def _split(entries, row=0):
    return [rec for rows, rec in entries if row in set(np.atleast_1d(rows).tolist())]


def _emit(records) -> None:
    for r in records:
        r.emit(stacklevel=3)


# --------------------------------------------------------------------------------------
# one spectrum
# --------------------------------------------------------------------------------------
def _as_spectrum(data) -> Spectrum:
    if isinstance(data, Spectrum):
        return data
    if isinstance(data, (str, Path)):
        from naheo_spec.io import read_spectrum

        return read_spectrum(data, technique="xas")
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return Spectrum(axis=data[0], signal=data[1])
    raise InputError(f"analyze_exafs needs a Spectrum, a file path or an (energy, mu) pair, got "
                     f"{type(data).__name__}")


def analyze_exafs(spectrum, *, e0=None, edge_step=None, rbkg=1.0, bkg_kweight=None,
                  preset="larch", kmin=3.0, kmax=None, kweight=2, dk=1.0, window="hanning",
                  rmax_out=10.0, peak_windows=None, normalize_kws=None, composition=None,
                  measurement_mode=None, self_absorption="auto", fluo_angles_deg=(45.0, 45.0),
                  detect_steps=True) -> ExafsResult:
    """chi(k), chi(R) and the TM-O / TM-TM peak positions of one spectrum.

    Parameters
    ----------
    spectrum : Spectrum, path or (energy, mu)
        Energy in eV, raw mu(E).
    e0 : float, optional
        Edge energy, eV; None -> the maximum of dmu/dE (larch ``find_e0``; reported as
        ``e0_method="max-derivative"``). Default is None.
    edge_step : float, optional
        Edge step; None -> from the normalisation. Default is None.
    rbkg : float
        AUTOBK rbkg, A. Default is 1.0.
    bkg_kweight : int, optional
        k-weight of the background fit; None -> preset (larch 1, athena 2).
    preset : {"larch", "athena"}
        Defaults for the normalisation and the background. Default is ``"larch"``.
    kmin : float
        FT window start, A^-1. Default is 3.0.
    kmax : float, optional
        FT window end, A^-1; None -> ``min(kmax_data - 1, 12)`` and at least ``dk/2``
        below any edge limit; values beyond the data or the limit are clipped (coded
        warning). Default is None.
    kweight : int
        FT k-weight. Default is 2.
    dk : float
        FT window sill, A^-1. Default is 1.0.
    window : str
        FT window. Default is ``"hanning"``.
    rmax_out : float
        Largest R kept, A. Default is 10.
    peak_windows : None, "auto", str or dict
        See :func:`~naheo_spec.xas.ft_peaks.find_shell_peaks`. None/"auto": metal
        windows for a recognised foil (coded note ``xas.exafs.metal_foil``), oxide
        windows otherwise. Default is None.
    normalize_kws : dict, optional
        Extra keywords for ``normalize`` (pre_range, norm_range, nnorm, ...).
    composition : str or dict, optional
        Sample formula (``"Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2"``); None -> the file's
        ``Sample.formula`` if readable. Used to stop the k range before the next edge and
        for the self-absorption correction. Default is None.
    measurement_mode : {"fluorescence", "transmission", "electron_yield"}, optional
        None -> from the file (``spectrum.acquisition``). Default is None.
    self_absorption : {"auto", True, False}
        "auto": correct fluorescence data when the composition is known (warn when it
        is not); True: always correct (needs the composition); False: never. Default
        is "auto".
    fluo_angles_deg : (float, float)
        Incidence and exit angles for the correction, degrees. Default is (45, 45).
    detect_steps : bool
        Look for a step in mu(E) inside the EXAFS range (works without a composition).
        Default is True.

    Returns
    -------
    ExafsResult

    Raises
    ------
    InputError
        Bad input or options.
    ProcessingError
        No usable edge, too few data above the edge, or an FT range under 1 A^-1.

    Warns
    -----
    QualityWarning
        Data ending before k = 6 A^-1, missing peaks, a step in mu(E), large or missing
        self-absorption correction (plus the normalisation's warnings).
    DefaultAdjustedWarning
        kmax clipped (data end or next edge), background parameters adjusted, foil
        windows chosen, self-absorption corrected.

    References
    ----------
    See the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from naheo_spec.xas.autobk import KTOE
    >>> e0, k = 8333.0, np.arange(0.3, 15.0, 0.05)
    >>> energy = np.r_[np.arange(8150.0, 8333.0, 2.0), e0 + KTOE * k ** 2]
    >>> kk = np.sqrt(np.clip(energy - e0, 0, None) / KTOE)
    >>> chi = 0.4 * np.sin(2 * 2.05 * kk + 1.0) * np.exp(-0.01 * kk ** 2) / np.maximum(kk, 1)
    >>> mu = 0.1 + (1 + chi) / (1 + np.exp(-(energy - e0) / 1.5))
    >>> res = analyze_exafs((energy, mu), bkg_kweight=2)
    >>> res.e0_method, 1.3 < res.peak("TM-O").r_apparent_A < 1.8   # 2.05 A less the phase shift
    ('max-derivative', True)
    """
    spec = _as_spectrum(spectrum)
    opts = _options(rbkg=rbkg, bkg_kweight=bkg_kweight, preset=preset, kmin=kmin, kmax=kmax,
                    kweight=kweight, dk=dk, window=window, rmax_out=rmax_out,
                    peak_windows=peak_windows, self_absorption=self_absorption,
                    fluo_angles_deg=fluo_angles_deg, detect_steps=detect_steps)
    comp, comp_source, comp_notes = _resolve_composition(composition, spec.metadata)
    element, edge = _element_of(spec, spec.energy, spec.mu)
    comp = _comp_for(comp, comp_source, element, comp_notes)
    mode = _mode_of(spec, measurement_mode)

    def normalizer(energy, mu, e0_, kws=None):
        return _normalize_one(energy, mu, e0_, preset, kws or normalize_kws)

    rows = _exafs_rows(spec.energy, spec.mu[None, :], normalizer=normalizer, e0=e0,
                       edge_step=edge_step, opts=opts, element=element, edge=edge, mode=mode,
                       comp=comp)
    if not rows.valid[0]:
        raise ProcessingError(rows.failures.get(0, "the spectrum could not be analysed"))
    records = comp_notes + rows.records + _split(rows.entries)
    _emit(records)
    path, sha, scan = spec.source.path, spec.source.sha256, spec.source.scan
    params = {**rows.params, "e0_eV": float(rows.e0[0]), "edge_step": float(rows.step[0]),
              "composition_source": comp_source}
    return ExafsResult(
        file=path, scan=scan, element=spec.element or element, e0_eV=float(rows.e0[0]),
        edge_step=float(rows.step[0]), kmax_data_invA=float(rows.kmax_data[0]),
        k_invA=rows.k, chi=rows.chi[0], kweight=int(opts["kweight"]), kwin=rows.kwin,
        ft_kmin_invA=rows.ft_kmin, ft_kmax_invA=rows.ft_kmax, r_A=rows.r, chir=rows.chir[0],
        ft_peaks=rows.peaks[0], energy_eV=rows.energy, bkg=rows.bkg[0],
        provenance=Provenance("xas.exafs", parameters=params, source_file=path,
                              source_sha256=sha),
        warnings=tuple(records), metadata=dict(spec.metadata), e0_method=rows.e0_method,
        peak_windows=rows.windows[0], k_limit=rows.limits[0],
        self_absorption=rows.self_absorption)


def analyze_exafs_series(spectra: Iterable, **kwargs) -> list:
    """:func:`analyze_exafs` on each spectrum, continuing past failures.

    Parameters
    ----------
    spectra : iterable of Spectrum
        The series (any grids).
    **kwargs
        Passed to :func:`analyze_exafs`.

    Returns
    -------
    list of ExafsResult or ExafsFailure
        One entry per spectrum, in order; a spectrum that raised a
        :class:`~naheo_spec.errors.NaheoError` gives an :class:`ExafsFailure` with the message.

    References
    ----------
    See :func:`analyze_exafs`.
    """
    out: list = []
    for spec in spectra:
        try:
            out.append(analyze_exafs(spec, **kwargs))
        except NaheoError as exc:
            src = spec.source if isinstance(spec, Spectrum) else None
            out.append(ExafsFailure(file=getattr(src, "path", None),
                                    scan=getattr(src, "scan", None), error=str(exc),
                                    error_type=type(exc).__name__))
    return out


# --------------------------------------------------------------------------------------
# a stack on one grid
# --------------------------------------------------------------------------------------
def _as_stack(data) -> SpectrumStack:
    if isinstance(data, SpectrumStack):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return SpectrumStack(axis=data[0], signals=data[1])
    raise InputError(f"analyze_exafs_stack needs a SpectrumStack or an (energy, mu_stack) pair, "
                     f"got {type(data).__name__}")


def analyze_exafs_stack(data, *, e0=None, edge_step=None, rbkg=1.0, bkg_kweight=None,
                        preset="larch", kmin=3.0, kmax=None, kweight=2, dk=1.0,
                        window="hanning", rmax_out=10.0, peak_windows=None,
                        normalize_kws=None, composition=None, measurement_mode=None,
                        self_absorption="auto", fluo_angles_deg=(45.0, 45.0),
                        detect_steps=True) -> ExafsStackResult:
    """:func:`analyze_exafs` for N spectra on one grid, through the same implementation.

    Parameters
    ----------
    data : SpectrumStack or (energy, mu_stack)
        Energy (M,) in eV and raw mu (N, M).
    e0 : None, float, array-like of shape (N,) or "median"
        None: per-scan E0 from ``normalize_stack`` (one background factorisation per
        distinct E0); a number or array: given; ``"median"``: the median of the per-scan
        estimates, used for all scans (one factorisation: fastest, and the usual choice
        for an operando series). Default is None.
    edge_step : float or array-like of shape (N,), optional
        None -> from the normalisation. Default is None.
    rbkg, bkg_kweight, preset, kmin, kweight, dk, window, rmax_out, peak_windows, normalize_kws
        As in :func:`analyze_exafs`.
    composition, measurement_mode, self_absorption, fluo_angles_deg, detect_steps
        As in :func:`analyze_exafs` (the composition and mode are those of the stack).
    kmax : float, optional
        Common FT end, A^-1; None -> min over valid scans of the per-scan default.

    Returns
    -------
    ExafsStackResult
        A scan with NaN, no usable edge or a failed background is a NaN row, flagged in
        ``valid``, explained in ``failures`` and ``row_warnings``; the others are
        processed. Row ``i`` equals :func:`analyze_exafs` of that scan when the FT range
        is the same (one implementation).

    Raises
    ------
    InputError
        Bad input or options.
    ProcessingError
        No scan has a usable edge, or the common FT range is under 1 A^-1.

    References
    ----------
    See :func:`analyze_exafs`.

    Examples
    --------
    Three scans of one edge on one grid, the middle one with a dropped point:

    >>> import numpy as np, warnings
    >>> from naheo_spec.xas.autobk import KTOE
    >>> e0, k = 7112.0, np.arange(0.3, 15.0, 0.05)
    >>> energy = np.r_[np.arange(6950.0, 7112.0, 2.0), e0 + KTOE * k ** 2]
    >>> kk = np.sqrt(np.clip(energy - e0, 0, None) / KTOE)
    >>> chi = 0.4 * np.sin(4.1 * kk + 1.0) * np.exp(-0.01 * kk ** 2) / np.maximum(kk, 1)
    >>> mu = 0.1 + (1 + chi) / (1 + np.exp(-(energy - e0) / 1.5))
    >>> rows = np.vstack([mu, mu, 1.1 * mu])
    >>> rows[1, 120] = np.nan
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     st = analyze_exafs_stack((energy, rows), bkg_kweight=2)
    >>> st.valid.tolist(), bool(np.allclose(st.chi[0], st.chi[2]))
    ([True, False, True], True)
    """
    stack = _as_stack(data)
    opts = _options(rbkg=rbkg, bkg_kweight=bkg_kweight, preset=preset, kmin=kmin, kmax=kmax,
                    kweight=kweight, dk=dk, window=window, rmax_out=rmax_out,
                    peak_windows=peak_windows, self_absorption=self_absorption,
                    fluo_angles_deg=fluo_angles_deg, detect_steps=detect_steps)
    comp, comp_source, comp_notes = _resolve_composition(composition, stack.metadata)
    mu = np.asarray(stack.signals, dtype=float)
    first_good = mu[np.isfinite(mu.sum(axis=1))]
    element, edge = _element_of(stack, stack.energy,
                                first_good[0] if first_good.size else mu[0])
    comp = _comp_for(comp, comp_source, element, comp_notes)
    mode = _mode_of(stack, measurement_mode)

    def normalizer(energy, rows_mu, e0_, kws=None):
        return _normalize_many(energy, rows_mu, e0_, preset, kws or normalize_kws)

    rows = _exafs_rows(stack.energy, mu, normalizer=normalizer, e0=e0, edge_step=edge_step,
                       opts=opts, element=element, edge=edge, mode=mode, comp=comp)
    n = mu.shape[0]
    b = StackWarningsBuilder(n)
    for idx, rec in rows.entries:
        b.add(rec.code, idx, rec.message)
    row_warnings = b.build()
    summary = tuple(comp_notes + rows.records) + row_warnings.summary(unit="scans")
    _emit(summary)
    scans = tuple(stack.label(i) for i in range(len(stack)))
    params = {**rows.params, "e0": e0 if isinstance(e0, (str, type(None))) else "given",
              "composition_source": comp_source}
    return ExafsStackResult(
        file=stack.source.path, element=stack.element or element, scans=scans,
        e0_eV=rows.e0, edge_step=rows.step, kmax_data_invA=rows.kmax_data, valid=rows.valid,
        failures=rows.failures, k_invA=rows.k, chi=rows.chi, kweight=int(opts["kweight"]),
        kwin=rows.kwin, ft_kmin_invA=rows.ft_kmin, ft_kmax_invA=rows.ft_kmax, r_A=rows.r,
        chir=rows.chir, ft_peaks=rows.peaks, energy_eV=rows.energy, bkg=rows.bkg,
        provenance=Provenance("xas.exafs_stack", parameters=params,
                              source_file=stack.source.path, source_sha256=stack.source.sha256),
        warnings=summary, row_warnings=row_warnings, e0_method=rows.e0_method,
        k_limit_invA=np.array([np.nan if lim is None else lim.kmax_invA for lim in rows.limits]),
        peak_windows=rows.windows)


__all__ = ["ExafsResult", "ExafsFailure", "ExafsStackResult", "analyze_exafs",
           "analyze_exafs_series", "analyze_exafs_stack", "KMAX_CAP", "METAL_FOIL",
           "SCAN_FAILED", "KMAX_CLIPPED"]
