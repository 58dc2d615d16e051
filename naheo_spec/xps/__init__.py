"""XPS: readers, charge referencing, backgrounds, line shapes, component models, fits,
valence fractions and quantification for layered-oxide cathodes.

One module per step (see ``docs/architecture.md``):

- :mod:`naheo_spec.xps.readers`: VAMAS (REGULAR/IRREGULAR), SPECS Prodigy ``.xy``,
  Thermo Avantage CSV, two-column text (registered formats);
- :mod:`naheo_spec.xps.spectra`: region names, noise estimates, BE/KE conversion;
- :mod:`naheo_spec.xps.background`: linear, Shirley, active Shirley, Tougaard U2/U3;
- :mod:`naheo_spec.xps.lineshapes`: CasaXPS GL/SGL/LA/LF, pseudo-Voigt, Voigt, DS(x)G;
- :mod:`naheo_spec.xps.models`: TOML component models, doublets, satellites, templates;
- :mod:`naheo_spec.xps.fit`: the vectorized least-squares fit;
- :mod:`naheo_spec.xps.charge`: charge referencing (C 1s, O 1s, given shift);
- :mod:`naheo_spec.xps.valence`: valence fractions, mean oxidation state, error budget;
- :mod:`naheo_spec.xps.quantify`: atomic %, IMFP (TPP-2M), Li detection limit, charge balance;
- :mod:`naheo_spec.xps.casa`: CasaXPS ``CASA region``/``CASA comp`` lines;
- :mod:`naheo_spec.xps.pipeline`: one call per region, results with JSON/store/repr.

Importing this package is light (numpy only where needed).
"""
