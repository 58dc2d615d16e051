"""Benchmark (b): background + Fourier transform of an [N, 500] stack vs larch autobk + xftf.

1. Writes an HDF5 ``[N, 500]`` float32 Fe K-edge stack from eight real Fe scans
   (``_stackgen.py``; the grid spans the range all eight cover, k up to ~14 1/A).
2. Runs ``naheo-spec batch`` with ``[exafs]`` (AUTOBK rbkg 1, FT k 3..kmax, kweight 2,
   hanning; per-scan TM-O / TM-TM peaks) in a fresh process, end to end (read, compute,
   chunked compressed write, store); peak RSS of that process.
3. In the same run, larch ``pre_edge`` + ``autobk`` + ``xftf`` with the same settings on
   ``--larch-n`` rows of the stack; the ratio.

Usage::

    python benchmarks/bench_exafs_stack.py             # N = 20 000
    python benchmarks/bench_exafs_stack.py --n 100000  # the issue's size
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stackgen import write_stack  # noqa: E402
from bench_outofcore import run_child  # noqa: E402


def larch_rate(path: Path, n: int, kmax: float) -> float:
    import h5py
    from larch import Group
    from larch.xafs import autobk, pre_edge, xftf

    with h5py.File(path, "r") as f:
        e = f["map/energy"][()]
        mu = f["map/mu"][:n].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = Group(energy=e, mu=mu[0])
        pre_edge(g)
        autobk(g, rbkg=1.0, kweight=1)
        t = time.perf_counter()
        for row in mu:
            g = Group(energy=e, mu=row)
            pre_edge(g)
            autobk(g, rbkg=1.0, kweight=1)
            xftf(g, kmin=3.0, kmax=kmax, kweight=2, dk=1.0, window="hanning")
        return (time.perf_counter() - t) / len(mu)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--chunk", type=int, default=20000)
    ap.add_argument("--block", type=int, default=None)
    ap.add_argument("--scheduler", default="auto", help="[compute] scheduler (default: the "
                    "package default, auto)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--larch-n", type=int, default=50)
    ap.add_argument("--dir", default=None)
    a = ap.parse_args(argv)
    work = Path(a.dir or tempfile.mkdtemp(prefix="bench_exafs_stack_"))
    work.mkdir(parents=True, exist_ok=True)
    stack = work / "map.h5"
    t = time.perf_counter()
    write_stack(stack, a.n, a.points)
    print(f"stack [{a.n}, {a.points}] float32 written in {time.perf_counter() - t:.1f} s")
    compute = [f'scheduler = "{a.scheduler}"', f"chunk = {a.chunk}"]
    if a.block:
        compute.append(f"block = {a.block}")
    if a.workers:
        compute.append(f"workers = {a.workers}")
    cfg = work / "bench.toml"
    cfg.write_text('[input]\nstack = "map.h5"\n[exafs]\nrbkg = 1.0\nkweight = 2\n'
                   '[output]\nstore = "res.h5"\n[compute]\n' + "\n".join(compute) + "\n")
    (work / "res.h5").unlink(missing_ok=True)
    shutil.rmtree(work / "res.batch", ignore_errors=True)
    wall, rss, out, err = run_child([sys.executable, "-m", "naheo_spec.cli.main", "batch",
                                     str(cfg), "--json"])
    s = json.loads(out)
    import h5py

    with h5py.File(work / "res.h5", "r") as f:
        params = json.loads(f["exafs_map_stack/process/parameters_json/data"].asstr()[()])
    kmax = params["block"]["xftf"]["kmax"] if "xftf" in params.get("block", {}) else 12.0
    larch = larch_rate(stack, a.larch_n, float(kmax))
    ours = wall / a.n
    print(f"naheo-spec batch [exafs] ({s['scheduler']}): {wall:.2f} s end to end, "
          f"{s['seconds']:.2f} s inside the run; {ours * 1e6:.1f} us/spectrum; "
          f"{s['done']} ok, {s['n_failed']} failed; FT k 3..{float(kmax):.2f} 1/A")
    print(f"larch pre_edge + autobk + xftf: {larch * 1e3:.2f} ms/spectrum "
          f"({a.larch_n} spectra, same run)")
    print(f"ratio larch / naheo-spec: {larch / ours:.0f}x end to end "
          f"({larch / (s['seconds'] / a.n):.0f}x inside the run)")
    print(f"peak RSS of the batch process: {rss / 2**20:.0f} MiB (wait4: the largest of it and "
          f"its workers); all its processes together: {run_child.tree_rss / 2**20:.0f} MiB "
          "(sampled every 50 ms)")
    if not a.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
