"""Oxidation state from the edge position: a calibration line through standards.

For a series of oxides of one element the K-edge position rises roughly linearly
with the formal oxidation state (a few eV per unit). Standards of known formal
valence v_i give edge positions E_i (foil-calibrated, with one E0 definition);
a weighted straight line E = a + b·v is fitted and inverted for a sample.

Line fit
    Weighted least squares with σ_i = max(e0_err_i, ``min_sigma_eV``). The
    parameter covariance (XᵀWX)⁻¹ is multiplied by max(1, χ²/dof) so that the
    scatter of the standards about the line, and not only their quoted E0 errors,
    sets the uncertainty (as lmfit/curve_fit with ``absolute_sigma=False``, but
    never shrinking below the quoted errors). With two distinct valences and two
    points (dof = 0) the unscaled covariance is used.

Inverse prediction (delta method)
    v = (E − a)/b, so with σ_E the sample's E0 error,

        σ_v² = [σ_E² + s² + var(a) + v²·var(b) + 2v·cov(a, b)] / b²

    where s² is the standards' scatter about the line (reduced χ² times the mean
    σ_i², i.e. how far a real compound typically sits from the line) when
    ``include_scatter=True`` (default), and 0 otherwise. Without s², σ_v is the
    error of the *line* at E; with it, σ_v is a prediction interval for a new
    compound, which is what a leave-one-out test measures.

References
----------
.. [1] F. Farges, "Ab initio and experimental pre-edge investigations of the Mn
   K-edge XANES in oxide-type materials", Phys. Rev. B 71, 155109 (2005),
   doi:10.1103/PhysRevB.71.155109 (edge position vs Mn valence).
.. [2] H. Dau, P. Liebisch and M. Haumann, "X-ray absorption spectroscopy to analyze
   nuclear geometry and electronic structure of biological metal centers",
   Anal. Bioanal. Chem. 376, 562 (2003), doi:10.1007/s00216-003-1982-2.
.. [3] P. J. Brown, "Measurement, Regression, and Calibration", Oxford (1993)
   (inverse prediction from a calibration line, delta method).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np

from naheo_spec.diagnostics import WarningCode, warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import CalibrationError, InputError, QualityWarning
from naheo_spec.provenance import Provenance

#: Floor on each standard's E0 uncertainty in the weights (eV): E0 errors from a
#: single scan can be unrealistically small, and one point must not own the line.
DEFAULT_MIN_SIGMA_EV = 0.05

#: Predictions further than this (valence units) outside the standards' span warn.
DEFAULT_SPAN_MARGIN = 0.1


OUT_OF_SPAN = WarningCode("xas.valence.out_of_span", QualityWarning,
                          "The oxidation state lies outside the standards' span: extrapolated.")
NO_LINE = WarningCode("xas.valence.no_line", QualityWarning,
                      "The standards span fewer than 2 oxidation states: no calibration line.")
NEGATIVE_SLOPE = WarningCode("xas.valence.negative_slope", QualityWarning,
                             "The calibration line's slope is not positive: check the standards.")
NO_DOF = WarningCode("xas.valence.no_dof", QualityWarning,
                     "A line through exactly 2 standards has no residual degrees of freedom: "
                     "the scatter of real compounds about the line is unknown.")
UNCALIBRATED_ENERGY = WarningCode(
    "xas.valence.uncalibrated_energy", QualityWarning,
    "The oxidation state comes from an energy scale not calibrated against a foil.")
LOO_IMPOSSIBLE = WarningCode("xas.valence.loo_impossible", QualityWarning,
                             "Leaving this standard out leaves fewer than 2 valences.")


@dataclass(frozen=True)
class StandardPoint:
    """One standard on the calibration line.

    Attributes
    ----------
    name : str
        Label of the standard.
    valence : float
        Formal oxidation state.
    e0_eV : float
        Foil-calibrated edge position (eV).
    e0_err_eV : float
        Its uncertainty (eV) as measured (before the ``min_sigma_eV`` floor).
    residual_eV : float or None
        E0 − line (eV); None when no line could be fitted.
    foil_shift_eV : float or None
        Energy shift applied from the standard's foil; None when it had no (valid) foil.
    file : str or None
        Source file; ``scan`` is the group/scan inside it.
    scan : str or None
    sha256 : str or None
        SHA-256 of the file.
    warnings : tuple of str
        Warnings from measuring this standard.
    """

    name: str
    valence: float
    e0_eV: float
    e0_err_eV: float
    residual_eV: float | None = None
    foil_shift_eV: float | None = None
    file: str | None = None
    scan: str | None = None
    sha256: str | None = None
    warnings: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        return {"name": self.name, "valence": self.valence, "e0_eV": self.e0_eV,
                "e0_err_eV": self.e0_err_eV, "residual_eV": self.residual_eV,
                "foil_shift_eV": self.foil_shift_eV, "file": self.file, "scan": self.scan,
                "sha256": self.sha256, "warnings": warnings_json(self.warnings)}


class ValencePrediction(NamedTuple):
    """Oxidation state of a sample; unpacks as ``(valence, valence_err, warnings)``."""

    valence: float
    valence_err: float
    warnings: tuple[str, ...]


@dataclass(frozen=True, repr=False)
class ValenceCalibration(ResultDisplay):
    """Straight line E0 = intercept + slope · valence through standards.

    Attributes
    ----------
    element, edge : str or None
        Absorber and edge of the standards.
    e0_method : str
        E0 definition used for every standard; samples must use the same one.
    slope_eV : float or None
        eV per unit oxidation state; None when fewer than 2 distinct valences.
    intercept_eV : float or None
        Line value at valence 0 (eV).
    covariance : tuple of tuple or None
        2×2 covariance of (intercept, slope) in eV², scaled as in the module docstring.
    rms_residual_eV : float or None
        Unweighted rms of the residuals (eV).
    reduced_chi2 : float or None
        χ²/dof of the weighted fit (None when dof = 0 or no line).
    scatter_eV : float or None
        s, the standards' typical distance from the line used in predictions (eV).
    dof : int
        Residual degrees of freedom (number of standards − 2; 0 when no line).
    points : tuple of StandardPoint
        The standards with residuals.
    normalization : dict
        Normalization options used on the standards (preset, pre_range, norm_range, nnorm).
    warnings : tuple of str
    provenance : Provenance
    """

    element: str | None
    edge: str | None
    e0_method: str
    slope_eV: float | None
    intercept_eV: float | None
    covariance: tuple[tuple[float, float], tuple[float, float]] | None
    rms_residual_eV: float | None
    reduced_chi2: float | None
    scatter_eV: float | None
    points: tuple[StandardPoint, ...]
    normalization: dict[str, Any]
    warnings: tuple[str, ...]
    provenance: Provenance
    dof: int = 0

    @property
    def has_line(self) -> bool:
        """True when a line could be fitted (at least two distinct valences)."""
        return self.slope_eV is not None

    @property
    def valence_span(self) -> tuple[float, float]:
        """(lowest, highest) formal valence among the standards."""
        v = [p.valence for p in self.points]
        return (min(v), max(v)) if v else (float("nan"), float("nan"))

    def line(self, valence) -> np.ndarray:
        """Edge position (eV) predicted by the line at ``valence``."""
        self._require_line()
        return self.intercept_eV + self.slope_eV * np.asarray(valence, dtype=float)

    def _require_line(self):
        if not self.has_line:
            raise CalibrationError(
                "valence calibration has no line (needs standards of at least 2 distinct "
                "valences): " + "; ".join(w.message for w in self.warnings))

    def predict(self, e0_eV: float, e0_err_eV: float = 0.0, *, include_scatter: bool = True,
                span_margin: float = DEFAULT_SPAN_MARGIN) -> ValencePrediction:
        """Oxidation state of a sample from its calibrated edge position.

        Parameters
        ----------
        e0_eV : float
            Sample edge position (eV), foil-calibrated, same ``e0_method`` as the standards.
        e0_err_eV : float
            Its uncertainty (eV). Default is 0.
        include_scatter : bool
            Add the standards' scatter about the line (``scatter_eV``) to the error, giving
            a prediction interval. Default is True.
        span_margin : float
            Warn when the valence lies further than this outside the standards' span.
            Default is 0.1.

        Returns
        -------
        ValencePrediction
            ``(valence, valence_err, warnings)``; error from the formula in the module
            docstring (delta method on the inverted line).

        References
        ----------
        P. J. Brown, *Measurement, Regression, and Calibration*, Oxford (1993), ch. 2
        (inverse prediction from a calibration line).

        Raises
        ------
        CalibrationError
            The calibration has no line.
        InputError
            ``e0_eV`` not finite or ``e0_err_eV`` negative.
        """
        self._require_line()
        if not np.isfinite(e0_eV):
            raise InputError(f"e0_eV must be a finite energy in eV, got {e0_eV!r}")
        if e0_err_eV is None or not np.isfinite(e0_err_eV) or e0_err_eV < 0:
            raise InputError(f"e0_err_eV must be a finite value >= 0 eV, got {e0_err_eV!r}")
        a, b = self.intercept_eV, self.slope_eV
        v = (float(e0_eV) - a) / b
        (vaa, vab), (_, vbb) = self.covariance
        s2 = (self.scatter_eV or 0.0) ** 2 if include_scatter else 0.0
        var = (e0_err_eV ** 2 + s2 + vaa + v * v * vbb + 2.0 * v * vab) / (b * b)
        msgs = []
        lo, hi = self.valence_span
        if v < lo - span_margin or v > hi + span_margin:
            msgs.append(OUT_OF_SPAN.warn(
                f"oxidation state {v:.2f} (E0 {e0_eV:.2f} eV) is outside the standards' "
                f"span {lo:g}..{hi:g} by more than {span_margin:g}: extrapolated", stacklevel=2,
                valence=float(v)))
        return ValencePrediction(float(v), float(np.sqrt(max(var, 0.0))), tuple(msgs))

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe summary of the line and its standards."""
        return {
            "element": self.element, "edge": self.edge, "e0_method": self.e0_method,
            "slope_eV": self.slope_eV, "intercept_eV": self.intercept_eV,
            "covariance": None if self.covariance is None else [list(r) for r in self.covariance],
            "rms_residual_eV": self.rms_residual_eV, "reduced_chi2": self.reduced_chi2,
            "scatter_eV": self.scatter_eV, "dof": self.dof,
            "valence_span": list(self.valence_span),
            "normalization": dict(self.normalization),
            "standards": [p.to_json_dict() for p in self.points],
            "warnings": warnings_json(self.warnings),
        }

    def to_record(self, name: str | None = None):
        """Return a :class:`~naheo_spec.records.Record`: line summary + standards' table."""
        from naheo_spec.records import DataArray, Record

        summary = {k: v for k, v in self.to_json_dict().items()
                   if k not in ("standards", "covariance", "normalization")}
        summary["n_standards"] = len(self.points)
        cov = self.covariance
        summary["intercept_err_eV"] = None if cov is None else float(np.sqrt(cov[0][0]))
        summary["slope_err_eV"] = None if cov is None else float(np.sqrt(cov[1][1]))
        summary["cov_intercept_slope_eV2"] = None if cov is None else float(cov[0][1])
        for key, val in self.normalization.items():
            summary[f"normalization_{key}"] = list(val) if isinstance(val, tuple) else val
        data = {
            "valence": DataArray(np.array([p.valence for p in self.points]), "",
                                 "formal oxidation state"),
            "e0": DataArray(np.array([p.e0_eV for p in self.points]), "eV",
                            f"edge position ({self.e0_method})"),
            "e0_err": DataArray(np.array([p.e0_err_eV for p in self.points]), "eV"),
            "residual": DataArray(np.array([np.nan if p.residual_eV is None else p.residual_eV
                                            for p in self.points]), "eV"),
        }
        return Record(name=name or f"{self.element or 'X'}_{self.edge or 'K'}_valence_calibration",
                      kind="valence_calibration", summary=summary, provenance=self.provenance,
                      data=data, signal="e0", axes=["valence"])

    def display_title(self) -> str:
        return f"{self.element or ''} {self.edge or ''} ({self.e0_method}, {len(self.points)} standards)"

    def display_items(self):
        yield ("slope", self.slope_eV, None if self.covariance is None
               else float(np.sqrt(self.covariance[1][1])), "eV/valence")
        yield ("intercept", self.intercept_eV, None, "eV")
        yield ("rms residual", self.rms_residual_eV, None, "eV")
        yield ("scatter", self.scatter_eV, None, "eV")


