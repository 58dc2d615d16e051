"""Fixtures for the store tests: real spectra read from ../shared/data/xas."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from naheo_spec.provenance import file_sha256
from naheo_spec.model import SourceInfo, Spectrum

CERIC = "amecchina__CERIC-Reference-Spectra-Repository"


def _fallback_read_xdi(path: Path) -> Spectrum:
    """Minimal XDI parse used only while naheo_spec.io.read_spectrum does not exist yet.

    TODO(lead): drop once naheo_spec.io.read_spectrum is merged (the fixture prefers it already).
    """
    meta, labels = {}, []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        if ":" in body and not body.startswith(("/", "-")):
            key, value = body.split(":", 1)
            meta[key.strip().lower()] = value.strip()
        elif body and not body.startswith(("/", "-")):
            labels = body.split()
    data = np.loadtxt(path)
    col = {name: data[:, i] for i, name in enumerate(labels)}
    return Spectrum(axis=col["energy"], signal=col["mutrans"], reference=col.get("murefer"),
                    element=meta.get("element.symbol"), edge=meta.get("element.edge"),
                    metadata=meta,
                    source=SourceInfo(path=str(path), sha256=file_sha256(path), format="xdi",
                                      columns={"mu": "mutrans", "reference": "murefer"}))


def read_real(path: Path) -> Spectrum:
    try:
        from naheo_spec.io import read_spectrum
    except ImportError:
        return _fallback_read_xdi(path)
    return read_spectrum(path)


@pytest.fixture(scope="session")
def feo_path(xas_data) -> Path:
    return xas_data / CERIC / "FeO_311.xdi"


@pytest.fixture(scope="session")
def feo(feo_path) -> Spectrum:
    """FeO at the Fe K edge (ESRF BM08 GILDA, 473 points, with the simultaneous foil murefer)."""
    return read_real(feo_path)
