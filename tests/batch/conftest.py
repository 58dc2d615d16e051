"""Inputs for the batch tests, built at test time from the real spectra in ../shared/data/xas.

- ``make_scans(folder, n, bad=...)``: ``n`` XDI files that are copies of real CERIC/LISA
  scans (Fe, Mn, Ni K edges) with the mu column scaled by ``1 + 1e-4 k`` (so every file
  has its own bytes and hash, and the same edge), of which ``bad`` are corrupted the ways
  files arrive broken (truncated in the header, binary garbage, empty, numbers replaced
  by text).
- ``make_stack(path, n)``: an HDF5 ``[n, 400]`` Fe K-edge stack whose rows are real Fe
  spectra (FeO, Fe3O4, Fe2O3, Fe foil; CERIC/LISA) on one grid, shifted by up to
  +-1 eV and with 0.2 % noise, with the FeO scan's real foil column as reference;
  two rows broken (all zero, NaN).
- ``write_config(folder, text)``: a config file.

Real data are never copied into the repository: everything lands in ``tmp_path``.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import CERIC

#: Real scans with a full EXAFS range (XANES and EXAFS both run on them).
SOURCES = ["Fe2O3_311_EXAFS.xdi", "Fe3O4_311.xdi", "FeO_311.xdi", "Fe_foil_311.xdi",
           "MnO.xdi", "Mn_foil_111.xdi", "Ni_foil_111.xdi", "LaNiO3_Ni_80K_111.xdi"]
_NUM = re.compile(r"^(\s*)(\S+)(\s+)(\S+)(.*)$")


def variant(text: str, k: int) -> str:
    """``text`` (an XDI file) with column 2 (mu) scaled by 1 + 1e-4 k."""
    out = []
    for line in text.splitlines(keepends=True):
        m = None if line.lstrip().startswith("#") else _NUM.match(line.rstrip("\r\n"))
        if m:
            end = line[len(line.rstrip("\r\n")):]
            mu = float(m.group(4)) * (1 + 1e-4 * k)
            line = f"{m.group(1)}{m.group(2)}{m.group(3)}{mu:.9g}{m.group(5)}{end}"
        out.append(line)
    return "".join(out)


def corrupt(path: Path, how: int) -> str:
    """Break ``path`` in way ``how`` (0..3); return a word the error is expected to
    contain (lower case) or "" when any message will do."""
    data = path.read_bytes()
    if how % 4 == 0:
        path.write_bytes(data[: len(data) // 20])          # cut inside the header
    elif how % 4 == 1:
        path.write_bytes(bytes(range(256)) * 8)             # binary garbage
    elif how % 4 == 2:
        path.write_bytes(b"")                               # empty
    else:
        path.write_text("".join(line if line.startswith("#") else "n/a n/a n/a\n"
                                for line in data.decode().splitlines(keepends=True)))
    return ""


@pytest.fixture
def make_scans(xas_data):
    def make(folder: Path, n: int, *, bad: int = 0, names=None) -> tuple[list[Path], list[Path]]:
        folder.mkdir(parents=True, exist_ok=True)
        texts = {s: (xas_data / CERIC / s).read_text() for s in SOURCES}
        files = []
        for k in range(n):
            src = SOURCES[k % len(SOURCES)]
            p = folder / (names[k] if names else f"scan_{k:04d}_{Path(src).stem}.xdi")
            p.write_text(variant(texts[src], k))
            files.append(p)
        step = max(1, n // max(bad, 1))
        broken = [files[i] for i in range(step // 2, n, step)][:bad]
        for j, p in enumerate(broken):
            corrupt(p, j)
        return files, broken
    return make


@pytest.fixture
def make_stack(xas_data):
    def make(path: Path, n: int = 200, *, seed: int = 0) -> dict:
        import h5py

        from naheo_spec.io import read_spectrum

        srcs = [read_spectrum(xas_data / CERIC / s) for s in
                ("FeO_311.xdi", "Fe3O4_311.xdi", "Fe2O3_311_EXAFS.xdi", "Fe_foil_311.xdi")]
        e = np.linspace(6950.0, 7850.0, 400)
        rng = np.random.default_rng(seed)
        which = rng.integers(0, len(srcs), n)
        shift = rng.uniform(-1.0, 1.0, n)
        mu = np.empty((n, e.size))
        for i in range(n):
            s = srcs[which[i]]
            row = np.interp(e - shift[i], s.energy, s.mu)
            mu[i] = row + rng.normal(0.0, 0.002 * np.ptp(row), e.size)
        foil = srcs[0].channels["reference"]
        ref = np.tile(np.interp(e, srcs[0].energy, foil), (n, 1))
        mu[3] = 0.0
        mu[n // 2] = np.nan
        with h5py.File(path, "w") as f:
            g = f.create_group("map")
            g.attrs["element"] = "Fe"
            g.attrs["edge"] = "K"
            g["energy"] = e
            g.create_dataset("mu", data=mu.astype(np.float32), chunks=(min(n, 64), e.size),
                             compression="gzip")
            g.create_dataset("murefer", data=ref.astype(np.float32),
                             chunks=(min(n, 64), e.size), compression="gzip")
        return {"energy": e, "mu": mu.astype(np.float32), "ref": ref.astype(np.float32),
                "bad_rows": [3, n // 2]}
    return make


@pytest.fixture
def write_config():
    def write(folder: Path, text: str, name: str = "batch.toml") -> Path:
        p = folder / name
        p.write_text(textwrap.dedent(text))
        return p
    return write


@pytest.fixture
def cli(capsys):
    """Run ``naheo-spec`` in-process: ``cli(*args) -> (exit code, stdout, stderr)``."""
    from naheo_spec.cli.main import main

    def run(*args):
        capsys.readouterr()
        rc = main([str(a) for a in args])
        got = capsys.readouterr()
        return rc, got.out, got.err
    return run
