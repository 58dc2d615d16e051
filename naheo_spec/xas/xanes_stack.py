"""The XANES pipeline, for one scan or a stack of scans on one energy grid.

This module is the **one implementation** of every XANES rule: :func:`analyze_xanes_stack`
runs it on N scans with array operations, :func:`naheo_spec.xas.xanes.analyze_xanes` runs
the same code on a stack of one scan, and :func:`naheo_spec.xas.outofcore.xanes_hdf5_stack`
maps :func:`analyze_block` over the blocks of a large file. A scan's result depends on that
scan alone, so per-scan, stack and out-of-core results are equal by construction. For each
scan:

1. **Input guards**: masked, non-finite or constant rows fail alone (their numbers are NaN
   and ``errors`` says why; the other rows are computed). Energies closer than 1/1000 of
   the median step are merged (:func:`naheo_spec.numerics.grid.merge_close_points`) with a
   coded warning.
2. **Foil shift** from the scan's reference row, or from one separate foil scan
   (:func:`naheo_spec.xas.energy_calibration.foil_rows`: searched near the tabulated edge
   when the channel's steepest edge is another one; rejected, never applied, when it is
   not a foil of the element).
3. **Normalization** on the measured grid (:func:`naheo_spec.xas.normalize.normalize_stack`;
   larch ``pre_edge`` rules, every adjustment reported per scan); the foil shift is then
   added to the energies (a translation). With ``normalized=True`` the input is taken as
   already normalized: no refit. Data that look normalized without the flag are flagged.
4. **E0** by the chosen method (:mod:`naheo_spec.xas.e0`) and its **error budget**
   (:mod:`naheo_spec.xas.uncertainty`): noise, grid, normalization-range sensitivity,
   and the foil or (without one) the energy-scale and drift terms, each reported.
5. **Oxidation state** from a :class:`~naheo_spec.xas.valence.ValenceCalibration`
   (prediction interval, extrapolation term and warning outside the standards' span).
6. **Markers**: the integral edge position (Dau et al. 2003) and, for Fe, the pre-edge
   centroid and intensity (Wilke et al. 2001), with valences from their own lines when
   given; disagreement with the main oxidation state is a coded warning.

Warnings are recorded per scan in ``row_warnings`` (a sparse table); for a stack each code
is emitted once with the number of scans concerned, for a single scan each record is
emitted as it is.

Example
-------
>>> import numpy as np
>>> from naheo_spec.xas.xanes_stack import analyze_xanes_stack
>>> e = np.linspace(6400.0, 6800.0, 801)
>>> edges = np.array([6546.0, 6548.0, 6550.0])            # three "scans"
>>> mu = 0.1 + np.arctan((e - edges[:, None]) / 2.0) / np.pi + 0.5
>>> foil = np.arctan((e - 6538.0) / 1.0) / np.pi + 0.5     # foil 1 eV below Mn K 6539 eV
>>> res = analyze_xanes_stack((e, mu, np.tile(foil, (3, 1))), element="Mn")
>>> np.round(res.foil_shift_eV, 1).tolist(), np.round(res.e0_eV, 1).tolist()
([1.0, 1.0, 1.0], [6547.0, 6549.0, 6551.0])
>>> sorted(res.e0_err_terms_eV)
['foil', 'grid', 'noise', 'normalization']
>>> list(res.to_json_list()[0])[:6]
['file', 'scan', 'element', 'edge', 'e0_method', 'e0_eV']

References
----------
.. [1] B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
   doi:10.1107/S0909049505012719 (foil alignment, normalization).
.. [2] M. Newville, J. Phys.: Conf. Ser. 430, 012007 (2013),
   doi:10.1088/1742-6596/430/1/012007 (larch ``pre_edge``/``find_e0``, reproduced by the
   kernels used here).
.. [3] G. Bunker, *Introduction to XAFS*, Cambridge University Press (2010), sec. 5.2
   (half-height E0 for valence).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import (
    StackWarnings,
    StackWarningsBuilder,
    WarningCode,
    WarningRecord,
    warnings_json,
)
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import (
    CalibrationError,
    FitError,
    InputError,
    NaheoError,
    ProcessingError,
    QualityWarning,
    RepairWarning,
)
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.model import Spectrum, SpectrumStack
from naheo_spec.provenance import Provenance
from naheo_spec.store.table import RecordTable
from naheo_spec.xas import uncertainty as unc
from naheo_spec.xas.e0 import (
    ARCTAN_AT_BOUND,
    ARCTAN_AT_BOUND_MESSAGE,
    BOOTSTRAP_SPREAD,
    BOOTSTRAP_SPREAD_LIMIT_EV,
    HALF_HEIGHT_FAR,
    HALF_HEIGHT_FAR_EV,
    bootstrap_spread_message,
    half_height_far_message,
    no_crossing_message,
)
from naheo_spec.xas.energy_calibration import (
    FOIL_DISABLED,
    FOIL_ELEMENT_UNKNOWN,
    FOIL_NEAR_EDGE,
    FOIL_NONE,
    FOIL_REJECTED,
    FOIL_UNUSABLE,
    FEW,
)
from naheo_spec.xas.normalize import NOTE_CODES
from naheo_spec.xas.valence import NO_DOF, OUT_OF_SPAN, SCATTER_PRIOR, UNCALIBRATED_ENERGY
from naheo_spec.xas.xanes_result import JSON_KEYS, XanesResult, finite_dict, record_name

DEFAULT_E0_METHOD = "half-height"
DEFAULT_PRESET = "larch"
#: A sample E0 further than this from the tabulated edge (eV) is an error: chemical shifts
#: of oxides are < ~20 eV even at the derivative maximum (Mn4+), and uncalibrated beamlines
#: are off by < ~7 eV (fe.060), so larger offsets mean a wrong element or energy scale.
E0_TABULATED_TOLERANCE_EV = 30.0
#: Normalization options (as in :func:`naheo_spec.xas.normalize.normalize`).
NORM_OPTIONS = ("preset", "pre_range", "norm_range", "nnorm", "nvict")
#: Data "look normalized" when the fitted pre-edge is within this of 0 at E0 and the
#: fitted edge step within this of 1 (or the maximum within 0.01 of 1).
LOOKS_NORMALIZED_TOL = 0.03
#: Methods computed on the normalized spectrum.
LEVEL_METHODS = ("half-height", "integral")

_SHAPE = NOTE_CODES["edge_shape"]
SCAN_FAILED = WarningCode("xas.xanes_stack.scan_failed", QualityWarning,
                          "A scan of a stack could not be analysed; its numbers are NaN.")
OPTIONS_DIFFER = WarningCode(
    "xas.xanes.options_differ", QualityWarning,
    "A normalization option differs from the valence standards': the half-height E0 depends "
    "on it.")
LOOKS_NORMALIZED = WarningCode(
    "xas.xanes.looks_normalized", QualityWarning,
    "The data look already normalized (pre-edge near 0, post-edge near 1) but were "
    "normalized again: pass normalized=True / --normalized if they are.")
NEAR_DUPLICATES = WarningCode(
    "xas.grid.near_duplicates", RepairWarning,
    "Energies closer than 1/1000 of the median step were merged (signals averaged).")
METAL_FOIL = WarningCode(
    "xas.xanes.metal_foil", QualityWarning,
    "The scan looks like a metal foil (first inflection at the tabulated edge, no white "
    "line): no oxidation state is read off a calibration line made of oxides.")
MARKERS_DISAGREE = WarningCode(
    "xas.markers.disagree", QualityWarning,
    "Two valence markers of the same scan (edge position, integral position, pre-edge "
    "centroid) disagree by more than twice their combined error.")


# --------------------------------------------------------------------------- options
def resolve_options(calibration, e0_method, norm_opts: dict) -> tuple[str, dict, list]:
    """e0_method and normalization options: given -> calibration's -> defaults."""
    notes = []
    cal_norm = dict(calibration.normalization) if calibration is not None else {}
    if e0_method is None:
        e0_method = calibration.e0_method if calibration is not None else DEFAULT_E0_METHOD
    elif calibration is not None and e0_method != calibration.e0_method:
        raise CalibrationError(
            f"e0_method={e0_method!r} but the valence calibration was built with "
            f"{calibration.e0_method!r}; edge positions from different E0 definitions differ by "
            "several eV. Use the calibration's method or rebuild it")
    resolved = {}
    for key in NORM_OPTIONS:
        given = norm_opts.get(key)
        if given is None:
            resolved[key] = cal_norm.get(key)
        else:
            resolved[key] = tuple(given) if isinstance(given, list) else given
            cal_val = cal_norm.get(key)
            if calibration is not None and cal_val is not None and \
                    np.any(np.asarray(cal_val) != np.asarray(resolved[key])):
                notes.append(OPTIONS_DIFFER.record(
                    f"normalization option {key}={resolved[key]!r} differs from the "
                    f"valence standards' {cal_val!r}: the half-height E0 depends on it"))
    if resolved["preset"] is None:
        resolved["preset"] = DEFAULT_PRESET
    if resolved["nvict"] is None:
        resolved["nvict"] = 0
    return e0_method, resolved, notes


def calibration_summary(cal) -> dict[str, Any]:
    """What the provenance keeps of a valence calibration."""
    return {"slope_eV": cal.slope_eV, "intercept_eV": cal.intercept_eV,
            "covariance": None if cal.covariance is None else [list(r) for r in cal.covariance],
            "scatter_eV": cal.scatter_eV, "e0_method": cal.e0_method,
            "standards": [p.name for p in cal.points],
            "standards_file": cal.provenance.parameters.get("standards_file"),
            "standards_sha256": cal.provenance.parameters.get("standards_sha256")}


#: Options of :func:`analyze_block` / :func:`analyze_xanes_stack` and their defaults.
STACK_OPTIONS = {"e0_method": None, "foil": None, "calibration": None, "element": None,
                 "edge": None, "preset": None, "pre_range": None, "norm_range": None,
                 "nnorm": None, "nvict": None, "foil_e0_method": "max-derivative",
                 "max_foil_offset_eV": 5.0, "include_scatter": True, "span_margin": None,
                 "normalized": False, "noise_correlation": 1.0,
                 "energy_scale_sigma_eV": None, "energy_drift_sigma_eV": None,
                 "markers": True, "marker_calibrations": None}


