"""NeXus/HDF5 store: exact round trips, NeXus layout, atomic and refusing writes, corrupt files."""
from __future__ import annotations

import numpy as np
import pytest

from naheo_spec.errors import InputError, ReadError, StoreError
from naheo_spec.provenance import Provenance, file_sha256
from naheo_spec.records import DataArray, Record
from naheo_spec.store import (
    read_records, record_to_spectrum, spectrum_to_record, write_records,
)

h5py = pytest.importorskip("h5py")

NESTED = {
    "e0": 7118.78,
    "pre_range_eV": (-150.0, -30.0),
    "nnorm": 2,
    "flatten": True,
    "preset": "athena",
    "window": None,
    "tiny": 1e-300,
    "third": 1.0 / 3.0,
    "bad": float("nan"),
    "weights": np.array([0.25, 0.5, 0.25]),
    "ranges": {"k": [3.0, 12.5], "r": (1.0, (2.0, 3.2))},
    "labels": ["TM-O", "TM-TM"],
    "by_index": {0: "first", 1: "second"},
    "complex": 1 + 2j,
}


def _params_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray) and y.dtype == x.dtype and np.array_equal(x, y), key
        elif isinstance(x, float) and np.isnan(x):
            assert isinstance(y, float) and np.isnan(y), key
        else:
            assert type(y) is type(x) and y == x, key


def _record(name, **params):
    e = np.linspace(7000.0, 7300.0, 61)
    return Record(name=name, kind="xanes", summary={"e0_eV": 7118.78, "edge_step": 0.875},
                  provenance=Provenance(step="xas.normalize", parameters=params or {"nnorm": 2},
                                        source_file="x.xdi", source_sha256="ab" * 32),
                  data={"energy": DataArray(e, "eV", "incident energy"),
                        "norm": DataArray(np.tanh((e - 7118.78) / 5.0), "", "normalized mu")},
                  signal="norm", axes=["energy"])


