"""naheo_spec: spectroscopy pipelines for sodium-ion layered-oxide cathodes.

Importing the package is light: heavy dependencies (xraylarch, matplotlib, h5py)
are imported only inside the functions that need them.
"""
__version__ = "0.1.0"

from naheo_spec.errors import (  # noqa: E402
    CalibrationError, FitError, InputError, NaheoError, NaheoWarning, ProcessingError,
    QualityWarning, ReadError, RepairWarning, StoreError,
)
from naheo_spec.spectrum import SourceInfo, Spectrum, SpectrumStack  # noqa: E402

__all__ = [
    "__version__", "Spectrum", "SpectrumStack", "SourceInfo", "NaheoError", "ReadError",
    "InputError", "ProcessingError", "FitError", "CalibrationError", "StoreError",
    "NaheoWarning", "RepairWarning", "QualityWarning",
]
