"""The example data that ships: real files, intact, licensed, readable."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from naheo_spec import datasets
from naheo_spec.errors import InputError
from naheo_spec.model import Spectrum, SpectrumCollection


def test_every_dataset_is_intact_and_licensed():
    names = datasets.list()
    assert len(names) >= 20
    total = 0
    for n in names:
        d = datasets.info(n)
        data = d.path.read_bytes()
        total += len(data)
        assert hashlib.sha256(data).hexdigest() == d.sha256, n
        assert d.licence_file.is_file() and d.path.name in d.licence_file.read_text(), n
        assert d.licence in ("MIT", "CC-BY-4.0", "Apache-2.0", "public domain"), n   # no GPL
    assert total < 3 * 2 ** 20            # a few MB at most


#: Formats whose readers land with the XPS and Raman pipelines (removed at integration).
PENDING: set[str] = set()


@pytest.mark.parametrize("name", datasets.list())
def test_every_dataset_reads_with_its_technique(name):
    if name in PENDING:
        pytest.skip("reader arrives with its technique's pipeline")
    obj = datasets.load(name)
    blocks = [obj] if isinstance(obj, Spectrum) else list(obj)
    assert blocks
    tech = datasets.info(name).technique
    for b in blocks:
        assert b.axis_kind.technique == tech or (tech == "xps" and b.axis_kind.value ==
                                                  "kinetic_energy")
        assert np.all(np.diff(b.axis) > 0)


def test_a_few_physics_facts_of_the_shipped_data():
    nio = datasets.load("nio_ni_k")
    assert isinstance(nio, SpectrumCollection) and len(nio) == 11
    assert nio["NiO_000"].element == "Ni"
    mno2 = datasets.load("mno2_mn_k")
    assert mno2.reference is not None            # the simultaneous foil
    cal = datasets.load("raman_calcite")
    band = (cal.axis > 1070) & (cal.axis < 1100)
    assert abs(cal.axis[band][np.argmax(cal.signal[band])] - 1088.0) < 2.0   # calcite nu1


def test_unknown_name_suggests():
    with pytest.raises(InputError, match="did you mean|Did you mean"):
        datasets.path("mno2_mnk")


def test_credits_quote_the_ceric_line():
    assert "doi:10.5281/zenodo.10778098" in datasets.credits(["mno_mn_k"])


def test_xps_oxide_references_ship_with_their_quirks():
    """EX491 (CasaXPS-written, CR CR LF comment lines) reads whole: 62 blocks; its NiO Ni 2p is
    the same measurement as xps_ni_references' (identical counts), and the NiO lattice O 1s
    line sits near 529.4 eV before charge referencing."""
    ex = datasets.load("xps_fe_ni_co_oxide_references")
    assert isinstance(ex, SpectrumCollection) and len(ex) == 62
    ni = datasets.load("xps_ni_references")["NiO Ni 2p"]
    assert np.array_equal(ex["NiO Ni 2p"].signal, ni.signal)
    o1s = ex["NiO O 1s"]
    band = (o1s.axis > 527) & (o1s.axis < 533)
    assert abs(o1s.axis[band][np.argmax(o1s.signal[band])] - 529.4) < 0.3


def test_figures_of_bundled_cc_by_data_carry_the_credit(tmp_path):
    """CC BY requires attribution: a figure made from a bundled CERIC file (or a copy of it
    under another name) carries the credit line; public-domain data carry none."""
    import shutil
    import warnings

    from naheo_spec.plot.xanes import plot_normalization
    from naheo_spec.xas.xanes import analyze_xanes

    copy = tmp_path / "my_scan.xdi"
    shutil.copy(datasets.path("mno_mn_k"), copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cc_by = analyze_xanes(copy, markers=False)
        public = analyze_xanes(datasets.load("nioh2_ni_k"), markers=False)

    def credit(fig):
        return [t.get_text() for t in fig.texts if t.get_gid() == "data-credit"]

    assert credit(plot_normalization(cc_by)) == [datasets.info("mno_mn_k").credit]
    assert credit(plot_normalization(public)) == []
