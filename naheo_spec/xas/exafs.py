"""The EXAFS pipeline (no fitting): normalise -> AUTOBK -> chi(k) -> chi(R) -> shell peaks.

:func:`analyze_exafs` runs one spectrum, :func:`analyze_exafs_stack` a series on
one energy grid through the vectorized paths (one background factorisation per
E0 group, one FFT call), and :func:`analyze_exafs_series` loops over spectra and
keeps going past a bad scan, returning an :class:`ExafsFailure` for it.

Peak positions are *apparent* (not phase corrected): 0.3-0.5 A shorter than the
bond lengths. The shell fit (:mod:`naheo_spec.xas.shellfit`) fills
``ExafsResult.shell_fit`` when it is run.

Defaults and their sources
--------------------------
* normalisation: :func:`naheo_spec.xas.normalize.normalize` with the same ``preset``.
* background: :func:`naheo_spec.xas.autobk.autobk`, rbkg 1 A, kweight from the preset
  (larch 1, athena 2) unless ``bkg_kweight`` is given.
* transform: k 3 to ``min(kmax_data - 1, 12)`` A^-1, kweight 2, hanning, dk 1 A^-1
  (the transform settings of the reference peak table in the project XAS notes, which
  also used a background kweight of 2: pass ``bkg_kweight=2`` or ``preset="athena"`` to
  reproduce that table; Athena's own FT default kmax is ``kmax_data - 2``).

References
----------
M. Newville, "Larch: an analysis package for XAFS and related spectroscopies",
J. Phys.: Conf. Ser. 430, 012007 (2013), doi:10.1088/1742-6596/430/1/012007;
B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
doi:10.1107/S0909049505012719.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from naheo_spec.diagnostics import WarningCode, warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import (
    DefaultAdjustedWarning,
    InputError,
    NaheoError,
    ProcessingError,
)
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.model import Spectrum, SpectrumStack
from naheo_spec.provenance import Provenance
from naheo_spec.records import DataArray, DataGroup, Record, nexus_name
from naheo_spec.xas.autobk import autobk, autobk_stack
from naheo_spec.xas.fourier import inv_angstrom, xftf
from naheo_spec.xas.ft_peaks import (
    FTPeak,
    resolve_windows,
    shell_peaks_stack,
    shell_peaks_with_messages,
)

#: Default upper FT limit, A^-1: kmax = min(kmax_data - KMAX_MARGIN, KMAX_CAP).
KMAX_CAP = 12.0
KMAX_MARGIN = 1.0
#: The FT range must span at least this (A^-1), or there is no EXAFS to transform.
MIN_FT_RANGE = 1.0




KMAX_CLIPPED = WarningCode("xas.exafs.kmax_clipped", DefaultAdjustedWarning,
                           "The requested FT kmax lies beyond the data and was clipped.")


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
    metadata : dict
        The spectrum's metadata (header fields, ``state_of_charge``, ``synthetic``...), for
        plots and tables.
    warnings : tuple of str
        Every adjustment and quality warning from all steps.
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
    warnings: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

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
        """JSON-safe summary with exactly the keys file, element, e0_eV, kmax_data,
        ft_peaks, shell_fit, warnings (NaN written as null)."""
        fit = None if self.shell_fit is None else self.shell_fit.to_json_dict()
        return {"file": self.file, "element": self.element, "e0_eV": _num(self.e0_eV),
                "kmax_data": _num(self.kmax_data_invA),
                "ft_peaks": [p.to_json_dict() for p in self.ft_peaks],
                "shell_fit": fit, "warnings": warnings_json(self.warnings)}

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
        return Record(name=name or self.default_name(), kind="exafs", summary=self._summary(),
                      provenance=self.provenance, data=data, signal="chir_mag", axes=["r"],
                      groups={"chi_k": chi_k}, definition=None)

    def _summary(self) -> dict[str, Any]:
        summary = {"file": self.file, "scan": self.scan, "element": self.element,
                   "e0_eV": _num(self.e0_eV), "edge_step": _num(self.edge_step),
                   "kmax_data_invA": _num(self.kmax_data_invA),
                   "ft_kmin_invA": self.ft_kmin_invA, "ft_kmax_invA": self.ft_kmax_invA,
                   "kweight": self.kweight}
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
        yield ("E0", self.e0_eV, None, "eV")
        yield ("data to k", self.kmax_data_invA, None, "1/angstrom")
        for p in self.ft_peaks:
            yield (f"{p.label} apparent peak", p.r_apparent_A, None, "angstrom")
        if self.shell_fit is not None:
            for p in self.shell_fit.paths:
                yield (f"{p.label} R", p.r_A, p.r_err_A, "angstrom")


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


# --------------------------------------------------------------------------------------
# shared steps
# --------------------------------------------------------------------------------------
def _resolve_ft_range(kmin, kmax, kmax_data) -> tuple[float, float, list[str]]:
    """FT range: kmax None -> min(kmax_data - 1, 12); clipped to the data."""
    msgs = []
    kmin = float(kmin)
    if kmax is None:
        kmax = min(kmax_data - KMAX_MARGIN, KMAX_CAP)
    else:
        kmax = float(kmax)
        if kmax > kmax_data:
            msgs.append(KMAX_CLIPPED.record(
                f"FT kmax {kmax:.2f} A^-1 is beyond the data (kmax_data {kmax_data:.2f}); "
                f"clipped to {kmax_data:.2f}"))
            kmax = float(kmax_data)
    if kmax - kmin < MIN_FT_RANGE:
        raise ProcessingError(f"FT range kmin={kmin:.2f}..kmax={kmax:.2f} A^-1 is shorter than "
                              f"{MIN_FT_RANGE} A^-1 (data end at k = {kmax_data:.2f} A^-1): "
                              "no EXAFS to transform")
    return kmin, kmax, msgs


def _ft_params(kweight, dk, window, rmax_out) -> dict[str, Any]:
    return {"kweight": kweight, "dk": dk, "window": window, "rmax_out": rmax_out}


def _source_of(spectrum: Spectrum):
    src = spectrum.source
    return src.path, src.sha256, src.scan


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


def _emit(records) -> None:
    for r in records:
        r.emit(stacklevel=3)


# --------------------------------------------------------------------------------------
# one spectrum
# --------------------------------------------------------------------------------------
def analyze_exafs(spectrum, *, e0=None, edge_step=None, rbkg=1.0, bkg_kweight=None,
                  preset="larch", kmin=3.0, kmax=None, kweight=2, dk=1.0, window="hanning",
                  rmax_out=10.0, peak_windows=None, normalize_kws=None) -> ExafsResult:
    """chi(k), chi(R) and the TM-O / TM-TM peak positions of one spectrum.

    Parameters
    ----------
    spectrum : Spectrum or (energy, mu)
        Energy in eV, raw mu(E).
    e0 : float, optional
        Edge energy, eV; None -> :func:`~naheo_spec.xas.normalize.normalize`'s estimate
        (maximum derivative). Default is None.
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
        FT window end, A^-1; None -> ``min(kmax_data - 1, 12)``; values beyond the
        data are clipped (DefaultAdjustedWarning). Default is None.
    kweight : int
        FT k-weight. Default is 2.
    dk : float
        FT window sill, A^-1. Default is 1.0.
    window : str
        FT window. Default is ``"hanning"``.
    rmax_out : float
        Largest R kept, A. Default is 10.
    peak_windows : None, str or dict
        See :func:`~naheo_spec.xas.ft_peaks.find_shell_peaks` (None -> oxide windows).
    normalize_kws : dict, optional
        Extra keywords for ``normalize`` (pre_range, norm_range, nnorm, ...).

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
        Data ending before k = 6 A^-1, missing peaks (plus the normalisation's warnings).
    DefaultAdjustedWarning
        kmax clipped to the data, background parameters adjusted.

    References
    ----------
    See the module docstring.
    """
    from naheo_spec.xas.normalize import normalize

    spec = _as_spectrum(spectrum)
    energy, mu = spec.energy, spec.mu
    norm = normalize(energy, mu, e0=e0, preset=preset, flatten=False, **(normalize_kws or {}))
    step = norm.edge_step if edge_step is None else float(edge_step)
    bkg = autobk(energy, mu, e0=norm.e0_eV, edge_step=step, rbkg=rbkg, kweight=bkg_kweight,
                 preset=preset)
    ft_kmin, ft_kmax, ft_msgs = _resolve_ft_range(kmin, kmax, bkg.kmax_data_invA)
    _emit(ft_msgs)
    ft = xftf(bkg.k_invA, bkg.chi, kmin=ft_kmin, kmax=ft_kmax, kweight=kweight, dk=dk,
              window=window, rmax_out=rmax_out)
    peaks, peak_msgs = shell_peaks_with_messages(ft.r_A, ft.magnitude, windows=peak_windows)
    _emit(peak_msgs)
    path, sha, scan = _source_of(spec)
    params = {"preset": preset, "e0_eV": norm.e0_eV, "edge_step": step,
              "edge_step_source": "normalize" if edge_step is None else "given",
              "normalize": norm.provenance.parameters, "autobk": bkg.params,
              "xftf": ft.params, "peak_windows_A": resolve_windows(peak_windows)}
    return ExafsResult(
        file=path, scan=scan, element=spec.element, e0_eV=norm.e0_eV, edge_step=step,
        kmax_data_invA=bkg.kmax_data_invA, k_invA=bkg.k_invA, chi=bkg.chi,
        kweight=int(ft.params["kweight"]), kwin=_window_on(bkg.k_invA, ft),
        ft_kmin_invA=ft_kmin, ft_kmax_invA=ft_kmax, r_A=ft.r_A, chir=ft.chir, ft_peaks=peaks,
        energy_eV=energy, bkg=bkg.bkg,
        provenance=Provenance("xas.exafs", parameters=params, source_file=path,
                              source_sha256=sha),
        warnings=tuple(norm.warnings) + bkg.warnings + tuple(ft_msgs) + tuple(peak_msgs),
        metadata=dict(spec.metadata))


def _window_on(k, ft):
    """FT window on the chi(k) grid (xftf's grid ends at the last k point)."""
    win = np.zeros(k.size)
    n = min(k.size, ft.window.size)
    win[:n] = ft.window[:n]
    return win


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
@dataclass(frozen=True, repr=False)
class ExafsStackResult(ResultDisplay):
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
        Common FT range (kmax None -> min over valid scans of kmax_data - 1, capped at 12).
    r_A : ndarray of shape (R,)
    chir : ndarray of shape (N, R), complex
    ft_peaks : tuple of tuple of FTPeak
        Peaks per scan.
    energy_eV : ndarray of shape (M,)
    bkg : ndarray of shape (N, M)
    provenance : Provenance
    warnings : tuple of str
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
    warnings: tuple[str, ...] = ()

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
        return ExafsResult(
            file=self.file, scan=self.scans[i], element=self.element,
            e0_eV=float(self.e0_eV[i]), edge_step=float(self.edge_step[i]),
            kmax_data_invA=float(self.kmax_data_invA[i]), k_invA=self.k_invA, chi=self.chi[i],
            kweight=self.kweight, kwin=self.kwin, ft_kmin_invA=self.ft_kmin_invA,
            ft_kmax_invA=self.ft_kmax_invA, r_A=self.r_A, chir=self.chir[i],
            ft_peaks=self.ft_peaks[i], energy_eV=self.energy_eV, bkg=self.bkg[i],
            provenance=self.provenance, warnings=self.warnings)

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
        labels = [p.label for p in self.ft_peaks[0]] if self.ft_peaks else []
        for label in labels:
            per_scan[nexus_name(f"r_apparent_{label}")] = DataArray(
                self.peak_positions(label), "angstrom", f"{label} apparent peak position")
        scans = DataGroup(per_scan, signal="e0", axes=["scan"], title="per-scan numbers")
        summary = {"file": self.file, "element": self.element, "n_spectra": len(self),
                   "n_valid": int(self.valid.sum()), "ft_kmin_invA": self.ft_kmin_invA,
                   "ft_kmax_invA": self.ft_kmax_invA, "kweight": w,
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


def _as_stack(data) -> SpectrumStack:
    if isinstance(data, SpectrumStack):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return SpectrumStack(axis=data[0], signals=data[1])
    raise InputError(f"analyze_exafs_stack needs a SpectrumStack or an (energy, mu_stack) pair, "
                     f"got {type(data).__name__}")


def _stack_e0(energy, mu, e0, preset, normalize_kws):
    """Normalise the stack; e0 None (per scan), a number, (N,) values or "median"."""
    from naheo_spec.xas.normalize import normalize_stack

    kws = dict(preset=preset, flatten=False, **(normalize_kws or {}))
    if isinstance(e0, str):
        if e0 != "median":
            raise InputError(f"e0={e0!r}; expected None, a number, an array or 'median'")
        first = normalize_stack(energy, mu, e0=None, **kws)
        e0 = float(np.nanmedian(first.e0_eV[first.valid]))
    return normalize_stack(energy, mu, e0=e0, **kws)


def analyze_exafs_stack(data, *, e0=None, edge_step=None, rbkg=1.0, bkg_kweight=None,
                        preset="larch", kmin=3.0, kmax=None, kweight=2, dk=1.0,
                        window="hanning", rmax_out=10.0, peak_windows=None,
                        normalize_kws=None) -> ExafsStackResult:
    """:func:`analyze_exafs` for N spectra on one grid, through the vectorized paths.

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
    kmax : float, optional
        Common FT end, A^-1; None -> min over valid scans of ``kmax_data - 1``, capped at 12.

    Returns
    -------
    ExafsStackResult
        Scans without a usable edge are kept as NaN rows, flagged in ``valid`` and
        explained in ``failures``; the others are processed.

    Raises
    ------
    InputError
        Bad input or options.
    ProcessingError
        No scan has a usable edge, or the common FT range is under 1 A^-1.

    References
    ----------
    See :func:`analyze_exafs`.
    """
    stack = _as_stack(data)
    energy, mu = stack.energy, stack.signals
    n = mu.shape[0]
    norm = _stack_e0(energy, mu, e0, preset, normalize_kws)
    steps = norm.edge_step if edge_step is None else np.broadcast_to(
        np.asarray(edge_step, dtype=float), (n,)).copy()
    valid = np.asarray(norm.valid, dtype=bool) & np.isfinite(steps) & (steps > 0)
    failures = {int(i): "no usable absorption edge (see the normalisation warnings)"
                for i in np.nonzero(~valid)[0]}
    bkg = autobk_stack(energy, mu[valid], e0=norm.e0_eV[valid], edge_step=steps[valid],
                       rbkg=rbkg, kweight=bkg_kweight, preset=preset)
    kmax_data = np.full(n, np.nan)
    kmax_data[valid] = bkg.kmax_data_invA
    ft_kmin, ft_kmax, ft_msgs = _resolve_ft_range(kmin, kmax, float(np.nanmin(kmax_data)))
    _emit(ft_msgs)
    ft = xftf(bkg.k_invA, bkg.chi, kmin=ft_kmin, kmax=ft_kmax, kweight=kweight, dk=dk,
              window=window, rmax_out=rmax_out)
    chi = np.full((n, bkg.k_invA.size), np.nan)
    chi[valid] = bkg.chi
    chir = np.full((n, ft.r_A.size), np.nan + 0j)
    chir[valid] = ft.chir
    bkg_full = np.full_like(mu, np.nan)
    bkg_full[valid] = bkg.bkg
    peaks, peak_msgs = _stack_peaks(ft.r_A, np.abs(chir), peak_windows)
    _emit(peak_msgs)
    scans = tuple(stack.label(i) for i in range(len(stack)))
    params = {"preset": preset, "e0": e0 if isinstance(e0, (str, type(None))) else "given",
              "edge_step_source": "normalize" if edge_step is None else "given",
              "normalize": norm.provenance.parameters, "autobk": bkg.params,
              "xftf": ft.params, "peak_windows_A": resolve_windows(peak_windows)}
    return ExafsStackResult(
        file=stack.source.path, element=stack.element, scans=scans,
        e0_eV=np.where(valid, norm.e0_eV, np.nan), edge_step=np.where(valid, steps, np.nan),
        kmax_data_invA=kmax_data, valid=valid, failures=failures, k_invA=bkg.k_invA, chi=chi,
        kweight=int(ft.params["kweight"]), kwin=_window_on(bkg.k_invA, ft),
        ft_kmin_invA=ft_kmin, ft_kmax_invA=ft_kmax, r_A=ft.r_A, chir=chir,
        ft_peaks=peaks, energy_eV=energy, bkg=bkg_full,
        provenance=Provenance("xas.exafs_stack", parameters=params,
                              source_file=stack.source.path, source_sha256=stack.source.sha256),
        warnings=tuple(norm.warnings) + bkg.warnings + tuple(ft_msgs) + tuple(peak_msgs))


def _stack_peaks(r, mag, windows) -> tuple[tuple, list[str]]:
    """Peaks per row (vectorized); missing peaks are reported once per window."""
    wins = resolve_windows(windows)
    found, msgs = shell_peaks_stack(r, mag, windows=wins)
    rows = tuple(tuple(FTPeak(label, float(found[label][0][i]), float(found[label][1][i]), w)
                       for label, w in wins.items()) for i in range(mag.shape[0]))
    return rows, msgs


__all__ = ["ExafsResult", "ExafsFailure", "ExafsStackResult", "analyze_exafs",
           "analyze_exafs_series", "analyze_exafs_stack", "KMAX_CAP"]

