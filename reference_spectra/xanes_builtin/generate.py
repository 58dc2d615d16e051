"""Regenerate the built-in XANES standards from the raw spectra in the shared data folder.

Reads ``reference_spectra/xanes_standards/{mn,fe,ni}.toml`` (real measured standards with
their formal valences), runs every ``[[standard]]`` through the XANES pipeline
(:func:`naheo_spec.xas.xanes.analyze_xanes`: foil calibration, normalization, E0 with its
error budget) for every E0 method and normalization preset, and writes, for each element:

``<el>_edges.csv``
    One row per standard, preset and method (``half-height``, ``max-derivative``,
    ``zero-second-derivative``, ``arctan``, ``integral``, and for Fe the pre-edge
    centroid ``preedge-centroid``): edge position, its error and every error term,
    the energy-scale session, foil shift and the source file's SHA-256.
``<el>_norm.csv``
    The normalized spectra (larch preset, foil-calibrated energies) of the standards on
    one common grid, ``E_tab - 30`` to ``E_tab + 90`` eV in 0.2 eV steps (linear
    interpolation; NaN outside a spectrum), for LCF and plots.

and ``priors.toml``: the scatter prior of each element's valence line, pooled from the
*other* elements' lines (:data:`naheo_spec.xas.valence.SCATTER_PRIOR_EV` must match it).

Usage::

    python reference_spectra/xanes_builtin/generate.py [--data-root ../shared/data] [--out DIR]

The output is deterministic (seeded bootstrap); ``tests/xas/test_builtin_standards.py``
regenerates it and compares with the shipped files.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
STANDARDS = HERE.parent / "xanes_standards"
ELEMENTS = ("mn", "fe", "ni")
METHODS = ("half-height", "max-derivative", "zero-second-derivative", "arctan", "integral")
PRESETS = ("larch", "athena")
GRID_EV = (-30.0, 90.0, 0.2)
TERMS = ("noise", "grid", "normalization", "foil", "energy_scale", "energy_drift")
EDGE_COLUMNS = ("name", "formula", "valence", "preset", "method", "e0_eV", "e0_err_eV",
                *(f"{t}_eV" for t in TERMS), "session", "foil_shift_eV", "file", "group",
                "sha256")
DIGITS = 6           # decimals written: far below every error, stable across runs


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if v != v else f"{v:.{DIGITS}f}"
    return str(v)


def measure(element: str, data_root: Path):
    """Rows of the edge table and the normalized spectra of one element's standards."""
    import numpy as np

    from naheo_spec.xas.standards import SpectrumReader, load_standards, measure_standard

    st = load_standards(STANDARDS / f"{element}.toml", data_root=data_root)
    reader = SpectrumReader()
    rows, spectra = [], {}
    for spec in st.standards:
        rel = spec.file.relative_to(data_root).as_posix()
        for preset in PRESETS:
            for method in METHODS:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _, res = measure_standard(spec, e0_method=method, element=st.element,
                                              edge=st.edge, reader=reader, preset=preset)
                rows.append(_row(spec, preset, method, res.e0_eV, res.e0_err_eV,
                                 res.e0_err_terms_eV, res, rel))
                if method == "half-height" and preset == "larch":
                    spectra[spec.name] = (res.energy, res.norm)
                    if "preedge_centroid_eV" in res.markers:
                        # the centroid carries the spectrum's energy-calibration terms; the
                        # rest of its error (fit and grid) is written as its "noise" term
                        terms = {k: v for k, v in res.e0_err_terms_eV.items()
                                 if k in ("foil", "energy_scale", "energy_drift")}
                        rest = res.markers["preedge_centroid_err_eV"] ** 2 - sum(
                            v * v for v in terms.values())
                        terms["noise"] = float(max(rest, 0.0) ** 0.5)
                        rows.append(_row(spec, preset, "preedge-centroid",
                                         res.markers["preedge_centroid_eV"],
                                         res.markers["preedge_centroid_err_eV"], terms, res, rel))
    return st, rows, spectra


def _row(spec, preset, method, e0, err, terms, res, rel) -> dict:
    row = {"name": spec.name, "formula": spec.info.get("formula", ""),
           "valence": float(spec.valence), "preset": preset, "method": method,
           "e0_eV": float(e0), "e0_err_eV": float(err),
           "session": (spec.session or rel) if "energy_scale" in terms else "",
           "foil_shift_eV": None if res.foil_shift_eV is None else float(res.foil_shift_eV),
           "file": rel, "group": spec.group or "", "sha256": res.provenance.source_sha256}
    for t in TERMS:
        row[f"{t}_eV"] = float(terms[t]) if t in terms else float("nan")
    return row


