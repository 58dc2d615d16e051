"""Valence standards described in TOML, and their measurement.

A standards file names real spectra of compounds with a known formal oxidation
state, the energy reference of each, and the analysis options the calibration
line is built with. Example (``reference_spectra/xanes_standards/mn.toml``)::

    schema = 1
    element = "Mn"
    edge = "K"
    e0_method = "half-height"
    paths = "data_root"          # or "toml" (default): relative to this file's folder

    [normalization]              # options of naheo_spec.xas.normalize.normalize
    preset = "larch"
    # pre_range = [-150.0, -30.0]; norm_range = [150.0, 400.0]; nnorm = 2

    [[standard]]
    name = "MnO (CERIC, BM08)"
    file = "xas/amecchina__CERIC-Reference-Spectra-Repository/MnO.xdi"
    valence = 2                  # formal oxidation state
    formula = "MnO"              # optional, informational

    [[standard]]
    name = "MnO (Mn.prj)"
    file = "xas/xraypy__xraylarch/Mn.prj"
    group = "MnO"                # Athena group label / scan name
    reference = "xas/xraypy__xraylarch/Mn.prj"   # separate foil scan ...
    reference_group = "Mn foil"                   # ... and its group

    [[excluded]]                 # listed for the record, never fitted
    name = "Li2MnO3 (Mn.prj)"
    file = "xas/xraypy__xraylarch/Mn.prj"
    group = "Li2MnO3"
    valence = 4
    reason = "..."

Keys of ``[[standard]]``: ``file`` and ``valence`` (required); ``name``, ``group``,
``reference``, ``reference_group``, ``use_file_reference`` (default true; false
ignores the file's own reference channel, e.g. a filter that is not a foil),
``mu``/``ref`` (column expressions for the reader), ``formula``, ``source``,
``note``, ``session`` (beamline run of a standard without a foil: uncalibrated
standards of one session share their energy-scale offset in the line fit; default:
the file). ``[[excluded]]`` accepts the same keys plus ``reason`` (required).
Unknown keys raise :class:`~naheo_spec.errors.InputError` so typos do not pass
silently.

Relative paths
    ``paths = "toml"`` (default): relative to the TOML file's folder.
    ``paths = "data_root"``: relative to the data root, i.e. the ``data_root``
    argument, else the environment variable ``NAHEO_SHARED_DATA``; the shipped
    standards files use this so they work wherever the shared data live.

References
----------
TOML v1.0.0, https://toml.io/en/v1.0.0 (read with :mod:`tomllib`).
"""
from __future__ import annotations

import os
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import (
    CalibrationError,
    InputError,
    NaheoError,
    QualityWarning,
    ReadError,
)
from naheo_spec.xas.valence import (
    DEFAULT_MIN_SIGMA_EV,
    StandardPoint,
    ValenceCalibration,
    fit_calibration,
)
from naheo_spec.xas.xanes import analyze_xanes

STANDARDS_UNCALIBRATED = WarningCode(
    "xas.standards.uncalibrated", QualityWarning,
    "Some standards have no valid foil calibration: their edge positions are on the raw "
    "energy scale.")

#: Environment variable naming the shared data root (the folder holding ``xas/``).
DATA_ROOT_ENV = "NAHEO_SHARED_DATA"

_TOP_KEYS = {"schema", "element", "edge", "e0_method", "paths", "description", "normalization",
             "standard", "excluded", "foil_max_offset_eV"}
_STD_KEYS = {"name", "file", "valence", "group", "reference", "reference_group",
             "use_file_reference", "mu", "ref", "formula", "source", "note", "session"}
_NORM_KEYS = {"preset", "pre_range", "norm_range", "nnorm", "nvict"}


