"""EXAFS shell fitting: coordination number, distance and disorder of each shell.

:func:`fit_shells` fits FEFF paths to chi(k) with xraylarch's ``feffit`` (the same
residual, transform and statistics as larch/Artemis). Each path gets its own N, Delta R
(R = reff + Delta R) and sigma2; one Delta E0 is shared. Following larch's
``doc_feffit4`` convention the path degeneracy is set to 1 and the amplitude is
``S0^2 * N`` with S0^2 fixed (default 0.8) and N varied (start: FEFF degeneracy).

The result never reports a distance silently: parameters at a bound, undefined
uncertainties, a large R-factor, |Delta R| > 0.2 A, sigma2 outside [0, 0.03] A^2 or
more variables than independent points all produce a :class:`QualityWarning`
listed in ``ShellFitResult.warnings``.
"""
from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from naheo_spec.diagnostics import WarningCode, warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import (
    DefaultAdjustedWarning,
    FitError,
    InputError,
    QualityWarning,
)
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.provenance import Provenance
from naheo_spec.records import DataArray, DataGroup, Record
from naheo_spec.xas.larch_bridge import stdout_with_encoding

__all__ = ["PathFit", "ShellFitResult", "MultiShellFitResult", "fit_shells", "fit_shells_multi",
           "fit_series_shells", "distances_table",
           "QUALITY_LIMITS"]

#: Thresholds behind the quality warnings.
QUALITY_LIMITS = {
    "r_factor": 0.05,           # above: poor fit
    "abs_delr_A": 0.2,          # above: the structure model is probably wrong
    "sigma2_min_A2": 0.0,       # below: unphysical
    "sigma2_max_A2": 0.03,      # above: shell essentially not seen
    "bound_fraction": 0.01,     # within this fraction of the allowed range: "at a bound"
    "n_ratio": (0.5, 1.5),      # fitted N / structural N outside: amplitude absorbs something else
}

#: Systematic distance error of the FEFF6 model (A) per kind of path, added to the absolute
#: error budget (:attr:`ShellFitResult.r_uncertainty`). Set from five real standards with
#: known crystal structures (NiO, Ni(OH)2, MnO twice, Li2MnO3; FeO excluded: Fe(1-x)O's
#: defect clusters shorten the local Fe-O by 0.03-0.05 A): first-shell (absorber-anion)
#: distances come out 0.012-0.037 A short, more than the fit errors explain (RMS excess
#: 0.021 A, leave-one-out 0.016-0.023 A); metal-metal distances scatter within their errors
#: (no excess). See docs/uncertainties.md (EXAFS) and tests/xas/test_exafs_uncertainty.py.
THEORY_ERR_A = {"anion": 0.02, "metal": 0.0}
#: The noise-only error sigma_fit / sqrt(reduced chi2) from larch's R-space noise estimate
#: (|chi(R)| at 15-25 A) is multiplied by this: chi(k) on the interpolated 0.05 1/A grid
#: has correlated noise, and each scan has its own background, so repeat scans of one
#: sample scatter ~1.5x more than the noise-only error says (NiO.prj, XDL Ni(OH)2 and
#: "Ni2O3" repeats: mean z^2 of pairwise differences 1.97 without the factor, 0.87 with it;
#: leave-one-group-out factors 1.3-1.5).
NOISE_INFLATION = 1.5
_ANIONS = ("O", "F", "S", "N", "Cl", "Se", "C", "H")

_WINDOWS = ("hanning", "kaiser", "parzen", "welch", "gaussian", "sine", "bes")
_FIT_SPACES = ("r", "k", "q")


FIT_KMAX_CLIPPED = WarningCode("xas.shellfit.kmax_clipped", DefaultAdjustedWarning,
                               "The fit's kmax lies beyond the data and was clipped.")
AT_BOUND = WarningCode("xas.shellfit.at_bound", QualityWarning,
                       "A fitted parameter sits at its bound: value and error not meaningful.")
NO_UNCERTAINTIES = WarningCode("xas.shellfit.no_uncertainties", QualityWarning,
                               "The covariance matrix is not available: no uncertainties.")
UNDETERMINED = WarningCode("xas.shellfit.undetermined", QualityWarning,
                           "More variables than independent points: the fit is undetermined.")
NOT_CONVERGED = WarningCode("xas.shellfit.not_converged", QualityWarning,
                            "The minimiser did not converge.")
HIGH_R_FACTOR = WarningCode("xas.shellfit.high_r_factor", QualityWarning,
                            "R-factor above 0.05: the model does not describe the data.")
LARGE_DELR = WarningCode("xas.shellfit.large_delr", QualityWarning,
                         "A path moved by more than 0.2 angstrom from its FEFF distance.")
N_OFF = WarningCode("xas.shellfit.n_off", QualityWarning,
                    "A fitted coordination number is outside 0.5-1.5x the structural one.")
SIGMA2_OFF = WarningCode("xas.shellfit.sigma2_off", QualityWarning,
                         "A fitted sigma2 lies outside the physical range 0-0.03 angstrom^2.")


@dataclass(frozen=True)
class PathFit:
    """Fitted parameters of one shell (one FEFF path).

    Uncertainties are 1-sigma from the covariance matrix scaled as in larch/Artemis
    (by the reduced chi-square); None when they could not be estimated.
    """

    label: str
    scatterer: str
    reff_A: float
    r_A: float
    r_err_A: float | None
    n: float
    n_err: float | None
    sigma2_A2: float
    sigma2_err_A2: float | None
    degeneracy: float = math.nan
    filename: str = ""

    @property
    def delr_A(self) -> float:
        return self.r_A - self.reff_A

    def to_json_dict(self) -> dict[str, Any]:
        return {"label": self.label, "scatterer": self.scatterer, "reff_A": _num(self.reff_A),
                "r_A": _num(self.r_A), "r_err_A": _num(self.r_err_A), "n": _num(self.n),
                "n_err": _num(self.n_err), "sigma2_A2": _num(self.sigma2_A2),
                "sigma2_err_A2": _num(self.sigma2_err_A2)}


