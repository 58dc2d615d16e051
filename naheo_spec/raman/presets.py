"""Band presets: which bands to fit, where, and what they mean, read from TOML.

Built-in presets live in ``reference_spectra/raman/presets/`` (``layered-oxide``,
``in-situ``, ``carbonate``, ``calcite``); their band centres come from
``reference_spectra/raman/bands.toml``, where every number has its source and status. A
user preset is any TOML file with the same schema (see that folder's README): a band gives
either ``reference = "<key in bands.toml>"`` or its own ``center_cm1``.

Roles: ``oxide`` bands are the lattice bands, ``carbonate`` bands are summed into the
carbonate index, ``nuisance`` bands (electrolyte, binder) are fitted so that they do not
leak into other areas and never enter an indicator. ``reference_bands`` names the
denominator of the carbonate index (default Eg + A1g).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from naheo_spec.errors import InputError
from naheo_spec.resources import reference_file

__all__ = ["BandSpec", "Window", "Marker", "Preset", "load_preset", "builtin_presets",
           "reference_band", "fwhm_floor", "SHAPES", "ROLES", "MIN_FWHM_POINTS"]

SHAPES = ("lorentzian", "gaussian", "pseudo-voigt", "voigt")
ROLES = ("oxide", "carbonate", "nuisance")


@dataclass(frozen=True)
class BandSpec:
    """One band to fit.

    Attributes
    ----------
    name : str
        Identifier (``"eg"``, ``"natrite"``).
    role : str
        ``"oxide"``, ``"carbonate"`` or ``"nuisance"``.
    window : str
        Name of the fit window the band belongs to.
    center_cm1 : float
        Starting centre (cm-1), from ``bands.toml`` or the preset.
    center_range_cm1 : tuple of float
        Bounds of the centre (cm-1).
    fwhm_cm1 : float
        Starting full width at half maximum (cm-1).
    fwhm_range_cm1 : tuple of float
        Bounds of the FWHM (cm-1).
    shape : str
        Line shape (one of :data:`SHAPES`).
    aliases : tuple of str
        Other names (the paper's ``"E2g"``, ``"Na-O"``).
    source : str
        Where the centre comes from.
    status : str
        ``standard``, ``literature``, ``approximate`` or ``as-reported``.
    note : str
        Assignment notes (e.g. the disputed ~680 band).
    """

    name: str
    role: str
    window: str
    center_cm1: float
    center_range_cm1: tuple[float, float]
    fwhm_cm1: float
    fwhm_range_cm1: tuple[float, float]
    shape: str = "pseudo-voigt"
    aliases: tuple[str, ...] = ()
    source: str = ""
    status: str = ""
    note: str = ""


#: Background polynomial of a window by name -> number of coefficients.
BACKGROUNDS = {"constant": 1, "linear": 2, "quadratic": 3}


@dataclass(frozen=True)
class Window:
    """A fit window (cm-1): its bands are fitted together with a polynomial background
    (``background``: ``constant``, ``linear`` or ``quadratic``, the default)."""

    name: str
    range_cm1: tuple[float, float]
    background: str = "quadratic"

    @property
    def background_terms(self) -> int:
        return BACKGROUNDS[self.background]


@dataclass(frozen=True)
class Marker:
    """An unfitted range that a check watches (the Mn3O4 laser-damage band)."""

    name: str
    role: str
    range_cm1: tuple[float, float]
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class Preset:
    """A set of windows, bands and markers.

    Attributes
    ----------
    name, description : str
    windows : tuple of Window
    bands : tuple of BandSpec
    markers : tuple of Marker
    reference_bands : tuple of str
        Bands whose summed area is the carbonate index's denominator.
    path : str
        The TOML file it came from.
    resolution_cm1 : float or None
        Spectral resolution (cm-1, FWHM of the instrument line) the preset assumes; no band
        is fitted narrower (:meth:`with_min_fwhm`). TOML key ``resolution_cm1``; default
        None (then only the sampling floor of :func:`fwhm_floor` applies).
    """

    name: str
    description: str
    windows: tuple[Window, ...]
    bands: tuple[BandSpec, ...]
    markers: tuple[Marker, ...] = ()
    reference_bands: tuple[str, ...] = ()
    path: str = ""
    sources: dict = field(default_factory=dict, compare=False)
    resolution_cm1: float | None = None

    def band(self, name: str) -> BandSpec:
        """The band called ``name`` or answering to it as an alias (case-insensitive)."""
        key = name.strip().lower()
        for b in self.bands:
            if key == b.name.lower() or key in (a.lower() for a in b.aliases):
                return b
        raise InputError(f"preset {self.name!r} has no band {name!r}; bands: "
                         f"{', '.join(b.name for b in self.bands)}", parameter="band")

    def bands_in(self, window: str) -> tuple[BandSpec, ...]:
        return tuple(b for b in self.bands if b.window == window)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bands)

    def with_shape(self, shape: str) -> "Preset":
        """The same preset with every band's line shape set to ``shape``."""
        _check_shape(shape, "shape")
        from dataclasses import replace

        return replace(self, bands=tuple(replace(b, shape=shape) for b in self.bands))

    def with_min_fwhm(self, floor_cm1: float) -> "Preset":
        """The same preset with every band's FWHM lower bound raised to ``floor_cm1`` (cm-1).

        A band narrower than the instrument resolution is not a Raman band: a free width
        that can shrink below it lets a band collapse onto a single noise spike (or between
        two sampling points, where its area is undetermined). Upper bounds and starting
        widths below the floor are raised with it.

        Examples
        --------
        >>> p = load_preset("layered-oxide").with_min_fwhm(6.0)
        >>> p.band("natrite").fwhm_range_cm1, p.band("eg").fwhm_range_cm1
        ((6.0, 25.0), (8.0, 120.0))
        """
        from dataclasses import replace

        f = float(floor_cm1)
        bands = []
        for b in self.bands:
            lo, hi = b.fwhm_range_cm1
            if lo < f:
                lo, hi = f, max(hi, 2.0 * f)
            bands.append(replace(b, fwhm_range_cm1=(lo, hi),
                                 fwhm_cm1=min(max(b.fwhm_cm1, lo), hi)))
        return replace(self, bands=tuple(bands))

    def to_dict(self) -> dict:
        """JSON-safe description (for provenance)."""
        return {"name": self.name, "path": self.path,
                "reference_bands": list(self.reference_bands),
                "resolution_cm1": self.resolution_cm1,
                "windows": {w.name: list(w.range_cm1) for w in self.windows},
                "backgrounds": {w.name: w.background for w in self.windows},
                "bands": {b.name: {"role": b.role, "window": b.window, "center_cm1": b.center_cm1,
                                   "center_range_cm1": list(b.center_range_cm1),
                                   "fwhm_cm1": b.fwhm_cm1,
                                   "fwhm_range_cm1": list(b.fwhm_range_cm1), "shape": b.shape}
                          for b in self.bands}}


def _check_shape(shape, where):
    if shape not in SHAPES:
        raise InputError(f"{where}: line shape {shape!r} is not one of {', '.join(SHAPES)}",
                         parameter="shape")
    return shape


def _bands_table() -> dict:
    with open(reference_file("raman", "bands.toml"), "rb") as fh:
        return tomllib.load(fh)["band"]


def reference_band(key: str) -> dict:
    """An entry of ``reference_spectra/raman/bands.toml`` (centre, source, status).

    Examples
    --------
    >>> reference_band("si")["center_cm1"], reference_band("polystyrene")["center_cm1"]
    (520.7, 1001.4)
    """
    table = _bands_table()
    if key not in table:
        raise InputError(f"no band {key!r} in bands.toml; known: {', '.join(table)}",
                         parameter="reference")
    return dict(table[key])


def builtin_presets() -> dict[str, Path]:
    """Built-in preset names and files."""
    folder = reference_file("raman", "presets")
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def _pair(value, what) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be two numbers [low, high] in cm-1, got {value!r}") from None
    if not lo < hi:
        raise InputError(f"{what}: low must be below high, got {value!r}")
    return lo, hi


def load_preset(preset: "str | Path | Preset" = "layered-oxide") -> Preset:
    """A preset by built-in name (``"layered-oxide"``) or TOML path.

    Parameters
    ----------
    preset : str or Path or Preset
        Built-in name, path to a TOML file, or a Preset (returned as is). Default is
        ``"layered-oxide"``.

    Raises
    ------
    InputError
        Unknown name, unreadable file, or a schema error naming the band and the field.

    Examples
    --------
    >>> p = load_preset("layered-oxide")
    >>> p.band("E2g").name, p.band("Na-O").name, p.reference_bands
    ('eg', 'band_680', ('eg', 'a1g'))
    """
    if isinstance(preset, Preset):
        return preset
    builtin = builtin_presets()
    if str(preset) in builtin:
        path = builtin[str(preset)]
    else:
        path = Path(preset)
        if not path.is_file():
            raise InputError(f"preset {preset!r} is neither a built-in preset "
                             f"({', '.join(builtin)}) nor a TOML file", parameter="preset")
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"preset {path}: not valid TOML ({exc})", parameter="preset") from None
    return preset_from_dict(doc, path=str(path))


