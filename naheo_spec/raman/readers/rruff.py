"""RRUFF database text files: ``##KEY=value`` header, ``x, y`` rows, ``##END=``.

The header (``##NAMES``, ``##RRUFFID``, ``##IDEAL CHEMISTRY``, ``##LOCALITY``...) goes to
``metadata`` with lower-cased keys. Cite RRUFF data as B. Lafuente, R. T. Downs, H. Yang,
N. Stone (2015), "The power of databases: the RRUFF project", in Highlights in
Mineralogical Crystallography, De Gruyter, pp 1-30.
"""
from __future__ import annotations

import re

import numpy as np

from naheo_spec.errors import ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.repair import repair_axis
from naheo_spec.model import RamanAcquisition, SourceInfo, Spectrum
from naheo_spec.raman.textparse import fix_decimal_commas, split_fields

__all__ = ["FORMAT", "read_rruff"]

_KEY = re.compile(r"^##([^=]+)=(.*)$")


def read_rruff(probe) -> list[Spectrum]:
    """Read a RRUFF spectrum.

    Raises
    ------
    ReadError
        No rows of numbers, rows that are not two numbers (with the line).
    """
    path = probe.path
    lines = probe.text.splitlines()
    meta: dict[str, str] = {}
    header, rows, first = [], [], None
    for i, ln in enumerate(lines):
        s = ln.strip()
        if s.startswith("##"):
            header.append(ln)
            m = _KEY.match(s)
            if m and m.group(1).strip().upper() != "END":
                meta[m.group(1).strip().lower()] = m.group(2).strip()
            continue
        if s:
            rows.append(s)
            first = i + 1 if first is None else first
    if not rows:
        raise ReadError(path, "RRUFF header without data rows")
    rows, comma = fix_decimal_commas(rows, path)
    table = [split_fields(r) for r in rows]
    for j, t in enumerate(table):
        if len(t) != 2:
            raise ReadError(path, f"expected 'shift, intensity', found {len(t)} values",
                            line=first + j)
    try:
        data = np.array(table, dtype=float)
    except ValueError:
        raise ReadError(path, "a data row holds a value that is not a number") from None
    x, cols, repairs = repair_axis(data[:, 0], {"intensity": data[:, 1]}, path=path,
                                   axis_name="Raman shift", descending_is_natural=True)
    laser = None
    m = re.search(r"(\d{3,4}(\.\d+)?)\s*nm", meta.get("laser_wavelength", "") + " "
                  + meta.get("description", ""))
    if "laser_wavelength" in meta and m:
        laser = float(m.group(1))
    return [Spectrum(x, cols["intensity"], axis_kind="raman_shift", signal_label="intensity",
                     acquisition=RamanAcquisition(laser_wavelength_nm=laser), metadata=meta,
                     header="\n".join(header) or None,
                     source=SourceInfo(path=path, sha256=probe.sha256, format="rruff",
                                       columns={"axis": "col1", "signal": "col2"}),
                     warnings=tuple(([comma] if comma else []) + repairs))]


def _sniff(probe) -> float:
    text = probe.head_text or ""
    head = text[:4000]
    if "##RRUFFID=" in head or ("##NAMES=" in head and "##" in head[:2]):
        return 0.95
    return 0.0


FORMAT = FormatSpec(name="rruff", technique="raman",
                    description="RRUFF database text: '##KEY=value' header and 'shift, "
                                "intensity' rows",
                    sniff=_sniff, read=read_rruff, extensions=("txt",))
