"""Beamtime scale: one config, many files or a stack, several pipelines; resumable.

- :mod:`~naheo_spec.batch.config`: the TOML config;
- :mod:`~naheo_spec.batch.registry`: pipelines plugged in by each technique
  (``naheo_spec/<technique>/batch.py``);
- :mod:`~naheo_spec.batch.runner`: :func:`~naheo_spec.batch.runner.run`, what
  ``naheo-spec batch`` does; :mod:`~naheo_spec.batch.ledger`: the work folder of
  committed chunks; :mod:`~naheo_spec.batch.schedulers`: local, processes, dask;
- :mod:`~naheo_spec.batch.assemble`, :mod:`~naheo_spec.batch.report`,
  :mod:`~naheo_spec.batch.operando`, :mod:`~naheo_spec.batch.watch`: outputs.

Submodules are imported on use (``import naheo_spec.batch`` is light).
"""
