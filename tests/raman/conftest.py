"""Fixtures for the Raman tests: the real spectra in ../shared/data/raman and test presets.

Real-data tests skip when the folder is absent, except under CI where that is a failure.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from conftest import SHARED_DATA

HERE = Path(__file__).resolve().parent
RAMAN = SHARED_DATA / "raman"
LABSPEC = "spectrochempy__spectrochempy_data/labspec"
WIRE = "spectrochempy__spectrochempy_data/wire"
RENISHAW = "h2020charisma__ramanchada2/Renishaw/nCal_Qontor785_z005H12_100_1x3s"
ANATASE = ("h2020charisma__ramanchada2/rruf/"
           "Anatase__R060277__Broad_Scan____0__unoriented__Raman_Data_RAW__21346.txt")
D1_PRESET = HERE / "presets" / "d1_oxide_like.toml"
ANATASE_PRESET = HERE / "presets" / "anatase_known_answer.toml"


@pytest.fixture(scope="session")
def raman_data() -> Path:
    """Path to ../shared/data/raman."""
    if not RAMAN.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real-data folder {RAMAN} is missing in CI")
        pytest.skip(f"real-data folder {RAMAN} not present (set NAHEO_SHARED_DATA)")
    return RAMAN


def quiet(fn, *args, **kwargs):
    """Call ``fn`` with naheo_spec's emitted warnings silenced (records are still kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="session")
def d1_series(raman_data):
    """The LabSpec time series of sample D_1 analysed with the D_1 test preset."""
    from naheo_spec.io import read_stack
    from naheo_spec.raman.pipeline import analyze_raman_series

    stack = quiet(read_stack, raman_data / LABSPEC / "serie190214-1.txt", technique="raman")
    return stack, quiet(analyze_raman_series, stack, preset=D1_PRESET)


def iso_log(path, times, *, start, offset_s):
    """A potentiostat-like log: ISO 8601 timestamps (no zone) and Ewe = 3 V + 1 mV/s x
    the spectrum clock; its first row is at spectrum time ``offset_s``."""
    import datetime as dt

    t0 = dt.datetime.fromisoformat(start)
    rows = [f"{(t0 + dt.timedelta(seconds=float(t - offset_s))).isoformat()},{3.0 + 0.001 * t:.6f}"
            for t in times if t >= offset_s]
    path.write_text("timestamp,Ewe/V\n" + "\n".join(rows) + "\n")
    return path