@dataclass(frozen=True, repr=False)
class ShellFitResult(ResultDisplay):
    """Result of :func:`fit_shells`.

    Attributes
    ----------
    paths : tuple of PathFit
        One entry per fitted path.
    e0_shift_eV, e0_shift_err_eV : float, float or None
        Common Delta E0 and its uncertainty.
    s02 : float
        S0^2 used (fixed unless ``vary_s02``).
    r_factor, reduced_chi2, chi_square : float
        larch/Artemis fit statistics (chi-square scaled to ``n_independent``).
    n_independent : float
        Nyquist estimate 1 + 2 dk dR / pi.
    n_varys : int
        Number of varied parameters.
    k_invA, chi_data, chi_model : ndarray
        chi(k) of the data and of the model on the fit k grid (not k-weighted).
    r_A : ndarray
        R grid of the transforms, A.
    chir_mag_data, chir_re_data, chir_im_data, chir_mag_model, chir_re_model, chir_im_model : ndarray
        |chi(R)|, Re and Im (A^-(kweight+1)) of data and model with the fit transform.
    path_chir_mag, path_chi_k : dict of str to ndarray
        Per-path model |chi(R)| on ``r_A`` and chi(k) on ``k_invA``, keyed by label.
    kweight : int
        The k-weight of the transforms above.
    correlations : tuple of (str, str, float)
        Parameter pairs with |correlation| >= 0.5.
    success : bool
        Whether the minimiser reported convergence.
    warnings : tuple of str
    provenance : Provenance
    suggestion : dict or None
        When the fit failed its checks: the nearby k/R range (and background k-weight)
        that passes them, from :func:`naheo_spec.xas.exafs_fit.suggest_fit_range`.
    r_uncertainty : dict or None
        Distance error budget per path label, A: ``feffit`` (the covariance error scaled
        by sqrt(reduced chi2), as larch/Artemis: mostly model misfit), ``series`` (noise
        only, sigma_feffit / sqrt(reduced chi2) x :data:`NOISE_INFLATION`: the error of a
        difference between scans of one series processed alike), ``k_range`` (standard
        deviation of R when kmin and kmax move by 1 1/A, or None when not computed),
        ``theory`` (:data:`THEORY_ERR_A`) and ``total`` (quadrature of feffit, k_range and
        theory: the error against the crystallographic distance).
    """

    paths: tuple[PathFit, ...]
    e0_shift_eV: float
    e0_shift_err_eV: float | None
    s02: float
    r_factor: float
    reduced_chi2: float
    chi_square: float
    n_independent: float
    n_varys: int
    k_invA: np.ndarray
    chi_data: np.ndarray
    chi_model: np.ndarray
    r_A: np.ndarray
    chir_mag_data: np.ndarray
    chir_re_data: np.ndarray
    chir_im_data: np.ndarray
    chir_mag_model: np.ndarray
    chir_re_model: np.ndarray
    chir_im_model: np.ndarray
    path_chir_mag: dict[str, np.ndarray]
    path_chi_k: dict[str, np.ndarray]
    kweight: int
    correlations: tuple[tuple[str, str, float], ...] = ()
    success: bool = True
    warnings: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance("xas.shellfit"))
    suggestion: dict[str, Any] | None = None
    r_uncertainty: dict[str, dict[str, float | None]] | None = None

    def path(self, label: str) -> PathFit:
        """The PathFit with this label (``"Ni-O"``)."""
        for p in self.paths:
            if p.label == label:
                return p
        raise KeyError(f"no path labelled {label!r}; labels: {[p.label for p in self.paths]}")

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe summary: paths, e0_shift_eV, r_factor, reduced_chi2, warnings, suggestion,
        r_uncertainty (NaN -> None)."""
        return {"paths": [p.to_json_dict() for p in self.paths], "e0_shift_eV": _num(self.e0_shift_eV),
                "r_factor": _num(self.r_factor), "reduced_chi2": _num(self.reduced_chi2),
                "warnings": warnings_json(self.warnings), "suggestion": self.suggestion,
                "r_uncertainty": self.r_uncertainty}

    def to_record(self, name: str) -> Record:
        """Store shape: flat summary per path plus the chi(R) arrays of data and model."""
        summary: dict[str, Any] = {"e0_shift_eV": _num(self.e0_shift_eV),
                                   "e0_shift_err_eV": _num(self.e0_shift_err_eV), "s02": self.s02,
                                   "r_factor": _num(self.r_factor), "reduced_chi2": _num(self.reduced_chi2),
                                   "n_independent": self.n_independent, "n_varys": self.n_varys,
                                   "warnings": warnings_json(self.warnings)}
        for p in self.paths:
            for key, val in p.to_json_dict().items():
                if key not in ("label", "scatterer"):
                    summary[f"{p.label}_{key}"] = val
        from naheo_spec.xas.fourier import inv_angstrom

        unit_r = inv_angstrom(self.kweight + 1)
        data = {"r": DataArray(self.r_A, "angstrom", "R (not phase corrected)"),
                "chir_mag_data": DataArray(self.chir_mag_data, unit_r, "|chi(R)| data"),
                "chir_mag_model": DataArray(self.chir_mag_model, unit_r, "|chi(R)| model"),
                "chir_re_data": DataArray(self.chir_re_data, unit_r, "Re chi(R) data"),
                "chir_re_model": DataArray(self.chir_re_model, unit_r, "Re chi(R) model")}
        chi_k = DataGroup({"k": DataArray(self.k_invA, "1/angstrom", "k"),
                           "chi_data": DataArray(self.chi_data, "", "chi(k) data"),
                           "chi_model": DataArray(self.chi_model, "", "chi(k) model")},
                          signal="chi_data", axes=["k"], title="chi(k): data and model")
        return Record(name=name, kind="exafs_shellfit", summary=summary, provenance=self.provenance,
                      data=data, signal="chir_mag_data", axes=["r"], groups={"chi_k": chi_k})

    def report(self) -> str:
        """Plain-text table of the fitted shells and statistics."""
        lines = [f"{'path':<10}{'reff/A':>8}{'R/A':>9}{'+-':>7}{'N':>7}{'+-':>6}{'s2/A2':>9}{'+-':>8}"]
        for p in self.paths:
            lines.append(f"{p.label:<10}{p.reff_A:8.4f}{p.r_A:9.4f}{_fmt(p.r_err_A, 4):>7}{p.n:7.2f}"
                         f"{_fmt(p.n_err, 2):>6}{p.sigma2_A2:9.5f}{_fmt(p.sigma2_err_A2, 5):>8}")
        lines.append(f"dE0 = {self.e0_shift_eV:.2f} +- {_fmt(self.e0_shift_err_eV, 2)} eV, S0^2 = {self.s02:.3f}, "
                     f"R-factor = {self.r_factor:.4f}, reduced chi2 = {self.reduced_chi2:.3f}, "
                     f"N_idp = {self.n_independent:.1f}, N_var = {self.n_varys}")
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)

    def display_title(self) -> str:
        return Path(self.provenance.source_file).name if self.provenance.source_file else ""

    def display_items(self):
        for p in self.paths:
            yield (f"{p.label} R", p.r_A, p.r_err_A, "angstrom")
            yield (f"{p.label} N", p.n, p.n_err, "")
            yield (f"{p.label} sigma2", p.sigma2_A2, p.sigma2_err_A2, "angstrom^2")
        yield ("dE0", self.e0_shift_eV, self.e0_shift_err_eV, "eV")
        yield ("R-factor", self.r_factor, None, "")




def _fmt(x, nd):
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{nd}f}"


# ---------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class _PathSpec:
    filename: str
    label: str
    scatterer: str
    reff_A: float
    degeneracy: float


def _path_specs(paths) -> list[_PathSpec]:
    """FeffPaths -> its two shell paths; FeffPath/filename sequence -> those paths."""
    from naheo_spec.xas.feff import FeffPath, FeffPaths, select_shell_paths

    if isinstance(paths, FeffPaths):
        items: list = list(select_shell_paths(paths))
    elif isinstance(paths, (str, Path, FeffPath)):
        items = [paths]
    else:
        items = list(paths)
    if not items:
        raise InputError("paths is empty: expected FeffPaths, FeffPath objects or feffNNNN.dat files")
    specs = []
    for it in items:
        if isinstance(it, FeffPath):
            specs.append(_PathSpec(it.filename, it.label, it.scatterers[0], it.reff_A, it.degeneracy))
        elif isinstance(it, (str, Path)):
            specs.append(_spec_from_file(Path(it)))
        else:
            raise InputError(f"paths item {it!r}: expected a FeffPath or a feffNNNN.dat path")
    seen: dict[str, int] = {}
    out = []
    for s in specs:  # labels must be unique: they key the results
        seen[s.label] = seen.get(s.label, 0) + 1
        label = s.label if seen[s.label] == 1 else f"{s.label}#{seen[s.label]}"
        out.append(_PathSpec(s.filename, label, s.scatterer, s.reff_A, s.degeneracy))
    return out


def _spec_from_file(p: Path) -> _PathSpec:
    from naheo_spec.xas.larch_bridge import larch_module

    FeffDatFile = larch_module("larch.xafs.feffdat").FeffDatFile

    if not p.is_file():
        raise InputError(f"FEFF path file {p} not found")
    fd = FeffDatFile(str(p))
    geom = getattr(fd, "geom", None)
    if not geom:
        raise InputError(f"{p}: not a FEFF feffNNNN.dat file (no path geometry found)")
    absorber, scatterer = geom[0][0], geom[1][0]
    label = "-".join([absorber] + [g[0] for g in geom[1:]])
    return _PathSpec(str(p.resolve()), label, scatterer, float(fd.reff), float(fd.degen))


def _check_data(k, chi, kmin, kmax, rmin, rmax, window, fit_space, msgs):
    k = np.asarray(k, dtype=float)
    chi = np.asarray(chi, dtype=float)
    if k.ndim != 1 or chi.shape != k.shape:
        raise InputError(f"k_invA and chi must be 1-D arrays of equal length; got shapes {k.shape} and {chi.shape}")
    good = np.isfinite(k) & np.isfinite(chi)
    if good.sum() < 10:
        raise InputError(f"k_invA/chi: {int(good.sum())} finite points, expected at least 10")
    k, chi = k[good], chi[good]
    if np.any(np.diff(k) <= 0):
        raise InputError("k_invA must be strictly increasing")
    if window not in _WINDOWS:
        raise InputError(f"window={window!r}: expected one of {', '.join(_WINDOWS)}")
    if fit_space not in _FIT_SPACES:
        raise InputError(f"fit_space={fit_space!r}: expected one of {', '.join(_FIT_SPACES)}")
    if not (0 <= kmin < kmax):
        raise InputError(f"kmin={kmin!r}, kmax={kmax!r}: expected 0 <= kmin < kmax (A^-1)")
    if not (0 <= rmin < rmax):
        raise InputError(f"rmin_A={rmin!r}, rmax_A={rmax!r}: expected 0 <= rmin_A < rmax_A (A)")
    if kmax > k[-1] + 1e-6:
        msgs.append(FIT_KMAX_CLIPPED.warn(
            f"kmax={kmax:g} A^-1 is beyond the data (k ends at {k[-1]:.2f}); kmax set to "
            f"{k[-1]:.2f}", stacklevel=4))
        kmax = float(k[-1])
        if kmax <= kmin:
            raise InputError(f"kmin={kmin!r} is beyond the data (k ends at {k[-1]:.2f} A^-1)")
    return k, chi, float(kmax)


# ---------------------------------------------------------------------------- fit
def _param_dict(specs, *, s02, vary_n, vary_s02, delr_max_A, sigma2_init_A2, e0_shift_init_eV,
                n_max_factor, prefix=""):
    from naheo_spec.xas.larch_bridge import larch_module

    param = larch_module("larch.fitting").param

    pars = {f"{prefix}s02": param(float(s02), vary=bool(vary_s02), min=0.0, max=2.0),
            f"{prefix}de0": param(float(e0_shift_init_eV), vary=True, min=-20.0, max=20.0)}
    for i, s in enumerate(specs, 1):
        pars[f"{prefix}n_{i}"] = param(s.degeneracy, vary=bool(vary_n), min=0.0,
                                       max=max(n_max_factor * s.degeneracy, 1.0))
        pars[f"{prefix}delr_{i}"] = param(0.0, vary=True, min=-delr_max_A, max=delr_max_A)
        pars[f"{prefix}sig2_{i}"] = param(float(sigma2_init_A2), vary=True, min=-0.01, max=0.05)
    return pars


def _build_params(specs, **kws):
    from naheo_spec.xas.larch_bridge import larch_module

    return larch_module("larch.fitting").param_group(**_param_dict(specs, **kws))


def _make_paths(specs, prefix=""):
    from naheo_spec.xas.larch_bridge import larch_module

    feffpath = larch_module("larch.xafs").feffpath

    return [feffpath(s.filename, label=f"{prefix}p{i}", degen=1, s02=f"{prefix}s02*{prefix}n_{i}",
                     e0=f"{prefix}de0", sigma2=f"{prefix}sig2_{i}", deltar=f"{prefix}delr_{i}")
            for i, s in enumerate(specs, 1)]


def _par(params, name, undetermined=False):
    p = params[name]
    if undetermined and p.vary:
        return float(p.value), None
    err = p.stderr if (p.vary or p.expr) else 0.0
    if err is not None and not math.isfinite(err):
        err = None
    return float(p.value), (None if err is None else float(err))


_FEFFIT_LOCK = threading.Lock()
#: Parameters shared between the datasets of :func:`fit_shells_multi`.
_SHARED_NAMES = ("r_tmtm",)


def _run_feffit(pars, dset, *, undetermined: bool):
    """larch ``feffit``, quietly; with more variables than independent points larch's
    uncertainty propagation (sqrt of a negative scale) would crash, so it is skipped."""
    from naheo_spec.xas.larch_bridge import larch_module

    feffit_mod = larch_module("larch.xafs.feffit")
    with warnings.catch_warnings():
        # S0^2 is fixed (std_dev 0) when larch propagates uncertainties with `uncertainties`.
        warnings.filterwarnings("ignore", message="Using UFloat objects with std_dev==0")
        warnings.filterwarnings("ignore", category=RuntimeWarning, message="invalid value encountered")
        try:
            if not undetermined:
                return feffit_mod.feffit(pars, dset)
            with _FEFFIT_LOCK:
                saved = feffit_mod.propagate_uncertainties
                feffit_mod.propagate_uncertainties = lambda *a, **k: None
                try:
                    return feffit_mod.feffit(pars, dset)
                finally:
                    feffit_mod.propagate_uncertainties = saved
        except (ValueError, TypeError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
            raise FitError(f"feffit failed: {exc}") from exc


def _quality(out, specs, params, msgs, *, undetermined, prefix="", rfactor=None, global_=True,
             bound_names=None):
    """Append the quality records of one dataset (``prefix``) and, with ``global_``, those
    of the whole fit (uncertainties, determinacy, convergence) to ``msgs``."""
    lim = QUALITY_LIMITS
    rfactor = out.rfactor if rfactor is None else rfactor
    if bound_names is None:
        bound_names = [n for n in (out.var_names or []) if n.startswith(prefix)]
    for name in bound_names:
        p = params[name]
        span = p.max - p.min
        if math.isfinite(span) and (p.value - p.min < lim["bound_fraction"] * span
                                    or p.max - p.value < lim["bound_fraction"] * span):
            bound = p.min if p.value - p.min < p.max - p.value else p.max
            msgs.append(AT_BOUND.record(
                f"parameter {name} = {p.value:.5g} is at its bound {bound:g}; its value and "
                "uncertainty are not meaningful", parameter=name))
    varied = [params[n] for n in (out.var_names or [])]
    if global_ and (not undetermined and not out.errorbars
                    or any(p.stderr is None or not math.isfinite(p.stderr) for p in varied)):
        msgs.append(NO_UNCERTAINTIES.record(
            "uncertainties could not be estimated (covariance matrix not available); "
            "errors are reported as None"))
    if global_ and (undetermined or out.nvarys >= out.n_independent):
        msgs.append(UNDETERMINED.record(
            f"{out.nvarys} variables but only {out.n_independent:.1f} independent points: "
            "the fit is undetermined and has no uncertainties; widen the k or R range, "
            "or fix parameters"))
    if global_ and not out.success:
        msgs.append(NOT_CONVERGED.record(f"the minimiser did not converge: {out.message}"))
    if rfactor > lim["r_factor"]:
        msgs.append(HIGH_R_FACTOR.record(
            f"R-factor {rfactor:.3f} > {lim['r_factor']}: the model does not describe the "
            "data", r_factor=float(rfactor)))
    for i, s in enumerate(specs, 1):
        dr, s2 = params[f"{prefix}delr_{i}"].value, params[f"{prefix}sig2_{i}"].value
        if abs(dr) > lim["abs_delr_A"]:
            msgs.append(LARGE_DELR.record(
                f"{s.label}: |Delta R| = {abs(dr):.3f} A > {lim['abs_delr_A']} A from the FEFF "
                f"reff {s.reff_A:.3f} A: check the structure model", path=s.label))
        n = params[f"{prefix}n_{i}"]
        lo, hi = lim["n_ratio"]
        if n.vary and s.degeneracy > 0 and not lo <= n.value / s.degeneracy <= hi:
            msgs.append(N_OFF.record(
                f"{s.label}: N = {n.value:.2f} is {n.value / s.degeneracy:.2f}x the structural "
                f"{s.degeneracy:g} (outside {lo}-{hi}x): N, sigma2 and S0^2 are trading off or "
                "the background/k range is off; treat R with care", path=s.label))
        if s2 < lim["sigma2_min_A2"] or s2 > lim["sigma2_max_A2"]:
            msgs.append(SIGMA2_OFF.record(
                f"{s.label}: sigma2 = {s2:.4f} A^2 outside [{lim['sigma2_min_A2']}, "
                f"{lim['sigma2_max_A2']}] A^2", path=s.label))


def _correlations(params, names, min_correl=0.5):
    out = []
    for i, a in enumerate(names):
        cor = params[a].correl or {}
        for b in names[i + 1:]:
            c = cor.get(b)
            if c is not None and abs(c) >= min_correl:
                out.append((a, b, round(float(c), 4)))
    return tuple(sorted(out, key=lambda t: -abs(t[2])))


def _collect(out, specs, dset, *, kweight, msgs, provenance, undetermined, prefix="",
             rfactor=None) -> ShellFitResult:
    params = out.params
    fits = []
    for i, s in enumerate(specs, 1):
        n, n_err = _par(params, f"{prefix}n_{i}", undetermined)
        dr, dr_err = _par(params, f"{prefix}delr_{i}", undetermined)
        s2, s2_err = _par(params, f"{prefix}sig2_{i}", undetermined)
        fits.append(PathFit(label=s.label, scatterer=s.scatterer, reff_A=s.reff_A, r_A=s.reff_A + dr,
                            r_err_A=dr_err, n=n, n_err=n_err, sigma2_A2=s2, sigma2_err_A2=s2_err,
                            degeneracy=s.degeneracy, filename=s.filename))
    de0, de0_err = _par(params, f"{prefix}de0", undetermined)
    data, model = dset.data, dset.model
    nk = len(model.k)
    path_r = {s.label: np.asarray(dset.paths[f"{prefix}p{i}"].chir_mag)
              for i, s in enumerate(specs, 1)}
    path_k = {s.label: np.interp(model.k, dset.paths[f"{prefix}p{i}"].k,
                                 dset.paths[f"{prefix}p{i}"].chi)
              for i, s in enumerate(specs, 1)}
    kw = int(kweight if np.ndim(kweight) == 0 else list(kweight)[0])
    return ShellFitResult(
        paths=tuple(fits), e0_shift_eV=de0, e0_shift_err_eV=de0_err,
        s02=float(params[f"{prefix}s02"].value),
        r_factor=float(out.rfactor if rfactor is None else rfactor), reduced_chi2=float(out.chi2_reduced), chi_square=float(out.chi_square),
        n_independent=float(out.n_independent), n_varys=int(out.nvarys),
        k_invA=np.asarray(model.k), chi_data=np.interp(model.k, data.k, data.chi)[:nk],
        chi_model=np.asarray(model.chi), r_A=np.asarray(data.r),
        chir_mag_data=np.asarray(data.chir_mag), chir_re_data=np.asarray(data.chir_re),
        chir_im_data=np.asarray(data.chir_im), chir_mag_model=np.asarray(model.chir_mag),
        chir_re_model=np.asarray(model.chir_re), chir_im_model=np.asarray(model.chir_im),
        path_chir_mag=path_r, path_chi_k=path_k, kweight=kw,
        correlations=_correlations(params, [n for n in (out.var_names or []) if n.startswith(prefix)
                                            or n in _SHARED_NAMES]),
        success=bool(out.success),
        warnings=tuple(msgs), provenance=provenance)


def fit_shells(k_invA, chi, paths, *, kmin: float = 3.0, kmax: float = 12.0, kweight: int = 2,
               dk: float = 1.0, window: str = "hanning", rmin_A: float = 1.0, rmax_A: float = 3.2,
               fit_space: str = "r", s02: float = 0.8, vary_n: bool = True, vary_s02: bool = False,
               delr_max_A: float = 0.5, sigma2_init_A2: float = 0.005, e0_shift_init_eV: float = 0.0,
               n_max_factor: float = 3.0, epsilon_k: float | None = None, delta_chi=None,
               source_file: str | None = None, k_sensitivity: bool = False,
               k_sensitivity_max_invA: float | None = None) -> ShellFitResult:
    """Fit FEFF single-scattering shells to chi(k) (larch ``feffit``).

    Parameters
    ----------
    k_invA : array-like, shape (K,)
        Photoelectron wavenumber in A^-1, strictly increasing (any grid; larch
        interpolates onto 0.05 A^-1).
    chi : array-like, shape (K,)
        chi(k), not k-weighted.
    paths : FeffPaths or sequence of FeffPath or of str/Path
        A :func:`~naheo_spec.xas.feff.run_feff` result (its first absorber--anion and
        first metal--metal single-scattering paths are fitted, see
        :func:`~naheo_spec.xas.feff.select_shell_paths`), or explicit paths / ``feffNNNN.dat`` files.
    kmin, kmax : float
        k range of the forward transform, A^-1. Defaults are 3.0 and 12.0; a kmax beyond the
        data is clipped with a DefaultAdjustedWarning.
    kweight : int
        k-weight of the fit transform. Default is 2.
    dk : float
        Window sill width, A^-1. Default is 1.0.
    window : str
        k window (hanning, kaiser, parzen, welch, gaussian, sine, bes). Default is ``"hanning"``.
    rmin_A, rmax_A : float
        R range of the fit, A. Defaults are 1.0 and 3.2.
    fit_space : {"r", "k", "q"}
        Space in which the residual is computed. Default is ``"r"``.
    s02 : float
        Amplitude reduction factor S0^2. Default is 0.8 (typical of 3d transition-metal
        oxides); larch's ``doc_feffit4`` FeO example uses 0.7.
    vary_n : bool
        Vary each path's N (start at the FEFF degeneracy) with S0^2 fixed. If False, N is
        fixed at the degeneracy. Default is True.
    vary_s02 : bool
        Vary one common S0^2 (only with ``vary_n=False``; N and S0^2 are fully correlated).
        Default is False.
    delr_max_A : float
        Bounds of each Delta R, +-A. Default is 0.5.
    sigma2_init_A2 : float
        Starting sigma2, A^2 (bounds -0.01 to 0.05). Default is 0.005.
    e0_shift_init_eV : float
        Starting Delta E0, eV (bounds +-20). Default is 0.0.
    n_max_factor : float
        Upper bound of N as a multiple of the degeneracy. Default is 3.0.
    epsilon_k : float, optional
        Noise in chi(k); None (default) lets larch estimate it from |chi(R)| at 15--30 A.
    delta_chi : array-like, shape (K,), optional
        Uncertainty of chi(k) from the background removal (larch ``autobk`` with
        ``calc_uncertainties``); added in quadrature to the noise estimate as larch does.
        It changes chi-square and reduced chi-square, not the best-fit values.
        Default is None.
    source_file : str, optional
        Recorded in the provenance.
    k_sensitivity : bool
        Also refit with kmin -1/+1 and kmax -1/+1 A^-1 (4 more fits) and report the spread
        of R as the ``k_range`` term of ``r_uncertainty``. Default is False (the
        :func:`naheo_spec.xas.exafs_fit.fit_exafs_result` path and the CLI turn it on).
    k_sensitivity_max_invA : float, optional
        Largest kmax the sensitivity refits may use, A^-1 (e.g. the next-edge limit);
        None -> the end of the data. Default is None.

    Returns
    -------
    ShellFitResult
        With more variables than independent points (1 + 2 dk dR / pi) the fit is still
        returned, but with every uncertainty None and a warning. ``r_uncertainty`` holds
        the distance error budget (see :class:`ShellFitResult`).

    Raises
    ------
    InputError
        For malformed arrays, ranges, window, fit space or path inputs, or
        ``vary_n`` and ``vary_s02`` both True.
    FitError
        If larch's feffit fails outright.

    Warns
    -----
    QualityWarning
        Parameter at a bound, undefined uncertainties, too few independent points,
        R-factor > 0.05, |Delta R| > 0.2 A, sigma2 outside [0, 0.03] A^2 (see
        :data:`QUALITY_LIMITS`); each message is also in ``warnings``.
    DefaultAdjustedWarning
        kmax clipped to the data.

    References
    ----------
    Newville, M., J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964 (feffit);
    Newville, M., J. Phys.: Conf. Ser. 430, 012007 (2013); larch ``examples/feffit/doc_feffit4.py``.
    """
    if vary_n and vary_s02:
        raise InputError("vary_n=True and vary_s02=True: N and S0^2 are fully correlated; vary one of them")
    if not (0 < delr_max_A <= 2.0):
        raise InputError(f"delr_max_A={delr_max_A!r}: expected 0 < delr_max_A <= 2 A")
    adjusted: list[str] = []
    k, chi_arr, kmax = _check_data(k_invA, chi, float(kmin), float(kmax), float(rmin_A), float(rmax_A),
                                   window, fit_space, adjusted)
    dchi = None
    if delta_chi is not None:
        dchi = np.asarray(delta_chi, dtype=float)
        if dchi.shape != np.shape(k_invA) or dchi.shape != np.shape(chi):
            raise InputError(f"delta_chi has shape {dchi.shape}; expected that of k_invA {np.shape(k_invA)}")
        dchi = dchi[np.isfinite(np.asarray(k_invA, float)) & np.isfinite(np.asarray(chi, float))]
    specs = _path_specs(paths)
    from naheo_spec.xas.larch_bridge import larch_module

    Group = larch_module("larch").Group
    xafs = larch_module("larch.xafs")
    feffit_dataset, feffit_transform = xafs.feffit_dataset, xafs.feffit_transform

    pars = _build_params(specs, s02=s02, vary_n=vary_n, vary_s02=vary_s02, delr_max_A=float(delr_max_A),
                         sigma2_init_A2=sigma2_init_A2, e0_shift_init_eV=e0_shift_init_eV,
                         n_max_factor=n_max_factor)
    trans = feffit_transform(kmin=float(kmin), kmax=kmax, kweight=kweight, dk=float(dk), window=window,
                             rmin=float(rmin_A), rmax=float(rmax_A), fitspace=fit_space)
    data = Group(k=k, chi=chi_arr) if dchi is None else Group(k=k, chi=chi_arr, delta_chi=dchi)
    n_var = 1 + len(specs) * (3 if vary_n else 2) + int(bool(vary_s02))
    n_idp = 1 + 2 * (float(rmax_A) - float(rmin_A)) * (kmax - float(kmin)) / math.pi
    with stdout_with_encoding():
        dset = feffit_dataset(data=data, pathlist=_make_paths(specs), transform=trans,
                              epsilon_k=epsilon_k)
        out = _run_feffit(pars, dset, undetermined=n_var >= n_idp)
    quality: list[str] = []
    _quality(out, specs, out.params, quality, undetermined=n_var >= n_idp)
    resolved = {"kmin": float(kmin), "kmax": kmax, "kweight": kweight, "dk": float(dk), "window": window,
                "rmin_A": float(rmin_A), "rmax_A": float(rmax_A), "fit_space": fit_space, "s02": float(s02),
                "vary_n": bool(vary_n), "vary_s02": bool(vary_s02), "delr_max_A": float(delr_max_A),
                "sigma2_init_A2": float(sigma2_init_A2), "e0_shift_init_eV": float(e0_shift_init_eV),
                "n_max_factor": float(n_max_factor),
                "epsilon_k": epsilon_k if epsilon_k is None or np.ndim(epsilon_k) == 0 else "array",
                "delta_chi": dchi is not None, "engine": "larch.feffit",
                "paths": [{"label": s.label, "file": s.filename, "reff_A": s.reff_A,
                           "degeneracy": s.degeneracy} for s in specs]}
    prov = Provenance("xas.shellfit", resolved, source_file=source_file)
    for m in quality:
        m.emit(stacklevel=2)
    res = _collect(out, specs, out.datasets[0], kweight=kweight, msgs=adjusted + quality,
                   provenance=prov, undetermined=n_var >= n_idp)
    k_spread = None
    if k_sensitivity:
        top = float(k[-1]) if k_sensitivity_max_invA is None else min(float(k[-1]),
                                                                      float(k_sensitivity_max_invA))
        k_spread = _k_range_spread(k, chi_arr, specs, res, top, dict(
            kweight=kweight, dk=dk, window=window, rmin_A=rmin_A, rmax_A=rmax_A,
            fit_space=fit_space, s02=s02, vary_n=vary_n, vary_s02=vary_s02, delr_max_A=delr_max_A,
            sigma2_init_A2=sigma2_init_A2, e0_shift_init_eV=e0_shift_init_eV,
            n_max_factor=n_max_factor, epsilon_k=epsilon_k), float(kmin), kmax)
    budget = r_error_budget(res, k_spread)
    res = replace(res, r_uncertainty=budget,
                  provenance=Provenance("xas.shellfit", {**resolved, "k_sensitivity": bool(k_sensitivity),
                                                         "theory_err_A": dict(THEORY_ERR_A),
                                                         "noise_inflation": NOISE_INFLATION},
                                        source_file=source_file))
    return res


def _k_range_spread(k, chi, specs, base, top, kws, kmin, kmax) -> dict[str, float] | None:
    """Standard deviation of each path's R over the base fit and kmin/kmax moved by 1 A^-1."""
    trials = [(max(1.0, kmin - 1.0), kmax), (kmin + 1.0, kmax), (kmin, kmax - 1.0)]
    if kmax + 1.0 <= top + 1e-9:
        trials.append((kmin, kmax + 1.0))
    rows = [[p.r_A for p in base.paths]]
    from naheo_spec.diagnostics import capture

    paths = [sp.filename for sp in specs]
    for a, b in trials:
        if b - a < 3.0:
            continue
        with capture():
            try:
                fit = fit_shells(k, chi, paths, kmin=a, kmax=b, **kws)
            except (FitError, InputError):
                continue
        rows.append([p.r_A for p in fit.paths])
    if len(rows) < 3:
        return None
    spread = np.std(np.array(rows), axis=0, ddof=1)
    return {p.label: float(v) for p, v in zip(base.paths, spread)}