def stack_options(**given) -> dict:
    """:data:`STACK_OPTIONS` updated with ``given`` (None values keep the default), with the
    span margin and the energy-scale priors resolved.

    Raises
    ------
    InputError
        An option the pipeline does not take, or a bad value.
    """
    from naheo_spec.xas.valence import DEFAULT_SPAN_MARGIN

    unknown = set(given) - set(STACK_OPTIONS)
    if unknown:
        raise InputError(f"unknown options for the XANES pipeline: {sorted(unknown)}")
    opts = dict(STACK_OPTIONS)
    opts.update({k: v for k, v in given.items() if v is not None or k == "foil"})
    if opts["span_margin"] is None:
        opts["span_margin"] = DEFAULT_SPAN_MARGIN
    if opts["energy_scale_sigma_eV"] is None:
        opts["energy_scale_sigma_eV"] = unc.ENERGY_SCALE_SIGMA_EV
    if opts["energy_drift_sigma_eV"] is None:
        opts["energy_drift_sigma_eV"] = unc.ENERGY_DRIFT_SIGMA_EV
    for key in ("energy_scale_sigma_eV", "energy_drift_sigma_eV"):
        if not (np.isfinite(opts[key]) and opts[key] >= 0):
            raise InputError(f"{key} must be a finite value >= 0 eV, got {opts[key]!r}")
    if opts["markers"] not in (True, False, "edge"):
        raise InputError(f"markers must be True, False or 'edge', got {opts['markers']!r}")
    if not (np.isfinite(opts["noise_correlation"]) and opts["noise_correlation"] >= 1):
        raise InputError("noise_correlation is the number of grid points over which the "
                         f"noise is correlated (>= 1), got {opts['noise_correlation']!r}")
    return opts


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False, repr=False)
class XanesStackResult(ResultDisplay, RecordTable):
    """XANES analysis of N scans on one measured energy grid.

    Attributes
    ----------
    energy : ndarray of shape (M,)
        The measured (uncalibrated) energy grid, eV. Scan ``i`` is on the calibrated
        grid ``energy + foil_shift_eV[i]`` (``energy`` where the shift is NaN).
    e0_eV, e0_err_eV : ndarray of shape (N,)
        Calibrated edge positions and their uncertainties (eV); NaN for failed scans.
    e0_err_terms_eV : dict of str to ndarray (N,)
        The named terms of ``e0_err_eV`` (:mod:`naheo_spec.xas.uncertainty`); NaN where a
        term does not apply to a scan (``foil`` without a foil...).
    norm_alt_eV : ndarray of shape (N, 4)
        E0 change under each normalization-range change (NaN where not applicable).
    edge_step, edge_step_err : ndarray of shape (N,)
        Edge steps (units of μ) and their noise errors.
    foil_shift_eV, foil_shift_err_eV, foil_e0_eV : ndarray of shape (N,)
        Shift applied from the foil, its error, and the foil's E0 on the measured scale
        (eV); NaN where there was no valid foil (None in JSON).
    oxidation_state, oxidation_state_err : ndarray of shape (N,)
        From the valence calibration; NaN without one.
    oxidation_state_terms : dict of str to ndarray (N,)
        Terms of ``oxidation_state_err`` (valence units).
    markers : dict of str to ndarray (N,)
        ``integral_eV``/``integral_err_eV``, for Fe ``preedge_centroid_eV``,
        ``preedge_centroid_err_eV``, ``preedge_area``, ``preedge_area_err``, and
        ``valence_<marker>``/``valence_<marker>_err`` when marker lines were given.
    pre_range_eV, norm_range_eV : ndarray of shape (N, 2)
        Normalization ranges used, eV relative to each scan's normalization E0.
    nnorm : ndarray of int, shape (N,)
        Post-edge polynomial degree used (-1 for failed scans and normalized input).
    files, scans : tuple of str or None
        Source file and scan label of each scan (as ``SpectrumStack[i].source``).
    element, edge, e0_method : str or None
        Common to the stack.
    row_warnings : StackWarnings
        Coded warnings of each scan (for a failed scan: the error).
    errors : tuple of str or None
        ``"ErrorType: message"`` for scans that could not be analysed, else None.
    warnings : tuple of WarningRecord
        Stack-level summary: each code of the per-scan warnings once, with its count, plus
        the stack's own reader repairs.
    provenance : Provenance
        Step ``"xas.xanes_stack"`` with every option resolved.
    norm : ndarray of shape (N, M) or None
        Normalized μ (on each scan's calibrated grid); None when not kept.
    coordinates : dict of str to ndarray (N,)
        The stack's per-scan coordinates (potential, state of charge, time...).
    normalized : bool
        The input was taken as already normalized.
    details : dict
        Per-scan arrays kept for :meth:`row` (normalization E0, noise, leverages, curves,
        foil status) and the separate foil calibration, if any.
    """

    energy: np.ndarray
    e0_eV: np.ndarray
    e0_err_eV: np.ndarray
    edge_step: np.ndarray
    foil_shift_eV: np.ndarray
    oxidation_state: np.ndarray
    oxidation_state_err: np.ndarray
    pre_range_eV: np.ndarray
    norm_range_eV: np.ndarray
    nnorm: np.ndarray
    files: tuple[str | None, ...]
    scans: tuple[str | None, ...]
    element: str | None
    edge: str | None
    e0_method: str
    row_warnings: StackWarnings
    errors: tuple[str | None, ...]
    warnings: tuple[WarningRecord, ...]
    provenance: Provenance
    norm: np.ndarray | None = None
    e0_err_terms_eV: dict = field(default_factory=dict)
    norm_alt_eV: np.ndarray | None = None
    edge_step_err: np.ndarray | None = None
    foil_shift_err_eV: np.ndarray | None = None
    foil_e0_eV: np.ndarray | None = None
    oxidation_state_terms: dict = field(default_factory=dict)
    markers: dict = field(default_factory=dict)
    coordinates: dict = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    normalized: bool = False
    details: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.e0_eV.size)

    # ------------------------------------------------------------------ joining
    @classmethod
    def concatenate(cls, parts: list["XanesStackResult"], *, provenance: Provenance,
                    warnings=()) -> "XanesStackResult":
        """Join the results of consecutive blocks of one stack (same grid and options)."""
        def cat(name):
            return np.concatenate([getattr(p, name) for p in parts])

        def cat_dict(name):
            keys = list(dict.fromkeys(k for p in parts for k in getattr(p, name)))
            return {k: np.concatenate([getattr(p, name).get(k, np.full(len(p), np.nan))
                                       for p in parts]) for k in keys}

        def join(name):
            return tuple(x for p in parts for x in getattr(p, name))

        first = parts[0]
        return cls(
            energy=first.energy, e0_eV=cat("e0_eV"), e0_err_eV=cat("e0_err_eV"),
            edge_step=cat("edge_step"), foil_shift_eV=cat("foil_shift_eV"),
            oxidation_state=cat("oxidation_state"),
            oxidation_state_err=cat("oxidation_state_err"), pre_range_eV=cat("pre_range_eV"),
            norm_range_eV=cat("norm_range_eV"), nnorm=cat("nnorm"), files=join("files"),
            scans=join("scans"), element=first.element, edge=first.edge,
            e0_method=first.e0_method,
            row_warnings=StackWarnings.concat([p.row_warnings for p in parts]),
            errors=join("errors"), warnings=tuple(warnings), provenance=provenance,
            norm=None if any(p.norm is None for p in parts) else cat("norm"),
            e0_err_terms_eV=cat_dict("e0_err_terms_eV"), norm_alt_eV=cat("norm_alt_eV"),
            edge_step_err=cat("edge_step_err"), foil_shift_err_eV=cat("foil_shift_err_eV"),
            foil_e0_eV=cat("foil_e0_eV"), oxidation_state_terms=cat_dict("oxidation_state_terms"),
            markers=cat_dict("markers"),
            coordinates={k: np.concatenate([p.coordinates[k] for p in parts])
                         for k in first.coordinates},
            labels=join("labels"), normalized=first.normalized, details={})

    # ------------------------------------------------------------------ views
    @property
    def scan_warnings(self) -> tuple[tuple[WarningRecord, ...], ...]:
        """Per-scan records as a tuple of tuples (small stacks; prefer :attr:`row_warnings`)."""
        return tuple(self.row_warnings.for_row(i) for i in range(len(self)))

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask (N,): True for scans analysed without error."""
        return np.array([e is None for e in self.errors], dtype=bool)

    def _row_dict(self, d: dict, i: int) -> dict:
        return {k: float(v[i]) for k, v in d.items() if np.isfinite(v[i])}

    def row_json(self, i: int) -> dict[str, Any]:
        """The JSON dict of scan ``i`` (:meth:`to_json_list` entry)."""
        common = {"file": self.files[i], "scan": self.scans[i], "element": self.element,
                  "edge": self.edge, "e0_method": self.e0_method}
        if self.errors[i] is not None:
            d = dict.fromkeys(JSON_KEYS)
            d.update(common, warnings=warnings_json(self.row_warnings.for_row(i)),
                     error=self.errors[i])
            return d
        return {**common, "e0_eV": _num(self.e0_eV[i]), "e0_err_eV": _num(self.e0_err_eV[i]),
                "e0_err_terms_eV": finite_dict(self._row_dict(self.e0_err_terms_eV, i)),
                "edge_step": _num(self.edge_step[i]),
                "foil_shift_eV": _num(self.foil_shift_eV[i]),
                "oxidation_state": _num(self.oxidation_state[i]),
                "oxidation_state_err": _num(self.oxidation_state_err[i]),
                "markers": finite_dict(self._row_dict(self.markers, i)),
                "warnings": warnings_json(self.row_warnings.for_row(i))}

    def to_json_list(self) -> list[dict[str, Any]]:
        """One dict per scan, in order, with the keys of ``XanesResult.to_json_dict``.

        Failed scans give the :class:`~naheo_spec.xas.xanes.XanesFailure` form: the same
        keys with None numbers, plus ``"error"``.
        """
        return [self.row_json(i) for i in range(len(self))]

    def row(self, i: int) -> XanesResult:
        """Scan ``i`` as a :class:`~naheo_spec.xas.xanes.XanesResult` (curves only when the
        pipeline kept them: always for :func:`~naheo_spec.xas.xanes.analyze_xanes`)."""
        from naheo_spec.xas.normalize import Normalization

        if self.errors[i] is not None:
            raise ProcessingError(self.errors[i])
        d = self.details
        shift = 0.0 if not np.isfinite(self.foil_shift_eV[i]) else float(self.foil_shift_eV[i])
        curves = d.get("curves") or {}
        m = self.energy.size

        def curve(name, fallback=None):
            c = curves.get(name)
            if c is not None:
                return np.asarray(c[i])
            return np.full(m, np.nan) if fallback is None else fallback

        norm = curve("norm", self.norm[i] if self.norm is not None else None)
        nrec = tuple(r for r in self.row_warnings.for_row(i)
                     if r.code.startswith("xas.normalize."))
        nz = Normalization(
            energy=self.energy + shift, mu=curve("mu"), e0_eV=float(d["e0_norm"][i]) + shift,
            edge_step=float(self.edge_step[i]), norm=norm, flat=curve("flat", norm),
            pre_edge=curve("pre_edge"), post_edge=curve("post_edge"),
            pre_range_eV=tuple(map(float, self.pre_range_eV[i])),
            norm_range_eV=tuple(map(float, self.norm_range_eV[i])), nnorm=int(self.nnorm[i]),
            nvict=int(d["nvict"][i]), preset=str(self.provenance.parameters.get("preset")),
            warnings=nrec, provenance=Provenance(step="xas.normalize", parameters={
                "e0_eV": float(d["e0_norm"][i]) + shift, "normalized_input": self.normalized,
                "pre_range_eV": list(map(float, self.pre_range_eV[i])),
                "norm_range_eV": list(map(float, self.norm_range_eV[i])),
                "nnorm": int(self.nnorm[i])}),
            pre_degree=int(d["pre_degree"][i]), noise_sigma=float(d["noise_sigma"][i]),
            edge_step_err=float(self.edge_step_err[i]),
            fit_leverage=tuple(map(float, d["fit_leverage"][i])))
        params = dict(self.provenance.parameters)
        params.update(pre_range_eV=nz.pre_range_eV, norm_range_eV=nz.norm_range_eV,
                      nnorm_used=nz.nnorm, n_scans=1)
        for key in ("energy_calibration", "foil_calibration"):
            params.pop(key, None)
        ecal = self._energy_calibration(i)
        params["foil_calibration"] = None if ecal is None else ecal.to_json_dict()
        src = d.get("sources")
        prov = Provenance(step="xas.xanes", parameters=params,
                          source_file=self.files[i],
                          source_sha256=None if src is None else src[i].sha256)
        return XanesResult(
            file=self.files[i], scan=self.scans[i], element=self.element, edge=self.edge,
            e0_method=self.e0_method, e0_eV=float(self.e0_eV[i]),
            e0_err_eV=float(self.e0_err_eV[i]), edge_step=float(self.edge_step[i]),
            foil_shift_eV=None if not np.isfinite(self.foil_shift_eV[i]) else shift,
            oxidation_state=_num(self.oxidation_state[i]),
            oxidation_state_err=_num(self.oxidation_state_err[i]),
            warnings=self.row_warnings.for_row(i), normalization=nz, energy_calibration=ecal,
            provenance=prov, metadata=dict(d.get("metadata", [{}] * len(self))[i]),
            e0_err_terms_eV=self._row_dict(self.e0_err_terms_eV, i),
            oxidation_state_terms=self._row_dict(self.oxidation_state_terms, i),
            markers=self._row_dict(self.markers, i),
            norm_alt_eV=tuple(map(float, self.norm_alt_eV[i])), normalized=self.normalized)

    def _energy_calibration(self, i: int):
        """The row's :class:`~naheo_spec.xas.energy_calibration.EnergyCalibration` (or None)."""
        from naheo_spec.xas.energy_calibration import EnergyCalibration

        d = self.details
        if d.get("separate_foil") is not None:
            return d["separate_foil"]
        if d.get("foil_mode") != "reference":
            return None
        st = int(d["foil_status"][i])
        if st == FEW or not np.isfinite(d["foil_tab"]):
            return None
        recs = tuple(r for r in self.row_warnings.for_row(i) if r.code.startswith("xas.foil."))
        src = d.get("sources")
        fe0 = self.foil_e0_eV[i]
        prov = Provenance(step="xas.calibrate_energy", parameters={
            "element": self.element, "edge": self.edge, "e0_method": d["foil_method"],
            "max_offset_eV": d["foil_max_offset"], "tabulated_e0_eV": d["foil_tab"],
            "foil_scan": self.scans[i]},
            source_file=self.files[i], source_sha256=None if src is None else src[i].sha256)
        ok = np.isfinite(self.foil_shift_eV[i])
        return EnergyCalibration(
            shift_eV=float(self.foil_shift_eV[i]) if ok else None,
            foil_e0_eV=float(fe0) if np.isfinite(fe0) else None,
            tabulated_e0_eV=float(d["foil_tab"]), element=self.element, edge=self.edge,
            method=d["foil_method"], max_offset_eV=float(d["foil_max_offset"]),
            warnings=recs, provenance=prov,
            shift_err_eV=float(self.foil_shift_err_eV[i]) if ok else None)

    def summary(self) -> dict[str, Any]:
        """JSON-safe stack summary (counts, medians, common labels, stack warnings)."""
        ok = self.valid
        files = set(self.files)

        def med(a):
            a = a[ok & np.isfinite(a)]
            return float(np.median(a)) if a.size else None

        out = {"n_scans": len(self), "n_valid": int(ok.sum()), "n_failed": int((~ok).sum()),
               "file": next(iter(files)) if len(files) == 1 else None,
               "element": self.element, "edge": self.edge, "e0_method": self.e0_method,
               "e0_eV_median": med(self.e0_eV), "e0_err_eV_median": med(self.e0_err_eV),
               "e0_eV_min": _num(np.nanmin(self.e0_eV)) if ok.any() else None,
               "e0_eV_max": _num(np.nanmax(self.e0_eV)) if ok.any() else None,
               "foil_shift_eV_median": med(self.foil_shift_eV),
               "n_foil_calibrated": int(np.isfinite(self.foil_shift_eV[ok]).sum()),
               "oxidation_state_median": med(self.oxidation_state),
               "normalized_input": self.normalized,
               "n_scans_with_warnings": int(np.sum(self.row_warnings.any_mask() & ok)),
               "warning_counts": self.row_warnings.counts(),
               "n_warnings": len(self.warnings),
               "warnings": "; ".join(w.message for w in self.warnings)}
        for name, v in self.e0_err_terms_eV.items():
            out[f"e0_err_{name}_eV_median"] = med(v)
        return out

    def to_record(self, name: str | None = None):
        """Return a :class:`~naheo_spec.records.Record` of kind ``"xanes_stack"``.

        ``summary`` is :meth:`summary`. NXdata groups, one per space:

        - ``data`` (when the normalized spectra are kept): ``norm`` (N, M) on
          ``scan_index`` x ``energy`` (measured grid);
        - ``scans``: the per-scan numbers ``e0_eV`` (signal), ``e0_err_eV``, one
          ``e0_err_<term>_eV`` per error term, ``edge_step``, ``foil_shift_eV``,
          ``foil_shift_err_eV``, ``oxidation_state``, ``oxidation_state_err``, the markers,
          ``nnorm``, ``pre_range_eV``/``norm_range_eV`` (N, 2), the coordinates, ``scan``
          labels and ``error`` on ``scan_index``;
        - ``warnings``: the sparse per-scan warning table (``row``, ``code_index``,
          ``message_index``, ``codes``, ``messages``; see
          :class:`~naheo_spec.diagnostics.StackWarnings`).
        """
        from naheo_spec.records import DataArray, DataGroup, Record, nexus_name

        def strings(values):
            return np.array(["" if v is None else str(v) for v in values], dtype=object)

        index = DataArray(np.arange(len(self)), "", "scan index")
        cols = {
            "scan_index": index,
            "e0_eV": DataArray(self.e0_eV, "eV", f"edge position ({self.e0_method}, calibrated)"),
            "e0_err_eV": DataArray(self.e0_err_eV, "eV", "edge position uncertainty"),
        }
        for term, v in self.e0_err_terms_eV.items():
            cols[f"e0_err_{term}_eV"] = DataArray(v, "eV", f"edge position error term: {term}")
        cols.update({
            "edge_step": DataArray(self.edge_step, "", "edge step"),
            "foil_shift_eV": DataArray(self.foil_shift_eV, "eV", "foil energy shift (NaN: none)"),
            "foil_shift_err_eV": DataArray(self.foil_shift_err_eV, "eV", "foil shift error"),
            "oxidation_state": DataArray(self.oxidation_state, "", "oxidation state"),
            "oxidation_state_err": DataArray(self.oxidation_state_err, "",
                                             "oxidation state uncertainty"),
            "pre_range_eV": DataArray(self.pre_range_eV, "eV", "pre-edge range from E0"),
            "norm_range_eV": DataArray(self.norm_range_eV, "eV", "normalization range from E0"),
            "nnorm": DataArray(np.asarray(self.nnorm), "", "post-edge polynomial degree"),
            "scan": DataArray(strings(self.scans), "", "scan label"),
            "error": DataArray(strings(self.errors), "", "per-scan error"),
        })
        for mk, v in self.markers.items():
            cols[nexus_name(f"marker_{mk}")] = DataArray(
                v, "eV" if mk.endswith("_eV") else "", f"marker {mk}")
        for ck, v in self.coordinates.items():
            if np.asarray(v).dtype.kind in "fiu":
                cols[nexus_name(f"coordinate_{ck}")] = DataArray(np.asarray(v, dtype=float), "",
                                                                 f"coordinate {ck}")
        scans = DataGroup(cols, signal="e0_eV", axes=["scan_index"], title="per-scan results")
        t = self.row_warnings
        table = DataGroup({
            "row": DataArray(t.rows, "", "scan index of each warning"),
            "code_index": DataArray(t.code_index, "", "index into codes"),
            "message_index": DataArray(t.message_index, "", "index into messages"),
            "codes": DataArray(strings(t.codes), "", "warning codes"),
            "messages": DataArray(strings(t.messages), "", "distinct messages"),
        }, signal="code_index", axes=["row"], title="per-scan warnings (sparse)")
        data, signal, axes = {}, None, []
        if self.norm is not None:
            data = {"scan_index": index,
                    "energy": DataArray(np.asarray(self.energy), "eV",
                                        "X-ray energy as measured (add foil_shift_eV per scan)"),
                    "norm": DataArray(self.norm, "", "normalized absorption")}
            signal, axes = "norm", ["scan_index", "energy"]
        stem = Path(self.files[0]).stem if self.files and self.files[0] else "stack"
        return Record(name=name or nexus_name(stem) + "_xanes_stack", kind="xanes_stack",
                      summary=self.summary(), provenance=self.provenance, data=data,
                      signal=signal, axes=axes, groups={"scans": scans, "warnings": table})

    def display_title(self) -> str:
        files = {Path(f).name for f in self.files if f}
        return next(iter(files)) if len(files) == 1 else f"{len(files)} files"

    def display_items(self):
        ok = self.valid
        yield ("scans", len(self), None, "")
        yield ("failed", int((~ok).sum()), None, "")
        if ok.any():
            yield ("median E0 (" + self.e0_method + ")", float(np.nanmedian(self.e0_eV[ok])),
                   float(np.nanmedian(self.e0_err_eV[ok])), "eV")
            if np.isfinite(self.oxidation_state[ok]).any():
                yield ("median oxidation state", float(np.nanmedian(self.oxidation_state[ok])),
                       float(np.nanmedian(self.oxidation_state_err[ok])), "")


