"""Linear combination fitting (LCF) of a normalized XANES spectrum.

The sample's normalized μ(E) is modelled as Σ w_i · standard_i(E) over an energy
window, as Athena's and larch's LCF do. Weights can be forced to sum to one and to
be non-negative; one common energy shift of the standards can be fitted.

Solver
    For fixed shift the problem is a convex quadratic programme with at most a
    handful of unknowns, so it is solved *exactly* by enumerating the supports
    (which standards have a non-zero weight): on each support the equality-
    constrained least-squares problem is solved in closed form, infeasible
    (negative) solutions are discarded and the lowest χ² is kept (KKT: the optimum
    is the unconstrained optimum on its own support). This avoids lmfit's
    ``1 - sum(others)`` trick, which lets the last weight go negative. A shift is
    found by a bounded 1-D minimisation of χ²(shift) around that exact inner solve.

Statistics (unit weights, as Athena)
    χ² = Σ (data − fit)², reduced χ² = χ² / (N − p), R = Σ (data − fit)² / Σ data².
    Weight errors: covariance s²·(JᵀJ)⁻¹ with s² = reduced χ², J the Jacobian of the
    free parameters (weights of the support, minus one when they sum to one, plus
    the shift). Adjacent XANES points are correlated (oversampling, interpolation),
    so these errors are lower bounds, as in Athena/larch.

References
----------
.. [1] B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
   doi:10.1107/S0909049505012719 (Athena LCF; default window −20..+30 eV about E0).
.. [2] M. Newville, "Larch: an analysis package for XAFS and related spectroscopies",
   J. Phys.: Conf. Ser. 430, 012007 (2013), doi:10.1088/1742-6596/430/1/012007
   (``larch.math.lincombo_fit``).
.. [3] C. L. Lawson and R. J. Hanson, "Solving Least Squares Problems", SIAM (1995),
   ch. 23 (non-negative and equality-constrained least squares).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from naheo_spec.diagnostics import WarningCode, warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import FitError, InputError, QualityWarning
from naheo_spec.validation import check_xy

WEIGHT_AT_ZERO = WarningCode("lcf.weight_at_zero", QualityWarning,
                             "A standard's weight sits at its bound 0.")
SHIFT_AT_BOUND = WarningCode("lcf.shift_at_bound", QualityWarning,
                             "The fitted energy shift sits at its bound.")
WEIGHT_SUM = WarningCode("lcf.weight_sum", QualityWarning,
                         "The weights do not sum to 1 (normalisation mismatch?).")
from naheo_spec.provenance import Provenance

#: Athena's default LCF window about E0 (eV).
DEFAULT_EMIN_REL_EV = -20.0
DEFAULT_EMAX_REL_EV = 30.0
#: Largest number of standards (2**k supports are enumerated).
MAX_STANDARDS = 12
#: Default bound on the fitted common shift (eV) when ``allow_shift`` is True.
DEFAULT_MAX_SHIFT_EV = 3.0


@dataclass(frozen=True, repr=False)
class LCFResult(ResultDisplay):
    """Result of :func:`fit_lcf`.

    Attributes
    ----------
    names : tuple of str
        Standards, in the order given.
    weights, weight_errs : dict of str to float
        Fitted weights and their standard errors (NaN error for a weight fixed at 0
        by the non-negativity bound, or the weight computed as 1 − Σ others gets
        its error from the covariance).
    shift_eV, shift_err_eV : float
        Common shift added to the standards' energies (0 and NaN when not fitted).
    r_factor, chi2, reduced_chi2 : float
        As defined in the module docstring (unit weights).
    energy : ndarray of shape (N,)
        Energies of the fit window (eV).
    data, fit, residual : ndarray of shape (N,)
        Sample, model and data − model on ``energy``.
    components : dict of str to ndarray
        weight × standard on ``energy`` for each standard.
    emin_eV, emax_eV : float
        Absolute window limits used (eV).
    warnings : tuple of str
    provenance : Provenance
    """

    names: tuple[str, ...]
    weights: dict[str, float]
    weight_errs: dict[str, float]
    shift_eV: float
    shift_err_eV: float
    r_factor: float
    chi2: float
    reduced_chi2: float
    energy: np.ndarray
    data: np.ndarray
    fit: np.ndarray
    residual: np.ndarray
    components: dict[str, np.ndarray]
    emin_eV: float
    emax_eV: float
    warnings: tuple[str, ...]
    provenance: Provenance

    @property
    def sum_weights(self) -> float:
        return float(sum(self.weights.values()))

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe summary (NaN → None)."""
        def f(x):
            return None if x is None or not np.isfinite(x) else float(x)
        return {"weights": {k: f(v) for k, v in self.weights.items()},
                "weight_errs": {k: f(v) for k, v in self.weight_errs.items()},
                "sum_weights": f(self.sum_weights), "shift_eV": f(self.shift_eV),
                "shift_err_eV": f(self.shift_err_eV), "r_factor": f(self.r_factor),
                "chi2": f(self.chi2), "reduced_chi2": f(self.reduced_chi2),
                "emin_eV": f(self.emin_eV), "emax_eV": f(self.emax_eV),
                "warnings": warnings_json(self.warnings)}

    def to_record(self, name: str | None = None):
        """Return a :class:`~naheo_spec.records.Record` (flat summary; data, fit, components)."""
        from naheo_spec.records import DataArray, Record

        js = self.to_json_dict()
        summary = {k: v for k, v in js.items() if k not in ("weights", "weight_errs")}
        for k in self.names:
            summary[f"weight_{k}"] = js["weights"][k]
            summary[f"weight_err_{k}"] = js["weight_errs"][k]
        data = {"energy": DataArray(self.energy, "eV", "energy"),
                "data": DataArray(self.data, "", "normalized mu"),
                "fit": DataArray(self.fit, "", "LCF model"),
                "residual": DataArray(self.residual, "", "data - fit")}
        for k, comp in self.components.items():
            data[f"component_{k}"] = DataArray(comp, "", f"weight x {k}")
        return Record(name=name or "lcf", kind="xanes_lcf", summary=summary,
                      provenance=self.provenance, data=data, signal="data", axes=["energy"])

    def display_title(self) -> str:
        return ", ".join(self.names)

    def display_items(self):
        for n in self.names:
            yield (f"weight {n}", self.weights[n], self.weight_errs.get(n), "")
        yield ("R-factor", self.r_factor, None, "")