def r_error_budget(fit: "ShellFitResult", k_spread: dict[str, float] | None = None
                   ) -> dict[str, dict[str, float | None]]:
    """The distance error budget of a shell fit, per path label (A).

    Terms: ``feffit`` (larch's error, scaled by sqrt(reduced chi2)), ``series``
    (noise only: feffit / sqrt(reduced chi2) x :data:`NOISE_INFLATION`; for differences
    between scans of one series), ``k_range`` (spread of R over nearby k ranges, or None),
    ``theory`` (:data:`THEORY_ERR_A`: 0.02 A for absorber-anion paths, 0 for
    metal-metal), and ``total`` = sqrt(feffit^2 + k_range^2 + theory^2), the error
    against a crystallographic distance.

    Parameters
    ----------
    fit : ShellFitResult
    k_spread : dict of str to float, optional
        From the k-range refits. Default None.

    Returns
    -------
    dict of str to dict
        ``{label: {"feffit", "series", "k_range", "theory", "total"}}``; a term is None
        when it could not be computed (no uncertainties from the fit).

    References
    ----------
    M. Newville, J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964 (feffit
    statistics); International XAFS Society, Error Reporting Recommendations (Standards
    and Criteria Committee, 2000), https://www.ixasportal.net (systematic vs statistical
    errors); measured terms: docs/uncertainties.md (EXAFS).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> fit = NS(reduced_chi2=400.0, paths=[NS(label="Ni-O", scatterer="O", r_err_A=0.008)])
    >>> b = r_error_budget(fit)["Ni-O"]
    >>> round(b["series"], 4), round(b["total"], 4)
    (0.0006, 0.0215)
    """
    out: dict[str, dict[str, float | None]] = {}
    chi2 = getattr(fit, "reduced_chi2", math.nan)
    scale = math.sqrt(chi2) if chi2 is not None and math.isfinite(chi2) and chi2 > 1 else 1.0
    for p in fit.paths:
        err = p.r_err_A
        theory = THEORY_ERR_A["anion"] if p.scatterer in _ANIONS else THEORY_ERR_A["metal"]
        ks = None if k_spread is None else k_spread.get(p.label)
        if err is None or not math.isfinite(err):
            out[p.label] = {"feffit": None, "series": None, "k_range": ks, "theory": theory,
                            "total": None}
            continue
        total = math.sqrt(err ** 2 + (ks or 0.0) ** 2 + theory ** 2)
        out[p.label] = {"feffit": float(err), "series": float(err / scale * NOISE_INFLATION),
                        "k_range": ks, "theory": theory, "total": float(total)}
    return out


