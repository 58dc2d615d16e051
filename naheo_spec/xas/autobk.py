"""EXAFS background removal: the AUTOBK spline, solved by linear least squares.

AUTOBK (Newville et al. 1993) models the atomic background mu0(E) by a cubic
B-spline in k whose knot spacing is set by ``rbkg`` and chooses the spline so
that chi(R) = FT[chi(k) k^w W(k)] is as small as possible for R < rbkg, plus
"clamps" that keep chi(k) near zero at the ends of the data.

xraylarch's ``autobk`` minimises this with ``scipy.optimize.leastsq`` and a
numerical Jacobian (about 10 ms per spectrum). But chi(k) is *linear* in the
spline coefficients for a fixed E0 and energy grid: chi = S (mu - B c), with B
the B-spline basis on the data's k points and S the cubic interpolation from the
data k points onto the uniform output grid. So the low-R Fourier rows
F diag(k^w W) S are a fixed matrix, and the whole fit is a linear least-squares
problem that is built and factorised once per (E0, energy grid, parameters) and
then applied to any number of spectra with a few matrix products.

The only nonlinearity is larch's clamp weight, ``scale = 0.1 + 10 * mean(r^2)``
with r the low-R residual. The exact stationarity condition of larch's
objective is the normal equation of a linear problem with effective clamp weight
``scale^2 / (1 + 20 * scale * |q|^2 / m)`` (q the clamp residual, m the number
of FT rows); it is reached by a fixed-point iteration that re-uses the same
factorisation and converges in 2-3 solves. chi(k) agrees with larch's ``autobk``
to ~1e-6 relative RMS with larch's defaults and to <5e-4 with Athena's strong clamp;
the residual differences are larch's leastsq stopping early (ftol 1e-6): the linear
solution gives a value of larch's own objective that is equal or lower.

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
xraylarch ``larch.xafs.autobk`` (https://xraypy.github.io/xraylarch/xafs_autobk.html);
Demeter ``lib/Demeter/configuration/bkg.demeter_conf`` (Athena defaults).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.interpolate import BSpline
from scipy.linalg import solve_banded

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import (
    DefaultAdjustedWarning,
    InputError,
    ProcessingError,
    QualityWarning,
)
from naheo_spec.provenance import Provenance
from naheo_spec.records import DataArray, Record
from naheo_spec.validation import check_xy
from naheo_spec.xas.fourier import SQRT_PI, check_kweight, ftwindow, window_name

#: hbar^2 / (2 m_e) in eV A^2, E - E0 = KTOE k^2. CODATA 2022 value, the one larch's KTOE
#: takes from scipy.constants (scipy >= 1.15); CODATA 2018 gives 3.8099819442818976.
KTOE = 3.8099821109685847
ETOK = 1.0 / KTOE

#: Data that end below this k (A^-1) give a QualityWarning: too little EXAFS to trust.
KMAX_DATA_WARN = 6.0

PRESETS: dict[str, dict[str, Any]] = {
    "larch": {"kweight": 1, "dk": 0.1, "window": "hanning", "nclamp": 3,
              "clamp_lo": 0.0, "clamp_hi": 1.0},
    "athena": {"kweight": 2, "dk": 0.0, "window": "hanning", "nclamp": 5,
               "clamp_lo": 0.0, "clamp_hi": 24.0},
}

_NFFT = 2048
_MAX_ITER = 20


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
        Energy grid of the input, eV.
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
        nclamp, clamp_lo, clamp_hi, preset, irbkg, iterations).
    warnings : tuple of str
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
    warnings: tuple[str, ...] = ()
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
        Common uniform k grid, A^-1 (cut to the shortest scan when E0 differs).
    chi : ndarray of shape (N, K)
        chi(k) per scan.
    energy_eV : ndarray of shape (M,)
        Shared energy grid, eV.
    bkg : ndarray of shape (N, M)
        mu0(E) per scan.
    kmax_data_invA, e0_eV, edge_step : ndarray of shape (N,)
        Per-scan values.
    n_groups : int
        Number of distinct (E0) groups, i.e. factorisations built.
    params, warnings, provenance
        As in :class:`Background`.
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
    warnings: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance("xas.autobk_stack"))

    def __len__(self) -> int:
        return int(self.chi.shape[0])

    def to_record(self, name: str = "autobk_stack") -> Record:
        """Store k and the (N, K) chi(k) stack (signal ``chi``, axes ``scan``, ``k``)."""
        data = {"scan": DataArray(np.arange(len(self)), "", "scan index"),
                "k": DataArray(self.k_invA, "1/angstrom", "k"),
                "chi": DataArray(self.chi, "", "chi(k)"),
                "e0": DataArray(self.e0_eV, "eV", "E0"),
                "edge_step": DataArray(self.edge_step, "", "edge step")}
        summary = {"n_spectra": len(self), "n_groups": self.n_groups,
                   "n_warnings": len(self.warnings)}
        return Record(name=name, kind="autobk_stack", summary=summary,
                      provenance=self.provenance, data=data, signal="chi", axes=["scan", "k"])


# --------------------------------------------------------------------------------------
# parameters
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


def _check_edge(energy, e0, edge_step, where="") -> None:
    if e0 is None or not np.isfinite(e0):
        raise ProcessingError(f"{where}no edge: e0={e0!r}; pass the edge energy in eV "
                              "(e.g. from naheo_spec.xas.normalize)")
    if not energy[0] < e0 < energy[-1]:
        raise ProcessingError(f"{where}e0 = {e0:.2f} eV is outside the data range "
                              f"{energy[0]:.2f}..{energy[-1]:.2f} eV: no edge to remove a "
                              "background from")
    if edge_step is None or not np.isfinite(edge_step) or edge_step <= 0:
        raise ProcessingError(f"{where}edge_step={edge_step!r}; expected a positive edge step "
                              "(a failed normalisation or no edge in the data)")


# --------------------------------------------------------------------------------------
# the linear operator for one (E0, grid, parameters) group
# --------------------------------------------------------------------------------------
@dataclass
class _Operator:
    iek0: int
    iemax: int
    kout: np.ndarray
    kmax_data: float
    kmax: float
    nspl: int
    irbkg: int
    rbkg: float
    knots: np.ndarray
    basis: np.ndarray          # B: (ne, nspl) spline basis on the data k points
    interp: np.ndarray         # S: (K, ne) cubic interpolation data k -> kout
    ft_rows: np.ndarray        # M: (2 irbkg, ne) low-R FT rows of S
    clamp_rows: np.ndarray     # Sc: (2 nclamp, ne) weighted clamp rows of S
    solver: dict[str, np.ndarray]
    messages: list[str]


def _knots(kraw, kmin, kmax, nspl):
    """Knot vector of larch's interpolating spline through nspl points (not-a-knot)."""
    q = kmin + np.arange(nspl) * (kmax - kmin) / (nspl - 1)
    spl_k = kraw[np.abs(kraw[None, :] - q[:, None]).argmin(axis=1)]
    return np.concatenate([[spl_k[0]] * 4, spl_k[2:-2], [spl_k[-1]] * 4])


