"""SIGKILL in the middle of a batch, then run again: the rest finishes, nothing committed is
computed again, nothing is half-written; a third run does nothing and says so."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import h5py

from naheo_spec.store import check_nexus, read_records


def _chunk_keys(chunks):
    keys = []
    for c in chunks:
        with h5py.File(c, "r") as f:
            for name, g in f["batch_chunk"].items():
                keys += [(name, k) for k in set(g["unit_key"].asstr()[()])]
    return keys


def test_kill9_then_resume(tmp_path, make_scans, write_config):
    files, bad = make_scans(tmp_path / "scans", 120, bad=6)
    cfg = write_config(tmp_path, """
        [input]
        files = ["scans/*.xdi"]
        [xanes]
        [exafs]
        [output]
        store = "results.h5"
        summary = "results.csv"
        [compute]
        chunk = 4
    """)
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "naheo_spec.cli.main", "batch", str(cfg), "--json"]
    chunks_dir = tmp_path / "results.batch" / "chunks"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        if chunks_dir.is_dir() and len(list(chunks_dir.glob("c*.h5"))) >= 4:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    before = sorted(chunks_dir.glob("c*.h5"))
    assert 4 <= len(before) < 30
    for c in before:                                   # every committed chunk is whole
        with h5py.File(c, "r") as f:
            assert "batch_chunk" in f
    stamps = {c: c.stat().st_mtime_ns for c in before}
    done_before = _chunk_keys(before)
    assert not (tmp_path / "results.h5").exists()      # nothing half-written in its place

    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr              # the 6 bad files
    s = json.loads(out.stdout)
    n_units = 2 * len(files)
    assert s["skipped"] == len(done_before)             # one scan per file
    assert s["done"] + sum(not f["earlier"] for f in s["failed"]) == n_units - len(done_before)
    assert {c: c.stat().st_mtime_ns for c in before} == stamps    # old chunks untouched
    after = sorted(chunks_dir.glob("c*.h5"))
    keys = _chunk_keys(after)
    assert len(keys) == len(set(keys)) == n_units       # every unit exactly once
    assert not list((tmp_path / "results.batch").glob(".tmp-*"))
    assert check_nexus(tmp_path / "results.h5") == []
    assert len(read_records(tmp_path / "results.h5")) == 3 + 2 * (len(files) - len(bad))
    assert {f["file"] for f in s["failed"]} == {f"scans/{p.name}" for p in bad}

    third = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    t = json.loads(third.stdout)
    assert t["done"] == 0 and t["nothing_to_do"] and t["skipped"] == n_units
    plain = subprocess.run(cmd[:-1], env=env, capture_output=True, text=True, timeout=300)
    assert "nothing to do" in plain.stderr
