"""Raman readers on every real file in shared/data/raman, and on bad input."""
from __future__ import annotations

import numpy as np
import pytest

from naheo_spec.errors import InputError, ReadError
from naheo_spec.io import read, read_spectrum, read_stack
from naheo_spec.model import Spectrum, SpectrumStack

from raman.conftest import ANATASE, LABSPEC, RAMAN, RENISHAW, WIRE, quiet

#: Every text, .wdf and .spc file (and the other binaries) of the shared folder: the format
#: that must read it, or the words of the refusal.
EXPECTED = {
    "aaroncelestian__RamanLab/Cymato_LA57434-2_94_GI01_map.txt": "raman-matrix",
    "charlesll__rampy/BD1469.txt": "raman-xy",
    "charlesll__rampy/LS4.txt": "jasco",
    "charlesll__rampy/NS4.txt": "raman-xy",
    "charlesll__rampy/VG186_0__X_19996.5__Y_-20032__Time_0.txt": "raman-xy",
    "charlesll__rampy/VG186_2__X_20013__Y_-20055__Time_288.txt": "raman-xy",
    "charlesll__rampy/VG186_3__X_20030.8__Y_-20026.4__Time_433.txt": "raman-xy",
    "h2020charisma__ramanchada2/Horiba/PST10_iR785_OP01_8000msx8.l6s": "refused: closed binary",
    "h2020charisma__ramanchada2/Horiba/PST10_iR785_OP01_8000msx8.txt": "raman-xy",
    "h2020charisma__ramanchada2/PrincetonInstruments/S0N_50x.spe": "refused: camera frames",
    f"{RENISHAW}.spc": "spc",
    f"{RENISHAW}.txt": "raman-xy",
    f"{RENISHAW}.wdf": "wdf",
    "h2020charisma__ramanchada2/Witec/PST_WITEcAlpha532_100x_075_10000ms_000_Spec.Data_1.spc":
        "spc",
    "h2020charisma__ramanchada2/Witec/PST_WiICV532_Z050OP02_075_800msx10.txt": "raman-xy",
    ANATASE: "rruff",
    "hyperspy__rosettasciio/jobinyvon/jobinyvon_test_spec.xml": "refused: LSX tree",
    "hyperspy__rosettasciio/jobinyvon/jobinyvon_test_spec_3s_cm-1.xml": "refused: LSX tree",
    "hyperspy__rosettasciio/renishaw/renishaw_test_linescan.wdf": "wdf",
    "hyperspy__rosettasciio/renishaw/renishaw_test_map.wdf": "wdf",
    "hyperspy__rosettasciio/renishaw/renishaw_test_spectrum.wdf": "wdf",
    "hyperspy__rosettasciio/renishaw/renishaw_test_timeseries.wdf": "wdf",
    f"{LABSPEC}/532nm-191216-Si_200mu.txt": "labspec",
    f"{LABSPEC}/SMC1-Initial_RT.txt": "labspec",
    f"{LABSPEC}/lasertest1.txt": "labspec",
    f"{LABSPEC}/serie190214-1.txt": "labspec",
    f"{WIRE}/depth.wdf": "wdf",
    f"{WIRE}/line.wdf": "wdf",
    f"{WIRE}/sp.wdf": "wdf",
    f"{WIRE}/undefined.wdf": "refused: refusing to guess",
}