def write_edges(path: Path, rows: list[dict], header: str) -> None:
    buf = io.StringIO()
    buf.write(header)
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EDGE_COLUMNS)
    for r in rows:
        w.writerow([_fmt(r[c]) for c in EDGE_COLUMNS])
    path.write_text(buf.getvalue(), encoding="utf-8")


def write_norm(path: Path, spectra: dict, tab: float, header: str) -> None:
    import numpy as np

    lo, hi, step = GRID_EV
    grid = tab + np.round(np.arange(lo, hi + step / 2, step), 6)
    buf = io.StringIO()
    buf.write(header)
    w = csv.writer(buf, lineterminator="\n")
    names = list(spectra)
    w.writerow(["energy_eV", *names])
    cols = []
    for n in names:
        e, y = spectra[n]
        v = np.interp(grid, e, y)
        v[(grid < e[0]) | (grid > e[-1])] = np.nan
        cols.append(v)
    for i, g in enumerate(grid):
        w.writerow([f"{g:.3f}", *(_fmt(float(c[i])) for c in cols)])
    path.write_text(buf.getvalue(), encoding="utf-8")


def priors(lines: dict) -> dict[str, float]:
    """Scatter prior of each element: the Paule-Mandel scatter of the *other* elements'
    half-height lines (larch preset), pooled with their degrees of freedom."""
    import numpy as np

    own = {el: (cal.provenance.parameters["scatter_own_eV"], cal.dof) for el, cal in lines.items()}
    out = {}
    for el in list(lines) + ["*"]:
        others = [(t, d) for e, (t, d) in own.items() if e != el and d > 0]
        num = sum(d * t * t for t, d in others)
        den = sum(d for _, d in others)
        out[el] = float(np.sqrt(num / den)) if den else 0.0
    return out


def generate(data_root: Path, out: Path) -> dict:
    """Write every built-in file into ``out``; returns the priors."""
    import numpy as np

    from naheo_spec import __version__
    from naheo_spec.xas.builtin import calibration_from_rows, read_edge_rows
    from naheo_spec.xas.edges import tabulated_edge_energy

    out.mkdir(parents=True, exist_ok=True)
    lines = {}
    for el in ELEMENTS:
        st, rows, spectra = measure(el, data_root)
        header = (f"# Built-in {st.element} K-edge standards: edge positions per E0 method and "
                  f"preset (generated by reference_spectra/xanes_builtin/generate.py, "
                  f"naheo_spec {__version__}, from {el}.toml sha256 {st.sha256}).\n"
                  "# Sources and licences: LICENSES.md in this folder.\n")
        write_edges(out / f"{el}_edges.csv", rows, header)
        write_norm(out / f"{el}_norm.csv", spectra, tabulated_edge_energy(st.element, st.edge),
                   header.replace("edge positions per E0 method and preset",
                                  "normalized spectra (larch preset) on a common grid"))
        parsed = read_edge_rows(out / f"{el}_edges.csv")
        sym = st.element
        lines[sym] = calibration_from_rows(parsed, sym, "half-height", "larch",
                                           scatter_prior_eV=0.0)
    pri = priors(lines)
    text = ("# Scatter prior (eV) of real compounds about each element's valence line, pooled\n"
            "# from the other elements' built-in half-height lines (generate.py).\n"
            + "".join(f'"{k}" = {v:.4f}\n' for k, v in pri.items()))
    (out / "priors.toml").write_text(text, encoding="utf-8")
    return pri


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default=os.environ.get(
        "NAHEO_SHARED_DATA", str(HERE.parents[2] / "shared" / "data")),
        help="folder that holds xas/ (default: $NAHEO_SHARED_DATA or ../shared/data)")
    ap.add_argument("--out", default=str(HERE), help="output folder (default: this folder)")
    args = ap.parse_args(argv)
    root = Path(args.data_root)
    if not (root / "xas").is_dir():
        print(f"no xas/ folder under {root}", file=sys.stderr)
        return 2
    pri = generate(root, Path(args.out))
    print("scatter priors (eV):", ", ".join(f"{k} {v:.3f}" for k, v in pri.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
