"""``[raman]`` in a ``naheo-spec batch`` config: band fits and carbonate indicators of every
Raman spectrum (single files, and every row of LabSpec/WiRE series and maps).

A thin adapter over :func:`naheo_spec.raman.pipeline.analyze_raman`: the numbers are those
of ``naheo-spec raman`` on the same spectrum.

Config keys: ``preset`` (a shipped preset name or a TOML path relative to the config;
default ``"layered-oxide"``), ``baseline`` (default ``"arpls"``), ``calibrate_si`` (a Si or
polystyrene spectrum of the same instrument, relative to the config: its offset is applied
to every spectrum), ``snr_threshold``, ``despike`` (default true).
"""
from __future__ import annotations

from pathlib import Path

from naheo_spec.batch.registry import Column, PipelineSpec, Prepared, ScanOutput
from naheo_spec.errors import InputError

#: Bands of the layered-oxide preset reported as columns (NaN when a preset lacks one).
_BANDS = ("eg", "a1g", "band_680")

COLUMNS = (
    Column("carbonate_index", "", "carbonate area / (Eg + A1g) area (relative indicator)"),
    Column("carbonate_index_err", "", "its uncertainty"),
    Column("carbonate_detected", "", "1 when a carbonate band is detected (SNR), else 0"),
    Column("carbonate_upper_limit", "", "upper limit of the index when not detected"),
    Column("a1g_eg_ratio", "", "A1g / Eg area ratio"),
    Column("a1g_eg_ratio_err", "", "its uncertainty"),
    Column("spikes_removed", "", "points replaced by the despiking"),
    *(c for b in _BANDS for c in (
        Column(f"{b}_center_cm1", "1/cm", f"{b} band centre"),
        Column(f"{b}_center_err_cm1", "1/cm", f"{b} band centre uncertainty"),
        Column(f"{b}_fwhm_cm1", "1/cm", f"{b} band FWHM"),
        Column(f"{b}_area", "", f"{b} band area"),
        Column(f"{b}_area_err", "", f"{b} band area uncertainty"))),
)

OPTIONS = {
    "preset": "band preset: layered-oxide, in-situ, carbonate, calcite or a TOML path",
    "baseline": "arpls (default), asls, airpls, snip or modpoly",
    "calibrate_si": "Si or polystyrene spectrum of the same instrument: offset applied",
    "snr_threshold": "detection threshold on the data's own signal-to-noise (default 3)",
    "despike": "remove cosmic-ray spikes (default true)",
}


def prepare(options: dict, base_dir: Path) -> Prepared:
    """Validate the ``[raman]`` table; load the preset and measure the axis offset once."""
    from naheo_spec.provenance import file_sha256
    from naheo_spec.raman.presets import load_preset

    preset = options.get("preset", "layered-oxide")
    preset_sha = None
    if str(preset).endswith(".toml"):
        path = (Path(base_dir) / preset).resolve()
        if not path.is_file():
            raise InputError(f"[raman] preset = {preset!r}: file not found ({path})")
        preset, preset_sha = str(path), file_sha256(path)
    load_preset(preset)                                # raises on an unknown preset
    calibration, cal_sha = None, None
    if options.get("calibrate_si"):
        from naheo_spec.io import read_spectrum
        from naheo_spec.raman.calibration import calibrate_axis

        path = (Path(base_dir) / options["calibrate_si"]).resolve()
        if not path.is_file():
            raise InputError(f"[raman] calibrate_si = {options['calibrate_si']!r}: file not "
                             f"found ({path})")
        calibration = calibrate_axis(read_spectrum(path, technique="raman"))
        cal_sha = file_sha256(path)
    kwargs = {"preset": preset, "baseline": options.get("baseline", "arpls"),
              "despike": bool(options.get("despike", True))}
    if options.get("snr_threshold") is not None:
        kwargs["snr_threshold"] = float(options["snr_threshold"])
    params = {**kwargs, "preset_sha256": preset_sha, "calibrate_si_sha256": cal_sha,
              "axis_offset_cm1": None if calibration is None else calibration.offset_cm1}
    return Prepared(parameters=params, payload={"kwargs": kwargs, "calibration": calibration})


def run_scan(spectrum, prepared: Prepared) -> ScanOutput:
    """:func:`~naheo_spec.raman.pipeline.analyze_raman` on one spectrum."""
    from naheo_spec.raman.pipeline import analyze_raman

    res = analyze_raman(spectrum, calibration=prepared.payload["calibration"],
                        **prepared.payload["kwargs"])
    if res.error:
        raise InputError(res.error)                 # a masked spectrum: recorded as failed
    values = {"carbonate_index": res.carbonate_index,
              "carbonate_index_err": res.carbonate_index_err,
              "carbonate_detected": float(res.carbonate_detected),
              "carbonate_upper_limit": res.carbonate_upper_limit,
              "a1g_eg_ratio": res.a1g_eg_ratio, "a1g_eg_ratio_err": res.a1g_eg_ratio_err,
              "spikes_removed": float(res.spikes_removed)}
    for b in res.bands:
        if b.name in _BANDS:
            values.update({f"{b.name}_center_cm1": b.center_cm1,
                           f"{b.name}_center_err_cm1": b.center_err_cm1,
                           f"{b.name}_fwhm_cm1": b.fwhm_cm1, f"{b.name}_area": b.area,
                           f"{b.name}_area_err": b.area_err})
    return ScanOutput(values=values, record=res.to_record(), warnings=tuple(res.warnings))


PIPELINE = PipelineSpec(name="raman", technique="raman",
                        description="Raman: despiking, baseline, band fits, carbonate index "
                                    "and A1g/Eg ratio of every spectrum",
                        options=OPTIONS, columns=COLUMNS, prepare=prepare, run_scan=run_scan,
                        version="1")
