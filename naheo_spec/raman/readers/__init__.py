"""Raman file formats (discovered by :mod:`naheo_spec.io.registry`)."""