def fit_series_shells(spectra: Sequence[tuple[Any, Any]], paths, **kwargs) -> list[ShellFitResult]:
    """Fit the same shells to each (k, chi) of a series.

    Parameters
    ----------
    spectra : sequence of (k_invA, chi)
        One pair of arrays per scan.
    paths : FeffPaths or sequence of FeffPath or of str/Path
        As in :func:`fit_shells`; compute it once with
        :func:`~naheo_spec.xas.feff.run_feff` (cached) and reuse it for the whole series.
    **kwargs
        Passed to :func:`fit_shells`.

    Returns
    -------
    list of ShellFitResult
        In input order.

    Raises
    ------
    InputError, FitError
        As :func:`fit_shells`, for the first scan that fails.

    References
    ----------
    See :func:`fit_shells`.
    """
    from naheo_spec.xas.feff import FeffPaths, select_shell_paths

    # Select the shells once so that every scan is fitted with the same paths and labels.
    chosen = list(select_shell_paths(paths)) if isinstance(paths, FeffPaths) else paths
    return [fit_shells(k, chi, chosen, **kwargs) for k, chi in spectra]


def distances_table(results: Sequence[ShellFitResult], *, names: Sequence[str] | None = None
                    ) -> list[dict[str, Any]]:
    """One row per scan: R, N, sigma2 (and errors) of every path, dE0 and fit statistics.

    Parameters
    ----------
    results : sequence of ShellFitResult
    names : sequence of str, optional
        Scan names; None (default) uses ``0, 1, 2...``.

    Returns
    -------
    list of dict
        Keys ``scan``, ``<label>_r_A``, ``<label>_r_err_A`` (feffit), ``<label>_n``,
        ``<label>_n_err``, ``<label>_sigma2_A2``, ``<label>_sigma2_err_A2``,
        ``<label>_r_err_series_A`` and ``<label>_r_err_total_A`` (the error budget of
        :class:`ShellFitResult`) for each path, then ``e0_shift_eV``, ``r_factor``,
        ``reduced_chi2``, ``n_warnings``. Undefined values are None.

    Raises
    ------
    InputError
        If ``names`` and ``results`` differ in length.
    """
    if names is not None and len(names) != len(results):
        raise InputError(f"names has {len(names)} entries for {len(results)} results")
    rows = []
    for i, res in enumerate(results):
        row: dict[str, Any] = {"scan": names[i] if names is not None else i}
        budget = getattr(res, "r_uncertainty", None) or {}
        for p in res.paths:
            d = p.to_json_dict()
            for key in ("r_A", "r_err_A", "n", "n_err", "sigma2_A2", "sigma2_err_A2"):
                row[f"{p.label}_{key}"] = d[key]
            terms = budget.get(p.label, {})
            row[f"{p.label}_r_err_series_A"] = _num(terms.get("series"))
            row[f"{p.label}_r_err_total_A"] = _num(terms.get("total"))
        row.update({"e0_shift_eV": _num(res.e0_shift_eV), "r_factor": _num(res.r_factor),
                    "reduced_chi2": _num(res.reduced_chi2), "n_warnings": len(res.warnings)})
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------- several edges
@dataclass(frozen=True, repr=False)
class MultiShellFitResult(ResultDisplay):
    """Result of :func:`fit_shells_multi`: one fit of several datasets (edges) at once.

    Attributes
    ----------
    fits : dict of str to ShellFitResult
        Per dataset (keyed by its label, e.g. ``"Ni"``): paths, dE0, per-dataset R-factor
        and the data/model arrays. A shared distance appears in every dataset's paths
        with the same value and error.
    shared : dict of str to (float, float or None)
        Shared parameters: ``"r_tmtm_A"`` (value, 1-sigma error) when the metal-metal
        distance was shared.
    r_factor, reduced_chi2, chi_square, n_independent : float
        Statistics of the whole fit (larch ``feffit`` over all datasets).
    n_varys : int
        Number of varied parameters.
    warnings : tuple of WarningRecord
        Every dataset's quality records, prefixed with its label.
    provenance : Provenance
    """

    fits: dict[str, ShellFitResult]
    shared: dict[str, tuple[float, float | None]]
    r_factor: float
    reduced_chi2: float
    chi_square: float
    n_independent: float
    n_varys: int
    warnings: tuple = ()
    provenance: Provenance = field(default_factory=lambda: Provenance("xas.shellfit_multi"))

    def to_json_dict(self) -> dict[str, Any]:
        """``{"datasets": {label: fit json}, "shared": {...}, r_factor, reduced_chi2, warnings}``."""
        return {"datasets": {k: v.to_json_dict() for k, v in self.fits.items()},
                "shared": {k: {"value": _num(v), "err": _num(e)} for k, (v, e) in self.shared.items()},
                "r_factor": _num(self.r_factor), "reduced_chi2": _num(self.reduced_chi2),
                "warnings": warnings_json(self.warnings)}

    def report(self) -> str:
        """Plain-text table: the shared parameters, then each dataset's shells."""
        lines = [f"shared {k}: {v:.4f} +- {_fmt(e, 4)}" for k, (v, e) in self.shared.items()]
        for label, fit in self.fits.items():
            lines.append(f"[{label}]")
            lines.append(fit.report())
        lines.append(f"total: R-factor = {self.r_factor:.4f}, reduced chi2 = {self.reduced_chi2:.3f}, "
                     f"N_idp = {self.n_independent:.1f}, N_var = {self.n_varys}")
        return "\n".join(lines)

    def display_title(self) -> str:
        return "+".join(self.fits)

    def display_items(self):
        for k, (v, e) in self.shared.items():
            yield (f"shared {k}", v, e, "angstrom")
        for label, fit in self.fits.items():
            for p in fit.paths:
                yield (f"{label}: {p.label} R", p.r_A, p.r_err_A, "angstrom")
        yield ("R-factor", self.r_factor, None, "")