def _grid(energy, e0, p):
    """k grids and spline size, following larch autobk step by step."""
    iek0 = int(np.nonzero(energy <= e0)[0].max())
    enpe = energy[iek0:] - e0
    kraw = np.sign(enpe) * np.sqrt(ETOK * np.abs(enpe))
    kmax_data = float(kraw.max())
    kmax = kmax_data if p["kmax"] is None else max(0.0, min(kmax_data, p["kmax"]))
    if kmax - p["kmin"] < 1.0:
        raise ProcessingError(f"the background k range kmin={p['kmin']:.2f}..kmax={kmax:.2f} "
                              "A^-1 is shorter than 1 A^-1: too few data above the edge")
    kout = p["kstep"] * np.arange(int(1.01 + kmax / p["kstep"]), dtype=float)
    itop = np.nonzero(energy <= e0 + kmax * kmax / ETOK)[0].max()
    iemax = min(energy.size, 2 + int(itop)) - 1
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


def _interp_operator(x, xout) -> np.ndarray:
    """Matrix S with S @ y = cubic not-a-knot interpolant of (x, y) evaluated at xout.

    larch interpolates mu - bkg with ``UnivariateSpline(s=0)``: FITPACK's interpolating
    cubic with interior knots x[2:-2] (not-a-knot), extrapolated past the ends. With the
    banded collocation matrix C and the evaluation matrix E, S = E C^-1, computed as one
    banded LU solve of C^T against the columns of E^T.
    """
    knots = np.concatenate([[x[0]] * 4, x[2:-2], [x[-1]] * 4])
    colloc_t = BSpline.design_matrix(x, knots, 3).T.todia()
    upper = max(int(colloc_t.offsets.max()), 0)
    lower = max(-int(colloc_t.offsets.min()), 0)
    banded = np.zeros((lower + upper + 1, x.size))
    for offset, diag in zip(colloc_t.offsets, colloc_t.data):
        banded[upper - offset] = diag
    evaluate_t = BSpline.design_matrix(xout, knots, 3, extrapolate=True).T.toarray()
    return solve_banded((lower, upper), banded, evaluate_t).T


