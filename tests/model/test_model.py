"""The data model: immutability, value equality, stacks with coordinates, collections."""
from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

from naheo_spec.diagnostics import StackWarningsBuilder
from naheo_spec.errors import InputError, ReadError
from naheo_spec.model import (AxisKind, SourceInfo, Spectrum, SpectrumCollection, SpectrumStack,
                              XpsAcquisition)


def _spec(**kw):
    e = np.linspace(840.0, 890.0, 501)
    return Spectrum(e, np.exp(-0.5 * ((e - 854.0) / 1.2) ** 2), axis_kind="binding_energy",
                    signal_label="intensity", **kw)


def test_arrays_and_dicts_are_read_only():
    s = _spec(metadata={"a": 1}, channels={"transmission": np.ones(501)})
    for arr in (s.axis, s.signal, s.channels["transmission"]):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0
    with pytest.raises(TypeError, match="read-only"):
        s.metadata["a"] = 2
    with pytest.raises(Exception):          # frozen dataclass
        s.axis = np.zeros(3)


def test_value_equality_and_hash():
    a = _spec(source=SourceInfo(path="x.vms", scan="NiO Ni 2p"))
    b = _spec(source=SourceInfo(path="x.vms", scan="NiO Ni 2p"))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    c = a.with_changes(signal=a.signal * 2)
    assert a != c
    assert a.with_changes(metadata={"k": 1}) != a          # metadata counts


def test_axis_kinds_units_and_display():
    s = _spec()
    assert s.axis_kind is AxisKind.BINDING_ENERGY and s.axis_unit == "eV"
    assert s.axis_kind.display_descending and s.technique == "xps"
    assert Spectrum(np.arange(5.0), np.ones(5), axis_kind="raman_shift").axis_unit == "1/cm"
    with pytest.raises(InputError, match="axis kind"):
        Spectrum(np.arange(5.0), np.ones(5), axis_kind="banana")


def test_sigma_needs_its_source():
    with pytest.raises(InputError, match="sigma_source"):
        _spec(sigma=np.ones(501))
    s = _spec(sigma=np.ones(501), sigma_source="estimated")
    assert s.sigma_source == "estimated"


def test_typed_acquisition_and_reference_shortcut():
    acq = XpsAcquisition(photon_energy_eV=1486.61, region="Ni 2p")
    s = _spec(acquisition=acq)
    assert s.acquisition.photon_energy_eV == 1486.61
    x = Spectrum(np.arange(5.0), np.ones(5), reference=np.zeros(5))
    assert x.reference is x.channels["reference"]
    assert x.with_changes(reference=None).reference is None


def test_repr_is_short():
    s = _spec(source=SourceInfo(path="/a/b/NiO.vms", scan="NiO Ni 2p"))
    assert len(repr(s)) < 200 and "NiO.vms:NiO Ni 2p" in repr(s)


def test_million_row_stack_is_cheap():
    """10^6 spectra with coordinates and a warning table: no Python object per row."""
    n, m = 1_000_000, 20
    signals = np.zeros((n, m), dtype=np.float32)
    coords = {"x": np.arange(n, dtype=float) % 1000, "y": np.arange(n, dtype=float) // 1000,
              "time": np.linspace(0, 3600, n)}
    tracemalloc.start()
    t0 = time.perf_counter()
    b = StackWarningsBuilder(n)
    b.add("xas.foil.none", np.arange(0, n, 3), "no foil: energy scale not calibrated")
    st = SpectrumStack(np.arange(m, dtype=float), signals, coordinates=coords,
                       coordinate_units={"x": "um", "y": "um", "time": "s"},
                       map_shape=(1000, 1000), row_warnings=b.build())
    elapsed = time.perf_counter() - t0
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # what the stack holds beyond its arrays: the warning table's arrays (int64 row +
    # int32 code and message index = 16 B per entry) and a few small objects
    table = st.row_warnings.rows.nbytes * 2
    assert elapsed < 1.0, elapsed
    assert held - table < 10 * 2 ** 20, held        # < 10 MiB beyond the arrays
    assert st.signals.dtype == np.float32 and not st.signals.flags.writeable
    assert len(st) == n and st.map_shape == (1000, 1000)
    assert st[999_999].metadata["x"] == 999.0
    assert st.row_warnings.counts() == {"xas.foil.none": 333_334}


def test_stack_rows_take_and_from_spectra():
    a = _spec(metadata={"time": 0.0}, source=SourceInfo(path="a.txt"))
    b = _spec(metadata={"time": 60.0}, source=SourceInfo(path="b.txt"))
    st = SpectrumStack.from_spectra([a, b])
    assert list(st.coordinates["time"]) == [0.0, 60.0]
    assert st[1].source.path == "b.txt" and st[1].axis_kind is AxisKind.BINDING_ENERGY
    sub = st.take([1])
    assert len(sub) == 1 and sub.coordinates["time"][0] == 60.0
    with pytest.raises(InputError, match="different axis kinds"):
        SpectrumStack.from_spectra([a, Spectrum(np.arange(5.0), np.ones(5))])


@pytest.mark.parametrize("labelled", [True, False])
def test_contiguous_slice_is_take_with_views(labelled):
    rng = np.random.default_rng(1)
    n, m = 12, 7
    b = StackWarningsBuilder(n)
    b.add("xas.read.repaired", [2, 5, 9], "fixed")
    st = SpectrumStack(np.arange(m, dtype=float), rng.random((n, m)).astype(np.float32),
                       references=rng.random((n, m)), sigma=rng.random((n, m)),
                       coordinates={"time": np.arange(n) * 10.0}, mask=np.arange(n) != 4,
                       labels=[f"s{i}" for i in range(n)] if labelled else None,
                       row_warnings=b.build(), source=SourceInfo(path="m.h5", scan="map"))
    for sl in (slice(3, 10), slice(0, n), slice(8, None), slice(-4, -1), slice(5, 5)):
        rows = np.arange(n)[sl]
        a, v = st.take(rows), st[sl]
        assert v.equals(a) and [v.label(i) for i in range(len(v))] == \
            [st.label(int(i)) for i in rows]
        if len(v):
            assert np.shares_memory(v.signals, st.signals)      # a view, not a copy
    assert st[1:10:2].equals(st.take(np.arange(1, 10, 2)))     # strided: take


def test_collection_selects_by_forgiving_name_and_suggests():
    blocks = [_spec(source=SourceInfo(path="f.vms", scan=name, aliases=(region,)))
              for name, region in (("NiO Ni 2p", "Ni 2p"), ("NiO O 1s", "O 1s"))]
    c = SpectrumCollection(blocks, path="f.vms")
    assert c["nio_ni_2p"] is blocks[0] and c["Ni 2p"] is blocks[0] and c[1] is blocks[1]
    with pytest.raises(ReadError, match=r"no scan or block named 'NiO Ni2'.*did you mean"):
        c.select("NiO Ni2")
    dup = SpectrumCollection(blocks + [blocks[0]], path="f.vms")
    with pytest.raises(ReadError, match="2 blocks answer to"):
        dup.select("Ni 2p")
