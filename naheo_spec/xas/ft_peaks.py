"""Assign the first-shell (TM-O) and metal-metal (TM-TM) peaks of |chi(R)|.

Positions are *apparent* distances: chi(R) is not phase corrected, so a peak sits
0.3-0.5 A below the real bond length (FeO: Fe-O peak 1.60 A for a 2.14 A bond).
Use a shell fit (:mod:`naheo_spec.xas.shellfit`) for real distances.

Peaks are picked inside physically motivated windows, as the highest local
maximum there (not the first one: oxides show background ripple below 1.2 A),
refined by a parabola through the three top points.

References
----------
Window choice and reference peak positions: project XAS notes, section 3 (first
|chi(R)| peaks of Ni, Fe, Mn oxides and foils measured with xraylarch 2026.3.1);
parabolic peak interpolation: J. O. Smith, "Spectral Audio Signal Processing",
"Quadratic interpolation of spectral peaks" (W3K, 2011), ISBN 978-0-9745607-3-1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import InputError, QualityWarning

PEAK_MISSING = WarningCode("xas.ft.peak_missing", QualityWarning,
                           "No local maximum of |chi(R)| in a shell's window.")

#: Apparent-R windows (A, not phase corrected) per structure type.
#: ``oxide``: TM-O 1.1-2.0 A and TM-TM 2.2-3.3 A (layered/rock-salt TM oxides);
#: ``metal``: nearest-neighbour TM-TM 1.8-2.7 A (foils).
PEAK_WINDOWS: dict[str, dict[str, tuple[float, float]]] = {
    "oxide": {"TM-O": (1.1, 2.0), "TM-TM": (2.2, 3.3)},
    "metal": {"TM-TM": (1.8, 2.7)},
}


@dataclass(frozen=True)
class FTPeak:
    """One |chi(R)| peak.

    Attributes
    ----------
    label : str
        Shell label (``"TM-O"``, ``"TM-TM"`` or a user label).
    r_apparent_A : float
        Apparent peak position, A (NOT phase corrected); NaN when no peak was found.
    magnitude : float
        |chi(R)| at the peak (A^-(kweight+1)); NaN when no peak was found.
    window_A : tuple of float
        The (rmin, rmax) window searched, A.
    """

    label: str
    r_apparent_A: float
    magnitude: float
    window_A: tuple[float, float]

    @property
    def found(self) -> bool:
        return bool(np.isfinite(self.r_apparent_A))

    def to_json_dict(self) -> dict:
        """``{label, r_apparent_A, magnitude}`` with NaN written as None (JSON null)."""
        def val(x):
            return float(x) if np.isfinite(x) else None
        return {"label": self.label, "r_apparent_A": val(self.r_apparent_A),
                "magnitude": val(self.magnitude)}


def resolve_windows(windows) -> dict[str, tuple[float, float]]:
    """Turn ``None``, a preset name or a mapping into ``{label: (rmin, rmax)}``.

    Raises
    ------
    InputError
        Unknown preset or a window with rmin >= rmax or negative R.
    """
    if windows is None:
        windows = "oxide"
    if isinstance(windows, str):
        if windows not in PEAK_WINDOWS:
            raise InputError(f"windows={windows!r}; expected one of {tuple(PEAK_WINDOWS)} or a "
                             "dict {label: (rmin_A, rmax_A)}")
        return dict(PEAK_WINDOWS[windows])
    if not isinstance(windows, Mapping) or not windows:
        raise InputError(f"windows must be a preset name or a non-empty dict, got {windows!r}")
    out = {}
    for label, win in windows.items():
        lo, hi = (float(v) for v in win)
        if not 0 <= lo < hi:
            raise InputError(f"peak window {label!r} = ({lo}, {hi}) A; expected 0 <= rmin < rmax")
        out[str(label)] = (lo, hi)
    return out


def _peaks_rows(r, y, lo, hi):
    """Highest local maximum of each row of ``y`` (N, R) with lo <= r <= hi, refined.

    A parabola through the maximum and its two neighbours gives the vertex position
    and height. Rows without a local maximum in the window (or with NaN) give NaN.
    """
    n = y.shape[0]
    pos = np.full(n, np.nan)
    height = np.full(n, np.nan)
    inside = np.nonzero((r >= lo) & (r <= hi))[0]
    inside = inside[(inside > 0) & (inside < r.size - 1)]
    if inside.size == 0:
        return pos, height
    yc = y[:, inside]
    is_max = (yc >= y[:, inside - 1]) & (yc > y[:, inside + 1])
    score = np.where(is_max, yc, -np.inf)
    j = np.argmax(score, axis=1)
    rows = np.arange(n)
    found = np.isfinite(score[rows, j])
    i = inside[j]
    ym, y0, yp = y[rows, i - 1], y[rows, i], y[rows, i + 1]
    curv = ym - 2 * y0 + yp
    concave = curv < 0
    off = np.where(concave, 0.5 * (ym - yp) / np.where(concave, curv, -1.0), 0.0)
    pos[found] = (r[i] + off * (r[i + 1] - r[i]))[found]
    height[found] = (y0 - 0.25 * (ym - yp) * off)[found]
    return pos, height


def _check_r_mag(r_A, magnitude):
    r = np.asarray(r_A, dtype=float)
    y = np.asarray(magnitude, dtype=float)
    if r.ndim != 1 or y.ndim not in (1, 2) or y.shape[-1] != r.size or r.size < 3:
        raise InputError(f"r_A (R,) and magnitude (R,) or (N, R) must have equal length >= 3, "
                         f"got {r.shape} and {y.shape}")
    if np.any(np.diff(r) <= 0):
        raise InputError("r_A must be strictly increasing")
    return r, y


def shell_peaks_with_messages(r_A, magnitude, *, windows=None
                              ) -> tuple[tuple[FTPeak, ...], list[str]]:
    """:func:`find_shell_peaks` without emitting warnings: returns (peaks, messages)."""
    r, y = _check_r_mag(r_A, magnitude)
    if y.ndim != 1:
        raise InputError(f"magnitude must be 1-D here, got {y.shape}; use shell_peaks_stack")
    peaks, messages = [], []
    for label, (lo, hi) in resolve_windows(windows).items():
        pos, height = _peaks_rows(r, y[None, :], lo, hi)
        peaks.append(FTPeak(label, float(pos[0]), float(height[0]), (lo, hi)))
        if not np.isfinite(pos[0]):
            messages.append(PEAK_MISSING.record(_missing(label, lo, hi), shell=label))
    return tuple(peaks), messages


def _missing(label, lo, hi):
    return (f"no {label} peak (local maximum of |chi(R)|) in the window {lo:.2f}-{hi:.2f} A "
            "(apparent R)")


def shell_peaks_stack(r_A, magnitude, *, windows=None
                      ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]:
    """Vectorized :func:`find_shell_peaks` for a stack of |chi(R)| (no warnings emitted).

    Parameters
    ----------
    r_A : array-like, shape (R,)
        Apparent distance, A.
    magnitude : array-like, shape (N, R)
        |chi(R)| per scan (rows of NaN give NaN peaks).
    windows : None, str or dict
        As in :func:`find_shell_peaks`.

    Returns
    -------
    peaks : dict of str to (ndarray (N,), ndarray (N,))
        Per label: apparent positions (A) and magnitudes, NaN where missing.
    messages : list of str
        One per window with missing peaks among finite rows, naming the scans.

    References
    ----------
    See :func:`find_shell_peaks`.
    """
    r, y = _check_r_mag(r_A, magnitude)
    y = np.atleast_2d(y)
    finite = np.all(np.isfinite(y), axis=1)
    out, messages = {}, []
    for label, (lo, hi) in resolve_windows(windows).items():
        pos, height = _peaks_rows(r, y, lo, hi)
        out[label] = (pos, height)
        miss = np.nonzero(finite & ~np.isfinite(pos))[0]
        if miss.size:
            more = "..." if miss.size > 10 else ""
            messages.append(PEAK_MISSING.record(
                f"{_missing(label, lo, hi)} (scans {miss[:10].tolist()}{more}, "
                f"{miss.size} in all)", shell=label, count=int(miss.size)))
    return out, messages


def find_shell_peaks(r_A, magnitude, *, windows=None) -> tuple[FTPeak, ...]:
    """Find the TM-O and TM-TM peaks of |chi(R)| in apparent-R windows.

    Parameters
    ----------
    r_A : array-like, shape (R,)
        Distance grid, A (apparent, not phase corrected; e.g. ``xftf(...).r_A``).
    magnitude : array-like, shape (R,)
        |chi(R)|.
    windows : None, str or dict
        ``None`` or ``"oxide"``: TM-O 1.1-2.0 A and TM-TM 2.2-3.3 A; ``"metal"``:
        TM-TM 1.8-2.7 A; or a dict ``{label: (rmin_A, rmax_A)}``. Default is None.

    Returns
    -------
    tuple of FTPeak
        One per window, in window order. In each window the highest local maximum is
        taken and refined by a parabola through its neighbours. A window without a
        local maximum gives an FTPeak with NaN position and magnitude.

    Raises
    ------
    InputError
        Bad arrays or windows.

    Warns
    -----
    QualityWarning
        For each window without a peak.

    References
    ----------
    Reference peak positions and windows: project XAS notes, section 3 (measured with
    xraylarch 2026.3.1 on the shared reference spectra).

    Examples
    --------
    >>> import numpy as np
    >>> r = np.pi / 102.4 * np.arange(326)
    >>> mag = (0.3 * np.exp(-0.5 * ((r - 0.8) / 0.1) ** 2)
    ...        + np.exp(-0.5 * ((r - 1.55) / 0.15) ** 2)
    ...        + 0.6 * np.exp(-0.5 * ((r - 2.7) / 0.15) ** 2))
    >>> [(p.label, round(p.r_apparent_A, 2)) for p in find_shell_peaks(r, mag)]
    [('TM-O', 1.55), ('TM-TM', 2.7)]
    """
    peaks, messages = shell_peaks_with_messages(r_A, magnitude, windows=windows)
    for m in messages:
        m.emit(stacklevel=2)
    return peaks
