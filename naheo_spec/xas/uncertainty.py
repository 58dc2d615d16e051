"""The XANES edge-position error budget: named terms, their priors, and differences.

``e0_err_eV`` of :func:`naheo_spec.xas.xanes.analyze_xanes` (and of every scan of
:func:`naheo_spec.xas.xanes_stack.analyze_xanes_stack`, the same code) is the quadrature sum
of the terms below, each reported in ``e0_err_terms_eV``. ``docs/uncertainties.md`` explains
them with the measurements behind every constant.

``noise``
    The data's own noise propagated through the E0 estimator (:mod:`naheo_spec.xas.e0`).
    White noise is estimated from the data; linearly interpolated data (exactly linear
    between the measured points, as ``np.interp`` and most "rebin onto a uniform grid"
    steps leave them) are recognised and their noise is treated as white on the measured
    points (:func:`interpolation_factor`); for smoothed data, declare the smoothing width
    in points (``noise_correlation``), which the single spectrum cannot reveal.
``grid``
    Discretisation. A grid energy (max-derivative) is known to ``step / sqrt(12)``; a
    level crossing or a fit between points (half-height, zero of the second derivative,
    arctan, integral) to the larger of the interpolation correction it needed (quadratic
    vs linear) and ``step / (4 sqrt(3))``, i.e. a position known to within a quarter step
    either side (:func:`grid_floor`).
``normalization``
    Sensitivity to the normalization ranges (normalized-level methods only): the largest
    change of E0 when the pre-edge range is shortened by 10 eV at its top or 20 eV at its
    bottom, or the normalization range by 25 eV at its start or 50 eV at its end
    (:data:`RANGE_ALTERNATIVES`).
``foil``
    With a foil: the uncertainty of the foil's edge position
    (:func:`naheo_spec.xas.energy_calibration.foil_rows`).
``energy_scale`` and ``energy_drift``
    Without a foil: an uncalibrated monochromator is off by :data:`ENERGY_SCALE_SIGMA_EV`
    (typical absolute offset) and drifts between scans by :data:`ENERGY_DRIFT_SIGMA_EV`.

In a difference of two scans on the same energy calibration (:mod:`naheo_spec.xas.relative`)
``energy_scale`` is common and cancels, as does ``foil`` when one separate foil scan
calibrated both; ``normalization`` is replaced by the sensitivity of the difference itself;
``noise``, ``grid``, ``drift`` and per-scan ``foil`` terms add.

References
----------
.. [1] JCGM 100:2008, *Evaluation of measurement data -- Guide to the expression of
   uncertainty in measurement* (GUM), sec. 4.3.7 (uniform distribution: width/sqrt(12))
   and 5.1 (combination in quadrature).
.. [2] S. Kraft et al., Rev. Sci. Instrum. 67, 681 (1996), doi:10.1063/1.1146657 (foil
   edges 1.3-1.5 eV below the tabulated energies).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Order in which the terms are reported.
TERMS = ("noise", "grid", "normalization", "foil", "energy_scale", "energy_drift")

#: Typical absolute offset (eV, 1 sigma) of an energy scale not calibrated against a foil:
#: the root mean square of the raw max-derivative foil E0 minus the tabulated edge for the
#: eight beamline foils in the shared data (Ni APS 13-ID-C -1.50, Ni ESRF BM08 -0.11, Fe
#: BM08 -0.48, Fe APS 13-ID-E -1.20, Fe APS 13-BM-D -1.00, Mn BM08 -0.80, Mn APS MRCAT
#: -1.30, Ni NiO.prj first scan -1.25 eV) is 1.05 eV. The NSLS X-11A scan fe.060 (-6.5 eV)
#: shows that an unchecked beamline can be much further off: calibrate.
ENERGY_SCALE_SIGMA_EV = 1.0
#: Scan-to-scan drift (eV, 1 sigma per scan) of an uncalibrated monochromator within one
#: session: the ten NiO.prj foils moved by 0.52, 0.25, 0.20, 0.13, 0.42, 0.13, 0.08 and
#: 0.04 eV between consecutive scans after the first (rms 0.27 eV for a difference of two
#: scans, so 0.19 eV per scan; the 3.7 eV jump after scan 000 is a restart).
ENERGY_DRIFT_SIGMA_EV = 0.2
#: Fraction of the grid step below which a level crossing is never claimed: a position
#: known to within +-step/4 (uniform) has a standard deviation of step / (4 sqrt 3).
GRID_FLOOR_FRACTION = 1.0 / (4.0 * np.sqrt(3.0))
#: Normalization-range changes of the ``normalization`` term: (pre1, pre2, norm1, norm2)
#: offsets in eV added to the ranges used.
RANGE_ALTERNATIVES = ((0.0, -10.0, 0.0, 0.0), (20.0, 0.0, 0.0, 0.0),
                      (0.0, 0.0, 25.0, 0.0), (0.0, 0.0, 0.0, -50.0))
#: Terms that cancel in the difference of two scans on the same energy calibration.
COMMON_TERMS = ("energy_scale",)
#: A row is "linearly interpolated" when at least this fraction of its second divided
#: differences vanish (real measured noise never makes three points collinear).
INTERPOLATED_FRACTION = 0.2
#: Rows per block of :func:`interpolation_factor` (working arrays kept in cache).
INTERPOLATION_BLOCK = 128


def grid_floor(step) -> np.ndarray:
    """Smallest discretisation error claimed for a position between grid points (eV).

    Parameters
    ----------
    step : float or array-like
        Local energy step (eV).

    Returns
    -------
    ndarray or float
        ``step / (4 sqrt(3))``: the standard deviation of a position known only to within
        a quarter step either side.

    References
    ----------
    GUM (JCGM 100:2008) sec. 4.3.7.

    Examples
    --------
    >>> round(float(grid_floor(0.4)), 4)
    0.0577
    """
    return np.asarray(step, dtype=float) * GRID_FLOOR_FRACTION


def combine(terms: Mapping[str, np.ndarray]) -> np.ndarray:
    """Quadrature sum of the terms (NaN terms count as absent).

    Examples
    --------
    >>> float(combine({"noise": 0.3, "grid": 0.4, "foil": float("nan")}))
    0.5
    """
    total = None
    for v in terms.values():
        v = np.nan_to_num(np.asarray(v, dtype=float), nan=0.0)
        total = v * v if total is None else total + v * v
    return np.sqrt(total) if total is not None else np.asarray(0.0)


def interpolation_factor(energy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points per measured interval of linearly interpolated rows (1.0 for measured data).

    Linear interpolation onto a finer grid leaves the data exactly collinear between the
    measured points: the second divided difference vanishes (to the rounding of the file)
    at every point that shares an interval with both neighbours. Measured data never do
    that. With a fraction ``f`` of vanishing second differences the data carry about
    ``1 / (1 - f)`` grid points per measured point; the noise is white on the measured
    points, not on the grid.

    Parameters
    ----------
    energy : ndarray of shape (M,)
        Energy grid (eV).
    y : ndarray of shape (N, M)
        Spectra.

    Returns
    -------
    ndarray of shape (N,)
        ``1 / (1 - f)`` where ``f >= INTERPOLATED_FRACTION``, else 1.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> coarse = np.linspace(0.0, 10.0, 41)
    >>> fine = np.linspace(0.0, 10.0, 161)
    >>> y = np.interp(fine, coarse, rng.standard_normal(41))[None, :]
    >>> float(interpolation_factor(fine, y)[0]) > 3.0, float(interpolation_factor(coarse, rng.standard_normal((1, 41)))[0])
    (True, 1.0)
    """
    y = np.atleast_2d(y)
    n, npts = y.shape
    if npts < 5:
        return np.ones(n)
    count = np.empty(n, dtype=np.intp)
    # In blocks of rows: the slopes and second differences of a block stay in cache and
    # are overwritten in place (the same operations on every element as whole-array code).
    # The differences run over the flattened rows (numpy's 1-D loops on contiguous data
    # are several times faster than its 2-D loops on column-shifted views): the last
    # slope and the last two second differences of each row straddle two rows and are
    # left out of the maximum and the count. ``den`` holds the steps on the same layout.
    block = min(n, INTERPOLATION_BLOCK)
    den = np.ones((block, npts))
    den[:, :-1] = np.diff(energy)
    den = den.reshape(-1)
    slope_buf, d2_buf = np.empty(block * npts), np.empty(block * npts)
    mask_buf = np.empty((block, npts - 2), dtype=bool)
    for lo in range(0, n, block):
        flat = np.ascontiguousarray(y[lo:lo + block]).reshape(-1)
        g = flat.size // npts
        slope, d2, mask = slope_buf[:flat.size], d2_buf[:flat.size], mask_buf[:g]
        np.subtract(flat[1:], flat[:-1], out=slope[:-1])
        slope[-1] = d2[-1] = 0.0                   # not written below; never used
        slope /= den[:flat.size]
        np.subtract(slope[1:], slope[:-1], out=d2[:-1])
        np.abs(d2, out=d2)
        np.abs(slope, out=slope)
        slope = slope.reshape(g, npts)[:, :-1]
        scale = slope.max(axis=1, keepdims=True)
        if np.isnan(scale).any():                   # nanmax only where a row has a NaN
            scale = np.nanmax(slope, axis=1, keepdims=True)
        tol = 1e-6 * np.maximum(scale, 1e-300)
        np.less_equal(d2.reshape(g, npts)[:, :-2], tol, out=mask)
        count[lo:lo + g] = np.count_nonzero(mask, axis=1)
    frac = count / (npts - 2)                       # = np.mean of the mask
    with np.errstate(divide="ignore"):
        m = np.where(frac >= INTERPOLATED_FRACTION, 1.0 / np.maximum(1.0 - frac, 1e-3), 1.0)
    return np.minimum(m, 50.0)