@dataclass(frozen=True)
class StandardSpec:
    """One standard as listed in a TOML file (paths resolved).

    Attributes
    ----------
    name : str
        Label (default: file name and group).
    file : Path
        Spectrum file.
    valence : float
        Formal oxidation state.
    group : str or None
        Scan/group inside ``file`` (Athena label).
    reference : Path or None
        Separate foil scan file; ``reference_group`` is its group.
    reference_group : str or None
    use_file_reference : bool
        Use the reference channel of ``file`` as the foil when ``reference`` is not given.
    read_options : dict
        ``mu``/``ref`` column expressions for the reader.
    info : dict
        ``formula``, ``source``, ``note`` (informational).
    reason : str or None
        Why the standard is excluded (``[[excluded]]`` entries only).
    session : str or None
        Beamline session shared with other uncalibrated standards (None: its file).
    """

    name: str
    file: Path
    valence: float
    group: str | None = None
    reference: Path | None = None
    reference_group: str | None = None
    use_file_reference: bool = True
    read_options: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    session: str | None = None


@dataclass(frozen=True)
class StandardsSet:
    """A parsed standards file.

    Attributes
    ----------
    element, edge : str or None
    e0_method : str
        E0 definition for the calibration (default ``"half-height"``).
    normalization : dict
        Normalization options (keys among preset, pre_range, norm_range, nnorm, nvict).
    standards : tuple of StandardSpec
        Standards to fit.
    excluded : tuple of StandardSpec
        Standards listed with a ``reason`` and not fitted.
    foil_max_offset_eV : float or None
        Override of the foil acceptance limit (eV).
    path : str or None
        The TOML file; ``sha256`` its hash.
    sha256 : str or None
    description : str
    """

    element: str | None
    edge: str | None
    e0_method: str
    normalization: dict[str, Any]
    standards: tuple[StandardSpec, ...]
    excluded: tuple[StandardSpec, ...] = ()
    foil_max_offset_eV: float | None = None
    path: str | None = None
    sha256: str | None = None
    description: str = ""


def _resolve_root(mode: str, toml_dir: Path, data_root, where: str) -> Path:
    if mode == "toml":
        return toml_dir
    if mode != "data_root":
        raise InputError(f"{where}: paths = {mode!r}; expected \"toml\" or \"data_root\"")
    root = data_root if data_root is not None else os.environ.get(DATA_ROOT_ENV)
    if not root:
        raise InputError(
            f"{where}: file paths are relative to the data root, but neither data_root= nor the "
            f"environment variable {DATA_ROOT_ENV} is set (set it to the folder that holds the "
            "paths of the TOML's [[standard]] entries; or use the built-in lines: "
            "standards='fe' / --standards fe)")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise InputError(f"{where}: data root {str(root)!r} is not a folder")
    return root


