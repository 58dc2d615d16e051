"""naheo_spec: spectroscopy pipelines for sodium-ion layered-oxide cathodes.

Importing the package is light: heavy dependencies (xraylarch, matplotlib, h5py, scipy,
lmfit) are imported only inside the functions that need them.
"""
__version__ = "0.2.0.dev0"

from naheo_spec.diagnostics import WarningCode, WarningRecord  # noqa: E402
from naheo_spec.errors import (  # noqa: E402
    CalibrationError,
    DefaultAdjustedWarning,
    FitError,
    InputError,
    NaheoError,
    NaheoWarning,
    ProcessingError,
    QualityWarning,
    ReadError,
    RepairWarning,
    StoreError,
)
from naheo_spec.model import (  # noqa: E402
    AxisKind,
    RamanAcquisition,
    SourceInfo,
    Spectrum,
    SpectrumCollection,
    SpectrumStack,
    XasAcquisition,
    XpsAcquisition,
)

__all__ = [
    "__version__", "Spectrum", "SpectrumStack", "SpectrumCollection", "SourceInfo", "AxisKind",
    "XasAcquisition", "XpsAcquisition", "RamanAcquisition", "WarningCode", "WarningRecord",
    "NaheoError", "ReadError", "InputError", "ProcessingError", "FitError", "CalibrationError",
    "StoreError", "NaheoWarning", "RepairWarning", "QualityWarning", "DefaultAdjustedWarning",
]
