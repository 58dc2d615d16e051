"""Oxidation state from the edge position: a calibration line through standards.

For a series of oxides of one element the K-edge position rises roughly linearly
with the formal oxidation state (a few eV per unit). Standards of known formal
valence v_i give edge positions E_i (foil-calibrated, with one E0 definition);
a straight line E = a + b·v is fitted and inverted for a sample.

Line fit (generalized least squares with an intrinsic scatter)
    Each standard's E0 error has an independent part σ_i (floored at ``min_sigma_eV``)
    and, for standards measured without a foil, an energy-scale part s_k shared by
    every standard of the same session (beamline and run): such standards keep their
    place on the line with the energy-scale uncertainty as their weight, and two
    uncalibrated standards of one session constrain the slope (their difference) but
    not the intercept. Real compounds also scatter about the line by more than their
    measurement errors (structure, coordination): an intrinsic scatter τ is added to
    every standard, C = diag(σ_i² + τ²) + Σ_k s_k² 1_k 1_kᵀ, and the line is the GLS
    fit with C⁻¹. τ is found as Paule and Mandel do: the value that makes χ² equal its
    degrees of freedom (0 when the standards already scatter less than their errors).
    With few standards τ is poorly known, so it is pooled with a prior τ₀ worth
    ``PRIOR_DOF`` = 2 standards: τ² = (dof·τ²_PM + 2·τ₀²)/(dof + 2). τ₀ comes from the
    lines of the *other* elements (:data:`SCATTER_PRIOR_EV`); a line with fewer
    standards than the prior is worth (dof < 2, i.e. fewer than 4 standards) says so
    (``xas.valence.scatter_prior``).

Inverse prediction (delta method)
    v = (E − a)/b, so with σ_E the sample's E0 error,

        σ_v² = [σ_E² + τ² + var(a) + v²·var(b) + 2v·cov(a, b)] / b² + (κ·d)²

    where τ² is included when ``include_scatter=True`` (default: a prediction interval
    for a new compound, which is what a leave-one-out test measures) and d is how far
    v lies outside the standards' span: a straight line is only known between its
    standards, and slopes measured with different standard sets differ by ±20 %
    (``EXTRAPOLATION_FRACTION`` κ = 0.2), so an extrapolated valence carries that
    fraction of its distance from the span as an extra error (with the coded warning
    ``xas.valence.out_of_span``).

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
.. [4] R. C. Paule and J. Mandel, "Consensus values and weighting factors", J. Res.
   Natl. Bur. Stand. 87, 377 (1982), doi:10.6028/jres.087.022 (intrinsic scatter).
.. [5] A. Gelman et al., *Bayesian Data Analysis*, 3rd ed., CRC (2013), sec. 3.3
   (scaled inverse-χ² prior for a variance, worth ν₀ observations).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np

from naheo_spec.diagnostics import WarningCode, warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import CalibrationError, InputError, QualityWarning
from naheo_spec.jsonsafe import finite_or_none
from naheo_spec.provenance import Provenance

#: Floor on each standard's E0 uncertainty in the weights (eV): E0 errors from a
#: single scan can be unrealistically small, and one point must not own the line.
DEFAULT_MIN_SIGMA_EV = 0.05

#: Predictions further than this (valence units) outside the standards' span warn.
DEFAULT_SPAN_MARGIN = 0.1
#: κ: extra valence error per unit of extrapolation outside the standards' span.
EXTRAPOLATION_FRACTION = 0.2
#: Weight of the scatter prior, in standards' degrees of freedom.
PRIOR_DOF = 2.0
#: Prior intrinsic scatter τ₀ (eV) of real compounds about an element's line, pooled
#: from the built-in lines of the *other* elements (Paule-Mandel scatter, weighted by
#: degrees of freedom): re-measured by ``reference_spectra/xanes_builtin/generate.py``
#: and checked by the tests. Elements without a built-in line use ``"*"`` (all lines).
SCATTER_PRIOR_EV = {"Mn": 0.27, "Fe": 0.00, "Ni": 0.20, "*": 0.19}


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
SCATTER_PRIOR = WarningCode(
    "xas.valence.scatter_prior", QualityWarning,
    "The line has fewer standards than its scatter prior is worth: the scatter of real "
    "compounds about it is mostly the prior taken from other elements' standards.")


def scatter_prior(element: str | None) -> float:
    """τ₀ for ``element`` (eV): :data:`SCATTER_PRIOR_EV`, or its ``"*"`` entry."""
    return float(SCATTER_PRIOR_EV.get(element or "*", SCATTER_PRIOR_EV["*"]))


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
        Its uncertainty (eV) as measured (before the ``min_sigma_eV`` floor), all terms.
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
    session : str or None
        Beamline session of a standard without a foil: standards of one session share
        their energy-scale offset. Default None: the standard's own file.
    session_err_eV : float
        The part of ``e0_err_eV`` shared within the session (the energy-scale term of an
        uncalibrated standard; 0 for foil-calibrated ones).
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
    session: str | None = None
    session_err_eV: float = 0.0

    @property
    def own_err_eV(self) -> float:
        """The independent part of the E0 error (eV)."""
        return float(np.sqrt(max(self.e0_err_eV ** 2 - self.session_err_eV ** 2, 0.0)))

    def to_json_dict(self) -> dict[str, Any]:
        return {"name": self.name, "valence": self.valence, "e0_eV": self.e0_eV,
                "e0_err_eV": self.e0_err_eV, "residual_eV": self.residual_eV,
                "foil_shift_eV": self.foil_shift_eV, "file": self.file, "scan": self.scan,
                "sha256": self.sha256, "session": self.session,
                "session_err_eV": self.session_err_eV,
                "warnings": warnings_json(self.warnings)}


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
        τ, the intrinsic scatter of real compounds about the line used in predictions
        (eV): Paule-Mandel estimate pooled with the prior (module docstring).
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

    def predict_rows(self, e0_eV, e0_err_eV, *, include_scatter: bool = True,
                     span_margin: float = DEFAULT_SPAN_MARGIN) -> dict[str, np.ndarray]:
        """Oxidation states of many samples at once (the one implementation of the rule).

        Parameters
        ----------
        e0_eV, e0_err_eV : array-like, shape (N,)
            Calibrated edge positions and their errors (eV).
        include_scatter, span_margin
            As in :meth:`predict`.

        Returns
        -------
        dict of ndarray (N,)
            ``valence``, ``valence_err``, ``out_of_span`` (bool: further than
            ``span_margin`` outside the standards' span) and the error terms in valence
            units: ``term_e0``, ``term_line``, ``term_scatter``, ``term_extrapolation``.
        """
        self._require_line()
        e = np.asarray(e0_eV, dtype=float)
        s = np.asarray(e0_err_eV, dtype=float)
        a, b = self.intercept_eV, self.slope_eV
        (vaa, vab), (_, vbb) = self.covariance
        tau = (self.scatter_eV or 0.0) if include_scatter else 0.0
        v = (e - a) / b
        line = np.maximum(vaa + v * v * vbb + 2.0 * v * vab, 0.0)
        lo, hi = self.valence_span
        outside = np.maximum(np.maximum(lo - v, v - hi), 0.0)
        terms = {"term_e0": s / abs(b), "term_line": np.sqrt(line) / abs(b),
                 "term_scatter": np.full(v.shape, tau / abs(b)),
                 "term_extrapolation": EXTRAPOLATION_FRACTION * outside}
        err = np.sqrt(sum(t * t for t in terms.values()))
        return {"valence": v, "valence_err": err,
                "out_of_span": (v < lo - span_margin) | (v > hi + span_margin), **terms}

    def out_of_span_message(self, valence: float, e0_eV: float,
                            span_margin: float = DEFAULT_SPAN_MARGIN) -> str:
        """The message of :data:`OUT_OF_SPAN` for one sample."""
        lo, hi = self.valence_span
        return (f"oxidation state {valence:.2f} (E0 {e0_eV:.2f} eV) is outside the standards' "
                f"span {lo:g}..{hi:g} by more than {span_margin:g}: extrapolated (error "
                f"includes {EXTRAPOLATION_FRACTION:g} x the distance from the span)")

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
            Add the intrinsic scatter of real compounds about the line (``scatter_eV``) to
            the error, giving a prediction interval. Default is True.
        span_margin : float
            Warn when the valence lies further than this outside the standards' span.
            Default is 0.1.

        Returns
        -------
        ValencePrediction
            ``(valence, valence_err, warnings)``; error from the formula in the module
            docstring (delta method on the inverted line, plus the extrapolation term).

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

        Examples
        --------
        >>> cal = fit_calibration([2, 3, 4], [6545.0, 6548.5, 6552.0], [0.1, 0.1, 0.1])
        >>> p = cal.predict(6555.5, 0.1)
        >>> round(p.valence, 2), p.warnings[0].code
        (5.0, 'xas.valence.out_of_span')
        >>> p.valence_err > 0.2          # one unit beyond the span: +0.2 in quadrature
        True
        """
        self._require_line()
        if not np.isfinite(e0_eV):
            raise InputError(f"e0_eV must be a finite energy in eV, got {e0_eV!r}")
        if e0_err_eV is None or not np.isfinite(e0_err_eV) or e0_err_eV < 0:
            raise InputError(f"e0_err_eV must be a finite value >= 0 eV, got {e0_err_eV!r}")
        r = self.predict_rows(np.array([float(e0_eV)]), np.array([float(e0_err_eV)]),
                              include_scatter=include_scatter, span_margin=span_margin)
        v = float(r["valence"][0])
        msgs = []
        if r["out_of_span"][0]:
            msgs.append(OUT_OF_SPAN.warn(self.out_of_span_message(v, float(e0_eV), span_margin),
                                         stacklevel=2, valence=v))
        return ValencePrediction(v, float(r["valence_err"][0]), tuple(msgs))

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


def _covariance(own, shared, sessions, tau2):
    """C = diag(own² + τ²) + shared² within each session (module docstring)."""
    c = np.diag(own ** 2 + tau2)
    for key in set(k for k in sessions if k is not None):
        idx = np.flatnonzero(np.array([k == key for k in sessions]))
        s2 = np.max(shared[idx]) ** 2
        c[np.ix_(idx, idx)] += s2
    lone = np.array([k is None for k in sessions])
    c[lone, lone] += shared[lone] ** 2
    return c


def _gls(v, e, c):
    """GLS line e = a + b v with covariance c. Returns (a, b, cov 2x2, chi2)."""
    x = np.column_stack([np.ones_like(v), v])
    w = np.linalg.inv(c)
    cov = np.linalg.inv(x.T @ w @ x)
    a, b = cov @ (x.T @ w @ e)
    r = e - a - b * v
    return float(a), float(b), cov, float(r @ w @ r)


def _paule_mandel(v, e, own, shared, sessions, dof) -> float:
    """τ² with χ²(τ) = dof (0 if the standards already scatter less than their errors)."""
    if dof <= 0:
        return 0.0
    if _gls(v, e, _covariance(own, shared, sessions, 0.0))[3] <= dof:
        return 0.0
    lo, hi = 0.0, max(1.0, float(np.var(e)))
    while _gls(v, e, _covariance(own, shared, sessions, hi))[3] > dof:
        hi *= 4.0
    for _ in range(60):                       # chi2 decreases monotonically with tau
        mid = 0.5 * (lo + hi)
        if _gls(v, e, _covariance(own, shared, sessions, mid))[3] > dof:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def fit_calibration(valences: Sequence[float], e0_eV: Sequence[float],
                    e0_err_eV: Sequence[float] | None = None, *,
                    names: Sequence[str] | None = None, e0_method: str = "half-height",
                    element: str | None = None, edge: str | None = None,
                    min_sigma_eV: float = DEFAULT_MIN_SIGMA_EV,
                    points: Sequence[StandardPoint] | None = None,
                    normalization: dict | None = None,
                    extra_parameters: dict | None = None,
                    scatter_prior_eV: float | None = None,
                    prior_dof: float = PRIOR_DOF) -> ValenceCalibration:
    """Fit the calibration line to already measured edge positions (pure math).

    Parameters
    ----------
    valences : sequence of float, length N
        Formal oxidation states of the standards.
    e0_eV : sequence of float, length N
        Their foil-calibrated edge positions (eV).
    e0_err_eV : sequence of float, optional
        Their uncertainties (eV). Default None: all equal (unweighted fit; the scatter
        is then the residual scatter and no prior is used).
    names : sequence of str, optional
        Labels. Default ``"standard 1"``, ...
    e0_method : str
        E0 definition the edge positions were measured with. Default ``"half-height"``.
    element, edge : str, optional
        Recorded in the result; ``element`` selects the scatter prior.
    min_sigma_eV : float
        Floor on each standard's independent E0 error (eV). Default is 0.05.
    points : sequence of StandardPoint, optional
        Full descriptions of the standards (file, foil shift, session, shared
        energy-scale error...); their ``valence``, ``e0_eV`` and ``e0_err_eV`` must match
        the arrays. Used by :func:`~naheo_spec.xas.standards.build_calibration`.
    normalization : dict, optional
        Normalization options used on the standards (recorded).
    extra_parameters : dict, optional
        Merged into the provenance parameters.
    scatter_prior_eV : float, optional
        τ₀ (eV). Default None: :func:`scatter_prior` of ``element``.
    prior_dof : float
        Weight of the prior in degrees of freedom. Default is 2 (:data:`PRIOR_DOF`).

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
    Paule and Mandel, J. Res. NBS 87, 377 (1982) (intrinsic scatter); P. R. Bevington and
    D. K. Robinson, *Data Reduction and Error Analysis*, 3rd ed. (2003), ch. 6 (line fit).

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
    points = list(points)
    tau0 = scatter_prior(element) if scatter_prior_eV is None else float(scatter_prior_eV)
    params = {"e0_method": e0_method, "min_sigma_eV": float(min_sigma_eV), "weighting": (
        "unweighted" if e0_err_eV is None else
        "GLS: own errors (floored), shared energy scale per session, intrinsic scatter"),
        "scatter_prior_eV": tau0, "prior_dof": float(prior_dof),
        "standards": [{"name": p.name, "valence": p.valence, "e0_eV": p.e0_eV,
                       "e0_err_eV": p.e0_err_eV, "session": p.session,
                       "session_err_eV": p.session_err_eV} for p in points],
        **(extra_parameters or {})}
    common = dict(element=element, edge=edge, e0_method=e0_method,
                  normalization=dict(normalization or {}))
    nval = np.unique(v).size
    if nval < 2:
        msg = NO_LINE.warn(
            f"only {nval} distinct valence ({', '.join(names)}): a calibration line needs "
            "standards of at least 2 different oxidation states; no line fitted", stacklevel=2)
        return ValenceCalibration(slope_eV=None, intercept_eV=None, covariance=None,
                                  rms_residual_eV=None, reduced_chi2=None, scatter_eV=None,
                                  points=tuple(points), warnings=(msg,),
                                  provenance=Provenance(step="xas.valence_calibration",
                                                        parameters=params), **common)
    dof = n - 2
    msgs = []
    if e0_err_eV is None:
        # unit weights: the residual scatter is the scatter
        a, b, cov, chi2 = _gls(v, e, np.eye(n))
        s2 = chi2 / dof if dof > 0 else 0.0
        cov, red, tau2, tau_own2 = cov * s2, None, s2, s2
    else:
        shared = np.array([p.session_err_eV for p in points], dtype=float)
        own = np.maximum(np.sqrt(np.maximum(err ** 2 - shared ** 2, 0.0)), min_sigma_eV)
        sessions = [p.session if p.session is not None else (p.file if p.session_err_eV
                                                                else None) for p in points]
        red = _gls(v, e, _covariance(own, shared, sessions, 0.0))[3] / dof if dof > 0 else None
        tau_own2 = _paule_mandel(v, e, own, shared, sessions, dof)
        tau2 = (dof * tau_own2 + prior_dof * tau0 ** 2) / (dof + prior_dof) \
            if dof + prior_dof > 0 else tau_own2
        a, b, cov, chi2 = _gls(v, e, _covariance(own, shared, sessions, tau2))
        if dof < prior_dof:
            msgs.append(SCATTER_PRIOR.record(
                f"{n} standards ({dof} residual degrees of freedom): the scatter of real "
                f"compounds about this line is mostly the prior {tau0:.2f} eV measured on "
                f"other elements' standards (used: {np.sqrt(tau2):.2f} eV)"))
    params.update(scatter_own_eV=float(np.sqrt(tau_own2)), scatter_used_eV=float(np.sqrt(tau2)))
    prov = Provenance(step="xas.valence_calibration", parameters=params)
    resid = e - (a + b * v)
    if b <= 0:
        msgs.append(NEGATIVE_SLOPE.warn(
            f"calibration slope is {b:.3g} eV/unit: the edge does not rise with "
            "oxidation state for these standards; check them", stacklevel=2))
    if dof == 0:
        msgs.append(NO_DOF.record(
            f"line through exactly {n} points: no residual degrees of freedom, the "
            "scatter of real compounds about it is the prior alone"))
    pts = tuple(_with_residual(p, float(r)) for p, r in zip(points, resid))
    return ValenceCalibration(slope_eV=b, intercept_eV=a,
                              covariance=((float(cov[0, 0]), float(cov[0, 1])),
                                          (float(cov[1, 0]), float(cov[1, 1]))),
                              rms_residual_eV=float(np.sqrt(np.mean(resid ** 2))),
                              reduced_chi2=red, scatter_eV=float(np.sqrt(tau2)), points=pts,
                              dof=dof, warnings=tuple(msgs), provenance=prov, **common)


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
            {"name": n, "valence": float(v), "predicted": finite_or_none(p),
             "predicted_err": finite_or_none(pe), "error": finite_or_none(p - v)}
            for n, v, p, pe in zip(self.names, self.valence, self.predicted, self.predicted_err)],
            "warnings": warnings_json(self.warnings)}


def leave_one_out(standards, **options) -> LeaveOneOut:
    """Predict each standard's valence from the line through all the others.

    Parameters
    ----------
    standards : ValenceCalibration or sequence of StandardPoint
        A built calibration (its points are reused, nothing is re-measured; build one from
        a standards set or TOML file with :func:`naheo_spec.xas.standards.build_calibration`)
        or measured points.
    **options
        ``min_sigma_eV``, ``scatter_prior_eV`` and ``element`` for the refits (a
        calibration passes its own).

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
    prior = options.pop("scatter_prior_eV", None)
    element = options.pop("element", None)
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
        raise InputError(f"unknown options {sorted(options)}; min_sigma_eV, scatter_prior_eV "
                         "and element are taken")
    if cal is not None:
        points = cal.points
        min_sigma = cal.provenance.parameters.get("min_sigma_eV", min_sigma)
        element = cal.element
        prior = cal.provenance.parameters.get("scatter_prior_eV", prior)
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
                                  points=others, element=element,
                                  scatter_prior_eV=prior)
            pr = sub.predict(p.e0_eV, p.e0_err_eV)
        pred[i], perr[i] = pr.valence, pr.valence_err
    return LeaveOneOut(names=tuple(p.name for p in points),
                       valence=np.array([p.valence for p in points]), predicted=pred,
                       predicted_err=perr, warnings=tuple(msgs))
