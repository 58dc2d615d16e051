"""Helpers shared by the EXAFS tests: published CIFs from the AMCSD copy that ships with
larixite (installed with xraylarch), so crystallographic distances can be checked offline."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def amcsd_cif(tmp_path_factory):
    """``amcsd_cif(id)`` writes AMCSD entry ``id`` to a temporary .cif and returns its path."""
    with warnings.catch_warnings():  # larixite/larch change global warning filters on import
        amcsd = pytest.importorskip("larixite.amcsd")
    db_path = Path(amcsd.__file__).with_name("amcsd_cif1.db")
    if not db_path.is_file():
        pytest.skip("larixite's AMCSD database is not installed")
    db = amcsd.AMCSD(str(db_path), read_only=True)
    folder = tmp_path_factory.mktemp("cif")

    def get(cif_id: int) -> Path:
        p = folder / f"amcsd_{cif_id}.cif"
        if not p.exists():
            p.write_text(db.get_cif(cif_id).ciftext)
        return p

    return get


def cif_distances(cif, absorber, rmax=3.3):
    """(mean absorber-O, shortest absorber-absorber) distance of a CIF structure, A."""
    from naheo_spec.xas.structures import cluster, from_cif

    atoms = cluster(from_cif(cif), absorber, rmax)
    d = [(math.dist((0, 0, 0), a[1:]), a[0]) for a in atoms[1:]]
    return (float(np.mean([x for x, el in d if el == "O"])),
            float(min(x for x, el in d if el == absorber)))
