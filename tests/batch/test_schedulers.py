"""The same config on a 2-worker dask LocalCluster, in spawned processes and locally gives
identical stores (files and a stack)."""
from __future__ import annotations

import h5py
import numpy as np
import pytest


def _tables(store):
    out = {}
    with h5py.File(store, "r") as f:
        for name, entry in f.items():
            if "scans" not in entry:
                continue
            g = entry["scans"]
            out[name] = {k: (g[k].asstr()[()] if g[k].dtype.kind == "O" else g[k][()])
                         for k in g if k not in ("record",)}
        for name in f:
            if "errors" in f[name]:
                out[name + "/errors"] = f[name]["errors"]["messages"].asstr()[()]
    return out


def _same(a, b):
    """Bit-for-bit equal (every scheduler computes with single-threaded BLAS)."""
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], np.ndarray):
            np.testing.assert_array_equal(a[name], b[name])
            continue
        assert a[name].keys() == b[name].keys(), name
        for k in a[name]:
            np.testing.assert_array_equal(a[name][k], b[name][k], err_msg=f"{name}/{k}")


def _config(folder, write_config, inputs, scheduler, chunk, pipelines):
    return write_config(folder, f"""
        [input]
        {inputs}
        {pipelines}
        [output]
        store = "res.h5"
        [compute]
        scheduler = "{scheduler}"
        chunk = {chunk}
        block = 16
    """)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as c:
        yield c


@pytest.mark.slow
def test_localcluster_and_processes_equal_local(tmp_path, make_scans, make_stack,
                                                write_config, cli, cluster):
    files_in = tmp_path / "scans"
    make_scans(files_in, 16, bad=1)
    make_stack(tmp_path / "map.h5", 96)
    runs = {}
    for scheduler in ("local", cluster.scheduler_address, "processes"):
        tag = "dask" if scheduler.startswith("tcp") else scheduler
        for kind, inputs, chunk, pipes in (
                ("files", f'files = ["{files_in}/*.xdi"]', 5, "[xanes]\n[exafs]"),
                ("stack", f'stack = "{tmp_path / "map.h5"}"', 32, "[xanes]\n[exafs]\nkmax = 11.0")):
            if tag == "processes" and kind == "stack":
                continue
            folder = tmp_path / f"{tag}_{kind}"
            folder.mkdir()
            cfg = _config(folder, write_config, inputs, scheduler, chunk, pipes)
            rc, out, err = cli("batch", cfg)
            assert rc == 1, err                           # one bad file, two bad rows
            runs[(tag, kind)] = _tables(folder / "res.h5")
            if tag == "dask":
                assert "dask.distributed" in err
    _same(runs[("local", "files")], runs[("dask", "files")])
    _same(runs[("local", "files")], runs[("processes", "files")])
    _same(runs[("local", "stack")], runs[("dask", "stack")])


def test_auto_scheduler_picks_processes_for_large_stacks_only(tmp_path, monkeypatch,
                                                              make_stack):
    from naheo_spec.batch import schedulers
    from naheo_spec.batch.config import load_config
    from naheo_spec.batch.runner import stack_work_seconds
    from naheo_spec.batch.schedulers import AUTO_PROCESSES_MIN_WORK_S, resolve_scheduler

    monkeypatch.setattr(schedulers, "default_workers", lambda: 2)
    big, small = AUTO_PROCESSES_MIN_WORK_S, AUTO_PROCESSES_MIN_WORK_S / 2

    def auto(work, workers=None, safe=True):
        return resolve_scheduler("auto", workers, work, spawn_safe=safe)

    assert auto(big) == "processes"
    assert auto(big, safe=False) == "local"           # a script: spawn would re-run it
    assert auto(small) == "local"
    assert auto(None) == "local"                      # file batches, unreadable stacks
    assert auto(big, workers=1) == "local"            # one worker asked for
    assert resolve_scheduler("threads", None, big) == "threads"      # never overridden
    monkeypatch.setattr(schedulers, "default_workers", lambda: 1)
    assert auto(big) == "local"                       # one CPU
    assert not schedulers.spawn_is_safe()             # pytest's __main__ is a file

    # the estimate: rows x the pipelines' block costs, from the stack's shape alone
    make_stack(tmp_path / "s.h5", 40)
    for tables, cost in (("[xanes]", 30.0), ("[xanes]\n[exafs]", 150.0)):
        cfg = tmp_path / "c.toml"
        cfg.write_text(f'[input]\nstack = "s.h5"\n{tables}\n[output]\nstore = "r.h5"\n')
        assert stack_work_seconds(load_config(cfg)) == pytest.approx(40 * cost * 1e-6)
    cfg.write_text('[input]\nfiles = ["*.h5"]\n[xanes]\n[output]\nstore = "r.h5"\n')
    assert stack_work_seconds(load_config(cfg)) is None


