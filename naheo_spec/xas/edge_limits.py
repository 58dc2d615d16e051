"""Where the EXAFS of one edge must stop: the next absorption edge of the sample.

An EXAFS scan measures the total absorption. Above the absorber's edge, the edges of
the other elements of the sample add steps to mu(E): in Na(Li,Ni,Cu,Fe,Mn)O2 the Fe K
edge (7112 eV) sits 12.3 A^-1 above the Mn K edge and the Cu K edge (8979 eV) 13.0 A^-1
above the Ni K edge. Past such a step chi(k) is no longer the absorber's: the AUTOBK
spline tries to follow the step, and a Fourier transform over it puts a broad
artefact in chi(R). This module finds the limit in two ways:

* :func:`composition_limit` -- from the composition: the first tabulated edge of an
  element of the sample above the absorber's edge, weighted by the size of the step
  it gives (from the tabulated cross-sections, Elam et al. 2002); the k range stops
  :data:`NEXT_EDGE_MARGIN_EV` below it (pre-edge features start ~10 eV below the
  tabulated edge).
* :func:`find_mu_steps` -- from the data alone: a persistent jump of the normalized
  mu(E) in the EXAFS range. The normalized mu is put on a uniform k grid and averaged
  with a triangular window 1.5 A^-1 wide (one period of a first-shell oscillation),
  and the step statistic ``J(k) = 2 (R - L) - (FR - FL)`` compares the averages just
  right (R) and left (L) of k with those one window further out (FR, FL): it is the
  step height for a step at k and zero for any quadratic trend in k (an imperfect
  post-edge normalization), while single-point glitches are averaged away. EXAFS
  oscillations leak into J mostly at low k, so a step is reported where
  ``J > max(STEP_MIN, STEP_LOW_K_SCALE / k^3)``, a threshold set on 48 real
  spectra of the shared data set without a second edge (largest false J 0.21 at
  k = 5.35 A^-1, Ni2O3) and checked on an Mn spectrum with a real Fe step (CERIC MnO,
  J = 0.07 at k = 12.4 A^-1) and on spliced Fe edges down to 2 % of the Mn step.

References
----------
W. T. Elam, B. D. Ravel, J. R. Sieber, Radiat. Phys. Chem. 63, 121 (2002),
doi:10.1016/S0969-806X(01)00227-4 (edge energies and cross-sections, via xraydb);
G. Bunker, *Introduction to XAFS* (Cambridge University Press, 2010), sect. 3.6
(sample preparation: edges of other elements inside the EXAFS range).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import DefaultAdjustedWarning, InputError, QualityWarning
from naheo_spec.xas.autobk import KTOE
from naheo_spec.xas.edges import EDGES, normalize_edge, normalize_element, tabulated_edge_energy

__all__ = ["EdgeLimit", "StepFound", "next_edges", "composition_limit", "find_mu_steps",
           "step_limit", "NEXT_EDGE_MARGIN_EV", "STEP_MARGIN_EV", "MIN_RELATIVE_STEP",
           "NEXT_EDGE", "MU_STEP"]

#: The k range stops this far below a tabulated next edge, eV (its pre-edge rises first).
NEXT_EDGE_MARGIN_EV = 15.0
#: ...and this far below the centre of a step found in the data, eV.
STEP_MARGIN_EV = 25.0
#: Edges giving a step below this fraction of the absorber's step are ignored.
MIN_RELATIVE_STEP = 0.002
#: Step statistic: smallest reported step (fraction of the edge step) and the low-k
#: threshold scale (J must exceed STEP_LOW_K_SCALE / k^3, k in A^-1).
STEP_MIN = 0.02
STEP_LOW_K_SCALE = 40.0
#: Width of the triangular averaging window of the step statistic, A^-1.
STEP_WINDOW_INVA = 1.5
#: Edges within this energy of a step found in the data are named as candidates, eV.
STEP_MATCH_EV = 30.0

NEXT_EDGE = WarningCode(
    "xas.exafs.next_edge", DefaultAdjustedWarning,
    "The EXAFS k range was stopped before the absorption edge of another element of the "
    "sample (or a higher edge of the absorber).")
MU_STEP = WarningCode(
    "xas.exafs.mu_step", QualityWarning,
    "A step in mu(E) inside the EXAFS range (the edge of another element?); the k range "
    "was stopped before it.")


@dataclass(frozen=True)
class EdgeLimit:
    """An upper limit of the usable k range.

    Attributes
    ----------
    element, edge : str
        The edge that limits the range (``"Fe"``, ``"K"``); ``"?"`` for an
        unidentified step.
    energy_eV : float
        Its energy (tabulated edge, or the centre of the step found), eV.
    k_edge_invA : float
        k of that energy from the absorber's E0, A^-1.
    kmax_invA : float
        Where the k range must stop (``margin_eV`` below the edge), A^-1.
    relative_step : float
        Expected (composition) or measured (data) step as a fraction of the absorber's
        edge step.
    source : str
        ``"composition"`` or ``"data"``.
    candidates : tuple of str
        For a step found in the data: tabulated edges near it (``"Fe K 7112 eV"``).
    """

    element: str
    edge: str
    energy_eV: float
    k_edge_invA: float
    kmax_invA: float
    relative_step: float
    source: str
    candidates: tuple[str, ...] = ()

    def describe(self, absorber: str | None = None, e0: float | None = None) -> str:
        """One sentence saying where the range stops and why."""
        what = f"{absorber} " if absorber else ""
        if self.source == "composition":
            return (f"the {what}EXAFS k range stops at {self.kmax_invA:.2f} A^-1, "
                    f"{NEXT_EDGE_MARGIN_EV:g} eV below the {self.element} {self.edge} edge "
                    f"({self.energy_eV:.0f} eV, k = {self.k_edge_invA:.2f} A^-1"
                    + (f" from E0 = {e0:.1f} eV" if e0 is not None else "")
                    + f"): {self.element} is in the sample and its edge adds a step of "
                    f"~{100 * self.relative_step:.0f} % of the edge step to mu(E)")
        cand = (", near the " + " / ".join(self.candidates)) if self.candidates else ""
        return (f"a step of {100 * self.relative_step:.1f} % of the edge step in mu(E) at "
                f"{self.energy_eV:.0f} eV (k = {self.k_edge_invA:.2f} A^-1){cand}: the "
                f"{what}EXAFS k range stops at {self.kmax_invA:.2f} A^-1; give the "
                "composition (--composition) to name the element, or check the sample "
                "and the beamline for it")


def _k_of(energy, e0) -> float:
    return float(np.sqrt(max(float(energy) - float(e0), 0.0) / KTOE))


def _edge_jump(element: str, edge: str, energy: float) -> float:
    """Jump of the atomic cross-section at an edge, cm^2 per atom (x 1e24, barn-like)."""
    import xraydb

    mass = xraydb.atomic_mass(element)
    above = float(xraydb.mu_elam(element, energy + 1.0))
    below = float(xraydb.mu_elam(element, energy - 1.0))
    return (above - below) * mass


def next_edges(element: str, edge: str, composition: Mapping[str, float], *,
               emax_eV: float | None = None) -> list[tuple[str, str, float, float]]:
    """Edges of the sample's elements above the absorber's edge, nearest first.

    Parameters
    ----------
    element, edge : str
        Absorber and edge (``"Mn"``, ``"K"``).
    composition : mapping of str to float
        Amount of each element (e.g. from :func:`naheo_spec.chemistry.parse_formula`).
        The absorber's own higher edges count too (L2 above an L3 edge).
    emax_eV : float, optional
        Ignore edges above this energy. Default None: no limit.

    Returns
    -------
    list of (element, edge, energy_eV, relative_step)
        ``relative_step`` is the step that edge adds to mu(E) as a fraction of the
        absorber's edge step (amounts times tabulated cross-section jumps).

    Raises
    ------
    InputError
        Unknown absorber, edge, or an absorber missing from the composition.

    References
    ----------
    Elam et al., Radiat. Phys. Chem. 63, 121 (2002), doi:10.1016/S0969-806X(01)00227-4.

    Examples
    --------
    >>> comp = {"Na": 0.95, "Li": 0.06, "Ni": 0.25, "Cu": 0.05, "Fe": 0.15, "Mn": 0.49, "O": 2}
    >>> el, ed, e, rel = next_edges("Mn", "K", comp)[0]
    >>> el, ed, e, 0.2 < rel < 0.35
    ('Fe', 'K', 7112.0, True)
    """
    import xraydb

    ab = normalize_element(element)
    ed = normalize_edge(edge)
    if ab is None or ed is None:
        raise InputError(f"absorber {element!r} {edge!r}: expected an element symbol and an "
                         f"edge ({', '.join(EDGES)})", parameter="element")
    comp = {normalize_element(k): float(v) for k, v in composition.items()}
    if ab not in comp or comp[ab] <= 0:
        raise InputError(f"composition {dict(composition)} does not contain the absorber {ab}",
                         parameter="composition")
    e_abs = tabulated_edge_energy(ab, ed)
    jump_abs = comp[ab] * _edge_jump(ab, ed, e_abs)
    out = []
    for el, amount in comp.items():
        if el is None or amount <= 0:
            continue
        for name, info in xraydb.xray_edges(el).items():
            e = float(info.energy)
            if name not in EDGES or e <= e_abs + 1.0 or (emax_eV is not None and e > emax_eV):
                continue
            rel = amount * _edge_jump(el, name, e) / jump_abs
            out.append((el, name, e, float(rel)))
    return sorted(out, key=lambda t: t[2])


def composition_limit(e0_eV: float, element: str, edge: str,
                      composition: Mapping[str, float], *,
                      margin_eV: float = NEXT_EDGE_MARGIN_EV,
                      min_relative_step: float = MIN_RELATIVE_STEP) -> EdgeLimit | None:
    """The first edge of the sample above the absorber's that limits the EXAFS range.

    Parameters
    ----------
    e0_eV : float
        The absorber's E0 (k = 0), eV.
    element, edge : str
        Absorber and edge.
    composition : mapping of str to float
        Amount of each element.
    margin_eV : float
        Stop this far below the tabulated next edge, eV. Default is 15.
    min_relative_step : float
        Ignore edges whose step is below this fraction of the absorber's. Default 0.002.

    Returns
    -------
    EdgeLimit or None
        None when no element of the sample has an edge above the absorber's.

    References
    ----------
    Elam et al., Radiat. Phys. Chem. 63, 121 (2002), doi:10.1016/S0969-806X(01)00227-4.

    Examples
    --------
    Ni K EXAFS of the target cathode stops before the Cu K edge:

    >>> comp = {"Na": 0.95, "Li": 0.06, "Ni": 0.25, "Cu": 0.05, "Fe": 0.15, "Mn": 0.49, "O": 2}
    >>> lim = composition_limit(8345.0, "Ni", "K", comp)
    >>> lim.element, round(lim.k_edge_invA, 1), round(lim.kmax_invA, 1)
    ('Cu', 12.9, 12.7)
    """
    for el, ed, e, rel in next_edges(element, edge, composition):
        if rel >= min_relative_step:
            return EdgeLimit(el, ed, e, _k_of(e, e0_eV), _k_of(e - margin_eV, e0_eV), rel,
                             "composition")
    return None


@dataclass(frozen=True)
class StepFound:
    """A step in mu(E) found by :func:`find_mu_steps`.

    Attributes
    ----------
    energy_eV, k_invA : float
        Centre of the step, eV and A^-1 from E0.
    height : float
        Step height (fraction of the edge step).
    threshold : float
        The detection threshold at that k.
    """

    energy_eV: float
    k_invA: float
    height: float
    threshold: float


def _moving_average(y, n):
    """Mean of each run of n consecutive columns of y (N, K) -> (N, K - n + 1)."""
    c = np.cumsum(np.pad(y, ((0, 0), (1, 0))), axis=1)
    return (c[:, n:] - c[:, :-n]) / n


def _step_statistic(k_grid, y, dk, width):
    """J on ``k_grid`` (NaN where the windows do not fit), for rows of y (N, K)."""
    nb = max(int(round(width / dk / 2)), 1)
    out = np.full(y.shape, np.nan)
    if y.shape[1] < 2 * nb - 1:
        return out
    # triangular moving average (a box of nb points applied twice), centred at index + half
    tri = _moving_average(_moving_average(y, nb), nb)
    n = tri.shape[1]
    half = nb - 1
    off = half + 1
    m = n - 4 * off
    if m <= 0:
        return out
    i = np.arange(m) + 2 * off
    fl, lo, hi, fr = tri[:, i - 2 * off], tri[:, i - off], tri[:, i + off], tri[:, i + 2 * off]
    out[:, i + half] = 2 * (hi - lo) - (fr - fl)
    return out


def find_mu_steps(energy, norm, e0, *, kmin: float = 4.0, dk: float = 0.05,
                  width: float = STEP_WINDOW_INVA, step_min: float = STEP_MIN,
                  low_k_scale: float = STEP_LOW_K_SCALE) -> list[StepFound | None]:
    """The first step in the normalized mu(E) of each spectrum inside its EXAFS range.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Energy, eV.
    norm : array-like, shape (M,) or (N, M)
        Normalized mu(E) (edge step 1), one spectrum per row.
    e0 : float or array-like of shape (N,)
        E0 of each spectrum, eV.
    kmin : float
        Search from this k, A^-1 (the XANES region is not searched). Default is 4.
    dk : float
        Step of the uniform k grid, A^-1. Default is 0.05.
    width : float
        Width of the triangular averaging window, A^-1. Default is 1.5.
    step_min : float
        Smallest reported step, fraction of the edge step. Default is 0.02.
    low_k_scale : float
        The threshold is ``max(step_min, low_k_scale / k**3)``. Default is 40.

    Returns
    -------
    list of StepFound or None
        One entry per spectrum: the lowest-k local maximum of J above the threshold
        (None when there is none or the data are too short to test, i.e. end below
        kmin + ~4.5 A^-1). Steps within ~2.3 A^-1 of the end of the data cannot be
        tested.

    Raises
    ------
    InputError
        Mismatched shapes.

    References
    ----------
    See the module docstring.

    Examples
    --------
    A 5 % step at k = 11 A^-1 on a damped oscillation:

    >>> e0 = 7000.0
    >>> e = e0 + KTOE * np.arange(0.5, 16.0, 0.05) ** 2
    >>> k = np.sqrt((e - e0) / KTOE)
    >>> norm = 1 + 0.3 * np.sin(4.2 * k) * np.exp(-0.02 * k ** 2) / k + 0.05 * (k > 11)
    >>> step, = find_mu_steps(e, norm, e0)
    >>> bool(abs(step.k_invA - 11.0) < 0.1), round(step.height, 2)
    (True, 0.05)
    """
    energy = np.asarray(energy, dtype=float)
    norm = np.atleast_2d(np.asarray(norm, dtype=float))
    if norm.shape[1] != energy.size:
        raise InputError(f"norm has {norm.shape[1]} points, energy {energy.size}")
    e0 = np.broadcast_to(np.asarray(e0, dtype=float), (norm.shape[0],))
    out: list[StepFound | None] = [None] * norm.shape[0]
    usable = np.isfinite(e0) & np.all(np.isfinite(norm), axis=1)
    # rows with the same E0 share their k grid: one interpolation and one pass for all
    for value in np.unique(e0[usable]):
        rows = np.flatnonzero(usable & (e0 == value))
        kk = np.sqrt(np.clip(energy - value, 0.0, None) / KTOE)
        if kk[-1] <= kmin:
            continue
        grid = np.arange(kmin, kk[-1], dk)
        j = np.clip(np.searchsorted(kk, grid, side="right") - 1, 0, kk.size - 2)
        w = np.clip((grid - kk[j]) / np.where(kk[j + 1] > kk[j], kk[j + 1] - kk[j], 1.0), 0, 1)
        y = norm[rows][:, j] * (1 - w) + norm[rows][:, j + 1] * w
        stat = _step_statistic(grid, y, dk, width)
        thr = np.maximum(step_min, low_k_scale / grid ** 3)
        over = np.isfinite(stat) & (stat > thr)
        for r, row_over, row_stat in zip(rows, over, stat):
            if not row_over.any():
                continue
            first = int(np.argmax(row_over))
            run_end = first + (int(np.argmin(row_over[first:])) if not row_over[first:].all()
                               else row_over.size - first) - 1
            peak = first + int(np.nanargmax(row_stat[first:run_end + 1]))
            out[r] = StepFound(float(value + KTOE * grid[peak] ** 2), float(grid[peak]),
                               float(row_stat[peak]), float(thr[peak]))
    return out


def step_limit(step: StepFound, e0_eV: float, *, margin_eV: float = STEP_MARGIN_EV,
               match_eV: float = STEP_MATCH_EV) -> EdgeLimit:
    """Turn a step found in the data into an :class:`EdgeLimit`, naming nearby edges.

    Parameters
    ----------
    step : StepFound
        From :func:`find_mu_steps`.
    e0_eV : float
        E0 of the spectrum, eV.
    margin_eV : float
        Stop this far below the step centre, eV. Default is 25.
    match_eV : float
        Tabulated K and L3 edges (Z 19-92) within this distance of the step are listed as
        candidates, nearest first (at most 3). Default is 30.

    Returns
    -------
    EdgeLimit
        With ``source="data"``.

    References
    ----------
    Elam et al., Radiat. Phys. Chem. 63, 121 (2002), doi:10.1016/S0969-806X(01)00227-4.

    Examples
    --------
    A step at 7124 eV in a Mn K spectrum (E0 6543 eV) is named as the Fe K edge and stops
    the range 25 eV below it:

    >>> lim = step_limit(StepFound(7124.0, 12.35, 0.04, 0.02), 6543.0)
    >>> lim.candidates[0], round(lim.kmax_invA, 2)
    ('Fe K 7112 eV', 12.08)
    """
    from naheo_spec.xas.edges import SYMBOLS

    near = []
    for z in range(19, 93):
        for ed in ("K", "L3"):
            try:
                e = tabulated_edge_energy(SYMBOLS[z], ed)
            except InputError:
                continue
            if abs(e - step.energy_eV) <= match_eV:
                near.append((abs(e - step.energy_eV), f"{SYMBOLS[z]} {ed} {e:.0f} eV"))
    names = tuple(name for _, name in sorted(near)[:3])
    return EdgeLimit("?", "?", step.energy_eV, step.k_invA,
                     _k_of(step.energy_eV - margin_eV, e0_eV), step.height, "data", names)