def _build_operator(energy, e0, p) -> _Operator:
    messages: list[str] = []
    iek0, kraw, kmax_data, kmax, kout, iemax = _grid(energy, e0, p)
    kr = kraw[: iemax - iek0 + 1]
    if kr.size < 6:
        raise ProcessingError(f"only {kr.size} data points between E0 and kmax: cannot fit a "
                              "background spline")
    rgrid = np.pi / (p["kstep"] * p["nfft"])
    nspl, irbkg, rbkg = _spline_size(p, kmax, rgrid, messages)
    knots = _knots(kraw, p["kmin"], kmax, nspl)
    basis = BSpline(knots, np.eye(nspl), 3, extrapolate=True)(kr)
    interp = _interp_operator(kr, kout)
    ftwin = kout ** p["kweight"] * ftwindow(kout, xmin=p["kmin"], xmax=kmax, dx=p["dk"],
                                            dx2=p["dk"], window=p["window"])
    phase = 2 * np.pi * np.outer(np.arange(irbkg), np.arange(kout.size)) / p["nfft"]
    dft = np.concatenate([np.cos(phase), -np.sin(phase)]) * (p["kstep"] / SQRT_PI)
    ft_rows = dft @ (ftwin[:, None] * interp)
    nc = min(p["nclamp"], kout.size)
    clamp_rows = np.concatenate([abs(p["clamp_lo"]) * interp[:nc],
                                 abs(p["clamp_hi"]) * interp[kout.size - nc:]])
    solver = _factorise(ft_rows, clamp_rows, basis)
    return _Operator(iek0, iemax, kout, kmax_data, kmax, nspl, irbkg, rbkg, knots, basis,
                     interp, ft_rows, clamp_rows, solver, messages)


def _factorise(ft_rows, clamp_rows, basis) -> dict[str, np.ndarray]:
    """Simultaneously diagonalise A^T A and G^T G (A = M B, G = Sc B).

    With T = V S^-1 Q (A = U S V^T, Q the eigenvectors of S^-1 V^T G^T G V S^-1),
    T^T A^T A T = I and T^T G^T G T = diag(lam), so for any clamp weight a
    c = T [(T^T A^T b + a T^T G^T g) / (1 + a lam)], one factorisation for all a.
    """
    a_mat = ft_rows @ basis
    g_mat = clamp_rows @ basis
    _, sv, vt = np.linalg.svd(a_mat, full_matrices=False)
    if sv[-1] <= 1e-12 * sv[0]:
        raise ProcessingError("the background spline is not constrained by the low-R Fourier "
                              f"components (singular values {sv[0]:.3g}..{sv[-1]:.3g}); "
                              "lower nknots or widen the k range")
    w = vt.T / sv
    lam, q = np.linalg.eigh(w.T @ (g_mat.T @ g_mat) @ w)
    t = w @ q
    return {"A": a_mat, "G": g_mat, "T": t, "lam": np.clip(lam, 0.0, None),
            "U1": t.T @ a_mat.T @ ft_rows, "U2": t.T @ g_mat.T @ clamp_rows}


def _projection(op: _Operator) -> tuple[np.ndarray, list[int]]:
    """All linear maps applied to a mu segment, stacked so one matrix product serves them."""
    blocks = [op.ft_rows, op.clamp_rows, op.solver["U1"], op.solver["U2"], op.interp]
    cuts = np.cumsum([b.shape[0] for b in blocks])[:-1].tolist()
    return np.ascontiguousarray(np.vstack(blocks).T), cuts


