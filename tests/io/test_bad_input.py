"""Unreadable inputs raise ReadError naming the file (and line/column when known);
recoverable ones (reversed, NaN rows, keV, duplicates) are repaired and reported."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import CERIC, LARCH

from naheo_spec.errors import ReadError, RepairWarning
from naheo_spec.io import read_spectra, read_spectrum

pytestmark = pytest.mark.filterwarnings("ignore::naheo_spec.errors.NaheoWarning")

BAD = {
    "empty.dat": (b"", "file is empty"),
    "blank.dat": (b"\n \n\t\n", "file is empty"),
    "header_only.dat": (b"# sample: x\n# energy mu\n", "header only"),
    "prose.txt": (b"This is a lab note.\nNo data was taken today.\n", "no rows of numbers"),
    "one_column.dat": (b"# energy\n" + b"".join(b"%d\n" % (7000 + i) for i in range(10)),
                       "only one column"),
    "ragged.dat": (b"# e mu\n7000 1\n7001 2\n7002 3 4\n7003 4\n7004 5\n7005 6\n",
                   r"line 4\).*unequal length"),
    "bad_value.dat": (b"# e mu\n7000 1\n7001 2\n7002 x3\n7003 4\n7004 5\n7005 6\n",
                      r"line 4, column 2\).*'x3' is not a number"),
    "binary.bin": (bytes(range(256)) * 8, "not a text or HDF5 file"),
    "latin_junk.bin": (bytes(range(128, 256)) * 16, "not a text or HDF5 file"),
    "too_short.dat": (b"# e mu\n7000 1\n7001 2\n7002 3\n", "only 3 data points"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_unreadable_input_raises_read_error(tmp_path, name):
    content, pattern = BAD[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError, match=pattern) as info:
        read_spectra(path)
    assert name in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ReadError, match="nothere.xdi.*not found"):
        read_spectra(tmp_path / "nothere.xdi")


def test_unknown_name_in_expression(xas_data, tmp_path):
    path = xas_data / LARCH / "fe.060"
    with pytest.raises(ReadError) as info:
        read_spectra(path, mu="ln(i0/itrans)")
    msg = str(info.value)
    assert "fe.060" in msg and "'itrans'" in msg and "ln(i0/itrans)" in msg
    assert "energy, i0, it" in msg     # the available columns


def test_bad_expression_syntax(xas_data):
    with pytest.raises(ReadError, match=r"fe\.060.*ref='ln\(it/'.*invalid syntax"):
        read_spectra(xas_data / LARCH / "fe.060", ref="ln(it/")


def test_ambiguous_columns_ask_for_an_expression(tmp_path):
    path = tmp_path / "three.dat"
    rows = "\n".join(f"{7000 + i} {i} {2 * i}" for i in range(10))
    path.write_text("# energy alpha beta\n" + rows + "\n")
    with pytest.raises(ReadError, match=r"three\.dat.*cannot tell which column holds mu.*alpha"):
        read_spectra(path)
    s = read_spectrum(path, mu="beta/alpha + 1")   # works once told
    assert s.source.columns["mu"] == "beta/alpha + 1"


def _ni_xdi_text(xas_data) -> tuple[list[str], np.ndarray]:
    text = (xas_data / LARCH / "ni_metal_rt.xdi").read_text()
    lines = text.splitlines()
    nhead = next(i for i, ln in enumerate(lines) if not ln.startswith("#"))
    return lines[:nhead], np.loadtxt(lines[nhead:])


def _write(path, header, data, fmt="%.6f"):
    body = "\n".join(" ".join(fmt % v for v in row) for row in data)
    path.write_text("\n".join(header) + "\n" + body + "\n")


def _reference(xas_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_spectrum(xas_data / LARCH / "ni_metal_rt.xdi")


def test_reversed_energies_are_sorted(xas_data, tmp_path):
    header, data = _ni_xdi_text(xas_data)
    path = tmp_path / "reversed.xdi"
    _write(path, header, data[::-1])
    with pytest.warns(RepairWarning, match="reversed"):
        s = read_spectrum(path)
    ref = _reference(xas_data)
    np.testing.assert_allclose(s.energy, ref.energy)
    np.testing.assert_allclose(s.mu, ref.mu, atol=1e-6)
    assert any("reversed" in w.message for w in s.warnings)


def test_nan_rows_are_dropped(xas_data, tmp_path):
    header, data = _ni_xdi_text(xas_data)
    data = data.copy()
    data[[10, 200], 1] = np.nan
    path = tmp_path / "nan_rows.xdi"
    _write(path, header, data)
    with pytest.warns(RepairWarning, match="dropped 2 row"):
        s = read_spectrum(path)
    assert s.npts == 418 - 2 and np.all(np.isfinite(s.mu))
    assert any("dropped 2 row" in w.message for w in s.warnings)


def test_kev_energies_are_converted(xas_data, tmp_path):
    header, data = _ni_xdi_text(xas_data)
    data = data.copy()
    data[:, 0] /= 1000.0
    path = tmp_path / "kev.dat"   # plain columns: the keV axis is detected from its values
    _write(path, ["# energy mutrans i0"], data, fmt="%.7f")
    with pytest.warns(RepairWarning, match="keV"):
        s = read_spectrum(path)
    ref = _reference(xas_data)
    np.testing.assert_allclose(s.energy, ref.energy, atol=1e-3)
    assert s.element == "Ni" and s.edge == "K"     # guessed from the converted edge


def test_declared_kev_column_in_xdi(xas_data, tmp_path):
    header, data = _ni_xdi_text(xas_data)
    data = data.copy()
    data[:, 0] /= 1000.0
    header = [h.replace("Column.1: energy eV", "Column.1: energy keV") for h in header]
    path = tmp_path / "kev.xdi"
    _write(path, header, data, fmt="%.7f")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        s = read_spectrum(path)
    assert s.energy[0] == pytest.approx(8133.0, abs=1e-3)
    assert any("declared in keV" in w.message for w in s.warnings)


def test_duplicate_energies_are_merged(xas_data, tmp_path):
    header, data = _ni_xdi_text(xas_data)
    data = np.insert(data, 51, data[50], axis=0)
    path = tmp_path / "dup.xdi"
    _write(path, header, data)
    with pytest.warns(RepairWarning, match="merged 1 duplicated"):
        s = read_spectrum(path)
    assert s.npts == 418


def test_crlf_and_no_space_xdi_marker(xas_data, tmp_path):
    raw = (xas_data / CERIC / "Fe3O4_311.xdi").read_bytes().replace(b"# XDI/", b"#XDI/", 1)
    path = tmp_path / "crlf.xdi"
    path.write_bytes(raw)
    s = read_spectrum(path)
    assert s.source.format == "xdi" and s.reference is not None


def test_csv_input(tmp_path):
    e = np.linspace(8200, 8500, 61)
    mu = 1 / (1 + np.exp(-(e - 8333) / 2))
    path = tmp_path / "data.csv"
    path.write_text("energy,mu\n" + "\n".join(f"{a},{b}" for a, b in zip(e, mu)) + "\n")
    s = read_spectrum(path)
    np.testing.assert_allclose(s.mu, mu)
    assert (s.element, s.edge) == ("Ni", "K")


def test_ambiguous_columns_on_the_cli_name_the_flag(tmp_path, capsys):
    from naheo_spec.cli.main import main

    path = tmp_path / "three.dat"
    rows = "\n".join(f"{7000 + i} {i} {2 * i}" for i in range(10))
    path.write_text("# energy alpha beta\n" + rows + "\n")
    assert main(["info", str(path), "--format", "xas-columns"]) == 1
    err = capsys.readouterr().err
    assert "--mu 'ln(i0/it)'" in err and "mu=" not in err
