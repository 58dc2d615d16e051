"""Raman pipeline: readers, quality control, spike removal, baselines, band fits, indicators.

One module per step (see ``docs/architecture.md``):

- :mod:`~naheo_spec.raman.readers` -- LabSpec text (single and matrix), two-column text/CSV,
  RRUFF, JASCO, Renishaw ``.wdf``, Galactic ``.spc``; ``.l6s``/``.spe``/LabSpec XML refused;
- :mod:`~naheo_spec.raman.coordinates` -- time/potential/exposure from a CSV or file names;
- :mod:`~naheo_spec.raman.qc` -- masks for empty, all-zero, saturated, spike-dominated spectra;
- :mod:`~naheo_spec.raman.calibration` -- shift-axis offset against Si or polystyrene;
- :mod:`~naheo_spec.raman.despike` -- Whitaker-Hayes and neighbour-frame spike removal;
- :mod:`~naheo_spec.raman.baseline` -- pybaselines fitters, one per axis;
- :mod:`~naheo_spec.raman.presets`, :mod:`~naheo_spec.raman.lineshapes`,
  :mod:`~naheo_spec.raman.fit` -- band presets (TOML), peak shapes, vectorized fits;
- :mod:`~naheo_spec.raman.indicators` -- carbonate index, detection, A1g/Eg, series tables;
- :mod:`~naheo_spec.raman.pipeline` -- :func:`analyze_raman` and :func:`analyze_raman_series`.

Importing this package is light; the entry points below are loaded on first use.

Examples
--------
>>> import naheo_spec.raman as raman
>>> raman.load_preset("layered-oxide").band("E2g").name
'eg'
"""

_LAZY = {"analyze_raman": "pipeline", "analyze_raman_series": "pipeline",
         "load_preset": "presets", "calibrate_axis": "calibration",
         "join_coordinates": "coordinates", "read_coordinates": "coordinates"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
