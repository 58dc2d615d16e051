"""Physics of the Raman pipeline on real spectra: band centres against careful manual
(lmfit) fits, the D_1 sample and its series, error bars against real noise, the
known-answer carbonate test, axis calibration, QC and warnings."""
from __future__ import annotations

import numpy as np
import pytest

from naheo_spec.errors import CalibrationError
from naheo_spec.io import read_spectrum, read_stack
from naheo_spec.raman.calibration import calibrate_axis
from naheo_spec.raman.lineshapes import pseudo_voigt
from naheo_spec.raman.pipeline import analyze_raman, analyze_raman_series
from naheo_spec.raman.presets import preset_from_dict

from raman.conftest import ANATASE, ANATASE_PRESET, D1_PRESET, LABSPEC, RENISHAW, quiet


def _lmfit_pv(x, y, lo, hi, center, *, background="linear", sigma=3.0):
    """A careful manual fit: one lmfit PseudoVoigtModel plus a polynomial background on the
    given window; returns (center, center_err, fwhm, area, area_err)."""
    import lmfit

    k = (x >= lo) & (x <= hi)
    x, y = x[k], y[k]
    model = lmfit.models.PseudoVoigtModel()
    model += (lmfit.models.LinearModel() if background == "linear"
              else lmfit.models.QuadraticModel())
    p = model.make_params(center=center, sigma=sigma, amplitude=(y.max() - y.min()) * 2 * sigma,
                          fraction=0.5)
    for name in ("slope", "intercept", "a", "b", "c"):
        if name in p:
            p[name].set(value=0.0 if name != "intercept" else float(y.min()))
    r = model.fit(y, p, x=x)
    return (r.params["center"].value, r.params["center"].stderr, r.params["fwhm"].value,
            r.params["amplitude"].value, r.params["amplitude"].stderr)


# --------------------------------------------------------------------------- calcite
@pytest.mark.parametrize("ext", [".wdf", ".spc", ".txt"])
def test_calcite_v1_centre_matches_a_manual_fit(raman_data, ext):
    s = quiet(read_spectrum, raman_data / f"{RENISHAW}{ext}", technique="raman")
    r = quiet(analyze_raman, s, preset="calcite")
    band = r.band("calcite_v1")
    manual = _lmfit_pv(s.axis, s.signal, 1060.0, 1111.2, 1088.0)
    # target: within 1.5 cm-1; measured agreement is 0.002 cm-1 (different baselines:
    # arPLS + quadratic window background here, a linear background on the raw data there)
    assert abs(band.center_cm1 - manual[0]) < 0.05
    assert band.center_cm1 == pytest.approx(1087.7, abs=0.1)
    assert band.fwhm_cm1 == pytest.approx(manual[2], rel=0.03)
    assert band.detected and r.spikes_removed == 0     # the sharp band is not a spike
    assert r.carbonate_detected                         # the group filter too (all formats)


# --------------------------------------------------------------------------- sample D_1
def test_d1_bands_and_lmfit_oracle_on_the_same_data(raman_data):
    import lmfit

    s = quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman")
    r = quiet(analyze_raman, s, preset=D1_PRESET)
    got = {b.name: b for b in r.bands}
    # shared/notes/raman.md: 458.9, 536.8, 624.9 (3 pseudo-Voigts, 380-720) and a sharp 1072
    assert got["band_460"].center_cm1 == pytest.approx(458.9, abs=1.5)
    assert got["band_537"].center_cm1 == pytest.approx(536.8, abs=2.0)
    assert got["band_624"].center_cm1 == pytest.approx(624.9, abs=1.5)
    assert got["carbonate_1072"].center_cm1 == pytest.approx(1072.0, abs=1.5)
    assert got["carbonate_1072"].detected and r.carbonate_detected
    # the same model fitted by lmfit to the same baseline-corrected data
    k = (r.axis >= 380) & (r.axis <= 720)
    x, y = r.axis[k], r.corrected[k]
    model = (lmfit.models.PseudoVoigtModel(prefix="a_") + lmfit.models.PseudoVoigtModel(prefix="b_")
             + lmfit.models.PseudoVoigtModel(prefix="c_") + lmfit.models.LinearModel())
    p = model.make_params(slope=0.0, intercept=0.0)
    for pf, c, w in (("a_", 460, 30), ("b_", 537, 20), ("c_", 624, 35)):
        p[pf + "center"].set(c, min=c - 30, max=c + 30)
        p[pf + "sigma"].set(w / 2, min=2.5, max=50)
        p[pf + "amplitude"].set(30000, min=0)
        p[pf + "fraction"].set(0.5, min=0, max=1)
    fit = model.fit(y, p, x=x)
    for pf, name in (("a_", "band_460"), ("b_", "band_537"), ("c_", "band_624")):
        b = got[name]
        assert b.center_cm1 == pytest.approx(fit.params[pf + "center"].value, abs=0.02)
        assert b.area == pytest.approx(fit.params[pf + "amplitude"].value, rel=2e-3)
        assert b.center_err_cm1 == pytest.approx(fit.params[pf + "center"].stderr, rel=0.05)
        assert b.area_err == pytest.approx(fit.params[pf + "amplitude"].stderr, rel=0.05)