def _path(value, root: Path, key: str, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: {key} must be a non-empty string path, got {value!r}")
    p = Path(value).expanduser()
    return p if p.is_absolute() else root / p


def _spec(entry: dict, root: Path, where: str, excluded: bool) -> StandardSpec:
    allowed = _STD_KEYS | ({"reason"} if excluded else set())
    unknown = set(entry) - allowed
    if unknown:
        raise InputError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    for key in ("file", "valence") + (("reason",) if excluded else ()):
        if key not in entry:
            raise InputError(f"{where}: missing required key {key!r}")
    val = entry["valence"]
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise InputError(f"{where}: valence must be a number (formal oxidation state), got {val!r}")
    file = _path(entry["file"], root, "file", where)
    ref = entry.get("reference")
    group = entry.get("group")
    name = entry.get("name") or (f"{file.name}:{group}" if group else file.name)
    return StandardSpec(
        name=str(name), file=file, valence=float(val), group=group,
        reference=None if ref is None else _path(ref, root, "reference", where),
        reference_group=entry.get("reference_group"),
        use_file_reference=bool(entry.get("use_file_reference", True)),
        read_options={k: entry[k] for k in ("mu", "ref") if k in entry},
        info={k: str(entry[k]) for k in ("formula", "source", "note") if k in entry},
        reason=entry.get("reason"), session=entry.get("session"))


def load_standards(path, *, data_root=None) -> StandardsSet:
    """Read a standards TOML file.

    Parameters
    ----------
    path : str or Path
        The TOML file (schema in the module docstring).
    data_root : str or Path, optional
        Root for ``paths = "data_root"``. Default None: the environment variable
        ``NAHEO_SHARED_DATA``.

    Returns
    -------
    StandardsSet
        Paths resolved; files are not read yet (see :func:`measure_standards`).

    Raises
    ------
    InputError
        Unreadable TOML, unknown keys, missing ``file``/``valence``, no standards, a data
        root needed but not given, or a listed file that does not exist.
    """
    from naheo_spec.provenance import file_sha256

    path = Path(path)
    where = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read standards file {where}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML: {exc}") from exc
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise InputError(f"{where}: unknown top-level key(s) {sorted(unknown)}; allowed: "
                         f"{sorted(_TOP_KEYS)}")
    norm = dict(doc.get("normalization", {}))
    if set(norm) - _NORM_KEYS:
        raise InputError(f"{where}: unknown [normalization] key(s) {sorted(set(norm) - _NORM_KEYS)}")
    for key in ("pre_range", "norm_range"):
        if key in norm:
            norm[key] = tuple(float(x) for x in norm[key])
    root = _resolve_root(doc.get("paths", "toml"), path.resolve().parent, data_root, where)
    entries = doc.get("standard", [])
    if not entries:
        raise InputError(f"{where}: no [[standard]] entries")
    stds = tuple(_spec(e, root, f"{where} [[standard]] #{i + 1}", False)
                 for i, e in enumerate(entries))
    excl = tuple(_spec(e, root, f"{where} [[excluded]] #{i + 1}", True)
                 for i, e in enumerate(doc.get("excluded", [])))
    for s in stds + excl:
        for p in (s.file, s.reference):
            if p is not None and not p.is_file():
                raise InputError(f"{where}: standard {s.name!r}: file {str(p)!r} not found")
    return StandardsSet(
        element=doc.get("element"), edge=doc.get("edge", "K"),
        e0_method=doc.get("e0_method", "half-height"), normalization=norm, standards=stds,
        excluded=excl, foil_max_offset_eV=doc.get("foil_max_offset_eV"), path=where,
        sha256=file_sha256(path), description=str(doc.get("description", "")))


class SpectrumReader:
    """Read each file once per measurement run (Athena projects are slow to parse)."""

    def __init__(self):
        self._cache: dict[tuple, list] = {}

    def get(self, file: Path, group: str | None, options: dict):
        from naheo_spec.io import read_spectra

        key = (str(file), tuple(sorted(options.items())))
        if key not in self._cache:
            with warnings.catch_warnings():
                # reader repairs (eshift applied, CRLF...) are recorded in Spectrum.warnings
                warnings.simplefilter("ignore")
                self._cache[key] = read_spectra(file, **options)
        spectra = self._cache[key]
        if group is None:
            if len(spectra) != 1:
                raise InputError(f"{file}: holds {len(spectra)} scans "
                                 f"({', '.join(str(s.source.scan) for s in spectra)}); "
                                 "name one with group =")
            return spectra[0]
        from naheo_spec.model import SpectrumCollection

        try:
            return SpectrumCollection(spectra, path=str(file)).select(group)
        except ReadError as exc:
            raise InputError(str(exc)) from None


def measure_standard(spec: StandardSpec, *, e0_method: str, element=None, edge=None,
                     reader: "SpectrumReader | None" = None, foil_max_offset_eV=None,
                     **pipeline_options):
    """Measure one standard with :func:`~naheo_spec.xas.xanes.analyze_xanes`.

    Returns
    -------
    (StandardPoint, XanesResult)

    Raises
    ------
    CalibrationError
        The standard cannot be read or analysed (message names it and its file).
    """

    reader = reader or SpectrumReader()
    try:
        spectrum = reader.get(spec.file, spec.group, spec.read_options)
        foil = None
        if spec.reference is not None:
            foil = reader.get(spec.reference, spec.reference_group, {})
        elif not spec.use_file_reference:
            foil = False
        extra = {} if foil_max_offset_eV is None else {"max_foil_offset_eV": foil_max_offset_eV}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QualityWarning)
            res = analyze_xanes(spectrum, e0_method=e0_method, foil=foil, element=element,
                                edge=edge, **extra, **pipeline_options)
    except NaheoError as exc:
        raise CalibrationError(f"standard {spec.name!r} ({spec.file}): {exc}") from exc
    return point_of(spec.name, spec.valence, res, session=spec.session,
                    file=str(spec.file), scan=spec.group), res


