"""XAFS Fourier transforms: windows, chi(k) -> chi(R) and chi(R) -> chi(q).

The conventions are those of xraylarch (``larch.xafs.xafsft``), reproduced to
floating-point precision so that numbers can be compared with larch and Athena:

* chi(R) = (kstep / sqrt(pi)) * FFT[chi(k) k^w W(k)] on an ``nfft``-point grid
  (default 2048, zero padded), keeping the first ``nfft/2`` points; the R grid
  step is pi / (kstep * nfft) (0.0307 A for kstep = 0.05 A^-1).
* chi(q) = (4 sqrt(pi) / kstep) * IFFT[chi(R) W(R) R^rw], times 1/2 when chi(R)
  is complex.

Every transform accepts a stack: ``chi`` of shape ``(N, K)`` is transformed
along its last axis in one vectorized FFT.

References
----------
M. Newville, "Larch: an analysis package for XAFS and related spectroscopies",
J. Phys.: Conf. Ser. 430, 012007 (2013), doi:10.1088/1742-6596/430/1/012007;
xraylarch documentation, "XAFS: Fourier transforms"
(https://xraypy.github.io/xraylarch/xafs_fourier.html).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import i0 as _bessel_i0

from naheo_spec.errors import InputError
from naheo_spec.provenance import Provenance
from naheo_spec.records import DataArray, Record

SQRT_PI = float(np.sqrt(np.pi))

#: Window names accepted by :func:`ftwindow`; the first three letters are enough
#: (as in larch), so ``"kaiser-bessel"`` and ``"han"`` work too.
WINDOWS = ("hanning", "kaiser", "parzen", "welch", "gaussian", "sine")
_SHORT = {w[:3]: w for w in WINDOWS}


def window_name(window: str) -> str:
    """Return the canonical window name for ``window`` (larch-style 3-letter match).

    Raises
    ------
    InputError
        If the name does not start with one of the :data:`WINDOWS` prefixes.
    """
    if not isinstance(window, str) or window.strip().lower()[:3] not in _SHORT:
        raise InputError(f"window={window!r} is not a known FT window; expected one of {WINDOWS}")
    return _SHORT[window.strip().lower()[:3]]


def _sill_indices(x, xmin, xmax, dx1, dx2, xstep, xeps):
    """Grid indices and abscissae of the four window corners, as larch computes them."""
    x1 = max(x.min(), xmin - dx1 / 2.0)
    x2 = xmin + dx1 / 2.0 + xeps
    x3 = xmax - dx2 / 2.0 - xeps
    x4 = min(x.max(), xmax + dx2 / 2.0)

    def asint(val):
        return int((val + xeps) / xstep)

    i1, i2, i3, i4 = asint(x1), asint(x2), asint(x3), asint(x4)
    i1, i2 = max(0, i1), max(0, i2)
    i3, i4 = min(x.size - 1, i3), min(x.size - 1, i4)
    if i2 == i1:
        i1 = max(0, i2 - 1)
    if i4 == i3:
        i3 = max(i2, i4 - 1)
    x1, x2, x3, x4 = x[i1], x[i2], x[i3], x[i4]
    if x1 == x2:
        x2 = x2 + xeps
    if x3 == x4:
        x4 = x4 + xeps
    return (i1, i2, i3, i4), (x1, x2, x3, x4)


def ftwindow(x, *, xmin=None, xmax=None, dx=1.0, dx2=None, window="hanning") -> np.ndarray:
    """Fourier-transform window on a uniform grid (larch ``ftwindow`` conventions).

    Parameters
    ----------
    x : array-like, shape (K,)
        Uniform grid starting at 0 (k in A^-1 or R in A).
    xmin, xmax : float, optional
        Nominal window range (the half-height points of the sills). None means
        ``x.min()`` / ``x.max()``. Default is None.
    dx : float
        Sill width at ``xmin`` (for ``"kaiser"`` the Bessel shape parameter, for
        ``"gaussian"`` the Gaussian sigma). Default is 1.
    dx2 : float, optional
        Sill width at ``xmax``; None means ``dx``. Default is None.
    window : str
        One of :data:`WINDOWS`: ``"hanning"`` (cos^2 sills), ``"parzen"`` (linear),
        ``"welch"`` (quadratic), ``"sine"``, ``"gaussian"``, ``"kaiser"``
        (I0(dx sqrt(1 - ((x - c)/w)^2)) - 1, normalised). Default is ``"hanning"``.

    Returns
    -------
    ndarray of shape (K,)
        Window values in [0, 1].

    Raises
    ------
    InputError
        Unknown window name or a grid with fewer than 2 points.

    References
    ----------
    xraylarch ``larch.xafs.xafsft.ftwindow``; F. J. Harris, Proc. IEEE 66, 51 (1978),
    doi:10.1109/PROC.1978.10837.
    """
    name = window_name(window)
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise InputError(f"ftwindow needs a 1-D grid of at least 2 points, got shape {x.shape}")
    dx1 = float(dx)
    dx2 = dx1 if dx2 is None else float(dx2)
    xmin = float(x.min()) if xmin is None else float(xmin)
    xmax = float(x.max()) if xmax is None else float(xmax)
    xstep = (x[-1] - x[0]) / (x.size - 1)
    if xstep < 0 or np.isnan(xstep):
        xstep = 1.0e-3
    xeps = 1.0e-4 * xstep
    if name == "gaussian":
        dx1 = max(dx1, xeps)
    (i1, i2, i3, i4), (x1, x2, x3, x4) = _sill_indices(x, xmin, xmax, dx1, dx2, xstep, xeps)

    fwin = np.zeros(x.size)
    if i3 > i2:
        fwin[i2:i3] = 1.0
    lo, hi = slice(i1, i2 + 1), slice(i3, i4 + 1)
    if name == "hanning":
        fwin[lo] = np.sin((np.pi / 2) * (x[lo] - x1) / (x2 - x1)) ** 2
        fwin[hi] = np.cos((np.pi / 2) * (x[hi] - x3) / (x4 - x3)) ** 2
    elif name == "parzen":
        fwin[lo] = (x[lo] - x1) / (x2 - x1)
        fwin[hi] = 1 - (x[hi] - x3) / (x4 - x3)
    elif name == "welch":
        fwin[lo] = 1 - ((x[lo] - x2) / (x2 - x1)) ** 2
        fwin[hi] = 1 - ((x[hi] - x3) / (x4 - x3)) ** 2
    elif name == "kaiser":
        cen, wid = (x4 + x1) / 2, (x4 - x1) / 2
        arg = np.clip(1 - (x - cen) ** 2 / wid ** 2, 0.0, None)
        scale = max(1.0e-10, _bessel_i0(dx1) - 1)
        fwin = (_bessel_i0(dx1 * np.sqrt(arg)) - 1) / scale
    elif name == "sine":
        fwin[i1:i4 + 1] = np.sin(np.pi * (x4 - x[i1:i4 + 1]) / (x4 - x1))
    else:  # gaussian
        cen = (x4 + x1) / 2
        fwin = np.exp(-(((x - cen) ** 2) / (2 * dx1 * dx1)))
    return fwin


@dataclass(frozen=True)
class FourierTransform:
    """Result of :func:`xftf`.

    Attributes
    ----------
    r_A : ndarray of shape (R,)
        Distance grid, A (apparent distance: not phase corrected).
    chir : ndarray of shape (R,) or (N, R), complex
        chi(R) in A^-(kweight+1).
    k_invA : ndarray of shape (K,)
        Uniform k grid the transform used, A^-1.
    window : ndarray of shape (K,)
        The k window W(k) on ``k_invA``.
    params : dict
        Resolved parameters (kmin, kmax, kweight, dk, dk2, window, nfft, kstep, rmax_out).
    warnings : tuple of str
        Adjustments made (none at present; kept for the common result interface).
    provenance : Provenance
        Step ``"xas.xftf"`` and the parameters.
    """

    r_A: np.ndarray
    chir: np.ndarray
    k_invA: np.ndarray
    window: np.ndarray
    params: dict[str, Any]
    warnings: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance("xas.xftf"))

    @property
    def magnitude(self) -> np.ndarray:
        """|chi(R)|, A^-(kweight+1)."""
        return np.abs(self.chir)

    @property
    def real(self) -> np.ndarray:
        """Re chi(R)."""
        return self.chir.real

    @property
    def imag(self) -> np.ndarray:
        """Im chi(R)."""
        return self.chir.imag

    def to_record(self, name: str = "xftf") -> Record:
        """Store |chi(R)|, Re and Im against R (signal ``chir_mag``, axis ``r``)."""
        unit = inv_angstrom(int(self.params["kweight"]) + 1)
        data = {"r": DataArray(self.r_A, "angstrom", "R (not phase corrected)"),
                "chir_mag": DataArray(self.magnitude, unit, "|chi(R)|"),
                "chir_re": DataArray(self.real, unit, "Re chi(R)"),
                "chir_im": DataArray(self.imag, unit, "Im chi(R)")}
        return Record(name=name, kind="xftf", summary=_json_safe(self.params),
                      provenance=self.provenance, data=data, signal="chir_mag", axes=["r"])


@dataclass(frozen=True)
class BackTransform:
    """Result of :func:`xftr`.

    Attributes
    ----------
    q_invA : ndarray of shape (Q,)
        Back-transformed wavenumber grid, A^-1.
    chiq : ndarray of shape (Q,) or (N, Q), complex
        Filtered chi(q) (k-weighted as the forward transform was).
    window : ndarray of shape (R,)
        The R window W(R) on the input R points.
    params : dict
        Resolved parameters (rmin, rmax, dr, dr2, rw, window, nfft, kstep, qmax_out).
    warnings : tuple of str
        Adjustments made (none at present).
    provenance : Provenance
        Step ``"xas.xftr"`` and the parameters.
    """

    q_invA: np.ndarray
    chiq: np.ndarray
    window: np.ndarray
    params: dict[str, Any]
    warnings: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance("xas.xftr"))

    @property
    def magnitude(self) -> np.ndarray:
        return np.abs(self.chiq)

    @property
    def real(self) -> np.ndarray:
        return self.chiq.real

    @property
    def imag(self) -> np.ndarray:
        return self.chiq.imag

    def to_record(self, name: str = "xftr") -> Record:
        """Store Re/Im/|chi(q)| against q (signal ``chiq_re``, axis ``q``)."""
        data = {"q": DataArray(self.q_invA, "1/angstrom", "q"),
                "chiq_re": DataArray(self.real, "", "Re chi(q)"),
                "chiq_im": DataArray(self.imag, "", "Im chi(q)"),
                "chiq_mag": DataArray(self.magnitude, "", "|chi(q)|")}
        return Record(name=name, kind="xftr", summary=_json_safe(self.params),
                      provenance=self.provenance, data=data, signal="chiq_re", axes=["q"])


def inv_angstrom(power: int) -> str:
    """ASCII UDUNITS unit of k^power (``"1/angstrom^3"``; ``""`` for power 0)."""
    if power == 0:
        return ""
    return "1/angstrom" if power == 1 else f"1/angstrom^{power}"


def _json_safe(d: dict) -> dict:
    out = {}
    for key, val in d.items():
        if isinstance(val, (np.floating, np.integer)):
            val = val.item()
        out[key] = val
    return out


def check_kweight(kweight) -> int:
    if isinstance(kweight, bool) or not float(kweight).is_integer() or not 0 <= kweight <= 3:
        raise InputError(f"kweight={kweight!r}; expected an integer 0, 1, 2 or 3")
    return int(kweight)


def _interp_rows(xnew, x, y):
    """``np.interp`` of every row of ``y`` (shared abscissa ``x``), clamped at the ends."""
    if x.size == xnew.size and np.allclose(x, xnew, rtol=0, atol=1e-12):
        return y
    j = np.clip(np.searchsorted(x, xnew, side="right") - 1, 0, x.size - 2)
    w = np.clip((xnew - x[j]) / (x[j + 1] - x[j]), 0.0, 1.0)
    return y[..., j] * (1 - w) + y[..., j + 1] * w


def _check_k_chi(k, chi):
    k = np.asarray(k, dtype=float)
    chi = np.asarray(chi, dtype=float)
    if k.ndim != 1 or k.size < 2:
        raise InputError(f"k must be 1-D with at least 2 points, got shape {k.shape}")
    if chi.ndim not in (1, 2) or chi.shape[-1] != k.size:
        raise InputError(f"chi must have shape ({k.size},) or (N, {k.size}), got {chi.shape}")
    if np.any(np.diff(k) <= 0):
        raise InputError("k must be strictly increasing")
    if not np.all(np.isfinite(chi)):
        raise InputError("chi contains NaN or inf")
    return k, chi


def _rfft_head(x, nfft, nkeep, block=256):
    """First ``nkeep`` points of the zero-padded FFT of real rows, in blocks of rows.

    chi k^w W is real, so the first nfft/2 points of the full FFT equal rfft's; blocks
    keep the (rows, nfft/2 + 1) complex intermediate small for large stacks.
    """
    rows = x.reshape(-1, x.shape[-1])
    out = np.empty((rows.shape[0], nkeep), dtype=complex)
    for i in range(0, rows.shape[0], block):
        out[i:i + block] = np.fft.rfft(rows[i:i + block], n=nfft, axis=-1)[:, :nkeep]
    return out.reshape(x.shape[:-1] + (nkeep,))


def xftf(k, chi, *, kmin=0.0, kmax=20.0, kweight=2, dk=1.0, dk2=None, window="kaiser",
         nfft=2048, kstep=None, rmax_out=10.0) -> FourierTransform:
    """Forward XAFS Fourier transform chi(k) -> chi(R), as larch ``xftf``.

    Parameters
    ----------
    k : array-like, shape (K,)
        Photo-electron wavenumber, A^-1, increasing (normally the uniform grid from
        :func:`naheo_spec.xas.autobk.autobk`).
    chi : array-like, shape (K,) or (N, K)
        chi(k), unweighted; a 2-D stack is transformed row by row in one FFT.
    kmin, kmax : float
        Window range, A^-1. Defaults are 0 and 20.
    kweight : int
        k-weight w (0-3) applied before the transform. Default is 2.
    dk, dk2 : float
        Window sills at kmin and kmax (dk2=None means dk), A^-1. Default is 1.
    window : str
        Window name (see :func:`ftwindow`). Default is ``"kaiser"`` (larch's default).
    nfft : int
        FFT length. Default is 2048.
    kstep : float, optional
        Grid step, A^-1; None means ``k[1] - k[0]``. Default is None.
    rmax_out : float
        Largest R kept in the output, A. Default is 10.

    Returns
    -------
    FourierTransform
        ``r_A``, complex ``chir`` (magnitude/real/imag as properties), the k window.

    Raises
    ------
    InputError
        Bad shapes, non-finite chi, bad kweight/window, or a grid longer than nfft.

    References
    ----------
    xraylarch ``larch.xafs.xftf`` (https://xraypy.github.io/xraylarch/xafs_fourier.html).

    Examples
    --------
    A pure sin(2kR) with R = 2.5 A transforms to a peak at 2.5 A:

    >>> import numpy as np
    >>> k = 0.05 * np.arange(321)
    >>> ft = xftf(k, np.sin(2 * 2.5 * k), kmin=2, kmax=15, kweight=0, window="hanning")
    >>> round(float(ft.r_A[np.argmax(ft.magnitude)]), 1)
    2.5
    """
    k, chi = _check_k_chi(k, chi)
    kweight = check_kweight(kweight)
    name = window_name(window)
    nfft = int(nfft)
    kstep = float(k[1] - k[0]) if kstep is None else float(kstep)
    if kstep <= 0:
        raise InputError(f"kstep={kstep}; expected a positive step in A^-1")
    dk2 = dk if dk2 is None else dk2
    npts = int(1.01 + k.max() / kstep)
    if npts > nfft:
        raise InputError(f"chi(k) needs {npts} points at kstep={kstep} but nfft={nfft}; "
                         "increase nfft")
    k_max = max(k.max(), kmax + dk2)
    k_ = kstep * np.arange(int(1.01 + k_max / kstep), dtype=float)
    win = ftwindow(k_, xmin=kmin, xmax=kmax, dx=dk, dx2=dk2, window=name)[:npts]
    k_ = k_[:npts]
    chi_ = _interp_rows(k_, k, chi)
    weighted = chi_ * (k_ ** kweight * win)
    rstep = np.pi / (kstep * nfft)
    irmax = int(min(nfft / 2, 1.01 + rmax_out / rstep))
    out = _rfft_head(weighted, nfft, irmax) * (kstep / SQRT_PI)
    params = {"kmin": float(kmin), "kmax": float(kmax), "kweight": kweight, "dk": float(dk),
              "dk2": float(dk2), "window": name, "nfft": nfft, "kstep": kstep,
              "rmax_out": float(rmax_out)}
    return FourierTransform(r_A=rstep * np.arange(irmax), chir=out, k_invA=k_,
                            window=win, params=params,
                            provenance=Provenance("xas.xftf", parameters=dict(params)))


def xftr(r, chir, *, rmin=0.0, rmax=20.0, dr=1.0, dr2=None, rw=0, window="kaiser",
         qmax_out=None, nfft=2048) -> BackTransform:
    """Back transform chi(R) -> chi(q), as larch ``xftr``.

    Parameters
    ----------
    r : array-like, shape (R,)
        Uniform R grid starting at 0, A (as returned by :func:`xftf`).
    chir : array-like, shape (R,) or (N, R)
        chi(R), complex (then the result is scaled by 1/2, as larch does) or real.
    rmin, rmax : float
        R window range, A. Defaults are 0 and 20.
    dr, dr2 : float
        Window sills, A (dr2=None means dr). Default is 1.
    rw : int
        R-weight applied before the transform. Default is 0.
    window : str
        Window name. Default is ``"kaiser"``.
    qmax_out : float, optional
        Largest q kept, A^-1; None means 30. Default is None.
    nfft : int
        FFT length. Default is 2048.

    Returns
    -------
    BackTransform
        ``q_invA`` and complex ``chiq``.

    Raises
    ------
    InputError
        Bad shapes, non-uniform R grid or more R points than nfft.

    References
    ----------
    xraylarch ``larch.xafs.xftr`` (https://xraypy.github.io/xraylarch/xafs_fourier.html).
    """
    r = np.asarray(r, dtype=float)
    chir = np.asarray(chir)
    if r.ndim != 1 or r.size < 2 or chir.ndim not in (1, 2) or chir.shape[-1] != r.size:
        raise InputError(f"xftr needs r (R,) and chir (R,) or (N, R); got {r.shape}, {chir.shape}")
    if r.size > nfft:
        raise InputError(f"chir has {r.size} points, more than nfft={nfft}")
    name = window_name(window)
    rstep = float(r[1] - r[0])
    if rstep <= 0:
        raise InputError(f"r grid step is {rstep}; expected a positive uniform step")
    kstep = np.pi / (rstep * nfft)
    scale = 0.5 if np.iscomplexobj(chir) else 1.0
    r_ = rstep * np.arange(nfft, dtype=float)
    win = ftwindow(r_, xmin=rmin, xmax=rmax, dx=dr, dx2=dr2, window=name)
    padded = np.zeros(chir.shape[:-1] + (nfft,), dtype=complex)
    padded[..., : r.size] = chir
    out = scale * (4 * SQRT_PI / kstep) * np.fft.ifft(padded * (win * r_ ** rw), axis=-1)
    qmax_out = 30.0 if qmax_out is None else float(qmax_out)
    nq = int(1.05 + qmax_out / kstep)
    q = np.linspace(0, qmax_out, nq)[: nfft // 2]
    params = {"rmin": float(rmin), "rmax": float(rmax), "dr": float(dr),
              "dr2": float(dr if dr2 is None else dr2), "rw": rw, "window": name,
              "nfft": int(nfft), "kstep": float(kstep), "qmax_out": qmax_out}
    return BackTransform(q_invA=q, chiq=out[..., : min(nq, nfft // 2)], window=win[: r.size],
                         params=params, provenance=Provenance("xas.xftr", parameters=dict(params)))
