"""Flat CSV/JSON summary tables."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from naheo_spec.errors import InputError, StoreError
from naheo_spec.provenance import Provenance, file_sha256
from naheo_spec.records import Record
from naheo_spec.store import spectrum_to_record, write_summary_table

FIXED = ["name", "kind", "source_file", "source_sha256", "version"]


@pytest.fixture
def records(feo, feo_path):
    xanes = Record("FeO_xanes", "xanes",
                   {"e0_eV": 7118.78, "edge_step": 1 / 3, "pre_range_eV": (-150.0, -30.0),
                    "chi2": float("nan"), "kind": "collides"},
                   Provenance("xas.normalize", source_file=str(feo_path),
                              source_sha256=file_sha256(feo_path)))
    return [spectrum_to_record(feo, name="FeO"), xanes]


def test_json_table(records, feo_path, tmp_path):
    out = write_summary_table(tmp_path / "summary.json", records)
    rows = json.loads(out.read_text())
    assert [r["name"] for r in rows] == ["FeO", "FeO_xanes"]
    first_keys = list(rows[0])
    assert first_keys[:5] == FIXED and first_keys == list(rows[1])  # every column in every row
    assert first_keys[5:8] == ["element", "edge", "npts"]  # union in first-seen order
    assert rows[0]["npts"] == 473 and rows[0]["element"] == "Fe" and rows[0]["e0_eV"] is None
    assert rows[1]["e0_eV"] == 7118.78 and rows[1]["edge_step"] == 1 / 3
    assert rows[1]["pre_range_eV"] == [-150.0, -30.0] and rows[1]["chi2"] is None
    assert rows[1]["kind"] == "xanes" and rows[1]["summary.kind"] == "collides"
    sha = file_sha256(feo_path)
    assert all(r["source_sha256"] == sha and r["version"] for r in rows)


def test_csv_table(records, tmp_path):
    out = write_summary_table(tmp_path / "summary.csv", records)
    with open(out, newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        assert reader.fieldnames[:5] == FIXED and "e0_eV" in reader.fieldnames
    assert rows[0]["npts"] == "473" and rows[0]["e0_eV"] == ""
    assert float(rows[1]["edge_step"]) == 1 / 3  # full precision survives the text table
    assert json.loads(rows[1]["pre_range_eV"]) == [-150.0, -30.0]
    assert float(rows[0]["axis_min"]) == pytest.approx(6899.7379)


def test_table_refuses_overwrite_and_unknown_format(records, tmp_path):
    out = tmp_path / "t.csv"
    write_summary_table(out, records)
    before = out.read_bytes()
    with pytest.raises(StoreError, match=r"t\.csv.*exists"):
        write_summary_table(out, records[:1])
    assert out.read_bytes() == before
    write_summary_table(out, records[:1], overwrite=True)
    assert len(out.read_text().splitlines()) == 2
    with pytest.raises(InputError, match=r"suffix '\.txt'"):
        write_summary_table(tmp_path / "t.txt", records)
    write_summary_table(tmp_path / "t.txt", records, fmt="json")
    assert len(json.loads((tmp_path / "t.txt").read_text())) == 2
    with pytest.raises(InputError, match="fmt='xlsx'"):
        write_summary_table(tmp_path / "t.x", records, fmt="xlsx")
    assert np.all([p.suffix != ".tmp" for p in tmp_path.iterdir()])


def test_written_files_get_normal_permissions(records, tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        out = write_summary_table(tmp_path / "perm.json", records)
    finally:
        os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0o600
