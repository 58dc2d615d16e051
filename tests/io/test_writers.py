"""XDI and CSV writers: round trip through the readers, provenance, no clobbering."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import CERIC, LARCH

from naheo_spec import __version__
from naheo_spec.errors import StoreError
from naheo_spec.io import read_spectrum
from naheo_spec.io.writers import write_csv, write_xdi

CASES = [(CERIC, "FeO_311.xdi", {}), (LARCH, "fe.060", {}), (LARCH, "NiO.prj", {"scan": "NiO.000"})]


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_spectrum(path, **kw)


@pytest.mark.parametrize("writer,fmt", [(write_xdi, "xdi"), (write_csv, "xas-columns")])
@pytest.mark.parametrize("sub,name,kw", CASES, ids=[c[1] for c in CASES])
def test_round_trip(xas_data, tmp_path, writer, fmt, sub, name, kw):
    s = _read(xas_data / sub / name, **kw)
    out = writer(s, tmp_path / "out.file")
    r = _read(out)
    assert r.source.format == fmt
    assert (r.element, r.edge) == (s.element, s.edge)
    np.testing.assert_allclose(r.energy, s.energy, rtol=1e-11)
    np.testing.assert_allclose(r.mu, s.mu, rtol=1e-11)
    if s.reference is None:
        assert r.reference is None
    else:
        np.testing.assert_allclose(r.reference, s.reference, rtol=1e-11)
    assert not any("guessed" in w.message for w in r.warnings)   # element/edge are in the header


def test_xdi_header_provenance(xas_data, tmp_path):
    s = _read(xas_data / LARCH / "NiO.prj", scan="NiO.000")
    out = write_xdi(s, tmp_path / "nio.xdi")
    text = out.read_text()
    assert text.startswith(f"# XDI/1.0 naheo_spec/{__version__}")
    assert f"naheo_spec.source_sha256: {s.source.sha256}" in text
    assert "Meta.athena_eshift_eV: 1.252" in text
    r = _read(out)
    assert r.metadata["naheo_spec.version"] == __version__
    assert r.metadata["meta.athena_nnorm_degree"] == "2"


def test_larch_reads_our_xdi(xas_data, tmp_path):
    larch_io = pytest.importorskip("larch.io")
    s = _read(xas_data / CERIC / "FeO_311.xdi")
    g = larch_io.read_xdi(str(write_xdi(s, tmp_path / "feo.xdi")))
    assert list(g.array_labels) == ["energy", "mu", "murefer"]
    np.testing.assert_allclose(g.energy, s.energy)


@pytest.mark.parametrize("writer", [write_xdi, write_csv])
def test_no_overwrite_by_default(xas_data, tmp_path, writer):
    s = _read(xas_data / LARCH / "fe.060")
    path = tmp_path / "x.out"
    path.write_text("keep me")
    with pytest.raises(StoreError, match="x.out"):
        writer(s, path)
    assert path.read_text() == "keep me"
    writer(s, path, overwrite=True)
    assert _read(path).npts == s.npts
