"""SYNTHETIC demo data with known ground truth (``naheo-spec demo``).

Nothing in this subpackage is measured: spectra are computed from physics the project
implements (:mod:`naheo_spec.demo.synthetic`: arctan edge with core-hole broadening, white
line, a foil channel with monochromator drift; :mod:`naheo_spec.demo.exafs_model`: the
EXAFS equation with FEFF6 amplitudes, phases and mean free paths) and are labelled ``metadata["synthetic"] = True`` / :data:`DEMO_LABEL` so that they can never be
mistaken for data. They exist to check the pipelines against a known answer.
"""
from naheo_spec.demo.synthetic import (
                                       DEMO_LABEL,
                                       edge_position,
                                       make_operando_series,
                                       make_standards,
                                       make_xas_spectrum,
                                       simulate_xas,
                                       write_demo_dataset,
)

__all__ = ["DEMO_LABEL", "edge_position", "make_operando_series", "make_standards",
           "make_xas_spectrum", "simulate_xas", "write_demo_dataset"]
