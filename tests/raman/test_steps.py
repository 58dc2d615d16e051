"""Despiking, baselines, presets, coordinates and the result objects, step by step."""
from __future__ import annotations

import numpy as np
import pytest

from naheo_spec.errors import InputError, ReadError
from naheo_spec.io import read_spectrum, read_stack
from naheo_spec.raman.baseline import BaselineFitter, resolve_parameters
from naheo_spec.raman.coordinates import coordinates_from_names, join_coordinates
from naheo_spec.raman.despike import despike_neighbours, despike_whitaker_hayes
from naheo_spec.raman.presets import builtin_presets, load_preset, reference_band
from naheo_spec.raman.pipeline import BAND_JSON_KEYS, JSON_KEYS, analyze_raman

from raman.conftest import D1_PRESET, LABSPEC, RENISHAW, iso_log, quiet


# --------------------------------------------------------------------------- spikes
def test_whitaker_hayes_finds_injected_spikes_and_spares_sharp_bands(raman_data):
    s = quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman")
    y = np.asarray(s.signal, dtype=float).copy()
    where = [150, 333, 600, 601, 870]                  # one 2-pixel spike (600-601)
    y[where] += [900.0, 1500.0, 1200.0, 800.0, 2000.0]
    r = despike_whitaker_hayes(y)
    assert sorted(np.flatnonzero(r.replaced[0])) == where
    # replaced values are back near the spectrum (within 10 % of the original counts)
    assert np.all(np.abs(r.signals[0, where] - s.signal[where]) < 0.1 * s.signal[where])
    calcite = quiet(read_spectrum, raman_data / f"{RENISHAW}.wdf", technique="raman")
    assert despike_whitaker_hayes(calcite.signal).counts[0] == 0   # v1: FWHM ~3.5 points


def test_neighbour_frames_find_spikes_the_single_test_cannot(raman_data):
    st = quiet(read_stack, raman_data / LABSPEC / "serie190214-1.txt", technique="raman")
    y = np.asarray(st.signals[60:80], dtype=float).copy()
    wh = despike_whitaker_hayes(y)
    clean = wh.signals.copy()
    # a 3-pixel spike: wider than Whitaker-Hayes' 2-point limit, caught between frames
    clean[7, 400:403] += [600.0, 2500.0, 900.0]
    r = despike_neighbours(clean)
    assert r.counts[7] >= 3 and set(range(400, 403)) <= set(np.flatnonzero(r.replaced[7]))
    assert despike_whitaker_hayes(clean[7]).counts[0] == 0
    others = np.delete(np.arange(20), 7)
    assert r.counts[others].sum() <= 10       # the real frames: a few true spikes at most


