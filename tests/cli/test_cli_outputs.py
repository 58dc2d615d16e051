"""Outputs are checked before any work and written all or none (new-user mistakes)."""
from __future__ import annotations

import os
import time

import pytest
from conftest import CERIC

from naheo_spec.cli.main import main


@pytest.fixture()
def scan(xas_data):
    return str(xas_data / CERIC / "FeO_311.xdi")


def _run(capsys, args):
    t0 = time.perf_counter()
    rc = main(args)
    captured = capsys.readouterr()
    return rc, captured.err.strip().splitlines(), time.perf_counter() - t0


def test_existing_store_is_refused_before_work(scan, tmp_path, capsys, monkeypatch):
    import naheo_spec.xas.xanes as xanes

    def no_work(*args, **kwargs):
        raise AssertionError("the scan was analysed before the output was checked")

    monkeypatch.setattr(xanes, "analyze_xanes", no_work)
    out = tmp_path / "res.h5"
    out.write_bytes(b"precious")
    rc, err, _ = _run(capsys, ["xanes", scan, "-o", str(out)])
    assert rc == 1 and err == [f"error: -o {out}: exists; pass --overwrite to replace it"]
    assert out.read_bytes() == b"precious"


def test_missing_and_unwritable_folders(scan, tmp_path, capsys):
    rc, err, _ = _run(capsys, ["xanes", scan, "-o", str(tmp_path / "nope" / "r.h5")])
    assert rc == 1 and len(err) == 1 and "folder" in err[0] and "does not exist" in err[0]
    if os.geteuid() != 0:                      # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        rc, err, _ = _run(capsys, ["xanes", scan, "-o", str(ro / "r.h5")])
        assert rc == 1 and "not writable" in err[0]
    rc, err, _ = _run(capsys, ["xanes", scan, "--plot", str(tmp_path / "a" / "b" / "figs")])
    assert rc == 1 and "--plot" in err[0] and "does not exist" in err[0]


def test_store_name_is_never_renamed(scan, tmp_path, capsys):
    rc, err, _ = _run(capsys, ["xanes", scan, "-o", str(tmp_path / "out.txt")])
    assert rc == 1 and "must end in .h5" in err[0]
    assert not list(tmp_path.iterdir())


def test_figure_folder_with_figures_needs_overwrite(scan, tmp_path, capsys):
    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / "old.png").write_bytes(b"x")
    rc, err, _ = _run(capsys, ["xanes", scan, "--plot", str(figs)])
    assert rc == 1 and "--overwrite" in err[0]


def test_all_or_nothing_when_writing_fails(scan, tmp_path, capsys, monkeypatch):
    import naheo_spec.cli.xanes as cli_xanes

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cli_xanes, "_plots", boom)
    out, figs = tmp_path / "r.h5", tmp_path / "figs"
    rc, err, _ = _run(capsys, ["xanes", scan, "-o", str(out), "--plot", str(figs)])
    assert rc != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == []       # no store, no table, no temp


def test_cli_speaks_in_flags(xas_data, capsys):
    from conftest import LARCH

    rc, err, _ = _run(capsys, ["info", str(xas_data / LARCH / "FeO.prj"), "--mu", "ln(i0/it)"])
    assert rc == 1 and any("--mu" in e and "mu=" not in e for e in err), err
