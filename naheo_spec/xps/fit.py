"""The fast fit: all components evaluated at once, analytic Jacobian, ``least_squares``.

For a compiled model (:meth:`naheo_spec.xps.models.Model.compile`) every center, width and
area is an affine function of the free parameters, so one call evaluates the (K, M) matrix
of component profiles and its derivatives, and the Jacobian of the residual is three
matrix products. Backgrounds:

- static (``"linear"``, ``"shirley"``, ``"tougaard-u2"``, ``"tougaard-u3"``): computed on
  the data once and subtracted;
- ``"active-shirley"``: ``B(E) = b0 + k * integral from E_lo to E of sum(peaks)`` with ``b0``
  and ``k`` refined together with the peaks (Proctor-Sherwood form on the fitted peaks,
  not on the raw data; notes §6).

Weights are ``1 / sigma`` from the spectrum's noise model. Parameter errors are the square
roots of the diagonal of ``(J^T J)^-1`` scaled by the reduced chi-square (as lmfit's
default ``scale_covar=True``): with estimated noise on smoothed data the scale is
uncertain, and the valence error budget adds the terms that dominate in practice.

References
----------
J. J. More, "The Levenberg-Marquardt algorithm", Lecture Notes in Math. 630 (1978);
scipy.optimize.least_squares (trust-region reflective), doi:10.1038/s41592-019-0686-2.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord
from naheo_spec.errors import FitError, InputError, QualityWarning
from naheo_spec.xps.background import Background, compute_background, cumulative_integral
from naheo_spec.xps.lineshapes import LN2, evaluate
from naheo_spec.xps.models import Model

__all__ = ["FitResult", "fit_model", "evaluate_components", "resolve_window", "AT_BOUND",
           "MAX_NFEV", "MAX_STARTS"]

MAX_NFEV = 2000
#: Position prescan: at most this many starts are refined (the best grid position and the
#: next-lowest local minima of the scan); the lowest chi-square wins.
MAX_STARTS = 3

AT_BOUND = WarningCode(
    "xps.fit.at_bound", QualityWarning,
    "A fitted parameter ended at one of its bounds: its value and error are not determined "
    "by the data.")


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fitted model on one region (ascending binding energy).

    Attributes
    ----------
    energy_eV : ndarray, shape (M,)
        Binding energies of the fitted window (ascending).
    data, sigma : ndarray, shape (M,)
    background : ndarray, shape (M,)
        Fitted (active) or static background.
    components : ndarray, shape (K, M)
        Each component's curve (without background).
    envelope : ndarray, shape (M,)
        Background + components.
    centers_eV, fwhms_eV, areas : ndarray, shape (K,)
    centers_err_eV, fwhms_err_eV, areas_err : ndarray, shape (K,)
        One-sigma errors from the scaled covariance (0 for fixed parameters).
    area_covariance : ndarray, shape (K, K)
        Covariance of the areas (for fractions and their errors).
    free_names : tuple of str
    free_values, free_errors : ndarray
    at_bound : tuple of str
        Free parameters that ended at a bound.
    chi2, reduced_chi2 : float
    nfev : int
    success : bool
    message : str
    background_kind : str
    background_parameters : dict
    elapsed_s : float
    warnings : tuple of WarningRecord
    """

    model: Model
    energy_eV: np.ndarray
    data: np.ndarray
    sigma: np.ndarray
    background: np.ndarray
    components: np.ndarray
    envelope: np.ndarray
    centers_eV: np.ndarray
    fwhms_eV: np.ndarray
    areas: np.ndarray
    centers_err_eV: np.ndarray
    fwhms_err_eV: np.ndarray
    areas_err: np.ndarray
    area_covariance: np.ndarray
    free_names: tuple[str, ...]
    free_values: np.ndarray
    free_errors: np.ndarray
    at_bound: tuple[str, ...]
    chi2: float
    reduced_chi2: float
    nfev: int
    success: bool
    message: str
    background_kind: str
    background_parameters: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    warnings: tuple[WarningRecord, ...] = ()

    @property
    def residual(self) -> np.ndarray:
        """data - envelope."""
        return self.data - self.envelope

    def area_fractions(self) -> np.ndarray:
        """Each component's share of the total component area."""
        tot = float(np.sum(self.areas))
        return self.areas / tot if tot > 0 else np.full(self.areas.shape, np.nan)


