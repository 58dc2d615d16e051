"""Formats are recognised by content, not by extension."""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from conftest import CERIC, LARCH, XDL

from naheo_spec.errors import InputError, ReadError
from naheo_spec.io import detect_format


@pytest.mark.parametrize("sub,name,fmt", [
    (LARCH, "ni_metal_rt.xdi", "xdi"),
    (XDL, "Fe_Foil_rt_2016Foils.xdi", "xdi"),     # "#XDI/1.1" without a space
    (CERIC, "FeO_311.xdi", "xdi"),                 # CRLF
    (LARCH, "fe.060", "xas-columns"),
    (LARCH, "fe2o3_rt1.xmu", "xas-columns"),
    (LARCH, "feo_xafs.dat", "xas-columns"),
    (LARCH, "prj_export/NiO__NiO_000.dat", "xas-columns"),
    (LARCH, "NiO.prj", "athena"),
    (LARCH, "Mn.prj", "athena"),
])
def test_real_files(xas_data, sub, name, fmt):
    assert detect_format(xas_data / sub / name) == fmt


def test_content_wins_over_extension(xas_data, tmp_path):
    shutil.copy(xas_data / LARCH / "ni_metal_rt.xdi", tmp_path / "looks_like.prj")
    shutil.copy(xas_data / LARCH / "FeO.prj", tmp_path / "looks_like.xdi")
    (tmp_path / "plain_athena.dat").write_bytes(
        gzip.decompress((xas_data / LARCH / "FeO.prj").read_bytes()))
    assert detect_format(tmp_path / "looks_like.prj") == "xdi"
    assert detect_format(tmp_path / "looks_like.xdi") == "athena"
    assert detect_format(tmp_path / "plain_athena.dat") == "athena"


def test_hdf5_by_magic(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "data.txt"
    with h5py.File(path, "w") as f:
        f["energy"] = np.arange(10.0)
    assert detect_format(path) == "hdf5"


def test_gzip_column_file_is_read_decompressed(xas_data, tmp_path):
    path = tmp_path / "fe2o3.xmu.gz"
    path.write_bytes(gzip.compress((xas_data / LARCH / "fe2o3_rt1.xmu").read_bytes()))
    from naheo_spec.io import read_spectrum

    s = read_spectrum(path)
    plain = read_spectrum(xas_data / LARCH / "fe2o3_rt1.xmu")
    assert s.source.format == "xas-columns"
    np.testing.assert_array_equal(s.mu, plain.mu)


def test_corrupt_gzip_is_refused(tmp_path):
    from naheo_spec.io import read_spectra

    path = tmp_path / "broken.prj"
    path.write_bytes(gzip.compress(b"# Athena project file\n" * 50)[:30])
    with pytest.raises(ReadError, match="broken.prj"):
        read_spectra(path)


def test_binary_and_directories(tmp_path):
    junk = tmp_path / "junk.xdi"
    junk.write_bytes(b"\x00\x01\x02garbage" * 50)
    with pytest.raises(ReadError, match="junk.xdi: not a recognised spectroscopy file"):
        detect_format(junk)
    with pytest.raises(ReadError, match="is a directory"):
        detect_format(tmp_path)


def test_latin1_header_is_text(tmp_path):
    path = tmp_path / "latin1.dat"
    rows = "".join(f"{7000 + i} {i}\n" for i in range(10))
    path.write_bytes("# T = 25 °C, µ in a.u.\n# energy mu\n".encode("latin-1") + rows.encode())
    assert detect_format(path) == "xas-columns"


def test_unknown_forced_format(xas_data):
    from naheo_spec.io import read_spectra

    with pytest.raises(InputError, match="format 'spec' is not known"):
        read_spectra(xas_data / LARCH / "fe.060", format="spec")
    s = read_spectra(xas_data / LARCH / "ni_metal_rt.xdi", format="ascii")[0]
    assert s.source.format == "xas-columns" and s.source.columns["mu"] == "mutrans"


def test_utf16_text(tmp_path):
    path = tmp_path / "utf16.dat"
    rows = "".join(f"{8300 + i} {np.arctan(i - 30)}\n" for i in range(60))
    path.write_bytes(("# energy mu\n" + rows).encode("utf-16"))
    assert detect_format(path) == "xas-columns"


def test_hdf5_dispatch_and_expressions_rejected(tmp_path):
    h5py = pytest.importorskip("h5py")
    from naheo_spec.io import read_spectra

    e = np.linspace(8200, 8500, 151)
    path = tmp_path / "scan.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("scan1")
        g["energy"] = e
        g["mu"] = np.arctan(e - 8333.0)
    with pytest.raises(InputError, match="scan.h5: option mu= does not apply to 'hdf5'") as info:
        read_spectra(path, mu="ln(i0/it)")
    assert info.value.parameter == "mu"
    with pytest.warns(Warning, match="guessed Ni K"):
        (s,) = read_spectra(path)
    assert s.source.format == "hdf5" and (s.element, s.edge) == ("Ni", "K")