# --------------------------------------------------------------------------- warnings log
class _Log:
    """Per-scan coded warnings and errors of one stack (or one chunk of it)."""

    def __init__(self, names: list[str]):
        self.names = names
        self.builder = StackWarningsBuilder(len(names))
        self.errors: list[str | None] = [None] * len(names)
        self.failed = np.zeros(len(names), dtype=bool)   # errors[i] is not None, as an array
        self.silent: set[str] = set()          # codes recorded but not emitted

    def add(self, code: WarningCode, rows: Iterable[int], fmt: Callable[[int], str],
            emit: bool = True) -> None:
        """Add ``code`` with message ``fmt(i)`` to each scan ``i`` in ``rows``."""
        rows = [int(i) for i in rows]
        if not rows:
            return
        self.builder.add(code, rows, [fmt(i) for i in rows])
        if not emit:
            self.silent.add(code.code)

    def add_named(self, code: WarningCode, rows, text: str, emit: bool = True) -> None:
        """Add ``code`` with the message ``"<scan name>: <text>"`` to each scan in ``rows``.

        The same messages as ``add(code, rows, lambda i: f"{names[i]}: {text}")``; without
        row names (:class:`_Placeholders`) that is one message for every row, built once
        (a warning on every scan of a 10^6-row stack costs no Python call per row).
        """
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if rows.size == 0:
            return
        if isinstance(self.names, _Placeholders):
            self.builder.add(code, rows, f"{ROW_NAME}: {text}")
        else:
            self.builder.add(code, rows, [f"{self.names[i]}: {text}" for i in rows.tolist()])
        if not emit:
            self.silent.add(code.code)

    def add_record(self, rows, fmt: Callable[[int], WarningRecord]) -> None:
        """Add a record (its own code) to each scan in ``rows``."""
        for i in rows:
            rec = fmt(int(i))
            self.builder.add(rec.code, [int(i)], rec.message)

    def fail(self, rows, kind: str, fmt: Callable[[int], str]) -> None:
        """Mark scans as failed (the first failure of a scan wins, as a raise would)."""
        for i in rows:
            i = int(i)
            if self.errors[i] is None:
                self.errors[i] = f"{kind}: {fmt(i)}"
                self.failed[i] = True

    def ok_rows(self, rows=None) -> np.ndarray:
        """The scans of ``rows`` (default: all, in order) without an error."""
        if rows is None:
            return np.flatnonzero(~self.failed)
        rows = np.asarray(rows, dtype=int).ravel()
        return rows[~self.failed[rows]]

    def build(self) -> StackWarnings:
        """The per-scan table; a failed scan keeps only its error (as a raise would)."""
        table = self.builder.build()
        failed = self.failed
        if not failed.any():
            return table
        keep = ~failed[table.rows]
        b = StackWarningsBuilder(len(self.names))
        for k in np.flatnonzero(keep):
            b.add(table.codes[table.code_index[k]], [table.rows[k]],
                  table.messages[table.message_index[k]])
        for i in np.flatnonzero(failed):
            b.add(SCAN_FAILED, [i], self.errors[i])
        return b.build()


