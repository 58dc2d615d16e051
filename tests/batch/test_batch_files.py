"""naheo-spec batch on real-derived files: same numbers as the single-file pipelines, bad
files listed with their reason, resume computes nothing twice, outputs never clobbered."""
from __future__ import annotations

import json
import warnings

import h5py
import numpy as np
import pytest

from naheo_spec.store import check_nexus, read_records


@pytest.fixture
def batch40(tmp_path, make_scans, write_config):
    files, bad = make_scans(tmp_path / "scans", 40, bad=2)       # 5 % corrupted
    (tmp_path / "out").mkdir()
    cfg = write_config(tmp_path, """
        [input]
        files = ["scans/*.xdi"]
        [xanes]
        [exafs]
        [output]
        store = "out/results.h5"
        summary = "out/results.csv"
        [compute]
        chunk = 8
    """)
    return cfg, files, bad


def _table(store, name):
    with h5py.File(store, "r") as f:
        g = f[f"{name}_scans"]["scans"]
        out = {k: (g[k].asstr()[()] if g[k].dtype.kind == "O" else g[k][()]) for k in g}
    return out


def test_every_good_scan_has_the_single_file_numbers(batch40, cli):
    from naheo_spec.xas.exafs import analyze_exafs
    from naheo_spec.xas.xanes import analyze_xanes

    cfg, files, bad = batch40
    rc, out, err = cli("batch", cfg, "--json")
    assert rc == 1, err                      # some scans failed -> exit status says so
    summary = json.loads(out)
    assert set(summary) >= {"done", "skipped", "failed", "seconds", "per_spectrum_ms"}
    assert summary["done"] == 2 * (len(files) - len(bad)) and summary["skipped"] == 0
    failed = {(f["file"], f["pipeline"]) for f in summary["failed"]}
    assert failed == {(f"scans/{p.name}", n) for p in bad for n in ("xanes", "exafs")}
    for f in summary["failed"]:              # each reason names the file and the problem
        assert f["error"] and f["file"].endswith(".xdi") and f["earlier"] is False
    store = cfg.parent / "out" / "results.h5"
    xt, et = _table(store, "xanes"), _table(store, "exafs")
    assert len(xt["file"]) == len(files)
    from naheo_spec.batch.tasks import single_threaded_blas

    # the batch computes with single-threaded BLAS (identical on every scheduler); a
    # multi-threaded BLAS moves the last digit of the AUTOBK least squares
    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("ignore")
        for i, rel in enumerate(xt["file"]):
            path = cfg.parent / rel
            if path in bad:
                assert xt["status"][i] == 0 and xt["error"][i]
                continue
            x = analyze_xanes(path)
            assert xt["status"][i] == 1
            assert xt["e0_eV"][i] == x.e0_eV and xt["edge_step"][i] == x.edge_step
            e = analyze_exafs(path)
            j = list(et["file"]).index(rel)
            assert et["e0_eV"][j] == e.e0_eV
            tmo = next((p.r_apparent_A for p in e.ft_peaks if p.label == "TM-O"),
                       float("nan"))               # foils get the metal windows: no TM-O
            assert et["r_apparent_TM_O_A"][j] == pytest.approx(tmo, nan_ok=True, abs=0)
    assert check_nexus(store) == []
    recs = {r.name: r for r in read_records(store)}
    assert {"batch", "xanes_scans", "exafs_scans"} <= set(recs)
    # the per-scan entries are the single-file pipeline's records
    name = xt["record"][0]
    assert recs[name].kind == "xanes" and recs[name].provenance.source_sha256
    csv = (cfg.parent / "out" / "results.csv").read_text().splitlines()
    assert len(csv) == 1 + len(files) and "xanes_e0_eV" in csv[0]


def test_rerun_does_nothing_and_says_so(batch40, cli):
    cfg, files, bad = batch40
    cli("batch", cfg)
    store = cfg.parent / "out" / "results.h5"
    before = store.stat().st_mtime_ns
    rc, out, err = cli("batch", cfg, "--json")
    s = json.loads(out)
    assert s["done"] == 0 and s["nothing_to_do"] and not s["store_updated"]
    assert s["skipped"] == 2 * len(files) and all(f["earlier"] for f in s["failed"])
    assert rc == 1                            # failures are still there
    assert store.stat().st_mtime_ns == before  # not rewritten
    rc, out, err = cli("batch", cfg)
    assert "nothing to do" in err and "2 failed earlier" not in err