# --- exact round trips --------------------------------------------------------------------------
def test_real_spectrum_round_trips_exactly(feo, feo_path, tmp_path):
    out = tmp_path / "store.h5"
    write_records(out, [spectrum_to_record(feo)])
    (rec,) = read_records(out)
    back = record_to_spectrum(rec)
    # the reader gave the documented file: 473 points 6899.7..7897.0 eV with a foil channel
    assert feo.npts == 473 and feo.energy[0] == pytest.approx(6899.7379)
    assert feo.reference is not None
    for name in ("axis", "signal", "reference"):
        a, b = getattr(feo, name), getattr(back, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert back.metadata == feo.metadata and back.metadata
    assert back.source == feo.source
    assert back.source.sha256 == file_sha256(feo_path)
    assert (back.element, back.edge, back.warnings) == (feo.element, feo.edge, feo.warnings)
    assert rec.provenance.source_sha256 == file_sha256(feo_path)
    # the stored numbers still carry the physics: the raw-grid max-derivative edge of FeO lies
    # within 1 eV of larch's refined 7118.78 eV (notes/xas.md; grid spacing ~0.3-0.6 eV there)
    e_edge = back.energy[np.argmax(np.gradient(back.mu, back.energy))]
    assert e_edge == pytest.approx(7118.78, abs=1.0)


def test_nested_parameters_and_summary_round_trip(tmp_path):
    rec = _record("FeO_xanes", **NESTED)
    rec.summary = {"e0_eV": 7118.78, "ranges": (1, [2, 3]), "flag": False, "note": None}
    out = tmp_path / "p.h5"
    write_records(out, rec)
    (back,) = read_records(out)
    _params_equal(NESTED, back.provenance.parameters)
    assert back.summary == rec.summary and type(back.summary["ranges"]) is tuple
    assert back.provenance.date == rec.provenance.date
    assert back.provenance.version == rec.provenance.version
    assert (back.signal, back.axes, back.kind) == ("norm", ["energy"], "xanes")
    for key, arr in rec.data.items():
        assert np.array_equal(back.data[key].values, arr.values)
        assert (back.data[key].units, back.data[key].long_name) == (arr.units, arr.long_name)


def test_unstorable_parameter_is_named(tmp_path):
    rec = _record("r", callback=object())
    with pytest.raises(StoreError, match="callback"):
        write_records(tmp_path / "x.h5", rec)
    assert not (tmp_path / "x.h5").exists()


# --- NeXus structure -----------------------------------------------------------------------------
def test_nexus_structure_points_at_existing_datasets(feo, tmp_path):
    out = tmp_path / "s.h5"
    write_records(out, [spectrum_to_record(feo, name="FeO"), _record("FeO_xanes")])
    with h5py.File(out, "r") as f:
        assert f.attrs["NX_class"] == "NXroot" and f.attrs["default"] == "FeO"
        assert f.attrs["creator"].startswith("naheo_spec")
        for key in ("file_time", "HDF5_Version"):
            assert f.attrs[key]
        for name in ("FeO", "FeO_xanes"):
            entry = f[name]
            assert entry.attrs["NX_class"] == "NXentry" and entry.attrs["default"] == "data"
            assert entry["process"].attrs["NX_class"] == "NXprocess"
            for key in ("program", "version", "date", "step"):
                assert entry["process"][key].asstr()[()]
            assert entry["summary"].attrs["NX_class"] == "NXcollection"
            nxdata = entry["data"]
            assert nxdata.attrs["NX_class"] == "NXdata"
            signal = nxdata[nxdata.attrs["signal"]]
            axis = nxdata[nxdata.attrs["axes"]]
            assert axis.shape == signal.shape and axis.attrs["units"] == "eV"
            assert nxdata.attrs[f"{nxdata.attrs['axes']}_indices"] == 0
            for ds in nxdata.values():
                assert "units" in ds.attrs and ds.attrs["long_name"]
        assert f["FeO/data"].attrs["signal"] == "mu"
        assert list(f["FeO/data"].attrs["auxiliary_signals"]) == ["reference"]
        assert f["FeO/process/parameters/element"].asstr()[()] == feo.element


def test_silx_sees_a_valid_default_plot(feo, tmp_path):
    nxdata = pytest.importorskip("silx.io.nxdata")
    out = tmp_path / "s.h5"
    write_records(out, spectrum_to_record(feo, name="FeO"))
    with h5py.File(out, "r") as f:
        default = nxdata.get_default(f)
        assert default is not None and default.is_valid
        assert default.signal.name == "/FeO/data/mu" and default.axes_names == ["photon energy"]


def test_stack_signal_axes_padded(tmp_path):
    e = np.linspace(0, 1, 7)
    rec = Record("stack", "xanes_stack", {}, Provenance("s"),
                 data={"energy": DataArray(e, "eV"), "norm": DataArray(np.ones((3, 7)))},
                 signal="norm", axes=["energy"])
    write_records(tmp_path / "s.h5", rec)
    with h5py.File(tmp_path / "s.h5", "r") as f:
        assert list(f["stack/data"].attrs["axes"]) == [".", "energy"]
        assert f["stack/data"].attrs["energy_indices"] == 1
    assert read_records(tmp_path / "s.h5")[0].axes == ["energy"]


def test_axis_not_matching_signal_is_refused(tmp_path):
    rec = _record("bad")
    rec.data["energy"] = DataArray(np.arange(5.0), "eV")
    with pytest.raises(StoreError, match="axis 'energy' has shape"):
        write_records(tmp_path / "x.h5", rec)


# --- refusing and atomic writes ------------------------------------------------------------------
def test_overwrite_refused_by_default(tmp_path):
    out = tmp_path / "s.h5"
    write_records(out, _record("a"))
    before = out.read_bytes()
    with pytest.raises(StoreError, match=r"s\.h5.*exists"):
        write_records(out, _record("b"))
    assert out.read_bytes() == before
    write_records(out, _record("b"), overwrite=True)
    assert [r.name for r in read_records(out)] == ["b"]
    with pytest.raises(InputError, match="not both"):
        write_records(out, _record("c"), overwrite=True, append=True)


@pytest.mark.parametrize("mode", ["overwrite", "append"])
def test_interrupted_write_leaves_good_file(tmp_path, monkeypatch, mode):
    out = tmp_path / "s.h5"
    write_records(out, [_record("a"), _record("b")])
    before = out.read_bytes()
    real = h5py.Group.create_dataset
    calls = {"n": 0}

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 25:  # an entry takes 19 datasets: this fails inside the second one
            raise OSError("disk full (simulated)")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="simulated"):
        write_records(out, [_record("c"), _record("d")], **{mode: True})
    monkeypatch.undo()
    assert calls["n"] == 25
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]
    assert [r.name for r in read_records(out)] == ["a", "b"]


