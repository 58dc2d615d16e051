"""Chemical formulas and absorption edges of the elements a sample contains.

One parser for every technique: XPS charge balance, the EXAFS k range that must stop
before the next element's absorption edge, self-absorption corrections of fluorescence
XAS.

Examples
--------
>>> comp = parse_formula("Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2")
>>> comp["Mn"], comp["O"]
(0.49, 2.0)
"""
from __future__ import annotations

import re

from naheo_spec.errors import InputError

__all__ = ["parse_formula", "format_formula"]

_TOKEN = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d*)?|\.\d+)?")
_ELEMENTS = {
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S",
    "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga",
    "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd",
    "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm",
    "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os",
    "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa",
    "U",
}


def parse_formula(formula: str) -> dict[str, float]:
    """Amount of each element in a formula without parentheses, in order of appearance.

    Parameters
    ----------
    formula : str
        E.g. ``"Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2"``, ``"LiNiO2"``, ``"Mn3O4"``.
        A repeated element is summed.

    Returns
    -------
    dict of str to float
        Element symbol -> stoichiometric amount (1 when no number follows).

    Raises
    ------
    InputError
        Empty formula, an unknown element symbol, or characters that are not part of a
        formula (the message names them).
    """
    text = str(formula).replace(" ", "")
    if not text:
        raise InputError("empty chemical formula", parameter="composition")
    out: dict[str, float] = {}
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            break
        sym, num = m.group(1), m.group(2)
        if sym not in _ELEMENTS:
            raise InputError(f"composition={formula!r}: {sym!r} is not an element symbol",
                             parameter="composition")
        out[sym] = out.get(sym, 0.0) + (float(num) if num else 1.0)
        pos = m.end()
    if pos != len(text):
        raise InputError(f"composition={formula!r}: cannot read {text[pos:]!r} (a formula of "
                         "element symbols and amounts, without parentheses)",
                         parameter="composition")
    return out


def format_formula(comp: dict[str, float]) -> str:
    """Inverse of :func:`parse_formula` (``1`` omitted).

    Examples
    --------
    >>> format_formula({"Li": 1.0, "Ni": 1.0, "O": 2.0})
    'LiNiO2'
    """
    return "".join(f"{el}{'' if abs(n - 1) < 1e-12 else f'{n:g}'}" for el, n in comp.items())
