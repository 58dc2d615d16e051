"""Component models: peaks with CasaXPS-like bounds and links, doublets, satellites,
rigid multiplet templates, and the TOML format that describes them.

A model is a list of :class:`Component` objects. Each has a position (``center``, eV
binding energy), a width (``fwhm``, eV) and an ``area`` (intensity x eV), each a
:class:`Param` that is free within bounds, fixed, or **linked** to the same parameter of
another component as in CasaXPS:

- ``center = other.center + offset`` ("offset from", e.g. a satellite 6 eV above);
- ``fwhm = other.fwhm * ratio`` (e.g. 2p1/2 width free or 1.67 x 2p3/2 for Ni);
- ``area = other.area * ratio`` (e.g. 0.5 for the 2p1/2 of a p doublet).

Because links stay within one kind of parameter, every center, width and area is an affine
function of the free parameters; :meth:`Model.compile` turns the model into three small
matrices so that the fit (:mod:`naheo_spec.xps.fit`) evaluates all components at once.

TOML format (``naheo-spec xps --model MODEL.toml``)::

    name = "my-ni2p"
    region = "Ni 2p"
    window_eV = [848.0, 868.5]        # fit window, binding energy
    background = "shirley"            # default background
    lineshape = "GL(30)"              # default line shape

    [[component]]
    name = "Ni2+ main"
    state = "Ni2+"                    # oxidation state it counts for (valence fractions)
    center = {value = 854.0, min = 853.0, max = 855.0}
    fwhm = {value = 1.2, min = 0.6, max = 3.0}
    area = {value = 1.0, min = 0.0}

    [[component]]
    name = "Ni2+ satellite"
    state = "Ni2+"
    center = {link = "Ni2+ main", offset = 7.3}
    fwhm = {link = "Ni2+ main", ratio = 3.0}
    area = {link = "Ni2+ main", ratio = 0.6}

    [[doublet]]                       # expands to "<name> 2p3/2" and "<name> 2p1/2"
    name = "Fe3+"
    state = "Fe3+"
    center = {value = 711.0, min = 709.0, max = 713.0}
    fwhm = {value = 2.5, min = 1.0, max = 5.0}
    area = {value = 1.0, min = 0.0}
    splitting_eV = 13.6
    area_ratio = 0.5                  # 2p1/2 : 2p3/2 (0.5 for p levels)
    fwhm_ratio = "free"               # or a number

``area`` values are start values: a fit rescales them to the data. A component named in a
link must exist (``InputError`` names the unknown one and lists the known names).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.errors import InputError
from naheo_spec.jsonsafe import finite_or_none
from naheo_spec.xps.lineshapes import LineShape, parse_lineshape, shape_area_factor

__all__ = ["Param", "Component", "Model", "CompiledModel", "load_model", "model_from_dict",
           "doublet", "PARAMS", "curve_peak"]

PARAMS = ("center", "fwhm", "area")
_LINK_OP = {"center": "offset", "fwhm": "ratio", "area": "ratio"}


@dataclass(frozen=True)
class Param:
    """One parameter: free within ``[min, max]``, fixed (``vary=False``), or linked.

    Attributes
    ----------
    value : float
        Start value (free) or the value (fixed). Ignored when linked.
    min, max : float
        Bounds of a free parameter (``-inf``/``inf`` when unbounded).
    vary : bool
        False for a fixed value.
    link : str or None
        Name of the component whose same parameter this one follows.
    factor : float
        ``offset`` (eV, centers) or ``ratio`` (widths, areas) of the link.
    """

    value: float = 0.0
    min: float = -np.inf
    max: float = np.inf
    vary: bool = True
    link: str | None = None
    factor: float = 0.0

    @classmethod
    def coerce(cls, spec, kind: str, where: str) -> "Param":
        """From a number (fixed... no: a free start value), a dict or a Param."""
        if isinstance(spec, Param):
            return spec
        if isinstance(spec, (int, float)):
            return cls(float(spec))
        if not isinstance(spec, dict):
            raise InputError(f"{where}: {kind} must be a number or a table, got {spec!r}",
                             parameter="model")
        unknown = set(spec) - {"value", "min", "max", "vary", "fixed", "link", "offset",
                               "ratio"}
        if unknown:
            raise InputError(f"{where}: {kind} has unknown keys {sorted(unknown)}",
                             parameter="model")
        if "link" in spec:
            op = _LINK_OP[kind]
            other = "ratio" if op == "offset" else "offset"
            if other in spec:
                raise InputError(f"{where}: a {kind} link takes {op!r}, not {other!r}",
                                 parameter="model")
            default = 0.0 if op == "offset" else 1.0
            return cls(link=str(spec["link"]), factor=float(spec.get(op, default)))
        vary = not bool(spec.get("fixed", False)) and bool(spec.get("vary", True))
        value = float(spec.get("value", 0.0))
        lo = float(spec.get("min", -np.inf))
        hi = float(spec.get("max", np.inf))
        if vary and not lo <= value <= hi:
            value = min(max(value, lo), hi)
        if lo > hi:
            raise InputError(f"{where}: {kind} min {lo} > max {hi}", parameter="model")
        return cls(value, lo, hi, vary)

    @property
    def is_link(self) -> bool:
        return self.link is not None

    def to_dict(self) -> dict[str, Any]:
        if self.is_link:
            return {"link": self.link, "factor": self.factor}
        return {"value": self.value, "min": finite_or_none(self.min), "max": finite_or_none(self.max),
                "vary": self.vary}


@dataclass(frozen=True)
class Component:
    """One peak (analytic line shape) or tabulated curve of a model.

    Attributes
    ----------
    name : str
        Unique within the model.
    shape : LineShape or None
        Analytic line shape; None for a tabulated curve (``curve``).
    center, fwhm, area : Param
    state : str or None
        Oxidation state the area counts for (``"Ni2+"``), None for other components
        (Auger lines, carbon species, background features).
    group : str or None
        Template or doublet the component belongs to (for reports).
    curve : tuple of ndarray or None
        ``(x, y)`` of a tabulated profile (binding energy, intensity) whose reference
        position is ``curve_anchor``; evaluated shifted to ``center`` with area ``area``.
    curve_anchor : float
        Position of the tabulated curve that ``center`` refers to (eV).
    role : str
        ``"peak"``, ``"satellite"``, ``"auger"``, ``"reference"``... (reports only).
    source : str
        Where the numbers come from (citation or derivation).
    """

    name: str
    shape: LineShape | None
    center: Param
    fwhm: Param
    area: Param
    state: str | None = None
    group: str | None = None
    curve: tuple | None = None
    curve_anchor: float = 0.0
    role: str = "peak"
    source: str = ""


@dataclass(frozen=True)
class CompiledModel:
    """Affine maps from the free-parameter vector ``p`` to every component's parameters:
    ``centers = Cm @ p + c0``, ``fwhms = Fm @ p + f0``, ``areas = Am @ p + a0``.

    Attributes
    ----------
    names : tuple of str
        Free parameter names (``"<component>.<param>"``).
    p0, lower, upper : ndarray
        Start values and bounds of the free parameters.
    Cm, Fm, Am : ndarray, shape (K, P)
    c0, f0, a0 : ndarray, shape (K,)
    analytic : ndarray of int
        Indices of components with an analytic line shape.
    """

    names: tuple[str, ...]
    p0: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    Cm: np.ndarray
    Fm: np.ndarray
    Am: np.ndarray
    c0: np.ndarray
    f0: np.ndarray
    a0: np.ndarray

    def params(self, p):
        """(centers, fwhms, areas) for free vector ``p``."""
        return self.Cm @ p + self.c0, self.Fm @ p + self.f0, self.Am @ p + self.a0


@dataclass(frozen=True)
class Model:
    """A component model.

    Attributes
    ----------
    name : str
    components : tuple of Component
    region : str or None
        Region it is meant for (``"Ni 2p"``).
    window_eV : tuple of float or None
        Default fit window (binding energy, low, high).
    background : str
        Default background type.
    element : str or None
    metadata : dict
        Anything else from the TOML (sources, notes, template alternatives).
    """

    name: str
    components: tuple[Component, ...]
    region: str | None = None
    window_eV: tuple[float, float] | None = None
    background: str = "shirley"
    element: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        names = [c.name for c in self.components]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise InputError(f"model {self.name!r}: component names repeated: {sorted(dup)}",
                             parameter="model")
        for c in self.components:
            for k in PARAMS:
                p = getattr(c, k)
                if p.is_link and p.link not in names:
                    raise InputError(
                        f"model {self.name!r}: component {c.name!r} links its {k} to unknown "
                        f"component {p.link!r}; known: {', '.join(names)}", parameter="model")
        self._order()            # raises on cycles

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    @property
    def states(self) -> tuple[str, ...]:
        """Oxidation states in model order (each once)."""
        return tuple(dict.fromkeys(c.state for c in self.components if c.state))

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise InputError(f"model {self.name!r} has no component {name!r}; known: "
                         f"{', '.join(self.names)}", parameter="component")

    def _order(self) -> list[int]:
        idx = {c.name: i for i, c in enumerate(self.components)}
        order, state = [], {}

        def visit(i, chain):
            if state.get(i) == 2:
                return
            if state.get(i) == 1:
                raise InputError(f"model {self.name!r}: links form a cycle: "
                                 f"{' -> '.join(chain)}", parameter="model")
            state[i] = 1
            c = self.components[i]
            for k in PARAMS:
                p = getattr(c, k)
                if p.is_link:
                    visit(idx[p.link], chain + [p.link])
            state[i] = 2
            order.append(i)

        for i, c in enumerate(self.components):
            visit(i, [c.name])
        return order

    def with_components(self, components) -> "Model":
        return replace(self, components=tuple(components))

    def compile(self) -> CompiledModel:
        """Affine parameter maps (see :class:`CompiledModel`)."""
        comps = self.components
        k = len(comps)
        idx = {c.name: i for i, c in enumerate(comps)}
        names, p0, lo, hi = [], [], [], []
        free = {}
        for i, c in enumerate(comps):
            for kind in PARAMS:
                p = getattr(c, kind)
                if not p.is_link and p.vary:
                    free[(i, kind)] = len(names)
                    names.append(f"{c.name}.{kind}")
                    p0.append(p.value)
                    lo.append(p.min)
                    hi.append(p.max)
        n = len(names)
        mats = {kind: np.zeros((k, n)) for kind in PARAMS}
        consts = {kind: np.zeros(k) for kind in PARAMS}
        for i in self._order():
            c = comps[i]
            for kind in PARAMS:
                p = getattr(c, kind)
                if p.is_link:
                    j = idx[p.link]
                    if kind == "center":
                        mats[kind][i] = mats[kind][j]
                        consts[kind][i] = consts[kind][j] + p.factor
                    else:
                        mats[kind][i] = mats[kind][j] * p.factor
                        consts[kind][i] = consts[kind][j] * p.factor
                elif p.vary:
                    mats[kind][i, free[(i, kind)]] = 1.0
                else:
                    consts[kind][i] = p.value
        return CompiledModel(tuple(names), np.array(p0, dtype=float), np.array(lo, dtype=float),
                             np.array(hi, dtype=float), mats["center"], mats["fwhm"],
                             mats["area"], consts["center"], consts["fwhm"], consts["area"])

    def area_factors(self) -> np.ndarray:
        """Area of each analytic component's height-1, FWHM-1 profile (1 for curves)."""
        return np.array([shape_area_factor(c.shape) if c.shape is not None else 1.0
                         for c in self.components])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (for provenance)."""
        return {"name": self.name, "region": self.region,
                "window_eV": list(self.window_eV) if self.window_eV else None,
                "background": self.background,
                "components": [{"name": c.name, "shape": c.shape.label if c.shape else "curve",
                                "state": c.state, "group": c.group, "role": c.role,
                                **{k: getattr(c, k).to_dict() for k in PARAMS},
                                "source": c.source} for c in self.components]}


# --------------------------------------------------------------------------- helpers
def curve_peak(x, y) -> tuple[float, float]:
    """Position of the maximum and full width at half maximum of a tabulated curve.

    The maximum is the largest sample (no interpolation: the convention CasaXPS uses for
    the position of a data line shape, measured in :mod:`naheo_spec.xps.casa`); the width
    is measured between the half-maximum crossings on either side of it (linear
    interpolation), relative to zero intensity.

    Parameters
    ----------
    x, y : array-like, shape (M,)
        Energy (eV, any order) and intensity.

    Returns
    -------
    position_eV, fwhm_eV : float

    Examples
    --------
    >>> x = np.linspace(-5, 5, 1001)
    >>> pos, fw = curve_peak(x, np.exp(-4 * np.log(2) * (x - 1.0) ** 2 / 1.5 ** 2))
    >>> round(pos, 3), round(fw, 3)
    (1.0, 1.5)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    o = np.argsort(x)
    x, y = x[o], y[o]
    i = int(np.argmax(y))
    half = 0.5 * y[i]
    j = i
    while j > 0 and y[j] > half:
        j -= 1
    k = i
    while k < y.size - 1 and y[k] > half:
        k += 1

    def cross(a, b):
        if y[a] == y[b]:
            return x[a]
        return x[a] + (half - y[a]) * (x[b] - x[a]) / (y[b] - y[a])

    left = cross(j, j + 1) if y[j] <= half else x[0]
    right = cross(k - 1, k) if y[k] <= half else x[-1]
    return float(x[i]), float(right - left)


