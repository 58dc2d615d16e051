"""Benchmark: EXAFS background removal + Fourier transform, naheo_spec stack path vs xraylarch.

Real Fe K-edge spectra (six files from ../shared/data/xas, interpolated onto one
energy grid) are replicated to N scans. E0 and the edge step come from larch
``pre_edge`` (not timed). Then, in the same run:

* larch: ``autobk`` + ``xftf`` in a Python loop over a subset (default 100 scans),
  extrapolated to N;
* naheo_spec: ``autobk_stack`` + ``xftf`` on all N scans (vectorized; one
  factorisation per distinct E0, here 6).

Parameters are those of the reference table in the project notes: autobk rbkg 1,
kweight 2; xftf k 3..min(12, kmax_data - 1), dk 1, hanning, kweight 2.

Usage::

    python benchmarks/bench_exafs.py [--n 2000] [--larch-n 100] [--repeat 3] [--threads 1]

``--threads`` sets the BLAS/OpenMP thread count for both codes before numpy is
imported (default 1: on a shared 2-core machine multi-threaded OpenBLAS stalls on
small matrices and makes timings irreproducible; ``--threads 0`` leaves the
environment alone).

Prints spectra/s for both, the speed ratio, the chi(k) RMS difference relative to
larch's chi RMS (over k 3..kmax) on the larch subset, and the peak memory of the
stack path (tracemalloc, separate run). Then two more measurements:

* the whole pipeline like for like: ``analyze_exafs_stack`` (normalisation, AUTOBK, FT,
  peaks, edge checks) against larch ``pre_edge(make_flat=False)`` + ``autobk`` + ``xftf``;
* AUTOBK of one quick-EXAFS scan of 10^5 points (NiO.prj scan 000 interpolated onto a
  uniform grid, 1e-3 noise): peak traced memory (target < 200 MB; the dense-operator
  implementation before used 893 MiB), time, and the chi(k) difference from larch.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NAHEO_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / "xas"
LARCH = "xraypy__xraylarch"
CERIC = "amecchina__CERIC-Reference-Spectra-Repository"
FILES = [f"{LARCH}/feo_rt1.xdi", f"{LARCH}/fe2o3_rt1.xmu", f"{CERIC}/FeO_311.xdi",
         f"{CERIC}/Fe3O4_311.xdi", f"{CERIC}/Fe2O3_311_EXAFS.xdi", f"{CERIC}/Fe_foil_311.xdi"]
BKG = dict(rbkg=1.0, kweight=2)
FT = dict(kweight=2, dk=1.0, window="hanning")


def load_common_grid():
    import numpy as np

    """The six spectra on the feo_rt1 grid, cut to the range every file covers."""
    raw = [np.loadtxt(DATA / f, usecols=(0, 1)) for f in FILES]
    lo = max(d[0, 0] for d in raw)
    hi = min(d[-1, 0] for d in raw)
    grid = raw[0][:, 0]
    grid = grid[(grid >= lo) & (grid <= hi)]
    return grid, np.vstack([np.interp(grid, d[:, 0], d[:, 1]) for d in raw])


def larch_edges(energy, mus):
    import numpy as np

    from larch import Group
    from larch.xafs import pre_edge

    e0, step = [], []
    for mu in mus:
        g = Group(energy=energy, mu=mu)
        pre_edge(g)
        e0.append(g.e0)
        step.append(g.edge_step)
    return np.array(e0), np.array(step)


def run_larch(energy, stack, e0, step, n):
    from larch import Group
    from larch.xafs import autobk, xftf

    chis = []
    t0 = time.perf_counter()
    for i in range(n):
        g = Group(energy=energy, mu=stack[i])
        autobk(g, e0=e0[i], edge_step=step[i], **BKG)
        xftf(g, kmin=3.0, kmax=min(12.0, g.k.max() - 1.0), **FT)
        chis.append(g.chi)
    return time.perf_counter() - t0, chis


def run_ours(energy, stack, e0, step):

    from naheo_spec.xas.autobk import autobk_stack
    from naheo_spec.xas.fourier import xftf

    t0 = time.perf_counter()
    bk = autobk_stack(energy, stack, e0=e0, edge_step=step, **BKG)
    kmax = min(12.0, float(bk.kmax_data_invA.min()) - 1.0)
    ft = xftf(bk.k_invA, bk.chi, kmin=3.0, kmax=kmax, **FT)
    return time.perf_counter() - t0, bk, ft


def run_larch_pipeline(energy, stack, n):
    from larch import Group
    from larch.xafs import autobk, pre_edge, xftf

    t0 = time.perf_counter()
    for i in range(n):
        g = Group(energy=energy, mu=stack[i])
        pre_edge(g, make_flat=False)
        autobk(g, **BKG)
        xftf(g, kmin=3.0, kmax=min(12.0, g.k.max() - 1.0), **FT)
    return time.perf_counter() - t0


def run_ours_pipeline(energy, stack):
    from naheo_spec.xas.exafs import analyze_exafs_stack

    t0 = time.perf_counter()
    analyze_exafs_stack((energy, stack), bkg_kweight=BKG["kweight"], e0="median",
                        window=FT["window"], dk=FT["dk"], kweight=FT["kweight"])
    return time.perf_counter() - t0


def quick_exafs_memory(npts=100_000):
    """Peak traced memory (MiB), time (s) and chi difference from larch of one AUTOBK."""
    import numpy as np

    from larch import Group
    from larch.xafs import autobk as larch_autobk

    from naheo_spec.xas.autobk import autobk

    d = np.loadtxt(DATA / LARCH / "prj_export" / "NiO__NiO_000.dat", usecols=(0, 1))
    e = np.linspace(d[0, 0], d[-1, 0], npts)
    mu = np.interp(e, d[:, 0], d[:, 1]) + np.random.default_rng(0).normal(0, 1e-3, e.size)
    tracemalloc.start()
    t0 = time.perf_counter()
    bk = autobk(e, mu, e0=8345.0, edge_step=1.0, **BKG)
    t_ours = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    g = Group(energy=e, mu=mu)
    t0 = time.perf_counter()
    larch_autobk(g, e0=8345.0, edge_step=1.0, **BKG)
    t_larch = time.perf_counter() - t0
    return peak / 2 ** 20, t_ours, t_larch, rel_rms(bk.k_invA, bk.chi, g.chi)


def rel_rms(k, chi, chi_ref):
    import numpy as np

    kmax = min(12.0, k[-1] - 1.0)
    n = min(chi.size, chi_ref.size)
    sel = (k[:n] >= 3.0) & (k[:n] <= kmax)
    d = chi[:n][sel] - chi_ref[:n][sel]
    return float(np.sqrt(np.mean(d ** 2)) / np.sqrt(np.mean(chi_ref[:n][sel] ** 2)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="number of spectra in the stack")
    ap.add_argument("--larch-n", type=int, default=100, help="spectra timed with larch")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the stack path (median)")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads for both codes (0: leave the environment as it is)")
    args = ap.parse_args(argv)
    if args.threads > 0:
        if "numpy" in sys.modules:
            print("warning: numpy already imported; --threads has no effect", file=sys.stderr)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import numpy as np

    if not DATA.is_dir():
        print(f"data folder {DATA} not found (set NAHEO_SHARED_DATA)", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    energy, base = load_common_grid()
    t_imp = time.perf_counter()
    import larch.xafs  # noqa: F401  (import time reported, not counted)
    t_imp = time.perf_counter() - t_imp
    e0_b, step_b = larch_edges(energy, base)
    idx = np.arange(args.n) % base.shape[0]
    stack, e0, step = base[idx], e0_b[idx], step_b[idx]
    nl = min(args.larch_n, args.n)

    t_larch, larch_chis = run_larch(energy, stack, e0, step, nl)
    times = []
    for _ in range(args.repeat):
        t, bk, ft = run_ours(energy, stack, e0, step)
        times.append(t)
    t_ours = float(np.median(times))
    tracemalloc.start()
    run_ours(energy, stack, e0, step)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    diffs = [rel_rms(bk.k_invA, bk.chi[i], larch_chis[i]) for i in range(nl)]
    larch_rate = nl / t_larch
    ours_rate = args.n / t_ours
    print(f"spectra: {base.shape[0]} real Fe K-edge files on one grid ({energy.size} points), "
          f"replicated to N = {args.n}; {bk.n_groups} E0 groups")
    print(f"larch import: {t_imp:.2f} s (not counted); BLAS threads: "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")
    print(f"larch autobk+xftf : {nl} spectra in {t_larch:.3f} s -> {larch_rate:9.1f} spectra/s "
          f"({1e3 / larch_rate:.2f} ms each; N = {args.n} extrapolated: "
          f"{args.n / larch_rate:.1f} s)")
    print(f"naheo autobk_stack+xftf : {args.n} spectra in {t_ours:.3f} s (median of "
          f"{args.repeat}; runs {', '.join(f'{t:.3f}' for t in times)}) -> {ours_rate:9.1f} "
          f"spectra/s ({1e6 / ours_rate:.1f} us each)")
    print(f"speed ratio: {ours_rate / larch_rate:.0f}x (target >= 100x)")
    print(f"chi(k) RMS difference / larch chi RMS (k 3..kmax), {nl} spectra: "
          f"max {max(diffs):.2e}, median {np.median(diffs):.2e} (target < 5e-2)")
    print(f"peak traced memory of the stack path: {peak / 2**20:.1f} MiB "
          f"(input stack {stack.nbytes / 2**20:.1f} MiB)")
    t_lp = run_larch_pipeline(energy, stack, nl)
    t_op = float(np.median([run_ours_pipeline(energy, stack) for _ in range(args.repeat)]))
    print(f"whole pipeline, like for like: larch pre_edge(make_flat=False)+autobk+xftf "
          f"{nl / t_lp:.1f} spectra/s, naheo analyze_exafs_stack {args.n / t_op:.1f} spectra/s "
          f"-> {(args.n / t_op) / (nl / t_lp):.0f}x")
    mem, t_one, t_larch_one, diff = quick_exafs_memory()
    print(f"quick-EXAFS scan of 10^5 points: AUTOBK peak traced memory {mem:.1f} MiB "
          f"(target < 200 MB; dense operator before: 893 MiB), {t_one:.2f} s "
          f"(larch {t_larch_one:.2f} s), chi(k) RMS difference / larch {diff:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
