"""CasaXPS fits stored in VAMAS blocks: ``CASA region`` and ``CASA comp`` lines.

CasaXPS writes, in a block's comment, the processing history: a count of lines then
``CASA region (*name*) (*background*) start end RSF av_width start_offset end_offset
c1 c2 c3 c4 (*tag*) ...`` and ``CASA comp (*name*) (*lineshape*) Area a lo hi ref factor
MFWHM w lo hi ref factor Position p lo hi ref factor RSF r MASS m INDEX i (*tag*) CONST
(*expr*) UNCORRECTEDRSF u`` (energies on the block's own abscissa, kinetic energy for
Prodigy-written files; ``ref`` is the index of the component a parameter is linked to,
-1 for none).

Supported here (``--model casa``):

- regions: ``Shirley``, ``Linear``, ``U 2 Tougaard`` and ``U 3 Tougaard`` (cross-section
  numbers ``B C D T0`` from the four cross-section fields), start/end on the block's scale,
  ``Av Width`` end-point averaging;
- components with analytic shapes ``GL(p)``, ``SGL(p)``, ``LA(a,b,m)``, ``LF(a,b,w,m)``
  (see :mod:`naheo_spec.xps.lineshapes` for the approximations of LA/LF's ``m`` and ``w``),
  bounds from the line, links (area/FWHM as factors, position as offset) to another
  component by index;
- stored values are reported beside the refit, and only components that are off their
  bounds are compared (a parameter pinned at a bound in CasaXPS is not a fitted value).

Not supported (clear :class:`~naheo_spec.errors.ProcessingError`): components whose line
shape is one of the file's "Lineshapes" blocks (``(*%&<>NIO*)`` in EX502): CasaXPS does
not write the reference position of such a data line shape, so a stored ``Position``
cannot be turned into a shift of the reference curve; other background types
(``Min Limits``, ``Step``...). These lines are still parsed and listed.

References
----------
CasaXPS manual, "Regions property page" and "Components property page"; FAIRmat-NFDI
pynxtools-xps documentation "Data processing with CasaXPS" (field order).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from naheo_spec.errors import InputError, ProcessingError

__all__ = ["CasaRegion", "CasaComponent", "parse_casa", "parse_casa_region", "parse_casa_comp",
           "casa_model", "refit_casa", "SUPPORTED_BACKGROUNDS"]

_TOKEN = re.compile(r"\(\*(.*?)\*\)|(\S+)")
SUPPORTED_BACKGROUNDS = {"Shirley": "shirley", "Linear": "linear",
                         "U 2 Tougaard": "tougaard-u2", "U 3 Tougaard": "tougaard-u3"}


def _tokens(line: str) -> list[str]:
    return [a if a or b == "" else b for a, b in
            ((m.group(1), m.group(2)) for m in _TOKEN.finditer(line))]


@dataclass(frozen=True)
class CasaRegion:
    """A ``CASA region`` line (energies on the block's abscissa scale)."""

    name: str
    background: str
    start: float
    end: float
    rsf: float
    av_width: float
    start_offset: float
    end_offset: float
    cross_section: tuple[float, ...]
    tag: str
    line: str = ""


@dataclass(frozen=True)
class CasaComponent:
    """A ``CASA comp`` line: stored value, bounds and link (index, factor) per parameter."""

    name: str
    lineshape: str
    area: float
    area_bounds: tuple[float, float]
    area_link: tuple[int, float]
    fwhm: float
    fwhm_bounds: tuple[float, float]
    fwhm_link: tuple[int, float]
    position: float
    position_bounds: tuple[float, float]
    position_link: tuple[int, float]
    rsf: float
    index: int
    tag: str
    line: str = ""

    @property
    def uses_data_lineshape(self) -> bool:
        """True when the line shape names a VAMAS "Lineshapes" block (``%...``)."""
        return self.lineshape.startswith("%")

    def at_bound(self, which: str, *, tol: float = 1e-3) -> bool:
        v = getattr(self, which)
        lo, hi = getattr(self, f"{which}_bounds")
        scale = max(abs(v), 1.0)
        return abs(v - lo) <= tol * scale or abs(v - hi) <= tol * scale


def _float(tok: str, line: str, what: str) -> float:
    try:
        return float(tok)
    except ValueError:
        raise InputError(f"CASA line {line[:60]!r}: {what} {tok!r} is not a number",
                         parameter="casa") from None


def parse_casa_region(line: str) -> CasaRegion:
    """Parse one ``CASA region`` line.

    Examples
    --------
    >>> r = parse_casa_region("CASA region (*Ni 2p*) (*U 2 Tougaard*) 596.7 640.0 22.18 2 0 0 "
    ...                       "2866 1643 0 0 (*Ni*) 0 0 0")
    >>> r.background, r.cross_section[:2]
    ('U 2 Tougaard', (2866.0, 1643.0))
    """
    t = _tokens(line)
    if len(t) < 15 or t[0] != "CASA" or t[1] != "region":
        raise InputError(f"not a CASA region line: {line[:60]!r}", parameter="casa")
    nums = [_float(v, line, "field") for v in t[4:12]]
    return CasaRegion(t[2], t[3], nums[0], nums[1], nums[2], nums[3], nums[4], nums[5],
                      tuple(nums[6:8] + [_float(v, line, "field") for v in t[12:14]]),
                      t[14], line)


def parse_casa_comp(line: str) -> CasaComponent:
    """Parse one ``CASA comp`` line.

    Examples
    --------
    >>> c = parse_casa_comp("CASA comp (*NiO*) (*GL(30)*) Area 1000 0 1e5 -1 1 MFWHM 1.2 0.5 3 "
    ...                     "-1 1 Position 632.6 628.6 636.6 -1 1 RSF 22.18 MASS 58.7 INDEX -1 "
    ...                     "(*Ni 2p*) CONST (**) UNCORRECTEDRSF 22.18")
    >>> c.lineshape, c.fwhm, c.position_bounds, c.uses_data_lineshape
    ('GL(30)', 1.2, (628.6, 636.6), False)
    """
    t = _tokens(line)
    if len(t) < 4 or t[0] != "CASA" or t[1] != "comp":
        raise InputError(f"not a CASA comp line: {line[:60]!r}", parameter="casa")

    def block(key):
        if key not in t:
            raise InputError(f"CASA comp line without {key}: {line[:60]!r}", parameter="casa")
        i = t.index(key)
        v = [_float(x, line, key) for x in t[i + 1:i + 6]]
        return v[0], (v[1], v[2]), (int(v[3]), v[4])

    area, ab, al = block("Area")
    fw, fb, fl = block("MFWHM")
    pos, pb, pl = block("Position")
    rsf = _float(t[t.index("RSF") + 1], line, "RSF") if "RSF" in t else 1.0
    idx = int(_float(t[t.index("INDEX") + 1], line, "INDEX")) if "INDEX" in t else -1
    tag = t[t.index("INDEX") + 2] if "INDEX" in t and len(t) > t.index("INDEX") + 2 else ""
    return CasaComponent(t[2], t[3], area, ab, al, fw, fb, fl, pos, pb, pl, rsf, idx, tag, line)


def parse_casa(header: str | None) -> tuple[list[CasaRegion], list[CasaComponent]]:
    """All ``CASA region`` and ``CASA comp`` lines of a block header."""
    regions, comps = [], []
    for line in (header or "").splitlines():
        s = line.strip()
        if s.startswith("CASA region"):
            regions.append(parse_casa_region(s))
        elif s.startswith("CASA comp"):
            comps.append(parse_casa_comp(s))
    return regions, comps


@dataclass(frozen=True)
class _CasaPlan:
    model: object
    background: str
    window: tuple[float, float]
    tougaard: dict = field(default_factory=dict)
    avg_width: int = 2


def casa_model(spectrum, regions, comps, *, name="casa") -> _CasaPlan:
    """Turn parsed CASA lines into a naheo_spec model on the spectrum's binding-energy scale.

    Raises
    ------
    ProcessingError
        No region, an unsupported background, or data-lineshape components.
    """
    from naheo_spec.xps.lineshapes import parse_lineshape
    from naheo_spec.xps.models import Component, Model, Param

    if not regions:
        raise ProcessingError(f"{spectrum.name}: the block holds no CASA region line: nothing "
                              "to re-fit with --model casa")
    reg = regions[0]
    if reg.background not in SUPPORTED_BACKGROUNDS:
        raise ProcessingError(f"{spectrum.name}: CasaXPS background {reg.background!r} is not "
                              f"supported (supported: {', '.join(SUPPORTED_BACKGROUNDS)})")
    data_ls = [c.name for c in comps if c.uses_data_lineshape]
    if data_ls:
        raise ProcessingError(
            f"{spectrum.name}: components {', '.join(data_ls)} use the file's 'Lineshapes' "
            "blocks; CasaXPS does not store the reference position of such data line shapes, "
            "so their stored positions cannot be re-fitted here (analytic shapes are)")
    kinetic = spectrum.metadata.get("kinetic_energy_first_eV") is not None
    hv = spectrum.acquisition.photon_energy_eV if spectrum.acquisition else None

    def be(v):
        return hv - v if kinetic else v

    out = []
    for i, c in enumerate(comps):
        shape = parse_lineshape(c.lineshape)
        lo, hi = sorted((be(c.position_bounds[0]), be(c.position_bounds[1])))
        if c.position_link[0] >= 0:
            off = c.position_link[1] * (-1.0 if kinetic else 1.0)
            center = Param(link=comps[c.position_link[0]].name, factor=off)
        else:
            center = Param(be(c.position), lo, hi)
        fw = (Param(link=comps[c.fwhm_link[0]].name, factor=c.fwhm_link[1])
              if c.fwhm_link[0] >= 0 else Param(c.fwhm, *c.fwhm_bounds))
        ar = (Param(link=comps[c.area_link[0]].name, factor=c.area_link[1])
              if c.area_link[0] >= 0 else Param(max(c.area, 1e-9), max(c.area_bounds[0], 0.0),
                                                 c.area_bounds[1]))
        out.append(Component(c.name, shape, center, fw, ar, role="casa",
                             source=f"CASA comp line of {spectrum.name}"))
    w = tuple(sorted((be(reg.start), be(reg.end))))
    b, cc, d, t0 = (list(reg.cross_section) + [0.0] * 4)[:4]
    tg = {"B": b or None, "C": cc or 1643.0, "D": d, "T0": t0}
    return _CasaPlan(Model(name, tuple(out), window_eV=w), SUPPORTED_BACKGROUNDS[reg.background],
                     w, tg, int(reg.av_width))


def refit_casa(spectrum, collection=None, *, charge=None):
    """Re-run the CasaXPS fit stored in ``spectrum``'s header and compare with CasaXPS.

    Returns
    -------
    XpsResult
        ``extra["casa"]``: per component the stored and refitted position (BE, eV), FWHM and
        area fraction, and whether the component is compared (off its bounds in CasaXPS).
    """
    from naheo_spec.diagnostics import capture, unique
    from naheo_spec.provenance import Provenance
    from naheo_spec.xps.charge import ChargeReference
    from naheo_spec.xps.fit import fit_model
    from naheo_spec.xps.pipeline import XpsResult
    from naheo_spec.xps.valence import ValenceResult

    regions, comps = parse_casa(spectrum.header)
    plan = casa_model(spectrum, regions, comps)
    with capture() as caught:
        fit = fit_model(spectrum.axis, spectrum.signal, plan.model, sigma=spectrum.sigma,
                        background=plan.background, window=plan.window,
                        avg_width=plan.avg_width, tougaard=plan.tougaard if "tougaard" in
                        plan.background else None, name=spectrum.name, prescan=False)
    kinetic = spectrum.metadata.get("kinetic_energy_first_eV") is not None
    hv = spectrum.acquisition.photon_energy_eV
    tot_casa = sum(c.area for c in comps) or 1.0
    frac = fit.area_fractions()
    table = []
    for i, c in enumerate(comps):
        stored_be = hv - c.position if kinetic else c.position
        compared = not (c.at_bound("position") or c.at_bound("area"))
        table.append({"name": c.name, "casa_center_eV": stored_be,
                      "center_eV": float(fit.centers_eV[i]), "casa_fwhm_eV": c.fwhm,
                      "fwhm_eV": float(fit.fwhms_eV[i]), "casa_area_fraction": c.area / tot_casa,
                      "area_fraction": float(frac[i]), "compared": compared})
    charge = charge or ChargeReference("none", 0.0, 0.0)
    prov = Provenance(step="xps.casa_refit", source_file=spectrum.source.path,
                      source_sha256=spectrum.source.sha256,
                      parameters={"block": spectrum.source.scan, "model": plan.model.to_dict(),
                                  "background": plan.background, "window_eV": list(plan.window),
                                  "casa_lines": [r.line for r in regions] + [c.line for c in comps]})
    return XpsResult(spectrum.source.path, spectrum.source.scan,
                     spectrum.acquisition.region if spectrum.acquisition else None, 0.0, charge,
                     plan.background, fit, None, None,
                     unique(list(spectrum.warnings) + list(caught) + list(fit.warnings)), prov,
                     extra={"casa": table})