# --------------------------------------------------------------------------- context
@dataclass
class _Ctx:
    """Resolved options, the (merged) arrays and per-scan labels of one stack or block."""

    stack: SpectrumStack
    energy: np.ndarray
    mu: np.ndarray
    refs: np.ndarray | None
    names: list[str]
    files: list[str | None]
    scans: list[str]
    element: str | None
    edge: str
    tab: float | None
    e0_method: str
    nopts: dict
    opts: dict
    calibration: Any
    notes: list
    log: _Log
    grid_note: WarningRecord | None = None
    shift: np.ndarray | None = None


def _as_stack(stack) -> SpectrumStack:
    if isinstance(stack, SpectrumStack):
        return stack
    if isinstance(stack, (tuple, list)) and len(stack) in (2, 3):
        energy, mu = stack[0], stack[1]
        ref = stack[2] if len(stack) == 3 else None
        return SpectrumStack(axis=energy, signals=mu, references=ref)
    raise InputError("stack must be a SpectrumStack or a tuple (energy (M,), mu_stack (N, M)"
                     f"[, reference_stack (N, M)]), got {type(stack).__name__}")


def stack_of_one(spectrum: Spectrum) -> SpectrumStack:
    """A one-row :class:`SpectrumStack` that carries the spectrum's source, metadata and
    warnings exactly (so that its row is the spectrum).

    Examples
    --------
    >>> s = Spectrum(np.arange(20.0), np.arange(20.0) ** 2, element="Fe")
    >>> st = stack_of_one(s)
    >>> len(st), st[0].element, bool(np.array_equal(st[0].mu, s.mu))
    (1, 'Fe', True)
    """
    from naheo_spec.diagnostics import StackWarningsBuilder as _B

    b = _B(1)
    b.add_records(0, spectrum.warnings)
    return SpectrumStack(spectrum.energy, spectrum.mu[None, :],
                         channels={k: v[None, :] for k, v in spectrum.channels.items()},
                         element=spectrum.element, edge=spectrum.edge,
                         acquisition=spectrum.acquisition, source=spectrum.source,
                         labels=[spectrum.source.scan or spectrum.name], row_warnings=b.build(),
                         scan_sources=[spectrum.source], scan_metadata=[spectrum.metadata])


#: Stands for the scan's name in the messages of ``analyze_block(..., row_names=False)``:
#: ``"{row}: mu contains NaN or inf"``; a consumer that keeps the row index (the batch
#: store) drops it, so that the messages of a large stack collapse to a few distinct ones
#: and no per-scan name is built.
ROW_NAME = "{row}"


class _Placeholders:
    """``names`` of a block analysed without row names: :data:`ROW_NAME` for every row."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i) -> str:
        return ROW_NAME


def _row_labels(stack: SpectrumStack) -> list[str]:
    """``[stack.label(i) for i in range(len(stack))]``, from the labels array at once."""
    lab = stack.labels
    if lab is not None:
        return [str(x) for x in (lab.tolist() if isinstance(lab, np.ndarray) else lab)]
    return [stack.label(i) for i in range(len(stack))]


def _labels(stack: SpectrumStack, named: bool = True):
    """File, scan and name of each scan exactly as ``stack[i]`` would carry them (names:
    :class:`_Placeholders` when not ``named``)."""
    if stack.scan_sources is not None:
        srcs = stack.scan_sources
        files = [src.path for src in srcs]
        scans = [src.scan for src in srcs]
        names = [f"{Path(src.path).name if src.path else 'spectrum'}:{src.scan}" if src.scan
                 else (Path(src.path).name if src.path else "spectrum") for src in srcs]
        return files, scans, names
    path = stack.source.path
    stem = Path(path).name if path else "spectrum"
    scans = _row_labels(stack)
    names = [f"{stem}:{s}" for s in scans] if named else _Placeholders(len(scans))
    return [path] * len(scans), scans, names


def _make_ctx(stack: SpectrumStack, opts: dict, row_names: bool = True) -> _Ctx:
    from naheo_spec.numerics.grid import CLOSE_FRACTION, merge_close_points
    from naheo_spec.xas.e0 import E0_METHODS

    cal = opts["calibration"]
    e0_method, nopts, notes = resolve_options(cal, opts["e0_method"], {
        k: opts[k] for k in NORM_OPTIONS})
    if e0_method not in E0_METHODS:
        raise InputError(f"e0_method must be one of {E0_METHODS}, got {e0_method!r}")
    element = opts["element"] or stack.element or (cal.element if cal else None)
    edge = opts["edge"] or stack.edge or (cal.edge if cal else None) or "K"
    if cal is not None:
        if cal.element and element and cal.element != element:
            raise CalibrationError(f"valence calibration is for {cal.element} but the data "
                                   f"are {element}")
        if not cal.has_line:
            raise CalibrationError("the valence calibration has no line: "
                                   + "; ".join(str(w) for w in cal.warnings))
    if not opts["max_foil_offset_eV"] > 0:
        raise InputError(f"max_foil_offset_eV must be > 0 eV, got {opts['max_foil_offset_eV']!r}")
    tab = None
    if element is not None:
        from naheo_spec.xas.edges import tabulated_edge_energy

        tab = tabulated_edge_energy(element, edge)
    files, scans, names = _labels(stack, row_names)
    energy, merged, nmerged = merge_close_points(
        stack.axis, {"mu": stack.signals, "ref": stack.references})
    note = None
    if nmerged:
        where = stack.source.path or (names[0] if len(names) == 1 else "stack")
        note = NEAR_DUPLICATES.record(
            f"{where}: {nmerged} energies closer than {CLOSE_FRACTION:g} x the median step "
            "were merged with their neighbours (signals averaged): a derivative between "
            "them is meaningless", merged=nmerged)
    mu = np.asarray(merged["mu"], dtype=float)
    refs = None if merged["ref"] is None else np.asarray(merged["ref"], dtype=float)
    return _Ctx(stack=stack, energy=energy, mu=mu, refs=refs, names=names, files=files,
                scans=scans, element=element, edge=edge, tab=tab, e0_method=e0_method,
                nopts=nopts, opts=opts, calibration=cal, notes=notes, log=_Log(names),
                grid_note=note)


def _finite(a: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(a)`` for the kernels, which only read it: ``a`` itself when it is
    all finite (the usual block), without the copy and the three extra passes."""
    return a if np.isfinite(a).all() else np.nan_to_num(a)


# --------------------------------------------------------------------------- input checks
def _input_rules(ctx: _Ctx) -> None:
    """Input warnings, then the rows that cannot be analysed at all."""
    log, n = ctx.log, len(ctx.names)
    rw = ctx.stack.row_warnings                 # the input rows' own warnings (reader repairs)
    for k in range(len(rw)):
        log.builder.add(rw.codes[rw.code_index[k]], [rw.rows[k]], rw.messages[rw.message_index[k]])
    for note in ctx.notes:
        log.add_record(range(n), lambda i, t=note: t.prefixed(ctx.names[i]))
    if ctx.grid_note is not None:
        log.add_record(range(n), lambda i: ctx.grid_note)
    masked = np.flatnonzero(~np.asarray(ctx.stack.mask, dtype=bool))
    log.fail(masked, "ProcessingError",
             lambda i: f"{ctx.names[i]}: masked as invalid by the reader (see its warnings)")
    mu = ctx.mu
    lo, hi = mu.min(axis=1), mu.max(axis=1)
    bad = np.flatnonzero(~(np.isfinite(lo) & np.isfinite(hi)))
    log.fail(bad, "ProcessingError", lambda i: f"{ctx.names[i]}: mu contains NaN or inf")
    from naheo_spec.xas.normalize import constant_message, constant_rows

    if bad.size:
        const = np.flatnonzero(constant_rows(_finite(mu)))
    else:                               # all finite: the same numbers as constant_rows(mu)
        const = np.flatnonzero(constant_rows(mu, scale=(hi - lo, np.maximum(np.abs(lo),
                                                                            np.abs(hi)))))
    log.fail(const, "ProcessingError",
             lambda i: f"{ctx.names[i]}: {constant_message(mu[i]).split(':')[0]}: "
                       "no absorption edge")


def _range_failures(ctx: _Ctx, shift0) -> None:
    """The tabulated edge must lie inside the calibrated scan."""
    energy, tab = ctx.energy, ctx.tab
    if tab is None:
        return
    rows = ctx.log.ok_rows()
    lo, hi = energy[0] + shift0[rows], energy[-1] + shift0[rows]
    out = rows[~((lo < tab) & (tab < hi))]
    ctx.log.fail(out, "ProcessingError", lambda i: (
        f"{ctx.names[i]}: the tabulated {ctx.element} {ctx.edge} edge ({tab:.1f} eV) lies "
        f"outside the scanned energy range {energy[0] + shift0[i]:.1f}.."
        f"{energy[-1] + shift0[i]:.1f} eV: wrong element or the scan misses the edge"))


def _tabulated_failures(ctx: _Ctx, e0c: np.ndarray) -> None:
    if ctx.tab is None:
        return
    tol, tab = E0_TABULATED_TOLERANCE_EV, ctx.tab
    rows = ctx.log.ok_rows()
    far = rows[np.abs(e0c[rows] - tab) > tol]
    ctx.log.fail(far, "ProcessingError", lambda i: (
        f"{ctx.names[i]}: E0 {e0c[i]:.2f} eV is {e0c[i] - tab:+.1f} eV from the tabulated "
        f"{ctx.element} {ctx.edge} edge {tab:.1f} eV (limit ±{tol:g} eV): the edge in the scan "
        "is not this element's (wrong element?) or the energy scale is far off"))


# --------------------------------------------------------------------------- foil
@dataclass
class _Foil:
    shift: np.ndarray
    err: np.ndarray
    e0: np.ndarray
    status: np.ndarray
    desc: str
    mode: str                    # "reference", "separate", "none", "disabled", "unknown"
    common: bool = False         # one separate foil for every scan: its term is common
    calibration: Any = None      # the separate foil's EnergyCalibration