def _weighted_line(v, e, sigma):
    """Weighted LSQ of e = a + b v. Returns (a, b, unscaled covariance 2x2, chi2)."""
    w = 1.0 / sigma ** 2
    x = np.column_stack([np.ones_like(v), v])
    xtwx = x.T @ (x * w[:, None])
    cov = np.linalg.inv(xtwx)
    a, b = cov @ (x.T @ (w * e))
    chi2 = float(np.sum(w * (e - a - b * v) ** 2))
    return float(a), float(b), cov, chi2


def fit_calibration(valences: Sequence[float], e0_eV: Sequence[float],
                    e0_err_eV: Sequence[float] | None = None, *,
                    names: Sequence[str] | None = None, e0_method: str = "half-height",
                    element: str | None = None, edge: str | None = None,
                    min_sigma_eV: float = DEFAULT_MIN_SIGMA_EV,
                    points: Sequence[StandardPoint] | None = None,
                    normalization: dict | None = None,
                    extra_parameters: dict | None = None) -> ValenceCalibration:
    """Fit the calibration line to already measured edge positions (pure math).

    Parameters
    ----------
    valences : sequence of float, length N
        Formal oxidation states of the standards.
    e0_eV : sequence of float, length N
        Their foil-calibrated edge positions (eV).
    e0_err_eV : sequence of float, optional
        Their uncertainties (eV). Default None: all equal (unweighted fit).
    names : sequence of str, optional
        Labels. Default ``"standard 1"``, ...
    e0_method : str
        E0 definition the edge positions were measured with. Default ``"half-height"``.
    element, edge : str, optional
        Recorded in the result.
    min_sigma_eV : float
        Floor on each σ_i in the weights (eV). Default is 0.05.
    points : sequence of StandardPoint, optional
        Full descriptions of the standards (file, foil shift...); their ``valence``,
        ``e0_eV`` and ``e0_err_eV`` must match the arrays. Used by :func:`build_calibration`.
    normalization : dict, optional
        Normalization options used on the standards (recorded).
    extra_parameters : dict, optional
        Merged into the provenance parameters.

    Returns
    -------
    ValenceCalibration
        With ``slope_eV`` None and a :class:`QualityWarning` when fewer than two
        distinct valences are given (no line can be drawn).

    Raises
    ------
    InputError
        Length mismatch, non-finite values, fewer than 1 standard, or negative errors.

    References
    ----------
    Weighted straight-line fit and covariance: P. R. Bevington and D. K. Robinson, *Data
    Reduction and Error Analysis for the Physical Sciences*, 3rd ed., McGraw-Hill (2003),
    ch. 6.

    Examples
    --------
    >>> cal = fit_calibration([2, 3, 4], [6545.0, 6548.5, 6552.0])
    >>> round(cal.slope_eV, 3), round(cal.intercept_eV, 3)
    (3.5, 6538.0)
    >>> round(cal.predict(6550.25).valence, 3)
    3.5
    """
    v, e, err = _check_arrays(valences, e0_eV, e0_err_eV)
    n = v.size
    names = list(names) if names is not None else [f"standard {i + 1}" for i in range(n)]
    if points is None:
        points = [StandardPoint(name=nm, valence=float(vi), e0_eV=float(ei), e0_err_eV=float(si))
                  for nm, vi, ei, si in zip(names, v, e, err)]
    params = {"e0_method": e0_method, "min_sigma_eV": float(min_sigma_eV), "weighting": (
        "unweighted" if e0_err_eV is None else "1/max(e0_err, min_sigma)^2"),
        "standards": [{"name": p.name, "valence": p.valence, "e0_eV": p.e0_eV,
                       "e0_err_eV": p.e0_err_eV} for p in points],
        **(extra_parameters or {})}
    prov = Provenance(step="xas.valence_calibration", parameters=params)
    common = dict(element=element, edge=edge, e0_method=e0_method,
                  normalization=dict(normalization or {}), provenance=prov)
    nval = np.unique(v).size
    if nval < 2:
        msg = NO_LINE.warn(
            f"only {nval} distinct valence ({', '.join(names)}): a calibration line needs "
            "standards of at least 2 different oxidation states; no line fitted", stacklevel=2)
        return ValenceCalibration(slope_eV=None, intercept_eV=None, covariance=None,
                                  rms_residual_eV=None, reduced_chi2=None, scatter_eV=None,
                                  points=tuple(points), warnings=(msg,), **common)
    sigma = np.maximum(err, min_sigma_eV) if e0_err_eV is not None else np.ones(n)
    a, b, cov, chi2 = _weighted_line(v, e, sigma)
    resid = e - (a + b * v)
    dof = n - 2
    msgs = []
    if e0_err_eV is None:
        # unit weights: the covariance scale is the residual variance itself
        s2 = chi2 / dof if dof > 0 else 0.0
        cov = cov * s2
        red = None
        scatter = float(np.sqrt(s2))
    else:
        red = chi2 / dof if dof > 0 else None
        cov = cov * max(1.0, red or 1.0)
        scatter = float(np.sqrt(max(0.0, (red or 0.0) - 1.0) * np.mean(sigma ** 2))) \
            if red is not None else 0.0
    if b <= 0:
        msgs.append(NEGATIVE_SLOPE.warn(
            f"calibration slope is {b:.3g} eV/unit: the edge does not rise with "
            "oxidation state for these standards; check them", stacklevel=2))
    if dof == 0:
        msgs.append(NO_DOF.record(
            f"line through exactly {n} points: no residual degrees of freedom, the "
            "line's uncertainty comes from the E0 errors alone"))
    pts = tuple(_with_residual(p, float(r)) for p, r in zip(points, resid))
    return ValenceCalibration(slope_eV=b, intercept_eV=a,
                              covariance=((float(cov[0, 0]), float(cov[0, 1])),
                                          (float(cov[1, 0]), float(cov[1, 1]))),
                              rms_residual_eV=float(np.sqrt(np.mean(resid ** 2))),
                              reduced_chi2=red, scatter_eV=scatter, points=pts, dof=dof,
                              warnings=tuple(msgs), **common)


