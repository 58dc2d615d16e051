"""`naheo-spec raman` on real files: JSON contract, masked rows, store, table, plots, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from naheo_spec.cli.main import main

from raman.conftest import D1_PRESET, LABSPEC, RENISHAW, WIRE

KEYS = ["file", "index", "coordinate", "bands", "carbonate_index", "carbonate_index_err",
        "carbonate_upper_limit", "a1g_eg_ratio", "spikes_removed", "warnings"]
BAND_KEYS = ["name", "center_cm1", "center_err_cm1", "fwhm_cm1", "area", "area_err", "detected"]


def run_json(capsys, args):
    rc = main(["raman", *map(str, args), "--json"])
    out = capsys.readouterr()
    return rc, json.loads(out.out), out.err


def test_cli_choices_match_the_library():
    from naheo_spec.cli.raman import BASELINES, JSON_KEYS, SHAPES
    from naheo_spec.raman.baseline import METHODS
    from naheo_spec.raman.pipeline import JSON_KEYS as LIB_KEYS
    from naheo_spec.raman.presets import SHAPES as LIB_SHAPES

    assert BASELINES == METHODS and SHAPES == LIB_SHAPES and JSON_KEYS == LIB_KEYS


def test_json_in_input_and_series_order_with_masked_rows(raman_data, tmp_path, capsys):
    files = [raman_data / LABSPEC / "SMC1-Initial_RT.txt", raman_data / WIRE / "undefined.wdf",
             raman_data / LABSPEC / "serie190214-1.txt"]
    rc, rows, err = run_json(capsys, [*files, "--preset", D1_PRESET, "-o", tmp_path / "r.h5",
                                      "--table", tmp_path / "bands.csv"])
    assert rc == 1 and "undefined.wdf" in err and "refusing to guess" in err
    assert len(rows) == 1 + 1 + 168
    assert [Path(r["file"]).name for r in rows[:3]] == [f.name for f in files]
    for r in rows:
        assert list(r)[:len(KEYS)] == KEYS
    single = rows[0]
    assert single["index"] == 0 and single["coordinate"] is None and "error" not in single
    assert [b["name"] for b in single["bands"]] == ["band_460", "band_537", "band_624",
                                                    "carbonate_1072"]
    assert all(list(b) == BAND_KEYS for b in single["bands"])
    assert single["carbonate_index"] > 0 and single["carbonate_upper_limit"] is None
    assert rows[1]["error"] and rows[1]["bands"] == []
    series = rows[2:]
    assert [r["index"] for r in series] == list(range(168))
    assert series[1]["coordinate"] == {"time": pytest.approx(59.8802)}
    masked = [r for r in series if r.get("error")]
    assert len(masked) == 58 and all(r["bands"] == [] and r["carbonate_index"] is None
                                     for r in masked)
    assert all(w["code"] in {"raman.qc.all_zero", "raman.qc.masked"}
               for r in masked for w in r["warnings"])
    from naheo_spec.store import check_nexus, read_records

    assert check_nexus(tmp_path / "r.h5") == []
    kinds = sorted(r.kind for r in read_records(tmp_path / "r.h5"))
    assert kinds == ["raman", "raman_series"]
    assert (tmp_path / "r.csv").is_file()
    assert len((tmp_path / "bands.csv").read_text().splitlines()) == 1 + 1 + 168


def test_calibration_plots_and_text_output(raman_data, tmp_path, capsys):
    figs = tmp_path / "figs"
    rc = main(["raman", str(raman_data / LABSPEC / "SMC1-Initial_RT.txt"), "--preset",
               str(D1_PRESET), "--calibrate-si", str(raman_data / LABSPEC /
                                                      "532nm-191216-Si_200mu.txt"),
               "--plot", str(figs)])
    out = capsys.readouterr()
    assert rc == 0
    assert "offset +2.41 cm-1" in out.err and "carbonate_1072 1069" in out.out
    assert sorted(p.name for p in figs.iterdir()) == ["SMC1_Initial_RT_0_baseline.png",
                                                      "SMC1_Initial_RT_0_fit.png"]


def test_series_of_single_files_with_coordinates(raman_data, tmp_path, capsys):
    files = sorted((raman_data / "charlesll__rampy").glob("VG186_*.txt"))
    rc, rows, _ = run_json(capsys, [*files, "--names-as-coordinates", "--preset", "carbonate",
                                    "--plot", tmp_path / "f"])
    assert rc == 0 and [Path(r["file"]).name for r in rows] == [f.name for f in files]
    assert [r["coordinate"]["time"] for r in rows] == [0.0, 288.0, 433.0]
    assert any(p.name.endswith("_bands.png") for p in (tmp_path / "f").iterdir())
    bad = tmp_path / "log.csv"
    bad.write_text("potential (V)\n2.0\n2.1\n")            # 2 rows for 3 spectra
    rc, rows, _ = run_json(capsys, [*files, "--coordinates", bad, "--preset", "carbonate"])
    assert rc == 0 and len(rows) == 3                      # processed without the coordinates
    codes = {w["code"] for w in rows[0]["warnings"]}
    assert "raman.coordinates.rejected" in codes


def test_outputs_checked_before_any_work(raman_data, tmp_path, capsys):
    existing = tmp_path / "r.h5"
    existing.write_text("")
    rc = main(["raman", str(raman_data / f"{RENISHAW}.wdf"), "-o", str(existing)])
    err = capsys.readouterr().err
    assert rc == 1 and "exists" in err and "--overwrite" in err
    rc = main(["raman", str(raman_data / f"{RENISHAW}.wdf"), "--preset", "nope"])
    assert rc == 1 and "preset" in capsys.readouterr().err


def test_raman_help_is_light():
    import subprocess
    import sys

    code = ("from naheo_spec.cli.main import main\nimport contextlib, io, sys\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['raman', '--help'])\n"
            "heavy = {'scipy', 'lmfit', 'pybaselines', 'matplotlib', 'h5py', 'renishawWiRE', "
            "'spc_io', 'pandas'}\n"
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_check_axis_reports_without_applying(raman_data, capsys):
    si = raman_data / LABSPEC / "532nm-191216-Si_200mu.txt"
    spec = raman_data / LABSPEC / "SMC1-Initial_RT.txt"
    rc, plain, _ = run_json(capsys, [spec, "--preset", D1_PRESET])
    rc2, checked, err = run_json(capsys, [spec, "--preset", D1_PRESET, "--check-axis", si])
    assert "offset +2.41 cm-1" in err
    assert rc == rc2 == 0
    assert checked[0]["bands"] == plain[0]["bands"]          # not applied
    rc3, applied, _ = run_json(capsys, [spec, "--preset", D1_PRESET, "--calibrate-si", si])
    shift = applied[0]["bands"][3]["center_cm1"] - plain[0]["bands"][3]["center_cm1"]
    assert shift == pytest.approx(-2.41, abs=0.3)


def test_python_dash_m_runs_the_cli(tmp_path):
    """``python -m naheo_spec`` is the ``naheo-spec`` command (naheo_spec/__main__.py)."""
    import os
    import subprocess
    import sys

    from naheo_spec import datasets

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "naheo_spec", "raman",
                          str(datasets.path("raman_calcite")), "--preset", "calcite",
                          "--resolution", "3", "--no-neighbour-despike", "--json"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)
    assert entries[0]["bands"][0]["name"] == "calcite_v1"
    assert abs(entries[0]["bands"][0]["center_cm1"] - 1087.7) < 0.5


def test_time_offset_aligns_a_timestamped_log(raman_data, tmp_path, capsys):
    """``--time-offset`` (the Python API's ``time_offset``): an ISO-timestamped potentiostat
    log whose first row was written at spectrum time ~359 s joins by time only once the
    offset is given; without it every potential is read from the wrong row."""
    import numpy as np

    from naheo_spec.io import read_stack

    from raman.conftest import iso_log, quiet

    series = raman_data / LABSPEC / "serie190214-1.txt"
    t = np.asarray(quiet(read_stack, series, technique="raman").coordinates["time"])[:110]
    offset = float(t[t >= 300.0][0])
    log = iso_log(tmp_path / "ec.csv", t, start="2026-03-29T01:30:00", offset_s=offset)
    args = [series, "--preset", "carbonate", "--coordinates", log, "--join", "time"]
    rc, rows, _ = run_json(capsys, [*args, "--time-offset", offset])
    assert rc == 0 and len(rows) == 168
    ok = np.flatnonzero(t >= offset)
    pot = np.array([rows[i]["coordinate"]["potential"] for i in ok], dtype=float)
    assert pot == pytest.approx(3.0 + 0.001 * t[ok], abs=1e-6)
    _, plain, _ = run_json(capsys, args)
    off = np.array([plain[i]["coordinate"]["potential"] for i in ok], dtype=float)
    assert np.nanmedian(off - pot) == pytest.approx(0.001 * offset, abs=1e-3)
