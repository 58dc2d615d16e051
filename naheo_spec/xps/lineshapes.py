"""XPS line shapes as plain numpy kernels (height 1 at the center for symmetric shapes).

CasaXPS shapes, with their published definitions ([1]_, [2]_; ``p`` is the Lorentzian
percentage, ``F`` the FWHM parameter, ``E`` the position):

- ``GL(p)``, product form: ``exp(-4 ln2 (1 - p/100) u^2) / (1 + 4 (p/100) u^2)``,
  ``u = (x - E) / F``;
- ``SGL(p)``, sum form: ``(1 - p/100) exp(-4 ln2 u^2) + (p/100) / (1 + 4 u^2)``;
- ``LA(a, b, m)``: a Lorentzian ``1 / (1 + 4 u^2)`` raised to ``a`` on the high-binding-
  energy side and ``b`` on the low side, convolved with a Gaussian whose width is set by
  ``m`` (0-499). CasaXPS does not publish the mapping of ``m`` to a width; here the
  Gaussian FWHM is ``m / 100 * F`` -- an approximation: an LA component ported from
  CasaXPS keeps its position and FWHM role but its area/shape can differ slightly;
- ``LF(a, b, w, m)``: LA whose asymmetric tails are damped by ``w`` (0-499, smaller =
  stronger); here the tails are multiplied by ``exp(-(|x - E| / (w / 10 * F))^2)`` beyond
  the center (again an approximation of the unpublished CasaXPS damping).

Also: pseudo-Voigt (area-normalized mix ``eta``), Voigt (``scipy.special.voigt_profile``),
and Doniach-Sunjic convolved with a Gaussian (metals). GL(p) is *not* a pseudo-Voigt
with ``eta = p/100`` (notes §3): converting a CasaXPS model uses these definitions.

Every kernel is vectorized: ``center``/``fwhm`` may be arrays of shape (K, 1) to evaluate
K components on one axis in one call (the fast fit path).

References
----------
.. [1] M. C. Biesinger, "Line-Shape Definitions", xpsfitting.com (2009); CasaXPS manual,
   "Line shapes".
.. [2] G. H. Major, V. Fernandez, N. Fairley, M. R. Linford, Surf. Interface Anal. 54, 262
   (2022), doi:10.1002/sia.7050 (GL sum/product vs Voigt).
.. [3] S. Doniach and M. Sunjic, J. Phys. C 3, 285 (1970), doi:10.1088/0022-3719/3/2/010.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from naheo_spec.errors import InputError

__all__ = ["gl", "sgl", "la", "lf", "pseudo_voigt", "voigt", "doniach_sunjic_gauss",
           "LineShape", "parse_lineshape", "shape_area_factor", "evaluate", "LN2"]

LN2 = float(np.log(2.0))
_TINY = 1e-12


def gl(x, center, fwhm, p=30.0):
    """CasaXPS GL(p): Gaussian-Lorentzian product, height 1 at ``center``.

    Parameters
    ----------
    x : ndarray
        Binding energy (eV).
    center, fwhm : float or ndarray
        Position and width parameter (eV); arrays broadcast against ``x``.
    p : float or ndarray
        Lorentzian percentage 0-100. Default 30 (Biesinger's usual choice).

    Examples
    --------
    >>> float(gl(np.array([0.0]), 0.0, 1.0)[0]), round(float(gl(np.array([0.5]), 0.0, 1.0, 0)[0]), 6)
    (1.0, 0.5)
    """
    u = (x - center) / np.maximum(fwhm, _TINY)
    m = np.asarray(p, dtype=float) / 100.0
    return np.exp(-4.0 * LN2 * (1.0 - m) * u * u) / (1.0 + 4.0 * m * u * u)


def sgl(x, center, fwhm, p=30.0):
    """CasaXPS SGL(p): Gaussian-Lorentzian sum, height 1 at ``center``.

    Examples
    --------
    >>> round(float(sgl(np.array([0.5]), 0.0, 1.0, 50)[0]), 6)
    0.5
    """
    u = (x - center) / np.maximum(fwhm, _TINY)
    m = np.asarray(p, dtype=float) / 100.0
    return (1.0 - m) * np.exp(-4.0 * LN2 * u * u) + m / (1.0 + 4.0 * u * u)


def _gauss_convolve(x, y, fwhm_g):
    """Convolve ``y`` on a uniform ``x`` with a unit-area Gaussian of FWHM ``fwhm_g``."""
    if fwhm_g <= 0:
        return y
    dx = x[1] - x[0]
    s = fwhm_g / (2.0 * np.sqrt(2.0 * LN2))
    half = int(np.ceil(5.0 * s / dx))
    k = np.exp(-0.5 * ((np.arange(-half, half + 1) * dx) / s) ** 2)
    k /= k.sum()
    return np.convolve(y, k, mode="same")


def _on_fine_grid(func, x, center, fwhm, extra):
    """Evaluate a convolved shape on a fine uniform grid covering ``x``, then interpolate."""
    x = np.asarray(x, dtype=float)
    lo, hi = float(np.min(x)), float(np.max(x))
    pad = 10.0 * fwhm + extra
    step = min(fwhm / 40.0, (hi - lo) / max(x.size, 2) / 2.0 if hi > lo else fwhm / 40.0)
    grid = np.arange(lo - pad, hi + pad + step, max(step, 1e-4))
    return np.interp(x, grid, func(grid))


def la(x, center, fwhm, a=1.0, b=1.0, m=0.0):
    """CasaXPS-style LA(a, b, m) (scalar parameters; see module doc for ``m``), height 1
    before the Gaussian convolution.

    Examples
    --------
    >>> x = np.linspace(-5, 5, 1001)
    >>> y = la(x, 0.0, 1.0, 1.0, 1.0, 0)
    >>> round(float(y.max()), 6), bool(np.isclose(y[600], y[400]))
    (1.0, True)
    """
    center, fwhm = float(center), float(fwhm)

    def f(g):
        u = (g - center) / max(fwhm, _TINY)
        lor = 1.0 / (1.0 + 4.0 * u * u)
        core = np.where(g > center, lor ** a, lor ** b)
        return _gauss_convolve(g, core, m / 100.0 * fwhm)

    return _on_fine_grid(f, x, center, fwhm, 3.0 * m / 100.0 * fwhm)


def lf(x, center, fwhm, a=1.0, b=1.0, w=100.0, m=0.0):
    """CasaXPS-style LF(a, b, w, m): LA with damped tails (approximation, module doc).

    Examples
    --------
    >>> x = np.linspace(-20, 20, 2001)
    >>> bool(lf(x, 0.0, 1.0, 1, 1, 5, 0)[-1] < la(x, 0.0, 1.0, 1, 1, 0)[-1])
    True
    """
    center, fwhm = float(center), float(fwhm)

    def f(g):
        u = (g - center) / max(fwhm, _TINY)
        lor = 1.0 / (1.0 + 4.0 * u * u)
        core = np.where(g > center, lor ** a, lor ** b)
        scale = max(w, _TINY) / 10.0 * fwhm
        core = core * np.exp(-(np.abs(g - center) / scale) ** 2)
        return _gauss_convolve(g, core, m / 100.0 * fwhm)

    return _on_fine_grid(f, x, center, fwhm, 3.0 * m / 100.0 * fwhm)


def pseudo_voigt(x, center, fwhm, eta=0.3):
    """Pseudo-Voigt with common FWHM, height 1: ``(1-eta) G + eta L`` (each height 1).

    Examples
    --------
    >>> round(float(pseudo_voigt(np.array([0.5]), 0.0, 1.0, 0.3)[0]), 6)
    0.5
    """
    u = (x - center) / np.maximum(fwhm, _TINY)
    return (1.0 - eta) * np.exp(-4.0 * LN2 * u * u) + eta / (1.0 + 4.0 * u * u)


def voigt(x, center, sigma, gamma):
    """Voigt profile (unit area) of Gaussian ``sigma`` and Lorentzian half-width ``gamma``
    (eV), via ``scipy.special.voigt_profile``.

    Examples
    --------
    >>> x = np.linspace(-50, 50, 20001)
    >>> round(float(np.trapezoid(voigt(x, 0.0, 0.5, 0.2), x)), 2)
    1.0
    """
    from scipy.special import voigt_profile

    return voigt_profile(np.asarray(x, dtype=float) - center, sigma, gamma)


def doniach_sunjic_gauss(x, center, gamma, alpha, fwhm_g):
    """Doniach-Sunjic profile (Lorentzian half-width ``gamma``, asymmetry ``alpha``, tail to
    high binding energy) convolved with a Gaussian of FWHM ``fwhm_g``; height 1.

    Definition as in [3]_.

    Examples
    --------
    >>> x = np.linspace(-10, 10, 2001)
    >>> y = doniach_sunjic_gauss(x, 0.0, 0.2, 0.1, 0.5)
    >>> bool(y[1500] > y[500])    # tail on the high-BE side
    True
    """
    center, gamma = float(center), float(gamma)

    def f(g):
        # The DS tail runs to negative e in this form: e = center - g puts it at high BE.
        e = center - g
        num = np.cos(np.pi * alpha / 2.0 + (1.0 - alpha) * np.arctan(e / max(gamma, _TINY)))
        ds = num / (e * e + gamma * gamma) ** ((1.0 - alpha) / 2.0)
        ds = _gauss_convolve(g, ds, fwhm_g)
        return ds / np.max(ds)

    return _on_fine_grid(f, x, center, 2.0 * gamma + fwhm_g, 20.0 * gamma)


# --------------------------------------------------------------------------- descriptors
class LineShape:
    """A parsed line-shape name: ``kind`` and its fixed shape parameters.

    Examples
    --------
    >>> parse_lineshape("GL(30)")
    LineShape('GL', (30.0,))
    >>> parse_lineshape("LF(0.54,10,80,100,6)").params
    (0.54, 10.0, 80.0, 100.0, 6.0)
    """

    __slots__ = ("kind", "params")

    def __init__(self, kind: str, params: tuple[float, ...] = ()):
        self.kind, self.params = kind, tuple(float(p) for p in params)

    def __repr__(self):
        return f"LineShape({self.kind!r}, {self.params})"

    def __eq__(self, other):
        return isinstance(other, LineShape) and (self.kind, self.params) == (other.kind,
                                                                               other.params)

    def __hash__(self):
        return hash((self.kind, self.params))

    @property
    def label(self) -> str:
        return f"{self.kind}({','.join(f'{p:g}' for p in self.params)})"


_SHAPE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\(([^)]*)\))?\s*$")
_NPARAMS = {"GL": (0, 1), "SGL": (0, 1), "LA": (1, 3), "LF": (4, 5), "PV": (0, 1),
            "VOIGT": (1, 1), "DS": (1, 2)}


def parse_lineshape(text: str) -> LineShape:
    """Parse a CasaXPS-style line-shape name (``GL(30)``, ``SGL(30)``, ``LA(1.1,2.3,5)``,
    ``LF(a,b,w,m)``; ``PV(eta%)``, ``VOIGT(gamma/sigma)``, ``DS(alpha,gauss%)``).

    ``LA(a, m)`` means ``LA(a, a, m)``; ``LA(m)`` means ``LA(1, 1, m)``. A bare ``GL``/``SGL``
    is ``GL(30)``. LF takes ``(a, b, w, m)``; CasaXPS files also show a fifth number
    (``LF(0.54,10,80,100,6)``) whose meaning is not published: it is kept in ``params``
    but not used by :func:`evaluate`.

    Raises
    ------
    InputError
        Unknown shape or wrong number of parameters (the message names the text).
    """
    m = _SHAPE.match(str(text))
    if not m:
        raise InputError(f"line shape {text!r} is not of the form NAME(p1,p2,...)",
                         parameter="lineshape")
    kind = m.group(1).upper()
    args = m.group(2)
    try:
        params = tuple(float(v) for v in args.split(",")) if args and args.strip() else ()
    except ValueError:
        raise InputError(f"line shape {text!r}: parameters must be numbers",
                         parameter="lineshape") from None
    if kind not in _NPARAMS:
        raise InputError(f"line shape {text!r}: unknown kind {kind!r}; expected one of "
                         f"{', '.join(_NPARAMS)}", parameter="lineshape")
    lo, hi = _NPARAMS[kind]
    if not lo <= len(params) <= hi:
        raise InputError(f"line shape {text!r}: {kind} takes {lo}-{hi} parameters, got "
                         f"{len(params)}", parameter="lineshape")
    if kind in ("GL", "SGL", "PV") and not params:
        params = (30.0,)
    if kind == "LA":
        params = {1: (1.0, 1.0, params[0]) if params else (), 2: (params[0], params[0],
                  params[-1]), 3: params}[len(params)]
    if kind == "DS" and len(params) == 1:
        params = (params[0], 0.0)
    return LineShape(kind, params)


def evaluate(shape: LineShape, x, center, fwhm):
    """Height-1 profile of ``shape`` at ``center``/``fwhm`` on ``x`` (eV).

    GL/SGL/PV broadcast over arrays of centers/widths; the convolved shapes take scalars.
    """
    k, p = shape.kind, shape.params
    if k == "GL":
        return gl(x, center, fwhm, p[0])
    if k == "SGL":
        return sgl(x, center, fwhm, p[0])
    if k == "PV":
        return pseudo_voigt(x, center, fwhm, p[0] / 100.0)
    if k == "LA":
        return la(x, center, fwhm, *p)
    if k == "LF":
        return lf(x, center, fwhm, *p[:4])
    if k == "VOIGT":
        ratio = p[0]                              # gamma / sigma
        sig = fwhm / (0.5346 * 2 * ratio + np.sqrt(0.2166 * 4 * ratio ** 2 + 8 * LN2))
        v = voigt(x, center, sig, ratio * sig)
        return v / voigt(np.array([0.0]), 0.0, sig, ratio * sig)[0]
    if k == "DS":
        alpha, gpct = p
        gfw = fwhm * gpct / 100.0
        return doniach_sunjic_gauss(x, center, 0.5 * fwhm * (1 - gpct / 100.0) + 1e-3, alpha, gfw)
    raise InputError(f"cannot evaluate line shape {shape!r}")


@lru_cache(maxsize=256)
def shape_area_factor(shape: LineShape) -> float:
    """Area of the height-1 profile with FWHM parameter 1 (so area = height x fwhm x factor).

    Computed numerically once per shape (the GL product has no closed form).

    Examples
    --------
    >>> round(shape_area_factor(LineShape("GL", (0.0,))), 4)   # Gaussian: sqrt(pi / (4 ln 2))
    1.0645
    >>> round(shape_area_factor(LineShape("SGL", (100.0,))), 4)  # Lorentzian: pi / 2
    1.5708
    """
    from scipy.integrate import quad

    if shape.kind in ("GL", "SGL", "PV"):
        def f(u):
            return float(evaluate(shape, np.array([u]), 0.0, 1.0)[0])
        val = 2.0 * (quad(f, 0.0, 50.0, limit=200)[0] + quad(f, 50.0, np.inf, limit=200)[0])
        return val
    x = np.linspace(-400.0, 400.0, 160001)
    return float(np.trapezoid(evaluate(shape, x, 0.0, 1.0), x))