def _as_curve(name: str, value, energy: np.ndarray):
    """Return (energy grid, values) of a standard given as array, pair or Normalization."""
    if hasattr(value, "normalization"):  # a XanesResult
        value = value.normalization
    if hasattr(value, "energy") and hasattr(value, "norm"):
        return np.asarray(value.energy, float), np.asarray(value.norm, float)
    if isinstance(value, tuple) and len(value) == 2:
        e, y = check_xy(value[0], value[1], names=(f"standards[{name!r}] energy",
                                                   f"standards[{name!r}] norm"))
        return e, y
    y = np.asarray(value, dtype=float)
    if y.shape != energy.shape:
        raise InputError(f"standards[{name!r}] has shape {y.shape}; an array standard must be "
                         f"on the sample grid ({energy.shape}); pass (energy, norm) to interpolate")
    return energy, y


def _window(energy, e0, emin, emax):
    if e0 is not None:
        lo = e0 + (DEFAULT_EMIN_REL_EV if emin is None else emin)
        hi = e0 + (DEFAULT_EMAX_REL_EV if emax is None else emax)
    else:
        lo = energy[0] if emin is None else emin
        hi = energy[-1] if emax is None else emax
    if not lo < hi:
        raise InputError(f"fit window is empty: emin -> {lo:.2f} eV, emax -> {hi:.2f} eV "
                         f"(e0={e0!r}); need emin < emax")
    return float(lo), float(hi)


def _solve_support(a, y, support, sum_to_one):
    """Least squares on the columns in ``support``; returns full-length weights."""
    k = a.shape[1]
    w = np.zeros(k)
    cols = list(support)
    if not cols:
        return w
    if sum_to_one:
        last = cols[-1]
        if len(cols) == 1:
            w[last] = 1.0
            return w
        m = a[:, cols[:-1]] - a[:, [last]]
        sol, *_ = np.linalg.lstsq(m, y - a[:, last], rcond=None)
        w[cols[:-1]] = sol
        w[last] = 1.0 - sol.sum()
    else:
        sol, *_ = np.linalg.lstsq(a[:, cols], y, rcond=None)
        w[cols] = sol
    return w


def _solve_weights(a, y, *, sum_to_one, nonnegative):
    """Exact constrained linear LSQ by support enumeration. Returns (w, support, chi2)."""
    k = a.shape[1]
    best = (None, None, np.inf)
    # without the sum constraint, all weights at 0 is a feasible (if useless) answer
    smallest = 1 if sum_to_one else 0
    supports = [tuple(range(k))] if not nonnegative else [
        s for r in range(smallest, k + 1) for s in itertools.combinations(range(k), r)]
    for s in supports:
        w = _solve_support(a, y, s, sum_to_one)
        if nonnegative and np.any(w[list(s)] < -1e-12):
            continue
        chi2 = float(np.sum((y - a @ w) ** 2))
        if chi2 < best[2] - 1e-15:
            best = (np.clip(w, 0, None) if nonnegative else w, s, chi2)
    if best[0] is None:
        raise FitError("LCF found no feasible combination of the standards")
    return best


