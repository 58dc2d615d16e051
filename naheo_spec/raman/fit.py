"""Band deconvolution: all spectra of a series fitted at once.

Each window of a preset is fitted on the baseline-corrected signal with its bands plus a
quadratic background (``b0 + b1 t + b2 t^2``, ``t`` from -1 to 1 across the window): the
wing of a strong band can curve across a neighbouring window (the anatase 637 cm-1 band
under the carbonate window of the RRUFF spectrum), and a linear term then pushes weak
bands onto their bounds. The solver is a
Levenberg-Marquardt iteration vectorised over spectra (numpy batched normal equations with
Marquardt's diagonal scaling; parameters projected onto their bounds after each step),
so a 1,000-spectrum series costs a few hundred batched linear solves rather than 1,000
separate fits. Spectra whose batched fit does not converge are refitted one by one with
``scipy.optimize.least_squares`` (trust-region reflective, bounds), warm-started from the
batched result. Uncertainties are the square roots of the diagonal of ``s^2 (J^T J)^-1``
at the solution, with ``s^2`` the residual variance (chi-square per degree of freedom),
i.e. scaled to the scatter of the data, as lmfit reports them.

References
----------
K. Levenberg, Q. Appl. Math. 2, 164 (1944); D. W. Marquardt, J. SIAM 11, 431 (1963),
doi:10.1137/0111030; M. Newville et al., lmfit, doi:10.5281/zenodo.11813 (the benchmark
anchor used in the tests).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import QualityWarning
from naheo_spec.raman.lineshapes import peak_height_factor, profile, profile_and_grad
from naheo_spec.raman.presets import BandSpec, Preset

__all__ = ["BandTable", "fit_bands", "window_model", "BOUND_HIT", "NOT_CONVERGED",
           "band_parameters"]

BOUND_HIT = WarningCode("raman.fit.bound_hit", QualityWarning,
                        "A significant band ended on a bound of its centre or width: the "
                        "number is a limit, not a result.")
NOT_CONVERGED = WarningCode("raman.fit.not_converged", QualityWarning,
                            "The band fit of a spectrum did not converge.")

#: Default eta of the pseudo-Voigt at the start (free in [0, 1] unless fixed).
ETA_START = 0.5
#: Coefficients of each window's polynomial background (2: linear, 3: quadratic).
BACKGROUND_TERMS = 3


def band_parameters(shape: str) -> tuple[str, ...]:
    """Parameter names of one band of ``shape``.

    Examples
    --------
    >>> band_parameters("pseudo-voigt")
    ('area', 'center', 'fwhm', 'eta')
    """
    return ("area", "center", "fwhm", "eta") if shape == "pseudo-voigt" else ("area", "center", "fwhm")


@dataclass(frozen=True)
class _Layout:
    bands: tuple[BandSpec, ...]
    offsets: tuple[int, ...]
    n_params: int
    eta_fixed: float | None
    nbg: int = BACKGROUND_TERMS

    @classmethod
    def of(cls, bands, eta_fixed, nbg=BACKGROUND_TERMS):
        offs, k = [], 0
        for b in bands:
            offs.append(k)
            k += 3 + (b.shape == "pseudo-voigt" and eta_fixed is None)
        return cls(tuple(bands), tuple(offs), k + nbg, eta_fixed, nbg)

    @property
    def area_mask(self) -> np.ndarray:
        """True for the area parameters."""
        m = np.zeros(self.n_params, dtype=bool)
        m[list(self.offsets)] = True
        return m

    @property
    def background_mask(self) -> np.ndarray:
        """True for the background coefficients."""
        m = np.zeros(self.n_params, dtype=bool)
        m[self.n_params - self.nbg:] = True
        return m

    @property
    def position_mask(self) -> np.ndarray:
        """True for centre and FWHM parameters (held when they end on a bound)."""
        m = np.zeros(self.n_params, dtype=bool)
        for o in self.offsets:
            m[o + 1] = m[o + 2] = True
        return m

    def band_params(self, p, j):
        b, o = self.bands[j], self.offsets[j]
        params = [p[:, o:o + 1], p[:, o + 1:o + 2], p[:, o + 2:o + 3]]
        if b.shape == "pseudo-voigt":
            params.append(p[:, o + 3:o + 4] if self.eta_fixed is None
                          else np.full_like(p[:, :1], self.eta_fixed))
        return params


def _model_jac(x, t, p, lay: _Layout, want_jac=True):
    n = p.shape[0]
    nbg = lay.nbg
    powers = [t ** q for q in range(nbg)]
    model = sum(p[:, lay.n_params - nbg + q, None] * powers[q] for q in range(nbg))
    jac = np.empty((n, x.size, lay.n_params)) if want_jac else None
    for j, b in enumerate(lay.bands):
        params = lay.band_params(p, j)
        if want_jac:
            val, grads = profile_and_grad(b.shape, x, params)
            o = lay.offsets[j]
            for k in range(3 + (b.shape == "pseudo-voigt" and lay.eta_fixed is None)):
                jac[:, :, o + k] = grads[k]
        else:
            val = profile(b.shape, x, params)
        model = model + val
    if want_jac:
        for q in range(nbg):
            jac[:, :, lay.n_params - nbg + q] = powers[q]
    return model, jac


def _bounds(lay: _Layout, scale):
    lo, hi = [], []
    for b in lay.bands:
        lo += [0.0, b.center_range_cm1[0], b.fwhm_range_cm1[0]]
        hi += [np.inf, b.center_range_cm1[1], b.fwhm_range_cm1[1]]
        if b.shape == "pseudo-voigt" and lay.eta_fixed is None:
            lo.append(0.0)
            hi.append(1.0)
    lo += [-np.inf] * lay.nbg
    hi += [np.inf] * lay.nbg
    return np.array(lo), np.array(hi)


def _guess(x, y, lay: _Layout):
    n = y.shape[0]
    p = np.zeros((n, lay.n_params))
    lo_q = np.nanpercentile(y, 5, axis=1)
    dx = np.median(np.diff(x))
    for j, b in enumerate(lay.bands):
        o = lay.offsets[j]
        sel = (x >= b.center_range_cm1[0]) & (x <= b.center_range_cm1[1])
        if sel.sum() >= 1:
            seg = y[:, sel]
            k = np.nanargmax(seg, axis=1)
            c0 = x[sel][k]
            h0 = np.maximum(seg[np.arange(n), k] - lo_q, 0.0)
            # keep the preset centre when the data show nothing above the background
            c0 = np.where(h0 > 0, c0, b.center_cm1)
        else:
            c0 = np.full(n, b.center_cm1)
            h0 = np.zeros(n)
        w0 = max(b.fwhm_cm1, 2 * dx)
        eta0 = ETA_START if lay.eta_fixed is None else lay.eta_fixed
        hf = float(peak_height_factor(b.shape, w0, eta0))
        p[:, o] = np.maximum(h0, 1e-12) / hf * 0.8
        p[:, o + 1] = c0
        p[:, o + 2] = w0
        if b.shape == "pseudo-voigt" and lay.eta_fixed is None:
            p[:, o + 3] = ETA_START
    p[:, lay.n_params - lay.nbg] = lo_q
    return p


def _lm(x, t, y, p, lay, lo, hi, *, max_iter=200, tol=1e-8):
    """Batched projected Levenberg-Marquardt; returns p, cost, jac, converged, iterations."""
    n = y.shape[0]
    p = np.clip(p, lo, hi)
    model, jac = _model_jac(x, t, p, lay)
    r = model - y
    cost = np.einsum("nm,nm->n", r, r)
    # typical size of each parameter, so that an area creeping near zero (an empty band)
    # counts as converged: areas and background by the data's range, the rest by 1
    span_y = np.maximum(np.ptp(y, axis=1), 1e-12)[:, None]
    scale = np.where(lay.area_mask | lay.background_mask, span_y, 1.0)
    lam = np.full(n, 1e-3)
    active = np.ones(n, dtype=bool)
    converged = np.zeros(n, dtype=bool)
    it = 0
    eye = np.eye(lay.n_params)
    for it in range(1, max_iter + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        J = jac[idx]
        jt = np.swapaxes(J, 1, 2)
        jtj = jt @ J
        g = (jt @ r[idx][:, :, None])[:, :, 0]
        d = np.einsum("npp->np", jtj)
        d = np.where(d > 0, d, 1.0)
        # active set: a parameter on a bound whose descent direction points outside stays
        # there (projecting such steps instead makes LM crawl along the bound)
        pi = p[idx]
        span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
        frozen = ((pi <= lo + 1e-9 * span) & (g > 0)) | ((pi >= hi - 1e-9 * span) & (g < 0))
        if frozen.any():
            keep = (~frozen).astype(float)
            jtj = jtj * keep[:, :, None] * keep[:, None, :]
            g = g * keep
            d = np.where(frozen, 1.0, d)
            jtj = jtj + frozen[:, :, None] * eye * d[:, :, None]
        a = jtj + lam[idx, None, None] * d[:, :, None] * eye
        try:
            step = -np.linalg.solve(a, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = -np.stack([np.linalg.lstsq(ai, gi, rcond=None)[0] for ai, gi in zip(a, g)])
        p_new = np.clip(p[idx] + step, lo, hi)
        m_new, j_new = _model_jac(x, t, p_new, lay)
        r_new = m_new - y[idx]
        c_new = np.einsum("nm,nm->n", r_new, r_new)
        ok = np.isfinite(c_new) & (c_new <= cost[idx])
        acc = idx[ok]
        rel = (cost[acc] - c_new[ok]) / np.maximum(cost[acc], 1e-300)
        moved = np.max(np.abs(p_new[ok] - p[acc]) / (np.abs(p[acc]) + scale[acc]), axis=1) \
            if acc.size else np.zeros(0)
        p[acc], r[acc], jac[acc], cost[acc] = p_new[ok], r_new[ok], j_new[ok], c_new[ok]
        lam[acc] = np.maximum(lam[acc] / 3.0, 1e-12)
        rej = idx[~ok]
        lam[rej] *= 4.0
        done = acc[(rel < tol) | (moved < 1e-8)]
        converged[done] = True
        active[done] = False
        stuck = rej[lam[rej] > 1e12]
        converged[stuck] = True          # no step reduces the cost: a (local) minimum
        active[stuck] = False
    return p, cost, jac, converged, it


def _refit_scipy(x, t, y, p0, lay, lo, hi):
    from scipy.optimize import least_squares

    def fun(q):
        return _model_jac(x, t, q[None, :], lay, want_jac=False)[0][0] - y

    def jac(q):
        return _model_jac(x, t, q[None, :], lay)[1][0]

    lo_s = np.where(np.isfinite(lo), lo, -np.inf)
    p0 = np.clip(p0, lo, hi)
    # least_squares needs a strictly feasible start
    span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
    p0 = np.minimum(np.maximum(p0, lo_s + 1e-9 * span), hi - 1e-9 * span)
    res = least_squares(fun, p0, jac=jac, bounds=(lo_s, hi), method="trf", x_scale="jac",
                        max_nfev=150)
    return res.x, float(2 * res.cost), res.jac, bool(res.success)


@dataclass(frozen=True, eq=False)
class BandTable:
    """Fitted bands of N spectra.

    Attributes
    ----------
    names, roles, shapes, band_windows : tuple of str
        One per band, in preset order (``band_windows``: the window each band is fitted in).
    center, center_err, fwhm, fwhm_err, area, area_err, height, height_err, eta :
        ndarray (N, B): centre and FWHM in cm-1, area in intensity x cm-1, height in
        intensity units; eta (pseudo-Voigt Lorentzian fraction, NaN for other shapes).
    area_cov : ndarray (N, B, B)
        Covariance of the areas (zero between bands of different windows).
    at_bound : ndarray of bool (N, B)
        Centre or FWHM within 0.1 % of the range of a bound.
    background : ndarray (N, W, 2)
        Polynomial background coefficients (b0, b1, b2 of ``t`` from -1 to 1) per window.
    redchi : ndarray (N, W)
        Residual variance per degree of freedom of each window.
    converged : ndarray of bool (N,)
    fitted : ndarray of bool (N,)
        False for rows that were not fitted (masked).
    windows : tuple of (name, lo, hi)
    n_iterations : int
        Batched iterations used (largest window).
    n_refit : int
        Rows refitted one by one with scipy.
    """

    names: tuple[str, ...]
    roles: tuple[str, ...]
    shapes: tuple[str, ...]
    band_windows: tuple[str, ...]
    center: np.ndarray
    center_err: np.ndarray
    fwhm: np.ndarray
    fwhm_err: np.ndarray
    area: np.ndarray
    area_err: np.ndarray
    height: np.ndarray
    height_err: np.ndarray
    eta: np.ndarray
    area_cov: np.ndarray
    at_bound: np.ndarray
    background: np.ndarray
    redchi: np.ndarray
    converged: np.ndarray
    fitted: np.ndarray
    windows: tuple[tuple[str, float, float], ...]
    n_iterations: int
    n_refit: int

    def index(self, name: str) -> int:
        return self.names.index(name)

    def __len__(self) -> int:
        return int(self.center.shape[0])


def _window_slice(axis, lo, hi):
    return np.flatnonzero((axis >= lo) & (axis <= hi))


def fit_bands(axis, signals, preset: Preset, *, eta=None, rows=None, max_iter: int = 600
              ) -> BandTable:
    """Fit the bands of ``preset`` to each spectrum (rows of ``signals``).

    Parameters
    ----------
    axis : ndarray, shape (M,)
        Raman shift (cm-1), ascending.
    signals : ndarray, shape (N, M)
        Baseline-corrected intensities (a 1-D array is one spectrum).
    preset : Preset
        Windows and bands (:func:`~naheo_spec.raman.presets.load_preset`).
    eta : float, optional
        Fix the pseudo-Voigt Lorentzian fraction (faster, steadier on weak bands). Default
        None: free in [0, 1] per band.
    rows : array of bool (N,), optional
        Rows to fit (the QC mask). Default: all.
    max_iter : int
        Batched Levenberg-Marquardt iterations per window (only the spectra not yet
        converged take part in each). Default 600.

    Returns
    -------
    BandTable

    References
    ----------
    D. W. Marquardt, J. SIAM 11, 431 (1963), doi:10.1137/0111030.

    Examples
    --------
    >>> from naheo_spec.raman.presets import load_preset
    >>> from naheo_spec.raman.lineshapes import lorentzian
    >>> x = np.linspace(1000.0, 1150.0, 301)
    >>> y = lorentzian(x, 500.0, 1087.3, 6.0) + 2.0
    >>> t = fit_bands(x, y, load_preset("calcite"))
    >>> round(float(t.center[0, 0]), 2), round(float(t.area[0, 0]), 1)
    (1087.3, 500.0)
    """
    axis = np.asarray(axis, dtype=float)
    y_all = np.atleast_2d(np.asarray(signals, dtype=float))
    n = y_all.shape[0]
    rows = np.ones(n, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    names = preset.names
    nb = len(names)
    out = {k: np.full((n, nb), np.nan) for k in ("center", "center_err", "fwhm", "fwhm_err",
                                                 "area", "area_err", "height", "height_err", "eta")}
    cov = np.zeros((n, nb, nb))
    at_bound = np.zeros((n, nb), dtype=bool)
    bg = np.full((n, len(preset.windows), BACKGROUND_TERMS), np.nan)
    redchi = np.full((n, len(preset.windows)), np.nan)
    converged = np.zeros(n, dtype=bool)
    converged[rows] = True
    fit_rows = np.flatnonzero(rows)
    n_iter, n_refit = 0, 0
    for wi, win in enumerate(preset.windows):
        bands = preset.bands_in(win.name)
        if not bands or fit_rows.size == 0:
            continue
        sl = _window_slice(axis, *win.range_cm1)
        lay = _Layout.of(bands, eta, win.background_terms)
        if sl.size < lay.n_params + 2:
            continue            # window outside the data: its bands stay NaN (pipeline warns)
        x = axis[sl]
        t = (x - 0.5 * (x[0] + x[-1])) / max(0.5 * (x[-1] - x[0]), 1e-12)
        y = y_all[np.ix_(fit_rows, sl)]
        lo, hi = _bounds(lay, None)
        p, cost, jac, conv, it = _lm(x, t, y, _guess(x, y, lay), lay, lo, hi, max_iter=max_iter)
        n_iter = max(n_iter, it)
        for k in np.flatnonzero(~conv | ~np.isfinite(cost)):
            q, c, jq, ok = _refit_scipy(x, t, y[k], p[k], lay, lo, hi)
            if ok or not c >= cost[k]:          # keep whichever solution is better
                p[k], cost[k], jac[k], conv[k] = q, c, jq, ok
            n_refit += 1
        dof = max(x.size - lay.n_params, 1)
        s2 = cost / dof
        jt = np.swapaxes(jac, 1, 2)
        jtj = jt @ jac
        # a centre or width that ended on a bound is held there: a band pinned to the edge of
        # its range (flagged, not a result) must not inflate the errors of its neighbours and
        # of the background. eta and areas on bounds stay free: holding them made the area
        # errors half the real scatter of injected bands (tests/raman/test_pipeline.py)
        span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
        held = ((p <= lo + 1e-6 * span) | (p >= hi - 1e-6 * span)) & lay.position_mask
        keep = (~held).astype(float)
        jtj = jtj * keep[:, :, None] * keep[:, None, :] + held[:, :, None] * np.eye(lay.n_params)
        try:
            inv = np.linalg.pinv(jtj)
        except np.linalg.LinAlgError:
            inv = np.full_like(jtj, np.nan)
        inv = inv * keep[:, :, None] * keep[:, None, :]
        pcov = inv * s2[:, None, None]
        converged[fit_rows] &= conv
        redchi[fit_rows, wi] = s2
        bg[fit_rows, wi, :] = 0.0
        bg[fit_rows, wi, :lay.nbg] = p[:, lay.n_params - lay.nbg:]
        idx = [names.index(b.name) for b in bands]
        for j, b in enumerate(bands):
            o, g = lay.offsets[j], idx[j]
            area, center, fwhm = p[:, o], p[:, o + 1], p[:, o + 2]
            out["area"][fit_rows, g] = area
            out["center"][fit_rows, g] = center
            out["fwhm"][fit_rows, g] = fwhm
            var = np.einsum("npp->np", pcov)
            out["area_err"][fit_rows, g] = np.sqrt(np.maximum(var[:, o], 0))
            out["center_err"][fit_rows, g] = np.sqrt(np.maximum(var[:, o + 1], 0))
            out["fwhm_err"][fit_rows, g] = np.sqrt(np.maximum(var[:, o + 2], 0))
            if b.shape == "pseudo-voigt":
                e = p[:, o + 3] if eta is None else np.full(fit_rows.size, float(eta))
            else:
                e = np.full(fit_rows.size, np.nan)
            out["eta"][fit_rows, g] = e
            hf = peak_height_factor(b.shape, fwhm, e if b.shape == "pseudo-voigt" else None)
            out["height"][fit_rows, g] = area * hf
            out["height_err"][fit_rows, g] = out["area_err"][fit_rows, g] * hf
            span_c = b.center_range_cm1[1] - b.center_range_cm1[0]
            span_w = b.fwhm_range_cm1[1] - b.fwhm_range_cm1[0]
            at_bound[fit_rows, g] = (
                (np.minimum(center - b.center_range_cm1[0], b.center_range_cm1[1] - center)
                 < 1e-3 * span_c)
                | (np.minimum(fwhm - b.fwhm_range_cm1[0], b.fwhm_range_cm1[1] - fwhm)
                   < 1e-3 * span_w))
            for j2, b2 in enumerate(bands):
                cov[fit_rows, g, idx[j2]] = pcov[:, o, lay.offsets[j2]]
    return BandTable(names=names, roles=tuple(b.role for b in preset.bands),
                     shapes=tuple(b.shape for b in preset.bands),
                     band_windows=tuple(b.window for b in preset.bands), area_cov=cov,
                     at_bound=at_bound, background=bg, redchi=redchi, converged=converged,
                     fitted=rows.copy(),
                     windows=tuple((w.name, *w.range_cm1) for w in preset.windows),
                     n_iterations=n_iter, n_refit=n_refit, **out)


def window_model(axis, table: BandTable, row: int, *, bands=None, background=True):
    """The fitted model of spectrum ``row`` on ``axis`` (NaN outside the windows).

    Parameters
    ----------
    axis : ndarray (M,)
    table : BandTable
    row : int
    bands : sequence of str, optional
        Only these bands (default all).
    background : bool
        Include each window's polynomial background. Default True.
    """
    axis = np.asarray(axis, dtype=float)
    out = np.full(axis.size, np.nan)
    for wi, (wname, lo, hi) in enumerate(table.windows):
        sl = _window_slice(axis, lo, hi)
        if sl.size == 0 or not np.isfinite(table.background[row, wi, 0]):
            continue
        x = axis[sl]
        t = (x - 0.5 * (x[0] + x[-1])) / max(0.5 * (x[-1] - x[0]), 1e-12)
        m = sum(table.background[row, wi, q] * t ** q for q in range(table.background.shape[2])) \
            if background else np.zeros(x.size)
        for j, name in enumerate(table.names):
            if bands is not None and name not in bands:
                continue
            if table.band_windows[j] != wname or not np.isfinite(table.area[row, j]):
                continue
            params = [table.area[row, j], table.center[row, j], table.fwhm[row, j],
                      table.eta[row, j]]
            m = m + profile(table.shapes[j], x, params)
        out[sl] = m
    return out



def window_components(axis, table: BandTable, window: str):
    """Background and band profiles of every spectrum in one window.

    Returns
    -------
    sl : ndarray of int
        Indices of ``axis`` inside the window.
    background : ndarray (N, m)
        Polynomial background (NaN for rows not fitted).
    bands : dict of str to ndarray (N, m)
        Profile of each band of the window.
    """
    axis = np.asarray(axis, dtype=float)
    wi = [w[0] for w in table.windows].index(window)
    _, lo, hi = table.windows[wi]
    sl = _window_slice(axis, lo, hi)
    if sl.size == 0:
        return sl, np.zeros((table.center.shape[0], 0)), {}
    x = axis[sl]
    t = (x - 0.5 * (x[0] + x[-1])) / max(0.5 * (x[-1] - x[0]), 1e-12)
    bg = sum(table.background[:, wi, q:q + 1] * t ** q for q in range(table.background.shape[2]))
    comps = {}
    for j, name in enumerate(table.names):
        if table.band_windows[j] != window:
            continue
        params = [table.area[:, j:j + 1], table.center[:, j:j + 1], table.fwhm[:, j:j + 1],
                  table.eta[:, j:j + 1]]
        comps[name] = profile(table.shapes[j], x, params)
    return sl, bg, comps