def _foil_step(ctx: _Ctx, rows: np.ndarray) -> _Foil:
    """Foil shift (NaN = none), its error and the foil E0 of every scan, with the per-scan
    messages of the foil rules (:func:`~naheo_spec.xas.energy_calibration.foil_rows`)."""
    n = len(ctx.names)
    out = _Foil(shift=np.full(n, np.nan), err=np.full(n, np.nan), e0=np.full(n, np.nan),
                status=np.full(n, FEW, dtype=np.int8), desc="none", mode="none")
    log, foil = ctx.log, ctx.opts["foil"]
    if foil is False:
        log.add_named(FOIL_DISABLED, rows,
                      "no foil calibration (foil=False): energies are as measured")
        out.desc = out.mode = "disabled"
        return out
    if ctx.element is None:
        log.add_named(FOIL_ELEMENT_UNKNOWN, rows,
                      "element unknown: energy not calibrated against a foil")
        out.desc, out.mode = "element unknown", "unknown"
        return out
    if foil is not None:
        return _separate_foil(ctx, rows, out)
    if ctx.refs is None:
        log.add_named(FOIL_NONE, rows, "no foil (no reference channel and no foil= scan): "
                      "energy scale not calibrated")
        return out
    return _reference_rows(ctx, rows, out)


def _separate_foil(ctx, rows, out: _Foil) -> _Foil:
    from naheo_spec.xas.energy_calibration import calibrate_energy_from_foil

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualityWarning)   # recorded per scan below
        cal = calibrate_energy_from_foil(ctx.opts["foil"], element=ctx.element, edge=ctx.edge,
                                         e0_method=ctx.opts["foil_e0_method"],
                                         max_offset_eV=ctx.opts["max_foil_offset_eV"],
                                         strict=False)
    src = cal.provenance.source_file
    for m in cal.warnings:
        ctx.log.add_record(rows, lambda i, m=m: m if src else m.prefixed(ctx.names[i]))
    if cal.shift_eV is not None:
        out.shift[rows], out.err[rows] = cal.shift_eV, cal.shift_err_eV
    if cal.foil_e0_eV is not None:
        out.e0[rows] = cal.foil_e0_eV
    out.desc = ("separate foil scan " + (src or "")).strip()
    out.mode, out.common, out.calibration = "separate", True, cal
    return out


def _reference_rows(ctx, rows, out: _Foil) -> _Foil:
    """Each scan's own reference row through :func:`foil_rows` (vectorized)."""
    from naheo_spec.xas.energy_calibration import calibration_from_rows, foil_rows

    out.mode = "reference"
    out.desc = "reference channel " + str(ctx.stack.source.columns.get("reference", ""))
    if rows.size == 0:
        return out
    refs = ctx.refs if rows.size == ctx.refs.shape[0] else ctx.refs[rows]
    fr = foil_rows(ctx.energy, refs, element=ctx.element, edge=ctx.edge,
                   method=ctx.opts["foil_e0_method"],
                   max_offset_eV=ctx.opts["max_foil_offset_eV"])
    out.e0[rows], out.status[rows] = fr.e0, fr.status
    few = rows[fr.status == FEW]
    ctx.log.add(FOIL_UNUSABLE, few, lambda i: (
        f"{ctx.names[i]}: reference channel has only {int(np.isfinite(ctx.refs[i]).sum())} "
        "finite points: energy not calibrated"))
    ok = fr.accepted
    out.shift[rows[ok]] = fr.tab - fr.e0[ok]
    out.err[rows[ok]] = fr.err[ok]
    k_of = {int(r): k for k, r in enumerate(rows)}
    special = rows[(~ok & (fr.status != FEW)) | fr.searched_near]
    for i in special:                     # messages of rejected or searched rows
        src = ctx.files[int(i)]
        cal = calibration_from_rows(fr, k_of[int(i)], provenance=Provenance(step="-"),
                                    where=f"{src}: " if src else "", emit=False)
        for m in cal.warnings:
            ctx.log.add_record([i], lambda j, m=m: m if src else m.prefixed(ctx.names[j]))
    return out


# --------------------------------------------------------------------------- arrays
class _Arrays:
    """Per-scan arrays filled step by step (NaN until computed)."""

    def __init__(self, n: int, m: int, keep_norm: bool, keep_curves: bool):
        nan = np.full
        self.e0 = nan(n, np.nan)               # E0 on the measured grid
        self.noise = nan(n, np.nan)
        self.grid = nan(n, np.nan)
        self.alt = nan((n, len(unc.RANGE_ALTERNATIVES)), np.nan)
        self.e0_norm = nan(n, np.nan)
        self.step = nan(n, np.nan)
        self.step_err = nan(n, np.nan)
        self.sigma = nan(n, np.nan)
        self.lev = nan((n, 2), np.nan)
        self.pre = nan((n, 2), np.nan)
        self.normr = nan((n, 2), np.nan)
        self.nnorm = np.full(n, -1, dtype=int)
        self.nvict = np.zeros(n, dtype=int)
        self.pre_degree = np.ones(n, dtype=int)
        self.inflation = np.ones(n)
        self.shape = (n, m)
        self.norm = None            # (n, m), kept for the markers; returned if asked
        self.curves = {k: nan((n, m), np.nan) for k in ("flat", "pre_edge", "post_edge")} \
            if keep_curves else None
        self.markers: dict[str, np.ndarray] = {}

    def set_norm(self, rows: np.ndarray, values: np.ndarray, owned: bool = False) -> None:
        """``norm[rows] = values``; ``owned``: ``values`` is a fresh array nobody else
        holds, kept as it is when it covers every row (no NaN array, no copy)."""
        n = self.shape[0]
        if owned and rows.size == n and rows[0] == 0 and rows[-1] == n - 1 \
                and self.norm is None:           # sorted unique rows: every row in order
            self.norm = values
            return
        self.full_norm()[rows] = values

    def full_norm(self) -> np.ndarray:
        """The (n, m) normalized spectra (NaN where not normalized)."""
        if self.norm is None:
            self.norm = np.full(self.shape, np.nan)
        return self.norm


# --------------------------------------------------------------------------- normalize
def _normalize(ctx: _Ctx, rows: np.ndarray, arr: _Arrays, keep_curves: bool):
    """Normalization of ``rows`` on the measured grid; returns (valid rows, their norm)."""
    from naheo_spec.xas.normalize import edge_shape_problems, normalize_stack

    energy = ctx.energy
    sub = ctx.mu if rows.size == ctx.mu.shape[0] else ctx.mu[rows]
    nz = normalize_stack(energy, sub, **ctx.nopts, flatten=keep_curves,
                         keep_curves=keep_curves, on_invalid="record")
    fails = {int(rows[k]): msg for k, msg in nz.failures.items()}
    ctx.log.fail(sorted(fails), "ProcessingError", lambda i: f"{ctx.names[i]}: {fails[i]}")
    for code, rws, msgs in nz.row_notes:
        text = dict(zip(rows[rws].tolist(), msgs))
        ctx.log.add(code, rows[rws], text.__getitem__)
    valid = np.flatnonzero(nz.valid)
    every = valid.size == nz.norm.shape[0]            # the usual case: views, no copies
    norm_v = nz.norm if every else nz.norm[valid]
    sub_v = sub if every else sub[valid]
    if valid.size:
        shape = edge_shape_problems(energy, norm_v, nz.e0_eV[valid])
        bad = {int(rows[k]): msg for k, msg in zip(valid, shape) if msg}
        ctx.log.add(_SHAPE, sorted(bad), bad.__getitem__)
        _looks_normalized(ctx, rows[valid], sub_v, norm_v, nz.e0_eV[valid],
                          nz.edge_step[valid])
    r = rows[valid]
    arr.e0_norm[r], arr.step[r] = nz.e0_eV[valid], nz.edge_step[valid]
    arr.step_err[r], arr.sigma[r] = nz.edge_step_err[valid], nz.noise_sigma[valid]
    arr.lev[r], arr.pre[r], arr.normr[r] = nz.fit_leverage[valid], nz.pre_range_eV[valid], \
        nz.norm_range_eV[valid]
    arr.nnorm[r], arr.nvict[r], arr.pre_degree[r] = nz.nnorm[valid], nz.nvict[valid], \
        nz.pre_degree[valid]
    arr.set_norm(r, norm_v, owned=every)           # every row: normalize_stack's own array
    if arr.curves is not None:
        arr.curves["flat"][r] = nz.flat[valid]
        arr.curves["pre_edge"][r] = nz.pre_edge[valid]
        arr.curves["post_edge"][r] = nz.post_edge[valid]
    return r, norm_v, sub_v