def _design(curves, e, shift):
    return np.column_stack([np.interp(e - shift, ce, cy) for ce, cy in curves])


def _covariance(a, support, sum_to_one, dmodel_dshift, red):
    """Covariance of full weights (k) and the shift, from the free-parameter Jacobian."""
    cols = list(support)
    if sum_to_one:
        free = cols[:-1]
        jac = a[:, free] - a[:, [cols[-1]]] if free else np.empty((a.shape[0], 0))
    else:
        free = cols
        jac = a[:, free]
    if dmodel_dshift is not None:
        jac = np.column_stack([jac, dmodel_dshift])
    k = a.shape[1]
    werr = np.full(k, np.nan)
    shift_err = np.nan
    if jac.shape[1] == 0:
        return werr, shift_err
    try:
        cov = np.linalg.inv(jac.T @ jac) * red
    except np.linalg.LinAlgError as exc:
        raise FitError(f"LCF covariance is singular (standards linearly dependent?): {exc}") \
            from exc
    nf = len(free)
    cw = cov[:nf, :nf]
    werr[free] = np.sqrt(np.clip(np.diag(cw), 0, None))
    if sum_to_one:
        werr[cols[-1]] = np.sqrt(max(float(np.sum(cw)), 0.0)) if nf else 0.0
    if dmodel_dshift is not None:
        shift_err = float(np.sqrt(max(cov[-1, -1], 0.0)))
    return werr, shift_err


def fit_lcf(energy, norm, standards_norm: Mapping[str, Any], *, e0: float | None = None,
            emin: float | None = None, emax: float | None = None, sum_to_one: bool = True,
            nonnegative: bool = True, allow_shift: bool = False,
            max_shift_eV: float = DEFAULT_MAX_SHIFT_EV) -> LCFResult:
    """Fit a normalized spectrum as a linear combination of standards.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Sample energies (eV, foil-calibrated), strictly increasing.
    norm : array-like, shape (M,)
        Sample normalized μ (flattened or not, but the same kind as the standards).
    standards_norm : mapping of str to array or (energy, norm) pair or Normalization
        Each standard either as an array on ``energy``, or as an ``(energy_eV, norm)``
        pair (or an object with ``.energy``/``.norm``, e.g. a Normalization or a
        XanesResult), linearly interpolated onto the sample grid. At least one.
    e0 : float, optional
        Sample E0 (eV). If given, ``emin``/``emax`` are **relative to e0** (defaults
        −20 and +30 eV, Athena's). If None (default), ``emin``/``emax`` are
        **absolute energies** in eV (defaults: the first and last sample energy).
    emin, emax : float, optional
        Fit window, see ``e0``.
    sum_to_one : bool
        Constrain Σ w = 1. Default is True.
    nonnegative : bool
        Constrain every w ≥ 0. Default is True.
    allow_shift : bool
        Fit one energy shift common to all standards (added to their energies).
        Default is False.
    max_shift_eV : float
        Bound on |shift| when ``allow_shift``. Default is 3.0 eV.

    Returns
    -------
    LCFResult

    Raises
    ------
    InputError
        No standards, more than 12, a standard that does not cover the window,
        fewer than (number of standards + 2) points in the window.
    FitError
        No feasible solution or singular covariance (identical standards).

    References
    ----------
    Ravel & Newville, J. Synchrotron Rad. 12, 537 (2005), doi:10.1107/S0909049505012719.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.linspace(7100, 7150, 101)
    >>> a, b = 1 / (1 + np.exp(-(e - 7118) / 2)), 1 / (1 + np.exp(-(e - 7124) / 2))
    >>> r = fit_lcf(e, 0.3 * a + 0.7 * b, {"FeO": a, "Fe2O3": b})
    >>> round(r.weights["Fe2O3"], 3)
    0.7
    """
    energy, norm = check_xy(energy, norm, names=("energy", "norm"))
    if not standards_norm:
        raise InputError("standards_norm is empty: give at least one standard")
    if len(standards_norm) > MAX_STANDARDS:
        raise InputError(f"{len(standards_norm)} standards given; at most {MAX_STANDARDS}")
    names = tuple(str(k) for k in standards_norm)
    curves = [_as_curve(n, standards_norm[n], energy) for n in standards_norm]
    lo, hi = _window(energy, e0, emin, emax)
    sel = (energy >= lo) & (energy <= hi)
    e, y = energy[sel], norm[sel]
    if e.size == 0:
        raise InputError(f"no sample points in the fit window {lo:.2f}..{hi:.2f} eV (data "
                         f"{energy[0]:.2f}..{energy[-1]:.2f} eV)")
    for n, (ce, _) in zip(names, curves):
        # np.interp would silently hold the end values outside a standard's range
        if ce[0] > e[0] + 1e-6 or ce[-1] < e[-1] - 1e-6:
            raise InputError(f"standard {n!r} covers {ce[0]:.2f}..{ce[-1]:.2f} eV, the fit "
                             f"window needs {e[0]:.2f}..{e[-1]:.2f} eV")
    k = len(curves)
    if e.size < k + 2 + int(allow_shift):
        raise InputError(f"only {e.size} sample points in the window {lo:.2f}..{hi:.2f} eV "
                         f"for {k} standards; widen emin/emax")
    shift = _best_shift(curves, e, y, sum_to_one, nonnegative, max_shift_eV) \
        if allow_shift else 0.0
    return _finish(names, curves, e, y, shift, allow_shift, sum_to_one, nonnegative,
                   dict(e0=e0, emin=emin, emax=emax, window_eV=(lo, hi), sum_to_one=sum_to_one,
                        nonnegative=nonnegative, allow_shift=allow_shift,
                        max_shift_eV=max_shift_eV if allow_shift else None))


