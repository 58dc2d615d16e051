"""Built-in XANES standards: valence lines and normalized spectra that ship with the package.

``reference_spectra/xanes_builtin/`` holds, for Mn, Fe and Ni K edges, the edge positions
of real measured standards per E0 method and normalization preset (``<el>_edges.csv``, with
every error term and the energy-scale session of standards measured without a foil) and
their normalized spectra on a common grid (``<el>_norm.csv``), generated from the raw files
of the shared data folder by ``reference_spectra/xanes_builtin/generate.py`` (sources and
licences: ``LICENSES.md`` there). They are installed with the package, so
``naheo-spec xanes SCAN --standards fe`` needs no data folder.

:func:`builtin_calibration` fits the same GLS line as
:func:`naheo_spec.xas.standards.build_calibration` does for a TOML file, from the table
instead of the raw files; :func:`builtin_marker_calibrations` gives the lines of the
integral edge position and (Fe) the pre-edge centroid; :func:`builtin_spectra` the
normalized spectra for LCF.

Examples
--------
>>> cal = builtin_calibration("Fe")
>>> cal.element, cal.e0_method, len(cal.points) >= 6
('Fe', 'half-height', True)
>>> 4.0 < cal.slope_eV < 6.0
True
"""
from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import DefaultAdjustedWarning, InputError
from naheo_spec.xas.edges import normalize_element

FOLDER = "xanes_builtin"
BUILTIN_LINE = WarningCode("xas.valence.builtin_line", DefaultAdjustedWarning,
                           "No standards were given: the element's built-in valence line "
                           "was used.")
#: Marker "methods" of the edge tables and the marker names of the pipeline.
MARKER_METHODS = {"integral": "integral", "preedge": "preedge-centroid"}


def _folder() -> Path:
    from naheo_spec.resources import reference_file

    return reference_file(FOLDER)


def available_elements() -> tuple[str, ...]:
    """Elements with a built-in line (from the files present)."""
    try:
        folder = _folder()
    except InputError:
        return ()
    out = []
    for p in sorted(folder.glob("*_edges.csv")):
        el = normalize_element(p.name.split("_")[0])
        if el:
            out.append(el)
    return tuple(out)


def _path(element: str, kind: str) -> Path:
    el = normalize_element(element)
    if el is None:
        raise InputError(f"{element!r} is not an element symbol")
    path = _folder() / f"{el.lower()}_{kind}.csv"
    if not path.is_file():
        have = ", ".join(e.lower() for e in available_elements()) or "none"
        raise InputError(f"no built-in {el} standards (no real {el} standards in the data "
                         f"they are made from); built-in: {have}. Give a standards TOML file "
                         "for your own")
    return path


def _lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]


@functools.lru_cache(maxsize=16)
def read_edge_rows(path) -> tuple[dict, ...]:
    """Rows of an ``<el>_edges.csv`` table (numbers as floats, NaN for blanks)."""
    rows = []
    for r in csv.DictReader(_lines(Path(path))):
        out = dict(r)
        for k, v in r.items():
            if k.endswith("_eV") or k == "valence":
                out[k] = float(v) if v not in ("", None) else float("nan")
        rows.append(out)
    return tuple(rows)


def edge_rows(element: str) -> tuple[dict, ...]:
    """The built-in edge table of ``element``."""
    return read_edge_rows(_path(element, "edges"))


def points(rows, method: str, preset: str):
    """:class:`~naheo_spec.xas.valence.StandardPoint` of the rows of one method and preset."""
    from naheo_spec.xas.valence import StandardPoint

    out = []
    for r in rows:
        if r["method"] != method or r["preset"] != preset:
            continue
        shared = r["energy_scale_eV"] if np.isfinite(r["energy_scale_eV"]) else 0.0
        out.append(StandardPoint(
            name=r["name"], valence=r["valence"], e0_eV=r["e0_eV"], e0_err_eV=r["e0_err_eV"],
            foil_shift_eV=None if not np.isfinite(r["foil_shift_eV"]) else r["foil_shift_eV"],
            file=r["file"], scan=r["group"] or None, sha256=r["sha256"] or None,
            session=r["session"] or None if shared else None, session_err_eV=float(shared)))
    return out