def _check_arrays(valences, e0_eV, e0_err_eV):
    v = np.asarray(valences, dtype=float)
    e = np.asarray(e0_eV, dtype=float)
    if v.ndim != 1 or e.shape != v.shape or v.size == 0:
        raise InputError(f"valences and e0_eV must be 1-D of equal, non-zero length; got "
                         f"{v.shape} and {e.shape}")
    err = np.zeros(v.size) if e0_err_eV is None else np.asarray(e0_err_eV, dtype=float)
    if err.shape != v.shape:
        raise InputError(f"e0_err_eV has shape {err.shape}, valences {v.shape}")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(e)) and np.all(np.isfinite(err))):
        raise InputError("valences, e0_eV and e0_err_eV must all be finite")
    if np.any(err < 0):
        raise InputError(f"e0_err_eV must be >= 0, got {err.tolist()}")
    return v, e, err


def _with_residual(p: StandardPoint, r: float) -> StandardPoint:
    from dataclasses import replace

    return replace(p, residual_eV=r)


@dataclass(frozen=True)
class LeaveOneOut:
    """Leave-one-out check of a calibration.

    Attributes
    ----------
    names : tuple of str
    valence : ndarray of shape (N,)
        Formal valences.
    predicted : ndarray of shape (N,)
        Valence of each standard predicted by the line through all the others
        (NaN when the others span fewer than 2 valences).
    predicted_err : ndarray of shape (N,)
    error : ndarray of shape (N,)
        predicted − formal.
    warnings : tuple of str
    """

    names: tuple[str, ...]
    valence: np.ndarray
    predicted: np.ndarray
    predicted_err: np.ndarray
    warnings: tuple[str, ...] = ()

    @property
    def error(self) -> np.ndarray:
        return self.predicted - self.valence

    @property
    def max_abs_error(self) -> float:
        return float(np.nanmax(np.abs(self.error)))

    def to_json_dict(self) -> dict[str, Any]:
        return {"standards": [
            {"name": n, "valence": float(v), "predicted": _nan_none(p),
             "predicted_err": _nan_none(pe), "error": _nan_none(p - v)}
            for n, v, p, pe in zip(self.names, self.valence, self.predicted, self.predicted_err)],
            "warnings": warnings_json(self.warnings)}


