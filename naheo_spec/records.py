"""Record: the one shape every result takes on its way to the store.

Pipeline results (dataclasses in each technique subpackage) provide
``to_record() -> Record``; :mod:`naheo_spec.store` writes Records to NeXus/HDF5
and to flat CSV/JSON tables without knowing about any particular technique.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from naheo_spec.provenance import Provenance


@dataclass
class DataArray:
    """An array with its unit (``""`` for dimensionless) and an optional long name."""

    values: np.ndarray
    units: str = ""
    long_name: str = ""


@dataclass
class Record:
    """A storable result.

    Attributes
    ----------
    name : str
        Entry name, unique within a store file (e.g. ``"FeO_311_xanes"``).
    kind : str
        Pipeline name (``"spectrum"``, ``"xanes"``, ``"exafs"``...).
    summary : dict
        JSON-safe scalars (and short lists) that go to the flat table: the numbers a paper reports.
    data : dict of str to DataArray
        Arrays to plot (axes and signals).
    signal : str or None
        Key in ``data`` of the default plot signal (NXdata ``@signal``).
    axes : list of str
        Keys in ``data`` of the signal's axes (NXdata ``@axes``).
    provenance : Provenance
        Parameters, input file and hash, program version, date.
    """

    name: str
    kind: str
    summary: dict[str, Any]
    provenance: Provenance
    data: dict[str, DataArray] = field(default_factory=dict)
    signal: str | None = None
    axes: list[str] = field(default_factory=list)