# --------------------------------------------------------------------------- baselines
@pytest.mark.parametrize("method", ["arpls", "asls", "airpls", "snip", "modpoly"])
def test_baseline_equals_pybaselines_called_directly(raman_data, method):
    from pybaselines import Baseline

    s = quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman")
    x, y = s.axis[s.axis > 80], s.signal[s.axis > 80]
    fitter = BaselineFitter(x, method)
    got = fitter.fit(np.vstack([y, 2 * y]))
    params = resolve_parameters(method, x.size)
    want = getattr(Baseline(x_data=x), method)(y, **params)[0]
    np.testing.assert_allclose(got.baselines[0], want, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(got.baselines[1], 2 * want, rtol=1e-6, atol=1e-6)


def test_lam_scales_with_the_point_count():
    assert resolve_parameters("arpls", 1024)["lam"] == 1e6
    assert resolve_parameters("arpls", 4096)["lam"] == pytest.approx(1e6 * 4 ** 4)
    assert resolve_parameters("asls", 512, lam=1e7)["lam"] == pytest.approx(1e7 / 16)
    with pytest.raises(InputError, match="baseline"):
        resolve_parameters("rubberband", 100)


def test_same_baseline_shape_after_resampling(raman_data):
    """lam scaled with the point count: a spectrum on 4x the points gets the same baseline."""
    s = quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman")
    x, y = s.axis[s.axis > 80], s.signal[s.axis > 80]
    fine = np.linspace(x[0], x[-1], 4 * x.size)
    b1 = BaselineFitter(x).fit(y).baselines[0]
    b4 = BaselineFitter(fine).fit(np.interp(fine, x, y)).baselines[0]
    assert np.max(np.abs(np.interp(x, fine, b4) - b1)) < 0.03 * np.ptp(y)


# --------------------------------------------------------------------------- presets
def test_every_builtin_band_has_a_source_and_status():
    assert set(builtin_presets()) >= {"layered-oxide", "in-situ", "carbonate", "calcite"}
    for name in builtin_presets():
        p = load_preset(name)
        for b in p.bands:
            assert b.source and b.status in ("standard", "literature", "approximate",
                                             "as-reported"), (name, b.name)
            assert b.center_range_cm1[0] <= b.center_cm1 <= b.center_range_cm1[1]
    lo = load_preset("layered-oxide")
    assert lo.band("E2g").name == "eg" and lo.band("Na-O").name == "band_680"
    assert "disputed" in lo.band("band_680").note
    assert [b.name for b in lo.bands if b.role == "carbonate"] == [
        "nahcolite", "trona_hydrates", "natrite", "li2co3"]
    assert reference_band("paper_carbonate")["status"] == "as-reported"


def test_bad_presets_are_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[window]]\nname = "w"\nrange_cm1 = [1, 2]\n[[band]]\nname = "x"\n'
                   'window = "nowhere"\ncenter_cm1 = 1.5\n')
    with pytest.raises(InputError, match="window 'nowhere'"):
        load_preset(bad)
    with pytest.raises(InputError, match="neither a built-in"):
        load_preset("no-such-preset")
    bad.write_text("not = [toml")
    with pytest.raises(InputError, match="not valid TOML"):
        load_preset(bad)


# --------------------------------------------------------------------------- coordinates
def test_coordinates_by_index_and_mismatch(raman_data, tmp_path):
    st = quiet(read_stack, raman_data / LABSPEC / "serie190214-1.txt", technique="raman")
    good = tmp_path / "log.csv"
    good.write_text("potential (V);soc\n" + "".join(f"{2 + i / 100:.3f};{i / 167:.4f}\n"
                                                     for i in range(168)))
    out = join_coordinates(st, good)
    assert out.coordinates["potential"][5] == pytest.approx(2.05)
    assert out.coordinate_units["potential"] == "V" and "time" in out.coordinates
    short = tmp_path / "short.csv"
    short.write_text("potential (V)\n2.0\n2.1\n")
    with pytest.raises(InputError, match="2 rows but serie190214-1.txt holds 168 spectra"):
        join_coordinates(st, short)


def test_coordinates_by_time_with_tolerance(raman_data, tmp_path):
    st = quiet(read_stack, raman_data / LABSPEC / "serie190214-1.txt", technique="raman")
    t = np.asarray(st.coordinates["time"])
    log = tmp_path / "ec.csv"
    rows = [f"{ti + 7.0:.1f},{3.0 + 0.001 * ti:.4f}" for ti in t[:100]]   # 7 s clock offset
    log.write_text("time_s,Ewe/V\n" + "\n".join(rows) + "\n")
    with pytest.warns(Warning, match="no row within"):
        out = join_coordinates(st, log, by="time", tolerance=15.0)
    pot = out.coordinates["potential"]
    assert np.isfinite(pot[:100]).all() and np.isnan(pot[100:]).all()
    assert pot[10] == pytest.approx(3.0 + 0.001 * t[10], abs=1e-4)
    assert out.coordinates["time_match_s"][10] == pytest.approx(7.0, abs=0.06)
    assert out.row_warnings.mask("raman.coordinates.unmatched").sum() == 68
    far = tmp_path / "far.csv"
    far.write_text("time_s,Ewe/V\n1e6,3.0\n2e6,3.1\n")
    with pytest.raises(InputError, match="no spectrum"):
        join_coordinates(st, far, by="time")


def test_coordinates_from_names(raman_data):
    files = sorted((raman_data / "charlesll__rampy").glob("VG186_*.txt"))
    c, _ = coordinates_from_names(files)
    assert c["time"].tolist() == [0.0, 288.0, 433.0]
    assert c["y"].tolist() == [-20032.0, -20055.0, -20026.4]