def _nan_none(x) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else x


def leave_one_out(standards, **options) -> LeaveOneOut:
    """Predict each standard's valence from the line through all the others.

    Parameters
    ----------
    standards : ValenceCalibration or sequence of StandardPoint
        A built calibration (its points are reused, nothing is re-measured; build one from
        a standards set or TOML file with :func:`naheo_spec.xas.standards.build_calibration`)
        or measured points.
    **options
        ``min_sigma_eV`` for the refits.

    Returns
    -------
    LeaveOneOut
        Standards whose removal leaves fewer than 2 distinct valences get NaN and a warning.

    References
    ----------
    M. Stone, "Cross-validatory choice and assessment of statistical predictions",
    J. R. Stat. Soc. B 36, 111 (1974), doi:10.1111/j.2517-6161.1974.tb00994.x.
    """
    min_sigma = options.pop("min_sigma_eV", DEFAULT_MIN_SIGMA_EV)
    if isinstance(standards, ValenceCalibration):
        cal = standards
    elif isinstance(standards, (list, tuple)) and standards and \
            all(isinstance(p, StandardPoint) for p in standards):
        cal = None
        points = tuple(standards)
    else:
        raise InputError("leave_one_out needs a ValenceCalibration or a sequence of "
                         "StandardPoint; build one from a TOML file with "
                         "naheo_spec.xas.standards.build_calibration")
    if options:
        raise InputError(f"unknown options {sorted(options)}; only min_sigma_eV is taken")
    if cal is not None:
        points = cal.points
        min_sigma = cal.provenance.parameters.get("min_sigma_eV", min_sigma)
    n = len(points)
    pred, perr, msgs = np.full(n, np.nan), np.full(n, np.nan), []
    for i, p in enumerate(points):
        others = [q for j, q in enumerate(points) if j != i]
        if len({q.valence for q in others}) < 2:
            msgs.append(LOO_IMPOSSIBLE.record(f"{p.name}: the other standards span fewer than "
                                              "2 valences; cannot be predicted"))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QualityWarning)
            sub = fit_calibration([q.valence for q in others], [q.e0_eV for q in others],
                                  [q.e0_err_eV for q in others], min_sigma_eV=min_sigma,
                                  points=others)
            pr = sub.predict(p.e0_eV, p.e0_err_eV)
        pred[i], perr[i] = pr.valence, pr.valence_err
    return LeaveOneOut(names=tuple(p.name for p in points),
                       valence=np.array([p.valence for p in points]), predicted=pred,
                       predicted_err=perr, warnings=tuple(msgs))