class _Evaluator:
    """Profiles and their derivatives for a compiled model on a fixed axis."""

    def __init__(self, model: Model, x: np.ndarray):
        self.model = model
        self.x = x
        self.cm = model.compile()
        comps = model.components
        self.kf = model.area_factors()
        self.is_gl = np.array([c.shape is not None and c.shape.kind in ("GL", "SGL", "PV")
                               for c in comps])
        self.gl_kind = np.array([c.shape.kind if c.shape is not None else "" for c in comps])
        self.mix = np.array([c.shape.params[0] / 100.0 if self.is_gl[i] else 0.0
                             for i, c in enumerate(comps)])[:, None]
        self.other = [i for i in range(len(comps)) if not self.is_gl[i]]
        self.curves = {}
        for i in self.other:
            c = comps[i]
            if c.curve is not None:
                cx, cy = (np.asarray(v, dtype=float) for v in c.curve)
                order = np.argsort(cx)
                cx, cy = cx[order], cy[order]
                area = float(np.trapezoid(cy, cx))
                if area <= 0:
                    raise InputError(f"tabulated component {c.name!r} has no positive area",
                                     parameter="model")
                self.curves[i] = (cx, cy / area, np.gradient(cy / area, cx))

    def profiles(self, p, derivs: bool):
        """Component curves (K, M) (area-scaled) and optionally d/dcenter, d/dfwhm, d/darea."""
        c, f, a = self.cm.params(p)
        x = self.x[None, :]
        k = len(c)
        curves = np.empty((k, self.x.size))
        dc = df = da = None
        if derivs:
            dc, df, da = (np.zeros((k, self.x.size)) for _ in range(3))
        g_idx = np.flatnonzero(self.is_gl)
        if g_idx.size:
            cc, ff = c[g_idx, None], np.maximum(f[g_idx, None], 1e-6)
            m = self.mix[g_idx]
            u = (x - cc) / ff
            u2 = u * u
            prod = self.gl_kind[g_idx][:, None] == "GL"
            ga = np.exp(-4.0 * LN2 * np.where(prod, 1.0 - m, 1.0) * u2)
            lo = 1.0 / (1.0 + 4.0 * np.where(prod, m, 1.0) * u2)
            g = np.where(prod, ga * lo, (1.0 - m) * ga + m * lo)
            scale = a[g_idx, None] / (ff * self.kf[g_idx, None])
            curves[g_idx] = scale * g
            if derivs:
                dgdu_prod = g * (-8.0 * LN2 * (1.0 - m) * u - 8.0 * m * u * lo)
                dgdu_sum = (1.0 - m) * ga * (-8.0 * LN2 * u) + m * (-8.0 * u) * lo * lo
                dgdu = np.where(prod, dgdu_prod, dgdu_sum)
                dc[g_idx] = scale * dgdu * (-1.0 / ff)
                df[g_idx] = -scale * g / ff + scale * dgdu * (-u / ff)
                da[g_idx] = g / (ff * self.kf[g_idx, None])
        for i in self.other:
            comp = self.model.components[i]
            if i in self.curves:
                cx, cy, dy = self.curves[i]
                xs = self.x - (c[i] - comp.curve_anchor)
                prof = np.interp(xs, cx, cy, left=0.0, right=0.0)
                curves[i] = a[i] * prof
                if derivs:
                    dc[i] = -a[i] * np.interp(xs, cx, dy, left=0.0, right=0.0)
                    da[i] = prof
            else:
                prof = evaluate(comp.shape, self.x, c[i], max(f[i], 1e-6))
                norm = max(f[i], 1e-6) * self.kf[i]
                curves[i] = a[i] * prof / norm
                if derivs:
                    da[i] = prof / norm
                    h = 1e-4
                    dc[i] = a[i] * (evaluate(comp.shape, self.x, c[i] + h, f[i]) - prof) / h / norm
                    df[i] = (a[i] * evaluate(comp.shape, self.x, c[i], f[i] + h)
                             / (max(f[i] + h, 1e-6) * self.kf[i]) - curves[i]) / h
        return curves, (dc, df, da)

    def jac_peaks(self, derivs):
        dc, df, da = derivs
        cm = self.cm
        return dc.T @ cm.Cm + df.T @ cm.Fm + da.T @ cm.Am     # (M, P)


