"""Area-normalised Raman line shapes and their derivatives, vectorised over spectra.

Every shape is parametrised by its integrated ``area``, ``center`` (cm-1) and full width
at half maximum ``fwhm`` (cm-1); the pseudo-Voigt adds ``eta``, the Lorentzian fraction
of a shared FWHM (the convention of lmfit's ``PseudoVoigtModel``, whose ``sigma`` is
half our ``fwhm``). Parameters broadcast: give arrays of shape (N, 1) against an axis of
shape (M,) to evaluate N spectra at once. The Voigt profile ties the Gaussian sigma to the
Lorentzian gamma (sigma = gamma, as lmfit's ``VoigtModel`` by default); its FWHM is
3.6013 sigma (Olivero & Longbothum 1977).

References
----------
J. J. Olivero and R. L. Longbothum, J. Quant. Spectrosc. Radiat. Transfer 17, 233 (1977),
doi:10.1016/0022-4073(77)90161-3.
"""
from __future__ import annotations

import numpy as np

__all__ = ["lorentzian", "gaussian", "pseudo_voigt", "voigt", "profile", "profile_and_grad",
           "peak_height_factor", "VOIGT_FWHM_PER_SIGMA"]

_LN2 = np.log(2.0)
_GNORM = 2.0 * np.sqrt(_LN2 / np.pi)
#: FWHM / sigma of a Voigt profile with gamma = sigma (Olivero & Longbothum 1977).
VOIGT_FWHM_PER_SIGMA = 0.5346 * 2 + np.sqrt(0.2166 * 4 + 8 * _LN2)


def lorentzian(x, area, center, fwhm):
    """Area-normalised Lorentzian (cm-1 units for x, center, fwhm).

    Examples
    --------
    >>> x = np.linspace(-2000, 2000, 400001)
    >>> round(float(np.trapezoid(lorentzian(x, 2.0, 0.0, 10.0), x)), 2)
    2.0
    """
    u = (np.asarray(x) - center) / fwhm
    return area * (2.0 / (np.pi * fwhm)) / (1.0 + 4.0 * u * u)


def gaussian(x, area, center, fwhm):
    """Area-normalised Gaussian.

    Examples
    --------
    >>> x = np.linspace(-100, 100, 20001)
    >>> round(float(np.trapezoid(gaussian(x, 3.0, 0.0, 10.0), x)), 6)
    3.0
    """
    u = (np.asarray(x) - center) / fwhm
    return area * (_GNORM / fwhm) * np.exp(-4.0 * _LN2 * u * u)


def pseudo_voigt(x, area, center, fwhm, eta):
    """Pseudo-Voigt: ``eta`` Lorentzian + (1 - eta) Gaussian with one FWHM.

    Examples
    --------
    >>> float(pseudo_voigt(0.0, 1.0, 0.0, 2.0, 1.0)) == float(lorentzian(0.0, 1.0, 0.0, 2.0))
    True
    """
    return eta * lorentzian(x, area, center, fwhm) + (1.0 - eta) * gaussian(x, area, center, fwhm)


def voigt(x, area, center, fwhm):
    """Voigt profile with gamma = sigma, parametrised by its FWHM.

    Examples
    --------
    >>> x = np.linspace(-50, 50, 100001)
    >>> y = voigt(x, 1.0, 0.0, 10.0)
    >>> w = np.ptp(x[y >= y.max() / 2])
    >>> bool(abs(w - 10.0) < 0.05)
    True
    """
    from scipy.special import voigt_profile

    sigma = fwhm / VOIGT_FWHM_PER_SIGMA
    return area * voigt_profile(np.asarray(x) - center, sigma, sigma)


def peak_height_factor(shape: str, fwhm, eta=None):
    """Height / area of a shape (1/cm-1): multiply an area to get the peak height.

    Examples
    --------
    >>> bool(np.isclose(peak_height_factor("lorentzian", 2.0), 1 / np.pi))
    True
    """
    fwhm = np.asarray(fwhm, dtype=float)
    if shape == "lorentzian":
        return 2.0 / (np.pi * fwhm)
    if shape == "gaussian":
        return _GNORM / fwhm
    if shape == "pseudo-voigt":
        return eta * 2.0 / (np.pi * fwhm) + (1.0 - eta) * _GNORM / fwhm
    if shape == "voigt":
        from scipy.special import voigt_profile

        sigma = fwhm / VOIGT_FWHM_PER_SIGMA
        return voigt_profile(0.0, sigma, sigma)
    raise ValueError(f"unknown shape {shape!r}")


def profile(shape: str, x, params):
    """Evaluate ``shape`` with ``params`` = (area, center, fwhm[, eta]) (broadcasting)."""
    if shape == "lorentzian":
        return lorentzian(x, *params[:3])
    if shape == "gaussian":
        return gaussian(x, *params[:3])
    if shape == "pseudo-voigt":
        return pseudo_voigt(x, *params[:4])
    if shape == "voigt":
        return voigt(x, *params[:3])
    raise ValueError(f"unknown shape {shape!r}")


def profile_and_grad(shape: str, x, params):
    """Profile and its derivatives with respect to each parameter.

    Parameters
    ----------
    shape : str
        ``"lorentzian"``, ``"gaussian"``, ``"pseudo-voigt"`` or ``"voigt"``.
    x : ndarray (M,)
        Shift axis (cm-1).
    params : sequence of ndarray (N, 1)
        area, center, fwhm (and eta for the pseudo-Voigt).

    Returns
    -------
    value : ndarray (N, M)
    grads : list of ndarray (N, M)
        One per parameter, in the order of ``params`` (analytic except for the Voigt,
        whose derivatives are central differences).
    """
    if shape == "voigt":
        a, c, w = params[:3]
        val = voigt(x, a, c, w)
        hc = 1e-4 * w
        dc = (voigt(x, a, c + hc, w) - voigt(x, a, c - hc, w)) / (2 * hc)
        dw = (voigt(x, a, c, w + hc) - voigt(x, a, c, w - hc)) / (2 * hc)
        return val, [val / a if np.all(a != 0) else voigt(x, 1.0, c, w), dc, dw]
    a, c, w = params[:3]
    u = (x - c) / w
    q = 1.0 + 4.0 * u * u
    lf = (2.0 / (np.pi * w)) / q                          # unit-area Lorentzian
    gf = (_GNORM / w) * np.exp(-4.0 * _LN2 * u * u)       # unit-area Gaussian
    dl_dc = lf * 8.0 * u / (w * q)
    dl_dw = -lf / w + lf * 8.0 * u * u / (w * q)
    dg_dc = gf * 8.0 * _LN2 * u / w
    dg_dw = -gf / w + gf * 8.0 * _LN2 * u * u / w
    if shape == "lorentzian":
        return a * lf, [lf, a * dl_dc, a * dl_dw]
    if shape == "gaussian":
        return a * gf, [gf, a * dg_dc, a * dg_dw]
    if shape == "pseudo-voigt":
        eta = params[3]
        unit = eta * lf + (1.0 - eta) * gf
        return a * unit, [unit, a * (eta * dl_dc + (1 - eta) * dg_dc),
                          a * (eta * dl_dw + (1 - eta) * dg_dw), a * (lf - gf)]
    raise ValueError(f"unknown shape {shape!r}")
