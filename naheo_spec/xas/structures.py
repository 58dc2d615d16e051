"""Crystal structures for FEFF path generation: built-in templates, a minimal CIF
reader, and the absorber-centred cluster that goes into a ``feff.inp`` ATOMS card.

Templates
---------
* :func:`rocksalt` -- NaCl-type MO (Fm-3m), e.g. NiO, FeO, MnO.
* :func:`o3_layered` -- alpha-NaFeO2-type O3 layered oxide (R-3m, hexagonal setting):
  transition metals on 3a (0, 0, 0), alkali on 3b (0, 0, 1/2), oxygen on 6c (0, 0, +-z).
* :func:`from_cif` -- a CIF file (P1 or with symmetry operators listed; see its docstring).
* :func:`parse_structure_spec` -- the ``--fit`` text of the CLI
  (``rocksalt:a=4.177``, ``o3:a=2.96,c=16.0,z=0.26,Ni=0.33,Mn=0.34,Fe=0.33``, ``ref:NiO``
  or a CIF path).

Partial occupancy
-----------------
FEFF6 places one atom type on each position, so a mixed site (Ni/Mn/Fe on the O3
transition-metal layer, a half-filled Na layer) is represented by one element, chosen by
``representative`` in :func:`cluster`:

* ``"absorber"`` (default): a site that contains the absorbing element is filled with the
  absorber; other sites get their majority species. For the O3 TM layer this makes the
  TM--TM path absorber--absorber (Ni--Ni at the Ni edge). Backscattering amplitudes and
  phases of neighbouring 3d metals (Mn, Fe, Co, Ni: Z within +-3) differ little, so the
  fitted TM--TM distance changes by less than about 0.01--0.02 A, while the fitted N and
  sigma2 absorb the (small) amplitude difference. A shell with a light/heavy mixture
  (Li/Ni antisite, Mg, Ti) needs a dedicated multi-path model instead.
* ``"majority"``: every site gets its majority species.

Vacancies (occupancy sum < 1) keep the atom: the fitted coordination number N then
carries the occupancy.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Mapping

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import InputError, QualityWarning, ReadError

INEQUIVALENT_SITES = WarningCode("xas.structure.inequivalent_sites", QualityWarning,
                                 "The absorber occupies inequivalent sites; one was chosen.")

__all__ = [
    "Lattice", "Site", "Structure", "rocksalt", "o3_layered", "from_cif", "cluster",
    "parse_structure_spec", "reference_structures", "reference_structure", "o3_geometry_from_bonds",
    "REFERENCE_TABLE_PARTS", "TRANSITION_METALS",
]

#: Elements counted as transition metals when picking the metal--metal path.
TRANSITION_METALS = frozenset(
    "Sc Ti V Cr Mn Fe Co Ni Cu Zn Y Zr Nb Mo Tc Ru Rh Pd Ag Cd Hf Ta W Re Os Ir Pt Au Hg".split())

#: Location of the literature table of template parameters inside ``reference_spectra``.
REFERENCE_TABLE_PARTS = ("structures", "structures.toml")

_ELEMENT = re.compile(r"^([A-Z][a-z]?)")
_POSITION_TOL = 1e-3  # fractional; merges symmetry-equivalent positions in from_cif


@dataclass(frozen=True)
class Lattice:
    """Unit cell: lengths in A, angles in degrees."""

    a_A: float
    b_A: float
    c_A: float
    alpha_deg: float = 90.0
    beta_deg: float = 90.0
    gamma_deg: float = 90.0

    def __post_init__(self):
        for name in ("a_A", "b_A", "c_A"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"Lattice {name}={v!r}: expected a positive length in A")
        for name in ("alpha_deg", "beta_deg", "gamma_deg"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0 < v < 180):
                raise InputError(f"Lattice {name}={v!r}: expected an angle in (0, 180) degrees")

    def matrix(self) -> np.ndarray:
        """Cell vectors as rows of a (3, 3) array in A (a along x, b in the xy plane)."""
        al, be, ga = np.radians([self.alpha_deg, self.beta_deg, self.gamma_deg])
        a, b, c = self.a_A, self.b_A, self.c_A
        cx = c * np.cos(be)
        cy = c * (np.cos(al) - np.cos(be) * np.cos(ga)) / np.sin(ga)
        cz2 = c * c - cx * cx - cy * cy
        if cz2 <= 0:
            raise InputError(f"Lattice angles {self.alpha_deg}, {self.beta_deg}, {self.gamma_deg} "
                             "do not form a cell with positive volume")
        return np.array([[a, 0.0, 0.0],
                         [b * np.cos(ga), b * np.sin(ga), 0.0],
                         [cx, cy, np.sqrt(cz2)]])


@dataclass(frozen=True)
class Site:
    """One atomic position of the unit cell.

    Attributes
    ----------
    label : str
        Site label (``"TM"``, ``"O1"``...).
    frac : tuple of 3 float
        Fractional coordinates in [0, 1).
    species : tuple of (str, float)
        ``(element, occupancy)`` pairs, largest occupancy first.
    """

    label: str
    frac: tuple[float, float, float]
    species: tuple[tuple[str, float], ...]

    @property
    def majority(self) -> str:
        """Element with the largest occupancy (the first listed on a tie)."""
        return max(self.species, key=lambda s: s[1])[0]

    @property
    def occupancy(self) -> float:
        """Sum of the occupancies on this site."""
        return float(sum(o for _, o in self.species))

    def representative(self, absorber: str, mode: str = "absorber") -> str:
        """Element placed on this site in a FEFF cluster (see the module docstring)."""
        if mode == "absorber" and any(el == absorber for el, _ in self.species):
            return absorber
        return self.majority


@dataclass(frozen=True)
class Structure:
    """A crystal structure with every atom of the unit cell listed (symmetry applied).

    Attributes
    ----------
    name : str
        Short name (``"rocksalt NiO"``, a CIF formula...).
    lattice : Lattice
        Unit cell.
    sites : tuple of Site
        All positions of the unit cell.
    space_group : str
        Hermann--Mauguin symbol, informational. Default is ``"P 1"``.
    source : str
        Template call or CIF path the structure came from.
    """

    name: str
    lattice: Lattice
    sites: tuple[Site, ...]
    space_group: str = "P 1"
    source: str = ""

    @property
    def elements(self) -> tuple[str, ...]:
        """Elements present, in order of first appearance."""
        out: list[str] = []
        for s in self.sites:
            for el, _ in s.species:
                if el not in out:
                    out.append(el)
        return tuple(out)

    def to_dict(self) -> dict:
        """JSON-safe description (rounded so that equal structures give equal dicts)."""
        lat = self.lattice
        return {
            "name": self.name,
            "space_group": self.space_group,
            "source": self.source,
            "lattice": [round(v, 6) for v in (lat.a_A, lat.b_A, lat.c_A,
                                              lat.alpha_deg, lat.beta_deg, lat.gamma_deg)],
            "sites": [{"label": s.label, "frac": [round(f, 6) for f in s.frac],
                       "species": [[el, round(o, 6)] for el, o in s.species]} for s in self.sites],
        }

    def fingerprint(self) -> str:
        """SHA-256 of the lattice and sites (name and source excluded)."""
        d = self.to_dict()
        key = json.dumps({"lattice": d["lattice"], "sites": d["sites"]}, sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()


# ---------------------------------------------------------------------------- templates
def _symbol(text: str, what: str) -> str:
    m = _ELEMENT.match(str(text).strip())
    if not m:
        raise InputError(f"{what}={text!r}: expected an element symbol such as 'Ni'")
    return m.group(1)


def rocksalt(absorber: str, a_A: float, anion: str = "O") -> Structure:
    """Rock-salt (NaCl-type, Fm-3m) monoxide with the cation ``absorber``.

    Parameters
    ----------
    absorber : str
        Cation element symbol (``"Ni"``).
    a_A : float
        Cubic lattice parameter in A. M--O = a/2, M--M = a/sqrt(2).
    anion : str
        Anion element. Default is ``"O"``.

    Returns
    -------
    Structure
        Conventional cubic cell with 4 cations and 4 anions.

    Raises
    ------
    InputError
        For a non-positive ``a_A`` or an unknown symbol.

    References
    ----------
    Wyckoff, R. W. G., *Crystal Structures*, vol. 1, 2nd ed. (Interscience, 1963), p. 85.

    Examples
    --------
    >>> s = rocksalt("Ni", 4.177)
    >>> len(s.sites), s.elements
    (8, ('Ni', 'O'))
    """
    cat, an = _symbol(absorber, "absorber"), _symbol(anion, "anion")
    a = float(a_A)
    lat = Lattice(a, a, a)
    fcc = [(0.0, 0.0, 0.0), (0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0)]
    sites = [Site(f"{cat}{i + 1}", p, ((cat, 1.0),)) for i, p in enumerate(fcc)]
    sites += [Site(f"{an}{i + 1}", tuple((x + 0.5) % 1.0 for x in p), ((an, 1.0),))
              for i, p in enumerate(fcc)]
    return Structure(f"rocksalt {cat}{an}", lat, tuple(sites), "F m -3 m",
                     f"rocksalt(absorber={cat!r}, a_A={a!r}, anion={an!r})")


_R_CENTRING = ((0.0, 0.0, 0.0), (2 / 3, 1 / 3, 1 / 3), (1 / 3, 2 / 3, 2 / 3))


def _check_occupancy(occ: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    if not occ:
        raise InputError("tm_occupancy={}: expected at least one transition metal, e.g. {'Ni': 1.0}")
    species = []
    for el, o in occ.items():
        o = float(o)
        if not (np.isfinite(o) and 0 <= o <= 1):
            raise InputError(f"tm_occupancy[{el!r}]={o!r}: expected a fraction in [0, 1]")
        species.append((_symbol(el, "tm_occupancy key"), o))
    total = sum(o for _, o in species)
    if total > 1.0 + 1e-3 or total <= 0:
        raise InputError(f"tm_occupancy sums to {total:.4f}: expected a total in (0, 1]")
    return tuple(sorted(species, key=lambda s: -s[1]))


def o3_layered(a_A: float, c_A: float, *, z_oxygen: float, tm_occupancy: Mapping[str, float],
               alkali: str = "Na", alkali_occupancy: float = 1.0, anion: str = "O") -> Structure:
    """O3-type layered oxide AMO2 (alpha-NaFeO2 type, R-3m, hexagonal setting).

    Transition metals share 3a (0, 0, 0), the alkali sits on 3b (0, 0, 1/2) and oxygen
    on 6c (0, 0, +-z). Then TM--O = sqrt(a^2/3 + c^2 (1/3 - z)^2) and TM--TM = a.

    Parameters
    ----------
    a_A, c_A : float
        Hexagonal lattice parameters in A (a ~ 2.9--3.0, c ~ 15.9--16.1 for Na O3 oxides).
    z_oxygen : float
        Oxygen 6c coordinate with the TM on 3a at the origin (0.25--0.28 for Na O3 oxides;
        0.26 for LiCoO2). The alternative origin choice (alkali on 3a) gives 1/2 - z:
        convert before use.
    tm_occupancy : mapping of str to float
        Fractions on the TM site, e.g. ``{"Ni": 0.33, "Fe": 0.33, "Mn": 0.34}``; sum <= 1.
    alkali : str
        Alkali element on 3b. Default is ``"Na"``.
    alkali_occupancy : float
        Alkali site occupancy (x in Na_xMO2). Default is 1.0.
    anion : str
        Anion on 6c. Default is ``"O"``.

    Returns
    -------
    Structure
        Conventional hexagonal cell (3 TM, 3 alkali, 6 anion positions).

    Raises
    ------
    InputError
        For ``z_oxygen`` outside (0.20, 0.30), occupancies outside [0, 1] or summing to
        more than 1, or non-positive lattice parameters.

    References
    ----------
    Delmas, C., Fouassier, C., Hagenmuller, P., Physica B+C 99, 81 (1980),
    doi:10.1016/0378-4363(80)90214-4 (O3/P2 nomenclature); Goldsztaub, S., Bull. Soc.
    Fr. Mineral. 58, 6 (1935) (alpha-NaFeO2 structure).

    Examples
    --------
    >>> s = o3_layered(3.02, 16.09, z_oxygen=0.267, tm_occupancy={"Ni": 0.5, "Mn": 0.5})
    >>> [site.label for site in s.sites[:3]]
    ['TM1', 'TM2', 'TM3']
    """
    z = float(z_oxygen)
    if not (0.20 < z < 0.30):
        raise InputError(f"z_oxygen={z!r}: expected the O 6c coordinate with the TM at the origin, "
                         "0.20 < z < 0.30 (use 1/2 - z if your refinement puts the alkali at the origin)")
    tm = _check_occupancy(tm_occupancy)
    alk = _symbol(alkali, "alkali")
    an = _symbol(anion, "anion")
    xa = float(alkali_occupancy)
    if not (0 < xa <= 1):
        raise InputError(f"alkali_occupancy={xa!r}: expected a fraction in (0, 1]")
    lat = Lattice(float(a_A), float(a_A), float(c_A), 90.0, 90.0, 120.0)
    sites: list[Site] = []
    for i, t in enumerate(_R_CENTRING, 1):
        sites.append(Site(f"TM{i}", _wrap(t), tm))
    for i, t in enumerate(_R_CENTRING, 1):
        sites.append(Site(f"{alk}{i}", _wrap((t[0], t[1], t[2] + 0.5)), ((alk, xa),)))
    for i, t in enumerate(_R_CENTRING):
        for j, zz in enumerate((z, -z)):
            sites.append(Site(f"{an}{2 * i + j + 1}", _wrap((t[0], t[1], t[2] + zz)), ((an, 1.0),)))
    tm_txt = ",".join(f"{el}={o:g}" for el, o in tm)
    return Structure(f"O3 {alk}({tm_txt}){an}2", lat, tuple(sites), "R -3 m",
                     f"o3_layered(a_A={float(a_A)!r}, c_A={float(c_A)!r}, z_oxygen={z!r}, "
                     f"tm_occupancy={{{tm_txt}}}, alkali={alk!r}, alkali_occupancy={xa!r})")


def o3_geometry_from_bonds(c_A: float, tm_o_A: float, alkali_o_A: float) -> tuple[float, float]:
    """Hexagonal a and oxygen z of an O3 layered oxide from c and two bond lengths.

    In the R-3m O3 cell (TM on 3a at the origin, alkali on 3b at z = 1/2, O on 6c at +-z)
    every TM-O bond has length ``sqrt(a^2/3 + c^2 (1/3 - z)^2)`` and every alkali-O bond
    ``sqrt(a^2/3 + c^2 (z - 1/6)^2)``. Given c (from diffraction or the interlayer
    spacing) and the two bond lengths (refined, from EXAFS, or sums of Shannon radii),
    the difference of the squares fixes z and either equation then gives a:

        z = 1/4 + 3 (d_AO^2 - d_MO^2) / c^2,    a = sqrt(3 (d_MO^2 - c^2 (1/3 - z)^2)).

    Parameters
    ----------
    c_A : float
        Hexagonal c, A.
    tm_o_A, alkali_o_A : float
        TM-O and alkali-O bond lengths, A.

    Returns
    -------
    (a_A, z_oxygen) : tuple of float

    Raises
    ------
    InputError
        When no O3 cell has these three lengths (z outside 0.20-0.30 or a^2 <= 0).

    References
    ----------
    R. D. Shannon, Acta Cryst. A32, 751 (1976), doi:10.1107/S0567739476001551 (radii);
    C. Delmas, C. Fouassier, P. Hagenmuller, Physica B+C 99, 81 (1980),
    doi:10.1016/0378-4363(80)90214-4 (O3 stacking).

    Examples
    --------
    The alpha-NaFeO2 cell of the reference table (a 3.0187, c 15.934, z 0.278) gives back
    its own a and z from its own bond lengths:

    >>> tm_o = math.sqrt(3.0187 ** 2 / 3 + (15.934 * (1 / 3 - 0.278)) ** 2)
    >>> na_o = math.sqrt(3.0187 ** 2 / 3 + (15.934 * (0.278 - 1 / 6)) ** 2)
    >>> [round(v, 4) for v in o3_geometry_from_bonds(15.934, tm_o, na_o)]
    [3.0187, 0.278]
    """
    c, dm, da = float(c_A), float(tm_o_A), float(alkali_o_A)
    if not all(np.isfinite(v) and v > 0 for v in (c, dm, da)):
        raise InputError(f"c_A={c_A!r}, tm_o_A={tm_o_A!r}, alkali_o_A={alkali_o_A!r}: expected "
                         "positive lengths in A")
    z = 0.25 + 3.0 * (da * da - dm * dm) / (c * c)
    a2 = 3.0 * (dm * dm - (c * (1.0 / 3.0 - z)) ** 2)
    if not (0.20 < z < 0.30) or a2 <= 0:
        raise InputError(f"no O3 cell has c = {c:.3f} A, TM-O = {dm:.3f} A and alkali-O = "
                         f"{da:.3f} A (z would be {z:.3f})")
    return math.sqrt(a2), z


def _wrap(p) -> tuple[float, float, float]:
    out = []
    for x in p:
        x = float(x) % 1.0
        if abs(x - 1.0) < 1e-9:
            x = 0.0
        out.append(round(x, 10))
    return tuple(out)  # type: ignore[return-value]


# ---------------------------------------------------------------------------- cluster
def _absorber_sites(structure: Structure, absorber: str) -> list[int]:
    idx = [i for i, s in enumerate(structure.sites) if any(el == absorber for el, _ in s.species)]
    if not idx:
        raise InputError(f"absorber={absorber!r} is not in structure {structure.name!r} "
                         f"(elements: {', '.join(structure.elements)})")
    return idx


def _neighbours(structure: Structure, origin_index: int, rmax_A: float):
    """Distances and vectors (A) from one site to every site image within rmax_A."""
    m = structure.lattice.matrix()
    frac = np.array([s.frac for s in structure.sites])
    vol = abs(np.linalg.det(m))
    # The number of cells needed along each axis is set by the interplanar spacing.
    heights = vol / np.linalg.norm(np.cross(m[[1, 2, 0]], m[[2, 0, 1]]), axis=1)
    n = np.ceil(rmax_A / heights).astype(int) + 1
    grid = np.stack(np.meshgrid(*[np.arange(-k, k + 1) for k in n], indexing="ij"), -1).reshape(-1, 3)
    d_frac = frac[None, :, :] + grid[:, None, :] - frac[origin_index][None, None, :]
    vec = d_frac.reshape(-1, 3) @ m
    site_idx = np.tile(np.arange(len(frac)), len(grid))
    dist = np.linalg.norm(vec, axis=1)
    keep = dist <= rmax_A + 1e-9
    return dist[keep], vec[keep], site_idx[keep]


def _shell_signature(structure: Structure, i: int, rmax_A: float = 4.0) -> tuple:
    dist, _, sidx = _neighbours(structure, i, rmax_A)
    return tuple(sorted((round(float(d), 3), structure.sites[j].majority) for d, j in zip(dist, sidx)))


def cluster(structure: Structure, absorber: str, rmax_A: float, *,
            representative: str = "absorber", site_index: int | None = None
            ) -> list[tuple[str, float, float, float]]:
    """Atoms within ``rmax_A`` of one absorber, for a ``feff.inp`` ATOMS card.

    Parameters
    ----------
    structure : Structure
        The crystal.
    absorber : str
        Absorbing element.
    rmax_A : float
        Cluster radius in A (include ~2 A more than the longest path you need).
    representative : {"absorber", "majority"}
        Element placed on a mixed-occupancy site; see the module docstring.
        Default is ``"absorber"``.
    site_index : int, optional
        Index in ``structure.sites`` of the absorbing site. None (default) takes the first
        site that contains ``absorber`` and emits a QualityWarning when other absorber sites
        have a different neighbourhood (e.g. tetrahedral and octahedral Fe in Fe3O4).

    Returns
    -------
    list of (str, float, float, float)
        ``(element, x, y, z)`` in A relative to the absorber, absorber first, sorted by
        distance (then element and coordinates, so the order is reproducible).

    Raises
    ------
    InputError
        For an absorber not in the structure, a bad ``site_index``, an unknown
        ``representative`` or a non-positive ``rmax_A``.
    """
    absorber = _symbol(absorber, "absorber")
    if representative not in ("absorber", "majority"):
        raise InputError(f"representative={representative!r}: expected 'absorber' or 'majority'")
    if not (np.isfinite(rmax_A) and rmax_A > 0):
        raise InputError(f"rmax_A={rmax_A!r}: expected a positive radius in A")
    candidates = _absorber_sites(structure, absorber)
    if site_index is None:
        site_index = candidates[0]
        sig0 = _shell_signature(structure, site_index)
        if any(_shell_signature(structure, j) != sig0 for j in candidates[1:]):
            INEQUIVALENT_SITES.warn(
                f"{absorber} occupies inequivalent sites in {structure.name!r}; the cluster "
                f"is centred on site {site_index} ({structure.sites[site_index].label}). "
                "Pass site_index to choose another.", stacklevel=2)
    elif site_index not in candidates:
        raise InputError(f"site_index={site_index!r}: expected one of {candidates} (sites holding {absorber})")
    dist, vec, sidx = _neighbours(structure, site_index, float(rmax_A))
    atoms = []
    for d, v, j in zip(dist, vec, sidx):
        site = structure.sites[j]
        if site.occupancy <= 0:
            continue
        el = absorber if d < 1e-6 else site.representative(absorber, representative)
        atoms.append((round(float(d), 5), el, *(round(float(x), 5) + 0.0 for x in v)))
    atoms.sort(key=lambda t: (t[0], t[1], t[2], t[3], t[4]))
    return [(el, x, y, z) for _, el, x, y, z in atoms]


# ---------------------------------------------------------------------------- CIF
def _cif_number(text: str) -> float:
    t = text.strip().strip("'\"")
    t = re.sub(r"\(\d+\)$", "", t)
    if t in (".", "?"):
        raise ValueError(t)
    return float(t)


def _split_cif_line(line: str) -> list[str]:
    """CIF 1.1 tokens of one line: a quote ends a quoted value only before whitespace."""
    toks, i, n = [], 0, len(line)
    while i < n:
        ch = line[i]
        if ch.isspace():
            i += 1
        elif ch == "#":
            break
        elif ch in "'\"":
            j = i + 1
            while j < n and not (line[j] == ch and (j + 1 == n or line[j + 1].isspace())):
                j += 1
            toks.append(line[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < n and not line[j].isspace():
                j += 1
            toks.append(line[i:j])
            i = j
    return toks


def _cif_tokens(path: Path, text: str):
    """Yield (line_number, token) pairs; a multi-line ;-field becomes one token."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(";"):
            start = i
            i += 1
            while i < len(lines) and not lines[i].startswith(";"):
                i += 1
            if i >= len(lines):
                raise ReadError(path, "unterminated ';' text field", line=start + 1)
            yield start + 1, "<text>"
            i += 1
            continue
        for tok in _split_cif_line(line):
            yield i + 1, tok
        i += 1


