"""Coded warnings: records, emission, the sparse stack table."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from naheo_spec.diagnostics import (StackWarnings, StackWarningsBuilder, WarningCode,
                                    WarningRecord, capture, registered_codes)
from naheo_spec.errors import QualityWarning, RepairWarning

TEST_CODE = WarningCode("test.example.noisy", QualityWarning, "A code used by the tests.")


def test_emitted_warning_carries_its_record():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = TEST_CODE.warn("scan 3 is noisy", snr=2.0)
    assert caught[0].category is QualityWarning
    assert caught[0].message.record == rec and caught[0].message.code == "test.example.noisy"
    assert rec.to_json() == {"code": "test.example.noisy", "message": "scan 3 is noisy"}
    assert rec.data["snr"] == 2.0 and str(rec) == "scan 3 is noisy"


def test_codes_are_declared_once_and_well_formed():
    with pytest.raises(ValueError, match="lower-case and dotted"):
        WarningCode("Bad Code", QualityWarning, "x")
    with pytest.raises(ValueError, match="already declared"):
        WarningCode("test.example.noisy", RepairWarning, "different meaning")
    import naheo_spec.io.repair  # noqa: F401  (declares io.repair.*)

    assert "io.repair.sorted" in registered_codes()


def test_capture_keeps_records_and_wraps_foreign_warnings():
    with capture() as got:
        TEST_CODE.warn("a")
        warnings.warn("from elsewhere", UserWarning)
    assert [r.code for r in got] == ["test.example.noisy", "general.unclassified"]


def test_stack_table_counts_masks_rows_and_concat():
    b = StackWarningsBuilder(6)
    b.add(TEST_CODE, [1, 4], "noisy")
    b.add("io.repair.sorted", [4], ["sorted at 2 places"])
    b.add(TEST_CODE, [1], "noisy")                       # repeat: one warning
    t = b.build()
    assert t.counts() == {"test.example.noisy": 2, "io.repair.sorted": 1}
    assert t.mask(TEST_CODE).tolist() == [False, True, False, False, True, False]
    assert [r.code for r in t.for_row(4)] == ["test.example.noisy", "io.repair.sorted"]
    assert t.for_row(0) == ()
    both = StackWarnings.concat([t, t.take([4, 5])])
    assert both.n_rows == 8 and both.mask(TEST_CODE).tolist()[6:] == [True, False]
    back = StackWarnings.from_arrays(t.to_arrays())
    assert back == t
    summary = t.summary(unit="scans")
    assert summary[0].message.startswith("2 of 6 scans: noisy")


def test_million_rows_keep_a_small_message_table():
    n = 1_000_000
    b = StackWarningsBuilder(n)
    b.add(TEST_CODE, np.arange(n), "noisy")
    t = b.build()
    assert len(t.messages) == 1 and t.counts()["test.example.noisy"] == n
    assert isinstance(t.for_row(123_456)[0], WarningRecord)
