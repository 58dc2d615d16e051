"""SYNTHETIC demo data with known ground truth (``naheo-spec demo``).

Nothing in this subpackage is measured: spectra are computed from a simple physical
model (:mod:`naheo_spec.demo.synthetic`, :mod:`naheo_spec.demo.exafs_model`) and are
labelled ``metadata["synthetic"] = True`` / :data:`DEMO_LABEL` so that they can never be
mistaken for data. They exist to check the pipelines against a known answer.
"""
from naheo_spec.demo.synthetic import (DEMO_LABEL, edge_position, make_operando_series,
                                       make_standards, make_xas_spectrum, simulate_xas,
                                       write_demo_dataset)

__all__ = ["DEMO_LABEL", "edge_position", "make_operando_series", "make_standards",
           "make_xas_spectrum", "simulate_xas", "write_demo_dataset"]