def evaluate_components(model: Model, x, p=None) -> np.ndarray:
    """Component curves (K, M) of ``model`` on ``x`` at free vector ``p`` (default: start)."""
    ev = _Evaluator(model, np.asarray(x, dtype=float))
    return ev.profiles(ev.cm.p0 if p is None else np.asarray(p, dtype=float), False)[0]


def resolve_window(model: Model, x, y, window=None) -> tuple[float, float] | None:
    """The fit window: ``window`` if given; else the model's, with its high end moved to the
    minimum of the (5-point smoothed) data inside ``metadata["window_high_search_eV"]`` when
    the model asks for it -- the dip between 2p3/2 and 2p1/2, where a Shirley background
    must meet the data.

    Examples
    --------
    >>> from naheo_spec.xps.builtin import builtin_model
    >>> x = np.linspace(630, 670, 401); y = 1000 + 100 * (x - 649.0) ** 2
    >>> resolve_window(builtin_model("mn2p"), x, y)
    (635.5, 649.0)
    """
    if window is not None:
        return tuple(sorted(float(v) for v in window))
    if model.window_eV is None:
        return None
    lo, hi = model.window_eV
    search = model.metadata.get("window_high_search_eV")
    if search:
        x = np.asarray(x, dtype=float)
        ys = np.convolve(np.asarray(y, dtype=float), np.ones(5) / 5.0, mode="same")
        rng = (x >= search[0]) & (x <= search[1])
        if rng.sum() >= 5:
            hi = float(np.round(x[rng][np.argmin(ys[rng])], 6))
    return (float(lo), float(hi))


def _window(x, y, sigma, window):
    sel = np.ones(x.size, dtype=bool)
    if window is not None:
        lo, hi = sorted(window)
        sel = (x >= lo) & (x <= hi)
    if sel.sum() < 10:
        raise InputError(f"fit window {window} holds {int(sel.sum())} points of the spectrum "
                         f"({x[0]:.2f}..{x[-1]:.2f} eV); need at least 10", parameter="window")
    return x[sel], y[sel], sigma[sel]


