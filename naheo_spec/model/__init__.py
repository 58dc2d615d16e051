"""The data model shared by every technique.

- :class:`AxisKind`: what an axis is (photon, binding or kinetic energy, Raman shift,
  wavelength) and its unit;
- :class:`Spectrum`: one spectrum, immutable, with channels, sigma, typed acquisition
  settings, header, source and warnings;
- :class:`SpectrumStack`: N spectra on one axis with per-row coordinates, map shape,
  validity mask and sparse per-row warnings;
- :class:`SpectrumCollection`: the blocks of one file, selectable by name or index;
- :class:`XasAcquisition`, :class:`XpsAcquisition`, :class:`RamanAcquisition`.
"""
from naheo_spec.model.acquisition import (
           RamanAcquisition,
           XasAcquisition,
           XpsAcquisition,
)
from naheo_spec.model.axis import AxisKind, axis_kind
from naheo_spec.model.collection import SpectrumCollection
from naheo_spec.model.spectrum import SourceInfo, Spectrum
from naheo_spec.model.stack import SpectrumStack

__all__ = ["AxisKind", "axis_kind", "Spectrum", "SpectrumStack", "SpectrumCollection",
           "SourceInfo", "XasAcquisition", "XpsAcquisition", "RamanAcquisition"]