def calibration_from_rows(rows, element: str, method: str, preset: str, *,
                          scatter_prior_eV: float | None = None, standards_file: str = "",
                          standards_sha256: str | None = None):
    """The valence line of one method and preset from edge-table rows."""
    from naheo_spec.xas.valence import fit_calibration

    pts = points(rows, method, preset)
    if not pts:
        raise InputError(f"no built-in {element} standards for method {method!r} and preset "
                         f"{preset!r}")
    return fit_calibration([p.valence for p in pts], [p.e0_eV for p in pts],
                           [p.e0_err_eV for p in pts], names=[p.name for p in pts],
                           e0_method=method, element=normalize_element(element), edge="K",
                           points=pts, normalization={"preset": preset},
                           scatter_prior_eV=scatter_prior_eV,
                           extra_parameters={"standards_file": standards_file,
                                             "standards_sha256": standards_sha256,
                                             "builtin": True})


def builtin_calibration(element: str, *, e0_method: str = "half-height",
                        preset: str = "larch"):
    """The built-in valence line of ``element`` (Mn, Fe, Ni K edges).

    Parameters
    ----------
    element : str
        Element symbol (case-insensitive).
    e0_method : str
        E0 definition of the line (each has its own edge table). Default ``"half-height"``.
    preset : {"larch", "athena"}
        Normalization preset the standards were measured with. Default ``"larch"``.

    Returns
    -------
    ValenceCalibration
        Fitted as :func:`~naheo_spec.xas.valence.fit_calibration` does (GLS with the
        standards' sessions, Paule-Mandel scatter pooled with the prior).

    Raises
    ------
    InputError
        No built-in standards for the element, method or preset.

    References
    ----------
    Standards, valences and exclusions: ``reference_spectra/xanes_standards/README.md``.

    Examples
    --------
    >>> ni = builtin_calibration("ni")
    >>> [p.valence for p in ni.points], ni.dof
    ([2.0, 3.0, 2.0], 1)
    >>> [w.code for w in ni.warnings]
    ['xas.valence.scatter_prior']
    """
    from naheo_spec.provenance import file_sha256

    path = _path(element, "edges")
    if e0_method not in {r["method"] for r in read_edge_rows(path)}:
        raise InputError(f"no built-in {element} line for e0_method={e0_method!r}")
    return calibration_from_rows(read_edge_rows(path), element, e0_method, preset,
                                 standards_file=f"builtin:{path.name}",
                                 standards_sha256=file_sha256(path))


def builtin_marker_calibrations(element: str, *, preset: str = "larch") -> dict:
    """Lines of the other valence markers: ``{"integral": ..., "preedge": ...}`` (the
    pre-edge centroid for Fe only)."""
    rows = edge_rows(element)
    have = {r["method"] for r in rows if r["preset"] == preset}
    return {name: calibration_from_rows(rows, element, method, preset,
                                        standards_file=f"builtin:{element.lower()}")
            for name, method in MARKER_METHODS.items() if method in have}


def builtin_spectra(element: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Normalized spectra of the built-in standards: (energy (M,), {name: norm (M,)}) on
    the common grid (foil-calibrated energies; NaN outside each spectrum).

    Examples
    --------
    >>> e, spectra = builtin_spectra("mn")
    >>> round(float(e[1] - e[0]), 6), len(spectra) >= 9
    (0.2, True)
    """
    lines = _lines(_path(element, "norm"))
    reader = csv.reader(lines)
    names = next(reader)[1:]
    data = np.array([[float(x) if x != "nan" else np.nan for x in row] for row in reader])
    return data[:, 0], {n: data[:, i + 1] for i, n in enumerate(names)}


def resolve_standards(value: str):
    """``--standards`` value -> a calibration source: a built-in element name (``"fe"``)
    or a TOML path. Returns ``("builtin", element)`` or ``("toml", Path)``.

    Raises
    ------
    InputError
        Neither an element with built-in standards nor an existing file.

    Examples
    --------
    >>> resolve_standards("fe")
    ('builtin', 'Fe')
    """
    text = str(value)
    el = normalize_element(text) if len(text) <= 2 else None
    if el is not None and not Path(text).is_file():
        _path(el, "edges")                   # no such table: say which exist, now
        return "builtin", el
    path = Path(text)
    if not path.is_file():
        have = ", ".join(e.lower() for e in available_elements())
        raise InputError(f"--standards {text!r}: neither a built-in element ({have}) nor an "
                         "existing TOML file")
    return "toml", path
