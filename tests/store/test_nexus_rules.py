"""Stores written by the pipelines pass the NeXus checks: names, ASCII units, axes."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from conftest import CERIC, LARCH, REPO

from naheo_spec.cli.main import main
from naheo_spec.store import check_nexus, write_records
from naheo_spec.records import DataArray, Record
from naheo_spec.provenance import Provenance
from naheo_spec.errors import StoreError


def test_xanes_store_with_standards_passes(xas_data, tmp_path, capsys):
    out = tmp_path / "xanes.h5"
    rc = main(["xanes", str(xas_data / CERIC / "MnO.xdi"), str(xas_data / CERIC / "mno2_10m.xdi"),
               "--standards", str(REPO / "reference_spectra" / "xanes_standards" / "mn.toml"),
               "--data-root", str(xas_data.parent), "-o", str(out), "--json"])
    capsys.readouterr()
    assert rc == 0
    assert check_nexus(out) == []
    with h5py.File(out) as f:
        assert "valence_calibration" in f


@pytest.mark.slow
def test_exafs_shell_fit_store_passes(xas_data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NAHEO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "exafs.h5"
    rc = main(["exafs", str(xas_data / LARCH / "NiO.prj"), "--fit", "rocksalt:a=4.1769",
               "--absorber", "Ni", "-o", str(out), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 0 and rows[0]["shell_fit"] is not None
    assert check_nexus(out) == []
    with h5py.File(out) as f:
        entry = f[next(iter(f))]
        # one NXdata per space: chi(R) and chi(k) are different groups
        assert entry["data"].attrs["axes"] == "r" and entry["chi_k"].attrs["axes"] == "k"


def test_store_refuses_names_and_units_that_break_the_rules(tmp_path):
    prov = Provenance(step="test")
    bad_name = Record(name="fit.paths.Ni-Ni", kind="t", summary={}, provenance=prov)
    with pytest.raises(StoreError, match="NeXus naming rule.*fit_paths_Ni_Ni"):
        write_records(tmp_path / "a.h5", bad_name)
    bad_unit = Record(name="ok", kind="t", summary={}, provenance=prov,
                      data={"k": DataArray(np.arange(3.0), "Å⁻¹")}, signal="k")
    with pytest.raises(StoreError, match="ASCII UDUNITS"):
        write_records(tmp_path / "b.h5", bad_unit)
    good = Record(name="ok", kind="t", summary={"fit.paths.Ni-Ni.n": 6.0}, provenance=prov,
                  data={"k": DataArray(np.arange(3.0), "1/angstrom"),
                        "chi": DataArray(np.ones(3), "")}, signal="chi", axes=["k"])
    write_records(tmp_path / "c.h5", good)
    assert check_nexus(tmp_path / "c.h5") == []


def test_sample_and_instrument_groups_from_the_file_header(xas_data, tmp_path, capsys):
    scan = str(xas_data / CERIC / "FeO_311.xdi")
    for cmd, out in (["xanes", tmp_path / "x.h5"], ["convert", tmp_path / "c.h5"]):
        assert main([cmd, scan, "-o", str(out)]) == 0
        capsys.readouterr()
        assert check_nexus(out) == []
        with h5py.File(out) as f:
            entry = f[next(iter(f))]
            assert entry["sample"].attrs["NX_class"] == "NXsample"
            assert entry["instrument"].attrs["NX_class"] == "NXinstrument"
            assert entry["sample/chemical_formula"][()].decode() == "FeO"
            assert entry["instrument/name"][()].decode() == "BM08-GILDA"
            assert entry["instrument/monochromator"][()].decode() == "Si(311)"