def fit_model(x, y, model: Model, *, sigma=None, background: str | Background | None = None,
              window=None, avg_width: int = 2, tougaard: dict | None = None,
              max_nfev: int = MAX_NFEV, p0=None, name: str = "spectrum",
              prescan: bool = True) -> FitResult:
    """Fit ``model`` to one region.

    Parameters
    ----------
    x : array-like, shape (M,)
        Binding energy (eV), either order.
    y : array-like, shape (M,)
        Intensity.
    model : Model
    sigma : array-like, shape (M,), optional
        Noise; default: Poisson-shaped estimate (:func:`naheo_spec.xps.spectra.estimate_noise`).
    background : str or Background, optional
        Background type (:data:`naheo_spec.xps.background.BACKGROUND_TYPES`) or a
        precomputed static background on the window. Default None: the model's.
    window : (float, float), optional
        Binding-energy window (eV). Default None: the model's, else the whole spectrum.
    avg_width : int
        End-point averaging half-width of the background. Default is 2.
    tougaard : dict, optional
        ``B``, ``C``, ``D``, ``T0`` for Tougaard backgrounds.
    max_nfev : int
        Function-evaluation limit. Default :data:`MAX_NFEV`.
    p0 : array-like, optional
        Start vector (default: the model's start values, areas rescaled to the data).
    name : str
        Label for messages.
    prescan : bool
        When the model has one free position of its oxidation-state envelopes (the built-in
        valence models; other free positions -- an Auger envelope placed by its kinetic
        energy -- are held at their start values during the scan), start from the best
        position on a 0.05 eV grid over its bounds, with all free areas (the Auger area
        included) solved by non-negative least squares at each grid point: multiplet
        envelopes of different states look alike shifted, so a local optimizer started at
        the literature position can stop in the wrong minimum. The fit is refined from the
        best grid position and from the next-lowest local minima of the scan (at most
        :data:`MAX_STARTS` starts, 0.3 eV apart; widths are held on the grid, so the grid's
        order of the minima can be wrong); the lowest chi-square wins. Default is True.

    Returns
    -------
    FitResult

    Raises
    ------
    InputError
        Too few points in the window, non-finite data.
    FitError
        The optimizer fails or does not converge within ``max_nfev``.

    Examples
    --------
    >>> from naheo_spec.xps.models import Component, Model, Param
    >>> from naheo_spec.xps.lineshapes import parse_lineshape
    >>> x = np.linspace(850, 860, 201)
    >>> y = 50 + 1000 * np.exp(-4 * np.log(2) * ((x - 855.2) / 1.4) ** 2)
    >>> m = Model("one", (Component("p", parse_lineshape("GL(0)"), Param(854.5, 852, 858),
    ...                             Param(1.0, 0.3, 4), Param(1.0, 0)),))
    >>> r = fit_model(x, y, m, background="linear", sigma=np.ones_like(y))
    >>> round(float(r.centers_eV[0]), 3), round(float(r.fwhms_eV[0]), 3)
    (855.2, 1.4)
    """
    from scipy.optimize import least_squares

    t0 = time.perf_counter()
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError("x and y must be 1-D of equal length", parameter="y")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError(f"{name}: the spectrum holds NaN or inf values", parameter="y")
    if sigma is None:
        from naheo_spec.xps.spectra import estimate_noise

        sigma = estimate_noise(y, raw_counts=False)[0]
    sigma = np.asarray(sigma, dtype=float)
    if x[0] > x[-1]:
        x, y, sigma = x[::-1], y[::-1], sigma[::-1]
    x, y, sigma = _window(x, y, sigma, resolve_window(model, x, y, window))
    notes: list[WarningRecord] = []
    bkind = background if isinstance(background, str) else (
        background.kind if isinstance(background, Background) else model.background)
    if isinstance(background, Background):
        bg = background
    else:
        bg = compute_background(bkind, x, y, avg_width=avg_width, sigma=sigma, tougaard=tougaard)
    notes += list(bg.warnings)
    active = bkind == "active-shirley"
    ev = _Evaluator(model, x)
    cm = ev.cm
    if p0 is None:
        start = _rescale_areas(ev, cm.p0.copy(), y - bg.values)
        starts = _prescan_position(ev, start, y - bg.values, w_data=1.0 / sigma) \
            if prescan else [start]
    else:
        starts = [np.asarray(p0, dtype=float).copy()]
    lower, upper = cm.lower.copy(), cm.upper.copy()
    if active:
        span = max(abs(bg.high_level - bg.low_level), float(np.max(y) - np.min(y)))
        lower = np.concatenate([lower, [bg.low_level - span, -np.inf]])
        upper = np.concatenate([upper, [bg.low_level + span, np.inf]])
        starts = [np.concatenate([s0, [bg.low_level, (bg.high_level - bg.low_level) / max(
            float(np.sum(_peaks_integral(ev, s0))), 1e-12)]]) for s0 in starts]
    starts = [np.clip(s0, lower, upper) for s0 in starts]
    w = 1.0 / np.maximum(sigma, 1e-300)
    npk = cm.p0.size
    static_bg = bg.values

    def model_of(p):
        curves, der = ev.profiles(p[:npk], True)
        peaks = curves.sum(axis=0)
        if active:
            ci = cumulative_integral(x, peaks)
            return peaks + p[npk] + p[npk + 1] * ci, curves, der, ci
        return peaks + static_bg, curves, der, None

    cache = {}

    def resid(p):
        m, curves, der, ci = model_of(p)
        cache["p"], cache["v"] = p.copy(), (curves, der, ci)
        return (m - y) * w

    def jac(p):
        if "p" in cache and np.array_equal(cache["p"], p):
            curves, der, ci = cache["v"]
        else:
            _, curves, der, ci = model_of(p)
        jp = ev.jac_peaks(der)
        if active:
            jp = jp + p[npk + 1] * cumulative_integral(x, jp.T).T
            jp = np.hstack([jp, np.ones((x.size, 1)), ci[:, None]])
        return jp * w[:, None]

    sol, nfev = None, 0
    for i, s0 in enumerate(starts):
        # the first start is the prescan's best; the others (other local minima of the
        # position scan) only replace it when they end lower, and their failures are
        # not the fit's
        try:
            cand = least_squares(resid, s0, jac=jac, bounds=(lower, upper), method="trf",
                                 x_scale="jac", max_nfev=max_nfev)
        except (ValueError, np.linalg.LinAlgError) as exc:
            if i == 0:
                raise FitError(f"{name}: the fit failed ({exc})") from exc
            continue
        nfev += int(cand.nfev)
        if i == 0:
            if cand.status == 0:
                raise FitError(f"{name}: the fit did not converge within {max_nfev} function "
                               "evaluations; check the window, the model and the background")
            if not cand.success or not np.all(np.isfinite(cand.x)):
                raise FitError(f"{name}: the fit failed: {cand.message}")
        elif not (cand.success and np.all(np.isfinite(cand.x))):
            continue
        if sol is None or cand.cost < sol.cost:
            sol = cand
    p = sol.x
    m, curves, der, ci = model_of(p)
    bgv = p[npk] + p[npk + 1] * ci if active else static_bg
    r = (m - y) * w
    chi2 = float(r @ r)
    nfree = p.size
    dof = max(x.size - nfree, 1)
    redchi = chi2 / dof
    jf = sol.jac
    cov = _covariance(jf) * redchi
    perr = np.sqrt(np.clip(np.diag(cov), 0, None))
    cpk = cov[:npk, :npk]
    centers, fwhms, areas = cm.params(p[:npk])
    cerr = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", cm.Cm, cpk, cm.Cm), 0, None))
    ferr = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", cm.Fm, cpk, cm.Fm), 0, None))
    acov = cm.Am @ cpk @ cm.Am.T
    aerr = np.sqrt(np.clip(np.diag(acov), 0, None))
    names = cm.names + (("background.b0", "background.k") if active else ())
    at_bound = tuple(n for n, v, lo, hi in zip(names, p, lower, upper)
                     if (np.isfinite(lo) and abs(v - lo) <= 1e-6 * max(1.0, abs(lo)))
                     or (np.isfinite(hi) and abs(v - hi) <= 1e-6 * max(1.0, abs(hi))))
    real_bounds = tuple(n for n in at_bound if not (n.endswith(".area") and
                                                      abs(p[names.index(n)]) < 1e-12))
    if real_bounds:
        notes.append(AT_BOUND.record(f"{name}: parameter(s) at a bound: {', '.join(real_bounds)}",
                                     parameters=", ".join(real_bounds)))
    bpar = dict(bg.parameters)
    if active:
        bpar.update(b0=float(p[npk]), k=float(p[npk + 1]),
                    b0_err=float(perr[npk]), k_err=float(perr[npk + 1]))
    return FitResult(model=model, energy_eV=x, data=y, sigma=sigma, background=np.asarray(bgv),
                     components=curves, envelope=m, centers_eV=centers, fwhms_eV=fwhms,
                     areas=areas, centers_err_eV=cerr, fwhms_err_eV=ferr, areas_err=aerr,
                     area_covariance=acov, free_names=names, free_values=p, free_errors=perr,
                     at_bound=at_bound, chi2=chi2, reduced_chi2=redchi, nfev=nfev,
                     success=bool(sol.success), message=str(sol.message),
                     background_kind=bkind, background_parameters=bpar,
                     elapsed_s=time.perf_counter() - t0, warnings=tuple(notes))


