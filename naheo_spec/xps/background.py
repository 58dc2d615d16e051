"""XPS inelastic backgrounds: linear, iterative Shirley, active Shirley, Tougaard U2/U3, and
CasaXPS's "Min Limits" (a constant at the lower averaged end point).

Every function takes the binding-energy axis in either order (ascending as stored by
:class:`~naheo_spec.model.Spectrum`, or descending as exported by most XPS software), works
internally on ascending binding energy, and returns the background in the caller's
order (cumulative-sum Shirley implementations that assume one direction are a known
trap: lmfitxps issue #6).

End points are the means of ``2 * avg_width + 1`` points at each end of the region
(CasaXPS "Av Width"), which keeps the background deterministic on noisy data
(KherveFitting #9). A Shirley background that would rise above the data is reported, not
silently clamped.

References
----------
.. [1] D. A. Shirley, Phys. Rev. B 5, 4709 (1972), doi:10.1103/PhysRevB.5.4709.
.. [2] A. Proctor and P. M. A. Sherwood, Anal. Chem. 54, 13 (1982),
   doi:10.1021/ac00238a008 (iterative Shirley).
.. [3] S. Tougaard, Surf. Interface Anal. 25, 137 (1997),
   doi:10.1002/(SICI)1096-9918(199703)25:3<137::AID-SIA230>3.0.CO;2-L (universal
   cross-sections: U2 with B = 2866 eV^2, C = 1643 eV^2; three-parameter U3).
.. [4] CasaXPS manual, "Regions property page" and "Tougaard background": parameters
   B, C, D and the threshold T0 of the cross-section ``K(T) = B T / ((C - T^2)^2 + D T^2)``.
.. [5] CasaXPS manual, "Cu Auger line curve fitting" (line shapes made of background-subtracted
   data in VAMAS blocks whose identifier starts with ``%``); the "Min Limits" background is
   not defined in the public manual pages found: its meaning here was measured on the
   EX502 file (see :func:`min_limits_background`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord
from naheo_spec.errors import InputError, QualityWarning

__all__ = ["Background", "linear_background", "shirley_background", "tougaard_background",
           "end_levels", "BACKGROUND_TYPES", "compute_background", "TOUGAARD_U2",
           "SHIRLEY_NOT_CONVERGED", "BACKGROUND_ABOVE_DATA", "cumulative_integral",
           "min_limits_background"]

#: Background names accepted by :func:`compute_background` and the CLI.
BACKGROUND_TYPES = ("shirley", "active-shirley", "linear", "tougaard-u2", "tougaard-u3",
                    "min-limits")

#: Tougaard's universal two-parameter cross-section for metals and oxides [3]: B, C (eV^2).
TOUGAARD_U2 = {"B": 2866.0, "C": 1643.0}

SHIRLEY_NOT_CONVERGED = WarningCode(
    "xps.background.shirley_not_converged", QualityWarning,
    "The iterative Shirley background did not converge within max_iter iterations.")
BACKGROUND_ABOVE_DATA = WarningCode(
    "xps.background.above_data", QualityWarning,
    "The background rises above the data by more than 3 noise levels somewhere in the "
    "region: the end points or the background type do not suit the spectrum.")


@dataclass(frozen=True, eq=False)
class Background:
    """A background on the caller's axis.

    Attributes
    ----------
    kind : str
        One of :data:`BACKGROUND_TYPES` (``"active-shirley"`` starts as a static Shirley).
    values : ndarray, shape (M,)
        Background intensity (same unit and order as the data).
    low_level, high_level : float
        Averaged data at the low- and high-binding-energy ends.
    parameters : dict
        Resolved parameters (``avg_width``, ``iterations``, Tougaard ``B``, ``C``, ``D``,
        ``T0``...) for provenance.
    warnings : tuple of WarningRecord
    """

    kind: str
    values: np.ndarray
    low_level: float
    high_level: float
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[WarningRecord, ...] = ()


def _ascending(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise InputError(f"x and y must be 1-D arrays of equal length, got {x.shape} and "
                         f"{y.shape}", parameter="y")
    if x.size < 5:
        raise InputError(f"a background needs at least 5 points, got {x.size}", parameter="x")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError("x and y must be finite (NaN or inf found)", parameter="y")
    flip = x[0] > x[-1]
    if flip:
        x, y = x[::-1], y[::-1]
    if np.any(np.diff(x) <= 0):
        raise InputError("the energy axis must be strictly monotonic", parameter="x")
    return x, y, flip


def _restore(values, flip):
    return values[::-1].copy() if flip else values


def end_levels(y_ascending, avg_width: int) -> tuple[float, float]:
    """Mean of the first and last ``2 * avg_width + 1`` points (clipped to a third of the
    region) of a spectrum on ascending binding energy.

    Examples
    --------
    >>> end_levels(np.arange(10.0), 1)
    (1.0, 8.0)
    """
    n = len(y_ascending)
    k = int(max(0, min(avg_width, (n // 3 - 1) // 2)))
    return (float(np.mean(y_ascending[:2 * k + 1])), float(np.mean(y_ascending[-2 * k - 1:])))


def cumulative_integral(x, f):
    """Trapezoid cumulative integral of ``f`` from ``x[0]``, same length as ``x``
    (first value 0); ``f`` may be (..., M) for several curves at once.

    Examples
    --------
    >>> cumulative_integral(np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0])).tolist()
    [0.0, 1.0, 2.0]
    """
    f = np.asarray(f, dtype=float)
    dx = np.diff(x)
    seg = 0.5 * (f[..., 1:] + f[..., :-1]) * dx
    out = np.zeros(f.shape)
    np.cumsum(seg, axis=-1, out=out[..., 1:])
    return out


def linear_background(x, y, *, avg_width: int = 2) -> Background:
    """Straight line between the averaged end points.

    Parameters
    ----------
    x : array-like, shape (M,)
        Binding energy (eV), ascending or descending.
    y : array-like, shape (M,)
        Intensity.
    avg_width : int
        Half-width of the end-point averaging windows (CasaXPS "Av Width"; 2 * avg_width
        + 1 points). Default is 2.

    Returns
    -------
    Background

    Examples
    --------
    >>> b = linear_background([3.0, 2.0, 1.0, 0.0, -1.0], [5.0, 4.0, 3.0, 2.0, 1.0], avg_width=0)
    >>> b.values.tolist()
    [5.0, 4.0, 3.0, 2.0, 1.0]
    """
    xa, ya, flip = _ascending(x, y)
    lo, hi = end_levels(ya, avg_width)
    vals = lo + (hi - lo) * (xa - xa[0]) / (xa[-1] - xa[0])
    return Background("linear", _restore(vals, flip), lo, hi, {"avg_width": int(avg_width)})


def min_limits_background(x, y, *, avg_width: int = 2) -> Background:
    """CasaXPS "Min Limits": a horizontal line at the lower of the two averaged end points.

    Meant for models whose components carry their own inelastic tails (line shapes made of
    measured, background-subtracted spectra, as CasaXPS "Lineshapes" blocks are): the only
    background left is a constant.

    What CasaXPS means by "Min Limits" is not written in the public manual pages found
    (regions property page, background list); this definition was **measured** on the only
    real CasaXPS fits available (``EX502-506_Fe_Ni_Co_mixed_oxides.vms``, 4 regions):

    - each of its 9 "Lineshapes" blocks equals the measured block of the same sample minus
      a constant (to 0.1 counts), and that constant is the data at the low-binding-energy
      end of the region (the lower end), not the region's minimum and not a line through
      both ends;
    - with CasaXPS's stored components, the constant that best fits the data (least
      squares) equals this background within 0.8-4.1 counts (0.02-0.1 % of the data range)
      in all four regions, while a line through both ends leaves residuals 17-32x larger.

    Parameters
    ----------
    x : array-like, shape (M,)
        Binding energy (eV), ascending or descending.
    y : array-like, shape (M,)
        Intensity.
    avg_width : int
        End-point averaging half-width: the first and last ``2 * avg_width + 1`` points
        of the region are averaged (CasaXPS "Av Width"). Default is 2.

    Returns
    -------
    Background
        ``parameters``: ``avg_width``, ``level`` (the constant), ``end`` (``"low_be"`` or
        ``"high_be"``: which end set it).

    Examples
    --------
    >>> b = min_limits_background([1.0, 2, 3, 4, 5, 6, 7, 8, 9], [5.0, 5, 5, 9, 9, 9, 7, 7, 7],
    ...                           avg_width=1)
    >>> float(b.values[0]), b.parameters["end"]
    (5.0, 'low_be')
    """
    xa, ya, flip = _ascending(x, y)
    lo, hi = end_levels(ya, avg_width)
    level = min(lo, hi)
    return Background("min-limits", _restore(np.full_like(ya, level), flip), lo, hi,
                      {"avg_width": int(avg_width), "level": float(level),
                       "end": "low_be" if lo <= hi else "high_be"})


def shirley_background(x, y, *, avg_width: int = 2, max_iter: int = 50, tol: float = 1e-6,
                       sigma=None) -> Background:
    """Iterative Shirley background with averaged end points.

    On ascending binding energy ``E`` with end levels ``I_lo`` (low BE) and ``I_hi``:
    ``B(E) = I_lo + (I_hi - I_lo) * A(E) / A(E_hi)``, ``A(E) = integral from E_lo to E of
    (y - B)``, iterated from ``B = I_lo`` until the largest change is below ``tol`` times
    the peak height [1]_, [2]_.

    Parameters
    ----------
    x : array-like, shape (M,)
        Binding energy (eV), ascending or descending.
    y : array-like, shape (M,)
        Intensity.
    avg_width : int
        End-point averaging half-width (points). Default is 2.
    max_iter : int
        Iteration limit. Default is 50.
    tol : float
        Convergence threshold relative to ``max(y) - I_lo``. Default is 1e-6.
    sigma : array-like, optional
        Noise of ``y``; when given, a background more than 3 sigma above the data is
        flagged (:data:`BACKGROUND_ABOVE_DATA`).

    Returns
    -------
    Background
        ``parameters`` holds ``avg_width``, ``iterations``, ``converged``.

    References
    ----------
    .. [1] D. A. Shirley, Phys. Rev. B 5, 4709 (1972).
    .. [2] A. Proctor and P. M. A. Sherwood, Anal. Chem. 54, 13 (1982).

    Examples
    --------
    A step under a Gaussian: the background climbs by the step across the peak.

    >>> x = np.linspace(850.0, 870.0, 201)
    >>> y = 100 + 1000 * np.exp(-0.5 * ((x - 860) / 1.0) ** 2) + 50 * (x > 860)
    >>> b = shirley_background(x, y)
    >>> round(float(b.values[0]), 1), round(float(b.values[-1]), 1), b.parameters["converged"]
    (100.0, 150.0, True)
    """
    xa, ya, flip = _ascending(x, y)
    lo, hi = end_levels(ya, avg_width)
    height = max(float(np.max(ya) - lo), 1e-12)
    b = np.full_like(ya, lo)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        a = cumulative_integral(xa, ya - b)
        total = a[-1]
        if total == 0:
            new = np.full_like(ya, lo)
        else:
            new = lo + (hi - lo) * a / total
        change = float(np.max(np.abs(new - b)))
        b = new
        if change <= tol * height:
            converged = True
            break
    notes = []
    if not converged:
        notes.append(SHIRLEY_NOT_CONVERGED.warn(
            f"Shirley background not converged after {max_iter} iterations (last change "
            f"{change / height:.2g} of the peak height)", iterations=it))
    notes += _check_above(b, ya, sigma, flip)
    return Background("shirley", _restore(b, flip), lo, hi,
                      {"avg_width": int(avg_width), "iterations": it, "converged": converged},
                      tuple(notes))


def _check_above(b, ya, sigma, flip) -> list[WarningRecord]:
    if sigma is None:
        return []
    s = np.asarray(sigma, dtype=float)
    s = s[::-1] if flip else s
    excess = (b - ya) / np.maximum(s, 1e-300)
    if np.max(excess) > 3.0:
        return [BACKGROUND_ABOVE_DATA.warn(
            f"the background exceeds the data by up to {np.max(excess):.1f} noise levels",
            max_excess_sigma=float(np.max(excess)))]
    return []


def tougaard_kernel(t, B: float, C: float, D: float = 0.0, T0: float = 0.0, *, u2: bool = False):
    """Tougaard cross-section ``K(T)`` (1/eV) at energy loss ``T`` (eV).

    ``u2``: ``B T / (C + T^2)^2``; otherwise U3 ``B T / ((C - T^2)^2 + D T^2)``;
    zero for ``T <= T0``. U2(B, C) equals U3(B, C, D = 4C).

    Examples
    --------
    >>> t = np.array([5.0, 20.0])
    >>> np.allclose(tougaard_kernel(t, 2866, 1643, u2=True), tougaard_kernel(t, 2866, 1643, 4 * 1643))
    True
    """
    t = np.asarray(t, dtype=float)
    if u2:
        k = B * t / (C + t * t) ** 2
    else:
        k = B * t / ((C - t * t) ** 2 + D * t * t)
    return np.where(t > T0, k, 0.0)


def tougaard_background(x, y, *, B: float | None = None, C: float = 1643.0, D: float = 0.0,
                        T0: float = 0.0, kind: str = "tougaard-u2", avg_width: int = 2,
                        fit_B: bool | None = None) -> Background:
    """Tougaard background from a universal cross-section (one step).

    On ascending binding energy, ``B_g(E) = I_lo + sum over E' < E of K(E - E') (y(E') - I_lo)
    dE'`` (losses appear at higher binding energy). With ``fit_B`` the scale ``B`` is chosen
    so that the background meets the averaged high-BE end of the region (CasaXPS does the
    same when B is left free).

    Parameters
    ----------
    x, y : array-like, shape (M,)
        Binding energy (eV, either order) and intensity.
    B, C, D, T0 : float
        Cross-section parameters (eV^2, eV^2, eV^2, eV). Defaults: U2 ``B = 2866``,
        ``C = 1643`` [3]_; ``D`` is used by U3 only; ``T0`` threshold 0.
    kind : str
        ``"tougaard-u2"`` or ``"tougaard-u3"``. Default is ``"tougaard-u2"``.
    avg_width : int
        End-point averaging half-width. Default is 2.
    fit_B : bool, optional
        Default None: True when ``B`` is not given.

    Returns
    -------
    Background
        ``parameters``: ``B`` (as used), ``C``, ``D``, ``T0``, ``fit_B``.

    References
    ----------
    .. [3] S. Tougaard, Surf. Interface Anal. 25, 137 (1997).

    Examples
    --------
    >>> x = np.linspace(700.0, 740.0, 401)
    >>> y = 100 + 1000 * np.exp(-0.5 * ((x - 710) / 1.0) ** 2)
    >>> b = tougaard_background(x, y, B=2866.0)
    >>> bool(b.values[-1] > b.values[0]), b.parameters["fit_B"]
    (True, False)
    """
    if kind not in ("tougaard-u2", "tougaard-u3"):
        raise InputError(f"kind={kind!r}; expected 'tougaard-u2' or 'tougaard-u3'",
                         parameter="kind")
    xa, ya, flip = _ascending(x, y)
    lo, hi = end_levels(ya, avg_width)
    if fit_B is None:
        fit_B = B is None
    b_used = TOUGAARD_U2["B"] if B is None else float(B)
    u2 = kind == "tougaard-u2"
    dx = np.gradient(xa)
    t = xa[:, None] - xa[None, :]
    kmat = tougaard_kernel(np.maximum(t, 0.0), 1.0, C, D, T0, u2=u2) * dx[None, :]
    unit = kmat @ (ya - lo)
    if fit_B:
        b_used = (hi - lo) / unit[-1] if unit[-1] > 0 else b_used
    vals = lo + b_used * unit
    return Background(kind, _restore(vals, flip), lo, hi,
                      {"B": float(b_used), "C": float(C), "D": float(D), "T0": float(T0),
                       "fit_B": bool(fit_B), "avg_width": int(avg_width)})


def compute_background(kind: str, x, y, *, avg_width: int = 2, sigma=None,
                       tougaard: dict | None = None) -> Background:
    """Static background of type ``kind`` (one of :data:`BACKGROUND_TYPES`).

    ``"active-shirley"`` returns the static Shirley used to start the fit (the fit then
    refines it, :mod:`naheo_spec.xps.fit`).

    Raises
    ------
    InputError
        Unknown ``kind``.

    Examples
    --------
    >>> compute_background("linear", [0.0, 1, 2, 3, 4], [1.0, 1, 1, 1, 1]).kind
    'linear'
    """
    if kind not in BACKGROUND_TYPES:
        raise InputError(f"background={kind!r} is not known; expected one of "
                         f"{', '.join(BACKGROUND_TYPES)}", parameter="background")
    if kind == "linear":
        return linear_background(x, y, avg_width=avg_width)
    if kind == "min-limits":
        return min_limits_background(x, y, avg_width=avg_width)
    if kind in ("shirley", "active-shirley"):
        b = shirley_background(x, y, avg_width=avg_width, sigma=sigma)
        if kind == "active-shirley":
            return Background("active-shirley", b.values, b.low_level, b.high_level,
                              b.parameters, b.warnings)
        return b
    opts = dict(tougaard or {})
    return tougaard_background(x, y, kind=kind, avg_width=avg_width, **opts)
