"""Absorption-edge helpers for the readers: tabulated edge energies, a rough E0 and
the element/edge guess for files whose header does not name them (the check of a
reference channel is the foil rule of :mod:`naheo_spec.xas.energy_calibration`).

Tabulated energies come from xraydb (Elam et al. tables, imported lazily). The E0
here is a reader's estimate (maximum of a lightly smoothed dμ/dE) used to *identify*
an edge; for analysis use :func:`naheo_spec.xas.e0.find_e0`.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from naheo_spec.errors import InputError

#: Element symbols by atomic number (index 0 unused).
SYMBOLS = (
    "", "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S",
    "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge",
    "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd",
    "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd",
    "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm",
)
EDGES = ("K", "L1", "L2", "L3", "M1", "M2", "M3", "M4", "M5")

#: Candidate edges for the guess: K edges of Ca..Zr (all 3d metals: the usual hard
#: X-ray K edges of battery cathodes) and, only when no K edge fits, L3 edges of Cs..U.
K_EDGE_Z = (20, 40)
L3_EDGE_Z = (55, 92)
#: Accepted E0 - E_tab window (eV) for the guess. Chemical shifts are positive (up to
#: ~+20 eV for Mn4+ at the max-derivative point); uncalibrated beamlines can sit a
#: few eV low (fe.060: -6.5 eV).
GUESS_WINDOW_EV = (-12.0, 30.0)


def normalize_element(symbol) -> str | None:
    """Return a canonical element symbol (``"ni"`` -> ``"Ni"``) or None if not an element."""
    if symbol is None:
        return None
    s = str(symbol).strip()
    if s.isdigit() and 0 < int(s) < len(SYMBOLS):
        return SYMBOLS[int(s)]
    s = s[:1].upper() + s[1:].lower()
    return s if s in SYMBOLS[1:] else None


def normalize_edge(edge) -> str | None:
    """Return a canonical edge name (``"k"`` -> ``"K"``, ``"L-III"`` -> ``"L3"``) or None."""
    if edge is None:
        return None
    e = re.sub(r"[\s_\-]", "", str(edge)).upper()
    e = {"LIII": "L3", "LII": "L2", "LI": "L1", "MV": "M5", "MIV": "M4", "MIII": "M3",
         "MII": "M2", "MI": "M1"}.get(e, e)
    return e if e in EDGES else None


def tabulated_edge_energy(element: str, edge: str = "K") -> float:
    """Tabulated absorption-edge energy.

    Parameters
    ----------
    element : str
        Element symbol (case-insensitive) or atomic number.
    edge : str
        Edge name: ``"K"``, ``"L1"``, ``"L2"``, ``"L3"``, ``"M1"``...``"M5"``. Default is ``"K"``.

    Returns
    -------
    float
        Edge energy in eV (Mn K 6539.0, Fe K 7112.0, Ni K 8333.0).

    Raises
    ------
    InputError
        Unknown element or edge.

    References
    ----------
    xraydb (W. T. Elam, B. D. Ravel, J. R. Sieber, Radiat. Phys. Chem. 63, 121 (2002),
    doi:10.1016/S0969-806X(01)00227-4), https://xraypy.github.io/XrayDB/

    Examples
    --------
    >>> tabulated_edge_energy("ni")
    8333.0
    """
    sym = normalize_element(element)
    ed = normalize_edge(edge)
    if sym is None:
        raise InputError(f"element={element!r} is not an element symbol")
    if ed is None:
        raise InputError(f"edge={edge!r} is not an edge name; expected one of {', '.join(EDGES)}")
    energy = _edge_table().get((sym, ed))
    if energy is None:
        raise InputError(f"xraydb has no {ed} edge for {sym}")
    return energy


@functools.lru_cache(maxsize=1)
def _edge_table() -> dict[tuple[str, str], float]:
    import xraydb

    table = {}
    for z in range(1, len(SYMBOLS)):
        for name, edge in xraydb.xray_edges(SYMBOLS[z]).items():
            if name in EDGES:
                table[(SYMBOLS[z], name)] = float(edge.energy)
    return table


#: Gaussian smoothing of dμ/dE in :func:`estimate_e0` (eV): a few points of a fine
#: XANES step, enough to stop single-point noise from winning.
E0_SMOOTH_EV = 0.5


def estimate_e0(energy, mu) -> float:
    """Rough edge position: maximum of dμ/dE smoothed with a 0.5 eV Gaussian.

    μ is interpolated onto a uniform grid (step: the finest energy step, at least
    0.05 eV), differentiated and smoothed; the result is read back at the measured
    energies and the steepest point whose two neighbours are also steep (above 60 %
    of the derivative's range, as in larch) is taken,
    away from the first and last 5 % of the energy range (glitches at scan ends).

    Parameters
    ----------
    energy : ndarray of shape (M,)
        Increasing energies in eV.
    mu : ndarray of shape (M,)
        Absorption.

    Returns
    -------
    float
        Estimated E0 in eV: a measured energy (NaN if fewer than 7 finite points).

    References
    ----------
    Same criterion as larch ``find_e0`` (max of dμ/dE), without its glitch logic;
    within 0.5 eV of it on the reference files in the shared reference data (``reference_spectra/xanes_standards``).
    """
    e = np.asarray(energy, dtype=float)
    m = np.asarray(mu, dtype=float)
    ok = np.isfinite(e) & np.isfinite(m)
    e, m = e[ok], m[ok]
    if e.size < 7 or e[-1] <= e[0]:
        return float("nan")
    steps = np.diff(e)
    step = max(0.05, float(np.min(steps[steps > 0])), (e[-1] - e[0]) / 200000.0)
    grid = np.arange(e[0], e[-1], step)
    d = np.gradient(np.interp(grid, e, m), step)
    half = int(np.ceil(3 * E0_SMOOTH_EV / step))
    kernel = np.exp(-0.5 * ((np.arange(-half, half + 1) * step) / E0_SMOOTH_EV) ** 2)
    d = np.convolve(d, kernel / kernel.sum(), mode="same")
    ds = np.interp(e, grid, d)
    lo, hi = e[0] + 0.05 * (e[-1] - e[0]), e[-1] - 0.05 * (e[-1] - e[0])
    inside = np.flatnonzero((e >= lo) & (e <= hi))
    inside = inside[(inside > 0) & (inside < e.size - 1)]
    if inside.size == 0:
        return float("nan")
    # As larch find_e0: the maximum only counts if both neighbours are also "high"
    # (above 60 % of the derivative's range), which passes over one-point glitches.
    dmin, dptp = ds[inside].min(), max(float(np.ptp(ds[inside])), 1e-30)
    norm = (ds - dmin) / dptp
    for thresh in (0.6, 0.3, 0.15):
        ok = inside[(norm[inside - 1] > thresh) & (norm[inside + 1] > thresh)]
        if ok.size:
            break
    else:
        ok = inside
    i = int(ok[np.argmax(ds[ok])])
    return float(e[i])


@functools.lru_cache(maxsize=1)
def _candidates() -> tuple[tuple[str, str, float], ...]:
    table = _edge_table()
    out = [(SYMBOLS[z], "K", table[(SYMBOLS[z], "K")]) for z in range(K_EDGE_Z[0], K_EDGE_Z[1] + 1)]
    out += [(SYMBOLS[z], "L3", table[(SYMBOLS[z], "L3")])
            for z in range(L3_EDGE_Z[0], L3_EDGE_Z[1] + 1) if (SYMBOLS[z], "L3") in table]
    return tuple(out)


def guess_edge(energy, mu, *, element: str | None = None, edge: str | None = None
               ) -> tuple[str | None, str | None, float, str]:
    """Guess the absorbing element and/or edge from the edge position.

    With neither known, K edges of Z = 20..40 are tried first: the one whose
    tabulated energy lies in :data:`GUESS_WINDOW_EV` around the estimated E0
    (E0 - E_tab between -12 and +30 eV) and is nearest wins. Only if no K edge fits
    are L3 edges of Z = 55..92 tried with the same window. A known ``element``
    restricts the search to its K/L1/L2/L3 edges; a known ``edge`` to that edge of
    every element.

    Parameters
    ----------
    energy, mu : ndarray of shape (M,)
        Spectrum (energy in eV, increasing).
    element, edge : str, optional
        What the header did say. Default None (unknown).

    Returns
    -------
    element, edge : str or None
        The completed pair, or (None, None) when nothing fits.
    e0_eV : float
        The estimated E0 used.
    message : str
        What was guessed and from what (to record in ``Spectrum.warnings``).
    """
    e0 = estimate_e0(energy, mu)
    if not np.isfinite(e0):
        return None, None, e0, "element/edge not in the header and too few points to guess them"
    lo, hi = GUESS_WINDOW_EV
    el, ed = normalize_element(element), normalize_edge(edge)
    if el is not None:
        families = [[(el, name, et) for (sym, name), et in _edge_table().items()
                     if sym == el and name in ("K", "L1", "L2", "L3")]]
    elif ed is not None:
        families = [[(sym, name, et) for (sym, name), et in _edge_table().items() if name == ed]]
    else:
        families = [[c for c in _candidates() if c[1] == "K"], [c for c in _candidates() if c[1] == "L3"]]
    for cands in families:
        fits = [(abs(e0 - et), sym, name, et) for sym, name, et in cands if lo <= e0 - et <= hi]
        if fits:
            _, sym, name, et = min(fits)
            return sym, name, e0, (f"{'edge' if el else 'element' if ed else 'element/edge'} not in "
                                   f"the header; guessed {sym} {name} from the edge position "
                                   f"(E0 ~ {e0:.1f} eV, tabulated {et:.1f} eV)")
    return el, ed, e0, (f"element/edge not (fully) in the header and no edge of the candidates "
                        f"(K: Z {K_EDGE_Z[0]}-{K_EDGE_Z[1]}, L3: Z {L3_EDGE_Z[0]}-{L3_EDGE_Z[1]}) "
                        f"lies within {lo:+.0f}/{hi:+.0f} eV of the estimated E0 {e0:.1f} eV")