def _dataset_rfactor(ds, params) -> float:
    res = ds._residual(params)
    dat = ds._residual(params, data_only=True)
    return float(np.sum(res ** 2) / np.sum(dat ** 2))


def fit_shells_multi(datasets: Sequence[tuple[str, Any, Any, Any]], *, share_tm_tm: bool = True,
                     kmin: float = 3.0, kmax: float = 12.0, kweight: int = 2, dk: float = 1.0,
                     window: str = "hanning", rmin_A: float = 1.0, rmax_A: float = 3.2,
                     s02: float | dict = 0.8, vary_n: bool = True, delr_max_A: float = 0.5,
                     sigma2_init_A2: float = 0.005, e0_shift_init_eV: float = 0.0,
                     n_max_factor: float = 3.0, epsilon_k: float | None = None,
                     source_file: str | None = None) -> MultiShellFitResult:
    """Fit the shells of several edges of one sample together, sharing the TM-TM distance.

    In a layered oxide every transition metal of the TMO2 layer sits on the same
    triangular lattice, so the first metal-metal distance is the hexagonal a for the Ni,
    Fe and Mn edges alike. Fitting the edges together with one R(TM-TM) (larch ``feffit``
    with several datasets) uses that constraint: each dataset keeps its own dE0, TM-O
    distance, N and sigma2, and the shared R gets the information of all edges.

    Parameters
    ----------
    datasets : sequence of (label, k_invA, chi, paths[, options])
        One entry per edge: a label (``"Ni"``), chi(k) (unweighted) on its k grid, its
        paths (a :func:`~naheo_spec.xas.feff.run_feff` result, whose first TM-O and TM-TM
        single-scattering paths are used, or explicit paths), and optionally a dict
        ``{"kmin": .., "kmax": .., "s02": ..}`` overriding the common values for that edge
        (e.g. its FT range, which stops before the next edge).
    share_tm_tm : bool
        Share one R for the metal-metal path of every dataset (parameter ``r_tmtm``).
        False fits the datasets jointly but independently. Default is True.
    kmin, kmax, kweight, dk, window, rmin_A, rmax_A, vary_n, delr_max_A, sigma2_init_A2, e0_shift_init_eV, n_max_factor, epsilon_k
        As in :func:`fit_shells`, for every dataset (kmax clipped to each dataset's data).
    s02 : float or dict of str to float
        S0^2 (fixed), one value or one per label. Default is 0.8.
    source_file : str, optional
        Recorded in the provenance.

    Returns
    -------
    MultiShellFitResult

    Raises
    ------
    InputError
        Fewer than two datasets, duplicate labels, a dataset without a metal-metal path
        when ``share_tm_tm``, or the errors of :func:`fit_shells`.
    FitError
        If larch's feffit fails.

    References
    ----------
    M. Newville, J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964 (feffit,
    several data sets with shared parameters); B. Ravel and M. Newville, J. Synchrotron Rad.
    12, 537 (2005), doi:10.1107/S0909049505012719 (multiple-edge fits in ARTEMIS).
    """
    from naheo_spec.xas.larch_bridge import larch_module
    from naheo_spec.xas.structures import TRANSITION_METALS

    items = list(datasets)
    if len(items) < 2:
        raise InputError(f"fit_shells_multi needs at least two datasets, got {len(items)}; use fit_shells")
    labels = [str(it[0]) for it in items]
    if len(set(labels)) != len(labels):
        raise InputError(f"dataset labels must be unique, got {labels}")
    param_mod = larch_module("larch.fitting")
    xafs = larch_module("larch.xafs")
    Group = larch_module("larch").Group
    adjusted: list = []
    labels = [str(x) for x in labels]
    pars: dict[str, Any] = {}
    prepared = []
    for j, item in enumerate(items, 1):
        label, k_invA, chi, paths = item[:4]
        over = dict(item[4]) if len(item) > 4 and item[4] else {}
        unknown = set(over) - {"kmin", "kmax", "s02"}
        if unknown:
            raise InputError(f"dataset {label!r}: unknown options {sorted(unknown)} "
                             "(allowed: kmin, kmax, s02)")
        prefix = f"d{j}_"              # parameter names must be identifiers; labels are free text
        kmin_d = float(over.get("kmin", kmin))
        k, chi_arr, kmax_d = _check_data(k_invA, chi, kmin_d, float(over.get("kmax", kmax)),
                                         float(rmin_A), float(rmax_A), window, "r", adjusted)
        specs = _path_specs(paths)
        s02_d = over.get("s02", s02.get(label, 0.8) if isinstance(s02, dict) else s02)
        pars.update(_param_dict(specs, s02=s02_d, vary_n=vary_n, vary_s02=False,
                                delr_max_A=float(delr_max_A), sigma2_init_A2=sigma2_init_A2,
                                e0_shift_init_eV=e0_shift_init_eV, n_max_factor=n_max_factor,
                                prefix=prefix))
        tm = [i for i, sp in enumerate(specs, 1) if sp.scatterer in TRANSITION_METALS]
        if share_tm_tm and not tm:
            raise InputError(f"dataset {label!r} has no metal-metal path to share "
                             f"(paths: {[sp.label for sp in specs]})")
        prepared.append((str(label), prefix, k, chi_arr, (kmin_d, kmax_d), specs,
                         tm[0] if tm else None))
    shared_names: list[str] = []
    if share_tm_tm:
        reffs = [specs[i - 1].reff_A for *_, specs, i in prepared]
        r0 = float(np.mean(reffs))
        pars["r_tmtm"] = param_mod.param(r0, vary=True, min=r0 - delr_max_A, max=r0 + delr_max_A)
        shared_names.append("r_tmtm")
        for label, prefix, *_, specs, i in prepared:
            pars[f"{prefix}delr_{i}"] = param_mod.param(expr=f"r_tmtm - {specs[i - 1].reff_A:.6f}")
    group = param_mod.param_group(**pars)
    dsets = []
    n_idp = 0.0
    for label, prefix, k, chi_arr, (kmin_d, kmax_d), specs, _ in prepared:
        trans = xafs.feffit_transform(kmin=kmin_d, kmax=kmax_d, kweight=kweight, dk=float(dk),
                                      window=window, rmin=float(rmin_A), rmax=float(rmax_A),
                                      fitspace="r")
        with stdout_with_encoding():
            dsets.append(xafs.feffit_dataset(data=Group(k=k, chi=chi_arr),
                                             pathlist=_make_paths(specs, prefix), transform=trans,
                                             epsilon_k=epsilon_k))
        n_idp += 1 + 2 * (float(rmax_A) - float(rmin_A)) * (kmax_d - kmin_d) / math.pi
    n_var = sum(1 for p in pars.values() if getattr(p, "vary", False) and not getattr(p, "expr", None))
    undetermined = n_var >= n_idp
    with stdout_with_encoding():
        out = _run_feffit(group, dsets, undetermined=undetermined)
    fits: dict[str, ShellFitResult] = {}
    all_msgs: list = []
    global_msgs: list = []
    _quality(out, [], out.params, global_msgs, undetermined=undetermined, rfactor=0.0,
             bound_names=shared_names)
    resolved_common = {"kmin": float(kmin), "kweight": kweight, "dk": float(dk), "window": window,
                       "rmin_A": float(rmin_A), "rmax_A": float(rmax_A), "fit_space": "r",
                       "vary_n": bool(vary_n), "share_tm_tm": bool(share_tm_tm),
                       "engine": "larch.feffit (several datasets)"}
    for (label, prefix, k, chi_arr, (kmin_d, kmax_d), specs, _), ds in zip(prepared, out.datasets):
        rf = _dataset_rfactor(ds, out.params)
        msgs: list = []
        _quality(out, specs, out.params, msgs, undetermined=undetermined, prefix=prefix,
                 rfactor=rf, global_=False)
        msgs = [m.prefixed(label) for m in msgs]
        prov = Provenance("xas.shellfit", {**resolved_common, "kmin": kmin_d, "kmax": kmax_d,
                                           "dataset": label,
                                           "paths": [{"label": sp.label, "file": sp.filename,
                                                      "reff_A": sp.reff_A} for sp in specs]},
                          source_file=source_file)
        fits[label] = _collect(out, specs, ds, kweight=kweight, msgs=msgs, provenance=prov,
                               undetermined=undetermined, prefix=prefix, rfactor=rf)
        all_msgs += msgs
    shared = {}
    if share_tm_tm:
        shared["r_tmtm_A"] = _par(out.params, "r_tmtm", undetermined)
    records = tuple(adjusted + global_msgs + all_msgs)
    for m in global_msgs + all_msgs:
        m.emit(stacklevel=2)
    return MultiShellFitResult(
        fits=fits, shared=shared, r_factor=float(out.rfactor), reduced_chi2=float(out.chi2_reduced),
        chi_square=float(out.chi_square), n_independent=float(out.n_independent),
        n_varys=int(out.nvarys), warnings=records,
        provenance=Provenance("xas.shellfit_multi", {**resolved_common, "kmax": float(kmax),
                                                     "datasets": labels}, source_file=source_file))
