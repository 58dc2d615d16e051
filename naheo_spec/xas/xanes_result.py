"""Result objects of the XANES pipeline: one scan (:class:`XanesResult`) or one that failed
(:class:`XanesFailure`).

Both are made by :mod:`naheo_spec.xas.xanes_stack` (the pipeline, for one scan or many) and
returned by :func:`naheo_spec.xas.xanes.analyze_xanes` and
:func:`~naheo_spec.xas.xanes.analyze_xanes_series`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.provenance import Provenance

#: Keys of :meth:`XanesResult.to_json_dict`, in order (the CLI's ``--json`` schema).
JSON_KEYS = ("file", "scan", "element", "edge", "e0_method", "e0_eV", "e0_err_eV",
             "e0_err_terms_eV", "edge_step", "foil_shift_eV", "oxidation_state",
             "oxidation_state_err", "markers", "warnings")


def record_name(file: str | None, scan: str | None, suffix: str) -> str:
    """A store entry name from a file and scan (NeXus-safe characters)."""
    stem = Path(file).stem if file else "spectrum"
    raw = f"{stem}_{scan}" if scan else stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_") + suffix


def finite_dict(d: dict | None) -> dict | None:
    """A JSON-safe copy of a dict of numbers (None for NaN), or None when empty."""
    if not d:
        return None
    return {k: _num(v) for k, v in d.items()}


@dataclass(frozen=True, eq=False, repr=False)
class XanesResult(ResultDisplay):
    """XANES analysis of one scan.

    Attributes
    ----------
    file, scan : str or None
        Source file and scan/group name.
    element, edge : str or None
        Absorber and edge.
    e0_method : str
        E0 definition used.
    e0_eV, e0_err_eV : float
        Edge position on the calibrated energy scale and its uncertainty (eV): the
        quadrature sum of :attr:`e0_err_terms_eV` (:mod:`naheo_spec.xas.uncertainty`).
    edge_step : float
        Edge step (units of μ).
    foil_shift_eV : float or None
        Shift applied from the foil (eV); None when there was no valid foil.
    oxidation_state, oxidation_state_err : float or None
        From the valence calibration; None without one, and for a scan recognised as a
        metal foil (coded warning ``xas.xanes.metal_foil``: the lines are made of oxides).
    warnings : tuple of WarningRecord
        Reader repairs, foil and quality flags, adjustments (coded).
    normalization : Normalization
        Normalized spectrum on the calibrated energies.
    energy_calibration : EnergyCalibration or None
        The foil calibration (also when rejected); None when there was no foil.
    provenance : Provenance
        Step ``"xas.xanes"``: input file and SHA-256, every parameter resolved.
    metadata : dict
        The spectrum's metadata (header fields, ``state_of_charge``, ``synthetic``...), for
        plots and tables; not part of :meth:`to_json_dict`.
    e0_err_terms_eV : dict of str to float
        The named terms of ``e0_err_eV`` (eV): ``noise``, ``grid``, ``normalization`` and
        ``foil``, or ``energy_scale`` and ``energy_drift`` without a foil.
    oxidation_state_terms : dict of str to float
        Terms of ``oxidation_state_err`` (valence units): ``e0``, ``line``, ``scatter``,
        ``extrapolation``.
    markers : dict of str to float
        Other edge markers: ``integral_eV`` (Dau et al. 2003) with its error, and for Fe
        the pre-edge ``preedge_centroid_eV`` and ``preedge_area`` (Wilke et al. 2001);
        with marker lines, ``valence_<marker>`` and its error.
    norm_alt_eV : tuple of float
        Change of E0 (eV) under each normalization-range change of
        :data:`naheo_spec.xas.uncertainty.RANGE_ALTERNATIVES` (NaN where not applicable).
    normalized : bool
        The input was taken as already normalized (no pre/post-edge refit).
    """

    file: str | None
    scan: str | None
    element: str | None
    edge: str | None
    e0_method: str
    e0_eV: float
    e0_err_eV: float
    edge_step: float
    foil_shift_eV: float | None
    oxidation_state: float | None
    oxidation_state_err: float | None
    warnings: tuple[str, ...]
    normalization: Any
    energy_calibration: Any
    provenance: Provenance
    metadata: dict[str, Any] = field(default_factory=dict)
    e0_err_terms_eV: dict[str, float] = field(default_factory=dict)
    oxidation_state_terms: dict[str, float] = field(default_factory=dict)
    markers: dict[str, float] = field(default_factory=dict)
    norm_alt_eV: tuple[float, ...] = ()
    normalized: bool = False

    @property
    def name(self) -> str:
        """``file-stem:scan`` label."""
        stem = Path(self.file).name if self.file else "spectrum"
        return f"{stem}:{self.scan}" if self.scan else stem

    @property
    def energy(self) -> np.ndarray:
        """Calibrated energies (eV)."""
        return self.normalization.energy

    @property
    def norm(self) -> np.ndarray:
        """Normalized μ on :attr:`energy`."""
        return self.normalization.norm

    def to_json_dict(self) -> dict[str, Any]:
        """The CLI ``--json`` dict: exactly :data:`JSON_KEYS`; NaN/None -> None."""
        return {
            "file": self.file, "scan": self.scan, "element": self.element, "edge": self.edge,
            "e0_method": self.e0_method, "e0_eV": _num(self.e0_eV),
            "e0_err_eV": _num(self.e0_err_eV),
            "e0_err_terms_eV": finite_dict(self.e0_err_terms_eV),
            "edge_step": _num(self.edge_step),
            "foil_shift_eV": _num(self.foil_shift_eV),
            "oxidation_state": _num(self.oxidation_state),
            "oxidation_state_err": _num(self.oxidation_state_err),
            "markers": finite_dict(self.markers),
            "warnings": warnings_json(self.warnings),
        }

    def to_record(self, name: str | None = None):
        """Return a :class:`~naheo_spec.records.Record` of kind ``"xanes"``.

        ``summary`` is :meth:`to_json_dict` with the warnings joined into one string
        (``"; "``) and ``n_warnings`` added; ``data`` holds ``energy`` (eV, calibrated),
        ``mu``, ``norm`` and ``flat``; signal ``norm``, axes ``["energy"]``.
        """
        from naheo_spec.records import DataArray, Record, nexus_sample_instrument

        summary = self.to_json_dict()
        sample, instrument = nexus_sample_instrument(self.metadata)
        for key in ("e0_err_terms_eV", "markers"):            # flat numbers for the table
            for term, v in (summary.pop(key) or {}).items():
                summary[f"{key.replace('_eV', '')}_{term}"] = v
        summary["n_warnings"] = len(self.warnings)
        summary["warnings"] = "; ".join(w.message for w in self.warnings)
        nz = self.normalization
        data = {"energy": DataArray(np.asarray(nz.energy), "eV", "X-ray energy (calibrated)"),
                "mu": DataArray(np.asarray(nz.mu), "", "absorption"),
                "norm": DataArray(np.asarray(nz.norm), "", "normalized absorption"),
                "flat": DataArray(np.asarray(nz.flat), "", "flattened normalized absorption")}
        return Record(name=name or record_name(self.file, self.scan, "_xanes"), kind="xanes",
                      summary=summary, provenance=self.provenance, data=data, signal="norm",
                      axes=["energy"], sample=sample, instrument=instrument)

    def display_items(self):
        yield ("E0 (" + self.e0_method + ")", self.e0_eV, self.e0_err_eV, "eV")
        for name, v in self.e0_err_terms_eV.items():
            yield ("  E0 error: " + name, v, None, "eV")
        yield ("edge step", self.edge_step, None, "")
        yield ("foil shift", self.foil_shift_eV, None, "eV")
        if self.oxidation_state is not None:
            yield ("oxidation state", self.oxidation_state, self.oxidation_state_err, "")

    def display_figure(self):
        """Normalization and E0 (:func:`naheo_spec.plot.xanes.plot_normalization`)."""
        from naheo_spec.plot.xanes import plot_normalization

        return plot_normalization(self)


@dataclass(frozen=True, repr=False)
class XanesFailure(ResultDisplay):
    """A scan of a series that could not be analysed.

    Attributes
    ----------
    file, scan, element, edge, e0_method
        As far as known.
    error : str
        The error message.
    warnings : tuple of str
        Warnings collected before the failure, then the error itself.
    provenance : Provenance
    """

    file: str | None
    scan: str | None
    element: str | None
    edge: str | None
    e0_method: str
    error: str
    warnings: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance(step="xas.xanes"))

    @property
    def name(self) -> str:
        stem = Path(self.file).name if self.file else "spectrum"
        return f"{stem}:{self.scan}" if self.scan else stem

    def to_json_dict(self) -> dict[str, Any]:
        """Same keys as :meth:`XanesResult.to_json_dict` (numbers None) plus ``"error"``."""
        d = {k: None for k in JSON_KEYS}
        d.update(file=self.file, scan=self.scan, element=self.element, edge=self.edge,
                 e0_method=self.e0_method, warnings=warnings_json(self.warnings),
                 error=self.error)
        return d

    def to_record(self, name: str | None = None):
        """Summary-only :class:`~naheo_spec.records.Record` of kind ``"xanes"``."""
        from naheo_spec.records import Record

        summary = self.to_json_dict()
        summary.pop("e0_err_terms_eV")
        summary.pop("markers")
        summary["warnings"] = "; ".join(w.message for w in self.warnings)
        summary["n_warnings"] = len(self.warnings)
        return Record(name=name or record_name(self.file, self.scan, "_xanes_failed"),
                      kind="xanes", summary=summary, provenance=self.provenance)

    def display_items(self):
        yield ("error", self.error, None, "")