def _cif_parse(path: Path, text: str) -> tuple[dict[str, tuple[int, str]], list[tuple[list[str], list[list[str]]]]]:
    """Tags and loops of the first data block of a CIF."""
    tags: dict[str, tuple[int, str]] = {}
    loops: list[tuple[list[str], list[list[str]]]] = []
    toks = list(_cif_tokens(path, text))
    i, seen_block = 0, False
    while i < len(toks):
        ln, tok = toks[i]
        low = tok.lower()
        if low.startswith("data_"):
            if seen_block:
                break
            seen_block = True
            i += 1
        elif low == "loop_":
            i += 1
            names = []
            while i < len(toks) and toks[i][1].startswith("_"):
                names.append(toks[i][1].lower())
                i += 1
            values = []
            while i < len(toks) and not toks[i][1].startswith("_") and toks[i][1].lower() != "loop_" \
                    and not toks[i][1].lower().startswith("data_"):
                values.append(toks[i][1])
                i += 1
            if names and len(values) % len(names):
                raise ReadError(path, f"loop with {len(names)} columns has {len(values)} values", line=ln)
            rows = [values[k:k + len(names)] for k in range(0, len(values), len(names))] if names else []
            loops.append((names, rows))
        elif tok.startswith("_"):
            if i + 1 >= len(toks):
                raise ReadError(path, f"tag {tok} has no value", line=ln)
            tags[low] = (ln, toks[i + 1][1])
            i += 2
        else:
            i += 1
    return tags, loops