def point_of(name: str, valence: float, res, *, session: str | None = None,
             file: str | None = None, scan: str | None = None) -> StandardPoint:
    """The :class:`StandardPoint` of a measured standard (its E0, error budget and session:
    without a foil, the energy-scale term is the part shared within the session)."""
    shared = float(res.e0_err_terms_eV.get("energy_scale", 0.0) or 0.0)
    return StandardPoint(name=name, valence=float(valence), e0_eV=res.e0_eV,
                         e0_err_eV=res.e0_err_eV, foil_shift_eV=res.foil_shift_eV,
                         file=file if file is not None else res.file,
                         scan=scan if scan is not None else res.scan,
                         sha256=res.provenance.source_sha256, warnings=res.warnings,
                         session=session if shared else None, session_err_eV=shared)


def measure_standards(standards: StandardsSet, *, e0_method: str | None = None,
                      min_sigma_eV: float | None = None, **pipeline_options):
    """Measure every standard of a set and fit the valence line.

    Parameters
    ----------
    standards : StandardsSet
    e0_method : str, optional
        Default None: the set's ``e0_method``.
    min_sigma_eV : float, optional
        See :func:`naheo_spec.xas.valence.fit_calibration`. Default None: its default.
    **pipeline_options
        Normalization options (``preset``, ``pre_range``, ``norm_range``, ``nnorm``,
        ``nvict``); each default None is taken from the set's ``[normalization]``.

    Returns
    -------
    ValenceCalibration
    """

    e0_method = e0_method or standards.e0_method
    norm_opts = {**standards.normalization,
                 **{k: v for k, v in pipeline_options.items() if v is not None}}
    unknown = set(norm_opts) - _NORM_KEYS
    if unknown:
        raise InputError(f"unknown option(s) {sorted(unknown)} for measuring standards; "
                         f"allowed: {sorted(_NORM_KEYS)}")
    reader = SpectrumReader()
    points = [measure_standard(s, e0_method=e0_method, element=standards.element,
                               edge=standards.edge, reader=reader,
                               foil_max_offset_eV=standards.foil_max_offset_eV,
                               **norm_opts)[0]
              for s in standards.standards]
    return _fit_points(points, e0_method=e0_method, element=standards.element,
                       edge=standards.edge, normalization=norm_opts,
                       min_sigma_eV=DEFAULT_MIN_SIGMA_EV if min_sigma_eV is None else min_sigma_eV,
                       extra={"standards_file": standards.path,
                              "standards_sha256": standards.sha256,
                              "excluded": [{"name": s.name, "valence": s.valence,
                                            "reason": s.reason} for s in standards.excluded]},
                       fit=fit_calibration)


def measure_spectrum_pairs(pairs, *, e0_method: str = "half-height", min_sigma_eV: float,
                           **pipeline_options):
    """Build a calibration from ``[(Spectrum, valence), ...]`` (foil = each one's reference)."""

    points, elements = [], set()
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise InputError(f"standards[{i}] must be (Spectrum, valence), got {type(pair).__name__}")
        spectrum, valence = pair
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QualityWarning)
            res = analyze_xanes(spectrum, e0_method=e0_method, **pipeline_options)
        elements.add(res.element)
        points.append(point_of(spectrum.name, valence, res))
    if len(elements) > 1:
        raise CalibrationError(f"standards mix elements {sorted(map(str, elements))}")
    el = next(iter(elements)) if elements else None
    return _fit_points(points, e0_method=e0_method, element=el, edge="K",
                       normalization={k: v for k, v in pipeline_options.items()
                                      if k in _NORM_KEYS and v is not None},
                       min_sigma_eV=min_sigma_eV, extra={}, fit=fit_calibration)


