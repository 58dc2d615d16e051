"""Config mistakes give one clear ``error:`` line before any work; the registry is open."""
from __future__ import annotations

import pytest

from naheo_spec.batch.config import load_config, read_coordinates
from naheo_spec.batch.registry import Column, PipelineSpec, get_pipeline, pipelines
from naheo_spec.errors import InputError

GOOD = """
[input]
files = ["scans/*.xdi"]
[xanes]
[output]
store = "r.h5"
"""


@pytest.fixture
def folder(tmp_path, make_scans):
    make_scans(tmp_path / "scans", 3)
    return tmp_path


@pytest.mark.parametrize("text, words", [
    (GOOD.replace("[xanes]", "[xanes]\nstandard = 'fe'"),
     ["unknown key 'standard'", "did you mean 'standards'"]),
    (GOOD + "[outptu]\n", ["unknown table [outptu]", "did you mean [output]"]),
    (GOOD.replace("scans/*.xdi", "nope/*.xdi"), ["'nope/*.xdi' matches no file"]),
    (GOOD.replace('files = ["scans/*.xdi"]', 'stack = "missing.h5"'),
     ["[input] stack: no such file"]),
    (GOOD.replace("[xanes]", ""), ["no pipeline table"]),
    (GOOD + "[compute]\nscheduler = 'gpu'\n", ["scheduler = 'gpu'", "tcp://host:port"]),
    (GOOD + "[compute]\nchunk = 0\n", ["[compute]", "chunk", "integer >= 1"]),
    (GOOD.replace('"r.h5"', '"r.txt"'), ["must end in .h5"]),
    (GOOD.replace("[input]", "[input]\ncoordinates = 'log.csv'"),
     ["coordinates: no such file"]),
    (GOOD.replace("[xanes]", "[xanes]\nstandards = 'co'"), ["standards = 'co'", "no such file"]),
    (GOOD.replace("[xanes]", "[xanes]\npre_range = [1]"), ["pre_range", "two numbers"]),
    ("[input\n", ["not valid TOML"]),
])
def test_config_errors_are_one_line_before_work(folder, write_config, cli, text, words):
    cfg = write_config(folder, text)
    rc, out, err = cli("batch", cfg)
    assert rc == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not (folder / "r.batch").exists() and not (folder / "r.h5").exists()


def test_missing_config(cli, tmp_path):
    rc, _, err = cli("batch", tmp_path / "nope.toml")
    assert rc == 1 and err.strip() == f"error: config {tmp_path / 'nope.toml'}: no such file"


def test_paths_are_relative_to_the_config(folder, write_config, monkeypatch, tmp_path):
    cfg = write_config(folder, GOOD)
    monkeypatch.chdir(tmp_path.parent)
    c = load_config(cfg)
    assert len(c.files) == 3 and c.store == folder / "r.h5" and c.chunk == 50
    assert c.work_dir == folder / "r.batch" and c.scheduler == "auto"


def test_coordinates_csv(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("file,state_of_charge,potential,note\nscans/a.xdi,0.5,3.9,first\n"
                 "b.xdi,1.0,,second\n")
    c = read_coordinates(p)
    assert c.names == ["state_of_charge", "potential", "note"]
    got = c.lookup(tmp_path / "scans" / "a.xdi", tmp_path, None)
    assert got["state_of_charge"] == 0.5 and got["note"] == "first"
    b = c.lookup(tmp_path / "other" / "b.xdi", tmp_path, None)     # by file name
    assert b["state_of_charge"] == 1.0 and b["potential"] != b["potential"]   # NaN
    p.write_text("state_of_charge,scan_index\n1.0,1\n0.0,0\n")
    assert c.__class__ is type(read_coordinates(p))
    assert read_coordinates(p).by_row["state_of_charge"].tolist() == [0.0, 1.0]
    p.write_text("a,b\n1\n")
    with pytest.raises(InputError, match="line 2: 1 cells for 2 columns"):
        read_coordinates(p)


def test_registry_discovers_each_technique_folder():
    found = pipelines()
    assert {"xanes", "exafs"} <= set(found)
    assert found["xanes"].origin == "naheo_spec.xas.batch"
    spec = get_pipeline("exafs")
    assert "r_apparent_TM_O_A" in spec.column_names() and spec.run_block is not None
    with pytest.raises(InputError, match="unknown pipeline \\[xrd\\]; registered: "):
        get_pipeline("xrd")


def test_a_new_pipeline_plugs_in_without_editing_batch(monkeypatch, tmp_path, write_config,
                                                       make_scans, cli):
    """What docs/architecture.md tells an XPS/Raman engineer to write, end to end."""
    import numpy as np

    from naheo_spec.batch import registry
    from naheo_spec.batch.registry import Prepared, ScanOutput

    def prepare(options, base_dir):
        return Prepared(parameters={"scale": options.get("scale", 1.0)},
                        payload=options.get("scale", 1.0))

    def run_scan(spectrum, prepared):
        return ScanOutput(values={"area": float(np.trapezoid(spectrum.signal, spectrum.axis))
                                  * prepared.payload}, element=spectrum.element)

    spec = PipelineSpec(name="area", technique="xas", description="integral of mu",
                        options={"scale": "a factor"}, columns=[Column("area", "eV")],
                        prepare=prepare, run_scan=run_scan)
    monkeypatch.setattr(registry, "_CACHE", {**pipelines(), "area": spec})
    make_scans(tmp_path / "scans", 2)
    cfg = write_config(tmp_path, GOOD.replace("[xanes]", "[area]\nscale = 2.0"))
    rc, out, err = cli("batch", cfg, "--json")
    assert rc == 0, err
    assert '"done": 2' in out
