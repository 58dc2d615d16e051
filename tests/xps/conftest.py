"""Paths to the real XPS files in ../shared/data/xps (skipped when absent outside CI)."""
from __future__ import annotations

import pytest

from conftest import SHARED_DATA, _require

XDL = "surfaceanalytics__xpsdeeplearning"
REF = f"{XDL}/references"


@pytest.fixture(scope="session")
def xps_data():
    return _require(SHARED_DATA / "xps")