def doublet(name: str, *, center, fwhm, area, splitting_eV: float, area_ratio: float = 0.5,
            fwhm_ratio="free", shape: LineShape | str = "GL(30)", state: str | None = None,
            levels=("2p3/2", "2p1/2"), source: str = "") -> list[Component]:
    """A spin-orbit doublet: the main level free, the second at ``+splitting_eV`` with
    ``area_ratio`` of its area and its own width (``fwhm_ratio="free"``, within 0.8-2.5x
    of the main width) or a fixed width ratio.

    Parameters
    ----------
    name : str
        Base name; components are ``"<name> <level>"``.
    center, fwhm, area : Param, dict or float
        Of the first (lower binding energy) level.
    splitting_eV : float
        Spin-orbit splitting (eV), positive.
    area_ratio : float
        Second : first area ratio (0.5 for p, 0.667 for d, 0.75 for f). Default 0.5.
    fwhm_ratio : float or "free"
        Width of the second level relative to the first. Default "free": 3d metal 2p1/2
        lines are broader (Coster-Kronig), so equal widths are not forced.

    Returns
    -------
    list of Component

    Examples
    --------
    >>> d = doublet("Fe3+", center=711.0, fwhm=2.5, area=1.0, splitting_eV=13.6)
    >>> [c.name for c in d], d[1].center.factor, d[1].area.factor
    (['Fe3+ 2p3/2', 'Fe3+ 2p1/2'], 13.6, 0.5)
    """
    shape = parse_lineshape(shape) if isinstance(shape, str) else shape
    where = f"doublet {name!r}"
    c = Param.coerce(center, "center", where)
    f = Param.coerce(fwhm, "fwhm", where)
    a = Param.coerce(area, "area", where)
    first = Component(f"{name} {levels[0]}", shape, c, f, a, state=state, group=name,
                      source=source)
    if fwhm_ratio == "free":
        base = f.value if not f.is_link else 1.0
        f2 = Param(base * 1.2, 0.8 * max(f.min, 1e-3) if np.isfinite(f.min) else 0.1,
                   2.5 * f.max if np.isfinite(f.max) else np.inf)
    else:
        f2 = Param(link=first.name, factor=float(fwhm_ratio))
    second = Component(f"{name} {levels[1]}", shape, Param(link=first.name,
                                                            factor=float(splitting_eV)),
                       f2, Param(link=first.name, factor=float(area_ratio)), state=state,
                       group=name, source=source)
    return [first, second]