def test_d1_series_is_consistent_and_masks_the_zero_rows(raman_data, d1_series):
    stack, sr = d1_series
    single = quiet(analyze_raman, quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt",
                                        technique="raman"), preset=D1_PRESET)
    assert int(sr.valid.sum()) == 110
    zero = np.all(np.asarray(stack.signals) == 0, axis=1)
    assert (~sr.valid == zero).all()
    assert {sr.errors[i] for i in np.flatnonzero(zero)} == {"all points are zero (aborted acquisition?)"}
    v = sr.valid
    for name, spread in (("band_460", 8.0), ("band_624", 12.0), ("carbonate_1072", 8.0)):
        j = sr.table.index(name)
        c = sr.table.center[v, j]
        # the series (another spot, 60 s frames) sits within 2.5 cm-1 of the single spectrum
        assert np.median(c) == pytest.approx(single.band(name).center_cm1, abs=2.5)
        assert np.ptp(np.percentile(c, [5, 95])) < spread
        assert sr.detection.detected[v, j].sum() >= 100
    assert sr.first_carbonate["time"] == 0.0
    # the real ~1072 band, group filter: measured 110 of 110 frames (smallest SNR 4.7 for a
    # threshold of 4.28; 110 of 110 before the look-elsewhere fix too, at 3.41)
    assert sr.carbonate_detected[v].sum() >= 108


def test_error_bars_match_the_scatter_of_injections_into_real_noise(d1_series):
    """A band of known centre and area added to the 110 real frames (at 1150 cm-1, a flat
    part of D_1): the reported errors must match the scatter of the recovered values."""
    stack, sr = d1_series
    rows = np.flatnonzero(sr.valid)
    pre = preset_from_dict({
        "name": "injection", "reference_bands": [],
        "window": [{"name": "w", "range_cm1": [1100.0, 1200.0]}],
        "band": [{"name": "inj", "role": "carbonate", "window": "w", "center_cm1": 1150.0,
                  "center_range_cm1": [1130.0, 1170.0], "fwhm_cm1": 12.0,
                  "fwhm_range_cm1": [3.0, 40.0]}]})
    for area in (3000.0, 10000.0):
        sig = np.asarray(stack.signals, dtype=float).copy()
        sig[rows] += pseudo_voigt(stack.axis, area, 1151.3, 10.0, 0.5)
        res = quiet(analyze_raman_series, stack.with_changes(signals=sig), preset=pre)
        c, ce = res.table.center[rows, 0], res.table.center_err[rows, 0]
        a, ae = res.table.area[rows, 0], res.table.area_err[rows, 0]
        # measured: pull std 1.05-1.08 (centre), 0.87-1.10 (area); bias < 1 %
        assert 0.8 < np.std((c - 1151.3) / ce) < 1.35
        assert 0.7 < np.std((a - area) / ae) < 1.35
        assert abs(np.mean(a) / area - 1) < 0.02 and abs(np.mean(c) - 1151.3) < 0.05


# --------------------------------------------------------------------------- known answer
def _anatase_reference_area(s):
    """Oracle for the denominator: lmfit pseudo-Voigt + linear background on the raw RRUFF
    data around each reference band (independent of the pipeline's baseline)."""
    return (_lmfit_pv(s.axis, s.signal, 350, 450, 394, sigma=10)[3]
            + _lmfit_pv(s.axis, s.signal, 470, 570, 516, sigma=10)[3])