def test_expected_covers_every_data_file(raman_data):
    found = {p.relative_to(raman_data).as_posix() for p in raman_data.rglob("*")
             if p.is_file() and p.suffix in (".txt", ".wdf", ".spc", ".l6s", ".spe", ".xml")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_every_file_reads_or_is_refused_with_a_reason(raman_data, rel):
    want = EXPECTED[rel]
    path = raman_data / rel
    if want.startswith("refused"):
        with pytest.raises(ReadError) as exc:
            quiet(read, path, technique="raman")
        assert str(path) in str(exc.value) and want.split(": ")[1] in str(exc.value)
        return
    coll = quiet(read, path, technique="raman")
    assert coll.format == want
    for block in coll:
        assert block.axis_kind.value == "raman_shift" and block.axis_unit == "1/cm"
        assert np.all(np.diff(block.axis) > 0)
        assert block.source.sha256 and block.source.path == str(path)


def test_calcite_in_three_formats_gives_the_same_spectrum(raman_data):
    w, s, t = (quiet(read_spectrum, raman_data / f"{RENISHAW}{e}", technique="raman")
               for e in (".wdf", ".spc", ".txt"))
    # the .txt export is the .wdf to its 6 printed decimals
    np.testing.assert_allclose(t.axis, w.axis, atol=6e-7)
    np.testing.assert_allclose(t.signal, w.signal, atol=6e-7)
    # the .spc holds the same spectrum resampled by WiRE onto an evenly spaced axis with the
    # same end points: equal to the .wdf linearly interpolated (float32 rounding)
    assert s.metadata["evenly_spaced_axis"] is True
    assert s.axis[0] == pytest.approx(w.axis[0], abs=1e-3)
    assert s.axis[-1] == pytest.approx(w.axis[-1], abs=1e-3)
    resampled = np.interp(s.axis, w.axis, w.signal)
    assert np.max(np.abs(s.signal - resampled)) < 2e-5 * w.signal.max()
    # the evenly spaced grid is far from the detector's pixel positions mid-range
    assert np.max(np.abs(s.axis - w.axis)) > 30
    assert w.acquisition.laser_wavelength_nm == pytest.approx(785.0, abs=0.1)
    assert s.acquisition.laser_wavelength_nm == 785.0


def test_labspec_header_series_and_vendor_processing(raman_data):
    s = quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman")
    acq = s.acquisition
    assert (acq.laser_wavelength_nm, acq.exposure_s, acq.accumulations) == (532.0, 120.0, 2)
    assert "spike filter: Multiple accum." in acq.vendor_processing
    assert "baseline subtracted" not in acq.vendor_processing
    assert s.metadata["Title"] == "D_1" and "Detector temperature (°C)" in s.metadata
    st = quiet(read_stack, raman_data / LABSPEC / "serie190214-1.txt", technique="raman")
    assert st.signals.shape == (168, 1024)
    assert st.coordinate_units["time"] == "s"
    assert st.coordinates["time"][:3] == pytest.approx([0.0, 59.8802, 119.76])
    assert int(np.all(st.signals == 0, axis=1).sum()) == 58
    lt = quiet(read_stack, raman_data / LABSPEC / "lasertest1.txt", technique="raman")
    assert "baseline subtracted" in lt.acquisition.vendor_processing
    assert list(lt.coordinates) == ["index"] and lt.coordinates["index"].tolist() == [1, 2, 3]


def test_wdf_nm_axis_converted_with_stored_laser(raman_data):
    s = quiet(read_spectrum, raman_data / "hyperspy__rosettasciio/renishaw/renishaw_test_spectrum.wdf",
              technique="raman")
    assert s.acquisition.laser_wavelength_nm == pytest.approx(325.0, abs=0.01)
    lo_nm, hi_nm = 326.01633, 328.98077          # the stored x range in nm
    expect = sorted(1e7 / 325.0003332522948 - 1e7 / np.array([lo_nm, hi_nm]))
    assert [s.axis[0], s.axis[-1]] == pytest.approx(expect, abs=0.01)
    assert "axis_conversion" in s.metadata


def test_wdf_series_and_maps_keep_coordinates(raman_data):
    ts = quiet(read_stack, raman_data / "hyperspy__rosettasciio/renishaw/renishaw_test_timeseries.wdf",
               technique="raman")
    assert ts.coordinates["time"] == pytest.approx([0.0, 3.08845901, 6.13300896])
    assert ts.axis[0] < 0                          # anti-Stokes kept on read, cut by the pipeline
    mp = quiet(read_stack, raman_data / "hyperspy__rosettasciio/renishaw/renishaw_test_map.wdf",
               technique="raman")
    assert mp.map_shape == (3, 3)
    assert mp.coordinates["x"].tolist() == [-100, 0, 100] * 3
    assert mp.coordinates["y"].tolist() == [-100] * 3 + [0] * 3 + [100] * 3
    depth = quiet(read_stack, raman_data / WIRE / "depth.wdf", technique="raman")
    assert depth.coordinates["z"][:2] == pytest.approx([-10.0, -9.5])


def test_undefined_wdf_refused_then_read_when_the_unit_is_given(raman_data):
    path = raman_data / WIRE / "undefined.wdf"
    with pytest.raises(ReadError, match="refusing to guess"):
        quiet(read, path, technique="raman")
    st = quiet(read_stack, path, technique="raman", x_unit="1/cm")
    assert len(st) == 2 and st.axis[0] == pytest.approx(1170.9, abs=0.1)


def test_rruff_and_jasco_metadata(raman_data):
    a = quiet(read_spectrum, raman_data / ANATASE, technique="raman")
    assert a.metadata["rruffid"] == "R060277" and a.axis.size == 1753
    ls4 = quiet(read_spectrum, raman_data / "charlesll__rampy/LS4.txt", technique="raman")
    acq = ls4.acquisition
    assert (acq.laser_wavelength_nm, acq.exposure_s, acq.accumulations, acq.laser_power_mW) == \
        (490.2, 300.0, 3, 45.5)
    assert ls4.axis.size == 3988


def test_descending_text_is_read_ascending_without_warning(raman_data):
    s = quiet(read_spectrum, raman_data / "charlesll__rampy/VG186_0__X_19996.5__Y_-20032__Time_0.txt",
              technique="raman")
    assert s.axis[0] == pytest.approx(59.421875) and s.signal[0] == pytest.approx(21367.140625)
    assert not any(w.code == "io.repair.reversed" for w in s.warnings)


def test_map_matrix_has_xy(raman_data):
    st = quiet(read_stack, raman_data / "aaroncelestian__RamanLab/Cymato_LA57434-2_94_GI01_map.txt",
               technique="raman")
    assert st.signals.shape == (1148, 672)
    assert st.coordinates["x"][0] == -5000 and st.coordinate_units["x"] == "um"


# --------------------------------------------------------------------------- bad input
def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _xy(n=201, sep="\t", dec=".", descending=False):
    x = np.linspace(200, 1200, n)
    y = 100 + 50 * np.exp(-((x - 700) / 20) ** 2)
    rows = list(zip(x, y))
    if descending:
        rows = rows[::-1]
    return "\n".join(f"{a:.3f}{sep}{b:.3f}".replace(".", dec) for a, b in rows) + "\n"


def test_decimal_commas_semicolons_and_latin1(tmp_path):
    p = _write(tmp_path, "eu.csv", "Raman shift (cm-¹);Intensität\n" + _xy(sep=";", dec=","),
               encoding="latin-1")
    with pytest.warns(Warning) as rec:
        s = read_spectrum(p, technique="raman")
    assert "raman.read.decimal_comma" in {w.code for w in s.warnings}
    assert any(getattr(r.message, "code", None) == "raman.read.decimal_comma" for r in rec)
    assert s.axis[0] == pytest.approx(200.0) and s.signal.max() == pytest.approx(150.0, abs=0.1)
    t = _write(tmp_path, "eu_tab.txt", _xy(sep="\t", dec=",", descending=True))
    s2 = quiet(read_spectrum, t, technique="raman")
    np.testing.assert_allclose(s2.signal, s.signal)


def test_nan_points_are_dropped_and_reported(tmp_path):
    text = _xy().splitlines()
    text[5] = "250.0\tnan"
    p = _write(tmp_path, "nan.txt", "\n".join(text) + "\n")
    s = quiet(read_spectrum, p, technique="raman")
    assert s.axis.size == 200 and np.isfinite(s.signal).all()
    assert "io.repair.nonfinite_dropped" in {w.code for w in s.warnings}


def test_wrong_delimiter_is_a_clear_error(tmp_path):
    p = _write(tmp_path, "pipe.txt", _xy(sep="|"))
    with pytest.raises(ReadError) as exc:
        read(p, technique="raman")
    assert str(p) in str(exc.value)
    amb = _write(tmp_path, "ambiguous.csv", "shift,intensity (cm-1)\n" + _xy(sep=",", dec=","))
    with pytest.raises(ReadError, match="ambiguous"):
        read(amb, technique="raman")


def test_nm_text_needs_a_laser(tmp_path):
    body = "\n".join(f"{lam:.3f}\t{100 + i}" for i, lam in enumerate(np.linspace(540, 580, 30)))
    p = _write(tmp_path, "nm.txt", "# Wavelength (nm)\tIntensity\n" + body + "\n")
    with pytest.raises(ReadError, match="laser_wavelength"):
        read(p, technique="raman")
    s = quiet(read_spectrum, p, technique="raman", laser_wavelength=532.0)
    assert s.axis[0] == pytest.approx(1e7 / 532 - 1e7 / 540, abs=1e-6)
    with pytest.raises(InputError, match="laser_wavelength"):
        read(p, technique="raman", laser_wavelength=5.0)


def test_truncated_matrix_names_the_line(raman_data, tmp_path):
    lines = (raman_data / LABSPEC / "serie190214-1.txt").read_bytes().splitlines()
    cut = b"\n".join(lines[:45]) + b"\n" + lines[45][: len(lines[45]) // 2] + b"\n"
    p = tmp_path / "truncated.txt"
    p.write_bytes(cut)
    with pytest.raises(ReadError) as exc:
        read(p, technique="raman")
    assert "truncated" in str(exc.value) and "line 46" in str(exc.value)


def test_options_of_other_formats_are_refused(raman_data):
    with pytest.raises(InputError, match="x_unit"):
        read(raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman", x_unit="nm")


def test_readers_return_model_objects(raman_data):
    c = quiet(read, raman_data / WIRE / "line.wdf", technique="raman")
    assert isinstance(c[0], SpectrumStack) and len(c[0]) == 235
    one = quiet(read, raman_data / WIRE / "sp.wdf", technique="raman")[0]
    assert isinstance(one, Spectrum)


def test_truncated_binary_files_are_refused(raman_data, tmp_path):
    wdf = tmp_path / "cut.wdf"
    full = (raman_data / WIRE / "sp.wdf").read_bytes()
    for size in (3000, 6000):           # header only; data block cut in the middle
        wdf.write_bytes(full[:size])
        with pytest.raises(ReadError, match="truncated"):
            quiet(read, wdf, technique="raman")
    wdf.write_bytes(full[:20000])       # data and x list complete, trailing blocks cut: read
    assert quiet(read, wdf, technique="raman")[0].signal.size == 1015
    spc = tmp_path / "cut.spc"
    spc.write_bytes((raman_data / f"{RENISHAW}.spc").read_bytes()[:3000])
    with pytest.raises(ReadError, match="truncated"):
        quiet(read, spc, technique="raman")


def test_labspec_xy_map_layout(tmp_path):
    """A LabSpec map export (built here in the format the reader implements: Latin-1
    ``#key=<TAB>value`` header, a first row of shifts after two empty fields, then one row
    per point with X and Y in um before the intensities): X/Y coordinates in um and the
    grid shape (n_y, n_x) of a row-major raster, shifts ascending with their rows."""
    shifts = np.array([1200.0, 1100.0, 1000.0, 900.0, 800.0])        # LabSpec writes them descending
    xs, ys = [-4.0, 0.0, 4.0], [-10.5, 10.5]
    header = ["#Acq. time (s)=\t10", "#Accumulations=\t2", "#Laser (nm)=\t532 ",
              "#Instrument=\tLabRAM HR Evol", "#Objective=\tx100", "#Grating=\t600 gr/mm",
              "#X (µm)=\t0", "#Spectro (cm-¹)=\t1000.0",
              "#AxisType[0]=Intens", "#AxisUnit[0]=Cnt", "#AxisType[1]=Spectr",
              "#AxisUnit[1]=1/cm", "#AxisType[2]=X", "#AxisUnit[2]=µm",
              "#AxisType[3]=Y", "#AxisUnit[3]=µm"]
    rows, expect = ["\t\t" + "\t".join(f"{v:g}" for v in shifts)], []
    for j, y in enumerate(ys):                  # y slow, x fast: a row-major raster
        for i, x in enumerate(xs):
            sig = 100.0 * (1 + i + 3 * j) + np.arange(shifts.size)   # tells rows and points apart
            expect.append((x, y, sig[::-1]))                          # ascending-shift order
            rows.append(f"{x:g}\t{y:g}\t" + "\t".join(f"{v:g}" for v in sig))
    path = tmp_path / "labspec_map.txt"
    path.write_bytes(("\n".join(header + rows) + "\n").encode("latin-1"))
    st = quiet(read_stack, path, technique="raman")
    assert st.source.format == "labspec" and isinstance(st, SpectrumStack)
    assert list(st.coordinates) == ["x", "y"]
    assert st.coordinate_units == {"x": "um", "y": "um"}
    assert st.coordinates["x"].tolist() == [e[0] for e in expect]
    assert st.coordinates["y"].tolist() == [e[1] for e in expect]
    assert st.map_shape == (2, 3)                # (n_y, n_x): x varies fastest
    assert st.axis.tolist() == sorted(shifts.tolist())
    assert np.array_equal(np.asarray(st.signals), np.array([e[2] for e in expect]))
    assert st.acquisition.laser_wavelength_nm == 532.0 and st.acquisition.accumulations == 2