_SYMOP_TERM = re.compile(r"([+-]?)(\d+(?:\.\d+)?(?:/\d+)?|[xyz])")


def _parse_symop(path: Path, op: str) -> tuple[np.ndarray, np.ndarray]:
    """'1/2+x,-y,z' -> rotation (3, 3) and translation (3,)."""
    parts = op.replace(" ", "").lower().split(",")
    if len(parts) != 3:
        raise ReadError(path, f"symmetry operator {op!r}: expected three comma-separated terms")
    rot, tr = np.zeros((3, 3)), np.zeros(3)
    for r, part in enumerate(parts):
        pos = 0
        for m in _SYMOP_TERM.finditer(part):
            if m.start() != pos:
                raise ReadError(path, f"symmetry operator {op!r}: cannot read {part!r}")
            pos = m.end()
            sign = -1.0 if m.group(1) == "-" else 1.0
            term = m.group(2)
            if term in "xyz":
                rot[r, "xyz".index(term)] = sign
            else:
                tr[r] += sign * float(Fraction(term))
        if pos != len(part):
            raise ReadError(path, f"symmetry operator {op!r}: cannot read {part!r}")
    return rot, tr


def _loop_with(loops, key):
    for names, rows in loops:
        if key in names:
            return names, rows
    return None, None