def _best_shift(curves, e, y, sum_to_one, nonnegative, max_shift):
    from scipy.optimize import minimize_scalar

    def chi2(s):
        return _solve_weights(_design(curves, e, s), y, sum_to_one=sum_to_one,
                              nonnegative=nonnegative)[2]

    # coarse grid first: chi2(shift) of XANES has local minima one feature apart
    grid = np.linspace(-max_shift, max_shift, 25)
    s0 = grid[int(np.argmin([chi2(s) for s in grid]))]
    step = grid[1] - grid[0]
    res = minimize_scalar(chi2, bounds=(max(-max_shift, s0 - step), min(max_shift, s0 + step)),
                          method="bounded", options={"xatol": 1e-4})
    return float(res.x)


def _finish(names, curves, e, y, shift, allow_shift, sum_to_one, nonnegative, params):
    a = _design(curves, e, shift)
    w, support, chi2 = _solve_weights(a, y, sum_to_one=sum_to_one, nonnegative=nonnegative)
    fit = a @ w
    nfree = len(support) - int(sum_to_one) + int(allow_shift)
    dof = e.size - nfree
    red = chi2 / dof if dof > 0 else np.nan
    dshift = None
    if allow_shift:
        h = 0.01
        dshift = (_design(curves, e, shift + h) @ w - _design(curves, e, shift - h) @ w) / (2 * h)
    werr, shift_err = _covariance(a, support, sum_to_one, dshift, red)
    msgs = []
    for i, n in enumerate(names):
        if nonnegative and i not in support:
            msgs.append(WEIGHT_AT_ZERO.record(f"weight of {n!r} is at its bound 0 (standard "
                                              "not needed or anti-correlated with the others)",
                                              standard=n))
    if allow_shift and abs(abs(shift) - params["max_shift_eV"]) < 1e-3:
        msgs.append(SHIFT_AT_BOUND.record(f"fitted shift {shift:+.2f} eV is at its bound "
                                          f"±{params['max_shift_eV']:g} eV"))
    if not sum_to_one and abs(w.sum() - 1) > 0.1:
        msgs.append(WEIGHT_SUM.record(f"weights sum to {w.sum():.3f}: normalization of sample "
                                      "or standards may differ"))
    for m in msgs:
        m.emit(stacklevel=3)
    prov = Provenance(step="xas.lcf", parameters={**params, "standards": list(names)})
    return LCFResult(
        names=names, weights={n: float(x) for n, x in zip(names, w)},
        weight_errs={n: float(x) for n, x in zip(names, werr)}, shift_eV=float(shift),
        shift_err_eV=float(shift_err), r_factor=float(chi2 / np.sum(y ** 2)),
        chi2=float(chi2), reduced_chi2=float(red), energy=e, data=y, fit=fit,
        residual=y - fit, components={n: w[i] * a[:, i] for i, n in enumerate(names)},
        emin_eV=float(e[0]), emax_eV=float(e[-1]), warnings=tuple(msgs), provenance=prov)
