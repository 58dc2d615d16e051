"""Edge shifts relative to a reference scan: the first operando output, independent of any
valence standards.

A battery scientist reads an operando or ex-situ XANES series first as edge shifts against
the pristine electrode. :func:`relative_shifts` takes the per-scan results of one series
(on the same energy calibration: each scan with its own foil, or all uncalibrated in one
session) and gives, for every scan, ``E0 - E0(reference)`` with the error of a difference:

* terms that are the same for both scans cancel: the absolute offset of an uncalibrated
  energy scale (``energy_scale``), and the foil term when one separate foil scan
  calibrated the whole series;
* the normalization-range term is replaced by the sensitivity of the *difference* to the
  same range changes (:data:`naheo_spec.xas.uncertainty.RANGE_ALTERNATIVES`), which is small
  for similar spectra;
* the noise, grid, per-scan foil and drift terms of both scans add in quadrature.

With a valence calibration, the shift also gives a valence change ``dE / slope``, whose
error is that of the shift over the slope plus the slope's own relative error (the line's
intercept and the scatter of compounds about it cancel in a difference of one sample).

References
----------
.. [1] JCGM 100:2008 (GUM), sec. 5.2 (correlated input quantities: a common term cancels
   in a difference).
.. [2] T. Cai et al., Nano-Micro Lett. 16, 10 (2024), doi:10.1007/s40820-023-01232-0
   (ex-situ Ni, Fe, Mn K-edge shifts of the target cathode through charge and discharge).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord, warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import InputError, QualityWarning
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.xas import uncertainty as unc

MIXED_CALIBRATION = WarningCode(
    "xas.relative.mixed_calibration", QualityWarning,
    "The scan and the reference are not on the same energy calibration (one foil-calibrated, "
    "one not): no term cancels in their difference.")
REFERENCE_FAILED = WarningCode(
    "xas.relative.reference_failed", QualityWarning,
    "A scan of the series failed: it has no shift.")


@dataclass(frozen=True, repr=False)
class RelativeShifts(ResultDisplay):
    """E0 shifts of a series relative to one of its scans.

    Attributes
    ----------
    labels : tuple of str
        Scan names, in order.
    reference : int
        Index of the reference scan.
    shift_eV, shift_err_eV : ndarray of shape (N,)
        ``E0 - E0(reference)`` and the error of that difference (0 for the reference).
    terms_eV : dict of str to ndarray (N,)
        The terms of ``shift_err_eV``.
    cancelled : tuple of str
        Terms that cancel in every difference (common to the series).
    valence_change, valence_change_err : ndarray of shape (N,)
        ``shift / slope`` and its error (NaN without a calibration).
    coordinates : dict of str to ndarray (N,)
        Per-scan coordinates (state of charge, potential...) when known.
    e0_method : str
    warnings : tuple of WarningRecord
    """

    labels: tuple[str, ...]
    reference: int
    shift_eV: np.ndarray
    shift_err_eV: np.ndarray
    terms_eV: dict
    cancelled: tuple[str, ...]
    valence_change: np.ndarray
    valence_change_err: np.ndarray
    e0_method: str
    coordinates: dict = field(default_factory=dict)
    warnings: tuple[WarningRecord, ...] = ()

    def __len__(self) -> int:
        return int(self.shift_eV.size)

    def display_title(self) -> str:
        return f"relative to {self.labels[self.reference]}"

    def display_items(self):
        yield ("scans", len(self), None, "")
        ok = np.isfinite(self.shift_eV)
        if ok.any():
            k = int(np.nanargmax(np.abs(np.where(ok, self.shift_eV, 0.0))))
            yield ("largest shift", float(self.shift_eV[k]), float(self.shift_err_eV[k]), "eV")

    def row_json(self, i: int) -> dict[str, Any]:
        """One scan's entry (the ``"relative"`` key of the CLI's JSON)."""
        return {"reference": self.labels[self.reference], "shift_eV": _num(self.shift_eV[i]),
                "shift_err_eV": _num(self.shift_err_eV[i]),
                "shift_err_terms_eV": {k: _num(v[i]) for k, v in self.terms_eV.items()
                                       if np.isfinite(v[i])},
                "cancelled_terms": list(self.cancelled),
                "valence_change": _num(self.valence_change[i]),
                "valence_change_err": _num(self.valence_change_err[i])}

    def to_json_list(self) -> list[dict[str, Any]]:
        return [{"scan": self.labels[i], **self.row_json(i)} for i in range(len(self))]

    def to_record(self, name: str | None = None):
        """Record of kind ``"xanes_relative"``: the shifts on ``scan_index``."""
        from naheo_spec.records import DataArray, Record, nexus_name

        data = {"scan_index": DataArray(np.arange(len(self)), "", "scan index"),
                "shift_eV": DataArray(self.shift_eV, "eV", f"E0 shift ({self.e0_method})"),
                "shift_err_eV": DataArray(self.shift_err_eV, "eV", "error of the shift"),
                "valence_change": DataArray(self.valence_change, "", "valence change"),
                "valence_change_err": DataArray(self.valence_change_err, "",
                                                "valence change error"),
                "scan": DataArray(np.array(self.labels, dtype=object), "", "scan label")}
        for k, v in self.terms_eV.items():
            data[nexus_name(f"shift_err_{k}_eV")] = DataArray(v, "eV", f"error term {k}")
        for k, v in self.coordinates.items():
            if np.asarray(v).dtype.kind in "fiu":
                data[nexus_name(f"coordinate_{k}")] = DataArray(np.asarray(v, float), "", k)
        summary = {"reference": self.labels[self.reference], "e0_method": self.e0_method,
                   "n_scans": len(self), "cancelled_terms": ", ".join(self.cancelled),
                   "warnings": "; ".join(w.message for w in self.warnings)}
        from naheo_spec.provenance import Provenance

        prov = Provenance(step="xas.relative_shifts", parameters={
            "reference": self.labels[self.reference], "e0_method": self.e0_method,
            "cancelled_terms": list(self.cancelled), "scans": list(self.labels)})
        return Record(name=name or "xanes_relative_shifts", kind="xanes_relative",
                      summary=summary, data=data, signal="shift_eV", axes=["scan_index"],
                      provenance=prov)

    def table(self) -> list[dict[str, Any]]:
        """Rows for a CSV table: scan, coordinates, shift, error, valence change."""
        rows = []
        for i in range(len(self)):
            row = {"scan": self.labels[i]}
            for k, v in self.coordinates.items():
                row[k] = v[i].item() if hasattr(v[i], "item") else v[i]
            row.update({"shift_eV": _num(self.shift_eV[i]),
                        "shift_err_eV": _num(self.shift_err_eV[i]),
                        "valence_change": _num(self.valence_change[i]),
                        "valence_change_err": _num(self.valence_change_err[i])})
            rows.append(row)
        return rows


def _series_arrays(results):
    """(labels, e0, terms, alt, calibrated, ok, coordinates, e0_method, separate_foil)."""
    from naheo_spec.xas.xanes_stack import XanesStackResult

    if isinstance(results, XanesStackResult):
        n = len(results)
        labels = tuple(results.labels) if results.labels else tuple(
            str(s) for s in results.scans)
        terms = {k: np.asarray(v, float) for k, v in results.e0_err_terms_eV.items()}
        sep = str(results.provenance.parameters.get("foil", "")).startswith("separate")
        return (labels, np.asarray(results.e0_eV, float), terms,
                np.asarray(results.norm_alt_eV, float), np.isfinite(results.foil_shift_eV),
                results.valid, dict(results.coordinates), results.e0_method, sep)
    results = list(results)
    if not results:
        raise InputError("relative_shifts needs at least one scan")
    n = len(results)
    ok = np.array([hasattr(r, "e0_err_terms_eV") for r in results])
    labels = tuple(getattr(r, "name", str(i)) for i, r in enumerate(results))
    e0 = np.array([r.e0_eV if k else np.nan for r, k in zip(results, ok)], dtype=float)
    names = sorted({t for r, k in zip(results, ok) if k for t in r.e0_err_terms_eV})
    terms = {t: np.array([r.e0_err_terms_eV.get(t, np.nan) if k else np.nan
                          for r, k in zip(results, ok)]) for t in names}
    na = len(unc.RANGE_ALTERNATIVES)
    alt = np.array([list(r.norm_alt_eV) if k and len(r.norm_alt_eV) == na else [np.nan] * na
                    for r, k in zip(results, ok)], dtype=float)
    cal = np.array([k and r.foil_shift_eV is not None for r, k in zip(results, ok)])
    coords = {}
    for key in ("state_of_charge", "potential", "time", "voltage"):
        vals = [getattr(r, "metadata", {}).get(key) for r in results]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            coords[key] = np.asarray(vals, dtype=float)
    methods = {r.e0_method for r in results}
    sep = all(str(r.provenance.parameters.get("foil", "")).startswith("separate")
              for r, k in zip(results, ok) if k)
    return labels, e0, terms, alt, cal, ok, coords, methods.pop() if len(methods) == 1 else \
        "mixed", sep and ok.any()


def _pick_reference(reference, labels, ok, coords) -> int:
    n = len(labels)
    if isinstance(reference, (int, np.integer)):
        if not -n <= reference < n:
            raise InputError(f"reference index {reference} out of range for {n} scans")
        return int(reference) % n
    ref = str(reference)
    if ref == "first":
        good = np.flatnonzero(ok)
        if good.size == 0:
            raise InputError("no scan of the series could be analysed: no reference")
        return int(good[0])
    if ref == "pristine":
        named = [i for i, lab in enumerate(labels) if "pristine" in lab.lower() and ok[i]]
        if named:
            return named[0]
        soc = coords.get("state_of_charge")
        if soc is not None and np.any(soc[ok] == 0):
            return int(np.flatnonzero(ok & (soc == 0))[0])
        raise InputError("no scan is named or marked pristine (label containing 'pristine', "
                         "or state_of_charge 0): give the reference scan's name or 'first'")
    hits = [i for i, lab in enumerate(labels) if lab == ref or lab.endswith(":" + ref)
            or Path(lab.split(":")[0]).name == ref or lab.split(":")[-1] == ref]
    if not hits:
        close = ", ".join(labels[:5]) + (" ..." if n > 5 else "")
        raise InputError(f"reference scan {ref!r} is not in the series ({close})")
    return hits[0]


def relative_shifts(results, reference="first", *, calibration=None) -> RelativeShifts:
    """E0 shift of every scan of a series relative to one of them, with difference errors.

    Parameters
    ----------
    results : sequence of XanesResult (or XanesFailure) or XanesStackResult
        One series, analysed with the same E0 method and options.
    reference : int or str
        The reference scan: its index, its name (``file:scan``, the scan label or the file
        name), ``"first"`` (the first scan analysed) or ``"pristine"`` (a scan whose label
        contains "pristine", else the one with state_of_charge 0). Default ``"first"``.
    calibration : ValenceCalibration, optional
        For valence changes (its slope and slope error).

    Returns
    -------
    RelativeShifts

    Raises
    ------
    InputError
        No usable reference, or the reference scan failed.

    References
    ----------
    GUM (JCGM 100:2008) sec. 5.2.

    Examples
    --------
    >>> import numpy as np
    >>> from naheo_spec.xas.xanes_stack import analyze_xanes_stack
    >>> e = np.linspace(8250.0, 8500.0, 1001)
    >>> mu = 0.1 + np.arctan((e - np.array([[8342.0], [8343.0]])) / 2.0) / np.pi + 0.5
    >>> res = analyze_xanes_stack((e, mu), element="Ni", foil=False)
    >>> rel = relative_shifts(res, "first")
    >>> round(float(rel.shift_eV[1]), 2), rel.cancelled
    (1.0, ('energy_scale',))
    """
    labels, e0, terms, alt, cal, ok, coords, method, separate = _series_arrays(results)
    i0 = _pick_reference(reference, labels, ok, coords)
    if not ok[i0] or not np.isfinite(e0[i0]):
        raise InputError(f"the reference scan {labels[i0]} could not be analysed")
    n = e0.size
    cancelled = ["energy_scale"] + (["foil"] if separate else [])
    out_terms: dict[str, np.ndarray] = {}
    msgs = []
    mixed = ok & (cal != cal[i0])
    for name in unc.TERMS:
        if name == "normalization" or name not in terms:
            continue
        t = terms[name]
        if name in cancelled:
            # cancels where both scans carry it the same way; a mixed pair keeps it
            val = np.where(mixed, np.fmax(np.nan_to_num(t), np.nan_to_num(t[i0])), 0.0)
            if np.any(val):
                out_terms[name] = val
            continue
        out_terms[name] = np.hypot(np.nan_to_num(t), np.nan_to_num(t[i0]))
    if "normalization" in terms:
        with np.errstate(invalid="ignore"):
            d = np.abs(alt - alt[i0][None, :])
            out_terms["normalization"] = np.where(np.isfinite(d).any(axis=1),
                                                  np.nanmax(np.where(np.isfinite(d), d, 0.0),
                                                            axis=1), 0.0)
    shift = e0 - e0[i0]
    err = np.sqrt(sum(v * v for v in out_terms.values())) if out_terms else np.zeros(n)
    shift[i0], err = 0.0, np.where(np.arange(n) == i0, 0.0, err)
    for v in out_terms.values():
        v[i0] = 0.0
    shift = np.where(ok, shift, np.nan)
    err = np.where(ok, err, np.nan)
    for v in out_terms.values():
        v[~ok] = np.nan
    for i in np.flatnonzero(mixed):
        msgs.append(MIXED_CALIBRATION.record(
            f"{labels[i]}: not on the reference's energy calibration (foil-calibrated: "
            f"{bool(cal[i])}, reference: {bool(cal[i0])}): its energy-scale term does not cancel"))
    for i in np.flatnonzero(~ok):
        msgs.append(REFERENCE_FAILED.record(f"{labels[i]}: analysis failed, no shift"))
    dv, dv_err = np.full(n, np.nan), np.full(n, np.nan)
    if calibration is not None and calibration.has_line:
        b = calibration.slope_eV
        sb = float(np.sqrt(calibration.covariance[1][1]))
        dv = shift / b
        dv_err = np.sqrt((err / b) ** 2 + (dv * sb / b) ** 2)
    return RelativeShifts(labels=labels, reference=i0, shift_eV=shift, shift_err_eV=err,
                          terms_eV=out_terms, cancelled=tuple(cancelled), valence_change=dv,
                          valence_change_err=dv_err, e0_method=method, coordinates=coords,
                          warnings=tuple(msgs))


@dataclass(frozen=True)
class RepeatConsistency:
    """Do repeat scans of one sample agree within their errors?

    Attributes
    ----------
    e0_eV, err_eV : ndarray of shape (N,)
        The edge positions and their non-common errors (what differs between repeats).
    mean_eV : float
        Their weighted mean.
    z : ndarray of shape (N,)
        ``(E0 - mean) / err`` (scaled so that ``sum(z**2)`` is the chi-square).
    chi2 : float
        Chi-square about the weighted mean; ``dof = N - 1``.
    dof : int
    """

    e0_eV: np.ndarray
    err_eV: np.ndarray
    mean_eV: float
    z: np.ndarray
    chi2: float
    dof: int

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof else float("nan")


def repeat_consistency(results) -> RepeatConsistency:
    """Chi-square of repeat scans of one sample about their weighted mean, with the errors
    that differ between repeats: the common terms of :func:`relative_shifts` are left out
    and the normalization term is the sensitivity of each scan's *deviation* from the
    group (the change of ``E0_i - mean`` under the range changes).

    Parameters
    ----------
    results : sequence of XanesResult, or XanesStackResult
        Repeat scans of one sample, analysed alike (failed scans are left out).

    Returns
    -------
    RepeatConsistency
        ``reduced_chi2`` near 1 when the errors describe the scatter of the repeats.

    Examples
    --------
    >>> import numpy as np
    >>> from naheo_spec.xas.xanes_stack import analyze_xanes_stack
    >>> e = np.linspace(8250.0, 8500.0, 1001)
    >>> mu = 0.1 + np.arctan((e - np.array([[8342.0], [8342.05], [8341.95]])) / 2.0) / np.pi
    >>> rc = repeat_consistency(analyze_xanes_stack((e, mu + 0.5), element="Ni", foil=False))
    >>> rc.dof, bool(rc.reduced_chi2 < 1.0)    # 0.05 eV apart, errors of ~0.3 eV (drift)
    (2, True)
    """
    labels, e0, terms, alt, cal, ok, _, _, separate = _series_arrays(results)
    keep = ok & np.isfinite(e0)
    e0, alt, cal = e0[keep], alt[keep], cal[keep]
    terms = {k: v[keep] for k, v in terms.items()}
    common = {"energy_scale"} | ({"foil"} if separate else set())
    var = np.zeros(e0.size)
    for name, t in terms.items():
        if name in common or name == "normalization":
            continue
        var += np.nan_to_num(t) ** 2
    if "normalization" in terms and e0.size:
        # an alternative range that failed on every repeat is a NaN column: no deviation
        # (np.nanmean would warn "Mean of empty slice" for it)
        n_ok = np.isfinite(alt).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(n_ok > 0, np.nansum(alt, axis=0) / n_ok, np.nan)
            dev = np.abs(alt - centre[None, :])
        var += np.nan_to_num(np.nanmax(np.where(np.isfinite(dev), dev, 0.0), axis=1)) ** 2
    err = np.sqrt(var)
    w = 1.0 / np.maximum(var, 1e-12)
    mean = float(np.sum(w * e0) / np.sum(w)) if e0.size else float("nan")
    z = (e0 - mean) / np.maximum(err, 1e-12)
    return RepeatConsistency(e0_eV=e0, err_eV=err, mean_eV=mean, z=z,
                             chi2=float(np.sum(z * z)), dof=max(int(e0.size) - 1, 0))