def preset_from_dict(doc: dict, *, path: str = "") -> Preset:
    """Build a :class:`Preset` from a parsed TOML document (see :func:`load_preset`)."""
    where = f"preset {path or doc.get('name', '?')}"
    default_shape = _check_shape(doc.get("shape", "pseudo-voigt"), where)
    windows = []
    for w in doc.get("window", []):
        bg = w.get("background", "quadratic")
        if bg not in BACKGROUNDS:
            raise InputError(f"{where} window {w.get('name')!r}: background {bg!r} is not one of "
                             f"{', '.join(BACKGROUNDS)}")
        windows.append(Window(str(w["name"]), _pair(w.get("range_cm1"),
                                                    f"{where} window {w.get('name')}"), bg))
    windows = tuple(windows)
    names = {w.name for w in windows}
    table = None
    bands = []
    for b in doc.get("band", []):
        name = str(b.get("name", ""))
        bw = f"{where} band {name!r}"
        if not name:
            raise InputError(f"{where}: a [[band]] has no name")
        role = b.get("role", "oxide")
        if role not in ROLES:
            raise InputError(f"{bw}: role {role!r} is not one of {', '.join(ROLES)}")
        if b.get("window") not in names:
            raise InputError(f"{bw}: window {b.get('window')!r} is not a [[window]] of the preset "
                             f"({', '.join(sorted(names))})")
        source, status = b.get("source", ""), b.get("status", "")
        if "center_cm1" in b:
            center = float(b["center_cm1"])
        elif "reference" in b:
            table = _bands_table() if table is None else table
            ref = table.get(b["reference"])
            if ref is None:
                raise InputError(f"{bw}: reference {b['reference']!r} is not in bands.toml")
            center = float(ref["center_cm1"])
            source, status = source or ref.get("source", ""), status or ref.get("status", "")
        else:
            raise InputError(f"{bw}: give center_cm1 or reference (a key of bands.toml)")
        crange = _pair(b.get("center_range_cm1", (center - 10, center + 10)), f"{bw} center_range_cm1")
        if not crange[0] <= center <= crange[1]:
            center = 0.5 * (crange[0] + crange[1])
        wrange = _pair(b.get("fwhm_range_cm1", (2.0, 100.0)), f"{bw} fwhm_range_cm1")
        fwhm = float(b.get("fwhm_cm1", 0.5 * (wrange[0] + wrange[1])))
        bands.append(BandSpec(name=name, role=role, window=b["window"], center_cm1=center,
                              center_range_cm1=crange, fwhm_cm1=min(max(fwhm, wrange[0]), wrange[1]),
                              fwhm_range_cm1=wrange,
                              shape=_check_shape(b.get("shape", default_shape), bw),
                              aliases=tuple(str(a) for a in b.get("aliases", ())),
                              source=source, status=status, note=b.get("note", "")))
    if not bands:
        raise InputError(f"{where}: no [[band]] entries")
    seen: dict[str, str] = {}
    for b in bands:
        for n in {b.name.lower(), *(a.lower() for a in b.aliases)}:
            if n in seen:
                raise InputError(f"{where}: name or alias {n!r} of band {b.name!r} is also used "
                                 f"by band {seen[n]!r}")
            seen[n] = b.name
    markers = []
    for m in doc.get("marker", []):
        src = m.get("source", "")
        if not src and "reference" in m:
            table = _bands_table() if table is None else table
            src = table.get(m["reference"], {}).get("source", "")
        markers.append(Marker(str(m["name"]), str(m.get("role", "damage")),
                              _pair(m.get("range_cm1"), f"{where} marker {m.get('name')}"),
                              source=src, note=m.get("note", "")))
    refs = tuple(doc.get("reference_bands", ("eg", "a1g")))
    known = {b.name for b in bands}
    missing = [r for r in refs if r not in known]
    if missing:
        raise InputError(f"{where}: reference_bands {missing} are not bands of the preset")
    resolution = doc.get("resolution_cm1")
    if resolution is not None:
        try:
            resolution = float(resolution)
        except (TypeError, ValueError):
            resolution = -1.0
        if not resolution > 0:
            raise InputError(f"{where}: resolution_cm1 must be a positive number of cm-1, got "
                             f"{doc.get('resolution_cm1')!r}")
    return Preset(name=str(doc.get("name", Path(path).stem if path else "preset")),
                  description=str(doc.get("description", "")), windows=windows,
                  bands=tuple(bands), markers=tuple(markers), reference_bands=refs, path=path,
                  resolution_cm1=resolution)


#: Narrowest band, in sampling intervals, when no resolution is known: a band spanning
#: fewer than two points has no measurable width.
MIN_FWHM_POINTS = 2.0


def fwhm_floor(axis, resolution_cm1: float | None = None) -> float:
    """Narrowest FWHM (cm-1) a band may take on ``axis``.

    ``max(resolution_cm1, MIN_FWHM_POINTS x median point spacing)``: the instrument's
    resolution when known (preset ``resolution_cm1`` or the ``resolution`` option of
    :func:`~naheo_spec.raman.pipeline.analyze_raman_series`), and never fewer than two
    sampling intervals (Nyquist: a narrower line is not resolved by the sampling).

    Examples
    --------
    >>> import numpy as np
    >>> fwhm_floor(np.arange(100.0, 200.0, 2.5)), fwhm_floor(np.arange(100.0, 200.0, 1.0), 4.0)
    (5.0, 4.0)
    """
    import numpy as np

    x = np.asarray(axis, dtype=float)
    step = float(np.median(np.abs(np.diff(x)))) if x.size > 1 else 0.0
    return max(float(resolution_cm1 or 0.0), MIN_FWHM_POINTS * step)
