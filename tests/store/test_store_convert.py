"""Lossless JSON codec and Spectrum <-> Record conversion (in memory)."""
from __future__ import annotations

import datetime
import math
from pathlib import Path

import numpy as np
import pytest

from naheo_spec.errors import InputError, StoreError
from naheo_spec.provenance import Provenance
from naheo_spec.records import Record
from naheo_spec.model import SourceInfo, Spectrum
from naheo_spec.store import dumps_lossless, loads_lossless, record_to_spectrum, spectrum_to_record


@pytest.mark.parametrize("value", [
    {"pre_range_eV": (-150.0, -30.0), "nnorm": 2, "flat": True, "w": None},
    {"nested": {"a": [1, (2, 3.5), {"b": ()}], "c": "µ"}, "path": Path("/tmp/x.xdi")},
    {1: "int key", (2, 3): "tuple key", "__tuple__": "looks like a tag"},
    {"third": 1 / 3, "tiny": 5e-324, "big": 2 ** 70, "z": 1 - 2j, "s": {3, 1, 2}},
    {"start": datetime.datetime(2008, 8, 25, 12, 1, tzinfo=datetime.timezone.utc),
     "day": datetime.date(2008, 5, 27)},
])
def test_lossless_json_round_trips(value):
    assert loads_lossless(dumps_lossless(value)) == value


def test_lossless_json_keeps_arrays_and_nan():
    arr = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    back = loads_lossless(dumps_lossless({"a": arr, "n": float("nan"), "i": np.int16(3)}))
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], arr)
    assert math.isnan(back["n"]) and back["i"] == 3


def test_spectrum_record_round_trip_in_memory(feo):
    rec = spectrum_to_record(feo)
    assert rec.kind == "spectrum" and rec.signal in rec.data and rec.axes[0] in rec.data
    assert rec.name == "FeO_311_xdi"
    assert rec.summary["npts"] == 473 and "reference" in rec.summary["channels"]
    assert rec.summary["axis_min"] == pytest.approx(6899.7379)
    back = record_to_spectrum(rec)
    assert np.array_equal(back.mu, feo.mu) and back.metadata == feo.metadata
    assert back.source == feo.source


def test_spectrum_without_reference_and_odd_labels():
    s = Spectrum(np.arange(10.0), np.ones(10), axis_unit="cm-1", signal_label="axis",
                 source=SourceInfo(path=None, format="synthetic"))
    rec = spectrum_to_record(s, name="raman")
    assert rec.axes == ["axis"] and rec.signal == "axis_"  # no key clash with the axis
    back = record_to_spectrum(rec)
    assert back.reference is None and back.signal_label == "axis" and back.axis_unit == "cm-1"
    assert back.source == s.source


def test_wrong_inputs_named():
    with pytest.raises(InputError, match="needs a Spectrum"):
        spectrum_to_record(np.ones(3))
    rec = Record("r", "xanes", {}, Provenance("xas.normalize"))
    with pytest.raises(StoreError, match="record 'r' has kind 'xanes'"):
        record_to_spectrum(rec)
    with pytest.raises(StoreError, match=r"parameter 'p'\.f: cannot store .*function"):
        dumps_lossless({"f": print}, where="'p'")
