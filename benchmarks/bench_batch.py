"""Benchmark (c): a 1,000-file batch (XANES + EXAFS) from real-derived files, 5 % corrupted.

1. Writes ``--n`` XDI files: copies of eight real CERIC/LISA scans (Fe, Mn, Ni K edges,
   full EXAFS range) with mu scaled by ``1 + 1e-5 k`` (own bytes and hash per file), of
   which 5 % are broken (cut in the header, binary garbage, empty, text instead of numbers).
2. Runs ``naheo-spec batch`` (``[xanes]`` + ``[exafs]``) in a fresh process for each
   scheduler of ``--schedulers`` (threads vs spawned processes vs one process), from an
   empty work folder, and prints seconds, ms per spectrum (per file and pipeline), the
   failures (every bad file must be listed with its reason), and the peak RSS.
3. In the same run, times larch on ``--larch-n`` of the good files: ``pre_edge`` +
   ``autobk`` + ``xftf`` (the same jobs; larch's time excludes reading the files, ours
   includes reading, hashing, writing chunks and the store), and prints the ratio.
4. ``--kill-after S``: starts the first scheduler's run again from scratch, SIGKILLs it
   after S seconds, runs it again and reports what the resumed run computed (nothing that
   was committed is computed twice) and that a third run does nothing.

Usage::

    python benchmarks/bench_batch.py [--n 1000] [--schedulers local,processes,threads]
                                     [--workers 2] [--larch-n 40] [--kill-after 8] [--no-records]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NAHEO_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / "xas"
CERIC = DATA / "amecchina__CERIC-Reference-Spectra-Repository"
SOURCES = ["Fe2O3_311_EXAFS.xdi", "Fe3O4_311.xdi", "FeO_311.xdi", "Fe_foil_311.xdi",
           "MnO.xdi", "Mn_foil_111.xdi", "Ni_foil_111.xdi", "LaNiO3_Ni_80K_111.xdi"]
_NUM = re.compile(r"^(\s*)(\S+)(\s+)(\S+)(.*)$")


def variant(text: str, k: int) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        m = None if line.lstrip().startswith("#") else _NUM.match(line.rstrip("\r\n"))
        if m:
            end = line[len(line.rstrip("\r\n")):]
            line = (f"{m.group(1)}{m.group(2)}{m.group(3)}"
                    f"{float(m.group(4)) * (1 + 1e-5 * k):.9g}{m.group(5)}{end}")
        out.append(line)
    return "".join(out)


def make_files(folder: Path, n: int, bad_fraction: float = 0.05) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {s: (CERIC / s).read_text() for s in SOURCES}
    files = []
    for k in range(n):
        src = SOURCES[k % len(SOURCES)]
        p = folder / f"scan_{k:05d}_{Path(src).stem}.xdi"
        p.write_text(variant(texts[src], k))
        files.append(p)
    n_bad = round(n * bad_fraction)
    step = n // max(1, n_bad)
    bad = files[step // 2::step][:n_bad]
    for j, p in enumerate(bad):
        data = p.read_bytes()
        if j % 4 == 0:
            p.write_bytes(data[: len(data) // 20])
        elif j % 4 == 1:
            p.write_bytes(bytes(range(256)) * 8)
        elif j % 4 == 2:
            p.write_bytes(b"")
        else:
            p.write_text("".join(x if x.startswith("#") else "n/a n/a n/a\n"
                                 for x in data.decode().splitlines(keepends=True)))
    return bad


def larch_rate(files: list[Path]) -> float:
    """Seconds per file of larch pre_edge + autobk + xftf (arrays read beforehand)."""
    from larch import Group
    from larch.xafs import autobk, pre_edge, xftf

    from naheo_spec.io import read_spectrum

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = [read_spectrum(f) for f in files]
        g = Group(energy=data[0].energy, mu=data[0].mu)
        pre_edge(g)
        autobk(g)
        t = time.perf_counter()
        for s in data:
            g = Group(energy=s.energy, mu=s.mu)
            pre_edge(g)
            autobk(g, rbkg=1.0)
            xftf(g, kmin=3, kmax=min(12.0, g.k[-1] - 1), kweight=2, dk=1, window="hanning")
        return (time.perf_counter() - t) / len(data)


def run(cfg: Path, *, kill_after: float | None = None):
    cmd = [sys.executable, "-m", "naheo_spec.cli.main", "batch", str(cfg), "--json"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    if kill_after is not None:
        try:
            p.wait(kill_after)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
        p.wait()
        return None, time.perf_counter() - t, p.returncode
    out, _err = p.communicate()
    wall = time.perf_counter() - t
    return json.loads(out), wall, p.returncode


def config(folder: Path, scheduler: str, workers: int, chunk: int, records: bool) -> Path:
    cfg = folder / f"batch_{scheduler}.toml"
    cfg.write_text(f'[input]\nfiles = ["scans/*.xdi"]\n[xanes]\n[exafs]\n[output]\n'
                   f'store = "res_{scheduler}.h5"\nsummary = "res_{scheduler}.csv"\n'
                   f'scan_records = {"true" if records else "false"}\n'
                   f'[compute]\nscheduler = "{scheduler}"\nworkers = {workers}\n'
                   f'chunk = {chunk}\n')
    return cfg


def clean(folder: Path, scheduler: str) -> None:
    for p in (folder / f"res_{scheduler}.h5", folder / f"res_{scheduler}.csv"):
        p.unlink(missing_ok=True)
    shutil.rmtree(folder / f"res_{scheduler}.batch", ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--schedulers", default="local,processes,threads")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=50)
    ap.add_argument("--larch-n", type=int, default=40)
    ap.add_argument("--kill-after", type=float, default=None)
    ap.add_argument("--no-records", action="store_true",
                    help="[output] scan_records = false (tables only, no per-scan entries)")
    ap.add_argument("--dir", default=None)
    a = ap.parse_args(argv)
    work = Path(a.dir or tempfile.mkdtemp(prefix="bench_batch_"))
    shutil.rmtree(work / "scans", ignore_errors=True)
    bad = make_files(work / "scans", a.n)
    print(f"{a.n} files ({len(bad)} corrupted) in {work / 'scans'}")
    good = [p for p in sorted((work / "scans").glob("*.xdi")) if p not in bad]
    larch = larch_rate(good[: a.larch_n])
    print(f"larch pre_edge + autobk + xftf: {larch * 1e3:.1f} ms/file "
          f"({a.larch_n} files, arrays read beforehand)")
    scheds = a.schedulers.split(",")
    for s in scheds:
        clean(work, s)
        cfg = config(work, s, a.workers, a.chunk, not a.no_records)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        summary, wall, rc = run(cfg)
        rss = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        listed = {f["file"] for f in summary["failed"]}
        ok_bad = listed == {f"scans/{p.name}" for p in bad}
        per_file = wall / a.n
        print(f"[{summary['scheduler']}] {wall:.1f} s ({summary['seconds']:.1f} s in the run): "
              f"{per_file * 1e3:.2f} ms/file for XANES + EXAFS, "
              f"{summary['per_spectrum_ms']:.2f} ms/spectrum-pipeline in the run; "
              f"{summary['done']} scan-pipelines ok, {summary['n_failed']} failed "
              f"({len(listed)} files, {'exactly the corrupted ones' if ok_bad else 'MISMATCH'}); "
              f"exit {rc}; ratio larch/ours {larch / per_file:.1f}x; peak RSS (max over "
              f"children so far) {rss:.0f} MiB")
    reasons = {}
    for f in summary["failed"]:
        reasons.setdefault(f["error"].split(": ", 1)[-1][:70], f["file"])
    print("failure reasons (one example file each):")
    for r, f in reasons.items():
        print(f"  {f}: {r}")
    if a.kill_after is not None:
        s = scheds[0]
        clean(work, s)
        cfg = config(work, s, a.workers, a.chunk, not a.no_records)
        _, t_kill, rc = run(cfg, kill_after=a.kill_after)
        chunks = sorted((work / f"res_{s}.batch" / "chunks").glob("c*.h5"))
        print(f"killed (SIGKILL) after {t_kill:.1f} s (exit {rc}): {len(chunks)} chunks "
              f"committed, store present: {(work / f'res_{s}.h5').exists()}")
        summary, wall, rc = run(cfg)
        print(f"resumed: done {summary['done']}, skipped {summary['skipped']} (committed before "
              f"the kill), failed {summary['n_failed']}, {wall:.1f} s; done + skipped = "
              f"{summary['done'] + summary['skipped']} of {2 * a.n} scan-pipelines")
        summary, wall, rc = run(cfg)
        print(f"third run: done {summary['done']}, nothing_to_do {summary['nothing_to_do']}, "
              f"{wall:.1f} s, exit {rc}")
    if not a.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
