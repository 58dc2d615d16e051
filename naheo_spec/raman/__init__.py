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

Importing this package is light; numpy-heavy modules are imported by the functions.
"""