def _scan_center(model: Model, cm) -> int | None:
    """Index (in the free vector) of the center to scan: the only free center, or else the
    only free center that moves oxidation-state components (components with a ``state``;
    the others -- Auger envelopes -- are held during the scan). None when there is none
    or more than one."""
    centers = [i for i, n in enumerate(cm.names) if n.endswith(".center")]
    if len(centers) == 1:
        return centers[0]
    has_state = np.array([c.state is not None for c in model.components])
    valence = [i for i in centers if np.any(has_state & (cm.Cm[:, i] != 0))]
    return valence[0] if len(valence) == 1 else None


def _prescan_position(ev: _Evaluator, p, target, *, w_data, step: float = 0.05,
                      max_starts: int = MAX_STARTS, min_sep_eV: float = 0.3) -> list[np.ndarray]:
    """Grid search of one free center (:func:`_scan_center`); at each grid point every free
    area (Auger envelopes included) by NNLS, widths and other centers at their start.

    Returns start vectors, best first: the grid's best position and the next-lowest local
    minima of the scan (``max_starts`` in all, at least ``min_sep_eV`` eV apart). Widths
    are held during the scan, so a minimum that loses at start widths can win once they
    are refined (real MnO2 plus a real Ni LMM at 0.5 of its area: 639.8 eV loses to a
    Mn3+-like 640.7 eV on the grid, 1.2-1.5x in residual sum of squares, and wins by 0.7x
    after the fit); the fit refines every start."""
    from scipy.optimize import nnls

    cm = ev.cm
    i = _scan_center(ev.model, cm)
    if i is None:
        return [p]
    lo, hi = cm.lower[i], cm.upper[i]
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo < 2 * step:
        return [p]
    area_cols = np.flatnonzero(np.any(cm.Am != 0, axis=0))
    q = p.copy()
    q[area_cols] = 1.0
    b = target * w_data
    grid = np.arange(lo, hi + 1e-9, step)
    ssq = np.empty(grid.size)
    sols = []
    for g, c in enumerate(grid):
        q[i] = c
        curves, _ = ev.profiles(q, False)
        areas = cm.Am @ q + cm.a0
        unit = curves / np.where(areas > 0, areas, 1.0)[:, None]
        basis = cm.Am[:, area_cols].T @ unit              # (n_area, M)
        a, rnorm = nnls((basis * w_data).T, b)
        ssq[g] = rnorm * rnorm
        sols.append(a)
    best = int(np.argmin(ssq))
    local = [g for g in range(grid.size)
             if (g == 0 or ssq[g] <= ssq[g - 1]) and (g == grid.size - 1 or ssq[g] <= ssq[g + 1])]
    picks = [best]
    for g in sorted(local, key=lambda g: ssq[g]):
        if len(picks) >= max_starts:
            break
        if all(abs(grid[g] - grid[k]) >= min_sep_eV for k in picks):
            picks.append(g)
    out = []
    for g in picks:
        o = p.copy()
        o[i] = grid[g]
        a = sols[g]
        # keep a small positive start for areas NNLS put at zero (least_squares needs
        # a strictly feasible start when the bound is 0)
        floor = 1e-3 * max(float(a.max()), 1e-12)
        o[area_cols] = np.maximum(a, floor)
        out.append(np.clip(o, cm.lower, cm.upper))
    return out


def _peaks_integral(ev, p):
    curves, _ = ev.profiles(p, False)
    return np.trapezoid(curves, ev.x, axis=1)


def _rescale_areas(ev: _Evaluator, p, target):
    """Scale the free areas so that the start envelope has the data's net area."""
    cm = ev.cm
    net = float(np.trapezoid(np.clip(target, 0, None), ev.x))
    model_area = float(np.sum(_peaks_integral(ev, p)))
    if model_area <= 0 or net <= 0:
        return p
    area_free = np.flatnonzero(np.any(cm.Am != 0, axis=0))
    q = p.copy()
    q[area_free] *= net / model_area
    return np.clip(q, cm.lower, cm.upper)


def _covariance(j):
    """(J^T J)^-1 via SVD, dropping singular directions (errors then come out large)."""
    _, s, vt = np.linalg.svd(j, full_matrices=False)
    tol = np.finfo(float).eps * max(j.shape) * (s[0] if s.size else 0.0)
    keep = s > tol
    inv = np.zeros_like(s)
    inv[keep] = 1.0 / s[keep] ** 2
    return (vt.T * inv) @ vt
