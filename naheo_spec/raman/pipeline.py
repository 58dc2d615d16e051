"""The Raman pipeline: one implementation for a single spectrum and for a series.

:func:`analyze_raman_series` runs, on every spectrum of a
:class:`~naheo_spec.model.SpectrumStack` at once:

1. **Axis**: the calibration offset (Si/polystyrene, :mod:`~naheo_spec.raman.calibration`)
   is subtracted when given; the axis is cut to ``shift_range`` (default from 80 cm-1: the
   Rayleigh edge and anti-Stokes side would bend the baseline).
2. **Quality control** (:func:`~naheo_spec.raman.qc.screen`): empty, all-zero, constant
   and saturated spectra are masked -- reported, never fitted.
3. **Spikes**: Whitaker-Hayes per spectrum, then, for series of 5 or more valid spectra
   that are not maps, the neighbour-frame test (on maps only when asked, with spatial
   neighbours); spectra where too many points had to be replaced are masked as cosmic-ray
   dominated.
4. **Baseline** (:class:`~naheo_spec.raman.baseline.BaselineFitter`, arPLS by default, one
   fitter for the axis); skipped when the file says the vendor already subtracted one.
5. **Bands** (:func:`~naheo_spec.raman.fit.fit_bands`) from a preset, vectorised.
6. **Indicators** (:mod:`~naheo_spec.raman.indicators`): detection from signal-to-noise,
   carbonate index with error and upper limit, A1g/Eg, normalised areas, first
   coordinate with carbonate, laser-damage trend.

:func:`analyze_raman` is the same pipeline on a one-row stack.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import StackWarnings, StackWarningsBuilder, WarningCode, WarningRecord
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import InputError, ProcessingError, QualityWarning
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.model import AxisKind, Spectrum, SpectrumStack
from naheo_spec.provenance import Provenance

__all__ = ["analyze_raman", "analyze_raman_series", "RamanResult", "RamanSeriesResult",
           "BandResult", "JSON_KEYS", "BAND_JSON_KEYS", "UNCALIBRATED_CARBONATE",
           "MN3O4_POSITION", "DEFAULT_SHIFT_RANGE"]

#: Keys of :meth:`RamanResult.to_json_dict` (the CLI's ``--json`` schema), in order.
JSON_KEYS = ("file", "index", "coordinate", "bands", "carbonate_index", "carbonate_index_err",
             "carbonate_upper_limit", "a1g_eg_ratio", "spikes_removed", "warnings")
#: Keys of each band in ``bands``.
BAND_JSON_KEYS = ("name", "center_cm1", "center_err_cm1", "fwhm_cm1", "area", "area_err",
                  "detected")
#: Default shift range (cm-1) kept for processing.
DEFAULT_SHIFT_RANGE = (80.0, None)

UNCALIBRATED_CARBONATE = WarningCode(
    "raman.carbonate.uncalibrated_axis", QualityWarning,
    "A carbonate band was assigned on a shift axis not calibrated against Si or polystyrene: "
    "instrument offsets of 2-5 cm-1 are as large as the gaps between the carbonates.")
MN3O4_POSITION = WarningCode(
    "raman.fit.mn3o4_position", QualityWarning,
    "The ~680 band was fitted at 655-665 cm-1, where Mn3O4 made by laser damage appears.")
WINDOW_NOT_COVERED = WarningCode(
    "raman.fit.window_not_covered", QualityWarning,
    "A fit window of the preset lies (mostly) outside the spectrum's shift range; its bands "
    "are not fitted (NaN).")
MASKED = WarningCode("raman.qc.masked", QualityWarning,
                     "Spectra were masked by quality control; they keep an entry with an error.")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class BandResult:
    """One fitted band of one spectrum (cm-1 for centre and width; area in intensity x cm-1).

    ``detected`` comes from the data's signal-to-noise ratio ``snr`` (see
    :mod:`~naheo_spec.raman.indicators`); ``at_bound`` flags a centre or width that ended on
    its bound (then the value is a limit, not a result).
    """

    name: str
    role: str
    center_cm1: float
    center_err_cm1: float
    fwhm_cm1: float
    fwhm_err_cm1: float
    area: float
    area_err: float
    height: float
    height_err: float
    eta: float
    snr: float
    detected: bool
    at_bound: bool

    def to_json_dict(self) -> dict[str, Any]:
        """``{name, center_cm1, center_err_cm1, fwhm_cm1, area, area_err, detected}``."""
        return {"name": self.name, "center_cm1": _num(self.center_cm1),
                "center_err_cm1": _num(self.center_err_cm1), "fwhm_cm1": _num(self.fwhm_cm1),
                "area": _num(self.area), "area_err": _num(self.area_err),
                "detected": bool(self.detected)}


def _fmt(v, e=None, nd=1):
    if v is None or not np.isfinite(v):
        return "-"
    return f"{v:.{nd}f}" + (f"±{e:.{nd}f}" if e is not None and np.isfinite(e) else "")


@dataclass(frozen=True, eq=False, repr=False)
class RamanResult(ResultDisplay):
    """Raman analysis of one spectrum.

    Attributes
    ----------
    file : str or None
        Source file.
    index : int
        Row of the spectrum in its file (0 for single spectra).
    label : str
        Row label (block or series label).
    coordinate : dict or None
        Named coordinate values of this spectrum (time in s, potential in V...), or None.
    bands : tuple of BandResult
    carbonate_index, carbonate_index_err : float or None
        Carbonate / reference area ratio and its error (relative indicator, see
        :mod:`~naheo_spec.raman.indicators`).
    carbonate_detected : bool
    carbonate_upper_limit : float or None
        Upper limit of the index when no carbonate band is detected, else None.
    a1g_eg_ratio, a1g_eg_ratio_err : float or None
    spikes_removed : int
        Points replaced by spike removal.
    warnings : tuple of WarningRecord
    error : str or None
        Why the spectrum was not fitted (masked by QC); None when it was.
    axis : ndarray (M,)
        Shift axis used (calibrated and cut), cm-1.
    raw, baseline, corrected, model : ndarray (M,)
        Input (cut), baseline, input minus baseline (after spike removal), fitted model
        (NaN outside the fit windows).
    provenance : Provenance
    """

    file: str | None
    index: int
    label: str
    coordinate: dict | None
    bands: tuple[BandResult, ...]
    carbonate_index: float | None
    carbonate_index_err: float | None
    carbonate_detected: bool
    carbonate_upper_limit: float | None
    a1g_eg_ratio: float | None
    a1g_eg_ratio_err: float | None
    spikes_removed: int
    warnings: tuple[WarningRecord, ...]
    error: str | None
    axis: np.ndarray = field(repr=False)
    raw: np.ndarray = field(repr=False)
    baseline: np.ndarray = field(repr=False)
    corrected: np.ndarray = field(repr=False)
    model: np.ndarray = field(repr=False)
    components: dict = field(repr=False, default_factory=dict)
    provenance: Provenance | None = field(repr=False, default=None)

    @property
    def name(self) -> str:
        stem = Path(self.file).name if self.file else "spectrum"
        return f"{stem}[{self.index}]"

    def band(self, name: str) -> BandResult:
        """The band called ``name``."""
        for b in self.bands:
            if b.name == name:
                return b
        raise KeyError(f"no band {name!r}; bands: {', '.join(b.name for b in self.bands)}")

    def to_json_dict(self) -> dict[str, Any]:
        """The CLI ``--json`` entry: :data:`JSON_KEYS` (plus ``error`` for masked spectra)."""
        d = {"file": self.file, "index": int(self.index),
             "coordinate": None if self.coordinate is None else
             {k: (_num(v) if isinstance(v, (int, float, np.floating, np.integer)) else v)
              for k, v in self.coordinate.items()},
             "bands": [b.to_json_dict() for b in self.bands],
             "carbonate_index": _num(self.carbonate_index),
             "carbonate_index_err": _num(self.carbonate_index_err),
             "carbonate_upper_limit": _num(self.carbonate_upper_limit),
             "a1g_eg_ratio": _num(self.a1g_eg_ratio),
             "spikes_removed": int(self.spikes_removed),
             "warnings": [w.to_json() for w in self.warnings]}
        if self.error is not None:
            d["error"] = self.error
        return d

    def to_record(self, name: str | None = None):
        """A :class:`~naheo_spec.records.Record` of kind ``"raman"``: the spectrum, baseline,
        corrected signal and model on the shift axis (default NXdata) and the band table
        (group ``bands``, one entry per band)."""
        from naheo_spec.records import DataArray, DataGroup, Record, nexus_name

        summary = {k: v for k, v in self.to_json_dict().items() if k not in ("bands", "warnings",
                                                                               "coordinate")}
        for k, v in (self.coordinate or {}).items():
            summary[f"coordinate_{nexus_name(k)}"] = v
        for b in self.bands:
            for key in ("center_cm1", "center_err_cm1", "fwhm_cm1", "area", "area_err"):
                summary[f"{b.name}_{key}"] = _num(getattr(b, key))
            summary[f"{b.name}_detected"] = bool(b.detected)
        summary["carbonate_detected"] = bool(self.carbonate_detected)
        summary["n_warnings"] = len(self.warnings)
        summary["warnings"] = "; ".join(w.message for w in self.warnings)
        data = {"raman_shift": DataArray(np.asarray(self.axis), "1/cm", "Raman shift"),
                "intensity": DataArray(np.asarray(self.raw), "", "intensity (cut, as read)"),
                "baseline": DataArray(np.asarray(self.baseline), "", "baseline"),
                "corrected": DataArray(np.asarray(self.corrected), "",
                                       "despiked intensity minus baseline"),
                "model": DataArray(np.asarray(self.model), "", "fitted bands + background")}
        nb = len(self.bands)
        bands = DataGroup(
            {"band": DataArray(np.arange(nb, dtype=float), "", "band number (see names)"),
             "center": DataArray(np.array([b.center_cm1 for b in self.bands]), "1/cm"),
             "center_err": DataArray(np.array([b.center_err_cm1 for b in self.bands]), "1/cm"),
             "fwhm": DataArray(np.array([b.fwhm_cm1 for b in self.bands]), "1/cm"),
             "area": DataArray(np.array([b.area for b in self.bands]), ""),
             "area_err": DataArray(np.array([b.area_err for b in self.bands]), "")},
            signal="area", axes=["band"], title="bands: " + ", ".join(b.name for b in self.bands))
        rec_name = name or nexus_name(f"{Path(self.file or 'spectrum').stem}_{self.index}_raman")
        return Record(name=rec_name, kind="raman", summary=summary, provenance=self.provenance,
                      data=data, signal="corrected", axes=["raman_shift"],
                      groups={"bands": bands})

    def __repr__(self) -> str:
        coord = ""
        if self.coordinate:
            coord = " " + ", ".join(f"{k}={_fmt(v, nd=3) if isinstance(v, float) else v}"
                                    for k, v in list(self.coordinate.items())[:2])
        if self.error:
            return f"<RamanResult {self.name}{coord}: masked ({self.error})>"
        shown = ", ".join(f"{b.name} {_fmt(b.center_cm1, b.center_err_cm1)}"
                          for b in self.bands if b.detected)
        ci = _fmt(self.carbonate_index, self.carbonate_index_err, 3)
        if not self.carbonate_detected and self.carbonate_upper_limit is not None:
            ci = f"<{self.carbonate_upper_limit:.3f} (not detected)"
        return (f"<RamanResult {self.name}{coord}: {shown or 'no band detected'}; carbonate index "
                f"{ci}; {self.spikes_removed} spike point(s); {len(self.warnings)} warning(s)>")

    def display_title(self) -> str:
        return self.name

    def display_items(self):
        if self.error:
            yield ("masked", self.error, None, "")
            return
        if self.carbonate_detected or self.carbonate_upper_limit is None:
            yield ("carbonate index", self.carbonate_index, self.carbonate_index_err, "")
        else:
            yield ("carbonate index (not detected), upper limit", self.carbonate_upper_limit,
                   None, "")
        yield ("A1g/Eg area ratio", self.a1g_eg_ratio, self.a1g_eg_ratio_err, "")
        yield ("spike points replaced", int(self.spikes_removed), None, "")

    def display_table(self):
        if not self.bands:
            return None
        return (["band", "centre", "FWHM", "area", "SNR", "detected"],
                [[b.name, (b.center_cm1, b.center_err_cm1, "cm⁻¹"),
                  (b.fwhm_cm1, b.fwhm_err_cm1, "cm⁻¹"), (b.area, b.area_err, ""), b.snr,
                  ("yes" if b.detected else "no") + (" (bound)" if b.at_bound else "")]
                 for b in self.bands])

    def display_figure(self):
        """Baseline-corrected spectrum, bands and residual (:func:`naheo_spec.plot.raman.plot_fit`)."""
        if self.error:
            return None
        from naheo_spec.plot.raman import plot_fit

        return plot_fit(self)


@dataclass(frozen=True, eq=False, repr=False)
class RamanSeriesResult(ResultDisplay):
    """Raman analysis of every spectrum of a series or map (arrays, no object per row).

    Attributes
    ----------
    file, sha256, format : str or None
        Source file.
    labels : ndarray of str (N,)
    coordinates : dict of str to ndarray (N,)
    coordinate_units : dict of str to str
    valid : ndarray of bool (N,)
        Spectra that were fitted.
    errors : ndarray of object (N,)
        Why each masked spectrum was not fitted (None for fitted ones).
    axis : ndarray (M,)
        Shift axis used (calibrated, cut), cm-1.
    raw, signals, baselines, corrected : ndarray (N, M)
        Input (cut), after spike removal, baselines, despiked minus baseline.
    spikes_removed : ndarray of int (N,)
    table : BandTable
        Band parameters and errors (N, B).
    detection : Detection
    carbonate_index, carbonate_index_err, carbonate_upper_limit : ndarray (N,)
    carbonate_detected : ndarray of bool (N,)
    a1g_eg_ratio, a1g_eg_ratio_err : ndarray (N,)
    normalized_areas, normalized_areas_err : ndarray (N, B) or None
        Areas divided by the ``normalize_to`` band's.
    row_warnings : StackWarnings
    warnings : tuple of WarningRecord
        Series-level warnings (laser damage, masked counts, uncalibrated carbonate).
    first_carbonate : dict
        ``{coordinate name: first value with carbonate detected}`` (None when never).
    laser_damage : dict or None
        Trend of the Mn3O4 marker when significant.
    preset : Preset
    calibration : AxisCalibration or None
    provenance : Provenance
    files : tuple of str, optional
        Per-row source file when the series was assembled from several files.
    indices : ndarray of int, optional
        Per-row position inside its own file (with ``files``).
    """

    file: str | None
    sha256: str | None
    format: str | None
    labels: np.ndarray
    coordinates: dict
    coordinate_units: dict
    valid: np.ndarray
    errors: np.ndarray
    axis: np.ndarray
    raw: np.ndarray
    signals: np.ndarray
    baselines: np.ndarray
    corrected: np.ndarray
    spikes_removed: np.ndarray
    table: Any
    detection: Any
    carbonate_index: np.ndarray
    carbonate_index_err: np.ndarray
    carbonate_upper_limit: np.ndarray
    carbonate_detected: np.ndarray
    a1g_eg_ratio: np.ndarray
    a1g_eg_ratio_err: np.ndarray
    normalized_areas: np.ndarray | None
    normalized_areas_err: np.ndarray | None
    row_warnings: StackWarnings
    warnings: tuple[WarningRecord, ...]
    first_carbonate: dict
    laser_damage: dict | None
    preset: Any
    calibration: Any
    provenance: Provenance
    files: tuple | None = None
    indices: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.valid.size)

    def file_of(self, i: int) -> str | None:
        """Source file of row ``i`` (its own file for series built from several files)."""
        return self.files[i] if self.files is not None else self.file

    def index_of(self, i: int) -> int:
        """Position of row ``i`` inside its file."""
        return int(self.indices[i]) if self.indices is not None else int(i)

    @property
    def name(self) -> str:
        return Path(self.file).name if self.file else "series"

    def coordinate(self, i: int) -> dict | None:
        """Named coordinate values of row ``i`` (None when the series has none)."""
        if not self.coordinates:
            return None
        return {k: (v[i].item() if hasattr(v[i], "item") else v[i])
                for k, v in self.coordinates.items()}

    def row_warning_records(self, i: int) -> tuple[WarningRecord, ...]:
        """Warnings of row ``i``, then the series-level warnings."""
        return tuple(dict.fromkeys(self.row_warnings.for_row(i) + self.warnings))

    def band_results(self, i: int) -> tuple[BandResult, ...]:
        t, d = self.table, self.detection
        return tuple(BandResult(
            name=n, role=t.roles[j], center_cm1=float(t.center[i, j]),
            center_err_cm1=float(t.center_err[i, j]), fwhm_cm1=float(t.fwhm[i, j]),
            fwhm_err_cm1=float(t.fwhm_err[i, j]), area=float(t.area[i, j]),
            area_err=float(t.area_err[i, j]), height=float(t.height[i, j]),
            height_err=float(t.height_err[i, j]), eta=float(t.eta[i, j]),
            snr=float(d.snr[i, j]), detected=bool(d.detected[i, j]),
            at_bound=bool(t.at_bound[i, j])) for j, n in enumerate(t.names))

    def __getitem__(self, i: int) -> RamanResult:
        from naheo_spec.raman.fit import window_model

        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"spectrum {i} out of range for a series of {n}")
        i = int(i) % n
        ok = bool(self.valid[i])
        comps = {}
        if ok:
            model = window_model(self.axis, self.table, i)
            for name in self.table.names:
                comps[name] = window_model(self.axis, self.table, i, bands=[name],
                                           background=False)
        else:
            model = np.full(self.axis.size, np.nan)
        ul = self.carbonate_upper_limit[i]
        return RamanResult(
            file=self.file_of(i), index=self.index_of(i), label=str(self.labels[i]), coordinate=self.coordinate(i),
            bands=self.band_results(i) if ok else (),
            carbonate_index=_num(self.carbonate_index[i]),
            carbonate_index_err=_num(self.carbonate_index_err[i]),
            carbonate_detected=bool(self.carbonate_detected[i]),
            carbonate_upper_limit=_num(ul), a1g_eg_ratio=_num(self.a1g_eg_ratio[i]),
            a1g_eg_ratio_err=_num(self.a1g_eg_ratio_err[i]),
            spikes_removed=int(self.spikes_removed[i]),
            warnings=self.row_warning_records(i), error=self.errors[i],
            axis=self.axis, raw=self.raw[i], baseline=self.baselines[i],
            corrected=self.corrected[i], model=model, components=comps,
            provenance=self.provenance)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def entry_json(self, i: int) -> dict[str, Any]:
        """``--json`` entry of row ``i`` (without building the model arrays)."""
        ok = bool(self.valid[i])
        d = {"file": self.file_of(i), "index": self.index_of(i),
             "coordinate": None if not self.coordinates else
             {k: (_num(v) if isinstance(v, float) else v) for k, v in self.coordinate(i).items()},
             "bands": [b.to_json_dict() for b in self.band_results(i)] if ok else [],
             "carbonate_index": _num(self.carbonate_index[i]),
             "carbonate_index_err": _num(self.carbonate_index_err[i]),
             "carbonate_upper_limit": _num(self.carbonate_upper_limit[i]),
             "a1g_eg_ratio": _num(self.a1g_eg_ratio[i]),
             "spikes_removed": int(self.spikes_removed[i]),
             "warnings": [w.to_json() for w in self.row_warning_records(i)]}
        if not ok:
            d["error"] = self.errors[i]
        return d

    def to_json_list(self) -> list[dict[str, Any]]:
        """One ``--json`` entry per spectrum, in series order (masked ones with ``error``)."""
        return [self.entry_json(i) for i in range(len(self))]

    def to_dataframe(self):
        """:meth:`to_records` as a :class:`pandas.DataFrame` (needs pandas)."""
        from naheo_spec.store import to_dataframe

        return to_dataframe(self)

    def to_records(self) -> list[dict[str, Any]]:
        """The band table: one flat dict per spectrum (coordinates, every band's centre,
        FWHM, area with errors, SNR and detection, the indicators)."""
        t, d = self.table, self.detection
        out = []
        for i in range(len(self)):
            row: dict[str, Any] = {"file": self.file_of(i), "index": self.index_of(i),
                                   "label": str(self.labels[i]), "valid": bool(self.valid[i])}
            for k, v in (self.coordinate(i) or {}).items():
                row[k] = v
            for j, n in enumerate(t.names):
                for key, arr in (("center_cm1", t.center), ("center_err_cm1", t.center_err),
                                 ("fwhm_cm1", t.fwhm), ("area", t.area), ("area_err", t.area_err),
                                 ("snr", d.snr)):
                    row[f"{n}_{key}"] = _num(arr[i, j])
                row[f"{n}_detected"] = bool(d.detected[i, j])
                if self.normalized_areas is not None:
                    row[f"{n}_area_normalized"] = _num(self.normalized_areas[i, j])
            row.update(carbonate_index=_num(self.carbonate_index[i]),
                       carbonate_index_err=_num(self.carbonate_index_err[i]),
                       carbonate_upper_limit=_num(self.carbonate_upper_limit[i]),
                       carbonate_detected=bool(self.carbonate_detected[i]),
                       a1g_eg_ratio=_num(self.a1g_eg_ratio[i]),
                       a1g_eg_ratio_err=_num(self.a1g_eg_ratio_err[i]),
                       spikes_removed=int(self.spikes_removed[i]),
                       error=self.errors[i])
            out.append(row)
        return out

    def write_csv(self, path) -> Path:
        """Write :meth:`to_records` as CSV (atomically; refuses to overwrite)."""
        import csv

        from naheo_spec.atomic import atomic_path

        recs = self.to_records()
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(recs[0]))
            w.writeheader()
            for r in recs:
                w.writerow({k: ("" if v is None else v) for k, v in r.items()})
        return path

    #: Coordinate names preferred as the series' x axis, in order.
    X_COORDINATES = ("time", "exposure_time", "exposure_h", "potential", "state_of_charge",
                     "soc", "temperature", "index", "z")
    #: Name prefixes of coordinates that are a series' x axis (``exposure_h``, ``time_s``).
    X_PREFIXES = ("exposure", "time", "potential", "voltage", "soc", "state_of_charge",
                  "temperature", "cycle", "capacity")

    def x_coordinate(self):
        """``(name, values, unit)`` of the coordinate plots and records use as x.

        In order: a known name (:attr:`X_COORDINATES`), a float coordinate whose name
        starts with one of :attr:`X_PREFIXES`, ``x`` (a line scan or a map's first axis:
        maps are drawn by :func:`~naheo_spec.plot.raman.plot_map_image` on x/y), then the
        first float coordinate; the spectrum number when the series has none.
        """
        floats = [k for k, v in self.coordinates.items() if np.asarray(v).dtype.kind == "f"]
        lowered = {k: k.lower() for k in floats}
        key = next((k for name in self.X_COORDINATES for k in floats if lowered[k] == name), None)
        if key is None:
            key = next((k for k in floats if lowered[k].startswith(self.X_PREFIXES)), None)
        if key is None and "x" in floats:
            key = "x"
        if key is None and floats:
            key = floats[0]
        if key is None:
            return "spectrum", np.arange(len(self), dtype=float), ""
        return key, np.asarray(self.coordinates[key], dtype=float), \
            self.coordinate_units.get(key, "")

    def to_record(self, name: str | None = None):
        """A :class:`~naheo_spec.records.Record` of kind ``"raman_series"``: the corrected
        spectra (N, M) on shift x spectrum number (default NXdata), and the band table on
        the series coordinate (group ``bands``: centre, FWHM, area and errors per band,
        carbonate index, A1g/Eg)."""
        from naheo_spec.records import DataArray, DataGroup, Record, nexus_name

        key, coord, unit = self.x_coordinate()
        n = len(self)
        data = {"raman_shift": DataArray(np.asarray(self.axis), "1/cm", "Raman shift"),
                "spectrum": DataArray(np.arange(n, dtype=float), "", "spectrum number"),
                "corrected": DataArray(np.asarray(self.corrected), "",
                                       "despiked intensity minus baseline"),
                "baseline": DataArray(np.asarray(self.baselines), "", "baseline")}
        t = self.table
        cols = {nexus_name(key): DataArray(coord, unit, key)}
        for j, b in enumerate(t.names):
            cols[f"{b}_center"] = DataArray(t.center[:, j], "1/cm")
            cols[f"{b}_center_err"] = DataArray(t.center_err[:, j], "1/cm")
            cols[f"{b}_fwhm"] = DataArray(t.fwhm[:, j], "1/cm")
            cols[f"{b}_area"] = DataArray(t.area[:, j], "")
            cols[f"{b}_area_err"] = DataArray(t.area_err[:, j], "")
            cols[f"{b}_detected"] = DataArray(self.detection.detected[:, j].astype(np.int8), "")
        cols["carbonate_index"] = DataArray(self.carbonate_index, "")
        cols["carbonate_index_err"] = DataArray(self.carbonate_index_err, "")
        cols["carbonate_upper_limit"] = DataArray(self.carbonate_upper_limit, "")
        cols["a1g_eg_ratio"] = DataArray(self.a1g_eg_ratio, "")
        cols["spikes_removed"] = DataArray(self.spikes_removed.astype(float), "")
        cols["valid"] = DataArray(self.valid.astype(np.int8), "")
        groups = {"bands": DataGroup(cols, signal="carbonate_index", axes=[nexus_name(key)],
                                     title=f"bands vs {key}")}
        summary = {"file": self.file, "n_spectra": n, "n_fitted": int(self.valid.sum()),
                   "n_masked": int((~self.valid).sum()), "preset": self.preset.name,
                   "spikes_removed_total": int(self.spikes_removed.sum()),
                   "carbonate_detected_count": int(self.carbonate_detected.sum()),
                   "median_carbonate_index": _num(np.nanmedian(self.carbonate_index))
                   if np.isfinite(self.carbonate_index).any() else None,
                   "laser_damage": self.laser_damage is not None,
                   "n_warnings": len(self.warnings),
                   "warnings": "; ".join(w.message for w in self.warnings)}
        for k, v in self.first_carbonate.items():
            summary[f"first_carbonate_{nexus_name(k)}"] = v
        for code, cnt in self.row_warnings.counts().items():
            summary[f"rows_{nexus_name(code)}"] = cnt
        rec_name = name or nexus_name(f"{Path(self.file or 'series').stem}_raman_series")
        return Record(name=rec_name, kind="raman_series", summary=summary,
                      provenance=self.provenance, data=data, signal="corrected",
                      axes=["spectrum", "raman_shift"], groups=groups)

    def __repr__(self) -> str:
        key, coord, unit = self.x_coordinate()
        fc = ", ".join(f"{k}={v}" for k, v in self.first_carbonate.items() if v is not None)
        return (f"<RamanSeriesResult {self.name}: {len(self)} spectra ({int(self.valid.sum())} "
                f"fitted, {int((~self.valid).sum())} masked) vs {key}; preset {self.preset.name}; "
                f"carbonate detected in {int(self.carbonate_detected.sum())}"
                f"{' (first at ' + fc + ')' if fc else ''}; "
                f"{len(self.row_warnings)} row warning(s), {len(self.warnings)} series warning(s)>")

    def display_title(self) -> str:
        return self.name

    def display_items(self):
        yield ("spectra", len(self), None, "")
        yield ("fitted", int(self.valid.sum()), None, "")
        yield ("masked", int((~self.valid).sum()), None, "")
        yield ("carbonate detected in", int(self.carbonate_detected.sum()), None, "spectra")
        for key, value in self.first_carbonate.items():
            if value is not None:
                yield (f"first carbonate ({key})", value, None,
                       self.coordinate_units.get(key, ""))

    def display_table(self):
        t = self.table
        rows = []
        for j, n in enumerate(t.names):
            centres = t.center[:, j]
            median = float(np.nanmedian(centres)) if np.isfinite(centres).any() else None
            rows.append([n, (median, None, "cm⁻¹"), int(self.detection.detected[:, j].sum())])
        return (["band", "median centre", "spectra detected"], rows)

    def display_warnings(self) -> tuple:
        return tuple(self.warnings) + tuple(self.row_warnings.summary(unit="spectra"))

    def display_figure(self):
        """Band areas and carbonate index against the series coordinate
        (:func:`naheo_spec.plot.raman.plot_series_bands`)."""
        if not self.valid.any():
            return None
        from naheo_spec.plot.raman import plot_series_bands

        return plot_series_bands(self)


# --------------------------------------------------------------------------- pipeline
def _read_one(path) -> "Spectrum | SpectrumStack":
    """The one block (spectrum, series or map) of a Raman file; several blocks -> error."""
    from naheo_spec.io import read
    from naheo_spec.model.collection import listing

    coll = read(path, technique="raman")
    if len(coll) != 1:
        raise InputError(f"{path}: {len(coll)} blocks ({listing(coll.names)}); read the file "
                         "with naheo_spec.io.read and pass the block", parameter="data")
    return coll[0]


def _as_stack(data) -> SpectrumStack:
    if isinstance(data, (str, Path)):
        data = _read_one(data)
    if isinstance(data, SpectrumStack):
        return data
    if isinstance(data, Spectrum):
        coords = {k: [float(v)] for k, v in data.metadata.items()
                  if k in ("time", "potential", "state_of_charge", "exposure_time")
                  and isinstance(v, (int, float)) and not isinstance(v, bool)}
        return SpectrumStack(data.axis, np.asarray(data.signal)[None, :], axis_kind=data.axis_kind,
                             axis_unit=data.axis_unit, signal_label=data.signal_label,
                             coordinates=coords, acquisition=data.acquisition,
                             metadata=data.metadata, header=data.header, source=data.source,
                             labels=[data.source.scan or Path(data.source.path or "spectrum").name],
                             warnings=data.warnings)
    raise InputError(f"expected a Spectrum, a SpectrumStack or a file path, got "
                     f"{type(data).__name__}", parameter="data")


def _cut(axis, shift_range):
    lo, hi = shift_range if shift_range is not None else (None, None)
    keep = np.ones(axis.size, dtype=bool)
    if lo is not None:
        keep &= axis >= lo
    if hi is not None:
        keep &= axis <= hi
    return keep


def analyze_raman_series(data, *, preset="layered-oxide", baseline: str = "arpls",
                         lam: float | None = None, baseline_options: dict | None = None,
                         despike: bool = True, neighbour_despike: bool | None = None,
                         calibration=None, shift_range=DEFAULT_SHIFT_RANGE,
                         shape: str | None = None, eta: float | None = None,
                         snr_threshold: float = 3.0, normalize_to: str | None = None,
                         saturation: float | None = None, max_spike_fraction: float = 0.02,
                         min_consecutive: int = 1,
                         resolution: float | None = None) -> RamanSeriesResult:
    """Analyse every spectrum of a series, map or single spectrum (see module doc).

    Parameters
    ----------
    data : SpectrumStack, Spectrum or path
        Raman-shift data (cm-1), or a file holding one block (spectrum, series or map).
    preset : str, Path or Preset
        Band preset (built-in name or TOML file). Default ``"layered-oxide"``.
    baseline : str
        ``"arpls"`` (default), ``"asls"``, ``"airpls"``, ``"snip"``, ``"modpoly"`` or
        ``"none"``.
    lam : float, optional
        Whittaker ``lam`` for 1024 points (scaled with the point count). Default: the
        method's (arPLS 1e6, see :mod:`~naheo_spec.raman.baseline`).
    baseline_options : dict, optional
        Further options of the pybaselines method (``p``, ``max_half_window``, ``poly_order``).
    despike : bool
        Whitaker-Hayes spike removal. Default True.
    neighbour_despike : bool, optional
        Neighbour-frame test (:func:`~naheo_spec.raman.despike.despike_neighbours`).
        Default None: on for series of 5 or more valid spectra, off for maps (a
        ``map_shape``, or x and y coordinates that both vary: a grain smaller than the step
        shows a real band at one position only). True on a map compares each spectrum with
        its adjacent map positions (:func:`~naheo_spec.raman.despike.spatial_neighbours`),
        never with the previous rows of the file; False never runs it.
    calibration : AxisCalibration, optional
        Offset from :func:`~naheo_spec.raman.calibration.calibrate_axis`; subtracted from
        the axis.
    shift_range : (float or None, float or None)
        Shift range kept (cm-1). Default (80, None).
    shape : str, optional
        Override every band's line shape (``lorentzian``, ``gaussian``, ``pseudo-voigt``,
        ``voigt``).
    eta : float, optional
        Fix the pseudo-Voigt Lorentzian fraction. Default None (free).
    snr_threshold : float
        Detection threshold on the window-integral signal-to-noise ratio. Default 3.
    normalize_to : str, optional
        Band whose area divides every area (in-situ series).
    saturation : float, optional
        Detector ceiling (counts) for QC.
    max_spike_fraction : float
        More replaced points than this fraction masks a spectrum. Default 0.02.
    min_consecutive : int
        Detections in a row needed for the first carbonate coordinate. Default 1.
    resolution : float, optional
        Instrument resolution (cm-1): no band is fitted narrower, and the carbonate
        detection filter uses it (:func:`~naheo_spec.raman.presets.fwhm_floor`). Default
        None: the preset's ``resolution_cm1`` (4 cm-1 in ``layered-oxide``), and never
        below two sampling intervals.

    Returns
    -------
    RamanSeriesResult

    Raises
    ------
    InputError
        Not a Raman-shift axis, or bad options.
    ProcessingError
        Fewer than 20 points left in ``shift_range``.

    Examples
    --------
    Eg, A1g and a Na2CO3 band of area ratio 0.03 on a sloping background with noise (the
    index comes out high: arPLS takes part of the broad bands' wings, and the empty
    carbonate bands, whose areas cannot go negative, add noise to the sum):

    >>> from naheo_spec.raman.lineshapes import pseudo_voigt
    >>> x = np.linspace(100, 1300, 1024)
    >>> rng = np.random.default_rng(0)
    >>> y = (200 + 0.05 * x + pseudo_voigt(x, 4000, 460, 30, 0.5)
    ...      + pseudo_voigt(x, 6000, 570, 35, 0.5) + pseudo_voigt(x, 300, 1080, 8, 0.5))
    >>> s = Spectrum(x, y + rng.normal(0, 2, x.size), axis_kind="raman_shift")
    >>> r = analyze_raman(s)
    >>> round(r.band("natrite").center_cm1), r.carbonate_detected, 0.03 < r.carbonate_index < 0.04
    (1080, True, True)
    """
    from naheo_spec.raman.baseline import VENDOR_SUBTRACTED, BaselineFitter
    from naheo_spec.raman.fit import fit_bands
    from naheo_spec.raman.indicators import (
        area_ratio,
        carbonate_group_snr,
        carbonate_index,
        detect_bands,
        first_detection,
        look_elsewhere_threshold,
        normalized_areas,
    )
    from naheo_spec.raman.presets import fwhm_floor, load_preset

    stack = _as_stack(data)
    if stack.axis_kind is not AxisKind.RAMAN_SHIFT:
        raise InputError(f"{stack.name}: axis is {stack.axis_kind.value}, not a Raman shift "
                         "(read the file with technique='raman')", parameter="data")
    pre = load_preset(preset)
    if shape is not None:
        pre = pre.with_shape(shape)
    if normalize_to is not None:
        normalize_to = pre.band(normalize_to).name
    axis, keep, uncovered = _prepare_axis(stack, pre, calibration, shift_range)
    if resolution is not None and not resolution > 0:
        raise InputError(f"resolution must be a positive number of cm-1, got {resolution!r}",
                         parameter="resolution")
    min_fwhm = fwhm_floor(axis, resolution if resolution is not None else pre.resolution_cm1)
    pre = pre.with_min_fwhm(min_fwhm)
    raw = np.asarray(stack.signals, dtype=float)[:, keep]
    n = raw.shape[0]
    y, valid, errors, counts, rw, despike_params = _screen_and_despike(
        raw, stack, saturation=saturation, despike=despike, neighbour_despike=neighbour_despike,
        max_spike_fraction=max_spike_fraction)
    acq = stack.acquisition
    vendor = "baseline subtracted" in (getattr(acq, "vendor_processing", ()) or ())
    opts = dict(baseline_options or {})
    if lam is not None:
        opts["lam"] = lam
    bres = BaselineFitter(axis, baseline, **opts).fit(y, rows=valid, vendor_subtracted=vendor)
    if vendor:
        rw.add(VENDOR_SUBTRACTED, np.flatnonzero(valid),
               "the file says the vendor already subtracted a baseline; none subtracted again")
    table = fit_bands(axis, bres.corrected, pre, eta=eta, rows=valid)
    det = detect_bands(axis, bres.corrected, table, snr_threshold=snr_threshold,
                       fallback_fwhm=[b.fwhm_cm1 for b in pre.bands],
                       fallback_center=[b.center_cm1 for b in pre.bands])
    g_snr, g_center, _, g_upper, scan = carbonate_group_snr(axis, bres.corrected, table, pre,
                                                            min_fwhm=min_fwhm)
    det = replace(det, carbonate_snr=g_snr, carbonate_center=g_center,
                  carbonate_upper_area=g_upper,
                  carbonate_threshold=look_elsewhere_threshold(snr_threshold, scan))
    ci, ci_err, ci_ul, ci_det = carbonate_index(table, det, pre.reference_bands)
    ratio, ratio_err = area_ratio(table, "a1g", "eg")
    norm = norm_err = None
    if normalize_to is not None:
        norm, norm_err = normalized_areas(table, normalize_to)
    _row_flags(rw, table, det, valid, calibrated=calibration is not None, carbonate=ci_det)
    series_warn, damage = _series_checks(stack.name, axis, bres.corrected, table, pre, valid,
                                         uncovered)
    first = {key: first_detection(np.where(valid, np.asarray(v, dtype=float), np.nan), ci_det,
                                  min_consecutive=min_consecutive)
             for key, v in stack.coordinates.items() if np.asarray(v).dtype.kind == "f" and n > 1}
    prov = Provenance(step="raman.analyze", source_file=stack.source.path,
                      source_sha256=stack.source.sha256, parameters={
                          "preset": pre.to_dict(), "baseline": {"method": bres.method,
                                                                **bres.parameters},
                          "despike": despike_params, "max_spike_fraction": max_spike_fraction,
                          "calibration": None if calibration is None else calibration.to_dict(),
                          "shift_range": list(shift_range) if shift_range else None,
                          "eta": eta, "shape": shape, "snr_threshold": snr_threshold,
                          "resolution_cm1": resolution, "min_fwhm_cm1": min_fwhm,
                          "normalize_to": normalize_to, "saturation": saturation,
                          "format": stack.source.format,
                          "vendor_processing": list(getattr(acq, "vendor_processing", ()) or ()),
                          "laser_wavelength_nm": getattr(acq, "laser_wavelength_nm", None)})
    files = indices = None
    if stack.scan_sources is not None and len({src.path for src in stack.scan_sources}) > 1:
        files = tuple(src.path for src in stack.scan_sources)
        indices = np.zeros(n, dtype=int)
    return RamanSeriesResult(
        file=stack.source.path, sha256=stack.source.sha256, format=stack.source.format,
        labels=np.array([stack.label(i) for i in range(n)], dtype=str),
        coordinates={k: np.asarray(v) for k, v in stack.coordinates.items()},
        coordinate_units=dict(stack.coordinate_units),
        valid=valid, errors=errors, axis=axis, raw=raw, signals=y, baselines=bres.baselines,
        corrected=bres.corrected, spikes_removed=counts, table=table, detection=det,
        carbonate_index=ci, carbonate_index_err=ci_err, carbonate_upper_limit=ci_ul,
        carbonate_detected=ci_det, a1g_eg_ratio=ratio, a1g_eg_ratio_err=ratio_err,
        normalized_areas=norm, normalized_areas_err=norm_err, row_warnings=rw.build(),
        warnings=tuple(stack.warnings) + tuple(series_warn), first_carbonate=first,
        laser_damage=damage, preset=pre, calibration=calibration, provenance=prov,
        files=files, indices=indices)


def _prepare_axis(stack, pre, calibration, shift_range):
    """Calibrated, cut axis; the kept points; the preset windows the data do not cover.

    Raises ProcessingError when too few points are left or no window is covered."""
    axis_full = np.asarray(stack.axis, dtype=float)
    if calibration is not None:
        axis_full = calibration.apply(axis_full)
    keep = _cut(axis_full, shift_range)
    if keep.sum() < 20:
        raise ProcessingError(f"{stack.name}: only {int(keep.sum())} points inside shift_range "
                              f"{shift_range} cm-1 (need 20)")
    axis = axis_full[keep]
    uncovered = [w for w in pre.windows
                 if ((axis >= w.range_cm1[0]) & (axis <= w.range_cm1[1])).sum() < 12]
    if len(uncovered) == len(pre.windows):
        raise ProcessingError(
            f"{stack.name}: covers {axis[0]:.0f}-{axis[-1]:.0f} cm-1, outside every fit window "
            f"of preset {pre.name!r} ("
            + ", ".join(f"{w.name} {w.range_cm1[0]:g}-{w.range_cm1[1]:g}" for w in pre.windows)
            + "); choose another --preset")
    return axis, keep, uncovered


def _screen_and_despike(raw, stack, *, saturation, despike, neighbour_despike,
                        max_spike_fraction):
    """QC masks, Whitaker-Hayes and neighbour-frame spike removal, cosmic-ray masks.

    Returns the despiked signals, the validity mask, per-row error texts, spike counts, the
    row-warnings builder (reader and QC records already in) and the despike parameters."""
    from naheo_spec.raman.despike import (
        despike_neighbours,
        despike_whitaker_hayes,
        spatial_neighbours,
    )
    from naheo_spec.raman.qc import COSMIC, cosmic_dominated, screen

    n = raw.shape[0]
    qc = screen(raw, valid=stack.mask, saturation=saturation)
    valid = qc.valid.copy()
    errors = np.full(n, None, dtype=object)
    for i in np.flatnonzero(~valid):
        recs = [r for r in qc.warnings.for_row(int(i)) if r.code == qc.reason[i]]
        errors[i] = recs[-1].message if recs else "masked in the input stack"
    rw = StackWarningsBuilder(n)
    for src in (stack.row_warnings, qc.warnings):
        for i in np.unique(src.rows):
            rw.add_records(int(i), src.for_row(int(i)))
    y = qc.signals
    counts = np.zeros(n, dtype=int)
    params: dict = {"whitaker_hayes": None, "neighbours": None}
    if despike and valid.any():
        rows = np.flatnonzero(valid)
        d = despike_whitaker_hayes(y[rows])
        y[rows] = d.signals
        counts[rows] += d.counts
        params["whitaker_hayes"] = d.parameters
    is_map = _is_map(stack)
    use_nb = neighbour_despike
    if use_nb is None:      # maps: neighbours are other places of the sample, not repeats
        use_nb = despike and valid.sum() >= 5 and not is_map and n > 1
    if use_nb and n > 1:
        nbrs = None
        if is_map:          # asked for on a map: compare with the adjacent positions
            nbrs = spatial_neighbours(stack.coordinates["x"], stack.coordinates["y"])
        d = despike_neighbours(y, valid=valid, neighbours=nbrs)
        y = d.signals
        counts += d.counts
        params["neighbours"] = d.parameters
    cosmic = valid & cosmic_dominated(counts, raw.shape[1], max_fraction=max_spike_fraction)
    if cosmic.any():
        rw.add(COSMIC, np.flatnonzero(cosmic), "spike removal replaced more than "
                                               f"{max_spike_fraction:.0%} of the points")
        errors[cosmic] = "cosmic-ray dominated: too many spike points"
        valid &= ~cosmic
    return y, valid, errors, counts, rw, params


def _is_map(stack) -> bool:
    """A map: a ``map_shape``, or x and y coordinates that both vary."""
    if stack.map_shape is not None:
        return True
    c = stack.coordinates
    if "x" in c and "y" in c:
        try:
            return (np.unique(np.asarray(c["x"], dtype=float)).size > 1
                    and np.unique(np.asarray(c["y"], dtype=float)).size > 1)
        except (TypeError, ValueError):
            return False
    return False


def _row_flags(rw, table, det, valid, *, calibrated: bool, carbonate) -> None:
    """Per-spectrum quality flags: bounds, convergence, uncalibrated carbonate, Mn3O4."""
    from naheo_spec.raman.fit import BOUND_HIT, NOT_CONVERGED

    significant = det.snr >= det.threshold     # the data show signal where the band sits
    for j, name in enumerate(table.names):
        hit = np.flatnonzero(table.at_bound[:, j] & significant[:, j] & valid)
        rw.add(BOUND_HIT, hit, f"band {name} ended on a bound of its centre or width: a limit, "
                               "not a result")
    rw.add(NOT_CONVERGED, np.flatnonzero(valid & ~table.converged), "band fit did not converge")
    if not calibrated:      # wherever carbonate is reported (the group decision)
        rw.add(UNCALIBRATED_CARBONATE, np.flatnonzero(carbonate & valid),
               "carbonate band assigned on an uncalibrated shift axis: offsets of 2-5 cm-1 "
               "are the size of the gaps between NaHCO3, hydrates, Na2CO3 and Li2CO3; "
               "calibrate with --calibrate-si")
    if "band_680" in table.names:
        j = table.index("band_680")
        near = np.flatnonzero(det.detected[:, j] & (table.center[:, j] < 665.0))
        rw.add(MN3O4_POSITION, near, "the ~680 band sits at 655-665 cm-1, where laser-made Mn3O4 "
                                     "appears")


def _series_checks(name, axis, corrected, table, pre, valid, uncovered):
    """Series-level warnings (uncovered windows, laser damage, masked count) and the
    laser-damage trend (or None)."""
    from naheo_spec.raman.indicators import LASER_DAMAGE, laser_damage_trend

    out: list[WarningRecord] = []
    for w in uncovered:
        out.append(WINDOW_NOT_COVERED.warn(
            f"{name}: window {w.name} ({w.range_cm1[0]:g}-{w.range_cm1[1]:g} cm-1) is "
            f"outside the spectrum ({axis[0]:.0f}-{axis[-1]:.0f} cm-1): its bands are not fitted",
            stacklevel=3))
    n = valid.size
    damage = None
    marker = next((m for m in pre.markers if m.role == "damage"), None)
    if marker is not None and n >= 5 and pre.reference_bands:
        ref_idx = [table.index(r) for r in pre.reference_bands]
        ref_area = np.where(valid, np.nansum(table.area[:, ref_idx], axis=1), np.nan)
        damage = laser_damage_trend(axis, corrected, ref_area, valid, marker.range_cm1)
        if damage is not None:
            out.append(LASER_DAMAGE.warn(
                f"{name}: intensity at {marker.range_cm1[0]:g}-{marker.range_cm1[1]:g} "
                f"cm-1 relative to the reference bands rises by "
                f"{100 * damage['relative_increase']:.0f}% over the series (Mn3O4 from laser "
                "damage?)", stacklevel=3, relative_increase=damage["relative_increase"]))
    n_masked = int((~valid).sum())
    if n_masked and n > 1:
        out.append(MASKED.record(f"{name}: {n_masked} of {n} spectra masked by quality control "
                                 "(see each entry's error)", masked=n_masked))
    return out, damage


def analyze_raman(spectrum, **options) -> RamanResult:
    """Analyse one spectrum: :func:`analyze_raman_series` on a one-row stack.

    Parameters
    ----------
    spectrum : Spectrum or path
        One Raman spectrum, or a file holding one.
    **options
        As in :func:`analyze_raman_series`.

    Returns
    -------
    RamanResult
        ``error`` is set (and no band fitted) when QC masked the spectrum.

    Examples
    --------
    >>> from naheo_spec.raman.lineshapes import lorentzian
    >>> x = np.linspace(900, 1200, 400)
    >>> s = Spectrum(x, 50 + lorentzian(x, 900, 1087.5, 4.0), axis_kind="raman_shift")
    >>> r = analyze_raman(s, preset="calcite")
    >>> round(r.band("calcite_v1").center_cm1, 2)
    1087.5
    """
    if isinstance(spectrum, (str, Path)):
        spectrum = _read_one(spectrum)
    if not isinstance(spectrum, Spectrum):
        raise InputError(f"analyze_raman takes one Spectrum or the path of a one-spectrum file, "
                         f"got {type(spectrum).__name__}; use analyze_raman_series for stacks",
                         parameter="spectrum")
    return analyze_raman_series(spectrum, **options)[0]