def test_unreadable_coordinates_file(tmp_path):
    from naheo_spec.raman.coordinates import read_coordinates

    p = tmp_path / "ragged.csv"
    p.write_text("time_s,E\n1,2\n3\n")
    with pytest.raises(ReadError, match="line 3"):
        read_coordinates(p)


# --------------------------------------------------------------------------- results
def test_result_json_repr_html_and_store(raman_data, tmp_path):
    from naheo_spec.store import check_nexus, read_records, write_records

    s = quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman")
    r = quiet(analyze_raman, s, preset=D1_PRESET)
    d = r.to_json_dict()
    assert tuple(d) == JSON_KEYS
    assert all(tuple(b) == BAND_JSON_KEYS for b in d["bands"])
    text = repr(r)
    assert text.startswith("<RamanResult SMC1-Initial_RT.txt[0]:") and len(text) < 400
    assert "carbonate_1072 1071.5±0.2" in text
    assert "<table>" in r._repr_html_() and "carbonate index" in r._repr_html_()
    prov = r.provenance.to_dict()
    assert prov["source_sha256"] == s.source.sha256 and prov["version"]
    assert prov["parameters"]["baseline"]["lam"] == resolve_parameters("arpls", r.axis.size)["lam"]
    path = tmp_path / "one.h5"
    write_records(path, [r.to_record()])
    assert check_nexus(path) == []
    back = read_records(path)[0]
    assert back.summary["carbonate_1072_center_cm1"] == pytest.approx(
        r.band("carbonate_1072").center_cm1)


def test_series_record_and_table(d1_series, tmp_path):
    from naheo_spec.store import check_nexus, write_records

    _, sr = d1_series
    assert repr(sr).startswith("<RamanSeriesResult serie190214-1.txt: 168 spectra (110 fitted, "
                               "58 masked) vs time")
    recs = sr.to_records()
    assert len(recs) == 168 and recs[0]["time"] == 0.0 and recs[150]["error"]
    path = tmp_path / "series.h5"
    write_records(path, [sr.to_record()])
    assert check_nexus(path) == []
    csv = sr.write_csv(tmp_path / "bands.csv")
    lines = csv.read_text().splitlines()
    assert len(lines) == 169 and "carbonate_1072_area_err" in lines[0]


@pytest.mark.parametrize("shape", ["lorentzian", "gaussian", "pseudo-voigt", "voigt"])
def test_every_line_shape_finds_the_calcite_band(raman_data, shape):
    s = quiet(read_spectrum, raman_data / f"{RENISHAW}.wdf", technique="raman")
    r = quiet(analyze_raman, s, preset="calcite", shape=shape)
    b = r.band("calcite_v1")
    # the band is slightly asymmetric/non-Voigt: shapes agree on the centre to 0.1 cm-1
    assert b.center_cm1 == pytest.approx(1087.69, abs=0.1) and b.detected
    assert 3.0 < b.fwhm_cm1 < 5.0
    assert r.provenance.parameters["preset"]["bands"]["calcite_v1"]["shape"] == shape


def test_areas_normalised_to_an_internal_band(d1_series):
    from naheo_spec.raman.pipeline import analyze_raman_series

    stack, sr = d1_series
    res = quiet(analyze_raman_series, stack.take(np.arange(20)), preset=D1_PRESET,
                normalize_to="band_624")
    j, k = res.table.index("band_624"), res.table.index("band_460")
    assert np.allclose(res.normalized_areas[res.valid, j], 1.0)
    want = res.table.area[:, k] / res.table.area[:, j]
    assert np.allclose(res.normalized_areas[res.valid, k], want[res.valid])
    assert np.all(res.normalized_areas_err[res.valid, k] > 0)
    with pytest.raises(InputError, match="no band"):
        quiet(analyze_raman_series, stack.take(np.arange(3)), preset=D1_PRESET,
              normalize_to="nope")


