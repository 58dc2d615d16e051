"""What the abscissa of a spectrum is: its physical kind and unit.

Every spectrum in naheo_spec is stored with an ascending axis. The kind says how to read
it: photon energy (XAS), binding or kinetic energy (XPS), Raman shift, or wavelength. The
kind also decides how a plot orients the axis (binding energy decreases to the right, the
XPS convention) and which technique-specific checks apply (the keV heuristic and the
absorption-edge guess run on photon-energy axes only).

Units are ASCII UDUNITS strings (``"eV"``, ``"1/cm"``, ``"nm"``) so that they can be written
to NeXus files unchanged.
"""
from __future__ import annotations

import enum

__all__ = ["AxisKind", "axis_kind"]


class AxisKind(str, enum.Enum):
    """Physical kind of a spectrum's axis.

    Attributes
    ----------
    default_unit : str
        ASCII unit used when a reader does not say otherwise.
    technique : str or None
        Technique the kind belongs to (``"xas"``, ``"xps"``, ``"raman"``), None when
        it does not tell.
    display_descending : bool
        True when plots show the axis decreasing to the right (binding energy).
    label : str
        Axis label for plots and tables, with the unit.

    Examples
    --------
    >>> AxisKind("binding_energy").display_descending
    True
    >>> AxisKind.RAMAN_SHIFT.default_unit
    '1/cm'
    """

    PHOTON_ENERGY = "photon_energy"
    BINDING_ENERGY = "binding_energy"
    KINETIC_ENERGY = "kinetic_energy"
    RAMAN_SHIFT = "raman_shift"
    WAVELENGTH = "wavelength"
    UNKNOWN = "unknown"

    def __str__(self) -> str:          # "binding_energy", not "AxisKind.BINDING_ENERGY"
        return self.value

    @property
    def default_unit(self) -> str:
        return _UNITS[self]

    @property
    def technique(self) -> str | None:
        return _TECHNIQUE[self]

    @property
    def display_descending(self) -> bool:
        return self is AxisKind.BINDING_ENERGY

    @property
    def label(self) -> str:
        unit = _DISPLAY_UNIT.get(self.default_unit, self.default_unit)
        name = self.value.replace("_", " ").capitalize()
        return f"{name} ({unit})" if unit else name


_UNITS = {AxisKind.PHOTON_ENERGY: "eV", AxisKind.BINDING_ENERGY: "eV",
          AxisKind.KINETIC_ENERGY: "eV", AxisKind.RAMAN_SHIFT: "1/cm",
          AxisKind.WAVELENGTH: "nm", AxisKind.UNKNOWN: ""}
_TECHNIQUE = {AxisKind.PHOTON_ENERGY: "xas", AxisKind.BINDING_ENERGY: "xps",
              AxisKind.KINETIC_ENERGY: "xps", AxisKind.RAMAN_SHIFT: "raman",
              AxisKind.WAVELENGTH: None, AxisKind.UNKNOWN: None}
#: How a few ASCII units are written on plots.
_DISPLAY_UNIT = {"1/cm": "cm\u207b\u00b9", "1/angstrom": "\u00c5\u207b\u00b9",
                 "angstrom": "\u00c5"}


def axis_kind(value) -> AxisKind:
    """Coerce a string or :class:`AxisKind` to :class:`AxisKind`.

    Accepts the enum values and a few spellings (``"be"``, ``"ke"``, ``"energy"``,
    ``"shift"``, ``"wavenumber"``), case-insensitively.

    Raises
    ------
    InputError
        Unknown name (the message lists the accepted ones).

    Examples
    --------
    >>> axis_kind("BE")
    <AxisKind.BINDING_ENERGY: 'binding_energy'>
    """
    if isinstance(value, AxisKind):
        return value
    key = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    key = _ALIASES.get(key, key)
    try:
        return AxisKind(key)
    except ValueError:
        from naheo_spec.errors import InputError

        raise InputError(f"axis kind {value!r} is not known; expected one of "
                         f"{', '.join(k.value for k in AxisKind)}") from None


_ALIASES = {"be": "binding_energy", "binding": "binding_energy", "ke": "kinetic_energy",
            "kinetic": "kinetic_energy", "energy": "photon_energy", "photon": "photon_energy",
            "shift": "raman_shift", "raman": "raman_shift", "wavenumber": "raman_shift",
            "lambda": "wavelength"}
