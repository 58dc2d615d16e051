"""Baselines through pybaselines: one fitter per axis, ``lam`` scaled with the point count.

:class:`BaselineFitter` holds one ``pybaselines.Baseline`` for a shift axis and applies the
chosen method to every spectrum of a series (pybaselines caches its penalty matrices on the
object, so reusing it is the fast path). Methods: ``arpls`` (default, Baek et al. 2015),
``asls`` (Eilers & Boelens 2005), ``airpls`` (Zhang et al. 2010), ``snip`` (Ryan et al.
1988), ``modpoly`` (Lieber & Mahadevan-Jansen 2003).

The Whittaker smoothers penalise second differences, so their stiffness depends on the
number of points: a ``lam`` tuned on 1024 points is far too soft on 4000. ``lam`` is
therefore given for :data:`REFERENCE_POINTS` points and scaled by ``(M / 1024)**4`` (the
cut-off length of a second-difference Whittaker smoother grows as ``lam**(1/4)`` points);
SNIP's half window scales linearly. The resolved values are reported in the result.

The arPLS default, ``lam = 1e6`` for 1024 points, is stiffer than the 1e5 often quoted:
on the shared real spectra 1e5 bends into broad bands (the D_1 oxide triplet, the edge of
the calcite v1 band), and on a synthetic spectrum with Lorentzian Eg/A1g bands (FWHM
30-35 cm-1) it removes 36 % of the Eg area against 14 % at 1e6 and 6 % at 1e7. Very broad
bands always lose part of their wings to any baseline: areas are relative, compare them
only between spectra processed alike.

A spectrum whose file says the vendor already subtracted a baseline (LabSpec ``#Base:Fit
Sub``) gets a zero baseline and the coded warning ``raman.baseline.vendor_subtracted``.

References
----------
S.-J. Baek, A. Park, Y.-J. Ahn, J. Choo, Analyst 140, 250 (2015), doi:10.1039/C4AN01061B
(arPLS); P. H. C. Eilers and H. F. M. Boelens, "Baseline correction with asymmetric least
squares smoothing" (2005) (AsLS); Z.-M. Zhang, S. Chen, Y.-Z. Liang, Analyst 135, 1138
(2010), doi:10.1039/b922045c (airPLS); C. G. Ryan et al., Nucl. Instrum. Methods B 34, 396
(1988) (SNIP); C. A. Lieber and A. Mahadevan-Jansen, Appl. Spectrosc. 57, 1363 (2003)
(modified polynomial); D. Erb, pybaselines, doi:10.5281/zenodo.5608581.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import DefaultAdjustedWarning, InputError

__all__ = ["BaselineFitter", "BaselineResult", "METHODS", "DEFAULTS", "REFERENCE_POINTS",
           "resolve_parameters", "VENDOR_SUBTRACTED"]

METHODS = ("arpls", "asls", "airpls", "snip", "modpoly", "none")
#: Point count the default ``lam`` values are tuned for.
REFERENCE_POINTS = 1024
#: Defaults per method (``lam`` for REFERENCE_POINTS points).
DEFAULTS = {"arpls": {"lam": 1e6}, "asls": {"lam": 1e6, "p": 0.01}, "airpls": {"lam": 1e6},
            "snip": {"max_half_window": 40}, "modpoly": {"poly_order": 3}, "none": {}}

VENDOR_SUBTRACTED = WarningCode(
    "raman.baseline.vendor_subtracted", DefaultAdjustedWarning,
    "The file says the vendor software already subtracted a baseline; none was subtracted again.")


def resolve_parameters(method: str, npts: int, **params) -> dict:
    """Parameters of ``method`` for ``npts`` points: defaults filled in, ``lam`` scaled by
    ``(npts / 1024)**4`` and SNIP's ``max_half_window`` by ``npts / 1024``.

    Examples
    --------
    >>> resolve_parameters("arpls", 2048)["lam"]
    16000000.0
    >>> resolve_parameters("snip", 512)["max_half_window"]
    20
    """
    if method not in METHODS:
        raise InputError(f"baseline method {method!r} is not one of {', '.join(METHODS)}",
                         parameter="baseline")
    out = dict(DEFAULTS[method])
    out.update({k: v for k, v in params.items() if v is not None})
    f = npts / REFERENCE_POINTS
    if "lam" in out:
        out["lam"] = float(out["lam"]) * f ** 4
    if "max_half_window" in out:
        out["max_half_window"] = max(2, int(round(out["max_half_window"] * f)))
    return out


@dataclass(frozen=True, eq=False)
class BaselineResult:
    """Baselines of N spectra.

    Attributes
    ----------
    baselines : ndarray (N, M)
    corrected : ndarray (N, M)
        Signal minus baseline.
    method : str
    parameters : dict
        Resolved parameters (``lam`` after scaling).
    skipped : bool
        True when the vendor had already subtracted a baseline.
    """

    baselines: np.ndarray
    corrected: np.ndarray
    method: str
    parameters: dict
    skipped: bool = False


class BaselineFitter:
    """One pybaselines fitter for one shift axis, reused over a series.

    Parameters
    ----------
    axis : ndarray (M,)
        Raman shift (cm-1), ascending.
    method : str
        One of :data:`METHODS`. Default ``"arpls"``.
    **params
        Method options (``lam`` for REFERENCE_POINTS points, ``p``, ``max_half_window``,
        ``poly_order``...); defaults in :data:`DEFAULTS`.

    Examples
    --------
    >>> x = np.linspace(100, 1800, 1024)
    >>> y = 1e-4 * (x - 900) ** 2 + 50 * np.exp(-((x - 1000) / 5) ** 2)
    >>> r = BaselineFitter(x).fit(y[None, :])
    >>> bool(abs(r.corrected[0, np.argmin(abs(x - 1000))] - 50) < 5)
    True
    """

    def __init__(self, axis, method: str = "arpls", **params):
        self.axis = np.asarray(axis, dtype=float)
        self.method = method
        self.parameters = resolve_parameters(method, self.axis.size, **params)
        self._fitter = None

    def _baseline_of(self, y):
        if self.method == "none":
            return np.zeros_like(y)
        if self._fitter is None:
            from pybaselines import Baseline

            self._fitter = Baseline(x_data=self.axis)
        fn = getattr(self._fitter, self.method)
        return fn(y, **self.parameters)[0]

    def fit(self, signals, *, rows=None, vendor_subtracted: bool = False) -> BaselineResult:
        """Baselines of every row of ``signals`` (rows not in ``rows`` get NaN).

        Parameters
        ----------
        signals : ndarray (N, M)
        rows : array of bool (N,), optional
            Rows to process (the QC mask). Default all.
        vendor_subtracted : bool
            The vendor already subtracted a baseline: return zeros and warn.
        """
        y = np.atleast_2d(np.asarray(signals, dtype=float))
        rows = np.ones(y.shape[0], dtype=bool) if rows is None else np.asarray(rows, bool)
        if vendor_subtracted:
            VENDOR_SUBTRACTED.warn("the file says a baseline was already subtracted by the vendor "
                                   "software; no baseline subtracted", stacklevel=2)
            base = np.zeros_like(y)
            base[~rows] = np.nan
            return BaselineResult(base, y - base, "none", {"reason": "vendor subtracted"}, True)
        base = np.full_like(y, np.nan)
        for i in np.flatnonzero(rows):
            base[i] = self._baseline_of(y[i])
        return BaselineResult(base, y - base, self.method, dict(self.parameters))
