"""Cosmic-ray spike removal: Whitaker-Hayes for single spectra, neighbour frames for series.

**Whitaker-Hayes** [1]_: the modified z-score of the first differences,
``z = 0.6745 (dy - median(dy)) / MAD(dy)``, marks jumps far outside the spectrum's own
point-to-point scatter. A spike is a jump up followed, within ``max_width`` points, by a
jump down (a cosmic ray hits one or two pixels). A Raman band, even a sharp one, rises over
several points: a run of more than one large jump on either side is a band and is kept --
this guard is what lets the calcite v1 band (FWHM about 3 points) through. Spike points
are replaced by linear interpolation between the nearest unaffected points.

**Neighbour frames** (series, multi-accumulation data): each frame is compared with the
median of its ``2k`` neighbouring valid frames; points exceeding that median by more than
``threshold`` robust standard deviations of the frame-to-median difference, in runs of at
most ``max_width`` points, are spikes and take the neighbours' median value. A real band
cannot appear in one frame only of a slowly changing series; a spike almost never hits
the same pixel twice. On a **map** the neighbours are the adjacent map positions
(:func:`spatial_neighbours`), never the previous rows of the file; the pipeline runs the
test on maps only when asked (a grain smaller than the step gives a real band at one
position only, which the test would take for a spike).

The number of points replaced per spectrum is returned (``counts``) and reported by the
pipeline as ``spikes_removed``.

References
----------
.. [1] D. A. Whitaker and K. Hayes, "A simple algorithm for despiking Raman spectra",
   Chemometr. Intell. Lab. Syst. 179, 82-84 (2018), doi:10.1016/j.chemolab.2018.06.009.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DespikeResult", "despike_whitaker_hayes", "despike_neighbours",
           "spatial_neighbours", "modified_z_score"]

#: Default modified z-score threshold for the first differences.
WH_THRESHOLD = 8.0
#: Default neighbour-frame threshold (robust standard deviations).
NEIGHBOUR_THRESHOLD = 8.0


@dataclass(frozen=True, eq=False)
class DespikeResult:
    """Spectra with spikes replaced.

    Attributes
    ----------
    signals : ndarray (N, M)
        Corrected intensities.
    replaced : ndarray of bool (N, M)
        Points that were replaced.
    counts : ndarray of int (N,)
        Number of replaced points per spectrum.
    method : str
        ``"whitaker-hayes"`` or ``"neighbours"``.
    parameters : dict
        Resolved parameters.
    """

    signals: np.ndarray
    replaced: np.ndarray
    counts: np.ndarray
    method: str
    parameters: dict


def modified_z_score(values, axis=-1):
    """Modified z-score ``0.6745 (v - median) / MAD`` along ``axis`` (Iglewicz & Hoaglin).

    Examples
    --------
    >>> z = modified_z_score(np.array([1.0, 2.0, 1.5, 1.2, 40.0]))
    >>> bool(z[-1] > 20 and abs(z[0]) < 2)
    True
    """
    v = np.asarray(values, dtype=float)
    med = np.median(v, axis=axis, keepdims=True)
    mad = np.median(np.abs(v - med), axis=axis, keepdims=True)
    mad = np.where(mad > 0, mad, np.nan)
    z = 0.6745 * (v - med) / mad
    return np.nan_to_num(z, nan=0.0)


def _interpolate_runs(y, bad):
    """Replace ``bad`` points of each row by linear interpolation between good ones."""
    out = y.copy()
    rows = np.flatnonzero(bad.any(axis=1))
    x = np.arange(y.shape[1])
    for i in rows:
        good = ~bad[i]
        if good.sum() >= 2:
            out[i, bad[i]] = np.interp(x[bad[i]], x[good], y[i, good])
    return out


def despike_whitaker_hayes(signals, *, threshold: float = WH_THRESHOLD, max_width: int = 2
                           ) -> DespikeResult:
    """Remove cosmic-ray spikes from each spectrum independently.

    Parameters
    ----------
    signals : array-like, shape (N, M) or (M,)
        Intensities (any positive scale).
    threshold : float
        Modified z-score of a first difference above which a jump is large. Default 8
        (RamanSPy's default for this method; Whitaker & Hayes used 3.5 to 6 on their data).
    max_width : int
        Widest spike in points. Default 2.

    Returns
    -------
    DespikeResult

    References
    ----------
    D. A. Whitaker and K. Hayes, Chemometr. Intell. Lab. Syst. 179, 82 (2018),
    doi:10.1016/j.chemolab.2018.06.009.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.linspace(0, 100, 500)
    >>> y = 100 * np.exp(-((x - 50) / 3) ** 2) + rng.normal(0, 1, x.size)
    >>> y[100] += 300.0
    >>> r = despike_whitaker_hayes(y)
    >>> int(r.counts[0]), bool(r.replaced[0, 100]), bool(abs(r.signals[0, 250] - y[250]) < 1e-12)
    (1, True, True)
    """
    y = np.atleast_2d(np.asarray(signals, dtype=float))
    n, m = y.shape
    bad = np.zeros((n, m), dtype=bool)
    if m >= 5:
        z = modified_z_score(np.diff(y, axis=1), axis=1)      # z[:, k]: jump from k to k+1
        up = z > threshold
        down = z < -threshold
        pad = np.zeros((n, 1), dtype=bool)
        up_p = np.concatenate([pad, up, pad], axis=1)          # up_p[:, k+1] == up[:, k]
        down_p = np.concatenate([pad, down, pad], axis=1)
        for w in range(1, max_width + 1):
            # spike on points p..p+w-1: jump up into p, jump down out of p+w-1,
            # and no further large jump just before or after (that would be a band flank)
            p = np.arange(1, m - w)
            ok = up_p[:, p] & down_p[:, p + w]                 # up into p, down out of p+w-1
            ok &= ~up_p[:, p - 1] & ~down_p[:, np.minimum(p + w + 1, m)]
            hit_rows, cols = np.nonzero(ok)
            hit_p = p[cols]
            for k in range(w):
                bad[hit_rows, hit_p + k] = True
    out = _interpolate_runs(y, bad)
    return DespikeResult(out, bad, bad.sum(axis=1), "whitaker-hayes",
                         {"threshold": threshold, "max_width": max_width})


def despike_neighbours(signals, *, valid=None, half_window: int = 2,
                       threshold: float = NEIGHBOUR_THRESHOLD, max_width: int = 3,
                       scale: bool = True, neighbours=None) -> DespikeResult:
    """Remove spikes by comparing each frame of a series with its neighbours.

    Parameters
    ----------
    signals : array-like, shape (N, M)
        The series, in acquisition order.
    valid : array of bool (N,), optional
        Frames that may serve as neighbours (the QC mask). Default: all.
    half_window : int
        ``k``: neighbours on each side. Default 2.
    threshold : float
        Robust standard deviations of (frame - neighbour median) above which a point is a
        spike. Default 8.
    max_width : int
        Widest run of points accepted as a spike. Default 3.
    scale : bool
        Scale the neighbours' median to the frame (least squares) before comparing: focus
        and laser power change a series' overall intensity. Default True.
    neighbours : sequence of sequence of int (N,), optional
        The frames each frame is compared with, given explicitly (a map's spatial
        neighbours, :func:`spatial_neighbours`); invalid ones are skipped and
        ``half_window`` is not used. Default None: ``half_window`` frames on each side in
        acquisition order.

    Returns
    -------
    DespikeResult
        Frames with fewer than 2 valid neighbours are left unchanged.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> base = 100 + 50 * np.exp(-((np.arange(300) - 150) / 8.0) ** 2)
    >>> s = base + rng.normal(0, 2, (7, 300))
    >>> s[3, 40] += 80.0
    >>> r = despike_neighbours(s)
    >>> r.counts.tolist()
    [0, 0, 0, 1, 0, 0, 0]
    """
    y = np.atleast_2d(np.asarray(signals, dtype=float))
    n, m = y.shape
    valid = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    vidx = np.flatnonzero(valid)
    bad = np.zeros((n, m), dtype=bool)
    ref = np.full((n, m), np.nan)
    for pos, i in enumerate(vidx):
        if neighbours is not None:
            nb = np.asarray([j for j in neighbours[i] if 0 <= j < n and valid[j] and j != i],
                            dtype=int)
        else:
            nb = np.concatenate([vidx[max(pos - half_window, 0):pos],
                                 vidx[pos + 1:pos + 1 + half_window]])
        if nb.size < 2:
            continue
        ref[i] = np.median(y[nb], axis=0)
        if scale:
            rr = ref[i]
            denom = float(rr @ rr)
            if denom > 0:
                ref[i] = rr * float(y[i] @ rr) / denom
    has = np.isfinite(ref).all(axis=1)
    if has.any():
        d = y[has] - ref[has]
        # noise of the difference from its point-to-point scatter (slow real changes cancel)
        dd = np.diff(d, axis=1)
        sigma = 1.4826 * np.median(np.abs(dd - np.median(dd, axis=1, keepdims=True)), axis=1)
        sigma = np.where(sigma > 0, sigma / np.sqrt(2.0), np.inf)
        cand = d > threshold * sigma[:, None]
        # A spike is narrow and isolated: runs wider than max_width, or whose excess has not
        # fallen to a third of its peak on both sides, follow a band whose shape or height
        # differs from the neighbours' (real change), not a cosmic ray.
        keep = cand.copy()
        for r in np.flatnonzero(cand.any(axis=1)):
            row = cand[r]
            edges = np.diff(np.concatenate([[0], row.astype(int), [0]]))
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            for s0, e0 in zip(starts, ends):
                peak = d[r, s0:e0].max()
                side = max(d[r, s0 - 1] if s0 > 0 else 0.0, d[r, e0] if e0 < m else 0.0)
                if e0 - s0 > max_width or side > peak / 3.0:
                    keep[r, s0:e0] = False
        bad[has] = keep
    out = y.copy()
    out[bad] = ref[bad]
    return DespikeResult(out, bad, bad.sum(axis=1), "neighbours",
                         {"half_window": None if neighbours is not None else half_window,
                          "neighbours": "explicit" if neighbours is not None else "sequence",
                          "threshold": threshold, "max_width": max_width})


def spatial_neighbours(x, y, *, k: int = 8) -> list[np.ndarray]:
    """The ``k`` nearest map positions of each spectrum (default 8: on a grid, the 8
    adjacent pixels; fewer at edges and corners are not filled from farther away).

    Distances are measured in grid steps (each coordinate divided by the median spacing of
    its distinct values), so a 35 um x 35 um grid and a 1 um x 10 um grid both give their
    adjacent pixels; positions farther than 1.5 steps (beyond the diagonal, sqrt(2)) are
    not neighbours, whatever the rounding of the stage positions.

    Examples
    --------
    >>> x, y = np.repeat([0.0, 1.0, 2.0], 3), np.tile([0.0, 1.0, 2.0], 3)
    >>> [len(v) for v in spatial_neighbours(x, y)]
    [3, 5, 3, 5, 8, 5, 3, 5, 3]
    """
    pts = []
    for c in (np.asarray(x, dtype=float), np.asarray(y, dtype=float)):
        d = np.diff(np.unique(c))
        step = float(np.median(d[d > 0])) if (d > 0).any() else 1.0
        pts.append(c / step)
    p = np.stack(pts, axis=1)
    dist = np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(axis=2))
    out = []
    for i in range(p.shape[0]):
        order = np.argsort(dist[i], kind="stable")
        near = [j for j in order[1:k + 1] if dist[i, j] <= 1.5]
        out.append(np.asarray(near, dtype=int))
    return out
