"""Shared fixtures: paths to the real measured spectra in ../shared/data.

Tests that need real data use the ``xas_data`` fixture (or ``shared_data``).
When the folder is absent they are skipped with a clear reason -- except under
CI (environment variable CI set), where a missing folder is a failure.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NAHEO_SHARED_DATA", REPO.parent / "shared" / "data"))
CERIC = "amecchina__CERIC-Reference-Spectra-Repository"
XDL = "XraySpectroscopy__XASDataLibrary"
LARCH = "xraypy__xraylarch"


def _require(folder: Path) -> Path:
    if not folder.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real-data folder {folder} is missing in CI")
        pytest.skip(f"real-data folder {folder} not present (set NAHEO_SHARED_DATA)")
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def xas_data() -> Path:
    """Path to ../shared/data/xas (subfolders CERIC, XDL, LARCH named in this module)."""
    return _require(SHARED_DATA / "xas")


def quiet(fn, *args, **kw):
    """``fn(*args, **kw)`` with warnings silenced (tests that assert numbers, not warnings)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def common_stack(xas_data, folder, names):
    """Real spectra (and their foils) interpolated onto the first one's grid, overlap only."""
    from naheo_spec.io import read_spectrum
    from naheo_spec.model import SpectrumStack

    specs = [quiet(read_spectrum, xas_data / folder / n) for n in names]
    lo, hi = max(s.energy[0] for s in specs), min(s.energy[-1] for s in specs)
    e = specs[0].energy
    return SpectrumStack.from_spectra(specs, axis=e[(e >= lo) & (e <= hi)])