def test_changed_file_is_the_only_one_recomputed(batch40, cli, make_scans):
    cfg, files, bad = batch40
    cli("batch", cfg)
    good = [p for p in files if p not in bad]
    good[0].write_text(good[0].read_text().replace("\n", "\n", 1) + "\n")   # new bytes
    rc, out, _ = cli("batch", cfg, "--json")
    s = json.loads(out)
    assert s["done"] == 2 and s["skipped"] == 2 * (len(files) - 1) and s["store_updated"]


def test_force_recomputes_and_replaces(batch40, cli):
    cfg, files, bad = batch40
    cli("batch", cfg)
    rc, out, _ = cli("batch", cfg, "--force", "--json")
    s = json.loads(out)
    assert s["done"] == 2 * (len(files) - len(bad)) and s["skipped"] == 0
    chunks = sorted((cfg.parent / "out" / "results.batch" / "chunks").glob("c*.h5"))
    assert len(chunks) == 5                  # the superseded chunks were dropped
    assert check_nexus(cfg.parent / "out" / "results.h5") == []


def test_store_write_killed_midway(batch40, cli):
    """A SIGKILL while the store is rebuilt leaves the previous store whole and a
    temporary file beside it (atomic rename); the next run removes the leftover."""
    cfg, files, bad = batch40
    cli("batch", cfg)
    out = cfg.parent / "out"
    store = out / "results.h5"
    before = store.read_bytes()
    leftover = out / ".results.h5.k1ll3d.tmp"
    leftover.write_bytes(before[: len(before) // 3])         # what a killed write leaves
    (cfg.parent / "scans" / files[0].name).write_text(files[0].read_text() + "\n")
    rc, out_text, err = cli("batch", cfg, "--json")
    assert json.loads(out_text)["done"] == 2 and not leftover.exists()
    assert check_nexus(store) == [] and store.read_bytes() != before


def test_foreign_outputs_are_never_overwritten(batch40, cli):
    cfg, files, bad = batch40
    store = cfg.parent / "out" / "results.h5"
    store.write_bytes(b"a user's file")
    rc, out, err = cli("batch", cfg)
    assert rc == 1 and err.count("\n") == 1 and err.startswith("error: ")
    assert "was not written by this batch" in err and store.read_bytes() == b"a user's file"
    assert not (cfg.parent / "out" / "results.batch").exists()


def test_stack_of_rows_equal_the_in_memory_stack(tmp_path, make_stack, write_config, cli):
    from naheo_spec.model import SpectrumStack
    from naheo_spec.xas.xanes_stack import analyze_xanes_stack

    data = make_stack(tmp_path / "map.h5", 150)
    cfg = write_config(tmp_path, """
        [input]
        stack = "map.h5"
        [xanes]
        [output]
        store = "res.h5"
        summary = "res.csv"
        [compute]
        chunk = 64
        block = 20
    """)
    rc, out, err = cli("batch", cfg, "--json")
    s = json.loads(out)
    assert rc == 1 and s["done"] == 148 and s["n_failed"] == 2
    assert sorted(int(f["scan"].split("[")[1][:-1]) for f in s["failed"]) == data["bad_rows"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = analyze_xanes_stack(SpectrumStack(data["energy"], data["mu"],
                                                references=data["ref"], element="Fe"))
    with h5py.File(tmp_path / "res.h5", "r") as f:
        g = f["xanes_map_stack/scans"]
        assert g["e0_eV"].compression == "gzip" and g["e0_eV"].chunks
        for col in ("e0_eV", "e0_err_eV", "edge_step", "foil_shift_eV"):
            # blocks of 20 rows vs one call: the same numbers up to summation order
            np.testing.assert_allclose(g[col][()], getattr(ref, col), rtol=1e-12, atol=0)
        assert list(np.flatnonzero(g["status"][()] == 0)) == data["bad_rows"]
        msgs = f["xanes_map_stack/errors/messages"].asstr()[()]
        assert len(msgs) == 2 and not any("map[" in m for m in msgs)   # no per-row names
    assert check_nexus(tmp_path / "res.h5") == []
    # a lost chunk (as if killed before its commit) is the only thing computed again
    chunks = sorted((tmp_path / "res.batch" / "chunks").glob("c*.h5"))
    assert len(chunks) == 3
    chunks[1].unlink()
    rc, out, _ = cli("batch", cfg, "--json")
    s = json.loads(out)
    assert s["done"] + len([f for f in s["failed"] if not f["earlier"]]) == 64
    assert s["skipped"] == 150 - 64