def difference_error(terms_a: Mapping[str, float], terms_b: Mapping[str, float], *,
                     common=COMMON_TERMS, normalization: float | None = None) -> tuple[float, dict]:
    """Error of ``E0_a - E0_b`` for two scans on the same energy calibration (eV).

    Terms named in ``common`` cancel; ``normalization`` (the sensitivity of the difference
    itself, when known) replaces the two scans' own normalization terms; the other terms
    of both scans add in quadrature.

    Returns
    -------
    (float, dict)
        The error and its terms.

    Examples
    --------
    >>> a = {"noise": 0.03, "grid": 0.04, "energy_scale": 1.0, "energy_drift": 0.2}
    >>> err, terms = difference_error(a, a)
    >>> round(err, 3), sorted(terms)
    (0.292, ['energy_drift', 'grid', 'noise'])
    """
    out = {}
    for name in TERMS:
        if name in common:
            continue
        if name == "normalization" and normalization is not None:
            out[name] = float(normalization)
            continue
        va = float(np.nan_to_num(terms_a.get(name, 0.0) or 0.0))
        vb = float(np.nan_to_num(terms_b.get(name, 0.0) or 0.0))
        if va or vb:
            out[name] = float(np.hypot(va, vb))
    return float(np.sqrt(sum(v * v for v in out.values()))), out
