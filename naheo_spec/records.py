"""Record: the one shape every result takes on its way to the store.

Pipeline results (dataclasses in each technique subpackage) provide
``to_record() -> Record``; :mod:`naheo_spec.store` writes Records to NeXus/HDF5
and to flat CSV/JSON tables without knowing about any particular technique.

NeXus conventions the store enforces (so every producer follows them):

- names (record, data keys, group names) follow the NeXus naming rule: letters, digits
  and ``_``, not starting with a digit (:func:`nexus_name` turns any label into one);
- units are ASCII UDUNITS strings (``"eV"``, ``"1/angstrom"``, ``"angstrom^2"``,
  ``"1/cm"``, ``"counts/s"``);
- one NXdata per space: arrays on different axes (k and R, a spectrum and its per-scan
  numbers) go to different :class:`DataGroup` objects.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from naheo_spec.provenance import Provenance

__all__ = ["DataArray", "DataGroup", "Record", "nexus_name", "NEXUS_NAME"]

#: The NeXus naming rule used here (no ``.`` or ``-`` inside names).
NEXUS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def nexus_name(text: str) -> str:
    """A NeXus-valid name for ``text``: other characters become ``_`` (runs collapsed), a
    leading digit gets a ``_`` prefix, empty becomes ``"unnamed"``.

    Examples
    --------
    >>> nexus_name("fit.paths.Ni-Ni.n"), nexus_name("NiO.prj:NiO 000"), nexus_name("2p")
    ('fit_paths_Ni_Ni_n', 'NiO_prj_NiO_000', '_2p')
    """
    name = re.sub(r"[^A-Za-z0-9_]+", "_", str(text)).strip("_")
    if not name:
        return "unnamed"
    return f"_{name}" if name[0].isdigit() else name


@dataclass
class DataArray:
    """An array with its ASCII unit (``""`` for dimensionless) and an optional long name."""

    values: np.ndarray
    units: str = ""
    long_name: str = ""


@dataclass
class DataGroup:
    """Arrays that share axes: written as one NXdata group.

    Attributes
    ----------
    data : dict of str to DataArray
        The arrays (signal, axes, auxiliary signals of the same shape, errors).
    signal : str or None
        Key of the default plot signal.
    axes : list of str
        Keys of the signal's axes, one per dimension (``"."`` for a dimension without one).
    title : str
        What the group shows.
    """

    data: dict[str, DataArray] = field(default_factory=dict)
    signal: str | None = None
    axes: list[str] = field(default_factory=list)
    title: str = ""


@dataclass
class Record:
    """A storable result.

    Attributes
    ----------
    name : str
        Entry name, unique within a store file, following the NeXus rule
        (e.g. ``"FeO_311_xanes"``; see :func:`nexus_name`).
    kind : str
        Pipeline name (``"spectrum"``, ``"xanes"``, ``"exafs"``...).
    summary : dict
        JSON-safe scalars (and short lists) that go to the flat table: the numbers a paper
        reports.
    data : dict of str to DataArray
        Arrays of the default NXdata group ``data``.
    signal : str or None
        Key in ``data`` of the default plot signal (NXdata ``@signal``).
    axes : list of str
        Keys in ``data`` of the signal's axes (NXdata ``@axes``).
    provenance : Provenance
        Parameters, input file and hash, program version, date.
    groups : dict of str to DataGroup
        Further NXdata groups (another space: chi(R) beside chi(k), a fit beside its data).
    definition : str, optional
        NeXus application definition the entry follows where one fits (``"NXxas"``).
    sample, instrument : dict
        Scalars for NXsample / NXinstrument (from the file's metadata), when known.
    """

    name: str
    kind: str
    summary: dict[str, Any]
    provenance: Provenance
    data: dict[str, DataArray] = field(default_factory=dict)
    signal: str | None = None
    axes: list[str] = field(default_factory=list)
    groups: dict[str, DataGroup] = field(default_factory=dict)
    definition: str | None = None
    sample: dict[str, Any] = field(default_factory=dict)
    instrument: dict[str, Any] = field(default_factory=dict)

    def all_groups(self) -> dict[str, DataGroup]:
        """The default group ``data`` (when it holds arrays) and :attr:`groups`."""
        out = {}
        if self.data:
            out["data"] = DataGroup(self.data, self.signal, list(self.axes))
        out.update(self.groups)
        return out


#: File metadata keys (XDI-style, lower case) written to NXsample / NXinstrument.
SAMPLE_FIELDS = {"name": "sample.name", "chemical_formula": "sample.formula",
                 "temperature": "sample.temperature", "preparation": "sample.prep"}
INSTRUMENT_FIELDS = {"name": "beamline.name", "source_name": "facility.name",
                     "source_type": "facility.xray_source", "monochromator": "mono.name",
                     "monochromator_d_spacing": "mono.d_spacing"}


def nexus_sample_instrument(metadata, acquisition=None) -> tuple[dict, dict]:
    """NXsample and NXinstrument scalars from a spectrum's metadata and acquisition settings.

    Parameters
    ----------
    metadata : mapping
        The spectrum's metadata (XDI-style keys such as ``sample.formula``,
        ``beamline.name``; other keys are ignored).
    acquisition : XasAcquisition, XpsAcquisition or RamanAcquisition, optional
        Its scalar fields (photon energy, pass energy, laser wavelength, measurement
        mode...) are added to the instrument, names as in the dataclass (units in the
        names, e.g. ``laser_wavelength_nm``).

    Returns
    -------
    sample, instrument : dict
        Only the fields that are known; empty dicts when nothing is (no group is written).

    References
    ----------
    NeXus base classes NXsample and NXinstrument:
    https://manual.nexusformat.org/classes/base_classes/NXsample.html

    Examples
    --------
    >>> nexus_sample_instrument({"sample.formula": "FeO", "beamline.name": "BM08"})
    ({'chemical_formula': 'FeO'}, {'name': 'BM08'})
    """
    md = {str(k).lower(): v for k, v in dict(metadata or {}).items()}
    sample = {f: md[k] for f, k in SAMPLE_FIELDS.items() if md.get(k) not in (None, "")}
    instrument = {f: md[k] for f, k in INSTRUMENT_FIELDS.items() if md.get(k) not in (None, "")}
    if acquisition is not None:
        for k, v in acquisition.to_dict().items():
            if isinstance(v, (str, int, float, bool)) and k not in instrument:
                if k == "beamline":
                    instrument.setdefault("name", v)
                else:
                    instrument[k] = v
    return sample, instrument