def _cif_lattice(path: Path, tags) -> Lattice:
    vals = []
    for key in ("_cell_length_a", "_cell_length_b", "_cell_length_c",
                "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma"):
        if key not in tags:
            raise ReadError(path, f"missing {key}")
        ln, v = tags[key]
        try:
            vals.append(_cif_number(v))
        except ValueError:
            raise ReadError(path, f"{key} = {v!r} is not a number", line=ln) from None
    return Lattice(*vals)


def _cif_symops(path: Path, tags, loops) -> list[tuple[np.ndarray, np.ndarray]]:
    for key in ("_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz"):
        names, rows = _loop_with(loops, key)
        if names:
            col = names.index(key)
            return [_parse_symop(path, row[col]) for row in rows]
    sg = ""
    for key in ("_symmetry_space_group_name_h-m", "_space_group_name_h-m_alt"):
        if key in tags:
            sg = tags[key][1].replace(" ", "").upper()
    if sg and sg != "P1":
        raise ReadError(path, f"space group {sg} without a symmetry-operator loop "
                              "(_space_group_symop_operation_xyz): expand to P1 or add the operators")
    return [(np.eye(3), np.zeros(3))]


def _cif_sites(path: Path, loops) -> list[tuple[str, np.ndarray, str, float]]:
    names, rows = _loop_with(loops, "_atom_site_fract_x")
    if not names:
        raise ReadError(path, "no _atom_site_fract_x loop: Cartesian-only CIFs are not supported")
    col = {n: names.index(n) for n in names}
    out = []
    for row in rows:
        label = row[col["_atom_site_label"]] if "_atom_site_label" in col else "X"
        sym_txt = row[col["_atom_site_type_symbol"]] if "_atom_site_type_symbol" in col else label
        m = _ELEMENT.match(sym_txt)
        if not m:
            raise ReadError(path, f"atom site {label!r}: cannot read an element from {sym_txt!r}")
        try:
            xyz = np.array([_cif_number(row[col[f"_atom_site_fract_{c}"]]) for c in "xyz"])
            occ = _cif_number(row[col["_atom_site_occupancy"]]) if "_atom_site_occupancy" in col else 1.0
        except ValueError:
            raise ReadError(path, f"atom site {label!r}: non-numeric coordinate or occupancy") from None
        out.append((label, xyz, m.group(1), occ))
    return out