def _fit_points(points, *, e0_method, element, edge, normalization, min_sigma_eV, extra, fit):
    cal = fit([p.valence for p in points], [p.e0_eV for p in points],
              [p.e0_err_eV for p in points], names=[p.name for p in points],
              e0_method=e0_method, element=element, edge=edge, min_sigma_eV=min_sigma_eV,
              points=points, normalization=normalization, extra_parameters=extra)
    nofoil = [p.name for p in points if p.foil_shift_eV is None]
    if nofoil:
        from dataclasses import replace

        msg = STANDARDS_UNCALIBRATED.record(
            "standards without a valid foil calibration (raw energy scale): " + ", ".join(nofoil))
        cal = replace(cal, warnings=cal.warnings + (msg,))
    return cal


def build_calibration(standards, *, e0_method: str | None = None, data_root=None,
                      min_sigma_eV: float = DEFAULT_MIN_SIGMA_EV, **pipeline_options
                      ) -> ValenceCalibration:
    """Measure standards (foil-calibrated edge positions) and fit the valence line.

    Each standard is read, calibrated against its foil when it has one (the file's
    reference channel, or the separate ``reference`` scan named in the TOML), normalized
    and its E0 found with ``e0_method`` by :func:`naheo_spec.xas.xanes.analyze_xanes`.

    Parameters
    ----------
    standards : StandardsSet or str or Path or sequence of (Spectrum, valence)
        A built-in set by element name (``"mn"``, ``"fe"``, ``"ni"``: the shipped tables of
        :mod:`naheo_spec.xas.builtin`, no data folder needed), a loaded set
        (:func:`naheo_spec.xas.standards.load_standards`), a TOML file, or pairs of an
        already read spectrum and its formal valence.
    e0_method : str, optional
        Default None: the set's ``e0_method`` (TOML), else ``"half-height"``.
    data_root : str or Path, optional
        Passed to :func:`~naheo_spec.xas.standards.load_standards` for a TOML path.
    min_sigma_eV : float
        Floor on each standard's E0 error in the weights. Default is 0.05 eV.
    **pipeline_options
        Normalization options for :func:`~naheo_spec.xas.xanes.analyze_xanes` (``preset``,
        ``pre_range``, ``norm_range``, ``nnorm``); default None: the set's, else the
        pipeline defaults.

    Returns
    -------
    ValenceCalibration

    Raises
    ------
    CalibrationError
        A standard fails to give an edge position (message names the file).
    InputError
        Unknown options or a malformed set.

    References
    ----------
    Edge position vs oxidation state for oxides: F. Farges, Phys. Rev. B 71, 155109 (2005),
    doi:10.1103/PhysRevB.71.155109; standards and exclusions:
    ``reference_spectra/xanes_standards/README.md``.
    """
    if isinstance(standards, str) and len(standards) <= 2 and not Path(standards).is_file():
        from naheo_spec.xas.builtin import builtin_calibration

        if set(k for k, v in pipeline_options.items() if v is not None) - {"preset"}:
            raise InputError("the built-in standards were measured with the larch or athena "
                             "preset only: pass preset= alone")
        return builtin_calibration(standards, e0_method=e0_method or "half-height",
                                   preset=pipeline_options.get("preset") or "larch")
    if isinstance(standards, (str, bytes)) or hasattr(standards, "__fspath__"):
        standards = load_standards(standards, data_root=data_root)
    if isinstance(standards, StandardsSet):
        return measure_standards(standards, e0_method=e0_method, min_sigma_eV=min_sigma_eV,
                                 **pipeline_options)
    return measure_spectrum_pairs(list(standards), e0_method=e0_method or "half-height",
                                  min_sigma_eV=min_sigma_eV, **pipeline_options)