def test_worker_processes_end_when_the_batch_process_is_killed(tmp_path):
    """SIGKILL of the batch process must not leave its spawned workers running."""
    import os
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        "from naheo_spec.batch.schedulers import make_executor\n"
        "if __name__ == '__main__':\n"
        "    ex, n, _ = make_executor('processes', 1)\n"
        "    print(ex.submit(os.getpid).result(), flush=True)\n"
        "    time.sleep(120)\n")
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(p.stdout.readline())
        os.kill(worker, 0)                                # alive
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:                  # orphans are reaped by init, or stay zombies in a container
                if psutil.Process(worker).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)
        else:
            os.kill(worker, signal.SIGKILL)
            raise AssertionError("the worker outlived its killed parent by 10 s")
    finally:
        p.kill()


def test_xas_pipelines_warm_a_worker():
    """What a spawned worker runs before its first task (its failures are swallowed there,
    so they are checked here)."""
    import pickle
    import sys

    from naheo_spec.batch.registry import get_pipeline

    for name, module in (("xanes", "naheo_spec.xas.xanes_stack"),
                         ("exafs", "naheo_spec.xas.exafs")):
        warm = get_pipeline(name).warm
        pickle.loads(pickle.dumps(warm))()                # sent to spawned workers
        assert module in sys.modules


@pytest.mark.parametrize("failure", ["broken", "refused"])
def test_auto_falls_back_to_one_process_when_workers_cannot_start(tmp_path, monkeypatch,
                                                                  make_stack, failure):
    """Worker processes that "auto" chose but that cannot start (spawn cannot import the
    caller, the system refuses processes) are a note, not a batch of failed chunks."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from naheo_spec.batch import runner, schedulers

    class Dead:
        def shutdown(self, wait=True, cancel_futures=False):
            self.closed = True

    def fake_start(scheduler, workers, warm=()):
        if failure == "refused":
            raise OSError("[Errno 38] Function not implemented")
        f = Future()
        f.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        return (Dead(), 2, "2 processes (spawn)"), [f]

    monkeypatch.setattr(schedulers, "AUTO_PROCESSES_MIN_WORK_S", 0.0)
    monkeypatch.setattr(schedulers, "default_workers", lambda: 2)
    monkeypatch.setattr(runner, "start_executor", fake_start)
    make_stack(tmp_path / "s.h5", 24)
    cfg = tmp_path / "c.toml"
    cfg.write_text('[input]\nstack = "s.h5"\n[xanes]\n[output]\nstore = "r.h5"\n'
                   '[compute]\nchunk = 8\nblock = 8\n')
    s = runner.run(cfg, spawn_safe=True)
    assert s.scheduler.startswith("local") and s.done == 22 and s.n_failed == 2   # 2 bad rows
    assert any("worker processes could not start" in n for n in s.notes)
    explicit = tmp_path / "p.toml"
    explicit.write_text(cfg.read_text().replace("chunk = 8", 'scheduler = "processes"\n'
                                                 'chunk = 8').replace("r.h5", "p.h5"))
    if failure == "refused":                 # asked for by name: the error is the user's
        with pytest.raises(OSError):
            runner.run(explicit, spawn_safe=True)
