"""The reader registry: discovery, choice by content, forced formats, plug-ins, and what
the neutral text reader makes of the XPS and Raman text files in shared."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from naheo_spec.errors import InputError, ReadError
from naheo_spec.io import read, registry
from naheo_spec.io.registry import FormatSpec, formats, get_format


def test_builtin_formats_are_discovered():
    names = {s.name for s in formats()}
    assert {"xdi", "xas-columns", "athena", "hdf5", "nexus-store", "text-xy"} <= names
    assert all(s.technique in ("any", "xas") for s in formats("xas"))
    assert get_format("ascii").name == "xas-columns"
    with pytest.raises(InputError, match="format 'nope' is not known"):
        get_format("nope")


def _plugin_spec():
    def sniff(probe):
        return 0.99 if (probe.head_text or "").startswith("MYLAB") else 0.0

    def read_(probe, **kw):
        from naheo_spec.model import SourceInfo, Spectrum

        x = np.arange(10.0)
        return [Spectrum(x, x ** 2, axis_kind="raman_shift",
                         source=SourceInfo(path=probe.path, format="mylab"))]

    return FormatSpec(name="mylab", technique="raman", description="test plug-in",
                      sniff=sniff, read=read_)


class _EP:
    def __init__(self, name, obj, broken=False):
        self.name, self.value, self._obj, self._broken = name, f"mylab:{name}", obj, broken

    def load(self):
        if self._broken:
            raise ImportError("no module named mylab_broken")
        return self._obj


def test_entry_point_plugins_register_and_broken_ones_are_skipped(tmp_path, monkeypatch):
    import importlib.metadata as md

    eps = [_EP("mylab", _plugin_spec()), _EP("broken", None, broken=True)]
    monkeypatch.setattr(md, "entry_points", lambda group=None: eps if group ==
                        registry.ENTRY_POINT_GROUP else [])
    registry._reset_cache()
    try:
        with pytest.warns(Warning, match="reader plug-in 'broken'") as rec:
            specs = formats()
        assert any(w.message.code == "io.registry.plugin_failed" for w in rec)
        assert "mylab" in {s.name for s in specs}
        f = tmp_path / "x.mylab"
        f.write_text("MYLAB export\n1 2\n")
        (s,) = read(f)
        assert s.source.format == "mylab" and s.axis_kind.value == "raman_shift"
    finally:
        registry._reset_cache()


def test_options_a_format_does_not_take_are_refused(xas_data):
    from conftest import LARCH

    with pytest.raises(InputError, match="option axis_kind= does not apply to 'athena'"):
        read(xas_data / LARCH / "FeO.prj", axis_kind="raman_shift")


def test_unrecognised_text_says_why(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("just words\nand more words\n")
    with pytest.raises(ReadError, match="notes.txt: no rows of numbers"):
        read(f)


XPS_TEXT = [
    ("surfaceanalytics__xpsdeeplearning/references/Ni2p_NiO.txt", 840.0, 890.0),
    ("surfaceanalytics__xpsdeeplearning/references/Mn2p_MnO2.txt", 630.0, 669.9),
    ("surfaceanalytics__xpsdeeplearning/references/Cu2p_Cu_metal.txt", 920.0, 971.95),
    ("theoechem__article_MAHE_2024_IL_pitfalls/20240305_MPPipTFSIIol3_Na_1s.csv", 1064.7, 1076.7),
]
RAMAN_TEXT = [
    ("charlesll__rampy/VG186_0__X_19996.5__Y_-20032__Time_0.txt", 59.42, 1318.9),
    ("charlesll__rampy/NS4.txt", 580.4, 1377.8),
    ("h2020charisma__ramanchada2/Horiba/PST10_iR785_OP01_8000msx8.txt", 168.216, 3281.89),
    ("h2020charisma__ramanchada2/Witec/PST_WiICV532_Z050OP02_075_800msx10.txt", -42.75, 3852.2),
    ("h2020charisma__ramanchada2/rruf/Anatase__R060277__Broad_Scan____0__unoriented__Raman_Data_RAW__21346.txt",
     79.84985, 3458.524),
    ("spectrochempy__spectrochempy_data/labspec/SMC1-Initial_RT.txt", 12.55, 1726.5),
]


def _info_json(capsys, path):
    from naheo_spec.cli.main import main

    rc = main(["info", "--json", str(path)])
    out = json.loads(capsys.readouterr().out)
    return rc, out


@pytest.mark.parametrize("rel,lo,hi", XPS_TEXT, ids=[Path(r[0]).name for r in XPS_TEXT])
def test_info_on_xps_text_gives_binding_energy(shared_data, capsys, rel, lo, hi):
    rc, out = _info_json(capsys, shared_data / "xps" / rel)
    assert rc == 0
    (d,) = [d for d in out if "error" not in d][:1]
    assert d["axis_kind"] == "binding_energy" and d["axis_unit"] == "eV"
    assert d["axis_min"] == pytest.approx(lo, abs=0.01) and d["axis_max"] == pytest.approx(hi, abs=0.01)
    codes = {w["code"] for w in d["warnings"]}
    assert not codes & {"xas.read.kev_converted", "xas.read.edge_guessed", "io.repair.reversed"}
    assert d["element"] is None and d["edge"] is None


@pytest.mark.parametrize("rel,lo,hi", RAMAN_TEXT, ids=[Path(r[0]).name for r in RAMAN_TEXT])
def test_info_on_raman_text_gives_raman_shift(shared_data, capsys, rel, lo, hi):
    rc, out = _info_json(capsys, shared_data / "raman" / rel)
    assert rc == 0
    d = out[0]
    assert d["axis_kind"] == "raman_shift" and d["axis_unit"] == "1/cm"
    assert d["axis_min"] == pytest.approx(lo, abs=0.01) and d["axis_max"] == pytest.approx(hi, abs=0.01)
    codes = {w["code"] for w in d["warnings"]}
    assert not codes & {"xas.read.kev_converted", "xas.read.edge_guessed", "io.repair.reversed"}


def test_text_xy_kev_axis_is_converted_with_a_coded_warning(tmp_path):
    e_kev = np.arange(7.0, 7.3, 0.0005)
    path = tmp_path / "kev.txt"
    np.savetxt(path, np.c_[e_kev, 1.0 / (1.0 + np.exp(-(e_kev - 7.112) / 0.002))])
    with pytest.warns(Warning):
        spec = read(path, format="text-xy")[0]
    assert spec.axis_unit == "eV" and np.isclose(spec.axis[0], 7000.0)
    assert np.isclose(spec.axis[np.argmax(np.gradient(spec.signal))], 7112.0, atol=0.5)
    assert "io.axis.kev_converted" in {w.code for w in spec.warnings}