RATIOS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def test_known_answer_carbonate_on_real_anatase(raman_data):
    """RRUFF anatase has no band between 900 and 1300 cm-1: a Na2CO3-like band (1080 cm-1,
    FWHM 8, pseudo-Voigt) of known area ratio is added on its real noise."""
    s = quiet(read_spectrum, raman_data / ANATASE, technique="raman")
    a_ref = _anatase_reference_area(s)
    table = []
    for r in RATIOS:
        y = s.signal + pseudo_voigt(s.axis, r * a_ref, 1080.0, 8.0, 0.5)
        res = quiet(analyze_raman, s.with_changes(signal=y), preset=ANATASE_PRESET)
        table.append((r, res.carbonate_index, res.carbonate_index_err, res.carbonate_detected,
                      res.carbonate_upper_limit))
    for r, got, err, det, ul in table:
        if r == 0:
            # a non-detection is reported as its upper limit only
            assert not det and ul is not None and 0 < ul < 0.002
            assert got is None and err is None
        elif r < 0.05:
            assert abs(got - r) < 0.005 and det
        else:
            assert abs(got - r) / r < 0.10 and det
    # the recovered ratios are proportional to the injected ones (measured slope 0.960:
    # the pipeline's reference areas are 4 % above the lmfit oracle's)
    x = np.array([t[0] for t in table if t[3]])
    y = np.array([t[1] for t in table if t[3]])
    slope = np.polyfit(x, y, 1)[0]
    assert slope == pytest.approx(0.96, abs=0.02)


# --------------------------------------------------------------------------- calibration
@pytest.mark.parametrize("rel, reference, offset", [
    (f"{LABSPEC}/532nm-191216-Si_200mu.txt", "si", 2.41),
    ("h2020charisma__ramanchada2/Horiba/PST10_iR785_OP01_8000msx8.txt", "polystyrene", 3.92),
    ("h2020charisma__ramanchada2/Witec/PST_WiICV532_Z050OP02_075_800msx10.txt", "polystyrene", 4.26),
])
def test_axis_offsets_against_si_and_polystyrene(raman_data, rel, reference, offset):
    s = quiet(read_spectrum, raman_data / rel, technique="raman")
    cal = quiet(calibrate_axis, s)
    assert cal.reference == reference
    assert cal.offset_cm1 == pytest.approx(offset, abs=0.05)
    lo, hi = (490, 550) if reference == "si" else (982, 1019)
    manual = _lmfit_pv(s.axis, s.signal, lo, hi, cal.measured_cm1)
    assert cal.measured_cm1 == pytest.approx(manual[0], abs=0.05)
    assert cal.file == str(raman_data / rel) and len(cal.sha256) == 64


def test_far_off_axis_is_refused(raman_data):
    # WITec .spc: polystyrene read 11-15 cm-1 low (a dispersion error a single line cannot fix)
    s = quiet(read_spectrum, raman_data / "h2020charisma__ramanchada2/Witec/"
              "PST_WITEcAlpha532_100x_075_10000ms_000_Spec.Data_1.spc", technique="raman")
    with pytest.raises(CalibrationError, match="bound"):
        quiet(calibrate_axis, s, reference="polystyrene")


def test_calibration_applied_and_uncalibrated_carbonate_warned(raman_data):
    si = quiet(read_spectrum, raman_data / LABSPEC / "532nm-191216-Si_200mu.txt", technique="raman")
    cal = quiet(calibrate_axis, si)
    s = quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman")
    raw = quiet(analyze_raman, s, preset=D1_PRESET)
    fixed = quiet(analyze_raman, s, preset=D1_PRESET, calibration=cal)
    codes_raw = {w.code for w in raw.warnings}
    codes_fixed = {w.code for w in fixed.warnings}
    assert "raman.carbonate.uncalibrated_axis" in codes_raw
    assert "raman.carbonate.uncalibrated_axis" not in codes_fixed
    shift = fixed.band("carbonate_1072").center_cm1 - raw.band("carbonate_1072").center_cm1
    assert shift == pytest.approx(-cal.offset_cm1, abs=0.3)
    assert fixed.provenance.parameters["calibration"]["offset_cm1"] == cal.offset_cm1


