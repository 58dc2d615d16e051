"""Generic HDF5/NeXus reading (naheo_spec.io.nexus) on files built from real measured spectra."""
from __future__ import annotations

import numpy as np
import pytest

from naheo_spec.errors import ReadError, RepairWarning
from naheo_spec.io import read_spectra
from naheo_spec.xas.readers.hdf5 import read_hdf5_stack
from naheo_spec.provenance import file_sha256

h5py = pytest.importorskip("h5py")

XDL = "XraySpectroscopy__XASDataLibrary"
# XDL Mn K-edge XANES, SSRL 4-3, all on one 217-point grid; formal oxidation state in order
MN_FILES = ("MnO_rt_01.xdi", "Mn3O4_rt_01.xdi", "Mn2O3_rt_01.xdi", "MnO2_rt_01.xdi")


@pytest.fixture(scope="module")
def mn_series(xas_data):
    """energy (217,), mu (4, 217) = ln(i0/it), reference (4, 217) = ln(it/ir)."""
    cols = [np.loadtxt(xas_data / XDL / name) for name in MN_FILES]
    energy = cols[0][:, 0]
    assert all(np.array_equal(c[:, 0], energy) for c in cols)
    mu = np.vstack([np.log(c[:, 1] / c[:, 2]) for c in cols])
    ref = np.vstack([np.log(c[:, 2] / c[:, 3]) for c in cols])
    return energy, mu, ref


def _edge(energy, mu):
    return energy[np.argmax(np.gradient(mu, energy))]


def _write_stack(path, energy, mu, ref, group="scans"):
    with h5py.File(path, "a") as f:
        g = f.create_group(group)
        g.attrs["element"] = "Mn"
        g.attrs["edge"] = "K"
        g["energy"] = energy
        g["energy"].attrs["units"] = "eV"
        g["mu"] = mu
        g["murefer"] = ref


def test_nxdata_1d_kev_reversed_and_linked_read_once(feo, tmp_path):
    path = tmp_path / "feo.nxs"
    with h5py.File(path, "w") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        mono = entry.create_group("instrument/mono")
        mono["energy"] = feo.energy[::-1] / 1000.0  # keV, decreasing: both must be repaired
        mono["energy"].attrs["units"] = "keV"
        mono["mu"] = feo.mu[::-1]
        data = entry.create_group("data")
        data.attrs.update({"NX_class": "NXdata", "signal": "absorbance", "axes": ["photon_E"]})
        data["absorbance"] = mono["mu"]  # hard links, as beamline NeXus files do
        data["photon_E"] = mono["energy"]
    with pytest.warns(RepairWarning) as rec:
        spectra = read_spectra(path)
    assert len(spectra) == 1  # the same dataset via two groups is one spectrum
    (s,) = spectra
    messages = " ".join(str(w.message) for w in rec)
    assert "keV" in messages and "revers" in messages
    assert s.warnings and any("keV" in w.message for w in s.warnings)
    np.testing.assert_allclose(s.energy, feo.energy, rtol=1e-15, atol=1e-9)
    assert np.array_equal(s.mu, feo.mu)
    assert s.source.format == "hdf5" and s.source.scan == "/entry/data"
    assert s.source.sha256 == file_sha256(path) and s.source.path == str(path)
    assert s.source.columns == {"energy": "/entry/data/photon_E", "mu": "/entry/data/absorbance"}
    assert _edge(s.energy, s.mu) == pytest.approx(7118.78, abs=1.0)


@pytest.mark.parametrize("transpose", [False, True])
def test_2d_group_gives_one_spectrum_per_row_and_a_stack(mn_series, tmp_path, transpose):
    energy, mu, ref = mn_series
    path = tmp_path / "mn_series.h5"
    _write_stack(path, energy, mu.T if transpose else mu, ref.T if transpose else ref)

    spectra = read_spectra(path)
    assert [s.source.scan for s in spectra] == [f"/scans[{i}]" for i in range(4)]
    for i, s in enumerate(spectra):
        assert np.array_equal(s.energy, energy) and np.array_equal(s.mu, mu[i])
        assert np.array_equal(s.reference, ref[i])
        assert (s.element, s.edge) == ("Mn", "K") and s.warnings == ()
    stack = read_hdf5_stack(path)
    assert stack.signals.shape == (4, 217)
    assert np.array_equal(stack.signals, mu) and np.array_equal(stack.references, ref)
    assert stack[2].source.scan == "/scans[2]" and stack.source.sha256 == file_sha256(path)
    # physics: the max-derivative edge climbs with Mn oxidation state 2 < 2.67 < 3 < 4, and MnO
    # sits within 1 eV of the CERIC MnO value 6544.0 eV (notes/xas.md)
    edges = [_edge(stack.energy, row) for row in stack.signals]
    assert np.all(np.diff(edges) > 1.0), edges
    assert edges[0] == pytest.approx(6544.0, abs=1.0)


def test_stack_needs_a_group_when_ambiguous(mn_series, tmp_path):
    energy, mu, ref = mn_series
    path = tmp_path / "two.h5"
    _write_stack(path, energy, mu, ref, group="a")
    _write_stack(path, energy, mu[:2], ref[:2], group="b")
    with pytest.raises(ReadError, match=r"two\.h5.*found 2 .*stacks.*'/a/mu', '/b/mu'.*dataset="):
        read_hdf5_stack(path)
    assert len(read_hdf5_stack(path, group="b")) == 2
    assert len(read_spectra(path)) == 6
    with pytest.raises(ReadError, match="dataset '/c' is not"):
        read_hdf5_stack(path, group="c")


def test_file_without_spectra_raises_naming_file_and_expectation(tmp_path):
    path = tmp_path / "images.h5"
    with h5py.File(path, "w") as f:
        f["entry/image"] = np.zeros((4, 4))
        f["entry/x"] = np.arange(3.0)  # energy-like name but nothing measured on it
    with pytest.raises(ReadError, match=r"images\.h5: no spectrum found; expected .*energy"):
        read_spectra(path)
    with pytest.raises(ReadError, match=r"images\.h5"):
        read_hdf5_stack(path)
