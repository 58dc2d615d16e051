"""Quality control: which spectra can be fitted at all.

A spectrum is **masked** (reported, never fitted) when it is

- ``raman.qc.empty``: no finite point, or more than :data:`MAX_NONFINITE_FRACTION` of its
  points are NaN/inf;
- ``raman.qc.all_zero``: every point is exactly zero (an aborted acquisition: the real
  LabSpec series ``serie190214-1.txt`` ends with 58 such rows);
- ``raman.qc.flat``: constant (no signal at all);
- ``raman.qc.saturated``: it reaches the detector ceiling (``saturation=`` counts), or its
  maximum is a flat top of at least :data:`FLAT_TOP_POINTS` equal points well above the rest;
- ``raman.qc.cosmic_dominated``: spike removal had to replace more than
  ``max_spike_fraction`` of its points (checked after despiking by the pipeline).

Spectra with a few NaN points (fewer than the limit) have them filled by linear
interpolation and carry ``raman.qc.nonfinite_filled``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naheo_spec.diagnostics import StackWarnings, StackWarningsBuilder, WarningCode
from naheo_spec.errors import QualityWarning, RepairWarning

__all__ = ["QcResult", "screen", "cosmic_dominated", "EMPTY", "ALL_ZERO", "FLAT", "SATURATED",
           "COSMIC", "NONFINITE_FILLED", "MASK_CODES", "MAX_NONFINITE_FRACTION",
           "FLAT_TOP_POINTS", "MAX_SPIKE_FRACTION"]

EMPTY = WarningCode("raman.qc.empty", QualityWarning,
                    "The spectrum has no (or too few) finite points; it is masked, not fitted.")
ALL_ZERO = WarningCode("raman.qc.all_zero", QualityWarning,
                       "Every point of the spectrum is zero (aborted acquisition); masked.")
FLAT = WarningCode("raman.qc.flat", QualityWarning, "The spectrum is constant; masked.")
SATURATED = WarningCode("raman.qc.saturated", QualityWarning,
                        "The spectrum reaches the detector ceiling (flat-topped maximum); masked.")
COSMIC = WarningCode("raman.qc.cosmic_dominated", QualityWarning,
                     "Spike removal replaced too many points of the spectrum; masked.")
NONFINITE_FILLED = WarningCode("raman.qc.nonfinite_filled", RepairWarning,
                               "A few NaN/inf points were filled by linear interpolation.")
#: Codes that mask a spectrum.
MASK_CODES = (EMPTY.code, ALL_ZERO.code, FLAT.code, SATURATED.code, COSMIC.code)

#: More non-finite points than this fraction masks a spectrum.
MAX_NONFINITE_FRACTION = 0.05
#: A maximum repeated on this many consecutive points is a flat (saturated) top.
FLAT_TOP_POINTS = 3
#: Replacing more than this fraction of points by spike removal masks a spectrum.
MAX_SPIKE_FRACTION = 0.02


@dataclass(frozen=True, eq=False)
class QcResult:
    """Outcome of :func:`screen`.

    Attributes
    ----------
    signals : ndarray (N, M)
        Input with the few NaN points filled.
    valid : ndarray of bool (N,)
        Rows that may be fitted.
    reason : ndarray of object (N,)
        Mask code of each masked row (None for valid rows).
    warnings : StackWarnings
        Per-row records (mask reasons and fills).
    """

    signals: np.ndarray
    valid: np.ndarray
    reason: np.ndarray
    warnings: StackWarnings


def _flat_top(y: np.ndarray) -> np.ndarray:
    mx = np.nanmax(y, axis=1, keepdims=True)
    at = y >= mx
    run = np.zeros(y.shape[0], dtype=int)
    cur = np.zeros(y.shape[0], dtype=int)
    for k in range(y.shape[1]):
        cur = np.where(at[:, k], cur + 1, 0)
        run = np.maximum(run, cur)
    med = np.nanmedian(np.abs(y), axis=1)
    return (run >= FLAT_TOP_POINTS) & (mx[:, 0] > 5 * np.maximum(med, 1e-300))


def screen(signals, *, valid=None, saturation: float | None = None) -> QcResult:
    """Mask spectra that cannot be fitted (see module doc) and fill a few NaN points.

    Parameters
    ----------
    signals : array-like (N, M)
    valid : array of bool (N,), optional
        Rows already masked upstream stay masked.
    saturation : float, optional
        Detector ceiling in the signal's units (counts); any point at or above it masks the
        spectrum. Default None: only the flat-top test.

    Returns
    -------
    QcResult

    Examples
    --------
    >>> y = np.vstack([np.arange(10.0), np.zeros(10), np.full(10, np.nan)])
    >>> q = screen(y)
    >>> q.valid.tolist(), [str(r) for r in q.reason]
    ([True, False, False], ['None', 'raman.qc.all_zero', 'raman.qc.empty'])
    """
    y = np.array(np.atleast_2d(signals), dtype=float)
    n, m = y.shape
    ok = np.ones(n, bool) if valid is None else np.asarray(valid, bool).copy()
    reason = np.full(n, None, dtype=object)
    b = StackWarningsBuilder(n)
    finite = np.isfinite(y)
    nbad = m - finite.sum(axis=1)
    empty = ok & (nbad > MAX_NONFINITE_FRACTION * m)
    b.add(EMPTY, np.flatnonzero(empty), f"more than {MAX_NONFINITE_FRACTION:.0%} of the points "
                                        "are NaN/inf (or none is finite)")
    reason[empty] = EMPTY.code
    ok &= ~empty
    fill = np.flatnonzero(ok & (nbad > 0))
    x = np.arange(m)
    for i in fill:
        y[i, ~finite[i]] = np.interp(x[~finite[i]], x[finite[i]], y[i, finite[i]])
    b.add(NONFINITE_FILLED, fill, "NaN/inf points filled by linear interpolation")
    zero = ok & np.all(y == 0, axis=1)
    flat = np.zeros(n, bool)
    live = np.flatnonzero(ok & ~zero)
    flat[live] = np.max(y[live], axis=1) == np.min(y[live], axis=1)
    b.add(ALL_ZERO, np.flatnonzero(zero), "all points are zero (aborted acquisition?)")
    b.add(FLAT, np.flatnonzero(flat), "the spectrum is constant")
    reason[zero], reason[flat] = ALL_ZERO.code, FLAT.code
    ok &= ~zero & ~flat
    sat = np.zeros(n, bool)
    if ok.any():
        rows = np.flatnonzero(ok)
        s = _flat_top(y[rows])
        if saturation is not None:
            s |= np.nanmax(y[rows], axis=1) >= saturation
        sat[rows[s]] = True
    b.add(SATURATED, np.flatnonzero(sat), "the maximum is a flat top at the detector ceiling "
                                          "(saturated)")
    reason[sat] = SATURATED.code
    ok &= ~sat
    return QcResult(y, ok, reason, b.build())


def cosmic_dominated(spike_counts, npts: int, *, max_fraction: float = MAX_SPIKE_FRACTION
                     ) -> np.ndarray:
    """Rows whose spike count exceeds ``max_fraction`` of ``npts`` points (at least 5).

    Examples
    --------
    >>> cosmic_dominated(np.array([0, 3, 40]), 1000).tolist()
    [False, False, True]
    """
    limit = max(5, int(np.ceil(max_fraction * npts)))
    return np.asarray(spike_counts) > limit
