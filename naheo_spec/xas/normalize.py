"""XANES normalization: pre-edge line, post-edge polynomial, edge step, flattening.

The algorithm and every default rule are those of ``larch.xafs.pre_edge``
(xraylarch 2026.3.1, ``larch/xafs/pre_edge.py``), re-implemented in vectorized
numpy so that one spectrum and a stack of 10^4 spectra go through the same code:

1. E0: given, or the larch maximum-derivative estimate (:func:`naheo_spec.xas.e0.find_e0`).
2. A line is fitted to ``mu * E**nvict`` over ``[e0 + pre1, e0 + pre2]``
   (``pre_edge = line * E**-nvict``).
3. A polynomial of degree ``nnorm`` is fitted to ``mu - pre_edge`` over
   ``[e0 + norm1, e0 + norm2]``; ``post_edge = pre_edge + polynomial``.
4. ``edge_step = post_edge - pre_edge`` at the grid point nearest E0 (larch evaluates
   it there, not at E0 itself); ``norm = (mu - pre_edge) / edge_step``.
5. ``flat``: above E0 the post-edge curvature is removed, ``flat = norm - p(E)/step +
   p(E0)/step`` with ``p`` the post-edge polynomial (larch's ``group.flat``), or, with
   ``flat_method="quadratic"``, a polynomial of degree ``min(nnorm, 2)`` fitted to
   ``norm`` over the normalization range (larch's ``group.flat_alt``, which larch fits
   with lmfit; the model is linear in its coefficients, so a plain linear least-squares
   solve gives the same minimum).

Default rules when a value is None (larch's code, which differs from its docstring):

* ``pre1`` = energy of the 2nd point relative to E0, rounded to 5 eV (to 2 eV when E0
  lies within the first 20 points), and never below the first point;
  ``pre2 = pre1 / 2``.
* ``norm2`` = last energy relative to E0, rounded to 5 eV, never beyond the data;
  ``norm1 = min(25, 5 * round(norm2 / 15))``; ``norm1 <= norm2 - 2``.
* ``nnorm`` (polynomial **degree**) = 2 if ``norm2 - norm1 >= 300`` eV, 1 if ``>= 30``, else 0;
  cut to 1 when the range holds fewer than 5 points and to 0 below 2.
* Fewer than 3 points in the pre-edge range: a constant (mean) pre-edge, ``nvict = 0``.

Noise: every result carries ``noise_sigma``, the white-noise level of mu estimated
from the data (:func:`naheo_spec.numerics.smooth.noise_sigma`), and ``edge_step_err``
propagated from it through the two fits.

larch applies the last rules, and clips user ranges to the data, silently. Here
every change to a value the user (or the preset) asked for emits a
:class:`~naheo_spec.errors.DefaultAdjustedWarning` recorded in ``warnings``; a range
that is unusable on this scan (e.g. Athena's -150..-30 eV on a XANES-only scan that
starts 24 eV below the edge) falls back to the larch default rule for that range.

References
----------
.. [1] M. Newville, "Larch: an analysis package for XAFS and related spectroscopies",
   J. Phys.: Conf. Ser. 430, 012007 (2013), doi:10.1088/1742-6596/430/1/012007;
   ``larch.xafs.pre_edge`` documentation, https://xraypy.github.io/xraylarch/xafs_preedge.html
.. [2] B. Ravel and M. Newville, "ATHENA, ARTEMIS, HEPHAESTUS", J. Synchrotron Rad. 12,
   537 (2005), doi:10.1107/S0909049505012719 (Athena normalization defaults).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord, warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import (
    DefaultAdjustedWarning,
    InputError,
    ProcessingError,
    QualityWarning,
)
from naheo_spec.numerics.polyfit import (
    PolyFit,
    index_nearest,
    index_of,
    index_of_relative,
    leverage_at,
)
from naheo_spec.numerics.smooth import noise_columns, noise_from_rows, noise_sigma
from naheo_spec.provenance import Provenance
from naheo_spec.records import DataArray, Record
from naheo_spec.validation import check_xy

#: Normalization presets. Ranges are eV relative to E0; a negative ``norm2`` counts
#: from the end of the data (Athena's convention: -100 = "end - 100 eV").
#: ``nnorm`` is the polynomial degree (Athena's project value 3 = 3 coefficients = 2 here).
PRESETS: dict[str, dict[str, Any]] = {
    "larch": {"pre_range": None, "norm_range": None, "nnorm": None},
    "athena": {"pre_range": (-150.0, -30.0), "norm_range": (150.0, -100.0), "nnorm": 2},
}

FLAT_METHODS = ("polynomial", "quadratic")
MAX_NNORM = 5
#: A normalization range shorter than this (eV) makes the edge step depend on the
#: range choice (XANES-only scans); a QualityWarning says so.
SHORT_NORM_RANGE_EV = 100.0
#: An edge step below this many noise standard deviations is not an edge.
MIN_STEP_OVER_NOISE = 5.0
#: Fewer points than this cannot hold a pre-edge line, an edge and a post-edge fit.
MIN_XAS_POINTS = 12
#: Windows (eV from E0) that must hold data on both sides of the edge, and over which
#: the normalized mu must rise by at least MIN_RISE (mean above - mean below).
EDGE_SIDE_EV = (10.0, 60.0)
MIN_RISE = 0.5

_A, _Q = DefaultAdjustedWarning, QualityWarning
#: Coded warnings of the normalization (``xas.normalize.<name>``).
NOTE_CODES: dict[str, WarningCode] = {name: WarningCode(f"xas.normalize.{name}", cat, desc)
                                      for name, cat, desc in (
    ("pre1_clipped", _A, "pre1 lies below the first energy point; clipped to the data start."),
    ("pre_range_fallback", _A, "The requested pre-edge range holds < 3 points; larch default used."),
    ("pre_constant", _A, "The pre-edge range holds < 3 points; a constant pre-edge was used."),
    ("norm2_clipped", _A, "norm2 lies beyond the last energy point; clipped to the data end."),
    ("norm_range_fallback", _A, "The requested normalization range does not fit the scan; "
                                "larch default used."),
    ("nnorm_fallback", _A, "nnorm replaced by the default degree of the default range."),
    ("nnorm_reduced", _A, "Too few normalization points: post-edge degree reduced."),
    ("short_norm_range", _Q, "The normalization range spans < 100 eV: the edge step depends on "
                             "the range choice."),
    ("edge_shape", _Q, "The normalized spectrum does not look like an absorption edge."))}
NO_EDGE = WarningCode("xas.normalize.no_edge", QualityWarning,
                      "Some spectra of a stack have no usable absorption edge; their rows are NaN.")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False, repr=False)
class Normalization(ResultDisplay):
    """Normalized XANES of one spectrum.

    Attributes
    ----------
    energy, mu : ndarray of shape (M,)
        Input energy (eV) and absorption.
    e0_eV : float
        Edge energy used (eV).
    edge_step : float
        ``post_edge - pre_edge`` at the grid point nearest E0 (units of ``mu``).
    norm, flat, pre_edge, post_edge : ndarray of shape (M,)
        Normalized and flattened mu (dimensionless), pre-edge line and post-edge curve
        (units of ``mu``) on ``energy``.
    pre_range_eV, norm_range_eV : tuple of float
        Fit ranges actually used, eV relative to E0.
    nnorm : int
        Post-edge polynomial degree actually used.
    nvict : int
        Victoreen exponent actually used (0 when the pre-edge fell back to a constant).
    preset : str
        Preset the defaults came from.
    warnings : tuple of str
        Every automatic adjustment and quality flag.
    provenance : Provenance
        Step ``"xas.normalize"`` with every parameter resolved.
    pre_degree : int
        1 for a pre-edge line, 0 for the constant fallback.
    flat_method : str
        ``"polynomial"`` (larch ``flat``) or ``"quadratic"`` (larch ``flat_alt``).
    noise_sigma : float
        White-noise level of ``mu`` estimated from the data (units of ``mu``), NaN if unknown.
    edge_step_err : float
        Standard error of ``edge_step`` propagated from ``noise_sigma`` through the two fits.
    fit_leverage : tuple of float
        Variance factors of the pre-edge line and of the post-edge polynomial at E0
        (the fitted value has variance ``noise_sigma**2 * factor``).
    """

    energy: np.ndarray
    mu: np.ndarray
    e0_eV: float
    edge_step: float
    norm: np.ndarray
    flat: np.ndarray
    pre_edge: np.ndarray
    post_edge: np.ndarray
    pre_range_eV: tuple[float, float]
    norm_range_eV: tuple[float, float]
    nnorm: int
    nvict: int
    preset: str
    warnings: tuple[str, ...]
    provenance: Provenance
    pre_degree: int = 1
    flat_method: str = "polynomial"
    noise_sigma: float = float("nan")
    edge_step_err: float = float("nan")
    fit_leverage: tuple[float, float] = (float("nan"), float("nan"))

    def to_record(self, name: str) -> Record:
        """Return a :class:`~naheo_spec.records.Record` (kind ``"xanes_norm"``) for the store."""
        summary = {"e0_eV": self.e0_eV, "edge_step": self.edge_step,
                   "edge_step_err": self.edge_step_err,
                   "pre1_eV": self.pre_range_eV[0], "pre2_eV": self.pre_range_eV[1],
                   "norm1_eV": self.norm_range_eV[0], "norm2_eV": self.norm_range_eV[1],
                   "nnorm": self.nnorm, "nvict": self.nvict, "preset": self.preset,
                   "warnings": warnings_json(self.warnings)}
        data = {"energy": DataArray(self.energy, "eV", "X-ray energy"),
                "mu": DataArray(self.mu, "", "absorption"),
                "norm": DataArray(self.norm, "", "normalized absorption"),
                "flat": DataArray(self.flat, "", "flattened normalized absorption"),
                "pre_edge": DataArray(self.pre_edge, "", "pre-edge line"),
                "post_edge": DataArray(self.post_edge, "", "post-edge curve")}
        return Record(name=name, kind="xanes_norm", summary=summary, data=data,
                      signal="norm", axes=["energy"], provenance=self.provenance)

    def display_title(self) -> str:
        return f"{self.preset} preset"

    def display_items(self):
        yield ("E0", self.e0_eV, None, "eV")
        yield ("edge step", self.edge_step, None, "")
        yield ("pre-edge range", f"{self.pre_range_eV[0]:g}..{self.pre_range_eV[1]:g}", None, "eV")
        yield ("normalization range", f"{self.norm_range_eV[0]:g}..{self.norm_range_eV[1]:g}",
               None, "eV")
        yield ("nnorm", self.nnorm, None, "")


@dataclass(frozen=True, eq=False)
class StackNormalization:
    """Normalized XANES of N spectra on one energy grid.

    Attributes
    ----------
    energy : ndarray of shape (M,)
        Common energy grid (eV).
    e0_eV, edge_step, edge_step_err, noise_sigma : ndarray of shape (N,)
        As in :class:`Normalization`, one value per spectrum.
    norm, flat : ndarray of shape (N, M)
    pre_edge, post_edge : ndarray of shape (N, M) or None
        Only with ``keep_curves=True``.
    pre_range_eV, norm_range_eV : ndarray of shape (N, 2)
        Fit ranges used (eV relative to each spectrum's E0).
    nnorm, nvict, pre_degree : ndarray of int, shape (N,)
    valid : ndarray of bool, shape (N,)
        False where no edge could be normalized (rows of NaN; the reason is in ``warnings``).
    preset, flat_method : str
    warnings : tuple of str
        Adjustments, each with the number of spectra concerned.
    provenance : Provenance
    failures : dict of int to str
        Why each invalid row could not be normalized: the message :func:`normalize` raises
        for that spectrum (sparse: only the invalid rows).
    row_notes : tuple of (WarningCode, ndarray of int, tuple of str)
        The adjustments of :func:`normalize`, row by row: for each note, the rows it
        applies to and the message :func:`normalize` gives for each of them.
    """

    energy: np.ndarray
    e0_eV: np.ndarray
    edge_step: np.ndarray
    norm: np.ndarray
    flat: np.ndarray
    pre_edge: np.ndarray
    post_edge: np.ndarray
    pre_range_eV: np.ndarray
    norm_range_eV: np.ndarray
    nnorm: np.ndarray
    nvict: np.ndarray
    pre_degree: np.ndarray
    valid: np.ndarray
    edge_step_err: np.ndarray
    noise_sigma: np.ndarray
    fit_leverage: np.ndarray
    preset: str
    flat_method: str
    warnings: tuple[str, ...]
    provenance: Provenance
    failures: dict = field(default_factory=dict)
    row_notes: tuple = ()

    def __len__(self) -> int:
        return int(self.norm.shape[0])

    def to_record(self, name: str) -> Record:
        """Return a :class:`~naheo_spec.records.Record` (kind ``"xanes_norm_stack"``)."""
        summary = {"n_spectra": len(self), "n_valid": int(self.valid.sum()),
                   "e0_eV_median": float(np.nanmedian(self.e0_eV)),
                   "edge_step_median": float(np.nanmedian(self.edge_step)),
                   "preset": self.preset, "warnings": warnings_json(self.warnings)}
        data = {"energy": DataArray(self.energy, "eV", "X-ray energy"),
                "norm": DataArray(self.norm, "", "normalized absorption"),
                "e0": DataArray(self.e0_eV, "eV", "edge energy"),
                "edge_step": DataArray(self.edge_step, "", "edge step")}
        return Record(name=name, kind="xanes_norm_stack", summary=summary, data=data,
                      signal="norm", axes=["spectrum", "energy"], provenance=self.provenance)


# --------------------------------------------------------------------------- options
@dataclass(frozen=True)
class _Request:
    """User/preset request, before resolution against the data."""

    pre1: float | None
    pre2: float | None
    norm1: float | None
    norm2: float | None
    nnorm: int | None
    nvict: int
    preset: str
    flat_method: str


def _as_pair(name: str, value) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a pair (low, high) in eV relative to E0, got {value!r}"
                         ) from None
    conv = [None if v is None else float(v) for v in (lo, hi)]
    if any(v is not None and not np.isfinite(v) for v in conv):
        raise InputError(f"{name} must hold finite numbers or None, got {value!r}")
    return conv[0], conv[1]


def _make_request(pre_range, norm_range, nnorm, nvict, preset, flat_method) -> _Request:
    if preset not in PRESETS:
        raise InputError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    if flat_method not in FLAT_METHODS:
        raise InputError(f"flat_method must be one of {FLAT_METHODS}, got {flat_method!r}")
    p = PRESETS[preset]
    pre1, pre2 = _as_pair("pre_range", p["pre_range"] if pre_range is None else pre_range)
    norm1, norm2 = _as_pair("norm_range", p["norm_range"] if norm_range is None else norm_range)
    nnorm = p["nnorm"] if nnorm is None else nnorm
    if nnorm is not None and (int(nnorm) != nnorm or not 0 <= nnorm <= MAX_NNORM):
        raise InputError(f"nnorm is the post-edge polynomial degree, an integer 0..{MAX_NNORM}; "
                         f"got {nnorm!r}")
    if int(nvict) != nvict or not 0 <= nvict <= 4:
        raise InputError(f"nvict must be an integer 0..4, got {nvict!r}")
    return _Request(pre1, pre2, norm1, norm2, None if nnorm is None else int(nnorm),
                    int(nvict), preset, flat_method)


# --------------------------------------------------------------------------- resolution
@dataclass
class _Plan:
    """Resolved ranges and fit indices for K edge energies (arrays of shape (K,))."""

    e0: np.ndarray
    ie0: np.ndarray
    pre1: np.ndarray
    pre2: np.ndarray
    norm1: np.ndarray
    norm2: np.ndarray
    npre: np.ndarray
    nvict: np.ndarray
    nnorm: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    q1: np.ndarray
    q2: np.ndarray
    f1: np.ndarray
    f2: np.ndarray
    norm_fallback: np.ndarray | None = None      # the requested norm range was replaced
    nnorm_req: np.ndarray | None = None          # degree before the too-few-points cut
    nnorm_rule: np.ndarray | None = None         # larch's degree for the resolved range
    notes: list = field(default_factory=list)   # (mask (K,), code name, message template)

    def note(self, mask, code, message):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.notes.append((mask, NOTE_CODES[code], message))


def _default_pre1(energy, e0, ie0):
    rel = energy[1] - e0
    return np.where(ie0 > 20, 5.0 * np.round(rel / 5.0), 2.0 * np.round(rel / 2.0))


def _resolve_pre(energy, e0, ie0, req: _Request, plan: _Plan):
    d1 = np.maximum(_default_pre1(energy, e0, ie0), energy[0] - e0)
    user = req.pre1 is not None or req.pre2 is not None
    pre1 = d1 if req.pre1 is None else np.maximum(req.pre1, energy[0] - e0)
    pre2 = 0.5 * pre1 if req.pre2 is None else np.full_like(e0, req.pre2)
    lo, hi = np.minimum(pre1, pre2), np.maximum(pre1, pre2)
    bad = np.zeros(e0.shape, dtype=bool)
    if user:
        i1 = index_of_relative(energy, e0, lo)
        i2 = index_of_relative(energy, e0, hi)
        bad = (i2 - i1 < 3) | (hi <= energy[0] - e0)
    if req.pre1 is not None:
        plan.note((pre1 > req.pre1) & ~bad, "pre1_clipped",
                  f"pre1 = {req.pre1:g} eV lies below the first energy point; clipped to the data "
                  "start ({pre1} eV)")
    if user:
        plan.note(bad, "pre_range_fallback",
                  f"pre_range ({req.pre1}, {req.pre2}) eV holds fewer than 3 points of this scan "
                  "(data start {start} eV from E0); used the larch default ({dpre1}, {dpre2}) eV")
        lo = np.where(bad, d1, lo)
        hi = np.where(bad, 0.5 * d1, hi)
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    ipre1 = index_of_relative(energy, e0, lo)
    ipre2 = index_of_relative(energy, e0, hi)
    npre = np.where(ipre2 - ipre1 < 3, 0, 1)
    plan.note(npre == 0, "pre_constant",
              "the pre-edge range holds fewer than 3 points; used a constant pre-edge "
              "(mean) and nvict = 0")
    plan.pre1, plan.pre2, plan.npre = lo, hi, npre
    plan.nvict = np.where(npre == 0, 0, req.nvict)
    m = energy.size
    p1 = index_of(energy, lo + e0)
    p2 = index_nearest(energy, hi + e0)
    p2 = np.where(npre == 0, np.where(p2 == p1, p2 + 1, p2),
                  np.where(p2 - p1 < 2, np.minimum(m, p1 + 2), p2))
    plan.p1, plan.p2 = p1, p2


def _default_norm(energy, e0):
    span = energy[-1] - e0
    norm2 = np.minimum(5.0 * np.round(span / 5.0), span)
    norm1 = np.minimum(25.0, 5.0 * np.round(norm2 / 15.0))
    return norm1, norm2


def _resolve_norm(energy, e0, req: _Request, plan: _Plan):
    span = energy[-1] - e0
    d1, d2 = _default_norm(energy, e0)
    if req.norm2 is None:
        norm2 = d2
    else:
        want = req.norm2 if req.norm2 >= 0 else span + req.norm2   # negative: from the end
        norm2 = np.minimum(want, span)
        plan.note(want > span + 1e-9, "norm2_clipped",
                  f"norm2 = {req.norm2:g} eV lies beyond the last energy point; clipped to "
                  "the data end ({norm2} eV)")
    norm1 = np.minimum(25.0, 5.0 * np.round(norm2 / 15.0)) if req.norm1 is None \
        else np.full_like(e0, req.norm1)
    if req.norm1 is not None or req.norm2 is not None:
        lo, hi = np.minimum(norm1, norm2), np.maximum(norm1, norm2)
        npts = index_nearest(energy, hi + e0) - index_of(energy, lo + e0)
        bad = (norm1 >= norm2) | (lo >= span - 2.0) | (npts < 3)
        plan.note(bad, "norm_range_fallback",
                  f"norm_range ({req.norm1}, {req.norm2}) eV does not fit this scan (data end "
                  "{end} eV from E0); used the larch default ({dnorm1}, {dnorm2}) eV")
        norm1, norm2 = np.where(bad, d1, norm1), np.where(bad, d2, norm2)
        plan.norm_fallback = bad
    norm1, norm2 = np.minimum(norm1, norm2), np.maximum(norm1, norm2)
    norm1 = np.minimum(norm1, norm2 - 2.0)
    plan.norm1, plan.norm2 = norm1, norm2


def _resolve_nnorm(energy, e0, req: _Request, plan: _Plan):
    width = plan.norm2 - plan.norm1
    rule = np.where(width < 30, 0, np.where(width < 300, 1, 2))
    if req.nnorm is None:
        nnorm = rule
    else:
        # a range that fell back to the larch default takes the default degree too
        fallback = plan.norm_fallback if plan.norm_fallback is not None \
            else np.zeros(e0.shape, dtype=bool)
        nnorm = np.where(fallback, rule, req.nnorm)
        plan.note(fallback & (rule != req.nnorm), "nnorm_fallback",
                  f"nnorm = {req.nnorm} replaced by the larch default degree {{nnorm_rule}} that "
                  "goes with the default normalization range")
    m = energy.size
    q1 = np.minimum(index_of(energy, plan.norm1 + e0), m - 3)
    q2 = index_nearest(energy, plan.norm2 + e0)
    few, some = (q2 - q1 < 2), (q2 - q1 < 5)
    q1 = np.where(few, np.maximum(q1 - 2, 0), q1)
    reduced = np.where(few, 0, np.where(some, np.minimum(1, nnorm), nnorm))
    plan.note(reduced < nnorm, "nnorm_reduced",
              "the normalization range holds only {npts} points; post-edge polynomial degree "
              "reduced from {nnorm_req} to {nnorm}")
    plan.nnorm, plan.q1, plan.q2 = reduced, q1, q2
    f1 = index_of(energy, plan.norm1 + e0)
    f2 = index_nearest(energy, plan.norm2 + e0)
    plan.f1, plan.f2 = f1, np.where(f2 - f1 < 2, np.minimum(m, f1 + 2), f2)
    plan.note(width < SHORT_NORM_RANGE_EV, "short_norm_range",
              f"the normalization range spans less than {SHORT_NORM_RANGE_EV:g} eV "
              "({norm1}..{norm2} eV): the edge step depends on this choice (XANES-only scan?); "
              "report the ranges with the result")
    plan.nnorm_req, plan.nnorm_rule = nnorm, rule


def _resolve(energy: np.ndarray, e0: np.ndarray, req: _Request) -> _Plan:
    """Resolve ranges and fit indices for each edge energy in ``e0`` (shape (K,))."""
    ie0 = index_nearest(energy, e0)
    empty = np.zeros(e0.shape, dtype=int)
    plan = _Plan(e0=e0, ie0=ie0, pre1=e0 * 0, pre2=e0 * 0, norm1=e0 * 0, norm2=e0 * 0,
                 npre=empty, nvict=empty, nnorm=empty, p1=empty, p2=empty, q1=empty, q2=empty,
                 f1=empty, f2=empty)
    _resolve_pre(energy, e0, ie0, req, plan)
    _resolve_norm(energy, e0, req, plan)
    _resolve_nnorm(energy, e0, req, plan)
    return plan


def _format_note(template: str, plan: _Plan, energy: np.ndarray, k: int) -> str:
    e0 = plan.e0[k]
    d1 = np.maximum(_default_pre1(energy, plan.e0[k:k + 1], plan.ie0[k:k + 1])[0],
                    energy[0] - e0)
    dn1, dn2 = _default_norm(energy, plan.e0[k:k + 1])
    values = {"pre1": plan.pre1[k], "norm2": plan.norm2[k], "norm1": plan.norm1[k],
              "start": energy[0] - e0, "end": energy[-1] - e0, "dpre1": d1, "dpre2": 0.5 * d1,
              "dnorm1": dn1[0], "dnorm2": dn2[0], "npts": int(plan.q2[k] - plan.q1[k]),
              "nnorm": int(plan.nnorm[k]), "nnorm_req": int(plan.nnorm_req[k]),
              "nnorm_rule": int(plan.nnorm_rule[k])}
    return template.format(**{key: (f"{v:.4g}" if isinstance(v, (float, np.floating)) else v)
                              for key, v in values.items()})


# --------------------------------------------------------------------------- core
_KEY_FIELDS = ("ie0", "p1", "p2", "npre", "nvict", "q1", "q2", "nnorm", "f1", "f2")
#: Rows normalized together: the working arrays (a few x _CHUNK x M floats) stay in
#: the L2/L3 cache, and the per-chunk Python overhead stays small against the work.
_CHUNK = 256


def noise_rows(energy: np.ndarray, mu: np.ndarray, e0: np.ndarray) -> np.ndarray:
    """Noise level of each row (:func:`naheo_spec.numerics.smooth.noise_sigma`), with the
    edge at the grid point nearest its E0 (as in the normalization groups)."""
    return noise_sigma(energy, mu, energy[index_nearest(energy, e0)])


_GRID_MEMO: dict[bytes, dict] = {}
_MEMO_ENTRIES = 1024


def _grid_memo(energy: np.ndarray) -> dict:
    """A dict of things computed from this energy grid alone (resolved plans, fit
    operators, the group fits of :func:`normalize_stack`), kept across calls: a stack's
    blocks share their grid, so the blocks after the first reuse them (the same arrays,
    hence the same numbers). A few grids and up to ``_MEMO_ENTRIES`` entries each (some
    tens of kB each) are kept."""
    key = np.ascontiguousarray(energy, dtype=float).tobytes()
    memo = _GRID_MEMO.get(key)
    if memo is None:
        if len(_GRID_MEMO) >= 8:
            _GRID_MEMO.clear()
        memo = _GRID_MEMO[key] = {}
    elif len(memo) > _MEMO_ENTRIES:
        memo.clear()
    return memo


class _GroupFit:
    """Precomputed fits for one set of fit indices, applied to blocks of spectra.

    Every fit is linear in mu, so the pseudo-inverses and the basis curves are built
    once per group (:class:`~naheo_spec.numerics.polyfit.PolyFit`) and a block of spectra
    costs a few passes over arrays that stay in cache. The scalars of a row -- pre-edge
    coefficients, edge step, rise -- are linear functionals of mu (the post-edge fit of
    ``mu - pre`` is the post-edge fit of mu minus that of the pre-edge curve, a small
    fixed matrix), so they are found before any (G, M) array is written, and ``norm`` is
    then ``mu / step - (pre coefficients / step) . basis``: two element-wise passes and
    one product, with no separate ``mu - pre`` and scaling passes. All element-wise work
    is on whole C-contiguous (G, M) arrays: numpy runs those several times faster than
    the same operation on column slices.
    """

    def __init__(self, energy: np.ndarray, key: dict, flat_method: str):
        self.key, self.flat_method = key, flat_method
        self.ie0 = ie0 = key["ie0"]
        m = energy.size
        self.pre_rows = pre_rows = slice(key["p1"], key["p2"])
        if key["npre"] == 0:                        # constant pre-edge: the mean
            npts = key["p2"] - key["p1"]
            self.pre_proj = np.full((npts, 1), 1.0 / max(1, npts))
            pre_basis = np.ones((m, 1))
            lev_pre = 1.0 / max(1, npts)
        else:
            w = energy ** key["nvict"] if key["nvict"] else None
            pre = PolyFit(energy, pre_rows, 1, weight=w)
            self.pre_proj, pre_basis = pre.proj, pre.basis
            lev_pre = pre.leverage(ie0) if w is None else \
                leverage_at(energy, pre_rows, 1, energy[ie0])
        self.pre_basis_t = np.ascontiguousarray(pre_basis.T)
        self.post = post = PolyFit(energy, slice(key["q1"], key["q2"]), key["nnorm"])
        self.lev = (lev_pre, post.leverage(ie0))
        # post-edge coefficients of the pre-edge curve (per pre-edge coefficient), and the
        # post-edge value at E0 as one functional: step = mu[q] . v - c . u
        self.pre_on_post = pre_basis[post.rows].T @ post.proj      # (kp, nnorm + 1)
        self.step_v = post.proj @ post.basis[ie0]
        self.step_u = self.pre_on_post @ post.basis[ie0]
        # flat = norm - (p(E) - p(E[ie0])) / step from ie0 on: the constant term drops
        # out, so the higher basis functions minus their value at ie0 are kept, and set
        # to zero below ie0 (one full-width product instead of work on column slices).
        flat_fit = post if flat_method == "polynomial" else \
            PolyFit(energy, slice(key["f1"], key["f2"]), min(key["nnorm"], 2))
        self.flat_fit = flat_fit
        self.flat_basis_t = np.zeros((flat_fit.basis.shape[1] - 1, m))
        self.flat_basis_t[:, ie0:] = (flat_fit.basis[ie0:, 1:] - flat_fit.basis[ie0, 1:]).T
        self.noise_cols = noise_columns(energy, float(energy[ie0]))
        # rise = mean(norm above) - mean(norm below): one functional of mu on the columns
        # of the two windows, minus that of the pre-edge curve, over the step
        rel = energy - energy[ie0]
        below = slice(*_span(rel, -EDGE_SIDE_EV[1], -EDGE_SIDE_EV[0]))
        above = slice(*_span(rel, EDGE_SIDE_EV[0], EDGE_SIDE_EV[1]))
        self.rise_weights = None
        if below.stop > below.start and above.stop > above.start:
            self.rise_cols = slice(below.start, above.stop)
            wts = np.zeros(m)
            wts[above] = 1.0 / (above.stop - above.start)
            wts[below] = -1.0 / (below.stop - below.start)
            self.rise_weights = wts[self.rise_cols]
            self.rise_u = pre_basis[self.rise_cols].T @ self.rise_weights

    def apply(self, mu: np.ndarray, out: dict, work: np.ndarray) -> None:
        """Normalize the rows of ``mu`` (G, M), writing into the (G, ...) views in ``out``.

        ``mu`` and the (G, M) outputs must be C-contiguous; ``out["norm"]`` may be ``mu``
        itself (a scratch copy of the rows: it is overwritten, after everything taken
        from mu has been read). ``work`` is a scratch array of at least 2 G M floats.
        """
        g, m = mu.shape
        c = mu[:, self.pre_rows] @ self.pre_proj                  # pre-edge coefficients
        q = mu[:, self.post.rows]
        step = q @ self.step_v - c @ self.step_u
        out["step"][...] = step
        want_flat = out.get("flat") is not None                  # flatten=False: not computed
        curves = out.get("pre") is not None
        if curves or (want_flat and self.flat_method == "polynomial"):
            coefs = q @ self.post.proj - c @ self.pre_on_post    # post-edge fit of mu - pre
        with np.errstate(divide="ignore", invalid="ignore"):   # rows without a step: NaN
            scale = 1.0 / step
            out["rise"][...] = np.nan if self.rise_weights is None else \
                (mu[:, self.rise_cols] @ self.rise_weights - c @ self.rise_u) * scale
            out["sigma"][...] = noise_from_rows(mu, self.noise_cols, work)
            if curves:
                np.matmul(c, self.pre_basis_t, out=out["pre"])
                np.add(out["pre"], coefs @ self.post.basis.T, out=out["post"])
            buf = work[:g * m].reshape(g, m)
            np.matmul(c * scale[:, None], self.pre_basis_t, out=buf)
            norm = out["norm"]
            np.multiply(mu, scale[:, None], out=norm)
            norm -= buf
            if want_flat:
                flat_coefs = coefs[:, 1:] * scale[:, None] if self.flat_method == "polynomial" \
                    else self.flat_fit.coefs(norm)[:, 1:]
                np.subtract(norm, np.matmul(flat_coefs, self.flat_basis_t, out=buf),
                            out=out["flat"])


def _span(rel: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    """Index range of the sorted ``rel`` within [lo, hi]."""
    return int(np.searchsorted(rel, lo, side="left")), int(np.searchsorted(rel, hi, side="right"))


def _normalize_rows(energy, mu, plan: _Plan, row_plan: np.ndarray, flat_method: str,
                    keep_curves: bool = True, flatten: bool = True) -> dict:
    """Group rows by identical fit indices; fit each group block by block with shared
    design matrices (one pseudo-inverse per group, matrix products per block).

    Rows of a group that are contiguous in ``mu`` (all rows when E0 is common) are
    processed in place; otherwise each block is gathered into a scratch array, which
    stays in cache, and its results are scattered back.
    """
    plan_keys = np.stack([getattr(plan, f) for f in _KEY_FIELDS], axis=1)   # (K, 10)
    uniq, inv_plan = np.unique(plan_keys, axis=0, return_inverse=True)
    group = inv_plan.reshape(-1)[row_plan]
    n, m = mu.shape
    arrays = ("norm",) + (("flat",) if flatten else ()) + (("pre", "post") if keep_curves else ())
    scalars = ("step", "sigma", "rise")
    out = {name: np.empty((n, m)) for name in arrays}
    out.update({name: np.empty(n) for name in scalars})
    out["lev"] = np.empty((n, 2))
    if not keep_curves:
        out["pre"] = out["post"] = None
    if not flatten:
        out["flat"] = None
    if n == 0:
        return out
    block = min(n, _CHUNK)
    work = np.empty(2 * block * m)
    order = np.argsort(group, kind="stable")
    cuts = np.flatnonzero(np.diff(group[order])) + 1
    gathered = None
    memo = _grid_memo(energy)
    for rows in np.split(order, cuts):
        key = tuple(map(int, uniq[group[rows[0]]]))
        fit = memo.get(("group_fit", key, flat_method))    # built once per grid and key
        if fit is None:
            fit = memo[("group_fit", key, flat_method)] = _GroupFit(
                energy, dict(zip(_KEY_FIELDS, key)), flat_method)
        out["lev"][rows] = fit.lev
        contiguous = rows[-1] - rows[0] + 1 == rows.size and mu.flags.c_contiguous
        for c in range(0, rows.size, block):
            g = min(block, rows.size - c)
            if contiguous:                              # write straight into the outputs
                r = slice(rows[0] + c, rows[0] + c + g)
                fit.apply(mu[r], {name: out[name][r] for name in arrays + scalars}, work)
                continue
            if gathered is None:                        # norm is made in place of mu
                gathered = {name: np.empty((block, m)) for name in ("mu",) + arrays[1:]}
                gathered.update({name: np.empty(block) for name in scalars})
            r = rows[c:c + g]
            views = {name: a[:g] for name, a in gathered.items()}
            views["norm"] = views["mu"]
            np.take(mu, r, axis=0, out=views["mu"], mode="clip")   # "raise" would buffer out
            fit.apply(views["mu"], views, work)
            for name in arrays + scalars:
                out[name][r] = views[name]
    return out


def normalized_window(energy: np.ndarray, mu: np.ndarray, e0: np.ndarray, cols: slice, *,
                      pre_range, norm_range, nnorm: int, nvict: int) -> np.ndarray:
    """Normalized mu of every row on the columns ``cols`` only, with the given ranges
    (eV from each row's ``e0``): the same fits as :func:`normalize_stack` (pre-edge line,
    post-edge polynomial, step at the grid point nearest E0) without the flat curve, the
    noise or the checks. Rows without a positive step are NaN. One range pair of
    :func:`normalized_windows`."""
    return normalized_windows(energy, mu, e0, cols, ranges=[(pre_range, norm_range)],
                              nnorm=nnorm, nvict=nvict)[0]


_FIT_FIELDS = ("ie0", "p1", "p2", "npre", "nvict", "q1", "q2", "nnorm")


def normalized_windows(energy: np.ndarray, mu: np.ndarray, e0: np.ndarray, cols: slice, *,
                       ranges, nnorm: int, nvict: int) -> np.ndarray:
    """Normalized mu of every row on the columns ``cols`` for each ``(pre_range,
    norm_range)`` pair of ``ranges`` (eV from each row's ``e0``), shape (V, N, W): the
    same fits as :func:`normalize_stack` (pre-edge line, post-edge polynomial, step at the
    grid point nearest E0) without the flat curve, the noise or the checks. For
    sensitivity studies that re-normalize many times (the normalization-range term of
    the XANES error budget). Rows without a positive step are NaN.

    All pairs are fitted in one pass over the data: the rows whose fit indices agree for
    every pair are gathered once, and every fit they need -- the pre-edge line of each
    distinct pre-edge range (its coefficients) and the post-edge polynomial of each
    distinct normalization range (only its value at E0 is used: one linear functional of
    mu) -- is one column of a single matrix product. The step of a pair is then
    ``mu . v - pre . v`` with ``v`` the post-edge functional on the normalization range:
    the same number as fitting ``mu - pre`` to within rounding.
    """
    reqs = [_make_request(p, q, nnorm, nvict, "larch", "polynomial") for p, q in ranges]
    e0 = np.asarray(e0, dtype=float)
    n, w = mu.shape[0], cols.stop - cols.start
    if n == 0 or not reqs:
        return np.full((len(reqs), n, w), np.nan)
    memo = _grid_memo(energy)
    uniq_e0, row_plan = np.unique(e0, return_inverse=True)
    row_plan = row_plan.reshape(-1)
    e0_key = uniq_e0.tobytes()
    keys = []
    for req in reqs:
        pk = ("plan_keys", e0_key, req)
        if pk not in memo:
            plan = _resolve(energy, uniq_e0, req)
            memo[pk] = np.stack([getattr(plan, f) for f in _FIT_FIELDS], axis=1)
        keys.append(memo[pk])
    keys = np.concatenate(keys, axis=1)                             # (K, 8 V)
    if keys.shape[0] == 1:
        uniq, group = keys, np.zeros(n, dtype=np.intp)
    else:
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        group = inv.reshape(-1)[row_plan]
    if uniq.shape[0] == 1:
        return _window_fit(energy, uniq[0], cols, memo).apply(mu)
    out = np.full((len(reqs), n, w), np.nan)
    for g in range(uniq.shape[0]):
        rows = np.flatnonzero(group == g)
        out[:, rows] = _window_fit(energy, uniq[g], cols, memo).apply(mu[rows])
    return out


def _window_fit(energy, key: np.ndarray, cols: slice, memo: dict) -> "_WindowFit":
    mk = ("window", key.tobytes(), cols.start, cols.stop)
    fit = memo.get(mk)
    if fit is None:
        nf = len(_FIT_FIELDS)
        fits = [dict(zip(_FIT_FIELDS, map(int, key[v * nf:(v + 1) * nf])))
                for v in range(key.size // nf)]
        fit = memo[mk] = _WindowFit(energy, fits, cols)
    return fit


class _WindowFit:
    """The fits of :func:`normalized_windows` for one set of fit indices per range pair:
    the linear functionals of mu (pre-edge coefficients, post-edge values at E0), each
    kind as one matrix over only the columns it spans, and, per pair, what turns them
    into the step and the pre-edge on the window."""

    def __init__(self, energy: np.ndarray, fits: list[dict], cols: slice):
        m = energy.size
        pre_funcs: list[np.ndarray] = []
        post_funcs: list[np.ndarray] = []
        pre_at: dict[tuple, tuple] = {}
        post_at: dict[tuple, tuple] = {}
        self.cols = cols
        self.pairs = []                # per pair: (pre index, pre cols, post col, u)
        for k in fits:
            pk = (k["p1"], k["p2"], k["npre"], k["nvict"])
            if pk not in pre_at:
                f = np.zeros((m, 1 if k["npre"] == 0 else 2))
                if k["npre"] == 0:                       # constant pre-edge: the mean
                    f[k["p1"]:k["p2"], 0] = 1.0 / (k["p2"] - k["p1"])
                    basis = np.ones((m, 1))
                else:
                    wt = energy ** k["nvict"] if k["nvict"] else None
                    pre = PolyFit(energy, slice(k["p1"], k["p2"]), 1, weight=wt)
                    f[k["p1"]:k["p2"]] = pre.proj
                    basis = pre.basis
                pre_at[pk] = (len(pre_at), slice(len(pre_funcs), len(pre_funcs) + f.shape[1]),
                              basis)
                pre_funcs.extend(f.T)
            qk = (k["q1"], k["q2"], k["nnorm"], k["ie0"])
            if qk not in post_at:
                post = PolyFit(energy, slice(k["q1"], k["q2"]), k["nnorm"])
                v = post.proj @ post.basis[k["ie0"]]
                f = np.zeros(m)
                f[k["q1"]:k["q2"]] = v
                post_at[qk] = (len(post_funcs), v)
                post_funcs.append(f)
            ipre, pcols, basis = pre_at[pk]
            jpost, v = post_at[qk]
            u = basis[k["q1"]:k["q2"]].T @ v               # the pre-edge curve's share
            self.pairs.append((ipre, pcols, jpost, u))
        # each kind of functional only over the columns where one of them is non-zero
        self.pre_span, self.pre_funcs_t = _spanned(np.array(pre_funcs).T)
        self.post_span, self.post_funcs_t = _spanned(np.array(post_funcs).T)
        self.pre_cols_t = [None] * len(pre_at)
        for ipre, _, basis in pre_at.values():
            self.pre_cols_t[ipre] = np.ascontiguousarray(basis[cols].T)

    def apply(self, y: np.ndarray) -> np.ndarray:
        """(V, G, W) normalized windows of the rows of ``y`` (G, M)."""
        cpre = y[:, self.pre_span] @ self.pre_funcs_t    # every fit of every pair: one
        vpost = y[:, self.post_span] @ self.post_funcs_t  # pass over the columns each spans
        g = y.shape[0]
        out = np.empty((len(self.pairs), g, self.cols.stop - self.cols.start))
        y_cols = y[:, self.cols]
        diffs: dict[int, np.ndarray] = {}             # mu - pre, once per pre-edge fit
        for v, (ipre, pcols, jpost, u) in enumerate(self.pairs):
            c = cpre[:, pcols]
            step = vpost[:, jpost] - c @ u
            if ipre not in diffs:
                d = np.matmul(c, self.pre_cols_t[ipre])
                diffs[ipre] = np.subtract(y_cols, d, out=d)
            with np.errstate(divide="ignore", invalid="ignore"):   # rows without a step
                np.multiply(diffs[ipre], (1.0 / step)[:, None], out=out[v])   # as in
            bad = ~(step > 0)                                  # normalize_stack; NaN below
            if bad.any():
                out[v][bad] = np.nan
        return out


def _spanned(funcs_t: np.ndarray) -> tuple[slice, np.ndarray]:
    """The rows of ``funcs_t`` (M, F) from the first to the last non-zero one (as a slice)
    and that part of it, C-contiguous: the product with ``y[:, span]`` is the product of
    ``y`` with the whole matrix."""
    nz = np.flatnonzero(np.any(funcs_t != 0.0, axis=1))
    span = slice(int(nz[0]), int(nz[-1]) + 1) if nz.size else slice(0, 0)
    return span, np.ascontiguousarray(funcs_t[span])


# --------------------------------------------------------------------------- public API
def normalize(energy, mu, *, e0: float | None = None, pre_range=None, norm_range=None,
              nnorm: int | None = None, nvict: int = 0, preset: str = "larch",
              flatten: bool = True, flat_method: str = "polynomial") -> Normalization:
    """Pre-edge subtraction and normalization of one XANES spectrum (larch ``pre_edge``).

    Parameters
    ----------
    energy : array-like, shape (M,)
        Strictly increasing X-ray energy (eV).
    mu : array-like, shape (M,)
        Absorption coefficient (any scale).
    e0 : float, optional
        Edge energy (eV). Default is None: the larch maximum-derivative estimate
        (:func:`naheo_spec.xas.e0.find_e0` with ``method="max-derivative"``).
    pre_range : (float or None, float or None), optional
        Pre-edge fit range ``(pre1, pre2)``, eV relative to E0. Default is None: the
        preset's value; for ``"larch"`` the default rule in the module docstring.
    norm_range : (float or None, float or None), optional
        Post-edge fit range ``(norm1, norm2)``, eV relative to E0; a negative ``norm2``
        counts back from the last point (Athena convention; larch instead clips it to
        the end). Default is None: the preset's value.
    nnorm : int, optional
        Post-edge polynomial **degree** (0-5). Athena's project value is the number of
        coefficients: subtract 1. Default is None: the preset's value (larch: from the
        normalization range width).
    nvict : int
        Fit the pre-edge line to ``mu * E**nvict``. Default is 0.
    preset : {"larch", "athena"}
        Source of defaults: ``"larch"`` (xraylarch ``pre_edge``) or ``"athena"``
        (pre -150..-30 eV, norm +150 eV..end-100 eV, quadratic). Default is ``"larch"``.
    flatten : bool
        Compute ``flat``; if False, ``flat`` is ``norm`` itself (a read-only view of
        it: nothing more is computed or copied). Default is True.
    flat_method : {"polynomial", "quadratic"}
        ``"polynomial"`` removes the post-edge polynomial (larch ``flat``);
        ``"quadratic"`` fits ``norm`` (larch ``flat_alt``). Default is ``"polynomial"``.

    Returns
    -------
    Normalization

    Raises
    ------
    InputError
        Bad shapes, non-increasing energy, unknown preset, ``e0`` outside the data.
    ProcessingError
        No absorption edge in the scan: constant or all-zero ``mu``; fewer than
        12 points; fewer than 3 points 10-60 eV below or above E0 (edge outside the
        energy range); a non-positive edge step or one below 5x the noise level; or
        normalized mu rising by less than 0.5 across E0 (mean over 10-60 eV above
        minus below).

    Warns
    -----
    DefaultAdjustedWarning
        A requested range was clipped to the data or replaced by the default rule,
        ``nnorm`` was reduced, or the pre-edge fell back to a constant.
    QualityWarning
        The normalization range is shorter than 100 eV (XANES-only scan), or the
        result does not look like a K edge (|norm| > 0.2 below E0 - 15 eV, norm < 0.3
        above E0 + 15 eV, or norm > 3; 90th/10th/99th percentiles) -- typically a
        scan cut before or after its edge. These checks catch most, not all, such
        scans.

    References
    ----------
    See the module docstring (larch ``pre_edge``; Athena defaults).

    Examples
    --------
    >>> import numpy as np
    >>> e = np.linspace(8200.0, 8800.0, 601)
    >>> mu = 0.1 + 1e-5 * (e - 8200) + 1.0 / (1 + np.exp(-(e - 8333.0) / 1.5))
    >>> r = normalize(e, mu, e0=8333.0)
    >>> bool(abs(r.edge_step - 1.0) < 0.01), r.nnorm
    (True, 2)
    """
    energy, mu = check_xy(energy, mu)
    if mu.ndim != 1:
        raise InputError(f"mu must be 1-D for normalize(), got shape {mu.shape}; "
                         "use normalize_stack() for several spectra")
    req = _make_request(pre_range, norm_range, nnorm, nvict, preset, flat_method)
    _check_npts(energy)
    fails = Failures(1, raise_=True)
    check_signal(mu[None, :], raise_=True, failures=fails)
    e0_method = "given"
    if e0 is None:
        from naheo_spec.xas.edge_derivative import max_derivative_rows

        e0_arr = max_derivative_rows(energy, mu[None, :])
        e0_method = "max-derivative"
    else:
        e0_arr = np.array([_check_e0(energy, e0)])
    _check_edge_position(energy, e0_arr, fails)
    plan = _resolve(energy, e0_arr, req)
    res = _normalize_rows(energy, mu[None, :], plan, np.zeros(1, dtype=int), flat_method)
    sigma = res["sigma"]
    _check_step(res["step"], sigma, _signal_scale(mu[None, :])[1], fails)
    _check_rise(res["rise"], plan, np.zeros(1, dtype=int), fails)
    shape = edge_shape_problems(energy, res["norm"], e0_arr)[0]
    if shape is not None:
        plan.note(np.ones(1, dtype=bool), "edge_shape", shape.replace("{", "{{").replace("}", "}}"))
    msgs = _emit(plan, energy, stacklevel=3)
    lev = res["lev"][0]
    step = float(res["step"][0])
    prov = Provenance(step="xas.normalize", parameters={
        "e0_eV": float(e0_arr[0]), "e0_method": e0_method, "preset": preset,
        "pre_range_eV": [float(plan.pre1[0]), float(plan.pre2[0])],
        "norm_range_eV": [float(plan.norm1[0]), float(plan.norm2[0])],
        "nnorm": int(plan.nnorm[0]), "nvict": int(plan.nvict[0]), "pre_degree": int(plan.npre[0]),
        "flatten": bool(flatten), "flat_method": flat_method,
        "requested": {"pre_range": pre_range, "norm_range": norm_range, "nnorm": nnorm,
                      "nvict": nvict, "e0": e0},
        "edge_step_at": "grid point nearest E0 (larch rule)"})
    return Normalization(
        energy=energy, mu=mu, e0_eV=float(e0_arr[0]), edge_step=step, norm=res["norm"][0],
        flat=res["flat"][0] if flatten else res["norm"][0].copy(),
        pre_edge=res["pre"][0], post_edge=res["post"][0],
        pre_range_eV=(float(plan.pre1[0]), float(plan.pre2[0])),
        norm_range_eV=(float(plan.norm1[0]), float(plan.norm2[0])),
        nnorm=int(plan.nnorm[0]), nvict=int(plan.nvict[0]), preset=preset, warnings=msgs,
        provenance=prov, pre_degree=int(plan.npre[0]), flat_method=flat_method,
        noise_sigma=float(sigma[0]), edge_step_err=float(sigma[0] * np.sqrt(lev.sum())),
        fit_leverage=(float(lev[0]), float(lev[1])))


def normalize_stack(energy, mu_stack, *, e0=None, pre_range=None, norm_range=None,
                    nnorm: int | None = None, nvict: int = 0, preset: str = "larch",
                    flatten: bool = True, flat_method: str = "polynomial",
                    on_invalid: str = "nan", keep_curves: bool = False) -> StackNormalization:
    """Normalize N spectra sharing one energy grid, vectorized (same numbers as :func:`normalize`).

    Ranges are resolved per spectrum exactly as in :func:`normalize`; spectra whose
    resolved fit indices coincide (all of them when E0 is common) are fitted together
    with one pseudo-inverse and one matrix product, so the cost grows with the number
    of distinct E0 grid points, not with N.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Common strictly increasing energy grid (eV).
    mu_stack : array-like, shape (N, M)
        One spectrum per row.
    e0 : float or array-like of shape (N,), optional
        Edge energies (eV). Default is None: the vectorized larch maximum-derivative
        estimate per row (:func:`naheo_spec.xas.e0.find_e0_stack`).
    pre_range, norm_range, nnorm, nvict, preset, flatten, flat_method
        As in :func:`normalize`.
    on_invalid : {"nan", "raise", "record"}
        What to do with a row that has no usable edge (the ProcessingError cases of
        :func:`normalize`): fill it with NaN, flag it in ``valid``, keep the reason in
        ``failures`` and warn (``"nan"``; a stack with no usable row raises), the same
        without any warning and never raising (``"record"``, for pipelines that report
        per row), or raise ProcessingError (``"raise"``). Default is ``"nan"``.
        The edge-shape check of :func:`normalize` is :func:`edge_shape_problems`.
    keep_curves : bool
        Also return the pre-edge and post-edge curves (two more (N, M) arrays).
        Default is False (``pre_edge`` and ``post_edge`` are None).

    Returns
    -------
    StackNormalization

    Raises
    ------
    InputError
        Bad shapes or options, or a given E0 outside the data.
    ProcessingError
        ``on_invalid="raise"`` and a row has no usable edge, or no row has one.

    References
    ----------
    See :func:`normalize`.
    """
    energy, mu, scale = check_stack(energy, mu_stack)
    if on_invalid not in ("nan", "raise", "record"):
        raise InputError(f"on_invalid must be 'nan', 'raise' or 'record', got {on_invalid!r}")
    req = _make_request(pre_range, norm_range, nnorm, nvict, preset, flat_method)
    _check_npts(energy)
    n = mu.shape[0]
    fails = Failures(n, raise_=on_invalid == "raise")
    bad = check_signal(mu, raise_=False, scale=scale, failures=fails).copy()
    e0_arr, e0_method = _stack_e0(energy, mu, e0, bad)
    _check_edge_position(energy, e0_arr, fails)
    bad = fails.mask.copy()
    e0_fit = np.where(bad, energy[energy.size // 2], e0_arr)
    uniq_e0, row_plan = np.unique(e0_fit, return_inverse=True)
    row_plan = row_plan.reshape(-1)
    plan = _resolve(energy, uniq_e0, req)
    res = _normalize_rows(energy, mu, plan, row_plan, flat_method, keep_curves, flatten)
    sigma = res["sigma"]
    _check_step(np.where(bad, 1.0, res["step"]), np.where(bad, 0.0, sigma),
                np.where(bad, 0.0, scale[1]), fails)
    _check_rise(np.where(fails.mask, np.inf, res["rise"]), plan, row_plan, fails)
    bad = fails.mask.copy()
    if bad.all() and on_invalid == "nan":
        raise ProcessingError(f"none of the {n} spectra in mu_stack has a usable absorption edge")
    msgs = () if on_invalid == "record" else _emit_stack(plan, energy, row_plan, bad, n)
    return _stack_result(energy, e0_arr, res, plan, row_plan, bad, sigma, msgs,
                         preset=preset, flatten=flatten, flat_method=flat_method,
                         e0_method=e0_method, requested={"pre_range": pre_range,
                                                         "norm_range": norm_range,
                                                         "nnorm": nnorm, "nvict": nvict},
                         failures=dict(fails.messages),
                         row_notes=row_notes(plan, energy, row_plan, bad))


def _stack_e0(energy, mu, e0, bad):
    n = mu.shape[0]
    if e0 is None:
        from naheo_spec.xas.edge_derivative import max_derivative_rows

        if not bad.any():                                  # no copy of the stack
            return max_derivative_rows(energy, mu), "max-derivative"
        out = np.full(n, np.nan)
        good = ~bad
        if good.any():
            out[good] = max_derivative_rows(energy, mu[good])
        return out, "max-derivative"
    e0 = np.asarray(e0, dtype=float)
    if e0.ndim == 0:
        return np.full(n, _check_e0(energy, float(e0))), "given"
    if e0.shape != (n,):
        raise InputError(f"e0 must be a scalar or have shape ({n},), got {e0.shape}")
    lo, hi = energy[1], energy[-2]
    out = (e0 < lo) | (e0 > hi) | ~np.isfinite(e0)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise InputError(f"e0[{i}] = {e0[i]:.2f} eV lies outside the energy range "
                         f"{lo:.2f}..{hi:.2f} eV (2nd to next-to-last point) of "
                         f"{int(out.sum())} spectra")
    return e0.copy(), "given"


def _stack_result(energy, e0_arr, res, plan, row_plan, bad, sigma, msgs, *, preset, flatten,
                  flat_method, e0_method, requested, failures=None, row_notes=()
                  ) -> StackNormalization:
    def per_row(name):
        return getattr(plan, name)[row_plan]

    norm = res["norm"]
    for arr in (norm, res["flat"], res["pre"], res["post"]):
        if arr is not None and bad.any():
            arr[bad] = np.nan
    if flatten:
        flat = res["flat"]
    else:                                  # not computed: norm itself, read-only (no copy)
        flat = norm.view()
        flat.flags.writeable = False
    step = np.where(bad, np.nan, res["step"])
    lev = res["lev"]
    prov = Provenance(step="xas.normalize_stack", parameters={
        "n_spectra": int(e0_arr.size), "e0_method": e0_method, "preset": preset,
        "flatten": bool(flatten), "flat_method": flat_method, "nvict": requested["nvict"],
        "requested": requested,
        "pre_range_eV": "per spectrum, see pre_range_eV", "norm_range_eV": "per spectrum",
        "edge_step_at": "grid point nearest E0 (larch rule)"})
    return StackNormalization(
        energy=energy, e0_eV=e0_arr, edge_step=step, norm=norm, flat=flat,
        pre_edge=res["pre"], post_edge=res["post"],
        pre_range_eV=np.stack([per_row("pre1"), per_row("pre2")], axis=1),
        norm_range_eV=np.stack([per_row("norm1"), per_row("norm2")], axis=1),
        nnorm=per_row("nnorm"), nvict=per_row("nvict"), pre_degree=per_row("npre"),
        valid=~bad, edge_step_err=sigma * np.sqrt(lev.sum(axis=1)), noise_sigma=sigma,
        fit_leverage=lev, preset=preset, flat_method=flat_method, warnings=msgs,
        provenance=prov, failures=dict(failures or {}), row_notes=tuple(row_notes))


# --------------------------------------------------------------------------- checks
def _check_e0(energy: np.ndarray, e0: float) -> float:
    e0 = float(e0)
    if not np.isfinite(e0) or e0 < energy[1] or e0 > energy[-2]:
        raise InputError(f"e0 = {e0} eV lies outside the energy range {energy[1]:.2f}.."
                         f"{energy[-2]:.2f} eV (2nd to next-to-last point); the edge must be "
                         "inside the scan")
    return e0


def _check_npts(energy: np.ndarray) -> None:
    if energy.size < MIN_XAS_POINTS:
        raise ProcessingError(f"only {energy.size} energy points "
                              f"({energy[0]:.1f}..{energy[-1]:.1f} "
                              f"eV); normalization needs at least {MIN_XAS_POINTS}")


class Failures:
    """Why rows of a stack cannot be normalized: the first failed check of a row wins, as
    the raise of :func:`normalize` would (one message per failed row, sparse).

    ``raise_=True`` raises :class:`ProcessingError` at the first failure instead, with a
    ``"spectrum i: "`` prefix for stacks of more than one row.
    """

    def __init__(self, n: int, raise_: bool):
        self.n, self.raise_ = n, raise_
        self.messages: dict[int, str] = {}
        self.mask = np.zeros(n, dtype=bool)

    def add(self, mask: np.ndarray, fmt) -> np.ndarray:
        """Fail the rows of ``mask`` not failed yet, with message ``fmt(i)``; returns
        the mask of all failed rows."""
        new = np.flatnonzero(np.asarray(mask, dtype=bool) & ~self.mask)
        if new.size and self.raise_:
            i = int(new[0])
            raise ProcessingError(("" if self.n == 1 else f"spectrum {i}: ") + fmt(i))
        for i in new:
            self.messages[int(i)] = fmt(int(i))
        self.mask[new] = True
        return self.mask


def _signal_scale(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row peak-to-peak and largest magnitude of ``mu`` (N, M)."""
    lo, hi = mu.min(axis=1), mu.max(axis=1)
    return hi - lo, np.maximum(np.abs(lo), np.abs(hi))


def check_stack(energy, mu_stack) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``check_xy`` for a stack (N, M) of spectra, plus :func:`_signal_scale` of its rows.

    The row minima and maxima are needed anyway; NaN propagates into both and an
    infinity shows up in one of them, so they screen the whole stack for non-finite
    values, and ``check_xy``'s element-wise test (one more pass over N x M values)
    runs on the first row only -- or on everything when the screen fails, to raise
    its usual message.

    Raises
    ------
    InputError
        As ``check_xy``, or ``mu_stack`` not 2-D.
    """
    mu = np.asarray(mu_stack, dtype=float)
    if mu.ndim != 2 or mu.size == 0:
        energy, mu = check_xy(energy, mu, names=("energy", "mu_stack"))
        if mu.ndim != 2:
            raise InputError(f"mu_stack must be 2-D (N spectra, M points), got shape {mu.shape}")
        return energy, mu, (np.zeros(0), np.zeros(0))            # no spectra
    lo, hi = np.empty(mu.shape[0]), np.empty(mu.shape[0])
    for start in range(0, mu.shape[0], _CHUNK):       # the max pass finds the rows in cache
        r = slice(start, start + _CHUNK)
        np.min(mu[r], axis=1, out=lo[r])
        np.max(mu[r], axis=1, out=hi[r])
    finite = bool(np.isfinite(lo).all() and np.isfinite(hi).all())
    energy, _ = check_xy(energy, mu[:1] if finite else mu, names=("energy", "mu_stack"))
    return energy, mu, (hi - lo, np.maximum(np.abs(lo), np.abs(hi)))


def constant_rows(mu: np.ndarray, scale=None) -> np.ndarray:
    """Boolean (N,): rows of ``mu`` (N, M) without any variation (constant or all zero)."""
    ptp, mag = _signal_scale(mu) if scale is None else scale
    return ptp <= 1e-12 * np.maximum(mag, 1e-300)


def constant_message(row: np.ndarray) -> str:
    """The message for a row :func:`constant_rows` flags."""
    what = "all zero" if not np.any(row) else "constant"
    return f"mu is {what}: there is no absorption edge to normalize"


def check_signal(mu: np.ndarray, *, raise_: bool, scale=None, failures: Failures | None = None
                 ) -> np.ndarray:
    fails = failures or Failures(mu.shape[0], raise_)
    return fails.add(constant_rows(mu, scale), lambda i: constant_message(mu[i]))


def _check_edge_position(energy: np.ndarray, e0: np.ndarray, fails: Failures) -> np.ndarray:
    e0c = np.nan_to_num(e0, nan=energy[0])
    below = (np.searchsorted(energy, e0c - EDGE_SIDE_EV[0], side="right")
             - np.searchsorted(energy, e0c - EDGE_SIDE_EV[1], side="left"))
    above = (np.searchsorted(energy, e0c + EDGE_SIDE_EV[1], side="right")
             - np.searchsorted(energy, e0c + EDGE_SIDE_EV[0], side="left"))
    edge = (below < 3) | (above < 3) | ~np.isfinite(e0)
    return fails.add(edge, lambda i: (
        f"the edge (E0 = {float(e0[i]):.2f} eV) is not inside the scan {energy[0]:.2f}.."
        f"{energy[-1]:.2f} eV: need at least 3 points {EDGE_SIDE_EV[0]:g}-{EDGE_SIDE_EV[1]:g} "
        "eV below and above E0 (is the absorption edge outside the energy range?)"))


def _check_step(step, sigma, scale, fails: Failures) -> np.ndarray:
    nonpos = ~(step > 1e-9 * scale)
    fails.add(nonpos, lambda i: (
        f"edge step = {float(step[i]):.3g} is not positive: mu does not rise at E0 "
        "(no absorption edge, or the edge lies outside the scan)"))
    noisy = ~nonpos & np.isfinite(sigma) & (step < MIN_STEP_OVER_NOISE * sigma)
    return fails.add(noisy, lambda i: (
        f"edge step is below {MIN_STEP_OVER_NOISE:g} times the noise level "
        f"({float(step[i]):.3g} vs noise {float(sigma[i]):.3g}): no absorption edge in the scan"))


def _check_rise(rise: np.ndarray, plan: _Plan, row_plan: np.ndarray, fails: Failures
                ) -> np.ndarray:
    low = ~(rise >= MIN_RISE)

    def fmt(i):
        k = int(row_plan[i])
        return (f"normalized mu rises by only {float(rise[i]):.2f} across E0 = "
                f"{plan.e0[k]:.2f} eV (mean {EDGE_SIDE_EV[0]:g}-{EDGE_SIDE_EV[1]:g} eV above "
                "minus below; an edge gives ~1): either there is no absorption edge at this E0 "
                "(edge outside the energy range?) or the fit ranges do not describe the data "
                f"(pre_range {plan.pre1[k]:.4g}..{plan.pre2[k]:.4g} eV, norm_range "
                f"{plan.norm1[k]:.4g}..{plan.norm2[k]:.4g} eV, nnorm {int(plan.nnorm[k])})")
    return fails.add(low, fmt)


#: The edge-shape check (normalize's QualityWarning): normalized mu should stay near 0
#: below E0 - SHAPE_SIDE_EV, above SHAPE_MIN_POST beyond E0 + SHAPE_SIDE_EV and below
#: SHAPE_MAX overall (90th, 10th and 99th percentiles).
SHAPE_SIDE_EV = 15.0
SHAPE_MAX_PRE, SHAPE_MIN_POST, SHAPE_MAX = 0.2, 0.3, 3.0


def edge_shape_problems(energy: np.ndarray, norm: np.ndarray, e0: np.ndarray
                        ) -> list[str | None]:
    """Why each normalized spectrum does not look like an absorption edge (None: it does).

    The one implementation of the edge-shape check of :func:`normalize`, used for single
    spectra and for the rows of a stack alike: the 90th percentile of |norm| below
    ``E0 - 15`` eV must stay under 0.2, the 10th percentile of norm above ``E0 + 15`` eV
    over 0.3, and the 99th percentile of norm under 3 (a scan cut before or after its
    edge, or a wrong E0, fails one of them).

    Parameters
    ----------
    energy : ndarray of shape (M,)
        Energy grid (eV).
    norm : ndarray of shape (N, M)
        Normalized spectra.
    e0 : ndarray of shape (N,)
        The E0 each normalization used (eV).

    Returns
    -------
    list of str or None, length N
        The message of the QualityWarning, or None.

    Examples
    --------
    >>> e = np.linspace(7000.0, 7300.0, 301)
    >>> good = np.clip((e - 7100.0) / 20.0, 0.0, 1.0)
    >>> cut = np.clip((e - 7100.0) / 20.0, 0.0, 1.0) * (e < 7140.0)   # scan ends at the edge
    >>> msgs = edge_shape_problems(e, np.vstack([good, cut]), np.array([7110.0, 7110.0]))
    >>> msgs[0] is None, "drops to 0.00" in msgs[1]
    (True, True)
    """
    norm = np.atleast_2d(norm)
    e0 = np.broadcast_to(np.asarray(e0, dtype=float), (norm.shape[0],))
    out: list[str | None] = [None] * norm.shape[0]
    for i, problems in edge_shape_flags(energy, norm, e0).items():
        out[i] = ("normalized mu does not look like an absorption edge ("
                  + "; ".join(problems) + "): check E0 and the ranges, or whether "
                  "the edge lies outside the scan")
    return out


def edge_shape_flags(energy: np.ndarray, norm: np.ndarray, e0: np.ndarray
                     ) -> dict[int, list[str]]:
    """The rules of :func:`edge_shape_problems` on a whole block: ``{row: [problem, ...]}``
    for the rows that fail (usually none).

    Which rows fail is decided for the block at once by
    :func:`~naheo_spec.numerics.percentile.row_percentile_above` (exactly the per-row
    :func:`numpy.percentile` comparison); the percentiles quoted in the messages are
    computed for the failing rows only, with :func:`numpy.percentile` on the same values.
    """
    from naheo_spec.numerics.percentile import row_percentile_above, row_percentile_below

    n_rows, m = norm.shape
    n_pre = np.searchsorted(energy, e0 - SHAPE_SIDE_EV, side="left")   # energy < E0 - 15
    first_post = np.searchsorted(energy, e0 + SHAPE_SIDE_EV, side="right")  # > E0 + 15
    use_pre, use_post = n_pre >= 3, (m - first_post) >= 3
    # each row's pre-edge window is a prefix, its post-edge window a suffix: only the
    # columns some row uses are looked at
    w_pre = int(n_pre.max()) if n_rows else 0
    c_post = int(first_post.min()) if n_rows else m
    # A percentile lies between the extrema of the values it is taken over, and the
    # prefix/suffix windows of the block hold every row's own values: the rows whose
    # extrema there settle a rule (nearly all) need no counting; the others are decided
    # exactly as before, on their own values (NaN rows among them).
    hit_pre = np.zeros(n_rows, dtype=bool)
    hit_post = np.zeros(n_rows, dtype=bool)
    hit_max = np.zeros(n_rows, dtype=bool)
    # The three extrema, block of rows by block of rows (the later passes over a block
    # find it in cache). |norm| is taken on each row's own pre-edge window only: the
    # columns between the shortest and the longest window are set to 0 where a row's
    # window has ended (next to the edge of the rows with a lower E0 they would send
    # ~10 % of a block to the counting for nothing).
    pre_big, post_low, top = np.zeros(n_rows), np.full(n_rows, np.inf), np.empty(n_rows)
    w_min = int(n_pre.min()) if n_rows else 0
    past = np.arange(w_min, w_pre)[None, :]
    for start in range(0, n_rows, _CHUNK):
        x = norm[start:start + _CHUNK]
        r = slice(start, start + x.shape[0])
        if w_pre:
            big = np.abs(x[:, :w_pre])
            if w_min < w_pre:
                big[:, w_min:][past >= n_pre[r, None]] = 0.0
            np.max(big, axis=1, out=pre_big[r])
        if c_post < m:
            np.min(x[:, c_post:], axis=1, out=post_low[r])
        np.max(x, axis=1, out=top[r])
    k = np.flatnonzero(~(pre_big <= SHAPE_MAX_PRE) & use_pre)
    if k.size:
        pre = np.arange(w_pre)[None, :] < n_pre[k, None]
        hit_pre[k] = row_percentile_above(np.abs(norm[k, :w_pre]), pre, 90, SHAPE_MAX_PRE)
    k = np.flatnonzero(~(post_low >= SHAPE_MIN_POST) & use_post)
    if k.size:
        post = np.arange(c_post, m)[None, :] >= first_post[k, None]
        hit_post[k] = row_percentile_below(norm[k, c_post:], post, 10, SHAPE_MIN_POST)
    k = np.flatnonzero(~(top <= SHAPE_MAX))
    if k.size:
        hit_max[k] = row_percentile_above(norm[k], None, 99, SHAPE_MAX)
    out: dict[int, list[str]] = {}
    for i in np.flatnonzero(hit_pre | hit_post | hit_max):
        problems = []
        if hit_pre[i]:
            p90 = np.percentile(np.abs(norm[i, :n_pre[i]]), 90)
            problems.append(f"|norm| reaches {p90:.2f} below E0 - {SHAPE_SIDE_EV:g} eV")
        if hit_post[i]:
            p10 = np.percentile(norm[i, first_post[i]:], 10)
            problems.append(f"norm drops to {p10:.2f} above E0 + {SHAPE_SIDE_EV:g} eV")
        if hit_max[i]:
            problems.append(f"norm reaches {np.percentile(norm[i], 99):.2f}")
        out[int(i)] = problems
    return out


# --------------------------------------------------------------------------- warnings
def _emit(plan: _Plan, energy: np.ndarray, *, stacklevel: int) -> tuple[WarningRecord, ...]:
    msgs = []
    for mask, code, template in plan.notes:
        k = int(np.flatnonzero(mask)[0])
        msgs.append(code.warn(_format_note(template, plan, energy, k), stacklevel=stacklevel + 1))
    return tuple(msgs)


def _emit_stack(plan: _Plan, energy, row_plan, bad, n) -> tuple[WarningRecord, ...]:
    msgs = []
    for mask, code, template in plan.notes:
        rows = np.flatnonzero(mask[row_plan] & ~bad)
        if rows.size == 0:
            continue
        msgs.append(code.warn(f"{rows.size} of {n} spectra (first: {rows[0]}): "
                              + _format_note(template, plan, energy, int(row_plan[rows[0]])),
                              stacklevel=3, count=int(rows.size)))
    if bad.any():
        rows = np.flatnonzero(bad)
        msgs.append(NO_EDGE.warn(
            f"{rows.size} of {n} spectra have no usable absorption edge (constant mu, "
            f"edge outside the scan, step <= {MIN_STEP_OVER_NOISE:g} x noise, or normalized "
            f"mu rising by < {MIN_RISE:g} across E0); their rows are NaN (first: {rows[0]})",
            stacklevel=3, count=int(rows.size)))
    return tuple(msgs)


def row_notes(plan: _Plan, energy, row_plan, bad) -> tuple:
    """The notes of :func:`normalize` for every valid row of a stack: (code, rows, messages),
    each message formatted once per distinct resolution and shared by its rows."""
    out = []
    for mask, code, template in plan.notes:
        rows = np.flatnonzero(mask[row_plan] & ~bad)
        if rows.size == 0:
            continue
        texts = {int(k): _format_note(template, plan, energy, int(k))
                 for k in np.unique(row_plan[rows])}
        out.append((code, rows, tuple(texts[int(k)] for k in row_plan[rows])))
    return tuple(out)