def test_series_x_coordinate_is_found_by_name_prefix_or_first_float():
    """Known names first, then names starting with exposure/time/potential/soc..., then x
    (maps, line scans), then the first float coordinate."""
    import numpy as np

    from naheo_spec.model import SpectrumStack
    from naheo_spec.raman.pipeline import analyze_raman_series
    from naheo_spec.raman.synthetic import carbonate_growth_series

    st = carbonate_growth_series(days=3, seed=1)
    sig, ax = np.asarray(st.signals), st.axis

    def key(coords):
        s = SpectrumStack(ax, sig, axis_kind="raman_shift", coordinates=coords)
        return quiet(analyze_raman_series, s, preset="layered-oxide").x_coordinate()[0]

    f = np.array([0.0, 1.0, 2.0])
    assert key({"label": np.array(["a", "b", "c"]), "exposure_days": f}) == "exposure_days"
    assert key({"depth_um": f, "potential_V": f + 3}) == "potential_V"
    assert key({"depth_um": f, "z2": f}) == "depth_um"
    assert key({"y": f, "x": f}) == "x"
    assert key({"time": f, "exposure_h": f}) == "time"
    assert key({}) == "spectrum"


def test_bundled_map_is_a_grid_and_neighbours_are_spatial():
    """The bundled RamanLab map (4 x 30, y fastest) gets its map_shape; the neighbour-frame
    test is off on maps by default and, when asked for, compares adjacent positions."""
    import numpy as np

    from naheo_spec import datasets
    from naheo_spec.raman.despike import spatial_neighbours
    from naheo_spec.raman.pipeline import analyze_raman_series

    st = datasets.load("raman_map")
    assert st.map_shape == (4, 30)
    x, y = st.coordinates["x"], st.coordinates["y"]
    nb = spatial_neighbours(x, y)
    assert sorted(nb[30].tolist()) == [0, 1, 31, 60, 61]      # x step 1, y step 0: an edge
    assert sorted(nb[29].tolist()) == [28, 58, 59]            # a corner
    assert 30 not in nb[29] and 29 not in nb[30]              # consecutive rows, far apart
    default = quiet(analyze_raman_series, st, preset="carbonate")
    assert default.provenance.parameters["despike"]["neighbours"] is None
    sig = np.asarray(st.signals, dtype=float).copy()
    j = int(np.argmin(np.abs(st.axis - 1500.0)))
    sig[45, j] += 40 * np.median(np.abs(np.diff(sig[45])))   # a one-pixel cosmic ray
    res = quiet(analyze_raman_series, st.with_changes(signals=sig), preset="carbonate",
                despike=False, neighbour_despike=True)
    assert res.provenance.parameters["despike"]["neighbours"]["neighbours"] == "explicit"
    assert res.spikes_removed[45] >= 1


def test_resolution_floor_from_preset_option_and_sampling():
    """The FWHM lower bound is max(resolution, 2 sampling steps); bad values are refused."""
    from naheo_spec.raman.pipeline import analyze_raman_series
    from naheo_spec.raman.presets import fwhm_floor, preset_from_dict
    from naheo_spec.raman.synthetic import carbonate_growth_series

    st = carbonate_growth_series(days=2, seed=0)        # 2.82 cm-1 sampling
    res = quiet(analyze_raman_series, st)
    assert res.provenance.parameters["min_fwhm_cm1"] == pytest.approx(fwhm_floor(st.axis))
    assert res.provenance.parameters["preset"]["bands"]["natrite"]["fwhm_range_cm1"][0] \
        == pytest.approx(2 * 2.82, abs=0.01)
    wide = quiet(analyze_raman_series, st, resolution=7.0)
    assert np.nanmin(wide.table.fwhm) >= 7.0 - 1e-9
    with pytest.raises(InputError, match="resolution"):
        analyze_raman_series(st, resolution=-1.0)
    doc = {"resolution_cm1": "fine", "reference_bands": [],
           "window": [{"name": "w", "range_cm1": [1000, 1100]}],
           "band": [{"name": "a", "window": "w", "center_cm1": 1050.0}]}
    with pytest.raises(InputError, match="resolution_cm1"):
        preset_from_dict(doc)
    doc["resolution_cm1"] = 4.5
    assert preset_from_dict(doc).resolution_cm1 == 4.5