def _looks_normalized(ctx: _Ctx, rows, mu, norm, e0, step) -> None:
    """Flag raw input that already looks normalized (the pipeline normalizes it again).

    Either the fit finds nothing to do (pre-edge 0 at E0 within 0.03 and an edge step of 1
    within 0.03), or the data themselves sit at 0 before the edge and near 1 after it:
    median of the first tenth of the points within 0.03 of 0, median of the last quarter
    between 0.7 and 1.5, nothing above 2.5 (a short, already normalized export: its own
    refit changes it). Of the real files in the shared data only Athena-project groups that
    were stored normalized match."""
    from naheo_spec.numerics.polyfit import index_nearest

    i0 = index_nearest(ctx.energy, e0)
    r = np.arange(rows.size)
    pre0 = mu[r, i0] - step * norm[r, i0]
    top = mu.max(axis=1)
    fitted = (np.abs(pre0) < LOOKS_NORMALIZED_TOL) & (
        (np.abs(step - 1.0) < LOOKS_NORMALIZED_TOL) | (np.abs(top - 1.0) < 0.01))
    m = mu.shape[1]
    head, tail = mu[:, :max(3, m // 10)], mu[:, -max(3, m // 4):]
    # a median lies between its window's extrema: the medians are taken only for the rows
    # whose extrema leave the rule open (the same answers, without a partition per row)
    maybe = (top < 2.5) & (head.min(axis=1) < LOOKS_NORMALIZED_TOL) & \
        (head.max(axis=1) > -LOOKS_NORMALIZED_TOL) & (tail.max(axis=1) > 0.7) & \
        (tail.min(axis=1) < 1.5)
    raw = np.zeros(rows.size, dtype=bool)
    k = np.flatnonzero(maybe)
    if k.size:
        first, last = np.median(head[k], axis=1), np.median(tail[k], axis=1)
        raw[k] = (np.abs(first) < LOOKS_NORMALIZED_TOL) & (last > 0.7) & (last < 1.5)
    ctx.log.add_named(LOOKS_NORMALIZED, rows[fitted | raw], (
        "the data look already normalized (0 before the edge, about 1 after "
        "it) but were normalized again, which moves the half-height E0: if they are "
        "normalized, pass --normalized (normalized=True)"))


def _given_normalized(ctx: _Ctx, rows: np.ndarray, arr: _Arrays):
    """``normalized=True``: the input is the normalized spectrum (no refit)."""
    from naheo_spec.xas.normalize import noise_rows

    energy = ctx.energy
    sub = ctx.mu if rows.size == ctx.mu.shape[0] else ctx.mu[rows]
    grad = np.gradient(sub, energy, axis=1)
    guess = energy[np.argmax(grad, axis=1)]
    arr.e0_norm[rows], arr.step[rows], arr.step_err[rows] = guess, 1.0, np.nan
    arr.sigma[rows] = noise_rows(energy, sub, guess)
    arr.lev[rows] = 0.0
    arr.pre[rows], arr.normr[rows] = np.nan, np.nan
    arr.set_norm(rows, sub)
    if arr.curves is not None:
        arr.curves["flat"][rows] = sub
    return rows, sub, sub


# --------------------------------------------------------------------------- E0
def _noise_inflation(ctx: _Ctx, rows, mu, arr: _Arrays) -> np.ndarray:
    """Noise correlation length (points) of each row: declared, or detected interpolation;
    for interpolated rows the noise is re-estimated on the measured points."""
    from naheo_spec.xas.normalize import noise_rows

    m = np.maximum(unc.interpolation_factor(ctx.energy, mu), ctx.opts["noise_correlation"])
    hit = np.flatnonzero(m > 1.5)
    for s in np.unique(np.round(m[hit]).astype(int)):
        k = hit[np.round(m[hit]).astype(int) == s]
        if s < 2 or ctx.energy[::s].size < 12:
            continue
        dec = noise_rows(ctx.energy[::s], mu[k][:, ::s], arr.e0_norm[rows[k]])
        r = rows[k]
        arr.sigma[r] = np.fmax(arr.sigma[r], dec)
    arr.inflation[rows] = m
    return m


def _e0_step(ctx: _Ctx, rows, norm, mu, arr: _Arrays) -> None:
    """E0 on the measured grid, its noise and grid terms, and the method's own rules."""
    from naheo_spec.xas import e0 as e0mod
    from naheo_spec.xas.uncertainty import grid_floor

    energy, method = ctx.energy, ctx.e0_method
    m = _noise_inflation(ctx, rows, mu, arr)
    noise_norm = arr.sigma[rows] / arr.step[rows]
    lev = arr.lev[rows]
    if method == "half-height" or method == "arctan":
        hh = e0mod.half_height_rows(energy, _finite(norm), arr.e0_norm[rows])
        found = np.isfinite(hh["e0"])
        ctx.log.fail(rows[~found], "ProcessingError",
                     lambda i: f"{ctx.names[i]}: {no_crossing_message('half-height')}")
        if method == "half-height":
            arr.e0[rows] = hh["e0"]
            arr.noise[rows] = e0mod.half_height_err(hh, lev, noise_norm, 0.5, inflation=m)
            arr.grid[rows] = np.fmax(hh["interpolation_eV"], grid_floor(hh["step"]))
            far = np.flatnonzero(found & (np.abs(hh["e0"] - arr.e0_norm[rows])
                                          > HALF_HEIGHT_FAR_EV))
            pos = {int(rows[k]): int(k) for k in far}
            ctx.log.add(HALF_HEIGHT_FAR, rows[far], lambda i: half_height_far_message(
                float(hh["e0"][pos[i]]), float(arr.e0_norm[i])))
        else:
            guess = np.where(found, hh["e0"], arr.e0_norm[rows])
            fit = e0mod.arctan_rows(energy, _finite(norm), guess, noise_norm)
            bad = np.flatnonzero(found & ~np.isfinite(fit["e0"]))
            why = {int(rows[k]): fit["message"][k] or "arctan fit failed" for k in bad}
            ctx.log.fail(sorted(why), "FitError", why.__getitem__)
            arr.e0[rows] = fit["e0"]
            arr.noise[rows] = fit["err"] * np.sqrt(m)
            arr.grid[rows] = grid_floor(_local_step(energy, fit["e0"]))
            ctx.log.add(ARCTAN_AT_BOUND, rows[fit["at_bound"]], lambda i: ARCTAN_AT_BOUND_MESSAGE)
        return
    if method == "integral":
        ii = e0mod.integral_rows(energy, _finite(norm), arr.e0_norm[rows])
        found = np.isfinite(ii["e0"])
        ctx.log.fail(rows[~found], "ProcessingError",
                     lambda i: f"{ctx.names[i]}: {no_crossing_message('integral')}")
        arr.e0[rows] = ii["e0"]
        arr.noise[rows] = e0mod.integral_err(ii, lev, noise_norm, inflation=m)
        arr.grid[rows] = grid_floor(ii["step"])
        return
    _derivative_e0(ctx, rows, mu, arr, m)


def _local_step(energy, e) -> np.ndarray:
    from naheo_spec.numerics.polyfit import index_nearest

    i = np.clip(index_nearest(energy, np.nan_to_num(e, nan=energy[0])), 1, energy.size - 2)
    return 0.5 * (energy[i + 1] - energy[i - 1])


def _derivative_e0(ctx: _Ctx, rows, mu, arr: _Arrays, m) -> None:
    """max-derivative / zero-second-derivative: larch's kernel, bootstrap noise, grid."""
    from naheo_spec.xas.e0 import find_e0_stack

    energy, method = ctx.energy, ctx.e0_method
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e0, boot = find_e0_stack(energy, mu, method=method, uncertainty=True)
    step = _local_step(energy, e0)
    quantum = step / np.sqrt(12.0)
    if method == "max-derivative":               # find_e0_stack adds the quantum: remove it
        with np.errstate(invalid="ignore"):
            boot = np.sqrt(np.maximum(boot ** 2 - quantum ** 2, 0.0))
        arr.grid[rows] = quantum
    else:
        arr.grid[rows] = step * unc.GRID_FLOOR_FRACTION
    arr.e0[rows] = e0
    arr.noise[rows] = boot * np.sqrt(m)
    hit = np.flatnonzero(np.isfinite(boot) & (boot > BOOTSTRAP_SPREAD_LIMIT_EV))
    pos = {int(rows[k]): float(boot[k]) for k in hit}
    ctx.log.add(BOOTSTRAP_SPREAD, rows[hit], lambda i: bootstrap_spread_message(method, pos[i]))


# --------------------------------------------------------------------------- budget
def _normalization_term(ctx: _Ctx, rows, mu, arr: _Arrays) -> None:
    """E0 change under each range change of RANGE_ALTERNATIVES (normalized-level methods):
    the same fits re-run with the shifted ranges (rows grouped by the ranges they used),
    on the columns around the edge only, and the crossing found again. The changes of a
    group are fitted together (:func:`~naheo_spec.xas.normalize.normalized_windows`: the
    group's rows read once) and their crossings searched in one call."""
    energy = ctx.energy
    level = "integral" if ctx.e0_method == "integral" else "half-height"
    base_all = arr.e0[rows] if level == ctx.e0_method else None
    keys = np.column_stack([arr.pre[rows], arr.normr[rows], arr.nnorm[rows], arr.nvict[rows]])
    uniq, inv = _unique_rows(keys)
    for g, key in enumerate(uniq):
        k = np.arange(rows.size) if uniq.shape[0] == 1 else np.flatnonzero(inv == g)
        mu_k = mu if k.size == mu.shape[0] else mu[k]         # once per group, not per change
        e0n = arr.e0_norm[rows[k]]
        lo = int(np.searchsorted(energy, np.min(e0n) - 45.0))
        hi = int(np.searchsorted(energy, np.max(e0n) + 90.0, side="right"))
        cols = slice(max(lo, 0), min(hi, energy.size))
        p1, p2, n1, n2, nn, nv = key
        changes = [(a, ((p1 + d1, p2 + d2), (n1 + d3, n2 + d4)))
                   for a, (d1, d2, d3, d4) in enumerate(unc.RANGE_ALTERNATIVES)
                   if p1 + d1 < p2 + d2 and n1 + d3 < n2 + d4]   # else no range: no term
        ranges = ([] if base_all is not None else [((p1, p2), (n1, n2))]) + \
            [r for _, r in changes]
        if not ranges:
            continue
        e = _level_e0s(energy, mu_k, e0n, cols, ranges, int(nn), int(nv), level)
        base = base_all[k] if base_all is not None else e[0]
        for j, (a, _) in enumerate(changes):
            arr.alt[rows[k], a] = e[j + (base_all is None)] - base


def _unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, axis=0, return_inverse=True)`` for a (N, C) array of finite keys
    with few distinct rows: each column's values numbered (1-D unique), the numbers
    combined into one integer per row (the same lexicographic order), which a 1-D unique
    then groups -- much faster than numpy's row-wise unique on a block."""
    n = keys.shape[0]
    if n == 0 or (keys == keys[0]).all():
        return keys[:min(n, 1)], np.zeros(n, dtype=np.intp)
    code, size = np.zeros(n, dtype=np.int64), 1
    for j in range(keys.shape[1]):
        u, inv = np.unique(keys[:, j], return_inverse=True)
        size *= u.size
        if size >= 2 ** 62:                           # too many combinations: numpy's own
            uniq, inv = np.unique(keys, axis=0, return_inverse=True)
            return uniq, inv.reshape(-1)
        code = code * u.size + inv.reshape(-1)
    _, first, inv = np.unique(code, return_index=True, return_inverse=True)
    return keys[first], inv.reshape(-1)


def _level_e0s(energy, mu, e0n, cols, ranges, nnorm, nvict, level) -> np.ndarray:
    """(V, N) level E0 of the rows re-normalized with each range pair (NaN where the
    normalization fails); the windows of all pairs searched in one call."""
    from naheo_spec.xas.e0 import half_height_rows, integral_rows
    from naheo_spec.xas.normalize import normalized_windows

    v, n = len(ranges), mu.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            norm = normalized_windows(energy, mu, e0n, cols, ranges=ranges, nnorm=nnorm,
                                      nvict=nvict)
        except NaheoError:                    # one bad pair: the others one by one
            if v == 1:
                return np.full((1, n), np.nan)
            return np.vstack([_level_e0s(energy, mu, e0n, cols, [r], nnorm, nvict, level)
                              for r in ranges])
    norm = norm.reshape(v * n, -1)
    ok = np.isfinite(norm).all(axis=1)
    norm = norm if ok.all() else np.nan_to_num(norm)
    e0v = np.tile(e0n, v)
    sub_e = energy[cols]
    e = integral_rows(sub_e, norm, e0v)["e0"] if level == "integral" else \
        half_height_rows(sub_e, norm, e0v)["e0"]
    return np.where(ok, e, np.nan).reshape(v, n)


def _budget(ctx: _Ctx, arr: _Arrays, foil: _Foil, rows) -> dict[str, np.ndarray]:
    n = len(ctx.names)
    terms = {"noise": arr.noise.copy(), "grid": arr.grid.copy()}
    if ctx.e0_method in LEVEL_METHODS + ("arctan",) and not ctx.opts["normalized"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN rows stay NaN
            terms["normalization"] = np.nanmax(np.abs(arr.alt), axis=1)
    cal = np.isfinite(foil.shift)
    if cal.any():
        terms["foil"] = np.where(cal, foil.err, np.nan)
    if (~cal).any():
        terms["energy_scale"] = np.where(cal, np.nan, ctx.opts["energy_scale_sigma_eV"])
        terms["energy_drift"] = np.where(cal, np.nan, ctx.opts["energy_drift_sigma_eV"])
    out = np.ones(n, dtype=bool)
    out[rows] = False
    if out.any():
        for v in terms.values():
            v[out] = np.nan
    return terms


# --------------------------------------------------------------------------- valence
def _valence(ctx: _Ctx, e0c, err, shift, rows) -> tuple[np.ndarray, np.ndarray, dict]:
    """The calibration line's prediction for every row, with its per-scan messages."""
    n = e0c.size
    v_out, verr_out = np.full(n, np.nan), np.full(n, np.nan)
    cal = ctx.calibration
    if cal is None or rows.size == 0:
        return v_out, verr_out, {}
    r = cal.predict_rows(e0c[rows], err[rows], include_scatter=ctx.opts["include_scatter"],
                         span_margin=ctx.opts["span_margin"])
    v_out[rows], verr_out[rows] = r["valence"], r["valence_err"]
    terms = {}
    for key in ("term_e0", "term_line", "term_scatter", "term_extrapolation"):
        t = np.full(n, np.nan)
        t[rows] = r[key]
        terms[key[5:]] = t
    m = ctx.opts["span_margin"]
    ctx.log.add(OUT_OF_SPAN, rows[r["out_of_span"]], lambda i: (
        f"{ctx.names[i]}: " + cal.out_of_span_message(float(v_out[i]), float(e0c[i]), m)))
    if cal.dof == 0:
        ctx.log.add_named(NO_DOF, rows, (
            "the valence calibration has no residual degrees of freedom "
            f"({len(cal.points)} standards): the scatter of real compounds about the line is "
            "the prior alone"), emit=False)
    prior = [w for w in cal.warnings if getattr(w, "code", "") == SCATTER_PRIOR.code]
    if prior:
        ctx.log.add_named(SCATTER_PRIOR, rows, prior[0].message, emit=False)
    raw = rows[~np.isfinite(shift[rows])]
    ctx.log.add_named(UNCALIBRATED_ENERGY, raw, (
        "oxidation state from an energy scale not calibrated against a "
        f"foil: a monochromator offset of 1 eV moves it by about {1.0 / cal.slope_eV:.2f} "
        f"(included: energy-scale term {ctx.opts['energy_scale_sigma_eV']:g} eV)"))
    return v_out, verr_out, terms


# --------------------------------------------------------------------------- markers
def _markers(ctx: _Ctx, rows, norm, arr: _Arrays, shift0, energy_terms) -> dict:
    """Integral edge position and (Fe) pre-edge centroid of every row, with errors that
    include the row's energy-calibration terms; marker valences when lines are given."""
    from naheo_spec.xas.e0 import integral_err, integral_rows
    from naheo_spec.xas.preedge import ELEMENTS, preedge_rows
    from naheo_spec.xas.uncertainty import grid_floor

    n = len(ctx.names)
    out: dict[str, np.ndarray] = {}
    if not ctx.opts["markers"] or rows.size == 0:
        return out
    noise_norm = arr.sigma[rows] / arr.step[rows]
    if ctx.e0_method != "integral":
        ii = integral_rows(ctx.energy, _finite(norm), arr.e0_norm[rows])
        e = np.full(n, np.nan)
        e[rows] = ii["e0"] + shift0[rows]
        err = np.full(n, np.nan)
        err[rows] = np.sqrt(integral_err(ii, arr.lev[rows], noise_norm,
                                         inflation=arr.inflation[rows]) ** 2
                            + grid_floor(ii["step"]) ** 2 + energy_terms[rows] ** 2)
        out["integral_eV"], out["integral_err_eV"] = e, err
    if ctx.opts["markers"] is True and ctx.element in ELEMENTS and ctx.tab is not None:
        cen, cerr = np.full(n, np.nan), np.full(n, np.nan)
        area, aerr = np.full(n, np.nan), np.full(n, np.nan)
        s = shift0[rows]
        for u in np.unique(s):
            k = np.flatnonzero(s == u)
            pe = preedge_rows(ctx.energy, norm[k], ctx.tab - u, noise_norm[k])
            r = rows[k]
            cen[r] = pe["centroid_eV"] + u
            cerr[r] = np.sqrt(pe["centroid_err_eV"] ** 2 + energy_terms[r] ** 2
                              + grid_floor(_local_step(ctx.energy, pe["centroid_eV"])) ** 2)
            area[r], aerr[r] = pe["area"], pe["area_err"]
        out.update(preedge_centroid_eV=cen, preedge_centroid_err_eV=cerr, preedge_area=area,
                   preedge_area_err=aerr)
    lines = ctx.opts["marker_calibrations"] or {}
    for name, cal in lines.items():
        key = {"integral": "integral_eV", "preedge": "preedge_centroid_eV"}.get(name)
        if key is None or key not in out or cal is None or not cal.has_line:
            continue
        ok = rows[np.isfinite(out[key][rows])]
        v, verr = np.full(n, np.nan), np.full(n, np.nan)
        if ok.size:
            pr = cal.predict_rows(out[key][ok], out[key.replace("_eV", "_err_eV")][ok],
                                  include_scatter=ctx.opts["include_scatter"])
            v[ok], verr[ok] = pr["valence"], pr["valence_err"]
        out[f"valence_{name}"], out[f"valence_{name}_err"] = v, verr
    return out


def _drop_foil_valences(ctx: _Ctx, rows, arr: _Arrays, shift0, ox, ox_err, ox_terms,
                        markers) -> None:
    """No oxidation state (NaN, coded warning) for rows that look like a metal foil.

    The lines are made of oxides; a foil's half-height E0 lies 5-8 eV above its first
    inflection point, where a divalent oxide's edge is, so the line would give a metal
    about +2 (Fe.prj "Fe foil": 2.05). Only rows without a white line are tested (the
    max-derivative E0 is computed for those alone)."""
    from naheo_spec.xas.e0 import find_e0_stack
    from naheo_spec.xas.foil_detection import (WHITE_LINE_MAX, WHITE_LINE_SPAN_EV,
                                               metal_foil_rows)

    has_valence = [k for k in markers if k.startswith("valence_")]
    if rows.size == 0 or ctx.tab is None or (ctx.calibration is None and not has_valence):
        return
    norm = arr.full_norm()[rows]
    e = ctx.energy[None, :] + shift0[rows][:, None]
    near = (e > ctx.tab - 10.0) & (e < ctx.tab + WHITE_LINE_SPAN_EV + 10.0)
    with np.errstate(invalid="ignore"):
        peak = np.where(near, norm, -np.inf).max(axis=1)
    cand = np.flatnonzero(np.isfinite(peak) & (peak < WHITE_LINE_MAX))
    if cand.size == 0:
        return
    e0d, _ = find_e0_stack(ctx.energy, _finite(norm[cand]), method="max-derivative",
                           uncertainty=False)
    foil = np.zeros(cand.size, dtype=bool)
    s = shift0[rows[cand]]
    for u in np.unique(s):
        k = np.flatnonzero(s == u)
        foil[k] = metal_foil_rows(ctx.energy + u, norm[cand[k]], e0d[k] + u,
                                  element=ctx.element, edge=ctx.edge)
    hit = rows[cand[foil]]
    if hit.size == 0:
        return
    for a in [ox, ox_err, *ox_terms.values()] + [markers[k] for k in has_valence]:
        a[hit] = np.nan
    e0_at = dict(zip(hit.tolist(), (e0d[foil] + s[foil]).tolist()))
    ctx.log.add(METAL_FOIL, hit, lambda i: (
        f"{ctx.names[i]}: looks like a metal foil (max-derivative E0 {e0_at[i]:.1f} eV, "
        f"tabulated {ctx.element} {ctx.edge} edge {ctx.tab:.1f} eV, no white line): no "
        "oxidation state from the oxide calibration line"))


def _marker_agreement(ctx: _Ctx, ox, ox_err, markers, rows) -> None:
    """Coded warning where a marker's valence and the main one disagree by > 2 sigma."""
    for name in ("integral", "preedge"):
        v = markers.get(f"valence_{name}")
        if v is None or ctx.calibration is None:
            continue
        ve = markers[f"valence_{name}_err"]
        with np.errstate(invalid="ignore"):
            d = np.abs(v - ox)
            lim = 2.0 * np.sqrt(ve ** 2 + ox_err ** 2)
        hit = rows[np.isfinite(d[rows]) & (d[rows] > lim[rows])]
        ctx.log.add(MARKERS_DISAGREE, hit, lambda i, nm=name, vv=v, vve=ve: (
            f"{ctx.names[i]}: the {nm} marker gives oxidation state {vv[i]:.2f} ± {vve[i]:.2f}, "
            f"the edge position {ox[i]:.2f} ± {ox_err[i]:.2f}: they disagree by more than "
            "twice their combined error (structure, white line or calibration: check both)"))


# --------------------------------------------------------------------------- driver
def _run(ctx: _Ctx, keep_norm: bool, keep_curves: bool) -> XanesStackResult:
    """The whole pipeline on one stack; warnings are logged, not emitted."""
    n, m = len(ctx.names), ctx.energy.size
    log = ctx.log
    _input_rules(ctx)
    foil = _foil_step(ctx, log.ok_rows())
    shift0 = np.nan_to_num(foil.shift, nan=0.0)
    _range_failures(ctx, shift0)
    arr = _Arrays(n, m, keep_norm, keep_curves)
    rows = log.ok_rows()
    if rows.size:
        stepper = _given_normalized if ctx.opts["normalized"] else \
            (lambda c, r, a: _normalize(c, r, a, keep_curves))
        valid, norm, mu = stepper(ctx, rows, arr)
        if valid.size:
            _e0_step(ctx, valid, norm, mu, arr)
            ok = np.isin(valid, log.ok_rows(valid))
            if ctx.e0_method in LEVEL_METHODS + ("arctan",) and not ctx.opts["normalized"]:
                every = ok.all()                        # the usual case: no copy of mu
                _normalization_term(ctx, valid if every else valid[ok], mu if every else mu[ok],
                                    arr)
    e0c = arr.e0 + shift0
    _tabulated_failures(ctx, e0c)
    rows = log.ok_rows()
    terms = _budget(ctx, arr, foil, rows)
    err = unc.combine(terms)
    energy_terms = unc.combine({k: terms[k] for k in ("foil", "energy_scale", "energy_drift")
                                if k in terms})
    energy_terms = np.broadcast_to(energy_terms, (n,))
    ox, ox_err, ox_terms = _valence(ctx, e0c, err, foil.shift, rows)
    norm = arr.full_norm()
    markers = _markers(ctx, rows, norm if rows.size == n else norm[rows], arr, shift0,
                       energy_terms)
    _drop_foil_valences(ctx, rows, arr, shift0, ox, ox_err, ox_terms, markers)
    _marker_agreement(ctx, ox, ox_err, markers, rows)
    failed = log.failed.copy()
    err = np.where(failed, np.nan, err)
    for a in (e0c, ox, ox_err, foil.shift, foil.err, arr.step, arr.step_err, arr.e0_norm):
        a[failed] = np.nan
    for d in (terms, ox_terms, markers):
        for v in d.values():
            v[failed] = np.nan
    arr.pre[failed], arr.normr[failed], arr.alt[failed] = np.nan, np.nan, np.nan
    arr.nnorm[failed] = -1
    arr.full_norm()[failed] = np.nan
    return _result(ctx, arr, foil, e0c, err, terms, ox, ox_err, ox_terms, markers,
                   keep_norm, keep_curves)


def _result(ctx, arr, foil, e0c, err, terms, ox, ox_err, ox_terms, markers, keep_norm,
            keep_curves) -> XanesStackResult:
    stack = ctx.stack
    details = {"e0_norm": arr.e0_norm, "noise_sigma": arr.sigma, "fit_leverage": arr.lev,
               "nvict": arr.nvict, "pre_degree": arr.pre_degree, "foil_status": foil.status,
               "foil_mode": foil.mode, "foil_method": ctx.opts["foil_e0_method"],
               "foil_max_offset": float(ctx.opts["max_foil_offset_eV"]),
               "foil_tab": np.nan if ctx.tab is None else ctx.tab,
               "separate_foil": foil.calibration, "noise_inflation": arr.inflation,
               "sources": stack.scan_sources,
               "metadata": [stack.row_metadata(i) for i in range(len(stack))]
               if len(stack) <= 1000 or stack.scan_metadata is not None else None}
    if keep_curves:
        details["curves"] = {"mu": ctx.mu, "norm": arr.norm, **arr.curves}
    if details["metadata"] is None:
        details.pop("metadata")
    coords = {k: np.asarray(v) for k, v in stack.coordinates.items()}
    return XanesStackResult(
        energy=ctx.energy, e0_eV=e0c, e0_err_eV=err, edge_step=arr.step,
        foil_shift_eV=foil.shift, oxidation_state=ox, oxidation_state_err=ox_err,
        pre_range_eV=arr.pre, norm_range_eV=arr.normr, nnorm=arr.nnorm,
        files=tuple(ctx.files), scans=tuple(ctx.scans), element=ctx.element, edge=ctx.edge,
        e0_method=ctx.e0_method, row_warnings=ctx.log.build(), errors=tuple(ctx.log.errors),
        warnings=(), provenance=_provenance(ctx, foil), norm=arr.norm if keep_norm else None,
        e0_err_terms_eV=terms, norm_alt_eV=arr.alt, edge_step_err=arr.step_err,
        foil_shift_err_eV=foil.err, foil_e0_eV=foil.e0, oxidation_state_terms=ox_terms,
        markers=markers, coordinates=coords,
        labels=tuple(_row_labels(stack)) if len(stack) <= 100000 else (),
        normalized=bool(ctx.opts["normalized"]), details=details)


def _provenance(ctx: _Ctx, foil: _Foil) -> Provenance:
    cal, src = ctx.calibration, ctx.stack.source
    o = ctx.opts
    synthetic = src.format == "synthetic" or bool(ctx.stack.metadata.get("synthetic")) or any(
        bool(m.get("synthetic")) for m in (ctx.stack.scan_metadata or ()))
    params = {"e0_method": ctx.e0_method, **ctx.nopts, "element": ctx.element,
              "edge": ctx.edge, "foil": foil.desc, "foil_e0_method": o["foil_e0_method"],
              "max_foil_offset_eV": o["max_foil_offset_eV"], "n_scans": len(ctx.names),
              "pre_range_eV": "per scan: pre_range_eV", "norm_range_eV": "per scan",
              "nnorm_used": "per scan: nnorm",
              "energy_calibration": "normalized on the measured grid; the foil shift "
                                    "translates the energies",
              "foil_calibration": foil_summary(ctx.tab, foil.shift),
              "valence_calibration": None if cal is None else calibration_summary(cal),
              "include_scatter": o["include_scatter"], "span_margin": o["span_margin"],
              "normalized_input": bool(o["normalized"]),
              "noise_correlation_points": float(o["noise_correlation"]),
              "energy_scale_sigma_eV": float(o["energy_scale_sigma_eV"]),
              "energy_drift_sigma_eV": float(o["energy_drift_sigma_eV"]),
              "error_terms": list(unc.TERMS), "range_alternatives_eV":
                  [list(a) for a in unc.RANGE_ALTERNATIVES],
              "markers": bool(o["markers"]), "synthetic": synthetic}
    return Provenance(step="xas.xanes_stack", parameters=params, source_file=src.path,
                      source_sha256=src.sha256)


def foil_summary(tab, shift) -> dict[str, Any]:
    """Counts and range of the foil shifts of a stack (provenance)."""
    ok = np.isfinite(shift)
    return {"tabulated_e0_eV": tab, "n_shifted": int(ok.sum()), "n_not_shifted": int((~ok).sum()),
            "shift_eV_median": float(np.median(shift[ok])) if ok.any() else None,
            "shift_eV_range": [float(shift[ok].min()), float(shift[ok].max())] if ok.any()
            else None}


# --------------------------------------------------------------------------- public API
def analyze_block(stack: SpectrumStack, options: dict, norm_cache: dict | None = None, *,
                  keep_norm: bool = False, keep_curves: bool = False, row_names: bool = True
                  ) -> tuple[XanesStackResult, set[str]]:
    """The pipeline on one block of scans, nothing emitted.

    Returns the block's result and the codes that are recorded but not emitted. Blocks of
    one stack (out-of-core processing) are joined with
    :meth:`XanesStackResult.concatenate`; ``norm_cache`` is accepted for compatibility and
    unused (every rule runs per row). ``row_names=False``: messages and errors name the
    scan :data:`ROW_NAME` instead of ``"<file>:<label>"`` (for consumers that keep the row
    index; the numbers are the same).
    """
    ctx = _make_ctx(stack, options, row_names)
    return _run(ctx, keep_norm, keep_curves), set(ctx.log.silent)


def summarize(res: XanesStackResult, silent: set[str], extra=()) -> XanesStackResult:
    """Emit one warning per code of ``res.row_warnings`` and store the summary (plus
    ``extra`` records first) as ``res.warnings``."""
    summary = tuple((r, r.code not in silent)
                    for r in res.row_warnings.summary(unit="scans"))
    for rec, emit in summary:
        if emit:
            rec.emit(stacklevel=4)
    return replace(res, warnings=tuple(extra) + tuple(r for r, _ in summary))


def analyze_xanes_stack(stack, *, e0_method: str | None = None, foil=None, calibration=None,
                        element: str | None = None, edge: str | None = None,
                        preset: str | None = None, pre_range=None, norm_range=None,
                        nnorm: int | None = None, nvict: int | None = None,
                        foil_e0_method: str = "max-derivative", max_foil_offset_eV: float = 5.0,
                        include_scatter: bool = True, span_margin: float | None = None,
                        normalized: bool = False, noise_correlation: float = 1.0,
                        energy_scale_sigma_eV: float | None = None,
                        energy_drift_sigma_eV: float | None = None, markers: bool = True,
                        marker_calibrations: dict | None = None,
                        keep_norm: bool = True) -> XanesStackResult:
    """Foil calibration, normalization, E0 with its error budget and oxidation state of N
    scans at once (the same code as :func:`~naheo_spec.xas.xanes.analyze_xanes`).

    Parameters
    ----------
    stack : SpectrumStack or tuple
        The scans on one energy grid, or ``(energy (M,), mu_stack (N, M)[, ref_stack
        (N, M)])`` (eV; ``ref_stack`` = simultaneous foil μ of each scan). Build one from
        spectra on different grids with ``SpectrumStack.from_spectra``.
    e0_method : str, optional
        One of :data:`naheo_spec.xas.e0.E0_METHODS`. Default None: the calibration's method,
        else ``"half-height"``. ``"arctan"`` fits each scan in turn (not vectorized).
    foil : Spectrum or str or Path or False, optional
        One separate foil scan for every scan. Default None: each scan's reference row.
        False: no foil calibration.
    calibration : ValenceCalibration, optional
        Line for the oxidation state. Default None: no oxidation state.
    element, edge : str, optional
        Default None: the stack's, else the calibration's; edge falls back to ``"K"``.
    preset, pre_range, norm_range, nnorm, nvict
        Normalization options (:func:`~naheo_spec.xas.normalize.normalize`). Default None:
        the calibration's, else the normalize defaults (preset ``"larch"``, nvict 0).
    foil_e0_method : str
        E0 definition on the foils. Default is ``"max-derivative"``.
    max_foil_offset_eV : float
        A reference row whose E0 lies further than this from the tabulated edge is not
        used for its scan (warning). Default is 5.0 eV.
    include_scatter : bool
        Add the scatter of real compounds about the line to the oxidation-state error
        (prediction interval). Default is True.
    span_margin : float, optional
        Warn when a valence lies further than this outside the standards' span. Default
        None: :data:`naheo_spec.xas.valence.DEFAULT_SPAN_MARGIN` (0.1).
    normalized : bool
        The spectra are already normalized (pre-edge 0, edge step 1): no pre/post-edge
        refit; the half-height E0 is where the given μ crosses 0.5. Default is False.
    noise_correlation : float
        Number of grid points over which the noise is correlated (smoothed data: the
        smoothing width). Default is 1 (white noise; linear interpolation is detected).
    energy_scale_sigma_eV, energy_drift_sigma_eV : float, optional
        Energy-scale terms of scans without a foil. Default None:
        :data:`~naheo_spec.xas.uncertainty.ENERGY_SCALE_SIGMA_EV` (1.0 eV) and
        :data:`~naheo_spec.xas.uncertainty.ENERGY_DRIFT_SIGMA_EV` (0.2 eV). Lower them only
        for energies calibrated before they reached this function.
    markers : bool or "edge"
        Compute the integral edge position and (Fe) the pre-edge centroid (one vectorized
        11-parameter fit per scan, ~1 ms each); ``"edge"``: the integral position only.
        Default True.
    marker_calibrations : dict, optional
        ``{"integral": ValenceCalibration, "preedge": ValenceCalibration}``: lines for
        marker valences (the built-in standards provide them).
    keep_norm : bool
        Keep the normalized spectra (an (N, M) array) in the result. Default is True.

    Returns
    -------
    XanesStackResult
        Failed scans have NaN numbers and an ``errors`` entry; :meth:`XanesStackResult.row`
        gives a scan as the :class:`~naheo_spec.xas.xanes.XanesResult` of ``analyze_xanes``.

    Raises
    ------
    InputError
        Bad stack or options (shapes, unknown method or preset, ``max_foil_offset_eV <= 0``).
    CalibrationError
        E0 method or element inconsistent with ``calibration``, or a calibration without
        a line.

    Warns
    -----
    QualityWarning, DefaultAdjustedWarning, RepairWarning
        One per kind of per-scan message, with the number of scans concerned.

    References
    ----------
    B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
    doi:10.1107/S0909049505012719 (foil checks); G. Bunker, *Introduction to XAFS*, CUP
    (2010), sec. 5.2 (half-height E0).

    Examples
    --------
    See the module docstring.
    """
    stack = _as_stack(stack)
    res, silent = analyze_block(stack, stack_options(
        e0_method=e0_method, foil=foil, calibration=calibration, element=element, edge=edge,
        preset=preset, pre_range=pre_range, norm_range=norm_range, nnorm=nnorm, nvict=nvict,
        foil_e0_method=foil_e0_method, max_foil_offset_eV=max_foil_offset_eV,
        include_scatter=include_scatter, span_margin=span_margin, normalized=normalized,
        noise_correlation=noise_correlation, energy_scale_sigma_eV=energy_scale_sigma_eV,
        energy_drift_sigma_eV=energy_drift_sigma_eV, markers=markers,
        marker_calibrations=marker_calibrations), keep_norm=keep_norm)
    return summarize(res, silent, extra=stack.warnings)


#: Error types a failed row reports (the first word of ``errors[i]``).
ERROR_TYPES = {"ProcessingError": ProcessingError, "FitError": FitError,
               "InputError": InputError, "CalibrationError": CalibrationError}