def _component_from_dict(d: dict, default_shape: LineShape, i: int) -> Component:
    where = f"component {d.get('name', i)!r}"
    if "name" not in d:
        raise InputError(f"component #{i + 1} has no name", parameter="model")
    unknown = set(d) - {"name", "state", "group", "shape", "center", "fwhm", "area", "role",
                        "source"}
    if unknown:
        raise InputError(f"{where}: unknown keys {sorted(unknown)}", parameter="model")
    for k in PARAMS:
        if k not in d:
            raise InputError(f"{where}: missing {k}", parameter="model")
    shape = parse_lineshape(d["shape"]) if "shape" in d else default_shape
    return Component(str(d["name"]), shape, Param.coerce(d["center"], "center", where),
                     Param.coerce(d["fwhm"], "fwhm", where), Param.coerce(d["area"], "area", where),
                     state=d.get("state"), group=d.get("group"), role=d.get("role", "peak"),
                     source=str(d.get("source", "")))


def model_from_dict(d: dict, *, name: str | None = None) -> Model:
    """Build a :class:`Model` from the TOML structure described in the module doc.

    Raises
    ------
    InputError
        Missing or unknown keys, links to unknown components, link cycles, bad shapes.
    """
    default_shape = parse_lineshape(d.get("lineshape", "GL(30)"))
    comps: list[Component] = []
    for i, c in enumerate(d.get("component", [])):
        comps.append(_component_from_dict(c, default_shape, i))
    for dd in d.get("doublet", []):
        where = f"doublet {dd.get('name')!r}"
        for key in ("name", "center", "fwhm", "area", "splitting_eV"):
            if key not in dd:
                raise InputError(f"{where}: missing {key}", parameter="model")
        comps.extend(doublet(dd["name"], center=dd["center"], fwhm=dd["fwhm"], area=dd["area"],
                             splitting_eV=dd["splitting_eV"],
                             area_ratio=dd.get("area_ratio", 0.5),
                             fwhm_ratio=dd.get("fwhm_ratio", "free"),
                             shape=dd.get("shape", default_shape), state=dd.get("state"),
                             source=str(dd.get("source", ""))))
    if not comps:
        raise InputError(f"model {name or d.get('name')!r} has no [[component]] or [[doublet]]",
                         parameter="model")
    win = d.get("window_eV")
    if win is not None and (len(win) != 2 or not win[0] < win[1]):
        raise InputError(f"window_eV must be [low, high] binding energies, got {win!r}",
                         parameter="model")
    meta = {k: v for k, v in d.items() if k not in ("component", "doublet", "name", "region",
                                                   "window_eV", "background", "lineshape",
                                                   "element")}
    return Model(name or str(d.get("name", "model")), tuple(comps), region=d.get("region"),
                 window_eV=tuple(float(v) for v in win) if win else None,
                 background=str(d.get("background", "shirley")), element=d.get("element"),
                 metadata=meta)


def load_model(path: str | Path) -> Model:
    """Read a model TOML file (module doc).

    Raises
    ------
    InputError
        Unreadable or invalid TOML (the message names the file).
    """
    p = Path(path)
    try:
        d = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"model file {p} not found", parameter="model") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"model file {p}: invalid TOML ({exc})", parameter="model") from None
    try:
        return model_from_dict(d, name=d.get("name", p.stem))
    except InputError as exc:
        raise InputError(f"model file {p}: {exc}", parameter="model") from None