def _solve(op: _Operator, b, g, u1, u2) -> tuple[np.ndarray, int, bool]:
    """Spline coefficients (N, nspl) from the projections of N mu segments."""
    s = op.solver
    nrows = b.shape[1]
    alpha = np.full(b.shape[0], 0.01)  # larch's clamp scale 0.1 + 10 <r^2> starts near 0.1
    converged = False
    for it in range(1, _MAX_ITER + 1):
        coefs = ((u1 + alpha[:, None] * u2) / (1 + alpha[:, None] * s["lam"])) @ s["T"].T
        res = b - coefs @ s["A"].T
        qres = g - coefs @ s["G"].T
        scale = 0.1 + 10 * np.mean(res * res, axis=1)
        new = scale ** 2 / (1 + 20 * scale * np.sum(qres * qres, axis=1) / nrows)
        if np.allclose(new, alpha, rtol=1e-9, atol=0):
            converged = True
            break
        alpha = new
    return coefs, it, converged


def _run_group(op, mu_rows, steps):
    """chi (N, K) and bkg (N, M) for the spectra of one operator group (mu_rows is a copy)."""
    seg = mu_rows[:, op.iek0: op.iemax + 1]
    proj, cuts = _projection(op)
    b, g, u1, u2, s_mu = np.split(seg @ proj, cuts, axis=1)
    coefs, niter, converged = _solve(op, b, g, u1, u2)
    chi = (s_mu - coefs @ (op.interp @ op.basis).T) / steps[:, None]
    mu_rows[:, op.iek0: op.iemax + 1] = coefs @ op.basis.T
    return chi, mu_rows, coefs, niter, converged


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


def _emit(records) -> None:
    for r in records:
        r.emit(stacklevel=3)


def _quality_messages(kmax_data, converged, where=""):
    out = []
    if kmax_data < KMAX_DATA_WARN:
        out.append(SHORT_K.record(
            f"{where}data end at k = {kmax_data:.2f} A^-1 (< {KMAX_DATA_WARN:g} A^-1): "
            "chi(k) and chi(R) are unreliable (XANES-only or truncated scan)",
            kmax_data_invA=float(kmax_data)))
    if not converged:
        out.append(NOT_CONVERGED.record(
            f"{where}autobk clamp-weight iteration did not converge in {_MAX_ITER} "
            "solves; chi(k) may differ slightly from larch"))
    return out


