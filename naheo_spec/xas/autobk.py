"""EXAFS background removal: the AUTOBK spline, solved by linear least squares.

AUTOBK (Newville et al. 1993) models the atomic background mu0(E) by a cubic
B-spline in k whose knot spacing is set by ``rbkg`` and chooses the spline so
that chi(R) = FT[chi(k) k^w W(k)] is as small as possible for R < rbkg, plus
"clamps" that keep chi(k) near zero at the ends of the data.

xraylarch's ``autobk`` minimises this with ``scipy.optimize.leastsq`` and a
numerical Jacobian (about 10 ms per spectrum). But chi(k) is *linear* in the
spline coefficients for a fixed E0 and energy grid: chi = S (mu - B c), with B
the B-spline basis on the data's k points and S the cubic (not-a-knot)
interpolation from the data k points onto the uniform output grid. So the low-R
Fourier rows of S B are a small fixed matrix, and the whole fit is a linear
least-squares problem that is built and factorised once per (E0, energy grid,
parameters) and then applied to any number of spectra.

Memory is O(points + knots^2): S is never formed. S y is an interpolating-spline
solve (banded, O(points)), S B is computed a few basis columns at a time, and B is a
sparse design matrix. A 10^5-point quick-EXAFS scan needs tens of MB, not a dense
(k points x energy points) operator.

The only nonlinearity is larch's clamp weight, ``scale = 0.1 + 10 * mean(r^2)``
with r the low-R residual. The exact stationarity condition of larch's
objective is the normal equation of a linear problem with effective clamp weight
``scale^2 / (1 + 20 * scale * |q|^2 / m)`` (q the clamp residual, m the number
of FT rows); it is reached by a fixed-point iteration (per spectrum) that re-uses
the same factorisation and converges in 2-3 solves. chi(k) agrees with larch's
``autobk`` to ~1e-7 relative RMS with larch's defaults and to ~1e-4 with Athena's
strong clamp; the residual differences are larch's leastsq stopping early (ftol
1e-6): the linear solution gives a value of larch's own objective that is equal or lower.

Robustness
----------
* Energies closer than ``merge_tol`` times the typical step (median of
  (E[i+1] - E[i-1]) / 2) are merged (energy and mu averaged) with the coded
  warning ``xas.autobk.merged_points``: an interpolating spline through two points
  1e-6 eV apart with different mu would otherwise swing by (delta mu / 1e-6 eV).
* :func:`autobk_stack` fails a row (NaN, no edge, bad edge step) alone: it is
  masked in ``valid``, its reason is in ``row_warnings``, and the other rows are
  computed.

Presets (``preset=``)
---------------------
``"larch"`` (default)
    xraylarch ``autobk`` defaults: kweight 1, dk 0.1, hanning, nclamp 3,
    clamp_lo 0, clamp_hi 1.
``"athena"``
    Demeter/Athena ``bkg.demeter_conf`` defaults: kweight 2, dk 0, hanning,
    nclamp 5, clamp_lo 0, clamp_hi 24.

rbkg is 1.0 A in both. Explicit keyword arguments override the preset.

References
----------
M. Newville, P. Livins, Y. Yacoby, J. J. Rehr, E. A. Stern, "Near-edge x-ray
absorption fine structure of Pb: a comparison of theory and experiment",
Phys. Rev. B 47, 14126 (1993), doi:10.1103/PhysRevB.47.14126;
M. Newville, "IFEFFIT: interactive XAFS analysis and FEFF fitting",
J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964;
xraylarch ``larch.xafs.autobk`` (https://xraypy.github.io/xraylarch/xafs_autobk.html);
Demeter ``lib/Demeter/configuration/bkg.demeter_conf`` (Athena defaults).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.interpolate import BSpline

from naheo_spec.diagnostics import (
    StackWarnings,
    StackWarningsBuilder,
    WarningCode,
    WarningRecord,
)
from naheo_spec.errors import (
    DefaultAdjustedWarning,
    InputError,
    ProcessingError,
    QualityWarning,
    RepairWarning,
)
from naheo_spec.provenance import Provenance
from naheo_spec.records import DataArray, Record
from naheo_spec.validation import MIN_POINTS, as_1d_float
from naheo_spec.xas.fourier import SQRT_PI, check_kweight, ftwindow, window_name

#: hbar^2 / (2 m_e) in eV A^2, E - E0 = KTOE k^2. CODATA 2022 value, the one larch's KTOE
#: takes from scipy.constants (scipy >= 1.15); CODATA 2018 gives 3.8099819442818976.
KTOE = 3.8099821109685847
ETOK = 1.0 / KTOE

#: Data that end below this k (A^-1) give a QualityWarning: too little EXAFS to trust.
KMAX_DATA_WARN = 6.0

#: Energies closer than this fraction of the typical step (median of (E[i+1]-E[i-1])/2)
#: are merged before the spline is built.
MERGE_TOL = 0.01

PRESETS: dict[str, dict[str, Any]] = {
    "larch": {"kweight": 1, "dk": 0.1, "window": "hanning", "nclamp": 3,
              "clamp_lo": 0.0, "clamp_hi": 1.0},
    "athena": {"kweight": 2, "dk": 0.0, "window": "hanning", "nclamp": 5,
               "clamp_lo": 0.0, "clamp_hi": 24.0},
}

_NFFT = 2048
_MAX_ITER = 20
_BASIS_CHUNK = 16     # spline basis columns interpolated at a time (memory ~ points x 16)


@dataclass(frozen=True)
class Background:
    """Result of :func:`autobk`.

    Attributes
    ----------
    k_invA : ndarray of shape (K,)
        Uniform k grid from 0 in steps of ``kstep``, A^-1.
    chi : ndarray of shape (K,)
        chi(k) = (mu - mu0) / edge_step interpolated onto ``k_invA`` (unweighted).
    energy_eV : ndarray of shape (M,)
        Energy grid used, eV (the input grid, or the merged one when near-duplicate
        energies were merged: see ``params["merged_points"]``).
    bkg : ndarray of shape (M,)
        mu0(E), the spline background on ``energy_eV`` (equal to mu below E0, as larch).
    kmax_data_invA : float
        k of the last data point, A^-1.
    e0_eV, edge_step : float
        The E0 and edge step used.
    nknots : int
        Number of spline coefficients.
    knots_invA : ndarray
        B-spline knot vector (cubic, clamped), A^-1.
    coefs : ndarray of shape (nknots,)
        B-spline coefficients of mu0(k) (raw mu units), as larch's ``autobk_details.coefs``.
    params : dict
        All resolved parameters (rbkg, kweight, kmin, kmax, dk, window, kstep, nfft,
        nclamp, clamp_lo, clamp_hi, preset, irbkg, iterations, merged_points).
    warnings : tuple of WarningRecord
        Adjustments and quality warnings (also emitted as warnings).
    provenance : Provenance
        Step ``"xas.autobk"`` and the parameters.
    """

    k_invA: np.ndarray
    chi: np.ndarray
    energy_eV: np.ndarray
    bkg: np.ndarray
    kmax_data_invA: float
    e0_eV: float
    edge_step: float
    nknots: int
    knots_invA: np.ndarray
    coefs: np.ndarray
    params: dict[str, Any]
    warnings: tuple[WarningRecord, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance("xas.autobk"))

    def chi_weighted(self, kweight: int = 2) -> np.ndarray:
        """chi(k) k^kweight on :attr:`k_invA`."""
        return self.chi * self.k_invA ** kweight

    def to_record(self, name: str = "autobk") -> Record:
        """Store k, chi(k), energy and mu0(E) (signal ``chi``, axis ``k``)."""
        data = {"k": DataArray(self.k_invA, "1/angstrom", "k"),
                "chi": DataArray(self.chi, "", "chi(k)"),
                "energy": DataArray(self.energy_eV, "eV", "energy"),
                "bkg": DataArray(self.bkg, "", "mu0(E)")}
        summary = {"e0_eV": self.e0_eV, "edge_step": self.edge_step,
                   "kmax_data_invA": self.kmax_data_invA, "nknots": self.nknots,
                   "n_warnings": len(self.warnings)}
        return Record(name=name, kind="autobk", summary=summary, provenance=self.provenance,
                      data=data, signal="chi", axes=["k"])


@dataclass(frozen=True)
class StackBackground:
    """Result of :func:`autobk_stack`.

    Attributes
    ----------
    k_invA : ndarray of shape (K,)
        Common uniform k grid, A^-1 (cut to the shortest E0 group when E0 differs).
    chi : ndarray of shape (N, K)
        chi(k) per scan (NaN rows where ``valid`` is False).
    energy_eV : ndarray of shape (M,)
        Shared energy grid, eV (merged when near-duplicate energies were merged).
    bkg : ndarray of shape (N, M)
        mu0(E) per scan.
    kmax_data_invA, e0_eV, edge_step : ndarray of shape (N,)
        Per-scan values (NaN for invalid rows).
    valid : ndarray of bool, shape (N,)
        False for rows that could not be processed (non-finite mu, no edge, bad step).
    n_groups : int
        Number of distinct (E0) groups, i.e. factorisations built.
    row_warnings : StackWarnings
        Per-row coded warnings, including why a row is invalid
        (``xas.autobk.row_failed``).
    params, warnings, provenance
        As in :class:`Background`; ``warnings`` holds one summary record per code.
    """

    k_invA: np.ndarray
    chi: np.ndarray
    energy_eV: np.ndarray
    bkg: np.ndarray
    kmax_data_invA: np.ndarray
    e0_eV: np.ndarray
    edge_step: np.ndarray
    n_groups: int
    params: dict[str, Any]
    warnings: tuple[WarningRecord, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance("xas.autobk_stack"))
    valid: np.ndarray | None = None
    row_warnings: StackWarnings | None = None

    def __len__(self) -> int:
        return int(self.chi.shape[0])

    def to_record(self, name: str = "autobk_stack") -> Record:
        """Store k and the (N, K) chi(k) stack (signal ``chi``, axes ``scan``, ``k``)."""
        data = {"scan": DataArray(np.arange(len(self)), "", "scan index"),
                "k": DataArray(self.k_invA, "1/angstrom", "k"),
                "chi": DataArray(self.chi, "", "chi(k)"),
                "e0": DataArray(self.e0_eV, "eV", "E0"),
                "edge_step": DataArray(self.edge_step, "", "edge step")}
        n_valid = len(self) if self.valid is None else int(np.sum(self.valid))
        summary = {"n_spectra": len(self), "n_valid": n_valid, "n_groups": self.n_groups,
                   "n_warnings": len(self.warnings)}
        return Record(name=name, kind="autobk_stack", summary=summary,
                      provenance=self.provenance, data=data, signal="chi", axes=["scan", "k"])


# --------------------------------------------------------------------------------------
# warning codes (declared where the rules live)
# --------------------------------------------------------------------------------------
RBKG_RAISED = WarningCode("xas.autobk.rbkg_raised", DefaultAdjustedWarning,
                          "rbkg was raised to two R-grid steps.")
NKNOTS_CLIPPED = WarningCode("xas.autobk.nknots_clipped", DefaultAdjustedWarning,
                             "The number of spline knots was clipped to 5..128.")
KGRID_CUT = WarningCode("xas.autobk.kgrid_cut", DefaultAdjustedWarning,
                        "The k grid of a stack was cut to the shortest of its E0 groups.")
SHORT_K = WarningCode("xas.autobk.short_k", QualityWarning,
                      "The data end below k = 6 1/angstrom: chi(k) and chi(R) are unreliable.")
NOT_CONVERGED = WarningCode("xas.autobk.not_converged", QualityWarning,
                            "The clamp-weight iteration did not converge; chi(k) may differ "
                            "slightly from larch.")
MERGED_POINTS = WarningCode("xas.autobk.merged_points", RepairWarning,
                            "Energies closer than 1 % of the typical step were merged "
                            "(averaged) before the background spline.")
ROW_FAILED = WarningCode("xas.autobk.row_failed", QualityWarning,
                         "A row of a stack could not be processed (non-finite mu, no edge or "
                         "a bad edge step); it is masked and the other rows are computed.")


# --------------------------------------------------------------------------------------
# parameters and input checks
# --------------------------------------------------------------------------------------
def _resolve_params(preset, rbkg, kweight, kmin, kmax, dk, window, kstep, nclamp, clamp_lo,
                    clamp_hi, nknots) -> dict[str, Any]:
    if preset not in PRESETS:
        raise InputError(f"preset={preset!r}; expected one of {tuple(PRESETS)}")
    base = PRESETS[preset]
    p = {
        "preset": preset,
        "rbkg": float(rbkg),
        "kweight": check_kweight(base["kweight"] if kweight is None else kweight),
        "kmin": float(kmin),
        "kmax": None if kmax is None else float(kmax),
        "dk": float(base["dk"] if dk is None else dk),
        "window": window_name(base["window"] if window is None else window),
        "kstep": float(kstep),
        "nfft": _NFFT,
        "nclamp": int(base["nclamp"] if nclamp is None else nclamp),
        "clamp_lo": float(base["clamp_lo"] if clamp_lo is None else clamp_lo),
        "clamp_hi": float(base["clamp_hi"] if clamp_hi is None else clamp_hi),
        "nknots": None if nknots is None else int(nknots),
    }
    if not np.isfinite(p["rbkg"]) or p["rbkg"] <= 0:
        raise InputError(f"rbkg={rbkg!r}; expected a positive distance in A (typically 0.8-1.2)")
    if not 0 < p["kstep"] <= 0.2:
        raise InputError(f"kstep={kstep!r}; expected 0 < kstep <= 0.2 A^-1 (default 0.05)")
    if p["kmin"] < 0:
        raise InputError(f"kmin={kmin!r}; expected kmin >= 0 A^-1")
    if p["nclamp"] < 0:
        raise InputError(f"nclamp={nclamp!r}; expected a non-negative number of points")
    if p["dk"] < 0:
        raise InputError(f"dk={dk!r}; expected a non-negative window sill in A^-1")
    return p


def _edge_problem(energy, e0, edge_step) -> str | None:
    """Why (e0, edge_step) cannot be used on this grid, or None."""
    if e0 is None or not np.isfinite(e0):
        return (f"no edge: e0={e0!r}; pass the edge energy in eV (e.g. from "
                "naheo_spec.xas.normalize)")
    if not energy[0] < e0 < energy[-1]:
        return (f"e0 = {e0:.2f} eV is outside the data range {energy[0]:.2f}..{energy[-1]:.2f} "
                "eV: no edge to remove a background from")
    if edge_step is None or not np.isfinite(edge_step) or edge_step <= 0:
        return (f"edge_step={edge_step!r}; expected a positive edge step (a failed "
                "normalisation or no edge in the data)")
    return None


def _check_energy(energy) -> np.ndarray:
    e = as_1d_float("energy", energy)
    if e.size < MIN_POINTS:
        raise InputError(f"energy has {e.size} points; need at least {MIN_POINTS}")
    if not np.all(np.isfinite(e)):
        raise InputError("energy contains NaN or inf")
    if np.any(np.diff(e) < 0):
        raise InputError("energy must be increasing (read files with naheo_spec.io, which "
                         "sorts them)")
    return e


def merge_close_points(energy, mu, *, merge_tol: float = MERGE_TOL):
    """Merge energies closer than ``merge_tol`` times the typical step (average E and mu).

    An interpolating spline through two points a hair apart with different mu (a
    concatenated or re-binned scan, an encoder repeat) swings by (delta mu / delta E)
    and spoils chi(k) far from the pair. Clusters of consecutive energies whose gaps
    are below ``merge_tol * step`` -- with ``step`` the median of
    ``(E[i+1] - E[i-1]) / 2``, robust to every point being doubled -- become one point
    at their mean energy with their mean mu.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Non-decreasing energy, eV (exact duplicates allowed).
    mu : array-like, shape (M,) or (N, M)
        Absorption, one spectrum per row.
    merge_tol : float
        Relative tolerance (0 disables merging of distinct energies; exact
        duplicates are always merged). Default is :data:`MERGE_TOL` (0.01).

    Returns
    -------
    energy : ndarray of shape (M',)
        Strictly increasing energy, eV.
    mu : ndarray of shape (M',) or (N, M')
        Averaged absorption.
    info : dict
        ``n_merged`` (points removed), ``threshold_eV``, ``step_eV`` and
        ``where_eV`` (first merged energies, at most 5).

    Raises
    ------
    InputError
        Energy not 1-D, not finite or decreasing; ``merge_tol`` negative; ``mu`` of
        the wrong length.

    References
    ----------
    C. de Boor, *A Practical Guide to Splines*, rev. ed. (Springer, 2001), ch. XIII
    (the conditioning of spline interpolation depends on the ratio of data spacings).

    Examples
    --------
    >>> e = np.array([0.0, 1.0, 2.0, 2.0 + 1e-6, 3.0, 4.0])
    >>> m = np.array([0.0, 1.0, 2.0, 2.2, 3.0, 4.0])
    >>> e2, m2, info = merge_close_points(e, m)
    >>> info["n_merged"], [round(float(x), 3) for x in m2]
    (1, [0.0, 1.0, 2.1, 3.0, 4.0])
    """
    e = _check_energy(energy)
    m = np.asarray(mu, dtype=float)
    if m.shape[-1] != e.size:
        raise InputError(f"mu has {m.shape[-1]} points along its last axis, energy has {e.size}")
    if not (np.isfinite(merge_tol) and merge_tol >= 0):
        raise InputError(f"merge_tol={merge_tol!r}; expected a non-negative fraction of the step")
    gaps = np.diff(e)
    step = float(np.median((e[2:] - e[:-2]) / 2.0))
    thr = merge_tol * step
    close = (gaps < thr) | (gaps <= 0)
    info = {"n_merged": int(close.sum()), "threshold_eV": thr, "step_eV": step, "where_eV": []}
    if not close.any():
        return e, m, info
    starts = np.flatnonzero(np.r_[True, ~close])
    counts = np.diff(np.r_[starts, e.size])
    e_new = np.add.reduceat(e, starts) / counts
    m_new = np.add.reduceat(m, starts, axis=-1) / counts
    info["where_eV"] = [round(float(x), 4) for x in e_new[counts > 1][:5]]
    return e_new, m_new, info


def _merge_message(info) -> WarningRecord:
    return MERGED_POINTS.record(
        f"{info['n_merged']} energy point(s) closer than {info['threshold_eV']:.3g} eV "
        f"({MERGE_TOL:g} x the typical step {info['step_eV']:.3g} eV) were merged with a "
        f"neighbour (energy and mu averaged), near {info['where_eV']} eV",
        n_merged=info["n_merged"], threshold_eV=info["threshold_eV"])


# --------------------------------------------------------------------------------------
# the linear operator for one (E0, grid, parameters) group
# --------------------------------------------------------------------------------------
@dataclass
class _Operator:
    iek0: int
    iemax: int
    kr: np.ndarray             # data k of the fitted segment (ne,)
    kout: np.ndarray           # uniform output grid (K,)
    kmax_data: float
    kmax: float
    nspl: int
    irbkg: int
    rbkg: float
    knots: np.ndarray
    basis: Any                 # B: sparse (ne, nspl) spline design matrix on kr
    interp: "SplineInterpolator"   # S: data k -> kout, banded LU + sparse evaluation
    sbasis: np.ndarray         # S B: (K, nspl) the basis interpolated onto kout
    ft_mat: np.ndarray         # (2 irbkg, K) low-R DFT rows times k^w W(k)
    clamp_idx: np.ndarray      # kout indices of the clamped points
    clamp_w: np.ndarray        # their weights
    solver: dict[str, np.ndarray]
    messages: list[WarningRecord]


def _nearest_indices(x, q):
    """Index of the element of increasing ``x`` nearest to each ``q`` (lower on a tie)."""
    j = np.clip(np.searchsorted(x, q), 1, x.size - 1)
    return np.where(q - x[j - 1] <= x[j] - q, j - 1, j)


def _knots(kraw, kmin, kmax, nspl):
    """Knot vector of larch's interpolating spline through nspl points (not-a-knot)."""
    q = kmin + np.arange(nspl) * (kmax - kmin) / (nspl - 1)
    spl_k = kraw[_nearest_indices(kraw, q)]
    return np.concatenate([[spl_k[0]] * 4, spl_k[2:-2], [spl_k[-1]] * 4])


def _grid(energy, e0, p):
    """k grids and spline size, following larch autobk step by step."""
    iek0 = int(np.searchsorted(energy, e0, side="right")) - 1
    enpe = energy[iek0:] - e0
    kraw = np.sign(enpe) * np.sqrt(ETOK * np.abs(enpe))
    kmax_data = float(kraw.max())
    kmax = kmax_data if p["kmax"] is None else max(0.0, min(kmax_data, p["kmax"]))
    if kmax - p["kmin"] < 1.0:
        raise ProcessingError(f"the background k range kmin={p['kmin']:.2f}..kmax={kmax:.2f} "
                              "A^-1 is shorter than 1 A^-1: too few data above the edge")
    kout = p["kstep"] * np.arange(int(1.01 + kmax / p["kstep"]), dtype=float)
    itop = int(np.searchsorted(energy, e0 + kmax * kmax / ETOK, side="right")) - 1
    iemax = min(energy.size, 2 + itop) - 1
    return iek0, kraw, kmax_data, kmax, kout, iemax


def _spline_size(p, kmax, rgrid, messages):
    rbkg = p["rbkg"]
    if rbkg < 2 * rgrid:
        rbkg = 2 * rgrid
        messages.append(RBKG_RAISED.record(f"rbkg raised from {p['rbkg']} to {rbkg:.4f} A "
                                           "(2 R-grid steps)"))
    span = kmax - p["kmin"]
    nspl = 1 + int(2 * rbkg * span / np.pi)
    irbkg = int(1 + (nspl - 1) * np.pi / (2 * rgrid * span))
    if p["nknots"] is not None:
        nspl = p["nknots"]
    clipped = max(5, min(128, nspl))
    if clipped != nspl:
        messages.append(NKNOTS_CLIPPED.record(f"spline size {nspl} clipped to {clipped} (allowed 5..128): "
                        f"k range {p['kmin']:.2f}..{kmax:.2f} A^-1"))
    return clipped, irbkg, rbkg


class SplineInterpolator:
    """Cubic not-a-knot interpolation from the points ``x`` to ``xout``, factorised once.

    This is what larch's ``autobk`` does with ``UnivariateSpline(x, y, s=0)``: FITPACK's
    interpolating cubic has interior knots ``x[2:-2]``, i.e. the not-a-knot spline. The
    collocation matrix is banded: its LU factors (O(len(x)) memory) and the sparse
    evaluation matrix at ``xout`` (4 entries per row) are all that is kept, so applying
    the interpolation to N curves costs O(len(x) N) and no dense (len(xout), len(x))
    operator is ever formed.

    Parameters
    ----------
    x : ndarray of shape (M,)
        Strictly increasing abscissae (M >= 4).
    xout : ndarray of shape (K,)
        Where to evaluate (outside [x[0], x[-1]] the end polynomials are extrapolated).

    References
    ----------
    C. de Boor, *A Practical Guide to Splines*, rev. ed. (Springer, 2001), ch. IV
    (not-a-knot end condition); P. Dierckx, *Curve and Surface Fitting with Splines*
    (Oxford, 1993) (FITPACK).

    Examples
    --------
    >>> x = np.linspace(0.0, 3.0, 13)
    >>> interp = SplineInterpolator(x, np.array([0.1, 2.9]))
    >>> bool(np.allclose(interp(x ** 3), [0.001, 24.389]))
    True
    """

    def __init__(self, x, xout):
        from scipy.linalg import lapack

        x = np.asarray(x, dtype=float)
        knots = np.concatenate([[x[0]] * 4, x[2:-2], [x[-1]] * 4])
        colloc = BSpline.design_matrix(x, knots, 3).todia()
        self.kl = max(-int(colloc.offsets.min()), 0)
        self.ku = max(int(colloc.offsets.max()), 0)
        ab = np.zeros((2 * self.kl + self.ku + 1, x.size))
        for offset, diag in zip(colloc.offsets, colloc.data):
            # dia stores A[j - offset, j] at data[., j]; LAPACK band row kl + ku + i - j
            ab[self.kl + self.ku - offset] = diag
        self._lapack = lapack
        self.lu, self.piv, info = lapack.dgbtrf(ab, self.kl, self.ku)
        if info != 0:
            raise ProcessingError(f"the spline collocation matrix is singular (LAPACK info "
                                  f"{info}): repeated abscissae?")
        self.evaluate = BSpline.design_matrix(np.asarray(xout, dtype=float), knots, 3,
                                              extrapolate=True).tocsr()

    def __call__(self, y) -> np.ndarray:
        """Interpolate ``y`` of shape (M,) or (M, N) onto ``xout``: (K,) or (K, N)."""
        y = np.asarray(y, dtype=float)
        rhs = y.reshape(y.shape[0], -1)
        coef, info = self._lapack.dgbtrs(self.lu, self.kl, self.ku, rhs, self.piv)
        out = self.evaluate @ coef
        return out.reshape((out.shape[0],) + y.shape[1:])


def _interp_basis(interp, kr, knots, nspl) -> np.ndarray:
    """S B: the spline basis sampled on kr and re-interpolated onto kout, in column chunks."""
    out = np.empty((interp.evaluate.shape[0], nspl))
    eye = np.eye(nspl)
    for j0 in range(0, nspl, _BASIS_CHUNK):
        cols = eye[:, j0:j0 + _BASIS_CHUNK]
        on_data = BSpline(knots, cols, 3, extrapolate=True)(kr)
        out[:, j0:j0 + cols.shape[1]] = interp(on_data)
    return out


def _build_operator(energy, e0, p) -> _Operator:
    messages: list[WarningRecord] = []
    iek0, kraw, kmax_data, kmax, kout, iemax = _grid(energy, e0, p)
    kr = kraw[: iemax - iek0 + 1]
    if kr.size < 6:
        raise ProcessingError(f"only {kr.size} data points between E0 and kmax: cannot fit a "
                              "background spline")
    rgrid = np.pi / (p["kstep"] * p["nfft"])
    nspl, irbkg, rbkg = _spline_size(p, kmax, rgrid, messages)
    knots = _knots(kraw, p["kmin"], kmax, nspl)
    basis = BSpline.design_matrix(kr, knots, 3, extrapolate=True).tocsr()
    interp = SplineInterpolator(kr, kout)
    sbasis = _interp_basis(interp, kr, knots, nspl)
    ftwin = kout ** p["kweight"] * ftwindow(kout, xmin=p["kmin"], xmax=kmax, dx=p["dk"],
                                            dx2=p["dk"], window=p["window"])
    phase = 2 * np.pi * np.outer(np.arange(irbkg), np.arange(kout.size)) / p["nfft"]
    ft_mat = (np.concatenate([np.cos(phase), -np.sin(phase)]) * (p["kstep"] / SQRT_PI)
              * ftwin[None, :])
    nc = min(p["nclamp"], kout.size)
    clamp_idx = np.r_[np.arange(nc), np.arange(kout.size - nc, kout.size)]
    clamp_w = np.r_[np.full(nc, abs(p["clamp_lo"])), np.full(nc, abs(p["clamp_hi"]))]
    solver = _factorise(ft_mat @ sbasis, clamp_w[:, None] * sbasis[clamp_idx])
    return _Operator(iek0, iemax, kr, kout, kmax_data, kmax, nspl, irbkg, rbkg, knots, basis,
                     interp, sbasis, ft_mat, clamp_idx, clamp_w, solver, messages)


def _factorise(a_mat, g_mat) -> dict[str, np.ndarray]:
    """Simultaneously diagonalise A^T A and G^T G (A = M S B, G = Sc S B).

    With T = V S^-1 Q (A = U S V^T, Q the eigenvectors of S^-1 V^T G^T G V S^-1),
    T^T A^T A T = I and T^T G^T G T = diag(lam), so for any clamp weight a
    c = T [(T^T A^T b + a T^T G^T g) / (1 + a lam)], one factorisation for all a.
    """
    _, sv, vt = np.linalg.svd(a_mat, full_matrices=False)
    if sv[-1] <= 1e-12 * sv[0]:
        raise ProcessingError("the background spline is not constrained by the low-R Fourier "
                              f"components (singular values {sv[0]:.3g}..{sv[-1]:.3g}); "
                              "lower nknots or widen the k range")
    w = vt.T / sv
    lam, q = np.linalg.eigh(w.T @ (g_mat.T @ g_mat) @ w)
    t = w @ q
    return {"A": a_mat, "G": g_mat, "T": t, "lam": np.clip(lam, 0.0, None),
            "AT": a_mat @ t, "GT": g_mat @ t}


def _solve(op: _Operator, b, g) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spline coefficients (N, nspl) from the low-R FT (b) and clamp (g) rows of N spectra.

    Each row iterates its own clamp weight to convergence, so a row gives the same
    coefficients alone or inside a stack.
    """
    s = op.solver
    u1, u2 = b @ s["AT"], g @ s["GT"]
    n, nrows = b.shape
    alpha = np.full(n, 0.01)  # larch's clamp scale 0.1 + 10 <r^2> starts near 0.1
    coefs = np.zeros((n, op.nspl))
    iters = np.zeros(n, dtype=int)
    converged = np.zeros(n, dtype=bool)
    active = np.arange(n)
    for it in range(1, _MAX_ITER + 1):
        a = alpha[active][:, None]
        c = ((u1[active] + a * u2[active]) / (1 + a * s["lam"])) @ s["T"].T
        coefs[active] = c
        res = b[active] - c @ s["A"].T
        qres = g[active] - c @ s["G"].T
        scale = 0.1 + 10 * np.mean(res * res, axis=1)
        new = scale ** 2 / (1 + 20 * scale * np.sum(qres * qres, axis=1) / nrows)
        done = np.isclose(new, alpha[active], rtol=1e-9, atol=0)
        iters[active] = it
        converged[active[done]] = True
        alpha[active] = new
        active = active[~done]
        if active.size == 0:
            break
    return coefs, iters, converged


def _run_group(op, mu_rows, steps):
    """chi (N, K), bkg (N, M), coefs, iterations and convergence for one operator group."""
    seg = mu_rows[:, op.iek0: op.iemax + 1]
    s_mu = op.interp(seg.T).T                                      # S mu: (N, K)
    b = s_mu @ op.ft_mat.T
    g = s_mu[:, op.clamp_idx] * op.clamp_w
    coefs, iters, converged = _solve(op, b, g)
    chi = (s_mu - coefs @ op.sbasis.T) / steps[:, None]
    bkg = mu_rows.copy()
    bkg[:, op.iek0: op.iemax + 1] = (op.basis @ coefs.T).T
    return chi, bkg, coefs, iters, converged


def _quality_records(kmax_data, where=""):
    if kmax_data < KMAX_DATA_WARN:
        return [SHORT_K.record(
            f"{where}data end at k = {kmax_data:.2f} A^-1 (< {KMAX_DATA_WARN:g} A^-1): "
            "chi(k) and chi(R) are unreliable (XANES-only or truncated scan)",
            kmax_data_invA=float(kmax_data))]
    return []


def _not_converged_record():
    return NOT_CONVERGED.record(f"autobk clamp-weight iteration did not converge in {_MAX_ITER} "
                                "solves; chi(k) may differ slightly from larch")


# --------------------------------------------------------------------------------------
# the one implementation behind autobk and autobk_stack
# --------------------------------------------------------------------------------------
@dataclass
class _Rows:
    """Output of :func:`_autobk_rows` for N rows (invalid rows are NaN)."""

    energy: np.ndarray
    k: np.ndarray
    chi: np.ndarray
    bkg: np.ndarray
    kmax_data: np.ndarray
    coefs: dict              # (e0, kmax) -> (rows of the group, nspl) coefficients
    valid: np.ndarray
    entries: list            # (rows, WarningRecord)
    global_msgs: list        # WarningRecord for every row (merge, grid cut)
    failures: dict           # row -> message
    groups: dict             # e0 -> _Operator
    iterations: np.ndarray


def _autobk_rows(energy, mu, e0s, steps, kmaxs, p, merge_tol) -> _Rows:
    """AUTOBK of every row of mu (N, M): per-row validity, (E0, kmax) groups, shared
    factorisations. ``kmaxs`` (N,) holds each row's spline kmax (NaN: to the data end)."""
    energy = _check_energy(energy)
    mu = np.asarray(mu, dtype=float)
    if mu.ndim != 2 or mu.shape[1] != energy.size:
        raise InputError(f"mu must have shape (N, {energy.size}), got {mu.shape}")
    n = mu.shape[0]
    global_msgs: list[WarningRecord] = []
    energy, mu, info = merge_close_points(energy, mu, merge_tol=merge_tol)
    if info["n_merged"]:
        global_msgs.append(_merge_message(info))
    failures: dict[int, str] = {}
    finite = np.isfinite(mu.sum(axis=1))     # NaN or inf anywhere in the row
    usable = (np.isfinite(e0s) & (e0s > energy[0]) & (e0s < energy[-1])
              & np.isfinite(steps) & (steps > 0))
    for i in np.flatnonzero(~finite):
        failures[int(i)] = "mu contains NaN or inf"
    for i in np.flatnonzero(finite & ~usable):
        failures[int(i)] = _edge_problem(energy, e0s[i], steps[i])
    valid = finite & usable
    entries: list = []
    groups: dict[tuple, _Operator] = {}
    idx_of: dict[tuple, np.ndarray] = {}
    kkey = np.where(np.isfinite(kmaxs), kmaxs, np.inf)
    for value, kmax_row in sorted({(float(a), float(b)) for a, b in zip(e0s[valid], kkey[valid])}):
        idx = np.flatnonzero(valid & (e0s == value) & (kkey == kmax_row))
        pk = p if not np.isfinite(kmax_row) else {**p, "kmax": kmax_row}
        try:
            groups[(value, kmax_row)] = _build_operator(energy, value, pk)
            idx_of[(value, kmax_row)] = idx
        except ProcessingError as exc:
            for i in idx:
                failures[int(i)] = str(exc)
            valid[idx] = False
    if not groups:
        return _Rows(energy, np.zeros(0), np.full((n, 0), np.nan), np.full_like(mu, np.nan),
                     np.full(n, np.nan), {}, valid, entries, global_msgs, failures,
                     groups, np.zeros(n, dtype=int))
    kpts = min(op.kout.size for op in groups.values())
    chi = np.full((n, kpts), np.nan)
    bkg = np.full_like(mu, np.nan)
    kmax_data = np.full(n, np.nan)
    coefs: dict = {}
    iterations = np.zeros(n, dtype=int)
    for key, op in groups.items():
        idx = idx_of[key]
        value = key[0]
        c, b, cf, it, conv = _run_group(op, mu[idx], steps[idx])
        chi[idx] = c[:, :kpts]
        bkg[idx] = b
        kmax_data[idx] = op.kmax_data
        iterations[idx] = it
        coefs[key] = cf
        where = f"E0 {value:.2f} eV group: " if len(groups) > 1 else ""
        for rec in op.messages + _quality_records(op.kmax_data, where):
            entries.append((idx, rec))
        if not conv.all():
            entries.append((idx[~conv], _not_converged_record()))
    if any(op.kout.size != kpts for op in groups.values()):
        global_msgs.append(KGRID_CUT.record(
            f"k grid cut to the shortest of {len(groups)} E0 groups "
            f"({kpts} points, k <= {(kpts - 1) * p['kstep']:.2f} A^-1)"))
    k = p["kstep"] * np.arange(kpts, dtype=float)
    return _Rows(energy, k, chi, bkg, kmax_data, coefs, valid, entries, global_msgs, failures,
                 groups, iterations)


def _emit(records) -> None:
    for r in records:
        r.emit(stacklevel=3)


def autobk(energy, mu, *, e0, edge_step, rbkg=1.0, kweight=None, kmin=0.0, kmax=None, dk=None,
           window=None, kstep=0.05, nclamp=None, clamp_lo=None, clamp_hi=None, nknots=None,
           preset="larch", merge_tol=MERGE_TOL) -> Background:
    """Remove the EXAFS background with the AUTOBK spline (larch ``autobk`` equivalent).

    Parameters
    ----------
    energy : array-like, shape (M,)
        Increasing energy, eV. Energies closer than ``merge_tol`` times the typical
        step (and exact duplicates) are merged first, with a RepairWarning.
    mu : array-like, shape (M,)
        Raw mu(E) (not normalised: the clamp weight depends on mu's scale, as in larch).
    e0 : float
        Edge energy, eV (e.g. ``normalize(...).e0_eV``). Required.
    edge_step : float
        Edge step in mu units. Required.
    rbkg : float
        R below which chi(R) is minimised, A. Raised to 2 R-grid steps (0.061 A) if
        smaller. Default is 1.0.
    kweight : int, optional
        k-weight of the FT inside the fit; None -> preset (larch 1, athena 2).
    kmin : float
        Start of the spline and FT window, A^-1. Default is 0.
    kmax : float, optional
        End of the spline range, A^-1; None -> the last data point. Default is None.
    dk : float, optional
        Window sill, A^-1; None -> preset (larch 0.1, athena 0).
    window : str, optional
        FT window; None -> preset (``"hanning"``).
    kstep : float
        Output k grid step, A^-1. Default is 0.05.
    nclamp : int, optional
        Number of end points clamped; None -> preset (larch 3, athena 5).
    clamp_lo, clamp_hi : float, optional
        Clamp weights at low/high k; None -> preset (larch 0/1, athena 0/24). Scaled
        as larch does: ``clamp * (0.1 + 10 mean(r^2)) * (mu - mu0)``.
    nknots : int, optional
        Force the number of spline coefficients; None -> 1 + int(2 rbkg (kmax - kmin) / pi),
        clipped to 5..128 (a DefaultAdjustedWarning if clipped).
    preset : {"larch", "athena"}
        Default set for the None options. Default is ``"larch"``.
    merge_tol : float
        Relative tolerance of :func:`merge_close_points`. Default is 0.01.

    Returns
    -------
    Background
        chi(k) on a uniform k grid, mu0(E), kmax_data_invA and the resolved parameters.

    Raises
    ------
    InputError
        Bad arrays or options (non-finite mu, decreasing energy).
    ProcessingError
        e0 missing or outside the data, edge_step not positive (failed edge), or too
        few points above the edge.

    Warns
    -----
    QualityWarning
        Data ending before k = 6 A^-1.
    DefaultAdjustedWarning
        rbkg raised or spline size clipped.
    RepairWarning
        Near-duplicate energies merged (``xas.autobk.merged_points``).

    References
    ----------
    Newville et al., Phys. Rev. B 47, 14126 (1993), doi:10.1103/PhysRevB.47.14126;
    Newville, J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964;
    xraylarch ``autobk`` (https://xraypy.github.io/xraylarch/xafs_autobk.html).

    Examples
    --------
    A step with a slowly decaying atomic background and a one-shell chi(k):

    >>> import numpy as np
    >>> e0, k = 8333.0, np.arange(0.3, 14.0, 0.05)
    >>> energy = np.r_[np.arange(8200.0, 8333.0, 2.0), e0 + KTOE * k ** 2]
    >>> kk = np.sqrt(np.clip(energy - e0, 0, None) / KTOE)
    >>> chi_true = 0.3 * np.sin(2 * 2.2 * kk) * np.exp(-0.01 * kk ** 2) / np.maximum(kk, 1)
    >>> mu = 0.2 + (energy > e0) * (1 - 2e-4 * (energy - e0) + chi_true)
    >>> bk = autobk(energy, mu, e0=e0, edge_step=1.0, kweight=2)
    >>> sel = (bk.k_invA > 3) & (bk.k_invA < 12)
    >>> q = bk.k_invA[sel]
    >>> truth = 0.3 * np.sin(4.4 * q) * np.exp(-0.01 * q ** 2) / q
    >>> bool(np.corrcoef(bk.chi[sel], truth)[0, 1] > 0.99)
    True
    """
    mu = np.asarray(mu, dtype=float)
    if mu.ndim != 1:
        raise InputError(f"mu must be 1-D for autobk (use autobk_stack for {mu.shape})")
    if not np.all(np.isfinite(mu)):
        raise InputError("mu contains NaN or inf")
    p = _resolve_params(preset, rbkg, kweight, kmin, kmax, dk, window, kstep, nclamp, clamp_lo,
                        clamp_hi, nknots)
    e0v = None if e0 is None else float(e0)
    stepv = None if edge_step is None else float(edge_step)
    rows = _autobk_rows(energy, mu[None, :], np.array([np.nan if e0v is None else e0v]),
                        np.array([np.nan if stepv is None else stepv]), np.array([np.nan]), p,
                        merge_tol)
    if not rows.valid[0]:
        raise ProcessingError(rows.failures[0])
    op = next(iter(rows.groups.values()))
    records = rows.global_msgs + [rec for _, rec in rows.entries]
    _emit(records)
    params = {**p, "kmax": op.kmax, "rbkg": op.rbkg, "nknots": op.nspl, "irbkg": op.irbkg,
              "iterations": int(rows.iterations[0]), "e0_eV": e0v, "edge_step": stepv,
              "merge_tol": float(merge_tol),
              "merged_points": int(np.size(energy) - rows.energy.size)}
    return Background(k_invA=rows.k, chi=rows.chi[0], energy_eV=rows.energy, bkg=rows.bkg[0],
                      kmax_data_invA=op.kmax_data, e0_eV=e0v, edge_step=stepv,
                      nknots=op.nspl, knots_invA=op.knots, coefs=next(iter(rows.coefs.values()))[0],
                      params=params,
                      warnings=tuple(records),
                      provenance=Provenance("xas.autobk", parameters=dict(params)))


def _per_scan(name, value, n):
    if value is None:
        return np.full(n, np.nan)
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(f"{name} must be a scalar or have shape ({n},), got {arr.shape}")
    return arr


def autobk_stack(energy, mu_stack, *, e0, edge_step, rbkg=1.0, kweight=None, kmin=0.0,
                 kmax=None, dk=None, window=None, kstep=0.05, nclamp=None, clamp_lo=None,
                 clamp_hi=None, nknots=None, preset="larch", merge_tol=MERGE_TOL,
                 on_invalid="nan") -> StackBackground:
    """AUTOBK for N spectra on one energy grid, sharing the factorisation.

    The design matrix depends on E0 (through k = sqrt((E - E0)/KTOE)), the energy grid
    and the parameters, not on mu. Scans are grouped by their exact E0 value; each
    group is factorised once and solved for all its spectra with matrix products
    (a scalar ``e0`` gives one group). Scans with different E0 give one group each:
    pass a common E0 (e.g. the series median) for full speed. Each valid row equals
    :func:`autobk` on that scan (the same code runs both).

    Parameters
    ----------
    energy : array-like, shape (M,)
        Shared increasing energy grid, eV (near-duplicates merged as in :func:`autobk`).
    mu_stack : array-like, shape (N, M)
        Raw mu(E), one scan per row. Rows with NaN or inf fail alone.
    e0 : float or array-like of shape (N,)
        Edge energy per scan (or common), eV.
    edge_step : float or array-like of shape (N,)
        Edge step per scan (or common).
    kmax : float or array-like of shape (N,), optional
        End of the spline range per scan (or common), A^-1; None or NaN -> the last data
        point. Scans are grouped by (E0, kmax). Default is None.
    rbkg, kweight, kmin, dk, window, kstep, nclamp, clamp_lo, clamp_hi, nknots, preset, merge_tol
        As in :func:`autobk`.
    on_invalid : {"nan", "raise"}
        A row that cannot be processed (non-finite mu, e0 outside the data, a
        non-positive edge step): mask it (NaN row, ``valid`` False, reason in
        ``row_warnings``) or raise ProcessingError naming the row. Default is ``"nan"``.

    Returns
    -------
    StackBackground
        chi (N, K) on a common k grid. When E0 differs between groups the default kmax
        (last data point) differs too; the grid is then cut to the shortest group's
        (a DefaultAdjustedWarning).

    Raises
    ------
    InputError
        Bad shapes or options.
    ProcessingError
        No row can be processed, or ``on_invalid="raise"`` and one cannot.

    References
    ----------
    Newville et al., Phys. Rev. B 47, 14126 (1993), doi:10.1103/PhysRevB.47.14126.

    Examples
    --------
    A NaN row fails alone:

    >>> import numpy as np
    >>> e0, k = 8333.0, np.arange(0.3, 14.0, 0.05)
    >>> energy = np.r_[np.arange(8200.0, 8333.0, 2.0), e0 + KTOE * k ** 2]
    >>> mu = 0.2 + (energy > e0) * (1 - 2e-4 * (energy - e0))
    >>> stack = np.vstack([mu, mu, mu])
    >>> stack[1, 50] = np.nan
    >>> st = autobk_stack(energy, stack, e0=e0, edge_step=1.0, kweight=2)
    >>> st.valid.tolist()
    [True, False, True]
    """
    if on_invalid not in ("nan", "raise"):
        raise InputError(f"on_invalid must be 'nan' or 'raise', got {on_invalid!r}")
    mu_stack = np.asarray(mu_stack, dtype=float)
    if mu_stack.ndim == 1:
        mu_stack = mu_stack[None, :]
    if mu_stack.ndim != 2:
        raise InputError(f"mu_stack must have shape (N, M), got {mu_stack.shape}")
    n = mu_stack.shape[0]
    e0s = _per_scan("e0", e0, n)
    steps = _per_scan("edge_step", edge_step, n)
    kmaxs = _per_scan("kmax", kmax, n)
    p = _resolve_params(preset, rbkg, kweight, kmin, None, dk, window, kstep, nclamp, clamp_lo,
                        clamp_hi, nknots)
    rows = _autobk_rows(energy, mu_stack, e0s, steps, kmaxs, p, merge_tol)
    if rows.failures and (on_invalid == "raise" or not rows.valid.any()):
        i = min(rows.failures)
        prefix = "" if n == 1 else f"scan {i} (of {len(rows.failures)} that cannot be processed): "
        raise ProcessingError(prefix + rows.failures[i])
    b = StackWarningsBuilder(n)
    for i, why in sorted(rows.failures.items()):
        b.add(ROW_FAILED, [i], why)
    for idx, rec in rows.entries:
        b.add(rec.code, idx, rec.message)
    row_warnings = b.build()
    summary = list(rows.global_msgs) + list(row_warnings.summary(unit="scans"))
    _emit(summary)
    params = {**p, "kmax": None if kmax is None else (float(kmax) if np.ndim(kmax) == 0
                                                     else "per scan"),
              "n_groups": len(rows.groups),
              "max_iterations": int(rows.iterations.max(initial=0)),
              "merge_tol": float(merge_tol),
              "merged_points": int(np.size(energy) - rows.energy.size)}
    return StackBackground(k_invA=rows.k, chi=rows.chi, energy_eV=rows.energy, bkg=rows.bkg,
                           kmax_data_invA=rows.kmax_data,
                           e0_eV=np.where(rows.valid, e0s, np.nan),
                           edge_step=np.where(rows.valid, steps, np.nan),
                           n_groups=len(rows.groups), params=params,
                           warnings=tuple(summary),
                           provenance=Provenance("xas.autobk_stack", parameters=dict(params)),
                           valid=rows.valid, row_warnings=row_warnings)