def test_append_adds_entries_and_refuses_duplicates(feo, tmp_path):
    out = tmp_path / "s.h5"
    write_records(out, [spectrum_to_record(feo, name="FeO")])
    write_records(out, [_record("FeO_xanes"), _record("other")], append=True)
    recs = read_records(out)
    assert [r.name for r in recs] == ["FeO", "FeO_xanes", "other"]
    assert np.array_equal(record_to_spectrum(recs[0]).mu, feo.mu)
    with h5py.File(out, "r") as f:
        assert f.attrs["default"] == "FeO" and "file_update_time" in f.attrs
    before = out.read_bytes()
    with pytest.raises(StoreError, match="duplicate entry name 'other'"):
        write_records(out, [_record("new"), _record("other")], append=True)
    with pytest.raises(StoreError, match="duplicate entry name 'x'"):
        write_records(tmp_path / "n.h5", [_record("x"), _record("x")])
    assert out.read_bytes() == before
    # append to a missing file simply creates it
    write_records(tmp_path / "fresh.h5", _record("x"), append=True)
    assert [r.name for r in read_records(tmp_path / "fresh.h5")] == ["x"]


# --- corrupt files --------------------------------------------------------------------------------
def test_random_bytes_file_raises_naming_it(tmp_path):
    from naheo_spec.io import read_spectra

    bad = tmp_path / "noise.h5"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(StoreError, match=r"noise\.h5.*not a readable HDF5"):
        read_records(bad)
    with pytest.raises(ReadError, match=r"noise\.h5.*not a text or HDF5 file"):
        read_spectra(bad)
    with pytest.raises(StoreError, match=r"noise\.h5"):
        write_records(bad, _record("a"), append=True)
    with pytest.raises(StoreError, match="does not exist"):
        read_records(tmp_path / "missing.h5")


def test_truncated_store_raises_naming_it(feo, tmp_path):
    from naheo_spec.io import read_spectra

    good = tmp_path / "good.h5"
    write_records(good, [spectrum_to_record(feo, name="FeO"), _record("FeO_xanes")])
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(StoreError, match=r"cut\.h5"):
        read_records(cut)
    with pytest.raises(ReadError, match=r"cut\.h5"):
        read_spectra(cut)


def test_foreign_nexus_entry_is_not_taken_for_a_record(tmp_path):
    path = tmp_path / "beamline.nxs"
    with h5py.File(path, "w") as f:
        f.create_group("entry").attrs["NX_class"] = "NXentry"
    with pytest.raises(StoreError, match="entry 'entry' is not a naheo_spec record"):
        read_records(path)


def test_read_nexus_returns_the_stored_spectrum(feo, tmp_path):
    from naheo_spec.io import read_spectra

    out = tmp_path / "s.h5"
    write_records(out, [spectrum_to_record(feo, name="FeO"), _record("FeO_xanes")])
    (back,) = read_spectra(out)
    assert np.array_equal(back.energy, feo.energy) and np.array_equal(back.mu, feo.mu)
    assert back.source == feo.source and back.metadata == feo.metadata
