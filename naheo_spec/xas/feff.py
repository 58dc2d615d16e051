"""FEFF6 scattering paths for a structure, with an on-disk cache.

:func:`run_feff` writes a ``feff.inp`` for an absorber-centred cluster of a
:class:`~naheo_spec.xas.structures.Structure`, runs the ``feff6l`` executable shipped with
xraylarch, and returns the path list (:class:`FeffPaths`). Results are cached by the
SHA-256 of the ``feff.inp`` text (which holds the structure, absorber, edge and every
FEFF parameter), so fitting a series re-uses one calculation. The cache folder is written
atomically: FEFF runs in a temporary folder that is renamed into place only when complete.

:func:`select_shell_paths` picks the first absorber--anion and the first metal--metal
single-scattering paths used by :func:`naheo_spec.xas.shellfit.fit_shells`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from naheo_spec.diagnostics import WarningCode, capture, emit
from naheo_spec.errors import InputError, ProcessingError, QualityWarning
from naheo_spec.xas.larch_bridge import larch_module

METAL_PATH_SHORT = WarningCode("xas.feff.metal_path_short", QualityWarning,
                               "The metal-metal path is shorter than the absorber-anion path.")
from naheo_spec.provenance import Provenance
from naheo_spec.xas.structures import (
    TRANSITION_METALS,
    Structure,
    cluster,
    from_cif,
    parse_structure_spec,
)

__all__ = ["FeffPath", "FeffPaths", "run_feff", "select_shell_paths", "default_cache_dir",
           "EDGE_HOLES"]

#: FEFF6 HOLE card codes.
EDGE_HOLES = {"K": 1, "L1": 2, "L2": 3, "L3": 4}
#: Format version of the cache folders; bump when the layout or feff.inp content changes.
CACHE_SCHEMA = 1
_META = "naheo_paths.json"
_MAX_POTENTIALS = 7  # FEFF6 nphx: ipot 0..7
_MAX_ATOMS = 800


@dataclass(frozen=True)
class FeffPath:
    """One FEFF scattering path.

    Attributes
    ----------
    index : int
        FEFF path number (NNNN in ``feffNNNN.dat``).
    filename : str
        Absolute path of ``feffNNNN.dat``.
    reff_A : float
        Half path length in A.
    degeneracy : float
        Number of equivalent paths (N for a single-scattering shell).
    nleg : int
        Number of legs (2 = single scattering).
    scatterers : tuple of str
        Elements visited before returning to the absorber.
    geometry : tuple of (str, float, float, float)
        ``(element, x, y, z)`` of each atom in the path, absorber last, in A.
    amplitude_ratio_pct : float
        FEFF's curved-wave amplitude relative to the strongest path, in %.
    absorber : str
        Absorbing element.
    """

    index: int
    filename: str
    reff_A: float
    degeneracy: float
    nleg: int
    scatterers: tuple[str, ...]
    geometry: tuple[tuple[str, float, float, float], ...]
    amplitude_ratio_pct: float
    absorber: str

    @property
    def label(self) -> str:
        """``"Ni-O"`` for single scattering, ``"Ni-O-Ni"`` etc. for multiple scattering."""
        return "-".join((self.absorber, *self.scatterers))

    @property
    def is_single_scattering(self) -> bool:
        return self.nleg == 2

    def to_dict(self) -> dict:
        return {"index": self.index, "filename": Path(self.filename).name, "reff_A": self.reff_A,
                "degeneracy": self.degeneracy, "nleg": self.nleg, "scatterers": list(self.scatterers),
                "geometry": [list(g) for g in self.geometry],
                "amplitude_ratio_pct": self.amplitude_ratio_pct, "label": self.label}


@dataclass(frozen=True)
class FeffPaths:
    """Paths of one FEFF run.

    Attributes
    ----------
    paths : tuple of FeffPath
        In FEFF order (increasing reff).
    absorber, edge : str
        Absorbing element and edge.
    folder : str
        Cache folder holding ``feff.inp``, ``feffNNNN.dat``, ``paths.dat``, ``files.dat``.
    cache_key : str
        SHA-256 identifying the calculation.
    cache_hit : bool
        True when the paths were read from the cache without running FEFF.
    structure_name : str
        Name of the structure used.
    feff_version : str
        Version string printed by FEFF.
    warnings : tuple of str
        Issues found while building the cluster or running FEFF.
    provenance : Provenance
        Step ``"xas.feff"`` and every parameter used.
    """

    paths: tuple[FeffPath, ...]
    absorber: str
    edge: str
    folder: str
    cache_key: str
    cache_hit: bool
    structure_name: str
    feff_version: str
    warnings: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance("xas.feff"))

    def __iter__(self) -> Iterator[FeffPath]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> FeffPath:
        return self.paths[i]

    def single_scattering(self) -> tuple[FeffPath, ...]:
        return tuple(p for p in self.paths if p.is_single_scattering)


def default_cache_dir() -> Path:
    """``$NAHEO_CACHE/feff`` if NAHEO_CACHE is set, else ``~/.cache/naheo_spec/feff``."""
    root = os.environ.get("NAHEO_CACHE")
    if root:
        return Path(root).expanduser() / "feff"
    return Path.home() / ".cache" / "naheo_spec" / "feff"


# ---------------------------------------------------------------------------- feff.inp
def _atomic_number(symbol: str) -> int:
    from xraydb import atomic_number

    try:
        return int(atomic_number(symbol))
    except Exception:  # xraydb raises bare ValueError/KeyError variants for unknown symbols
        raise InputError(f"unknown element symbol {symbol!r}") from None


def _feff_inp(atoms, absorber: str, edge: str, rmax_A: float, nleg: int, title: str) -> str:
    """FEFF6 input text. The title is a comment-free description kept out of the cache key."""
    ipots: dict[str, int] = {}
    for el, *_ in atoms[1:]:
        ipots.setdefault(el, len(ipots) + 1)
    if len(ipots) > _MAX_POTENTIALS:
        raise InputError(f"cluster has {len(ipots)} scattering elements ({', '.join(ipots)}); FEFF6 "
                         f"allows {_MAX_POTENTIALS}. Use representative='majority' or a simpler structure")
    lines = [f"TITLE {title[:70]}", f"HOLE {EDGE_HOLES[edge]} 1.0", "CONTROL 1 1 1 1",
             "PRINT 1 0 0 0", f"RMAX {rmax_A:.4f}", f"NLEG {nleg}", "", "POTENTIALS",
             f"  0 {_atomic_number(absorber):3d} {absorber}"]
    lines += [f"  {ip} {_atomic_number(el):3d} {el}" for el, ip in ipots.items()]
    lines += ["", "ATOMS"]
    for i, (el, x, y, z) in enumerate(atoms):
        ip = 0 if i == 0 else ipots[el]
        lines.append(f"  {x:11.5f} {y:11.5f} {z:11.5f} {ip:2d} {el:<3s} {np.sqrt(x*x + y*y + z*z):9.5f}")
    lines.append("END")
    return "\n".join(lines) + "\n"


def _cache_key(feff_inp: str) -> str:
    body = "\n".join(ln for ln in feff_inp.splitlines() if not ln.startswith("TITLE"))
    return hashlib.sha256(f"naheo-feff6l-v{CACHE_SCHEMA}\n{body}".encode()).hexdigest()


# ---------------------------------------------------------------------------- parsing
_PATH_HEAD = re.compile(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+index, nleg, degeneracy, r=\s*([\d.]+)")


def _parse_paths_dat(text: str) -> dict[int, dict]:
    out: dict[int, dict] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _PATH_HEAD.match(lines[i])
        if not m:
            i += 1
            continue
        idx, nleg = int(m.group(1)), int(m.group(2))
        geom = []
        for ln in lines[i + 2:i + 2 + nleg]:
            w = ln.split("'")
            x, y, z, _ = w[0].split()
            geom.append((w[1].strip(), float(x), float(y), float(z)))
        out[idx] = {"nleg": nleg, "degeneracy": float(m.group(3)), "reff_A": float(m.group(4)),
                    "geometry": geom}
        i += 2 + nleg
    return out


def _parse_files_dat(text: str) -> list[tuple[str, float]]:
    rows = []
    for ln in text.splitlines():
        w = ln.split()
        if len(w) >= 6 and re.fullmatch(r"feff\d{4}\.dat", w[0]):
            rows.append((w[0], float(w[2])))
    return rows


def _collect_paths(folder: Path, absorber: str) -> tuple[list[dict], str]:
    paths_txt = (folder / "paths.dat").read_text(errors="replace")
    version = "Feff 6L"
    m = re.search(r"(Feff\s+\S+)", paths_txt)
    if m:
        version = m.group(1)
    geo = _parse_paths_dat(paths_txt)
    meta = []
    for fname, amp in _parse_files_dat((folder / "files.dat").read_text(errors="replace")):
        idx = int(fname[4:8])
        if idx not in geo or not (folder / fname).is_file():
            raise ProcessingError(f"FEFF output in {folder}: {fname} listed in files.dat but "
                                  "missing from paths.dat or the folder")
        g = geo[idx]
        meta.append({"index": idx, "filename": fname, "reff_A": g["reff_A"], "degeneracy": g["degeneracy"],
                     "nleg": g["nleg"], "scatterers": [a[0] for a in g["geometry"][:-1]],
                     "geometry": g["geometry"], "amplitude_ratio_pct": amp})
    if not meta:
        raise ProcessingError(f"FEFF in {folder} produced no feffNNNN.dat paths (see feff.log)")
    return meta, version


def _paths_from_meta(folder: Path, meta: dict) -> tuple[FeffPath, ...]:
    return tuple(FeffPath(index=m["index"], filename=str(folder / m["filename"]), reff_A=m["reff_A"],
                          degeneracy=m["degeneracy"], nleg=m["nleg"], scatterers=tuple(m["scatterers"]),
                          geometry=tuple(tuple(g) for g in m["geometry"]),
                          amplitude_ratio_pct=m["amplitude_ratio_pct"], absorber=meta["absorber"])
                 for m in meta["paths"])


# ---------------------------------------------------------------------------- running
def _feff6l_exe() -> str:
    exe = larch_module("larch.xafs.feffrunner").find_exe("feff6l")
    if exe is None:
        raise ProcessingError("the feff6l executable shipped with xraylarch was not found; "
                              "reinstall xraylarch (>= 2026.3.1)")
    return str(exe)


def _run_in(folder: Path, feff_inp: str, timeout_s: float) -> None:
    (folder / "feff.inp").write_text(feff_inp)
    # Run the executable directly with cwd= rather than larch.xafs.feff6l, which
    # os.chdir()s the whole process and prints FEFF's output to stdout.
    try:
        proc = subprocess.run([_feff6l_exe()], cwd=folder, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise ProcessingError(f"feff6l did not finish within {timeout_s} s in {folder}") from None
    (folder / "feff.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not (folder / "files.dat").is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise ProcessingError(f"feff6l failed (exit {proc.returncode}) in {folder}:\n{tail}")


def _load_cached(final: Path) -> dict | None:
    try:
        meta = json.loads((final / _META).read_text())
    except (OSError, ValueError):
        return None
    if meta.get("schema") != CACHE_SCHEMA or not all((final / m["filename"]).is_file() for m in meta["paths"]):
        return None
    return meta


def _compute(cache_root: Path, final: Path, feff_inp: str, absorber: str, timeout_s: float) -> dict:
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name[:12]}.", dir=cache_root))
    try:
        _run_in(tmp, feff_inp, timeout_s)
        paths, version = _collect_paths(tmp, absorber)
        meta = {"schema": CACHE_SCHEMA, "absorber": absorber, "feff_version": version, "paths": paths}
        (tmp / _META).write_text(json.dumps(meta, indent=1))
        if final.exists():  # a broken entry, or another process finished first
            if _load_cached(final) is not None:
                return _load_cached(final)  # type: ignore[return-value]
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if _load_cached(final) is None:
                raise
            return _load_cached(final)  # type: ignore[return-value]
        return meta
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _resolve_structure(structure_or_cif, absorber: str) -> Structure:
    if isinstance(structure_or_cif, Structure):
        return structure_or_cif
    if isinstance(structure_or_cif, (str, Path)):
        p = Path(structure_or_cif)
        if p.is_file():
            return from_cif(p)
        return parse_structure_spec(str(structure_or_cif), absorber=absorber)
    raise InputError(f"structure_or_cif={structure_or_cif!r}: expected a Structure, a CIF path or a "
                     "structure spec such as 'rocksalt:a=4.177'")


def run_feff(structure_or_cif, absorber: str, *, rmax_A: float = 5.0, edge: str = "K",
             cache_dir: str | Path | None = None, nleg: int = 4, cluster_pad_A: float = 2.5,
             representative: str = "absorber", site_index: int | None = None,
             timeout_s: float = 300.0) -> FeffPaths:
    """Run FEFF6 (larch's ``feff6l``) for an absorber in a structure, with caching.

    Parameters
    ----------
    structure_or_cif : Structure or str or Path
        A structure, a CIF file, or a structure spec (:func:`~naheo_spec.xas.structures.parse_structure_spec`).
    absorber : str
        Absorbing element (``"Ni"``).
    rmax_A : float
        Longest half path length FEFF keeps, in A. Default is 5.0.
    edge : {"K", "L1", "L2", "L3"}
        Absorption edge. Default is ``"K"``.
    cache_dir : str or Path, optional
        Cache root. None (default) uses :func:`default_cache_dir`
        (``$NAHEO_CACHE/feff`` or ``~/.cache/naheo_spec/feff``).
    nleg : int
        Maximum number of legs per path. Default is 4.
    cluster_pad_A : float
        The ATOMS list extends to ``rmax_A + cluster_pad_A`` so that the potentials of the
        outermost path atoms see their neighbours. Default is 2.5.
    representative : {"absorber", "majority"}
        Element placed on mixed-occupancy sites (see :mod:`naheo_spec.xas.structures`).
        Default is ``"absorber"``.
    site_index : int, optional
        Absorbing site (index in ``structure.sites``); None (default) takes the first.
    timeout_s : float
        Limit for one FEFF run in s. Default is 300.

    Returns
    -------
    FeffPaths
        Paths with reff, degeneracy and geometry; ``cache_hit`` tells whether FEFF ran.

    Raises
    ------
    InputError
        For an unknown edge, an absorber missing from the structure, too many
        potentials, or a bad ``rmax_A``/``nleg``.
    ProcessingError
        If FEFF fails or produces no paths.

    References
    ----------
    Zabinsky, S. I., Rehr, J. J., Ankudinov, A., Albers, R. C., Eller, M. J.,
    Phys. Rev. B 52, 2995 (1995), doi:10.1103/PhysRevB.52.2995 (FEFF6);
    Newville, M., J. Phys.: Conf. Ser. 430, 012007 (2013), doi:10.1088/1742-6596/430/1/012007 (larch).
    """
    edge_u = str(edge).upper()
    if edge_u not in EDGE_HOLES:
        raise InputError(f"edge={edge!r}: FEFF6 supports {', '.join(EDGE_HOLES)}")
    if not (np.isfinite(rmax_A) and 1.0 <= rmax_A <= 10.0):
        raise InputError(f"rmax_A={rmax_A!r}: expected 1 to 10 A")
    if int(nleg) != nleg or not 2 <= nleg <= 8:
        raise InputError(f"nleg={nleg!r}: expected an integer from 2 to 8")
    structure = _resolve_structure(structure_or_cif, absorber)
    with capture() as msgs:
        atoms = cluster(structure, absorber, float(rmax_A) + float(cluster_pad_A),
                        representative=representative, site_index=site_index)
    emit(msgs, stacklevel=2)
    if len(atoms) > _MAX_ATOMS:
        raise InputError(f"cluster of {len(atoms)} atoms exceeds the FEFF6 limit ({_MAX_ATOMS}); "
                         "reduce rmax_A or cluster_pad_A")
    absorber = atoms[0][0]
    feff_inp = _feff_inp(atoms, absorber, edge_u, float(rmax_A), int(nleg),
                         f"{structure.name} {absorber} {edge_u}")
    key = _cache_key(feff_inp)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    final = root / key[:32]
    t0 = time.perf_counter()
    meta = _load_cached(final)
    hit = meta is not None
    if meta is None:
        meta = _compute(root, final, feff_inp, absorber, timeout_s)
    params = {"structure": structure.to_dict(), "absorber": absorber, "edge": edge_u, "rmax_A": float(rmax_A),
              "nleg": int(nleg), "cluster_pad_A": float(cluster_pad_A), "representative": representative,
              "site_index": site_index, "cache_dir": str(root), "cache_key": key, "cache_hit": hit,
              "n_atoms": len(atoms), "elapsed_s": round(time.perf_counter() - t0, 4)}
    return FeffPaths(paths=_paths_from_meta(final, meta), absorber=absorber, edge=edge_u, folder=str(final),
                     cache_key=key, cache_hit=hit, structure_name=structure.name,
                     feff_version=meta.get("feff_version", "Feff 6L"), warnings=tuple(msgs),
                     provenance=Provenance("xas.feff", params, source_file=structure.source or None))


def select_shell_paths(paths: FeffPaths | Sequence[FeffPath], *, absorber: str | None = None,
                       anions: Sequence[str] = ("O", "F", "S", "N", "Cl", "Se")
                       ) -> tuple[FeffPath, FeffPath]:
    """First absorber--anion and first metal--metal single-scattering paths.

    Parameters
    ----------
    paths : FeffPaths or sequence of FeffPath
        Output of :func:`run_feff`.
    absorber : str, optional
        Absorbing element; None (default) reads it from the paths.
    anions : sequence of str
        Elements counted as first-shell ligands. Default is O, F, S, N, Cl, Se.

    Returns
    -------
    (FeffPath, FeffPath)
        ``(TM-O, TM-TM)``: the shortest single-scattering path to an anion, and the
        shortest one to a transition metal (alkali neighbours such as Na are skipped).

    Raises
    ------
    ProcessingError
        If either path is missing (increase ``rmax_A`` in :func:`run_feff`).
    """
    plist = list(paths)
    if not plist:
        raise ProcessingError("select_shell_paths: empty path list")
    absorber = absorber or plist[0].absorber
    ss = sorted((p for p in plist if p.is_single_scattering), key=lambda p: p.reff_A)
    first = next((p for p in ss if p.scatterers[0] in anions), None)
    metal = next((p for p in ss if p.scatterers[0] in TRANSITION_METALS), None)
    missing = [name for name, p in (("absorber-anion", first), ("metal-metal", metal)) if p is None]
    if missing:
        found = ", ".join(f"{p.label} {p.reff_A:.3f} A" for p in ss) or "none"
        raise ProcessingError(f"no {' or '.join(missing)} single-scattering path for {absorber} "
                              f"(single-scattering paths: {found}); increase rmax_A")
    if metal.reff_A < first.reff_A:  # metallic or unusual structure: say so, do not guess
        METAL_PATH_SHORT.warn(f"the metal-metal path ({metal.reff_A:.3f} A) is shorter than the "
                              f"absorber-anion path ({first.reff_A:.3f} A)", stacklevel=2)
    return first, metal