# --------------------------------------------------------------------------- QC & flags
def test_vendor_subtracted_baseline_is_not_subtracted_again(raman_data):
    st = quiet(read_stack, raman_data / LABSPEC / "lasertest1.txt", technique="raman")
    res = quiet(analyze_raman_series, st, preset=D1_PRESET)
    assert np.all(res.baselines[res.valid] == 0)
    assert res.provenance.parameters["baseline"]["method"] == "none"
    assert all("raman.baseline.vendor_subtracted" in {w.code for w in res.row_warning_records(i)}
               for i in np.flatnonzero(res.valid))


def test_bad_rows_are_masked_and_the_rest_processed(d1_series):
    stack, _ = d1_series
    sig = np.asarray(stack.signals[:12], dtype=float).copy()
    sig[2, :] = np.nan                                  # empty
    sig[3, 100:103] = np.nan                            # a few NaN points: filled
    sig[4, 500:506] = sig[4].max() * 3                  # flat top: saturated
    rng = np.random.default_rng(5)
    spikes = rng.choice(np.arange(10, 1000, 3), 40, replace=False)
    sig[5, spikes] += 5000.0                            # cosmic-ray dominated
    res = quiet(analyze_raman_series, stack.take(np.arange(12)).with_changes(signals=sig),
                preset=D1_PRESET)
    reasons = {i: {w.code for w in res.row_warning_records(i)} for i in range(12)}
    assert "raman.qc.empty" in reasons[2] and not res.valid[2]
    assert "raman.qc.nonfinite_filled" in reasons[3] and res.valid[3]
    assert "raman.qc.saturated" in reasons[4] and not res.valid[4]
    assert "raman.qc.cosmic_dominated" in reasons[5] and not res.valid[5]
    assert res.valid.sum() == 9
    assert np.isfinite(res.carbonate_index[res.valid]).all()
    entries = res.to_json_list()
    assert [bool(e.get("error")) for e in entries] == list(~res.valid)


def test_bound_hits_are_flagged(raman_data):
    s = quiet(read_spectrum, raman_data / LABSPEC / "SMC1-Initial_RT.txt", technique="raman")
    r = quiet(analyze_raman, s)                         # layered-oxide preset on a non-O3 sample
    flagged = [w for w in r.warnings if w.code == "raman.fit.bound_hit"]
    assert flagged and all(r.band(w.message.split()[1]).at_bound for w in flagged)
    # a band on a bound is never counted as detected
    assert not any(b.detected and b.at_bound for b in r.bands)


def test_growing_mn3o4_band_raises_laser_damage(d1_series):
    stack, sr = d1_series
    late = np.flatnonzero(sr.valid & (np.asarray(stack.coordinates["time"]) > 4000))
    sub = stack.take(late)
    quiet_res = quiet(analyze_raman_series, sub, preset=D1_PRESET)
    assert quiet_res.laser_damage is None
    ref = np.nanmedian(sr.table.area[late, sr.table.index("band_624")])
    grow = np.linspace(0.0, 0.4, late.size)[:, None] * pseudo_voigt(stack.axis, ref, 657.0, 15.0, 0.5)
    damaged = sub.with_changes(signals=np.asarray(sub.signals, dtype=float) + grow)
    res = quiet(analyze_raman_series, damaged, preset=D1_PRESET)
    assert res.laser_damage is not None
    assert "raman.series.laser_damage" in {w.code for w in res.warnings}


def test_spectra_outside_the_preset_windows(raman_data):
    from naheo_spec.errors import ProcessingError

    carbon = quiet(read_spectrum, raman_data / "spectrochempy__spectrochempy_data/wire/sp.wdf",
                   technique="raman")                       # 1226-2788 cm-1
    with pytest.raises(ProcessingError, match="outside every fit window"):
        quiet(analyze_raman, carbon)
    calcite = quiet(read_spectrum, raman_data / f"{RENISHAW}.wdf", technique="raman")
    cut = quiet(analyze_raman, calcite, preset=D1_PRESET, shift_range=(80.0, 1000.0))
    assert "raman.fit.window_not_covered" in {w.code for w in cut.warnings}
    assert cut.carbonate_index is None and cut.carbonate_upper_limit is None
    assert not cut.carbonate_detected
    assert np.isnan(cut.band("carbonate_1072").area)