def autobk(energy, mu, *, e0, edge_step, rbkg=1.0, kweight=None, kmin=0.0, kmax=None, dk=None,
           window=None, kstep=0.05, nclamp=None, clamp_lo=None, clamp_hi=None, nknots=None,
           preset="larch") -> Background:
    """Remove the EXAFS background with the AUTOBK spline (larch ``autobk`` equivalent).

    Parameters
    ----------
    energy : array-like, shape (M,)
        Strictly increasing energy, eV.
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

    Returns
    -------
    Background
        chi(k) on a uniform k grid, mu0(E), kmax_data_invA and the resolved parameters.

    Raises
    ------
    InputError
        Bad arrays or options.
    ProcessingError
        e0 missing or outside the data, edge_step not positive (failed edge), or too
        few points above the edge.

    Warns
    -----
    QualityWarning
        Data ending before k = 6 A^-1.
    DefaultAdjustedWarning
        rbkg raised or spline size clipped.

    References
    ----------
    Newville et al., Phys. Rev. B 47, 14126 (1993), doi:10.1103/PhysRevB.47.14126;
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
    energy, mu = check_xy(energy, mu)
    if mu.ndim != 1:
        raise InputError(f"mu must be 1-D for autobk (use autobk_stack for {mu.shape})")
    p = _resolve_params(preset, rbkg, kweight, kmin, kmax, dk, window, kstep, nclamp, clamp_lo,
                        clamp_hi, nknots)
    _check_edge(energy, e0, edge_step)
    op = _build_operator(energy, float(e0), p)
    chi, bkg, coefs, niter, converged = _run_group(op, mu[None, :].copy(),
                                                   np.array([float(edge_step)]))
    adjusted = list(op.messages)
    quality = _quality_messages(op.kmax_data, converged)
    _emit(adjusted)
    _emit(quality)
    params = {**p, "kmax": op.kmax, "rbkg": op.rbkg, "nknots": op.nspl, "irbkg": op.irbkg,
              "iterations": niter, "e0_eV": float(e0), "edge_step": float(edge_step)}
    return Background(k_invA=op.kout, chi=chi[0], energy_eV=energy, bkg=bkg[0],
                      kmax_data_invA=op.kmax_data, e0_eV=float(e0), edge_step=float(edge_step),
                      nknots=op.nspl, knots_invA=op.knots, coefs=coefs[0], params=params,
                      warnings=tuple(adjusted + quality),
                      provenance=Provenance("xas.autobk", parameters=dict(params)))


def _per_scan(name, value, n):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(f"{name} must be a scalar or have shape ({n},), got {arr.shape}")
    return arr


def autobk_stack(energy, mu_stack, *, e0, edge_step, rbkg=1.0, kweight=None, kmin=0.0,
                 kmax=None, dk=None, window=None, kstep=0.05, nclamp=None, clamp_lo=None,
                 clamp_hi=None, nknots=None, preset="larch") -> StackBackground:
    """AUTOBK for N spectra on one energy grid, sharing the factorisation.

    The design matrix depends on E0 (through k = sqrt((E - E0)/KTOE)), the energy grid
    and the parameters, not on mu. Scans are grouped by their exact E0 value; each
    group is factorised once and solved for all its spectra with matrix products
    (a scalar ``e0`` gives one group). Scans with different E0 give one group each:
    pass a common E0 (e.g. the series median) for full speed. Each row equals
    :func:`autobk` on that scan.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Shared strictly increasing energy grid, eV.
    mu_stack : array-like, shape (N, M)
        Raw mu(E), one scan per row.
    e0 : float or array-like of shape (N,)
        Edge energy per scan (or common), eV.
    edge_step : float or array-like of shape (N,)
        Edge step per scan (or common).
    rbkg, kweight, kmin, kmax, dk, window, kstep, nclamp, clamp_lo, clamp_hi, nknots, preset
        As in :func:`autobk`.

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
        A scan with e0 outside the data or a non-positive edge step (the message names
        the scan index).

    References
    ----------
    Newville et al., Phys. Rev. B 47, 14126 (1993), doi:10.1103/PhysRevB.47.14126.
    """
    energy, mu_stack = check_xy(energy, mu_stack, names=("energy", "mu_stack"))
    if mu_stack.ndim == 1:
        mu_stack = mu_stack[None, :]
    if mu_stack.ndim != 2:
        raise InputError(f"mu_stack must have shape (N, {energy.size}), got {mu_stack.shape}")
    n = mu_stack.shape[0]
    e0s = _per_scan("e0", e0, n)
    steps = _per_scan("edge_step", edge_step, n)
    bad = ~(np.isfinite(e0s) & (e0s > energy[0]) & (e0s < energy[-1])
            & np.isfinite(steps) & (steps > 0))
    if bad.any():
        i = int(np.nonzero(bad)[0][0])
        _check_edge(energy, e0s[i], steps[i], where=f"scan {i} (of {int(bad.sum())} bad): ")
    p = _resolve_params(preset, rbkg, kweight, kmin, kmax, dk, window, kstep, nclamp, clamp_lo,
                        clamp_hi, nknots)
    groups = {}
    for value in np.unique(e0s):
        idx = np.nonzero(e0s == value)[0]
        groups[float(value)] = (idx, _build_operator(energy, float(value), p))
    kpts = min(op.kout.size for _, op in groups.values())
    chi = np.empty((n, kpts))
    bkg = np.empty_like(mu_stack)
    kmax_data = np.empty(n)
    adjusted, quality, iters = [], [], []
    for value, (idx, op) in groups.items():
        c, b, _, niter, converged = _run_group(op, mu_stack[idx], steps[idx])
        chi[idx] = c[:, :kpts]
        bkg[idx] = b
        kmax_data[idx] = op.kmax_data
        iters.append(niter)
        adjusted += [m for m in op.messages if m not in adjusted]
        quality += _quality_messages(op.kmax_data, converged, where=f"E0 {value:.2f} eV group: ")
    if any(op.kout.size != kpts for _, op in groups.values()):
        adjusted.append(KGRID_CUT.record(
            f"k grid cut to the shortest of {len(groups)} E0 groups "
            f"({kpts} points, k <= {(kpts - 1) * p['kstep']:.2f} A^-1)"))
    _emit(adjusted)
    _emit(quality)
    params = {**p, "n_groups": len(groups), "max_iterations": int(max(iters))}
    return StackBackground(k_invA=p["kstep"] * np.arange(kpts, dtype=float), chi=chi,
                           energy_eV=energy, bkg=bkg, kmax_data_invA=kmax_data, e0_eV=e0s,
                           edge_step=steps, n_groups=len(groups), params=params,
                           warnings=tuple(adjusted + quality),
                           provenance=Provenance("xas.autobk_stack", parameters=dict(params)))
