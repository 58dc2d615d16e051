"""Energy calibration of an XAS scan against a reference metal foil.

A metal foil measured with the sample (the "reference" channel, or a separate
foil scan taken in the same session) fixes the monochromator energy scale: the
foil's edge position, by convention its maximum-derivative E0, is moved onto the
tabulated edge energy, and the same shift is applied to the sample.

The shift is only as good as the foil. Reference channels that are *not* a foil
exist in public data (the XAS Data Library Mn files use a "Mn filter" whose edge
sits 5-7 eV above the metal edge, the Ni(OH)2 files a channel at 8345.5 eV).
Calibrating against them silently moves every edge by several eV, so a foil
whose E0 lies further than ``max_offset_eV`` from the tabulated edge is rejected:
:func:`calibrate_energy` raises :class:`~naheo_spec.errors.CalibrationError`
(``strict=True``) or returns a calibration with ``shift_eV=None`` and a
:class:`~naheo_spec.errors.QualityWarning` (``strict=False``). It never returns a
shift it does not trust.

References
----------
.. [1] J. A. Bearden and A. F. Burr, "Reevaluation of X-ray atomic energy levels",
   Rev. Mod. Phys. 39, 125 (1967), doi:10.1103/RevModPhys.39.125 (the xraydb edge table).
.. [2] S. Kraft et al., "High resolution x-ray absorption spectroscopy with absolute
   energy calibration for the determination of absorption edge energies",
   Rev. Sci. Instrum. 67, 681 (1996), doi:10.1063/1.1146657.
.. [3] B. Ravel and M. Newville, "ATHENA, ARTEMIS, HEPHAESTUS", J. Synchrotron Rad.
   12, 537 (2005), doi:10.1107/S0909049505012719 (foil alignment in Athena).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningCode, warnings_json
from naheo_spec.errors import CalibrationError, InputError, NaheoError, QualityWarning
from naheo_spec.provenance import Provenance
from naheo_spec.validation import check_xy
from naheo_spec.xas.edges import tabulated_edge_energy  # re-exported: part of this API

#: Largest |foil E0 - tabulated edge| (eV) accepted as a metal foil. Real foils sit
#: within ~1.5 eV (Kraft et al. 1996; measured 8331.5-8332.9 eV for Ni, 7110.8-7112.0 eV
#: for Fe); the XDL "Mn filter" channels sit 5.3-7.0 eV above the Mn edge.
DEFAULT_MAX_OFFSET_EV = 5.0

#: E0 definition used on foils: Athena and larch align foils on the derivative maximum.
DEFAULT_FOIL_E0_METHOD = "max-derivative"


FOIL_DISABLED = WarningCode("xas.foil.disabled", QualityWarning,
                            "Foil calibration switched off (foil=False): energies as measured.")
FOIL_NONE = WarningCode("xas.foil.none", QualityWarning,
                        "No foil (no reference channel, no foil scan): the energy scale is not "
                        "calibrated.")
FOIL_ELEMENT_UNKNOWN = WarningCode("xas.foil.element_unknown", QualityWarning,
                                   "The element is unknown: the energy was not calibrated.")
FOIL_UNUSABLE = WarningCode("xas.foil.unusable", QualityWarning,
                            "The reference channel has too few finite points to calibrate.")
FOIL_REJECTED = WarningCode(
    "xas.foil.rejected", QualityWarning,
    "The reference channel is not a usable foil of this element (E0 too far from the "
    "tabulated edge, no edge, inverted); the energy scale was NOT calibrated.")


@dataclass(frozen=True)
class EnergyCalibration:
    """Result of a foil calibration.

    Attributes
    ----------
    shift_eV : float or None
        Shift to add to the measured energies (eV): ``tabulated_e0_eV - foil_e0_eV``.
        None when the reference was rejected (not a foil); see ``warnings``.
    foil_e0_eV : float or None
        Foil edge position on the measured energy scale (eV); None if it could not be found.
    tabulated_e0_eV : float
        Tabulated edge energy of ``element``/``edge`` (eV, xraydb / Bearden-Burr).
    element, edge : str
        Absorber and edge the foil was compared with.
    method : str
        E0 method used on the foil.
    max_offset_eV : float
        Largest accepted |foil E0 - tabulated| (eV).
    warnings : tuple of str
        Why the foil was rejected or questionable.
    provenance : Provenance
        Step ``"xas.calibrate_energy"`` with every parameter used.
    shift_err_eV : float or None
        Uncertainty of the shift (eV): the robust foil-E0 error of :func:`foil_rows` (the
        flat top of the foil's derivative, at least the grid quantum). None when rejected.
    """

    shift_eV: float | None
    foil_e0_eV: float | None
    tabulated_e0_eV: float
    element: str
    edge: str
    method: str
    max_offset_eV: float
    warnings: tuple[str, ...]
    provenance: Provenance
    shift_err_eV: float | None = None

    @property
    def valid(self) -> bool:
        """True when the foil was accepted and ``shift_eV`` can be applied."""
        return self.shift_eV is not None

    def apply(self, energy) -> np.ndarray:
        """Return ``energy + shift_eV`` (eV).

        Raises
        ------
        CalibrationError
            If the foil was rejected (``shift_eV`` is None).
        """
        if self.shift_eV is None:
            raise CalibrationError(
                "energy calibration was rejected and cannot be applied: "
                + "; ".join(w.message for w in self.warnings))
        return np.asarray(energy, dtype=float) + self.shift_eV

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe summary (None stays None)."""
        return {
            "element": self.element, "edge": self.edge, "method": self.method,
            "shift_eV": self.shift_eV, "shift_err_eV": self.shift_err_eV,
            "foil_e0_eV": self.foil_e0_eV,
            "tabulated_e0_eV": self.tabulated_e0_eV, "max_offset_eV": self.max_offset_eV,
            "valid": self.valid, "warnings": warnings_json(self.warnings),
            "foil_file": self.provenance.source_file,
            "foil_sha256": self.provenance.source_sha256,
            "foil_scan": self.provenance.parameters.get("foil_scan"),
        }

    def to_record(self, name: str | None = None):
        """Return a :class:`~naheo_spec.records.Record` (summary only, no arrays)."""
        from naheo_spec.records import Record

        return Record(name=name or f"{self.element}_{self.edge}_foil_calibration",
                      kind="energy_calibration", summary=self.to_json_dict(),
                      provenance=self.provenance)


FOIL_NEAR_EDGE = WarningCode(
    "xas.foil.searched_near_edge", QualityWarning,
    "The reference channel's steepest edge is not the foil's (another edge seen through the "
    "foil); the foil edge was found near the tabulated edge instead.")

#: Fraction of the derivative maximum within which a foil's derivative counts as flat at
#: the top (the "plateau" of :func:`foil_rows`): the heights of the derivative points of
#: one foil change by several per cent between scans (grid offset, harmonics, resolution),
#: so the max-derivative E0 can land anywhere on the points within this fraction of the
#: maximum. Measured on the ten NiO.prj Ni foils, which sit at one energy once their Athena
#: eshift is applied: with 7.5 % their E0s scatter as their errors say (chi2/dof 1.08;
#: 1.8 at 5 %, 0.5 at 10 %).
PLATEAU_FRACTION = 0.075
#: Half-width of the window searched near the tabulated edge when the channel's steepest
#: edge lies too far from it: ``max_offset_eV`` plus this margin (eV).
NEAR_EDGE_MARGIN_EV = 2.0
#: Fewer finite points than this: the reference channel is not used.
MIN_FOIL_POINTS = 10

OK, FEW, CONSTANT, NO_EDGE, FAR, INVERTED = range(6)


@dataclass(frozen=True, eq=False)
class FoilRows:
    """Foil edge positions of N reference rows (:func:`foil_rows`).

    Attributes
    ----------
    e0 : ndarray of shape (N,)
        Foil E0 on the measured energy scale (eV); NaN where none was found.
    err : ndarray of shape (N,)
        Its robust uncertainty (eV), see :func:`foil_rows`; NaN where not accepted.
    status : ndarray of int, shape (N,)
        ``OK`` (0), ``FEW`` (too few finite points), ``CONSTANT``, ``NO_EDGE``, ``FAR``
        (more than ``max_offset_eV`` from the tabulated edge), ``INVERTED``.
    searched_near : ndarray of bool, shape (N,)
        True where the steepest edge of the channel was elsewhere and the foil's edge
        was found near the tabulated edge.
    global_e0 : ndarray of shape (N,)
        E0 of the steepest edge of the whole channel (eV).
    n_finite : ndarray of int, shape (N,)
    tab, max_offset, method, element, edge
        What the rows were judged against.
    """

    e0: np.ndarray
    err: np.ndarray
    status: np.ndarray
    searched_near: np.ndarray
    global_e0: np.ndarray
    n_finite: np.ndarray
    tab: float
    max_offset: float
    method: str
    element: str
    edge: str

    @property
    def accepted(self) -> np.ndarray:
        return self.status == OK

    def problem(self, i: int) -> str:
        """Why row ``i`` is not a usable foil (the text of the rejection message)."""
        st, e0 = int(self.status[i]), float(self.e0[i])
        if st == FEW:
            return f"reference channel has only {int(self.n_finite[i])} finite points"
        if st == CONSTANT:
            return "the channel is constant (no edge)"
        if st == NO_EDGE:
            return "no edge found in the channel (E0 is not finite)"
        if st == FAR:
            return (f"its {self.method} E0 is {e0:.2f} eV, {e0 - self.tab:+.2f} eV from the "
                    f"tabulated {self.element} {self.edge} edge {self.tab:.2f} eV (limit "
                    f"±{self.max_offset:g} eV): not a {self.element} foil (e.g. a filter or "
                    "another sample; a real foil on an uncalibrated beamline needs a larger "
                    "max_offset_eV / --max-foil-offset)")
        if st == INVERTED:
            return (f"the channel does not rise at its E0 {e0:.2f} eV (inverted or not an "
                    "absorption edge)")
        return ""

    def near_note(self, i: int) -> str:
        """The :data:`FOIL_NEAR_EDGE` message of row ``i``."""
        return (f"the reference channel's steepest edge ({self.global_e0[i]:.2f} eV) lies "
                f"{self.global_e0[i] - self.tab:+.1f} eV from the tabulated {self.element} "
                f"{self.edge} edge (another edge seen through the foil?); the foil edge was "
                f"taken near the tabulated edge, at {self.e0[i]:.2f} eV")


def _rises(energy: np.ndarray, refs: np.ndarray, e0: np.ndarray) -> np.ndarray:
    """True where a row is higher 10-40 eV above its ``e0`` than 10-40 eV below it (an edge);
    rows without data on both sides count as rising (the offset test still applies)."""
    out = np.ones(e0.size, dtype=bool)
    for u in np.unique(e0[np.isfinite(e0)]):       # the windows depend on E0 alone
        k = np.flatnonzero(e0 == u)
        below = (energy > u - 40.0) & (energy < u - 10.0)
        above = (energy > u + 10.0) & (energy < u + 40.0)
        if below.any() and above.any():
            out[k] = refs[np.ix_(k, above)].mean(axis=1) > refs[np.ix_(k, below)].mean(axis=1)
    return out


def _edge_e0(energy, refs, method) -> np.ndarray:
    """E0 of each row by ``method`` (vectorized for the derivative methods)."""
    from naheo_spec.xas.edge_derivative import larch_e0_rows

    if method in ("max-derivative", "zero-second-derivative"):
        res = larch_e0_rows(energy, refs, want_d2=method == "zero-second-derivative")
        return res[0] if method == "max-derivative" else res[2]
    from naheo_spec.xas.e0 import find_e0

    out = np.full(refs.shape[0], np.nan)
    for i, row in enumerate(refs):                 # fitted methods: one spectrum at a time
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out[i] = find_e0(energy, row, method=method, uncertainty=False).e0_eV
            except NaheoError:
                pass
    return out


def _plateau_err(energy, refs, e0, sigma) -> np.ndarray:
    """Robust uncertainty of a derivative-maximum foil E0 (eV), vectorized over rows.

    The central-difference derivative is taken around each E0; the contiguous run of
    points around the largest value within two points of E0 whose derivative stays
    within ``max(PLATEAU_FRACTION, 2 sigma_d / d_max)`` of that maximum is the plateau on
    which the maximum can land (``sigma_d``: the derivative's noise). The E0 is taken as
    uniformly distributed over the plateau's width (its points plus one grid step):
    ``width / sqrt(12)``. One peaked maximum gives the grid quantum ``step / sqrt(12)``; two
    near-equal maxima next to each other give the width they span, not the several eV a
    bootstrap gives when it jumps between distant maxima.
    """
    from naheo_spec.numerics.polyfit import index_nearest

    n, m = refs.shape
    half = 8
    c0 = np.clip(index_nearest(energy, e0), half + 1, m - half - 2)
    cols = c0[:, None] + np.arange(-half, half + 1)[None, :]           # (N, 17)
    r = np.arange(n)[:, None]
    span = energy[cols + 1] - energy[cols - 1]
    d = (refs[r, cols + 1] - refs[r, cols - 1]) / span
    near = d[:, half - 2:half + 3]
    j0 = half - 2 + np.argmax(near, axis=1)
    dmax = d[np.arange(n), j0]
    step = 0.5 * span[np.arange(n), j0]
    sig_d = sigma * np.sqrt(2.0) / np.maximum(span[np.arange(n), j0], 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.maximum(PLATEAU_FRACTION, np.nan_to_num(2.0 * sig_d / dmax, nan=1.0))
    above = d >= ((1.0 - frac) * dmax)[:, None]
    lo, hi = j0.copy(), j0.copy()
    for _ in range(half):                           # grow the run one point at a time
        go = (lo > 0) & above[np.arange(n), np.maximum(lo - 1, 0)]
        lo = np.where(go, lo - 1, lo)
        go = (hi < 2 * half) & above[np.arange(n), np.minimum(hi + 1, 2 * half)]
        hi = np.where(go, hi + 1, hi)
    width = energy[cols[np.arange(n), hi]] - energy[cols[np.arange(n), lo]] + step
    return width / np.sqrt(12.0)


def foil_rows(energy, refs, *, element: str, edge: str = "K",
              method: str = "max-derivative", max_offset_eV: float = 5.0) -> FoilRows:
    """Foil edge positions of many reference rows at once, with robust errors.

    The one implementation of the foil rules used by :func:`calibrate_energy` (one row)
    and the stack pipeline (every scan's own reference row):

    1. rows with fewer than 10 finite points are not used; NaN points of the others
       are left out (those rows are done one by one);
    2. a constant row has no edge;
    3. the E0 of the steepest edge (``method``, by default larch's maximum derivative);
       if it lies more than ``max_offset_eV`` from the tabulated edge, the search is
       repeated within ``max_offset_eV + 2`` eV of the tabulated edge (a foil channel
       also sees the sample's own edge through the foil, which can be steeper: NiO.prj
       group 009, foil at 8333.0 eV, sample edge at 8345.1 eV);
    4. a row still further than ``max_offset_eV`` from the tabulated edge, or that does
       not rise across its E0, is not a foil of this element.

    The error of an accepted derivative E0 is the plateau estimate of
    :func:`_plateau_err` (robust when two derivative maxima are nearly equal); for the
    fitted methods it is the method's noise error with the grid floor of
    :mod:`naheo_spec.xas.uncertainty`.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Measured energies (eV), strictly increasing.
    refs : array-like, shape (N, M)
        Foil μ of each row.
    element, edge : str
        Absorber and edge of the foil.
    method : str
        E0 definition (:data:`naheo_spec.xas.e0.E0_METHODS`). Default ``"max-derivative"``.
    max_offset_eV : float
        Largest accepted |E0 - tabulated| (eV). Default is 5.0.

    Returns
    -------
    FoilRows

    References
    ----------
    Kraft et al., Rev. Sci. Instrum. 67, 681 (1996) (foil edge energies); Ravel and
    Newville, J. Synchrotron Rad. 12, 537 (2005) (foil alignment).

    Examples
    --------
    >>> import numpy as np
    >>> e = np.linspace(8250.0, 8450.0, 801)
    >>> foil = np.arctan((e - 8332.0) / 1.0) / np.pi + 0.5
    >>> sample_seen = np.arctan((e - 8345.0) / 0.6) / np.pi + 0.5   # steeper edge
    >>> fr = foil_rows(e, np.vstack([foil, foil + sample_seen]), element="Ni")
    >>> np.round(fr.e0, 1).tolist(), fr.searched_near.tolist()
    ([8332.0, 8332.2], [False, True])
    """
    from naheo_spec.xas.normalize import noise_rows

    energy = np.asarray(energy, dtype=float)
    refs = np.atleast_2d(np.asarray(refs, dtype=float))
    n = refs.shape[0]
    tab = tabulated_edge_energy(element, edge)
    e0, err = np.full(n, np.nan), np.full(n, np.nan)
    status = np.full(n, OK, dtype=np.int8)
    near, glob = np.zeros(n, dtype=bool), np.full(n, np.nan)
    finite = np.isfinite(refs)
    nfin = finite.sum(axis=1)
    status[nfin < MIN_FOIL_POINTS] = FEW
    full = nfin == refs.shape[1]
    partial = np.flatnonzero(~full & (nfin >= MIN_FOIL_POINTS))
    for i in partial:                              # rows with NaN points: their finite part
        ok = finite[i]
        one = foil_rows(energy[ok], refs[i, ok][None, :], element=element, edge=edge,
                        method=method, max_offset_eV=max_offset_eV)
        e0[i], err[i], status[i] = one.e0[0], one.err[0], one.status[0]
        near[i], glob[i] = one.searched_near[0], one.global_e0[0]
    rows = np.flatnonzero(full)
    if rows.size:
        sub = refs if rows.size == n else refs[rows]
        ptp = sub.max(axis=1) - sub.min(axis=1)
        const = ~(ptp > 1e-12 * np.maximum(np.abs(sub).max(axis=1), 1e-300))
        status[rows[const]] = CONSTANT
        take = ~const
        if take.any():
            e0[rows[take]] = _edge_e0(energy, sub[take], method)
        glob[rows] = e0[rows]
        _search_near(energy, refs, rows, e0, near, tab, max_offset_eV, method)
    judge = rows[status[rows] == OK]                # rows with NaN points were judged above
    status[judge[~np.isfinite(e0[judge])]] = NO_EDGE
    judge = judge[np.isfinite(e0[judge])]
    far = np.abs(e0[judge] - tab) > max_offset_eV
    status[judge[far]] = FAR
    judge = judge[~far]
    if judge.size:
        rises = _rises(energy, refs[judge], e0[judge])
        status[judge[~rises]] = INVERTED
        good = judge[rises]
        if good.size:
            sigma = noise_rows(energy, refs[good], e0[good])
            if method in ("max-derivative", "zero-second-derivative"):
                err[good] = _plateau_err(energy, refs[good], e0[good], sigma)
            else:
                err[good] = _fitted_err(energy, refs[good], method)
    err[status != OK] = np.nan
    return FoilRows(e0=e0, err=err, status=status, searched_near=near & (status == OK),
                    global_e0=glob, n_finite=nfin, tab=tab, max_offset=float(max_offset_eV),
                    method=method, element=element, edge=edge)


#: A foil edge found near the tabulated edge must be at least this fraction as steep as
#: the steepest edge of the channel (a foil's edge is comparable to the sample's edge
#: seen through it; the slow onset of another edge is not).
NEAR_EDGE_MIN_RATIO = 0.3


def _search_near(energy, refs, rows, e0, near, tab, max_offset, method) -> None:
    """Step 3 of :func:`foil_rows`. Only rows whose steepest edge lies *above* the
    accepted range (the sample's own edge, chemically shifted up, seen through the foil)
    are searched again within ``max_offset + NEAR_EDGE_MARGIN_EV`` of the tabulated edge;
    the edge found there must be a local maximum of dmu/dE inside the window (not at its
    ends, where the other edge's onset rises) and at least ``NEAR_EDGE_MIN_RATIO`` as steep
    as the steepest edge. A channel whose edge lies below the range (an uncalibrated
    beamline) is not searched: it is rejected by the offset test."""
    above = rows[np.isfinite(e0[rows]) & (e0[rows] - tab > max_offset)]
    if above.size == 0:
        return
    w = max_offset + NEAR_EDGE_MARGIN_EV
    cols = (energy >= tab - w) & (energy <= tab + w)
    if cols.sum() < MIN_FOIL_POINTS:
        return
    local = _edge_e0(energy[cols], refs[np.ix_(above, cols)], method)
    grad = np.gradient(refs[above], energy, axis=1)
    r = np.arange(above.size)
    from naheo_spec.numerics.polyfit import index_nearest

    d_loc = grad[r, index_nearest(energy, np.nan_to_num(local, nan=tab))]
    d_glob = grad[r, index_nearest(energy, e0[above])]
    inside = (local > tab - w + 1.0) & (local < tab + w - 1.0)
    hit = np.isfinite(local) & inside & (np.abs(local - tab) <= max_offset) & \
        (d_loc >= NEAR_EDGE_MIN_RATIO * d_glob)
    e0[above[hit]] = local[hit]
    near[above[hit]] = True


def _fitted_err(energy, refs, method) -> np.ndarray:
    """Noise error of a fitted-method foil E0 plus the grid floor, row by row."""
    from naheo_spec.xas.e0 import find_e0
    from naheo_spec.xas.uncertainty import grid_floor

    out = np.full(refs.shape[0], np.nan)
    for i, row in enumerate(refs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                est = find_e0(energy, row, method=method)
            except NaheoError:
                continue
        step = float(np.median(np.diff(energy[np.abs(energy - est.e0_eV) < 5.0]))) \
            if np.sum(np.abs(energy - est.e0_eV) < 5.0) > 1 else float(np.median(np.diff(energy)))
        out[i] = float(np.hypot(est.e0_err_eV, grid_floor(step)))
    return out


def calibrate_energy(energy, foil_mu, *, element: str, edge: str = "K",
                     e0_method: str = DEFAULT_FOIL_E0_METHOD,
                     max_offset_eV: float = DEFAULT_MAX_OFFSET_EV, strict: bool = True,
                     source_file: str | None = None, source_sha256: str | None = None,
                     source_scan: str | None = None) -> EnergyCalibration:
    """Energy shift that puts a metal foil's E0 on the tabulated edge.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Measured (uncalibrated) energies, eV, strictly increasing.
    foil_mu : array-like, shape (M,)
        μ(E) of the metal foil on ``energy``.
    element : str
        Absorber symbol of the foil (``"Mn"``, ``"Fe"``, ``"Ni"``).
    edge : str
        Edge name. Default is ``"K"``.
    e0_method : str
        E0 definition on the foil, one of :data:`naheo_spec.xas.e0.E0_METHODS`.
        Default is ``"max-derivative"`` (Athena/larch alignment convention).
    max_offset_eV : float
        A foil whose E0 lies further than this from the tabulated edge is rejected as
        not being a foil of ``element``. Default is 5.0 eV.
    strict : bool
        If True (default) a rejected foil raises :class:`CalibrationError`; if False
        a :class:`QualityWarning` is emitted and the returned calibration has
        ``shift_eV=None`` (``valid`` False).
    source_file, source_sha256, source_scan : str, optional
        Foil file, hash and scan/group name, recorded in the provenance.

    Returns
    -------
    EnergyCalibration
        ``shift_eV = tabulated_e0_eV - foil_e0_eV``; add it to the sample energies.

    Raises
    ------
    CalibrationError
        (``strict=True``) no edge found in the foil channel, the channel does not rise
        at its E0, or ``|foil E0 - tabulated| > max_offset_eV`` (after searching near the
        tabulated edge, see :func:`foil_rows`).
    InputError
        Bad arrays, unknown element/edge, or ``max_offset_eV <= 0``.

    References
    ----------
    Bearden & Burr, Rev. Mod. Phys. 39, 125 (1967); Kraft et al., Rev. Sci. Instrum.
    67, 681 (1996), doi:10.1063/1.1146657.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.linspace(6400, 6700, 601)
    >>> foil = 1 + np.arctan((e - 6537.5) / 1.5) / np.pi
    >>> cal = calibrate_energy(e, foil, element="Mn")
    >>> round(cal.shift_eV, 1)
    1.5
    """
    energy, foil_mu = check_xy(energy, foil_mu, names=("energy", "foil_mu"))
    if not max_offset_eV > 0:
        raise InputError(f"max_offset_eV must be > 0 eV, got {max_offset_eV!r}")
    tab = tabulated_edge_energy(element, edge)
    params = {"element": element, "edge": edge, "e0_method": e0_method,
              "max_offset_eV": float(max_offset_eV), "strict": strict,
              "tabulated_e0_eV": tab, "foil_scan": source_scan}
    prov = Provenance(step="xas.calibrate_energy", parameters=params,
                      source_file=source_file, source_sha256=source_sha256)
    fr = foil_rows(energy, foil_mu[None, :], element=element, edge=edge, method=e0_method,
                   max_offset_eV=max_offset_eV)
    where = f"{source_file}: " if source_file else ""
    return calibration_from_rows(fr, 0, provenance=prov, where=where, strict=strict,
                                 stacklevel=3)


def calibration_from_rows(fr: FoilRows, i: int, *, provenance: Provenance, where: str = "",
                          strict: bool = False, stacklevel: int = 2,
                          emit: bool = True) -> EnergyCalibration:
    """The :class:`EnergyCalibration` of row ``i`` of :func:`foil_rows` (one rule for a
    single foil and for every scan of a stack). ``where`` prefixes the messages."""
    foil_e0 = None if not np.isfinite(fr.e0[i]) else float(fr.e0[i])
    msgs = []
    if fr.status[i] == OK:
        shift, err = fr.tab - float(fr.e0[i]), float(fr.err[i])
        if fr.searched_near[i]:
            rec = FOIL_NEAR_EDGE.record(where + fr.near_note(i))
            msgs.append(rec.emit(stacklevel=stacklevel + 1) if emit else rec)
    else:
        shift, err = None, None
        msg = f"{where}reference channel rejected, energy NOT calibrated: {fr.problem(i)}"
        if strict:
            raise CalibrationError(msg)
        rec = FOIL_REJECTED.record(msg)
        msgs.append(rec.emit(stacklevel=stacklevel + 1) if emit else rec)
    return EnergyCalibration(shift_eV=shift, foil_e0_eV=foil_e0, tabulated_e0_eV=fr.tab,
                             element=fr.element, edge=fr.edge, method=fr.method,
                             max_offset_eV=fr.max_offset, warnings=tuple(msgs),
                             provenance=provenance, shift_err_eV=err)


def calibrate_energy_from_foil(foil, *, element: str | None = None, edge: str | None = None,
                               scan: str | None = None,
                               e0_method: str = DEFAULT_FOIL_E0_METHOD,
                               max_offset_eV: float = DEFAULT_MAX_OFFSET_EV,
                               strict: bool = True, **read_options) -> EnergyCalibration:
    """Calibrate against a separately measured foil scan (a Spectrum or a file).

    Parameters
    ----------
    foil : Spectrum or str or Path
        The foil scan; its ``signal`` is the foil μ(E). A path is read with
        :func:`naheo_spec.io.read_spectrum` (``scan`` and ``read_options`` passed on).
    element, edge : str, optional
        Default None: taken from the foil spectrum (``edge`` falls back to ``"K"``).
    scan : str, optional
        Scan/group inside a multi-scan foil file (e.g. ``"Mn_foil"`` in an Athena project).
    e0_method, max_offset_eV, strict
        As in :func:`calibrate_energy`.

    Returns
    -------
    EnergyCalibration

    Raises
    ------
    InputError
        The element is neither given nor known from the file.
    CalibrationError
        As in :func:`calibrate_energy`.
    """
    if isinstance(foil, (str, Path)):
        from naheo_spec.io import read_spectrum

        foil = read_spectrum(foil, scan=scan, **read_options)
    element = element or foil.element
    edge = edge or foil.edge or "K"
    if not element:
        raise InputError(f"{foil.name}: element of the foil is unknown; pass element=")
    return calibrate_energy(foil.energy, foil.mu, element=element, edge=edge,
                            e0_method=e0_method, max_offset_eV=max_offset_eV, strict=strict,
                            source_file=foil.source.path, source_sha256=foil.source.sha256,
                            source_scan=foil.source.scan)