# --------------------------------------------------------------------------- synthetic growth
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_growth_series_detection_and_index(seed):
    """The SYNTHETIC air-exposure series (real map noise, real calcite band shape at
    1080 cm-1, true index 0, 0, 0.005, 0.02, 0.05, 0.09, 0.14, 0.2) with the shipped
    ``layered-oxide`` preset: carbonate detected from true index 0.05 on, never on the true
    0 days; detected indices within 2 error bars of the truth; upper limits above it.
    (Measured: matched-filter SNR <= 1.8 on the six true-0 days, >= 20 from 0.05; index
    errors 0.015-0.09 instead of +-4.95 before the resolution floor; upper limits
    0.007-0.017 instead of up to 40.)"""
    from naheo_spec.raman.synthetic import carbonate_growth_series

    series = carbonate_growth_series(seed=seed)
    truth = np.asarray(series.metadata["true_carbonate_index"])
    res = quiet(analyze_raman_series, series, preset="layered-oxide")
    det, idx, err = res.carbonate_detected, res.carbonate_index, res.carbonate_index_err
    ul = res.carbonate_upper_limit
    assert det[truth >= 0.05].all()
    assert not det[truth == 0].any()
    assert np.all(np.abs(idx[det] - truth[det]) <= 2 * err[det])
    assert np.all(ul[~det] >= truth[~det]) and np.all(np.isfinite(ul[~det]))
    assert np.all(err[det] < 0.1)            # the summed area is well determined
    assert np.all(np.isnan(idx[~det]) & np.isnan(err[~det]))   # reported as limits
    # the first detection is drawn on the series' own coordinate
    assert res.first_carbonate["exposure_h"] <= 24.0 * np.argmax(truth >= 0.05)


def test_carbonate_matched_filter_false_and_true_detection_rates_on_real_noise():
    """All 120 real noise rows of the bundled map under the synthetic oxide bands: no
    carbonate detected at true index 0 (measured: largest SNR 2.77, median 1.46), every one
    detected at 0.05. The index errors are conservative there (measured pull std 0.22) and
    the fitted index is biased up by ~0.011 at 0 and ~0.012 at 0.05: empty carbonate bands
    cannot take negative areas, so they soak up positive noise. That is why a non-detection
    is reported as its upper limit only (index NaN), never as the biased ratio."""
    from naheo_spec.raman.synthetic import carbonate_growth_series

    null = quiet(analyze_raman_series, carbonate_growth_series(
        days=120, index_per_day=np.zeros(120), seed=0), preset="layered-oxide")
    assert not null.carbonate_detected.any()
    assert np.isnan(null.carbonate_index).all() and np.isnan(null.carbonate_index_err).all()
    # measured: upper limits 0.0034-0.019 (median 0.0073), from the matched filter
    assert np.all(null.carbonate_upper_limit > 0) and np.median(null.carbonate_upper_limit) < 0.01
    weak = quiet(analyze_raman_series, carbonate_growth_series(
        days=120, index_per_day=np.full(120, 0.05), seed=0), preset="layered-oxide")
    assert weak.carbonate_detected.all()
    assert np.all(np.abs(weak.carbonate_index - 0.05) <= 2 * weak.carbonate_index_err)


def _moved_carbonate(p, sh):
    """Preset ``p`` with its carbonate window and bands moved by ``sh`` cm-1."""
    from dataclasses import replace

    windows = tuple(replace(w, range_cm1=(w.range_cm1[0] + sh, w.range_cm1[1] + sh))
                    if w.name == "carbonate" else w for w in p.windows)
    bands = tuple(replace(b, center_cm1=b.center_cm1 + sh, center_range_cm1=(
        b.center_range_cm1[0] + sh, b.center_range_cm1[1] + sh))
        if b.role == "carbonate" else b for b in p.bands)
    return replace(p, windows=windows, bands=bands)


