"""Benchmark (a): an out-of-core [N, 500] float32 XANES stack end to end vs larch pre_edge.

1. Writes an HDF5 ``[N, 500]`` float32 Fe K-edge stack made from eight real Fe scans
   (``_stackgen.py``: shifted by up to +-1 eV, 0.1 % noise), block by block.
2. Runs ``naheo-spec batch`` on it (``[xanes]``, the default chunk and block) in a fresh
   process -- read, compute, chunked compressed write of the per-scan results, store --
   and times the whole command; its peak resident memory is the child's ``ru_maxrss``.
3. In the same run, times larch ``pre_edge`` (its defaults) on ``--larch-n`` rows of the
   same stack, half just before and half just after the batch, and extrapolates to N;
   prints the ratio.
4. ``--breakdown``: where the time goes, in this process: reading every block (h5py),
   the XANES block function on one in-memory block (and its top functions, cProfile),
   and the chunk writes.
5. ``--compare-xanes``: also times ``naheo-spec xanes map.h5 --stack -o`` (a stack
   above 10 000 scans runs through the same batch engine and prints a summary) with its
   own peak memory.

Usage::

    python benchmarks/bench_outofcore.py                 # N = 100 000 (about a minute)
    python benchmarks/bench_outofcore.py --n 1000000     # the issue's size (2 GB input)
    python benchmarks/bench_outofcore.py --scheduler processes --workers 2 --breakdown

Prints: seconds and us/spectrum end to end (and inside the run, and the batch process's CPU
time), larch us/spectrum, the ratio, and the peak RSS of each child process (``os.wait4``:
the largest of the process and its workers) and summed over the batch process and its
workers (psutil, sampled every 50 ms).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

#: The checkout this script belongs to: its package is the one measured, in the batch
#: child (PYTHONPATH) and in ``--breakdown`` (this process), whatever is installed.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))

from _stackgen import write_stack  # noqa: E402


def larch_rate(path: Path, n: int) -> float:
    """Seconds per spectrum of larch pre_edge on the first n rows of the stack."""
    import h5py
    import numpy as np
    from larch import Group
    from larch.xafs import pre_edge

    with h5py.File(path, "r") as f:
        e = f["map/energy"][()]
        mu = f["map/mu"][:n].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row in mu[:3]:                        # warm-up (imports, lmfit)
            pre_edge(Group(energy=e, mu=row))
        t = time.perf_counter()
        for row in mu:
            pre_edge(Group(energy=e, mu=row))
        dt = time.perf_counter() - t
    return dt / len(mu) if np.isfinite(dt) else float("nan")


def run_child(cmd: list[str]) -> tuple[float, int, str, str]:
    """(wall seconds, peak RSS in bytes of this child alone (``wait4``), stdout, stderr);
    the child's CPU seconds (user + system, ``wait4``: its worker processes included) are
    in ``run_child.cpu`` and the peak of the summed RSS of the child and its worker
    processes (sampled every 50 ms with psutil) in ``run_child.tree_rss``."""
    import threading

    import psutil

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        path = os.pathsep.join([str(REPO)] + ([os.environ["PYTHONPATH"]]
                                              if os.environ.get("PYTHONPATH") else []))
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True,
                             env=dict(os.environ, PYTHONWARNINGS="ignore", PYTHONPATH=path))
        peak, stop = [0], threading.Event()

        def sample():
            try:
                proc = psutil.Process(p.pid)
            except psutil.Error:
                return
            while not stop.wait(0.05):
                total = 0
                try:
                    for q in [proc] + proc.children(recursive=True):
                        try:
                            total += q.memory_info().rss
                        except psutil.Error:
                            pass
                except psutil.Error:
                    return
                peak[0] = max(peak[0], total)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, _, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        stop.set()
        th.join()
        run_child.cpu = usage.ru_utime + usage.ru_stime
        run_child.tree_rss = peak[0]
        p.returncode = 0
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_maxrss * 1024, out.read(), err.read()


def _shape(path: Path):
    import h5py

    with h5py.File(path, "r") as f:
        return tuple(f["map/mu"].shape)


def breakdown(path: Path, chunk: int, block: int) -> None:
    import cProfile
    import pstats

    import h5py

    from naheo_spec.batch.registry import get_pipeline
    from naheo_spec.batch.tasks import single_threaded_blas

    spec = get_pipeline("xanes")
    with h5py.File(path, "r") as f:
        ds = f["map/mu"]
        n = ds.shape[0]
        t = time.perf_counter()
        for s in range(0, n, chunk):
            ds[s:min(n, s + chunk)]
        read = time.perf_counter() - t
    print(f"  read all blocks (h5py, float32): {read:.2f} s = {read / n * 1e6:.2f} us/spectrum")
    src = spec.open_stack(path, None)
    stack = src.read(0, min(n, block))
    prepared = spec.prepare({}, path.parent)
    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("ignore")
        spec.run_block(stack, prepared)           # warm (operators cached per grid)
        t = time.perf_counter()
        reps = 3
        for _ in range(reps):
            spec.run_block(stack, prepared)
        comp = (time.perf_counter() - t) / reps
        print(f"  xanes block function, {len(stack)} rows in memory: "
              f"{comp / len(stack) * 1e6:.2f} us/spectrum")
        prof = cProfile.Profile()
        prof.enable()
        spec.run_block(stack, prepared)
        prof.disable()
    st = pstats.Stats(prof)
    rows = []
    for (file, line, fn), (cc, nc, tt, ct, callers) in st.stats.items():
        if "naheo_spec" in file and fn not in ("run_block", "_run_xanes_block"):
            rows.append((ct, f"{Path(file).name}:{fn}"))
    rows.sort(reverse=True)
    print("  top functions (cumulative, one block):")
    for ct, name in rows[:14]:
        print(f"    {ct / len(stack) * 1e6:7.2f} us/spectrum  {name}")
    src.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="spectra (default 100000; the "
                    "issue's size is 1000000)")
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--chunk", type=int, default=None, help="[compute] chunk (default 20000)")
    ap.add_argument("--block", type=int, default=None, help="[compute] block")
    ap.add_argument("--scheduler", default="auto", help="[compute] scheduler (default: the "
                    "package default, auto)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--reference", action="store_true", help="add a foil channel per row")
    ap.add_argument("--compression", default=None, help="input compression (gzip, lzf)")
    ap.add_argument("--larch-n", type=int, default=400)
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--reuse", action="store_true",
                    help="keep <dir>/map.h5 when it has the requested shape (with --dir)")
    ap.add_argument("--compare-xanes", action="store_true",
                    help="also time `naheo-spec xanes --stack -o` (outofcore.py)")
    a = ap.parse_args(argv)
    work = Path(a.dir or tempfile.mkdtemp(prefix="bench_outofcore_"))
    work.mkdir(parents=True, exist_ok=True)
    stack = work / "map.h5"
    t = time.perf_counter()
    if a.reuse and stack.is_file() and _shape(stack) == (a.n, a.points):
        print(f"stack [{a.n}, {a.points}] float32 reused: {stack}")
    else:
        write_stack(stack, a.n, a.points, reference=a.reference, compression=a.compression)
        print(f"stack [{a.n}, {a.points}] float32 written in {time.perf_counter() - t:.1f} s "
              f"({stack.stat().st_size / 2**20:.0f} MiB): {stack}")
    import naheo_spec

    print(f"package measured: {Path(naheo_spec.__file__).parent}")
    compute = [f'scheduler = "{a.scheduler}"']
    if a.chunk:
        compute.append(f"chunk = {a.chunk}")
    if a.block:
        compute.append(f"block = {a.block}")
    if a.workers:
        compute.append(f"workers = {a.workers}")
    cfg = work / "bench.toml"
    cfg.write_text('[input]\nstack = "map.h5"\n[xanes]\n[output]\nstore = "res.h5"\n'
                   'summary = "res.csv"\n[compute]\n' + "\n".join(compute) + "\n")
    for old in (work / "res.h5", work / "res.csv"):
        old.unlink(missing_ok=True)
    import shutil

    shutil.rmtree(work / "res.batch", ignore_errors=True)
    cmd = [sys.executable, "-m", "naheo_spec.cli.main", "batch", str(cfg), "--json"]
    # larch is timed just before and just after the batch (half the spectra each): the
    # speed of a shared VM drifts by up to 2x within minutes, and one short larch loop on
    # one side of the run gave ratios that moved by 1.6x between otherwise equal runs
    n_before = a.larch_n // 2
    larch_before = larch_rate(stack, n_before)
    wall, rss, out, err = run_child(cmd)
    cpu = run_child.cpu
    s = json.loads(out)
    larch_after = larch_rate(stack, a.larch_n - n_before)
    larch = (larch_before * n_before + larch_after * (a.larch_n - n_before)) / a.larch_n
    ours = wall / a.n
    print(f"naheo-spec batch ({s['scheduler']}): {wall:.2f} s end to end (command), "
          f"{s['seconds']:.2f} s inside the run; {ours * 1e6:.2f} us/spectrum; "
          f"{s['done']} ok, {s['n_failed']} failed")
    print(f"larch pre_edge: {larch * 1e6:.0f} us/spectrum ({a.larch_n} spectra, same run: "
          f"{larch_before * 1e6:.0f} before the batch, {larch_after * 1e6:.0f} after)")
    print(f"ratio larch / naheo-spec batch: {larch / ours:.0f}x end to end "
          f"({larch / (s['seconds'] / a.n):.0f}x inside the run)")
    print(f"CPU time of the batch process (user + system): {cpu:.2f} s = "
          f"{cpu / a.n * 1e6:.2f} us/spectrum (wall minus CPU: waiting for a core on a "
          "shared machine, or I/O)")
    print(f"peak RSS of the batch process: {rss / 2**20:.0f} MiB (wait4: the largest of it and "
          f"its workers); all its processes together: {run_child.tree_rss / 2**20:.0f} MiB "
          "(sampled every 50 ms)")
    print(f"store {(work / 'res.h5').stat().st_size / 2**20:.1f} MiB")
    if a.compare_xanes:
        out_h5 = work / "xanes_stack.h5"
        out_h5.unlink(missing_ok=True)
        out_h5.with_suffix(".csv").unlink(missing_ok=True)
        w2, r2, o2, e2 = run_child([sys.executable, "-m", "naheo_spec.cli.main", "xanes",
                                    str(stack), "--stack", "-o", str(out_h5)])
        print(f"naheo-spec xanes --stack -o: {w2:.2f} s, {w2 / a.n * 1e6:.2f} us/spectrum "
              f"({larch / (w2 / a.n):.0f}x larch), peak RSS {r2 / 2**20:.0f} MiB, "
              f"{len(o2) / 2**10:.1f} KiB printed; first lines:")
        for line in o2.splitlines()[:4]:
            print("    " + line)
        if not out_h5.is_file():
            print("    (no store written) " + e2[-2000:])
    if a.breakdown:
        print("where the time goes:")
        breakdown(stack, a.chunk or 20000, a.block or 4096)
    if not a.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