def test_in_situ_preset_fits_pvdf_binder_bands_as_nuisance(raman_data):
    """The in-situ preset carries the two PVDF binder bands (alpha 798.9, beta 840.6 cm-1:
    Purica et al., Coatings 14, 1520 (2024)) as nuisance bands, and a fit with it runs on
    the real D_1 spectrum. A PVDF-alpha-like band added to that real spectrum (area 30 % of
    the Eg band) is taken by the binder band and does not leak into the oxide areas beyond
    their error."""
    from naheo_spec.io import read_spectrum
    from naheo_spec.raman.lineshapes import pseudo_voigt
    from naheo_spec.raman.pipeline import analyze_raman
    from naheo_spec.raman.presets import load_preset

    pre = load_preset("in-situ")
    pv = {b.name: b for b in pre.bands if b.name.startswith("pvdf")}
    assert set(pv) == {"pvdf_alpha", "pvdf_beta"}
    assert pv["pvdf_alpha"].center_cm1 == 798.9 and pv["pvdf_beta"].center_cm1 == 840.6
    for b in pv.values():
        assert b.role == "nuisance" and b.window == "oxide"
        assert "10.3390/coatings14121520" in b.source and b.name not in pre.reference_bands
    s = quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman")
    plain = quiet(analyze_raman, s, preset=pre)
    eg = plain.band("eg")
    assert eg.detected and eg.center_cm1 == pytest.approx(458.9, abs=2.0)
    # D_1 holds no binder: the PVDF bands are not detected
    assert not plain.band("pvdf_alpha").detected and not plain.band("pvdf_beta").detected
    assert plain.carbonate_index is None            # no carbonate band in this preset
    area = 0.3 * eg.area
    spiked = s.with_changes(signal=s.signal + pseudo_voigt(s.axis, area, 800.0, 12.0, 0.5))
    res = quiet(analyze_raman, spiked, preset=pre)
    got = res.band("pvdf_alpha")
    assert got.detected and got.center_cm1 == pytest.approx(800.0, abs=1.5)
    assert got.area == pytest.approx(area, rel=0.15)
    # measured: the Eg area moves by 0.4 of its error (4.6 %; the binder band's wing
    # reaches the linear window background)
    assert abs(res.band("eg").area - eg.area) < eg.area_err


def test_iso_timestamps_in_coordinates_are_seconds_whatever_the_local_zone(
        raman_data, tmp_path, monkeypatch):
    """ISO timestamps become seconds from the first row; a log without a zone is read at
    face value, so the same file gives the same seconds on a machine in Europe/Berlin whose
    clocks jump at 02:00 on 2026-03-29 (the log spans it); with a zone it is exact. The join
    by time then needs the spectra's clock at the log's first row (``time_offset``)."""
    import time

    from naheo_spec.raman.coordinates import read_coordinates

    zoned = tmp_path / "zoned.csv"
    zoned.write_text("timestamp;E (V)\n2026-03-29T01:30:00+01:00;3.0\n"
                     "2026-03-29T03:30:00+02:00;3.1\n2026-03-29T02:00:00Z;3.2\n")
    assert read_coordinates(zoned)["time"].tolist() == [0.0, 3600.0, 5400.0]
    st = quiet(read_stack, raman_data / LABSPEC / "serie190214-1.txt", technique="raman")
    t = np.asarray(st.coordinates["time"], dtype=float)[:110]
    offset = float(t[t >= 300.0][0])                # spectrum clock at the log's first row
    log = iso_log(tmp_path / "ec.csv", t, start="2026-03-29T01:30:00", offset_s=offset)
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        table = read_coordinates(log)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert table.units["time"] == "s"
    # 0.001 s: the microseconds isoformat keeps
    assert table["time"] == pytest.approx(t[t >= offset] - offset, abs=1e-3)
    sub = st.take(np.arange(110))
    with pytest.warns(Warning, match="6 of 110 spectra have no row"):   # before the log
        out = join_coordinates(sub, log, by="time", time_offset=offset)
    pot = out.coordinates["potential"]
    ok = t >= offset
    assert pot[ok] == pytest.approx(3.0 + 0.001 * t[ok], abs=1e-6)
    assert np.isnan(pot[~ok]).all() and out.coordinates["time_match_s"][ok].max() < 1e-3
    with pytest.warns(Warning, match="no row within"):
        shifted = join_coordinates(sub, log, by="time")      # clocks not aligned
    assert np.nanmedian(shifted.coordinates["potential"] - (3.0 + 0.001 * t)) == pytest.approx(
        0.001 * offset, abs=1e-3)