def test_carbonate_filter_false_rate_on_the_real_map_at_featureless_shifts():
    """The layered-oxide carbonate filter moved to shifts of the real bundled map where
    nothing is expected (1200-1720 cm-1, three windows x 120 spectra). The scan must keep
    the false-alarm rate of one 3-sigma test (0.135 %) for the whole scan. Measured: 0 of
    360 (8 of 360, 2.2 %, with the earlier Sidak count of 7.75 trials and a Newey-West noise
    biased low by the fit's residual projection); at most 1 % (3) allowed."""
    from naheo_spec import datasets
    from naheo_spec.raman.presets import load_preset

    m = datasets.load("raman_map")
    p = load_preset("layered-oxide")
    false, n = 0, 0
    for sh in (190.0, 390.0, 590.0):
        res = quiet(analyze_raman_series, m, preset=_moved_carbonate(p, sh))
        # measured 4.68-4.79: Rice/Davies look-elsewhere (about 18 equivalent trials at
        # 3 sigma for a 4 cm-1 resolution on a 3.2 cm-1 grid), on the Student-t scale of a
        # noise with about 20 Satterthwaite degrees of freedom
        assert 4.3 < res.detection.carbonate_threshold < 5.2
        false += int(res.carbonate_detected.sum())
        n += int(np.isfinite(res.detection.carbonate_snr).sum())
    assert n == 360 and false <= 3


def test_carbonate_filter_false_rate_on_a_real_carbon_line_map(raman_data):
    """A second real data set: the 235-spectrum Renishaw carbon line map, filter moved to
    its featureless 1800-2220 cm-1 stretch (between G and 2D). Measured: 0 of 705
    (22 of 705, 3.1 %, before the fix); at most 1 % allowed."""
    from naheo_spec.raman.presets import load_preset

    st = quiet(read_stack, raman_data / "spectrochempy__spectrochempy_data/wire/line.wdf",
               technique="raman")
    p = load_preset("carbonate")
    false, n = 0, 0
    for sh in (790.0, 940.0, 1090.0):
        res = quiet(analyze_raman_series, st, preset=_moved_carbonate(p, sh))
        ok = res.valid & np.isfinite(res.detection.carbonate_snr)
        false += int(res.carbonate_detected[ok].sum())
        n += int(ok.sum())
    assert n == 705 and false <= 0.01 * n


def test_carbonate_scan_false_rate_on_gaussian_noise_is_nominal():
    """The statistics themselves: 4000 rows of white Gaussian noise on a 3.2 cm-1 grid
    through the carbonate scan. The whole-scan false-alarm rate must be the one of a single
    3-sigma test, 0.135 % (5.4 expected). Measured: 7 of 4000 (0.18 %; 27 of 20000,
    0.135 %, on a longer run); 3.3 % with the earlier threshold and noise estimate. Allowed:
    at most 14 (Poisson p < 0.001)."""
    from naheo_spec.raman.fit import fit_bands
    from naheo_spec.raman.indicators import carbonate_group_snr, look_elsewhere_threshold
    from naheo_spec.raman.presets import load_preset

    x = np.arange(980.0, 1160.0, 3.18)
    y = np.random.default_rng(1).normal(0.0, 1.0, (4000, x.size))
    pre = load_preset("carbonate").with_min_fwhm(6.36)
    snr, _, _, _, geo = carbonate_group_snr(x, y, fit_bands(x, y, pre), pre, min_fwhm=6.36)
    false = int((snr >= look_elsewhere_threshold(3.0, geo)).sum())
    assert 10 < geo.n_trials < 30 and 10 < geo.dof < 40
    assert 1 <= false <= 14


def test_pipelines_take_a_path_and_series_convert_to_tables(raman_data):
    from naheo_spec import datasets
    from naheo_spec.errors import InputError

    path = raman_data / f"{RENISHAW}.txt"
    r = quiet(analyze_raman, path, preset="calcite")
    assert r.band("calcite_v1").center_cm1 == pytest.approx(1087.7, abs=0.1)
    with pytest.raises(InputError, match="one-spectrum file, got float"):
        analyze_raman(3.0)
    series = quiet(analyze_raman_series, datasets.path("raman_map"), preset="calcite")
    rows = series.to_records()
    assert len(rows) == len(series) > 1
    pd = pytest.importorskip("pandas")
    df = series.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == len(rows)
