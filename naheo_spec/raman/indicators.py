"""Indicators from fitted bands: detection, carbonate index, A1g/Eg, series tracking.

**Detection** is decided from the data, not from the fit alone: for each band, the
measured signal (baseline-corrected, minus the window's fitted background and the *other*
fitted bands) is summed over ``center +- FWHM``, and compared with the noise of that sum,
``sigma * dx * sqrt(n)``, where ``sigma`` is the point noise estimated from the window's
second differences (``1.4826 MAD / sqrt(6)``, model-free). A band is detected when this
signal-to-noise ratio reaches ``snr_threshold`` (default 3), *and* the fit agrees: its
area is at least ``snr_threshold`` times its fit error, and neither its centre nor its
width ended on a bound (a band pinned to the edge of its range is modelling something
else: the wing of a neighbour, a curved background).

**Carbonate index** = (sum of the carbonate-band areas) / (sum of the reference-band
areas, Eg + A1g by default), with the uncertainty propagated from the fit covariance. It
is a *relative* indicator: Raman cross-sections and probing depths differ between a black,
absorbing oxide and a transparent carbonate, so the index tracks changes of one material
on one instrument (air exposure, cycling), not a mass or volume fraction. When no
carbonate band is detected the index is still reported (it may be near zero or slightly
negative from noise) together with an upper limit,
``(sum of positive carbonate areas + k * sigma_sum) / reference area`` with ``k = 3``.

**A1g/Eg** is the area ratio of the ``a1g`` and ``eg`` bands. For in-situ series, areas
normalised to an internal band (:func:`normalized_areas`) remove the changes of focus and
laser power that make raw intensities meaningless.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import QualityWarning
from naheo_spec.raman.fit import BandTable, window_components

__all__ = ["Detection", "detect_bands", "carbonate_index", "area_ratio", "normalized_areas",
           "first_detection", "laser_damage_trend", "noise_sigma", "LASER_DAMAGE",
           "SNR_THRESHOLD", "UPPER_LIMIT_K"]

#: Default signal-to-noise ratio for a detection.
SNR_THRESHOLD = 3.0
#: Standard deviations added to the measured area for an upper limit.
UPPER_LIMIT_K = 3.0

LASER_DAMAGE = WarningCode(
    "raman.series.laser_damage", QualityWarning,
    "Intensity near 655-660 cm-1 (Mn3O4, a laser-damage product of Mn-rich oxides) grows over "
    "the series: lower the laser power or move the spot.")


def noise_sigma(y, axis=-1):
    """Point noise of ``y`` from its second differences: ``1.4826 MAD(d2) / sqrt(6)``.

    Robust to bands (few points have large curvature) and independent of any model.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> y = 50 * np.sin(np.linspace(0, 3, 4000)) + rng.normal(0, 2.0, 4000)
    >>> bool(abs(noise_sigma(y) - 2.0) < 0.1)
    True
    """
    d2 = np.diff(np.asarray(y, dtype=float), n=2, axis=axis)
    med = np.median(d2, axis=axis, keepdims=True)
    return 1.4826 * np.median(np.abs(d2 - med), axis=axis) / np.sqrt(6.0)


@dataclass(frozen=True, eq=False)
class Detection:
    """Per-band detection.

    Attributes
    ----------
    snr : ndarray (N, B)
        Window-integral signal-to-noise ratio of each band.
    detected : ndarray of bool (N, B)
    noise : ndarray (N, B)
        Point noise sigma used (intensity units).
    threshold : float
    carbonate_snr : ndarray (N,) or None
        Signal-to-noise ratio of the carbonate group as a whole: the data minus background
        and non-carbonate bands, summed over the union of the usable carbonate bands'
        ``center +- FWHM`` regions (bands not on a bound, positive area).
    """

    snr: np.ndarray
    detected: np.ndarray
    noise: np.ndarray
    threshold: float
    carbonate_snr: np.ndarray | None = None


def detect_bands(axis, corrected, table: BandTable, *, snr_threshold: float = SNR_THRESHOLD,
                 fallback_fwhm=None, fallback_center=None) -> Detection:
    """Detect each fitted band from the data's signal-to-noise ratio (see module doc).

    Parameters
    ----------
    axis : ndarray (M,)
    corrected : ndarray (N, M)
        Baseline-corrected signals (the fit's input).
    table : BandTable
    snr_threshold : float
        Default 3.
    fallback_fwhm, fallback_center : sequence of float (B,), optional
        Preset width and centre used for a band whose fitted area is not positive.
    """
    axis = np.asarray(axis, dtype=float)
    y = np.atleast_2d(np.asarray(corrected, dtype=float))
    n, nb = table.center.shape
    snr = np.full((n, nb), np.nan)
    noise = np.full((n, nb), np.nan)
    group = np.full(n, np.nan)
    for wname, _, _ in table.windows:
        sl, bg, comps = window_components(axis, table, wname)
        if sl.size < 5 or not comps:
            continue
        x = axis[sl]
        dx = np.gradient(x)
        data = y[:, sl] - bg
        total = sum(comps.values())
        sig = noise_sigma(y[:, sl], axis=1)
        for name, comp in comps.items():
            j = table.index(name)
            resid = data - (total - comp)          # data minus the other bands
            c = table.center[:, j].copy()
            w = table.fwhm[:, j].copy()
            weak = ~(table.area[:, j] > 0)
            if fallback_center is not None:
                c = np.where(weak, fallback_center[j], c)
            if fallback_fwhm is not None:
                w = np.where(weak, fallback_fwhm[j], w)
            w = np.maximum(w, 1.5 * np.median(np.abs(np.diff(x))))
            region = np.abs(x[None, :] - c[:, None]) <= w[:, None]
            npts = region.sum(axis=1)
            integral = np.nansum(np.where(region, resid * dx, 0.0), axis=1)
            sd = sig * np.sqrt(np.nansum(np.where(region, dx * dx, 0.0), axis=1))
            with np.errstate(invalid="ignore", divide="ignore"):
                snr[:, j] = np.where(npts > 0, integral / sd, np.nan)
            noise[:, j] = sig
        carb = [nm for nm in comps if table.roles[table.index(nm)] == "carbonate"]
        if carb:
            others = total - sum(comps[nm] for nm in carb)
            resid = data - others
            union = np.zeros((n, x.size), dtype=bool)
            for nm in carb:
                j = table.index(nm)
                usable = (table.area[:, j] > 0) & ~table.at_bound[:, j]
                w = np.maximum(table.fwhm[:, j], 1.5 * np.median(np.abs(np.diff(x))))
                union |= usable[:, None] & (np.abs(x[None, :] - table.center[:, j, None])
                                            <= w[:, None])
            integral = np.sum(np.where(union, resid * dx, 0.0), axis=1)
            sd = sig * np.sqrt(np.sum(np.where(union, dx * dx, 0.0), axis=1))
            with np.errstate(invalid="ignore", divide="ignore"):
                group = np.where(union.any(axis=1), integral / sd, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        significant = table.area >= snr_threshold * table.area_err
        detected = ((snr >= snr_threshold) & (table.area > 0) & significant & ~table.at_bound
                    & table.fitted[:, None])
    return Detection(snr, detected, noise, float(snr_threshold), group)


def _sum_with_var(table: BandTable, idx):
    a = np.nansum(table.area[:, idx], axis=1)
    cov = table.area_cov[:, idx][:, :, idx]
    var = np.nansum(cov, axis=(1, 2))
    return a, var


def carbonate_index(table: BandTable, detection: Detection, reference_bands,
                    *, k: float = UPPER_LIMIT_K):
    """Carbonate / reference area ratio, its error, detection and upper limit.

    Parameters
    ----------
    table : BandTable
    detection : Detection
    reference_bands : sequence of str
        Denominator bands (default in presets: ``("eg", "a1g")``).
    k : float
        Standard deviations in the upper limit. Default 3.

    Returns
    -------
    index, index_err, upper_limit : ndarray (N,)
        NaN where undefined (no reference or carbonate bands; masked rows). ``upper_limit``
        is NaN where carbonate is detected.
    detected : ndarray of bool (N,)
        Any carbonate band detected on its own, or the carbonate group detected as a whole:
        overlapping carbonate bands share their area (their individual errors are large while
        the sum is well defined), so when no carbonate band ended on a bound the group counts
        as detected if its data signal-to-noise ratio (:attr:`Detection.carbonate_snr`) and
        the significance of its summed area both reach the threshold.
    """
    n = table.center.shape[0]
    carb = [j for j, r in enumerate(table.roles) if r == "carbonate"]
    ref = [table.index(r) for r in reference_bands]
    nan = np.full(n, np.nan)
    if not carb or not ref:
        det = detection.detected[:, carb].any(axis=1) if carb else np.zeros(n, bool)
        return nan, nan.copy(), nan.copy(), det
    # (a preset without reference bands reports per-band detections only)
    c, var_c = _sum_with_var(table, carb)
    r, var_r = _sum_with_var(table, ref)
    cov_cr = np.nansum(table.area_cov[:, carb][:, :, ref], axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        index = c / r
        var = var_c / r ** 2 + c ** 2 * var_r / r ** 4 - 2 * c * cov_cr / r ** 3
        err = np.sqrt(np.maximum(var, 0.0))
        free = [j for j in carb]
        usable = (table.area[:, free] > 0) & ~table.at_bound[:, free]
        c_free = np.nansum(np.where(usable, table.area[:, free], 0.0), axis=1)
        idx = np.array(free)
        var_free = np.einsum("ni,nij,nj->n", usable.astype(float),
                             np.nan_to_num(table.area_cov[:, idx][:, :, idx]), usable.astype(float))
        thr = detection.threshold
        group_snr = detection.carbonate_snr if detection.carbonate_snr is not None \
            else np.full(n, np.inf)
        # the group rule only where every carbonate band stayed inside its range: a band
        # pinned to a bound means structure the carbonate model does not describe (a broad
        # silicate band, a curved wing), which must not be called carbonate
        clean = ~table.at_bound[:, carb].any(axis=1)
        group = (clean & usable.any(axis=1) & (group_snr >= thr)
                 & (c_free >= thr * np.sqrt(np.maximum(var_free, 0))))
        detected = group | detection.detected[:, carb].any(axis=1)
        pos = np.nansum(np.clip(table.area[:, carb], 0, None), axis=1)
        upper = np.where(detected, np.nan, (pos + k * np.sqrt(np.maximum(var_c, 0))) / r)
    bad = ~table.fitted | ~(r > 0) | np.all(np.isnan(table.area[:, carb]), axis=1) \
        | np.any(np.isnan(table.area[:, ref]), axis=1)
    index[bad], err[bad], upper[bad] = np.nan, np.nan, np.nan
    detected = detected & ~bad
    return index, err, upper, detected


def area_ratio(table: BandTable, numerator: str, denominator: str):
    """Area ratio of two bands with its propagated error (NaN when a band is missing).

    Returns
    -------
    ratio, err : ndarray (N,)
    """
    n = table.center.shape[0]
    if numerator not in table.names or denominator not in table.names:
        return np.full(n, np.nan), np.full(n, np.nan)
    i, j = table.index(numerator), table.index(denominator)
    a, b = table.area[:, i], table.area[:, j]
    va, vb, cab = table.area_cov[:, i, i], table.area_cov[:, j, j], table.area_cov[:, i, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = a / b
        var = va / b ** 2 + a ** 2 * vb / b ** 4 - 2 * a * cab / b ** 3
    return ratio, np.sqrt(np.maximum(var, 0.0))


def normalized_areas(table: BandTable, to: str):
    """Every band's area divided by the area of the internal band ``to``, with errors.

    Returns
    -------
    areas, errs : ndarray (N, B)
    """
    out = np.full(table.area.shape, np.nan)
    err = np.full(table.area.shape, np.nan)
    for j, name in enumerate(table.names):
        out[:, j], err[:, j] = area_ratio(table, name, to)
    return out, err


def first_detection(coordinate, detected, *, min_consecutive: int = 1):
    """First coordinate value from which ``detected`` holds on ``min_consecutive`` rows.

    Rows are taken in order of the coordinate (NaN coordinates ignored).

    Returns
    -------
    float or None

    Examples
    --------
    >>> first_detection([0, 24, 48, 168], [False, False, True, True])
    48.0
    >>> first_detection([0, 1, 2], [False, True, False], min_consecutive=2) is None
    True
    """
    c = np.asarray(coordinate, dtype=float)
    d = np.asarray(detected, dtype=bool)
    keep = np.isfinite(c)
    c, d = c[keep], d[keep]
    order = np.argsort(c, kind="stable")
    c, d = c[order], d[order]
    run = 0
    for k in range(c.size):
        run = run + 1 if d[k] else 0
        if run >= min_consecutive:
            return float(c[k - min_consecutive + 1])
    return None


def laser_damage_trend(axis, corrected, reference_area, valid, marker_range,
                       *, min_rows: int = 5, min_increase: float = 0.2, z: float = 3.0):
    """Does the intensity in ``marker_range`` (Mn3O4, 655-660 cm-1) grow over a series?

    The mean baseline-corrected intensity in the marker range is divided by the reference
    area (Eg + A1g) of each spectrum; a straight line is fitted against the row order. A
    slope more than ``z`` standard errors above zero that raises the ratio by more than
    ``min_increase`` (relative) over the series is reported.

    Returns
    -------
    dict or None
        ``slope``, ``slope_err``, ``relative_increase``, ``ratio`` (N,) when the trend is
        significant, else None.
    """
    axis = np.asarray(axis, dtype=float)
    sel = (axis >= marker_range[0]) & (axis <= marker_range[1])
    rows = np.flatnonzero(np.asarray(valid) & np.isfinite(reference_area)
                          & (np.asarray(reference_area) > 0))
    if sel.sum() < 2 or rows.size < min_rows:
        return None
    ratio = np.full(len(valid), np.nan)
    ratio[rows] = np.nanmean(np.asarray(corrected)[rows][:, sel], axis=1) / reference_area[rows]
    t = rows.astype(float)
    r = ratio[rows]
    a = np.vstack([np.ones_like(t), t]).T
    coef, res, *_ = np.linalg.lstsq(a, r, rcond=None)
    dof = max(t.size - 2, 1)
    s2 = float(np.sum((r - a @ coef) ** 2)) / dof
    cov = s2 * np.linalg.inv(a.T @ a)
    slope, se = float(coef[1]), float(np.sqrt(cov[1, 1]))
    start = coef[0] + coef[1] * t[0]
    rel = float(coef[1] * (t[-1] - t[0]) / abs(start)) if start != 0 else np.inf
    if slope > z * se and rel > min_increase:
        return {"slope": slope, "slope_err": se, "relative_increase": rel, "ratio": ratio}
    return None