def from_cif(path: str | Path) -> Structure:
    """Read a crystal structure from a CIF file (minimal built-in reader).

    Supported: the first data block; ``_cell_*`` tags; atom sites from the
    ``_atom_site_fract_x/y/z`` loop with ``_atom_site_type_symbol`` (or the element read
    from ``_atom_site_label``) and ``_atom_site_occupancy`` (default 1); symmetry from a
    ``_space_group_symop_operation_xyz`` or ``_symmetry_equiv_pos_as_xyz`` loop (centring
    translations must be listed, as AMCSD/COD/ICSD exports do), or a P1 file without one.
    Rhombohedral cells may be given in either setting. Several atom-site rows on the same
    position (mixed occupancy) are merged into one site.

    Not supported: space-group symbols without operators (other than P1), Cartesian
    coordinates, multiple data blocks, modulated structures.

    Parameters
    ----------
    path : str or Path
        CIF file.

    Returns
    -------
    Structure
        With every atom of the cell listed.

    Raises
    ------
    ReadError
        If the file is missing or holds something this reader does not support.

    References
    ----------
    Hall, S. R., Allen, F. H., Brown, I. D., Acta Cryst. A47, 655 (1991),
    doi:10.1107/S010876739101067X (the CIF format).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ReadError(p, f"cannot read CIF: {exc.strerror or exc}") from None
    tags, loops = _cif_parse(p, text)
    lattice = _cif_lattice(p, tags)
    symops = _cif_symops(p, tags, loops)
    positions: list[tuple[np.ndarray, dict[str, float], str]] = []
    for label, xyz, el, occ in _cif_sites(p, loops):
        for rot, tr in symops:
            f = np.mod(rot @ xyz + tr, 1.0)
            for pos, species, _ in positions:
                dd = np.abs(f - pos)
                if np.all(np.minimum(dd, 1 - dd) < _POSITION_TOL):
                    species.setdefault(el, occ)  # same row seen twice, or a mixed site
                    break
            else:
                positions.append((f, {el: occ}, label))
    sites = tuple(Site(label, _wrap(pos), tuple(sorted(sp.items(), key=lambda s: -s[1])))
                  for pos, sp, label in positions)
    sg = ""
    for key in ("_symmetry_space_group_name_h-m", "_space_group_name_h-m_alt"):
        if key in tags:
            sg = tags[key][1].strip()
    formula = tags.get("_chemical_formula_sum", (0, p.stem))[1]
    return Structure(f"{formula} ({p.name})", lattice, sites, sg or "P 1", str(p))


# ---------------------------------------------------------------------------- specs
def reference_structures(table: str | Path | None = None) -> dict[str, dict]:
    """Literature template parameters from ``reference_spectra/structures/structures.toml``.

    Parameters
    ----------
    table : str or Path, optional
        TOML file. None (default) uses ``reference_spectra/structures/structures.toml``
        (source checkout, or the copy a wheel installs; see :mod:`naheo_spec.resources`).

    Returns
    -------
    dict of str to dict
        One entry per compound (``template``, lattice parameters, ``source``...).

    Raises
    ------
    InputError
        If the table cannot be found or read.
    """
    import tomllib

    from naheo_spec.resources import reference_file

    p = Path(table) if table is not None else reference_file(*REFERENCE_TABLE_PARTS)
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise InputError(f"reference structure table {p}: {exc.strerror or exc}; pass table=") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"reference structure table {p}: not valid TOML ({exc})") from None


def reference_structure(name: str, *, table: str | Path | None = None) -> Structure:
    """Build the template structure of a tabulated compound.

    Parameters
    ----------
    name : str
        An entry of ``reference_spectra/structures/structures.toml``: ``"NiO"``, ``"FeO"``,
        ``"MnO"`` (rock salt), ``"alpha-NaFeO2"`` (O3 with a refined z) or
        ``"NaLNCFM-O3"`` (the target cathode, O3 built by :func:`o3_geometry_from_bonds`
        from the paper's interlayer spacing and bond lengths; approximate).
    table : str or Path, optional
        Another TOML table. Default None: the shipped one.

    Returns
    -------
    Structure

    Raises
    ------
    InputError
        Unknown name or template.

    References
    ----------
    The sources of each entry are in ``reference_spectra/structures/README.md``.

    Examples
    --------
    >>> s = reference_structure("NaLNCFM-O3")
    >>> s.space_group, round(s.lattice.c_A, 2)
    ('R -3 m', 16.17)
    """
    entries = reference_structures(table)
    if name not in entries:
        raise InputError(f"reference structure {name!r} not in the table; known: {', '.join(entries)}")
    e = entries[name]
    if e["template"] == "rocksalt":
        return rocksalt(e["cation"], e["a_A"], anion=e.get("anion", "O"))
    if e["template"] == "o3":
        return o3_layered(e["a_A"], e["c_A"], z_oxygen=e["z_oxygen"], tm_occupancy=e["tm_occupancy"],
                          alkali=e.get("alkali", "Na"), anion=e.get("anion", "O"),
                          alkali_occupancy=e.get("alkali_occupancy", 1.0))
    if e["template"] == "o3_bonds":
        a, z = o3_geometry_from_bonds(e["c_A"], e["tm_o_A"], e["alkali_o_A"])
        return o3_layered(a, e["c_A"], z_oxygen=z, tm_occupancy=e["tm_occupancy"],
                          alkali=e.get("alkali", "Na"), anion=e.get("anion", "O"),
                          alkali_occupancy=e.get("alkali_occupancy", 1.0))
    raise InputError(f"reference structure {name!r}: unknown template {e['template']!r}")


def _spec_items(text: str, body: str) -> dict[str, str]:
    items: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in body.split(","))):
        if "=" not in part:
            raise InputError(f"structure spec {text!r}: {part!r} is not key=value")
        k, v = (s.strip() for s in part.split("=", 1))
        items[k] = v
    return items


def _spec_float(text: str, items: dict[str, str], key: str) -> float:
    if key not in items:
        raise InputError(f"structure spec {text!r}: missing {key}=")
    try:
        return float(items.pop(key))
    except ValueError:
        raise InputError(f"structure spec {text!r}: {key} must be a number") from None


def parse_structure_spec(text: str, *, absorber: str | None = None) -> Structure:
    """Turn a CLI ``--fit`` string into a Structure.

    Parameters
    ----------
    text : str
        The spec.
    absorber : str, optional
        Absorbing element; required for ``rocksalt`` without ``cation=``.

    Returns
    -------
    Structure

    Raises
    ------
    InputError
        For an unknown template, a missing or non-numeric value, or a missing file.
    ReadError
        For a CIF that cannot be read.

    Notes
    -----
    Accepted forms:

    ``rocksalt:a=4.177[,cation=Ni][,anion=O]``
        Rock salt; the cation defaults to ``absorber``.
    ``o3:a=2.96,c=16.0,z=0.26,Ni=0.33,Fe=0.33,Mn=0.34[,alkali=Na][,x=1.0]``
        O3 layered oxide; every element=value pair (except ``alkali``/``anion``) is a TM
        occupancy; ``x`` is the alkali occupancy.
    ``ref:NAME``
        An entry of the reference table (:func:`reference_structure`).
    ``path/to/file.cif``
        :func:`from_cif`.

    Examples
    --------
    >>> parse_structure_spec("rocksalt:a=4.177", absorber="Ni").lattice.a_A
    4.177
    """
    text = str(text).strip()
    kind, sep, body = text.partition(":")
    kind_l = kind.lower()
    if sep and kind_l == "rocksalt":
        items = _spec_items(text, body)
        a = _spec_float(text, items, "a")
        cation = items.pop("cation", absorber)
        if cation is None:
            raise InputError(f"structure spec {text!r}: give cation= or the absorber")
        anion = items.pop("anion", "O")
        if items:
            raise InputError(f"structure spec {text!r}: unknown keys {sorted(items)} (allowed: a, cation, anion)")
        return rocksalt(cation, a, anion=anion)
    if sep and kind_l == "o3":
        items = _spec_items(text, body)
        a, c, z = (_spec_float(text, items, k) for k in ("a", "c", "z"))
        alkali = items.pop("alkali", "Na")
        anion = items.pop("anion", "O")
        x = float(items.pop("x", 1.0))
        try:
            occ = {_symbol(k, "o3 key"): float(v) for k, v in items.items()}
        except ValueError:
            raise InputError(f"structure spec {text!r}: occupancies must be numbers") from None
        return o3_layered(a, c, z_oxygen=z, tm_occupancy=occ, alkali=alkali,
                          alkali_occupancy=x, anion=anion)
    if sep and kind_l == "ref":
        return reference_structure(body.strip())
    p = Path(text)
    if p.suffix.lower() == ".cif":
        if not p.is_file():
            raise InputError(f"structure spec {text!r}: CIF file not found")
        return from_cif(p)
    raise InputError(f"structure spec {text!r}: expected 'rocksalt:a=...', 'o3:a=...,c=...,z=...,Ni=...', "
                     "'ref:NAME' or a path ending in .cif")


def distance_A(structure: Structure, i: int, j: int) -> float:
    """Shortest distance in A between sites i and j (any cell image)."""
    rmax = 2 * max(structure.lattice.a_A, structure.lattice.b_A, structure.lattice.c_A)
    d, _, sidx = _neighbours(structure, i, rmax)
    sel = d[(sidx == j) & (d > 1e-6)]
    return float(sel.min()) if sel.size else math.nan
